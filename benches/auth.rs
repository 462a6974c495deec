//! The accounts issue's performance targets, measured end to end: how many logins per second
//! the server completes next to how many argon2 verifications the machine can do, and how much
//! a burst of logins slows an ordinary `posts` query.
//!
//! Run with `cargo bench --bench auth` (release profile). The real server starts in this
//! process on 127.0.0.1 with a throw-away SQLite database holding the demo data (users alice to
//! erin, password `townsquare-demo`), rate limits off. Four phases of `BENCH_SECONDS` each:
//!
//! 1. raw hash rate: `verify_blocking` in a loop on `HASH_CONCURRENCY` threads (the width of the
//!    server's hasher), and on one thread for reference; then the same verification through
//!    the server's `PasswordHasher` without HTTP, which separates the hasher's hand-off cost
//!    from the rest of a login;
//! 2. the `posts` query, one request at a time every `PROBE_INTERVAL`, nothing else running:
//!    p50 and p99;
//! 3. `login` over HTTP from `BENCH_LOGIN_CLIENTS` concurrent clients: successes per second
//!    (each login is one argon2 verification, so this compares directly with phase 1);
//! 4. the `posts` query again while phase 3's login load runs.
//!
//! Knobs (environment): `BENCH_SECONDS` (default 10, fractions allowed), `BENCH_LOGIN_CLIENTS`
//! (default 2 × hash concurrency + 2, enough to keep the hasher's queue non-empty),
//! `HASH_CONCURRENCY` (as the server reads it; default one fewer than the cores).
//!
//! Targets: logins at least 90% of the raw hash rate; the `posts` p99 under login load at most
//! twice its unloaded p99. The report ends with a PASS or FAIL line for each, and the process
//! exits with status 1 when one fails. It also shows the CPU other processes took in each
//! phase: on two cores a build running alongside is enough to fail both targets.

use std::{
    str::FromStr,
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow, bail};
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use townsquare::{
    auth::password::{PasswordHasher, hash_blocking, verify_blocking},
    config::Settings,
    seed::DEMO_PASSWORD,
    startup::Application,
};

/// A feed page with every nested list the feed screen shows: several batched loads a request.
const POSTS_QUERY: &str = "{ posts(first: 20) { edges { node { body author { username } likers { username } \
                           comments { body author { username } } commenters { username } } } } }";

const LOGIN_MUTATION: &str =
    "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }";

/// How often the `posts` probe starts a request. Paced, not back to back: a request takes
/// ~1.2 ms, so a probe with no pause would keep a whole core busy by itself, and on two cores,
/// one of them the hasher's, the p99 under login load would measure the probe crowding the
/// machine rather than what logins do to an ordinary query. 200 requests a second is still a
/// steady stream, ~2,000 timed requests a phase.
const PROBE_INTERVAL: Duration = Duration::from_millis(5);

/// Time given to each load before its measurement window opens: connections are made, the
/// hasher's queue fills, and the first slow requests are not counted.
const WARMUP: Duration = Duration::from_secs(1);

/// Login load keeps running this long after the window closes, so a `posts` request started
/// at the end of phase 4's window still meets the load.
const LOAD_TAIL: Duration = Duration::from_millis(250);

/// The benchmark's knobs, read once from the environment.
struct Knobs {
    /// Length of each phase's measurement window.
    window: Duration,
    /// Concurrent login clients in phases 3 and 4.
    login_clients: usize,
    /// The server's hasher width.
    hash_concurrency: usize,
}

