//! [`RevocationRecord`]: the persisted decision to revoke an anchor, a holder,
//! a membership or a steward, with its appeal window.
//!
//! **Invariant:** a revocation is created together with the change to its
//! target (Revoked/Banned when immediate, Suspended otherwise) in one batch;
//! `appeal_status` moves None -> Pending -> Upheld | Denied (or back to None
//! when the appeal is dismissed or withdrawn); finalisation happens only after
//! `appeal_deadline` with no pending or upheld appeal.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::anchor::AnchorStatus;
use super::charter::parse_domain_id;
use super::did::Did;
use super::error::{ConflictCode, Refusal};
use super::holder::{AffiliationStatus, Capability, HolderStatus};
use super::ids::check_hex_id;
use super::steward::StewardStatus;

/// Default appeal window, in days.
pub const DEFAULT_APPEAL_WINDOW_DAYS: u64 = 30;
/// Longest appeal window, in days.
pub const MAX_APPEAL_WINDOW_DAYS: u64 = 365;

/// Its target as it was when a revocation was created (see
/// [`RevocationRecord::target_before`]), so that an upheld appeal puts back
/// exactly that, and not more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum TargetBefore {
    /// An anchor's status.
    Anchor {
        /// The status.
        status: AnchorStatus,
    },
    /// A holder's status.
    Holder {
        /// The status.
        status: HolderStatus,
    },
    /// One affiliation: its status, capabilities and roles (a ban clears
    /// the last two).
    Membership {
        /// The status.
        status: AffiliationStatus,
        /// The capabilities.
        capabilities: BTreeSet<Capability>,
        /// The roles.
        roles: BTreeSet<String>,
    },
    /// A steward's status.
    Steward {
        /// The status.
        status: StewardStatus,
    },
}

/// What is revoked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum RevocationTarget {
    /// A personhood anchor.
    Anchor {
        /// Its id.
        anchor_id: String,
    },
    /// A holder's membership in the commons.
    Holder {
        /// Its id.
        holder_id: String,
    },
    /// One affiliation.
    Membership {
        /// The holder.
        holder_id: String,
        /// The charter domain.
        jurisdiction: String,
    },
    /// A steward.
    Steward {
        /// Its id.
        steward_id: String,
    },
}

impl RevocationTarget {
    /// A stable text form for index keys: `anchor:<id>`, `holder:<id>`,
    /// `membership:<holder_id>:<jurisdiction>`, `steward:<id>`.
    pub fn key(&self) -> String {
        match self {
            RevocationTarget::Anchor { anchor_id } => format!("anchor:{anchor_id}"),
            RevocationTarget::Holder { holder_id } => format!("holder:{holder_id}"),
            RevocationTarget::Membership { holder_id, jurisdiction } => {
                format!("membership:{holder_id}:{jurisdiction}")
            }
            RevocationTarget::Steward { steward_id } => format!("steward:{steward_id}"),
        }
    }

    /// Parses the text form of [`RevocationTarget::key`] (as a list filter
    /// gives it) and checks it like [`RevocationTarget::check`].
    ///
    /// # Errors
    /// `InvalidInput` on `target` for an unknown kind or a malformed key;
    /// `InvalidId` for a bad id; `InvalidInput` on a bad jurisdiction.
    pub fn parse_key(text: &str) -> Result<Self, Refusal> {
        let bad = || {
            Refusal::invalid(
                "target",
                "anchor:<id>, holder:<id>, steward:<id> or membership:<holder_id>:<jurisdiction>",
            )
        };
        let (kind, rest) = text.split_once(':').ok_or_else(bad)?;
        let target = match kind {
            "anchor" => RevocationTarget::Anchor { anchor_id: rest.to_string() },
            "holder" => RevocationTarget::Holder { holder_id: rest.to_string() },
            "steward" => RevocationTarget::Steward { steward_id: rest.to_string() },
            "membership" => {
                let (holder_id, jurisdiction) = rest.split_once(':').ok_or_else(bad)?;
                RevocationTarget::Membership {
                    holder_id: holder_id.to_string(),
                    jurisdiction: jurisdiction.to_string(),
                }
            }
            _ => return Err(bad()),
        };
        target.check()?;
        Ok(target)
    }

