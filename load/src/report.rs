//! The run's results: every scenario outcome and floor, the ratio table
//! against the targets of the load work (issue 11), printed as plain-text
//! tables and written as JSON.

use serde_json::{json, Value};

use crate::stats::{ratio_row, scenario_rows, table, Outcome, Ratio, Target, RATIO_HEADER, SCENARIO_HEADER};

/// Everything one run measured.
pub struct Report {
    /// `fjall`, `sled` or `postgres`.
    pub engine: String,
    /// The main server's durability.
    pub durability: String,
    /// Seconds per scenario and client count.
    pub seconds: u64,
    /// The client counts, as given.
    pub clients: Vec<usize>,
    /// The gateway scenarios, in the order they ran.
    pub scenarios: Vec<Outcome>,
    /// The fsync floor and the SQLite peer.
    pub floors: Vec<Outcome>,
    /// Bytes of the four rows of one member (what an fsync writes).
    pub member_bytes: usize,
}

/// The client count of `counts` nearest to `want` (the smaller on a tie);
/// `want` itself when `counts` is empty.
pub fn nearest(counts: &[usize], want: usize) -> usize {
    counts.iter().copied().min_by_key(|c| (c.abs_diff(want), *c)).unwrap_or(want)
}

impl Report {
    /// The outcome of scenario or floor `name` at `clients`.
    pub fn find(&self, name: &str, clients: usize) -> Option<&Outcome> {
        self.scenarios.iter().chain(&self.floors).find(|o| o.name == name && o.clients == clients)
    }

    fn throughput(&self, name: &str, clients: usize) -> Option<f64> {
        self.find(name, clients).map(Outcome::throughput)
    }

    fn p50(&self, name: &str, clients: usize) -> Option<f64> {
        self.find(name, clients).map(|o| o.percentile(0.5) as f64)
    }

    /// One ratio per target: durable/buffered anchors and durable
    /// anchors/SQLite at 16 clients, the one-client median against the fsync
    /// median, cache-hit reads against health at every client count, and the
    /// enrollment's p99 at 16 clients (the count nearest to 16, or to 1,
    /// when those were not run).
    pub fn ratios(&self) -> Vec<Ratio> {
        let c16 = nearest(&self.clients, 16);
        let c1 = nearest(&self.clients, 1);
        let mut ratios = vec![
            Ratio::of(
                format!("durable POST /v1/anchors / buffered, {c16} clients"),
                self.throughput("anchors-sync", c16),
                self.throughput("anchors-buffered", c16),
                Target::AtLeast(0.8),
            ),
            Ratio::of(
                format!("durable POST /v1/anchors, {c16} clients / SQLite WAL synchronous=FULL, {c16} threads"),
                self.throughput("anchors-sync", c16),
                self.throughput("sqlite", c16),
                Target::AtLeast(2.5),
            ),
            Ratio::of(
                format!("durable POST /v1/anchors median, {c1} client / fsync median"),
                self.p50("anchors-sync", c1),
                self.p50("fsync", c1),
                Target::AtMost(2.0),
            ),
        ];
        for &c in &self.clients {
            ratios.push(Ratio::of(
                format!("GET /v1/anchors/{{id}} cache hit / GET /v1/health, {c} clients"),
                self.throughput("read-id-hit", c),
                self.throughput("health", c),
                Target::AtLeast(0.6),
            ));
        }
        let enrollment = self.find("enrollment", c16);
        ratios.push(Ratio {
            what: format!(
                "enrollment p99, {c16} clients ({} enrollments/s)",
                enrollment.map_or_else(|| "n/a".to_string(), |o| format!("{:.0}", o.throughput()))
            ),
            value: enrollment.filter(|o| o.ops > 0).map(|o| o.percentile(0.99) as f64 / 1000.0),
            unit: " ms",
            target: Target::Below(20.0),
        });
        ratios
    }

    /// Failed requests in all scenarios and floors.
    pub fn error_count(&self) -> u64 {
        self.scenarios.iter().chain(&self.floors).map(Outcome::error_count).sum()
    }

    /// The tables as printed: scenarios, floors, the first answer of each
    /// failed status, and the ratio table.
    pub fn text(&self) -> String {
        let rows = |outcomes: &[Outcome]| outcomes.iter().flat_map(scenario_rows).collect::<Vec<_>>();
        let mut out = format!(
            "\nscenarios ({} engine, main server --durability {}, {} s each; latencies in microseconds)\n",
            self.engine, self.durability, self.seconds
        );
        out.push_str(&table(SCENARIO_HEADER, &rows(&self.scenarios)));
        out.push_str(&format!(
            "\nfloors and peer (fsync: {} bytes per write, one member's rows; sqlite: 4 rows per transaction)\n",
            self.member_bytes
        ));
        out.push_str(&table(SCENARIO_HEADER, &rows(&self.floors)));
        let failed: Vec<&Outcome> = self.scenarios.iter().chain(&self.floors).filter(|o| o.error_count() > 0).collect();
        if !failed.is_empty() {
            out.push_str("\nfirst failed answer of each status (0: no answer)\n");
            for outcome in failed {
                for (status, sample) in &outcome.samples {
                    out.push_str(&format!("  {} {} clients, {status}: {sample}\n", outcome.name, outcome.clients));
                }
            }
        }
        out.push_str("\nratios (targets of the load work)\n");
        out.push_str(&table(RATIO_HEADER, &self.ratios().iter().map(ratio_row).collect::<Vec<_>>()));
        out
    }

