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
//! `Sync` (DESIGN.md, "Durability contract"). The demo is bounded: health
//! waits at most 60 s (100 ms between tries), each request at most 10 s, a
//! stop at most 30 s, `verify` at most [`VERIFY_TIMEOUT`], list walks at most
//! [`MAX_PAGES`] pages, and the whole run at most [`DEMO_DEADLINE`]. The
//! server process is killed if the demo fails midway ([`Server`]'s `Drop`).
//! Unix only (signals).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::Read as _;
use std::net::TcpListener;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use commons_gateway::{Did, SignedEnvelope};
use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use serde_json::{json, Value};

/// Genesis members bootstrapped by the operator.
const GENESIS: usize = 5;
/// How many of the genesis members found (sign) the charter.
const FOUNDERS: usize = 3;
/// People enrolled through the stewards.
const PEOPLE: usize = 200;
/// Longest wait for `/v1/health` to answer 200 after a start.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause between health polls.
const HEALTH_POLL: Duration = Duration::from_millis(100);
/// Longest wait for the server to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Connect timeout of one request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Whole-request timeout of one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// No request is started after this much time since the demo began.
const DEMO_DEADLINE: Duration = Duration::from_secs(300);
/// Longest wait for `commons-gateway verify` to exit.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(120);
/// Enrolled people (the first ones) the operator promotes to Member.
const PROMOTED: usize = 30;
/// The promoted member granted Propose, who proposes the amendment (an index
/// into the enrolled people, as are the indices below).
const PROPOSER: usize = 0;
/// Members who vote: the first `VOTERS` promoted (the proposer included).
const VOTERS: usize = 20;
/// Votes cast before the mid-vote SIGKILL.
const VOTES_BEFORE_KILL: usize = 10;
/// The member whose membership is revoked, who appeals and is reinstated.
const APPELLANT: usize = 20;
/// The member banned at the end.
const BANNED: usize = 29;
/// Page size when listing a jurisdiction's members: small, so the walk
/// follows `next_cursor` over several pages.
const MEMBERS_PAGE: usize = 8;
/// Most pages read from one list before the demo gives up.
const MAX_PAGES: usize = 100;
/// Most problems printed in detail per check.
const MAX_PROBLEMS_SHOWN: usize = 20;

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
        print_log_tail(&log);
    }
    result
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

/// Everything needed to start the server the same way each time.
struct Launch<'a> {
    binary: &'a Path,
    engine: &'a str,
    data_dir: PathBuf,
    token_file: PathBuf,
    log: &'a Path,
}

/// A running `commons-gateway serve` process. Dropping it kills the process
/// (SIGKILL) and reaps it, so a failing demo never leaves a server behind.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts the server on a fresh free port and waits until `/v1/health`
    /// answers 200 with the expected, persistent engine.
    fn start(launch: &Launch<'_>, agent: &ureq::Agent, deadline: Instant) -> Result<Self> {
        let port = free_port()?;
        let bind = format!("127.0.0.1:{port}");
        let log = File::options()
            .create(true)
            .append(true)
            .open(launch.log)
            .with_context(|| format!("opening {}", launch.log.display()))?;
        let child = Command::new(launch.binary)
            .arg("serve")
            .arg("--data-dir")
            .arg(&launch.data_dir)
            .args(["--bind", &bind])
            .arg("--admin-token-file")
            .arg(&launch.token_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("duplicating the log file handle")?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", launch.binary.display()))?;
        let mut server = Self { child, base: format!("http://{bind}") };
        let started = Instant::now();
        let health = server.wait_healthy(agent, deadline)?;
        ensure!(
            health["backend"] == launch.engine,
            "/v1/health reports backend {} but this demo was asked for {:?}: {health}",
            health["backend"],
            launch.engine
        );
        ensure!(health["persistent"] == true, "/v1/health reports a non-persistent store: {health}");
        println!(
            "[demo] server pid {} up on {} in {:.1}s (backend {}, durability {})",
            server.child.id(),
            server.base,
            started.elapsed().as_secs_f64(),
            health["backend"],
            health["durability"]
        );
        Ok(server)
    }

    fn wait_healthy(&mut self, agent: &ureq::Agent, deadline: Instant) -> Result<Value> {
        let give_up = Instant::now() + HEALTH_TIMEOUT;
        let url = format!("{}/v1/health", self.base);
        let mut last = String::from("no answer yet");
        loop {
            if let Some(status) = self.child.try_wait().context("polling the server")? {
                bail!("the server exited before it became healthy ({status}); last health answer: {last}");
            }
            match agent.get(&url).call() {
                Ok(response) => {
                    let body = response.into_string().context("reading /v1/health")?;
                    return serde_json::from_str(&body).with_context(|| format!("/v1/health is not JSON: {body}"));
                }
                Err(ureq::Error::Status(code, response)) => {
                    last = format!("{code} {}", response.into_string().unwrap_or_default());
                }
                Err(ureq::Error::Transport(error)) => last = error.to_string(),
            }
            let now = Instant::now();
            if now >= give_up || now >= deadline {
                bail!("/v1/health did not answer 200 within {}s; last: {last}", HEALTH_TIMEOUT.as_secs());
            }
            sleep(HEALTH_POLL);
        }
    }

    /// SIGKILL (what `Child::kill` sends on unix), then reap.
    fn kill(mut self) -> Result<()> {
        self.child.kill().context("sending SIGKILL to the server")?;
        self.child.wait().context("reaping the killed server")?;
        Ok(())
    }

    /// SIGTERM, then wait (bounded) for the exit status.
    fn terminate(mut self) -> Result<ExitStatus> {
        let pid = libc::pid_t::try_from(self.child.id()).context("server pid out of range")?;
        // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own
        // child, not yet reaped (so the pid cannot have been reused).
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            bail!("sending SIGTERM to the server: {}", std::io::Error::last_os_error());
        }
        let give_up = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().context("waiting for the server")? {
                return Ok(status);
            }
            if Instant::now() >= give_up {
                bail!("the server did not exit within {}s of SIGTERM (it will be killed)", STOP_TIMEOUT.as_secs());
            }
            sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // Best effort: we are failing or finished already.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// HTTP client for one running server.
struct Client<'a> {
    agent: &'a ureq::Agent,
    base: String,
    token: &'a str,
    deadline: Instant,
}

