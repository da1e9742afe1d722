//! Multi-record operations are one batch: when the backend refuses that batch
//! (`BackendError::Unavailable`, as a networked engine may), nothing of it is
//! visible afterwards, neither in the store (every row compared) nor through
//! the manager's caches, and the same operation succeeds when retried.
//!
//! The fault comes from [`Probe`], a backend wrapping
//! `InMemoryCommonsStore` that fails the N-th `apply` after it is armed.

mod common;

use anyhow::Result;
use common::keys::Person;
use common::probe::Probe;
use common::world::{manager_on, snapshot, World};
use commons_gateway::actions::EnrollComplete;
use commons_gateway::actions::{AppealFile, ResolveRequest, RevocationRequest};
use commons_gateway::backend::BackendError;
use commons_gateway::records::AnchorStatus;
use commons_gateway::records::{AppealState, Outcome};
use commons_gateway::records::{AppealStatus, RevocationReason, RevocationTarget};
use commons_gateway::CommonsError;
use commons_gateway::CommonsManager;
use commons_gateway::Paging;
use commons_gateway::Refusal;
use commons_gateway::StoreError;
use serde_json::json;

type Flaky = CommonsManager<Probe>;

fn flaky() -> Result<Flaky> {
    manager_on(Probe::default())
}

fn is_unavailable<T: std::fmt::Debug>(r: &Result<T, CommonsError>) -> bool {
    matches!(r, Err(CommonsError::Store(StoreError::Backend(BackendError::Unavailable { .. }))))
}

/// Arms the failure for the next apply, runs `f`, and checks that it failed
/// as unavailable with every row unchanged.
fn fails_cleanly<T: std::fmt::Debug>(m: &Flaky, what: &str, f: impl FnOnce() -> Result<T, CommonsError>) {
    let before = snapshot(m);
    let failures = m.store().backend().failures();
    m.store().backend().fail_nth(1);
    let r = f();
    assert!(is_unavailable(&r), "{what}: expected Unavailable, got {r:?}");
    assert_eq!(m.store().backend().failures(), failures + 1, "{what}: no injected failure");
    assert!(snapshot(m) == before, "{what}: the failed batch left rows behind");
    let report = m.store().verify().expect("verify reads the store");
    assert!(report.is_clean(), "{what}: verify after the failure: {:?}", report.problems);
}

#[test]
fn failed_enrollment_completion_leaves_nothing_and_retry_succeeds() -> Result<()> {
    let m = flaky()?;
    let w = World::build(&m, "atomic", false)?;
    let person = Person::new();
    let session = w.enroll_to_level(&m, &person, 2, 1)?;
    let steward_id = m.steward_by_did(w.stewards[1].did.as_str())?.steward.steward_id;
    let complete = person.sign::<EnrollComplete>(&session, json!({}));

    fails_cleanly(&m, "complete", || m.complete_enrollment(&complete));
    // Nothing is visible through the manager either (caches untouched).
    assert!(matches!(m.anchor_by_did(person.did.as_str()), Err(CommonsError::Refused(Refusal::NotFound { .. }))));
    assert!(matches!(m.holder_by_did(person.did.as_str()), Err(CommonsError::Refused(Refusal::NotFound { .. }))));
    assert_eq!(m.steward(&steward_id)?.steward.attestations_issued, 0);
    assert_eq!(m.enrollment(&session)?.level, 2);

    let anchor = m.complete_enrollment(&complete)?;
    assert_eq!(anchor.anchor.did, person.did);
    assert_eq!(m.holder_by_did(person.did.as_str())?.holder.holder_id, anchor.anchor.anchor_id);
    assert_eq!(m.steward(&steward_id)?.steward.attestations_issued, 1);
    assert!(matches!(m.enrollment(&session), Err(CommonsError::Refused(Refusal::NotFound { .. }))));
    Ok(())
}

#[test]
fn failed_revocation_creation_leaves_nothing_and_retry_succeeds() -> Result<()> {
    let m = flaky()?;
    let w = World::build(&m, "atomic", false)?;
    let anchor_id = m.anchor_by_did(w.genesis[3].did.as_str())?.anchor.anchor_id;
    let request = RevocationRequest {
        target: RevocationTarget::Anchor { anchor_id: anchor_id.clone() },
        reason: RevocationReason::KeyCompromise,
        immediate: false,
        appeal_window_days: Some(7),
    };

    fails_cleanly(&m, "create revocation", || m.create_revocation(request.clone()));
    assert_eq!(m.anchor(&anchor_id)?.anchor.status, AnchorStatus::Active);
    assert!(m.list_revocations(&format!("anchor:{anchor_id}"), Paging::new(None, 10))?.items.is_empty());

    let r = m.create_revocation(request)?;
    assert!(matches!(m.anchor(&anchor_id)?.anchor.status, AnchorStatus::Suspended { .. }));
    assert_eq!(m.list_revocations(&format!("anchor:{anchor_id}"), Paging::new(None, 10))?.items, vec![r]);
    Ok(())
}

