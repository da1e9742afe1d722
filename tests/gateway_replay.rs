#![cfg(feature = "gateway")]
//! Captured envelopes cannot be used again: the real `commons-gateway`
//! binary, over real HTTP, refuses a second use of a signed envelope with 409
//! `replayed` and changes nothing, also after a SIGKILL and a restart on a
//! persistent build.
//!
//! Before envelopes carried a nonce, a captured `holder-update` set the
//! display name back (200, also after a restart), a captured
//! `affiliation-leave` / `affiliation-apply` pair took a member out and back
//! in against their will, and one `appeal-evidence` envelope sent three times
//! left three entries. Envelopes for another network (audience), expired
//! ones, ones from the future and version-1 envelopes are each refused with
//! their own code; an action refused for another reason spends nothing, so
//! the same envelope is accepted once the cause is fixed.

mod common;

use anyhow::{ensure, Result};
use common::http::{Call, Reply};
use common::keys::{wall_now, Person};
use common::process::{Dirs, Server};
use commons_gateway::{CommonsBackend, EnvelopeHeader, OpenBackend, BACKEND_NAME, DEFAULT_AUDIENCE};
use serde_json::{json, Value};

fn persistent() -> bool {
    <CommonsBackend as OpenBackend>::PERSISTENT
}

/// Sends `call` and checks the status and, for an error, its code.
fn expect_code(server: &Server, call: &Call, status: u16, code: &str) -> Result<Reply> {
    let reply = server.send(call)?;
    ensure!(
        reply.status == status && reply.json["error"] == code,
        "{call:?}: expected {status} {code}, got {} {}",
        reply.status,
        reply.text
    );
    ensure!(reply.json["message"].as_str().is_some_and(|m| !m.is_empty()), "no message: {}", reply.text);
    Ok(reply)
}

fn get(server: &Server, path: &str) -> Result<Value> {
    Ok(server.expect(&Call::get(path), 200)?.json)
}

/// Operator bootstrap; returns the anchor (= holder) id.
fn bootstrap(server: &Server, who: &Person, name: &str) -> Result<String> {
    let body = json!({"did": who.did, "display_name": name});
    server.expect(&Call::post("/v1/anchors").operator().json(&body), 201)?.field("anchor_id")
}

fn rename(who: &Person, id: &str, name: &str) -> Call {
    Call::patch(format!("/v1/holders/{id}")).signed(who, "holder-update", id, json!({"display_name": name}))
}

/// A Draft charter `coop:<slug>` created and signed by one founder (min_founders 1); returns its id.
fn draft_coop(server: &Server, founder: &Person, slug: &str) -> Result<String> {
    let create = Call::post("/v1/charters").signed(
        founder,
        "charter-create",
        "-",
        json!({"domain_id": format!("coop:{slug}"), "org_type": "Cooperative", "name": slug,
               "membership_policy": {"min_founders": 1, "open_enrollment": false}}),
    );
    let created = server.expect(&create, 201)?;
    let (id, digest) = (created.field("charter_id")?, created.field("digest")?);
    let sign = Call::post(format!("/v1/charters/{id}/signatures")).signed(
        founder,
        "charter-sign",
        &id,
        json!({"digest": digest}),
    );
    server.expect(&sign, 200)?;
    Ok(id)
}

fn activate(server: &Server, founder: &Person, charter: &str) -> Result<()> {
    let call =
        Call::post(format!("/v1/charters/{charter}/activate")).signed(founder, "charter-activate", charter, "{}");
    server.expect(&call, 200)?;
    Ok(())
}

/// The status of `holder`'s affiliation with `domain`.
fn membership(server: &Server, holder: &str, domain: &str) -> Result<Value> {
    let h = get(server, &format!("/v1/holders/{holder}"))?;
    let found = h["affiliations"].as_array().and_then(|a| a.iter().find(|a| a["jurisdiction"] == domain)).cloned();
    Ok(found.map_or(Value::Null, |a| a["status"].clone()))
}

