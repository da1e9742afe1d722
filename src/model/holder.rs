//! [`CommonsHolderRecord`]: layer 1, a principal's membership state in the
//! commons and its affiliations with cooperatives.
//!
//! **Invariant:** at most one [`Affiliation`] per jurisdiction; affiliation
//! status moves only along the table of `docs/DOMAIN.md` ("Transitions"); capabilities exist only on
//! Provisional or Member affiliations (a ban clears them and the roles).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::did::Did;
use super::error::Refusal;
use super::transition::{transitions, Transitions};

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// Membership state in the commons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum HolderStatus {
    /// Full baseline rights.
    Active,
    /// Only due process and exit.
    Suspended {
        /// Why.
        reason: String,
        /// Last moment to appeal (Unix seconds).
        appeal_deadline: u64,
    },
    /// Left the commons.
    Exited {
        /// Why.
        reason: String,
        /// When (Unix seconds).
        at: u64,
    },
    /// Removed from the commons.
    Revoked {
        /// Why.
        reason: String,
        /// When (Unix seconds).
        at: u64,
    },
}

impl HolderStatus {
    /// The variant name.
    pub fn name(&self) -> &'static str {
        match self {
            HolderStatus::Active => "Active",
            HolderStatus::Suspended { .. } => "Suspended",
            HolderStatus::Exited { .. } => "Exited",
            HolderStatus::Revoked { .. } => "Revoked",
        }
    }
}

/// A right every holder has by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineRight {
    /// Vote in commons-wide decisions.
    VoteInCommons,
    /// Petition.
    Petition,
    /// Due process (appeals).
    DueProcess,
    /// Leave freely.
    ExitFreely,
}

/// Status of an affiliation with one jurisdiction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AffiliationStatus {
    /// Applied.
    Candidate,
    /// Approved, on probation.
    Provisional,
    /// Full member.
    Member,
    /// Suspended member.
    Suspended,
    /// Left.
    Exited,
    /// Banned (cannot apply again).
    Banned,
}

/// What an affiliated holder may do in its jurisdiction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Capability {
    /// Vote on amendments.
    Vote,
    /// Propose amendments.
    Propose,
    /// Transact.
    Transact,
    /// Hold office.
    HoldOffice,
    /// Sponsor others.
    Sponsor,
}

/// A holder's membership in one jurisdiction (a charter's `domain_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affiliation {
    /// The charter's domain id.
    pub jurisdiction: String,
    /// Status.
    pub status: AffiliationStatus,
    /// Granted capabilities.
    pub capabilities: BTreeSet<Capability>,
    /// Free-form roles.
    pub roles: BTreeSet<String>,
    /// Unix seconds.
    pub joined_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

/// A principal's membership record; `holder_id` equals its `anchor_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommonsHolderRecord {
    /// Equals the anchor id.
    pub holder_id: String,
    /// Canonical DID.
    pub did: Did,
    /// Up to 100 characters.
    pub display_name: Option<String>,
    /// Status in the commons.
    pub status: HolderStatus,
    /// At most one per jurisdiction.
    pub affiliations: Vec<Affiliation>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

/// A holder plus its derived rights, as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HolderView {
    /// The record.
    #[serde(flatten)]
    pub holder: CommonsHolderRecord,
    /// Rights that follow from the status.
    pub baseline_rights: Vec<BaselineRight>,
}

