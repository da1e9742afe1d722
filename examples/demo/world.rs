//! Act 1, the world: the operator bootstraps the genesis members and
//! registers two stewards, the founders sign and activate a cooperative
//! charter, and 200 people enroll through the stewards (steps 2 to 5; with
//! PostgreSQL the enrollments' requests alternate between two gateways). The
//! [`World`] remembers what the server acknowledged, and [`World::check`]
//! reads it all back after a restart (steps 6 and 7, and every later check),
//! with the affiliations as the governance act left them. The founding
//! steps themselves are shared with the soak (`examples/shared/founding.rs`).

use std::collections::{BTreeSet, HashMap};

use anyhow::Result;
use serde_json::{json, Value};

use crate::client::Client;
use crate::founding::{bootstrap_genesis, enroll, found_charter, register_stewards, Principal, FOUNDERS};
use crate::Clock;

/// Genesis members bootstrapped by the operator.
const GENESIS: usize = 5;
/// People enrolled through the stewards.
const PEOPLE: usize = 200;

/// What the demo wrote, to be found again after each restart.
pub struct World {
    pub genesis: Vec<Principal>,
    /// `(steward_id, did)` of the two stewards (genesis 1 and 2).
    stewards: Vec<(String, String)>,
    pub people: Vec<Principal>,
    pub domain_id: String,
    pub charter_id: String,
    /// Enrolled people whose affiliation the governance act changed (by
    /// anchor id), as last acknowledged; everyone else is Provisional.
    pub changed: HashMap<String, Expected>,
}

/// What an enrolled person's affiliation must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// Affiliation status name (`Provisional`, `Member`, `Suspended`, `Banned`).
    pub status: &'static str,
    /// Whether it carries Propose (besides Vote and Transact; a Banned
    /// affiliation carries nothing).
    pub propose: bool,
}

impl Expected {
    const PROVISIONAL: Expected = Expected { status: "Provisional", propose: false };
    pub const MEMBER: Expected = Expected { status: "Member", propose: false };
}

/// The counts of the base rows of the table, one checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    anchors: usize,
    holders: usize,
    affiliations: usize,
    founders: usize,
    attestations: usize,
}

impl Counts {
    pub const ROWS: [&'static str; 5] =
        ["anchors", "holders", "affiliations", "charter founders", "steward attestations"];

    pub fn values(self) -> [usize; 5] {
        [self.anchors, self.holders, self.affiliations, self.founders, self.attestations]
    }
}

impl World {
    /// Steps 2 to 5: genesis, stewards and charter through `founding`, then
    /// the enrollments through `enrolling` (the same gateway, or with
    /// PostgreSQL two gateways in turn).
    pub fn write(founding: &Client<'_>, enrolling: &Client<'_>, clock: &Clock) -> Result<World> {
        let slug = format!("demo-{}", hex::encode(rand::random::<[u8; 4]>()));
        let domain_id = format!("coop:{slug}");
        let genesis = bootstrap_genesis(founding, GENESIS)?;
        say!(clock, "{GENESIS} genesis members bootstrapped");
        let stewards = register_stewards(founding, &genesis[..2])?;
        say!(clock, "2 stewards registered");
        let charter_id = found_charter(founding, &genesis, &slug, &domain_id)?;
        say!(clock, "charter {domain_id} founded by {FOUNDERS} and active");
        let people = enroll_people(enrolling, &genesis, &stewards, &domain_id, clock)?;
        Ok(World { genesis, stewards, people, domain_id, charter_id, changed: HashMap::new() })
    }

    /// What was acknowledged by the server while writing.
    pub fn written(&self) -> Counts {
        Counts {
            anchors: self.genesis.len() + self.people.len(),
            holders: self.genesis.len() + self.people.len(),
            affiliations: self.people.len(),
            founders: FOUNDERS,
            attestations: self.people.len(),
        }
    }

    /// The affiliation an enrolled person must have now.
    pub fn expected(&self, anchor_id: &str) -> Expected {
        self.changed.get(anchor_id).copied().unwrap_or(Expected::PROVISIONAL)
    }

    /// DIDs of the enrolled people whose affiliation must be `status`.
    pub fn dids_with(&self, status: &str) -> BTreeSet<String> {
        self.people.iter().filter(|p| self.expected(&p.anchor_id).status == status).map(|p| p.did.clone()).collect()
    }

