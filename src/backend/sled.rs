//! [`SledCommonsStore`]: the commons in a sled 0.34.7 database, all keys in
//! sled's default tree.
//!
//! **Invariants:**
//! - A batch goes through one `apply_batch` (crash-atomic: sled recovers all
//!   of it or none of it) under this store's write gate, and every scan holds
//!   the read gate for its whole length. sled alone only makes each *step* of
//!   an iterator atomic, so without the gate a scan running beside a batch
//!   could return some keys from before it and some from after it.
//! - With [`Durability::Sync`] a write returns only after sled's log buffers
//!   were written out (`Db::flush`, which on Linux stops at `sync_file_range`)
//!   *and* the data file and any new blob file were fsynced by this module.
//!   Concurrent writers share those syncs through [`GroupSync`].
//! - Every batch carries its commit sequence number under
//!   [`COMMIT_SEQUENCE_KEY`](super::COMMIT_SEQUENCE_KEY), and a sync records
//!   what it covered in the durability witness before any writer is answered;
//!   the store is opened in place only after the checks of
//!   [`super::integrity`], and `verify` and `export` open a copy.
//! - The store never writes to `/dev/shm`: [`OpenBackend::temporary`] opens
//!   sled in a [`TempDir`] that lives exactly as long as the store.

use std::fs::{File, OpenOptions};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::fail_stop::FailStop;
use super::integrity::{self, Commits, FolderEngine, SealOnClose};
use super::{
    check_preconditions, prefix_end, sync_dir, validate_key, BackendError, BackendResult, BatchOp, CommonsStoreBackend,
    Durability, GroupSync, OpenBackend, Rows, StoreConfig, WriteBatch, COMMIT_SEQUENCE_KEY,
};

const ENGINE: &str = "sled";

/// A persistent store on sled 0.34.7, in one folder (`commons.sled`).
///
/// Opening takes sled's exclusive file lock on `<folder>/db`. Dropping the
/// store releases it, though sled's background threads may keep it a moment
/// longer; [`OpenBackend::open`] waits that moment out. Reads never observe
/// part of a batch; writes follow the [`Durability`] given at open (see the
/// module docs).
pub struct SledCommonsStore {
    // Field order is drop order: sled is closed (and its last buffers written)
    // before the directory that may hold it is removed.
    db: sled::Db,
    /// Seals the folder once the engine has closed (after a clean close).
    seal: SealOnClose,
    commits: Commits,
    /// Write side: `apply`. Read side: `scan_from`. See the module docs.
    gate: RwLock<()>,
    group: GroupSync,
    /// `<dir>/db`, sled's data file, kept open so that a sync can fsync it
    /// (fsync acts on the file, whichever descriptor it goes through).
    data_file: File,
    /// Highest blob number already fsynced (blob files are named by the log
    /// sequence number they were written at).
    synced_blob: Mutex<u64>,
    durability: Durability,
    /// Set by the first failed write or sync; see [`FailStop`].
    stop: FailStop,
    dir: PathBuf,
    _tempdir: Option<TempDir>,
}

impl std::fmt::Debug for SledCommonsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledCommonsStore")
            .field("dir", &self.dir)
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

impl SledCommonsStore {
    /// Reads the commit sequence number straight from the engine.
    fn stored_sequence(db: &sled::Db, dir: &Path) -> BackendResult<u64> {
        let value = db.get(COMMIT_SEQUENCE_KEY).map_err(|e| engine_error(dir, e, None))?;
        integrity::decode_sequence(value.as_deref(), dir)
    }

    /// The store's folder (the `dir` given to [`OpenBackend::open`], or the
    /// folder inside the temporary directory).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Maps an error of the engine, and remembers that the store met one:
    /// a store that did is not sealed when it closes (see `SealOnClose`).
    fn failed(&self, error: sled::Error, key: Option<&[u8]>) -> BackendError {
        self.seal.taint();
        engine_error(&self.dir, error, key)
    }

