//! Memory that returns (issue 14): the server's resident memory before, at the peak of and
//! after a burst of registrations and logins, each of which runs argon2 with 19 MiB of
//! working memory.
//!
//! Run with `cargo bench --bench memory`. This process is the load generator, on one thread;
//! the server is the release `townsquare` binary (`cargo bench` builds it first) in a child
//! process with its own working directory and only the variables `benches/support/server.rs`
//! sets: rate limits off, no demo data, mail written to its log.
//!
//! 1. Before: the server's `VmRSS` (`/proc/<pid>/status`) once `/readyz` answers, and again
//!    after 3 s of settling.
//! 2. Load: `BENCH_REGISTRATIONS` `register` mutations, each a new user (`mem_<n>`), then
//!    `BENCH_LOGINS` `login`s of those users in turn; each phase from `BENCH_CLIENTS` clients
//!    at once, reported in requests per second.
//! 3. Peak: a thread of its own reads `VmRSS` every 100 ms from the first request to the end
//!    of the run; the largest sample of each phase, and `VmHWM` (the kernel's high-water
//!    mark, start-up included) at the end.
//! 4. After: `BENCH_IDLE_SECONDS` without a request, still sampled: `VmRSS` 1, 5, 10 and 20 s
//!    into the wait (those that fit in it), and at its end.
//!
//! Target: at most 64 MiB of `VmRSS` after the idle wait. Any failed request (an error, or no
//! answer within 30 s) fails the run too. The report ends with a PASS or FAIL line per check,
//! and the process exits with status 1 when one fails.
//!
//! Knobs (environment):
//! - `BENCH_REGISTRATIONS`, `BENCH_LOGINS`: default 1,000 each;
//! - `BENCH_CLIENTS`: requests in flight at once, default 8;
//! - `BENCH_IDLE_SECONDS`: the idle wait, default 30;
//! - `BENCH_DATABASE_URL`: unset, a throw-away SQLite file; a `postgres://` URL, a fresh
//!   database created next to the one it names and dropped at the end;
//! - `BENCH_SERVER_BIN`: the server binary to measure, default the one cargo built, so two
//!   builds can be compared (copy `target/release/townsquare` aside before a change).
//!
//! However the run ends (a failure, a panic, Ctrl-C, SIGTERM) the server is killed and the
//! database and working directory removed.

use std::{
    fs,
    path::{Path, PathBuf},
    str::FromStr,
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow, ensure};

// The soak's GraphQL helpers; its socket helpers are not used here.
#[allow(dead_code)]
#[path = "soak/api.rs"]
mod api;
#[path = "memory/load.rs"]
mod load;
#[path = "memory/report.rs"]
mod report;
#[path = "memory/sampler.rs"]
mod sampler;
#[path = "support/scratch.rs"]
mod scratch;
#[allow(dead_code)]
#[path = "support/server.rs"]
mod server;

use report::Figures;
use sampler::Sampler;
use scratch::ScratchDatabase;
use server::Server;

/// Time given to the server after start-up before "before" is read, for the buffers of
/// migrations and first requests to be freed.
const SETTLE: Duration = Duration::from_secs(3);
/// How often the sampler reads `VmRSS`.
const SAMPLE_PERIOD: Duration = Duration::from_millis(100);
/// Seconds into the idle wait at which `VmRSS` is reported (those shorter than the wait).
const IDLE_MARKS: [u64; 4] = [1, 5, 10, 20];

/// The benchmark's knobs, read once from the environment.
struct Knobs {
    registrations: usize,
    logins: usize,
    clients: usize,
    idle: Duration,
    database_url: Option<String>,
    /// An absolute path: the server runs in another working directory.
    server_bin: PathBuf,
}

impl Knobs {
    fn from_env() -> anyhow::Result<Self> {
        let database_url = scratch::database_url_knob()?;
        let knobs = Knobs {
            registrations: env_or("BENCH_REGISTRATIONS", 1_000)?,
            logins: env_or("BENCH_LOGINS", 1_000)?,
            clients: env_or("BENCH_CLIENTS", 8)?,
            idle: Duration::try_from_secs_f64(env_or("BENCH_IDLE_SECONDS", 30.0)?)
                .context("BENCH_IDLE_SECONDS is out of range")?,
            database_url,
            server_bin: server::binary()?,
        };
        ensure!(
            knobs.registrations >= 1 && knobs.logins >= 1,
            "BENCH_REGISTRATIONS and BENCH_LOGINS must be 1 or more"
        );
        ensure!(knobs.clients >= 1, "BENCH_CLIENTS must be 1 or more");
        ensure!(!knobs.idle.is_zero(), "BENCH_IDLE_SECONDS must be greater than 0");
        Ok(knobs)
    }

    /// The database the report names.
    fn backend(&self) -> &'static str {
        if self.database_url.is_some() { "PostgreSQL" } else { "SQLite" }
    }
}

