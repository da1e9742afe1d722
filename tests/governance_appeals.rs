//! Appeals through the manager: filing (and what it does to a revocation or
//! a steward), evidence and responses by the parties, review, every
//! resolution outcome with its effect on the revocation and its target,
//! dismissal and withdrawal, a refusal in every state leaving the store
//! unchanged, and the per-appellant list.

mod common;

use anyhow::Result;
use common::keys::Person;
use common::world::{
    all_pages, is_forbidden, memory, refused, revocation_targets, target_state, world_with_member, Memory, World, DAY,
    HASH, T0,
};
use commons_gateway::actions::*;
use commons_gateway::records::StewardStatus;
use commons_gateway::records::{AffiliationStatus, Capability};
use commons_gateway::records::{Appeal, AppealKind, AppealState, Outcome, Remedy};
use commons_gateway::records::{AppealStatus, RevocationReason, RevocationRecord, RevocationTarget, TargetBefore};
use commons_gateway::AppealFilter;
use commons_gateway::Paging;
use commons_gateway::{CommonsError, CommonsStoreBackend};
use commons_gateway::{ConflictCode, Refusal};
use serde_json::{json, Value};

/// [`world_with_member`] with Pat a Member holding Vote.
fn with_pat(m: &Memory) -> Result<(World, Person, String, String)> {
    world_with_member(m, &[Capability::Vote])
}

fn revoke(m: &Memory, target: RevocationTarget, immediate: bool) -> Result<RevocationRecord> {
    Ok(m.create_revocation(RevocationRequest {
        target,
        reason: RevocationReason::Fraud,
        immediate,
        appeal_window_days: None,
    })?)
}

/// The payload of an appeal of `kind` asking to be reinstated.
fn filing(kind: Value) -> Value {
    json!({"kind": kind, "grounds": "This is wrong.", "statement": "Long story.", "requested_remedy": {"kind": "Reinstate"}})
}

fn file(m: &Memory, who: &Person, kind: Value) -> Result<Appeal, CommonsError> {
    m.file_appeal(&who.sign::<AppealFile>("-", filing(kind)))
}

fn appeal_revocation(m: &Memory, who: &Person, r: &RevocationRecord) -> Result<Appeal, CommonsError> {
    file(m, who, json!({"kind": "Revocation", "revocation_id": r.revocation_id}))
}

fn resolve(m: &Memory, id: &str, outcome: Outcome) -> Result<Appeal, CommonsError> {
    m.resolve_appeal(id, ResolveRequest { outcome, notes: "Decided.".into() })
}

fn is_transition(r: &Result<impl std::fmt::Debug, CommonsError>) -> bool {
    matches!(r, Err(CommonsError::Refused(Refusal::InvalidTransition { .. })))
}

