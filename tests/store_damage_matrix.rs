//! The damage matrix: every kind of file of a fjall and of a sled store,
//! damaged in every way (64 random bytes at its head, in its middle, at the
//! end of its data; cut to 0 bytes; all of it random bytes), after a clean
//! shutdown and after a crash. For every case the rule of
//! `backend::integrity` holds: opening the store either finds every
//! acknowledged write, or refuses with a message that names the damaged file
//! (or the lost commits and the journal they lived in), and every file is
//! byte-identical afterwards. `open_copy` (what `verify` and `export` use)
//! never changes a byte, whatever it answers.
//!
//! A crash is the state of the files while the store is open, every
//! acknowledged write synced: the store folder is copied at that moment (what
//! a `kill -9` leaves is what the files hold, since the page cache survives
//! the process).

#![cfg(any(feature = "fjall-store", feature = "sled-store"))]

mod common;

use std::path::Path;

use anyhow::{bail, Result};
use common::files::{contents, copy_dir};
use commons_gateway::backend::{BackendError, WriteBatch};
use commons_gateway::{CommonsStoreBackend, OpenBackend, StoreConfig};

/// A deterministic generator (xorshift64*), so that a failing case repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// The writes every case must find: 40 batches of 8 keys, each acknowledged
/// by a durable `apply`.
fn acknowledged(range: std::ops::Range<u32>) -> Vec<(String, String)> {
    range
        .flat_map(|batch| {
            (0..8).map(move |i| (format!("anchor/{batch:04}-{i}"), format!("{{\"batch\":{batch},\"i\":{i}}}")))
        })
        .collect()
}

