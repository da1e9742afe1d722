//! Storage backends: the [`CommonsStoreBackend`] contract, the atomic
//! [`WriteBatch`], and the compile-time choice of engine, [`CommonsBackend`].
//!
//! **Invariant:** this module tree is the only place in the crate that names a
//! concrete engine (sled, fjall, postgres). Everything above it is generic over
//! [`CommonsStoreBackend`] and uses the [`CommonsBackend`] alias by default, so
//! switching engine changes no line outside `src/backend/`.
//!
//! Engine precedence (features are additive): `postgres-store` >
//! `fjall-store` > `sled-store` > in-memory. [`BACKEND_NAME`] says which one this build chose.

use std::path::{Path, PathBuf};
use std::sync::Arc;

#[cfg_attr(not(any(feature = "sled-store", feature = "fjall-store")), allow(dead_code))]
mod fail_stop;
#[cfg(feature = "fjall-store")]
mod fjall;
mod group_sync;
#[cfg(any(feature = "sled-store", feature = "fjall-store"))]
mod integrity;
mod memory;
#[cfg(feature = "postgres-store")]
mod postgres;
#[cfg(feature = "sled-store")]
mod sled;

#[cfg(feature = "fjall-store")]
pub use self::fjall::FjallCommonsStore;
#[cfg(feature = "postgres-store")]
pub use self::postgres::{schema_url, PostgresCommonsStore, TEST_URL_VAR};
#[cfg(feature = "sled-store")]
pub use self::sled::SledCommonsStore;
pub use group_sync::GroupSync;
#[cfg(any(feature = "sled-store", feature = "fjall-store"))]
pub use integrity::{SEAL_FILE, WITNESS_FILE};
pub use memory::InMemoryCommonsStore;

cfg_if::cfg_if! {
    if #[cfg(feature = "postgres-store")] {
        /// The engine this build stores the commons in (chosen by Cargo features,
        /// precedence `postgres-store` > `fjall-store` > `sled-store` > in-memory).
        pub type CommonsBackend = PostgresCommonsStore;
    } else if #[cfg(feature = "fjall-store")] {
        /// The engine this build stores the commons in (chosen by Cargo features,
        /// precedence `postgres-store` > `fjall-store` > `sled-store` > in-memory).
        pub type CommonsBackend = FjallCommonsStore;
    } else if #[cfg(feature = "sled-store")] {
        /// The engine this build stores the commons in (chosen by Cargo features,
        /// precedence `postgres-store` > `fjall-store` > `sled-store` > in-memory).
        pub type CommonsBackend = SledCommonsStore;
    } else {
        /// The engine this build stores the commons in (chosen by Cargo features,
        /// precedence `postgres-store` > `fjall-store` > `sled-store` > in-memory).
        pub type CommonsBackend = InMemoryCommonsStore;
    }
}

/// Short name of the engine behind [`CommonsBackend`]: `"memory"`, `"sled"`,
/// `"fjall"` or `"postgres"`. Logged at start, reported by `/v1/health` and `commons-gateway info`.
pub const BACKEND_NAME: &str = <CommonsBackend as OpenBackend>::NAME;

/// Every persistent engine this crate knows, as `(engine name, store folder
/// name)`, whether or not it is compiled into this build. The server uses it to
/// refuse a data directory that holds another engine's store.
pub const KNOWN_STORE_FOLDERS: &[(&str, &str)] = &[("sled", "commons.sled"), ("fjall", "commons.fjall")];

/// The one key no caller may use: the engines that keep their store in a
/// folder write the commit sequence number under it, in every batch (see
/// `backend::integrity`, built with `fjall-store` or `sled-store`). Every
/// backend refuses it as [`BackendError::InvalidKey`], and scans never
/// return it.
pub const COMMIT_SEQUENCE_KEY: &[u8] = b"\x00commons/commit_sequence";

