//! Anchors, holders, charters and stewards through the manager: the rules of
//! DOMAIN.md, refusals that change nothing, serialised read-modify-write, and
//! paged lists.

mod common;

use std::collections::BTreeSet;

use anyhow::Result;
use common::keys::Person;
use common::world::{all_pages, memory, snapshot, Memory, World, T0};
use commons_gateway::actions::*;
use commons_gateway::records::PopLevel;
use commons_gateway::records::{CharterStatus, OrgType};
use commons_gateway::CharterFilter;
use commons_gateway::CommonsError;
use commons_gateway::Paging;
use commons_gateway::StewardFilter;
use commons_gateway::{ConflictCode, Refusal};
use serde_json::json;

fn draft(m: &Memory, by: &Person, domain: &str, org: &str) -> Result<(String, String)> {
    let v = m.create_charter(&by.sign::<CharterCreate>(
        "-",
        json!({"domain_id": domain, "org_type": org, "name": "N", "description": "D", "membership_policy": {"open_enrollment": false}}),
    ))?;
    Ok((v.charter.charter_id, v.digest))
}

/// `n` new principals, each bootstrapped (an anchor and a holder).
fn bootstrapped(m: &Memory, n: usize) -> Result<Vec<Person>> {
    let people: Vec<Person> = (0..n).map(|_| Person::new()).collect();
    for p in &people {
        m.bootstrap_anchor(p.did.as_str(), None)?;
    }
    Ok(people)
}

#[test]
fn bootstrap_twice_is_a_conflict_and_changes_nothing() -> Result<()> {
    let m = memory()?;
    let p = Person::new();
    let a = m.bootstrap_anchor(p.did.as_str(), None)?;
    assert_eq!(a.anchor.anchor_id.len(), 64);
    let before = snapshot(&m);
    let r = m.bootstrap_anchor(p.did.as_str(), Some("again".into()));
    assert!(
        matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::AlreadyExists, .. }))),
        "{r:?}"
    );
    let r = m.bootstrap_anchor(&p.did.as_str().to_uppercase(), None);
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidDid(_)))), "{r:?}");
    let r = m.bootstrap_anchor(Person::new().did.as_str(), Some("x".repeat(101)));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "display_name", .. }))), "{r:?}");
    assert_eq!(snapshot(&m), before);
    Ok(())
}

#[test]
fn charter_signatures_follow_the_digest_and_the_draft_rule() -> Result<()> {
    let m = memory()?;
    let people = bootstrapped(&m, 4)?;
    let (id, digest) = draft(&m, &people[0], "coop:mill", "Cooperative")?;
    let charter = m.charter(&id)?;
    assert_eq!(charter.charter.membership_policy.min_founders, 3, "cooperatives default to 3 founders");
    assert_eq!(charter.charter.membership_policy.required_pop_level, PopLevel::Weak);
    assert_eq!(charter.charter.status, CharterStatus::Draft);
    let before = snapshot(&m);
    let r = m.sign_charter(&people[0].sign::<CharterSign>(&id, json!({"digest": "0".repeat(64)})));
    assert!(
        matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::DigestMismatch, .. }))),
        "{r:?}"
    );
    let outsider = Person::new();
    let r = m.sign_charter(&outsider.sign::<CharterSign>(&id, json!({"digest": digest})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::Forbidden { .. }))), "{r:?}");
    let r = m.activate_charter(&people[0].sign::<CharterActivate>(&id, json!({})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::Forbidden { .. }))), "not a founder yet: {r:?}");
    assert_eq!(snapshot(&m), before);

    m.sign_charter(&people[0].sign::<CharterSign>(&id, json!({"digest": digest, "role": "chair"})))?;
    let r = m.sign_charter(&people[0].sign::<CharterSign>(&id, json!({"digest": digest})));
    assert!(
        matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::AlreadySigned, .. }))),
        "{r:?}"
    );
    m.sign_charter(&people[1].sign::<CharterSign>(&id, json!({"digest": digest})))?;
    let r = m.activate_charter(&people[0].sign::<CharterActivate>(&id, json!({})));
    assert!(
        matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::NotEnoughFounders, .. }))),
        "{r:?}"
    );
    m.sign_charter(&people[2].sign::<CharterSign>(&id, json!({"digest": digest})))?;
    let r = m.activate_charter(&people[3].sign::<CharterActivate>(&id, json!({})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::Forbidden { .. }))), "{r:?}");
    let active = m.activate_charter(&people[2].sign::<CharterActivate>(&id, json!({})))?;
    assert_eq!(active.charter.status, CharterStatus::Active);
    assert_eq!(active.charter.founders.len(), 3);
    assert_eq!(active.charter.founders[0].role.as_deref(), Some("chair"));
    let r = m.sign_charter(&people[3].sign::<CharterSign>(&id, json!({"digest": digest})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidTransition { .. }))), "{r:?}");
    assert_eq!(m.charter_by_domain("coop:mill")?.charter.charter_id, id);
    Ok(())
}

