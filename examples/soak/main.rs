//! Crash soak: many clients write to a real `commons-gateway serve` process
//! at once, the server is SIGKILLed at a random moment, and after each
//! restart nothing it acknowledged may be missing and nothing it was doing
//! may be half done.
//!
//! Usage: `soak --binary PATH --engine fjall|sled [--cycles N] [--clients N]
//! [--seed N]` (normally through `cargo xtask soak`, which builds both with
//! the engine's feature). Defaults: 10 cycles, 16 clients, a seed from the
//! clock, printed first so that a run's schedule can be repeated.
//!
//! Over HTTP and the binary's command line only (nothing reads the store's
//! folder), it:
//!
//! 1. starts the server on a fresh data directory with an operator token
//!    file, bootstraps 5 genesis members, registers genesis 1 and 2 as
//!    stewards, has genesis 1 to 3 found and activate a cooperative
//!    charter, and enrolls one person whom the operator promotes to Member
//!    and grants Propose (the proposer of every amendment);
//! 2. runs the cycles. Each cycle, N client threads ([`load`]) send a mixed
//!    load of writes, one at a time each: full signed enrollments (start,
//!    verify, vouch, complete), display-name updates, operator promotions,
//!    votes on the amendment open for voting (the operator closes it once 48
//!    votes are in, or 12 and a client's Members have all voted on it, and
//!    the next one is proposed, submitted and opened), operator revocations
//!    of memberships (one in four immediate), and appeals of them (filed by
//!    the member, reviewed and resolved Upheld by the operator). A 2xx
//!    answer makes a write acknowledged, and the model ([`model`]) records
//!    what it changed; a write whose answer never came is unknown;
//! 3. after a delay drawn from the seed (0.3 to 3 s of load), SIGKILLs the
//!    server, runs `commons-gateway verify --data-dir DIR` (its exit code
//!    must be 0, and every `PROBLEM` line it prints is a defect), restarts
//!    the server, timing the restart from the spawn to the first 200 of
//!    `/v1/health` and then to the first record read (the charter), and
//!    checks ([`check`]) every acknowledged write, settling each unknown one
//!    as wholly applied or wholly absent (anything in between is a
//!    half-applied write);
//! 4. prints one line per cycle (acknowledged writes, unknown ones, lost
//!    writes, verify defects, restart time), then checks everything written
//!    in the whole run, stops the server with SIGTERM (it must exit 0), runs
//!    `verify` once more, and prints the totals: acknowledged writes by
//!    kind, and the summary line
//!    `soak: fjall 50 cycles, 16 clients: acknowledged N, unknown N (N applied), lost 0, half-applied 0, verify defects 0, restarts 50, median restart N ms, max restart N ms`.
//!
//! It exits 1 when anything acknowledged was lost, an unknown write was
//! half applied, `verify` found a defect, or anything else was not as the
//! model says (a refused write, a server that stopped answering before the
//! kill, a SIGTERM exit that is not 0); the problems are listed, the server
//! log's tail is printed and the data directory is kept for inspection. The
//! seed repeats the schedule (when each kill comes, what each client picks
//! next), not the threads' interleaving nor the keys, which are fresh.
//!
//! Bounded: a request waits at most 10 s, the health poll 60 s, the first
//! record 30 s, `verify` 120 s, and no request starts after 10 minutes plus
//! 2 minutes per cycle. Unix only (signals).

mod check;
#[path = "../shared/client.rs"]
mod client;
#[path = "../shared/founding.rs"]
mod founding;
mod load;
mod model;
#[path = "../shared/server.rs"]
mod server;

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use check::{Findings, Scope};
use client::Client;
use founding::{bootstrap_genesis, enroll, found_charter, register_stewards};
use load::{LoadContext, Worker};
use model::{Commons, Ledger, SharedBallot, Steward};
use server::{Server, Stage, StoreAt};

/// Genesis members bootstrapped by the operator (the first two become
/// stewards, the first three found the charter).
const GENESIS: usize = 5;
/// The load runs this long (milliseconds, drawn from the seed) before the
/// kill.
const KILL_AFTER_MS: RangeInclusive<u64> = 300..=3000;
/// Longest wait for the first record after `/v1/health` answered.
const FIRST_RECORD_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between reads of the first record.
const FIRST_RECORD_POLL: Duration = Duration::from_millis(2);
/// No request starts after this, plus [`DEADLINE_PER_CYCLE`] per cycle.
const DEADLINE_BASE: Duration = Duration::from_secs(600);
const DEADLINE_PER_CYCLE: Duration = Duration::from_secs(120);
/// Problems printed under a cycle's line (all are counted).
const PROBLEMS_SHOWN: usize = 10;
/// Defaults of `--cycles` and `--clients`, and their bounds.
const DEFAULT_CYCLES: usize = 10;
const DEFAULT_CLIENTS: usize = 16;
const MAX_CYCLES: usize = 10_000;
const MAX_CLIENTS: usize = 256;

