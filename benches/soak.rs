//! Soak: a mixed load for a long time against the real server binary, watching whether any
//! of its resources keeps growing and whether any request or delivery fails.
//!
//! Run with `cargo bench --bench soak`. Knobs: `BENCH_SECONDS` (the load's length, default
//! 600, at least 60), `BENCH_SUBSCRIBERS` (the watched room's sockets, default 1,000) and
//! `BENCH_DATABASE_URL` (unset: a throw-away SQLite file; a `postgres://` URL: a fresh
//! database is created next to it for the run and dropped at the end); `BENCH_SERVER_BIN`
//! measures another build. This process is the
//! load generator, on one thread; the server is the release `townsquare` binary in a child
//! process (`cargo bench` builds it first) with its own working directory, only the variables
//! `benches/support/server.rs` sets, rate limits off and mail written to its log.
//!
//! Set-up: 20 actors, 4 listeners and 10 watchers register; an actor creates the watched room
//! and the churn room and each actor posts once. `BENCH_SUBSCRIBERS` sockets, spread over the
//! watchers (one user, many tabs, as the fan-out benchmark does), subscribe to the watched
//! room's `roomEvents` and stay for the whole run. Then the load, each operation on its own
//! ticker, open loop (`benches/soak/load.rs`):
//!
//! | operation | a second | what |
//! | --- | --- | --- |
//! | feed | 10 | `posts(first: 20)` with authors, likers, comments, counts |
//! | post | 1 | `createPost` |
//! | like | 2 | `likePost` of one of the 100 newest posts |
//! | comment | 1 | `addComment` on one of them (which notifies its author) |
//! | message | 2 | `sendMessage` to the watched room: 2,000 deliveries a second at 1,000 |
//! | login | 1 | `login` of an actor (one argon2 verification); its requests use the new session from then on |
//! | churn | 10 | connect, `connection_init`, subscribe, served, close: four ways in turn (below) |
//!
//! The churn's four ways: an actor joins the churn room (`roomEvents`) and completes then
//! closes; a listener subscribes to `notifications` and closes with it running; an actor joins
//! the churn room and drops the connection without a close frame; a listener subscribes to
//! `notifications`, completes and closes. About 17 requests and 10 socket cycles a second:
//! a fraction of what two cores serve, since the point is flatness, not throughput.
//!
//! Every watcher checks off each message (one bit a message; its body carries its sequence
//! number and send time) and times its delivery from the `sendMessage` request. After the
//! load, every message whose `sendMessage` succeeded must have reached every watcher exactly
//! once, and no watcher may have been closed.
//!
//! Every 10 s the sampler reads the server's `VmRSS`, threads and open descriptors
//! (`/proc/<pid>`) and from `/metrics`: the runtime's live tasks, database connections in use
//! and open, and the sizes of what must shrink back when sockets close: registry sockets,
//! operations, users, sessions, addresses and idle-sweep entries; broker topics and
//! listeners; rooms with presence; shared live operations.
//!
//! The report: per minute, each operation's count, failures, p50 and p99; the samples; then
//! each resource's least-squares slope after the warm-up (the first 2 minutes, or the first
//! 20% of a run shorter than 10 minutes), projected to an hour, with its verdict. A resource
//! keeps growing, which fails the run, when (`benches/soak/sampler.rs` holds the figures):
//!
//! - a count with an exact expected value (everything from the registry on) stays above the
//!   value it had with every watcher open and nothing else running, through every sample of
//!   the window's last third; or is not back to that value once the load has stopped and
//!   settled; or is not back to its value before any socket once every socket is closed. A
//!   churn socket in flight lifts one sample for milliseconds; a leak lifts all of them.
//! - any other resource (RSS, descriptors, threads, tasks, connections in use), which
//!   wanders with the load, when all three hold: the slope passes a limit an hour (RSS 8 MiB;
//!   descriptors 10, threads 5, tasks 20, connections in use 2); the growth the slope
//!   predicts over the window passes what the resource may wander while nothing leaks (RSS
//!   4 MiB; descriptors 3 a pool connection + 10; threads 1 a pool connection + 16; tasks 30;
//!   connections 3), so noise in a short run does not project to a large hourly figure; and
//!   the last third of the window averages above the middle third, so a step early in the
//!   window that then stays flat is not growth. All but RSS (the allocator keeps what it
//!   freed) must also come back to within that allowance of their value before any socket
//!   once every socket is closed.
//!
//! The run also fails when any operation failed or any delivery was lost, repeated or cut
//! short. It ends with a PASS or FAIL line per check; the exit status is 1 on any FAIL.
//! However it ends (a failure, a panic, Ctrl-C) the server is killed and the database and
//! working directory removed.

