//! [`CommonsStore<S>`]: the commons' records on top of any
//! [`CommonsStoreBackend`]: the key layout (`keys.rs`, private to this
//! module), JSON codec, per-entity LRU caches, index rows, typed lookups and
//! walks (`lookups.rs`) and paged lists (`walk.rs`).
//!
//! **Invariants:** this module owns every key: callers ask for records by
//! id, DID, domain, parent or due time, never by a key they formatted. A
//! record and its index rows change in one atomic batch ([`Changes`]);
//! stale index rows of the old version are deleted in that same batch.
//! Caches are filled only after the backend write succeeded. A record that
//! fails to decode is an error naming its key, in `get` and in lists;
//! nothing is skipped silently. Records read back for `get`, lists and
//! sweeps are decoded trusting what was validated when they were written
//! (`decode_stored`: DIDs are checked for their shape, not their points);
//! `verify` decodes in full (`decode`). Every engine access for I/O goes
//! through `engine()`, which refuses in cache-only mode (`cache.rs`). This
//! module knows nothing of HTTP.

mod cache;
mod keys;
mod lookups;
mod transfer;
mod verify;
mod walk;

use std::collections::BTreeSet;
use std::path::Path;

use crate::backend::{store_folder, BackendError, CommonsStoreBackend, OpenBackend, StoreConfig, WriteBatch};
use crate::model::amendment::Amendment;
use crate::model::anchor::PersonhoodAnchor;
use crate::model::appeal::Appeal;
use crate::model::charter::Charter;
use crate::model::did::trusted_decode;
use crate::model::enrollment::EnrollmentSession;
use crate::model::holder::CommonsHolderRecord;
use crate::model::replay::SpentNonce;
use crate::model::revocation::RevocationRecord;
use crate::model::steward::StewardRecord;
use cache::{check_io, RecordCache};

pub(crate) use cache::{cache_only, in_cache_only, refuse_io};

pub use keys::{Entity, SCHEMA_VERSION};
pub use lookups::{Due, OpenEnrollments};
pub use transfer::{ExportFile, TransferError};
pub use verify::{Problem, VerifyReport};
pub use walk::{Paging, MAX_ROWS_PER_PAGE_SCAN};

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
    /// A read run in cache-only mode ([`CommonsManager::cached`]) needed the
    /// engine or a record lock. Only seen inside such a read, whose result is
    /// then dropped and the read run again normally; no other call returns
    /// it.
    ///
    /// [`CommonsManager::cached`]: crate::CommonsManager::cached
    #[error("a cache-only read needed the engine")]
    NeedsEngine,
    /// A list cursor that this store did not hand out (HTTP 400).
    #[error("invalid cursor {cursor:?}")]
    InvalidCursor {
        /// The refused cursor (first 120 characters).
        cursor: String,
    },
}

impl StoreError {
    /// Whether the store cannot serve now for a reason that is not the
    /// request's (stopped after a failed write, locked, unreachable, out of
    /// disk space): the caller may retry later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Backend(b) if b.is_unavailable())
    }

    /// Whether another writer changed a record this change was computed
    /// from (nothing was written): read again and redo it.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Backend(b) if b.is_conflict())
    }

    /// Whether the disk is full (the store has stopped until a restart with
    /// space freed).
    pub fn is_out_of_space(&self) -> bool {
        matches!(self, Self::Backend(b) if b.is_out_of_space())
    }
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
    pub(crate) spent_nonces: RecordCache<SpentNonce>,
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
            spent_nonces: RecordCache::new(capacity),
        }
    }

    /// Empties every cache.
    fn clear(&self) {
        self.anchors.clear();
        self.holders.clear();
        self.charters.clear();
        self.stewards.clear();
        self.enrollments.clear();
        self.amendments.clear();
        self.appeals.clear();
        self.revocations.clear();
        self.spent_nonces.clear();
    }
}

type CacheUpdate = Box<dyn FnOnce(&Caches) + Send>;

/// A set of record writes committed as ONE atomic batch by
/// [`CommonsStore::commit`], with their index rows and cache updates.
///
/// Every write carries its precondition (see [`crate::backend::Precondition`]),
/// so a change computed from a version that another writer (another
/// thread, or another gateway on a shared database) has since replaced is
/// refused whole with a conflict instead of overwriting it: an update or a
/// delete expects the record's row to still hold the exact bytes of the
/// version read (`old`); a creation expects the record's key to be absent,
/// which with deterministic ids (anchor and steward from the DID, charter
/// from the domain) makes uniqueness hold across processes. Record rows hold
/// the record's canonical JSON encoding, so the bytes of the version read
/// are its encoding; `verify` reports a row that is not.
#[derive(Default)]
pub struct Changes {
    batch: WriteBatch,
    after: Vec<CacheUpdate>,
    /// Record keys that already carry a precondition: the first write of a
    /// record in a set states what the store must hold; later writes of the
    /// same record in the same set build on it.
    expected: BTreeSet<String>,
}

