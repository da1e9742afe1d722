//! Lifecycles: the status transitions of anchors, affiliations, charters and
//! stewards (the transition tables of `DOMAIN.md`), a holder's affiliations,
//! and the paged members list of a jurisdiction.
//!
//! Every change follows one path: check the input (ids, domain, reason) ->
//! take the per-record lock of the ONE record it changes -> read it -> clone ->
//! apply the record's own transition method (the model refuses what its table
//! does not allow, with [`CommonsError::InvalidTransition`]) -> write the new
//! version with its index rows as one atomic batch, deleting the old version's
//! stale rows (an affiliation's `member/<jurisdiction>/<holder_id>` row changes
//! with its status in the same batch). A refusal returns before anything is
//! written, so it changes nothing, in the store or in the caches. With
//! `Durability::Sync` the change is durable when the call returns `Ok`.
//!
//! Decisions where `DOMAIN.md` is silent:
//! - **Anchor status does not cascade.** Suspending, reinstating or revoking
//!   an anchor changes the anchor only: its holder, affiliations and steward
//!   record keep their status (see [`CommonsManager::suspend_anchor`]).
//! - **Charter status does not cascade** either: suspending or dissolving a
//!   charter leaves its members' affiliations and its stewards as they are.
//!   While the charter is not Active nobody can apply, be approved or be
//!   promoted there (`Conflict` `charter_not_active`); members can still
//!   leave, and the operator can still suspend, reinstate and ban.
//! - **Who must be an Active holder.** Moving a membership forward (apply,
//!   approve, promote, reinstate, granting capabilities) needs the holder to
//!   be Active in the commons; leaving, suspension and bans do not, so a
//!   suspended or revoked holder can always be banned and can always leave.
//! - **A steward may not approve or promote its own affiliation** (`Forbidden`).
//! - **Reasons.** Operator bodies carry an optional `reason` (at most 2,000
//!   characters, default empty). It is stored where the record's status has a
//!   reason field (anchor Suspended/Revoked, charter Suspended/Dissolved,
//!   steward Suspended/Revoked); an affiliation has no such field, and
//!   reinstatements and retirement have none either, so those reasons are
//!   written to the server log (`tracing`, target `commons::operator`) only.
//!   Every operator status change is logged there.
//! - **The members list** includes every affiliation state (Exited and Banned
//!   too) unless `status` narrows it, in holder-id order.

use std::collections::BTreeSet;

use super::actions::{AffiliationApply, AffiliationApprove, AffiliationLeave, AffiliationPromote};
use super::identity::check_limit;
use super::{require_actor, CommonsManager};
use crate::backend::CommonsStoreBackend;
use crate::model::anchor::{AnchorView, PersonhoodAnchor};
use crate::model::charter::{parse_domain_id, Charter, CharterView};
use crate::model::did::Did;
use crate::model::error::{CommonsError, CommonsResult};
use crate::model::holder::{
    Affiliation, AffiliationAction, AffiliationStatus, Capability, CommonsHolderRecord, HolderView,
};
use crate::model::ids::check_hex_id;
use crate::model::revocation::RevocationTarget;
use crate::model::signing::Signed;
use crate::model::steward::{StewardRecord, StewardView};
use crate::store::keys::{member_prefix, CHARTER_DOMAIN};
use crate::store::{Changes, Entity, Page};

/// Longest operator `reason`, in characters.
pub const MAX_REASON_CHARS: usize = 2_000;

/// Checks an operator's optional reason (at most 2,000 characters; none is
/// the empty string).
///
/// # Errors
/// `InvalidInput` on `reason`.
fn check_reason(reason: Option<String>) -> CommonsResult<String> {
    let reason = reason.unwrap_or_default();
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(CommonsError::invalid("reason", "at most 2,000 characters"));
    }
    Ok(reason)
}

/// Checks a jurisdiction (a charter `domain_id`) before it becomes part of a key.
fn check_jurisdiction(jurisdiction: &str) -> CommonsResult<()> {
    parse_domain_id(jurisdiction)
        .map(|_| ())
        .map_err(|_| CommonsError::invalid("jurisdiction", "a charter domain id such as coop:<slug>"))
}

