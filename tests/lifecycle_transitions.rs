//! The lifecycles of DOMAIN.md through the manager, one transition table at a
//! time (anchor, holder affiliation, charter, steward status): every pair
//! (state, action) is tried on a fresh record in that state; the allowed ones
//! must give the table's next state, every other one must be an
//! `InvalidTransition` that leaves every row of the store as it was. Then the
//! rules around the tables (who signs, capabilities, Banned vs Exited
//! re-applying). The members list of a jurisdiction is `lifecycle_members`.

mod common;

use std::collections::BTreeSet;

use anyhow::Result;
use common::keys::Person;
use common::world::{apply, memory, snapshot, World, DAY, T0};
use commons_gateway::actions::RevocationRequest;
use commons_gateway::actions::*;
use commons_gateway::backend::InMemoryCommonsStore;
use commons_gateway::records::AnchorStatus;
use commons_gateway::records::CharterStatus;
use commons_gateway::records::StewardStatus;
use commons_gateway::records::{AffiliationStatus, Capability, CommonsHolderRecord, HolderStatus, HolderView};
use commons_gateway::records::{RevocationReason, RevocationTarget};
use commons_gateway::Changes;
use commons_gateway::CommonsManager;
use commons_gateway::{CommonsError, CommonsResult, CommonsStoreBackend};
use commons_gateway::{ConflictCode, Refusal};
use serde_json::json;
use AffiliationStatus::{Banned, Candidate, Exited, Member, Provisional, Suspended};

type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// `r` must be an `InvalidTransition`, and the store must hold exactly `before`.
fn assert_refused<S: CommonsStoreBackend, T: std::fmt::Debug>(
    m: &CommonsManager<S>,
    before: &Rows,
    r: CommonsResult<T>,
    what: &str,
) {
    assert!(
        matches!(r, Err(CommonsError::Refused(Refusal::InvalidTransition { .. }))),
        "{what}: expected InvalidTransition, got {r:?}"
    );
    assert!(snapshot(m) == *before, "{what}: refused, but the store changed");
}

// ---------------------------------------------------------------------------
// Anchors.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum AnchorOp {
    Suspend,
    Reinstate,
    Revoke,
}

/// A fresh anchor in state `state` (`Active`, `Suspended`, `Revoked`).
fn anchor_in(m: &CommonsManager<InMemoryCommonsStore>, state: &str) -> Result<String> {
    let p = Person::new();
    let id = m.bootstrap_anchor(p.did.as_str(), None)?.anchor.anchor_id;
    match state {
        "Active" => {}
        "Suspended" => {
            m.suspend_anchor(&id, Some("checking".into()))?;
        }
        "Revoked" => {
            m.revoke_anchor(&id, Some("fake".into()))?;
        }
        other => anyhow::bail!("no anchor state {other}"),
    }
    assert_eq!(m.anchor(&id)?.anchor.status.name(), state);
    Ok(id)
}

#[test]
fn anchor_transitions_follow_the_table_and_refusals_change_nothing() -> Result<()> {
    let m = memory()?;
    let table = |from: &str, op: AnchorOp| match (from, op) {
        ("Active", AnchorOp::Suspend) => Some("Suspended"),
        ("Suspended", AnchorOp::Reinstate) => Some("Active"),
        ("Active" | "Suspended", AnchorOp::Revoke) => Some("Revoked"),
        _ => None,
    };
    let mut allowed = 0;
    for from in ["Active", "Suspended", "Revoked"] {
        for op in [AnchorOp::Suspend, AnchorOp::Reinstate, AnchorOp::Revoke] {
            let id = anchor_in(&m, from)?;
            let before = snapshot(&m);
            let r = match op {
                AnchorOp::Suspend => m.suspend_anchor(&id, Some("why".into())),
                AnchorOp::Reinstate => m.reinstate_anchor(&id, None),
                AnchorOp::Revoke => m.revoke_anchor(&id, Some("why".into())),
            };
            match table(from, op) {
                Some(to) => {
                    let v = r.map_err(|e| anyhow::anyhow!("{from} {op:?}: {e}"))?;
                    assert_eq!(v.anchor.status.name(), to, "{from} {op:?}");
                    assert_eq!(m.anchor(&id)?.anchor.status, v.anchor.status, "{from} {op:?} is stored");
                    allowed += 1;
                }
                None => assert_refused(&m, &before, r, &format!("anchor {from} {op:?}")),
            }
        }
    }
    assert_eq!(allowed, 4);
    // The status carries its fields.
    let id = anchor_in(&m, "Active")?;
    let v = m.suspend_anchor(&id, Some("key may be lost".into()))?;
    assert_eq!(v.anchor.status, AnchorStatus::Suspended { reason: "key may be lost".into(), since: T0, until: None });
    let v = m.revoke_anchor(&id, None)?;
    assert_eq!(v.anchor.status, AnchorStatus::Revoked { reason: String::new(), at: T0, revocation_id: None });
    Ok(())
}

