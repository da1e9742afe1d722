//! The seal of a cleanly closed store: every file of its folder with its
//! length and hash, written to `commons.seal` after the engine closed.
//!
//! Why: after a clean close nothing may change a byte of the store until it
//! is opened again, so the next open can hash the files *before the engine
//! reads them* and name exactly which file was damaged in between (a
//! journal, a table, a manifest, a configuration file), while every file is
//! still as it was. Engines change their files when they recover (fjall
//! cuts a damaged journal, sled rewrites its log), so a check after the
//! engine opened would destroy the evidence.
//!
//! Before the engine opens the store in place, the seal is replaced
//! (durably) by an *open* seal that lists only the files the engine never
//! changes once written (fjall's tables, sled's configuration and
//! snapshots: [`super::FolderEngine::immutable`]). A store that crashes
//! while open thus still has the hashes of those files: its next open checks
//! them (a listed file that is gone was removed by the engine, which is no
//! damage, and neither is a file created again under the same name, told
//! by its creation time), and checks the rest on a copy (see [`super`]),
//! naming the files that could not be checked when the copy fails.
//!
//! **Format:** one line of JSON (`{"format":"commons-seal/1","engine":..,
//! "closed":true|false,"files":[{"path","bytes","xxh3"}]}`), then a line with the SHA-256 (hex)
//! of that JSON line; `path` is relative to the store folder, `/`-separated;
//! `xxh3` is the file's 128-bit XXH3 in hex. XXH3 rather than SHA-256
//! because every byte of the store is hashed at each clean open and close
//! (fjall preallocates 64 MiB per journal): it runs at memory speed, and the
//! seal guards against damage, not against someone forging files.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::backend::{sync_dir, BackendError, BackendResult};

/// The seal file's name inside the store folder.
pub const SEAL_FILE: &str = "commons.seal";

const FORMAT: &str = "commons-seal/1";
const TEMP_SUFFIX: &str = ".tmp";

#[derive(Debug, Serialize, Deserialize)]
struct SealDoc {
    format: String,
    engine: String,
    /// Written by a clean close (every file), not by an open (immutable files only).
    closed: bool,
    files: Vec<SealedFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SealedFile {
    path: String,
    bytes: u64,
    xxh3: String,
    /// In an open seal: when the file was created (nanoseconds since the
    /// Unix epoch, where the file system records it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    born: Option<u64>,
}

/// When the file at `path` was created, where the file system says.
fn born(path: &Path) -> Option<u64> {
    let created = std::fs::metadata(path).and_then(|m| m.created()).ok()?;
    u64::try_from(created.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos()).ok()
}

/// What the seal check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SealCheck {
    /// No seal: a store made before seals.
    Absent,
    /// Every file is exactly as the store left it when it closed.
    Closed,
    /// The store did not close cleanly since it was opened; these files,
    /// which the engine never changes, are as they were then.
    Open {
        /// The files checked, relative to the store folder.
        intact: BTreeSet<String>,
        /// The files listed that are gone (the engine may have removed them).
        gone: Vec<String>,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackendError + '_ {
    move |source| BackendError::Io { path: path.to_path_buf(), source }
}

/// Every file under `dir` (recursively) but the seal itself, as relative
/// `/`-separated paths, in order.
fn files_of(dir: &Path) -> BackendResult<BTreeMap<String, PathBuf>> {
    fn walk(root: &Path, dir: &Path, found: &mut BTreeMap<String, PathBuf>) -> BackendResult<()> {
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            let meta = std::fs::symlink_metadata(&path).map_err(io(&path))?;
            if meta.is_dir() {
                walk(root, &path, found)?;
                continue;
            }
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let name: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            let name = name.join("/");
            if name != SEAL_FILE && name != format!("{SEAL_FILE}{TEMP_SUFFIX}") {
                found.insert(name, path);
            }
        }
        Ok(())
    }
    let mut found = BTreeMap::new();
    walk(dir, dir, &mut found)?;
    Ok(found)
}

fn hash_file(path: &Path) -> BackendResult<(u64, String)> {
    let mut file = File::open(path).map_err(io(path))?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok((bytes, format!("{:032x}", hasher.digest128())))
}

/// Seals the store in `dir`, which no engine may have open: hashes every
/// file and writes the seal durably (a temporary file, fsynced, renamed over
/// the seal, then the folder fsynced).
///
/// # Errors
/// `Io` naming the file that could not be read or written. A store whose
/// seal could not be written is simply unsealed: its next open checks a copy.
pub(crate) fn write(dir: &Path, engine: &str) -> BackendResult<()> {
    write_doc(dir, engine, true, |_| true)
}

