//! An fsync that fails while 16 clients write, on every engine that keeps its
//! store in a folder (fjall, sled; both may be compiled in):
//!
//! 1. no client was told `Ok` for a write that is missing after a restart;
//! 2. the store fail-stops: the write whose sync failed gets the I/O error
//!    (500 `internal` over HTTP), and every later call, reads included, gets
//!    `BackendError::Unavailable` (503 `unavailable`);
//! 3. after a restart (`CommonsManager::open` on the same data dir, which runs
//!    the integrity checks) the store opens, holds every acknowledged write,
//!    verifies clean, has each write that errored whole or not at all, holds
//!    none of the writes refused after the failure, and takes new writes.
//!
//! Each round opens the engine directly, makes its sync number `n` fail with
//! `EIO` (`inject_sync_failures`; `n` drawn from the round's seed), and runs
//! 16 threads of real domain writes through one manager: operator bootstraps
//! of fresh DIDs and signed display-name updates of the client's own holders
//! (a read-modify-write). The clients' keys and choices follow the seed;
//! which write meets the failing sync follows the threads' scheduling, so
//! every outcome the property allows is accepted and every other one fails
//! the test, naming the engine and the seed.
//!
//! The injected failure loses no byte itself: what the engine had buffered
//! still reaches its files when it closes, as no power cut follows. So a
//! write wrongly acknowledged after the failure would still be found after
//! the restart; the rounds therefore also check that no write issued after
//! the failing sync ran is acknowledged.

#![cfg(any(feature = "fjall-store", feature = "sled-store"))]

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use anyhow::{anyhow, bail, ensure, Context, Result};
use common::keys::Person;
use common::world::{manager_on, open_at, T0};
use commons_gateway::actions::HolderUpdate;
use commons_gateway::backend::{store_folder, BackendError};
use commons_gateway::records::{AnchorView, HolderView};
use commons_gateway::{
    CommonsError, CommonsManager, CommonsStoreBackend, Did, Durability, OpenBackend, Refusal, StoreConfig, StoreError,
};
use ed25519_dalek::SigningKey;
use serde_json::json;

/// Concurrent clients per round.
const CLIENTS: usize = 16;
/// Rounds per engine, each with its own seed.
const ROUNDS: u64 = 8;
/// The failing sync is drawn from `FIRST_FAILING_SYNC..=LAST_FAILING_SYNC`
/// (sync 0 is the manager's schema row). A sync covers ~4 client writes here
/// and takes two fsyncs (journal, witness), so a later failure only makes a
/// round longer.
const FIRST_FAILING_SYNC: u64 = 3;
const LAST_FAILING_SYNC: u64 = 80;
/// A client stops at its first error; this only bounds a round in which the
/// fault never fires (every client write needs a sync that started after it,
/// so 16 clients cannot make more than this many writes each without
/// `LAST_FAILING_SYNC + 1` syncs having run).
const MAX_WRITES_PER_CLIENT: usize = 1_000;
/// About one write in this many is a rename (a signed read-modify-write;
/// signing and opening an envelope costs ~10 ms in a debug build), the rest
/// bootstraps.
const RENAME_ONE_IN: u64 = 4;
/// Seed of round 0 of each engine; round `r` uses `BASE_SEED + r`.
const BASE_SEED: u64 = 0x5EED_5EED;

/// xorshift64 over a splitmix64-scrambled seed: the seed decides the failing
/// sync, the clients' keys and their choice of writes.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A principal whose key comes from this generator.
    fn person(&mut self) -> Person {
        let mut secret = [0u8; 32];
        for chunk in secret.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        let key = SigningKey::from_bytes(&secret);
        Person { did: Did::from_verifying_key(&key.verifying_key()), key }
    }
}

/// An engine whose syncs can be made to fail.
trait FailingSyncs: OpenBackend {
    /// Makes sync number `n` (0 for the first) of this store fail with
    /// `EIO`, setting `fired` as it fails.
    fn fail_sync(&self, n: u64, fired: Arc<AtomicBool>);
}

