#![cfg(feature = "gateway")]
//! End to end: the real `commons-gateway` binary, spawned as a process, over
//! real HTTP, on this build's store location ([`Dirs::store_args`]).
//!
//! Which cases run depends on the engine this build chose
//! ([`BACKEND_NAME`], `<CommonsBackend as OpenBackend>::PERSISTENT` and
//! `NETWORKED`); the others return early, saying so on stderr:
//! - persistent builds (sled, fjall, postgres): state written through the
//!   API survives SIGKILL and SIGTERM;
//! - the folder engines (sled, fjall): a second server on the same data
//!   directory is refused (the store is locked) while the first keeps
//!   serving; a data directory holding the other engine's store is refused;
//! - sled: a full disk stops the store, and a restart keeps every
//!   acknowledged write;
//! - postgres: a second gateway on the same database serves beside the
//!   first, each reading what the other wrote; any `--data-dir` (also one
//!   holding a folder engine's store), or no database URL, is refused with
//!   exit code 2, saying to pass `--database-url`; a file-size limit on the
//!   gateway's process does not touch the store; `/v1/health` names the
//!   database without its password;
//! - the in-memory build: `serve --data-dir` is refused with exit code 2.
//!
//! Servers are waited for by polling `/v1/health` (100 ms steps, at most
//! 30 s), never by fixed sleeps; every child process is killed when its guard
//! drops.

mod common;

use std::ffi::OsString;

use anyhow::{ensure, Context, Result};
use common::http::Call;
use common::keys::Person;
use common::process::{free_port, networked, run, ChildGuard, Dirs, Server, BOUND, TEST_PASSWORD};
use commons_gateway::{CommonsBackend, OpenBackend, BACKEND_NAME};
use serde_json::{json, Value};

fn persistent() -> bool {
    <CommonsBackend as OpenBackend>::PERSISTENT
}

fn skip(why: &str) -> Result<()> {
    eprintln!("skipped on the {BACKEND_NAME} build: {why}");
    Ok(())
}

/// GET that must answer 200; returns the JSON.
fn get_ok(server: &Server, path: &str) -> Result<Value> {
    Ok(server.expect(&Call::get(path), 200)?.json)
}

/// Operator bootstrap of a genesis member; returns the anchor.
fn bootstrap(server: &Server, who: &Person, name: &str) -> Result<Value> {
    let body = json!({"did": who.did, "display_name": name});
    Ok(server.expect(&Call::post("/v1/anchors").operator().json(&body), 201)?.json)
}

/// Checks `/v1/health` reports this build's engine and its store: the data
/// dir `dirs.data`, or for a postgres build the database without its
/// password (and no data dir).
fn check_health(server: &Server, dirs: &Dirs) -> Result<()> {
    let h = get_ok(server, "/v1/health")?;
    ensure!(h["status"] == "ok" && h["backend"] == BACKEND_NAME && h["persistent"] == true, "health: {h}");
    if networked() {
        let shown = <commons_gateway::CommonsBackend as commons_gateway::OpenBackend>::describe_url(dirs.url())?;
        ensure!(h["database"] == shown.as_str(), "health database {} is not {shown}", h["database"]);
        ensure!(!h.to_string().contains(TEST_PASSWORD), "health shows the database password: {h}");
        ensure!(h["data_dir"].is_null(), "a postgres build reports a data dir: {h}");
    } else {
        ensure!(h["data_dir"] == json!(dirs.data), "health data_dir {} is not {}", h["data_dir"], dirs.data.display());
    }
    Ok(())
}

/// What a completed enrollment left behind, as the API shows it.
#[derive(Debug, PartialEq)]
struct Enrolled {
    anchor: Value,
    holder: Value,
    steward: Value,
}

