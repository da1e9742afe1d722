//! [`FjallCommonsStore`]: the commons in a fjall 3.1 database, all keys in one
//! keyspace named `commons`.
//!
//! **Invariants:**
//! - Every read (`get`, `exists`, `scan_from`) goes through `db.snapshot()`.
//!   fjall applies a batch to the memtable key by key and publishes its
//!   sequence number only at the end; a plain `Keyspace::get`/`prefix` can see
//!   the keys already applied (half a batch), a snapshot cannot.
//! - No key or range bound reaches fjall unless it is 1..=[`MAX_KEY_LEN`]
//!   bytes long: fjall panics on an empty key or one over 65,535 bytes, and a
//!   panic during a write poisons the database for every later write.
//! - A batch is one fjall batch (crash-atomic: one journal entry), and it
//!   carries its commit sequence number under
//!   [`COMMIT_SEQUENCE_KEY`](super::COMMIT_SEQUENCE_KEY). With
//!   [`Durability::Sync`] the batch is committed to the OS and then the journal
//!   is fsynced through [`GroupSync`], so concurrent writers share one fsync;
//!   the durability witness records what that fsync covered before any
//!   writer is answered (see [`super::integrity`]).
//! - The fsync does not hold fjall's journal lock: fjall's own
//!   `persist(SyncAll)` fsyncs under the lock every batch commit takes, so
//!   no writer could append while a sync ran and each group held only the
//!   writers that slipped in between two syncs. Instead the store fsyncs the
//!   active journal file through a descriptor of its own ([`ActiveJournal`]):
//!   fjall names journals `N.jnl`, appends only to the highest `N`, and
//!   fsyncs a journal in full before it creates `N + 1`, so syncing the
//!   highest journal that exists once a batch reached the OS makes that
//!   batch durable.
//! - The store is opened in place only after the checks of
//!   [`super::integrity`]; `verify` and `export` open a copy.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable};
use tempfile::TempDir;

use super::fail_stop::FailStop;
use super::integrity::{self, Commits, FolderEngine, SealOnClose};
use super::{
    check_preconditions, prefix_end, validate_key, BackendError, BackendResult, BatchOp, CommonsStoreBackend,
    Durability, GroupSync, OpenBackend, Rows, StoreConfig, WriteBatch, COMMIT_SEQUENCE_KEY, MAX_KEY_LEN,
};

const ENGINE: &str = "fjall";

/// Most bytes of journal fjall keeps before it writes memtables out to tables
/// and deletes the journals they covered (fjall's default is 512 MiB; its
/// least, 64 MiB). A start replays the whole journal, and a start after a
/// crash copies it first (see [`super::integrity`]), so it is kept at the
/// least: measured with the soak, a 280 MB journal took 0.7 s to replay.
const MAX_JOURNALING_BYTES: u64 = 64 * 1024 * 1024;

/// Name of the one keyspace the commons lives in.
const KEYSPACE: &str = "commons";

/// A persistent store on fjall 3.1, in one folder (`commons.fjall`).
///
/// Opening takes fjall's lock file; it is released when the store is dropped.
/// Reads see whole batches only; writes follow the [`Durability`] given at
/// open (see the module docs).
pub struct FjallCommonsStore {
    // Field order is drop order: the keyspace handle and the database close
    // (joining fjall's workers and releasing the lock) before the temporary
    // directory that may hold them is removed.
    keyspace: Keyspace,
    db: Database,
    /// Seals the folder once the engine has closed (after a clean close).
    seal: SealOnClose,
    commits: Commits,
    group: GroupSync,
    /// What the group syncs fsync.
    journal: ActiveJournal,
    /// Held while a batch's preconditions are checked and it commits.
    commit_lock: Mutex<()>,
    durability: Durability,
    /// Set by the first failed write or sync; see [`FailStop`].
    stop: FailStop,
    dir: PathBuf,
    _tempdir: Option<TempDir>,
}