/// The fault of [`FailingSyncs::fail_sync`].
fn failing(n: u64, fired: Arc<AtomicBool>) -> impl Fn(u64) -> bool + Send + Sync + 'static {
    move |i| {
        let fails = i == n;
        if fails {
            fired.store(true, Ordering::SeqCst);
        }
        fails
    }
}

#[cfg(feature = "fjall-store")]
impl FailingSyncs for commons_gateway::backend::FjallCommonsStore {
    fn fail_sync(&self, n: u64, fired: Arc<AtomicBool>) {
        self.inject_sync_failures(failing(n, fired));
    }
}

#[cfg(feature = "sled-store")]
impl FailingSyncs for commons_gateway::backend::SledCommonsStore {
    fn fail_sync(&self, n: u64, fired: Arc<AtomicBool>) {
        self.inject_sync_failures(failing(n, fired));
    }
}

/// A write a client makes.
#[derive(Debug)]
enum Write {
    /// Operator bootstrap of a fresh principal, with a display name.
    Bootstrap { person: Person, name: String },
    /// The holder `holder_id` (created by this client, signing as `person`)
    /// renames itself to `name`.
    Rename { person: Person, holder_id: String, name: String },
}

/// What a write returned.
enum Done {
    Anchor(AnchorView),
    Holder(HolderView),
}

fn perform<S: CommonsStoreBackend>(m: &CommonsManager<S>, write: &Write) -> Result<Done, CommonsError> {
    match write {
        Write::Bootstrap { person, name } => {
            m.bootstrap_anchor(person.did.as_str(), Some(name.clone())).map(Done::Anchor)
        }
        Write::Rename { person, holder_id, name } => {
            m.update_holder(&person.sign::<HolderUpdate>(holder_id, json!({ "display_name": name }))).map(Done::Holder)
        }
    }
}

/// A holder created by a client, as acknowledged.
struct Holder {
    person: Person,
    /// What the bootstrap returned.
    anchor: AnchorView,
    /// The last acknowledged display name.
    name: String,
    /// What the last acknowledged rename returned, if there was one.
    renamed: Option<HolderView>,
}

/// What one client did: its acknowledged writes, the write that errored
/// (which may or may not have reached the disk) and the writes it tried
/// after that error (refused, so never on disk).
struct Client {
    holders: Vec<Holder>,
    renames: u64,
    failed: Option<(Write, CommonsError)>,
    refused_after: Vec<Person>,
    /// Calls made after the error (each answered Unavailable).
    late_calls: u64,
}

/// `Ok` when `r` is `BackendError::Unavailable` through the manager (503
/// `unavailable`) naming the stopped store's folder.
fn expect_unavailable<T: std::fmt::Debug>(r: Result<T, CommonsError>, folder: &Path, what: &str) -> Result<()> {
    let e = match r {
        Ok(v) => bail!("{what}: answered {v:?} after the store stopped"),
        Err(e) => e,
    };
    ensure!(e.status() == 503 && e.code() == "unavailable", "{what}: {} {} ({e:?})", e.status(), e.code());
    match &e {
        CommonsError::Store(StoreError::Backend(BackendError::Unavailable { reason })) => {
            ensure!(reason.contains(&folder.display().to_string()), "{what}: the reason names no store: {reason}");
            Ok(())
        }
        other => bail!("{what}: expected BackendError::Unavailable, got {other:?}"),
    }
}

/// Whether `e` is the injected sync failure (`EIO`, answered 500 `internal`).
fn is_injected_eio(e: &CommonsError) -> bool {
    matches!(e, CommonsError::Store(StoreError::Backend(BackendError::Io { source, .. }))
        if source.raw_os_error() == Some(5))
        && e.status() == 500
        && e.code() == "internal"
}

fn is_not_found<T>(r: &Result<T, CommonsError>) -> bool {
    matches!(r, Err(CommonsError::Refused(Refusal::NotFound { .. })))
}

