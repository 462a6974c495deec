//! The subscription-connections issue's targets, measured against the real server binary:
//! memory per idle socket, CPU while those sockets sit idle, and connection cycles per second.
//!
//! Run with `cargo bench --bench sockets` (one command: cargo builds the `townsquare` binary in
//! the release-based bench profile before it runs a benchmark, and this process starts it from
//! `CARGO_BIN_EXE_townsquare`). This process is the load generator; the server is a separate
//! child process, so its `/proc` figures hold nothing of the clients. It gets a throw-away
//! SQLite database with the demo data (alice to erin, password `townsquare-demo`), its own
//! working directory (no `.env` is read) and only the variables set below.
//!
//! `BENCH_DATABASE_URL` set to a `postgres://` URL runs it on PostgreSQL instead: a fresh
//! database is created next to the one the URL names, the server migrates it and seeds the
//! same demo data into it at start-up (`SEED_DEMO=on`, as on SQLite), and it is dropped at the
//! end, however the run ends (a failure, a panic, Ctrl-C, SIGTERM). The report names the
//! database.
//!
//! Before the phases, bob comments on a post of alice's, so alice has exactly one unread
//! notification and every `notifications` subscription answers with it at once: a socket
//! counts as open only when its subscription has run, backlog query included.
//!
//! 1. Memory: `BENCH_SOCKETS` (default 10,000) sockets sign in as alice and subscribe to
//!    `notifications`, `OPEN_CONCURRENCY` being opened at a time. The first 200 warm the server
//!    up (one-time allocations: pools, caches, the runtime's first timers) and are left out:
//!    the growth of the server's `VmRSS` from there, divided by the other sockets. Target: at
//!    most 8 KiB a socket. (Each subscription also keeps the id of the notification it sent in
//!    its backlog, a few dozen bytes.)
//! 2. Idle CPU: the server's user + system time (`/proc/<pid>/stat`) over `BENCH_IDLE_SECONDS`
//!    (default 60) while every socket stays open and silent, idle expiry on. Target: at most
//!    0.5% of one core. The idle sweep runs every `BENCH_SWEEP_SECONDS` (default 1), not every
//!    minute as the server's default, so the figure is on the high side (`BENCH_SWEEP_SECONDS=60`
//!    measures the default); keepalive pings (every 30 s to every socket) and their pongs are
//!    part of it, as they are in production.
//! 3. Fan-out (a check, not a target): bob comments again and every socket must receive the
//!    notification, which shows each subscription is still live after the idle minute.
//! 4. Cycles: after every socket is closed, `BENCH_CYCLES` (default 2,000) times connect,
//!    `connection_init`, ack, subscribe, the first backlog result, `complete`, close, from
//!    `BENCH_CYCLE_CONCURRENCY` (default 16) clients at once: cycles per second of wall time
//!    and per second of server CPU. Afterwards `/metrics` must show no live connection or
//!    subscription, and `VmRSS` over the two halves of the run shows whether memory keeps
//!    growing.
//!
//! The client side is one current-thread runtime with one task a socket that waits for the
//! next frame: reading is what makes tungstenite answer the server's pings, and a socket that
//! leaves two pings unanswered is closed by the server.
//!
//! Then, unless `BENCH_SOCKETS_BASELINE=off`, the idle phase is measured again against a
//! baseline server that only sends the pings (see `pings_only`): the floor under any server's
//! idle figure on this machine.
//!
//! `BENCH_SERVER_BIN` names another server binary to measure (to compare two builds).
//!
//! Each process may hold `ulimit -n` sockets: 10,000 needs a limit of at least 10,100 (the
//! server and this process each hold one end). The report ends with a PASS or FAIL line per
//! check, and the process exits with status 1 when one fails.

use std::{
    fs,
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    str::FromStr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow, bail, ensure};

#[path = "support/loopback.rs"]
mod loopback;
#[path = "support/proc_cpu.rs"]
mod proc_cpu;
#[path = "support/scratch.rs"]
mod scratch;
use futures_util::{SinkExt as _, StreamExt as _, stream};
use scratch::ScratchDatabase;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{
        Message,
        client::IntoClientRequest as _,
        http::{HeaderValue, header::SEC_WEBSOCKET_PROTOCOL},
        protocol::WebSocketConfig,
    },
};
use tokio_util::sync::CancellationToken;

/// The demo users' password (`townsquare::seed::DEMO_PASSWORD`, repeated so this file reads
/// on its own).
const DEMO_PASSWORD: &str = "townsquare-demo";

const SUBSCRIBE: &str =
    r#"{"id":"1","type":"subscribe","payload":{"query":"subscription { notifications { id kind } }"}}"#;
const COMPLETE: &str = r#"{"id":"1","type":"complete"}"#;