/// Longest key a backend accepts, in bytes. The store's own keys are well under
/// 300 bytes; fjall panics on keys over 65,535 bytes, so every backend refuses
/// long keys up front with [`BackendError::InvalidKey`].
pub const MAX_KEY_LEN: usize = 4096;

/// Errors of the storage layer. Each variant says what the caller should do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// Another process (or another handle in this process) holds the store.
    /// Stop the other process, or point this one at another data directory.
    #[error("store at {} is locked by another process (or another open handle); stop it or use another data directory", path.display())]
    Locked {
        /// The store's folder.
        path: PathBuf,
    },
    /// A stored value could not be read back as what it should be.
    /// Do not retry; inspect the store (`commons-gateway verify`) and restore
    /// from an export or backup.
    #[error("{}", corrupt_text(.key, .reason))]
    Corrupt {
        /// The key whose value is corrupt, lossily decoded as UTF-8.
        key: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The store's files are damaged: a check made before the engine opened
    /// them found a file changed since the store was last closed, commits
    /// acknowledged as durable missing, or records that do not read back
    /// (see `backend::integrity`). Nothing was opened and no file was
    /// changed. Do not retry: restore the store from a backup or an export,
    /// and keep the damaged folder as it is for inspection.
    #[error("{reason}")]
    Damaged {
        /// The store's folder.
        store: PathBuf,
        /// What was found, naming the damaged files and what may be lost.
        reason: String,
    },
    /// The key is empty or longer than [`MAX_KEY_LEN`]. Nothing was written;
    /// this is a bug in the caller's key construction.
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The first 64 bytes of the key, lossily decoded.
        key: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// An operating-system I/O error on the store's files. Check disk space and
    /// permissions of `path`.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The engine reported an error of its own (the message is the engine's).
    /// The write, if any, did not happen; a persistent failure needs an operator.
    #[error("{engine} engine error: {message}")]
    Engine {
        /// `"sled"`, `"fjall"` or `"memory"`.
        engine: &'static str,
        /// The engine's own description.
        message: String,
    },
    /// The data directory holds another engine's store (a build with another
    /// engine wrote it). Run the build that wrote it, or move the data with
    /// `export` from that build and `import` into this one.
    #[error("data directory {} holds a {found} store ({}), but this build uses the {built} engine; run a {found} build, or export with it and import into this one", data_dir.display(), data_dir.join(folder).display())]
    ForeignStore {
        /// The data directory.
        data_dir: PathBuf,
        /// The engine whose store was found.
        found: &'static str,
        /// Its folder name.
        folder: &'static str,
        /// The engine of this build.
        built: &'static str,
    },
    /// The data directory given is a store folder itself (or inside one).
    /// Pass the directory that contains `commons.<engine>`.
    #[error("--data-dir {} is (inside) the {engine} store folder {}; pass the directory that contains {folder}", data_dir.display(), store.display())]
    DataDirIsStore {
        /// The directory given.
        data_dir: PathBuf,
        /// The store folder it is or lies in.
        store: PathBuf,
        /// That store's engine.
        engine: &'static str,
        /// Its folder name.
        folder: &'static str,
    },
    /// A precondition of the batch did not hold (see [`Precondition`]):
    /// another writer (another thread, or another gateway on a shared
    /// database) changed `key` since the caller read it. Nothing was written.
    /// Read again and redo the change; the manager does so itself a bounded
    /// number of times.
    #[error("conflict at key {key:?}: it changed since it was read; nothing was written, read again and retry")]
    Conflict {
        /// The first key whose precondition failed, lossily decoded; or,
        /// when a database server aborted the transaction instead
        /// (serialization failure, deadlock, one key created twice), the
        /// server's reason in parentheses.
        key: String,
    },
    /// The store was given a location its engine cannot use: a data
    /// directory for the PostgreSQL engine (pass a database URL), or a
    /// database URL for an engine that lives in a folder (pass a data
    /// directory).
    #[error("{message}")]
    WrongLocation {
        /// This build's engine.
        engine: &'static str,
        /// What was wrong and what to pass instead.
        message: String,
    },
    /// The store cannot be reached right now (a networked engine, or an engine
    /// that refuses writes after an earlier failure). Retry later; gateways
    /// answer 503.
    #[error("store unavailable: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
}