fn main() -> anyhow::Result<()> {
    // The server reads HASH_CONCURRENCY like it does in production; every other setting is the
    // default, adjusted below, so a developer's `.env` or shell cannot skew the figures.
    let mut settings =
        Settings::from_lookup(|name| if name == "HASH_CONCURRENCY" { std::env::var(name).ok() } else { None })
            .context("HASH_CONCURRENCY is invalid")?;
    let hash_concurrency = settings.auth.hash_concurrency;
    let knobs = Knobs {
        window: Duration::try_from_secs_f64(env_or("BENCH_SECONDS", 10.0)?).context("BENCH_SECONDS is out of range")?,
        login_clients: env_or("BENCH_LOGIN_CLIENTS", 2 * hash_concurrency + 2)?.max(1),
        hash_concurrency,
    };
    if knobs.window.is_zero() {
        bail!("BENCH_SECONDS must be greater than 0");
    }

    let database = tempfile::tempdir().context("could not create a temporary directory")?;
    settings.port = 0;
    settings.database_url = format!("sqlite://{}?mode=rwc", database.path().join("bench.db").display());
    settings.seed_demo = true;
    // Every login comes from one address for one account: the limits would refuse nearly all.
    settings.rate_limits.enabled = false;
    settings.jwt_secret = Some("bench-secret-of-at-least-thirty-two-bytes".into());

    // The server gets a runtime of its own, built as `main.rs` builds it (one worker a core), so
    // the load generators below are separate OS threads competing for the cores like real
    // clients would, not tasks sharing the server's workers.
    let server = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("server runtime")?;
    let app = server.block_on(Application::build(settings)).context("the server did not start")?;
    let url = format!("http://127.0.0.1:{}/graphql", app.port());
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let serving = server.spawn(app.run_until_stopped(async move { stopped.cancelled().await }));

    let outcome = run_phases(&knobs, &url, server.handle());

    stop.cancel();
    server.block_on(serving).context("the server task panicked")??;
    // An error, not `process::exit`, so the temporary database is removed on the way out.
    if !outcome? {
        bail!("a target was missed (see the FAIL line above)");
    }
    Ok(())
}

/// Runs the four phases, prints the report; true when both targets are met.
fn run_phases(knobs: &Knobs, url: &str, server: &tokio::runtime::Handle) -> anyhow::Result<bool> {
    check_answers(url)?;
    let window = knobs.window;
    let threads = knobs.hash_concurrency;
    println!(
        "townsquare auth benchmark: {} cores, HASH_CONCURRENCY={threads}, {} login clients, {:.1} s a phase",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        knobs.login_clients,
        window.as_secs_f64(),
    );

    let mut others = OtherCpu::default();
    eprintln!("phase 1/4: raw argon2 verifications, then through PasswordHasher");
    let started = CpuSample::now();
    let phc = hash_blocking(DEMO_PASSWORD).context("could not hash the demo password")?;
    let raw = raw_verify_rate(threads, &phc, window)?;
    let raw_single = if threads == 1 { raw } else { raw_verify_rate(1, &phc, window)? };
    // Not a target: the hasher alone, without HTTP or the database, splits a shortfall of
    // logins between the hasher's hand-offs and the rest of a login's work.
    let hasher = server.block_on(hasher_verify_rate(threads, knobs.login_clients, phc, window))?;
    others.record(started);

    eprintln!("phase 2/4: posts query, unloaded");
    let started = CpuSample::now();
    let unloaded = on_own_thread(|| probe_posts(url, window))?;
    others.record(started);

    eprintln!("phase 3/4: logins");
    let started = CpuSample::now();
    let logins = on_own_thread(|| login_load(url, knobs.login_clients, window))?;
    others.record(started);

    eprintln!("phase 4/4: posts query under login load");
    let started = CpuSample::now();
    let (loaded, logins_while_probed) = std::thread::scope(|scope| {
        let load = scope.spawn(|| on_own_thread(|| login_load(url, knobs.login_clients, window)));
        let probe = on_own_thread(|| probe_posts(url, window));
        let load = load.join().map_err(|_| anyhow!("the login load thread panicked")).and_then(|run| run);
        anyhow::Ok((probe?, load?))
    })?;
    others.record(started);

    let seconds = window.as_secs_f64();
    let login_rate = logins.ok as f64 / seconds;
    let login_ratio = login_rate / raw;
    let (unloaded_p50, unloaded_p99) = (unloaded.percentile(0.50), unloaded.percentile(0.99));
    let (loaded_p50, loaded_p99) = (loaded.percentile(0.50), loaded.percentile(0.99));
    let p99_ratio = loaded_p99.as_secs_f64() / unloaded_p99.as_secs_f64();

    println!();
    println!("{:<48} {:>12}", "measure", "result");
    println!("{:<48} {:>10.1}/s", format!("raw argon2 verify, {threads} thread(s) = HASH_CONCURRENCY"), raw);
    println!("{:<48} {:>10.1}/s", "raw argon2 verify, 1 thread", raw_single);
    println!(
        "{:<48} {:>10.1}/s  {:.1}% of raw",
        format!("PasswordHasher::verify, {} tasks, no HTTP", knobs.login_clients),
        hasher,
        100.0 * hasher / raw
    );
    println!(
        "{:<48} {:>10.1}/s  {:.1}% of raw",
        format!("logins over HTTP, {} clients", knobs.login_clients),
        login_rate,
        100.0 * login_ratio
    );
    println!(
        "{:<48} {:>10.1}/s  (while the posts query ran)",
        "logins over HTTP, phase 4",
        logins_while_probed.ok as f64 / seconds
    );
    println!(
        "{:<48} {:>12}  p50 {}  ({} requests)",
        "posts p99, unloaded",
        millis(unloaded_p99),
        millis(unloaded_p50),
        unloaded.latencies.len()
    );
    println!(
        "{:<48} {:>12}  p50 {}  ({} requests)  {:.2}x unloaded",
        "posts p99, under login load",
        millis(loaded_p99),
        millis(loaded_p50),
        loaded.latencies.len(),
        p99_ratio
    );
    for (what, failed, first) in [
        (
            "logins",
            logins.failed + logins_while_probed.failed,
            logins.first_failure.or(logins_while_probed.first_failure),
        ),
        ("posts queries", unloaded.failed + loaded.failed, unloaded.first_failure.or(loaded.first_failure)),
    ] {
        if let Some(first) = first {
            println!("{failed} {what} failed; the first: {first}");
        }
    }

    others.report();

    println!();
    let logins_pass = login_ratio >= 0.9;
    let latency_pass = p99_ratio <= 2.0;
    println!("{}  logins/s at least 90% of the raw hash rate ({:.1}%)", verdict(logins_pass), 100.0 * login_ratio);
    println!("{}  posts p99 under login load at most 2x unloaded ({:.2}x)", verdict(latency_pass), p99_ratio);
    Ok(logins_pass && latency_pass)
}

