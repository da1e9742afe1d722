//! Amendments: propose, add changes, submit, open voting, vote, close (by the
//! operator, by anyone after `closes_at`, or by the server's sweep), withdraw,
//! lookups and the per-charter list.
//!
//! Who may do what (`docs/DOMAIN.md`, "Who may do what"):
//! - propose: a **Member with Propose** of the charter's jurisdiction, whose
//!   holder record is Active, while the charter is Active;
//! - add a change, submit, withdraw: the proposer only;
//! - open voting: a steward that can attest and serves the charter's
//!   jurisdiction (signed), or the operator; the charter must still be Active;
//! - vote: a Member with Vote of the jurisdiction whose holder is Active, once,
//!   while Voting and before `closes_at`;
//! - close: the operator at any time; anyone (and the sweep) once `closes_at`
//!   has passed.
//!
//! "Eligible" at close counts the same people who may vote: the holders of
//! the jurisdiction's `member/<jurisdiction>/` rows whose value is `Member`,
//! whose holder is Active and whose affiliation carries Vote, at the moment
//! of the close. A suspended holder (who has lost the right to vote) is
//! therefore not counted against the quorum either, and only the votes of
//! eligible members count: a vote cast by someone banned, suspended or gone
//! by the close stays in the record but is left out of the tally
//! (`uncounted`), so counted votes never exceed the eligible.
//!
//! Votes are cast only while the charter is Active; a close of an amendment
//! whose charter is no longer Active (suspended or dissolved meanwhile)
//! rejects it, since such a charter cannot be amended.
//!
//! **Invariant:** every change is one batch over the amendment record and its
//! index rows (`amendment_charter/`, and `amendment_closes/` while Voting),
//! taken under the amendment's lock.

use std::collections::BTreeSet;

use serde::Serialize;

use serde::Deserialize;

use super::input::{check_limit, require_actor};
use super::CommonsResult;
use super::{CommonsError, CommonsManager};
use crate::backend::CommonsStoreBackend;
use crate::model::amendment::{Amendment, AmendmentChange, AmendmentStatus, ChangeKind, Requirements, Tally, Vote};
use crate::model::charter::{Charter, CharterStatus};
use crate::model::did::Did;
use crate::model::error::{ConflictCode, Refusal};
use crate::model::holder::{AffiliationStatus, Capability, CommonsHolderRecord};
use crate::model::ids::{check_hex_id, check_uuid};
use crate::model::signing::{signed_actions, Signed};
use crate::store::Due;
use crate::store::{Page, Paging};

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

signed_actions! {
    /// `amendment-propose` (target `-`): a Member with Propose drafts an
    /// amendment to an Active charter.
    AmendmentPropose = "amendment-propose" {
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

    /// `amendment-change` on an amendment: the proposer adds a change while Draft.
    AmendmentAddChange = "amendment-change" {
        /// What it changes.
        pub target: String,
        /// How.
        pub change: ChangeKind,
        /// The new text.
        #[serde(default)]
        pub new_value: Option<String>,
    }

    /// `amendment-submit` on an amendment: the proposer submits it for a vote.
    AmendmentSubmit = "amendment-submit" {}

    /// `amendment-withdraw` on an amendment: the proposer withdraws it.
    AmendmentWithdraw = "amendment-withdraw" {}

    /// `amendment-open-voting` on an amendment: a steward of the charter's
    /// jurisdiction opens the vote.
    AmendmentOpenVoting = "amendment-open-voting" {}

    /// `vote` on an amendment: a Member with Vote votes once.
    CastVote = "vote" {
        /// For (`true`) or against.
        pub approve: bool,
    }
}

/// What a close answers: the amendment as its GET returns it, plus the count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClosedAmendment {
    /// The closed amendment (Ratified or Rejected).
    #[serde(flatten)]
    pub amendment: Amendment,
    /// Eligible members, votes, approvals and the result.
    pub tally: Tally,
}

/// Filters of [`CommonsManager::list_amendments`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmendmentFilter {
    /// Only amendments of this status (variant name: `Draft`, `Submitted`,
    /// `Voting`, `Ratified`, `Rejected`, `Withdrawn`).
    pub status: Option<String>,
}

