//! Server wiring: which store to open for `serve`, the HTTP server with its
//! one per-process enrollment rate limit, the periodic sweep (expired
//! enrollments, amendments whose voting time is over, revocations past
//! their appeal deadline, spent envelope nonces past their keeping time),
//! graceful shutdown.
//!
//! Data-directory rules (`docs/ARCHITECTURE.md`, "Entry points"):
//! - persistent engine + data dir: open `<dir>/commons.<engine>`;
//! - persistent engine, no data dir: a temporary store, with a WARN that state
//!   will not survive a restart;
//! - in-memory build + data dir: refused ([`ServeError::NoPersistentEngine`], exit 2);
//! - postgres build: the store is the database at `database_url`; a data dir,
//!   no URL, or a URL that does not parse or names no host, is refused
//!   ([`ServeError::WrongLocation`], exit 2); a folder engine given a
//!   database URL is refused the same way (all checked by
//!   [`check_location`], which `verify`, `export` and `import` run first too);
//! - store locked by another process, another engine's store in the data dir,
//!   a corrupt or unreadable store: refused with the engine's reason; files
//!   are never deleted, truncated or "repaired".
//!
//! SIGTERM and SIGINT stop accepting connections, let requests in flight
//! finish (up to 30 s), flush the store and return `Ok`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use actix_web::{web, App, HttpServer};

use super::connection;
use super::intake::BodyDeadline;
use super::limits::{
    ClientAddresses, EnrollmentRateLimit, DEFAULT_ENROLLMENT_BURST, DEFAULT_ENROLLMENT_RATE_PER_MINUTE,
};
use super::{configure, AdminToken, DEFAULT_BODY_TIMEOUT_SECS, DEFAULT_HEAD_TIMEOUT_SECS, MAX_DEADLINE_SECS};
use crate::backend::CommonsBackend;
use crate::backend::{Durability, OpenBackend, StoreConfig, BACKEND_NAME};
use crate::manager::CommonsManager;
use crate::manager::{CommonsError, CommonsResult, DEFAULT_MAX_OPEN_ENROLLMENTS};
use crate::model::signing::EnvelopePolicy;

/// The longest `sweep_interval_secs`, in seconds (a day); longer periods
/// are brought down to it (the sweep timer must not overflow).
pub const MAX_SWEEP_INTERVAL_SECS: u64 = 86_400;

