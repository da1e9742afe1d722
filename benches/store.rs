//! Criterion benchmarks of the store, layer against layer, on the same keys
//! and values in one run, so that the result is a set of **ratios**, not
//! absolute times (`docs/ARCHITECTURE.md`, "Cross-cutting concerns").
//!
//! Layers, bottom to top:
//!
//! - **floor**: what no store can beat. A `BTreeMap<Vec<u8>, Vec<u8>>` for
//!   reads and buffered writes (copying keys and values in and out, as every
//!   backend must); for durable writes, overwriting the same bytes in a
//!   preallocated file in a temporary directory and calling `sync_data` (the
//!   fsync latency of the disk the engines' temporary stores live on; appending
//!   instead, which also journals the new file size, is measured alongside).
//! - **backend**: each engine compiled in (`InMemoryCommonsStore`,
//!   `SledCommonsStore`, `FjallCommonsStore`, `PostgresCommonsStore`) through
//!   the [`CommonsStoreBackend`] trait: `get`, `put`, `apply`.
//! - **store** and **manager**: the same work through [`CommonsStore`]
//!   (`Changes::put` + `commit`; `get` with the record cache hit, and missed with
//!   `cache_records: 0`) and through [`CommonsManager`] (`bootstrap_anchor`,
//!   `anchor`).
//!
//! PostgreSQL is measured when the run has a server: `COMMONS_TEST_DATABASE_URL`
//! names it (`cargo xtask bench` starts one and sets it), and every postgres
//! benchmark works in a fresh schema of its own, dropped afterwards. Without
//! one, the postgres benchmarks are skipped, and the run says so and why
//! (before criterion's output and again above the ratio tables). The server
//! is on the same machine: a round trip costs a tenth of a millisecond or so
//! here, more across a network.
//!
//! The unit of work is a *member*: a real anchor and its holder (from
//! deterministic ed25519 keys), that is the two JSON records and their two
//! index rows that `bootstrap_anchor` commits in one batch. Every layer writes
//! exactly those rows, and reads the anchor's record row.
//!
//! Groups (criterion shows the layers of a group side by side):
//!
//! - `read`: one anchor by id, among 1,000 members. The store's record cache
//!   is measured hit and missed on every engine, PostgreSQL included,
//!   although the store keeps no cache over a shared engine (another gateway
//!   may change a record): there a wrapper ([`CacheAllowed`]) lets the
//!   cache be measured, to price that rule (the `miss/hit` column). The
//!   manager's reads on PostgreSQL are misses, as in a gateway;
//! - `write_buffered`: inserting a new member's anchor row (`put_row`), or a
//!   new member (the rest), with [`Durability::Buffered`], into a store of up
//!   to 8,192 members (then a new store is opened, untimed);
//! - `write_sync`: the same with [`Durability::Sync`] (persistent engines only:
//!   the in-memory store has no durability to pay for);
//! - `concurrent_write`: new members (`bootstrap_anchor`) with
//!   [`Durability::Sync`] from 1 and from 16 threads at once, through one
//!   manager (as a gateway's workers share one), on each persistent engine,
//!   and on the in-memory store as the ceiling of the manager's own work;
//!   the table gives operations per second and how throughput grows with
//!   the clients (concurrent writers share a sync: group commit on the
//!   embedded engines, WAL flushes shared by concurrent commits on
//!   PostgreSQL), each engine beside fjall;
//! - `static_vs_dyn`: the same `get`/commit loop (over the 1,000 members of
//!   `read`) through `CommonsStore<E>` and
//!   `CommonsStore<Arc<dyn CommonsStoreBackend>>` over the same engine `E`
//!   (fjall whenever it is compiled in, as under `cargo xtask bench`; else
//!   the build's `CommonsBackend`), record cache off; then the two sides once more,
//!   interleaved in alternating rounds (the difference is smaller than the
//!   drift between two benchmarks run seconds apart).
//!
//! Every benchmark measures with `iter_custom`, and records the time of each of
//! criterion's samples; after criterion's report the run prints a ratio table
//! from the median time per operation over each benchmark's measurement
//! samples (the last `--sample-size` calls; criterion's warm-up calls come
//! first; `--quick` and `--profile-time` runs do not follow that pattern, and
//! their table is not meaningful). Under `cargo test --benches` (criterion's
//! test mode) every benchmark runs once and no table is printed.
//!
//! Run with `cargo xtask bench` (every persistent engine, PostgreSQL on a
//! throwaway server), or `cargo bench --bench store [--features ...] [-- FILTER]`.

use std::collections::BTreeMap;
use std::fs::File;
use std::hint::black_box;
use std::io::{Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

#[cfg(feature = "fjall-store")]
use commons_gateway::backend::FjallCommonsStore;
#[cfg(feature = "postgres-store")]
use commons_gateway::backend::PostgresCommonsStore;
#[cfg(feature = "sled-store")]
use commons_gateway::backend::SledCommonsStore;
use commons_gateway::backend::{BackendResult, InMemoryCommonsStore, Rows, WriteBatch};
use commons_gateway::records::CommonsHolderRecord;
use commons_gateway::records::{Pathway, PersonhoodAnchor};
use commons_gateway::Clock;
use commons_gateway::{Changes, CommonsStore, Entity};
use commons_gateway::{CommonsManager, CommonsStoreBackend, Did, Durability, OpenBackend, StoreConfig};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode};
use ed25519_dalek::SigningKey;

