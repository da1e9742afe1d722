//! The scale points: the same figures at 1,000 members and at `--members N`
//! (default 1,000,000), each on a fresh store loaded with `POST
//! /v1/anchors` from many clients by a server in `--durability buffered`:
//!
//! - members loaded per second;
//! - the store's size on disk (bytes of every file under the data
//!   directory, after a clean stop; not measured on PostgreSQL);
//! - restart time to the first answer: from the spawn of the server to the
//!   first 200 of `GET /v1/anchors/{id}` of a random member (after
//!   `/v1/health` answered 200), once after SIGTERM and once after SIGKILL;
//! - random reads: [`RANDOM_READS`] `GET /v1/anchors/{id}` of random
//!   members by [`READ_CLIENTS`] clients, right after the SIGKILL restart:
//!   their throughput and latency, then the server's RSS (`VmRSS` of
//!   `/proc/PID/status`).
//!
//! On PostgreSQL both points use the one database, so the large point's
//! table also holds the small point's members.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::args::Options;
use crate::drive::{self, Flow};
use crate::http::{expected, Http};
use crate::members::anchor_id;
use crate::scenarios::{load_members, Target};
use crate::server::{print_log_tail, Server, Stage, StoreAt, LOG};
use crate::stats::{grouped, table, timed, Outcome};

/// Random reads before the RSS is read.
pub const RANDOM_READS: usize = 20_000;
/// Clients of the random reads.
pub const READ_CLIENTS: usize = 16;
/// Clients that load the members.
pub const LOAD_CLIENTS: usize = 32;
/// The small point.
pub const SMALL: usize = 1000;
/// Longest wait for the first record after a restart.
const FIRST_RECORD_TIMEOUT: Duration = Duration::from_secs(120);

/// The figures of one scale point.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Members loaded.
    pub members: usize,
    /// Members loaded per second (buffered, [`LOAD_CLIENTS`] clients).
    pub load_per_s: f64,
    /// Bytes of the store on disk (`None` on PostgreSQL).
    pub store_bytes: Option<u64>,
    /// Spawn to first record read, after SIGTERM.
    pub restart_after_term: Duration,
    /// Spawn to first record read, after SIGKILL.
    pub restart_after_kill: Duration,
    /// Random reads per second.
    pub reads_per_s: f64,
    /// Median latency of the random reads, in µs.
    pub read_p50_us: u64,
    /// 99th percentile latency of the random reads, in µs.
    pub read_p99_us: u64,
    /// The server's resident set after the random reads, in bytes.
    pub rss_bytes: u64,
}

impl Point {
    /// The point as JSON (durations in seconds, sizes in bytes).
    pub fn to_json(&self) -> Value {
        json!({
            "members": self.members,
            "load_per_s": self.load_per_s,
            "store_bytes": self.store_bytes,
            "restart_after_sigterm_s": self.restart_after_term.as_secs_f64(),
            "restart_after_sigkill_s": self.restart_after_kill.as_secs_f64(),
            "random_reads_per_s": self.reads_per_s,
            "random_read_p50_us": self.read_p50_us,
            "random_read_p99_us": self.read_p99_us,
            "rss_bytes": self.rss_bytes,
        })
    }
}

/// Runs both points, prints the table and writes the JSON when asked.
///
/// # Errors
/// A server that does not start or answer, a failed load (with the server
/// log's tail printed), a JSON file that cannot be written.
pub fn run(options: &Options) -> Result<()> {
    let root = tempfile::Builder::new().prefix("commons-load-scale-").tempdir().context("a temporary directory")?;
    let mut points = Vec::new();
    for (i, members) in [SMALL, options.members].into_iter().enumerate() {
        let dir = root.path().join(format!("point-{i}"));
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        println!("[load] scale point: {} members", grouped(members as u64));
        let point = measure(options, &dir, members);
        if point.is_err() {
            print_log_tail(&dir.join(LOG), "load");
        }
        let point = point?;
        println!("[load] {}", serde_json::to_string(&point.to_json()).unwrap_or_default());
        points.push(point);
    }
    print!("{}", text(&points));
    if let Some(path) = &options.json {
        let value = json!({"engine": options.engine, "scale": points.iter().map(Point::to_json).collect::<Vec<_>>()});
        crate::write_json(path, &value)?;
    }
    Ok(())
}