#[test]
fn anchor_status_changes_leave_the_holder_and_steward_records_as_they_were() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let steward = &w.stewards[0];
    let id = m.anchor_by_did(steward.did.as_str())?.anchor.anchor_id;
    let holder_before = m.holder(&id)?;
    let steward_before = m.steward_by_did(steward.did.as_str())?;
    m.suspend_anchor(&id, Some("check".into()))?;
    m.revoke_anchor(&id, Some("fake".into()))?;
    assert_eq!(m.holder(&id)?, holder_before);
    assert_eq!(m.holder(&id)?.holder.status, HolderStatus::Active);
    let after = m.steward_by_did(steward.did.as_str())?;
    assert_eq!(after.steward, steward_before.steward, "the steward record is unchanged");
    assert!(steward_before.can_attest && !after.can_attest, "but its principal no longer attests");
    Ok(())
}

#[test]
fn operator_reasons_are_bounded_and_ids_checked() -> Result<()> {
    let m = memory()?;
    let id = anchor_in(&m, "Active")?;
    let before = snapshot(&m);
    let r = m.suspend_anchor(&id, Some("x".repeat(2_001)));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "reason", .. }))), "{r:?}");
    let r = m.suspend_anchor("not-an-id", None);
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidId { .. }))), "{r:?}");
    let r = m.suspend_anchor(&"a".repeat(64), None);
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::NotFound { entity: "anchor", .. }))), "{r:?}");
    let r = m.suspend_charter(&"a".repeat(64), None);
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::NotFound { entity: "charter", .. }))), "{r:?}");
    let r = m.retire_steward(&"a".repeat(64), None);
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::NotFound { entity: "steward", .. }))), "{r:?}");
    assert!(snapshot(&m) == before);
    m.suspend_anchor(&id, Some("x".repeat(2_000)))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Affiliations.
// ---------------------------------------------------------------------------

const AFFILIATION_STATES: [AffiliationStatus; 6] = [Candidate, Provisional, Member, Suspended, Exited, Banned];

#[derive(Debug, Clone, Copy, PartialEq)]
enum AffOp {
    Approve,
    Promote,
    Suspend,
    Reinstate,
    Leave,
    Ban,
}

const AFF_OPS: [AffOp; 6] =
    [AffOp::Approve, AffOp::Promote, AffOp::Suspend, AffOp::Reinstate, AffOp::Leave, AffOp::Ban];

/// DOMAIN.md's affiliation table.
fn affiliation_table(from: AffiliationStatus, op: AffOp) -> Option<AffiliationStatus> {
    match (op, from) {
        (AffOp::Approve, Candidate) => Some(Provisional),
        (AffOp::Promote, Provisional) => Some(Member),
        (AffOp::Suspend, Provisional | Member) => Some(Suspended),
        (AffOp::Reinstate, Suspended) => Some(Member),
        (AffOp::Leave, Candidate | Provisional | Member | Suspended) => Some(Exited),
        (AffOp::Ban, Banned) => None,
        (AffOp::Ban, _) => Some(Banned),
        _ => None,
    }
}

