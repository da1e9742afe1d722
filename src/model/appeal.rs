//! [`Appeal`]: due process against a revocation, a suspension, a governance
//! decision or a steward's action.
//!
//! **Invariant:** status moves Filed -> UnderReview -> Resolved, or to
//! Dismissed (operator) / Withdrawn (appellant) from Filed or UnderReview;
//! evidence and responses are added only while not terminal.

use serde::{Deserialize, Serialize};

use super::did::Did;
use super::error::Refusal;
use super::transition::{transitions, Transitions};

/// Longest grounds text, in characters.
pub const MAX_GROUNDS_CHARS: usize = 2_000;
/// Longest statement, response or notes, in characters.
pub const MAX_STATEMENT_CHARS: usize = 10_000;
/// Most evidence items or responses on one appeal.
pub const MAX_ITEMS: usize = 200;

/// What is appealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum AppealKind {
    /// A revocation (filed before its appeal deadline).
    Revocation {
        /// The revocation.
        revocation_id: String,
    },
    /// The appellant's suspension.
    Suspension,
    /// A governance decision.
    GovernanceDecision {
        /// What decision (free text, at most 200 characters).
        reference: String,
    },
    /// A steward's action (counts as a dispute against that steward).
    StewardAction {
        /// The steward.
        steward_id: String,
    },
    /// Anything else.
    Other,
}

/// What the appellant asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Remedy {
    /// Reverse the decision.
    Reverse,
    /// Reinstate.
    Reinstate,
    /// Modify the decision.
    Modify,
    /// Compensation.
    Compensation {
        /// Amount in the currency's smallest unit.
        amount: u64,
        /// ISO 4217 code or a community currency name (1..=16 characters).
        currency: String,
    },
    /// Nothing specific.
    None,
}

/// How a review ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The appeal succeeds.
    Upheld,
    /// The appeal fails.
    Denied,
    /// Partly succeeds.
    PartiallyUpheld,
    /// Sent back for a new decision.
    Remanded,
}

/// A piece of evidence (its content lives elsewhere; the hash pins it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Who submitted it.
    pub submitted_by: Did,
    /// Lowercase hex SHA-256 of the evidence.
    pub sha256: String,
    /// What it is (at most 2,000 characters).
    pub description: String,
    /// Unix seconds.
    pub at: u64,
}

/// A response by a party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Who responds.
    pub responder_did: Did,
    /// The text (at most 10,000 characters).
    pub text: String,
    /// Unix seconds.
    pub at: u64,
}

/// Lifecycle state of an appeal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum AppealState {
    /// Waiting for a reviewer.
    Filed,
    /// Being reviewed.
    UnderReview {
        /// The reviewer (a DID, or `operator`).
        reviewer: String,
    },
    /// Decided.
    Resolved {
        /// The decision.
        outcome: Outcome,
        /// Reasons (at most 10,000 characters).
        notes: String,
        /// Unix seconds.
        at: u64,
    },
    /// Dismissed by the operator.
    Dismissed {
        /// Why.
        reason: String,
        /// Unix seconds.
        at: u64,
    },
    /// Withdrawn by the appellant.
    Withdrawn {
        /// Unix seconds.
        at: u64,
    },
}

impl AppealState {
    /// The variant name.
    pub fn name(&self) -> &'static str {
        match self {
            AppealState::Filed => "Filed",
            AppealState::UnderReview { .. } => "UnderReview",
            AppealState::Resolved { .. } => "Resolved",
            AppealState::Dismissed { .. } => "Dismissed",
            AppealState::Withdrawn { .. } => "Withdrawn",
        }
    }

    /// Every variant name, for filters.
    pub const NAMES: &'static [&'static str] = &["Filed", "UnderReview", "Resolved", "Dismissed", "Withdrawn"];
}

/// An appeal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appeal {
    /// UUID v7.
    pub appeal_id: String,
    /// The appellant (a holder).
    pub appellant_did: Did,
    /// What is appealed.
    pub kind: AppealKind,
    /// The jurisdiction concerned, if any (a charter domain).
    pub jurisdiction: Option<String>,
    /// Up to 2,000 characters.
    pub grounds: String,
    /// Up to 10,000 characters.
    pub statement: String,
    /// What is asked for.
    pub requested_remedy: Remedy,
    /// Evidence, in order.
    pub evidence: Vec<Evidence>,
    /// Responses, in order.
    pub responses: Vec<Response>,
    /// Lifecycle state.
    pub status: AppealState,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

fn check_len(field: &'static str, text: &str, max: usize) -> Result<(), Refusal> {
    if text.chars().count() > max {
        return Err(Refusal::invalid(field, format!("at most {max} characters")));
    }
    Ok(())
}

transitions!(Appeal, AppealState, "appeal", appeal_id);