impl Enrolled {
    fn read(server: &Server, person: &Person, steward_id: &str) -> Result<Self> {
        let did = &person.did;
        Ok(Self {
            anchor: get_ok(server, &format!("/v1/anchors/by-did/{did}"))?,
            holder: get_ok(server, &format!("/v1/holders/by-did/{did}"))?,
            steward: get_ok(server, &format!("/v1/stewards/{steward_id}"))?,
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
    check_health(&server, &dirs)?;
    let (a, b, person) = (Person::new(), Person::new(), Person::new());
    let anchor_a = bootstrap(&server, &a, "Ada")?;
    let anchor_b = bootstrap(&server, &b, "Bo")?;
    let register = Call::post("/v1/stewards").operator().json(&json!({"did": a.did, "term_days": 365}));
    let steward_id = server.expect(&register, 201)?.field("steward_id")?;

    let start = Call::post("/v1/enrollments").json(&json!({"identity_name": "Pat"}));
    let started = server.expect(&start, 201)?;
    let (id, code) = (started.field("enrollment_id")?, started.field("verification_code")?);
    let step = |verb: &str| Call::post(format!("/v1/enrollments/{id}/{verb}"));
    server.expect(&step("verify").signed(&person, "enroll-verify", &id, json!({"verification_code": code})), 200)?;
    let vouch = a.envelope("enroll-vouch", &id, json!({"person_did": person.did}));
    let vouched = server.expect(&step("vouch").envelope(&vouch), 200)?.json;
    ensure!(vouched["level"] == 2, "after vouch: {vouched}");
    let created = server.expect(&step("complete").signed(&person, "enroll-complete", &id, "{}"), 201)?.json;

    let before = Enrolled::read(&server, &person, &steward_id)?;
    ensure!(before.anchor == created, "GET differs from the creation answer:\n{}\n{created}", before.anchor);
    ensure!(
        before.anchor["pathway"] == json!({"kind": "StewardVouched", "steward_did": a.did}),
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
    check_health(&restarted, &dirs)?;
    let after = Enrolled::read(&restarted, &person, &steward_id)?;
    ensure!(after == before, "state changed across SIGKILL:\nbefore {before:?}\nafter  {after:?}");
    ensure!(get_ok(&restarted, &format!("/v1/anchors/by-did/{}", a.did))? == anchor_a, "genesis anchor of a changed");
    ensure!(get_ok(&restarted, &format!("/v1/anchors/by-did/{}", b.did))? == anchor_b, "genesis anchor of b changed");
    let session = restarted.send(&Call::get(format!("/v1/enrollments/{id}")))?;
    ensure!(session.status == 404, "the completed session is back: {} {}", session.status, session.text);
    // The restored steward can still vouch: the counter goes on from 1.
    let again = restarted.expect(&Call::post("/v1/enrollments").json(&json!({"identity_name": "Sam"})), 201)?;
    let id2 = again.field("enrollment_id")?;
    let verify2 = Call::post(format!("/v1/enrollments/{id2}/verify")).signed(
        &b,
        "enroll-verify",
        &id2,
        json!({"verification_code": again.field("verification_code")?}),
    );
    let r = restarted.send(&verify2)?;
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
    if networked() {
        return skip("no data dir to lock: gateways share the database (see the next test)");
    }
    let dirs = Dirs::new()?;
    let first = Server::start(&dirs, "first")?;
    let a = Person::new();
    let anchor = bootstrap(&first, &a, "Ada")?;

    let mut second = ChildGuard::spawn(dirs.serve_args(free_port()), &dirs.logs, "second")?;
    let status = second.wait_exit(BOUND)?;
    let stderr = second.stderr();
    ensure!(!status.success(), "second server on a locked store exited with {status}; stderr:\n{stderr}");
    let store = dirs.store_path().display().to_string();
    ensure!(stderr.contains(&store), "stderr does not name the store {store}:\n{stderr}");
    ensure!(!stderr.contains("panicked"), "second server panicked:\n{stderr}");

    check_health(&first, &dirs)?;
    ensure!(get_ok(&first, &format!("/v1/anchors/by-did/{}", a.did))? == anchor, "first server lost its data");
    // And it still writes.
    bootstrap(&first, &Person::new(), "Bo")?;
    Ok(())
}

/// On PostgreSQL a second gateway on the same store is not refused: it
/// serves beside the first, and each reads at once what the other wrote.
#[test]
fn second_gateway_on_the_same_database_serves_beside_the_first() -> Result<()> {
    if !networked() {
        return skip("the store lives in a folder, which one server holds (see the previous test)");
    }
    let dirs = Dirs::new()?;
    let first = Server::start(&dirs, "first")?;
    let a = Person::new();
    let anchor_a = bootstrap(&first, &a, "Ada")?;

    let second = Server::start(&dirs, "second")?;
    check_health(&second, &dirs)?;
    ensure!(get_ok(&second, &format!("/v1/anchors/by-did/{}", a.did))? == anchor_a, "second reads another anchor");
    let b = Person::new();
    let anchor_b = bootstrap(&second, &b, "Bo")?;
    ensure!(get_ok(&first, &format!("/v1/anchors/by-did/{}", b.did))? == anchor_b, "first reads another anchor");
    // One store: the principal the first bootstrapped is taken on the second.
    let again = Call::post("/v1/anchors").operator().json(&json!({"did": a.did}));
    let r = second.send(&again)?;
    ensure!(r.status == 409 && r.json["error"] == "already_exists", "second bootstrapped a again: {}", r.text);
    check_health(&first, &dirs)?;
    for (name, server) in [("first", &first), ("second", &second)] {
        let stderr = server.process.stderr();
        ensure!(!stderr.contains("panicked") && !stderr.contains(TEST_PASSWORD), "{name} server's stderr:\n{stderr}");
    }
    Ok(())
}

#[test]
fn sigterm_exits_zero_and_a_restart_keeps_the_data() -> Result<()> {
    if !persistent() {
        return skip("no persistent engine");
    }
    let dirs = Dirs::new()?;
    let mut server = Server::start(&dirs, "first")?;
    let a = Person::new();
    let anchor = bootstrap(&server, &a, "Ada")?;
    server.process.terminate()?;

    let restarted = Server::start(&dirs, "restarted")?;
    ensure!(get_ok(&restarted, &format!("/v1/anchors/by-did/{}", a.did))? == anchor, "anchor changed across SIGTERM");
    ensure!(
        get_ok(&restarted, &format!("/v1/holders/by-did/{}", a.did))?["display_name"] == "Ada",
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
/// tests do not assume) exercises it; it shares the same `FailStop`. A
/// postgres build keeps no store in its files (see
/// `a_gateways_file_size_limit_does_not_stop_a_database_store`).
#[test]
fn a_full_disk_stops_the_store_and_a_restart_keeps_every_acknowledged_write() -> Result<()> {
    if BACKEND_NAME != "sled" {
        return skip("the file-size limit stands in for a full disk only on sled (see the doc comment)");
    }
    let dirs = Dirs::new()?;
    let mut limited = Server::start_with_file_size_limit(&dirs, "limited", FULL_DISK_KIB)?;

    let name = "n".repeat(100);
    let bootstrap = |did: &str| Call::post("/v1/anchors").operator().json(&json!({"did": did, "display_name": name}));
    let mut acknowledged = Vec::new();
    let failed = loop {
        ensure!(acknowledged.len() < 50_000, "{} writes fit under {FULL_DISK_KIB} KiB", acknowledged.len());
        let did = Person::new().did.to_string();
        let r = limited.send(&bootstrap(&did))?;
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
    let again = limited.send(&Call::post("/v1/anchors").operator().json(&json!({"did": Person::new().did})))?;
    ensure!(again.status == 503 && again.json["error"] == "unavailable", "write after the failure: {}", again.text);
    ensure!(again.text.contains("restart"), "the 503 does not say to restart: {}", again.text);
    for path in [format!("/v1/anchors/by-did/{}", acknowledged[0]), format!("/v1/anchors/by-did/{failed}")] {
        let r = limited.send(&Call::get(&path))?;
        ensure!(r.status == 503, "GET {path} on a stopped store: {} {}", r.status, r.text);
    }
    let health = limited.send(&Call::get("/v1/health"))?;
    ensure!(health.status == 503 && health.json["error"] == "unavailable", "health: {}", health.text);
    ensure!(!limited.process.stderr().contains("panicked"), "server panicked:\n{}", limited.process.stderr());
    limited.process.kill()?;

    let server = Server::start(&dirs, "restarted")?;
    for did in &acknowledged {
        let anchor = get_ok(&server, &format!("/v1/anchors/by-did/{did}"))?;
        ensure!(anchor["did"] == did.as_str(), "acknowledged anchor {did} read back as {anchor}");
    }
    let failed_now = server.send(&Call::get(format!("/v1/anchors/by-did/{failed}")))?;
    ensure!(
        matches!(failed_now.status, 200 | 404),
        "the failed write reads as {} {}",
        failed_now.status,
        failed_now.text
    );
    let holder = server.send(&Call::get(format!("/v1/holders/by-did/{failed}")))?.status;
    ensure!(
        holder == failed_now.status,
        "the failed batch is half there: anchor {}, holder {holder}",
        failed_now.status
    );
    drop(server);

    let verify = run([OsString::from("verify"), "--data-dir".into(), dirs.data.clone().into()])?;
    ensure!(
        verify.status.success(),
        "verify after the restart: {}\n{}\n{}",
        verify.status,
        verify.stdout,
        verify.stderr
    );
    ensure!(verify.stdout.contains("clean"), "verify output: {}", verify.stdout);
    Ok(())
}

/// A folder engine refuses a data dir holding the other folder engine's
/// store, naming both engines and the path; a postgres build refuses it as
/// it refuses any data dir (exit 2, pass `--database-url`). Nothing is
/// touched either way.
#[test]
fn data_dir_holding_the_other_engines_store_is_refused() -> Result<()> {
    let other = match BACKEND_NAME {
        "sled" => "fjall",
        "fjall" | "postgres" => "sled",
        _ => return skip("no persistent engine"),
    };
    let dirs = Dirs::new()?;
    let foreign = dirs.data.join(format!("commons.{other}"));
    std::fs::create_dir_all(&foreign)?;
    std::fs::write(foreign.join("keep-me"), b"not ours")?;
    let mut args = dirs.serve_args(free_port());
    if networked() {
        // The store location of a postgres build is its URL: serve on the data dir instead.
        args.splice(1..3, [OsString::from("--data-dir"), dirs.data.clone().into()]);
    }
    let serve = run(args)?;
    let (status, stderr) = (serve.status, serve.stderr);
    ensure!(!status.success(), "serve on a {other} store exited with {status}; stderr:\n{stderr}");
    if networked() {
        ensure!(status.code() == Some(2), "serve --data-dir on a postgres build exited with {status}:\n{stderr}");
        ensure!(stderr.contains("--database-url"), "stderr does not say to pass --database-url:\n{stderr}");
        let data = dirs.data.display().to_string();
        ensure!(stderr.contains(&data), "stderr does not name {data}:\n{stderr}");
    } else {
        ensure!(
            stderr.contains(BACKEND_NAME) && stderr.contains(other),
            "stderr does not name both engines:\n{stderr}"
        );
        let path = foreign.display().to_string();
        ensure!(stderr.contains(&path), "stderr does not name {path}:\n{stderr}");
    }
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
    let serve = run(dirs.serve_args(free_port()))?;
    let (status, stderr) = (serve.status, serve.stderr);
    ensure!(
        status.code() == Some(2),
        "serve --data-dir on the in-memory build exited with {status}; stderr:\n{stderr}"
    );
    ensure!(stderr.contains("no persistent engine"), "stderr does not say there is no persistent engine:\n{stderr}");
    ensure!(stderr.contains(&dirs.data.display().to_string()), "stderr does not name the data dir:\n{stderr}");
    ensure!(!dirs.data.exists(), "the refused data dir was created");
    Ok(())
}

/// A postgres build keeps the commons in a database: `serve --data-dir`
/// (with or without a database URL) and `serve` with no database URL are
/// refused with exit code 2, saying to pass `--database-url`; the data dir
/// is not created and nothing starts listening.
#[test]
fn postgres_build_refuses_a_data_dir_or_no_database_url_with_exit_code_2() -> Result<()> {
    if !networked() {
        return skip("the store lives in a folder");
    }
    let dirs = Dirs::new()?;
    let bind = |port: u16| vec![OsString::from("--bind"), format!("127.0.0.1:{port}").into()];
    let data_dir = vec![OsString::from("--data-dir"), dirs.data.clone().into()];
    let cases: Vec<(&str, Vec<OsString>)> = vec![
        ("--data-dir", data_dir.clone()),
        ("--data-dir and --database-url", [data_dir.clone(), dirs.store_args()].concat()),
        ("no store location", Vec::new()),
    ];
    for (name, location) in cases {
        let args = [vec![OsString::from("serve")], location, bind(free_port())].concat();
        let serve = run(&args)?;
        let (status, stderr) = (serve.status, serve.stderr);
        ensure!(status.code() == Some(2), "{name}: serve exited with {status}; stderr:\n{stderr}");
        ensure!(stderr.contains("--database-url"), "{name}: stderr does not say to pass --database-url:\n{stderr}");
        ensure!(!stderr.contains(TEST_PASSWORD) && !stderr.contains("panicked"), "{name}: stderr:\n{stderr}");
        if name.starts_with("--data-dir") {
            let data = dirs.data.display().to_string();
            ensure!(stderr.contains(&data), "{name}: stderr does not name the data dir {data}:\n{stderr}");
        }
        ensure!(!dirs.data.exists(), "{name}: the refused data dir was created");
    }
    Ok(())
}

/// Store files may grow to this many KiB in the postgres build's variant of
/// the full-disk test: well under what its writes put in the database.
const GATEWAY_FILES_KIB: u64 = 64;

/// The postgres build's store is on the database server, not in the
/// gateway's files: a gateway whose every file is limited to
/// [`GATEWAY_FILES_KIB`] KiB (what stops a sled store, see above) acknowledges
/// writes well past that many bytes of records, each reads back from
/// another gateway, no local store appears, and `verify` finds the database
/// clean. (A full disk on the database server is the server's to report:
/// the gateways answer 503 while it cannot commit, as during a restart,
/// which `gateway_multi_postgres` tests.)
#[test]
fn a_gateways_file_size_limit_does_not_stop_a_database_store() -> Result<()> {
    if !networked() {
        return skip("the store lives in the gateway's own files (see the full-disk test)");
    }
    let dirs = Dirs::new()?;
    let limited = Server::start_with_file_size_limit(&dirs, "limited", GATEWAY_FILES_KIB)?;
    let name = "n".repeat(100);
    let mut written = Vec::new();
    let mut bytes = 0;
    while bytes <= 2 * GATEWAY_FILES_KIB * 1024 {
        ensure!(written.len() < 1_000, "{} writes made only {bytes} bytes of answers", written.len());
        let did = Person::new().did.to_string();
        let call = Call::post("/v1/anchors").operator().json(&json!({"did": did, "display_name": name}));
        let anchor = limited.expect(&call, 201)?;
        // The anchor and its holder are both stored: count the anchor twice.
        bytes += 2 * anchor.text.len() as u64;
        written.push((did, anchor.json));
    }
    ensure!(!dirs.data.exists(), "a postgres gateway made a local data dir");
    let other = Server::start(&dirs, "unlimited")?;
    for (did, anchor) in &written {
        ensure!(get_ok(&other, &format!("/v1/anchors/by-did/{did}"))? == *anchor, "anchor {did} reads back otherwise");
    }
    let stderr = limited.process.stderr();
    ensure!(!stderr.contains("panicked") && !stderr.contains("ERROR"), "limited gateway's stderr:\n{stderr}");
    drop((limited, other));
    let verify = run([vec![OsString::from("verify")], dirs.store_args()].concat())?;
    ensure!(verify.status.success() && verify.stdout.contains("clean"), "verify: {}\n{}", verify.stdout, verify.stderr);
    eprintln!(
        "{} writes, {bytes} bytes of answers, through a gateway limited to {GATEWAY_FILES_KIB} KiB files",
        written.len()
    );
    Ok(())
}
