#![cfg(feature = "gateway")]
//! Requests held to the shape `docs/DOMAIN.md` gives them, in process:
//! before, a field beside those of a tagged enum's kind
//! (`{"target": {"kind": "Holder", "holder_id": .., "extra": 1}}`, also in a
//! revocation's `reason` and an appeal's `kind` and `requested_remedy`) was
//! accepted (201); a JSON array as an operator body was read as the struct
//! (`[]` as `{reason?}`: 200, the anchor suspended); a steward-or-operator
//! route sent neither token nor envelope answered 400 or 401
//! `invalid_envelope` instead of 401 `unauthorized`; a known path with a
//! wrong method was a 404. Every refusal here is checked for its JSON error
//! body and for leaving every row of the store as it was, and each has a
//! control request of the right shape that succeeds.

mod common;

use anyhow::Result;
use common::http::{check_error_body, temporary_manager, Call, Gateway};
use common::keys::Person;
use serde_json::json;

/// A gateway with one bootstrapped principal (anchor and holder, Active) and
/// one enrollment session; returns the gateway, the person, its anchor id
/// (= holder id) and the enrollment id.
async fn commons() -> Result<(Gateway, Person, String, String)> {
    let m = temporary_manager()?;
    let p = Person::new();
    let id = m.bootstrap_anchor(p.did.as_str(), None)?.anchor.anchor_id;
    let enrollment = m.start_enrollment("Quinn".into(), None)?.enrollment_id;
    Ok((Gateway::new(&m, Some(common::http::TOKEN)).await, p, id, enrollment))
}

#[actix_web::test]
async fn revocation_request_enums_refuse_a_field_beside_their_kind() -> Result<()> {
    let (g, _p, id, _) = commons().await?;
    let body = |target: serde_json::Value, reason: serde_json::Value| {
        Call::post("/v1/revocations").operator().json(&json!({"target": target, "reason": reason, "immediate": false}))
    };
    let holder = json!({"kind": "Holder", "holder_id": id});
    let sybil = json!({"kind": "Sybil"});
    g.refuse_all(vec![
        (
            "extra in target",
            body(json!({"kind": "Holder", "holder_id": id, "extra": 1}), sybil.clone()),
            400,
            "invalid_json",
        ),
        (
            "other kind's field",
            body(json!({"kind": "Anchor", "anchor_id": id, "holder_id": id}), sybil.clone()),
            400,
            "invalid_json",
        ),
        (
            "extra beside a data-less reason",
            body(holder.clone(), json!({"kind": "Sybil", "x": 1})),
            400,
            "invalid_json",
        ),
        ("extra in Other", body(holder.clone(), json!({"kind": "Other", "text": "t", "x": 1})), 400, "invalid_json"),
    ])
    .await?;
    let created = g.expect(&body(holder, sybil), 201).await?;
    assert_eq!(created.json["target"], json!({"kind": "Holder", "holder_id": id}));
    assert_eq!(created.json["reason"], json!({"kind": "Sybil"}));
    Ok(())
}

#[actix_web::test]
async fn appeal_file_enums_refuse_a_field_beside_their_kind() -> Result<()> {
    let (g, p, _, _) = commons().await?;
    let file = |kind: serde_json::Value, remedy: serde_json::Value| {
        let payload = json!({"kind": kind, "grounds": "unfair", "requested_remedy": remedy, "jurisdiction": null});
        Call::post("/v1/appeals").signed(&p, "appeal-file", "-", payload)
    };
    let other = json!({"kind": "Other"});
    let none = json!({"kind": "None"});
    g.refuse_all(vec![
        ("extra beside a data-less kind", file(json!({"kind": "Other", "x": 1}), none.clone()), 400, "invalid_payload"),
        (
            "extra in Suspension",
            file(json!({"kind": "Suspension", "reference": "r"}), none.clone()),
            400,
            "invalid_payload",
        ),
        (
            "extra in GovernanceDecision",
            file(json!({"kind": "GovernanceDecision", "reference": "r", "x": 1}), none.clone()),
            400,
            "invalid_payload",
        ),
        (
            "extra beside a data-less remedy",
            file(other.clone(), json!({"kind": "None", "x": 1})),
            400,
            "invalid_payload",
        ),
        (
            "extra in Compensation",
            file(other.clone(), json!({"kind": "Compensation", "amount": 5, "currency": "EUR", "x": 1})),
            400,
            "invalid_payload",
        ),
    ])
    .await?;
    let filed = g.expect(&file(other, json!({"kind": "Compensation", "amount": 5, "currency": "EUR"})), 201).await?;
    assert_eq!(filed.json["kind"], json!({"kind": "Other"}));
    assert_eq!(filed.json["requested_remedy"], json!({"kind": "Compensation", "amount": 5, "currency": "EUR"}));
    Ok(())
}

