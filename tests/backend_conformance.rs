//! Conformance suite of the storage contract (`CommonsStoreBackend` +
//! `OpenBackend`), run on every engine compiled into this build: the
//! in-memory store always, sled with `--features sled-store`, fjall with
//! `--features fjall-store`, PostgreSQL with `--features postgres-store` (on
//! a fresh schema of the server named by `COMMONS_TEST_DATABASE_URL`, which
//! `cargo xtask ci` starts; a networked engine has no folder, so
//! `persistence!` does not apply to it).
//!
//! Each capability is one generic `check_*` function; the `conformance!` and
//! `persistence!` macros turn them into one test per (engine, capability),
//! named `<engine>::<capability>` (`cargo test --test backend_conformance
//! fjall::` runs one engine). `persistence!` holds what only a persistent
//! engine can promise (reopen, locking, durability modes).
//!
//! Preconditions (`WriteBatch::expect` / `expect_absent`) are part of the
//! contract every engine keeps, because several gateways sharing one
//! database rely on them to never lose an update: a batch whose
//! precondition fails is answered `Conflict` naming the key and writes
//! nothing, the store keeps serving, a precondition sees the store as it was
//! before the batch, and N threads doing read-increment-write cycles with
//! `expect` end with exactly N x cycles.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, ensure, Context, Result};
use commons_gateway::backend::{
    BackendError, CommonsStoreBackend, Durability, OpenBackend, StoreConfig, WriteBatch, KNOWN_STORE_FOLDERS,
    MAX_KEY_LEN,
};
use rstest::rstest;

type Rows = Vec<(Vec<u8>, Vec<u8>)>;

fn config(durability: Durability) -> StoreConfig {
    StoreConfig { durability, ..StoreConfig::default() }
}

/// Where an engine keeps its store under the data directory `root`.
fn store_dir<S: OpenBackend>(root: &Path) -> PathBuf {
    root.join(S::FOLDER)
}

/// A store of engine `S` in the data directory `root`; for a networked
/// engine, a fresh temporary one on its test server (`root` unused).
fn open_at<S: OpenBackend>(root: &Path, durability: Durability) -> Result<S> {
    if S::NETWORKED {
        return S::temporary(&config(durability)).with_context(|| format!("a temporary {} store", S::NAME));
    }
    let dir = store_dir::<S>(root);
    S::open(&dir, &config(durability)).with_context(|| format!("opening {} store at {}", S::NAME, dir.display()))
}

fn rows(pairs: &[(&str, &str)]) -> Rows {
    pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
}

fn keys_of(rows: &Rows) -> Vec<String> {
    rows.iter().map(|(k, _)| String::from_utf8_lossy(k).into_owned()).collect()
}

fn is_invalid_key<T: std::fmt::Debug>(result: Result<T, BackendError>) -> bool {
    matches!(result, Err(BackendError::InvalidKey { .. }))
}

// ---------------------------------------------------------------------------
// Capabilities every engine has.
// ---------------------------------------------------------------------------

fn check_put_get<S: OpenBackend>() -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Sync)?;
    assert_eq!(store.get(b"anchor/1")?, None);
    store.put(b"anchor/1", b"first")?;
    assert_eq!(store.get(b"anchor/1")?, Some(b"first".to_vec()));
    store.put(b"anchor/1", b"second")?;
    assert_eq!(store.get(b"anchor/1")?, Some(b"second".to_vec()));
    store.put(b"anchor/empty", b"")?;
    assert_eq!(store.get(b"anchor/empty")?, Some(Vec::new()));
    let big = vec![7u8; 300_000];
    store.put(b"anchor/big", &big)?;
    assert_eq!(store.get(b"anchor/big")?, Some(big));
    Ok(())
}

fn check_delete_missing<S: OpenBackend>() -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Sync)?;
    store.delete(b"charter/never-written")?;
    store.put(b"charter/1", b"v")?;
    store.delete(b"charter/1")?;
    assert_eq!(store.get(b"charter/1")?, None);
    store.delete(b"charter/1")?;
    assert_eq!(store.scan(b"charter/")?, Vec::new());
    Ok(())
}

fn check_exists<S: OpenBackend>() -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Sync)?;
    assert!(!store.exists(b"steward/1")?);
    store.put(b"steward/1", b"")?;
    assert!(store.exists(b"steward/1")?, "a key holding an empty value exists");
    assert!(!store.exists(b"steward/")?, "a prefix of a key is not a key");
    assert!(!store.exists(b"steward/10")?, "a key extending a key is not that key");
    store.delete(b"steward/1")?;
    assert!(!store.exists(b"steward/1")?);
    Ok(())
}

