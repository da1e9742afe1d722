//! Holders and their affiliations (membership state): lookups by id and DID,
//! display names (signed `holder-update`), the affiliation transitions
//! (apply, leave, approve, promote by a steward or the operator; suspend,
//! reinstate, ban and capabilities by the operator), a holder's
//! affiliations, and a jurisdiction's paged members list.
//!
//! Decisions (`docs/DOMAIN.md`, "Decisions the code made"):
//! - **Who must be an Active holder.** Moving a membership forward (apply,
//!   approve, promote, reinstate, granting capabilities) needs the holder to
//!   be Active in the commons; leaving, suspension and bans do not, so a
//!   suspended or revoked holder can always be banned and can always leave.
//! - **A steward may not approve or promote its own affiliation** (`Forbidden`).
//! - **While a charter is not Active** nobody can apply, be approved or be
//!   promoted there (`Conflict` `charter_not_active`); members can still
//!   leave, and the operator can still suspend, reinstate and ban.
//! - **Reasons.** An affiliation has no reason field: an operator's `reason`
//!   is written to the server log (`tracing`, target `commons::operator`).
//! - **The members list** includes every affiliation state (Exited and Banned
//!   too) unless `status` narrows it, in holder-id order.
//!
//! **Invariant:** an affiliation lives in its holder record; its membership
//! index row changes with its status in the same batch as the record.

use std::collections::BTreeSet;

use super::input::{check_jurisdiction, check_limit, check_reason, log_operator, parse_did, require_actor};
use super::CommonsManager;
use crate::backend::CommonsStoreBackend;
use crate::model::did::Did;
use crate::model::error::Refusal;
use crate::model::holder::{
    Affiliation, AffiliationAction, AffiliationStatus, Capability, CommonsHolderRecord, HolderView,
};
use crate::model::ids::check_hex_id;
use crate::model::revocation::RevocationTarget;
use crate::model::signing::{signed_actions, Signed};
use crate::store::{Page, Paging};

use super::CommonsResult;

signed_actions! {
    /// `holder-update` on a holder: the holder sets its display name.
    HolderUpdate = "holder-update" {
        /// New display name (`null` clears it); at most 100 characters.
        pub display_name: Option<String>,
    }

    /// `affiliation-apply` on a holder: the holder applies to a jurisdiction (a
    /// charter's `domain_id`) and becomes a Candidate there.
    AffiliationApply = "affiliation-apply" {
        /// The charter's `domain_id`, e.g. `coop:bakers`.
        pub jurisdiction: String,
    }

    /// `affiliation-leave` on a holder: the holder leaves a jurisdiction (any
    /// live state -> Exited).
    AffiliationLeave = "affiliation-leave" {
        /// The charter's `domain_id`.
        pub jurisdiction: String,
    }

    /// `affiliation-approve` on a holder: a steward of the jurisdiction approves
    /// a Candidate (-> Provisional).
    AffiliationApprove = "affiliation-approve" {
        /// The charter's `domain_id`.
        pub jurisdiction: String,
    }

    /// `affiliation-promote` on a holder: a steward of the jurisdiction promotes
    /// a Provisional affiliation (-> Member).
    AffiliationPromote = "affiliation-promote" {
        /// The charter's `domain_id`.
        pub jurisdiction: String,
    }
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
            return Err(
                Refusal::invalid("status", "one of Candidate, Provisional, Member, Suspended, Exited, Banned").into()
            )
        }
    })
}

impl<S: CommonsStoreBackend> CommonsManager<S> {
    /// The holder with `id`.
    ///
    /// # Errors
    /// `InvalidId`, `NotFound`, store errors.
    pub fn holder(&self, id: &str) -> CommonsResult<HolderView> {
        check_hex_id("holder", id)?;
        Ok(self.get_required::<CommonsHolderRecord>(id)?.view())
    }

    /// The holder of a DID.
    ///
    /// # Errors
    /// `InvalidDid`, `NotFound`, store errors.
    pub fn holder_by_did(&self, did: &str) -> CommonsResult<HolderView> {
        let did = parse_did(did)?;
        let holder = self.store.holder_by_did(&did)?.ok_or_else(|| Refusal::not_found("holder", did.as_str()))?;
        Ok(holder.view())
    }

