//! The floors and the peer, measured in the same run as the gateway: the
//! fsync loop (the least a durable write costs on the disk of the store)
//! and SQLite committing the rows a `POST /v1/anchors` commits, one
//! transaction per member, with as many threads as the gateway had clients.
//!
//! - fsync: each thread overwrites one slot of its own preallocated file
//!   (256 slots of one member's bytes, written and synced first) and calls
//!   `sync_data`, so the sync flushes data only: no new size or blocks to
//!   journal. The file lives in the run's temporary directory, on the
//!   filesystem of the store.
//! - SQLite: one database file beside it (WAL, `synchronous=FULL`, one
//!   `WITHOUT ROWID` table of key and value, as the gateway's rows), each
//!   thread its own connection; a member is `BEGIN IMMEDIATE`, the four rows
//!   of [`crate::members::member_rows`] inserted, `COMMIT`. SQLite takes
//!   one writer at a time, and a writer that finds the lock taken sleeps
//!   in its busy handler (up to 100 ms a try), which would measure the
//!   sleeps rather than SQLite; so the threads queue for their turn on a
//!   mutex of this process, as an application sharing one database file
//!   would, and the time in the queue counts in each write's latency.
//!
//! A failed write counts as an error of status 0 (with its message) and ends
//! that thread's loop.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use rusqlite::Connection;

use crate::drive::{self, Flow};
use crate::members::{self, member_rows};
use crate::stats::{timed, Outcome};

/// Slots of each fsync thread's preallocated file.
const FSYNC_SLOTS: u64 = 256;

/// How long a SQLite writer waits for the write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The fsync loop with `clients` threads for `duration`, each write
/// `bytes` long, in files under `dir`.
///
/// # Errors
/// A file that cannot be created or preallocated.
pub fn fsync(dir: &Path, clients: usize, duration: Duration, bytes: usize) -> Result<Outcome> {
    let block = vec![0x5a_u8; bytes.max(1)];
    let (outcome, _) = drive::run(
        "fsync",
        clients,
        duration,
        |i| -> Result<(File, u64)> {
            let path = dir.join(format!("fsync-{i}.bin"));
            let mut file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            file.write_all(&block.repeat(FSYNC_SLOTS as usize)).context("preallocating the fsync file")?;
            file.sync_all().context("syncing the preallocated fsync file")?;
            Ok((file, 0))
        },
        |(file, n), recorder| {
            let offset = *n % FSYNC_SLOTS * block.len() as u64;
            *n += 1;
            let (result, took) = timed(|| {
                file.seek(SeekFrom::Start(offset))?;
                file.write_all(&block)?;
                file.sync_data()
            });
            match result {
                Ok(()) => {
                    recorder.ok(took);
                    Flow::Go
                }
                Err(error) => {
                    recorder.error(0, &format!("fsync loop: {error}"));
                    Flow::Stop
                }
            }
        },
    )?;
    Ok(outcome)
}

/// The SQLite database of the peer, created in `dir`.
pub struct Peer {
    path: std::path::PathBuf,
    /// One writer at a time (see the module docs).
    writer: Mutex<()>,
}

impl Peer {
    /// Creates `dir/peer.sqlite` with the table, in WAL mode.
    ///
    /// # Errors
    /// SQLite's, naming the file.
    pub fn create(dir: &Path) -> Result<Self> {
        let path = dir.join("peer.sqlite");
        let connection = Connection::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let mode: String = connection
            .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
            .context("setting SQLite's journal_mode")?;
        anyhow::ensure!(mode.eq_ignore_ascii_case("wal"), "SQLite refused WAL mode (journal_mode is {mode})");
        connection
            .execute_batch("CREATE TABLE IF NOT EXISTS rows (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID")
            .context("creating the SQLite table")?;
        Ok(Self { path, writer: Mutex::new(()) })
    }

    /// `clients` threads commit one member each per transaction for `duration`.
    ///
    /// # Errors
    /// A connection that cannot be opened or configured.
    pub fn run(&self, clients: usize, duration: Duration) -> Result<Outcome> {
        let (outcome, _) = drive::run(
            "sqlite",
            clients,
            duration,
            |_| -> Result<Connection> {
                let connection = Connection::open(&self.path).context("opening the SQLite peer")?;
                connection.pragma_update(None, "synchronous", "FULL").context("setting synchronous=FULL")?;
                connection.busy_timeout(BUSY_TIMEOUT).context("setting SQLite's busy timeout")?;
                Ok(connection)
            },
            |connection, recorder| {
                let (_, did) = members::fresh();
                let rows = match member_rows(&did, now()) {
                    Ok(rows) => rows,
                    Err(error) => {
                        recorder.error(0, &format!("{error:#}"));
                        return Flow::Stop;
                    }
                };
                let (result, took) = timed(|| {
                    // A poisoned turn guards nothing: the transaction is SQLite's.
                    let _turn = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
                    commit_member(connection, &rows)
                });
                match result {
                    Ok(()) => {
                        recorder.ok(took);
                        Flow::Go
                    }
                    Err(error) => {
                        recorder.error(0, &format!("SQLite: {error}"));
                        Flow::Stop
                    }
                }
            },
        )?;
        Ok(outcome)
    }
}

/// One transaction inserting `rows`.
fn commit_member(connection: &Connection, rows: &[(String, Vec<u8>)]) -> rusqlite::Result<()> {
    connection.execute_batch("BEGIN IMMEDIATE")?;
    let inserted = (|| {
        let mut insert = connection.prepare_cached("INSERT INTO rows (key, value) VALUES (?1, ?2)")?;
        for (key, value) in rows {
            insert.execute((key, value))?;
        }
        Ok(())
    })();
    match inserted {
        Ok(()) => connection.execute_batch("COMMIT"),
        Err(error) => {
            let _ = connection.execute_batch("ROLLBACK");
            Err(error)
        }
    }
}

/// Unix seconds now (0 before 1970).
fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peer_commits_four_rows_per_member() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let peer = Peer::create(dir.path())?;
        let connection = Connection::open(&peer.path)?;
        let (_, did) = members::fresh();
        commit_member(&connection, &member_rows(&did, 1)?)?;
        let count: i64 = connection.query_row("SELECT count(*) FROM rows", [], |row| row.get(0))?;
        assert_eq!(count, 4);
        // The same member again is refused whole (primary key), nothing added.
        assert!(commit_member(&connection, &member_rows(&did, 1)?).is_err());
        let count: i64 = connection.query_row("SELECT count(*) FROM rows", [], |row| row.get(0))?;
        assert_eq!(count, 4);
        Ok(())
    }
}
