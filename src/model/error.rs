//! [`Refusal`]: why the rules of the commons refuse an action, and
//! [`ConflictCode`], the one list of the 409 codes (`docs/DOMAIN.md`,
//! "Errors" and "Conflict codes").
//!
//! **Invariant:** a refusal changes nothing. This module knows nothing of
//! storage or HTTP: which HTTP status answers which refusal is decided once,
//! by the manager's `CommonsError::status`.

use crate::model::did::InvalidDid;
use crate::model::signing::EnvelopeError;

/// Why the rules refused an action. Nothing changed; each variant says what
/// the caller should do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
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
    /// A signed envelope was refused (HTTP 401 `bad_signature`, or 400; see
    /// [`EnvelopeError`]).
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
    /// `invalid_transition`). Read the record and retry if its state has
    /// moved on.
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
    /// A duplicate or another state conflict (HTTP 409 with the code's
    /// snake_case name).
    #[error("{message}")]
    Conflict {
        /// Which conflict.
        code: ConflictCode,
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
    /// As many enrollment sessions are open as the commons keeps at once
    /// (HTTP 429 `too_many_enrollments`, with `Retry-After`). Nothing was
    /// written; retry after `retry_after_secs`, by which time a session may
    /// have completed or expired.
    #[error(
        "{limit} enrollment sessions are open, the most this gateway keeps at once; retry in {retry_after_secs} s, \
         as sessions complete or expire"
    )]
    TooManyEnrollments {
        /// The cap on open sessions.
        limit: usize,
        /// Seconds to wait before retrying (at least 1).
        retry_after_secs: u64,
    },
}

impl Refusal {
    /// Shorthand for [`Refusal::InvalidInput`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidInput { field, reason: reason.into() }
    }
    /// Shorthand for [`Refusal::Conflict`].
    pub fn conflict(code: ConflictCode, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into() }
    }
    /// Shorthand for [`Refusal::Forbidden`].
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::Forbidden { reason: reason.into() }
    }
    /// Shorthand for [`Refusal::NotFound`].
    pub fn not_found(entity: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound { entity, id: id.into() }
    }

    /// The snake_case error code (`invalid_input`, `forbidden`, a
    /// [`ConflictCode`], ...; `docs/DOMAIN.md`, "Errors").
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput { .. } => "invalid_input",
            Self::InvalidDid(_) => "invalid_did",
            Self::InvalidId { .. } => "invalid_id",
            Self::Envelope(e) => e.code(),
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound { .. } => "not_found",
            Self::InvalidTransition { .. } => "invalid_transition",
            Self::Conflict { code, .. } => code.as_str(),
            Self::Expired { .. } => "expired",
            Self::TooManyEnrollments { .. } => "too_many_enrollments",
        }
    }
}

macro_rules! conflict_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal,)*) => {
        /// Every 409 conflict a rule can raise besides `invalid_transition`,
        /// listed once (`docs/DOMAIN.md`, "Conflict codes"). The answer body's
        /// `error` is [`ConflictCode::as_str`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ConflictCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ConflictCode {
            /// Every code, in the order of `docs/DOMAIN.md`.
            pub const ALL: &'static [ConflictCode] = &[$(ConflictCode::$variant,)*];

            /// The snake_case code, e.g. `"revocation_open"`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ConflictCode::$variant => $code,)*
                }
            }
        }
    };
}

conflict_codes! {
    /// The record exists already: a second anchor for a principal, a second
    /// charter for a domain, a second steward record.
    AlreadyExists = "already_exists",
    /// The principal finishing an enrollment already has an anchor.
    AlreadyEnrolled = "already_enrolled",
    /// This founder has already signed the charter.
    AlreadySigned = "already_signed",
    /// This member has already voted on the amendment.
    AlreadyVoted = "already_voted",
    /// The revocation's appeal deadline has passed.
    AppealDeadlinePassed = "appeal_deadline_passed",
    /// The appellant already has an open appeal of this steward's action.
    AppealOpen = "appeal_open",
    /// The charter (jurisdiction) is not Active.
    CharterNotActive = "charter_not_active",
    /// A record read for this action changed under it; read again and retry.
    ConcurrentChange = "concurrent_change",
    /// The signed digest is not the charter's current digest.
    DigestMismatch = "digest_mismatch",
    /// The holder is not Active.
    HolderNotActive = "holder_not_active",
    /// The enrollment does not reach the charter's required personhood level.
    InsufficientPopLevel = "insufficient_pop_level",
    /// The amendment has no change to submit.
    NoChanges = "no_changes",
    /// Too few founders in good standing have signed the charter.
    NotEnoughFounders = "not_enough_founders",
    /// The revocation cannot be finalized now.
    NotFinalizable = "not_finalizable",
    /// The enrollment is bound to another principal.
    PersonMismatch = "person_mismatch",
    /// This signed envelope (actor and nonce) was used before; sign a new one.
    Replayed = "replayed",
    /// The target is under an open revocation.
    RevocationOpen = "revocation_open",
    /// The vouching steward can no longer attest.
    VouchNoLongerValid = "vouch_no_longer_valid",
}

impl std::fmt::Display for ConflictCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_codes_are_distinct_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ConflictCode::ALL {
            let s = code.as_str();
            assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{s}");
            assert!(seen.insert(s), "{s} listed twice");
        }
        assert_eq!(seen.len(), 18);
    }

    #[test]
    fn a_conflict_is_coded_by_its_conflict_code() {
        let r = Refusal::conflict(ConflictCode::RevocationOpen, "open");
        assert_eq!(r.code(), "revocation_open");
        assert_eq!(Refusal::not_found("anchor", "x").code(), "not_found");
    }
}
