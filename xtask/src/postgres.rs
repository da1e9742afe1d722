//! A throwaway PostgreSQL server for the tests of the `postgres-store`
//! feature ([`TestServer`]), and `cargo xtask postgres`, which starts one by
//! hand.
//!
//! [`TestServer::start`] finds the PostgreSQL binaries ([`find_bin_dir`]:
//! Debian's `/usr/lib/postgresql/<version>/bin`, highest version first, else
//! `pg_config --bindir`, else `initdb` on `PATH`; installed with apt-get when
//! `CI=true`, otherwise a failure that says how to install them), makes a
//! fresh directory under the system temp directory, runs `initdb` there
//! (as the `postgres` user when xtask runs as root, since initdb refuses
//! root), starts the server on a free port of 127.0.0.1 and creates the
//! database `commons`. Clients reach it at [`TestServer::url`]
//! (`postgres://postgres@127.0.0.1:PORT/commons`, trust authentication).
//! `fsync` and `synchronous_commit` keep their defaults: a COMMIT the server
//! acknowledged is on disk, as in production.
//!
//! **Invariant:** nothing outlives the run. Everything the server writes
//! (data, log, socket) lives in that one directory; [`TestServer::stop`] or
//! dropping the `TestServer` (also when a step of `start` failed) stops the
//! server and removes the directory. When xtask dies without unwinding
//! (Ctrl-C, SIGTERM, SIGKILL, an abort), a guardian `sh` started with the
//! directory, which ignores those signals and waits for its stdin (a pipe
//! only xtask holds) to close, does the same.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{BufRead, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::cmd::{self, Failure, Result};

/// The database [`TestServer::start`] creates; the URL names it.
pub const DATABASE: &str = "commons";

/// The superuser `initdb` creates, and the system user the server runs as
/// when xtask runs as root.
pub const SUPERUSER: &str = "postgres";

/// Where Debian and Ubuntu put each major version: `<root>/<version>/bin`.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// The command that installs PostgreSQL on Debian and Ubuntu.
const INSTALL_COMMAND: &str = "apt-get install -y postgresql";

/// The binaries a [`TestServer`] needs in its bin directory.
const REQUIRED_TOOLS: [&str; 3] = ["initdb", "pg_ctl", "createdb"];

/// Seconds `pg_ctl` waits for a start, restart or stop.
const PG_CTL_TIMEOUT_SECS: u32 = 60;

/// How many free ports a start tries when the one it picked was taken
/// between the probe and the server's bind.
const PORT_ATTEMPTS: usize = 3;

/// Lines of `server.log` a failure message shows.
const LOG_TAIL_LINES: usize = 40;

/// A unix socket path must fit in `sun_path` (108 bytes on Linux, with
/// the terminating NUL).
const MAX_SOCKET_PATH: usize = 107;

/// A PostgreSQL server of its own, in a fresh directory, for one run.
///
/// Created by [`TestServer::start`]; stopped, with its directory removed,
/// by [`TestServer::stop`] or on drop.
#[derive(Debug)]
pub struct TestServer {
    bin_dir: PathBuf,
    dir: PathBuf,
    run_as: RunAs,
    port: u16,
    timings: Vec<(&'static str, f64)>,
    guardian: Option<Child>,
    cleaned_up: bool,
}

impl TestServer {
    /// Finds the binaries ([`find_bin_dir`], which may install them when
    /// `CI=true`), then initdb, start and createdb in a fresh directory
    /// under [`std::env::temp_dir`]. Takes about a second on an idle
    /// 2-core machine (initdb is most of it), a few seconds under load.
    ///
    /// Fails with a message saying what to do when PostgreSQL is not
    /// installed, when running as root without a `postgres` user, or when
    /// a step fails (the message carries the step's output and the tail of
    /// `server.log`). Whatever was started or created is stopped and
    /// removed before the failure returns.
    pub fn start() -> Result<TestServer> {
        Self::start_with(find_bin_dir()?)
    }