/// Members the reads and `static_vs_dyn` cycle through. This and [`FRESH`]
/// are smaller in debug builds (`cargo test --benches` runs each benchmark
/// once, unoptimised).
const MEMBERS: usize = if cfg!(debug_assertions) { 16 } else { 1_000 };
/// New members the write benchmarks insert, each once per store (a DID can be
/// bootstrapped once): after this many, a benchmark goes on with a new store,
/// opened untimed. So a write lands in a store of up to this many members.
const FRESH: usize = if cfg!(debug_assertions) { 16 } else { 8_192 };
/// Samples per benchmark (criterion's minimum); `--sample-size` overrides it.
const SAMPLE_SIZE: usize = 10;
/// Timestamp of the records, Unix seconds (2026-11-01T00:00:00Z).
const NOW: u64 = 1_793_491_200;
/// Threads writing at once in `concurrent_write`: one client, and as many
/// as the PostgreSQL engine's pool has connections.
const CLIENTS: [usize; 2] = [1, 16];
/// Measurement time of each `concurrent_write` benchmark: long enough that
/// each of its samples gives each of 16 threads dozens of durable writes.
const CONCURRENT_TIME: Duration = Duration::from_secs(3);

/// The engine of `static_vs_dyn`: fjall when it is compiled in (as under
/// `cargo xtask bench`, whose build's `CommonsBackend` is PostgreSQL, whose
/// round trips would drown the difference of dispatch), else the build's
/// `CommonsBackend`.
#[cfg(feature = "fjall-store")]
type DispatchEngine = FjallCommonsStore;
/// The engine of `static_vs_dyn`: the build's `CommonsBackend` (fjall is not
/// compiled in).
#[cfg(not(feature = "fjall-store"))]
type DispatchEngine = commons_gateway::CommonsBackend;

/// Why the networked engine (PostgreSQL) is not measured in this run, once
/// [`available`] found out.
static SKIPPED: OnceLock<Option<String>> = OnceLock::new();

/// Whether engine `E` can be measured in this run: always, but for a
/// networked engine (PostgreSQL), which needs the server named by
/// `COMMONS_TEST_DATABASE_URL`. The first call for it opens a temporary
/// store there; when that fails, it prints why and every postgres
/// benchmark is skipped.
fn available<E: OpenBackend>() -> bool {
    if !E::NETWORKED {
        return true;
    }
    let skipped = SKIPPED.get_or_init(|| {
        let reason = E::temporary(&StoreConfig::default()).err().map(|e| e.to_string());
        if let Some(reason) = &reason {
            eprintln!("{}: skipped in this run: {reason}", E::NAME);
        }
        reason
    });
    skipped.is_none()
}

/// A backend that says it is not shared, whatever it is, so that a
/// [`CommonsStore`] over it keeps a record cache. The store never keeps one
/// over a shared engine (PostgreSQL: another gateway may change a record);
/// `read` uses this only to measure what that rule costs. Everything else
/// is the wrapped backend's, `check_available` included: the store asks it
/// on every cache hit, and on PostgreSQL that is a query, so a hit there
/// still costs one round trip.
struct CacheAllowed<S>(S);

impl<S: CommonsStoreBackend> CommonsStoreBackend for CacheAllowed<S> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn persistent(&self) -> bool {
        self.0.persistent()
    }
    fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
        self.0.get(key)
    }
    fn scan_from(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize) -> BackendResult<Rows> {
        self.0.scan_from(prefix, start_after, limit)
    }
    fn apply(&self, batch: WriteBatch) -> BackendResult<()> {
        self.0.apply(batch)
    }
    fn flush(&self) -> BackendResult<()> {
        self.0.flush()
    }
    fn check_available(&self) -> BackendResult<()> {
        self.0.check_available()
    }
    fn size_on_disk(&self) -> BackendResult<u64> {
        self.0.size_on_disk()
    }
}

