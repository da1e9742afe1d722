//! The store's typed lookups and walks, through `CommonsStore` itself: by
//! DID, by domain, by parent (a jurisdiction's members, a target's
//! revocations, an appellant's appeals), due by a time (`for_each_due`), and
//! the paging rules every list shares (a page ending at the last row hands
//! out no cursor). The manager and the gateway reach records only through
//! these, so they are tested here once, on the in-memory engine.

mod common;

use std::collections::BTreeSet;

use anyhow::Result;
use common::keys::Person;
use common::world::{make_member, memory, new_members, world_with_member, Memory, World, DAY, T0, WEEK};
use commons_gateway::actions::{AmendmentOpenVoting, AmendmentPropose, AmendmentSubmit, AppealFile};
use commons_gateway::actions::{ResolveRequest, RevocationRequest};
use commons_gateway::records::{AffiliationStatus, Capability, Outcome, RevocationReason, RevocationTarget};
use commons_gateway::{CommonsStoreBackend, Due, Paging};
use serde_json::json;

/// The ids `for_each_due` visits for `due` at `now`, in visiting order.
fn due_ids(m: &Memory, due: Due, now: u64) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    m.store().for_each_due(due, now, |id| -> Result<(), commons_gateway::StoreError> {
        ids.push(id.to_string());
        Ok(())
    })?;
    Ok(ids)
}

#[test]
fn lookups_by_did_and_domain_find_the_records_and_nothing_else() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let store = m.store();
    let member = &w.genesis[3];
    let anchor = store.anchor_by_did(&member.did)?.expect("genesis 3 has an anchor");
    assert_eq!(anchor.did, member.did);
    let holder = store.holder_by_did(&member.did)?.expect("genesis 3 has a holder record");
    assert_eq!(holder.holder_id, anchor.anchor_id);
    assert!(store.steward_by_did(&member.did)?.is_none(), "genesis 3 is not a steward");
    let steward = store.steward_by_did(&w.stewards[0].did)?.expect("steward 0 has a steward record");
    assert_eq!(steward.did, w.stewards[0].did);

    let stranger = Person::new();
    assert!(store.anchor_by_did(&stranger.did)?.is_none());
    assert!(store.holder_by_did(&stranger.did)?.is_none());

    let charter = store.charter_by_domain(&w.domain)?.expect("the coop's charter");
    assert_eq!(charter.charter_id, w.charter_id);
    assert!(store.has_charter(&w.domain)?);
    assert!(!store.has_charter("coop:nowhere")?);
    assert!(store.charter_by_domain("coop:nowhere")?.is_none());
    Ok(())
}

#[test]
fn members_of_filters_on_the_row_and_membership_row_names_the_status() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let ids: Vec<String> = w.genesis[2..5]
        .iter()
        .map(|p| make_member(&m, &p.did, &w.domain, &[Capability::Vote]))
        .collect::<Result<_>>()?;
    m.ban_affiliation(&ids[0], &w.domain, None)?;
    let store = m.store();

    let everyone = store.members_of(&w.domain, None, Paging::new(None, 10))?;
    let listed: BTreeSet<String> = everyone.items.iter().map(|h| h.holder_id.clone()).collect();
    assert_eq!(listed, ids.iter().cloned().collect::<BTreeSet<_>>());
    assert_eq!(everyone.next_cursor, None, "three members fit one page of ten");

    let members = store.members_of(&w.domain, Some(AffiliationStatus::Member), Paging::new(None, 10))?;
    let members: Vec<String> = members.items.into_iter().map(|h| h.holder_id).collect();
    let mut expected = ids[1..].to_vec();
    expected.sort();
    assert_eq!(members, expected, "the banned holder is not listed as a Member");

    assert_eq!(store.membership_row(&w.domain, &ids[0])?.as_deref(), Some("Banned"));
    assert_eq!(store.membership_row(&w.domain, &ids[1])?.as_deref(), Some("Member"));
    assert_eq!(store.membership_row("coop:nowhere", &ids[1])?, None);

    let mut visited = Vec::new();
    store.for_each_member(&w.domain, AffiliationStatus::Member, |h| -> Result<()> {
        visited.push(h.holder_id);
        Ok(())
    })?;
    assert_eq!(visited, expected, "for_each_member visits the Members in holder-id order");
    Ok(())
}

