//! Enrollment through the manager: the happy path, every refusal leaving the
//! store unchanged, expiry, and completion as one atomic batch.

mod common;

use anyhow::Result;
use common::keys::Person;
use common::world::{memory, snapshot, World};
use commons_gateway::actions::*;
use commons_gateway::records::{AffiliationStatus, Capability};
use commons_gateway::records::{AttestationMethod, Pathway, PopLevel};
use commons_gateway::{CommonsError, CommonsStoreBackend};
use commons_gateway::{ConflictCode, Refusal};
use serde_json::json;

#[test]
fn vouched_enrollment_creates_anchor_holder_affiliation_and_counts_the_vouch() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let person = Person::new();
    let anchor_id = w.enroll(&m, &person, 1)?;

    let anchor = m.anchor(&anchor_id)?;
    assert_eq!(anchor.anchor.did, person.did);
    assert_eq!(anchor.anchor.pathway, Pathway::StewardVouched { steward_did: w.stewards[1].did.clone() });
    assert_eq!(anchor.pop_level, Some(PopLevel::Strong));
    assert_eq!(anchor.anchor.attestations.len(), 1);
    assert_eq!(anchor.anchor.attestations[0].method, AttestationMethod::StewardVouch);
    assert_eq!(anchor.anchor.attestations[0].issuer_did, w.stewards[1].did);

    let holder = m.holder_by_did(person.did.as_str())?;
    assert_eq!(holder.holder.holder_id, anchor_id);
    assert_eq!(holder.baseline_rights.len(), 4);
    let aff = holder.holder.affiliation(&w.domain).expect("affiliated");
    assert_eq!(aff.status, AffiliationStatus::Provisional);
    assert_eq!(aff.capabilities.iter().copied().collect::<Vec<_>>(), vec![Capability::Vote, Capability::Transact]);

    assert_eq!(m.steward_by_did(w.stewards[1].did.as_str())?.steward.attestations_issued, 1);
    assert_eq!(m.steward_by_did(w.stewards[0].did.as_str())?.steward.attestations_issued, 0);
    Ok(())
}

#[test]
fn completed_session_is_deleted_and_replays_are_refused_without_change() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let person = Person::new();
    let id = w.enroll_to_level(&m, &person, 2, 0)?;
    let complete = person.sign::<EnrollComplete>(&id, json!({}));
    m.complete_enrollment(&complete)?;
    let before = snapshot(&m);
    // The same envelope again: its nonce is spent.
    assert!(matches!(
        m.complete_enrollment(&complete),
        Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::Replayed, .. }))
    ));
    // A fresh envelope for the same step: the session is gone.
    assert!(matches!(
        m.complete_enrollment(&person.sign::<EnrollComplete>(&id, json!({}))),
        Err(CommonsError::Refused(Refusal::NotFound { entity: "enrollment", .. }))
    ));
    assert_eq!(snapshot(&m), before);
    assert!(matches!(m.enrollment(&id), Err(CommonsError::Refused(Refusal::NotFound { .. }))));
    // The same person cannot start over and verify: one anchor per principal.
    let again = m.start_enrollment("Again".into(), Some(w.domain.clone()))?;
    let before_verify = snapshot(&m);
    let err = m.verify_enrollment(
        &person.sign::<EnrollVerify>(&again.enrollment_id, json!({"verification_code": again.verification_code})),
    );
    assert!(
        matches!(err, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::AlreadyEnrolled, .. }))),
        "{err:?}"
    );
    assert_eq!(snapshot(&m), before_verify);
    assert_ne!(before, before_verify, "starting a session writes it");
    Ok(())
}

#[test]
fn refused_steps_change_nothing() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let person = Person::new();
    let stranger = Person::new();
    let started = m.start_enrollment("P".into(), Some(w.domain.clone()))?;
    let id = started.enrollment_id.clone();
    let before = snapshot(&m);

    // Wrong code.
    let r = m.verify_enrollment(&person.sign::<EnrollVerify>(&id, json!({"verification_code": "VERIFY-000000x"})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::Forbidden { .. }))), "{r:?}");
    // Vouch before verify.
    let r = m.vouch_enrollment(&w.stewards[0].sign::<EnrollVouch>(&id, json!({"person_did": person.did.as_str()})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidTransition { .. }))), "{r:?}");
    // Complete at level 0.
    let r = m.complete_enrollment(&person.sign::<EnrollComplete>(&id, json!({})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidTransition { .. }))), "{r:?}");
    assert_eq!(snapshot(&m), before);

    m.verify_enrollment(&person.sign::<EnrollVerify>(&id, json!({"verification_code": started.verification_code})))?;
    let before = snapshot(&m);
    // A non-steward cannot vouch.
    let r = m.vouch_enrollment(&stranger.sign::<EnrollVouch>(&id, json!({"person_did": person.did.as_str()})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::Forbidden { .. }))), "{r:?}");
    // A steward vouching for another DID.
    let r = m.vouch_enrollment(&w.stewards[0].sign::<EnrollVouch>(&id, json!({"person_did": stranger.did.as_str()})));
    assert!(
        matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::PersonMismatch, .. }))),
        "{r:?}"
    );
    // Completing without a vouch on a charter without open enrollment.
    let r = m.complete_enrollment(&person.sign::<EnrollComplete>(&id, json!({})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidTransition { .. }))), "{r:?}");
    // Verifying twice.
    let r =
        m.verify_enrollment(&person.sign::<EnrollVerify>(&id, json!({"verification_code": started.verification_code})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidTransition { .. }))), "{r:?}");
    assert_eq!(snapshot(&m), before);

    m.vouch_enrollment(&w.stewards[0].sign::<EnrollVouch>(&id, json!({"person_did": person.did.as_str()})))?;
    let before = snapshot(&m);
    // Someone else completing the person's enrollment.
    let r = m.complete_enrollment(&stranger.sign::<EnrollComplete>(&id, json!({})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::Forbidden { .. }))), "{r:?}");
    // Rejecting after the vouch.
    let r = m.reject_enrollment(&w.stewards[1].sign::<EnrollReject>(&id, json!({"reason": "late"})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidTransition { .. }))), "{r:?}");
    assert_eq!(snapshot(&m), before);
    Ok(())
}