impl Client<'_> {
    /// Sends a request and returns status and JSON body (non-2xx included).
    fn send(&self, method: &str, path: &str, body: Option<&Value>, admin: bool) -> Result<(u16, Value)> {
        ensure!(Instant::now() < self.deadline, "the demo ran past its {}s deadline", DEMO_DEADLINE.as_secs());
        let mut request = self.agent.request(method, &format!("{}{path}", self.base));
        if admin {
            request = request.set("Authorization", &format!("Bearer {}", self.token));
        }
        let result = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(error)) => bail!("{method} {path}: {error}"),
        };
        let status = response.status();
        let text = response.into_string().with_context(|| format!("{method} {path}: reading the body"))?;
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Ok((status, value))
    }

    /// Sends a request and fails (printing the body) unless the status is `want`.
    fn expect(&self, method: &str, path: &str, body: Option<&Value>, admin: bool, want: u16) -> Result<Value> {
        let (status, value) = self.send(method, path, body, admin)?;
        ensure!(status == want, "{method} {path}: expected {want}, got {status}: {value}");
        Ok(value)
    }

    fn get(&self, path: &str) -> Result<(u16, Value)> {
        self.send("GET", path, None, false)
    }

    fn admin_post(&self, path: &str, body: Value, want: u16) -> Result<Value> {
        self.expect("POST", path, Some(&body), true, want)
    }

    /// POSTs a signed envelope for `action` on `target` with `payload`.
    fn signed_post(
        &self,
        path: &str,
        key: &SigningKey,
        action: &str,
        target: &str,
        payload: Value,
        want: u16,
    ) -> Result<Value> {
        let envelope = SignedEnvelope::sign(key, action, target, payload.to_string());
        let body = serde_json::to_value(&envelope).context("serialising an envelope")?;
        self.expect("POST", path, Some(&body), false, want)
    }
}

/// One principal the demo created.
struct Principal {
    key: SigningKey,
    did: String,
    anchor_id: String,
}

impl Principal {
    fn generate() -> Self {
        let key = SigningKey::generate(&mut OsRng);
        let did = Did::from_verifying_key(&key.verifying_key()).as_str().to_string();
        Self { key, did, anchor_id: String::new() }
    }
}

/// What the demo wrote, to be found again after each restart.
struct World {
    genesis: Vec<Principal>,
    /// `(steward_id, did)` of the two stewards (genesis 1 and 2).
    stewards: Vec<(String, String)>,
    people: Vec<Principal>,
    domain_id: String,
    charter_id: String,
    /// Enrolled people whose affiliation the governance act changed (by
    /// anchor id), as last acknowledged; everyone else is Provisional.
    changed: HashMap<String, Expected>,
}

/// What an enrolled person's affiliation must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expected {
    /// Affiliation status name (`Provisional`, `Member`, `Suspended`, `Banned`).
    status: &'static str,
    /// Whether it carries Propose (besides Vote and Transact; a Banned
    /// affiliation carries nothing).
    propose: bool,
}

impl Expected {
    const PROVISIONAL: Expected = Expected { status: "Provisional", propose: false };
    const MEMBER: Expected = Expected { status: "Member", propose: false };
}

/// The counts of the base rows of the table, one checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    anchors: usize,
    holders: usize,
    affiliations: usize,
    founders: usize,
    attestations: usize,
}

impl Counts {
    const ROWS: [&'static str; 5] = ["anchors", "holders", "affiliations", "charter founders", "steward attestations"];

    fn values(self) -> [usize; 5] {
        [self.anchors, self.holders, self.affiliations, self.founders, self.attestations]
    }
}

impl World {
    /// What was acknowledged by the server while writing.
    fn written(&self) -> Counts {
        Counts {
            anchors: self.genesis.len() + self.people.len(),
            holders: self.genesis.len() + self.people.len(),
            affiliations: self.people.len(),
            founders: FOUNDERS,
            attestations: self.people.len(),
        }
    }

    /// The affiliation an enrolled person must have now.
    fn expected(&self, anchor_id: &str) -> Expected {
        self.changed.get(anchor_id).copied().unwrap_or(Expected::PROVISIONAL)
    }