/// Applies `op` to holder `id` (person `p`) in the world's coop: approve and
/// promote signed by commons-wide steward 1, leave signed by the holder, the
/// rest by the operator.
fn affiliation_op<S: CommonsStoreBackend>(
    m: &CommonsManager<S>,
    w: &World,
    p: &Person,
    id: &str,
    op: AffOp,
) -> CommonsResult<HolderView> {
    let j = json!({ "jurisdiction": w.domain });
    match op {
        AffOp::Approve => m.approve_affiliation(&w.stewards[1].sign::<AffiliationApprove>(id, j)),
        AffOp::Promote => m.promote_affiliation(&w.stewards[1].sign::<AffiliationPromote>(id, j)),
        AffOp::Suspend => m.suspend_affiliation(id, &w.domain, Some("late dues".into())),
        AffOp::Reinstate => m.reinstate_affiliation(id, &w.domain, None),
        AffOp::Leave => m.leave_affiliation(&p.sign::<AffiliationLeave>(id, j)),
        AffOp::Ban => m.ban_affiliation(id, &w.domain, Some("fraud".into())),
    }
}

/// A fresh bootstrapped holder whose affiliation with the world's coop is in
/// `state` (Provisional, Member and Suspended hold Vote and Propose).
fn holder_in<S: CommonsStoreBackend>(
    m: &CommonsManager<S>,
    w: &World,
    state: AffiliationStatus,
) -> Result<(Person, String)> {
    let p = Person::new();
    let id = m.bootstrap_anchor(p.did.as_str(), None)?.anchor.anchor_id;
    apply(m, &p, &id, &w.domain)?;
    let caps = BTreeSet::from([Capability::Vote, Capability::Propose]);
    match state {
        Candidate => {}
        Provisional | Member | Suspended => {
            m.approve_affiliation_by_operator(&id, &w.domain, None)?;
            m.set_affiliation_capabilities(&id, &w.domain, caps)?;
            if state != Provisional {
                m.promote_affiliation_by_operator(&id, &w.domain, Some("a year in".into()))?;
            }
            if state == Suspended {
                m.suspend_affiliation(&id, &w.domain, None)?;
            }
        }
        Exited => {
            affiliation_op(m, w, &p, &id, AffOp::Leave)?;
        }
        Banned => {
            m.ban_affiliation(&id, &w.domain, None)?;
        }
    }
    let h = m.holder(&id)?;
    assert_eq!(h.holder.affiliation(&w.domain).map(|a| a.status), Some(state));
    Ok((p, id))
}

/// The value of the holder's membership row in `domain`.
fn member_row<S: CommonsStoreBackend>(m: &CommonsManager<S>, domain: &str, id: &str) -> Result<Option<String>> {
    Ok(m.store().membership_row(domain, id)?)
}

#[test]
fn affiliation_transitions_follow_the_table_and_refusals_change_nothing() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let mut allowed = 0;
    for from in AFFILIATION_STATES {
        for op in AFF_OPS {
            let (p, id) = holder_in(&m, &w, from)?;
            let before = snapshot(&m);
            let r = affiliation_op(&m, &w, &p, &id, op);
            let what = format!("affiliation {from:?} {op:?}");
            match affiliation_table(from, op) {
                Some(to) => {
                    let v = r.map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
                    let a = v.holder.affiliation(&w.domain).cloned().ok_or_else(|| anyhow::anyhow!("{what}: gone"))?;
                    assert_eq!(a.status, to, "{what}");
                    assert_eq!(m.holder(&id)?.holder.affiliation(&w.domain), Some(&a), "{what} is stored");
                    assert_eq!(member_row(&m, &w.domain, &id)?, Some(format!("{to:?}")), "{what}: index row");
                    if matches!(to, Exited | Banned) {
                        assert!(a.capabilities.is_empty() && a.roles.is_empty(), "{what} clears capabilities");
                    } else if from != Candidate {
                        assert_eq!(a.capabilities.len(), 2, "{what} keeps capabilities");
                    }
                    allowed += 1;
                }
                None => assert_refused(&m, &before, r, &what),
            }
        }
    }
    // approve 1, promote 1, suspend 2, reinstate 1, leave 4, ban 5.
    assert_eq!(allowed, 14);
    Ok(())
}

