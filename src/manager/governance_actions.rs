//! Payloads of the governance actions: the signed actions on amendments and
//! appeals (`DOMAIN.md`, "Signed actions"), one type per action, and the
//! operator's request bodies for revocations and appeal decisions. Request
//! DTOs refuse unknown fields.

use serde::Deserialize;

use crate::model::amendment::{AmendmentChange, ChangeKind, Requirements};
use crate::model::appeal::{AppealKind, Outcome, Remedy};
use crate::model::revocation::{RevocationReason, RevocationTarget};
use crate::model::signing::Action;

/// One change as a request gives it (`new_value` for Add, Modify, Replace).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeInput {
    /// What it changes (a clause reference, 1..=200 characters).
    pub target: String,
    /// How.
    pub change: ChangeKind,
    /// The new text.
    #[serde(default)]
    pub new_value: Option<String>,
}

impl From<ChangeInput> for AmendmentChange {
    fn from(c: ChangeInput) -> Self {
        AmendmentChange { target: c.target, change: c.change, new_value: c.new_value }
    }
}

/// Thresholds as a request gives them; each absent field takes its default
/// (quorum 50 %, approval 66 %, voting 7 days).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequirementsInput {
    /// Votes / eligible members needed, percent (1..=100).
    #[serde(default)]
    pub quorum_pct: Option<u8>,
    /// Approvals / votes needed, percent (1..=100).
    #[serde(default)]
    pub approval_pct: Option<u8>,
    /// Voting time, seconds (3,600 ..= 7,776,000).
    #[serde(default)]
    pub voting_secs: Option<u64>,
}

impl From<RequirementsInput> for Requirements {
    fn from(r: RequirementsInput) -> Self {
        let d = Requirements::default();
        Requirements {
            quorum_pct: r.quorum_pct.unwrap_or(d.quorum_pct),
            approval_pct: r.approval_pct.unwrap_or(d.approval_pct),
            voting_secs: r.voting_secs.unwrap_or(d.voting_secs),
        }
    }
}

/// `amendment-propose` (target `-`): a Member with Propose drafts an
/// amendment to an Active charter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmendmentPropose {
    /// The charter amended (64 hex).
    pub charter_id: String,
    /// 1..=200 characters.
    pub title: String,
    /// Up to 10,000 characters.
    #[serde(default)]
    pub description: String,
    /// At most 100 (may be empty while Draft).
    #[serde(default)]
    pub changes: Vec<ChangeInput>,
    /// Thresholds; defaults when absent.
    #[serde(default)]
    pub requirements: Option<RequirementsInput>,
}
impl Action for AmendmentPropose {
    const ACTION: &'static str = "amendment-propose";
}

/// `amendment-change` on an amendment: the proposer adds a change while Draft.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmendmentAddChange {
    /// What it changes.
    pub target: String,
    /// How.
    pub change: ChangeKind,
    /// The new text.
    #[serde(default)]
    pub new_value: Option<String>,
}
impl Action for AmendmentAddChange {
    const ACTION: &'static str = "amendment-change";
}

/// `amendment-submit` on an amendment: the proposer submits it for a vote.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmendmentSubmit {}
impl Action for AmendmentSubmit {
    const ACTION: &'static str = "amendment-submit";
}

/// `amendment-withdraw` on an amendment: the proposer withdraws it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmendmentWithdraw {}
impl Action for AmendmentWithdraw {
    const ACTION: &'static str = "amendment-withdraw";
}

/// `amendment-open-voting` on an amendment: a steward of the charter's
/// jurisdiction opens the vote.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmendmentOpenVoting {}
impl Action for AmendmentOpenVoting {
    const ACTION: &'static str = "amendment-open-voting";
}

/// `vote` on an amendment: a Member with Vote votes once.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CastVote {
    /// For (`true`) or against.
    pub approve: bool,
}
impl Action for CastVote {
    const ACTION: &'static str = "vote";
}

/// `appeal-file` (target `-`): a holder files an appeal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealFile {
    /// What is appealed (`{"kind": "Revocation", "revocation_id": ..}`, ...).
    pub kind: AppealKind,
    /// 1..=2,000 characters.
    pub grounds: String,
    /// Up to 10,000 characters.
    #[serde(default)]
    pub statement: String,
    /// What is asked for (`{"kind": "Reinstate"}`, ...).
    pub requested_remedy: Remedy,
    /// The jurisdiction concerned (a charter domain), if any.
    #[serde(default)]
    pub jurisdiction: Option<String>,
}
impl Action for AppealFile {
    const ACTION: &'static str = "appeal-file";
}

/// `appeal-evidence` on an appeal: a party adds a piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealEvidence {
    /// Lowercase hex SHA-256 of the evidence.
    pub sha256: String,
    /// What it is (at most 2,000 characters).
    pub description: String,
}
impl Action for AppealEvidence {
    const ACTION: &'static str = "appeal-evidence";
}

/// `appeal-respond` on an appeal: a party responds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealRespond {
    /// 1..=10,000 characters.
    pub text: String,
}
impl Action for AppealRespond {
    const ACTION: &'static str = "appeal-respond";
}

/// `appeal-withdraw` on an appeal: the appellant withdraws it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealWithdraw {}
impl Action for AppealWithdraw {
    const ACTION: &'static str = "appeal-withdraw";
}

/// Operator body of `POST /revocations`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationRequest {
    /// What is revoked (`{"kind": "Anchor", "anchor_id": ..}`, ...).
    pub target: RevocationTarget,
    /// Why (`{"kind": "Sybil"}`, `{"kind": "Other", "text": ..}`, ...).
    pub reason: RevocationReason,
    /// `true`: Revoked / Banned at once; `false`: Suspended until the deadline.
    pub immediate: bool,
    /// Appeal window in days (1..=365, default 30).
    #[serde(default)]
    pub appeal_window_days: Option<u64>,
}

/// Operator body of `POST /appeals/{id}/resolve`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// The decision.
    pub outcome: Outcome,
    /// Reasons (at most 10,000 characters).
    pub notes: String,
}

/// Operator body of `POST /appeals/{id}/dismiss`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DismissRequest {
    /// Why (at most 2,000 characters).
    pub reason: String,
}