    /// DIDs of the enrolled people whose affiliation must be `status`.
    fn dids_with(&self, status: &str) -> BTreeSet<String> {
        self.people.iter().filter(|p| self.expected(&p.anchor_id).status == status).map(|p| p.did.clone()).collect()
    }
}

/// What the governance act has had acknowledged so far.
#[derive(Debug, Default)]
struct Governance {
    /// How many of the first [`PROMOTED`] people were promoted.
    promoted: usize,
    amendment_id: String,
    /// Status kind of the amendment (`Draft`, ..., `Ratified`).
    amendment_status: &'static str,
    /// `(voter DID, approve)` of each vote, in order.
    votes: Vec<(String, bool)>,
    revocations: Vec<RevocationSeen>,
    /// The appeal's id and status (`Filed`, `UnderReview`, `Resolved/Upheld`).
    appeal: Option<(String, &'static str)>,
}

/// One acknowledged revocation of a membership.
#[derive(Debug)]
struct RevocationSeen {
    revocation_id: String,
    holder_id: String,
    immediate: bool,
    /// Kind of its `appeal_status` (`None`, `Pending`, `Upheld`).
    appeal_status: &'static str,
    /// The pending appeal, while `Pending`.
    appeal_id: Option<String>,
}

/// The governance rows of the table, one checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GovCounts {
    /// Promoted people whose affiliation is as acknowledged.
    promoted: usize,
    /// Acknowledged votes found on the amendment, as cast.
    votes: usize,
    amendment: String,
    /// `GET /v1/jurisdictions/{domain}/members?status=Member`, all pages.
    members: usize,
    /// Acknowledged revocations found (listed by target) in their state.
    revocations: usize,
    appeal: String,
    /// `GET /v1/jurisdictions/{domain}/members?status=Banned`, all pages.
    banned: usize,
}

impl GovCounts {
    const ROWS: [&'static str; 7] =
        ["members promoted", "votes", "amendment status", "listed as Member", "revocations", "appeal status", "banned"];

    fn values(&self) -> [String; 7] {
        [
            self.promoted.to_string(),
            self.votes.to_string(),
            self.amendment.clone(),
            self.members.to_string(),
            self.revocations.to_string(),
            self.appeal.clone(),
            self.banned.to_string(),
        ]
    }
}

impl Governance {
    /// The governance counts as acknowledged so far.
    fn expected(&self, world: &World) -> GovCounts {
        GovCounts {
            promoted: self.promoted,
            votes: self.votes.len(),
            amendment: self.amendment_status.to_string(),
            members: world.dids_with("Member").len(),
            revocations: self.revocations.len(),
            appeal: self.appeal.as_ref().map_or("none", |(_, status)| status).to_string(),
            banned: world.dids_with("Banned").len(),
        }
    }
}

/// How the server was stopped before a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Kill,
    Term,
}

/// One check after a restart: what was found and, for the governance rows,
/// what had been acknowledged by then (the base rows compare with
/// [`World::written`]).
struct Checkpoint {
    stop: Stop,
    /// What had happened before the stop, for the legend and problems.
    label: &'static str,
    base: Counts,
    /// `(found, acknowledged)`; `None` before the governance act.
    gov: Option<(GovCounts, GovCounts)>,
}

fn run(args: &Args, dir: &Path, log: &Path) -> Result<()> {
    let began = Instant::now();
    let deadline = began + DEMO_DEADLINE;
    let token = hex::encode(rand::random::<[u8; 32]>());
    let token_file = dir.join("admin.token");
    fs::write(&token_file, &token).context("writing the admin token file")?;
    let launch = Launch { binary: &args.binary, engine: &args.engine, data_dir: dir.join("data"), token_file, log };
    let agent = ureq::AgentBuilder::new().timeout_connect(CONNECT_TIMEOUT).timeout(REQUEST_TIMEOUT).build();
    let client = |server: &Server| Client { agent: &agent, base: server.base.clone(), token: &token, deadline };
    let elapsed = || began.elapsed().as_secs_f64();
    let mut checkpoints = Vec::new();
    let mut problems = Vec::new();
    let terminate = |server: Server, when: &str, problems: &mut Vec<String>| -> Result<()> {
        let status = server.terminate()?;
        if !status.success() {
            problems.push(format!("server exited with {status} after SIGTERM {when} (expected exit 0)"));
        }
        println!("[demo] {:6.1}s server stopped with SIGTERM ({status}) {when}", elapsed());
        Ok(())
    };

    println!("[demo] engine {}, binary {}, data dir {}", args.engine, args.binary.display(), launch.data_dir.display());
    let server = Server::start(&launch, &agent, deadline)?;
    let mut world = write_world(&client(&server), &elapsed)?;
    let written = world.written();
    println!("[demo] {:6.1}s all writes acknowledged", elapsed());

    server.kill()?;
    println!("[demo] {:6.1}s server killed with SIGKILL; restarting", elapsed());
    let server = Server::start(&launch, &agent, deadline)?;
    let label = "after the enrollment";
    checkpoints.push(checkpoint(&client(&server), &world, None, Stop::Kill, label, &mut problems)?);
    println!("[demo] {:6.1}s checked after SIGKILL restart", elapsed());

    terminate(server, "after the enrollment; restarting", &mut problems)?;
    let server = Server::start(&launch, &agent, deadline)?;
    checkpoints.push(checkpoint(&client(&server), &world, None, Stop::Term, label, &mut problems)?);
    println!("[demo] {:6.1}s checked after SIGTERM restart", elapsed());

    // The governance act, on the same server and data dir.
    let mut gov = Governance::default();
    promote_members(&client(&server), &mut world, &mut gov)?;
    println!("[demo] {:6.1}s {PROMOTED} people promoted to Member; one granted Vote, Propose, Transact", elapsed());
    propose_amendment(&client(&server), &world, &mut gov)?;
    println!(
        "[demo] {:6.1}s amendment {} proposed, submitted, voting opened by a steward",
        elapsed(),
        gov.amendment_id
    );
    cast_votes(&client(&server), &world, &mut gov, 0..VOTES_BEFORE_KILL)?;
    println!("[demo] {:6.1}s {VOTES_BEFORE_KILL} votes cast", elapsed());

    server.kill()?;
    println!("[demo] {:6.1}s server killed with SIGKILL in the middle of the vote; restarting", elapsed());
    let server = Server::start(&launch, &agent, deadline)?;
    let label = "mid-vote (10 of 20 votes cast)";
    checkpoints.push(checkpoint(&client(&server), &world, Some(&gov), Stop::Kill, label, &mut problems)?);
    println!("[demo] {:6.1}s checked after the mid-vote SIGKILL restart", elapsed());

    cast_votes(&client(&server), &world, &mut gov, VOTES_BEFORE_KILL..VOTERS)?;
    println!("[demo] {:6.1}s {VOTERS} votes cast in all", elapsed());
    let tally = close_vote(&client(&server), &mut gov)?;
    println!("[demo] {:6.1}s vote closed early by the operator: Ratified, tally {tally}", elapsed());
    revoke_and_appeal(&client(&server), &mut world, &mut gov)?;
    println!(
        "[demo] {:6.1}s membership revoked (Suspended), appeal filed (revocation Pending), under review",
        elapsed()
    );

    server.kill()?;
    println!("[demo] {:6.1}s server killed with SIGKILL while the appeal is under review; restarting", elapsed());
    let server = Server::start(&launch, &agent, deadline)?;
    let label = "appeal under review";
    checkpoints.push(checkpoint(&client(&server), &world, Some(&gov), Stop::Kill, label, &mut problems)?);
    println!("[demo] {:6.1}s checked after the mid-appeal SIGKILL restart", elapsed());

    resolve_and_ban(&client(&server), &mut world, &mut gov)?;
    println!("[demo] {:6.1}s appeal resolved Upheld (member reinstated); another member banned", elapsed());

    terminate(server, "after the governance act; restarting", &mut problems)?;
    let server = Server::start(&launch, &agent, deadline)?;
    let label = "final";
    checkpoints.push(checkpoint(&client(&server), &world, Some(&gov), Stop::Term, label, &mut problems)?);
    println!("[demo] {:6.1}s final check done", elapsed());
    terminate(server, "at the end", &mut problems)?;

    let (status, output) = run_verify(&launch, dir)?;
    println!("[demo] {:6.1}s `commons-gateway verify --data-dir {}`: {status}", elapsed(), launch.data_dir.display());
    for line in output.lines() {
        println!("    {line}");
    }
    if !status.success() {
        problems.push(format!("`commons-gateway verify` exited with {status} (expected exit 0)"));
    }

    let gov_written = gov.expected(&world);
    print_table(written, &gov_written, &checkpoints);
    for point in &checkpoints {
        let column = match point.stop {
            Stop::Kill => format!("after the SIGKILL restart ({})", point.label),
            Stop::Term => format!("after the SIGTERM restart ({})", point.label),
        };
        for ((row, want), got) in Counts::ROWS.iter().zip(written.values()).zip(point.base.values()) {
            if want != got {
                problems.push(format!("{row}: wrote {want}, found {got} {column}"));
            }
        }
        if let Some((found, want)) = &point.gov {
            for ((row, want), got) in GovCounts::ROWS.iter().zip(want.values()).zip(found.values()) {
                if want != got {
                    problems.push(format!("{row}: acknowledged {want}, found {got} {column}"));
                }
            }
        }
    }
    if !problems.is_empty() {
        println!("[demo] {} problem(s):", problems.len());
        for problem in problems.iter().take(MAX_PROBLEMS_SHOWN) {
            println!("  - {problem}");
        }
        if problems.len() > MAX_PROBLEMS_SHOWN {
            println!("  ... and {} more", problems.len() - MAX_PROBLEMS_SHOWN);
        }
        bail!("{} problem(s) found, listed above", problems.len());
    }
    println!("[demo] ok in {:.1}s: nothing acknowledged was lost ({})", elapsed(), args.engine);
    Ok(())
}

/// Checks everything after a restart: the enrollment's records and, once it
/// has begun, the governance act. Problems go to `problems`.
fn checkpoint(
    client: &Client<'_>,
    world: &World,
    gov: Option<&Governance>,
    stop: Stop,
    label: &'static str,
    problems: &mut Vec<String>,
) -> Result<Checkpoint> {
    let (base, more) = check_world(client, world)?;
    problems.extend(more);
    let gov = match gov {
        Some(gov) => {
            let (found, more) = check_governance(client, world, gov)?;
            problems.extend(more);
            Some((found, gov.expected(world)))
        }
        None => None,
    };
    Ok(Checkpoint { stop, label, base, gov })
}

/// Runs `<binary> verify --data-dir <data dir>` (the server must be stopped),
/// bounded by [`VERIFY_TIMEOUT`]; returns its exit status and output.
fn run_verify(launch: &Launch<'_>, dir: &Path) -> Result<(ExitStatus, String)> {
    let out_path = dir.join("verify.log");
    let out = File::create(&out_path).with_context(|| format!("creating {}", out_path.display()))?;
    let mut child = Command::new(launch.binary)
        .arg("verify")
        .arg("--data-dir")
        .arg(&launch.data_dir)
        // Only the report (and warnings), not the engine's recovery log.
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(out.try_clone().context("duplicating the verify output handle")?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("starting {} verify", launch.binary.display()))?;
    let give_up = Instant::now() + VERIFY_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for verify")? {
            break status;
        }
        if Instant::now() >= give_up {
            let _ = child.kill();
            let _ = child.wait();
            bail!("`commons-gateway verify` did not exit within {}s (killed)", VERIFY_TIMEOUT.as_secs());
        }
        sleep(Duration::from_millis(50));
    };
    let output = fs::read_to_string(&out_path).with_context(|| format!("reading {}", out_path.display()))?;
    Ok((status, output))
}

