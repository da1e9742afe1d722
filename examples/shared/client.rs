//! Talking to the server: the HTTP agent and its bounds, the [`Client`] for
//! the running gateways (plain, operator and signed-envelope requests, sent
//! to the gateways in turn when there are several), what became of a request
//! ([`Reply`]: answered, never sent, or sent with no answer), and the two
//! helpers that read a field of an answer or fail saying which.
//!
//! Shared by the `demo` and `soak` examples and the load tool (`load/`;
//! each includes it with `#[path]`); each uses a part, hence the `dead_code` allowance.

#![allow(dead_code)]

use std::cell::Cell;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use commons_gateway::{Clock, EnvelopeHeader, SignedEnvelope, DEFAULT_AUDIENCE};
use ed25519_dalek::SigningKey;
use serde_json::Value;

/// Connect timeout of one request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Whole-request timeout of one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP agent every client shares, with the per-request bounds.
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout_connect(CONNECT_TIMEOUT).timeout(REQUEST_TIMEOUT).build()
}

/// What became of one request.
#[derive(Debug)]
pub enum Reply {
    /// The server answered: the status and the body as JSON (`null` when
    /// empty, a JSON string when the body is not JSON).
    Answered(u16, Value),
    /// No connection could be made: the request never reached a server, so
    /// it changed nothing. The error, as a sentence.
    NotSent(String),
    /// The request may have reached the server, but no whole answer came
    /// back (the connection broke, or the request timed out): it may or may
    /// not have taken effect. The error, as a sentence.
    NoAnswer(String),
}

/// One running gateway as a client sees it.
struct Gateway {
    /// How the story names it (`server`, `gateway A`, `gateway B`).
    name: &'static str,
    /// `http://127.0.0.1:PORT`.
    base: String,
    /// Requests this client sent it.
    sent: Cell<usize>,
}

/// HTTP client for one or more running gateways that serve the same store.
/// With several, each request goes to the next gateway in turn, as an HTTP
/// load balancer in front of them would spread requests: a session started
/// through one gateway is continued through the other.
pub struct Client<'a> {
    agent: &'a ureq::Agent,
    gateways: Vec<Gateway>,
    next: Cell<usize>,
    token: &'a str,
    deadline: Instant,
}

impl<'a> Client<'a> {
    /// A client for `gateways` (`(name, base URL)`, at least one), with the
    /// operator `token`; no request is started after `deadline`.
    pub fn new(
        agent: &'a ureq::Agent,
        gateways: Vec<(&'static str, String)>,
        token: &'a str,
        deadline: Instant,
    ) -> Self {
        let gateways = gateways.into_iter().map(|(name, base)| Gateway { name, base, sent: Cell::new(0) }).collect();
        Self { agent, gateways, next: Cell::new(0), token, deadline }
    }

    /// With several gateways, how the requests were spread, e.g.
    /// ` (requests: 402 via gateway A, 400 via gateway B)`; empty with one.
    pub fn spread(&self) -> String {
        if self.gateways.len() < 2 {
            return String::new();
        }
        let parts: Vec<String> = self.gateways.iter().map(|g| format!("{} via {}", g.sent.get(), g.name)).collect();
        format!(" (requests: {})", parts.join(", "))
    }

    /// The gateway the next request goes to, counted as sent to.
    fn pick(&self) -> Result<&Gateway> {
        let i = self.next.get();
        self.next.set(i.wrapping_add(1));
        let gateway =
            self.gateways.get(i % self.gateways.len().max(1)).ok_or_else(|| anyhow!("a client without gateways"))?;
        gateway.sent.set(gateway.sent.get() + 1);
        Ok(gateway)
    }

    /// `METHOD PATH`, and the gateway when there are several, for messages.
    fn route(&self, method: &str, path: &str, gateway: &Gateway) -> String {
        if self.gateways.len() < 2 {
            format!("{method} {path}")
        } else {
            format!("{method} {path} via {}", gateway.name)
        }
    }

    /// Sends a request and returns status and JSON body (non-2xx included);
    /// a request without an answer is an error naming the route.
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>, admin: bool) -> Result<(u16, Value)> {
        self.send_routed(method, path, body, admin).map(|(status, value, _)| (status, value))
    }

    /// [`Client::send`], also returning the route as messages show it.
    fn send_routed(&self, method: &str, path: &str, body: Option<&Value>, admin: bool) -> Result<(u16, Value, String)> {
        let (reply, route) = self.request_routed(method, path, body, admin)?;
        match reply {
            Reply::Answered(status, value) => Ok((status, value, route)),
            Reply::NotSent(error) | Reply::NoAnswer(error) => bail!("{route}: {error}"),
        }
    }

