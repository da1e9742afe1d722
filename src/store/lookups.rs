//! Typed lookups and walks: every way the manager finds records other than
//! by id. By DID (anchor, holder, steward), by domain (charter), by parent
//! (a charter's amendments, an appellant's appeals, a target's revocations, a
//! jurisdiction's members), newest first (charters), and due by a time
//! (expired enrollment sessions, votes to close, revocations to finalize).
//!
//! **Invariant:** the key of every index lives in `keys.rs`; these methods
//! are its only readers outside `verify` and `transfer`, so changing an index
//! touches the store alone. Pages examine at most
//! [`MAX_ROWS_PER_PAGE_SCAN`](super::MAX_ROWS_PER_PAGE_SCAN) rows; whole
//! walks read the index in chunks and stop as soon as they have an answer.

use std::ops::ControlFlow;

use super::keys;
use super::walk::{id_suffix, row_text, Paging, WALK_CHUNK};
use super::{CommonsStore, Entity, Page, StoreError, StoreResult};
use crate::backend::CommonsStoreBackend;
use crate::model::amendment::Amendment;
use crate::model::anchor::PersonhoodAnchor;
use crate::model::appeal::Appeal;
use crate::model::charter::Charter;
use crate::model::did::Did;
use crate::model::holder::{AffiliationStatus, CommonsHolderRecord};
use crate::model::revocation::{RevocationRecord, RevocationTarget};
use crate::model::steward::StewardRecord;

/// What falls due at a time, for [`CommonsStore::for_each_due`]: each kind
/// has its own time-ordered index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Enrollment sessions whose `expires_at` has come.
    ExpiredEnrollments,
    /// Amendments in Voting whose `closes_at` has come.
    AmendmentsToClose,
    /// Revocations not finalized, appeal not upheld, whose appeal deadline
    /// has come.
    RevocationsToFinalize,
    /// Spent nonces whose `keep_until` has come.
    SpentNonces,
}

/// What [`CommonsStore::open_enrollments`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenEnrollments {
    /// Open sessions counted, at most the `limit` asked for.
    pub count: usize,
    /// The soonest `expires_at` (Unix seconds) among them; `None` when
    /// there are none.
    pub soonest_expiry: Option<u64>,
}

impl<S: CommonsStoreBackend> CommonsStore<S> {
    /// The anchor of a (canonical) DID.
    ///
    /// # Errors
    /// `Corrupt` naming the index row when it points to no anchor; backend
    /// errors.
    pub fn anchor_by_did(&self, did: &Did) -> StoreResult<Option<PersonhoodAnchor>> {
        self.get_by_index(&keys::did_key(keys::ANCHOR_DID, did))
    }

    /// The holder record of a DID. Errors as [`CommonsStore::anchor_by_did`].
    ///
    /// # Errors
    /// `Corrupt`; backend errors.
    pub fn holder_by_did(&self, did: &Did) -> StoreResult<Option<CommonsHolderRecord>> {
        self.get_by_index(&keys::did_key(keys::HOLDER_DID, did))
    }

    /// The steward record of a DID. Errors as [`CommonsStore::anchor_by_did`].
    ///
    /// # Errors
    /// `Corrupt`; backend errors.
    pub fn steward_by_did(&self, did: &Did) -> StoreResult<Option<StewardRecord>> {
        self.get_by_index(&keys::did_key(keys::STEWARD_DID, did))
    }

    /// The charter of a domain (`domain_id` already checked).
    ///
    /// # Errors
    /// `Corrupt`; backend errors.
    pub fn charter_by_domain(&self, domain_id: &str) -> StoreResult<Option<Charter>> {
        self.get_by_index(&keys::charter_domain_key(domain_id))
    }

    /// Whether a domain has a charter (in any status), without reading it.
    ///
    /// # Errors
    /// Backend errors.
    pub fn has_charter(&self, domain_id: &str) -> StoreResult<bool> {
        Ok(self.index_value(&keys::charter_domain_key(domain_id))?.is_some())
    }

