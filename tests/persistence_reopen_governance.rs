//! Every governance record type survives dropping every handle and reopening
//! the store, on each persistent engine compiled in: an amendment with votes,
//! an appeal with evidence and responses, revocations with their appeal
//! status (pending, upheld, immediate ban), plus part 1's records; and every
//! index lookup and paged list gives the same answer before and after.

#![cfg(any(feature = "sled-store", feature = "fjall-store"))]

mod common;

use anyhow::Result;
use common::keys::Person;
use common::world::{all_pages, new_members, open_at, World, T0};
use commons_gateway::actions::*;
use commons_gateway::records::Capability;
use commons_gateway::records::Outcome;
use commons_gateway::records::{RevocationReason, RevocationTarget};
use commons_gateway::AmendmentFilter;
use commons_gateway::AppealFilter;
use commons_gateway::CharterFilter;
use commons_gateway::Paging;
use commons_gateway::StewardFilter;
use commons_gateway::{CommonsManager, Durability, OpenBackend};
use serde_json::{json, Value};

fn open<S: OpenBackend>(dir: &std::path::Path) -> Result<CommonsManager<S>> {
    open_at(dir, Durability::Sync, T0)
}

/// Walks a paged list to its end with a small page size; the items as JSON.
fn listed<T: serde::Serialize, E>(
    limit: usize,
    page: impl FnMut(Option<&str>, usize) -> Result<commons_gateway::Page<T>, E>,
) -> Result<Value>
where
    anyhow::Error: From<E>,
{
    Ok(serde_json::to_value(all_pages(limit, page)?)?)
}

struct Ids {
    amendment: String,
    appeal: String,
    revocations: Vec<String>,
    targets: Vec<String>,
    appellant: String,
}

fn observe<S: OpenBackend>(m: &CommonsManager<S>, w: &World, ids: &Ids) -> Result<Value> {
    let charter_id = w.charter_id.clone();
    let mut out = serde_json::Map::new();
    out.insert("amendment".into(), serde_json::to_value(m.amendment(&ids.amendment)?)?);
    out.insert("appeal".into(), serde_json::to_value(m.appeal(&ids.appeal)?)?);
    for (i, r) in ids.revocations.iter().enumerate() {
        out.insert(format!("revocation{i}"), serde_json::to_value(m.revocation(r)?)?);
    }
    for (i, t) in ids.targets.iter().enumerate() {
        out.insert(format!("by_target{i}"), listed(1, |c, n| m.list_revocations(t, Paging::new(c, n)))?);
    }
    out.insert("members".into(), listed(3, |c, n| m.list_members(&w.domain, None, Paging::new(c, n)))?);
    out.insert(
        "members_member".into(),
        listed(2, |c, n| m.list_members(&w.domain, Some("Member"), Paging::new(c, n)))?,
    );
    out.insert(
        "amendments".into(),
        listed(1, |c, n| m.list_amendments(&charter_id, &AmendmentFilter::default(), Paging::new(c, n)))?,
    );
    out.insert(
        "appeals".into(),
        listed(1, |c, n| m.list_appeals(&ids.appellant, &AppealFilter::default(), Paging::new(c, n)))?,
    );
    out.insert("charters".into(), listed(1, |c, n| m.list_charters(&CharterFilter::default(), Paging::new(c, n)))?);
    out.insert("stewards".into(), listed(1, |c, n| m.list_stewards(&StewardFilter::default(), Paging::new(c, n)))?);
    out.insert("charter_by_domain".into(), serde_json::to_value(m.charter_by_domain(&w.domain)?)?);
    for (i, s) in w.stewards.iter().enumerate() {
        out.insert(format!("steward{i}"), serde_json::to_value(m.steward_by_did(s.did.as_str())?)?);
    }
    Ok(Value::Object(out))
}