#[test]
fn upheld_appeal_restores_every_target_kind_revoked_or_suspended() -> Result<()> {
    for immediate in [true, false] {
        for i in 0..4 {
            let m = memory()?;
            let (w, p, holder_id, steward_id) = with_pat(&m)?;
            let target = revocation_targets(&holder_id, &steward_id, &w.domain)[i].clone();
            let caps_before = m.holder(&holder_id)?.holder.affiliation(&w.domain).map(|a| a.capabilities.clone());
            assert!(caps_before.as_ref().is_some_and(|c| !c.is_empty()));
            let r = revoke(&m, target.clone(), immediate)?;
            assert_eq!(target_state(&m, &target)?, if immediate { "Revoked" } else { "Suspended" });

            // Even a revoked holder may appeal the revocation itself.
            m.clock().advance(DAY);
            let appeal = appeal_revocation(&m, &p, &r)?;
            assert_eq!(appeal.status, AppealState::Filed);
            assert_eq!(appeal.appellant_did, p.did);
            let pending = m.revocation(&r.revocation_id)?;
            assert_eq!(pending.appeal_status, AppealStatus::Pending { appeal_id: appeal.appeal_id.clone() });
            let expected_jurisdiction = matches!(target, RevocationTarget::Membership { .. }).then(|| w.domain.clone());
            assert_eq!(appeal.jurisdiction, expected_jurisdiction);

            let reviewed = m.review_appeal(&appeal.appeal_id)?;
            assert_eq!(reviewed.status, AppealState::UnderReview { reviewer: "operator".into() });
            let resolved = resolve(&m, &appeal.appeal_id, Outcome::Upheld)?;
            assert_eq!(
                resolved.status,
                AppealState::Resolved { outcome: Outcome::Upheld, notes: "Decided.".into(), at: T0 + DAY }
            );
            assert_eq!(m.appeal(&appeal.appeal_id)?, resolved);
            assert_eq!(m.revocation(&r.revocation_id)?.appeal_status, AppealStatus::Upheld { at: T0 + DAY });
            assert_eq!(target_state(&m, &target)?, "Live", "{target:?} immediate={immediate}");
            if let RevocationTarget::Membership { .. } = &target {
                // A ban cleared the capabilities; the upheld appeal gives them back.
                let caps = m.holder(&holder_id)?.holder.affiliation(&w.domain).map(|a| a.capabilities.clone());
                assert_eq!(caps, caps_before, "immediate={immediate}");
                let remembered = match &r.target_before {
                    Some(TargetBefore::Membership { capabilities, .. }) => Some(capabilities.clone()),
                    other => panic!("target_before of a membership revocation: {other:?}"),
                };
                assert_eq!(remembered, caps_before, "the revocation remembers them");
            }

            // An upheld revocation is over: never finalized, not in the sweep.
            assert_eq!(m.store().backend().scan(b"revocation_deadline/")?.len(), 0);
            m.clock().advance(60 * DAY);
            assert_eq!(m.finalize_due_revocations()?, 0);
            refused(
                &m,
                "finalize upheld",
                || m.finalize_revocation(&r.revocation_id),
                |r| {
                    matches!(
                        r,
                        Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::NotFinalizable, .. }))
                    )
                },
            );
            assert_eq!(target_state(&m, &target)?, "Live");
            let report = m.store().verify()?;
            assert!(report.is_clean(), "{:?}", report.problems);
        }
    }
    Ok(())
}

#[test]
fn denied_and_partially_upheld_appeals_let_the_revocation_stand() -> Result<()> {
    for outcome in [Outcome::Denied, Outcome::PartiallyUpheld] {
        let m = memory()?;
        let (w, p, holder_id, _) = with_pat(&m)?;
        let target = RevocationTarget::Membership { holder_id, jurisdiction: w.domain.clone() };
        let r = revoke(&m, target.clone(), false)?;
        let appeal = appeal_revocation(&m, &p, &r)?;
        m.review_appeal(&appeal.appeal_id)?;
        resolve(&m, &appeal.appeal_id, outcome)?;
        assert_eq!(m.revocation(&r.revocation_id)?.appeal_status, AppealStatus::Denied { at: T0 });
        assert_eq!(target_state(&m, &target)?, "Suspended");
        // A decided appeal cannot be filed again.
        refused(&m, "appeal again after a decision", || appeal_revocation(&m, &p, &r), is_transition);
        m.clock().advance(30 * DAY);
        assert_eq!(m.finalize_due_revocations()?, 1);
        assert_eq!(target_state(&m, &target)?, "Revoked");
    }
    Ok(())
}

