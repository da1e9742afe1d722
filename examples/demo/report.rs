//! The outcome (step 9): the [`Report`] gathers one [`Checkpoint`] per
//! restart and every problem met on the way (also those of the checks a
//! second gateway answers while the first is down, which are not columns of
//! the table), then prints the table (written / after each SIGKILL restart /
//! after each SIGTERM restart), lists the problems and fails if there is any.

use std::fmt::Write as _;

use anyhow::{bail, Result};

use crate::client::Client;
use crate::governance::{GovCounts, Governance};
use crate::world::{Counts, World};

/// Most problems printed in detail per check.
const MAX_PROBLEMS_SHOWN: usize = 20;

/// How the server was stopped before a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Kill,
    Term,
}

/// One check after a restart: what was found and, for the governance rows,
/// what had been acknowledged by then (the base rows compare with
/// [`World::written`]).
struct Checkpoint {
    stop: Stop,
    /// What had happened before the stop, for the legend and problems.
    label: &'static str,
    base: Counts,
    /// `(found, acknowledged)`; `None` before the governance act.
    gov: Option<(GovCounts, GovCounts)>,
}

/// The checkpoints so far and the problems met.
#[derive(Default)]
pub struct Report {
    checkpoints: Vec<Checkpoint>,
    problems: Vec<String>,
}

impl Report {
    /// Notes a problem; the demo goes on, and fails at the end.
    pub fn problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// Checks everything after a restart: the enrollment's records and, once
    /// it has begun, the governance act. Problems are noted.
    pub fn check(
        &mut self,
        client: &Client<'_>,
        world: &World,
        gov: Option<&Governance>,
        stop: Stop,
        label: &'static str,
    ) -> Result<()> {
        let (base, more) = world.check(client)?;
        self.problems.extend(more);
        let gov = match gov {
            Some(gov) => {
                let (found, more) = gov.check(client, world)?;
                self.problems.extend(more);
                Some((found, gov.expected(world)))
            }
            None => None,
        };
        self.checkpoints.push(Checkpoint { stop, label, base, gov });
        Ok(())
    }

    /// Checks everything acknowledged so far through `client`, a gateway
    /// that kept running while the first one was down (PostgreSQL: a second
    /// gateway on the same database). The same reads as [`Report::check`],
    /// but not a column of the table: no restart came before it. Every
    /// difference from what was acknowledged is a problem, named with
    /// `context`. Returns what was found, as one line
    /// (`205 anchors, 205 holders, ...; all as acknowledged`).
    pub fn check_stand_in(
        &mut self,
        client: &Client<'_>,
        world: &World,
        gov: Option<&Governance>,
        context: &str,
    ) -> Result<String> {
        let (base, more) = world.check(client)?;
        self.problems.extend(more.into_iter().map(|problem| format!("{problem} ({context})")));
        let mut found: Vec<String> = Vec::new();
        let mut differences = 0;
        let rows = Counts::ROWS.iter().zip(world.written().values()).zip(base.values());
        for ((row, want), got) in rows {
            if want != got {
                differences += 1;
                self.problems.push(format!("{row}: acknowledged {want}, found {got} {context}"));
            }
            found.push(format!("{got} {row}"));
        }
        if let Some(gov) = gov {
            let (counts, more) = gov.check(client, world)?;
            self.problems.extend(more.into_iter().map(|problem| format!("{problem} ({context})")));
            let rows = GovCounts::ROWS.iter().zip(gov.expected(world).values()).zip(counts.values());
            for ((row, want), got) in rows {
                if want != got {
                    differences += 1;
                    self.problems.push(format!("{row}: acknowledged {want}, found {got} {context}"));
                }
                found.push(format!("{row} {got}"));
            }
        }
        let verdict = match differences {
            0 => "all as acknowledged".to_string(),
            n => format!("{n} count(s) differ from what was acknowledged (listed at the end)"),
        };
        Ok(format!("{}; {verdict}", found.join(", ")))
    }

