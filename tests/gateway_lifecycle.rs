#![cfg(feature = "gateway")]
//! The lifecycle routes of the gateway, in process (`actix_web::test`): the
//! status routes of anchors, charters and stewards, the affiliation routes of
//! holders, and the members list of a jurisdiction. Each route is shown to
//! work once; then bad input (no token, wrong state, unknown id, bad status,
//! bad body), one table row per request, must give a JSON
//! `{"error", "message"}` 4xx and leave every row of the store as it was.
//!
//! The commons is built through the manager ([`World`]: five genesis
//! members, genesis 0 and 1 commons-wide stewards, an Active `coop:bakery`);
//! the requests then go through the HTTP app with real signed envelopes.

mod common;

use actix_web::web;
use anyhow::{ensure, Context, Result};
use common::http::{temporary_manager, Call, Gateway, TOKEN};
use common::keys::{unknown_hex_id, Person};
use common::world::{World, DAY};
use commons_gateway::CommonsManager;
use serde_json::{json, Value};

/// The app over one commons, and the world built in it.
struct Fixture {
    gw: Gateway,
    m: web::Data<CommonsManager>,
    w: World,
}

impl Fixture {
    /// A fresh commons and an app with operator token `token`.
    async fn new(token: Option<&str>) -> Result<Self> {
        let m = temporary_manager()?;
        let w = World::build(&m, "bakery", false)?;
        let gw = Gateway::new(&m, token).await;
        Ok(Self { gw, m, w })
    }

    fn anchor_of(&self, p: &Person) -> Result<String> {
        Ok(self.m.anchor_by_did(p.did.as_str())?.anchor.anchor_id)
    }

    /// Bootstraps a new holder through the manager; returns it and its id.
    fn new_holder(&self) -> Result<(Person, String)> {
        let p = Person::new();
        let id = self.m.bootstrap_anchor(p.did.as_str(), None)?.anchor.anchor_id;
        Ok((p, id))
    }
}

/// An operator POST with a JSON body.
fn op_post(uri: impl Into<String>, body: Value) -> Call {
    Call::post(uri).operator().json(&body)
}

/// A POST with a JSON body and no token.
fn post(uri: impl Into<String>, body: Value) -> Call {
    Call::post(uri).json(&body)
}

#[actix_web::test]
async fn anchor_status_routes_work_and_refuse_bad_input() -> Result<()> {
    let s = Fixture::new(Some(TOKEN)).await?;
    let id = s.anchor_of(&s.w.genesis[3])?;
    let base = format!("/v1/anchors/{id}");
    let unknown = unknown_hex_id();
    s.gw.refuse_all(vec![
        ("no token", post(format!("{base}/suspend"), json!({})), 401, "unauthorized"),
        ("wrong token", Call::post(format!("{base}/suspend")).bearer("nope").json(&json!({})), 401, "unauthorized"),
        ("reinstate Active", op_post(format!("{base}/reinstate"), json!({})), 409, "invalid_transition"),
        ("unknown", op_post(format!("/v1/anchors/{unknown}/suspend"), json!({})), 404, "not_found"),
        ("bad id", op_post("/v1/anchors/by-did/suspend", json!({})), 400, "invalid_id"),
        ("unknown field", op_post(format!("{base}/suspend"), json!({"why": "x"})), 400, "invalid_json"),
        ("long", op_post(format!("{base}/suspend"), json!({"reason": "x".repeat(2_001)})), 400, "invalid_input"),
    ])
    .await?;

    let v = s.gw.expect(&op_post(format!("{base}/suspend"), json!({"reason": "check"})), 200).await?.json;
    ensure!(v["status"]["kind"] == "Suspended" && v["status"]["reason"] == "check", "{v}");
    ensure!(v["anchor_id"] == id.as_str() && v.get("pop_level").is_some(), "answers the anchor view: {v}");
    s.gw.refused(&op_post(format!("{base}/suspend"), json!({})), 409, "invalid_transition").await?;
    let v = s.gw.expect(&op_post(format!("{base}/reinstate"), json!({})), 200).await?.json;
    ensure!(v["status"]["kind"] == "Active", "{v}");
    let v = s.gw.expect(&op_post(format!("{base}/revoke"), json!({"reason": "fake"})), 200).await?.json;
    ensure!(v["status"]["kind"] == "Revoked" && v["status"]["reason"] == "fake", "{v}");
    s.gw.refused(&op_post(format!("{base}/revoke"), json!({})), 409, "invalid_transition").await?;
    let holder = s.gw.expect(&Call::get(format!("/v1/holders/{id}")), 200).await?.json;
    ensure!(holder["status"]["kind"] == "Active", "the holder is not changed by the anchor: {holder}");
    Ok(())
}