/// Sockets opened before the memory baseline is read; their cost is not counted.
const WARM_SOCKETS: usize = 200;
/// Sockets being opened at once: enough to open 10,000 in seconds, few enough to stay well
/// under the server's listen backlog.
const OPEN_CONCURRENCY: usize = 200;
/// Time given to the server after a step before its memory is read, for freed buffers and
/// finished tasks to settle.
const SETTLE: Duration = Duration::from_secs(3);
/// How long any one expected answer may take before the run is abandoned.
const WAIT: Duration = Duration::from_secs(30);
/// Unmeasured cycles run first, so the measured ones find pools and caches warm.
const WARM_CYCLES: usize = 50;

const MEMORY_TARGET_KIB: f64 = 8.0;
const IDLE_CPU_TARGET_PERCENT: f64 = 0.5;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The benchmark's knobs, read once from the environment.
struct Knobs {
    sockets: usize,
    idle: Duration,
    /// The server's `SESSION_SWEEP_INTERVAL_SECONDS`.
    sweep_seconds: f64,
    cycles: usize,
    cycle_concurrency: usize,
    /// `BENCH_DATABASE_URL`: where the scratch PostgreSQL database is made; `None` for SQLite.
    database_url: Option<String>,
}

impl Knobs {
    fn from_env() -> anyhow::Result<Self> {
        let database_url = scratch::database_url_knob()?;
        let knobs = Knobs {
            sockets: env_or("BENCH_SOCKETS", 10_000)?,
            idle: Duration::try_from_secs_f64(env_or("BENCH_IDLE_SECONDS", 60.0)?)
                .context("BENCH_IDLE_SECONDS is out of range")?,
            sweep_seconds: env_or("BENCH_SWEEP_SECONDS", 1.0)?,
            cycles: env_or("BENCH_CYCLES", 2_000)?,
            cycle_concurrency: env_or("BENCH_CYCLE_CONCURRENCY", 16)?,
            database_url,
        };
        ensure!(knobs.sockets > WARM_SOCKETS, "BENCH_SOCKETS must be more than the {WARM_SOCKETS} warm-up sockets");
        ensure!(!knobs.idle.is_zero(), "BENCH_IDLE_SECONDS must be greater than 0");
        ensure!(knobs.sweep_seconds >= 1.0, "BENCH_SWEEP_SECONDS must be 1 or more");
        ensure!(
            knobs.cycles >= 2 && knobs.cycle_concurrency >= 1,
            "BENCH_CYCLES must be 2 or more, BENCH_CYCLE_CONCURRENCY 1 or more"
        );
        Ok(knobs)
    }

    /// The database the report names.
    fn backend(&self) -> &'static str {
        if self.database_url.is_some() { "PostgreSQL" } else { "SQLite" }
    }
}

fn main() -> anyhow::Result<()> {
    if let Ok(port) = std::env::var(pings_only::PORT_VARIABLE) {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("server runtime")?;
        return runtime.block_on(pings_only::serve(port.parse()?));
    }
    let knobs = Knobs::from_env()?;
    check_file_limit(knobs.sockets)?;
    // One thread for every client: the server's figures come from /proc and do not depend on
    // it, and on a small machine it leaves the other cores to the server.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("client runtime")?;
    let passed = runtime.block_on(guarded(&knobs))?;
    if !passed {
        std::process::exit(1);
    }
    Ok(())
}

/// Every figure the report prints.
struct Report {
    rss_start: u64,
    rss_warm: u64,
    rss_subscribed: u64,
    measured_sockets: usize,
    idle_cpu_percent: f64,
    idle_seconds: f64,
    closed_while_idle: usize,
    first_close: Option<String>,
    fan_out: usize,
    fan_out_time: Duration,
    rss_after_close: u64,
    cycles: usize,
    cycle_wall: Duration,
    cycle_server_cpu: f64,
    cycle_client_cpu: f64,
    cycle_latency: Vec<Duration>,
    rss_cycles: [u64; 3],
    live_after: (f64, f64),
}

/// Runs the benchmark on the database `BENCH_DATABASE_URL` asks for, then drops the scratch
/// PostgreSQL database however the run ended: on Ctrl-C or SIGTERM, dropping `run`'s future
/// kills the server first.
async fn guarded(knobs: &Knobs) -> anyhow::Result<bool> {
    let scratch = match &knobs.database_url {
        Some(url) => Some(ScratchDatabase::create(url, "sockets").await?),
        None => None,
    };
    let database_url = scratch.as_ref().map(|database| database.url.clone());
    scratch::removing_afterwards(scratch, run(knobs, database_url.as_deref())).await
}

