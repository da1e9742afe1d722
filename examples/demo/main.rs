//! End-to-end demo: a commons that survives `kill -9` and a clean restart,
//! also in the middle of a vote and of an appeal.
//!
//! Usage: `demo --binary PATH --engine fjall|sled` (normally through
//! `cargo xtask demo`, which builds both with the engine's feature).
//!
//! Against a real `commons-gateway serve` process, over HTTP only, it:
//!
//! 1. starts the server on a fresh data dir with an admin token file and
//!    checks `/v1/health` reports the expected, persistent engine;
//! 2. bootstraps 5 genesis members (`POST /v1/anchors`, operator);
//! 3. registers genesis 1 and 2 as stewards (`POST /v1/stewards`, operator);
//! 4. has genesis 1 create a cooperative charter, genesis 1..3 sign it as
//!    founders, and genesis 1 activate it (signed envelopes);
//! 5. enrolls 200 people, each with a fresh key: start, verify (the person),
//!    vouch (stewards 1 and 2 alternate, 100 each), complete (the person);
//! 6. SIGKILLs the server, restarts it on the same data dir and checks every
//!    anchor, holder, affiliation, the charter's founders and the stewards'
//!    attestation counts;
//! 7. stops it with SIGTERM (must exit 0), restarts and checks again;
//! 8. then, on that server and data dir, a **governance act**:
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
//!      Banned), SIGTERM again, and `commons-gateway verify` on the data dir
//!      (must exit 0; its output is printed);
//! 9. prints a table (written / after each SIGKILL restart / after each
//!    SIGTERM restart) and exits non-zero on any difference. Every check
//!    compares with what the server had acknowledged before that stop: all of
//!    the enrollment, and the governance act as far as it had gone.
//!
//! Every acknowledged write must survive: the server's default durability is
//! `Sync` (`docs/ARCHITECTURE.md`, "Durability"). The demo is bounded: health
//! waits at most 60 s (100 ms between tries), each request at most 10 s, a
//! stop at most 30 s, `verify` at most
//! [`VERIFY_TIMEOUT`](server::VERIFY_TIMEOUT), list walks at most
//! [`MAX_PAGES`](governance::MAX_PAGES) pages, and the whole run at most
//! [`DEMO_DEADLINE`]. The server process is killed if the demo fails midway
//! ([`Server`]'s `Drop`). Unix only (signals).
//!
//! The code follows the story: [`run`] below plays it in order; [`world`] is
//! act 1 (steps 2 to 5 and their checks), [`governance`] act 2 (step 8 and
//! its checks), [`report`] the checkpoints and the table (step 9); [`server`]
//! starts, stops and verifies the server process and [`client`] talks to it.

/// Prints one line of the story, stamped with the seconds since the demo
/// began: `say!(clock, "{n} votes cast")` prints `[demo]   12.3s 10 votes cast`.
macro_rules! say {
    ($clock:expr, $($what:tt)+) => {
        println!("[demo] {:6.1}s {}", $clock.elapsed(), format_args!($($what)+))
    };
}

mod client;
mod governance;
mod report;
mod server;
mod world;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use governance::{Governance, PROMOTED, VOTERS, VOTES_BEFORE_KILL};
use report::{Report, Stop};
use server::{Server, Stage};
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
    let log = dir.path().join("server.log");
    let result = run(&args, dir.path(), &log);
    if result.is_err() {
        server::print_log_tail(&log);
    }
    result
}