#[actix_web::test]
async fn charter_status_routes_work_and_refuse_bad_input() -> Result<()> {
    let s = Fixture::new(Some(TOKEN)).await?;
    let base = format!("/v1/charters/{}", s.w.charter_id);
    let unknown = unknown_hex_id();
    s.gw.refuse_all(vec![
        ("no token", post(format!("{base}/suspend"), json!({})), 401, "unauthorized"),
        ("reinstate Active", op_post(format!("{base}/reinstate"), json!({})), 409, "invalid_transition"),
        ("unknown", op_post(format!("/v1/charters/{unknown}/dissolve"), json!({})), 404, "not_found"),
    ])
    .await?;
    let v = s.gw.expect(&op_post(format!("{base}/suspend"), json!({"reason": "audit"})), 200).await?.json;
    ensure!(v["status"]["kind"] == "Suspended" && v["status"]["reason"] == "audit" && v.get("digest").is_some(), "{v}");
    let v = s.gw.expect(&op_post(format!("{base}/reinstate"), json!({})), 200).await?.json;
    ensure!(v["status"]["kind"] == "Active", "{v}");
    let v = s.gw.expect(&op_post(format!("{base}/dissolve"), json!({"reason": "wound up"})), 200).await?.json;
    ensure!(v["status"]["kind"] == "Dissolved", "{v}");
    for verb in ["suspend", "reinstate", "dissolve"] {
        s.gw.refused(&op_post(format!("{base}/{verb}"), json!({})), 409, "invalid_transition").await.context(verb)?;
    }
    Ok(())
}

#[actix_web::test]
async fn steward_status_routes_work_and_refuse_bad_input() -> Result<()> {
    let s = Fixture::new(Some(TOKEN)).await?;
    let sid = s.m.steward_by_did(s.w.stewards[0].did.as_str())?.steward.steward_id;
    let base = format!("/v1/stewards/{sid}");
    let term_end = s.m.steward(&sid)?.steward.term_end;
    let unknown = unknown_hex_id();
    s.gw.refuse_all(vec![
        ("no token", post(format!("{base}/suspend"), json!({})), 401, "unauthorized"),
        ("no token", post(format!("{base}/extend-term"), json!({"term_end": 1})), 401, "unauthorized"),
        ("reinstate Active", op_post(format!("{base}/reinstate"), json!({})), 409, "invalid_transition"),
        ("unknown", op_post(format!("/v1/stewards/{unknown}/retire"), json!({})), 404, "not_found"),
        ("same end", op_post(format!("{base}/extend-term"), json!({"term_end": term_end})), 400, "invalid_input"),
        ("no term_end", op_post(format!("{base}/extend-term"), json!({})), 400, "invalid_json"),
    ])
    .await?;

    let v = s.gw.expect(&op_post(format!("{base}/suspend"), json!({"reason": "complaint"})), 200).await?.json;
    ensure!(v["status"]["kind"] == "Suspended" && v["can_attest"] == false, "{v}");
    let v = s.gw.expect(&op_post(format!("{base}/reinstate"), json!({})), 200).await?.json;
    ensure!(v["status"]["kind"] == "Active" && v["can_attest"] == true, "{v}");
    let extend = op_post(format!("{base}/extend-term"), json!({"term_end": term_end + DAY}));
    let v = s.gw.expect(&extend, 200).await?.json;
    ensure!(v["term_end"] == term_end + DAY, "{v}");
    let v = s.gw.expect(&op_post(format!("{base}/retire"), json!({})), 200).await?.json;
    ensure!(v["status"]["kind"] == "Retired", "{v}");
    s.gw.refused(&op_post(format!("{base}/revoke"), json!({})), 409, "invalid_transition").await?;

    let other = s.m.steward_by_did(s.w.stewards[1].did.as_str())?.steward.steward_id;
    let v = s.gw.expect(&op_post(format!("/v1/stewards/{other}/revoke"), json!({"reason": "fraud"})), 200).await?.json;
    ensure!(v["status"]["kind"] == "Revoked" && v["status"]["reason"] == "fraud", "{v}");
    Ok(())
}

