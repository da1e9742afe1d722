//! Signed envelopes: how a principal proves an action is theirs.
//!
//! An action travels as `{ "actor": "<did:key>", "payload": "<JSON text>",
//! "signature": "<128 hex>" }`. The signed message is the UTF-8 text
//! `commons-gateway/v1|<action>|<target>|<hex sha256 of the payload bytes>`
//! (`docs/DOMAIN.md`, "Signed actions"), so the signed bytes are exactly the bytes
//! sent and no JSON canonicalisation is needed.
//!
//! **Invariant:** a [`Signed<A>`] exists only after the signature was verified
//! (Ed25519 strict verification) against `actor` for action `A::ACTION` and the
//! given target, and only then was the payload parsed. The manager takes
//! `Signed<A>` values, so no business rule runs on an unverified action.

use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::did::{Did, InvalidDid};

/// The wire form of a signed action. Field names are the spec's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedEnvelope {
    /// The signer's canonical DID.
    pub actor: String,
    /// The JSON text of the action's fields, exactly as signed.
    pub payload: String,
    /// Ed25519 signature over [`signing_message`], 128 lowercase hex chars.
    pub signature: String,
}

/// An action a principal can sign: its name in the signed message and its
/// payload fields (request DTOs refuse unknown fields).
pub trait Action: DeserializeOwned {
    /// The action name, e.g. `"enroll-verify"`.
    const ACTION: &'static str;
}

/// Declares the payloads of signed actions: for each, a request type that
/// refuses unknown fields, and its [`Action`] name.
///
/// ```text
/// signed_actions! {
///     /// `vote` on an amendment: a Member with Vote votes once.
///     CastVote = "vote" {
///         /// For (`true`) or against.
///         pub approve: bool,
///     }
/// }
/// ```
macro_rules! signed_actions {
    ($($(#[doc = $doc:literal])* $name:ident = $action:literal { $($body:tt)* })*) => {
        $(
            $(#[doc = $doc])*
            #[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            pub struct $name { $($body)* }
            impl $crate::model::signing::Action for $name {
                const ACTION: &'static str = $action;
            }
        )*
    };
}
pub(crate) use signed_actions;

/// Why an envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// `actor` is not a canonical DID (gateway: 400 `invalid_did`).
    #[error(transparent)]
    InvalidDid(#[from] InvalidDid),
    /// The signature is malformed or does not verify for this actor, action
    /// and target (gateway: 401 `bad_signature`). Sign again with the actor's key.
    #[error("signature does not verify for actor {actor} on action {action} of {target}: {reason}")]
    BadSignature {
        /// The claimed signer.
        actor: String,
        /// The action that was checked.
        action: &'static str,
        /// The target that was checked.
        target: String,
        /// What failed.
        reason: &'static str,
    },
    /// The signature verified but the payload is not the action's JSON
    /// (gateway: 400 `invalid_payload`).
    #[error("payload of {action} is not valid: {reason}")]
    InvalidPayload {
        /// The action.
        action: &'static str,
        /// serde's description.
        reason: String,
    },
}

impl EnvelopeError {
    /// The snake_case error code: `invalid_did`, `bad_signature` or
    /// `invalid_payload`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidDid(_) => "invalid_did",
            Self::BadSignature { .. } => "bad_signature",
            Self::InvalidPayload { .. } => "invalid_payload",
        }
    }
}

/// An action whose signature has been verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed<A> {
    /// Who signed.
    pub actor: Did,
    /// The id in the route (`-` for a creation).
    pub target: String,
    /// The signature, 128 lowercase hex chars (kept in records as proof).
    pub signature: String,
    /// The parsed payload.
    pub body: A,
}

/// The exact text that is signed for `action` on `target` with `payload`.
pub fn signing_message(action: &str, target: &str, payload: &[u8]) -> String {
    format!("commons-gateway/v1|{action}|{target}|{}", hex::encode(Sha256::digest(payload)))
}

impl SignedEnvelope {
    /// Builds and signs an envelope (for clients, tools and tests).
    pub fn sign(key: &SigningKey, action: &str, target: &str, payload: impl Into<String>) -> Self {
        let payload = payload.into();
        let signature = key.sign(signing_message(action, target, payload.as_bytes()).as_bytes());
        Self {
            actor: Did::from_verifying_key(&key.verifying_key()).to_string(),
            payload,
            signature: hex::encode(signature.to_bytes()),
        }
    }

    /// Verifies the signature for action `A` on `target`, then parses the
    /// payload.
    ///
    /// # Errors
    /// [`EnvelopeError::InvalidDid`], [`EnvelopeError::BadSignature`] (checked
    /// before the payload is looked at), [`EnvelopeError::InvalidPayload`].
    pub fn open<A: Action>(&self, target: &str) -> Result<Signed<A>, EnvelopeError> {
        let actor = Did::parse(&self.actor)?;
        let bad = |reason| EnvelopeError::BadSignature {
            actor: self.actor.clone(),
            action: A::ACTION,
            target: target.to_string(),
            reason,
        };
        if self.signature.len() != 128 || self.signature.bytes().any(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad("signature must be 128 lowercase hex characters"));
        }
        let mut raw = [0u8; 64];
        hex::decode_to_slice(&self.signature, &mut raw).map_err(|_| bad("signature is not hex"))?;
        let signature = Signature::from_bytes(&raw);
        let message = signing_message(A::ACTION, target, self.payload.as_bytes());
        actor
            .verifying_key()
            .verify_strict(message.as_bytes(), &signature)
            .map_err(|_| bad("signature does not match"))?;
        let body = serde_json::from_str(&self.payload)
            .map_err(|e| EnvelopeError::InvalidPayload { action: A::ACTION, reason: e.to_string() })?;
        Ok(Signed { actor, target: target.to_string(), signature: self.signature.clone(), body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Ping {
        n: u32,
    }
    impl Action for Ping {
        const ACTION: &'static str = "ping";
    }

    #[test]
    fn envelope_verifies_for_its_action_and_target_only() {
        let key = SigningKey::from_bytes(&[3u8; 32]);
        let env = SignedEnvelope::sign(&key, "ping", "t1", r#"{"n":5}"#);
        let signed = env.open::<Ping>("t1").unwrap();
        assert_eq!(signed.body, Ping { n: 5 });
        assert_eq!(signed.actor, Did::from_verifying_key(&key.verifying_key()));
        assert!(matches!(env.open::<Ping>("t2"), Err(EnvelopeError::BadSignature { .. })));
        let mut tampered = env.clone();
        tampered.payload = r#"{"n":6}"#.into();
        assert!(matches!(tampered.open::<Ping>("t1"), Err(EnvelopeError::BadSignature { .. })));
        let other = SigningKey::from_bytes(&[4u8; 32]);
        let mut wrong_key = env.clone();
        wrong_key.actor = Did::from_verifying_key(&other.verifying_key()).to_string();
        assert!(matches!(wrong_key.open::<Ping>("t1"), Err(EnvelopeError::BadSignature { .. })));
        let bad_payload = SignedEnvelope::sign(&key, "ping", "t1", r#"{"n":5,"x":1}"#);
        assert!(matches!(bad_payload.open::<Ping>("t1"), Err(EnvelopeError::InvalidPayload { .. })));
    }
}