impl<S: CommonsStoreBackend> CommonsManager<S> {
    /// The Active holder of `did` with a `Member` affiliation in
    /// `jurisdiction` that carries `capability`.
    fn member_with(&self, did: &Did, jurisdiction: &str, capability: Capability) -> CommonsResult<CommonsHolderRecord> {
        let holder = self
            .store
            .holder_by_did(did)?
            .ok_or_else(|| Refusal::forbidden(format!("{did} is not a holder of the commons")))?;
        if !can_act(&holder, jurisdiction, capability) {
            return Err(Refusal::forbidden(format!(
                "only an Active holder who is a Member of {jurisdiction} with {capability:?} may take this action"
            ))
            .into());
        }
        self.require_active_anchor(did)?;
        Ok(holder)
    }

    fn check_charter_active(&self, charter: &Charter) -> CommonsResult<()> {
        if charter.is_active() {
            Ok(())
        } else {
            Err(Refusal::conflict(
                ConflictCode::CharterNotActive,
                format!("charter {} is {}, not Active", charter.domain_id, charter.status.name()),
            )
            .into())
        }
    }

    /// A Member with Propose of an Active charter's jurisdiction drafts an
    /// amendment (status Draft; `changes` may be empty until submit).
    ///
    /// # Errors
    /// `InvalidInput` on `target` (must be `-`), a field, a change or the
    /// requirements; `InvalidId` on `charter_id`; `NotFound` (charter);
    /// `Conflict` `charter_not_active`; `Forbidden` unless such a member.
    pub fn propose_amendment(&self, signed: &Signed<AmendmentPropose>) -> CommonsResult<Amendment> {
        self.once(signed, || {
            if signed.target != "-" {
                return Err(Refusal::invalid("target", "amendment-propose is signed with target -").into());
            }
            let body = &signed.body;
            check_hex_id("charter", &body.charter_id)?;
            let charter = self.get_required::<Charter>(&body.charter_id)?;
            self.check_charter_active(&charter)?;
            self.member_with(&signed.actor, &charter.domain_id, Capability::Propose)?;
            let amendment = Amendment::new(
                charter.charter_id,
                body.title.clone(),
                body.description.clone(),
                body.changes.iter().cloned().map(AmendmentChange::from).collect(),
                signed.actor.clone(),
                body.requirements.unwrap_or_default().into(),
                self.now(),
            )?;
            self.save(&amendment, None)?;
            Ok(amendment)
        })
    }

    /// A proposer's step on its amendment: under the amendment's lock, reads
    /// it, checks that the proposer signed, applies `step` (at the current
    /// time) to a copy and saves it.
    fn proposer_step<A>(
        &self,
        signed: &Signed<A>,
        step: impl Fn(&mut Amendment, u64) -> CommonsResult<()>,
    ) -> CommonsResult<Amendment> {
        let id = signed.target.as_str();
        check_uuid("amendment", id)?;
        self.exclusive(&[id], || {
            let old = self.get_required::<Amendment>(id)?;
            require_actor(signed, &old.proposer_did, "the proposer")?;
            let mut amendment = old.clone();
            step(&mut amendment, self.now())?;
            self.save(&amendment, Some(&old))?;
            Ok(amendment)
        })
    }

    /// The proposer adds a change while Draft.
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `Forbidden` unless the proposer, or while the
    /// proposer's anchor is not Active; `InvalidTransition` unless Draft;
    /// `InvalidInput` on the change or past 100 changes.
    pub fn add_amendment_change(&self, signed: &Signed<AmendmentAddChange>) -> CommonsResult<Amendment> {
        self.once(signed, || {
            let b = &signed.body;
            let change = AmendmentChange { target: b.target.clone(), change: b.change, new_value: b.new_value.clone() };
            self.proposer_step(signed, |amendment, now| {
                self.require_active_anchor(&signed.actor)?;
                Ok(amendment.add_change(change.clone(), now)?)
            })
        })
    }