/// A holder suspended in the commons (by a revocation that is not
/// immediate) keeps its affiliations but cannot move one forward: approve,
/// promote and reinstate are refused by the holder record itself, for the
/// operator and a steward alike; suspend, leave and ban still apply.
#[test]
fn affiliations_move_forward_only_while_the_holder_is_active() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let suspend_holder = |id: &str| {
        m.create_revocation(RevocationRequest {
            target: RevocationTarget::Holder { holder_id: id.to_string() },
            reason: RevocationReason::Sybil,
            immediate: false,
            appeal_window_days: None,
        })
    };
    let mut refused = 0;
    for (from, op) in [(Candidate, AffOp::Approve), (Provisional, AffOp::Promote), (Suspended, AffOp::Reinstate)] {
        let (p, id) = holder_in(&m, &w, from)?;
        suspend_holder(&id)?;
        assert_eq!(m.holder(&id)?.holder.status.name(), "Suspended");
        let before = snapshot(&m);
        let r = affiliation_op(&m, &w, &p, &id, op);
        assert!(
            matches!(&r, Err(CommonsError::Refused(Refusal::InvalidTransition { entity: "holder", .. }))),
            "{from:?} {op:?} of a suspended holder: {r:?}"
        );
        assert!(snapshot(&m) == before, "{from:?} {op:?} refused, but the store changed");
        if op != AffOp::Approve {
            let r = match op {
                AffOp::Promote => m.promote_affiliation_by_operator(&id, &w.domain, None),
                _ => m.reinstate_affiliation(&id, &w.domain, None),
            };
            assert_refused(&m, &before, r, &format!("operator {op:?} of a suspended holder"));
        }
        refused += 1;
    }
    assert_eq!(refused, 3);
    for (op, to) in [(AffOp::Suspend, Suspended), (AffOp::Leave, Exited), (AffOp::Ban, Banned)] {
        let (p, id) = holder_in(&m, &w, Member)?;
        suspend_holder(&id)?;
        let v = affiliation_op(&m, &w, &p, &id, op)?;
        assert_eq!(v.holder.affiliation(&w.domain).map(|a| a.status), Some(to), "{op:?} of a suspended holder");
        assert_eq!(member_row(&m, &w.domain, &id)?, Some(format!("{to:?}")), "{op:?}: index row");
    }
    Ok(())
}

#[test]
fn capabilities_are_granted_only_to_provisional_or_member() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let caps = BTreeSet::from([Capability::Transact, Capability::HoldOffice]);
    for state in AFFILIATION_STATES {
        let (_, id) = holder_in(&m, &w, state)?;
        let before = snapshot(&m);
        let r = m.set_affiliation_capabilities(&id, &w.domain, caps.clone());
        if matches!(state, Provisional | Member) {
            let v = r.map_err(|e| anyhow::anyhow!("{state:?}: {e}"))?;
            assert_eq!(v.holder.affiliation(&w.domain).map(|a| a.capabilities.clone()), Some(caps.clone()));
            let v = m.set_affiliation_capabilities(&id, &w.domain, BTreeSet::new())?;
            assert_eq!(v.holder.affiliation(&w.domain).map(|a| a.capabilities.len()), Some(0), "empty set clears");
        } else {
            assert_refused(&m, &before, r, &format!("capabilities on {state:?}"));
        }
    }
    // No affiliation there at all.
    let (_, id) = holder_in(&m, &w, Member)?;
    let r = m.set_affiliation_capabilities(&id, "coop:elsewhere", caps);
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::NotFound { entity: "affiliation", .. }))), "{r:?}");
    Ok(())
}