/// The affiliation status called `name` (`Candidate`, `Provisional`,
/// `Member`, `Suspended`, `Exited`, `Banned`).
///
/// # Errors
/// `InvalidInput` on `status` for any other text.
pub fn parse_affiliation_status(name: &str) -> CommonsResult<AffiliationStatus> {
    use AffiliationStatus::*;
    Ok(match name {
        "Candidate" => Candidate,
        "Provisional" => Provisional,
        "Member" => Member,
        "Suspended" => Suspended,
        "Exited" => Exited,
        "Banned" => Banned,
        _ => {
            return Err(CommonsError::invalid(
                "status",
                "one of Candidate, Provisional, Member, Suspended, Exited, Banned",
            ))
        }
    })
}

/// The value of an affiliation's membership index row (its status name).
fn member_row_value(status: AffiliationStatus) -> String {
    format!("{status:?}")
}

/// Refuses a holder that is not Active in the commons.
fn require_active_holder(holder: &CommonsHolderRecord, action: &'static str) -> CommonsResult<()> {
    if holder.is_active() {
        Ok(())
    } else {
        Err(CommonsError::InvalidTransition {
            entity: "holder",
            id: holder.holder_id.clone(),
            from: holder.status.name().into(),
            action,
        })
    }
}

/// Writes an operator status change to the server log.
fn log_operator(entity: &'static str, id: &str, action: &str, reason: &str) {
    tracing::info!(target: "commons::operator", entity, id, action, reason, "operator status change");
}

impl<S: CommonsStoreBackend> CommonsManager<S> {
    /// The one read-modify-write path of this module: checks `id` (64 hex),
    /// locks it, reads the record, applies `change` to a copy at `now`, and
    /// commits the copy with its index rows as one batch. Returns the new
    /// version and `now`. On any error nothing was written.
    fn lifecycle_update<E: Entity>(
        &self,
        id: &str,
        change: impl FnOnce(&mut E, u64) -> CommonsResult<()>,
    ) -> CommonsResult<(E, u64)> {
        check_hex_id(E::NAME, id)?;
        let _guard = self.locks.lock(&[id]);
        let old = self.get_required::<E>(id)?;
        let mut new = old.clone();
        let now = self.now();
        change(&mut new, now)?;
        let mut changes = Changes::new();
        changes.put(&new, Some(&old))?;
        self.store.commit(changes)?;
        Ok((new, now))
    }

    // ----- anchors (operator) -------------------------------------------------

    /// Operator: Active -> Suspended (no end date: `until` is `None`).
    ///
    /// Only the anchor changes. The holder's status, its affiliations and a
    /// steward record of the same principal are NOT changed: the anchor is the
    /// identity layer, membership is a separate decision taken through the
    /// holder's own lifecycle or a revocation (`POST /revocations`, which has
    /// an appeal window). While the anchor is not Active it receives no new
    /// attestation.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `reason`; `NotFound`;
    /// `InvalidTransition` unless Active; store errors (nothing written).
    pub fn suspend_anchor(&self, id: &str, reason: Option<String>) -> CommonsResult<AnchorView> {
        let reason = check_reason(reason)?;
        let (anchor, now) =
            self.lifecycle_update::<PersonhoodAnchor>(id, |a, now| a.suspend(reason.clone(), None, now))?;
        log_operator("anchor", id, "suspend", &reason);
        Ok(anchor.view(now))
    }

    /// Operator: Suspended -> Active. Only the anchor changes (see
    /// [`CommonsManager::suspend_anchor`]); `reason` is logged. An anchor
    /// suspended by an open revocation comes back only through an upheld
    /// appeal of it.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `reason`; `NotFound`;
    /// `InvalidTransition` unless Suspended; `Conflict` `revocation_open`;
    /// store errors (nothing written).
    pub fn reinstate_anchor(&self, id: &str, reason: Option<String>) -> CommonsResult<AnchorView> {
        let reason = check_reason(reason)?;
        let (anchor, now) = self.lifecycle_update::<PersonhoodAnchor>(id, |a, now| {
            a.reinstate(now)?;
            self.refuse_while_revocation_open(RevocationTarget::Anchor { anchor_id: id.to_string() })
        })?;
        log_operator("anchor", id, "reinstate", &reason);
        Ok(anchor.view(now))
    }

    /// Operator: Active|Suspended -> Revoked (terminal; only an upheld appeal
    /// of a revocation record restores it). A direct revocation carries no
    /// `revocation_id` and opens no appeal window; use `POST /revocations` for
    /// one that does. Only the anchor changes (see
    /// [`CommonsManager::suspend_anchor`]).
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `reason`; `NotFound`;
    /// `InvalidTransition` when already Revoked; store errors (nothing written).
    pub fn revoke_anchor(&self, id: &str, reason: Option<String>) -> CommonsResult<AnchorView> {
        let reason = check_reason(reason)?;
        let (anchor, now) =
            self.lifecycle_update::<PersonhoodAnchor>(id, |a, now| a.revoke(reason.clone(), None, now))?;
        log_operator("anchor", id, "revoke", &reason);
        Ok(anchor.view(now))
    }

