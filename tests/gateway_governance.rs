#![cfg(feature = "gateway")]
//! The governance routes of the gateway, in process (`actix_web::test`):
//! every amendment, revocation and appeal route once with a good request
//! (status and body checked), then bad input on them, one table row per
//! request, each refused with a JSON `{"error", "message"}` 4xx and no row of
//! the store changed.
//!
//! The commons underneath is built through the manager ([`World`]) with a
//! manual clock, so the tests can move past a vote's `closes_at` and a
//! revocation's appeal deadline.

mod common;

use actix_web::web;
use anyhow::{ensure, Result};
use common::http::{temporary_manager, Call, Gateway, TOKEN};
use common::keys::Person;
use common::world::{make_member, new_members, World, DAY, HASH, T0};
use commons_gateway::records::Capability;
use commons_gateway::CommonsManager;
use serde_json::{json, Value};

/// The app over one commons, with operator token [`TOKEN`].
struct Fixture {
    m: web::Data<CommonsManager>,
    gw: Gateway,
    w: World,
    /// Member with Propose and Vote of the world's coop.
    proposer: Person,
    /// Members with Vote.
    voters: Vec<Person>,
    /// Member with Vote, target of the revocations.
    pat: Person,
    pat_id: String,
}

impl Fixture {
    async fn new() -> Result<Self> {
        let m = temporary_manager()?;
        let w = World::build(&m, "bakers", false)?;
        let proposer = Person::new();
        m.bootstrap_anchor(proposer.did.as_str(), None)?;
        make_member(&m, &proposer.did, &w.domain, &[Capability::Propose, Capability::Vote])?;
        let voters = new_members(&m, &w.domain, 2, &[Capability::Vote])?;
        let pat = Person::new();
        let pat_id = m.bootstrap_anchor(pat.did.as_str(), Some("Pat".into()))?.anchor.anchor_id;
        make_member(&m, &pat.did, &w.domain, &[Capability::Vote])?;
        let gw = Gateway::new(&m, Some(TOKEN)).await;
        Ok(Self { m, gw, w, proposer, voters, pat, pat_id })
    }

    /// Proposes, submits and opens (operator) an amendment; returns its id.
    async fn amendment_in_voting(&self) -> Result<String> {
        let body = json!({"charter_id": self.w.charter_id, "title": "Hours",
                          "changes": [{"target": "hours", "change": "Modify", "new_value": "7-19"}]});
        let propose = Call::post("/v1/amendments").signed(&self.proposer, "amendment-propose", "-", &body);
        let id = self.gw.expect(&propose, 201).await?.field("amendment_id")?;
        let uri = format!("/v1/amendments/{id}");
        let submit = Call::post(format!("{uri}/submit")).signed(&self.proposer, "amendment-submit", &id, json!({}));
        self.gw.expect(&submit, 200).await?;
        self.gw.expect(&Call::post(format!("{uri}/open-voting")).operator().json(&json!({})), 200).await?;
        Ok(id)
    }

    /// An operator revocation of Pat's membership; returns its id.
    async fn revoke_pat(&self, immediate: bool) -> Result<String> {
        let body = json!({"target": {"kind": "Membership", "holder_id": self.pat_id, "jurisdiction": self.w.domain},
                          "reason": {"kind": "PolicyViolation"}, "immediate": immediate});
        self.gw.expect(&Call::post("/v1/revocations").operator().json(&body), 201).await?.field("revocation_id")
    }

    /// Pat appeals revocation `r`; returns the appeal id.
    async fn appeal(&self, r: &str) -> Result<String> {
        let body = json!({"kind": {"kind": "Revocation", "revocation_id": r}, "grounds": "Not me.",
                          "statement": "I was away.", "requested_remedy": {"kind": "Reinstate"}});
        let file = Call::post("/v1/appeals").signed(&self.pat, "appeal-file", "-", &body);
        self.gw.expect(&file, 201).await?.field("appeal_id")
    }
}

