//! Enrollment sessions: start, verify, vouch, complete, reject, expiry.
//!
//! Completion creates the anchor, the holder (with its affiliation), bumps the
//! vouching steward's counter and deletes the session in ONE atomic batch.
//! An expired session answers `Expired` (410) and is deleted when touched;
//! [`CommonsManager::sweep_expired_enrollments`] deletes the rest.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::input::{parse_did, require_actor};
use super::CommonsResult;
use super::{CommonsError, CommonsManager};
use crate::backend::CommonsStoreBackend;
use crate::model::anchor::{AnchorView, Attestation, AttestationMethod, Pathway, PersonhoodAnchor, PopLevel};
use crate::model::enrollment::{EnrollmentSession, EnrollmentView, Vouch};
use crate::model::error::{ConflictCode, Refusal};
use crate::model::holder::{AffiliationStatus, Capability, CommonsHolderRecord};
use crate::model::ids::check_uuid;
use crate::model::signing::{signed_actions, Signed};
use crate::model::steward::StewardRecord;
use crate::store::Changes;
use crate::store::Due;

signed_actions! {
    /// `enroll-verify` on an enrollment: the person proves the code.
    EnrollVerify = "enroll-verify" {
        /// The code handed out at start.
        pub verification_code: String,
    }

    /// `enroll-vouch` on an enrollment: a steward vouches for the bound person.
    EnrollVouch = "enroll-vouch" {
        /// The DID bound at verify (checked to match).
        pub person_did: String,
    }

    /// `enroll-complete` on an enrollment: the person finishes it.
    EnrollComplete = "enroll-complete" {}

    /// `enroll-reject` on an enrollment: a steward turns it down.
    EnrollReject = "enroll-reject" {
        /// Why (at most 2,000 characters).
        pub reason: String,
    }
}

/// The longest `Retry-After` of a [`Refusal::TooManyEnrollments`], in
/// seconds (60). The soonest expiry of an open session is a sure bound but
/// may be up to 24 h away, while completions free room at any moment: a
/// client is told to look again within a minute.
pub const MAX_ENROLLMENT_RETRY_AFTER_SECS: u64 = 60;

/// The lock name that serialises the admission of enrollment starts in one
/// process (the count of open sessions and the reservation of a place; the
/// write of the new session and its sync run after it is released). Not a
/// record id, so it shares its lock stripe with records only by chance.
const START_LOCK: &str = "enrollment-start";

/// What `POST /v1/enrollments` answers: the only time the code is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrollmentStarted {
    /// UUID v4.
    pub enrollment_id: String,
    /// `VERIFY-` + 6 digits; the person signs it back at verify.
    pub verification_code: String,
    /// Unix seconds.
    pub expires_at: u64,
}

/// The enrollment starts of this process admitted under the cap whose
/// session is still being written (see
/// [`CommonsManager::start_enrollment`]).
#[derive(Debug, Default)]
pub(super) struct StartsInFlight(AtomicUsize);

impl StartsInFlight {
    /// How many starts hold a place now.
    fn count(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }

    /// Takes a place, given back when the returned guard is dropped (after
    /// the session's write, whether it succeeded or not).
    fn reserve(&self) -> Place<'_> {
        self.0.fetch_add(1, Ordering::AcqRel);
        Place(&self.0)
    }
}

