//! Revocations through the manager: creation changes its target in the same
//! batch (immediate: Revoked / Banned; otherwise Suspended until the appeal
//! deadline) for every target kind; refusals (unknown target, a state that
//! does not allow it, bad input, a second open revocation) change nothing;
//! finalisation by the operator and by the sweep; the per-target list; and,
//! on every persistent engine compiled in, a ban that is still a ban after
//! the store is reopened (the older design kept revocations in RAM and
//! forgot them on restart).

mod common;

use anyhow::Result;
use common::keys::Person;
use common::world::{
    is_forbidden, make_member, memory, refused, revocation_targets, target_state, world_with_member, Memory, World,
    DAY, T0,
};
use commons_gateway::actions::EnrollComplete;
use commons_gateway::actions::{AppealFile, RevocationRequest};
use commons_gateway::backend::InMemoryCommonsStore;
use commons_gateway::records::AnchorStatus;
use commons_gateway::records::{AffiliationStatus, Capability, HolderStatus};
use commons_gateway::records::{AppealStatus, RevocationReason, RevocationRecord, RevocationTarget};
use commons_gateway::Paging;
use commons_gateway::{CommonsError, CommonsStoreBackend};
use commons_gateway::{ConflictCode, Refusal};
use serde_json::json;

type Check = fn(&Result<RevocationRecord, CommonsError>) -> bool;

fn request(target: RevocationTarget, immediate: bool) -> RevocationRequest {
    RevocationRequest { target, reason: RevocationReason::Sybil, immediate, appeal_window_days: None }
}

/// [`world_with_member`] with Pat a Member holding Vote and Propose.
fn with_pat(m: &Memory) -> Result<(World, Person, String, String)> {
    world_with_member(m, &[Capability::Vote, Capability::Propose])
}

#[test]
fn immediate_revocation_revokes_or_bans_every_target_kind_at_once() -> Result<()> {
    let m = memory()?;
    let (w, p, holder_id, steward_id) = with_pat(&m)?;
    for target in revocation_targets(&holder_id, &steward_id, &w.domain) {
        let r = m.create_revocation(request(target.clone(), true))?;
        assert_eq!(r.target, target);
        assert!(r.immediate);
        assert_eq!(r.authority_did, None);
        assert_eq!(r.appeal_deadline, T0 + 30 * DAY);
        assert_eq!(r.appeal_status, AppealStatus::None);
        assert_eq!(r.finalized_at, None);
        assert_eq!(m.revocation(&r.revocation_id)?, r);
        assert_eq!(target_state(&m, &target)?, "Revoked", "{target:?}");
        let listed = m.list_revocations(&target.key(), Paging::new(None, 10))?;
        assert_eq!(listed.items, vec![r.clone()]);
    }
    let anchor = m.anchor(&holder_id)?.anchor;
    assert!(matches!(anchor.status, AnchorStatus::Revoked { revocation_id: Some(_), .. }));
    let aff = m.holder(&holder_id)?.holder.affiliation(&w.domain).cloned().expect("affiliation kept");
    assert!(aff.capabilities.is_empty(), "a ban clears capabilities");
    assert_eq!(m.holder_by_did(p.did.as_str())?.baseline_rights, vec![]);
    Ok(())
}

#[test]
fn suspension_until_the_deadline_for_every_target_kind() -> Result<()> {
    let m = memory()?;
    let (w, _p, holder_id, steward_id) = with_pat(&m)?;
    for target in revocation_targets(&holder_id, &steward_id, &w.domain) {
        let r = m.create_revocation(RevocationRequest {
            target: target.clone(),
            reason: RevocationReason::Other { text: "Under investigation".into() },
            immediate: false,
            appeal_window_days: Some(10),
        })?;
        assert_eq!(r.appeal_deadline, T0 + 10 * DAY);
        assert_eq!(target_state(&m, &target)?, "Suspended", "{target:?}");
    }
    assert_eq!(
        m.anchor(&holder_id)?.anchor.status,
        AnchorStatus::Suspended { reason: "Under investigation".into(), since: T0, until: Some(T0 + 10 * DAY) }
    );
    assert_eq!(
        m.holder(&holder_id)?.holder.status,
        HolderStatus::Suspended { reason: "Under investigation".into(), appeal_deadline: T0 + 10 * DAY }
    );
    Ok(())
}

