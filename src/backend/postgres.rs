//! [`PostgresCommonsStore`]: the commons in one table of a PostgreSQL
//! database, shared by any number of gateway processes on any number of
//! machines.
//!
//! Table (created on first connect, in the first schema of the connection's
//! `search_path`):
//!
//! ```sql
//! CREATE TABLE commons_rows (k bytea PRIMARY KEY, v bytea NOT NULL)
//! ```
//!
//! `bytea` sorts bytewise, the order sled and fjall keep, so a prefix scan is
//! the btree range `k >= prefix AND k < successor(prefix) ORDER BY k`, and a
//! page adds `k > start_after ... LIMIT n`.
//!
//! **Invariants:**
//! - A [`WriteBatch`] is one transaction: its precondition keys are locked
//!   (`SELECT ... FOR UPDATE`, in key order) and compared, then its deletes,
//!   inserts and upserts run as three array statements, then `COMMIT`.
//!   Statements are sent with their parameter types (`query_typed`), so each
//!   is one round trip, without a separate prepare. A
//!   precondition that fails, a serialization failure or a deadlock rolls
//!   the transaction back and answers [`BackendError::Conflict`]. A key that
//!   the batch expects absent and writes is inserted with a plain `INSERT`
//!   (no upsert), so two transactions that both found it absent cannot both
//!   write it: the second meets the primary key and is a conflict. A batch
//!   that expects a key absent without writing it runs `SERIALIZABLE`.
//! - Durable on return: with [`Durability::Sync`] the transaction commits
//!   with the server's `synchronous_commit` (on by default: the commit
//!   record is flushed to the server's disk); with [`Durability::Buffered`]
//!   it commits with `synchronous_commit = off` (a server crash may lose the
//!   last moments, never half a transaction).
//! - A lost connection is [`BackendError::Unavailable`] (HTTP 503): the
//!   server rolls back a transaction whose connection is cut, so nothing is
//!   half-applied; if the cut came during `COMMIT`, whether it committed is
//!   unknown to this process, and the caller must read again. The pool drops
//!   broken connections and opens new ones, so the store serves again by
//!   itself once the server is back.
//! - Nothing here needs advisory locks or LISTEN/NOTIFY (neither exists
//!   everywhere PostgreSQL's protocol is spoken, e.g. CockroachDB).
//! - The database URL's password never appears in an error or a log line:
//!   messages name the store by [`super::redact_url`].

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{Client, IsolationLevel, NoTls};
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;

use super::{
    prefix_end, redact_url, validate_key, BackendError, BackendResult, BatchOp, CommonsStoreBackend, Durability,
    OpenBackend, Precondition, Rows, StoreConfig, WriteBatch, MAX_KEY_LEN,
};

const ENGINE: &str = "postgres";

/// The one table of the store.
pub const TABLE: &str = "commons_rows";

/// The environment variable naming the server that [`OpenBackend::temporary`]
/// makes its throw-away schemas on (`cargo xtask ci` and `cargo xtask
/// postgres` start one and set it).
pub const TEST_URL_VAR: &str = "COMMONS_TEST_DATABASE_URL";

/// Connections a store keeps at most (each gateway process has one store).
const POOL_SIZE: u32 = 16;

/// How long a request waits for a connection (the pool's, or a new one while
/// the server is unreachable) before it is answered `Unavailable`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Manager = PostgresConnectionManager<NoTls>;

/// A store in a PostgreSQL database, reached through a pool of connections.
/// Calls block: the gateway makes them on its blocking pool. See the module
/// docs for the table, transactions and outages.
pub struct PostgresCommonsStore {
    /// Always `Some` until the store drops; taken then, so that the
    /// connections close off any async runtime (see [`off_runtime`]).
    pool: Option<Pool<Manager>>,
    durability: Durability,
    /// The URL without its password, for messages.
    shown: String,
    /// The throw-away schema of a temporary store, dropped with the store.
    scratch: Option<Scratch>,
}

struct Scratch {
    config: postgres::Config,
    schema: String,
}

