//! The server process: the [`Stage`] (binary, data dir, admin token and log,
//! the same for every start), starting a [`Server`] and waiting for
//! `/v1/health`, stopping it with SIGKILL or SIGTERM, running
//! `commons-gateway verify` on the data dir, and printing the server log's
//! tail after a failure. Every wait here is bounded.

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
/// Pause between health polls.
const HEALTH_POLL: Duration = Duration::from_millis(100);
/// Longest wait for the server to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for `commons-gateway verify` to exit.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(120);
/// Pause between polls for a child process's exit.
const EXIT_POLL: Duration = Duration::from_millis(50);

/// Everything needed to start the server the same way each time, and to talk
/// to it once started.
pub struct Stage<'a> {
    binary: &'a Path,
    engine: &'a str,
    data_dir: PathBuf,
    token_file: PathBuf,
    token: String,
    log: &'a Path,
    verify_log: PathBuf,
    agent: ureq::Agent,
    deadline: Instant,
}

impl<'a> Stage<'a> {
    /// Writes a fresh admin token file into `dir`; the data dir will be
    /// `dir/data`. No request is started after `deadline`.
    pub fn prepare(binary: &'a Path, engine: &'a str, dir: &Path, log: &'a Path, deadline: Instant) -> Result<Self> {
        let token = hex::encode(rand::random::<[u8; 32]>());
        let token_file = dir.join("admin.token");
        fs::write(&token_file, &token).context("writing the admin token file")?;
        Ok(Self {
            binary,
            engine,
            data_dir: dir.join("data"),
            token_file,
            token,
            log,
            verify_log: dir.join("verify.log"),
            agent: client::agent(),
            deadline,
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Starts the server (see [`Server::start`]).
    pub fn start(&self) -> Result<Server> {
        Server::start(self)
    }

    /// A client for the running `server`.
    pub fn client(&self, server: &Server) -> Client<'_> {
        Client { agent: &self.agent, base: server.base.clone(), token: &self.token, deadline: self.deadline }
    }

    /// Runs `<binary> verify --data-dir <data dir>` (the server must be
    /// stopped), bounded by [`VERIFY_TIMEOUT`]; returns its exit status and
    /// output.
    pub fn verify(&self) -> Result<(ExitStatus, String)> {
        let out_path = &self.verify_log;
        let out = File::create(out_path).with_context(|| format!("creating {}", out_path.display()))?;
        let mut child = Command::new(self.binary)
            .arg("verify")
            .arg("--data-dir")
            .arg(&self.data_dir)
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
/// (SIGKILL) and reaps it, so a failing demo never leaves a server behind.
pub struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts the server on a fresh free port and waits until `/v1/health`
    /// answers 200 with the expected, persistent engine.
    fn start(stage: &Stage<'_>) -> Result<Self> {
        let port = free_port()?;
        let bind = format!("127.0.0.1:{port}");
        let log = File::options()
            .create(true)
            .append(true)
            .open(stage.log)
            .with_context(|| format!("opening {}", stage.log.display()))?;
        let child = Command::new(stage.binary)
            .arg("serve")
            .arg("--data-dir")
            .arg(&stage.data_dir)
            .args(["--bind", &bind])
            .arg("--admin-token-file")
            .arg(&stage.token_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("duplicating the log file handle")?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", stage.binary.display()))?;
        let mut server = Self { child, base: format!("http://{bind}") };
        let started = Instant::now();
        let health = server.wait_healthy(&stage.agent, stage.deadline)?;
        ensure!(
            health["backend"] == stage.engine,
            "/v1/health reports backend {} but this demo was asked for {:?}: {health}",
            health["backend"],
            stage.engine
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
    pub fn kill(mut self) -> Result<()> {
        self.child.kill().context("sending SIGKILL to the server")?;
        self.child.wait().context("reaping the killed server")?;
        Ok(())
    }

    /// SIGTERM, then wait (bounded) for the exit status.
    pub fn terminate(mut self) -> Result<ExitStatus> {
        let pid = libc::pid_t::try_from(self.child.id()).context("server pid out of range")?;
        // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own
        // child, not yet reaped (so the pid cannot have been reused).
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            bail!("sending SIGTERM to the server: {}", std::io::Error::last_os_error());
        }
        match wait_for_exit(&mut self.child, STOP_TIMEOUT, "the server")? {
            Some(status) => Ok(status),
            None => {
                bail!("the server did not exit within {}s of SIGTERM (it will be killed)", STOP_TIMEOUT.as_secs())
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

/// Prints the last lines of the server log (after a failure).
pub fn print_log_tail(log: &Path) {
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