use std::{
    path::PathBuf,
    str::FromStr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow, ensure};
use futures_util::{StreamExt as _, stream};
use serde_json::json;
use tokio_util::sync::CancellationToken;

#[path = "soak/api.rs"]
mod api;
#[path = "soak/load.rs"]
mod load;
#[path = "support/proc_cpu.rs"]
mod proc_cpu;
#[path = "soak/record.rs"]
mod record;
#[path = "soak/report.rs"]
mod report;
#[path = "soak/sampler.rs"]
mod sampler;
#[path = "support/scratch.rs"]
mod scratch;
#[allow(dead_code)]
#[path = "support/server.rs"]
mod server;
#[path = "soak/verdict.rs"]
mod verdict;
#[path = "soak/watchers.rs"]
mod watchers;

use api::WAIT;
use load::{Actor, World};
use record::{Op, Recorder};
use sampler::{RESOURCES, Rule};
use server::Server;
use verdict::Snapshots;
use watchers::Watchers;

/// Users who read, write and chat.
const ACTORS: usize = 20;
/// Users who only open `notifications` sockets in the churn.
const LISTENERS: usize = 4;
/// Users whose sockets watch the room.
const WATCHER_USERS: usize = 10;
/// The index in [`RESOURCES`] of the registry's sockets.
const SOCKETS: usize = 6;
/// The index in [`RESOURCES`] of the registry's running operations.
const OPERATIONS: usize = 7;

/// The soak's knobs, read once from the environment.
struct Knobs {
    length: Duration,
    subscribers: usize,
    database_url: Option<String>,
}

impl Knobs {
    fn from_env() -> anyhow::Result<Self> {
        let seconds: f64 = env_or("BENCH_SECONDS", 600.0)?;
        ensure!(seconds >= 60.0, "BENCH_SECONDS must be 60 or more: the verdicts need a window after the warm-up");
        let subscribers = env_or("BENCH_SUBSCRIBERS", 1_000)?;
        ensure!(subscribers >= 1, "BENCH_SUBSCRIBERS must be 1 or more");
        let database_url = scratch::database_url_knob()?;
        Ok(Knobs { length: Duration::from_secs_f64(seconds), subscribers, database_url })
    }

    /// The warm-up left out of the slopes: 2 minutes, or 20% of a shorter run.
    fn warmup_seconds(&self) -> f64 {
        (self.length.as_secs_f64() * 0.2).min(120.0)
    }
}

fn main() -> anyhow::Result<()> {
    let knobs = Knobs::from_env()?;
    // One thread for every client: the server's figures come from /proc and /metrics and do
    // not depend on it, and on a small machine it leaves the other cores to the server.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("client runtime")?;
    if !runtime.block_on(guarded(knobs))? {
        std::process::exit(1);
    }
    Ok(())
}

/// Runs the soak and cleans up however it ends (an error, a panic, Ctrl-C or SIGTERM): the
/// server process is killed when the soak's future is dropped (its handle's `Drop`), then the
/// scratch database and the working directory are removed.
async fn guarded(knobs: Knobs) -> anyhow::Result<bool> {
    let dir = tempfile::tempdir().context("could not create a temporary directory")?;
    let scratch = match &knobs.database_url {
        Some(url) => Some(scratch::ScratchDatabase::create(url, "soak").await?),
        None => None,
    };
    let database_url = scratch.as_ref().map_or_else(
        || format!("sqlite://{}?mode=rwc", dir.path().join("soak.db").display()),
        |database| database.url.clone(),
    );
    let outcome = scratch::removing_afterwards(scratch, soak(knobs, dir.path().to_path_buf(), database_url)).await;
    drop(dir);
    outcome
}

async fn soak(knobs: Knobs, dir: PathBuf, database_url: String) -> anyhow::Result<bool> {
    let mut server = Server::start(&server::binary()?, &dir, &database_url)?;
    // No kept-alive connection for the probes: they would be tasks and descriptors of the
    // server that come and go with the probing, not with the load.
    let probe = reqwest::Client::builder().pool_max_idle_per_host(0).build()?;
    server.wait_ready(&probe).await?;
    let result = drive(&knobs, &server, &probe).await;
    if result.is_err() {
        eprintln!("server log (last lines):\n{}", server.log_tail(20));
    }
    result
}