/// Steps 2 to 5: genesis, stewards, charter, enrollments.
fn write_world(client: &Client<'_>, elapsed: &dyn Fn() -> f64) -> Result<World> {
    let slug = format!("demo-{}", hex::encode(rand::random::<[u8; 4]>()));
    let domain_id = format!("coop:{slug}");

    let mut genesis: Vec<Principal> = (0..GENESIS).map(|_| Principal::generate()).collect();
    for (i, member) in genesis.iter_mut().enumerate() {
        let name = format!("Genesis {}", i + 1);
        let anchor = client.admin_post("/v1/anchors", json!({"did": member.did, "display_name": name}), 201)?;
        let context = format!("POST /v1/anchors for {name}");
        expect_eq(&anchor["did"], &json!(member.did), &context, "did")?;
        expect_eq(&anchor["pathway"], &json!({"kind": "Admin"}), &context, "pathway")?;
        expect_eq(&anchor["status"], &json!({"kind": "Active"}), &context, "status")?;
        expect_eq(&anchor["attestations"], &json!([]), &context, "attestations")?;
        expect_eq(&anchor["pop_level"], &Value::Null, &context, "pop_level")?;
        member.anchor_id = string_field(&anchor, "anchor_id", &context)?;
    }
    println!("[demo] {:6.1}s {GENESIS} genesis members bootstrapped", elapsed());

    let mut stewards = Vec::new();
    for member in &genesis[..2] {
        let steward = client.admin_post("/v1/stewards", json!({"did": member.did, "term_days": 365}), 201)?;
        let context = format!("POST /v1/stewards for {}", member.did);
        expect_eq(&steward["did"], &json!(member.did), &context, "did")?;
        expect_eq(&steward["holder_id"], &json!(member.anchor_id), &context, "holder_id")?;
        expect_eq(&steward["status"], &json!({"kind": "Active"}), &context, "status")?;
        expect_eq(&steward["attestations_issued"], &json!(0), &context, "attestations_issued")?;
        expect_eq(&steward["can_attest"], &json!(true), &context, "can_attest")?;
        stewards.push((string_field(&steward, "steward_id", &context)?, member.did.clone()));
    }
    println!("[demo] {:6.1}s 2 stewards registered", elapsed());

    let charter = client.signed_post(
        "/v1/charters",
        &genesis[0].key,
        "charter-create",
        "-",
        json!({
            "domain_id": domain_id,
            "org_type": "Cooperative",
            "name": format!("Demo Cooperative {slug}"),
            "description": "A cooperative created by examples/demo.rs to show that the commons survives restarts.",
            "membership_policy": {"min_founders": 3, "open_enrollment": false, "required_pop_level": "Strong"},
        }),
        201,
    )?;
    let context = "POST /v1/charters";
    expect_eq(&charter["founders"], &json!([]), context, "founders")?;
    expect_eq(&charter["status"], &json!({"kind": "Draft"}), context, "status")?;
    let charter_id = string_field(&charter, "charter_id", context)?;
    let digest = string_field(&charter, "digest", context)?;
    let signatures = format!("/v1/charters/{charter_id}/signatures");
    for (i, founder) in genesis[..FOUNDERS].iter().enumerate() {
        let charter = client.signed_post(
            &signatures,
            &founder.key,
            "charter-sign",
            &charter_id,
            json!({"digest": digest, "role": "founder"}),
            200,
        )?;
        let founders = charter["founders"].as_array().map_or(0, Vec::len);
        ensure!(founders == i + 1, "POST {signatures}: expected {} founders, got {founders}: {charter}", i + 1);
    }
    let charter = client.signed_post(
        &format!("/v1/charters/{charter_id}/activate"),
        &genesis[0].key,
        "charter-activate",
        &charter_id,
        json!({}),
        200,
    )?;
    expect_eq(&charter["status"], &json!({"kind": "Active"}), "POST /v1/charters/{id}/activate", "status")?;
    println!("[demo] {:6.1}s charter {domain_id} founded by {FOUNDERS} and active", elapsed());

    let steward_keys = [&genesis[0].key, &genesis[1].key];
    let mut people = Vec::with_capacity(PEOPLE);
    for i in 0..PEOPLE {
        let mut person = Principal::generate();
        let steward = i % 2;
        let session = client.expect(
            "POST",
            "/v1/enrollments",
            Some(&json!({"identity_name": format!("Person {}", i + 1), "domain_id": domain_id})),
            false,
            201,
        )?;
        let enrollment_id = string_field(&session, "enrollment_id", "POST /v1/enrollments")?;
        let code = string_field(&session, "verification_code", "POST /v1/enrollments")?;
        let base = format!("/v1/enrollments/{enrollment_id}");
        client.signed_post(
            &format!("{base}/verify"),
            &person.key,
            "enroll-verify",
            &enrollment_id,
            json!({"verification_code": code}),
            200,
        )?;
        client.signed_post(
            &format!("{base}/vouch"),
            steward_keys[steward],
            "enroll-vouch",
            &enrollment_id,
            json!({"person_did": person.did}),
            200,
        )?;
        let anchor = client.signed_post(
            &format!("{base}/complete"),
            &person.key,
            "enroll-complete",
            &enrollment_id,
            json!({}),
            201,
        )?;
        let context = format!("POST {base}/complete");
        expect_eq(&anchor["did"], &json!(person.did), &context, "did")?;
        expect_eq(
            &anchor["pathway"],
            &json!({"kind": "StewardVouched", "steward_did": stewards[steward].1}),
            &context,
            "pathway",
        )?;
        let attestations = anchor["attestations"].as_array().map_or(&[][..], Vec::as_slice);
        ensure!(
            attestations.len() == 1 && attestations[0]["level"] == "Strong",
            "{context}: expected one Strong attestation, got {anchor}"
        );
        person.anchor_id = string_field(&anchor, "anchor_id", &context)?;
        people.push(person);
        if (i + 1) % 50 == 0 {
            println!("[demo] {:6.1}s {} people enrolled", elapsed(), i + 1);
        }
    }
    Ok(World { genesis, stewards, people, domain_id, charter_id, changed: HashMap::new() })
}