#[actix_web::test]
async fn a_body_that_is_not_a_json_object_is_refused_on_every_typed_route() -> Result<()> {
    let (g, p, id, enrollment) = commons().await?;
    let holder_route = |tail: &str| format!("/v1/holders/{id}/affiliations/coop:bakers/{tail}");
    let mut rows = Vec::new();
    for (name, call) in [
        ("status route", Call::post(format!("/v1/anchors/{id}/suspend")).operator()),
        ("operator creation", Call::post("/v1/anchors").operator()),
        ("operator_on", Call::post(format!("/v1/stewards/{id}/extend-term")).operator()),
        ("revocation", Call::post("/v1/revocations").operator()),
        ("membership status", Call::post(holder_route("ban")).operator()),
        ("capabilities", Call::put(holder_route("capabilities")).operator()),
        ("operator reject", Call::post(format!("/v1/enrollments/{enrollment}/reject")).operator()),
        ("operator approve", Call::post(holder_route("approve")).operator()),
        ("operator close", Call::post("/v1/amendments/00000000-0000-7000-8000-000000000000/close").operator()),
        ("public start", Call::post("/v1/enrollments")),
    ] {
        for body in [json!([]), json!(["reason"]), json!("x"), json!(7)] {
            rows.push((name, call.clone().json(&body), 400, "invalid_json"));
        }
    }
    g.refuse_all(rows).await?;
    let anchor = g.expect(&Call::get(format!("/v1/anchors/{id}")), 200).await?;
    assert_eq!(anchor.json["status"], json!({"kind": "Active"}), "the array body suspended the anchor");
    let suspended = g.expect(&Call::post(format!("/v1/anchors/{id}/suspend")).operator().json(&json!({})), 200).await?;
    assert_eq!(suspended.json["status"]["kind"], "Suspended");
    assert_eq!(p.did.as_str(), suspended.json["did"]);
    Ok(())
}

#[actix_web::test]
async fn steward_or_operator_route_without_token_or_envelope_is_401_unauthorized() -> Result<()> {
    let (g, _p, id, enrollment) = commons().await?;
    let holder_route = |tail: &str| format!("/v1/holders/{id}/affiliations/coop:bakers/{tail}");
    let mut rows = Vec::new();
    for (name, path) in [
        ("reject", format!("/v1/enrollments/{enrollment}/reject")),
        ("approve", holder_route("approve")),
        ("promote", holder_route("promote")),
        ("open-voting", "/v1/amendments/00000000-0000-7000-8000-000000000000/open-voting".to_string()),
    ] {
        for body in [json!({"reason": "duplicate"}), json!({}), json!([])] {
            rows.push((name, Call::post(path.clone()).json(&body), 401, "unauthorized"));
        }
    }
    g.refuse_all(rows).await?;
    // An envelope-shaped body is judged as an envelope, as before.
    let half =
        Call::post(format!("/v1/enrollments/{enrollment}/reject")).json(&json!({"actor": "x", "signature": "y"}));
    g.refused(&half, 401, "invalid_envelope").await?;
    Ok(())
}

#[actix_web::test]
async fn wrong_method_on_a_known_path_is_405_and_unknown_path_is_404() -> Result<()> {
    let (g, _p, id, _) = commons().await?;
    for call in [
        Call::get(format!("/v1/anchors/{id}/suspend")),
        Call::post("/v1/health"),
        Call::patch("/v1/revocations"),
        Call::put(format!("/v1/anchors/{id}")),
    ] {
        let reply = g.send(&call).await;
        assert_eq!(reply.status, 405, "{call:?}: {}", reply.text);
        check_error_body(&reply, "method_not_allowed", &format!("{call:?}"))?;
    }
    for call in [Call::get("/v1/nowhere"), Call::post("/v2/anchors"), Call::get("/"), Call::get("/v1/anchors/a/b/c/d")]
    {
        let reply = g.send(&call).await;
        assert_eq!(reply.status, 404, "{call:?}: {}", reply.text);
        check_error_body(&reply, "not_found", &format!("{call:?}"))?;
    }
    Ok(())
}