/// One member: its anchor and holder records, and the rows a commit of both
/// writes, in the order `Changes::put` adds them.
struct Member {
    anchor: PersonhoodAnchor,
    holder: CommonsHolderRecord,
    rows: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Member {
    /// The member of `did`, as `bootstrap_anchor` would create it at [`NOW`].
    fn new(did: Did) -> Self {
        let anchor = PersonhoodAnchor::new(did, Pathway::Admin, NOW);
        let holder = CommonsHolderRecord::new(anchor.anchor_id.clone(), anchor.did.clone(), None, NOW);
        let mut rows = rows_of(&anchor);
        rows.extend(rows_of(&holder));
        Self { anchor, holder, rows }
    }

    /// The anchor's record row.
    fn anchor_row(&self) -> (&[u8], &[u8]) {
        let (k, v) = &self.rows[0];
        (k, v)
    }

    /// A batch of every row.
    fn batch(&self) -> WriteBatch {
        let mut batch = WriteBatch::new();
        for (k, v) in &self.rows {
            batch.put(k.as_slice(), v.as_slice());
        }
        batch
    }
}

/// The record row and index rows of `record`, as the store writes them.
fn rows_of<E: Entity>(record: &E) -> Vec<(Vec<u8>, Vec<u8>)> {
    let json = serde_json::to_vec(record).expect("records encode to JSON");
    let mut rows = vec![(E::key_of(record.id()).into_bytes(), json)];
    rows.extend(record.index_rows().into_iter().map(|(k, v)| (k.into_bytes(), v.into_bytes())));
    rows
}

/// The DID of a deterministic key: seed = `tag`, then `i` little-endian.
fn did(tag: u8, i: usize) -> Did {
    let mut seed = [tag; 32];
    seed[1..9].copy_from_slice(&(i as u64).to_le_bytes());
    Did::from_verifying_key(&SigningKey::from_bytes(&seed).verifying_key())
}

/// The keys and values every layer works on.
struct Fixture {
    /// Members the reads (and `static_vs_dyn`) cycle through.
    members: Vec<Member>,
    /// Members the writes insert (other DIDs than `members`).
    fresh: Vec<Member>,
    /// Every row of one member, concatenated: what the fsync floor writes.
    member_bytes: Vec<u8>,
}

impl Fixture {
    fn new() -> Self {
        let members: Vec<Member> = (0..MEMBERS).map(|i| Member::new(did(1, i))).collect();
        let fresh = (0..FRESH).map(|i| Member::new(did(2, i))).collect();
        let member_bytes = members[0].rows.iter().flat_map(|(k, v)| k.iter().chain(v)).copied().collect();
        Self { members, fresh, member_bytes }
    }

    /// The member for iteration `i`.
    fn member(&self, i: u64) -> &Member {
        &self.members[i as usize % self.members.len()]
    }
}

/// The time of every call criterion made to each benchmark:
/// `"group/id" -> [(iterations, elapsed)]`, in call order.
static SAMPLES: Mutex<BTreeMap<String, Vec<(u64, Duration)>>> = Mutex::new(BTreeMap::new());

/// Runs `op(i)` for `i` in `0..iters` and returns the time it took.
fn timed(iters: u64, mut op: impl FnMut(u64)) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        op(i);
    }
    start.elapsed()
}

/// A criterion group that also records its samples in [`SAMPLES`].
struct Group<'a> {
    inner: BenchmarkGroup<'a, WallTime>,
    name: &'static str,
}

impl<'a> Group<'a> {
    fn new(c: &'a mut Criterion, name: &'static str) -> Self {
        Self { inner: c.benchmark_group(name), name }
    }

    /// Benchmark `id`: `routine(iters)` does `iters` operations and returns
    /// the time of the part to measure (setup it does is not counted).
    fn bench(&mut self, id: &str, mut routine: impl FnMut(u64) -> Duration) {
        let key = format!("{}/{id}", self.name);
        self.inner.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let took = routine(iters);
                SAMPLES
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(key.clone())
                    .or_default()
                    .push((iters, took));
                took
            })
        });
    }

    /// Benchmark `id` of inserting new members: `op(target, member)` for
    /// each of the fresh members in turn, on a target `open()` made (a map, a
    /// backend, a store, a manager), and on a new one, opened untimed, each
    /// time they run out.
    fn bench_fresh<T>(&mut self, id: &str, fx: &Fixture, open: impl FnMut() -> T, mut op: impl FnMut(&mut T, &Member)) {
        self.bench_fresh_runs(id, fx, open, |target, members| {
            for member in members {
                op(target, member);
            }
        });
    }

    /// As [`Group::bench_fresh`], but `run(target, members)` inserts a run
    /// of fresh members at once (from several threads, say); only `run` is
    /// timed. A run never spans two targets: when the fresh members run out
    /// within a call, the rest of its operations are a second run, on a new
    /// target.
    fn bench_fresh_runs<T>(
        &mut self,
        id: &str,
        fx: &Fixture,
        mut open: impl FnMut() -> T,
        mut run: impl FnMut(&mut T, &[Member]),
    ) {
        let mut current: Option<(T, usize)> = None;
        self.bench(id, |iters| {
            let mut took = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                if current.as_ref().is_some_and(|(_, used)| *used == fx.fresh.len()) {
                    current = None; // closes the old store before opening the next
                }
                let (target, used) = current.get_or_insert_with(|| (open(), 0));
                let n = left.min(fx.fresh.len() - *used);
                let start = Instant::now();
                run(target, &fx.fresh[*used..*used + n]);
                took += start.elapsed();
                *used += n;
                left -= n;
            }
            took
        });
    }

    fn finish(self) {
        self.inner.finish();
    }
}

/// A store over `backend` opened with `config`.
fn store_on<S: CommonsStoreBackend>(backend: S, config: &StoreConfig) -> CommonsStore<S> {
    CommonsStore::new(backend, config).expect("a fresh store opens")
}

