//! Acknowledged means present, or the store refuses to open: the checks a
//! store in a folder (fjall, sled) passes before its engine may touch its
//! files, and the read-only view the tools use.
//!
//! Engines recover damage their own way, and not always loudly: fjall 3.1
//! cuts a damaged journal at the first bad entry without an error (64 random
//! bytes in the middle of a journal after a crash lost 11 of 20 acknowledged
//! writes here, with no warning), and both engines rewrite files while they
//! recover. So this module decides whether a store is whole *before* the
//! engine opens it in place:
//!
//! 1. **After a clean close** the folder holds a seal ([`seal`]): every
//!    file's length and SHA-256, written once the engine had closed. The
//!    files are hashed and compared; any difference is refused, naming each
//!    file, with every file left as it was.
//! 2. **Otherwise** (a crash, or a store made before seals) the folder is
//!    copied to a scratch folder under the system temporary directory
//!    (`TMPDIR`), and the engine recovers *the copy*. The copy must have
//!    recovered every commit the witness ([`witness`]) says was
//!    acknowledged, and every key and value of it must read back (the engines
//!    check each block's or page's checksum as they read it). A refusal
//!    leaves the store's own files as they were; the copy is removed.
//! 3. Only then is the seal removed and the engine opened in place.
//!
//! The read-only tools (`verify`, `export`) never open the store itself: they
//! run the same checks and open a throw-away copy ([`open_copy`]), so they
//! change no byte under the store folder, whatever state it is in.
//!
//! **Cost** (documented in the README): a clean restart reads every file
//! once (hashing) and a close hashes them again; a restart after a crash
//! copies the store and reads all of it through the engine, so it needs free
//! space for one copy under `TMPDIR`. Every group sync also writes the
//! witness (one more small `fdatasync`).
//!
//! **Invariant:** an engine in this crate that keeps its store in a folder is
//! opened in place only through [`open_checked`].

pub(crate) mod seal;
pub(crate) mod witness;

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{BackendError, BackendResult, Durability, StoreConfig};
use seal::SealCheck;
pub use seal::SEAL_FILE;
pub use witness::WITNESS_FILE;
use witness::{Reading, Witness};

/// What the checks need of an engine that keeps its store in a folder.
pub(crate) trait FolderEngine: Sized {
    /// The engine's name, for messages.
    const ENGINE: &'static str;
    /// The file, relative to the store folder, that the engine holds an
    /// exclusive `flock` on while the store is open.
    const LOCK_FILE: &'static str;

    /// Opens the engine on `dir` with no check, its commit counter at the
    /// sequence it recovered ([`Commits::recovered`]), with no witness and
    /// no seal; `tempdir` (when given) lives as long as the store.
    ///
    /// # Errors
    /// The engine's refusals, mapped as its `OpenBackend::open` documents.
    fn open_engine(dir: &Path, config: &StoreConfig, tempdir: Option<TempDir>) -> BackendResult<Self>;

    /// The store's commit counter and seal-on-close.
    fn integrity(&self) -> (&Commits, &SealOnClose);

    /// Whether the engine never changes the file at `relative` (a path
    /// relative to the store folder, `/`-separated) once it is written; it
    /// may remove it. Such files keep their hashes in the seal while the
    /// store is open.
    fn immutable(relative: &str) -> bool;

    /// Reads every key and value, so that the engine checks every checksum it
    /// keeps; returns how many pairs it read.
    ///
    /// # Errors
    /// The first engine error.
    fn read_everything(&self) -> BackendResult<u64>;

    /// Whether the file at `relative` holds the latest commits until the
    /// engine moves them elsewhere, or says where they are (a journal), for
    /// messages.
    fn journal_file(relative: &str) -> bool;
}

/// The commit counter of an open store and, for a store opened in place, its
/// witness and its seal-on-close. Each engine holds one.
///
/// **Invariant:** the sequence number a batch carries is assigned under the
/// engine's commit lock ([`Commits::next`]) and published after the batch
/// committed ([`Commits::committed`]); a sync publishes to the witness only
/// what was committed before the sync began ([`Commits::sync`]).
pub(crate) struct Commits {
    committed: AtomicU64,
    /// Set once the store in place passed its checks.
    witness: OnceLock<Witness>,
    /// Syncs run so far.
    syncs: AtomicU64,
    /// A test's fault: which syncs fail (see [`Commits::inject_sync_failures`]).
    fault: OnceLock<SyncFault>,
}

