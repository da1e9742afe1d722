//! Talking to the server: the HTTP agent and its bounds, the [`Client`] for
//! one running server (plain, operator and signed-envelope requests), and the
//! two helpers that read a field of an answer or fail saying which.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use commons_gateway::SignedEnvelope;
use ed25519_dalek::SigningKey;
use serde_json::Value;

use crate::DEMO_DEADLINE;

/// Connect timeout of one request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Whole-request timeout of one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP agent every client shares, with the per-request bounds.
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout_connect(CONNECT_TIMEOUT).timeout(REQUEST_TIMEOUT).build()
}

/// HTTP client for one running server.
pub struct Client<'a> {
    pub agent: &'a ureq::Agent,
    pub base: String,
    pub token: &'a str,
    pub deadline: Instant,
}

impl Client<'_> {
    /// Sends a request and returns status and JSON body (non-2xx included).
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>, admin: bool) -> Result<(u16, Value)> {
        ensure!(Instant::now() < self.deadline, "the demo ran past its {}s deadline", DEMO_DEADLINE.as_secs());
        let mut request = self.agent.request(method, &format!("{}{path}", self.base));
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
            Err(ureq::Error::Transport(error)) => bail!("{method} {path}: {error}"),
        };
        let status = response.status();
        let text = response.into_string().with_context(|| format!("{method} {path}: reading the body"))?;
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Ok((status, value))
    }

    /// Sends a request and fails (printing the body) unless the status is `want`.
    pub fn expect(&self, method: &str, path: &str, body: Option<&Value>, admin: bool, want: u16) -> Result<Value> {
        let (status, value) = self.send(method, path, body, admin)?;
        ensure!(status == want, "{method} {path}: expected {want}, got {status}: {value}");
        Ok(value)
    }

    pub fn get(&self, path: &str) -> Result<(u16, Value)> {
        self.send("GET", path, None, false)
    }

    pub fn admin_post(&self, path: &str, body: Value, want: u16) -> Result<Value> {
        self.expect("POST", path, Some(&body), true, want)
    }

    /// POSTs a signed envelope for `action` on `target` with `payload`.
    pub fn signed_post(
        &self,
        path: &str,
        key: &SigningKey,
        action: &str,
        target: &str,
        payload: Value,
        want: u16,
    ) -> Result<Value> {
        let envelope = SignedEnvelope::sign(key, action, target, payload.to_string());
        let body = serde_json::to_value(&envelope).context("serialising an envelope")?;
        self.expect("POST", path, Some(&body), false, want)
    }
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