    fn start_with(bin_dir: PathBuf) -> Result<TestServer> {
        let run_as = RunAs::detect()?;
        let started = Instant::now();
        let dir = make_dir(&run_as)?;
        let mut server =
            TestServer { bin_dir, dir, run_as, port: 0, timings: Vec::new(), guardian: None, cleaned_up: false };
        server.guardian = Some(server.spawn_guardian()?);

        let initdb = server.command("initdb", initdb_args(&server.data_dir()));
        server.timed("initdb", initdb).map_err(|failure| match server.run_as.user() {
            Some(user) => Failure::new(format!(
                "{}\n(initdb runs as `{user}`, who must be able to reach {}: check TMPDIR)",
                failure.message,
                server.dir.display()
            )),
            None => failure,
        })?;
        for attempt in 1..=PORT_ATTEMPTS {
            server.port = free_port()?;
            let start =
                server.command("pg_ctl", start_args(&server.data_dir(), &server.log_path(), server.port, &server.dir));
            match server.timed("start", start) {
                Ok(()) => break,
                Err(failure) if attempt < PORT_ATTEMPTS && server.log_says_port_taken() => {
                    eprintln!(
                        "postgres: port {} was taken meanwhile, trying another ({})",
                        server.port, failure.message
                    );
                }
                Err(failure) => return Err(server.with_log_tail(failure)),
            }
        }
        let createdb = server.command("createdb", createdb_args(server.port));
        server.timed("createdb", createdb).map_err(|failure| server.with_log_tail(failure))?;
        server.timings.push(("total", started.elapsed().as_secs_f64()));
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:PORT/commons`: no password (trust).
    pub fn url(&self) -> String {
        url_for(self.port)
    }

    /// The run's directory: `data/`, `server.log` and the unix socket.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory of `initdb`, `pg_ctl`, `psql`, ...
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The data directory (`<dir>/data`), as `pg_ctl -D` takes it.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The server's log file (`<dir>/server.log`).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// The command that restarts the server: `pg_ctl restart -m fast -w`
    /// with the same log, port and options, run as the server's user
    /// (`runuser -u postgres -- ...` under root). Run it while clients are
    /// connected to see what they do when PostgreSQL goes away and comes
    /// back; the port and URL stay the same.
    pub fn restart_command(&self) -> Command {
        self.command("pg_ctl", restart_args(&self.data_dir(), &self.log_path(), self.port, &self.dir))
    }

    /// [`Self::restart_command`] as one line for `sh -c` (words quoted).
    pub fn restart_command_line(&self) -> String {
        shell_line(&self.restart_command())
    }

    /// Restarts the server ([`Self::restart_command`]) and waits until it
    /// accepts connections again (at most 60 s). On failure the message
    /// carries the tail of `server.log`.
    pub fn restart(&mut self) -> Result {
        let restart = self.restart_command();
        run_captured(restart).map_err(|failure| self.with_log_tail(failure))
    }

    /// One line for the terminal: port, directory and how long it took,
    /// e.g. `postgres: test server on 127.0.0.1:5433 (data in /tmp/..., ready in 0.8s: ...)`.
    pub fn describe(&self) -> String {
        let phases: Vec<String> = self
            .timings
            .iter()
            .filter(|(phase, _)| *phase != "total")
            .map(|(phase, secs)| format!("{phase} {secs:.1}s"))
            .collect();
        let total = self.timings.iter().find(|(phase, _)| *phase == "total").map_or(0.0, |(_, secs)| *secs);
        format!(
            "postgres: test server on 127.0.0.1:{} (data in {}, ready in {total:.1}s: {})",
            self.port,
            self.dir.display(),
            phases.join(", ")
        )
    }

    /// Stops the server (`pg_ctl stop -m fast -w`) and removes its
    /// directory. Both are attempted; the failure names what was left
    /// behind (a running server, a directory) so a person can remove it.
    pub fn stop(mut self) -> Result {
        self.clean_up()
    }

    /// [`Self::stop`] at the end of a command that used the server, saying
    /// so on stdout. A failure to stop is a warning: it changes no result of
    /// the command, and the message names what was left behind.
    pub fn stop_and_report(self) {
        let address = format!("127.0.0.1:{}", self.port);
        match self.stop() {
            Ok(()) => println!("postgres: stopped the test server on {address}"),
            Err(failure) => eprintln!("xtask: warning: {}", failure.message),
        }
    }

    /// The tool `name` of the bin dir with `args`, run as the server's user
    /// in the run's directory (which that user can enter, unlike perhaps
    /// the caller's working directory).
    fn command(&self, name: &str, args: Vec<OsString>) -> Command {
        let mut command = self.run_as.command(&self.bin_dir.join(name), &args);
        command.current_dir(&self.dir);
        command
    }

    fn stop_command(&self) -> Command {
        self.command("pg_ctl", stop_args(&self.data_dir()))
    }

    fn timed(&mut self, phase: &'static str, command: Command) -> Result {
        let started = Instant::now();
        run_captured(command)?;
        self.timings.push((phase, started.elapsed().as_secs_f64()));
        Ok(())
    }

    fn log_tail(&self) -> String {
        match fs::read_to_string(self.log_path()) {
            Ok(log) => tail(&log, LOG_TAIL_LINES),
            Err(e) => format!("(no server log at {}: {e})", self.log_path().display()),
        }
    }

    fn log_says_port_taken(&self) -> bool {
        fs::read_to_string(self.log_path()).is_ok_and(|log| log.contains("Address already in use"))
    }

    fn with_log_tail(&self, failure: Failure) -> Failure {
        Failure {
            message: format!(
                "{}\n--- last lines of {} ---\n{}",
                failure.message,
                self.log_path().display(),
                self.log_tail()
            ),
            code: failure.code,
        }
    }

    /// The `sh` that cleans up if xtask dies: it ignores the signals that
    /// end xtask (SIGKILL aside), waits for EOF on its stdin, then stops
    /// the server and removes the directory. Only xtask holds the write
    /// end of that pipe (std opens pipes close-on-exec, so no server or
    /// test process inherits it), so EOF means xtask is gone or gave up on
    /// it. On a normal stop xtask kills the guardian first and cleans up
    /// itself, with error messages.
    fn spawn_guardian(&self) -> Result<Child> {
        let script = guardian_script(&shell_line(&self.stop_command()), &self.dir);
        Command::new("sh")
            .args(["-c", &script])
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| Failure::new(format!("postgres: could not start the clean-up guardian `sh`: {e}")))
    }

    fn clean_up(&mut self) -> Result {
        if self.cleaned_up {
            return Ok(());
        }
        self.cleaned_up = true;
        if let Some(mut guardian) = self.guardian.take() {
            // SIGKILL: the guardian ignores the catchable signals.
            let _ = guardian.kill();
            let _ = guardian.wait();
        }
        let mut problems = Vec::new();
        if self.data_dir().join("postmaster.pid").exists() {
            if let Err(failure) = run_captured(self.stop_command()) {
                problems.push(format!("the server may still be running: {}", failure.message));
            }
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                problems.push(format!("could not remove {}: {e}", self.dir.display()));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Failure::new(format!("postgres: stopping the test server: {}", problems.join("; "))))
        }
    }

    /// Test-only: what happens when xtask dies. Closes the guardian's
    /// stdin, waits for it to clean up, and leaves nothing for `Drop`.
    #[cfg(test)]
    fn abandon(mut self) -> std::process::ExitStatus {
        self.cleaned_up = true;
        let mut guardian = self.guardian.take().expect("a started server has a guardian");
        drop(guardian.stdin.take());
        guardian.wait().expect("waiting for the guardian")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Err(failure) = self.clean_up() {
            eprintln!("xtask: warning: {}", failure.message);
        }
    }
}

/// `postgres://postgres@127.0.0.1:PORT/commons`.
pub fn url_for(port: u16) -> String {
    format!("postgres://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}")
}

/// `cargo xtask postgres`: starts a [`TestServer`], prints its URL and the
/// `export` lines for a shell (`COMMONS_DATABASE_URL`,
/// `COMMONS_TEST_DATABASE_URL`, and `COMMONS_TEST_PG_RESTART`, the command
/// line the multi-gateway tests restart it with), and keeps it until stdin
/// closes (Ctrl-D) or xtask is interrupted (Ctrl-C; the guardian stops it
/// then). A line
/// `restart` on stdin restarts it. Takes no arguments.
pub fn run(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return Err(Failure::usage(format!("`cargo xtask postgres` takes no arguments (got `{arg}`)")));
    }
    let mut server = TestServer::start()?;
    let url = server.url();
    println!("{}", server.describe());
    println!("{url}");
    println!("export COMMONS_DATABASE_URL={url}");
    println!("export COMMONS_TEST_DATABASE_URL={url}");
    println!("export COMMONS_TEST_PG_RESTART={}", shell_quote(&server.restart_command_line()));
    println!("restart by hand: {}", server.restart_command_line());
    println!("bin dir: {}", server.bin_dir().display());
    eprintln!(
        "postgres: type `restart` to restart it; Ctrl-D or Ctrl-C stops it and removes {}",
        server.dir().display()
    );
    let _ = std::io::stdout().flush();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match line.trim() {
            "" => {}
            "restart" => match server.restart() {
                Ok(()) => eprintln!("postgres: restarted, same URL"),
                Err(failure) => eprintln!("postgres: restart failed: {}", failure.message),
            },
            other => eprintln!("postgres: unknown input `{other}` (type `restart`, or Ctrl-D to stop)"),
        }
    }
    let dir = server.dir().to_path_buf();
    server.stop()?;
    eprintln!("postgres: stopped the test server and removed {}", dir.display());
    Ok(())
}

// ---------------------------------------------------------------------------
// Finding (or installing) the binaries.
// ---------------------------------------------------------------------------

/// The directory holding `initdb`, `pg_ctl` and `createdb`: the highest
/// version under `/usr/lib/postgresql/<version>/bin`, else
/// `pg_config --bindir`, else the directory `initdb` on `PATH` resolves to.
///
/// When none is found and `CI` is `true`, installs PostgreSQL
/// (`apt-get update`, `apt-get install -y postgresql`, output streamed;
/// through `sudo -n` when not root) and looks again. Otherwise fails with
/// [`not_found_message`]; it never skips.
pub fn find_bin_dir() -> Result<PathBuf> {
    if let Some(dir) = locate_bin_dir() {
        return Ok(dir);
    }
    if std::env::var("CI").as_deref() != Ok("true") {
        return Err(Failure::new(not_found_message()));
    }
    eprintln!("postgres: PostgreSQL not found and CI=true: installing it");
    for mut command in install_commands(is_root()) {
        cmd::run(&mut command).map_err(|failure| {
            Failure::new(format!(
                "postgres: installing PostgreSQL failed: {}\n{}",
                failure.message,
                not_found_message()
            ))
        })?;
    }
    locate_bin_dir().ok_or_else(|| {
        Failure::new(format!(
            "postgres: `{INSTALL_COMMAND}` succeeded but still no PostgreSQL binaries found.\n{}",
            not_found_message()
        ))
    })
}

/// What to do when PostgreSQL is missing.
pub fn not_found_message() -> String {
    format!(
        "postgres: PostgreSQL not found (looked for {DEBIAN_ROOT}/<version>/bin, `pg_config --bindir` and \
         `initdb` on PATH); the postgres-store tests need a server binary (not a running server). \
         Install it with `{INSTALL_COMMAND}` (as root), or set CI=true to let xtask install it."
    )
}

fn locate_bin_dir() -> Option<PathBuf> {
    debian_bin_dir(Path::new(DEBIAN_ROOT)).or_else(pg_config_bin_dir).or_else(initdb_on_path)
}

fn debian_bin_dir(root: &Path) -> Option<PathBuf> {
    let names: Vec<String> = fs::read_dir(root)
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| has_tools(&root.join(name).join("bin")))
        .collect();
    highest_version(names.iter().map(String::as_str)).map(|name| root.join(name).join("bin"))
}

