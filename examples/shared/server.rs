//! The server processes: the [`Stage`] (binary, where the commons is kept,
//! admin token and logs, the same for every start), starting a [`Server`]
//! (the first gateway, or with PostgreSQL a second one on the same database)
//! and waiting for `/v1/health`, stopping it with SIGKILL or SIGTERM, running
//! `commons-gateway verify` on the store, and printing the server logs'
//! tails after a failure. Every wait here is bounded.
//!
//! Shared by the `demo` and `soak` examples and the load tool (`load/`;
//! each includes it with `#[path]`); each uses a part, hence the `dead_code` allowance. A
//! [`Server`] remembers when it was spawned and how long `/v1/health` took
//! to answer 200, which the soak reports as restart times.

#![allow(dead_code)]

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File};
use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use crate::client::{self, Client};

/// Longest wait for `/v1/health` to answer 200 after a start.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause between health polls: short, since the time to the first 200 is
/// reported as the server's start time.
const HEALTH_POLL: Duration = Duration::from_millis(5);
/// Longest wait for the server to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for `commons-gateway verify` to exit.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(120);
/// Pause between polls for a child process's exit.
const EXIT_POLL: Duration = Duration::from_millis(50);
/// The log of the first gateway (the only one on a folder engine), in the
/// run's directory.
pub const LOG: &str = "server.log";
/// The log of the second gateway (PostgreSQL only), in the run's directory.
pub const SECOND_LOG: &str = "server-b.log";

/// Where the commons is kept: what `serve` and `verify` are told.
pub enum StoreAt {
    /// The data directory of a folder engine (fjall, sled): `--data-dir`.
    /// One gateway process at a time.
    DataDir(PathBuf),
    /// A PostgreSQL database (`--database-url`): several gateway processes
    /// may serve it at once.
    Database(String),
}

impl StoreAt {
    /// Whether several gateways may serve the store at once.
    pub fn shared(&self) -> bool {
        matches!(self, StoreAt::Database(_))
    }

    /// The flag and its value, as `serve` and `verify` take them.
    fn args(&self) -> [OsString; 2] {
        match self {
            StoreAt::DataDir(dir) => ["--data-dir".into(), dir.into()],
            StoreAt::Database(url) => ["--database-url".into(), url.into()],
        }
    }
}

impl fmt::Display for StoreAt {
    /// `--data-dir DIR` or `--database-url URL` (the examples' URLs carry no
    /// password: the xtask's test server trusts local connections).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreAt::DataDir(dir) => write!(f, "--data-dir {}", dir.display()),
            StoreAt::Database(url) => write!(f, "--database-url {url}"),
        }
    }
}

/// Everything needed to start the server the same way each time, and to talk
/// to it once started.
pub struct Stage<'a> {
    binary: &'a Path,
    engine: &'a str,
    store: StoreAt,
    token_file: PathBuf,
    token: String,
    log: PathBuf,
    second_log: PathBuf,
    verify_log: PathBuf,
    agent: ureq::Agent,
    deadline: Instant,
    /// What prefixes the lines printed (`demo`, `soak`).
    tag: &'static str,
    /// Whether a start prints its line (pid, address, engine).
    announce: bool,
    /// More `serve` flags, after the ones every start passes (see
    /// [`Stage::with_serve_args`]).
    serve_args: Vec<String>,
}

impl<'a> Stage<'a> {
    /// Writes a fresh admin token file into `dir`, where the logs will be
    /// too ([`LOG`], [`SECOND_LOG`]). No request is started after `deadline`.
    /// Lines printed start with `[tag]`; each start prints one (see
    /// [`Stage::quiet`]).
    pub fn prepare(
        binary: &'a Path,
        engine: &'a str,
        store: StoreAt,
        dir: &Path,
        deadline: Instant,
        tag: &'static str,
    ) -> Result<Self> {
        let token = hex::encode(rand::random::<[u8; 32]>());
        let token_file = dir.join("admin.token");
        fs::write(&token_file, &token).context("writing the admin token file")?;
        Ok(Self {
            binary,
            engine,
            store,
            token_file,
            token,
            log: dir.join(LOG),
            second_log: dir.join(SECOND_LOG),
            verify_log: dir.join("verify.log"),
            agent: client::agent(),
            deadline,
            tag,
            announce: true,
            serve_args: Vec::new(),
        })
    }