    /// A page of charters, newest first, keeping those `filter` accepts.
    ///
    /// # Errors
    /// `InvalidCursor`; `Corrupt`; backend errors.
    pub fn charters_newest_first(
        &self,
        page: Paging<'_>,
        filter: impl Fn(&Charter) -> bool,
    ) -> StoreResult<Page<Charter>> {
        self.list_by_index(keys::CHARTER_TIME, page, filter)
    }

    /// A page of a charter's amendments, oldest first (UUID v7 order),
    /// keeping those `filter` accepts.
    ///
    /// # Errors
    /// `InvalidCursor`; `Corrupt`; backend errors.
    pub fn amendments_of_charter(
        &self,
        charter_id: &str,
        page: Paging<'_>,
        filter: impl Fn(&Amendment) -> bool,
    ) -> StoreResult<Page<Amendment>> {
        self.list_by_index(&keys::amendment_charter_prefix(charter_id), page, filter)
    }

    /// A page of an appellant's appeals, oldest first, keeping those `filter`
    /// accepts.
    ///
    /// # Errors
    /// `InvalidCursor`; `Corrupt`; backend errors.
    pub fn appeals_of_appellant(
        &self,
        appellant: &Did,
        page: Paging<'_>,
        filter: impl Fn(&Appeal) -> bool,
    ) -> StoreResult<Page<Appeal>> {
        self.list_by_index(&keys::appeal_appellant_prefix(appellant), page, filter)
    }

    /// The first of an appellant's appeals (oldest first) that `wanted`
    /// accepts, walking all of them if need be.
    ///
    /// # Errors
    /// `Corrupt`; backend errors.
    pub fn find_appeal_of_appellant(
        &self,
        appellant: &Did,
        wanted: impl Fn(&Appeal) -> bool,
    ) -> StoreResult<Option<Appeal>> {
        self.find_indexed(&keys::appeal_appellant_prefix(appellant), wanted)
    }

    /// A page of the revocations of one target, oldest first.
    ///
    /// # Errors
    /// `InvalidCursor`; `Corrupt`; backend errors.
    pub fn revocations_of_target(
        &self,
        target: &RevocationTarget,
        page: Paging<'_>,
    ) -> StoreResult<Page<RevocationRecord>> {
        self.list_by_index(&keys::revocation_target_prefix(target), page, |_| true)
    }

    /// The first revocation of `target` (oldest first) that `wanted`
    /// accepts, walking all of them if need be.
    ///
    /// # Errors
    /// `Corrupt`; backend errors.
    pub fn find_revocation_of_target(
        &self,
        target: &RevocationTarget,
        wanted: impl Fn(&RevocationRecord) -> bool,
    ) -> StoreResult<Option<RevocationRecord>> {
        self.find_indexed(&keys::revocation_target_prefix(target), wanted)
    }

    /// A page of the holders affiliated with `jurisdiction`, in holder-id
    /// order, only those whose affiliation there has `status` when given.
    /// Reads only the jurisdiction's membership rows, and tests the status in
    /// the row before reading a holder, so only returned holders are read.
    ///
    /// # Errors
    /// `InvalidCursor`; `Corrupt` naming a row that points to no holder or
    /// an unreadable record; backend errors.
    pub fn members_of(
        &self,
        jurisdiction: &str,
        status: Option<AffiliationStatus>,
        page: Paging<'_>,
    ) -> StoreResult<Page<CommonsHolderRecord>> {
        let wanted = status.map(keys::member_row_value);
        self.list_by_index_suffix(
            &keys::member_prefix(jurisdiction),
            page,
            |row| wanted.as_deref().is_none_or(|w| row == w),
            // The row and the record are written in one batch; this re-check
            // only matters if the holder changed between the two reads.
            |h: &CommonsHolderRecord| h.affiliation(jurisdiction).is_some_and(|a| status.is_none_or(|s| a.status == s)),
        )
    }

    /// The status name in the membership row of `holder_id` in
    /// `jurisdiction` (what [`CommonsStore::members_of`] filters on), if the
    /// row exists.
    ///
    /// # Errors
    /// Backend errors; `Corrupt` for a non-UTF-8 row.
    pub fn membership_row(&self, jurisdiction: &str, holder_id: &str) -> StoreResult<Option<String>> {
        self.index_value(&format!("{}{holder_id}", keys::member_prefix(jurisdiction)))
    }

