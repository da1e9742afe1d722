//! Amendments through the manager: every allowed step from Draft to
//! Ratified / Rejected / Withdrawn, a refusal in every state leaving the
//! store unchanged, who may propose, open, vote and close, the quorum and
//! approval arithmetic at its exact thresholds, who counts as eligible, the
//! close sweep, and the per-charter list.

mod common;

use anyhow::Result;
use common::keys::Person;
use common::world::{all_pages, is_forbidden, make_member, memory, new_members, refused, Memory, World, T0, WEEK};
use commons_gateway::actions::*;
use commons_gateway::actions::{CharterCreate, EnrollComplete};
use commons_gateway::records::Capability::{Propose, Transact, Vote};
use commons_gateway::records::RevocationTarget;
use commons_gateway::records::{Amendment, AmendmentStatus, ChangeKind};
use commons_gateway::AmendmentFilter;
use commons_gateway::Paging;
use commons_gateway::{CommonsError, CommonsStoreBackend};
use commons_gateway::{ConflictCode, Refusal};
use serde_json::{json, Value};

/// A world plus a proposer (Member with Propose and Vote).
fn world_with_proposer(m: &Memory) -> Result<(World, Person)> {
    let w = World::build(m, "bakery", false)?;
    let proposer = Person::new();
    m.bootstrap_anchor(proposer.did.as_str(), Some("Proposer".into()))?;
    make_member(m, &proposer.did, &w.domain, &[Propose, Vote])?;
    Ok((w, proposer))
}

fn propose(m: &Memory, w: &World, proposer: &Person, requirements: Value) -> Result<Amendment> {
    Ok(m.propose_amendment(&proposer.sign::<AmendmentPropose>(
        "-",
        json!({
            "charter_id": w.charter_id, "title": "Open on Sundays", "description": "We bake on Sundays too.",
            "changes": [{"target": "hours", "change": "Modify", "new_value": "Mon-Sun"}],
            "requirements": requirements,
        }),
    ))?)
}

/// An amendment in Voting (opened by steward 0) with the given requirements.
fn voting(m: &Memory, w: &World, proposer: &Person, requirements: Value) -> Result<Amendment> {
    let a = propose(m, w, proposer, requirements)?;
    m.submit_amendment(&proposer.sign::<AmendmentSubmit>(&a.amendment_id, json!({})))?;
    Ok(m.open_amendment_voting(&w.stewards[0].sign::<AmendmentOpenVoting>(&a.amendment_id, json!({})))?)
}

fn vote(m: &Memory, voter: &Person, id: &str, approve: bool) -> Result<Amendment, CommonsError> {
    m.vote_amendment(&voter.sign::<CastVote>(id, json!({ "approve": approve })))
}

fn is_transition(r: &Result<impl std::fmt::Debug, CommonsError>) -> bool {
    matches!(r, Err(CommonsError::Refused(Refusal::InvalidTransition { entity: "amendment", .. })))
}

#[test]
fn amendment_goes_from_draft_to_ratified_and_keeps_every_vote() -> Result<()> {
    let m = memory()?;
    let (w, proposer) = world_with_proposer(&m)?;
    let voters = new_members(&m, &w.domain, 3, &[Vote])?;

    let a = m.propose_amendment(
        &proposer
            .sign::<AmendmentPropose>("-", json!({"charter_id": w.charter_id, "title": "Sunday hours", "changes": []})),
    )?;
    assert_eq!(a.status, AmendmentStatus::Draft);
    assert_eq!(a.proposer_did, proposer.did);
    assert_eq!(a.requirements.quorum_pct, 50);
    assert_eq!(a.requirements.approval_pct, 66);
    assert_eq!(a.requirements.voting_secs, WEEK);
    assert_eq!(m.amendment(&a.amendment_id)?, a);

    let id = a.amendment_id.clone();
    let a = m.add_amendment_change(&proposer.sign::<AmendmentAddChange>(
        &id,
        json!({"target": "hours", "change": "Replace", "new_value": "Mon-Sun 7-19"}),
    ))?;
    assert_eq!(a.changes.len(), 1);
    assert_eq!(a.changes[0].change, ChangeKind::Replace);
    let a = m.submit_amendment(&proposer.sign::<AmendmentSubmit>(&id, json!({})))?;
    assert_eq!(a.status, AmendmentStatus::Submitted);

    m.clock().advance(60);
    let a = m.open_amendment_voting(&w.stewards[1].sign::<AmendmentOpenVoting>(&id, json!({})))?;
    assert_eq!(a.status, AmendmentStatus::Voting { opens_at: T0 + 60, closes_at: T0 + 60 + WEEK });

    for (i, v) in voters.iter().enumerate() {
        vote(&m, v, &id, i != 2)?;
    }
    let a = vote(&m, &proposer, &id, true)?;
    assert_eq!(a.votes.len(), 4);
    assert_eq!(a.votes[0].voter_did, voters[0].did);
    assert!(!a.votes[2].approve);
    assert_eq!(a.votes[3].signature.len(), 128);

    m.clock().advance(WEEK);
    let closed = m.close_amendment(&id, false)?;
    // Eligible: the proposer and the three voters (Members with Vote).
    assert_eq!((closed.tally.eligible, closed.tally.votes, closed.tally.approvals), (4, 4, 3));
    assert!(closed.tally.ratified);
    assert_eq!(closed.amendment.status, AmendmentStatus::Ratified { at: T0 + 60 + WEEK });
    assert_eq!(m.amendment(&id)?, closed.amendment);
    Ok(())
}

