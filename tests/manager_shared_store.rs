//! Several `CommonsManager`s over ONE store, standing for several gateway
//! processes on one database: each manager has its own in-process locks and
//! no record cache, so only the store's preconditions (`Changes` states one
//! for every record it writes) keep their writes apart, and a
//! read-modify-write whose commit meets a conflict runs again
//! (`exclusive`, at most `MAX_ATTEMPTS` runs, then 503).
//!
//! The concurrent checks run on every engine that can be shared: several
//! managers over one in-memory store (one `Arc`), and, with `--features
//! postgres-store`, several managers each with its own connection pool on
//! one schema of the test server (what several gateway processes are).
//!
//! With threads started together through a barrier: one DID bootstrapped
//! through every manager at once gives one anchor and `already_exists` for
//! the others; 30 members voting at once on one amendment, spread over the
//! managers, give a tally of 30; evidence added at once to one appeal
//! through the managers is all kept (and the appeal's 200-item cap holds);
//! one appellant filing a StewardAction appeal of one steward through every
//! manager at once gets one open appeal and `appeal_open` for the others; a
//! record written through one manager is read back through another at
//! once. Two wrapper backends make a conflict certain instead of likely:
//! one lets another gateway write the same record just before the manager's
//! commit (the manager re-runs and both changes are kept), one conflicts on
//! every commit (the manager gives up with 503 `unavailable` after
//! `MAX_ATTEMPTS` runs, having written nothing).
//!
//! Under sustained contention on one record (several gateways each with
//! several requests queued on it) a request may meet a conflict on every one
//! of its `MAX_ATTEMPTS` runs and be answered 503 `unavailable` ("retry
//! later", nothing written): with 3 gateways x 2 threads adding the ~530
//! evidence items of the three evidence checks, none in memory and 0 to 2
//! on PostgreSQL per run (debug build, 2 cores, `MAX_ATTEMPTS` = 32).
//! The concurrent tests therefore send every request
//! as a client does ([`as_a_client`]: again after a 503), and check that the
//! store ends holding each acknowledged change exactly once, so a 503 that
//! had written something would show as a duplicate or an `already_voted`.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, PoisonError};
use std::thread;

use anyhow::{anyhow, ensure, Context, Result};
use common::keys::Person;
use common::world::{apply, make_member, new_members, snapshot, World, HASH, T0};
use commons_gateway::actions::*;
use commons_gateway::backend::{BackendError, BackendResult, InMemoryCommonsStore, WriteBatch};
use commons_gateway::records::{AffiliationStatus, AmendmentStatus, Appeal, AppealState, Capability};
use commons_gateway::{
    AppealFilter, Clock, CommonsError, CommonsManager, CommonsStoreBackend, Paging, StoreConfig, MAX_ATTEMPTS,
};
use rstest::rstest;
use serde_json::json;

/// Managers sharing the store in the concurrent tests.
const GATEWAYS: usize = 3;

/// The one database the gateways share.
type Shared = Arc<InMemoryCommonsStore>;
/// One gateway process over it.
type Gateway = CommonsManager<Shared>;

/// What a gateway over a shared database runs with: no record cache.
fn uncached() -> StoreConfig {
    StoreConfig { cache_records: 0, ..StoreConfig::default() }
}

/// A manager over `backend`, with its own locks, no cache, and a manual
/// clock at [`T0`].
fn gateway_on<S: CommonsStoreBackend>(backend: S) -> Result<CommonsManager<S>> {
    Ok(CommonsManager::with_backend(backend, &uncached(), Clock::manual(T0))?)
}

/// `n` gateways over one fresh in-memory store.
fn gateways(n: usize) -> Result<(Shared, Vec<Gateway>)> {
    let backend: Shared = Arc::new(InMemoryCommonsStore::new());
    let managers = (0..n).map(|_| gateway_on(Arc::clone(&backend))).collect::<Result<_>>()?;
    Ok((backend, managers))
}

/// Runs `work(i)` for every `i` in `0..n` on its own thread, all released
/// at once by a barrier; the results in `i` order.
fn at_once<T: Send>(n: usize, work: impl Fn(usize) -> T + Sync) -> Result<Vec<T>> {
    let barrier = Barrier::new(n);
    let (barrier, work) = (&barrier, &work);
    thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                s.spawn(move || {
                    barrier.wait();
                    work(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().map_err(|_| anyhow!("a thread panicked"))).collect()
    })
}

