//! `CommonsManager::cached` (what the gateway runs on its async workers
//! before going to the blocking pool) answers exactly what the read answers,
//! or nothing: nothing on a cache miss, an index lookup, an expired
//! enrollment session (whose deletion is a write), or a store without record
//! caches; and it never touches the engine.

mod common;

use anyhow::Result;
use common::keys::{unknown_hex_id, Person};
use common::world::{manager_on, snapshot, World, DAY};
use commons_gateway::backend::InMemoryCommonsStore;
use commons_gateway::{Clock, CommonsError, CommonsManager, Refusal, StoreConfig};

#[test]
fn a_cached_record_is_answered_as_the_read_answers_it() -> Result<()> {
    let m = manager_on(InMemoryCommonsStore::new())?;
    let w = World::build(&m, "bakery", false)?;
    let anchor_id = w.enroll(&m, &Person::new(), 0)?;
    // Written records are cached by their writes.
    let cached = m.cached(|m| m.anchor(&anchor_id)).expect("a cache hit");
    assert_eq!(cached?, m.anchor(&anchor_id)?);
    let cached = m.cached(|m| m.charter(&w.charter_id)).expect("a cache hit");
    assert_eq!(cached?, m.charter(&w.charter_id)?);
    // Input refused before any read is refused the same way.
    let r = m.cached(|m| m.anchor("not-hex")).expect("no store read needed");
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidId { .. }))), "{r:?}");
    Ok(())
}

#[test]
fn a_miss_or_a_lookup_is_left_to_the_read() -> Result<()> {
    let m = manager_on(InMemoryCommonsStore::new())?;
    let w = World::build(&m, "bakery", false)?;
    let p = Person::new();
    let anchor_id = w.enroll(&m, &p, 0)?;
    // A new manager over the same rows starts with empty caches.
    let rows = snapshot(&m);
    let backend = InMemoryCommonsStore::new();
    for (k, v) in &rows {
        commons_gateway::CommonsStoreBackend::put(&backend, k, v)?;
    }
    let fresh = manager_on(backend)?;
    assert!(fresh.cached(|m| m.anchor(&anchor_id)).is_none());
    assert!(fresh.cached(|m| m.anchor(&unknown_hex_id())).is_none(), "not found is the engine's answer");
    assert!(fresh.cached(|m| m.anchor_by_did(p.did.as_str())).is_none(), "an index lookup reads the engine");
    // The read itself fills the cache; then the cached answer is the same.
    let read = fresh.anchor(&anchor_id)?;
    assert_eq!(fresh.cached(|m| m.anchor(&anchor_id)).expect("now cached")?, read);
    assert_eq!(snapshot(&fresh), rows, "nothing was written");
    Ok(())
}

#[test]
fn an_expired_session_is_left_to_the_read_which_deletes_it() -> Result<()> {
    let m = manager_on(InMemoryCommonsStore::new())?;
    let started = m.start_enrollment("A. Person".into(), None)?;
    let id = started.enrollment_id;
    assert_eq!(m.cached(|m| m.enrollment(&id)).expect("a cache hit")?, m.enrollment(&id)?);
    m.clock().advance(DAY);
    let before = snapshot(&m);
    assert!(m.cached(|m| m.enrollment(&id)).is_none(), "deleting an expired session is a write");
    assert_eq!(snapshot(&m), before, "the cached attempt wrote nothing");
    let r = m.enrollment(&id);
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::Expired { .. }))), "{r:?}");
    let r = m.enrollment(&id);
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::NotFound { .. }))), "{r:?}");
    Ok(())
}

#[test]
fn a_store_without_record_caches_is_never_read_from_them() -> Result<()> {
    let config = StoreConfig { cache_records: 0, ..StoreConfig::default() };
    let m = CommonsManager::with_backend(InMemoryCommonsStore::new(), &config, Clock::manual(common::world::T0))?;
    let anchor = m.bootstrap_anchor(Person::new().did.as_str(), None)?;
    assert!(m.cached(|m| m.anchor(&anchor.anchor.anchor_id)).is_none());
    assert!(m.cached(|m| m.anchor("not-hex")).is_none());
    Ok(())
}
