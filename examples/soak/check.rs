//! The check after each restart, over HTTP only: every acknowledged write
//! must be found, and every write whose answer never came must turn out
//! wholly applied or wholly absent; the model then takes what the server
//! kept, so the next cycle goes on from there.
//!
//! Per person (in parallel, one thread per client, each over its own
//! people): an enrollment in flight is its session at the acknowledged
//! level (one more for an unknown verify or vouch) and no anchor; an
//! unknown completion is either the session gone with the anchor, holder
//! and affiliation there, or the session still at level 2 and no anchor. An
//! enrolled person is an Active anchor, a holder with the last acknowledged
//! display name (or the unknown one), one affiliation in the cooperative in
//! the acknowledged status with its capabilities, and, once revoked or
//! appealing, exactly the acknowledged revocations and appeals with their
//! statuses. An unknown write is judged by its first mark (the new name, the
//! new revocation or appeal, the appeal's new status); every other
//! difference then counts: on a record the unknown write touches, as
//! half-applied; elsewhere, as a lost write.
//!
//! Then the amendments (status, and every vote: acknowledged ones present
//! with their choice, unknown ones present or absent, none that nobody
//! sent, and a closed amendment's votes as many as its close counted), and
//! the stewards' `attestations_issued` (the completions they vouched). The
//! people checked are those written to since the last check, plus a few
//! others drawn at random; the final check reads everyone, and walks the
//! cooperative's members list.

use std::collections::{HashMap, HashSet};
use std::thread;

use anyhow::{anyhow, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::client::{string_field, Client};
use crate::load::Worker;
use crate::model::{
    Amendment, AmendmentStatus, Appeal, AppealStatus, Ballot, Commons, Kind, Person, Revocation, RevocationAppeal,
    Standing, Step, Write,
};
use crate::server::{Server, Stage};

/// People each client re-reads after a restart besides those written to
/// since the last check (drawn at random among its enrolled people).
const SAMPLE_PER_CLIENT: usize = 4;
/// Page size of the list walks.
const PAGE: usize = 100;
/// Most pages read from one list before the check gives up on it.
const MAX_PAGES: usize = 1000;
/// The capabilities of every affiliation but a Banned one: what a vouched
/// enrollment grants, kept by promotion and suspension, restored by an
/// upheld appeal.
const CAPABILITIES: &str = "Transact+Vote";

/// Which people a check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Those written to since the last check, and a sample of the others.
    Touched,
    /// Everyone and every amendment, and the members list.
    Everything,
}

/// What a check found.
#[derive(Debug, Default)]
pub struct Findings {
    /// Acknowledged writes whose effect was not found.
    pub lost: u64,
    /// Unknown writes found half applied.
    pub torn: u64,
    /// Unknown writes found applied.
    pub applied: u64,
    /// Unknown writes found absent.
    pub absent: u64,
    /// Every difference, as a sentence (lost and half-applied writes
    /// included).
    pub problems: Vec<String>,
    /// Unknown enrollment completions found applied, by steward.
    pub completions: [u64; 2],
    /// People read.
    pub people: u64,
}

impl Findings {
    fn lost(&mut self, problem: String) {
        self.lost += 1;
        self.problems.push(format!("LOST {problem}"));
    }

    fn torn(&mut self, problem: String) {
        self.torn += 1;
        self.problems.push(format!("HALF-APPLIED {problem}"));
    }

    fn problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    fn settled(&mut self, applied: bool) {
        if applied {
            self.applied += 1;
        } else {
            self.absent += 1;
        }
    }

    fn merge(&mut self, other: Findings) {
        self.lost += other.lost;
        self.torn += other.torn;
        self.applied += other.applied;
        self.absent += other.absent;
        self.problems.extend(other.problems);
        for (mine, theirs) in self.completions.iter_mut().zip(other.completions) {
            *mine += theirs;
        }
        self.people += other.people;
    }
}