#[test]
fn proposer_withdraws_from_draft_submitted_and_voting() -> Result<()> {
    let m = memory()?;
    let (w, proposer) = world_with_proposer(&m)?;
    let draft = propose(&m, &w, &proposer, json!(null))?;
    let submitted = propose(&m, &w, &proposer, json!(null))?;
    m.submit_amendment(&proposer.sign::<AmendmentSubmit>(&submitted.amendment_id, json!({})))?;
    let in_vote = voting(&m, &w, &proposer, json!(null))?;
    vote(&m, &proposer, &in_vote.amendment_id, true)?;
    for a in [&draft, &submitted, &in_vote] {
        let id = &a.amendment_id;
        let done = m.withdraw_amendment(&proposer.sign::<AmendmentWithdraw>(id, json!({})))?;
        assert_eq!(done.status, AmendmentStatus::Withdrawn { at: T0 });
    }
    // The votes cast stay on the withdrawn record; nothing closes it later.
    assert_eq!(m.amendment(&in_vote.amendment_id)?.votes.len(), 1);
    m.clock().advance(WEEK);
    assert_eq!(m.close_due_amendments()?, 0);
    Ok(())
}

#[test]
fn refusals_in_every_state_change_nothing() -> Result<()> {
    let m = memory()?;
    let (w, proposer) = world_with_proposer(&m)?;
    let stranger = Person::new();
    let voter = &new_members(&m, &w.domain, 1, &[Vote])?[0];

    // Draft.
    let a = m.propose_amendment(
        &proposer.sign::<AmendmentPropose>("-", json!({"charter_id": w.charter_id, "title": "Empty so far"})),
    )?;
    let id = a.amendment_id.clone();
    refused(
        &m,
        "submit without changes",
        || m.submit_amendment(&proposer.sign::<AmendmentSubmit>(&id, json!({}))),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::NoChanges, .. }))),
    );
    refused(
        &m,
        "change by someone else",
        || m.add_amendment_change(&voter.sign::<AmendmentAddChange>(&id, json!({"target": "x", "change": "Remove"}))),
        is_forbidden,
    );
    refused(
        &m,
        "Remove with a new value",
        || {
            m.add_amendment_change(
                &proposer.sign::<AmendmentAddChange>(&id, json!({"target": "x", "change": "Remove", "new_value": "y"})),
            )
        },
        |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "new_value", .. }))),
    );
    refused(
        &m,
        "open voting on a draft",
        || m.open_amendment_voting(&w.stewards[0].sign::<AmendmentOpenVoting>(&id, json!({}))),
        is_transition,
    );
    refused(&m, "vote on a draft", || vote(&m, voter, &id, true), is_transition);
    refused(&m, "close a draft", || m.close_amendment(&id, true), is_transition);
    refused(
        &m,
        "withdraw by someone else",
        || m.withdraw_amendment(&voter.sign::<AmendmentWithdraw>(&id, json!({}))),
        is_forbidden,
    );
    m.add_amendment_change(&proposer.sign::<AmendmentAddChange>(&id, json!({"target": "x", "change": "Remove"})))?;

    // Submitted.
    m.submit_amendment(&proposer.sign::<AmendmentSubmit>(&id, json!({})))?;
    refused(
        &m,
        "change after submit",
        || {
            m.add_amendment_change(
                &proposer.sign::<AmendmentAddChange>(&id, json!({"target": "y", "change": "Remove"})),
            )
        },
        is_transition,
    );
    refused(
        &m,
        "submit twice",
        || m.submit_amendment(&proposer.sign::<AmendmentSubmit>(&id, json!({}))),
        is_transition,
    );
    refused(&m, "vote before voting", || vote(&m, voter, &id, true), is_transition);
    refused(
        &m,
        "open voting by a member who is no steward",
        || m.open_amendment_voting(&proposer.sign::<AmendmentOpenVoting>(&id, json!({}))),
        is_forbidden,
    );
    refused(
        &m,
        "open voting by a stranger",
        || m.open_amendment_voting(&stranger.sign::<AmendmentOpenVoting>(&id, json!({}))),
        is_forbidden,
    );

    // Voting.
    m.open_amendment_voting_by_operator(&id)?;
    vote(&m, voter, &id, true)?;
    refused(
        &m,
        "open voting twice",
        || m.open_amendment_voting(&w.stewards[0].sign::<AmendmentOpenVoting>(&id, json!({}))),
        is_transition,
    );
    refused(&m, "operator opens twice", || m.open_amendment_voting_by_operator(&id), is_transition);
    refused(
        &m,
        "vote twice",
        || vote(&m, voter, &id, false),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::AlreadyVoted, .. }))),
    );
    refused(&m, "vote by a stranger", || vote(&m, &stranger, &id, true), is_forbidden);
    refused(&m, "vote by a genesis member without affiliation", || vote(&m, &w.genesis[3], &id, true), is_forbidden);
    refused(&m, "close before closes_at without the operator", || m.close_amendment(&id, false), is_transition);
    refused(&m, "sweep before closes_at", || m.close_due_amendments().map(|n| assert_eq!(n, 0)), |r| r.is_ok());
    m.clock().advance(WEEK);
    refused(&m, "vote at closes_at", || vote(&m, &proposer, &id, true), is_transition);

    // Ratified: 2 eligible (the proposer and the voter), 1 vote = 50 % quorum.
    let closed = m.close_amendment(&id, false)?;
    assert_eq!((closed.tally.eligible, closed.tally.votes, closed.tally.approvals), (2, 1, 1));
    assert!(matches!(closed.amendment.status, AmendmentStatus::Ratified { .. }));
    refused(&m, "close twice", || m.close_amendment(&id, true), is_transition);
    refused(
        &m,
        "withdraw ratified",
        || m.withdraw_amendment(&proposer.sign::<AmendmentWithdraw>(&id, json!({}))),
        is_transition,
    );
    refused(&m, "vote on ratified", || vote(&m, &proposer, &id, true), is_transition);

    // Rejected and Withdrawn refuse the same way.
    let rejected = voting(&m, &w, &proposer, json!(null))?;
    m.close_amendment(&rejected.amendment_id, true)?;
    let withdrawn = propose(&m, &w, &proposer, json!(null))?;
    m.withdraw_amendment(&proposer.sign::<AmendmentWithdraw>(&withdrawn.amendment_id, json!({})))?;
    for a in [&rejected, &withdrawn] {
        let id = a.amendment_id.clone();
        refused(
            &m,
            "withdraw an ended amendment",
            || m.withdraw_amendment(&proposer.sign::<AmendmentWithdraw>(&id, json!({}))),
            is_transition,
        );
        refused(&m, "vote on an ended amendment", || vote(&m, voter, &id, true), is_transition);
        refused(&m, "close an ended amendment", || m.close_amendment(&id, true), is_transition);
        refused(
            &m,
            "submit an ended amendment",
            || m.submit_amendment(&proposer.sign::<AmendmentSubmit>(&id, json!({}))),
            is_transition,
        );
    }
    Ok(())
}