    /// For tests of fail-stop under load: from now on, every sync of this
    /// store whose number (0 for the first) `fails` picks fails before it
    /// reaches the disk, as a failed `fsync` does (`EIO`), and the store
    /// stops ([`FailStop`]). Only the first call has an effect. Not for
    /// production use.
    #[doc(hidden)]
    pub fn inject_sync_failures(&self, fails: impl Fn(u64) -> bool + Send + Sync + 'static) {
        self.commits.inject_sync_failures(Box::new(fails));
    }

    /// Applies a validated, non-empty batch and, with [`Durability::Sync`],
    /// waits for a sync that covers it. An error here stops the store
    /// ([`FailStop`]): a batch whose sync failed stays visible in sled's memory
    /// although it may be absent after a restart.
    fn write(&self, batch: WriteBatch) -> BackendResult<()> {
        // `sled::Batch` keeps one entry per key, the last one set: later
        // operations on the same key win, as `WriteBatch` promises.
        let mut sled_batch = sled::Batch::default();
        let (ops, preconditions) = batch.into_parts();
        for op in ops {
            match op {
                BatchOp::Put(key, value) => sled_batch.insert(key, value),
                BatchOp::Delete(key) => sled_batch.remove(key),
            }
        }
        {
            // The gate guards no data (sled does), only the scans' view; a
            // panic inside sled cannot leave it inconsistent.
            // Every write takes the gate exclusively, so preconditions checked
            // under it still hold when the batch is applied.
            let _writing = self.gate.write().unwrap_or_else(PoisonError::into_inner);
            check_preconditions(&preconditions, |key| {
                self.db.get(key).map(|v| v.map(|v| v.to_vec())).map_err(|e| self.failed(e, Some(key)))
            })?;
            let sequence = self.commits.next();
            sled_batch.insert(COMMIT_SEQUENCE_KEY, &sequence.to_be_bytes());
            self.db.apply_batch(sled_batch).map_err(|e| self.failed(e, None))?;
            self.commits.committed(sequence);
        }
        match self.durability {
            Durability::Sync => self.group.sync_after_write(|| self.stop.guarded_sync(|| self.sync_to_disk())),
            Durability::Buffered => Ok(()),
        }
    }

    /// Writes out sled's buffers and fsyncs everything they went to, then
    /// records what that covered in the witness. Runs under [`GroupSync`],
    /// so never twice at the same time.
    fn sync_to_disk(&self) -> BackendResult<()> {
        self.commits.sync(|| {
            self.db.flush().map_err(|e| self.failed(e, None))?;
            self.data_file.sync_all().map_err(|source| io_error(&self.dir.join("db"), source))?;
            self.sync_new_blobs()
        })
    }

    /// sled writes values (and nodes) over 128 KiB to `blobs/<lsn>` files and
    /// never fsyncs them: fsync every blob newer than the last sync, then the
    /// folder that names them.
    fn sync_new_blobs(&self) -> BackendResult<()> {
        let blobs = self.dir.join("blobs");
        let mut synced = self.synced_blob.lock().unwrap_or_else(PoisonError::into_inner);
        let mut newest = *synced;
        for entry in std::fs::read_dir(&blobs).map_err(|source| io_error(&blobs, source))? {
            let entry = entry.map_err(|source| io_error(&blobs, source))?;
            let Some(lsn) = entry.file_name().to_str().and_then(|name| name.parse::<u64>().ok()) else {
                continue;
            };
            if lsn <= *synced {
                continue;
            }
            match File::open(entry.path()).and_then(|f| f.sync_all()) {
                Ok(()) => newest = newest.max(lsn),
                // sled removes blobs it no longer needs in the background.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(io_error(&entry.path(), source)),
            }
        }
        if newest > *synced {
            sync_dir(&blobs)?;
            *synced = newest;
        }
        Ok(())
    }
}

impl CommonsStoreBackend for SledCommonsStore {
    super::engine_identity!();

    fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
        validate_key(key)?;
        self.stop.check()?;
        // A single `get` cannot interleave with `apply_batch`: sled runs a
        // batch under its global write lock and a point read under its read
        // lock, so the gate is not needed here.
        let value = self.db.get(key).map_err(|e| self.failed(e, Some(key)))?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn exists(&self, key: &[u8]) -> BackendResult<bool> {
        validate_key(key)?;
        self.stop.check()?;
        self.db.contains_key(key).map_err(|e| self.failed(e, Some(key)))
    }