/// Decides, from the number of a sync (0 for the first), whether it fails.
pub(crate) type SyncFault = Box<dyn Fn(u64) -> bool + Send + Sync>;

impl std::fmt::Debug for Commits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Commits")
            .field("committed", &self.committed)
            .field("witness", &self.witness)
            .field("syncs", &self.syncs)
            .field("fault", &self.fault.get().is_some())
            .finish()
    }
}

impl Commits {
    /// A counter at `sequence`, what the engine recovered, with no witness
    /// (temporary stores, copies, and a store in place until its checks
    /// passed).
    pub(crate) fn recovered(sequence: u64) -> Self {
        Self {
            committed: AtomicU64::new(sequence),
            witness: OnceLock::new(),
            syncs: AtomicU64::new(0),
            fault: OnceLock::new(),
        }
    }

    /// The sequence number of the last batch committed.
    pub(crate) fn current(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// From now on every sync records what it covered in `witness`.
    fn attach(&self, witness: Witness) {
        let _ = self.witness.set(witness);
    }

    /// For tests of fail-stop: from now on, every sync whose number (0 for
    /// the first sync of this store) `fails` picks fails before it reaches
    /// the disk, with the error a failed `fsync` gives (`EIO`). Only the
    /// first call has an effect.
    pub(crate) fn inject_sync_failures(&self, fails: SyncFault) {
        let _ = self.fault.set(fails);
    }

    /// The sequence number of the next batch. Call under the commit lock.
    pub(crate) fn next(&self) -> u64 {
        self.committed.load(Ordering::Acquire) + 1
    }

    /// Records that the batch numbered `sequence` committed. Call under the
    /// commit lock, after the engine accepted the batch.
    pub(crate) fn committed(&self, sequence: u64) {
        self.committed.store(sequence, Ordering::Release);
    }

    /// Runs the engine's `sync`, then records in the witness every commit
    /// made before the sync began, durably. Runs under group commit.
    ///
    /// # Errors
    /// The error of `sync` or of the witness write.
    pub(crate) fn sync(&self, sync: impl FnOnce() -> BackendResult<()>) -> BackendResult<()> {
        let covered = self.committed.load(Ordering::Acquire);
        let number = self.syncs.fetch_add(1, Ordering::AcqRel);
        if self.fault.get().is_some_and(|fails| fails(number)) {
            return Err(BackendError::Io {
                path: self.witness.get().map(Witness::path).unwrap_or_default(),
                source: std::io::Error::from_raw_os_error(5),
            });
        }
        sync()?;
        match self.witness.get() {
            Some(witness) => witness.record(covered),
            None => Ok(()),
        }
    }
}

/// The seal a store in place writes when it closes cleanly. Declared after
/// the engine's handles in an engine's struct, so it drops (and seals) after
/// the engine closed its files.
#[derive(Debug, Default)]
pub(crate) struct SealOnClose {
    /// The store to seal, its engine and the engine's lock file (taken while
    /// the seal is written); set once the store in place passed its checks.
    store: OnceLock<(PathBuf, &'static str, &'static str)>,
    clean: AtomicBool,
    /// The store met an engine error (a read of a damaged block, a failed
    /// write): it is never sealed, whatever its close says.
    tainted: AtomicBool,
}

impl SealOnClose {
    /// Says the engine closed cleanly: every commit is durable and it wrote
    /// nothing after the failure of a write. Only then is the store sealed.
    pub(crate) fn closed_cleanly(&self) {
        self.clean.store(true, Ordering::Release);
    }

    /// Says the store met an engine error: it will not be sealed.
    pub(crate) fn taint(&self) {
        self.tainted.store(true, Ordering::Release);
    }