/// Checks the people of every worker (one thread per worker, the sample
/// drawn from `seed`), then the ballot and the stewards. `attested` is what
/// each steward's `attestations_issued` must be before unknown completions;
/// those found applied are added to it.
#[allow(clippy::too_many_arguments)]
pub fn after_restart(
    stage: &Stage<'_>,
    server: &Server,
    workers: &mut [Worker],
    commons: &Commons,
    ballot: &mut Ballot,
    attested: &mut [u64; 2],
    scope: Scope,
    seed: u64,
) -> Result<Findings> {
    let mut findings = Findings::default();
    let per_worker: Vec<Result<Findings>> = thread::scope(|threads| {
        let handles: Vec<_> = workers
            .iter_mut()
            .map(|worker| {
                let client = stage.client(&[server]);
                let seed = seed ^ (worker.index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                threads.spawn(move || check_worker(&client, commons, worker, scope, seed))
            })
            .collect();
        handles.into_iter().map(|h| h.join().map_err(|_| anyhow!("a check thread panicked"))?).collect()
    });
    for found in per_worker {
        findings.merge(found?);
    }
    let client = stage.client(&[server]);
    check_ballot(&client, commons, ballot, scope, &mut findings)?;
    for (expected, applied) in attested.iter_mut().zip(findings.completions) {
        *expected += applied;
    }
    check_stewards(&client, commons, attested, &mut findings)?;
    if scope == Scope::Everything {
        check_members(&client, commons, workers, &mut findings)?;
    }
    Ok(findings)
}

/// Checks one worker's people (see the module docs); people whose records
/// turned out lost or half-applied leave the model (the problem is
/// reported), so later cycles do not build on them.
fn check_worker(
    client: &Client<'_>,
    commons: &Commons,
    worker: &mut Worker,
    scope: Scope,
    seed: u64,
) -> Result<Findings> {
    let mut checker = Checker { client, commons, findings: Findings::default() };
    let mut rng = StdRng::seed_from_u64(seed);
    let others: Vec<usize> =
        (0..worker.people.len()).filter(|&i| !worker.people[i].touched && worker.people[i].enrolled()).collect();
    let mut sample = HashSet::new();
    for _ in 0..SAMPLE_PER_CLIENT.min(others.len()) {
        sample.insert(others[rng.gen_range(0..others.len())]);
    }
    let mut keep = vec![true; worker.people.len()];
    for (i, person) in worker.people.iter_mut().enumerate() {
        if scope == Scope::Touched && !person.touched && person.pending.is_none() && !sample.contains(&i) {
            continue;
        }
        checker.findings.people += 1;
        keep[i] = checker.person(person)?;
        person.touched = false;
    }
    let mut keep = keep.into_iter();
    worker.people.retain(|_| keep.next().unwrap_or(true));
    Ok(checker.findings)
}

/// Reads one client's people back.
struct Checker<'a> {
    client: &'a Client<'a>,
    commons: &'a Commons,
    findings: Findings,
}