impl Drop for PostgresCommonsStore {
    fn drop(&mut self) {
        let pool = self.pool.take();
        off_runtime(move || drop(pool));
        if let Some(scratch) = &self.scratch {
            // Best effort: a schema left behind only costs space on a server
            // that tests throw away.
            off_runtime(|| {
                if let Ok(mut client) = scratch.config.connect(NoTls) {
                    let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", scratch.schema));
                }
            });
        }
    }
}

impl std::fmt::Debug for PostgresCommonsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresCommonsStore")
            .field("database", &self.shown)
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

/// A URL that selects `schema` (via the connection's `search_path`) on the
/// server of `url`, after creating the schema if needed. Tests give each
/// gateway process under test a schema of its own this way.
///
/// # Errors
/// `Unavailable` when the server cannot be reached; `Engine` when the
/// schema cannot be created; `WrongLocation` for a URL that does not parse
/// or a schema name that is not `[a-z0-9_]+`.
pub fn schema_url(url: &str, schema: &str) -> BackendResult<String> {
    check_schema_name(schema)?;
    let config = parse_url(url)?;
    off_runtime(|| {
        let mut client = config.connect(NoTls).map_err(|e| sql_error(&redact_url(url), e))?;
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .map_err(|e| sql_error(&redact_url(url), e))
    })?;
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}options=-c%20search_path%3D{schema}"))
}

fn check_schema_name(schema: &str) -> BackendResult<()> {
    if schema.is_empty() || !schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err(BackendError::WrongLocation {
            engine: ENGINE,
            message: format!("schema name {schema:?} must be lowercase letters, digits and '_'"),
        });
    }
    Ok(())
}

fn parse_url(url: &str) -> BackendResult<postgres::Config> {
    postgres::Config::from_str(url).map_err(|e| BackendError::WrongLocation {
        engine: ENGINE,
        message: format!(
            "database URL {} does not parse ({e}); expected postgres://user[:password]@host[:port]/database",
            redact_url(url)
        ),
    })
}

impl PostgresCommonsStore {
    /// The database the store is in, without the password (as messages show it).
    pub fn database(&self) -> &str {
        &self.shown
    }

