#![cfg(feature = "gateway")]
//! Bad input on every route of the gateway, in process (`actix_web::test`).
//!
//! Each test builds a small real commons first ([`World`]): three genesis
//! members bootstrapped through the operator route, one of them a
//! commons-wide steward, an Active charter `coop:bakers` founded by the three,
//! a Draft charter `coop:draft`, and three enrollment sessions at levels 0, 1
//! and 2. The bad requests then hit real records, and every refusal is
//! checked for its status, its `{"error", "message"}` body, and for leaving
//! the whole store (every backend row) exactly as it was.
//!
//! Each signed or JSON route also has a control test
//! (`good_request_on_every_body_route_succeeds`) proving that the unspoilt
//! request the bad variants are derived from succeeds, so a refusal is never
//! an accident of the fixture.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::dev::Service;
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::http::Method;
use actix_web::test::{self, TestRequest};
use actix_web::{web, App};
use anyhow::{bail, ensure, Context, Result};
use commons_gateway::gateway::{configure, AdminToken};
use commons_gateway::{CommonsManager, CommonsStoreBackend, SignedEnvelope, StoreConfig};
use ed25519_dalek::SigningKey;
use rstest::rstest;
use serde_json::{json, Value};

use common::{did_of, envelope, flip_hex_char, new_key, non_canonical_dids, unknown_hex_id, unknown_uuid};

const TOKEN: &str = "secret-operator-token";
/// 100 KiB: over the gateway's 64 KiB body limit.
const BIG: usize = 100 * 1024;

// ---------------------------------------------------------------------------
// Harness: requests, replies, the app.
// ---------------------------------------------------------------------------

/// An HTTP request, kept as data so that failures can name it.
#[derive(Clone)]
struct Call {
    method: Method,
    uri: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Option<Vec<u8>>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = self.body.as_ref().map(|b| {
            let text = String::from_utf8_lossy(b);
            if text.len() > 200 {
                format!("{}... ({} bytes)", &text[..200], b.len())
            } else {
                text.into_owned()
            }
        });
        write!(
            f,
            "{} {} headers={:?} body={:?}",
            self.method,
            self.uri,
            self.headers.iter().map(|(k, v)| (k, String::from_utf8_lossy(v))).collect::<Vec<_>>(),
            body
        )
    }
}

impl Call {
    fn new(method: Method, uri: impl Into<String>) -> Self {
        Self { method, uri: uri.into(), headers: Vec::new(), body: None }
    }
    fn get(uri: impl Into<String>) -> Self {
        Self::new(Method::GET, uri)
    }
    fn post(uri: impl Into<String>) -> Self {
        Self::new(Method::POST, uri)
    }
    fn header(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name, value.into()));
        self
    }
    fn without_header(mut self, name: &'static str) -> Self {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self
    }
    fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }
    /// A JSON body (content type `application/json`).
    fn json(self, body: &Value) -> Self {
        self.raw("application/json", body.to_string())
    }
    /// A body with this content type.
    fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self.header("content-type", content_type)
    }
    fn to_request(&self) -> TestRequest {
        let mut r = TestRequest::default().method(self.method.clone()).uri(&self.uri);
        for (k, v) in &self.headers {
            let value = HeaderValue::from_bytes(v).unwrap_or_else(|e| panic!("bad test header {k}: {e}"));
            r = r.insert_header((HeaderName::from_static(k), value));
        }
        if let Some(b) = &self.body {
            r = r.set_payload(b.clone());
        }
        r
    }
}

/// What the gateway answered.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    content_type: String,
    json: Value,
    text: String,
}

impl Reply {
    fn field(&self, name: &str) -> Result<String> {
        self.json
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .with_context(|| format!("no string field {name} in {}", self.text))
    }
}

type Responder = Rc<dyn Fn(TestRequest) -> Pin<Box<dyn Future<Output = Reply>>>>;

/// The app, type-erased so helpers need not name actix's service types.
#[derive(Clone)]
struct Gateway(Responder);

impl Gateway {
    /// An app over `manager` with operator token `token` (`None`: no token
    /// configured, operator routes disabled).
    async fn new(manager: &web::Data<CommonsManager>, token: Option<&str>) -> Self {
        let token = web::Data::new(AdminToken::new(token.map(str::to_string)));
        let app = Rc::new(
            test::init_service(App::new().app_data(manager.clone()).app_data(token).configure(configure)).await,
        );
        Gateway(Rc::new(move |req: TestRequest| {
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
        }))
    }

    async fn send(&self, call: &Call) -> Reply {
        (self.0)(call.to_request()).await
    }
}

/// Checks the error body shape: exactly `{"error": code, "message": <non-empty>}`, as JSON.
fn check_error_body(reply: &Reply, code: &str, what: &str) -> Result<()> {
    ensure!(
        reply.content_type.starts_with("application/json"),
        "{what}: content type {:?}, body {:?}",
        reply.content_type,
        reply.text
    );
    let obj = reply.json.as_object().with_context(|| format!("{what}: body is not a JSON object: {:?}", reply.text))?;
    ensure!(
        obj.get("error").and_then(Value::as_str) == Some(code),
        "{what}: expected error {code:?}, got {}",
        reply.text
    );
    let message = obj.get("message").and_then(Value::as_str).unwrap_or("");
    ensure!(!message.trim().is_empty(), "{what}: empty message in {}", reply.text);
    ensure!(obj.len() == 2, "{what}: error body has other fields than error and message: {}", reply.text);
    Ok(())
}

// ---------------------------------------------------------------------------
// The world: real state the bad requests hit.
// ---------------------------------------------------------------------------

struct World {
    manager: web::Data<CommonsManager>,
    /// The app with operator token [`TOKEN`].
    gw: Gateway,
    /// Genesis member, commons-wide steward, founder of `coop:bakers`.
    a: SigningKey,
    /// Genesis member, founder of `coop:bakers`, creator and only founder of `coop:draft`.
    b: SigningKey,
    /// Genesis member, founder of `coop:bakers`.
    c: SigningKey,
    /// The person of enrollment `e0` (not yet bound: level 0).
    p0: SigningKey,
    /// The person bound to enrollment `e1` (level 1).
    p1: SigningKey,
    /// The person bound to enrollment `e2` (level 2, vouched by `a`).
    p2: SigningKey,
    /// A principal the commons knows nothing of.
    x: SigningKey,
    anchor_a: String,
    anchor_b: String,
    anchor_c: String,
    steward_a: String,
    /// Active charter `coop:bakers` (open_enrollment false).
    charter: String,
    /// Draft charter `coop:draft` (min_founders 1, signed by `b`).
    draft: String,
    draft_digest: String,
    e0: String,
    code0: String,
    e1: String,
    code1: String,
    e2: String,
}

