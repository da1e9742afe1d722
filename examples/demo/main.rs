//! End-to-end demo: a commons that survives `kill -9` and a clean restart,
//! also in the middle of a vote and of an appeal.
//!
//! Usage: `demo --binary PATH --engine fjall|sled|postgres [--database-url URL]`
//! (normally through `cargo xtask demo`, which builds both with the engine's
//! feature and, for postgres, starts a throwaway PostgreSQL server and
//! passes its URL). `--database-url` is required with `--engine postgres`
//! (the database must hold no commons yet) and refused otherwise.
//!
//! Against a real `commons-gateway serve` process, over HTTP only, it:
//!
//! 1. starts the server on a fresh data dir (`--data-dir`; with PostgreSQL,
//!    the database: `--database-url`) with an admin token file and checks
//!    `/v1/health` reports the expected, persistent engine;
//! 2. bootstraps 5 genesis members (`POST /v1/anchors`, operator);
//! 3. registers genesis 1 and 2 as stewards (`POST /v1/stewards`, operator);
//! 4. has genesis 1 create a cooperative charter, genesis 1..3 sign it as
//!    founders, and genesis 1 activate it (signed envelopes);
//! 5. enrolls 200 people, each with a fresh key: start, verify (the person),
//!    vouch (stewards 1 and 2 alternate, 100 each), complete (the person);
//! 6. SIGKILLs the server, restarts it on the same store and checks every
//!    anchor, holder, affiliation, the charter's founders and the stewards'
//!    attestation counts;
//! 7. stops it with SIGTERM (must exit 0), restarts and checks again;
//! 8. then, on that server and store, a **governance act**:
//!    - the operator promotes the first 30 enrolled people to Member and
//!      grants the first of them Vote, Propose and Transact;
//!    - that member proposes an amendment with one change and submits it,
//!      steward 1 opens the vote (signed), and 20 members vote (16 for, 4
//!      against, each a signed `vote`); after the 10th vote the server is
//!      SIGKILLed, restarted and checked, then the voting goes on;
//!    - the operator closes the vote early: the amendment must be Ratified
//!      (30 eligible, 20 votes >= 50 % quorum, 16/20 >= 66 % approval);
//!    - the operator revokes one member's membership (not immediate: the
//!      affiliation is Suspended), the member appeals (the revocation goes
//!      Pending) and the operator puts the appeal under review; the server is
//!      SIGKILLed, restarted and checked; the operator resolves the appeal
//!      Upheld (revocation Upheld, affiliation back to Member);
//!    - the operator bans another member (immediate revocation: Banned);
//!    - SIGTERM (must exit 0), restart, final check over HTTP (including the
//!      jurisdiction's members list, paged with its cursor: 29 Members and 1
//!      Banned), SIGTERM again, and `commons-gateway verify` on the store
//!      (must exit 0; its output is printed);
//! 9. prints a table (written / after each SIGKILL restart / after each
//!    SIGTERM restart) and exits non-zero on any difference. Every check
//!    compares with what the server had acknowledged before that stop: all of
//!    the enrollment, and the governance act as far as it had gone.
//!
//! **With PostgreSQL** the story also shows what that engine is for: several
//! gateways serving one database. The first server is called `gateway A`, and
//! a second one, `gateway B` (another process, another port, the same
//! `--database-url`), serves beside it for part of the story:
//!
//! - act 1: B starts right after A. The genesis members, stewards and charter
//!   go through A; the 200 enrollments' requests alternate between A and B
//!   (a session started through one gateway is verified through the other,
//!   and so on), as a load balancer would spread them. When A is SIGKILLed
//!   (step 6), B answers the whole check while A is down, before A restarts;
//!   the SIGTERM of step 7 stops both (each must exit 0);
//! - act 2: B starts again for the vote; the 20 votes alternate between A and
//!   B; when A is SIGKILLed mid-vote, B answers the check (votes cast through
//!   A included) before A restarts; once the 20 votes are in, B stops with
//!   SIGTERM (must exit 0) and the rest goes through A.
//!
//! The table is the same as on the other engines (its checks go through the
//! restarted gateway A); each check through B prints a line of its own, and
//! its differences are problems like any other.
//!
//! Every acknowledged write must survive: the server's default durability is
//! `Sync` (`docs/ARCHITECTURE.md`, "Durability"). The demo is bounded: health
//! waits at most 60 s (100 ms between tries), each request at most 10 s, a
//! stop at most 30 s, `verify` at most
//! [`VERIFY_TIMEOUT`](server::VERIFY_TIMEOUT), list walks at most
//! [`MAX_PAGES`](governance::MAX_PAGES) pages, and the whole run at most
//! [`DEMO_DEADLINE`]. The server processes are killed if the demo fails
//! midway ([`Server`]'s `Drop`). Unix only (signals).
//!
//! The code follows the story: [`run`] below plays it in order; [`world`] is
//! act 1 (steps 2 to 5 and their checks), [`governance`] act 2 (step 8 and
//! its checks), [`report`] the checkpoints and the table (step 9); [`server`]
//! starts, stops and verifies the server processes and [`client`] talks to
//! them. [`client`], [`server`] and [`founding`] (the founding steps of act
//! 1) live in `examples/shared/`, shared with the `soak` example.