#[test]
fn only_an_active_member_with_propose_of_an_active_charter_may_propose() -> Result<()> {
    let m = memory()?;
    let (w, proposer) = world_with_proposer(&m)?;
    let voter_only = &new_members(&m, &w.domain, 1, &[Vote, Transact])?[0];
    let body = json!({"charter_id": w.charter_id, "title": "T"});
    refused(
        &m,
        "member without Propose",
        || m.propose_amendment(&voter_only.sign::<AmendmentPropose>("-", body.clone())),
        is_forbidden,
    );
    refused(
        &m,
        "genesis founder without affiliation",
        || m.propose_amendment(&w.genesis[0].sign::<AmendmentPropose>("-", body.clone())),
        is_forbidden,
    );
    refused(
        &m,
        "stranger",
        || m.propose_amendment(&Person::new().sign::<AmendmentPropose>("-", body.clone())),
        is_forbidden,
    );
    refused(
        &m,
        "target other than -",
        || m.propose_amendment(&proposer.sign::<AmendmentPropose>(&w.charter_id, body.clone())),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "target", .. }))),
    );
    refused(
        &m,
        "empty title",
        || {
            m.propose_amendment(
                &proposer.sign::<AmendmentPropose>("-", json!({"charter_id": w.charter_id, "title": ""})),
            )
        },
        |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "title", .. }))),
    );
    refused(
        &m,
        "quorum 0",
        || {
            m.propose_amendment(&proposer.sign::<AmendmentPropose>(
                "-",
                json!({"charter_id": w.charter_id, "title": "T", "requirements": {"quorum_pct": 0}}),
            ))
        },
        |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "requirements.quorum_pct", .. }))),
    );
    refused(
        &m,
        "unknown charter",
        || {
            m.propose_amendment(
                &proposer.sign::<AmendmentPropose>("-", json!({"charter_id": "ab".repeat(32), "title": "T"})),
            )
        },
        |r| matches!(r, Err(CommonsError::Refused(Refusal::NotFound { entity: "charter", .. }))),
    );
    refused(
        &m,
        "charter id that is no id",
        || m.propose_amendment(&proposer.sign::<AmendmentPropose>("-", json!({"charter_id": "x/y", "title": "T"}))),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidId { .. }))),
    );

    // A Draft charter takes no amendment, even from a member of its domain.
    let draft = m.create_charter(&w.genesis[4].sign::<CharterCreate>(
        "-",
        json!({"domain_id": "coop:later", "org_type": "Cooperative", "name": "Later",
               "membership_policy": {"open_enrollment": true}}),
    ))?;
    make_member(&m, &proposer.did, "coop:later", &[Propose])?;
    refused(
        &m,
        "draft charter",
        || {
            m.propose_amendment(
                &proposer.sign::<AmendmentPropose>("-", json!({"charter_id": draft.charter.charter_id, "title": "T"})),
            )
        },
        |r| matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::CharterNotActive, .. }))),
    );

    // A suspended holder keeps the affiliation but may not propose or vote.
    let holder_id = m.holder_by_did(proposer.did.as_str())?.holder.holder_id;
    let a = voting(&m, &w, &proposer, json!(null))?;
    m.create_revocation(RevocationRequest {
        target: RevocationTarget::Holder { holder_id },
        reason: commons_gateway::records::RevocationReason::PolicyViolation,
        immediate: false,
        appeal_window_days: None,
    })?;
    refused(
        &m,
        "suspended proposer",
        || m.propose_amendment(&proposer.sign::<AmendmentPropose>("-", body.clone())),
        is_forbidden,
    );
    refused(&m, "suspended voter", || vote(&m, &proposer, &a.amendment_id, true), is_forbidden);
    Ok(())
}