fn check_prefix_scan_is_exact<S: OpenBackend>() -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Buffered)?;
    let all = [
        ("aa/z", "0"),
        ("ab", "1"),
        ("ab/1", "2"),
        ("ab/2", "3"),
        ("ab0", "4"),
        ("abc/x", "5"),
        ("anchor/1", "6"),
        ("anchor/2", "7"),
        ("anchor0", "8"),
        ("anchor_did/did:key:z6Mk", "9"),
    ];
    let mut batch = WriteBatch::new();
    // Inserted out of order: the scan must sort.
    for (k, v) in all.iter().rev() {
        batch.put(*k, *v);
    }
    store.apply(batch)?;
    store.put(b"\xff\xff/top", b"t")?;

    assert_eq!(store.scan(b"ab/")?, rows(&[("ab/1", "2"), ("ab/2", "3")]));
    assert_eq!(store.scan(b"anchor/")?, rows(&[("anchor/1", "6"), ("anchor/2", "7")]));
    assert_eq!(store.scan(b"anchor_did/")?, rows(&[("anchor_did/did:key:z6Mk", "9")]));
    assert_eq!(keys_of(&store.scan(b"ab")?), ["ab", "ab/1", "ab/2", "ab0", "abc/x"]);
    assert_eq!(store.scan(b"zz/")?, Vec::new());
    // A prefix with no upper bound (all 0xff) still ends the scan correctly.
    assert_eq!(store.scan(b"\xff")?, vec![(b"\xff\xff/top".to_vec(), b"t".to_vec())]);
    // The empty prefix is the whole store, in key order.
    let mut expected = rows(&all);
    expected.push((b"\xff\xff/top".to_vec(), b"t".to_vec()));
    assert_eq!(store.scan(b"")?, expected);
    Ok(())
}

fn check_paged_scan_walks_every_key_once<S: OpenBackend>(page: usize) -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Buffered)?;
    let mut batch = WriteBatch::new();
    let expected: Vec<String> = (0..25).map(|i| format!("page/{i:03}")).collect();
    for (i, key) in expected.iter().enumerate() {
        batch.put(key.as_str(), i.to_string());
    }
    // Neighbours on both sides of the prefix.
    for key in ["pag", "page", "page0", "pagf/x"] {
        batch.put(key, "neighbour");
    }
    store.apply(batch)?;

    let mut walked: Rows = Vec::new();
    let mut pages = 0;
    loop {
        let after = walked.last().map(|(k, _)| k.clone());
        let rows = store.scan_from(b"page/", after.as_deref(), page)?;
        ensure!(rows.len() <= page, "page of {} rows for limit {page}", rows.len());
        if rows.is_empty() {
            break;
        }
        pages += 1;
        ensure!(pages <= 25, "paging does not end");
        walked.extend(rows);
    }
    assert_eq!(keys_of(&walked), expected, "every key once, in order");
    assert_eq!(pages, expected.len().div_ceil(page));
    for (i, (_, value)) in walked.iter().enumerate() {
        assert_eq!(value, i.to_string().as_bytes());
    }
    assert_eq!(walked, store.scan(b"page/")?);

    // `start_after` need not be a stored key.
    let from_gap = store.scan_from(b"page/", Some(b"page/0105"), 2)?;
    assert_eq!(keys_of(&from_gap), ["page/011", "page/012"]);
    // Before the prefix: starts at the prefix. After it: nothing.
    assert_eq!(keys_of(&store.scan_from(b"page/", Some(b"a"), 1)?), ["page/000"]);
    assert_eq!(store.scan_from(b"page/", Some(b"pagf"), 10)?, Vec::new());
    assert_eq!(store.scan_from(b"page/", Some(b"page/024"), 10)?, Vec::new());
    assert_eq!(store.scan_from(b"page/", None, 0)?, Vec::new());
    Ok(())
}

fn check_oversized_scan_bounds_match_nothing_longer<S: OpenBackend>() -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Buffered)?;
    store.put(b"a/1", b"x")?;
    store.put(b"b/1", b"y")?;
    let long = vec![b'a'; 70_000];
    assert_eq!(store.scan(&long)?, Vec::new(), "no stored key is that long");
    assert_eq!(store.scan_from(b"", Some(&long), 10)?, rows(&[("b/1", "y")]));
    // The store is still fine afterwards.
    store.put(b"c/1", b"z")?;
    assert_eq!(keys_of(&store.scan(b"")?), ["a/1", "b/1", "c/1"]);
    Ok(())
}

fn check_batch_applies_every_operation<S: OpenBackend>() -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Sync)?;
    store.put(b"anchor/old", b"o")?;
    let mut batch = WriteBatch::new();
    batch.put("anchor/new", "n");
    batch.put("anchor_did/did:key:z1", "anchor/new");
    batch.delete("anchor/old");
    store.apply(batch)?;
    assert_eq!(store.get(b"anchor/new")?, Some(b"n".to_vec()));
    assert_eq!(store.get(b"anchor_did/did:key:z1")?, Some(b"anchor/new".to_vec()));
    assert_eq!(store.get(b"anchor/old")?, None);
    // The empty batch is a no-op.
    store.apply(WriteBatch::new())?;
    assert_eq!(keys_of(&store.scan(b"")?), ["anchor/new", "anchor_did/did:key:z1"]);
    Ok(())
}

fn check_later_operation_in_batch_wins<S: OpenBackend>() -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Sync)?;
    store.put(b"j", b"before")?;
    let mut batch = WriteBatch::new();
    batch.put("k", "a");
    batch.put("k", "b");
    batch.put("j", "1");
    batch.delete("j");
    batch.delete("m");
    batch.put("m", "z");
    store.apply(batch)?;
    assert_eq!(store.get(b"k")?, Some(b"b".to_vec()));
    assert_eq!(store.get(b"j")?, None);
    assert_eq!(store.get(b"m")?, Some(b"z".to_vec()));
    Ok(())
}

