#![cfg(feature = "gateway")]
//! The lifecycle routes of the gateway, in process (`actix_web::test`): the
//! status routes of anchors, charters and stewards, the affiliation routes of
//! holders, and the members list of a jurisdiction. Each route is shown to
//! work once; then bad input (no token, wrong state, unknown id, bad status,
//! bad body) must give a JSON `{"error", "message"}` 4xx and leave every row of
//! the store as it was.
//!
//! The commons is built through the manager ([`scenario::World`]: five genesis
//! members, genesis 0 and 1 commons-wide stewards, an Active `coop:bakery`);
//! the requests then go through the HTTP app with real signed envelopes.

mod common;
mod scenario;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::dev::Service;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::test::{self, TestRequest};
use actix_web::{web, App};
use anyhow::{ensure, Context, Result};
use commons_gateway::gateway::{configure, AdminToken};
use commons_gateway::{CommonsManager, CommonsStoreBackend, SignedEnvelope, StoreConfig};
use serde_json::{json, Value};

use common::{envelope, unknown_hex_id};
use scenario::{Person, World};

const TOKEN: &str = "lifecycle-operator-token";

/// What the gateway answered.
#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: String,
    json: Value,
    text: String,
}

type Responder = Rc<dyn Fn(TestRequest) -> Pin<Box<dyn Future<Output = Reply>>>>;

/// The app over one manager, plus the world built in it.
struct Gw {
    send: Responder,
    m: web::Data<CommonsManager>,
    w: World,
}

impl Gw {
    /// A fresh commons and an app with operator token `token`.
    async fn new(token: Option<&str>) -> Result<Self> {
        let m = web::Data::new(CommonsManager::temporary(&StoreConfig::default())?);
        let w = World::build(&m, "bakery", false)?;
        let token = web::Data::new(AdminToken::new(token.map(str::to_string)));
        let app =
            Rc::new(test::init_service(App::new().app_data(m.clone()).app_data(token).configure(configure)).await);
        let send: Responder = Rc::new(move |req: TestRequest| {
            let app = app.clone();
            Box::pin(async move {
                let resp = match app.call(req.to_request()).await {
                    Ok(r) => r.map_into_boxed_body().into_parts().1,
                    Err(e) => e.error_response(),
                };
                let status = resp.status().as_u16();
                let content_type =
                    resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let bytes = actix_web::body::to_bytes(resp.into_body()).await.unwrap_or_default();
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                Reply { status, content_type, json, text }
            }) as Pin<Box<dyn Future<Output = Reply>>>
        });
        Ok(Self { send, m, w })
    }

    fn snapshot(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self.m.store().backend().scan(b"")?)
    }

    /// Sends `req` and checks the status.
    async fn expect(&self, req: TestRequest, status: u16, what: &str) -> Result<Value> {
        let r = (self.send)(req).await;
        ensure!(r.status == status, "{what}: expected {status}, got {} {}", r.status, r.text);
        Ok(r.json)
    }

    /// Sends `req`; it must be refused with `status` and `code` as a JSON
    /// error body, and no row of the store may change.
    async fn refused(&self, req: TestRequest, status: u16, code: &str, what: &str) -> Result<()> {
        let before = self.snapshot()?;
        let r = (self.send)(req).await;
        ensure!(r.status == status, "{what}: expected {status} {code}, got {} {}", r.status, r.text);
        ensure!(r.content_type.starts_with("application/json"), "{what}: content type {:?}", r.content_type);
        let obj = r.json.as_object().with_context(|| format!("{what}: not a JSON object: {}", r.text))?;
        ensure!(obj.get("error").and_then(Value::as_str) == Some(code), "{what}: expected {code}, got {}", r.text);
        ensure!(
            obj.get("message").and_then(Value::as_str).is_some_and(|m| !m.trim().is_empty()) && obj.len() == 2,
            "{what}: error body is not {{error, message}}: {}",
            r.text
        );
        ensure!(self.snapshot()? == before, "{what}: refused with {status}, but the store changed");
        Ok(())
    }

    fn anchor_of(&self, p: &Person) -> Result<String> {
        Ok(self.m.anchor_by_did(p.did.as_str())?.anchor.anchor_id)
    }
}

