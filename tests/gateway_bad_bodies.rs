#![cfg(feature = "gateway")]
//! Bad JSON bodies and bad operator tokens on every route of the gateway that
//! reads a body, in process (`actix_web::test`), against the commons of
//! [`Served`]: each route's good request succeeds (the control of every
//! spoilt request here and in `gateway_bad_signatures`); the same request
//! spoilt (malformed, wrong types, unknown field, other content type, too
//! large) is refused; operator routes refuse a missing or wrong token and,
//! on a server without a token, everything; and the field rules of the
//! unsigned bodies, one table row per rule.
//!
//! Every refusal is checked for its status, its `{"error", "message"}` body,
//! and for leaving the whole store (every backend row) exactly as it was.

mod common;

use anyhow::{ensure, Context, Result};
use common::http::{Call, Gateway, BIG, TOKEN};
use common::keys::unknown_uuid;
use common::served::{Served, Signed};
use rstest::rstest;
use serde_json::{json, Value};

/// Routes that read a JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// `POST /v1/enrollments` (public).
    Start,
    /// A signed route.
    Signed(Signed),
    /// `POST /v1/anchors` (operator).
    Bootstrap,
    /// `POST /v1/stewards` (operator).
    RegisterSteward,
    /// `POST /v1/enrollments/{id}/reject` with a token (operator).
    OperatorReject,
}

impl Body {
    /// The good request: route (with headers) and JSON body.
    fn good(self, w: &Served) -> (Call, Value) {
        match self {
            Body::Start => {
                (Call::post("/v1/enrollments"), json!({"identity_name": "Quinn", "domain_id": "coop:bakers"}))
            }
            Body::Signed(s) => {
                let env = s.good_envelope(w);
                (Call::new(s.method(), s.path(&s.target(w))), serde_json::to_value(&env).unwrap_or(Value::Null))
            }
            Body::Bootstrap => (Call::post("/v1/anchors").operator(), json!({"did": w.x.did, "display_name": "Xena"})),
            Body::RegisterSteward => (
                Call::post("/v1/stewards").operator(),
                json!({"did": w.b.did, "term_days": 365, "jurisdiction": "coop:bakers"}),
            ),
            Body::OperatorReject => {
                (Call::post(format!("/v1/enrollments/{}/reject", w.e1)).operator(), json!({"reason": "duplicate"}))
            }
        }
    }

    fn success(self) -> u16 {
        match self {
            Body::Start | Body::Bootstrap | Body::RegisterSteward => 201,
            Body::Signed(s) => s.success(),
            Body::OperatorReject => 200,
        }
    }

    /// A body of the right shape with a field of the wrong JSON type.
    fn wrong_types(self, w: &Served) -> Value {
        match self {
            Body::Start => json!({"identity_name": 7}),
            Body::Signed(_) => json!({"actor": 1, "payload": {"x": 1}, "signature": true}),
            Body::Bootstrap => json!({"did": 5, "display_name": ["x"]}),
            Body::RegisterSteward => json!({"did": w.b.did, "term_days": "365"}),
            Body::OperatorReject => json!({"reason": 5}),
        }
    }

    /// The good body with one string field padded to [`BIG`] bytes.
    fn too_large(self, w: &Served) -> Value {
        let big = "x".repeat(BIG);
        let (_, mut body) = self.good(w);
        let field = match self {
            Body::Start => "identity_name",
            Body::Signed(_) => "payload",
            Body::Bootstrap => "display_name",
            Body::RegisterSteward => "jurisdiction",
            Body::OperatorReject => "reason",
        };
        body[field] = json!(big);
        body
    }
}

/// How a body is sent: as the good request has it, or spoilt.
#[derive(Debug, Clone, Copy)]
enum Spoil {
    /// The good JSON, unchanged.
    Unspoilt,
    /// The good JSON cut in half.
    Malformed,
    /// A field of the wrong JSON type.
    WrongTypes,
    /// An extra field the route does not know.
    UnknownField,
    /// The good JSON sent as `text/plain`.
    TextPlain,
    /// The good JSON sent without a content type.
    NoContentType,
    /// A 100 KiB body.
    TooLarge,
}

