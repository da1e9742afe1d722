//! The load of one cycle: [`run`] starts one thread per client, each a
//! [`Worker`] sending a random mix of writes (enrollment steps, display
//! names, votes, promotions, revocations, appeals, and the amendment
//! pipeline: propose, submit, open voting, close), one at a time, until the
//! stop flag is set; after the drawn delay the main thread sets it and
//! SIGKILLs the server. Every 2xx answer is counted as acknowledged and its
//! effect written into the model; a write whose answer never came is
//! recorded as unknown (`Person::pending`, an unsettled [`Vote`], or the
//! ballot's pending step) for the check after the restart.
//!
//! **Invariant:** the model changes only on a 2xx answer (or, for an
//! unknown write, when the check has seen what the server kept); a refused
//! write (any other answer) changes nothing, on the server as in the model,
//! and is reported as a problem, since the soak only sends writes its model
//! says are allowed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::client::{string_field, Client, Reply};
use crate::founding::Principal;
use crate::model::{
    Amendment, AmendmentStatus, Appeal, AppealStatus, Commons, Kind, Ledger, Person, Revocation, RevocationAppeal,
    SharedBallot, Standing, Step, Vote, Write,
};
use crate::server::{Server, Stage};

/// Acknowledged votes on an amendment after which a client whose members
/// have all voted on it closes it and starts the next one.
const CLOSE_AFTER_VOTES: usize = 12;
/// Acknowledged votes on an amendment after which the next client that
/// would vote closes it and starts the next one instead. A vote rewrites
/// the amendment with every vote so far, so this also bounds what one vote
/// costs.
const MOST_VOTES: usize = 48;
/// A client revokes a membership only while it keeps more Members than
/// this (so votes go on).
const MEMBERS_KEPT: usize = 2;

/// What a client can do next, and how often it picks it (weights).
#[derive(Debug, Clone, Copy)]
enum Op {
    /// The next step of the client's enrollment in flight, or a new one.
    Enroll,
    Name,
    Vote,
    Promote,
    Revoke,
    /// The next step of an appeal of a revocation.
    Appeal,
}

const OPS: [(Op, u32); 6] =
    [(Op::Enroll, 30), (Op::Name, 20), (Op::Vote, 28), (Op::Promote, 10), (Op::Revoke, 4), (Op::Appeal, 8)];

/// What setup made and the clients share during one cycle's load.
pub struct LoadContext<'a> {
    /// The cooperative, its stewards and the proposer.
    pub commons: &'a Commons,
    /// The amendments, shared by every client.
    pub ballot: &'a SharedBallot,
    /// Set just before the server is killed: no client starts a request
    /// after it.
    pub stop: &'a AtomicBool,
    /// The cycle number (from 1), for the display names sent.
    pub cycle: usize,
}

/// What one client's load produced in one cycle.
#[derive(Default)]
pub struct LoadReport {
    /// Writes answered 2xx, by kind.
    pub acknowledged: Ledger,
    /// Writes in flight at the kill whose answer never came.
    pub unknown: u64,
    /// Refused writes and other surprises.
    pub problems: Vec<String>,
    /// Votes sent: the amendment's index in the ballot, and the vote.
    pub votes: Vec<(usize, Vote)>,
    /// Acknowledged enrollment completions, by steward.
    pub completions: [u64; 2],
}

/// One client: the people it enrolled, across cycles.
pub struct Worker {
    /// Which client (from 0).
    pub index: usize,
    /// Everyone this client enrolled or is enrolling, as acknowledged.
    pub people: Vec<Person>,
    /// Display names and enrollments sent so far (to make each unique).
    sent: u64,
}

