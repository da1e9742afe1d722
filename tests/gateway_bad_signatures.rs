#![cfg(feature = "gateway")]
//! Bad signed requests on every signed route of the gateway, in process
//! (`actix_web::test`), against the commons of [`Served`]: spoilt
//! signatures, actors and payloads (one table row per spoilt shape, tried on
//! each of the nine signed routes), ids that name nothing, payloads that
//! break a rule, steps out of order and replays of a finished enrollment.
//!
//! Every refusal is checked for its status, its `{"error", "message"}` body,
//! and for leaving the whole store (every backend row) exactly as it was.
//! `gateway_bad_bodies` proves that the unspoilt request each row is derived
//! from succeeds, so a refusal is never an accident of the fixture.

mod common;

use anyhow::{ensure, Context, Result};
use common::http::{check_error_body, Call};
use common::keys::{flip_hex_char, unknown_hex_id, unknown_uuid, Person};
use common::served::Served;
use common::served::Signed::{self, *};
use rstest::rstest;
use serde_json::{json, Value};

/// How the good signed request of a route is spoilt.
#[derive(Debug, Clone, Copy)]
enum Spoil {
    /// One hex character of the signature changed.
    FlippedChar,
    /// Signed by another key, claiming to be the allowed signer.
    AnotherKey,
    /// Signed for another real record of the same kind.
    AnotherTarget,
    /// Signed for another route's action.
    AnotherAction,
    /// An empty signature.
    EmptySignature,
    /// The signature in upper-case hex.
    UpperCaseSignature,
    /// The signature cut to 126 hex characters.
    ShortSignature,
    /// The signature ending in characters that are not hex.
    NotHexSignature,
    /// The actor's DID spelt as `non_canonical_dids()[i]`.
    NonCanonicalActor(usize),
    /// A field the payload does not know.
    UnknownPayloadField,
    /// A payload field of the wrong JSON type.
    WrongPayloadTypes,
    /// Signed payload text that is not JSON at all.
    PayloadNotJson,
    /// A valid signature by someone who may not take the action.
    NotAllowed,
}

impl Spoil {
    /// The request to `route`'s good target, spoilt this way.
    fn call(self, route: Signed, w: &Served) -> Result<Call> {
        let (signer, action, target, payload) = (route.signer(w), route.action(), route.target(w), route.payload(w));
        let mut env = route.good_envelope(w);
        match self {
            Spoil::FlippedChar => env.signature = flip_hex_char(&env.signature),
            Spoil::AnotherKey => {
                env = w.x.envelope(action, &target, &payload);
                env.actor = signer.did.to_string();
            }
            Spoil::AnotherTarget => env = signer.envelope(action, &route.other_target(w), &payload),
            Spoil::AnotherAction => env = signer.envelope(route.other_action(), &target, &payload),
            Spoil::EmptySignature => env.signature = String::new(),
            Spoil::UpperCaseSignature => env.signature = env.signature.to_uppercase(),
            Spoil::ShortSignature => env.signature = env.signature[..126].to_string(),
            Spoil::NotHexSignature => env.signature = format!("{}zz", &env.signature[..126]),
            Spoil::NonCanonicalActor(i) => env.actor = signer.non_canonical_dids()[i].1.clone(),
            Spoil::UnknownPayloadField => {
                let mut payload = payload;
                payload.as_object_mut().context("object payload")?.insert("unexpected".into(), json!(true));
                env = signer.envelope(action, &target, &payload);
            }
            Spoil::WrongPayloadTypes => env = signer.envelope(action, &target, route.payload_with_wrong_types()),
            Spoil::PayloadNotJson => env = signer.envelope(action, &target, "not json"),
            Spoil::NotAllowed => {
                let (key, payload) = route.not_allowed(w);
                env = key.envelope(action, &target, &payload);
            }
        }
        Ok(route.call(w, &env))
    }
}

#[rstest]
#[case::flipped_signature_char(Spoil::FlippedChar, 401, "bad_signature")]
#[case::signature_by_another_key_than_the_actor(Spoil::AnotherKey, 401, "bad_signature")]
#[case::signature_for_another_target(Spoil::AnotherTarget, 401, "bad_signature")]
#[case::signature_for_another_action(Spoil::AnotherAction, 401, "bad_signature")]
#[case::empty_signature(Spoil::EmptySignature, 401, "bad_signature")]
#[case::upper_case_hex_signature(Spoil::UpperCaseSignature, 401, "bad_signature")]
#[case::too_short_signature(Spoil::ShortSignature, 401, "bad_signature")]
#[case::not_hex_signature(Spoil::NotHexSignature, 401, "bad_signature")]
#[case::upper_cased_actor_did(Spoil::NonCanonicalActor(0), 400, "invalid_did")]
#[case::base64_multibase_actor_did(Spoil::NonCanonicalActor(1), 400, "invalid_did")]
#[case::actor_did_with_trailing_char(Spoil::NonCanonicalActor(2), 400, "invalid_did")]
#[case::unknown_field_in_signed_payload(Spoil::UnknownPayloadField, 400, "invalid_payload")]
#[case::wrong_types_in_signed_payload(Spoil::WrongPayloadTypes, 400, "invalid_payload")]
#[case::signed_payload_not_json(Spoil::PayloadNotJson, 400, "invalid_payload")]
#[case::valid_signature_by_someone_not_allowed(Spoil::NotAllowed, 403, "forbidden")]
#[actix_web::test]
async fn spoilt_signed_request_is_refused_and_changes_nothing(
    #[case] spoil: Spoil,
    #[case] status: u16,
    #[case] code: &str,
    #[values(Verify, Vouch, Complete, Reject, Attest, HolderUpdate, CharterCreate, CharterSign, CharterActivate)]
    route: Signed,
) -> Result<()> {
    let w = Served::new().await?;
    w.gw.refused(&spoil.call(route, &w)?, status, code).await?;
    Ok(())
}