/// On a persistent build: SIGKILLs `server` and starts a new one on the same
/// store. `None` on the in-memory build (nothing survives a restart there).
fn killed_and_restarted(dirs: &Dirs, server: &mut Server, name: &str) -> Result<Option<Server>> {
    if !persistent() {
        eprintln!("restart part skipped on the {BACKEND_NAME} build: no persistent engine");
        return Ok(None);
    }
    server.process.kill()?;
    Ok(Some(Server::start(dirs, name)?))
}

fn operator_step(holder: &str, domain: &str, step: &str) -> Call {
    Call::post(format!("/v1/holders/{holder}/affiliations/{domain}/{step}")).operator().json(&json!({}))
}

#[test]
fn a_replayed_holder_update_is_409_replayed_and_the_name_stays_also_after_sigkill() -> Result<()> {
    let dirs = Dirs::new()?;
    let mut server = Server::start(&dirs, "first")?;
    ensure!(get(&server, "/v1/health")?["audience"] == DEFAULT_AUDIENCE, "health names the audience");
    let p = Person::new();
    let id = bootstrap(&server, &p, "Ada")?;
    let first = rename(&p, &id, "Ada L.");
    server.expect(&first, 200)?;
    let second = rename(&p, &id, "Eve");
    server.expect(&second, 200)?;
    expect_code(&server, &first, 409, "replayed")?;
    ensure!(get(&server, &format!("/v1/holders/{id}"))?["display_name"] == "Eve", "a replay set the name back");

    let Some(restarted) = killed_and_restarted(&dirs, &mut server, "restarted")? else {
        return Ok(());
    };
    for replay in [&first, &second] {
        expect_code(&restarted, replay, 409, "replayed")?;
    }
    ensure!(get(&restarted, &format!("/v1/holders/{id}"))?["display_name"] == "Eve", "a replay after restart");
    // A fresh envelope still works.
    restarted.expect(&rename(&p, &id, "Eve B."), 200)?;
    Ok(())
}

#[test]
fn a_replayed_leave_and_apply_pair_cannot_move_a_member_also_after_sigkill() -> Result<()> {
    let dirs = Dirs::new()?;
    let mut server = Server::start(&dirs, "leave-apply")?;
    let founder = Person::new();
    bootstrap(&server, &founder, "Founder")?;
    let charter = draft_coop(&server, &founder, "millers")?;
    activate(&server, &founder, &charter)?;
    let domain = "coop:millers";
    let m = Person::new();
    let id = bootstrap(&server, &m, "Member")?;
    let j = json!({"jurisdiction": domain});
    let apply = Call::post(format!("/v1/holders/{id}/affiliations")).signed(&m, "affiliation-apply", &id, &j);
    let leave =
        Call::post(format!("/v1/holders/{id}/affiliations/{domain}/leave")).signed(&m, "affiliation-leave", &id, &j);
    server.expect(&apply, 201)?;
    server.expect(&leave, 200)?;
    // The member comes back with new envelopes and is made a Member.
    let back = Call::post(format!("/v1/holders/{id}/affiliations")).signed(&m, "affiliation-apply", &id, &j);
    server.expect(&back, 201)?;
    for step in ["approve", "promote"] {
        server.expect(&operator_step(&id, domain, step), 200)?;
    }
    ensure!(membership(&server, &id, domain)? == "Member");
    let before = get(&server, &format!("/v1/holders/{id}"))?;
    // Someone who captured the first pair replays it.
    expect_code(&server, &leave, 409, "replayed")?;
    expect_code(&server, &apply, 409, "replayed")?;
    expect_code(&server, &back, 409, "replayed")?;
    ensure!(get(&server, &format!("/v1/holders/{id}"))? == before, "the replays moved the member");
    if let Some(restarted) = killed_and_restarted(&dirs, &mut server, "leave-apply-restarted")? {
        for replay in [&leave, &apply, &back] {
            expect_code(&restarted, replay, 409, "replayed")?;
        }
        ensure!(get(&restarted, &format!("/v1/holders/{id}"))? == before, "replays after a restart moved the member");
    }
    Ok(())
}

