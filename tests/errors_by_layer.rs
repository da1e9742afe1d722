//! How an error is classified, decided once by `CommonsError::status`,
//! `code` and `public_message` for every layer (a refusal of the rules, a
//! refused envelope, a store failure), as `docs/DOMAIN.md` ("Errors",
//! "Conflict codes") lists them. The gateway maps through these methods
//! only, so this table is the HTTP answer of each kind of error.

use std::io::{Error, ErrorKind};

use commons_gateway::backend::BackendError;
use commons_gateway::{
    CommonsError, ConflictCode, Did, EnvelopeHeader, EnvelopePolicy, Refusal, SignedEnvelope, StoreError,
    DEFAULT_AUDIENCE,
};

fn refused(r: Refusal) -> CommonsError {
    CommonsError::from(r)
}

fn store(e: BackendError) -> CommonsError {
    CommonsError::from(StoreError::from(e))
}

#[test]
fn every_kind_of_error_has_its_status_and_code() {
    let bad_did = Did::parse("did:key:nope").expect_err("not a DID");
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let (policy, now) = (EnvelopePolicy::default(), 1_800_000_000);
    let header = EnvelopeHeader::new(DEFAULT_AUDIENCE, now, 300);
    let envelope = SignedEnvelope::sign(&key, &header, "vote", "t1", r#"{"approve":true}"#);
    let wrong_target =
        envelope.open::<commons_gateway::actions::CastVote>("t2", &policy, now).expect_err("signed for another target");
    let expired = envelope
        .open::<commons_gateway::actions::CastVote>("t1", &policy, now + 300 + 61)
        .expect_err("expired more than the skew ago");
    let v1 = SignedEnvelope::from_json(serde_json::json!({"actor": "did:key:z", "payload": "{}", "signature": "00"}))
        .expect_err("a version-1 envelope");
    let bad_payload = SignedEnvelope::sign(&key, &header, "vote", "t1", r#"{"approve":1}"#)
        .open::<commons_gateway::actions::CastVote>("t1", &policy, now)
        .expect_err("not the action's payload");
    let table: Vec<(&str, CommonsError, u16, &str)> = vec![
        ("invalid input", refused(Refusal::invalid("limit", "1..=100")), 400, "invalid_input"),
        ("invalid DID", refused(Refusal::from(bad_did)), 400, "invalid_did"),
        (
            "invalid id",
            refused(Refusal::InvalidId { entity: "anchor", id: "x".into(), expected: "64 hex" }),
            400,
            "invalid_id",
        ),
        ("bad signature", refused(Refusal::from(wrong_target)), 401, "bad_signature"),
        ("expired envelope", refused(Refusal::from(expired)), 401, "envelope_expired"),
        ("version-1 envelope", refused(Refusal::from(v1)), 401, "invalid_envelope"),
        ("invalid payload", refused(Refusal::from(bad_payload)), 400, "invalid_payload"),
        ("forbidden", refused(Refusal::forbidden("not a steward")), 403, "forbidden"),
        ("not found", refused(Refusal::not_found("charter", "coop:x")), 404, "not_found"),
        (
            "invalid transition",
            refused(Refusal::InvalidTransition {
                entity: "anchor",
                id: "a".into(),
                from: "Revoked".into(),
                action: "x",
            }),
            409,
            "invalid_transition",
        ),
        ("conflict", refused(Refusal::conflict(ConflictCode::AlreadyVoted, "twice")), 409, "already_voted"),
        ("expired", refused(Refusal::Expired { entity: "enrollment", id: "e".into() }), 410, "expired"),
        ("bad cursor", CommonsError::from(StoreError::InvalidCursor { cursor: "zz".into() }), 400, "invalid_cursor"),
        ("stopped store", store(BackendError::Unavailable { reason: "stopped".into() }), 503, "unavailable"),
        ("locked store", store(BackendError::Locked { path: "/data".into() }), 503, "unavailable"),
        (
            "corrupt row",
            CommonsError::from(StoreError::Corrupt { key: "anchor/x".into(), reason: "bad".into() }),
            500,
            "internal",
        ),
        ("engine fault", store(BackendError::Engine { engine: "memory", message: "boom".into() }), 500, "internal"),
    ];
    for (what, error, status, code) in table {
        assert_eq!((error.status(), error.code()), (status, code), "{what}");
    }
}

#[test]
fn every_conflict_code_is_a_409_with_its_own_snake_case_name() {
    let mut names = std::collections::BTreeSet::new();
    for &code in ConflictCode::ALL {
        let e = refused(Refusal::conflict(code, "x"));
        assert_eq!(e.status(), 409, "{code}");
        assert_eq!(e.code(), code.as_str());
        assert!(names.insert(code.as_str()), "{code} listed twice");
    }
    assert_eq!(names.len(), 18);
    assert!(names.contains("revocation_open") && names.contains("vouch_no_longer_valid") && names.contains("replayed"));
}

#[test]
fn a_client_sees_the_reason_of_a_refusal_but_not_the_cause_of_a_500() {
    let refusal = refused(Refusal::not_found("charter", "coop:bakers"));
    assert_eq!(refusal.public_message(), "charter coop:bakers not found");
    let corrupt = CommonsError::from(StoreError::Corrupt { key: "anchor/secret".into(), reason: "bad".into() });
    assert_eq!(corrupt.public_message(), "internal error; the cause is in the server log");
    assert!(corrupt.to_string().contains("anchor/secret"), "the log still gets the cause");
    let full = store(BackendError::Io { path: "/data".into(), source: Error::new(ErrorKind::StorageFull, "full") });
    assert_eq!((full.status(), full.code()), (503, "unavailable"));
    assert!(full.public_message().contains("out of disk space"), "{}", full.public_message());
    assert!(refusal.refusal().is_some() && corrupt.refusal().is_none());
}
