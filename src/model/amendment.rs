//! [`Amendment`]: a proposed change to an Active charter, its votes and the
//! ratification rule.
//!
//! **Invariant:** status moves Draft -> Submitted -> Voting -> Ratified |
//! Rejected, or to Withdrawn from any live state; changes are added only while
//! Draft; votes only while Voting and before `closes_at`, one per voter.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::did::Did;
use super::error::{ConflictCode, Refusal};
use super::transition::{transitions, Transitions};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Most changes one amendment may carry.
pub const MAX_CHANGES: usize = 100;

/// What a change does to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeKind {
    /// Adds a clause.
    Add,
    /// Modifies a clause.
    Modify,
    /// Removes a clause.
    Remove,
    /// Replaces a clause.
    Replace,
}

/// One change of an amendment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmendmentChange {
    /// What it changes (a clause reference, 1..=200 characters).
    pub target: String,
    /// How.
    pub change: ChangeKind,
    /// The new text (for Add, Modify, Replace); up to 10,000 characters.
    pub new_value: Option<String>,
}

impl AmendmentChange {
    /// Checks the change: a target of 1..=200 characters, a `new_value` for
    /// Add / Modify / Replace and none for Remove.
    ///
    /// # Errors
    /// `InvalidInput`.
    pub fn check(&self) -> Result<(), Refusal> {
        let n = self.target.chars().count();
        if n == 0 || n > 200 {
            return Err(Refusal::invalid("target", "1..=200 characters"));
        }
        match (self.change, &self.new_value) {
            (ChangeKind::Remove, Some(_)) => Err(Refusal::invalid("new_value", "Remove takes no new_value")),
            (ChangeKind::Remove, None) => Ok(()),
            (_, None) => Err(Refusal::invalid("new_value", "Add, Modify and Replace need a new_value")),
            (_, Some(v)) if v.chars().count() > MAX_DESCRIPTION_CHARS => {
                Err(Refusal::invalid("new_value", "at most 10,000 characters"))
            }
            _ => Ok(()),
        }
    }
}

/// Quorum and approval thresholds, in percent, and the voting time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirements {
    /// Votes / eligible members needed, percent (default 50).
    pub quorum_pct: u8,
    /// Approvals / votes needed, percent (default 66).
    pub approval_pct: u8,
    /// How long voting lasts, seconds (default 7 days).
    pub voting_secs: u64,
}

impl Default for Requirements {
    fn default() -> Self {
        Self { quorum_pct: 50, approval_pct: 66, voting_secs: 7 * 86_400 }
    }
}

impl Requirements {
    /// Checks percentages (1..=100) and voting time (1 hour ..= 90 days).
    ///
    /// # Errors
    /// `InvalidInput`.
    pub fn check(&self) -> Result<(), Refusal> {
        if !(1..=100).contains(&self.quorum_pct) {
            return Err(Refusal::invalid("requirements.quorum_pct", "1..=100"));
        }
        if !(1..=100).contains(&self.approval_pct) {
            return Err(Refusal::invalid("requirements.approval_pct", "1..=100"));
        }
        if !(3_600..=90 * 86_400).contains(&self.voting_secs) {
            return Err(Refusal::invalid("requirements.voting_secs", "3600..=7776000 seconds (1 hour to 90 days)"));
        }
        Ok(())
    }
}

/// Lifecycle state of an amendment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum AmendmentStatus {
    /// Being written by its proposer.
    Draft,
    /// Ready for a vote.
    Submitted,
    /// Open for votes.
    Voting {
        /// Unix seconds.
        opens_at: u64,
        /// Unix seconds; votes are accepted while `now < closes_at`.
        closes_at: u64,
    },
    /// Adopted.
    Ratified {
        /// Unix seconds.
        at: u64,
    },
    /// Not adopted.
    Rejected {
        /// Unix seconds.
        at: u64,
    },
    /// Withdrawn by the proposer.
    Withdrawn {
        /// Unix seconds.
        at: u64,
    },
}