/// One client: writes until its first error, then checks that reads and
/// writes all answer `Unavailable`. `fired` is set once the sync has failed:
/// a write issued after that must not be acknowledged.
fn client<S: CommonsStoreBackend>(
    m: &CommonsManager<S>,
    seed: u64,
    index: usize,
    folder: &Path,
    fired: &AtomicBool,
) -> Result<Client> {
    let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(index as u64 + 1));
    let mut c = Client { holders: Vec::new(), renames: 0, failed: None, refused_after: Vec::new(), late_calls: 0 };
    for i in 0..MAX_WRITES_PER_CLIENT {
        let name = format!("client {index} write {i}");
        let write = if !c.holders.is_empty() && rng.below(RENAME_ONE_IN) == 0 {
            let h = &c.holders[rng.below(c.holders.len() as u64) as usize];
            Write::Rename { person: h.person.clone(), holder_id: h.anchor.anchor.anchor_id.clone(), name }
        } else {
            Write::Bootstrap { person: rng.person(), name }
        };
        let issued_after_the_fault = fired.load(Ordering::SeqCst);
        let done = perform(m, &write);
        ensure!(done.is_err() || !issued_after_the_fault, "{write:?}, issued after the sync failed, was acknowledged");
        match (done, write) {
            (Ok(Done::Anchor(anchor)), Write::Bootstrap { person, name }) => {
                ensure!(anchor.anchor.did == person.did, "bootstrap answered another DID");
                c.holders.push(Holder { person, anchor, name, renamed: None });
            }
            (Ok(Done::Holder(view)), Write::Rename { holder_id, name, .. }) => {
                ensure!(view.holder.display_name.as_deref() == Some(name.as_str()), "rename answered {view:?}");
                let h = c.holders.iter_mut().find(|h| h.anchor.anchor.anchor_id == holder_id).context("own holder")?;
                h.name = name;
                h.renamed = Some(view);
                c.renames += 1;
            }
            (Ok(_), write) => bail!("{write:?} answered the wrong kind of record"),
            (Err(e), write) => {
                c.failed = Some((write, e));
                break;
            }
        }
    }
    if c.failed.is_none() {
        return Ok(c);
    }
    // After its error, every call of this client must answer Unavailable:
    // a read of a cached record, reads through an index and of an absent
    // record, a bootstrap and a rename.
    let late = rng.person();
    if let Some(h) = c.holders.first() {
        expect_unavailable(m.anchor(&h.anchor.anchor.anchor_id), folder, "read of an acknowledged anchor")?;
        expect_unavailable(m.holder_by_did(h.person.did.as_str()), folder, "read of a holder by DID")?;
        let rename = h.person.sign::<HolderUpdate>(&h.anchor.anchor.anchor_id, json!({"display_name": "Too late"}));
        expect_unavailable(m.update_holder(&rename), folder, "rename after the failure")?;
        c.late_calls += 3;
    }
    expect_unavailable(m.anchor_by_did(late.did.as_str()), folder, "read of an absent anchor")?;
    expect_unavailable(m.bootstrap_anchor(late.did.as_str(), Some("Too late".into())), folder, "late bootstrap")?;
    c.refused_after.push(late);
    c.late_calls += 2;
    Ok(c)
}

/// Figures of one engine's rounds.
#[derive(Default)]
struct Figures {
    rounds: u64,
    bootstraps: u64,
    renames: u64,
    failed: u64,
    failed_present: u64,
    late_calls: u64,
}

