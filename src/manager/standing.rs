//! Standing, checked where power is used: the anchor is the identity root,
//! so a principal whose anchor is not Active (suspended or revoked, directly
//! or by a revocation record) takes no governance action, whatever its
//! holder, membership or steward records say: no vote, proposal, charter
//! founding or signing, attestation, vouch, approval or opening of a vote.
//! What such a holder keeps are its due-process and exit actions (appeals,
//! evidence, responses, withdrawing, leaving) and finishing its own
//! enrollment (`docs/DOMAIN.md`, "Who may do what").

use super::CommonsManager;
use crate::backend::CommonsStoreBackend;
use crate::model::anchor::{AnchorStatus, PersonhoodAnchor};
use crate::model::did::Did;
use crate::model::error::Refusal;
use crate::model::holder::CommonsHolderRecord;

use super::CommonsResult;

impl<S: CommonsStoreBackend> CommonsManager<S> {
    /// `Ok` when `did`'s anchor exists and is Active (see the module docs).
    ///
    /// # Errors
    /// `Forbidden` naming the anchor and its status; store errors.
    pub(crate) fn require_active_anchor(&self, did: &Did) -> CommonsResult<()> {
        let id = PersonhoodAnchor::id_for(did);
        match self.store.get::<PersonhoodAnchor>(&id)? {
            Some(anchor) if anchor.status == AnchorStatus::Active => Ok(()),
            Some(anchor) => Err(Refusal::forbidden(format!(
                "anchor {id} of {did} is {}: a principal whose anchor is not Active takes no governance action",
                anchor.status.name()
            ))
            .into()),
            None => Err(Refusal::forbidden(format!("{did} has no anchor in the commons")).into()),
        }
    }

    /// Whether `did` is in good standing: an Active holder with an Active
    /// anchor.
    ///
    /// # Errors
    /// Store errors.
    pub(crate) fn in_good_standing(&self, did: &Did) -> CommonsResult<bool> {
        let holder = self.store.get::<CommonsHolderRecord>(&PersonhoodAnchor::id_for(did))?; // holder_id = anchor_id
        Ok(holder.is_some_and(|h| h.is_active()) && self.anchor_is_active(did)?)
    }

    /// Whether `did` has an Active anchor.
    ///
    /// # Errors
    /// Store errors.
    pub(crate) fn anchor_is_active(&self, did: &Did) -> CommonsResult<bool> {
        let anchor = self.store.get::<PersonhoodAnchor>(&PersonhoodAnchor::id_for(did))?;
        Ok(anchor.is_some_and(|a| a.status == AnchorStatus::Active))
    }

    /// The Active holder record of `did`.
    pub(crate) fn active_holder(&self, did: &Did) -> CommonsResult<CommonsHolderRecord> {
        let holder = self
            .store
            .holder_by_did(did)?
            .ok_or_else(|| Refusal::forbidden(format!("{did} is not a holder of the commons")))?;
        if !holder.is_active() {
            return Err(Refusal::forbidden(format!(
                "holder {} is {}, not Active",
                holder.holder_id,
                holder.status.name()
            ))
            .into());
        }
        self.require_active_anchor(did)?;
        Ok(holder)
    }
}
