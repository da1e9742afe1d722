//! `commons-gateway verify` and `export` on a real store, at this build's
//! store location ([`Dirs::store_args`]: `--data-dir DIR` for the folder
//! engines, `--database-url URL` for a postgres build): exit 0 and "clean"
//! on a healthy store; exit 1 with the key of a hand-corrupted record and of
//! a dangling index row; a store that is not there is exit 1 and nothing is
//! created; exit 2 for a location the build cannot use (any data dir on a
//! build without a persistent engine or on a postgres build).

#![cfg(feature = "gateway")]

mod common;

use std::ffi::OsString;
use std::path::Path;

use anyhow::Result;
use common::keys::Person;
use common::process::{networked, run, Dirs, TEST_PASSWORD};
use common::world::World;
use commons_gateway::{CommonsBackend, CommonsStoreBackend, OpenBackend};

fn persistent() -> bool {
    <CommonsBackend as OpenBackend>::PERSISTENT
}

/// `<command> <store args>...`: the exit code and all it printed.
fn run_at(command: &str, store: Vec<OsString>, more: &[&Path]) -> Result<(i32, String)> {
    let mut args = vec![OsString::from(command)];
    args.extend(store);
    if let Some(out) = more.first() {
        args.extend([OsString::from("--out"), out.as_os_str().to_owned()]);
    }
    let ran = run(args)?;
    let text = format!("{}{}", ran.stdout, ran.stderr);
    assert!(!text.contains(TEST_PASSWORD), "`{command}` showed the database password:\n{text}");
    Ok((ran.code(), text))
}

/// `verify` on the store of `dirs`.
fn verify(dirs: &Dirs) -> Result<(i32, String)> {
    run_at("verify", dirs.store_args(), &[])
}

/// `export` of the store of `dirs` to `out`.
fn export(dirs: &Dirs, out: &Path) -> Result<(i32, String)> {
    run_at("export", dirs.store_args(), &[out])
}

/// `--data-dir DIR`, whatever the build.
fn data_dir_args(dir: &Path) -> Vec<OsString> {
    vec!["--data-dir".into(), dir.as_os_str().to_owned()]
}

#[test]
fn verify_reports_corruption_by_key_and_exits_one() -> Result<()> {
    let dirs = Dirs::new()?;
    if !persistent() {
        std::fs::create_dir_all(&dirs.data)?;
        let (code, text) = verify(&dirs)?;
        assert_eq!(code, 2, "{text}");
        assert!(text.contains("no persistent engine"), "{text}");
        return Ok(());
    }
    let person = Person::new();
    let holder_id = {
        let m = dirs.manager()?;
        let w = World::build(&m, "cli-verify", false)?;
        w.enroll(&m, &person, 0)?
    };
    let (code, text) = verify(&dirs)?;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("verify: clean"), "{text}");

    {
        let backend = dirs.backend()?;
        backend.put(format!("holder/{holder_id}").as_bytes(), b"{\"holder_id\": 7}")?;
        backend.put(b"steward_did/did:key:z6MkDangling", b"0000")?;
    }
    let (code, text) = verify(&dirs)?;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(&format!("holder/{holder_id}: record does not decode")), "{text}");
    assert!(text.contains("steward_did/did:key:z6MkDangling: index row points to no record"), "{text}");

    // A record that is not even text: `verify` and `export` both name it.
    let key = format!("anchor/{holder_id}");
    dirs.backend()?.put(key.as_bytes(), b"\xff\xfe not utf-8")?;
    let (code, text) = verify(&dirs)?;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(&key), "verify does not name {key}:\n{text}");
    let out = tempfile::tempdir()?;
    let (code, text) = export(&dirs, &out.path().join("backup.jsonl"))?;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(&key) && text.contains("not UTF-8"), "export does not name {key}:\n{text}");
    Ok(())
}