/// On close, the memtable is written out to a table file (and the write
/// waited for), so that after a clean shutdown the records live in
/// checksummed tables rather than only in the journal. fjall 3 recovers a
/// damaged journal by truncating it at the first bad entry, with no error:
/// data that lives only in the journal is lost with it. Tables, in contrast,
/// report damage as an error on open. A crash (no drop) leaves recent writes
/// in the journal, where fjall needs them.
/// Longest a close waits for the memtable to reach a table file.
const CLOSE_FLUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

impl Drop for FjallCommonsStore {
    fn drop(&mut self) {
        // fjall 3.1 exposes no public "flush and wait": seal the memtable (its
        // flush is queued to fjall's workers) and wait a bounded time for the
        // table to be written. fjall's own `rotate_memtable_and_wait` (a test
        // helper) can wait forever; a close must not hang.
        // A store that met an error (a damaged block, a failed write) writes
        // nothing more and is not sealed.
        let running = self.stop.check().is_ok() && !self.seal.tainted();
        let sealed = running && self.sync_to_disk().is_ok() && self.keyspace.rotate_memtable().is_ok();
        let deadline = std::time::Instant::now() + CLOSE_FLUSH_WAIT;
        while sealed && self.keyspace.sealed_memtable_count() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        if !sealed || self.keyspace.sealed_memtable_count() > 0 {
            tracing::warn!(path = %self.dir.display(), "the memtable was not written out on close; the journal keeps the data");
        } else {
            self.seal.closed_cleanly();
        }
    }
}

impl std::fmt::Debug for FjallCommonsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallCommonsStore")
            .field("dir", &self.dir)
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

impl FjallCommonsStore {
    /// The store's folder (the `dir` given to [`OpenBackend::open`], or the
    /// folder inside the temporary directory).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Maps an error of the engine, and remembers that the store met one:
    /// a store that did is not sealed when it closes (see `SealOnClose`).
    fn failed(&self, error: fjall::Error, key: Option<&[u8]>) -> BackendError {
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

    /// Reads the commit sequence number straight from the engine.
    fn stored_sequence(db: &Database, keyspace: &Keyspace, dir: &Path) -> BackendResult<u64> {
        let value = db.snapshot().get(keyspace, COMMIT_SEQUENCE_KEY).map_err(|e| engine_error(dir, e, None))?;
        integrity::decode_sequence(value.as_deref(), dir)
    }

    /// Commits a validated, non-empty batch and, with [`Durability::Sync`],
    /// waits for a sync that covers it. An error here stops the store
    /// ([`FailStop`]): a batch committed to the memtable whose journal sync
    /// failed would otherwise stay visible although it may be absent after a
    /// restart.
    fn write(&self, batch: WriteBatch) -> BackendResult<()> {
        // fjall gives every item of a batch the same sequence number, so two
        // items on one key would tie; keep only the last operation per key,
        // which is what `WriteBatch` promises.
        let mut last: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        let (ops, preconditions) = batch.into_parts();
        for op in ops {
            match op {
                BatchOp::Put(key, value) => last.insert(key, Some(value)),
                BatchOp::Delete(key) => last.insert(key, None),
            };
        }
        let mut fjall_batch = self.db.batch().durability(Some(PersistMode::Buffer));
        for (key, value) in last {
            match value {
                Some(value) => fjall_batch.insert(&self.keyspace, key, value),
                None => fjall_batch.remove(&self.keyspace, key),
            }
        }
        {
            // Every write commits under this lock, so preconditions checked
            // under it (through a snapshot taken after the last commit) still
            // hold when the batch commits. Only the memtable insert runs
            // under it; the journal sync below is shared by group commit.
            let _committing = self.commit_lock.lock().unwrap_or_else(PoisonError::into_inner);
            if !preconditions.is_empty() {
                let snapshot = self.db.snapshot();
                check_preconditions(&preconditions, |key| {
                    let value = snapshot.get(&self.keyspace, key).map_err(|e| self.failed(e, Some(key)))?;
                    Ok(value.map(|v| v.to_vec()))
                })?;
            }
            let sequence = self.commits.next();
            fjall_batch.insert(&self.keyspace, COMMIT_SEQUENCE_KEY, sequence.to_be_bytes());
            fjall_batch.commit().map_err(|e| self.failed(e, None))?;
            self.commits.committed(sequence);
        }
        match self.durability {
            Durability::Sync => self.group.sync_after_write(|| self.stop.guarded_sync(|| self.sync_to_disk())),
            Durability::Buffered => Ok(()),
        }
    }

    /// fsyncs the journal, then records what it covered in the witness.
    /// Every batch reaches the OS as it commits (`PersistMode::Buffer`); the
    /// `persist` here only empties fjall's buffer should anything be left in
    /// it, and the fsync itself runs outside fjall's journal lock (see the
    /// module docs), so writers go on appending while it runs.
    fn sync_to_disk(&self) -> BackendResult<()> {
        self.commits.sync(|| {
            self.db.persist(PersistMode::Buffer).map_err(|e| self.failed(e, None))?;
            self.journal.sync().map_err(|(path, source)| {
                self.seal.taint();
                BackendError::Io { path, source }
            })
        })
    }
}

/// The journal file fjall appends to, as a descriptor of this store's own,
/// for fsyncs outside fjall's journal lock (see the module docs).
#[derive(Debug)]
struct ActiveJournal {
    /// The database folder, where fjall keeps its journals (`N.jnl`).
    dir: PathBuf,
    /// The highest journal seen so far, and a descriptor of it.
    open: Mutex<Option<(u64, std::fs::File)>>,
}

impl ActiveJournal {
    fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), open: Mutex::new(None) }
    }

    fn path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("{id}.jnl"))
    }

    /// fsyncs (`fdatasync`) the highest journal that exists now: every
    /// batch that reached the OS before this call is then on disk, since a
    /// lower journal was fsynced in full by fjall before the next one was
    /// created.
    ///
    /// # Errors
    /// The file and the OS error: no journal in the folder, or one that
    /// cannot be opened or synced.
    fn sync(&self) -> Result<(), (PathBuf, std::io::Error)> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let known = match open.as_ref() {
            Some((id, _)) => *id,
            None => highest_journal(&self.dir).map_err(|e| (self.dir.clone(), e))?,
        };
        let mut id = known;
        while self.path(id + 1).exists() {
            id += 1;
        }
        let file = match open.take() {
            Some((open_id, file)) if open_id == id => file,
            _ => std::fs::File::open(self.path(id)).map_err(|e| (self.path(id), e))?,
        };
        let synced = file.sync_data().map_err(|e| (self.path(id), e));
        *open = Some((id, file));
        synced
    }
}