    /// The report as JSON: engine, durability, seconds, clients,
    /// member_bytes, scenarios and floors (see [`Outcome::to_json`]) and
    /// ratios (see [`Ratio::to_json`]).
    pub fn to_json(&self) -> Value {
        json!({
            "engine": self.engine,
            "durability": self.durability,
            "seconds": self.seconds,
            "clients": self.clients,
            "member_bytes": self.member_bytes,
            "scenarios": self.scenarios.iter().map(Outcome::to_json).collect::<Vec<_>>(),
            "floors": self.floors.iter().map(Outcome::to_json).collect::<Vec<_>>(),
            "ratios": self.ratios().iter().map(Ratio::to_json).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use anyhow::Result;

    use super::*;
    use crate::stats::Recorder;

    /// An outcome of `ops` operations of `latency_us` each over one second.
    fn outcome(name: &str, clients: usize, ops: u64, latency_us: u64) -> Result<Outcome> {
        let mut recorder = Recorder::new()?;
        for _ in 0..ops {
            recorder.ok(Duration::from_micros(latency_us));
        }
        Outcome::merge(name, clients, Duration::from_secs(1), vec![recorder])
    }

    fn report() -> Result<Report> {
        Ok(Report {
            engine: "fjall".into(),
            durability: "sync".into(),
            seconds: 1,
            clients: vec![1, 16],
            scenarios: vec![
                outcome("health", 1, 1000, 100)?,
                outcome("health", 16, 4000, 400)?,
                outcome("anchors-sync", 1, 250, 360)?,
                outcome("anchors-sync", 16, 700, 2000)?,
                outcome("anchors-buffered", 16, 1400, 1000)?,
                outcome("read-id-hit", 1, 700, 140)?,
                outcome("read-id-hit", 16, 2000, 800)?,
                outcome("enrollment", 16, 100, 15_000)?,
            ],
            floors: vec![outcome("fsync", 1, 500, 120)?, outcome("sqlite", 16, 200, 5000)?],
            member_bytes: 900,
        })
    }

    #[test]
    fn each_target_gets_its_ratio_and_verdict() -> Result<()> {
        let rows: Vec<Vec<String>> = report()?.ratios().iter().map(ratio_row).collect();
        let want: Vec<Vec<&str>> = vec![
            vec!["durable POST /v1/anchors / buffered, 16 clients", "0.50x", ">= 0.8x", "NOT MET"],
            vec![
                "durable POST /v1/anchors, 16 clients / SQLite WAL synchronous=FULL, 16 threads",
                "3.50x",
                ">= 2.5x",
                "met",
            ],
            vec!["durable POST /v1/anchors median, 1 client / fsync median", "3.00x", "<= 2x", "NOT MET"],
            vec!["GET /v1/anchors/{id} cache hit / GET /v1/health, 1 clients", "0.70x", ">= 0.6x", "met"],
            vec!["GET /v1/anchors/{id} cache hit / GET /v1/health, 16 clients", "0.50x", ">= 0.6x", "NOT MET"],
            vec!["enrollment p99, 16 clients (100 enrollments/s)", "15.0 ms", "< 20 ms", "met"],
        ];
        assert_eq!(rows, want);
        Ok(())
    }

    #[test]
    fn a_missing_side_is_not_measured_and_counts_are_matched_to_the_nearest() -> Result<()> {
        let mut report = report()?;
        report.floors.clear();
        report.clients = vec![4, 64];
        assert_eq!(nearest(&report.clients, 16), 4);
        assert_eq!(nearest(&[8, 24], 16), 8);
        assert_eq!(nearest(&[], 16), 16);
        let verdicts: Vec<Option<bool>> = report.ratios().iter().map(Ratio::met).collect();
        assert_eq!(verdicts, [None, None, None, None, None, None]);
        Ok(())
    }

    #[test]
    fn errors_show_in_the_text_and_the_json() -> Result<()> {
        let mut report = report()?;
        let mut recorder = Recorder::new()?;
        recorder.error(503, "{\"error\":\"unavailable\"}");
        report.scenarios.push(Outcome::merge("votes", 16, Duration::from_secs(1), vec![recorder])?);
        assert_eq!(report.error_count(), 1);
        let text = report.text();
        assert!(text.contains("votes 16 clients, 503: {\"error\":\"unavailable\"}"), "{text}");
        let json = report.to_json();
        assert_eq!(json["scenarios"][8]["errors"]["503"], 1);
        assert_eq!(json["ratios"][0]["met"], false);
        Ok(())
    }
}