/// The canonical encoding of a record: the bytes its row holds.
pub(crate) fn encode<E: Entity>(record: &E) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(record)
        .map_err(|e| StoreError::Corrupt { key: E::key_of(record.id()), reason: format!("cannot encode: {e}") })
}

/// Decodes a record row in full, as from outside: every DID's point is
/// checked again. For `verify` (and through it `import`), which look for
/// damage.
pub(crate) fn decode<E: Entity>(key: &[u8], bytes: &[u8]) -> StoreResult<E> {
    serde_json::from_slice(bytes).map_err(|e| corrupt::<E>(key, &e))
}

/// Decodes a record row this store wrote, trusting what was validated when
/// it was written (`docs/DOMAIN.md`, decision 36): a DID's shape is checked,
/// its point is not (see [`trusted_decode`]). For reads and lists; a row
/// that does not decode is still `Corrupt`.
pub(crate) fn decode_stored<E: Entity>(key: &[u8], bytes: &[u8]) -> StoreResult<E> {
    trusted_decode(|| serde_json::from_slice(bytes)).map_err(|e| corrupt::<E>(key, &e))
}

fn corrupt<E: Entity>(key: &[u8], e: &serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: format!("cannot decode {}: {e}", E::NAME),
    }
}

impl Changes {
    /// No change yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `new` (replacing `old`, the version read before, if any): the
    /// record row, its current index rows, and deletes of `old`'s index rows
    /// that `new` no longer has. The commit requires the row to still hold
    /// `old` (or, with `old` = `None`, no record at all), and each row of a
    /// unique index that `new` adds to be absent (`keys::UNIQUE_INDEXES`).
    ///
    /// # Errors
    /// `Corrupt` if the record cannot be encoded.
    pub fn put<E: Entity>(&mut self, new: &E, old: Option<&E>) -> StoreResult<()> {
        let key = E::key_of(new.id());
        if self.expected.insert(key.clone()) {
            match old {
                Some(old) => self.batch.expect(key.clone(), encode(old)?),
                None => self.batch.expect_absent(key.clone()),
            }
        }
        let rows = new.index_rows();
        let old_rows = old.map(|o| o.index_rows()).unwrap_or_default();
        let keep: BTreeSet<&String> = rows.iter().map(|(k, _)| k).collect();
        for (k, _) in &old_rows {
            if !keep.contains(k) {
                self.batch.delete(k.clone());
            }
        }
        self.batch.put(key, encode(new)?);
        for (k, v) in rows {
            let added = !old_rows.iter().any(|(o, _)| *o == k);
            if added && keys::UNIQUE_INDEXES.iter().any(|ns| k.starts_with(ns)) && self.expected.insert(k.clone()) {
                self.batch.expect_absent(k.clone());
            }
            self.batch.put(k, v);
        }
        let (id, record) = (new.id().to_string(), new.clone());
        self.after.push(Box::new(move |c| E::cache(c).written(&id, Some(record))));
        Ok(())
    }

    /// Deletes `old` and all its index rows. The commit requires the row to
    /// still hold `old`.
    ///
    /// # Errors
    /// `Corrupt` if the record cannot be encoded.
    pub fn delete<E: Entity>(&mut self, old: &E) -> StoreResult<()> {
        let key = E::key_of(old.id());
        if self.expected.insert(key.clone()) {
            self.batch.expect(key.clone(), encode(old)?);
        }
        self.batch.delete(key);
        for (k, _) in old.index_rows() {
            self.batch.delete(k);
        }
        let id = old.id().to_string();
        self.after.push(Box::new(move |c| E::cache(c).written(&id, None)));
        Ok(())
    }

    /// Requires `record`'s row to still hold exactly this version when the
    /// set commits, without writing it: for a rule checked against a record
    /// this change reads but does not change, so that a concurrent change of
    /// that record (in another gateway) makes the commit conflict.
    ///
    /// # Errors
    /// `Corrupt` if the record cannot be encoded.
    pub fn expect_unchanged<E: Entity>(&mut self, record: &E) -> StoreResult<()> {
        let key = E::key_of(record.id());
        if self.expected.insert(key.clone()) {
            self.batch.expect(key, encode(record)?);
        }
        Ok(())
    }

    /// Number of backend operations so far (preconditions not counted).
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

impl<S: OpenBackend> CommonsStore<S> {
    /// Opens (or creates) the store of engine `S` in `data_dir`
    /// (`<data_dir>/commons.<engine>`), creating `data_dir` if needed.
    ///
    /// # Errors
    /// `Backend(ForeignStore)` when another engine's store is there,
    /// `Backend(DataDirIsStore)` when `data_dir` is a store folder itself;
    /// `Backend(Locked)` when another process holds it; `Backend(Io)` when
    /// the directory cannot be created; `SchemaTooNew`; engine errors for an
    /// unreadable store (files are never modified to "repair" them).
    pub fn open(data_dir: &Path, config: &StoreConfig) -> StoreResult<Self> {
        let folder = store_folder::<S>(data_dir)?;
        std::fs::create_dir_all(data_dir)
            .map_err(|source| BackendError::Io { path: data_dir.to_path_buf(), source })?;
        Self::new(S::open(&folder, config)?, config)
    }

