//! Stewards, the people who vouch and attest: registration and status
//! changes by the operator, lookups, the list, and who can attest now.
//!
//! A steward acts only while its own record allows it
//! ([`StewardRecord::can_attest`]: Active, within its term, reputation at
//! least 0.5) AND its principal is in good standing (holder record and anchor
//! Active). `can_attest` in every steward view and the `active` list filter
//! answer exactly that.

use super::input::{check_jurisdiction, check_limit, log_operator, parse_did};
use super::CommonsManager;
use crate::backend::CommonsStoreBackend;
use crate::model::error::{ConflictCode, Refusal};
use crate::model::holder::CommonsHolderRecord;
use crate::model::ids::check_hex_id;
use crate::model::revocation::RevocationTarget;
use crate::model::steward::{StewardRecord, StewardView};
use crate::store::{Page, Paging};

use super::CommonsResult;

/// Filters of [`CommonsManager::list_stewards`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StewardFilter {
    /// `Some(true)`: only stewards that can attest now; `Some(false)`: only
    /// those that cannot.
    pub active: Option<bool>,
    /// Only stewards of this jurisdiction.
    pub jurisdiction: Option<String>,
}

impl<S: CommonsStoreBackend> CommonsManager<S> {
    /// The steward record of `did` if it can attest now in `jurisdiction`.
    pub(crate) fn attesting_steward(
        &self,
        did: &crate::model::did::Did,
        jurisdiction: Option<&str>,
        now: u64,
    ) -> CommonsResult<StewardRecord> {
        let steward =
            self.store.steward_by_did(did)?.ok_or_else(|| Refusal::forbidden(format!("{did} is not a steward")))?;
        if !steward.can_attest(now) {
            return Err(Refusal::forbidden(format!(
                "steward {} cannot attest now (status {}, term end {}, reputation {:.2})",
                steward.steward_id,
                steward.status.name(),
                steward.term_end,
                steward.reputation()
            ))
            .into());
        }
        if !steward.serves(jurisdiction) {
            return Err(Refusal::forbidden(format!(
                "steward {} does not serve {}",
                steward.steward_id,
                jurisdiction.unwrap_or("the whole commons")
            ))
            .into());
        }
        self.require_active_anchor(did)?;
        if !self.store.get::<CommonsHolderRecord>(&steward.holder_id)?.is_some_and(|h| h.is_active()) {
            return Err(Refusal::forbidden(format!(
                "steward {}'s holder record {} is not Active: a steward acts only while an Active holder",
                steward.steward_id, steward.holder_id
            ))
            .into());
        }
        Ok(steward)
    }

    /// Whether `steward` can attest now: its own record allows it
    /// ([`StewardRecord::can_attest`]) and its principal is in good standing
    /// (holder record and anchor Active), as `attesting_steward` requires.
    ///
    /// # Errors
    /// Store errors.
    fn steward_can_attest(&self, steward: &StewardRecord, now: u64) -> CommonsResult<bool> {
        if !steward.can_attest(now) {
            return Ok(false);
        }
        let holder_active = self.store.get::<CommonsHolderRecord>(&steward.holder_id)?.is_some_and(|h| h.is_active());
        Ok(holder_active && self.anchor_is_active(&steward.did)?)
    }

    /// The API view of a steward, with `can_attest` from
    /// `steward_can_attest`.
    ///
    /// # Errors
    /// Store errors.
    pub(crate) fn steward_view(&self, steward: StewardRecord, now: u64) -> CommonsResult<StewardView> {
        let can_attest = self.steward_can_attest(&steward, now)?;
        let mut view = steward.view(now);
        view.can_attest = can_attest;
        Ok(view)
    }

    /// Operator: registers the holder of `did` as a steward for `term_days`
    /// (30..=730), commons-wide or for one Active charter's jurisdiction.
    ///
    /// # Errors
    /// `InvalidDid`; `InvalidInput` on `term_days` or `jurisdiction`;
    /// `NotFound` (holder, charter); `Conflict` `holder_not_active`,
    /// `charter_not_active`, `already_exists`.
    pub fn register_steward(
        &self,
        did: &str,
        term_days: u64,
        jurisdiction: Option<String>,
    ) -> CommonsResult<StewardView> {
        let did = parse_did(did)?;
        let now = self.now();
        if let Some(j) = &jurisdiction {
            check_jurisdiction(j)?;
            let charter = self.store.charter_by_domain(j)?.ok_or_else(|| Refusal::not_found("charter", j.as_str()))?;
            if !charter.is_active() {
                return Err(Refusal::conflict(
                    ConflictCode::CharterNotActive,
                    format!("charter {j} is {}, not Active", charter.status.name()),
                )
                .into());
            }
        }
        let steward_id = StewardRecord::id_for(&did);
        self.exclusive(&[&steward_id], || {
            let holder = self.store.holder_by_did(&did)?.ok_or_else(|| Refusal::not_found("holder", did.as_str()))?;
            if !holder.is_active() {
                return Err(Refusal::conflict(
                    ConflictCode::HolderNotActive,
                    format!("holder {} is {}, not Active", holder.holder_id, holder.status.name()),
                )
                .into());
            }
            if self.store.get::<StewardRecord>(&steward_id)?.is_some() {
                return Err(Refusal::conflict(
                    ConflictCode::AlreadyExists,
                    format!("{did} is already steward {steward_id}"),
                )
                .into());
            }
            let steward = StewardRecord::new(did.clone(), holder.holder_id, jurisdiction.clone(), term_days, now)?;
            self.save(&steward, None)?;
            self.steward_view(steward, now)
        })
    }