    /// Steps 6 and 7, and every later check: reads the enrollment back, with
    /// the affiliations as the governance act left them. Transport failures
    /// abort; wrong answers are collected as problems and reflected in the
    /// counts.
    pub fn check(&self, client: &Client<'_>) -> Result<(Counts, Vec<String>)> {
        let mut problems = Vec::new();
        let mut counts = Counts { anchors: 0, holders: 0, affiliations: 0, founders: 0, attestations: 0 };
        let everyone = self.genesis.iter().map(|p| (p, false));
        let everyone = everyone.chain(self.people.iter().map(|p| (p, true)));
        for (principal, enrolled) in everyone {
            let path = format!("/v1/anchors/by-did/{}", principal.did);
            let (status, anchor) = client.get(&path)?;
            if status != 200 {
                problems.push(format!("GET {path}: {status} {anchor}"));
            } else if anchor["did"] != principal.did.as_str() || anchor["anchor_id"] != principal.anchor_id.as_str() {
                problems.push(format!("GET {path}: did or anchor_id differ: {anchor}"));
            } else {
                counts.anchors += 1;
            }

            let path = format!("/v1/holders/{}", principal.anchor_id);
            let (status, holder) = client.get(&path)?;
            if status != 200 {
                problems.push(format!("GET {path}: {status} {holder}"));
                continue;
            }
            if holder["did"] != principal.did.as_str() {
                problems.push(format!("GET {path}: did differs: {holder}"));
                continue;
            }
            counts.holders += 1;
            if enrolled {
                match affiliation_problem(&holder, &self.domain_id, self.expected(&principal.anchor_id)) {
                    None => counts.affiliations += 1,
                    Some(problem) => problems.push(format!("GET {path}: {problem}: {holder}")),
                }
            }
        }

        let path = format!("/v1/charters/by-domain/{}", self.domain_id);
        let (status, charter) = client.get(&path)?;
        if status != 200 {
            problems.push(format!("GET {path}: {status} {charter}"));
        } else {
            if charter["status"] != json!({"kind": "Active"}) {
                problems.push(format!("GET {path}: charter is not Active: {}", charter["status"]));
            }
            let founders: Vec<&str> = charter["founders"]
                .as_array()
                .map(|list| list.iter().filter_map(|f| f["did"].as_str()).collect())
                .unwrap_or_default();
            let expected: Vec<&str> = self.genesis[..FOUNDERS].iter().map(|p| p.did.as_str()).collect();
            counts.founders = founders.iter().filter(|did| expected.contains(did)).count();
            if founders.len() != FOUNDERS || counts.founders != FOUNDERS {
                problems.push(format!("GET {path}: founders {founders:?}, expected {expected:?}"));
            }
        }

        for (steward_id, did) in &self.stewards {
            let path = format!("/v1/stewards/{steward_id}");
            let (status, steward) = client.get(&path)?;
            if status != 200 {
                problems.push(format!("GET {path}: {status} {steward}"));
                continue;
            }
            if steward["did"] != did.as_str() {
                problems.push(format!("GET {path}: did differs: {steward}"));
            }
            match steward["attestations_issued"].as_u64() {
                Some(issued) => {
                    if issued != (PEOPLE / 2) as u64 {
                        problems.push(format!("GET {path}: attestations_issued {issued}, expected {}", PEOPLE / 2));
                    }
                    counts.attestations += usize::try_from(issued).unwrap_or(usize::MAX);
                }
                None => problems.push(format!("GET {path}: no attestations_issued: {steward}")),
            }
        }
        Ok((counts, problems))
    }
}

/// Step 5: [`PEOPLE`] people enroll in `domain_id`, each with a fresh key;
/// the two stewards (genesis 1 and 2) vouch in turn, half each.
fn enroll_people(
    client: &Client<'_>,
    genesis: &[Principal],
    stewards: &[(String, String)],
    domain_id: &str,
    clock: &Clock,
) -> Result<Vec<Principal>> {
    let steward_keys = [&genesis[0].key, &genesis[1].key];
    let mut people = Vec::with_capacity(PEOPLE);
    for i in 0..PEOPLE {
        let steward = i % 2;
        people.push(enroll(client, i, domain_id, steward_keys[steward], &stewards[steward].1)?);
        if (i + 1) % 50 == 0 {
            say!(clock, "{} people enrolled", i + 1);
        }
    }
    Ok(people)
}

/// `None` if the holder has exactly one affiliation, in `domain_id`, as
/// `want` says: its status, and Vote and Transact (and Propose when wanted),
/// or no capabilities at all when Banned; otherwise what is wrong.
pub fn affiliation_problem(holder: &Value, domain_id: &str, want: Expected) -> Option<String> {
    let Some(affiliations) = holder["affiliations"].as_array() else {
        return Some("no affiliations list".to_string());
    };
    let [affiliation] = affiliations.as_slice() else {
        return Some(format!("{} affiliations, expected 1", affiliations.len()));
    };
    if affiliation["jurisdiction"] != domain_id {
        return Some(format!("affiliation jurisdiction is not {domain_id}"));
    }
    if affiliation["status"] != want.status {
        return Some(format!("affiliation status is {}, expected {:?}", affiliation["status"], want.status));
    }
    let capabilities = affiliation["capabilities"].as_array().map_or(&[][..], Vec::as_slice);
    if want.status == "Banned" {
        return (!capabilities.is_empty()).then(|| "a Banned affiliation still has capabilities".to_string());
    }
    let propose: &[&str] = if want.propose { &["Propose"] } else { &[] };
    for wanted in ["Vote", "Transact"].iter().chain(propose) {
        if !capabilities.iter().any(|c| c.as_str() == Some(wanted)) {
            return Some(format!("affiliation lacks capability {wanted}"));
        }
    }
    None
}