fn reopen_keeps_governance<S: OpenBackend>() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (world, ids, before) = {
        let m = open::<S>(dir.path())?;
        let w = World::build(&m, "govern", false)?;
        let voters = new_members(&m, &w.domain, 6, &[Capability::Vote, Capability::Propose])?;
        // An amendment with votes, still Voting.
        let a = m.propose_amendment(&voters[0].sign::<AmendmentPropose>(
            "-",
            json!({"charter_id": w.charter_id, "title": "Sundays", "description": "Open on Sundays",
                   "changes": [{"target": "hours", "change": "Modify", "new_value": "7 days"}]}),
        ))?;
        let id = a.amendment_id.clone();
        m.submit_amendment(&voters[0].sign::<AmendmentSubmit>(&id, json!({})))?;
        m.open_amendment_voting(&w.stewards[0].sign::<AmendmentOpenVoting>(&id, json!({})))?;
        for (i, v) in voters.iter().enumerate().take(4) {
            m.vote_amendment(&v.sign::<CastVote>(&id, json!({"approve": i != 3})))?;
        }
        // A revocation appealed (pending, with evidence and a response), one
        // upheld, one immediate ban.
        let holder = |p: &Person| -> Result<String> { Ok(m.holder_by_did(p.did.as_str())?.holder.holder_id) };
        let membership = |p: &Person| -> Result<RevocationTarget> {
            Ok(RevocationTarget::Membership { holder_id: holder(p)?, jurisdiction: w.domain.clone() })
        };
        let request = |target, immediate| RevocationRequest {
            target,
            reason: RevocationReason::PolicyViolation,
            immediate,
            appeal_window_days: None,
        };
        let pending = m.create_revocation(request(membership(&voters[4])?, false))?;
        let appeal = m.file_appeal(&voters[4].sign::<AppealFile>(
            "-",
            json!({"kind": {"kind": "Revocation", "revocation_id": pending.revocation_id}, "grounds": "not me",
                   "statement": "I was away", "requested_remedy": {"kind": "Reinstate"}}),
        ))?;
        m.add_appeal_evidence(
            &voters[4]
                .sign::<AppealEvidence>(&appeal.appeal_id, json!({"sha256": "a".repeat(64), "description": "ticket"})),
        )?;
        m.respond_to_appeal(&w.stewards[1].sign::<AppealRespond>(&appeal.appeal_id, json!({"text": "Noted."})))?;
        m.review_appeal(&appeal.appeal_id)?;
        let upheld = m.create_revocation(request(membership(&voters[5])?, false))?;
        let second = m.file_appeal(&voters[5].sign::<AppealFile>(
            "-",
            json!({"kind": {"kind": "Revocation", "revocation_id": upheld.revocation_id}, "grounds": "mistake",
                   "statement": "", "requested_remedy": {"kind": "Reverse"}}),
        ))?;
        m.review_appeal(&second.appeal_id)?;
        m.resolve_appeal(&second.appeal_id, ResolveRequest { outcome: Outcome::Upheld, notes: "agreed".into() })?;
        let banned = m.create_revocation(request(membership(&voters[3])?, true))?;
        let ids = Ids {
            amendment: id,
            appeal: appeal.appeal_id,
            targets: vec![pending.target.key(), upheld.target.key(), banned.target.key()],
            revocations: vec![pending.revocation_id, upheld.revocation_id, banned.revocation_id],
            appellant: voters[4].did.to_string(),
        };
        let before = observe(&m, &w, &ids)?;
        assert_eq!(before["amendment"]["votes"].as_array().map(Vec::len), Some(4));
        assert_eq!(before["appeal"]["evidence"].as_array().map(Vec::len), Some(1));
        assert_eq!(before["appeal"]["responses"].as_array().map(Vec::len), Some(1));
        assert_eq!(before["revocation0"]["appeal_status"]["kind"], "Pending");
        assert_eq!(before["revocation1"]["appeal_status"]["kind"], "Upheld");
        assert_eq!(before["members_member"].as_array().map(Vec::len), Some(4), "6 members, one suspended, one banned");
        assert!(m.store().verify()?.is_clean());
        (w, ids, before)
    };
    let m = open::<S>(dir.path())?;
    assert_eq!(observe(&m, &world, &ids)?, before);
    assert!(m.store().verify()?.is_clean());
    Ok(())
}

#[cfg(feature = "sled-store")]
#[test]
fn sled_reopen_keeps_governance_records_and_lists() -> Result<()> {
    reopen_keeps_governance::<commons_gateway::backend::SledCommonsStore>()
}

#[cfg(feature = "fjall-store")]
#[test]
fn fjall_reopen_keeps_governance_records_and_lists() -> Result<()> {
    reopen_keeps_governance::<commons_gateway::backend::FjallCommonsStore>()
}
