//! [`CommonsError`]: what a manager operation returns when it does not
//! succeed: a [`Refusal`] by the rules (nothing changed) or a [`StoreError`]
//! (the store failed; see its docs for what was and was not written).
//!
//! **Invariant:** callers classify an error through [`CommonsError::status`]
//! and [`CommonsError::code`], never by matching the variants of the layers
//! below, so the meaning of an error is decided once, where it is raised.

use crate::model::error::Refusal;
use crate::model::signing::EnvelopeError;
use crate::store::StoreError;

/// Why a commons operation was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommonsError {
    /// The rules refused the action; nothing changed. See [`Refusal`] for
    /// each reason and what to do.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The store failed (HTTP 503 while it cannot serve, 400 for a bad
    /// cursor, else 500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CommonsError {
    /// The HTTP status the gateway answers with (`docs/DOMAIN.md`,
    /// "Errors"), decided here once for every layer:
    /// - a refusal: 400 for bad input (`invalid_input`, `invalid_did`,
    ///   `invalid_id`, `invalid_payload`), 401 for an envelope that is not
    ///   version 2, does not verify, or is outside its time window, 403
    ///   forbidden, 404 not found, 409 for a state conflict, 410 expired, 429
    ///   too many open enrollment sessions (see
    ///   [`CommonsError::retry_after_secs`]);
    /// - a store failure: 400 for a cursor the store did not hand out, 503
    ///   while the store cannot serve (retry later), 500 for the rest.
    pub fn status(&self) -> u16 {
        match self {
            Self::Refused(r) => match r {
                Refusal::InvalidInput { .. } | Refusal::InvalidDid(_) | Refusal::InvalidId { .. } => 400,
                Refusal::Envelope(
                    EnvelopeError::BadSignature { .. }
                    | EnvelopeError::InvalidEnvelope { .. }
                    | EnvelopeError::Expired { .. },
                ) => 401,
                Refusal::Envelope(_) => 400,
                Refusal::Forbidden { .. } => 403,
                Refusal::NotFound { .. } => 404,
                Refusal::InvalidTransition { .. } | Refusal::Conflict { .. } => 409,
                Refusal::Expired { .. } => 410,
                Refusal::TooManyEnrollments { .. } => 429,
            },
            Self::Store(StoreError::InvalidCursor { .. }) => 400,
            Self::Store(s) if s.is_unavailable() => 503,
            Self::Store(_) => 500,
        }
    }

    /// The snake_case error code of the answer body: the refusal's code, or
    /// `invalid_cursor`, `unavailable`, `internal` for a store failure.
    pub fn code(&self) -> &'static str {
        match (self, self.status()) {
            (Self::Refused(r), _) => r.code(),
            (Self::Store(_), 400) => "invalid_cursor",
            (Self::Store(_), 503) => "unavailable",
            (Self::Store(_), _) => "internal",
        }
    }

    /// The sentence a client is shown: the whole reason for a refusal, a
    /// bad cursor or an unavailable store; for a full disk, what became of
    /// the write and what the operator must do; for a 500, only a pointer to
    /// the server log (the cause may name files and keys).
    pub fn public_message(&self) -> String {
        match self {
            Self::Store(s) if s.is_out_of_space() => "the store is out of disk space: this write was not \
                acknowledged (after a restart it is present whole or not at all), and the store serves nothing \
                more until space is freed and the gateway restarted"
                .into(),
            _ if self.status() == 500 => "internal error; the cause is in the server log".into(),
            _ => self.to_string(),
        }
    }

    /// Seconds the client should wait before retrying (the HTTP
    /// `Retry-After` header), for a refusal that passes with time: too many
    /// open enrollment sessions. `None` for every other error.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::Refused(Refusal::TooManyEnrollments { retry_after_secs, .. }) => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// The refusal, when the rules refused.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Self::Refused(r) => Some(r),
            Self::Store(_) => None,
        }
    }
}

/// Result type of the manager.
pub type CommonsResult<T> = Result<T, CommonsError>;
