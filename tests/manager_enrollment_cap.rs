//! The cap on enrollment sessions open at once, through the manager: past
//! it a start is refused `TooManyEnrollments` (429 `too_many_enrollments`)
//! with the seconds to wait, and nothing is written; a session that
//! completes or expires makes room again; a rejected one keeps its place
//! until it expires; concurrent starts in one process never pass the cap
//! (a start may be refused early while others are being written, never
//! one past it), and managers sharing one store (several gateways on one
//! database) count each other's sessions, passing the cap by at most the
//! starts in flight through the other managers.

mod common;

use std::sync::{Arc, Barrier};

use anyhow::Result;
use common::keys::Person;
use common::world::{memory, snapshot, Memory, World, DAY, T0};
use commons_gateway::actions::EnrollComplete;
use commons_gateway::backend::InMemoryCommonsStore;
use commons_gateway::{
    Clock, CommonsError, CommonsManager, Refusal, StoreConfig, DEFAULT_MAX_OPEN_ENROLLMENTS,
    MAX_ENROLLMENT_RETRY_AFTER_SECS,
};
use serde_json::json;

fn start(m: &Memory) -> Result<String, CommonsError> {
    m.start_enrollment("A. Person".into(), None).map(|s| s.enrollment_id)
}

/// The refusal's `(limit, retry_after_secs)`, checking that nothing changed
/// and that it maps to 429 `too_many_enrollments` with that Retry-After.
fn refused_start(m: &Memory) -> Result<(usize, u64)> {
    let before = snapshot(m);
    let err = match start(m) {
        Ok(id) => anyhow::bail!("start past the cap was accepted: {id}"),
        Err(e) => e,
    };
    assert_eq!(snapshot(m), before, "a refused start wrote something");
    assert_eq!((err.status(), err.code()), (429, "too_many_enrollments"), "{err}");
    let retry_after = err.retry_after_secs();
    match err {
        CommonsError::Refused(Refusal::TooManyEnrollments { limit, retry_after_secs }) => {
            assert_eq!(retry_after, Some(retry_after_secs));
            Ok((limit, retry_after_secs))
        }
        other => anyhow::bail!("expected TooManyEnrollments, got {other:?}"),
    }
}

#[test]
fn default_cap_is_ten_thousand() -> Result<()> {
    assert_eq!(memory()?.max_open_enrollments(), 10_000);
    assert_eq!(DEFAULT_MAX_OPEN_ENROLLMENTS, 10_000);
    Ok(())
}

#[test]
fn start_past_the_cap_is_refused_until_a_session_completes() -> Result<()> {
    let m = memory()?.with_max_open_enrollments(3);
    let w = World::build(&m, "bakery", false)?;
    let person = Person::new();
    // One session of the three is brought to level 2, to complete later.
    let vouched = w.enroll_to_level(&m, &person, 2, 0)?;
    start(&m)?;
    start(&m)?;
    // The soonest expiry is a day away: the client is told to look again
    // within a minute.
    assert_eq!(refused_start(&m)?, (3, MAX_ENROLLMENT_RETRY_AFTER_SECS));

    m.complete_enrollment(&person.sign::<EnrollComplete>(&vouched, json!({})))?;
    start(&m)?;
    assert_eq!(refused_start(&m)?.0, 3);
    Ok(())
}

#[test]
fn expired_sessions_make_room_before_they_are_swept() -> Result<()> {
    let m = memory()?.with_max_open_enrollments(2);
    start(&m)?;
    m.clock().advance(100);
    start(&m)?;
    m.clock().advance(DAY - 130);
    // The first session expires in 30 s.
    assert_eq!(refused_start(&m)?, (2, 30));
    m.clock().advance(30);
    start(&m)?;
    // Now the soonest expiry is the second session's, 100 s ahead: capped at 60.
    assert_eq!(refused_start(&m)?, (2, 60));
    m.clock().advance(99);
    assert_eq!(refused_start(&m)?, (2, 1));
    assert_eq!(m.sweep_expired_enrollments()?, 1, "only the first session was expired and unswept");
    Ok(())
}

#[test]
fn rejected_session_keeps_its_place_until_it_expires() -> Result<()> {
    let m = memory()?.with_max_open_enrollments(1);
    let id = start(&m)?;
    m.reject_enrollment_by_operator(&id, "spam".into())?;
    assert_eq!(refused_start(&m)?.0, 1);
    m.clock().advance(DAY);
    start(&m)?;
    Ok(())
}

