#![cfg(feature = "gateway")]
//! The abuse limits of the public `POST /v1/enrollments`, through the real
//! binary over real TCP: the per-client rate limit (a burst, then 429
//! `rate_limited` with `Retry-After`; another client unaffected; the
//! client named by `X-Forwarded-For` only when the peer is a trusted
//! proxy), and the cap on open sessions (429 `too_many_enrollments` with
//! `Retry-After` until a session completes).
//!
//! The rate is set to 1 a minute, so once the burst is spent no start is
//! allowed again for 60 s: the counts below are exact as long as the
//! requests take less than a minute, which each test checks.

mod common;

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use common::http::{check_error_body, Call, Reply};
use common::keys::Person;
use common::process::{Dirs, Server};
use serde_json::json;

/// A start of an enrollment, as from the client named in `forwarded_for`
/// (when given).
fn start(forwarded_for: Option<&str>) -> Call {
    let call = Call::post("/v1/enrollments").json(&json!({"identity_name": "A. Person"}));
    match forwarded_for {
        Some(client) => call.header("x-forwarded-for", client),
        None => call,
    }
}

/// Checks a 429: the JSON error body with `code` and a `Retry-After` of
/// whole seconds in `1..=max_secs`; returns that figure.
fn check_429(reply: &Reply, code: &str, max_secs: u64, what: &str) -> Result<u64> {
    ensure!(reply.status == 429, "{what}: expected 429, got {} {}", reply.status, reply.text);
    check_error_body(reply, code, what)?;
    let secs: u64 = reply
        .retry_after
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("{what}: 429 without Retry-After"))?
        .parse()
        .map_err(|e| anyhow::anyhow!("{what}: Retry-After {:?} is not whole seconds: {e}", reply.retry_after))?;
    ensure!((1..=max_secs).contains(&secs), "{what}: Retry-After {secs} not in 1..={max_secs}");
    Ok(secs)
}

/// Sends `n` starts and returns their statuses in order and the
/// Retry-After of each 429, checking every 429 (`rate_limited`, Retry-After
/// at most 60 s) on the way.
fn burst(server: &Server, call: &Call, n: usize) -> Result<(Vec<u16>, Vec<u64>)> {
    let mut statuses = Vec::with_capacity(n);
    let mut waits = Vec::new();
    for i in 0..n {
        let reply = server.send(call)?;
        if reply.status == 429 {
            waits.push(check_429(&reply, "rate_limited", 60, &format!("start {i}"))?);
        } else {
            ensure!(reply.status == 201, "start {i}: expected 201 or 429, got {} {}", reply.status, reply.text);
        }
        statuses.push(reply.status);
    }
    Ok((statuses, waits))
}

#[test]
fn burst_of_200_starts_from_one_address_gets_exactly_the_burst_then_429_while_another_address_still_starts(
) -> Result<()> {
    let dirs = Dirs::new()?;
    let server = Server::start_with_flags(
        &dirs,
        "limited",
        &["--trusted-proxy", "127.0.0.1", "--enrollment-rate-per-minute", "1", "--enrollment-burst", "10"],
    )?;
    let began = Instant::now();
    let (statuses, waits) = burst(&server, &start(Some("203.0.113.7")), 200)?;
    let created = statuses.iter().filter(|s| **s == 201).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    let (shortest, longest) = (waits.iter().min(), waits.iter().max());
    println!(
        "200 starts from 203.0.113.7 in {:?}: {created} x 201, {limited} x 429, Retry-After {shortest:?}..={longest:?} s",
        began.elapsed()
    );
    assert_eq!(waits.len(), 190);
    assert_eq!((created, limited), (10, 190));
    assert!(statuses[..10].iter().all(|s| *s == 201), "the burst comes first: {statuses:?}");

    // Another client behind the same trusted proxy has its own quota.
    let other = server.send(&start(Some("203.0.113.8")))?;
    assert_eq!(other.status, 201, "{}", other.text);
    // Entries a client wrote to the left of what the proxy appended are
    // ignored: this is still 203.0.113.7.
    let forged = server.send(&start(Some("198.51.100.9, 203.0.113.7")))?;
    check_429(&forged, "rate_limited", 60, "forged entry on the left")?;
    // The proxy's own address (no header) is a client of its own too.
    let proxy = server.send(&start(None))?;
    assert_eq!(proxy.status, 201, "{}", proxy.text);
    ensure!(began.elapsed() < Duration::from_secs(60), "the burst took over a minute: counts are not exact");
    Ok(())
}