/// Commits the anchor and holder of `member` through `store`, as new
/// records (the batch expects their keys absent).
fn commit_member<S: CommonsStoreBackend>(store: &CommonsStore<S>, member: &Member) {
    let mut changes = Changes::new();
    changes.put(&member.anchor, None).expect("anchor encodes");
    changes.put(&member.holder, None).expect("holder encodes");
    store.commit(changes).expect("commit");
}

/// Commits the anchor and holder of `member`, already in `store`, over
/// themselves (the batch expects each key to hold the record it holds): the
/// same rows as [`commit_member`], as an update rather than an insert.
fn recommit_member<S: CommonsStoreBackend>(store: &CommonsStore<S>, member: &Member) {
    let mut changes = Changes::new();
    changes.put(&member.anchor, Some(&member.anchor)).expect("anchor encodes");
    changes.put(&member.holder, Some(&member.holder)).expect("holder encodes");
    store.commit(changes).expect("commit");
}

/// Reads the anchor of every member through `store`, `iters` times in turn.
fn get_loop<S: CommonsStoreBackend>(store: &CommonsStore<S>, fx: &Fixture, iters: u64) -> Duration {
    timed(iters, |i| {
        black_box(store.get::<PersonhoodAnchor>(&fx.member(i).anchor.anchor_id).expect("get"));
    })
}

/// Commits every member (already in `store`) again through `store`, `iters`
/// times in turn.
fn commit_loop<S: CommonsStoreBackend>(store: &CommonsStore<S>, fx: &Fixture, iters: u64) -> Duration {
    timed(iters, |i| recommit_member(store, fx.member(i)))
}

/// Calls `$bench::<E>(args...)` for every persistent engine compiled in
/// (sled, fjall, PostgreSQL, in that order), and first for the in-memory
/// store too when the call starts with `memory,`.
macro_rules! each_engine {
    (memory, $bench:ident($($arg:expr),*)) => {
        $bench::<InMemoryCommonsStore>($($arg),*);
        each_engine!($bench($($arg),*));
    };
    ($bench:ident($($arg:expr),*)) => {
        #[cfg(feature = "sled-store")]
        $bench::<SledCommonsStore>($($arg),*);
        #[cfg(feature = "fjall-store")]
        $bench::<FjallCommonsStore>($($arg),*);
        #[cfg(feature = "postgres-store")]
        $bench::<PostgresCommonsStore>($($arg),*);
    };
}

/// `read`: the anchor of a member by id, at every layer.
fn read(c: &mut Criterion, fx: &Fixture) {
    let mut g = Group::new(c, "read");
    let map: BTreeMap<Vec<u8>, Vec<u8>> = fx.members.iter().flat_map(|m| m.rows.iter().cloned()).collect();
    g.bench("floor/btreemap", |iters| {
        timed(iters, |i| {
            black_box(map.get(fx.member(i).anchor_row().0).cloned());
        })
    });
    each_engine!(memory, read_engine(&mut g, fx));
    g.finish();
}

/// `read` on engine `E`: one backend holding every member, read raw, through
/// a store without and with a record cache (allowed by [`CacheAllowed`] on
/// a shared engine), and through a manager (which has no cache over a
/// shared engine).
fn read_engine<E: OpenBackend>(g: &mut Group<'_>, fx: &Fixture) {
    if !available::<E>() {
        return;
    }
    let e = E::NAME;
    let config = StoreConfig { durability: Durability::Buffered, ..StoreConfig::default() };
    let backend = E::temporary(&config).expect("a temporary backend opens");
    for member in &fx.members {
        backend.apply(member.batch()).expect("fill");
    }
    g.bench(&format!("{e}/backend_get"), |iters| {
        timed(iters, |i| {
            black_box(backend.get(fx.member(i).anchor_row().0).expect("get"));
        })
    });

    let uncached = store_on(&backend, &StoreConfig { cache_records: 0, ..config.clone() });
    g.bench(&format!("{e}/store_miss"), |iters| get_loop(&uncached, fx, iters));

    let cached = store_on(CacheAllowed(&backend), &config);
    get_loop(&cached, fx, fx.members.len() as u64); // fills the cache
    g.bench(&format!("{e}/store_hit"), |iters| get_loop(&cached, fx, iters));

    let manager =
        CommonsManager::with_backend(&backend, &config, Clock::System).expect("a manager over an open backend");
    let anchor = |i| {
        black_box(manager.anchor(&fx.member(i).anchor.anchor_id).expect("anchor"));
    };
    timed(fx.members.len() as u64, &anchor); // fills the cache
    g.bench(&format!("{e}/manager_anchor"), |iters| timed(iters, &anchor));
}

