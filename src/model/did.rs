//! Decentralised identifiers in the W3C `did:key` form for Ed25519 keys.
//!
//! **Invariant:** a [`Did`] value is always the canonical spelling
//! `did:key:z` + base58btc(`0xed 0x01` ++ 32-byte public key) of a valid
//! Ed25519 public key, so one principal has exactly one DID string and one
//! index key. Any other spelling is refused at parse time.

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
        let Some(encoded) = input.strip_prefix(PREFIX) else {
            return Err(fail("must start with did:key:z"));
        };
        let bytes = bs58::decode(encoded).into_vec().map_err(|_| fail("not base58btc"))?;
        if bytes.len() != 34 {
            return Err(fail("wrong length"));
        }
        if bytes[..2] != ED25519_MULTICODEC {
            return Err(fail("not an Ed25519 public key (multicodec 0xed01)"));
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes[2..]);
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
    pub fn verifying_key(&self) -> VerifyingKey {
        // `parse` and `from_key_bytes` only build a `Did` from bytes that are a
        // valid point (checked in `parse`, or taken from a `VerifyingKey`).
        VerifyingKey::from_bytes(&self.key).unwrap_or_else(|_| unreachable!("Did holds a checked key"))
    }
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

impl<'de> Deserialize<'de> for Did {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Did::parse(&text).map_err(serde::de::Error::custom)
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