fn check_batch_with_invalid_key_changes_nothing<S: OpenBackend>(bad_key: Vec<u8>) -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Sync)?;
    store.put(b"keep", b"v1")?;
    store.put(b"old", b"x")?;
    let before = store.scan(b"")?;

    let mut batch = WriteBatch::new();
    batch.put("keep", "v2");
    batch.put("new", "n");
    batch.put(bad_key, "bad");
    batch.delete("old");
    let result = store.apply(batch);
    ensure!(is_invalid_key(result), "a batch with a bad key must fail with InvalidKey");

    assert_eq!(store.scan(b"")?, before);
    assert_eq!(store.get(b"keep")?, Some(b"v1".to_vec()));
    assert_eq!(store.get(b"new")?, None);
    assert_eq!(store.get(b"old")?, Some(b"x".to_vec()));
    Ok(())
}

fn check_invalid_key_is_refused_and_store_stays_usable<S: OpenBackend>(key: Vec<u8>) -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Sync)?;
    ensure!(is_invalid_key(store.get(&key)), "get");
    ensure!(is_invalid_key(store.exists(&key)), "exists");
    ensure!(is_invalid_key(store.put(&key, b"v")), "put");
    ensure!(is_invalid_key(store.delete(&key)), "delete");
    let mut batch = WriteBatch::new();
    batch.put(key.clone(), "v");
    ensure!(is_invalid_key(store.apply(batch)), "apply");

    store.put(b"after", b"ok")?;
    assert_eq!(store.get(b"after")?, Some(b"ok".to_vec()));
    let mut batch = WriteBatch::new();
    batch.put("after/2", "ok2");
    store.apply(batch)?;
    assert_eq!(store.scan(b"")?, rows(&[("after", "ok"), ("after/2", "ok2")]));
    store.flush()?;
    Ok(())
}

fn check_longest_key_round_trips<S: OpenBackend>() -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Sync)?;
    let key = vec![b'k'; MAX_KEY_LEN];
    store.put(&key, b"v")?;
    assert_eq!(store.get(&key)?, Some(b"v".to_vec()));
    assert_eq!(store.scan(b"k")?, vec![(key, b"v".to_vec())]);
    Ok(())
}

/// More keys than one sled leaf holds (16): sled makes each iterator step
/// atomic within a leaf, so only a scan across leaves can show a torn batch.
const GEN_KEYS: usize = 40;
const GEN_BATCHES: u64 = 200;
const MIN_READS: usize = 50;
const MAX_READS: usize = 50_000;

fn write_generation<S: CommonsStoreBackend>(store: &S, generation: u64) -> Result<()> {
    let mut batch = WriteBatch::new();
    for i in 0..GEN_KEYS {
        batch.put(format!("gen/k{i}"), generation.to_string());
    }
    Ok(store.apply(batch)?)
}

fn parse_generation(value: &[u8]) -> Result<u64> {
    Ok(std::str::from_utf8(value)?.parse()?)
}

/// One writer rewrites `gen/k0..` (`GEN_KEYS` keys) to the same generation per
/// batch; readers scan them all and must find one generation, never
/// decreasing. Reads run
/// until the writer is done (at least `MIN_READS`, at most `MAX_READS`).
fn check_readers_never_see_half_a_batch<S: OpenBackend>() -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Buffered)?;
    write_generation(&store, 0)?;
    let writer_done = AtomicBool::new(false);
    let (store, writer_done) = (&store, &writer_done);

    let (last_seen, reads) = std::thread::scope(|scope| -> Result<(u64, usize)> {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(move || -> Result<(u64, usize)> {
                    let mut seen = 0;
                    let mut reads = 0;
                    while reads < MAX_READS && (reads < MIN_READS || !writer_done.load(Ordering::Acquire)) {
                        reads += 1;
                        let rows = store.scan(b"gen/")?;
                        ensure!(rows.len() == GEN_KEYS, "scan returned {} of {GEN_KEYS} keys", rows.len());
                        let generations = rows.iter().map(|(_, v)| parse_generation(v)).collect::<Result<Vec<_>>>()?;
                        let first = generations[0];
                        ensure!(generations.iter().all(|g| *g == first), "torn read: {generations:?}");
                        ensure!(first >= seen, "generation went back from {seen} to {first}");
                        seen = first;
                        // A point read after the scan is never older than it.
                        let single = store.get(b"gen/k9")?.context("gen/k9 vanished")?;
                        ensure!(parse_generation(&single)? >= seen, "get older than the scan before it");
                    }
                    Ok((seen, reads))
                })
            })
            .collect();
        let writer = scope.spawn(move || -> Result<()> {
            let result = (1..=GEN_BATCHES).try_for_each(|g| write_generation(store, g));
            writer_done.store(true, Ordering::Release);
            result
        });
        writer.join().map_err(|_| anyhow::anyhow!("writer panicked"))??;
        let mut last = (0, 0);
        for reader in readers {
            let (seen, reads) = reader.join().map_err(|_| anyhow::anyhow!("reader panicked"))??;
            last = (last.0.max(seen), last.1 + reads);
        }
        Ok(last)
    })?;
    ensure!(reads >= 2 * MIN_READS);
    ensure!(last_seen <= GEN_BATCHES);
    let final_rows = store.scan(b"gen/")?;
    let expected = GEN_BATCHES.to_string();
    ensure!(final_rows.iter().all(|(_, v)| v == expected.as_bytes()), "final state is the last batch");
    Ok(())
}