/// A place taken by [`StartsInFlight::reserve`].
struct Place<'a>(&'a AtomicUsize);

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<S: CommonsStoreBackend> CommonsManager<S> {
    /// Starts an enrollment (public). `domain_id`, when given, must be an
    /// Active charter's domain; without it the person joins the commons only.
    ///
    /// At most [`CommonsManager::max_open_enrollments`] sessions are open at
    /// once: stored and not yet expired, rejected ones included (they are
    /// kept until they expire). The count reads at most that many rows of
    /// the store's expiry index. In one process, admission is serialised:
    /// under one lock, the stored open sessions plus the starts of this
    /// process still being written are counted, and a place is reserved;
    /// the session is then written (and, with `Durability::Sync`, synced)
    /// outside that lock, so concurrent starts share group commits instead
    /// of waiting for each other's fsync, and one process never goes past
    /// the cap (a start whose write has landed but whose reservation is not
    /// yet released is counted twice, which only refuses early). Gateways
    /// sharing one database do not see each other's starts in flight, so
    /// concurrent starts through different gateways may overshoot the cap
    /// by at most the number of those concurrent starts.
    ///
    /// # Errors
    /// `InvalidInput` on `identity_name` or `domain_id`; `NotFound` (charter);
    /// `Conflict` `charter_not_active`; `TooManyEnrollments` when the cap is
    /// reached (retry after its `retry_after_secs`: the seconds until the
    /// soonest open session expires, at most
    /// [`MAX_ENROLLMENT_RETRY_AFTER_SECS`], since sessions also complete
    /// sooner); store errors (nothing written).
    pub fn start_enrollment(
        &self,
        identity_name: String,
        domain_id: Option<String>,
    ) -> CommonsResult<EnrollmentStarted> {
        if let Some(d) = &domain_id {
            self.active_charter(d)?;
        }
        let (now, place) = self.exclusive(&[START_LOCK], || {
            let now = self.now();
            let limit = self.max_open_enrollments;
            let open = self.store.open_enrollments(now, limit)?;
            if open.count.saturating_add(self.starts_in_flight.count()) >= limit {
                let wait = open.soonest_expiry.map_or(MAX_ENROLLMENT_RETRY_AFTER_SECS, |at| at.saturating_sub(now));
                return Err(Refusal::TooManyEnrollments {
                    limit,
                    retry_after_secs: wait.clamp(1, MAX_ENROLLMENT_RETRY_AFTER_SECS),
                }
                .into());
            }
            Ok((now, self.starts_in_flight.reserve()))
        })?;
        let session = EnrollmentSession::start(identity_name, domain_id, now)?;
        self.save(&session, None)?;
        drop(place);
        Ok(EnrollmentStarted {
            enrollment_id: session.enrollment_id,
            verification_code: session.verification_code,
            expires_at: session.expires_at,
        })
    }

    /// Reads a live session; an expired one is deleted and reported `Expired`.
    /// Callers hold the session's lock.
    fn live_session(&self, id: &str) -> CommonsResult<EnrollmentSession> {
        check_uuid("enrollment", id)?;
        let session = self.get_required::<EnrollmentSession>(id)?;
        if session.is_expired(self.now()) {
            // Housekeeping, straight to the store: it carries no envelope
            // nonce, so the refused action spends nothing.
            let mut changes = Changes::new();
            changes.delete(&session)?;
            self.store.commit(changes)?;
            return Err(Refusal::Expired { entity: "enrollment", id: id.to_string() }.into());
        }
        Ok(session)
    }

    /// The session (without its verification code).
    ///
    /// # Errors
    /// `InvalidId`, `NotFound`, `Expired`.
    pub fn enrollment(&self, id: &str) -> CommonsResult<EnrollmentView> {
        check_uuid("enrollment", id)?;
        self.exclusive(&[id], || Ok(self.live_session(id)?.view()))
    }

    /// The person signs the verification code: binds their DID, level 1.
    ///
    /// # Errors
    /// `InvalidId`, `NotFound`, `Expired`; `InvalidTransition` unless level 0;
    /// `Forbidden` on a wrong code; `Conflict` `already_enrolled` when the
    /// principal already has an anchor.
    pub fn verify_enrollment(&self, signed: &Signed<EnrollVerify>) -> CommonsResult<EnrollmentView> {
        self.once(signed, || {
            let id = signed.target.as_str();
            check_uuid("enrollment", id)?;
            self.exclusive(&[id], || {
                let old = self.live_session(id)?;
                self.ensure_not_enrolled(&signed.actor)?;
                let mut session = old.clone();
                session.verify(signed.actor.clone(), &signed.body.verification_code, self.now())?;
                self.save(&session, Some(&old))?;
                Ok(session.view())
            })
        })
    }

    fn ensure_not_enrolled(&self, did: &crate::model::did::Did) -> CommonsResult<()> {
        let anchor_id = PersonhoodAnchor::id_for(did);
        if self.store.get::<PersonhoodAnchor>(&anchor_id)?.is_some() {
            return Err(Refusal::conflict(
                ConflictCode::AlreadyEnrolled,
                format!("{did} already has anchor {anchor_id}"),
            )
            .into());
        }
        Ok(())
    }

    /// A steward that can attest (commons-wide, or of the session's
    /// jurisdiction) vouches for the bound person: level 2.
    ///
    /// # Errors
    /// `InvalidId`, `InvalidDid`, `NotFound`, `Expired`; `Forbidden` unless
    /// such a steward; `InvalidTransition` unless level 1; `Conflict`
    /// `person_mismatch`.
    pub fn vouch_enrollment(&self, signed: &Signed<EnrollVouch>) -> CommonsResult<EnrollmentView> {
        self.once(signed, || {
            let id = signed.target.as_str();
            check_uuid("enrollment", id)?;
            let person = parse_did(&signed.body.person_did)?;
            self.exclusive(&[id], || {
                let old = self.live_session(id)?;
                let now = self.now();
                self.attesting_steward(&signed.actor, old.domain_id.as_deref(), now)?;
                let mut session = old.clone();
                session.vouch(
                    &person,
                    Vouch { steward_did: signed.actor.clone(), signature: signed.signature.clone(), at: now },
                    now,
                )?;
                self.save(&session, Some(&old))?;
                Ok(session.view())
            })
        })
    }

    /// A steward (commons-wide or of the session's jurisdiction) rejects the
    /// session before level 2.
    ///
    /// # Errors
    /// As [`CommonsManager::reject_enrollment_by_operator`], plus `Forbidden`
    /// unless the actor is an Active steward serving the jurisdiction.
    pub fn reject_enrollment(&self, signed: &Signed<EnrollReject>) -> CommonsResult<EnrollmentView> {
        self.once(signed, || {
            let id = signed.target.as_str();
            check_uuid("enrollment", id)?;
            self.exclusive(&[id], || {
                let old = self.live_session(id)?;
                self.attesting_steward(&signed.actor, old.domain_id.as_deref(), self.now())?;
                self.reject_locked(old, signed.body.reason.clone(), signed.actor.to_string())
            })
        })
    }

    /// Operator: rejects the session before level 2.
    ///
    /// # Errors
    /// `InvalidId`, `NotFound`, `Expired`; `InvalidTransition` at level 2 or
    /// when already rejected; `InvalidInput` on a reason over 2,000 characters.
    pub fn reject_enrollment_by_operator(&self, id: &str, reason: String) -> CommonsResult<EnrollmentView> {
        check_uuid("enrollment", id)?;
        self.exclusive(&[id], || {
            let old = self.live_session(id)?;
            self.reject_locked(old, reason.clone(), "operator".to_string())
        })
    }

    fn reject_locked(&self, old: EnrollmentSession, reason: String, by: String) -> CommonsResult<EnrollmentView> {
        let mut session = old.clone();
        session.reject(reason, by, self.now())?;
        self.save(&session, Some(&old))?;
        Ok(session.view())
    }

    /// The person completes the enrollment. Needs level 2, or level 1 when
    /// the charter's policy has open enrollment. In ONE atomic batch: the
    /// anchor (StewardVouched + a Strong StewardVouch attestation carrying the
    /// vouch signature, or Genesis + a Weak SelfAsserted attestation carrying
    /// this signature), the Active holder, the affiliation (Provisional with
    /// Vote and Transact when vouched, Candidate otherwise; none without a
    /// domain), the steward's `attestations_issued + 1`, and the deletion of
    /// the session. Returns the new anchor.
    ///
    /// The resulting proof-of-personhood level (Strong when vouched, Weak
    /// otherwise) must reach the charter's `required_pop_level`.
    ///
    /// # Errors
    /// `InvalidId`, `NotFound`, `Expired`; `Forbidden` unless signed by the
    /// bound person; `InvalidTransition` when the level is too low or the
    /// session was rejected; `Conflict` `already_enrolled`,
    /// `charter_not_active`, `insufficient_pop_level`, `vouch_no_longer_valid`
    /// (the vouching steward can no longer attest: suspended, revoked, out of
    /// term, its anchor or holder record no longer Active; the person starts
    /// a new enrollment); store errors (nothing written).
    pub fn complete_enrollment(&self, signed: &Signed<EnrollComplete>) -> CommonsResult<AnchorView> {
        self.once(signed, || {
            let id = signed.target.as_str();
            check_uuid("enrollment", id)?;
            let anchor_id = PersonhoodAnchor::id_for(&signed.actor);
            let vouch_steward_id = {
                // Peek (without the lock) to know which steward record to lock too;
                // re-checked under the lock below.
                self.live_session(id)?.vouch.map(|v| StewardRecord::id_for(&v.steward_did))
            };
            let mut lock_ids = vec![id, anchor_id.as_str()];
            if let Some(s) = &vouch_steward_id {
                lock_ids.push(s);
            }
            self.exclusive(&lock_ids, || {
                let session = self.live_session(id)?;
                if session.vouch.as_ref().map(|v| StewardRecord::id_for(&v.steward_did)) != vouch_steward_id {
                    return Err(Refusal::conflict(
                        ConflictCode::ConcurrentChange,
                        "the enrollment changed while completing; retry",
                    )
                    .into());
                }
                session.ensure_live("complete", self.now())?;
                let Some(person) = session.person_did.clone() else {
                    return Err(Refusal::InvalidTransition {
                        entity: "enrollment",
                        id: id.into(),
                        from: "at level 0".into(),
                        action: "complete",
                    }
                    .into());
                };
                require_actor(signed, &person, "the enrolling person")?;
                let now = self.now();
                let charter = match &session.domain_id {
                    Some(d) => Some(self.active_charter(d)?),
                    None => None,
                };
                let open = charter.as_ref().is_some_and(|c| c.membership_policy.open_enrollment);
                if session.level < 2 && !(session.level == 1 && open) {
                    return Err(Refusal::InvalidTransition {
                        entity: "enrollment",
                        id: id.into(),
                        from: format!("at level {}", session.level),
                        action: "complete without a steward's vouch (the charter has no open enrollment)",
                    }
                    .into());
                }
                self.ensure_not_enrolled(&person)?;
                if let Some(v) = &session.vouch {
                    // The vouch counts only while its steward could still give it.
                    match self.attesting_steward(&v.steward_did, session.domain_id.as_deref(), now) {
                        Ok(_) => {}
                        Err(CommonsError::Refused(e @ Refusal::Forbidden { .. })) => {
                            return Err(Refusal::conflict(
                                ConflictCode::VouchNoLongerValid,
                                format!(
                                    "the vouch of {} no longer counts ({e}); start a new enrollment",
                                    v.steward_did
                                ),
                            )
                            .into())
                        }
                        Err(e) => return Err(e),
                    }
                }

                let mut changes = Changes::new();
                let (anchor, steward_update) = match &session.vouch {
                    Some(v) => {
                        let mut anchor = PersonhoodAnchor::new(
                            person.clone(),
                            Pathway::StewardVouched { steward_did: v.steward_did.clone() },
                            now,
                        );
                        anchor.attestations.push(Attestation {
                            issuer_did: v.steward_did.clone(),
                            level: PopLevel::Strong,
                            method: AttestationMethod::StewardVouch,
                            issued_at: v.at,
                            expires_at: None,
                            signature: v.signature.clone(),
                        });
                        let old_steward = self.get_required::<StewardRecord>(&StewardRecord::id_for(&v.steward_did))?;
                        let mut steward = old_steward.clone();
                        steward.record_attestation(now);
                        (anchor, Some((steward, old_steward)))
                    }
                    None => {
                        let mut anchor = PersonhoodAnchor::new(person.clone(), Pathway::Genesis, now);
                        anchor.attestations.push(Attestation {
                            issuer_did: person.clone(),
                            level: PopLevel::Weak,
                            method: AttestationMethod::SelfAsserted,
                            issued_at: now,
                            expires_at: None,
                            signature: signed.signature.clone(),
                        });
                        (anchor, None)
                    }
                };
                let mut holder = CommonsHolderRecord::new(anchor.anchor_id.clone(), person, None, now);
                if let Some(c) = &charter {
                    let level = anchor.pop_level(now).unwrap_or(PopLevel::Weak);
                    if level < c.membership_policy.required_pop_level {
                        return Err(Refusal::conflict(
                            ConflictCode::InsufficientPopLevel,
                            format!(
                                "charter {} requires {} personhood; this enrollment reaches {}",
                                c.domain_id,
                                c.membership_policy.required_pop_level.name(),
                                level.name()
                            ),
                        )
                        .into());
                    }
                    let (status, caps) = if session.vouch.is_some() {
                        (AffiliationStatus::Provisional, BTreeSet::from([Capability::Vote, Capability::Transact]))
                    } else {
                        (AffiliationStatus::Candidate, BTreeSet::new())
                    };
                    holder.join(&c.domain_id, status, caps, now)?;
                }
                changes.put(&anchor, None)?;
                changes.put(&holder, None)?;
                if let Some((steward, old)) = &steward_update {
                    changes.put(steward, Some(old))?;
                }
                changes.delete(&session)?;
                self.commit(changes)?;
                Ok(anchor.view(now))
            })
        })
    }

    /// Deletes every session whose `expires_at` has passed, one batch per
    /// session; returns how many were deleted.
    ///
    /// # Errors
    /// Store errors (sessions deleted before the error stay deleted).
    pub fn sweep_expired_enrollments(&self) -> CommonsResult<usize> {
        let now = self.now();
        let mut deleted = 0;
        self.store.for_each_due(Due::ExpiredEnrollments, now, |id| -> CommonsResult<()> {
            // Another gateway's sweep may delete it first: the commit then
            // conflicts and the re-run finds nothing to delete.
            self.exclusive(&[id], || {
                if let Some(session) = self.store.get::<EnrollmentSession>(id)? {
                    if session.is_expired(now) {
                        let mut changes = Changes::new();
                        changes.delete(&session)?;
                        self.store.commit(changes)?;
                        deleted += 1;
                    }
                }
                Ok(())
            })
        })?;
        Ok(deleted)
    }
}
