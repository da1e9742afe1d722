//! [`SpentNonce`]: the record that a signed envelope's nonce has been used.
//!
//! **Invariant:** the id of the record of (actor, nonce) is a function of the
//! pair alone ([`SpentNonce::id_of`]), so two uses of one envelope, in one
//! process or in two gateways sharing a database, both try to create the
//! same record, and only one can.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::did::Did;

/// A spent (actor, nonce) pair, kept until `keep_until` (the envelope's
/// `expires` plus the clock skew the gateway allows), after which the
/// envelope is refused as expired anyway and the record is swept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpentNonce {
    /// [`SpentNonce::id_of`] of `actor` and `nonce`: 64 lowercase hex.
    pub nonce_id: String,
    /// The signer.
    pub actor: Did,
    /// The nonce as sent (base64url).
    pub nonce: String,
    /// The action it was spent on (`holder-update`, ...).
    pub action: String,
    /// The action's target (an id, or `-`).
    pub target: String,
    /// When it was spent, Unix seconds (wall clock).
    pub spent_at: u64,
    /// Until when it is kept, Unix seconds (wall clock).
    pub keep_until: u64,
}

impl SpentNonce {
    /// The record id of (actor, nonce): hex of sha256 of `<actor>|<nonce>`
    /// (neither a DID nor base64url holds `|`).
    pub fn id_of(actor: &Did, nonce: &str) -> String {
        hex::encode(Sha256::digest(format!("{actor}|{nonce}").as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_depends_on_actor_and_nonce() {
        let a = Did::from_verifying_key(&ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]).verifying_key());
        let b = Did::from_verifying_key(&ed25519_dalek::SigningKey::from_bytes(&[2u8; 32]).verifying_key());
        let id = SpentNonce::id_of(&a, "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(id.len(), 64);
        assert_eq!(id, SpentNonce::id_of(&a, "AAAAAAAAAAAAAAAAAAAAAA"));
        assert_ne!(id, SpentNonce::id_of(&b, "AAAAAAAAAAAAAAAAAAAAAA"));
        assert_ne!(id, SpentNonce::id_of(&a, "AAAAAAAAAAAAAAAAAAAAAB"));
    }
}
