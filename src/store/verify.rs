//! `verify`: reads the whole store and reports, by key, everything that breaks
//! the store's invariants: records that fail to decode, index rows that point
//! to nothing (or hold a stale value), records missing their index rows,
//! record rows not in the canonical encoding (what this binary writes for the
//! record they hold), keys outside every namespace, and revocations whose target's state does not
//! match the revocation.
//!
//! It only reads. Memory grows with the number of index rows (their keys are
//! held in a set while the records are walked).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::keys::{self, Entity, ALL_NAMESPACES, SCHEMA_VERSION_KEY};
use super::{decode, CommonsStore, StoreError, StoreResult};
use crate::backend::CommonsStoreBackend;
use crate::model::amendment::Amendment;
use crate::model::anchor::{AnchorStatus, PersonhoodAnchor};
use crate::model::appeal::Appeal;
use crate::model::charter::Charter;
use crate::model::enrollment::EnrollmentSession;
use crate::model::holder::{AffiliationStatus, CommonsHolderRecord, HolderStatus};
use crate::model::replay::SpentNonce;
use crate::model::revocation::{AppealStatus, RevocationRecord, RevocationTarget};
use crate::model::steward::{StewardRecord, StewardStatus};

/// What is wrong at one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// The value does not decode as its record type.
    Undecodable {
        /// The record key.
        key: String,
        /// The decoder's reason.
        reason: String,
    },
    /// A record row whose bytes are not the encoding this binary writes for
    /// the record they decode to. Writers expect a record's row to hold the
    /// exact bytes of the version they read (see
    /// [`crate::backend::Precondition`]), so such a row could never be
    /// updated: re-create it from a clean export.
    NotCanonical {
        /// The record key.
        key: String,
    },
    /// An index row whose record does not exist or does not list it.
    DanglingIndexRow {
        /// The index key.
        key: String,
    },
    /// An index row whose value is not what its record implies.
    StaleIndexRow {
        /// The index key.
        key: String,
        /// The value found.
        found: String,
        /// The value the record implies.
        expected: String,
    },
    /// A record without one of its index rows.
    MissingIndexRow {
        /// The record key.
        key: String,
        /// The index key that should exist.
        index_key: String,
    },
    /// A key in no known namespace.
    UnknownKey {
        /// The key.
        key: String,
    },
    /// A revocation whose target is missing or in a state the revocation
    /// does not explain.
    RevocationMismatch {
        /// The revocation key.
        key: String,
        /// What does not match.
        detail: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Undecodable { key, reason } => write!(f, "{key}: record does not decode: {reason}"),
            Problem::NotCanonical { key } => {
                write!(f, "{key}: record bytes are not the canonical encoding of the record they hold")
            }
            Problem::DanglingIndexRow { key } => write!(f, "{key}: index row points to no record that lists it"),
            Problem::StaleIndexRow { key, found, expected } => {
                write!(f, "{key}: index row holds {found:?}, its record implies {expected:?}")
            }
            Problem::MissingIndexRow { key, index_key } => write!(f, "{key}: missing its index row {index_key}"),
            Problem::UnknownKey { key } => write!(f, "{key}: key in no known namespace"),
            Problem::RevocationMismatch { key, detail } => write!(f, "{key}: {detail}"),
        }
    }
}