/// Clock ticks a second in `/proc` (`USER_HZ`, 100 on every Linux build userspace sees).
const USER_HZ: f64 = 100.0;

/// CPU time used so far by the whole machine and by this process, from `/proc` (Linux only).
#[derive(Clone, Copy)]
struct CpuSample {
    at: Instant,
    /// Busy ticks of every CPU together (everything but idle and iowait).
    machine: Option<u64>,
    /// User and system ticks of this process.
    process: Option<u64>,
}

impl CpuSample {
    fn now() -> Self {
        let machine = std::fs::read_to_string("/proc/stat").ok().and_then(|stat| {
            let ticks: Vec<u64> = stat
                .lines()
                .next()?
                .split_whitespace()
                .skip(1)
                .take(8)
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            // user nice system idle iowait irq softirq steal: all but idle and iowait.
            Some(ticks.iter().sum::<u64>() - ticks.get(3)? - ticks.get(4)?)
        });
        let process = std::fs::read_to_string("/proc/self/stat").ok().and_then(|stat| {
            // utime and stime are the 12th and 13th fields after the parenthesised name.
            let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
            Some(fields.next()?.parse::<u64>().ok()? + fields.next()?.parse::<u64>().ok()?)
        });
        Self { at: Instant::now(), machine, process }
    }
}

/// The CPU other processes took during each phase: on a machine of two cores, a build running
/// beside the benchmark takes the hasher's core and turns both targets into FAILs.
#[derive(Default)]
struct OtherCpu {
    /// Cores' worth of CPU used by other processes, one entry a phase (`None` off Linux).
    phases: Vec<Option<f64>>,
}

impl OtherCpu {
    fn record(&mut self, started: CpuSample) {
        let ended = CpuSample::now();
        let seconds = ended.at.duration_since(started.at).as_secs_f64();
        let ticks = |before: Option<u64>, after: Option<u64>| Some(after?.saturating_sub(before?));
        let machine = ticks(started.machine, ended.machine);
        let process = ticks(started.process, ended.process);
        self.phases.push(
            machine.zip(process).map(|(machine, process)| machine.saturating_sub(process) as f64 / USER_HZ / seconds),
        );
    }