impl Checker<'_> {
    /// Checks one person and settles their unknown write; false when the
    /// person's records are not as the model says (reported).
    fn person(&mut self, person: &mut Person) -> Result<bool> {
        let pending = person.pending.take();
        if let Standing::Enrolling { .. } = person.standing {
            if !self.enrolling(person, pending.as_ref())? {
                return Ok(false);
            }
            if !person.enrolled() {
                return Ok(true);
            }
            // The unknown completion was applied: the rest must be there.
            return self.enrolled(person, None);
        }
        self.enrolled(person, pending)
    }

    /// A person whose enrollment is in flight (see the module docs).
    fn enrolling(&mut self, person: &mut Person, pending: Option<&Write>) -> Result<bool> {
        let Standing::Enrolling { enrollment_id, code, level } = person.standing.clone() else { return Ok(true) };
        let who = format!("enrollment {enrollment_id} of {}", person.did);
        let (session_status, session) = self.client.get(&format!("/v1/enrollments/{enrollment_id}"))?;
        let (anchor_status, anchor) = self.client.get(&format!("/v1/anchors/by-did/{}", person.did))?;
        if pending == Some(&Write::Complete) {
            match (session_status, anchor_status) {
                (404, 200) => {
                    person.anchor_id = string_field(&anchor, "anchor_id", &format!("GET anchor of {}", person.did))?;
                    person.standing = Standing::Provisional;
                    self.findings.completions[person.steward] += 1;
                    self.findings.settled(true);
                    return Ok(true);
                }
                (200, 404) => self.findings.settled(false),
                (404, 404) => {
                    self.findings
                        .torn(format!("{who}: the session is gone but there is no anchor (unknown completion)"));
                    return Ok(false);
                }
                (200, 200) => {
                    self.findings.torn(format!("{who}: an anchor exists but the session is still there: {anchor}"));
                    return Ok(false);
                }
                (session, anchor) => {
                    self.findings
                        .problem(format!("{who}: GET of the session answered {session}, of the anchor {anchor}"));
                    return Ok(false);
                }
            }
        } else if anchor_status != 404 {
            self.findings
                .problem(format!("{who}: an anchor exists though no completion was sent: {anchor_status} {anchor}"));
            return Ok(false);
        }
        if session_status != 200 {
            self.findings
                .lost(format!("{who}: the acknowledged session (level {level}) is gone: {session_status} {session}"));
            return Ok(false);
        }
        let step = matches!(pending, Some(Write::Verify | Write::Vouch));
        let found = session["level"].as_u64();
        let level = match found {
            Some(found) if found == u64::from(level) => {
                if step {
                    self.findings.settled(false);
                }
                level
            }
            Some(found) if step && found == u64::from(level) + 1 => {
                self.findings.settled(true);
                person.standing = Standing::Enrolling { enrollment_id, code, level: level + 1 };
                level + 1
            }
            Some(found) if found < u64::from(level) => {
                self.findings.lost(format!("{who}: acknowledged level {level}, found level {found}"));
                return Ok(false);
            }
            _ => {
                self.findings.problem(format!("{who}: level {level} acknowledged, the session reads {session}"));
                return Ok(false);
            }
        };
        let bound = if level >= 1 { Value::from(person.did.as_str()) } else { Value::Null };
        let steward = &self.commons.stewards[person.steward].did;
        let vouched = if level >= 2 { Value::from(steward.as_str()) } else { Value::Null };
        if session["person_did"] != bound || session["vouch"]["steward_did"] != vouched {
            let problem = format!("{who}: at level {level} the session reads {session}");
            if step {
                self.findings.torn(problem);
            } else {
                self.findings.lost(problem);
            }
            return Ok(false);
        }
        Ok(true)
    }

    /// An enrolled person (see the module docs); settles `pending`.
    fn enrolled(&mut self, person: &mut Person, pending: Option<Write>) -> Result<bool> {
        let domain = &self.commons.domain_id;
        let who = format!("holder {} ({})", person.anchor_id, person.did);
        let (status, holder) = self.client.get(&format!("/v1/holders/{}", person.anchor_id))?;
        if status != 200 || holder["did"] != person.did.as_str() {
            self.findings.lost(format!("{who}: the enrolled holder reads {status} {holder}"));
            return Ok(false);
        }
        let (status, anchor) = self.client.get(&format!("/v1/anchors/{}", person.anchor_id))?;
        if status != 200 || anchor["did"] != person.did.as_str() || anchor["status"]["kind"] != "Active" {
            self.findings.lost(format!("{who}: the Active anchor of an enrolled holder reads {status} {anchor}"));
            return Ok(false);
        }
        let revocations = if !person.revocations.is_empty() || matches!(pending, Some(Write::Revoke { .. })) {
            let path = format!("/v1/revocations?target=membership:{}:{domain}", person.anchor_id);
            Some(self.list(&path)?)
        } else {
            None
        };
        let appeals = if !person.appeals.is_empty() || matches!(pending, Some(Write::FileAppeal { .. })) {
            Some(self.list(&format!("/v1/appeals?appellant={}", person.did))?)
        } else {
            None
        };
        let (Ok(revocations), Ok(appeals)) = (revocations.transpose(), appeals.transpose()) else {
            self.findings.problem(format!("{who}: its revocations or appeals could not be listed"));
            return Ok(false);
        };
        let affiliation = affiliation(&holder, domain);

        if let Some(write) = &pending {
            let known_revocations: Vec<&str> = person.revocations.iter().map(|r| r.revocation_id.as_str()).collect();
            let known_appeals: Vec<&str> = person.appeals.iter().map(|a| a.appeal_id.as_str()).collect();
            let new_revocation =
                revocations.as_deref().and_then(|items| new_id(items, "revocation_id", &known_revocations));
            let new_appeal = appeals.as_deref().and_then(|items| new_id(items, "appeal_id", &known_appeals));
            let appeal_kind = |id: &str| {
                appeals.as_deref().and_then(|items| items.iter().find(|a| a["appeal_id"] == id)).map(describe_appeal)
            };
            let applied = match write {
                Write::Name(name) => holder["display_name"] == name.as_str(),
                Write::Promote => affiliation.starts_with("Member "),
                Write::Revoke { .. } => new_revocation.is_some(),
                Write::FileAppeal { .. } => new_appeal.is_some(),
                Write::Review { appeal_id } => appeal_kind(appeal_id).is_some_and(|d| d.ends_with(" UnderReview")),
                Write::Resolve { appeal_id } => appeal_kind(appeal_id).is_some_and(|d| d.contains(" Resolved")),
                Write::Verify | Write::Vouch | Write::Complete => {
                    self.findings.problem(format!("{who}: an enrollment step was in flight for an enrolled person"));
                    return Ok(false);
                }
            };
            self.findings.settled(applied);
            if applied {
                apply(person, write, new_revocation, new_appeal);
            }
        }

        let touches = |kinds: &[Kind]| pending.as_ref().is_some_and(|write| kinds.contains(&write.kind()));
        let mut clean = true;
        let name = person.display_name.clone().map_or(Value::Null, Value::from);
        clean &= self.compare(
            &who,
            "display name",
            &name.to_string(),
            &holder["display_name"].to_string(),
            touches(&[Kind::Name]),
        );
        let expected = match person.standing.affiliation() {
            Some("Banned") => "Banned none".to_string(),
            Some(status) => format!("{status} {CAPABILITIES}"),
            None => "no affiliation".to_string(),
        };
        clean &= self.compare(
            &who,
            "affiliation",
            &expected,
            &affiliation,
            touches(&[Kind::Promote, Kind::Revoke, Kind::Resolve]),
        );
        if let Some(items) = &revocations {
            let expected: Vec<String> = person.revocations.iter().map(Revocation::describe).collect();
            let found: Vec<String> = items.iter().map(describe_revocation).collect();
            let touched = touches(&[Kind::Revoke, Kind::FileAppeal, Kind::Resolve]);
            clean &= self.compare(&who, "revocations", &expected.join("; "), &found.join("; "), touched);
        }
        if let Some(items) = &appeals {
            let expected: Vec<String> = person.appeals.iter().map(Appeal::describe).collect();
            let found: Vec<String> = items.iter().map(describe_appeal).collect();
            let touched = touches(&[Kind::FileAppeal, Kind::Review, Kind::Resolve]);
            clean &= self.compare(&who, "appeals", &expected.join("; "), &found.join("; "), touched);
        }
        Ok(clean)
    }

    /// True when `expected` and `found` agree; otherwise a half-applied
    /// write when an unknown write touches `aspect`, else a lost one.
    fn compare(&mut self, who: &str, aspect: &str, expected: &str, found: &str, touched: bool) -> bool {
        if expected == found {
            return true;
        }
        let problem = format!("{who}: {aspect}: expected {expected}, found {found}");
        if touched {
            self.findings.torn(problem);
        } else {
            self.findings.lost(problem);
        }
        false
    }

    /// Every item of a list (see [`walk`]).
    fn list(&self, path: &str) -> Result<std::result::Result<Vec<Value>, String>> {
        walk(self.client, path)
    }
}

