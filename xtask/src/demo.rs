//! `cargo xtask demo [--engine fjall|sled|postgres|both|all]`: builds the
//! release server with one persistent engine and the `demo` example, then
//! runs `target/release/examples/demo --binary target/release/commons-gateway --engine <engine>`.
//!
//! The demo bootstraps a commons, enrolls 200 people, kills the server with
//! SIGKILL, stops it with SIGTERM, and checks after each restart that nothing
//! acknowledged was lost (see `examples/demo/main.rs`). The default engine is
//! fjall; `both` runs fjall then sled, `all` fjall, sled then postgres (each
//! build replaces the previous release binary), and exits with the first
//! failing demo's exit code. A single engine's demo exit code is passed
//! through.
//!
//! For postgres, xtask starts a throwaway PostgreSQL server after the build
//! ([`TestServer`], as `cargo xtask ci` does: the binaries must be
//! installed, and it runs initdb as the `postgres` user when xtask runs as
//! root) and passes its URL to the demo (`--database-url URL`); the demo
//! runs a second gateway on that database for part of the story. The server
//! is stopped and its directory removed when the demo ends, whatever its
//! outcome.

use crate::cmd::{self, Failure, Result};
use crate::postgres::TestServer;

/// The engines a demo can run on, in the order `all` runs them.
const ENGINES: &[&str] = &["fjall", "sled", "postgres"];

/// The engines of `both`: the two that keep their store in a folder.
const BOTH: &[&str] = &["fjall", "sled"];

/// The usage line of `cargo xtask demo`.
const USAGE: &str = "usage: cargo xtask demo [--engine fjall|sled|postgres|both|all]";

/// Parses `--engine NAME` / `--engine=NAME` into the engines to run:
/// one engine, `both` (fjall, sled) or `all` (fjall, sled, postgres);
/// fjall when not given.
pub fn parse_engines(args: &[String]) -> Result<Vec<&'static str>> {
    let mut engine: Option<&str> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = if arg == "--engine" {
            args.next()
                .ok_or_else(|| Failure::usage("`--engine` needs a value: fjall, sled, postgres, both or all"))?
                .as_str()
        } else if let Some(value) = arg.strip_prefix("--engine=") {
            value
        } else {
            return Err(Failure::usage(format!("unknown argument `{arg}` ({USAGE})")));
        };
        engine = Some(value);
    }
    match engine.unwrap_or("fjall") {
        "both" => Ok(BOTH.to_vec()),
        "all" => Ok(ENGINES.to_vec()),
        name => ENGINES.iter().find(|known| **known == name).map(|known| vec![*known]).ok_or_else(|| {
            Failure::usage(format!("unknown engine `{name}` (expected fjall, sled, postgres, both or all)"))
        }),
    }
}

/// Builds and runs the demo for each requested engine.
pub fn run(args: &[String]) -> Result {
    let engines = parse_engines(args)?;
    let mut outcomes: Vec<(&str, Result)> = Vec::new();
    for engine in &engines {
        eprintln!("[demo] engine {engine}");
        let outcome = build_and_run(engine);
        if let Err(failure) = &outcome {
            eprintln!("[demo] engine {engine} FAILED: {}", failure.message);
        }
        outcomes.push((engine, outcome));
    }
    if engines.len() > 1 {
        for (engine, outcome) in &outcomes {
            let verdict = match outcome {
                Ok(()) => "ok".to_string(),
                Err(failure) => format!("FAILED (exit code {})", failure.exit_code()),
            };
            eprintln!("[demo] {engine}: {verdict}");
        }
    }
    match outcomes.into_iter().find_map(|(_, outcome)| outcome.err()) {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}

/// Builds the release binary and the demo with `<engine>-store`, then runs
/// the demo; for postgres, on a [`TestServer`] of its own.
fn build_and_run(engine: &str) -> Result {
    let build = cmd::build_release(engine, "demo")?;
    let mut command = std::process::Command::new(&build.example);
    command.arg("--binary").arg(&build.server).args(["--engine", engine]).current_dir(cmd::project_root());
    if engine != "postgres" {
        return cmd::run(&mut command);
    }
    let database = TestServer::start()?;
    eprintln!("{}", database.describe());
    command.args(["--database-url", &database.url()]);
    let outcome = cmd::run(&mut command);
    database.stop_and_report();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn engine_defaults_to_fjall_and_accepts_both_spellings() {
        assert_eq!(parse_engines(&[]).ok(), Some(vec!["fjall"]));
        assert_eq!(parse_engines(&args(&["--engine", "sled"])).ok(), Some(vec!["sled"]));
        assert_eq!(parse_engines(&args(&["--engine=fjall"])).ok(), Some(vec!["fjall"]));
        assert_eq!(parse_engines(&args(&["--engine", "postgres"])).ok(), Some(vec!["postgres"]));
        assert_eq!(parse_engines(&args(&["--engine=postgres"])).ok(), Some(vec!["postgres"]));
    }

    #[test]
    fn both_is_the_folder_engines_and_all_adds_postgres() {
        assert_eq!(parse_engines(&args(&["--engine", "both"])).ok(), Some(vec!["fjall", "sled"]));
        assert_eq!(parse_engines(&args(&["--engine", "all"])).ok(), Some(vec!["fjall", "sled", "postgres"]));
        assert_eq!(parse_engines(&args(&["--engine=all"])).ok(), Some(vec!["fjall", "sled", "postgres"]));
    }

    #[test]
    fn unknown_engine_or_argument_is_a_usage_error() {
        for bad in [&["--engine", "rocks"][..], &["--engine"], &["--fast"], &["--engine", "memory"], &["--engine="]] {
            let failure = parse_engines(&args(bad)).err();
            assert_eq!(failure.map(|f| f.code), Some(2), "{bad:?}");
        }
    }
}
