//! Many instances as one: what sharing events, presence and revocations through Redis costs
//! and how fast the cluster notices a death, a logout and an outage.
//!
//! Run with `cargo bench --bench cluster`. It needs PostgreSQL and Redis:
//! `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`; a fresh database is
//! created next to it for the run and dropped at the end) and `TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`; every key lives under a prefix unique to the run and is deleted
//! at the end). Knobs: `BENCH_CLUSTER_SUBSCRIBERS` (default 1,000) and `BENCH_ROUNDS`
//! (default 20). The whole run takes about a minute after the build.
//!
//! This process is the load generator; each instance is the release `townsquare` binary in a
//! child process (`cargo bench` builds it first), reaching Redis through a TCP proxy inside
//! this process, so a phase can cut an instance's Redis without stopping the shared server.
//! The phases, in the order they run (the node's death last, as it takes A away):
//!
//! 1. Fan-out: `BENCH_CLUSTER_SUBSCRIBERS` sockets sign in (one user, many tabs, so presence
//!    sends no join per socket) and subscribe to a room's `roomEvents`; `BENCH_ROUNDS` times
//!    another user sends a message over HTTP through instance A, and the time from sending
//!    the mutation to the last socket receiving its MessagePosted is recorded. The baseline
//!    is instance A alone (Redis set, every subscriber on it); then instance B starts and the
//!    subscribers are split half and half. Each configuration sends one unmeasured message
//!    first, so neither counts a cold room. Target: p99 at most 2 ms above the baseline's.
//!    Also shown: the instances' CPU (`/proc/<pid>/stat`, all of them together) per delivery,
//!    and A's `events_published_total` per message.
//! 2. Redis messages per event: the growth of each instance's
//!    `redis_events_received_total{kind="room"}` over the rounds, divided by the messages.
//!    B must get exactly one copy per event; A gets its own copy back from Redis too (it
//!    subscribes to the room's channel for its own sockets) and ignores it, since it
//!    delivered the event locally when it published it: 1.0 on A as well, all of it discarded.
//! 3. Revocation across instances: a socket on B, `logout` through A, the time until B closes
//!    the socket (expected code 4401), `REVOCATION_REPEATS` times with Redis up, then as many
//!    times with B's Redis cut (the database poll's path). Target: under 2 s each.
//! 4. Resume after an outage: every instance's Redis is cut for 3 s while one message is sent
//!    through A; after the restore a message goes through A every 100 ms, and the time until
//!    the first of them reaches a subscriber on B is recorded. The message sent during the
//!    cut must reach that subscriber exactly once.
//! 5. Node death: a user whose only socket is on A; A is killed with SIGKILL and B is asked
//!    for that user's `online` every 100 ms. Target: offline within 30 s (a heartbeat every
//!    5 s, a node unheard for 15 s is reaped).
//!
//! The report is one table with the two-instance figures against the one-instance baseline
//! where there is one, a PASS or FAIL per target, and anything unexpected the server did (a
//! close code other than 4401, a lost or repeated message); the process exits with an error
//! when a target is missed.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};

#[path = "support/client.rs"]
mod client;
#[path = "support/instances.rs"]
mod instances;
#[path = "support/proc_cpu.rs"]
mod proc_cpu;
// The scratch database the instances share; the knob and the guard are not used here.
#[allow(dead_code)]
#[path = "support/scratch.rs"]
mod scratch;
// The tests' proxy: one implementation of "Redis goes away" for both.
#[allow(dead_code)]
#[path = "../tests/api/tcp_proxy.rs"]
mod tcp_proxy;
use client::{Ending, User, WAIT, create_room, graphql, keep_reading, login, open_socket, register, served_socket};
use futures_util::{SinkExt as _, StreamExt as _, stream};
use instances::{Instance, ScratchDatabase};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const JWT_SECRET: &str = "bench-secret-of-at-least-thirty-two-bytes";
const OPEN_CONCURRENCY: usize = 200;
/// The fan-out target: p99 with two instances at most this much above one instance's.
const EXTRA_P99_TARGET_MS: f64 = 2.0;
/// The bound from a revocation to the close of the session's sockets everywhere.
const REVOKED_WITHIN: Duration = Duration::from_secs(2);
const REVOCATION_REPEATS: usize = 5;
/// The bound from a SIGKILL to the instance's users being offline everywhere.
const OFFLINE_WITHIN: Duration = Duration::from_secs(30);
/// How long every instance's Redis stays cut in the resume phase.
const OUTAGE: Duration = Duration::from_secs(3);
/// The pace of the messages sent after the restore, and of the `online` polls.
const PACE: Duration = Duration::from_millis(100);

