//! Appeals: filing (signed by a holder), evidence and responses (signed by a
//! party), withdrawal (the appellant), review / resolution / dismissal (the
//! operator), lookups and the per-appellant list.
//!
//! Decisions (`docs/DOMAIN.md`, "Decisions the code made"):
//! - **Who may file.** Any holder may appeal a revocation that targets them
//!   (their anchor, holder record, one of their memberships, or their steward
//!   record), even once revoked: due process against the revocation itself is
//!   never taken away. Every other kind needs the `due_process` baseline
//!   right (an Active or Suspended holder). A steward cannot appeal its own
//!   action.
//! - **Jurisdiction.** An appeal of something that lives in a jurisdiction
//!   belongs there: a membership revocation appeal to the membership's
//!   jurisdiction, a steward revocation or steward-action appeal to the
//!   steward's (the whole commons for a commons-wide steward), an anchor or
//!   holder revocation appeal to the whole commons. A payload `jurisdiction`
//!   may repeat it but not name another (400 `invalid_input`), so an
//!   appellant cannot choose which stewards become parties. Suspension,
//!   GovernanceDecision and Other appeals take the payload's, which must be an
//!   existing charter's domain.
//! - **Parties** (who may add evidence and responses): the appellant; for a
//!   StewardAction appeal, the steward concerned; and any Active steward
//!   within its term who serves the appeal's jurisdiction (a commons-wide
//!   steward serves every appeal). The operator decides through its own
//!   routes and has no DID to sign evidence with.
//! - **Outcomes of a Revocation appeal**, in the batch that resolves it:
//!   Upheld -> revocation appeal status Upheld and what the revocation did
//!   undone (anchor / holder / steward `restore`, membership
//!   `restore_affiliation` to the status, capabilities and roles it had); a
//!   target that has moved on since (reinstated, left, retired, or revoked
//!   or banned by a separate operator decision) is left as it is;
//!   Denied and PartiallyUpheld -> Denied (the revocation stands and is
//!   finalized after its deadline; partial relief is granted by the operator
//!   through the ordinary status routes); Remanded -> None (no decision on
//!   the revocation: the appellant may appeal again before the deadline,
//!   after which it is finalized). Dismissed and Withdrawn -> None.
//! - **Steward disputes.** A StewardAction appeal counts as a dispute when
//!   the operator decides it on the merits, not when it is filed: resolving
//!   it Upheld or PartiallyUpheld adds one to the steward's
//!   `disputes_against`; Denied adds one to `disputes_against` and one to
//!   `disputes_won` (the steward's action stood), so `disputes_won <=
//!   disputes_against` as the reputation formula expects. Remanded,
//!   Dismissed and Withdrawn appeals leave the counters as they are. Counting
//!   filings instead would let any holder push a steward's reputation under
//!   0.5 (and take away its right to attest) by filing appeals. Under
//!   the reputation formula (`docs/DOMAIN.md`, "Records") even a dispute the steward wins lowers its
//!   reputation (by 1/issued, less the 0.1 bonus), so operators should
//!   *dismiss* frivolous appeals rather than deny them on the merits. A
//!   holder has at most one open StewardAction appeal per steward (409
//!   `appeal_open`).
//!
//! **Invariant:** an appeal and every record its step changes (the
//! revocation, its target, the steward) are written in ONE batch, under the
//! locks of all of them.

use serde::Deserialize;

use super::input::{check_jurisdiction, check_limit, parse_did, strict};
use super::revocations::TargetRecord;
use super::CommonsManager;
use super::CommonsResult;
use crate::backend::CommonsStoreBackend;
use crate::model::anchor::AnchorStatus;
use crate::model::appeal::{Appeal, AppealKind, AppealState, Evidence, Outcome, Remedy, Response};
use crate::model::did::Did;
use crate::model::error::{ConflictCode, Refusal};
use crate::model::holder::{AffiliationStatus, BaselineRight, CommonsHolderRecord, HolderStatus};
use crate::model::ids::{check_hex_id, check_uuid};
use crate::model::revocation::{AppealStatus, RevocationRecord, RevocationTarget, TargetBefore};
use crate::model::signing::{signed_actions, Signed};
use crate::model::steward::{StewardRecord, StewardStatus};
use crate::store::{Changes, Page, Paging};