/// Every item of a paged list at `path` (with or without a query),
/// following `next_cursor`; `Err` with the answer when a page is not 200.
fn walk(client: &Client<'_>, path: &str) -> Result<std::result::Result<Vec<Value>, String>> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let separator = if path.contains('?') { '&' } else { '?' };
    for _ in 0..MAX_PAGES {
        let mut page_path = format!("{path}{separator}limit={PAGE}");
        if let Some(cursor) = &cursor {
            page_path.push_str(&format!("&cursor={cursor}"));
        }
        let (status, page) = client.get(&page_path)?;
        if status != 200 {
            return Ok(Err(format!("GET {page_path}: {status} {page}")));
        }
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return Ok(Ok(items)),
        }
    }
    Ok(Err(format!("GET {path}: more than {MAX_PAGES} pages")))
}

/// The id (`field`) of the one item of `items` not among `known`, if any.
fn new_id(items: &[Value], field: &str, known: &[&str]) -> Option<String> {
    items.iter().filter_map(|item| item[field].as_str()).find(|id| !known.contains(id)).map(str::to_string)
}

/// Writes an unknown write's effect into the model, once found applied;
/// `new_revocation` and `new_appeal` are the ids the server gave the
/// records it created.
fn apply(person: &mut Person, write: &Write, new_revocation: Option<String>, new_appeal: Option<String>) {
    match write {
        Write::Name(name) => person.display_name = Some(name.clone()),
        Write::Promote => person.standing = Standing::Member,
        Write::Revoke { immediate } => {
            if let Some(revocation_id) = new_revocation {
                let appeal = RevocationAppeal::None;
                person.revocations.push(Revocation { revocation_id, immediate: *immediate, appeal });
                person.standing = if *immediate { Standing::Banned } else { Standing::Suspended };
            }
        }
        Write::FileAppeal { revocation_id } => {
            if let Some(appeal_id) = new_appeal {
                if let Some(revocation) = person.revocations.iter_mut().find(|r| &r.revocation_id == revocation_id) {
                    revocation.appeal = RevocationAppeal::Pending(appeal_id.clone());
                }
                let revocation_id = revocation_id.clone();
                person.appeals.push(Appeal { appeal_id, revocation_id, status: AppealStatus::Filed });
            }
        }
        Write::Review { appeal_id } | Write::Resolve { appeal_id } => {
            let resolve = matches!(write, Write::Resolve { .. });
            let Some(appeal) = person.appeals.iter_mut().find(|a| &a.appeal_id == appeal_id) else { return };
            appeal.status = if resolve { AppealStatus::Upheld } else { AppealStatus::UnderReview };
            if resolve {
                let revocation_id = appeal.revocation_id.clone();
                if let Some(revocation) = person.revocations.iter_mut().find(|r| r.revocation_id == revocation_id) {
                    revocation.appeal = RevocationAppeal::Upheld;
                }
                person.standing = Standing::Member;
            }
        }
        Write::Verify | Write::Vouch | Write::Complete => {}
    }
}