#[test]
fn refused_revocations_change_nothing() -> Result<()> {
    let m = memory()?;
    let (w, _p, holder_id, steward_id) = with_pat(&m)?;
    let unknown = "ab".repeat(32);
    let anchor = RevocationTarget::Anchor { anchor_id: holder_id.clone() };
    let membership_in = |jurisdiction: &str| RevocationTarget::Membership {
        holder_id: holder_id.clone(),
        jurisdiction: jurisdiction.to_string(),
    };
    let not_found: Check = |r| matches!(r, Err(CommonsError::Refused(Refusal::NotFound { .. })));
    let invalid_id: Check = |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidId { .. })));
    let bad_window: Check =
        |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "appeal_window_days", .. })));
    let [unknown_anchor, unknown_holder, unknown_membership, unknown_steward] =
        revocation_targets(&unknown, &unknown, &w.domain);
    let rows: Vec<(&str, RevocationRequest, Check)> = vec![
        ("unknown anchor", request(unknown_anchor, true), not_found),
        ("unknown holder", request(unknown_holder, true), not_found),
        ("unknown membership", request(unknown_membership, true), not_found),
        ("unknown steward", request(unknown_steward, true), not_found),
        ("membership the holder does not have", request(membership_in("coop:nowhere"), true), |r| {
            matches!(r, Err(CommonsError::Refused(Refusal::NotFound { entity: "affiliation", .. })))
        }),
        ("id with a slash", request(RevocationTarget::Anchor { anchor_id: "by_did/x".into() }, true), invalid_id),
        ("upper-case id", request(RevocationTarget::Holder { holder_id: holder_id.to_uppercase() }, true), invalid_id),
        ("short steward id", request(RevocationTarget::Steward { steward_id: "abc".into() }, true), invalid_id),
        ("bad jurisdiction", request(membership_in("coop/x"), true), |r| {
            matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "target.jurisdiction", .. })))
        }),
        (
            "appeal window of 0 days",
            RevocationRequest { appeal_window_days: Some(0), ..request(anchor.clone(), false) },
            bad_window,
        ),
        (
            "appeal window of 366 days",
            RevocationRequest { appeal_window_days: Some(366), ..request(anchor.clone(), false) },
            bad_window,
        ),
        (
            "empty Other reason",
            RevocationRequest {
                reason: RevocationReason::Other { text: String::new() },
                ..request(anchor.clone(), false)
            },
            |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "reason.text", .. }))),
        ),
    ];
    for (what, req, check) in rows {
        refused(&m, what, || m.create_revocation(req), check);
    }

    // One open revocation per target.
    let first = m.create_revocation(request(anchor.clone(), false))?;
    refused(
        &m,
        "second revocation while one is open",
        || m.create_revocation(request(anchor.clone(), true)),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::RevocationOpen, .. }))),
    );
    // The steward is revoked at once (finalized by the sweep below).
    let steward = RevocationTarget::Steward { steward_id: steward_id.clone() };
    m.create_revocation(request(steward.clone(), true))?;

    // After finalisation the target is Revoked; a new revocation finds no
    // open one but the state refuses it.
    m.clock().advance(30 * DAY);
    m.finalize_revocation(&first.revocation_id)?;
    assert_eq!(target_state(&m, &anchor)?, "Revoked");
    refused(
        &m,
        "revoke a revoked anchor",
        || m.create_revocation(request(anchor.clone(), true)),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidTransition { entity: "anchor", .. }))),
    );
    refused(
        &m,
        "suspend a revoked anchor",
        || m.create_revocation(request(anchor.clone(), false)),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidTransition { entity: "anchor", .. }))),
    );
    m.finalize_due_revocations()?;
    refused(
        &m,
        "suspend a revoked steward",
        || m.create_revocation(request(steward.clone(), false)),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidTransition { entity: "steward", .. }))),
    );
    Ok(())
}

#[test]
fn a_candidate_membership_can_be_banned_but_not_suspended() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "open-bakery", true)?;
    let p = Person::new();
    let session = w.enroll_to_level(&m, &p, 1, 0)?;
    let anchor_id = m.complete_enrollment(&p.sign::<EnrollComplete>(&session, json!({})))?.anchor.anchor_id;
    let membership = RevocationTarget::Membership { holder_id: anchor_id.clone(), jurisdiction: w.domain.clone() };
    assert_eq!(
        m.holder(&anchor_id)?.holder.affiliation(&w.domain).map(|a| a.status),
        Some(AffiliationStatus::Candidate)
    );
    refused(
        &m,
        "suspend a candidate",
        || m.create_revocation(request(membership.clone(), false)),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidTransition { entity: "affiliation", .. }))),
    );
    m.create_revocation(request(membership.clone(), true))?;
    assert_eq!(target_state(&m, &membership)?, "Revoked");
    Ok(())
}

