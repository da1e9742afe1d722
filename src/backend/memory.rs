//! [`InMemoryCommonsStore`]: a `BTreeMap` behind a lock. Always compiled; the
//! default `CommonsBackend` of test builds.
//!
//! **Invariant:** a batch's preconditions are checked and its operations
//! applied under the write lock, so readers see all of it or none of it and
//! no write comes between the check and the write. Nothing survives the process: [`Durability`] is
//! accepted and ignored, and the store says so (`PERSISTENT = false`).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::{PoisonError, RwLock};

#[allow(unused_imports)] // named in the docs above
use super::Durability;
use super::{
    check_preconditions, validate_key, BackendResult, BatchOp, CommonsStoreBackend, OpenBackend, Rows, StoreConfig,
    WriteBatch,
};

/// A store that lives in RAM only. Loses everything when dropped.
#[derive(Debug, Default)]
pub struct InMemoryCommonsStore {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl InMemoryCommonsStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl CommonsStoreBackend for InMemoryCommonsStore {
    super::engine_identity!();

    fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
        validate_key(key)?;
        // A panic while holding the lock happens only between whole-batch
        // updates (insert/remove cannot leave the map half-changed), so a
        // poisoned lock still guards a consistent map.
        Ok(self.map.read().unwrap_or_else(PoisonError::into_inner).get(key).cloned())
    }

    fn scan_from(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize) -> BackendResult<Rows> {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        let lower = match start_after {
            Some(after) if after >= prefix => Bound::Excluded(after.to_vec()),
            _ => Bound::Included(prefix.to_vec()),
        };
        Ok(map
            .range((lower, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn apply(&self, batch: WriteBatch) -> BackendResult<()> {
        batch.validate()?;
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        check_preconditions(batch.preconditions(), |key| Ok(map.get(key).cloned()))?;
        for op in batch.ops {
            match op {
                BatchOp::Put(k, v) => {
                    map.insert(k, v);
                }
                BatchOp::Delete(k) => {
                    map.remove(&k);
                }
            }
        }
        Ok(())
    }

    fn flush(&self) -> BackendResult<()> {
        Ok(())
    }

    fn size_on_disk(&self) -> BackendResult<u64> {
        Ok(0)
    }
}

impl OpenBackend for InMemoryCommonsStore {
    const NAME: &'static str = "memory";
    const PERSISTENT: bool = false;
    const FOLDER: &'static str = "commons.memory";

    /// Returns a new, empty store; `dir` is not touched (nothing persists).
    fn open(_dir: &Path, _config: &StoreConfig) -> BackendResult<Self> {
        Ok(Self::new())
    }

    fn temporary(_config: &StoreConfig) -> BackendResult<Self> {
        Ok(Self::new())
    }
}