/// How to run the gateway.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where the store lives; `None`: a temporary store.
    pub data_dir: Option<PathBuf>,
    /// The PostgreSQL database of a postgres build
    /// (`postgres://user[:password]@host[:port]/database`).
    pub database_url: Option<String>,
    /// Refuse a database that holds no store instead of creating one (the
    /// read-only tools set it).
    pub must_exist: bool,
    /// `host:port` to listen on.
    pub bind: String,
    /// Write durability.
    pub durability: Durability,
    /// Operator token; `None`: operator routes answer 403.
    pub admin_token: Option<String>,
    /// Seconds between sweeps (expired enrollment sessions, amendments to
    /// close, revocations to finalize, spent nonces to delete), 1 to
    /// [`MAX_SWEEP_INTERVAL_SECS`]; other values are brought into that range.
    pub sweep_interval_secs: u64,
    /// HTTP worker threads (0: one per core).
    pub workers: usize,
    /// What signed envelopes are accepted: audience, clock skew, longest
    /// lifetime (`docs/DOMAIN.md`, "Signed actions").
    pub envelopes: EnvelopePolicy,
    /// Enrollment starts each client may make per minute once its burst
    /// is spent (`POST /v1/enrollments`; see [`EnrollmentRateLimit`]).
    pub enrollment_rate_per_minute: NonZeroU32,
    /// Enrollment starts each client may make at once.
    pub enrollment_burst: NonZeroU32,
    /// Peers whose `X-Forwarded-For` names the client (see
    /// [`ClientAddresses`]); empty: every client is its peer address.
    pub trusted_proxies: Vec<IpAddr>,
    /// Enrollment sessions open at once in the whole store; past it a start
    /// is 429 `too_many_enrollments` (see
    /// [`CommonsManager::with_max_open_enrollments`]).
    pub max_open_enrollments: usize,
    /// Seconds a new connection has to send its first request head (1 to
    /// [`MAX_DEADLINE_SECS`]; default [`DEFAULT_HEAD_TIMEOUT_SECS`]; past it the HTTP
    /// layer answers 408 with an empty body and closes the connection), and
    /// a kept-alive connection its next request head after an answer has
    /// been written (past it the connection is closed without an answer).
    pub head_timeout_secs: u64,
    /// Seconds a request body has to arrive, counted from the end of its
    /// head (1 to [`MAX_DEADLINE_SECS`]; default [`DEFAULT_BODY_TIMEOUT_SECS`]). Past it the
    /// answer is 408 `request_timeout` with the JSON error body, and the
    /// connection is closed (also for a chunked body); nothing in the store
    /// changes.
    pub body_timeout_secs: u64,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            data_dir: None,
            database_url: None,
            must_exist: false,
            bind: "127.0.0.1:8080".into(),
            durability: Durability::Sync,
            admin_token: None,
            sweep_interval_secs: 60,
            workers: 0,
            envelopes: EnvelopePolicy::default(),
            enrollment_rate_per_minute: DEFAULT_ENROLLMENT_RATE_PER_MINUTE,
            enrollment_burst: DEFAULT_ENROLLMENT_BURST,
            trusted_proxies: Vec::new(),
            max_open_enrollments: DEFAULT_MAX_OPEN_ENROLLMENTS,
            head_timeout_secs: DEFAULT_HEAD_TIMEOUT_SECS,
            body_timeout_secs: DEFAULT_BODY_TIMEOUT_SECS,
        }
    }
}

/// Why the server did not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// This build has no persistent engine but a data directory was given.
    /// Rebuild with `--features sled-store` or `--features fjall-store`.
    #[error("this build has no persistent engine (backend: memory), so --data-dir {} cannot be used; rebuild with `cargo build --release --features fjall-store` (or sled-store)", data_dir.display())]
    NoPersistentEngine {
        /// The refused directory.
        data_dir: PathBuf,
    },
    /// The store's location does not suit this build's engine: a data
    /// directory or no URL for the postgres engine, a database URL for a
    /// folder engine. The message says what to pass.
    #[error("{message}")]
    WrongLocation {
        /// What was wrong and what to pass instead.
        message: String,
    },
    /// `--bind` is not a `host:port` address. Nothing was opened or created.
    #[error("--bind {bind:?} is not a host:port address: {reason}")]
    BadBind {
        /// The address given.
        bind: String,
        /// Why it was refused.
        reason: String,
    },
    /// The store could not be opened or flushed.
    #[error(transparent)]
    Store(#[from] CommonsError),
    /// The address could not be bound or the server failed.
    #[error("cannot serve on {bind}: {source}")]
    Io {
        /// The address.
        bind: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl ServeError {
    /// Process exit code: 2 for a configuration the build cannot serve, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            ServeError::NoPersistentEngine { .. } | ServeError::WrongLocation { .. } | ServeError::BadBind { .. } => 2,
            _ => 1,
        }
    }
}