/// How many times [`as_a_client`] sends a request again after a 503.
const CLIENT_RETRIES: usize = 20;

/// Sends a request as a gateway's client does: again (at most
/// [`CLIENT_RETRIES`] times) while it is answered 503 `unavailable`, which
/// promises that nothing was written. Returns the last answer.
fn as_a_client<T>(mut request: impl FnMut() -> Result<T, CommonsError>) -> Result<T, CommonsError> {
    let mut retries = 0;
    loop {
        match request() {
            Err(e) if e.status() == 503 && e.code() == "unavailable" && retries < CLIENT_RETRIES => retries += 1,
            answer => return answer,
        }
    }
}

/// Rows a store holds (its whole scan).
fn row_count<S: CommonsStoreBackend>(m: &CommonsManager<S>) -> usize {
    snapshot(m).len()
}

// ---------------------------------------------------------------------------
// Concurrent operations through several managers.
// ---------------------------------------------------------------------------

const BOOTSTRAP_ROUNDS: usize = 20;
const CONTENDERS_PER_GATEWAY: usize = 2;

fn same_did_bootstrapped_through_every_gateway_at_once_makes_one_anchor<S: CommonsStoreBackend>(
    gws: &[CommonsManager<S>],
) -> Result<()> {
    // The rows one bootstrap writes, counted with one done alone.
    let empty = row_count(&gws[0]);
    gws[0].bootstrap_anchor(Person::new().did.as_str(), Some("Alone".into()))?;
    let rows_per_bootstrap = row_count(&gws[0]) - empty;

    let contenders = GATEWAYS * CONTENDERS_PER_GATEWAY;
    for round in 0..BOOTSTRAP_ROUNDS {
        let p = Person::new();
        let before = row_count(&gws[0]);
        let results = at_once(contenders, |i| {
            gws[i % GATEWAYS].bootstrap_anchor(p.did.as_str(), Some(format!("Contender {i}")))
        })?;

        let winners: Vec<usize> = (0..contenders).filter(|i| results[*i].is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: one bootstrap succeeds, got {results:?}");
        let winner = winners[0];
        for (i, r) in results.iter().enumerate().filter(|(i, _)| *i != winner) {
            let err = r.as_ref().expect_err("only the winner succeeded");
            assert_eq!(
                (err.status(), err.code()),
                (409, "already_exists"),
                "round {round}, contender {i} (gateway {}): {err}",
                i % GATEWAYS
            );
        }

        // Exactly one anchor and its holder: the winner's, seen alike
        // through every gateway.
        assert_eq!(row_count(&gws[0]) - before, rows_per_bootstrap, "round {round}: rows of one bootstrap");
        let won = results[winner].as_ref().map_err(|e| anyhow!("{e}"))?;
        for (g, m) in gws.iter().enumerate() {
            let anchor = m.anchor_by_did(p.did.as_str())?;
            assert_eq!(anchor.anchor, won.anchor, "round {round}: anchor through gateway {g}");
            let holder = m.holder(&won.anchor.anchor_id)?.holder;
            assert_eq!(
                holder.display_name.as_deref(),
                Some(format!("Contender {winner}").as_str()),
                "round {round}: the winner's holder, not a loser's, through gateway {g}"
            );
        }
    }
    Ok(())
}

const VOTERS: usize = 30;

fn thirty_members_voting_at_once_through_every_gateway_are_all_counted<S: CommonsStoreBackend>(
    gws: &[CommonsManager<S>],
) -> Result<()> {
    let m = &gws[0];
    let w = World::build(m, "shared-votes", false)?;
    let proposer = Person::new();
    m.bootstrap_anchor(proposer.did.as_str(), None)?;
    make_member(m, &proposer.did, &w.domain, &[Capability::Propose])?;
    let voters = new_members(m, &w.domain, VOTERS, &[Capability::Vote])?;
    let id = m
        .propose_amendment(&proposer.sign::<AmendmentPropose>(
            "-",
            json!({"charter_id": w.charter_id, "title": "Open on Sundays",
                   "changes": [{"target": "hours", "change": "Modify", "new_value": "Mon-Sun"}]}),
        ))?
        .amendment_id;
    m.submit_amendment(&proposer.sign::<AmendmentSubmit>(&id, json!({})))?;
    m.open_amendment_voting_by_operator(&id)?;
    let approves = |i: usize| !i.is_multiple_of(3);
    let ballots: Vec<_> =
        voters.iter().enumerate().map(|(i, v)| v.sign::<CastVote>(&id, json!({"approve": approves(i)}))).collect();

    let results = at_once(VOTERS, |i| as_a_client(|| gws[i % GATEWAYS].vote_amendment(&ballots[i]).map(|_| ())))?;
    for (i, r) in results.iter().enumerate() {
        ensure!(r.is_ok(), "voter {i} through gateway {}: {r:?}", i % GATEWAYS);
    }

    let expected: BTreeSet<String> = voters.iter().map(|v| v.did.to_string()).collect();
    for (g, m) in gws.iter().enumerate() {
        let a = m.amendment(&id)?;
        assert_eq!(a.votes.len(), VOTERS, "votes seen through gateway {g}");
        let seen: BTreeSet<String> = a.votes.iter().map(|v| v.voter_did.to_string()).collect();
        assert_eq!(seen, expected, "every voter once, through gateway {g}");
        for v in &a.votes {
            let i = voters.iter().position(|p| p.did == v.voter_did).context("a vote of no voter")?;
            assert_eq!(v.approve, approves(i), "voter {i}'s ballot");
        }
    }
    let closed = gws[1].close_amendment(&id, true)?;
    assert_eq!(closed.tally.eligible, VOTERS as u64);
    assert_eq!(closed.tally.votes, VOTERS as u64);
    assert_eq!(closed.tally.approvals, (0..VOTERS).filter(|i| approves(*i)).count() as u64);
    assert!(matches!(closed.amendment.status, AmendmentStatus::Ratified { .. }), "{:?}", closed.amendment.status);
    Ok(())
}

/// An appeal (kind Other, in the world's coop) filed by genesis 3; its
/// parties are the appellant and the two commons-wide stewards.
fn appeal_with_parties<S: CommonsStoreBackend>(m: &CommonsManager<S>) -> Result<(World, Appeal, Vec<Person>)> {
    let w = World::build(m, "shared-appeal", false)?;
    let appellant = w.genesis[3].clone();
    let appeal = m.file_appeal(&appellant.sign::<AppealFile>(
        "-",
        json!({"kind": {"kind": "Other"}, "grounds": "The oven rota is unfair.", "statement": "See the evidence.",
               "requested_remedy": {"kind": "Reinstate"}, "jurisdiction": w.domain}),
    ))?;
    let parties = vec![appellant, w.stewards[0].clone(), w.stewards[1].clone()];
    Ok((w, appeal, parties))
}

const EVIDENCE_THREADS_PER_GATEWAY: usize = 2;
/// `commons_gateway::records`' cap on evidence items per appeal
/// (`MAX_ITEMS` in the appeal model).
const ITEM_CAP: usize = 200;

/// `added` pieces of evidence are sent at once through the gateways, by
/// every party in turn; `kept` of them are on the appeal and the rest are
/// refused `invalid_input` (past the 200-item cap). What was acknowledged
/// is exactly what the appeal holds.
fn evidence_added_at_once_is_all_kept<S: CommonsStoreBackend>(
    gws: &[CommonsManager<S>],
    added: usize,
    kept: usize,
) -> Result<()> {
    let (_, appeal, parties) = appeal_with_parties(&gws[0])?;
    let id = appeal.appeal_id.clone();
    let items: Vec<_> = (0..added)
        .map(|i| {
            parties[i % parties.len()]
                .sign::<AppealEvidence>(&id, json!({"sha256": HASH, "description": format!("item {i:03}")}))
        })
        .collect();

    // Each thread sends every `threads`-th item, through its own gateway.
    let threads = GATEWAYS * EVIDENCE_THREADS_PER_GATEWAY;
    let per_thread = at_once(threads, |t| {
        (t..added)
            .step_by(threads)
            .map(|i| (i, as_a_client(|| gws[t % GATEWAYS].add_appeal_evidence(&items[i]).map(|_| ()))))
            .collect::<Vec<_>>()
    })?;

    let mut acknowledged = BTreeSet::new();
    let mut refused = 0;
    for (i, r) in per_thread.into_iter().flatten() {
        match r {
            Ok(()) => {
                acknowledged.insert(format!("item {i:03}"));
            }
            Err(e) => {
                assert_eq!((e.status(), e.code()), (400, "invalid_input"), "item {i}: {e}");
                refused += 1;
            }
        }
    }
    assert_eq!((acknowledged.len(), refused), (kept, added - kept), "acknowledged and refused");
    for (g, m) in gws.iter().enumerate() {
        let a = m.appeal(&id)?;
        assert_eq!(a.status, AppealState::Filed);
        let held: Vec<&str> = a.evidence.iter().map(|e| e.description.as_str()).collect();
        assert_eq!(held.len(), kept, "items held, through gateway {g}");
        let held: BTreeSet<String> = held.into_iter().map(String::from).collect();
        assert_eq!(held, acknowledged, "the appeal holds exactly what was acknowledged, through gateway {g}");
    }
    Ok(())
}

fn evidence_under_the_cap_is_all_kept<S: CommonsStoreBackend>(gws: &[CommonsManager<S>]) -> Result<()> {
    evidence_added_at_once_is_all_kept(gws, 120, 120)
}

fn evidence_up_to_the_cap_is_all_kept<S: CommonsStoreBackend>(gws: &[CommonsManager<S>]) -> Result<()> {
    evidence_added_at_once_is_all_kept(gws, ITEM_CAP, ITEM_CAP)
}

fn evidence_past_the_cap_is_refused_past_it<S: CommonsStoreBackend>(gws: &[CommonsManager<S>]) -> Result<()> {
    evidence_added_at_once_is_all_kept(gws, ITEM_CAP + 12, ITEM_CAP)
}

fn a_record_written_through_one_gateway_is_read_back_through_another_at_once<S: CommonsStoreBackend>(
    gws: &[CommonsManager<S>],
) -> Result<()> {
    let w = World::build(&gws[0], "shared-reads", false)?;
    let p = Person::new();

    // Each step writes through one gateway and reads through every other.
    let anchor = gws[1].bootstrap_anchor(p.did.as_str(), Some("Pat".into()))?.anchor;
    let holder_id = anchor.anchor_id.clone();
    for (g, m) in gws.iter().enumerate() {
        assert_eq!(m.anchor(&anchor.anchor_id)?.anchor, anchor, "anchor through gateway {g}");
        assert_eq!(m.holder(&holder_id)?.holder.display_name.as_deref(), Some("Pat"), "gateway {g}");
    }

    gws[2].update_holder(&p.sign::<HolderUpdate>(&holder_id, json!({"display_name": "Pat Baker"})))?;
    for (g, m) in gws.iter().enumerate() {
        assert_eq!(m.holder(&holder_id)?.holder.display_name.as_deref(), Some("Pat Baker"), "gateway {g}");
    }

    apply(&gws[0], &p, &holder_id, &w.domain)?;
    for (g, m) in gws.iter().enumerate() {
        let holder = m.holder(&holder_id)?.holder;
        let status = holder.affiliation(&w.domain).map(|a| a.status);
        assert_eq!(status, Some(AffiliationStatus::Candidate), "affiliation through gateway {g}");
        assert_eq!(holder.display_name.as_deref(), Some("Pat Baker"), "the earlier change kept, gateway {g}");
    }

    let steward = gws[1].register_steward(p.did.as_str(), 30, None)?.steward;
    for (g, m) in gws.iter().enumerate() {
        assert_eq!(m.steward(&steward.steward_id)?.steward, steward, "steward through gateway {g}");
    }
    Ok(())
}

const FILING_ROUNDS: usize = 10;

/// One appellant files a StewardAction appeal of one steward through every
/// gateway at once, [`FILING_ROUNDS`] times (withdrawing the open one between
/// rounds): each round leaves exactly one open appeal and answers the other
/// filings 409 `appeal_open`. No record is written by two filings, so only
/// the unique `appeal_open/` index row (created where absent) keeps a second
/// one out across gateways.
fn one_open_steward_appeal_when_filed_through_every_gateway_at_once<S: CommonsStoreBackend>(
    gws: &[CommonsManager<S>],
) -> Result<()> {
    let w = World::build(&gws[0], "shared-filing", false)?;
    let steward_id = commons_gateway::records::StewardRecord::id_for(&w.stewards[0].did);
    let appellant = &w.genesis[3];
    let contenders = GATEWAYS * CONTENDERS_PER_GATEWAY;
    for round in 0..FILING_ROUNDS {
        let filings: Vec<_> = (0..contenders)
            .map(|i| {
                appellant.sign::<AppealFile>(
                    "-",
                    json!({"kind": {"kind": "StewardAction", "steward_id": steward_id},
                           "grounds": format!("Round {round}, filing {i}."), "statement": "Vouched for a stranger.",
                           "requested_remedy": {"kind": "Reinstate"}}),
                )
            })
            .collect();
        let results = at_once(contenders, |i| as_a_client(|| gws[i % GATEWAYS].file_appeal(&filings[i])))?;
        let mut filed = Vec::new();
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(appeal) => filed.push(appeal),
                Err(e) => assert_eq!((e.status(), e.code()), (409, "appeal_open"), "round {round}, filing {i}: {e}"),
            }
        }
        assert_eq!(filed.len(), 1, "round {round}: appeals filed at once: {filed:?}");
        let filed_only = AppealFilter { status: Some("Filed".into()) };
        let open = gws[1].list_appeals(appellant.did.as_str(), &filed_only, Paging::new(None, 100))?.items;
        assert_eq!(open.len(), 1, "round {round}: open appeals read through another gateway");
        assert_eq!(open[0].appeal_id, filed[0].appeal_id);
        gws[2].withdraw_appeal(&appellant.sign::<AppealWithdraw>(&filed[0].appeal_id, json!({})))?;
    }
    Ok(())
}