/// Governance act, step 1: the operator promotes the first [`PROMOTED`]
/// people to Member and grants the proposer Vote, Propose and Transact.
fn promote_members(client: &Client<'_>, world: &mut World, gov: &mut Governance) -> Result<()> {
    let domain = world.domain_id.clone();
    for i in 0..PROMOTED {
        let id = world.people[i].anchor_id.clone();
        let path = format!("/v1/holders/{id}/affiliations/{domain}/promote");
        let holder = client.admin_post(&path, json!({"reason": "demo: probation completed"}), 200)?;
        if let Some(problem) = affiliation_problem(&holder, &domain, Expected::MEMBER) {
            bail!("POST {path}: {problem}: {holder}");
        }
        world.changed.insert(id, Expected::MEMBER);
        gov.promoted += 1;
    }
    let id = world.people[PROPOSER].anchor_id.clone();
    let path = format!("/v1/holders/{id}/affiliations/{domain}/capabilities");
    let body = json!({"capabilities": ["Vote", "Propose", "Transact"]});
    let holder = client.expect("PUT", &path, Some(&body), true, 200)?;
    let want = Expected { status: "Member", propose: true };
    if let Some(problem) = affiliation_problem(&holder, &domain, want) {
        bail!("PUT {path}: {problem}: {holder}");
    }
    world.changed.insert(id, want);
    Ok(())
}

/// Governance act, step 2: the proposer proposes an amendment with one
/// change and submits it; steward 1 opens the vote (signed).
fn propose_amendment(client: &Client<'_>, world: &World, gov: &mut Governance) -> Result<()> {
    let proposer = &world.people[PROPOSER];
    let change = json!({"target": "membership_policy.open_enrollment", "change": "Modify", "new_value": "true"});
    let amendment = client.signed_post(
        "/v1/amendments",
        &proposer.key,
        "amendment-propose",
        "-",
        json!({
            "charter_id": world.charter_id,
            "title": "Open enrollment",
            "description": "Let people who verified their key join without waiting for a steward's vouch.",
            "changes": [change],
        }),
        201,
    )?;
    let context = "POST /v1/amendments";
    expect_eq(&amendment["status"], &json!({"kind": "Draft"}), context, "status")?;
    expect_eq(&amendment["proposer_did"], &json!(proposer.did), context, "proposer_did")?;
    expect_eq(&amendment["charter_id"], &json!(world.charter_id), context, "charter_id")?;
    expect_eq(&amendment["changes"], &json!([change]), context, "changes")?;
    let id = string_field(&amendment, "amendment_id", context)?;
    gov.amendment_id = id.clone();
    gov.amendment_status = "Draft";

    let path = format!("/v1/amendments/{id}/submit");
    let amendment = client.signed_post(&path, &proposer.key, "amendment-submit", &id, json!({}), 200)?;
    expect_eq(&amendment["status"], &json!({"kind": "Submitted"}), &format!("POST {path}"), "status")?;
    gov.amendment_status = "Submitted";

    // Steward 1 has no jurisdiction: a commons-wide steward serves every charter.
    let path = format!("/v1/amendments/{id}/open-voting");
    let amendment = client.signed_post(&path, &world.genesis[0].key, "amendment-open-voting", &id, json!({}), 200)?;
    expect_eq(&amendment["status"]["kind"], &json!("Voting"), &format!("POST {path}"), "status.kind")?;
    gov.amendment_status = "Voting";
    Ok(())
}

/// True when the voter with this index approves (all but every fifth).
fn approves(voter: usize) -> bool {
    voter % 5 != 4
}

/// Governance act, step 3: the voters with these indices vote (signed).
fn cast_votes(client: &Client<'_>, world: &World, gov: &mut Governance, voters: Range<usize>) -> Result<()> {
    let id = gov.amendment_id.clone();
    let path = format!("/v1/amendments/{id}/votes");
    for i in voters {
        let voter = &world.people[i];
        let approve = approves(i);
        let amendment = client.signed_post(&path, &voter.key, "vote", &id, json!({"approve": approve}), 201)?;
        let votes = amendment["votes"].as_array().map_or(0, Vec::len);
        ensure!(votes == gov.votes.len() + 1, "POST {path}: expected {} votes, got {votes}", gov.votes.len() + 1);
        gov.votes.push((voter.did.clone(), approve));
    }
    Ok(())
}

/// Governance act, step 4: the operator closes the vote early; the
/// amendment must be Ratified. Returns the tally.
fn close_vote(client: &Client<'_>, gov: &mut Governance) -> Result<Value> {
    let path = format!("/v1/amendments/{}/close", gov.amendment_id);
    let amendment = client.admin_post(&path, json!({}), 200)?;
    let context = format!("POST {path}");
    let approvals = (0..VOTERS).filter(|&i| approves(i)).count();
    let tally =
        json!({"eligible": PROMOTED, "votes": VOTERS, "approvals": approvals, "uncounted": 0, "ratified": true});
    expect_eq(&amendment["tally"], &tally, &context, "tally")?;
    expect_eq(&amendment["status"]["kind"], &json!("Ratified"), &context, "status.kind")?;
    gov.amendment_status = "Ratified";
    Ok(amendment["tally"].clone())
}

/// The request body of an operator revocation of `holder_id`'s membership.
fn membership_revocation(holder_id: &str, domain_id: &str, immediate: bool) -> Value {
    json!({
        "target": {"kind": "Membership", "holder_id": holder_id, "jurisdiction": domain_id},
        "reason": {"kind": "PolicyViolation"},
        "immediate": immediate,
    })
}

/// Reads a holder and fails unless its affiliation is as `want` says.
fn expect_affiliation(client: &Client<'_>, world: &World, holder_id: &str, want: Expected) -> Result<()> {
    let path = format!("/v1/holders/{holder_id}");
    let holder = client.expect("GET", &path, None, false, 200)?;
    match affiliation_problem(&holder, &world.domain_id, want) {
        None => Ok(()),
        Some(problem) => bail!("GET {path}: {problem}: {holder}"),
    }
}