/// One point on a fresh store in `dir`.
fn measure(options: &Options, dir: &Path, members: usize) -> Result<Point> {
    let data_dir = dir.join("data");
    let store = match &options.database_url {
        Some(url) => StoreAt::Database(url.clone()),
        None => StoreAt::DataDir(data_dir.clone()),
    };
    let deadline = Instant::now() + Duration::from_secs(48 * 3600);
    let stage = Stage::prepare(&options.binary, options.engine, store, dir, deadline, "load")?
        .with_serve_args(&["--durability", "buffered"]);
    let server = stage.start()?;
    let target = Target { base: server.base(), token: stage.token() };
    let (loaded, keys) = load_members("scale load", target, members, LOAD_CLIENTS)?;
    let ids: Vec<String> = keys.iter().map(anchor_id).collect();
    drop(keys);
    let status = server.terminate()?;
    ensure!(status.success(), "the server exited with {status} after SIGTERM");
    let store_bytes = match options.database_url {
        Some(_) => None,
        None => Some(size_of(&data_dir)?),
    };
    let server = stage.start()?;
    let restart_after_term = first_record(&server, stage.token(), &ids)?;
    server.kill()?;
    let server = stage.start()?;
    let restart_after_kill = first_record(&server, stage.token(), &ids)?;
    let reads = random_reads(Target { base: server.base(), token: stage.token() }, &ids)?;
    ensure!(
        reads.errors.is_empty(),
        "random reads failed (by status: {}; first answers: {:?})",
        crate::stats::errors_text(&reads.errors),
        reads.samples
    );
    let rss_bytes = rss(server.pid())?;
    let status = server.terminate()?;
    ensure!(status.success(), "the server exited with {status} after SIGTERM");
    Ok(Point {
        members,
        load_per_s: loaded.throughput(),
        store_bytes,
        restart_after_term,
        restart_after_kill,
        reads_per_s: reads.throughput(),
        read_p50_us: reads.percentile(0.5),
        read_p99_us: reads.percentile(0.99),
        rss_bytes,
    })
}

/// From the server's spawn to the first 200 of `GET /v1/anchors/{id}` of a
/// random member.
fn first_record(server: &Server, token: &str, ids: &[String]) -> Result<Duration> {
    let id = ids.get(rand::thread_rng().gen_range(0..ids.len().max(1))).ok_or_else(|| anyhow!("no member loaded"))?;
    let http = Http::new(server.base(), token);
    let give_up = Instant::now() + FIRST_RECORD_TIMEOUT;
    loop {
        let answer = http.get(&format!("/v1/anchors/{id}"));
        if answer.status == 200 {
            return Ok(server.spawned().elapsed());
        }
        if Instant::now() >= give_up {
            bail!(
                "GET /v1/anchors/{id} did not answer 200 within {}s: {} {}",
                FIRST_RECORD_TIMEOUT.as_secs(),
                answer.status,
                answer.body
            );
        }
        sleep(Duration::from_millis(2));
    }
}

/// [`RANDOM_READS`] reads of random members by [`READ_CLIENTS`] clients.
fn random_reads(target: Target<'_>, ids: &[String]) -> Result<Outcome> {
    let next = AtomicUsize::new(0);
    let (outcome, _) = drive::run(
        "random-read",
        READ_CLIENTS,
        Duration::from_secs(3600),
        |_| Ok((Http::new(target.base, target.token), StdRng::from_entropy())),
        |(http, rng), recorder| {
            if next.fetch_add(1, Ordering::Relaxed) >= RANDOM_READS {
                return Flow::Stop;
            }
            let path = format!("/v1/anchors/{}", ids[rng.gen_range(0..ids.len())]);
            let (answer, took) = timed(|| http.get(&path));
            if expected(recorder, &answer, 200) {
                recorder.ok(took);
            }
            Flow::Go
        },
    )?;
    Ok(outcome)
}

/// Bytes of every file under `dir`, recursively.
pub fn size_of(dir: &Path) -> Result<u64> {
    let mut total = 0;
    let mut pending: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
            let metadata = entry.metadata().with_context(|| format!("reading {}", entry.path().display()))?;
            if metadata.is_dir() {
                pending.push(entry.path());
            } else {
                total += metadata.len();
            }
        }
    }
    Ok(total)
}

/// The resident set of process `pid`, in bytes (`VmRSS` of `/proc/PID/status`).
///
/// # Errors
/// No such file (not Linux, or the process is gone) or no `VmRSS` line.
pub fn rss(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    vm_rss(&status).ok_or_else(|| anyhow!("{path} has no VmRSS line"))
}

/// The `VmRSS:   1234 kB` line of a `/proc/PID/status` text, in bytes.
fn vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix("VmRSS:"))?;
    let mut words = line.split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => Some(value * 1024),
        _ => None,
    }
}

