//! [`CommonsManager<S>`]: the operations of `DOMAIN.md` over a
//! [`CommonsStore`], with the engine chosen at compile time
//! (`S = CommonsBackend` by default).
//!
//! **Invariants:** every operation that changes several records (or a record
//! and its index rows) commits them as ONE atomic batch; read-modify-write
//! operations hold the per-record locks of every record they change (taken in
//! a fixed order, so they cannot deadlock), so N concurrent updates are N
//! updates; signed actions arrive as [`Signed`] values, verified before any
//! rule runs.
//!
//! The anchor is the identity root: a principal whose anchor is not Active
//! (suspended or revoked, directly or by a revocation record) takes no
//! governance action, whatever its holder, membership or steward records
//! say: no vote, proposal, charter founding or signing, attestation, vouch,
//! approval or opening of a vote (`CommonsManager::require_active_anchor`
//! runs in every such check). What the holder keeps are its due-process and
//! exit actions (appeals, evidence, responses, withdrawing, leaving) and
//! finishing its own enrollment.

pub mod actions;
pub mod amendments;
pub mod appeals;
pub mod charters;
pub mod enrollment;
pub mod governance_actions;
pub mod identity;
pub mod lifecycle;
mod lifecycle_actions;
pub mod revocations;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::backend::{store_folder, CommonsBackend, CommonsStoreBackend, OpenBackend, StoreConfig};
use crate::model::anchor::{AnchorStatus, PersonhoodAnchor};
use crate::model::did::Did;
use crate::model::error::{CommonsError, CommonsResult};
use crate::model::holder::CommonsHolderRecord;
use crate::model::signing::Signed;
use crate::store::{CommonsStore, Entity, StoreError};

pub use enrollment::EnrollmentStarted;

/// Where "now" comes from. Tests use [`Clock::manual`] to move time.
#[derive(Debug, Default)]
pub enum Clock {
    /// The system clock (Unix seconds).
    #[default]
    System,
    /// A clock that only moves when told.
    Manual(AtomicU64),
}

impl Clock {
    /// A manual clock at `now` (Unix seconds).
    pub fn manual(now: u64) -> Self {
        Clock::Manual(AtomicU64::new(now))
    }
    /// Current time, Unix seconds.
    pub fn now(&self) -> u64 {
        match self {
            Clock::System => SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            Clock::Manual(t) => t.load(Ordering::SeqCst),
        }
    }
    /// Moves a manual clock forward by `secs` (no effect on the system clock).
    pub fn advance(&self, secs: u64) {
        if let Clock::Manual(t) = self {
            t.fetch_add(secs, Ordering::SeqCst);
        }
    }
}

/// What `/v1/health` and `commons-gateway info` report about the store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoreInfo {
    /// Engine name (`memory`, `sled`, `fjall`).
    pub backend: &'static str,
    /// Whether data survives the process.
    pub persistent: bool,
    /// The data directory, when one was given.
    pub data_dir: Option<PathBuf>,
    /// Schema version of the store.
    pub schema_version: u32,
    /// `sync` or `buffered`.
    pub durability: &'static str,
}

const LOCK_STRIPES: usize = 256;

/// Striped per-record locks.
struct LockTable {
    stripes: Vec<Mutex<()>>,
}

impl LockTable {
    fn new() -> Self {
        Self { stripes: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect() }
    }

    /// Locks the stripes of every id, in ascending stripe order.
    fn lock(&self, ids: &[&str]) -> Vec<MutexGuard<'_, ()>> {
        let mut idx: Vec<usize> = ids
            .iter()
            .map(|id| {
                let mut h = DefaultHasher::new();
                id.hash(&mut h);
                (h.finish() % LOCK_STRIPES as u64) as usize
            })
            .collect();
        idx.sort_unstable();
        idx.dedup();
        // The guarded value is `()`: a poisoned stripe protects no state.
        idx.into_iter().map(|i| self.stripes[i].lock().unwrap_or_else(PoisonError::into_inner)).collect()
    }
}

/// The commons: every operation of `DOMAIN.md` on one store. Share one
/// manager per process (e.g. one `web::Data<CommonsManager>`); it is `Sync`.
pub struct CommonsManager<S = CommonsBackend> {
    store: CommonsStore<S>,
    locks: LockTable,
    clock: Clock,
    info: StoreInfo,
}