/// An operator POST with a JSON body.
fn op_post(uri: &str, body: Value) -> TestRequest {
    TestRequest::post().uri(uri).insert_header(("authorization", format!("Bearer {TOKEN}"))).set_json(body)
}

/// A POST (or PUT) with a JSON body and no token.
fn post(uri: &str, body: Value) -> TestRequest {
    TestRequest::post().uri(uri).set_json(body)
}

/// A signed envelope as a request body.
fn signed(p: &Person, action: &str, target: &str, payload: Value) -> Value {
    let env: SignedEnvelope = envelope(&p.key, action, target, &payload.to_string());
    serde_json::to_value(env).unwrap_or(Value::Null)
}

/// Bootstraps a new holder through the manager; returns it and its id.
fn new_holder(gw: &Gw) -> Result<(Person, String)> {
    let p = Person::new();
    let id = gw.m.bootstrap_anchor(p.did.as_str(), None)?.anchor.anchor_id;
    Ok((p, id))
}

#[actix_web::test]
async fn anchor_status_routes_work_and_refuse_bad_input() -> Result<()> {
    let gw = Gw::new(Some(TOKEN)).await?;
    let id = gw.anchor_of(&gw.w.genesis[3])?;
    let base = format!("/v1/anchors/{id}");

    gw.refused(post(&format!("{base}/suspend"), json!({})), 401, "unauthorized", "no token").await?;
    let wrong = TestRequest::post()
        .uri(&format!("{base}/suspend"))
        .insert_header(("authorization", "Bearer nope"))
        .set_json(json!({}));
    gw.refused(wrong, 401, "unauthorized", "wrong token").await?;
    gw.refused(op_post(&format!("{base}/reinstate"), json!({})), 409, "invalid_transition", "reinstate Active").await?;
    gw.refused(op_post(&format!("/v1/anchors/{}/suspend", unknown_hex_id()), json!({})), 404, "not_found", "unknown")
        .await?;
    gw.refused(op_post("/v1/anchors/by-did/suspend", json!({})), 400, "invalid_id", "bad id").await?;
    gw.refused(op_post(&format!("{base}/suspend"), json!({"why": "x"})), 400, "invalid_json", "unknown field").await?;
    gw.refused(op_post(&format!("{base}/suspend"), json!({"reason": "x".repeat(2_001)})), 400, "invalid_input", "long")
        .await?;

    let v = gw.expect(op_post(&format!("{base}/suspend"), json!({"reason": "check"})), 200, "suspend").await?;
    ensure!(v["status"]["kind"] == "Suspended" && v["status"]["reason"] == "check", "{v}");
    ensure!(v["anchor_id"] == id.as_str() && v.get("pop_level").is_some(), "answers the anchor view: {v}");
    gw.refused(op_post(&format!("{base}/suspend"), json!({})), 409, "invalid_transition", "suspend twice").await?;
    let v = gw.expect(op_post(&format!("{base}/reinstate"), json!({})), 200, "reinstate").await?;
    ensure!(v["status"]["kind"] == "Active", "{v}");
    let v = gw.expect(op_post(&format!("{base}/revoke"), json!({"reason": "fake"})), 200, "revoke").await?;
    ensure!(v["status"]["kind"] == "Revoked" && v["status"]["reason"] == "fake", "{v}");
    gw.refused(op_post(&format!("{base}/revoke"), json!({})), 409, "invalid_transition", "revoke twice").await?;
    let holder = gw.expect(TestRequest::get().uri(&format!("/v1/holders/{id}")), 200, "holder").await?;
    ensure!(holder["status"]["kind"] == "Active", "the holder is not changed by the anchor: {holder}");
    Ok(())
}