signed_actions! {
    /// `appeal-file` (target `-`): a holder files an appeal.
    AppealFile = "appeal-file" {
        /// What is appealed (`{"kind": "Revocation", "revocation_id": ..}`,
        /// ...); a field beside those of its kind is a 400 `invalid_payload`.
        #[serde(deserialize_with = "strict")]
        pub kind: AppealKind,
        /// 1..=2,000 characters.
        pub grounds: String,
        /// Up to 10,000 characters.
        #[serde(default)]
        pub statement: String,
        /// What is asked for (`{"kind": "Reinstate"}`, ...); a field beside
        /// those of its kind is a 400 `invalid_payload`.
        #[serde(deserialize_with = "strict")]
        pub requested_remedy: Remedy,
        /// The jurisdiction concerned (a charter domain), if any.
        #[serde(default)]
        pub jurisdiction: Option<String>,
    }

    /// `appeal-evidence` on an appeal: a party adds a piece of evidence.
    AppealEvidence = "appeal-evidence" {
        /// Lowercase hex SHA-256 of the evidence.
        pub sha256: String,
        /// What it is (at most 2,000 characters).
        pub description: String,
    }

    /// `appeal-respond` on an appeal: a party responds.
    AppealRespond = "appeal-respond" {
        /// 1..=10,000 characters.
        pub text: String,
    }

    /// `appeal-withdraw` on an appeal: the appellant withdraws it.
    AppealWithdraw = "appeal-withdraw" {}
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

/// Filters of [`CommonsManager::list_appeals`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppealFilter {
    /// Only appeals of this status (variant name: `Filed`, `UnderReview`,
    /// `Resolved`, `Dismissed`, `Withdrawn`).
    pub status: Option<String>,
}

/// How an appeal ends, for the records it drags along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Resolved(Outcome),
    Dismissed,
    Withdrawn,
}

