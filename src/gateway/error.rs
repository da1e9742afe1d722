//! [`ApiError`]: every error the gateway answers, as
//! `{ "error": "<snake_case code>", "message": "<sentence>" }`, with a
//! `Retry-After` header on a 429.
//!
//! **Invariant:** a client fault is never a 500; a 500 logs its cause.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::manager::CommonsError;
use crate::model::error::Refusal;
use crate::model::signing::EnvelopeError;

/// An HTTP error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// snake_case code.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// Whole seconds to wait before retrying, sent as the `Retry-After`
    /// header (every 429 has one: `rate_limited`, `too_many_enrollments`).
    pub retry_after_secs: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after_secs: None }
    }
    /// The same error with a `Retry-After` of `secs` seconds.
    pub fn with_retry_after(self, secs: u64) -> Self {
        Self { retry_after_secs: Some(secs), ..self }
    }
    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// 400 `invalid_json`: a JSON body that does not have the route's shape.
    pub fn invalid_body(cause: &serde_json::Error) -> Self {
        Self::bad_request("invalid_json", format!("request body is not valid for this route: {cause}"))
    }
    /// 500; logs `cause`.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the cause is in the server log")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    /// The JSON error body; a 408 (a body that did not arrive in time) also
    /// closes the connection, whose unread rest cannot be trusted.
    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after_secs {
            response.insert_header((actix_web::http::header::RETRY_AFTER, secs));
        }
        if self.status == StatusCode::REQUEST_TIMEOUT {
            response.force_close();
        }
        response.json(Body { error: self.code, message: &self.message })
    }
}

impl From<EnvelopeError> for ApiError {
    fn from(e: EnvelopeError) -> Self {
        CommonsError::from(Refusal::from(e)).into()
    }
}

impl From<CommonsError> for ApiError {
    /// Maps through [`CommonsError::status`], [`CommonsError::code`] and
    /// [`CommonsError::retry_after_secs`]; a
    /// 5xx is logged with its cause (a 500's cause is not shown to the
    /// client).
    fn from(e: CommonsError) -> Self {
        let status = status(e.status());
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            return Self::internal(&e);
        }
        if status.is_server_error() {
            tracing::warn!(error = %e, "store unavailable");
        }
        let api = Self::new(status, e.code(), e.public_message());
        match e.retry_after_secs() {
            Some(secs) => api.with_retry_after(secs),
            None => api,
        }
    }
}

/// The status for a number the layers below chose (always a valid status).
fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    use super::*;

    use crate::backend::BackendError;
    use crate::store::StoreError;

    fn io(kind: ErrorKind) -> ApiError {
        let source = Error::new(kind, "from the file system");
        CommonsError::from(StoreError::Backend(BackendError::Io { path: "/data/commons.sled".into(), source })).into()
    }

    #[test]
    fn out_of_disk_space_is_503_unavailable() {
        for kind in [ErrorKind::StorageFull, ErrorKind::QuotaExceeded] {
            let e = io(kind);
            assert_eq!((e.status, e.code), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"), "{kind:?}");
            assert!(e.message.contains("out of disk space"), "{}", e.message);
        }
    }

    #[test]
    fn too_many_enrollments_is_429_with_retry_after() {
        let e: ApiError = CommonsError::from(Refusal::TooManyEnrollments { limit: 5, retry_after_secs: 42 }).into();
        assert_eq!(
            (e.status, e.code, e.retry_after_secs),
            (StatusCode::TOO_MANY_REQUESTS, "too_many_enrollments", Some(42))
        );
        let response = e.error_response();
        assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("42"));
        assert_eq!(ApiError::bad_request("invalid_input", "x").error_response().headers().get("retry-after"), None);
    }

    #[test]
    fn other_io_errors_are_500() {
        for kind in [ErrorKind::PermissionDenied, ErrorKind::Other, ErrorKind::UnexpectedEof] {
            assert_eq!(io(kind).status, StatusCode::INTERNAL_SERVER_ERROR, "{kind:?}");
        }
    }
}