#[actix_web::test]
async fn charter_status_routes_work_and_refuse_bad_input() -> Result<()> {
    let gw = Gw::new(Some(TOKEN)).await?;
    let base = format!("/v1/charters/{}", gw.w.charter_id);
    gw.refused(post(&format!("{base}/suspend"), json!({})), 401, "unauthorized", "no token").await?;
    gw.refused(op_post(&format!("{base}/reinstate"), json!({})), 409, "invalid_transition", "reinstate Active").await?;
    gw.refused(op_post(&format!("/v1/charters/{}/dissolve", unknown_hex_id()), json!({})), 404, "not_found", "unknown")
        .await?;
    let v = gw.expect(op_post(&format!("{base}/suspend"), json!({"reason": "audit"})), 200, "suspend").await?;
    ensure!(v["status"]["kind"] == "Suspended" && v["status"]["reason"] == "audit" && v.get("digest").is_some(), "{v}");
    let v = gw.expect(op_post(&format!("{base}/reinstate"), json!({})), 200, "reinstate").await?;
    ensure!(v["status"]["kind"] == "Active", "{v}");
    let v = gw.expect(op_post(&format!("{base}/dissolve"), json!({"reason": "wound up"})), 200, "dissolve").await?;
    ensure!(v["status"]["kind"] == "Dissolved", "{v}");
    for verb in ["suspend", "reinstate", "dissolve"] {
        gw.refused(op_post(&format!("{base}/{verb}"), json!({})), 409, "invalid_transition", verb).await?;
    }
    Ok(())
}

#[actix_web::test]
async fn steward_status_routes_work_and_refuse_bad_input() -> Result<()> {
    let gw = Gw::new(Some(TOKEN)).await?;
    let sid = gw.m.steward_by_did(gw.w.stewards[0].did.as_str())?.steward.steward_id;
    let base = format!("/v1/stewards/{sid}");
    gw.refused(post(&format!("{base}/suspend"), json!({})), 401, "unauthorized", "no token").await?;
    gw.refused(post(&format!("{base}/extend-term"), json!({"term_end": 1})), 401, "unauthorized", "no token").await?;
    gw.refused(op_post(&format!("{base}/reinstate"), json!({})), 409, "invalid_transition", "reinstate Active").await?;
    gw.refused(op_post(&format!("/v1/stewards/{}/retire", unknown_hex_id()), json!({})), 404, "not_found", "unknown")
        .await?;
    let term_end = gw.m.steward(&sid)?.steward.term_end;
    gw.refused(
        op_post(&format!("{base}/extend-term"), json!({"term_end": term_end})),
        400,
        "invalid_input",
        "same end",
    )
    .await?;
    gw.refused(op_post(&format!("{base}/extend-term"), json!({})), 400, "invalid_json", "no term_end").await?;

    let v = gw.expect(op_post(&format!("{base}/suspend"), json!({"reason": "complaint"})), 200, "suspend").await?;
    ensure!(v["status"]["kind"] == "Suspended" && v["can_attest"] == false, "{v}");
    let v = gw.expect(op_post(&format!("{base}/reinstate"), json!({})), 200, "reinstate").await?;
    ensure!(v["status"]["kind"] == "Active" && v["can_attest"] == true, "{v}");
    let v = gw
        .expect(op_post(&format!("{base}/extend-term"), json!({"term_end": term_end + 86_400})), 200, "extend-term")
        .await?;
    ensure!(v["term_end"] == term_end + 86_400, "{v}");
    let v = gw.expect(op_post(&format!("{base}/retire"), json!({})), 200, "retire").await?;
    ensure!(v["status"]["kind"] == "Retired", "{v}");
    gw.refused(op_post(&format!("{base}/revoke"), json!({})), 409, "invalid_transition", "revoke Retired").await?;

    let other = gw.m.steward_by_did(gw.w.stewards[1].did.as_str())?.steward.steward_id;
    let v =
        gw.expect(op_post(&format!("/v1/stewards/{other}/revoke"), json!({"reason": "fraud"})), 200, "revoke").await?;
    ensure!(v["status"]["kind"] == "Revoked" && v["status"]["reason"] == "fraud", "{v}");
    Ok(())
}