impl Appeal {
    /// A new Filed appeal.
    ///
    /// # Errors
    /// `InvalidInput` on a field over its length or a bad compensation.
    pub fn new(
        appellant_did: Did,
        kind: AppealKind,
        jurisdiction: Option<String>,
        grounds: String,
        statement: String,
        requested_remedy: Remedy,
        now: u64,
    ) -> Result<Self, Refusal> {
        if grounds.trim().is_empty() {
            return Err(Refusal::invalid("grounds", "must not be empty"));
        }
        check_len("grounds", &grounds, MAX_GROUNDS_CHARS)?;
        check_len("statement", &statement, MAX_STATEMENT_CHARS)?;
        if let AppealKind::GovernanceDecision { reference } = &kind {
            check_len("kind.reference", reference, 200)?;
        }
        if let Remedy::Compensation { currency, .. } = &requested_remedy {
            let n = currency.chars().count();
            if n == 0 || n > 16 {
                return Err(Refusal::invalid("requested_remedy.currency", "1..=16 characters"));
            }
        }
        Ok(Self {
            appeal_id: uuid::Uuid::now_v7().to_string(),
            appellant_did,
            kind,
            jurisdiction,
            grounds,
            statement,
            requested_remedy,
            evidence: Vec::new(),
            responses: Vec::new(),
            status: AppealState::Filed,
            created_at: now,
            updated_at: now,
        })
    }

    /// True in Filed or UnderReview.
    pub fn is_open(&self) -> bool {
        matches!(self.status, AppealState::Filed | AppealState::UnderReview { .. })
    }

    /// Adds evidence while open.
    ///
    /// # Errors
    /// `InvalidTransition` when terminal; `InvalidInput` on a bad hash or
    /// description, or past 200 items.
    pub fn add_evidence(&mut self, evidence: Evidence) -> Result<(), Refusal> {
        if !self.is_open() {
            return Err(self.refuse("add evidence"));
        }
        if !super::ids::is_hex_id(&evidence.sha256) {
            return Err(Refusal::invalid("sha256", "64 lowercase hex characters"));
        }
        check_len("description", &evidence.description, MAX_GROUNDS_CHARS)?;
        if self.evidence.len() >= MAX_ITEMS {
            return Err(Refusal::invalid("evidence", "at most 200 items"));
        }
        self.updated_at = evidence.at;
        self.evidence.push(evidence);
        Ok(())
    }

    /// Adds a response while open.
    ///
    /// # Errors
    /// `InvalidTransition` when terminal; `InvalidInput` on an empty or
    /// over-long text, or past 200 responses.
    pub fn add_response(&mut self, response: Response) -> Result<(), Refusal> {
        if !self.is_open() {
            return Err(self.refuse("respond"));
        }
        if response.text.trim().is_empty() {
            return Err(Refusal::invalid("text", "must not be empty"));
        }
        check_len("text", &response.text, MAX_STATEMENT_CHARS)?;
        if self.responses.len() >= MAX_ITEMS {
            return Err(Refusal::invalid("responses", "at most 200 responses"));
        }
        self.updated_at = response.at;
        self.responses.push(response);
        Ok(())
    }

    /// Filed -> UnderReview.
    ///
    /// # Errors
    /// `InvalidTransition` unless Filed.
    pub fn review(&mut self, reviewer: String, now: u64) -> Result<(), Refusal> {
        self.transition("review", |s| *s == AppealState::Filed, AppealState::UnderReview { reviewer }, now)
    }

    /// UnderReview -> Resolved.
    ///
    /// # Errors
    /// `InvalidTransition` unless UnderReview; `InvalidInput` on the notes.
    pub fn resolve(&mut self, outcome: Outcome, notes: String, now: u64) -> Result<(), Refusal> {
        if !matches!(self.status, AppealState::UnderReview { .. }) {
            return Err(self.refuse("resolve"));
        }
        check_len("notes", &notes, MAX_STATEMENT_CHARS)?;
        self.status = AppealState::Resolved { outcome, notes, at: now };
        self.updated_at = now;
        Ok(())
    }

    /// Filed|UnderReview -> Dismissed.
    ///
    /// # Errors
    /// `InvalidTransition` when terminal.
    pub fn dismiss(&mut self, reason: String, now: u64) -> Result<(), Refusal> {
        if !self.is_open() {
            return Err(self.refuse("dismiss"));
        }
        check_len("reason", &reason, MAX_GROUNDS_CHARS)?;
        self.status = AppealState::Dismissed { reason, at: now };
        self.updated_at = now;
        Ok(())
    }

    /// Filed|UnderReview -> Withdrawn.
    ///
    /// # Errors
    /// `InvalidTransition` when terminal.
    pub fn withdraw(&mut self, now: u64) -> Result<(), Refusal> {
        if !self.is_open() {
            return Err(self.refuse("withdraw"));
        }
        self.status = AppealState::Withdrawn { at: now };
        self.updated_at = now;
        Ok(())
    }
}