    fn report(&self) {
        let shown: Vec<String> =
            self.phases.iter().map(|cores| cores.map_or_else(|| "?".into(), |cores| format!("{cores:.2}"))).collect();
        println!("CPU used by other processes, phases 1 to 4: {} cores", shown.join(" / "));
        // A twentieth of a core is what idle daemons use; more, landing on the hasher's core,
        // moves the logins ratio by several points, against a target of 90%.
        if self.phases.iter().flatten().any(|&cores| cores > 0.05) {
            println!("WARNING: other processes were busy during the run; rerun on an idle machine before trusting it");
        }
    }
}

/// Makes sure both requests are answered as the phases expect, so a broken schema or a login
/// that fails shows up as one clear error instead of a table of zeros.
fn check_answers(url: &str) -> anyhow::Result<()> {
    on_own_thread(|| async move {
        let client = reqwest::Client::new();
        let posts: Value = client.post(url).json(&json!({ "query": POSTS_QUERY })).send().await?.json().await?;
        let edges = posts["data"]["posts"]["edges"].as_array().map_or(0, Vec::len);
        if edges == 0 {
            bail!("the posts query returned no posts: {posts}");
        }
        let login: Value =
            client.post(url).body(login_body()).header(CONTENT_TYPE, "application/json").send().await?.json().await?;
        if login["data"]["login"]["token"].as_str().is_none() {
            bail!("login as alice did not return a token: {login}");
        }
        Ok(())
    })
}

/// Verifications per second of `phc` on `threads` OS threads, counting those that finish inside
/// the window.
fn raw_verify_rate(threads: usize, phc: &str, window: Duration) -> anyhow::Result<f64> {
    let deadline = Instant::now() + window;
    let total = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || -> anyhow::Result<u64> {
                    let mut done = 0;
                    while Instant::now() < deadline {
                        if !verify_blocking(DEMO_PASSWORD, phc)? {
                            bail!("the demo password did not verify against its own hash");
                        }
                        if Instant::now() <= deadline {
                            done += 1;
                        }
                    }
                    Ok(done)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().map_err(|_| anyhow!("a hashing thread panicked")).and_then(|done| done))
            .sum::<anyhow::Result<u64>>()
    })?;
    Ok(total as f64 / window.as_secs_f64())
}