#[test]
fn charter_creation_checks_domain_type_and_duplicates() -> Result<()> {
    let m = memory()?;
    let p = Person::new();
    m.bootstrap_anchor(p.did.as_str(), None)?;
    let (_, _) = draft(&m, &p, "federation:north", "Federation")?;
    assert_eq!(m.charter_by_domain("federation:north")?.charter.membership_policy.min_founders, 2);
    let before = snapshot(&m);
    for (domain, org) in [
        ("coop:North", "Cooperative"),
        ("coop:", "Cooperative"),
        ("guild:x", "Cooperative"),
        ("community:x", "Cooperative"),
        ("coop:a/b", "Cooperative"),
    ] {
        let r = draft(&m, &p, domain, org);
        assert!(
            matches!(
                r.as_ref().map_err(|e| e.downcast_ref::<CommonsError>()),
                Err(Some(CommonsError::Refused(Refusal::InvalidInput { .. })))
            ),
            "{domain}: {r:?}"
        );
    }
    let r = draft(&m, &p, "federation:north", "Federation");
    assert!(
        matches!(
            r.as_ref().map_err(|e| e.downcast_ref::<CommonsError>()),
            Err(Some(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::AlreadyExists, .. })))
        ),
        "{r:?}"
    );
    let stranger = Person::new();
    let r = draft(&m, &stranger, "coop:new", "Cooperative");
    assert!(
        matches!(
            r.as_ref().map_err(|e| e.downcast_ref::<CommonsError>()),
            Err(Some(CommonsError::Refused(Refusal::Forbidden { .. })))
        ),
        "{r:?}"
    );
    assert_eq!(snapshot(&m), before);
    Ok(())
}

#[test]
fn concurrent_founder_signatures_are_all_kept() -> Result<()> {
    let m = memory()?;
    let people = bootstrapped(&m, 24)?;
    let (id, digest) = draft(&m, &people[0], "coop:many", "Cooperative")?;
    std::thread::scope(|s| {
        for chunk in people.chunks(6) {
            let (m, id, digest) = (&m, &id, &digest);
            s.spawn(move || {
                for p in chunk {
                    m.sign_charter(&p.sign::<CharterSign>(id, json!({"digest": digest}))).expect("signs");
                }
            });
        }
    });
    let founders: BTreeSet<String> = m.charter(&id)?.charter.founders.iter().map(|f| f.did.to_string()).collect();
    assert_eq!(founders.len(), 24);
    Ok(())
}

#[test]
fn steward_registration_rules() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let before = snapshot(&m);
    let r = m.register_steward(w.genesis[0].did.as_str(), 365, None);
    assert!(
        matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::AlreadyExists, .. }))),
        "{r:?}"
    );
    let r = m.register_steward(Person::new().did.as_str(), 365, None);
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::NotFound { entity: "holder", .. }))), "{r:?}");
    for days in [29, 731, 0] {
        let r = m.register_steward(w.genesis[2].did.as_str(), days, None);
        assert!(
            matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "term_days", .. }))),
            "{days}: {r:?}"
        );
    }
    let r = m.register_steward(w.genesis[2].did.as_str(), 90, Some("coop:unknown".into()));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::NotFound { entity: "charter", .. }))), "{r:?}");
    let r = m.register_steward(w.genesis[2].did.as_str(), 90, Some("not a domain".into()));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { .. }))), "{r:?}");
    assert_eq!(snapshot(&m), before);

    let s = m.register_steward(w.genesis[2].did.as_str(), 30, Some(w.domain.clone()))?;
    assert_eq!(s.steward.term_end, T0 + 30 * 86_400);
    assert!(s.can_attest);
    assert_eq!(s.reputation, 1.0);
    // Past its term a steward cannot attest.
    m.clock().advance(30 * 86_400);
    assert!(!m.steward(&s.steward.steward_id)?.can_attest);
    Ok(())
}

