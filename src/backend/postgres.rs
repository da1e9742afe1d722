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
//!   messages name the store by [`describe_url`]: the URL rebuilt from its
//!   user, hosts, ports and database name only.
//! - No call waits for the database longer than [`CALL_TIMEOUT`]: a server
//!   that stops answering is `Unavailable`, never a hang.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::mpsc::{sync_channel, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use postgres::config::Host;
use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{Client, IsolationLevel, NoTls};
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;

use super::{
    prefix_end, validate_key, BackendError, BackendResult, BatchOp, CommonsStoreBackend, Durability, OpenBackend,
    Precondition, Rows, StoreConfig, WriteBatch, MAX_KEY_LEN,
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

/// How long a call waits for a connection (a free one of the pool, or a new
/// one while the server is unreachable) before it is answered `Unavailable`;
/// also the TCP connect timeout of a new connection when the URL sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The longest any call waits for the database, connection included: a
/// server that stops answering without closing its connections (a frozen
/// host, a network cut) is answered `Unavailable` after this, never a hang.
/// A write cut off this way may still commit later (as one whose connection
/// broke during `COMMIT`: read it back).
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(5);

type Manager = PostgresConnectionManager<NoTls>;

/// A store in a PostgreSQL database, reached through a pool of connections.
/// Calls block (the gateway makes them on its blocking pool) for at most
/// 5 s (`CALL_TIMEOUT`). See the module docs for the table, transactions and
/// outages.
pub struct PostgresCommonsStore {
    /// Always `Some` until the store drops; taken then, so that the
    /// connections close on a thread of their own (see [`with_deadline`]).
    db: Option<Db>,
    /// The throw-away schema of a temporary store, dropped with the store.
    scratch: Option<Scratch>,
}

/// What a call needs, cheap to clone into the thread that makes it.
#[derive(Clone)]
struct Db {
    pool: Pool<Manager>,
    durability: Durability,
    /// The database as messages show it ([`describe`]: no password).
    shown: Arc<str>,
    /// Why the pool's last attempt to open a connection failed, with the
    /// server's message (r2d2 keeps only a summary), and when.
    last_connect_error: Arc<Mutex<Option<(Instant, String)>>>,
}

struct Scratch {
    config: postgres::Config,
    schema: String,
}

impl Drop for PostgresCommonsStore {
    fn drop(&mut self) {
        let db = self.db.take();
        let scratch = self.scratch.take();
        // The sync client closes its connections with a runtime of its own,
        // which cannot run on a thread that drives one (the gateway's).
        let _ = std::thread::spawn(move || {
            drop(db);
            if let Some(scratch) = scratch {
                // Best effort: a schema left behind only costs space on a
                // server that tests throw away.
                if let Ok(mut client) = scratch.config.connect(NoTls) {
                    let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", scratch.schema));
                }
            }
        })
        .join();
    }
}

impl std::fmt::Debug for PostgresCommonsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresCommonsStore").field("database", &self.database()).finish_non_exhaustive()
    }
}

/// Keeps the pool's connection errors, with their cause, for the messages
/// of calls that found no connection; logs them at debug level only (the
/// pool retries in the background while the server is down, and the calls
/// that fail report the cause).
#[derive(Debug)]
struct ConnectErrors(Arc<Mutex<Option<(Instant, String)>>>);

impl r2d2::HandleError<postgres::Error> for ConnectErrors {
    fn handle_error(&self, error: postgres::Error) {
        let text = error_text(&error);
        tracing::debug!(error = %text, "postgres: could not open a connection");
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), text));
    }
}

