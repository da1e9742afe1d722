#![cfg(feature = "gateway")]
//! Bad lookups and lists on the gateway, in process (`actix_web::test`),
//! against the commons of [`Served`]: ids, DIDs and domains that are bad or
//! name nothing (one table row per request, with the lookups of the
//! fixture's real records as the control), bad list queries and filters,
//! and a sweep of requests a careless or hostile client may send, none of
//! which may get a 500 or change the store, on a server with an operator
//! token and on one without.
//!
//! Every refusal is checked for its status, its `{"error", "message"}` body,
//! and for leaving the whole store (every backend row) exactly as it was.

mod common;

use actix_web::http::Method;
use anyhow::{bail, ensure, Result};
use common::http::{check_error_body, escape, Call, Gateway, BIG, TOKEN};
use common::keys::{unknown_hex_id, unknown_uuid};
use common::served::{Served, Signed, ALL_SIGNED};
use rstest::rstest;
use serde_json::{json, Value};

#[rstest]
#[case::enrollment_unknown(|_: &Served| format!("/v1/enrollments/{}", unknown_uuid()), 404, "not_found")]
#[case::enrollment_not_a_uuid(|_: &Served| "/v1/enrollments/not-a-uuid".to_string(), 400, "invalid_id")]
#[case::enrollment_upper_case_uuid(|w: &Served| format!("/v1/enrollments/{}", w.e0.to_uppercase()), 400, "invalid_id")]
#[case::enrollment_by_did_slash_x(|_: &Served| "/v1/enrollments/by_did%2Fx".to_string(), 400, "invalid_id")]
#[case::anchor_unknown(|_: &Served| format!("/v1/anchors/{}", unknown_hex_id()), 404, "not_found")]
#[case::anchor_upper_case_hex(|w: &Served| format!("/v1/anchors/{}", w.anchor_a.to_uppercase()), 400, "invalid_id")]
#[case::anchor_63_hex(|w: &Served| format!("/v1/anchors/{}", &w.anchor_a[..63]), 400, "invalid_id")]
#[case::anchor_by_did_slash_x(|_: &Served| "/v1/anchors/by_did%2Fx".to_string(), 400, "invalid_id")]
#[case::anchor_did_unknown(|w: &Served| format!("/v1/anchors/by-did/{}", w.x.did), 404, "not_found")]
#[case::anchor_did_upper_cased(|w: &Served| format!("/v1/anchors/by-did/{}", escape(&w.a.non_canonical_dids()[0].1)), 400, "invalid_did")]
#[case::anchor_did_base64(|w: &Served| format!("/v1/anchors/by-did/{}", escape(&w.a.non_canonical_dids()[1].1)), 400, "invalid_did")]
#[case::anchor_did_trailing_char(|w: &Served| format!("/v1/anchors/by-did/{}", escape(&w.a.non_canonical_dids()[2].1)), 400, "invalid_did")]
#[case::anchor_did_by_did_slash_x(|_: &Served| "/v1/anchors/by-did/by_did%2Fx".to_string(), 400, "invalid_did")]
#[case::holder_unknown(|_: &Served| format!("/v1/holders/{}", unknown_hex_id()), 404, "not_found")]
#[case::holder_by_did_slash_x(|_: &Served| "/v1/holders/by_did%2Fx".to_string(), 400, "invalid_id")]
#[case::holder_upper_case_hex(|w: &Served| format!("/v1/holders/{}", w.anchor_b.to_uppercase()), 400, "invalid_id")]
#[case::holder_did_unknown(|w: &Served| format!("/v1/holders/by-did/{}", w.x.did), 404, "not_found")]
#[case::holder_did_upper_cased(|w: &Served| format!("/v1/holders/by-did/{}", escape(&w.b.non_canonical_dids()[0].1)), 400, "invalid_did")]
#[case::holder_did_base64(|w: &Served| format!("/v1/holders/by-did/{}", escape(&w.b.non_canonical_dids()[1].1)), 400, "invalid_did")]
#[case::holder_did_trailing_char(|w: &Served| format!("/v1/holders/by-did/{}", escape(&w.b.non_canonical_dids()[2].1)), 400, "invalid_did")]
#[case::charter_unknown(|_: &Served| format!("/v1/charters/{}", unknown_hex_id()), 404, "not_found")]
#[case::charter_by_did_slash_x(|_: &Served| "/v1/charters/by_did%2Fx".to_string(), 400, "invalid_id")]
#[case::charter_upper_case_hex(|w: &Served| format!("/v1/charters/{}", w.charter.to_uppercase()), 400, "invalid_id")]
#[case::charter_domain_unknown(|_: &Served| "/v1/charters/by-domain/coop:nobody".to_string(), 404, "not_found")]
#[case::charter_domain_upper_case(|_: &Served| "/v1/charters/by-domain/COOP:bakers".to_string(), 400, "invalid_input")]
#[case::charter_domain_by_did_slash_x(|_: &Served| "/v1/charters/by-domain/by_did%2Fx".to_string(), 400, "invalid_input")]
#[case::charter_domain_with_slash(|_: &Served| "/v1/charters/by-domain/coop:bakers%2Fx".to_string(), 400, "invalid_input")]
#[case::steward_unknown(|_: &Served| format!("/v1/stewards/{}", unknown_hex_id()), 404, "not_found")]
#[case::steward_by_did_slash_x(|_: &Served| "/v1/stewards/by_did%2Fx".to_string(), 400, "invalid_id")]
#[case::steward_upper_case_hex(|w: &Served| format!("/v1/stewards/{}", w.steward_a.to_uppercase()), 400, "invalid_id")]
#[case::steward_did_of_a_holder_who_is_no_steward(|w: &Served| format!("/v1/stewards/by-did/{}", w.b.did), 404, "not_found")]
#[case::steward_did_upper_cased(|w: &Served| format!("/v1/stewards/by-did/{}", escape(&w.a.non_canonical_dids()[0].1)), 400, "invalid_did")]
#[case::steward_did_base64(|w: &Served| format!("/v1/stewards/by-did/{}", escape(&w.a.non_canonical_dids()[1].1)), 400, "invalid_did")]
#[case::steward_did_trailing_char(|w: &Served| format!("/v1/stewards/by-did/{}", escape(&w.a.non_canonical_dids()[2].1)), 400, "invalid_did")]
#[actix_web::test]
async fn lookup_of_a_bad_or_unknown_id_is_refused(
    #[case] uri: fn(&Served) -> String,
    #[case] status: u16,
    #[case] code: &str,
) -> Result<()> {
    let w = Served::new().await?;
    w.gw.refused(&Call::get(uri(&w)), status, code).await?;
    Ok(())
}

