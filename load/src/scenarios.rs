//! The scenarios, each run with N client threads for a bounded time against
//! a running gateway, and the setup they need (the commons founded, members
//! loaded, voters enrolled and promoted, an amendment open for voting).
//!
//! What one operation is, and the status it must answer:
//!
//! | scenario | operation | expected |
//! |---|---|---|
//! | `health` | `GET /v1/health` | 200 |
//! | `anchors-sync`, `anchors-buffered` | `POST /v1/anchors` of a fresh DID (operator) | 201 |
//! | `enrollment` | start, verify, vouch, complete (each step also timed) | 201, 200, 200, 201 |
//! | `read-id-hit` | `GET /v1/anchors/{id}` of one of [`HOT_SET`] anchors, read once before | 200 |
//! | `read-did` | `GET /v1/anchors/by-did/{did}` of the same hot set | 200 |
//! | `read-id-miss` | `GET /v1/anchors/{id}` of a random anchor of the miss set | 200 |
//! | `members-page` | `GET /v1/jurisdictions/{domain}/members?limit=50`, following `next_cursor`, from the start again at the end | 200 |
//! | `votes` | `POST /v1/amendments/{id}/votes` by a Member who has not voted on it | 201 |
//!
//! Keys and envelopes are made by the client thread outside the timed
//! request (signing is the client's work); an enrollment's latency runs from
//! its start request to its completion, envelopes made between included.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Context, Result};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};

use crate::client::{envelope, string_field, Client};
use crate::drive::{self, Flow};
use crate::founding::{self, Principal};
use crate::http::{expected, next_cursor, Http};
use crate::members;
use crate::server::{Server, Stage};
use crate::stats::{grouped, per_second, timed, Outcome, Recorder};

/// The cooperative the enrollments, lists and votes are about.
pub const DOMAIN: &str = "coop:load";

/// Anchors read by the cache-hit and by-DID scenarios: far fewer than the
/// 10,000 records per entity the record cache keeps by default.
pub const HOT_SET: usize = 1000;

/// Members per page of the members list.
pub const PAGE_LIMIT: usize = 50;

/// How often a long load prints its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Client threads that set up voters and top up the miss set.
const SETUP_CLIENTS: usize = 16;

/// Where the measured requests go: the gateway's base URL and the
/// operator token.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    /// `http://127.0.0.1:PORT`.
    pub base: &'a str,
    /// The operator token.
    pub token: &'a str,
}

impl Target<'_> {
    fn http(&self) -> Http {
        Http::new(self.base, self.token)
    }
}

/// `GET /v1/health`, the HTTP floor.
///
/// # Errors
/// Only a failed run (a thread that panicked); failed requests are errors
/// of the outcome, as in every scenario.
pub fn health(target: Target<'_>, clients: usize, duration: Duration) -> Result<Outcome> {
    reads("health", target, clients, duration, |_| "/v1/health".to_string())
}

/// Repeated `GET`s of the path `pick` draws, expecting 200.
///
/// # Errors
/// See [`health`].
pub fn reads(
    name: &str,
    target: Target<'_>,
    clients: usize,
    duration: Duration,
    pick: impl Fn(&mut StdRng) -> String + Sync,
) -> Result<Outcome> {
    let (outcome, _) = drive::run(
        name,
        clients,
        duration,
        |_| Ok((target.http(), StdRng::from_entropy())),
        |(http, rng), recorder| {
            let path = pick(rng);
            let (answer, took) = timed(|| http.get(&path));
            if expected(recorder, &answer, 200) {
                recorder.ok(took);
            }
            Flow::Go
        },
    )?;
    Ok(outcome)
}

/// `POST /v1/anchors` of fresh DIDs by `clients` threads, for `duration` or
/// until `limit` members were asked for; `done` counts the members created
/// as they are. Returns the outcome and the public keys of the members
/// created (32 bytes each, in no particular order).
///
/// # Errors
/// See [`health`].
pub fn anchors(
    name: &str,
    target: Target<'_>,
    clients: usize,
    duration: Duration,
    limit: Option<usize>,
    done: &AtomicU64,
) -> Result<(Outcome, Vec<[u8; 32]>)> {
    let claimed = AtomicUsize::new(0);
    let (outcome, states) = drive::run(
        name,
        clients,
        duration,
        |_| Ok((target.http(), Vec::new())),
        |(http, created), recorder| {
            if limit.is_some_and(|limit| claimed.fetch_add(1, Ordering::Relaxed) >= limit) {
                return Flow::Stop;
            }
            let (public_key, did) = members::fresh();
            let body = format!("{{\"did\":\"{did}\"}}");
            let (answer, took) = timed(|| http.post("/v1/anchors", &body, true));
            if expected(recorder, &answer, 201) {
                recorder.ok(took);
                created.push(public_key);
                done.fetch_add(1, Ordering::Relaxed);
            }
            Flow::Go
        },
    )?;
    Ok((outcome, states.into_iter().flat_map(|(_, created)| created).collect()))
}

