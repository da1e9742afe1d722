//! Every record type of the identity path survives dropping every handle and
//! reopening the store, on each persistent engine compiled in: anchors with
//! attestations, holders with affiliations, charters with signatures,
//! stewards, enrollment sessions at levels 0, 1 and 2, and every lookup by
//! DID and by domain.

#![cfg(any(feature = "sled-store", feature = "fjall-store"))]

mod common;

use anyhow::Result;
use common::keys::Person;
use common::world::{open_at, World, T0};
use commons_gateway::records::EnrollmentSession;
use commons_gateway::{CommonsManager, Durability, OpenBackend};
use rstest::rstest;

fn open<S: OpenBackend>(dir: &std::path::Path, durability: Durability) -> Result<CommonsManager<S>> {
    open_at(dir, durability, T0)
}

/// What the test reads back, before and after the reopen.
#[derive(Debug, PartialEq)]
struct Observed {
    anchors: Vec<serde_json::Value>,
    holders: Vec<serde_json::Value>,
    charter: serde_json::Value,
    charter_by_domain: serde_json::Value,
    stewards: Vec<serde_json::Value>,
    sessions: Vec<EnrollmentSession>,
}

fn observe<S: OpenBackend>(
    m: &CommonsManager<S>,
    w: &World,
    people: &[&Person],
    sessions: &[String],
) -> Result<Observed> {
    let mut anchors = Vec::new();
    let mut holders = Vec::new();
    for p in w.genesis.iter().chain(people.iter().copied()) {
        let a = m.anchor_by_did(p.did.as_str())?;
        assert_eq!(serde_json::to_value(m.anchor(&a.anchor.anchor_id)?)?, serde_json::to_value(&a)?);
        anchors.push(serde_json::to_value(&a)?);
        let h = m.holder_by_did(p.did.as_str())?;
        assert_eq!(serde_json::to_value(m.holder(&h.holder.holder_id)?)?, serde_json::to_value(&h)?);
        holders.push(serde_json::to_value(&h)?);
    }
    let mut stewards = Vec::new();
    for s in &w.stewards {
        let v = m.steward_by_did(s.did.as_str())?;
        assert_eq!(serde_json::to_value(m.steward(&v.steward.steward_id)?)?, serde_json::to_value(&v)?);
        stewards.push(serde_json::to_value(&v)?);
    }
    let mut raw_sessions = Vec::new();
    for id in sessions {
        raw_sessions.push(m.store().get::<EnrollmentSession>(id)?.expect("session present"));
    }
    Ok(Observed {
        anchors,
        holders,
        charter: serde_json::to_value(m.charter(&w.charter_id)?)?,
        charter_by_domain: serde_json::to_value(m.charter_by_domain(&w.domain)?)?,
        stewards,
        sessions: raw_sessions,
    })
}

fn reopen_keeps_every_record<S: OpenBackend>(durability: Durability) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let enrolled = Person::new();
    let (level0, level1, level2) = (Person::new(), Person::new(), Person::new());
    let (world, sessions, before) = {
        let m = open::<S>(dir.path(), durability)?;
        let w = World::build(&m, "reopen", false)?;
        let anchor_id = w.enroll(&m, &enrolled, 1)?;
        m.add_attestation(&w.stewards[0].sign::<commons_gateway::actions::Attest>(
            &anchor_id,
            serde_json::json!({"level": "Verified", "method": "Document", "expires_at": T0 + 86_400}),
        ))?;
        let sessions = vec![
            w.enroll_to_level(&m, &level0, 0, 0)?,
            w.enroll_to_level(&m, &level1, 1, 0)?,
            w.enroll_to_level(&m, &level2, 2, 1)?,
        ];
        let before = observe(&m, &w, &[&enrolled], &sessions)?;
        assert_eq!(before.sessions.iter().map(|s| s.level).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(before.anchors.last().and_then(|a| a["attestations"].as_array().map(Vec::len)), Some(2));
        assert_eq!(before.charter["founders"].as_array().map(Vec::len), Some(3));
        if durability == Durability::Buffered {
            m.flush()?;
        }
        (w, sessions, before)
        // every handle drops here
    };
    let m = open::<S>(dir.path(), durability)?;
    let after = observe(&m, &world, &[&enrolled], &sessions)?;
    assert_eq!(after, before);
    // The reopened store keeps working: the level-2 session completes.
    let anchor = m.complete_enrollment(
        &level2.sign::<commons_gateway::actions::EnrollComplete>(&sessions[2], serde_json::json!({})),
    )?;
    assert_eq!(anchor.anchor.did, level2.did);
    assert_eq!(m.steward_by_did(world.stewards[1].did.as_str())?.steward.attestations_issued, 2);
    Ok(())
}

#[cfg(feature = "sled-store")]
#[rstest]
#[case::sync(Durability::Sync)]
#[case::buffered(Durability::Buffered)]
fn sled_reopen_keeps_every_record(#[case] durability: Durability) -> Result<()> {
    reopen_keeps_every_record::<commons_gateway::backend::SledCommonsStore>(durability)
}

#[cfg(feature = "fjall-store")]
#[rstest]
#[case::sync(Durability::Sync)]
#[case::buffered(Durability::Buffered)]
fn fjall_reopen_keeps_every_record(#[case] durability: Durability) -> Result<()> {
    reopen_keeps_every_record::<commons_gateway::backend::FjallCommonsStore>(durability)
}