    fn scan_from(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize) -> BackendResult<Rows> {
        let Some((lower, upper)) = scan_bounds(prefix, start_after) else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.stop.check()?;
        let _view = self.gate.read().unwrap_or_else(PoisonError::into_inner);
        let rows = self.db.range::<Vec<u8>, _>((lower, upper)).map(|item| item.map_err(|e| self.failed(e, None)));
        super::take_rows(rows, limit)
    }

    super::durable_engine_methods!();
}

impl OpenBackend for SledCommonsStore {
    const NAME: &'static str = ENGINE;
    const PERSISTENT: bool = true;
    const FOLDER: &'static str = "commons.sled";

    /// Opens (or creates) the sled store in `dir`, creating missing parent
    /// folders. `config.engine_cache_bytes` becomes sled's page cache size.
    ///
    /// # Errors
    /// [`BackendError::Locked`] (with `path` = `dir`) when another handle, in
    /// this process or another, still has it open after about one second of
    /// retries; `Io` when the folder or its files cannot be created, read or
    /// synced; `Corrupt` when sled detects corruption while recovering;
    /// `Engine` for sled's other refusals (for example a store written by an
    /// incompatible sled version). Files are never removed or repaired.
    /// The damage checks (`backend::integrity`) run first: a store whose files
    /// changed since it was closed, or that lost acknowledged commits, is
    /// refused as `Damaged` naming the files, with every file left as it was.
    fn open(dir: &Path, config: &StoreConfig) -> BackendResult<Self> {
        integrity::open_checked(dir, config)
    }

    fn open_copy(dir: &Path, config: &StoreConfig) -> BackendResult<Self> {
        integrity::open_copy(dir, config)
    }

    /// A store in a fresh [`TempDir`] under the system temporary directory
    /// (never sled's `/dev/shm` default), removed after the store closes.
    fn temporary(config: &StoreConfig) -> BackendResult<Self> {
        let tempdir = TempDir::new().map_err(|source| io_error(&std::env::temp_dir(), source))?;
        let dir = tempdir.path().join(Self::FOLDER);
        Self::open_engine(&dir, config, Some(tempdir))
    }
}

impl Drop for SledCommonsStore {
    fn drop(&mut self) {
        // sled writes its buffers out when the last handle closes; sync them
        // (and the witness) here, so that a store that stopped on a failed
        // write, or whose last sync failed, is not sealed.
        if self.stop.check().is_ok() && !self.seal.tainted() && self.sync_to_disk().is_ok() {
            self.seal.closed_cleanly();
        }
    }
}

impl FolderEngine for SledCommonsStore {
    const ENGINE: &'static str = ENGINE;
    const LOCK_FILE: &'static str = "db";

    fn open_engine(dir: &Path, config: &StoreConfig, tempdir: Option<TempDir>) -> BackendResult<Self> {
        std::fs::create_dir_all(dir).map_err(|source| io_error(dir, source))?;
        let db = open_db(dir, config)?;
        let data_path = dir.join("db");
        let data_file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&data_path)
            .map_err(|source| io_error(&data_path, source))?;
        // sled creates `db`, `conf` and `blobs/` on first open without syncing
        // them; make the files and their directory entries durable once here.
        let conf_path = dir.join("conf");
        File::open(&conf_path).and_then(|f| f.sync_all()).map_err(|source| io_error(&conf_path, source))?;
        data_file.sync_all().map_err(|source| io_error(&data_path, source))?;
        sync_dir(&dir.join("blobs"))?;
        sync_dir(dir)?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        let recovered = Self::stored_sequence(&db, dir)?;
        Ok(Self {
            db,
            seal: SealOnClose::default(),
            commits: Commits::recovered(recovered),
            gate: RwLock::new(()),
            group: GroupSync::new(),
            data_file,
            synced_blob: Mutex::new(0),
            durability: config.durability,
            stop: FailStop::new(ENGINE, dir),
            dir: dir.to_path_buf(),
            _tempdir: tempdir,
        })
    }

    fn integrity(&self) -> (&Commits, &SealOnClose) {
        (&self.commits, &self.seal)
    }

    fn read_everything(&self) -> BackendResult<u64> {
        let mut rows = 0;
        for item in self.db.iter() {
            item.map_err(|e| self.failed(e, None))?;
            rows += 1;
        }
        Ok(rows)
    }

    fn immutable(relative: &str) -> bool {
        // The configuration (written once, when the store is made) and the
        // snapshots (`snap.<lsn>`, written as `.generating` and renamed, so
        // a snapshot made again is another file). Not `db`, which changes,
        // nor blobs, whose numbers a write after a crash may take again.
        relative == "conf"
            || relative.strip_prefix("snap.").is_some_and(|lsn| lsn.bytes().all(|b| b.is_ascii_hexdigit()))
    }

    fn journal_file(relative: &str) -> bool {
        // sled keeps its log and its pages in one file.
        relative == "db"
    }
}

