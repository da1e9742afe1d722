//! Signed envelopes (version 2): how a principal proves an action is
//! theirs, for one network, for a short time, once.
//!
//! An action travels as `{ "actor": "<did:key>", "payload": "<JSON text>",
//! "created": <Unix s>, "expires": <Unix s>, "nonce": "<base64url>",
//! "signature": "<128 hex>" }`. The signed message is the UTF-8 text
//! `commons-gateway/v2|<audience>|<action>|<target>|<created>|<expires>|<nonce>|<hex sha256 of the payload bytes>`
//! (`docs/DOMAIN.md`, "Signed actions"), so the signed bytes are exactly the
//! bytes sent and no JSON canonicalisation is needed. The audience (the
//! network's name) makes an envelope made for one network worthless on
//! another; `created`/`expires` bound when it may be used ([`EnvelopePolicy`]);
//! the nonce lets the manager refuse a second use (it records the pair
//! (actor, nonce) in the same atomic batch as the action's changes).
//!
//! **Invariant:** a [`Signed<A>`] exists only after the signature was verified
//! (Ed25519 strict verification) against `actor` for action `A::ACTION`, the
//! given target and the policy's audience, and the time window was checked,
//! and only then was the payload parsed. The manager takes `Signed<A>`
//! values, so no business rule runs on an unverified action.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::did::{Did, InvalidDid};

/// The wire form of a signed action (version 2). Field names are the
/// spec's; an unknown field (a version-1 envelope has none of `created`,
/// `expires`, `nonce`) does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedEnvelope {
    /// The signer's canonical DID.
    pub actor: String,
    /// The JSON text of the action's fields, exactly as signed.
    pub payload: String,
    /// When the envelope was made, Unix seconds (the signer's clock).
    pub created: u64,
    /// The last second it may be used, Unix seconds.
    pub expires: u64,
    /// A random value the signer uses once: base64url without padding of
    /// [`NONCE_MIN_BYTES`]..=[`NONCE_MAX_BYTES`] bytes.
    pub nonce: String,
    /// Ed25519 signature over [`signing_message`], 128 lowercase hex chars.
    pub signature: String,
}

/// Fewest bytes a nonce decodes to (16: 128 random bits never repeat by chance).
pub const NONCE_MIN_BYTES: usize = 16;
/// Most bytes a nonce decodes to.
pub const NONCE_MAX_BYTES: usize = 64;

/// What a gateway accepts: its network's name and the time window rules
/// (`docs/DOMAIN.md`, "Signed actions"). The defaults are the spec's: audience
/// `commons`, 60 s of clock skew, envelopes living at most 600 s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopePolicy {
    /// The network's name; an envelope signed for another audience does not
    /// verify (`serve --audience`).
    pub audience: String,
    /// How far, in seconds, `created` may be ahead of the gateway's clock,
    /// and `expires` behind it (`serve --max-clock-skew-secs`).
    pub max_clock_skew_secs: u64,
    /// The longest `expires - created`, in seconds (`serve --max-envelope-lifetime-secs`).
    pub max_lifetime_secs: u64,
}

impl Default for EnvelopePolicy {
    fn default() -> Self {
        Self { audience: DEFAULT_AUDIENCE.into(), max_clock_skew_secs: 60, max_lifetime_secs: 600 }
    }
}

/// The audience of a gateway started without `--audience`.
pub const DEFAULT_AUDIENCE: &str = "commons";

impl EnvelopePolicy {
    /// Checks an audience name: 1..=64 characters of `a-z 0-9 . _ : -`
    /// (it is a field of the `|`-separated signed message, so it may hold no `|`).
    ///
    /// # Errors
    /// A sentence saying what is allowed.
    pub fn check_audience(audience: &str) -> Result<(), String> {
        let ok = (1..=64).contains(&audience.len())
            && audience.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(())
        } else {
            Err(format!("audience {audience:?} must be 1..=64 characters of a-z 0-9 . _ : -"))
        }
    }
}