impl World {
    async fn new() -> Result<Self> {
        let manager: CommonsManager = CommonsManager::temporary(&StoreConfig::default())?;
        let manager = web::Data::new(manager);
        let gw = Gateway::new(&manager, Some(TOKEN)).await;
        let (a, b, c) = (new_key(), new_key(), new_key());
        let mut anchors = Vec::new();
        for (key, name) in [(&a, "Ada"), (&b, "Bo"), (&c, "Cy")] {
            let r = expect(
                &gw,
                &Call::post("/v1/anchors").bearer(TOKEN).json(&json!({"did": did_of(key), "display_name": name})),
                201,
            )
            .await?;
            anchors.push(r.field("anchor_id")?);
        }
        let steward = expect(
            &gw,
            &Call::post("/v1/stewards").bearer(TOKEN).json(&json!({"did": did_of(&a), "term_days": 365})),
            201,
        )
        .await?;
        let steward_a = steward.field("steward_id")?;

        let create = json!({
            "domain_id": "coop:bakers", "org_type": "Cooperative", "name": "Bakers",
            "description": "We bake.", "membership_policy": {"open_enrollment": false}
        });
        let r = expect(
            &gw,
            &signed_call(Method::POST, "/v1/charters", &envelope(&a, "charter-create", "-", &create.to_string())),
            201,
        )
        .await?;
        let (charter, digest) = (r.field("charter_id")?, r.field("digest")?);
        for key in [&a, &b, &c] {
            let env = envelope(key, "charter-sign", &charter, &json!({"digest": digest}).to_string());
            expect(&gw, &signed_call(Method::POST, &format!("/v1/charters/{charter}/signatures"), &env), 200).await?;
        }
        let r = expect(
            &gw,
            &signed_call(
                Method::POST,
                &format!("/v1/charters/{charter}/activate"),
                &envelope(&a, "charter-activate", &charter, "{}"),
            ),
            200,
        )
        .await?;
        ensure!(r.json["status"]["kind"] == "Active", "charter not active: {}", r.text);

        let draft_body = json!({
            "domain_id": "coop:draft", "org_type": "Cooperative", "name": "Draft",
            "description": "", "membership_policy": {"open_enrollment": true, "min_founders": 1}
        });
        let r = expect(
            &gw,
            &signed_call(Method::POST, "/v1/charters", &envelope(&b, "charter-create", "-", &draft_body.to_string())),
            201,
        )
        .await?;
        let (draft, draft_digest) = (r.field("charter_id")?, r.field("digest")?);
        let env = envelope(&b, "charter-sign", &draft, &json!({"digest": draft_digest}).to_string());
        expect(&gw, &signed_call(Method::POST, &format!("/v1/charters/{draft}/signatures"), &env), 200).await?;

        let (p0, p1, p2, x) = (new_key(), new_key(), new_key(), new_key());
        let start = |name: &str| {
            Call::post("/v1/enrollments").json(&json!({"identity_name": name, "domain_id": "coop:bakers"}))
        };
        let r = expect(&gw, &start("Noor"), 201).await?;
        let (e0, code0) = (r.field("enrollment_id")?, r.field("verification_code")?);
        let r = expect(&gw, &start("Olu"), 201).await?;
        let (e1, code1) = (r.field("enrollment_id")?, r.field("verification_code")?);
        let env = envelope(&p1, "enroll-verify", &e1, &json!({"verification_code": code1}).to_string());
        expect(&gw, &signed_call(Method::POST, &format!("/v1/enrollments/{e1}/verify"), &env), 200).await?;
        let r = expect(&gw, &start("Pia"), 201).await?;
        let (e2, code2) = (r.field("enrollment_id")?, r.field("verification_code")?);
        let env = envelope(&p2, "enroll-verify", &e2, &json!({"verification_code": code2}).to_string());
        expect(&gw, &signed_call(Method::POST, &format!("/v1/enrollments/{e2}/verify"), &env), 200).await?;
        let env = envelope(&a, "enroll-vouch", &e2, &json!({"person_did": did_of(&p2)}).to_string());
        let r = expect(&gw, &signed_call(Method::POST, &format!("/v1/enrollments/{e2}/vouch"), &env), 200).await?;
        ensure!(r.json["level"] == 2, "e2 not at level 2: {}", r.text);

        let [anchor_a, anchor_b, anchor_c]: [String; 3] =
            anchors.try_into().map_err(|_| anyhow::anyhow!("three anchors"))?;
        Ok(Self {
            manager,
            gw,
            a,
            b,
            c,
            p0,
            p1,
            p2,
            x,
            anchor_a,
            anchor_b,
            anchor_c,
            steward_a,
            charter,
            draft,
            draft_digest,
            e0,
            code0,
            e1,
            code1,
            e2,
        })
    }

    /// Every row of the store, in key order.
    fn snapshot(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self.manager.store().backend().scan(b"")?)
    }

    /// Sends `call` to `gw`; checks that it is refused with `status` and
    /// `code`, and that no row of the store changed.
    async fn refused_by(&self, gw: &Gateway, call: &Call, status: u16, code: &str) -> Result<Reply> {
        let before = self.snapshot()?;
        let reply = gw.send(call).await;
        let what = format!("{call:?}");
        ensure!(reply.status == status, "{what}: expected {status} {code}, got {} {}", reply.status, reply.text);
        check_error_body(&reply, code, &what)?;
        let after = self.snapshot()?;
        ensure!(
            before == after,
            "{what}: refused with {status} but the store changed ({} rows before, {} after)",
            before.len(),
            after.len()
        );
        Ok(reply)
    }

    async fn refused(&self, call: &Call, status: u16, code: &str) -> Result<Reply> {
        self.refused_by(&self.gw, call, status, code).await
    }
}

/// Sends `call` and checks the status.
async fn expect(gw: &Gateway, call: &Call, status: u16) -> Result<Reply> {
    let reply = gw.send(call).await;
    ensure!(reply.status == status, "{call:?}: expected {status}, got {} {}", reply.status, reply.text);
    Ok(reply)
}

fn signed_call(method: Method, path: &str, env: &SignedEnvelope) -> Call {
    Call::new(method, path).json(&serde_json::to_value(env).unwrap_or(Value::Null))
}

// ---------------------------------------------------------------------------
// Signed routes.
// ---------------------------------------------------------------------------

/// The routes that take a signed envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signed {
    Verify,
    Vouch,
    Complete,
    Reject,
    Attest,
    HolderUpdate,
    CharterCreate,
    CharterSign,
    CharterActivate,
}