    // ----- affiliations ---------------------------------------------------------

    /// The holder (signed `affiliation-apply`, target = holder id) applies to
    /// the jurisdiction of an Active charter and becomes a Candidate there, with
    /// no capabilities. An Exited affiliation is re-opened (fresh `joined_at`);
    /// a Banned one may not apply again. Returns the holder.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `jurisdiction`; `NotFound` (charter or
    /// holder); `Conflict` `charter_not_active`; `Forbidden` unless signed by
    /// the holder; `InvalidTransition` when the holder is not Active, or the
    /// affiliation exists and is not Exited (live or Banned); `Conflict`
    /// `revocation_open` while a revocation of that membership is open (a
    /// member cannot leave and apply again to shed it); store errors.
    pub fn apply_affiliation(&self, signed: &Signed<AffiliationApply>) -> CommonsResult<HolderView> {
        let j = signed.body.jurisdiction.as_str();
        check_hex_id("holder", &signed.target)?;
        check_jurisdiction(j)?;
        self.active_charter(j)?;
        let (holder, _) = self.lifecycle_update::<CommonsHolderRecord>(&signed.target, |h, now| {
            require_actor(signed, &h.did, "the holder")?;
            require_active_holder(h, "apply for an affiliation")?;
            h.join(j, AffiliationStatus::Candidate, BTreeSet::new(), now)?;
            let membership = RevocationTarget::Membership { holder_id: signed.target.clone(), jurisdiction: j.into() };
            self.refuse_while_revocation_open(membership)
        })?;
        Ok(holder.view())
    }

    /// The holder (signed `affiliation-leave`, target = holder id) leaves a
    /// jurisdiction: any live state -> Exited (capabilities cleared). Allowed
    /// whatever the holder's or the charter's status.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `jurisdiction`; `NotFound` (holder, or
    /// no affiliation there); `Forbidden` unless signed by the holder;
    /// `InvalidTransition` when Exited or Banned; store errors.
    pub fn leave_affiliation(&self, signed: &Signed<AffiliationLeave>) -> CommonsResult<HolderView> {
        let j = signed.body.jurisdiction.as_str();
        check_jurisdiction(j)?;
        let (holder, _) = self.lifecycle_update::<CommonsHolderRecord>(&signed.target, |h, now| {
            require_actor(signed, &h.did, "the holder")?;
            h.transition_affiliation(j, AffiliationAction::Leave, now)
        })?;
        Ok(holder.view())
    }

    /// A steward (signed `affiliation-approve`, target = holder id) that can
    /// attest now and serves the jurisdiction (commons-wide stewards serve
    /// all) approves a Candidate: -> Provisional.
    ///
    /// # Errors
    /// As [`CommonsManager::approve_affiliation_by_operator`], plus
    /// `Forbidden` unless the actor is such a steward, or when it is the
    /// holder's own steward record.
    pub fn approve_affiliation(&self, signed: &Signed<AffiliationApprove>) -> CommonsResult<HolderView> {
        self.steward_advances(&signed.actor, &signed.target, &signed.body.jurisdiction, AffiliationAction::Approve)
    }

    /// A steward (signed `affiliation-promote`) promotes a Provisional
    /// affiliation: -> Member. Same signer rules as
    /// [`CommonsManager::approve_affiliation`].
    ///
    /// # Errors
    /// As [`CommonsManager::approve_affiliation`], with `InvalidTransition`
    /// unless Provisional.
    pub fn promote_affiliation(&self, signed: &Signed<AffiliationPromote>) -> CommonsResult<HolderView> {
        self.steward_advances(&signed.actor, &signed.target, &signed.body.jurisdiction, AffiliationAction::Promote)
    }

    fn steward_advances(
        &self,
        actor: &Did,
        holder_id: &str,
        jurisdiction: &str,
        action: AffiliationAction,
    ) -> CommonsResult<HolderView> {
        check_hex_id("holder", holder_id)?;
        check_jurisdiction(jurisdiction)?;
        let steward = self.attesting_steward(actor, Some(jurisdiction), self.now())?;
        if steward.holder_id == holder_id {
            return Err(CommonsError::forbidden(format!(
                "steward {} may not {} its own affiliation",
                steward.steward_id,
                action.verb()
            )));
        }
        self.move_affiliation(holder_id, jurisdiction, action, None)
    }

