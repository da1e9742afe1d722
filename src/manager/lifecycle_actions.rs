//! Payloads of the signed affiliation actions of `DOMAIN.md` ("Signed
//! actions"): `affiliation-apply`, `affiliation-leave` (signed by the holder)
//! and `affiliation-approve`, `affiliation-promote` (signed by a steward of the
//! jurisdiction). All are signed with the holder id as target and carry the
//! jurisdiction in the payload, so the signature covers it. Re-exported from
//! [`crate::manager::actions`].

use serde::Deserialize;

use crate::model::signing::Action;

/// `affiliation-apply` on a holder: the holder applies to a jurisdiction (a
/// charter's `domain_id`) and becomes a Candidate there.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffiliationApply {
    /// The charter's `domain_id`, e.g. `coop:bakers`.
    pub jurisdiction: String,
}
impl Action for AffiliationApply {
    const ACTION: &'static str = "affiliation-apply";
}

/// `affiliation-leave` on a holder: the holder leaves a jurisdiction (any
/// live state -> Exited).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffiliationLeave {
    /// The charter's `domain_id`.
    pub jurisdiction: String,
}
impl Action for AffiliationLeave {
    const ACTION: &'static str = "affiliation-leave";
}

/// `affiliation-approve` on a holder: a steward of the jurisdiction approves
/// a Candidate (-> Provisional).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffiliationApprove {
    /// The charter's `domain_id`.
    pub jurisdiction: String,
}
impl Action for AffiliationApprove {
    const ACTION: &'static str = "affiliation-approve";
}

/// `affiliation-promote` on a holder: a steward of the jurisdiction promotes
/// a Provisional affiliation (-> Member).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffiliationPromote {
    /// The charter's `domain_id`.
    pub jurisdiction: String,
}
impl Action for AffiliationPromote {
    const ACTION: &'static str = "affiliation-promote";
}
