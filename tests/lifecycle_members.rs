//! The paged members list of a jurisdiction through the manager: every
//! member once in holder-id order at any page size, filters by status, bad
//! input refused (one table row per request), and reads of only that
//! jurisdiction's membership rows and of the holders it returns.

mod common;

use anyhow::Result;
use common::keys::Person;
use common::probe::Probe;
use common::world::{all_pages, apply, manager_on, memory, World};
use commons_gateway::actions::{CharterActivate, CharterCreate, CharterSign};
use commons_gateway::records::HolderView;
use commons_gateway::Paging;
use commons_gateway::{CommonsError, CommonsManager, CommonsResult, CommonsStoreBackend, Page, Refusal};
use serde_json::json;

/// A second Active coop `coop:<slug>` founded by genesis 0 alone.
fn second_coop<S: CommonsStoreBackend>(m: &CommonsManager<S>, w: &World, slug: &str) -> Result<String> {
    let domain = format!("coop:{slug}");
    let v = m.create_charter(&w.genesis[0].sign::<CharterCreate>(
        "-",
        json!({"domain_id": domain, "org_type": "Cooperative", "name": slug, "membership_policy": {"open_enrollment": false, "min_founders": 1}}),
    ))?;
    let id = v.charter.charter_id.clone();
    m.sign_charter(&w.genesis[0].sign::<CharterSign>(&id, json!({"digest": v.digest})))?;
    m.activate_charter(&w.genesis[0].sign::<CharterActivate>(&id, json!({})))?;
    Ok(domain)
}

/// Pages through `domain`'s members with `limit`, returning the holder ids in
/// order (every page's size checked by `all_pages`).
fn all_members<S: CommonsStoreBackend>(
    m: &CommonsManager<S>,
    domain: &str,
    status: Option<&str>,
    limit: usize,
) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for h in all_pages(limit, |cursor, limit| m.list_members(domain, status, Paging::new(cursor, limit)))? {
        let a = h.holder.affiliation(domain).ok_or_else(|| anyhow::anyhow!("listed without affiliation"))?;
        if let Some(s) = status {
            assert_eq!(format!("{:?}", a.status), s);
        }
        ids.push(h.holder.holder_id.clone());
    }
    Ok(ids)
}

/// The world plus 30 new holders: 23 apply to the bakery (the first 9 are
/// approved), 11 to a second coop `coop:mill` (4 of them are in both). Returns
/// (bakery ids, approved bakery ids, mill ids), each sorted.
fn populate<S: CommonsStoreBackend>(
    m: &CommonsManager<S>,
    w: &World,
) -> Result<(Vec<String>, Vec<String>, Vec<String>)> {
    let mill = second_coop(m, w, "mill")?;
    let (mut bakery, mut approved, mut mill_ids) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..30 {
        let p = Person::new();
        let id = m.bootstrap_anchor(p.did.as_str(), None)?.anchor.anchor_id;
        if i < 23 {
            apply(m, &p, &id, &w.domain)?;
            bakery.push(id.clone());
            if i < 9 {
                m.approve_affiliation_by_operator(&id, &w.domain, None)?;
                approved.push(id.clone());
            }
        }
        if i >= 19 {
            apply(m, &p, &id, &mill)?;
            mill_ids.push(id);
        }
    }
    bakery.sort();
    approved.sort();
    mill_ids.sort();
    Ok((bakery, approved, mill_ids))
}

#[test]
fn members_list_pages_every_member_once() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let (bakery, _, mill) = populate(&m, &w)?;
    assert_eq!((bakery.len(), mill.len()), (23, 11));
    for limit in [1, 5, 23, 100] {
        assert_eq!(all_members(&m, &w.domain, None, limit)?, bakery, "limit {limit}");
    }
    assert_eq!(all_members(&m, "coop:mill", None, 4)?, mill);
    let first = m.list_members(&w.domain, None, Paging::new(None, 5))?;
    assert_eq!(first.items.len(), 5);
    assert!(first.next_cursor.is_some());
    Ok(())
}

