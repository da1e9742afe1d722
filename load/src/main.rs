//! `commons-load`: drives a release `commons-gateway` binary over HTTP with
//! N concurrent clients and reports what its users would meet, with the
//! floors and a peer measured in the same run.
//!
//! Usage: see [`args::USAGE`]; normally through `cargo xtask load`, which
//! builds the server with the engine's feature and this tool, and for
//! PostgreSQL starts a throwaway database.
//!
//! A run:
//!
//! 1. starts the server (`serve --durability D`, an operator token, a fresh
//!    data directory under the system's temporary directory, or the given
//!    database) and runs, for each client count, each scenario of
//!    [`scenarios`] for `--seconds`: `health`, `anchors-D`, `enrollment`,
//!    `read-id-hit`, `read-did`, `read-id-miss`, `members-page`, `votes`
//!    (setting up what they need between them: the commons founded, the
//!    miss set topped up to `--miss-set` anchors, `--voters` Members, one
//!    amendment open for voting per client count);
//! 2. stops it (SIGTERM), starts a second server with the other durability
//!    on a fresh store and runs `anchors-<other>` (so the run has both
//!    `anchors-sync` and `anchors-buffered`);
//! 3. runs the floors ([`floors`]): the fsync loop and the SQLite peer, with
//!    each client count as the thread count;
//! 4. prints the scenario and floor tables (throughput, p50/p99/p99.9 in
//!    µs, operations, errors by status) and the ratio table
//!    ([`report::Report::ratios`]), and writes them as JSON with `--json`.
//!
//! With `--scale` it measures the scale points instead ([`scale`]).
//!
//! Exit codes: 0 when the run finished without a failed request; 1 when it
//! could not run (the server did not start, a setup step was refused; the
//! message names it and the server log's tail is printed) or when requests
//! failed (after the tables, which show them); 2 for bad arguments.

#![deny(clippy::unwrap_used, clippy::expect_used)]

mod args;
#[path = "../../examples/shared/client.rs"]
mod client;
mod drive;
mod floors;
#[path = "../../examples/shared/founding.rs"]
mod founding;
mod http;
mod members;
mod report;
mod scale;
mod scenarios;
#[path = "../../examples/shared/server.rs"]
mod server;
mod stats;

use std::fs;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Context, Result};
use serde_json::Value;

use args::Options;
use report::Report;
use scenarios::{Target, HOT_SET};
use server::{print_log_tail, Server, Stage, StoreAt, LOG};
use stats::{grouped, Outcome};

/// How long a whole run may take before no request is started any more.
const RUN_DEADLINE: Duration = Duration::from_secs(24 * 3600);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match args::parse(&args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("commons-load: error: {message}\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let outcome = if options.scale { scale::run(&options).map(|()| 0) } else { run(&options) };
    match outcome {
        Ok(0) => ExitCode::SUCCESS,
        Ok(failed) => {
            eprintln!(
                "commons-load: {} requests failed (see the errors column and the first answers above)",
                grouped(failed)
            );
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("commons-load: error: {error:#}");
            ExitCode::from(1)
        }
    }
}

/// Where a server of the run keeps the commons: `dir/data`, or the database.
fn store_at(options: &Options, dir: &Path) -> StoreAt {
    match &options.database_url {
        Some(url) => StoreAt::Database(url.clone()),
        None => StoreAt::DataDir(dir.join("data")),
    }
}

/// A stage for a server of the run in `dir` (created), with `durability`.
fn stage<'a>(options: &'a Options, dir: &Path, durability: &str) -> Result<Stage<'a>> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let deadline = Instant::now() + RUN_DEADLINE;
    Ok(Stage::prepare(&options.binary, options.engine, store_at(options, dir), dir, deadline, "load")?
        .with_serve_args(&["--durability", durability]))
}

/// Runs the scenarios and floors, prints the tables, writes the JSON.
/// Returns the number of failed requests.
fn run(options: &Options) -> Result<u64> {
    let root = tempfile::Builder::new().prefix("commons-load-").tempdir().context("a temporary directory")?;
    let duration = Duration::from_secs(options.seconds);
    let mut report = Report {
        engine: options.engine.to_string(),
        durability: options.durability.to_string(),
        seconds: options.seconds,
        clients: options.clients.clone(),
        scenarios: Vec::new(),
        floors: Vec::new(),
        member_bytes: members::bytes_of(&members::member_rows(&members::fresh().1, 1_700_000_000)?),
    };
    let main_dir = root.path().join("main");
    let main = stage(options, &main_dir, options.durability)?;
    with_log(&main_dir, || {
        let server = main.start()?;
        main_scenarios(options, &main, &server, duration, &mut report)?;
        stop(server)
    })?;
    let other = if options.durability == "sync" { "buffered" } else { "sync" };
    let second_dir = root.path().join("second");
    let second = stage(options, &second_dir, other)?;
    with_log(&second_dir, || {
        let server = second.start()?;
        let target = Target { base: server.base(), token: second.token() };
        for &clients in &options.clients {
            let (outcome, _) =
                scenarios::anchors(&format!("anchors-{other}"), target, clients, duration, None, &AtomicU64::new(0))?;
            record(&mut report.scenarios, outcome);
        }
        stop(server)
    })?;
    for &clients in &options.clients {
        record(&mut report.floors, floors::fsync(root.path(), clients, duration, report.member_bytes)?);
    }
    let peer = floors::Peer::create(root.path())?;
    for &clients in &options.clients {
        record(&mut report.floors, peer.run(clients, duration)?);
    }
    print!("{}", report.text());
    if let Some(path) = &options.json {
        write_json(path, &report.to_json())?;
        println!("\n[load] results written to {}", path.display());
    }
    Ok(report.error_count())
}