/// Runs one cycle's load: `workers.len()` client threads on `server`, the
/// worker `i` drawing its choices from `seeds[i]`; after `kill_after` the
/// stop flag is set and the server SIGKILLed. Returns each client's report.
pub fn run(
    stage: &Stage<'_>,
    server: Server,
    workers: &mut [Worker],
    ctx: &LoadContext<'_>,
    kill_after: Duration,
    seeds: &[u64],
) -> Result<Vec<LoadReport>> {
    thread::scope(|scope| {
        let handles: Vec<_> = workers
            .iter_mut()
            .zip(seeds)
            .map(|(worker, seed)| {
                let client = stage.client(&[&server]);
                let seed = *seed;
                scope.spawn(move || worker.run(&client, ctx, seed))
            })
            .collect();
        thread::sleep(kill_after);
        ctx.stop.store(true, Ordering::SeqCst);
        let killed = server.kill();
        let mut reports = Vec::with_capacity(handles.len());
        for handle in handles {
            let report = handle.join().map_err(|_| anyhow!("a client thread panicked"))??;
            reports.push(report);
        }
        killed.context("killing the server")?;
        Ok(reports)
    })
}

/// What became of one write, for its sender.
enum Outcome {
    /// Acknowledged (the wanted status): the answer's body.
    Acked(Value),
    /// Answered otherwise: nothing changed (a problem was noted).
    Refused,
    /// Sent, no answer: the write is unknown. The client stops.
    Unknown,
    /// Never reached the server. The client stops.
    NotSent,
}

/// Whether the client goes on after an op, and whether the op could be
/// done at all.
enum Flow {
    Go,
    /// The op was not possible now; the client picks an enrollment instead.
    Impossible,
    Stop,
}

impl Worker {
    /// Client number `index` (from 0), with nobody enrolled yet.
    pub fn new(index: usize) -> Self {
        Self { index, people: Vec::new(), sent: 0 }
    }

