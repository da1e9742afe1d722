//! `cargo xtask ci`: the full check, in the order a failure is cheapest to
//! find.
//!
//! 1. `cargo fmt --all --check`
//! 2. `RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features -p commons-gateway`
//!    (a minute from scratch, so a broken doc link fails the run early)
//! 3. for each feature set of [`FEATURE_SETS`], in order:
//!    `cargo clippy --workspace --all-targets <flags> -- -D warnings`, then
//!    `cargo test --workspace --no-fail-fast <flags>`; for the sets of the
//!    folder engines (`--features sled-store`, `--features fjall-store`), then
//!    a 3-cycle crash soak smoke run ([`soak_smoke_command`]) on the debug
//!    server and `soak` example that `cargo test` just built (about 10 s
//!    each)
//!
//! The feature sets that turn on `postgres-store` ([`needs_postgres`]:
//! `--features postgres-store` and `--all-features`) run their tests
//! against a real PostgreSQL server: before the first of them, the run
//! starts one throwaway [`TestServer`] (see [`crate::postgres`]; it prints
//! `postgres: test server on 127.0.0.1:PORT (data in DIR, ...)`), and
//! those sets' `cargo test` gets its URL in `COMMONS_TEST_DATABASE_URL` and
//! the shell command line that restarts it in `COMMONS_TEST_PG_RESTART`
//! (clippy gets neither); the multi-gateway tests restart it mid-load. The server is stopped and its directory removed at
//! the end of the run, whether it passed or failed, before the summary.
//! Nothing started by hand is used: a machine with the PostgreSQL binaries
//! installed (not running) is enough, and with `CI=true` xtask installs
//! them when they are missing.
//!
//! The first failing step ends the run with a message naming it and a
//! non-zero exit code. Test output is streamed through to the terminal (so CI
//! logs show failures) and its `test result:` lines are summed per feature
//! set; a feature set that runs 0 tests is a failure (a test target that
//! silently compiled to nothing would otherwise pass). The last line of a
//! successful run is `ci: N passed, 0 failed`.
//!
//! **Invariant:** every step uses the same target directory (see
//! [`crate::cmd`]), never one per feature set.

use std::env::consts::EXE_SUFFIX;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::cmd::{self, Failure, Result};
use crate::postgres::TestServer;

/// The variable that gives the `postgres-store` tests their server's URL.
pub const TEST_DATABASE_URL_VAR: &str = "COMMONS_TEST_DATABASE_URL";

/// The variable that gives the `postgres-store` tests the `sh -c` command
/// line restarting their server ([`TestServer::restart_command_line`]).
pub const TEST_RESTART_VAR: &str = "COMMONS_TEST_PG_RESTART";

/// What the `postgres-store` tests get of the run's server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestDatabase {
    /// Its URL ([`TEST_DATABASE_URL_VAR`]).
    pub url: String,
    /// The command line that restarts it ([`TEST_RESTART_VAR`]).
    pub restart: String,
}

impl TestDatabase {
    fn of(server: &TestServer) -> Self {
        Self { url: server.url(), restart: server.restart_command_line() }
    }
}

/// The feature that needs a PostgreSQL server for its tests.
pub const POSTGRES_FEATURE: &str = "postgres-store";

/// One set of cargo feature flags the CI builds, lints and tests.
#[derive(Debug, Clone, Copy)]
pub struct FeatureSet {
    /// How the set is named in the report (`default`, `--features sled-store`).
    pub name: &'static str,
    /// The flags passed to cargo.
    pub flags: &'static [&'static str],
    /// The folder engine (`fjall`, `sled`) whose crash soak smoke run
    /// follows the set's tests ([`soak_smoke_command`]), on the debug
    /// server and `soak` example those tests just built; the set's flags
    /// must select exactly that engine.
    pub soak: Option<&'static str>,
}

/// Cycles of the crash soak smoke run.
pub const SOAK_SMOKE_CYCLES: &str = "3";