/// The holder's affiliation as the check compares it: `<status>
/// <capabilities>` (capabilities sorted, joined by `+`, or `none`) when it
/// has exactly one, in `domain`; otherwise what it has.
fn affiliation(holder: &Value, domain: &str) -> String {
    let list = holder["affiliations"].as_array().map_or(&[][..], Vec::as_slice);
    let [one] = list else { return format!("{} affiliations: {}", list.len(), holder["affiliations"]) };
    if one["jurisdiction"] != domain {
        return format!("an affiliation in {}", one["jurisdiction"]);
    }
    let mut capabilities: Vec<&str> =
        one["capabilities"].as_array().map_or(&[][..], Vec::as_slice).iter().filter_map(Value::as_str).collect();
    capabilities.sort_unstable();
    let capabilities = if capabilities.is_empty() { "none".to_string() } else { capabilities.join("+") };
    format!("{} {capabilities}", one["status"].as_str().unwrap_or("?"))
}

/// A listed revocation as [`Revocation::describe`] writes the model's.
fn describe_revocation(record: &Value) -> String {
    let appeal = &record["appeal_status"];
    let appeal = match appeal["kind"].as_str() {
        Some("Pending") => format!("Pending:{}", appeal["appeal_id"].as_str().unwrap_or("?")),
        Some(kind) => kind.to_string(),
        None => appeal.to_string(),
    };
    let id = record["revocation_id"].as_str().unwrap_or("?");
    format!("{id} immediate {} appeal {appeal}", record["immediate"])
}

/// A listed appeal as [`Appeal::describe`] writes the model's.
fn describe_appeal(record: &Value) -> String {
    let status = &record["status"];
    let kind = status["kind"].as_str().unwrap_or("?");
    let id = record["appeal_id"].as_str().unwrap_or("?");
    match status["outcome"].as_str() {
        Some(outcome) => format!("{id} {kind}:{outcome}"),
        None => format!("{id} {kind}"),
    }
}