    /// Checks the ids (64 lowercase hex) and the jurisdiction (a charter
    /// domain id), so that the target can become part of a key.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `target.jurisdiction`.
    pub fn check(&self) -> Result<(), Refusal> {
        match self {
            RevocationTarget::Anchor { anchor_id } => check_hex_id("anchor", anchor_id),
            RevocationTarget::Holder { holder_id } => check_hex_id("holder", holder_id),
            RevocationTarget::Membership { holder_id, jurisdiction } => {
                check_hex_id("holder", holder_id)?;
                parse_domain_id(jurisdiction)
                    .map(|_| ())
                    .map_err(|_| Refusal::invalid("target.jurisdiction", "a charter domain id such as coop:<slug>"))
            }
            RevocationTarget::Steward { steward_id } => check_hex_id("steward", steward_id),
        }
    }

    /// The id of the record the target lives in (the anchor, the holder, for
    /// a membership its holder, the steward): what a change to it locks.
    pub fn record_id(&self) -> &str {
        match self {
            RevocationTarget::Anchor { anchor_id } => anchor_id,
            RevocationTarget::Holder { holder_id } | RevocationTarget::Membership { holder_id, .. } => holder_id,
            RevocationTarget::Steward { steward_id } => steward_id,
        }
    }
}

/// Why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum RevocationReason {
    /// Duplicate or fake identity.
    Sybil,
    /// Fraud.
    Fraud,
    /// Broke a policy.
    PolicyViolation,
    /// Decided by governance.
    GovernanceDecision,
    /// The key is compromised.
    KeyCompromise,
    /// Anything else.
    Other {
        /// Free text (at most 2,000 characters).
        text: String,
    },
}

impl RevocationReason {
    /// A short text for the target's status reason.
    pub fn describe(&self) -> String {
        match self {
            RevocationReason::Other { text } => text.clone(),
            other => format!("{other:?}"),
        }
    }
}

/// Where the appeal of a revocation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum AppealStatus {
    /// No appeal (or the last one was dismissed or withdrawn).
    None,
    /// An appeal is open.
    Pending {
        /// The appeal.
        appeal_id: String,
    },
    /// The appeal was upheld: the target was reinstated.
    Upheld {
        /// Unix seconds.
        at: u64,
    },
    /// The appeal was denied.
    Denied {
        /// Unix seconds.
        at: u64,
    },
}

/// A revocation decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationRecord {
    /// UUID v7.
    pub revocation_id: String,
    /// What is revoked.
    pub target: RevocationTarget,
    /// Why.
    pub reason: RevocationReason,
    /// Who decided (the operator's or a steward's DID; `None` for the operator
    /// token, which has no DID).
    pub authority_did: Option<Did>,
    /// created_at + window (Unix seconds).
    pub appeal_deadline: u64,
    /// Took effect at once (Revoked/Banned) rather than as a suspension.
    pub immediate: bool,
    /// Appeal state.
    pub appeal_status: AppealStatus,
    /// Set when finalisation made a suspension permanent (Unix seconds).
    pub finalized_at: Option<u64>,
    /// The target as it was when this revocation was created; an upheld
    /// appeal restores it. Absent in records written before this field
    /// existed: those restore to Active (a membership to Member, with no
    /// capabilities after a ban).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_before: Option<TargetBefore>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

