#![cfg(all(feature = "gateway", feature = "postgres-store"))]
//! Several gateways on one PostgreSQL database: three `commons-gateway serve`
//! processes (the binary cargo built for this test run) on one schema of the
//! server named by `COMMONS_TEST_DATABASE_URL`, driven by real concurrent
//! HTTP clients (threads, each with its own connections):
//!
//! 1. one DID bootstrapped at once through all three is created once: one
//!    201, every other answer 409 `already_exists`;
//! 2. 30 members voting at once through the three count 30 at the close;
//! 3. 8 clients per gateway, each adding 8 pieces of evidence to one appeal
//!    at once, leave exactly 192 entries;
//! 4. a record written through one gateway reads back through the others at
//!    once (no gateway serves a stale copy);
//! 5. a gateway SIGKILLed while clients write through all three loses no
//!    acknowledged write, leaves no half-written one, and `verify` finds the
//!    database clean;
//! 6. one signed envelope sent at once through all three gateways takes
//!    effect once (one 200, every other answer 409 `replayed`), and a replay
//!    through any gateway later is refused the same way;
//! 7. PostgreSQL restarted while clients write through all three: every
//!    answer is 2xx or 503 (never another status, never no answer within
//!    10 s), and afterwards all three gateways serve writes again without
//!    being restarted, with every acknowledged write there. The restart runs
//!    the command line in `COMMONS_TEST_PG_RESTART` (`cargo xtask ci` sets
//!    it; `cargo xtask postgres` prints it); without it the test fails.
//!
//! The commons they work on is built through the HTTP API only (as
//! `examples/demo` does): bootstrapped anchors, a charter signed by three
//! founders, members applied, approved, promoted and given Vote.
//!
//! The tests run one at a time (a restart of the server would disturb the
//! others), each on a schema of its own. Every wait polls with a bound; no
//! test sleeps and hopes. The closing figures go to stderr (`--nocapture`
//! shows them).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::{Barrier, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use common::http::{Call, Reply};
use common::keys::Person;
use common::process::{run, send_to, Dirs, Server, BOUND, TEST_PASSWORD};
use serde_json::json;

/// Gateway processes on the one database.
const GATEWAYS: usize = 3;

/// The variable holding the `sh -c` command line that restarts the test server.
const RESTART_VAR: &str = "COMMONS_TEST_PG_RESTART";

/// What the 503 of a change that met concurrent writers too often says
/// (nothing was written; the client may send it again).
const CONTENDED: &str = "conflicted with concurrent writers";

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs the tests of this file one after the other: one restarts the
/// database server, and all share two cores.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Three gateways on one fresh schema.
struct Cluster {
    dirs: Dirs,
    gateways: Vec<Server>,
}

impl Cluster {
    fn start() -> Result<Self> {
        let dirs = Dirs::new()?;
        let gateways = (0..GATEWAYS).map(|g| Server::start(&dirs, &format!("g{g}"))).collect::<Result<Vec<_>>>()?;
        Ok(Self { dirs, gateways })
    }

    /// Gateway `i` (mod 3).
    fn gw(&self, i: usize) -> &Server {
        &self.gateways[i % GATEWAYS]
    }

    /// The base URL of every gateway, for client threads.
    fn bases(&self) -> Vec<String> {
        self.gateways.iter().map(|s| s.base().to_string()).collect()
    }

    /// `commons-gateway verify --database-url URL`: must exit 0 and print
    /// `verify: clean`. Returns that line.
    fn verify_clean(&self) -> Result<String> {
        let ran = run([vec!["verify".into()], self.dirs.store_args()].concat())?;
        let line = ran.stdout.lines().find(|l| l.starts_with("verify:")).unwrap_or_default().to_string();
        ensure!(
            ran.status.success() && line.starts_with("verify: clean"),
            "verify: {}\n{}\n{}",
            ran.status,
            ran.stdout,
            ran.stderr
        );
        ensure!(!ran.stderr.contains(TEST_PASSWORD), "verify showed the password:\n{}", ran.stderr);
        Ok(line)
    }

    /// No gateway panicked, logged a 500 or showed the database password.
    fn check_logs(&self) -> Result<()> {
        for (g, server) in self.gateways.iter().enumerate() {
            let stderr = server.process.stderr();
            for bad in ["panicked", "internal error", TEST_PASSWORD] {
                ensure!(!stderr.contains(bad), "gateway g{g} logged {bad:?}:\n{stderr}");
            }
        }
        Ok(())
    }
}

/// Sends `call` to `base` and checks the status.
fn expect(base: &str, call: &Call, status: u16) -> Result<Reply> {
    let reply = send_to(base, call)?;
    ensure!(reply.status == status, "{base} {call:?}: expected {status}, got {} {}", reply.status, reply.text);
    Ok(reply)
}

