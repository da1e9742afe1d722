//! Principals and what they sign: [`Person`] (a fresh Ed25519 key and its
//! canonical `did:key` DID), deliberately non-canonical spellings of that DID,
//! signed envelopes (opened for the manager, or as sent over HTTP), a way to
//! spoil a signature, and ids that no record has.

use commons_gateway::{Action, Did, EnvelopeHeader, EnvelopePolicy, Signed, SignedEnvelope};
use ed25519_dalek::SigningKey;
use serde_json::Value;

/// A principal: key and DID.
#[derive(Clone)]
pub struct Person {
    pub key: SigningKey,
    pub did: Did,
}

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Person({})", self.did)
    }
}

impl Default for Person {
    fn default() -> Self {
        Self::new()
    }
}

impl Person {
    /// A fresh random principal.
    pub fn new() -> Self {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let did = Did::from_verifying_key(&key.verifying_key());
        Self { key, did }
    }

    /// Signs `payload` for action `A` on `target` (a fresh envelope: new
    /// nonce, made now) and opens it, as the gateway does: what the manager
    /// takes.
    pub fn sign<A: Action>(&self, target: &str, payload: Value) -> Signed<A> {
        let now = wall_now();
        SignedEnvelope::sign(&self.key, &header(now), A::ACTION, target, payload.to_string())
            .open::<A>(target, &EnvelopePolicy::default(), now)
            .expect("own signature verifies")
    }

    /// The envelope of `action` on `target` over `payload` (JSON text, or
    /// any text), as a client sends it: audience `commons`, made now by the
    /// wall clock, valid 300 s, a fresh nonce.
    pub fn envelope(&self, action: &str, target: &str, payload: impl ToString) -> SignedEnvelope {
        self.envelope_with(&header(wall_now()), action, target, payload)
    }

    /// The envelope of `action` on `target` over `payload` under `header`
    /// (another audience, other times, a chosen nonce).
    pub fn envelope_with(
        &self,
        header: &EnvelopeHeader,
        action: &str,
        target: &str,
        payload: impl ToString,
    ) -> SignedEnvelope {
        SignedEnvelope::sign(&self.key, header, action, target, payload.to_string())
    }

    /// Non-canonical spellings of this DID, each with a label: the canonical
    /// text upper-cased, the same key in another multibase (`did:key:m` +
    /// base64), and the canonical text with a trailing character.
    pub fn non_canonical_dids(&self) -> [(&'static str, String); 3] {
        let did = self.did.to_string();
        let mut multicodec = vec![0xed, 0x01];
        multicodec.extend_from_slice(self.key.verifying_key().as_bytes());
        [
            ("upper_cased", did.to_uppercase()),
            ("base64_multibase", format!("did:key:m{}", base64_no_pad(&multicodec))),
            ("trailing_char", format!("{did}z")),
        ]
    }
}

/// The wall clock, Unix seconds: envelope windows are checked against it
/// (whatever a test's manual manager clock says).
pub fn wall_now() -> u64 {
    commons_gateway::Clock::System.now()
}

/// A header for audience `commons`, made at `now`, valid 300 s, fresh nonce.
pub fn header(now: u64) -> EnvelopeHeader {
    EnvelopeHeader::new(commons_gateway::DEFAULT_AUDIENCE, now, 300)
}

/// Standard base64 without padding (multibase `m`).
pub fn base64_no_pad(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// `signature` with one hex character changed (still 128 lowercase hex).
pub fn flip_hex_char(signature: &str) -> String {
    let mut chars: Vec<char> = signature.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

/// A random 64-hex id that no record has.
pub fn unknown_hex_id() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// A random UUID v4 that no enrollment has.
pub fn unknown_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}