#[test]
fn enrolled_provisional_members_may_not_vote_until_they_are_members() -> Result<()> {
    let m = memory()?;
    let (w, proposer) = world_with_proposer(&m)?;
    let newcomer = Person::new();
    let session = w.enroll_to_level(&m, &newcomer, 2, 0)?;
    m.complete_enrollment(&newcomer.sign::<EnrollComplete>(&session, json!({})))?;
    let a = voting(&m, &w, &proposer, json!(null))?;
    // Provisional with Vote (from the vouched enrollment) is not a Member.
    refused(&m, "provisional voter", || vote(&m, &newcomer, &a.amendment_id, true), is_forbidden);
    make_member(&m, &newcomer.did, &w.domain, &[Vote])?;
    assert_eq!(vote(&m, &newcomer, &a.amendment_id, true)?.votes.len(), 1);
    Ok(())
}

#[test]
fn only_a_steward_serving_the_jurisdiction_or_the_operator_opens_voting() -> Result<()> {
    let m = memory()?;
    let (w, proposer) = world_with_proposer(&m)?;
    // A second cooperative with its own steward, bound to it.
    let other = World::build(&m, "brewery", false)?;
    m.register_steward(other.genesis[2].did.as_str(), 365, Some(other.domain.clone()))?;
    let local = &w.genesis[2];
    m.register_steward(local.did.as_str(), 365, Some(w.domain.clone()))?;

    let a = propose(&m, &w, &proposer, json!(null))?;
    m.submit_amendment(&proposer.sign::<AmendmentSubmit>(&a.amendment_id, json!({})))?;
    let id = a.amendment_id.clone();
    refused(
        &m,
        "steward of another jurisdiction",
        || m.open_amendment_voting(&other.genesis[2].sign::<AmendmentOpenVoting>(&id, json!({}))),
        is_forbidden,
    );
    let opened = m.open_amendment_voting(&local.sign::<AmendmentOpenVoting>(&id, json!({})))?;
    assert!(matches!(opened.status, AmendmentStatus::Voting { .. }));

    // The operator opens too, and may close early.
    let b = propose(&m, &w, &proposer, json!(null))?;
    m.submit_amendment(&proposer.sign::<AmendmentSubmit>(&b.amendment_id, json!({})))?;
    m.open_amendment_voting_by_operator(&b.amendment_id)?;
    vote(&m, &proposer, &b.amendment_id, true)?;
    m.clock().advance(3_600);
    let closed = m.close_amendment(&b.amendment_id, true)?;
    assert_eq!((closed.tally.eligible, closed.tally.votes, closed.tally.approvals), (1, 1, 1));
    assert_eq!(closed.amendment.status, AmendmentStatus::Ratified { at: T0 + 3_600 });
    Ok(())
}

