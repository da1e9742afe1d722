//! Act 2, governance, on the world of act 1 (step 8): the operator promotes
//! members, one of them proposes an amendment that a steward opens to a vote,
//! the members vote and the operator closes the vote (Ratified); a membership
//! is revoked, appealed and reinstated, and another member is banned. The
//! [`Governance`] record remembers what the server acknowledged so far, and
//! [`Governance::check`] reads it back after a restart, the jurisdiction's
//! members list included (walked page by page).

use std::collections::BTreeSet;
use std::ops::Range;

use anyhow::{anyhow, bail, ensure, Result};
use serde_json::{json, Value};

use crate::client::{expect_eq, string_field, Client};
use crate::world::{affiliation_problem, Expected, World};

/// Enrolled people (the first ones) the operator promotes to Member.
pub const PROMOTED: usize = 30;
/// The promoted member granted Propose, who proposes the amendment (an index
/// into the enrolled people, as are the indices below).
const PROPOSER: usize = 0;
/// Members who vote: the first `VOTERS` promoted (the proposer included).
pub const VOTERS: usize = 20;
/// Votes cast before the mid-vote SIGKILL.
pub const VOTES_BEFORE_KILL: usize = 10;
/// The member whose membership is revoked, who appeals and is reinstated.
const APPELLANT: usize = 20;
/// The member banned at the end.
const BANNED: usize = 29;
/// Page size when listing a jurisdiction's members: small, so the walk
/// follows `next_cursor` over several pages.
const MEMBERS_PAGE: usize = 8;
/// Most pages read from one list before the demo gives up.
pub const MAX_PAGES: usize = 100;

/// What the governance act has had acknowledged so far.
#[derive(Debug, Default)]
pub struct Governance {
    /// How many of the first [`PROMOTED`] people were promoted.
    promoted: usize,
    pub amendment_id: String,
    /// Status kind of the amendment (`Draft`, ..., `Ratified`).
    amendment_status: &'static str,
    /// `(voter DID, approve)` of each vote, in order.
    votes: Vec<(String, bool)>,
    revocations: Vec<RevocationSeen>,
    /// The appeal's id and status (`Filed`, `UnderReview`, `Resolved/Upheld`).
    appeal: Option<(String, &'static str)>,
}

/// One acknowledged revocation of a membership.
#[derive(Debug)]
struct RevocationSeen {
    revocation_id: String,
    holder_id: String,
    immediate: bool,
    /// Kind of its `appeal_status` (`None`, `Pending`, `Upheld`).
    appeal_status: &'static str,
    /// The pending appeal, while `Pending`.
    appeal_id: Option<String>,
}

/// The governance rows of the table, one checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovCounts {
    /// Promoted people whose affiliation is as acknowledged.
    promoted: usize,
    /// Acknowledged votes found on the amendment, as cast.
    votes: usize,
    amendment: String,
    /// `GET /v1/jurisdictions/{domain}/members?status=Member`, all pages.
    members: usize,
    /// Acknowledged revocations found (listed by target) in their state.
    revocations: usize,
    appeal: String,
    /// `GET /v1/jurisdictions/{domain}/members?status=Banned`, all pages.
    banned: usize,
}

impl GovCounts {
    pub const ROWS: [&'static str; 7] =
        ["members promoted", "votes", "amendment status", "listed as Member", "revocations", "appeal status", "banned"];

    pub fn values(&self) -> [String; 7] {
        [
            self.promoted.to_string(),
            self.votes.to_string(),
            self.amendment.clone(),
            self.members.to_string(),
            self.revocations.to_string(),
            self.appeal.clone(),
            self.banned.to_string(),
        ]
    }
}

impl Governance {
    /// The governance counts as acknowledged so far.
    pub fn expected(&self, world: &World) -> GovCounts {
        GovCounts {
            promoted: self.promoted,
            votes: self.votes.len(),
            amendment: self.amendment_status.to_string(),
            members: world.dids_with("Member").len(),
            revocations: self.revocations.len(),
            appeal: self.appeal.as_ref().map_or("none", |(_, status)| status).to_string(),
            banned: world.dids_with("Banned").len(),
        }
    }