/// The benchmark against a server on `database_url`, or on a throw-away SQLite file when
/// `None`.
async fn run(knobs: &Knobs, database_url: Option<&str>) -> anyhow::Result<bool> {
    let server = Server::start(knobs, database_url)?;
    let http = reqwest::Client::new();
    server.wait_ready(&http).await?;
    let result = measure(knobs, &server, &http).await;
    if result.is_err() {
        eprintln!("server log (last lines):\n{}", server.log_tail(20));
    }
    let report = result?;
    let passed = print_report(knobs, &report);
    print_floor(knobs, &report)?;
    let log = server.log_tail(10);
    drop(server);
    if std::env::var("BENCH_SOCKETS_BASELINE").as_deref() != Ok("off") {
        eprintln!("baseline: {} sockets on a server that only pings them", knobs.sockets);
        let percent = pings_only::measure(knobs).await?;
        println!(
            "baseline, a server that only sends the pings (one loop, one send a ping, pongs never read): {percent:.3}% of a core"
        );
    }
    if !log.is_empty() {
        println!("\nserver log at RUST_LOG=warn (last lines):\n{log}");
    }
    Ok(passed)
}

async fn measure(knobs: &Knobs, server: &Server, http: &reqwest::Client) -> anyhow::Result<Report> {
    let graphql_url = format!("{}/graphql", server.base);
    let ws_url = format!("{}/graphql", server.base.replacen("http", "ws", 1));
    let alice = login(http, &graphql_url, "alice@example.com").await?;
    let bob = login(http, &graphql_url, "bob@example.com").await?;
    // Exactly one unread notification: every `notifications` subscription answers with it at
    // once, so a socket counts as open only when its subscription has run (backlog query
    // included). Without an answer to wait for, sockets would be opened faster than the
    // database serves their backlog queries, and thousands of queries in flight would leave
    // their transient memory in the server's RSS.
    graphql(http, &graphql_url, &alice, "mutation { markNotificationsRead }", json!({})).await?;
    let post = post_of(http, &graphql_url, &bob, "alice").await?;
    notify(http, &graphql_url, &bob, &post).await?;
    let client = Client { ws_url: ws_url.clone(), init: init_message(&alice) };

    println!(
        "townsquare socket benchmark: {} cores, {}, {} sockets, {:.0} s idle, {} cycles from {} clients",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        knobs.backend(),
        knobs.sockets,
        knobs.idle.as_secs_f64(),
        knobs.cycles,
        knobs.cycle_concurrency,
    );
    if let Ok(load) = fs::read_to_string("/proc/loadavg") {
        // Anything else running on the machine (a build, say) skews the CPU figures.
        println!("load average before the run: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    }

    eprintln!("phase 1/4: opening {} sockets", knobs.sockets);
    let rss_start = server.rss_kib()?;
    let tally = Arc::new(Tally::default());
    let stop = CancellationToken::new();
    client.open_many(WARM_SOCKETS, &stop, &tally).await?;
    require_live(http, server, WARM_SOCKETS, WARM_SOCKETS).await?;
    tokio::time::sleep(SETTLE).await;
    let rss_warm = server.rss_kib()?;

    let measured_sockets = knobs.sockets - WARM_SOCKETS;
    client.open_many(measured_sockets, &stop, &tally).await?;
    require_live(http, server, knobs.sockets, knobs.sockets).await?;
    tokio::time::sleep(SETTLE).await;
    let rss_subscribed = server.rss_kib()?;

    eprintln!("phase 2/4: {:.0} s idle", knobs.idle.as_secs_f64());
    let open_before = tally.open.load(Ordering::Relaxed);
    let (cpu_before, started) = (server.cpu_seconds()?, Instant::now());
    tokio::time::sleep(knobs.idle).await;
    let (cpu_after, idle_wall) = (server.cpu_seconds()?, started.elapsed());
    let idle_cpu_percent = 100.0 * (cpu_after - cpu_before) / idle_wall.as_secs_f64();
    let closed_while_idle = open_before - tally.open.load(Ordering::Relaxed);

    eprintln!("phase 3/4: one notification to every socket");
    let nexts_before = tally.nexts.load(Ordering::Relaxed);
    let sent = Instant::now();
    notify(http, &graphql_url, &bob, &post).await?;
    let expected = tally.open.load(Ordering::Relaxed);
    let deadline = sent + WAIT;
    while tally.nexts.load(Ordering::Relaxed) - nexts_before < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (fan_out, fan_out_time) = (tally.nexts.load(Ordering::Relaxed) - nexts_before, sent.elapsed());

    stop.cancel();
    let deadline = Instant::now() + WAIT;
    while tally.open.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    require_live(http, server, 0, 0).await?;
    tokio::time::sleep(SETTLE).await;
    let rss_after_close = server.rss_kib()?;

    eprintln!("phase 4/4: {} connect-to-close cycles", knobs.cycles);
    client.cycles(WARM_CYCLES, knobs.cycle_concurrency).await?;
    let rss_before_cycles = server.rss_kib()?;
    let (cpu_before, client_before, started) = (server.cpu_seconds()?, own_cpu_seconds()?, Instant::now());
    let mut cycle_latency = client.cycles(knobs.cycles / 2, knobs.cycle_concurrency).await?;
    let rss_half = server.rss_kib()?;
    cycle_latency.extend(client.cycles(knobs.cycles - knobs.cycles / 2, knobs.cycle_concurrency).await?);
    let (cycle_wall, cycle_server_cpu, cycle_client_cpu) =
        (started.elapsed(), server.cpu_seconds()? - cpu_before, own_cpu_seconds()? - client_before);
    let live_after = live_counts(http, server, 0, 0).await;
    let rss_end = server.rss_kib()?;
    cycle_latency.sort_unstable();

    let first_close = tally.first_close.lock().unwrap_or_else(PoisonError::into_inner).clone();
    Ok(Report {
        rss_start,
        rss_warm,
        rss_subscribed,
        measured_sockets,
        idle_cpu_percent,
        idle_seconds: idle_wall.as_secs_f64(),
        closed_while_idle,
        first_close,
        fan_out,
        fan_out_time,
        rss_after_close,
        cycles: knobs.cycles,
        cycle_wall,
        cycle_server_cpu,
        cycle_client_cpu,
        cycle_latency,
        rss_cycles: [rss_before_cycles, rss_half, rss_end],
        live_after,
    })
}

/// Seconds between the server's pings (set in `Server::start`).
const KEEPALIVE_SECONDS: f64 = 30.0;

/// Prints what the kernel alone charges for the idle minute's pings and pongs here.
fn print_floor(knobs: &Knobs, r: &Report) -> anyhow::Result<()> {
    // A server ping is a 2-byte frame; a client's pong 6 bytes.
    let floor = loopback::measure(2, 2_000, 10)?;
    let per_ping = floor.send_micros + floor.recv_micros;
    let pings = knobs.sockets as f64 * r.idle_seconds / KEEPALIVE_SECONDS;
    let percent = 100.0 * pings * per_ping * 1e-6 / r.idle_seconds;
    println!();
    println!(
        "kernel floor, bare loopback sockets in this process: a ping's send {:.2} µs + its pong's recv {:.2} µs",
        floor.send_micros, floor.recv_micros
    );
    println!(
        "so {} sockets pinged every {KEEPALIVE_SECONDS:.0} s cost at least {percent:.3}% of a core in system calls alone",
        knobs.sockets
    );
    Ok(())
}

/// Prints the table and the verdicts; true when every check passes.
fn print_report(knobs: &Knobs, r: &Report) -> bool {
    // Signed: with few sockets the allocator may hand back more than they take, and a figure
    // below zero says the run measured nothing, where a clamped 0 would read as a pass.
    let memory = (r.rss_subscribed as f64 - r.rss_warm as f64) / r.measured_sockets as f64;
    let cycle_rate = r.cycles as f64 / r.cycle_wall.as_secs_f64();
    // Below one clock tick of server CPU (a very short run) the rate is unknown, not infinite.
    let cycles_per_cpu = if r.cycle_server_cpu > 0.0 {
        format!("{:.0}/s", r.cycles as f64 / r.cycle_server_cpu)
    } else {
        "n/a".to_string()
    };
    let percentile = |p: f64| {
        let rank = ((p * r.cycle_latency.len() as f64).ceil() as usize).clamp(1, r.cycle_latency.len().max(1));
        r.cycle_latency.get(rank - 1).copied().unwrap_or_default()
    };

    println!();
    println!("{:<58} {:>16}  target", "measure", "result");
    println!(
        "{:<58} {:>16}",
        format!("server VmRSS: start / {WARM_SOCKETS} sockets / {} sockets", knobs.sockets),
        format!("{} / {} / {} MiB", mib(r.rss_start), mib(r.rss_warm), mib(r.rss_subscribed))
    );
    println!(
        "{:<58} {:>12.2} KiB  at most {MEMORY_TARGET_KIB} KiB",
        "memory per idle socket with a subscription", memory
    );
    println!(
        "{:<58} {:>14.3} %  at most {IDLE_CPU_TARGET_PERCENT}% of a core",
        format!(
            "server CPU, {} sockets idle for {:.0} s (sweep every {} s)",
            knobs.sockets, r.idle_seconds, knobs.sweep_seconds
        ),
        r.idle_cpu_percent
    );
    println!("{:<58} {:>16}", "sockets closed by the server while idle", r.closed_while_idle);
    println!(
        "{:<58} {:>16}",
        "one notification fanned out to the sockets",
        format!("{}/{} in {} ms", r.fan_out, knobs.sockets, r.fan_out_time.as_millis())
    );
    println!("{:<58} {:>16}", "server VmRSS after every socket closed", format!("{} MiB", mib(r.rss_after_close)));
    println!("{:<58} {:>14.0}/s", "cycles per second of wall time", cycle_rate);
    println!("{:<58} {:>16}", "cycles per second of server CPU", cycles_per_cpu);
    println!(
        "{:<58} {:>16}",
        "server / load generator CPU per cycle",
        format!(
            "{:.0} / {:.0} µs",
            1e6 * r.cycle_server_cpu / r.cycles as f64,
            1e6 * r.cycle_client_cpu / r.cycles as f64
        )
    );
    println!(
        "{:<58} {:>16}",
        "cycle latency p50 / p99",
        format!("{} / {}", millis(percentile(0.50)), millis(percentile(0.99)))
    );
    println!(
        "{:<58} {:>16}",
        "server VmRSS before / half-way / after the cycles",
        format!("{} / {} / {} MiB", mib(r.rss_cycles[0]), mib(r.rss_cycles[1]), mib(r.rss_cycles[2]))
    );
    println!(
        "{:<58} {:>16}",
        "ws_live_connections / ws_live_subscriptions afterwards",
        format!("{} / {}", r.live_after.0, r.live_after.1)
    );
    if let Some(close) = &r.first_close {
        println!("first socket the server closed: {close}");
    }

    let checks = [
        (
            (0.0..=MEMORY_TARGET_KIB).contains(&memory),
            format!(
                "memory per idle socket at most {MEMORY_TARGET_KIB} KiB ({memory:.2} KiB, {}{})",
                knobs.backend(),
                if memory < 0.0 {
                    "; RSS fell as the sockets opened: too few to measure, raise BENCH_SOCKETS"
                } else {
                    ""
                }
            ),
        ),
        (
            r.idle_cpu_percent <= IDLE_CPU_TARGET_PERCENT,
            format!("idle CPU at most {IDLE_CPU_TARGET_PERCENT}% of a core ({:.3}%)", r.idle_cpu_percent),
        ),
        (r.closed_while_idle == 0, format!("every socket stayed open while idle ({} closed)", r.closed_while_idle)),
        (r.fan_out == knobs.sockets, format!("every subscription received the notification ({})", r.fan_out)),
        (
            r.live_after == (0.0, 0.0),
            format!("no connection or subscription left after the cycles ({} / {})", r.live_after.0, r.live_after.1),
        ),
    ];
    println!();
    for (passed, line) in &checks {
        println!("{}  {line}", if *passed { "PASS" } else { "FAIL" });
    }
    checks.iter().all(|(passed, _)| *passed)
}

/// The server process; dropping it kills the process, so a failed or panicking run leaves
/// nothing behind.
struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    base: String,
    log: PathBuf,
    /// Holds the SQLite database (when it is one) and the log; removed after the process is
    /// gone (field order).
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts the server on `database_url`, or on an SQLite file in its directory when `None`;
    /// either way it seeds the demo data into the empty database.
    fn start(knobs: &Knobs, database_url: Option<&str>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("could not create a temporary directory")?;
        // A free port, released just before the server binds it: the server must be a
        // separate process, so it cannot be handed the bound listener.
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = dir.path().join("server.log");
        let log_file = fs::File::create(&log).context("could not create the server log")?;
        let database_url = database_url
            .map_or_else(|| format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display()), str::to_owned);
        let child = Command::new(server_binary())
            .arg("serve")
            // Only the variables below reach the server, so a developer's shell or `.env`
            // (another database, Redis) cannot change what is measured.
            .env_clear()
            .current_dir(dir.path())
            .env("PORT", port.to_string())
            .env("DATABASE_URL", database_url)
            .env("SEED_DEMO", "on")
            .env("JWT_SECRET", "bench-secret-of-at-least-thirty-two-bytes")
            // Every socket and login comes from one address as one user.
            .env("RATE_LIMITS", "off")
            .env("MAX_CONNECTIONS_PER_USER", "100000")
            .env("MAX_CONNECTIONS_PER_IP", "100000")
            // Expiry on, by default with a sweep every second instead of every minute: the idle
            // CPU figure then counts sixty sweeps of every socket a minute.
            .env("SESSION_TIMEOUT_MINUTES", "30")
            .env("SESSION_SWEEP_INTERVAL_SECONDS", knobs.sweep_seconds.to_string())
            .env("KEEPALIVE_INTERVAL_SECONDS", KEEPALIVE_SECONDS.to_string())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .context("could not start the townsquare binary")?;
        Ok(Server { child, base: format!("http://127.0.0.1:{port}"), log, _dir: dir })
    }

    /// Waits until `/readyz` answers 200 (migrations and demo data done).
    async fn wait_ready(&self, http: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if fs::metadata(format!("/proc/{}", self.child.id())).is_err() {
                bail!("the server exited at start-up:\n{}", self.log_tail(20));
            }
            let ready = http.get(format!("{}/readyz", self.base)).send().await;
            if ready.is_ok_and(|response| response.status().is_success()) {
                return Ok(());
            }
            ensure!(Instant::now() < deadline, "the server was not ready within a minute:\n{}", self.log_tail(20));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Resident memory in KiB (`VmRSS`): what the process holds in RAM, heap and stacks
    /// included; the kernel's socket buffers are not in it.
    fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|line| line.starts_with("VmRSS:")).context("no VmRSS line")?;
        line.split_whitespace().nth(1).context("no VmRSS value")?.parse().context("VmRSS is not a number")
    }

    /// User plus system CPU time of every thread of the server so far.
    fn cpu_seconds(&self) -> anyhow::Result<f64> {
        process_cpu_seconds(&format!("/proc/{}/stat", self.child.id()))
    }

    fn log_tail(&self, lines: usize) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the idle sockets saw, shared by their tasks.