    /// Sends a request and says what became of it. Fails only when the
    /// client may not send it (past its deadline).
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>, admin: bool) -> Result<Reply> {
        self.request_routed(method, path, body, admin).map(|(reply, _)| reply)
    }

    /// Sends a version-2 envelope (see [`Client::signed_post`]) with
    /// `method` and says what became of it, as [`Client::request`].
    pub fn signed(
        &self,
        method: &str,
        path: &str,
        key: &SigningKey,
        action: &str,
        target: &str,
        payload: &Value,
    ) -> Result<Reply> {
        self.request(method, path, Some(&envelope(key, action, target, payload)?), false)
    }

    /// [`Client::request`], also returning the route as messages show it.
    fn request_routed(&self, method: &str, path: &str, body: Option<&Value>, admin: bool) -> Result<(Reply, String)> {
        ensure!(Instant::now() < self.deadline, "{method} {path}: the run is past its deadline");
        let gateway = self.pick()?;
        let route = self.route(method, path, gateway);
        let mut request = self.agent.request(method, &format!("{}{path}", gateway.base));
        if admin {
            request = request.set("Authorization", &format!("Bearer {}", self.token));
        }
        let result = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            // Refused at connect: nothing of the request left this process.
            Err(ureq::Error::Transport(error)) if error.kind() == ureq::ErrorKind::ConnectionFailed => {
                return Ok((Reply::NotSent(error.to_string()), route));
            }
            Err(ureq::Error::Transport(error)) => return Ok((Reply::NoAnswer(error.to_string()), route)),
        };
        let status = response.status();
        let text = match response.into_string() {
            Ok(text) => text,
            Err(error) => {
                return Ok((Reply::NoAnswer(format!("reading the body of a {status} answer: {error}")), route))
            }
        };
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Ok((Reply::Answered(status, value), route))
    }

    /// Sends a request and fails (printing the body) unless the status is `want`.
    pub fn expect(&self, method: &str, path: &str, body: Option<&Value>, admin: bool, want: u16) -> Result<Value> {
        let (status, value, route) = self.send_routed(method, path, body, admin)?;
        ensure!(status == want, "{route}: expected {want}, got {status}: {value}");
        Ok(value)
    }

    /// `GET path`: status and JSON body (see [`Client::send`]).
    pub fn get(&self, path: &str) -> Result<(u16, Value)> {
        self.send("GET", path, None, false)
    }

    /// `POST path` with the operator token; fails unless the status is
    /// `want` (see [`Client::expect`]).
    pub fn admin_post(&self, path: &str, body: Value, want: u16) -> Result<Value> {
        self.expect("POST", path, Some(&body), true, want)
    }

    /// POSTs a signed envelope (version 2: the gateway's default audience,
    /// made now, valid 300 s, a fresh nonce) for `action` on `target` with
    /// `payload`.
    pub fn signed_post(
        &self,
        path: &str,
        key: &SigningKey,
        action: &str,
        target: &str,
        payload: Value,
        want: u16,
    ) -> Result<Value> {
        self.expect("POST", path, Some(&envelope(key, action, target, &payload)?), false, want)
    }

    /// As [`Client::signed_post`], then sends the very same envelope again,
    /// as someone who captured it would: it must be answered 409 `replayed`.
    /// Returns the first answer.
    pub fn signed_post_then_replay(
        &self,
        path: &str,
        key: &SigningKey,
        action: &str,
        target: &str,
        payload: Value,
        want: u16,
    ) -> Result<Value> {
        let body = envelope(key, action, target, &payload)?;
        let first = self.expect("POST", path, Some(&body), false, want)?;
        let replay = self.expect("POST", path, Some(&body), false, 409)?;
        expect_eq(
            &replay["error"],
            &Value::from("replayed"),
            &format!("POST {path} (the same envelope again)"),
            "error",
        )?;
        Ok(first)
    }
}

/// A version-2 envelope (the gateway's default audience, made now, valid
/// 300 s, a fresh nonce) of `action` on `target` over `payload`, as JSON.
pub fn envelope(key: &SigningKey, action: &str, target: &str, payload: &Value) -> Result<Value> {
    let header = EnvelopeHeader::new(DEFAULT_AUDIENCE, Clock::System.now(), 300);
    let envelope = SignedEnvelope::sign(key, &header, action, target, payload.to_string());
    serde_json::to_value(&envelope).context("serialising an envelope")
}

/// Fails unless `got` (the answer's `field`) is `want`.
pub fn expect_eq(got: &Value, want: &Value, context: &str, field: &str) -> Result<()> {
    ensure!(got == want, "{context}: `{field}` is {got}, expected {want}");
    Ok(())
}

/// The answer's string `field`, or a failure naming it.
pub fn string_field(value: &Value, field: &str, context: &str) -> Result<String> {
    value[field].as_str().map(str::to_string).ok_or_else(|| anyhow!("{context}: no string `{field}` in {value}"))
}