const SEND: &str = "mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id } }";
const ROOM_EVENTS: &str = "subscription($r: ID!) { roomEvents(roomId: $r) { __typename ... on MessagePosted { message { id body author { username } } } } }";

/// The benchmark's knobs, read once from the environment.
struct Knobs {
    subscribers: usize,
    rounds: usize,
    database_url: String,
    redis_url: url::Url,
}

impl Knobs {
    fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str, default: &str| {
            std::env::var(name).ok().filter(|value| !value.trim().is_empty()).unwrap_or_else(|| default.into())
        };
        let number = |name: &str, default: usize| -> anyhow::Result<usize> {
            var(name, &default.to_string()).trim().parse().with_context(|| format!("{name} is a whole number"))
        };
        let knobs = Knobs {
            subscribers: number("BENCH_CLUSTER_SUBSCRIBERS", 1_000)?,
            rounds: number("BENCH_ROUNDS", 20)?,
            database_url: var("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"),
            redis_url: url::Url::parse(&var("TEST_REDIS_URL", "redis://127.0.0.1:6379"))
                .context("TEST_REDIS_URL is a redis:// URL")?,
        };
        ensure!(knobs.subscribers >= 2, "BENCH_CLUSTER_SUBSCRIBERS must be 2 or more (they are split in two)");
        ensure!(knobs.rounds >= 1, "BENCH_ROUNDS must be 1 or more");
        Ok(knobs)
    }
}

fn main() -> anyhow::Result<()> {
    let knobs = Knobs::from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let database = ScratchDatabase::create(&knobs.database_url, "townsquare_bench").await?;
        let prefix = format!("bench_cluster_{}", uuid::Uuid::new_v4().simple());
        // The instances are gone when `run` returns (they are dropped with it), so the
        // database and the keys can go.
        let outcome = run(&knobs, &database.url, &prefix).await;
        let removed = database.remove().await.context("could not drop the benchmark's database");
        let cleaned = instances::remove_redis_keys(&knobs.redis_url, &prefix).await;
        let passed = outcome?;
        removed?;
        cleaned.context("could not delete the run's Redis keys")?;
        ensure!(passed, "a cluster target was missed");
        Ok(())
    })
}

/// The value at rank `p` (0 to 1) of `sorted`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// What every fan-out subscriber task reports: deliveries so far and the latest delivery time.
struct Deliveries {
    /// The phase's start, which delivery times count from.
    start: Instant,
    count: AtomicUsize,
    /// Nanoseconds since the phase's start of the latest delivery.
    last_nanos: AtomicU64,
}

/// Opens a socket as `token` on `instance`, subscribes to the room, waits for its snapshot,
/// then counts MessagePosted events until the socket closes.
async fn subscriber(
    instance: &Instance,
    token: &str,
    room: &str,
    deliveries: Arc<Deliveries>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut socket = open_socket(instance, token).await?;
    let subscribe =
        json!({ "id": "1", "type": "subscribe", "payload": { "query": ROOM_EVENTS, "variables": { "r": room } } });
    socket.send(Message::text(subscribe.to_string())).await?;
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next()).await?.context("closed before the snapshot")??;
        if let Message::Text(text) = frame
            && text.contains("PresenceSnapshot")
        {
            break;
        }
    }
    Ok(tokio::spawn(async move {
        while let Some(Ok(frame)) = socket.next().await {
            if let Message::Text(text) = frame
                && text.contains("MessagePosted")
            {
                deliveries.last_nanos.fetch_max(deliveries.start.elapsed().as_nanos() as u64, Ordering::Relaxed);
                deliveries.count.fetch_add(1, Ordering::Relaxed);
            }
        }
    }))
}

