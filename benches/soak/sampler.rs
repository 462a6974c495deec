//! What the soak watches on the server: its memory, descriptors, threads and tasks from
//! `/proc` and `/metrics`, the database pool, and the sizes of the in-memory structures that
//! must shrink back when sockets close (registry, broker, room presence, live operations).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio_util::sync::CancellationToken;

use crate::{proc_cpu, server::Server};

/// How often the server is sampled during the load.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// How a resource is judged (see the crate header for why).
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// No exact expected value: judged by its least-squares slope after the warm-up. It
    /// keeps growing when the slope passes `per_hour` (units an hour), the growth it predicts
    /// over the window passes `allowance` (how far it may wander while nothing leaks) and
    /// the last third of the window averages above the middle third. With `comes_back`, it
    /// must also be back within `allowance` of its value before any socket once every socket
    /// is closed.
    Growth { per_hour: f64, allowance: Allowance, comes_back: bool },
    /// A count with an exact expected value: what it was with every watcher open and no
    /// other load (the churn's sockets come and go in milliseconds). It keeps growing when
    /// every sample of the last third is above that, or it is not back to it once the load
    /// has stopped.
    Baseline,
    /// Shown, not judged.
    Info,
}

/// How far a [`Rule::Growth`] resource may wander while nothing leaks.
#[derive(Debug, Clone, Copy)]
pub enum Allowance {
    /// A fixed amount.
    Fixed(f64),
    /// `per_connection` for each connection the database pool may open, plus `plus`.
    Pool { per_connection: f64, plus: f64 },
}

impl Allowance {
    /// The amount for a pool of at most `pool_max` connections.
    pub fn amount(self, pool_max: f64) -> f64 {
        match self {
            Allowance::Fixed(amount) => amount,
            Allowance::Pool { per_connection, plus } => per_connection * pool_max + plus,
        }
    }
}

/// One watched resource.
pub struct Resource {
    /// The column heading.
    pub name: &'static str,
    /// Its unit in the slope table.
    pub unit: &'static str,
    /// How it is judged.
    pub rule: Rule,
}

/// Every resource, in column order; [`read`] fills them in this order.
pub const RESOURCES: [Resource; 16] = [
    // A fixed figure, not a share of the total: most of the server's RSS is argon2's 19 MiB
    // buffers that the allocator keeps after the set-up's registrations, which says nothing
    // of what the load needs. 8 MiB an hour is under 200 MiB a day. Freed memory stays with
    // the allocator, so it is not expected back down when the sockets close.
    Resource {
        name: "rss MiB",
        unit: "MiB",
        rule: Rule::Growth { per_hour: 8.0, allowance: Allowance::Fixed(4.0), comes_back: false },
    },
    // Sockets, database files (an SQLite connection holds up to three), the kept-alive HTTP
    // connections of the load.
    Resource {
        name: "fds",
        unit: "fds",
        rule: Rule::Growth {
            per_hour: 10.0,
            allowance: Allowance::Pool { per_connection: 3.0, plus: 10.0 },
            comes_back: true,
        },
    },
    // The runtime's workers, its blocking pool (argon2, files) and a worker thread per SQLite
    // connection come and go with the load.
    Resource {
        name: "threads",
        unit: "threads",
        rule: Rule::Growth {
            per_hour: 5.0,
            allowance: Allowance::Pool { per_connection: 1.0, plus: 16.0 },
            comes_back: true,
        },
    },
    // Sockets, requests in flight, kept-alive HTTP connections, background work.
    Resource {
        name: "tasks",
        unit: "tasks",
        rule: Rule::Growth { per_hour: 20.0, allowance: Allowance::Fixed(30.0), comes_back: true },
    },
    Resource {
        name: "db used",
        unit: "conns",
        rule: Rule::Growth { per_hour: 2.0, allowance: Allowance::Fixed(3.0), comes_back: true },
    },
    // Bounded by the pool's maximum whatever happens.
    Resource { name: "db open", unit: "conns", rule: Rule::Info },
    Resource { name: "sockets", unit: "sockets", rule: Rule::Baseline },
    Resource { name: "ops", unit: "operations", rule: Rule::Baseline },
    Resource { name: "users", unit: "users", rule: Rule::Baseline },
    Resource { name: "sessions", unit: "sessions", rule: Rule::Baseline },
    Resource { name: "addrs", unit: "addresses", rule: Rule::Baseline },
    Resource { name: "idleq", unit: "entries", rule: Rule::Baseline },
    Resource { name: "topics", unit: "topics", rule: Rule::Baseline },
    Resource { name: "listnrs", unit: "listeners", rule: Rule::Baseline },
    Resource { name: "rooms", unit: "rooms", rule: Rule::Baseline },
    Resource { name: "liveops", unit: "operations", rule: Rule::Baseline },
];

