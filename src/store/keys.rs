//! The key layout: which record lives under which key, and its index rows.
//!
//! | key | value |
//! |---|---|
//! | `commons/meta/schema_version` | decimal schema version |
//! | `anchor/<anchor_id>` | PersonhoodAnchor JSON |
//! | `anchor_did/<did>` | anchor_id |
//! | `holder/<holder_id>` | CommonsHolderRecord JSON |
//! | `holder_did/<did>` | holder_id |
//! | `member/<jurisdiction>/<holder_id>` | affiliation status name |
//! | `charter/<charter_id>` | Charter JSON |
//! | `charter_domain/<domain_id>` | charter_id |
//! | `charter_time/<16 hex of u64::MAX - created_at>/<charter_id>` | charter_id (newest first) |
//! | `steward/<steward_id>` | StewardRecord JSON |
//! | `steward_did/<did>` | steward_id |
//! | `enrollment/<enrollment_id>` | EnrollmentSession JSON |
//! | `enrollment_expiry/<16 hex of expires_at>/<enrollment_id>` | enrollment_id |
//! | `amendment/<amendment_id>` | Amendment JSON |
//! | `amendment_charter/<charter_id>/<amendment_id>` | amendment_id (UUID v7: oldest first) |
//! | `amendment_closes/<16 hex of closes_at>/<amendment_id>` | amendment_id (only while Voting) |
//! | `appeal/<appeal_id>` | Appeal JSON |
//! | `appeal_appellant/<did>/<appeal_id>` | appeal_id |
//! | `revocation/<revocation_id>` | RevocationRecord JSON |
//! | `revocation_target/<target key>/<revocation_id>` | revocation_id |
//! | `revocation_deadline/<16 hex of appeal_deadline>/<revocation_id>` | revocation_id (only while it may still be finalized: not finalized, appeal not upheld) |
//!
//! **Invariant:** no prefix of one namespace is a prefix of another (every
//! namespace name ends in `/`, and no name is another name plus `/`), so a
//! scan of one namespace never returns another's rows. Every id, DID and
//! domain in a key was validated (canonical DID, 64 hex, UUID, domain slug)
//! before it got here, and none contains `/`.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::cache::RecordCache;
use super::Caches;
use crate::model::amendment::{Amendment, AmendmentStatus};
use crate::model::anchor::PersonhoodAnchor;
use crate::model::appeal::Appeal;
use crate::model::charter::Charter;
use crate::model::did::Did;
use crate::model::enrollment::EnrollmentSession;
use crate::model::holder::CommonsHolderRecord;
use crate::model::revocation::{AppealStatus, RevocationRecord};
use crate::model::steward::StewardRecord;

/// The schema-version row.
pub const SCHEMA_VERSION_KEY: &str = "commons/meta/schema_version";
/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Record namespaces.
pub const ANCHOR: &str = "anchor/";
/// Index: DID -> anchor id.
pub const ANCHOR_DID: &str = "anchor_did/";
/// Record namespace.
pub const HOLDER: &str = "holder/";
/// Index: DID -> holder id.
pub const HOLDER_DID: &str = "holder_did/";
/// Index: jurisdiction -> holder ids.
pub const MEMBER: &str = "member/";
/// Record namespace.
pub const CHARTER: &str = "charter/";
/// Index: domain id -> charter id.
pub const CHARTER_DOMAIN: &str = "charter_domain/";
/// Index: newest-first charter order.
pub const CHARTER_TIME: &str = "charter_time/";
/// Record namespace.
pub const STEWARD: &str = "steward/";
/// Index: DID -> steward id.
pub const STEWARD_DID: &str = "steward_did/";
/// Record namespace.
pub const ENROLLMENT: &str = "enrollment/";
/// Index: expiry order of enrollment sessions.
pub const ENROLLMENT_EXPIRY: &str = "enrollment_expiry/";

