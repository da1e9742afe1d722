//! The `commons-gateway` binary: `serve` the HTTP gateway, `info` about the
//! build. Exit codes: 0 success, 1 runtime failure (store locked, corrupt,
//! address in use), 2 a configuration this build cannot serve (bad flags, a
//! data dir given to an in-memory build).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use commons_gateway::backend::{Durability, OpenBackend, BACKEND_NAME};
use commons_gateway::gateway::server::{serve, ServeOptions};
use commons_gateway::CommonsBackend;

#[derive(Parser)]
#[command(name = "commons-gateway", version, about = "Persistent store and HTTP gateway of a cooperative network's commons")]
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

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP gateway until SIGTERM/SIGINT.
    Serve {
        /// Directory holding the store (`commons.<engine>` inside it). Without
        /// it a temporary store is used and nothing survives a restart.
        #[arg(long)]
        data_dir: Option<PathBuf>,
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
        /// Seconds between sweeps of expired enrollment sessions.
        #[arg(long, default_value_t = 60)]
        sweep_interval_secs: u64,
        /// HTTP worker threads (0: one per core).
        #[arg(long, default_value_t = 0)]
        workers: usize,
    },
    /// Print version, engine and persistence of this build.
    Info,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into())).with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    match cli.command {
        Command::Info => {
            println!("commons-gateway {}", env!("CARGO_PKG_VERSION"));
            println!("engine: {BACKEND_NAME}");
            println!("persistent: {}", <CommonsBackend as OpenBackend>::PERSISTENT);
            ExitCode::SUCCESS
        }
        Command::Serve { data_dir, bind, durability, admin_token_file, sweep_interval_secs, workers } => {
            let admin_token = match read_token(admin_token_file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    return ExitCode::from(2);
                }
            };
            let durability = match durability {
                DurabilityArg::Sync => Durability::Sync,
                DurabilityArg::Buffered => Durability::Buffered,
            };
            let opts = ServeOptions { data_dir, bind, durability, admin_token, sweep_interval_secs, workers };
            match serve(opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("error: {e}");
                    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
                }
            }
        }
    }
}

fn read_token(file: Option<PathBuf>) -> anyhow::Result<Option<String>> {
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read --admin-token-file {}", path.display()))?;
            let token = text.trim().to_string();
            anyhow::ensure!(!token.is_empty(), "--admin-token-file {} is empty", path.display());
            Ok(Some(token))
        }
        None => Ok(std::env::var("COMMONS_ADMIN_TOKEN").ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty())),
    }
}