#[test]
fn remanded_dismissed_and_withdrawn_appeals_free_the_revocation_for_a_new_appeal() -> Result<()> {
    let m = memory()?;
    let (_w, p, holder_id, _) = with_pat(&m)?;
    let target = RevocationTarget::Holder { holder_id };
    let r = revoke(&m, target.clone(), false)?;

    let a = appeal_revocation(&m, &p, &r)?;
    m.review_appeal(&a.appeal_id)?;
    resolve(&m, &a.appeal_id, Outcome::Remanded)?;
    assert_eq!(m.revocation(&r.revocation_id)?.appeal_status, AppealStatus::None);

    let b = appeal_revocation(&m, &p, &r)?;
    let dismissed = m.dismiss_appeal(&b.appeal_id, DismissRequest { reason: "Out of scope.".into() })?;
    assert_eq!(dismissed.status, AppealState::Dismissed { reason: "Out of scope.".into(), at: T0 });
    assert_eq!(m.revocation(&r.revocation_id)?.appeal_status, AppealStatus::None);

    let c = appeal_revocation(&m, &p, &r)?;
    m.review_appeal(&c.appeal_id)?;
    let withdrawn = m.withdraw_appeal(&p.sign::<AppealWithdraw>(&c.appeal_id, json!({})))?;
    assert_eq!(withdrawn.status, AppealState::Withdrawn { at: T0 });
    assert_eq!(m.revocation(&r.revocation_id)?.appeal_status, AppealStatus::None);
    assert_eq!(target_state(&m, &target)?, "Suspended");

    // With no appeal pending, the deadline finalizes it.
    m.clock().advance(30 * DAY);
    assert_eq!(m.finalize_due_revocations()?, 1);
    assert_eq!(target_state(&m, &target)?, "Revoked");
    Ok(())
}

#[test]
fn refused_filings_change_nothing() -> Result<()> {
    let m = memory()?;
    let (w, p, holder_id, steward_id) = with_pat(&m)?;
    let other = &w.genesis[3];
    let r = revoke(&m, RevocationTarget::Anchor { anchor_id: holder_id.clone() }, false)?;
    let revocation = json!({"kind": "Revocation", "revocation_id": r.revocation_id});

    let stranger = Person::new();
    let other_kind = |extra: Value| {
        let mut payload = json!({"kind": {"kind": "Other"}, "grounds": "g", "requested_remedy": {"kind": "None"}});
        if let (Some(p), Value::Object(extra)) = (payload.as_object_mut(), extra) {
            p.extend(extra);
        }
        payload
    };
    type Check = fn(&Result<Appeal, CommonsError>) -> bool;
    let rows: Vec<(&str, &Person, &str, Value, Check)> = vec![
        ("not a holder", &stranger, "-", filing(revocation.clone()), is_forbidden),
        ("someone else's revocation", other, "-", filing(revocation.clone()), is_forbidden),
        (
            "unknown revocation",
            &p,
            "-",
            filing(json!({"kind": "Revocation", "revocation_id": uuid::Uuid::now_v7().to_string()})),
            |r| matches!(r, Err(CommonsError::Refused(Refusal::NotFound { entity: "revocation", .. }))),
        ),
        (
            "revocation id that is no UUID",
            &p,
            "-",
            filing(json!({"kind": "Revocation", "revocation_id": "../x"})),
            |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidId { .. }))),
        ),
        (
            "target other than -",
            &p,
            &r.revocation_id,
            json!({"kind": revocation, "grounds": "g", "requested_remedy": {"kind": "None"}}),
            |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "target", .. }))),
        ),
        (
            "empty grounds",
            &p,
            "-",
            json!({"kind": revocation, "grounds": " ", "requested_remedy": {"kind": "None"}}),
            |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "grounds", .. }))),
        ),
        (
            "compensation without a currency",
            &p,
            "-",
            other_kind(json!({"requested_remedy": {"kind": "Compensation", "amount": 5, "currency": ""}})),
            |r| {
                matches!(
                    r,
                    Err(CommonsError::Refused(Refusal::InvalidInput { field: "requested_remedy.currency", .. }))
                )
            },
        ),
        ("unknown jurisdiction", &p, "-", other_kind(json!({"jurisdiction": "coop:nowhere"})), |r| {
            matches!(r, Err(CommonsError::Refused(Refusal::NotFound { entity: "charter", .. })))
        }),
        ("malformed jurisdiction", &p, "-", other_kind(json!({"jurisdiction": "coop/x"})), |r| {
            matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "jurisdiction", .. })))
        }),
        (
            "own steward action",
            &p,
            "-",
            filing(json!({"kind": "StewardAction", "steward_id": steward_id})),
            is_forbidden,
        ),
        ("unknown steward", other, "-", filing(json!({"kind": "StewardAction", "steward_id": "cd".repeat(32)})), |r| {
            matches!(r, Err(CommonsError::Refused(Refusal::NotFound { entity: "steward", .. })))
        }),
    ];
    for (what, who, target, payload, check) in rows {
        refused(&m, what, || m.file_appeal(&who.sign::<AppealFile>(target, payload)), check);
    }

    let first = appeal_revocation(&m, &p, &r)?;
    refused(&m, "second appeal while one is pending", || appeal_revocation(&m, &p, &r), is_transition);
    m.withdraw_appeal(&p.sign::<AppealWithdraw>(&first.appeal_id, json!({})))?;
    m.clock().advance(30 * DAY);
    refused(
        &m,
        "after the deadline",
        || appeal_revocation(&m, &p, &r),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::AppealDeadlinePassed, .. }))),
    );
    m.finalize_revocation(&r.revocation_id)?;
    refused(&m, "after finalisation", || appeal_revocation(&m, &p, &r), is_transition);

    // A revoked holder keeps due process only against its revocation.
    let revoked = &w.genesis[4];
    let revoked_id = m.holder_by_did(revoked.did.as_str())?.holder.holder_id;
    let hr = revoke(&m, RevocationTarget::Holder { holder_id: revoked_id }, true)?;
    refused(&m, "revoked holder, other kind", || file(&m, revoked, json!({"kind": "Other"})), is_forbidden);
    assert!(appeal_revocation(&m, revoked, &hr).is_ok());
    Ok(())
}

