#![cfg(feature = "gateway")]
//! The governance routes of the gateway, in process (`actix_web::test`):
//! every amendment, revocation and appeal route once with a good request
//! (status and body checked), then bad input on them, each refused with a
//! JSON `{"error", "message"}` 4xx and no row of the store changed.
//!
//! The commons underneath is built through the manager ([`World`]) with a
//! manual clock, so the tests can move past a vote's `closes_at` and a
//! revocation's appeal deadline.

mod scenario;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::dev::Service;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::Method;
use actix_web::test::{self, TestRequest};
use actix_web::{web, App};
use anyhow::{ensure, Context, Result};
use commons_gateway::gateway::{configure, AdminToken};
use commons_gateway::records::Capability;
use commons_gateway::{Clock, CommonsManager};
use commons_gateway::{CommonsStoreBackend, SignedEnvelope, StoreConfig};
use scenario::{make_member, new_members, Person, World, T0};
use serde_json::{json, Value};

const TOKEN: &str = "governance-operator-token";
const DAY: u64 = 86_400;
const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// What the gateway answered.
#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: String,
    json: Value,
    text: String,
}

impl Reply {
    fn str(&self, field: &str) -> Result<String> {
        self.json[field].as_str().map(str::to_string).with_context(|| format!("no {field} in {}", self.text))
    }
}

type Responder = Rc<dyn Fn(TestRequest) -> Pin<Box<dyn Future<Output = Reply>>>>;

/// A request kept as data, so that a failure can name it.
#[derive(Debug, Clone)]
struct Call {
    method: Method,
    uri: String,
    token: Option<String>,
    body: Option<(String, Vec<u8>)>,
}

impl Call {
    fn get(uri: impl Into<String>) -> Self {
        Self { method: Method::GET, uri: uri.into(), token: None, body: None }
    }
    fn post(uri: impl Into<String>) -> Self {
        Self { method: Method::POST, uri: uri.into(), token: None, body: None }
    }
    fn bearer(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }
    fn json(mut self, body: &Value) -> Self {
        self.body = Some(("application/json".into(), body.to_string().into_bytes()));
        self
    }
    fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some((content_type.into(), body.into()));
        self
    }
    /// A POST with a signed envelope by `who` of `action` on `target`.
    fn signed(uri: impl Into<String>, who: &Person, action: &str, target: &str, payload: &Value) -> Self {
        let env = SignedEnvelope::sign(&who.key, action, target, payload.to_string());
        Self::post(uri).json(&serde_json::to_value(env).unwrap_or(Value::Null))
    }
    fn request(&self) -> TestRequest {
        let mut r = TestRequest::default().method(self.method.clone()).uri(&self.uri);
        if let Some(t) = &self.token {
            r = r.insert_header(("authorization", format!("Bearer {t}")));
        }
        if let Some((ct, body)) = &self.body {
            r = r.insert_header(("content-type", ct.clone())).set_payload(body.clone());
        }
        r
    }
}

/// The app over one manager, with operator token [`TOKEN`].
struct Harness {
    m: web::Data<CommonsManager>,
    app: Responder,
    w: World,
    /// Member with Propose and Vote of the world's coop.
    proposer: Person,
    /// Members with Vote.
    voters: Vec<Person>,
    /// Member with Vote, target of the revocations.
    pat: Person,
    pat_id: String,
}

impl Harness {
    async fn new() -> Result<Self> {
        let config = StoreConfig::default();
        let m: CommonsManager = CommonsManager::temporary(&config)?.with_clock(Clock::manual(T0));
        let w = World::build(&m, "bakers", false)?;
        let proposer = Person::new();
        m.bootstrap_anchor(proposer.did.as_str(), None)?;
        make_member(&m, &proposer.did, &w.domain, &[Capability::Propose, Capability::Vote])?;
        let voters = new_members(&m, &w.domain, 2, &[Capability::Vote])?;
        let pat = Person::new();
        let pat_id = m.bootstrap_anchor(pat.did.as_str(), Some("Pat".into()))?.anchor.anchor_id;
        make_member(&m, &pat.did, &w.domain, &[Capability::Vote])?;

        let m = web::Data::new(m);
        let token = web::Data::new(AdminToken::new(Some(TOKEN.into())));
        let app = app(&m, token).await;
        Ok(Self { m, app, w, proposer, voters, pat, pat_id })
    }