/// `write_buffered` or `write_sync`: a new member's anchor row, and a new
/// member, at every layer.
fn write(c: &mut Criterion, fx: &Fixture, durability: Durability) {
    let config = StoreConfig { durability, ..StoreConfig::default() };
    match durability {
        Durability::Buffered => {
            let mut g = Group::new(c, "write_buffered");
            let map = BTreeMap::<Vec<u8>, Vec<u8>>::new;
            g.bench_fresh("floor/btreemap_row", fx, map, |map, member| {
                let (k, v) = member.anchor_row();
                black_box(map.insert(k.to_vec(), v.to_vec()));
            });
            g.bench_fresh("floor/btreemap_member", fx, map, |map, member| {
                for (k, v) in &member.rows {
                    black_box(map.insert(k.clone(), v.clone()));
                }
            });
            each_engine!(memory, write_engine(&mut g, fx, &config));
            g.finish();
        }
        Durability::Sync => {
            let mut g = Group::new(c, "write_sync");
            // Durable writes take milliseconds: the same number of iterations
            // in every sample, rather than criterion's linear ramp.
            g.inner.sampling_mode(SamplingMode::Flat);
            g.bench("floor/fsync", |iters| fsync_loop(&fx.member_bytes, true, iters));
            g.bench("floor/fsync_append", |iters| fsync_loop(&fx.member_bytes, false, iters));
            each_engine!(write_engine(&mut g, fx, &config));
            g.finish();
        }
    }
}

/// Slots of [`fsync_loop`]'s preallocated file.
const FSYNC_SLOTS: u64 = 256;

/// `iters` writes of `bytes` to a file in a temporary directory, each followed
/// by `sync_data`. `in_place`: the file is written and synced first, and each
/// write overwrites one of its [`FSYNC_SLOTS`] slots, so the sync flushes data
/// only (no new size or blocks to journal): the least a durable write costs on
/// this disk. Otherwise each write appends, and the sync also commits the new
/// file size, as a log without preallocation would.
fn fsync_loop(bytes: &[u8], in_place: bool, iters: u64) -> Duration {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut file = File::create(dir.path().join("floor.log")).expect("create the floor's file");
    if in_place {
        file.write_all(&bytes.repeat(FSYNC_SLOTS as usize)).expect("preallocate");
        file.sync_all().expect("sync the preallocated file");
    }
    timed(iters, |i| {
        if in_place {
            file.seek(SeekFrom::Start(i % FSYNC_SLOTS * bytes.len() as u64)).expect("seek");
        }
        file.write_all(bytes).expect("write");
        file.sync_data().expect("sync_data");
    })
}

/// The write benchmarks of engine `E`, on stores opened with `config`, each
/// inserting new members: the anchor's row (`put`), the member raw (`apply`),
/// through a store (`commit`) and through a manager (`bootstrap_anchor`, which
/// writes the same rows, with its clock's timestamps).
fn write_engine<E: OpenBackend>(g: &mut Group<'_>, fx: &Fixture, config: &StoreConfig) {
    if !available::<E>() {
        return;
    }
    let e = E::NAME;
    let backend = || E::temporary(config).expect("a temporary backend opens");
    g.bench_fresh(&format!("{e}/put_row"), fx, backend, |backend, member| {
        let (k, v) = member.anchor_row();
        backend.put(k, v).expect("put");
    });
    g.bench_fresh(&format!("{e}/apply_member"), fx, backend, |backend, member| {
        backend.apply(member.batch()).expect("apply");
    });
    let store = || store_on(backend(), config);
    g.bench_fresh(&format!("{e}/store_commit"), fx, store, |store, member| commit_member(store, member));
    let manager = || CommonsManager::<E>::temporary(config).expect("a temporary manager opens");
    g.bench_fresh(&format!("{e}/manager_bootstrap"), fx, manager, |manager, member| {
        black_box(manager.bootstrap_anchor(member.anchor.did.as_str(), None).expect("bootstrap of a new DID"));
    });
}

/// `concurrent_write`: new members through one manager with
/// [`Durability::Sync`], from each number of threads of [`CLIENTS`] at once,
/// on each persistent engine compiled in (and available); and on the
/// in-memory store, which has no durability to pay for: its row is the
/// ceiling the manager's own work (and this machine's cores) sets.
fn concurrent_write(c: &mut Criterion, fx: &Fixture) {
    let mut g = Group::new(c, "concurrent_write");
    // As `write_sync`: the same number of iterations in every sample.
    g.inner.sampling_mode(SamplingMode::Flat);
    g.inner.measurement_time(CONCURRENT_TIME);
    each_engine!(memory, concurrent_engine(&mut g, fx));
    g.finish();
}

/// `concurrent_write` on engine `E`: benchmark `E/clients_N` inserts each
/// sample's fresh members (`bootstrap_anchor`) from N threads at once, on a
/// temporary manager (a new one, opened untimed, when the fresh members run
/// out). Criterion's time per operation is the wall time of the run over
/// the operations, so its inverse is the throughput.
fn concurrent_engine<E: OpenBackend>(g: &mut Group<'_>, fx: &Fixture) {
    if !available::<E>() {
        return;
    }
    let config = StoreConfig { durability: Durability::Sync, ..StoreConfig::default() };
    for clients in CLIENTS {
        let manager = || CommonsManager::<E>::temporary(&config).expect("a temporary manager opens");
        g.bench_fresh_runs(&format!("{}/clients_{clients}", E::NAME), fx, manager, |manager, members| {
            bootstrap_from(manager, members, clients);
        });
    }
}

