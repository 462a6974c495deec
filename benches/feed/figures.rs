//! What one run measured, and the GraphQL-to-baseline ratios the targets are about.

use std::time::Duration;

use crate::database::Backend;

/// One server's run at one concurrency.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Answers completed inside the measured window.
    pub completed: u64,
    /// The window's length as the CPU readings saw it.
    pub wall_seconds: f64,
    /// User + system CPU seconds the serving process spent in the window.
    pub server_cpu_seconds: f64,
    /// User + system CPU seconds this process (the load generator) spent in the window.
    pub own_cpu_seconds: f64,
    /// Median latency of the window's answers.
    pub p50: Duration,
    /// 99th percentile latency of the window's answers.
    pub p99: Duration,
    /// Statements the serving process ran a request, warm-up included.
    pub statements_per_request: f64,
    /// Mean body size of the window's answers.
    pub bytes_per_answer: f64,
    /// Requests that failed, warm-up included.
    pub failures: u64,
    /// Why the first of them failed.
    pub first_failure: Option<String>,
}

impl Figures {
    /// Answers a wall-clock second.
    pub fn per_second(&self) -> f64 {
        self.completed as f64 / self.wall_seconds
    }

    /// Answers a CPU-second of the serving process: what the server costs a request.
    pub fn per_cpu_second(&self) -> f64 {
        self.completed as f64 / self.server_cpu_seconds
    }

    /// Cores the serving process kept busy on average.
    pub fn server_cores(&self) -> f64 {
        self.server_cpu_seconds / self.wall_seconds
    }

    /// Cores the load generator kept busy on average.
    pub fn own_cores(&self) -> f64 {
        self.own_cpu_seconds / self.wall_seconds
    }
}

/// Both servers at one concurrency.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Concurrent clients.
    pub clients: usize,
    /// The GraphQL server's run.
    pub graphql: Figures,
    /// The baseline's run.
    pub baseline: Figures,
}

impl Comparison {
    /// GraphQL's requests per server CPU-second over the baseline's (1 = as cheap).
    pub fn cpu_ratio(&self) -> f64 {
        self.graphql.per_cpu_second() / self.baseline.per_cpu_second()
    }

    /// GraphQL's p99 over the baseline's (1 = as fast).
    pub fn p99_ratio(&self) -> f64 {
        self.graphql.p99.as_secs_f64() / self.baseline.p99.as_secs_f64()
    }

    /// GraphQL's requests a second over the baseline's.
    pub fn throughput_ratio(&self) -> f64 {
        self.graphql.per_second() / self.baseline.per_second()
    }
}

/// Every concurrency's comparison on one backend.
#[derive(Debug, Clone)]
pub struct BackendResult {
    /// Where the data was.
    pub backend: Backend,
    /// In the order the concurrencies ran.
    pub rows: Vec<Comparison>,
}

/// The `quantile` (0 to 1) of `sorted` by nearest rank: a duration that was recorded, not an
/// interpolation; zero when nothing was.
pub fn percentile(sorted: &[Duration], quantile: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// "1 client", "4 clients".
pub fn clients(count: usize) -> String {
    format!("{count} client{}", if count == 1 { "" } else { "s" })
}