    /// Whether the store met an engine error.
    pub(crate) fn tainted(&self) -> bool {
        self.tainted.load(Ordering::Acquire)
    }
}

impl Drop for SealOnClose {
    fn drop(&mut self) {
        let Some((dir, engine, lock_file)) = self.store.get() else { return };
        if !self.clean.load(Ordering::Acquire) || self.tainted() {
            tracing::warn!(path = %dir.display(), "the store did not close cleanly and is not sealed; its next open checks a copy");
            return;
        }
        // The engine has let go of its lock: take it for the time the seal is
        // written, so that a process opening the store meanwhile waits for
        // the seal. If another process took the store first, it is not
        // sealed (its next open checks a copy).
        match hold_lock_file(dir, lock_file) {
            Ok(_lock) => {
                if let Err(e) = seal::write(dir, engine) {
                    tracing::warn!(path = %dir.display(), error = %e, "the store could not be sealed; its next open checks a copy");
                }
            }
            Err(e) => {
                tracing::warn!(path = %dir.display(), error = %e, "the store was not sealed; its next open checks a copy")
            }
        }
    }
}

/// How long [`hold_lock`] retries a held lock: an engine may release its
/// lock a moment after its handle was dropped.
const LOCK_WAIT: Duration = Duration::from_secs(1);

/// Takes the engine's lock on the store in `dir` (the same `flock` the
/// engine takes), so that no other process opens it while it is checked or
/// copied. `None` when the lock file does not exist.
fn hold_lock<E: FolderEngine>(dir: &Path) -> BackendResult<Option<File>> {
    hold_lock_file(dir, E::LOCK_FILE)
}

/// As [`hold_lock`], for the lock file `name`.
fn hold_lock_file(dir: &Path, name: &str) -> BackendResult<Option<File>> {
    let path = dir.join(name);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(BackendError::Io { path, source }),
    };
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(BackendError::Locked { path: dir.to_path_buf() }),
            Err(std::fs::TryLockError::Error(source)) => return Err(BackendError::Io { path, source }),
        }
    }
}

/// Whether `dir` is missing or holds nothing: a store to create.
fn is_new(dir: &Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |mut entries| entries.next().is_none())
}

/// Compares what the engine recovered with what the witness says was
/// acknowledged.
///
/// # Errors
/// [`BackendError::Damaged`] when acknowledged commits are missing, or when
/// the witness is missing from a store that recorded commits.
fn compare<E: FolderEngine>(dir: &Path, reading: Reading, recovered: u64) -> BackendResult<()> {
    let refused = |what: String| BackendError::Damaged {
        store: dir.to_path_buf(),
        reason: format!(
            "the {} store at {} {what}. The store was not opened and no file was changed. Restore it from a backup \
             (or an export), and keep this folder as it is for inspection",
            E::ENGINE,
            dir.display()
        ),
    };
    match reading {
        Reading::Acknowledged(acknowledged) if recovered < acknowledged => {
            let files: Vec<String> =
                seal::file_names(dir).unwrap_or_default().into_iter().filter(|name| E::journal_file(name)).collect();
            let files = if files.is_empty() { "no journal file was found".to_string() } else { files.join(", ") };
            Err(refused(format!(
                "recovered {recovered} commits, but {acknowledged} were acknowledged as durable: the last {} \
                 acknowledged commits (numbers {} to {acknowledged}) are lost. They were written to the journal, so one of \
                 these files must be damaged, cut short or missing: {files}",
                acknowledged - recovered,
                recovered + 1
            )))
        }
        Reading::Acknowledged(_) => Ok(()),
        Reading::Absent if recovered > 0 => Err(refused(format!(
            "recorded {recovered} commits but its durability witness {} is missing, so it cannot tell whether \
             acknowledged commits are lost",
            dir.join(WITNESS_FILE).display()
        ))),
        Reading::Absent => Ok(()),
    }
}

/// Copies the folder `from` (files and folders, recursively) to `to`.
fn copy_tree(from: &Path, to: &Path) -> BackendResult<()> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BackendError::Io { path, source }
    };
    std::fs::create_dir_all(to).map_err(io(to))?;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let source = entry.map_err(io(from))?.path();
        let target = to.join(source.file_name().unwrap_or_default());
        if std::fs::symlink_metadata(&source).map_err(io(&source))?.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            std::fs::copy(&source, &target).map_err(io(&source))?;
        }
    }
    Ok(())
}