/// Bootstraps every member of `members` through `manager` from `clients`
/// threads at once, each taking the next member no thread has taken until
/// none is left; returns when all are durable.
fn bootstrap_from<S: CommonsStoreBackend>(manager: &CommonsManager<S>, members: &[Member], clients: usize) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                while let Some(member) = members.get(next.fetch_add(1, Ordering::Relaxed)) {
                    black_box(
                        manager.bootstrap_anchor(member.anchor.did.as_str(), None).expect("bootstrap of a new DID"),
                    );
                }
            });
        }
    });
}

/// `static_vs_dyn`: the same loops through `CommonsStore<DispatchEngine>` and
/// `CommonsStore<Arc<dyn CommonsStoreBackend + '_>>`, record cache off so
/// that every read reaches the backend. The dyn side wraps a reference to the
/// static side's engine: one engine, one state, the two differ by dispatch
/// only.
///
/// That difference (one indirect call per backend call) is far below the
/// drift of a machine between two benchmarks measured seconds apart, so after
/// criterion's (separate) measurements of each pair, the pair is also timed
/// interleaved (see [`interleaved`]), and the table reports both.
fn static_vs_dyn(c: &mut Criterion, fx: &Fixture) {
    if !available::<DispatchEngine>() {
        return;
    }
    let mut g = Group::new(c, "static_vs_dyn");
    let e = DispatchEngine::NAME;
    let config = StoreConfig { durability: Durability::Buffered, cache_records: 0, ..StoreConfig::default() };
    let static_store = store_on(DispatchEngine::temporary(&config).expect("a temporary backend opens"), &config);
    let dyn_backend: Arc<dyn CommonsStoreBackend + '_> = Arc::new(static_store.backend());
    let dyn_store = store_on(dyn_backend, &config);
    for member in &fx.members {
        commit_member(&static_store, member);
    }
    // Only where criterion measured both sides (not in test mode, not when a
    // filter left one out).
    let measured = |op: &str| {
        let samples = SAMPLES.lock().unwrap_or_else(PoisonError::into_inner);
        ["static", "dyn"].iter().all(|side| {
            samples.get(&format!("static_vs_dyn/{e}/{side}_{op}")).is_some_and(|calls| calls.len() > sample_size())
        })
    };
    let record = |what, ratio| INTERLEAVED.lock().unwrap_or_else(PoisonError::into_inner).push((what, ratio));

    g.bench(&format!("{e}/static_get"), |iters| get_loop(&static_store, fx, iters));
    g.bench(&format!("{e}/dyn_get"), |iters| get_loop(&dyn_store, fx, iters));
    if measured("get") {
        record("get dyn/static", interleaved(|n| get_loop(&static_store, fx, n), |n| get_loop(&dyn_store, fx, n)));
    }
    g.bench(&format!("{e}/static_commit"), |iters| commit_loop(&static_store, fx, iters));
    g.bench(&format!("{e}/dyn_commit"), |iters| commit_loop(&dyn_store, fx, iters));
    if measured("commit") {
        let ratio = interleaved(|n| commit_loop(&static_store, fx, n), |n| commit_loop(&dyn_store, fx, n));
        record("commit dyn/static", ratio);
    }
    g.finish();
}

/// Rounds of [`interleaved`].
const AB_ROUNDS: u32 = 31;
/// Time of one side in one round of [`interleaved`].
const AB_BLOCK: Duration = Duration::from_millis(30);