#[test]
fn banned_cannot_apply_again_but_exited_can() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let (p, id) = holder_in(&m, &w, Banned)?;
    let before = snapshot(&m);
    assert_refused(&m, &before, apply(&m, &p, &id, &w.domain), "Banned applies again");

    let (p, id) = holder_in(&m, &w, Exited)?;
    m.clock().advance(3_600);
    let v = apply(&m, &p, &id, &w.domain)?;
    let a = v.holder.affiliation(&w.domain).cloned().ok_or_else(|| anyhow::anyhow!("no affiliation"))?;
    assert_eq!(a.status, Candidate);
    assert!(a.capabilities.is_empty());
    assert_eq!(a.joined_at, T0 + 3_600, "re-applying starts a fresh affiliation");
    assert_eq!(v.holder.affiliations.len(), 1, "still one affiliation per jurisdiction");
    assert_eq!(member_row(&m, &w.domain, &id)?.as_deref(), Some("Candidate"));

    // A live affiliation cannot apply twice.
    let before = snapshot(&m);
    assert_refused(&m, &before, apply(&m, &p, &id, &w.domain), "Candidate applies again");
    Ok(())
}

#[test]
fn apply_needs_the_holders_signature_an_active_holder_and_an_active_charter() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let p = Person::new();
    let id = m.bootstrap_anchor(p.did.as_str(), None)?.anchor.anchor_id;
    let before = snapshot(&m);
    let r = m.apply_affiliation(&w.genesis[3].sign::<AffiliationApply>(&id, json!({"jurisdiction": w.domain})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::Forbidden { .. }))), "someone else signs: {r:?}");
    let r = apply(&m, &p, &id, "coop:nowhere");
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::NotFound { entity: "charter", .. }))), "{r:?}");
    let r = apply(&m, &p, &id, "not a domain");
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "jurisdiction", .. }))), "{r:?}");
    let r = apply(&m, &p, &"b".repeat(64), &w.domain);
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::NotFound { entity: "holder", .. }))), "{r:?}");
    assert!(snapshot(&m) == before);

    m.suspend_charter(&w.charter_id, Some("audit".into()))?;
    let before = snapshot(&m);
    let r = apply(&m, &p, &id, &w.domain);
    assert!(
        matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::CharterNotActive, .. }))),
        "{r:?}"
    );
    assert!(snapshot(&m) == before);
    m.reinstate_charter(&w.charter_id, None)?;

    // A holder suspended in the commons cannot apply.
    let q = Person::new();
    let qid = m.bootstrap_anchor(q.did.as_str(), None)?.anchor.anchor_id;
    // No operator route suspends a holder (revocations do): write it directly.
    let old = m.store().get::<CommonsHolderRecord>(&qid)?.ok_or_else(|| anyhow::anyhow!("holder {qid}"))?;
    let mut suspended = old.clone();
    suspended.suspend("review".into(), T0 + 100, T0)?;
    let mut changes = Changes::new();
    changes.put(&suspended, Some(&old))?;
    m.store().commit(changes)?;
    let before = snapshot(&m);
    assert_refused(&m, &before, apply(&m, &q, &qid, &w.domain), "suspended holder applies");

    let v = apply(&m, &p, &id, &w.domain)?;
    assert_eq!(v.holder.affiliation(&w.domain).map(|a| a.status), Some(Candidate));
    Ok(())
}