#[actix_web::test]
async fn lookups_of_the_fixture_records_succeed() -> Result<()> {
    let w = Served::new().await?;
    let did_a = &w.a.did;
    for uri in [
        "/v1/health".to_string(),
        format!("/v1/enrollments/{}", w.e1),
        format!("/v1/anchors/{}", w.anchor_a),
        format!("/v1/anchors/by-did/{did_a}"),
        format!("/v1/holders/{}", w.anchor_a),
        format!("/v1/holders/by-did/{did_a}"),
        format!("/v1/charters/{}", w.charter),
        "/v1/charters/by-domain/coop:bakers".to_string(),
        "/v1/charters?limit=1".to_string(),
        "/v1/charters?limit=100&org_type=Cooperative&status=Active".to_string(),
        format!("/v1/stewards/{}", w.steward_a),
        format!("/v1/stewards/by-did/{did_a}"),
        "/v1/stewards?limit=100&active=true".to_string(),
    ] {
        w.gw.expect(&Call::get(&uri), 200).await?;
    }
    // The session view never shows the verification code.
    let e = w.gw.expect(&Call::get(format!("/v1/enrollments/{}", w.e0)), 200).await?;
    ensure!(
        e.json.get("verification_code").is_none() && !e.text.contains(&w.code0),
        "GET shows the verification code: {}",
        e.text
    );
    Ok(())
}