/// Whether an I/O error of this kind is the file system refusing a write for
/// lack of space (`ENOSPC`, `EDQUOT`, or `EFBIG` past a file-size limit).
pub(crate) fn is_out_of_space(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::{FileTooLarge, QuotaExceeded, StorageFull};
    matches!(kind, StorageFull | QuotaExceeded | FileTooLarge)
}

/// The message of [`BackendError::Corrupt`]: the key when there is one.
fn corrupt_text(key: &str, reason: &str) -> String {
    if key.is_empty() {
        format!("corrupt data: {reason}")
    } else {
        format!("corrupt value at key {key:?}: {reason}")
    }
}

impl BackendError {
    /// Whether this is the file system refusing a write for lack of space
    /// (`ENOSPC`, `EDQUOT`, or `EFBIG` past a file-size limit): a condition of
    /// the machine, not of the request, so gateways answer it 503. The store
    /// that met it has stopped (see [`CommonsStoreBackend::apply`]) until the
    /// process restarts with space freed.
    pub fn is_out_of_space(&self) -> bool {
        matches!(self, BackendError::Io { source, .. } if is_out_of_space(source.kind()))
    }

    /// Whether a precondition of the batch failed (another writer came
    /// first): read again and redo the change.
    pub fn is_conflict(&self) -> bool {
        matches!(self, BackendError::Conflict { .. })
    }

    /// Whether the store cannot serve now for a reason that is not the
    /// request's: stopped after a failed write, unreachable, locked by
    /// another process, out of disk space, or a conflict with concurrent
    /// writers that the caller did not (or could no longer) retry. Gateways
    /// answer 503 and the caller may retry later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, BackendError::Unavailable { .. } | BackendError::Locked { .. } | BackendError::Conflict { .. })
            || self.is_out_of_space()
    }
}

/// Result type of the backend layer.
pub type BackendResult<T> = Result<T, BackendError>;

/// Rows of a scan: `(key, value)` pairs in key order.
pub type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// Checks a key against the rules every backend shares: not empty, at most
/// [`MAX_KEY_LEN`] bytes.
///
/// # Errors
/// [`BackendError::InvalidKey`] naming the key.
pub fn validate_key(key: &[u8]) -> BackendResult<()> {
    if key.is_empty() {
        return Err(BackendError::InvalidKey { key: String::new(), reason: "key is empty" });
    }
    if key.len() > MAX_KEY_LEN {
        let shown = String::from_utf8_lossy(&key[..64]).into_owned();
        return Err(BackendError::InvalidKey { key: shown, reason: "key is longer than 4096 bytes" });
    }
    if key == COMMIT_SEQUENCE_KEY {
        let shown = String::from_utf8_lossy(key).into_owned();
        return Err(BackendError::InvalidKey { key: shown, reason: "the key is reserved for the commit sequence" });
    }
    Ok(())
}

/// What a [`WriteBatch`] requires of the store before it may be applied,
/// checked atomically with the write (under the engine's commit lock, or in
/// the same database transaction). A batch whose precondition fails changes
/// nothing and is answered [`BackendError::Conflict`].
///
/// This is how read-modify-write stays correct across processes: a writer
/// that read a record expects its key to still hold the bytes it read; a
/// writer that creates a record with a deterministic id expects the key to be
/// absent (one anchor per principal, one charter per domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// `key` holds exactly `value`.
    Equals(Vec<u8>, Vec<u8>),
    /// `key` holds no value.
    Absent(Vec<u8>),
}

impl Precondition {
    /// The key the precondition is about.
    pub fn key(&self) -> &[u8] {
        match self {
            Precondition::Equals(k, _) | Precondition::Absent(k) => k,
        }
    }