/// Waits until `expected` deliveries were counted; fails after [`WAIT`].
async fn delivered(deliveries: &Deliveries, expected: usize, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + WAIT;
    while deliveries.count.load(Ordering::Relaxed) < expected {
        if Instant::now() > deadline {
            bail!("{what}: {} of {expected} deliveries", deliveries.count.load(Ordering::Relaxed));
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    Ok(())
}

/// One fan-out configuration's figures.
struct FanOut {
    /// Latency percentiles in ms.
    p50: f64,
    p99: f64,
    /// Server CPU (every instance's user + system) per delivery, in µs.
    cpu_micros: f64,
    /// Per instance: `redis_events_received_total{kind="room"}` growth per message sent.
    received_per_event: Vec<f64>,
    /// `events_published_total` growth on the sending instance per message sent.
    published_per_message: f64,
}

/// Sockets of `listener` spread round-robin over `instances`, `sender` sending through the
/// first instance.
struct FanOutSetup<'a> {
    instances: &'a [&'a Instance],
    sender: &'a User,
    listener: &'a User,
    room: &'a str,
}

/// The server CPU of `instances` so far, in seconds.
fn cpu_seconds(instances: &[&Instance]) -> anyhow::Result<f64> {
    let mut total = 0.0;
    for instance in instances {
        let pid = instance.pid().context("the instance was killed")?;
        let (user, system) = proc_cpu::user_and_system(&format!("/proc/{pid}/stat"))?;
        total += user + system;
    }
    Ok(total)
}

async fn room_events_received(http: &reqwest::Client, instances: &[&Instance]) -> anyhow::Result<Vec<f64>> {
    let mut counts = Vec::with_capacity(instances.len());
    for instance in instances {
        counts.push(instances::sample(&instance.metrics(http).await?, "redis_events_received_total", "kind=\"room\""));
    }
    Ok(counts)
}

async fn fan_out(http: &reqwest::Client, setup: FanOutSetup<'_>, size: usize, rounds: usize) -> anyhow::Result<FanOut> {
    let FanOutSetup { instances, sender, listener, room } = setup;
    let via = instances[0];
    let start = Instant::now();
    let deliveries = Arc::new(Deliveries { start, count: AtomicUsize::new(0), last_nanos: AtomicU64::new(0) });
    let tasks: Vec<_> = stream::iter(0..size)
        .map(|n| subscriber(instances[n % instances.len()], &listener.token, room, deliveries.clone()))
        .buffer_unordered(OPEN_CONCURRENCY)
        .collect()
        .await;
    let tasks: Vec<_> = tasks.into_iter().collect::<Result<_, _>>()?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // One unmeasured message first: a room's first message finds caches cold (its members,
    // prepared statements) that every later one finds warm.
    graphql(http, via, Some(&sender.token), SEND, json!({ "r": room, "b": "warm-up" })).await?;
    delivered(&deliveries, size, "the warm-up message").await?;
    // Its copies from Redis are counted before the counters are read.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let received_before = room_events_received(http, instances).await?;
    let published_before = instances::sample(&via.metrics(http).await?, "events_published_total", "");
    let cpu_before = cpu_seconds(instances)?;
    let mut times = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let sent_at = start.elapsed();
        let body = format!("round {round}");
        graphql(http, via, Some(&sender.token), SEND, json!({ "r": room, "b": body })).await?;
        delivered(&deliveries, size * (round + 2), &format!("round {round}")).await?;
        let last = Duration::from_nanos(deliveries.last_nanos.load(Ordering::Relaxed));
        times.push(last.saturating_sub(sent_at).as_secs_f64() * 1e3);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cpu = cpu_seconds(instances)? - cpu_before;
    // The sender's own copy comes back from Redis after the local delivery: give it time to
    // be counted.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received_after = room_events_received(http, instances).await?;
    let published_after = instances::sample(&via.metrics(http).await?, "events_published_total", "");
    let extra = deliveries.count.load(Ordering::Relaxed) - size * (rounds + 1);
    ensure!(extra == 0, "{extra} deliveries more than one per subscriber and message");
    for task in tasks {
        task.abort();
    }
    times.sort_by(f64::total_cmp);
    Ok(FanOut {
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
        cpu_micros: cpu / (rounds * size) as f64 * 1e6,
        received_per_event: received_after
            .iter()
            .zip(&received_before)
            .map(|(after, before)| (after - before) / rounds as f64)
            .collect(),
        published_per_message: (published_after - published_before) / rounds as f64,
    })
}