#[actix_web::test]
async fn affiliation_routes_take_a_holder_through_its_lifecycle() -> Result<()> {
    let s = Fixture::new(Some(TOKEN)).await?;
    let d = s.w.domain.clone();
    let j = json!({"jurisdiction": d});
    let (p, id) = s.new_holder()?;
    let steward = &s.w.stewards[1];
    let aff = format!("/v1/holders/{id}/affiliations");
    let status_of = |v: &Value| v["affiliations"][0]["status"].as_str().unwrap_or("").to_string();

    let v = s.gw.expect(&Call::post(&aff).signed(&p, "affiliation-apply", &id, &j), 201).await?.json;
    ensure!(status_of(&v) == "Candidate" && v.get("baseline_rights").is_some(), "answers the holder view: {v}");
    let list = s.gw.expect(&Call::get(&aff), 200).await?.json;
    ensure!(list["items"][0]["jurisdiction"] == d.as_str() && list["next_cursor"].is_null(), "{list}");

    let approve = Call::post(format!("{aff}/{d}/approve")).signed(steward, "affiliation-approve", &id, &j);
    let v = s.gw.expect(&approve, 200).await?.json;
    ensure!(status_of(&v) == "Provisional", "approve (steward): {v}");
    let v = s.gw.expect(&op_post(format!("{aff}/{d}/promote"), json!({})), 200).await?.json;
    ensure!(status_of(&v) == "Member", "promote (operator): {v}");
    let caps =
        Call::put(format!("{aff}/{d}/capabilities")).operator().json(&json!({"capabilities": ["Vote", "Propose"]}));
    let v = s.gw.expect(&caps, 200).await?.json;
    ensure!(v["affiliations"][0]["capabilities"] == json!(["Vote", "Propose"]), "{v}");
    let v = s.gw.expect(&op_post(format!("{aff}/{d}/suspend"), json!({"reason": "dues"})), 200).await?.json;
    ensure!(status_of(&v) == "Suspended", "{v}");
    let v = s.gw.expect(&op_post(format!("{aff}/{d}/reinstate"), json!({})), 200).await?.json;
    ensure!(status_of(&v) == "Member", "{v}");
    let leave = Call::post(format!("{aff}/{d}/leave")).signed(&p, "affiliation-leave", &id, &j);
    let v = s.gw.expect(&leave, 200).await?.json;
    ensure!(status_of(&v) == "Exited" && v["affiliations"][0]["capabilities"] == json!([]), "{v}");
    let v = s.gw.expect(&op_post(format!("{aff}/{d}/ban"), json!({"reason": "fraud"})), 200).await?.json;
    ensure!(status_of(&v) == "Banned", "{v}");
    let again = Call::post(&aff).signed(&p, "affiliation-apply", &id, &j);
    s.gw.refused(&again, 409, "invalid_transition").await.context("Banned applies again")?;

    // The other pair: approve by the operator, promote by a steward's signature.
    let (q, qid) = s.new_holder()?;
    let qaff = format!("/v1/holders/{qid}/affiliations");
    s.gw.expect(&Call::post(&qaff).signed(&q, "affiliation-apply", &qid, &j), 201).await?;
    let v = s.gw.expect(&op_post(format!("{qaff}/{d}/approve"), json!({"reason": "ok"})), 200).await?.json;
    ensure!(status_of(&v) == "Provisional", "approve (operator): {v}");
    let promote = Call::post(format!("{qaff}/{d}/promote")).signed(steward, "affiliation-promote", &qid, &j);
    let v = s.gw.expect(&promote, 200).await?.json;
    ensure!(status_of(&v) == "Member", "promote (steward): {v}");
    Ok(())
}

