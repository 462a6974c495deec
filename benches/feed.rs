//! The feed page over GraphQL against the same work without GraphQL: what the GraphQL layer
//! costs on the request the feed screen sends most (the feed-throughput issue, 14).
//!
//! Run with `cargo bench --bench feed`. The page is `posts(first: 20)` with, per post, `id
//! body createdAt likeCount likedByViewer commentCount`, the author, `likers(first: 10)`,
//! `comments(first: 10)` with their authors and `commenters(first: 10)`, plus each edge's
//! cursor and `pageInfo { hasNextPage endCursor }`, POSTed to `/graphql` with a viewer's
//! bearer token so `likedByViewer` runs: five statements a request (the page, then the
//! likers, comments, commenters and the viewer's likes of all its posts, one statement each).
//!
//! Two servers answer it, each a child process so that `/proc/<pid>/stat` gives the CPU it
//! spent serving and nothing else:
//!
//! - the GraphQL server: the release `townsquare` binary (`cargo bench` builds it), or the
//!   build `BENCH_SERVER_BIN` names, so two builds can be compared against the same baseline
//!   (always this tree's); started with only the variables `benches/support/server.rs` sets
//!   (rate limits off, `RUST_LOG=warn`);
//! - the baseline: this bench binary run again with `FEED_BASELINE_LISTEN` set
//!   (`benches/feed/baseline.rs`), a hand-written axum handler that verifies the token with
//!   townsquare's `TokenKeys`, runs the same statements through `townsquare::db::feed` with
//!   the same arguments (the four per-post lists concurrently, as `prefetch_post_lists`
//!   does), on a pool opened by `townsquare::db::connect` with the server's default settings,
//!   and writes the answer with serde. What it leaves out is what is measured: GraphQL
//!   parsing, validation, admission and execution, the DataLoader, the session row (which
//!   the server caches, so at most one read a minute), and the server's middleware.
//!
//! For each backend in `BENCH_FEED_BACKENDS` (default `sqlite,postgres`): a throw-away
//! SQLite file, or a fresh PostgreSQL database created next to `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and dropped at the end. The data is made
//! through the API (`benches/feed/seed.rs`): 30 users register, write 40 posts, and the
//! newest 24 get 0 to 12 likes and comments each, some past the lists' 10, for an answer of
//! about 40 KB. Before anything is measured, the two servers' answers, parsed as JSON, must
//! be equal: the same work gives the same answer, or the bench stops with where they differ.
//!
//! Then for each concurrency in `BENCH_FEED_CLIENTS` (default `1,4,16`), the GraphQL server
//! and then the baseline get a closed-loop load: that many clients, each with its own
//! kept-alive connection, each sending the next request as soon as the last answer is read;
//! 1 s of warm-up, then `BENCH_SECONDS` (default 10, fractions allowed) measured. The load
//! generator is this process, on one thread. Each run reports requests a second, requests
//! per CPU-second of the serving process (user + system), p50 and p99 (exact, from every
//! recorded duration), SQL statements per request (the server's `db_statements_total` from
//! `/metrics`, the baseline's own counter), bytes per answer, and the share of a core this
//! process used: on two cores the load generator competes with the server it measures.
//!
//! Targets, on PostgreSQL: GraphQL's requests per server CPU-second at least 0.67x the
//! baseline's at 16 clients (the ratio is printed at every concurrency), and its p99 at 16
//! clients at most 1.5x the baseline's. SQLite's ratios are printed as information. Any
//! answer that is not a 200 with data and no `errors` fails the run. The report ends with a
//! PASS or FAIL line per check and the process exits with status 1 on any FAIL. However it
//! ends (a failure, a panic, Ctrl-C), both servers are killed and the database removed.

use std::{path::PathBuf, str::FromStr, time::Duration};

use anyhow::{Context as _, anyhow, bail, ensure};

