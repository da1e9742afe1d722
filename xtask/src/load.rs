//! `cargo xtask load [--engine fjall|sled|postgres] [--clients LIST]
//! [--seconds N] [--durability sync|buffered] [--json FILE] [--scale
//! [--members N]]`: builds the release server with the engine's feature and
//! the load tool (`load/`, package `commons-load`) in one cargo invocation
//! ([`build_command`], so the library is compiled once for both), then runs
//! `target/release/commons-load --binary target/release/commons-gateway
//! --engine <engine> ...` and passes its exit code through.
//!
//! The tool (see `load/src/main.rs`) starts the server on a fresh store,
//! drives it with N concurrent clients per scenario (health, operator
//! bootstrap under `--durability sync` and `buffered`, the full signed
//! enrollment, reads by id and by DID with the record cache hit and missed,
//! paged member lists, votes on one amendment), measures the fsync floor
//! and a SQLite peer in the same run, and prints a table per scenario and a
//! ratio table against the targets; `--json FILE` also writes them as JSON
//! (a relative FILE is relative to the workspace root). With `--scale` it
//! measures the scale points instead (1,000 members beside `--members N`,
//! default 1,000,000): store size, restart time after SIGTERM and SIGKILL,
//! RSS after 20,000 random reads, random-read throughput.
//!
//! For postgres, xtask starts a throwaway PostgreSQL server after the build
//! ([`TestServer`], as `demo` and `ci` do) and passes its URL
//! (`--database-url URL`); it is stopped and its directory removed at the
//! end, whatever the outcome. Defaults: fjall, clients 1,4,16,64, 5 s per
//! scenario and client count, durability sync; about 4 minutes of load
//! after the build with the defaults.

use std::env::consts::EXE_SUFFIX;
use std::process::Command;

use crate::cmd::{self, Failure, Result};
use crate::postgres::TestServer;

/// The usage line of `cargo xtask load`.
const USAGE: &str = "usage: cargo xtask load [--engine fjall|sled|postgres] [--clients LIST] [--seconds N] \
                     [--durability sync|buffered] [--json FILE] [--scale [--members N]]";

/// The engines the load tool can drive.
const ENGINES: &[&str] = &["fjall", "sled", "postgres"];

/// Most concurrent clients in one count (the tool's bound too).
const MAX_CLIENTS: u32 = 256;

/// What to load, how hard and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `fjall` (default), `sled` or `postgres`.
    pub engine: &'static str,
    /// Client counts, comma-separated (`None`: the tool's default 1,4,16,64).
    pub clients: Option<String>,
    /// Seconds per scenario and client count (`None`: the tool's default 5).
    pub seconds: Option<u32>,
    /// `sync` or `buffered` (`None`: the tool's default sync).
    pub durability: Option<&'static str>,
    /// Where the tool writes the JSON results.
    pub json: Option<String>,
    /// The scale points instead of the scenarios.
    pub scale: bool,
    /// Members of the large scale point (`None`: the tool's default 1,000,000).
    pub members: Option<u32>,
}

/// Parses the arguments (each flag as `--flag VALUE` or `--flag=VALUE`;
/// `--scale` alone). A bad value, an unknown argument or `--members`
/// without `--scale` is a usage error (exit code 2).
pub fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options {
        engine: "fjall",
        clients: None,
        seconds: None,
        durability: None,
        json: None,
        scale: false,
        members: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--scale" {
            options.scale = true;
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value)),
            None => (arg.as_str(), None),
        };
        if !matches!(flag, "--engine" | "--clients" | "--seconds" | "--durability" | "--json" | "--members") {
            return Err(Failure::usage(format!("unknown argument `{arg}` ({USAGE})")));
        }
        let value = match inline {
            Some(value) => value,
            None => args.next().ok_or_else(|| Failure::usage(format!("`{flag}` needs a value ({USAGE})")))?.as_str(),
        };
        match flag {
            "--engine" => {
                options.engine = ENGINES.iter().find(|known| **known == value).copied().ok_or_else(|| {
                    Failure::usage(format!("unknown engine `{value}` (expected fjall, sled or postgres)"))
                })?;
            }
            "--clients" => options.clients = Some(client_list(value)?),
            "--seconds" => options.seconds = Some(count(flag, value, 1, 3600)?),
            "--durability" => {
                options.durability = Some(match value {
                    "sync" => "sync",
                    "buffered" => "buffered",
                    _ => return Err(Failure::usage(format!("`--durability {value}`: expected sync or buffered"))),
                });
            }
            "--json" if value.is_empty() => return Err(Failure::usage("`--json` needs a file name")),
            "--json" => options.json = Some(value.to_string()),
            _ => options.members = Some(count(flag, value, 1000, 100_000_000)?),
        }
    }
    if options.members.is_some() && !options.scale {
        return Err(Failure::usage("`--members` only goes with `--scale`"));
    }
    Ok(options)
}