/// The outcome of [`CommonsStore::verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Rows read, per namespace (and `commons/meta/` for the schema row).
    pub rows: BTreeMap<String, u64>,
    /// Every problem found, in key order within each check.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// True when no problem was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl<S: CommonsStoreBackend> CommonsStore<S> {
    fn verify_entity<E: Entity>(
        &self,
        report: &mut VerifyReport,
        expected: &mut BTreeMap<String, String>,
        mut each: impl FnMut(&str, &E),
    ) -> StoreResult<()> {
        let mut count = 0;
        self.each_row::<StoreError>(E::PREFIX, |k, v| {
            count += 1;
            let key = String::from_utf8_lossy(k).into_owned();
            match decode::<E>(k, v) {
                Err(StoreError::Corrupt { reason, .. }) => report.problems.push(Problem::Undecodable { key, reason }),
                Err(other) => return Err(other),
                Ok(record) => {
                    if super::encode(&record)? != v {
                        report.problems.push(Problem::NotCanonical { key: key.clone() });
                    }
                    for (index_key, value) in record.index_rows() {
                        expected.insert(index_key, value);
                    }
                    each(&key, &record);
                }
            }
            Ok(())
        })?;
        report.rows.insert(E::PREFIX.to_string(), count);
        Ok(())
    }

    /// Reads the whole store and reports every problem by key. Read-only.
    ///
    /// # Errors
    /// Backend errors (a failing read stops the walk; problems in the data
    /// are reported, not returned as errors).
    pub fn verify(&self) -> StoreResult<VerifyReport> {
        let mut report = VerifyReport::default();
        let mut expected: BTreeMap<String, String> = BTreeMap::new();
        let mut revocations: Vec<(String, RevocationRecord)> = Vec::new();
        self.verify_entity::<PersonhoodAnchor>(&mut report, &mut expected, |_, _| {})?;
        self.verify_entity::<CommonsHolderRecord>(&mut report, &mut expected, |_, _| {})?;
        self.verify_entity::<Charter>(&mut report, &mut expected, |_, _| {})?;
        self.verify_entity::<StewardRecord>(&mut report, &mut expected, |_, _| {})?;
        self.verify_entity::<EnrollmentSession>(&mut report, &mut expected, |_, _| {})?;
        self.verify_entity::<Amendment>(&mut report, &mut expected, |_, _| {})?;
        self.verify_entity::<Appeal>(&mut report, &mut expected, |_, _| {})?;
        self.verify_entity::<RevocationRecord>(&mut report, &mut expected, |k, r| {
            revocations.push((k.to_string(), r.clone()))
        })?;
        self.verify_entity::<SpentNonce>(&mut report, &mut expected, |_, _| {})?;

        let record_prefixes = [
            keys::ANCHOR,
            keys::HOLDER,
            keys::CHARTER,
            keys::STEWARD,
            keys::ENROLLMENT,
            keys::AMENDMENT,
            keys::APPEAL,
            keys::REVOCATION,
            keys::SPENT_NONCE,
        ];
        for ns in ALL_NAMESPACES.iter().filter(|ns| !record_prefixes.contains(ns)) {
            let mut count = 0;
            self.each_row::<StoreError>(ns, |k, v| {
                count += 1;
                let key = String::from_utf8_lossy(k).into_owned();
                let value = String::from_utf8_lossy(v).into_owned();
                match expected.remove(&key) {
                    None => report.problems.push(Problem::DanglingIndexRow { key }),
                    Some(want) if want != value => {
                        report.problems.push(Problem::StaleIndexRow { key, found: value, expected: want })
                    }
                    Some(_) => {}
                }
                Ok(())
            })?;
            report.rows.insert((*ns).to_string(), count);
        }
        // Whatever is still expected was never found.
        for (index_key, value) in expected {
            let record_key = self.record_key_of_index(&index_key, &value);
            report.problems.push(Problem::MissingIndexRow { key: record_key, index_key });
        }

        // Keys outside every namespace.
        let mut meta = 0;
        self.each_row::<StoreError>("", |k, _| {
            let key = String::from_utf8_lossy(k);
            if key == SCHEMA_VERSION_KEY {
                meta += 1;
            } else if !ALL_NAMESPACES.iter().any(|ns| key.starts_with(ns)) {
                report.problems.push(Problem::UnknownKey { key: key.into_owned() });
            }
            Ok(())
        })?;
        report.rows.insert("commons/meta/".to_string(), meta);

        for (key, r) in &revocations {
            // A later revocation of the same target speaks for its state now.
            let superseded =
                revocations.iter().any(|(_, other)| other.target == r.target && other.created_at > r.created_at);
            if superseded {
                continue;
            }
            if let Some(detail) = self.revocation_mismatch(r)? {
                let key = key.clone();
                report.problems.push(Problem::RevocationMismatch { key, detail });
            }
        }
        Ok(report)
    }

    /// The record key an index row belongs to (its value is the record id;
    /// the namespace tells the entity).
    fn record_key_of_index(&self, index_key: &str, id: &str) -> String {
        let entity = [
            (keys::ANCHOR_DID, keys::ANCHOR),
            (keys::HOLDER_DID, keys::HOLDER),
            (keys::MEMBER, keys::HOLDER),
            (keys::CHARTER_DOMAIN, keys::CHARTER),
            (keys::CHARTER_TIME, keys::CHARTER),
            (keys::STEWARD_DID, keys::STEWARD),
            (keys::ENROLLMENT_EXPIRY, keys::ENROLLMENT),
            (keys::AMENDMENT_CHARTER, keys::AMENDMENT),
            (keys::AMENDMENT_CLOSES, keys::AMENDMENT),
            (keys::APPEAL_APPELLANT, keys::APPEAL),
            (keys::APPEAL_OPEN, keys::APPEAL),
            (keys::REVOCATION_TARGET, keys::REVOCATION),
            (keys::REVOCATION_DEADLINE, keys::REVOCATION),
            (keys::SPENT_NONCE_EXPIRY, keys::SPENT_NONCE),
        ]
        .into_iter()
        .find(|(index, _)| index_key.starts_with(index))
        .map(|(_, record)| record);
        match (entity, id) {
            // A member row's value is a status, not an id: the holder id ends the key.
            (Some(keys::HOLDER), _) if index_key.starts_with(keys::MEMBER) => {
                format!("{}{}", keys::HOLDER, index_key.rsplit('/').next().unwrap_or_default())
            }
            (Some(prefix), id) => format!("{prefix}{id}"),
            (None, _) => index_key.to_string(),
        }
    }

    /// Why a revocation's target state does not match it, if it does not
    /// (checked only for the latest revocation of each target). The rules
    /// allow for what may legitimately happen to a target afterwards (the
    /// target leaving, retiring or being revoked outright by the operator;
    /// nothing but an upheld appeal brings it back while the revocation
    /// stands):
    /// - open (not immediate, not finalized, not upheld): the target must not
    ///   be live (Active, or a live affiliation);
    /// - immediate or finalized (not upheld): revoked / banned; or, for a
    ///   suspension finalized after its steward retired, Retired;
    /// - upheld at `t`: the target must not still be in the state the
    ///   revocation put it in (revoked / banned when immediate, else
    ///   suspended) unless it changed at or after `t` (a later decision).
    fn revocation_mismatch(&self, r: &RevocationRecord) -> StoreResult<Option<String>> {
        #[derive(PartialEq)]
        enum State {
            Live,
            Suspended,
            Revoked,
            Gone,
        }
        let found = match &r.target {
            RevocationTarget::Anchor { anchor_id } => self.get::<PersonhoodAnchor>(anchor_id)?.map(|a| {
                let state = match a.status {
                    AnchorStatus::Active => State::Live,
                    AnchorStatus::Suspended { .. } => State::Suspended,
                    AnchorStatus::Revoked { .. } => State::Revoked,
                };
                (state, a.updated_at)
            }),
            RevocationTarget::Holder { holder_id } => self.get::<CommonsHolderRecord>(holder_id)?.map(|h| {
                let state = match h.status {
                    HolderStatus::Active => State::Live,
                    HolderStatus::Suspended { .. } => State::Suspended,
                    HolderStatus::Revoked { .. } => State::Revoked,
                    HolderStatus::Exited { .. } => State::Gone,
                };
                (state, h.updated_at)
            }),
            RevocationTarget::Membership { holder_id, jurisdiction } => self
                .get::<CommonsHolderRecord>(holder_id)?
                .and_then(|h| h.affiliation(jurisdiction).map(|a| (a.status, a.updated_at)))
                .map(|(s, at)| {
                    let state = match s {
                        AffiliationStatus::Suspended => State::Suspended,
                        AffiliationStatus::Banned => State::Revoked,
                        AffiliationStatus::Exited => State::Gone,
                        AffiliationStatus::Candidate | AffiliationStatus::Provisional | AffiliationStatus::Member => {
                            State::Live
                        }
                    };
                    (state, at)
                }),
            RevocationTarget::Steward { steward_id } => self.get::<StewardRecord>(steward_id)?.map(|s| {
                let state = match s.status {
                    StewardStatus::Active => State::Live,
                    StewardStatus::Suspended { .. } => State::Suspended,
                    StewardStatus::Revoked { .. } => State::Revoked,
                    StewardStatus::Retired => State::Gone,
                };
                (state, s.updated_at)
            }),
        };
        let Some((state, changed_at)) = found else {
            return Ok(Some(format!("target {} does not exist", r.target.key())));
        };
        let key = r.target.key();
        let detail = if let AppealStatus::Upheld { at } = r.appeal_status {
            let produced = if r.immediate { State::Revoked } else { State::Suspended };
            (state == produced && changed_at < at)
                .then(|| format!("appeal upheld but target {key} is still as the revocation left it"))
        } else if r.immediate || r.finalized_at.is_some() {
            // Only a steward that retired while suspended stays out of reach:
            // finalisation bans an exited membership, and nothing revoked or
            // banned can leave or retire.
            let retired = state == State::Gone && !r.immediate && matches!(r.target, RevocationTarget::Steward { .. });
            (state != State::Revoked && !retired).then(|| format!("target {key} should be revoked or banned"))
        } else {
            (state == State::Live).then(|| format!("target {key} is live under an open revocation"))
        };
        Ok(detail)
    }
}