#[test]
fn open_enrollment_completes_at_level_one_as_genesis_candidate() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "garden", true)?;
    let person = Person::new();
    let id = w.enroll_to_level(&m, &person, 1, 0)?;
    let anchor = m.complete_enrollment(&person.sign::<EnrollComplete>(&id, json!({})))?;
    assert_eq!(anchor.anchor.pathway, Pathway::Genesis);
    assert_eq!(anchor.pop_level, Some(PopLevel::Weak));
    assert_eq!(anchor.anchor.attestations[0].method, AttestationMethod::SelfAsserted);
    let holder = m.holder(&anchor.anchor.anchor_id)?;
    let aff = holder.holder.affiliation(&w.domain).expect("affiliated");
    assert_eq!(aff.status, AffiliationStatus::Candidate);
    assert!(aff.capabilities.is_empty());
    Ok(())
}

#[test]
fn enrollment_without_domain_joins_the_commons_only() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let person = Person::new();
    let started = m.start_enrollment("Solo".into(), None)?;
    let id = started.enrollment_id;
    m.verify_enrollment(&person.sign::<EnrollVerify>(&id, json!({"verification_code": started.verification_code})))?;
    m.vouch_enrollment(&w.stewards[0].sign::<EnrollVouch>(&id, json!({"person_did": person.did.as_str()})))?;
    let anchor = m.complete_enrollment(&person.sign::<EnrollComplete>(&id, json!({})))?;
    assert!(m.holder(&anchor.anchor.anchor_id)?.holder.affiliations.is_empty());
    Ok(())
}

#[test]
fn rejected_session_accepts_no_further_step() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let person = Person::new();
    let id = w.enroll_to_level(&m, &person, 1, 0)?;
    let view = m.reject_enrollment(&w.stewards[0].sign::<EnrollReject>(&id, json!({"reason": "could not confirm"})))?;
    assert_eq!(view.rejected.as_ref().map(|r| r.reason.as_str()), Some("could not confirm"));
    let before = snapshot(&m);
    let r = m.vouch_enrollment(&w.stewards[1].sign::<EnrollVouch>(&id, json!({"person_did": person.did.as_str()})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidTransition { .. }))), "{r:?}");
    let r = m.reject_enrollment_by_operator(&id, "again".into());
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::InvalidTransition { .. }))), "{r:?}");
    assert_eq!(snapshot(&m), before);
    Ok(())
}

#[test]
fn expired_session_answers_expired_and_is_swept() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let a = Person::new();
    let id_a = w.enroll_to_level(&m, &a, 1, 0)?;
    let id_b = m.start_enrollment("B".into(), None)?.enrollment_id;
    let id_c = m.start_enrollment("C".into(), None)?.enrollment_id;
    m.clock().advance(24 * 3600 - 1);
    assert_eq!(m.sweep_expired_enrollments()?, 0);
    assert_eq!(m.enrollment(&id_b)?.level, 0);
    m.clock().advance(1);
    let r = m.vouch_enrollment(&w.stewards[0].sign::<EnrollVouch>(&id_a, json!({"person_did": a.did.as_str()})));
    assert!(matches!(r, Err(CommonsError::Refused(Refusal::Expired { .. }))), "{r:?}");
    // Touching it deleted it.
    assert!(matches!(m.enrollment(&id_a), Err(CommonsError::Refused(Refusal::NotFound { .. }))));
    assert_eq!(m.sweep_expired_enrollments()?, 2);
    assert!(matches!(m.enrollment(&id_b), Err(CommonsError::Refused(Refusal::NotFound { .. }))));
    assert!(matches!(m.enrollment(&id_c), Err(CommonsError::Refused(Refusal::NotFound { .. }))));
    assert!(m.store().backend().scan(b"enrollment")?.is_empty(), "sessions and their expiry rows are gone");
    Ok(())
}

#[test]
fn concurrent_completions_count_every_vouch() -> Result<()> {
    let m = memory()?;
    let w = World::build(&m, "bakery", false)?;
    let people: Vec<Person> = (0..40).map(|_| Person::new()).collect();
    let ids: Vec<String> = people.iter().map(|p| w.enroll_to_level(&m, p, 2, 0)).collect::<Result<_>>()?;
    let pairs: Vec<(&Person, &String)> = people.iter().zip(&ids).collect();
    std::thread::scope(|s| {
        for chunk in pairs.chunks(10) {
            let m = &m;
            s.spawn(move || {
                for (p, id) in chunk {
                    m.complete_enrollment(&p.sign::<EnrollComplete>(id, json!({}))).expect("completes");
                }
            });
        }
    });
    assert_eq!(m.steward_by_did(w.stewards[0].did.as_str())?.steward.attestations_issued, 40);
    Ok(())
}