#[actix_web::test]
async fn affiliation_routes_take_a_holder_through_its_lifecycle() -> Result<()> {
    let gw = Gw::new(Some(TOKEN)).await?;
    let d = gw.w.domain.clone();
    let (p, id) = new_holder(&gw)?;
    let steward = &gw.w.stewards[1];
    let aff = format!("/v1/holders/{id}/affiliations");
    let status_of = |v: &Value| v["affiliations"][0]["status"].as_str().unwrap_or("").to_string();

    let v =
        gw.expect(post(&aff, signed(&p, "affiliation-apply", &id, json!({"jurisdiction": d}))), 201, "apply").await?;
    ensure!(status_of(&v) == "Candidate" && v.get("baseline_rights").is_some(), "answers the holder view: {v}");
    let list = gw.expect(TestRequest::get().uri(&aff), 200, "affiliations").await?;
    ensure!(list["items"][0]["jurisdiction"] == d.as_str() && list["next_cursor"].is_null(), "{list}");

    let v = gw
        .expect(
            post(
                &format!("{aff}/{d}/approve"),
                signed(steward, "affiliation-approve", &id, json!({"jurisdiction": d})),
            ),
            200,
            "approve (steward)",
        )
        .await?;
    ensure!(status_of(&v) == "Provisional", "{v}");
    let v = gw.expect(op_post(&format!("{aff}/{d}/promote"), json!({})), 200, "promote (operator)").await?;
    ensure!(status_of(&v) == "Member", "{v}");
    let caps = TestRequest::put()
        .uri(&format!("{aff}/{d}/capabilities"))
        .insert_header(("authorization", format!("Bearer {TOKEN}")))
        .set_json(json!({"capabilities": ["Vote", "Propose"]}));
    let v = gw.expect(caps, 200, "capabilities").await?;
    ensure!(v["affiliations"][0]["capabilities"] == json!(["Vote", "Propose"]), "{v}");
    let v = gw.expect(op_post(&format!("{aff}/{d}/suspend"), json!({"reason": "dues"})), 200, "suspend").await?;
    ensure!(status_of(&v) == "Suspended", "{v}");
    let v = gw.expect(op_post(&format!("{aff}/{d}/reinstate"), json!({})), 200, "reinstate").await?;
    ensure!(status_of(&v) == "Member", "{v}");
    let v = gw
        .expect(
            post(&format!("{aff}/{d}/leave"), signed(&p, "affiliation-leave", &id, json!({"jurisdiction": d}))),
            200,
            "leave",
        )
        .await?;
    ensure!(status_of(&v) == "Exited" && v["affiliations"][0]["capabilities"] == json!([]), "{v}");
    let v = gw.expect(op_post(&format!("{aff}/{d}/ban"), json!({"reason": "fraud"})), 200, "ban").await?;
    ensure!(status_of(&v) == "Banned", "{v}");
    gw.refused(
        post(&aff, signed(&p, "affiliation-apply", &id, json!({"jurisdiction": d}))),
        409,
        "invalid_transition",
        "Banned applies again",
    )
    .await?;

    // The other pair: approve by the operator, promote by a steward's signature.
    let (q, qid) = new_holder(&gw)?;
    let qaff = format!("/v1/holders/{qid}/affiliations");
    gw.expect(post(&qaff, signed(&q, "affiliation-apply", &qid, json!({"jurisdiction": d}))), 201, "apply").await?;
    let v = gw.expect(op_post(&format!("{qaff}/{d}/approve"), json!({"reason": "ok"})), 200, "approve (op)").await?;
    ensure!(status_of(&v) == "Provisional", "{v}");
    let v = gw
        .expect(
            post(
                &format!("{qaff}/{d}/promote"),
                signed(steward, "affiliation-promote", &qid, json!({"jurisdiction": d})),
            ),
            200,
            "promote (steward)",
        )
        .await?;
    ensure!(status_of(&v) == "Member", "{v}");
    Ok(())
}

