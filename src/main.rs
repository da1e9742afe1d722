//! The `commons-gateway` binary: `serve` the HTTP gateway, `info` about the
//! build, `export` / `import` a store as JSON Lines, `verify` a store,
//! `keygen` / `sign` keys and signed envelopes for clients such as curl.
//! Exit codes: 0 success, 1 runtime failure (store locked, corrupt, address
//! in use, database unreachable, bad input to `sign`), 2 a configuration
//! this build cannot serve (bad flags, a data dir given to an in-memory or a
//! postgres build, a database URL given to a folder engine).
//!
//! Where the store is: `--data-dir DIR` for the folder engines (sled,
//! fjall); `--database-url URL` (or the environment variable
//! `COMMONS_DATABASE_URL`, read only by a postgres build) for PostgreSQL.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use commons_gateway::backend::{store_folder, Durability, OpenBackend, BACKEND_NAME};
use commons_gateway::gateway::{
    check_location, open_manager, serve, ServeError, ServeOptions, DEFAULT_ENROLLMENT_BURST,
    DEFAULT_ENROLLMENT_RATE_PER_MINUTE,
};
use commons_gateway::ExportFile;
use commons_gateway::{CommonsBackend, CommonsManager, EnvelopeHeader, EnvelopePolicy, DEFAULT_MAX_OPEN_ENROLLMENTS};

#[derive(Parser)]
#[command(
    name = "commons-gateway",
    version,
    about = "Persistent store and HTTP gateway of a cooperative network's commons"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum DurabilityArg {
    /// fsync before answering (survives kill -9 and power loss).
    Sync,
    /// flush on shutdown (a crash may lose the last moments).
    Buffered,
}

/// The flags of `serve`.
#[derive(clap::Args)]
struct ServeArgs {
    /// Directory holding the store (`commons.<engine>` inside it). Without
    /// it a temporary store is used and nothing survives a restart.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// PostgreSQL database of a postgres build, e.g.
    /// postgres://commons@db.example/commons (else COMMONS_DATABASE_URL).
    /// Prefer the variable: a flag is visible to other local users in `ps`.
    #[arg(long)]
    database_url: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: String,
    /// When a write is durable.
    #[arg(long, value_enum, default_value = "sync")]
    durability: DurabilityArg,
    /// File holding the operator token (else COMMONS_ADMIN_TOKEN; with
    /// neither, operator routes answer 403).
    #[arg(long)]
    admin_token_file: Option<PathBuf>,
    /// Seconds between sweeps: expired enrollment sessions deleted, votes whose time is over closed,
    /// revocations past their appeal deadline finalized, spent envelope nonces past their keeping time
    /// deleted. 1..=86400.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=commons_gateway::gateway::MAX_SWEEP_INTERVAL_SECS))]
    sweep_interval_secs: u64,
    /// HTTP worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Enrollment starts (POST /v1/enrollments) one client address may make per minute once its
    /// burst is spent; past it 429 rate_limited with Retry-After. Counted per process.
    #[arg(long, default_value_t = DEFAULT_ENROLLMENT_RATE_PER_MINUTE)]
    enrollment_rate_per_minute: NonZeroU32,
    /// Enrollment starts one client address may make at once.
    #[arg(long, default_value_t = DEFAULT_ENROLLMENT_BURST)]
    enrollment_burst: NonZeroU32,
    /// A proxy (IP address) whose X-Forwarded-For names the client: the right-most entry that
    /// is not itself a trusted proxy. Repeat for several. Without it, the client is the TCP peer.
    #[arg(long = "trusted-proxy", value_name = "ADDR")]
    trusted_proxies: Vec<IpAddr>,
    /// Enrollment sessions open at once in the whole store (every gateway on it); past it
    /// POST /v1/enrollments answers 429 too_many_enrollments until sessions complete or expire.
    #[arg(long, default_value_t = DEFAULT_MAX_OPEN_ENROLLMENTS)]
    max_open_enrollments: usize,
    #[command(flatten)]
    envelopes: EnvelopeArgs,
    /// Seconds (1..=3600) a new connection has to send its first request head, and a kept-alive
    /// one its next head after an answer; past it the connection is closed (the first with a 408).
    #[arg(long, default_value_t = commons_gateway::gateway::DEFAULT_HEAD_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=commons_gateway::gateway::MAX_DEADLINE_SECS))]
    head_timeout_secs: u64,
    /// Seconds (1..=3600) a request body has to arrive after its head; past it the answer is 408
    /// request_timeout and the connection is closed.
    #[arg(long, default_value_t = commons_gateway::gateway::DEFAULT_BODY_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=commons_gateway::gateway::MAX_DEADLINE_SECS))]
    body_timeout_secs: u64,
}