/// The highest `N` of the `N.jnl` files in `dir`.
fn highest_journal(dir: &Path) -> std::io::Result<u64> {
    let mut highest = None;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let id = name.to_str().and_then(|n| n.strip_suffix(".jnl")).and_then(|n| n.parse::<u64>().ok());
        highest = highest.max(id);
    }
    highest.ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no fjall journal (N.jnl) in the store folder")
    })
}

impl CommonsStoreBackend for FjallCommonsStore {
    super::engine_identity!();

    fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
        validate_key(key)?;
        self.stop.check()?;
        let value = self.db.snapshot().get(&self.keyspace, key).map_err(|e| self.failed(e, Some(key)))?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn exists(&self, key: &[u8]) -> BackendResult<bool> {
        validate_key(key)?;
        self.stop.check()?;
        self.db.snapshot().contains_key(&self.keyspace, key).map_err(|e| self.failed(e, Some(key)))
    }

    fn scan_from(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize) -> BackendResult<Rows> {
        let Some(range) = scan_bounds(prefix, start_after) else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.stop.check()?;
        let snapshot = self.db.snapshot();
        let rows = snapshot
            .range::<Vec<u8>, _>(&self.keyspace, range)
            .map(|guard| guard.into_inner().map_err(|e| self.failed(e, None)));
        super::take_rows(rows, limit)
    }

    super::durable_engine_methods!();
}

impl OpenBackend for FjallCommonsStore {
    const NAME: &'static str = ENGINE;
    const PERSISTENT: bool = true;
    const FOLDER: &'static str = "commons.fjall";

