//! A small commons built through `CommonsManager` with real keys and real
//! signatures ([`World`]), the managers it lives in (in memory, over any
//! backend, or reopened from a data directory, all with a manual clock at
//! [`T0`]), fixtures written straight through the store (members in bulk),
//! and the checks every manager test makes: a refusal that leaves every row
//! as it was ([`refused`]), the state of a revocation target.

use anyhow::Result;
use commons_gateway::actions::*;
use commons_gateway::backend::InMemoryCommonsStore;
use commons_gateway::records::Capability;
use commons_gateway::Refusal;
use commons_gateway::{Clock, CommonsManager, Page};
use commons_gateway::{CommonsStoreBackend, Did, Durability, OpenBackend, StoreConfig};

use super::keys::Person;

/// A fixed start time (2026-11-01T00:00:00Z), Unix seconds.
pub const T0: u64 = 1_793_491_200;
/// Seconds in a day.
pub const DAY: u64 = 86_400;
/// Seconds in a week (an amendment's default voting time).
pub const WEEK: u64 = 7 * DAY;
/// A well-formed SHA-256 (of "test"), for appeal evidence.
pub const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// The manager most tests use: in memory, manual clock at [`T0`].
pub type Memory = CommonsManager<InMemoryCommonsStore>;

/// A fresh in-memory manager with a manual clock at [`T0`].
pub fn memory() -> Result<Memory> {
    manager_on(InMemoryCommonsStore::new())
}

/// A manager over `backend` with a manual clock at [`T0`].
pub fn manager_on<S: CommonsStoreBackend>(backend: S) -> Result<CommonsManager<S>> {
    Ok(CommonsManager::with_backend(backend, &StoreConfig::default(), Clock::manual(T0))?)
}

/// The persistent store of engine `S` in the data directory `dir` (created
/// or reopened) with `durability`, its manual clock at `now`.
pub fn open_at<S: OpenBackend>(dir: &std::path::Path, durability: Durability, now: u64) -> Result<CommonsManager<S>> {
    let config = StoreConfig { durability, ..StoreConfig::default() };
    Ok(CommonsManager::<S>::open(dir, &config)?.with_clock(Clock::manual(now)))
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
        // Stewards are genesis 0 and 1; keep clones of them for clarity.
        let stewards = genesis[..2].to_vec();
        Ok(Self { genesis, stewards, charter_id, domain })
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

/// Every item of a paged list, in list order: `page(cursor, limit)` is
/// called from the first page (`None`) until a page has no `next_cursor`;
/// every page must hold at most `limit` items.
pub fn all_pages<T, E>(limit: usize, mut page: impl FnMut(Option<&str>, usize) -> Result<Page<T>, E>) -> Result<Vec<T>>
where
    anyhow::Error: From<E>,
{
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10_000 {
        let p = page(cursor.as_deref(), limit)?;
        assert!(p.items.len() <= limit, "a page of {} items, over the limit {limit}", p.items.len());
        items.extend(p.items);
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(items),
        }
    }
    anyhow::bail!("the list did not end after 10000 pages")
}

/// `p`, holder `id`, applies to join `domain`.
pub fn apply<S: CommonsStoreBackend>(
    m: &CommonsManager<S>,
    p: &Person,
    id: &str,
    domain: &str,
) -> commons_gateway::CommonsResult<commons_gateway::records::HolderView> {
    m.apply_affiliation(&p.sign::<AffiliationApply>(id, serde_json::json!({ "jurisdiction": domain })))
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
    caps: &[Capability],
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
    caps: &[Capability],
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

/// A world and one more person, Pat: a Member of its coop holding `caps`
/// and a commons-wide steward. Returns Pat with their holder id (= anchor
/// id) and steward id.
pub fn world_with_member<S: CommonsStoreBackend>(
    m: &CommonsManager<S>,
    caps: &[Capability],
) -> Result<(World, Person, String, String)> {
    let w = World::build(m, "bakery", false)?;
    let p = Person::new();
    let holder_id = m.bootstrap_anchor(p.did.as_str(), Some("Pat".into()))?.anchor.anchor_id;
    make_member(m, &p.did, &w.domain, caps)?;
    let steward_id = m.register_steward(p.did.as_str(), 365, None)?.steward.steward_id;
    Ok((w, p, holder_id, steward_id))
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
