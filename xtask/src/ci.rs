//! `cargo xtask ci`: the full check, in the order a failure is cheapest to
//! find.
//!
//! 1. `cargo fmt --all --check`
//! 2. for each feature set of [`FEATURE_SETS`], in order:
//!    `cargo clippy --workspace --all-targets <flags> -- -D warnings`, then
//!    `cargo test --workspace --no-fail-fast <flags>`
//! 3. `RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features -p commons-gateway`
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

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::cmd::{self, Failure, Result};

/// One set of cargo feature flags the CI builds, lints and tests.
#[derive(Debug, Clone, Copy)]
pub struct FeatureSet {
    /// How the set is named in the report (`default`, `--features sled-store`).
    pub name: &'static str,
    /// The flags passed to cargo.
    pub flags: &'static [&'static str],
}

/// The feature sets, in the order they run: the in-memory default first
/// (fastest feedback), each persistent engine alone, all of them together
/// (every compiled-in backend runs the conformance suite), and the library
/// alone without the gateway.
pub const FEATURE_SETS: &[FeatureSet] = &[
    FeatureSet { name: "default", flags: &[] },
    FeatureSet { name: "--features sled-store", flags: &["--features", "sled-store"] },
    FeatureSet { name: "--features fjall-store", flags: &["--features", "fjall-store"] },
    FeatureSet { name: "--all-features", flags: &["--all-features"] },
    FeatureSet { name: "--no-default-features", flags: &["--no-default-features"] },
];

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
    let result = run_steps(&mut report);
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

fn run_steps(report: &mut Report) -> Result {
    step(report, cmd::cargo(["fmt", "--all", "--check"]))?;
    for set in FEATURE_SETS {
        let mut clippy = cmd::cargo(["clippy", "--workspace", "--all-targets"]);
        clippy.args(set.flags).args(["--", "-D", "warnings"]);
        step(report, clippy)?;

        let mut test = cmd::cargo(["test", "--workspace", "--no-fail-fast"]);
        test.args(set.flags);
        let outcome = test_step(report, test);
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
    }
    let mut doc = cmd::cargo(["doc", "--no-deps", "--all-features", "-p", "commons-gateway"]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    step(report, doc)
}

fn step(report: &mut Report, mut command: Command) -> Result {
    let shown = cmd::display(&command);
    println!("[ci] step {}: {shown}", report.steps.len() + 1);
    let started = Instant::now();
    let result = cmd::run_unechoed(&mut command, &shown);
    finish_step(report, shown, started, &result);
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
    finish_step(report, shown, started, &result);
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

fn finish_step(report: &mut Report, shown: String, started: Instant, result: &Result) {
    let secs = started.elapsed().as_secs_f64();
    let verdict = if result.is_ok() { "ok" } else { "FAILED" };
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
            ["default", "--features sled-store", "--features fjall-store", "--all-features", "--no-default-features"]
        );
    }
}
