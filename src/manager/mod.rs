//! [`CommonsManager<S>`]: the operations of the commons (`docs/DOMAIN.md`)
//! over a [`CommonsStore`], with the engine chosen at compile time
//! (`S = CommonsBackend` by default). One file per entity: `anchors.rs`,
//! `holders.rs` (holders and their affiliations), `charters.rs`,
//! `stewards.rs`, `enrollments.rs`, `amendments.rs`, `appeals.rs`,
//! `revocations.rs`; each holds that entity's operations and the payloads of
//! its signed actions and operator bodies. Shared: `standing.rs` (who is in
//! good standing), `input.rs` (checks of request input), `locks.rs`,
//! `clock.rs`, `error.rs`.
//!
//! **Invariants:** every operation that changes several records (or a record
//! and its index rows) commits them as ONE atomic batch; read-modify-write
//! operations hold the per-record locks of every record they change (taken
//! all at once, in a fixed order, so they cannot deadlock), so N concurrent
//! updates are N updates; signed actions arrive as [`Signed`] values,
//! verified before any rule runs; a refusal returns before anything is
//! written, so it changes nothing, in the store or in the caches. With
//! `Durability::Sync` a change is durable when its call returns `Ok`.
//!
//! [`Signed`]: crate::model::signing::Signed

mod amendments;
mod anchors;
mod appeals;
mod charters;
mod clock;
mod enrollments;
mod error;
mod holders;
mod input;
mod locks;
mod replay;
mod revocations;
mod standing;
mod stewards;

use std::path::{Path, PathBuf};

pub use amendments::{
    AmendmentAddChange, AmendmentFilter, AmendmentOpenVoting, AmendmentPropose, AmendmentSubmit, AmendmentWithdraw,
    CastVote, ChangeInput, ClosedAmendment, RequirementsInput,
};
pub use anchors::Attest;
pub use appeals::{
    AppealEvidence, AppealFile, AppealFilter, AppealRespond, AppealWithdraw, DismissRequest, ResolveRequest,
};
pub use charters::{CharterActivate, CharterCreate, CharterFilter, CharterSign, MembershipPolicyInput};
pub use clock::Clock;
pub use enrollments::{
    EnrollComplete, EnrollReject, EnrollVerify, EnrollVouch, EnrollmentStarted, MAX_ENROLLMENT_RETRY_AFTER_SECS,
};
pub use error::{CommonsError, CommonsResult};
pub use holders::{
    parse_affiliation_status, AffiliationApply, AffiliationApprove, AffiliationLeave, AffiliationPromote, HolderUpdate,
};
pub use replay::SPENT_NONCE_GRACE_SECS;
pub use revocations::RevocationRequest;
pub use stewards::StewardFilter;

use crate::backend::{CommonsBackend, CommonsStoreBackend, OpenBackend, StoreConfig};
use crate::model::error::Refusal;
use crate::model::signing::EnvelopePolicy;
use crate::store::{Changes, CommonsStore, Entity};
use locks::LockTable;

/// How many times a read-modify-write runs before a conflict that keeps
/// coming back is answered `Unavailable` (503, retry later). Each run after
/// the first waits a random 1..=2^n ms (n = the run before, at most
/// `MAX_PAUSE_EXPONENT` = 6), so the whole budget is at most 1.73 s of waiting
/// (0.9 s on average). Sized so that a write to the busiest record of a
/// commons (the evidence list of one appeal, the tally of one vote) from 16
/// clients on 3 gateways still lands: a conflict means another writer's
/// change to the same record did land, so with k writers on one record a
/// run fails only while one of the other k - 1 is committing.
pub const MAX_ATTEMPTS: u32 = 32;

/// The largest pause between two runs of a read-modify-write is
/// 2^`MAX_PAUSE_EXPONENT` ms (64 ms).
const MAX_PAUSE_EXPONENT: u32 = 6;

/// The error of a read-modify-write that met a conflict [`MAX_ATTEMPTS`]
/// times: the store is too contended right now (503, retry later).
fn contended(last: &crate::store::StoreError) -> crate::store::StoreError {
    crate::backend::BackendError::Unavailable {
        reason: format!(
            "the change conflicted with concurrent writers {MAX_ATTEMPTS} times ({last}); nothing was written, \
             retry later"
        ),
    }
    .into()
}