/// Governance act, step 5: the operator revokes the appellant's membership
/// (not immediate: Suspended), the member appeals (the revocation goes
/// Pending) and the operator puts the appeal under review.
fn revoke_and_appeal(client: &Client<'_>, world: &mut World, gov: &mut Governance) -> Result<()> {
    let holder_id = world.people[APPELLANT].anchor_id.clone();
    let body = membership_revocation(&holder_id, &world.domain_id, false);
    let record = client.admin_post("/v1/revocations", body, 201)?;
    let context = "POST /v1/revocations";
    expect_eq(&record["immediate"], &json!(false), context, "immediate")?;
    expect_eq(&record["appeal_status"], &json!({"kind": "None"}), context, "appeal_status")?;
    let revocation_id = string_field(&record, "revocation_id", context)?;
    gov.revocations.push(RevocationSeen {
        revocation_id: revocation_id.clone(),
        holder_id: holder_id.clone(),
        immediate: false,
        appeal_status: "None",
        appeal_id: None,
    });
    let suspended = Expected { status: "Suspended", propose: false };
    expect_affiliation(client, world, &holder_id, suspended)?;
    world.changed.insert(holder_id.clone(), suspended);

    let appeal = client.signed_post(
        "/v1/appeals",
        &world.people[APPELLANT].key,
        "appeal-file",
        "-",
        json!({
            "kind": {"kind": "Revocation", "revocation_id": revocation_id},
            "grounds": "The policy violation was another member's, recorded against me by mistake.",
            "statement": "The minutes of the meeting show who said what.",
            "requested_remedy": {"kind": "Reinstate"},
        }),
        201,
    )?;
    let context = "POST /v1/appeals";
    expect_eq(&appeal["status"], &json!({"kind": "Filed"}), context, "status")?;
    let appeal_id = string_field(&appeal, "appeal_id", context)?;
    gov.appeal = Some((appeal_id.clone(), "Filed"));
    let path = format!("/v1/revocations/{revocation_id}");
    let record = client.expect("GET", &path, None, false, 200)?;
    let pending = json!({"kind": "Pending", "appeal_id": appeal_id});
    expect_eq(&record["appeal_status"], &pending, &format!("GET {path}"), "appeal_status")?;
    gov.revocations[0].appeal_status = "Pending";
    gov.revocations[0].appeal_id = Some(appeal_id.clone());

    let path = format!("/v1/appeals/{appeal_id}/review");
    let appeal = client.admin_post(&path, json!({}), 200)?;
    expect_eq(&appeal["status"]["kind"], &json!("UnderReview"), &format!("POST {path}"), "status.kind")?;
    gov.appeal = Some((appeal_id, "UnderReview"));
    Ok(())
}

/// Governance act, step 6: the operator resolves the appeal Upheld (the
/// revocation is Upheld and the member back to Member), then bans another
/// member (an immediate revocation).
fn resolve_and_ban(client: &Client<'_>, world: &mut World, gov: &mut Governance) -> Result<()> {
    let (appeal_id, _) = gov.appeal.clone().ok_or_else(|| anyhow!("no appeal to resolve"))?;
    let path = format!("/v1/appeals/{appeal_id}/resolve");
    let body = json!({"outcome": "Upheld", "notes": "The minutes bear the appellant out."});
    let appeal = client.admin_post(&path, body, 200)?;
    let context = format!("POST {path}");
    expect_eq(&appeal["status"]["kind"], &json!("Resolved"), &context, "status.kind")?;
    expect_eq(&appeal["status"]["outcome"], &json!("Upheld"), &context, "status.outcome")?;
    gov.appeal = Some((appeal_id, "Resolved/Upheld"));
    let path = format!("/v1/revocations/{}", gov.revocations[0].revocation_id);
    let record = client.expect("GET", &path, None, false, 200)?;
    expect_eq(&record["appeal_status"]["kind"], &json!("Upheld"), &format!("GET {path}"), "appeal_status.kind")?;
    gov.revocations[0].appeal_status = "Upheld";
    gov.revocations[0].appeal_id = None;
    let holder_id = world.people[APPELLANT].anchor_id.clone();
    expect_affiliation(client, world, &holder_id, Expected::MEMBER)?;
    world.changed.insert(holder_id, Expected::MEMBER);

    let holder_id = world.people[BANNED].anchor_id.clone();
    let record =
        client.admin_post("/v1/revocations", membership_revocation(&holder_id, &world.domain_id, true), 201)?;
    let context = "POST /v1/revocations";
    expect_eq(&record["immediate"], &json!(true), context, "immediate")?;
    expect_eq(&record["appeal_status"], &json!({"kind": "None"}), context, "appeal_status")?;
    gov.revocations.push(RevocationSeen {
        revocation_id: string_field(&record, "revocation_id", context)?,
        holder_id: holder_id.clone(),
        immediate: true,
        appeal_status: "None",
        appeal_id: None,
    });
    let banned = Expected { status: "Banned", propose: false };
    expect_affiliation(client, world, &holder_id, banned)?;
    world.changed.insert(holder_id, banned);
    Ok(())
}

/// Steps 6 and 7, and every later check: reads the enrollment back, with the
/// affiliations as the governance act left them. Transport failures abort; wrong
/// answers are collected as problems and reflected in the counts.
fn check_world(client: &Client<'_>, world: &World) -> Result<(Counts, Vec<String>)> {
    let mut problems = Vec::new();
    let mut counts = Counts { anchors: 0, holders: 0, affiliations: 0, founders: 0, attestations: 0 };
    let everyone = world.genesis.iter().map(|p| (p, false));
    let everyone = everyone.chain(world.people.iter().map(|p| (p, true)));
    for (principal, enrolled) in everyone {
        let path = format!("/v1/anchors/by-did/{}", principal.did);
        let (status, anchor) = client.get(&path)?;
        if status != 200 {
            problems.push(format!("GET {path}: {status} {anchor}"));
        } else if anchor["did"] != principal.did.as_str() || anchor["anchor_id"] != principal.anchor_id.as_str() {
            problems.push(format!("GET {path}: did or anchor_id differ: {anchor}"));
        } else {
            counts.anchors += 1;
        }

        let path = format!("/v1/holders/{}", principal.anchor_id);
        let (status, holder) = client.get(&path)?;
        if status != 200 {
            problems.push(format!("GET {path}: {status} {holder}"));
            continue;
        }
        if holder["did"] != principal.did.as_str() {
            problems.push(format!("GET {path}: did differs: {holder}"));
            continue;
        }
        counts.holders += 1;
        if enrolled {
            match affiliation_problem(&holder, &world.domain_id, world.expected(&principal.anchor_id)) {
                None => counts.affiliations += 1,
                Some(problem) => problems.push(format!("GET {path}: {problem}: {holder}")),
            }
        }
    }

    let path = format!("/v1/charters/by-domain/{}", world.domain_id);
    let (status, charter) = client.get(&path)?;
    if status != 200 {
        problems.push(format!("GET {path}: {status} {charter}"));
    } else {
        if charter["status"] != json!({"kind": "Active"}) {
            problems.push(format!("GET {path}: charter is not Active: {}", charter["status"]));
        }
        let founders: Vec<&str> = charter["founders"]
            .as_array()
            .map(|list| list.iter().filter_map(|f| f["did"].as_str()).collect())
            .unwrap_or_default();
        let expected: Vec<&str> = world.genesis[..FOUNDERS].iter().map(|p| p.did.as_str()).collect();
        counts.founders = founders.iter().filter(|did| expected.contains(did)).count();
        if founders.len() != FOUNDERS || counts.founders != FOUNDERS {
            problems.push(format!("GET {path}: founders {founders:?}, expected {expected:?}"));
        }
    }

    for (steward_id, did) in &world.stewards {
        let path = format!("/v1/stewards/{steward_id}");
        let (status, steward) = client.get(&path)?;
        if status != 200 {
            problems.push(format!("GET {path}: {status} {steward}"));
            continue;
        }
        if steward["did"] != did.as_str() {
            problems.push(format!("GET {path}: did differs: {steward}"));
        }
        match steward["attestations_issued"].as_u64() {
            Some(issued) => {
                if issued != (PEOPLE / 2) as u64 {
                    problems.push(format!("GET {path}: attestations_issued {issued}, expected {}", PEOPLE / 2));
                }
                counts.attestations += usize::try_from(issued).unwrap_or(usize::MAX);
            }
            None => problems.push(format!("GET {path}: no attestations_issued: {steward}")),
        }
    }
    Ok((counts, problems))
}

