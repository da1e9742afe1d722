//! End-to-end demo: a commons that survives `kill -9` and a clean restart.
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
//! 8. prints a table (written / after SIGKILL restart / after SIGTERM
//!    restart) and exits non-zero on any difference.
//!
//! Every acknowledged write must survive: the server's default durability is
//! `Sync` (DESIGN.md, "Durability contract"). The demo is bounded: health
//! waits at most 60 s (100 ms between tries), each request at most 10 s, a
//! stop at most 30 s, and the whole run at most [`DEMO_DEADLINE`]. The server
//! process is killed if the demo fails midway ([`Server`]'s `Drop`).
//! Unix only (signals).

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::Read as _;
use std::net::TcpListener;
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
}

/// The counts of the table, one column.
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

    println!("[demo] engine {}, binary {}, data dir {}", args.engine, args.binary.display(), launch.data_dir.display());
    let server = Server::start(&launch, &agent, deadline)?;
    let world = write_world(&client(&server), &elapsed)?;
    let written = world.written();
    println!("[demo] {:6.1}s all writes acknowledged", elapsed());

    server.kill()?;
    println!("[demo] {:6.1}s server killed with SIGKILL; restarting", elapsed());
    let server = Server::start(&launch, &agent, deadline)?;
    let (after_kill, mut problems) = check_world(&client(&server), &world)?;
    println!("[demo] {:6.1}s checked after SIGKILL restart", elapsed());

    let status = server.terminate()?;
    if !status.success() {
        problems.push(format!("server exited with {status} after SIGTERM (expected exit 0)"));
    }
    println!("[demo] {:6.1}s server stopped with SIGTERM ({status}); restarting", elapsed());
    let server = Server::start(&launch, &agent, deadline)?;
    let (after_term, more) = check_world(&client(&server), &world)?;
    problems.extend(more);
    println!("[demo] {:6.1}s checked after SIGTERM restart", elapsed());
    let status = server.terminate()?;
    if !status.success() {
        problems.push(format!("server exited with {status} after the final SIGTERM (expected exit 0)"));
    }

    print_table(written, after_kill, after_term);
    for (column, counts) in [("after SIGKILL restart", after_kill), ("after SIGTERM restart", after_term)] {
        for ((row, want), got) in Counts::ROWS.iter().zip(written.values()).zip(counts.values()) {
            if want != got {
                problems.push(format!("{row}: wrote {want}, found {got} {column}"));
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
    Ok(World { genesis, stewards, people, domain_id })
}

/// Steps 6 and 7: reads everything back. Transport failures abort; wrong
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
            match affiliation_problem(&holder, &world.domain_id) {
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

/// `None` if the holder has exactly one affiliation, in `domain_id`,
/// Provisional, with Vote and Transact; otherwise what is wrong.
fn affiliation_problem(holder: &Value, domain_id: &str) -> Option<String> {
    let Some(affiliations) = holder["affiliations"].as_array() else {
        return Some("no affiliations list".to_string());
    };
    let [affiliation] = affiliations.as_slice() else {
        return Some(format!("{} affiliations, expected 1", affiliations.len()));
    };
    if affiliation["jurisdiction"] != domain_id {
        return Some(format!("affiliation jurisdiction is not {domain_id}"));
    }
    if affiliation["status"] != "Provisional" {
        return Some("affiliation status is not \"Provisional\"".to_string());
    }
    let capabilities = affiliation["capabilities"].as_array().map_or(&[][..], Vec::as_slice);
    for wanted in ["Vote", "Transact"] {
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

fn print_table(written: Counts, after_kill: Counts, after_term: Counts) {
    let mut table = String::new();
    // Writing to a String cannot fail.
    let _ =
        writeln!(table, "{:<22}{:>10}{:>24}{:>24}", "", "written", "after SIGKILL restart", "after SIGTERM restart");
    let columns = [written.values(), after_kill.values(), after_term.values()];
    for (i, row) in Counts::ROWS.iter().enumerate() {
        let mark = if columns.iter().all(|c| c[i] == columns[0][i]) { "" } else { "  <-- differs" };
        let _ = writeln!(table, "{row:<22}{:>10}{:>24}{:>24}{mark}", columns[0][i], columns[1][i], columns[2][i]);
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