impl Signed {
    fn action(self) -> &'static str {
        match self {
            Signed::Verify => "enroll-verify",
            Signed::Vouch => "enroll-vouch",
            Signed::Complete => "enroll-complete",
            Signed::Reject => "enroll-reject",
            Signed::Attest => "attest",
            Signed::HolderUpdate => "holder-update",
            Signed::CharterCreate => "charter-create",
            Signed::CharterSign => "charter-sign",
            Signed::CharterActivate => "charter-activate",
        }
    }

    /// A real action of another route, signed instead of this one.
    fn other_action(self) -> &'static str {
        match self {
            Signed::Verify => "enroll-complete",
            Signed::Vouch => "enroll-reject",
            Signed::Complete => "enroll-verify",
            Signed::Reject => "enroll-vouch",
            Signed::Attest => "holder-update",
            Signed::HolderUpdate => "attest",
            Signed::CharterCreate => "charter-sign",
            Signed::CharterSign => "charter-activate",
            Signed::CharterActivate => "charter-sign",
        }
    }

    fn method(self) -> Method {
        if self == Signed::HolderUpdate {
            Method::PATCH
        } else {
            Method::POST
        }
    }

    /// The route with `segment` (already URI-escaped) as its id.
    fn path(self, segment: &str) -> String {
        match self {
            Signed::Verify => format!("/v1/enrollments/{segment}/verify"),
            Signed::Vouch => format!("/v1/enrollments/{segment}/vouch"),
            Signed::Complete => format!("/v1/enrollments/{segment}/complete"),
            Signed::Reject => format!("/v1/enrollments/{segment}/reject"),
            Signed::Attest => format!("/v1/anchors/{segment}/attestations"),
            Signed::HolderUpdate => format!("/v1/holders/{segment}"),
            Signed::CharterCreate => "/v1/charters".to_string(),
            Signed::CharterSign => format!("/v1/charters/{segment}/signatures"),
            Signed::CharterActivate => format!("/v1/charters/{segment}/activate"),
        }
    }

    /// The record the good request acts on (`-` for a creation).
    fn target(self, w: &World) -> String {
        match self {
            Signed::Verify => w.e0.clone(),
            Signed::Vouch | Signed::Reject => w.e1.clone(),
            Signed::Complete => w.e2.clone(),
            Signed::Attest | Signed::HolderUpdate => w.anchor_b.clone(),
            Signed::CharterCreate => "-".to_string(),
            Signed::CharterSign | Signed::CharterActivate => w.draft.clone(),
        }
    }

    /// Another real record of the same kind (for a creation: a charter id).
    fn other_target(self, w: &World) -> String {
        match self {
            Signed::Verify | Signed::Complete => w.e1.clone(),
            Signed::Vouch | Signed::Reject => w.e0.clone(),
            Signed::Attest | Signed::HolderUpdate => w.anchor_c.clone(),
            Signed::CharterCreate | Signed::CharterSign | Signed::CharterActivate => w.charter.clone(),
        }
    }

    /// The key allowed to sign the good request.
    fn signer(self, w: &World) -> &SigningKey {
        match self {
            Signed::Verify => &w.p0,
            Signed::Vouch | Signed::Reject | Signed::Attest => &w.a,
            Signed::Complete => &w.p2,
            Signed::HolderUpdate | Signed::CharterActivate => &w.b,
            Signed::CharterCreate | Signed::CharterSign => &w.c,
        }
    }

    fn payload(self, w: &World) -> Value {
        match self {
            Signed::Verify => json!({"verification_code": w.code0}),
            Signed::Vouch => json!({"person_did": did_of(&w.p1)}),
            Signed::Complete | Signed::CharterActivate => json!({}),
            Signed::Reject => json!({"reason": "not a real person"}),
            Signed::Attest => json!({"level": "Strong", "method": "InPerson"}),
            Signed::HolderUpdate => json!({"display_name": "Bea"}),
            Signed::CharterCreate => json!({
                "domain_id": "community:gardens", "org_type": "Community", "name": "Gardens",
                "description": "We grow.", "membership_policy": {"open_enrollment": true}
            }),
            Signed::CharterSign => json!({"digest": w.draft_digest, "role": "treasurer"}),
        }
    }

    /// The payload with a field of the wrong JSON type.
    fn payload_with_wrong_types(self) -> Value {
        match self {
            Signed::Verify => json!({"verification_code": 123456}),
            Signed::Vouch => json!({"person_did": true}),
            Signed::Complete | Signed::CharterActivate => json!("now"),
            Signed::Reject => json!({"reason": 5}),
            Signed::Attest => json!({"level": 3, "method": "InPerson"}),
            Signed::HolderUpdate => json!({"display_name": 42}),
            Signed::CharterCreate => json!({
                "domain_id": "community:gardens", "org_type": "Community", "name": "Gardens",
                "membership_policy": {"open_enrollment": "yes"}
            }),
            Signed::CharterSign => json!({"digest": ["a"]}),
        }
    }

    /// A validly signed request by someone who may not take the action.
    fn not_allowed(self, w: &World) -> (&SigningKey, Value) {
        match self {
            // Right person, wrong code.
            Signed::Verify => (
                &w.p0,
                json!({"verification_code": if w.code0 == "VERIFY-000000" { "VERIFY-000001" } else { "VERIFY-000000" }}),
            ),
            // b is a holder, not a steward.
            Signed::Vouch => (&w.b, json!({"person_did": did_of(&w.p1)})),
            // p1 is not the person bound to e2.
            Signed::Complete => (&w.p1, json!({})),
            Signed::Reject => (&w.b, json!({"reason": "no"})),
            Signed::Attest => (&w.b, json!({"level": "Strong", "method": "InPerson"})),
            // c may not rename b.
            Signed::HolderUpdate => (&w.c, json!({"display_name": "Mallory"})),
            // x is not a holder.
            Signed::CharterCreate => (&w.x, self.payload(w)),
            Signed::CharterSign => (&w.x, self.payload(w)),
            // c is not a founder of the draft.
            Signed::CharterActivate => (&w.c, json!({})),
        }
    }

    fn success(self) -> u16 {
        match self {
            Signed::Complete | Signed::Attest | Signed::CharterCreate => 201,
            _ => 200,
        }
    }

    /// The good envelope of this route.
    fn good_envelope(self, w: &World) -> SignedEnvelope {
        envelope(self.signer(w), self.action(), &self.target(w), &self.payload(w).to_string())
    }

    /// The request carrying `env` to this route's good target.
    fn call(self, w: &World, env: &SignedEnvelope) -> Call {
        signed_call(self.method(), &self.path(&self.target(w)), env)
    }
}

const ALL_SIGNED: [Signed; 9] = [
    Signed::Verify,
    Signed::Vouch,
    Signed::Complete,
    Signed::Reject,
    Signed::Attest,
    Signed::HolderUpdate,
    Signed::CharterCreate,
    Signed::CharterSign,
    Signed::CharterActivate,
];

#[rstest]
#[actix_web::test]
async fn flipped_signature_char_is_401_bad_signature_and_changes_nothing(
    #[values(
        Signed::Verify,
        Signed::Vouch,
        Signed::Complete,
        Signed::Reject,
        Signed::Attest,
        Signed::HolderUpdate,
        Signed::CharterCreate,
        Signed::CharterSign,
        Signed::CharterActivate
    )]
    route: Signed,
) -> Result<()> {
    let w = World::new().await?;
    let mut env = route.good_envelope(&w);
    env.signature = flip_hex_char(&env.signature);
    w.refused(&route.call(&w, &env), 401, "bad_signature").await?;
    Ok(())
}

#[rstest]
#[actix_web::test]
async fn signature_by_another_key_than_the_actor_is_401_and_changes_nothing(
    #[values(
        Signed::Verify,
        Signed::Vouch,
        Signed::Complete,
        Signed::Reject,
        Signed::Attest,
        Signed::HolderUpdate,
        Signed::CharterCreate,
        Signed::CharterSign,
        Signed::CharterActivate
    )]
    route: Signed,
) -> Result<()> {
    let w = World::new().await?;
    // Signed by x, claiming to be the allowed signer.
    let mut env = envelope(&w.x, route.action(), &route.target(&w), &route.payload(&w).to_string());
    env.actor = did_of(route.signer(&w));
    w.refused(&route.call(&w, &env), 401, "bad_signature").await?;
    Ok(())
}

#[rstest]
#[actix_web::test]
async fn signature_for_another_target_is_401_and_changes_nothing(
    #[values(
        Signed::Verify,
        Signed::Vouch,
        Signed::Complete,
        Signed::Reject,
        Signed::Attest,
        Signed::HolderUpdate,
        Signed::CharterCreate,
        Signed::CharterSign,
        Signed::CharterActivate
    )]
    route: Signed,
) -> Result<()> {
    let w = World::new().await?;
    let env = envelope(route.signer(&w), route.action(), &route.other_target(&w), &route.payload(&w).to_string());
    w.refused(&route.call(&w, &env), 401, "bad_signature").await?;
    Ok(())
}

#[rstest]
#[actix_web::test]
async fn signature_for_another_action_is_401_and_changes_nothing(
    #[values(
        Signed::Verify,
        Signed::Vouch,
        Signed::Complete,
        Signed::Reject,
        Signed::Attest,
        Signed::HolderUpdate,
        Signed::CharterCreate,
        Signed::CharterSign,
        Signed::CharterActivate
    )]
    route: Signed,
) -> Result<()> {
    let w = World::new().await?;
    let env = envelope(route.signer(&w), route.other_action(), &route.target(&w), &route.payload(&w).to_string());
    w.refused(&route.call(&w, &env), 401, "bad_signature").await?;
    Ok(())
}

#[rstest]
#[case::empty("")]
#[case::upper_case_hex("UPPER")]
#[case::too_short("SHORT")]
#[case::not_hex("NOTHEX")]
#[actix_web::test]
async fn malformed_signature_is_401_bad_signature_and_changes_nothing(
    #[case] kind: &str,
    #[values(
        Signed::Verify,
        Signed::Vouch,
        Signed::Complete,
        Signed::Reject,
        Signed::Attest,
        Signed::HolderUpdate,
        Signed::CharterCreate,
        Signed::CharterSign,
        Signed::CharterActivate
    )]
    route: Signed,
) -> Result<()> {
    let w = World::new().await?;
    let mut env = route.good_envelope(&w);
    env.signature = match kind {
        "" => String::new(),
        "UPPER" => env.signature.to_uppercase(),
        "SHORT" => env.signature[..126].to_string(),
        _ => format!("{}zz", &env.signature[..126]),
    };
    w.refused(&route.call(&w, &env), 401, "bad_signature").await?;
    Ok(())
}