#[test]
fn finalisation_after_the_deadline_makes_a_suspension_permanent() -> Result<()> {
    let m = memory()?;
    let (w, _p, holder_id, steward_id) = with_pat(&m)?;
    let mut records = Vec::new();
    for target in revocation_targets(&holder_id, &steward_id, &w.domain) {
        records.push(m.create_revocation(request(target, false))?);
    }
    let deadline_rows = |m: &Memory| -> Result<usize> { Ok(m.store().backend().scan(b"revocation_deadline/")?.len()) };
    assert_eq!(deadline_rows(&m)?, 4);
    m.clock().advance(30 * DAY - 1);
    for r in &records {
        refused(
            &m,
            "finalize before the deadline",
            || m.finalize_revocation(&r.revocation_id),
            |r| matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::NotFinalizable, .. }))),
        );
    }
    m.clock().advance(1);
    for r in &records {
        let done = m.finalize_revocation(&r.revocation_id)?;
        assert_eq!(done.finalized_at, Some(T0 + 30 * DAY));
        assert_eq!(target_state(&m, &r.target)?, "Revoked", "{:?}", r.target);
        refused(
            &m,
            "finalize twice",
            || m.finalize_revocation(&r.revocation_id),
            |r| matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::NotFinalizable, .. }))),
        );
    }
    assert_eq!(deadline_rows(&m)?, 0, "finalized revocations leave the deadline index");
    let report = m.store().verify()?;
    assert!(report.is_clean(), "{:?}", report.problems);
    let anchor = m.anchor(&holder_id)?.anchor;
    assert_eq!(
        anchor.status,
        AnchorStatus::Revoked {
            reason: "Sybil".into(),
            at: T0 + 30 * DAY,
            revocation_id: Some(records[0].revocation_id.clone())
        }
    );
    refused(
        &m,
        "finalize an unknown revocation",
        || m.finalize_revocation(&uuid::Uuid::now_v7().to_string()),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::NotFound { .. }))),
    );
    refused(
        &m,
        "finalize a bad id",
        || m.finalize_revocation("nope"),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidId { .. }))),
    );
    Ok(())
}

#[test]
fn immediate_revocation_finalizes_without_touching_its_target() -> Result<()> {
    let m = memory()?;
    let (_w, _p, holder_id, _steward_id) = with_pat(&m)?;
    let r = m.create_revocation(request(RevocationTarget::Holder { holder_id: holder_id.clone() }, true))?;
    let holder_before = m.holder(&holder_id)?;
    m.clock().advance(30 * DAY);
    let done = m.finalize_revocation(&r.revocation_id)?;
    assert_eq!(done.finalized_at, Some(T0 + 30 * DAY));
    assert_eq!(m.holder(&holder_id)?, holder_before);
    Ok(())
}

