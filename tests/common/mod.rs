//! Helpers shared by the integration tests (include with `mod common;`).
//!
//! - principals: fresh Ed25519 keys, their canonical `did:key` DIDs, and
//!   deliberately non-canonical spellings of them;
//! - signed envelopes built with [`SignedEnvelope::sign`], as JSON values or
//!   text, and a way to spoil a signature;
//! - a free local TCP port;
//! - (feature `gateway`) [`ChildGuard`], a spawned `commons-gateway` process
//!   that is killed when the guard drops, with its stderr kept in a file, and
//!   small blocking HTTP helpers ([`http`]) for talking to it.
//!
//! Each test binary uses a subset, hence the `dead_code` allowance.

#![allow(dead_code)]

use std::net::TcpListener;

use commons_gateway::{Did, SignedEnvelope};
use ed25519_dalek::SigningKey;
use serde_json::Value;

/// A fresh random Ed25519 key pair.
pub fn new_key() -> SigningKey {
    SigningKey::generate(&mut rand::rngs::OsRng)
}

/// The canonical DID of `key`.
pub fn did_of(key: &SigningKey) -> String {
    Did::from_verifying_key(&key.verifying_key()).to_string()
}

/// Non-canonical spellings of the DID of `key`, each with a label: the
/// canonical text upper-cased, the same key in another multibase
/// (`did:key:m` + base64), and the canonical text with a trailing character.
pub fn non_canonical_dids(key: &SigningKey) -> Vec<(&'static str, String)> {
    let did = did_of(key);
    let mut multicodec = vec![0xed, 0x01];
    multicodec.extend_from_slice(key.verifying_key().as_bytes());
    vec![
        ("upper_cased", did.to_uppercase()),
        ("base64_multibase", format!("did:key:m{}", base64_no_pad(&multicodec))),
        ("trailing_char", format!("{did}z")),
    ]
}