/// Counts one vote: `eligible` Members with Vote (plus people who must not
/// count), `yes` and `no` votes among them; returns the tally.
fn tally(eligible: usize, quorum: u8, approval: u8, yes: usize, no: usize) -> Result<(u64, u64, u64, bool)> {
    let m = memory()?;
    let (w, proposer) = world_with_proposer(&m)?;
    // The proposer is one of the eligible.
    let members = new_members(&m, &w.domain, eligible - 1, &[Vote])?;
    // Never eligible: a Member without Vote, a Member of another charter, a
    // Member with Vote whose holder is suspended.
    new_members(&m, &w.domain, 1, &[Propose, Transact])?;
    new_members(&m, "coop:elsewhere", 2, &[Vote])?;
    let suspended = &new_members(&m, &w.domain, 1, &[Vote])?[0];
    m.create_revocation(RevocationRequest {
        target: RevocationTarget::Holder { holder_id: m.holder_by_did(suspended.did.as_str())?.holder.holder_id },
        reason: commons_gateway::records::RevocationReason::Fraud,
        immediate: false,
        appeal_window_days: None,
    })?;
    let a = voting(&m, &w, &proposer, json!({"quorum_pct": quorum, "approval_pct": approval}))?;
    let voters: Vec<&Person> = std::iter::once(&proposer).chain(members.iter()).collect();
    for (i, v) in voters.iter().take(yes + no).enumerate() {
        vote(&m, v, &a.amendment_id, i < yes)?;
    }
    m.clock().advance(WEEK);
    let closed = m.close_amendment(&a.amendment_id, false)?;
    let t = closed.tally;
    let expected = if t.ratified { "Ratified" } else { "Rejected" };
    assert_eq!(closed.amendment.status.name(), expected);
    Ok((t.eligible, t.votes, t.approvals, t.ratified))
}

