//! The store never hides a bad row: a record that fails to decode is an error
//! naming its key in `get` and in lists, an index row pointing to nothing is an
//! error naming the index key, and a store from a newer schema is refused.
//! Index rows follow their record through updates and deletes.

mod common;

use anyhow::Result;
use common::keys::Person;
use common::world::{manager_on, World};
use commons_gateway::backend::{InMemoryCommonsStore, StoreConfig};
use commons_gateway::records::AffiliationStatus;
use commons_gateway::CharterFilter;
use commons_gateway::Paging;
use commons_gateway::StewardFilter;
use commons_gateway::{CommonsError, CommonsStoreBackend};
use commons_gateway::{CommonsStore, StoreError};

fn corrupt_key(err: CommonsError) -> String {
    match err {
        CommonsError::Store(StoreError::Corrupt { key, .. }) => key,
        other => panic!("expected a Corrupt store error, got {other:?}"),
    }
}

#[test]
fn undecodable_record_is_an_error_naming_its_key_in_get_and_list() -> Result<()> {
    let m = manager_on(InMemoryCommonsStore::new())?;
    let w = World::build(&m, "integrity", false)?;
    let steward_id = m.steward_by_did(w.stewards[1].did.as_str())?.steward.steward_id;
    // Written behind the store's back, as a disk fault or a bad edit would.
    let key = format!("steward/{steward_id}");
    let fresh = manager_on(InMemoryCommonsStore::new())?;
    for (k, v) in m.store().backend().scan(b"")? {
        let v = if k == key.as_bytes() { b"{\"steward_id\": 42".to_vec() } else { v };
        fresh.store().backend().put(&k, &v)?;
    }
    assert_eq!(corrupt_key(fresh.steward(&steward_id).unwrap_err()), key);
    assert_eq!(corrupt_key(fresh.steward_by_did(w.stewards[1].did.as_str()).unwrap_err()), key);
    assert_eq!(corrupt_key(fresh.list_stewards(&StewardFilter::default(), Paging::new(None, 100)).unwrap_err()), key);
    Ok(())
}

#[test]
fn dangling_index_row_is_an_error_naming_the_index_key() -> Result<()> {
    let m = manager_on(InMemoryCommonsStore::new())?;
    let w = World::build(&m, "integrity", false)?;
    m.store().backend().delete(format!("charter/{}", w.charter_id).as_bytes())?;
    // The deleted record may still be cached; a fresh store over the same
    // backend reads the rows as they are.
    let store = CommonsStore::new(m.store().backend(), &StoreConfig { cache_records: 0, ..StoreConfig::default() })?;
    let by_domain = store.charter_by_domain(&w.domain);
    match by_domain {
        Err(StoreError::Corrupt { key, reason }) => {
            assert_eq!(key, format!("charter_domain/{}", w.domain));
            assert!(reason.contains(&w.charter_id), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let listed = store.charters_newest_first(Paging::new(None, 10), |_| true);
    assert!(
        matches!(listed, Err(StoreError::Corrupt { ref key, .. }) if key.starts_with("charter_time/")),
        "{listed:?}"
    );
    drop(store);
    m.store().clear_caches();
    assert!(matches!(
        m.list_charters(&CharterFilter::default(), Paging::new(None, 10)),
        Err(CommonsError::Store(StoreError::Corrupt { .. }))
    ));
    Ok(())
}

#[test]
fn newer_schema_is_refused_and_left_untouched() -> Result<()> {
    let backend = InMemoryCommonsStore::new();
    backend.put(b"commons/meta/schema_version", b"99")?;
    let r = CommonsStore::new(&backend, &StoreConfig::default());
    assert!(matches!(r, Err(StoreError::SchemaTooNew { found: 99, supported: 1 })), "{:?}", r.err());
    assert_eq!(backend.get(b"commons/meta/schema_version")?, Some(b"99".to_vec()));
    let fresh = InMemoryCommonsStore::new();
    CommonsStore::new(&fresh, &StoreConfig::default())?;
    assert_eq!(fresh.get(b"commons/meta/schema_version")?, Some(b"1".to_vec()));
    Ok(())
}

#[test]
fn membership_rows_follow_the_affiliation() -> Result<()> {
    let m = manager_on(InMemoryCommonsStore::new())?;
    let w = World::build(&m, "rows", false)?;
    let person = Person::new();
    let holder_id = w.enroll(&m, &person, 0)?;
    let row = format!("member/{}/{holder_id}", w.domain);
    assert_eq!(
        m.store().backend().get(row.as_bytes())?,
        Some(format!("{:?}", AffiliationStatus::Provisional).into_bytes())
    );
    // The did index rows of the three entity kinds point at their records.
    for ns in ["anchor_did/", "holder_did/"] {
        assert_eq!(
            m.store().backend().get(format!("{ns}{}", person.did).as_bytes())?,
            Some(holder_id.clone().into_bytes())
        );
    }
    assert_eq!(m.store().backend().scan(b"steward_did/")?.len(), 2);
    Ok(())
}