/// The default cap on enrollment sessions open at once
/// ([`CommonsManager::with_max_open_enrollments`]; `serve
/// --max-open-enrollments`). A session is a few hundred bytes, so the cap
/// bounds what anonymous clients can make the store keep to a few MB, while
/// 10,000 people enrolling within one 24 h session lifetime is far above
/// what one cooperative network's stewards can vouch for.
pub const DEFAULT_MAX_OPEN_ENROLLMENTS: usize = 10_000;

/// What `/v1/health` and `commons-gateway info` report about the store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoreInfo {
    /// Engine name (`memory`, `sled`, `fjall`).
    pub backend: &'static str,
    /// Whether data survives the process.
    pub persistent: bool,
    /// The data directory, when one was given.
    pub data_dir: Option<PathBuf>,
    /// The database (URL without its password), for the networked engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Schema version of the store.
    pub schema_version: u32,
    /// `sync`, `buffered`, or `none` for a store that keeps nothing.
    pub durability: &'static str,
}

/// The commons: every operation of `docs/DOMAIN.md` on one store. Share one
/// manager per process (e.g. one `web::Data<CommonsManager>`); it is `Sync`.
pub struct CommonsManager<S = CommonsBackend> {
    store: CommonsStore<S>,
    locks: LockTable,
    clock: Clock,
    info: StoreInfo,
    envelopes: EnvelopePolicy,
    max_open_enrollments: usize,
    starts_in_flight: enrollments::StartsInFlight,
}

impl<S: OpenBackend> CommonsManager<S> {
    /// Opens (or creates) the store of engine `S` in `data_dir`
    /// (`<data_dir>/commons.<engine>`), with the system clock.
    ///
    /// # Errors
    /// `Store(Backend(ForeignStore))` when another engine's store is there;
    /// `Store(Backend(Locked))` when another process holds it; `SchemaTooNew`;
    /// engine errors for an unreadable store (files are never modified to
    /// "repair" them). See [`CommonsStore::open`].
    pub fn open(data_dir: &Path, config: &StoreConfig) -> CommonsResult<Self> {
        let mut manager = Self::over(CommonsStore::open(data_dir, config)?, config, Clock::System);
        manager.info.data_dir = Some(data_dir.to_path_buf());
        Ok(manager)
    }

    /// A manager over a throw-away copy of the existing store of engine `S`
    /// in `data_dir` (see [`CommonsStore::open_copy`]): the store's own files
    /// are only read. For `verify` and `export`.
    ///
    /// # Errors
    /// As [`CommonsManager::open`]; `Store(Backend(Damaged))` naming the
    /// damaged file or the lost commits when the store fails its checks.
    pub fn open_copy(data_dir: &Path, config: &StoreConfig) -> CommonsResult<Self> {
        let mut manager = Self::over(CommonsStore::open_copy(data_dir, config)?, config, Clock::System);
        manager.info.data_dir = Some(data_dir.to_path_buf());
        Ok(manager)
    }

    /// Connects to the store of the networked engine `S` (PostgreSQL) at
    /// `url`, with the system clock. Any number of managers, in any number of
    /// processes, may share one database.
    ///
    /// # Errors
    /// `Store(Backend(WrongLocation))` for an engine that lives in a folder;
    /// `Store(Backend(Unavailable))` when the server cannot be reached;
    /// `SchemaTooNew`; engine errors. The URL's password is never shown.
    pub fn connect(url: &str, config: &StoreConfig) -> CommonsResult<Self> {
        Self::connected(CommonsStore::connect(url, config)?, url, config)
    }

    /// As [`CommonsManager::connect`], for a store that must already exist
    /// (the `verify` and `export` tools): a database without the store's
    /// table is refused and nothing is created in it.
    ///
    /// # Errors
    /// As [`CommonsManager::connect`]; `Store(Backend(WrongLocation))` when
    /// the database holds no store.
    pub fn connect_existing(url: &str, config: &StoreConfig) -> CommonsResult<Self> {
        Self::connected(CommonsStore::connect_existing(url, config)?, url, config)
    }