#[test]
fn quorum_and_approval_are_counted_at_their_exact_thresholds() -> Result<()> {
    // 10 eligible, quorum 50 %, approval 66 %.
    assert_eq!(tally(10, 50, 66, 4, 0)?, (10, 4, 4, false), "4 of 10 voted: no quorum");
    assert_eq!(tally(10, 50, 66, 4, 1)?, (10, 5, 4, true), "5 of 10 voted, 4 of 5 = 80 % approve");
    assert_eq!(tally(10, 50, 66, 3, 2)?, (10, 5, 3, false), "3 of 5 = 60 % < 66 %");
    assert_eq!(tally(10, 50, 60, 3, 2)?, (10, 5, 3, true), "3 of 5 = 60 % meets 60 % exactly");
    assert_eq!(tally(10, 51, 50, 5, 0)?, (10, 5, 5, false), "5 of 10 = 50 % < 51 % quorum");
    assert_eq!(tally(3, 66, 66, 2, 0)?, (3, 2, 2, true), "2 of 3 = 66.7 % >= 66 %");
    assert_eq!(tally(3, 67, 66, 2, 0)?, (3, 2, 2, false), "2 of 3 = 66.7 % < 67 %");
    assert_eq!(tally(6, 50, 66, 2, 1)?, (6, 3, 2, true), "2 of 3 = 66.7 % >= 66 %");
    assert_eq!(tally(4, 100, 100, 4, 0)?, (4, 4, 4, true), "everyone, unanimously");
    assert_eq!(tally(4, 100, 100, 3, 1)?, (4, 4, 3, false), "one against under unanimity");
    assert_eq!(tally(2, 50, 66, 0, 0)?, (2, 0, 0, false), "nobody voted");
    Ok(())
}

#[test]
fn eligible_members_are_counted_when_the_vote_closes() -> Result<()> {
    let m = memory()?;
    let (w, proposer) = world_with_proposer(&m)?;
    let a = voting(&m, &w, &proposer, json!(null))?;
    vote(&m, &proposer, &a.amendment_id, true)?;
    // One eligible member at opening; three more join before the close, so
    // the single vote is 1 of 4 = 25 % < 50 %.
    new_members(&m, &w.domain, 3, &[Vote])?;
    assert_eq!(m.eligible_voters(&w.domain)?.len(), 4);
    m.clock().advance(WEEK);
    let closed = m.close_amendment(&a.amendment_id, false)?;
    assert_eq!((closed.tally.eligible, closed.tally.votes), (4, 1));
    assert!(!closed.tally.ratified);
    Ok(())
}

/// Only the votes of members still eligible at the close count (regression:
/// a vote of a member banned or revoked before the close used to count, so
/// counted votes could exceed the eligible and an amendment could pass
/// without its quorum).
#[test]
fn votes_of_members_no_longer_eligible_at_the_close_are_not_counted() -> Result<()> {
    let m = memory()?;
    let (w, proposer) = world_with_proposer(&m)?;
    let voters = new_members(&m, &w.domain, 4, &[Vote])?;
    let a = voting(&m, &w, &proposer, json!(null))?;
    for v in &voters[..3] {
        vote(&m, v, &a.amendment_id, true)?;
    }
    let holder_of = |p: &Person| -> Result<String> { Ok(m.holder_by_did(p.did.as_str())?.holder.holder_id) };
    m.ban_affiliation(&holder_of(&voters[1])?, &w.domain, Some("fraud".into()))?;
    m.create_revocation(RevocationRequest {
        target: RevocationTarget::Holder { holder_id: holder_of(&voters[2])? },
        reason: commons_gateway::records::RevocationReason::Sybil,
        immediate: true,
        appeal_window_days: None,
    })?;
    // Eligible now: the proposer and voters 0 and 3; one counted vote of 3 is
    // under the 50 % quorum.
    let closed = m.close_amendment(&a.amendment_id, true)?;
    assert_eq!(
        (closed.tally.eligible, closed.tally.votes, closed.tally.approvals, closed.tally.uncounted),
        (3, 1, 1, 2)
    );
    assert!(!closed.tally.ratified);
    assert!(matches!(closed.amendment.status, AmendmentStatus::Rejected { .. }));
    assert_eq!(closed.amendment.votes.len(), 3, "every vote cast stays in the record");
    Ok(())
}

/// Votes are cast only while the charter is Active, and a close after the
/// charter was dissolved rejects the amendment whatever the count.
#[test]
fn a_dissolved_charter_takes_no_votes_and_its_amendments_close_rejected() -> Result<()> {
    let m = memory()?;
    let (w, proposer) = world_with_proposer(&m)?;
    let voters = new_members(&m, &w.domain, 2, &[Vote])?;
    let a = voting(&m, &w, &proposer, json!(null))?;
    vote(&m, &proposer, &a.amendment_id, true)?;
    vote(&m, &voters[0], &a.amendment_id, true)?;
    m.dissolve_charter(&w.charter_id, Some("merged".into()))?;
    refused(
        &m,
        "vote on a dissolved charter",
        || vote(&m, &voters[1], &a.amendment_id, true),
        |r| matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::CharterNotActive, .. }))),
    );
    m.clock().advance(WEEK);
    let closed = m.close_amendment(&a.amendment_id, false)?;
    assert!(!closed.tally.ratified, "2 of 3 approving would otherwise ratify: {:?}", closed.tally);
    assert!(matches!(closed.amendment.status, AmendmentStatus::Rejected { .. }));
    Ok(())
}