/// Verifications per second through the server's [`PasswordHasher`] (semaphore, then the
/// blocking pool) from `tasks` concurrent tasks on the server's runtime, as logins call it.
async fn hasher_verify_rate(concurrency: usize, tasks: usize, phc: String, window: Duration) -> anyhow::Result<f64> {
    let hasher = PasswordHasher::new(concurrency);
    let deadline = Instant::now() + window;
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let (hasher, phc) = (hasher.clone(), phc.clone());
            tokio::spawn(async move {
                let mut done = 0;
                while Instant::now() < deadline {
                    if !hasher.verify(DEMO_PASSWORD.to_string(), phc.clone()).await? {
                        bail!("the demo password did not verify against its own hash");
                    }
                    if Instant::now() <= deadline {
                        done += 1;
                    }
                }
                anyhow::Ok(done)
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.await.context("a hashing task panicked")??;
    }
    Ok(total as f64 / window.as_secs_f64())
}

/// Latencies of `posts` queries sent one after another.
struct Probe {
    /// Successful requests' latencies inside the window, sorted.
    latencies: Vec<Duration>,
    failed: u64,
    first_failure: Option<String>,
}

impl Probe {
    /// The nearest-rank percentile `p` (0 to 1).
    fn percentile(&self, p: f64) -> Duration {
        let Some(last) = self.latencies.len().checked_sub(1) else { return Duration::ZERO };
        let rank = (p * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.saturating_sub(1).min(last)]
    }
}

/// Sends the `posts` query one request at a time, starting one every `PROBE_INTERVAL` (or as
/// soon as the previous one is answered, if it took longer): after `WARMUP`, each request
/// started inside the window is timed.
async fn probe_posts(url: &str, window: Duration) -> anyhow::Result<Probe> {
    let client = reqwest::Client::new();
    let body = json!({ "query": POSTS_QUERY }).to_string();
    let start = Instant::now();
    let (opens, closes) = (start + WARMUP, start + WARMUP + window);
    let mut probe = Probe { latencies: Vec::new(), failed: 0, first_failure: None };
    let mut next = tokio::time::Instant::now();
    loop {
        tokio::time::sleep_until(next).await;
        next = (next + PROBE_INTERVAL).max(tokio::time::Instant::now());
        let sent = Instant::now();
        if sent >= closes {
            break;
        }
        let answer = post_graphql(&client, url, body.clone()).await;
        let took = sent.elapsed();
        if sent < opens {
            continue;
        }
        match answer {
            Ok(()) => probe.latencies.push(took),
            Err(failure) => {
                probe.failed += 1;
                probe.first_failure.get_or_insert(failure);
            }
        }
    }
    probe.latencies.sort_unstable();
    Ok(probe)
}

/// Logins counted by [`login_load`].
struct LoginRun {
    /// Logins that succeeded inside the window.
    ok: u64,
    failed: u64,
    first_failure: Option<String>,
}

/// `clients` concurrent clients log in as alice in a loop; logins that finish inside the window
/// (after `WARMUP`) are counted. The load runs on until `LOAD_TAIL` after the window.
async fn login_load(url: &str, clients: usize, window: Duration) -> anyhow::Result<LoginRun> {
    // One client for every connection: its pool keeps one keep-alive connection a task.
    let client = reqwest::Client::new();
    let body = login_body();
    let start = Instant::now();
    let (opens, closes) = (start + WARMUP, start + WARMUP + window);
    let stops = closes + LOAD_TAIL;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.to_string(), body.clone());
            tokio::spawn(async move {
                let mut run = LoginRun { ok: 0, failed: 0, first_failure: None };
                while Instant::now() < stops {
                    let answer = post_graphql(&client, &url, body.clone()).await;
                    let done = Instant::now();
                    if done < opens || done > closes {
                        continue;
                    }
                    match answer {
                        Ok(()) => run.ok += 1,
                        Err(failure) => {
                            run.failed += 1;
                            run.first_failure.get_or_insert(failure);
                        }
                    }
                }
                run
            })
        })
        .collect();
    let mut total = LoginRun { ok: 0, failed: 0, first_failure: None };
    for task in tasks {
        let run = task.await.context("a login client panicked")?;
        total.ok += run.ok;
        total.failed += run.failed;
        total.first_failure = total.first_failure.or(run.first_failure);
    }
    Ok(total)
}

fn login_body() -> String {
    json!({
        "query": LOGIN_MUTATION,
        "variables": { "email": "alice@example.com", "password": DEMO_PASSWORD },
    })
    .to_string()
}

/// POSTs a prepared JSON body. Ok when the answer is a 200 without `errors`, else the answer.
/// The body is searched, not parsed: the client should cost as little CPU as it can, since it
/// shares the cores with the server.
async fn post_graphql(client: &reqwest::Client, url: &str, body: String) -> Result<(), String> {
    let response =
        client.post(url).header(CONTENT_TYPE, "application/json").body(body).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    if status.is_success() && !bytes.windows(b"\"errors\"".len()).any(|part| part == b"\"errors\"") {
        Ok(())
    } else {
        Err(format!("{status}: {}", String::from_utf8_lossy(&bytes)))
    }
}

/// Runs an async client on a current-thread runtime of its own, on this OS thread: a load
/// generator's scheduling then never delays another's, nor the server's workers.
fn on_own_thread<F, T>(client: impl FnOnce() -> F) -> anyhow::Result<T>
where
    F: Future<Output = anyhow::Result<T>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("client runtime")?;
    runtime.block_on(client())
}

fn env_or<T: FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name).ok().filter(|value| !value.trim().is_empty()) {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|_| anyhow!("{name}={value:?} is not a valid number")),
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "FAIL" }
}
