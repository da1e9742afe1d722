//! Group commit: many writers share one fsync.
//!
//! **Invariant:** a caller of [`GroupSync::sync_after_write`] returns `Ok` only
//! after a sync that *started after its own write was applied* has succeeded.
//! While one sync runs, later writers queue; the next sync covers all of them,
//! so durable throughput grows with the number of concurrent writers instead of
//! being capped at one fsync per request.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

#[derive(Debug, Default)]
struct State {
    /// Writes registered so far (a sequence number per write).
    registered: u64,
    /// Every write numbered `<= synced` is durable.
    synced: u64,
    /// A sync is in progress.
    syncing: bool,
}

/// Shares one sync among concurrent writers. See the module docs.
#[derive(Debug, Default)]
pub struct GroupSync {
    state: Mutex<State>,
    done: Condvar,
}

impl GroupSync {
    /// A coordinator with no write registered.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is three integers updated together; a panic elsewhere
        // cannot leave them inconsistent, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Call after a write has been applied (visible to the engine). Returns when
    /// a sync that began after that point has completed: either one this call
    /// ran itself (`fsync`) or one run by a concurrent caller.
    ///
    /// # Errors
    /// The error of `fsync` when this caller ran it and it failed. Callers
    /// waiting on a failed sync retry it themselves, so no caller is told
    /// `Ok` without a successful sync.
    pub fn sync_after_write<E>(&self, fsync: impl Fn() -> Result<(), E>) -> Result<(), E> {
        let mut st = self.lock();
        st.registered += 1;
        let mine = st.registered;
        loop {
            if st.synced >= mine {
                return Ok(());
            }
            if st.syncing {
                st = self.done.wait(st).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            st.syncing = true;
            let target = st.registered;
            drop(st);
            let result = fsync();
            st = self.lock();
            st.syncing = false;
            if result.is_ok() {
                st.synced = st.synced.max(target);
            }
            self.done.notify_all();
            result?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    #[test]
    fn concurrent_writers_share_syncs() {
        let group = Arc::new(GroupSync::new());
        let syncs = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (group, syncs) = (group.clone(), syncs.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        group
                            .sync_after_write(|| {
                                syncs.fetch_add(1, Ordering::SeqCst);
                                std::thread::yield_now();
                                Ok::<(), ()>(())
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let n = syncs.load(Ordering::SeqCst);
        assert!((1..=400).contains(&n), "{n} syncs for 400 writes");
    }

    #[test]
    fn failed_sync_is_reported_and_retried() {
        let group = GroupSync::new();
        assert_eq!(group.sync_after_write(|| Err("disk full")), Err("disk full"));
        assert_eq!(group.sync_after_write(|| Ok::<(), &str>(())), Ok(()));
    }
}