impl<S: CommonsStoreBackend> CommonsManager<S> {
    /// A holder files an appeal (status Filed). A Revocation appeal sets the
    /// revocation's appeal status to Pending in the same batch. A
    /// StewardAction appeal changes no counter until it is decided (see the
    /// module docs).
    ///
    /// # Errors
    /// `InvalidInput` on `target` (must be `-`), a field, or `jurisdiction`;
    /// `InvalidId` on an id in `kind`; `Forbidden` unless the actor is a
    /// holder with the right to file it (see the module docs); `NotFound`
    /// (revocation, steward, jurisdiction's charter); `Conflict`
    /// `appeal_deadline_passed`; `Conflict` `appeal_open` when the actor
    /// already has an open StewardAction appeal of that steward;
    /// `InvalidTransition` when the revocation already has an appeal pending
    /// or decided, or was finalized.
    pub fn file_appeal(&self, signed: &Signed<AppealFile>) -> CommonsResult<Appeal> {
        self.once(signed, || {
            if signed.target != "-" {
                return Err(Refusal::invalid("target", "appeal-file is signed with target -").into());
            }
            let body = &signed.body;
            let holder = self
                .store
                .holder_by_did(&signed.actor)?
                .ok_or_else(|| Refusal::forbidden(format!("{} is not a holder of the commons", signed.actor)))?;
            if let Some(j) = &body.jurisdiction {
                check_jurisdiction(j)?;
                if !self.store.has_charter(j)? {
                    return Err(Refusal::not_found("charter", j.as_str()).into());
                }
            }
            let now = self.now();
            // `fixed`: `Some(j)` when what is appealed decides the jurisdiction
            // (`j` = `None` for the whole commons); `None` when the payload may.
            let new_appeal = |fixed: Option<Option<String>>| {
                let jurisdiction = match fixed {
                    None => body.jurisdiction.clone(),
                    Some(fixed) if body.jurisdiction.is_none() || body.jurisdiction == fixed => fixed,
                    Some(fixed) => {
                        let fixed = fixed.as_deref().unwrap_or("the whole commons");
                        return Err(Refusal::invalid(
                            "jurisdiction",
                            format!("this appeal belongs to {fixed} (where what it appeals lives); omit jurisdiction"),
                        ));
                    }
                };
                Appeal::new(
                    signed.actor.clone(),
                    body.kind.clone(),
                    jurisdiction,
                    body.grounds.clone(),
                    body.statement.clone(),
                    body.requested_remedy.clone(),
                    now,
                )
            };
            let appeal = match &body.kind {
                AppealKind::Revocation { revocation_id } => {
                    check_uuid("revocation", revocation_id)?;
                    return self.exclusive(&[revocation_id], || {
                        let old = self.get_required::<RevocationRecord>(revocation_id)?;
                        if !concerns(&old.target, &holder, &signed.actor) {
                            return Err(Refusal::forbidden(format!(
                                "revocation {revocation_id} does not target {}; only its target may appeal it",
                                signed.actor
                            ))
                            .into());
                        }
                        let fixed = match &old.target {
                            RevocationTarget::Membership { jurisdiction, .. } => Some(jurisdiction.clone()),
                            RevocationTarget::Steward { steward_id } => {
                                self.get_required::<StewardRecord>(steward_id)?.jurisdiction
                            }
                            RevocationTarget::Anchor { .. } | RevocationTarget::Holder { .. } => None,
                        };
                        let appeal = new_appeal(Some(fixed))?;
                        let mut revocation = old.clone();
                        revocation.appeal_filed(appeal.appeal_id.clone(), now)?;
                        let mut changes = Changes::new();
                        changes.put(&appeal, None)?;
                        changes.put(&revocation, Some(&old))?;
                        self.commit(changes)?;
                        Ok(appeal)
                    });
                }
                AppealKind::StewardAction { steward_id } => {
                    check_hex_id("steward", steward_id)?;
                    // Under the appellant's lock, so two filings cannot both pass
                    // the one-open-appeal check; the holder is read again under it.
                    return self.exclusive(&[steward_id, holder.holder_id.as_str()], || {
                        require_due_process(&self.get_required::<CommonsHolderRecord>(&holder.holder_id)?)?;
                        let steward = self.get_required::<StewardRecord>(steward_id)?;
                        if steward.did == signed.actor {
                            return Err(Refusal::forbidden("a steward cannot appeal its own action").into());
                        }
                        if let Some(open) = self.open_steward_appeal(&signed.actor, steward_id)? {
                            return Err(Refusal::conflict(
                                ConflictCode::AppealOpen,
                                format!("{} already has open appeal {open} of steward {steward_id}", signed.actor),
                            )
                            .into());
                        }
                        let appeal = new_appeal(Some(steward.jurisdiction.clone()))?;
                        // In-process, the appellant's lock makes the open-appeal check
                        // and this write one step. Across gateways the open appeal's
                        // unique index row does: it is created only where absent, so
                        // a second filing at the same instant conflicts, runs again
                        // and meets the first here (`appeal_open`).
                        let mut changes = Changes::new();
                        changes.put(&appeal, None)?;
                        self.commit(changes)?;
                        Ok(appeal)
                    });
                }
                _ => {
                    require_due_process(&holder)?;
                    new_appeal(None)?
                }
            };
            self.save(&appeal, None)?;
            Ok(appeal)
        })
    }

    /// The id of an open (Filed or UnderReview) StewardAction appeal of
    /// `steward_id` filed by `appellant`, if any: walks the appellant's
    /// appeals through their index rows.
    fn open_steward_appeal(&self, appellant: &Did, steward_id: &str) -> CommonsResult<Option<String>> {
        let open = self.store.find_appeal_of_appellant(appellant, |appeal| {
            matches!(appeal.status, AppealState::Filed | AppealState::UnderReview { .. })
                && matches!(&appeal.kind, AppealKind::StewardAction { steward_id: s } if s == steward_id)
        })?;
        Ok(open.map(|a| a.appeal_id))
    }