#[test]
fn failed_appeal_resolution_leaves_nothing_and_retry_succeeds() -> Result<()> {
    let m = flaky()?;
    let w = World::build(&m, "atomic", false)?;
    let appellant = &w.genesis[3];
    let anchor_id = m.anchor_by_did(appellant.did.as_str())?.anchor.anchor_id;
    let r = m.create_revocation(RevocationRequest {
        target: RevocationTarget::Anchor { anchor_id: anchor_id.clone() },
        reason: RevocationReason::Sybil,
        immediate: true,
        appeal_window_days: None,
    })?;
    let appeal = m.file_appeal(&appellant.sign::<AppealFile>(
        "-",
        json!({"kind": {"kind": "Revocation", "revocation_id": r.revocation_id},
               "grounds": "I am one person.", "requested_remedy": {"kind": "Reverse"}}),
    ))?;
    m.review_appeal(&appeal.appeal_id)?;
    let upheld = || ResolveRequest { outcome: Outcome::Upheld, notes: "Verified in person.".into() };

    fails_cleanly(&m, "resolve", || m.resolve_appeal(&appeal.appeal_id, upheld()));
    assert!(matches!(m.appeal(&appeal.appeal_id)?.status, AppealState::UnderReview { .. }));
    assert_eq!(
        m.revocation(&r.revocation_id)?.appeal_status,
        AppealStatus::Pending { appeal_id: appeal.appeal_id.clone() }
    );
    assert!(matches!(m.anchor(&anchor_id)?.anchor.status, AnchorStatus::Revoked { .. }));

    let resolved = m.resolve_appeal(&appeal.appeal_id, upheld())?;
    assert!(matches!(resolved.status, AppealState::Resolved { outcome: Outcome::Upheld, .. }));
    assert!(matches!(m.revocation(&r.revocation_id)?.appeal_status, AppealStatus::Upheld { .. }));
    assert_eq!(m.anchor(&anchor_id)?.anchor.status, AnchorStatus::Active);
    Ok(())
}

#[test]
fn failed_steward_appeal_decision_leaves_the_appeal_and_the_steward_unchanged() -> Result<()> {
    let m = flaky()?;
    let w = World::build(&m, "atomic", false)?;
    let appellant = &w.genesis[3];
    let steward_id = m.steward_by_did(w.stewards[0].did.as_str())?.steward.steward_id;
    let file = appellant.sign::<AppealFile>(
        "-",
        json!({"kind": {"kind": "StewardAction", "steward_id": steward_id},
               "grounds": "Wrong vouch.", "requested_remedy": {"kind": "None"}}),
    );
    fails_cleanly(&m, "file steward-action appeal", || m.file_appeal(&file));
    let appeal = m.file_appeal(&file)?;
    m.review_appeal(&appeal.appeal_id)?;
    let denied = || ResolveRequest { outcome: Outcome::Denied, notes: "The vouch was sound.".into() };
    fails_cleanly(&m, "deny steward-action appeal", || m.resolve_appeal(&appeal.appeal_id, denied()));
    assert!(matches!(m.appeal(&appeal.appeal_id)?.status, AppealState::UnderReview { .. }));
    let s = m.steward(&steward_id)?.steward;
    assert_eq!((s.disputes_against, s.disputes_won), (0, 0));
    m.resolve_appeal(&appeal.appeal_id, denied())?;
    let s = m.steward(&steward_id)?.steward;
    assert_eq!((s.disputes_against, s.disputes_won), (1, 1), "appeal and steward written in one batch");
    Ok(())
}

#[test]
fn a_sweep_that_fails_midway_keeps_what_it_did_and_finishes_on_the_next_run() -> Result<()> {
    let m = flaky()?;
    let w = World::build(&m, "atomic", false)?;
    let mut ids = Vec::new();
    for p in &w.genesis[2..5] {
        let holder_id = m.holder_by_did(p.did.as_str())?.holder.holder_id;
        ids.push(
            m.create_revocation(RevocationRequest {
                target: RevocationTarget::Holder { holder_id },
                reason: RevocationReason::PolicyViolation,
                immediate: false,
                appeal_window_days: Some(1),
            })?
            .revocation_id,
        );
    }
    m.clock().advance(86_400);
    m.store().backend().fail_nth(2);
    let r = m.finalize_due_revocations();
    assert!(is_unavailable(&r), "{r:?}");
    let finalized = ids.iter().filter(|id| m.revocation(id).map(|r| r.finalized_at.is_some()).unwrap_or(false)).count();
    assert_eq!(finalized, 1, "the first finalisation stays, the failed one left nothing");
    assert_eq!(m.finalize_due_revocations()?, 2);
    for id in &ids {
        assert!(m.revocation(id)?.finalized_at.is_some());
    }
    Ok(())
}