/// Signed routes that act on an existing record (all but charter creation),
/// with an id that names nothing or is no id: the envelope is signed for
/// exactly the id the handler sees (the route segment `by_did%2Fx` reaches
/// it decoded as `by_did/x`), so only the id is wrong.
#[rstest]
#[case::unknown_id_is_404(None, 404, "not_found")]
#[case::id_like_by_did_slash_x_is_400_never_a_key(Some("by_did/x"), 400, "invalid_id")]
#[actix_web::test]
async fn signed_action_on_a_bad_id_is_refused_and_changes_nothing(
    #[case] id: Option<&str>,
    #[case] status: u16,
    #[case] code: &str,
    #[values(Verify, Vouch, Complete, Reject, Attest, HolderUpdate, CharterSign, CharterActivate)] route: Signed,
) -> Result<()> {
    let w = Served::new().await?;
    let id = match (id, route) {
        (Some(id), _) => id.to_string(),
        (None, Verify | Vouch | Complete | Reject) => unknown_uuid(),
        (None, _) => unknown_hex_id(),
    };
    let env = route.signer(&w).envelope(route.action(), &id, route.payload(&w));
    let call = Call::new(route.method(), route.path(&id.replace('/', "%2F"))).envelope(&env);
    w.gw.refused(&call, status, code).await?;
    Ok(())
}

#[rstest]
#[case::vouch_for_a_non_canonical_person_did(Vouch, |w: &Served| json!({"person_did": w.p1.did.to_string().to_uppercase()}), 400, "invalid_did")]
#[case::vouch_for_another_person(Vouch, |w: &Served| json!({"person_did": w.p2.did}), 409, "person_mismatch")]
#[case::attestation_expiring_in_the_past(Attest, |_: &Served| json!({"level": "Strong", "method": "InPerson", "expires_at": 1}), 400, "invalid_input")]
#[case::attestation_of_unknown_level(Attest, |_: &Served| json!({"level": "Mighty", "method": "InPerson"}), 400, "invalid_payload")]
#[case::display_name_over_100_chars(HolderUpdate, |_: &Served| json!({"display_name": "d".repeat(101)}), 400, "invalid_input")]
#[case::charter_for_an_existing_domain(CharterCreate, |_: &Served| json!({"domain_id": "coop:bakers", "org_type": "Cooperative", "name": "Again", "membership_policy": {"open_enrollment": false}}), 409, "already_exists")]
#[case::charter_with_mismatched_org_type(CharterCreate, |_: &Served| json!({"domain_id": "coop:x", "org_type": "Federation", "name": "X", "membership_policy": {"open_enrollment": false}}), 400, "invalid_input")]
#[case::charter_with_bad_domain(CharterCreate, |_: &Served| json!({"domain_id": "coop:by_did/x", "org_type": "Cooperative", "name": "X", "membership_policy": {"open_enrollment": false}}), 400, "invalid_input")]
#[case::charter_with_newline_in_name(CharterCreate, |_: &Served| json!({"domain_id": "coop:x", "org_type": "Cooperative", "name": "X\nY", "membership_policy": {"open_enrollment": false}}), 400, "invalid_input")]
#[case::charter_with_description_over_10000_chars(CharterCreate, |_: &Served| json!({"domain_id": "coop:x", "org_type": "Cooperative", "name": "X", "description": "d".repeat(10_001), "membership_policy": {"open_enrollment": false}}), 400, "invalid_input")]
#[case::charter_with_zero_min_founders(CharterCreate, |_: &Served| json!({"domain_id": "coop:x", "org_type": "Cooperative", "name": "X", "membership_policy": {"open_enrollment": false, "min_founders": 0}}), 400, "invalid_input")]
#[case::signature_over_a_stale_digest(CharterSign, |_: &Served| json!({"digest": "0".repeat(64)}), 409, "digest_mismatch")]
#[actix_web::test]
async fn signed_payload_breaking_a_rule_is_refused_and_changes_nothing(
    #[case] route: Signed,
    #[case] payload: fn(&Served) -> Value,
    #[case] status: u16,
    #[case] code: &str,
) -> Result<()> {
    let w = Served::new().await?;
    let env = route.signer(&w).envelope(route.action(), &route.target(&w), payload(&w));
    w.gw.refused(&route.call(&w, &env), status, code).await?;
    Ok(())
}