/// When an envelope may be used and what it is for, as the signer states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeHeader {
    /// The network the envelope is for.
    pub audience: String,
    /// Unix seconds.
    pub created: u64,
    /// Unix seconds.
    pub expires: u64,
    /// base64url without padding.
    pub nonce: String,
}

impl EnvelopeHeader {
    /// A header for `audience`, created at `now` and valid for
    /// `lifetime_secs`, with a fresh random nonce of [`NONCE_MIN_BYTES`]
    /// bytes (rand's thread-local generator, a CSPRNG seeded by the
    /// operating system).
    pub fn new(audience: &str, now: u64, lifetime_secs: u64) -> Self {
        let bytes: [u8; NONCE_MIN_BYTES] = rand::random();
        Self {
            audience: audience.to_string(),
            created: now,
            expires: now.saturating_add(lifetime_secs),
            nonce: URL_SAFE_NO_PAD.encode(bytes),
        }
    }
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
    /// The body is not a version-2 envelope: a missing or unknown field (a
    /// version-1 envelope), a field of the wrong type, or a nonce that is not
    /// base64url of 16..=64 bytes (gateway: 401 `invalid_envelope`). Sign a
    /// version-2 envelope.
    #[error("not a version-2 signed envelope: {reason}")]
    InvalidEnvelope {
        /// What is wrong.
        reason: String,
    },
    /// The signature is malformed or does not verify for this actor, action,
    /// target and audience (gateway: 401 `bad_signature`). Sign again with the
    /// actor's key, for this gateway's audience (`GET /v1/health` shows it).
    #[error(
        "signature does not verify for actor {actor} on action {action} of {target} for audience {audience}: {reason}"
    )]
    BadSignature {
        /// The claimed signer.
        actor: String,
        /// The action that was checked.
        action: &'static str,
        /// The target that was checked.
        target: String,
        /// The audience that was checked.
        audience: String,
        /// What failed.
        reason: &'static str,
    },
    /// The envelope is outside its time window at the gateway's clock
    /// (gateway: 401 `envelope_expired`): made too far in the future, expired,
    /// or living longer than the policy allows. Sign a new one (check the
    /// signer's clock).
    #[error("envelope is not valid now (gateway clock {now}, created {created}, expires {expires}): {reason}")]
    Expired {
        /// The gateway's time, Unix seconds.
        now: u64,
        /// The envelope's `created`.
        created: u64,
        /// The envelope's `expires`.
        expires: u64,
        /// Which rule failed.
        reason: String,
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
    /// The snake_case error code: `invalid_did`, `invalid_envelope`,
    /// `bad_signature`, `envelope_expired` or `invalid_payload`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidDid(_) => "invalid_did",
            Self::InvalidEnvelope { .. } => "invalid_envelope",
            Self::BadSignature { .. } => "bad_signature",
            Self::Expired { .. } => "envelope_expired",
            Self::InvalidPayload { .. } => "invalid_payload",
        }
    }
}

/// An action whose signature and time window have been verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed<A> {
    /// Who signed.
    pub actor: Did,
    /// The id in the route (`-` for a creation).
    pub target: String,
    /// The signature, 128 lowercase hex chars (kept in records as proof).
    pub signature: String,
    /// The signer's nonce (base64url); the manager spends (actor, nonce) once.
    pub nonce: String,
    /// The envelope's `expires`, Unix seconds; the spent nonce is kept until
    /// this plus the policy's clock skew.
    pub expires: u64,
    /// The parsed payload.
    pub body: A,
}

/// The exact text that is signed for `action` on `target` with `payload`
/// under `header`.
pub fn signing_message(header: &EnvelopeHeader, action: &str, target: &str, payload: &[u8]) -> String {
    format!(
        "commons-gateway/v2|{}|{action}|{target}|{}|{}|{}|{}",
        header.audience,
        header.created,
        header.expires,
        header.nonce,
        hex::encode(Sha256::digest(payload))
    )
}