/// Prints one line of the story, stamped with the seconds since the demo
/// began: `say!(clock, "{n} votes cast")` prints `[demo]   12.3s 10 votes cast`.
macro_rules! say {
    ($clock:expr, $($what:tt)+) => {
        println!("[demo] {:6.1}s {}", $clock.elapsed(), format_args!($($what)+))
    };
}

#[path = "../shared/client.rs"]
mod client;
#[path = "../shared/founding.rs"]
mod founding;
mod governance;
mod report;
#[path = "../shared/server.rs"]
mod server;
mod world;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use governance::{Governance, PROMOTED, VOTERS, VOTES_BEFORE_KILL};
use report::{Report, Stop};
use server::{Server, Stage, StoreAt};
use world::World;

/// No request is started after this much time since the demo began.
const DEMO_DEADLINE: Duration = Duration::from_secs(300);

fn main() -> ExitCode {
    match main_inner() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("[demo] FAILED: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn main_inner() -> Result<()> {
    let args = Args::parse()?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let result = run(&args, dir.path());
    if result.is_err() {
        for log in [server::LOG, server::SECOND_LOG] {
            server::print_log_tail(&dir.path().join(log), "demo");
        }
    }
    result
}

/// The story, in order: the world is written and survives a SIGKILL and a
/// SIGTERM (act 1), then the governance act survives a SIGKILL mid-vote, a
/// SIGKILL mid-appeal and a SIGTERM (act 2); `verify` checks the store, and
/// the table says what was found after each restart. With PostgreSQL a
/// second gateway serves the same database for part of each act.
fn run(args: &Args, dir: &Path) -> Result<()> {
    let clock = Clock::start();
    let stage = Stage::prepare(&args.binary, &args.engine, args.store_at(dir), dir, clock.deadline(), "demo")?;
    let mut report = Report::default();
    println!("[demo] engine {}, binary {}, store {}", args.engine, args.binary.display(), stage.store());

    // Act 1, the world (steps 1 to 7): genesis, stewards, charter and 200
    // enrollments (with PostgreSQL, spread over two gateways), then found
    // again after a SIGKILL and after a SIGTERM.
    let server = stage.start()?;
    let second = start_second(&stage, "to share the enrollments", &clock)?;
    let enrolling = stage.client(&gateways(&server, second.as_ref()));
    let mut world = World::write(&stage.client(&[&server]), &enrolling, &clock)?;
    let written = world.written();
    say!(clock, "all writes acknowledged{}", enrolling.spread());

    kill(server, None, &clock)?;
    stand_in(&stage, second.as_ref(), &world, None, &mut report, &clock)?;
    let server = stage.start()?;
    report.check(&stage.client(&[&server]), &world, None, Stop::Kill, "after the enrollment")?;
    say!(clock, "checked after SIGKILL restart");

    terminate(server, "after the enrollment; restarting", &clock, &mut report)?;
    if let Some(second) = second {
        terminate(second, "after the enrollment", &clock, &mut report)?;
    }
    let server = stage.start()?;
    report.check(&stage.client(&[&server]), &world, None, Stop::Term, "after the enrollment")?;
    say!(clock, "checked after SIGTERM restart");

    // Act 2, governance (step 8), on the same server and store.
    let mut gov = Governance::default();
    let client = stage.client(&[&server]);
    gov.promote_members(&client, &mut world)?;
    say!(clock, "{PROMOTED} people promoted to Member; one granted Vote, Propose, Transact");
    gov.propose_amendment(&client, &world)?;
    say!(clock, "amendment {} proposed, submitted, voting opened by a steward", gov.amendment_id);
    let second = start_second(&stage, "to share the vote", &clock)?;
    let voting = stage.client(&gateways(&server, second.as_ref()));
    gov.cast_votes(&voting, &world, 0..VOTES_BEFORE_KILL)?;
    say!(clock, "{VOTES_BEFORE_KILL} votes cast{}", voting.spread());

    kill(server, Some("in the middle of the vote"), &clock)?;
    stand_in(&stage, second.as_ref(), &world, Some(&gov), &mut report, &clock)?;
    let server = stage.start()?;
    let client = stage.client(&[&server]);
    report.check(&client, &world, Some(&gov), Stop::Kill, "mid-vote (10 of 20 votes cast)")?;
    say!(clock, "checked after the mid-vote SIGKILL restart");

    let voting = stage.client(&gateways(&server, second.as_ref()));
    gov.cast_votes(&voting, &world, VOTES_BEFORE_KILL..VOTERS)?;
    say!(clock, "{} more votes cast{}, {VOTERS} in all", VOTERS - VOTES_BEFORE_KILL, voting.spread());
    if let Some(second) = second {
        terminate(second, "once the votes are in", &clock, &mut report)?;
    }
    let tally = gov.close_vote(&client)?;
    say!(clock, "vote closed early by the operator: Ratified, tally {tally}");
    gov.revoke_and_appeal(&client, &mut world)?;
    say!(clock, "membership revoked (Suspended), appeal filed (revocation Pending), under review");

    kill(server, Some("while the appeal is under review"), &clock)?;
    let server = stage.start()?;
    let client = stage.client(&[&server]);
    report.check(&client, &world, Some(&gov), Stop::Kill, "appeal under review")?;
    say!(clock, "checked after the mid-appeal SIGKILL restart");

    gov.resolve_and_ban(&client, &mut world)?;
    say!(clock, "appeal resolved Upheld (member reinstated); another member banned");

    terminate(server, "after the governance act; restarting", &clock, &mut report)?;
    let server = stage.start()?;
    report.check(&stage.client(&[&server]), &world, Some(&gov), Stop::Term, "final")?;
    say!(clock, "final check done");
    terminate(server, "at the end", &clock, &mut report)?;

    // The end (step 9): `verify` on the store, the table, the verdict.
    verify(&stage, &clock, &mut report)?;
    report.finish(written, &gov.expected(&world))?;
    println!("[demo] ok in {:.1}s: nothing acknowledged was lost ({})", clock.elapsed(), args.engine);
    Ok(())
}

/// With a store several gateways may serve (PostgreSQL), starts the second
/// gateway, saying `why`; otherwise `None`.
fn start_second(stage: &Stage<'_>, why: &str, clock: &Clock) -> Result<Option<Server>> {
    if !stage.store().shared() {
        return Ok(None);
    }
    let second = stage.start_second()?;
    say!(clock, "{} joined on the same database {why}", second.name());
    Ok(Some(second))
}

/// The running gateways: `first`, and `second` when there is one.
fn gateways<'a>(first: &'a Server, second: Option<&'a Server>) -> Vec<&'a Server> {
    std::iter::once(first).chain(second).collect()
}

/// SIGKILLs the server and says so (and `when`, where in the story, if
/// given); the caller starts it again on the same store.
fn kill(server: Server, when: Option<&str>, clock: &Clock) -> Result<()> {
    let name = server.name();
    server.kill()?;
    match when {
        Some(when) => say!(clock, "{name} killed with SIGKILL {when}; restarting"),
        None => say!(clock, "{name} killed with SIGKILL; restarting"),
    }
    Ok(())
}

/// With a `second` gateway running while the first is down: reads back
/// everything acknowledged so far through it (the governance act too, once
/// it has begun) and says what it found (see [`Report::check_stand_in`]).
fn stand_in(
    stage: &Stage<'_>,
    second: Option<&Server>,
    world: &World,
    gov: Option<&Governance>,
    report: &mut Report,
    clock: &Clock,
) -> Result<()> {
    let Some(second) = second else { return Ok(()) };
    let context = format!("through {} while gateway A was down", second.name());
    let found = report.check_stand_in(&stage.client(&[second]), world, gov, &context)?;
    say!(clock, "checked {context}: {found}");
    Ok(())
}

/// Stops the server with SIGTERM; it must exit 0 (otherwise a problem).
/// `when` says where in the story (for the line printed and the problem).
fn terminate(server: Server, when: &str, clock: &Clock, report: &mut Report) -> Result<()> {
    let name = server.name();
    let status = server.terminate()?;
    if !status.success() {
        report.problem(format!("{name} exited with {status} after SIGTERM {when} (expected exit 0)"));
    }
    say!(clock, "{name} stopped with SIGTERM ({status}) {when}");
    Ok(())
}

/// Runs `commons-gateway verify` on the store (every gateway is stopped) and
/// prints its output; it must exit 0 (otherwise a problem).
fn verify(stage: &Stage<'_>, clock: &Clock, report: &mut Report) -> Result<()> {
    let (status, output) = stage.verify()?;
    say!(clock, "`commons-gateway verify {}`: {status}", stage.store());
    for line in output.lines() {
        println!("    {line}");
    }
    if !status.success() {
        report.problem(format!("`commons-gateway verify` exited with {status} (expected exit 0)"));
    }
    Ok(())
}

/// The demo's clock: the seconds since it began, for the story's lines, and
/// the deadline after which no request is started.
struct Clock {
    began: Instant,
}

impl Clock {
    fn start() -> Self {
        Self { began: Instant::now() }
    }

    fn elapsed(&self) -> f64 {
        self.began.elapsed().as_secs_f64()
    }

    fn deadline(&self) -> Instant {
        self.began + DEMO_DEADLINE
    }
}

/// Command-line arguments.
struct Args {
    /// The `commons-gateway` binary to run.
    binary: PathBuf,
    /// The engine the binary was built with (`fjall`, `sled` or
    /// `postgres`), checked against `/v1/health`'s `backend`.
    engine: String,
    /// The database of a postgres build (no commons in it yet).
    database_url: Option<String>,
}

impl Args {
    fn parse() -> Result<Self> {
        const USAGE: &str = "usage: demo --binary PATH --engine fjall|sled|postgres [--database-url URL]";
        let mut binary = None;
        let mut engine = None;
        let mut database_url = None;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let slot = match arg.as_str() {
                "--binary" => &mut binary,
                "--engine" => &mut engine,
                "--database-url" => &mut database_url,
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => bail!("unknown argument `{other}`; {USAGE}"),
            };
            *slot = Some(args.next().ok_or_else(|| anyhow!("`{arg}` needs a value; {USAGE}"))?);
        }
        let engine = engine.ok_or_else(|| anyhow!("missing --engine; {USAGE}"))?;
        match (engine.as_str(), &database_url) {
            ("postgres", None) => bail!("--engine postgres needs --database-url URL (an empty database); {USAGE}"),
            ("postgres", Some(_)) | (_, None) => {}
            (other, Some(_)) => bail!("--database-url is for --engine postgres; {other} keeps its store in a data dir"),
        }
        Ok(Self {
            binary: binary.map(PathBuf::from).ok_or_else(|| anyhow!("missing --binary; {USAGE}"))?,
            engine,
            database_url,
        })
    }

    /// Where the server keeps the commons: the database, or a data dir
    /// `data` inside the demo's directory `dir`.
    fn store_at(&self, dir: &Path) -> StoreAt {
        match &self.database_url {
            Some(url) => StoreAt::Database(url.clone()),
            None => StoreAt::DataDir(dir.join("data")),
        }
    }
}
