//! Fail-stop after a failed write: once a write or a sync of a persistent
//! store has failed, the store serves nothing more until the process reopens
//! it.
//!
//! Why: after a failed write or fsync (disk full, I/O error) the engine's
//! memory and its files may disagree. sled, for one, keeps a batch whose
//! flush failed visible to readers although it is gone after a restart (seen
//! here on a full disk), and refuses every later write with the same error;
//! fjall refuses later writes itself (`Poisoned`). Serving reads from that
//! state would show data that was never acknowledged and may vanish, so the
//! store stops instead, and says why.
//!
//! **Invariant:** after [`FailStop::record`] saw an error, every
//! [`FailStop::check`] answers [`BackendError::Unavailable`] naming the store
//! folder and the first cause. Reopening (a restart) recovers the engine's
//! durable state: every acknowledged write, and the failed batch either whole
//! or not at all.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{BackendError, BackendResult};

/// The stopped flag of one store. See the module docs.
#[derive(Debug)]
pub(crate) struct FailStop {
    engine: &'static str,
    dir: PathBuf,
    cause: OnceLock<String>,
}

impl FailStop {
    /// A running store: `engine` and its folder `dir` are named in the error.
    pub(crate) fn new(engine: &'static str, dir: &Path) -> Self {
        Self { engine, dir: dir.to_path_buf(), cause: OnceLock::new() }
    }

    /// `Ok` while the store runs.
    ///
    /// # Errors
    /// [`BackendError::Unavailable`] once a write or sync has failed.
    pub(crate) fn check(&self) -> BackendResult<()> {
        match self.cause.get() {
            None => Ok(()),
            Some(cause) => Err(BackendError::Unavailable {
                reason: format!(
                    "the {} store at {} stopped after a failed write ({cause}); nothing written since was \
                     acknowledged. Fix the cause (disk space, permissions, the disk) and restart the process: \
                     every acknowledged write is kept, the failed one is kept whole or not at all",
                    self.engine,
                    self.dir.display()
                ),
            }),
        }
    }

    /// Runs a sync that group commit shares ([`super::GroupSync`]): refused
    /// once the store has stopped, and a failure stops the store before the
    /// group learns of it. So a writer waiting on a sync that failed, or one
    /// that wrote just before the failure, retries into `Unavailable` rather
    /// than into a second fsync that may report success for pages the first
    /// one lost (Linux reports a writeback error once).
    ///
    /// # Errors
    /// `Unavailable` once stopped; the error of `sync`.
    pub(crate) fn guarded_sync(&self, sync: impl FnOnce() -> BackendResult<()>) -> BackendResult<()> {
        self.check()?;
        self.record(sync())
    }

    /// Passes `result` through, stopping the store if it is an error of the
    /// engine or the file system, `Unavailable` included (fjall reports that
    /// it poisoned itself, possibly in a background worker, that way).
    /// `InvalidKey` and `Conflict` (refused before anything was written) do
    /// not stop it; only the first cause is kept.
    pub(crate) fn record<T>(&self, result: BackendResult<T>) -> BackendResult<T> {
        if let Err(e) = &result {
            let refused_up_front = matches!(e, BackendError::InvalidKey { .. } | BackendError::Conflict { .. });
            if !refused_up_front && self.cause.get().is_none() {
                // Only the first cause is kept; later ones follow from it.
                let _ = self.cause.set(e.to_string());
                tracing::error!(engine = self.engine, dir = %self.dir.display(), error = %e,
                    "write failed; the store serves nothing more until the process restarts");
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_error(kind: std::io::ErrorKind) -> BackendError {
        BackendError::Io { path: "/data/commons.sled/db".into(), source: kind.into() }
    }

    #[test]
    fn a_failed_write_stops_the_store_with_its_first_cause() {
        let stop = FailStop::new("sled", Path::new("/data/commons.sled"));
        assert!(stop.check().is_ok());
        assert!(stop.record(Ok::<_, BackendError>(7)).is_ok());
        assert!(stop.check().is_ok(), "a success does not stop it");

        let r = stop.record::<()>(Err(io_error(std::io::ErrorKind::StorageFull)));
        assert!(matches!(r, Err(BackendError::Io { .. })), "the error itself is passed through: {r:?}");
        let _ = stop.record::<()>(Err(io_error(std::io::ErrorKind::PermissionDenied)));
        match stop.check() {
            Err(BackendError::Unavailable { reason }) => {
                assert!(reason.contains("/data/commons.sled"), "{reason}");
                assert!(reason.contains("no storage space"), "first cause kept: {reason}");
                assert!(!reason.contains("permission denied"), "later causes dropped: {reason}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[test]
    fn refused_keys_do_not_stop_the_store() {
        let stop = FailStop::new("fjall", Path::new("/data/commons.fjall"));
        let r = stop.record::<()>(Err(BackendError::InvalidKey { key: String::new(), reason: "key is empty" }));
        assert!(r.is_err());
        assert!(stop.check().is_ok());
        let r = stop.record::<()>(Err(BackendError::Conflict { key: "anchor/ab".into() }));
        assert!(matches!(r, Err(BackendError::Conflict { .. })), "{r:?}");
        assert!(stop.check().is_ok(), "a failed precondition wrote nothing, so the store keeps serving");
    }
}