    /// Whether `current` (the key's value now, if any) satisfies it.
    pub fn holds(&self, current: Option<&[u8]>) -> bool {
        match self {
            Precondition::Equals(_, expected) => current == Some(expected.as_slice()),
            Precondition::Absent(_) => current.is_none(),
        }
    }

    /// The [`BackendError::Conflict`] naming this precondition's key.
    pub fn conflict(&self) -> BackendError {
        BackendError::Conflict { key: String::from_utf8_lossy(self.key()).into_owned() }
    }
}

/// Checks every precondition in `preconditions` with `read` (the engine's current
/// value of a key, read under its commit lock or in its transaction).
///
/// # Errors
/// [`BackendError::Conflict`] for the first precondition that fails; the
/// errors of `read`.
pub fn check_preconditions(
    preconditions: &[Precondition],
    mut read: impl FnMut(&[u8]) -> BackendResult<Option<Vec<u8>>>,
) -> BackendResult<()> {
    for pre in preconditions {
        if !pre.holds(read(pre.key())?.as_deref()) {
            return Err(pre.conflict());
        }
    }
    Ok(())
}

/// One operation of a [`WriteBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOp {
    /// Set `key` to `value`.
    Put(Vec<u8>, Vec<u8>),
    /// Remove `key` (removing a missing key is not an error).
    Delete(Vec<u8>),
}

/// An ordered list of puts and deletes applied all-or-nothing by
/// [`CommonsStoreBackend::apply`]. Later operations on the same key win.
/// A batch may carry [`Precondition`]s: it is applied only if every one holds
/// at the moment of the write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<BatchOp>,
    preconditions: Vec<Precondition>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a put.
    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::Put(key.into(), value.into()));
    }
    /// Adds a delete.
    pub fn delete(&mut self, key: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::Delete(key.into()));
    }
    /// Requires `key` to hold exactly `value` when the batch is applied.
    pub fn expect(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.preconditions.push(Precondition::Equals(key.into(), value.into()));
    }
    /// Requires `key` to hold no value when the batch is applied.
    pub fn expect_absent(&mut self, key: impl Into<Vec<u8>>) {
        self.preconditions.push(Precondition::Absent(key.into()));
    }
    /// The preconditions, in the order they were added.
    pub fn preconditions(&self) -> &[Precondition] {
        &self.preconditions
    }
    /// Replaces the precondition on `key` (if any) by "holds `value`".
    pub fn re_expect(&mut self, key: &[u8], value: Vec<u8>) {
        for pre in &mut self.preconditions {
            if pre.key() == key {
                *pre = Precondition::Equals(key.to_vec(), value.clone());
            }
        }
    }
    /// The operations, in order.
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }
    /// Consumes the batch, giving its operations in order and its
    /// preconditions.
    pub fn into_parts(self) -> (Vec<BatchOp>, Vec<Precondition>) {
        (self.ops, self.preconditions)
    }
    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    /// True when the batch holds no operation (a batch of preconditions only
    /// is not empty: applying it checks them).
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.preconditions.is_empty()
    }
    /// Checks every key of the batch with [`validate_key`]; backends call it
    /// before touching the engine so that a bad key changes nothing.
    ///
    /// # Errors
    /// [`BackendError::InvalidKey`] for the first bad key.
    pub fn validate(&self) -> BackendResult<()> {
        for op in &self.ops {
            match op {
                BatchOp::Put(k, _) | BatchOp::Delete(k) => validate_key(k)?,
            }
        }
        for pre in &self.preconditions {
            validate_key(pre.key())?;
        }
        Ok(())
    }
}

/// When a write is durable. Part of [`StoreConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// A write call that returns `Ok` has reached stable storage (fsync): it
    /// survives `kill -9` and power loss. Concurrent writers share one sync
    /// (group commit). The server's default.
    #[default]
    Sync,
    /// Writes are durable after a clean shutdown or an explicit
    /// [`CommonsStoreBackend::flush`]; a crash may lose the last moments,
    /// never half a batch.
    Buffered,
}

