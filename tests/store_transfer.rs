//! Export and import: a store moves whole between stores (and engines, when
//! both are compiled in), and a bad or truncated file imports nothing.

mod common;

use anyhow::Result;
use common::keys::Person;
use common::world::{manager_on, snapshot, World};
use commons_gateway::backend::InMemoryCommonsStore;
use commons_gateway::TransferError;

fn populated() -> Result<(commons_gateway::CommonsManager<InMemoryCommonsStore>, Vec<u8>)> {
    let m = manager_on(InMemoryCommonsStore::new())?;
    let w = World::build(&m, "transfer", false)?;
    w.enroll(&m, &Person::new(), 0)?;
    w.enroll_to_level(&m, &Person::new(), 1, 0)?;
    let mut out = Vec::new();
    let rows = m.store().export_to("memory", &mut out)?;
    assert_eq!(rows as usize, snapshot(&m).len());
    Ok((m, out))
}

#[test]
fn export_then_import_reproduces_every_row() -> Result<()> {
    let (source, file) = populated()?;
    let target = manager_on(InMemoryCommonsStore::new())?;
    let imported = target.store().import_from(file.as_slice())?;
    assert_eq!(imported as usize + 1, snapshot(&source).len(), "every row but the schema row, which the target has");
    assert_eq!(snapshot(&target), snapshot(&source));
    Ok(())
}

#[test]
fn import_refuses_a_store_that_is_not_empty() -> Result<()> {
    let (source, file) = populated()?;
    let before = snapshot(&source);
    let r = source.store().import_from(file.as_slice());
    assert!(matches!(r, Err(TransferError::NotEmpty { .. })), "{r:?}");
    assert_eq!(snapshot(&source), before);
    Ok(())
}

#[test]
fn truncated_or_foreign_files_import_nothing() -> Result<()> {
    let (_, file) = populated()?;
    let text = String::from_utf8(file)?;
    let lines: Vec<&str> = text.lines().collect();
    let truncated = lines[..lines.len() - 2].join("\n");
    let foreign_key = text.replacen("\"key\":\"anchor/", "\"key\":\"elsewhere/", 1);
    let wrong_count = lines[..lines.len() - 2].iter().chain(lines.last()).copied().collect::<Vec<_>>().join("\n");
    for (name, bad) in [
        ("truncated", truncated),
        ("foreign key", foreign_key),
        ("wrong count", wrong_count),
        ("not json", "hello\n".to_string()),
    ] {
        let target = manager_on(InMemoryCommonsStore::new())?;
        let before = snapshot(&target);
        let r = target.store().import_from(bad.as_bytes());
        assert!(matches!(r, Err(TransferError::Format { .. })), "{name}: {r:?}");
        assert_eq!(snapshot(&target), before, "{name} wrote something");
    }
    Ok(())
}

#[test]
fn export_with_a_bad_record_or_dangling_index_imports_nothing() -> Result<()> {
    let (_, file) = populated()?;
    let text = String::from_utf8(file)?;
    // A record that no longer decodes (the JSON text of an anchor replaced).
    let anchor_line = text.lines().find(|l| l.contains("\"key\":\"anchor/")).expect("an anchor row");
    let row: serde_json::Value = serde_json::from_str(anchor_line)?;
    let broken = serde_json::json!({"key": row["key"], "value": "not json at all"}).to_string();
    let bad_record = text.replacen(anchor_line, &broken, 1);
    // An index row pointing at a record that is not in the file.
    let did_line = text.lines().find(|l| l.contains("\"key\":\"anchor_did/")).expect("a did row");
    let row: serde_json::Value = serde_json::from_str(did_line)?;
    let dangling = serde_json::json!({"key": row["key"], "value": "f".repeat(64)}).to_string();
    let bad_index = text.replacen(did_line, &dangling, 1);
    for (name, bad) in [("bad record", bad_record), ("dangling index", bad_index)] {
        let target = manager_on(InMemoryCommonsStore::new())?;
        let before = snapshot(&target);
        let r = target.store().import_from(bad.as_bytes());
        assert!(matches!(r, Err(TransferError::Invalid { .. })), "{name}: {r:?}");
        assert_eq!(snapshot(&target), before, "{name} wrote something");
    }
    Ok(())
}

#[cfg(all(feature = "sled-store", feature = "fjall-store"))]
#[test]
fn sled_store_moves_to_fjall_through_export_and_import() -> Result<()> {
    use commons_gateway::backend::{FjallCommonsStore, SledCommonsStore};
    use commons_gateway::{CommonsStoreBackend, OpenBackend, StoreConfig};
    let dir = tempfile::tempdir()?;
    let sled = manager_on(SledCommonsStore::open(&dir.path().join("commons.sled"), &StoreConfig::default())?)?;
    let w = World::build(&sled, "move", false)?;
    let person = Person::new();
    w.enroll(&sled, &person, 1)?;
    let mut file = Vec::new();
    sled.store().export_to("sled", &mut file)?;
    let fjall = manager_on(FjallCommonsStore::open(&dir.path().join("commons.fjall"), &StoreConfig::default())?)?;
    fjall.store().import_from(file.as_slice())?;
    assert_eq!(snapshot(&fjall), snapshot(&sled));
    assert_eq!(fjall.holder_by_did(person.did.as_str())?.holder.affiliations.len(), 1);
    assert_eq!(fjall.store().backend().scan(b"anchor/")?.len(), 6);
    Ok(())
}
