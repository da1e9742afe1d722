//! [`Probe`]: an in-memory backend that tells the tests what the store does
//! to it: it logs every read (`get <key>`, `scan <prefix>`) and, once armed
//! with [`Probe::fail_nth`], fails one `apply` with `Unavailable`, as a
//! networked engine may; with [`Probe::lose_answer_of_nth`], writes one and
//! still answers `Unavailable`, as when a database connection breaks during
//! `COMMIT` after the server committed.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use commons_gateway::backend::{BackendError, BackendResult, InMemoryCommonsStore, WriteBatch};
use commons_gateway::CommonsStoreBackend;

/// An [`InMemoryCommonsStore`] that logs reads and fails an `apply` on demand.
#[derive(Default)]
pub struct Probe {
    inner: InMemoryCommonsStore,
    reads: Mutex<Vec<String>>,
    /// Applies still to let through before the failing one, plus one; 0 = disarmed.
    countdown: AtomicUsize,
    /// The failing apply is written before it fails.
    written_anyway: AtomicBool,
    failures: AtomicUsize,
}

impl Probe {
    /// The `n`-th apply from now (1 = the next one) fails with
    /// `Unavailable`, once; later applies succeed.
    pub fn fail_nth(&self, n: usize) {
        self.written_anyway.store(false, Ordering::SeqCst);
        self.countdown.store(n, Ordering::SeqCst);
    }

    /// The `n`-th apply from now is written and then answered
    /// `Unavailable`, once.
    pub fn lose_answer_of_nth(&self, n: usize) {
        self.written_anyway.store(true, Ordering::SeqCst);
        self.countdown.store(n, Ordering::SeqCst);
    }

    /// How many applies failed so far.
    pub fn failures(&self) -> usize {
        self.failures.load(Ordering::SeqCst)
    }

    /// The reads logged since the last call, oldest first.
    pub fn take_reads(&self) -> Vec<String> {
        std::mem::take(&mut *self.reads.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn log(&self, entry: String) {
        self.reads.lock().unwrap_or_else(PoisonError::into_inner).push(entry);
    }
}

impl CommonsStoreBackend for Probe {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn persistent(&self) -> bool {
        self.inner.persistent()
    }
    fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
        self.log(format!("get {}", String::from_utf8_lossy(key)));
        self.inner.get(key)
    }
    fn scan_from(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> BackendResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.log(format!("scan {}", String::from_utf8_lossy(prefix)));
        self.inner.scan_from(prefix, start_after, limit)
    }
    fn apply(&self, batch: WriteBatch) -> BackendResult<()> {
        let armed = self.countdown.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1));
        if armed == Ok(1) {
            self.failures.fetch_add(1, Ordering::SeqCst);
            if self.written_anyway.load(Ordering::SeqCst) {
                self.inner.apply(batch)?;
            }
            return Err(BackendError::Unavailable { reason: "injected failure".into() });
        }
        self.inner.apply(batch)
    }
    fn flush(&self) -> BackendResult<()> {
        self.inner.flush()
    }
    fn size_on_disk(&self) -> BackendResult<u64> {
        self.inner.size_on_disk()
    }
}