impl SignedEnvelope {
    /// Builds and signs an envelope (for clients, tools and tests). Make the
    /// header with [`EnvelopeHeader::new`] (a fresh nonce each time).
    pub fn sign(
        key: &SigningKey,
        header: &EnvelopeHeader,
        action: &str,
        target: &str,
        payload: impl Into<String>,
    ) -> Self {
        let payload = payload.into();
        let signature = key.sign(signing_message(header, action, target, payload.as_bytes()).as_bytes());
        Self {
            actor: Did::from_verifying_key(&key.verifying_key()).to_string(),
            payload,
            created: header.created,
            expires: header.expires,
            nonce: header.nonce.clone(),
            signature: hex::encode(signature.to_bytes()),
        }
    }

    /// Reads an envelope from a JSON value already parsed from a request body.
    ///
    /// # Errors
    /// [`EnvelopeError::InvalidEnvelope`] for anything but a version-2
    /// envelope object (missing, unknown or mistyped fields).
    pub fn from_json(value: serde_json::Value) -> Result<Self, EnvelopeError> {
        if !value.is_object() {
            return Err(EnvelopeError::InvalidEnvelope { reason: "the body must be a JSON object".into() });
        }
        serde_json::from_value(value).map_err(|e| EnvelopeError::InvalidEnvelope { reason: e.to_string() })
    }