/// Replaces the seal of the store in `dir` by an open seal: the hashes of
/// the files `immutable` picks, read now. Called with the engine's lock
/// held, before the engine opens the store in place.
///
/// # Errors
/// `Io` naming the file that could not be read or written.
pub(crate) fn write_open(dir: &Path, engine: &str, immutable: impl Fn(&str) -> bool) -> BackendResult<()> {
    write_doc(dir, engine, false, immutable)
}

fn write_doc(dir: &Path, engine: &str, closed: bool, wanted: impl Fn(&str) -> bool) -> BackendResult<()> {
    let mut files = Vec::new();
    for (name, path) in files_of(dir)? {
        if wanted(&name) {
            let (bytes, xxh3) = hash_file(&path)?;
            let born = if closed { None } else { born(&path) };
            files.push(SealedFile { path: name, bytes, xxh3, born });
        }
    }
    let doc = SealDoc { format: FORMAT.into(), engine: engine.into(), closed, files };
    let json =
        serde_json::to_string(&doc).map_err(|e| BackendError::Io { path: dir.join(SEAL_FILE), source: e.into() })?;
    let text = format!("{json}\n{}\n", hex::encode(Sha256::digest(json.as_bytes())));
    let temp = dir.join(format!("{SEAL_FILE}{TEMP_SUFFIX}"));
    let mut file = File::create(&temp).map_err(io(&temp))?;
    file.write_all(text.as_bytes()).map_err(io(&temp))?;
    file.sync_all().map_err(io(&temp))?;
    let seal = dir.join(SEAL_FILE);
    std::fs::rename(&temp, &seal).map_err(io(&seal))?;
    sync_dir(dir)
}

/// Every file of the store in `dir` (relative paths) but the seal.
///
/// # Errors
/// `Io` naming the folder that could not be read.
pub(crate) fn file_names(dir: &Path) -> BackendResult<Vec<String>> {
    Ok(files_of(dir)?.into_keys().collect())
}