impl AmendmentStatus {
    /// The variant name.
    pub fn name(&self) -> &'static str {
        match self {
            AmendmentStatus::Draft => "Draft",
            AmendmentStatus::Submitted => "Submitted",
            AmendmentStatus::Voting { .. } => "Voting",
            AmendmentStatus::Ratified { .. } => "Ratified",
            AmendmentStatus::Rejected { .. } => "Rejected",
            AmendmentStatus::Withdrawn { .. } => "Withdrawn",
        }
    }

    /// Every variant name, for filters.
    pub const NAMES: &'static [&'static str] = &["Draft", "Submitted", "Voting", "Ratified", "Rejected", "Withdrawn"];
}

/// One member's vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The voter.
    pub voter_did: Did,
    /// For or against.
    pub approve: bool,
    /// Unix seconds.
    pub cast_at: u64,
    /// The `vote` envelope signature (128 hex).
    pub signature: String,
}

/// A proposed change to a charter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amendment {
    /// UUID v7.
    pub amendment_id: String,
    /// The charter it amends.
    pub charter_id: String,
    /// 1..=200 characters.
    pub title: String,
    /// Up to 10,000 characters.
    pub description: String,
    /// At most 100.
    pub changes: Vec<AmendmentChange>,
    /// The proposer (a Member with Propose).
    pub proposer_did: Did,
    /// Thresholds.
    pub requirements: Requirements,
    /// Lifecycle state.
    pub status: AmendmentStatus,
    /// One per voter.
    pub votes: Vec<Vote>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

/// The outcome of a close, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Members with Vote at close.
    pub eligible: u64,
    /// Votes counted: those of voters still eligible at close.
    pub votes: u64,
    /// Counted votes for.
    pub approvals: u64,
    /// Votes cast by voters who were no longer eligible at close (banned,
    /// suspended, left, lost Vote): kept in the record, not counted.
    pub uncounted: u64,
    /// Whether it was ratified.
    pub ratified: bool,
}

transitions!(Amendment, AmendmentStatus, "amendment", amendment_id);