/// The smoke run's seed: the same kill schedule in every run, so a failure
/// can be repeated with `--seed 1`.
pub const SOAK_SMOKE_SEED: &str = "1";

/// The feature sets, in the order they run: the in-memory default first
/// (fastest feedback), each persistent engine alone (the embedded ones
/// first; `postgres-store` needs the test server), all of them together
/// (every compiled-in backend runs the conformance suite), and the library
/// alone without the gateway.
pub const FEATURE_SETS: &[FeatureSet] = &[
    FeatureSet { name: "default", flags: &[], soak: None },
    FeatureSet { name: "--features sled-store", flags: &["--features", "sled-store"], soak: Some("sled") },
    FeatureSet { name: "--features fjall-store", flags: &["--features", "fjall-store"], soak: Some("fjall") },
    FeatureSet { name: "--features postgres-store", flags: &["--features", "postgres-store"], soak: None },
    FeatureSet { name: "--all-features", flags: &["--all-features"], soak: None },
    FeatureSet { name: "--no-default-features", flags: &["--no-default-features"], soak: None },
];

/// Whether `set`'s flags turn on [`POSTGRES_FEATURE`]: `--all-features`,
/// or a `--features`/`-F` list naming it (`postgres-store`,
/// `commons-gateway/postgres-store`, comma- or space-separated).
pub fn needs_postgres(set: &FeatureSet) -> bool {
    let names_it =
        |list: &str| list.split([',', ' ']).any(|feature| feature.rsplit('/').next() == Some(POSTGRES_FEATURE));
    let mut flags = set.flags.iter();
    while let Some(flag) = flags.next() {
        let listed = match *flag {
            "--all-features" => return true,
            "--features" | "-F" => flags.next().copied(),
            other => other.strip_prefix("--features="),
        };
        if listed.is_some_and(names_it) {
            return true;
        }
    }
    false
}

/// Test counts from libtest's `test result:` lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TestCounts {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
    /// Tests marked `#[ignore]` (not run).
    pub ignored: u64,
}

impl TestCounts {
    fn add(&mut self, other: TestCounts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
    }
}

/// Parses one line of libtest output, e.g.
/// `test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s`
/// (also the `FAILED.` form). Any other line gives `None`.
pub fn parse_test_result(line: &str) -> Option<TestCounts> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let (_outcome, counts) = rest.split_once(". ")?;
    let mut result = TestCounts::default();
    let mut seen = false;
    for part in counts.split(';') {
        let mut words = part.split_whitespace();
        let (Some(number), Some(word)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(number) = number.parse::<u64>() else {
            continue;
        };
        match word {
            "passed" => result.passed = number,
            "failed" => result.failed = number,
            "ignored" => result.ignored = number,
            _ => continue,
        }
        seen = true;
    }
    seen.then_some(result)
}

/// The report line of one feature set: `feature set <name>: N passed, M failed`.
pub fn feature_set_line(set: &FeatureSet, counts: TestCounts) -> String {
    format!("feature set {}: {} passed, {} failed", set.name, counts.passed, counts.failed)
}

/// The final line: `ci: N passed, M failed`.
pub fn total_line(counts: TestCounts) -> String {
    format!("ci: {} passed, {} failed", counts.passed, counts.failed)
}

struct Report {
    started: Instant,
    steps: Vec<(String, f64)>,
    sets: Vec<(FeatureSet, TestCounts)>,
}

impl Report {
    fn print_summary(&self) {
        println!();
        println!("[ci] steps:");
        for (step, secs) in &self.steps {
            println!("[ci]   {secs:>7.1}s  {step}");
        }
        println!("[ci] total time {:.1}s", self.started.elapsed().as_secs_f64());
        for (set, counts) in &self.sets {
            println!("{}", feature_set_line(set, *counts));
        }
    }

    fn total(&self) -> TestCounts {
        let mut total = TestCounts::default();
        for (_, counts) in &self.sets {
            total.add(*counts);
        }
        total
    }
}