#[derive(Default)]
struct Tally {
    /// Sockets whose task still runs.
    open: AtomicUsize,
    /// `next` messages received.
    nexts: AtomicUsize,
    /// The first close the server started: code and reason, or how the socket ended.
    first_close: Mutex<Option<String>>,
}

/// Opens graphql-ws sockets as one signed-in user.
struct Client {
    ws_url: String,
    /// The `connection_init` message with the user's token.
    init: String,
}

impl Client {
    /// Opens `count` sockets, `OPEN_CONCURRENCY` at a time, each acknowledged and subscribed
    /// (its backlog received), and hands each to a task of its own.
    async fn open_many(&self, count: usize, stop: &CancellationToken, tally: &Arc<Tally>) -> anyhow::Result<()> {
        let opening = stream::iter(0..count).map(|_| async {
            let mut socket = self.open().await?;
            socket.send(Message::text(SUBSCRIBE)).await?;
            tokio::time::timeout(WAIT, expect_text(&mut socket, "\"next\"")).await.context("no backlog in time")??;
            anyhow::Ok(socket)
        });
        let mut opening = opening.buffer_unordered(OPEN_CONCURRENCY);
        while let Some(socket) = opening.next().await {
            tally.open.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(hold(socket?, stop.clone(), tally.clone()));
        }
        Ok(())
    }