/// One logout through `via` of a session whose socket is on `on`: the time from sending the
/// mutation to the socket's end, and how it ended.
async fn revocation(
    http: &reqwest::Client,
    via: &Instance,
    on: &Instance,
    user: &User,
) -> anyhow::Result<(f64, Ending)> {
    let token = login(http, via, user).await?;
    let mut socket = served_socket(on, &token, "subscription { contactPresence { online } }", json!({})).await?;
    let sent = Instant::now();
    let (logout, (ended, at)) = tokio::join!(
        graphql(http, via, Some(&token), "mutation { logout }", json!({})),
        client::ending(&mut socket, Duration::from_secs(10))
    );
    ensure!(logout?["logout"] == true, "the logout through {} failed", via.name);
    Ok(((at - sent).as_secs_f64(), ended))
}

/// The revocation times of one path, in seconds, with the endings that were not a 4401.
struct Revocations {
    seconds: Vec<f64>,
    unexpected: Vec<Ending>,
}

async fn revocations(
    http: &reqwest::Client,
    via: &Instance,
    on: &Instance,
    user: &User,
) -> anyhow::Result<Revocations> {
    let mut result = Revocations { seconds: Vec::new(), unexpected: Vec::new() };
    for _ in 0..REVOCATION_REPEATS {
        let (seconds, ended) = revocation(http, via, on, user).await?;
        match ended {
            Ending::Closed(4401, _) => result.seconds.push(seconds),
            other => result.unexpected.push(other),
        }
    }
    result.seconds.sort_by(f64::total_cmp);
    Ok(result)
}

/// Waits until `instance`'s `/readyz` answers `status` (503 with Redis cut, 200 after).
async fn readiness_becomes(http: &reqwest::Client, instance: &Instance, status: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let seen = instance.readiness(http).await;
        if seen.as_ref().is_some_and(|(answered, _)| *answered == status) {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "instance {}'s /readyz did not become {status}: {seen:?}", instance.name);
        tokio::time::sleep(PACE).await;
    }
}

/// What the resume phase saw.
struct Resume {
    /// From the restore to the first message sent after it reaching B.
    first_after_restore: Option<Duration>,
    /// How the message sent during the cut fared: `Ok` when stored, else the error code.
    during_cut: Result<(), String>,
    /// Copies of it B's subscriber received.
    during_cut_copies: usize,
    /// From the restore to its arrival on B.
    during_cut_arrived: Option<Duration>,
    /// Messages B's subscriber received more than once, and sent ones it never received.
    repeated: Vec<String>,
    missing: Vec<String>,
}