/// One round on engine `E` with `seed`.
fn round<E: FailingSyncs>(seed: u64, figures: &mut Figures) -> Result<()> {
    let mut rng = Rng::new(seed);
    let failing_sync = FIRST_FAILING_SYNC + rng.below(LAST_FAILING_SYNC - FIRST_FAILING_SYNC + 1);
    let data_dir = tempfile::tempdir()?;
    let folder = store_folder::<E>(data_dir.path())?;
    ensure!(folder == data_dir.path().join(E::FOLDER));
    let backend = E::open(&folder, &StoreConfig::default())?;
    let fired = Arc::new(AtomicBool::new(false));
    backend.fail_sync(failing_sync, fired.clone());
    let m = manager_on(backend)?;

    let clients = thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|index| {
                let (m, folder, fired) = (&m, &folder, &*fired);
                s.spawn(move || client(m, seed, index, folder, fired).with_context(|| format!("client {index}")))
            })
            .collect();
        handles.into_iter().map(|h| h.join().map_err(|_| anyhow!("a client panicked"))?).collect::<Result<Vec<_>>>()
    })?;

    // (2) The store stopped: exactly one write got the sync's I/O error,
    // every other client's first error is Unavailable, and the store serves
    // nothing more.
    let failures: Vec<&CommonsError> = clients.iter().filter_map(|c| c.failed.as_ref().map(|(_, e)| e)).collect();
    ensure!(fired.load(Ordering::SeqCst), "sync {failing_sync} never ran: the fault did not fire");
    ensure!(failures.len() == CLIENTS, "{} of {CLIENTS} clients met an error", failures.len());
    let eio = failures.iter().filter(|e| is_injected_eio(e)).count();
    ensure!(eio == 1, "{eio} writes got the sync's I/O error, expected exactly one: {failures:?}");
    for e in failures.iter().filter(|e| !is_injected_eio(e)) {
        ensure!(
            matches!(e, CommonsError::Store(StoreError::Backend(BackendError::Unavailable { .. }))),
            "a write failed otherwise than with the sync's error or Unavailable: {e:?}"
        );
    }
    expect_unavailable(m.check_available(), &folder, "check_available")?;
    expect_unavailable(m.store().verify().map_err(CommonsError::from), &folder, "verify of the stopped store")?;
    let stray = b"stray/written-after-the-failure";
    expect_unavailable(
        m.store().backend().put(stray, b"x").map_err(|e| CommonsError::from(StoreError::from(e))),
        &folder,
        "a backend write",
    )?;
    drop(m);

    // (3) A restart: the integrity checks pass and the engine recovers.
    let m = open_at::<E>(data_dir.path(), Durability::Sync, T0).context("reopen after the failed sync")?;
    // (1) Every acknowledged write is there, as it was acknowledged.
    let mut bootstraps = 0;
    let mut failed_present = 0;
    let mut anchors_expected = 0;
    for c in &clients {
        let uncertain_rename = match &c.failed {
            Some((Write::Rename { holder_id, name, .. }, _)) => Some((holder_id.as_str(), name.as_str())),
            _ => None,
        };
        for h in &c.holders {
            let id = &h.anchor.anchor.anchor_id;
            ensure!(m.anchor(id)? == h.anchor, "anchor {id} reads back otherwise than acknowledged");
            let holder = m.holder(id)?;
            let name = holder.holder.display_name.as_deref();
            match uncertain_rename {
                Some((target, attempted)) if target == id => {
                    ensure!(
                        name == Some(h.name.as_str()) || name == Some(attempted),
                        "holder {id}: name {name:?}, neither the acknowledged {:?} nor the failed {attempted:?}",
                        h.name
                    );
                    failed_present += u64::from(name == Some(attempted));
                }
                _ => {
                    ensure!(name == Some(h.name.as_str()), "holder {id}: name {name:?}, acknowledged {:?}", h.name);
                    if let Some(view) = &h.renamed {
                        ensure!(&holder == view, "holder {id} reads back otherwise than its last rename answered");
                    }
                }
            }
        }
        bootstraps += c.holders.len() as u64;
        anchors_expected += c.holders.len();
        // The write that errored: whole or not at all.
        if let Some((Write::Bootstrap { person, name }, _)) = &c.failed {
            let (anchor, holder) = (m.anchor_by_did(person.did.as_str()), m.holder_by_did(person.did.as_str()));
            match (anchor, holder) {
                (Ok(a), Ok(h)) => {
                    ensure!(a.anchor.did == person.did && h.holder.holder_id == a.anchor.anchor_id);
                    ensure!(h.holder.display_name.as_deref() == Some(name.as_str()), "{h:?}");
                    failed_present += 1;
                    anchors_expected += 1;
                }
                (a, h) if is_not_found(&a) && is_not_found(&h) => {}
                (a, h) => bail!("the failed bootstrap of {} is half there: anchor {a:?}, holder {h:?}", person.did),
            }
        }
        // Writes refused after the failure never reached the disk.
        for late in &c.refused_after {
            ensure!(is_not_found(&m.anchor_by_did(late.did.as_str())), "a write refused as Unavailable is present");
        }
    }
    ensure!(m.store().backend().get(stray)?.is_none(), "a backend write refused as Unavailable is present");
    let report = m.store().verify()?;
    ensure!(report.is_clean(), "verify after the restart: {:?}", report.problems);
    for namespace in ["anchor/", "holder/"] {
        let stored = report.rows.get(namespace).copied().unwrap_or(0);
        ensure!(stored == anchors_expected as u64, "{stored} rows in {namespace}, {anchors_expected} expected");
    }

    // The reopened store takes new writes, and keeps them across a clean
    // close (the sealed path of the checks).
    let fresh = Rng::new(seed ^ 0xF0F0).person();
    let added = m.bootstrap_anchor(fresh.did.as_str(), Some("After the restart".into()))?;
    let renamed = m.update_holder(
        &fresh.sign::<HolderUpdate>(&added.anchor.anchor_id, json!({"display_name": "Renamed after the restart"})),
    )?;
    drop(m);
    let m = open_at::<E>(data_dir.path(), Durability::Sync, T0).context("reopen after a clean close")?;
    ensure!(m.anchor(&added.anchor.anchor_id)? == added && m.holder(&added.anchor.anchor_id)? == renamed);
    let report = m.store().verify()?;
    ensure!(report.is_clean(), "verify after the clean close: {:?}", report.problems);

    let renames: u64 = clients.iter().map(|c| c.renames).sum();
    let late_calls: u64 = clients.iter().map(|c| c.late_calls).sum();
    println!(
        "{} seed {seed:#x}: sync {failing_sync} failed; {bootstraps} bootstraps and {renames} renames acknowledged, \
         all present; {CLIENTS} writes failed, {failed_present} of them present after the restart",
        E::NAME
    );
    figures.rounds += 1;
    figures.bootstraps += bootstraps;
    figures.renames += renames;
    figures.failed += CLIENTS as u64;
    figures.failed_present += failed_present;
    figures.late_calls += late_calls;
    Ok(())
}