    /// Connects with the graphql-ws subprotocol, sends `connection_init` and waits for the ack.
    async fn open(&self) -> anyhow::Result<Socket> {
        let mut request = self.ws_url.as_str().into_client_request()?;
        request.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("graphql-transport-ws"));
        // tungstenite's defaults reserve 128 KiB of read buffer a socket: 1.3 GB for 10,000 in
        // this process. The client's buffers are not measured, but they should not crowd the
        // machine either.
        let config = WebSocketConfig::default().read_buffer_size(4 * 1024).write_buffer_size(0);
        let opened = async {
            let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
            socket.send(Message::text(self.init.as_str())).await?;
            expect_text(&mut socket, "connection_ack").await?;
            anyhow::Ok(socket)
        };
        tokio::time::timeout(WAIT, opened).await.context("no connection_ack in time")?
    }

    /// Runs `count` full cycles from `concurrency` clients; returns each cycle's duration.
    async fn cycles(&self, count: usize, concurrency: usize) -> anyhow::Result<Vec<Duration>> {
        stream::iter(0..count)
            .map(|_| async {
                let started = Instant::now();
                tokio::time::timeout(WAIT, self.cycle()).await.context("a cycle took too long")??;
                anyhow::Ok(started.elapsed())
            })
            .buffer_unordered(concurrency)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// Connect, init, ack, subscribe, first result, complete, close; done when the server has
    /// let go of the socket.
    async fn cycle(&self) -> anyhow::Result<()> {
        let mut socket = self.open().await?;
        socket.send(Message::text(SUBSCRIBE)).await?;
        // The backlog's first notification: proof the operation ran, its query included,
        // before it is completed.
        expect_text(&mut socket, "\"next\"").await?;
        socket.send(Message::text(COMPLETE)).await?;
        socket.close(None).await?;
        while let Some(Ok(_)) = socket.next().await {}
        Ok(())
    }
}