#[test]
fn only_a_steward_of_the_jurisdiction_approves_and_never_its_own() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    // genesis 2 becomes a steward of another coop only.
    let other = m.create_charter(&w.genesis[0].sign::<CharterCreate>(
        "-",
        json!({"domain_id": "coop:mill", "org_type": "Cooperative", "name": "Mill", "membership_policy": {"open_enrollment": false, "min_founders": 1}}),
    ))?;
    let oid = other.charter.charter_id.clone();
    m.sign_charter(&w.genesis[0].sign::<CharterSign>(&oid, json!({"digest": other.digest})))?;
    m.activate_charter(&w.genesis[0].sign::<CharterActivate>(&oid, json!({})))?;
    m.register_steward(w.genesis[2].did.as_str(), 90, Some("coop:mill".into()))?;
    // genesis 3 becomes a steward of the bakery.
    m.register_steward(w.genesis[3].did.as_str(), 90, Some(w.domain.clone()))?;

    let (_, id) = holder_in(&m, &w, Candidate)?;
    let approve =
        |by: &Person| m.approve_affiliation(&by.sign::<AffiliationApprove>(&id, json!({"jurisdiction": w.domain})));
    let sid = m.steward_by_did(w.genesis[3].did.as_str())?.steward.steward_id;
    m.suspend_steward(&sid, None)?;
    let before = snapshot(&m);
    for (who, by) in [
        ("not a steward", &w.genesis[4]),
        ("steward of another coop", &w.genesis[2]),
        ("suspended steward", &w.genesis[3]),
    ] {
        let r = approve(by);
        assert!(matches!(r, Err(CommonsError::Refused(Refusal::Forbidden { .. }))), "{who}: {r:?}");
    }
    assert!(snapshot(&m) == before);
    m.reinstate_steward(&sid, None)?;

    let v = approve(&w.genesis[3])?;
    assert_eq!(v.holder.affiliation(&w.domain).map(|a| a.status), Some(Provisional));

    // A steward's own affiliation: applies, then tries to approve itself.
    let g3 = m.holder_by_did(w.genesis[3].did.as_str())?.holder.holder_id;
    apply(&m, &w.genesis[3], &g3, &w.domain)?;
    let before = snapshot(&m);
    let r = m.approve_affiliation(&w.genesis[3].sign::<AffiliationApprove>(&g3, json!({"jurisdiction": w.domain})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::Forbidden { .. }))), "self-approval: {r:?}");
    assert!(snapshot(&m) == before);
    let v = m.approve_affiliation(&w.stewards[1].sign::<AffiliationApprove>(&g3, json!({"jurisdiction": w.domain})))?;
    assert_eq!(v.holder.affiliation(&w.domain).map(|a| a.status), Some(Provisional));
    Ok(())
}

#[test]
fn only_the_holder_signs_its_leave() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let (p, id) = holder_in(&m, &w, Member)?;
    let before = snapshot(&m);
    let r = m.leave_affiliation(&w.stewards[0].sign::<AffiliationLeave>(&id, json!({"jurisdiction": w.domain})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::Forbidden { .. }))), "{r:?}");
    let r = m.leave_affiliation(&p.sign::<AffiliationLeave>(&id, json!({"jurisdiction": "coop:elsewhere"})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::NotFound { entity: "affiliation", .. }))), "{r:?}");
    assert!(snapshot(&m) == before);
    let v = m.leave_affiliation(&p.sign::<AffiliationLeave>(&id, json!({"jurisdiction": w.domain})))?;
    assert_eq!(v.holder.affiliation(&w.domain).map(|a| a.status), Some(Exited));
    let all = m.holder_affiliations(&id)?;
    assert_eq!(all.items.len(), 1);
    assert_eq!(all.items[0].status, Exited);
    assert!(all.next_cursor.is_none());
    Ok(())
}

// ---------------------------------------------------------------------------
// Charters.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum CharterOp {
    Activate,
    Suspend,
    Reinstate,
    Dissolve,
}

/// A fresh charter (min_founders 1, signed by `founder`) in `state`.
fn charter_in(m: &CommonsManager<InMemoryCommonsStore>, founder: &Person, n: usize, state: &str) -> Result<String> {
    let v = m.create_charter(&founder.sign::<CharterCreate>(
        "-",
        json!({"domain_id": format!("community:c{n}"), "org_type": "Community", "name": format!("C{n}"),
               "membership_policy": {"open_enrollment": true, "min_founders": 1}}),
    ))?;
    let id = v.charter.charter_id.clone();
    m.sign_charter(&founder.sign::<CharterSign>(&id, json!({"digest": v.digest})))?;
    match state {
        "Draft" => {}
        "Active" | "Suspended" => {
            m.activate_charter(&founder.sign::<CharterActivate>(&id, json!({})))?;
            if state == "Suspended" {
                m.suspend_charter(&id, None)?;
            }
        }
        "Dissolved" => {
            m.dissolve_charter(&id, None)?;
        }
        other => anyhow::bail!("no charter state {other}"),
    }
    assert_eq!(m.charter(&id)?.charter.status.name(), state);
    Ok(id)
}