/// A socket on `instance` subscribed to `room`, read by a task that passes on every message
/// body with the moment it arrived.
async fn room_reader(
    instance: &Instance,
    user: &User,
    room: &str,
) -> anyhow::Result<(mpsc::UnboundedReceiver<(String, Instant)>, tokio::task::JoinHandle<()>)> {
    let mut socket = served_socket(instance, &user.token, ROOM_EVENTS, json!({ "r": room })).await?;
    // Unbounded: the phase reads everything eventually, and a bound would stall the reading
    // task, which also answers the server's pings.
    let (tell, heard) = mpsc::unbounded_channel();
    let reading = tokio::spawn(async move {
        while let Some(Ok(frame)) = socket.next().await {
            let Message::Text(text) = frame else { continue };
            let Ok(message) = serde_json::from_str::<Value>(&text) else { continue };
            let event = &message["payload"]["data"]["roomEvents"];
            if let Some(body) = event["message"]["body"].as_str()
                && tell.send((body.to_string(), Instant::now())).is_err()
            {
                return;
            }
        }
    });
    Ok((heard, reading))
}

/// Sends `body` through `via`: `Ok` when stored, else the error code (or the failure).
async fn try_send(http: reqwest::Client, via: String, token: String, room: String, body: String) -> Result<(), String> {
    let request = http
        .post(format!("{via}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": SEND, "variables": { "r": room, "b": body } }));
    let answer: Value = match request.send().await {
        Ok(response) => response.json().await.map_err(|error| error.to_string())?,
        Err(error) => return Err(error.to_string()),
    };
    if answer["data"]["sendMessage"]["id"].is_string() {
        return Ok(());
    }
    Err(answer["errors"][0]["extensions"]["code"].as_str().unwrap_or("no code").to_string())
}

async fn resume(
    http: &reqwest::Client,
    (a, b): (&Instance, &Instance),
    sender: &User,
    listener: &User,
) -> anyhow::Result<Resume> {
    let room = create_room(http, a, sender, "resume").await?;
    let (mut heard, reading) = room_reader(b, listener, &room).await?;
    let send = |body: String| try_send(http.clone(), a.base.clone(), sender.token.clone(), room.clone(), body);
    let mut seen: HashMap<String, Vec<Instant>> = HashMap::new();

    // The path works before the cut.
    send("before the cut".into()).await.map_err(|code| anyhow::anyhow!("the first message failed: {code}"))?;
    let (body, _) = tokio::time::timeout(WAIT, heard.recv()).await?.context("B's subscriber stopped")?;
    ensure!(body == "before the cut", "B's subscriber heard {body:?} first");

    a.proxy.cut();
    b.proxy.cut();
    let cut_at = Instant::now();
    let during = tokio::spawn(send("during the cut".into()));
    tokio::time::sleep_until((cut_at + OUTAGE).into()).await;
    a.proxy.restore();
    b.proxy.restore();
    let restored_at = Instant::now();

    // A message every PACE from now on, each on a task of its own so a slow answer does not
    // hold the pace, until the first of them reaches B.
    let mut sent_after = Vec::new();
    let mut pace = tokio::time::interval(PACE);
    let deadline = restored_at + WAIT;
    let mut first_after_restore = None;
    while first_after_restore.is_none() && Instant::now() < deadline {
        tokio::select! {
            _ = pace.tick() => {
                let body = format!("after the restore {:03}", sent_after.len());
                sent_after.push((body.clone(), tokio::spawn(send(body))));
            }
            received = heard.recv() => {
                let (body, at) = received.context("B's subscriber stopped")?;
                if body.starts_with("after the restore") {
                    first_after_restore = Some(at - restored_at);
                }
                seen.entry(body).or_default().push(at);
            }
        }
    }
    let during_cut = during.await?;
    let mut expected: Vec<String> = Vec::new();
    if during_cut.is_ok() {
        expected.push("during the cut".into());
    }
    for (body, sending) in sent_after {
        if sending.await?.is_ok() {
            expected.push(body);
        }
    }
    // Everything stored must arrive; then a little longer, so a repeat shows.
    let settle = Duration::from_secs(1);
    let mut until = Instant::now() + Duration::from_secs(10);
    let mut settling = false;
    while let Ok(Some((body, at))) = tokio::time::timeout_at(until.into(), heard.recv()).await {
        seen.entry(body).or_default().push(at);
        if !settling && expected.iter().all(|body| seen.contains_key(body)) {
            settling = true;
            until = Instant::now() + settle;
        }
    }
    reading.abort();
    let copies = |body: &str| seen.get(body).map_or(0, Vec::len);
    let mut repeated: Vec<String> = seen.iter().filter(|(_, at)| at.len() > 1).map(|(body, _)| body.clone()).collect();
    repeated.sort();
    Ok(Resume {
        first_after_restore,
        during_cut_copies: copies("during the cut"),
        during_cut_arrived: seen.get("during the cut").and_then(|at| at.first()).map(|at| *at - restored_at),
        during_cut,
        repeated,
        missing: expected.into_iter().filter(|body| !seen.contains_key(body)).collect(),
    })
}

