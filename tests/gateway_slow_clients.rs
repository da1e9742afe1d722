#![cfg(feature = "gateway")]
//! Slow clients and requests the connection layer sees first, through the
//! real binary: before, a request body that arrived slowly held its
//! connection open for ever; `Content-Type: application/json;
//! charset=utf-16` was read as UTF-8; a long URL was a 400 with an empty
//! body. Now a body late past `--body-timeout-secs` is a 408
//! `request_timeout` (JSON, connection closed) while other clients are
//! served; a head late past `--head-timeout-secs` is the HTTP layer's 408;
//! only JSON in UTF-8 is read (else 415); a target over 8 KiB is a 414 with
//! the JSON error body, up to the HTTP layer's own limit (65,534 bytes),
//! past which the HTTP layer answers 400 with an empty body.
//!
//! Also: a chunked body stalled after one chunk got its 408 but kept its
//! connection open (the HTTP layer went on reading the body, with no timer,
//! and then served the next request on it), and after a first answer a
//! request head sent one byte at a time held its connection for ever. Now
//! both connections are closed.
//!
//! Waits are on real events (an answer, the end of a stream), each bounded
//! by a socket read timeout; nothing sleeps but a trickling client between
//! its bytes.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use common::http::{check_error_body, Call, TOKEN};
use common::keys::Person;
use common::process::{Dirs, Server};
use serde_json::{json, Value};

/// Longest wait for any answer on a raw connection.
const READ_BOUND: Duration = Duration::from_secs(15);

/// A raw connection to `server`, its reads bounded by [`READ_BOUND`].
fn connect(server: &Server) -> Result<TcpStream> {
    let address = server.base().trim_start_matches("http://");
    let stream = TcpStream::connect(address).with_context(|| format!("connecting to {address}"))?;
    stream.set_read_timeout(Some(READ_BOUND))?;
    Ok(stream)
}

/// Reads until the server closes the connection; an error if it does not
/// within [`READ_BOUND`] of the last byte. Returns the answer and how long
/// after `since` its first byte came.
fn read_to_close(stream: &mut TcpStream, since: Instant) -> Result<(String, Duration)> {
    let mut first = [0u8; 1];
    let n = stream.read(&mut first).context("the server did not answer in time")?;
    let first_after = since.elapsed();
    let mut answer = first[..n].to_vec();
    stream.read_to_end(&mut answer).context("the server did not close the connection in time")?;
    Ok((String::from_utf8_lossy(&answer).into_owned(), first_after))
}

/// Reads what is left until the server closes the connection (a reset
/// counts as closed); an error if it does not within [`READ_BOUND`] of the
/// last byte.
fn rest_until_closed(stream: &mut TcpStream) -> Result<Vec<u8>> {
    let mut rest = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(rest),
            Ok(n) => rest.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(rest),
            Err(e) => {
                return Err(e).context(format!(
                    "the connection is still open {READ_BOUND:?} after the last byte (read so far: {:?})",
                    String::from_utf8_lossy(&rest)
                ))
            }
        }
    }
}

/// Reads one answer (its head, then `Content-Length` bytes of body) from a
/// connection that stays open: status, lower-cased head, body.
fn read_answer(stream: &mut TcpStream) -> Result<(u16, String, String)> {
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).context("the server did not answer in time")?;
        ensure!(n == 1, "connection closed mid-answer: {:?}", String::from_utf8_lossy(&answer));
        answer.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no content-length in {head:?}"))?;
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).context("the answer's body did not arrive in time")?;
    answer.extend_from_slice(&body);
    parse(&String::from_utf8_lossy(&answer))
}

/// The status, lower-cased head and body of a raw HTTP/1.1 answer.
fn parse(answer: &str) -> Result<(u16, String, String)> {
    let (head, body) = answer.split_once("\r\n\r\n").with_context(|| format!("no end of head in {answer:?}"))?;
    let status =
        head.split(' ').nth(1).and_then(|s| s.parse().ok()).with_context(|| format!("no status in {head:?}"))?;
    Ok((status, head.to_ascii_lowercase(), body.to_string()))
}