    /// The same stage, each start also passing `args` to `serve` (e.g.
    /// `--durability buffered`).
    pub fn with_serve_args(self, args: &[&str]) -> Self {
        Self { serve_args: args.iter().map(|arg| arg.to_string()).collect(), ..self }
    }

    /// The operator token every start is given.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The same stage, but a start prints nothing (for a caller that starts
    /// the server many times and reports its own line).
    pub fn quiet(self) -> Self {
        Self { announce: false, ..self }
    }

    /// Where the commons is kept.
    pub fn store(&self) -> &StoreAt {
        &self.store
    }

    /// Starts the first gateway (see [`Server::start`]): `server` on a
    /// folder engine, `gateway A` when a second one may join.
    pub fn start(&self) -> Result<Server> {
        let name = if self.store.shared() { "gateway A" } else { "server" };
        Server::start(self, name, &self.log)
    }

    /// Starts `gateway B`, a second gateway on the same database (only when
    /// the store is [shared](StoreAt::shared); refused otherwise, since a
    /// folder store is locked by the first).
    pub fn start_second(&self) -> Result<Server> {
        ensure!(self.store.shared(), "a second gateway needs a store several gateways may serve ({})", self.store);
        Server::start(self, "gateway B", &self.second_log)
    }

    /// A client for these running gateways (requests go to them in turn).
    pub fn client(&self, servers: &[&Server]) -> Client<'_> {
        let gateways = servers.iter().map(|server| (server.name, server.base.clone())).collect();
        Client::new(&self.agent, gateways, &self.token, self.deadline)
    }

    /// Runs `<binary> verify --data-dir DIR` (or `--database-url URL`; every
    /// gateway must be stopped), bounded by [`VERIFY_TIMEOUT`]; returns its
    /// exit status and output.
    pub fn verify(&self) -> Result<(ExitStatus, String)> {
        let out_path = &self.verify_log;
        let out = File::create(out_path).with_context(|| format!("creating {}", out_path.display()))?;
        let mut child = Command::new(self.binary)
            .arg("verify")
            .args(self.store.args())
            // Only the report (and warnings), not the engine's recovery log.
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(out.try_clone().context("duplicating the verify output handle")?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {} verify", self.binary.display()))?;
        let Some(status) = wait_for_exit(&mut child, VERIFY_TIMEOUT, "verify")? else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("`commons-gateway verify` did not exit within {}s (killed)", VERIFY_TIMEOUT.as_secs());
        };
        let output = fs::read_to_string(out_path).with_context(|| format!("reading {}", out_path.display()))?;
        Ok((status, output))
    }
}

/// A running `commons-gateway serve` process. Dropping it kills the process
/// (SIGKILL) and reaps it, so a failing run never leaves a server behind.
pub struct Server {
    child: Child,
    base: String,
    name: &'static str,
    /// When the process was spawned.
    spawned: Instant,
    /// From the spawn to the first 200 of `/v1/health`.
    healthy_after: Duration,
}