/// An error's text with its cause: the server's message and SQLSTATE for a
/// database error; otherwise the client's message and its source chain.
fn error_text(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
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
    let shown: Arc<str> = describe(&config).into();
    let create = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
    with_deadline(&shown.clone(), move || {
        let mut client = config.connect(NoTls).map_err(|e| sql_error(&shown, e))?;
        client.batch_execute(&create).map_err(|e| sql_error(&shown, e))
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

/// Parses a database URL (`postgres://...` or the key-value form) that
/// names at least one host. The URL itself never appears in the error.
fn parse_url(url: &str) -> BackendResult<postgres::Config> {
    let wrong = |why: String| BackendError::WrongLocation {
        engine: ENGINE,
        message: format!(
            "the database URL {why}; expected postgres://user[:password]@host[:port]/database (percent-encode \
             special characters of the password)"
        ),
    };
    if url.trim().is_empty() {
        return Err(wrong("is empty".into()));
    }
    let mut config = postgres::Config::from_str(url).map_err(|e| wrong(format!("does not parse ({e})")))?;
    if config.get_hosts().is_empty() {
        return Err(wrong("names no host".into()));
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    Ok(config)
}

/// The database as messages, logs and `/v1/health` show it, rebuilt from
/// the parsed URL's user, hosts, ports and database name only, so neither
/// the password (however it was written) nor any other option can show:
/// `postgres://app@db.example:5432/commons`.
fn describe(config: &postgres::Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            match ports.get(i).or_else(|| (ports.len() == 1).then(|| &ports[0])) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    let user = config.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    let dbname = config.get_dbname().or(config.get_user()).unwrap_or("");
    format!("postgres://{user}{}/{dbname}", hosts.join(","))
}

/// The database at `url` as messages show it (see [`describe`]).
///
/// # Errors
/// `WrongLocation` when the URL does not parse or names no host.
fn describe_url(url: &str) -> BackendResult<String> {
    Ok(describe(&parse_url(url)?))
}

impl PostgresCommonsStore {
    /// The database the store is in, without the password (as messages show it).
    pub fn database(&self) -> &str {
        self.db.as_ref().map_or("", |db| &db.shown)
    }

    fn connect_with(
        config: postgres::Config,
        store_config: &StoreConfig,
        scratch: Option<Scratch>,
        table: Table,
    ) -> BackendResult<Self> {
        let shown: Arc<str> = describe(&config).into();
        let last_connect_error = Arc::new(Mutex::new(None));
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CONNECT_TIMEOUT)
            .error_handler(Box::new(ConnectErrors(Arc::clone(&last_connect_error))))
            // Open connections lazily: a server that is down at start is
            // reported by the table step below, with its reason.
            .build_unchecked(manager);
        let db = Db { pool, durability: store_config.durability, shown, last_connect_error };
        let store = Self { db: Some(db), scratch };
        store.call(move |db| db.find_table(table))?;
        Ok(store)
    }

    /// Runs `call` with the database on a thread of its own, for at most
    /// [`CALL_TIMEOUT`] (see [`with_deadline`]).
    fn call<T: Send + 'static>(&self, call: impl FnOnce(&Db) -> BackendResult<T> + Send + 'static) -> BackendResult<T> {
        let Some(db) = self.db.clone() else {
            return Err(BackendError::Unavailable { reason: "the store is closing".into() });
        };
        let shown = Arc::clone(&db.shown);
        with_deadline(&shown, move || call(&db))
    }
}

/// What connecting does about the store's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    /// Create it when it is not there (`serve`, `import`).
    Create,
    /// Refuse a database without it, creating nothing (`verify`, `export`).
    MustExist,
}

impl Db {
    /// Looks for the table and, when it is not there, creates it or refuses
    /// (`table`). Only a missing table is created, so a user with no right
    /// to create tables can run a gateway on a table made for it. Several
    /// gateways starting at once may race on the creation: a loser of that
    /// race finds the table made.
    fn find_table(&self, table: Table) -> BackendResult<()> {
        let mut client = self.client()?;
        let exists = format!("SELECT to_regclass('{TABLE}') IS NOT NULL");
        if client.query_one(&exists, &[]).map_err(|e| self.error(e))?.get::<_, bool>(0) {
            return Ok(());
        }
        if table == Table::MustExist {
            return Err(BackendError::WrongLocation {
                engine: ENGINE,
                message: format!(
                    "no commons store in the database {} (no table {TABLE} in its search_path; nothing was \
                     created); check --database-url",
                    self.shown
                ),
            });
        }
        // Several gateways starting at once may all get here; the losers'
        // "already exists" notice is no news.
        let create = format!(
            "SET client_min_messages = warning; \
             CREATE TABLE IF NOT EXISTS {TABLE} (k bytea PRIMARY KEY, v bytea NOT NULL)"
        );
        match client.batch_execute(&create) {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.code(), Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::DUPLICATE_TABLE) => {
                client.batch_execute(&create).map_err(|e| self.error(e))
            }
            Err(e) => Err(self.error(e)),
        }
    }

    fn client(&self) -> BackendResult<PooledConnection<Manager>> {
        self.pool.get().map_err(|e| {
            // Only a failure of this wait's time says why it found nothing.
            let cause = self
                .last_connect_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
                .filter(|(at, _)| at.elapsed() <= CONNECT_TIMEOUT * 2)
                .map(|(_, text)| text);
            BackendError::Unavailable {
                reason: format!(
                    "found no connection to the PostgreSQL database {} within {} s: {}",
                    self.shown,
                    CONNECT_TIMEOUT.as_secs(),
                    cause.unwrap_or_else(|| e.to_string())
                ),
            }
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
    let text = error_text(&e);
    let Some(code) = e.code() else {
        // No SQLSTATE: the connection itself failed (closed, reset, refused).
        return BackendError::Unavailable { reason: format!("the PostgreSQL database {shown} is unreachable: {text}") };
    };
    let class = &code.code()[..2];
    if *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::UNIQUE_VIOLATION
    {
        return BackendError::Conflict { key: format!("(the server aborted the transaction: {text})") };
    }
    // 08: connection exception; 57P: operator intervention (shutdown,
    // restart); 53: insufficient resources (too many connections).
    if class == "08" || class == "53" || code.code().starts_with("57P") {
        return BackendError::Unavailable {
            reason: format!("the PostgreSQL database {shown} cannot serve now: {text}"),
        };
    }
    BackendError::Engine { engine: ENGINE, message: format!("{shown}: {text}") }
}

/// Runs `call` on a thread of its own and waits for it at most
/// [`CALL_TIMEOUT`]; past that the answer is `Unavailable` and the thread is
/// left to finish (or fail) when the database answers or its connection
/// breaks. The own thread also keeps the sync client, which drives its
/// connection with a runtime of its own, off any async runtime (it would
/// panic on a thread that drives one).
fn with_deadline<T: Send + 'static>(
    shown: &str,
    call: impl FnOnce() -> BackendResult<T> + Send + 'static,
) -> BackendResult<T> {
    let (answer, wait) = sync_channel(1);
    std::thread::Builder::new()
        .name("commons-postgres".into())
        .spawn(move || {
            let _ = answer.send(call());
        })
        .map_err(|e| BackendError::Unavailable { reason: format!("cannot start a database call: {e}") })?;
    match wait.recv_timeout(CALL_TIMEOUT) {
        Ok(result) => result,
        Err(RecvTimeoutError::Timeout) => Err(BackendError::Unavailable {
            reason: format!(
                "the PostgreSQL database {shown} did not answer within {} s (a write cut off this way may \
                 still take effect: read it back)",
                CALL_TIMEOUT.as_secs()
            ),
        }),
        Err(RecvTimeoutError::Disconnected) => Err(BackendError::Engine {
            engine: ENGINE,
            message: format!("a call to {shown} ended without an answer (it panicked; see the log)"),
        }),
    }
}

impl CommonsStoreBackend for PostgresCommonsStore {
    super::engine_identity!();

    fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
        validate_key(key)?;
        let key = key.to_vec();
        self.call(move |db| db.get_now(&key))
    }

    fn scan_from(&self, prefix: &[u8], start_after: Option<&[u8]>, limit: usize) -> BackendResult<Rows> {
        let (prefix, start_after) = (prefix.to_vec(), start_after.map(<[u8]>::to_vec));
        self.call(move |db| db.scan_now(&prefix, start_after.as_deref(), limit))
    }

    fn apply(&self, batch: WriteBatch) -> BackendResult<()> {
        batch.validate()?;
        if batch.is_empty() {
            return Ok(());
        }
        // A connection that broke is discarded by the pool when it comes
        // back (r2d2 asks `is_closed`), so the next call connects afresh.
        self.call(move |db| db.write(&mut *db.client()?, batch))
    }

    /// Every commit so far is durable once this returns: a transaction that
    /// writes a commit record with `synchronous_commit = on` waits for the
    /// server's log to be flushed up to it, and so past every earlier commit
    /// (also the `Buffered` ones, committed with it off).
    fn flush(&self) -> BackendResult<()> {
        self.call(|db| {
            let mut client = db.client()?;
            let mut tx = client.transaction().map_err(|e| db.error(e))?;
            tx.batch_execute("SET LOCAL synchronous_commit = on; SELECT txid_current()").map_err(|e| db.error(e))?;
            tx.commit().map_err(|e| db.error(e))
        })
    }

    fn shared(&self) -> bool {
        true
    }

    /// `Ok` while the database answers a query.
    fn check_available(&self) -> BackendResult<()> {
        self.call(|db| db.client()?.batch_execute("SELECT 1").map_err(|e| db.error(e)))
    }

    /// The table's size with its index and TOAST data, in bytes.
    fn size_on_disk(&self) -> BackendResult<u64> {
        self.call(|db| {
            let row = db
                .client()?
                .query_one(&format!("SELECT pg_total_relation_size('{TABLE}')"), &[])
                .map_err(|e| db.error(e))?;
            let size: i64 = row.get(0);
            Ok(u64::try_from(size).unwrap_or(0))
        })
    }
}

impl Db {
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
        Self::connect_with(parse_url(&scoped)?, config, Some(scratch), Table::Create)
    }

    /// Connects to the database at `url` (`postgres://user[:password]@host[:port]/database`,
    /// or the key-value form) and creates the table when it is not there.
    ///
    /// # Errors
    /// `WrongLocation` for a URL that does not parse or names no host;
    /// `Unavailable` when the server cannot be reached within 3 s or does not
    /// answer within 5 s; `Engine` when the table cannot be
    /// created (e.g. no permission), with the server's message. The URL's
    /// password is never shown.
    fn connect(url: &str, config: &StoreConfig) -> BackendResult<Self> {
        Self::connect_with(parse_url(url)?, config, None, Table::Create)
    }

    /// Connects only when the database already holds the store's table;
    /// creates nothing and needs no right to create (a read-only connection
    /// will do).
    fn connect_existing(url: &str, config: &StoreConfig) -> BackendResult<Self> {
        Self::connect_with(parse_url(url)?, config, None, Table::MustExist)
    }

    fn describe_url(url: &str) -> BackendResult<String> {
        describe_url(url)
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

    #[test]
    fn a_url_is_shown_rebuilt_from_user_host_port_and_database_only() {
        let cases = [
            ("postgres://app:s3cret@db.example:5432/commons", "s3cret", "postgres://app@db.example:5432/commons"),
            ("postgres://app:pa/ss?w0rd@127.0.0.1:35825/appdb", "pa/ss?w0rd", "postgres://app@127.0.0.1:35825/appdb"),
            ("postgresql://app:p%40ss@h/db?sslmode=disable", "p%40ss", "postgres://app@h:5432/db"),
            ("postgres://h/db?user=app&password=s3cret&x=1", "s3cret", ""),
            ("postgres://h/db?user=app&password=wrong&password=a%20b", "a%20b", "postgres://app@h:5432/db"),
            ("postgres://h/db?user=app&passw%6Frd=a%20b", "a%20b", "postgres://app@h:5432/db"),
            ("host=h user=app password=s3cret dbname=commons", "s3cret", "postgres://app@h/commons"),
            ("host=h user=app password = 'a b' dbname=commons", "a b", "postgres://app@h/commons"),
            ("host=h,g port=1,2 user=app password='x y' dbname=d", "x y", "postgres://app@h:1,g:2/d"),
        ];
        for (url, password, want) in cases {
            match describe_url(url) {
                Ok(shown) => {
                    assert!(!shown.contains(password) && !shown.contains("password"), "{url} -> {shown}");
                    if !want.is_empty() {
                        assert_eq!(shown, want, "{url}");
                    }
                }
                Err(e) => assert!(!e.to_string().contains(password), "{url} -> {e}"),
            }
        }
    }

    /// A server that accepts connections and never answers (a frozen host)
    /// is `Unavailable` after [`CALL_TIMEOUT`], not a hang.
    #[test]
    fn a_server_that_never_answers_is_unavailable_not_a_hang() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Accepts and holds every connection, answering nothing.
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
            }
        });
        let url = format!("postgres://app:s3cret@127.0.0.1:{port}/commons");
        let started = std::time::Instant::now();
        for attempt in [
            PostgresCommonsStore::connect(&url, &StoreConfig::default()).map(drop),
            PostgresCommonsStore::connect_existing(&url, &StoreConfig::default()).map(drop),
        ] {
            let err = attempt.unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, BackendError::Unavailable { .. }), "{text}");
            // The pool gives up waiting for its connection after 3 s; a
            // direct connection (connect_existing) after CALL_TIMEOUT.
            assert!(text.contains(" within 3 s") || text.contains("did not answer within 5 s"), "{text}");
            assert!(!text.contains("s3cret"), "{text}");
        }
        // Two calls of at most CALL_TIMEOUT each, with room for a busy machine.
        assert!(started.elapsed() < CALL_TIMEOUT * 6, "took {:?}", started.elapsed());
    }

    /// The test server of [`TEST_URL_VAR`] (never skipped: the postgres
    /// feature sets of `cargo xtask ci` set it).
    fn test_url() -> String {
        std::env::var(TEST_URL_VAR)
            .unwrap_or_else(|_| panic!("set {TEST_URL_VAR} (cargo xtask postgres starts a server)"))
    }

    /// A database that does not exist, named with its cause and SQLSTATE.
    #[test]
    fn a_missing_database_is_named_with_the_servers_reason() {
        let mut config = parse_url(&test_url()).unwrap();
        config.dbname("no_such_database_here").password("s3cret");
        let url = format!("{}?password=s3cret", describe(&config));
        let err = PostgresCommonsStore::connect(&url, &StoreConfig::default()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("\"no_such_database_here\" does not exist (3D000)"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }

    /// `verify` and `export` open with `connect_existing`: a table without
    /// the store's schema-version row holds no store, and nothing is written.
    #[test]
    fn a_table_without_a_version_row_is_no_store_and_stays_empty() {
        let url = schema_url(&test_url(), &format!("commons_empty_{}", uuid::Uuid::new_v4().simple())).unwrap();
        let made = PostgresCommonsStore::connect(&url, &StoreConfig::default()).unwrap();
        let err = crate::store::CommonsStore::<PostgresCommonsStore>::connect_existing(&url, &StoreConfig::default())
            .map(drop)
            .unwrap_err();
        assert!(err.to_string().contains("no commons store"), "{err}");
        assert!(made.scan_from(b"", None, 10).unwrap().is_empty(), "nothing was written");
    }

    #[test]
    fn an_empty_url_or_one_without_a_host_is_refused() {
        for url in ["", "  ", "dbname=commons user=app"] {
            let err = describe_url(url).unwrap_err();
            assert!(matches!(err, BackendError::WrongLocation { .. }), "{url:?}: {err}");
        }
    }
}