    fn connected(store: CommonsStore<S>, url: &str, config: &StoreConfig) -> CommonsResult<Self> {
        let mut manager = Self::over(store, config, Clock::System);
        manager.info.database = Some(S::describe_url(url).map_err(crate::store::StoreError::from)?);
        Ok(manager)
    }

    /// A store in a temporary directory (removed on drop), or in memory, with
    /// the system clock.
    ///
    /// # Errors
    /// As [`CommonsManager::open`].
    pub fn temporary(config: &StoreConfig) -> CommonsResult<Self> {
        Ok(Self::over(CommonsStore::temporary(config)?, config, Clock::System))
    }
}

impl<S: CommonsStoreBackend> CommonsManager<S> {
    /// A manager over an already open backend: fault-injecting wrappers, the
    /// `Arc<dyn CommonsStoreBackend>` escape hatch, a manual clock. The engine
    /// name and persistence come from the backend itself.
    ///
    /// # Errors
    /// `SchemaTooNew`, backend errors (see [`CommonsStore::new`]).
    pub fn with_backend(backend: S, config: &StoreConfig, clock: Clock) -> CommonsResult<Self> {
        Ok(Self::over(CommonsStore::new(backend, config)?, config, clock))
    }

    fn over(store: CommonsStore<S>, config: &StoreConfig, clock: Clock) -> Self {
        let persistent = store.backend().persistent();
        let info = StoreInfo {
            backend: store.backend().name(),
            persistent,
            data_dir: None,
            database: None,
            schema_version: store.schema_version(),
            durability: if persistent { config.durability.as_str() } else { "none" },
        };
        Self {
            store,
            locks: LockTable::new(),
            clock,
            info,
            envelopes: EnvelopePolicy::default(),
            max_open_enrollments: DEFAULT_MAX_OPEN_ENROLLMENTS,
            starts_in_flight: enrollments::StartsInFlight::default(),
        }
    }

    /// The same manager with another clock (tests move a [`Clock::manual`]).
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    /// The same manager accepting envelopes under `policy` (audience, clock
    /// skew, longest lifetime; the default is the spec's: `commons`, 60 s,
    /// 600 s). See [`CommonsManager::open_envelope`].
    pub fn with_envelope_policy(self, policy: EnvelopePolicy) -> Self {
        Self { envelopes: policy, ..self }
    }

    /// What envelopes this manager accepts.
    pub fn envelope_policy(&self) -> &EnvelopePolicy {
        &self.envelopes
    }

    /// The same manager with another cap on enrollment sessions open at
    /// once (default [`DEFAULT_MAX_OPEN_ENROLLMENTS`]); past it
    /// [`CommonsManager::start_enrollment`] refuses with
    /// `TooManyEnrollments` until sessions complete or expire. 0 refuses
    /// every start.
    pub fn with_max_open_enrollments(self, max: usize) -> Self {
        Self { max_open_enrollments: max, ..self }
    }

    /// The cap on enrollment sessions open at once.
    pub fn max_open_enrollments(&self) -> usize {
        self.max_open_enrollments
    }

    /// The store underneath.
    pub fn store(&self) -> &CommonsStore<S> {
        &self.store
    }

    /// What the store is.
    pub fn info(&self) -> &StoreInfo {
        &self.info
    }