    fn connect_with(
        config: postgres::Config,
        shown: String,
        store_config: &StoreConfig,
        scratch: Option<Scratch>,
    ) -> BackendResult<Self> {
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT)
            // Open connections lazily: a server that is down at start is
            // reported by the schema step below, with its reason.
            .build_unchecked(manager);
        let store = Self { pool: Some(pool), durability: store_config.durability, shown, scratch };
        off_runtime(|| store.create_table())?;
        Ok(store)
    }

    /// Creates the table if it does not exist. Several gateways starting at
    /// once may race on it: a loser of that race finds the table made.
    fn create_table(&self) -> BackendResult<()> {
        let mut client = self.client()?;
        let create = format!("CREATE TABLE IF NOT EXISTS {TABLE} (k bytea PRIMARY KEY, v bytea NOT NULL)");
        match client.batch_execute(&create) {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.code(), Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::DUPLICATE_TABLE) => {
                client.batch_execute(&create).map_err(|e| self.error(e))
            }
            Err(e) => Err(self.error(e)),
        }
    }

    fn client(&self) -> BackendResult<PooledConnection<Manager>> {
        let Some(pool) = &self.pool else {
            return Err(BackendError::Unavailable { reason: format!("the store of {} is closing", self.shown) });
        };
        pool.get().map_err(|e| BackendError::Unavailable {
            reason: format!("cannot reach the PostgreSQL database {}: {e}", self.shown),
        })
    }

    fn error(&self, e: postgres::Error) -> BackendError {
        sql_error(&self.shown, e)
    }

    /// One attempt at the batch's transaction.
    fn write(&self, client: &mut Client, batch: WriteBatch) -> BackendResult<()> {
        let (ops, preconditions) = batch.into_parts();
        // Later operations on one key win; one statement per kind of write.
        let mut last: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for op in ops {
            match op {
                BatchOp::Put(k, v) => last.insert(k, Some(v)),
                BatchOp::Delete(k) => last.insert(k, None),
            };
        }
        let absent: Vec<&[u8]> = preconditions
            .iter()
            .filter_map(|p| match p {
                Precondition::Absent(k) => Some(k.as_slice()),
                Precondition::Equals(..) => None,
            })
            .collect();
        let checks_only_absence = absent.iter().any(|k| !matches!(last.get(*k), Some(Some(_))));
        let mut tx = client
            .build_transaction()
            .isolation_level(if checks_only_absence {
                IsolationLevel::Serializable
            } else {
                IsolationLevel::ReadCommitted
            })
            .start()
            .map_err(|e| self.error(e))?;
        if self.durability == Durability::Buffered {
            tx.batch_execute("SET LOCAL synchronous_commit = off").map_err(|e| self.error(e))?;
        }
        if !preconditions.is_empty() {
            let mut keys: Vec<&[u8]> = preconditions.iter().map(Precondition::key).collect();
            keys.sort_unstable();
            keys.dedup();
            let rows = tx
                .query_typed(
                    &format!("SELECT k, v FROM {TABLE} WHERE k = ANY($1) ORDER BY k FOR UPDATE"),
                    &[(&keys, Type::BYTEA_ARRAY)],
                )
                .map_err(|e| self.error(e))?;
            let current: BTreeMap<Vec<u8>, Vec<u8>> = rows.into_iter().map(|r| (r.get(0), r.get(1))).collect();
            super::check_preconditions(&preconditions, |k| Ok(current.get(k).cloned()))?;
        }
        let mut deletes: Vec<&[u8]> = Vec::new();
        let (mut insert_keys, mut insert_values): (Vec<&[u8]>, Vec<&[u8]>) = (Vec::new(), Vec::new());
        let (mut upsert_keys, mut upsert_values): (Vec<&[u8]>, Vec<&[u8]>) = (Vec::new(), Vec::new());
        for (k, v) in &last {
            match v {
                None => deletes.push(k),
                Some(v) if absent.contains(&k.as_slice()) => {
                    insert_keys.push(k);
                    insert_values.push(v);
                }
                Some(v) => {
                    upsert_keys.push(k);
                    upsert_values.push(v);
                }
            }
        }
        if !deletes.is_empty() {
            tx.execute_typed(&format!("DELETE FROM {TABLE} WHERE k = ANY($1)"), &[(&deletes, Type::BYTEA_ARRAY)])
                .map_err(|e| self.error(e))?;
        }
        if !insert_keys.is_empty() {
            tx.execute_typed(
                &format!("INSERT INTO {TABLE} (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[])"),
                &[(&insert_keys, Type::BYTEA_ARRAY), (&insert_values, Type::BYTEA_ARRAY)],
            )
            .map_err(|e| self.error(e))?;
        }
        if !upsert_keys.is_empty() {
            tx.execute_typed(
                &format!(
                    "INSERT INTO {TABLE} (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
                     ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
                ),
                &[(&upsert_keys, Type::BYTEA_ARRAY), (&upsert_values, Type::BYTEA_ARRAY)],
            )
            .map_err(|e| self.error(e))?;
        }
        tx.commit().map_err(|e| self.error(e))
    }
}

/// Classifies a PostgreSQL error: lost or refused connections and a server
/// shutting down are `Unavailable`; a serialization failure, a deadlock and a
/// primary-key clash (two writers creating one key) are `Conflict`; the rest
/// is `Engine` with the server's message.
fn sql_error(shown: &str, e: postgres::Error) -> BackendError {
    let Some(code) = e.code() else {
        // No SQLSTATE: the connection itself failed (closed, reset, refused).
        return BackendError::Unavailable { reason: format!("the PostgreSQL database {shown} is unreachable: {e}") };
    };
    let class = &code.code()[..2];
    if *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::UNIQUE_VIOLATION
    {
        let what = e.as_db_error().map_or("", |db| db.message());
        return BackendError::Conflict { key: format!("(the server aborted the transaction: {what})") };
    }
    // 08: connection exception; 57P: operator intervention (shutdown,
    // restart); 53: insufficient resources (too many connections).
    if class == "08" || class == "53" || code.code().starts_with("57P") {
        return BackendError::Unavailable { reason: format!("the PostgreSQL database {shown} cannot serve now: {e}") };
    }
    let detail = e.as_db_error().map_or_else(|| e.to_string(), |db| format!("{} ({})", db.message(), code.code()));
    BackendError::Engine { engine: ENGINE, message: format!("{shown}: {detail}") }
}