    /// Opens (or creates) the fjall store in `dir`, creating missing parent
    /// folders. `config.engine_cache_bytes` becomes fjall's block cache size.
    ///
    /// # Errors
    /// [`BackendError::Locked`] (with `path` = `dir`, after fjall's ~200 ms of
    /// retries) when another handle, in this process or another, has it open;
    /// `Io` when the folder or its files cannot be created or read; `Corrupt`
    /// when the journal or a table fails its checks; `Engine` for fjall's other
    /// refusals (for example an unknown format version). Files are never
    /// removed or repaired.
    /// The damage checks (`backend::integrity`) run first: a store whose files
    /// changed since it was closed, or that lost acknowledged commits, is
    /// refused as `Damaged` naming the files, with every file left as it was.
    fn open(dir: &Path, config: &StoreConfig) -> BackendResult<Self> {
        integrity::open_checked(dir, config)
    }

    fn open_copy(dir: &Path, config: &StoreConfig) -> BackendResult<Self> {
        integrity::open_copy(dir, config)
    }

    /// A store in a fresh [`TempDir`] under the system temporary directory,
    /// removed after the store closes.
    fn temporary(config: &StoreConfig) -> BackendResult<Self> {
        let tempdir = TempDir::new().map_err(|source| BackendError::Io { path: std::env::temp_dir(), source })?;
        let dir = tempdir.path().join(Self::FOLDER);
        Self::open_engine(&dir, config, Some(tempdir))
    }
}

impl FolderEngine for FjallCommonsStore {
    const ENGINE: &'static str = ENGINE;
    const LOCK_FILE: &'static str = "lock";

    fn open_engine(dir: &Path, config: &StoreConfig, tempdir: Option<TempDir>) -> BackendResult<Self> {
        std::fs::create_dir_all(dir).map_err(|source| BackendError::Io { path: dir.to_path_buf(), source })?;
        let db = Database::builder(dir)
            .cache_size(config.engine_cache_bytes)
            .max_journaling_size(MAX_JOURNALING_BYTES)
            .open()
            .map_err(|e| engine_error(dir, e, None))?;
        let keyspace = db.keyspace(KEYSPACE, KeyspaceCreateOptions::default).map_err(|e| engine_error(dir, e, None))?;
        let recovered = Self::stored_sequence(&db, &keyspace, dir)?;
        Ok(Self {
            keyspace,
            db,
            seal: SealOnClose::default(),
            commits: Commits::recovered(recovered),
            group: GroupSync::new(),
            journal: ActiveJournal::new(dir),
            commit_lock: Mutex::new(()),
            durability: config.durability,
            stop: FailStop::new(ENGINE, dir),
            dir: dir.to_path_buf(),
            _tempdir: tempdir,
        })
    }

    fn integrity(&self) -> (&Commits, &SealOnClose) {
        (&self.commits, &self.seal)
    }

    /// Walks every key and value, and reads each key again on its own: a
    /// walk reads the data blocks of the tables, a point read also their
    /// index and filter blocks, which a walk passes over.
    fn read_everything(&self) -> BackendResult<u64> {
        let snapshot = self.db.snapshot();
        let mut rows = 0;
        for guard in snapshot.iter(&self.keyspace) {
            let (key, value) = guard.into_inner().map_err(|e| self.failed(e, None))?;
            let found = snapshot.get(&self.keyspace, &key).map_err(|e| self.failed(e, Some(&key)))?;
            if found.as_deref() != Some(&*value) {
                self.seal.taint();
                return Err(BackendError::Corrupt {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    reason: format!(
                        "a point read in {} does not find what a walk of the store found",
                        self.dir.display()
                    ),
                });
            }
            rows += 1;
        }
        Ok(rows)
    }

    fn immutable(relative: &str) -> bool {
        // The format marker, the lock file and the tables (created with
        // `File::create_new`: a table number left by a crash is removed
        // before it is used again). Not the version files (`v<n>`): fjall
        // writes one with `File::create`, over a file a crash left under
        // that name; nor `current` and the journals, which change.
        let parts: Vec<&str> = relative.split('/').collect();
        matches!(parts.as_slice(), ["version"] | ["lock"] | ["keyspaces", _, "tables", _])
    }

    fn journal_file(relative: &str) -> bool {
        // The journals, and the files that say which tables hold what (a
        // missing one makes fjall recover nothing).
        relative.ends_with(".jnl") || relative.ends_with("/current")
    }
}

