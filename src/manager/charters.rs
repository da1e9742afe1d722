//! Charters: create, sign and activate (signed by holders), lookups, the
//! newest-first list, and the operator's status changes.
//!
//! **Charter status does not cascade**: suspending or dissolving a charter
//! leaves its members' affiliations and its stewards as they are (see
//! `holders.rs` for what a charter that is not Active refuses).

use serde::Deserialize;

use super::input::check_limit;
use super::CommonsManager;
use crate::backend::CommonsStoreBackend;
use crate::model::anchor::PopLevel;
use crate::model::charter::{parse_domain_id, Charter, CharterDraft, CharterView, Founder, MembershipPolicy, OrgType};
use crate::model::error::{ConflictCode, Refusal};
use crate::model::ids::check_hex_id;
use crate::model::signing::{signed_actions, Signed};
use crate::store::{Page, Paging};

use super::CommonsResult;

/// The membership policy as a request gives it (`min_founders` defaults by
/// org type: 3, federation 2; `required_pop_level` defaults to `Weak`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipPolicyInput {
    /// Founder signatures needed to activate.
    #[serde(default)]
    pub min_founders: Option<u32>,
    /// Whether enrollment may complete without a vouch.
    pub open_enrollment: bool,
    /// Lowest proof-of-personhood level of a new member.
    #[serde(default)]
    pub required_pop_level: Option<PopLevel>,
}

signed_actions! {
    /// `charter-create` (target `-`): an Active holder drafts a charter.
    CharterCreate = "charter-create" {
        /// `<prefix>:<slug>`.
        pub domain_id: String,
        /// Must match the prefix.
        pub org_type: OrgType,
        /// 1..=200 characters.
        pub name: String,
        /// Up to 10,000 characters.
        #[serde(default)]
        pub description: String,
        /// Rules.
        pub membership_policy: MembershipPolicyInput,
    }

    /// `charter-sign` on a charter: an Active holder signs the current digest.
    CharterSign = "charter-sign" {
        /// Must equal the charter's current digest.
        pub digest: String,
        /// Optional founder role.
        #[serde(default)]
        pub role: Option<String>,
    }

    /// `charter-activate` on a charter: a founder activates it.
    CharterActivate = "charter-activate" {}
}

/// Filters of [`CommonsManager::list_charters`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CharterFilter {
    /// Only this organisation type.
    pub org_type: Option<OrgType>,
    /// Only this status (variant name: `Draft`, `Active`, `Suspended`, `Dissolved`).
    pub status: Option<String>,
}

