//! Payloads of the signed actions of `DOMAIN.md` ("Signed actions"), one type
//! per action. Request DTOs refuse unknown fields.

use serde::Deserialize;

use crate::model::anchor::{AttestationMethod, PopLevel};
use crate::model::charter::OrgType;
use crate::model::signing::Action;

pub use super::lifecycle_actions::*;

/// `enroll-verify` on an enrollment: the person proves the code.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollVerify {
    /// The code handed out at start.
    pub verification_code: String,
}
impl Action for EnrollVerify {
    const ACTION: &'static str = "enroll-verify";
}

/// `enroll-vouch` on an enrollment: a steward vouches for the bound person.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollVouch {
    /// The DID bound at verify (checked to match).
    pub person_did: String,
}
impl Action for EnrollVouch {
    const ACTION: &'static str = "enroll-vouch";
}

/// `enroll-complete` on an enrollment: the person finishes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollComplete {}
impl Action for EnrollComplete {
    const ACTION: &'static str = "enroll-complete";
}

/// `enroll-reject` on an enrollment: a steward turns it down.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollReject {
    /// Why (at most 2,000 characters).
    pub reason: String,
}
impl Action for EnrollReject {
    const ACTION: &'static str = "enroll-reject";
}

/// `attest` on an anchor: a steward adds an attestation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attest {
    /// Strength.
    pub level: PopLevel,
    /// Method.
    pub method: AttestationMethod,
    /// Unix seconds, if it expires.
    #[serde(default)]
    pub expires_at: Option<u64>,
}
impl Action for Attest {
    const ACTION: &'static str = "attest";
}

/// `holder-update` on a holder: the holder sets its display name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolderUpdate {
    /// New display name (`null` clears it); at most 100 characters.
    pub display_name: Option<String>,
}
impl Action for HolderUpdate {
    const ACTION: &'static str = "holder-update";
}

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

/// `charter-create` (target `-`): an Active holder drafts a charter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharterCreate {
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
impl Action for CharterCreate {
    const ACTION: &'static str = "charter-create";
}

/// `charter-sign` on a charter: an Active holder signs the current digest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharterSign {
    /// Must equal the charter's current digest.
    pub digest: String,
    /// Optional founder role.
    #[serde(default)]
    pub role: Option<String>,
}
impl Action for CharterSign {
    const ACTION: &'static str = "charter-sign";
}

/// `charter-activate` on a charter: a founder activates it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharterActivate {}
impl Action for CharterActivate {
    const ACTION: &'static str = "charter-activate";
}