/// One of the checks above, on gateways of engine `S` sharing one database.
type Check<S> = fn(&[CommonsManager<S>]) -> Result<()>;

/// [`GATEWAYS`] managers over one in-memory store (one `Arc`).
#[rstest]
#[case::same_did_bootstrapped_at_once_makes_one_anchor(
    same_did_bootstrapped_through_every_gateway_at_once_makes_one_anchor
)]
#[case::thirty_voting_at_once_are_all_counted(thirty_members_voting_at_once_through_every_gateway_are_all_counted)]
#[case::evidence_under_the_cap_is_all_kept(evidence_under_the_cap_is_all_kept)]
#[case::evidence_up_to_the_cap_is_all_kept(evidence_up_to_the_cap_is_all_kept)]
#[case::evidence_past_the_cap_is_refused_past_it(evidence_past_the_cap_is_refused_past_it)]
#[case::one_open_steward_appeal_when_filed_at_once(one_open_steward_appeal_when_filed_through_every_gateway_at_once)]
#[case::written_through_one_read_through_another(
    a_record_written_through_one_gateway_is_read_back_through_another_at_once
)]
fn memory(#[case] check: Check<Shared>) -> Result<()> {
    check(&gateways(GATEWAYS)?.1)
}

/// [`GATEWAYS`] managers, each with its own connection pool, on one schema
/// of the test server named by `COMMONS_TEST_DATABASE_URL` (`cargo xtask
/// ci` starts one; so does `cargo xtask postgres`). The schema is left on
/// that throwaway server.
#[cfg(feature = "postgres-store")]
#[rstest]
#[case::same_did_bootstrapped_at_once_makes_one_anchor(
    same_did_bootstrapped_through_every_gateway_at_once_makes_one_anchor
)]
#[case::thirty_voting_at_once_are_all_counted(thirty_members_voting_at_once_through_every_gateway_are_all_counted)]
#[case::evidence_under_the_cap_is_all_kept(evidence_under_the_cap_is_all_kept)]
#[case::evidence_up_to_the_cap_is_all_kept(evidence_up_to_the_cap_is_all_kept)]
#[case::evidence_past_the_cap_is_refused_past_it(evidence_past_the_cap_is_refused_past_it)]
#[case::one_open_steward_appeal_when_filed_at_once(one_open_steward_appeal_when_filed_through_every_gateway_at_once)]
#[case::written_through_one_read_through_another(
    a_record_written_through_one_gateway_is_read_back_through_another_at_once
)]
fn postgres(#[case] check: Check<commons_gateway::backend::PostgresCommonsStore>) -> Result<()> {
    use commons_gateway::backend::{schema_url, PostgresCommonsStore, TEST_URL_VAR};
    use commons_gateway::OpenBackend;
    let url = std::env::var(TEST_URL_VAR)
        .with_context(|| format!("set {TEST_URL_VAR} to a test server (cargo xtask postgres starts one)"))?;
    let shared = schema_url(&url, &format!("commons_shared_{}", uuid::Uuid::new_v4().simple()))?;
    let gws = (0..GATEWAYS)
        .map(|_| gateway_on(PostgresCommonsStore::connect(&shared, &uncached())?))
        .collect::<Result<Vec<_>>>()?;
    check(&gws)
}

