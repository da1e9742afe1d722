//! [`PersonhoodAnchor`]: layer 0, the identity root of one principal.
//!
//! **Invariant:** `anchor_id` = sha256("commons-anchor-v1" ++ public key), so
//! one principal has at most one anchor; status moves only along
//! Active -> Suspended -> Active and Active|Suspended -> Revoked (terminal).

use serde::{Deserialize, Serialize};

use super::did::Did;
use super::error::Refusal;
use super::ids::derive_id;
use super::transition::{transitions, Transitions};

/// How the anchor came to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Pathway {
    /// Self-enrolled under a charter with open enrollment.
    Genesis,
    /// Vouched for by a steward during enrollment.
    StewardVouched {
        /// The vouching steward.
        steward_did: Did,
    },
    /// Created by the operator (bootstrap).
    Admin,
}

/// Lifecycle state of an anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum AnchorStatus {
    /// In good standing.
    Active,
    /// Temporarily suspended.
    Suspended {
        /// Why.
        reason: String,
        /// Since when (Unix seconds).
        since: u64,
        /// Until when, if bounded (Unix seconds).
        until: Option<u64>,
    },
    /// Permanently revoked (terminal).
    Revoked {
        /// Why.
        reason: String,
        /// When (Unix seconds).
        at: u64,
        /// The revocation record that caused it, if any.
        revocation_id: Option<String>,
    },
}

impl AnchorStatus {
    /// The variant name (`Active`, `Suspended`, `Revoked`).
    pub fn name(&self) -> &'static str {
        match self {
            AnchorStatus::Active => "Active",
            AnchorStatus::Suspended { .. } => "Suspended",
            AnchorStatus::Revoked { .. } => "Revoked",
        }
    }
}

/// Proof-of-personhood level, ordered `Weak < Strong < Verified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PopLevel {
    /// Self-asserted.
    Weak,
    /// Vouched or checked in person.
    Strong,
    /// Checked against documents.
    Verified,
}

impl PopLevel {
    /// The variant name as written in the spec (used in the charter digest).
    pub fn name(self) -> &'static str {
        match self {
            PopLevel::Weak => "Weak",
            PopLevel::Strong => "Strong",
            PopLevel::Verified => "Verified",
        }
    }
}

/// How an attestation was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttestationMethod {
    /// The person's own claim.
    SelfAsserted,
    /// Met in person.
    InPerson,
    /// Met over video.
    VideoCall,
    /// Checked a document.
    Document,
    /// A steward vouched during enrollment.
    StewardVouch,
}

/// A statement by an issuer about an anchor's personhood.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// Who attests (a steward, or the person for `SelfAsserted`).
    pub issuer_did: Did,
    /// Strength.
    pub level: PopLevel,
    /// Method.
    pub method: AttestationMethod,
    /// When (Unix seconds).
    pub issued_at: u64,
    /// When it stops counting (Unix seconds), if ever.
    pub expires_at: Option<u64>,
    /// The issuer's signature (128 hex) over the signed action that created it.
    pub signature: String,
}

/// The identity root of one principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonhoodAnchor {
    /// sha256("commons-anchor-v1" ++ public key), 64 hex.
    pub anchor_id: String,
    /// The principal's canonical DID.
    pub did: Did,
    /// How it was created.
    pub pathway: Pathway,
    /// Lifecycle state.
    pub status: AnchorStatus,
    /// At most one per issuer.
    pub attestations: Vec<Attestation>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

/// An anchor plus its derived field, as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnchorView {
    /// The record.
    #[serde(flatten)]
    pub anchor: PersonhoodAnchor,
    /// Highest level among unexpired attestations, if any.
    pub pop_level: Option<PopLevel>,
}

transitions!(PersonhoodAnchor, AnchorStatus, "anchor", anchor_id);

impl PersonhoodAnchor {
    /// The anchor id of a principal.
    pub fn id_for(did: &Did) -> String {
        derive_id("commons-anchor-v1", did.public_key_bytes())
    }

    /// A new Active anchor.
    pub fn new(did: Did, pathway: Pathway, now: u64) -> Self {
        Self {
            anchor_id: Self::id_for(&did),
            did,
            pathway,
            status: AnchorStatus::Active,
            attestations: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }

    /// Highest level among attestations unexpired at `now`.
    pub fn pop_level(&self, now: u64) -> Option<PopLevel> {
        self.attestations.iter().filter(|a| a.expires_at.is_none_or(|t| t > now)).map(|a| a.level).max()
    }

    /// The record with its derived fields at `now`.
    pub fn view(&self, now: u64) -> AnchorView {
        AnchorView { pop_level: self.pop_level(now), anchor: self.clone() }
    }

    /// Adds (or replaces the issuer's earlier) attestation.
    ///
    /// # Errors
    /// `InvalidTransition` unless Active.
    pub fn add_attestation(&mut self, attestation: Attestation, now: u64) -> Result<(), Refusal> {
        if self.status != AnchorStatus::Active {
            return Err(self.refuse("add an attestation"));
        }
        self.attestations.retain(|a| a.issuer_did != attestation.issuer_did);
        self.attestations.push(attestation);
        self.updated_at = now;
        Ok(())
    }

    /// Active -> Suspended.
    ///
    /// # Errors
    /// `InvalidTransition` unless Active.
    pub fn suspend(&mut self, reason: String, until: Option<u64>, now: u64) -> Result<(), Refusal> {
        self.transition(
            "suspend",
            |s| *s == AnchorStatus::Active,
            AnchorStatus::Suspended { reason, since: now, until },
            now,
        )
    }

    /// Suspended -> Active.
    ///
    /// # Errors
    /// `InvalidTransition` unless Suspended.
    pub fn reinstate(&mut self, now: u64) -> Result<(), Refusal> {
        self.transition("reinstate", |s| matches!(s, AnchorStatus::Suspended { .. }), AnchorStatus::Active, now)
    }

    /// Suspended|Revoked -> `before` (the status when the revocation that
    /// caused it was created; Active when unknown or Revoked), after an
    /// upheld appeal of that revocation (Revoked is terminal for every
    /// ordinary action).
    ///
    /// # Errors
    /// `InvalidTransition` when Active.
    pub fn restore(&mut self, before: Option<AnchorStatus>, now: u64) -> Result<(), Refusal> {
        self.transition(
            "restore",
            |s| *s != AnchorStatus::Active,
            before.filter(|s| !matches!(s, AnchorStatus::Revoked { .. })).unwrap_or(AnchorStatus::Active),
            now,
        )
    }

    /// Active|Suspended -> Revoked (terminal).
    ///
    /// # Errors
    /// `InvalidTransition` when already Revoked.
    pub fn revoke(&mut self, reason: String, revocation_id: Option<String>, now: u64) -> Result<(), Refusal> {
        self.transition(
            "revoke",
            |s| !matches!(s, AnchorStatus::Revoked { .. }),
            AnchorStatus::Revoked { reason, at: now, revocation_id },
            now,
        )
    }
}