/// Runs the CI. Takes no arguments.
pub fn run(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return Err(Failure::usage(format!("`cargo xtask ci` takes no arguments (got `{arg}`)")));
    }
    let mut report = Report { started: Instant::now(), steps: Vec::new(), sets: Vec::new() };
    let mut postgres = None;
    let result = run_steps(&mut report, &mut postgres);
    if let Some(server) = postgres {
        server.stop_and_report();
    }
    report.print_summary();
    match result {
        Ok(()) => {
            println!("{}", total_line(report.total()));
            Ok(())
        }
        Err(failure) => {
            let total = report.total();
            // Only a test failure has a meaningful total; after a fmt,
            // clippy or doc failure a `0 failed` line would read as success.
            if total.failed > 0 {
                println!("{}", total_line(total));
            }
            Err(Failure { message: format!("ci failed: {}", failure.message), code: failure.code })
        }
    }
}

/// Runs the steps; `postgres` holds the test server once a feature set
/// needed it, for the caller to stop whatever happened.
fn run_steps(report: &mut Report, postgres: &mut Option<TestServer>) -> Result {
    step(report, cmd::cargo(["fmt", "--all", "--check"]))?;
    let mut doc = cmd::cargo(["doc", "--no-deps", "--all-features", "-p", "commons-gateway"]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    step(report, doc)?;
    for set in FEATURE_SETS {
        let database = if needs_postgres(set) { Some(ensure_postgres(report, postgres)?) } else { None };

        step(report, clippy_command(set))?;
        let outcome = test_step(report, test_command(set, database.as_ref()));
        let counts = outcome.as_ref().map_or_else(|(c, _)| *c, |c| *c);
        report.sets.push((*set, counts));
        println!("{}", feature_set_line(set, counts));
        outcome.map_err(|(_, failure)| failure)?;
        if counts.passed == 0 {
            return Err(Failure::new(format!(
                "feature set {} ran 0 tests (expected at least one; is a test target missing?)",
                set.name
            )));
        }
        if let Some(engine) = set.soak {
            // Right away: the next set's build replaces the debug server.
            step(report, soak_smoke_command(engine))?;
        }
    }
    Ok(())
}

/// The crash soak's smoke run, on the binaries the last `cargo test` built
/// (it builds the server for the integration tests and every example, in
/// the dev profile): `<target>/debug/examples/soak --binary
/// <target>/debug/commons-gateway --engine <engine> --cycles 3 --seed 1`,
/// 16 clients. About 10 s per engine; it fails on any lost or half-applied
/// write, verify defect or failed check (see `cargo xtask soak`).
pub fn soak_smoke_command(engine: &str) -> Command {
    let debug = cmd::target_dir().join("debug");
    let mut soak = Command::new(debug.join("examples").join(format!("soak{EXE_SUFFIX}")));
    soak.arg("--binary")
        .arg(debug.join(format!("commons-gateway{EXE_SUFFIX}")))
        .args(["--engine", engine, "--cycles", SOAK_SMOKE_CYCLES, "--seed", SOAK_SMOKE_SEED])
        .current_dir(cmd::project_root());
    soak
}

/// `cargo clippy --workspace --all-targets <flags> -- -D warnings` (no
/// database: clippy runs nothing).
fn clippy_command(set: &FeatureSet) -> Command {
    let mut clippy = cmd::cargo(["clippy", "--workspace", "--all-targets"]);
    clippy.args(set.flags).args(["--", "-D", "warnings"]);
    clippy
}

/// `cargo test --workspace --no-fail-fast <flags>`, with
/// `COMMONS_TEST_DATABASE_URL=<url>` and `COMMONS_TEST_PG_RESTART=<restart>`
/// when there is a database.
fn test_command(set: &FeatureSet, database: Option<&TestDatabase>) -> Command {
    let mut test = cmd::cargo(["test", "--workspace", "--no-fail-fast"]);
    test.args(set.flags);
    if let Some(database) = database {
        test.env(TEST_DATABASE_URL_VAR, &database.url);
        test.env(TEST_RESTART_VAR, &database.restart);
    }
    test
}

/// The URL and restart command of the run's test server, starting it (a
/// step of the report) the first time.
fn ensure_postgres(report: &mut Report, postgres: &mut Option<TestServer>) -> Result<TestDatabase> {
    if let Some(server) = postgres {
        return Ok(TestDatabase::of(server));
    }
    let shown = "postgres: start a throwaway test server".to_string();
    println!("[ci] step {}: {shown}", report.steps.len() + 1);
    let started = Instant::now();
    let result = TestServer::start();
    finish_step(report, shown, started, result.is_ok());
    let server = result?;
    println!("{}", server.describe());
    let database = TestDatabase::of(&server);
    *postgres = Some(server);
    Ok(database)
}

fn step(report: &mut Report, mut command: Command) -> Result {
    let shown = cmd::display(&command);
    println!("[ci] step {}: {shown}", report.steps.len() + 1);
    let started = Instant::now();
    let result = cmd::run_unechoed(&mut command, &shown);
    finish_step(report, shown, started, result.is_ok());
    result
}

/// Runs `cargo test`, echoing its stdout line by line and summing the
/// `test result:` lines. On failure the counts seen so far come with it.
fn test_step(report: &mut Report, mut command: Command) -> std::result::Result<TestCounts, (TestCounts, Failure)> {
    let shown = cmd::display(&command);
    println!("[ci] step {}: {shown}", report.steps.len() + 1);
    let started = Instant::now();
    let mut counts = TestCounts::default();
    let result = stream_tests(&mut command, &shown, &mut counts);
    finish_step(report, shown, started, result.is_ok());
    result.map(|()| counts).map_err(|failure| (counts, failure))
}

fn stream_tests(command: &mut Command, shown: &str, counts: &mut TestCounts) -> Result {
    let mut child =
        command.stdout(Stdio::piped()).spawn().map_err(|e| Failure::new(format!("could not start `{shown}`: {e}")))?;
    let Some(stdout) = child.stdout.take() else {
        // Unreachable: stdout was set to piped above. Reap the child anyway.
        let _ = child.kill();
        let _ = child.wait();
        return Err(Failure::new(format!("`{shown}`: no stdout pipe")));
    };
    let mut reader = BufReader::new(stdout);
    let mut out = std::io::stdout().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {
                // Echo failures are not fatal: the child must still be drained.
                let _ = out.write_all(&line);
                let _ = out.flush();
                if let Some(found) = parse_test_result(&String::from_utf8_lossy(&line)) {
                    counts.add(found);
                }
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Failure::new(format!("reading the output of `{shown}`: {e}")));
            }
        }
    }
    drop(out);
    let status = child.wait().map_err(|e| Failure::new(format!("waiting for `{shown}`: {e}")))?;
    cmd::check(status, shown).map_err(|failure| Failure {
        message: format!("{} ({} passed, {} failed)", failure.message, counts.passed, counts.failed),
        code: failure.code,
    })
}