#[rstest]
#[case::limit_0("limit=0", "invalid_input")]
#[case::limit_101("limit=101", "invalid_input")]
#[case::limit_negative("limit=-1", "invalid_input")]
#[case::limit_not_a_number("limit=ten", "invalid_input")]
#[case::limit_beyond_u64("limit=99999999999999999999999", "invalid_input")]
#[case::cursor_not_hex("cursor=zz", "invalid_cursor")]
#[case::cursor_empty("cursor=", "invalid_cursor")]
#[case::unknown_parameter("sort=name", "invalid_query")]
#[actix_web::test]
async fn bad_list_query_is_400(
    #[case] query: &str,
    #[case] code: &str,
    #[values("/v1/charters", "/v1/stewards")] list: &str,
) -> Result<()> {
    let w = Served::new().await?;
    w.gw.refused(&Call::get(format!("{list}?{query}")), 400, code).await?;
    Ok(())
}

#[rstest]
#[case::charters_of_unknown_org_type("/v1/charters?org_type=Guild")]
#[case::charters_of_lower_case_org_type("/v1/charters?org_type=cooperative")]
#[case::charters_of_unknown_status("/v1/charters?status=Gone")]
#[case::stewards_active_maybe("/v1/stewards?active=maybe")]
#[case::stewards_active_upper_case("/v1/stewards?active=TRUE")]
#[actix_web::test]
async fn bad_list_filter_is_400_invalid_input(#[case] uri: &str) -> Result<()> {
    let w = Served::new().await?;
    w.gw.refused(&Call::get(uri), 400, "invalid_input").await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// No 500 anywhere.
// ---------------------------------------------------------------------------

/// What a sweep request must get: this 4xx and code, or (`None`) any answer
/// below 500, with the JSON error body when it is a 4xx.
type Expect = Option<(u16, &'static str)>;

/// Requests a careless or hostile client may send, each with what it must get.
fn sweep(w: &Served) -> Vec<(Call, Expect)> {
    let good_env = Signed::Verify.good_envelope(w);
    // The good envelope with one field replaced.
    let spoilt = |field: &str, value: Value| {
        let mut env = serde_json::to_value(&good_env).expect("an envelope is JSON");
        env[field] = value;
        env
    };
    let verify = format!("/v1/enrollments/{}/verify", w.e0);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let huge_hex = "ab".repeat(5_000);
    let mut calls = vec![
        (Call::post("/v1/health").json(&json!({})), Some((405, "method_not_allowed"))),
        (Call::new(Method::DELETE, "/v1/charters"), Some((405, "method_not_allowed"))),
        (Call::new(Method::PUT, format!("/v1/anchors/{}", w.anchor_a)), Some((405, "method_not_allowed"))),
        (Call::get("/v1/nowhere"), Some((404, "not_found"))),
        (Call::get("/v2/health"), Some((404, "not_found"))),
        (Call::get(format!("/v1/anchors/{}", "a".repeat(8_000))), Some((400, "invalid_id"))),
        (Call::get(format!("/v1/anchors/{}", "a".repeat(10_000))), Some((414, "uri_too_long"))),
        (Call::get("/v1/anchors/%ff%fe"), Some((400, "invalid_id"))),
        (Call::get("/v1/enrollments/%00"), Some((400, "invalid_id"))),
        (Call::get("/v1/enrollments/.."), Some((400, "invalid_id"))),
        (Call::get(format!("/v1/anchors/by-did/{}", "z".repeat(8_000))), Some((400, "invalid_did"))),
        (Call::get(format!("/v1/anchors/by-did/{}", "z".repeat(10_000))), Some((414, "uri_too_long"))),
        (Call::get("/v1/anchors/by-did/did:key:z"), Some((400, "invalid_did"))),
        (Call::get("/v1/holders/by-did/%ff"), Some((400, "invalid_did"))),
        (Call::get(format!("/v1/charters/by-domain/coop:{}", "a".repeat(65))), Some((400, "invalid_input"))),
        (Call::get("/v1/charters?limit=%ff"), Some((400, "invalid_input"))),
        (Call::get("/v1/charters?%ff=1"), Some((400, "invalid_query"))),
        (Call::get("/v1/stewards?jurisdiction=coop:bakers&jurisdiction=coop:draft"), Some((400, "invalid_query"))),
        // A well-formed cursor the store never handed out, longer than any key.
        (Call::get(format!("/v1/charters?cursor={huge_hex}")), None),
        (Call::get(format!("/v1/stewards?cursor={huge_hex}")), None),
        (Call::get("/v1/stewards?cursor=00"), None),
        (Call::post(&verify).raw("application/json", deep.clone()), Some((400, "invalid_json"))),
        (Call::post("/v1/enrollments").raw("application/json", deep), Some((400, "invalid_json"))),
        (
            Call::post(&verify).raw("application/json", b"{\"actor\": \"\xff\xfe\"}".to_vec()),
            Some((400, "invalid_json")),
        ),
        (Call::post(&verify).raw("application/json", ""), Some((400, "invalid_json"))),
        (Call::post(&verify).raw("application/json", "null"), Some((401, "invalid_envelope"))),
        (Call::post(&verify).raw("application/json", "\"just a string\""), Some((401, "invalid_envelope"))),
        (
            Call::post(&verify).raw("application/x-www-form-urlencoded", "actor=x&payload=y&signature=z"),
            Some((415, "unsupported_media_type")),
        ),
        (Call::post(&verify).raw("application/json", "actor=x&payload=y&signature=z"), Some((400, "invalid_json"))),
        (
            Call::post(&verify).json(&json!({"actor": good_env.actor, "payload": good_env.payload})),
            Some((401, "invalid_envelope")),
        ),
        (
            Call::post(&verify)
                .json(&json!({"actor": good_env.actor, "payload": good_env.payload, "signature": good_env.signature})),
            Some((401, "invalid_envelope")),
        ),
        (
            Call::post(&verify).json(&spoilt("payload", json!({"verification_code": w.code0}))),
            Some((401, "invalid_envelope")),
        ),
        (Call::post(&verify).json(&spoilt("created", json!(-1))), Some((401, "invalid_envelope"))),
        (Call::post(&verify).json(&spoilt("nonce", json!("short"))), Some((401, "invalid_envelope"))),
        (Call::post(&verify).json(&spoilt("actor", json!(""))), Some((400, "invalid_did"))),
        (Call::post(&verify).json(&spoilt("payload", json!(""))), Some((401, "bad_signature"))),
        (Call::post(&verify).json(&spoilt("expires", json!(good_env.expires + 1))), Some((401, "bad_signature"))),
        (Call::post(&verify).json(&spoilt("signature", json!("0".repeat(128)))), Some((401, "bad_signature"))),
        (Call::post(&verify).json(&spoilt("signature", json!("f".repeat(128)))), Some((401, "bad_signature"))),
        (Call::post(&verify).json(&spoilt("signature", json!("0".repeat(100_000)))), Some((413, "payload_too_large"))),
        (
            Call::post(format!("/v1/enrollments/{}/reject", w.e1)).raw("text/plain", "{}"),
            Some((415, "unsupported_media_type")),
        ),
        (
            Call::post(format!("/v1/enrollments/{}/reject", w.e1)).raw("application/json", "{\"actor\""),
            Some((400, "invalid_json")),
        ),
        (
            Call::post(format!("/v1/enrollments/{}/reject", w.e1)).bearer(TOKEN).raw("application/json", "{\"reason\""),
            Some((400, "invalid_json")),
        ),
        (
            Call::post(format!("/v1/enrollments/{}/reject", w.e1)).bearer(TOKEN).raw("text/plain", "{}"),
            Some((415, "unsupported_media_type")),
        ),
        (
            Call::new(Method::PATCH, format!("/v1/holders/{}", w.anchor_b)).raw("text/plain", "{}"),
            Some((415, "unsupported_media_type")),
        ),
        (
            Call::post("/v1/anchors").bearer(TOKEN).json(&json!({"did": w.x.did, "display_name": "bad\u{0}name"})),
            Some((400, "invalid_input")),
        ),
        (
            Call::post("/v1/stewards").bearer(TOKEN).json(&json!({"did": w.b.did, "term_days": 1e300})),
            Some((400, "invalid_json")),
        ),
    ];
    // Every signed route with an empty JSON object: not an envelope; on a
    // route the operator also takes (reject), no credential at all.
    for route in ALL_SIGNED {
        let target = route.target(w);
        let expect = if route == Signed::Reject { (401, "unauthorized") } else { (401, "invalid_envelope") };
        calls.push((Call::new(route.method(), route.path(&target)).json(&json!({})), Some(expect)));
    }
    calls
}

/// True for requests an operator route handles (`POST /v1/anchors`,
/// `POST /v1/stewards`, or any request carrying a token).
fn is_operator(call: &Call) -> bool {
    call.has_token() || (call.method == Method::POST && ["/v1/anchors", "/v1/stewards"].contains(&call.uri.as_str()))
}

/// Sends a sweep request and checks what it got.
async fn swept(gw: &Gateway, call: &Call, expect: Expect) -> Result<()> {
    match expect {
        Some((status, code)) => gw.refused(call, status, code).await.map(drop),
        None => {
            let before = gw.snapshot()?;
            let reply = gw.send(call).await;
            ensure!(reply.status < 500, "{call:?}: answered {} {}", reply.status, reply.text);
            if reply.status >= 400 {
                let code = reply.json.get("error").and_then(Value::as_str).unwrap_or("").to_string();
                check_error_body(&reply, &code, &format!("{call:?}"))?;
            }
            ensure!(before == gw.snapshot()?, "{call:?}: answered {} but changed the store", reply.status);
            Ok(())
        }
    }
}

#[actix_web::test]
async fn no_request_in_the_sweep_gets_a_500_and_none_changes_the_store() -> Result<()> {
    let w = Served::new().await?;
    let no_token = Gateway::new(w.gw.manager(), None).await;
    let mut failures = Vec::new();
    for (call, expect) in sweep(&w) {
        if let Err(e) = swept(&w.gw, &call, expect).await {
            failures.push(format!("[token] {e:#}"));
        }
        // On a server without a token, operator requests are 403 whatever they carry.
        let expect = if is_operator(&call) { Some((403, "admin_disabled")) } else { expect };
        if let Err(e) = swept(&no_token, &call, expect).await {
            failures.push(format!("[no token] {e:#}"));
        }
    }
    // Operator routes on the no-token server, whatever the body.
    for call in [
        Call::post("/v1/anchors").raw("application/json", "{"),
        Call::post("/v1/stewards").bearer(TOKEN).raw("text/plain", "x"),
        Call::post("/v1/stewards").bearer(TOKEN).json(&json!({"x": "y".repeat(BIG)})),
    ] {
        if let Err(e) = no_token.refused(&call, 403, "admin_disabled").await {
            failures.push(format!("[no token] {e:#}"));
        }
    }
    if !failures.is_empty() {
        bail!("{} request(s) misbehaved:\n{}", failures.len(), failures.join("\n"));
    }
    Ok(())
}