/// Runs `work`; when it fails, prints the tail of the server log in `dir`.
fn with_log(dir: &Path, work: impl FnOnce() -> Result<()>) -> Result<()> {
    let result = work();
    if result.is_err() {
        print_log_tail(&dir.join(LOG), "load");
    }
    result
}

/// SIGTERM, which must end the server with exit 0.
fn stop(server: Server) -> Result<()> {
    let status = server.terminate()?;
    ensure!(status.success(), "the server exited with {status} after SIGTERM");
    Ok(())
}

/// Prints an outcome's line and keeps it.
fn record(outcomes: &mut Vec<Outcome>, outcome: Outcome) {
    println!(
        "[load] {} {} clients: {} ops/s, p50 {} us, p99 {} us, {} ops, errors {}",
        outcome.name,
        outcome.clients,
        grouped(outcome.throughput().round() as u64),
        grouped(outcome.percentile(0.5)),
        grouped(outcome.percentile(0.99)),
        grouped(outcome.ops),
        stats::errors_text(&outcome.errors)
    );
    outcomes.push(outcome);
}

/// The scenarios on the main server, in order.
fn main_scenarios(
    options: &Options,
    stage: &Stage<'_>,
    server: &Server,
    duration: Duration,
    report: &mut Report,
) -> Result<()> {
    let target = Target { base: server.base(), token: stage.token() };
    let counts = &options.clients;
    let outcomes = &mut report.scenarios;
    for &clients in counts {
        record(outcomes, scenarios::health(target, clients, duration)?);
    }
    let client = stage.client(&[server]);
    let commons = scenarios::found(&client)?;
    let mut keys = Vec::new();
    for &clients in counts {
        let name = format!("anchors-{}", options.durability);
        let (outcome, created) = scenarios::anchors(&name, target, clients, duration, None, &AtomicU64::new(0))?;
        keys.extend(created);
        record(outcomes, outcome);
    }
    for &clients in counts {
        record(outcomes, scenarios::enrollment(target, &commons, clients, duration)?);
    }
    if keys.len() < options.miss_set {
        let missing = options.miss_set - keys.len();
        println!("[load] loading {} more anchors for the cache-miss reads", grouped(missing as u64));
        let (_, created) = scenarios::load_members("miss set", target, missing, 16)?;
        keys.extend(created);
    }
    let hot_ids: Vec<String> = keys.iter().take(HOT_SET).map(members::anchor_id).collect();
    let hot_dids: Vec<String> =
        keys.iter().take(HOT_SET).map(|k| members::did_of(k).map(|d| d.to_string())).collect::<Result<_>>()?;
    ensure!(!hot_ids.is_empty(), "no anchor was created, so there is nothing to read");
    warm(target, &hot_ids, &hot_dids)?;
    let pick = |list: &[String], prefix: &str| {
        let (list, prefix) = (list.to_vec(), prefix.to_string());
        move |rng: &mut rand::rngs::StdRng| {
            use rand::Rng as _;
            format!("{prefix}{}", list[rng.gen_range(0..list.len())])
        }
    };
    for &clients in counts {
        let outcome = scenarios::reads("read-id-hit", target, clients, duration, pick(&hot_ids, "/v1/anchors/"))?;
        record(outcomes, outcome);
    }
    for &clients in counts {
        let outcome = scenarios::reads("read-did", target, clients, duration, pick(&hot_dids, "/v1/anchors/by-did/"))?;
        record(outcomes, outcome);
    }
    println!("[load] cache-miss reads pick from {} anchors", grouped(keys.len() as u64));
    for &clients in counts {
        let outcome = scenarios::reads("read-id-miss", target, clients, duration, |rng| {
            use rand::Rng as _;
            format!("/v1/anchors/{}", members::anchor_id(&keys[rng.gen_range(0..keys.len())]))
        })?;
        record(outcomes, outcome);
    }
    for &clients in counts {
        record(outcomes, scenarios::members_pages(target, clients, duration)?);
    }
    let voters = scenarios::set_up_voters(stage, server, &commons, options.voters)?;
    let proposer = voters.first().ok_or_else(|| anyhow!("no voter was set up"))?;
    for (round, &clients) in counts.iter().enumerate() {
        let amendment = scenarios::open_amendment(&client, proposer, round + 1)?;
        record(outcomes, scenarios::votes(target, &voters, &amendment, clients, duration)?);
    }
    Ok(())
}

/// Reads each hot anchor once by id and once by DID, so the cache-hit
/// scenarios find them cached.
fn warm(target: Target<'_>, ids: &[String], dids: &[String]) -> Result<()> {
    let http = http::Http::new(target.base, target.token);
    for path in
        ids.iter().map(|id| format!("/v1/anchors/{id}")).chain(dids.iter().map(|d| format!("/v1/anchors/by-did/{d}")))
    {
        let answer = http.get(&path);
        ensure!(answer.status == 200, "GET {path} while warming the cache: {} {}", answer.status, answer.body);
    }
    Ok(())
}

/// Writes `value` to `path` as pretty JSON.
///
/// # Errors
/// The file cannot be written (the message names it).
pub fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).context("encoding the results as JSON")?;
    fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}