impl ServeArgs {
    /// The server's options, with the operator token read and the envelope
    /// policy checked.
    ///
    /// # Errors
    /// An unreadable or empty token file, a bad `--audience` (the caller exits 2).
    fn options(self) -> anyhow::Result<ServeOptions> {
        Ok(ServeOptions {
            admin_token: read_token(self.admin_token_file)?,
            envelopes: self.envelopes.policy()?,
            data_dir: self.data_dir,
            database_url: with_env_url(self.database_url),
            must_exist: false,
            bind: self.bind,
            durability: match self.durability {
                DurabilityArg::Sync => Durability::Sync,
                DurabilityArg::Buffered => Durability::Buffered,
            },
            sweep_interval_secs: self.sweep_interval_secs,
            workers: self.workers,
            enrollment_rate_per_minute: self.enrollment_rate_per_minute,
            enrollment_burst: self.enrollment_burst,
            trusted_proxies: self.trusted_proxies,
            max_open_enrollments: self.max_open_enrollments,
            head_timeout_secs: self.head_timeout_secs,
            body_timeout_secs: self.body_timeout_secs,
        })
    }
}

/// What signed envelopes `serve` accepts (docs/DOMAIN.md, "Signed actions").
#[derive(clap::Args)]
struct EnvelopeArgs {
    /// The network's name: envelopes must be signed for it (shown by
    /// /v1/health); 1..=64 characters of a-z 0-9 . _ : -
    #[arg(long, default_value = commons_gateway::DEFAULT_AUDIENCE)]
    audience: String,
    /// Seconds an envelope's `created` may be ahead of this server's clock,
    /// and its `expires` behind it (at most 600; gateways sharing one
    /// database should use the same value).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=600))]
    max_clock_skew_secs: u64,
    /// Longest `expires - created` accepted, in seconds.
    #[arg(long, default_value_t = 600)]
    max_envelope_lifetime_secs: u64,
}