    /// True when `did` is a party of `appeal` (see the module docs).
    fn is_party(&self, appeal: &Appeal, did: &Did) -> CommonsResult<bool> {
        if &appeal.appellant_did == did {
            return Ok(true);
        }
        if matches!(&appeal.kind, AppealKind::StewardAction { steward_id } if *steward_id == StewardRecord::id_for(did))
        {
            return Ok(true);
        }
        let Some(steward) = self.store.steward_by_did(did)? else {
            return Ok(false);
        };
        Ok(steward.status == StewardStatus::Active
            && self.now() < steward.term_end
            && steward.serves(appeal.jurisdiction.as_deref()))
    }

    /// A party's step on an open appeal: checks the id, locks the appeal,
    /// refuses a signer who is not a party, applies `change` to a copy at
    /// now and saves it.
    fn party_step<A>(
        &self,
        signed: &Signed<A>,
        change: impl Fn(&mut Appeal, u64) -> Result<(), Refusal>,
    ) -> CommonsResult<Appeal> {
        let id = signed.target.as_str();
        check_uuid("appeal", id)?;
        self.exclusive(&[id], || {
            let old = self.get_required::<Appeal>(id)?;
            if !self.is_party(&old, &signed.actor)? {
                return Err(Refusal::forbidden(
                    "only a party may add to an appeal: the appellant, the steward whose action is appealed, or an Active steward serving the appeal's jurisdiction",
                ).into());
            }
            let mut appeal = old.clone();
            change(&mut appeal, self.now())?;
            self.save(&appeal, Some(&old))?;
            Ok(appeal)
        })
    }

    /// A party adds a piece of evidence (its hash and a description) while
    /// the appeal is open.
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `Forbidden` unless a party;
    /// `InvalidTransition` once decided, dismissed or withdrawn;
    /// `InvalidInput` on the hash, the description, or past 200 items.
    pub fn add_appeal_evidence(&self, signed: &Signed<AppealEvidence>) -> CommonsResult<Appeal> {
        self.once(signed, || {
            self.party_step(signed, |appeal, now| {
                appeal.add_evidence(Evidence {
                    submitted_by: signed.actor.clone(),
                    sha256: signed.body.sha256.clone(),
                    description: signed.body.description.clone(),
                    at: now,
                })
            })
        })
    }

    /// A party responds while the appeal is open.
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `Forbidden` unless a party;
    /// `InvalidTransition` once decided, dismissed or withdrawn;
    /// `InvalidInput` on an empty or over-long text, or past 200 responses.
    pub fn respond_to_appeal(&self, signed: &Signed<AppealRespond>) -> CommonsResult<Appeal> {
        self.once(signed, || {
            self.party_step(signed, |appeal, now| {
                appeal.add_response(Response {
                    responder_did: signed.actor.clone(),
                    text: signed.body.text.clone(),
                    at: now,
                })
            })
        })
    }

    /// Operator: Filed -> UnderReview { reviewer: "operator" }.
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `InvalidTransition` unless Filed.
    pub fn review_appeal(&self, id: &str) -> CommonsResult<Appeal> {
        check_uuid("appeal", id)?;
        self.exclusive(&[id], || {
            let old = self.get_required::<Appeal>(id)?;
            let mut appeal = old.clone();
            appeal.review("operator".into(), self.now())?;
            self.save(&appeal, Some(&old))?;
            Ok(appeal)
        })
    }

    /// Operator: UnderReview -> Resolved, with the revocation (and its
    /// target) or the steward changed in the same batch (see the module
    /// docs).
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `InvalidTransition` unless UnderReview;
    /// `InvalidInput` on the notes; store errors (nothing written).
    pub fn resolve_appeal(&self, id: &str, request: ResolveRequest) -> CommonsResult<Appeal> {
        let ResolveRequest { outcome, notes } = request;
        self.end_appeal(
            id,
            Ending::Resolved(outcome),
            |appeal, now| Ok(appeal.resolve(outcome, notes.clone(), now)?),
            None,
        )
    }

    /// Operator: Filed|UnderReview -> Dismissed; a pending revocation appeal
    /// status goes back to None in the same batch.
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `InvalidTransition` when already ended;
    /// `InvalidInput` on a reason over 2,000 characters.
    pub fn dismiss_appeal(&self, id: &str, request: DismissRequest) -> CommonsResult<Appeal> {
        let DismissRequest { reason } = request;
        self.end_appeal(id, Ending::Dismissed, |appeal, now| Ok(appeal.dismiss(reason.clone(), now)?), None)
    }