fn rounds<E: FailingSyncs>() -> Result<()> {
    let mut figures = Figures::default();
    for r in 0..ROUNDS {
        let seed = BASE_SEED + r;
        round::<E>(seed, &mut figures).with_context(|| format!("{} round {r}, seed {seed:#x}", E::NAME))?;
    }
    let f = figures;
    ensure!(f.renames > 0, "no rename was acknowledged in {} rounds: the read-modify-write went untested", f.rounds);
    println!(
        "{}: {} rounds, {} acknowledged writes ({} bootstraps, {} renames), all present after restart; {} failed \
         writes, {} present after restart; {} calls after the failure, all Unavailable",
        E::NAME,
        f.rounds,
        f.bootstraps + f.renames,
        f.bootstraps,
        f.renames,
        f.failed,
        f.failed_present,
        f.late_calls
    );
    Ok(())
}

#[cfg(feature = "fjall-store")]
#[test]
fn fjall_failed_sync_under_16_writers_stops_the_store_and_loses_no_acknowledged_write() -> Result<()> {
    rounds::<commons_gateway::backend::FjallCommonsStore>()
}

#[cfg(feature = "sled-store")]
#[test]
fn sled_failed_sync_under_16_writers_stops_the_store_and_loses_no_acknowledged_write() -> Result<()> {
    rounds::<commons_gateway::backend::SledCommonsStore>()
}

