//! [`ApiError`]: every error the gateway answers, as
//! `{ "error": "<snake_case code>", "message": "<sentence>" }`.
//!
//! **Invariant:** a client fault is never a 500; a 500 logs its cause.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::backend::BackendError;
use crate::model::error::CommonsError;
use crate::model::signing::EnvelopeError;
use crate::store::StoreError;

/// An HTTP error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// snake_case code.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
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
    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(Body { error: self.code, message: &self.message })
    }
}

impl From<EnvelopeError> for ApiError {
    fn from(e: EnvelopeError) -> Self {
        match &e {
            EnvelopeError::InvalidDid(_) => Self::bad_request("invalid_did", e.to_string()),
            EnvelopeError::BadSignature { .. } => Self::new(StatusCode::UNAUTHORIZED, "bad_signature", e.to_string()),
            EnvelopeError::InvalidPayload { .. } => Self::bad_request("invalid_payload", e.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::InvalidCursor { .. } => Self::bad_request("invalid_cursor", e.to_string()),
            StoreError::Backend(BackendError::Unavailable { .. } | BackendError::Locked { .. }) => {
                tracing::warn!(error = %e, "store unavailable");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string())
            }
            StoreError::Backend(b) if b.is_out_of_space() => {
                tracing::error!(error = %e, "store is out of disk space; it has stopped until the process restarts");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the store is out of disk space: this write was not acknowledged (after a restart it is \
                     present whole or not at all), and the store serves nothing more until space is freed and \
                     the gateway restarted",
                )
            }
            _ => Self::internal(&e),
        }
    }
}

impl From<CommonsError> for ApiError {
    fn from(e: CommonsError) -> Self {
        let msg = e.to_string();
        match e {
            CommonsError::InvalidInput { .. } => Self::bad_request("invalid_input", msg),
            CommonsError::InvalidDid(_) => Self::bad_request("invalid_did", msg),
            CommonsError::InvalidId { .. } => Self::bad_request("invalid_id", msg),
            CommonsError::Envelope(env) => env.into(),
            CommonsError::Forbidden { .. } => Self::new(StatusCode::FORBIDDEN, "forbidden", msg),
            CommonsError::NotFound { .. } => Self::new(StatusCode::NOT_FOUND, "not_found", msg),
            CommonsError::InvalidTransition { .. } => Self::new(StatusCode::CONFLICT, "invalid_transition", msg),
            CommonsError::Conflict { code, .. } => Self::new(StatusCode::CONFLICT, code, msg),
            CommonsError::Expired { .. } => Self::new(StatusCode::GONE, "expired", msg),
            CommonsError::Store(s) => s.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    use super::*;

    fn io(kind: ErrorKind) -> ApiError {
        let source = Error::new(kind, "from the file system");
        StoreError::Backend(BackendError::Io { path: "/data/commons.sled".into(), source }).into()
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
    fn other_io_errors_are_500() {
        for kind in [ErrorKind::PermissionDenied, ErrorKind::Other, ErrorKind::UnexpectedEof] {
            assert_eq!(io(kind).status, StatusCode::INTERNAL_SERVER_ERROR, "{kind:?}");
        }
    }
}