/// Keeps one socket open: counts results, answers pings (by reading), and closes when
/// `stop` fires.
async fn hold(mut socket: Socket, stop: CancellationToken, tally: Arc<Tally>) {
    let ending = loop {
        tokio::select! {
            () = stop.cancelled() => {
                let _ = socket.close(None).await;
                let _ = tokio::time::timeout(WAIT, async { while let Some(Ok(_)) = socket.next().await {} }).await;
                break None;
            }
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) if text.contains("\"next\"") => {
                    tally.nexts.fetch_add(1, Ordering::Relaxed);
                }
                Some(Ok(Message::Close(frame))) => {
                    break Some(frame.map_or("a close frame without a code".into(), |f| format!("{} {}", u16::from(f.code), f.reason)));
                }
                Some(Err(error)) => break Some(format!("error: {error}")),
                None => break Some("the connection ended without a close frame".into()),
                Some(Ok(_)) => {}
            }
        }
    };
    if let Some(ending) = ending {
        tally.first_close.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(ending);
    }
    tally.open.fetch_sub(1, Ordering::Relaxed);
}

/// Reads frames until a text message containing `marker`; any other text is an error.
async fn expect_text(socket: &mut Socket, marker: &str) -> anyhow::Result<()> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.contains(marker) => return Ok(()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => bail!("expected a message with {marker}, got {other:?}"),
        }
    }
}

