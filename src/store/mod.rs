//! [`CommonsStore<S>`]: the commons' records on top of any
//! [`CommonsStoreBackend`]: key layout ([`keys`]), JSON codec, per-entity LRU
//! caches, index rows and paged lists.
//!
//! **Invariants:** a record and its index rows change in one atomic batch
//! ([`Changes`]); stale index rows of the old version are deleted in that same
//! batch. Caches are filled only after the backend write succeeded. A record
//! that fails to decode is an error naming its key, in `get` and in lists;
//! nothing is skipped silently. This module knows nothing of HTTP.

pub mod cache;
pub mod keys;
mod members;
pub mod transfer;
pub mod verify;

use std::collections::BTreeSet;

use crate::backend::{BackendError, CommonsStoreBackend, StoreConfig, WriteBatch};
use crate::model::amendment::Amendment;
use crate::model::anchor::PersonhoodAnchor;
use crate::model::appeal::Appeal;
use crate::model::charter::Charter;
use crate::model::enrollment::EnrollmentSession;
use crate::model::holder::CommonsHolderRecord;
use crate::model::revocation::RevocationRecord;
use crate::model::steward::StewardRecord;
use cache::RecordCache;
pub use keys::{Entity, SCHEMA_VERSION};

/// Errors of the store layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The engine failed; see [`BackendError`] for what to do.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A stored value (or index row) is unreadable or points to nothing.
    /// Nothing was skipped; run `commons-gateway verify` and restore the key
    /// from an export or backup.
    #[error("corrupt store row at key {key:?}: {reason}")]
    Corrupt {
        /// The offending key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The store was written by a newer binary. Upgrade this binary; never
    /// open the store with an older one.
    #[error("store schema version {found} is newer than this binary supports ({supported}); upgrade commons-gateway")]
    SchemaTooNew {
        /// Version found in the store.
        found: u32,
        /// Version this binary knows.
        supported: u32,
    },
    /// A list cursor that this store did not hand out (HTTP 400).
    #[error("invalid cursor {cursor:?}")]
    InvalidCursor {
        /// The refused cursor (first 120 characters).
        cursor: String,
    },
}

/// Result type of the store layer.
pub type StoreResult<T> = Result<T, StoreError>;

/// One page of a list: the items and, when more may follow, the opaque cursor
/// of the next page.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Page<T> {
    /// At most `limit` items, in list order.
    pub items: Vec<T>,
    /// Pass back as `cursor` to continue; `None` at the end.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Maps the items, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

/// Most rows one list call examines, so that a filter matching few records
/// cannot turn one request into a scan of the whole namespace. A page may hold
/// fewer than `limit` items while `next_cursor` is set.
pub const MAX_ROWS_PER_PAGE_SCAN: usize = 1_000;

/// One cache per entity.
pub struct Caches {
    pub(crate) anchors: RecordCache<PersonhoodAnchor>,
    pub(crate) holders: RecordCache<CommonsHolderRecord>,
    pub(crate) charters: RecordCache<Charter>,
    pub(crate) stewards: RecordCache<StewardRecord>,
    pub(crate) enrollments: RecordCache<EnrollmentSession>,
    pub(crate) amendments: RecordCache<Amendment>,
    pub(crate) appeals: RecordCache<Appeal>,
    pub(crate) revocations: RecordCache<RevocationRecord>,
}

impl Caches {
    fn new(capacity: usize) -> Self {
        Self {
            anchors: RecordCache::new(capacity),
            holders: RecordCache::new(capacity),
            charters: RecordCache::new(capacity),
            stewards: RecordCache::new(capacity),
            enrollments: RecordCache::new(capacity),
            amendments: RecordCache::new(capacity),
            appeals: RecordCache::new(capacity),
            revocations: RecordCache::new(capacity),
        }
    }

    /// Empties every cache.
    pub fn clear(&self) {
        self.anchors.clear();
        self.holders.clear();
        self.charters.clear();
        self.stewards.clear();
        self.enrollments.clear();
        self.amendments.clear();
        self.appeals.clear();
        self.revocations.clear();
    }
}

