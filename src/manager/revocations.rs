//! Revocations: creation (operator) together with the change to the target,
//! finalisation after the appeal deadline (operator route and the server's
//! periodic sweep), lookups and the per-target list.
//!
//! What creation does to the target, in the same batch as the record:
//!
//! | target | `immediate: true` | `immediate: false` (until the deadline) |
//! |---|---|---|
//! | anchor | Revoked (with `revocation_id`) | Suspended { until: deadline } |
//! | holder | Revoked | Suspended { appeal_deadline } |
//! | membership | Banned | Suspended |
//! | steward | Revoked | Suspended |
//!
//! Decisions (`docs/DOMAIN.md`, "Decisions the code made"):
//! - A target has at most one **open** revocation (not finalized, appeal not
//!   upheld): a second one is a 409 `revocation_open`, so that the appeal and
//!   the finalisation of one revocation never fight over the target with
//!   another. To escalate, the operator uses the target's own status routes.
//!   While it is open, nothing brings the target back but an upheld appeal:
//!   the operator's reinstate routes (anchor, steward, affiliation) and a new
//!   application in that jurisdiction are a 409 `revocation_open`.
//! - Finalisation turns a suspension into Revoked / Banned when the target's
//!   state still allows it; a target that is already Revoked / Banned, or that
//!   left in a way revocation cannot follow (an Exited holder, a Retired
//!   steward), is left as it is and the record is finalized all the same. An
//!   immediate revocation finalizes without touching its target.
//! - An anchor revocation changes the anchor only, not the holder record (and
//!   the reverse): each record is revoked by its own target kind.
//!
//! **Invariant:** the record, its index rows (`revocation_target/`,
//! `revocation_deadline/` while it may still be finalized) and the target's
//! record are written in ONE batch, under the locks of the revocation and of
//! the target's record.

use serde::Deserialize;

use super::input::{check_limit, strict};
use super::CommonsResult;
use super::{CommonsError, CommonsManager};
use crate::backend::CommonsStoreBackend;
use crate::model::anchor::PersonhoodAnchor;
use crate::model::error::{ConflictCode, Refusal};
use crate::model::holder::{AffiliationAction, CommonsHolderRecord};
use crate::model::ids::check_uuid;
use crate::model::revocation::{
    AppealStatus, RevocationReason, RevocationRecord, RevocationTarget, TargetBefore, DEFAULT_APPEAL_WINDOW_DAYS,
};
use crate::model::steward::StewardRecord;
use crate::store::Due;
use crate::store::{Changes, Page, Paging};

/// Operator body of `POST /revocations`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationRequest {
    /// What is revoked (`{"kind": "Anchor", "anchor_id": ..}`, ...); a field
    /// beside those of its kind is a 400 `invalid_json`.
    #[serde(deserialize_with = "strict")]
    pub target: RevocationTarget,
    /// Why (`{"kind": "Sybil"}`, `{"kind": "Other", "text": ..}`, ...); a
    /// field beside those of its kind is a 400 `invalid_json`.
    #[serde(deserialize_with = "strict")]
    pub reason: RevocationReason,
    /// `true`: Revoked / Banned at once; `false`: Suspended until the deadline.
    pub immediate: bool,
    /// Appeal window in days (1..=365, default 30).
    #[serde(default)]
    pub appeal_window_days: Option<u64>,
}

/// [`RevocationReason`] as a request gives it: `{"kind": "Sybil"}` and the
/// The record a revocation target lives in, as read (old) before a change.
#[derive(Clone)]
pub(crate) enum TargetRecord {
    /// An anchor.
    Anchor(PersonhoodAnchor),
    /// A holder (also for a membership target).
    Holder(CommonsHolderRecord),
    /// A steward.
    Steward(StewardRecord),
}

impl TargetRecord {
    /// Adds the write of `new` over `old` to `changes`.
    pub(crate) fn put(new: &TargetRecord, old: &TargetRecord, changes: &mut Changes) -> CommonsResult<()> {
        match (new, old) {
            (TargetRecord::Anchor(n), TargetRecord::Anchor(o)) => changes.put(n, Some(o))?,
            (TargetRecord::Holder(n), TargetRecord::Holder(o)) => changes.put(n, Some(o))?,
            (TargetRecord::Steward(n), TargetRecord::Steward(o)) => changes.put(n, Some(o))?,
            // Both sides come from the same target; a mismatch is a bug.
            _ => {
                return Err(Refusal::conflict(
                    ConflictCode::ConcurrentChange,
                    "the revocation target changed kind; retry",
                )
                .into())
            }
        }
        Ok(())
    }
}