/// Checks that `data_dir` and `database_url` name a place this build's
/// engine can keep its store, before anything is read, opened or created:
/// a networked engine needs a database URL that parses and names a host, and
/// takes no data directory; a folder engine takes no database URL; the
/// in-memory build takes neither (with no data directory a folder engine
/// uses a temporary store).
///
/// # Errors
/// [`ServeError::WrongLocation`] and [`ServeError::NoPersistentEngine`]
/// (exit 2), saying what to pass instead.
pub fn check_location(data_dir: Option<&std::path::Path>, database_url: Option<&str>) -> Result<(), ServeError> {
    let wrong = |message: String| Err(ServeError::WrongLocation { message });
    if <CommonsBackend as OpenBackend>::NETWORKED {
        if let Some(dir) = data_dir {
            return wrong(format!(
                "this build keeps the commons in a PostgreSQL database (engine {BACKEND_NAME}), so --data-dir {} \
                 cannot be used: pass --database-url postgres://user@host/database (or set COMMONS_DATABASE_URL)",
                dir.display()
            ));
        }
        let Some(url) = database_url else {
            return wrong(format!(
                "this build keeps the commons in a PostgreSQL database (engine {BACKEND_NAME}): pass \
                 --database-url postgres://user@host/database (or set COMMONS_DATABASE_URL)"
            ));
        };
        return <CommonsBackend as OpenBackend>::describe_url(url)
            .map(drop)
            .map_err(|e| ServeError::WrongLocation { message: e.to_string() });
    }
    if database_url.is_some() {
        return wrong(format!(
            "this build's {BACKEND_NAME} engine keeps its store in a folder: pass --data-dir, not a database URL \
             (a build with --features postgres-store keeps it in PostgreSQL)"
        ));
    }
    match data_dir {
        Some(dir) if !<CommonsBackend as OpenBackend>::PERSISTENT => {
            Err(ServeError::NoPersistentEngine { data_dir: dir.to_path_buf() })
        }
        _ => Ok(()),
    }
}

/// Opens the store the options ask for, following the module's rules
/// ([`check_location`] first).
///
/// # Errors
/// See [`ServeError`].
pub fn open_manager(opts: &ServeOptions) -> Result<CommonsManager, ServeError> {
    check_location(opts.data_dir.as_deref(), opts.database_url.as_deref())?;
    let config = StoreConfig { durability: opts.durability, ..StoreConfig::default() };
    if let Some(url) = &opts.database_url {
        let m = if opts.must_exist {
            CommonsManager::connect_existing(url, &config)?
        } else {
            CommonsManager::connect(url, &config)?
        };
        tracing::info!(
            engine = BACKEND_NAME,
            database = m.info().database.as_deref().unwrap_or_default(),
            durability = opts.durability.as_str(),
            "store connected"
        );
        return Ok(m);
    }
    match (&opts.data_dir, <CommonsBackend as OpenBackend>::PERSISTENT) {
        (Some(dir), _) => {
            let m = CommonsManager::open(dir, &config)?;
            tracing::info!(engine = BACKEND_NAME, path = %dir.join(<CommonsBackend as OpenBackend>::FOLDER).display(), durability = opts.durability.as_str(), "store opened");
            Ok(m)
        }
        (None, true) => {
            tracing::warn!(
                engine = BACKEND_NAME,
                "no --data-dir: using a temporary store; state will NOT survive a restart"
            );
            Ok(CommonsManager::temporary(&config)?)
        }
        (None, false) => {
            tracing::warn!(
                "in-memory build: state will NOT survive a restart (rebuild with --features fjall-store or sled-store)"
            );
            Ok(CommonsManager::temporary(&config)?)
        }
    }
}