    async fn send(&self, call: &Call) -> Reply {
        (self.app)(call.request()).await
    }

    /// Sends `call` and checks the status.
    async fn expect(&self, call: &Call, status: u16) -> Result<Reply> {
        let r = self.send(call).await;
        ensure!(r.status == status, "{call:?}: expected {status}, got {} {}", r.status, r.text);
        ensure!(r.content_type.starts_with("application/json"), "{call:?}: content type {:?}", r.content_type);
        Ok(r)
    }

    fn snapshot(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self.m.store().backend().scan(b"")?)
    }

    /// Sends `call`; checks it is refused with `status` and `code` as a JSON
    /// error body, and that no row changed.
    async fn refused(&self, call: &Call, status: u16, code: &str) -> Result<()> {
        let before = self.snapshot()?;
        let r = self.send(call).await;
        ensure!(r.status == status, "{call:?}: expected {status} {code}, got {} {}", r.status, r.text);
        ensure!(r.content_type.starts_with("application/json"), "{call:?}: content type {:?}", r.content_type);
        let obj = r.json.as_object().with_context(|| format!("{call:?}: not a JSON object: {}", r.text))?;
        ensure!(obj.get("error").and_then(Value::as_str) == Some(code), "{call:?}: expected {code}, got {}", r.text);
        ensure!(obj.get("message").and_then(Value::as_str).is_some_and(|m| !m.is_empty()), "{call:?}: no message");
        ensure!(obj.len() == 2, "{call:?}: extra fields in {}", r.text);
        ensure!(self.snapshot()? == before, "{call:?}: refused with {status} but the store changed");
        Ok(())
    }

    /// Proposes, submits and opens (operator) an amendment; returns its id.
    async fn amendment_in_voting(&self) -> Result<String> {
        let body = json!({"charter_id": self.w.charter_id, "title": "Hours",
                          "changes": [{"target": "hours", "change": "Modify", "new_value": "7-19"}]});
        let r =
            self.expect(&Call::signed("/v1/amendments", &self.proposer, "amendment-propose", "-", &body), 201).await?;
        let id = r.str("amendment_id")?;
        let uri = format!("/v1/amendments/{id}");
        self.expect(&Call::signed(format!("{uri}/submit"), &self.proposer, "amendment-submit", &id, &json!({})), 200)
            .await?;
        self.expect(&Call::post(format!("{uri}/open-voting")).bearer(TOKEN).json(&json!({})), 200).await?;
        Ok(id)
    }

    /// An operator revocation of Pat's membership; returns its id.
    async fn revoke_pat(&self, immediate: bool) -> Result<String> {
        let body = json!({"target": {"kind": "Membership", "holder_id": self.pat_id, "jurisdiction": self.w.domain},
                          "reason": {"kind": "PolicyViolation"}, "immediate": immediate});
        self.expect(&Call::post("/v1/revocations").bearer(TOKEN).json(&body), 201).await?.str("revocation_id")
    }

    /// Pat appeals revocation `r`; returns the appeal id.
    async fn appeal(&self, r: &str) -> Result<String> {
        let body = json!({"kind": {"kind": "Revocation", "revocation_id": r}, "grounds": "Not me.",
                          "statement": "I was away.", "requested_remedy": {"kind": "Reinstate"}});
        self.expect(&Call::signed("/v1/appeals", &self.pat, "appeal-file", "-", &body), 201).await?.str("appeal_id")
    }
}