/// Whether `instance` reports `user` online, asked as `viewer`.
async fn online(http: &reqwest::Client, instance: &Instance, viewer: &User, user: &User) -> anyhow::Result<bool> {
    let data = graphql(
        http,
        instance,
        Some(&viewer.token),
        "query($u: ID!) { user(id: $u) { online } }",
        json!({ "u": user.id }),
    )
    .await?;
    data["user"]["online"].as_bool().context("no online field")
}

/// Kills `a` while `user`'s only socket is on it; the time until `b` reports `user` offline,
/// or `None` when it still says online after twice the bound.
async fn node_death(
    http: &reqwest::Client,
    (a, b): (&mut Instance, &Instance),
    viewer: &User,
    user: &User,
) -> anyhow::Result<Option<Duration>> {
    let socket = served_socket(a, &user.token, "subscription { contactPresence { online } }", json!({})).await?;
    let reading = keep_reading(socket);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !online(http, b, viewer, user).await? {
        ensure!(Instant::now() < deadline, "B never reported the user on A online");
        tokio::time::sleep(PACE).await;
    }
    let killed_at = Instant::now();
    a.kill();
    let mut offline = None;
    while killed_at.elapsed() < 2 * OFFLINE_WITHIN {
        if !online(http, b, viewer, user).await? {
            offline = Some(killed_at.elapsed());
            break;
        }
        tokio::time::sleep(PACE).await;
    }
    reading.abort();
    Ok(offline)
}

/// Every figure the report prints.
struct Report {
    subscribers: usize,
    one: FanOut,
    two: FanOut,
    redis_up: Revocations,
    redis_cut: Revocations,
    resume: Resume,
    offline_after: Option<Duration>,
}

async fn run(knobs: &Knobs, database_url: &str, prefix: &str) -> anyhow::Result<bool> {
    let dir = tempfile::tempdir()?;
    let env = [
        ("DATABASE_URL", database_url),
        ("REDIS_KEY_PREFIX", prefix),
        ("JWT_SECRET", JWT_SECRET),
        ("SEED_DEMO", "false"),
        ("RATE_LIMITS", "off"),
        // Every subscriber is one user.
        ("MAX_CONNECTIONS_PER_USER", "100000"),
        ("MAX_CONNECTIONS_PER_IP", "100000"),
        ("RUST_LOG", "warn"),
    ];
    // A request to an instance waiting on a cut Redis fails the run instead of stalling it.
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build()?;
    // A migrates the empty database; B starts after it, so the two never migrate at once.
    let mut a = Instance::start("A", dir.path(), &knobs.redis_url, &env).await?;
    a.wait_ready(&http).await?;
    let mut b = None;
    let result = measure(knobs, &http, &mut a, &mut b, (dir.path(), &env)).await;
    if result.is_err() {
        for instance in std::iter::once(&a).chain(b.as_ref()) {
            eprintln!("--- the last lines of instance {}'s log ---\n{}", instance.name, instance.log_tail(20));
        }
    }
    let report = result?;
    Ok(print_report(&report))
}