/// Each row sends every body route its good request, as it is (the control
/// of every refusal: it succeeds and writes) or spoilt one way (refused with
/// the row's status and code, nothing written).
#[rstest]
#[case::good_request_succeeds(Spoil::Unspoilt, None)]
#[case::malformed_json(Spoil::Malformed, Some((400, "invalid_json")))]
#[case::wrong_types(Spoil::WrongTypes, Some((400, "invalid_json")))]
#[case::unknown_field(Spoil::UnknownField, Some((400, "invalid_json")))]
#[case::text_plain_is_415(Spoil::TextPlain, Some((415, "unsupported_media_type")))]
#[case::no_content_type_is_415(Spoil::NoContentType, Some((415, "unsupported_media_type")))]
#[case::body_of_100_kib_is_413(Spoil::TooLarge, Some((413, "payload_too_large")))]
#[actix_web::test]
async fn body_route_takes_its_good_body_and_refuses_it_spoilt(
    #[case] spoil: Spoil,
    #[case] refusal: Option<(u16, &str)>,
    #[values(
        Body::Start,
        Body::Signed(Signed::Verify),
        Body::Signed(Signed::Vouch),
        Body::Signed(Signed::Complete),
        Body::Signed(Signed::Reject),
        Body::Signed(Signed::Attest),
        Body::Signed(Signed::HolderUpdate),
        Body::Signed(Signed::CharterCreate),
        Body::Signed(Signed::CharterSign),
        Body::Signed(Signed::CharterActivate),
        Body::Bootstrap,
        Body::RegisterSteward,
        Body::OperatorReject
    )]
    route: Body,
) -> Result<()> {
    let w = Served::new().await?;
    let (call, good) = route.good(&w);
    let call = match spoil {
        Spoil::Unspoilt => call.json(&good),
        Spoil::Malformed => {
            let text = good.to_string();
            call.raw("application/json", &text.as_bytes()[..text.len() / 2])
        }
        Spoil::WrongTypes => call.json(&route.wrong_types(&w)),
        Spoil::UnknownField => {
            let mut body = good;
            body.as_object_mut().context("object body")?.insert("unexpected".into(), json!(true));
            call.json(&body)
        }
        Spoil::TextPlain => call.raw("text/plain", good.to_string()),
        Spoil::NoContentType => call.raw("text/plain", good.to_string()).without_header("content-type"),
        Spoil::TooLarge => call.json(&route.too_large(&w)),
    };
    // An envelope route reads a body that is not a version-2 envelope as no
    // envelope at all: 401 `invalid_envelope`, not a 400.
    let refusal = match (route, spoil, refusal) {
        (Body::Signed(_), Spoil::WrongTypes | Spoil::UnknownField, Some(_)) => Some((401, "invalid_envelope")),
        _ => refusal,
    };
    match refusal {
        Some((status, code)) => {
            w.gw.refused(&call, status, code).await?;
        }
        None => {
            let before = w.gw.snapshot()?;
            let reply = w.gw.expect(&call, route.success()).await?;
            ensure!(reply.json.is_object(), "{route:?}: answer is not a JSON object: {}", reply.text);
            ensure!(w.gw.snapshot()? != before, "{route:?}: a successful write changed no row");
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Operator routes: the token.
// ---------------------------------------------------------------------------

/// Without an `Authorization` header the bootstrap and steward routes are
/// 401; the reject route has no operator-only form (without a token it is
/// the steward's signed path, spoilt in `gateway_bad_signatures`).
#[rstest]
#[actix_web::test]
async fn operator_route_without_a_token_is_401_unauthorized_and_changes_nothing(
    #[values(Body::Bootstrap, Body::RegisterSteward)] route: Body,
) -> Result<()> {
    let w = Served::new().await?;
    let (call, body) = route.good(&w);
    w.gw.refused(&call.json(&body).without_header("authorization"), 401, "unauthorized").await?;
    Ok(())
}

#[rstest]
#[case::with_wrong_token(b"Bearer not-the-token".to_vec())]
#[case::with_basic_scheme(format!("Basic {TOKEN}").into_bytes())]
#[case::with_empty_bearer(b"Bearer ".to_vec())]
#[case::with_non_ascii_token(b"Bearer secr\xe9t-operator-token".to_vec())]
#[actix_web::test]
async fn operator_route_with_a_wrong_token_is_401_unauthorized_and_changes_nothing(
    #[case] authorization: Vec<u8>,
    #[values(Body::Bootstrap, Body::RegisterSteward, Body::OperatorReject)] route: Body,
) -> Result<()> {
    let w = Served::new().await?;
    let (call, body) = route.good(&w);
    w.gw.refused(&call.json(&body).header("authorization", authorization), 401, "unauthorized").await?;
    Ok(())
}

#[rstest]
#[actix_web::test]
async fn operator_route_checks_the_token_before_reading_the_body(
    #[values(Body::Bootstrap, Body::RegisterSteward, Body::OperatorReject)] route: Body,
) -> Result<()> {
    let w = Served::new().await?;
    let (call, _) = route.good(&w);
    w.gw.refused(&call.bearer("wrong").raw("application/json", "{\"did\": "), 401, "unauthorized").await?;
    // The operator reject route reads the body (for its two shapes) before it
    // looks at the token, so an oversized body is a 413 there; elsewhere the
    // token comes first.
    if route != Body::OperatorReject {
        w.gw.refused(&route.good(&w).0.bearer("wrong").json(&route.too_large(&w)), 401, "unauthorized").await?;
    }
    Ok(())
}

/// The scheme name of `Authorization` is case-insensitive (RFC 7235,
/// section 2.1); the token itself is compared exactly.
#[rstest]
#[case::lower("bearer")]
#[case::upper("BEARER")]
#[case::mixed("BeArEr")]
#[actix_web::test]
async fn operator_scheme_name_is_case_insensitive(#[case] scheme: &str) -> Result<()> {
    let w = Served::new().await?;
    let (call, body) = Body::Bootstrap.good(&w);
    let call = call.header("authorization", format!("{scheme} {TOKEN}")).json(&body);
    let reply = w.gw.send(&call).await;
    ensure!(reply.status == 201, "{scheme}: {} {}", reply.status, reply.text);
    let upper = call.header("authorization", format!("{scheme} {}", TOKEN.to_uppercase()));
    w.gw.refused(&upper, 401, "unauthorized").await?;
    Ok(())
}

#[rstest]
#[actix_web::test]
async fn operator_route_on_a_server_without_token_is_403_admin_disabled_and_changes_nothing(
    #[values(Body::Bootstrap, Body::RegisterSteward, Body::OperatorReject)] route: Body,
) -> Result<()> {
    let w = Served::new().await?;
    let no_token = Gateway::new(w.gw.manager(), None).await;
    let (call, body) = route.good(&w);
    // Even the token the other server accepts.
    no_token.refused(&call.clone().json(&body), 403, "admin_disabled").await?;
    no_token.refused(&call.bearer("").json(&body), 403, "admin_disabled").await?;
    if route != Body::OperatorReject {
        no_token.refused(&route.good(&w).0.without_header("authorization").json(&body), 403, "admin_disabled").await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Field rules of the unsigned bodies.
// ---------------------------------------------------------------------------

/// `POST /v1/enrollments` with `body`.
fn start(body: Value) -> Call {
    Call::post("/v1/enrollments").json(&body)
}

/// The operator's `POST /v1/anchors` with `body`.
fn bootstrap(body: Value) -> Call {
    Call::post("/v1/anchors").operator().json(&body)
}

/// The operator's `POST /v1/stewards` with `body`.
fn steward(body: Value) -> Call {
    Call::post("/v1/stewards").operator().json(&body)
}

/// The operator's reject of enrollment `id` with `body`.
fn reject(id: &str, body: Value) -> Call {
    Call::post(format!("/v1/enrollments/{id}/reject")).operator().json(&body)
}

#[rstest]
#[case::start_with_empty_identity_name(|_: &Served| start(json!({"identity_name": ""})), 400, "invalid_input")]
#[case::start_with_identity_name_over_100_chars(|_: &Served| start(json!({"identity_name": "n".repeat(101)})), 400, "invalid_input")]
#[case::start_with_identity_name_with_control_char(|_: &Served| start(json!({"identity_name": "a\u{7}b"})), 400, "invalid_input")]
#[case::start_without_identity_name(|_: &Served| start(json!({"domain_id": "coop:bakers"})), 400, "invalid_json")]
#[case::start_in_malformed_domain(|_: &Served| start(json!({"identity_name": "Quinn", "domain_id": "bakers"})), 400, "invalid_input")]
#[case::start_in_upper_case_domain(|_: &Served| start(json!({"identity_name": "Quinn", "domain_id": "COOP:bakers"})), 400, "invalid_input")]
#[case::start_in_domain_like_by_did_slash_x(|_: &Served| start(json!({"identity_name": "Quinn", "domain_id": "coop:by_did/x"})), 400, "invalid_input")]
#[case::start_in_unknown_domain(|_: &Served| start(json!({"identity_name": "Quinn", "domain_id": "coop:nobody"})), 404, "not_found")]
#[case::start_in_draft_charter_domain(|_: &Served| start(json!({"identity_name": "Quinn", "domain_id": "coop:draft"})), 409, "charter_not_active")]
#[case::start_with_null_body(|_: &Served| start(json!(null)), 400, "invalid_json")]
#[case::start_with_array_body(|_: &Served| start(json!([])), 400, "invalid_json")]
#[case::bootstrap_with_display_name_over_100_chars(|w: &Served| bootstrap(json!({"did": w.x.did, "display_name": "d".repeat(101)})), 400, "invalid_input")]
#[case::bootstrap_did_of_an_existing_anchor(|w: &Served| bootstrap(json!({"did": w.a.did})), 409, "already_exists")]
#[case::bootstrap_did_not_a_did(|_: &Served| bootstrap(json!({"did": "alice"})), 400, "invalid_did")]
#[case::bootstrap_did_of_another_method(|_: &Served| bootstrap(json!({"did": "did:web:example.org"})), 400, "invalid_did")]
#[case::bootstrap_without_did(|_: &Served| bootstrap(json!({"display_name": "Nobody"})), 400, "invalid_json")]
#[case::steward_term_of_29_days(|w: &Served| steward(json!({"did": w.b.did, "term_days": 29})), 400, "invalid_input")]
#[case::steward_term_of_731_days(|w: &Served| steward(json!({"did": w.b.did, "term_days": 731})), 400, "invalid_input")]
#[case::steward_term_of_u64_max_days(|w: &Served| steward(json!({"did": w.b.did, "term_days": u64::MAX})), 400, "invalid_input")]
#[case::steward_negative_term(|w: &Served| steward(json!({"did": w.b.did, "term_days": -1})), 400, "invalid_json")]
#[case::steward_malformed_jurisdiction(|w: &Served| steward(json!({"did": w.b.did, "term_days": 365, "jurisdiction": "bakers"})), 400, "invalid_input")]
#[case::steward_unknown_jurisdiction(|w: &Served| steward(json!({"did": w.b.did, "term_days": 365, "jurisdiction": "coop:nobody"})), 404, "not_found")]
#[case::steward_draft_jurisdiction(|w: &Served| steward(json!({"did": w.b.did, "term_days": 365, "jurisdiction": "coop:draft"})), 409, "charter_not_active")]
#[case::steward_did_without_holder(|w: &Served| steward(json!({"did": w.x.did, "term_days": 365})), 404, "not_found")]
#[case::steward_already_a_steward(|w: &Served| steward(json!({"did": w.a.did, "term_days": 365})), 409, "already_exists")]
#[case::reject_reason_over_2000_chars(|w: &Served| reject(&w.e1, json!({"reason": "r".repeat(2001)})), 400, "invalid_input")]
#[case::reject_vouched_session(|w: &Served| reject(&w.e2, json!({"reason": "late"})), 409, "invalid_transition")]
#[case::reject_unknown_session(|_: &Served| reject(&unknown_uuid(), json!({"reason": "x"})), 404, "not_found")]
#[case::reject_id_not_a_uuid(|_: &Served| reject("not-a-uuid", json!({"reason": "x"})), 400, "invalid_id")]
#[actix_web::test]
async fn unsigned_body_breaking_a_rule_is_refused_and_changes_nothing(
    #[case] call: fn(&Served) -> Call,
    #[case] status: u16,
    #[case] code: &str,
) -> Result<()> {
    let w = Served::new().await?;
    w.gw.refused(&call(&w), status, code).await?;
    Ok(())
}

#[rstest]
#[case::upper_cased_did(0)]
#[case::base64_multibase_did(1)]
#[case::did_with_trailing_char(2)]
#[actix_web::test]
async fn operator_body_with_non_canonical_did_is_400_invalid_did(
    #[case] variant: usize,
    #[values(Body::Bootstrap, Body::RegisterSteward)] route: Body,
) -> Result<()> {
    let w = Served::new().await?;
    let (call, mut body) = route.good(&w);
    let key = if route == Body::Bootstrap { &w.x } else { &w.b };
    body["did"] = json!(key.non_canonical_dids()[variant].1);
    w.gw.refused(&call.json(&body), 400, "invalid_did").await?;
    Ok(())
}
