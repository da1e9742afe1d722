//! [`CommonsError`]: what a manager operation returns when it does not
//! succeed: a [`Refusal`] by the rules (nothing changed) or a [`StoreError`]
//! (the store failed; see its docs for what was and was not written).
//!
//! **Invariant:** callers classify an error through [`CommonsError::status`]
//! and [`CommonsError::code`], never by matching the variants of the layers
//! below, so the meaning of an error is decided once, where it is raised.

use crate::model::error::Refusal;
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
    /// The HTTP status the gateway answers with (`docs/DOMAIN.md`, "Errors").
    pub fn status(&self) -> u16 {
        match self {
            Self::Refused(r) => r.status(),
            Self::Store(s) => s.status(),
        }
    }

    /// The snake_case error code of the answer body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Refused(r) => r.code(),
            Self::Store(s) => s.code(),
        }
    }

    /// The sentence a client is shown: the whole reason for a refusal; for a
    /// store failure, see [`StoreError::public_message`].
    pub fn public_message(&self) -> String {
        match self {
            Self::Refused(r) => r.to_string(),
            Self::Store(s) => s.public_message(),
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