async fn drive(knobs: &Knobs, server: &Server, probe: &reqwest::Client) -> anyhow::Result<bool> {
    print_header(knobs, &database_kind(knobs));
    // Idle kept-alive connections are let go after 5 s, before the server's 10 s header
    // timeout closes them: a request sent on a connection the server is closing would fail
    // through no fault of either.
    let http = reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(5)).build()?;
    let base = server.base.as_str();
    eprintln!("set-up: {} users", ACTORS + LISTENERS + WATCHER_USERS);
    let actors = register_all(&http, base, "soak_actor", ACTORS).await?;
    let listeners = register_all(&http, base, "soak_listener", LISTENERS).await?;
    let watchers = register_all(&http, base, "soak_watcher", WATCHER_USERS).await?;
    let room = |name: &'static str| {
        let (http, token) = (&http, actors[0].token.clone());
        async move {
            let data = api::graphql(
                http,
                base,
                Some(&token),
                "mutation($n: String!) { createRoom(name: $n) { id } }",
                json!({ "n": name }),
            )
            .await?;
            data["createRoom"]["id"].as_str().map(str::to_owned).context("no room id")
        }
    };
    let (watched_room, churn_room) = (room("soak-watched").await?, room("soak-churn").await?);
    let recorder = Arc::new(Recorder::new());
    let world = Arc::new(World {
        http: http.clone(),
        base: base.to_string(),
        ws_url: server.ws_url(),
        actors: actors.into_iter().map(|a| Actor { email: a.email, token: Mutex::new(a.token) }).collect(),
        listeners: listeners.into_iter().map(|account| account.token).collect(),
        watched_room: watched_room.clone(),
        churn_room,
        posts: Mutex::default(),
        messages: Mutex::default(),
        recorder: recorder.clone(),
        churn_open: Arc::new(AtomicUsize::new(0)),
    });
    for (index, actor) in world.actors.iter().enumerate() {
        let data = api::graphql(
            &http,
            base,
            Some(&actor.token()),
            "mutation($b: String!) { createPost(body: $b) { id } }",
            json!({ "b": format!("soak opening post {index}") }),
        )
        .await?;
        world.remember_post(data["createPost"]["id"].as_str().context("no post id")?.to_string());
    }

    let before = settle(server, probe, |values| values[SOCKETS] == 0.0).await?;
    eprintln!("set-up: {} watchers", knobs.subscribers);
    let tokens: Vec<String> = watchers.into_iter().map(|account| account.token).collect();
    let watchers =
        Watchers::open(&server.ws_url(), &tokens, knobs.subscribers, &watched_room, recorder.clone()).await?;
    let n = knobs.subscribers as f64;
    let (watched, pool_max) = settle(server, probe, |values| values[SOCKETS] == n && values[OPERATIONS] == n).await?;

    eprintln!("load: {:.0} s", knobs.length.as_secs_f64());
    let own_cpu_before = own_cpu_seconds();
    recorder.begin();
    let stop_sampling = CancellationToken::new();
    let load = async {
        load::run(world.clone(), knobs.length).await;
        stop_sampling.cancel();
    };
    let ((), samples) =
        tokio::join!(load, sampler::run(server, probe, world.churn_open.clone(), stop_sampling.clone()));
    let own_cpu_percent = 100.0 * (own_cpu_seconds() - own_cpu_before) / recorder.start().elapsed().as_secs_f64();

    eprintln!("wind-down: waiting for the last deliveries, then closing every socket");
    let sent = world.sent_messages();
    let expected = sent.len() as u64 * knobs.subscribers as u64;
    let deadline = Instant::now() + WAIT;
    while watchers.delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (settled, _) = settle(server, probe, |values| same_counts(values, &watched)).await?;
    let seen = watchers.stop().await;
    let mut lost = 0;
    for &(seq, minute) in &sent {
        let missing = seen.iter().filter(|watcher| !watcher.has(seq)).count();
        if missing > 0 {
            lost += missing;
            let message = format!("message {seq}: {missing} of {} watchers never received it", seen.len());
            recorder.errors(Op::Delivery, minute, missing as u64, &message);
        }
    }
    let duplicates: u64 = seen.iter().map(|watcher| watcher.duplicates).sum();
    let cut_short: Vec<&String> = seen.iter().filter_map(|watcher| watcher.ended.as_ref()).collect();
    // The load's kept-alive connections go with its client.
    drop(world);
    drop(http);
    let (closed, _) = settle(server, probe, |values| same_counts(values, &before.0)).await?;

    let minutes = recorder.minutes();
    report::print_minutes(&minutes);
    report::print_samples(&samples);
    let snapshots = Snapshots { before: before.0, watched, settled, closed, pool_max };
    let verdicts = verdict::judge(&samples, knobs.warmup_seconds(), &snapshots);

    let (completed, failed) = minutes
        .iter()
        .flatten()
        .fold((0, 0), |(completed, failed), histogram| (completed + histogram.count, failed + histogram.errors));
    let errors = recorder.first_errors();
    if !errors.is_empty() {
        println!("\nfirst failures:");
        errors.iter().for_each(|error| println!("  {error}"));
    }
    if let Some(first) = cut_short.first() {
        println!("\n{} watchers closed early; the first: {first}", cut_short.len());
    }
    // A load generator near a full core would time its own queueing, not the server.
    println!("\nthe load generator (this process, one thread) used {own_cpu_percent:.0}% of a core during the load");
    let (log_lines, log_tail) = server.log_lines(10);
    if log_lines > 0 {
        println!("\nserver log at RUST_LOG=warn: {log_lines} lines; the last:\n{log_tail}");
    }
    let mut checks = vec![
        (failed == 0, format!("no operation failed: {completed} completed, {failed} failed")),
        (
            lost == 0 && duplicates == 0 && cut_short.is_empty(),
            format!(
                "every message reached every watcher once: {} messages x {} watchers, {lost} lost, {duplicates} twice, {} watchers closed early",
                sent.len(),
                knobs.subscribers,
                cut_short.len()
            ),
        ),
    ];
    checks.extend(verdicts);
    println!();
    for (passed, line) in &checks {
        println!("{}  {line}", if *passed { "PASS" } else { "FAIL" });
    }
    Ok(checks.iter().all(|(passed, _)| *passed))
}