#[test]
fn one_evidence_envelope_sent_three_times_leaves_one_entry_also_after_sigkill() -> Result<()> {
    let dirs = Dirs::new()?;
    let mut server = Server::start(&dirs, "evidence")?;
    let founder = Person::new();
    bootstrap(&server, &founder, "Founder")?;
    let charter = draft_coop(&server, &founder, "weavers")?;
    activate(&server, &founder, &charter)?;
    let domain = "coop:weavers";
    let pat = Person::new();
    let pat_id = bootstrap(&server, &pat, "Pat")?;
    let j = json!({"jurisdiction": domain});
    server.expect(
        &Call::post(format!("/v1/holders/{pat_id}/affiliations")).signed(&pat, "affiliation-apply", &pat_id, &j),
        201,
    )?;
    for step in ["approve", "promote"] {
        server.expect(&operator_step(&pat_id, domain, step), 200)?;
    }
    let revoke = json!({"target": {"kind": "Membership", "holder_id": pat_id, "jurisdiction": domain},
                        "reason": {"kind": "PolicyViolation"}, "immediate": false});
    let r = server.expect(&Call::post("/v1/revocations").operator().json(&revoke), 201)?.field("revocation_id")?;
    let appeal = json!({"kind": {"kind": "Revocation", "revocation_id": r}, "grounds": "Not me.",
                        "statement": "I was away.", "requested_remedy": {"kind": "Reinstate"}});
    let file = Call::post("/v1/appeals").signed(&pat, "appeal-file", "-", &appeal);
    let a = server.expect(&file, 201)?.field("appeal_id")?;
    expect_code(&server, &file, 409, "replayed")?;
    let ev = json!({"sha256": "ab".repeat(32), "description": "Travel tickets"});
    let evidence = Call::post(format!("/v1/appeals/{a}/evidence")).signed(&pat, "appeal-evidence", &a, &ev);
    server.expect(&evidence, 201)?;
    for _ in 0..2 {
        expect_code(&server, &evidence, 409, "replayed")?;
    }
    let got = get(&server, &format!("/v1/appeals/{a}"))?;
    ensure!(got["evidence"].as_array().map(Vec::len) == Some(1), "evidence: {}", got["evidence"]);
    let appeals = get(&server, &format!("/v1/appeals?appellant={}", pat.did))?;
    ensure!(appeals["items"].as_array().map(Vec::len) == Some(1), "appeals: {appeals}");
    if let Some(restarted) = killed_and_restarted(&dirs, &mut server, "evidence-restarted")? {
        expect_code(&restarted, &evidence, 409, "replayed")?;
        expect_code(&restarted, &file, 409, "replayed")?;
        ensure!(get(&restarted, &format!("/v1/appeals/{a}"))? == got, "replays after a restart changed the appeal");
    }
    Ok(())
}