    /// The steward with `id`.
    ///
    /// # Errors
    /// `InvalidId`, `NotFound`, store errors.
    pub fn steward(&self, id: &str) -> CommonsResult<StewardView> {
        check_hex_id("steward", id)?;
        self.steward_view(self.get_required::<StewardRecord>(id)?, self.now())
    }

    /// The steward of a DID.
    ///
    /// # Errors
    /// `InvalidDid`, `NotFound`, store errors.
    pub fn steward_by_did(&self, did: &str) -> CommonsResult<StewardView> {
        let did = parse_did(did)?;
        let s = self.store.steward_by_did(&did)?.ok_or_else(|| Refusal::not_found("steward", did.as_str()))?;
        self.steward_view(s, self.now())
    }

    /// A page of stewards in id order, filtered. `limit` 1..=100.
    ///
    /// # Errors
    /// `InvalidInput` on `limit` or `jurisdiction`; `InvalidCursor` (400);
    /// `Corrupt` naming the key of an unreadable record.
    pub fn list_stewards(&self, filter: &StewardFilter, page: Paging<'_>) -> CommonsResult<Page<StewardView>> {
        check_limit(page.limit)?;
        if let Some(j) = &filter.jurisdiction {
            check_jurisdiction(j)?;
        }
        let now = self.now();
        // `active` means "can attest", exactly as the views say; a store error
        // met while filtering fails the whole list.
        let failure = std::cell::RefCell::new(None);
        let found = self.store.list::<StewardRecord>(page, |s| {
            filter.jurisdiction.as_ref().is_none_or(|j| s.jurisdiction.as_ref() == Some(j))
                && filter.active.is_none_or(|a| match self.steward_can_attest(s, now) {
                    Ok(can) => can == a,
                    Err(e) => {
                        failure.borrow_mut().get_or_insert(e);
                        false
                    }
                })
        })?;
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        let items = found.items.into_iter().map(|s| self.steward_view(s, now)).collect::<CommonsResult<Vec<_>>>()?;
        Ok(Page { items, next_cursor: found.next_cursor })
    }

    /// Operator: Active -> Suspended (cannot attest, vouch or approve while
    /// suspended). The steward's holder is not changed.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `reason`; `NotFound`;
    /// `InvalidTransition` unless Active; store errors (nothing written).
    pub fn suspend_steward(&self, id: &str, reason: Option<String>) -> CommonsResult<StewardView> {
        let (steward, now) =
            self.operator_update::<StewardRecord, _>(id, "suspend", reason, |s, reason, now| s.suspend(reason, now))?;
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
        let (steward, now) = self.operator_update::<StewardRecord, _>(id, "reinstate", reason, |s, _, now| {
            s.reinstate(now)?;
            self.refuse_while_revocation_open(RevocationTarget::Steward { steward_id: id.to_string() })
        })?;
        self.steward_view(steward, now)
    }

    /// Operator: Active|Suspended -> Retired (terminal); `reason` is logged.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `reason`; `NotFound`;
    /// `InvalidTransition` when Retired or Revoked; store errors.
    pub fn retire_steward(&self, id: &str, reason: Option<String>) -> CommonsResult<StewardView> {
        let (steward, now) =
            self.operator_update::<StewardRecord, _>(id, "retire", reason, |s, _, now| s.retire(now))?;
        self.steward_view(steward, now)
    }

    /// Operator: Active|Suspended -> Revoked (terminal but for an upheld
    /// appeal of a revocation record). The steward's holder is not changed.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `reason`; `NotFound`;
    /// `InvalidTransition` when Retired or Revoked; store errors.
    pub fn revoke_steward(&self, id: &str, reason: Option<String>) -> CommonsResult<StewardView> {
        let (steward, now) =
            self.operator_update::<StewardRecord, _>(id, "revoke", reason, |s, reason, now| s.revoke(reason, now))?;
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
        let (steward, now) = self.update_record::<StewardRecord, _>(id, |s, now| s.extend_term(term_end, now))?;
        log_operator("steward", id, "extend term", &term_end.to_string());
        self.steward_view(steward, now)
    }
}