    /// Calls `visit` with every holder whose membership row in `jurisdiction`
    /// says `status`, in holder-id order, reading the index in chunks (memory
    /// stays bounded whatever the number of members).
    ///
    /// # Errors
    /// `Corrupt` naming a row that points to no holder; backend errors; the
    /// visitor's errors.
    pub fn for_each_member<Err: From<StoreError>>(
        &self,
        jurisdiction: &str,
        status: AffiliationStatus,
        mut visit: impl FnMut(CommonsHolderRecord) -> Result<(), Err>,
    ) -> Result<(), Err> {
        let prefix = keys::member_prefix(jurisdiction);
        let wanted = keys::member_row_value(status);
        self.scan_rows(&prefix, None, WALK_CHUNK, |k, v| {
            if row_text(k, v)? == wanted {
                let holder = self.get_indexed(k, id_suffix::<CommonsHolderRecord>(k, &prefix)?)?;
                visit(holder)?;
            }
            Ok(ControlFlow::Continue(()))
        })
    }

    /// Calls `visit` with the id of every record that falls `due` at or
    /// before `now`, soonest first: expired enrollment sessions, amendments in
    /// Voting whose `closes_at` has come, revocations that may still be
    /// finalized whose appeal deadline has come. The visitor may change or
    /// delete the record (and so its row): the walk continues after the last
    /// key it saw.
    ///
    /// # Errors
    /// Backend errors; the visitor's errors.
    pub fn for_each_due<Err: From<StoreError>>(
        &self,
        due: Due,
        now: u64,
        mut visit: impl FnMut(&str) -> Result<(), Err>,
    ) -> Result<(), Err> {
        let namespace = match due {
            Due::ExpiredEnrollments => keys::ENROLLMENT_EXPIRY,
            Due::AmendmentsToClose => keys::AMENDMENT_CLOSES,
            Due::RevocationsToFinalize => keys::REVOCATION_DEADLINE,
            Due::SpentNonces => keys::SPENT_NONCE_EXPIRY,
        };
        let end = keys::due_end(namespace, now);
        self.scan_rows(namespace, None, WALK_CHUNK, |k, v| {
            if k > end.as_bytes() {
                return Ok(ControlFlow::Break(()));
            }
            visit(row_text(k, v)?)?;
            Ok(ControlFlow::Continue(()))
        })
    }

    /// The enrollment sessions still open at `now` (`expires_at` after
    /// `now`; a rejected session counts until it expires, since it is kept
    /// until then), counted up to `limit`: reads at most `limit` rows of
    /// the expiry index, never a session record. Sessions already expired
    /// but not yet swept are not counted.
    ///
    /// # Errors
    /// `Corrupt` naming an expiry row whose time is not 16 hex digits;
    /// backend errors.
    pub fn open_enrollments(&self, now: u64, limit: usize) -> StoreResult<OpenEnrollments> {
        let mut open = OpenEnrollments { count: 0, soonest_expiry: None };
        if limit == 0 {
            return Ok(open);
        }
        let start_after = keys::due_end(keys::ENROLLMENT_EXPIRY, now).into_bytes();
        self.scan_rows::<StoreError>(keys::ENROLLMENT_EXPIRY, Some(start_after), limit.min(WALK_CHUNK), |k, _| {
            if open.soonest_expiry.is_none() {
                let at = keys::timed_key_time(keys::ENROLLMENT_EXPIRY, k)
                    .ok_or_else(|| super::walk::corrupt(k, "expiry row without a 16 hex digit time"))?;
                open.soonest_expiry = Some(at);
            }
            open.count += 1;
            Ok(if open.count >= limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
        })?;
        Ok(open)
    }

    /// The first record named by the index rows under `prefix` that `wanted`
    /// accepts.
    fn find_indexed<E: Entity>(&self, prefix: &str, wanted: impl Fn(&E) -> bool) -> StoreResult<Option<E>> {
        let mut found = None;
        self.scan_rows::<StoreError>(prefix, None, WALK_CHUNK, |k, v| {
            let record: E = self.get_indexed(k, row_text(k, v)?)?;
            if wanted(&record) {
                found = Some(record);
                return Ok(ControlFlow::Break(()));
            }
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(found)
    }
}