// ---------------------------------------------------------------------------
// Wrapper backends that make the conflict certain.
// ---------------------------------------------------------------------------

/// Another gateway's change, run by [`Interloper`] just before a commit.
type Hook = Box<dyn FnOnce() -> Result<(), CommonsError> + Send>;

/// Forwards to the shared store, but the first `apply` carrying
/// preconditions after [`Interloper::arm`] first runs the armed hook (another
/// gateway writing the same record), so that the commit meets a conflict.
struct Interloper {
    inner: Shared,
    hook: Mutex<Option<Hook>>,
    /// The hook's result, once it ran.
    hook_ran: Mutex<Option<Result<(), String>>>,
    /// Precondition keys of the batch the hook ran before.
    intercepted: Mutex<Vec<String>>,
    /// Applies with preconditions forwarded, and how many met `Conflict`.
    commits: AtomicUsize,
    conflicts: AtomicUsize,
}

impl Interloper {
    fn new(inner: Shared) -> Self {
        Self {
            inner,
            hook: Mutex::new(None),
            hook_ran: Mutex::new(None),
            intercepted: Mutex::new(Vec::new()),
            commits: AtomicUsize::new(0),
            conflicts: AtomicUsize::new(0),
        }
    }

    fn arm(&self, hook: Hook) {
        *self.hook.lock().unwrap_or_else(PoisonError::into_inner) = Some(hook);
    }

