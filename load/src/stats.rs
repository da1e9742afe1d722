//! What a run measures and how it is shown: a [`Recorder`] per client thread
//! (latencies in an HDR histogram, in microseconds; failed requests counted
//! by HTTP status), merged into one [`Outcome`] per scenario and client
//! count; throughput and percentiles; [`Ratio`]s against their targets; and
//! the plain-text tables the tool prints.
//!
//! **Invariant:** only answers with the expected status are latency samples
//! and operations; every other answer is an error counted under its status
//! (0 when no answer came), so a run with errors shows them beside its
//! figures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// Highest latency a histogram tells apart: 10 minutes, in microseconds
/// (longer ones are recorded as this).
const MAX_MICROS: u64 = 600_000_000;

/// Significant digits of the histograms (0.1 % resolution).
const SIGNIFICANT_DIGITS: u8 = 3;

/// Longest error sample kept per status, in characters.
const SAMPLE_CHARS: usize = 200;

/// An empty latency histogram (1 µs to [`MAX_MICROS`], 3 significant digits).
///
/// # Errors
/// None in practice: the bounds are constants the library accepts.
pub fn histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_MICROS, SIGNIFICANT_DIGITS).map_err(|e| anyhow!("a latency histogram: {e:?}"))
}

/// Runs `work`, timing it: its result and how long it took.
pub fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let result = work();
    (result, start.elapsed())
}

/// `took` in whole microseconds (saturating).
pub fn micros(took: Duration) -> u64 {
    u64::try_from(took.as_micros()).unwrap_or(u64::MAX)
}

/// What one client thread measured.
pub struct Recorder {
    latency: Histogram<u64>,
    steps: BTreeMap<&'static str, Histogram<u64>>,
    errors: BTreeMap<u16, u64>,
    samples: BTreeMap<u16, String>,
    ops: u64,
}

impl Recorder {
    /// An empty recorder.
    ///
    /// # Errors
    /// See [`histogram`].
    pub fn new() -> Result<Self> {
        Ok(Self {
            latency: histogram()?,
            steps: BTreeMap::new(),
            errors: BTreeMap::new(),
            samples: BTreeMap::new(),
            ops: 0,
        })
    }

    /// One operation done as expected, in `took`.
    pub fn ok(&mut self, took: Duration) {
        self.ops += 1;
        self.latency.saturating_record(micros(took));
    }

    /// One step of a composite operation (an enrollment's `start`, ...) done
    /// as expected, in `took`; the operation itself is counted by [`Recorder::ok`].
    ///
    /// # Errors
    /// See [`histogram`] (the step's histogram is made on its first sample).
    pub fn step(&mut self, name: &'static str, took: Duration) -> Result<()> {
        let histogram = match self.steps.entry(name) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => entry.insert(histogram()?),
        };
        histogram.saturating_record(micros(took));
        Ok(())
    }

    /// A request answered with another `status` than expected (0: no answer
    /// came); the first `detail` (body or transport error) per status is kept.
    pub fn error(&mut self, status: u16, detail: &str) {
        *self.errors.entry(status).or_insert(0) += 1;
        self.samples.entry(status).or_insert_with(|| detail.chars().take(SAMPLE_CHARS).collect());
    }
}

/// One scenario at one client count: the merged recorders of its threads.
pub struct Outcome {
    /// The scenario (`health`, `anchors-sync`, ..., `fsync`, `sqlite`).
    pub name: String,
    /// Concurrent client threads.
    pub clients: usize,
    /// Operations done as expected.
    pub ops: u64,
    /// From the common start to the last thread's end.
    pub elapsed: Duration,
    /// Latency of the operations done as expected, in µs.
    pub latency: Histogram<u64>,
    /// Latencies of named steps of each operation, in µs.
    pub steps: BTreeMap<&'static str, Histogram<u64>>,
    /// Failed requests by HTTP status (0: no answer).
    pub errors: BTreeMap<u16, u64>,
    /// The first answer body (or transport error) of each failed status.
    pub samples: BTreeMap<u16, String>,
}