    /// The one path of an affiliation transition but leave: approve and
    /// promote need the charter Active; every forward move (approve,
    /// promote, reinstate) also needs the holder Active (the record's own
    /// rule) and no open revocation of the membership (only an upheld appeal
    /// brings it back); an operator's `reason` is logged.
    fn move_affiliation(
        &self,
        holder_id: &str,
        jurisdiction: &str,
        action: AffiliationAction,
        reason: Option<&str>,
    ) -> CommonsResult<HolderView> {
        check_hex_id("holder", holder_id)?;
        check_jurisdiction(jurisdiction)?;
        if matches!(action, AffiliationAction::Approve | AffiliationAction::Promote) {
            self.active_charter(jurisdiction)?;
        }
        let (holder, _) = self.lifecycle_update::<CommonsHolderRecord>(holder_id, |h, now| {
            h.transition_affiliation(jurisdiction, action, now)?;
            if action.forward_move().is_some() {
                let membership =
                    RevocationTarget::Membership { holder_id: holder_id.into(), jurisdiction: jurisdiction.into() };
                self.refuse_while_revocation_open(membership)?;
            }
            Ok(())
        })?;
        if let Some(reason) = reason {
            log_operator("affiliation", &format!("{holder_id}/{jurisdiction}"), action.verb(), reason);
        }
        Ok(holder.view())
    }

    /// Operator: approves a Candidate (-> Provisional). The charter must be
    /// Active and the holder Active; `reason` is logged.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `jurisdiction` or `reason`; `NotFound`
    /// (charter, holder, or no affiliation there); `Conflict`
    /// `charter_not_active`; `InvalidTransition` when the holder is not Active
    /// or the affiliation is not a Candidate; store errors (nothing written).
    pub fn approve_affiliation_by_operator(
        &self,
        holder_id: &str,
        jurisdiction: &str,
        reason: Option<String>,
    ) -> CommonsResult<HolderView> {
        let reason = check_reason(reason)?;
        self.move_affiliation(holder_id, jurisdiction, AffiliationAction::Approve, Some(&reason))
    }

    /// Operator: promotes a Provisional affiliation (-> Member).
    ///
    /// # Errors
    /// As [`CommonsManager::approve_affiliation_by_operator`], with
    /// `InvalidTransition` unless Provisional.
    pub fn promote_affiliation_by_operator(
        &self,
        holder_id: &str,
        jurisdiction: &str,
        reason: Option<String>,
    ) -> CommonsResult<HolderView> {
        let reason = check_reason(reason)?;
        self.move_affiliation(holder_id, jurisdiction, AffiliationAction::Promote, Some(&reason))
    }

    /// Operator: Provisional|Member -> Suspended (capabilities kept, unusable
    /// while suspended). Whatever the holder's or the charter's status;
    /// `reason` is logged (an affiliation has no reason field).
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `jurisdiction` or `reason`; `NotFound`
    /// (holder, or no affiliation there); `InvalidTransition` unless
    /// Provisional or Member; store errors (nothing written).
    pub fn suspend_affiliation(
        &self,
        holder_id: &str,
        jurisdiction: &str,
        reason: Option<String>,
    ) -> CommonsResult<HolderView> {
        let reason = check_reason(reason)?;
        self.move_affiliation(holder_id, jurisdiction, AffiliationAction::Suspend, Some(&reason))
    }

    /// Operator: Suspended -> Member. The holder must be Active in the
    /// commons; `reason` is logged. A membership suspended by an open
    /// revocation comes back only through an upheld appeal of it.
    ///
    /// # Errors
    /// As [`CommonsManager::suspend_affiliation`], with `InvalidTransition`
    /// unless Suspended or when the holder is not Active, and `Conflict`
    /// `revocation_open`.
    pub fn reinstate_affiliation(
        &self,
        holder_id: &str,
        jurisdiction: &str,
        reason: Option<String>,
    ) -> CommonsResult<HolderView> {
        let reason = check_reason(reason)?;
        self.move_affiliation(holder_id, jurisdiction, AffiliationAction::Reinstate, Some(&reason))
    }

