//! [`StewardRecord`]: people who vouch for newcomers and attest personhood.
//!
//! **Invariant:** `steward_id` = sha256("commons-steward-v1" ++ public key);
//! the term is 30..=730 days and only ever extends forward, at most two years
//! ahead; Retired and Revoked are terminal.

use serde::{Deserialize, Serialize};

use super::did::Did;
use super::error::Refusal;
use super::ids::derive_id;
use super::transition::{transitions, Transitions};

/// Seconds in a day.
pub const DAY_SECS: u64 = 86_400;
/// Shortest term, in days.
pub const MIN_TERM_DAYS: u64 = 30;
/// Longest term, in days (also the furthest a term may be extended ahead).
pub const MAX_TERM_DAYS: u64 = 730;

/// Lifecycle state of a steward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum StewardStatus {
    /// Serving.
    Active,
    /// Temporarily not serving.
    Suspended {
        /// Why.
        reason: String,
    },
    /// Stepped down (terminal).
    Retired,
    /// Removed (terminal).
    Revoked {
        /// Why.
        reason: String,
    },
}

impl StewardStatus {
    /// The variant name.
    pub fn name(&self) -> &'static str {
        match self {
            StewardStatus::Active => "Active",
            StewardStatus::Suspended { .. } => "Suspended",
            StewardStatus::Retired => "Retired",
            StewardStatus::Revoked { .. } => "Revoked",
        }
    }
}

/// A steward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StewardRecord {
    /// sha256("commons-steward-v1" ++ public key).
    pub steward_id: String,
    /// Canonical DID.
    pub did: Did,
    /// The steward's holder record (an Active holder at registration).
    pub holder_id: String,
    /// The charter domain the steward serves; `None` = the whole commons.
    pub jurisdiction: Option<String>,
    /// Unix seconds.
    pub term_start: u64,
    /// Unix seconds.
    pub term_end: u64,
    /// Lifecycle state.
    pub status: StewardStatus,
    /// Attestations issued (vouches included).
    pub attestations_issued: u64,
    /// Disputes raised against this steward's attestations.
    pub disputes_against: u64,
    /// Disputes the steward won.
    pub disputes_won: u64,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

/// A steward plus derived fields, as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StewardView {
    /// The record.
    #[serde(flatten)]
    pub steward: StewardRecord,
    /// See [`StewardRecord::reputation`].
    pub reputation: f64,
    /// See [`StewardRecord::can_attest`].
    pub can_attest: bool,
}

transitions!(StewardRecord, StewardStatus, "steward", steward_id);

impl StewardRecord {
    /// The steward id of a principal.
    pub fn id_for(did: &Did) -> String {
        derive_id("commons-steward-v1", did.public_key_bytes())
    }

    /// A new Active steward serving `term_days` from `now`.
    ///
    /// # Errors
    /// `InvalidInput` on `term_days` outside 30..=730.
    pub fn new(
        did: Did,
        holder_id: String,
        jurisdiction: Option<String>,
        term_days: u64,
        now: u64,
    ) -> Result<Self, Refusal> {
        if !(MIN_TERM_DAYS..=MAX_TERM_DAYS).contains(&term_days) {
            return Err(Refusal::invalid("term_days", "30..=730 days"));
        }
        Ok(Self {
            steward_id: Self::id_for(&did),
            did,
            holder_id,
            jurisdiction,
            term_start: now,
            term_end: now + term_days * DAY_SECS,
            status: StewardStatus::Active,
            attestations_issued: 0,
            disputes_against: 0,
            disputes_won: 0,
            created_at: now,
            updated_at: now,
        })
    }

    /// 1.0 when nothing was issued, else
    /// clamp(1 - disputes_against/issued + 0.1 * disputes_won/max(disputes_against, 1), 0, 1).
    pub fn reputation(&self) -> f64 {
        if self.attestations_issued == 0 {
            return 1.0;
        }
        let issued = self.attestations_issued as f64;
        let against = self.disputes_against as f64;
        let won = self.disputes_won as f64;
        (1.0 - against / issued + 0.1 * won / against.max(1.0)).clamp(0.0, 1.0)
    }

    /// Active, within the term (`now < term_end`) and reputation >= 0.5.
    pub fn can_attest(&self, now: u64) -> bool {
        self.status == StewardStatus::Active && now < self.term_end && self.reputation() >= 0.5
    }

