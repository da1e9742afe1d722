#![cfg(feature = "gateway")]
//! `commons-gateway info` reports the engine the Cargo features chose, by the
//! fixed precedence postgres-store > fjall-store > sled-store > in-memory,
//! and whether it persists.

mod common;

use anyhow::{ensure, Context, Result};
use common::process::run;

/// The engine this test build must report, from its own features.
fn expected_engine() -> &'static str {
    if cfg!(feature = "postgres-store") {
        "postgres"
    } else if cfg!(feature = "fjall-store") {
        "fjall"
    } else if cfg!(feature = "sled-store") {
        "sled"
    } else {
        "memory"
    }
}

/// The value of the `name: value` line of `text`.
fn line_value<'a>(text: &'a str, name: &str) -> Result<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(':')))
        .map(str::trim)
        .with_context(|| format!("no `{name}:` line in:\n{text}"))
}

#[test]
fn info_prints_the_engine_chosen_by_the_features_and_its_persistence() -> Result<()> {
    let common::process::Ran { status, stdout, stderr } = run(["info"])?;
    ensure!(status.success(), "info exited with {status}; stderr:\n{stderr}");
    let engine = expected_engine();
    ensure!(line_value(&stdout, "engine")? == engine, "expected engine {engine}:\n{stdout}");
    let persistent = if engine == "memory" { "false" } else { "true" };
    ensure!(line_value(&stdout, "persistent")? == persistent, "expected persistent {persistent}:\n{stdout}");
    let first = stdout.lines().next().unwrap_or("");
    ensure!(first == format!("commons-gateway {}", env!("CARGO_PKG_VERSION")), "first line {first:?}");
    // The library linked into this test agrees with the binary.
    ensure!(commons_gateway::BACKEND_NAME == engine, "library BACKEND_NAME {}", commons_gateway::BACKEND_NAME);
    Ok(())
}
