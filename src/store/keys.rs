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
//! | `appeal_open/<did>/<steward_id>` | appeal_id (only while a StewardAction appeal is open; unique) |
//! | `revocation/<revocation_id>` | RevocationRecord JSON |
//! | `revocation_target/<target key>/<revocation_id>` | revocation_id |
//! | `revocation_deadline/<16 hex of appeal_deadline>/<revocation_id>` | revocation_id (only while it may still be finalized: not finalized, appeal not upheld) |
//! | `nonce/<nonce_id>` | SpentNonce JSON (nonce_id = sha256 of `<actor>\|<nonce>`) |
//! | `nonce_expiry/<16 hex of keep_until>/<nonce_id>` | nonce_id |
//!
//! **Invariant:** no prefix of one namespace is a prefix of another (every
//! namespace name ends in `/`, and no name is another name plus `/`), so a
//! scan of one namespace never returns another's rows. Every id, DID and
//! domain in a key was validated (canonical DID, 64 hex, UUID, domain slug)
//! before it got here, and none contains `/`.
//!
//! **Unique indexes** ([`UNIQUE_INDEXES`]): a row of one of these namespaces
//! stands for a rule "at most one at a time", so a batch that adds one
//! requires it to be absent (a precondition checked with the write, see
//! `Changes::put`). Two writers that checked the rule at the same instant
//! (two gateways on one database) then cannot both commit: the second
//! conflicts and its re-run finds the first.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::cache::RecordCache;
use super::Caches;
use crate::model::amendment::{Amendment, AmendmentStatus};
use crate::model::anchor::PersonhoodAnchor;
use crate::model::appeal::{Appeal, AppealKind};
use crate::model::charter::Charter;
use crate::model::did::Did;
use crate::model::enrollment::EnrollmentSession;
use crate::model::holder::{AffiliationStatus, CommonsHolderRecord};
use crate::model::replay::SpentNonce;
use crate::model::revocation::{AppealStatus, RevocationRecord, RevocationTarget};
use crate::model::steward::StewardRecord;

/// The schema-version row.
pub const SCHEMA_VERSION_KEY: &str = "commons/meta/schema_version";
/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Record namespace.
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
/// Unique index: (appellant DID, steward id) -> the open StewardAction
/// appeal (the rule "one open StewardAction appeal per appellant and
/// steward", `docs/DOMAIN.md`).
pub const APPEAL_OPEN: &str = "appeal_open/";
/// Record namespace.
pub const REVOCATION: &str = "revocation/";
/// Index: target -> revocations.
pub const REVOCATION_TARGET: &str = "revocation_target/";
/// Index: appeal deadlines of revocations not yet finalized.
pub const REVOCATION_DEADLINE: &str = "revocation_deadline/";

/// Record namespace: spent envelope nonces.
pub const SPENT_NONCE: &str = "nonce/";
/// Index: the order in which spent nonces may be swept.
pub const SPENT_NONCE_EXPIRY: &str = "nonce_expiry/";

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
    APPEAL_OPEN,
    REVOCATION,
    REVOCATION_TARGET,
    REVOCATION_DEADLINE,
    SPENT_NONCE,
    SPENT_NONCE_EXPIRY,
];

/// The index namespaces whose rows are created only where absent (see the
/// module docs). The record keys of anchors, stewards and charters need no
/// entry here: their ids derive from the DID or the domain, so the record's
/// own creation precondition already makes them unique.
pub const UNIQUE_INDEXES: &[&str] = &[APPEAL_OPEN];

/// A record type the store keeps: anchors, holders, charters, stewards,
/// enrollment sessions, amendments, appeals, revocations and spent nonces. Sealed: which
/// types the store keeps, and under which keys, is the store's own business
/// (its key layout side, private to the store).
pub trait Entity: Keyed + Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// Entity name for errors (`anchor`, `holder`, ...).
    const NAME: &'static str;
    /// The record's id.
    fn id(&self) -> &str;
}