// The soak's GraphQL helper; its socket helpers are not used here.
#[allow(dead_code)]
#[path = "soak/api.rs"]
mod api;
#[path = "feed/baseline.rs"]
mod baseline;
#[path = "feed/compare.rs"]
mod compare;
#[path = "feed/database.rs"]
mod database;
#[path = "feed/figures.rs"]
mod figures;
#[path = "feed/load.rs"]
mod load;
#[path = "feed/page.rs"]
mod page;
#[path = "support/proc_cpu.rs"]
mod proc_cpu;
#[path = "feed/process.rs"]
mod process;
#[path = "feed/report.rs"]
mod report;
// The scratch PostgreSQL database; the knob and the guard are not used here.
#[allow(dead_code)]
#[path = "support/scratch.rs"]
mod scratch;
#[path = "feed/seed.rs"]
mod seed;
#[allow(dead_code)]
#[path = "support/server.rs"]
mod server;
#[path = "feed/verdict.rs"]
mod verdict;

use database::{Backend, Database};
use figures::{BackendResult, Comparison};
use load::{Endpoint, FeedRequest};
use process::Process;

/// Load before each measured window, not counted: connections are made, caches and the
/// servers' pools are warm.
const WARMUP: Duration = Duration::from_secs(1);

/// The database the PostgreSQL scratch database is created next to, when
/// `TEST_DATABASE_URL` is unset (the tests' default).
const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The bench's knobs, read once from the environment.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// Each run's measured window.
    pub window: Duration,
    /// The concurrencies, in the order they run.
    pub clients: Vec<usize>,
    /// The backends, in the order they run.
    pub backends: Vec<Backend>,
    /// `TEST_DATABASE_URL`.
    pub admin_url: String,
    /// The GraphQL server's binary.
    pub server_binary: PathBuf,
}

impl Knobs {
    fn from_env() -> anyhow::Result<Self> {
        let seconds: f64 = env_or("BENCH_SECONDS", 10.0)?;
        let window = Duration::try_from_secs_f64(seconds).context("BENCH_SECONDS is out of range")?;
        ensure!(!window.is_zero(), "BENCH_SECONDS must be greater than 0");
        let clients = env_list("BENCH_FEED_CLIENTS", "1,4,16")?
            .iter()
            .map(|item| item.parse::<usize>().ok().filter(|&clients| clients >= 1))
            .collect::<Option<Vec<_>>>()
            .context("BENCH_FEED_CLIENTS must list whole numbers of 1 or more, e.g. 1,4,16")?;
        let backends = env_list("BENCH_FEED_BACKENDS", "sqlite,postgres")?
            .iter()
            .map(|name| Backend::parse(name))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_TEST_DATABASE_URL.into());
        Ok(Knobs { window, clients, backends, admin_url, server_binary: server::binary()? })
    }
}

fn main() -> anyhow::Result<()> {
    // The baseline's process is this binary run again: it serves until it is killed.
    if let Ok(listen) = std::env::var(baseline::LISTEN_VAR) {
        return baseline::serve(&listen);
    }
    let knobs = Knobs::from_env()?;
    // One thread for every client: the servers' figures come from /proc and do not depend on
    // it, and on a small machine it leaves the other cores to the server under test.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("client runtime")?;
    report::print_header(&knobs);
    let mut results = Vec::new();
    for &backend in &knobs.backends {
        let rows = runtime.block_on(guarded(&knobs, backend))?;
        results.push(BackendResult { backend, rows });
    }
    let lines = verdict::judge(&results);
    report::print_verdicts(&lines);
    // An error, not `process::exit`, like the auth bench: every temporary file is gone by now.
    if lines.iter().any(verdict::Line::failed) {
        bail!("a target was missed or a request failed (see the FAIL lines above)");
    }
    Ok(())
}