fn main() -> ExitCode {
    match main_inner() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("soak: FAILED: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the soak in a fresh temporary directory; `Ok(false)` when it found
/// problems (already printed). On any failure the server log's tail is
/// printed and the directory kept.
fn main_inner() -> Result<bool> {
    let args = Args::parse()?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let result = run(&args, dir.path());
    if !matches!(result, Ok(true)) {
        server::print_log_tail(&dir.path().join(server::LOG), "soak");
        let kept = dir.keep();
        eprintln!("soak: the data directory and logs are kept in {}", kept.display());
    }
    result
}

/// Totals over the cycles.
#[derive(Default)]
struct Totals {
    acknowledged: Ledger,
    unknown: u64,
    applied: u64,
    lost: u64,
    torn: u64,
    defects: u64,
    /// Problems other than lost and half-applied writes and verify defects.
    other: u64,
    /// Spawn to first record answered, one per restart.
    restarts: Vec<Duration>,
}

impl Totals {
    fn add(&mut self, findings: &Findings) {
        self.applied += findings.applied;
        self.lost += findings.lost;
        self.torn += findings.torn;
        self.other += findings.problems.len() as u64 - findings.lost - findings.torn;
    }

    fn clean(&self) -> bool {
        self.lost == 0 && self.torn == 0 && self.defects == 0 && self.other == 0
    }
}

/// Setup, the cycles, the final check, the summary (see the module docs).
fn run(args: &Args, dir: &Path) -> Result<bool> {
    let began = Instant::now();
    let deadline = began + DEADLINE_BASE + DEADLINE_PER_CYCLE * u32::try_from(args.cycles).unwrap_or(u32::MAX);
    let store = StoreAt::DataDir(dir.join("data"));
    let stage = Stage::prepare(&args.binary, &args.engine, store, dir, deadline, "soak")?.quiet();
    let seed = args.seed;
    println!(
        "soak: engine {}, {} cycles, {} clients, seed {seed} (`--seed {seed}` repeats this schedule), data in {}",
        args.engine,
        args.cycles,
        args.clients,
        dir.display()
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mut server = stage.start()?;
    let (commons, mut attested) = setup(&stage.client(&[&server]))?;
    println!(
        "soak: setup in {:.1}s: {GENESIS} genesis members, 2 stewards, charter {} active, a proposer",
        began.elapsed().as_secs_f64(),
        commons.domain_id
    );

    let mut shared = SharedBallot::default();
    let mut workers: Vec<Worker> = (0..args.clients).map(Worker::new).collect();
    let mut totals = Totals::default();
    for cycle in 1..=args.cycles {
        let kill_after = Duration::from_millis(rng.gen_range(KILL_AFTER_MS));
        let seeds: Vec<u64> = (0..args.clients).map(|_| rng.gen()).collect();
        let check_seed: u64 = rng.gen();

        let stop = AtomicBool::new(false);
        let ctx = LoadContext { commons: &commons, ballot: &shared, stop: &stop, cycle };
        let reports = load::run(&stage, server, &mut workers, &ctx, kill_after, &seeds)?;
        let ballot = shared.ballot.get_mut().map_err(|_| anyhow!("the ballot lock is poisoned"))?;
        let mut acknowledged = Ledger::default();
        let mut unknown = 0;
        let mut problems = Vec::new();
        for report in reports {
            acknowledged.add(&report.acknowledged);
            unknown += report.unknown;
            problems.extend(report.problems);
            for (index, vote) in report.votes {
                let amendment = ballot.amendments.get_mut(index).ok_or_else(|| anyhow!("a vote on no amendment"))?;
                amendment.votes.push(vote);
                amendment.touched = true;
            }
            for (expected, completed) in attested.iter_mut().zip(report.completions) {
                *expected += completed;
            }
        }
        totals.acknowledged.add(&acknowledged);
        totals.unknown += unknown;
        totals.other += problems.len() as u64;

        let verified = verify(&stage)?;
        totals.defects += verified.defects;
        problems.extend(verified.problems);

        server = stage.start()?;
        let restart = first_record(&stage, &server, &commons)?;
        totals.restarts.push(restart);
        let findings = check::after_restart(
            &stage,
            &server,
            &mut workers,
            &commons,
            ballot,
            &mut attested,
            Scope::Touched,
            check_seed,
        )?;
        let current_votes = ballot.current.and_then(|i| ballot.amendments.get(i)).map_or(0, |a| a.votes.len());
        shared.votes_on_current.store(current_votes, Ordering::SeqCst);
        totals.add(&findings);

        let torn = if findings.torn > 0 { format!(", half-applied {}", findings.torn) } else { String::new() };
        println!(
            "cycle {cycle:>width$}/{}: acknowledged {}, unknown {unknown} ({} applied), lost {}{torn}, verify defects {}, restart {} ms (health {} ms); {:.1} s of load",
            args.cycles,
            acknowledged.total(),
            findings.applied,
            findings.lost,
            verified.defects,
            restart.as_millis(),
            server.healthy_after().as_millis(),
            kill_after.as_secs_f64(),
            width = args.cycles.to_string().len(),
        );
        problems.extend(findings.problems);
        show(&problems);
    }

    let ballot = shared.ballot.get_mut().map_err(|_| anyhow!("the ballot lock is poisoned"))?;
    let findings =
        check::after_restart(&stage, &server, &mut workers, &commons, ballot, &mut attested, Scope::Everything, 0)?;
    println!(
        "soak: final check of everything written: {} people, {} amendments, the members list, the stewards: {}",
        findings.people,
        ballot.amendments.len(),
        if findings.problems.is_empty() {
            "as acknowledged".to_string()
        } else {
            format!("{} problems", findings.problems.len())
        }
    );
    totals.add(&findings);
    show(&findings.problems);
    let status = server.terminate()?;
    if !status.success() {
        totals.other += 1;
        println!("  - the server exited with {status} after SIGTERM (expected exit 0)");
    }
    let verified = verify(&stage)?;
    totals.defects += verified.defects;
    show(&verified.problems);
    println!("soak: after SIGTERM: {status}; verify defects {}", verified.defects);

    println!("soak: acknowledged writes by kind: {}", totals.acknowledged.breakdown());
    println!("{}", summary(args, &totals));
    if totals.clean() {
        println!("soak: ok in {:.1}s: nothing acknowledged was lost ({})", began.elapsed().as_secs_f64(), args.engine);
    } else {
        println!(
            "soak: FAILED: lost {}, half-applied {}, verify defects {}, other problems {} (listed above)",
            totals.lost, totals.torn, totals.defects, totals.other
        );
    }
    Ok(totals.clean())
}

/// The summary line, e.g. `soak: fjall 50 cycles, 16 clients: acknowledged
/// 12345, unknown 700 (312 applied), lost 0, half-applied 0, verify defects
/// 0, restarts 50, median restart 85 ms, max restart 140 ms`.
fn summary(args: &Args, totals: &Totals) -> String {
    let mut restarts = totals.restarts.clone();
    restarts.sort_unstable();
    let median = restarts.get(restarts.len() / 2).map_or(0, Duration::as_millis);
    let max = restarts.last().map_or(0, Duration::as_millis);
    format!(
        "soak: {} {} cycles, {} clients: acknowledged {}, unknown {} ({} applied), lost {}, half-applied {}, verify defects {}, restarts {}, median restart {median} ms, max restart {max} ms",
        args.engine,
        args.cycles,
        args.clients,
        totals.acknowledged.total(),
        totals.unknown,
        totals.applied,
        totals.lost,
        totals.torn,
        totals.defects,
        restarts.len(),
    )
}

/// Prints the first [`PROBLEMS_SHOWN`] problems, and how many more.
fn show(problems: &[String]) {
    for problem in problems.iter().take(PROBLEMS_SHOWN) {
        println!("  - {problem}");
    }
    if problems.len() > PROBLEMS_SHOWN {
        println!("  ... and {} more", problems.len() - PROBLEMS_SHOWN);
    }
}

/// Step 1: genesis members, stewards, the charter and the proposer. Returns
/// the commons and each steward's `attestations_issued` so far.
fn setup(client: &Client<'_>) -> Result<(Commons, [u64; 2])> {
    let genesis = bootstrap_genesis(client, GENESIS)?;
    let registered = register_stewards(client, &genesis[..2])?;
    let slug = format!("soak-{}", hex::encode(rand::random::<[u8; 4]>()));
    let domain_id = format!("coop:{slug}");
    let charter_id = found_charter(client, &genesis, &slug, &domain_id)?;
    let proposer = enroll(client, 0, &domain_id, &genesis[0].key, &genesis[0].did)?;
    let affiliation = format!("/v1/holders/{}/affiliations/{domain_id}", proposer.anchor_id);
    client.admin_post(&format!("{affiliation}/promote"), json!({}), 200)?;
    let capabilities = json!({"capabilities": ["Vote", "Propose", "Transact"]});
    client.expect("PUT", &format!("{affiliation}/capabilities"), Some(&capabilities), true, 200)?;
    let stewards = registered
        .into_iter()
        .zip(&genesis)
        .map(|((steward_id, did), member)| Steward { steward_id, did, key: member.key.clone() })
        .collect();
    // The proposer's enrollment was vouched by steward 1 (genesis 1).
    Ok((Commons { domain_id, charter_id, stewards, proposer }, [1, 0]))
}

/// After a restart: reads the charter until it answers 200; returns the time
/// from the server's spawn to that answer.
fn first_record(stage: &Stage<'_>, server: &Server, commons: &Commons) -> Result<Duration> {
    let client = stage.client(&[server]);
    let path = format!("/v1/charters/{}", commons.charter_id);
    let give_up = Instant::now() + FIRST_RECORD_TIMEOUT;
    loop {
        let (status, body) = client.get(&path)?;
        if status == 200 {
            return Ok(server.spawned().elapsed());
        }
        if Instant::now() >= give_up {
            bail!(
                "GET {path} did not answer 200 within {}s of health: {status} {body}",
                FIRST_RECORD_TIMEOUT.as_secs()
            );
        }
        sleep(FIRST_RECORD_POLL);
    }
}

/// What `commons-gateway verify` said of the store.
struct Verified {
    /// Its `PROBLEM` lines (or the count of its `verify: N problems` line,
    /// if larger).
    defects: u64,
    /// The defects' lines, and what else was wrong (an exit code that is
    /// not 0 without a report, a `PROBLEM` line with exit code 0).
    problems: Vec<String>,
}

/// Runs `verify` on the stopped server's store and reads its report.
fn verify(stage: &Stage<'_>) -> Result<Verified> {
    let (status, output) = stage.verify()?;
    let mut problems: Vec<String> =
        output.lines().filter(|line| line.starts_with("PROBLEM")).map(|line| format!("verify: {line}")).collect();
    let counted = output
        .lines()
        .filter_map(|line| line.strip_prefix("verify: ")?.strip_suffix(" problems")?.trim().parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    let defects = counted.max(problems.len() as u64);
    if !status.success() && defects == 0 {
        let tail: Vec<&str> = output.lines().rev().take(5).collect();
        problems.push(format!("verify exited with {status} without a report; its last lines: {tail:?}"));
    }
    if status.success() && defects > 0 {
        problems.push(format!("verify reported {defects} defects but exited with {status}"));
    }
    Ok(Verified { defects: defects.max(u64::from(!status.success())), problems })
}

/// Command-line arguments.
struct Args {
    /// The `commons-gateway` binary to run.
    binary: PathBuf,
    /// The engine the binary was built with (`fjall` or `sled`), checked
    /// against `/v1/health`'s `backend`.
    engine: String,
    cycles: usize,
    clients: usize,
    seed: u64,
}

impl Args {
    fn parse() -> Result<Self> {
        const USAGE: &str = "usage: soak --binary PATH --engine fjall|sled [--cycles N] [--clients N] [--seed N]";
        let mut binary = None;
        let mut engine = None;
        let mut cycles = None;
        let mut clients = None;
        let mut seed = None;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let slot = match arg.as_str() {
                "--binary" => &mut binary,
                "--engine" => &mut engine,
                "--cycles" => &mut cycles,
                "--clients" => &mut clients,
                "--seed" => &mut seed,
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => bail!("unknown argument `{other}`; {USAGE}"),
            };
            *slot = Some(args.next().ok_or_else(|| anyhow!("`{arg}` needs a value; {USAGE}"))?);
        }
        let engine = engine.ok_or_else(|| anyhow!("missing --engine; {USAGE}"))?;
        if engine != "fjall" && engine != "sled" {
            bail!("--engine {engine}: the soak runs on an engine that keeps its store in a folder, fjall or sled");
        }
        let count = |value: Option<String>, name: &str, default: usize, max: usize| -> Result<usize> {
            let Some(value) = value else { return Ok(default) };
            match value.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => bail!("--{name} {value}: expected a whole number from 1 to {max}"),
            }
        };
        let seed = match seed {
            Some(value) => value.parse::<u64>().map_err(|_| anyhow!("--seed {value}: expected a whole number"))?,
            None => {
                let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
                (nanos as u64) ^ u64::from(std::process::id())
            }
        };
        Ok(Self {
            binary: binary.map(PathBuf::from).ok_or_else(|| anyhow!("missing --binary; {USAGE}"))?,
            engine,
            cycles: count(cycles, "cycles", DEFAULT_CYCLES, MAX_CYCLES)?,
            clients: count(clients, "clients", DEFAULT_CLIENTS, MAX_CLIENTS)?,
            seed,
        })
    }
}