impl Durability {
    /// `"sync"` or `"buffered"`, as the CLI and `/v1/health` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Sync => "sync",
            Durability::Buffered => "buffered",
        }
    }
}

/// How to open a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// When writes become durable.
    pub durability: Durability,
    /// Capacity of each per-entity record cache, in records (0 turns caching off).
    pub cache_records: usize,
    /// Engine block cache, in bytes (used by fjall; sled uses it as its page cache).
    pub engine_cache_bytes: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { durability: Durability::Sync, cache_records: 10_000, engine_cache_bytes: 64 * 1024 * 1024 }
    }
}

/// A key-value store the commons can live in.
///
/// Keys are byte strings of 1..=[`MAX_KEY_LEN`] bytes, ordered bytewise.
/// Every method is safe to call from many threads. Writes follow the
/// [`Durability`] the store was opened with.
pub trait CommonsStoreBackend: Send + Sync {
    /// The engine's short name (`"memory"`, `"sled"`, `"fjall"`), as
    /// [`OpenBackend::NAME`]; a wrapper answers for the engine it wraps.
    fn name(&self) -> &'static str;

    /// Whether data survives the process, as [`OpenBackend::PERSISTENT`].
    fn persistent(&self) -> bool;

    /// The value at `key`, if any.
    ///
    /// # Errors
    /// `InvalidKey`, `Io`, `Engine`, `Unavailable`.
    fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>>;

    /// Sets one key. Equivalent to a one-put batch.
    ///
    /// # Errors
    /// `InvalidKey` (nothing written), `Io`, `Engine`, `Unavailable`.
    fn put(&self, key: &[u8], value: &[u8]) -> BackendResult<()> {
        let mut batch = WriteBatch::new();
        batch.put(key, value);
        self.apply(batch)
    }

    /// Removes one key; removing a missing key succeeds.
    ///
    /// # Errors
    /// `InvalidKey`, `Io`, `Engine`, `Unavailable`.
    fn delete(&self, key: &[u8]) -> BackendResult<()> {
        let mut batch = WriteBatch::new();
        batch.delete(key);
        self.apply(batch)
    }

    /// True when `key` holds a value.
    ///
    /// # Errors
    /// As [`CommonsStoreBackend::get`].
    fn exists(&self, key: &[u8]) -> BackendResult<bool> {
        Ok(self.get(key)?.is_some())
    }

    /// Every `(key, value)` whose key starts with `prefix`, in key order.
    /// Loads the whole range: use [`CommonsStoreBackend::scan_from`] for lists.
    ///
    /// # Errors
    /// `Io`, `Engine`, `Unavailable`.
    fn scan(&self, prefix: &[u8]) -> BackendResult<Rows> {
        self.scan_from(prefix, None, usize::MAX)
    }

    /// At most `limit` `(key, value)` pairs whose key starts with `prefix` and
    /// sorts strictly after `start_after` (from the start of the prefix when
    /// `None`), in key order, all from one consistent view of the store.
    ///
    /// # Errors
    /// `Io`, `Engine`, `Unavailable`.
    fn scan_from(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize) -> BackendResult<Rows>;

    /// Applies every operation of `batch`, all or nothing, also across a crash;
    /// readers never observe part of it. Its [`Precondition`]s are checked
    /// atomically with the write: no other write to their keys can come
    /// between the check and the write. With [`Durability::Sync`] the batch is
    /// on stable storage when this returns `Ok`.
    ///
    /// # Errors
    /// `InvalidKey` (checked first; nothing written); `Conflict` (a
    /// precondition failed; nothing written, the store keeps serving);
    /// `Unavailable` (the store has stopped, or cannot be reached; nothing
    /// written); `Io`, `Engine` when the write or its sync
    /// failed. A persistent store then stops (fail-stop): every later call
    /// answers `Unavailable` until the process reopens it, and after the
    /// reopen the failed batch is present whole or not at all, and every batch
    /// acknowledged before it is present.
    fn apply(&self, batch: WriteBatch) -> BackendResult<()>;