fn init_message(token: &str) -> String {
    json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }).to_string()
}

/// Polls `/metrics` until the server counts `connections` live sockets and `subscriptions`
/// running operations, for at most `WAIT`; returns the last counts seen.
async fn live_counts(http: &reqwest::Client, server: &Server, connections: usize, subscriptions: usize) -> (f64, f64) {
    let want = (connections as f64, subscriptions as f64);
    let deadline = Instant::now() + WAIT;
    let mut seen = (f64::NAN, f64::NAN);
    while seen != want && Instant::now() < deadline {
        if let Ok(text) = async { http.get(format!("{}/metrics", server.base)).send().await?.text().await }.await {
            seen = (gauge(&text, "ws_live_connections"), gauge(&text, "ws_live_subscriptions"));
        }
        if seen != want {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    seen
}

/// [`live_counts`], failing the run when the server does not get there: every later figure
/// assumes it did.
async fn require_live(
    http: &reqwest::Client,
    server: &Server,
    connections: usize,
    subscriptions: usize,
) -> anyhow::Result<()> {
    let seen = live_counts(http, server, connections, subscriptions).await;
    ensure!(
        seen == (connections as f64, subscriptions as f64),
        "the server counts {} live connections and {} subscriptions, {connections} and {subscriptions} expected",
        seen.0,
        seen.1
    );
    Ok(())
}

/// A gauge's value in Prometheus text, NaN when absent.
fn gauge(metrics: &str, name: &str) -> f64 {
    metrics.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or(f64::NAN)
}

async fn login(http: &reqwest::Client, url: &str, email: &str) -> anyhow::Result<String> {
    let mutation =
        "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }";
    let answer = graphql(http, url, "", mutation, json!({ "email": email, "password": DEMO_PASSWORD })).await?;
    answer["login"]["token"].as_str().map(str::to_owned).ok_or_else(|| anyhow!("no token for {email}: {answer}"))
}

/// Comments on `post` as the holder of `token`, which notifies the post's author.
async fn notify(http: &reqwest::Client, url: &str, token: &str, post: &str) -> anyhow::Result<()> {
    let comment = "mutation($post: ID!) { addComment(postId: $post, body: \"benchmark\") { id } }";
    graphql(http, url, token, comment, json!({ "post": post })).await.map(drop)
}

/// The id of a post written by `username`.
async fn post_of(http: &reqwest::Client, url: &str, token: &str, username: &str) -> anyhow::Result<String> {
    let query = "{ posts(first: 100) { edges { node { id author { username } } } } }";
    let answer = graphql(http, url, token, query, json!({})).await?;
    answer["posts"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|edge| edge["node"]["author"]["username"] == username)
        .and_then(|edge| edge["node"]["id"].as_str().map(str::to_owned))
        .ok_or_else(|| anyhow!("no post by {username} in the demo data"))
}

/// Sends one GraphQL request (with a bearer token unless `token` is empty); its `data`, or an
/// error when it has `errors`.
async fn graphql(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let mut request = http.post(url).json(&json!({ "query": query, "variables": variables }));
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    let answer: Value = request.send().await?.json().await?;
    ensure!(answer.get("errors").is_none(), "the server answered {answer}");
    Ok(answer["data"].clone())
}

/// Refuses to start when this process may not hold the sockets: the failure would otherwise
/// show up half-way as a connect error.
fn check_file_limit(sockets: usize) -> anyhow::Result<()> {
    let limits = fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|value| value.parse::<usize>().ok());
    if let Some(soft) = soft {
        ensure!(
            soft >= sockets + 100,
            "`ulimit -n` is {soft}: {sockets} sockets need at least {} (raise it, or lower BENCH_SOCKETS)",
            sockets + 100
        );
    }
    Ok(())
}

/// This process's own CPU time: whether the load generator, not the server, set the pace.
fn own_cpu_seconds() -> anyhow::Result<f64> {
    process_cpu_seconds("/proc/self/stat")
}

/// utime + stime of a `/proc/<pid>/stat` file, in seconds.
fn process_cpu_seconds(path: &str) -> anyhow::Result<f64> {
    let (user, system) = proc_cpu::user_and_system(path)?;
    Ok(user + system)
}

fn env_or<T: FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name).ok().filter(|value| !value.trim().is_empty()) {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|_| anyhow!("{name}={value:?} is not a valid number")),
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// The cheapest keepalive there is, measured in the same run as the lower bound under any
/// server's idle figure: a server that holds the sockets, sends each its ping every 30 s from
/// one loop with one `send` a ping, and never reads their pongs (so it does less than the
/// protocol asks). This binary re-run as a server (`PORT_VARIABLE`); the same client opens
/// the same number of sockets and answers the pings. `BENCH_SOCKETS_BASELINE=off` skips it.
mod pings_only {
    use std::{
        net::TcpListener as StdListener,
        process::{Command, Stdio},
        sync::{Arc, Mutex, PoisonError, atomic::Ordering},
        time::Duration,
    };