/// Says the original folder where an error of the engine names the copy.
fn relocate(error: BackendError, copy: &Path, original: &Path) -> BackendError {
    let moved = |path: PathBuf| match path.strip_prefix(copy) {
        Ok(rest) => original.join(rest),
        Err(_) => path,
    };
    let text = |s: String| s.replace(&copy.display().to_string(), &original.display().to_string());
    match error {
        BackendError::Io { path, source } => BackendError::Io { path: moved(path), source },
        BackendError::Locked { path } => BackendError::Locked { path: moved(path) },
        BackendError::Corrupt { key, reason } => BackendError::Corrupt { key, reason: text(reason) },
        BackendError::Damaged { reason, .. } => {
            BackendError::Damaged { store: original.to_path_buf(), reason: text(reason) }
        }
        BackendError::Engine { engine, message } => BackendError::Engine { engine, message: text(message) },
        BackendError::Unavailable { reason } => BackendError::Unavailable { reason: text(reason) },
        other => other,
    }
}

/// What an open seal found of the files it lists.
#[derive(Debug, Default)]
struct Kept {
    /// Checked and as they were.
    intact: BTreeSet<String>,
    /// Gone since.
    gone: Vec<String>,
}

/// The refusal of a store whose copy the engine could not recover, or could
/// not read back whole, after a crash: names the files that were not checked
/// against a seal (the damaged one is among them), the listed ones gone
/// since, and how many were checked.
fn unrecoverable<E: FolderEngine>(error: BackendError, dir: &Path, kept: &Kept) -> BackendError {
    if matches!(error, BackendError::Damaged { .. }) {
        return error;
    }
    let unchecked: Vec<String> =
        seal::file_names(dir).unwrap_or_default().into_iter().filter(|name| !kept.intact.contains(name)).collect();
    let gone = if kept.gone.is_empty() {
        String::new()
    } else {
        format!(
            "; or one of those there when it was last opened and gone now (the engine may have removed them): {}",
            kept.gone.join(", ")
        )
    };
    let checked = if kept.intact.is_empty() {
        String::new()
    } else {
        format!(" ({} files kept from before were checked and are intact)", kept.intact.len())
    };
    BackendError::Damaged {
        store: dir.to_path_buf(),
        reason: format!(
            "the {} store at {} was not closed cleanly, and a copy of it could not be recovered and read back \
             whole ({error}). The damaged file is one of those written since the store was last opened: {}{gone}\
             {checked}. Records in it may be lost. The store was not opened and no file was changed. Restore it \
             from a backup (or an export), and keep this folder as it is for inspection",
            E::ENGINE,
            dir.display(),
            unchecked.join(", "),
        ),
    }
}