/// The amendments: settles an unknown pipeline step, then reads back the
/// amendments changed since the last check (all of them for
/// [`Scope::Everything`]) and settles unknown votes.
fn check_ballot(
    client: &Client<'_>,
    commons: &Commons,
    ballot: &mut Ballot,
    scope: Scope,
    f: &mut Findings,
) -> Result<()> {
    let pending = ballot.pending.take();
    if pending == Some(Step::Propose) {
        let path = format!("/v1/amendments?charter_id={}&status=Draft", commons.charter_id);
        let drafts = match walk(client, &path)? {
            Ok(drafts) => drafts,
            Err(problem) => {
                f.problem(problem);
                return Ok(());
            }
        };
        let known: HashSet<&str> = ballot.amendments.iter().map(|a| a.amendment_id.as_str()).collect();
        let new: Vec<&Value> =
            drafts.iter().filter(|d| d["amendment_id"].as_str().is_some_and(|id| !known.contains(id))).collect();
        match new.as_slice() {
            [] => f.settled(false),
            [draft] if draft["proposer_did"] == commons.proposer.did.as_str() => {
                f.settled(true);
                let amendment_id = string_field(draft, "amendment_id", &format!("GET {path}"))?;
                ballot.amendments.push(Amendment::draft(amendment_id));
                ballot.current = Some(ballot.amendments.len() - 1);
            }
            drafts => {
                f.problem(format!("GET {path}: {} unknown Draft amendments, at most one was proposed", drafts.len()))
            }
        }
    }
    for (index, amendment) in ballot.amendments.iter_mut().enumerate() {
        let step = match pending {
            Some(step @ (Step::Submit(i) | Step::OpenVoting(i) | Step::Close(i))) if i == index => Some(step),
            _ => None,
        };
        let unsettled = amendment.votes.iter().any(|v| !v.known);
        if amendment.gone || (scope == Scope::Touched && !amendment.touched && step.is_none() && !unsettled) {
            continue;
        }
        amendment.touched = false;
        let path = format!("/v1/amendments/{}", amendment.amendment_id);
        let (status, found) = client.get(&path)?;
        if status != 200 {
            f.lost(format!("GET {path}: the acknowledged amendment reads {status} {found}"));
            amendment.gone = true;
            if ballot.current == Some(index) {
                ballot.current = None;
            }
            continue;
        }
        let kind = found["status"]["kind"].as_str().unwrap_or("?").to_string();
        if let Some(step) = step {
            let applied = match step {
                Step::Submit(_) => kind == "Submitted",
                Step::OpenVoting(_) => kind == "Voting",
                _ => kind == "Ratified" || kind == "Rejected",
            };
            f.settled(applied);
            if applied {
                amendment.status = match step {
                    Step::Submit(_) => AmendmentStatus::Submitted,
                    Step::OpenVoting(_) => AmendmentStatus::Voting,
                    _ => AmendmentStatus::Closed(kind.clone()),
                };
                if matches!(step, Step::Close(_)) && ballot.current == Some(index) {
                    ballot.current = None;
                }
            }
        }
        if amendment.status.kind() != kind {
            let problem = format!("GET {path}: status {kind}, expected {}", amendment.status.kind());
            if step.is_some() {
                f.torn(problem);
            } else {
                f.lost(problem);
            }
            // Reported once; the next cycles go on from what the server kept.
            match AmendmentStatus::from_kind(&kind) {
                Some(status) => amendment.status = status,
                None => amendment.gone = true,
            }
            if ballot.current == Some(index) && !matches!(amendment.status, AmendmentStatus::Voting) {
                ballot.current = None;
            }
        }
        check_votes(&path, amendment, &found, f);
    }
    Ok(())
}