    /// Operator: any state but Banned -> Banned; capabilities and roles are
    /// cleared, and the holder can never apply there again. Whatever the
    /// holder's or the charter's status; `reason` is logged.
    ///
    /// # Errors
    /// As [`CommonsManager::suspend_affiliation`], with `InvalidTransition`
    /// when already Banned.
    pub fn ban_affiliation(
        &self,
        holder_id: &str,
        jurisdiction: &str,
        reason: Option<String>,
    ) -> CommonsResult<HolderView> {
        let reason = check_reason(reason)?;
        self.move_affiliation(holder_id, jurisdiction, AffiliationAction::Ban, Some(&reason))
    }

    /// Operator: replaces the capabilities of a Provisional or Member
    /// affiliation (an empty set removes them all). The holder must be Active.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `jurisdiction`; `NotFound` (holder, or
    /// no affiliation there); `InvalidTransition` when the holder is not
    /// Active or the affiliation is not Provisional or Member; store errors
    /// (nothing written).
    pub fn set_affiliation_capabilities(
        &self,
        holder_id: &str,
        jurisdiction: &str,
        capabilities: BTreeSet<Capability>,
    ) -> CommonsResult<HolderView> {
        check_jurisdiction(jurisdiction)?;
        let (holder, _) = self.lifecycle_update::<CommonsHolderRecord>(holder_id, |h, now| {
            require_active_holder(h, "grant capabilities")?;
            h.set_capabilities(jurisdiction, capabilities, now)
        })?;
        let caps: Vec<String> = holder
            .affiliation(jurisdiction)
            .map(|a| a.capabilities.iter().map(|c| format!("{c:?}")).collect())
            .unwrap_or_default();
        log_operator("affiliation", &format!("{holder_id}/{jurisdiction}"), "set capabilities", &caps.join(","));
        Ok(holder.view())
    }

    /// Every affiliation of a holder, in the order they were first made. They
    /// live in the holder record, so they always fit one page (`next_cursor`
    /// is `None`).
    ///
    /// # Errors
    /// `InvalidId`, `NotFound`, store errors.
    pub fn holder_affiliations(&self, holder_id: &str) -> CommonsResult<Page<Affiliation>> {
        check_hex_id("holder", holder_id)?;
        let holder = self.get_required::<CommonsHolderRecord>(holder_id)?;
        Ok(Page { items: holder.affiliations, next_cursor: None })
    }

