//! Fresh members as the load makes them: an Ed25519 key, its `did:key`, the
//! anchor id the gateway derives from it, and the four rows a `POST
//! /v1/anchors` commits for it (what the fsync floor writes and the SQLite
//! peer inserts).
//!
//! **Invariant:** the rows are the gateway's own: the anchor and holder
//! records made by the library's constructors and encoded as the store
//! encodes them (JSON), under the same keys (`anchor/<id>`,
//! `anchor_did/<did>`, `holder/<id>`, `holder_did/<did>`).

use anyhow::{Context, Result};
use commons_gateway::records::{CommonsHolderRecord, Pathway, PersonhoodAnchor};
use commons_gateway::Did;
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

/// What the anchor id hashes before the public key (`docs/DOMAIN.md`, "Ids").
const ANCHOR_ID_DOMAIN: &[u8] = b"commons-anchor-v1";

/// A fresh key's public half (32 bytes) and its DID.
pub fn fresh() -> ([u8; 32], Did) {
    let key = SigningKey::generate(&mut OsRng).verifying_key();
    (key.to_bytes(), Did::from_verifying_key(&key))
}

/// The DID of a public key.
///
/// # Errors
/// When the 32 bytes are not an Ed25519 point (never for keys from [`fresh`]).
pub fn did_of(public_key: &[u8; 32]) -> Result<Did> {
    let key = VerifyingKey::from_bytes(public_key).context("a stored public key is not an Ed25519 point")?;
    Ok(Did::from_verifying_key(&key))
}

/// The anchor (and holder) id of a public key: 64 lowercase hex of
/// sha256(`commons-anchor-v1` ++ key).
pub fn anchor_id(public_key: &[u8; 32]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(ANCHOR_ID_DOMAIN);
    hasher.update(public_key);
    hex::encode(hasher.finalize())
}

/// The four rows (key, value) that bootstrapping `did` commits at `now`
/// (Unix seconds): the anchor record, its DID index row, the holder record
/// and its DID index row.
///
/// # Errors
/// When a record does not encode (never for these records).
pub fn member_rows(did: &Did, now: u64) -> Result<Vec<(String, Vec<u8>)>> {
    let anchor = PersonhoodAnchor::new(did.clone(), Pathway::Admin, now);
    let holder = CommonsHolderRecord::new(anchor.anchor_id.clone(), did.clone(), None, now);
    let id = anchor.anchor_id.clone();
    Ok(vec![
        (format!("anchor/{id}"), serde_json::to_vec(&anchor).context("encoding an anchor")?),
        (format!("anchor_did/{did}"), id.clone().into_bytes()),
        (format!("holder/{id}"), serde_json::to_vec(&holder).context("encoding a holder")?),
        (format!("holder_did/{did}"), id.into_bytes()),
    ])
}

/// Bytes of keys and values of `rows`.
pub fn bytes_of(rows: &[(String, Vec<u8>)]) -> usize {
    rows.iter().map(|(key, value)| key.len() + value.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchor_id_is_the_one_the_library_derives() -> Result<()> {
        let (public_key, did) = fresh();
        let anchor = PersonhoodAnchor::new(did.clone(), Pathway::Admin, 1_700_000_000);
        assert_eq!(anchor_id(&public_key), anchor.anchor_id);
        assert_eq!(did_of(&public_key)?, did);
        Ok(())
    }

    #[test]
    fn a_member_is_four_rows_under_the_store_keys() -> Result<()> {
        let (public_key, did) = fresh();
        let rows = member_rows(&did, 1_700_000_000)?;
        let id = anchor_id(&public_key);
        let keys: Vec<&str> = rows.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            [format!("anchor/{id}"), format!("anchor_did/{did}"), format!("holder/{id}"), format!("holder_did/{did}")]
        );
        assert_eq!(rows[1].1, id.as_bytes());
        let anchor: serde_json::Value = serde_json::from_slice(&rows[0].1)?;
        assert_eq!(anchor["pathway"], serde_json::json!({"kind": "Admin"}));
        assert_eq!(bytes_of(&rows), rows.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>());
        assert!(bytes_of(&rows) > 500, "{} bytes", bytes_of(&rows));
        Ok(())
    }
}