/// Disputes count when the operator decides them on the merits: Denied is a
/// dispute the steward won, Upheld and PartiallyUpheld disputes it lost;
/// Remanded, Dismissed and Withdrawn appeals count nothing. One holder has
/// one open StewardAction appeal per steward at a time, so filing appeals
/// cannot push a steward's reputation down (regression: filings used to
/// count, and two appeals took a steward that had attested twice from
/// reputation 1.0 to 0.0, unable to attest).
#[test]
fn steward_disputes_count_only_decided_appeals() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let local = &w.genesis[2];
    let steward_id = m.register_steward(local.did.as_str(), 365, Some(w.domain.clone()))?.steward.steward_id;
    let appellant = &w.genesis[3];
    let kind = json!({"kind": "StewardAction", "steward_id": steward_id});
    let counters = |m: &Memory| -> Result<(u64, u64)> {
        let s = m.steward(&steward_id)?.steward;
        Ok((s.disputes_against, s.disputes_won))
    };

    let a = file(&m, appellant, kind.clone())?;
    assert_eq!(a.jurisdiction, Some(w.domain.clone()), "defaults to the steward's jurisdiction");
    assert_eq!(counters(&m)?, (0, 0), "a filing is not a dispute yet");
    refused(
        &m,
        "second open appeal of the same steward",
        || file(&m, appellant, kind.clone()),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::AppealOpen, .. }))),
    );
    // Another holder may appeal the same steward meanwhile.
    let other = file(&m, &w.genesis[4], kind.clone())?;
    m.withdraw_appeal(&w.genesis[4].sign::<AppealWithdraw>(&other.appeal_id, json!({})))?;
    m.review_appeal(&a.appeal_id)?;
    assert_eq!(counters(&m)?, (0, 0), "nor is a review");
    resolve(&m, &a.appeal_id, Outcome::Denied)?;
    assert_eq!(counters(&m)?, (1, 1), "denied: a dispute the steward won");

    let mut expected = (1, 1);
    for (outcome, counts) in [
        (Some(Outcome::Upheld), true),
        (Some(Outcome::PartiallyUpheld), true),
        (Some(Outcome::Remanded), false),
        (None, false),
    ] {
        let appeal = file(&m, appellant, kind.clone())?;
        match outcome {
            Some(outcome) => {
                m.review_appeal(&appeal.appeal_id)?;
                resolve(&m, &appeal.appeal_id, outcome)?;
            }
            None => {
                m.dismiss_appeal(&appeal.appeal_id, DismissRequest { reason: "Frivolous.".into() })?;
            }
        }
        if counts {
            expected.0 += 1;
        }
        assert_eq!(counters(&m)?, expected, "after {outcome:?}");
    }
    let s = m.steward(&steward_id)?.steward;
    assert_eq!((s.disputes_against, s.disputes_won), (3, 1), "only a denial is a win");
    assert_eq!(s.status, StewardStatus::Active, "an appeal does not change the steward's status");
    Ok(())
}