impl<S: CommonsStoreBackend> CommonsManager<S> {
    /// Reads the record of `target`.
    ///
    /// # Errors
    /// `NotFound` (anchor, holder, affiliation, steward).
    pub(crate) fn read_target(&self, target: &RevocationTarget) -> CommonsResult<TargetRecord> {
        Ok(match target {
            RevocationTarget::Anchor { anchor_id } => {
                TargetRecord::Anchor(self.get_required::<PersonhoodAnchor>(anchor_id)?)
            }
            RevocationTarget::Holder { holder_id } => {
                TargetRecord::Holder(self.get_required::<CommonsHolderRecord>(holder_id)?)
            }
            RevocationTarget::Membership { holder_id, jurisdiction } => {
                let holder = self.get_required::<CommonsHolderRecord>(holder_id)?;
                if holder.affiliation(jurisdiction).is_none() {
                    return Err(Refusal::not_found("affiliation", format!("{holder_id}/{jurisdiction}")).into());
                }
                TargetRecord::Holder(holder)
            }
            RevocationTarget::Steward { steward_id } => {
                TargetRecord::Steward(self.get_required::<StewardRecord>(steward_id)?)
            }
        })
    }

    /// Operator: creates a revocation and changes its target in ONE batch
    /// (see the module docs for what each target becomes). The appeal
    /// deadline is now + `appeal_window_days` (1..=365, default 30) days.
    /// `authority_did` is `None`: the operator token carries no DID.
    ///
    /// # Errors
    /// `InvalidId` / `InvalidInput` on the target, the window or an `Other`
    /// reason; `NotFound` when the target does not exist; `InvalidTransition`
    /// when the target's state does not allow it (e.g. suspending a Suspended
    /// anchor, banning a Banned membership); `Conflict` `revocation_open`;
    /// store errors (nothing written).
    pub fn create_revocation(&self, request: RevocationRequest) -> CommonsResult<RevocationRecord> {
        let RevocationRequest { target, reason, immediate, appeal_window_days } = request;
        target.check()?;
        let now = self.now();
        let record = RevocationRecord::new(
            target,
            reason,
            None,
            immediate,
            appeal_window_days.unwrap_or(DEFAULT_APPEAL_WINDOW_DAYS),
            now,
        )?;
        self.exclusive(&[&record.revocation_id, record.target.record_id()], || {
            let old_target = self.read_target(&record.target)?;
            let mut record = record.clone();
            record.target_before = match (&record.target, &old_target) {
                (RevocationTarget::Membership { jurisdiction, .. }, TargetRecord::Holder(h)) => {
                    h.affiliation(jurisdiction).map(|a| TargetBefore::Membership {
                        status: a.status,
                        capabilities: a.capabilities.clone(),
                        roles: a.roles.clone(),
                    })
                }
                (_, TargetRecord::Anchor(a)) => Some(TargetBefore::Anchor { status: a.status.clone() }),
                (_, TargetRecord::Holder(h)) => Some(TargetBefore::Holder { status: h.status.clone() }),
                (_, TargetRecord::Steward(s)) => Some(TargetBefore::Steward { status: s.status.clone() }),
            };
            if let Some(open) = self.open_revocation_of(&record.target)? {
                return Err(Refusal::conflict(
                    ConflictCode::RevocationOpen,
                    format!("{} already has open revocation {open}", record.target.key()),
                )
                .into());
            }
            let new_target = apply_revocation(&record, &old_target, now)?;
            let mut changes = Changes::new();
            changes.put(&record, None)?;
            TargetRecord::put(&new_target, &old_target, &mut changes)?;
            self.commit(changes)?;
            Ok(record)
        })
    }

    /// Refuses to bring `target` back while a revocation of it is open: the
    /// target is reinstated by an upheld appeal of that revocation (due
    /// process), not by the operator's status routes, and a member under a
    /// membership revocation cannot leave and apply again to shed it. Call it
    /// with the target's record lock held.
    ///
    /// # Errors
    /// `Conflict` `revocation_open` naming the revocation; store errors.
    pub(super) fn refuse_while_revocation_open(&self, target: RevocationTarget) -> CommonsResult<()> {
        match self.open_revocation_of(&target)? {
            None => Ok(()),
            Some(open) => Err(Refusal::conflict(
                ConflictCode::RevocationOpen,
                format!(
                    "{} is under open revocation {open}; it comes back only through an upheld appeal of it \
                     (POST /v1/appeals, kind Revocation)",
                    target.key()
                ),
            )
            .into()),
        }
    }