    /// The proposer submits the amendment: Draft -> Submitted (at least one
    /// change).
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `Forbidden` unless the proposer, or while the
    /// proposer's anchor is not Active; `InvalidTransition` unless Draft;
    /// `Conflict` `no_changes`.
    pub fn submit_amendment(&self, signed: &Signed<AmendmentSubmit>) -> CommonsResult<Amendment> {
        self.once(signed, || {
            self.proposer_step(signed, |amendment, now| {
                self.require_active_anchor(&signed.actor)?;
                Ok(amendment.submit(now)?)
            })
        })
    }

    /// The proposer withdraws the amendment from Draft, Submitted or Voting
    /// (votes cast stay on the record; nothing is counted). Allowed whatever
    /// the proposer's standing: withdrawing gives power up rather than using
    /// it.
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `Forbidden` unless the proposer;
    /// `InvalidTransition` when Ratified, Rejected or Withdrawn.
    pub fn withdraw_amendment(&self, signed: &Signed<AmendmentWithdraw>) -> CommonsResult<Amendment> {
        self.once(signed, || self.proposer_step(signed, |amendment, now| Ok(amendment.withdraw(now)?)))
    }

    /// A steward that can attest and serves the charter's jurisdiction opens
    /// the vote: Submitted -> Voting for `requirements.voting_secs`.
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `Forbidden` unless such a steward; as
    /// [`CommonsManager::open_amendment_voting_by_operator`].
    pub fn open_amendment_voting(&self, signed: &Signed<AmendmentOpenVoting>) -> CommonsResult<Amendment> {
        self.once(signed, || self.open_voting(&signed.target, Some(&signed.actor)))
    }

    /// Operator: opens the vote (Submitted -> Voting).
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `Conflict` `charter_not_active`;
    /// `InvalidTransition` unless Submitted.
    pub fn open_amendment_voting_by_operator(&self, id: &str) -> CommonsResult<Amendment> {
        self.open_voting(id, None)
    }

    /// Opens the vote on amendment `id`, by `steward` (who must be able to
    /// attest and serve the charter's jurisdiction) or, with `None`, by the
    /// operator.
    fn open_voting(&self, id: &str, steward: Option<&Did>) -> CommonsResult<Amendment> {
        check_uuid("amendment", id)?;
        self.exclusive(&[id], || {
            let old = self.get_required::<Amendment>(id)?;
            let charter = self.get_required::<Charter>(&old.charter_id)?;
            if let Some(steward) = steward {
                self.attesting_steward(steward, Some(&charter.domain_id), self.now())?;
            }
            self.check_charter_active(&charter)?;
            let mut amendment = old.clone();
            amendment.open_voting(self.now())?;
            self.save(&amendment, Some(&old))?;
            Ok(amendment)
        })
    }

    /// A Member with Vote of the charter's jurisdiction votes, once, while
    /// Voting and before `closes_at`. The vote keeps the envelope signature.
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `Conflict` `charter_not_active`; `Forbidden`
    /// unless such a member; `InvalidTransition` unless Voting or once
    /// `closes_at` has passed; `Conflict` `already_voted`.
    pub fn vote_amendment(&self, signed: &Signed<CastVote>) -> CommonsResult<Amendment> {
        self.once(signed, || {
            let id = signed.target.as_str();
            check_uuid("amendment", id)?;
            self.exclusive(&[id], || {
                let old = self.get_required::<Amendment>(id)?;
                let charter = self.get_required::<Charter>(&old.charter_id)?;
                self.check_charter_active(&charter)?;
                self.member_with(&signed.actor, &charter.domain_id, Capability::Vote)?;
                let mut amendment = old.clone();
                amendment.cast(Vote {
                    voter_did: signed.actor.clone(),
                    approve: signed.body.approve,
                    cast_at: self.now(),
                    signature: signed.signature.clone(),
                })?;
                self.save(&amendment, Some(&old))?;
                Ok(amendment)
            })
        })
    }

    /// Closes the vote and counts it: Voting -> Ratified | Rejected. `early`
    /// (the operator) may close before `closes_at`; anyone else only after.
    /// Eligible members are counted now (see the module docs).
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `InvalidTransition` unless Voting, or before
    /// `closes_at` without `early`.
    pub fn close_amendment(&self, id: &str, early: bool) -> CommonsResult<ClosedAmendment> {
        check_uuid("amendment", id)?;
        self.exclusive(&[id], || {
            let old = self.get_required::<Amendment>(id)?;
            self.close_locked(old, early)
        })
    }

