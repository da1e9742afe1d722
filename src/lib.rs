//! # commons-gateway
//!
//! The persistent state store of a cooperative network's *commons* (identity
//! anchors, membership records, charters with their founders' signatures,
//! stewards, enrollment sessions in flight), with an HTTP gateway in front of
//! it. State survives restarts and crashes when a persistent engine is built
//! in.
//!
//! What it is **not**: a general database, an identity provider for other
//! services, or a consensus system. One gateway process owns one store.
//!
//! The storage engine is chosen at **compile time** by Cargo features through
//! one type alias, [`CommonsBackend`]; [`CommonsManager`] uses it as its default
//! type parameter, so the gateway's handlers pay for no dynamic dispatch.
//!
//! ## Features
//!
//! - `gateway` (default): the actix-web HTTP gateway ([`gateway`]) and the
//!   `commons-gateway` binary; pulls in actix-web, clap, tracing-subscriber,
//!   anyhow, subtle and governor 0.10 (the per-client rate limit of
//!   `POST /v1/enrollments`). Embedded users turn it off
//!   (`default-features = false`).
//! - `sled-store` (off): adds [`backend::SledCommonsStore`] (sled 0.34.7); it
//!   becomes [`CommonsBackend`] unless `fjall-store` or `postgres-store` is on.
//! - `fjall-store` (off): adds [`backend::FjallCommonsStore`] (fjall 3.1); it
//!   becomes [`CommonsBackend`] unless `postgres-store` is also on.
//! - `postgres-store` (off): adds [`backend::PostgresCommonsStore`] (postgres
//!   0.19 + r2d2); it becomes [`CommonsBackend`]. Any number of gateway
//!   processes, on any number of machines, share one database.
//! - With no engine feature, [`CommonsBackend`] is
//!   [`backend::InMemoryCommonsStore`]: nothing survives a restart.
//!
//! Engine features are additive; the alias follows the fixed precedence
//! `postgres-store` > `fjall-store` > `sled-store` > in-memory, and [`BACKEND_NAME`] says which
//! one was chosen. Every engine compiled in runs the same conformance suite.
//!
//! ## Example
//!
//! ```
//! use commons_gateway::backend::InMemoryCommonsStore;
//! use commons_gateway::{CommonsManager, Did, StoreConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let manager = CommonsManager::<InMemoryCommonsStore>::temporary(&StoreConfig::default())?;
//! let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
//! let did = Did::from_verifying_key(&key.verifying_key());
//! let anchor = manager.bootstrap_anchor(did.as_str(), Some("First member".into()))?;
//! assert_eq!(manager.holder(&anchor.anchor.anchor_id)?.holder.did, did);
//! # Ok(())
//! # }
//! ```
//!
//! ## What is public
//!
//! - At the root: [`CommonsManager`] (every operation of the commons) with
//!   [`Clock`], [`StoreInfo`], the list filters and the answers that are not
//!   records; the errors by layer ([`CommonsError`] wrapping a [`Refusal`]
//!   with its [`ConflictCode`], or a [`StoreError`]); [`CommonsStore`] (the
//!   record layer, with export, import and verify); [`StoreConfig`],
//!   [`Durability`], [`CommonsBackend`], [`BACKEND_NAME`]; [`Did`] and the
//!   signed envelopes, version 2 ([`SignedEnvelope`] made with an
//!   [`EnvelopeHeader`], opened under an [`EnvelopePolicy`] into a
//!   [`Signed`] value of an [`Action`]; each used once, its nonce kept as a
//!   [`records::SpentNonce`]).
//! - [`records`]: the records of the commons, their statuses and their API
//!   views.
//! - [`actions`]: the payloads of the signed actions and the operator's
//!   request bodies.
//! - [`backend`]: the engine contract ([`CommonsStoreBackend`],
//!   [`OpenBackend`], [`backend::WriteBatch`], [`backend::BackendError`])
//!   and the engines.
//! - [`gateway`]: the HTTP API (feature `gateway`).
//!
//! The modules behind them (`model`, `store`, `manager`) are private, so the
//! files can move without changing the API. `docs/ARCHITECTURE.md` maps them.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod backend;
#[cfg(feature = "gateway")]
pub mod gateway;
mod manager;
mod model;
mod store;

