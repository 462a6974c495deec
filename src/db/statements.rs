//! Counts and times every SQL statement through sea-orm's metric callback: the source of the
//! `db_statements_total` and `db_statement_duration_seconds` metrics, and of the count the
//! N+1 test reads.

use std::sync::atomic::{AtomicU64, Ordering};

/// Statements executed on one pool since it opened.
#[derive(Debug, Default)]
pub struct StatementCounter {
    total: AtomicU64,
}

impl StatementCounter {
    /// Records one executed statement.
    pub fn record(&self, info: &sea_orm::metric::Info<'_>) {
        // Relaxed: a plain event count; nothing else is ordered by it.
        self.total.fetch_add(1, Ordering::Relaxed);
        let outcome = if info.failed { "error" } else { "ok" };
        metrics::counter!("db_statements_total", "outcome" => outcome).increment(1);
        metrics::histogram!("db_statement_duration_seconds").record(info.elapsed.as_secs_f64());
        tracing::trace!(elapsed_ms = info.elapsed.as_secs_f64() * 1e3, failed = info.failed, sql = %info.statement.sql, "statement");
    }

    /// Statements executed so far.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}