#[test]
fn attestations_replace_per_issuer_and_expire_out_of_pop_level() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let person = Person::new();
    let anchor_id = w.enroll(&m, &person, 0)?;
    let v = m.add_attestation(
        &w.stewards[1]
            .sign::<Attest>(&anchor_id, json!({"level": "Verified", "method": "Document", "expires_at": T0 + 100})),
    )?;
    assert_eq!(v.pop_level, Some(PopLevel::Verified));
    assert_eq!(v.anchor.attestations.len(), 2);
    // The same issuer again replaces its earlier attestation.
    let v = m.add_attestation(
        &w.stewards[1]
            .sign::<Attest>(&anchor_id, json!({"level": "Verified", "method": "InPerson", "expires_at": T0 + 100})),
    )?;
    assert_eq!(v.anchor.attestations.len(), 2);
    assert_eq!(m.steward_by_did(w.stewards[1].did.as_str())?.steward.attestations_issued, 2);
    m.clock().advance(100);
    assert_eq!(m.anchor(&anchor_id)?.pop_level, Some(PopLevel::Strong), "the Verified one expired");
    let before = snapshot(&m);
    let r = m.add_attestation(&person.sign::<Attest>(&anchor_id, json!({"level": "Strong", "method": "InPerson"})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::Forbidden { .. }))), "{r:?}");
    let r = m.add_attestation(
        &w.stewards[0].sign::<Attest>(&anchor_id, json!({"level": "Strong", "method": "InPerson", "expires_at": T0})),
    );
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "expires_at", .. }))), "{r:?}");
    assert_eq!(snapshot(&m), before);
    Ok(())
}

#[test]
fn only_the_holder_sets_its_display_name() -> Result<()> {
    let m = memory()?;
    let p = Person::new();
    let id = m.bootstrap_anchor(p.did.as_str(), None)?.anchor.anchor_id;
    let v = m.update_holder(&p.sign::<HolderUpdate>(&id, json!({"display_name": "Ada"})))?;
    assert_eq!(v.holder.display_name.as_deref(), Some("Ada"));
    let before = snapshot(&m);
    let r = m.update_holder(&Person::new().sign::<HolderUpdate>(&id, json!({"display_name": "Mallory"})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::Forbidden { .. }))), "{r:?}");
    let r = m.update_holder(&p.sign::<HolderUpdate>(&id, json!({"display_name": "x".repeat(101)})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { .. }))), "{r:?}");
    assert_eq!(snapshot(&m), before);
    assert_eq!(m.holder_by_did(p.did.as_str())?.holder.display_name.as_deref(), Some("Ada"));
    Ok(())
}

#[test]
fn charters_list_newest_first_in_pages_with_filters() -> Result<()> {
    let m = memory()?;
    let p = Person::new();
    m.bootstrap_anchor(p.did.as_str(), None)?;
    let mut expected = Vec::new();
    for i in 0..7 {
        let (org, domain) =
            if i % 2 == 0 { ("Cooperative", format!("coop:c{i}")) } else { ("Community", format!("community:c{i}")) };
        expected.push(draft(&m, &p, &domain, org)?.0);
        m.clock().advance(10);
    }
    expected.reverse();
    let seen = all_pages(3, |cursor, limit| m.list_charters(&CharterFilter::default(), Paging::new(cursor, limit)))?;
    assert_eq!(seen.into_iter().map(|c| c.charter.charter_id).collect::<Vec<_>>(), expected);
    let coops = m.list_charters(
        &CharterFilter { org_type: Some(OrgType::Cooperative), status: Some("Draft".into()) },
        Paging::new(None, 100),
    )?;
    assert_eq!(coops.items.len(), 4);
    assert!(coops.next_cursor.is_none());
    assert_eq!(
        m.list_charters(&CharterFilter { org_type: None, status: Some("Active".into()) }, Paging::new(None, 100))?
            .items
            .len(),
        0
    );
    assert!(matches!(
        m.list_charters(&CharterFilter::default(), Paging::new(Some("zz"), 10)),
        Err(CommonsError::Store(_))
    ));
    assert!(matches!(
        m.list_charters(&CharterFilter::default(), Paging::new(None, 0)),
        Err(CommonsError::Refused(Refusal::InvalidInput { field: "limit", .. }))
    ));
    Ok(())
}

#[test]
fn stewards_list_in_pages_with_filters() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    m.register_steward(w.genesis[2].did.as_str(), 60, Some(w.domain.clone()))?;
    let all = m.list_stewards(&StewardFilter::default(), Paging::new(None, 2))?;
    assert_eq!(all.items.len(), 2);
    let rest = m.list_stewards(&StewardFilter::default(), Paging::new(all.next_cursor.as_deref(), 2))?;
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next_cursor.is_none());
    let local =
        m.list_stewards(&StewardFilter { active: None, jurisdiction: Some(w.domain.clone()) }, Paging::new(None, 10))?;
    assert_eq!(local.items.len(), 1);
    assert_eq!(local.items[0].steward.did, w.genesis[2].did);
    m.clock().advance(61 * 86_400);
    let active = m.list_stewards(&StewardFilter { active: Some(true), jurisdiction: None }, Paging::new(None, 10))?;
    assert_eq!(active.items.len(), 2, "the 60-day steward's term ended");
    Ok(())
}
