//! `cargo xtask <command>`: repository automation for `commons-gateway`.
//!
//! The alias lives in `.cargo/config.toml`
//! (`xtask = "run --quiet --package xtask --"`). One module per command:
//!
//! - [`ci`]: `cargo xtask ci`, the whole check the CI runs (format, docs,
//!   then clippy and tests for every feature set, and a short crash soak
//!   on each folder engine), with a test count per feature set and in
//!   total.
//! - [`demo`]: `cargo xtask demo [--engine fjall|sled|postgres|both|all]`,
//!   builds the release server and the `demo` example and runs the example
//!   against it (for postgres, on a throwaway PostgreSQL server, with a
//!   second gateway on the same database).
//! - [`soak`]: `cargo xtask soak [--engine fjall|sled] [--cycles N]
//!   [--clients N] [--seed N]`, builds the release server and the `soak`
//!   example and runs the crash soak against it: concurrent writers, a
//!   SIGKILL at a random moment of each cycle, `verify`, restart, and a
//!   check that nothing acknowledged was lost.
//! - [`load`]: `cargo xtask load [--engine fjall|sled|postgres] [--clients
//!   LIST] [--seconds N] [--durability D] [--json FILE] [--scale [--members
//!   N]]`, builds the release server and the load tool (`load/`) and runs
//!   it: throughput and latency per scenario and client count, the fsync
//!   floor and a SQLite peer beside them, and a ratio table (or, with
//!   `--scale`, the scale points).
//! - [`bench`]: `cargo xtask bench [ARGS...]`, the criterion benchmarks with
//!   every persistent engine compiled in, PostgreSQL on a throwaway server.
//! - [`postgres`]: `cargo xtask postgres`, a throwaway PostgreSQL server
//!   for trying the `postgres-store` tests by hand; the same
//!   `TestServer` that `ci` starts for the feature sets that need one.
//! - [`cmd`]: how the commands find the workspace and run cargo.
//!
//! **Invariant:** this crate has no dependencies (std only), so it builds on
//! a fresh checkout in seconds and never breaks because the product's
//! dependency tree does. `tidy` tests (plain `#[test]`s, so `cargo test
//! --workspace` enforces them) check repository rules.

mod bench;
mod ci;
mod cmd;
mod demo;
mod load;
mod postgres;
mod soak;
#[cfg(test)]
mod tidy;

use std::process::ExitCode;

use cmd::Failure;

const HELP: &str = "\
usage: cargo xtask <command> [options]

commands:
  ci                              fmt check; clippy + tests for each feature set
                                  (default, sled-store, fjall-store, postgres-store,
                                  all, none); docs. The postgres-store and all sets
                                  get a throwaway PostgreSQL server of their own
                                  (COMMONS_TEST_DATABASE_URL, and the command that
                                  restarts it, COMMONS_TEST_PG_RESTART); the binaries must be
                                  installed (with CI=true, xtask runs
                                  `apt-get install -y postgresql` when they are not).
                                  After the sled-store and fjall-store tests, a
                                  3-cycle crash soak (soak --cycles 3 --seed 1) on
                                  the debug binaries they built
  demo [--engine E]               build the release server and run examples/demo
                                  against it; E: fjall (default), sled, postgres,
                                  both (fjall, sled) or all (fjall, sled, postgres).
                                  postgres starts a throwaway PostgreSQL server (as
                                  ci does) and runs two gateways on it
  soak [--engine E] [--cycles N] [--clients N] [--seed N]
                                  build the release server and run examples/soak
                                  against it: N clients (default 16) write a mixed
                                  load, the server is SIGKILLed at a random moment
                                  of each cycle (default 10 cycles), `verify` runs,
                                  the server restarts, and every acknowledged write
                                  must be found and every unanswered one wholly
                                  applied or absent; E: fjall (default) or sled.
                                  The seed (printed) repeats the kill schedule
  load [--engine E] [--clients LIST] [--seconds N] [--durability D] [--json FILE]
       [--scale [--members N]]
                                  build the release server and the load tool (load/)
                                  and run it: N concurrent clients (default 1,4,16,64)
                                  for N seconds (default 5) per scenario: health,
                                  POST /v1/anchors (sync and buffered), the signed
                                  enrollment, reads by id/DID (cache hit and miss),
                                  member pages, votes; the fsync floor and SQLite
                                  beside them; tables and a ratio table against the
                                  targets, as JSON with --json. E: fjall (default),
                                  sled, postgres (a throwaway PostgreSQL server, as
                                  ci starts). --scale: store size, restart, RSS and
                                  random reads at 1,000 members beside N (default
                                  1,000,000), loaded buffered
  bench [ARGS...]                 cargo bench --features sled-store,fjall-store,postgres-store
                                  [ARGS...], with a throwaway PostgreSQL server
                                  (COMMONS_TEST_DATABASE_URL); without one, postgres is
                                  skipped and the other engines are measured
  postgres                        start a throwaway PostgreSQL server (fresh directory
                                  under $TMPDIR, free port on 127.0.0.1, database
                                  `commons`), print its URL and the `export` lines
                                  (COMMONS_DATABASE_URL, COMMONS_TEST_DATABASE_URL,
                                  COMMONS_TEST_PG_RESTART); type `restart` to restart
                                  it; Ctrl-D or Ctrl-C stops it and removes its data
  help                            this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => {
            eprint!("{HELP}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        "ci" => ci::run(rest),
        "demo" => demo::run(rest),
        "soak" => soak::run(rest),
        "load" => load::run(rest),
        "bench" => bench::run(rest),
        "postgres" => postgres::run(rest),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(Failure::usage(format!("unknown command `{other}` (try `cargo xtask help`)"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("xtask: error: {}", failure.message);
            ExitCode::from(failure.exit_code())
        }
    }
}
