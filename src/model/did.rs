//! Decentralised identifiers in the W3C `did:key` form for Ed25519 keys.
//!
//! **Invariant:** a [`Did`] value is always the canonical spelling
//! `did:key:z` + base58btc(`0xed 0x01` ++ 32-byte public key), so one
//! principal has exactly one DID string and one index key. A `Did` made from
//! outside input ([`Did::parse`], deserializing, [`Did::from_verifying_key`])
//! also holds a valid Ed25519 public key: any other spelling, and any key that
//! is not a point, or is weak, or is not canonically encoded, is refused at
//! parse time. The one exception is a `Did` read back from a stored record
//! inside [`trusted_decode`]: the store validated it when the record was
//! written, so only its shape (prefix, base58btc, multicodec, length) is
//! checked again, not its point; `commons-gateway verify` re-parses every
//! stored DID in full, and [`Did::verifying_key`] answers an error rather
//! than a key for bytes of a damaged row that are no point.

use std::cell::Cell;
use std::fmt;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Multicodec prefix of an Ed25519 public key (`ed25519-pub`, varint 0xed).
const ED25519_MULTICODEC: [u8; 2] = [0xed, 0x01];
const PREFIX: &str = "did:key:z";

/// Why a DID string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid DID {did:?}: {reason} (expected did:key:z + base58btc of 0xed01 ++ 32-byte Ed25519 key)")]
pub struct InvalidDid {
    /// The refused input (first 120 characters).
    pub did: String,
    /// What was wrong.
    pub reason: &'static str,
}

/// A canonical `did:key` DID of an Ed25519 principal.
///
/// Made from outside input ([`Did::parse`], deserializing, or
/// [`Did::from_verifying_key`]), it holds a valid, canonically encoded,
/// non-weak Ed25519 public key. Read back from a stored record by the store,
/// its point is not checked again (it was when the record was written): its
/// text is canonical, and [`Did::verifying_key`] answers an error for bytes
/// of a damaged row that are no point.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Did {
    text: String,
    key: [u8; 32],
}

impl Did {
    /// Parses a DID, accepting only the canonical spelling.
    ///
    /// # Errors
    /// [`InvalidDid`] for another method or multibase, bad base58, a wrong
    /// multicodec, a wrong length, trailing bytes, a non-canonical spelling or
    /// bytes that are not an Ed25519 point.
    pub fn parse(input: &str) -> Result<Self, InvalidDid> {
        let fail = |reason| InvalidDid { did: input.chars().take(120).collect(), reason };
        let key = key_of_shape(input).map_err(fail)?;
        let point = VerifyingKey::from_bytes(&key).map_err(|_| fail("not a valid Ed25519 public key"))?;
        // A small-order key can never sign under strict verification, and a
        // non-canonical encoding would give one point two DIDs (two anchors).
        if point.is_weak() {
            return Err(fail("a small-order (weak) Ed25519 key"));
        }
        if point.to_edwards().compress().to_bytes() != key {
            return Err(fail("a non-canonical encoding of an Ed25519 point"));
        }
        let did = Self::from_key_bytes(key);
        if did.text != input {
            return Err(fail("not the canonical spelling"));
        }
        Ok(did)
    }

    /// Rebuilds a DID read back from a stored record (see [`trusted_decode`]):
    /// checks the shape only (prefix, base58btc, multicodec, length), which
    /// also makes the spelling canonical (a 34-byte value starting with 0xed
    /// has one base58btc spelling), and keeps `input` as the text.
    fn parse_stored(input: String) -> Result<Self, InvalidDid> {
        match key_of_shape(&input) {
            Ok(key) => Ok(Self { text: input, key }),
            Err(reason) => Err(InvalidDid { did: input.chars().take(120).collect(), reason }),
        }
    }

    fn from_key_bytes(key: [u8; 32]) -> Self {
        let mut bytes = Vec::with_capacity(34);
        bytes.extend_from_slice(&ED25519_MULTICODEC);
        bytes.extend_from_slice(&key);
        Self { text: format!("{PREFIX}{}", bs58::encode(bytes).into_string()), key }
    }

    /// The DID of a public key.
    pub fn from_verifying_key(key: &VerifyingKey) -> Self {
        Self::from_key_bytes(key.to_bytes())
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The 32 bytes of the Ed25519 public key.
    pub fn public_key_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// The public key, for signature checks.
    ///
    /// # Errors
    /// [`InvalidDid`] when the key is not an Ed25519 point. Only a DID read
    /// back from a damaged store row can hold one (the store does not check a
    /// stored DID's point again when it reads a record; `commons-gateway
    /// verify` does, and reports it); every other `Did` was checked when it
    /// was made.
    pub fn verifying_key(&self) -> Result<VerifyingKey, InvalidDid> {
        VerifyingKey::from_bytes(&self.key)
            .map_err(|_| InvalidDid { did: self.text.clone(), reason: "not a valid Ed25519 public key" })
    }
}

/// The key bytes of a DID of the right shape: `did:key:z`, base58btc of
/// exactly 34 bytes, the first two the Ed25519 multicodec. Says nothing of
/// the point.
///
/// # Errors
/// The reason, as `Did::parse` words it.
fn key_of_shape(input: &str) -> Result<[u8; 32], &'static str> {
    let encoded = input.strip_prefix(PREFIX).ok_or("must start with did:key:z")?;
    let bytes = bs58::decode(encoded).into_vec().map_err(|_| "not base58btc")?;
    if bytes.len() != 34 {
        return Err("wrong length");
    }
    if bytes[..2] != ED25519_MULTICODEC {
        return Err("not an Ed25519 public key (multicodec 0xed01)");
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes[2..]);
    Ok(key)
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Did({})", self.text)
    }
}