    /// The id of an open revocation (not finalized, appeal not upheld) of
    /// `target`, if any.
    fn open_revocation_of(&self, target: &RevocationTarget) -> CommonsResult<Option<String>> {
        let open = self.store.find_revocation_of_target(target, |r| {
            r.finalized_at.is_none() && !matches!(r.appeal_status, AppealStatus::Upheld { .. })
        })?;
        Ok(open.map(|r| r.revocation_id))
    }

    /// Operator: finalizes a revocation once its appeal deadline has passed
    /// with no pending or upheld appeal; a suspended target becomes Revoked /
    /// Banned in the same batch (see the module docs).
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `Conflict` `not_finalizable` (before the
    /// deadline, appeal pending or upheld, already finalized); store errors.
    pub fn finalize_revocation(&self, id: &str) -> CommonsResult<RevocationRecord> {
        check_uuid("revocation", id)?;
        // The target never changes, so it can be read before locking.
        let target = self.get_required::<RevocationRecord>(id)?.target;
        self.exclusive(&[id, target.record_id()], || {
            let old = self.get_required::<RevocationRecord>(id)?;
            self.finalize_locked(old)
        })
    }

    fn finalize_locked(&self, old: RevocationRecord) -> CommonsResult<RevocationRecord> {
        let now = self.now();
        let mut record = old.clone();
        record.finalize(now)?;
        let mut changes = Changes::new();
        changes.put(&record, Some(&old))?;
        if !record.immediate {
            let old_target = self.read_target(&record.target)?;
            if let Some(new_target) = make_permanent(&record, &old_target, now) {
                TargetRecord::put(&new_target, &old_target, &mut changes)?;
            }
        }
        self.commit(changes)?;
        Ok(record)
    }

    /// Finalizes every revocation whose appeal deadline has passed and that
    /// may be finalized (the server's periodic sweep); returns how many.
    /// Revocations with a pending appeal are passed over until it ends.
    ///
    /// # Errors
    /// Store errors (revocations finalized before the error stay finalized).
    pub fn finalize_due_revocations(&self) -> CommonsResult<usize> {
        let now = self.now();
        let mut finalized = 0;
        self.store.for_each_due(Due::RevocationsToFinalize, now, |id| -> CommonsResult<()> {
            let Some(peek) = self.store.get::<RevocationRecord>(id)? else { return Ok(()) };
            // Another gateway's sweep may finalize it first: the commit then
            // conflicts and the re-run finds it no longer finalizable.
            self.exclusive(&[id, peek.target.record_id()], || {
                let Some(old) = self.store.get::<RevocationRecord>(id)? else { return Ok(()) };
                if !old.finalizable(now) {
                    return Ok(());
                }
                match self.finalize_locked(old) {
                    Ok(_) => finalized += 1,
                    Err(CommonsError::Store(e)) => return Err(e.into()),
                    Err(e) => tracing::warn!(revocation = %id, error = %e, "revocation not finalized"),
                }
                Ok(())
            })
        })?;
        Ok(finalized)
    }

    /// The revocation with `id`.
    ///
    /// # Errors
    /// `InvalidId`, `NotFound`, store errors.
    pub fn revocation(&self, id: &str) -> CommonsResult<RevocationRecord> {
        check_uuid("revocation", id)?;
        self.get_required::<RevocationRecord>(id)
    }

    /// A page of the revocations of one target, oldest first. `target` is
    /// the text form `anchor:<id>`, `holder:<id>`, `steward:<id>` or
    /// `membership:<holder_id>:<jurisdiction>`. `limit` 1..=100.
    ///
    /// # Errors
    /// `InvalidInput` / `InvalidId` on `target` or `limit`; `InvalidCursor`;
    /// `Corrupt`.
    pub fn list_revocations(&self, target: &str, page: Paging<'_>) -> CommonsResult<Page<RevocationRecord>> {
        check_limit(page.limit)?;
        let target = RevocationTarget::parse_key(target)?;
        Ok(self.store.revocations_of_target(&target, page)?)
    }
}

/// The target after the revocation takes effect at creation: Revoked /
/// Banned when `immediate`, else Suspended until the appeal deadline.
///
/// # Errors
/// `InvalidTransition` (or `NotFound` for a missing affiliation) when the
/// target's state does not allow it.
fn apply_revocation(record: &RevocationRecord, old: &TargetRecord, now: u64) -> CommonsResult<TargetRecord> {
    let reason = record.reason.describe();
    let (immediate, deadline) = (record.immediate, record.appeal_deadline);
    let mut new = old.clone();
    match (&mut new, &record.target) {
        (TargetRecord::Anchor(a), _) if immediate => a.revoke(reason, Some(record.revocation_id.clone()), now),
        (TargetRecord::Anchor(a), _) => a.suspend(reason, Some(deadline), now),
        (TargetRecord::Holder(h), RevocationTarget::Membership { jurisdiction, .. }) => {
            let action = if immediate { AffiliationAction::Ban } else { AffiliationAction::Suspend };
            h.transition_affiliation(jurisdiction, action, now)
        }
        (TargetRecord::Holder(h), _) if immediate => h.revoke(reason, now),
        (TargetRecord::Holder(h), _) => h.suspend(reason, deadline, now),
        (TargetRecord::Steward(s), _) if immediate => s.revoke(reason, now),
        (TargetRecord::Steward(s), _) => s.suspend(reason, now),
    }?;
    Ok(new)
}

/// The target after finalisation of a suspension, or `None` when it stays as
/// it is: already Revoked / Banned, or in a state revocation cannot follow
/// (the record's own transition refuses it).
fn make_permanent(record: &RevocationRecord, old: &TargetRecord, now: u64) -> Option<TargetRecord> {
    let reason = record.reason.describe();
    let mut new = old.clone();
    match (&mut new, &record.target) {
        (TargetRecord::Anchor(a), _) => a.revoke(reason, Some(record.revocation_id.clone()), now),
        (TargetRecord::Holder(h), RevocationTarget::Membership { jurisdiction, .. }) => {
            h.transition_affiliation(jurisdiction, AffiliationAction::Ban, now)
        }
        (TargetRecord::Holder(h), _) => h.revoke(reason, now),
        (TargetRecord::Steward(s), _) => s.revoke(reason, now),
    }
    .ok()?;
    Some(new)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(target: serde_json::Value, reason: serde_json::Value) -> serde_json::Result<RevocationRequest> {
        serde_json::from_value(json!({"target": target, "reason": reason, "immediate": true}))
    }

    #[test]
    fn request_enums_refuse_a_field_beside_their_kind() {
        let holder = json!({"kind": "Holder", "holder_id": "h"});
        let sybil = json!({"kind": "Sybil"});
        let good = request(holder.clone(), sybil.clone()).map_err(|e| e.to_string());
        assert_eq!(
            good.map(|r| (r.target, r.reason)),
            Ok((RevocationTarget::Holder { holder_id: "h".into() }, RevocationReason::Sybil))
        );
        let other = request(holder.clone(), json!({"kind": "Other", "text": "t"})).map(|r| r.reason);
        assert_eq!(other.map_err(|e| e.to_string()), Ok(RevocationReason::Other { text: "t".into() }));
        let spoilt = [
            (json!({"kind": "Holder", "holder_id": "h", "extra": 1}), sybil.clone()),
            (json!({"kind": "Anchor", "anchor_id": "a", "holder_id": "h"}), sybil.clone()),
            (json!({"kind": "Membership", "holder_id": "h", "jurisdiction": "coop:x", "x": null}), sybil.clone()),
            (json!({"kind": "Steward", "steward_id": "s", "x": 1}), sybil.clone()),
            (holder.clone(), json!({"kind": "Sybil", "x": 1})),
            (holder.clone(), json!({"kind": "KeyCompromise", "text": "t"})),
            (holder.clone(), json!({"kind": "Other", "text": "t", "x": 1})),
        ];
        for (target, reason) in spoilt {
            let err = request(target.clone(), reason.clone()).map(|r| (r.target, r.reason));
            let message = err.expect_err(&format!("{target} {reason} must be refused")).to_string();
            assert!(message.contains("unknown field"), "{target} {reason}: {message}");
        }
    }

    #[test]
    fn stored_enums_still_read_unknown_fields() {
        let target: RevocationTarget = serde_json::from_value(json!({"kind": "Holder", "holder_id": "h", "extra": 1}))
            .expect("a stored target with an unknown field loads");
        assert_eq!(target, RevocationTarget::Holder { holder_id: "h".into() });
        let reason: RevocationReason = serde_json::from_value(json!({"kind": "Sybil", "x": 1}))
            .expect("a stored reason with an unknown field loads");
        assert_eq!(reason, RevocationReason::Sybil);
    }
}