/// Runs `call` off any async runtime. The sync client drives its connection
/// with a runtime of its own and cannot run on a thread that is already
/// driving one (it would panic): the gateway makes its store calls on the
/// blocking pool, where this costs one thread-local check; a call made from
/// async code anyway (an embedding application, a test) runs on a scoped
/// thread instead of panicking.
fn off_runtime<T: Send>(call: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return call();
    }
    std::thread::scope(|s| match s.spawn(call).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

impl CommonsStoreBackend for PostgresCommonsStore {
    super::engine_identity!();

    fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
        validate_key(key)?;
        off_runtime(|| self.get_now(key))
    }

    fn scan_from(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize) -> BackendResult<Rows> {
        off_runtime(|| self.scan_now(prefix, start_after, limit))
    }

    fn apply(&self, batch: WriteBatch) -> BackendResult<()> {
        batch.validate()?;
        if batch.is_empty() {
            return Ok(());
        }
        // A connection that broke is discarded by the pool when it comes
        // back (r2d2 asks `is_closed`), so the next call connects afresh.
        off_runtime(|| self.write(&mut *self.client()?, batch))
    }

    /// Every commit so far is durable once this returns: a transaction that
    /// writes a commit record with `synchronous_commit = on` waits for the
    /// server's log to be flushed up to it, and so past every earlier commit
    /// (also the `Buffered` ones, committed with it off).
    fn flush(&self) -> BackendResult<()> {
        off_runtime(|| {
            let mut client = self.client()?;
            let mut tx = client.transaction().map_err(|e| self.error(e))?;
            tx.batch_execute("SET LOCAL synchronous_commit = on; SELECT txid_current()").map_err(|e| self.error(e))?;
            tx.commit().map_err(|e| self.error(e))
        })
    }

    fn shared(&self) -> bool {
        true
    }

    /// `Ok` while the database answers a query.
    fn check_available(&self) -> BackendResult<()> {
        off_runtime(|| self.client()?.batch_execute("SELECT 1").map_err(|e| self.error(e)))
    }

    /// The table's size with its index and TOAST data, in bytes.
    fn size_on_disk(&self) -> BackendResult<u64> {
        off_runtime(|| {
            let row = self
                .client()?
                .query_one(&format!("SELECT pg_total_relation_size('{TABLE}')"), &[])
                .map_err(|e| self.error(e))?;
            let size: i64 = row.get(0);
            Ok(u64::try_from(size).unwrap_or(0))
        })
    }
}

impl PostgresCommonsStore {
    fn get_now(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
        let mut client = self.client()?;
        let row = client
            .query_typed_opt(&format!("SELECT v FROM {TABLE} WHERE k = $1"), &[(&key, Type::BYTEA)])
            .map_err(|e| self.error(e))?;
        Ok(row.map(|r| r.get(0)))
    }

    fn scan_now(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize) -> BackendResult<Rows> {
        if limit == 0 || prefix.len() > MAX_KEY_LEN {
            return Ok(Vec::new());
        }
        let end = prefix_end(prefix);
        let after = start_after.filter(|after| *after >= prefix);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT k, v FROM {TABLE} WHERE k >= $1 AND ($2::bytea IS NULL OR k < $2) \
             AND ($3::bytea IS NULL OR k > $3) ORDER BY k LIMIT $4"
        );
        let mut client = self.client()?;
        let params: [(&(dyn postgres::types::ToSql + Sync), Type); 4] =
            [(&prefix, Type::BYTEA), (&end, Type::BYTEA), (&after, Type::BYTEA), (&limit, Type::INT8)];
        let rows = client.query_typed(&sql, &params).map_err(|e| self.error(e))?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

impl OpenBackend for PostgresCommonsStore {
    const NAME: &'static str = ENGINE;
    const PERSISTENT: bool = true;
    /// Only named in messages: the store lives on the database server.
    const FOLDER: &'static str = "commons.postgres";
    const NETWORKED: bool = true;