/// Record namespace.
pub const AMENDMENT: &str = "amendment/";
/// Index: charter -> amendments.
pub const AMENDMENT_CHARTER: &str = "amendment_charter/";
/// Index: closing order of amendments while Voting (for the close sweep).
pub const AMENDMENT_CLOSES: &str = "amendment_closes/";
/// Record namespace.
pub const APPEAL: &str = "appeal/";
/// Index: appellant DID -> appeals.
pub const APPEAL_APPELLANT: &str = "appeal_appellant/";
/// Record namespace.
pub const REVOCATION: &str = "revocation/";
/// Index: target -> revocations.
pub const REVOCATION_TARGET: &str = "revocation_target/";
/// Index: appeal deadlines of revocations not yet finalized.
pub const REVOCATION_DEADLINE: &str = "revocation_deadline/";

/// Every namespace, record and index, for `verify`, import and tests.
pub const ALL_NAMESPACES: &[&str] = &[
    ANCHOR,
    ANCHOR_DID,
    HOLDER,
    HOLDER_DID,
    MEMBER,
    CHARTER,
    CHARTER_DOMAIN,
    CHARTER_TIME,
    STEWARD,
    STEWARD_DID,
    ENROLLMENT,
    ENROLLMENT_EXPIRY,
    AMENDMENT,
    AMENDMENT_CHARTER,
    AMENDMENT_CLOSES,
    APPEAL,
    APPEAL_APPELLANT,
    REVOCATION,
    REVOCATION_TARGET,
    REVOCATION_DEADLINE,
];

/// A record type the store keeps: its namespace, id, index rows and cache.
pub trait Entity: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// Entity name for errors (`anchor`, `holder`, ...).
    const NAME: &'static str;
    /// Record namespace, e.g. `anchor/`.
    const PREFIX: &'static str;
    /// The record's id.
    fn id(&self) -> &str;
    /// `(key, value)` index rows that must exist while the record does.
    fn index_rows(&self) -> Vec<(String, String)>;
    /// This entity's cache.
    fn cache(caches: &Caches) -> &RecordCache<Self>;
    /// The record's key.
    fn key_of(id: &str) -> String {
        format!("{}{id}", Self::PREFIX)
    }
}

/// Index key of a DID in `namespace`.
pub fn did_key(namespace: &str, did: &Did) -> String {
    format!("{namespace}{did}")
}

/// Prefix of a jurisdiction's membership rows.
pub fn member_prefix(jurisdiction: &str) -> String {
    format!("{MEMBER}{jurisdiction}/")
}

impl Entity for PersonhoodAnchor {
    const NAME: &'static str = "anchor";
    const PREFIX: &'static str = ANCHOR;
    fn id(&self) -> &str {
        &self.anchor_id
    }
    fn index_rows(&self) -> Vec<(String, String)> {
        vec![(did_key(ANCHOR_DID, &self.did), self.anchor_id.clone())]
    }
    fn cache(caches: &Caches) -> &RecordCache<Self> {
        &caches.anchors
    }
}

impl Entity for CommonsHolderRecord {
    const NAME: &'static str = "holder";
    const PREFIX: &'static str = HOLDER;
    fn id(&self) -> &str {
        &self.holder_id
    }
    fn index_rows(&self) -> Vec<(String, String)> {
        let mut rows = vec![(did_key(HOLDER_DID, &self.did), self.holder_id.clone())];
        for a in &self.affiliations {
            rows.push((format!("{}{}", member_prefix(&a.jurisdiction), self.holder_id), format!("{:?}", a.status)));
        }
        rows
    }
    fn cache(caches: &Caches) -> &RecordCache<Self> {
        &caches.holders
    }
}