#[test]
fn sweep_finalizes_due_revocations_and_waits_for_pending_appeals() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let people: Vec<Person> = (0..3).map(|_| Person::new()).collect();
    let mut records = Vec::new();
    for (i, p) in people.iter().enumerate() {
        let holder_id = m.bootstrap_anchor(p.did.as_str(), None)?.anchor.anchor_id;
        make_member(&m, &p.did, &w.domain, &[Capability::Vote])?;
        records.push(m.create_revocation(RevocationRequest {
            appeal_window_days: Some(if i == 2 { 60 } else { 30 }),
            ..request(RevocationTarget::Membership { holder_id, jurisdiction: w.domain.clone() }, false)
        })?);
    }
    // Person 1 appeals in time.
    let appeal = m.file_appeal(&people[1].sign::<AppealFile>(
        "-",
        json!({"kind": {"kind": "Revocation", "revocation_id": records[1].revocation_id},
               "grounds": "I am no sybil", "requested_remedy": {"kind": "Reinstate"}}),
    ))?;
    m.clock().advance(30 * DAY);
    assert_eq!(m.finalize_due_revocations()?, 1, "only the unappealed, due one");
    assert!(m.revocation(&records[0].revocation_id)?.finalized_at.is_some());
    assert!(m.revocation(&records[1].revocation_id)?.finalized_at.is_none());
    assert!(m.revocation(&records[2].revocation_id)?.finalized_at.is_none());
    assert_eq!(target_state(&m, &records[0].target)?, "Revoked");
    assert_eq!(target_state(&m, &records[1].target)?, "Suspended");
    assert_eq!(m.finalize_due_revocations()?, 0, "the pending appeal holds it");

    // The appeal is denied: the next sweep finalizes it.
    m.review_appeal(&appeal.appeal_id)?;
    m.resolve_appeal(
        &appeal.appeal_id,
        commons_gateway::actions::ResolveRequest {
            outcome: commons_gateway::records::Outcome::Denied,
            notes: "Evidence is clear.".into(),
        },
    )?;
    assert_eq!(m.finalize_due_revocations()?, 1);
    assert_eq!(target_state(&m, &records[1].target)?, "Revoked");
    m.clock().advance(30 * DAY);
    assert_eq!(m.finalize_due_revocations()?, 1);
    assert_eq!(target_state(&m, &records[2].target)?, "Revoked");
    assert_eq!(m.finalize_due_revocations()?, 0);
    let report = m.store().verify()?;
    assert!(report.is_clean(), "{:?}", report.problems);
    Ok(())
}

#[test]
fn revocations_are_listed_by_target_in_order() -> Result<()> {
    let m = memory()?;
    let (w, _p, holder_id, _steward_id) = with_pat(&m)?;
    let membership = RevocationTarget::Membership { holder_id: holder_id.clone(), jurisdiction: w.domain.clone() };
    let first = m.create_revocation(request(membership.clone(), false))?;
    m.clock().advance(30 * DAY);
    m.finalize_revocation(&first.revocation_id)?;
    // Banned now: a second revocation would be refused by the state, so
    // revoke the holder record instead, and list both targets.
    let holder = RevocationTarget::Holder { holder_id: holder_id.clone() };
    let second = m.create_revocation(request(holder.clone(), true))?;
    let key = format!("membership:{holder_id}:{}", w.domain);
    let listed = m.list_revocations(&key, Paging::new(None, 10))?;
    assert_eq!(listed.items.iter().map(|r| r.revocation_id.clone()).collect::<Vec<_>>(), vec![first.revocation_id]);
    let listed = m.list_revocations(&format!("holder:{holder_id}"), Paging::new(None, 10))?;
    assert_eq!(listed.items, vec![second]);
    assert!(m.list_revocations(&format!("anchor:{holder_id}"), Paging::new(None, 10))?.items.is_empty());
    for bad in ["", "anchor", "planet:x", &format!("membership:{holder_id}"), "anchor:XYZ", "membership:ab:coop:x"] {
        let r = m.list_revocations(bad, Paging::new(None, 10));
        assert!(
            matches!(
                r,
                Err(CommonsError::Refused(Refusal::InvalidInput { .. })
                    | CommonsError::Refused(Refusal::InvalidId { .. }))
            ),
            "{bad:?}: {r:?}"
        );
    }
    Ok(())
}

#[cfg(any(feature = "sled-store", feature = "fjall-store"))]
mod persistent {
    use super::*;
    use crate::common::world::open_at;
    use commons_gateway::{CommonsManager, Durability, OpenBackend};

    fn open<S: OpenBackend>(dir: &std::path::Path, now: u64) -> Result<CommonsManager<S>> {
        open_at(dir, Durability::Sync, now)
    }