fn finish_step(report: &mut Report, shown: String, started: Instant, ok: bool) {
    let secs = started.elapsed().as_secs_f64();
    let verdict = if ok { "ok" } else { "FAILED" };
    println!("[ci] {verdict} in {secs:.1}s: {shown}");
    report.steps.push((shown, secs));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ok_and_failed_result_lines() {
        assert_eq!(
            parse_test_result(
                "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s"
            ),
            Some(TestCounts { passed: 12, failed: 0, ignored: 1 })
        );
        assert_eq!(
            parse_test_result(
                "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.50s\r\n"
            ),
            Some(TestCounts { passed: 3, failed: 2, ignored: 0 })
        );
    }

    #[test]
    fn ignores_lines_that_are_not_results() {
        assert_eq!(parse_test_result("test store::put_get ... ok"), None);
        assert_eq!(parse_test_result("running 12 tests"), None);
        assert_eq!(parse_test_result("test result: nothing here"), None);
        assert_eq!(parse_test_result(""), None);
    }

    #[test]
    fn report_lines_have_the_documented_shape() {
        let counts = TestCounts { passed: 123, failed: 0, ignored: 4 };
        assert_eq!(
            feature_set_line(&FEATURE_SETS[1], counts),
            "feature set --features sled-store: 123 passed, 0 failed"
        );
        assert_eq!(total_line(counts), "ci: 123 passed, 0 failed");
    }

    #[test]
    fn feature_sets_run_in_the_documented_order() {
        let names: Vec<&str> = FEATURE_SETS.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "default",
                "--features sled-store",
                "--features fjall-store",
                "--features postgres-store",
                "--all-features",
                "--no-default-features"
            ]
        );
    }

    #[test]
    fn each_folder_engine_set_alone_runs_its_soak_smoke() {
        let soaking: Vec<(&str, &str)> =
            FEATURE_SETS.iter().filter_map(|set| set.soak.map(|engine| (set.name, engine))).collect();
        assert_eq!(soaking, [("--features sled-store", "sled"), ("--features fjall-store", "fjall")]);
        for set in FEATURE_SETS.iter().filter(|set| set.soak.is_some()) {
            let feature = format!("{}-store", set.soak.unwrap_or_default());
            assert_eq!(set.flags, ["--features", feature.as_str()], "{}", set.name);
        }
        let shown = cmd::display(&soak_smoke_command("fjall"));
        assert!(shown.ends_with("--engine fjall --cycles 3 --seed 1"), "{shown}");
        assert!(shown.contains("/debug/examples/soak --binary "), "{shown}");
    }

    #[test]
    fn only_the_sets_that_turn_on_postgres_store_need_the_server() {
        let needing: Vec<&str> = FEATURE_SETS.iter().filter(|set| needs_postgres(set)).map(|set| set.name).collect();
        assert_eq!(needing, ["--features postgres-store", "--all-features"]);
        let set = |flags: &'static [&'static str]| FeatureSet { name: "x", flags, soak: None };
        assert!(needs_postgres(&set(&["--features", "sled-store,postgres-store"])));
        assert!(needs_postgres(&set(&["--features=commons-gateway/postgres-store"])));
        assert!(needs_postgres(&set(&["-F", "fjall-store postgres-store"])));
        assert!(!needs_postgres(&set(&["--features", "postgres-store-extra"])));
        assert!(!needs_postgres(&set(&["--no-default-features"])));
    }

    #[test]
    fn only_the_test_command_gets_the_database_url_and_restart_command() {
        let database = TestDatabase {
            url: "postgres://postgres@127.0.0.1:5433/commons".into(),
            restart: "/usr/lib/postgresql/15/bin/pg_ctl -D /tmp/d/data restart".into(),
        };
        let postgres = FEATURE_SETS.iter().find(|set| set.name == "--features postgres-store").unwrap();
        let test = test_command(postgres, Some(&database));
        let envs: Vec<(String, String)> = test
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_string_lossy().into_owned(), v?.to_string_lossy().into_owned())))
            .collect();
        assert_eq!(
            envs,
            [
                (TEST_DATABASE_URL_VAR.to_string(), database.url.clone()),
                (TEST_RESTART_VAR.to_string(), database.restart.clone())
            ]
        );
        assert_eq!(
            cmd::display(&test),
            "COMMONS_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5433/commons \
             COMMONS_TEST_PG_RESTART=\"/usr/lib/postgresql/15/bin/pg_ctl -D /tmp/d/data restart\" \
             cargo test --workspace --no-fail-fast --features postgres-store"
        );
        assert_eq!(
            cmd::display(&clippy_command(postgres)),
            "cargo clippy --workspace --all-targets --features postgres-store -- -D warnings"
        );
        assert_eq!(cmd::display(&test_command(&FEATURE_SETS[0], None)), "cargo test --workspace --no-fail-fast");
    }
}
