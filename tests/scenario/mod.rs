//! A small commons built through `CommonsManager` with real keys and real
//! signatures, shared by the manager and persistence tests.

#![allow(dead_code)]

use anyhow::Result;
use commons_gateway::actions::*;
use commons_gateway::Refusal;
use commons_gateway::{Action, Signed, SignedEnvelope};
use commons_gateway::{Clock, CommonsManager};
use commons_gateway::{CommonsStoreBackend, Did, StoreConfig};
use ed25519_dalek::SigningKey;

/// A fixed start time (2026-11-01T00:00:00Z), Unix seconds.
pub const T0: u64 = 1_793_491_200;

/// A principal: key and DID.
pub struct Person {
    pub key: SigningKey,
    pub did: Did,
}

impl Person {
    /// A fresh random principal.
    pub fn new() -> Self {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let did = Did::from_verifying_key(&key.verifying_key());
        Self { key, did }
    }

    /// Signs `payload` for action `A` on `target` and opens it, as the
    /// gateway does.
    pub fn sign<A: Action>(&self, target: &str, payload: serde_json::Value) -> Signed<A> {
        SignedEnvelope::sign(&self.key, A::ACTION, target, payload.to_string())
            .open::<A>(target)
            .expect("own signature verifies")
    }
}

/// A manager over `backend` with a manual clock at [`T0`].
pub fn manager_on<S: CommonsStoreBackend>(backend: S) -> Result<CommonsManager<S>> {
    Ok(CommonsManager::with_backend(backend, &StoreConfig::default(), Clock::manual(T0))?)
}

/// The commons after bootstrap: genesis members, two stewards, an Active
/// cooperative charter `coop:<slug>` signed by three founders.
pub struct World {
    pub genesis: Vec<Person>,
    pub stewards: Vec<Person>,
    pub charter_id: String,
    pub domain: String,
}

impl World {
    /// Builds it: 5 genesis members (the first two also stewards), charter
    /// created by genesis 0, signed by 0, 1, 2 and activated.
    pub fn build<S: CommonsStoreBackend>(m: &CommonsManager<S>, slug: &str, open_enrollment: bool) -> Result<Self> {
        let genesis: Vec<Person> = (0..5).map(|_| Person::new()).collect();
        for (i, p) in genesis.iter().enumerate() {
            m.bootstrap_anchor(p.did.as_str(), Some(format!("Genesis {i}")))?;
        }
        for p in &genesis[..2] {
            m.register_steward(p.did.as_str(), 365, None)?;
        }
        let domain = format!("coop:{slug}");
        let created = m.create_charter(&genesis[0].sign::<CharterCreate>(
            "-",
            serde_json::json!({
                "domain_id": domain, "org_type": "Cooperative", "name": format!("The {slug} cooperative"),
                "description": "Bakes bread together.",
                "membership_policy": {"min_founders": 3, "open_enrollment": open_enrollment, "required_pop_level": if open_enrollment { "Weak" } else { "Strong" }}
            }),
        ))?;
        let charter_id = created.charter.charter_id.clone();
        for p in &genesis[..3] {
            m.sign_charter(
                &p.sign::<CharterSign>(&charter_id, serde_json::json!({"digest": created.digest, "role": "founder"})),
            )?;
        }
        m.activate_charter(&genesis[0].sign::<CharterActivate>(&charter_id, serde_json::json!({})))?;
        let stewards = Vec::new();
        let mut world = Self { genesis, stewards, charter_id, domain };
        // Stewards are genesis 0 and 1; keep clones of their keys for clarity.
        for i in 0..2 {
            let key = world.genesis[i].key.clone();
            world.stewards.push(Person { did: world.genesis[i].did.clone(), key });
        }
        Ok(world)
    }

    /// Starts an enrollment for `person` into the world's coop and brings it
    /// to `level` (0, 1 or 2, vouched by steward `steward`). Returns its id.
    pub fn enroll_to_level<S: CommonsStoreBackend>(
        &self,
        m: &CommonsManager<S>,
        person: &Person,
        level: u8,
        steward: usize,
    ) -> Result<String> {
        let started = m.start_enrollment("A. Person".into(), Some(self.domain.clone()))?;
        let id = started.enrollment_id.clone();
        if level >= 1 {
            m.verify_enrollment(
                &person.sign::<EnrollVerify>(&id, serde_json::json!({"verification_code": started.verification_code})),
            )?;
        }
        if level >= 2 {
            m.vouch_enrollment(
                &self.stewards[steward]
                    .sign::<EnrollVouch>(&id, serde_json::json!({"person_did": person.did.as_str()})),
            )?;
        }
        Ok(id)
    }

    /// A full enrollment: start, verify, vouch, complete. Returns the anchor id.
    pub fn enroll<S: CommonsStoreBackend>(
        &self,
        m: &CommonsManager<S>,
        person: &Person,
        steward: usize,
    ) -> Result<String> {
        let id = self.enroll_to_level(m, person, 2, steward)?;
        let anchor = m.complete_enrollment(&person.sign::<EnrollComplete>(&id, serde_json::json!({})))?;
        Ok(anchor.anchor.anchor_id)
    }
}

/// Every `(key, value)` in the store, for "nothing changed" checks.
pub fn snapshot<S: CommonsStoreBackend>(m: &CommonsManager<S>) -> Vec<(Vec<u8>, Vec<u8>)> {
    m.store().backend().scan(b"").expect("scan whole store")
}

// ---------------------------------------------------------------------------
// Governance fixtures (amendments, appeals, revocations).
// ---------------------------------------------------------------------------