/// Lower and upper bound of a scan.
type ScanRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The range `scan_from` walks: from just after `start_after` (or the start of
/// `prefix`) to the end of `prefix`. `None` when that range is empty.
///
/// Bounds are kept within [`MAX_KEY_LEN`] bytes because fjall panics on a
/// range bound over 65,535 bytes: a longer prefix matches no stored key, and
/// a longer `start_after` is cut to its first [`MAX_KEY_LEN`] bytes, which
/// selects the same stored keys (every stored key is at most that long, so it
/// sorts after the cut bound exactly when it sorts after the full one).
fn scan_bounds(prefix: &[u8], start_after: Option<&[u8]>) -> Option<ScanRange> {
    if prefix.len() > MAX_KEY_LEN {
        return None;
    }
    let end = prefix_end(prefix);
    let lower = match start_after {
        Some(after) if after >= prefix => {
            let after = &after[..after.len().min(MAX_KEY_LEN)];
            if end.as_deref().is_some_and(|end| after >= end) {
                return None;
            }
            Bound::Excluded(after.to_vec())
        }
        _ => Bound::Included(prefix.to_vec()),
    };
    Some((lower, end.map_or(Bound::Unbounded, Bound::Excluded)))
}

/// Maps a fjall error; `key` names the key being read, when there is one.
fn engine_error(dir: &Path, error: fjall::Error, key: Option<&[u8]>) -> BackendError {
    let corrupt = |what: String| BackendError::Corrupt {
        key: key.map(|k| String::from_utf8_lossy(k).into_owned()).unwrap_or_default(),
        reason: format!("fjall found {what} in {}", dir.display()),
    };
    match error {
        fjall::Error::Locked => BackendError::Locked { path: dir.to_path_buf() },
        fjall::Error::Io(source) | fjall::Error::Storage(fjall::LsmError::Io(source)) => {
            BackendError::Io { path: dir.to_path_buf(), source }
        }
        fjall::Error::Poisoned => BackendError::Unavailable {
            reason: format!(
                "fjall store at {} refuses writes after an earlier failed write or fsync; restart the process",
                dir.display()
            ),
        },
        fjall::Error::Storage(inner) => match inner {
            fjall::LsmError::InvalidVersion(_) => {
                BackendError::Engine { engine: ENGINE, message: fjall::Error::Storage(inner).to_string() }
            }
            other => corrupt(format!("corrupt data ({other:?})")),
        },
        fjall::Error::JournalRecovery(e) => corrupt(format!("an unrecoverable journal ({e:?})")),
        fjall::Error::Decompress(_)
        | fjall::Error::InvalidTrailer
        | fjall::Error::InvalidTag(_)
        | fjall::Error::Unrecoverable => corrupt(format!("corrupt data ({error:?})")),
        other => BackendError::Engine { engine: ENGINE, message: other.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_synced_is_the_highest_one_that_exists_when_the_sync_runs() {
        let dir = tempfile::tempdir().unwrap();
        let journal = ActiveJournal::new(dir.path());
        let (path, error) = journal.sync().unwrap_err();
        assert_eq!((path.as_path(), error.kind()), (dir.path(), std::io::ErrorKind::NotFound));

        for name in ["0.jnl", "3.jnl", "x.jnl", "4.jnl.tmp", "lock"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        assert_eq!(highest_journal(dir.path()).unwrap(), 3);
        journal.sync().unwrap();
        assert_eq!(journal.open.lock().unwrap().as_ref().map(|(id, _)| *id), Some(3));
        // fjall rotates to the next number: the next sync follows it.
        std::fs::write(dir.path().join("4.jnl"), b"").unwrap();
        std::fs::write(dir.path().join("5.jnl"), b"").unwrap();
        journal.sync().unwrap();
        assert_eq!(journal.open.lock().unwrap().as_ref().map(|(id, _)| *id), Some(5));
        // An older journal removed after a flush changes nothing.
        std::fs::remove_file(dir.path().join("0.jnl")).unwrap();
        journal.sync().unwrap();
        assert_eq!(journal.open.lock().unwrap().as_ref().map(|(id, _)| *id), Some(5));
    }
}
