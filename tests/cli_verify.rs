//! `commons-gateway verify --data-dir DIR` on a real store: exit 0 and
//! "clean" on a healthy one; exit 1 with the key of a hand-corrupted record
//! and of a dangling index row; exit 2 on a build without a persistent engine.

#![cfg(feature = "gateway")]

mod common;

use anyhow::Result;
use common::keys::Person;
use common::process::run;
use common::world::World;
use commons_gateway::{CommonsBackend, CommonsManager, CommonsStoreBackend, OpenBackend, StoreConfig};

/// `verify --data-dir DIR`: the exit code and all it printed.
fn verify(dir: &std::path::Path) -> Result<(i32, String)> {
    let ran = run(["verify".as_ref(), "--data-dir".as_ref(), dir.as_os_str()])?;
    Ok((ran.code(), format!("{}{}", ran.stdout, ran.stderr)))
}

/// `export --data-dir DIR --out FILE`: the exit code and stderr.
fn export(dir: &std::path::Path, out: &std::path::Path) -> Result<(i32, String)> {
    let ran = run(["export".as_ref(), "--data-dir".as_ref(), dir.as_os_str(), "--out".as_ref(), out.as_os_str()])?;
    Ok((ran.code(), ran.stderr))
}

#[test]
fn verify_reports_corruption_by_key_and_exits_one() -> Result<()> {
    let dir = tempfile::tempdir()?;
    if !<CommonsBackend as OpenBackend>::PERSISTENT {
        let (code, text) = verify(dir.path())?;
        assert_eq!(code, 2, "{text}");
        assert!(text.contains("no persistent engine"), "{text}");
        return Ok(());
    }
    let person = Person::new();
    let holder_id = {
        let m = CommonsManager::<CommonsBackend>::open(dir.path(), &StoreConfig::default())?;
        let w = World::build(&m, "cli-verify", false)?;
        w.enroll(&m, &person, 0)?
    };
    let (code, text) = verify(dir.path())?;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("verify: clean"), "{text}");

    {
        let backend =
            CommonsBackend::open(&dir.path().join(<CommonsBackend as OpenBackend>::FOLDER), &StoreConfig::default())?;
        backend.put(format!("holder/{holder_id}").as_bytes(), b"{\"holder_id\": 7}")?;
        backend.put(b"steward_did/did:key:z6MkDangling", b"0000")?;
    }
    let (code, text) = verify(dir.path())?;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(&format!("holder/{holder_id}: record does not decode")), "{text}");
    assert!(text.contains("steward_did/did:key:z6MkDangling: index row points to no record"), "{text}");
    Ok(())
}

/// `verify` and `export` need an existing store: a mistyped `--data-dir`
/// is exit 1 naming the missing store folder, and nothing is created
/// (regression: both opened a new empty store there, and `verify` said
/// "clean", `export` wrote an empty backup). Without a persistent engine the
/// build refuses any data dir with exit 2, as before.
#[test]
fn verify_and_export_of_a_missing_store_fail_and_create_nothing() -> Result<()> {
    let root = tempfile::tempdir()?;
    let missing = root.path().join("typo");
    let out = root.path().join("backup.jsonl");
    let persistent = <CommonsBackend as OpenBackend>::PERSISTENT;
    let expected = if persistent { 1 } else { 2 };
    let (code, text) = verify(&missing)?;
    assert_eq!(code, expected, "{text}");
    let (code, stderr) = export(&missing, &out)?;
    assert_eq!(code, expected, "{stderr}");
    if persistent {
        let folder = missing.join(<CommonsBackend as OpenBackend>::FOLDER);
        let named = format!("no {} store at {}", commons_gateway::BACKEND_NAME, folder.display());
        assert!(text.contains(&named), "{text}");
        assert!(stderr.contains(&named), "{stderr}");
    }
    assert!(!missing.exists(), "{} was created", missing.display());
    assert!(!out.exists(), "an export file was written");
    if persistent {
        // An empty store folder is no store either.
        let folder = missing.join(<CommonsBackend as OpenBackend>::FOLDER);
        std::fs::create_dir_all(&folder)?;
        let (code, text) = verify(&missing)?;
        assert_eq!(code, 1, "{text}");
        assert_eq!(std::fs::read_dir(&folder)?.count(), 0, "files were created in {}", folder.display());
    }
    Ok(())
}

/// `export` writes a new file and never replaces an existing one (it may be
/// the previous backup): the second run is exit 1 and the file is unchanged.
#[test]
fn export_never_overwrites_an_existing_file() -> Result<()> {
    if !<CommonsBackend as OpenBackend>::PERSISTENT {
        eprintln!("skipped on the {} build: no persistent engine", commons_gateway::BACKEND_NAME);
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    {
        let m = CommonsManager::<CommonsBackend>::open(dir.path(), &StoreConfig::default())?;
        m.bootstrap_anchor(Person::new().did.as_str(), Some("Ada".into()))?;
    }
    let out = dir.path().join("backup.jsonl");
    let (code, stderr) = export(dir.path(), &out)?;
    assert_eq!(code, 0, "{stderr}");
    let first = std::fs::read(&out)?;
    // Header, schema row, anchor, anchor_did, holder, holder_did, trailer.
    assert_eq!(first.iter().filter(|b| **b == b'\n').count(), 7, "{}", String::from_utf8_lossy(&first));
    let (code, stderr) = export(dir.path(), &out)?;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("never overwritten"), "{stderr}");
    assert_eq!(std::fs::read(&out)?, first, "the existing file is unchanged");
    Ok(())
}