    /// Sends writes until the stop flag is set or the server stops
    /// answering.
    fn run(&mut self, client: &Client<'_>, ctx: &LoadContext<'_>, seed: u64) -> Result<LoadReport> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut report = LoadReport::default();
        let total: u32 = OPS.iter().map(|(_, weight)| weight).sum();
        while !ctx.stop.load(Ordering::SeqCst) {
            let mut pick = rng.gen_range(0..total);
            let mut op = Op::Enroll;
            for (candidate, weight) in OPS {
                if pick < weight {
                    op = candidate;
                    break;
                }
                pick -= weight;
            }
            let mut flow = self.op(op, client, ctx, &mut rng, &mut report)?;
            if matches!(flow, Flow::Impossible) {
                flow = self.op(Op::Enroll, client, ctx, &mut rng, &mut report)?;
            }
            if matches!(flow, Flow::Stop) {
                break;
            }
        }
        Ok(report)
    }

    fn op(
        &mut self,
        op: Op,
        client: &Client<'_>,
        ctx: &LoadContext<'_>,
        rng: &mut StdRng,
        report: &mut LoadReport,
    ) -> Result<Flow> {
        match op {
            Op::Enroll => self.enroll(client, ctx, rng, report),
            Op::Name => self.rename(client, ctx, rng, report),
            Op::Vote => self.vote(client, ctx, rng, report),
            Op::Promote => self.promote(client, ctx, rng, report),
            Op::Revoke => self.revoke(client, ctx, rng, report),
            Op::Appeal => self.appeal(client, ctx, rng, report),
        }
    }

    /// A random person of this client among those `fits` accepts.
    fn pick(&self, rng: &mut StdRng, fits: impl Fn(&Person) -> bool) -> Option<usize> {
        let candidates: Vec<usize> = (0..self.people.len()).filter(|&i| fits(&self.people[i])).collect();
        (!candidates.is_empty()).then(|| candidates[rng.gen_range(0..candidates.len())])
    }

    /// The next step of this client's enrollment in flight (verify, vouch,
    /// complete), or the start of a new one.
    fn enroll(
        &mut self,
        client: &Client<'_>,
        ctx: &LoadContext<'_>,
        rng: &mut StdRng,
        report: &mut LoadReport,
    ) -> Result<Flow> {
        let Some(i) = self.people.iter().position(|p| matches!(p.standing, Standing::Enrolling { .. })) else {
            return self.start(client, ctx, rng, report);
        };
        let person = &mut self.people[i];
        person.touched = true;
        let Standing::Enrolling { enrollment_id, code, level } = person.standing.clone() else {
            return Ok(Flow::Impossible);
        };
        let base = format!("/v1/enrollments/{enrollment_id}");
        let steward = &ctx.commons.stewards[person.steward];
        let (write, path, reply) = match level {
            0 => {
                let path = format!("{base}/verify");
                let payload = json!({"verification_code": code});
                let reply = client.signed("POST", &path, &person.key, "enroll-verify", &enrollment_id, &payload)?;
                (Write::Verify, path, reply)
            }
            1 => {
                let path = format!("{base}/vouch");
                let payload = json!({"person_did": person.did});
                let reply = client.signed("POST", &path, &steward.key, "enroll-vouch", &enrollment_id, &payload)?;
                (Write::Vouch, path, reply)
            }
            _ => {
                let path = format!("{base}/complete");
                let reply = client.signed("POST", &path, &person.key, "enroll-complete", &enrollment_id, &json!({}))?;
                (Write::Complete, path, reply)
            }
        };
        let want = if write == Write::Complete { 201 } else { 200 };
        match settle(ctx, report, write.kind(), &format!("POST {path}"), reply, want) {
            Outcome::Acked(body) => {
                if write == Write::Complete {
                    let anchor_id = string_field(&body, "anchor_id", &format!("POST {path}"))?;
                    person.anchor_id = anchor_id;
                    person.standing = Standing::Provisional;
                    report.completions[person.steward] += 1;
                } else {
                    person.standing = Standing::Enrolling { enrollment_id, code, level: level + 1 };
                }
                Ok(Flow::Go)
            }
            Outcome::Refused => Ok(Flow::Go),
            Outcome::Unknown => {
                person.pending = Some(write);
                Ok(Flow::Stop)
            }
            Outcome::NotSent => Ok(Flow::Stop),
        }
    }

    /// Starts an enrollment in the cooperative for a fresh key (public).
    fn start(
        &mut self,
        client: &Client<'_>,
        ctx: &LoadContext<'_>,
        rng: &mut StdRng,
        report: &mut LoadReport,
    ) -> Result<Flow> {
        self.sent += 1;
        let name = format!("Soak person {}-{}", self.index + 1, self.sent);
        let body = json!({"identity_name": name, "domain_id": ctx.commons.domain_id});
        let reply = client.request("POST", "/v1/enrollments", Some(&body), false)?;
        match settle(ctx, report, Kind::Start, "POST /v1/enrollments", reply, 201) {
            Outcome::Acked(session) => {
                let context = "POST /v1/enrollments";
                let enrollment_id = string_field(&session, "enrollment_id", context)?;
                let code = string_field(&session, "verification_code", context)?;
                let steward = rng.gen_range(0..ctx.commons.stewards.len());
                self.people.push(Person::enrolling(Principal::generate(), enrollment_id, code, steward));
                Ok(Flow::Go)
            }
            Outcome::Refused => Ok(Flow::Go),
            // A session whose id never came back cannot be continued or
            // looked up; it expires by itself.
            Outcome::Unknown | Outcome::NotSent => Ok(Flow::Stop),
        }
    }

    /// An enrolled person sets a new display name (signed `holder-update`).
    fn rename(
        &mut self,
        client: &Client<'_>,
        ctx: &LoadContext<'_>,
        rng: &mut StdRng,
        report: &mut LoadReport,
    ) -> Result<Flow> {
        let Some(i) = self.pick(rng, Person::enrolled) else { return Ok(Flow::Impossible) };
        self.sent += 1;
        let name = format!("c{} w{} n{}", ctx.cycle, self.index + 1, self.sent);
        let person = &mut self.people[i];
        person.touched = true;
        let path = format!("/v1/holders/{}", person.anchor_id);
        let payload = json!({"display_name": name});
        let reply = client.signed("PATCH", &path, &person.key, "holder-update", &person.anchor_id, &payload)?;
        match settle(ctx, report, Kind::Name, &format!("PATCH {path}"), reply, 200) {
            Outcome::Acked(holder) => {
                if holder["display_name"] != name.as_str() {
                    report.problems.push(format!("PATCH {path}: answered display_name {}", holder["display_name"]));
                }
                person.display_name = Some(name);
                Ok(Flow::Go)
            }
            Outcome::Refused => Ok(Flow::Go),
            Outcome::Unknown => {
                person.pending = Some(Write::Name(name));
                Ok(Flow::Stop)
            }
            Outcome::NotSent => Ok(Flow::Stop),
        }
    }

    /// The operator promotes a Provisional member to Member.
    fn promote(
        &mut self,
        client: &Client<'_>,
        ctx: &LoadContext<'_>,
        rng: &mut StdRng,
        report: &mut LoadReport,
    ) -> Result<Flow> {
        let Some(i) = self.pick(rng, |p| p.standing == Standing::Provisional) else { return Ok(Flow::Impossible) };
        let person = &mut self.people[i];
        person.touched = true;
        let path = format!("/v1/holders/{}/affiliations/{}/promote", person.anchor_id, ctx.commons.domain_id);
        let reply = client.request("POST", &path, Some(&json!({})), true)?;
        match settle(ctx, report, Kind::Promote, &format!("POST {path}"), reply, 200) {
            Outcome::Acked(_) => {
                person.standing = Standing::Member;
                Ok(Flow::Go)
            }
            Outcome::Refused => Ok(Flow::Go),
            Outcome::Unknown => {
                person.pending = Some(Write::Promote);
                Ok(Flow::Stop)
            }
            Outcome::NotSent => Ok(Flow::Stop),
        }
    }

    /// The operator revokes a Member's membership: immediate (Banned) one
    /// time in four, otherwise Suspended until an appeal or the deadline.
    fn revoke(
        &mut self,
        client: &Client<'_>,
        ctx: &LoadContext<'_>,
        rng: &mut StdRng,
        report: &mut LoadReport,
    ) -> Result<Flow> {
        let members = self.people.iter().filter(|p| p.standing == Standing::Member).count();
        if members <= MEMBERS_KEPT {
            return Ok(Flow::Impossible);
        }
        let Some(i) = self.pick(rng, |p| p.standing == Standing::Member) else { return Ok(Flow::Impossible) };
        let immediate = rng.gen_ratio(1, 4);
        let person = &mut self.people[i];
        person.touched = true;
        let body = json!({
            "target": {"kind": "Membership", "holder_id": person.anchor_id, "jurisdiction": ctx.commons.domain_id},
            "reason": {"kind": "PolicyViolation"},
            "immediate": immediate,
        });
        let reply = client.request("POST", "/v1/revocations", Some(&body), true)?;
        match settle(ctx, report, Kind::Revoke, "POST /v1/revocations", reply, 201) {
            Outcome::Acked(record) => {
                let revocation_id = string_field(&record, "revocation_id", "POST /v1/revocations")?;
                person.revocations.push(Revocation { revocation_id, immediate, appeal: RevocationAppeal::None });
                person.standing = if immediate { Standing::Banned } else { Standing::Suspended };
                Ok(Flow::Go)
            }
            Outcome::Refused => Ok(Flow::Go),
            Outcome::Unknown => {
                person.pending = Some(Write::Revoke { immediate });
                Ok(Flow::Stop)
            }
            Outcome::NotSent => Ok(Flow::Stop),
        }
    }

    /// The next step of a suspended member's appeal: the member files it
    /// (signed; the revocation goes Pending), the operator reviews it, then
    /// resolves it Upheld (revocation Upheld, the member back to Member).
    fn appeal(
        &mut self,
        client: &Client<'_>,
        ctx: &LoadContext<'_>,
        rng: &mut StdRng,
        report: &mut LoadReport,
    ) -> Result<Flow> {
        let Some(i) = self.pick(rng, |p| p.standing == Standing::Suspended) else { return Ok(Flow::Impossible) };
        let person = &mut self.people[i];
        person.touched = true;
        let Some(revocation) = person.revocations.last().cloned() else { return Ok(Flow::Impossible) };
        let pending_appeal = match &revocation.appeal {
            RevocationAppeal::Pending(appeal_id) => person.appeals.iter().find(|a| &a.appeal_id == appeal_id).cloned(),
            RevocationAppeal::None | RevocationAppeal::Upheld => None,
        };
        let Some(appeal) = pending_appeal else {
            let revocation_id = revocation.revocation_id;
            let payload = json!({
                "kind": {"kind": "Revocation", "revocation_id": revocation_id},
                "grounds": "The violation was another member's, recorded against me by mistake.",
                "statement": "The minutes of the meeting show who said what.",
                "requested_remedy": {"kind": "Reinstate"},
            });
            let reply = client.signed("POST", "/v1/appeals", &person.key, "appeal-file", "-", &payload)?;
            return Ok(match settle(ctx, report, Kind::FileAppeal, "POST /v1/appeals", reply, 201) {
                Outcome::Acked(record) => {
                    let appeal_id = string_field(&record, "appeal_id", "POST /v1/appeals")?;
                    if let Some(last) = person.revocations.last_mut() {
                        last.appeal = RevocationAppeal::Pending(appeal_id.clone());
                    }
                    person.appeals.push(Appeal { appeal_id, revocation_id, status: AppealStatus::Filed });
                    Flow::Go
                }
                Outcome::Refused => Flow::Go,
                Outcome::Unknown => {
                    person.pending = Some(Write::FileAppeal { revocation_id });
                    Flow::Stop
                }
                Outcome::NotSent => Flow::Stop,
            });
        };
        let appeal_id = appeal.appeal_id;
        let (kind, path, body) = match appeal.status {
            AppealStatus::Filed => (Kind::Review, format!("/v1/appeals/{appeal_id}/review"), json!({})),
            AppealStatus::UnderReview => (
                Kind::Resolve,
                format!("/v1/appeals/{appeal_id}/resolve"),
                json!({"outcome": "Upheld", "notes": "The minutes bear the appellant out."}),
            ),
            AppealStatus::Upheld => return Ok(Flow::Impossible),
        };
        let reply = client.request("POST", &path, Some(&body), true)?;
        Ok(match settle(ctx, report, kind, &format!("POST {path}"), reply, 200) {
            Outcome::Acked(_) => {
                let upheld = kind == Kind::Resolve;
                if let Some(appeal) = person.appeals.iter_mut().find(|a| a.appeal_id == appeal_id) {
                    appeal.status = if upheld { AppealStatus::Upheld } else { AppealStatus::UnderReview };
                }
                if upheld {
                    if let Some(last) = person.revocations.last_mut() {
                        last.appeal = RevocationAppeal::Upheld;
                    }
                    person.standing = Standing::Member;
                }
                Flow::Go
            }
            Outcome::Refused => Flow::Go,
            Outcome::Unknown => {
                person.pending = Some(if kind == Kind::Resolve {
                    Write::Resolve { appeal_id }
                } else {
                    Write::Review { appeal_id }
                });
                Flow::Stop
            }
            Outcome::NotSent => Flow::Stop,
        })
    }

    /// A Member who has not voted on the amendment open for voting votes
    /// (signed; three in four approve). With no amendment open, with
    /// [`MOST_VOTES`] votes in, or once every Member of this client voted
    /// and [`CLOSE_AFTER_VOTES`] are in, the client moves the pipeline on
    /// ([`Worker::advance_ballot`]).
    fn vote(
        &mut self,
        client: &Client<'_>,
        ctx: &LoadContext<'_>,
        rng: &mut StdRng,
        report: &mut LoadReport,
    ) -> Result<Flow> {
        let ballot = ctx.ballot.ballot.read().map_err(|_| anyhow!("the ballot lock is poisoned"))?;
        let Some((index, amendment_id)) = ballot.voting() else {
            drop(ballot);
            return self.advance_ballot(client, ctx, report, None);
        };
        let amendment_id = amendment_id.to_string();
        if ctx.ballot.votes_on_current.load(Ordering::SeqCst) >= MOST_VOTES {
            drop(ballot);
            return self.advance_ballot(client, ctx, report, Some(index));
        }
        let fits = |p: &Person| p.standing == Standing::Member && p.voted_on.as_deref() != Some(amendment_id.as_str());
        let Some(i) = self.pick(rng, fits) else {
            let enough = ctx.ballot.votes_on_current.load(Ordering::SeqCst) >= CLOSE_AFTER_VOTES;
            drop(ballot);
            return if enough { self.advance_ballot(client, ctx, report, Some(index)) } else { Ok(Flow::Impossible) };
        };
        let approve = rng.gen_ratio(3, 4);
        let person = &mut self.people[i];
        person.touched = true;
        person.voted_on = Some(amendment_id.clone());
        let path = format!("/v1/amendments/{amendment_id}/votes");
        let reply = client.signed("POST", &path, &person.key, "vote", &amendment_id, &json!({"approve": approve}))?;
        let vote = |known| Vote { voter_did: person.did.clone(), approve, known };
        let flow = match settle(ctx, report, Kind::Vote, &format!("POST {path}"), reply, 201) {
            Outcome::Acked(_) => {
                report.votes.push((index, vote(true)));
                ctx.ballot.votes_on_current.fetch_add(1, Ordering::SeqCst);
                Flow::Go
            }
            Outcome::Refused => Flow::Go,
            Outcome::Unknown => {
                report.votes.push((index, vote(false)));
                Flow::Stop
            }
            Outcome::NotSent => Flow::Stop,
        };
        drop(ballot);
        Ok(flow)
    }

    /// Moves the amendment pipeline on, under the ballot's write lock: closes
    /// the amendment at `close` (if it is still the one open for voting),
    /// then proposes, submits and opens the next one for voting. With
    /// `close` `None`, only when no amendment is open for voting (another
    /// client may have moved it on meanwhile).
    fn advance_ballot(
        &mut self,
        client: &Client<'_>,
        ctx: &LoadContext<'_>,
        report: &mut LoadReport,
        close: Option<usize>,
    ) -> Result<Flow> {
        let mut ballot = ctx.ballot.ballot.write().map_err(|_| anyhow!("the ballot lock is poisoned"))?;
        let open = ballot.voting().map(|(index, _)| index);
        if open.is_some() && open != close {
            return Ok(Flow::Go);
        }
        let commons = ctx.commons;
        loop {
            let current = ballot.current.and_then(|index| ballot.amendments.get(index).map(|a| (index, a)));
            let (step, path, reply) = match current {
                None => {
                    self.sent += 1;
                    let payload = json!({
                        "charter_id": commons.charter_id,
                        "title": format!("Opening hours, round {}", ballot.amendments.len() + 1),
                        "description": "Which days the cooperative's shop opens.",
                        "changes": [{"target": "hours", "change": "Modify", "new_value": format!("rota {}", self.sent)}],
                    });
                    let key = &commons.proposer.key;
                    let path = "/v1/amendments".to_string();
                    let reply = client.signed("POST", &path, key, "amendment-propose", "-", &payload)?;
                    (Step::Propose, path, reply)
                }
                Some((index, amendment)) => {
                    let id = amendment.amendment_id.clone();
                    match amendment.status {
                        AmendmentStatus::Draft => {
                            let path = format!("/v1/amendments/{id}/submit");
                            let key = &commons.proposer.key;
                            let reply = client.signed("POST", &path, key, "amendment-submit", &id, &json!({}))?;
                            (Step::Submit(index), path, reply)
                        }
                        AmendmentStatus::Submitted => {
                            let path = format!("/v1/amendments/{id}/open-voting");
                            let key = &commons.stewards[0].key;
                            let reply = client.signed("POST", &path, key, "amendment-open-voting", &id, &json!({}))?;
                            (Step::OpenVoting(index), path, reply)
                        }
                        AmendmentStatus::Voting if close == Some(index) => {
                            let path = format!("/v1/amendments/{id}/close");
                            let reply = client.request("POST", &path, Some(&json!({})), true)?;
                            (Step::Close(index), path, reply)
                        }
                        AmendmentStatus::Voting | AmendmentStatus::Closed(_) => return Ok(Flow::Go),
                    }
                }
            };
            let (kind, want) = match step {
                Step::Propose => (Kind::Propose, 201),
                Step::Submit(_) => (Kind::Submit, 200),
                Step::OpenVoting(_) => (Kind::OpenVoting, 200),
                Step::Close(_) => (Kind::Close, 200),
            };
            let body = match settle(ctx, report, kind, &format!("POST {path}"), reply, want) {
                Outcome::Acked(body) => body,
                Outcome::Refused => return Ok(Flow::Go),
                Outcome::Unknown => {
                    ballot.pending = Some(step);
                    return Ok(Flow::Stop);
                }
                Outcome::NotSent => return Ok(Flow::Stop),
            };
            match step {
                Step::Propose => {
                    let amendment_id = string_field(&body, "amendment_id", "POST /v1/amendments")?;
                    ballot.amendments.push(Amendment::draft(amendment_id));
                    ballot.current = Some(ballot.amendments.len() - 1);
                }
                Step::Submit(index) | Step::OpenVoting(index) | Step::Close(index) => {
                    let Some(amendment) = ballot.amendments.get_mut(index) else { return Ok(Flow::Go) };
                    amendment.touched = true;
                    match step {
                        Step::Submit(_) => amendment.status = AmendmentStatus::Submitted,
                        Step::OpenVoting(_) => {
                            amendment.status = AmendmentStatus::Voting;
                            ctx.ballot.votes_on_current.store(0, Ordering::SeqCst);
                            return Ok(Flow::Go);
                        }
                        _ => {
                            let kind = body["status"]["kind"].as_str().unwrap_or("?").to_string();
                            let tally = &body["tally"];
                            amendment.closed_with =
                                tally["votes"].as_u64().zip(tally["uncounted"].as_u64()).map(|(v, u)| v + u);
                            if amendment.closed_with.is_none() || !matches!(kind.as_str(), "Ratified" | "Rejected") {
                                report.problems.push(format!("POST {path}: status {kind}, tally {tally}"));
                            }
                            amendment.status = AmendmentStatus::Closed(kind);
                            ballot.current = None;
                        }
                    }
                }
            }
        }
    }
}

/// Sorts one reply: the wanted status is acknowledged (counted in the
/// report); another status is a refusal (noted as a problem); no answer is
/// unknown (counted) and, like a request that never left, ends the client's
/// load. Either is a problem too when the stop flag was not yet set (the
/// server should have been up).
fn settle(ctx: &LoadContext<'_>, report: &mut LoadReport, kind: Kind, route: &str, reply: Reply, want: u16) -> Outcome {
    match reply {
        Reply::Answered(status, body) if status == want => {
            report.acknowledged.count(kind);
            Outcome::Acked(body)
        }
        Reply::Answered(status, body) => {
            report.problems.push(format!("{route}: expected {want}, got {status}: {body}"));
            Outcome::Refused
        }
        Reply::NoAnswer(error) => {
            report.unknown += 1;
            if !ctx.stop.load(Ordering::SeqCst) {
                report.problems.push(format!("{route}: no answer while the server should be up: {error}"));
            }
            Outcome::Unknown
        }
        Reply::NotSent(error) => {
            if !ctx.stop.load(Ordering::SeqCst) {
                report
                    .problems
                    .push(format!("{route}: the server could not be reached while it should be up: {error}"));
            }
            Outcome::NotSent
        }
    }
}
