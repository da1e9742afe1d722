//! Anchors, the identity root: the operator's bootstrap, lookups by id and
//! DID, attestations (signed `attest`), and the operator's status changes
//! (`docs/DOMAIN.md`, "Transitions").
//!
//! **Anchor status does not cascade.** Suspending, reinstating or revoking an
//! anchor changes the anchor only: its holder, affiliations and steward
//! record keep their status (see [`CommonsManager::suspend_anchor`]). What an
//! anchor that is not Active loses is checked where power is used
//! (`standing.rs`).

use super::input::parse_did;
use super::CommonsManager;
use crate::backend::CommonsStoreBackend;
use crate::model::anchor::{AnchorView, Attestation, AttestationMethod, Pathway, PersonhoodAnchor, PopLevel};
use crate::model::error::{ConflictCode, Refusal};
use crate::model::holder::{check_display_name, CommonsHolderRecord};
use crate::model::ids::check_hex_id;
use crate::model::revocation::RevocationTarget;
use crate::model::signing::{signed_actions, Signed};
use crate::model::steward::StewardRecord;
use crate::store::Changes;

use super::CommonsResult;

signed_actions! {
    /// `attest` on an anchor: a steward adds an attestation.
    Attest = "attest" {
        /// Strength.
        pub level: PopLevel,
        /// Method.
        pub method: AttestationMethod,
        /// Unix seconds, if it expires.
        #[serde(default)]
        pub expires_at: Option<u64>,
    }
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
        self.exclusive(&[&anchor.anchor_id], || {
            if self.store.get::<PersonhoodAnchor>(&anchor.anchor_id)?.is_some() {
                return Err(Refusal::conflict(
                    ConflictCode::AlreadyExists,
                    format!("{did} already has anchor {}", anchor.anchor_id),
                )
                .into());
            }
            let holder = CommonsHolderRecord::new(anchor.anchor_id.clone(), did.clone(), display_name.clone(), now);
            let mut changes = Changes::new();
            changes.put(&anchor, None)?;
            changes.put(&holder, None)?;
            self.commit(changes)?;
            Ok(anchor.view(now))
        })
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
        let anchor = self.store.anchor_by_did(&did)?.ok_or_else(|| Refusal::not_found("anchor", did.as_str()))?;
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
        self.once(signed, || {
            let anchor_id = signed.target.as_str();
            check_hex_id("anchor", anchor_id)?;
            let now = self.now();
            if signed.body.expires_at.is_some_and(|t| t <= now) {
                return Err(Refusal::invalid("expires_at", "must be in the future").into());
            }
            let steward_id = StewardRecord::id_for(&signed.actor);
            self.exclusive(&[anchor_id, &steward_id], || {
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
                self.commit(changes)?;
                Ok(anchor.view(now))
            })
        })
    }

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
        let (anchor, now) = self.operator_update::<PersonhoodAnchor, _>(id, "suspend", reason, |a, reason, now| {
            a.suspend(reason, None, now)
        })?;
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
        let (anchor, now) = self.operator_update::<PersonhoodAnchor, _>(id, "reinstate", reason, |a, _, now| {
            a.reinstate(now)?;
            self.refuse_while_revocation_open(RevocationTarget::Anchor { anchor_id: id.to_string() })
        })?;
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
        let (anchor, now) = self.operator_update::<PersonhoodAnchor, _>(id, "revoke", reason, |a, reason, now| {
            a.revoke(reason, None, now)
        })?;
        Ok(anchor.view(now))
    }
}