impl<S: CommonsStoreBackend> CommonsManager<S> {
    /// An Active holder drafts a charter (status Draft, no founders yet).
    ///
    /// # Errors
    /// `Forbidden` unless the actor is an Active holder; `InvalidInput` on a
    /// field; `Conflict` `already_exists` when the domain has a charter.
    pub fn create_charter(&self, signed: &Signed<CharterCreate>) -> CommonsResult<CharterView> {
        self.once(signed, || {
            if signed.target != "-" {
                return Err(Refusal::invalid("target", "charter-create is signed with target -").into());
            }
            self.active_holder(&signed.actor)?;
            let body = &signed.body;
            parse_domain_id(&body.domain_id)?;
            let policy = MembershipPolicy {
                min_founders: body
                    .membership_policy
                    .min_founders
                    .unwrap_or_else(|| body.org_type.default_min_founders()),
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
            self.exclusive(&[&charter.charter_id], || {
                if self.store.get::<Charter>(&charter.charter_id)?.is_some() {
                    return Err(Refusal::conflict(
                        ConflictCode::AlreadyExists,
                        format!("domain {} already has charter {}", charter.domain_id, charter.charter_id),
                    )
                    .into());
                }
                self.save(&charter, None)?;
                Ok(charter.view())
            })
        })
    }

    /// An Active holder signs the charter's current digest as a founder.
    ///
    /// # Errors
    /// `InvalidId`; `NotFound`; `Forbidden` unless an Active holder;
    /// `InvalidTransition` unless Draft; `Conflict` `digest_mismatch` or
    /// `already_signed`.
    pub fn sign_charter(&self, signed: &Signed<CharterSign>) -> CommonsResult<CharterView> {
        self.once(signed, || {
            let (charter, _) = self.update_record::<Charter, _>(&signed.target, |c, now| -> CommonsResult<()> {
                self.active_holder(&signed.actor)?;
                let founder = Founder {
                    did: signed.actor.clone(),
                    role: signed.body.role.clone(),
                    signed_at: now,
                    signature: signed.signature.clone(),
                };
                Ok(c.sign(founder, &signed.body.digest, now)?)
            })?;
            Ok(charter.view())
        })
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
        self.once(signed, || {
            let (charter, _) = self.update_record::<Charter, _>(&signed.target, |c, now| -> CommonsResult<()> {
                let mut standing = std::collections::BTreeSet::new();
                for founder in &c.founders {
                    if self.in_good_standing(&founder.did)? {
                        standing.insert(founder.did.clone());
                    }
                }
                Ok(c.activate(&signed.actor, |did| standing.contains(did), now)?)
            })?;
            Ok(charter.view())
        })
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
        let c = self.store.charter_by_domain(domain_id)?.ok_or_else(|| Refusal::not_found("charter", domain_id))?;
        Ok(c.view())
    }

    /// The Active charter of `domain_id`.
    pub(crate) fn active_charter(&self, domain_id: &str) -> CommonsResult<Charter> {
        parse_domain_id(domain_id)?;
        let c = self.store.charter_by_domain(domain_id)?.ok_or_else(|| Refusal::not_found("charter", domain_id))?;
        if !c.is_active() {
            return Err(Refusal::conflict(
                ConflictCode::CharterNotActive,
                format!("charter {domain_id} is {}, not Active", c.status.name()),
            )
            .into());
        }
        Ok(c)
    }

    /// A page of charters, newest first, filtered. `limit` 1..=100.
    ///
    /// # Errors
    /// `InvalidInput` on `limit` or `status`; `InvalidCursor`; `Corrupt`.
    pub fn list_charters(&self, filter: &CharterFilter, page: Paging<'_>) -> CommonsResult<Page<CharterView>> {
        check_limit(page.limit)?;
        if let Some(s) = &filter.status {
            if !["Draft", "Active", "Suspended", "Dissolved"].contains(&s.as_str()) {
                return Err(Refusal::invalid("status", "Draft, Active, Suspended or Dissolved").into());
            }
        }
        let found = self.store.charters_newest_first(page, |c| {
            filter.org_type.is_none_or(|o| c.org_type == o)
                && filter.status.as_deref().is_none_or(|s| c.status.name() == s)
        })?;
        Ok(found.map(|c| c.view()))
    }

    /// Operator: Active -> Suspended. Affiliations and stewards of the charter
    /// are not changed; while suspended nobody can apply, be approved or be
    /// promoted there.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `reason`; `NotFound`;
    /// `InvalidTransition` unless Active; store errors (nothing written).
    pub fn suspend_charter(&self, id: &str, reason: Option<String>) -> CommonsResult<CharterView> {
        let (charter, _) =
            self.operator_update::<Charter, _>(id, "suspend", reason, |c, reason, now| c.suspend(reason, now))?;
        Ok(charter.view())
    }

    /// Operator: Suspended -> Active; `reason` is logged.
    ///
    /// # Errors
    /// `InvalidId`; `InvalidInput` on `reason`; `NotFound`;
    /// `InvalidTransition` unless Suspended; store errors (nothing written).
    pub fn reinstate_charter(&self, id: &str, reason: Option<String>) -> CommonsResult<CharterView> {
        let (charter, _) = self.operator_update::<Charter, _>(id, "reinstate", reason, |c, _, now| c.reinstate(now))?;
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
        let (charter, _) =
            self.operator_update::<Charter, _>(id, "dissolve", reason, |c, reason, now| c.dissolve(reason, now))?;
        Ok(charter.view())
    }
}