/// Standard base64 without padding (multibase `m`).
pub fn base64_no_pad(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A signed envelope of `action` on `target` over `payload`, signed by `key`.
pub fn envelope(key: &SigningKey, action: &str, target: &str, payload: &str) -> SignedEnvelope {
    SignedEnvelope::sign(key, action, target, payload)
}

/// The envelope as the JSON value a client sends.
pub fn envelope_json(env: &SignedEnvelope) -> Value {
    serde_json::json!({ "actor": env.actor, "payload": env.payload, "signature": env.signature })
}

/// `signature` with one hex character changed (still 128 lowercase hex).
pub fn flip_hex_char(signature: &str) -> String {
    let mut chars: Vec<char> = signature.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

/// A local TCP port that was free a moment ago (bind port 0, read, drop).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A random 64-hex id that no record has.
pub fn unknown_hex_id() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// A random UUID v4 that no enrollment has.
pub fn unknown_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(feature = "gateway")]
#[allow(unused_imports)]
pub use process::{bin, run_to_exit, ChildGuard};

#[cfg(feature = "gateway")]
mod process {
    use std::ffi::OsStr;
    use std::fs::File;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, ExitStatus, Stdio};
    use std::time::{Duration, Instant};

    use anyhow::{bail, Context, Result};

    /// Path of the `commons-gateway` binary cargo built for this test run.
    pub fn bin() -> &'static str {
        env!("CARGO_BIN_EXE_commons-gateway")
    }

    /// A spawned `commons-gateway` process; killed (SIGKILL) and reaped on drop.
    /// Its stdout and stderr go to files next to `log_dir`, read with
    /// [`ChildGuard::stderr`].
    pub struct ChildGuard {
        child: Option<Child>,
        stderr_path: PathBuf,
        stdout_path: PathBuf,
    }

    impl ChildGuard {
        /// Spawns the binary with `args`; output files are
        /// `<log_dir>/<name>.stdout` and `<log_dir>/<name>.stderr`.
        pub fn spawn<I, S>(args: I, log_dir: &Path, name: &str) -> Result<Self>
        where
            I: IntoIterator<Item = S>,
            S: AsRef<OsStr>,
        {
            Self::spawn_command(Command::new(bin()), args, log_dir, name)
        }

        /// As [`ChildGuard::spawn`], with the size of every file the process
        /// writes limited to `limit_kib` KiB (`ulimit -f`; SIGXFSZ ignored, so
        /// a write past the limit fails with `EFBIG` as on a full disk). The
        /// process's own log files count too: keep its logging small.
        pub fn spawn_with_file_size_limit<I, S>(args: I, log_dir: &Path, name: &str, limit_kib: u64) -> Result<Self>
        where
            I: IntoIterator<Item = S>,
            S: AsRef<OsStr>,
        {
            let mut sh = Command::new("sh");
            // POSIX `ulimit -f` counts 512-byte blocks.
            let script = format!("ulimit -f {}; trap '' XFSZ; exec \"$0\" \"$@\"", limit_kib * 2);
            sh.arg("-c").arg(script).arg(bin());
            Self::spawn_command(sh, args, log_dir, name)
        }

        fn spawn_command<I, S>(mut command: Command, args: I, log_dir: &Path, name: &str) -> Result<Self>
        where
            I: IntoIterator<Item = S>,
            S: AsRef<OsStr>,
        {
            let stdout_path = log_dir.join(format!("{name}.stdout"));
            let stderr_path = log_dir.join(format!("{name}.stderr"));
            let child = command
                .args(args)
                .env_remove("COMMONS_ADMIN_TOKEN")
                .env("RUST_LOG", "info")
                .stdin(Stdio::null())
                .stdout(File::create(&stdout_path)?)
                .stderr(File::create(&stderr_path)?)
                .spawn()
                .with_context(|| format!("spawning {}", bin()))?;
            Ok(Self { child: Some(child), stderr_path, stdout_path })
        }

        /// The OS process id.
        pub fn pid(&self) -> u32 {
            self.child.as_ref().map_or(0, Child::id)
        }

        /// What the process wrote to stderr so far.
        pub fn stderr(&self) -> String {
            std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
        }

        /// What the process wrote to stdout so far.
        pub fn stdout(&self) -> String {
            std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
        }

        /// The exit status if the process has exited.
        pub fn try_status(&mut self) -> Result<Option<ExitStatus>> {
            match self.child.as_mut() {
                Some(c) => Ok(c.try_wait()?),
                None => bail!("process already reaped"),
            }
        }

        /// Waits (polling every 100 ms) at most `timeout` for the process to
        /// exit and returns its status; an error if it is still running.
        pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
            let deadline = Instant::now() + timeout;
            loop {
                if let Some(status) = self.try_status()? {
                    return Ok(status);
                }
                if Instant::now() >= deadline {
                    bail!("process {} still running after {timeout:?}; stderr:\n{}", self.pid(), self.stderr());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }

        /// Polls `ready` every 100 ms for at most `timeout`. Fails early when
        /// the process exits, quoting its stderr.
        pub fn wait_until(&mut self, timeout: Duration, mut ready: impl FnMut() -> bool) -> Result<()> {
            let deadline = Instant::now() + timeout;
            loop {
                if ready() {
                    return Ok(());
                }
                if let Some(status) = self.try_status()? {
                    bail!("process exited ({status}) before it was ready; stderr:\n{}", self.stderr());
                }
                if Instant::now() >= deadline {
                    bail!("process not ready after {timeout:?}; stderr:\n{}", self.stderr());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }

        /// SIGKILL, then reap. Returns the exit status.
        pub fn kill(&mut self) -> Result<ExitStatus> {
            let mut child = self.child.take().context("process already reaped")?;
            child.kill().context("SIGKILL")?;
            Ok(child.wait()?)
        }
    }

    impl Drop for ChildGuard {
        fn drop(&mut self) {
            if let Some(mut child) = self.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Runs the binary with `args` to completion (at most `timeout`) and
    /// returns its exit status, stdout and stderr.
    pub fn run_to_exit<I, S>(
        args: I,
        log_dir: &Path,
        name: &str,
        timeout: Duration,
    ) -> Result<(ExitStatus, String, String)>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut guard = ChildGuard::spawn(args, log_dir, name)?;
        let status = guard.wait_exit(timeout)?;
        Ok((status, guard.stdout(), guard.stderr()))
    }
}

/// Blocking HTTP helpers over `ureq` (for tests that talk to a spawned server).
pub mod http {
    use std::time::Duration;

    use serde_json::Value;

    /// A status and the body, parsed as JSON when it is JSON (else `Value::Null`).
    #[derive(Debug, Clone)]
    pub struct Reply {
        /// HTTP status.
        pub status: u16,
        /// The body as JSON, or `Null`.
        pub json: Value,
        /// The raw body.
        pub text: String,
    }

    fn agent() -> ureq::Agent {
        ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build()
    }

    fn finish(result: Result<ureq::Response, ureq::Error>) -> Result<Reply, String> {
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(e.to_string()),
        };
        let status = response.status();
        let text = response.into_string().map_err(|e| e.to_string())?;
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply { status, json, text })
    }

    /// `GET url`; `Err` only for transport errors (connection refused, ...).
    pub fn get(url: &str) -> Result<Reply, String> {
        finish(agent().get(url).call())
    }

    /// `method url` with a JSON body and an optional bearer token.
    pub fn send(method: &str, url: &str, token: Option<&str>, body: &Value) -> Result<Reply, String> {
        let mut req = agent().request(method, url);
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        finish(req.send_json(body.clone()))
    }
}