/// Checks a display name: at most 100 characters, no control characters.
///
/// # Errors
/// `InvalidInput` on `display_name`.
pub fn check_display_name(name: &str) -> Result<(), Refusal> {
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(Refusal::invalid("display_name", "at most 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(Refusal::invalid("display_name", "no control characters"));
    }
    Ok(())
}

transitions!(CommonsHolderRecord, HolderStatus, "holder", holder_id);

impl CommonsHolderRecord {
    /// A new Active holder with no affiliation.
    pub fn new(holder_id: String, did: Did, display_name: Option<String>, now: u64) -> Self {
        Self {
            holder_id,
            did,
            display_name,
            status: HolderStatus::Active,
            affiliations: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }

    /// Rights that follow from the status.
    pub fn baseline_rights(&self) -> Vec<BaselineRight> {
        use BaselineRight::*;
        match self.status {
            HolderStatus::Active => vec![VoteInCommons, Petition, DueProcess, ExitFreely],
            HolderStatus::Suspended { .. } => vec![DueProcess, ExitFreely],
            HolderStatus::Exited { .. } | HolderStatus::Revoked { .. } => Vec::new(),
        }
    }

    /// The record with its derived fields.
    pub fn view(&self) -> HolderView {
        HolderView { baseline_rights: self.baseline_rights(), holder: self.clone() }
    }

    /// The affiliation with `jurisdiction`, if any.
    pub fn affiliation(&self, jurisdiction: &str) -> Option<&Affiliation> {
        self.affiliations.iter().find(|a| a.jurisdiction == jurisdiction)
    }

    /// True when Active.
    pub fn is_active(&self) -> bool {
        self.status == HolderStatus::Active
    }

    /// `Ok` while the holder is Active in the commons.
    ///
    /// # Errors
    /// `InvalidTransition` naming `action` otherwise.
    pub fn require_active(&self, action: &'static str) -> Result<(), Refusal> {
        if self.is_active() {
            Ok(())
        } else {
            Err(self.refuse(action))
        }
    }

    /// Sets the display name.
    ///
    /// # Errors
    /// `InvalidInput` for a bad name.
    pub fn set_display_name(&mut self, name: Option<String>, now: u64) -> Result<(), Refusal> {
        if let Some(n) = &name {
            check_display_name(n)?;
        }
        self.display_name = name;
        self.updated_at = now;
        Ok(())
    }

    /// Active -> Suspended until `appeal_deadline` (Unix seconds).
    ///
    /// # Errors
    /// `InvalidTransition` unless Active.
    pub fn suspend(&mut self, reason: String, appeal_deadline: u64, now: u64) -> Result<(), Refusal> {
        self.transition(
            "suspend",
            |s| *s == HolderStatus::Active,
            HolderStatus::Suspended { reason, appeal_deadline },
            now,
        )
    }

    /// Suspended -> Active.
    ///
    /// # Errors
    /// `InvalidTransition` unless Suspended.
    pub fn reinstate(&mut self, now: u64) -> Result<(), Refusal> {
        self.transition("reinstate", |s| matches!(s, HolderStatus::Suspended { .. }), HolderStatus::Active, now)
    }

    /// Active|Suspended -> Exited (the holder leaves the commons).
    ///
    /// # Errors
    /// `InvalidTransition` when Exited or Revoked.
    pub fn exit(&mut self, reason: String, now: u64) -> Result<(), Refusal> {
        self.transition(
            "exit",
            |s| matches!(s, HolderStatus::Active | HolderStatus::Suspended { .. }),
            HolderStatus::Exited { reason, at: now },
            now,
        )
    }

    /// Active|Suspended -> Revoked. Revoked is terminal for every ordinary
    /// action; only an upheld appeal of the revocation restores the holder
    /// ([`CommonsHolderRecord::restore`]).
    ///
    /// # Errors
    /// `InvalidTransition` when Exited or Revoked.
    pub fn revoke(&mut self, reason: String, now: u64) -> Result<(), Refusal> {
        self.transition(
            "revoke",
            |s| matches!(s, HolderStatus::Active | HolderStatus::Suspended { .. }),
            HolderStatus::Revoked { reason, at: now },
            now,
        )
    }

    /// Suspended|Revoked -> `before` (the status when the revocation that
    /// caused it was created; Active when unknown or not a live status),
    /// after an upheld appeal of that revocation.
    ///
    /// # Errors
    /// `InvalidTransition` when Active or Exited.
    pub fn restore(&mut self, before: Option<HolderStatus>, now: u64) -> Result<(), Refusal> {
        self.transition(
            "restore",
            |s| matches!(s, HolderStatus::Suspended { .. } | HolderStatus::Revoked { .. }),
            before
                .filter(|s| matches!(s, HolderStatus::Active | HolderStatus::Suspended { .. }))
                .unwrap_or(HolderStatus::Active),
            now,
        )
    }

    /// Suspended|Banned -> `status` (the status the affiliation had when its
    /// revocation was created; Member when unknown), after an upheld appeal
    /// of that revocation. A suspension kept its capabilities and roles; a
    /// ban cleared them, and they come back from `kept` when given. A
    /// membership that was Exited or a Candidate comes back as such, never
    /// as a Member it was not.
    ///
    /// # Errors
    /// `NotFound`; `InvalidTransition` from any other state.
    pub fn restore_affiliation(
        &mut self,
        jurisdiction: &str,
        status: Option<AffiliationStatus>,
        kept: Option<(&BTreeSet<Capability>, &BTreeSet<String>)>,
        now: u64,
    ) -> Result<(), Refusal> {
        let Some(i) = self.affiliations.iter().position(|a| a.jurisdiction == jurisdiction) else {
            return Err(Refusal::not_found("affiliation", format!("{}/{}", self.holder_id, jurisdiction)));
        };
        let from = self.affiliations[i].status;
        if !matches!(from, AffiliationStatus::Suspended | AffiliationStatus::Banned) {
            return Err(self.refuse_affiliation(jurisdiction, &format!("{from:?}"), "restore"));
        }
        let a = &mut self.affiliations[i];
        if from == AffiliationStatus::Banned {
            if let Some((capabilities, roles)) = kept {
                a.capabilities = capabilities.clone();
                a.roles = roles.clone();
            }
        }
        a.status = status.unwrap_or(AffiliationStatus::Member);
        a.updated_at = now;
        self.updated_at = now;
        Ok(())
    }

    fn refuse_affiliation(&self, jurisdiction: &str, from: &str, action: &'static str) -> Refusal {
        Refusal::InvalidTransition {
            entity: "affiliation",
            id: format!("{}/{}", self.holder_id, jurisdiction),
            from: from.to_string(),
            action,
        }
    }

    /// Creates (or re-opens an Exited) affiliation with the given status and
    /// capabilities. Used by apply (Candidate, no capabilities) and by
    /// enrollment completion.
    ///
    /// # Errors
    /// `InvalidTransition` when a live or Banned affiliation exists;
    /// `InvalidInput` when capabilities are given to a Candidate.
    pub fn join(
        &mut self,
        jurisdiction: &str,
        status: AffiliationStatus,
        capabilities: BTreeSet<Capability>,
        now: u64,
    ) -> Result<(), Refusal> {
        if !capabilities.is_empty() && !matches!(status, AffiliationStatus::Provisional | AffiliationStatus::Member) {
            return Err(Refusal::invalid("capabilities", "only Provisional or Member affiliations hold capabilities"));
        }
        let fresh = Affiliation {
            jurisdiction: jurisdiction.to_string(),
            status,
            capabilities,
            roles: BTreeSet::new(),
            joined_at: now,
            updated_at: now,
        };
        match self.affiliations.iter().position(|a| a.jurisdiction == jurisdiction) {
            Some(i) if self.affiliations[i].status == AffiliationStatus::Exited => self.affiliations[i] = fresh,
            Some(i) => {
                let from = format!("{:?}", self.affiliations[i].status);
                return Err(self.refuse_affiliation(jurisdiction, &from, "apply"));
            }
            None => self.affiliations.push(fresh),
        }
        self.updated_at = now;
        Ok(())
    }

    /// Applies one affiliation transition: `approve` Candidate->Provisional,
    /// `promote` Provisional->Member, `suspend` Provisional|Member->Suspended,
    /// `reinstate` Suspended->Member, `leave` any live state->Exited, `ban`
    /// any->Banned (clears capabilities and roles). The forward moves
    /// (approve, promote, reinstate) need the holder Active in the commons;
    /// suspend, leave and ban apply whatever the holder's status (a Suspended
    /// holder keeps `exit_freely`).
    ///
    /// # Errors
    /// `InvalidTransition` (entity `holder`) for a forward move of a holder
    /// that is not Active; `NotFound` without an affiliation there;
    /// `InvalidTransition` (entity `affiliation`) otherwise.
    pub fn transition_affiliation(
        &mut self,
        jurisdiction: &str,
        action: AffiliationAction,
        now: u64,
    ) -> Result<(), Refusal> {
        use AffiliationStatus::*;
        if let Some(refused) = action.forward_move() {
            if !self.is_active() {
                return Err(Transitions::refuse(self, refused));
            }
        }
        let Some(i) = self.affiliations.iter().position(|a| a.jurisdiction == jurisdiction) else {
            return Err(Refusal::not_found("affiliation", format!("{}/{}", self.holder_id, jurisdiction)));
        };
        let from = self.affiliations[i].status;
        let to = match (action, from) {
            (AffiliationAction::Approve, Candidate) => Provisional,
            (AffiliationAction::Promote, Provisional) => Member,
            (AffiliationAction::Suspend, Provisional | Member) => Suspended,
            (AffiliationAction::Reinstate, Suspended) => Member,
            (AffiliationAction::Leave, Candidate | Provisional | Member | Suspended) => Exited,
            (AffiliationAction::Ban, Candidate | Provisional | Member | Suspended | Exited) => Banned,
            _ => return Err(self.refuse_affiliation(jurisdiction, &format!("{from:?}"), action.verb())),
        };
        let a = &mut self.affiliations[i];
        a.status = to;
        if matches!(to, Banned | Exited) {
            a.capabilities.clear();
        }
        if to == Banned {
            a.roles.clear();
        }
        a.updated_at = now;
        self.updated_at = now;
        Ok(())
    }

    /// Replaces the capabilities of an affiliation.
    ///
    /// # Errors
    /// `NotFound`; `InvalidTransition` unless Provisional or Member.
    pub fn set_capabilities(
        &mut self,
        jurisdiction: &str,
        capabilities: BTreeSet<Capability>,
        now: u64,
    ) -> Result<(), Refusal> {
        let Some(i) = self.affiliations.iter().position(|a| a.jurisdiction == jurisdiction) else {
            return Err(Refusal::not_found("affiliation", format!("{}/{}", self.holder_id, jurisdiction)));
        };
        let from = self.affiliations[i].status;
        if !matches!(from, AffiliationStatus::Provisional | AffiliationStatus::Member) {
            return Err(self.refuse_affiliation(jurisdiction, &format!("{from:?}"), "grant capabilities"));
        }
        self.affiliations[i].capabilities = capabilities;
        self.affiliations[i].updated_at = now;
        self.updated_at = now;
        Ok(())
    }
}

/// An affiliation transition (see [`CommonsHolderRecord::transition_affiliation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AffiliationAction {
    /// Candidate -> Provisional.
    Approve,
    /// Provisional -> Member.
    Promote,
    /// Provisional|Member -> Suspended.
    Suspend,
    /// Suspended -> Member.
    Reinstate,
    /// live -> Exited.
    Leave,
    /// any -> Banned.
    Ban,
}

impl AffiliationAction {
    /// The route word (`approve`, ...).
    pub fn verb(self) -> &'static str {
        match self {
            AffiliationAction::Approve => "approve",
            AffiliationAction::Promote => "promote",
            AffiliationAction::Suspend => "suspend",
            AffiliationAction::Reinstate => "reinstate",
            AffiliationAction::Leave => "leave",
            AffiliationAction::Ban => "ban",
        }
    }

    /// For the moves that take an affiliation forward (approve, promote,
    /// reinstate), which need the holder Active in the commons: the refused
    /// action as an error names it. `None` for suspend, leave and ban.
    pub fn forward_move(self) -> Option<&'static str> {
        match self {
            AffiliationAction::Approve => Some("be approved in a jurisdiction"),
            AffiliationAction::Promote => Some("be promoted in a jurisdiction"),
            AffiliationAction::Reinstate => Some("be reinstated in a jurisdiction"),
            AffiliationAction::Suspend | AffiliationAction::Leave | AffiliationAction::Ban => None,
        }
    }
}