    /// A page of the holders affiliated with `jurisdiction`, in holder-id
    /// order, optionally only those whose affiliation there has `status` (a
    /// status name: `Candidate`, `Provisional`, `Member`, `Suspended`,
    /// `Exited`, `Banned`). `limit` 1..=100.
    ///
    /// Walks only the jurisdiction's membership rows
    /// (`member/<jurisdiction>/<holder_id>`), never all holders, and tests the
    /// status in the row before reading a holder, so only returned holders are
    /// read. The jurisdiction must have a charter (in any status).
    ///
    /// # Errors
    /// `InvalidInput` on `limit`, `jurisdiction` or `status`;
    /// `NotFound` (charter); `InvalidCursor` (400); `Corrupt` naming the key
    /// of a row pointing to no holder or an unreadable record.
    pub fn list_members(
        &self,
        jurisdiction: &str,
        status: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> CommonsResult<Page<HolderView>> {
        check_limit(limit)?;
        check_jurisdiction(jurisdiction)?;
        let status = status.map(parse_affiliation_status).transpose()?;
        if self.store.index_value(&format!("{CHARTER_DOMAIN}{jurisdiction}"))?.is_none() {
            return Err(CommonsError::not_found("charter", jurisdiction));
        }
        let wanted = status.map(member_row_value);
        let page = self.store.list_by_index_suffix::<CommonsHolderRecord>(
            &member_prefix(jurisdiction),
            cursor,
            limit,
            |row| wanted.as_deref().is_none_or(|w| row == w),
            // The row and the record are written in one batch; this re-check
            // only matters if the holder changed between the two reads.
            |h| h.affiliation(jurisdiction).is_some_and(|a| status.is_none_or(|s| a.status == s)),
        )?;
        Ok(page.map(|h| h.view()))
    }

    // ----- charters (operator) -------------------------------------------------

    /// Operator: Active -> Suspended. Affiliations and stewards of the charter
    /// are not changed; while suspended nobody can apply, be approved or be
    /// promoted there.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `reason`; `NotFound`;
    /// `InvalidTransition` unless Active; store errors (nothing written).
    pub fn suspend_charter(&self, id: &str, reason: Option<String>) -> CommonsResult<CharterView> {
        let reason = check_reason(reason)?;
        let (charter, _) = self.lifecycle_update::<Charter>(id, |c, now| c.suspend(reason.clone(), now))?;
        log_operator("charter", id, "suspend", &reason);
        Ok(charter.view())
    }

    /// Operator: Suspended -> Active; `reason` is logged.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `reason`; `NotFound`;
    /// `InvalidTransition` unless Suspended; store errors (nothing written).
    pub fn reinstate_charter(&self, id: &str, reason: Option<String>) -> CommonsResult<CharterView> {
        let reason = check_reason(reason)?;
        let (charter, _) = self.lifecycle_update::<Charter>(id, |c, now| c.reinstate(now))?;
        log_operator("charter", id, "reinstate", &reason);
        Ok(charter.view())
    }

    /// Operator: Draft|Active|Suspended -> Dissolved (terminal). The domain
    /// stays taken (one charter per domain, ever); affiliations and stewards
    /// are not changed.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `reason`; `NotFound`;
    /// `InvalidTransition` when already Dissolved; store errors.
    pub fn dissolve_charter(&self, id: &str, reason: Option<String>) -> CommonsResult<CharterView> {
        let reason = check_reason(reason)?;
        let (charter, _) = self.lifecycle_update::<Charter>(id, |c, now| c.dissolve(reason.clone(), now))?;
        log_operator("charter", id, "dissolve", &reason);
        Ok(charter.view())
    }

    // ----- stewards (operator) -------------------------------------------------

    /// Operator: Active -> Suspended (cannot attest, vouch or approve while
    /// suspended). The steward's holder is not changed.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `reason`; `NotFound`;
    /// `InvalidTransition` unless Active; store errors (nothing written).
    pub fn suspend_steward(&self, id: &str, reason: Option<String>) -> CommonsResult<StewardView> {
        let reason = check_reason(reason)?;
        let (steward, now) = self.lifecycle_update::<StewardRecord>(id, |s, now| s.suspend(reason.clone(), now))?;
        log_operator("steward", id, "suspend", &reason);
        self.steward_view(steward, now)
    }

    /// Operator: Suspended -> Active; `reason` is logged. A steward suspended
    /// by an open revocation comes back only through an upheld appeal of it.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `reason`; `NotFound`;
    /// `InvalidTransition` unless Suspended; `Conflict` `revocation_open`;
    /// store errors (nothing written).
    pub fn reinstate_steward(&self, id: &str, reason: Option<String>) -> CommonsResult<StewardView> {
        let reason = check_reason(reason)?;
        let (steward, now) = self.lifecycle_update::<StewardRecord>(id, |s, now| {
            s.reinstate(now)?;
            self.refuse_while_revocation_open(RevocationTarget::Steward { steward_id: id.to_string() })
        })?;
        log_operator("steward", id, "reinstate", &reason);
        self.steward_view(steward, now)
    }

    /// Operator: Active|Suspended -> Retired (terminal); `reason` is logged.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `reason`; `NotFound`;
    /// `InvalidTransition` when Retired or Revoked; store errors.
    pub fn retire_steward(&self, id: &str, reason: Option<String>) -> CommonsResult<StewardView> {
        let reason = check_reason(reason)?;
        let (steward, now) = self.lifecycle_update::<StewardRecord>(id, |s, now| s.retire(now))?;
        log_operator("steward", id, "retire", &reason);
        self.steward_view(steward, now)
    }

    /// Operator: Active|Suspended -> Revoked (terminal but for an upheld
    /// appeal of a revocation record). The steward's holder is not changed.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `reason`; `NotFound`;
    /// `InvalidTransition` when Retired or Revoked; store errors.
    pub fn revoke_steward(&self, id: &str, reason: Option<String>) -> CommonsResult<StewardView> {
        let reason = check_reason(reason)?;
        let (steward, now) = self.lifecycle_update::<StewardRecord>(id, |s, now| s.revoke(reason.clone(), now))?;
        log_operator("steward", id, "revoke", &reason);
        self.steward_view(steward, now)
    }

    /// Operator: moves the term end forward to `term_end` (Unix seconds),
    /// later than the current end and at most 730 days from now. Allowed
    /// while Active or Suspended, also after the term has run out.
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `InvalidInput` on `term_end`;
    /// `InvalidTransition` when Retired or Revoked; store errors.
    pub fn extend_steward_term(&self, id: &str, term_end: u64) -> CommonsResult<StewardView> {
        let (steward, now) = self.lifecycle_update::<StewardRecord>(id, |s, now| s.extend_term(term_end, now))?;
        log_operator("steward", id, "extend term", &term_end.to_string());
        self.steward_view(steward, now)
    }
}
