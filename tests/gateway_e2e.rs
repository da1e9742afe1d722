#![cfg(feature = "gateway")]
//! End to end: the real `commons-gateway` binary, spawned as a process, over
//! real HTTP.
//!
//! Which cases run depends on the engine this build chose
//! ([`BACKEND_NAME`], `<CommonsBackend as OpenBackend>::PERSISTENT`); the
//! others return early, saying so on stderr:
//! - persistent builds (sled, fjall): state written through the API survives
//!   SIGKILL and SIGTERM; a second server on the same data directory is
//!   refused (the store is locked) while the first keeps serving; a data
//!   directory holding the other engine's store is refused;
//! - the in-memory build: `serve --data-dir` is refused with exit code 2.
//!
//! Servers are waited for by polling `/v1/health` (100 ms steps, at most
//! 30 s), never by fixed sleeps; every child process is killed when its guard
//! drops.

mod common;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use commons_gateway::{CommonsBackend, OpenBackend, BACKEND_NAME};
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};

use common::http::{self, Reply};
use common::{did_of, envelope, free_port, run_to_exit, ChildGuard};

const TOKEN: &str = "e2e-operator-token";
/// Longest wait for a server to answer `/v1/health` or for a process to exit.
const BOUND: Duration = Duration::from_secs(30);

fn persistent() -> bool {
    <CommonsBackend as OpenBackend>::PERSISTENT
}

fn skip(why: &str) -> Result<()> {
    eprintln!("skipped on the {BACKEND_NAME} build: {why}");
    Ok(())
}

/// A test's directories: the data dir, the token file, the process logs.
struct Dirs {
    _root: tempfile::TempDir,
    data: PathBuf,
    token_file: PathBuf,
    logs: PathBuf,
}

impl Dirs {
    fn new() -> Result<Self> {
        let root = tempfile::tempdir()?;
        let data = root.path().join("data");
        let token_file = root.path().join("admin-token");
        std::fs::write(&token_file, format!("{TOKEN}\n"))?;
        let logs = root.path().join("logs");
        std::fs::create_dir_all(&logs)?;
        Ok(Self { data, token_file, logs, _root: root })
    }

    /// `<data>/commons.<engine>`, where this build keeps its store.
    fn store_path(&self) -> PathBuf {
        self.data.join(<CommonsBackend as OpenBackend>::FOLDER)
    }

    fn serve_args(&self, port: u16) -> Vec<OsString> {
        vec![
            "serve".into(),
            "--data-dir".into(),
            self.data.clone().into(),
            "--bind".into(),
            format!("127.0.0.1:{port}").into(),
            "--admin-token-file".into(),
            self.token_file.clone().into(),
            "--workers".into(),
            "2".into(),
        ]
    }
}

/// A running gateway and its base URL.
struct Server {
    process: ChildGuard,
    base: String,
}

