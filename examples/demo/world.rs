//! Act 1, the world: the operator bootstraps the genesis members and
//! registers two stewards, the founders sign and activate a cooperative
//! charter, and 200 people enroll through the stewards (steps 2 to 5; with
//! PostgreSQL the enrollments' requests alternate between two gateways). The
//! [`World`] remembers what the server acknowledged, and [`World::check`]
//! reads it all back after a restart (steps 6 and 7, and every later check),
//! with the affiliations as the governance act left them.

use std::collections::{BTreeSet, HashMap};

use anyhow::{ensure, Result};
use commons_gateway::Did;
use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use serde_json::{json, Value};

use crate::client::{expect_eq, string_field, Client};
use crate::Clock;

/// Genesis members bootstrapped by the operator.
const GENESIS: usize = 5;
/// How many of the genesis members found (sign) the charter.
const FOUNDERS: usize = 3;
/// People enrolled through the stewards.
const PEOPLE: usize = 200;

/// One principal the demo created.
pub struct Principal {
    pub key: SigningKey,
    pub did: String,
    pub anchor_id: String,
}

impl Principal {
    fn generate() -> Self {
        let key = SigningKey::generate(&mut OsRng);
        let did = Did::from_verifying_key(&key.verifying_key()).as_str().to_string();
        Self { key, did, anchor_id: String::new() }
    }
}

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
        let genesis = bootstrap_genesis(founding)?;
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

/// Step 2: the operator bootstraps [`GENESIS`] members (`POST /v1/anchors`).
fn bootstrap_genesis(client: &Client<'_>) -> Result<Vec<Principal>> {
    let mut genesis: Vec<Principal> = (0..GENESIS).map(|_| Principal::generate()).collect();
    for (i, member) in genesis.iter_mut().enumerate() {
        let name = format!("Genesis {}", i + 1);
        let anchor = client.admin_post("/v1/anchors", json!({"did": member.did, "display_name": name}), 201)?;
        let context = format!("POST /v1/anchors for {name}");
        expect_eq(&anchor["did"], &json!(member.did), &context, "did")?;
        expect_eq(&anchor["pathway"], &json!({"kind": "Admin"}), &context, "pathway")?;
        expect_eq(&anchor["status"], &json!({"kind": "Active"}), &context, "status")?;
        expect_eq(&anchor["attestations"], &json!([]), &context, "attestations")?;
        expect_eq(&anchor["pop_level"], &Value::Null, &context, "pop_level")?;
        member.anchor_id = string_field(&anchor, "anchor_id", &context)?;
    }
    Ok(genesis)
}

/// Step 3: the operator registers these members as stewards
/// (`POST /v1/stewards`); returns `(steward_id, did)` of each.
fn register_stewards(client: &Client<'_>, members: &[Principal]) -> Result<Vec<(String, String)>> {
    let mut stewards = Vec::new();
    for member in members {
        let steward = client.admin_post("/v1/stewards", json!({"did": member.did, "term_days": 365}), 201)?;
        let context = format!("POST /v1/stewards for {}", member.did);
        expect_eq(&steward["did"], &json!(member.did), &context, "did")?;
        expect_eq(&steward["holder_id"], &json!(member.anchor_id), &context, "holder_id")?;
        expect_eq(&steward["status"], &json!({"kind": "Active"}), &context, "status")?;
        expect_eq(&steward["attestations_issued"], &json!(0), &context, "attestations_issued")?;
        expect_eq(&steward["can_attest"], &json!(true), &context, "can_attest")?;
        stewards.push((string_field(&steward, "steward_id", &context)?, member.did.clone()));
    }
    Ok(stewards)
}

/// Step 4: genesis 1 creates the cooperative charter of `domain_id`, the
/// first [`FOUNDERS`] genesis members sign it as founders and genesis 1
/// activates it (signed envelopes). Returns the charter id.
fn found_charter(client: &Client<'_>, genesis: &[Principal], slug: &str, domain_id: &str) -> Result<String> {
    let charter = client.signed_post(
        "/v1/charters",
        &genesis[0].key,
        "charter-create",
        "-",
        json!({
            "domain_id": domain_id,
            "org_type": "Cooperative",
            "name": format!("Demo Cooperative {slug}"),
            "description": "A cooperative created by examples/demo.rs to show that the commons survives restarts.",
            "membership_policy": {"min_founders": 3, "open_enrollment": false, "required_pop_level": "Strong"},
        }),
        201,
    )?;
    let context = "POST /v1/charters";
    expect_eq(&charter["founders"], &json!([]), context, "founders")?;
    expect_eq(&charter["status"], &json!({"kind": "Draft"}), context, "status")?;
    let charter_id = string_field(&charter, "charter_id", context)?;
    let digest = string_field(&charter, "digest", context)?;
    let signatures = format!("/v1/charters/{charter_id}/signatures");
    for (i, founder) in genesis[..FOUNDERS].iter().enumerate() {
        let charter = client.signed_post(
            &signatures,
            &founder.key,
            "charter-sign",
            &charter_id,
            json!({"digest": digest, "role": "founder"}),
            200,
        )?;
        let founders = charter["founders"].as_array().map_or(0, Vec::len);
        ensure!(founders == i + 1, "POST {signatures}: expected {} founders, got {founders}: {charter}", i + 1);
    }
    let charter = client.signed_post(
        &format!("/v1/charters/{charter_id}/activate"),
        &genesis[0].key,
        "charter-activate",
        &charter_id,
        json!({}),
        200,
    )?;
    expect_eq(&charter["status"], &json!({"kind": "Active"}), "POST /v1/charters/{id}/activate", "status")?;
    Ok(charter_id)
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

/// Enrolls person `i` (from 0) with a fresh key: start, verify (the person),
/// vouch (the steward), complete (the person). Returns the person, anchored.
fn enroll(
    client: &Client<'_>,
    i: usize,
    domain_id: &str,
    steward_key: &SigningKey,
    steward_did: &str,
) -> Result<Principal> {
    let mut person = Principal::generate();
    let session = client.expect(
        "POST",
        "/v1/enrollments",
        Some(&json!({"identity_name": format!("Person {}", i + 1), "domain_id": domain_id})),
        false,
        201,
    )?;
    let enrollment_id = string_field(&session, "enrollment_id", "POST /v1/enrollments")?;
    let code = string_field(&session, "verification_code", "POST /v1/enrollments")?;
    let base = format!("/v1/enrollments/{enrollment_id}");
    client.signed_post(
        &format!("{base}/verify"),
        &person.key,
        "enroll-verify",
        &enrollment_id,
        json!({"verification_code": code}),
        200,
    )?;
    client.signed_post(
        &format!("{base}/vouch"),
        steward_key,
        "enroll-vouch",
        &enrollment_id,
        json!({"person_did": person.did}),
        200,
    )?;
    let anchor = client.signed_post(
        &format!("{base}/complete"),
        &person.key,
        "enroll-complete",
        &enrollment_id,
        json!({}),
        201,
    )?;
    let context = format!("POST {base}/complete");
    expect_eq(&anchor["did"], &json!(person.did), &context, "did")?;
    expect_eq(&anchor["pathway"], &json!({"kind": "StewardVouched", "steward_did": steward_did}), &context, "pathway")?;
    let attestations = anchor["attestations"].as_array().map_or(&[][..], Vec::as_slice);
    ensure!(
        attestations.len() == 1 && attestations[0]["level"] == "Strong",
        "{context}: expected one Strong attestation, got {anchor}"
    );
    person.anchor_id = string_field(&anchor, "anchor_id", &context)?;
    Ok(person)
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
