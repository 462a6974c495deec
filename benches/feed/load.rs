//! The closed-loop load: `clients` tasks, each with a connection of its own, each sending the
//! feed request again as soon as the last answer is read, and what a run of it measures.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::body::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::json;

use crate::{
    figures::{Figures, percentile},
    proc_cpu,
    process::Process,
};

/// The feed page: every field the feed screen shows, every nested list at its default size.
pub const FEED_QUERY: &str = "{ posts(first: 20) { edges { cursor node { id body createdAt likeCount \
    likedByViewer commentCount author { id username displayName } \
    likers(first: 10) { id username displayName } \
    comments(first: 10) { id body createdAt author { id username displayName } } \
    commenters(first: 10) { id username displayName } } } \
    pageInfo { hasNextPage endCursor } } }";

/// How long one answer may take before it counts as failed.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// The request every client sends to both servers: the same bytes every time.
#[derive(Debug, Clone)]
pub struct FeedRequest {
    /// The JSON body; `Bytes`, so a request clones a pointer, not the text.
    body: Bytes,
    /// `Bearer <the viewer's token>`.
    authorization: String,
}

impl FeedRequest {
    /// The feed query as the user `token` names.
    pub fn new(token: &str) -> Self {
        let body = json!({ "query": FEED_QUERY }).to_string();
        FeedRequest { body: Bytes::from(body), authorization: format!("Bearer {token}") }
    }
}

/// A server as the load sees it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `GraphQL` or `baseline`.
    pub label: &'static str,
    /// Its `/graphql`.
    pub url: String,
    /// Its `/metrics`, for `db_statements_total`.
    metrics_url: String,
    /// Its process, for `/proc/<pid>/stat`.
    pid: u32,
}

impl Endpoint {
    /// The endpoint of a running `process`.
    pub fn of(label: &'static str, process: &Process) -> Self {
        Endpoint {
            label,
            url: format!("{}/graphql", process.base),
            metrics_url: format!("{}/metrics", process.base),
            pid: process.pid(),
        }
    }
}

/// Sends the request once: the answer's body, or why it counts as failed.
pub async fn fetch(http: &reqwest::Client, url: &str, request: &FeedRequest) -> Result<Bytes, String> {
    let response = http
        .post(url)
        .header(AUTHORIZATION, &request.authorization)
        .header(CONTENT_TYPE, "application/json")
        .body(request.body.clone())
        .send()
        .await
        .map_err(|error| format!("no answer: {error}"))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|error| format!("status {status}, the body was cut short: {error}"))?;
    // A success is `{"data":{"posts":{…}}}`, ending in the braces of `pageInfo`, `posts`,
    // `data` and the answer. An `errors` entry, which GraphQL writes after `data`, would end
    // it with `]}`: checking both ends spots one without parsing 40 KB on every answer,
    // which would eat into the load generator's core.
    if status != 200 || !body.starts_with(b"{\"data\":{\"posts\":") || !body.ends_with(b"}}}}") {
        let text = String::from_utf8_lossy(&body);
        let excerpt: String = text.chars().take(300).collect();
        return Err(format!("status {status}: {excerpt}"));
    }
    Ok(body)
}

/// The measured window: the load runs from before `start` to `end`.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

/// What one client saw.
#[derive(Debug, Default)]
struct Tally {
    /// Latencies of the answers completed inside the window.
    latencies: Vec<Duration>,
    /// Body bytes of those answers.
    bytes: u64,
    /// Requests sent, warm-up and tail included.
    sent: u64,
    failures: u64,
    first_failure: Option<String>,
}

/// Runs `clients` clients against `endpoint` for `warmup` and then `length`, measured.
pub async fn measure(
    endpoint: &Endpoint,
    request: &FeedRequest,
    clients: usize,
    warmup: Duration,
    length: Duration,
) -> anyhow::Result<Figures> {
    let probe = reqwest::Client::new();
    let statements_before = statements(&probe, &endpoint.metrics_url).await?;
    let now = Instant::now();
    let window = Window { start: now + warmup, end: now + warmup + length };
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        // A client each: each keeps its own kept-alive connection, as separate users would.
        let http = reqwest::Client::builder().timeout(ANSWER_WITHIN).tcp_nodelay(true).build()?;
        tasks.push(tokio::spawn(client(http, endpoint.url.clone(), request.clone(), window)));
    }
    tokio::time::sleep_until(window.start.into()).await;
    let before = CpuReading::take(endpoint.pid)?;
    tokio::time::sleep_until(window.end.into()).await;
    let after = CpuReading::take(endpoint.pid)?;
    let mut all = Tally::default();
    for task in tasks {
        let tally = task.await.with_context(|| format!("a client of the {} panicked", endpoint.label))?;
        all.latencies.extend(tally.latencies);
        all.bytes += tally.bytes;
        all.sent += tally.sent;
        all.failures += tally.failures;
        all.first_failure = all.first_failure.or(tally.first_failure);
    }
    // Over every request, warm-up included, with nothing in flight: exact but for the few
    // statements of the server's background work.
    let statements_after = statements(&probe, &endpoint.metrics_url).await?;
    all.latencies.sort_unstable();
    let completed = all.latencies.len() as u64;
    Ok(Figures {
        completed,
        wall_seconds: (after.at - before.at).as_secs_f64(),
        server_cpu_seconds: after.server - before.server,
        own_cpu_seconds: after.own - before.own,
        p50: percentile(&all.latencies, 0.50),
        p99: percentile(&all.latencies, 0.99),
        statements_per_request: (statements_after - statements_before) / all.sent.max(1) as f64,
        bytes_per_answer: all.bytes as f64 / completed.max(1) as f64,
        failures: all.failures,
        first_failure: all.first_failure,
    })
}

/// One client: requests back to back until the window ends.
async fn client(http: reqwest::Client, url: String, request: FeedRequest, window: Window) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < window.end {
        let sent = Instant::now();
        let outcome = fetch(&http, &url, &request).await;
        let done = Instant::now();
        tally.sent += 1;
        match outcome {
            // Answers count where they complete: a closed loop's throughput is completions
            // over time, and the CPU readings bracket the same interval.
            Ok(body) if done >= window.start && done <= window.end => {
                tally.latencies.push(done - sent);
                tally.bytes += body.len() as u64;
            }
            Ok(_) => {}
            Err(why) => {
                tally.failures += 1;
                tally.first_failure.get_or_insert(why);
            }
        }
    }
    tally
}

/// The CPU seconds of the serving process and of this one at a moment.
struct CpuReading {
    at: Instant,
    server: f64,
    own: f64,
}

impl CpuReading {
    fn take(pid: u32) -> anyhow::Result<Self> {
        let (user, system) = proc_cpu::user_and_system(&format!("/proc/{pid}/stat"))?;
        let (own_user, own_system) = proc_cpu::user_and_system("/proc/self/stat")?;
        Ok(CpuReading { at: Instant::now(), server: user + system, own: own_user + own_system })
    }
}

/// `db_statements_total` at `url`, summed over its labels (the server splits it by outcome).
async fn statements(http: &reqwest::Client, url: &str) -> anyhow::Result<f64> {
    let text = http.get(url).send().await?.error_for_status()?.text().await?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let name = series.split('{').next()?;
            (name == "db_statements_total").then(|| value.parse::<f64>().ok())?
        })
        .sum())
}