#[actix_web::test]
async fn affiliation_routes_refuse_bad_input_and_change_nothing() -> Result<()> {
    let gw = Gw::new(Some(TOKEN)).await?;
    let d = gw.w.domain.clone();
    let (p, id) = new_holder(&gw)?;
    let aff = format!("/v1/holders/{id}/affiliations");
    let apply = |payload: Value| post(&aff, signed(&p, "affiliation-apply", &id, payload));

    // Apply.
    let mut spoilt = signed(&p, "affiliation-apply", &id, json!({"jurisdiction": d}));
    spoilt["payload"] = json!(json!({"jurisdiction": "coop:other"}).to_string());
    gw.refused(post(&aff, spoilt), 401, "bad_signature", "payload changed after signing").await?;
    gw.refused(
        post(&aff, signed(&p, "affiliation-leave", &id, json!({"jurisdiction": d}))),
        401,
        "bad_signature",
        "another action's signature",
    )
    .await?;
    gw.refused(apply(json!({"jurisdiction": "coop:nowhere"})), 404, "not_found", "unknown charter").await?;
    gw.refused(apply(json!({"jurisdiction": "Not A Domain"})), 400, "invalid_input", "bad domain").await?;
    gw.refused(apply(json!({"jurisdiction": d, "extra": 1})), 400, "invalid_payload", "unknown payload field").await?;
    let other = unknown_hex_id();
    gw.refused(
        post(
            &format!("/v1/holders/{other}/affiliations"),
            signed(&p, "affiliation-apply", &other, json!({"jurisdiction": d})),
        ),
        404,
        "not_found",
        "unknown holder",
    )
    .await?;
    gw.refused(
        post(&aff, signed(&gw.w.genesis[3], "affiliation-apply", &id, json!({"jurisdiction": d}))),
        403,
        "forbidden",
        "signed by someone else",
    )
    .await?;
    gw.refused(TestRequest::get().uri(&format!("/v1/holders/{other}/affiliations")), 404, "not_found", "unknown")
        .await?;
    gw.expect(apply(json!({"jurisdiction": d})), 201, "apply").await?;

    // Approve / promote.
    let steward = &gw.w.stewards[1];
    gw.refused(
        post(
            &format!("{aff}/{d}/approve"),
            signed(steward, "affiliation-approve", &id, json!({"jurisdiction": "coop:x"})),
        ),
        400,
        "invalid_input",
        "payload jurisdiction is not the route's",
    )
    .await?;
    gw.refused(
        post(
            &format!("{aff}/{d}/approve"),
            signed(&gw.w.genesis[4], "affiliation-approve", &id, json!({"jurisdiction": d})),
        ),
        403,
        "forbidden",
        "not a steward",
    )
    .await?;
    gw.refused(
        post(&format!("{aff}/{d}/promote"), signed(steward, "affiliation-promote", &id, json!({"jurisdiction": d}))),
        409,
        "invalid_transition",
        "promote a Candidate",
    )
    .await?;
    gw.refused(op_post(&format!("{aff}/{d}/promote"), json!({})), 409, "invalid_transition", "op promotes Candidate")
        .await?;
    let wrong = TestRequest::post()
        .uri(&format!("{aff}/{d}/approve"))
        .insert_header(("authorization", "Bearer nope"))
        .set_json(json!({}));
    gw.refused(wrong, 401, "unauthorized", "wrong token on approve").await?;
    gw.refused(post(&format!("{aff}/{d}/approve"), json!({})), 400, "invalid_json", "no envelope, no token").await?;
    gw.refused(op_post(&format!("{aff}/coop:nowhere/approve"), json!({})), 404, "not_found", "unknown charter").await?;

    // Operator-only routes.
    for verb in ["suspend", "reinstate", "ban"] {
        gw.refused(post(&format!("{aff}/{d}/{verb}"), json!({})), 401, "unauthorized", verb).await?;
    }
    gw.refused(op_post(&format!("{aff}/{d}/suspend"), json!({})), 409, "invalid_transition", "suspend Candidate")
        .await?;
    gw.refused(op_post(&format!("{aff}/coop:elsewhere/ban"), json!({})), 404, "not_found", "no such affiliation")
        .await?;
    let caps = |body: Value, token: bool| {
        let r = TestRequest::put().uri(&format!("{aff}/{d}/capabilities")).set_json(body);
        if token {
            r.insert_header(("authorization", format!("Bearer {TOKEN}")))
        } else {
            r
        }
    };
    gw.refused(caps(json!({"capabilities": ["Vote"]}), false), 401, "unauthorized", "capabilities, no token").await?;
    gw.refused(caps(json!({"capabilities": ["Vote"]}), true), 409, "invalid_transition", "capabilities on Candidate")
        .await?;
    gw.refused(caps(json!({"capabilities": ["Fly"]}), true), 400, "invalid_json", "unknown capability").await?;

    // Leave.
    gw.refused(
        post(&format!("{aff}/{d}/leave"), signed(steward, "affiliation-leave", &id, json!({"jurisdiction": d}))),
        403,
        "forbidden",
        "leave signed by someone else",
    )
    .await?;
    gw.refused(
        post(&format!("{aff}/{d}/leave"), signed(&p, "affiliation-leave", &id, json!({"jurisdiction": "coop:x"}))),
        400,
        "invalid_input",
        "leave payload names another jurisdiction",
    )
    .await?;
    Ok(())
}