    /// Step 1: the operator promotes the first [`PROMOTED`] people to Member
    /// and grants the proposer Vote, Propose and Transact.
    pub fn promote_members(&mut self, client: &Client<'_>, world: &mut World) -> Result<()> {
        let domain = world.domain_id.clone();
        for i in 0..PROMOTED {
            let id = world.people[i].anchor_id.clone();
            let path = format!("/v1/holders/{id}/affiliations/{domain}/promote");
            let holder = client.admin_post(&path, json!({"reason": "demo: probation completed"}), 200)?;
            if let Some(problem) = affiliation_problem(&holder, &domain, Expected::MEMBER) {
                bail!("POST {path}: {problem}: {holder}");
            }
            world.changed.insert(id, Expected::MEMBER);
            self.promoted += 1;
        }
        let id = world.people[PROPOSER].anchor_id.clone();
        let path = format!("/v1/holders/{id}/affiliations/{domain}/capabilities");
        let body = json!({"capabilities": ["Vote", "Propose", "Transact"]});
        let holder = client.expect("PUT", &path, Some(&body), true, 200)?;
        let want = Expected { status: "Member", propose: true };
        if let Some(problem) = affiliation_problem(&holder, &domain, want) {
            bail!("PUT {path}: {problem}: {holder}");
        }
        world.changed.insert(id, want);
        Ok(())
    }

    /// Step 2: the proposer proposes an amendment with one change and
    /// submits it; steward 1 opens the vote (signed).
    pub fn propose_amendment(&mut self, client: &Client<'_>, world: &World) -> Result<()> {
        let proposer = &world.people[PROPOSER];
        let change = json!({"target": "membership_policy.open_enrollment", "change": "Modify", "new_value": "true"});
        let amendment = client.signed_post(
            "/v1/amendments",
            &proposer.key,
            "amendment-propose",
            "-",
            json!({
                "charter_id": world.charter_id,
                "title": "Open enrollment",
                "description": "Let people who verified their key join without waiting for a steward's vouch.",
                "changes": [change],
            }),
            201,
        )?;
        let context = "POST /v1/amendments";
        expect_eq(&amendment["status"], &json!({"kind": "Draft"}), context, "status")?;
        expect_eq(&amendment["proposer_did"], &json!(proposer.did), context, "proposer_did")?;
        expect_eq(&amendment["charter_id"], &json!(world.charter_id), context, "charter_id")?;
        expect_eq(&amendment["changes"], &json!([change]), context, "changes")?;
        let id = string_field(&amendment, "amendment_id", context)?;
        self.amendment_id = id.clone();
        self.amendment_status = "Draft";

        let path = format!("/v1/amendments/{id}/submit");
        let amendment = client.signed_post(&path, &proposer.key, "amendment-submit", &id, json!({}), 200)?;
        expect_eq(&amendment["status"], &json!({"kind": "Submitted"}), &format!("POST {path}"), "status")?;
        self.amendment_status = "Submitted";

        // Steward 1 has no jurisdiction: a commons-wide steward serves every charter.
        let path = format!("/v1/amendments/{id}/open-voting");
        let amendment =
            client.signed_post(&path, &world.genesis[0].key, "amendment-open-voting", &id, json!({}), 200)?;
        expect_eq(&amendment["status"]["kind"], &json!("Voting"), &format!("POST {path}"), "status.kind")?;
        self.amendment_status = "Voting";
        Ok(())
    }

    /// Step 3: the voters with these indices vote (signed); the first vote's
    /// envelope is sent a second time and refused (409 `replayed`).
    pub fn cast_votes(&mut self, client: &Client<'_>, world: &World, voters: Range<usize>) -> Result<()> {
        let id = self.amendment_id.clone();
        let path = format!("/v1/amendments/{id}/votes");
        for i in voters {
            let voter = &world.people[i];
            let approve = approves(i);
            let vote = json!({"approve": approve});
            // The first vote is also sent twice: the copy is refused, 409 replayed.
            let amendment = if self.votes.is_empty() {
                client.signed_post_then_replay(&path, &voter.key, "vote", &id, vote, 201)?
            } else {
                client.signed_post(&path, &voter.key, "vote", &id, vote, 201)?
            };
            let votes = amendment["votes"].as_array().map_or(0, Vec::len);
            ensure!(votes == self.votes.len() + 1, "POST {path}: expected {} votes, got {votes}", self.votes.len() + 1);
            self.votes.push((voter.did.clone(), approve));
        }
        Ok(())
    }

