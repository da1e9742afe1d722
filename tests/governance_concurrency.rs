//! Concurrent read-modify-write operations on one record lose nothing, on
//! every engine compiled in: 8 threads casting 8 x 50 votes on one amendment
//! end with exactly 400 votes, and 8 threads making 8 x 100 attestations by
//! one steward raise its `attestations_issued` by exactly 800. Both are
//! checked through the manager and through a fresh store with no cache (what
//! the engine really holds). Persistent engines run with `Durability::Sync`:
//! concurrent writers share fsyncs.

mod common;

use std::thread;

use anyhow::{ensure, Result};
use common::keys::Person;
use common::world::{make_member, memory as memory_manager, new_members, World, T0};
use commons_gateway::actions::Attest;
use commons_gateway::actions::{AmendmentPropose, AmendmentSubmit, CastVote};
use commons_gateway::backend::InMemoryCommonsStore;
use commons_gateway::records::Capability;
use commons_gateway::records::StewardRecord;
use commons_gateway::records::{Amendment, AmendmentStatus};
use commons_gateway::CommonsManager;
use commons_gateway::CommonsStore;
use commons_gateway::{CommonsStoreBackend, StoreConfig};
use rstest::rstest;
use serde_json::json;

const THREADS: usize = 8;
const VOTES_PER_THREAD: usize = 50;
const ATTESTATIONS_PER_THREAD: usize = 100;

/// What the engine holds for `id`, read with no cache in between.
fn uncached<S: CommonsStoreBackend, E: commons_gateway::Entity>(m: &CommonsManager<S>, id: &str) -> Result<E> {
    let store = CommonsStore::new(m.store().backend(), &StoreConfig { cache_records: 0, ..StoreConfig::default() })?;
    store.get::<E>(id)?.ok_or_else(|| anyhow::anyhow!("{} {id} missing", E::NAME))
}

fn concurrent_votes_are_all_kept<S: CommonsStoreBackend>(m: &CommonsManager<S>) -> Result<()> {
    let w = World::build(m, "votes", false)?;
    let proposer = Person::new();
    m.bootstrap_anchor(proposer.did.as_str(), None)?;
    make_member(m, &proposer.did, &w.domain, &[Capability::Propose])?;
    let voters = new_members(m, &w.domain, THREADS * VOTES_PER_THREAD, &[Capability::Vote])?;
    let a = m.propose_amendment(&proposer.sign::<AmendmentPropose>(
        "-",
        json!({"charter_id": w.charter_id, "title": "Busy vote",
               "changes": [{"target": "rules", "change": "Add", "new_value": "More bread"}]}),
    ))?;
    let id = a.amendment_id.clone();
    m.submit_amendment(&proposer.sign::<AmendmentSubmit>(&id, json!({})))?;
    m.open_amendment_voting_by_operator(&id)?;
    // Signed up front so that the threads only race on the amendment.
    let ballots: Vec<_> =
        voters.iter().enumerate().map(|(i, v)| v.sign::<CastVote>(&id, json!({"approve": i % 3 != 0}))).collect();

    thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = ballots
            .chunks(VOTES_PER_THREAD)
            .map(|chunk| {
                s.spawn(move || -> Result<()> {
                    for b in chunk {
                        m.vote_amendment(b)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("voting thread panicked"))??;
        }
        Ok(())
    })?;

    let total = THREADS * VOTES_PER_THREAD;
    for a in [m.amendment(&id)?, uncached::<S, Amendment>(m, &id)?] {
        ensure!(a.votes.len() == total, "{} votes kept of {total}", a.votes.len());
        let mut voters_seen: Vec<_> = a.votes.iter().map(|v| v.voter_did.clone()).collect();
        voters_seen.sort();
        voters_seen.dedup();
        ensure!(voters_seen.len() == total, "a voter counted twice");
    }
    let closed = m.close_amendment(&id, true)?;
    ensure!(closed.tally.eligible == total as u64 && closed.tally.votes == total as u64);
    ensure!(closed.tally.approvals == (0..total).filter(|i| i % 3 != 0).count() as u64);
    ensure!(matches!(closed.amendment.status, AmendmentStatus::Ratified { .. }));
    Ok(())
}

fn concurrent_attestations_count_every_one<S: CommonsStoreBackend>(m: &CommonsManager<S>) -> Result<()> {
    let w = World::build(m, "attest", false)?;
    let steward = &w.stewards[0];
    let steward_id = StewardRecord::id_for(&steward.did);
    let before = m.steward(&steward_id)?.steward.attestations_issued;
    // Four anchors, two threads on each: the threads race on the steward's
    // counter and, pairwise, on an anchor.
    let people = new_members(m, &w.domain, 4, &[])?;
    let anchors: Vec<String> =
        people.iter().map(|p| Ok(m.anchor_by_did(p.did.as_str())?.anchor.anchor_id)).collect::<Result<_>>()?;

    thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let anchor_id = anchors[t % anchors.len()].clone();
                s.spawn(move || -> Result<()> {
                    for i in 0..ATTESTATIONS_PER_THREAD {
                        let level = if i % 2 == 0 { "Strong" } else { "Verified" };
                        m.add_attestation(&steward.sign::<Attest>(
                            &anchor_id,
                            json!({"level": level, "method": "InPerson", "expires_at": T0 + 86_400 + i as u64}),
                        ))?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("attesting thread panicked"))??;
        }
        Ok(())
    })?;

    let expected = before + (THREADS * ATTESTATIONS_PER_THREAD) as u64;
    let cached = m.steward(&steward_id)?.steward.attestations_issued;
    let stored = uncached::<S, StewardRecord>(m, &steward_id)?.attestations_issued;
    ensure!(cached == expected && stored == expected, "issued: cached {cached}, stored {stored}, expected {expected}");
    for anchor_id in &anchors {
        let a = m.anchor(anchor_id)?.anchor;
        ensure!(a.attestations.len() == 1, "one attestation per issuer, got {}", a.attestations.len());
        ensure!(a.attestations[0].issuer_did == steward.did);
    }
    Ok(())
}

/// One of the checks above, on a manager of engine `S`.
type Check<S> = fn(&CommonsManager<S>) -> Result<()>;

#[rstest]
#[case::votes_400_concurrent_are_all_kept(concurrent_votes_are_all_kept)]
#[case::attestations_800_concurrent_are_all_counted(concurrent_attestations_count_every_one)]
fn memory(#[case] check: Check<InMemoryCommonsStore>) -> Result<()> {
    check(&memory_manager()?)
}

#[cfg(feature = "sled-store")]
#[rstest]
#[case::votes_400_concurrent_are_all_kept(concurrent_votes_are_all_kept)]
#[case::attestations_800_concurrent_are_all_counted(concurrent_attestations_count_every_one)]
fn sled(#[case] check: Check<commons_gateway::backend::SledCommonsStore>) -> Result<()> {
    let dir = tempfile::tempdir()?;
    check(&common::world::open_at(dir.path(), commons_gateway::Durability::Sync, T0)?)
}

#[cfg(feature = "fjall-store")]
#[rstest]
#[case::votes_400_concurrent_are_all_kept(concurrent_votes_are_all_kept)]
#[case::attestations_800_concurrent_are_all_counted(concurrent_attestations_count_every_one)]
fn fjall(#[case] check: Check<commons_gateway::backend::FjallCommonsStore>) -> Result<()> {
    let dir = tempfile::tempdir()?;
    check(&common::world::open_at(dir.path(), commons_gateway::Durability::Sync, T0)?)
}