/// The store's side of an [`Entity`]: its namespace, index rows and cache.
/// Not nameable outside the store, so no other type can be an `Entity`.
pub trait Keyed: Sized {
    /// Record namespace, e.g. `anchor/`.
    const PREFIX: &'static str;
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

/// Index key of a charter's domain.
pub fn charter_domain_key(domain_id: &str) -> String {
    format!("{CHARTER_DOMAIN}{domain_id}")
}

/// Prefix of a jurisdiction's membership rows.
pub fn member_prefix(jurisdiction: &str) -> String {
    format!("{MEMBER}{jurisdiction}/")
}

/// The value of an affiliation's membership row: its status name.
pub fn member_row_value(status: AffiliationStatus) -> String {
    format!("{status:?}")
}

/// Prefix of the index rows of a charter's amendments.
pub fn amendment_charter_prefix(charter_id: &str) -> String {
    format!("{AMENDMENT_CHARTER}{charter_id}/")
}

/// Prefix of the index rows of an appellant's appeals.
pub fn appeal_appellant_prefix(appellant: &Did) -> String {
    format!("{APPEAL_APPELLANT}{appellant}/")
}

/// Prefix of the index rows of one revocation target.
pub fn revocation_target_prefix(target: &RevocationTarget) -> String {
    format!("{REVOCATION_TARGET}{}/", target.key())
}

/// Time-ordered index rows are `<namespace><16 hex of t>/<id>`: the key that
/// sorts after every row of a time up to and including `t`.
pub fn due_end(namespace: &str, t: u64) -> String {
    format!("{namespace}{t:016x}/~")
}

/// The time of a time-ordered index row of `namespace` (the inverse of the
/// row's key), or `None` when `key` is not such a row.
pub fn timed_key_time(namespace: &str, key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(namespace.as_bytes())?;
    let hex = std::str::from_utf8(rest.get(..16)?).ok()?;
    (rest.get(16) == Some(&b'/')).then_some(())?;
    u64::from_str_radix(hex, 16).ok()
}

/// The key of a time-ordered index row.
fn timed_key(namespace: &str, t: u64, id: &str) -> String {
    format!("{namespace}{t:016x}/{id}")
}

/// Implements [`Entity`] and [`Keyed`] for a record: its name, namespace, id
/// field, cache field and index rows (`|record| rows`).
macro_rules! entity {
    ($ty:ty, $name:literal, $prefix:expr, $id:ident, $cache:ident, |$r:ident| $rows:expr) => {
        impl Entity for $ty {
            const NAME: &'static str = $name;
            fn id(&self) -> &str {
                &self.$id
            }
        }
        impl Keyed for $ty {
            const PREFIX: &'static str = $prefix;
            fn index_rows(&self) -> Vec<(String, String)> {
                let $r = self;
                $rows
            }
            fn cache(caches: &Caches) -> &RecordCache<Self> {
                &caches.$cache
            }
        }
    };
}

entity!(PersonhoodAnchor, "anchor", ANCHOR, anchor_id, anchors, |a| vec![(
    did_key(ANCHOR_DID, &a.did),
    a.anchor_id.clone()
)]);

entity!(CommonsHolderRecord, "holder", HOLDER, holder_id, holders, |h| {
    let mut rows = vec![(did_key(HOLDER_DID, &h.did), h.holder_id.clone())];
    for a in &h.affiliations {
        rows.push((format!("{}{}", member_prefix(&a.jurisdiction), h.holder_id), member_row_value(a.status)));
    }
    rows
});

entity!(Charter, "charter", CHARTER, charter_id, charters, |c| vec![
    (charter_domain_key(&c.domain_id), c.charter_id.clone()),
    (timed_key(CHARTER_TIME, u64::MAX - c.created_at, &c.charter_id), c.charter_id.clone()),
]);

entity!(StewardRecord, "steward", STEWARD, steward_id, stewards, |s| vec![(
    did_key(STEWARD_DID, &s.did),
    s.steward_id.clone()
)]);

entity!(EnrollmentSession, "enrollment", ENROLLMENT, enrollment_id, enrollments, |e| vec![(
    timed_key(ENROLLMENT_EXPIRY, e.expires_at, &e.enrollment_id),
    e.enrollment_id.clone()
)]);

entity!(Amendment, "amendment", AMENDMENT, amendment_id, amendments, |a| {
    let mut rows =
        vec![(format!("{}{}", amendment_charter_prefix(&a.charter_id), a.amendment_id), a.amendment_id.clone())];
    if let AmendmentStatus::Voting { closes_at, .. } = a.status {
        rows.push((timed_key(AMENDMENT_CLOSES, closes_at, &a.amendment_id), a.amendment_id.clone()));
    }
    rows
});

entity!(Appeal, "appeal", APPEAL, appeal_id, appeals, |a| {
    let mut rows = vec![(format!("{}{}", appeal_appellant_prefix(&a.appellant_did), a.appeal_id), a.appeal_id.clone())];
    if let (AppealKind::StewardAction { steward_id }, true) = (&a.kind, a.is_open()) {
        rows.push((format!("{APPEAL_OPEN}{}/{steward_id}", a.appellant_did), a.appeal_id.clone()));
    }
    rows
});

entity!(RevocationRecord, "revocation", REVOCATION, revocation_id, revocations, |r| {
    let mut rows =
        vec![(format!("{}{}", revocation_target_prefix(&r.target), r.revocation_id), r.revocation_id.clone())];
    // Only while finalisation may still happen: an upheld appeal ends the
    // revocation for good, so the sweep never revisits it.
    if r.finalized_at.is_none() && !matches!(r.appeal_status, AppealStatus::Upheld { .. }) {
        rows.push((timed_key(REVOCATION_DEADLINE, r.appeal_deadline, &r.revocation_id), r.revocation_id.clone()));
    }
    rows
});

entity!(SpentNonce, "spent_nonce", SPENT_NONCE, nonce_id, spent_nonces, |n| vec![(
    timed_key(SPENT_NONCE_EXPIRY, n.keep_until, &n.nonce_id),
    n.nonce_id.clone()
)]);
