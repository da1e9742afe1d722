//! Charters: create, sign, activate, lookups and the newest-first list.

use super::actions::{CharterActivate, CharterCreate, CharterSign};
use super::identity::check_limit;
use super::CommonsManager;
use crate::backend::CommonsStoreBackend;
use crate::model::anchor::PopLevel;
use crate::model::charter::{parse_domain_id, Charter, CharterDraft, CharterView, Founder, MembershipPolicy, OrgType};
use crate::model::did::Did;
use crate::model::error::{CommonsError, CommonsResult};
use crate::model::holder::CommonsHolderRecord;
use crate::model::ids::check_hex_id;
use crate::model::signing::Signed;
use crate::store::keys::{did_key, CHARTER_DOMAIN, CHARTER_TIME, HOLDER_DID};
use crate::store::{Changes, Page};

/// Filters of [`CommonsManager::list_charters`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CharterFilter {
    /// Only this organisation type.
    pub org_type: Option<OrgType>,
    /// Only this status (variant name: `Draft`, `Active`, `Suspended`, `Dissolved`).
    pub status: Option<String>,
}

impl<S: CommonsStoreBackend> CommonsManager<S> {
    /// The Active holder record of `did`.
    pub(crate) fn active_holder(&self, did: &Did) -> CommonsResult<CommonsHolderRecord> {
        let holder = self
            .store
            .get_by_index::<CommonsHolderRecord>(&did_key(HOLDER_DID, did))?
            .ok_or_else(|| CommonsError::forbidden(format!("{did} is not a holder of the commons")))?;
        if !holder.is_active() {
            return Err(CommonsError::forbidden(format!(
                "holder {} is {}, not Active",
                holder.holder_id,
                holder.status.name()
            )));
        }
        self.require_active_anchor(did)?;
        Ok(holder)
    }

    /// An Active holder drafts a charter (status Draft, no founders yet).
    ///
    /// # Errors
    /// `Forbidden` unless the actor is an Active holder; `InvalidInput` on a
    /// field; `Conflict` `already_exists` when the domain has a charter.
    pub fn create_charter(&self, signed: &Signed<CharterCreate>) -> CommonsResult<CharterView> {
        if signed.target != "-" {
            return Err(CommonsError::invalid("target", "charter-create is signed with target -"));
        }
        self.active_holder(&signed.actor)?;
        let body = &signed.body;
        parse_domain_id(&body.domain_id)?;
        let policy = MembershipPolicy {
            min_founders: body.membership_policy.min_founders.unwrap_or_else(|| body.org_type.default_min_founders()),
            open_enrollment: body.membership_policy.open_enrollment,
            required_pop_level: body.membership_policy.required_pop_level.unwrap_or(PopLevel::Weak),
        };
        let now = self.now();
        let draft = CharterDraft {
            domain_id: body.domain_id.clone(),
            org_type: body.org_type,
            name: body.name.clone(),
            description: body.description.clone(),
            membership_policy: policy,
        };
        let charter = Charter::new(draft, signed.actor.clone(), now)?;
        let _guard = self.locks.lock(&[&charter.charter_id]);
        if self.store.get::<Charter>(&charter.charter_id)?.is_some() {
            return Err(CommonsError::conflict(
                "already_exists",
                format!("domain {} already has charter {}", charter.domain_id, charter.charter_id),
            ));
        }
        let mut changes = Changes::new();
        changes.put(&charter, None)?;
        self.store.commit(changes)?;
        Ok(charter.view())
    }

