//! `cargo xtask bench [ARGS...]`: the criterion benchmarks in `benches/`,
//! with every persistent engine compiled in (sled, fjall and PostgreSQL), so
//! one run compares the in-memory floor, sled, fjall and PostgreSQL.
//!
//! Before the benchmarks, xtask starts a throwaway PostgreSQL server
//! ([`TestServer`], as `cargo xtask ci` does) and gives its URL to the
//! benchmarks in `COMMONS_TEST_DATABASE_URL`; each postgres benchmark works
//! in a fresh schema of it. When the server cannot be started (PostgreSQL
//! not installed, initdb failing, ...), xtask says why and runs the
//! benchmarks without that variable: they skip PostgreSQL, say so, and
//! measure the other engines. The server is stopped and its directory
//! removed at the end, whatever the outcome.
//!
//! Extra arguments are passed to `cargo bench` as given (for example
//! `-- --save-baseline main`, or `-- concurrent_write/` for one group). The
//! exit code of cargo is passed through.

use std::process::Command;

use crate::ci::TEST_DATABASE_URL_VAR;
use crate::cmd::{self, Result};
use crate::postgres::TestServer;

/// The features `cargo xtask bench` compiles in: every persistent engine.
pub const FEATURES: &str = "sled-store,fjall-store,postgres-store";

/// Starts a PostgreSQL test server (or says why not), then runs
/// `cargo bench --features sled-store,fjall-store,postgres-store [ARGS...]`
/// with `COMMONS_TEST_DATABASE_URL` set to the server's URL.
pub fn run(args: &[String]) -> Result {
    let database = match TestServer::start() {
        Ok(server) => {
            eprintln!("{}", server.describe());
            Some(server)
        }
        Err(failure) => {
            eprintln!(
                "xtask: warning: postgres will be skipped: the PostgreSQL test server did not start: {}",
                failure.message
            );
            None
        }
    };
    let mut bench = bench_command(database.as_ref().map(TestServer::url).as_deref(), args);
    let outcome = cmd::run(&mut bench);
    if let Some(server) = database {
        server.stop_and_report();
    }
    outcome
}

/// `cargo bench --features <FEATURES> [ARGS...]`, with
/// `COMMONS_TEST_DATABASE_URL=<url>` when there is a server, and without
/// that variable (even one the caller set) when there is none, so that the
/// benchmarks skip PostgreSQL rather than measure a server xtask knows
/// nothing of.
fn bench_command(database_url: Option<&str>, args: &[String]) -> Command {
    let mut bench = cmd::cargo(["bench", "--features", FEATURES]);
    bench.args(args);
    match database_url {
        Some(url) => bench.env(TEST_DATABASE_URL_VAR, url),
        None => bench.env_remove(TEST_DATABASE_URL_VAR),
    };
    bench
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_compiles_every_engine_and_passes_the_server_url() {
        let args = vec!["--".to_string(), "concurrent_write/".to_string()];
        let with = bench_command(Some("postgres://postgres@127.0.0.1:5433/commons"), &args);
        assert_eq!(
            cmd::display(&with),
            "COMMONS_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5433/commons \
             cargo bench --features sled-store,fjall-store,postgres-store -- concurrent_write/"
        );
    }

    #[test]
    fn without_a_server_the_variable_is_removed() {
        let without = bench_command(None, &[]);
        let removed: Vec<_> = without.get_envs().filter(|(_, value)| value.is_none()).map(|(key, _)| key).collect();
        assert_eq!(removed, [TEST_DATABASE_URL_VAR]);
        assert_eq!(cmd::display(&without), "cargo bench --features sled-store,fjall-store,postgres-store");
    }
}