#[test]
fn zero_cap_refuses_every_start() -> Result<()> {
    let m = memory()?.with_max_open_enrollments(0);
    assert_eq!(refused_start(&m)?, (0, MAX_ENROLLMENT_RETRY_AFTER_SECS));
    Ok(())
}

#[test]
fn concurrent_starts_in_one_process_never_pass_the_cap() -> Result<()> {
    let m = Arc::new(memory()?.with_max_open_enrollments(10));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let m = Arc::clone(&m);
            std::thread::spawn(move || (0..5).map(|_| start(&m)).collect::<Vec<_>>())
        })
        .collect();
    let mut accepted = 0;
    let mut refused = 0;
    for t in threads {
        for r in t.join().map_err(|_| anyhow::anyhow!("a starter thread panicked"))? {
            match r {
                Ok(_) => accepted += 1,
                Err(e) if e.code() == "too_many_enrollments" => refused += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
    println!("40 concurrent starts, cap 10: {accepted} accepted, {refused} refused");
    assert_eq!(accepted + refused, 40);
    // A start whose session is written but whose place is not yet given
    // back counts twice, so a start may be refused while up to 7 others
    // (the other threads) are in flight; never one past the cap.
    assert!((3..=10).contains(&accepted), "{accepted} accepted");
    assert_eq!(m.store().open_enrollments(m.now(), 100)?.count, accepted);
    // Once no start is in flight, the count is exact: starts fill the cap
    // to the last place and no further.
    let mut after = 0;
    while start(&m).is_ok() {
        after += 1;
    }
    assert_eq!(accepted + after, 10);
    assert_eq!(refused_start(&m)?.0, 10);
    assert_eq!(m.store().open_enrollments(m.now(), 100)?.count, 10);
    Ok(())
}

/// `n` managers over one in-memory store, each with its own locks (as
/// gateway processes on one database), the cap at `cap`.
fn gateways(n: usize, cap: usize) -> Result<Vec<Arc<CommonsManager<Arc<InMemoryCommonsStore>>>>> {
    let backend = Arc::new(InMemoryCommonsStore::new());
    (0..n)
        .map(|_| {
            let m = CommonsManager::with_backend(backend.clone(), &StoreConfig::default(), Clock::manual(T0))?;
            Ok(Arc::new(m.with_max_open_enrollments(cap)))
        })
        .collect()
}

#[test]
fn gateways_sharing_one_store_count_each_others_sessions() -> Result<()> {
    let gw = gateways(2, 4)?;
    for m in [&gw[0], &gw[1], &gw[0], &gw[1]] {
        m.start_enrollment("A. Person".into(), None)?;
    }
    for m in &gw {
        let err = m.start_enrollment("A. Person".into(), None).err();
        assert_eq!(err.map(|e| e.code()), Some("too_many_enrollments"));
    }
    Ok(())
}

#[test]
fn concurrent_starts_through_several_gateways_pass_the_cap_by_at_most_the_starts_in_flight_elsewhere() -> Result<()> {
    const GATEWAYS: usize = 3;
    const THREADS_PER_GATEWAY: usize = 3;
    const STARTS_PER_THREAD: usize = 8;
    let gw = gateways(GATEWAYS, 10)?;
    let barrier = Arc::new(Barrier::new(GATEWAYS * THREADS_PER_GATEWAY));
    let threads: Vec<_> = (0..GATEWAYS * THREADS_PER_GATEWAY)
        .map(|i| {
            let m = Arc::clone(&gw[i % GATEWAYS]);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                (0..STARTS_PER_THREAD).map(|_| m.start_enrollment("A. Person".into(), None)).collect::<Vec<_>>()
            })
        })
        .collect();
    let mut accepted = 0;
    for t in threads {
        for r in t.join().map_err(|_| anyhow::anyhow!("a starter thread panicked"))? {
            match r {
                Ok(_) => accepted += 1,
                Err(e) if e.code() == "too_many_enrollments" => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let stored = gw[0].store().open_enrollments(T0, 100)?.count;
    println!("72 starts at once through {GATEWAYS} gateways, cap 10: {accepted} accepted, {stored} stored");
    assert_eq!(stored, accepted);
    // Another gateway's starts in flight are unseen (at most one per thread
    // of each other gateway), and this gateway's own count twice while
    // written (at most its other threads), so a start may be refused early.
    let others = (GATEWAYS - 1) * THREADS_PER_GATEWAY;
    assert!((10 - (THREADS_PER_GATEWAY - 1)..=10 + others).contains(&accepted), "{accepted} accepted");
    Ok(())
}