async fn measure(
    knobs: &Knobs,
    http: &reqwest::Client,
    a: &mut Instance,
    b: &mut Option<Instance>,
    (dir, env): (&std::path::Path, &[(&str, &str)]),
) -> anyhow::Result<Report> {
    let alice = register(http, a, "alice").await?;
    let bob = register(http, a, "bob").await?;
    let carol = register(http, a, "carol").await?;
    let dave = register(http, a, "dave").await?;
    let erin = register(http, a, "erin").await?;
    let size = knobs.subscribers;

    eprintln!("fan-out: {size} subscribers on A alone");
    let room = create_room(http, a, &bob, "one instance").await?;
    let setup = FanOutSetup { instances: &[a], sender: &bob, listener: &alice, room: &room };
    let one = fan_out(http, setup, size, knobs.rounds).await?;
    // The closed sockets' leaves are done before B starts.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let b = b.insert(Instance::start("B", dir, &knobs.redis_url, env).await?);
    b.wait_ready(http).await?;
    eprintln!("fan-out: {} subscribers on A and {} on B", size - size / 2, size / 2);
    let room = create_room(http, a, &bob, "two instances").await?;
    let setup = FanOutSetup { instances: &[a, b], sender: &bob, listener: &alice, room: &room };
    let two = fan_out(http, setup, size, knobs.rounds).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;

    eprintln!("revocation: logout through A, socket on B, Redis up");
    let redis_up = revocations(http, a, b, &dave).await?;
    eprintln!("revocation: the same with B's Redis cut");
    b.proxy.cut();
    readiness_becomes(http, b, 503).await?;
    let redis_cut = revocations(http, a, b, &dave).await?;
    b.proxy.restore();
    readiness_becomes(http, b, 200).await?;

    eprintln!("resume: every instance's Redis cut for {OUTAGE:?}");
    let resume = resume(http, (a, b), &bob, &erin).await?;
    readiness_becomes(http, a, 200).await?;
    readiness_becomes(http, b, 200).await?;

    eprintln!("node death: SIGKILL of A, B asked for its user's presence every {PACE:?}");
    let offline_after = node_death(http, (a, b), &bob, &carol).await?;
    Ok(Report { subscribers: size, one, two, redis_up, redis_cut, resume, offline_after })
}

