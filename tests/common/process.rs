//! The `commons-gateway` binary as a process: [`ChildGuard`] (spawned,
//! killed and reaped when it drops, its output kept in files), [`run`] (a
//! subcommand to completion), [`Dirs`] and [`Server`] (`serve` on a data
//! directory with an operator token, answering [`Call`]s over real HTTP with
//! the same [`Reply`]s as the in-process gateway).
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
use commons_gateway::{CommonsBackend, OpenBackend};
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

/// A server's directories: the data dir, the token file (holding
/// [`TOKEN`]), the process logs.
pub struct Dirs {
    _root: tempfile::TempDir,
    pub data: PathBuf,
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
        Ok(Self { data, token_file, logs, _root: root })
    }

    /// `<data>/commons.<engine>`, where this build keeps its store.
    pub fn store_path(&self) -> PathBuf {
        self.data.join(<CommonsBackend as OpenBackend>::FOLDER)
    }

    /// `serve` on the data dir with the token file, bound to `port`.
    pub fn serve_args(&self, port: u16) -> Vec<OsString> {
        vec![
            "serve".into(),
            "--data-dir".into(),
            self.data.clone().into(),
            "--bind".into(),
            format!("127.0.0.1:{port}").into(),
            "--admin-token-file".into(),
            self.token_file.clone().into(),
            "--workers".into(),
            "2".into(),
        ]
    }
}

/// A running gateway and its base URL.
pub struct Server {
    pub process: ChildGuard,
    base: String,
}

impl Server {
    /// Starts `serve` on `dirs` and waits until `/v1/health` answers 200.
    /// Retries on another port if the free port was taken meanwhile.
    pub fn start(dirs: &Dirs, name: &str) -> Result<Self> {
        Self::start_with(dirs, name, |args, log| ChildGuard::spawn(args, &dirs.logs, log))
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
            let mut process = spawn(dirs.serve_args(port), &format!("{name}-{attempt}"))?;
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

/// Sends `call` to the server at `base` (`http://host:port`).
fn send_to(base: &str, call: &Call) -> Result<Reply> {
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
    let text = response.into_string().with_context(|| format!("{call:?}: reading the body"))?;
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Reply { status, content_type, json, text })
}