/// The scale table: one row per figure, the small point, the large one and
/// their ratio (large / small).
pub fn text(points: &[Point]) -> String {
    let (Some(small), Some(large)) = (points.first(), points.last()) else {
        return String::new();
    };
    let ratio = |a: f64, b: f64| if a > 0.0 { format!("{:.2}x", b / a) } else { "n/a".to_string() };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    let mut rows = vec![
        vec![
            "members loaded per second (buffered)".to_string(),
            grouped(small.load_per_s as u64),
            grouped(large.load_per_s as u64),
            ratio(small.load_per_s, large.load_per_s),
        ],
        match (small.store_bytes, large.store_bytes) {
            (Some(a), Some(b)) => {
                vec!["store size on disk (bytes)".to_string(), grouped(a), grouped(b), ratio(a as f64, b as f64)]
            }
            _ => vec!["store size on disk (bytes)".to_string(), "n/a".into(), "n/a".into(), "n/a".into()],
        },
    ];
    for (what, a, b) in [
        ("restart after SIGTERM to first record (ms)", ms(small.restart_after_term), ms(large.restart_after_term)),
        ("restart after SIGKILL to first record (ms)", ms(small.restart_after_kill), ms(large.restart_after_kill)),
    ] {
        rows.push(vec![what.to_string(), format!("{a:.0}"), format!("{b:.0}"), ratio(a, b)]);
    }
    rows.push(vec![
        format!("RSS after {} random reads (MiB)", grouped(RANDOM_READS as u64)),
        format!("{:.1}", mb(small.rss_bytes)),
        format!("{:.1}", mb(large.rss_bytes)),
        ratio(small.rss_bytes as f64, large.rss_bytes as f64),
    ]);
    rows.push(vec![
        format!("random reads per second ({READ_CLIENTS} clients)"),
        grouped(small.reads_per_s as u64),
        grouped(large.reads_per_s as u64),
        ratio(small.reads_per_s, large.reads_per_s),
    ]);
    rows.push(vec![
        "random read p50 / p99 (us)".to_string(),
        format!("{} / {}", grouped(small.read_p50_us), grouped(small.read_p99_us)),
        format!("{} / {}", grouped(large.read_p50_us), grouped(large.read_p99_us)),
        ratio(small.read_p99_us as f64, large.read_p99_us as f64),
    ]);
    let header = [
        "scale point".to_string(),
        format!("{} members", grouped(small.members as u64)),
        format!("{} members", grouped(large.members as u64)),
        "ratio".to_string(),
    ];
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    format!("\nscale points\n{}", table(&header, &rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_reads_kilobytes_as_bytes() {
        let status = "Name:\tcommons-gateway\nVmPeak:\t  99999 kB\nVmRSS:\t   51200 kB\nThreads:\t5\n";
        assert_eq!(vm_rss(status), Some(51200 * 1024));
        assert_eq!(vm_rss("Name:\tx\n"), None);
        assert_eq!(vm_rss("VmRSS:\t12 MB\n"), None);
    }

    #[test]
    fn size_of_sums_files_in_subdirectories() -> Result<()> {
        let dir = tempfile::tempdir()?;
        fs::write(dir.path().join("a"), [0u8; 10])?;
        fs::create_dir_all(dir.path().join("sub/deeper"))?;
        fs::write(dir.path().join("sub/b"), [0u8; 100])?;
        fs::write(dir.path().join("sub/deeper/c"), [0u8; 1000])?;
        assert_eq!(size_of(dir.path())?, 1110);
        Ok(())
    }

    #[test]
    fn the_table_puts_the_points_side_by_side_with_their_ratio() {
        let point = |members, scale: f64| Point {
            members,
            load_per_s: 20_000.0 / scale,
            store_bytes: Some((1_000_000.0 * scale) as u64),
            restart_after_term: Duration::from_millis((70.0 * scale) as u64),
            restart_after_kill: Duration::from_millis(70),
            reads_per_s: 40_000.0,
            read_p50_us: 300,
            read_p99_us: (900.0 * scale) as u64,
            rss_bytes: 50 * 1024 * 1024,
        };
        let text = text(&[point(1000, 1.0), point(1_000_000, 2.0)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "scale point                                 1,000 members  1,000,000 members  ratio");
        assert!(
            lines.contains(&"members loaded per second (buffered)               20,000             10,000  0.50x"),
            "{text}"
        );
        assert!(
            lines.contains(&"store size on disk (bytes)                      1,000,000          2,000,000  2.00x"),
            "{text}"
        );
        assert!(
            lines.contains(&"restart after SIGTERM to first record (ms)             70                140  2.00x"),
            "{text}"
        );
        assert!(
            lines.contains(&"RSS after 20,000 random reads (MiB)                  50.0               50.0  1.00x"),
            "{text}"
        );
        assert!(
            lines.contains(&"random read p50 / p99 (us)                      300 / 900        300 / 1,800  2.00x"),
            "{text}"
        );
    }
}