/// Ratios measured by [`interleaved`], for the table: `(what, ratio)`.
static INTERLEAVED: Mutex<Vec<(&'static str, f64)>> = Mutex::new(Vec::new());

/// Time of `b` over time of `a` for the same number of operations: the
/// median over [`AB_ROUNDS`] rounds, each timing both sides for about
/// [`AB_BLOCK`], in the order AB, BA, AB, ..., so that drift of the machine
/// falls on both sides alike, and a stall of the engine (a memtable flush, a
/// compaction) spoils one round, not the result. `a(n)` and `b(n)` do `n`
/// operations and return the time they took.
fn interleaved(mut a: impl FnMut(u64) -> Duration, mut b: impl FnMut(u64) -> Duration) -> f64 {
    const PROBE: u64 = 100;
    let per_op = a(PROBE).as_secs_f64() / PROBE as f64;
    let n = (AB_BLOCK.as_secs_f64() / per_op.max(1e-9)).max(1.0) as u64;
    let mut ratios: Vec<f64> = (0..AB_ROUNDS)
        .map(|round| {
            let (time_a, time_b) = if round % 2 == 0 {
                let time_a = a(n);
                (time_a, b(n))
            } else {
                let time_b = b(n);
                (a(n), time_b)
            };
            time_b.as_secs_f64() / time_a.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    median(&ratios)
}

/// The `--sample-size` criterion was given, or [`SAMPLE_SIZE`].
fn sample_size() -> usize {
    let args: Vec<String> = std::env::args().collect();
    let given = args.iter().enumerate().find_map(|(i, arg)| match arg.strip_prefix("--sample-size") {
        Some("") => args.get(i + 1).cloned(),
        Some(rest) => rest.strip_prefix('=').map(str::to_string),
        None => None,
    });
    given.and_then(|n| n.parse().ok()).unwrap_or(SAMPLE_SIZE)
}

/// Median nanoseconds per operation of each benchmark over its measurement
/// samples (the last `samples` calls). Benchmarks called `samples` times or
/// fewer (criterion's test mode runs each once) are left out.
fn medians(samples: usize) -> BTreeMap<String, f64> {
    let recorded = SAMPLES.lock().unwrap_or_else(PoisonError::into_inner);
    recorded
        .iter()
        .filter(|(_, calls)| calls.len() > samples)
        .map(|(id, calls)| {
            let mut per_op: Vec<f64> = calls[calls.len() - samples..]
                .iter()
                .map(|(iters, took)| took.as_secs_f64() * 1e9 / (*iters).max(1) as f64)
                .collect();
            per_op.sort_by(f64::total_cmp);
            (id.clone(), median(&per_op))
        })
        .collect()
}

/// The median of sorted, non-empty `values`.
fn median(values: &[f64]) -> f64 {
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

/// A duration in nanoseconds, with a unit a person reads at a glance.
fn human(ns: f64) -> String {
    match ns {
        ns if ns < 1e3 => format!("{ns:.0} ns"),
        ns if ns < 1e6 => format!("{:.1} µs", ns / 1e3),
        ns => format!("{:.2} ms", ns / 1e6),
    }
}

/// One column of a ratio table: header, numerator id, denominator id (ids are
/// `group/...`; `{e}` stands for the engine of the row).
struct Column {
    header: &'static str,
    num: String,
    den: String,
}

fn col(header: &'static str, num: impl Into<String>, den: impl Into<String>) -> Column {
    Column { header, num: num.into(), den: den.into() }
}

/// A floor of a table: what it is, and its benchmark id.
type Floor<'a> = (&'a str, &'a str);

/// Prints one table: a title with the floors' times, then one row per engine
/// that has a value, one ratio per column (`-` where a benchmark did not run).
fn table(m: &BTreeMap<String, f64>, title: &str, floors: &[Floor<'_>], engines: &[&str], columns: &[Column]) {
    println!("\n{title}");
    for &(name, id) in floors {
        println!("  floor: {name} = {}", m.get(id).map_or_else(|| "-".to_string(), |&ns| human(ns)));
    }
    let width = |c: &Column| c.header.chars().count().max(6);
    let header: Vec<String> = columns.iter().map(|c| format!("{:>w$}", c.header, w = width(c))).collect();
    println!("  {:<8}{}", "engine", header.join("  "));
    for e in engines {
        let get = |id: &str| m.get(&id.replace("{e}", e)).copied();
        let cells: Vec<Option<f64>> = columns.iter().map(|c| Some(get(&c.num)? / get(&c.den)?)).collect();
        if cells.iter().all(Option::is_none) {
            continue;
        }
        let shown: Vec<String> = columns
            .iter()
            .zip(&cells)
            .map(|(c, cell)| {
                let text = cell.map_or_else(|| "-".to_string(), |r| format!("{r:.2}x"));
                format!("{text:>w$}", w = width(c))
            })
            .collect();
        println!("  {e:<8}{}", shown.join("  "));
    }
}

/// Prints the `concurrent_write` table: per engine, throughput with 16
/// clients over throughput with 1 (how much concurrent writers gain), and
/// each engine's throughput over fjall's with as many clients; then the
/// operations per second behind those ratios. Nothing when the group did
/// not run.
fn concurrent_table(m: &BTreeMap<String, f64>, engines: &[&str]) {
    let id = |e: &str, clients: usize| format!("concurrent_write/{e}/clients_{clients}");
    let [one, many] = CLIENTS;
    if !engines.iter().any(|e| m.contains_key(&id(e, one))) {
        return;
    }
    // A ratio of times per operation, reference over subject, is a ratio of
    // throughputs, subject over reference.
    table(
        m,
        &format!(
            "concurrent durable writes: new members (bootstrap_anchor, Durability::Sync) from {one} and {many} \
             threads through one manager (memory: no durability, the ceiling of the manager's own work); \
             THROUGHPUT ratios (higher is better)"
        ),
        &[],
        engines,
        &[
            col("16 clients/1 client", id("{e}", one), id("{e}", many)),
            col("vs fjall, 1 client", id("fjall", one), id("{e}", one)),
            col("vs fjall, 16 clients", id("fjall", many), id("{e}", many)),
        ],
    );
    let headers = [format!("ops/s, {one} client"), format!("ops/s, {many} clients")];
    println!("  {:<8}{:>w$}  {:>w$}", "engine", headers[0], headers[1], w = headers[1].len());
    for e in engines {
        let ops = |clients| m.get(&id(e, clients)).map_or_else(|| "-".to_string(), |ns| format!("{:.0}", 1e9 / ns));
        if m.contains_key(&id(e, one)) || m.contains_key(&id(e, many)) {
            println!("  {e:<8}{:>w$}  {:>w$}", ops(one), ops(many), w = headers[1].len());
        }
    }
}

/// Prints the ratio tables (nothing when no benchmark was measured, as in
/// criterion's test and list modes).
fn print_ratios() {
    let m = medians(sample_size());
    if m.is_empty() {
        return;
    }
    let mut engines = vec!["memory"];
    if cfg!(feature = "sled-store") {
        engines.push("sled");
    }
    if cfg!(feature = "fjall-store") {
        engines.push("fjall");
    }
    if cfg!(feature = "postgres-store") {
        engines.push("postgres");
    }
    println!("\n=== Ratios: median time per operation over criterion's measurement samples (lower is better) ===");
    if let Some(Some(reason)) = SKIPPED.get() {
        println!("postgres: skipped in this run: {reason}");
    }
    table(
        &m,
        "read: one anchor by id",
        &[("BTreeMap get + copy of the value", "read/floor/btreemap")],
        &engines,
        &[
            col("backend/floor", "read/{e}/backend_get", "read/floor/btreemap"),
            col("store miss/backend", "read/{e}/store_miss", "read/{e}/backend_get"),
            col("store hit/floor", "read/{e}/store_hit", "read/floor/btreemap"),
            col("manager/store hit", "read/{e}/manager_anchor", "read/{e}/store_hit"),
            col("manager/floor", "read/{e}/manager_anchor", "read/floor/btreemap"),
            col("miss/hit", "read/{e}/store_miss", "read/{e}/store_hit"),
        ],
    );
    if m.contains_key("read/postgres/store_hit") {
        println!(
            "  postgres: the store keeps no record cache over a shared engine, so the manager's reads are misses \
             (manager/store hit compares with a cache allowed only for this measurement, whose hits still pay the \
             store's availability query, one round trip); miss/hit is what that rule costs a read"
        );
    }
    let buffered_floors = [("BTreeMap insert of the 4 rows", "write_buffered/floor/btreemap_member")];
    let sync_floors = [
        ("overwrite the 4 rows in a preallocated file + sync_data", "write_sync/floor/fsync"),
        ("(for reference) append them to a file + sync_data", "write_sync/floor/fsync_append"),
    ];
    let writes: [(&str, &[Floor<'_>], &str); 2] = [
        ("buffered", &buffered_floors, "write_buffered/floor/btreemap_row"),
        ("sync", &sync_floors, "write_sync/floor/fsync"),
    ];
    for (durability, floors, row_floor) in writes {
        let (g, floor) = (format!("write_{durability}"), floors[0].1);
        let mut columns = vec![
            col("put row/floor row", format!("{g}/{{e}}/put_row"), row_floor),
            col("apply/floor", format!("{g}/{{e}}/apply_member"), floor),
            col("store/apply", format!("{g}/{{e}}/store_commit"), format!("{g}/{{e}}/apply_member")),
            col("manager/store", format!("{g}/{{e}}/manager_bootstrap"), format!("{g}/{{e}}/store_commit")),
            col("manager/floor", format!("{g}/{{e}}/manager_bootstrap"), floor),
        ];
        if durability == "sync" {
            columns.push(col("apply sync/buffered", "write_sync/{e}/apply_member", "write_buffered/{e}/apply_member"));
        }
        table(
            &m,
            &format!("write, {durability}: a new member (anchor + holder: 2 records, 2 index rows, 1 batch)"),
            floors,
            &engines,
            &columns,
        );
    }
    concurrent_table(&m, &engines);
    let dispatch = DispatchEngine::NAME;
    table(
        &m,
        &format!("static vs dyn: CommonsStore<{dispatch}> vs CommonsStore<Arc<dyn CommonsStoreBackend>>, cache off"),
        &[],
        &[dispatch],
        &[
            col("get dyn/static", "static_vs_dyn/{e}/dyn_get", "static_vs_dyn/{e}/static_get"),
            col("commit dyn/static", "static_vs_dyn/{e}/dyn_commit", "static_vs_dyn/{e}/static_commit"),
        ],
    );
    let ab = INTERLEAVED.lock().unwrap_or_else(PoisonError::into_inner);
    if !ab.is_empty() {
        let shown: Vec<String> = ab.iter().map(|(what, ratio)| format!("{what} = {ratio:.3}x")).collect();
        let rounds = format!("{AB_ROUNDS} alternating rounds of ~{} ms a side", AB_BLOCK.as_millis());
        println!("  interleaved ({rounds}): {}", shown.join(", "));
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(SAMPLE_SIZE)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .nresamples(10_000)
        .without_plots()
        .configure_from_args();
    let fx = Fixture::new();
    read(&mut c, &fx);
    write(&mut c, &fx, Durability::Buffered);
    write(&mut c, &fx, Durability::Sync);
    concurrent_write(&mut c, &fx);
    static_vs_dyn(&mut c, &fx);
    c.final_summary();
    print_ratios();
}