#[test]
fn a_page_ending_at_the_last_row_hands_out_no_cursor() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    for p in &w.genesis {
        make_member(&m, &p.did, &w.domain, &[])?;
    }
    let store = m.store();
    let first = store.members_of(&w.domain, None, Paging::new(None, 3))?;
    assert_eq!(first.items.len(), 3);
    let cursor = first.next_cursor.expect("two more members follow");
    let last = store.members_of(&w.domain, None, Paging::new(Some(&cursor), 2))?;
    assert_eq!(last.items.len(), 2);
    assert_eq!(last.next_cursor, None, "the page ends at the last row: nothing follows");
    let none = store.members_of(&w.domain, None, Paging::new(None, 0))?;
    assert_eq!((none.items.len(), none.next_cursor), (0, None), "a limit of 0 reads nothing");
    let exact = store.members_of(&w.domain, None, Paging::new(None, 5))?;
    assert_eq!((exact.items.len(), exact.next_cursor), (5, None));

    // As many rows as the walk reads per chunk: the page is full exactly at
    // the end of a full chunk, and still no cursor is handed out.
    let other = World::build(&m, "mill", false)?;
    new_members(&m, &other.domain, 16, &[])?;
    let full = m.store().members_of(&other.domain, None, Paging::new(None, 16))?;
    assert_eq!((full.items.len(), full.next_cursor), (16, None));
    Ok(())
}

#[test]
fn for_each_due_visits_what_is_due_soonest_first_and_survives_deletions() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let early = m.start_enrollment("Early".into(), None)?;
    m.clock().advance(DAY / 2);
    let late = m.start_enrollment("Late".into(), None)?;
    assert!(due_ids(&m, Due::ExpiredEnrollments, T0)?.is_empty(), "nothing expires at start");
    assert_eq!(due_ids(&m, Due::ExpiredEnrollments, early.expires_at)?, vec![early.enrollment_id.clone()]);
    assert_eq!(
        due_ids(&m, Due::ExpiredEnrollments, late.expires_at)?,
        vec![early.enrollment_id.clone(), late.enrollment_id.clone()],
        "soonest first"
    );

    // A visitor that deletes what it visits (the sweep) still sees every row.
    m.clock().advance(2 * DAY);
    assert_eq!(m.sweep_expired_enrollments()?, 2);
    assert!(due_ids(&m, Due::ExpiredEnrollments, m.now())?.is_empty());

    // Votes: only an amendment in Voting has a closing time.
    let proposer = &w.genesis[0];
    make_member(&m, &proposer.did, &w.domain, &[Capability::Propose, Capability::Vote])?;
    let proposal = json!({"charter_id": w.charter_id, "title": "Longer hours", "changes": [{"target": "s1", "change": "Add", "new_value": "x"}]});
    let amendment = m.propose_amendment(&proposer.sign::<AmendmentPropose>("-", proposal))?;
    let id = amendment.amendment_id;
    assert!(due_ids(&m, Due::AmendmentsToClose, m.now() + 10 * WEEK)?.is_empty(), "a draft never falls due");
    m.submit_amendment(&proposer.sign::<AmendmentSubmit>(&id, json!({})))?;
    m.open_amendment_voting(&w.stewards[0].sign::<AmendmentOpenVoting>(&id, json!({})))?;
    assert!(due_ids(&m, Due::AmendmentsToClose, m.now())?.is_empty(), "not before closes_at");
    assert_eq!(due_ids(&m, Due::AmendmentsToClose, m.now() + WEEK)?, vec![id]);
    Ok(())
}