    /// An immediate ban and a suspension survive reopening; after the
    /// deadline the reopened store's sweep makes the suspension a ban, and
    /// that ban survives another reopen.
    pub fn ban_is_still_a_ban_after_reopen<S: OpenBackend>() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let (banned, suspended, domain, ban, suspension) = {
            let m = open::<S>(dir.path(), T0)?;
            let w = World::build(&m, "reopen", false)?;
            let (a, b) = (Person::new(), Person::new());
            let mut ids = Vec::new();
            for p in [&a, &b] {
                ids.push(m.bootstrap_anchor(p.did.as_str(), None)?.anchor.anchor_id);
                make_member(&m, &p.did, &w.domain, &[Capability::Vote])?;
            }
            let membership =
                |id: &String| RevocationTarget::Membership { holder_id: id.clone(), jurisdiction: w.domain.clone() };
            let ban = m.create_revocation(request(membership(&ids[0]), true))?;
            let suspension = m.create_revocation(request(membership(&ids[1]), false))?;
            (ids[0].clone(), ids[1].clone(), w.domain.clone(), ban, suspension)
        };
        let status = |m: &CommonsManager<S>, id: &str| -> Result<Option<AffiliationStatus>> {
            Ok(m.holder(id)?.holder.affiliation(&domain).map(|a| a.status))
        };
        {
            let m = open::<S>(dir.path(), T0 + DAY)?;
            assert_eq!(status(&m, &banned)?, Some(AffiliationStatus::Banned));
            assert_eq!(status(&m, &suspended)?, Some(AffiliationStatus::Suspended));
            assert_eq!(m.revocation(&ban.revocation_id)?, ban);
            assert_eq!(m.list_revocations(&ban.target.key(), Paging::new(None, 10))?.items, vec![ban.clone()]);
            assert_eq!(m.finalize_due_revocations()?, 0, "nothing is due yet");
            // Re-applying is refused: the ban is remembered, not forgotten.
            let again = m.create_revocation(request(ban.target.clone(), true));
            assert!(
                matches!(
                    again,
                    Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::RevocationOpen, .. }))
                ),
                "{again:?}"
            );
        }
        {
            let m = open::<S>(dir.path(), T0 + 30 * DAY)?;
            assert_eq!(m.finalize_due_revocations()?, 2);
            assert_eq!(status(&m, &suspended)?, Some(AffiliationStatus::Banned));
        }
        let m = open::<S>(dir.path(), T0 + 31 * DAY)?;
        assert_eq!(status(&m, &banned)?, Some(AffiliationStatus::Banned));
        assert_eq!(status(&m, &suspended)?, Some(AffiliationStatus::Banned));
        let finalized: Vec<RevocationRecord> =
            [&ban, &suspension].iter().map(|r| m.revocation(&r.revocation_id)).collect::<Result<_, _>>()?;
        assert!(finalized.iter().all(|r| r.finalized_at == Some(T0 + 30 * DAY)));
        assert_eq!(m.store().backend().scan(b"revocation_deadline/")?.len(), 0);
        Ok(())
    }
}

#[cfg(feature = "sled-store")]
#[test]
fn sled_ban_is_still_a_ban_after_reopen() -> Result<()> {
    persistent::ban_is_still_a_ban_after_reopen::<commons_gateway::backend::SledCommonsStore>()
}

#[cfg(feature = "fjall-store")]
#[test]
fn fjall_ban_is_still_a_ban_after_reopen() -> Result<()> {
    persistent::ban_is_still_a_ban_after_reopen::<commons_gateway::backend::FjallCommonsStore>()
}