#[test]
fn slow_body_is_408_json_and_closed_while_others_are_served() -> Result<()> {
    let dirs = Dirs::new()?;
    let server = Server::start_with_flags(&dirs, "slow-body", &["--body-timeout-secs", "1"])?;
    let person = Person::new();
    let body = json!({"did": person.did.as_str()}).to_string();
    let mut slow = connect(&server)?;
    let head = format!(
        "POST /v1/anchors HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    );
    let started = Instant::now();
    slow.write_all(head.as_bytes())?;
    slow.write_all(&body.as_bytes()[..10])?;

    // Another client, while the slow body is pending.
    let health = server.expect(&Call::get("/v1/health"), 200)?;
    let served_after = started.elapsed();
    assert_eq!(health.json["status"], "ok");

    let (answer, answered_after) = read_to_close(&mut slow, started)?;
    let closed_after = started.elapsed();
    let (status, head, body) = parse(&answer)?;
    println!(
        "health answered after {served_after:?}; 408 after {answered_after:?}, connection closed after \
         {closed_after:?} (deadline 1 s)"
    );
    assert_eq!(status, 408, "{answer}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    let error: Value = serde_json::from_str(&body).with_context(|| format!("body {body:?}"))?;
    assert_eq!(error["error"], "request_timeout", "{body}");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("within 1 s")), "{body}");
    assert!(answered_after >= Duration::from_secs(1), "answered before the deadline: {answered_after:?}");
    assert!(answered_after < Duration::from_secs(3), "answered long after the deadline: {answered_after:?}");
    assert!(served_after < answered_after, "health ({served_after:?}) waited for the slow body ({answered_after:?})");

    // Nothing was created, and the server still serves.
    let lookup = server.send(&Call::get(format!("/v1/anchors/by-did/{}", person.did.as_str())))?;
    assert_eq!(lookup.status, 404, "{}", lookup.text);
    Ok(())
}

