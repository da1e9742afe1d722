//! The `commons-gateway` binary as a process: [`ChildGuard`] (spawned,
//! killed and reaped when it drops, its output kept in files), [`run`] (a
//! subcommand to completion), [`Dirs`] and [`Server`] (`serve` on this
//! build's store location with an operator token, answering [`Call`]s over
//! real HTTP with the same [`Reply`]s as the in-process gateway).
//!
//! The store location is the build's: a data directory for the folder
//! engines (and the in-memory build, which refuses it), a fresh schema on the
//! server named by `COMMONS_TEST_DATABASE_URL` for a postgres build
//! ([`Dirs::store_args`]). A postgres build without that variable fails with
//! a message saying how to get a server; it never skips.
//!
//! Spawned processes never see `COMMONS_ADMIN_TOKEN` or `COMMONS_DATABASE_URL`
//! from the caller's environment: a test says where the store is, and who
//! the operator is, with flags.
//!
//! Servers are waited for by polling `/v1/health` (100 ms steps, at most
//! [`BOUND`]), never by fixed sleeps.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use commons_gateway::{CommonsBackend, CommonsManager, OpenBackend, StoreConfig};
use serde_json::Value;

use super::http::{Call, Reply, TOKEN};

/// Longest wait for a server to answer `/v1/health` or for a process to exit.
pub const BOUND: Duration = Duration::from_secs(30);

/// A local TCP port that was free a moment ago (bind port 0, read, drop).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Path of the `commons-gateway` binary cargo built for this test run.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_commons-gateway")
}

/// A spawned `commons-gateway` process; killed (SIGKILL) and reaped on drop.
/// Its stdout and stderr go to files next to `log_dir`, read with
/// [`ChildGuard::stderr`].
pub struct ChildGuard {
    child: Option<Child>,
    stderr_path: PathBuf,
    stdout_path: PathBuf,
}