#[actix_web::test]
async fn signed_steps_out_of_order_are_409_and_change_nothing() -> Result<()> {
    let w = Served::new().await?;
    let enrollment = |id: &str, verb: &str| Call::post(format!("/v1/enrollments/{id}/{verb}"));
    let charter = |id: &str, verb: &str| Call::post(format!("/v1/charters/{id}/{verb}"));
    let digest = w.gw.expect(&Call::get(format!("/v1/charters/{}", w.charter)), 200).await?.field("digest")?;
    w.gw.refuse_all(vec![
        (
            "verify again on a verified session",
            enrollment(&w.e1, "verify").signed(&w.p1, "enroll-verify", &w.e1, json!({"verification_code": w.code1})),
            409,
            "invalid_transition",
        ),
        (
            "complete at level 1 although the charter has no open enrollment",
            enrollment(&w.e1, "complete").signed(&w.p1, "enroll-complete", &w.e1, "{}"),
            409,
            "invalid_transition",
        ),
        (
            "vouch at level 0",
            enrollment(&w.e0, "vouch").signed(&w.a, "enroll-vouch", &w.e0, json!({"person_did": w.p0.did})),
            409,
            "invalid_transition",
        ),
        (
            "reject at level 2",
            enrollment(&w.e2, "reject").signed(&w.a, "enroll-reject", &w.e2, json!({"reason": "late"})),
            409,
            "invalid_transition",
        ),
        (
            "a member of the commons verifies a new session: already enrolled",
            enrollment(&w.e0, "verify").signed(&w.b, "enroll-verify", &w.e0, json!({"verification_code": w.code0})),
            409,
            "already_enrolled",
        ),
        (
            "a stranger signs an Active charter",
            charter(&w.charter, "signatures").signed(&w.x, "charter-sign", &w.charter, json!({"digest": digest})),
            403,
            "forbidden",
        ),
        (
            "a founder signs an Active charter",
            charter(&w.charter, "signatures").signed(&w.b, "charter-sign", &w.charter, json!({"digest": digest})),
            409,
            "invalid_transition",
        ),
        (
            "activate an Active charter",
            charter(&w.charter, "activate").signed(&w.a, "charter-activate", &w.charter, "{}"),
            409,
            "invalid_transition",
        ),
        (
            "a founder signs the draft twice",
            charter(&w.draft, "signatures").signed(&w.b, "charter-sign", &w.draft, json!({"digest": w.draft_digest})),
            409,
            "already_signed",
        ),
    ])
    .await
}

#[actix_web::test]
async fn replayed_steps_of_a_finished_enrollment_are_409_replayed_and_change_nothing() -> Result<()> {
    let w = Served::new().await?;
    let person = Person::new();
    let r = w.gw.expect(&Call::post("/v1/enrollments").json(&json!({"identity_name": "Rae"})), 201).await?;
    let (id, code) = (r.field("enrollment_id")?, r.field("verification_code")?);
    let step = |verb: &str| Call::post(format!("/v1/enrollments/{id}/{verb}"));
    let verify = step("verify").signed(&person, "enroll-verify", &id, json!({"verification_code": code}));
    let vouch = step("vouch").signed(&w.a, "enroll-vouch", &id, json!({"person_did": person.did}));
    let complete = step("complete").signed(&person, "enroll-complete", &id, "{}");
    w.gw.expect(&verify, 200).await?;
    w.gw.expect(&vouch, 200).await?;
    let anchor = w.gw.expect(&complete, 201).await?;
    let anchor_id = anchor.field("anchor_id")?;
    let steward = Call::get(format!("/v1/stewards/{}", w.steward_a));
    let steward_before = w.gw.expect(&steward, 200).await?;
    ensure!(
        steward_before.json["attestations_issued"] == 1,
        "steward counted {}",
        steward_before.json["attestations_issued"]
    );

    for replay in [&verify, &vouch, &complete, &complete, &vouch, &verify] {
        let before = w.gw.snapshot()?;
        let reply = w.gw.send(replay).await;
        ensure!((400..500).contains(&reply.status), "{replay:?}: replay answered {} {}", reply.status, reply.text);
        let code = reply.json.get("error").and_then(Value::as_str).unwrap_or("").to_string();
        ensure!(
            reply.status == 409 && code == "replayed",
            "{replay:?}: replay answered {} {}",
            reply.status,
            reply.text
        );
        check_error_body(&reply, &code, &format!("{replay:?}"))?;
        ensure!(before == w.gw.snapshot()?, "{replay:?}: replay changed the store");
    }
    // Still one anchor, unchanged, and one attestation counted.
    let again = w.gw.expect(&Call::get(format!("/v1/anchors/by-did/{}", person.did)), 200).await?;
    ensure!(again.field("anchor_id")? == anchor_id);
    ensure!(
        again.json["attestations"] == anchor.json["attestations"],
        "attestations changed: {} vs {}",
        again.json["attestations"],
        anchor.json["attestations"]
    );
    let steward_after = w.gw.expect(&steward, 200).await?;
    ensure!(steward_after.json == steward_before.json, "steward changed by replays: {}", steward_after.text);
    Ok(())
}