    fn hook_ran(&self) -> Option<Result<(), String>> {
        self.hook_ran.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn intercepted(&self) -> Vec<String> {
        self.intercepted.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl CommonsStoreBackend for Interloper {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn persistent(&self) -> bool {
        self.inner.persistent()
    }
    fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
        self.inner.get(key)
    }
    fn scan_from(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> BackendResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner.scan_from(prefix, start_after, limit)
    }
    fn apply(&self, batch: WriteBatch) -> BackendResult<()> {
        if batch.preconditions().is_empty() {
            return self.inner.apply(batch);
        }
        let hook = self.hook.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(hook) = hook {
            *self.intercepted.lock().unwrap_or_else(PoisonError::into_inner) =
                batch.preconditions().iter().map(|p| String::from_utf8_lossy(p.key()).into_owned()).collect();
            let ran = hook().map_err(|e| e.to_string());
            *self.hook_ran.lock().unwrap_or_else(PoisonError::into_inner) = Some(ran);
        }
        self.commits.fetch_add(1, Ordering::SeqCst);
        let result = self.inner.apply(batch);
        if matches!(result, Err(BackendError::Conflict { .. })) {
            self.conflicts.fetch_add(1, Ordering::SeqCst);
        }
        result
    }
    fn flush(&self) -> BackendResult<()> {
        self.inner.flush()
    }
    fn size_on_disk(&self) -> BackendResult<u64> {
        self.inner.size_on_disk()
    }
}

/// Two gateways on one store: `other` writes it directly, `mine` through
/// `interloper` (shared, so the test can arm it).
struct Interloped {
    other: Arc<Gateway>,
    mine: CommonsManager<Arc<Interloper>>,
    interloper: Arc<Interloper>,
}

fn interloped() -> Result<Interloped> {
    let (backend, mut gws) = gateways(1)?;
    let other = Arc::new(gws.remove(0));
    let interloper = Arc::new(Interloper::new(backend));
    let mine = gateway_on(Arc::clone(&interloper))?;
    Ok(Interloped { other, mine, interloper })
}

/// What the interloper saw: its hook ran once and succeeded before a batch
/// expecting the record `record_id`, that batch met one conflict, and the
/// re-run committed (two commits in all).
fn assert_one_conflict_then_rerun(interloper: &Interloper, record_id: &str) {
    assert_eq!(interloper.hook_ran(), Some(Ok(())), "the other gateway's change went through");
    let keys = interloper.intercepted();
    assert!(keys.iter().any(|k| k.ends_with(record_id)), "the intercepted batch expects {record_id}: {keys:?}");
    assert_eq!(interloper.conflicts.load(Ordering::SeqCst), 1, "one conflict");
    assert_eq!(interloper.commits.load(Ordering::SeqCst), 2, "the conflicting commit and the re-run's");
}

#[test]
fn a_vote_that_meets_another_gateways_vote_reruns_and_both_are_kept() -> Result<()> {
    let Interloped { other, mine, interloper } = interloped()?;
    let w = World::build(other.as_ref(), "interloped-vote", false)?;
    let proposer = Person::new();
    other.bootstrap_anchor(proposer.did.as_str(), None)?;
    make_member(other.as_ref(), &proposer.did, &w.domain, &[Capability::Propose])?;
    let voters = new_members(other.as_ref(), &w.domain, 2, &[Capability::Vote])?;
    let id = other
        .propose_amendment(&proposer.sign::<AmendmentPropose>(
            "-",
            json!({"charter_id": w.charter_id, "title": "Rye on Fridays",
                   "changes": [{"target": "menu", "change": "Add", "new_value": "Rye"}]}),
        ))?
        .amendment_id;
    other.submit_amendment(&proposer.sign::<AmendmentSubmit>(&id, json!({})))?;
    other.open_amendment_voting_by_operator(&id)?;

    let theirs = voters[1].sign::<CastVote>(&id, json!({"approve": false}));
    let gw = Arc::clone(&other);
    interloper.arm(Box::new(move || gw.vote_amendment(&theirs).map(|_| ())));
    let returned = mine.vote_amendment(&voters[0].sign::<CastVote>(&id, json!({"approve": true})))?;

    assert_one_conflict_then_rerun(&interloper, &id);
    let expected = vec![(voters[1].did.to_string(), false), (voters[0].did.to_string(), true)];
    for (who, a) in [("returned", returned), ("stored", other.amendment(&id)?), ("mine", mine.amendment(&id)?)] {
        let votes: Vec<(String, bool)> = a.votes.iter().map(|v| (v.voter_did.to_string(), v.approve)).collect();
        assert_eq!(votes, expected, "{who}: the other gateway's vote, then mine");
    }
    Ok(())
}

#[test]
fn a_holder_update_that_meets_another_gateways_change_reruns_and_both_are_kept() -> Result<()> {
    let Interloped { other, mine, interloper } = interloped()?;
    let w = World::build(other.as_ref(), "interloped-holder", false)?;
    let p = Person::new();
    let holder_id = other.bootstrap_anchor(p.did.as_str(), Some("Pat".into()))?.anchor.anchor_id;

    // The other gateway: Pat applies to the coop. Mine: Pat renames.
    let application = p.sign::<AffiliationApply>(&holder_id, json!({"jurisdiction": w.domain}));
    let gw = Arc::clone(&other);
    interloper.arm(Box::new(move || gw.apply_affiliation(&application).map(|_| ())));
    let returned = mine.update_holder(&p.sign::<HolderUpdate>(&holder_id, json!({"display_name": "Pat Baker"})))?;

    assert_one_conflict_then_rerun(&interloper, &holder_id);
    for (who, h) in [("returned", returned.holder), ("stored", other.holder(&holder_id)?.holder)] {
        assert_eq!(h.display_name.as_deref(), Some("Pat Baker"), "{who}: my change");
        let status = h.affiliation(&w.domain).map(|a| a.status);
        assert_eq!(status, Some(AffiliationStatus::Candidate), "{who}: the other gateway's change");
    }
    Ok(())
}

/// Answers every `apply` that carries preconditions (every commit of the
/// manager) with `Conflict` on its first precondition's key, writing
/// nothing, as if another gateway always came first; counts them.
struct AlwaysConflict {
    inner: Shared,
    refused: AtomicUsize,
}

impl CommonsStoreBackend for AlwaysConflict {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn persistent(&self) -> bool {
        self.inner.persistent()
    }
    fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
        self.inner.get(key)
    }
    fn scan_from(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> BackendResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner.scan_from(prefix, start_after, limit)
    }
    fn apply(&self, batch: WriteBatch) -> BackendResult<()> {
        match batch.preconditions().first() {
            Some(pre) => {
                self.refused.fetch_add(1, Ordering::SeqCst);
                Err(pre.conflict())
            }
            None => self.inner.apply(batch),
        }
    }
    fn flush(&self) -> BackendResult<()> {
        self.inner.flush()
    }
    fn size_on_disk(&self) -> BackendResult<u64> {
        self.inner.size_on_disk()
    }
}

/// The records the give-up cases work on, written through a plain gateway.
struct Fixture {
    world: World,
    pat: Person,
    holder_id: String,
    amendment_id: String,
    voter: Person,
}

fn fixture(m: &Gateway) -> Result<Fixture> {
    let world = World::build(m, "contended", false)?;
    let pat = Person::new();
    let holder_id = m.bootstrap_anchor(pat.did.as_str(), Some("Pat".into()))?.anchor.anchor_id;
    make_member(m, &pat.did, &world.domain, &[Capability::Propose])?;
    let voter = new_members(m, &world.domain, 1, &[Capability::Vote])?.remove(0);
    let amendment_id = m
        .propose_amendment(&pat.sign::<AmendmentPropose>(
            "-",
            json!({"charter_id": world.charter_id, "title": "Longer hours",
                   "changes": [{"target": "hours", "change": "Modify", "new_value": "6-22"}]}),
        ))?
        .amendment_id;
    m.submit_amendment(&pat.sign::<AmendmentSubmit>(&amendment_id, json!({})))?;
    m.open_amendment_voting_by_operator(&amendment_id)?;
    Ok(Fixture { world, pat, holder_id, amendment_id, voter })
}

/// One manager operation, as the give-up cases run it.
type Operation = fn(&CommonsManager<AlwaysConflict>, &Fixture) -> Result<(), CommonsError>;

fn bootstrap_new_anchor(m: &CommonsManager<AlwaysConflict>, _: &Fixture) -> Result<(), CommonsError> {
    m.bootstrap_anchor(Person::new().did.as_str(), None).map(|_| ())
}

fn rename_holder(m: &CommonsManager<AlwaysConflict>, f: &Fixture) -> Result<(), CommonsError> {
    m.update_holder(&f.pat.sign::<HolderUpdate>(&f.holder_id, json!({"display_name": "Pat Baker"}))).map(|_| ())
}

fn cast_vote(m: &CommonsManager<AlwaysConflict>, f: &Fixture) -> Result<(), CommonsError> {
    m.vote_amendment(&f.voter.sign::<CastVote>(&f.amendment_id, json!({"approve": true}))).map(|_| ())
}

fn suspend_steward(m: &CommonsManager<AlwaysConflict>, f: &Fixture) -> Result<(), CommonsError> {
    let steward_id = commons_gateway::records::StewardRecord::id_for(&f.world.stewards[0].did);
    m.suspend_steward(&steward_id, Some("complaint under review".into())).map(|_| ())
}

#[rstest]
#[case::bootstrap_anchor(bootstrap_new_anchor)]
#[case::holder_update(rename_holder)]
#[case::vote(cast_vote)]
#[case::operator_status_change(suspend_steward)]
fn a_change_that_always_conflicts_gives_up_after_max_attempts_with_503(#[case] operation: Operation) -> Result<()> {
    let (backend, gws) = gateways(1)?;
    let f = fixture(&gws[0])?;
    let before = snapshot(&gws[0]);
    let contended = gateway_on(AlwaysConflict { inner: Arc::clone(&backend), refused: AtomicUsize::new(0) })?;

    let err = operation(&contended, &f).expect_err("every commit conflicts");
    assert_eq!((err.status(), err.code()), (503, "unavailable"), "{err}");
    assert!(err.refusal().is_none(), "a store condition, not a refusal: {err:?}");
    let message = err.public_message();
    assert!(message.contains(&format!("{MAX_ATTEMPTS} times")), "the message says how often: {message}");
    assert_eq!(contended.store().backend().refused.load(Ordering::SeqCst), MAX_ATTEMPTS as usize, "commits tried");
    assert!(snapshot(&gws[0]) == before, "nothing was written");
    contended.check_available()?;
    Ok(())
}