#[test]
fn parties_add_evidence_and_responses_while_the_appeal_is_open() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let other = World::build(&m, "brewery", false)?;
    let local = &w.genesis[2];
    m.register_steward(local.did.as_str(), 365, Some(w.domain.clone()))?;
    let foreign = &other.genesis[2];
    m.register_steward(foreign.did.as_str(), 365, Some(other.domain.clone()))?;
    let accused = &w.genesis[4];
    let accused_id = m.register_steward(accused.did.as_str(), 365, Some(w.domain.clone()))?.steward.steward_id;
    let appellant = &w.genesis[3];
    // The appeal belongs to the accused steward's jurisdiction: naming
    // another would pick other stewards as parties.
    refused(
        &m,
        "steward-action appeal naming another jurisdiction",
        || {
            m.file_appeal(&appellant.sign::<AppealFile>(
                "-",
                json!({"kind": {"kind": "StewardAction", "steward_id": accused_id}, "grounds": "Bad vouch.",
                       "requested_remedy": {"kind": "None"}, "jurisdiction": other.domain}),
            ))
        },
        |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "jurisdiction", .. }))),
    );
    let a = m.file_appeal(&appellant.sign::<AppealFile>(
        "-",
        json!({"kind": {"kind": "StewardAction", "steward_id": accused_id}, "grounds": "Bad vouch.",
               "requested_remedy": {"kind": "Compensation", "amount": 100, "currency": "EUR"},
               "jurisdiction": w.domain}),
    ))?;
    assert_eq!(a.requested_remedy, Remedy::Compensation { amount: 100, currency: "EUR".into() });
    let id = a.appeal_id.clone();

    let evidence = |who: &Person| {
        m.add_appeal_evidence(
            &who.sign::<AppealEvidence>(&id, json!({"sha256": HASH, "description": "Photo of the receipt"})),
        )
    };
    let respond =
        |who: &Person, text: &str| m.respond_to_appeal(&who.sign::<AppealRespond>(&id, json!({"text": text})));

    evidence(appellant)?;
    respond(appellant, "As the receipt shows.")?;
    respond(accused, "I acted in good faith.")?; // the steward concerned
    respond(local, "Looking into it.")?; // a steward of the appeal's jurisdiction
    let commons_wide = &w.stewards[0];
    let after = respond(commons_wide, "Noted.")?; // a commons-wide steward serves everywhere
    assert_eq!(after.evidence.len(), 1);
    assert_eq!(after.evidence[0].submitted_by, appellant.did);
    assert_eq!(after.evidence[0].sha256, HASH);
    assert_eq!(
        after.responses.iter().map(|r| r.responder_did.clone()).collect::<Vec<_>>(),
        vec![appellant.did.clone(), accused.did.clone(), local.did.clone(), commons_wide.did.clone()]
    );

    refused(&m, "steward of another jurisdiction", || respond(foreign, "Hi"), is_forbidden);
    Ok(())
}

#[test]
fn outsiders_and_bad_input_are_refused_on_evidence_and_responses() -> Result<()> {
    let m = memory()?;
    let (w, p, _, _) = with_pat(&m)?;
    let a = file(&m, &p, json!({"kind": "Suspension"}))?;
    let id = a.appeal_id.clone();
    let outsider = &w.genesis[3];
    refused(
        &m,
        "outsider evidence",
        || m.add_appeal_evidence(&outsider.sign::<AppealEvidence>(&id, json!({"sha256": HASH, "description": "x"}))),
        is_forbidden,
    );
    refused(
        &m,
        "outsider response",
        || m.respond_to_appeal(&outsider.sign::<AppealRespond>(&id, json!({"text": "x"}))),
        is_forbidden,
    );
    refused(
        &m,
        "bad hash",
        || m.add_appeal_evidence(&p.sign::<AppealEvidence>(&id, json!({"sha256": "ABC", "description": "x"}))),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "sha256", .. }))),
    );
    refused(
        &m,
        "empty response",
        || m.respond_to_appeal(&p.sign::<AppealRespond>(&id, json!({"text": "  "}))),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "text", .. }))),
    );
    refused(
        &m,
        "withdraw by a steward",
        || m.withdraw_appeal(&w.stewards[0].sign::<AppealWithdraw>(&id, json!({}))),
        is_forbidden,
    );
    refused(
        &m,
        "unknown appeal",
        || m.respond_to_appeal(&p.sign::<AppealRespond>(&uuid::Uuid::now_v7().to_string(), json!({"text": "x"}))),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::NotFound { .. }))),
    );
    Ok(())
}