    /// Verifies the envelope for action `A` on `target` under `policy` at
    /// `now` (Unix seconds), then parses the payload. Checks, in order: the
    /// actor's DID, the nonce's form, the signature (over the policy's
    /// audience), the time window, the payload.
    ///
    /// # Errors
    /// [`EnvelopeError::InvalidDid`], [`EnvelopeError::InvalidEnvelope`] (the
    /// nonce), [`EnvelopeError::BadSignature`] (also for another audience),
    /// [`EnvelopeError::Expired`] (`created` more than the skew ahead of
    /// `now`, `expires` more than the skew behind it, `expires` before
    /// `created`, or `expires - created` over the policy's lifetime),
    /// [`EnvelopeError::InvalidPayload`].
    pub fn open<A: Action>(&self, target: &str, policy: &EnvelopePolicy, now: u64) -> Result<Signed<A>, EnvelopeError> {
        let actor = Did::parse(&self.actor)?;
        match URL_SAFE_NO_PAD.decode(&self.nonce) {
            Ok(bytes) if (NONCE_MIN_BYTES..=NONCE_MAX_BYTES).contains(&bytes.len()) => {}
            _ => {
                return Err(EnvelopeError::InvalidEnvelope {
                    reason: format!(
                        "nonce must be base64url without padding of {NONCE_MIN_BYTES}..={NONCE_MAX_BYTES} bytes"
                    ),
                })
            }
        }
        let bad = |reason| EnvelopeError::BadSignature {
            actor: self.actor.clone(),
            action: A::ACTION,
            target: target.to_string(),
            audience: policy.audience.clone(),
            reason,
        };
        if self.signature.len() != 128 || self.signature.bytes().any(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad("signature must be 128 lowercase hex characters"));
        }
        let mut raw = [0u8; 64];
        hex::decode_to_slice(&self.signature, &mut raw).map_err(|_| bad("signature is not hex"))?;
        let signature = Signature::from_bytes(&raw);
        let header = EnvelopeHeader {
            audience: policy.audience.clone(),
            created: self.created,
            expires: self.expires,
            nonce: self.nonce.clone(),
        };
        let message = signing_message(&header, A::ACTION, target, self.payload.as_bytes());
        actor
            .verifying_key()?
            .verify_strict(message.as_bytes(), &signature)
            .map_err(|_| bad("signature does not match"))?;
        self.check_window(policy, now)?;
        let invalid = |reason: String| EnvelopeError::InvalidPayload { action: A::ACTION, reason };
        // An object only: serde would also read a struct from a JSON array.
        // JSON text that opens with `{` (after JSON whitespace) and parses is
        // an object, so the payload is parsed once, straight into `A`.
        if !self.payload.trim_start_matches([' ', '\t', '\n', '\r']).starts_with('{') {
            return Err(invalid("the payload must be a JSON object".into()));
        }
        let body = serde_json::from_str(&self.payload).map_err(|e| invalid(e.to_string()))?;
        Ok(Signed {
            actor,
            target: target.to_string(),
            signature: self.signature.clone(),
            nonce: self.nonce.clone(),
            expires: self.expires,
            body,
        })
    }

    fn check_window(&self, policy: &EnvelopePolicy, now: u64) -> Result<(), EnvelopeError> {
        let skew = policy.max_clock_skew_secs;
        let reason = if self.created > now.saturating_add(skew) {
            format!("created more than {skew} s ahead of the gateway's clock")
        } else if self.expires.saturating_add(skew) < now {
            format!("expired more than {skew} s ago")
        } else if self.expires < self.created {
            "expires before it is created".to_string()
        } else if self.expires - self.created > policy.max_lifetime_secs {
            format!("lives {} s, longer than the {} s allowed", self.expires - self.created, policy.max_lifetime_secs)
        } else {
            return Ok(());
        };
        Err(EnvelopeError::Expired { now, created: self.created, expires: self.expires, reason })
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

    const NOW: u64 = 1_800_000_000;

    fn header() -> EnvelopeHeader {
        EnvelopeHeader::new(DEFAULT_AUDIENCE, NOW, 300)
    }

    fn open(env: &SignedEnvelope, target: &str) -> Result<Signed<Ping>, EnvelopeError> {
        env.open::<Ping>(target, &EnvelopePolicy::default(), NOW)
    }

    #[test]
    fn envelope_verifies_for_its_action_and_target_only() {
        let key = SigningKey::from_bytes(&[3u8; 32]);
        let env = SignedEnvelope::sign(&key, &header(), "ping", "t1", r#"{"n":5}"#);
        let signed = open(&env, "t1").unwrap();
        assert_eq!(signed.body, Ping { n: 5 });
        assert_eq!(signed.actor, Did::from_verifying_key(&key.verifying_key()));
        assert_eq!((signed.nonce.as_str(), signed.expires), (env.nonce.as_str(), NOW + 300));
        assert!(matches!(open(&env, "t2"), Err(EnvelopeError::BadSignature { .. })));
        let mut tampered = env.clone();
        tampered.payload = r#"{"n":6}"#.into();
        assert!(matches!(open(&tampered, "t1"), Err(EnvelopeError::BadSignature { .. })));
        let other = SigningKey::from_bytes(&[4u8; 32]);
        let mut wrong_key = env.clone();
        wrong_key.actor = Did::from_verifying_key(&other.verifying_key()).to_string();
        assert!(matches!(open(&wrong_key, "t1"), Err(EnvelopeError::BadSignature { .. })));
        let bad_payload = SignedEnvelope::sign(&key, &header(), "ping", "t1", r#"{"n":5,"x":1}"#);
        assert!(matches!(open(&bad_payload, "t1"), Err(EnvelopeError::InvalidPayload { .. })));
        // serde reads a struct from an array too; a payload is an object.
        let as_array = SignedEnvelope::sign(&key, &header(), "ping", "t1", "[5]");
        let err = open(&as_array, "t1").unwrap_err();
        assert_eq!(err.to_string(), "payload of ping is not valid: the payload must be a JSON object");
    }

    #[test]
    fn every_signed_field_is_bound_by_the_signature() {
        let key = SigningKey::from_bytes(&[3u8; 32]);
        let env = SignedEnvelope::sign(&key, &header(), "ping", "t1", r#"{"n":5}"#);
        let mut later = env.clone();
        later.expires += 1;
        let mut earlier = env.clone();
        earlier.created -= 1;
        let mut other_nonce = env.clone();
        other_nonce.nonce = EnvelopeHeader::new(DEFAULT_AUDIENCE, NOW, 1).nonce;
        for spoilt in [later, earlier, other_nonce] {
            assert_eq!(open(&spoilt, "t1").unwrap_err().code(), "bad_signature", "{spoilt:?}");
        }
        let elsewhere = EnvelopePolicy { audience: "other-net".into(), ..EnvelopePolicy::default() };
        let err = env.open::<Ping>("t1", &elsewhere, NOW).unwrap_err();
        assert_eq!(err.code(), "bad_signature");
        assert!(err.to_string().contains("for audience other-net"), "{err}");
    }

    #[test]
    fn the_time_window_follows_the_policy() {
        let key = SigningKey::from_bytes(&[3u8; 32]);
        let at = |created: u64, expires: u64| {
            let h = EnvelopeHeader { created, expires, ..header() };
            open(&SignedEnvelope::sign(&key, &h, "ping", "t1", r#"{"n":1}"#), "t1").map(|_| ())
        };
        // Inside: up to 60 s ahead, up to 60 s expired, 600 s of life.
        assert_eq!(at(NOW + 60, NOW + 100), Ok(()));
        assert_eq!(at(NOW - 600, NOW - 60), Ok(()));
        assert_eq!(at(NOW, NOW + 600), Ok(()));
        for (created, expires) in [(NOW + 61, NOW + 100), (NOW - 500, NOW - 61), (NOW, NOW + 601), (NOW, NOW - 1)] {
            let err = at(created, expires).unwrap_err();
            assert_eq!(err.code(), "envelope_expired", "{created} {expires}: {err}");
        }
    }

    #[test]
    fn a_nonce_must_be_base64url_of_16_to_64_bytes() {
        let key = SigningKey::from_bytes(&[3u8; 32]);
        let with = |nonce: String| {
            let h = EnvelopeHeader { nonce, ..header() };
            open(&SignedEnvelope::sign(&key, &h, "ping", "t1", r#"{"n":1}"#), "t1").map(|_| ())
        };
        assert_eq!(with(URL_SAFE_NO_PAD.encode([7u8; 16])), Ok(()));
        assert_eq!(with(URL_SAFE_NO_PAD.encode([7u8; 64])), Ok(()));
        for bad in [
            URL_SAFE_NO_PAD.encode([7u8; 15]),
            URL_SAFE_NO_PAD.encode([7u8; 65]),
            format!("{}=", URL_SAFE_NO_PAD.encode([7u8; 17])),
            "a|b".repeat(8),
        ] {
            assert_eq!(with(bad.clone()).unwrap_err().code(), "invalid_envelope", "{bad}");
        }
    }

    #[test]
    fn a_version_1_envelope_or_an_unknown_field_is_not_an_envelope() {
        let v1 = serde_json::json!({"actor": "did:key:z6Mk", "payload": "{}", "signature": "00"});
        assert_eq!(SignedEnvelope::from_json(v1).unwrap_err().code(), "invalid_envelope");
        let key = SigningKey::from_bytes(&[3u8; 32]);
        let env = SignedEnvelope::sign(&key, &header(), "ping", "t1", r#"{"n":5}"#);
        let mut extra = serde_json::to_value(&env).unwrap();
        extra["version"] = 2.into();
        assert_eq!(SignedEnvelope::from_json(extra).unwrap_err().code(), "invalid_envelope");
        assert_eq!(SignedEnvelope::from_json(serde_json::json!([])).unwrap_err().code(), "invalid_envelope");
        assert_eq!(SignedEnvelope::from_json(serde_json::to_value(&env).unwrap()), Ok(env));
    }
}