impl Amendment {
    /// A new Draft amendment.
    ///
    /// # Errors
    /// `InvalidInput` on the title, description, a change or the requirements.
    pub fn new(
        charter_id: String,
        title: String,
        description: String,
        changes: Vec<AmendmentChange>,
        proposer_did: Did,
        requirements: Requirements,
        now: u64,
    ) -> Result<Self, Refusal> {
        let n = title.chars().count();
        if n == 0 || n > MAX_TITLE_CHARS {
            return Err(Refusal::invalid("title", "1..=200 characters"));
        }
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(Refusal::invalid("description", "at most 10,000 characters"));
        }
        if changes.len() > MAX_CHANGES {
            return Err(Refusal::invalid("changes", "at most 100 changes"));
        }
        for c in &changes {
            c.check()?;
        }
        requirements.check()?;
        Ok(Self {
            amendment_id: uuid::Uuid::now_v7().to_string(),
            charter_id,
            title,
            description,
            changes,
            proposer_did,
            requirements,
            status: AmendmentStatus::Draft,
            votes: Vec::new(),
            created_at: now,
            updated_at: now,
        })
    }

    /// True in Draft, Submitted or Voting.
    pub fn is_live(&self) -> bool {
        matches!(self.status, AmendmentStatus::Draft | AmendmentStatus::Submitted | AmendmentStatus::Voting { .. })
    }

    /// Adds a change while Draft.
    ///
    /// # Errors
    /// `InvalidTransition` unless Draft; `InvalidInput` on the change or when
    /// 100 changes are already there.
    pub fn add_change(&mut self, change: AmendmentChange, now: u64) -> Result<(), Refusal> {
        if self.status != AmendmentStatus::Draft {
            return Err(self.refuse("add a change"));
        }
        change.check()?;
        if self.changes.len() >= MAX_CHANGES {
            return Err(Refusal::invalid("changes", "at most 100 changes"));
        }
        self.changes.push(change);
        self.updated_at = now;
        Ok(())
    }

    /// Draft -> Submitted (needs at least one change).
    ///
    /// # Errors
    /// `InvalidTransition` unless Draft; `Conflict` `no_changes`.
    pub fn submit(&mut self, now: u64) -> Result<(), Refusal> {
        if self.status != AmendmentStatus::Draft {
            return Err(self.refuse("submit"));
        }
        if self.changes.is_empty() {
            return Err(Refusal::conflict(
                ConflictCode::NoChanges,
                format!("amendment {} has no change to submit", self.amendment_id),
            ));
        }
        self.status = AmendmentStatus::Submitted;
        self.updated_at = now;
        Ok(())
    }

    /// Submitted -> Voting, open for `requirements.voting_secs`.
    ///
    /// # Errors
    /// `InvalidTransition` unless Submitted.
    pub fn open_voting(&mut self, now: u64) -> Result<(), Refusal> {
        self.transition(
            "open voting",
            |s| *s == AmendmentStatus::Submitted,
            AmendmentStatus::Voting { opens_at: now, closes_at: now + self.requirements.voting_secs },
            now,
        )
    }

    /// Records a vote while Voting and before `closes_at`, one per voter.
    ///
    /// # Errors
    /// `InvalidTransition` unless Voting or after `closes_at`; `Conflict`
    /// `already_voted`.
    pub fn cast(&mut self, vote: Vote) -> Result<(), Refusal> {
        match self.status {
            AmendmentStatus::Voting { closes_at, .. } if vote.cast_at < closes_at => {}
            AmendmentStatus::Voting { .. } => return Err(self.refuse("vote after voting closed")),
            _ => return Err(self.refuse("vote")),
        }
        if self.votes.iter().any(|v| v.voter_did == vote.voter_did) {
            return Err(Refusal::conflict(
                ConflictCode::AlreadyVoted,
                format!("{} has already voted on amendment {}", vote.voter_did, self.amendment_id),
            ));
        }
        self.updated_at = vote.cast_at;
        self.votes.push(vote);
        Ok(())
    }

    /// Whether [`Amendment::close`] may run now: Voting, and `closes_at`
    /// reached unless `early` (so a caller can refuse before counting).
    ///
    /// # Errors
    /// `InvalidTransition` unless Voting, or before `closes_at` without `early`.
    pub fn check_close(&self, early: bool, now: u64) -> Result<(), Refusal> {
        let AmendmentStatus::Voting { closes_at, .. } = self.status else {
            return Err(self.refuse("close"));
        };
        if now < closes_at && !early {
            return Err(self.refuse("close before closes_at"));
        }
        Ok(())
    }

    /// Voting -> Ratified | Rejected. `eligible` holds the DIDs of the
    /// jurisdiction's Members with Vote at close; only their votes count.
    /// Ratified iff counted votes/eligible >= quorum_pct % and
    /// approvals/counted votes >= approval_pct % (integer arithmetic, no
    /// rounding), and `charter_active` (a charter that is no longer Active
    /// cannot be amended: the close rejects). Closing before `closes_at`
    /// needs `early` (the operator).
    ///
    /// # Errors
    /// `InvalidTransition` unless Voting, or before `closes_at` without `early`.
    pub fn close(
        &mut self,
        eligible: &BTreeSet<Did>,
        charter_active: bool,
        early: bool,
        now: u64,
    ) -> Result<Tally, Refusal> {
        self.check_close(early, now)?;
        let counted: Vec<&Vote> = self.votes.iter().filter(|v| eligible.contains(&v.voter_did)).collect();
        let votes = counted.len() as u64;
        let approvals = counted.iter().filter(|v| v.approve).count() as u64;
        let uncounted = self.votes.len() as u64 - votes;
        let eligible = eligible.len() as u64;
        let quorum = eligible > 0 && votes * 100 >= eligible * u64::from(self.requirements.quorum_pct);
        let approved = votes > 0 && approvals * 100 >= votes * u64::from(self.requirements.approval_pct);
        let ratified = charter_active && quorum && approved;
        self.status =
            if ratified { AmendmentStatus::Ratified { at: now } } else { AmendmentStatus::Rejected { at: now } };
        self.updated_at = now;
        Ok(Tally { eligible, votes, approvals, uncounted, ratified })
    }

    /// Any live state -> Withdrawn.
    ///
    /// # Errors
    /// `InvalidTransition` when Ratified, Rejected or Withdrawn.
    pub fn withdraw(&mut self, now: u64) -> Result<(), Refusal> {
        if !self.is_live() {
            return Err(self.refuse("withdraw"));
        }
        self.status = AmendmentStatus::Withdrawn { at: now };
        self.updated_at = now;
        Ok(())
    }
}