/// Runs the gateway until SIGTERM/SIGINT, then flushes the store.
///
/// # Errors
/// See [`ServeError`].
pub fn serve(opts: ServeOptions) -> Result<(), ServeError> {
    // Check the address before the store is opened (or created).
    if let Err(e) = std::net::ToSocketAddrs::to_socket_addrs(opts.bind.as_str()) {
        return Err(ServeError::BadBind { bind: opts.bind.clone(), reason: e.to_string() });
    }
    let manager = web::Data::new(
        open_manager(&opts)?
            .with_max_open_enrollments(opts.max_open_enrollments)
            .with_envelope_policy(opts.envelopes.clone()),
    );
    let limit = web::Data::new(EnrollmentRateLimit::new(
        opts.enrollment_rate_per_minute,
        opts.enrollment_burst,
        ClientAddresses::new(opts.trusted_proxies.clone()),
    ));
    tracing::info!(
        rate_per_minute = opts.enrollment_rate_per_minute,
        burst = opts.enrollment_burst,
        trusted_proxies = ?opts.trusted_proxies,
        max_open_enrollments = opts.max_open_enrollments,
        "enrollment limits"
    );
    tracing::info!(audience = %opts.envelopes.audience, "accepting envelopes signed for this audience");
    let token = web::Data::new(AdminToken::new(opts.admin_token.clone()));
    if !token.is_set() {
        tracing::warn!("no operator token configured: operator routes answer 403 admin_disabled");
    }
    let bind = opts.bind.clone();
    let io = |source| ServeError::Io { bind: bind.clone(), source };
    let system = actix_web::rt::System::new();
    let result = system.block_on(async {
        let app_manager = manager.clone();
        let app_token = token.clone();
        let app_limit = limit.clone();
        let within = |secs: u64| Duration::from_secs(secs.clamp(1, MAX_DEADLINE_SECS));
        let deadline = web::Data::new(BodyDeadline(within(opts.body_timeout_secs)));
        let head_deadline = within(opts.head_timeout_secs);
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(connection::hold))
                .app_data(app_manager.clone())
                .app_data(app_token.clone())
                .app_data(app_limit.clone())
                .app_data(deadline.clone())
                .configure(configure)
        })
        .client_request_timeout(head_deadline)
        .on_connect(move |io, data| connection::watch(io, data, head_deadline))
        .keep_alive(connection::KEEP_ALIVE_IDLE)
        .client_disconnect_timeout(connection::LINGER)
        .shutdown_timeout(30)
        .bind(&opts.bind)
        .map_err(io)?;
        if opts.workers > 0 {
            server = server.workers(opts.workers);
        }
        let addrs: Vec<String> = server.addrs().iter().map(ToString::to_string).collect();
        tracing::info!(engine = BACKEND_NAME, addrs = ?addrs, "listening");
        let sweeper = actix_web::rt::spawn(sweep_loop(
            manager.clone(),
            opts.sweep_interval_secs.clamp(1, MAX_SWEEP_INTERVAL_SECS),
        ));
        let forgetter = actix_web::rt::spawn(forget_idle_clients(limit));
        let r = server.run().await.map_err(io);
        sweeper.abort();
        forgetter.abort();
        r
    });
    tracing::info!("server stopped; flushing the store");
    manager.flush()?;
    tracing::info!("store flushed; bye");
    result
}

/// A periodic sweep: the manager call (which returns how many records it
/// changed), the logger of a count above zero, and the sweep's name in error
/// lines.
type Sweep = (fn(&CommonsManager) -> CommonsResult<usize>, fn(usize), &'static str);

/// The periodic sweeps, in the order they run.
const SWEEPS: [Sweep; 4] = [
    (
        CommonsManager::sweep_expired_enrollments,
        |n| tracing::info!(deleted = n, "swept expired enrollment sessions"),
        "enrollment sweep",
    ),
    (
        CommonsManager::close_due_amendments,
        |n| tracing::info!(closed = n, "closed amendments whose voting time is over"),
        "amendment close sweep",
    ),
    (
        CommonsManager::finalize_due_revocations,
        |n| tracing::info!(finalized = n, "finalized revocations past their appeal deadline"),
        "revocation finalize sweep",
    ),
    (
        CommonsManager::sweep_spent_nonces,
        |n| tracing::info!(deleted = n, "swept spent envelope nonces past their keeping time"),
        "spent nonce sweep",
    ),
];

/// Every minute, drops the rate-limit state of clients back to a full
/// quota, so its memory follows recent clients only.
async fn forget_idle_clients(limit: web::Data<EnrollmentRateLimit>) {
    let mut tick = actix_web::rt::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let tracked = limit.forget_idle();
        tracing::debug!(tracked, "enrollment rate limit: idle clients forgotten");
    }
}

async fn sweep_loop(manager: web::Data<CommonsManager>, every_secs: u64) {
    let mut tick = actix_web::rt::time::interval(Duration::from_secs(every_secs));
    loop {
        tick.tick().await;
        for (sweep, log_count, name) in SWEEPS {
            let m = manager.clone();
            match web::block(move || sweep(&m)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => log_count(n),
                Ok(Err(e)) => tracing::error!(error = %e, "{name} failed"),
                Err(e) => tracing::error!(error = %e, "{name} did not run"),
            }
        }
    }
}