fn write<S: CommonsStoreBackend>(store: &S, rows: &[(String, String)]) -> Result<()> {
    for chunk in rows.chunks(8) {
        let mut batch = WriteBatch::new();
        for (k, v) in chunk {
            batch.put(k.as_bytes(), v.as_bytes());
        }
        store.apply(batch)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// The store was closed cleanly.
    Closed,
    /// Closed cleanly once, then opened and written again, and copied while
    /// open: tables from the first session, the journal of the second.
    Crashed,
}

/// Makes a store in `dir` in `state`; returns every acknowledged write.
fn make<S: OpenBackend>(dir: &Path, state: State) -> Result<Vec<(String, String)>> {
    let scratch = dir.with_extension("live");
    let config = StoreConfig::default();
    let first = acknowledged(0..20);
    let second = acknowledged(20..40);
    {
        let store = S::open(&scratch, &config)?;
        write(&store, &first)?;
    }
    let store = S::open(&scratch, &config)?;
    write(&store, &second)?;
    match state {
        State::Crashed => copy_dir(&scratch, dir)?,
        State::Closed => {
            drop(store);
            copy_dir(&scratch, dir)?;
        }
    }
    Ok(first.into_iter().chain(second).collect())
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    Head,
    Middle,
    Tail,
    Truncate,
    Random,
}

const DAMAGES: [Damage; 5] = [Damage::Head, Damage::Middle, Damage::Tail, Damage::Truncate, Damage::Random];

/// Damages `path`; `false` when this damage changes nothing there (an empty
/// file cut to 0 bytes).
fn damage(path: &Path, how: Damage, rng: &mut Rng) -> Result<bool> {
    let mut bytes = std::fs::read(path)?;
    // The end of the data: engines preallocate files with zeros.
    let used = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    let at = |start: usize, bytes: &mut Vec<u8>, rng: &mut Rng| {
        let end = (start + 64).max(64);
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes[start..end].copy_from_slice(&rng.bytes(end - start));
    };
    match how {
        Damage::Head => at(0, &mut bytes, rng),
        Damage::Middle => at(used / 2, &mut bytes, rng),
        Damage::Tail => at(used.saturating_sub(64), &mut bytes, rng),
        Damage::Truncate => {
            if bytes.is_empty() {
                return Ok(false);
            }
            bytes.clear();
        }
        Damage::Random => {
            let n = bytes.len().max(64);
            bytes = rng.bytes(n);
        }
    }
    std::fs::write(path, &bytes)?;
    Ok(true)
}

/// What one case came to.
#[derive(Debug, Default)]
struct Tally {
    refused: usize,
    intact: usize,
}

/// Checks the rule for the store in `dir`, whose file `file` was damaged.
fn check_case<S: OpenBackend>(dir: &Path, file: &str, rows: &[(String, String)], tally: &mut Tally) -> Result<()> {
    let config = StoreConfig::default();
    let before = contents(dir)?;

    // The read-only view changes nothing, whatever it answers.
    let copy = S::open_copy(dir, &config);
    let copy_ok = copy.is_ok();
    drop(copy);
    if contents(dir)? != before {
        bail!("open_copy changed files of the store");
    }

    match S::open(dir, &config) {
        Err(error) => {
            let message = error.to_string();
            let file_name = Path::new(file).file_name().unwrap_or_default().to_string_lossy().into_owned();
            if !message.contains(&file_name) {
                bail!("refused without naming {file}: {message}");
            }
            if !matches!(error, BackendError::Damaged { .. }) {
                bail!("refused with another kind of error than Damaged: {error:?}");
            }
            if contents(dir)? != before {
                bail!("refused, but files changed: {message}");
            }
            if copy_ok {
                bail!("open refused ({message}) but open_copy accepted the store");
            }
            tally.refused += 1;
        }
        Ok(store) => {
            for (key, value) in rows {
                match store.get(key.as_bytes()) {
                    Ok(Some(found)) if found == value.as_bytes() => {}
                    other => bail!("opened, but the acknowledged {key} reads {other:?}"),
                }
            }
            if store.scan(b"anchor/")?.len() != rows.len() {
                bail!("opened, but the anchors are not exactly the acknowledged ones");
            }
            tally.intact += 1;
        }
    }
    Ok(())
}

fn matrix<S: OpenBackend>(seed: u64) -> Result<()> {
    let root = tempfile::tempdir()?;
    let mut rng = Rng(seed);
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut tally = Tally::default();
    for state in [State::Closed, State::Crashed] {
        let pristine = root.path().join(format!("{state:?}-pristine")).join(S::FOLDER);
        let rows = make::<S>(&pristine, state)?;
        let files: Vec<String> = contents(&pristine)?.into_keys().collect();
        for file in &files {
            for how in DAMAGES {
                let case = root.path().join(format!("{state:?}-{}-{how:?}", file.replace('/', "_"))).join(S::FOLDER);
                copy_dir(&pristine, &case)?;
                if !damage(&case.join(file), how, &mut rng)? {
                    continue;
                }
                cases += 1;
                if let Err(e) = check_case::<S>(&case, file, &rows, &mut tally) {
                    failures.push(format!("{state:?} {file} {how:?}: {e}"));
                }
                std::fs::remove_dir_all(case.parent().unwrap_or(&case))?;
            }
        }
    }
    println!(
        "{}: {cases} cases, {} refused naming the file, {} opened with every acknowledged write",
        S::NAME,
        tally.refused,
        tally.intact
    );
    assert!(failures.is_empty(), "{} of {cases} cases broke the rule:\n{}", failures.len(), failures.join("\n"));
    assert!(cases >= 40, "only {cases} cases");
    Ok(())
}

#[cfg(feature = "fjall-store")]
#[test]
fn fjall_damage_matrix() -> Result<()> {
    matrix::<commons_gateway::backend::FjallCommonsStore>(0x5eed_f1a1)
}

#[cfg(feature = "sled-store")]
#[test]
fn sled_damage_matrix() -> Result<()> {
    matrix::<commons_gateway::backend::SledCommonsStore>(0x5eed_51ed)
}

/// Every part of one file of a cleanly closed store whose seal is gone (as
/// after a crash once the engine had written the file): 64 random bytes at
/// every `step` bytes of it, so that every block of it is hit (data, index,
/// filter, trailer), each checked by the rule.
fn sweep<S: OpenBackend>(seed: u64, wanted: impl Fn(&str) -> bool, step: usize) -> Result<()> {
    let root = tempfile::tempdir()?;
    let mut rng = Rng(seed);
    let pristine = root.path().join("pristine").join(S::FOLDER);
    let rows = make::<S>(&pristine, State::Closed)?;
    std::fs::remove_file(pristine.join(commons_gateway::backend::SEAL_FILE))?;
    let file = contents(&pristine)?.into_keys().find(|name| wanted(name)).expect("the file to sweep");
    let len = std::fs::metadata(pristine.join(&file))?.len() as usize;
    let (mut cases, mut failures, mut tally) = (0, Vec::new(), Tally::default());
    for at in (0..len.saturating_sub(64)).step_by(step) {
        let case = root.path().join(format!("at-{at}")).join(S::FOLDER);
        copy_dir(&pristine, &case)?;
        let path = case.join(&file);
        let mut bytes = std::fs::read(&path)?;
        bytes[at..at + 64].copy_from_slice(&rng.bytes(64));
        std::fs::write(&path, &bytes)?;
        cases += 1;
        if let Err(e) = check_case::<S>(&case, &file, &rows, &mut tally) {
            failures.push(format!("{file} at {at}: {e}"));
        }
        std::fs::remove_dir_all(case.parent().unwrap_or(&case))?;
    }
    println!(
        "{}: {file}, {len} bytes: {cases} places, {} refused, {} opened whole",
        S::NAME,
        tally.refused,
        tally.intact
    );
    assert!(failures.is_empty(), "{} of {cases} places broke the rule:\n{}", failures.len(), failures.join("\n"));
    Ok(())
}

#[cfg(feature = "fjall-store")]
#[test]
fn fjall_every_block_of_a_table_written_before_a_crash() -> Result<()> {
    sweep::<commons_gateway::backend::FjallCommonsStore>(0x7ab1e, |name| name.starts_with("keyspaces/1/tables/"), 97)
}

#[cfg(feature = "sled-store")]
#[test]
fn sled_every_part_of_its_file_before_a_crash() -> Result<()> {
    sweep::<commons_gateway::backend::SledCommonsStore>(0x51ed, |name| name == "db", 4099)
}

/// The case of the report that started this: after a crash, 64 random bytes
/// in the middle of the journal. Refused, naming the journal and the lost
/// commits, every file unchanged.
#[cfg(feature = "fjall-store")]
#[test]
fn fjall_random_bytes_in_the_journal_after_a_crash_are_refused() -> Result<()> {
    use commons_gateway::backend::FjallCommonsStore;
    let root = tempfile::tempdir()?;
    let dir = root.path().join("commons.fjall");
    let rows = make::<FjallCommonsStore>(&dir, State::Crashed)?;
    let journal: std::path::PathBuf = contents(&dir)?
        .into_keys()
        .filter(|name| name.ends_with(".jnl"))
        .map(|name| dir.join(name))
        .find(|path| std::fs::read(path).is_ok_and(|b| b.iter().any(|x| *x != 0)))
        .expect("a journal with data");
    damage(&journal, Damage::Middle, &mut Rng(64))?;
    let before = contents(&dir)?;
    let Err(error) = FjallCommonsStore::open(&dir, &StoreConfig::default()) else {
        bail!("a store that lost acknowledged writes opened");
    };
    let message = error.to_string();
    let name = journal.file_name().unwrap_or_default().to_string_lossy().into_owned();
    assert!(message.contains(&name) && message.contains("acknowledged"), "{message}");
    // The files that say which tables hold what are candidates too.
    assert!(message.contains("keyspaces/1/current"), "{message}");
    assert!(message.contains(&format!("but {} were acknowledged", rows.len() / 8)), "{message}");
    assert_eq!(contents(&dir)?, before, "no file changed");
    Ok(())
}