/// Reads the governance act back, comparing with what was acknowledged.
/// Transport failures abort; wrong answers are collected as problems and
/// reflected in the counts.
fn check_governance(client: &Client<'_>, world: &World, gov: &Governance) -> Result<(GovCounts, Vec<String>)> {
    let mut problems = Vec::new();
    let domain = &world.domain_id;

    let mut promoted = 0;
    for person in &world.people[..gov.promoted] {
        let path = format!("/v1/holders/{}", person.anchor_id);
        let (status, holder) = client.get(&path)?;
        match affiliation_problem(&holder, domain, world.expected(&person.anchor_id)) {
            _ if status != 200 => problems.push(format!("GET {path}: {status} {holder}")),
            None => promoted += 1,
            Some(problem) => problems.push(format!("GET {path}: {problem}: {holder}")),
        }
    }

    let path = format!("/v1/amendments/{}", gov.amendment_id);
    let (status, amendment) = client.get(&path)?;
    let mut votes = 0;
    let status_kind = if status == 200 {
        let recorded = amendment["votes"].as_array().map_or(&[][..], Vec::as_slice);
        for (did, approve) in &gov.votes {
            if recorded.iter().any(|v| v["voter_did"] == did.as_str() && v["approve"] == *approve) {
                votes += 1;
            } else {
                problems.push(format!("GET {path}: the vote of {did} (approve {approve}) is missing or differs"));
            }
        }
        if recorded.len() != gov.votes.len() {
            problems.push(format!("GET {path}: {} votes recorded, {} acknowledged", recorded.len(), gov.votes.len()));
        }
        amendment["status"]["kind"].as_str().unwrap_or("?").to_string()
    } else {
        problems.push(format!("GET {path}: {status} {amendment}"));
        "missing".to_string()
    };

    let mut listed = [0; 2];
    for (count, status) in listed.iter_mut().zip(["Member", "Banned"]) {
        let (dids, problem) = list_members(client, domain, status)?;
        problems.extend(problem);
        *count = dids.len();
        let expected = world.dids_with(status);
        let found: BTreeSet<String> = dids.into_iter().collect();
        if found != expected || *count != expected.len() {
            problems.push(format!(
                "members of {domain} with status {status}: listed {} ({} distinct), expected {}; {} missing, {} unexpected",
                *count,
                found.len(),
                expected.len(),
                expected.difference(&found).count(),
                found.difference(&expected).count()
            ));
        }
    }

    let mut revocations = 0;
    for person in &world.people[..PROMOTED] {
        let path = format!("/v1/revocations?target=membership:{}:{domain}", person.anchor_id);
        let (status, page) = client.get(&path)?;
        if status != 200 {
            problems.push(format!("GET {path}: {status} {page}"));
            continue;
        }
        for record in page["items"].as_array().map_or(&[][..], Vec::as_slice) {
            match gov.revocations.iter().find(|r| record["revocation_id"] == r.revocation_id.as_str()) {
                Some(seen) => match revocation_problem(record, seen, domain) {
                    None => revocations += 1,
                    Some(problem) => problems.push(format!("GET {path}: {problem}: {record}")),
                },
                None => problems.push(format!("GET {path}: a revocation the demo never made: {record}")),
            }
        }
    }
    if revocations != gov.revocations.len() {
        problems.push(format!("{revocations} of {} acknowledged revocations found as expected", gov.revocations.len()));
    }

    let path = format!("/v1/appeals?appellant={}", world.people[APPELLANT].did);
    let (status, page) = client.get(&path)?;
    let appeal = if status == 200 {
        let items = page["items"].as_array().map_or(&[][..], Vec::as_slice);
        match (items, &gov.appeal) {
            ([], None) => "none".to_string(),
            ([item], Some((id, _))) if item["appeal_id"] == id.as_str() => describe_appeal(item),
            _ => {
                problems.push(format!("GET {path}: {} appeal(s), expected {:?}: {page}", items.len(), gov.appeal));
                format!("{} appeal(s)", items.len())
            }
        }
    } else {
        problems.push(format!("GET {path}: {status} {page}"));
        "missing".to_string()
    };

    let counts = GovCounts {
        promoted,
        votes,
        amendment: status_kind,
        members: listed[0],
        revocations,
        appeal,
        banned: listed[1],
    };
    Ok((counts, problems))
}

/// `None` if the listed revocation is the acknowledged one in its
/// acknowledged state; otherwise what differs.
fn revocation_problem(record: &Value, seen: &RevocationSeen, domain_id: &str) -> Option<String> {
    let target = json!({"kind": "Membership", "holder_id": seen.holder_id, "jurisdiction": domain_id});
    if record["target"] != target {
        return Some(format!("target differs, expected {target}"));
    }
    if record["immediate"] != seen.immediate {
        return Some(format!("immediate differs, expected {}", seen.immediate));
    }
    if record["appeal_status"]["kind"] != seen.appeal_status {
        return Some(format!("appeal_status differs, expected kind {}", seen.appeal_status));
    }
    if let Some(appeal_id) = &seen.appeal_id {
        if record["appeal_status"]["appeal_id"] != appeal_id.as_str() {
            return Some(format!("appeal_status differs, expected pending appeal {appeal_id}"));
        }
    }
    None
}

/// An appeal's status as the table shows it: the kind, and the outcome
/// when resolved (`Resolved/Upheld`).
fn describe_appeal(appeal: &Value) -> String {
    let kind = appeal["status"]["kind"].as_str().unwrap_or("?");
    match appeal["status"]["outcome"].as_str() {
        Some(outcome) => format!("{kind}/{outcome}"),
        None => kind.to_string(),
    }
}