/// What may legitimately happen to a target while its revocation stands: the
/// member leaves, the steward retires (and the revocation is finalized all
/// the same), while nothing but an upheld appeal brings a target back: the
/// operator's reinstate routes and a new application are `revocation_open`
/// and change nothing. After each step `verify` finds the store clean, and an
/// export of it imports into a fresh store (its import verifies the file).
#[test]
fn later_decisions_on_a_target_under_revocation_keep_the_store_consistent() -> Result<()> {
    let m = memory()?;
    let (w, p, holder_id, steward_id) = with_pat(&m)?;
    let clean = |step: &str| -> Result<()> {
        let report = m.store().verify()?;
        assert!(report.is_clean(), "after {step}: {:?}", report.problems);
        let mut export = Vec::new();
        m.store().export_to("memory", &mut export)?;
        let fresh = commons_gateway::CommonsStore::new(InMemoryCommonsStore::new(), &Default::default())?;
        fresh.import_from(export.as_slice())?;
        Ok(())
    };
    fn open<T>(r: &Result<T, CommonsError>) -> bool {
        matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::RevocationOpen, .. })))
    }
    let [anchor, _, membership, steward] = revocation_targets(&holder_id, &steward_id, &w.domain);

    m.create_revocation(request(anchor.clone(), false))?;
    m.create_revocation(request(steward.clone(), false))?;
    m.create_revocation(request(membership.clone(), false))?;
    clean("three suspensions")?;
    refused(&m, "reinstate anchor", || m.reinstate_anchor(&holder_id, None), open);
    refused(&m, "reinstate steward", || m.reinstate_steward(&steward_id, None), open);
    refused(&m, "reinstate affiliation", || m.reinstate_affiliation(&holder_id, &w.domain, None), open);

    // The member leaves (exit_freely) and may not apply again to shed the revocation.
    let j = json!({ "jurisdiction": w.domain });
    m.leave_affiliation(&p.sign::<commons_gateway::actions::AffiliationLeave>(&holder_id, j.clone()))?;
    assert_eq!(target_state(&m, &membership)?, "Other");
    clean("leave under revocation")?;
    refused(
        &m,
        "apply again",
        || m.apply_affiliation(&p.sign::<commons_gateway::actions::AffiliationApply>(&holder_id, j.clone())),
        open,
    );

    // The steward retires; finalisation leaves it Retired.
    m.retire_steward(&steward_id, Some("moved away".into()))?;
    clean("retire under revocation")?;
    m.clock().advance(30 * DAY + 1);
    let swept = m.finalize_due_revocations()?;
    assert_eq!(swept, 3, "all three finalize");
    assert_eq!(target_state(&m, &steward)?, "Other", "a retired steward stays retired");
    assert_eq!(target_state(&m, &anchor)?, "Revoked");
    assert_eq!(target_state(&m, &membership)?, "Revoked", "an exited membership is banned on finalisation");
    clean("finalisation")?;
    Ok(())
}

/// The anchor is the identity root: once it is revoked (here by a Sybil
/// revocation record; the holder, membership and steward records are left as
/// they are) the principal takes no governance action and no longer counts
/// as eligible, while its due process stays open (regression: a revoked
/// anchor still voted and proposed).
#[test]
fn a_principal_whose_anchor_is_revoked_takes_no_governance_action() -> Result<()> {
    use commons_gateway::actions::Attest;
    use commons_gateway::actions::{AmendmentOpenVoting, AmendmentPropose, AmendmentSubmit, CastVote};
    let m = memory()?;
    let (w, p, holder_id, _) = with_pat(&m)?;
    let propose = || {
        m.propose_amendment(&p.sign::<AmendmentPropose>(
            "-",
            json!({"charter_id": w.charter_id, "title": "Sundays", "changes": [{"target": "hours", "change": "Add", "new_value": "Sun 8-12"}]}),
        ))
    };
    let a = propose()?;
    m.submit_amendment(&p.sign::<AmendmentSubmit>(&a.amendment_id, json!({})))?;
    m.open_amendment_voting(&w.stewards[0].sign::<AmendmentOpenVoting>(&a.amendment_id, json!({})))?;
    assert!(m.eligible_voters(&w.domain)?.contains(&p.did));

    let r = m.create_revocation(request(RevocationTarget::Anchor { anchor_id: holder_id.clone() }, true))?;
    assert_eq!(m.holder(&holder_id)?.holder.status, HolderStatus::Active, "only the anchor changed");
    refused(
        &m,
        "vote",
        || m.vote_amendment(&p.sign::<CastVote>(&a.amendment_id, json!({"approve": true}))),
        is_forbidden,
    );
    refused(&m, "propose", propose, is_forbidden);
    let other = m.anchor_by_did(w.genesis[3].did.as_str())?.anchor.anchor_id;
    refused(
        &m,
        "attest as a steward",
        || m.add_attestation(&p.sign::<Attest>(&other, json!({"level": "Strong", "method": "InPerson"}))),
        is_forbidden,
    );
    assert!(!m.eligible_voters(&w.domain)?.contains(&p.did), "no longer counted as eligible");
    // Due process stays open.
    let appeal = m.file_appeal(&p.sign::<AppealFile>(
        "-",
        json!({"kind": {"kind": "Revocation", "revocation_id": r.revocation_id},
               "grounds": "I am one person.", "requested_remedy": {"kind": "Reverse"}}),
    ))?;
    assert_eq!(appeal.appellant_did, p.did);
    Ok(())
}