type CacheUpdate = Box<dyn FnOnce(&Caches) + Send>;

/// A set of record writes committed as ONE atomic batch by
/// [`CommonsStore::commit`], with their index rows and cache updates.
#[derive(Default)]
pub struct Changes {
    batch: WriteBatch,
    after: Vec<CacheUpdate>,
}

fn encode<E: Entity>(record: &E) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(record)
        .map_err(|e| StoreError::Corrupt { key: E::key_of(record.id()), reason: format!("cannot encode: {e}") })
}

pub(crate) fn decode<E: Entity>(key: &[u8], bytes: &[u8]) -> StoreResult<E> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: format!("cannot decode {}: {e}", E::NAME),
    })
}

impl Changes {
    /// No change yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `new` (replacing `old`, the version read before, if any): the
    /// record row, its current index rows, and deletes of `old`'s index rows
    /// that `new` no longer has.
    ///
    /// # Errors
    /// `Corrupt` if the record cannot be encoded.
    pub fn put<E: Entity>(&mut self, new: &E, old: Option<&E>) -> StoreResult<()> {
        let rows = new.index_rows();
        if let Some(old) = old {
            let keep: BTreeSet<&String> = rows.iter().map(|(k, _)| k).collect();
            for (k, _) in old.index_rows() {
                if !keep.contains(&k) {
                    self.batch.delete(k);
                }
            }
        }
        self.batch.put(E::key_of(new.id()), encode(new)?);
        for (k, v) in rows {
            self.batch.put(k, v);
        }
        let (id, record) = (new.id().to_string(), new.clone());
        self.after.push(Box::new(move |c| E::cache(c).written(&id, Some(record))));
        Ok(())
    }

    /// Deletes `old` and all its index rows.
    pub fn delete<E: Entity>(&mut self, old: &E) {
        self.batch.delete(E::key_of(old.id()));
        for (k, _) in old.index_rows() {
            self.batch.delete(k);
        }
        let id = old.id().to_string();
        self.after.push(Box::new(move |c| E::cache(c).written(&id, None)));
    }

    /// Number of backend operations so far.
    pub fn len(&self) -> usize {
        self.batch.len()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }
}

/// The commons' records over a backend `S`. See the module docs.
pub struct CommonsStore<S> {
    backend: S,
    caches: Caches,
}