#[actix_web::test]
async fn affiliation_routes_refuse_bad_input_and_change_nothing() -> Result<()> {
    let s = Fixture::new(Some(TOKEN)).await?;
    let d = s.w.domain.clone();
    let j = json!({"jurisdiction": d});
    let (p, id) = s.new_holder()?;
    let aff = format!("/v1/holders/{id}/affiliations");
    let apply = |payload: Value| Call::post(&aff).signed(&p, "affiliation-apply", &id, &payload);
    let other = unknown_hex_id();
    let mut spoilt = serde_json::to_value(p.envelope("affiliation-apply", &id, &j))?;
    spoilt["payload"] = json!(json!({"jurisdiction": "coop:other"}).to_string());

    // Apply.
    s.gw.refuse_all(vec![
        ("payload changed after signing", Call::post(&aff).json(&spoilt), 401, "bad_signature"),
        ("another action's signature", Call::post(&aff).signed(&p, "affiliation-leave", &id, &j), 401, "bad_signature"),
        ("unknown charter", apply(json!({"jurisdiction": "coop:nowhere"})), 404, "not_found"),
        ("bad domain", apply(json!({"jurisdiction": "Not A Domain"})), 400, "invalid_input"),
        ("unknown payload field", apply(json!({"jurisdiction": d, "extra": 1})), 400, "invalid_payload"),
        (
            "unknown holder",
            Call::post(format!("/v1/holders/{other}/affiliations")).signed(&p, "affiliation-apply", &other, &j),
            404,
            "not_found",
        ),
        (
            "signed by someone else",
            Call::post(&aff).signed(&s.w.genesis[3], "affiliation-apply", &id, &j),
            403,
            "forbidden",
        ),
        ("unknown", Call::get(format!("/v1/holders/{other}/affiliations")), 404, "not_found"),
    ])
    .await?;
    s.gw.expect(&apply(j.clone()), 201).await?;

    let steward = &s.w.stewards[1];
    let verb = |verb: &str| Call::post(format!("{aff}/{d}/{verb}"));
    let caps = || Call::put(format!("{aff}/{d}/capabilities"));
    s.gw.refuse_all(vec![
        // Approve / promote.
        (
            "payload jurisdiction is not the route's",
            verb("approve").signed(steward, "affiliation-approve", &id, json!({"jurisdiction": "coop:x"})),
            400,
            "invalid_input",
        ),
        ("not a steward", verb("approve").signed(&s.w.genesis[4], "affiliation-approve", &id, &j), 403, "forbidden"),
        (
            "promote a Candidate",
            verb("promote").signed(steward, "affiliation-promote", &id, &j),
            409,
            "invalid_transition",
        ),
        ("op promotes Candidate", verb("promote").operator().json(&json!({})), 409, "invalid_transition"),
        ("wrong token on approve", verb("approve").bearer("nope").json(&json!({})), 401, "unauthorized"),
        ("no envelope, no token", verb("approve").json(&json!({})), 401, "unauthorized"),
        ("unknown charter", op_post(format!("{aff}/coop:nowhere/approve"), json!({})), 404, "not_found"),
        // Operator-only routes.
        ("suspend", verb("suspend").json(&json!({})), 401, "unauthorized"),
        ("reinstate", verb("reinstate").json(&json!({})), 401, "unauthorized"),
        ("ban", verb("ban").json(&json!({})), 401, "unauthorized"),
        ("suspend Candidate", verb("suspend").operator().json(&json!({})), 409, "invalid_transition"),
        ("no such affiliation", op_post(format!("{aff}/coop:elsewhere/ban"), json!({})), 404, "not_found"),
        ("capabilities, no token", caps().json(&json!({"capabilities": ["Vote"]})), 401, "unauthorized"),
        (
            "capabilities on Candidate",
            caps().operator().json(&json!({"capabilities": ["Vote"]})),
            409,
            "invalid_transition",
        ),
        ("unknown capability", caps().operator().json(&json!({"capabilities": ["Fly"]})), 400, "invalid_json"),
        // Leave.
        ("leave signed by someone else", verb("leave").signed(steward, "affiliation-leave", &id, &j), 403, "forbidden"),
        (
            "leave payload names another jurisdiction",
            verb("leave").signed(&p, "affiliation-leave", &id, json!({"jurisdiction": "coop:x"})),
            400,
            "invalid_input",
        ),
    ])
    .await
}