/// Standing (an Active holder with an Active anchor) is checked wherever a
/// principal's power is used, not only where it was first granted:
/// a steward whose holder record is revoked attests and vouches no more; a
/// vouch given before its steward's anchor was revoked no longer completes an
/// enrollment; a founder suspended since signing does not count towards
/// `min_founders` and cannot activate; a proposer whose anchor is suspended
/// cannot change or submit its amendment (regressions found by review).
#[test]
fn standing_is_checked_where_power_is_used() -> Result<()> {
    use commons_gateway::actions::{AmendmentAddChange, AmendmentPropose, AmendmentSubmit};
    use commons_gateway::actions::{CharterActivate, CharterCreate, CharterSign, EnrollVouch};
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let holder_of = |p: &Person| -> Result<String> { Ok(m.holder_by_did(p.did.as_str())?.holder.holder_id) };

    // Steward 1's holder record is revoked: no more vouching.
    let person = Person::new();
    let id = w.enroll_to_level(&m, &person, 1, 0)?;
    m.create_revocation(request(RevocationTarget::Holder { holder_id: holder_of(&w.stewards[1])? }, true))?;
    refused(
        &m,
        "vouch by a steward whose holder is revoked",
        || m.vouch_enrollment(&w.stewards[1].sign::<EnrollVouch>(&id, json!({"person_did": person.did.as_str()}))),
        is_forbidden,
    );
    assert!(!m.steward_by_did(w.stewards[1].did.as_str())?.can_attest, "the view agrees");
    let active = commons_gateway::StewardFilter { active: Some(true), jurisdiction: None };
    let listed: Vec<_> =
        m.list_stewards(&active, Paging::new(None, 10))?.items.into_iter().map(|v| v.steward.did).collect();
    assert_eq!(listed, vec![w.stewards[0].did.clone()], "and so does the list's active filter");

    // Steward 0 vouches, then its anchor is revoked: the vouch no longer completes.
    m.vouch_enrollment(&w.stewards[0].sign::<EnrollVouch>(&id, json!({"person_did": person.did.as_str()})))?;
    m.create_revocation(request(RevocationTarget::Anchor { anchor_id: holder_of(&w.stewards[0])? }, true))?;
    refused(
        &m,
        "complete with a vouch that no longer counts",
        || m.complete_enrollment(&person.sign::<EnrollComplete>(&id, json!({}))),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::VouchNoLongerValid, .. }))),
    );

    // A draft signed by genesis 2, 3 and 4; genesis 4 is then suspended.
    let created = m.create_charter(&w.genesis[2].sign::<CharterCreate>(
        "-",
        json!({"domain_id": "coop:mill", "org_type": "Cooperative", "name": "The mill", "description": "",
               "membership_policy": {"min_founders": 3, "open_enrollment": false, "required_pop_level": "Strong"}}),
    ))?;
    let charter_id = created.charter.charter_id.clone();
    for p in &w.genesis[2..5] {
        m.sign_charter(&p.sign::<CharterSign>(&charter_id, json!({"digest": created.digest})))?;
    }
    m.suspend_anchor(&holder_of(&w.genesis[4])?, Some("check".into()))?;
    let activate = |p: &Person| m.activate_charter(&p.sign::<CharterActivate>(&charter_id, json!({})));
    refused(&m, "activate by a suspended founder", || activate(&w.genesis[4]), is_forbidden);
    refused(
        &m,
        "activate with 2 of 3 founders in good standing",
        || activate(&w.genesis[2]),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::NotEnoughFounders, .. }))),
    );
    m.reinstate_anchor(&holder_of(&w.genesis[4])?, None)?;
    activate(&w.genesis[2])?;

    // A proposer whose anchor is suspended cannot change or submit.
    let proposer = &w.genesis[3];
    make_member(&m, &proposer.did, &w.domain, &[Capability::Propose])?;
    let a = m.propose_amendment(
        &proposer.sign::<AmendmentPropose>("-", json!({"charter_id": w.charter_id, "title": "Hours", "changes": []})),
    )?;
    m.suspend_anchor(&holder_of(proposer)?, None)?;
    let change = json!({"target": "hours", "change": "Add", "new_value": "Sun"});
    refused(
        &m,
        "change by a suspended proposer",
        || m.add_amendment_change(&proposer.sign::<AmendmentAddChange>(&a.amendment_id, change.clone())),
        is_forbidden,
    );
    refused(
        &m,
        "submit by a suspended proposer",
        || m.submit_amendment(&proposer.sign::<AmendmentSubmit>(&a.amendment_id, json!({}))),
        is_forbidden,
    );
    Ok(())
}