impl ChildGuard {
    /// Spawns the binary with `args`; output files are
    /// `<log_dir>/<name>.stdout` and `<log_dir>/<name>.stderr`.
    pub fn spawn<I, S>(args: I, log_dir: &Path, name: &str) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Self::spawn_command(Command::new(bin()), args, log_dir, name)
    }

    /// As [`ChildGuard::spawn`], with the size of every file the process
    /// writes limited to `limit_kib` KiB (`ulimit -f`; SIGXFSZ ignored, so
    /// a write past the limit fails with `EFBIG` as on a full disk). The
    /// process's own log files count too: keep its logging small.
    pub fn spawn_with_file_size_limit<I, S>(args: I, log_dir: &Path, name: &str, limit_kib: u64) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut sh = Command::new("sh");
        // POSIX `ulimit -f` counts 512-byte blocks.
        let script = format!("ulimit -f {}; trap '' XFSZ; exec \"$0\" \"$@\"", limit_kib * 2);
        sh.arg("-c").arg(script).arg(bin());
        Self::spawn_command(sh, args, log_dir, name)
    }

    fn spawn_command<I, S>(mut command: Command, args: I, log_dir: &Path, name: &str) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let stdout_path = log_dir.join(format!("{name}.stdout"));
        let stderr_path = log_dir.join(format!("{name}.stderr"));
        let child = command
            .args(args)
            .env_remove("COMMONS_ADMIN_TOKEN")
            .env_remove("COMMONS_DATABASE_URL")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path)?)
            .stderr(File::create(&stderr_path)?)
            .spawn()
            .with_context(|| format!("spawning {}", bin()))?;
        Ok(Self { child: Some(child), stderr_path, stdout_path })
    }

    /// The OS process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// What the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// What the process wrote to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    /// The exit status if the process has exited.
    pub fn try_status(&mut self) -> Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            Some(c) => Ok(c.try_wait()?),
            None => bail!("process already reaped"),
        }
    }

    /// Waits (polling every 100 ms) at most `timeout` for the process to
    /// exit and returns its status; an error if it is still running.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!("process {} still running after {timeout:?}; stderr:\n{}", self.pid(), self.stderr());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Polls `ready` every 100 ms for at most `timeout`. Fails early when
    /// the process exits, quoting its stderr.
    pub fn wait_until(&mut self, timeout: Duration, mut ready: impl FnMut() -> bool) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if ready() {
                return Ok(());
            }
            if let Some(status) = self.try_status()? {
                bail!("process exited ({status}) before it was ready; stderr:\n{}", self.stderr());
            }
            if Instant::now() >= deadline {
                bail!("process not ready after {timeout:?}; stderr:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, then wait for the exit, which must be 0 (a clean shutdown).
    pub fn terminate(&mut self) -> Result<ExitStatus> {
        let pid = i32::try_from(self.pid())?;
        // SAFETY: sending a signal to our own child process by its id.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        ensure!(rc == 0, "kill(SIGTERM) failed: {}", std::io::Error::last_os_error());
        let status = self.wait_exit(Duration::from_secs(30))?;
        ensure!(status.code() == Some(0), "SIGTERM ended the process with {status}; stderr:\n{}", self.stderr());
        Ok(status)
    }

    /// SIGKILL, then reap. Returns the exit status.
    pub fn kill(&mut self) -> Result<ExitStatus> {
        let mut child = self.child.take().context("process already reaped")?;
        child.kill().context("SIGKILL")?;
        Ok(child.wait()?)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How a subcommand ended: its exit status and what it printed.
#[derive(Debug)]
pub struct Ran {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// The exit code (-1 when a signal ended the process).
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }
}

/// Runs the binary with `args` to completion (at most [`BOUND`]).
pub fn run<I, S>(args: I) -> Result<Ran>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let logs = tempfile::tempdir()?;
    let mut guard = ChildGuard::spawn(args, logs.path(), "run")?;
    let status = guard.wait_exit(BOUND)?;
    Ok(Ran { status, stdout: guard.stdout(), stderr: guard.stderr() })
}

/// The password [`Dirs`] puts into a database URL that has none: the test
/// server trusts local connections and never asks for it, so it only shows
/// whether a password leaks into a message, a log line or `/v1/health`.
pub const TEST_PASSWORD: &str = "never-shown-s3cret";

/// A server's places: the store location of this build (the data dir, and
/// for a postgres build a fresh database schema), the token file (holding
/// [`TOKEN`]), the process logs.
pub struct Dirs {
    _root: tempfile::TempDir,
    pub data: PathBuf,
    /// A postgres build's database: a fresh schema `commons_p_<uuid>` on the
    /// server of `COMMONS_TEST_DATABASE_URL`, with [`TEST_PASSWORD`] added
    /// when that URL has no password. `None` for the other engines. The
    /// schema is left on the server (a throwaway one) when the test ends.
    pub database_url: Option<String>,
    pub token_file: PathBuf,
    pub logs: PathBuf,
}

impl Dirs {
    pub fn new() -> Result<Self> {
        let root = tempfile::tempdir()?;
        let data = root.path().join("data");
        let token_file = root.path().join("admin-token");
        std::fs::write(&token_file, format!("{TOKEN}\n"))?;
        let logs = root.path().join("logs");
        std::fs::create_dir_all(&logs)?;
        let database_url = if networked() { Some(fresh_database()?) } else { None };
        Ok(Self { data, database_url, token_file, logs, _root: root })
    }

    /// `<data>/commons.<engine>`, where a folder engine keeps its store.
    pub fn store_path(&self) -> PathBuf {
        self.data.join(<CommonsBackend as OpenBackend>::FOLDER)
    }

    /// The database URL of a postgres build.
    ///
    /// # Panics
    /// On a build whose engine lives in a folder.
    pub fn url(&self) -> &str {
        self.database_url.as_deref().expect("only a postgres build has a database URL")
    }

    /// Where this build's store is, as the subcommands take it:
    /// `--database-url URL` for a postgres build, else `--data-dir DIR`.
    pub fn store_args(&self) -> Vec<OsString> {
        match &self.database_url {
            Some(url) => vec!["--database-url".into(), url.into()],
            None => vec!["--data-dir".into(), self.data.clone().into()],
        }
    }

    /// The store of this build, opened (or created) in process: the folder
    /// engines open `<data>/commons.<engine>`, a postgres build connects to
    /// its schema. Drop it before a process opens a folder store.
    pub fn manager(&self) -> Result<CommonsManager> {
        let config = StoreConfig::default();
        Ok(match &self.database_url {
            Some(url) => CommonsManager::connect(url, &config)?,
            None => CommonsManager::open(&self.data, &config)?,
        })
    }

    /// The engine under [`Dirs::manager`], without the store layer (to write
    /// rows by hand).
    pub fn backend(&self) -> Result<CommonsBackend> {
        let config = StoreConfig::default();
        Ok(match &self.database_url {
            Some(url) => CommonsBackend::connect(url, &config)?,
            None => CommonsBackend::open(&self.store_path(), &config)?,
        })
    }

    /// `serve` on this build's store with the token file, bound to `port`.
    pub fn serve_args(&self, port: u16) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["serve".into()];
        args.extend(self.store_args());
        args.extend([
            "--bind".into(),
            format!("127.0.0.1:{port}").into(),
            "--admin-token-file".into(),
            self.token_file.clone().into(),
            "--workers".into(),
            "2".into(),
        ]);
        args
    }
}

/// Whether this build keeps its store on a database server (postgres).
pub fn networked() -> bool {
    <CommonsBackend as OpenBackend>::NETWORKED
}

/// A fresh schema on the test server, as a URL (see [`Dirs::database_url`]).
#[cfg(feature = "postgres-store")]
fn fresh_database() -> Result<String> {
    use commons_gateway::backend::{schema_url, TEST_URL_VAR};
    let server = std::env::var(TEST_URL_VAR).map_err(|_| {
        anyhow::anyhow!(
            "this postgres build's process tests need a PostgreSQL server: set {TEST_URL_VAR} \
             (`cargo xtask ci` starts one and sets it; `cargo xtask postgres` starts one and prints the export line)"
        )
    })?;
    let schema = format!("commons_p_{}", uuid::Uuid::new_v4().simple());
    let url = schema_url(&server, &schema).with_context(|| format!("making the schema {schema} on {TEST_URL_VAR}"))?;
    Ok(with_test_password(&url))
}

