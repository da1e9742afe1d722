//! The durability witness: how many commits of a store were acknowledged as
//! durable, kept in a file of its own (`commons.witness` in the store's
//! folder), outside the engine's files.
//!
//! Why: an engine that recovers a damaged journal by cutting it at the first
//! bad entry (fjall 3.1 does, silently, and has no strict mode) or a damaged
//! log at the first bad message (sled) can lose acknowledged writes without a
//! word. Every batch the store commits carries its commit sequence number
//! ([`COMMIT_SEQUENCE_KEY`](crate::backend::COMMIT_SEQUENCE_KEY), written in the same
//! atomic batch); after each group sync the highest number that sync covered
//! is written here and made durable *before* any writer it covers is
//! answered. When the store opens, the sequence the engine recovered must be
//! at least the witness's: anything less means acknowledged commits are gone,
//! and the store refuses to open. A torn last commit that was never
//! acknowledged is above the witness, so it is no error.
//!
//! **Format:** 64 bytes, two slots of 32 written alternately, each
//! `b"CGWITNS1"`, the sequence (u64, little endian), 8 bytes of zero, then
//! the first 8 bytes of the SHA-256 of those 24 bytes. A write that tears one slot (a crash
//! in the middle of it) leaves the other, older one, which never claims more
//! than was acknowledged. A file in which neither slot checks is damaged.
//!
//! **Cost:** one `pwrite` and one `fdatasync` of this small file per group
//! sync, after the journal's own sync: measured in the README's "Known limits".

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};

use crate::backend::{BackendError, BackendResult};

/// The witness file's name inside the store folder.
pub const WITNESS_FILE: &str = "commons.witness";

const MAGIC: &[u8; 8] = b"CGWITNS1";
const SLOT: usize = 32;

/// The witness of one open store. See the module docs.
#[derive(Debug)]
pub(crate) struct Witness {
    file: File,
    path: PathBuf,
    /// The sequence last written, and the slot it went to.
    last: Mutex<(u64, usize)>,
}

/// What the witness file says, read without changing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// No witness file: a store made before witnesses, or a new one.
    Absent,
    /// Every commit up to this sequence number was acknowledged durable.
    Acknowledged(u64),
}

fn slot_bytes(sequence: u64) -> [u8; SLOT] {
    let mut slot = [0u8; SLOT];
    slot[..8].copy_from_slice(MAGIC);
    slot[8..16].copy_from_slice(&sequence.to_le_bytes());
    let digest = Sha256::digest(&slot[..24]);
    slot[24..].copy_from_slice(&digest[..8]);
    slot
}

fn parse_slot(slot: &[u8]) -> Option<u64> {
    let digest = Sha256::digest(&slot[..24]);
    (slot.len() == SLOT && &slot[..8] == MAGIC && slot[24..] == digest[..8])
        .then(|| u64::from_le_bytes(slot[8..16].try_into().unwrap_or_default()))
}

/// Reads the witness of the store in `dir` without changing anything.
///
/// # Errors
/// [`BackendError::Damaged`] naming the file when neither slot checks (the
/// file is damaged: the store cannot tell what was acknowledged); `Io` when
/// it cannot be read.
pub(crate) fn read(dir: &Path) -> BackendResult<Reading> {
    let path = dir.join(WITNESS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Reading::Absent),
        Err(source) => return Err(BackendError::Io { path, source }),
    };
    let best = bytes.chunks(SLOT).take(2).filter_map(parse_slot).max();
    match best {
        Some(sequence) => Ok(Reading::Acknowledged(sequence)),
        None => Err(BackendError::Damaged {
            store: dir.to_path_buf(),
            reason: format!(
                "the durability witness {} is damaged ({} bytes, no valid record): the store cannot tell which \
                 commits were acknowledged",
                path.display(),
                bytes.len()
            ),
        }),
    }
}

impl Witness {
    /// Opens (or creates) the witness of the store in `dir` for writing,
    /// starting at `sequence` (what the engine recovered); `reading` is what
    /// [`read`] found in it before the engine opened the store. A new file is
    /// made durable (with its folder entry) before this returns.
    ///
    /// # Errors
    /// `Io` naming the file.
    pub(crate) fn open(dir: &Path, sequence: u64, reading: Reading) -> BackendResult<Self> {
        let path = dir.join(WITNESS_FILE);
        let io = |source| BackendError::Io { path: path.clone(), source };
        let existed = reading != Reading::Absent;
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        let witness = Self { file, path: path.clone(), last: Mutex::new((0, 1)) };
        if reading != Reading::Acknowledged(sequence) {
            // Both slots, so that a torn later write always leaves a valid one.
            let slot = slot_bytes(sequence);
            let mut both = [0u8; 2 * SLOT];
            both[..SLOT].copy_from_slice(&slot);
            both[SLOT..].copy_from_slice(&slot);
            witness.file.write_all_at(&both, 0).map_err(io)?;
            witness.file.sync_all().map_err(io)?;
            if !existed {
                crate::backend::sync_dir(dir)?;
            }
        }
        *witness.last.lock().unwrap_or_else(PoisonError::into_inner) = (sequence, 1);
        Ok(witness)
    }

    /// The witness file.
    pub(crate) fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// Records that every commit up to `sequence` is durable, and makes that
    /// record durable. Called by one group sync at a time, after the
    /// engine's sync succeeded; a sequence not above the last one written
    /// costs nothing.
    ///
    /// # Errors
    /// `Io` naming the file (the caller stops the store, as for any failed sync).
    pub(crate) fn record(&self, sequence: u64) -> BackendResult<()> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if sequence <= last.0 {
            return Ok(());
        }
        let slot = 1 - last.1;
        let io = |source| BackendError::Io { path: self.path.clone(), source };
        self.file.write_all_at(&slot_bytes(sequence), (slot * SLOT) as u64).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        *last = (sequence, slot);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopen_and_a_torn_slot_leaves_the_other() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), Reading::Absent);
        let w = Witness::open(dir.path(), 5, Reading::Absent).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Reading::Acknowledged(5));
        w.record(9).unwrap();
        w.record(7).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Reading::Acknowledged(9), "never goes back");
        w.record(12).unwrap();
        drop(w);
        // Tear the newest slot: the older one (9) still reads.
        let path = dir.path().join(WITNESS_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let newest = if parse_slot(&bytes[..SLOT]) == Some(12) { 0 } else { SLOT };
        bytes[newest + 10] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Reading::Acknowledged(9));
        // Both slots damaged: refused, naming the file.
        std::fs::write(&path, [0u8; 64]).unwrap();
        match read(dir.path()) {
            Err(BackendError::Damaged { reason, .. }) => assert!(reason.contains(WITNESS_FILE), "{reason}"),
            other => panic!("expected Damaged, got {other:?}"),
        }
    }
}