#[test]
fn refusals_in_every_appeal_state_change_nothing() -> Result<()> {
    let m = memory()?;
    let (_w, p, _, _) = with_pat(&m)?;
    let kind = json!({"kind": "GovernanceDecision", "reference": "Vote of 2026-10"});

    // Filed.
    let a = file(&m, &p, kind.clone())?;
    let id = a.appeal_id.clone();
    refused(&m, "resolve a filed appeal", || resolve(&m, &id, Outcome::Upheld), is_transition);
    m.review_appeal(&id)?;
    // UnderReview.
    refused(&m, "review twice", || m.review_appeal(&id), is_transition);
    m.add_appeal_evidence(&p.sign::<AppealEvidence>(&id, json!({"sha256": HASH, "description": "x"})))?;
    resolve(&m, &id, Outcome::Denied)?;

    let dismissed = file(&m, &p, kind.clone())?;
    m.dismiss_appeal(&dismissed.appeal_id, DismissRequest { reason: "No".into() })?;
    let withdrawn = file(&m, &p, kind.clone())?;
    m.withdraw_appeal(&p.sign::<AppealWithdraw>(&withdrawn.appeal_id, json!({})))?;

    for ended in [id.as_str(), &dismissed.appeal_id, &withdrawn.appeal_id] {
        refused(&m, "review an ended appeal", || m.review_appeal(ended), is_transition);
        refused(&m, "resolve an ended appeal", || resolve(&m, ended, Outcome::Upheld), is_transition);
        refused(
            &m,
            "dismiss an ended appeal",
            || m.dismiss_appeal(ended, DismissRequest { reason: "x".into() }),
            is_transition,
        );
        refused(
            &m,
            "withdraw an ended appeal",
            || m.withdraw_appeal(&p.sign::<AppealWithdraw>(ended, json!({}))),
            is_transition,
        );
        refused(
            &m,
            "evidence on an ended appeal",
            || m.add_appeal_evidence(&p.sign::<AppealEvidence>(ended, json!({"sha256": HASH, "description": "x"}))),
            is_transition,
        );
        refused(
            &m,
            "respond to an ended appeal",
            || m.respond_to_appeal(&p.sign::<AppealRespond>(ended, json!({"text": "x"}))),
            is_transition,
        );
    }
    refused(
        &m,
        "bad appeal id",
        || m.review_appeal("not-a-uuid"),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidId { .. }))),
    );
    Ok(())
}