impl Serialize for Did {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

thread_local! {
    /// Whether this thread is inside [`trusted_decode`].
    static TRUSTED: Cell<bool> = const { Cell::new(false) };
}

/// Restores the thread's trust flag when a [`trusted_decode`] ends (also
/// on a panic).
struct Restore(bool);

impl Drop for Restore {
    fn drop(&mut self) {
        TRUSTED.with(|t| t.set(self.0));
    }
}

/// Runs `decode` (the decoding of a record the store wrote itself) with
/// every [`Did`] it deserializes checked for its shape only (prefix,
/// base58btc, multicodec, length), not for its point: the point was checked
/// when the record was written, and decompressing it again costs more than
/// the rest of a cached-miss read. Everywhere else (request bodies, signed
/// envelopes, path parameters, import files, `verify`) a `Did` is parsed in
/// full. The flag is per thread and covers only the synchronous call.
pub(crate) fn trusted_decode<T>(decode: impl FnOnce() -> T) -> T {
    let _restore = Restore(TRUSTED.with(|t| t.replace(true)));
    decode()
}

impl<'de> Deserialize<'de> for Did {
    /// A [`Did::parse`] of the string; while the store decodes a record it
    /// wrote itself, a check of its shape only (see the type's docs).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if TRUSTED.with(Cell::get) {
            Did::parse_stored(text).map_err(serde::de::Error::custom)
        } else {
            Did::parse(&text).map_err(serde::de::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn sample() -> Did {
        Did::from_verifying_key(&SigningKey::from_bytes(&[7u8; 32]).verifying_key())
    }

    #[test]
    fn canonical_did_round_trips() {
        let did = sample();
        assert!(did.as_str().starts_with("did:key:z6Mk"));
        assert_eq!(Did::parse(did.as_str()).unwrap(), did);
    }

    #[test]
    fn non_canonical_spellings_are_refused() {
        let did = sample();
        let s = did.as_str();
        for bad in [
            s.to_uppercase(),
            s.replacen("did:key:z", "did:key:Z", 1),
            s.replacen("did:key:z", "did:key:m", 1),
            format!("{s}1"),
            format!(" {s}"),
            "did:key:z".to_string(),
            "did:web:example.org".to_string(),
        ] {
            assert!(Did::parse(&bad).is_err(), "{bad} accepted");
        }
        // Wrong multicodec (secp256k1 0xe7 0x01) and trailing byte.
        let mut wrong = vec![0xe7, 0x01];
        wrong.extend_from_slice(did.public_key_bytes());
        assert_eq!(
            Did::parse(&format!("did:key:z{}", bs58::encode(&wrong).into_string())).unwrap_err().reason,
            "not an Ed25519 public key (multicodec 0xed01)"
        );
        let mut long = vec![0xed, 0x01];
        long.extend_from_slice(did.public_key_bytes());
        long.push(0);
        assert_eq!(
            Did::parse(&format!("did:key:z{}", bs58::encode(&long).into_string())).unwrap_err().reason,
            "wrong length"
        );
    }

    #[test]
    fn a_stored_did_keeps_its_text_and_is_checked_for_its_shape_only() {
        let did = sample();
        let stored: Did = trusted_decode(|| serde_json::from_str(&format!("\"{did}\"")).unwrap());
        assert_eq!(stored, did);
        assert_eq!(stored.public_key_bytes(), did.public_key_bytes());
        // Bytes that are no point have the right shape: read as stored,
        // refused where a key is needed.
        let not_a_point = (2u8..).map(|y| [y; 32]).find(|k| VerifyingKey::from_bytes(k).is_err()).unwrap();
        let weak = did_of(not_a_point);
        let stored: Did = trusted_decode(|| serde_json::from_str(&format!("\"{weak}\"")).unwrap());
        assert_eq!(stored.as_str(), weak);
        assert_eq!(stored.verifying_key().unwrap_err().reason, "not a valid Ed25519 public key");
        // Outside the trusted decode the same text is refused.
        assert_eq!(
            serde_json::from_str::<Did>(&format!("\"{weak}\"")).unwrap_err().to_string(),
            Did::parse(&weak).unwrap_err().to_string()
        );
        // The wrong shape is refused inside it too.
        for bad in [weak.replacen("did:key:z", "did:key:m", 1), format!("{weak}1"), format!("{}0", &weak[..20])] {
            let r: Result<Did, _> = trusted_decode(|| serde_json::from_str(&format!("\"{bad}\"")));
            assert!(r.is_err(), "{bad}");
        }
    }

    fn did_of(key: [u8; 32]) -> String {
        let mut bytes = vec![0xed, 0x01];
        bytes.extend_from_slice(&key);
        format!("did:key:z{}", bs58::encode(bytes).into_string())
    }

    #[test]
    fn weak_and_non_canonical_points_are_refused() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(Did::parse(&did_of(identity)).unwrap_err().reason, "a small-order (weak) Ed25519 key");
        assert_eq!(Did::parse(&did_of([0u8; 32])).unwrap_err().reason, "a small-order (weak) Ed25519 key");
        // All 0xff: y = 2^255 - 1 = p + 18 with the sign bit set, a second
        // spelling of the point whose canonical form is y = 18, sign bit set.
        let non_canonical = [0xffu8; 32];
        let mut canonical = [0u8; 32];
        canonical[0] = 18;
        canonical[31] = 0x80;
        assert!(VerifyingKey::from_bytes(&non_canonical).is_ok(), "the point decodes");
        assert_eq!(
            Did::parse(&did_of(non_canonical)).unwrap_err().reason,
            "a non-canonical encoding of an Ed25519 point"
        );
        assert!(Did::parse(&did_of(canonical)).is_ok());
    }
}