impl RevocationRecord {
    /// A new revocation with an appeal window of `window_days` (1..=365).
    ///
    /// # Errors
    /// `InvalidInput` on the window or an over-long `Other` text.
    pub fn new(
        target: RevocationTarget,
        reason: RevocationReason,
        authority_did: Option<Did>,
        immediate: bool,
        window_days: u64,
        now: u64,
    ) -> Result<Self, Refusal> {
        if !(1..=MAX_APPEAL_WINDOW_DAYS).contains(&window_days) {
            return Err(Refusal::invalid("appeal_window_days", "1..=365"));
        }
        if let RevocationReason::Other { text } = &reason {
            if text.is_empty() || text.chars().count() > 2_000 {
                return Err(Refusal::invalid("reason.text", "1..=2,000 characters"));
            }
        }
        Ok(Self {
            revocation_id: uuid::Uuid::now_v7().to_string(),
            target,
            reason,
            authority_did,
            appeal_deadline: now + window_days * 86_400,
            immediate,
            appeal_status: AppealStatus::None,
            finalized_at: None,
            target_before: None,
            created_at: now,
            updated_at: now,
        })
    }

    fn refuse(&self, action: &'static str) -> Refusal {
        let from = match &self.appeal_status {
            AppealStatus::None if self.finalized_at.is_some() => "finalized".to_string(),
            s => format!("appeal {s:?}"),
        };
        Refusal::InvalidTransition { entity: "revocation", id: self.revocation_id.clone(), from, action }
    }

    /// An appeal was filed: None -> Pending. Allowed only before the deadline
    /// and before finalisation.
    ///
    /// # Errors
    /// `Conflict` `appeal_deadline_passed`; `InvalidTransition` when an appeal
    /// is pending or decided, or the revocation was finalized.
    pub fn appeal_filed(&mut self, appeal_id: String, now: u64) -> Result<(), Refusal> {
        if self.finalized_at.is_some() || self.appeal_status != AppealStatus::None {
            return Err(self.refuse("file an appeal"));
        }
        if now >= self.appeal_deadline {
            return Err(Refusal::conflict(
                ConflictCode::AppealDeadlinePassed,
                format!("the appeal deadline of revocation {} passed at {}", self.revocation_id, self.appeal_deadline),
            ));
        }
        self.appeal_status = AppealStatus::Pending { appeal_id };
        self.updated_at = now;
        Ok(())
    }

    /// The pending appeal was decided (`upheld`) or dropped (dismissed or
    /// withdrawn: `None`).
    ///
    /// # Errors
    /// `InvalidTransition` unless that appeal is pending.
    pub fn appeal_ended(&mut self, appeal_id: &str, upheld: Option<bool>, now: u64) -> Result<(), Refusal> {
        if !matches!(&self.appeal_status, AppealStatus::Pending { appeal_id: a } if a == appeal_id) {
            return Err(self.refuse("end an appeal"));
        }
        self.appeal_status = match upheld {
            Some(true) => AppealStatus::Upheld { at: now },
            Some(false) => AppealStatus::Denied { at: now },
            None => AppealStatus::None,
        };
        self.updated_at = now;
        Ok(())
    }

    /// True when finalisation may run now: after the deadline, not yet
    /// finalized, no pending or upheld appeal.
    pub fn finalizable(&self, now: u64) -> bool {
        self.finalized_at.is_none()
            && now >= self.appeal_deadline
            && matches!(self.appeal_status, AppealStatus::None | AppealStatus::Denied { .. })
    }

    /// Marks it finalized.
    ///
    /// # Errors
    /// `Conflict` `not_finalizable` (before the deadline, appeal pending or
    /// upheld, already finalized).
    pub fn finalize(&mut self, now: u64) -> Result<(), Refusal> {
        if !self.finalizable(now) {
            return Err(Refusal::conflict(
                ConflictCode::NotFinalizable,
                format!(
                    "revocation {} cannot be finalized now (deadline {}, appeal {:?}, finalized {:?})",
                    self.revocation_id, self.appeal_deadline, self.appeal_status, self.finalized_at
                ),
            ));
        }
        self.finalized_at = Some(now);
        self.updated_at = now;
        Ok(())
    }
}
