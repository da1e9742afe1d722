//! `verify` reports every broken invariant by key and nothing on a healthy
//! store: undecodable records, dangling and stale index rows, missing index
//! rows, unknown keys, and revocations whose target does not match.

mod common;

use anyhow::Result;
use common::keys::Person;
use common::world::{manager_on, World, T0};
use commons_gateway::backend::InMemoryCommonsStore;
use commons_gateway::records::{RevocationReason, RevocationRecord, RevocationTarget};
use commons_gateway::Changes;
use commons_gateway::CommonsManager;
use commons_gateway::CommonsStoreBackend;
use commons_gateway::Problem;

fn world() -> Result<(CommonsManager<InMemoryCommonsStore>, World, Person, String)> {
    let m = manager_on(InMemoryCommonsStore::new())?;
    let w = World::build(&m, "verify", false)?;
    let p = Person::new();
    let id = w.enroll(&m, &p, 0)?;
    w.enroll_to_level(&m, &Person::new(), 1, 1)?;
    Ok((m, w, p, id))
}

#[test]
fn healthy_store_is_clean_and_counts_its_rows() -> Result<()> {
    let (m, _, _, _) = world()?;
    let report = m.store().verify()?;
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.rows["anchor/"], 6);
    assert_eq!(report.rows["holder/"], 6);
    assert_eq!(report.rows["member/"], 1);
    assert_eq!(report.rows["charter/"], 1);
    assert_eq!(report.rows["steward/"], 2);
    assert_eq!(report.rows["enrollment/"], 1);
    assert_eq!(report.rows["commons/meta/"], 1);
    Ok(())
}

#[test]
fn each_kind_of_damage_is_reported_by_key() -> Result<()> {
    let (m, w, p, holder_id) = world()?;
    let b = m.store().backend();
    let steward_id = m.steward_by_did(w.stewards[0].did.as_str())?.steward.steward_id;
    b.put(format!("steward/{steward_id}").as_bytes(), b"{not json")?;
    let ghost = "f".repeat(64);
    let stranger = Person::new();
    b.put(format!("anchor_did/{}", stranger.did).as_bytes(), ghost.as_bytes())?;
    b.delete(format!("holder_did/{}", p.did).as_bytes())?;
    b.put(format!("member/{}/{holder_id}", w.domain).as_bytes(), b"Member")?;
    b.put(b"stray/key", b"x")?;
    let report = m.store().verify()?;
    let has = |want: &Problem| report.problems.contains(want);
    assert!(
        report
            .problems
            .iter()
            .any(|x| matches!(x, Problem::Undecodable { key, .. } if *key == format!("steward/{steward_id}"))),
        "{:?}",
        report.problems
    );
    // The undecodable steward's DID row now points to a record that lists nothing.
    assert!(has(&Problem::DanglingIndexRow { key: format!("steward_did/{}", w.stewards[0].did) }));
    assert!(has(&Problem::DanglingIndexRow { key: format!("anchor_did/{}", stranger.did) }));
    assert!(has(&Problem::MissingIndexRow {
        key: format!("holder/{holder_id}"),
        index_key: format!("holder_did/{}", p.did)
    }));
    assert!(has(&Problem::StaleIndexRow {
        key: format!("member/{}/{holder_id}", w.domain),
        found: "Member".into(),
        expected: "Provisional".into()
    }));
    assert!(has(&Problem::UnknownKey { key: "stray/key".into() }));
    assert_eq!(report.problems.len(), 6, "{:#?}", report.problems);
    Ok(())
}

#[test]
fn revocation_whose_target_is_untouched_is_a_mismatch() -> Result<()> {
    let (m, _, _, holder_id) = world()?;
    let r = RevocationRecord::new(
        RevocationTarget::Anchor { anchor_id: holder_id.clone() },
        RevocationReason::Fraud,
        None,
        true,
        30,
        T0,
    )?;
    let mut changes = Changes::new();
    changes.put(&r, None)?;
    m.store().commit(changes)?;
    let report = m.store().verify()?;
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    match &report.problems[0] {
        Problem::RevocationMismatch { key, detail } => {
            assert_eq!(key, &format!("revocation/{}", r.revocation_id));
            assert!(detail.contains(&holder_id), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    Ok(())
}

/// A ban that became an exit is reported: nothing banned can leave, and
/// finalisation bans an exited membership, so an immediate membership
/// revocation over an Exited affiliation means the ban was lost (the state
/// that would let the member apply again).
#[test]
fn banned_membership_found_exited_is_a_mismatch() -> Result<()> {
    use commons_gateway::actions::RevocationRequest;
    use commons_gateway::records::{AffiliationStatus, CommonsHolderRecord};
    let (m, w, _, holder_id) = world()?;
    let r = m.create_revocation(RevocationRequest {
        target: RevocationTarget::Membership { holder_id: holder_id.clone(), jurisdiction: w.domain.clone() },
        reason: RevocationReason::Fraud,
        immediate: true,
        appeal_window_days: None,
    })?;
    assert!(m.store().verify()?.is_clean());
    // Hand-edit the holder record: the Banned affiliation becomes Exited.
    let old: CommonsHolderRecord = m.store().get(&holder_id)?.expect("holder");
    let mut edited = old.clone();
    edited.affiliations[0].status = AffiliationStatus::Exited;
    let mut changes = Changes::new();
    changes.put(&edited, Some(&old))?;
    m.store().commit(changes)?;
    let report = m.store().verify()?;
    let mismatch = report.problems.iter().any(
        |p| matches!(p, Problem::RevocationMismatch { key, .. } if *key == format!("revocation/{}", r.revocation_id)),
    );
    assert!(mismatch, "{:?}", report.problems);
    Ok(())
}