    /// Makes every write that returned so far durable (fsync).
    ///
    /// # Errors
    /// `Io`, `Engine` (the store then stops, as for [`CommonsStoreBackend::apply`]),
    /// `Unavailable`.
    fn flush(&self) -> BackendResult<()>;

    /// Whether other processes may write the same store at the same time (a
    /// database server shared by several gateways). The store layer keeps no
    /// record cache over a shared engine: another writer could make it stale.
    fn shared(&self) -> bool {
        false
    }

    /// `Ok` while the store serves requests; for health checks, and on every
    /// record-cache hit. An engine that is not [`shared`](Self::shared)
    /// answers without I/O (a flag): the gateway serves cache hits on its
    /// async workers.
    ///
    /// # Errors
    /// `Unavailable` once a persistent store has stopped after a failed write
    /// (see [`CommonsStoreBackend::apply`]), naming the first cause. The
    /// operator fixes the cause and restarts the process.
    fn check_available(&self) -> BackendResult<()> {
        Ok(())
    }

    /// Bytes the store occupies on disk (0 for the in-memory store).
    ///
    /// # Errors
    /// `Io`, `Engine`.
    fn size_on_disk(&self) -> BackendResult<u64>;
}

/// How to create a backend, by type: its name, whether it persists, its folder.
pub trait OpenBackend: CommonsStoreBackend + Sized {
    /// `"memory"`, `"sled"` or `"fjall"`.
    const NAME: &'static str;
    /// Whether data survives the process.
    const PERSISTENT: bool;
    /// The folder this engine keeps its store in, under the data directory
    /// (`commons.sled`, `commons.fjall`; the in-memory store has none and uses
    /// `commons.memory` only in messages).
    const FOLDER: &'static str;

    /// Opens (or creates) the store in `dir` (the store folder itself, e.g.
    /// `<data_dir>/commons.fjall`).
    ///
    /// # Errors
    /// [`BackendError::Locked`] when another handle or process holds it;
    /// `Io` when the folder cannot be created or read; `Engine`/`Corrupt` when
    /// the engine cannot recover it (the files are left untouched).
    fn open(dir: &Path, config: &StoreConfig) -> BackendResult<Self>;

    /// A throw-away copy of the existing store in `dir`, for tools that must
    /// not change a byte of it (`verify`, `export`): an engine that keeps its
    /// store in a folder runs the checks of `backend::integrity` on the store and
    /// opens a copy in a scratch folder (removed when the store drops); the
    /// in-memory engine opens a new empty store.
    ///
    /// # Errors
    /// As [`OpenBackend::open`]; `Damaged` naming the damaged file or the
    /// lost commits when a check fails.
    fn open_copy(dir: &Path, config: &StoreConfig) -> BackendResult<Self> {
        Self::open(dir, config)
    }

    /// A store in a fresh temporary directory, removed when the store drops.
    /// The networked engine makes a fresh schema on the server named by
    /// `COMMONS_TEST_DATABASE_URL` instead, dropped when the store drops.
    ///
    /// # Errors
    /// As [`OpenBackend::open`].
    fn temporary(config: &StoreConfig) -> BackendResult<Self>;

    /// Whether the engine keeps its store on a database server reached by
    /// URL ([`OpenBackend::connect`]) rather than in a folder
    /// ([`OpenBackend::open`]).
    const NETWORKED: bool = false;

    /// Connects to the store on the database server at `url`, creating its
    /// table on first connect. Only the networked engine has one.
    ///
    /// # Errors
    /// [`BackendError::WrongLocation`] for an engine that lives in a folder;
    /// the networked engine's errors otherwise.
    fn connect(url: &str, config: &StoreConfig) -> BackendResult<Self> {
        let _ = (url, config);
        Err(no_database::<Self>())
    }

