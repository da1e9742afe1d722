//! Striped per-record locks: read-modify-write operations on one record are
//! serialised inside this process, so N concurrent updates are N updates.
//!
//! **Invariant:** an operation locks the stripes of every record it changes
//! in ascending stripe order, all at once, so two operations never deadlock.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard, PoisonError};

const LOCK_STRIPES: usize = 256;

/// Striped per-record locks.
pub(crate) struct LockTable {
    stripes: Vec<Mutex<()>>,
}

impl LockTable {
    pub(crate) fn new() -> Self {
        Self { stripes: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect() }
    }

    /// Locks the stripes of every id, in ascending stripe order.
    pub(crate) fn lock(&self, ids: &[&str]) -> Vec<MutexGuard<'_, ()>> {
        let mut idx: Vec<usize> = ids
            .iter()
            .map(|id| {
                let mut h = DefaultHasher::new();
                id.hash(&mut h);
                (h.finish() % LOCK_STRIPES as u64) as usize
            })
            .collect();
        idx.sort_unstable();
        idx.dedup();
        // The guarded value is `()`: a poisoned stripe protects no state.
        idx.into_iter().map(|i| self.stripes[i].lock().unwrap_or_else(PoisonError::into_inner)).collect()
    }
}