#[test]
fn envelopes_for_another_audience_expired_from_the_future_or_version_1_are_refused_with_their_codes() -> Result<()> {
    let dirs = Dirs::new()?;
    let server = Server::start(&dirs, "windows")?;
    let p = Person::new();
    let id = bootstrap(&server, &p, "Ada")?;
    let now = wall_now();
    let send = |header: EnvelopeHeader| {
        let env = p.envelope_with(&header, "holder-update", &id, json!({"display_name": "Mallory"}));
        Call::patch(format!("/v1/holders/{id}")).envelope(&env)
    };
    let fresh = |audience: &str, created: u64, expires: u64| EnvelopeHeader {
        created,
        expires,
        ..EnvelopeHeader::new(audience, now, 1)
    };
    let cases = [
        ("another audience", send(fresh("other-network", now, now + 300)), 401, "bad_signature"),
        ("expired 61 s ago", send(fresh(DEFAULT_AUDIENCE, now - 400, now - 61)), 401, "envelope_expired"),
        ("created 120 s ahead", send(fresh(DEFAULT_AUDIENCE, now + 120, now + 300)), 401, "envelope_expired"),
        ("living 601 s", send(fresh(DEFAULT_AUDIENCE, now, now + 601)), 401, "envelope_expired"),
    ];
    for (what, call, status, code) in cases {
        expect_code(&server, &call, status, code).map_err(|e| e.context(what))?;
    }
    // Version 1: the same fields as before, no time, no nonce.
    let v2 = p.envelope("holder-update", &id, json!({"display_name": "Mallory"}));
    let v1 = json!({"actor": v2.actor, "payload": v2.payload, "signature": v2.signature});
    expect_code(&server, &Call::patch(format!("/v1/holders/{id}")).json(&v1), 401, "invalid_envelope")?;
    // A version-2 envelope with a field of its own.
    let mut extra = serde_json::to_value(&v2)?;
    extra["version"] = json!(2);
    expect_code(&server, &Call::patch(format!("/v1/holders/{id}")).json(&extra), 401, "invalid_envelope")?;
    ensure!(
        get(&server, &format!("/v1/holders/{id}"))?["display_name"] == "Ada",
        "a refused envelope changed the name"
    );
    // The good one goes through, once.
    let good = Call::patch(format!("/v1/holders/{id}")).envelope(&v2);
    server.expect(&good, 200)?;
    expect_code(&server, &good, 409, "replayed")?;
    Ok(())
}

#[test]
fn an_action_refused_for_another_reason_spends_nothing_and_goes_through_once_fixed() -> Result<()> {
    let dirs = Dirs::new()?;
    let server = Server::start(&dirs, "fixed")?;
    let founder = Person::new();
    bootstrap(&server, &founder, "Founder")?;
    let charter = draft_coop(&server, &founder, "potters")?;
    let m = Person::new();
    let id = bootstrap(&server, &m, "Member")?;
    let j = json!({"jurisdiction": "coop:potters"});
    let apply = Call::post(format!("/v1/holders/{id}/affiliations")).signed(&m, "affiliation-apply", &id, &j);
    // The charter is still a Draft: refused, twice, the nonce unspent.
    for _ in 0..2 {
        expect_code(&server, &apply, 409, "charter_not_active")?;
    }
    activate(&server, &founder, &charter)?;
    let joined = server.expect(&apply, 201)?;
    ensure!(joined.json["affiliations"][0]["status"] == "Candidate", "{}", joined.text);
    expect_code(&server, &apply, 409, "replayed")?;
    Ok(())
}

#[test]
fn a_gateway_takes_envelopes_for_its_own_audience_only() -> Result<()> {
    let dirs = Dirs::new()?;
    let server = Server::start_with_flags(&dirs, "river", &["--audience", "river-coops"])?;
    ensure!(get(&server, "/v1/health")?["audience"] == "river-coops", "health names the audience");
    let p = Person::new();
    let id = bootstrap(&server, &p, "Ada")?;
    // Made for the default network: refused by this one.
    expect_code(&server, &rename(&p, &id, "Mallory"), 401, "bad_signature")?;
    let header = EnvelopeHeader::new("river-coops", wall_now(), 300);
    let env = p.envelope_with(&header, "holder-update", &id, json!({"display_name": "Ada R."}));
    server.expect(&Call::patch(format!("/v1/holders/{id}")).envelope(&env), 200)?;
    ensure!(get(&server, &format!("/v1/holders/{id}"))?["display_name"] == "Ada R.");
    Ok(())
}

#[test]
fn serve_refuses_a_bad_audience_with_exit_code_2() -> Result<()> {
    for bad in ["", "Commons", "a|b", &"x".repeat(65)] {
        let ran = common::process::run(["serve", "--bind", "127.0.0.1:1", "--audience", bad])?;
        ensure!(ran.code() == 2, "--audience {bad:?}: exit {}; {}", ran.code(), ran.stderr);
        ensure!(ran.stderr.contains("--audience"), "--audience {bad:?}: {}", ran.stderr);
    }
    Ok(())
}