/// Over HTTP, in process, on this build's engine: the request whose sync
/// failed is answered 500 `internal` (an I/O error that is not a full disk)
/// with the JSON error body, and every later request, reads and
/// `/v1/health` included, 503 `unavailable`; after a restart the failed
/// write is whole or absent and the store verifies clean.
#[cfg(all(feature = "gateway", not(feature = "postgres-store")))]
#[actix_web::test]
async fn http_the_request_whose_sync_failed_is_500_and_every_later_one_503() -> Result<()> {
    use actix_web::web;
    use common::http::{check_error_body, Call, Gateway, TOKEN};
    use commons_gateway::CommonsBackend;

    let data_dir = tempfile::tempdir()?;
    let folder = store_folder::<CommonsBackend>(data_dir.path())?;
    let backend = CommonsBackend::open(&folder, &StoreConfig::default())?;
    let armed = Arc::new(AtomicBool::new(false));
    backend.inject_sync_failures({
        let armed = armed.clone();
        move |_| armed.load(Ordering::SeqCst)
    });
    let m = web::Data::new(manager_on(backend)?);
    let gw = Gateway::new(&m, Some(TOKEN)).await;

    let mut rng = Rng::new(BASE_SEED);
    let (kept, failed, late) = (rng.person(), rng.person(), rng.person());
    let bootstrap = |p: &Person, name: &str| {
        Call::post("/v1/anchors").operator().json(&json!({"did": p.did.as_str(), "display_name": name}))
    };
    let kept_id = gw.expect(&bootstrap(&kept, "Kept"), 201).await?.field("anchor_id")?;
    let renamed = Call::patch(format!("/v1/holders/{kept_id}")).signed(
        &kept,
        "holder-update",
        &kept_id,
        json!({"display_name": "Kept and renamed"}),
    );
    let acknowledged = gw.expect(&renamed, 200).await?.json;
    gw.expect(&Call::get("/v1/health"), 200).await?;

    // The next sync fails: the request it was for is answered 500.
    armed.store(true, Ordering::SeqCst);
    let reply = gw.send(&bootstrap(&failed, "Failed")).await;
    ensure!(reply.status == 500, "the write whose sync failed: {} {}", reply.status, reply.text);
    check_error_body(&reply, "internal", "the write whose sync failed")?;

    // Every later request is 503 unavailable: reads, health, writes.
    let later = [
        Call::get(format!("/v1/anchors/{kept_id}")),
        Call::get(format!("/v1/holders/{kept_id}")),
        Call::get(format!("/v1/anchors/by-did/{}", failed.did.as_str())),
        Call::get("/v1/health"),
        bootstrap(&late, "Late"),
        Call::patch(format!("/v1/holders/{kept_id}")).signed(
            &kept,
            "holder-update",
            &kept_id,
            json!({"display_name": "Too late"}),
        ),
    ];
    for call in &later {
        let reply = gw.send(call).await;
        ensure!(reply.status == 503, "{call:?} after the failure: {} {}", reply.status, reply.text);
        check_error_body(&reply, "unavailable", &format!("{call:?}"))?;
        ensure!(reply.field("message")?.contains(&folder.display().to_string()), "{}", reply.text);
    }

    // A restart: the acknowledged write is there, the failed one whole or
    // absent, the late one absent, and the store verifies clean.
    drop(gw);
    let m = Arc::try_unwrap(m.into_inner()).map_err(|_| anyhow!("the manager is still shared"))?;
    drop(m);
    let m = open_at::<CommonsBackend>(data_dir.path(), Durability::Sync, T0)?;
    ensure!(serde_json::to_value(m.holder(&kept_id)?)? == acknowledged, "the acknowledged rename reads back otherwise");
    let (anchor, holder) = (m.anchor_by_did(failed.did.as_str()), m.holder_by_did(failed.did.as_str()));
    let failed_present = match (&anchor, &holder) {
        (Ok(a), Ok(h)) => {
            ensure!(h.holder.holder_id == a.anchor.anchor_id && h.holder.display_name.as_deref() == Some("Failed"));
            true
        }
        (a, h) if is_not_found(a) && is_not_found(h) => false,
        _ => bail!("the failed bootstrap is half there: anchor {anchor:?}, holder {holder:?}"),
    };
    ensure!(is_not_found(&m.anchor_by_did(late.did.as_str())), "the bootstrap refused with 503 is present");
    let report = m.store().verify()?;
    ensure!(report.is_clean(), "verify after the restart: {:?}", report.problems);
    println!(
        "http ({}): the failed write was answered 500 internal, {} later requests 503 unavailable; after the \
         restart the failed write is {}",
        m.info().backend,
        later.len(),
        if failed_present { "present" } else { "absent" }
    );
    Ok(())
}