/// As [`expect`], sending `call` again while it is answered 503 because
/// the change met concurrent writers too often (nothing written; at most
/// 10 times). Counts those 503s in `contended`.
fn expect_contended(base: &str, call: &Call, status: u16, contended: &AtomicUsize) -> Result<Reply> {
    for _ in 0..10 {
        let reply = send_to(base, call)?;
        if reply.status == 503 && reply.text.contains(CONTENDED) {
            contended.fetch_add(1, SeqCst);
            continue;
        }
        ensure!(reply.status == status, "{base} {call:?}: expected {status}, got {} {}", reply.status, reply.text);
        return Ok(reply);
    }
    bail!("{base} {call:?}: answered 503 ({CONTENDED}) 10 times")
}

/// The operator's bootstrap of `did`.
fn bootstrap_call(did: &str, name: &str) -> Call {
    Call::post("/v1/anchors").operator().json(&json!({"did": did, "display_name": name}))
}

/// The holder's rename of itself.
fn rename_call(who: &Person, id: &str, name: &str) -> Call {
    Call::patch(format!("/v1/holders/{id}")).signed(who, "holder-update", id, json!({"display_name": name}))
}

/// Bootstraps `who` through `base`; returns the anchor (= holder) id.
fn bootstrap(base: &str, who: &Person, name: &str) -> Result<String> {
    expect(base, &bootstrap_call(who.did.as_str(), name), 201)?.field("anchor_id")
}

/// A cooperative made through the API: three founders, the charter, active.
struct Coop {
    domain: String,
    charter_id: String,
}

/// Founders bootstrapped through each gateway in turn; the charter created
/// through the first, signed through each, activated through the last.
fn found_coop(c: &Cluster, slug: &str) -> Result<Coop> {
    let founders: Vec<Person> = (0..3).map(|_| Person::new()).collect();
    for (i, f) in founders.iter().enumerate() {
        bootstrap(c.gw(i).base(), f, &format!("Founder {i}"))?;
    }
    let domain = format!("coop:{slug}");
    let create = Call::post("/v1/charters").signed(
        &founders[0],
        "charter-create",
        "-",
        json!({"domain_id": domain, "org_type": "Cooperative", "name": format!("The {slug} cooperative"),
               "membership_policy": {"min_founders": 3, "open_enrollment": false}}),
    );
    let created = expect(c.gw(0).base(), &create, 201)?;
    let (charter_id, digest) = (created.field("charter_id")?, created.field("digest")?);
    for (i, f) in founders.iter().enumerate() {
        let sign = Call::post(format!("/v1/charters/{charter_id}/signatures")).signed(
            f,
            "charter-sign",
            &charter_id,
            json!({"digest": digest, "role": "founder"}),
        );
        expect(c.gw(i).base(), &sign, 200)?;
    }
    let activate = Call::post(format!("/v1/charters/{charter_id}/activate")).signed(
        &founders[2],
        "charter-activate",
        &charter_id,
        json!({}),
    );
    let active = expect(c.gw(2).base(), &activate, 200)?;
    ensure!(active.json["status"]["kind"] == "Active", "{}", active.text);
    Ok(Coop { domain, charter_id })
}

/// `n` new Members of `coop` with `caps`, each bootstrapped, applied,
/// approved, promoted and given its capabilities through the API, six
/// members at a time over the three gateways. Returns them with their
/// holder ids, in order.
fn make_members(c: &Cluster, coop: &Coop, n: usize, caps: &[&str]) -> Result<Vec<(Person, String)>> {
    const AT_ONCE: usize = 6;
    let bases = c.bases();
    let domain = coop.domain.as_str();
    let one = |base: &str, i: usize| -> Result<(Person, String)> {
        let p = Person::new();
        let id = bootstrap(base, &p, &format!("Member {i}"))?;
        let apply = Call::post(format!("/v1/holders/{id}/affiliations")).signed(
            &p,
            "affiliation-apply",
            &id,
            json!({"jurisdiction": domain}),
        );
        expect(base, &apply, 201)?;
        let affiliation = format!("/v1/holders/{id}/affiliations/{domain}");
        for step in ["approve", "promote"] {
            expect(base, &Call::post(format!("{affiliation}/{step}")).operator().json(&json!({})), 200)?;
        }
        let grant = Call::put(format!("{affiliation}/capabilities")).operator().json(&json!({"capabilities": caps}));
        let holder = expect(base, &grant, 200)?;
        let affiliation = &holder.json["affiliations"][0];
        ensure!(affiliation["status"] == "Member" && affiliation["capabilities"] == json!(caps), "{}", holder.text);
        Ok((p, id))
    };
    let mut made: Vec<(usize, Person, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..AT_ONCE)
            .map(|t| {
                let (base, one) = (&bases[t % GATEWAYS], &one);
                s.spawn(move || -> Result<Vec<(usize, Person, String)>> {
                    (t..n).step_by(AT_ONCE).map(|i| one(base, i).map(|(p, id)| (i, p, id))).collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow!("a member maker panicked"))?)
            .collect::<Result<Vec<_>>>()
    })?
    .into_iter()
    .flatten()
    .collect();
    made.sort_by_key(|(i, ..)| *i);
    Ok(made.into_iter().map(|(_, p, id)| (p, id)).collect())
}

