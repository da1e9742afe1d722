//! Record ids: how they are derived and checked.
//!
//! **Invariant:** an id from outside (a route segment, a payload) becomes a
//! store key only after [`check_hex_id`] or [`check_uuid`] accepted it, so a
//! segment like `by_did/x` is a 400, never a key.

use sha2::{Digest, Sha256};

use super::error::Refusal;

/// Lowercase hex SHA-256 of `domain` ++ `data` (the spec's derived ids).
pub fn derive_id(domain: &str, data: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(domain.as_bytes());
    h.update(data);
    hex::encode(h.finalize())
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// True for 64 lowercase hex characters.
pub fn is_hex_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Accepts 64 lowercase hex characters.
///
/// # Errors
/// [`Refusal::InvalidId`] naming `entity`.
pub fn check_hex_id(entity: &'static str, id: &str) -> Result<(), Refusal> {
    if is_hex_id(id) {
        Ok(())
    } else {
        Err(Refusal::InvalidId { entity, id: id.chars().take(120).collect(), expected: "64 lowercase hex characters" })
    }
}

/// Accepts a UUID in its lowercase hyphenated form and returns it.
///
/// # Errors
/// [`Refusal::InvalidId`] naming `entity`.
pub fn check_uuid(entity: &'static str, id: &str) -> Result<(), Refusal> {
    match uuid::Uuid::parse_str(id) {
        Ok(u) if u.hyphenated().to_string() == id => Ok(()),
        _ => Err(Refusal::InvalidId {
            entity,
            id: id.chars().take(120).collect(),
            expected: "a lowercase hyphenated UUID",
        }),
    }
}
