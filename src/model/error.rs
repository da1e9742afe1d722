//! [`CommonsError`]: the domain layer's error (model rules and manager
//! operations). Each variant maps to one HTTP status in the gateway.

use crate::model::did::InvalidDid;
use crate::model::signing::EnvelopeError;
use crate::store::StoreError;

/// Why a commons operation was refused or failed. Refusals (every variant but
/// [`CommonsError::Store`]) change nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommonsError {
    /// A field of the request is out of its allowed range or shape (HTTP 400
    /// `invalid_input`). Fix the field named.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field, as named in the request.
        field: &'static str,
        /// What is allowed.
        reason: String,
    },
    /// A DID is not the canonical `did:key` spelling (HTTP 400 `invalid_did`).
    #[error(transparent)]
    InvalidDid(#[from] InvalidDid),
    /// An id is not of its entity's form (64 lowercase hex, or a UUID)
    /// (HTTP 400 `invalid_id`). Ids never become keys unchecked.
    #[error("invalid {entity} id {id:?}: expected {expected}")]
    InvalidId {
        /// The entity (`anchor`, `enrollment`, ...).
        entity: &'static str,
        /// The refused id (first 120 characters).
        id: String,
        /// The form expected.
        expected: &'static str,
    },
    /// A signed envelope was refused (HTTP 401 `bad_signature`, or 400).
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The signer is not allowed to take this action (HTTP 403 `forbidden`).
    #[error("not allowed: {reason}")]
    Forbidden {
        /// Who may take it instead.
        reason: String,
    },
    /// No record with that id (HTTP 404 `not_found`).
    #[error("{entity} {id} not found")]
    NotFound {
        /// The entity.
        entity: &'static str,
        /// The id (or DID / domain) looked up.
        id: String,
    },
    /// The record's state does not allow the action (HTTP 409
    /// `invalid_transition`). Nothing changed; read the record and retry if
    /// its state has moved on.
    #[error("{entity} {id} is {from}; cannot {action}")]
    InvalidTransition {
        /// The entity.
        entity: &'static str,
        /// The record's id.
        id: String,
        /// Its current state.
        from: String,
        /// The action refused.
        action: &'static str,
    },
    /// A duplicate or another state conflict (HTTP 409 with `code`, e.g.
    /// `already_exists`, `already_enrolled`, `already_signed`).
    #[error("{message}")]
    Conflict {
        /// Machine-readable snake_case code.
        code: &'static str,
        /// A sentence for people.
        message: String,
    },
    /// The record has expired (HTTP 410 `expired`); start again.
    #[error("{entity} {id} has expired")]
    Expired {
        /// The entity.
        entity: &'static str,
        /// Its id.
        id: String,
    },
    /// The store failed (HTTP 503 when unavailable or locked, else 500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CommonsError {
    /// Shorthand for [`CommonsError::InvalidInput`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidInput { field, reason: reason.into() }
    }
    /// Shorthand for [`CommonsError::Conflict`].
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into() }
    }
    /// Shorthand for [`CommonsError::Forbidden`].
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::Forbidden { reason: reason.into() }
    }
    /// Shorthand for [`CommonsError::NotFound`].
    pub fn not_found(entity: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound { entity, id: id.into() }
    }
}

/// Result type of the domain layer.
pub type CommonsResult<T> = Result<T, CommonsError>;