impl Entity for Charter {
    const NAME: &'static str = "charter";
    const PREFIX: &'static str = CHARTER;
    fn id(&self) -> &str {
        &self.charter_id
    }
    fn index_rows(&self) -> Vec<(String, String)> {
        vec![
            (format!("{CHARTER_DOMAIN}{}", self.domain_id), self.charter_id.clone()),
            (format!("{CHARTER_TIME}{:016x}/{}", u64::MAX - self.created_at, self.charter_id), self.charter_id.clone()),
        ]
    }
    fn cache(caches: &Caches) -> &RecordCache<Self> {
        &caches.charters
    }
}

impl Entity for StewardRecord {
    const NAME: &'static str = "steward";
    const PREFIX: &'static str = STEWARD;
    fn id(&self) -> &str {
        &self.steward_id
    }
    fn index_rows(&self) -> Vec<(String, String)> {
        vec![(did_key(STEWARD_DID, &self.did), self.steward_id.clone())]
    }
    fn cache(caches: &Caches) -> &RecordCache<Self> {
        &caches.stewards
    }
}

impl Entity for EnrollmentSession {
    const NAME: &'static str = "enrollment";
    const PREFIX: &'static str = ENROLLMENT;
    fn id(&self) -> &str {
        &self.enrollment_id
    }
    fn index_rows(&self) -> Vec<(String, String)> {
        vec![(
            format!("{ENROLLMENT_EXPIRY}{:016x}/{}", self.expires_at, self.enrollment_id),
            self.enrollment_id.clone(),
        )]
    }
    fn cache(caches: &Caches) -> &RecordCache<Self> {
        &caches.enrollments
    }
}

impl Entity for Amendment {
    const NAME: &'static str = "amendment";
    const PREFIX: &'static str = AMENDMENT;
    fn id(&self) -> &str {
        &self.amendment_id
    }
    fn index_rows(&self) -> Vec<(String, String)> {
        let mut rows =
            vec![(format!("{AMENDMENT_CHARTER}{}/{}", self.charter_id, self.amendment_id), self.amendment_id.clone())];
        if let AmendmentStatus::Voting { closes_at, .. } = self.status {
            rows.push((format!("{AMENDMENT_CLOSES}{closes_at:016x}/{}", self.amendment_id), self.amendment_id.clone()));
        }
        rows
    }
    fn cache(caches: &Caches) -> &RecordCache<Self> {
        &caches.amendments
    }
}

impl Entity for Appeal {
    const NAME: &'static str = "appeal";
    const PREFIX: &'static str = APPEAL;
    fn id(&self) -> &str {
        &self.appeal_id
    }
    fn index_rows(&self) -> Vec<(String, String)> {
        vec![(format!("{APPEAL_APPELLANT}{}/{}", self.appellant_did, self.appeal_id), self.appeal_id.clone())]
    }
    fn cache(caches: &Caches) -> &RecordCache<Self> {
        &caches.appeals
    }
}

/// Prefix of the index rows of one revocation target.
pub fn revocation_target_prefix(target_key: &str) -> String {
    format!("{REVOCATION_TARGET}{target_key}/")
}

impl Entity for RevocationRecord {
    const NAME: &'static str = "revocation";
    const PREFIX: &'static str = REVOCATION;
    fn id(&self) -> &str {
        &self.revocation_id
    }
    fn index_rows(&self) -> Vec<(String, String)> {
        let mut rows = vec![(
            format!("{}{}", revocation_target_prefix(&self.target.key()), self.revocation_id),
            self.revocation_id.clone(),
        )];
        // Only while finalisation may still happen: an upheld appeal ends the
        // revocation for good, so the sweep never revisits it.
        if self.finalized_at.is_none() && !matches!(self.appeal_status, AppealStatus::Upheld { .. }) {
            rows.push((
                format!("{REVOCATION_DEADLINE}{:016x}/{}", self.appeal_deadline, self.revocation_id),
                self.revocation_id.clone(),
            ));
        }
        rows
    }
    fn cache(caches: &Caches) -> &RecordCache<Self> {
        &caches.revocations
    }
}