#[test]
fn appeals_are_listed_per_appellant_filtered_and_paged() -> Result<()> {
    let m = memory()?;
    let (w, p, _, _) = with_pat(&m)?;
    let mut ids = Vec::new();
    for kind in [json!({"kind": "Other"}), json!({"kind": "Suspension"}), json!({"kind": "Other"})] {
        ids.push(file(&m, &p, kind)?.appeal_id);
    }
    file(&m, &w.genesis[3], json!({"kind": "Other"}))?;
    m.review_appeal(&ids[1])?;

    let all = m.list_appeals(p.did.as_str(), &AppealFilter::default(), Paging::new(None, 100))?;
    assert_eq!(all.items.iter().map(|a| a.appeal_id.clone()).collect::<Vec<_>>(), ids);
    assert!(matches!(all.items[1].kind, AppealKind::Suspension));
    let under_review =
        m.list_appeals(p.did.as_str(), &AppealFilter { status: Some("UnderReview".into()) }, Paging::new(None, 100))?;
    assert_eq!(under_review.items.iter().map(|a| a.appeal_id.clone()).collect::<Vec<_>>(), vec![ids[1].clone()]);

    let paged = all_pages(2, |cursor, limit| {
        m.list_appeals(p.did.as_str(), &AppealFilter::default(), Paging::new(cursor, limit))
    })?;
    assert_eq!(paged.into_iter().map(|a| a.appeal_id).collect::<Vec<_>>(), ids);

    assert!(matches!(
        m.list_appeals(&p.did.as_str().to_uppercase(), &AppealFilter::default(), Paging::new(None, 10)),
        Err(CommonsError::Refused(Refusal::InvalidDid(_)))
    ));
    assert!(matches!(
        m.list_appeals(p.did.as_str(), &AppealFilter { status: Some("Open".into()) }, Paging::new(None, 10)),
        Err(CommonsError::Refused(Refusal::InvalidInput { field: "status", .. }))
    ));
    assert!(m
        .list_appeals(Person::new().did.as_str(), &AppealFilter::default(), Paging::new(None, 10))?
        .items
        .is_empty());
    Ok(())
}

/// Resolves an appeal of `r` by `who` as Upheld (filed, reviewed, resolved).
fn uphold(m: &Memory, who: &Person, r: &RevocationRecord) -> Result<()> {
    let appeal = appeal_revocation(m, who, r)?;
    m.review_appeal(&appeal.appeal_id)?;
    resolve(m, &appeal.appeal_id, Outcome::Upheld)?;
    assert!(matches!(m.revocation(&r.revocation_id)?.appeal_status, AppealStatus::Upheld { .. }));
    Ok(())
}

/// An upheld appeal undoes what its revocation did and nothing else: a
/// separate operator decision taken meanwhile (revoking the anchor or the
/// steward outright, banning the membership) stands (regression: the upheld
/// appeal made them Active again).
#[test]
fn an_upheld_appeal_leaves_a_separate_operator_decision_standing() -> Result<()> {
    let m = memory()?;
    let (w, p, holder_id, steward_id) = with_pat(&m)?;
    let [anchor, _, membership, steward] = revocation_targets(&holder_id, &steward_id, &w.domain);
    let separate = [
        (anchor, "Revoked"),
        (steward, "Revoked"),
        (membership, "Revoked"), // Banned
    ];
    for (target, decided) in separate {
        let r = revoke(&m, target.clone(), false)?;
        match &target {
            RevocationTarget::Anchor { anchor_id } => {
                m.revoke_anchor(anchor_id, Some("separate finding".into()))?;
            }
            RevocationTarget::Steward { steward_id } => {
                m.revoke_steward(steward_id, Some("separate finding".into()))?;
            }
            _ => {
                m.ban_affiliation(&holder_id, &w.domain, Some("separate finding".into()))?;
            }
        }
        uphold(&m, &p, &r)?;
        assert_eq!(target_state(&m, &target)?, decided, "{target:?}: the operator's decision stands");
        let report = m.store().verify()?;
        assert!(report.is_clean(), "{target:?}: {:?}", report.problems);
    }
    Ok(())
}