/// Loads `count` members with [`anchors`] from `clients` threads, printing a
/// progress line every few seconds (`what` names the load in it). Returns
/// the outcome and the members' public keys.
///
/// # Errors
/// See [`health`]; also a load with failed requests (their statuses named).
pub fn load_members(what: &str, target: Target<'_>, count: usize, clients: usize) -> Result<(Outcome, Vec<[u8; 32]>)> {
    let done = AtomicU64::new(0);
    let finished = AtomicBool::new(false);
    let start = Instant::now();
    let result = thread::scope(|scope| {
        scope.spawn(|| {
            let mut next = start + PROGRESS_EVERY;
            while !finished.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(100));
                if Instant::now() >= next {
                    let n = done.load(Ordering::Relaxed);
                    println!(
                        "[load] {what}: {} of {} members ({}/s)",
                        grouped(n),
                        grouped(count as u64),
                        grouped(per_second(n, start.elapsed()) as u64)
                    );
                    next += PROGRESS_EVERY;
                }
            }
        });
        let result = anchors(what, target, clients, Duration::from_secs(u64::MAX / 4), Some(count), &done);
        finished.store(true, Ordering::Relaxed);
        result
    })?;
    ensure!(
        result.0.errors.is_empty(),
        "{what}: {} of {count} members failed (by status: {}; first answers: {:?})",
        result.0.error_count(),
        crate::stats::errors_text(&result.0.errors),
        result.0.samples
    );
    Ok(result)
}

/// The commons the enrollments, lists and votes need: its steward and its
/// cooperative ([`DOMAIN`]).
pub struct Commons {
    /// The commons-wide steward that vouches for every enrollment.
    pub steward: Principal,
}

/// Founds the commons through the checked example client: three genesis
/// members, the first registered as a steward, and the cooperative of
/// [`DOMAIN`] founded by the three (Strong personhood required).
///
/// # Errors
/// Any answer that is not what the API promises, naming the route.
pub fn found(client: &Client<'_>) -> Result<Commons> {
    let mut genesis = founding::bootstrap_genesis(client, founding::FOUNDERS)?;
    founding::register_stewards(client, &genesis[..1])?;
    founding::found_charter(client, &genesis, "load", DOMAIN)?;
    Ok(Commons { steward: genesis.swap_remove(0) })
}

/// The full signed enrollment, one operation per completed enrollment; each
/// step is also recorded (`start`, `verify`, `vouch`, `complete`). A step
/// that fails ends that enrollment (the error is counted under its status).
///
/// # Errors
/// See [`health`].
pub fn enrollment(target: Target<'_>, commons: &Commons, clients: usize, duration: Duration) -> Result<Outcome> {
    let steward = &commons.steward;
    let (outcome, _) = drive::run(
        "enrollment",
        clients,
        duration,
        |_| Ok(target.http()),
        |http, recorder| {
            if let Err(error) = enroll_once(http, steward, recorder) {
                recorder.error(0, &format!("{error:#}"));
            }
            Flow::Go
        },
    )?;
    Ok(outcome)
}

