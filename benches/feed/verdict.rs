//! Issue 14's targets, judged on PostgreSQL's runs; SQLite's ratios as information; and no
//! request may have failed anywhere.

use crate::{
    database::Backend,
    figures::{BackendResult, Comparison, clients},
};

/// GraphQL must serve at least this share of the baseline's requests per server CPU-second.
const MIN_CPU_RATIO: f64 = 0.67;
/// GraphQL's p99 may be at most this multiple of the baseline's.
const MAX_P99_RATIO: f64 = 1.5;
/// The concurrency the targets name.
const TARGET_CLIENTS: usize = 16;

/// How a line of the verdict counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A target met.
    Pass,
    /// A target missed: the run fails.
    Fail,
    /// Figures for the reader, judged by no target.
    Info,
}

/// One line of the verdict.
#[derive(Debug, Clone)]
pub struct Line {
    /// How it counts.
    pub mark: Mark,
    /// What it says.
    pub text: String,
}

impl Line {
    fn new(mark: Mark, text: String) -> Self {
        Line { mark, text }
    }

    fn judged(passed: bool, text: String) -> Self {
        Line::new(if passed { Mark::Pass } else { Mark::Fail }, text)
    }

    /// Whether this line fails the run.
    pub fn failed(&self) -> bool {
        self.mark == Mark::Fail
    }
}

/// The verdict over every backend's runs.
pub fn judge(results: &[BackendResult]) -> Vec<Line> {
    let mut lines = Vec::new();
    for result in results {
        lines.push(Line::new(Mark::Info, ratios_line(result)));
        let Some(row) = target_row(&result.rows) else { continue };
        let at = if row.clients == TARGET_CLIENTS {
            clients(row.clients)
        } else {
            format!("{} ({TARGET_CLIENTS} were not run: the most that were)", clients(row.clients))
        };
        // The targets are PostgreSQL's; SQLite's figures show what the same code costs there.
        let target = if result.backend == Backend::Postgres { "target" } else { "PostgreSQL's target" };
        let cpu = format!(
            "{}, {at}: GraphQL serves {:.2}x the baseline's requests per server CPU-second ({target}: at least {MIN_CPU_RATIO:.2}x)",
            result.backend.name(),
            row.cpu_ratio()
        );
        let p99 = format!(
            "{}, {at}: GraphQL's p99 is {:.2}x the baseline's ({target}: at most {MAX_P99_RATIO:.1}x)",
            result.backend.name(),
            row.p99_ratio()
        );
        match result.backend {
            Backend::Postgres => {
                lines.push(Line::judged(row.cpu_ratio() >= MIN_CPU_RATIO, cpu));
                lines.push(Line::judged(row.p99_ratio() <= MAX_P99_RATIO, p99));
            }
            Backend::Sqlite => {
                lines.push(Line::new(Mark::Info, cpu));
                lines.push(Line::new(Mark::Info, p99));
            }
        }
    }
    if !results.iter().any(|result| result.backend == Backend::Postgres) {
        lines.push(Line::new(
            Mark::Info,
            "PostgreSQL was not run (BENCH_FEED_BACKENDS): its targets were not judged".into(),
        ));
    }
    lines.push(failures_line(results));
    lines
}

/// The run the targets are judged on: 16 clients, or the most that ran.
fn target_row(rows: &[Comparison]) -> Option<&Comparison> {
    rows.iter().find(|row| row.clients == TARGET_CLIENTS).or_else(|| rows.iter().max_by_key(|row| row.clients))
}

/// Both ratios at every concurrency.
fn ratios_line(result: &BackendResult) -> String {
    let at = |ratio: fn(&Comparison) -> f64| -> String {
        result
            .rows
            .iter()
            .map(|row| format!("{} {:.2}x", clients(row.clients), ratio(row)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{}, GraphQL/baseline: requests per server CPU-second {}; p99 {}",
        result.backend.name(),
        at(Comparison::cpu_ratio),
        at(Comparison::p99_ratio)
    )
}

/// Every answer of every run must have been a 200 with the page and no `errors`.
fn failures_line(results: &[BackendResult]) -> Line {
    let runs = results.iter().flat_map(|result| {
        result.rows.iter().flat_map(move |row| {
            [("GraphQL", &row.graphql), ("baseline", &row.baseline)]
                .map(|(server, figures)| (result.backend, row.clients, server, figures))
        })
    });
    let (mut answered, mut failed, mut first) = (0, 0, None);
    for (backend, count, server, figures) in runs {
        answered += figures.completed;
        failed += figures.failures;
        if let (None, Some(why)) = (&first, &figures.first_failure) {
            first = Some(format!("{} {server} at {}: {why}", backend.name(), clients(count)));
        }
    }
    match first {
        None => Line::judged(true, format!("no request failed ({answered} answers measured)")),
        Some(first) => Line::judged(false, format!("{failed} requests failed; the first: {first}")),
    }
}