    /// Prints the table, then every difference from what was acknowledged
    /// and every other problem; fails if there is any.
    pub fn finish(mut self, written: Counts, gov_written: &GovCounts) -> Result<()> {
        print_table(written, gov_written, &self.checkpoints);
        for point in &self.checkpoints {
            let column = match point.stop {
                Stop::Kill => format!("after the SIGKILL restart ({})", point.label),
                Stop::Term => format!("after the SIGTERM restart ({})", point.label),
            };
            for ((row, want), got) in Counts::ROWS.iter().zip(written.values()).zip(point.base.values()) {
                if want != got {
                    self.problems.push(format!("{row}: wrote {want}, found {got} {column}"));
                }
            }
            if let Some((found, want)) = &point.gov {
                for ((row, want), got) in GovCounts::ROWS.iter().zip(want.values()).zip(found.values()) {
                    if want != got {
                        self.problems.push(format!("{row}: acknowledged {want}, found {got} {column}"));
                    }
                }
            }
        }
        let problems = &self.problems;
        if !problems.is_empty() {
            println!("[demo] {} problem(s):", problems.len());
            for problem in problems.iter().take(MAX_PROBLEMS_SHOWN) {
                println!("  - {problem}");
            }
            if problems.len() > MAX_PROBLEMS_SHOWN {
                println!("  ... and {} more", problems.len() - MAX_PROBLEMS_SHOWN);
            }
            bail!("{} problem(s) found, listed above", problems.len());
        }
        Ok(())
    }
}

/// Prints the table: one row per count, the value written (acknowledged by
/// the end), then per stop kind one entry per restart in order (`-`: not yet
/// part of the demo then). An entry that differs from what was acknowledged
/// before that stop reads `found (want X)` and marks its row.
fn print_table(written: Counts, gov_written: &GovCounts, checkpoints: &[Checkpoint]) {
    type Entry = Option<(String, String)>;
    let mut rows: Vec<(&str, String, [Vec<Entry>; 2])> = Vec::new();
    let slot = |stop: Stop| usize::from(stop == Stop::Term);
    for (i, name) in Counts::ROWS.iter().enumerate() {
        let want = written.values()[i].to_string();
        let mut entries: [Vec<Entry>; 2] = Default::default();
        for point in checkpoints {
            entries[slot(point.stop)].push(Some((point.base.values()[i].to_string(), want.clone())));
        }
        rows.push((name, want, entries));
    }
    for (i, name) in GovCounts::ROWS.iter().enumerate() {
        let mut entries: [Vec<Entry>; 2] = Default::default();
        for point in checkpoints {
            let entry = point.gov.as_ref().map(|(found, want)| (found.values()[i].clone(), want.values()[i].clone()));
            entries[slot(point.stop)].push(entry);
        }
        rows.push((name, gov_written.values()[i].clone(), entries));
    }
    let cell = |entries: &[Entry]| {
        let parts: Vec<String> = entries
            .iter()
            .map(|entry| match entry {
                None => "-".to_string(),
                Some((found, want)) if found == want => found.clone(),
                Some((found, want)) => format!("{found} (want {want})"),
            })
            .collect();
        parts.join(", ")
    };
    let header = ["", "written", "after SIGKILL restarts", "after SIGTERM restarts"].map(String::from);
    let lines: Vec<([String; 4], bool)> = rows
        .iter()
        .map(|(name, written, entries)| {
            let differs = entries.iter().flatten().flatten().any(|(found, want)| found != want);
            ([name.to_string(), written.clone(), cell(&entries[0]), cell(&entries[1])], differs)
        })
        .collect();
    let mut widths = header.clone().map(|h| h.len());
    for (line, _) in &lines {
        for (width, text) in widths.iter_mut().zip(line) {
            *width = (*width).max(text.chars().count());
        }
    }
    let format_line = |line: &[String; 4]| {
        format!(
            "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}",
            line[0],
            line[1],
            line[2],
            line[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        )
    };
    let mut table = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(table, "{}", format_line(&header));
    for (i, (line, differs)) in lines.iter().enumerate() {
        if i == Counts::ROWS.len() {
            let _ = writeln!(table, "-- governance act --");
        }
        let mark = if *differs { "  <-- differs" } else { "" };
        let _ = writeln!(table, "{}{mark}", format_line(line));
    }
    for (stop, name) in [(Stop::Kill, "SIGKILL"), (Stop::Term, "SIGTERM")] {
        let labels: Vec<String> = checkpoints
            .iter()
            .filter(|point| point.stop == stop)
            .enumerate()
            .map(|(i, point)| format!("{} {}", i + 1, point.label))
            .collect();
        let _ = writeln!(table, "{name} restarts, in order: {}", labels.join("; "));
    }
    print!("{table}");
}
