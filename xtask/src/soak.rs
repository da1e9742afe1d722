//! `cargo xtask soak [--engine fjall|sled] [--cycles N] [--clients N]
//! [--seed N]`: builds the release server with one folder engine and the
//! `soak` example ([`cmd::build_release`], as `demo` does), then runs
//! `target/release/examples/soak --binary target/release/commons-gateway
//! --engine <engine> --cycles N --clients N [--seed N]`.
//!
//! The soak (see `examples/soak/main.rs`) sends a mixed load of writes from
//! N client threads, SIGKILLs the server at a random moment of each cycle,
//! runs `commons-gateway verify`, restarts the server and checks over HTTP
//! that every acknowledged write is there and every unanswered one wholly
//! applied or wholly absent. It prints a line per cycle and a summary line
//! (`soak: fjall 50 cycles, 16 clients: acknowledged N, ..., lost 0, ...,
//! verify defects 0, restarts 50, median restart N ms, ...`), and exits
//! non-zero on any loss, defect or failed check; xtask passes its exit
//! code through. Defaults: fjall, 10 cycles, 16 clients; without `--seed`
//! the soak draws one and prints it, so a run's schedule can be repeated.
//! Each cycle's load lasts 0.3 to 3 s, so 50 cycles take a few minutes
//! after the build.

use std::process::Command;

use crate::cmd::{self, Failure, Result};

/// The usage line of `cargo xtask soak`.
const USAGE: &str = "usage: cargo xtask soak [--engine fjall|sled] [--cycles N] [--clients N] [--seed N]";

/// The engines a soak can run on: the two that keep their store in a
/// folder (the soak kills the one process that owns it).
const ENGINES: &[&str] = &["fjall", "sled"];

/// Most cycles and clients accepted (the example's bounds too).
const MAX_CYCLES: u32 = 10_000;
const MAX_CLIENTS: u32 = 256;

/// What to soak, and how hard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `fjall` (default) or `sled`.
    pub engine: &'static str,
    /// Kill-and-restart cycles (default 10).
    pub cycles: u32,
    /// Concurrent client threads (default 16).
    pub clients: u32,
    /// The schedule's seed; the soak draws one when absent.
    pub seed: Option<u64>,
}

/// Parses `--engine`, `--cycles`, `--clients` and `--seed` (each as `--flag
/// VALUE` or `--flag=VALUE`). A bad value or an unknown argument is a usage
/// error (exit code 2).
pub fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options { engine: "fjall", cycles: 10, clients: 16, seed: None };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value)),
            None => (arg.as_str(), None),
        };
        if !matches!(flag, "--engine" | "--cycles" | "--clients" | "--seed") {
            return Err(Failure::usage(format!("unknown argument `{arg}` ({USAGE})")));
        }
        let value = match inline {
            Some(value) => value,
            None => args.next().ok_or_else(|| Failure::usage(format!("`{flag}` needs a value ({USAGE})")))?.as_str(),
        };
        match flag {
            "--engine" => {
                options.engine = ENGINES.iter().find(|known| **known == value).copied().ok_or_else(|| {
                    Failure::usage(format!("unknown engine `{value}` for the soak (expected fjall or sled)"))
                })?;
            }
            "--cycles" => options.cycles = count(flag, value, MAX_CYCLES)?,
            "--clients" => options.clients = count(flag, value, MAX_CLIENTS)?,
            _ => {
                let seed =
                    value.parse().map_err(|_| Failure::usage(format!("`--seed {value}`: expected a whole number")))?;
                options.seed = Some(seed);
            }
        }
    }
    Ok(options)
}

/// A whole number from 1 to `max`, or a usage error naming `flag`.
fn count(flag: &str, value: &str, max: u32) -> Result<u32> {
    match value.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(Failure::usage(format!("`{flag} {value}`: expected a whole number from 1 to {max}"))),
    }
}

/// Builds the release server and the soak with the engine, then runs it.
pub fn run(args: &[String]) -> Result {
    let options = parse(args)?;
    let build = cmd::build_release(options.engine, "soak")?;
    let mut command = Command::new(&build.example);
    command.arg("--binary").arg(&build.server).args(example_args(&options)).current_dir(cmd::project_root());
    cmd::run(&mut command)
}

/// The soak example's arguments after `--binary PATH`.
fn example_args(options: &Options) -> Vec<String> {
    let mut args = vec![
        "--engine".to_string(),
        options.engine.to_string(),
        "--cycles".to_string(),
        options.cycles.to_string(),
        "--clients".to_string(),
        options.clients.to_string(),
    ];
    if let Some(seed) = options.seed {
        args.extend(["--seed".to_string(), seed.to_string()]);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_are_fjall_ten_cycles_sixteen_clients_and_no_seed() {
        let options = parse(&[]).ok();
        assert_eq!(options, Some(Options { engine: "fjall", cycles: 10, clients: 16, seed: None }));
    }

    #[test]
    fn accepts_both_spellings_of_every_flag() {
        let spaced = parse(&args(&["--engine", "sled", "--cycles", "50", "--clients", "4", "--seed", "7"])).ok();
        let inline = parse(&args(&["--engine=sled", "--cycles=50", "--clients=4", "--seed=7"])).ok();
        let want = Options { engine: "sled", cycles: 50, clients: 4, seed: Some(7) };
        assert_eq!(spaced, Some(want.clone()));
        assert_eq!(inline, Some(want));
    }

    #[test]
    fn the_seed_is_passed_on_only_when_given() {
        let options = Options { engine: "fjall", cycles: 3, clients: 2, seed: None };
        assert_eq!(example_args(&options), args(&["--engine", "fjall", "--cycles", "3", "--clients", "2"]));
        let options = Options { seed: Some(42), ..options };
        assert_eq!(example_args(&options)[6..], args(&["--seed", "42"]));
    }

    #[test]
    fn bad_values_and_unknown_arguments_are_usage_errors() {
        let bad: &[&[&str]] = &[
            &["--engine", "postgres"],
            &["--engine", "memory"],
            &["--engine"],
            &["--cycles", "0"],
            &["--cycles", "-1"],
            &["--cycles", "10001"],
            &["--clients", "0"],
            &["--clients", "257"],
            &["--clients", "many"],
            &["--seed", "-3"],
            &["--seed="],
            &["--fast"],
            &["fjall"],
        ];
        for list in bad {
            let failure = parse(&args(list)).err();
            assert_eq!(failure.map(|f| f.code), Some(2), "{list:?}");
        }
    }
}