    /// `Ok` while the store serves requests (the gateway's `/v1/health`).
    ///
    /// # Errors
    /// `Store(Backend(Unavailable))` once the store stopped after a failed
    /// write; fix the cause named and restart the process.
    pub fn check_available(&self) -> CommonsResult<()> {
        Ok(self.store.check_available()?)
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Current time, Unix seconds.
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Runs `read` (a read of this manager, e.g. `|m| m.anchor(id)`) on the
    /// record caches alone, for a caller that must not block (the gateway's
    /// async workers): `Some` with exactly what `read` answers when it
    /// needed no engine I/O and no wait for a record lock; `None` when it did
    /// (a cache miss, an index lookup, a write, a busy lock) or when this
    /// store keeps no record cache (a shared engine such as PostgreSQL, or
    /// `cache_records: 0`). After `None`, run `read` normally (off the async
    /// workers). Nothing `read` did in the attempt is kept: a write it tried
    /// was refused before the engine was touched.
    pub fn cached<T>(&self, read: impl FnOnce(&Self) -> CommonsResult<T>) -> Option<CommonsResult<T>> {
        if !self.store.caches_records() {
            return None;
        }
        crate::store::cache_only(|| read(self))
    }

    /// Makes every committed change durable (called on graceful shutdown).
    ///
    /// # Errors
    /// Store errors.
    pub fn flush(&self) -> CommonsResult<()> {
        Ok(self.store.flush()?)
    }

    /// The record `id` of `E`, or `NotFound` naming the entity.
    fn get_required<E: Entity>(&self, id: &str) -> CommonsResult<E> {
        self.store.get::<E>(id)?.ok_or_else(|| Refusal::not_found(E::NAME, id).into())
    }

    /// Writes `new` over `old` (the version read under the record's lock),
    /// with its index rows, as one batch ([`Self::commit`]: with a running
    /// signed operation's nonce).
    fn save<E: Entity>(&self, new: &E, old: Option<&E>) -> CommonsResult<()> {
        let mut changes = Changes::new();
        changes.put(new, old)?;
        self.commit(changes)
    }

    /// Runs `section` (a read-modify-write: it reads the records it
    /// changes, checks the rules and commits) holding the in-process locks of
    /// `ids`, and runs it again from the start when its commit met a
    /// conflict: another writer (a gateway sharing the database) changed a
    /// record it read, so nothing was written and the rules must be checked
    /// against the new version. At most [`MAX_ATTEMPTS`] runs, with a short
    /// random pause between them (so gateways that collided do not collide
    /// again in step); after that the answer is `Unavailable` (503: retry
    /// later). The locks are released during the pause.
    fn exclusive<T>(&self, ids: &[&str], mut section: impl FnMut() -> CommonsResult<T>) -> CommonsResult<T> {
        let mut attempt = 1;
        loop {
            let result = {
                let _guard = if crate::store::in_cache_only() {
                    // A cached read (`cached`) never waits for a lock.
                    self.locks.try_lock(ids).ok_or_else(crate::store::refuse_io)?
                } else {
                    self.locks.lock(ids)
                };
                if attempt > 1 {
                    // The conflict may have been another use of this envelope.
                    self.refuse_replay_on_rerun()?;
                }
                section()
            };
            match result {
                Err(CommonsError::Store(e)) if e.is_conflict() => {
                    if attempt == MAX_ATTEMPTS {
                        return Err(contended(&e).into());
                    }
                    let pause = rand::random::<u64>() % (1 << attempt.min(MAX_PAUSE_EXPONENT)) + 1;
                    std::thread::sleep(std::time::Duration::from_millis(pause));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The one read-modify-write path for a change to ONE record: checks
    /// `id` (64 hex), locks it, reads the record, applies `change` to a copy
    /// at `now` (the record's own transition method refuses what its table
    /// does not allow), and commits the copy with its index rows as one
    /// batch, re-running on a conflict ([`Self::exclusive`]). Returns the new
    /// version and `now`. On any error nothing was written.
    fn update_record<E: Entity, Err>(
        &self,
        id: &str,
        change: impl Fn(&mut E, u64) -> Result<(), Err>,
    ) -> CommonsResult<(E, u64)>
    where
        CommonsError: From<Err>,
    {
        crate::model::ids::check_hex_id(E::NAME, id)?;
        self.exclusive(&[id], || {
            let old = self.get_required::<E>(id)?;
            let mut new = old.clone();
            let now = self.now();
            change(&mut new, now)?;
            self.save(&new, Some(&old))?;
            Ok((new, now))
        })
    }

    /// An operator's status change of one record: checks the optional
    /// `reason` (at most 2,000 characters), applies `change` through
    /// [`Self::update_record`], and writes the change to the operator log.
    fn operator_update<E: Entity, Err>(
        &self,
        id: &str,
        action: &'static str,
        reason: Option<String>,
        change: impl Fn(&mut E, String, u64) -> Result<(), Err>,
    ) -> CommonsResult<(E, u64)>
    where
        CommonsError: From<Err>,
    {
        let reason = input::check_reason(reason)?;
        let logged = reason.clone();
        let (record, now) = self.update_record::<E, Err>(id, |r, now| change(r, reason.clone(), now))?;
        input::log_operator(E::NAME, id, action, &logged);
        Ok((record, now))
    }
}