    /// Step 4: the operator closes the vote early; the amendment must be
    /// Ratified. Returns the tally.
    pub fn close_vote(&mut self, client: &Client<'_>) -> Result<Value> {
        let path = format!("/v1/amendments/{}/close", self.amendment_id);
        let amendment = client.admin_post(&path, json!({}), 200)?;
        let context = format!("POST {path}");
        let approvals = (0..VOTERS).filter(|&i| approves(i)).count();
        let tally =
            json!({"eligible": PROMOTED, "votes": VOTERS, "approvals": approvals, "uncounted": 0, "ratified": true});
        expect_eq(&amendment["tally"], &tally, &context, "tally")?;
        expect_eq(&amendment["status"]["kind"], &json!("Ratified"), &context, "status.kind")?;
        self.amendment_status = "Ratified";
        Ok(amendment["tally"].clone())
    }

    /// Step 5: the operator revokes the appellant's membership (not
    /// immediate: Suspended), the member appeals (the revocation goes
    /// Pending) and the operator puts the appeal under review.
    pub fn revoke_and_appeal(&mut self, client: &Client<'_>, world: &mut World) -> Result<()> {
        let suspended = Expected { status: "Suspended", propose: false };
        let revocation_id = self.revoke_membership(client, world, APPELLANT, false, suspended)?;

        let appeal = client.signed_post(
            "/v1/appeals",
            &world.people[APPELLANT].key,
            "appeal-file",
            "-",
            json!({
                "kind": {"kind": "Revocation", "revocation_id": revocation_id},
                "grounds": "The policy violation was another member's, recorded against me by mistake.",
                "statement": "The minutes of the meeting show who said what.",
                "requested_remedy": {"kind": "Reinstate"},
            }),
            201,
        )?;
        let context = "POST /v1/appeals";
        expect_eq(&appeal["status"], &json!({"kind": "Filed"}), context, "status")?;
        let appeal_id = string_field(&appeal, "appeal_id", context)?;
        self.appeal = Some((appeal_id.clone(), "Filed"));
        let path = format!("/v1/revocations/{revocation_id}");
        let record = client.expect("GET", &path, None, false, 200)?;
        let pending = json!({"kind": "Pending", "appeal_id": appeal_id});
        expect_eq(&record["appeal_status"], &pending, &format!("GET {path}"), "appeal_status")?;
        self.revocations[0].appeal_status = "Pending";
        self.revocations[0].appeal_id = Some(appeal_id.clone());

        let path = format!("/v1/appeals/{appeal_id}/review");
        let appeal = client.admin_post(&path, json!({}), 200)?;
        expect_eq(&appeal["status"]["kind"], &json!("UnderReview"), &format!("POST {path}"), "status.kind")?;
        self.appeal = Some((appeal_id, "UnderReview"));
        Ok(())
    }

    /// Step 6: the operator resolves the appeal Upheld (the revocation is
    /// Upheld and the member back to Member), then bans another member (an
    /// immediate revocation).
    pub fn resolve_and_ban(&mut self, client: &Client<'_>, world: &mut World) -> Result<()> {
        let (appeal_id, _) = self.appeal.clone().ok_or_else(|| anyhow!("no appeal to resolve"))?;
        let path = format!("/v1/appeals/{appeal_id}/resolve");
        let body = json!({"outcome": "Upheld", "notes": "The minutes bear the appellant out."});
        let appeal = client.admin_post(&path, body, 200)?;
        let context = format!("POST {path}");
        expect_eq(&appeal["status"]["kind"], &json!("Resolved"), &context, "status.kind")?;
        expect_eq(&appeal["status"]["outcome"], &json!("Upheld"), &context, "status.outcome")?;
        self.appeal = Some((appeal_id, "Resolved/Upheld"));
        let path = format!("/v1/revocations/{}", self.revocations[0].revocation_id);
        let record = client.expect("GET", &path, None, false, 200)?;
        expect_eq(&record["appeal_status"]["kind"], &json!("Upheld"), &format!("GET {path}"), "appeal_status.kind")?;
        self.revocations[0].appeal_status = "Upheld";
        self.revocations[0].appeal_id = None;
        let holder_id = world.people[APPELLANT].anchor_id.clone();
        expect_affiliation(client, world, &holder_id, Expected::MEMBER)?;
        world.changed.insert(holder_id, Expected::MEMBER);

        let banned = Expected { status: "Banned", propose: false };
        self.revoke_membership(client, world, BANNED, true, banned)?;
        Ok(())
    }