impl Outcome {
    /// Merges the recorders of a scenario's threads.
    ///
    /// # Errors
    /// See [`histogram`]; merging histograms of the same bounds never fails.
    pub fn merge(name: &str, clients: usize, elapsed: Duration, recorders: Vec<Recorder>) -> Result<Self> {
        let mut outcome = Self {
            name: name.to_string(),
            clients,
            ops: 0,
            elapsed,
            latency: histogram()?,
            steps: BTreeMap::new(),
            errors: BTreeMap::new(),
            samples: BTreeMap::new(),
        };
        for recorder in recorders {
            outcome.ops += recorder.ops;
            outcome.latency.add(&recorder.latency).map_err(|e| anyhow!("merging histograms: {e:?}"))?;
            for (step, h) in recorder.steps {
                let merged = match outcome.steps.entry(step) {
                    std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                    std::collections::btree_map::Entry::Vacant(entry) => entry.insert(histogram()?),
                };
                merged.add(&h).map_err(|e| anyhow!("merging histograms: {e:?}"))?;
            }
            for (status, count) in recorder.errors {
                *outcome.errors.entry(status).or_insert(0) += count;
            }
            for (status, sample) in recorder.samples {
                outcome.samples.entry(status).or_insert(sample);
            }
        }
        Ok(outcome)
    }

    /// Operations per second over the elapsed time (0 when nothing elapsed).
    pub fn throughput(&self) -> f64 {
        per_second(self.ops, self.elapsed)
    }

    /// The latency at `quantile` (0..=1), in µs (0 when nothing was recorded).
    pub fn percentile(&self, quantile: f64) -> u64 {
        quantile_of(&self.latency, quantile)
    }

    /// Failed requests in all.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The outcome as JSON: name, clients, ops, seconds, ops_per_s, p50_us,
    /// p99_us, p999_us, errors (`{"409": 3}`), error_samples, and steps
    /// (each with its name, count and percentiles).
    pub fn to_json(&self) -> Value {
        let errors: serde_json::Map<String, Value> =
            self.errors.iter().map(|(status, count)| (status.to_string(), json!(count))).collect();
        let samples: serde_json::Map<String, Value> =
            self.samples.iter().map(|(status, sample)| (status.to_string(), json!(sample))).collect();
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|(name, h)| {
                json!({
                    "name": name,
                    "count": h.len(),
                    "p50_us": quantile_of(h, 0.5),
                    "p99_us": quantile_of(h, 0.99),
                    "p999_us": quantile_of(h, 0.999),
                })
            })
            .collect();
        json!({
            "name": self.name,
            "clients": self.clients,
            "ops": self.ops,
            "seconds": self.elapsed.as_secs_f64(),
            "ops_per_s": self.throughput(),
            "p50_us": self.percentile(0.5),
            "p99_us": self.percentile(0.99),
            "p999_us": self.percentile(0.999),
            "errors": errors,
            "error_samples": samples,
            "steps": steps,
        })
    }
}

/// `ops` per second over `elapsed` (0 when nothing elapsed).
pub fn per_second(ops: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        ops as f64 / seconds
    } else {
        0.0
    }
}

/// The value at `quantile` of `h`, in its unit (0 when empty).
fn quantile_of(h: &Histogram<u64>, quantile: f64) -> u64 {
    if h.is_empty() {
        0
    } else {
        h.value_at_quantile(quantile)
    }
}

/// `1234567` as `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Errors by status as `409:3 0:1` (0: no answer), or `-` when none.
pub fn errors_text(errors: &BTreeMap<u16, u64>) -> String {
    if errors.is_empty() {
        return "-".to_string();
    }
    errors.iter().map(|(status, count)| format!("{status}:{count}")).collect::<Vec<_>>().join(" ")
}

