//! Founding a commons over HTTP, as both examples begin: the operator
//! bootstraps genesis members and registers stewards, founders sign and
//! activate a cooperative charter, and a person enrolls through a steward
//! (start, verify, vouch, complete). Each step checks the answer and fails
//! naming the route when it is not what the API promises.
//!
//! Shared by the `demo` and `soak` examples and the load tool (`load/`;
//! each includes it with `#[path]`).

use anyhow::{ensure, Result};
use commons_gateway::Did;
use ed25519_dalek::SigningKey;
use rand::rngs::OsRng;
use serde_json::{json, Value};

use crate::client::{expect_eq, string_field, Client};

/// How many genesis members found (sign) a charter: a cooperative's
/// `min_founders`.
pub const FOUNDERS: usize = 3;

/// One principal: its key, DID and (once it has one) anchor id.
pub struct Principal {
    /// Its Ed25519 key.
    pub key: SigningKey,
    /// The `did:key` of that key.
    pub did: String,
    /// Empty until the principal has an anchor.
    pub anchor_id: String,
}

impl Principal {
    /// A principal with a fresh key and no anchor yet.
    pub fn generate() -> Self {
        let key = SigningKey::generate(&mut OsRng);
        let did = Did::from_verifying_key(&key.verifying_key()).as_str().to_string();
        Self { key, did, anchor_id: String::new() }
    }
}

/// The operator bootstraps `count` genesis members (`POST /v1/anchors`),
/// named `Genesis 1`, `Genesis 2`, ...; each must come back Active, with
/// pathway Admin and no attestation.
pub fn bootstrap_genesis(client: &Client<'_>, count: usize) -> Result<Vec<Principal>> {
    let mut genesis: Vec<Principal> = (0..count).map(|_| Principal::generate()).collect();
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

/// The operator registers these members as commons-wide stewards for 365
/// days (`POST /v1/stewards`); returns `(steward_id, did)` of each.
pub fn register_stewards(client: &Client<'_>, members: &[Principal]) -> Result<Vec<(String, String)>> {
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

/// Genesis 1 creates the cooperative charter of `domain_id` (slug `slug`;
/// Strong personhood required, no open enrollment), the first [`FOUNDERS`]
/// genesis members sign it as founders and genesis 1 activates it (signed
/// envelopes). Returns the charter id.
pub fn found_charter(client: &Client<'_>, genesis: &[Principal], slug: &str, domain_id: &str) -> Result<String> {
    let charter = client.signed_post(
        "/v1/charters",
        &genesis[0].key,
        "charter-create",
        "-",
        json!({
            "domain_id": domain_id,
            "org_type": "Cooperative",
            "name": format!("Cooperative {slug}"),
            "description": "A cooperative created by an example client to show that the commons survives restarts.",
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

/// Enrolls person `i` (from 0) with a fresh key: start, verify (the person),
/// vouch (the steward), complete (the person). Returns the person, anchored
/// (a Provisional member of `domain_id` with Vote and Transact).
pub fn enroll(
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