fn check_flush_and_size_on_disk<S: OpenBackend>() -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Buffered)?;
    for i in 0..100 {
        store.put(format!("amendment/{i:03}").as_bytes(), &[b'x'; 256])?;
    }
    store.flush()?;
    let size = store.size_on_disk()?;
    if S::PERSISTENT {
        ensure!(size > 0, "{} reports {size} bytes after 100 writes and a flush", S::NAME);
    } else {
        assert_eq!(size, 0, "the in-memory store occupies no disk");
    }
    Ok(())
}

/// Drives a store only through the `CommonsStoreBackend` bound, so that an
/// `Arc<dyn CommonsStoreBackend>` is used through its own impl.
fn exercise<B: CommonsStoreBackend>(store: &B) -> Result<()> {
    store.put(b"appeal/1", b"open")?;
    let mut batch = WriteBatch::new();
    batch.put("appeal/2", "open");
    batch.put("appeal/3", "closed");
    store.apply(batch)?;
    store.delete(b"appeal/3")?;
    assert_eq!(store.get(b"appeal/1")?, Some(b"open".to_vec()));
    assert!(store.exists(b"appeal/2")?);
    assert!(!store.exists(b"appeal/3")?);
    assert_eq!(store.scan(b"appeal/")?, rows(&[("appeal/1", "open"), ("appeal/2", "open")]));
    assert_eq!(store.scan_from(b"appeal/", Some(b"appeal/1"), 5)?, rows(&[("appeal/2", "open")]));
    store.flush()?;
    store.size_on_disk()?;
    Ok(())
}

fn check_dyn_arc_store_works<S: OpenBackend + 'static>() -> Result<()> {
    let root = tempfile::tempdir()?;
    let store: Arc<dyn CommonsStoreBackend> = Arc::new(open_at::<S>(root.path(), Durability::Sync)?);
    exercise(&store)?;
    // A clone shares the same store.
    let other = Arc::clone(&store);
    assert_eq!(other.get(b"appeal/2")?, Some(b"open".to_vec()));
    Ok(())
}

fn check_temporary_store_works<S: OpenBackend>() -> Result<()> {
    let first = S::temporary(&StoreConfig::default())?;
    let second = S::temporary(&StoreConfig::default())?;
    exercise(&first)?;
    assert_eq!(second.get(b"appeal/1")?, None, "two temporary stores are distinct");
    Ok(())
}

fn check_engine_names_its_folder<S: OpenBackend>() -> Result<()> {
    assert_eq!(S::FOLDER, format!("commons.{}", S::NAME));
    assert_eq!(KNOWN_STORE_FOLDERS.contains(&(S::NAME, S::FOLDER)), S::PERSISTENT && !S::NETWORKED);
    Ok(())
}

// ---------------------------------------------------------------------------
// Preconditions: every engine checks them atomically with the write.
// ---------------------------------------------------------------------------

/// What a test batch requires of its precondition key.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The key holds exactly these bytes.
    Equals(&'static str),
    /// The key holds no value.
    Absent,
}

impl Expect {
    fn add_to(self, batch: &mut WriteBatch, key: impl Into<Vec<u8>>) {
        match self {
            Expect::Equals(value) => batch.expect(key, value),
            Expect::Absent => batch.expect_absent(key),
        }
    }
}

/// The key whose `Conflict` `result` is, or a description of what it was
/// instead.
fn conflict_key(result: Result<(), BackendError>) -> Result<String> {
    match result {
        Err(BackendError::Conflict { key }) => Ok(key),
        other => bail!("expected Conflict, got {other:?}"),
    }
}

/// One batch with a precondition on `guard` (which the batch does not write)
/// and three operations on other keys: put `rec/a`, put `rec/b`, delete
/// `rec/old` (present before). `current` is what `guard` holds first.
/// Applied: every operation is visible. Refused: `Conflict` naming `guard`,
/// every key of the batch as before, and the store keeps serving.
fn check_precondition_decides_the_batch<S: OpenBackend>(
    current: Option<&str>,
    expect: Expect,
    applied: bool,
) -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Sync)?;
    store.put(b"rec/a", b"a0")?;
    store.put(b"rec/old", b"o")?;
    if let Some(value) = current {
        store.put(b"guard", value.as_bytes())?;
    }
    let before = store.scan(b"")?;

    let mut batch = WriteBatch::new();
    expect.add_to(&mut batch, "guard");
    batch.put("rec/a", "a1");
    batch.put("rec/b", "b1");
    batch.delete("rec/old");
    let result = store.apply(batch);

    if applied {
        result.with_context(|| format!("{expect:?} with guard = {current:?} should hold"))?;
        assert_eq!(store.get(b"rec/a")?, Some(b"a1".to_vec()));
        assert_eq!(store.get(b"rec/b")?, Some(b"b1".to_vec()));
        assert_eq!(store.get(b"rec/old")?, None);
        assert_eq!(store.get(b"guard")?, current.map(|v| v.as_bytes().to_vec()), "a precondition writes nothing");
        return Ok(());
    }

    let err = result.expect_err("a failed precondition must refuse the batch");
    ensure!(err.is_conflict(), "expected Conflict, got {err:?}");
    ensure!(err.is_unavailable(), "a conflict nobody retried is a 503 (is_unavailable)");
    assert_eq!(conflict_key(Err(err))?, "guard");
    // Nothing of the batch was written: every op's key is as before.
    assert_eq!(store.get(b"rec/a")?, Some(b"a0".to_vec()), "rec/a");
    assert_eq!(store.get(b"rec/b")?, None, "rec/b");
    assert_eq!(store.get(b"rec/old")?, Some(b"o".to_vec()), "rec/old");
    assert_eq!(store.get(b"guard")?, current.map(|v| v.as_bytes().to_vec()), "guard");
    assert_eq!(store.scan(b"")?, before, "the whole store is as before");

    // The store keeps serving: it is available, a plain write and a batch
    // whose precondition holds both go through.
    store.check_available()?;
    store.put(b"rec/c", b"c1")?;
    let mut again = WriteBatch::new();
    match current {
        Some(value) => again.expect("guard", value),
        None => again.expect_absent("guard"),
    }
    again.put("rec/a", "a2");
    store.apply(again)?;
    assert_eq!(store.get(b"rec/a")?, Some(b"a2".to_vec()));
    assert_eq!(store.get(b"rec/c")?, Some(b"c1".to_vec()));
    store.flush()?;
    store.check_available()?;
    Ok(())
}