/// A plain-text table: the header row, a rule, then the rows; the first
/// column left-aligned, the others right-aligned, columns two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        let mut text = String::new();
        for (i, width) in widths.iter().enumerate() {
            let cell = cells.get(i).map(String::as_str).unwrap_or("");
            if i == 0 {
                let _ = write!(text, "{cell:<width$}");
            } else {
                let _ = write!(text, "  {cell:>width$}");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut out, &header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(&mut out, &rule);
    for row in rows {
        line(&mut out, row);
    }
    out
}

/// The scenario table's header.
pub const SCENARIO_HEADER: &[&str] =
    &["scenario", "clients", "ops/s", "p50 us", "p99 us", "p99.9 us", "ops", "errors (status:count)"];

/// An outcome as a row of the scenario table; its steps follow as rows
/// named `  name/step` (latencies only).
pub fn scenario_rows(outcome: &Outcome) -> Vec<Vec<String>> {
    let mut rows = vec![vec![
        outcome.name.clone(),
        outcome.clients.to_string(),
        grouped(outcome.throughput().round() as u64),
        grouped(outcome.percentile(0.5)),
        grouped(outcome.percentile(0.99)),
        grouped(outcome.percentile(0.999)),
        grouped(outcome.ops),
        errors_text(&outcome.errors),
    ]];
    for (step, h) in &outcome.steps {
        rows.push(vec![
            format!("  {}/{step}", outcome.name),
            outcome.clients.to_string(),
            String::new(),
            grouped(quantile_of(h, 0.5)),
            grouped(quantile_of(h, 0.99)),
            grouped(quantile_of(h, 0.999)),
            grouped(h.len()),
            String::new(),
        ]);
    }
    rows
}

/// What a ratio must be to meet its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// At least this much.
    AtLeast(f64),
    /// At most this much.
    AtMost(f64),
    /// Strictly less than this.
    Below(f64),
}

impl Target {
    /// Whether `value` meets the target.
    pub fn met_by(self, value: f64) -> bool {
        match self {
            Target::AtLeast(bound) => value >= bound,
            Target::AtMost(bound) => value <= bound,
            Target::Below(bound) => value < bound,
        }
    }

    /// `>= 0.8`, `<= 2`, `< 20`.
    fn text(self, unit: &str) -> String {
        match self {
            Target::AtLeast(bound) => format!(">= {}{unit}", trim_float(bound)),
            Target::AtMost(bound) => format!("<= {}{unit}", trim_float(bound)),
            Target::Below(bound) => format!("< {}{unit}", trim_float(bound)),
        }
    }
}