#[actix_web::test]
async fn members_route_pages_filters_and_refuses_bad_input() -> Result<()> {
    let s = Fixture::new(Some(TOKEN)).await?;
    let d = s.w.domain.clone();
    let mut ids = Vec::new();
    for i in 0..5 {
        let (p, id) = s.new_holder()?;
        let apply = Call::post(format!("/v1/holders/{id}/affiliations")).signed(
            &p,
            "affiliation-apply",
            &id,
            json!({"jurisdiction": d}),
        );
        s.gw.expect(&apply, 201).await?;
        if i < 2 {
            s.m.approve_affiliation_by_operator(&id, &d, None)?;
        }
        ids.push(id);
    }
    let mut sorted = ids.clone();
    sorted.sort();

    let base = format!("/v1/jurisdictions/{d}/members");
    let mut seen = Vec::new();
    let mut uri = format!("{base}?limit=2");
    for _ in 0..10 {
        let page = s.gw.expect(&Call::get(&uri), 200).await?.json;
        let items = page["items"].as_array().context("items")?;
        ensure!(items.len() <= 2, "{page}");
        for h in items {
            ensure!(h.get("baseline_rights").is_some(), "items are holder views: {h}");
            seen.push(h["holder_id"].as_str().context("holder_id")?.to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("{base}?limit=2&cursor={c}"),
            None => break,
        }
    }
    ensure!(seen == sorted, "every member once, in id order: {seen:?} vs {sorted:?}");
    let page = s.gw.expect(&Call::get(format!("{base}?status=Provisional")), 200).await?.json;
    let mut approved: Vec<&str> = ids[..2].iter().map(String::as_str).collect();
    approved.sort();
    let got: Vec<&str> =
        page["items"].as_array().context("items")?.iter().filter_map(|h| h["holder_id"].as_str()).collect();
    ensure!(got == approved, "{page}");
    let encoded = s.gw.expect(&Call::get("/v1/jurisdictions/coop%3Abakery/members?status=Candidate"), 200).await?.json;
    ensure!(encoded["items"].as_array().map(Vec::len) == Some(3), "{encoded}");

    s.gw.refuse_all(vec![
        ("bad status", Call::get(format!("{base}?status=member")), 400, "invalid_input"),
        ("limit 0", Call::get(format!("{base}?limit=0")), 400, "invalid_input"),
        ("limit 101", Call::get(format!("{base}?limit=101")), 400, "invalid_input"),
        ("bad cursor", Call::get(format!("{base}?cursor=zz")), 400, "invalid_cursor"),
        ("unknown parameter", Call::get(format!("{base}?sort=asc")), 400, "invalid_query"),
        ("unknown", Call::get("/v1/jurisdictions/coop:nowhere/members"), 404, "not_found"),
        ("bad domain", Call::get("/v1/jurisdictions/guild:x/members"), 400, "invalid_input"),
    ])
    .await
}

#[actix_web::test]
async fn operator_lifecycle_routes_are_disabled_without_a_configured_token() -> Result<()> {
    let s = Fixture::new(None).await?;
    let id = s.anchor_of(&s.w.genesis[3])?;
    s.gw.refuse_all(vec![
        ("anchor", op_post(format!("/v1/anchors/{id}/suspend"), json!({})), 403, "admin_disabled"),
        ("ban", op_post(format!("/v1/holders/{id}/affiliations/{}/ban", s.w.domain), json!({})), 403, "admin_disabled"),
    ])
    .await
}