/// Checks the files of the store in `dir` against its seal, reading only.
///
/// # Errors
/// [`BackendError::Damaged`] naming every file that is missing, changed in
/// length or content, or new since the store was closed, or naming the seal
/// when the seal itself is damaged; `Io` when a file cannot be read.
pub(crate) fn check(dir: &Path) -> BackendResult<SealCheck> {
    let seal = dir.join(SEAL_FILE);
    let text = match std::fs::read(&seal) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SealCheck::Absent),
        Err(source) => return Err(BackendError::Io { path: seal, source }),
    };
    let damaged_seal = |why: &str| BackendError::Damaged {
        store: dir.to_path_buf(),
        reason: format!(
            "the seal {} written when the store was last closed is damaged ({why}), so the store's files cannot be \
             checked; nothing was opened or changed. Remove the seal to have the store checked as after a crash",
            seal.display()
        ),
    };
    let text = String::from_utf8(text).map_err(|_| damaged_seal("not UTF-8"))?;
    let mut lines = text.lines();
    let (Some(json), Some(digest), None) = (lines.next(), lines.next(), lines.next()) else {
        return Err(damaged_seal("not two lines"));
    };
    if hex::encode(Sha256::digest(json.as_bytes())) != digest {
        return Err(damaged_seal("its checksum does not match"));
    }
    let doc: SealDoc = serde_json::from_str(json).map_err(|_| damaged_seal("unreadable JSON"))?;
    if doc.format != FORMAT {
        return Err(damaged_seal(&format!("unknown format {:?}", doc.format)));
    }

    let mut present = files_of(dir)?;
    let mut problems = Vec::new();
    let mut intact = BTreeSet::new();
    let mut gone = Vec::new();
    for sealed in &doc.files {
        let Some(path) = present.remove(&sealed.path) else {
            // An open seal lists files the engine may since have removed.
            if doc.closed {
                problems.push(format!("{} is missing ({} bytes when closed)", sealed.path, sealed.bytes));
            } else {
                gone.push(sealed.path.clone());
            }
            continue;
        };
        // A file the engine removed and then wrote again under the same name
        // (fjall reuses the number of a table left half-written by a crash)
        // is another file; it cannot be checked, and is no damage.
        if !doc.closed && (sealed.born.is_none() || born(&path) != sealed.born) {
            continue;
        }
        let (bytes, xxh3) = hash_file(&path)?;
        if bytes != sealed.bytes {
            problems.push(format!("{} is {bytes} bytes, was {}", sealed.path, sealed.bytes));
        } else if xxh3 != sealed.xxh3 {
            problems.push(format!("{} changed ({bytes} bytes, same length, other content)", sealed.path));
        } else {
            intact.insert(sealed.path.clone());
        }
    }
    if doc.closed {
        for name in present.keys() {
            problems.push(format!("{name} appeared after the store was closed"));
        }
    }
    match (problems.is_empty(), doc.closed) {
        (true, true) => return Ok(SealCheck::Closed),
        (true, false) => return Ok(SealCheck::Open { intact, gone }),
        (false, _) => {}
    }
    let (when, hint) = if doc.closed {
        (
            "was closed cleanly, and its files changed since",
            " If a version of commons-gateway that keeps no seal (before 0.2) opened the store since, or a file \
             was put into the folder by hand, move that file out or remove commons.seal to have the store checked \
             as after a crash instead.",
        )
    } else {
        ("has files that changed although its engine never rewrites them", "")
    };
    Err(BackendError::Damaged {
        store: dir.to_path_buf(),
        reason: format!(
            "the {} store at {} {when}: {}. Records kept in those files may be lost, so the store was not opened \
             and no file was changed. Restore the store from a backup (or an export), \
             and keep this folder as it is for inspection.{hint}",
            doc.engine,
            dir.display(),
            problems.join("; ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_folder_checks_and_names_each_change() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("journals")).unwrap();
        std::fs::write(dir.path().join("journals/0.jnl"), b"journal bytes").unwrap();
        std::fs::write(dir.path().join("version"), b"v3").unwrap();
        assert_eq!(check(dir.path()).unwrap(), SealCheck::Absent);
        write(dir.path(), "fjall").unwrap();
        assert_eq!(check(dir.path()).unwrap(), SealCheck::Closed);

        std::fs::write(dir.path().join("journals/0.jnl"), b"journal bytez").unwrap();
        std::fs::write(dir.path().join("version"), b"").unwrap();
        std::fs::write(dir.path().join("stray"), b"x").unwrap();
        let Err(BackendError::Damaged { reason, .. }) = check(dir.path()) else { panic!("expected Damaged") };
        assert!(reason.contains("journals/0.jnl changed (13 bytes, same length"), "{reason}");
        assert!(reason.contains("version is 0 bytes, was 2"), "{reason}");
        assert!(reason.contains("stray appeared"), "{reason}");
    }

    #[test]
    fn an_open_seal_checks_only_the_immutable_files_still_there() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tables")).unwrap();
        for name in ["tables/1", "tables/2", "tables/3"] {
            std::fs::write(dir.path().join(name), name.as_bytes()).unwrap();
        }
        std::fs::write(dir.path().join("0.jnl"), b"journal").unwrap();
        write_open(dir.path(), "fjall", |name| name.starts_with("tables/")).unwrap();
        // The engine writes its journal, removes table 1, adds table 4, and
        // writes table 3 again under its name (another file: created later).
        std::fs::write(dir.path().join("0.jnl"), b"journal, longer").unwrap();
        std::fs::remove_file(dir.path().join("tables/1")).unwrap();
        std::fs::write(dir.path().join("tables/4"), b"new").unwrap();
        let table_3 = dir.path().join("tables/3");
        let first = born(&table_3);
        // File times tick with the kernel's clock (a few ms): write the file
        // anew until its creation time differs.
        while born(&table_3) == first {
            std::fs::remove_file(&table_3).unwrap();
            std::fs::write(&table_3, b"another table 3").unwrap();
        }
        let intact = BTreeSet::from(["tables/2".to_string()]);
        assert_eq!(check(dir.path()).unwrap(), SealCheck::Open { intact, gone: vec!["tables/1".to_string()] });
        // A listed table changed in place is named.
        std::fs::write(dir.path().join("tables/2"), b"tables/X").unwrap();
        let Err(BackendError::Damaged { reason, .. }) = check(dir.path()) else { panic!("expected Damaged") };
        assert!(reason.contains("tables/2 changed"), "{reason}");
    }

    #[test]
    fn a_damaged_seal_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db"), b"data").unwrap();
        write(dir.path(), "sled").unwrap();
        let seal = dir.path().join(SEAL_FILE);
        let mut text = std::fs::read(&seal).unwrap();
        text[20] ^= 1;
        std::fs::write(&seal, text).unwrap();
        let Err(BackendError::Damaged { reason, .. }) = check(dir.path()) else { panic!("expected Damaged") };
        assert!(reason.contains(SEAL_FILE) && reason.contains("checksum"), "{reason}");
    }
}