impl<S: OpenBackend> CommonsManager<S> {
    /// Opens (or creates) the store of engine `S` in `data_dir`
    /// (`<data_dir>/commons.<engine>`).
    ///
    /// # Errors
    /// `Store(Backend(ForeignStore))` when another engine's store is there;
    /// `Store(Backend(Locked))` when another process holds it; `SchemaTooNew`;
    /// engine errors for an unreadable store (files are never modified to
    /// "repair" them).
    pub fn open(data_dir: &Path, config: &StoreConfig) -> CommonsResult<Self> {
        let folder = store_folder::<S>(data_dir).map_err(StoreError::from)?;
        std::fs::create_dir_all(data_dir).map_err(|source| {
            StoreError::from(crate::backend::BackendError::Io { path: data_dir.to_path_buf(), source })
        })?;
        let backend = S::open(&folder, config).map_err(StoreError::from)?;
        Self::with_backend(backend, config, Some(data_dir.to_path_buf()), S::NAME, S::PERSISTENT, Clock::System)
    }

    /// A store in a temporary directory (removed on drop), or in memory.
    ///
    /// # Errors
    /// As [`CommonsManager::open`].
    pub fn temporary(config: &StoreConfig) -> CommonsResult<Self> {
        let backend = S::temporary(config).map_err(StoreError::from)?;
        Self::with_backend(backend, config, None, S::NAME, S::PERSISTENT, Clock::System)
    }
}

impl<S: CommonsStoreBackend> CommonsManager<S> {
    /// A manager over an already open backend (fault-injecting wrappers, the
    /// `Arc<dyn CommonsStoreBackend>` escape hatch, a manual clock).
    ///
    /// # Errors
    /// `SchemaTooNew`, backend errors.
    pub fn with_backend(
        backend: S,
        config: &StoreConfig,
        data_dir: Option<PathBuf>,
        backend_name: &'static str,
        persistent: bool,
        clock: Clock,
    ) -> CommonsResult<Self> {
        let store = CommonsStore::new(backend, config)?;
        let info = StoreInfo {
            backend: backend_name,
            persistent,
            data_dir,
            schema_version: store.schema_version(),
            durability: if persistent { config.durability.as_str() } else { "none" },
        };
        Ok(Self { store, locks: LockTable::new(), clock, info })
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

    /// Makes every committed change durable (called on graceful shutdown).
    ///
    /// # Errors
    /// Store errors.
    pub fn flush(&self) -> CommonsResult<()> {
        Ok(self.store.flush()?)
    }

    /// `Ok` when `did`'s anchor exists and is Active (see the module docs).
    ///
    /// # Errors
    /// `Forbidden` naming the anchor and its status; store errors.
    pub(crate) fn require_active_anchor(&self, did: &Did) -> CommonsResult<()> {
        let id = PersonhoodAnchor::id_for(did);
        match self.store.get::<PersonhoodAnchor>(&id)? {
            Some(anchor) if anchor.status == AnchorStatus::Active => Ok(()),
            Some(anchor) => Err(CommonsError::forbidden(format!(
                "anchor {id} of {did} is {}: a principal whose anchor is not Active takes no governance action",
                anchor.status.name()
            ))),
            None => Err(CommonsError::forbidden(format!("{did} has no anchor in the commons"))),
        }
    }

    /// Whether `did` is in good standing: an Active holder with an Active
    /// anchor.
    ///
    /// # Errors
    /// Store errors.
    pub(crate) fn in_good_standing(&self, did: &Did) -> CommonsResult<bool> {
        let holder = self.store.get::<CommonsHolderRecord>(&PersonhoodAnchor::id_for(did))?; // holder_id = anchor_id
        Ok(holder.is_some_and(|h| h.is_active()) && self.anchor_is_active(did)?)
    }

    /// Whether `did` has an Active anchor.
    ///
    /// # Errors
    /// Store errors.
    pub(crate) fn anchor_is_active(&self, did: &Did) -> CommonsResult<bool> {
        let anchor = self.store.get::<PersonhoodAnchor>(&PersonhoodAnchor::id_for(did))?;
        Ok(anchor.is_some_and(|a| a.status == AnchorStatus::Active))
    }

    fn get_required<E: Entity>(&self, id: &str) -> CommonsResult<E> {
        self.store.get::<E>(id)?.ok_or_else(|| CommonsError::not_found(E::NAME, id))
    }
}

/// Parses a DID from a request, mapping errors to `InvalidDid`.
fn parse_did(text: &str) -> CommonsResult<Did> {
    Ok(Did::parse(text)?)
}

/// The actor of a signed action must be `expected`.
fn require_actor<A>(signed: &Signed<A>, expected: &Did, who: &str) -> CommonsResult<()> {
    if &signed.actor == expected {
        Ok(())
    } else {
        Err(CommonsError::forbidden(format!("only {who} may sign this action")))
    }
}