    fn close_locked(&self, old: Amendment, early: bool) -> CommonsResult<ClosedAmendment> {
        let now = self.now();
        // Refuse before counting: a count walks the whole jurisdiction.
        old.check_close(early, now)?;
        let charter = self.get_required::<Charter>(&old.charter_id)?;
        let eligible = self.eligible_voters(&charter.domain_id)?;
        let mut amendment = old.clone();
        let tally = amendment.close(&eligible, charter.status == CharterStatus::Active, early, now)?;
        self.save(&amendment, Some(&old))?;
        Ok(ClosedAmendment { amendment, tally })
    }

    /// The DIDs of the Active holders with an Active anchor who are Members
    /// of `jurisdiction` with Vote (exactly those who may vote), walking its `member/` rows (only rows whose value is `Member`
    /// load their holder). Memory: one DID (~56 bytes) per eligible member.
    ///
    /// # Errors
    /// Store errors; `Corrupt` when a row points to a missing holder.
    pub fn eligible_voters(&self, jurisdiction: &str) -> CommonsResult<BTreeSet<Did>> {
        let mut eligible = BTreeSet::new();
        self.store.for_each_member(jurisdiction, AffiliationStatus::Member, |holder| -> CommonsResult<()> {
            if can_act(&holder, jurisdiction, Capability::Vote) && self.anchor_is_active(&holder.did)? {
                eligible.insert(holder.did);
            }
            Ok(())
        })?;
        Ok(eligible)
    }

    /// Closes every amendment whose voting time is over (the server's
    /// periodic sweep); returns how many were closed.
    ///
    /// # Errors
    /// Store errors (amendments closed before the error stay closed).
    pub fn close_due_amendments(&self) -> CommonsResult<usize> {
        let mut closed = 0;
        self.store.for_each_due(Due::AmendmentsToClose, self.now(), |id| -> CommonsResult<()> {
            // Another gateway's sweep may close it first: the commit then
            // conflicts, the re-run finds it closed, and nothing is done.
            self.exclusive(&[id], || {
                let Some(old) = self.store.get::<Amendment>(id)? else { return Ok(()) };
                match self.close_locked(old, false) {
                    Ok(_) => closed += 1,
                    Err(CommonsError::Store(e)) => return Err(e.into()),
                    // Closed or withdrawn meanwhile: nothing to do.
                    Err(_) => {}
                }
                Ok(())
            })
        })?;
        Ok(closed)
    }

    /// The amendment with `id`.
    ///
    /// # Errors
    /// `InvalidId`, `NotFound`, store errors.
    pub fn amendment(&self, id: &str) -> CommonsResult<Amendment> {
        check_uuid("amendment", id)?;
        self.get_required::<Amendment>(id)
    }

    /// A page of a charter's amendments, oldest first (UUID v7 order),
    /// optionally of one status. `limit` 1..=100.
    ///
    /// # Errors
    /// `InvalidId` on `charter_id`; `InvalidInput` on `status` or `limit`;
    /// `InvalidCursor`; `Corrupt`.
    pub fn list_amendments(
        &self,
        charter_id: &str,
        filter: &AmendmentFilter,
        page: Paging<'_>,
    ) -> CommonsResult<Page<Amendment>> {
        check_hex_id("charter", charter_id)?;
        check_limit(page.limit)?;
        if let Some(s) = &filter.status {
            if !AmendmentStatus::NAMES.contains(&s.as_str()) {
                return Err(Refusal::invalid("status", AmendmentStatus::NAMES.join(", ")).into());
            }
        }
        Ok(self.store.amendments_of_charter(charter_id, page, |a| {
            filter.status.as_deref().is_none_or(|s| a.status.name() == s)
        })?)
    }
}

/// True when `holder` is Active and a Member of `jurisdiction` with `capability`.
fn can_act(holder: &CommonsHolderRecord, jurisdiction: &str, capability: Capability) -> bool {
    holder.is_active()
        && holder
            .affiliation(jurisdiction)
            .is_some_and(|a| a.status == AffiliationStatus::Member && a.capabilities.contains(&capability))
}