pub use backend::{CommonsBackend, CommonsStoreBackend, Durability, OpenBackend, StoreConfig, BACKEND_NAME};
pub use manager::{
    parse_affiliation_status, AmendmentFilter, AppealFilter, CharterFilter, Clock, ClosedAmendment, CommonsError,
    CommonsManager, CommonsResult, EnrollmentStarted, StewardFilter, StoreInfo, DEFAULT_MAX_OPEN_ENROLLMENTS,
    MAX_ATTEMPTS, MAX_ENROLLMENT_RETRY_AFTER_SECS, SPENT_NONCE_GRACE_SECS,
};
pub use model::did::{Did, InvalidDid};
pub use model::error::{ConflictCode, Refusal};
pub use model::signing::{
    signing_message, Action, EnvelopeError, EnvelopeHeader, EnvelopePolicy, Signed, SignedEnvelope, DEFAULT_AUDIENCE,
    NONCE_MAX_BYTES, NONCE_MIN_BYTES,
};
pub use store::{
    Changes, CommonsStore, Due, Entity, ExportFile, OpenEnrollments, Page, Paging, Problem, StoreError, StoreResult,
    TransferError, VerifyReport, MAX_ROWS_PER_PAGE_SCAN, SCHEMA_VERSION,
};

/// The records of the commons (`docs/DOMAIN.md`, "Records"): what the store
/// keeps, their statuses, and the views the API answers with (a record plus
/// its derived fields).
pub mod records {
    pub use crate::model::amendment::{
        Amendment, AmendmentChange, AmendmentStatus, ChangeKind, Requirements, Tally, Vote,
    };
    pub use crate::model::anchor::{
        AnchorStatus, AnchorView, Attestation, AttestationMethod, Pathway, PersonhoodAnchor, PopLevel,
    };
    pub use crate::model::appeal::{Appeal, AppealKind, AppealState, Evidence, Outcome, Remedy, Response};
    pub use crate::model::charter::{Charter, CharterStatus, CharterView, Founder, MembershipPolicy, OrgType};
    pub use crate::model::enrollment::{EnrollmentSession, EnrollmentView, Rejection, Vouch};
    pub use crate::model::holder::{
        Affiliation, AffiliationStatus, BaselineRight, Capability, CommonsHolderRecord, HolderStatus, HolderView,
    };
    pub use crate::model::replay::SpentNonce;
    pub use crate::model::revocation::{
        AppealStatus, RevocationReason, RevocationRecord, RevocationTarget, TargetBefore,
    };
    pub use crate::model::steward::{StewardRecord, StewardStatus, StewardView};
}

/// The payloads of the signed actions (`docs/DOMAIN.md`, "Signed actions"),
/// one type per action with its name in [`Action::ACTION`], and the
/// operator's request bodies that the manager takes. Request types refuse
/// unknown fields.
pub mod actions {
    pub use crate::manager::{
        AffiliationApply, AffiliationApprove, AffiliationLeave, AffiliationPromote, AmendmentAddChange,
        AmendmentOpenVoting, AmendmentPropose, AmendmentSubmit, AmendmentWithdraw, AppealEvidence, AppealFile,
        AppealRespond, AppealWithdraw, Attest, CastVote, ChangeInput, CharterActivate, CharterCreate, CharterSign,
        DismissRequest, EnrollComplete, EnrollReject, EnrollVerify, EnrollVouch, HolderUpdate, MembershipPolicyInput,
        RequirementsInput, ResolveRequest, RevocationRequest,
    };
}