#[test]
fn members_list_filters_by_status_and_refuses_bad_input() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let (bakery, approved, _) = populate(&m, &w)?;
    assert_eq!(all_members(&m, &w.domain, Some("Provisional"), 4)?, approved);
    let candidates: Vec<String> = bakery.iter().filter(|id| !approved.contains(id)).cloned().collect();
    assert_eq!(all_members(&m, &w.domain, Some("Candidate"), 3)?, candidates);
    assert!(all_members(&m, &w.domain, Some("Banned"), 10)?.is_empty());
    // A ban moves the holder from one filtered list to the other.
    m.ban_affiliation(&approved[0], &w.domain, None)?;
    assert_eq!(all_members(&m, &w.domain, Some("Banned"), 10)?, vec![approved[0].clone()]);
    assert_eq!(all_members(&m, &w.domain, Some("Provisional"), 10)?, approved[1..].to_vec());

    type Check = fn(&CommonsResult<Page<HolderView>>) -> bool;
    let bad_status: Check = |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "status", .. })));
    let bad_limit: Check = |r| matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "limit", .. })));
    let domain = w.domain.as_str();
    let rows = [
        ("status member", domain, Some("member"), None, 10, bad_status),
        ("status Active", domain, Some("Active"), None, 10, bad_status),
        ("empty status", domain, Some(""), None, 10, bad_status),
        ("limit 0", domain, None, None, 0, bad_limit),
        ("limit 101", domain, None, None, 101, bad_limit),
        ("unknown charter", "coop:nowhere", None, None, 10, |r| {
            matches!(r, Err(CommonsError::Refused(Refusal::NotFound { entity: "charter", .. })))
        }),
        ("bad jurisdiction", "coop:bad/slug", None, None, 10, |r| {
            matches!(r, Err(CommonsError::Refused(Refusal::InvalidInput { field: "jurisdiction", .. })))
        }),
        ("bad cursor", domain, None, Some("zz"), 10, |r| matches!(r, Err(CommonsError::Store(_)))),
    ];
    for (what, jurisdiction, status, cursor, limit, check) in rows {
        let r = m.list_members(jurisdiction, status, Paging::new(cursor, limit));
        assert!(check(&r), "{what}: {:?}", r.map(|p| p.items.len()));
    }
    Ok(())
}

#[test]
fn members_list_reads_only_its_jurisdictions_rows_and_the_holders_it_returns() -> Result<()> {
    let m = manager_on(Probe::default())?;
    let w = World::build(&m, "bakery", false)?;
    let (_, approved, _) = populate(&m, &w)?;
    m.store().clear_caches();
    m.store().backend().take_reads();

    let page = m.list_members(&w.domain, Some("Provisional"), Paging::new(None, 100))?;
    let listed: Vec<String> = page.items.iter().map(|h| h.holder.holder_id.clone()).collect();
    assert_eq!(listed, approved);
    let reads = m.store().backend().take_reads();
    // The on-disk layout: a jurisdiction's membership rows.
    let prefix = format!("member/{}/", w.domain);
    let mut holder_reads = 0;
    for r in &reads {
        if let Some(p) = r.strip_prefix("scan ") {
            assert_eq!(p, prefix, "scanned outside the jurisdiction: {reads:?}");
        } else if let Some(id) = r.strip_prefix("get holder/") {
            assert!(approved.iter().any(|a| a == id), "read a holder it does not return: {r}");
            holder_reads += 1;
        } else {
            assert_eq!(r, &format!("get charter_domain/{}", w.domain), "unexpected read");
        }
    }
    assert_eq!(holder_reads, approved.len(), "the row's status is tested before the holder is read");

    // The mill's list reads the mill's rows, none of the bakery's.
    m.list_members("coop:mill", None, Paging::new(None, 100))?;
    let reads = m.store().backend().take_reads();
    assert!(reads.iter().filter(|r| r.starts_with("scan ")).all(|r| r == "scan member/coop:mill/"), "{reads:?}");
    Ok(())
}