async fn app(m: &web::Data<CommonsManager>, token: web::Data<AdminToken>) -> Responder {
    let service =
        Rc::new(test::init_service(App::new().app_data(m.clone()).app_data(token).configure(configure)).await);
    Rc::new(move |req: TestRequest| {
        let service = service.clone();
        Box::pin(async move {
            let resp = match service.call(req.to_request()).await {
                Ok(r) => r.map_into_boxed_body().into_parts().1,
                Err(e) => e.error_response(),
            };
            let status = resp.status().as_u16();
            let content_type = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let bytes = actix_web::body::to_bytes(resp.into_body()).await.unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            Reply { status, content_type, json, text }
        }) as Pin<Box<dyn Future<Output = Reply>>>
    })
}

#[actix_web::test]
async fn every_amendment_route_answers() -> Result<()> {
    let h = Harness::new().await?;
    let body = json!({"charter_id": h.w.charter_id, "title": "Sunday hours", "description": "Bake on Sundays."});
    let created = h.expect(&Call::signed("/v1/amendments", &h.proposer, "amendment-propose", "-", &body), 201).await?;
    let id = created.str("amendment_id")?;
    let uri = format!("/v1/amendments/{id}");
    let got = h.expect(&Call::get(&uri), 200).await?;
    ensure!(got.json == created.json, "GET differs from the creation: {} vs {}", got.text, created.text);
    ensure!(created.json["status"] == json!({"kind": "Draft"}), "{}", created.text);

    let change = json!({"target": "hours", "change": "Add", "new_value": "Sun 8-12"});
    let r =
        h.expect(&Call::signed(format!("{uri}/changes"), &h.proposer, "amendment-change", &id, &change), 201).await?;
    ensure!(r.json["changes"].as_array().map(Vec::len) == Some(1), "{}", r.text);
    let r =
        h.expect(&Call::signed(format!("{uri}/submit"), &h.proposer, "amendment-submit", &id, &json!({})), 200).await?;
    ensure!(r.json["status"]["kind"] == "Submitted", "{}", r.text);
    let r = h
        .expect(
            &Call::signed(format!("{uri}/open-voting"), &h.w.stewards[0], "amendment-open-voting", &id, &json!({})),
            200,
        )
        .await?;
    ensure!(r.json["status"]["kind"] == "Voting" && r.json["status"]["closes_at"] == T0 + 7 * DAY, "{}", r.text);
    for (v, approve) in [(&h.voters[0], true), (&h.voters[1], true), (&h.proposer, false)] {
        let r =
            h.expect(&Call::signed(format!("{uri}/votes"), v, "vote", &id, &json!({"approve": approve})), 201).await?;
        ensure!(r.json["votes"].as_array().is_some_and(|v| !v.is_empty()), "{}", r.text);
    }
    // Anyone may close, but only once the voting time is over.
    h.refused(&Call::post(format!("{uri}/close")).json(&json!({})), 409, "invalid_transition").await?;
    // The operator may close early: 3 of 4 eligible voted, 2 of 3 approve.
    let r = h.expect(&Call::post(format!("{uri}/close")).bearer(TOKEN).json(&json!({})), 200).await?;
    ensure!(r.json["status"]["kind"] == "Ratified", "{}", r.text);
    ensure!(
        r.json["tally"] == json!({"eligible": 4, "votes": 3, "approvals": 2, "uncounted": 0, "ratified": true}),
        "{}",
        r.text
    );

    // Withdraw; and a public close after closes_at.
    let second = h.amendment_in_voting().await?;
    let r = h
        .expect(
            &Call::signed(
                format!("/v1/amendments/{second}/withdraw"),
                &h.proposer,
                "amendment-withdraw",
                &second,
                &json!({}),
            ),
            200,
        )
        .await?;
    ensure!(r.json["status"]["kind"] == "Withdrawn", "{}", r.text);
    let third = h.amendment_in_voting().await?;
    h.m.clock().advance(7 * DAY);
    let r = h.expect(&Call::post(format!("/v1/amendments/{third}/close")).json(&json!({})), 200).await?;
    ensure!(r.json["status"]["kind"] == "Rejected" && r.json["tally"]["votes"] == 0, "{}", r.text);

    let list = h.expect(&Call::get(format!("/v1/amendments?charter_id={}", h.w.charter_id)), 200).await?;
    let ids: Vec<&str> = list.json["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["amendment_id"].as_str()).collect())
        .unwrap_or_default();
    ensure!(ids == [id.as_str(), second.as_str(), third.as_str()], "{}", list.text);
    ensure!(list.json["next_cursor"].is_null(), "{}", list.text);
    let page = h
        .expect(&Call::get(format!("/v1/amendments?charter_id={}&status=Withdrawn&limit=5", h.w.charter_id)), 200)
        .await?;
    ensure!(page.json["items"].as_array().map(Vec::len) == Some(1), "{}", page.text);
    let page = h.expect(&Call::get(format!("/v1/amendments?charter_id={}&limit=1", h.w.charter_id)), 200).await?;
    let cursor = page.str("next_cursor")?;
    let next = h
        .expect(&Call::get(format!("/v1/amendments?charter_id={}&limit=1&cursor={cursor}", h.w.charter_id)), 200)
        .await?;
    ensure!(next.json["items"][0]["amendment_id"] == second.as_str(), "{}", next.text);
    Ok(())
}

#[actix_web::test]
async fn every_revocation_and_appeal_route_answers() -> Result<()> {
    let h = Harness::new().await?;
    // Revocation: create, read, list, finalize after the deadline.
    let r = h.revoke_pat(false).await?;
    let got = h.expect(&Call::get(format!("/v1/revocations/{r}")), 200).await?;
    ensure!(
        got.json["appeal_deadline"] == T0 + 30 * DAY && got.json["appeal_status"] == json!({"kind": "None"}),
        "{}",
        got.text
    );
    let target = format!("membership:{}:{}", h.pat_id, h.w.domain);
    let list = h.expect(&Call::get(format!("/v1/revocations?target={target}")), 200).await?;
    ensure!(list.json["items"][0]["revocation_id"] == r.as_str(), "{}", list.text);
    let holder = h.expect(&Call::get(format!("/v1/holders/{}", h.pat_id)), 200).await?;
    ensure!(holder.json["affiliations"][0]["status"] == "Suspended", "{}", holder.text);

    // Appeal it: file, read, list, evidence, response, review, resolve (upheld).
    let a = h.appeal(&r).await?;
    let uri = format!("/v1/appeals/{a}");
    let got = h.expect(&Call::get(&uri), 200).await?;
    ensure!(
        got.json["status"] == json!({"kind": "Filed"}) && got.json["jurisdiction"] == h.w.domain.as_str(),
        "{}",
        got.text
    );
    let list = h.expect(&Call::get(format!("/v1/appeals?appellant={}", h.pat.did)), 200).await?;
    ensure!(list.json["items"][0]["appeal_id"] == a.as_str(), "{}", list.text);
    let r2 = h.expect(&Call::get(format!("/v1/revocations/{r}")), 200).await?;
    ensure!(r2.json["appeal_status"] == json!({"kind": "Pending", "appeal_id": a}), "{}", r2.text);
    let ev = json!({"sha256": HASH, "description": "Travel tickets"});
    let got = h.expect(&Call::signed(format!("{uri}/evidence"), &h.pat, "appeal-evidence", &a, &ev), 201).await?;
    ensure!(got.json["evidence"][0]["sha256"] == HASH, "{}", got.text);
    let text = json!({"text": "Reviewed the tickets."});
    let got =
        h.expect(&Call::signed(format!("{uri}/responses"), &h.w.stewards[1], "appeal-respond", &a, &text), 201).await?;
    ensure!(got.json["responses"][0]["responder_did"] == h.w.stewards[1].did.as_str(), "{}", got.text);
    let got = h.expect(&Call::post(format!("{uri}/review")).bearer(TOKEN).json(&json!({})), 200).await?;
    ensure!(got.json["status"] == json!({"kind": "UnderReview", "reviewer": "operator"}), "{}", got.text);
    let got = h
        .expect(
            &Call::post(format!("{uri}/resolve"))
                .bearer(TOKEN)
                .json(&json!({"outcome": "Upheld", "notes": "Alibi holds."})),
            200,
        )
        .await?;
    ensure!(got.json["status"]["kind"] == "Resolved" && got.json["status"]["outcome"] == "Upheld", "{}", got.text);
    let holder = h.expect(&Call::get(format!("/v1/holders/{}", h.pat_id)), 200).await?;
    ensure!(holder.json["affiliations"][0]["status"] == "Member", "upheld appeal restores: {}", holder.text);

    // A new revocation; an appeal dismissed, another withdrawn; finalize.
    let r = h.revoke_pat(false).await?;
    let b = h.appeal(&r).await?;
    let got = h
        .expect(&Call::post(format!("/v1/appeals/{b}/dismiss")).bearer(TOKEN).json(&json!({"reason": "Late."})), 200)
        .await?;
    ensure!(got.json["status"]["kind"] == "Dismissed", "{}", got.text);
    let c = h.appeal(&r).await?;
    let got = h
        .expect(&Call::signed(format!("/v1/appeals/{c}/withdraw"), &h.pat, "appeal-withdraw", &c, &json!({})), 200)
        .await?;
    ensure!(got.json["status"]["kind"] == "Withdrawn", "{}", got.text);
    let finalize = Call::post(format!("/v1/revocations/{r}/finalize")).bearer(TOKEN).json(&json!({}));
    h.refused(&finalize, 409, "not_finalizable").await?;
    h.m.clock().advance(30 * DAY);
    let got = h.expect(&finalize, 200).await?;
    ensure!(got.json["finalized_at"] == T0 + 30 * DAY, "{}", got.text);
    let holder = h.expect(&Call::get(format!("/v1/holders/{}", h.pat_id)), 200).await?;
    ensure!(holder.json["affiliations"][0]["status"] == "Banned", "{}", holder.text);
    Ok(())
}

#[actix_web::test]
async fn bad_input_on_governance_routes_is_a_json_4xx_and_changes_nothing() -> Result<()> {
    let h = Harness::new().await?;
    let id = h.amendment_in_voting().await?;
    let uri = format!("/v1/amendments/{id}");
    let r = h.revoke_pat(false).await?;
    let a = h.appeal(&r).await?;
    let stranger = Person::new();
    let unknown = uuid::Uuid::now_v7().to_string();
    let charter = h.w.charter_id.clone();
    let propose = json!({"charter_id": charter, "title": "T"});

    // Signed envelopes.
    let mut spoilt =
        serde_json::to_value(SignedEnvelope::sign(&h.proposer.key, "amendment-propose", "-", propose.to_string()))?;
    spoilt["payload"] = Value::String(json!({"charter_id": charter, "title": "Other"}).to_string());
    h.refused(&Call::post("/v1/amendments").json(&spoilt), 401, "bad_signature").await?;
    h.refused(
        &Call::signed("/v1/amendments", &h.proposer, "amendment-propose", &charter, &propose),
        401,
        "bad_signature",
    )
    .await?;
    h.refused(
        &Call::signed(
            "/v1/amendments",
            &h.proposer,
            "amendment-propose",
            "-",
            &json!({"charter_id": charter, "title": "T", "x": 1}),
        ),
        400,
        "invalid_payload",
    )
    .await?;
    h.refused(&Call::signed("/v1/amendments", &stranger, "amendment-propose", "-", &propose), 403, "forbidden").await?;
    h.refused(&Call::post("/v1/amendments").raw("text/plain", "hello"), 415, "unsupported_media_type").await?;
    h.refused(&Call::post("/v1/amendments").raw("application/json", "{not json"), 400, "invalid_json").await?;
    h.refused(&Call::post("/v1/amendments").raw("application/json", vec![b' '; 100 * 1024]), 413, "payload_too_large")
        .await?;
    h.refused(
        &Call::signed(format!("{uri}/votes"), &stranger, "vote", &id, &json!({"approve": true})),
        403,
        "forbidden",
    )
    .await?;
    h.refused(
        &Call::signed(format!("{uri}/votes"), &h.voters[0], "vote", &id, &json!({"approve": "yes"})),
        400,
        "invalid_payload",
    )
    .await?;
    h.refused(
        &Call::signed(
            format!("{uri}/changes"),
            &h.proposer,
            "amendment-change",
            &id,
            &json!({"target": "t", "change": "Remove"}),
        ),
        409,
        "invalid_transition",
    )
    .await?;
    h.refused(
        &Call::signed("/v1/amendments/nope/submit", &h.proposer, "amendment-submit", "nope", &json!({})),
        400,
        "invalid_id",
    )
    .await?;
    h.refused(
        &Call::signed(
            format!("/v1/amendments/{unknown}/submit"),
            &h.proposer,
            "amendment-submit",
            &unknown,
            &json!({}),
        ),
        404,
        "not_found",
    )
    .await?;
    h.refused(
        &Call::signed(
            "/v1/appeals",
            &h.pat,
            "appeal-file",
            "-",
            &json!({"kind": {"kind": "Nope"}, "grounds": "g", "requested_remedy": {"kind": "None"}}),
        ),
        400,
        "invalid_payload",
    )
    .await?;
    h.refused(
        &Call::signed(
            format!("/v1/appeals/{a}/evidence"),
            &stranger,
            "appeal-evidence",
            &a,
            &json!({"sha256": HASH, "description": "x"}),
        ),
        403,
        "forbidden",
    )
    .await?;
    h.refused(
        &Call::signed(
            format!("/v1/appeals/{a}/evidence"),
            &h.pat,
            "appeal-evidence",
            &a,
            &json!({"sha256": "abc", "description": "x"}),
        ),
        400,
        "invalid_input",
    )
    .await?;
    h.refused(
        &Call::signed(format!("/v1/appeals/{a}/withdraw"), &h.w.stewards[0], "appeal-withdraw", &a, &json!({})),
        403,
        "forbidden",
    )
    .await?;

    // Open voting / close: token or envelope, never a mix.
    h.refused(
        &Call::post(format!("{uri}/open-voting"))
            .bearer(TOKEN)
            .json(&json!({"actor": "x", "payload": "{}", "signature": "y"})),
        400,
        "invalid_json",
    )
    .await?;
    h.refused(&Call::post(format!("{uri}/open-voting")).json(&json!({})), 400, "invalid_json").await?;
    h.refused(&Call::post(format!("{uri}/open-voting")).bearer("wrong").json(&json!({})), 401, "unauthorized").await?;
    h.refused(&Call::post(format!("{uri}/close")).bearer("wrong").json(&json!({})), 401, "unauthorized").await?;
    h.refused(&Call::post(format!("{uri}/close")).bearer(TOKEN).json(&json!({"early": true})), 400, "invalid_json")
        .await?;

    // Operator routes.
    let revoke =
        json!({"target": {"kind": "Anchor", "anchor_id": h.pat_id}, "reason": {"kind": "Sybil"}, "immediate": true});
    h.refused(&Call::post("/v1/revocations").json(&revoke), 401, "unauthorized").await?;
    h.refused(&Call::post("/v1/revocations").bearer("wrong").json(&revoke), 401, "unauthorized").await?;
    let mut bad = revoke.clone();
    bad["target"]["kind"] = json!("Planet");
    h.refused(&Call::post("/v1/revocations").bearer(TOKEN).json(&bad), 400, "invalid_json").await?;
    let mut bad = revoke.clone();
    bad["appeal_window_days"] = json!(0);
    h.refused(&Call::post("/v1/revocations").bearer(TOKEN).json(&bad), 400, "invalid_input").await?;
    let mut bad = revoke.clone();
    bad["target"]["anchor_id"] = json!("by_did/x");
    h.refused(&Call::post("/v1/revocations").bearer(TOKEN).json(&bad), 400, "invalid_id").await?;
    let mut bad = revoke.clone();
    bad["target"]["anchor_id"] = json!("ab".repeat(32));
    h.refused(&Call::post("/v1/revocations").bearer(TOKEN).json(&bad), 404, "not_found").await?;
    let membership = json!({"target": {"kind": "Membership", "holder_id": h.pat_id, "jurisdiction": h.w.domain}, "reason": {"kind": "Sybil"}, "immediate": true});
    h.refused(&Call::post("/v1/revocations").bearer(TOKEN).json(&membership), 409, "revocation_open").await?;
    h.refused(
        &Call::post(format!("/v1/revocations/{unknown}/finalize")).bearer(TOKEN).json(&json!({})),
        404,
        "not_found",
    )
    .await?;
    h.refused(
        &Call::post(format!("/v1/appeals/{a}/resolve")).bearer(TOKEN).json(&json!({"outcome": "Maybe", "notes": ""})),
        400,
        "invalid_json",
    )
    .await?;
    h.refused(
        &Call::post(format!("/v1/appeals/{a}/resolve")).bearer(TOKEN).json(&json!({"outcome": "Upheld", "notes": ""})),
        409,
        "invalid_transition",
    )
    .await?;
    h.refused(
        &Call::post(format!("/v1/appeals/{a}/resolve")).json(&json!({"outcome": "Upheld", "notes": ""})),
        401,
        "unauthorized",
    )
    .await?;
    h.refused(&Call::post(format!("/v1/appeals/{a}/dismiss")).bearer(TOKEN).json(&json!({})), 400, "invalid_json")
        .await?;
    h.refused(
        &Call::post(format!("/v1/appeals/{a}/review")).bearer(TOKEN).raw("application/json", vec![b' '; 100 * 1024]),
        413,
        "payload_too_large",
    )
    .await?;

    // With no token configured, operator routes are disabled.
    let disabled = Harness { app: app(&h.m, web::Data::new(AdminToken::new(None))).await, ..h };
    disabled.refused(&Call::post("/v1/revocations").bearer(TOKEN).json(&revoke), 403, "admin_disabled").await?;
    disabled
        .refused(&Call::post(format!("/v1/appeals/{a}/review")).bearer(TOKEN).json(&json!({})), 403, "admin_disabled")
        .await?;
    let h = disabled;

    // Lists and lookups.
    h.refused(&Call::get("/v1/amendments"), 400, "invalid_input").await?;
    h.refused(&Call::get("/v1/amendments?charter_id=xyz"), 400, "invalid_id").await?;
    h.refused(&Call::get(format!("/v1/amendments?charter_id={charter}&status=Open")), 400, "invalid_input").await?;
    h.refused(&Call::get(format!("/v1/amendments?charter_id={charter}&limit=0")), 400, "invalid_input").await?;
    h.refused(&Call::get(format!("/v1/amendments?charter_id={charter}&cursor=zz")), 400, "invalid_cursor").await?;
    h.refused(&Call::get(format!("/v1/amendments?charter_id={charter}&sort=new")), 400, "invalid_query").await?;
    h.refused(&Call::get("/v1/amendments/not-a-uuid"), 400, "invalid_id").await?;
    h.refused(&Call::get(format!("/v1/amendments/{unknown}")), 404, "not_found").await?;
    h.refused(&Call::get("/v1/appeals"), 400, "invalid_input").await?;
    h.refused(&Call::get("/v1/appeals?appellant=did:key:nope"), 400, "invalid_did").await?;
    h.refused(&Call::get(format!("/v1/appeals?appellant={}&status=Open", h.pat.did)), 400, "invalid_input").await?;
    h.refused(&Call::get(format!("/v1/appeals/{unknown}")), 404, "not_found").await?;
    h.refused(&Call::get("/v1/revocations"), 400, "invalid_input").await?;
    h.refused(&Call::get("/v1/revocations?target=planet:1"), 400, "invalid_input").await?;
    h.refused(&Call::get("/v1/revocations?target=anchor:XYZ"), 400, "invalid_id").await?;
    h.refused(&Call::get("/v1/revocations/1234"), 400, "invalid_id").await?;
    h.refused(&Call::get(format!("/v1/revocations/{unknown}")), 404, "not_found").await?;
    Ok(())
}