    /// The operator revokes the membership of enrolled person `person`
    /// (`immediate` or not); the affiliation must then be as `after` says.
    /// Returns the revocation id.
    fn revoke_membership(
        &mut self,
        client: &Client<'_>,
        world: &mut World,
        person: usize,
        immediate: bool,
        after: Expected,
    ) -> Result<String> {
        let holder_id = world.people[person].anchor_id.clone();
        let body = membership_revocation(&holder_id, &world.domain_id, immediate);
        let record = client.admin_post("/v1/revocations", body, 201)?;
        let context = "POST /v1/revocations";
        expect_eq(&record["immediate"], &json!(immediate), context, "immediate")?;
        expect_eq(&record["appeal_status"], &json!({"kind": "None"}), context, "appeal_status")?;
        let revocation_id = string_field(&record, "revocation_id", context)?;
        self.revocations.push(RevocationSeen {
            revocation_id: revocation_id.clone(),
            holder_id: holder_id.clone(),
            immediate,
            appeal_status: "None",
            appeal_id: None,
        });
        expect_affiliation(client, world, &holder_id, after)?;
        world.changed.insert(holder_id, after);
        Ok(revocation_id)
    }

    /// Reads the governance act back, comparing with what was acknowledged.
    /// Transport failures abort; wrong answers are collected as problems and
    /// reflected in the counts.
    pub fn check(&self, client: &Client<'_>, world: &World) -> Result<(GovCounts, Vec<String>)> {
        let mut problems = Vec::new();
        let domain = &world.domain_id;

        let mut promoted = 0;
        for person in &world.people[..self.promoted] {
            let path = format!("/v1/holders/{}", person.anchor_id);
            let (status, holder) = client.get(&path)?;
            match affiliation_problem(&holder, domain, world.expected(&person.anchor_id)) {
                _ if status != 200 => problems.push(format!("GET {path}: {status} {holder}")),
                None => promoted += 1,
                Some(problem) => problems.push(format!("GET {path}: {problem}: {holder}")),
            }
        }

        let path = format!("/v1/amendments/{}", self.amendment_id);
        let (status, amendment) = client.get(&path)?;
        let mut votes = 0;
        let status_kind = if status == 200 {
            let recorded = amendment["votes"].as_array().map_or(&[][..], Vec::as_slice);
            for (did, approve) in &self.votes {
                if recorded.iter().any(|v| v["voter_did"] == did.as_str() && v["approve"] == *approve) {
                    votes += 1;
                } else {
                    problems.push(format!("GET {path}: the vote of {did} (approve {approve}) is missing or differs"));
                }
            }
            if recorded.len() != self.votes.len() {
                problems.push(format!(
                    "GET {path}: {} votes recorded, {} acknowledged",
                    recorded.len(),
                    self.votes.len()
                ));
            }
            amendment["status"]["kind"].as_str().unwrap_or("?").to_string()
        } else {
            problems.push(format!("GET {path}: {status} {amendment}"));
            "missing".to_string()
        };

        let mut listed = [0; 2];
        for (count, status) in listed.iter_mut().zip(["Member", "Banned"]) {
            let (dids, problem) = list_members(client, domain, status)?;
            problems.extend(problem);
            *count = dids.len();
            let expected = world.dids_with(status);
            let found: BTreeSet<String> = dids.into_iter().collect();
            if found != expected || *count != expected.len() {
                problems.push(format!(
                    "members of {domain} with status {status}: listed {} ({} distinct), expected {}; {} missing, {} unexpected",
                    *count,
                    found.len(),
                    expected.len(),
                    expected.difference(&found).count(),
                    found.difference(&expected).count()
                ));
            }
        }

        let mut revocations = 0;
        for person in &world.people[..PROMOTED] {
            let path = format!("/v1/revocations?target=membership:{}:{domain}", person.anchor_id);
            let (status, page) = client.get(&path)?;
            if status != 200 {
                problems.push(format!("GET {path}: {status} {page}"));
                continue;
            }
            for record in page["items"].as_array().map_or(&[][..], Vec::as_slice) {
                match self.revocations.iter().find(|r| record["revocation_id"] == r.revocation_id.as_str()) {
                    Some(seen) => match revocation_problem(record, seen, domain) {
                        None => revocations += 1,
                        Some(problem) => problems.push(format!("GET {path}: {problem}: {record}")),
                    },
                    None => problems.push(format!("GET {path}: a revocation the demo never made: {record}")),
                }
            }
        }
        if revocations != self.revocations.len() {
            problems.push(format!(
                "{revocations} of {} acknowledged revocations found as expected",
                self.revocations.len()
            ));
        }

        let path = format!("/v1/appeals?appellant={}", world.people[APPELLANT].did);
        let (status, page) = client.get(&path)?;
        let appeal = if status == 200 {
            let items = page["items"].as_array().map_or(&[][..], Vec::as_slice);
            match (items, &self.appeal) {
                ([], None) => "none".to_string(),
                ([item], Some((id, _))) if item["appeal_id"] == id.as_str() => describe_appeal(item),
                _ => {
                    problems.push(format!("GET {path}: {} appeal(s), expected {:?}: {page}", items.len(), self.appeal));
                    format!("{} appeal(s)", items.len())
                }
            }
        } else {
            problems.push(format!("GET {path}: {status} {page}"));
            "missing".to_string()
        };

        let counts = GovCounts {
            promoted,
            votes,
            amendment: status_kind,
            members: listed[0],
            revocations,
            appeal,
            banned: listed[1],
        };
        Ok((counts, problems))
    }
}

/// True when the voter with this index approves (all but every fifth).
fn approves(voter: usize) -> bool {
    voter % 5 != 4
}

/// The request body of an operator revocation of `holder_id`'s membership.
fn membership_revocation(holder_id: &str, domain_id: &str, immediate: bool) -> Value {
    json!({
        "target": {"kind": "Membership", "holder_id": holder_id, "jurisdiction": domain_id},
        "reason": {"kind": "PolicyViolation"},
        "immediate": immediate,
    })
}

/// Reads a holder and fails unless its affiliation is as `want` says.
fn expect_affiliation(client: &Client<'_>, world: &World, holder_id: &str, want: Expected) -> Result<()> {
    let path = format!("/v1/holders/{holder_id}");
    let holder = client.expect("GET", &path, None, false, 200)?;
    match affiliation_problem(&holder, &world.domain_id, want) {
        None => Ok(()),
        Some(problem) => bail!("GET {path}: {problem}: {holder}"),
    }
}

/// `None` if the listed revocation is the acknowledged one in its
/// acknowledged state; otherwise what differs.
fn revocation_problem(record: &Value, seen: &RevocationSeen, domain_id: &str) -> Option<String> {
    let target = json!({"kind": "Membership", "holder_id": seen.holder_id, "jurisdiction": domain_id});
    if record["target"] != target {
        return Some(format!("target differs, expected {target}"));
    }
    if record["immediate"] != seen.immediate {
        return Some(format!("immediate differs, expected {}", seen.immediate));
    }
    if record["appeal_status"]["kind"] != seen.appeal_status {
        return Some(format!("appeal_status differs, expected kind {}", seen.appeal_status));
    }
    if let Some(appeal_id) = &seen.appeal_id {
        if record["appeal_status"]["appeal_id"] != appeal_id.as_str() {
            return Some(format!("appeal_status differs, expected pending appeal {appeal_id}"));
        }
    }
    None
}

/// An appeal's status as the table shows it: the kind, and the outcome
/// when resolved (`Resolved/Upheld`).
fn describe_appeal(appeal: &Value) -> String {
    let kind = appeal["status"]["kind"].as_str().unwrap_or("?");
    match appeal["status"]["outcome"].as_str() {
        Some(outcome) => format!("{kind}/{outcome}"),
        None => kind.to_string(),
    }
}

/// Walks `GET /v1/jurisdictions/{domain}/members?status=..` page by page
/// ([`MEMBERS_PAGE`] per page, at most [`MAX_PAGES`] pages), following
/// `next_cursor`. Returns the DIDs listed and a problem if the walk failed.
fn list_members(client: &Client<'_>, domain_id: &str, status: &str) -> Result<(Vec<String>, Option<String>)> {
    let mut dids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut path = format!("/v1/jurisdictions/{domain_id}/members?status={status}&limit={MEMBERS_PAGE}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let (code, page) = client.get(&path)?;
        if code != 200 {
            return Ok((dids, Some(format!("GET {path}: {code} {page}"))));
        }
        for item in page["items"].as_array().map_or(&[][..], Vec::as_slice) {
            let listed_status = item["affiliations"]
                .as_array()
                .and_then(|list| list.iter().find(|a| a["jurisdiction"] == domain_id))
                .map(|a| &a["status"]);
            if listed_status != Some(&json!(status)) {
                return Ok((dids, Some(format!("GET {path}: listed a holder whose status is not {status}: {item}"))));
            }
            dids.push(item["did"].as_str().unwrap_or("?").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return Ok((dids, None)),
        }
    }
    Ok((dids, Some(format!("members of {domain_id} with status {status}: more than {MAX_PAGES} pages"))))
}