fn main() -> anyhow::Result<()> {
    let knobs = Knobs::from_env()?;
    // One thread for every client: the server's figures come from /proc and do not depend on
    // it, and on a small machine it leaves the other cores to the server.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("client runtime")?;
    if !runtime.block_on(guarded(&knobs))? {
        std::process::exit(1);
    }
    Ok(())
}

/// Runs the benchmark and cleans up however it ends: the server is killed when `measure`'s
/// future returns or is dropped (on Ctrl-C or SIGTERM), then the scratch database and the
/// working directory are removed.
async fn guarded(knobs: &Knobs) -> anyhow::Result<bool> {
    let dir = tempfile::tempdir().context("could not create a temporary directory")?;
    let scratch = match &knobs.database_url {
        Some(url) => Some(ScratchDatabase::create(url, "memory").await?),
        None => None,
    };
    let database_url = scratch.as_ref().map_or_else(
        || format!("sqlite://{}?mode=rwc", dir.path().join("memory.db").display()),
        |database| database.url.clone(),
    );
    scratch::removing_afterwards(scratch, measure(knobs, dir.path(), &database_url)).await
}

async fn measure(knobs: &Knobs, dir: &Path, database_url: &str) -> anyhow::Result<bool> {
    let mut server = Server::start(&knobs.server_bin, dir, database_url)?;
    // Idle kept-alive connections are let go after 5 s, before the server's 10 s header
    // timeout closes them: a request sent on a connection the server is closing would fail
    // through no fault of either.
    let http = reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(5)).build()?;
    server.wait_ready(&http).await?;
    let result = drive(knobs, &server, &http).await;
    if result.is_err() {
        eprintln!("server log (last lines):\n{}", server.log_tail(20));
    }
    let passed = report::print(&result?);
    let log = server.log_tail(10);
    if !log.is_empty() {
        println!("\nserver log at RUST_LOG=warn (last lines):\n{log}");
    }
    Ok(passed)
}

async fn drive(knobs: &Knobs, server: &Server, http: &reqwest::Client) -> anyhow::Result<Figures> {
    print_header(knobs);
    let ready = server.status_kib("VmRSS:")?;
    tokio::time::sleep(SETTLE).await;
    let before = server.status_kib("VmRSS:")?;
    let sampler = Sampler::start(server.pid(), SAMPLE_PERIOD);
    let base = server.base.as_str();

    eprintln!("registrations: {}", knobs.registrations);
    let (registrations, emails) = load::run(knobs.registrations, knobs.clients, |index| async move {
        Ok(api::register(http, base, &format!("mem_{index}")).await?.email)
    })
    .await;
    // A server that died fails every request at once; this says so instead of going on.
    server.status_kib("VmRSS:").context("the server is gone after the registrations")?;
    ensure!(
        !emails.is_empty(),
        "no registration succeeded, so there is no one to log in: {}",
        registrations.first_error.as_deref().unwrap_or("")
    );

    eprintln!("logins: {}", knobs.logins);
    let (logins, _) =
        load::run(knobs.logins, knobs.clients, |index| api::login(http, base, &emails[index % emails.len()])).await;

    eprintln!("idle: {:.0} s", knobs.idle.as_secs_f64());
    let idle_started = Instant::now();
    tokio::time::sleep(knobs.idle).await;
    let after = server.status_kib("VmRSS:")?;
    let high_water = server.status_kib("VmHWM:")?;
    let samples = sampler.finish()?;

    let idle_marks = IDLE_MARKS
        .iter()
        .filter(|&&seconds| Duration::from_secs(seconds) < knobs.idle)
        .map(|&seconds| (seconds, sampler::first_from(&samples, idle_started + Duration::from_secs(seconds))))
        .collect();
    Ok(Figures {
        ready,
        before,
        peak: sampler::peak(&samples, registrations.started, Instant::now()),
        peak_registering: sampler::peak(&samples, registrations.started, registrations.ended),
        peak_logging_in: sampler::peak(&samples, logins.started, logins.ended),
        registrations,
        logins,
        high_water,
        idle_marks,
        idle: knobs.idle,
        after,
    })
}

fn print_header(knobs: &Knobs) {
    println!(
        "townsquare memory benchmark: {} cores, {}, {} registrations and {} logins from {} clients, {:.0} s idle",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        knobs.backend(),
        knobs.registrations,
        knobs.logins,
        knobs.clients,
        knobs.idle.as_secs_f64(),
    );
    println!("server binary: {}", knobs.server_bin.display());
    if let Ok(load) = fs::read_to_string("/proc/loadavg") {
        // Anything else running on the machine (a build, say) slows the phases down.
        println!("load average before the run: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    }
}

fn env_or<T: FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name).ok().filter(|value| !value.trim().is_empty()) {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|_| anyhow!("{name}={value:?} is not a valid number")),
    }
}
