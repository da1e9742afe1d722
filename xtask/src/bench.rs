//! `cargo xtask bench [ARGS...]`: the criterion benchmarks in `benches/`,
//! with both persistent engines compiled in so one run can compare the
//! in-memory floor, sled and fjall.
//!
//! Extra arguments are passed to `cargo bench` as given (for example
//! `-- --save-baseline main`). The exit code of cargo is passed through.

use crate::cmd::{self, Result};

/// Runs `cargo bench --features sled-store,fjall-store [ARGS...]`.
pub fn run(args: &[String]) -> Result {
    let mut bench = cmd::cargo(["bench", "--features", "sled-store,fjall-store"]);
    bench.args(args);
    cmd::run(&mut bench)
}