#[test]
fn forwarded_for_from_an_untrusted_peer_gives_no_fresh_quota_and_other_routes_stay_open() -> Result<()> {
    let dirs = Dirs::new()?;
    let server = Server::start_with_flags(
        &dirs,
        "untrusted",
        &["--enrollment-rate-per-minute", "1", "--enrollment-burst", "3"],
    )?;
    let began = Instant::now();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(server.expect(&start(None), 201)?.field("enrollment_id")?);
        println!("start {i}: 201");
    }
    for client in ["203.0.113.50", "203.0.113.51", "198.51.100.1, 203.0.113.52"] {
        let reply = server.send(&start(Some(client)))?;
        let secs = check_429(&reply, "rate_limited", 60, &format!("X-Forwarded-For {client} from 127.0.0.1"))?;
        println!("X-Forwarded-For {client:?} from an untrusted peer: 429, Retry-After {secs}");
    }
    // Only the start route is limited.
    server.expect(&Call::get("/v1/health"), 200)?;
    for id in &ids {
        server.expect(&Call::get(format!("/v1/enrollments/{id}")), 200)?;
    }
    ensure!(began.elapsed() < Duration::from_secs(60), "took over a minute: counts are not exact");
    Ok(())
}

#[test]
fn open_session_cap_answers_429_too_many_enrollments_until_a_session_completes() -> Result<()> {
    let dirs = Dirs::new()?;
    let server =
        Server::start_with_flags(&dirs, "capped", &["--max-open-enrollments", "5", "--enrollment-burst", "100"])?;
    let steward = Person::new();
    server.expect(&Call::post("/v1/anchors").operator().json(&json!({"did": steward.did.as_str()})), 201)?;
    server.expect(
        &Call::post("/v1/stewards").operator().json(&json!({"did": steward.did.as_str(), "term_days": 365})),
        201,
    )?;

    let mut started = Vec::new();
    for _ in 0..5 {
        let reply = server.expect(&start(None), 201)?;
        started.push((reply.field("enrollment_id")?, reply.field("verification_code")?));
    }
    let refused = server.send(&start(None))?;
    let secs = check_429(&refused, "too_many_enrollments", 60, "6th start with 5 open")?;
    println!("6th start with 5 open: 429 too_many_enrollments, Retry-After {secs}");
    // The soonest open session expires in a day: the client is told a minute.
    assert_eq!(secs, 60);
    // Another client address gets no room either: the cap is global.
    check_429(&server.send(&start(Some("203.0.113.9")))?, "too_many_enrollments", 60, "another address")?;

    // One session completes: verify, vouch, complete.
    let person = Person::new();
    let (id, code) = &started[0];
    let base = format!("/v1/enrollments/{id}");
    let verify = json!({"verification_code": code});
    server.expect(&Call::post(format!("{base}/verify")).signed(&person, "enroll-verify", id, verify), 200)?;
    let vouch = json!({"person_did": person.did.as_str()});
    server.expect(&Call::post(format!("{base}/vouch")).signed(&steward, "enroll-vouch", id, vouch), 200)?;
    server.expect(&Call::post(format!("{base}/complete")).signed(&person, "enroll-complete", id, json!({})), 201)?;

    server.expect(&start(None), 201)?;
    check_429(&server.send(&start(None))?, "too_many_enrollments", 60, "full again")?;
    Ok(())
}