impl Server {
    /// Starts `serve` on `dirs` and waits until `/v1/health` answers 200.
    /// Retries on another port if the free port was taken meanwhile.
    fn start(dirs: &Dirs, name: &str) -> Result<Self> {
        let mut last = None;
        for attempt in 0..3 {
            let port = free_port();
            let mut process = ChildGuard::spawn(dirs.serve_args(port), &dirs.logs, &format!("{name}-{attempt}"))?;
            let base = format!("http://127.0.0.1:{port}");
            let health = format!("{base}/v1/health");
            match process.wait_until(BOUND, || http::get(&health).is_ok_and(|r| r.status == 200)) {
                Ok(()) => return Ok(Self { process, base }),
                Err(e) if process.stderr().contains("cannot serve on") => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("server did not start")))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn get(&self, path: &str) -> Result<Reply> {
        http::get(&self.url(path)).map_err(|e| anyhow::anyhow!("GET {path}: {e}"))
    }

    /// GET that must answer 200; returns the JSON.
    fn get_ok(&self, path: &str) -> Result<Value> {
        let r = self.get(path)?;
        ensure!(r.status == 200, "GET {path}: {} {}", r.status, r.text);
        Ok(r.json)
    }

    /// POST that must answer `status`; returns the JSON.
    fn post(&self, path: &str, token: Option<&str>, body: &Value, status: u16) -> Result<Value> {
        let r = http::send("POST", &self.url(path), token, body).map_err(|e| anyhow::anyhow!("POST {path}: {e}"))?;
        ensure!(r.status == status, "POST {path}: expected {status}, got {} {}", r.status, r.text);
        Ok(r.json)
    }

    /// Operator bootstrap of a genesis member; returns the anchor.
    fn bootstrap(&self, key: &SigningKey, name: &str) -> Result<Value> {
        self.post("/v1/anchors", Some(TOKEN), &json!({"did": did_of(key), "display_name": name}), 201)
    }

    /// Checks `/v1/health` reports this build's engine and `dirs.data`.
    fn check_health(&self, dirs: &Dirs) -> Result<()> {
        let h = self.get_ok("/v1/health")?;
        ensure!(h["status"] == "ok" && h["backend"] == BACKEND_NAME && h["persistent"] == true, "health: {h}");
        ensure!(h["data_dir"] == json!(dirs.data), "health data_dir {} is not {}", h["data_dir"], dirs.data.display());
        Ok(())
    }
}

fn field(v: &Value, name: &str) -> Result<String> {
    v[name].as_str().map(str::to_string).with_context(|| format!("no {name} in {v}"))
}

/// What a completed enrollment left behind, as the API shows it.
#[derive(Debug, PartialEq)]
struct Enrolled {
    anchor: Value,
    holder: Value,
    steward: Value,
}

impl Enrolled {
    fn read(server: &Server, person: &SigningKey, steward_id: &str) -> Result<Self> {
        let did = did_of(person);
        Ok(Self {
            anchor: server.get_ok(&format!("/v1/anchors/by-did/{did}"))?,
            holder: server.get_ok(&format!("/v1/holders/by-did/{did}"))?,
            steward: server.get_ok(&format!("/v1/stewards/{steward_id}"))?,
        })
    }
}

#[test]
fn completed_enrollment_survives_sigkill_and_restart() -> Result<()> {
    if !persistent() {
        return skip("no persistent engine");
    }
    let dirs = Dirs::new()?;
    let mut server = Server::start(&dirs, "first")?;
    server.check_health(&dirs)?;
    let (a, b, person) = (common::new_key(), common::new_key(), common::new_key());
    let anchor_a = server.bootstrap(&a, "Ada")?;
    let anchor_b = server.bootstrap(&b, "Bo")?;
    let steward = server.post("/v1/stewards", Some(TOKEN), &json!({"did": did_of(&a), "term_days": 365}), 201)?;
    let steward_id = field(&steward, "steward_id")?;

    let started = server.post("/v1/enrollments", None, &json!({"identity_name": "Pat"}), 201)?;
    let (id, code) = (field(&started, "enrollment_id")?, field(&started, "verification_code")?);
    let verify = envelope(&person, "enroll-verify", &id, &json!({"verification_code": code}).to_string());
    server.post(&format!("/v1/enrollments/{id}/verify"), None, &serde_json::to_value(&verify)?, 200)?;
    let vouch = envelope(&a, "enroll-vouch", &id, &json!({"person_did": did_of(&person)}).to_string());
    let vouched = server.post(&format!("/v1/enrollments/{id}/vouch"), None, &serde_json::to_value(&vouch)?, 200)?;
    ensure!(vouched["level"] == 2, "after vouch: {vouched}");
    let complete = envelope(&person, "enroll-complete", &id, "{}");
    let created =
        server.post(&format!("/v1/enrollments/{id}/complete"), None, &serde_json::to_value(&complete)?, 201)?;

    let before = Enrolled::read(&server, &person, &steward_id)?;
    ensure!(before.anchor == created, "GET differs from the creation answer:\n{}\n{created}", before.anchor);
    ensure!(
        before.anchor["pathway"] == json!({"kind": "StewardVouched", "steward_did": did_of(&a)}),
        "pathway: {}",
        before.anchor["pathway"]
    );
    ensure!(before.anchor["pop_level"] == "Strong", "pop_level: {}", before.anchor["pop_level"]);
    let attestations = before.anchor["attestations"].as_array().context("attestations")?;
    ensure!(
        attestations.len() == 1
            && attestations[0]["method"] == "StewardVouch"
            && attestations[0]["signature"] == vouch.signature.as_str(),
        "attestations: {attestations:?}"
    );
    ensure!(
        before.holder["holder_id"] == before.anchor["anchor_id"] && before.holder["status"]["kind"] == "Active",
        "holder: {}",
        before.holder
    );
    ensure!(
        before.holder["affiliations"] == json!([]),
        "an enrollment without a domain made affiliations: {}",
        before.holder["affiliations"]
    );
    ensure!(before.steward["attestations_issued"] == 1, "steward: {}", before.steward);

    let status = server.process.kill()?;
    ensure!(!status.success(), "SIGKILL ended the server with {status}");

    let restarted = Server::start(&dirs, "restarted")?;
    restarted.check_health(&dirs)?;
    let after = Enrolled::read(&restarted, &person, &steward_id)?;
    ensure!(after == before, "state changed across SIGKILL:\nbefore {before:?}\nafter  {after:?}");
    ensure!(
        restarted.get_ok(&format!("/v1/anchors/by-did/{}", did_of(&a)))? == anchor_a,
        "genesis anchor of a changed"
    );
    ensure!(
        restarted.get_ok(&format!("/v1/anchors/by-did/{}", did_of(&b)))? == anchor_b,
        "genesis anchor of b changed"
    );
    let session = restarted.get(&format!("/v1/enrollments/{id}"))?;
    ensure!(session.status == 404, "the completed session is back: {} {}", session.status, session.text);
    // The restored steward can still vouch: the counter goes on from 1.
    let again = restarted.post("/v1/enrollments", None, &json!({"identity_name": "Sam"}), 201)?;
    let id2 = field(&again, "enrollment_id")?;
    let verify2 = envelope(
        &b,
        "enroll-verify",
        &id2,
        &json!({"verification_code": field(&again, "verification_code")?}).to_string(),
    );
    let r = http::send(
        "POST",
        &restarted.url(&format!("/v1/enrollments/{id2}/verify")),
        None,
        &serde_json::to_value(&verify2)?,
    )
    .map_err(anyhow::Error::msg)?;
    ensure!(
        r.status == 409 && r.json["error"] == "already_enrolled",
        "a genesis member verified a new session after restart: {} {}",
        r.status,
        r.text
    );
    Ok(())
}

#[test]
fn second_server_on_the_same_data_dir_is_refused_and_the_first_keeps_serving() -> Result<()> {
    if !persistent() {
        return skip("no persistent engine");
    }
    let dirs = Dirs::new()?;
    let first = Server::start(&dirs, "first")?;
    let a = common::new_key();
    let anchor = first.bootstrap(&a, "Ada")?;

    let mut second = ChildGuard::spawn(dirs.serve_args(free_port()), &dirs.logs, "second")?;
    let status = second.wait_exit(BOUND)?;
    let stderr = second.stderr();
    ensure!(!status.success(), "second server on a locked store exited with {status}; stderr:\n{stderr}");
    let store = dirs.store_path().display().to_string();
    ensure!(stderr.contains(&store), "stderr does not name the store {store}:\n{stderr}");
    ensure!(!stderr.contains("panicked"), "second server panicked:\n{stderr}");

    first.check_health(&dirs)?;
    ensure!(first.get_ok(&format!("/v1/anchors/by-did/{}", did_of(&a)))? == anchor, "first server lost its data");
    // And it still writes.
    first.bootstrap(&common::new_key(), "Bo")?;
    Ok(())
}

#[test]
fn sigterm_exits_zero_and_a_restart_keeps_the_data() -> Result<()> {
    if !persistent() {
        return skip("no persistent engine");
    }
    let dirs = Dirs::new()?;
    let mut server = Server::start(&dirs, "first")?;
    let a = common::new_key();
    let anchor = server.bootstrap(&a, "Ada")?;
    let pid = i32::try_from(server.process.pid())?;
    // SAFETY: sending a signal to our own child process by its id.
    let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
    ensure!(rc == 0, "kill(SIGTERM) failed: {}", std::io::Error::last_os_error());
    let status = server.process.wait_exit(BOUND)?;
    ensure!(status.code() == Some(0), "SIGTERM ended the server with {status}; stderr:\n{}", server.process.stderr());

    let restarted = Server::start(&dirs, "restarted")?;
    ensure!(
        restarted.get_ok(&format!("/v1/anchors/by-did/{}", did_of(&a)))? == anchor,
        "anchor changed across SIGTERM"
    );
    ensure!(
        restarted.get_ok(&format!("/v1/holders/by-did/{}", did_of(&a)))?["display_name"] == "Ada",
        "holder lost across SIGTERM"
    );
    Ok(())
}

/// Store files may grow to this many KiB in the full-disk test.
const FULL_DISK_KIB: u64 = 2048;

/// A store that runs out of space (here: a file-size limit, which fails
/// writes with `EFBIG` as a full disk fails them with `ENOSPC`) stops: the
/// write that met the limit and every later request answer 503
/// `unavailable`, reads included (sled would otherwise show the failed write
/// until a restart), and `/v1/health` says so. A restart with room keeps
/// every acknowledged write, and `verify` finds the store clean.
///
/// Runs on sled. fjall preallocates its journal (64 MiB, sparse) when it
/// opens, so a file-size limit stops it at open rather than mid-write, and
/// only a really full file system (a small tmpfs, which needs privileges
/// tests do not assume) exercises it; it shares the same `FailStop`.
#[test]
fn a_full_disk_stops_the_store_and_a_restart_keeps_every_acknowledged_write() -> Result<()> {
    if BACKEND_NAME != "sled" {
        return skip("the file-size limit stands in for a full disk only on sled (see the doc comment)");
    }
    let dirs = Dirs::new()?;
    let port = free_port();
    let mut limited =
        ChildGuard::spawn_with_file_size_limit(dirs.serve_args(port), &dirs.logs, "limited", FULL_DISK_KIB)?;
    let base = format!("http://127.0.0.1:{port}");
    limited.wait_until(BOUND, || http::get(&format!("{base}/v1/health")).is_ok_and(|r| r.status == 200))?;

    let name = "n".repeat(100);
    let mut acknowledged = Vec::new();
    let failed = loop {
        ensure!(acknowledged.len() < 50_000, "{} writes fit under {FULL_DISK_KIB} KiB", acknowledged.len());
        let did = did_of(&common::new_key());
        let body = json!({"did": did, "display_name": name});
        let r = http::send("POST", &format!("{base}/v1/anchors"), Some(TOKEN), &body)
            .map_err(|e| anyhow::anyhow!("POST /v1/anchors: {e}"))?;
        match r.status {
            201 => acknowledged.push(did),
            503 => {
                ensure!(r.json["error"] == "unavailable", "503 body: {}", r.text);
                break did;
            }
            other => anyhow::bail!("POST /v1/anchors answered {other} {}", r.text),
        }
    };
    ensure!(acknowledged.len() > 10, "only {} writes before the limit", acknowledged.len());

    // Stopped: writes, reads (also of acknowledged records) and health.
    let again =
        http::send("POST", &format!("{base}/v1/anchors"), Some(TOKEN), &json!({"did": did_of(&common::new_key())}))
            .map_err(|e| anyhow::anyhow!("POST: {e}"))?;
    ensure!(again.status == 503 && again.json["error"] == "unavailable", "write after the failure: {}", again.text);
    ensure!(again.text.contains("restart"), "the 503 does not say to restart: {}", again.text);
    for path in [format!("/v1/anchors/by-did/{}", acknowledged[0]), format!("/v1/anchors/by-did/{failed}")] {
        let r = http::get(&format!("{base}{path}")).map_err(|e| anyhow::anyhow!("GET {path}: {e}"))?;
        ensure!(r.status == 503, "GET {path} on a stopped store: {} {}", r.status, r.text);
    }
    let health = http::get(&format!("{base}/v1/health")).map_err(|e| anyhow::anyhow!("health: {e}"))?;
    ensure!(health.status == 503 && health.json["error"] == "unavailable", "health: {}", health.text);
    ensure!(!limited.stderr().contains("panicked"), "server panicked:\n{}", limited.stderr());
    limited.kill()?;

    let server = Server::start(&dirs, "restarted")?;
    for did in &acknowledged {
        let anchor = server.get_ok(&format!("/v1/anchors/by-did/{did}"))?;
        ensure!(anchor["did"] == did.as_str(), "acknowledged anchor {did} read back as {anchor}");
    }
    let failed_now = server.get(&format!("/v1/anchors/by-did/{failed}"))?;
    ensure!(
        matches!(failed_now.status, 200 | 404),
        "the failed write reads as {} {}",
        failed_now.status,
        failed_now.text
    );
    let holder = server.get(&format!("/v1/holders/by-did/{failed}"))?.status;
    ensure!(
        holder == failed_now.status,
        "the failed batch is half there: anchor {}, holder {holder}",
        failed_now.status
    );
    drop(server);

    let (status, stdout, stderr) = run_to_exit(
        [OsString::from("verify"), "--data-dir".into(), dirs.data.clone().into()],
        &dirs.logs,
        "verify",
        BOUND,
    )?;
    ensure!(status.success(), "verify after the restart: {status}\n{stdout}\n{stderr}");
    ensure!(stdout.contains("clean"), "verify output: {stdout}");
    Ok(())
}

#[test]
fn data_dir_holding_the_other_engines_store_is_refused() -> Result<()> {
    let other = match BACKEND_NAME {
        "sled" => "fjall",
        "fjall" => "sled",
        _ => return skip("no persistent engine"),
    };
    let dirs = Dirs::new()?;
    let foreign = dirs.data.join(format!("commons.{other}"));
    std::fs::create_dir_all(&foreign)?;
    std::fs::write(foreign.join("keep-me"), b"not ours")?;
    let (status, _, stderr) = run_to_exit(dirs.serve_args(free_port()), &dirs.logs, "foreign", BOUND)?;
    ensure!(!status.success(), "serve on a {other} store exited with {status}; stderr:\n{stderr}");
    ensure!(stderr.contains(BACKEND_NAME) && stderr.contains(other), "stderr does not name both engines:\n{stderr}");
    let path = foreign.display().to_string();
    ensure!(stderr.contains(&path), "stderr does not name {path}:\n{stderr}");
    ensure!(!stderr.contains("panicked"), "serve panicked:\n{stderr}");
    // Nothing was touched, and no store of ours was created beside it.
    ensure!(std::fs::read(foreign.join("keep-me"))? == b"not ours", "the foreign store was modified");
    ensure!(!dirs.store_path().exists(), "{} was created", dirs.store_path().display());
    Ok(())
}

#[test]
fn in_memory_build_refuses_a_data_dir_with_exit_code_2() -> Result<()> {
    if BACKEND_NAME != "memory" {
        return skip("this build has a persistent engine");
    }
    let dirs = Dirs::new()?;
    let (status, _, stderr) = run_to_exit(dirs.serve_args(free_port()), &dirs.logs, "memory", BOUND)?;
    ensure!(
        status.code() == Some(2),
        "serve --data-dir on the in-memory build exited with {status}; stderr:\n{stderr}"
    );
    ensure!(stderr.contains("no persistent engine"), "stderr does not say there is no persistent engine:\n{stderr}");
    ensure!(stderr.contains(&dirs.data.display().to_string()), "stderr does not name the data dir:\n{stderr}");
    ensure!(!dirs.data.exists(), "the refused data dir was created");
    Ok(())
}