    /// Refused: the store lives in a database, not a folder.
    ///
    /// # Errors
    /// Always [`BackendError::WrongLocation`], saying to pass a database URL.
    fn open(dir: &Path, _config: &StoreConfig) -> BackendResult<Self> {
        Err(BackendError::WrongLocation {
            engine: ENGINE,
            message: format!(
                "this build's postgres engine keeps its store in a PostgreSQL database, not in a folder ({}): \
                 pass --database-url postgres://user@host/database (or set COMMONS_DATABASE_URL) instead of \
                 --data-dir",
                dir.display()
            ),
        })
    }

    /// A fresh schema `commons_tmp_<uuid>` on the server named by
    /// [`TEST_URL_VAR`], dropped when the store drops.
    ///
    /// # Errors
    /// `WrongLocation` when the variable is not set (it is never skipped:
    /// run the tests through `cargo xtask ci`, or start a server with
    /// `cargo xtask postgres` and export the variable); else as
    /// [`OpenBackend::connect`].
    fn temporary(config: &StoreConfig) -> BackendResult<Self> {
        let url = std::env::var(TEST_URL_VAR).map_err(|_| BackendError::WrongLocation {
            engine: ENGINE,
            message: format!(
                "a temporary postgres store needs a server: set {TEST_URL_VAR} (cargo xtask ci starts one \
                 and sets it; cargo xtask postgres starts one and prints it)"
            ),
        })?;
        let schema = format!("commons_tmp_{}", uuid::Uuid::new_v4().simple());
        let scoped = schema_url(&url, &schema)?;
        let scratch = Scratch { config: parse_url(&url)?, schema };
        Self::connect_with(parse_url(&scoped)?, redact_url(&scoped), config, Some(scratch))
    }

    /// Connects to the database at `url` (`postgres://user[:password]@host[:port]/database`,
    /// or the key-value form) and creates the table on first connect.
    ///
    /// # Errors
    /// `WrongLocation` for a URL that does not parse; `Unavailable` when the
    /// server cannot be reached within 5 s; `Engine` when the table cannot be
    /// created (e.g. no permission). The URL's password is never shown.
    fn connect(url: &str, config: &StoreConfig) -> BackendResult<Self> {
        Self::connect_with(parse_url(url)?, redact_url(url), config, None)
    }

    /// Connects only when the database already holds the store's table.
    fn connect_existing(url: &str, config: &StoreConfig) -> BackendResult<Self> {
        let shown = redact_url(url);
        let found = off_runtime(|| -> BackendResult<bool> {
            let mut client = parse_url(url)?.connect(NoTls).map_err(|e| sql_error(&shown, e))?;
            let row = client
                .query_one(&format!("SELECT to_regclass('{TABLE}') IS NOT NULL"), &[])
                .map_err(|e| sql_error(&shown, e))?;
            Ok(row.get(0))
        })?;
        if !found {
            return Err(BackendError::WrongLocation {
                engine: ENGINE,
                message: format!(
                    "no commons store in the database {shown} (no table {TABLE} in its search_path; nothing was \
                     created); check --database-url"
                ),
            });
        }
        Self::connect(url, config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_checked_before_they_reach_sql() {
        assert!(check_schema_name("commons_tmp_0af3").is_ok());
        for bad in ["", "Tmp", "a;drop table x", "a b", "a-b"] {
            assert!(matches!(check_schema_name(bad), Err(BackendError::WrongLocation { .. })), "{bad:?}");
        }
    }

    #[test]
    fn a_bad_url_is_refused_without_its_password() {
        let err = parse_url("postgres://app:s3cret@host:notaport/db").unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("does not parse"), "{text}");
    }
}
