//! Limits every `/v1` request is held to ([`check_request`], a middleware on
//! the `/v1` scope): the length of the request target ([`MAX_URI_BYTES`],
//! else 414 `uri_too_long`, before anything else), and, when a route reads
//! the body (so after the operator token was checked), the content type
//! (`application/json` with no parameter but `charset=utf-8`, else 415
//! `unsupported_media_type`) and the body's deadline ([`BodyDeadline`]: a
//! body that has not fully arrived in time is a 408 `request_timeout` and the
//! connection is closed). Both body rules live in the body stream itself
//! ([`GuardedBody`]), whose errors the JSON extractor's error handler maps
//! ([`body_refusal`]).
//!
//! What the HTTP/1 layer answers before any of this runs, with an empty body
//! (no application code can answer it): a connection's first request head
//! that has not arrived within `serve --head-timeout-secs` (408, connection
//! closed; later heads are timed by the server's connection watchdog); a request
//! target over 65,534 bytes, the most the `http` crate's `Uri` holds (400);
//! a request head over 128 KiB or with more than 96 header fields (431); a request that is not HTTP (400).
//!
//! **Invariant:** a request refused here reaches no handler and no extractor,
//! so it changes nothing in the store.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::rt::time::{sleep, Sleep};
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, HttpRequest, ResponseError};
use futures_core::Stream;

use super::error::ApiError;

/// Longest request target (path and query, as sent), in bytes (8 KiB);
/// longer is a 414 `uri_too_long`.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Default of `serve --head-timeout-secs`: seconds from a connection's
/// opening to the end of its first request head, and from the end of an
/// answer to the end of the next request head on the same connection.
pub const DEFAULT_HEAD_TIMEOUT_SECS: u64 = 10;

/// Default of `serve --body-timeout-secs`: seconds from the end of a request
/// head to the last byte of its body.
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 30;

/// The longest head or body deadline, in seconds (one hour): longer ones
/// are refused by `serve` and cut to this by [`crate::gateway::serve`] (a
/// deadline is added to the clock, which must not overflow).
pub const MAX_DEADLINE_SECS: u64 = 3600;

/// How long a request body may take to arrive, counted from the moment its
/// head was read; kept in the app's data (`web::Data<BodyDeadline>`).
/// Without it a request has [`DEFAULT_BODY_TIMEOUT_SECS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BodyDeadline(pub Duration);

impl Default for BodyDeadline {
    fn default() -> Self {
        Self(Duration::from_secs(DEFAULT_BODY_TIMEOUT_SECS))
    }
}

/// The 414 answer when `req`'s target is over [`MAX_URI_BYTES`].
pub(super) fn uri_too_long(req: &HttpRequest) -> Option<ApiError> {
    let len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    (len > MAX_URI_BYTES).then(|| {
        ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target is {len} bytes; at most {MAX_URI_BYTES} are accepted"),
        )
    })
}

/// Whether a `Content-Type` value is `application/json` with no parameter
/// but `charset=utf-8` (names and values compared case-insensitively).
fn is_json_utf8(value: &str) -> bool {
    // HTTP allows whitespace around the `;` (RFC 9110 section 5.6.6); the
    // `mime` parser does not, so the parts are trimmed first.
    let parts: Vec<&str> = value.split(';').map(str::trim).collect();
    let Ok(mime) = parts.join("; ").parse::<actix_web::mime::Mime>() else { return false };
    mime.essence_str() == "application/json"
        && mime.params().all(|(name, value)| {
            name.as_str().eq_ignore_ascii_case("charset") && value.as_str().eq_ignore_ascii_case("utf-8")
        })
}

/// Whether `req` names a content type that is not JSON in UTF-8. A request
/// without the header is not judged here: the JSON extractor refuses it
/// (415) when a route reads its body.
fn wrong_content_type(req: &HttpRequest) -> bool {
    req.headers().get(CONTENT_TYPE).is_some_and(|value| !value.to_str().is_ok_and(is_json_utf8))
}

/// The middleware of the `/v1` scope: refuses a target over
/// [`MAX_URI_BYTES`] (414), then hands the request on with its body in a
/// [`GuardedBody`].
pub(super) async fn check_request(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(refusal) = uri_too_long(req.request()) {
        return Ok(req.into_response(refusal.error_response()).map_into_right_body());
    }
    let deadline = req.app_data::<web::Data<BodyDeadline>>().map_or_else(BodyDeadline::default, |d| *d.get_ref());
    let body = GuardedBody {
        inner: req.take_payload(),
        wrong_content_type: wrong_content_type(req.request()),
        timer: Box::pin(sleep(deadline.0)),
        after: deadline.0,
        done: false,
    };
    req.set_payload(Payload::from(Box::pin(body) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>));
    Ok(next.call(req).await?.map_into_left_body())
}

/// A request body held to the two body rules when it is read: its first read
/// fails if the request named a content type other than JSON in UTF-8
/// ([`WrongContentType`]), and a read fails with
/// [`io::ErrorKind::TimedOut`] once the deadline has passed before the last
/// chunk arrived. After a failure the stream ends.
struct GuardedBody {
    inner: Payload,
    wrong_content_type: bool,
    timer: Pin<Box<Sleep>>,
    after: Duration,
    done: bool,
}

/// The error a [`GuardedBody`] fails with when its content type is not JSON
/// in UTF-8.
#[derive(Debug, thiserror::Error)]
#[error("the body's content type is not application/json in UTF-8")]
struct WrongContentType;

/// The answer for a body read that a [`GuardedBody`] failed: 408
/// `request_timeout` (the deadline passed; the connection is then closed) or
/// 415 `unsupported_media_type`; `None` for any other payload error.
pub(super) fn body_refusal(err: &PayloadError) -> Option<ApiError> {
    let PayloadError::Io(e) = err else { return None };
    if e.kind() == io::ErrorKind::TimedOut {
        return Some(ApiError::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", e.to_string()));
    }
    e.get_ref().is_some_and(|inner| inner.is::<WrongContentType>()).then(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json (charset utf-8, or no charset)",
        )
    })
}

impl Stream for GuardedBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.wrong_content_type {
            self.done = true;
            return Poll::Ready(Some(Err(PayloadError::Io(io::Error::other(WrongContentType)))));
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.timer.as_mut().poll(cx).is_ready() {
            self.done = true;
            let message = format!("the request body did not arrive within {} s", self.after.as_secs());
            return Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(io::ErrorKind::TimedOut, message)))));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::is_json_utf8;

    #[test]
    fn only_json_in_utf8_is_a_json_content_type() {
        for good in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON; Charset=UTF-8",
            "application/json ; charset=utf-8",
            "application/json;charset=utf-8",
        ] {
            assert!(is_json_utf8(good), "{good}");
        }
        for bad in [
            "application/json; charset=utf-16",
            "application/json; charset=latin1",
            "application/json; boundary=x",
            "application/vnd.api+json",
            "text/json",
            "text/plain",
            "application/json;;",
            "",
        ] {
            assert!(!is_json_utf8(bad), "{bad}");
        }
    }
}