/// `0.8` as `0.8`, `2.0` as `2`.
fn trim_float(x: f64) -> String {
    let text = format!("{x:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One line of the ratio table: a measured figure against a target of the
/// issue, or why it could not be measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Ratio {
    /// What is compared, with the figures it comes from.
    pub what: String,
    /// The measured value (`None` when a side is missing or zero).
    pub value: Option<f64>,
    /// `x` for a ratio, ` ms` for a latency.
    pub unit: &'static str,
    /// The target.
    pub target: Target,
}

impl Ratio {
    /// `numerator / denominator` as a ratio (`x`), `None` when either side
    /// is missing or the denominator is not positive.
    pub fn of(what: String, numerator: Option<f64>, denominator: Option<f64>, target: Target) -> Self {
        let value = match (numerator, denominator) {
            (Some(n), Some(d)) if d > 0.0 => Some(n / d),
            _ => None,
        };
        Self { what, value, unit: "x", target }
    }

    /// Whether the target is met (`None` when not measured).
    pub fn met(&self) -> Option<bool> {
        self.value.map(|v| self.target.met_by(v))
    }

    /// The ratio as JSON: what, value, unit, target, met.
    pub fn to_json(&self) -> Value {
        json!({
            "what": self.what,
            "value": self.value,
            "unit": self.unit.trim(),
            "target": self.target.text(self.unit),
            "met": self.met(),
        })
    }
}

/// The ratio table's header.
pub const RATIO_HEADER: &[&str] = &["target", "measured", "wanted", "verdict"];

/// A ratio as a row of the ratio table (`0.38x`, `>= 0.8x`, `NOT MET`).
pub fn ratio_row(ratio: &Ratio) -> Vec<String> {
    let measured = match ratio.value {
        Some(v) if ratio.unit == "x" => format!("{v:.2}x"),
        Some(v) => format!("{v:.1}{}", ratio.unit),
        None => "n/a".to_string(),
    };
    let verdict = match ratio.met() {
        Some(true) => "met",
        Some(false) => "NOT MET",
        None => "not measured",
    };
    vec![ratio.what.clone(), measured, ratio.target.text(ratio.unit), verdict.to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder_with(latencies_us: &[u64], errors: &[(u16, &str)]) -> Result<Recorder> {
        let mut recorder = Recorder::new()?;
        for us in latencies_us {
            recorder.ok(Duration::from_micros(*us));
        }
        for (status, detail) in errors {
            recorder.error(*status, detail);
        }
        Ok(recorder)
    }

    #[test]
    fn merged_outcome_sums_ops_and_errors_and_keeps_the_first_sample() -> Result<()> {
        let a = recorder_with(&[100, 200, 300], &[(409, "first"), (0, "refused")])?;
        let b = recorder_with(&[400], &[(409, "second")])?;
        let outcome = Outcome::merge("anchors-sync", 2, Duration::from_secs(2), vec![a, b])?;
        assert_eq!(outcome.ops, 4);
        assert_eq!(outcome.error_count(), 3);
        assert_eq!(outcome.errors, BTreeMap::from([(0, 1), (409, 2)]));
        assert_eq!(outcome.samples.get(&409).map(String::as_str), Some("first"));
        assert_eq!(outcome.throughput(), 2.0);
        assert_eq!(errors_text(&outcome.errors), "0:1 409:2");
        Ok(())
    }

    #[test]
    fn percentiles_come_from_the_histogram_within_its_resolution() -> Result<()> {
        let latencies: Vec<u64> = (1..=1000).collect();
        let outcome = Outcome::merge("health", 1, Duration::from_secs(1), vec![recorder_with(&latencies, &[])?])?;
        assert_eq!(outcome.percentile(0.5), 500);
        assert_eq!(outcome.percentile(0.99), 990);
        assert_eq!(outcome.percentile(0.999), 999);
        let empty = Outcome::merge("health", 1, Duration::ZERO, vec![])?;
        assert_eq!((empty.percentile(0.5), empty.throughput()), (0, 0.0));
        Ok(())
    }

    #[test]
    fn steps_are_merged_by_name() -> Result<()> {
        let mut a = recorder_with(&[1000], &[])?;
        a.step("start", Duration::from_micros(250))?;
        let mut b = recorder_with(&[2000], &[])?;
        b.step("start", Duration::from_micros(750))?;
        b.step("complete", Duration::from_micros(900))?;
        let outcome = Outcome::merge("enrollment", 2, Duration::from_secs(1), vec![a, b])?;
        let counts: Vec<(&str, u64)> = outcome.steps.iter().map(|(name, h)| (*name, h.len())).collect();
        assert_eq!(counts, [("complete", 1), ("start", 2)]);
        let json = outcome.to_json();
        assert_eq!(json["steps"][1]["name"], "start");
        assert_eq!(json["steps"][1]["p50_us"], 250);
        Ok(())
    }

    #[test]
    fn per_second_and_grouping() {
        assert_eq!(per_second(3000, Duration::from_millis(1500)), 2000.0);
        assert_eq!(per_second(5, Duration::ZERO), 0.0);
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn ratios_compare_against_their_targets() {
        let durable = Ratio::of("a".into(), Some(6900.0), Some(18100.0), Target::AtLeast(0.8));
        assert_eq!(durable.value.map(|v| (v * 100.0).round()), Some(38.0));
        assert_eq!(durable.met(), Some(false));
        assert_eq!(ratio_row(&durable), ["a", "0.38x", ">= 0.8x", "NOT MET"]);
        let latency = Ratio::of("b".into(), Some(270.0), Some(135.0), Target::AtMost(2.0));
        assert_eq!(latency.met(), Some(true));
        assert_eq!(ratio_row(&latency)[1..], ["2.00x", "<= 2x", "met"]);
        let missing = Ratio::of("c".into(), Some(1.0), Some(0.0), Target::AtLeast(1.0));
        assert_eq!(ratio_row(&missing)[1..], ["n/a", ">= 1x", "not measured"]);
        let p99 = Ratio { what: "d".into(), value: Some(20.0), unit: " ms", target: Target::Below(20.0) };
        assert_eq!(ratio_row(&p99)[1..], ["20.0 ms", "< 20 ms", "NOT MET"]);
        assert_eq!(p99.to_json()["unit"], "ms");
    }

    #[test]
    fn tables_align_columns() {
        let rows = vec![vec!["health".to_string(), "1".to_string()], vec!["votes".to_string(), "64".to_string()]];
        assert_eq!(
            table(&["scenario", "clients"], &rows),
            "scenario  clients\n--------  -------\nhealth          1\nvotes          64\n"
        );
    }
}