impl Server {
    /// Starts the server called `name` on a fresh free port, its output
    /// appended to `log`, and waits until `/v1/health` answers 200 with the
    /// expected, persistent engine.
    fn start(stage: &Stage<'_>, name: &'static str, log_path: &Path) -> Result<Self> {
        let port = free_port()?;
        let bind = format!("127.0.0.1:{port}");
        let log = File::options()
            .create(true)
            .append(true)
            .open(log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let child = Command::new(stage.binary)
            .arg("serve")
            .args(stage.store.args())
            .args(["--bind", &bind])
            .arg("--admin-token-file")
            .arg(&stage.token_file)
            // The examples enroll their hundreds (the load tool its thousands) of
            // people from one address, as fast as they can: far past the
            // per-client default (a burst of 10, then 6 a minute) meant for the
            // public.
            .args(["--enrollment-burst", "1000000", "--enrollment-rate-per-minute", "1000000"])
            .args(&stage.serve_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("duplicating the log file handle")?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", stage.binary.display()))?;
        let spawned = Instant::now();
        let mut server = Self { child, base: format!("http://{bind}"), name, spawned, healthy_after: Duration::ZERO };
        let health = server.wait_healthy(&stage.agent, stage.deadline)?;
        server.healthy_after = spawned.elapsed();
        ensure!(
            health["backend"] == stage.engine,
            "/v1/health reports backend {} but the {} was asked for {:?}: {health}",
            health["backend"],
            stage.tag,
            stage.engine
        );
        ensure!(health["persistent"] == true, "/v1/health reports a non-persistent store: {health}");
        if stage.announce {
            println!(
                "[{}] {} pid {} up on {} in {:.1}s (backend {}, durability {})",
                stage.tag,
                server.name,
                server.child.id(),
                server.base,
                server.healthy_after.as_secs_f64(),
                health["backend"],
                health["durability"]
            );
        }
        Ok(server)
    }

    /// When the process was spawned.
    pub fn spawned(&self) -> Instant {
        self.spawned
    }

    /// From the spawn to the first 200 of `/v1/health`.
    pub fn healthy_after(&self) -> Duration {
        self.healthy_after
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// How the story names it: `server`, `gateway A` or `gateway B`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn wait_healthy(&mut self, agent: &ureq::Agent, deadline: Instant) -> Result<Value> {
        let give_up = Instant::now() + HEALTH_TIMEOUT;
        let url = format!("{}/v1/health", self.base);
        let mut last = String::from("no answer yet");
        loop {
            if let Some(status) = self.child.try_wait().context("polling the server")? {
                bail!("the {} exited before it became healthy ({status}); last health answer: {last}", self.name);
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
    pub fn kill(mut self) -> Result<()> {
        self.child.kill().with_context(|| format!("sending SIGKILL to the {}", self.name))?;
        self.child.wait().with_context(|| format!("reaping the killed {}", self.name))?;
        Ok(())
    }

    /// SIGTERM, then wait (bounded) for the exit status.
    pub fn terminate(mut self) -> Result<ExitStatus> {
        let pid = libc::pid_t::try_from(self.child.id()).with_context(|| format!("{} pid out of range", self.name))?;
        // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own
        // child, not yet reaped (so the pid cannot have been reused).
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            bail!("sending SIGTERM to the {}: {}", self.name, std::io::Error::last_os_error());
        }
        match wait_for_exit(&mut self.child, STOP_TIMEOUT, self.name)? {
            Some(status) => Ok(status),
            None => {
                bail!(
                    "the {} did not exit within {}s of SIGTERM (it will be killed)",
                    self.name,
                    STOP_TIMEOUT.as_secs()
                )
            }
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

/// Polls `child` until it exits (its status) or `timeout` has passed (`None`).
fn wait_for_exit(child: &mut Child, timeout: Duration, what: &str) -> Result<Option<ExitStatus>> {
    let give_up = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().with_context(|| format!("waiting for {what}"))? {
            return Ok(Some(status));
        }
        if Instant::now() >= give_up {
            return Ok(None);
        }
        sleep(EXIT_POLL);
    }
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Prints the last lines of the server log (after a failure), the heading
/// prefixed with `[tag]`.
pub fn print_log_tail(log: &Path, tag: &str) {
    let mut text = String::new();
    if File::open(log).and_then(|mut f| f.read_to_string(&mut text)).is_err() {
        return;
    }
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return;
    }
    let start = lines.len().saturating_sub(30);
    eprintln!("[{tag}] last {} line(s) of {}:", lines.len() - start, log.display());
    for line in &lines[start..] {
        eprintln!("    {line}");
    }
}
