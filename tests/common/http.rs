//! Requests and replies as data, and the gateway's actix app in process.
//!
//! - [`Call`]: one HTTP request (method, URI, headers, body), built with a
//!   few verbs (`bearer`, `json`, `raw`, `signed`) and printed whole when a
//!   check fails, so a table row needs no other name for its request;
//! - [`Reply`]: a status, the content type and the body (as text and JSON);
//! - [`Gateway`]: `configure` over one manager with an operator token (or
//!   none), type-erased so helpers need not name actix's service types;
//!   [`Gateway::expect`] checks a status, [`Gateway::refused`] a JSON error
//!   `{"error", "message"}` with no row of the store changed, and
//!   [`Gateway::refuse_all`] a table of such refusals, one row a request.
//!
//! The spawned binary takes the same [`Call`]s and answers the same
//! [`Reply`]s (`common::process::Server`).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::dev::Service;
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use actix_web::http::Method;
use actix_web::test::{self, TestRequest};
use actix_web::{web, App};
use anyhow::{ensure, Context, Result};
use commons_gateway::gateway::{configure, AdminToken};
use commons_gateway::{Clock, CommonsManager, CommonsStoreBackend, SignedEnvelope, StoreConfig};
use serde_json::Value;

use super::keys::Person;
use super::world::T0;

/// The operator token of every test gateway.
pub const TOKEN: &str = "secret-operator-token";
/// 100 KiB: over the gateway's 64 KiB body limit.
pub const BIG: usize = 100 * 1024;

/// An HTTP request, kept as data so that failures can name it.
#[derive(Clone)]
pub struct Call {
    pub method: Method,
    pub uri: String,
    pub headers: Vec<(&'static str, Vec<u8>)>,
    pub body: Option<Vec<u8>>,
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
    pub fn new(method: Method, uri: impl Into<String>) -> Self {
        Self { method, uri: uri.into(), headers: Vec::new(), body: None }
    }
    pub fn get(uri: impl Into<String>) -> Self {
        Self::new(Method::GET, uri)
    }
    pub fn post(uri: impl Into<String>) -> Self {
        Self::new(Method::POST, uri)
    }
    pub fn put(uri: impl Into<String>) -> Self {
        Self::new(Method::PUT, uri)
    }
    pub fn patch(uri: impl Into<String>) -> Self {
        Self::new(Method::PATCH, uri)
    }
    /// Sets header `name` (replacing an earlier value).
    pub fn header(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name, value.into()));
        self
    }
    pub fn without_header(mut self, name: &'static str) -> Self {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self
    }
    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }
    /// With the operator token [`TOKEN`].
    pub fn operator(self) -> Self {
        self.bearer(TOKEN)
    }
    /// A JSON body (content type `application/json`).
    pub fn json(self, body: &Value) -> Self {
        self.raw("application/json", body.to_string())
    }
    /// A body with this content type.
    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self.header("content-type", content_type)
    }
    /// The envelope `env` as the JSON body.
    pub fn envelope(self, env: &SignedEnvelope) -> Self {
        self.json(&serde_json::to_value(env).unwrap_or(Value::Null))
    }
    /// The JSON body of `who`'s envelope of `action` on `target` over
    /// `payload` (JSON, or any text).
    pub fn signed(self, who: &Person, action: &str, target: &str, payload: impl ToString) -> Self {
        self.envelope(&who.envelope(action, target, payload))
    }
    /// Whether the request carries an `Authorization` header.
    pub fn has_token(&self) -> bool {
        self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
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
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    /// The body as JSON, or `Null`.
    pub json: Value,
    /// The raw body.
    pub text: String,
    /// The `Retry-After` header, if the answer has one.
    pub retry_after: Option<String>,
}

impl Reply {
    /// The body's string field `name`.
    pub fn field(&self, name: &str) -> Result<String> {
        self.json
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .with_context(|| format!("no string field {name} in {}", self.text))
    }
}

/// Checks the error body shape: exactly `{"error": code, "message": <non-empty>}`, as JSON.
pub fn check_error_body(reply: &Reply, code: &str, what: &str) -> Result<()> {
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

/// Percent-encodes everything but unreserved characters and `:`.
pub fn escape(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A fresh temporary store of this build's engine, with a manual clock at
/// [`T0`], as the gateway's app data.
pub fn temporary_manager() -> Result<web::Data<CommonsManager>> {
    let m: CommonsManager = CommonsManager::temporary(&StoreConfig::default())?.with_clock(Clock::manual(T0));
    Ok(web::Data::new(m))
}

type Responder = Rc<dyn Fn(TestRequest) -> Pin<Box<dyn Future<Output = Reply>>>>;

/// The app over one manager.
#[derive(Clone)]
pub struct Gateway {
    app: Responder,
    manager: web::Data<CommonsManager>,
}

impl Gateway {
    /// An app over `manager` with operator token `token` (`None`: no token
    /// configured, operator routes disabled).
    pub async fn new(manager: &web::Data<CommonsManager>, token: Option<&str>) -> Self {
        let token = web::Data::new(AdminToken::new(token.map(str::to_string)));
        let service = Rc::new(
            test::init_service(App::new().app_data(manager.clone()).app_data(token).configure(configure)).await,
        );
        let app: Responder = Rc::new(move |req: TestRequest| {
            let service = service.clone();
            Box::pin(async move {
                let resp = match service.call(req.to_request()).await {
                    Ok(r) => r.map_into_boxed_body().into_parts().1,
                    Err(e) => e.error_response(),
                };
                let status = resp.status().as_u16();
                let content_type =
                    resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let retry_after = resp.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_string);
                let bytes = actix_web::body::to_bytes(resp.into_body()).await.unwrap_or_default();
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                Reply { status, content_type, json, text, retry_after }
            }) as Pin<Box<dyn Future<Output = Reply>>>
        });
        Self { app, manager: manager.clone() }
    }

    /// The manager under the app.
    pub fn manager(&self) -> &web::Data<CommonsManager> {
        &self.manager
    }

    pub async fn send(&self, call: &Call) -> Reply {
        (self.app)(call.to_request()).await
    }

    /// Sends `call` and checks the status, and that the answer is JSON.
    pub async fn expect(&self, call: &Call, status: u16) -> Result<Reply> {
        let reply = self.send(call).await;
        ensure!(reply.status == status, "{call:?}: expected {status}, got {} {}", reply.status, reply.text);
        ensure!(reply.content_type.starts_with("application/json"), "{call:?}: content type {:?}", reply.content_type);
        Ok(reply)
    }

    /// Every row of the store, in key order.
    pub fn snapshot(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self.manager.store().backend().scan(b"")?)
    }

    /// Sends `call`; checks that it is refused with `status` and `code` as
    /// a JSON error body, and that no row of the store changed.
    pub async fn refused(&self, call: &Call, status: u16, code: &str) -> Result<Reply> {
        let before = self.snapshot()?;
        let reply = self.send(call).await;
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

    /// Sends every row's request; each must be [`Gateway::refused`] with its
    /// status and code. A failure names its row.
    pub async fn refuse_all(&self, rows: Vec<(&str, Call, u16, &str)>) -> Result<()> {
        for (name, call, status, code) in rows {
            self.refused(&call, status, code).await.with_context(|| format!("row {name:?}"))?;
        }
        Ok(())
    }
}