/// The checks on a copy of the store in `dir`: the engine recovers the copy,
/// which must hold every acknowledged commit and read back whole. Returns
/// the copy (opened buffered, with no witness and no seal, removed when it
/// drops) and the number of records it read.
///
/// # Errors
/// `Io` when the copy cannot be made (free space under `TMPDIR`);
/// `Damaged` otherwise, naming the files that may be damaged (see
/// [`unrecoverable`]).
fn checked_copy<E: FolderEngine>(
    dir: &Path,
    config: &StoreConfig,
    reading: Reading,
    kept: &Kept,
) -> BackendResult<(E, u64)> {
    remove_abandoned_scratch();
    let scratch = tempfile::Builder::new()
        .prefix(&format!("{SCRATCH_PREFIX}{}-", std::process::id()))
        .tempdir()
        .map_err(|e| no_room(dir, &std::env::temp_dir(), &e))?;
    let copy = scratch.path().join(dir.file_name().unwrap_or_else(|| "store".as_ref()));
    match copy_tree(dir, &copy) {
        Err(BackendError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::ReadOnlyFilesystem || super::is_out_of_space(source.kind()) =>
        {
            return Err(no_room(dir, scratch.path(), &source));
        }
        // Another error (a file of the store that cannot be read) names it.
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    let config = StoreConfig { durability: Durability::Buffered, ..config.clone() };
    let checked = E::open_engine(&copy, &config, Some(scratch)).and_then(|engine| {
        compare::<E>(dir, reading, engine.integrity().0.current())?;
        let rows = engine.read_everything()?;
        Ok((engine, rows))
    });
    checked.map_err(|e| unrecoverable::<E>(relocate(e, &copy, dir), dir, kept))
}

/// How the scratch folders of the checks are named under `TMPDIR`:
/// `commons-check-<pid>-<random>`.
const SCRATCH_PREFIX: &str = "commons-check-";

/// The error of a check that could not copy the store in `dir` to
/// `scratch`: it says what the check needs.
fn no_room(dir: &Path, scratch: &Path, cause: &dyn std::fmt::Display) -> BackendError {
    BackendError::Unavailable {
        reason: format!(
            "the store at {} was not closed cleanly and must be checked on a copy, but copying it to {} failed \
             ({cause}); the check needs room for one copy of the store under TMPDIR (set TMPDIR to a folder with \
             room). The store was not opened and no file of it was changed",
            dir.display(),
            scratch.display()
        ),
    }
}

/// Removes the scratch folders of checks whose process is gone (killed in
/// the middle of a check), so that a process that crashes while it starts
/// does not fill `TMPDIR` with copies.
fn remove_abandoned_scratch() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(SCRATCH_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists();
        if !alive && Path::new("/proc/self").exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Opens (or creates) the store in `dir` in place, after the checks of the
/// module docs; attaches its witness and its seal-on-close.
///
/// # Errors
/// `Locked` when another handle holds it; `Damaged` naming the damaged file
/// (or the lost commits and the journal they lived in) when a check fails,
/// with every file left as it was; `Io`; the engine's own refusals.
pub(crate) fn open_checked<E: FolderEngine>(dir: &Path, config: &StoreConfig) -> BackendResult<E> {
    std::fs::create_dir_all(dir).map_err(|source| BackendError::Io { path: dir.to_path_buf(), source })?;
    let reading = if is_new(dir) {
        Reading::Absent
    } else {
        let lock = hold_lock::<E>(dir)?;
        let reading = witness::read(dir)?;
        let kept = match seal::check(dir)? {
            SealCheck::Closed => None,
            SealCheck::Open { intact, gone } => Some(Kept { intact, gone }),
            SealCheck::Absent => Some(Kept::default()),
        };
        if let Some(kept) = kept {
            let started = Instant::now();
            let (_copy, rows) = checked_copy::<E>(dir, config, reading, &kept)?;
            tracing::info!(
                engine = E::ENGINE,
                path = %dir.display(),
                rows,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "the store was not closed cleanly: a copy of it recovered every acknowledged commit and read back whole"
            );
        }
        seal::write_open(dir, E::ENGINE, E::immutable)?;
        drop(lock);
        reading
    };
    let engine = E::open_engine(dir, config, None)?;
    let (commits, seal) = engine.integrity();
    let recovered = commits.current();
    compare::<E>(dir, reading, recovered)?;
    commits.attach(Witness::open(dir, recovered, reading)?);
    let _ = seal.store.set((dir.to_path_buf(), E::ENGINE, E::LOCK_FILE));
    Ok(engine)
}

/// Opens a throw-away copy of the existing store in `dir`, for the read-only
/// tools, after the same checks as [`open_checked`]; the store's own files
/// are only read (and locked while they are checked and copied).
///
/// # Errors
/// As [`open_checked`].
pub(crate) fn open_copy<E: FolderEngine>(dir: &Path, config: &StoreConfig) -> BackendResult<E> {
    let lock = hold_lock::<E>(dir)?;
    let reading = witness::read(dir)?;
    let kept = match seal::check(dir)? {
        SealCheck::Open { intact, gone } => Kept { intact, gone },
        SealCheck::Closed | SealCheck::Absent => Kept::default(),
    };
    let (copy, _rows) = checked_copy::<E>(dir, config, reading, &kept)?;
    drop(lock);
    Ok(copy)
}

/// Reads a stored commit sequence number (8 bytes, big endian); a store
/// that never recorded one is at 0.
///
/// # Errors
/// `Corrupt` naming the key and the store when the value is not 8 bytes.
pub(crate) fn decode_sequence(value: Option<&[u8]>, dir: &Path) -> BackendResult<u64> {
    match value {
        None => Ok(0),
        Some(bytes) => bytes.try_into().map(u64::from_be_bytes).map_err(|_| BackendError::Corrupt {
            key: String::from_utf8_lossy(super::COMMIT_SEQUENCE_KEY).into_owned(),
            reason: format!("the commit sequence in {} is {} bytes, not 8", dir.display(), bytes.len()),
        }),
    }
}