/// The highest of `names` read as versions (`9.6` < `13` < `15`,
/// compared number by number); names that are not versions are ignored.
pub fn highest_version<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names.into_iter().filter_map(|name| Some((version_key(name)?, name))).max().map(|(_, name)| name)
}

fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse::<u32>().ok()).collect()
}

fn pg_config_bin_dir() -> Option<PathBuf> {
    let output = Command::new("pg_config").arg("--bindir").stderr(Stdio::null()).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let dir = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    has_tools(&dir).then_some(dir)
}

/// The real directory of `initdb` on PATH (symlinks resolved: a
/// `/usr/local/bin/initdb` link may have no `createdb` beside it).
fn initdb_on_path() -> Option<PathBuf> {
    let initdb = find_on_path("initdb")?;
    let dir = fs::canonicalize(initdb).ok()?.parent()?.to_path_buf();
    has_tools(&dir).then_some(dir)
}

fn has_tools(dir: &Path) -> bool {
    REQUIRED_TOOLS.iter().all(|tool| dir.join(tool).is_file())
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
}

/// `apt-get update` then `apt-get install -y postgresql`, noninteractive;
/// through `sudo -n` when not root.
fn install_commands(root: bool) -> Vec<Command> {
    [&["update"][..], &["install", "-y", "postgresql"]]
        .into_iter()
        .map(|args| {
            let mut command = if root {
                Command::new("apt-get")
            } else {
                let mut sudo = Command::new("sudo");
                sudo.args(["-n", "apt-get"]);
                sudo
            };
            command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
            command
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Which user runs the server.
// ---------------------------------------------------------------------------

/// How the server's commands are run: as xtask's own user, or (when xtask
/// is root, which initdb refuses) as [`SUPERUSER`] through `runuser`, or
/// `su` where there is no `runuser`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RunAs {
    Me,
    Runuser { program: PathBuf, user: String },
    Su { user: String },
}

impl RunAs {
    fn detect() -> Result<RunAs> {
        if !is_root() {
            return Ok(RunAs::Me);
        }
        if user_ids(SUPERUSER).is_none() {
            return Err(Failure::new(format!(
                "postgres: xtask runs as root, which initdb refuses, and there is no `{SUPERUSER}` user to run \
                 the server as; create one (`useradd --system {SUPERUSER}`, or install the postgresql package) \
                 or run as a non-root user"
            )));
        }
        let runuser = find_on_path("runuser").or_else(|| {
            ["/usr/sbin/runuser", "/sbin/runuser"].into_iter().map(PathBuf::from).find(|path| path.is_file())
        });
        Ok(match runuser {
            Some(program) => RunAs::Runuser { program, user: SUPERUSER.to_string() },
            None => RunAs::Su { user: SUPERUSER.to_string() },
        })
    }

    fn command(&self, program: &Path, args: &[OsString]) -> Command {
        match self {
            RunAs::Me => {
                let mut command = Command::new(program);
                command.args(args);
                command
            }
            RunAs::Runuser { program: runuser, user } => {
                let mut command = Command::new(runuser);
                command.arg("-u").arg(user).arg("--").arg(program).args(args);
                command
            }
            RunAs::Su { user } => {
                let mut inner = Command::new(program);
                inner.args(args);
                let mut command = Command::new("su");
                command.args(["-s", "/bin/sh", "-c"]).arg(shell_line(&inner)).arg(user);
                command
            }
        }
    }

    /// The user to hand the run's directory to, when not xtask's own.
    fn user(&self) -> Option<&str> {
        match self {
            RunAs::Me => None,
            RunAs::Runuser { user, .. } | RunAs::Su { user } => Some(user),
        }
    }
}

fn is_root() -> bool {
    effective_uid() == Some(0)
}

/// The effective uid: from `/proc/self/status`, else `id -u`; `None` off
/// unix or when neither answers.
fn effective_uid() -> Option<u32> {
    if !cfg!(unix) {
        return None;
    }
    if let Some(uid) = fs::read_to_string("/proc/self/status").ok().as_deref().and_then(parse_status_euid) {
        return Some(uid);
    }
    command_number(Command::new("id").arg("-u"))
}

/// The effective uid of a `/proc/<pid>/status` text: the second number of
/// its `Uid:` line (real, effective, saved, filesystem).
fn parse_status_euid(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|line| line.strip_prefix("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `(uid, gid)` of `user`, from `id` (which asks NSS, not only
/// `/etc/passwd`); `None` when there is no such user.
fn user_ids(user: &str) -> Option<(u32, u32)> {
    let uid = command_number(Command::new("id").args(["-u", user]))?;
    let gid = command_number(Command::new("id").args(["-g", user]))?;
    Some((uid, gid))
}

fn command_number(command: &mut Command) -> Option<u32> {
    let output = command.stderr(Stdio::null()).output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}

// ---------------------------------------------------------------------------
// The run's directory and port.
// ---------------------------------------------------------------------------

/// Creates `<temp>/commons-pg-<pid>-<nanos>` (not under the checkout: the
/// `postgres` user must be able to reach it) and hands it to the server's
/// user.
fn make_dir(run_as: &RunAs) -> Result<PathBuf> {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("commons-pg-{}-{nanos}", std::process::id()));
    // The socket `<dir>/.s.PGSQL.<port>` must fit in a unix socket path.
    let socket = dir.join(".s.PGSQL.65535");
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(Failure::new(format!(
            "postgres: the socket path {} is longer than {MAX_SOCKET_PATH} bytes; set TMPDIR to a shorter \
             directory (e.g. TMPDIR=/tmp)",
            socket.display()
        )));
    }
    fs::create_dir(&dir).map_err(|e| Failure::new(format!("postgres: could not create {}: {e}", dir.display())))?;
    if let Some(user) = run_as.user() {
        if let Err(failure) = give_to(&dir, user) {
            let _ = fs::remove_dir(&dir);
            return Err(failure);
        }
    }
    Ok(dir)
}

#[cfg(unix)]
fn give_to(dir: &Path, user: &str) -> Result {
    let (uid, gid) = user_ids(user).ok_or_else(|| Failure::new(format!("postgres: no user `{user}`")))?;
    std::os::unix::fs::chown(dir, Some(uid), Some(gid))
        .map_err(|e| Failure::new(format!("postgres: could not chown {} to {user}: {e}", dir.display())))
}

#[cfg(not(unix))]
fn give_to(_dir: &Path, _user: &str) -> Result {
    Ok(())
}

/// A port of 127.0.0.1 that was free a moment ago (the OS picks it for a
/// listener that is dropped at once). Another process may take it before
/// the server binds; [`TestServer::start`] then tries another.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| Failure::new(format!("postgres: could not bind 127.0.0.1:0 to find a free port: {e}")))?;
    listener.local_addr().map(|addr| addr.port()).map_err(|e| Failure::new(format!("postgres: free port: {e}")))
}

// ---------------------------------------------------------------------------
// The command lines (pure, so the tests can pin them).
// ---------------------------------------------------------------------------

fn os_args(words: &[&OsStr]) -> Vec<OsString> {
    words.iter().map(|word| word.to_os_string()).collect()
}

/// `initdb -D <data> --auth=trust --username=postgres --encoding=UTF8
/// --no-locale --no-instructions`. `--no-locale` (the C locale) makes the
/// cluster the same whatever the caller's `LANG` (an unknown one would make
/// initdb fail), and sorts text bytewise, as the embedded engines order keys.
fn initdb_args(data: &Path) -> Vec<OsString> {
    let superuser = format!("--username={SUPERUSER}");
    os_args(&[
        "-D".as_ref(),
        data.as_os_str(),
        "--auth=trust".as_ref(),
        superuser.as_ref(),
        "--encoding=UTF8".as_ref(),
        "--no-locale".as_ref(),
        "--no-instructions".as_ref(),
    ])
}

/// The server's options, as `pg_ctl -o` takes them (pg_ctl hands them to
/// `sh`, so the socket directory is shell-quoted). `fsync` and
/// `synchronous_commit` are left at their defaults (on).
fn server_options(port: u16, socket_dir: &Path) -> String {
    format!(
        "-p {port} -c listen_addresses=127.0.0.1 -k {} -c max_connections=300 -c shared_buffers=128MB",
        shell_quote(&socket_dir.to_string_lossy())
    )
}

/// `pg_ctl -D <data> -l <log> -w -t 60 -o "<options>" <action>` for
/// `start` and `restart` (a restart without `-l` would send the new
/// server's output to pg_ctl's stdout, and hold it open).
fn pg_ctl_args(action: &str, data: &Path, log: &Path, port: u16, dir: &Path, extra: &[&str]) -> Vec<OsString> {
    let timeout = PG_CTL_TIMEOUT_SECS.to_string();
    let options = server_options(port, dir);
    let mut args = os_args(&[
        "-D".as_ref(),
        data.as_os_str(),
        "-l".as_ref(),
        log.as_os_str(),
        "-w".as_ref(),
        "-t".as_ref(),
        timeout.as_ref(),
        "-o".as_ref(),
        options.as_ref(),
    ]);
    args.extend(extra.iter().map(OsString::from));
    args.push(action.into());
    args
}

fn start_args(data: &Path, log: &Path, port: u16, dir: &Path) -> Vec<OsString> {
    pg_ctl_args("start", data, log, port, dir, &[])
}

fn restart_args(data: &Path, log: &Path, port: u16, dir: &Path) -> Vec<OsString> {
    pg_ctl_args("restart", data, log, port, dir, &["-m", "fast"])
}

/// `pg_ctl -D <data> -m fast -w -t 60 stop`.
fn stop_args(data: &Path) -> Vec<OsString> {
    let timeout = PG_CTL_TIMEOUT_SECS.to_string();
    os_args(&[
        "-D".as_ref(),
        data.as_os_str(),
        "-m".as_ref(),
        "fast".as_ref(),
        "-w".as_ref(),
        "-t".as_ref(),
        timeout.as_ref(),
        "stop".as_ref(),
    ])
}

/// `createdb -h 127.0.0.1 -p <port> -U postgres commons`.
fn createdb_args(port: u16) -> Vec<OsString> {
    let port = port.to_string();
    ["-h", "127.0.0.1", "-p", port.as_str(), "-U", SUPERUSER, DATABASE].iter().map(OsString::from).collect()
}

/// The guardian's script: ignore the signals that end xtask, wait for EOF
/// on stdin, stop the server, remove `dir`, say so on stderr (which may be
/// gone: SIGPIPE is ignored too).
fn guardian_script(stop_line: &str, dir: &Path) -> String {
    let dir = shell_quote(&dir.to_string_lossy());
    format!(
        "trap '' HUP INT QUIT TERM PIPE\n\
         while read -r _; do :; done\n\
         {stop_line} >/dev/null 2>&1\n\
         rm -rf {dir}\n\
         echo \"postgres: xtask ended; stopped the test server and removed \"{dir} >&2\n"
    )
}

/// `word` as one `sh` word: as is when it is made of safe characters,
/// else in single quotes (a `'` inside becomes `'\''`).
fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// A command as one `sh -c` line: program and arguments, each quoted.
/// (Environment and working directory are not part of it.)
fn shell_line(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| shell_quote(&word.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` with its output captured; on failure the message has the
/// command line and its output.
fn run_captured(mut command: Command) -> Result {
    let shown = shell_line(&command);
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Failure::new(format!("postgres: could not start `{shown}`: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Err(Failure::new(format!("postgres: `{shown}` failed ({}):\n{}", output.status, tail(&text, LOG_TAIL_LINES))))
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    fn words(args: &[OsString]) -> Vec<String> {
        args.iter().map(|arg| arg.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn highest_version_compares_numbers_not_text() {
        assert_eq!(highest_version(["13", "15", "9.6"]), Some("15"));
        assert_eq!(highest_version(["9.6", "10"]), Some("10"));
        assert_eq!(highest_version(["9.6", "9.10"]), Some("9.10"));
        assert_eq!(highest_version(["16", "devel", "15", ""]), Some("16"));
        assert_eq!(highest_version(["common", "lib"]), None);
        assert_eq!(highest_version(Vec::<&str>::new()), None);
    }

    #[test]
    fn debian_layout_picks_the_highest_version_that_has_the_tools() {
        let root = std::env::temp_dir().join(format!("commons-pg-layout-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for (version, complete) in [("13", true), ("15", true), ("9.6", true), ("16", false)] {
            let bin = root.join(version).join("bin");
            fs::create_dir_all(&bin).unwrap();
            let tools: &[&str] = if complete { &REQUIRED_TOOLS } else { &["initdb"] };
            for tool in tools {
                fs::write(bin.join(tool), "").unwrap();
            }
        }
        let found = debian_bin_dir(&root);
        fs::remove_dir_all(&root).unwrap();
        // 16 lacks pg_ctl and createdb, so 15 it is.
        assert_eq!(found, Some(root.join("15").join("bin")));
    }

    #[test]
    fn url_names_the_superuser_loopback_port_and_database() {
        assert_eq!(url_for(54321), "postgres://postgres@127.0.0.1:54321/commons");
    }

    #[test]
    fn initdb_command_line_trusts_local_users_and_sets_utf8() {
        let data = Path::new("/tmp/commons-pg-1-2/data");
        let bin = Path::new("/usr/lib/postgresql/15/bin/initdb");
        let runuser = RunAs::Runuser { program: "runuser".into(), user: "postgres".into() };
        assert_eq!(
            cmd::display(&runuser.command(bin, &initdb_args(data))),
            "runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D /tmp/commons-pg-1-2/data --auth=trust \
             --username=postgres --encoding=UTF8 --no-locale --no-instructions"
        );
    }

    #[test]
    fn pg_ctl_command_lines_have_log_port_socket_and_wait() {
        let dir = Path::new("/tmp/commons-pg-1-2");
        let (data, log) = (dir.join("data"), dir.join("server.log"));
        let options = "-p 5433 -c listen_addresses=127.0.0.1 -k /tmp/commons-pg-1-2 -c max_connections=300 \
                       -c shared_buffers=128MB";
        let common = ["-D", "/tmp/commons-pg-1-2/data", "-l", "/tmp/commons-pg-1-2/server.log", "-w", "-t", "60", "-o"];
        let mut start: Vec<&str> = common.to_vec();
        start.extend([options, "start"]);
        assert_eq!(words(&start_args(&data, &log, 5433, dir)), start);
        let mut restart: Vec<&str> = common.to_vec();
        restart.extend([options, "-m", "fast", "restart"]);
        assert_eq!(words(&restart_args(&data, &log, 5433, dir)), restart);
        assert_eq!(
            words(&stop_args(&data)),
            ["-D", "/tmp/commons-pg-1-2/data", "-m", "fast", "-w", "-t", "60", "stop"]
        );
        assert_eq!(words(&createdb_args(5433)), ["-h", "127.0.0.1", "-p", "5433", "-U", "postgres", "commons"]);
    }

    #[test]
    fn server_options_leave_durability_at_its_defaults() {
        let options = server_options(5433, Path::new("/tmp/x"));
        assert!(!options.contains("fsync") && !options.contains("synchronous_commit"), "{options}");
        // pg_ctl passes -o through sh: a directory with a space stays one word.
        assert_eq!(
            server_options(1, Path::new("/tmp/a b")),
            "-p 1 -c listen_addresses=127.0.0.1 -k '/tmp/a b' -c max_connections=300 -c shared_buffers=128MB"
        );
    }

    #[test]
    fn commands_run_as_postgres_through_runuser_or_su() {
        let pg_ctl = Path::new("/usr/lib/postgresql/15/bin/pg_ctl");
        let args = stop_args(Path::new("/tmp/d/data"));
        let me = RunAs::Me.command(pg_ctl, &args);
        assert_eq!(shell_line(&me), "/usr/lib/postgresql/15/bin/pg_ctl -D /tmp/d/data -m fast -w -t 60 stop");
        let su = RunAs::Su { user: "postgres".into() }.command(pg_ctl, &args);
        assert_eq!(
            shell_line(&su),
            "su -s /bin/sh -c '/usr/lib/postgresql/15/bin/pg_ctl -D /tmp/d/data -m fast -w -t 60 stop' postgres"
        );
        let runuser = RunAs::Runuser { program: "/usr/sbin/runuser".into(), user: "postgres".into() };
        assert_eq!(
            shell_line(&runuser.command(pg_ctl, &args)),
            "/usr/sbin/runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D /tmp/d/data -m fast -w -t 60 stop"
        );
    }

    #[test]
    fn shell_quote_keeps_safe_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("/tmp/commons-pg-1-2"), "/tmp/commons-pg-1-2");
        assert_eq!(shell_quote("-c"), "-c");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn install_runs_apt_get_update_then_install_noninteractively() {
        let shown: Vec<String> = install_commands(true).iter().map(cmd::display).collect();
        assert_eq!(
            shown,
            [
                "DEBIAN_FRONTEND=noninteractive apt-get update",
                "DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql"
            ]
        );
        let shown: Vec<String> = install_commands(false).iter().map(cmd::display).collect();
        assert_eq!(shown[1], "DEBIAN_FRONTEND=noninteractive sudo -n apt-get install -y postgresql");
        let message = not_found_message();
        assert!(message.contains("apt-get install -y postgresql") && message.contains("CI=true"), "{message}");
    }

    #[test]
    fn status_euid_is_the_second_uid() {
        assert_eq!(parse_status_euid("Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t5\t5\t5\t5\n"), Some(0));
        assert_eq!(parse_status_euid("Name:\tx\n"), None);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }

    /// `psql <url> -c <sql>` with the server's psql; the rows, trimmed.
    fn psql(server: &TestServer, sql: &str) -> String {
        let output = Command::new(server.bin_dir().join("psql"))
            .args(["-X", "-tA", "-d"])
            .arg(server.url())
            .args(["-c", sql])
            .output()
            .expect("running psql");
        assert!(output.status.success(), "psql -c {sql:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    fn start() -> TestServer {
        // Fails (never skips) when PostgreSQL is missing: the message says
        // how to install it.
        TestServer::start().unwrap_or_else(|failure| panic!("{}", failure.message))
    }

    #[test]
    fn a_test_server_answers_psql_survives_a_restart_and_leaves_nothing_when_stopped() {
        let mut server = start();
        let (dir, port) = (server.dir().to_path_buf(), server.port);
        assert!(dir.starts_with(std::env::temp_dir()), "{}", dir.display());
        assert_eq!(psql(&server, "select 1"), "1");
        assert_eq!(psql(&server, "show fsync"), "on");
        assert_eq!(psql(&server, "show synchronous_commit"), "on");
        assert_eq!(psql(&server, "show max_connections"), "300");
        assert_eq!(psql(&server, "show server_encoding"), "UTF8");
        psql(&server, "create table kept (n int); insert into kept values (42)");

        server.restart().unwrap_or_else(|failure| panic!("{}", failure.message));
        assert_eq!(psql(&server, "select n from kept"), "42");

        server.stop().unwrap_or_else(|failure| panic!("{}", failure.message));
        assert!(!dir.exists(), "{} still exists", dir.display());
        assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err(), "port {port} still answers");
    }

    #[test]
    fn a_failed_start_shows_the_server_log_and_leaves_no_directory() {
        let bin = std::env::temp_dir().join(format!("commons-pg-fake-bin-{}", std::process::id()));
        fs::create_dir_all(&bin).unwrap();
        let scripts = [
            ("initdb", "#!/bin/sh\nmkdir -p \"$2\"\n"),
            // pg_ctl -D <data> -l <log> ...: the server "fails" and says why in the log.
            ("pg_ctl", "#!/bin/sh\necho 'FATAL:  fake failure to start' >> \"$4\"\necho 'pg_ctl: could not start server'\nexit 1\n"),
            ("createdb", "#!/bin/sh\nexit 0\n"),
        ];
        for (name, text) in scripts {
            fs::write(bin.join(name), text).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(bin.join(name), fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        let failure = TestServer::start_with(bin.clone()).expect_err("the fake pg_ctl fails");
        fs::remove_dir_all(&bin).unwrap();
        assert!(failure.message.contains("pg_ctl: could not start server"), "{}", failure.message);
        assert!(failure.message.contains("FATAL:  fake failure to start"), "{}", failure.message);
        let log = failure
            .message
            .split_once("--- last lines of ")
            .and_then(|(_, rest)| rest.split_once(" ---"))
            .map(|(log, _)| PathBuf::from(log))
            .unwrap_or_else(|| panic!("no log path in: {}", failure.message));
        let dir = log.parent().unwrap();
        assert!(dir.starts_with(std::env::temp_dir()), "{}", dir.display());
        assert!(!dir.exists(), "{} left behind", dir.display());
    }

    #[test]
    fn when_xtask_dies_the_guardian_stops_the_server_and_removes_its_directory() {
        let server = start();
        let (dir, port) = (server.dir().to_path_buf(), server.port);
        assert_eq!(psql(&server, "select 1"), "1");
        let status = server.abandon();
        assert!(status.success(), "guardian: {status}");
        assert!(!dir.exists(), "{} still exists", dir.display());
        assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err(), "port {port} still answers");
    }
}