impl EnvelopeArgs {
    fn policy(self) -> anyhow::Result<EnvelopePolicy> {
        EnvelopePolicy::check_audience(&self.audience).map_err(|e| anyhow::anyhow!("--audience: {e}"))?;
        Ok(EnvelopePolicy {
            audience: self.audience,
            max_clock_skew_secs: self.max_clock_skew_secs,
            max_lifetime_secs: self.max_envelope_lifetime_secs,
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP gateway until SIGTERM/SIGINT.
    Serve(ServeArgs),
    /// Print version, engine and persistence of this build.
    Info,
    /// Write every row of the store in DIR (or the database) to FILE (JSON
    /// Lines), e.g. to move data to a build with another engine. The server
    /// must be stopped (for PostgreSQL: every gateway, or the copy may mix
    /// moments); FILE must not exist yet.
    Export {
        /// Directory holding the store (folder engines).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Database of a postgres build (else COMMONS_DATABASE_URL).
        #[arg(long)]
        database_url: Option<String>,
        /// File to write (`-` for standard output).
        #[arg(long)]
        out: PathBuf,
    },
    /// Read the whole store in DIR and report, by key, records that fail to
    /// decode, index rows that point to nothing, records missing their index
    /// rows and revocations whose target does not match. Exit 0 when clean, 1
    /// with a report otherwise. Read-only; the server must be stopped (a
    /// PostgreSQL store may be verified while gateways serve it; a change
    /// made during the walk can show as a problem that a second run clears).
    Verify {
        /// Directory holding the store (folder engines).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Database of a postgres build (else COMMONS_DATABASE_URL).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Make a new Ed25519 key for signing envelopes: write its 32-byte secret
    /// as 64 hex characters to FILE (created with mode 0600; an existing file
    /// is never overwritten) and print its DID.
    Keygen {
        /// File to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a signed envelope (version 2: `{actor, payload, created,
    /// expires, nonce, signature}`, JSON) for ACTION on TARGET with PAYLOAD,
    /// signed with the key in FILE for the network AUDIENCE, made now with a
    /// fresh random nonce, ready to send once with `curl -d`.
    Sign {
        /// File written by `keygen` (64 hex characters).
        #[arg(long)]
        key_file: PathBuf,
        /// The action, e.g. `affiliation-apply` (docs/DOMAIN.md, "Signed actions").
        #[arg(long)]
        action: String,
        /// The id in the route; `-` for a creation.
        #[arg(long, default_value = "-")]
        target: String,
        /// The action's fields as JSON text; signed byte for byte.
        #[arg(long)]
        payload: String,
        /// The network the envelope is for (the gateway's --audience; its
        /// /v1/health shows it).
        #[arg(long, default_value = commons_gateway::DEFAULT_AUDIENCE)]
        audience: String,
        /// Seconds the envelope stays valid (gateways accept at most 600 by default).
        #[arg(long, default_value_t = 300)]
        lifetime_secs: u64,
    },
    /// Load a file written by `export` into a fresh store in DIR (or an
    /// empty database).
    Import {
        /// Directory for the new store (its store must be empty or absent).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Database of a postgres build (else COMMONS_DATABASE_URL); it must
        /// hold no commons yet.
        #[arg(long)]
        database_url: Option<String>,
        /// File to read (`-` for standard input).
        #[arg(long = "in")]
        input: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs at info; the one-shot commands only warnings and
    // errors, so their own output is not buried in the engine's start-up
    // lines. `RUST_LOG` overrides both.
    let default_filter = if matches!(cli.command, Command::Serve(_)) { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: log files and journals get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli.command {
        Command::Info => {
            println!("commons-gateway {}", env!("CARGO_PKG_VERSION"));
            println!("engine: {BACKEND_NAME}");
            println!("persistent: {}", <CommonsBackend as OpenBackend>::PERSISTENT);
            ExitCode::SUCCESS
        }
        Command::Keygen { out } => report(keygen(&out)),
        Command::Sign { key_file, action, target, payload, audience, lifetime_secs } => {
            report(sign(&key_file, &action, &target, &payload, &audience, lifetime_secs))
        }
        Command::Export { data_dir, database_url, out } => {
            report(Location::new(data_dir, database_url).and_then(|at| export(&at, &out)))
        }
        Command::Import { data_dir, database_url, input } => {
            report(Location::new(data_dir, database_url).and_then(|at| import(&at, &input)))
        }
        Command::Verify { data_dir, database_url } => {
            match Location::new(data_dir, database_url).and_then(|at| verify(&at)) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(e) => report(Err(e)),
            }
        }
        Command::Serve(args) => {
            let opts = match args.options() {
                Ok(opts) => opts,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    return ExitCode::from(2);
                }
            };
            match serve(opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
                }
            }
        }
    }
}

/// Prints an error and picks the exit code: 2 for a build that cannot open
/// a data dir, 1 otherwise.
fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            let code = match e.downcast_ref::<ServeError>() {
                Some(s) => s.exit_code(),
                None => 1,
            };
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}

/// The URL given, else (in a postgres build only) `COMMONS_DATABASE_URL`.
fn with_env_url(flag: Option<String>) -> Option<String> {
    flag.or_else(|| {
        <CommonsBackend as OpenBackend>::NETWORKED
            .then(|| std::env::var("COMMONS_DATABASE_URL").ok().filter(|u| !u.is_empty()))
            .flatten()
    })
}

/// Where `export`, `import` and `verify` find the store: exactly one of a
/// data directory (folder engines) or a database URL (postgres builds).
struct Location {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
}

impl Location {
    fn new(data_dir: Option<PathBuf>, database_url: Option<String>) -> anyhow::Result<Self> {
        let database_url = with_env_url(database_url);
        if data_dir.is_none() && database_url.is_none() {
            let what = if <CommonsBackend as OpenBackend>::NETWORKED {
                "--database-url (or COMMONS_DATABASE_URL)"
            } else {
                "--data-dir"
            };
            return Err(ServeError::WrongLocation { message: format!("say where the store is: pass {what}") }.into());
        }
        // A place this build cannot use is a usage error (exit 2), found
        // before any file is read.
        check_location(data_dir.as_deref(), database_url.as_deref())?;
        Ok(Self { data_dir, database_url })
    }

    /// The store's place, as messages show it (never with a password).
    fn shown(&self) -> String {
        match (&self.data_dir, &self.database_url) {
            (Some(dir), _) => dir.display().to_string(),
            (None, Some(url)) => {
                <CommonsBackend as OpenBackend>::describe_url(url).unwrap_or_else(|_| "the database URL given".into())
            }
            (None, None) => String::new(),
        }
    }
}

fn open_store(at: &Location, must_exist: bool) -> anyhow::Result<CommonsManager> {
    let opts = ServeOptions {
        data_dir: at.data_dir.clone(),
        database_url: at.database_url.clone(),
        must_exist,
        ..ServeOptions::default()
    };
    Ok(open_manager(&opts)?)
}

/// Opens the store that must already be at `at` (for `export` and
/// `verify`): a mistyped directory is an error, never a new empty store.
/// A store in a folder is checked and a throw-away copy of it is opened
/// (see `OpenBackend::open_copy`), so its own files are only read.
fn open_existing_store(at: &Location) -> anyhow::Result<CommonsManager> {
    // Only a folder engine looks for its folder: the in-memory build and a
    // postgres build refuse any data dir in `open_manager` (exit 2).
    let folder_engine = <CommonsBackend as OpenBackend>::PERSISTENT && !<CommonsBackend as OpenBackend>::NETWORKED;
    if let (Some(data_dir), true) = (&at.data_dir, folder_engine) {
        let folder = store_folder::<CommonsBackend>(data_dir)?;
        // An empty folder is no store either: opening it would create one.
        let has_files = std::fs::read_dir(&folder).is_ok_and(|mut entries| entries.next().is_some());
        anyhow::ensure!(
            has_files,
            "no {BACKEND_NAME} store at {} (nothing was created); check --data-dir",
            folder.display()
        );
        let config = commons_gateway::StoreConfig { durability: Durability::Buffered, ..Default::default() };
        return Ok(CommonsManager::open_copy(data_dir, &config)?);
    }
    open_store(at, true)
}

fn export(at: &Location, out: &std::path::Path) -> anyhow::Result<()> {
    let manager = open_existing_store(at)?;
    let rows = if out == std::path::Path::new("-") {
        manager.store().export_to(BACKEND_NAME, std::io::stdout().lock())?
    } else {
        // Never over an existing file: it may be the previous backup.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(out)
            .with_context(|| format!("cannot create {} (an existing file is never overwritten)", out.display()))?;
        let mut writer = std::io::BufWriter::new(file);
        let rows = manager.store().export_to(BACKEND_NAME, &mut writer)?;
        writer.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        rows
    };
    eprintln!("exported {rows} rows (schema row included) from {} ({BACKEND_NAME})", at.shown());
    Ok(())
}

fn import(at: &Location, input: &std::path::Path) -> anyhow::Result<()> {
    // Read and check the whole file before the store is opened (or created).
    let file = if input == std::path::Path::new("-") {
        ExportFile::read(std::io::stdin().lock())?
    } else {
        let file = std::fs::File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
        ExportFile::read(std::io::BufReader::new(file))?
    };
    let manager = open_store(at, false)?;
    let rows = manager.store().import(file)?;
    eprintln!("imported {rows} rows into {} ({BACKEND_NAME}), plus its own schema row", at.shown());
    Ok(())
}

/// Prints the report; `Ok(true)` when the store is clean.
fn verify(at: &Location) -> anyhow::Result<bool> {
    let manager = open_existing_store(at)?;
    let report = manager.store().verify()?;
    for (namespace, rows) in &report.rows {
        println!("{namespace:<24} {rows:>8} rows");
    }
    for problem in &report.problems {
        println!("PROBLEM {problem}");
    }
    if report.is_clean() {
        println!("verify: clean ({} rows)", report.rows.values().sum::<u64>());
    } else {
        println!("verify: {} problems", report.problems.len());
    }
    Ok(report.is_clean())
}

fn keygen(out: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write;
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
    let key = ed25519_dalek::SigningKey::from_bytes(&secret);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).with_context(|| format!("cannot create key file {}", out.display()))?;
    writeln!(file, "{}", hex::encode(secret))?;
    file.sync_all()?;
    println!("{}", commons_gateway::Did::from_verifying_key(&key.verifying_key()));
    Ok(())
}

fn sign(
    key_file: &std::path::Path,
    action: &str,
    target: &str,
    payload: &str,
    audience: &str,
    lifetime_secs: u64,
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(key_file).with_context(|| format!("cannot read key file {}", key_file.display()))?;
    let secret: [u8; 32] =
        hex::decode(text.trim()).ok().and_then(|bytes| bytes.try_into().ok()).with_context(|| {
            format!("key file {} does not hold 64 hex characters (write one with keygen)", key_file.display())
        })?;
    for (name, value) in [("action", action), ("target", target)] {
        anyhow::ensure!(
            !value.is_empty() && !value.contains('|') && !value.chars().any(char::is_whitespace),
            "--{name} must be non-empty, without '|' or spaces"
        );
    }
    serde_json::from_str::<serde_json::Value>(payload).context("--payload is not JSON")?;
    EnvelopePolicy::check_audience(audience).map_err(|e| anyhow::anyhow!("--audience: {e}"))?;
    anyhow::ensure!(lifetime_secs > 0, "--lifetime-secs must be at least 1");
    let longest = EnvelopePolicy::default().max_lifetime_secs;
    if lifetime_secs > longest {
        eprintln!(
            "warning: --lifetime-secs {lifetime_secs} is over the {longest} s a gateway accepts unless it was \
             started with a larger --max-envelope-lifetime-secs"
        );
    }
    let key = ed25519_dalek::SigningKey::from_bytes(&secret);
    let now = commons_gateway::Clock::System.now();
    let header = EnvelopeHeader::new(audience, now, lifetime_secs);
    let envelope = commons_gateway::SignedEnvelope::sign(&key, &header, action, target, payload);
    println!("{}", serde_json::to_string(&envelope)?);
    Ok(())
}

fn read_token(file: Option<PathBuf>) -> anyhow::Result<Option<String>> {
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read --admin-token-file {}", path.display()))?;
            let token = text.trim().to_string();
            anyhow::ensure!(!token.is_empty(), "--admin-token-file {} is empty", path.display());
            Ok(Some(token))
        }
        None => Ok(std::env::var("COMMONS_ADMIN_TOKEN").ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty())),
    }
}