    /// As [`OpenBackend::connect`], for tools that read a store which must
    /// already be there (`verify`, `export`): a database without the store's
    /// table is an error, and nothing is created in it.
    ///
    /// # Errors
    /// As [`OpenBackend::connect`]; `WrongLocation` naming the database when
    /// it holds no store.
    fn connect_existing(url: &str, config: &StoreConfig) -> BackendResult<Self> {
        Self::connect(url, config)
    }

    /// The database at `url` as messages, logs and `/v1/health` show it:
    /// rebuilt from what the URL names (user, hosts, ports, database), so
    /// its password never shows, however it was written.
    ///
    /// # Errors
    /// [`BackendError::WrongLocation`] for a URL that does not parse or
    /// names no host, and for an engine that lives in a folder.
    fn describe_url(url: &str) -> BackendResult<String> {
        let _ = url;
        Err(no_database::<Self>())
    }
}

/// What a folder engine answers to a database URL.
fn no_database<S: OpenBackend>() -> BackendError {
    BackendError::WrongLocation {
        engine: S::NAME,
        message: format!(
            "this build's {} engine keeps its store in a folder: pass --data-dir, not a database URL",
            S::NAME
        ),
    }
}

/// Forwards every method of [`CommonsStoreBackend`] through a pointer type.
macro_rules! forward_backend {
    () => {
        fn name(&self) -> &'static str {
            (**self).name()
        }
        fn persistent(&self) -> bool {
            (**self).persistent()
        }
        fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
            (**self).get(key)
        }
        fn put(&self, key: &[u8], value: &[u8]) -> BackendResult<()> {
            (**self).put(key, value)
        }
        fn delete(&self, key: &[u8]) -> BackendResult<()> {
            (**self).delete(key)
        }
        fn exists(&self, key: &[u8]) -> BackendResult<bool> {
            (**self).exists(key)
        }
        fn scan(&self, prefix: &[u8]) -> BackendResult<Rows> {
            (**self).scan(prefix)
        }
        fn scan_from(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize) -> BackendResult<Rows> {
            (**self).scan_from(prefix, start_after, limit)
        }
        fn apply(&self, batch: WriteBatch) -> BackendResult<()> {
            (**self).apply(batch)
        }
        fn flush(&self) -> BackendResult<()> {
            (**self).flush()
        }
        fn shared(&self) -> bool {
            (**self).shared()
        }
        fn check_available(&self) -> BackendResult<()> {
            (**self).check_available()
        }
        fn size_on_disk(&self) -> BackendResult<u64> {
            (**self).size_on_disk()
        }
    };
}

/// `name` and `persistent` of an engine, from its [`OpenBackend`] constants.
macro_rules! engine_identity {
    () => {
        fn name(&self) -> &'static str {
            <Self as $crate::backend::OpenBackend>::NAME
        }
        fn persistent(&self) -> bool {
            <Self as $crate::backend::OpenBackend>::PERSISTENT
        }
    };
}
use engine_identity;

/// The methods a persistent engine shares: writes go through its
/// `FailStop` (`self.stop`) and `write(batch)`, syncs through its group
/// commit (`self.group`) and `sync_to_disk()`, and its size is every file
/// of its folder (`self.dir`).
#[cfg_attr(not(any(feature = "sled-store", feature = "fjall-store")), allow(unused_macros))]
macro_rules! durable_engine_methods {
    () => {
        fn apply(&self, batch: WriteBatch) -> BackendResult<()> {
            batch.validate()?;
            if batch.is_empty() {
                return Ok(());
            }
            self.stop.check()?;
            self.stop.record(self.write(batch))
        }

        fn flush(&self) -> BackendResult<()> {
            self.group.sync_after_write(|| self.stop.guarded_sync(|| self.sync_to_disk()))
        }

        fn check_available(&self) -> BackendResult<()> {
            self.stop.check()
        }

        fn size_on_disk(&self) -> BackendResult<u64> {
            $crate::backend::dir_size(&self.dir)
        }
    };
}
#[cfg_attr(not(any(feature = "sled-store", feature = "fjall-store")), allow(unused_imports))]
use durable_engine_methods;