#[test]
fn stalled_chunked_body_is_answered_and_its_connection_closed() -> Result<()> {
    let dirs = Dirs::new()?;
    let server = Server::start_with_flags(&dirs, "chunked-body", &["--body-timeout-secs", "1"])?;
    let person = Person::new();
    let body = json!({"did": person.did.as_str()}).to_string();
    // A route that reads the body (late: 408) and one that does not (200).
    for (what, request, status) in [
        (
            "late body",
            format!(
                "POST /v1/anchors HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {TOKEN}\r\n\
                 Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            408,
        ),
        (
            "unread body",
            "GET /v1/health HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n\
             Transfer-Encoding: chunked\r\n\r\n"
                .to_string(),
            200,
        ),
    ] {
        let mut stream = connect(&server)?;
        let started = Instant::now();
        stream.write_all(request.as_bytes())?;
        stream.write_all(format!("a\r\n{}\r\n", &body[..10]).as_bytes())?;
        let (got, head, answer_body) = read_answer(&mut stream)?;
        let answered_after = started.elapsed();
        assert_eq!(got, status, "{what}: {head}{answer_body}");
        assert!(head.contains("connection: close"), "{what}: {head}");
        if status == 408 {
            let error: Value = serde_json::from_str(&answer_body).with_context(|| format!("body {answer_body:?}"))?;
            assert_eq!(error["error"], "request_timeout", "{answer_body}");
        }
        // The body stays stalled: the connection is closed all the same.
        let after = rest_until_closed(&mut stream).with_context(|| what)?;
        let closed_after = started.elapsed();
        println!(
            "{what}: {status} after {answered_after:?}, connection closed after {closed_after:?} (body deadline 1 s)"
        );
        assert!(after.is_empty(), "{what}: more after the answer: {:?}", String::from_utf8_lossy(&after));
        assert!(closed_after < answered_after + Duration::from_secs(5), "{what}: closed after {closed_after:?}");
        // Finishing the body and sending a second request gets no answer.
        let rest = format!(
            "{:x}\r\n{}\r\n0\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: gateway\r\n\r\n",
            body.len() - 10,
            &body[10..]
        );
        let _ = stream.write_all(rest.as_bytes());
        let late = rest_until_closed(&mut stream).with_context(|| what)?;
        assert!(late.is_empty(), "{what}: served after its answer: {:?}", String::from_utf8_lossy(&late));
    }
    let lookup = server.send(&Call::get(format!("/v1/anchors/by-did/{}", person.did.as_str())))?;
    assert_eq!(lookup.status, 404, "{}", lookup.text);
    Ok(())
}

#[test]
fn every_request_head_on_a_kept_alive_connection_has_the_deadline() -> Result<()> {
    let dirs = Dirs::new()?;
    let server = Server::start_with_flags(&dirs, "later-heads", &["--head-timeout-secs", "1"])?;
    let mut stream = connect(&server)?;
    // Quick requests share the connection (keep-alive is kept), one with a
    // body read in full.
    let body = json!({"identity_name": "Quinn"}).to_string();
    for (request, expected) in [
        (
            format!(
                "POST /v1/enrollments HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            ),
            201,
        ),
        ("GET /v1/health HTTP/1.1\r\nHost: gateway\r\n\r\n".to_string(), 200),
    ] {
        stream.write_all(request.as_bytes())?;
        let (status, head, body) = read_answer(&mut stream)?;
        assert_eq!(status, expected, "{request}: {head}{body}");
        assert!(!head.contains("connection: close"), "{request}: {head}");
    }
    let answered = Instant::now();
    // The next head trickles in, one byte every 250 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let mut writer = stream.try_clone()?;
    let trickle = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let head = format!("GET /v1/health HTTP/1.1\r\nHost: gateway\r\nX-Pad: {}", "a".repeat(200));
            for byte in head.as_bytes() {
                if stop.load(Ordering::Relaxed) || writer.write_all(&[*byte]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    let after = rest_until_closed(&mut stream);
    let closed_after = answered.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = trickle.join();
    let after = after?;
    println!("trickled head: connection closed {closed_after:?} after the last answer (head deadline 1 s)");
    assert!(after.is_empty(), "answered a trickled head: {:?}", String::from_utf8_lossy(&after));
    assert!(closed_after >= Duration::from_millis(500), "{closed_after:?}");
    assert!(closed_after < Duration::from_secs(3), "{closed_after:?}");
    // Others are still served.
    server.expect(&Call::get("/v1/health"), 200)?;
    Ok(())
}

#[test]
fn slow_head_is_408_from_the_http_layer_while_others_are_served() -> Result<()> {
    let dirs = Dirs::new()?;
    let server = Server::start_with_flags(&dirs, "slow-head", &["--head-timeout-secs", "1"])?;
    let started = Instant::now();
    let mut slow = connect(&server)?;
    slow.write_all(b"POST /v1/anchors HTTP/1.1\r\nHost: gate")?;
    let health = server.expect(&Call::get("/v1/health"), 200)?;
    let served_after = started.elapsed();
    assert_eq!(health.json["status"], "ok");
    let (answer, answered_after) = read_to_close(&mut slow, started)?;
    println!("health answered after {served_after:?}; head 408 after {answered_after:?} (deadline 1 s)");
    let (status, _head, body) = parse(&answer)?;
    assert_eq!(status, 408, "{answer}");
    assert_eq!(body, "", "the HTTP layer answers a late head with an empty body");
    // actix-http sets the head deadline from a clock it updates every 500 ms,
    // so the answer may come up to half a second before the full second.
    assert!(answered_after >= Duration::from_millis(500), "{answered_after:?}");
    assert!(answered_after < Duration::from_secs(3), "{answered_after:?}");
    assert!(served_after < answered_after);
    Ok(())
}

#[test]
fn long_targets_are_414_json_up_to_the_http_layers_limit() -> Result<()> {
    let dirs = Dirs::new()?;
    let server = Server::start_with_flags(&dirs, "long-uri", &[])?;
    let padded = |prefix: &str, len: usize| format!("{prefix}{}", "a".repeat(len - prefix.len()));
    // At the limit: judged by the route (an id that is not of its form).
    let at_limit = padded("/v1/anchors/", 8 * 1024);
    let reply = server.send(&Call::get(at_limit.clone()))?;
    assert_eq!((at_limit.len(), reply.status), (8192, 400), "{}", reply.text);
    check_error_body(&reply, "invalid_id", "a target of 8192 bytes")?;
    for (what, target) in [
        ("route path", padded("/v1/anchors/", 8 * 1024 + 1)),
        ("query", padded("/v1/charters?org_type=", 20_000)),
        ("unknown path", padded("/nowhere/", 30_000)),
        ("unknown path in /v1", padded("/v1/nowhere/", 65_000)),
    ] {
        let reply = server.send(&Call::get(target.clone()))?;
        assert_eq!(reply.status, 414, "{what} ({} bytes): {}", target.len(), reply.text);
        check_error_body(&reply, "uri_too_long", what)?;
    }
    // Past what the `http` crate's Uri holds (65,534 bytes) the HTTP layer
    // refuses the request before the app sees it.
    let reply = server.send(&Call::get(padded("/v1/anchors/", 70_000)))?;
    assert_eq!((reply.status, reply.text.as_str()), (400, ""), "a 70,000-byte target");
    server.expect(&Call::get("/v1/health"), 200)?;
    Ok(())
}

#[test]
fn only_json_in_utf8_is_read() -> Result<()> {
    let dirs = Dirs::new()?;
    let server = Server::start_with_flags(&dirs, "content-type", &[])?;
    let body = json!({"identity_name": "Quinn"}).to_string();
    for content_type in [
        "application/json; charset=utf-16",
        "application/json; charset=latin1",
        "application/json; profile=x",
        "application/vnd.api+json",
        "text/plain",
    ] {
        let call = Call::post("/v1/enrollments").raw(content_type, body.clone());
        let reply = server.send(&call)?;
        ensure!(reply.status == 415, "{content_type}: {} {}", reply.status, reply.text);
        check_error_body(&reply, "unsupported_media_type", content_type)?;
    }
    for content_type in ["application/json", "application/json; charset=utf-8", "Application/JSON; Charset=UTF-8"] {
        let reply = server.send(&Call::post("/v1/enrollments").raw(content_type, body.clone()))?;
        ensure!(reply.status == 201, "{content_type}: {} {}", reply.status, reply.text);
        assert!(reply.field("verification_code")?.starts_with("VERIFY-"), "{}", reply.text);
    }
    // Too large is the JSON 413 through the real server too.
    let big = json!({"identity_name": "x".repeat(70_000)}).to_string();
    let reply = server.send(&Call::post("/v1/enrollments").raw("application/json", big))?;
    assert_eq!(reply.status, 413, "{}", reply.text);
    check_error_body(&reply, "payload_too_large", "a 70 KB body")?;
    Ok(())
}

#[test]
fn deadlines_past_an_hour_and_sweeps_past_a_day_are_refused_at_start_with_exit_code_2() -> Result<()> {
    for (flag, longest) in
        [("--head-timeout-secs", "3601"), ("--body-timeout-secs", "3601"), ("--sweep-interval-secs", "86401")]
    {
        for bad in ["0", longest, "18446744073709551615"] {
            let ran = common::process::run(["serve", "--bind", "127.0.0.1:1", flag, bad])?;
            ensure!(ran.code() == 2, "{flag} {bad}: exit {}; {}", ran.code(), ran.stderr);
            ensure!(ran.stderr.contains(flag), "{flag} {bad}: {}", ran.stderr);
        }
    }
    Ok(())
}