/// A batch of preconditions only: applied (changing nothing) when they all
/// hold, `Conflict` naming the first one that fails (in the order added)
/// otherwise; either way the store is unchanged.
fn check_batch_of_preconditions_only<S: OpenBackend>() -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Sync)?;
    store.put(b"p/1", b"one")?;
    store.put(b"p/2", b"two")?;
    let before = store.scan(b"")?;

    let mut holds = WriteBatch::new();
    holds.expect("p/1", "one");
    holds.expect("p/2", "two");
    holds.expect_absent("p/3");
    ensure!(!holds.is_empty(), "a batch of preconditions only is not empty");
    assert_eq!(holds.len(), 0, "it has no operation");
    store.apply(holds)?;
    assert_eq!(store.scan(b"")?, before);

    let mut fails = WriteBatch::new();
    fails.expect("p/1", "one");
    fails.expect("p/2", "TWO");
    fails.expect_absent("p/1");
    assert_eq!(conflict_key(store.apply(fails))?, "p/2", "the first failing precondition is named");
    assert_eq!(store.scan(b"")?, before);

    let mut fails_later = WriteBatch::new();
    fails_later.expect_absent("p/3");
    fails_later.expect_absent("p/1");
    assert_eq!(conflict_key(store.apply(fails_later))?, "p/1");
    assert_eq!(store.scan(b"")?, before);
    store.check_available()?;
    Ok(())
}

/// A precondition on a key the same batch writes is checked against the
/// value before the batch, never the value the batch would leave.
fn check_precondition_sees_the_value_before_the_batch<S: OpenBackend>() -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Sync)?;
    store.put(b"rec/k", b"v1")?;

    // Expecting the value the batch itself writes: refused.
    let mut ahead = WriteBatch::new();
    ahead.expect("rec/k", "v2");
    ahead.put("rec/k", "v2");
    assert_eq!(conflict_key(store.apply(ahead))?, "rec/k");
    assert_eq!(store.get(b"rec/k")?, Some(b"v1".to_vec()));

    // Expecting the value before, overwriting it: applied.
    let mut update = WriteBatch::new();
    update.expect("rec/k", "v1");
    update.put("rec/k", "v2");
    store.apply(update)?;
    assert_eq!(store.get(b"rec/k")?, Some(b"v2".to_vec()));

    // Expecting absence of a key the batch deletes: the key is there before.
    let mut delete_then_absent = WriteBatch::new();
    delete_then_absent.delete("rec/k");
    delete_then_absent.expect_absent("rec/k");
    assert_eq!(conflict_key(store.apply(delete_then_absent))?, "rec/k");
    assert_eq!(store.get(b"rec/k")?, Some(b"v2".to_vec()));

    // Expecting the value before, deleting it: applied.
    let mut delete = WriteBatch::new();
    delete.expect("rec/k", "v2");
    delete.delete("rec/k");
    store.apply(delete)?;
    assert_eq!(store.get(b"rec/k")?, None);

    // Creating a missing key that must be absent: applied; again: refused.
    for (attempt, result_is_ok) in [(1, true), (2, false)] {
        let mut create = WriteBatch::new();
        create.expect_absent("rec/new");
        create.put("rec/new", format!("created {attempt}"));
        let result = store.apply(create);
        if result_is_ok {
            result?;
        } else {
            assert_eq!(conflict_key(result)?, "rec/new");
        }
    }
    assert_eq!(store.get(b"rec/new")?, Some(b"created 1".to_vec()));
    Ok(())
}