/// The votes of one amendment (see [`check_ballot`]); unknown votes found
/// applied become known; absent ones, and lost ones once reported, leave
/// the model, so that a loss is counted once.
fn check_votes(path: &str, amendment: &mut Amendment, found: &Value, f: &mut Findings) {
    let recorded: HashMap<&str, bool> = found["votes"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(|v| Some((v["voter_did"].as_str()?, v["approve"].as_bool()?)))
        .collect();
    for vote in &mut amendment.votes {
        match recorded.get(vote.voter_did.as_str()) {
            Some(&approve) if approve == vote.approve => {
                if !vote.known {
                    f.settled(true);
                    vote.known = true;
                }
            }
            Some(&approve) => {
                let problem = format!("GET {path}: the vote of {} reads approve {approve}", vote.voter_did);
                if vote.known {
                    f.lost(problem);
                } else {
                    f.torn(problem);
                }
                vote.approve = approve;
                vote.known = true;
            }
            None if vote.known => f.lost(format!("GET {path}: the acknowledged vote of {} is missing", vote.voter_did)),
            None => f.settled(false),
        }
    }
    amendment.votes.retain(|v| recorded.contains_key(v.voter_did.as_str()));
    let sent: HashSet<&str> = amendment.votes.iter().map(|v| v.voter_did.as_str()).collect();
    for voter in recorded.keys().filter(|voter| !sent.contains(*voter)) {
        f.problem(format!("GET {path}: a vote by {voter} that the soak never sent"));
    }
    if let Some(closed_with) = amendment.closed_with {
        if recorded.len() as u64 != closed_with {
            f.lost(format!("GET {path}: {} votes recorded, the close counted {closed_with}", recorded.len()));
            amendment.closed_with = Some(recorded.len() as u64);
        }
    }
}

/// Each steward's `attestations_issued` must be the completions it vouched
/// (once a difference is reported, the count found is expected next time).
fn check_stewards(client: &Client<'_>, commons: &Commons, attested: &mut [u64; 2], f: &mut Findings) -> Result<()> {
    for (steward, expected) in commons.stewards.iter().zip(attested.iter_mut()) {
        let path = format!("/v1/stewards/{}", steward.steward_id);
        let (status, record) = client.get(&path)?;
        match record["attestations_issued"].as_u64() {
            Some(issued) if status == 200 && issued == *expected => {}
            Some(issued) if status == 200 => {
                let problem = format!("GET {path}: attestations_issued {issued}, {expected} completions vouched");
                if issued < *expected {
                    f.lost(problem);
                } else {
                    f.problem(problem);
                }
                *expected = issued;
            }
            _ => f.problem(format!("GET {path}: {status} {record}, expected attestations_issued {expected}")),
        }
    }
    Ok(())
}

/// The cooperative's members list, walked page by page, must list every
/// enrolled person (and the proposer) with the affiliation status the
/// model says, and nobody else.
fn check_members(client: &Client<'_>, commons: &Commons, workers: &[Worker], f: &mut Findings) -> Result<()> {
    let path = format!("/v1/jurisdictions/{}/members", commons.domain_id);
    let items = match walk(client, &path)? {
        Ok(items) => items,
        Err(problem) => {
            f.problem(problem);
            return Ok(());
        }
    };
    let mut listed: HashMap<String, String> = HashMap::new();
    for item in &items {
        let did = item["did"].as_str().unwrap_or("?").to_string();
        if listed.insert(did.clone(), affiliation(item, &commons.domain_id)).is_some() {
            f.problem(format!("GET {path}: {did} listed twice"));
        }
    }
    let mut expected: Vec<(&str, String)> =
        vec![(commons.proposer.did.as_str(), "Member Propose+Transact+Vote".into())];
    for person in workers.iter().flat_map(|w| &w.people) {
        match person.standing.affiliation() {
            Some("Banned") => expected.push((&person.did, "Banned none".to_string())),
            Some(status) => expected.push((&person.did, format!("{status} {CAPABILITIES}"))),
            None => {}
        }
    }
    for (did, want) in &expected {
        match listed.remove(*did) {
            Some(found) if &found == want => {}
            Some(found) => f.lost(format!("GET {path}: {did} is listed as {found}, expected {want}")),
            None => f.lost(format!("GET {path}: {did} ({want}) is not listed")),
        }
    }
    for (did, found) in listed {
        f.problem(format!("GET {path}: {did} ({found}) is listed but the soak never enrolled it"));
    }
    Ok(())
}