/// Prints the table and the notes; true when every target was met.
fn print_report(r: &Report) -> bool {
    let mut all_pass = true;
    let mut verdict = |pass: bool| {
        all_pass &= pass;
        if pass { "PASS" } else { "FAIL" }
    };
    let ratio = |two: f64, one: f64| if one > 0.0 { format!("{:.2}x", two / one) } else { "-".into() };
    let seconds = |duration: Option<Duration>| duration.map_or("never".into(), |d| format!("{:.2}", d.as_secs_f64()));
    let median_max = |revoked: &Revocations| match revoked.seconds.as_slice() {
        [] => "-".to_string(),
        all => format!("{:.1} / {:.1}", percentile(all, 0.5) * 1e3, all[all.len() - 1] * 1e3),
    };

    println!(
        "\ntownsquare cluster benchmark: {} subscribers, two instances on one PostgreSQL and one Redis",
        r.subscribers
    );
    println!("{:<48} {:>14} {:>14} {:>8} {:>12}", "measure", "one instance", "two instances", "ratio", "target");
    let row = |name: &str, one: String, two: String, ratio: String, target: &str, verdict: &str| {
        println!("{name:<48} {one:>14} {two:>14} {ratio:>8} {target:>12}  {verdict}");
    };
    let (one, two) = (&r.one, &r.two);
    row("fan-out p50, ms", format!("{:.2}", one.p50), format!("{:.2}", two.p50), ratio(two.p50, one.p50), "", "");
    let extra = two.p99 - one.p99;
    row(
        "fan-out p99, ms",
        format!("{:.2}", one.p99),
        format!("{:.2}", two.p99),
        ratio(two.p99, one.p99),
        &format!("+{EXTRA_P99_TARGET_MS} ms"),
        verdict(extra <= EXTRA_P99_TARGET_MS),
    );
    row(
        "server CPU per delivery (all instances), µs",
        format!("{:.2}", one.cpu_micros),
        format!("{:.2}", two.cpu_micros),
        ratio(two.cpu_micros, one.cpu_micros),
        "",
        "",
    );
    row(
        "events published per message (A)",
        format!("{:.2}", one.published_per_message),
        format!("{:.2}", two.published_per_message),
        ratio(two.published_per_message, one.published_per_message),
        "",
        "",
    );
    let (one_a, two_a, two_b) = (one.received_per_event[0], two.received_per_event[0], two.received_per_event[1]);
    row(
        "Redis room messages per event, A (own copy)",
        format!("{one_a:.2}"),
        format!("{two_a:.2}"),
        ratio(two_a, one_a),
        "",
        "",
    );
    row(
        "Redis room messages per event, B",
        "-".into(),
        format!("{two_b:.2}"),
        "-".into(),
        "= 1.0",
        verdict(two_b == 1.0),
    );
    let up = &r.redis_up;
    row(
        "revocation on B via Redis, median / max ms",
        "-".into(),
        median_max(up),
        "-".into(),
        "< 2 s",
        verdict(up.unexpected.is_empty() && up.seconds.iter().all(|s| *s < REVOKED_WITHIN.as_secs_f64())),
    );
    let cut = &r.redis_cut;
    row(
        "revocation on B, B's Redis cut, median / max ms",
        "-".into(),
        median_max(cut),
        "-".into(),
        "< 2 s",
        verdict(cut.unexpected.is_empty() && cut.seconds.iter().all(|s| *s < REVOKED_WITHIN.as_secs_f64())),
    );
    let resume = &r.resume;
    row(
        "resume after a 3 s cut: first new message on B, s",
        "-".into(),
        seconds(resume.first_after_restore),
        "-".into(),
        "",
        "",
    );
    let once = resume.during_cut.is_err() || resume.during_cut_copies == 1;
    row(
        "message sent during the cut: copies on B",
        "-".into(),
        resume.during_cut_copies.to_string(),
        "-".into(),
        "= 1",
        verdict(once && resume.repeated.is_empty() && resume.missing.is_empty()),
    );
    row(
        "SIGKILL of A to B reporting its user offline, s",
        "-".into(),
        seconds(r.offline_after),
        "-".into(),
        "<= 30 s",
        verdict(r.offline_after.is_some_and(|after| after <= OFFLINE_WITHIN)),
    );

    println!("\np99(two) - p99(one) = {extra:+.2} ms (target at most +{EXTRA_P99_TARGET_MS} ms)");
    println!(
        "Redis copies: B receives one per event and delivers it to its sockets; A receives its own copy back \
         (it subscribes to the room's channel for its sockets) and discards it, having delivered locally on publish."
    );
    match (&resume.during_cut, resume.during_cut_arrived) {
        (Ok(()), Some(after)) => {
            println!("the message sent during the cut reached B {:.2} s after the restore", after.as_secs_f64())
        }
        (Ok(()), None) => println!("the message sent during the cut was stored but never reached B"),
        (Err(code), _) => println!("A refused the message sent during the cut ({code})"),
    }
    for (path, revoked) in [("via Redis", up), ("with B's Redis cut", cut)] {
        if !revoked.unexpected.is_empty() {
            println!("revocation {path}: sockets that did not end with 4401: {:?}", revoked.unexpected);
        }
    }
    if !resume.repeated.is_empty() {
        println!("B's subscriber heard these more than once: {:?}", resume.repeated);
    }
    if !resume.missing.is_empty() {
        println!("B's subscriber never heard these stored messages: {:?}", resume.missing);
    }
    all_pass
}