#[test]
fn sweep_closes_only_amendments_whose_voting_time_is_over() -> Result<()> {
    let m = memory()?;
    let (w, proposer) = world_with_proposer(&m)?;
    let short = voting(&m, &w, &proposer, json!({"voting_secs": 3_600}))?;
    let long = voting(&m, &w, &proposer, json!({"voting_secs": 7_200}))?;
    vote(&m, &proposer, &short.amendment_id, true)?;
    let rows = |m: &Memory| -> Result<usize> { Ok(m.store().backend().scan(b"amendment_closes/")?.len()) };
    assert_eq!(rows(&m)?, 2, "one closing row per amendment in Voting");
    assert!(m.store().verify()?.is_clean(), "closing rows are index rows verify knows");

    m.clock().advance(3_599);
    assert_eq!(m.close_due_amendments()?, 0);
    m.clock().advance(1);
    assert_eq!(m.close_due_amendments()?, 1);
    assert_eq!(m.amendment(&short.amendment_id)?.status, AmendmentStatus::Ratified { at: T0 + 3_600 });
    assert!(matches!(m.amendment(&long.amendment_id)?.status, AmendmentStatus::Voting { .. }));
    assert_eq!(rows(&m)?, 1, "the closed amendment's row is gone");
    assert_eq!(m.close_due_amendments()?, 0, "nothing left to close");

    m.clock().advance(3_600);
    assert_eq!(m.close_due_amendments()?, 1);
    assert_eq!(m.amendment(&long.amendment_id)?.status, AmendmentStatus::Rejected { at: T0 + 7_200 });
    assert_eq!(rows(&m)?, 0);
    let report = m.store().verify()?;
    assert!(report.is_clean(), "{:?}", report.problems);
    Ok(())
}

#[test]
fn amendments_are_listed_per_charter_filtered_and_paged() -> Result<()> {
    let m = memory()?;
    let (w, proposer) = world_with_proposer(&m)?;
    let other = World::build(&m, "brewery", false)?;
    make_member(&m, &proposer.did, &other.domain, &[Propose])?;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(propose(&m, &w, &proposer, json!(null))?.amendment_id);
    }
    m.submit_amendment(&proposer.sign::<AmendmentSubmit>(&ids[1], json!({})))?;
    m.propose_amendment(
        &proposer.sign::<AmendmentPropose>("-", json!({"charter_id": other.charter_id, "title": "Elsewhere"})),
    )?;

    let all = m.list_amendments(&w.charter_id, &AmendmentFilter::default(), Paging::new(None, 100))?;
    assert_eq!(all.items.iter().map(|a| a.amendment_id.clone()).collect::<Vec<_>>(), ids);
    assert_eq!(all.next_cursor, None);
    let submitted = m.list_amendments(
        &w.charter_id,
        &AmendmentFilter { status: Some("Submitted".into()) },
        Paging::new(None, 100),
    )?;
    assert_eq!(submitted.items.iter().map(|a| a.amendment_id.clone()).collect::<Vec<_>>(), vec![ids[1].clone()]);

    let paged = all_pages(1, |cursor, limit| {
        m.list_amendments(&w.charter_id, &AmendmentFilter::default(), Paging::new(cursor, limit))
    })?;
    assert_eq!(paged.into_iter().map(|a| a.amendment_id).collect::<Vec<_>>(), ids);

    assert!(matches!(
        m.list_amendments(&w.charter_id, &AmendmentFilter { status: Some("Open".into()) }, Paging::new(None, 10)),
        Err(CommonsError::Refused(Refusal::InvalidInput { field: "status", .. }))
    ));
    assert!(matches!(
        m.list_amendments("not-an-id", &AmendmentFilter::default(), Paging::new(None, 10)),
        Err(CommonsError::Refused(Refusal::InvalidId { .. }))
    ));
    assert!(matches!(
        m.list_amendments(&w.charter_id, &AmendmentFilter::default(), Paging::new(None, 0)),
        Err(CommonsError::Refused(Refusal::InvalidInput { field: "limit", .. }))
    ));
    Ok(())
}