#[cfg(not(feature = "postgres-store"))]
fn fresh_database() -> Result<String> {
    bail!("a networked engine without the postgres-store feature")
}

/// `url` with [`TEST_PASSWORD`] in its user info when it names a user and
/// no password (`postgres://user@host/db` -> `postgres://user:PW@host/db`);
/// otherwise unchanged.
pub fn with_test_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_string() };
    let rest = scheme_end + 3;
    let authority_end = url[rest..].find(['/', '?']).map_or(url.len(), |i| rest + i);
    match url[rest..authority_end].rfind('@') {
        Some(at) if !url[rest..rest + at].contains(':') => {
            format!("{}:{TEST_PASSWORD}{}", &url[..rest + at], &url[rest + at..])
        }
        _ => url.to_string(),
    }
}

/// A running gateway and its base URL.
pub struct Server {
    pub process: ChildGuard,
    base: String,
}

impl Server {
    /// Starts `serve` on `dirs` (the in-memory build: on no store location)
    /// and waits until `/v1/health` answers 200.
    /// Retries on another port if the free port was taken meanwhile.
    pub fn start(dirs: &Dirs, name: &str) -> Result<Self> {
        Self::start_with(dirs, name, |args, log| ChildGuard::spawn(args, &dirs.logs, log))
    }

    /// As [`Server::start`], with `flags` added to the `serve` command line
    /// (e.g. `["--enrollment-burst", "3"]`).
    pub fn start_with_flags(dirs: &Dirs, name: &str, flags: &[&str]) -> Result<Self> {
        Self::start_with(dirs, name, |mut args, log| {
            args.extend(flags.iter().map(OsString::from));
            ChildGuard::spawn(args, &dirs.logs, log)
        })
    }

    /// As [`Server::start`], with every file the process writes limited to
    /// `limit_kib` KiB (see [`ChildGuard::spawn_with_file_size_limit`]).
    pub fn start_with_file_size_limit(dirs: &Dirs, name: &str, limit_kib: u64) -> Result<Self> {
        Self::start_with(dirs, name, |args, log| {
            ChildGuard::spawn_with_file_size_limit(args, &dirs.logs, log, limit_kib)
        })
    }

    fn start_with(dirs: &Dirs, name: &str, spawn: impl Fn(Vec<OsString>, &str) -> Result<ChildGuard>) -> Result<Self> {
        let mut last = None;
        for attempt in 0..3 {
            let port = free_port();
            let mut args = dirs.serve_args(port);
            if !<CommonsBackend as OpenBackend>::PERSISTENT {
                // The in-memory build refuses a data directory: it serves a
                // store that lives as long as the process.
                args = without_flag(args, "--data-dir");
            }
            let mut process = spawn(args, &format!("{name}-{attempt}"))?;
            let base = format!("http://127.0.0.1:{port}");
            let health = Call::get("/v1/health");
            match process.wait_until(BOUND, || send_to(&base, &health).is_ok_and(|r| r.status == 200)) {
                Ok(()) => return Ok(Self { process, base }),
                Err(e) if process.stderr().contains("cannot serve on") => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("server did not start")))
    }

    /// `http://127.0.0.1:PORT`, for clients on other threads ([`send_to`]).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `call` over HTTP; `Err` only for transport errors (connection
    /// refused, ...).
    pub fn send(&self, call: &Call) -> Result<Reply> {
        send_to(&self.base, call)
    }

    /// Sends `call` and checks the status.
    pub fn expect(&self, call: &Call, status: u16) -> Result<Reply> {
        let reply = self.send(call)?;
        ensure!(reply.status == status, "{call:?}: expected {status}, got {} {}", reply.status, reply.text);
        Ok(reply)
    }
}

/// `args` without the flag `name` and its value.
fn without_flag(args: Vec<OsString>, name: &str) -> Vec<OsString> {
    let mut kept = Vec::with_capacity(args.len());
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == name {
            args.next();
        } else {
            kept.push(arg);
        }
    }
    kept
}

/// Sends `call` to the server at `base` (`http://host:port`), waiting at
/// most 10 s for the answer; `Err` only for transport errors (connection
/// refused or reset, no answer in time, ...).
pub fn send_to(base: &str, call: &Call) -> Result<Reply> {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
    let mut req = agent.request(call.method.as_str(), &format!("{base}{}", call.uri));
    for (k, v) in &call.headers {
        req = req.set(k, &String::from_utf8_lossy(v));
    }
    let result = match &call.body {
        Some(body) => req.send_bytes(body),
        None => req.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => bail!("{call:?}: {e}"),
    };
    let status = response.status();
    let content_type = response.header("content-type").unwrap_or("").to_string();
    let retry_after = response.header("retry-after").map(str::to_string);
    let text = response.into_string().with_context(|| format!("{call:?}: reading the body"))?;
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Reply { status, content_type, json, text, retry_after })
}
