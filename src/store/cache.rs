//! Per-entity LRU record caches.
//!
//! **Invariant:** a cache never holds a value older than the store's. Writers
//! update the cache only after the backend write succeeded (and bump a
//! generation counter); a reader that missed fills the cache only if no write
//! to that cache happened between its store read and its fill.

use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard, PoisonError};

use lru::LruCache;

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

    /// Drops every cached record (for a store that has other writers).
    pub fn clear(&self) {
        if let Some(m) = &self.inner {
            let mut g = Self::lock(m);
            g.generation += 1;
            g.lru.clear();
        }
    }
}