    /// True when the steward may act in `jurisdiction` (a commons-wide steward
    /// may act anywhere).
    pub fn serves(&self, jurisdiction: Option<&str>) -> bool {
        match (&self.jurisdiction, jurisdiction) {
            (None, _) => true,
            (Some(mine), Some(j)) => mine == j,
            (Some(_), None) => false,
        }
    }

    /// The record with derived fields at `now`.
    pub fn view(&self, now: u64) -> StewardView {
        StewardView { reputation: self.reputation(), can_attest: self.can_attest(now), steward: self.clone() }
    }

    /// Counts one more attestation issued.
    pub fn record_attestation(&mut self, now: u64) {
        self.attestations_issued += 1;
        self.updated_at = now;
    }

    /// Active -> Suspended.
    ///
    /// # Errors
    /// `InvalidTransition` unless Active.
    pub fn suspend(&mut self, reason: String, now: u64) -> Result<(), Refusal> {
        self.transition("suspend", |s| *s == StewardStatus::Active, StewardStatus::Suspended { reason }, now)
    }

    /// Suspended -> Active.
    ///
    /// # Errors
    /// `InvalidTransition` unless Suspended.
    pub fn reinstate(&mut self, now: u64) -> Result<(), Refusal> {
        self.transition("reinstate", |s| matches!(s, StewardStatus::Suspended { .. }), StewardStatus::Active, now)
    }

    /// Active|Suspended -> Retired.
    ///
    /// # Errors
    /// `InvalidTransition` when Retired or Revoked.
    pub fn retire(&mut self, now: u64) -> Result<(), Refusal> {
        self.transition(
            "retire",
            |s| matches!(s, StewardStatus::Active | StewardStatus::Suspended { .. }),
            StewardStatus::Retired,
            now,
        )
    }

    /// Active|Suspended -> Revoked.
    ///
    /// # Errors
    /// `InvalidTransition` when Retired or Revoked.
    pub fn revoke(&mut self, reason: String, now: u64) -> Result<(), Refusal> {
        self.transition(
            "revoke",
            |s| matches!(s, StewardStatus::Active | StewardStatus::Suspended { .. }),
            StewardStatus::Revoked { reason },
            now,
        )
    }

    /// Suspended|Revoked -> `before` (the status when the revocation that
    /// caused it was created; Active when unknown or not a live status),
    /// after an upheld appeal of that revocation (Revoked is terminal for
    /// every ordinary action).
    ///
    /// # Errors
    /// `InvalidTransition` when Active or Retired.
    pub fn restore(&mut self, before: Option<StewardStatus>, now: u64) -> Result<(), Refusal> {
        self.transition(
            "restore",
            |s| matches!(s, StewardStatus::Suspended { .. } | StewardStatus::Revoked { .. }),
            before
                .filter(|s| matches!(s, StewardStatus::Active | StewardStatus::Suspended { .. }))
                .unwrap_or(StewardStatus::Active),
            now,
        )
    }

    /// One more decided dispute against this steward (an appeal of its
    /// action was resolved on the merits): `disputes_against` + 1, and
    /// `disputes_won` + 1 too when `won` (the appeal was denied: the
    /// steward's action stood). So `disputes_won <= disputes_against`.
    pub fn record_dispute(&mut self, won: bool, now: u64) {
        self.disputes_against += 1;
        if won {
            self.disputes_won += 1;
        }
        self.updated_at = now;
    }

    /// Moves `term_end` forward to `term_end` (Unix seconds), at most
    /// 730 days after `now`.
    ///
    /// # Errors
    /// `InvalidTransition` when Retired or Revoked; `InvalidInput` when not
    /// later than the current end or too far ahead.
    pub fn extend_term(&mut self, term_end: u64, now: u64) -> Result<(), Refusal> {
        if !matches!(self.status, StewardStatus::Active | StewardStatus::Suspended { .. }) {
            return Err(self.refuse("extend the term"));
        }
        if term_end <= self.term_end {
            return Err(Refusal::invalid(
                "term_end",
                format!("must be later than the current term end {}", self.term_end),
            ));
        }
        if term_end > now + MAX_TERM_DAYS * DAY_SECS {
            return Err(Refusal::invalid("term_end", "at most 730 days from now"));
        }
        self.term_end = term_end;
        self.updated_at = now;
        Ok(())
    }
}