/// The Prometheus series behind each resource from `tasks` on (NaN when the server does not
/// export it); the first three come from `/proc`.
const SERIES: [(&str, &str); 13] = [
    ("tokio_alive_tasks", ""),
    ("db_pool_connections", "state=\"in_use\""),
    ("db_pool_connections", ""),
    ("ws_live_connections", ""),
    ("ws_live_subscriptions", ""),
    ("ws_online_users", ""),
    ("ws_live_sessions", ""),
    ("ws_live_addresses", ""),
    ("ws_idle_queue_entries", ""),
    ("broker_topics", ""),
    ("broker_listeners", ""),
    ("room_presence_rooms", ""),
    ("live_operations", ""),
];

/// Every resource's value now, in [`RESOURCES`] order, and the pool's maximum.
pub async fn read(server: &Server, http: &reqwest::Client) -> anyhow::Result<([f64; RESOURCES.len()], f64)> {
    let metrics = server.metrics(http).await?;
    let (rss_kib, threads) = server.rss_kib_and_threads()?;
    let mut values = [f64::NAN; RESOURCES.len()];
    values[0] = rss_kib / 1024.0;
    values[1] = server.open_fds()? as f64;
    values[2] = threads;
    for (value, (name, label)) in values[3..].iter_mut().zip(SERIES) {
        let exported = metrics.lines().any(|line| line.starts_with(name) && line.contains(label));
        *value = if exported { sample(&metrics, name, label) } else { f64::NAN };
    }
    Ok((values, sample(&metrics, "db_pool_connections_max", "")))
}

/// The value of the Prometheus series `name` whose labels include `label` (empty for any),
/// summed over matching series; 0 when there is none.
fn sample(metrics: &str, name: &str, label: &str) -> f64 {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let labels = match series.strip_prefix(name)? {
                "" => "",
                rest => rest.strip_prefix('{')?.strip_suffix('}')?,
            };
            (label.is_empty() || labels.split(',').any(|pair| pair == label)).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

/// One sample taken during the load.
pub struct Sample {
    /// Seconds since the load started.
    pub at: f64,
    /// The server's CPU since the previous sample, in percent of one core.
    pub cpu_percent: f64,
    /// Churn sockets open in this process when it was taken.
    pub churn_open: usize,
    /// In [`RESOURCES`] order.
    pub values: [f64; RESOURCES.len()],
}

/// Samples every [`SAMPLE_EVERY`] from now until `stop`, printing a progress line to stderr
/// each time; returns the samples (a failed reading is reported and skipped).
pub async fn run(
    server: &Server,
    http: &reqwest::Client,
    churn_open: Arc<AtomicUsize>,
    stop: CancellationToken,
) -> Vec<Sample> {
    let started = Instant::now();
    let cpu_path = format!("/proc/{}/stat", server.pid());
    let cpu_seconds = || proc_cpu::user_and_system(&cpu_path).map(|(user, system)| user + system).unwrap_or(f64::NAN);
    // The first sample has no interval behind it: its CPU figure is left blank.
    let (mut last_cpu, mut last_at) = (f64::NAN, 0.0);
    let mut ticks = tokio::time::interval(SAMPLE_EVERY);
    let mut samples = Vec::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => return samples,
            _ = ticks.tick() => {}
        }
        let at = started.elapsed().as_secs_f64();
        let churn_open = churn_open.load(Ordering::Relaxed);
        match read(server, http).await {
            Ok((values, _)) => {
                let cpu = cpu_seconds();
                let cpu_percent = if at > last_at { 100.0 * (cpu - last_cpu) / (at - last_at) } else { f64::NAN };
                (last_cpu, last_at) = (cpu, at);
                let cpu = if cpu_percent.is_nan() { "-".into() } else { format!("{cpu_percent:.0}%") };
                eprintln!(
                    "t={at:>5.0} s  rss {:.1} MiB  fds {}  tasks {}  sockets {}  cpu {cpu}",
                    values[0], values[1], values[3], values[6]
                );
                samples.push(Sample { at, cpu_percent, churn_open, values });
            }
            Err(error) => eprintln!("t={at:>5.0} s  sample failed: {error:#}"),
        }
    }
}
