//! The measured requests: one keep-alive connection per client thread
//! ([`Http`]), answers read whole but parsed only where a field is needed,
//! and timing that records an answer with the expected status as an
//! operation and any other as an error under its status.
//!
//! Setup (founding the commons, setting up voters) goes through the shared
//! example client (`examples/shared/client.rs`), which checks every answer;
//! this module is the lean path the measurements take.

use std::time::Duration;

use crate::stats::Recorder;

/// Connect timeout of one request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole-request timeout of one request (a request over it counts as
/// status 0, no answer).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One answer: its status (0 when none came) and its body (the transport
/// error's text when none came).
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status, or 0 when no answer came.
    pub status: u16,
    /// The body as text, or the error.
    pub body: String,
}

/// A client of one gateway with an agent of its own (so each client thread
/// keeps its own connection alive).
pub struct Http {
    agent: ureq::Agent,
    base: String,
    authorization: String,
}

impl Http {
    /// A client of `base` (`http://127.0.0.1:PORT`) that sends `token` on
    /// operator requests.
    pub fn new(base: &str, token: &str) -> Self {
        let agent = ureq::AgentBuilder::new().timeout_connect(CONNECT_TIMEOUT).timeout(REQUEST_TIMEOUT).build();
        Self { agent, base: base.to_string(), authorization: format!("Bearer {token}") }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Answer {
        answer(self.agent.get(&format!("{}{path}", self.base)).call())
    }

    /// `POST path` with a JSON `body`, with the operator token when `admin`.
    pub fn post(&self, path: &str, body: &str, admin: bool) -> Answer {
        let mut request = self.agent.post(&format!("{}{path}", self.base)).set("Content-Type", "application/json");
        if admin {
            request = request.set("Authorization", &self.authorization);
        }
        answer(request.send_string(body))
    }
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> Answer {
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(ureq::Error::Transport(error)) => return Answer { status: 0, body: error.to_string() },
    };
    let status = response.status();
    match response.into_string() {
        Ok(body) => Answer { status, body },
        Err(error) => Answer { status: 0, body: format!("reading the body of a {status} answer: {error}") },
    }
}

/// Whether `answer` has the `want`ed status; if not, it is counted as an
/// error of `recorder` under its status.
pub fn expected(recorder: &mut Recorder, answer: &Answer, want: u16) -> bool {
    if answer.status == want {
        true
    } else {
        recorder.error(answer.status, &answer.body);
        false
    }
}

/// The `next_cursor` of a page answer (`{"items":[...],"next_cursor":"ab12"}`
/// or `null`), read from the end of the body without parsing the items.
/// `Err(())` when the body has no such field.
pub fn next_cursor(body: &str) -> Result<Option<String>, ()> {
    const FIELD: &str = "\"next_cursor\":";
    let at = body.rfind(FIELD).ok_or(())?;
    let rest = body[at + FIELD.len()..].trim_start();
    if rest.starts_with("null") {
        return Ok(None);
    }
    let quoted = rest.strip_prefix('"').ok_or(())?;
    let end = quoted.find('"').ok_or(())?;
    Ok(Some(quoted[..end].to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_cursor_is_read_from_the_end_of_a_page() {
        let page = r#"{"items":[{"holder_id":"aa","next_cursor":"decoy"}],"next_cursor":"6d656d626572"}"#;
        assert_eq!(next_cursor(page), Ok(Some("6d656d626572".to_string())));
        assert_eq!(next_cursor(r#"{"items":[],"next_cursor":null}"#), Ok(None));
        assert_eq!(next_cursor(r#"{"items":[], "next_cursor": "ff"}"#), Ok(Some("ff".to_string())));
        assert_eq!(next_cursor(r#"{"error":"not_found","message":"no charter"}"#), Err(()));
        assert_eq!(next_cursor(r#"{"next_cursor":"unterminated"#), Err(()));
    }

    #[test]
    fn an_unexpected_status_is_an_error_under_that_status() -> anyhow::Result<()> {
        let mut recorder = Recorder::new()?;
        assert!(expected(&mut recorder, &Answer { status: 201, body: String::new() }, 201));
        assert!(!expected(&mut recorder, &Answer { status: 409, body: "replayed".into() }, 201));
        assert!(!expected(&mut recorder, &Answer { status: 0, body: "refused".into() }, 201));
        let outcome = crate::stats::Outcome::merge("x", 1, Duration::from_secs(1), vec![recorder])?;
        assert_eq!(outcome.errors.into_iter().collect::<Vec<_>>(), [(0, 1), (409, 1)]);
        assert_eq!(outcome.ops, 0);
        Ok(())
    }
}