impl<S: CommonsStoreBackend> CommonsStore<S> {
    /// Wraps an open backend: writes the schema-version row on first open and
    /// refuses a store written by a newer schema.
    ///
    /// # Errors
    /// `SchemaTooNew`; `Corrupt` for an unreadable version row; backend errors.
    pub fn new(backend: S, config: &StoreConfig) -> StoreResult<Self> {
        match backend.get(keys::SCHEMA_VERSION_KEY.as_bytes())? {
            None => backend.put(keys::SCHEMA_VERSION_KEY.as_bytes(), SCHEMA_VERSION.to_string().as_bytes())?,
            Some(raw) => {
                let found: u32 = std::str::from_utf8(&raw).ok().and_then(|s| s.parse().ok()).ok_or_else(|| {
                    StoreError::Corrupt { key: keys::SCHEMA_VERSION_KEY.into(), reason: "not a decimal version".into() }
                })?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::SchemaTooNew { found, supported: SCHEMA_VERSION });
                }
            }
        }
        Ok(Self { backend, caches: Caches::new(config.cache_records) })
    }

    /// The backend.
    pub fn backend(&self) -> &S {
        &self.backend
    }

    /// The caches (to clear them when another writer shares the store).
    pub fn caches(&self) -> &Caches {
        &self.caches
    }

    /// The schema version recorded in the store.
    pub fn schema_version(&self) -> u32 {
        SCHEMA_VERSION
    }

    /// `Ok` while the backend serves requests.
    ///
    /// # Errors
    /// `Backend(Unavailable)` once the backend stopped after a failed write
    /// (see [`CommonsStoreBackend::apply`]).
    pub fn check_available(&self) -> StoreResult<()> {
        Ok(self.backend.check_available()?)
    }

    /// The record with `id`, from the cache or the store. `id` must already
    /// be validated. A stopped backend answers even for a cached record, so a
    /// stopped store serves nothing.
    ///
    /// # Errors
    /// `Corrupt` naming the key when it does not decode; backend errors.
    pub fn get<E: Entity>(&self, id: &str) -> StoreResult<Option<E>> {
        self.backend.check_available()?;
        let cache = E::cache(&self.caches);
        let ticket = match cache.get(id) {
            Ok(hit) => return Ok(Some(hit)),
            Err(ticket) => ticket,
        };
        let key = E::key_of(id);
        let Some(raw) = self.backend.get(key.as_bytes())? else { return Ok(None) };
        let record: E = decode(key.as_bytes(), &raw)?;
        cache.fill(ticket, id, &record);
        Ok(Some(record))
    }

    /// The value of an index row (a record id), if present.
    ///
    /// # Errors
    /// Backend errors; `Corrupt` for a non-UTF-8 value.
    pub fn index_value(&self, index_key: &str) -> StoreResult<Option<String>> {
        match self.backend.get(index_key.as_bytes())? {
            None => Ok(None),
            Some(raw) => String::from_utf8(raw)
                .map(Some)
                .map_err(|_| StoreError::Corrupt { key: index_key.into(), reason: "index value is not UTF-8".into() }),
        }
    }

    /// The record an index row points to.
    ///
    /// # Errors
    /// `Corrupt` naming the index key when the row points to no record.
    pub fn get_by_index<E: Entity>(&self, index_key: &str) -> StoreResult<Option<E>> {
        let Some(id) = self.index_value(index_key)? else { return Ok(None) };
        match self.get::<E>(&id)? {
            Some(r) => Ok(Some(r)),
            None => Err(StoreError::Corrupt {
                key: index_key.into(),
                reason: format!("index row points to missing {} {id}", E::NAME),
            }),
        }
    }

    fn start_after(prefix: &str, cursor: Option<&str>) -> StoreResult<Option<Vec<u8>>> {
        let Some(c) = cursor else { return Ok(None) };
        let bad = || StoreError::InvalidCursor { cursor: c.chars().take(120).collect() };
        let suffix = hex::decode(c).map_err(|_| bad())?;
        if suffix.is_empty() {
            return Err(bad());
        }
        let mut key = prefix.as_bytes().to_vec();
        key.extend_from_slice(&suffix);
        Ok(Some(key))
    }

    /// Walks the rows under `prefix` from `cursor`, calling `take` on each
    /// until it has accepted `limit` or [`MAX_ROWS_PER_PAGE_SCAN`] rows were
    /// examined. Returns the next cursor.
    fn walk(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
        mut take: impl FnMut(&[u8], &[u8]) -> StoreResult<bool>,
    ) -> StoreResult<Option<String>> {
        let mut after = Self::start_after(prefix, cursor)?;
        let (mut taken, mut examined) = (0usize, 0usize);
        let chunk = limit.clamp(16, 256);
        loop {
            let rows = self.backend.scan_from(prefix.as_bytes(), after.as_deref(), chunk)?;
            let exhausted = rows.len() < chunk;
            for (i, (k, v)) in rows.iter().enumerate() {
                examined += 1;
                after = Some(k.clone());
                if take(k, v)? {
                    taken += 1;
                }
                if taken >= limit || examined >= MAX_ROWS_PER_PAGE_SCAN {
                    // More rows may follow: hand out a cursor at this row.
                    let is_last = exhausted && i + 1 == rows.len();
                    return Ok(if is_last { None } else { Some(hex::encode(&k[prefix.len()..])) });
                }
            }
            if exhausted {
                return Ok(None);
            }
        }
    }

    /// Walks `prefix` like [`Self::walk`], turning each row into a record with
    /// `load` and keeping those `filter` accepts.
    fn collect<E>(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
        load: impl Fn(&[u8], &[u8]) -> StoreResult<E>,
        filter: impl Fn(&E) -> bool,
    ) -> StoreResult<Page<E>> {
        let mut items = Vec::new();
        let next_cursor = self.walk(prefix, cursor, limit, |k, v| {
            let record = load(k, v)?;
            let keep = filter(&record);
            if keep {
                items.push(record);
            }
            Ok(keep)
        })?;
        Ok(Page { items, next_cursor })
    }

    /// A page of records of `E` in id order, keeping those `filter` accepts.
    ///
    /// # Errors
    /// `InvalidCursor`; `Corrupt` naming the key of a record that does not
    /// decode (never skipped); backend errors.
    pub fn list<E: Entity>(
        &self,
        cursor: Option<&str>,
        limit: usize,
        filter: impl Fn(&E) -> bool,
    ) -> StoreResult<Page<E>> {
        self.collect(E::PREFIX, cursor, limit, |k, v| decode(k, v), filter)
    }

    /// A page of the records that the index rows under `index_prefix` point
    /// to, in index order, keeping those `filter` accepts.
    ///
    /// # Errors
    /// `InvalidCursor`; `Corrupt` naming an index row that points to nothing or
    /// a record that does not decode; backend errors.
    pub fn list_by_index<E: Entity>(
        &self,
        index_prefix: &str,
        cursor: Option<&str>,
        limit: usize,
        filter: impl Fn(&E) -> bool,
    ) -> StoreResult<Page<E>> {
        let load = |k: &[u8], v: &[u8]| {
            let key = String::from_utf8_lossy(k);
            let id = std::str::from_utf8(v)
                .map_err(|_| StoreError::Corrupt { key: key.to_string(), reason: "index value is not UTF-8".into() })?;
            self.get(id)?.ok_or_else(|| StoreError::Corrupt {
                key: key.to_string(),
                reason: format!("index row points to missing {} {id}", E::NAME),
            })
        };
        self.collect(index_prefix, cursor, limit, load, filter)
    }

    /// Raw index rows `(key, value)` under `prefix` whose key sorts before
    /// `end` (exclusive), at most `limit`.
    ///
    /// # Errors
    /// Backend errors.
    pub fn index_rows_before(&self, prefix: &str, end: &str, limit: usize) -> StoreResult<Vec<(String, String)>> {
        let rows = self.backend.scan_from(prefix.as_bytes(), None, limit)?;
        Ok(rows
            .into_iter()
            .map(|(k, v)| (String::from_utf8_lossy(&k).into_owned(), String::from_utf8_lossy(&v).into_owned()))
            .take_while(|(k, _)| k.as_str() < end)
            .collect())
    }

    /// Raw index rows `(key, value)` under `prefix`, in key order, that sort
    /// after the full key `start_after` (`None`: from the first row), at most
    /// `limit`. Walks that must not revisit a row (sweeps, counts) page with
    /// the last key they saw.
    ///
    /// # Errors
    /// Backend errors.
    pub fn index_rows_after(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<(String, String)>> {
        let rows = self.backend.scan_from(prefix.as_bytes(), start_after.map(str::as_bytes), limit)?;
        Ok(rows
            .into_iter()
            .map(|(k, v)| (String::from_utf8_lossy(&k).into_owned(), String::from_utf8_lossy(&v).into_owned()))
            .collect())
    }

    /// Applies `changes` as one atomic backend batch, then updates the caches.
    /// With `Durability::Sync`, the change is durable when this returns `Ok`.
    ///
    /// # Errors
    /// Backend errors; on error nothing was written and no cache changed.
    pub fn commit(&self, changes: Changes) -> StoreResult<()> {
        if changes.batch.is_empty() {
            return Ok(());
        }
        self.backend.apply(changes.batch)?;
        for update in changes.after {
            update(&self.caches);
        }
        Ok(())
    }

    /// Makes every committed change durable.
    ///
    /// # Errors
    /// Backend errors.
    pub fn flush(&self) -> StoreResult<()> {
        Ok(self.backend.flush()?)
    }
}