/// `verify` and `export` need an existing store, and never create one: a
/// mistyped `--data-dir` is exit 1 naming the missing store folder
/// (regression: both opened a new empty store there, and `verify` said
/// "clean", `export` wrote an empty backup), and so is a database that holds
/// no store (`--database-url` of an empty schema, postgres builds). Without
/// a persistent engine, and on a postgres build, the build refuses any data
/// dir with exit 2.
#[test]
fn verify_and_export_of_a_missing_store_fail_and_create_nothing() -> Result<()> {
    let root = tempfile::tempdir()?;
    let missing = root.path().join("typo");
    let out = root.path().join("backup.jsonl");
    let folder_engine = persistent() && !networked();
    let expected = if folder_engine { 1 } else { 2 };
    let (code, text) = run_at("verify", data_dir_args(&missing), &[])?;
    assert_eq!(code, expected, "{text}");
    let (code, stderr) = run_at("export", data_dir_args(&missing), &[&out])?;
    assert_eq!(code, expected, "{stderr}");
    if folder_engine {
        let folder = missing.join(<CommonsBackend as OpenBackend>::FOLDER);
        let named = format!("no {} store at {}", commons_gateway::BACKEND_NAME, folder.display());
        assert!(text.contains(&named), "{text}");
        assert!(stderr.contains(&named), "{stderr}");
    }
    if networked() {
        for said in [&text, &stderr] {
            assert!(said.contains("--database-url") && said.contains(&missing.display().to_string()), "{said}");
        }
    }
    assert!(!missing.exists(), "{} was created", missing.display());
    assert!(!out.exists(), "an export file was written");
    if folder_engine {
        // An empty store folder is no store either.
        let folder = missing.join(<CommonsBackend as OpenBackend>::FOLDER);
        std::fs::create_dir_all(&folder)?;
        let (code, text) = run_at("verify", data_dir_args(&missing), &[])?;
        assert_eq!(code, 1, "{text}");
        assert_eq!(std::fs::read_dir(&folder)?.count(), 0, "files were created in {}", folder.display());
    }
    if networked() {
        // A database (here a fresh, empty schema) that holds no store: exit
        // 1 naming it without its password, and twice, so the first run
        // created nothing.
        let dirs = Dirs::new()?;
        let shown = <commons_gateway::CommonsBackend as commons_gateway::OpenBackend>::describe_url(dirs.url())?;
        for _ in 0..2 {
            let (code, text) = verify(&dirs)?;
            assert_eq!(code, 1, "{text}");
            assert!(text.contains("no commons store in the database") && text.contains(&shown), "{text}");
            let (code, stderr) = export(&dirs, &out)?;
            assert_eq!(code, 1, "{stderr}");
            assert!(stderr.contains("no commons store in the database"), "{stderr}");
            assert!(!out.exists(), "an export file was written");
        }
    }
    Ok(())
}

/// `export` writes a new file and never replaces an existing one (it may be
/// the previous backup): the second run is exit 1 and the file is unchanged.
#[test]
fn export_never_overwrites_an_existing_file() -> Result<()> {
    if !persistent() {
        eprintln!("skipped on the {} build: no persistent engine", commons_gateway::BACKEND_NAME);
        return Ok(());
    }
    let dirs = Dirs::new()?;
    dirs.manager()?.bootstrap_anchor(Person::new().did.as_str(), Some("Ada".into()))?;
    let root = tempfile::tempdir()?;
    let out = root.path().join("backup.jsonl");
    let (code, stderr) = export(&dirs, &out)?;
    assert_eq!(code, 0, "{stderr}");
    let first = std::fs::read(&out)?;
    // Header, schema row, anchor, anchor_did, holder, holder_did, trailer.
    assert_eq!(first.iter().filter(|b| **b == b'\n').count(), 7, "{}", String::from_utf8_lossy(&first));
    let (code, stderr) = export(&dirs, &out)?;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("never overwritten"), "{stderr}");
    assert_eq!(std::fs::read(&out)?, first, "the existing file is unchanged");
    Ok(())
}

/// A database URL that cannot name a database (empty, not parsable, no
/// host) is a usage error: exit 2 from every command that opens a store,
/// before any file is read or any connection tried, saying what was wrong
/// on a postgres build (a folder build refuses any database URL, also exit
/// 2); a password in it never shows.
#[test]
fn a_database_url_that_names_no_database_is_exit_2_everywhere() -> Result<()> {
    let root = tempfile::tempdir()?;
    let (out, missing_input) = (root.path().join("backup.jsonl"), root.path().join("no-such-export.jsonl"));
    let cases = [
        ("", "is empty"),
        ("postgres://app:s3cret@host:notaport/db", "does not parse"),
        ("dbname=commons user=app password=s3cret", "names no host"),
    ];
    for (url, why) in cases {
        let store = || vec![OsString::from("--database-url"), OsString::from(url)];
        let commands: [(&str, Vec<OsString>); 4] = [
            ("verify", vec![]),
            ("export", vec!["--out".into(), out.clone().into()]),
            ("import", vec!["--in".into(), missing_input.clone().into()]),
            ("serve", vec!["--bind".into(), "127.0.0.1:0".into()]),
        ];
        for (command, more) in commands {
            let ran = run([OsString::from(command)].into_iter().chain(store()).chain(more))?;
            let text = format!("{}{}", ran.stdout, ran.stderr);
            assert_eq!(ran.code(), 2, "`{command} --database-url {url:?}`:\n{text}");
            assert!(!text.contains("s3cret"), "`{command}` showed the password:\n{text}");
            if networked() {
                assert!(text.contains(why), "`{command} --database-url {url:?}` does not say it {why}:\n{text}");
            } else {
                assert!(text.contains("--data-dir"), "`{command}` does not say to pass --data-dir:\n{text}");
            }
        }
    }
    assert!(!out.exists(), "an export file was written");
    Ok(())
}