/// A precondition on a key no engine accepts is `InvalidKey` (checked
/// before anything else), and nothing of the batch is written.
fn check_precondition_with_invalid_key_is_refused<S: OpenBackend>(expect: Expect, key: Vec<u8>) -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Sync)?;
    store.put(b"rec/a", b"a0")?;
    let before = store.scan(b"")?;
    let mut batch = WriteBatch::new();
    batch.put("rec/a", "a1");
    batch.put("rec/b", "b1");
    expect.add_to(&mut batch, key);
    let result = store.apply(batch);
    ensure!(is_invalid_key(result), "a precondition with a bad key must fail with InvalidKey");
    assert_eq!(store.scan(b"")?, before);
    store.check_available()?;
    store.put(b"rec/b", b"b2")?;
    assert_eq!(store.get(b"rec/b")?, Some(b"b2".to_vec()));
    Ok(())
}

const COUNTER_THREADS: usize = 8;
const COUNTER_CYCLES: usize = 50;

/// `COUNTER_THREADS` threads each run `COUNTER_CYCLES` read-increment-write
/// cycles on one counter key (absent at first: the first cycle expects it
/// absent), each cycle's batch expecting the bytes it read and also writing
/// a row of its own; a `Conflict` means "read again". A lost update would
/// leave the counter under `COUNTER_THREADS * COUNTER_CYCLES`.
fn check_concurrent_increments_lose_nothing<S: OpenBackend>() -> Result<()> {
    let root = tempfile::tempdir()?;
    let store = open_at::<S>(root.path(), Durability::Sync)?;
    let store = &store;
    let conflicts = std::thread::scope(|scope| -> Result<usize> {
        let workers: Vec<_> = (0..COUNTER_THREADS)
            .map(|t| {
                scope.spawn(move || -> Result<usize> {
                    let mut conflicts = 0;
                    for cycle in 0..COUNTER_CYCLES {
                        loop {
                            let old = store.get(b"counter")?;
                            let value: u64 = match &old {
                                Some(bytes) => std::str::from_utf8(bytes)?.parse()?,
                                None => 0,
                            };
                            let mut batch = WriteBatch::new();
                            match old {
                                Some(bytes) => batch.expect("counter", bytes),
                                None => batch.expect_absent("counter"),
                            }
                            batch.put("counter", (value + 1).to_string());
                            batch.put(format!("inc/{t}/{cycle:02}"), (value + 1).to_string());
                            match store.apply(batch) {
                                Ok(()) => break,
                                // Which key a conflict names is checked by the
                                // single-threaded checks above; here only that
                                // nothing is lost.
                                Err(BackendError::Conflict { .. }) => conflicts += 1,
                                Err(e) => return Err(e.into()),
                            }
                        }
                    }
                    Ok(conflicts)
                })
            })
            .collect();
        let mut conflicts = 0;
        for worker in workers {
            conflicts += worker.join().map_err(|_| anyhow::anyhow!("worker panicked"))??;
        }
        Ok(conflicts)
    })?;
    let total = COUNTER_THREADS * COUNTER_CYCLES;
    let counter = store.get(b"counter")?.context("counter missing")?;
    assert_eq!(
        std::str::from_utf8(&counter)?,
        total.to_string(),
        "{total} increments with {conflicts} conflicts retried"
    );
    // Every increment that was acknowledged wrote its own row, and each
    // value 1..=total was written by exactly one of them.
    let rows = store.scan(b"inc/")?;
    assert_eq!(rows.len(), total);
    let mut values: Vec<u64> = rows.iter().map(|(_, v)| Ok(std::str::from_utf8(v)?.parse()?)).collect::<Result<_>>()?;
    values.sort_unstable();
    assert_eq!(values, (1..=total as u64).collect::<Vec<_>>(), "each count was reached once");
    store.check_available()?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Capabilities of persistent engines.
// ---------------------------------------------------------------------------

/// What only a persistent engine promises. Unused in a build without one.
#[cfg_attr(not(any(feature = "sled-store", feature = "fjall-store")), allow(dead_code))]
mod persistent {
    use super::*;

    pub(super) fn check_reopen_keeps_data<S: OpenBackend>() -> Result<()> {
        let root = tempfile::tempdir()?;
        {
            let store = open_at::<S>(root.path(), Durability::Sync)?;
            store.put(b"charter/1", b"signed")?;
            let mut batch = WriteBatch::new();
            batch.put("charter/2", "draft");
            batch.put("charter_by_steward/s1", "charter/2");
            batch.delete("charter/1");
            batch.put("charter/1", "amended");
            store.apply(batch)?;
            store.put(b"charter/3", b"gone")?;
            store.delete(b"charter/3")?;
        }
        let store = open_at::<S>(root.path(), Durability::Sync)?;
        assert_eq!(store.scan(b"charter/")?, rows(&[("charter/1", "amended"), ("charter/2", "draft")]));
        assert_eq!(store.get(b"charter_by_steward/s1")?, Some(b"charter/2".to_vec()));
        assert_eq!(store.get(b"charter/3")?, None);
        Ok(())
    }

    pub(super) fn check_second_open_is_locked<S: OpenBackend>() -> Result<()> {
        let root = tempfile::tempdir()?;
        let dir = store_dir::<S>(root.path());
        let first = open_at::<S>(root.path(), Durability::Sync)?;
        first.put(b"holder/1", b"a")?;

        match S::open(&dir, &StoreConfig::default()) {
            Ok(_) => bail!("a second open of {} succeeded while the first is alive", dir.display()),
            Err(BackendError::Locked { path }) => {
                assert_eq!(path, dir);
                let message = BackendError::Locked { path }.to_string();
                ensure!(message.contains(&dir.display().to_string()), "message does not name the path: {message}");
            }
            Err(other) => bail!("expected Locked, got {other:?}"),
        }

        // The first handle is unharmed.
        first.put(b"holder/2", b"b")?;
        assert_eq!(first.scan(b"holder/")?, rows(&[("holder/1", "a"), ("holder/2", "b")]));
        drop(first);

        // Closing releases the lock.
        let again = open_at::<S>(root.path(), Durability::Sync)?;
        assert_eq!(again.scan(b"holder/")?, rows(&[("holder/1", "a"), ("holder/2", "b")]));
        Ok(())
    }

    pub(super) fn check_fifty_reopen_cycles<S: OpenBackend>() -> Result<()> {
        let root = tempfile::tempdir()?;
        for cycle in 0..50 {
            let store = open_at::<S>(root.path(), Durability::Sync).with_context(|| format!("cycle {cycle}"))?;
            store.put(format!("cycle/{cycle:02}").as_bytes(), cycle.to_string().as_bytes())?;
            let found = store.scan(b"cycle/")?;
            let expected: Rows =
                (0..=cycle).map(|i| (format!("cycle/{i:02}").into_bytes(), i.to_string().into_bytes())).collect();
            ensure!(found == expected, "cycle {cycle}: found {:?}", keys_of(&found));
        }
        Ok(())
    }

    /// Several writers in `Sync` mode at once (they share syncs through group
    /// commit): every write that returned is there after a reopen.
    pub(super) fn check_concurrent_sync_writers_survive_reopen<S: OpenBackend>() -> Result<()> {
        let root = tempfile::tempdir()?;
        {
            let store = open_at::<S>(root.path(), Durability::Sync)?;
            let store = &store;
            std::thread::scope(|scope| -> Result<()> {
                let writers: Vec<_> = (0..4)
                    .map(|writer| {
                        scope.spawn(move || -> Result<()> {
                            for i in 0..25 {
                                let key = format!("enrollment/{writer}/{i:02}");
                                store.put(key.as_bytes(), b"done")?;
                            }
                            Ok(())
                        })
                    })
                    .collect();
                for writer in writers {
                    writer.join().map_err(|_| anyhow::anyhow!("writer panicked"))??;
                }
                Ok(())
            })?;
        }
        let store = open_at::<S>(root.path(), Durability::Sync)?;
        let found = store.scan(b"enrollment/")?;
        assert_eq!(found.len(), 100);
        assert!(found.iter().all(|(_, v)| v == b"done"));
        Ok(())
    }

    pub(super) fn check_durability_mode_survives_reopen<S: OpenBackend>(durability: Durability) -> Result<()> {
        let root = tempfile::tempdir()?;
        {
            let store = open_at::<S>(root.path(), durability)?;
            for i in 0..20 {
                store.put(format!("revocation/{i:02}").as_bytes(), durability.as_str().as_bytes())?;
            }
            let mut batch = WriteBatch::new();
            batch.put("revocation/batch", "whole");
            batch.delete("revocation/00");
            store.apply(batch)?;
        }
        let store = open_at::<S>(root.path(), durability)?;
        let found = store.scan(b"revocation/")?;
        let mut expected: Rows = (1..20)
            .map(|i| (format!("revocation/{i:02}").into_bytes(), durability.as_str().as_bytes().to_vec()))
            .collect();
        expected.push((b"revocation/batch".to_vec(), b"whole".to_vec()));
        assert_eq!(found, expected);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// One test per (engine, capability).
// ---------------------------------------------------------------------------

macro_rules! conformance {
    ($store:ty) => {
        #[test]
        fn put_get() -> Result<()> {
            check_put_get::<$store>()
        }

        #[test]
        fn delete_missing() -> Result<()> {
            check_delete_missing::<$store>()
        }

        #[test]
        fn exists() -> Result<()> {
            check_exists::<$store>()
        }

        #[test]
        fn prefix_scan_is_exact() -> Result<()> {
            check_prefix_scan_is_exact::<$store>()
        }

        #[rstest]
        fn paged_scan_walks_every_key_once(#[values(1, 4, 25, 100)] page: usize) -> Result<()> {
            check_paged_scan_walks_every_key_once::<$store>(page)
        }

        #[test]
        fn oversized_scan_bounds_match_nothing_longer() -> Result<()> {
            check_oversized_scan_bounds_match_nothing_longer::<$store>()
        }

        #[test]
        fn batch_applies_every_operation() -> Result<()> {
            check_batch_applies_every_operation::<$store>()
        }

        #[test]
        fn later_operation_in_batch_wins() -> Result<()> {
            check_later_operation_in_batch_wins::<$store>()
        }

        #[rstest]
        #[case::empty_key(Vec::new())]
        #[case::key_over_max_len(vec![b'k'; MAX_KEY_LEN + 1])]
        #[case::key_of_70_000_bytes(vec![b'k'; 70_000])]
        fn batch_with_invalid_key_changes_nothing(#[case] bad_key: Vec<u8>) -> Result<()> {
            check_batch_with_invalid_key_changes_nothing::<$store>(bad_key)
        }

        #[rstest]
        #[case::empty_key(Vec::new())]
        #[case::key_over_max_len(vec![b'k'; MAX_KEY_LEN + 1])]
        #[case::key_of_70_000_bytes(vec![b'k'; 70_000])]
        fn invalid_key_is_refused_and_store_stays_usable(#[case] key: Vec<u8>) -> Result<()> {
            check_invalid_key_is_refused_and_store_stays_usable::<$store>(key)
        }

        #[test]
        fn longest_key_round_trips() -> Result<()> {
            check_longest_key_round_trips::<$store>()
        }

        #[test]
        fn readers_never_see_half_a_batch() -> Result<()> {
            check_readers_never_see_half_a_batch::<$store>()
        }

        #[test]
        fn flush_and_size_on_disk() -> Result<()> {
            check_flush_and_size_on_disk::<$store>()
        }

        #[test]
        fn dyn_arc_store_works() -> Result<()> {
            check_dyn_arc_store_works::<$store>()
        }

        #[test]
        fn temporary_store_works() -> Result<()> {
            check_temporary_store_works::<$store>()
        }

        #[test]
        fn engine_names_its_folder() -> Result<()> {
            check_engine_names_its_folder::<$store>()
        }

        #[rstest]
        #[case::equals_same_bytes(Some("v1"), Expect::Equals("v1"), true)]
        #[case::equals_other_bytes(Some("v1"), Expect::Equals("v0"), false)]
        #[case::equals_on_missing_key(None, Expect::Equals("v1"), false)]
        #[case::equals_empty_on_missing_key(None, Expect::Equals(""), false)]
        #[case::equals_empty_on_empty_value(Some(""), Expect::Equals(""), true)]
        #[case::absent_on_present_key(Some("v1"), Expect::Absent, false)]
        #[case::absent_on_empty_value(Some(""), Expect::Absent, false)]
        #[case::absent_on_missing_key(None, Expect::Absent, true)]
        fn precondition_decides_the_batch(
            #[case] current: Option<&str>,
            #[case] expect: Expect,
            #[case] applied: bool,
        ) -> Result<()> {
            check_precondition_decides_the_batch::<$store>(current, expect, applied)
        }

        #[test]
        fn batch_of_preconditions_only() -> Result<()> {
            check_batch_of_preconditions_only::<$store>()
        }

        #[test]
        fn precondition_sees_the_value_before_the_batch() -> Result<()> {
            check_precondition_sees_the_value_before_the_batch::<$store>()
        }

        #[rstest]
        #[case::equals_empty_key(Expect::Equals("v"), Vec::new())]
        #[case::absent_empty_key(Expect::Absent, Vec::new())]
        #[case::equals_key_over_max_len(Expect::Equals("v"), vec![b'k'; MAX_KEY_LEN + 1])]
        fn precondition_with_invalid_key_is_refused(#[case] expect: Expect, #[case] key: Vec<u8>) -> Result<()> {
            check_precondition_with_invalid_key_is_refused::<$store>(expect, key)
        }

        #[test]
        fn concurrent_increments_lose_nothing() -> Result<()> {
            check_concurrent_increments_lose_nothing::<$store>()
        }
    };
}

#[cfg_attr(not(any(feature = "sled-store", feature = "fjall-store")), allow(unused_macros))]
macro_rules! persistence {
    ($store:ty) => {
        #[test]
        fn reopen_keeps_data() -> Result<()> {
            persistent::check_reopen_keeps_data::<$store>()
        }

        #[test]
        fn second_open_is_locked() -> Result<()> {
            persistent::check_second_open_is_locked::<$store>()
        }

        #[test]
        fn fifty_reopen_cycles() -> Result<()> {
            persistent::check_fifty_reopen_cycles::<$store>()
        }

        #[test]
        fn concurrent_sync_writers_survive_reopen() -> Result<()> {
            persistent::check_concurrent_sync_writers_survive_reopen::<$store>()
        }

        #[rstest]
        fn durability_mode_survives_reopen(
            #[values(Durability::Sync, Durability::Buffered)] durability: Durability,
        ) -> Result<()> {
            persistent::check_durability_mode_survives_reopen::<$store>(durability)
        }
    };
}

mod memory {
    use super::*;
    use commons_gateway::backend::InMemoryCommonsStore;

    conformance!(InMemoryCommonsStore);

    #[test]
    fn reopen_starts_empty() -> Result<()> {
        let root = tempfile::tempdir()?;
        open_at::<InMemoryCommonsStore>(root.path(), Durability::Sync)?.put(b"k", b"v")?;
        let store = open_at::<InMemoryCommonsStore>(root.path(), Durability::Sync)?;
        assert_eq!(store.scan(b"")?, Vec::new(), "the in-memory store keeps nothing");
        Ok(())
    }
}

#[cfg(feature = "sled-store")]
mod sled {
    use super::*;
    use commons_gateway::backend::SledCommonsStore;

    conformance!(SledCommonsStore);
    persistence!(SledCommonsStore);
}

#[cfg(feature = "fjall-store")]
mod fjall {
    use super::*;
    use commons_gateway::backend::FjallCommonsStore;

    conformance!(FjallCommonsStore);
    persistence!(FjallCommonsStore);
}

#[cfg(feature = "postgres-store")]
mod postgres {
    use super::*;
    use commons_gateway::backend::PostgresCommonsStore;

    conformance!(PostgresCommonsStore);
}