    /// The appellant withdraws: Filed|UnderReview -> Withdrawn; a pending
    /// revocation appeal status goes back to None in the same batch.
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `Forbidden` unless the appellant;
    /// `InvalidTransition` when already ended.
    pub fn withdraw_appeal(&self, signed: &Signed<AppealWithdraw>) -> CommonsResult<Appeal> {
        self.once(signed, || {
            self.end_appeal(
                &signed.target,
                Ending::Withdrawn,
                |appeal, now| Ok(appeal.withdraw(now)?),
                Some(&signed.actor),
            )
        })
    }

    /// Ends appeal `id` with `step` (and `ending`'s consequences) under the
    /// locks of every record involved; `appellant`, when given, must be the
    /// appellant.
    fn end_appeal(
        &self,
        id: &str,
        ending: Ending,
        step: impl Fn(&mut Appeal, u64) -> CommonsResult<()>,
        appellant: Option<&Did>,
    ) -> CommonsResult<Appeal> {
        check_uuid("appeal", id)?;
        // The kind of an appeal and the target of a revocation never change,
        // so the records to lock can be found before locking.
        let peek = self.get_required::<Appeal>(id)?;
        let mut lock_ids = vec![id.to_string()];
        let revocation_target = match &peek.kind {
            AppealKind::Revocation { revocation_id } => {
                let target = self.get_required::<RevocationRecord>(revocation_id)?.target;
                lock_ids.push(revocation_id.clone());
                lock_ids.push(target.record_id().to_string());
                Some(target)
            }
            AppealKind::StewardAction { steward_id } => {
                lock_ids.push(steward_id.clone());
                None
            }
            _ => None,
        };
        let lock_refs: Vec<&str> = lock_ids.iter().map(String::as_str).collect();
        self.exclusive(&lock_refs, || {
            let old = self.get_required::<Appeal>(id)?;
            if let Some(did) = appellant {
                if did != &old.appellant_did {
                    return Err(Refusal::forbidden("only the appellant may sign this action").into());
                }
            }
            let now = self.now();
            let mut appeal = old.clone();
            step(&mut appeal, now)?;
            let mut changes = Changes::new();
            changes.put(&appeal, Some(&old))?;
            match (&appeal.kind, revocation_target.clone()) {
                (AppealKind::Revocation { revocation_id }, Some(_)) => {
                    self.end_revocation_appeal(&appeal.appeal_id, revocation_id, ending, now, &mut changes)?;
                }
                (AppealKind::StewardAction { steward_id }, _) => {
                    let won = match ending {
                        Ending::Resolved(Outcome::Denied) => Some(true),
                        Ending::Resolved(Outcome::Upheld | Outcome::PartiallyUpheld) => Some(false),
                        Ending::Resolved(Outcome::Remanded) | Ending::Dismissed | Ending::Withdrawn => None,
                    };
                    if let Some(won) = won {
                        let old_steward = self.get_required::<StewardRecord>(steward_id)?;
                        let mut steward = old_steward.clone();
                        steward.record_dispute(won, now);
                        changes.put(&steward, Some(&old_steward))?;
                    }
                }
                _ => {}
            }
            self.commit(changes)?;
            Ok(appeal)
        })
    }

    /// Adds to `changes` what ending appeal `appeal_id` does to its
    /// revocation (and, when upheld, to the revocation's target).
    fn end_revocation_appeal(
        &self,
        appeal_id: &str,
        revocation_id: &str,
        ending: Ending,
        now: u64,
        changes: &mut Changes,
    ) -> CommonsResult<()> {
        let old = self.get_required::<RevocationRecord>(revocation_id)?;
        if !matches!(&old.appeal_status, AppealStatus::Pending { appeal_id: a } if a == appeal_id) {
            // Only the pending appeal speaks for the revocation.
            tracing::warn!(appeal = %appeal_id, revocation = %revocation_id, "appeal ended but was not the revocation's pending appeal");
            return Ok(());
        }
        let upheld = match ending {
            Ending::Resolved(Outcome::Upheld) => Some(true),
            Ending::Resolved(Outcome::Denied | Outcome::PartiallyUpheld) => Some(false),
            Ending::Resolved(Outcome::Remanded) | Ending::Dismissed | Ending::Withdrawn => None,
        };
        let mut revocation = old.clone();
        revocation.appeal_ended(appeal_id, upheld, now)?;
        changes.put(&revocation, Some(&old))?;
        if upheld == Some(true) {
            let old_target = self.read_target(&revocation.target)?;
            if let Some(new_target) = restore(&revocation, &old_target, now)? {
                TargetRecord::put(&new_target, &old_target, changes)?;
            }
        }
        Ok(())
    }