    use anyhow::Context as _;
    use futures_util::{StreamExt as _, stream};
    use tokio::net::{TcpListener, TcpStream};
    use tokio_tungstenite::{WebSocketStream, tungstenite::protocol::WebSocketConfig};
    use tokio_util::sync::CancellationToken;

    use super::{KEEPALIVE_SECONDS, Knobs, OPEN_CONCURRENCY, SETTLE, Tally, WAIT, hold, process_cpu_seconds};

    /// The environment variable that makes this binary the baseline server on that port.
    pub const PORT_VARIABLE: &str = "SOCKETS_PING_BASELINE_PORT";
    /// An unmasked, empty ping frame, as a server sends it.
    const PING: [u8; 2] = [0x89, 0x00];

    pub async fn serve(port: u16) -> anyhow::Result<()> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let sockets: Arc<Mutex<Vec<WebSocketStream<TcpStream>>>> = Arc::default();
        let pinged = sockets.clone();
        tokio::spawn(async move {
            let period = Duration::from_secs_f64(KEEPALIVE_SECONDS);
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            loop {
                ticks.tick().await;
                for socket in pinged.lock().unwrap_or_else(PoisonError::into_inner).iter() {
                    let _ = socket.get_ref().try_write(&PING);
                }
            }
        });
        let config = WebSocketConfig::default().read_buffer_size(512).write_buffer_size(0);
        loop {
            let (stream, _) = listener.accept().await?;
            let sockets = sockets.clone();
            tokio::spawn(async move {
                if let Ok(socket) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await {
                    sockets.lock().unwrap_or_else(PoisonError::into_inner).push(socket);
                }
            });
        }
    }

    /// Starts the baseline server, holds `knobs.sockets` sockets on it for `knobs.idle`, and
    /// returns its CPU over that time as a percentage of one core.
    pub async fn measure(knobs: &Knobs) -> anyhow::Result<f64> {
        let port = StdListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(std::env::current_exe()?)
            .env(PORT_VARIABLE, port.to_string())
            .stdin(Stdio::null())
            .spawn()
            .context("could not start the baseline server")?;
        let child = KillOnDrop(child);
        let url = format!("ws://127.0.0.1:{port}/");
        let deadline = tokio::time::Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "the baseline server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let tally = Arc::new(Tally::default());
        let stop = CancellationToken::new();
        let config = WebSocketConfig::default().read_buffer_size(4 * 1024).write_buffer_size(0);
        let mut opening = stream::iter(0..knobs.sockets)
            .map(|_| tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true))
            .buffer_unordered(OPEN_CONCURRENCY);
        while let Some(opened) = opening.next().await {
            let (socket, _) = opened?;
            tally.open.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(hold(socket, stop.clone(), tally.clone()));
        }
        tokio::time::sleep(SETTLE).await;
        let stat = format!("/proc/{}/stat", child.0.id());
        let (before, started) = (process_cpu_seconds(&stat)?, std::time::Instant::now());
        tokio::time::sleep(knobs.idle).await;
        let percent = 100.0 * (process_cpu_seconds(&stat)? - before) / started.elapsed().as_secs_f64();
        stop.cancel();
        Ok(percent)
    }

    /// The baseline server, killed when the measurement ends however it ends.
    struct KillOnDrop(std::process::Child);

    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The server binary to measure: `BENCH_SERVER_BIN` when set (to compare two builds in one
/// run; copy `target/release/townsquare` aside before a change), else the one cargo built.
fn server_binary() -> std::path::PathBuf {
    std::env::var_os("BENCH_SERVER_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_BIN_EXE_townsquare")))
}