#[actix_web::test]
async fn members_route_pages_filters_and_refuses_bad_input() -> Result<()> {
    let gw = Gw::new(Some(TOKEN)).await?;
    let d = gw.w.domain.clone();
    let mut ids = Vec::new();
    for i in 0..5 {
        let (p, id) = new_holder(&gw)?;
        gw.expect(
            post(
                &format!("/v1/holders/{id}/affiliations"),
                signed(&p, "affiliation-apply", &id, json!({"jurisdiction": d})),
            ),
            201,
            "apply",
        )
        .await?;
        if i < 2 {
            gw.m.approve_affiliation_by_operator(&id, &d, None)?;
        }
        ids.push(id);
    }
    let mut sorted = ids.clone();
    sorted.sort();

    let base = format!("/v1/jurisdictions/{d}/members");
    let mut seen = Vec::new();
    let mut uri = format!("{base}?limit=2");
    for _ in 0..10 {
        let page = gw.expect(TestRequest::get().uri(&uri), 200, "members page").await?;
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
    let page = gw.expect(TestRequest::get().uri(&format!("{base}?status=Provisional")), 200, "filtered").await?;
    let mut approved: Vec<&str> = ids[..2].iter().map(String::as_str).collect();
    approved.sort();
    let got: Vec<&str> =
        page["items"].as_array().context("items")?.iter().filter_map(|h| h["holder_id"].as_str()).collect();
    ensure!(got == approved, "{page}");
    let encoded = gw
        .expect(TestRequest::get().uri("/v1/jurisdictions/coop%3Abakery/members?status=Candidate"), 200, "%3A")
        .await?;
    ensure!(encoded["items"].as_array().map(Vec::len) == Some(3), "{encoded}");

    gw.refused(TestRequest::get().uri(&format!("{base}?status=member")), 400, "invalid_input", "bad status").await?;
    gw.refused(TestRequest::get().uri(&format!("{base}?limit=0")), 400, "invalid_input", "limit 0").await?;
    gw.refused(TestRequest::get().uri(&format!("{base}?limit=101")), 400, "invalid_input", "limit 101").await?;
    gw.refused(TestRequest::get().uri(&format!("{base}?cursor=zz")), 400, "invalid_cursor", "bad cursor").await?;
    gw.refused(TestRequest::get().uri(&format!("{base}?sort=asc")), 400, "invalid_query", "unknown parameter").await?;
    gw.refused(TestRequest::get().uri("/v1/jurisdictions/coop:nowhere/members"), 404, "not_found", "unknown").await?;
    gw.refused(TestRequest::get().uri("/v1/jurisdictions/guild:x/members"), 400, "invalid_input", "bad domain").await?;
    Ok(())
}

#[actix_web::test]
async fn operator_lifecycle_routes_are_disabled_without_a_configured_token() -> Result<()> {
    let gw = Gw::new(None).await?;
    let id = gw.anchor_of(&gw.w.genesis[3])?;
    gw.refused(op_post(&format!("/v1/anchors/{id}/suspend"), json!({})), 403, "admin_disabled", "anchor").await?;
    let aff = format!("/v1/holders/{id}/affiliations/{}/ban", gw.w.domain);
    gw.refused(op_post(&aff, json!({})), 403, "admin_disabled", "ban").await?;
    Ok(())
}