    /// The appeal with `id`.
    ///
    /// # Errors
    /// `InvalidId`, `NotFound`, store errors.
    pub fn appeal(&self, id: &str) -> CommonsResult<Appeal> {
        check_uuid("appeal", id)?;
        self.get_required::<Appeal>(id)
    }

    /// A page of one appellant's appeals, oldest first (UUID v7 order),
    /// optionally of one status. `limit` 1..=100.
    ///
    /// # Errors
    /// `InvalidDid`; `InvalidInput` on `status` or `limit`; `InvalidCursor`;
    /// `Corrupt`.
    pub fn list_appeals(
        &self,
        appellant: &str,
        filter: &AppealFilter,
        page: Paging<'_>,
    ) -> CommonsResult<Page<Appeal>> {
        let did = parse_did(appellant)?;
        check_limit(page.limit)?;
        if let Some(s) = &filter.status {
            if !AppealState::NAMES.contains(&s.as_str()) {
                return Err(Refusal::invalid("status", AppealState::NAMES.join(", ")).into());
            }
        }
        Ok(self
            .store
            .appeals_of_appellant(&did, page, |a| filter.status.as_deref().is_none_or(|s| a.status.name() == s))?)
    }
}

/// True when `target` is the record of the principal `did` (with holder
/// record `holder`).
fn concerns(target: &RevocationTarget, holder: &CommonsHolderRecord, did: &Did) -> bool {
    match target {
        // An anchor id equals its holder id.
        RevocationTarget::Anchor { anchor_id: id }
        | RevocationTarget::Holder { holder_id: id }
        | RevocationTarget::Membership { holder_id: id, .. } => *id == holder.holder_id,
        RevocationTarget::Steward { steward_id } => *steward_id == StewardRecord::id_for(did),
    }
}

fn require_due_process(holder: &CommonsHolderRecord) -> CommonsResult<()> {
    if holder.baseline_rights().contains(&BaselineRight::DueProcess) {
        Ok(())
    } else {
        Err(Refusal::forbidden(format!(
            "holder {} is {} and has no due_process right",
            holder.holder_id,
            holder.status.name()
        ))
        .into())
    }
}