/// The first `limit` rows an engine's range iterator yields, leaving out
/// [`COMMIT_SEQUENCE_KEY`].
///
/// # Errors
/// The iterator's first error.
#[cfg_attr(not(any(feature = "sled-store", feature = "fjall-store")), allow(dead_code))]
fn take_rows<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    rows: impl Iterator<Item = BackendResult<(K, V)>>,
    limit: usize,
) -> BackendResult<Rows> {
    rows.filter(|row| !matches!(row, Ok((k, _)) if k.as_ref() == COMMIT_SEQUENCE_KEY))
        .take(limit)
        .map(|row| row.map(|(k, v)| (k.as_ref().to_vec(), v.as_ref().to_vec())))
        .collect()
}

/// Makes the entries of folder `dir` durable (new, renamed or removed files
/// in it).
///
/// # Errors
/// `Io` naming the folder.
#[cfg_attr(not(any(feature = "sled-store", feature = "fjall-store")), allow(dead_code))]
pub(crate) fn sync_dir(dir: &Path) -> BackendResult<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| BackendError::Io { path: dir.to_path_buf(), source })
    }
    // Elsewhere a folder cannot be opened for syncing; its entries become
    // durable with the files' own metadata.
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Runtime choice of engine (`Arc<dyn CommonsStoreBackend>`), for tools and
/// the static-vs-dyn benchmark, and sharing one backend between stores. The
/// gateway never uses it: handlers get [`CommonsBackend`] statically.
impl<T: CommonsStoreBackend + ?Sized> CommonsStoreBackend for Arc<T> {
    forward_backend!();
}

/// A borrowed backend (e.g. a second `CommonsStore` view over the same
/// engine, or a wrapper in tests).
impl<T: CommonsStoreBackend + ?Sized> CommonsStoreBackend for &T {
    forward_backend!();
}

/// The first key after every key that starts with `prefix` (for range ends),
/// or `None` when no such key exists (prefix of all `0xff`).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Total size in bytes of the regular files under `dir` (recursively).
///
/// Engines delete files in the background (compaction, blob GC): an entry
/// that disappears while it is being measured counts as 0 bytes, not an error.
#[cfg_attr(not(any(feature = "sled-store", feature = "fjall-store")), allow(dead_code))]
pub(crate) fn dir_size(dir: &Path) -> BackendResult<u64> {
    let io = |source| BackendError::Io { path: dir.to_path_buf(), source };
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let mut total = 0;
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(io(e)),
        };
        if meta.is_dir() {
            match dir_size(&entry.path()) {
                Ok(size) => total += size,
                Err(BackendError::Io { source, .. }) if gone(&source) => {}
                Err(e) => return Err(e),
            }
        } else {
            total += meta.len();
        }
    }
    Ok(total)
}

/// The store folder of engine `S` under `data_dir`, after checking that no
/// other engine's store lives there.
///
/// # Errors
/// [`BackendError::ForeignStore`] naming both engines and the path.
pub fn store_folder<S: OpenBackend>(data_dir: &Path) -> BackendResult<PathBuf> {
    // A data dir that is (or lies inside) a store folder is a mistake: a new
    // store would be created inside the old one.
    for dir in data_dir.ancestors() {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if let Some(&(engine, folder)) = KNOWN_STORE_FOLDERS.iter().find(|(_, folder)| *folder == name) {
            return Err(BackendError::DataDirIsStore {
                data_dir: data_dir.to_path_buf(),
                store: dir.to_path_buf(),
                engine,
                folder,
            });
        }
    }
    for &(engine, folder) in KNOWN_STORE_FOLDERS {
        if engine != S::NAME && data_dir.join(folder).exists() {
            return Err(BackendError::ForeignStore {
                data_dir: data_dir.to_path_buf(),
                found: engine,
                folder,
                built: S::NAME,
            });
        }
    }
    Ok(data_dir.join(S::FOLDER))
}