#[rstest]
#[case::upper_cased(0)]
#[case::base64_multibase(1)]
#[case::trailing_char(2)]
#[actix_web::test]
async fn non_canonical_actor_did_is_400_invalid_did_and_changes_nothing(
    #[case] variant: usize,
    #[values(
        Signed::Verify,
        Signed::Vouch,
        Signed::Complete,
        Signed::Reject,
        Signed::Attest,
        Signed::HolderUpdate,
        Signed::CharterCreate,
        Signed::CharterSign,
        Signed::CharterActivate
    )]
    route: Signed,
) -> Result<()> {
    let w = World::new().await?;
    let mut env = route.good_envelope(&w);
    env.actor = non_canonical_dids(route.signer(&w))[variant].1.clone();
    w.refused(&route.call(&w, &env), 400, "invalid_did").await?;
    Ok(())
}

#[rstest]
#[actix_web::test]
async fn unknown_field_in_signed_payload_is_400_invalid_payload_and_changes_nothing(
    #[values(
        Signed::Verify,
        Signed::Vouch,
        Signed::Complete,
        Signed::Reject,
        Signed::Attest,
        Signed::HolderUpdate,
        Signed::CharterCreate,
        Signed::CharterSign,
        Signed::CharterActivate
    )]
    route: Signed,
) -> Result<()> {
    let w = World::new().await?;
    let mut payload = route.payload(&w);
    payload.as_object_mut().context("object payload")?.insert("unexpected".into(), json!(true));
    let env = envelope(route.signer(&w), route.action(), &route.target(&w), &payload.to_string());
    w.refused(&route.call(&w, &env), 400, "invalid_payload").await?;
    Ok(())
}

#[rstest]
#[actix_web::test]
async fn wrong_types_in_signed_payload_are_400_invalid_payload_and_change_nothing(
    #[values(
        Signed::Verify,
        Signed::Vouch,
        Signed::Complete,
        Signed::Reject,
        Signed::Attest,
        Signed::HolderUpdate,
        Signed::CharterCreate,
        Signed::CharterSign,
        Signed::CharterActivate
    )]
    route: Signed,
) -> Result<()> {
    let w = World::new().await?;
    let env =
        envelope(route.signer(&w), route.action(), &route.target(&w), &route.payload_with_wrong_types().to_string());
    w.refused(&route.call(&w, &env), 400, "invalid_payload").await?;
    // Signed payload text that is not JSON at all.
    let env = envelope(route.signer(&w), route.action(), &route.target(&w), "not json");
    w.refused(&route.call(&w, &env), 400, "invalid_payload").await?;
    Ok(())
}

#[rstest]
#[actix_web::test]
async fn valid_signature_by_someone_not_allowed_is_403_forbidden_and_changes_nothing(
    #[values(
        Signed::Verify,
        Signed::Vouch,
        Signed::Complete,
        Signed::Reject,
        Signed::Attest,
        Signed::HolderUpdate,
        Signed::CharterCreate,
        Signed::CharterSign,
        Signed::CharterActivate
    )]
    route: Signed,
) -> Result<()> {
    let w = World::new().await?;
    let (key, payload) = route.not_allowed(&w);
    let env = envelope(key, route.action(), &route.target(&w), &payload.to_string());
    w.refused(&route.call(&w, &env), 403, "forbidden").await?;
    Ok(())
}

#[rstest]
#[actix_web::test]
async fn signed_action_on_unknown_id_is_404_not_found_and_changes_nothing(
    #[values(
        Signed::Verify,
        Signed::Vouch,
        Signed::Complete,
        Signed::Reject,
        Signed::Attest,
        Signed::HolderUpdate,
        Signed::CharterSign,
        Signed::CharterActivate
    )]
    route: Signed,
) -> Result<()> {
    let w = World::new().await?;
    let id = match route {
        Signed::Verify | Signed::Vouch | Signed::Complete | Signed::Reject => unknown_uuid(),
        _ => unknown_hex_id(),
    };
    let env = envelope(route.signer(&w), route.action(), &id, &route.payload(&w).to_string());
    w.refused(&signed_call(route.method(), &route.path(&id), &env), 404, "not_found").await?;
    Ok(())
}