/// A whole number from `min` to `max`, or a usage error naming `flag`.
fn count(flag: &str, value: &str, min: u32, max: u32) -> Result<u32> {
    match value.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Failure::usage(format!("`{flag} {value}`: expected a whole number from {min} to {max}"))),
    }
}

/// `1,4,16,64`, each from 1 to [`MAX_CLIENTS`], no repeats; returned as given.
fn client_list(value: &str) -> Result<String> {
    let mut seen = Vec::new();
    for part in value.split(',') {
        let n = count("--clients", part, 1, MAX_CLIENTS)?;
        if seen.contains(&n) {
            return Err(Failure::usage(format!("`--clients {value}`: {n} is listed twice")));
        }
        seen.push(n);
    }
    Ok(value.to_string())
}

/// `cargo build --release -p commons-gateway -p commons-load --features
/// commons-gateway/<engine>-store --bin commons-gateway --bin commons-load`:
/// the server with the engine (and its default `gateway` feature) and the
/// load tool, the library compiled once for both.
pub fn build_command(engine: &str) -> Command {
    let features = format!("commons-gateway/{engine}-store");
    cmd::cargo([
        "build",
        "--release",
        "-p",
        "commons-gateway",
        "-p",
        "commons-load",
        "--features",
        &features,
        "--bin",
        "commons-gateway",
        "--bin",
        "commons-load",
    ])
}

/// The load tool's arguments after `--binary PATH` (and before
/// `--database-url`, which only xtask knows).
fn tool_args(options: &Options) -> Vec<String> {
    let mut args = vec!["--engine".to_string(), options.engine.to_string()];
    let mut push = |flag: &str, value: Option<String>| {
        if let Some(value) = value {
            args.extend([flag.to_string(), value]);
        }
    };
    push("--clients", options.clients.clone());
    push("--seconds", options.seconds.map(|n| n.to_string()));
    push("--durability", options.durability.map(str::to_string));
    push("--json", options.json.clone());
    push("--members", options.members.map(|n| n.to_string()));
    if options.scale {
        args.push("--scale".to_string());
    }
    args
}

/// Builds the server and the tool, then runs the tool (on a throwaway
/// PostgreSQL server for postgres).
pub fn run(args: &[String]) -> Result {
    let options = parse(args)?;
    cmd::run(&mut build_command(options.engine))?;
    let release = cmd::target_dir().join("release");
    let mut command = Command::new(release.join(format!("commons-load{EXE_SUFFIX}")));
    command
        .arg("--binary")
        .arg(release.join(format!("commons-gateway{EXE_SUFFIX}")))
        .args(tool_args(&options))
        .current_dir(cmd::project_root());
    if options.engine != "postgres" {
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
    fn defaults_are_fjall_and_the_tools_own_defaults() -> Result {
        let options = parse(&[])?;
        assert_eq!(options.engine, "fjall");
        assert_eq!(tool_args(&options), args(&["--engine", "fjall"]));
        Ok(())
    }

    #[test]
    fn every_flag_is_passed_on_in_both_spellings() -> Result {
        let spaced = parse(&args(&[
            "--engine",
            "sled",
            "--clients",
            "1,16",
            "--seconds",
            "3",
            "--durability",
            "buffered",
            "--json",
            "load.json",
            "--scale",
            "--members",
            "20000",
        ]))?;
        let inline = parse(&args(&[
            "--engine=sled",
            "--clients=1,16",
            "--seconds=3",
            "--durability=buffered",
            "--json=load.json",
            "--scale",
            "--members=20000",
        ]))?;
        assert_eq!(spaced, inline);
        assert_eq!(
            tool_args(&spaced),
            args(&[
                "--engine",
                "sled",
                "--clients",
                "1,16",
                "--seconds",
                "3",
                "--durability",
                "buffered",
                "--json",
                "load.json",
                "--members",
                "20000",
                "--scale",
            ])
        );
        Ok(())
    }

    #[test]
    fn the_build_compiles_server_and_tool_together_with_the_engine() {
        assert_eq!(
            cmd::display(&build_command("postgres")),
            "cargo build --release -p commons-gateway -p commons-load --features commons-gateway/postgres-store \
             --bin commons-gateway --bin commons-load"
        );
    }

    #[test]
    fn bad_values_and_unknown_arguments_are_usage_errors() {
        let bad: &[&[&str]] = &[
            &["--engine", "memory"],
            &["--engine"],
            &["--clients", "0"],
            &["--clients", "1,,4"],
            &["--clients", "4,4"],
            &["--clients", "257"],
            &["--seconds", "0"],
            &["--seconds", "3601"],
            &["--durability", "none"],
            &["--json="],
            &["--members", "5000"],
            &["--scale", "--members", "999"],
            &["--fast"],
            &["fjall"],
        ];
        for list in bad {
            let failure = parse(&args(list)).err();
            assert_eq!(failure.map(|f| f.code), Some(2), "{list:?}");
        }
    }
}
