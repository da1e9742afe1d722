//! Anchors, holders and stewards: bootstrap, lookups, attestations, display
//! names, steward registration and listing.

use super::actions::{Attest, HolderUpdate};
use super::{parse_did, require_actor, CommonsManager};
use crate::backend::CommonsStoreBackend;
use crate::model::anchor::{AnchorView, Attestation, Pathway, PersonhoodAnchor};
use crate::model::charter::{parse_domain_id, Charter};
use crate::model::error::{CommonsError, CommonsResult};
use crate::model::holder::{check_display_name, CommonsHolderRecord, HolderView};
use crate::model::ids::check_hex_id;
use crate::model::signing::Signed;
use crate::model::steward::{StewardRecord, StewardView};
use crate::store::keys::{did_key, ANCHOR_DID, CHARTER_DOMAIN, HOLDER_DID, STEWARD_DID};
use crate::store::{Changes, Page};

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
    /// Operator bootstrap: creates the anchor of `did` (pathway `Admin`, no
    /// attestation) and its Active holder, in one atomic batch.
    ///
    /// # Errors
    /// `InvalidDid`; `InvalidInput` on `display_name`; `Conflict`
    /// `already_exists` when the principal already has an anchor; store errors.
    pub fn bootstrap_anchor(&self, did: &str, display_name: Option<String>) -> CommonsResult<AnchorView> {
        let did = parse_did(did)?;
        if let Some(n) = &display_name {
            check_display_name(n)?;
        }
        let now = self.now();
        let anchor = PersonhoodAnchor::new(did.clone(), Pathway::Admin, now);
        let _guard = self.locks.lock(&[&anchor.anchor_id]);
        if self.store.get::<PersonhoodAnchor>(&anchor.anchor_id)?.is_some() {
            return Err(CommonsError::conflict(
                "already_exists",
                format!("{did} already has anchor {}", anchor.anchor_id),
            ));
        }
        let holder = CommonsHolderRecord::new(anchor.anchor_id.clone(), did, display_name, now);
        let mut changes = Changes::new();
        changes.put(&anchor, None)?;
        changes.put(&holder, None)?;
        self.store.commit(changes)?;
        Ok(anchor.view(now))
    }

    /// The anchor with `id`.
    ///
    /// # Errors
    /// `InvalidId`, `NotFound`, store errors.
    pub fn anchor(&self, id: &str) -> CommonsResult<AnchorView> {
        check_hex_id("anchor", id)?;
        Ok(self.get_required::<PersonhoodAnchor>(id)?.view(self.now()))
    }

    /// The anchor of a DID.
    ///
    /// # Errors
    /// `InvalidDid`, `NotFound`, store errors.
    pub fn anchor_by_did(&self, did: &str) -> CommonsResult<AnchorView> {
        let did = parse_did(did)?;
        let anchor = self
            .store
            .get_by_index::<PersonhoodAnchor>(&did_key(ANCHOR_DID, &did))?
            .ok_or_else(|| CommonsError::not_found("anchor", did.as_str()))?;
        Ok(anchor.view(self.now()))
    }

    /// A steward that can attest adds an attestation to an Active anchor
    /// (replacing its own earlier one); the steward's `attestations_issued`
    /// grows by one in the same batch.
    ///
    /// # Errors
    /// `InvalidId`; `NotFound` (anchor); `Forbidden` unless the actor is a
    /// steward that can attest; `InvalidInput` on an `expires_at` in the past;
    /// `InvalidTransition` unless the anchor is Active.
    pub fn add_attestation(&self, signed: &Signed<Attest>) -> CommonsResult<AnchorView> {
        let anchor_id = signed.target.as_str();
        check_hex_id("anchor", anchor_id)?;
        let now = self.now();
        if signed.body.expires_at.is_some_and(|t| t <= now) {
            return Err(CommonsError::invalid("expires_at", "must be in the future"));
        }
        let steward_id = StewardRecord::id_for(&signed.actor);
        let _guard = self.locks.lock(&[anchor_id, &steward_id]);
        let mut steward = self.attesting_steward(&signed.actor, None, now)?;
        let old = self.get_required::<PersonhoodAnchor>(anchor_id)?;
        let mut anchor = old.clone();
        anchor.add_attestation(
            Attestation {
                issuer_did: signed.actor.clone(),
                level: signed.body.level,
                method: signed.body.method,
                issued_at: now,
                expires_at: signed.body.expires_at,
                signature: signed.signature.clone(),
            },
            now,
        )?;
        let old_steward = steward.clone();
        steward.record_attestation(now);
        let mut changes = Changes::new();
        changes.put(&anchor, Some(&old))?;
        changes.put(&steward, Some(&old_steward))?;
        self.store.commit(changes)?;
        Ok(anchor.view(now))
    }

    /// The steward record of `did` if it can attest now in `jurisdiction`.
    pub(crate) fn attesting_steward(
        &self,
        did: &crate::model::did::Did,
        jurisdiction: Option<&str>,
        now: u64,
    ) -> CommonsResult<StewardRecord> {
        let steward = self
            .store
            .get_by_index::<StewardRecord>(&did_key(STEWARD_DID, did))?
            .ok_or_else(|| CommonsError::forbidden(format!("{did} is not a steward")))?;
        if !steward.can_attest(now) {
            return Err(CommonsError::forbidden(format!(
                "steward {} cannot attest now (status {}, term end {}, reputation {:.2})",
                steward.steward_id,
                steward.status.name(),
                steward.term_end,
                steward.reputation()
            )));
        }
        if !steward.serves(jurisdiction) {
            return Err(CommonsError::forbidden(format!(
                "steward {} does not serve {}",
                steward.steward_id,
                jurisdiction.unwrap_or("the whole commons")
            )));
        }
        self.require_active_anchor(did)?;
        if !self.store.get::<CommonsHolderRecord>(&steward.holder_id)?.is_some_and(|h| h.is_active()) {
            return Err(CommonsError::forbidden(format!(
                "steward {}'s holder record {} is not Active: a steward acts only while an Active holder",
                steward.steward_id, steward.holder_id
            )));
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
        let holder = self
            .store
            .get_by_index::<CommonsHolderRecord>(&did_key(HOLDER_DID, &did))?
            .ok_or_else(|| CommonsError::not_found("holder", did.as_str()))?;
        Ok(holder.view())
    }

    /// The holder sets (or clears) its display name.
    ///
    /// # Errors
    /// `InvalidId`, `NotFound`, `Forbidden` unless signed by the holder,
    /// `InvalidInput` on the name.
    pub fn update_holder(&self, signed: &Signed<HolderUpdate>) -> CommonsResult<HolderView> {
        let id = signed.target.as_str();
        check_hex_id("holder", id)?;
        let _guard = self.locks.lock(&[id]);
        let old = self.get_required::<CommonsHolderRecord>(id)?;
        require_actor(signed, &old.did, "the holder")?;
        let mut holder = old.clone();
        holder.set_display_name(signed.body.display_name.clone(), self.now())?;
        let mut changes = Changes::new();
        changes.put(&holder, Some(&old))?;
        self.store.commit(changes)?;
        Ok(holder.view())
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
            parse_domain_id(j)
                .map_err(|_| CommonsError::invalid("jurisdiction", "a charter domain id such as coop:<slug>"))?;
            let charter = self
                .store
                .get_by_index::<Charter>(&format!("{CHARTER_DOMAIN}{j}"))?
                .ok_or_else(|| CommonsError::not_found("charter", j.as_str()))?;
            if !charter.is_active() {
                return Err(CommonsError::conflict(
                    "charter_not_active",
                    format!("charter {j} is {}, not Active", charter.status.name()),
                ));
            }
        }
        let steward_id = StewardRecord::id_for(&did);
        let _guard = self.locks.lock(&[&steward_id]);
        let holder = self
            .store
            .get_by_index::<CommonsHolderRecord>(&did_key(HOLDER_DID, &did))?
            .ok_or_else(|| CommonsError::not_found("holder", did.as_str()))?;
        if !holder.is_active() {
            return Err(CommonsError::conflict(
                "holder_not_active",
                format!("holder {} is {}, not Active", holder.holder_id, holder.status.name()),
            ));
        }
        if self.store.get::<StewardRecord>(&steward_id)?.is_some() {
            return Err(CommonsError::conflict("already_exists", format!("{did} is already steward {steward_id}")));
        }
        let steward = StewardRecord::new(did, holder.holder_id, jurisdiction, term_days, now)?;
        let mut changes = Changes::new();
        changes.put(&steward, None)?;
        self.store.commit(changes)?;
        self.steward_view(steward, now)
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
        let s = self
            .store
            .get_by_index::<StewardRecord>(&did_key(STEWARD_DID, &did))?
            .ok_or_else(|| CommonsError::not_found("steward", did.as_str()))?;
        self.steward_view(s, self.now())
    }

    /// A page of stewards in id order, filtered. `limit` 1..=100.
    ///
    /// # Errors
    /// `InvalidInput` on `limit` or `jurisdiction`; `InvalidCursor` (400);
    /// `Corrupt` naming the key of an unreadable record.
    pub fn list_stewards(
        &self,
        filter: &StewardFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> CommonsResult<Page<StewardView>> {
        check_limit(limit)?;
        if let Some(j) = &filter.jurisdiction {
            parse_domain_id(j)
                .map_err(|_| CommonsError::invalid("jurisdiction", "a charter domain id such as coop:<slug>"))?;
        }
        let now = self.now();
        // `active` means "can attest", exactly as the views say; a store error
        // met while filtering fails the whole list.
        let failure = std::cell::RefCell::new(None);
        let page = self.store.list::<StewardRecord>(cursor, limit, |s| {
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
        let items = page.items.into_iter().map(|s| self.steward_view(s, now)).collect::<CommonsResult<Vec<_>>>()?;
        Ok(Page { items, next_cursor: page.next_cursor })
    }
}

/// Checks a list `limit` (1..=100).
///
/// # Errors
/// `InvalidInput` on `limit`.
pub(crate) fn check_limit(limit: usize) -> CommonsResult<()> {
    if (1..=100).contains(&limit) {
        Ok(())
    } else {
        Err(CommonsError::invalid("limit", "1..=100"))
    }
}