/// Makes the holder of `did` a `Member` of `domain` holding exactly `caps`
/// (creating the affiliation when there is none), written straight through
/// the store in one batch: the record is what approve, promote and the
/// capabilities route would leave, without depending on those operations.
/// Returns the holder id.
pub fn make_member<S: CommonsStoreBackend>(
    m: &CommonsManager<S>,
    did: &Did,
    domain: &str,
    caps: &[commons_gateway::records::Capability],
) -> Result<String> {
    use commons_gateway::records::AffiliationStatus;
    let old = m.holder_by_did(did.as_str())?.holder;
    let mut holder = old.clone();
    let caps: std::collections::BTreeSet<_> = caps.iter().copied().collect();
    match holder.affiliations.iter_mut().find(|a| a.jurisdiction == domain) {
        Some(a) => {
            a.status = AffiliationStatus::Member;
            a.capabilities = caps;
            a.updated_at = m.now();
        }
        None => holder.join(domain, AffiliationStatus::Member, caps, m.now())?,
    }
    let mut changes = commons_gateway::Changes::new();
    changes.put(&holder, Some(&old))?;
    m.store().commit(changes)?;
    Ok(holder.holder_id)
}

/// `n` new principals, each with an anchor (pathway Admin), an Active holder
/// and a `Member` affiliation with `caps` in `domain`, all written in one
/// batch (fast enough for hundreds of voters on every engine).
pub fn new_members<S: CommonsStoreBackend>(
    m: &CommonsManager<S>,
    domain: &str,
    n: usize,
    caps: &[commons_gateway::records::Capability],
) -> Result<Vec<Person>> {
    use commons_gateway::records::{AffiliationStatus, CommonsHolderRecord};
    use commons_gateway::records::{Pathway, PersonhoodAnchor};
    let people: Vec<Person> = (0..n).map(|_| Person::new()).collect();
    let mut changes = commons_gateway::Changes::new();
    for p in &people {
        let anchor = PersonhoodAnchor::new(p.did.clone(), Pathway::Admin, m.now());
        let mut holder = CommonsHolderRecord::new(anchor.anchor_id.clone(), p.did.clone(), None, m.now());
        holder.join(domain, AffiliationStatus::Member, caps.iter().copied().collect(), m.now())?;
        changes.put(&anchor, None)?;
        changes.put(&holder, None)?;
    }
    m.store().commit(changes)?;
    Ok(people)
}

/// Runs `f`, asserts that `check` accepts its result and that the store did
/// not change.
pub fn refused<S: CommonsStoreBackend, T: std::fmt::Debug>(
    m: &CommonsManager<S>,
    what: &str,
    f: impl FnOnce() -> Result<T, commons_gateway::CommonsError>,
    check: impl Fn(&Result<T, commons_gateway::CommonsError>) -> bool,
) {
    let before = snapshot(m);
    let r = f();
    assert!(check(&r), "{what}: unexpected {r:?}");
    assert!(snapshot(m) == before, "{what}: refused but the store changed");
}

/// Whether `r` is a `Forbidden` refusal.
pub fn is_forbidden<T>(r: &Result<T, commons_gateway::CommonsError>) -> bool {
    matches!(r, Err(commons_gateway::CommonsError::Refused(Refusal::Forbidden { .. })))
}

/// Every kind of revocation target of one principal: its anchor, its holder
/// record, its membership in `domain` and its steward record.
pub fn revocation_targets(
    holder_id: &str,
    steward_id: &str,
    domain: &str,
) -> [commons_gateway::records::RevocationTarget; 4] {
    use commons_gateway::records::RevocationTarget;
    [
        RevocationTarget::Anchor { anchor_id: holder_id.to_string() },
        RevocationTarget::Holder { holder_id: holder_id.to_string() },
        RevocationTarget::Membership { holder_id: holder_id.to_string(), jurisdiction: domain.to_string() },
        RevocationTarget::Steward { steward_id: steward_id.to_string() },
    ]
}

/// A revocation target's state as one word: Live (Active, or a Member),
/// Suspended, Revoked (Banned for a membership), Other.
pub fn target_state<S: CommonsStoreBackend>(
    m: &CommonsManager<S>,
    target: &commons_gateway::records::RevocationTarget,
) -> Result<&'static str> {
    use commons_gateway::records::AnchorStatus;
    use commons_gateway::records::RevocationTarget;
    use commons_gateway::records::StewardStatus;
    use commons_gateway::records::{AffiliationStatus, HolderStatus};
    Ok(match target {
        RevocationTarget::Anchor { anchor_id } => match m.anchor(anchor_id)?.anchor.status {
            AnchorStatus::Active => "Live",
            AnchorStatus::Suspended { .. } => "Suspended",
            AnchorStatus::Revoked { .. } => "Revoked",
        },
        RevocationTarget::Holder { holder_id } => match m.holder(holder_id)?.holder.status {
            HolderStatus::Active => "Live",
            HolderStatus::Suspended { .. } => "Suspended",
            HolderStatus::Revoked { .. } => "Revoked",
            HolderStatus::Exited { .. } => "Other",
        },
        RevocationTarget::Membership { holder_id, jurisdiction } => {
            match m.holder(holder_id)?.holder.affiliation(jurisdiction).map(|a| a.status) {
                Some(AffiliationStatus::Member) => "Live",
                Some(AffiliationStatus::Suspended) => "Suspended",
                Some(AffiliationStatus::Banned) => "Revoked",
                _ => "Other",
            }
        }
        RevocationTarget::Steward { steward_id } => match m.steward(steward_id)?.steward.status {
            StewardStatus::Active => "Live",
            StewardStatus::Suspended { .. } => "Suspended",
            StewardStatus::Revoked { .. } => "Revoked",
            StewardStatus::Retired => "Other",
        },
    })
}
