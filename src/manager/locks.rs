//! Striped per-record locks: read-modify-write operations on one record are
//! serialised inside this process, so N concurrent updates are N updates.
//!
//! **Invariant:** an operation locks the stripes of every record it changes
//! in ascending stripe order, all at once, so two operations never deadlock.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

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
        // The guarded value is `()`: a poisoned stripe protects no state.
        Self::stripes(ids).into_iter().map(|i| self.stripes[i].lock().unwrap_or_else(PoisonError::into_inner)).collect()
    }

    /// Locks the stripes of every id if none is held now; `None` (nothing
    /// held) rather than waiting.
    pub(crate) fn try_lock(&self, ids: &[&str]) -> Option<Vec<MutexGuard<'_, ()>>> {
        Self::stripes(ids)
            .into_iter()
            .map(|i| match self.stripes[i].try_lock() {
                Ok(guard) => Some(guard),
                Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            })
            .collect()
    }

    /// The stripes of `ids`, ascending, each once.
    fn stripes(ids: &[&str]) -> Vec<usize> {
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
        idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_lock_takes_free_stripes_and_waits_for_none() {
        let table = LockTable::new();
        let held = table.lock(&["a"]);
        assert!(table.try_lock(&["a"]).is_none(), "a held stripe is not waited for");
        assert!(table.try_lock(&["a", "b"]).is_none(), "nor is any set that holds it");
        drop(held);
        let both = table.try_lock(&["a", "b", "a"]).expect("free stripes");
        assert_eq!(both.len(), LockTable::stripes(&["a", "b"]).len());
    }
}