/// Runs `f(g, k)` for `per_gateway` clients on each gateway, all released
/// at once by a barrier; returns the results in (gateway, client) order.
fn at_once<T: Send>(per_gateway: usize, f: impl Fn(usize, usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(GATEWAYS * per_gateway);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..GATEWAYS)
            .flat_map(|g| (0..per_gateway).map(move |k| (g, k)))
            .map(|(g, k)| {
                let (barrier, f) = (&barrier, &f);
                s.spawn(move || {
                    barrier.wait();
                    f(g, k)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a client thread panicked")).collect()
    })
}

#[test]
fn one_did_bootstrapped_at_once_through_three_gateways_is_created_once() -> Result<()> {
    let _one = one_at_a_time();
    const ROUNDS: usize = 10;
    const PER_GATEWAY: usize = 2;
    let c = Cluster::start()?;
    let bases = c.bases();
    let mut created_through = [0usize; GATEWAYS];
    let mut refused = 0;
    for round in 0..ROUNDS {
        let p = Person::new();
        let did = p.did.to_string();
        let replies =
            at_once(PER_GATEWAY, |g, k| send_to(&bases[g], &bootstrap_call(&did, &format!("via g{g} client {k}"))));
        let mut created = Vec::new();
        for (i, reply) in replies.into_iter().enumerate() {
            let (g, k) = (i / PER_GATEWAY, i % PER_GATEWAY);
            let reply = reply.with_context(|| format!("round {round}: g{g} client {k}"))?;
            match reply.status {
                201 => created.push((g, k, reply)),
                409 if reply.json["error"] == "already_exists" => refused += 1,
                other => bail!("round {round}: g{g} client {k}: {other} {}", reply.text),
            }
        }
        ensure!(created.len() == 1, "round {round}: {} creations of one DID: {:?}", created.len(), created);
        let (g, k, anchor) = created.remove(0);
        created_through[g] += 1;
        // Every gateway reads the one anchor, and the holder the winner wrote.
        for base in &bases {
            let read = expect(base, &Call::get(format!("/v1/anchors/by-did/{did}")), 200)?;
            ensure!(read.json == anchor.json, "round {round}: {base} reads {} for {}", read.text, anchor.text);
            let holder = expect(base, &Call::get(format!("/v1/holders/by-did/{did}")), 200)?;
            ensure!(holder.json["display_name"] == format!("via g{g} client {k}"), "round {round}: {}", holder.text);
        }
    }
    c.check_logs()?;
    eprintln!(
        "multi-gateway bootstrap race: {ROUNDS} DIDs, each sent by {} clients at once: {ROUNDS} created \
         (through g0/g1/g2: {created_through:?}), {refused} answered 409 already_exists",
        GATEWAYS * PER_GATEWAY
    );
    ensure!(refused == ROUNDS * (GATEWAYS * PER_GATEWAY - 1), "{refused} refusals");
    Ok(())
}

#[test]
fn one_envelope_sent_at_once_through_three_gateways_takes_effect_once() -> Result<()> {
    let _one = one_at_a_time();
    const ROUNDS: usize = 10;
    const PER_GATEWAY: usize = 2;
    let c = Cluster::start()?;
    let bases = c.bases();
    let p = Person::new();
    let id = bootstrap(c.gw(0).base(), &p, "Start")?;
    let mut replayed = 0;
    for round in 0..ROUNDS {
        let name = format!("Round {round}");
        let rename = rename_call(&p, &id, &name);
        let replies = at_once(PER_GATEWAY, |g, _| send_to(&bases[g], &rename));
        let mut applied = 0;
        for (i, reply) in replies.into_iter().enumerate() {
            let reply = reply.with_context(|| format!("round {round}: client {i}"))?;
            match reply.status {
                200 => applied += 1,
                409 if reply.json["error"] == "replayed" => replayed += 1,
                other => bail!("round {round}: client {i}: {other} {}", reply.text),
            }
        }
        ensure!(applied == 1, "round {round}: one envelope took effect {applied} times");
        // Later, through each gateway: still spent, and the name stays.
        for base in &bases {
            let again = expect(base, &rename, 409)?;
            ensure!(again.json["error"] == "replayed", "round {round}: {}", again.text);
            let holder = expect(base, &Call::get(format!("/v1/holders/{id}")), 200)?;
            ensure!(holder.json["display_name"] == name.as_str(), "round {round}: {}", holder.text);
        }
    }
    // A creation: the losers must hear `replayed`, not the `already_exists`
    // that a copy which took effect first makes them meet.
    let mut creations_replayed = 0;
    for round in 0..ROUNDS {
        let create = Call::post("/v1/charters").signed(
            &p,
            "charter-create",
            "-",
            json!({"domain_id": format!("coop:race-{round}"), "org_type": "Cooperative", "name": "Race",
                   "membership_policy": {"open_enrollment": false}}),
        );
        let replies = at_once(PER_GATEWAY, |g, _| send_to(&bases[g], &create));
        let mut created = 0;
        for (i, reply) in replies.into_iter().enumerate() {
            let reply = reply.with_context(|| format!("creation round {round}: client {i}"))?;
            match reply.status {
                201 => created += 1,
                409 if reply.json["error"] == "replayed" => creations_replayed += 1,
                other => bail!("creation round {round}: client {i}: {other} {}", reply.text),
            }
        }
        ensure!(created == 1, "creation round {round}: one envelope took effect {created} times");
    }
    c.check_logs()?;
    c.verify_clean()?;
    eprintln!(
        "multi-gateway replay race: {ROUNDS} renames and {ROUNDS} creations, each envelope sent by {} clients at \
         once: each took effect once; {replayed} + {creations_replayed} answered 409 replayed",
        GATEWAYS * PER_GATEWAY
    );
    ensure!(replayed == ROUNDS * (GATEWAYS * PER_GATEWAY - 1), "{replayed} replays refused");
    ensure!(creations_replayed == ROUNDS * (GATEWAYS * PER_GATEWAY - 1), "{creations_replayed} replays refused");
    Ok(())
}

#[test]
fn thirty_members_voting_at_once_through_three_gateways_are_all_counted() -> Result<()> {
    let _one = one_at_a_time();
    const VOTERS: usize = 30;
    let c = Cluster::start()?;
    let coop = found_coop(&c, "votes")?;
    let members = make_members(&c, &coop, VOTERS, &["Vote"])?;
    // The first member also proposes.
    let (proposer, proposer_id) = &members[0];
    let caps = Call::put(format!("/v1/holders/{proposer_id}/affiliations/{}/capabilities", coop.domain))
        .operator()
        .json(&json!({"capabilities": ["Vote", "Propose"]}));
    expect(c.gw(0).base(), &caps, 200)?;
    let propose = Call::post("/v1/amendments").signed(
        proposer,
        "amendment-propose",
        "-",
        json!({"charter_id": coop.charter_id, "title": "Longer hours",
               "changes": [{"target": "hours", "change": "Modify", "new_value": "6-20"}]}),
    );
    let id = expect(c.gw(0).base(), &propose, 201)?.field("amendment_id")?;
    let uri = format!("/v1/amendments/{id}");
    expect(
        c.gw(1).base(),
        &Call::post(format!("{uri}/submit")).signed(proposer, "amendment-submit", &id, json!({})),
        200,
    )?;
    let open = expect(c.gw(2).base(), &Call::post(format!("{uri}/open-voting")).operator().json(&json!({})), 200)?;
    ensure!(open.json["status"]["kind"] == "Voting", "{}", open.text);

    // Voter i votes through gateway i % 3, all at once; every fifth against.
    let approves = |i: usize| !i.is_multiple_of(5);
    let bases = c.bases();
    let contended = AtomicUsize::new(0);
    let per_gateway = VOTERS / GATEWAYS;
    let started = Instant::now();
    let votes = at_once(per_gateway, |g, k| {
        let i = g + GATEWAYS * k;
        let vote =
            Call::post(format!("{uri}/votes")).signed(&members[i].0, "vote", &id, json!({"approve": approves(i)}));
        expect_contended(&bases[g], &vote, 201, &contended)
    });
    let voting_secs = started.elapsed().as_secs_f64();
    for (i, vote) in votes.into_iter().enumerate() {
        vote.with_context(|| format!("vote of client {i}"))?;
    }
    let voters: BTreeSet<String> = members.iter().map(|(p, _)| p.did.to_string()).collect();
    for base in &bases {
        let got = expect(base, &Call::get(&uri), 200)?;
        let cast: Vec<&str> =
            got.json["votes"].as_array().context("votes")?.iter().filter_map(|v| v["voter_did"].as_str()).collect();
        let distinct: BTreeSet<String> = cast.iter().map(|d| d.to_string()).collect();
        ensure!(
            cast.len() == VOTERS && distinct == voters,
            "{base}: {} votes, {} distinct voters",
            cast.len(),
            distinct.len()
        );
    }
    let closed = expect(c.gw(1).base(), &Call::post(format!("{uri}/close")).operator().json(&json!({})), 200)?;
    let approvals = (0..VOTERS).filter(|&i| approves(i)).count();
    let tally = json!({"eligible": VOTERS, "votes": VOTERS, "approvals": approvals, "uncounted": 0, "ratified": true});
    ensure!(closed.json["tally"] == tally, "tally {} (expected {tally})", closed.json["tally"]);
    ensure!(closed.json["status"]["kind"] == "Ratified", "{}", closed.text);
    c.check_logs()?;
    eprintln!(
        "multi-gateway vote: {VOTERS} members voted at once through 3 gateways in {voting_secs:.2}s; tally {}; \
         503 {CONTENDED}, sent again: {}",
        closed.json["tally"],
        contended.load(SeqCst)
    );
    Ok(())
}

#[test]
fn evidence_added_at_once_through_three_gateways_is_all_kept() -> Result<()> {
    let _one = one_at_a_time();
    const CLIENTS_PER_GATEWAY: usize = 8;
    const ITEMS_PER_CLIENT: usize = 8;
    let c = Cluster::start()?;
    let appellant = Person::new();
    bootstrap(c.gw(0).base(), &appellant, "Appellant")?;
    let file = Call::post("/v1/appeals").signed(
        &appellant,
        "appeal-file",
        "-",
        json!({"kind": {"kind": "Other"}, "grounds": "The minutes are wrong.", "requested_remedy": {"kind": "Modify"}}),
    );
    let appeal = expect(c.gw(1).base(), &file, 201)?.field("appeal_id")?;
    let uri = format!("/v1/appeals/{appeal}");
    let bases = c.bases();
    let contended = AtomicUsize::new(0);
    let description = |g: usize, k: usize, n: usize| format!("g{g} client {k} item {n}");
    let started = Instant::now();
    let results = at_once(CLIENTS_PER_GATEWAY, |g, k| -> Result<()> {
        for n in 0..ITEMS_PER_CLIENT {
            let sha = format!("{:064x}", (g * 1000 + k) * 1000 + n);
            let item = json!({"sha256": sha, "description": description(g, k, n)});
            let add = Call::post(format!("{uri}/evidence")).signed(&appellant, "appeal-evidence", &appeal, &item);
            expect_contended(&bases[g], &add, 201, &contended)?;
        }
        Ok(())
    });
    let adding_secs = started.elapsed().as_secs_f64();
    for (i, r) in results.into_iter().enumerate() {
        r.with_context(|| format!("client {i}"))?;
    }
    let expected: BTreeSet<String> = (0..GATEWAYS)
        .flat_map(|g| (0..CLIENTS_PER_GATEWAY).flat_map(move |k| (0..ITEMS_PER_CLIENT).map(move |n| (g, k, n))))
        .map(|(g, k, n)| description(g, k, n))
        .collect();
    let total = GATEWAYS * CLIENTS_PER_GATEWAY * ITEMS_PER_CLIENT;
    let mut counts = Vec::new();
    for base in &bases {
        let got = expect(base, &Call::get(&uri), 200)?;
        let items = got.json["evidence"].as_array().context("evidence")?;
        let described: BTreeSet<String> =
            items.iter().filter_map(|e| e["description"].as_str()).map(str::to_string).collect();
        ensure!(
            items.len() == total && described == expected,
            "{base}: {} entries, {} distinct, {} missing",
            items.len(),
            described.len(),
            expected.difference(&described).count()
        );
        counts.push(items.len());
    }
    c.check_logs()?;
    eprintln!(
        "multi-gateway evidence: {} clients x {ITEMS_PER_CLIENT} items at once in {adding_secs:.2}s: \
         {counts:?} entries read through g0/g1/g2 (expected {total}); 503 {CONTENDED}, sent again: {}",
        GATEWAYS * CLIENTS_PER_GATEWAY,
        contended.load(SeqCst)
    );
    Ok(())
}

#[test]
fn a_write_through_one_gateway_reads_back_through_the_others_at_once() -> Result<()> {
    let _one = one_at_a_time();
    const ROUNDS: usize = 30;
    let c = Cluster::start()?;
    let bases = c.bases();
    let holder = Person::new();
    let holder_id = bootstrap(&bases[0], &holder, "Round -1")?;
    let holder_uri = format!("/v1/holders/{holder_id}");
    let mut reads = 0;
    for round in 0..ROUNDS {
        let writer = round % GATEWAYS;
        // An update of a record every gateway has read before...
        let name = format!("Round {round}");
        let renamed = expect(&bases[writer], &rename_call(&holder, &holder_id, &name), 200)?;
        ensure!(renamed.json["display_name"] == name.as_str(), "{}", renamed.text);
        // ...and a new record.
        let fresh = Person::new();
        let anchor = expect(&bases[writer], &bootstrap_call(fresh.did.as_str(), &name), 201)?;
        let anchor_uri = format!("/v1/anchors/by-did/{}", fresh.did);
        let seen = std::thread::scope(|s| {
            let handles: Vec<_> = (1..GATEWAYS)
                .map(|d| {
                    let (base, holder_uri, anchor_uri) = (&bases[(writer + d) % GATEWAYS], &holder_uri, &anchor_uri);
                    s.spawn(move || -> Result<(Reply, Reply)> {
                        Ok((expect(base, &Call::get(holder_uri), 200)?, expect(base, &Call::get(anchor_uri), 200)?))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a reader panicked")).collect::<Result<Vec<_>>>()
        })?;
        for (holder_read, anchor_read) in seen {
            ensure!(holder_read.json == renamed.json, "round {round}: stale holder {}", holder_read.text);
            ensure!(anchor_read.json == anchor.json, "round {round}: anchor reads {}", anchor_read.text);
            reads += 2;
        }
    }
    c.check_logs()?;
    eprintln!(
        "multi-gateway read-back: {ROUNDS} rounds, each an update and a creation through one gateway read at once \
         through the other two: {reads} reads, all current"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Writers under load (SIGKILL of a gateway, restart of the database).
// ---------------------------------------------------------------------------

/// The load's phase, as writers see it when a request starts and ends.
const BEFORE: u8 = 0;
const DISRUPTING: u8 = 1;
const AFTER: u8 = 2;

/// What the load shares between the main thread and the writers.
struct Shared {
    stop: AtomicBool,
    phase: AtomicU8,
    /// 2xx answers so far.
    acks: AtomicUsize,
    /// 2xx answers, by gateway, to requests started after the disruption.
    acks_after: [AtomicUsize; GATEWAYS],
}

impl Shared {
    fn new() -> Self {
        Self {
            stop: AtomicBool::new(false),
            phase: AtomicU8::new(BEFORE),
            acks: AtomicUsize::new(0),
            acks_after: std::array::from_fn(|_| AtomicUsize::new(0)),
        }
    }

    /// Polls (10 ms steps, at most [`BOUND`]) until `done`.
    fn wait_for(&self, what: &str, done: impl Fn(&Self) -> bool) -> Result<()> {
        let deadline = Instant::now() + BOUND;
        while !done(self) {
            ensure!(
                Instant::now() < deadline,
                "no {what} within {BOUND:?} ({} writes acknowledged)",
                self.acks.load(SeqCst)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}

/// What a writer writes, over and over.
enum Work {
    /// Bootstraps a fresh principal each time.
    Bootstrap,
    /// Renames its own holder (`v1`, `v2`, ...): a read-modify-write.
    Rename { who: Box<Person>, id: String },
}

struct Writer {
    gateway: usize,
    base: String,
    work: Work,
}

/// What one writer sent and was answered.
#[derive(Default)]
struct WriterLog {
    gateway: usize,
    /// Bootstrap: the DIDs; Rename: the names; in the order sent.
    sent: Vec<String>,
    /// Those answered 2xx.
    acked: Vec<String>,
    /// Count by status.
    statuses: BTreeMap<u16, usize>,
    /// Count by status, of requests in flight while the phase was DISRUPTING.
    during: BTreeMap<u16, usize>,
    /// Answers that were neither 2xx nor 503, with their body.
    bad: Vec<String>,
    /// The bodies of the 503 answers, by what was sent.
    unavailable: BTreeMap<String, String>,
    /// Requests that got no answer (transport error, 10 s without one).
    unanswered: Vec<String>,
}

/// Writes until `shared.stop`; stops at the first request without an answer
/// when `stop_unanswered`.
fn write_until_stopped(w: &Writer, shared: &Shared, stop_unanswered: bool) -> WriterLog {
    let mut log = WriterLog { gateway: w.gateway, ..WriterLog::default() };
    let mut n = 0u64;
    while !shared.stop.load(SeqCst) {
        n += 1;
        let (call, value) = match &w.work {
            Work::Bootstrap => {
                let did = Person::new().did.to_string();
                (bootstrap_call(&did, &format!("Load g{}", w.gateway)), did)
            }
            Work::Rename { who, id } => {
                let name = format!("v{n}");
                (rename_call(who, id, &name), name)
            }
        };
        log.sent.push(value.clone());
        let phase_before = shared.phase.load(SeqCst);
        let result = send_to(&w.base, &call);
        let phase_after = shared.phase.load(SeqCst);
        let during = phase_before == DISRUPTING || phase_after == DISRUPTING || phase_before != phase_after;
        match result {
            Ok(reply) => {
                *log.statuses.entry(reply.status).or_default() += 1;
                if during {
                    *log.during.entry(reply.status).or_default() += 1;
                }
                if (200..300).contains(&reply.status) {
                    log.acked.push(value);
                    shared.acks.fetch_add(1, SeqCst);
                    if phase_before == AFTER {
                        shared.acks_after[w.gateway].fetch_add(1, SeqCst);
                    }
                } else if reply.status == 503 {
                    log.unavailable.insert(value, reply.text);
                } else {
                    log.bad.push(format!("g{} {call:?}: {} {}", w.gateway, reply.status, reply.text));
                }
            }
            Err(e) => {
                log.unanswered.push(format!("g{} (phase {phase_before}->{phase_after}): {e:#}", w.gateway));
                if stop_unanswered {
                    break;
                }
            }
        }
    }
    log
}

/// `per_gateway` bootstrap writers and one rename writer (on a holder of
/// its own, bootstrapped now) on each gateway.
fn writers(c: &Cluster, per_gateway: usize) -> Result<Vec<Writer>> {
    let mut all = Vec::new();
    for (g, base) in c.bases().into_iter().enumerate() {
        for _ in 0..per_gateway {
            all.push(Writer { gateway: g, base: base.clone(), work: Work::Bootstrap });
        }
        let who = Person::new();
        let id = bootstrap(&base, &who, "v0")?;
        all.push(Writer { gateway: g, base, work: Work::Rename { who: Box::new(who), id } });
    }
    Ok(all)
}

/// Runs `writers` until `drive` (on this thread) returns; then stops them
/// and returns their logs with what `drive` returned.
fn under_load<T>(
    writers: &[Writer],
    shared: &Shared,
    stop_unanswered: bool,
    drive: impl FnOnce() -> Result<T>,
) -> Result<(Vec<WriterLog>, T)> {
    std::thread::scope(|s| {
        let handles: Vec<_> =
            writers.iter().map(|w| s.spawn(move || write_until_stopped(w, shared, stop_unanswered))).collect();
        let driven = drive();
        shared.stop.store(true, SeqCst);
        let logs: Vec<WriterLog> = handles.into_iter().map(|h| h.join().expect("a writer panicked")).collect();
        Ok((logs, driven?))
    })
}

/// What the store holds of the load afterwards.
#[derive(Debug, Default)]
struct Found {
    acked: usize,
    /// Acknowledged writes not found (must be 0).
    lost: Vec<String>,
    /// Writes without a 2xx that are there anyway (a commit whose answer was
    /// a 503 or none).
    unacked_present: usize,
    /// Bootstraps without a 2xx that are not there.
    unacked_absent: usize,
    /// The 503 answers of bootstraps that are there.
    committed_despite_503: Vec<String>,
}

/// Checks every writer's writes through `base`: each acknowledged bootstrap
/// is there (anchor and holder); an unacknowledged one is there whole or
/// not at all; a renamed holder carries its last acknowledged name or one
/// sent after it.
fn check_writes(base: &str, writers: &[Writer], logs: &[WriterLog]) -> Result<Found> {
    let mut found = Found::default();
    for (w, log) in writers.iter().zip(logs) {
        match &w.work {
            Work::Bootstrap => {
                let acked: BTreeSet<&String> = log.acked.iter().collect();
                for did in &log.sent {
                    let anchor = send_to(base, &Call::get(format!("/v1/anchors/by-did/{did}")))?.status;
                    let holder = send_to(base, &Call::get(format!("/v1/holders/by-did/{did}")))?.status;
                    ensure!(anchor == holder && matches!(anchor, 200 | 404), "{did}: anchor {anchor}, holder {holder}");
                    match (acked.contains(did), anchor == 200) {
                        (true, true) => found.acked += 1,
                        (true, false) => found.lost.push(format!("g{} anchor {did}", log.gateway)),
                        (false, true) => {
                            found.unacked_present += 1;
                            if let Some(text) = log.unavailable.get(did) {
                                found.committed_despite_503.push(text.clone());
                            }
                        }
                        (false, false) => found.unacked_absent += 1,
                    }
                }
            }
            Work::Rename { id, .. } => {
                let holder = expect(base, &Call::get(format!("/v1/holders/{id}")), 200)?;
                let name = holder.json["display_name"].as_str().unwrap_or_default();
                let position = |n: &str| log.sent.iter().position(|s| s == n);
                let last_acked = log.acked.last().and_then(|n| position(n));
                found.acked += log.acked.len();
                match (position(name), last_acked) {
                    // The last acknowledged name, or one sent after it whose
                    // answer was lost (a 503 or no answer, committed anyway).
                    (Some(now), Some(acked)) if now >= acked => found.unacked_present += usize::from(now > acked),
                    (Some(_), None) => found.unacked_present += 1,
                    (None, None) if name == "v0" => {}
                    _ => found.lost.push(format!(
                        "g{} holder {id} is named {name:?}, last acknowledged {:?}",
                        log.gateway,
                        log.acked.last()
                    )),
                }
            }
        }
    }
    Ok(found)
}

/// Sums the logs' counts by status (all requests, or those `during` the
/// disruption).
fn statuses(logs: &[WriterLog], during: bool) -> BTreeMap<u16, usize> {
    let mut sum = BTreeMap::new();
    for log in logs {
        for (status, n) in if during { &log.during } else { &log.statuses } {
            *sum.entry(*status).or_default() += n;
        }
    }
    sum
}

#[test]
fn a_gateway_killed_mid_load_loses_no_acknowledged_write() -> Result<()> {
    let _one = one_at_a_time();
    const KILLED: usize = 1;
    let mut c = Cluster::start()?;
    let writers = writers(&c, 2)?;
    let shared = Shared::new();
    let pid = i32::try_from(c.gateways[KILLED].process.pid())?;
    let (logs, ()) = under_load(&writers, &shared, true, || {
        shared.wait_for("30 acknowledged writes", |s| s.acks.load(SeqCst) >= 30)?;
        // SAFETY: sending a signal to our own child process by its id.
        let rc = unsafe { libc::kill(pid, libc::SIGKILL) };
        ensure!(rc == 0, "kill(SIGKILL) failed: {}", std::io::Error::last_os_error());
        shared.phase.store(AFTER, SeqCst);
        // The others go on: 15 more acknowledged writes through each.
        shared.wait_for("writes through the surviving gateways", |s| {
            (0..GATEWAYS).filter(|&g| g != KILLED).all(|g| s.acks_after[g].load(SeqCst) >= 15)
        })
    })?;
    let status = c.gateways[KILLED].process.wait_exit(BOUND)?;
    ensure!(!status.success(), "SIGKILL ended g{KILLED} with {status}");

    for log in &logs {
        ensure!(log.bad.is_empty(), "answers other than 2xx and 503: {:?}", log.bad);
        if log.gateway != KILLED {
            ensure!(log.unanswered.is_empty(), "a surviving gateway did not answer: {:?}", log.unanswered);
            ensure!(!log.statuses.contains_key(&503), "a surviving gateway answered 503: {:?}", log.statuses);
        }
    }
    let cut = logs.iter().filter(|l| l.gateway == KILLED && !l.unanswered.is_empty()).count();
    ensure!(cut > 0, "no writer of g{KILLED} was cut off by the SIGKILL");

    // The killed gateway, started again, reads every acknowledged write.
    c.gateways[KILLED] = Server::start(&c.dirs, "g1-again")?;
    let found = check_writes(c.gw(KILLED).base(), &writers, &logs)?;
    ensure!(found.lost.is_empty(), "acknowledged writes lost: {:?}", found.lost);
    let verified = c.verify_clean()?;
    c.check_logs()?;
    eprintln!(
        "multi-gateway SIGKILL of g{KILLED} mid-load: {} writes acknowledged, {} lost; {} writers cut off; \
         unacknowledged: {} there, {} not; statuses {:?}; {verified}",
        found.acked,
        found.lost.len(),
        cut,
        found.unacked_present,
        found.unacked_absent,
        statuses(&logs, false)
    );
    Ok(())
}

/// The test server's restart command line, from [`RESTART_VAR`].
fn restart_command() -> Result<String> {
    std::env::var(RESTART_VAR).ok().filter(|line| !line.trim().is_empty()).ok_or_else(|| {
        anyhow!(
            "this test restarts the PostgreSQL server and needs the command line that does it in {RESTART_VAR} \
             (`cargo xtask ci` sets it; `cargo xtask postgres` starts a server and prints the export line)"
        )
    })
}

/// Runs the restart command line with `sh -c` (in `/`, which the server's
/// user can enter); returns how long it took.
fn restart_database(line: &str) -> Result<Duration> {
    let started = Instant::now();
    let output = Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running `sh -c {line}`"))?;
    ensure!(
        output.status.success(),
        "`{line}` failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(started.elapsed())
}

#[test]
fn a_database_restart_mid_load_is_503_at_worst_and_every_gateway_serves_again() -> Result<()> {
    let _one = one_at_a_time();
    let line = restart_command()?;
    let c = Cluster::start()?;
    let writers = writers(&c, 2)?;
    let shared = Shared::new();
    let (logs, took) = under_load(&writers, &shared, false, || {
        shared.wait_for("30 acknowledged writes", |s| s.acks.load(SeqCst) >= 30)?;
        shared.phase.store(DISRUPTING, SeqCst);
        let took = restart_database(&line);
        shared.phase.store(AFTER, SeqCst);
        let took = took?;
        // Every gateway serves writes again, without a restart of its own.
        shared.wait_for("2xx writes through every gateway after the restart", |s| {
            s.acks_after.iter().all(|n| n.load(SeqCst) >= 5)
        })?;
        Ok(took)
    })?;

    let all = statuses(&logs, false);
    let during = statuses(&logs, true);
    let unanswered: Vec<&String> = logs.iter().flat_map(|l| &l.unanswered).collect();
    let bad: Vec<&String> = logs.iter().flat_map(|l| &l.bad).collect();
    ensure!(unanswered.is_empty(), "requests without an answer: {unanswered:?}");
    ensure!(bad.is_empty(), "answers other than 2xx and 503: {bad:?}");
    ensure!(during.values().sum::<usize>() > 0, "no request was in flight during the restart");

    let found = check_writes(c.gw(0).base(), &writers, &logs)?;
    ensure!(found.lost.is_empty(), "acknowledged writes lost: {:?}", found.lost);
    let after: Vec<usize> = shared.acks_after.iter().map(|n| n.load(SeqCst)).collect();
    let verified = c.verify_clean()?;
    c.check_logs()?;
    eprintln!(
        "multi-gateway PostgreSQL restart mid-load (restart took {:.2}s): statuses during it {during:?}, in all \
         {all:?}; {} writes acknowledged, {} lost; unacknowledged: {} there ({} of them answered 503 although \
         their COMMIT went through), {} not; 2xx writes after it through g0/g1/g2: \
         {after:?}; {verified}",
        took.as_secs_f64(),
        found.acked,
        found.lost.len(),
        found.unacked_present,
        found.committed_despite_503.len(),
        found.unacked_absent,
    );
    if let Some(text) = found.committed_despite_503.first() {
        eprintln!("  such a 503: {text}");
    }
    Ok(())
}