/// The story, in order: the world is written and survives a SIGKILL and a
/// SIGTERM (act 1), then the governance act survives a SIGKILL mid-vote, a
/// SIGKILL mid-appeal and a SIGTERM (act 2); `verify` checks the data dir,
/// and the table says what was found after each restart.
fn run(args: &Args, dir: &Path, log: &Path) -> Result<()> {
    let clock = Clock::start();
    let stage = Stage::prepare(&args.binary, &args.engine, dir, log, clock.deadline())?;
    let mut report = Report::default();
    println!(
        "[demo] engine {}, binary {}, data dir {}",
        args.engine,
        args.binary.display(),
        stage.data_dir().display()
    );

    // Act 1, the world (steps 1 to 7): genesis, stewards, charter and 200
    // enrollments, then found again after a SIGKILL and after a SIGTERM.
    let server = stage.start()?;
    let mut world = World::write(&stage.client(&server), &clock)?;
    let written = world.written();
    say!(clock, "all writes acknowledged");

    let server = kill_and_restart(&stage, server, None, &clock)?;
    report.check(&stage.client(&server), &world, None, Stop::Kill, "after the enrollment")?;
    say!(clock, "checked after SIGKILL restart");

    terminate(server, "after the enrollment; restarting", &clock, &mut report)?;
    let server = stage.start()?;
    report.check(&stage.client(&server), &world, None, Stop::Term, "after the enrollment")?;
    say!(clock, "checked after SIGTERM restart");

    // Act 2, governance (step 8), on the same server and data dir.
    let mut gov = Governance::default();
    let client = stage.client(&server);
    gov.promote_members(&client, &mut world)?;
    say!(clock, "{PROMOTED} people promoted to Member; one granted Vote, Propose, Transact");
    gov.propose_amendment(&client, &world)?;
    say!(clock, "amendment {} proposed, submitted, voting opened by a steward", gov.amendment_id);
    gov.cast_votes(&client, &world, 0..VOTES_BEFORE_KILL)?;
    say!(clock, "{VOTES_BEFORE_KILL} votes cast");

    let server = kill_and_restart(&stage, server, Some("in the middle of the vote"), &clock)?;
    let client = stage.client(&server);
    report.check(&client, &world, Some(&gov), Stop::Kill, "mid-vote (10 of 20 votes cast)")?;
    say!(clock, "checked after the mid-vote SIGKILL restart");

    gov.cast_votes(&client, &world, VOTES_BEFORE_KILL..VOTERS)?;
    say!(clock, "{VOTERS} votes cast in all");
    let tally = gov.close_vote(&client)?;
    say!(clock, "vote closed early by the operator: Ratified, tally {tally}");
    gov.revoke_and_appeal(&client, &mut world)?;
    say!(clock, "membership revoked (Suspended), appeal filed (revocation Pending), under review");

    let server = kill_and_restart(&stage, server, Some("while the appeal is under review"), &clock)?;
    let client = stage.client(&server);
    report.check(&client, &world, Some(&gov), Stop::Kill, "appeal under review")?;
    say!(clock, "checked after the mid-appeal SIGKILL restart");

    gov.resolve_and_ban(&client, &mut world)?;
    say!(clock, "appeal resolved Upheld (member reinstated); another member banned");

    terminate(server, "after the governance act; restarting", &clock, &mut report)?;
    let server = stage.start()?;
    report.check(&stage.client(&server), &world, Some(&gov), Stop::Term, "final")?;
    say!(clock, "final check done");
    terminate(server, "at the end", &clock, &mut report)?;

    // The end (step 9): `verify` on the data dir, the table, the verdict.
    verify(&stage, &clock, &mut report)?;
    report.finish(written, &gov.expected(&world))?;
    println!("[demo] ok in {:.1}s: nothing acknowledged was lost ({})", clock.elapsed(), args.engine);
    Ok(())
}

/// SIGKILLs the server, says so (and `when`, where in the story, if given)
/// and starts it again on the same data dir.
fn kill_and_restart(stage: &Stage<'_>, server: Server, when: Option<&str>, clock: &Clock) -> Result<Server> {
    server.kill()?;
    match when {
        Some(when) => say!(clock, "server killed with SIGKILL {when}; restarting"),
        None => say!(clock, "server killed with SIGKILL; restarting"),
    }
    stage.start()
}

/// Stops the server with SIGTERM; it must exit 0 (otherwise a problem).
/// `when` says where in the story (for the line printed and the problem).
fn terminate(server: Server, when: &str, clock: &Clock, report: &mut Report) -> Result<()> {
    let status = server.terminate()?;
    if !status.success() {
        report.problem(format!("server exited with {status} after SIGTERM {when} (expected exit 0)"));
    }
    say!(clock, "server stopped with SIGTERM ({status}) {when}");
    Ok(())
}

/// Runs `commons-gateway verify` on the data dir (the server is stopped) and
/// prints its output; it must exit 0 (otherwise a problem).
fn verify(stage: &Stage<'_>, clock: &Clock, report: &mut Report) -> Result<()> {
    let (status, output) = stage.verify()?;
    say!(clock, "`commons-gateway verify --data-dir {}`: {status}", stage.data_dir().display());
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
    /// The engine the binary was built with (`fjall` or `sled`), checked
    /// against `/v1/health`'s `backend`.
    engine: String,
}

impl Args {
    fn parse() -> Result<Self> {
        const USAGE: &str = "usage: demo --binary PATH --engine fjall|sled";
        let mut binary = None;
        let mut engine = None;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let slot = match arg.as_str() {
                "--binary" => &mut binary,
                "--engine" => &mut engine,
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => bail!("unknown argument `{other}`; {USAGE}"),
            };
            *slot = Some(args.next().ok_or_else(|| anyhow!("`{arg}` needs a value; {USAGE}"))?);
        }
        Ok(Self {
            binary: binary.map(PathBuf::from).ok_or_else(|| anyhow!("missing --binary; {USAGE}"))?,
            engine: engine.ok_or_else(|| anyhow!("missing --engine; {USAGE}"))?,
        })
    }
}