#[test]
fn charter_transitions_follow_the_table_and_refusals_change_nothing() -> Result<()> {
    let m = memory()?;
    let founder = Person::new();
    m.bootstrap_anchor(founder.did.as_str(), None)?;
    let table = |from: &str, op: CharterOp| match (from, op) {
        ("Draft", CharterOp::Activate) => Some("Active"),
        ("Active", CharterOp::Suspend) => Some("Suspended"),
        ("Suspended", CharterOp::Reinstate) => Some("Active"),
        ("Draft" | "Active" | "Suspended", CharterOp::Dissolve) => Some("Dissolved"),
        _ => None,
    };
    let (mut n, mut allowed) = (0, 0);
    for from in ["Draft", "Active", "Suspended", "Dissolved"] {
        for op in [CharterOp::Activate, CharterOp::Suspend, CharterOp::Reinstate, CharterOp::Dissolve] {
            n += 1;
            let id = charter_in(&m, &founder, n, from)?;
            let before = snapshot(&m);
            let r = match op {
                CharterOp::Activate => m.activate_charter(&founder.sign::<CharterActivate>(&id, json!({}))),
                CharterOp::Suspend => m.suspend_charter(&id, Some("audit".into())),
                CharterOp::Reinstate => m.reinstate_charter(&id, None),
                CharterOp::Dissolve => m.dissolve_charter(&id, Some("wound up".into())),
            };
            match table(from, op) {
                Some(to) => {
                    let v = r.map_err(|e| anyhow::anyhow!("{from} {op:?}: {e}"))?;
                    assert_eq!(v.charter.status.name(), to, "{from} {op:?}");
                    assert_eq!(m.charter(&id)?.charter.status, v.charter.status, "{from} {op:?} is stored");
                    allowed += 1;
                }
                None => assert_refused(&m, &before, r, &format!("charter {from} {op:?}")),
            }
        }
    }
    assert_eq!(allowed, 6);
    let id = charter_in(&m, &founder, 100, "Active")?;
    let v = m.suspend_charter(&id, Some("audit".into()))?;
    assert_eq!(v.charter.status, CharterStatus::Suspended { reason: "audit".into(), since: T0 });
    let v = m.dissolve_charter(&id, Some("wound up".into()))?;
    assert_eq!(v.charter.status, CharterStatus::Dissolved { reason: "wound up".into(), at: T0 });
    Ok(())
}

#[test]
fn a_charter_that_is_not_active_admits_nobody_but_members_can_leave() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let (_, cand) = holder_in(&m, &w, Candidate)?;
    let (p, member) = holder_in(&m, &w, Member)?;
    m.dissolve_charter(&w.charter_id, Some("wound up".into()))?;
    let before = snapshot(&m);
    let r = m.approve_affiliation_by_operator(&cand, &w.domain, None);
    assert!(
        matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::CharterNotActive, .. }))),
        "{r:?}"
    );
    assert!(snapshot(&m) == before);
    assert_eq!(m.holder(&member)?.holder.affiliation(&w.domain).map(|a| a.status), Some(Member), "no cascade");
    let v = affiliation_op(&m, &w, &p, &member, AffOp::Leave)?;
    assert_eq!(v.holder.affiliation(&w.domain).map(|a| a.status), Some(Exited));
    Ok(())
}

// ---------------------------------------------------------------------------
// Stewards.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum StewardOp {
    Suspend,
    Reinstate,
    Retire,
    Revoke,
    ExtendTerm,
}

