//! `verify` and `export` change no byte under the store folder, whatever
//! state the store is in: after a clean shutdown (SIGTERM), after a crash
//! (SIGKILL), and with a damaged journal after a crash. Every file is hashed
//! before and after each tool. The damaged store is refused, by `serve`
//! (exit 1) and by both tools (exit 1), with a message naming the damaged
//! file, and still no file changes. Folder engines only (fjall, sled).

#![cfg(all(feature = "gateway", any(feature = "fjall-store", feature = "sled-store")))]

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Result};
use common::files::contents;
use common::http::Call;
use common::keys::Person;
use common::process::{run, ChildGuard, Dirs, Server};
use commons_gateway::{CommonsBackend, OpenBackend};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Every file under `dir` with the SHA-256 of its bytes, by relative path.
fn hashes(dir: &Path) -> Result<BTreeMap<String, String>> {
    Ok(contents(dir)?.into_iter().map(|(name, bytes)| (name, hex::encode(Sha256::digest(bytes)))).collect())
}

/// Runs `verify` and `export` on the store of `dirs`; checks that neither
/// changed a file; returns their exit codes and output.
fn tools(dirs: &Dirs, state: &str) -> Result<[(i32, String); 2]> {
    let store = dirs.store_path();
    let before = hashes(&store)?;
    ensure!(!before.is_empty(), "{state}: the store has files");
    let verify = run(std::iter::once(OsString::from("verify")).chain(dirs.store_args()))?;
    ensure!(hashes(&store)? == before, "{state}: verify changed files of the store");
    let out = dirs.data.with_file_name(format!("export-{state}.jsonl"));
    let mut args = vec![OsString::from("export")];
    args.extend(dirs.store_args());
    args.extend([OsString::from("--out"), out.into_os_string()]);
    let export = run(args)?;
    ensure!(hashes(&store)? == before, "{state}: export changed files of the store");
    Ok([verify, export].map(|ran| (ran.code(), format!("{}{}", ran.stdout, ran.stderr))))
}

/// Bootstraps `n` anchors; returns their ids.
fn write_anchors(server: &Server, n: usize) -> Result<Vec<String>> {
    (0..n)
        .map(|_| {
            let body = json!({"did": Person::new().did.to_string()});
            server.expect(&Call::post("/v1/anchors").operator().json(&body), 201)?.field("anchor_id")
        })
        .collect()
}

/// The file damaged in the last state: the engine's journal with data.
fn journal(store: &Path) -> Result<std::path::PathBuf> {
    let names = hashes(store)?;
    let wanted = |name: &str| match <CommonsBackend as OpenBackend>::NAME {
        "fjall" => name.ends_with(".jnl"),
        _ => name == "db",
    };
    names
        .keys()
        .filter(|name| wanted(name))
        .map(|name| store.join(name))
        .find(|path| std::fs::read(path).is_ok_and(|bytes| bytes.iter().any(|b| *b != 0)))
        .ok_or_else(|| anyhow::anyhow!("no journal with data in {}", store.display()))
}

#[test]
fn verify_and_export_change_nothing_and_a_damaged_store_is_refused() -> Result<()> {
    if <CommonsBackend as OpenBackend>::NETWORKED {
        return Ok(());
    }
    let dirs = Dirs::new()?;

    // A clean shutdown.
    let mut server = Server::start(&dirs, "first")?;
    let mut ids = write_anchors(&server, 10)?;
    server.process.terminate()?;
    for (code, text) in tools(&dirs, "closed")? {
        assert_eq!(code, 0, "after a clean shutdown: {text}");
    }

    // A crash.
    let mut server = Server::start(&dirs, "second")?;
    ids.extend(write_anchors(&server, 10)?);
    server.process.kill()?;
    let [(code, text), (export_code, export_text)] = tools(&dirs, "crashed")?;
    assert_eq!((code, export_code), (0, 0), "after a crash:\n{text}\n{export_text}");
    assert!(text.contains("verify: clean"), "{text}");
    // Each bootstrap writes an anchor, a holder and their two DID index rows.
    assert!(export_text.contains(&format!("exported {} rows", 4 * ids.len() + 1)), "{export_text}");

    // Restarted after the crash: everything acknowledged is there; then a
    // crash again, and 64 random bytes in the middle of the journal's data.
    let mut server = Server::start(&dirs, "third")?;
    for id in &ids {
        server.expect(&Call::get(format!("/v1/anchors/{id}")), 200)?;
    }
    ids.extend(write_anchors(&server, 10)?);
    server.process.kill()?;
    let path = journal(&dirs.store_path())?;
    let mut bytes = std::fs::read(&path)?;
    let used = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    let noise: Vec<u8> = Sha256::digest(b"noise").iter().chain(Sha256::digest(b"more noise").iter()).copied().collect();
    for (i, b) in noise.iter().cycle().take(64).enumerate() {
        bytes[used / 2 + i] ^= b | 1;
    }
    std::fs::write(&path, &bytes)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();

    let [(code, text), (export_code, export_text)] = tools(&dirs, "damaged")?;
    assert_eq!((code, export_code), (1, 1), "a damaged store:\n{text}\n{export_text}");
    for text in [&text, &export_text] {
        assert!(text.contains(&name) && text.contains("no file was changed"), "{text}");
    }
    let before = hashes(&dirs.store_path())?;
    let mut refused = ChildGuard::spawn(dirs.serve_args(common::process::free_port()), &dirs.logs, "damaged")?;
    let status = refused.wait_exit(Duration::from_secs(60))?;
    assert_eq!(status.code(), Some(1), "serve on a damaged store: {}", refused.stderr());
    let said = refused.stderr();
    assert!(said.contains(&name), "{said}");
    assert_eq!(hashes(&dirs.store_path())?, before, "serve changed files of the damaged store");
    Ok(())
}