/// A world with Pat (a Member with Vote), and the operator's request to
/// revoke Pat's holder record with an appeal window: `(Pat, holder id,
/// target, request)`.
fn pat_and_a_holder_revocation(m: &Memory) -> Result<(Person, String, RevocationTarget, RevocationRequest)> {
    let (_w, pat, holder_id, _steward_id) = world_with_member(m, &[Capability::Vote])?;
    let target = RevocationTarget::Holder { holder_id: holder_id.clone() };
    let request = RevocationRequest {
        target: target.clone(),
        reason: RevocationReason::Fraud,
        immediate: false,
        appeal_window_days: None,
    };
    Ok((pat, holder_id, target, request))
}

#[test]
fn revocations_and_appeals_are_found_through_their_parent() -> Result<()> {
    let m = memory()?;
    let (pat, holder_id, target, request) = pat_and_a_holder_revocation(&m)?;
    let revocation = m.create_revocation(request)?;
    let store = m.store();

    let listed = store.revocations_of_target(&target, Paging::new(None, 10))?;
    let ids: Vec<&str> = listed.items.iter().map(|r| r.revocation_id.as_str()).collect();
    assert_eq!(ids, vec![revocation.revocation_id.as_str()]);
    let open = store.find_revocation_of_target(&target, |r| r.finalized_at.is_none())?;
    assert_eq!(open.map(|r| r.revocation_id), Some(revocation.revocation_id.clone()));
    assert!(store.find_revocation_of_target(&target, |r| r.finalized_at.is_some())?.is_none());
    let other = RevocationTarget::Anchor { anchor_id: holder_id.clone() };
    assert!(store.revocations_of_target(&other, Paging::new(None, 10))?.items.is_empty());

    assert_eq!(
        due_ids(&m, Due::RevocationsToFinalize, revocation.appeal_deadline)?,
        vec![revocation.revocation_id.clone()]
    );
    let filing = json!({"kind": {"kind": "Revocation", "revocation_id": revocation.revocation_id},
        "grounds": "I am one person", "requested_remedy": {"kind": "Reverse"}});
    let appeal = m.file_appeal(&pat.sign::<AppealFile>("-", filing))?;
    let found = m.store().find_appeal_of_appellant(&pat.did, |a| a.appeal_id == appeal.appeal_id)?;
    assert_eq!(found.map(|a| a.appeal_id), Some(appeal.appeal_id.clone()));
    let page = m.store().appeals_of_appellant(&pat.did, Paging::new(None, 10), |_| true)?;
    assert_eq!(page.items.len(), 1);

    // An upheld appeal ends the revocation for good: it never falls due again.
    m.review_appeal(&appeal.appeal_id)?;
    m.resolve_appeal(&appeal.appeal_id, ResolveRequest { outcome: Outcome::Upheld, notes: "One person.".into() })?;
    assert!(due_ids(&m, Due::RevocationsToFinalize, revocation.appeal_deadline + DAY)?.is_empty());
    assert_eq!(m.store().backend().name(), "memory");
    Ok(())
}

#[test]
fn an_index_row_pointing_to_no_record_is_corrupt_naming_the_row_not_a_missing_record() -> Result<()> {
    let m = memory()?;
    let (_pat, holder_id, target, request) = pat_and_a_holder_revocation(&m)?;
    let revocation = m.create_revocation(request.clone())?;
    // Damage: the record goes, its index rows stay (what a lost write or a
    // hand edit could leave).
    m.store().backend().delete(format!("revocation/{}", revocation.revocation_id).as_bytes())?;
    m.store().clear_caches();
    let dangling = format!("revocation_target/holder:{holder_id}/{}", revocation.revocation_id);
    match m.store().find_revocation_of_target(&target, |_| true) {
        Err(commons_gateway::StoreError::Corrupt { key, reason }) => {
            assert_eq!(key, dangling);
            assert!(reason.contains(&revocation.revocation_id), "{reason}");
        }
        other => panic!("expected Corrupt naming {dangling}, got {other:?}"),
    }
    // The manager refuses loudly (500 internal) rather than answering that a
    // revocation was "not found".
    let e = m.create_revocation(request).expect_err("the store is damaged");
    assert_eq!((e.status(), e.code()), (500, "internal"));
    Ok(())
}