/// How long [`open_db`] keeps retrying a held lock before reporting
/// [`BackendError::Locked`].
const LOCK_WAIT: Duration = Duration::from_secs(1);

/// Opens sled in `dir`, waiting up to [`LOCK_WAIT`] for a held lock.
///
/// Dropping a sled `Db` does not release its file lock at once: sled's
/// background threads still hold the locked file for a moment. Seen here
/// with the conformance tests running in parallel: without the wait, an
/// immediate reopen in the same process failed in about a third of the runs
/// of the suite; with it, the retry succeeded within a millisecond. A lock
/// that is really held (another live handle or process) is reported after
/// [`LOCK_WAIT`].
fn open_db(dir: &Path, config: &StoreConfig) -> BackendResult<sled::Db> {
    let sled_config = sled::Config::new().path(dir).cache_capacity(config.engine_cache_bytes);
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        // sled 0.34.7 panics (index out of bounds in its segment recovery) on
        // some damaged files instead of returning an error: turn that panic
        // into `Corrupt` so that a damaged store is a clear refusal, not a crash.
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sled_config.open()));
        let opened = match opened {
            Ok(result) => result.map_err(|e| engine_error(dir, e, None)),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("unknown panic");
                Err(BackendError::Corrupt {
                    key: String::new(),
                    reason: format!(
                        "sled could not recover the store in {} ({what}); the files were left as they are",
                        dir.display()
                    ),
                })
            }
        };
        match opened {
            Err(BackendError::Locked { .. }) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            result => return result,
        }
    }
}

/// Lower and upper bound of a scan.
type ScanRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The range `scan_from` walks: from just after `start_after` (or the start of
/// `prefix`) to the end of `prefix`. `None` when that range is empty.
fn scan_bounds(prefix: &[u8], start_after: Option<&[u8]>) -> Option<ScanRange> {
    let end = prefix_end(prefix);
    let lower = match start_after {
        Some(after) if after >= prefix => {
            if end.as_deref().is_some_and(|end| after >= end) {
                return None;
            }
            Bound::Excluded(after.to_vec())
        }
        _ => Bound::Included(prefix.to_vec()),
    };
    Some((lower, end.map_or(Bound::Unbounded, Bound::Excluded)))
}

fn io_error(path: &Path, source: std::io::Error) -> BackendError {
    BackendError::Io { path: path.to_path_buf(), source }
}

/// Maps a sled error; `key` names the key being read, when there is one.
fn engine_error(dir: &Path, error: sled::Error, key: Option<&[u8]>) -> BackendError {
    match error {
        // sled reports a held lock as a plain `Other` I/O error; only the
        // message tells it apart (sled 0.34.7, config.rs `try_lock`).
        sled::Error::Io(source) if source.to_string().contains("could not acquire lock") => {
            BackendError::Locked { path: dir.to_path_buf() }
        }
        sled::Error::Io(source) => io_error(dir, source),
        sled::Error::Corruption { at, .. } => BackendError::Corrupt {
            key: key.map(|k| String::from_utf8_lossy(k).into_owned()).unwrap_or_default(),
            reason: format!("sled found corrupt data in {} (at {at:?})", dir.display()),
        },
        other => BackendError::Engine { engine: ENGINE, message: other.to_string() },
    }
}