    /// The holder sets (or clears) its display name.
    ///
    /// # Errors
    /// `InvalidId`, `NotFound`, `Forbidden` unless signed by the holder,
    /// `InvalidInput` on the name.
    pub fn update_holder(&self, signed: &Signed<HolderUpdate>) -> CommonsResult<HolderView> {
        self.once(signed, || {
            let (holder, _) = self.update_record::<CommonsHolderRecord, _>(&signed.target, |h, now| {
                require_actor(signed, &h.did, "the holder")?;
                h.set_display_name(signed.body.display_name.clone(), now)
            })?;
            Ok(holder.view())
        })
    }

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
        self.once(signed, || {
            let j = signed.body.jurisdiction.as_str();
            check_hex_id("holder", &signed.target)?;
            check_jurisdiction(j)?;
            self.active_charter(j)?;
            let (holder, _) = self.update_record::<CommonsHolderRecord, _>(&signed.target, |h, now| {
                require_actor(signed, &h.did, "the holder")?;
                h.require_active("apply for an affiliation")?;
                h.join(j, AffiliationStatus::Candidate, BTreeSet::new(), now)?;
                let membership =
                    RevocationTarget::Membership { holder_id: signed.target.clone(), jurisdiction: j.into() };
                self.refuse_while_revocation_open(membership)
            })?;
            Ok(holder.view())
        })
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
        self.once(signed, || {
            let j = signed.body.jurisdiction.as_str();
            check_jurisdiction(j)?;
            let (holder, _) = self.update_record::<CommonsHolderRecord, _>(&signed.target, |h, now| {
                require_actor(signed, &h.did, "the holder")?;
                h.transition_affiliation(j, AffiliationAction::Leave, now)
            })?;
            Ok(holder.view())
        })
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
        self.once(signed, || {
            self.steward_advances(&signed.actor, &signed.target, &signed.body.jurisdiction, AffiliationAction::Approve)
        })
    }

    /// A steward (signed `affiliation-promote`) promotes a Provisional
    /// affiliation: -> Member. Same signer rules as
    /// [`CommonsManager::approve_affiliation`].
    ///
    /// # Errors
    /// As [`CommonsManager::approve_affiliation`], with `InvalidTransition`
    /// unless Provisional.
    pub fn promote_affiliation(&self, signed: &Signed<AffiliationPromote>) -> CommonsResult<HolderView> {
        self.once(signed, || {
            self.steward_advances(&signed.actor, &signed.target, &signed.body.jurisdiction, AffiliationAction::Promote)
        })
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
            return Err(Refusal::forbidden(format!(
                "steward {} may not {} its own affiliation",
                steward.steward_id,
                action.verb()
            ))
            .into());
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
        let (holder, _) = self.update_record::<CommonsHolderRecord, _>(holder_id, |h, now| -> CommonsResult<()> {
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
        let (holder, _) = self.update_record::<CommonsHolderRecord, _>(holder_id, |h, now| {
            h.require_active("grant capabilities")?;
            h.set_capabilities(jurisdiction, capabilities.clone(), now)
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
        page: Paging<'_>,
    ) -> CommonsResult<Page<HolderView>> {
        check_limit(page.limit)?;
        check_jurisdiction(jurisdiction)?;
        let status = status.map(parse_affiliation_status).transpose()?;
        if !self.store.has_charter(jurisdiction)? {
            return Err(Refusal::not_found("charter", jurisdiction).into());
        }
        let page = self.store.members_of(jurisdiction, status, page)?;
        Ok(page.map(|h| h.view()))
    }
}

/// Declares the operator's affiliation moves: each checks the optional
/// `reason` (at most 2,000 characters; logged, an affiliation has no reason
/// field) and takes the one path of `move_affiliation`.
macro_rules! operator_moves {
    ($($(#[doc = $doc:literal])* $name:ident => $action:ident;)*) => {
        impl<S: CommonsStoreBackend> CommonsManager<S> {
            $(
                $(#[doc = $doc])*
                pub fn $name(
                    &self,
                    holder_id: &str,
                    jurisdiction: &str,
                    reason: Option<String>,
                ) -> CommonsResult<HolderView> {
                    let reason = check_reason(reason)?;
                    self.move_affiliation(holder_id, jurisdiction, AffiliationAction::$action, Some(&reason))
                }
            )*
        }
    };
}

operator_moves! {
    /// Operator: approves a Candidate (-> Provisional). The charter must be
    /// Active and the holder Active; `reason` is logged.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `jurisdiction` or `reason`; `NotFound`
    /// (charter, holder, or no affiliation there); `Conflict`
    /// `charter_not_active`; `InvalidTransition` when the holder is not Active
    /// or the affiliation is not a Candidate; store errors (nothing written).
    approve_affiliation_by_operator => Approve;

    /// Operator: promotes a Provisional affiliation (-> Member).
    ///
    /// # Errors
    /// As [`CommonsManager::approve_affiliation_by_operator`], with
    /// `InvalidTransition` unless Provisional.
    promote_affiliation_by_operator => Promote;

    /// Operator: Provisional|Member -> Suspended (capabilities kept, unusable
    /// while suspended). Whatever the holder's or the charter's status;
    /// `reason` is logged (an affiliation has no reason field).
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `jurisdiction` or `reason`; `NotFound`
    /// (holder, or no affiliation there); `InvalidTransition` unless
    /// Provisional or Member; store errors (nothing written).
    suspend_affiliation => Suspend;

    /// Operator: Suspended -> Member. The holder must be Active in the
    /// commons; `reason` is logged. A membership suspended by an open
    /// revocation comes back only through an upheld appeal of it.
    ///
    /// # Errors
    /// As [`CommonsManager::suspend_affiliation`], with `InvalidTransition`
    /// unless Suspended or when the holder is not Active, and `Conflict`
    /// `revocation_open`.
    reinstate_affiliation => Reinstate;

    /// Operator: any state but Banned -> Banned; capabilities and roles are
    /// cleared, and the holder can never apply there again. Whatever the
    /// holder's or the charter's status; `reason` is logged.
    ///
    /// # Errors
    /// As [`CommonsManager::suspend_affiliation`], with `InvalidTransition`
    /// when already Banned.
    ban_affiliation => Ban;
}