/// The target after an upheld appeal: what this revocation did is undone,
/// and only that. The target is restored only while it is still in the state
/// the revocation put it in (immediate: Revoked / Banned, for an anchor with
/// this revocation's id; otherwise Suspended); a target that has moved on
/// since (reinstated, left, retired, or revoked or banned by a separate
/// operator decision) is left as it is (`None`). A restored target gets back
/// the status it had when the revocation was created (`target_before`: an
/// operator suspension from before stays; a membership also gets back its
/// capabilities and roles).
fn restore(revocation: &RevocationRecord, old: &TargetRecord, now: u64) -> CommonsResult<Option<TargetRecord>> {
    let immediate = revocation.immediate;
    Ok(match (old, &revocation.target) {
        (TargetRecord::Anchor(a), _) => {
            let ours = match &a.status {
                AnchorStatus::Revoked { revocation_id, .. } => {
                    immediate && revocation_id.as_deref() == Some(revocation.revocation_id.as_str())
                }
                AnchorStatus::Suspended { .. } => !immediate,
                AnchorStatus::Active => false,
            };
            if !ours {
                return Ok(None);
            }
            let before = match &revocation.target_before {
                Some(TargetBefore::Anchor { status }) => Some(status.clone()),
                _ => None,
            };
            let mut a = a.clone();
            a.restore(before, now)?;
            Some(TargetRecord::Anchor(a))
        }
        (TargetRecord::Holder(h), RevocationTarget::Membership { jurisdiction, .. }) => {
            let produced = if immediate { AffiliationStatus::Banned } else { AffiliationStatus::Suspended };
            if !h.affiliation(jurisdiction).is_some_and(|a| a.status == produced) {
                return Ok(None);
            }
            let mut h = h.clone();
            match &revocation.target_before {
                Some(TargetBefore::Membership { status, capabilities, roles }) => {
                    h.restore_affiliation(jurisdiction, Some(*status), Some((capabilities, roles)), now)?
                }
                _ => h.restore_affiliation(jurisdiction, None, None, now)?,
            }
            Some(TargetRecord::Holder(h))
        }
        (TargetRecord::Holder(h), _) => {
            let ours = match h.status {
                HolderStatus::Revoked { .. } => immediate,
                HolderStatus::Suspended { .. } => !immediate,
                HolderStatus::Active | HolderStatus::Exited { .. } => false,
            };
            if !ours {
                return Ok(None);
            }
            let before = match &revocation.target_before {
                Some(TargetBefore::Holder { status }) => Some(status.clone()),
                _ => None,
            };
            let mut h = h.clone();
            h.restore(before, now)?;
            Some(TargetRecord::Holder(h))
        }
        (TargetRecord::Steward(s), _) => {
            let ours = match s.status {
                StewardStatus::Revoked { .. } => immediate,
                StewardStatus::Suspended { .. } => !immediate,
                StewardStatus::Active | StewardStatus::Retired => false,
            };
            if !ours {
                return Ok(None);
            }
            let before = match &revocation.target_before {
                Some(TargetBefore::Steward { status }) => Some(status.clone()),
                _ => None,
            };
            let mut s = s.clone();
            s.restore(before, now)?;
            Some(TargetRecord::Steward(s))
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn filing(kind: serde_json::Value, remedy: serde_json::Value) -> serde_json::Result<AppealFile> {
        serde_json::from_value(json!({"kind": kind, "grounds": "g", "requested_remedy": remedy}))
    }

    #[test]
    fn appeal_file_enums_refuse_a_field_beside_their_kind() {
        let good =
            filing(json!({"kind": "Suspension"}), json!({"kind": "Compensation", "amount": 5, "currency": "EUR"}))
                .map(|f| (f.kind, f.requested_remedy))
                .map_err(|e| e.to_string());
        let compensation = Remedy::Compensation { amount: 5, currency: "EUR".into() };
        assert_eq!(good, Ok((AppealKind::Suspension, compensation)));
        let other = json!({"kind": "Other"});
        let none = json!({"kind": "None"});
        let spoilt = [
            (json!({"kind": "Suspension", "x": 1}), none.clone()),
            (json!({"kind": "Other", "reference": "r"}), none.clone()),
            (json!({"kind": "Revocation", "revocation_id": "r", "x": 1}), none.clone()),
            (json!({"kind": "GovernanceDecision", "reference": "r", "x": 1}), none.clone()),
            (json!({"kind": "StewardAction", "steward_id": "s", "x": 1}), none.clone()),
            (other.clone(), json!({"kind": "None", "x": 1})),
            (other.clone(), json!({"kind": "Reinstate", "amount": 1})),
            (other.clone(), json!({"kind": "Compensation", "amount": 1, "currency": "EUR", "x": 1})),
        ];
        for (kind, remedy) in spoilt {
            let err = filing(kind.clone(), remedy.clone()).map(|f| (f.kind, f.requested_remedy));
            let message = err.expect_err(&format!("{kind} {remedy} must be refused")).to_string();
            assert!(message.contains("unknown field"), "{kind} {remedy}: {message}");
        }
    }

    #[test]
    fn stored_appeal_enums_still_read_unknown_fields() {
        let kind: AppealKind = serde_json::from_value(json!({"kind": "Other", "x": 1})).expect("loads");
        let remedy: Remedy = serde_json::from_value(json!({"kind": "Reverse", "x": 1})).expect("loads");
        assert_eq!((kind, remedy), (AppealKind::Other, Remedy::Reverse));
    }
}
