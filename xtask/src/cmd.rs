//! Running cargo from xtask: where the workspace is, which `cargo` to call,
//! the release build that `demo` and `soak` drive ([`build_release`]), and
//! how a child's exit status becomes xtask's own result.
//!
//! **Invariant:** every cargo invocation runs in the workspace root with the
//! caller's environment, so all of them share one target directory (the
//! workspace `target/`, or `CARGO_TARGET_DIR` when the caller set it) and
//! nothing is built twice for lack of a shared cache.

use std::env::consts::EXE_SUFFIX;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// Why a command failed, and the exit code xtask should end with.
#[derive(Debug)]
pub struct Failure {
    /// A sentence saying what failed, printed after `xtask: error: `.
    pub message: String,
    /// The process exit code (1..=255; anything else is reported as 1).
    pub code: i32,
}

impl Failure {
    /// A failure with exit code 1.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: 1 }
    }

    /// A command-line mistake (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: 2 }
    }

    /// The exit code as a byte, never 0 (a failure never exits 0).
    pub fn exit_code(&self) -> u8 {
        match u8::try_from(self.code) {
            Ok(0) | Err(_) => 1,
            Ok(code) => code,
        }
    }
}

/// The result type of every xtask command.
pub type Result<T = ()> = std::result::Result<T, Failure>;

/// The workspace root (the parent of `xtask/`).
pub fn project_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().map(Path::to_path_buf).unwrap_or_else(|| xtask_dir.to_path_buf())
}

/// The target directory cargo uses for this workspace: `CARGO_TARGET_DIR`
/// (relative to the root when relative) or `<root>/target`.
pub fn target_dir() -> PathBuf {
    let root = project_root();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// A `cargo <args>` command run in the workspace root, with the cargo that
/// runs xtask (`$CARGO`) when there is one.
pub fn cargo<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.args(args).current_dir(project_root());
    command
}

/// A release build of the server and of one example, with one engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseBuild {
    /// `<target>/release/commons-gateway`.
    pub server: PathBuf,
    /// `<target>/release/examples/<example>`.
    pub example: PathBuf,
}

/// Builds the release server and `example` with the engine's feature
/// (`cargo build --release --features <engine>-store --bin commons-gateway
/// --example <example>`; the default `gateway` feature stays on) and says
/// where they are. The build replaces the previous release server, whatever
/// its engine. Fails with cargo's exit code when the build fails.
pub fn build_release(engine: &str, example: &str) -> Result<ReleaseBuild> {
    let features = format!("{engine}-store");
    run(&mut cargo(["build", "--release", "--features", &features, "--bin", "commons-gateway", "--example", example]))?;
    let release = target_dir().join("release");
    Ok(ReleaseBuild {
        server: release.join(format!("commons-gateway{EXE_SUFFIX}")),
        example: release.join("examples").join(format!("{example}{EXE_SUFFIX}")),
    })
}

/// The command as a person would type it (`cargo` for the cargo binary,
/// env vars set on the command first).
pub fn display(command: &Command) -> String {
    let mut words: Vec<String> = command
        .get_envs()
        .filter_map(|(key, value)| value.map(|v| format!("{}={}", key.to_string_lossy(), quote(v))))
        .collect();
    let program = Path::new(command.get_program());
    let is_cargo = program.file_stem().is_some_and(|stem| stem == "cargo");
    words.push(if is_cargo { "cargo".to_string() } else { program.display().to_string() });
    words.extend(command.get_args().map(quote));
    words.join(" ")
}

fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    if word.is_empty() || word.contains([' ', '"', '\'']) {
        format!("{word:?}")
    } else {
        word.into_owned()
    }
}

/// Runs `command` with inherited stdio and fails unless it exits 0; the
/// failure carries the child's exit code.
pub fn run(command: &mut Command) -> Result {
    let shown = display(command);
    eprintln!("$ {shown}");
    run_unechoed(command, &shown)
}

/// [`run`] without echoing the command (for callers that print their own
/// header); `shown` names the command in the failure message.
pub fn run_unechoed(command: &mut Command, shown: &str) -> Result {
    let status = command.status().map_err(|e| Failure::new(format!("could not start `{shown}`: {e}")))?;
    check(status, shown)
}

/// Turns a finished child's status into a result naming the command.
pub fn check(status: ExitStatus, shown: &str) -> Result {
    if status.success() {
        Ok(())
    } else {
        Err(Failure { message: format!("`{shown}` failed ({status})"), code: exit_code(status) })
    }
}

/// The code to pass through for a child's status: its exit code, or
/// 128 + signal number when a signal ended it (the shell's convention).
pub fn exit_code(status: ExitStatus) -> i32 {
    if let Some(code) = status.code() {
        return code;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_env_program_and_quoted_args() {
        let mut command = Command::new("/usr/bin/cargo");
        command.env("RUSTDOCFLAGS", "-D warnings").args(["doc", "--no-deps"]);
        assert_eq!(display(&command), "RUSTDOCFLAGS=\"-D warnings\" cargo doc --no-deps");
    }

    #[test]
    fn failure_exit_code_is_never_zero() {
        assert_eq!(Failure { message: String::new(), code: 0 }.exit_code(), 1);
        assert_eq!(Failure { message: String::new(), code: 300 }.exit_code(), 1);
        assert_eq!(Failure { message: String::new(), code: 101 }.exit_code(), 101);
        assert_eq!(Failure::usage("x").exit_code(), 2);
    }
}