/// One enrollment; `Ok` also when a step was refused (recorded as an error).
fn enroll_once(http: &Http, steward: &Principal, recorder: &mut Recorder) -> Result<()> {
    let person = Principal::generate();
    let start = Instant::now();
    let body = json!({"identity_name": "Load person", "domain_id": DOMAIN}).to_string();
    let (answer, took) = timed(|| http.post("/v1/enrollments", &body, false));
    if !expected(recorder, &answer, 201) {
        return Ok(());
    }
    recorder.step("start", took)?;
    let session: Value = serde_json::from_str(&answer.body).context("an enrollment start answer that is not JSON")?;
    let id = string_field(&session, "enrollment_id", "POST /v1/enrollments")?;
    let code = string_field(&session, "verification_code", "POST /v1/enrollments")?;
    let steps: [(&'static str, &Principal, &str, Value, u16); 3] = [
        ("verify", &person, "enroll-verify", json!({"verification_code": code}), 200),
        ("vouch", steward, "enroll-vouch", json!({"person_did": person.did}), 200),
        ("complete", &person, "enroll-complete", json!({}), 201),
    ];
    for (step, signer, action, payload, want) in steps {
        let body = envelope(&signer.key, action, &id, &payload)?.to_string();
        let path = format!("/v1/enrollments/{id}/{step}");
        let (answer, took) = timed(|| http.post(&path, &body, false));
        if !expected(recorder, &answer, want) {
            return Ok(());
        }
        recorder.step(step, took)?;
    }
    recorder.ok(start.elapsed());
    Ok(())
}

/// Pages through the members of [`DOMAIN`], [`PAGE_LIMIT`] a page, each
/// client following its own cursor and starting again at the end.
///
/// # Errors
/// See [`health`].
pub fn members_pages(target: Target<'_>, clients: usize, duration: Duration) -> Result<Outcome> {
    let first = format!("/v1/jurisdictions/{DOMAIN}/members?limit={PAGE_LIMIT}");
    let (outcome, _) = drive::run(
        "members-page",
        clients,
        duration,
        |_| Ok((target.http(), None::<String>)),
        |(http, cursor), recorder| {
            let path = match cursor {
                Some(cursor) => format!("{first}&cursor={cursor}"),
                None => first.clone(),
            };
            let (answer, took) = timed(|| http.get(&path));
            if expected(recorder, &answer, 200) {
                match next_cursor(&answer.body) {
                    Ok(next) => {
                        recorder.ok(took);
                        *cursor = next;
                    }
                    Err(()) => {
                        recorder.error(answer.status, &format!("a page without next_cursor: {}", answer.body));
                        *cursor = None;
                    }
                }
            }
            Flow::Go
        },
    )?;
    Ok(outcome)
}

/// Sets up `count` voters: each enrolled through the steward (a Provisional
/// member of [`DOMAIN`] with Vote) and promoted to Member by the operator,
/// by [`SETUP_CLIENTS`] threads through the checked client; the first also
/// gets Propose (it proposes every amendment). Prints how long it took.
///
/// # Errors
/// The first answer that is not what the API promises, naming the route.
pub fn set_up_voters(stage: &Stage<'_>, server: &Server, commons: &Commons, count: usize) -> Result<Vec<Principal>> {
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let threads = SETUP_CLIENTS.min(count);
    let results: Vec<Result<Vec<Principal>>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<Vec<Principal>> {
                    let client = stage.client(&[server]);
                    let mut voters = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            return Ok(voters);
                        }
                        let steward = &commons.steward;
                        let voter = founding::enroll(&client, i, DOMAIN, &steward.key, &steward.did)?;
                        let promote = format!("/v1/holders/{}/affiliations/{DOMAIN}/promote", voter.anchor_id);
                        client.admin_post(&promote, json!({}), 200)?;
                        voters.push(voter);
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("a voter setup thread panicked"))))
            .collect()
    });
    let mut voters = Vec::with_capacity(count);
    for result in results {
        voters.extend(result?);
    }
    let proposer = voters.first().ok_or_else(|| anyhow!("no voter was set up"))?;
    let client = stage.client(&[server]);
    let capabilities = format!("/v1/holders/{}/affiliations/{DOMAIN}/capabilities", proposer.anchor_id);
    client.expect("PUT", &capabilities, Some(&json!({"capabilities": ["Vote", "Propose"]})), true, 200)?;
    let took = start.elapsed();
    println!(
        "[load] {} voters set up in {:.1} s ({}/s; each an enrollment and a promotion, 5 requests)",
        grouped(voters.len() as u64),
        took.as_secs_f64(),
        grouped(per_second(voters.len() as u64, took) as u64)
    );
    Ok(voters)
}

/// The proposer (the first voter) proposes an amendment to the charter of
/// [`DOMAIN`] and submits it; the operator opens voting. Returns its id.
///
/// # Errors
/// An answer that is not what the API promises, naming the route.
pub fn open_amendment(client: &Client<'_>, proposer: &Principal, round: usize) -> Result<String> {
    let charter = client.expect("GET", &format!("/v1/charters/by-domain/{DOMAIN}"), None, false, 200)?;
    let charter_id = string_field(&charter, "charter_id", "GET /v1/charters/by-domain")?;
    let amendment = client.signed_post(
        "/v1/amendments",
        &proposer.key,
        "amendment-propose",
        "-",
        json!({
            "charter_id": charter_id,
            "title": format!("Opening hours, round {round}"),
            "changes": [{"target": "hours", "change": "Modify", "new_value": "Mon-Sun"}],
        }),
        201,
    )?;
    let id = string_field(&amendment, "amendment_id", "POST /v1/amendments")?;
    client.signed_post(
        &format!("/v1/amendments/{id}/submit"),
        &proposer.key,
        "amendment-submit",
        &id,
        json!({}),
        200,
    )?;
    client.admin_post(&format!("/v1/amendments/{id}/open-voting"), json!({}), 200)?;
    Ok(id)
}

/// Each voter votes once (approve) on amendment `id`, taken in turn by the
/// client threads, until every voter voted or the time is up.
///
/// # Errors
/// See [`health`].
pub fn votes(
    target: Target<'_>,
    voters: &[Principal],
    id: &str,
    clients: usize,
    duration: Duration,
) -> Result<Outcome> {
    let next = AtomicUsize::new(0);
    let path = format!("/v1/amendments/{id}/votes");
    let (outcome, _) = drive::run(
        "votes",
        clients,
        duration,
        |_| Ok(target.http()),
        |http, recorder| {
            let Some(voter) = voters.get(next.fetch_add(1, Ordering::Relaxed)) else {
                return Flow::Stop;
            };
            let body = match envelope(&voter.key, "vote", id, &json!({"approve": true})) {
                Ok(body) => body.to_string(),
                Err(error) => {
                    recorder.error(0, &format!("{error:#}"));
                    return Flow::Stop;
                }
            };
            let (answer, took) = timed(|| http.post(&path, &body, false));
            if expected(recorder, &answer, 201) {
                recorder.ok(took);
            }
            Flow::Go
        },
    )?;
    Ok(outcome)
}