    /// An Active holder signs the charter's current digest as a founder.
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `Forbidden` unless an Active holder;
    /// `InvalidTransition` unless Draft; `Conflict` `digest_mismatch` or
    /// `already_signed`.
    pub fn sign_charter(&self, signed: &Signed<CharterSign>) -> CommonsResult<CharterView> {
        let id = signed.target.as_str();
        check_hex_id("charter", id)?;
        let _guard = self.locks.lock(&[id]);
        let old = self.get_required::<Charter>(id)?;
        self.active_holder(&signed.actor)?;
        let now = self.now();
        let mut charter = old.clone();
        let founder = Founder {
            did: signed.actor.clone(),
            role: signed.body.role.clone(),
            signed_at: now,
            signature: signed.signature.clone(),
        };
        charter.sign(founder, &signed.body.digest, now)?;
        let mut changes = Changes::new();
        changes.put(&charter, Some(&old))?;
        self.store.commit(changes)?;
        Ok(charter.view())
    }

    /// A founder activates the charter once it has `min_founders` signatures
    /// of founders in good standing (an Active holder with an Active anchor,
    /// now: a founder suspended or revoked since signing no longer counts).
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `Forbidden` unless a founder in good
    /// standing; `InvalidTransition` unless Draft; `Conflict`
    /// `not_enough_founders`.
    pub fn activate_charter(&self, signed: &Signed<CharterActivate>) -> CommonsResult<CharterView> {
        let id = signed.target.as_str();
        check_hex_id("charter", id)?;
        let _guard = self.locks.lock(&[id]);
        let old = self.get_required::<Charter>(id)?;
        let mut standing = std::collections::BTreeSet::new();
        for founder in &old.founders {
            if self.in_good_standing(&founder.did)? {
                standing.insert(founder.did.clone());
            }
        }
        let mut charter = old.clone();
        charter.activate(&signed.actor, |did| standing.contains(did), self.now())?;
        let mut changes = Changes::new();
        changes.put(&charter, Some(&old))?;
        self.store.commit(changes)?;
        Ok(charter.view())
    }

    /// The charter with `id`.
    ///
    /// # Errors
    /// `InvalidId`, `NotFound`, store errors.
    pub fn charter(&self, id: &str) -> CommonsResult<CharterView> {
        check_hex_id("charter", id)?;
        Ok(self.get_required::<Charter>(id)?.view())
    }

    /// The charter of a domain.
    ///
    /// # Errors
    /// `InvalidInput` on `domain_id`, `NotFound`, store errors.
    pub fn charter_by_domain(&self, domain_id: &str) -> CommonsResult<CharterView> {
        parse_domain_id(domain_id)?;
        let c = self
            .store
            .get_by_index::<Charter>(&format!("{CHARTER_DOMAIN}{domain_id}"))?
            .ok_or_else(|| CommonsError::not_found("charter", domain_id))?;
        Ok(c.view())
    }

    /// The Active charter of `domain_id`.
    pub(crate) fn active_charter(&self, domain_id: &str) -> CommonsResult<Charter> {
        parse_domain_id(domain_id)?;
        let c = self
            .store
            .get_by_index::<Charter>(&format!("{CHARTER_DOMAIN}{domain_id}"))?
            .ok_or_else(|| CommonsError::not_found("charter", domain_id))?;
        if !c.is_active() {
            return Err(CommonsError::conflict(
                "charter_not_active",
                format!("charter {domain_id} is {}, not Active", c.status.name()),
            ));
        }
        Ok(c)
    }

    /// A page of charters, newest first, filtered. `limit` 1..=100.
    ///
    /// # Errors
    /// `InvalidInput` on `limit` or `status`; `InvalidCursor`; `Corrupt`.
    pub fn list_charters(
        &self,
        filter: &CharterFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> CommonsResult<Page<CharterView>> {
        check_limit(limit)?;
        if let Some(s) = &filter.status {
            if !["Draft", "Active", "Suspended", "Dissolved"].contains(&s.as_str()) {
                return Err(CommonsError::invalid("status", "Draft, Active, Suspended or Dissolved"));
            }
        }
        let page = self.store.list_by_index::<Charter>(CHARTER_TIME, cursor, limit, |c| {
            filter.org_type.is_none_or(|o| c.org_type == o)
                && filter.status.as_deref().is_none_or(|s| c.status.name() == s)
        })?;
        Ok(page.map(|c| c.view()))
    }
}