#[rstest]
#[actix_web::test]
async fn signed_action_on_id_like_by_did_slash_x_is_400_invalid_id_never_a_key(
    #[values(
        Signed::Verify,
        Signed::Vouch,
        Signed::Complete,
        Signed::Reject,
        Signed::Attest,
        Signed::HolderUpdate,
        Signed::CharterSign,
        Signed::CharterActivate
    )]
    route: Signed,
) -> Result<()> {
    let w = World::new().await?;
    // The route segment `by_did%2Fx` reaches the handler decoded as `by_did/x`;
    // the envelope is signed for exactly that target, so only the id is wrong.
    let env = envelope(route.signer(&w), route.action(), "by_did/x", &route.payload(&w).to_string());
    w.refused(&signed_call(route.method(), &route.path("by_did%2Fx"), &env), 400, "invalid_id").await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Every route with a JSON body: broken bodies.
// ---------------------------------------------------------------------------

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
    fn good(self, w: &World) -> (Call, Value) {
        match self {
            Body::Start => {
                (Call::post("/v1/enrollments"), json!({"identity_name": "Quinn", "domain_id": "coop:bakers"}))
            }
            Body::Signed(s) => {
                let env = s.good_envelope(w);
                (Call::new(s.method(), s.path(&s.target(w))), serde_json::to_value(&env).unwrap_or(Value::Null))
            }
            Body::Bootstrap => {
                (Call::post("/v1/anchors").bearer(TOKEN), json!({"did": did_of(&w.x), "display_name": "Xena"}))
            }
            Body::RegisterSteward => (
                Call::post("/v1/stewards").bearer(TOKEN),
                json!({"did": did_of(&w.b), "term_days": 365, "jurisdiction": "coop:bakers"}),
            ),
            Body::OperatorReject => {
                (Call::post(format!("/v1/enrollments/{}/reject", w.e1)).bearer(TOKEN), json!({"reason": "duplicate"}))
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
    fn wrong_types(self, w: &World) -> Value {
        match self {
            Body::Start => json!({"identity_name": 7}),
            Body::Signed(_) => json!({"actor": 1, "payload": {"x": 1}, "signature": true}),
            Body::Bootstrap => json!({"did": 5, "display_name": ["x"]}),
            Body::RegisterSteward => json!({"did": did_of(&w.b), "term_days": "365"}),
            Body::OperatorReject => json!({"reason": 5}),
        }
    }

    /// The good body with one string field padded to [`BIG`] bytes.
    fn too_large(self, w: &World) -> Value {
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

#[rstest]
#[actix_web::test]
async fn good_request_on_every_body_route_succeeds(
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
    let w = World::new().await?;
    let before = w.snapshot()?;
    let (call, body) = route.good(&w);
    let reply = expect(&w.gw, &call.json(&body), route.success()).await?;
    ensure!(reply.json.is_object(), "{route:?}: answer is not a JSON object: {}", reply.text);
    ensure!(w.snapshot()? != before, "{route:?}: a successful write changed no row");
    Ok(())
}

/// How a body is spoilt.
#[derive(Debug, Clone, Copy)]
enum Spoil {
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

#[rstest]
#[case::malformed_json(Spoil::Malformed, 400, "invalid_json")]
#[case::wrong_types(Spoil::WrongTypes, 400, "invalid_json")]
#[case::unknown_field(Spoil::UnknownField, 400, "invalid_json")]
#[case::text_plain_is_415(Spoil::TextPlain, 415, "unsupported_media_type")]
#[case::no_content_type_is_415(Spoil::NoContentType, 415, "unsupported_media_type")]
#[case::body_of_100_kib_is_413(Spoil::TooLarge, 413, "payload_too_large")]
#[actix_web::test]
async fn spoilt_body_is_refused_with_a_json_error_and_changes_nothing(
    #[case] spoil: Spoil,
    #[case] status: u16,
    #[case] code: &str,
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
    let w = World::new().await?;
    let (call, good) = route.good(&w);
    let call = match spoil {
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
    w.refused(&call, status, code).await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Operator routes: the token.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Auth {
    /// No Authorization header.
    Missing,
    /// `Bearer <wrong>`.
    WrongToken,
    /// The right token under another scheme.
    BasicScheme,
    /// `Bearer ` and nothing.
    EmptyBearer,
    /// Bytes that are not visible ASCII.
    NonAscii,
}

#[rstest]
#[case::without_token(Auth::Missing)]
#[case::with_wrong_token(Auth::WrongToken)]
#[case::with_basic_scheme(Auth::BasicScheme)]
#[case::with_empty_bearer(Auth::EmptyBearer)]
#[case::with_non_ascii_token(Auth::NonAscii)]
#[actix_web::test]
async fn operator_route_without_the_right_token_is_401_unauthorized_and_changes_nothing(
    #[case] auth: Auth,
    #[values(Body::Bootstrap, Body::RegisterSteward, Body::OperatorReject)] route: Body,
) -> Result<()> {
    let w = World::new().await?;
    let (call, body) = route.good(&w);
    let call = call.json(&body);
    let call = match auth {
        Auth::Missing if route == Body::OperatorReject => return Ok(()), // without a header, reject is the steward's signed path
        Auth::Missing => call.without_header("authorization"),
        Auth::WrongToken => call.bearer("not-the-token"),
        Auth::BasicScheme => call.header("authorization", format!("Basic {TOKEN}")),
        Auth::EmptyBearer => call.header("authorization", "Bearer "),
        Auth::NonAscii => call.header("authorization", b"Bearer secr\xe9t-operator-token".to_vec()),
    };
    w.refused(&call, 401, "unauthorized").await?;
    Ok(())
}

#[rstest]
#[actix_web::test]
async fn operator_route_checks_the_token_before_reading_the_body(
    #[values(Body::Bootstrap, Body::RegisterSteward, Body::OperatorReject)] route: Body,
) -> Result<()> {
    let w = World::new().await?;
    let (call, _) = route.good(&w);
    w.refused(&call.bearer("wrong").raw("application/json", "{\"did\": "), 401, "unauthorized").await?;
    // The operator reject route reads the body (for its two shapes) before it
    // looks at the token, so an oversized body is a 413 there; elsewhere the
    // token comes first.
    if route != Body::OperatorReject {
        w.refused(&route.good(&w).0.bearer("wrong").json(&route.too_large(&w)), 401, "unauthorized").await?;
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
    let w = World::new().await?;
    let (call, body) = Body::Bootstrap.good(&w);
    let call = call.header("authorization", format!("{scheme} {TOKEN}")).json(&body);
    let reply = w.gw.send(&call).await;
    ensure!(reply.status == 201, "{scheme}: {} {}", reply.status, reply.text);
    let upper = call.header("authorization", format!("{scheme} {}", TOKEN.to_uppercase()));
    w.refused(&upper, 401, "unauthorized").await?;
    Ok(())
}

#[rstest]
#[actix_web::test]
async fn operator_route_on_a_server_without_token_is_403_admin_disabled_and_changes_nothing(
    #[values(Body::Bootstrap, Body::RegisterSteward, Body::OperatorReject)] route: Body,
) -> Result<()> {
    let w = World::new().await?;
    let no_token = Gateway::new(&w.manager, None).await;
    let (call, body) = route.good(&w);
    // Even the token the other server accepts.
    w.refused_by(&no_token, &call.clone().json(&body), 403, "admin_disabled").await?;
    w.refused_by(&no_token, &call.bearer("").json(&body), 403, "admin_disabled").await?;
    if route != Body::OperatorReject {
        w.refused_by(&no_token, &route.good(&w).0.without_header("authorization").json(&body), 403, "admin_disabled")
            .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Field rules of the unsigned bodies.
// ---------------------------------------------------------------------------

#[rstest]
#[case::empty_identity_name(json!({"identity_name": ""}), 400, "invalid_input")]
#[case::identity_name_over_100_chars(json!({"identity_name": "n".repeat(101)}), 400, "invalid_input")]
#[case::identity_name_with_control_char(json!({"identity_name": "a\u{7}b"}), 400, "invalid_input")]
#[case::missing_identity_name(json!({"domain_id": "coop:bakers"}), 400, "invalid_json")]
#[case::malformed_domain(json!({"identity_name": "Quinn", "domain_id": "bakers"}), 400, "invalid_input")]
#[case::upper_case_domain(json!({"identity_name": "Quinn", "domain_id": "COOP:bakers"}), 400, "invalid_input")]
#[case::domain_like_by_did_slash_x(json!({"identity_name": "Quinn", "domain_id": "coop:by_did/x"}), 400, "invalid_input")]
#[case::unknown_domain(json!({"identity_name": "Quinn", "domain_id": "coop:nobody"}), 404, "not_found")]
#[case::draft_charter_domain(json!({"identity_name": "Quinn", "domain_id": "coop:draft"}), 409, "charter_not_active")]
#[case::null_body(json!(null), 400, "invalid_json")]
#[case::array_body(json!([]), 400, "invalid_json")]
#[actix_web::test]
async fn bad_enrollment_start_is_refused_and_creates_no_session(
    #[case] body: Value,
    #[case] status: u16,
    #[case] code: &str,
) -> Result<()> {
    let w = World::new().await?;
    w.refused(&Call::post("/v1/enrollments").json(&body), status, code).await?;
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
    let w = World::new().await?;
    let (call, mut body) = route.good(&w);
    let key = if route == Body::Bootstrap { &w.x } else { &w.b };
    body["did"] = json!(non_canonical_dids(key)[variant].1);
    w.refused(&call.json(&body), 400, "invalid_did").await?;
    Ok(())
}

#[rstest]
#[case::display_name_over_100_chars(|w: &World| json!({"did": did_of(&w.x), "display_name": "d".repeat(101)}), 400, "invalid_input")]
#[case::did_of_an_existing_anchor(|w: &World| json!({"did": did_of(&w.a)}), 409, "already_exists")]
#[case::did_not_a_did(|_: &World| json!({"did": "alice"}), 400, "invalid_did")]
#[case::did_of_another_method(|_: &World| json!({"did": "did:web:example.org"}), 400, "invalid_did")]
#[case::missing_did(|_: &World| json!({"display_name": "Nobody"}), 400, "invalid_json")]
#[actix_web::test]
async fn bad_bootstrap_is_refused_and_creates_no_anchor(
    #[case] body: fn(&World) -> Value,
    #[case] status: u16,
    #[case] code: &str,
) -> Result<()> {
    let w = World::new().await?;
    w.refused(&Call::post("/v1/anchors").bearer(TOKEN).json(&body(&w)), status, code).await?;
    Ok(())
}

#[rstest]
#[case::term_of_29_days(|w: &World| json!({"did": did_of(&w.b), "term_days": 29}), 400, "invalid_input")]
#[case::term_of_731_days(|w: &World| json!({"did": did_of(&w.b), "term_days": 731}), 400, "invalid_input")]
#[case::term_of_u64_max_days(|w: &World| json!({"did": did_of(&w.b), "term_days": u64::MAX}), 400, "invalid_input")]
#[case::negative_term(|w: &World| json!({"did": did_of(&w.b), "term_days": -1}), 400, "invalid_json")]
#[case::malformed_jurisdiction(|w: &World| json!({"did": did_of(&w.b), "term_days": 365, "jurisdiction": "bakers"}), 400, "invalid_input")]
#[case::unknown_jurisdiction(|w: &World| json!({"did": did_of(&w.b), "term_days": 365, "jurisdiction": "coop:nobody"}), 404, "not_found")]
#[case::draft_jurisdiction(|w: &World| json!({"did": did_of(&w.b), "term_days": 365, "jurisdiction": "coop:draft"}), 409, "charter_not_active")]
#[case::did_without_holder(|w: &World| json!({"did": did_of(&w.x), "term_days": 365}), 404, "not_found")]
#[case::already_a_steward(|w: &World| json!({"did": did_of(&w.a), "term_days": 365}), 409, "already_exists")]
#[actix_web::test]
async fn bad_steward_registration_is_refused_and_creates_no_steward(
    #[case] body: fn(&World) -> Value,
    #[case] status: u16,
    #[case] code: &str,
) -> Result<()> {
    let w = World::new().await?;
    w.refused(&Call::post("/v1/stewards").bearer(TOKEN).json(&body(&w)), status, code).await?;
    Ok(())
}

#[rstest]
#[case::reason_over_2000_chars(|w: &World| (w.e1.clone(), json!({"reason": "r".repeat(2001)})), 400, "invalid_input")]
#[case::vouched_session(|w: &World| (w.e2.clone(), json!({"reason": "late"})), 409, "invalid_transition")]
#[case::unknown_session(|_: &World| (unknown_uuid(), json!({"reason": "x"})), 404, "not_found")]
#[case::id_not_a_uuid(|_: &World| ("not-a-uuid".to_string(), json!({"reason": "x"})), 400, "invalid_id")]
#[actix_web::test]
async fn bad_operator_reject_is_refused_and_changes_nothing(
    #[case] input: fn(&World) -> (String, Value),
    #[case] status: u16,
    #[case] code: &str,
) -> Result<()> {
    let w = World::new().await?;
    let (id, body) = input(&w);
    w.refused(&Call::post(format!("/v1/enrollments/{id}/reject")).bearer(TOKEN).json(&body), status, code).await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Rules of signed payloads that the fixture can reach.
// ---------------------------------------------------------------------------

#[rstest]
#[case::vouch_for_a_non_canonical_person_did(Signed::Vouch, |w: &World| json!({"person_did": did_of(&w.p1).to_uppercase()}), 400, "invalid_did")]
#[case::vouch_for_another_person(Signed::Vouch, |w: &World| json!({"person_did": did_of(&w.p2)}), 409, "person_mismatch")]
#[case::attestation_expiring_in_the_past(Signed::Attest, |_: &World| json!({"level": "Strong", "method": "InPerson", "expires_at": 1}), 400, "invalid_input")]
#[case::attestation_of_unknown_level(Signed::Attest, |_: &World| json!({"level": "Mighty", "method": "InPerson"}), 400, "invalid_payload")]
#[case::display_name_over_100_chars(Signed::HolderUpdate, |_: &World| json!({"display_name": "d".repeat(101)}), 400, "invalid_input")]
#[case::charter_for_an_existing_domain(Signed::CharterCreate, |_: &World| json!({"domain_id": "coop:bakers", "org_type": "Cooperative", "name": "Again", "membership_policy": {"open_enrollment": false}}), 409, "already_exists")]
#[case::charter_with_mismatched_org_type(Signed::CharterCreate, |_: &World| json!({"domain_id": "coop:x", "org_type": "Federation", "name": "X", "membership_policy": {"open_enrollment": false}}), 400, "invalid_input")]
#[case::charter_with_bad_domain(Signed::CharterCreate, |_: &World| json!({"domain_id": "coop:by_did/x", "org_type": "Cooperative", "name": "X", "membership_policy": {"open_enrollment": false}}), 400, "invalid_input")]
#[case::charter_with_newline_in_name(Signed::CharterCreate, |_: &World| json!({"domain_id": "coop:x", "org_type": "Cooperative", "name": "X\nY", "membership_policy": {"open_enrollment": false}}), 400, "invalid_input")]
#[case::charter_with_description_over_10000_chars(Signed::CharterCreate, |_: &World| json!({"domain_id": "coop:x", "org_type": "Cooperative", "name": "X", "description": "d".repeat(10_001), "membership_policy": {"open_enrollment": false}}), 400, "invalid_input")]
#[case::charter_with_zero_min_founders(Signed::CharterCreate, |_: &World| json!({"domain_id": "coop:x", "org_type": "Cooperative", "name": "X", "membership_policy": {"open_enrollment": false, "min_founders": 0}}), 400, "invalid_input")]
#[case::signature_over_a_stale_digest(Signed::CharterSign, |_: &World| json!({"digest": "0".repeat(64)}), 409, "digest_mismatch")]
#[actix_web::test]
async fn signed_payload_breaking_a_rule_is_refused_and_changes_nothing(
    #[case] route: Signed,
    #[case] payload: fn(&World) -> Value,
    #[case] status: u16,
    #[case] code: &str,
) -> Result<()> {
    let w = World::new().await?;
    let env = envelope(route.signer(&w), route.action(), &route.target(&w), &payload(&w).to_string());
    w.refused(&route.call(&w, &env), status, code).await?;
    Ok(())
}

#[actix_web::test]
async fn signed_steps_out_of_order_are_409_and_change_nothing() -> Result<()> {
    let w = World::new().await?;
    // Verify again on a verified session.
    let env = envelope(&w.p1, "enroll-verify", &w.e1, &json!({"verification_code": w.code1}).to_string());
    w.refused(&signed_call(Method::POST, &format!("/v1/enrollments/{}/verify", w.e1), &env), 409, "invalid_transition")
        .await?;
    // Complete at level 1 although the charter has no open enrollment.
    let env = envelope(&w.p1, "enroll-complete", &w.e1, "{}");
    w.refused(
        &signed_call(Method::POST, &format!("/v1/enrollments/{}/complete", w.e1), &env),
        409,
        "invalid_transition",
    )
    .await?;
    // Vouch at level 0.
    let env = envelope(&w.a, "enroll-vouch", &w.e0, &json!({"person_did": did_of(&w.p0)}).to_string());
    w.refused(&signed_call(Method::POST, &format!("/v1/enrollments/{}/vouch", w.e0), &env), 409, "invalid_transition")
        .await?;
    // Reject at level 2.
    let env = envelope(&w.a, "enroll-reject", &w.e2, &json!({"reason": "late"}).to_string());
    w.refused(&signed_call(Method::POST, &format!("/v1/enrollments/{}/reject", w.e2), &env), 409, "invalid_transition")
        .await?;
    // A member of the commons verifies a new session: already enrolled.
    let env = envelope(&w.b, "enroll-verify", &w.e0, &json!({"verification_code": w.code0}).to_string());
    w.refused(&signed_call(Method::POST, &format!("/v1/enrollments/{}/verify", w.e0), &env), 409, "already_enrolled")
        .await?;
    // Sign or activate an Active charter.
    let digest = expect(&w.gw, &Call::get(format!("/v1/charters/{}", w.charter)), 200).await?.field("digest")?;
    let env = envelope(&w.x, "charter-sign", &w.charter, &json!({"digest": digest}).to_string());
    w.refused(&signed_call(Method::POST, &format!("/v1/charters/{}/signatures", w.charter), &env), 403, "forbidden")
        .await?;
    let env = envelope(&w.b, "charter-sign", &w.charter, &json!({"digest": digest}).to_string());
    w.refused(
        &signed_call(Method::POST, &format!("/v1/charters/{}/signatures", w.charter), &env),
        409,
        "invalid_transition",
    )
    .await?;
    let env = envelope(&w.a, "charter-activate", &w.charter, "{}");
    w.refused(
        &signed_call(Method::POST, &format!("/v1/charters/{}/activate", w.charter), &env),
        409,
        "invalid_transition",
    )
    .await?;
    // A founder signs the draft twice.
    let env = envelope(&w.b, "charter-sign", &w.draft, &json!({"digest": w.draft_digest}).to_string());
    w.refused(&signed_call(Method::POST, &format!("/v1/charters/{}/signatures", w.draft), &env), 409, "already_signed")
        .await?;
    Ok(())
}

#[actix_web::test]
async fn replayed_steps_of_a_finished_enrollment_are_4xx_and_change_nothing() -> Result<()> {
    let w = World::new().await?;
    let person = new_key();
    let r = expect(&w.gw, &Call::post("/v1/enrollments").json(&json!({"identity_name": "Rae"})), 201).await?;
    let (id, code) = (r.field("enrollment_id")?, r.field("verification_code")?);
    let verify = signed_call(
        Method::POST,
        &format!("/v1/enrollments/{id}/verify"),
        &envelope(&person, "enroll-verify", &id, &json!({"verification_code": code}).to_string()),
    );
    let vouch = signed_call(
        Method::POST,
        &format!("/v1/enrollments/{id}/vouch"),
        &envelope(&w.a, "enroll-vouch", &id, &json!({"person_did": did_of(&person)}).to_string()),
    );
    let complete = signed_call(
        Method::POST,
        &format!("/v1/enrollments/{id}/complete"),
        &envelope(&person, "enroll-complete", &id, "{}"),
    );
    expect(&w.gw, &verify, 200).await?;
    expect(&w.gw, &vouch, 200).await?;
    let anchor = expect(&w.gw, &complete, 201).await?;
    let anchor_id = anchor.field("anchor_id")?;
    let steward_before = expect(&w.gw, &Call::get(format!("/v1/stewards/{}", w.steward_a)), 200).await?;
    ensure!(
        steward_before.json["attestations_issued"] == 1,
        "steward counted {}",
        steward_before.json["attestations_issued"]
    );

    for replay in [&verify, &vouch, &complete, &complete, &vouch, &verify] {
        let before = w.snapshot()?;
        let reply = w.gw.send(replay).await;
        ensure!((400..500).contains(&reply.status), "{replay:?}: replay answered {} {}", reply.status, reply.text);
        let code = reply.json.get("error").and_then(Value::as_str).unwrap_or("").to_string();
        ensure!(
            ["not_found", "already_enrolled", "invalid_transition", "expired"].contains(&code.as_str()),
            "{replay:?}: replay answered {}",
            reply.text
        );
        check_error_body(&reply, &code, &format!("{replay:?}"))?;
        ensure!(before == w.snapshot()?, "{replay:?}: replay changed the store");
    }
    // Still one anchor, unchanged, and one attestation counted.
    let again = expect(&w.gw, &Call::get(format!("/v1/anchors/by-did/{}", did_of(&person))), 200).await?;
    ensure!(again.field("anchor_id")? == anchor_id);
    ensure!(
        again.json["attestations"] == anchor.json["attestations"],
        "attestations changed: {} vs {}",
        again.json["attestations"],
        anchor.json["attestations"]
    );
    let steward_after = expect(&w.gw, &Call::get(format!("/v1/stewards/{}", w.steward_a)), 200).await?;
    ensure!(steward_after.json == steward_before.json, "steward changed by replays: {}", steward_after.text);
    Ok(())
}

// ---------------------------------------------------------------------------
// Lookups and lists.
// ---------------------------------------------------------------------------

/// Percent-encodes everything but unreserved characters and `:`.
fn escape(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[rstest]
#[case::enrollment_unknown(|_: &World| format!("/v1/enrollments/{}", unknown_uuid()), 404, "not_found")]
#[case::enrollment_not_a_uuid(|_: &World| "/v1/enrollments/not-a-uuid".to_string(), 400, "invalid_id")]
#[case::enrollment_upper_case_uuid(|w: &World| format!("/v1/enrollments/{}", w.e0.to_uppercase()), 400, "invalid_id")]
#[case::enrollment_by_did_slash_x(|_: &World| "/v1/enrollments/by_did%2Fx".to_string(), 400, "invalid_id")]
#[case::anchor_unknown(|_: &World| format!("/v1/anchors/{}", unknown_hex_id()), 404, "not_found")]
#[case::anchor_upper_case_hex(|w: &World| format!("/v1/anchors/{}", w.anchor_a.to_uppercase()), 400, "invalid_id")]
#[case::anchor_63_hex(|w: &World| format!("/v1/anchors/{}", &w.anchor_a[..63]), 400, "invalid_id")]
#[case::anchor_by_did_slash_x(|_: &World| "/v1/anchors/by_did%2Fx".to_string(), 400, "invalid_id")]
#[case::anchor_did_unknown(|w: &World| format!("/v1/anchors/by-did/{}", did_of(&w.x)), 404, "not_found")]
#[case::anchor_did_upper_cased(|w: &World| format!("/v1/anchors/by-did/{}", escape(&non_canonical_dids(&w.a)[0].1)), 400, "invalid_did")]
#[case::anchor_did_base64(|w: &World| format!("/v1/anchors/by-did/{}", escape(&non_canonical_dids(&w.a)[1].1)), 400, "invalid_did")]
#[case::anchor_did_trailing_char(|w: &World| format!("/v1/anchors/by-did/{}", escape(&non_canonical_dids(&w.a)[2].1)), 400, "invalid_did")]
#[case::anchor_did_by_did_slash_x(|_: &World| "/v1/anchors/by-did/by_did%2Fx".to_string(), 400, "invalid_did")]
#[case::holder_unknown(|_: &World| format!("/v1/holders/{}", unknown_hex_id()), 404, "not_found")]
#[case::holder_by_did_slash_x(|_: &World| "/v1/holders/by_did%2Fx".to_string(), 400, "invalid_id")]
#[case::holder_upper_case_hex(|w: &World| format!("/v1/holders/{}", w.anchor_b.to_uppercase()), 400, "invalid_id")]
#[case::holder_did_unknown(|w: &World| format!("/v1/holders/by-did/{}", did_of(&w.x)), 404, "not_found")]
#[case::holder_did_upper_cased(|w: &World| format!("/v1/holders/by-did/{}", escape(&non_canonical_dids(&w.b)[0].1)), 400, "invalid_did")]
#[case::holder_did_base64(|w: &World| format!("/v1/holders/by-did/{}", escape(&non_canonical_dids(&w.b)[1].1)), 400, "invalid_did")]
#[case::holder_did_trailing_char(|w: &World| format!("/v1/holders/by-did/{}", escape(&non_canonical_dids(&w.b)[2].1)), 400, "invalid_did")]
#[case::charter_unknown(|_: &World| format!("/v1/charters/{}", unknown_hex_id()), 404, "not_found")]
#[case::charter_by_did_slash_x(|_: &World| "/v1/charters/by_did%2Fx".to_string(), 400, "invalid_id")]
#[case::charter_upper_case_hex(|w: &World| format!("/v1/charters/{}", w.charter.to_uppercase()), 400, "invalid_id")]
#[case::charter_domain_unknown(|_: &World| "/v1/charters/by-domain/coop:nobody".to_string(), 404, "not_found")]
#[case::charter_domain_upper_case(|_: &World| "/v1/charters/by-domain/COOP:bakers".to_string(), 400, "invalid_input")]
#[case::charter_domain_by_did_slash_x(|_: &World| "/v1/charters/by-domain/by_did%2Fx".to_string(), 400, "invalid_input")]
#[case::charter_domain_with_slash(|_: &World| "/v1/charters/by-domain/coop:bakers%2Fx".to_string(), 400, "invalid_input")]
#[case::steward_unknown(|_: &World| format!("/v1/stewards/{}", unknown_hex_id()), 404, "not_found")]
#[case::steward_by_did_slash_x(|_: &World| "/v1/stewards/by_did%2Fx".to_string(), 400, "invalid_id")]
#[case::steward_upper_case_hex(|w: &World| format!("/v1/stewards/{}", w.steward_a.to_uppercase()), 400, "invalid_id")]
#[case::steward_did_of_a_holder_who_is_no_steward(|w: &World| format!("/v1/stewards/by-did/{}", did_of(&w.b)), 404, "not_found")]
#[case::steward_did_upper_cased(|w: &World| format!("/v1/stewards/by-did/{}", escape(&non_canonical_dids(&w.a)[0].1)), 400, "invalid_did")]
#[case::steward_did_base64(|w: &World| format!("/v1/stewards/by-did/{}", escape(&non_canonical_dids(&w.a)[1].1)), 400, "invalid_did")]
#[case::steward_did_trailing_char(|w: &World| format!("/v1/stewards/by-did/{}", escape(&non_canonical_dids(&w.a)[2].1)), 400, "invalid_did")]
#[actix_web::test]
async fn lookup_of_a_bad_or_unknown_id_is_refused(
    #[case] uri: fn(&World) -> String,
    #[case] status: u16,
    #[case] code: &str,
) -> Result<()> {
    let w = World::new().await?;
    w.refused(&Call::get(uri(&w)), status, code).await?;
    Ok(())
}

#[actix_web::test]
async fn lookups_of_the_fixture_records_succeed() -> Result<()> {
    let w = World::new().await?;
    let did_a = did_of(&w.a);
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
        expect(&w.gw, &Call::get(&uri), 200).await?;
    }
    // The session view never shows the verification code.
    let e = expect(&w.gw, &Call::get(format!("/v1/enrollments/{}", w.e0)), 200).await?;
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
    let w = World::new().await?;
    w.refused(&Call::get(format!("{list}?{query}")), 400, code).await?;
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
    let w = World::new().await?;
    w.refused(&Call::get(uri), 400, "invalid_input").await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// No 500 anywhere.
// ---------------------------------------------------------------------------

/// What a sweep request must get: this 4xx and code, or (`None`) any answer
/// below 500, with the JSON error body when it is a 4xx.
type Expect = Option<(u16, &'static str)>;

/// Requests a careless or hostile client may send, each with what it must get.
fn sweep(w: &World) -> Vec<(Call, Expect)> {
    let good_env = Signed::Verify.good_envelope(w);
    let verify = format!("/v1/enrollments/{}/verify", w.e0);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let huge_hex = "ab".repeat(5_000);
    let mut calls = vec![
        (Call::post("/v1/health").json(&json!({})), Some((404, "not_found"))),
        (Call::new(Method::DELETE, "/v1/charters"), Some((404, "not_found"))),
        (Call::new(Method::PUT, format!("/v1/anchors/{}", w.anchor_a)), Some((404, "not_found"))),
        (Call::get("/v1/nowhere"), Some((404, "not_found"))),
        (Call::get("/v2/health"), Some((404, "not_found"))),
        (Call::get(format!("/v1/anchors/{}", "a".repeat(10_000))), Some((400, "invalid_id"))),
        (Call::get("/v1/anchors/%ff%fe"), Some((400, "invalid_id"))),
        (Call::get("/v1/enrollments/%00"), Some((400, "invalid_id"))),
        (Call::get("/v1/enrollments/.."), Some((400, "invalid_id"))),
        (Call::get(format!("/v1/anchors/by-did/{}", "z".repeat(10_000))), Some((400, "invalid_did"))),
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
        (Call::post(&verify).raw("application/json", b"{\"actor\": \"\xff\xfe\"}".to_vec()), Some((400, "invalid_json"))),
        (Call::post(&verify).raw("application/json", ""), Some((400, "invalid_json"))),
        (Call::post(&verify).raw("application/json", "null"), Some((400, "invalid_json"))),
        (Call::post(&verify).raw("application/json", "\"just a string\""), Some((400, "invalid_json"))),
        (Call::post(&verify).raw("application/x-www-form-urlencoded", "actor=x&payload=y&signature=z"), Some((415, "unsupported_media_type"))),
        (Call::post(&verify).raw("application/json", "actor=x&payload=y&signature=z"), Some((400, "invalid_json"))),
        (Call::post(&verify).json(&json!({"actor": good_env.actor, "payload": good_env.payload})), Some((400, "invalid_json"))),
        (Call::post(&verify).json(&json!({"actor": good_env.actor, "payload": json!({"verification_code": w.code0}), "signature": good_env.signature})), Some((400, "invalid_json"))),
        (Call::post(&verify).json(&json!({"actor": "", "payload": good_env.payload, "signature": good_env.signature})), Some((400, "invalid_did"))),
        (Call::post(&verify).json(&json!({"actor": good_env.actor, "payload": "", "signature": good_env.signature})), Some((401, "bad_signature"))),
        (Call::post(&verify).json(&json!({"actor": good_env.actor, "payload": good_env.payload, "signature": "0".repeat(128)})), Some((401, "bad_signature"))),
        (Call::post(&verify).json(&json!({"actor": good_env.actor, "payload": good_env.payload, "signature": "f".repeat(128)})), Some((401, "bad_signature"))),
        (Call::post(&verify).json(&json!({"actor": good_env.actor, "payload": good_env.payload, "signature": "0".repeat(100_000)})), Some((413, "payload_too_large"))),
        (Call::post(format!("/v1/enrollments/{}/reject", w.e1)).raw("text/plain", "{}"), Some((415, "unsupported_media_type"))),
        (Call::post(format!("/v1/enrollments/{}/reject", w.e1)).raw("application/json", "{\"actor\""), Some((400, "invalid_json"))),
        (Call::post(format!("/v1/enrollments/{}/reject", w.e1)).bearer(TOKEN).raw("application/json", "{\"reason\""), Some((400, "invalid_json"))),
        (Call::post(format!("/v1/enrollments/{}/reject", w.e1)).bearer(TOKEN).raw("text/plain", "{}"), Some((415, "unsupported_media_type"))),
        (Call::new(Method::PATCH, format!("/v1/holders/{}", w.anchor_b)).raw("text/plain", "{}"), Some((415, "unsupported_media_type"))),
        (Call::post("/v1/anchors").bearer(TOKEN).json(&json!({"did": did_of(&w.x), "display_name": "bad\u{0}name"})), Some((400, "invalid_input"))),
        (Call::post("/v1/stewards").bearer(TOKEN).json(&json!({"did": did_of(&w.b), "term_days": 1e300})), Some((400, "invalid_json"))),
    ];
    // Every signed route with an empty JSON object.
    for route in ALL_SIGNED {
        let target = route.target(w);
        calls.push((Call::new(route.method(), route.path(&target)).json(&json!({})), Some((400, "invalid_json"))));
    }
    calls
}

impl Call {
    /// True for requests an operator route handles (`POST /v1/anchors`,
    /// `POST /v1/stewards`, or any request carrying a token).
    fn is_operator(&self) -> bool {
        self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            || (self.method == Method::POST && ["/v1/anchors", "/v1/stewards"].contains(&self.uri.as_str()))
    }
}

impl World {
    /// Sends a sweep request and checks what it got.
    async fn swept(&self, gw: &Gateway, call: &Call, expect: Expect) -> Result<()> {
        match expect {
            Some((status, code)) => self.refused_by(gw, call, status, code).await.map(drop),
            None => {
                let before = self.snapshot()?;
                let reply = gw.send(call).await;
                ensure!(reply.status < 500, "{call:?}: answered {} {}", reply.status, reply.text);
                if reply.status >= 400 {
                    let code = reply.json.get("error").and_then(Value::as_str).unwrap_or("").to_string();
                    check_error_body(&reply, &code, &format!("{call:?}"))?;
                }
                ensure!(before == self.snapshot()?, "{call:?}: answered {} but changed the store", reply.status);
                Ok(())
            }
        }
    }
}

#[actix_web::test]
async fn no_request_in_the_sweep_gets_a_500_and_none_changes_the_store() -> Result<()> {
    let w = World::new().await?;
    let no_token = Gateway::new(&w.manager, None).await;
    let mut failures = Vec::new();
    for (call, expect) in sweep(&w) {
        if let Err(e) = w.swept(&w.gw, &call, expect).await {
            failures.push(format!("[token] {e:#}"));
        }
        // On a server without a token, operator requests are 403 whatever they carry.
        let expect = if call.is_operator() { Some((403, "admin_disabled")) } else { expect };
        if let Err(e) = w.swept(&no_token, &call, expect).await {
            failures.push(format!("[no token] {e:#}"));
        }
    }
    // Operator routes on the no-token server, whatever the body.
    for call in [
        Call::post("/v1/anchors").raw("application/json", "{"),
        Call::post("/v1/stewards").bearer(TOKEN).raw("text/plain", "x"),
        Call::post("/v1/stewards").bearer(TOKEN).json(&json!({"x": "y".repeat(BIG)})),
    ] {
        if let Err(e) = w.refused_by(&no_token, &call, 403, "admin_disabled").await {
            failures.push(format!("[no token] {e:#}"));
        }
    }
    if !failures.is_empty() {
        bail!("{} request(s) misbehaved:\n{}", failures.len(), failures.join("\n"));
    }
    Ok(())
}