/// A fresh 90-day commons-wide steward in `state`.
fn steward_in(m: &CommonsManager<InMemoryCommonsStore>, state: &str) -> Result<String> {
    let p = Person::new();
    m.bootstrap_anchor(p.did.as_str(), None)?;
    let id = m.register_steward(p.did.as_str(), 90, None)?.steward.steward_id;
    match state {
        "Active" => {}
        "Suspended" => {
            m.suspend_steward(&id, Some("complaint".into()))?;
        }
        "Retired" => {
            m.retire_steward(&id, None)?;
        }
        "Revoked" => {
            m.revoke_steward(&id, Some("fraud".into()))?;
        }
        other => anyhow::bail!("no steward state {other}"),
    }
    assert_eq!(m.steward(&id)?.steward.status.name(), state);
    Ok(id)
}

#[test]
fn steward_transitions_follow_the_table_and_refusals_change_nothing() -> Result<()> {
    let m = memory()?;
    let table = |from: &str, op: StewardOp| match (from, op) {
        ("Active", StewardOp::Suspend) => Some("Suspended"),
        ("Suspended", StewardOp::Reinstate) => Some("Active"),
        ("Active" | "Suspended", StewardOp::Retire) => Some("Retired"),
        ("Active" | "Suspended", StewardOp::Revoke) => Some("Revoked"),
        ("Active", StewardOp::ExtendTerm) => Some("Active"),
        ("Suspended", StewardOp::ExtendTerm) => Some("Suspended"),
        _ => None,
    };
    let new_end = T0 + 200 * DAY;
    let mut allowed = 0;
    for from in ["Active", "Suspended", "Retired", "Revoked"] {
        for op in
            [StewardOp::Suspend, StewardOp::Reinstate, StewardOp::Retire, StewardOp::Revoke, StewardOp::ExtendTerm]
        {
            let id = steward_in(&m, from)?;
            let before = snapshot(&m);
            let r = match op {
                StewardOp::Suspend => m.suspend_steward(&id, Some("complaint".into())),
                StewardOp::Reinstate => m.reinstate_steward(&id, None),
                StewardOp::Retire => m.retire_steward(&id, Some("moved away".into())),
                StewardOp::Revoke => m.revoke_steward(&id, Some("fraud".into())),
                StewardOp::ExtendTerm => m.extend_steward_term(&id, new_end),
            };
            match table(from, op) {
                Some(to) => {
                    let v = r.map_err(|e| anyhow::anyhow!("{from} {op:?}: {e}"))?;
                    assert_eq!(v.steward.status.name(), to, "{from} {op:?}");
                    assert_eq!(m.steward(&id)?.steward, v.steward, "{from} {op:?} is stored");
                    let expected_end = if op == StewardOp::ExtendTerm { new_end } else { T0 + 90 * DAY };
                    assert_eq!(v.steward.term_end, expected_end, "{from} {op:?}");
                    assert_eq!(v.can_attest, to == "Active", "{from} {op:?}: can_attest");
                    allowed += 1;
                }
                None => assert_refused(&m, &before, r, &format!("steward {from} {op:?}")),
            }
        }
    }
    assert_eq!(allowed, 8);
    let id = steward_in(&m, "Active")?;
    assert_eq!(
        m.suspend_steward(&id, Some("complaint".into()))?.steward.status,
        StewardStatus::Suspended { reason: "complaint".into() }
    );
    assert_eq!(m.revoke_steward(&id, None)?.steward.status, StewardStatus::Revoked { reason: String::new() });
    Ok(())
}

#[test]
fn steward_term_extends_only_forward_and_at_most_two_years_ahead() -> Result<()> {
    let m = memory()?;
    let id = steward_in(&m, "Active")?;
    let before = snapshot(&m);
    for end in [T0 + 90 * DAY, T0 + 10 * DAY, T0 + 731 * DAY] {
        let r = m.extend_steward_term(&id, end);
        assert!(
            matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "term_end", .. }))),
            "{end}: {r:?}"
        );
    }
    assert!(snapshot(&m) == before);
    // After the term ran out the steward cannot attest; extending restores it.
    m.clock().advance(100 * DAY);
    assert!(!m.steward(&id)?.can_attest);
    let v = m.extend_steward_term(&id, T0 + 100 * DAY + 730 * DAY)?;
    assert!(v.can_attest);
    Ok(())
}