/// A membership comes back to what it was when the revocation was created:
/// a Candidate stays a Candidate, a Provisional member Provisional (with its
/// capabilities), an Exited one Exited (regression: each came back a Member).
#[test]
fn an_upheld_membership_appeal_restores_the_status_it_had() -> Result<()> {
    use commons_gateway::actions::{AffiliationApply, AffiliationLeave};
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let j = json!({ "jurisdiction": w.domain });
    for (before, immediate) in [
        (AffiliationStatus::Candidate, true),
        (AffiliationStatus::Provisional, false),
        (AffiliationStatus::Provisional, true),
        (AffiliationStatus::Exited, true),
    ] {
        let p = Person::new();
        let id = m.bootstrap_anchor(p.did.as_str(), None)?.anchor.anchor_id;
        m.apply_affiliation(&p.sign::<AffiliationApply>(&id, j.clone()))?;
        if before == AffiliationStatus::Provisional {
            m.approve_affiliation_by_operator(&id, &w.domain, None)?;
            m.set_affiliation_capabilities(&id, &w.domain, [Capability::Vote, Capability::Transact].into())?;
        }
        if before == AffiliationStatus::Exited {
            m.leave_affiliation(&p.sign::<AffiliationLeave>(&id, j.clone()))?;
        }
        let had = m.holder(&id)?.holder.affiliation(&w.domain).cloned().expect("affiliation");
        assert_eq!(had.status, before);
        let target = RevocationTarget::Membership { holder_id: id.clone(), jurisdiction: w.domain.clone() };
        let r = revoke(&m, target, immediate)?;
        uphold(&m, &p, &r)?;
        let now = m.holder(&id)?.holder.affiliation(&w.domain).cloned().expect("affiliation");
        assert_eq!(
            (now.status, &now.capabilities, &now.roles),
            (before, &had.capabilities, &had.roles),
            "{before:?} immediate={immediate}"
        );
        let report = m.store().verify()?;
        assert!(report.is_clean(), "{before:?}: {:?}", report.problems);
    }
    Ok(())
}

/// A revocation appeal belongs where its target lives: the whole commons for
/// an anchor, a holder or a commons-wide steward; naming a jurisdiction in
/// the payload (and so choosing which stewards become parties) is a 400.
#[test]
fn revocation_appeals_belong_to_where_their_target_lives() -> Result<()> {
    let m = memory()?;
    let (w, p, holder_id, steward_id) = with_pat(&m)?;
    let [anchor, holder, _, steward] = revocation_targets(&holder_id, &steward_id, &w.domain);
    for target in [anchor, holder, steward] {
        let r = revoke(&m, target.clone(), false)?;
        refused(
            &m,
            &format!("{target:?} appeal naming {}", w.domain),
            || {
                m.file_appeal(&p.sign::<AppealFile>(
                    "-",
                    json!({"kind": {"kind": "Revocation", "revocation_id": r.revocation_id},
                           "grounds": "Wrong.", "requested_remedy": {"kind": "Reverse"}, "jurisdiction": w.domain}),
                ))
            },
            |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "jurisdiction", .. }))),
        );
        let appeal = appeal_revocation(&m, &p, &r)?;
        assert_eq!(appeal.jurisdiction, None, "{target:?}");
        m.withdraw_appeal(&p.sign::<AppealWithdraw>(&appeal.appeal_id, json!({})))?;
    }
    Ok(())
}

/// An immediate revocation of a target the operator had already suspended,
/// once appealed and upheld, leaves it suspended as the operator had it: the
/// appeal undoes the revocation, not the earlier decision (regression: it
/// came back Active).
#[test]
fn an_upheld_appeal_keeps_an_earlier_operator_suspension() -> Result<()> {
    use commons_gateway::records::AnchorStatus;
    let m = memory()?;
    let (w, p, holder_id, steward_id) = with_pat(&m)?;
    let [anchor, _, _, steward] = revocation_targets(&holder_id, &steward_id, &w.domain);
    m.suspend_anchor(&holder_id, Some("key may be lost".into()))?;
    m.suspend_steward(&steward_id, Some("complaint".into()))?;
    let anchor_was = m.anchor(&holder_id)?.anchor.status;
    let steward_was = m.steward(&steward_id)?.steward.status;
    assert!(matches!(anchor_was, AnchorStatus::Suspended { .. }));
    for target in [anchor, steward] {
        let r = revoke(&m, target.clone(), true)?;
        assert_eq!(target_state(&m, &target)?, "Revoked");
        uphold(&m, &p, &r)?;
    }
    assert_eq!(m.anchor(&holder_id)?.anchor.status, anchor_was, "the operator's suspension stands");
    assert_eq!(m.steward(&steward_id)?.steward.status, steward_was, "the operator's suspension stands");
    let report = m.store().verify()?;
    assert!(report.is_clean(), "{:?}", report.problems);
    Ok(())
}
