//! Records read back from the store skip the re-validation of their DIDs'
//! points (the trusted decode), and nothing else changes: every read gives
//! back the record that was written, `verify` (and so `import`) still parses
//! every stored DID in full and reports one that is not a valid key, and
//! every DID from outside is still refused when it is not one.

mod common;

use anyhow::Result;
use common::keys::Person;
use common::world::{manager_on, World, T0};
use commons_gateway::backend::InMemoryCommonsStore;
use commons_gateway::records::{CommonsHolderRecord, Pathway, PersonhoodAnchor};
use commons_gateway::{Changes, CommonsError, CommonsStore, CommonsStoreBackend, Did, Problem, Refusal, StoreConfig};

/// A `did:key` text of the 32 bytes `key`, in the canonical shape whatever
/// the bytes are.
fn did_text(key: [u8; 32]) -> String {
    let mut bytes = vec![0xed, 0x01];
    bytes.extend_from_slice(&key);
    format!("did:key:z{}", bs58::encode(bytes).into_string())
}

/// The identity point: a small-order (weak) key, which `Did::parse` refuses.
fn weak_did() -> String {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    did_text(identity)
}

/// 32 bytes that are no Ed25519 point, in a DID of the right shape.
fn not_a_point_did() -> String {
    let key = (2u8..).map(|y| [y; 32]).find(|k| ed25519_dalek::VerifyingKey::from_bytes(k).is_err());
    did_text(key.expect("some y has no x on the curve"))
}

fn uncached_store() -> Result<CommonsStore<InMemoryCommonsStore>> {
    Ok(CommonsStore::new(InMemoryCommonsStore::new(), &StoreConfig { cache_records: 0, ..StoreConfig::default() })?)
}

/// A store without caches holding one anchor of a good DID: the store, the
/// anchor, its DID, its key and its row's JSON text.
fn one_anchor() -> Result<(CommonsStore<InMemoryCommonsStore>, PersonhoodAnchor, Did, String, String)> {
    let store = uncached_store()?;
    let did = Person::new().did;
    let anchor = PersonhoodAnchor::new(did.clone(), Pathway::Admin, T0);
    let mut changes = Changes::new();
    changes.put(&anchor, None)?;
    store.commit(changes)?;
    let key = format!("anchor/{}", anchor.anchor_id);
    let row = String::from_utf8(store.backend().get(key.as_bytes())?.expect("the row"))?;
    Ok((store, anchor, did, key, row))
}

#[test]
fn records_read_back_equal_the_records_written() -> Result<()> {
    let m = manager_on(InMemoryCommonsStore::new())?;
    let w = World::build(&m, "bakery", false)?;
    let p = Person::new();
    let anchor_id = w.enroll(&m, &p, 0)?;
    // A store without caches over a copy of the rows: every read decodes.
    let copy = uncached_store()?;
    for (k, v) in m.store().backend().scan(b"")? {
        copy.backend().put(&k, &v)?;
    }
    let holder = m.holder_by_did(p.did.as_str())?.holder;
    assert_eq!(copy.get::<CommonsHolderRecord>(&holder.holder_id)?, Some(holder.clone()));
    assert_eq!(holder.did, p.did);
    let anchor = copy.get::<PersonhoodAnchor>(&anchor_id)?.expect("the anchor");
    assert_eq!(anchor.did, p.did);
    assert_eq!(anchor.did.public_key_bytes(), p.did.public_key_bytes());
    // The steward who vouched is a DID inside the anchor's pathway.
    assert_eq!(anchor.pathway, Pathway::StewardVouched { steward_did: w.stewards[0].did.clone() });
    assert_eq!(Some(anchor), m.store().get::<PersonhoodAnchor>(&anchor_id)?);
    Ok(())
}

#[test]
fn a_stored_did_that_is_no_valid_key_reads_back_but_verify_reports_it() -> Result<()> {
    for (bad, reason) in
        [(not_a_point_did(), "not a valid Ed25519 public key"), (weak_did(), "a small-order (weak) Ed25519 key")]
    {
        let (store, anchor, good, key, row) = one_anchor()?;
        assert!(store.verify()?.is_clean());

        // Damage: the row now names a bad key (the JSON is otherwise the same).
        let damaged = row.replace(good.as_str(), &bad);
        assert_ne!(damaged, row);
        store.backend().put(key.as_bytes(), damaged.as_bytes())?;

        // A read trusts the row: the DID keeps its text.
        let read = store.get::<PersonhoodAnchor>(&anchor.anchor_id)?.expect("the damaged anchor");
        assert_eq!(read.did.as_str(), bad);

        // verify parses it in full.
        let report = store.verify()?;
        assert!(
            report.problems.iter().any(|p| matches!(p, Problem::Undecodable { key: k, reason: r }
                if *k == key && r.contains(reason))),
            "{:?}",
            report.problems
        );
    }
    Ok(())
}

#[test]
fn a_stored_did_of_the_wrong_shape_is_still_a_corrupt_row() -> Result<()> {
    let (store, anchor, good, key, row) = one_anchor()?;
    for bad in [good.as_str().replacen("did:key:z", "did:key:m", 1), format!("{good}1"), "did:key:z0OIl".into()] {
        store.backend().put(key.as_bytes(), row.replace(good.as_str(), &bad).as_bytes())?;
        let err = store.get::<PersonhoodAnchor>(&anchor.anchor_id).expect_err("a corrupt row");
        assert!(err.to_string().contains(&key), "{err}");
    }
    Ok(())
}

#[test]
fn dids_from_outside_are_still_parsed_in_full() -> Result<()> {
    let m = manager_on(InMemoryCommonsStore::new())?;
    let r = m.bootstrap_anchor(&weak_did(), None);
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidDid(_)))), "{r:?}");
    // Deserializing a DID anywhere but in the store's own reads checks the point.
    let err = serde_json::from_str::<Did>(&format!("\"{}\"", weak_did())).expect_err("a weak key");
    assert!(err.to_string().contains("a small-order (weak) Ed25519 key"), "{err}");
    let err = serde_json::from_str::<PersonhoodAnchor>(
        &serde_json::to_string(&PersonhoodAnchor::new(Person::new().did, Pathway::Admin, T0))?.replacen(
            "did:key:z",
            "did:key:Z",
            1,
        ),
    )
    .expect_err("a non-canonical DID");
    assert!(err.to_string().contains("must start with did:key:z"), "{err}");
    Ok(())
}