/// Runs one backend in a task of its own and cleans up however it ends: both servers are
/// killed when the task's future is dropped (their handles' `Drop`), then the scratch
/// database and the working directory are removed.
async fn guarded(knobs: &Knobs, backend: Backend) -> anyhow::Result<Vec<Comparison>> {
    let dir = tempfile::tempdir().context("could not create a temporary directory")?;
    let database = Database::create(backend, dir.path(), &knobs.admin_url).await?;
    let mut run =
        tokio::spawn(serve_and_measure(knobs.clone(), backend, dir.path().to_path_buf(), database.url.clone()));
    let outcome = tokio::select! {
        joined = &mut run => joined.unwrap_or_else(|error| Err(anyhow!("the {} run panicked: {error}", backend.name()))),
        _ = tokio::signal::ctrl_c() => {
            run.abort();
            let _ = run.await;
            Err(anyhow!("interrupted"))
        }
    };
    if let Err(error) = database.remove().await {
        eprintln!("could not remove the {} database: {error:#}", backend.name());
    }
    drop(dir);
    let rows = outcome?;
    report::print_backend(backend, &database::describe(backend, &knobs.admin_url), &rows);
    Ok(rows)
}

/// Starts both servers on `database_url`, seeds it, checks that they answer alike, and runs
/// every concurrency against each.
async fn serve_and_measure(
    knobs: Knobs,
    backend: Backend,
    dir: PathBuf,
    database_url: String,
) -> anyhow::Result<Vec<Comparison>> {
    let probe = reqwest::Client::new();
    let port = process::free_port()?;
    let mut server =
        Process::spawn("GraphQL server", server::serve_command(&knobs.server_binary, port, &database_url), &dir, port)?;
    server.wait_ready(&probe).await?;
    // Started once the server has migrated the database; its own migration run finds
    // nothing to do.
    let port = process::free_port()?;
    let mut baseline = Process::spawn("baseline", baseline::command(port, &database_url)?, &dir, port)?;
    baseline.wait_ready(&probe).await?;
    let outcome = measure_all(&knobs, backend, &probe, &server, &baseline).await;
    if outcome.is_err() {
        eprintln!("GraphQL server log (last lines):\n{}", server.log_tail(20));
        eprintln!("baseline log (last lines):\n{}", baseline.log_tail(20));
    }
    outcome
}

async fn measure_all(
    knobs: &Knobs,
    backend: Backend,
    probe: &reqwest::Client,
    server: &Process,
    baseline: &Process,
) -> anyhow::Result<Vec<Comparison>> {
    eprintln!("{}: seeding through the API", backend.name());
    let viewer = seed::seed(probe, &server.base).await?;
    let request = FeedRequest::new(&viewer);
    let graphql = Endpoint::of("GraphQL", server);
    let baseline = Endpoint::of("baseline", baseline);
    let answer = compare::same_answer(probe, &request, &graphql, &baseline).await?;
    report::print_page(backend, &answer);
    let mut rows = Vec::with_capacity(knobs.clients.len());
    for &clients in &knobs.clients {
        eprintln!("{}: {} against GraphQL, then the baseline", backend.name(), figures::clients(clients));
        let graphql = load::measure(&graphql, &request, clients, WARMUP, knobs.window).await?;
        let baseline = load::measure(&baseline, &request, clients, WARMUP, knobs.window).await?;
        rows.push(Comparison { clients, graphql, baseline });
    }
    Ok(rows)
}

/// The comma-separated items of `name`, or of `default` when it is unset or blank.
fn env_list(name: &str, default: &str) -> anyhow::Result<Vec<String>> {
    let value = std::env::var(name).ok().filter(|value| !value.trim().is_empty());
    let items: Vec<String> = value
        .as_deref()
        .unwrap_or(default)
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect();
    ensure!(!items.is_empty(), "{name} lists nothing");
    Ok(items)
}

fn env_or<T: FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name).ok().filter(|value| !value.trim().is_empty()) {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|_| anyhow!("{name}={value:?} is not a valid number")),
    }
}
