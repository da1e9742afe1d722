//! Per-entity LRU record caches, and the cache-only mode of a thread.
//!
//! **Invariant:** a cache never holds a value older than the store's. Writers
//! update the cache only after the backend write succeeded (and bump a
//! generation counter); a reader that missed fills the cache only if no write
//! to that cache happened between its store read and its fill.
//!
//! **Cache-only mode** ([`cache_only`]): a call run in it may read the
//! caches (a short mutex each, no I/O) but never reaches the engine or waits
//! for a record lock: the first such step is refused ([`refuse_io`]) and the
//! whole call's result is thrown away, so the caller runs the call again
//! normally. A call therefore answers in cache-only mode exactly what it
//! answers normally, or nothing.

use std::cell::Cell;
use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard, PoisonError};

use lru::LruCache;

use super::StoreError;

/// The cache-only state of a thread.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Normal: every step may do I/O.
    Off,
    /// Inside [`cache_only`], nothing refused yet.
    On,
    /// Inside [`cache_only`], a step was refused: the result is void.
    Refused,
}

thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode::Off) };
}

/// Sets the thread's mode back when a [`cache_only`] call ends (also on a
/// panic).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        MODE.with(|m| m.set(Mode::Off));
    }
}

/// Runs `call` in cache-only mode (see the module docs): `Some` with its
/// result when it needed neither the engine nor a wait, `None` when a step
/// was refused (the result, whatever it was, is dropped). The mode is per
/// thread and covers only this synchronous call.
pub(crate) fn cache_only<T>(call: impl FnOnce() -> T) -> Option<T> {
    if MODE.with(Cell::get) != Mode::Off {
        // Already inside one: the outer call judges the result.
        return Some(call());
    }
    MODE.with(|m| m.set(Mode::On));
    let _restore = Restore;
    let out = call();
    (MODE.with(Cell::get) == Mode::On).then_some(out)
}

/// Whether this thread runs a call in cache-only mode.
pub(crate) fn in_cache_only() -> bool {
    MODE.with(Cell::get) != Mode::Off
}

/// Refuses a step that needs the engine or a wait: marks the running
/// cache-only call void and answers the error that unwinds it.
pub(crate) fn refuse_io() -> StoreError {
    MODE.with(|m| m.set(Mode::Refused));
    StoreError::NeedsEngine
}

/// `Ok` unless this thread is in cache-only mode (then [`refuse_io`]).
///
/// # Errors
/// `NeedsEngine` in cache-only mode.
pub(crate) fn check_io() -> Result<(), StoreError> {
    if in_cache_only() {
        Err(refuse_io())
    } else {
        Ok(())
    }
}

struct Inner<E> {
    lru: LruCache<String, E>,
    generation: u64,
}

/// An LRU cache of decoded records of one entity, keyed by id. Capacity 0
/// turns it off (every read goes to the store).
pub struct RecordCache<E> {
    inner: Option<Mutex<Inner<E>>>,
}

/// What a reader remembers between its miss and its fill.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl<E: Clone> RecordCache<E> {
    /// A cache of `capacity` records (0: disabled).
    pub fn new(capacity: usize) -> Self {
        Self { inner: NonZeroUsize::new(capacity).map(|c| Mutex::new(Inner { lru: LruCache::new(c), generation: 0 })) }
    }

    fn lock(m: &Mutex<Inner<E>>) -> MutexGuard<'_, Inner<E>> {
        // Every update below is a single LRU call plus a counter bump; a panic
        // cannot leave the pair half-updated in a way that matters (a bumped
        // generation only makes readers skip a fill).
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached record, or a ticket for [`RecordCache::fill`] after a miss.
    pub fn get(&self, id: &str) -> Result<E, Ticket> {
        let Some(m) = &self.inner else { return Err(Ticket(0)) };
        let mut g = Self::lock(m);
        match g.lru.get(id) {
            Some(e) => Ok(e.clone()),
            None => Err(Ticket(g.generation)),
        }
    }

    /// Caches a record read from the store, unless a write happened since
    /// the ticket was taken.
    pub fn fill(&self, ticket: Ticket, id: &str, record: &E) {
        if let Some(m) = &self.inner {
            let mut g = Self::lock(m);
            if g.generation == ticket.0 && !g.lru.contains(id) {
                g.lru.put(id.to_string(), record.clone());
            }
        }
    }

    /// After a successful write: the new value (or `None` when deleted).
    pub fn written(&self, id: &str, record: Option<E>) {
        if let Some(m) = &self.inner {
            let mut g = Self::lock(m);
            g.generation += 1;
            match record {
                Some(r) => {
                    g.lru.put(id.to_string(), r);
                }
                None => {
                    g.lru.pop(id);
                }
            }
        }
    }

    /// Whether the cache holds records at all (capacity above 0).
    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Drops every cached record (for a store that has other writers).
    pub fn clear(&self) {
        if let Some(m) = &self.inner {
            let mut g = Self::lock(m);
            g.generation += 1;
            g.lru.clear();
        }
    }
}