#[actix_web::test]
async fn every_amendment_route_answers() -> Result<()> {
    let h = Fixture::new().await?;
    let body = json!({"charter_id": h.w.charter_id, "title": "Sunday hours", "description": "Bake on Sundays."});
    let created =
        h.gw.expect(&Call::post("/v1/amendments").signed(&h.proposer, "amendment-propose", "-", &body), 201).await?;
    let id = created.field("amendment_id")?;
    let uri = format!("/v1/amendments/{id}");
    let got = h.gw.expect(&Call::get(&uri), 200).await?;
    ensure!(got.json == created.json, "GET differs from the creation: {} vs {}", got.text, created.text);
    ensure!(created.json["status"] == json!({"kind": "Draft"}), "{}", created.text);

    let change = json!({"target": "hours", "change": "Add", "new_value": "Sun 8-12"});
    let add = Call::post(format!("{uri}/changes")).signed(&h.proposer, "amendment-change", &id, &change);
    let r = h.gw.expect(&add, 201).await?;
    ensure!(r.json["changes"].as_array().map(Vec::len) == Some(1), "{}", r.text);
    let submit = Call::post(format!("{uri}/submit")).signed(&h.proposer, "amendment-submit", &id, json!({}));
    let r = h.gw.expect(&submit, 200).await?;
    ensure!(r.json["status"]["kind"] == "Submitted", "{}", r.text);
    let open =
        Call::post(format!("{uri}/open-voting")).signed(&h.w.stewards[0], "amendment-open-voting", &id, json!({}));
    let r = h.gw.expect(&open, 200).await?;
    ensure!(r.json["status"]["kind"] == "Voting" && r.json["status"]["closes_at"] == T0 + 7 * DAY, "{}", r.text);
    for (v, approve) in [(&h.voters[0], true), (&h.voters[1], true), (&h.proposer, false)] {
        let vote = Call::post(format!("{uri}/votes")).signed(v, "vote", &id, json!({"approve": approve}));
        let r = h.gw.expect(&vote, 201).await?;
        ensure!(r.json["votes"].as_array().is_some_and(|v| !v.is_empty()), "{}", r.text);
    }
    // Anyone may close, but only once the voting time is over.
    h.gw.refused(&Call::post(format!("{uri}/close")).json(&json!({})), 409, "invalid_transition").await?;
    // The operator may close early: 3 of 4 eligible voted, 2 of 3 approve.
    let r = h.gw.expect(&Call::post(format!("{uri}/close")).operator().json(&json!({})), 200).await?;
    ensure!(r.json["status"]["kind"] == "Ratified", "{}", r.text);
    ensure!(
        r.json["tally"] == json!({"eligible": 4, "votes": 3, "approvals": 2, "uncounted": 0, "ratified": true}),
        "{}",
        r.text
    );

    // Withdraw; and a public close after closes_at.
    let second = h.amendment_in_voting().await?;
    let withdraw = Call::post(format!("/v1/amendments/{second}/withdraw")).signed(
        &h.proposer,
        "amendment-withdraw",
        &second,
        json!({}),
    );
    let r = h.gw.expect(&withdraw, 200).await?;
    ensure!(r.json["status"]["kind"] == "Withdrawn", "{}", r.text);
    let third = h.amendment_in_voting().await?;
    h.m.clock().advance(7 * DAY);
    let r = h.gw.expect(&Call::post(format!("/v1/amendments/{third}/close")).json(&json!({})), 200).await?;
    ensure!(r.json["status"]["kind"] == "Rejected" && r.json["tally"]["votes"] == 0, "{}", r.text);

    let list = format!("/v1/amendments?charter_id={}", h.w.charter_id);
    let all = h.gw.expect(&Call::get(&list), 200).await?;
    let ids: Vec<&str> = all.json["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["amendment_id"].as_str()).collect())
        .unwrap_or_default();
    ensure!(ids == [id.as_str(), second.as_str(), third.as_str()], "{}", all.text);
    ensure!(all.json["next_cursor"].is_null(), "{}", all.text);
    let page = h.gw.expect(&Call::get(format!("{list}&status=Withdrawn&limit=5")), 200).await?;
    ensure!(page.json["items"].as_array().map(Vec::len) == Some(1), "{}", page.text);
    let page = h.gw.expect(&Call::get(format!("{list}&limit=1")), 200).await?;
    let cursor = page.field("next_cursor")?;
    let next = h.gw.expect(&Call::get(format!("{list}&limit=1&cursor={cursor}")), 200).await?;
    ensure!(next.json["items"][0]["amendment_id"] == second.as_str(), "{}", next.text);
    Ok(())
}

#[actix_web::test]
async fn every_revocation_and_appeal_route_answers() -> Result<()> {
    let h = Fixture::new().await?;
    let holder = Call::get(format!("/v1/holders/{}", h.pat_id));
    // Revocation: create, read, list, finalize after the deadline.
    let r = h.revoke_pat(false).await?;
    let got = h.gw.expect(&Call::get(format!("/v1/revocations/{r}")), 200).await?;
    ensure!(
        got.json["appeal_deadline"] == T0 + 30 * DAY && got.json["appeal_status"] == json!({"kind": "None"}),
        "{}",
        got.text
    );
    let target = format!("membership:{}:{}", h.pat_id, h.w.domain);
    let list = h.gw.expect(&Call::get(format!("/v1/revocations?target={target}")), 200).await?;
    ensure!(list.json["items"][0]["revocation_id"] == r.as_str(), "{}", list.text);
    let got = h.gw.expect(&holder, 200).await?;
    ensure!(got.json["affiliations"][0]["status"] == "Suspended", "{}", got.text);

    // Appeal it: file, read, list, evidence, response, review, resolve (upheld).
    let a = h.appeal(&r).await?;
    let uri = format!("/v1/appeals/{a}");
    let got = h.gw.expect(&Call::get(&uri), 200).await?;
    ensure!(
        got.json["status"] == json!({"kind": "Filed"}) && got.json["jurisdiction"] == h.w.domain.as_str(),
        "{}",
        got.text
    );
    let list = h.gw.expect(&Call::get(format!("/v1/appeals?appellant={}", h.pat.did)), 200).await?;
    ensure!(list.json["items"][0]["appeal_id"] == a.as_str(), "{}", list.text);
    let r2 = h.gw.expect(&Call::get(format!("/v1/revocations/{r}")), 200).await?;
    ensure!(r2.json["appeal_status"] == json!({"kind": "Pending", "appeal_id": a}), "{}", r2.text);
    let ev = json!({"sha256": HASH, "description": "Travel tickets"});
    let evidence = Call::post(format!("{uri}/evidence")).signed(&h.pat, "appeal-evidence", &a, &ev);
    let got = h.gw.expect(&evidence, 201).await?;
    ensure!(got.json["evidence"][0]["sha256"] == HASH, "{}", got.text);
    let text = json!({"text": "Reviewed the tickets."});
    let respond = Call::post(format!("{uri}/responses")).signed(&h.w.stewards[1], "appeal-respond", &a, &text);
    let got = h.gw.expect(&respond, 201).await?;
    ensure!(got.json["responses"][0]["responder_did"] == h.w.stewards[1].did.as_str(), "{}", got.text);
    let got = h.gw.expect(&Call::post(format!("{uri}/review")).operator().json(&json!({})), 200).await?;
    ensure!(got.json["status"] == json!({"kind": "UnderReview", "reviewer": "operator"}), "{}", got.text);
    let resolve =
        Call::post(format!("{uri}/resolve")).operator().json(&json!({"outcome": "Upheld", "notes": "Alibi holds."}));
    let got = h.gw.expect(&resolve, 200).await?;
    ensure!(got.json["status"]["kind"] == "Resolved" && got.json["status"]["outcome"] == "Upheld", "{}", got.text);
    let got = h.gw.expect(&holder, 200).await?;
    ensure!(got.json["affiliations"][0]["status"] == "Member", "upheld appeal restores: {}", got.text);

    // A new revocation; an appeal dismissed, another withdrawn; finalize.
    let r = h.revoke_pat(false).await?;
    let b = h.appeal(&r).await?;
    let dismiss = Call::post(format!("/v1/appeals/{b}/dismiss")).operator().json(&json!({"reason": "Late."}));
    let got = h.gw.expect(&dismiss, 200).await?;
    ensure!(got.json["status"]["kind"] == "Dismissed", "{}", got.text);
    let c = h.appeal(&r).await?;
    let withdraw = Call::post(format!("/v1/appeals/{c}/withdraw")).signed(&h.pat, "appeal-withdraw", &c, json!({}));
    let got = h.gw.expect(&withdraw, 200).await?;
    ensure!(got.json["status"]["kind"] == "Withdrawn", "{}", got.text);
    let finalize = Call::post(format!("/v1/revocations/{r}/finalize")).operator().json(&json!({}));
    h.gw.refused(&finalize, 409, "not_finalizable").await?;
    h.m.clock().advance(30 * DAY);
    let got = h.gw.expect(&finalize, 200).await?;
    ensure!(got.json["finalized_at"] == T0 + 30 * DAY, "{}", got.text);
    let got = h.gw.expect(&holder, 200).await?;
    ensure!(got.json["affiliations"][0]["status"] == "Banned", "{}", got.text);
    Ok(())
}

#[actix_web::test]
async fn bad_input_on_governance_routes_is_a_json_4xx_and_changes_nothing() -> Result<()> {
    let h = Fixture::new().await?;
    let id = h.amendment_in_voting().await?;
    let uri = format!("/v1/amendments/{id}");
    let r = h.revoke_pat(false).await?;
    let a = h.appeal(&r).await?;
    let stranger = Person::new();
    let unknown = uuid::Uuid::now_v7().to_string();
    let charter = h.w.charter_id.clone();
    let propose = json!({"charter_id": charter, "title": "T"});
    let mut spoilt = serde_json::to_value(h.proposer.envelope("amendment-propose", "-", &propose))?;
    spoilt["payload"] = Value::String(json!({"charter_id": charter, "title": "Other"}).to_string());
    let revoke =
        json!({"target": {"kind": "Anchor", "anchor_id": h.pat_id}, "reason": {"kind": "Sybil"}, "immediate": true});
    let with = |field: &str, value: Value| {
        let mut body = revoke.clone();
        match field.split_once('.') {
            Some((outer, inner)) => body[outer][inner] = value,
            None => body[field] = value,
        }
        body
    };
    let membership = json!({"target": {"kind": "Membership", "holder_id": h.pat_id, "jurisdiction": h.w.domain},
                            "reason": {"kind": "Sybil"}, "immediate": true});
    let amendments = || Call::post("/v1/amendments");

    h.gw.refuse_all(vec![
        // Signed envelopes.
        ("payload changed after signing", amendments().json(&spoilt), 401, "bad_signature"),
        (
            "signed for another target",
            amendments().signed(&h.proposer, "amendment-propose", &charter, &propose),
            401,
            "bad_signature",
        ),
        (
            "unknown payload field",
            amendments().signed(
                &h.proposer,
                "amendment-propose",
                "-",
                json!({"charter_id": charter, "title": "T", "x": 1}),
            ),
            400,
            "invalid_payload",
        ),
        (
            "proposed by a stranger",
            amendments().signed(&stranger, "amendment-propose", "-", &propose),
            403,
            "forbidden",
        ),
        ("text/plain body", amendments().raw("text/plain", "hello"), 415, "unsupported_media_type"),
        ("malformed JSON", amendments().raw("application/json", "{not json"), 400, "invalid_json"),
        ("100 KiB body", amendments().raw("application/json", vec![b' '; 100 * 1024]), 413, "payload_too_large"),
        (
            "vote by a stranger",
            Call::post(format!("{uri}/votes")).signed(&stranger, "vote", &id, json!({"approve": true})),
            403,
            "forbidden",
        ),
        (
            "vote of the wrong type",
            Call::post(format!("{uri}/votes")).signed(&h.voters[0], "vote", &id, json!({"approve": "yes"})),
            400,
            "invalid_payload",
        ),
        (
            "change while voting",
            Call::post(format!("{uri}/changes")).signed(
                &h.proposer,
                "amendment-change",
                &id,
                json!({"target": "t", "change": "Remove"}),
            ),
            409,
            "invalid_transition",
        ),
        (
            "submit of an id that is no UUID",
            Call::post("/v1/amendments/nope/submit").signed(&h.proposer, "amendment-submit", "nope", json!({})),
            400,
            "invalid_id",
        ),
        (
            "submit of an unknown amendment",
            Call::post(format!("/v1/amendments/{unknown}/submit")).signed(
                &h.proposer,
                "amendment-submit",
                &unknown,
                json!({}),
            ),
            404,
            "not_found",
        ),
        (
            "appeal of an unknown kind",
            Call::post("/v1/appeals").signed(
                &h.pat,
                "appeal-file",
                "-",
                json!({"kind": {"kind": "Nope"}, "grounds": "g", "requested_remedy": {"kind": "None"}}),
            ),
            400,
            "invalid_payload",
        ),
        (
            "evidence by a stranger",
            Call::post(format!("/v1/appeals/{a}/evidence")).signed(
                &stranger,
                "appeal-evidence",
                &a,
                json!({"sha256": HASH, "description": "x"}),
            ),
            403,
            "forbidden",
        ),
        (
            "evidence with a bad hash",
            Call::post(format!("/v1/appeals/{a}/evidence")).signed(
                &h.pat,
                "appeal-evidence",
                &a,
                json!({"sha256": "abc", "description": "x"}),
            ),
            400,
            "invalid_input",
        ),
        (
            "withdraw by a steward",
            Call::post(format!("/v1/appeals/{a}/withdraw")).signed(&h.w.stewards[0], "appeal-withdraw", &a, json!({})),
            403,
            "forbidden",
        ),
        // Open voting / close: token or envelope, never a mix.
        (
            "open voting with a token and an envelope",
            Call::post(format!("{uri}/open-voting"))
                .operator()
                .json(&json!({"actor": "x", "payload": "{}", "signature": "y"})),
            400,
            "invalid_json",
        ),
        ("open voting with neither", Call::post(format!("{uri}/open-voting")).json(&json!({})), 401, "unauthorized"),
        (
            "open voting with a wrong token",
            Call::post(format!("{uri}/open-voting")).bearer("wrong").json(&json!({})),
            401,
            "unauthorized",
        ),
        (
            "close with a wrong token",
            Call::post(format!("{uri}/close")).bearer("wrong").json(&json!({})),
            401,
            "unauthorized",
        ),
        (
            "close with an unknown field",
            Call::post(format!("{uri}/close")).operator().json(&json!({"early": true})),
            400,
            "invalid_json",
        ),
        // Operator routes.
        ("revoke without a token", Call::post("/v1/revocations").json(&revoke), 401, "unauthorized"),
        ("revoke with a wrong token", Call::post("/v1/revocations").bearer("wrong").json(&revoke), 401, "unauthorized"),
        (
            "revoke an unknown target kind",
            Call::post("/v1/revocations").operator().json(&with("target.kind", json!("Planet"))),
            400,
            "invalid_json",
        ),
        (
            "revoke with no appeal window",
            Call::post("/v1/revocations").operator().json(&with("appeal_window_days", json!(0))),
            400,
            "invalid_input",
        ),
        (
            "revoke an id with a slash",
            Call::post("/v1/revocations").operator().json(&with("target.anchor_id", json!("by_did/x"))),
            400,
            "invalid_id",
        ),
        (
            "revoke an unknown anchor",
            Call::post("/v1/revocations").operator().json(&with("target.anchor_id", json!("ab".repeat(32)))),
            404,
            "not_found",
        ),
        (
            "revoke while a revocation is open",
            Call::post("/v1/revocations").operator().json(&membership),
            409,
            "revocation_open",
        ),
        (
            "finalize an unknown revocation",
            Call::post(format!("/v1/revocations/{unknown}/finalize")).operator().json(&json!({})),
            404,
            "not_found",
        ),
        (
            "resolve with an unknown outcome",
            Call::post(format!("/v1/appeals/{a}/resolve")).operator().json(&json!({"outcome": "Maybe", "notes": ""})),
            400,
            "invalid_json",
        ),
        (
            "resolve a filed appeal",
            Call::post(format!("/v1/appeals/{a}/resolve")).operator().json(&json!({"outcome": "Upheld", "notes": ""})),
            409,
            "invalid_transition",
        ),
        (
            "resolve without a token",
            Call::post(format!("/v1/appeals/{a}/resolve")).json(&json!({"outcome": "Upheld", "notes": ""})),
            401,
            "unauthorized",
        ),
        (
            "dismiss without a reason",
            Call::post(format!("/v1/appeals/{a}/dismiss")).operator().json(&json!({})),
            400,
            "invalid_json",
        ),
        (
            "review with a 100 KiB body",
            Call::post(format!("/v1/appeals/{a}/review")).operator().raw("application/json", vec![b' '; 100 * 1024]),
            413,
            "payload_too_large",
        ),
    ])
    .await?;

    // With no token configured, operator routes are disabled; lists and
    // lookups answer as before.
    let disabled = Gateway::new(&h.m, None).await;
    let amendments = format!("/v1/amendments?charter_id={charter}");
    disabled
        .refuse_all(vec![
            ("revoke", Call::post("/v1/revocations").operator().json(&revoke), 403, "admin_disabled"),
            (
                "review",
                Call::post(format!("/v1/appeals/{a}/review")).operator().json(&json!({})),
                403,
                "admin_disabled",
            ),
            // Lists and lookups.
            ("amendments of no charter", Call::get("/v1/amendments"), 400, "invalid_input"),
            ("amendments of a bad charter id", Call::get("/v1/amendments?charter_id=xyz"), 400, "invalid_id"),
            ("amendments of an unknown status", Call::get(format!("{amendments}&status=Open")), 400, "invalid_input"),
            ("amendments, limit 0", Call::get(format!("{amendments}&limit=0")), 400, "invalid_input"),
            ("amendments, bad cursor", Call::get(format!("{amendments}&cursor=zz")), 400, "invalid_cursor"),
            ("amendments, unknown parameter", Call::get(format!("{amendments}&sort=new")), 400, "invalid_query"),
            ("amendment id that is no UUID", Call::get("/v1/amendments/not-a-uuid"), 400, "invalid_id"),
            ("unknown amendment", Call::get(format!("/v1/amendments/{unknown}")), 404, "not_found"),
            ("appeals of nobody", Call::get("/v1/appeals"), 400, "invalid_input"),
            ("appeals of a bad DID", Call::get("/v1/appeals?appellant=did:key:nope"), 400, "invalid_did"),
            (
                "appeals of an unknown status",
                Call::get(format!("/v1/appeals?appellant={}&status=Open", h.pat.did)),
                400,
                "invalid_input",
            ),
            ("unknown appeal", Call::get(format!("/v1/appeals/{unknown}")), 404, "not_found"),
            ("revocations of no target", Call::get("/v1/revocations"), 400, "invalid_input"),
            (
                "revocations of an unknown target kind",
                Call::get("/v1/revocations?target=planet:1"),
                400,
                "invalid_input",
            ),
            ("revocations of a bad anchor id", Call::get("/v1/revocations?target=anchor:XYZ"), 400, "invalid_id"),
            ("revocation id that is no UUID", Call::get("/v1/revocations/1234"), 400, "invalid_id"),
            ("unknown revocation", Call::get(format!("/v1/revocations/{unknown}")), 404, "not_found"),
        ])
        .await
}