/// Whether every count with an exact expected value equals `target`'s.
fn same_counts(values: &[f64; RESOURCES.len()], target: &[f64; RESOURCES.len()]) -> bool {
    RESOURCES.iter().zip(values.iter().zip(target)).all(|(resource, (value, target))| {
        !matches!(resource.rule, Rule::Baseline) || value == target || (value.is_nan() && target.is_nan())
    })
}

/// Reads the resources until `done` holds of them, for at most [`WAIT`]: the server's
/// clean-up after a close is asynchronous. Waits a second first, for the last requests'
/// tasks and connections to end. Returns the last reading and the pool's maximum.
async fn settle(
    server: &Server,
    probe: &reqwest::Client,
    done: impl Fn(&[f64; RESOURCES.len()]) -> bool,
) -> anyhow::Result<([f64; RESOURCES.len()], f64)> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let reading = sampler::read(server, probe).await?;
        if done(&reading.0) || Instant::now() > deadline {
            return Ok(reading);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Registers `count` users named `<prefix>_<i>`, a few at a time (each is an argon2 hash).
async fn register_all(
    http: &reqwest::Client,
    base: &str,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<api::Account>> {
    stream::iter(0..count)
        .map(|index| async move { api::register(http, base, &format!("{prefix}_{index:02}")).await })
        .buffered(4)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

fn database_kind(knobs: &Knobs) -> String {
    match &knobs.database_url {
        Some(url) => format!("PostgreSQL (a scratch database next to {})", redact(url)),
        None => "SQLite (a throw-away file)".into(),
    }
}

/// `url` without its password, for the report.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(an unparsable URL)".into(),
    }
}

fn print_header(knobs: &Knobs, database: &str) {
    let rates: Vec<String> = load::RATES.iter().map(|(op, rate)| format!("{} {rate}/s", op.name())).collect();
    println!(
        "townsquare soak: {:.0} s of load, {} watchers of one room, {database}, {} cores",
        knobs.length.as_secs_f64(),
        knobs.subscribers,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    );
    println!("rates: {}", rates.join(", "));
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        // Anything else running on the machine (a build, say) shows in the latencies.
        println!("load average before the run: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    }
}

/// This process's user + system CPU seconds (NaN if `/proc` cannot say).
fn own_cpu_seconds() -> f64 {
    proc_cpu::user_and_system("/proc/self/stat").map_or(f64::NAN, |(user, system)| user + system)
}

fn env_or<T: FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name).ok().filter(|value| !value.trim().is_empty()) {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|_| anyhow!("{name}={value:?} is not a valid number")),
    }
}
