//! [`EnrollmentSession`]: an enrollment in flight, persisted so that a restart
//! does not lose it.
//!
//! **Invariant:** levels only rise 0 -> 1 (the person signed and the DID is
//! bound) -> 2 (a steward vouched); a rejected or expired session accepts no
//! further step. Completion is done by the manager in one atomic batch.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::did::Did;
use super::error::{ConflictCode, Refusal};

/// How long a session lives, in seconds (24 hours).
pub const ENROLLMENT_TTL_SECS: u64 = 24 * 3600;
/// Longest identity name, in characters.
pub const MAX_IDENTITY_NAME_CHARS: usize = 100;

/// A steward's vouch for the person bound to the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vouch {
    /// The steward.
    pub steward_did: Did,
    /// The `enroll-vouch` envelope signature (128 hex).
    pub signature: String,
    /// Unix seconds.
    pub at: u64,
}

/// Why and by whom a session was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// Why.
    pub reason: String,
    /// A steward's DID, or `"operator"`.
    pub by: String,
    /// Unix seconds.
    pub at: u64,
}

/// An enrollment in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentSession {
    /// UUID v4 (unguessable).
    pub enrollment_id: String,
    /// 1..=100 characters.
    pub identity_name: String,
    /// The charter to join, if any (an Active charter at start).
    pub domain_id: Option<String>,
    /// `VERIFY-` + 6 random digits, given to the starter only.
    pub verification_code: String,
    /// 0 started, 1 verified (DID bound), 2 vouched.
    pub level: u8,
    /// Bound at level 1.
    pub person_did: Option<Did>,
    /// Set at level 2.
    pub vouch: Option<Vouch>,
    /// Set when rejected.
    pub rejected: Option<Rejection>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
    /// created_at + 24 h.
    pub expires_at: u64,
}

/// A session as `GET /v1/enrollments/{id}` shows it: everything but the
/// verification code, which only the starter receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrollmentView {
    /// See [`EnrollmentSession`].
    pub enrollment_id: String,
    /// See [`EnrollmentSession`].
    pub identity_name: String,
    /// See [`EnrollmentSession`].
    pub domain_id: Option<String>,
    /// See [`EnrollmentSession`].
    pub level: u8,
    /// See [`EnrollmentSession`].
    pub person_did: Option<Did>,
    /// See [`EnrollmentSession`].
    pub vouch: Option<Vouch>,
    /// See [`EnrollmentSession`].
    pub rejected: Option<Rejection>,
    /// See [`EnrollmentSession`].
    pub created_at: u64,
    /// See [`EnrollmentSession`].
    pub updated_at: u64,
    /// See [`EnrollmentSession`].
    pub expires_at: u64,
}

impl EnrollmentSession {
    /// A new level-0 session with a fresh UUID v4 and verification code.
    ///
    /// # Errors
    /// `InvalidInput` on `identity_name` (1..=100 characters, no control
    /// characters).
    pub fn start(identity_name: String, domain_id: Option<String>, now: u64) -> Result<Self, Refusal> {
        let n = identity_name.chars().count();
        if n == 0 || n > MAX_IDENTITY_NAME_CHARS || identity_name.chars().any(char::is_control) {
            return Err(Refusal::invalid("identity_name", "1..=100 characters without control characters"));
        }
        let code: u32 = rand::thread_rng().gen_range(0..1_000_000);
        Ok(Self {
            enrollment_id: uuid::Uuid::new_v4().to_string(),
            identity_name,
            domain_id,
            verification_code: format!("VERIFY-{code:06}"),
            level: 0,
            person_did: None,
            vouch: None,
            rejected: None,
            created_at: now,
            updated_at: now,
            expires_at: now + ENROLLMENT_TTL_SECS,
        })
    }

    /// The public view (no verification code).
    pub fn view(&self) -> EnrollmentView {
        EnrollmentView {
            enrollment_id: self.enrollment_id.clone(),
            identity_name: self.identity_name.clone(),
            domain_id: self.domain_id.clone(),
            level: self.level,
            person_did: self.person_did.clone(),
            vouch: self.vouch.clone(),
            rejected: self.rejected.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            expires_at: self.expires_at,
        }
    }

    /// True when `now` is at or past `expires_at`.
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }

    fn refuse(&self, action: &'static str) -> Refusal {
        let from = if self.rejected.is_some() { "rejected".to_string() } else { format!("at level {}", self.level) };
        Refusal::InvalidTransition { entity: "enrollment", id: self.enrollment_id.clone(), from, action }
    }

    /// Checks that the session is live (not expired, not rejected).
    ///
    /// # Errors
    /// `Expired`; `InvalidTransition` when rejected.
    pub fn ensure_live(&self, action: &'static str, now: u64) -> Result<(), Refusal> {
        if self.is_expired(now) {
            return Err(Refusal::Expired { entity: "enrollment", id: self.enrollment_id.clone() });
        }
        if self.rejected.is_some() {
            return Err(self.refuse(action));
        }
        Ok(())
    }

    /// Level 0 -> 1: the person proved the code and binds their DID.
    ///
    /// # Errors
    /// `Expired`; `InvalidTransition` unless level 0 and not rejected;
    /// `Forbidden` on a wrong code.
    pub fn verify(&mut self, person: Did, code: &str, now: u64) -> Result<(), Refusal> {
        self.ensure_live("verify", now)?;
        if self.level != 0 {
            return Err(self.refuse("verify"));
        }
        if code != self.verification_code {
            return Err(Refusal::forbidden("verification code does not match"));
        }
        self.person_did = Some(person);
        self.level = 1;
        self.updated_at = now;
        Ok(())
    }

    /// Level 1 -> 2: a steward vouches for the bound person.
    ///
    /// # Errors
    /// `Expired`; `InvalidTransition` unless level 1 and not rejected;
    /// `Conflict` `person_mismatch` when `person` is not the bound DID.
    pub fn vouch(&mut self, person: &Did, vouch: Vouch, now: u64) -> Result<(), Refusal> {
        self.ensure_live("vouch", now)?;
        if self.level != 1 {
            return Err(self.refuse("vouch"));
        }
        if self.person_did.as_ref() != Some(person) {
            return Err(Refusal::conflict(
                ConflictCode::PersonMismatch,
                format!("enrollment {} is bound to another DID than {person}", self.enrollment_id),
            ));
        }
        self.vouch = Some(vouch);
        self.level = 2;
        self.updated_at = now;
        Ok(())
    }

    /// Marks the session rejected (before level 2).
    ///
    /// # Errors
    /// `Expired`; `InvalidTransition` when at level 2 or already rejected.
    pub fn reject(&mut self, reason: String, by: String, now: u64) -> Result<(), Refusal> {
        self.ensure_live("reject", now)?;
        if self.level >= 2 {
            return Err(self.refuse("reject"));
        }
        if reason.chars().count() > 2000 {
            return Err(Refusal::invalid("reason", "at most 2,000 characters"));
        }
        self.rejected = Some(Rejection { reason, by, at: now });
        self.updated_at = now;
        Ok(())
    }
}