/// Walks `GET /v1/jurisdictions/{domain}/members?status=..` page by page
/// ([`MEMBERS_PAGE`] per page, at most [`MAX_PAGES`] pages), following
/// `next_cursor`. Returns the DIDs listed and a problem if the walk failed.
fn list_members(client: &Client<'_>, domain_id: &str, status: &str) -> Result<(Vec<String>, Option<String>)> {
    let mut dids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut path = format!("/v1/jurisdictions/{domain_id}/members?status={status}&limit={MEMBERS_PAGE}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let (code, page) = client.get(&path)?;
        if code != 200 {
            return Ok((dids, Some(format!("GET {path}: {code} {page}"))));
        }
        for item in page["items"].as_array().map_or(&[][..], Vec::as_slice) {
            let listed_status = item["affiliations"]
                .as_array()
                .and_then(|list| list.iter().find(|a| a["jurisdiction"] == domain_id))
                .map(|a| &a["status"]);
            if listed_status != Some(&json!(status)) {
                return Ok((dids, Some(format!("GET {path}: listed a holder whose status is not {status}: {item}"))));
            }
            dids.push(item["did"].as_str().unwrap_or("?").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return Ok((dids, None)),
        }
    }
    Ok((dids, Some(format!("members of {domain_id} with status {status}: more than {MAX_PAGES} pages"))))
}

/// `None` if the holder has exactly one affiliation, in `domain_id`, as
/// `want` says: its status, and Vote and Transact (and Propose when wanted),
/// or no capabilities at all when Banned; otherwise what is wrong.
fn affiliation_problem(holder: &Value, domain_id: &str, want: Expected) -> Option<String> {
    let Some(affiliations) = holder["affiliations"].as_array() else {
        return Some("no affiliations list".to_string());
    };
    let [affiliation] = affiliations.as_slice() else {
        return Some(format!("{} affiliations, expected 1", affiliations.len()));
    };
    if affiliation["jurisdiction"] != domain_id {
        return Some(format!("affiliation jurisdiction is not {domain_id}"));
    }
    if affiliation["status"] != want.status {
        return Some(format!("affiliation status is {}, expected {:?}", affiliation["status"], want.status));
    }
    let capabilities = affiliation["capabilities"].as_array().map_or(&[][..], Vec::as_slice);
    if want.status == "Banned" {
        return (!capabilities.is_empty()).then(|| "a Banned affiliation still has capabilities".to_string());
    }
    let propose: &[&str] = if want.propose { &["Propose"] } else { &[] };
    for wanted in ["Vote", "Transact"].iter().chain(propose) {
        if !capabilities.iter().any(|c| c.as_str() == Some(wanted)) {
            return Some(format!("affiliation lacks capability {wanted}"));
        }
    }
    None
}

fn expect_eq(got: &Value, want: &Value, context: &str, field: &str) -> Result<()> {
    ensure!(got == want, "{context}: `{field}` is {got}, expected {want}");
    Ok(())
}

fn string_field(value: &Value, field: &str, context: &str) -> Result<String> {
    value[field].as_str().map(str::to_string).ok_or_else(|| anyhow!("{context}: no string `{field}` in {value}"))
}

/// Prints the table: one row per count, the value written (acknowledged by
/// the end), then per stop kind one entry per restart in order (`-`: not yet
/// part of the demo then). An entry that differs from what was acknowledged
/// before that stop reads `found (want X)` and marks its row.
fn print_table(written: Counts, gov_written: &GovCounts, checkpoints: &[Checkpoint]) {
    type Entry = Option<(String, String)>;
    let mut rows: Vec<(&str, String, [Vec<Entry>; 2])> = Vec::new();
    let slot = |stop: Stop| usize::from(stop == Stop::Term);
    for (i, name) in Counts::ROWS.iter().enumerate() {
        let want = written.values()[i].to_string();
        let mut entries: [Vec<Entry>; 2] = Default::default();
        for point in checkpoints {
            entries[slot(point.stop)].push(Some((point.base.values()[i].to_string(), want.clone())));
        }
        rows.push((name, want, entries));
    }
    for (i, name) in GovCounts::ROWS.iter().enumerate() {
        let mut entries: [Vec<Entry>; 2] = Default::default();
        for point in checkpoints {
            let entry = point.gov.as_ref().map(|(found, want)| (found.values()[i].clone(), want.values()[i].clone()));
            entries[slot(point.stop)].push(entry);
        }
        rows.push((name, gov_written.values()[i].clone(), entries));
    }
    let cell = |entries: &[Entry]| {
        let parts: Vec<String> = entries
            .iter()
            .map(|entry| match entry {
                None => "-".to_string(),
                Some((found, want)) if found == want => found.clone(),
                Some((found, want)) => format!("{found} (want {want})"),
            })
            .collect();
        parts.join(", ")
    };
    let header = ["", "written", "after SIGKILL restarts", "after SIGTERM restarts"].map(String::from);
    let lines: Vec<([String; 4], bool)> = rows
        .iter()
        .map(|(name, written, entries)| {
            let differs = entries.iter().flatten().flatten().any(|(found, want)| found != want);
            ([name.to_string(), written.clone(), cell(&entries[0]), cell(&entries[1])], differs)
        })
        .collect();
    let mut widths = header.clone().map(|h| h.len());
    for (line, _) in &lines {
        for (width, text) in widths.iter_mut().zip(line) {
            *width = (*width).max(text.chars().count());
        }
    }
    let format_line = |line: &[String; 4]| {
        format!(
            "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}",
            line[0],
            line[1],
            line[2],
            line[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        )
    };
    let mut table = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(table, "{}", format_line(&header));
    for (i, (line, differs)) in lines.iter().enumerate() {
        if i == Counts::ROWS.len() {
            let _ = writeln!(table, "-- governance act --");
        }
        let mark = if *differs { "  <-- differs" } else { "" };
        let _ = writeln!(table, "{}{mark}", format_line(line));
    }
    for (stop, name) in [(Stop::Kill, "SIGKILL"), (Stop::Term, "SIGTERM")] {
        let labels: Vec<String> = checkpoints
            .iter()
            .filter(|point| point.stop == stop)
            .enumerate()
            .map(|(i, point)| format!("{} {}", i + 1, point.label))
            .collect();
        let _ = writeln!(table, "{name} restarts, in order: {}", labels.join("; "));
    }
    print!("{table}");
}

/// Prints the last lines of the server log (after a failure).
fn print_log_tail(log: &Path) {
    let mut text = String::new();
    if File::open(log).and_then(|mut f| f.read_to_string(&mut text)).is_err() {
        return;
    }
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return;
    }
    let start = lines.len().saturating_sub(30);
    eprintln!("[demo] last {} line(s) of {}:", lines.len() - start, log.display());
    for line in &lines[start..] {
        eprintln!("    {line}");
    }
}