    /// A throw-away copy of the existing store of engine `S` in `data_dir`
    /// (see [`OpenBackend::open_copy`]), for tools that must not change a
    /// byte of it: `verify`, `export`.
    ///
    /// # Errors
    /// As [`CommonsStore::open`]; `Backend(Damaged)` naming the damaged file
    /// or the lost commits when the store fails its checks.
    pub fn open_copy(data_dir: &Path, config: &StoreConfig) -> StoreResult<Self> {
        let folder = store_folder::<S>(data_dir)?;
        Self::new(S::open_copy(&folder, config)?, config)
    }

    /// Connects to the store of the networked engine `S` at `url` (see
    /// [`OpenBackend::connect`]).
    ///
    /// # Errors
    /// `Backend(WrongLocation)` for an engine that lives in a folder;
    /// `Backend(Unavailable)` when the server cannot be reached;
    /// `SchemaTooNew`; engine errors.
    pub fn connect(url: &str, config: &StoreConfig) -> StoreResult<Self> {
        Self::new(S::connect(url, config)?, config)
    }

    /// As [`CommonsStore::connect`], for a store that must already exist
    /// (see [`OpenBackend::connect_existing`]).
    ///
    /// # Errors
    /// As [`CommonsStore::connect`]; `Backend(WrongLocation)` when the
    /// database holds no store.
    pub fn connect_existing(url: &str, config: &StoreConfig) -> StoreResult<Self> {
        let backend = S::connect_existing(url, config)?;
        // A store always holds its schema-version row (written when it was
        // made); without one there is no store here, and nothing is written.
        if backend.get(keys::SCHEMA_VERSION_KEY.as_bytes())?.is_none() {
            return Err(BackendError::WrongLocation {
                engine: S::NAME,
                message: format!(
                    "no commons store in the database {} (its table holds no {} row; nothing was written); check \
                     --database-url",
                    S::describe_url(url)?,
                    keys::SCHEMA_VERSION_KEY
                ),
            }
            .into());
        }
        Self::new(backend, config)
    }

    /// A store in a temporary directory (removed on drop), or in memory.
    ///
    /// # Errors
    /// As [`CommonsStore::open`].
    pub fn temporary(config: &StoreConfig) -> StoreResult<Self> {
        Self::new(S::temporary(config)?, config)
    }
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
        // Another process writing a shared engine would make any cached
        // record stale without this process knowing: no cache there.
        let capacity = if backend.shared() { 0 } else { config.cache_records };
        Ok(Self { backend, caches: Caches::new(capacity) })
    }

    /// The backend.
    pub fn backend(&self) -> &S {
        &self.backend
    }

    /// Empties every record cache (when another writer shares the store).
    pub fn clear_caches(&self) {
        self.caches.clear();
    }

    /// Whether reads may be answered from record caches: false over a shared
    /// engine and with `cache_records: 0`.
    pub fn caches_records(&self) -> bool {
        self.caches.anchors.enabled()
    }

    /// The engine, for a step that does I/O; refused in cache-only mode (see
    /// `cache.rs`), so no I/O runs there.
    fn engine(&self) -> StoreResult<&S> {
        check_io()?;
        Ok(&self.backend)
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
        if self.backend.shared() {
            check_io()?;
        }
        Ok(self.backend.check_available()?)
    }

    /// The record with `id`, from the cache or the store. `id` must already
    /// be validated. A stopped backend answers even for a cached record (a
    /// hit asks the backend whether it still serves; a miss asks through its
    /// read), so a stopped store serves nothing; over a shared engine there
    /// is no cache, so a read is one query.
    ///
    /// # Errors
    /// `Corrupt` naming the key when it does not decode; backend errors.
    pub fn get<E: Entity>(&self, id: &str) -> StoreResult<Option<E>> {
        let cache = E::cache(&self.caches);
        let ticket = match cache.get(id) {
            Ok(hit) => {
                self.backend.check_available()?;
                return Ok(Some(hit));
            }
            Err(ticket) => ticket,
        };
        let key = E::key_of(id);
        let Some(raw) = self.engine()?.get(key.as_bytes())? else { return Ok(None) };
        let record: E = decode_stored(key.as_bytes(), &raw)?;
        cache.fill(ticket, id, &record);
        Ok(Some(record))
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
        self.engine()?.apply(changes.batch)?;
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
        Ok(self.engine()?.flush()?)
    }
}
