//! What the load saw, minute by minute: for each operation a count, an error count and a
//! latency histogram, plus the first error messages for the report.

use std::{
    sync::{Mutex, OnceLock, PoisonError},
    time::{Duration, Instant},
};

/// The operations the soak times, in the report's column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `posts(first: 20)` with the nested lists the feed screen shows.
    Feed,
    /// `createPost`.
    Post,
    /// `likePost`.
    Like,
    /// `addComment`.
    Comment,
    /// `sendMessage` into the watched room (the mutation's own round trip).
    Message,
    /// `login` (one argon2 verification).
    Login,
    /// One socket cycle: connect, `connection_init`, ack, subscribe, served, close.
    Churn,
    /// One MessagePosted reaching one room subscriber, timed from the `sendMessage` request.
    Delivery,
}

impl Op {
    /// Every operation, in column order.
    pub const ALL: [Op; 8] =
        [Op::Feed, Op::Post, Op::Like, Op::Comment, Op::Message, Op::Login, Op::Churn, Op::Delivery];

    /// The column heading.
    pub fn name(self) -> &'static str {
        match self {
            Op::Feed => "feed",
            Op::Post => "post",
            Op::Like => "like",
            Op::Comment => "comment",
            Op::Message => "message",
            Op::Login => "login",
            Op::Churn => "churn",
            Op::Delivery => "delivery",
        }
    }
}

/// Latencies in logarithmic buckets, each 2% wider than the one before, from 10 µs: a fixed
/// 5 KiB an operation a minute however long the run, and percentiles within 2%.
#[derive(Clone, Default)]
pub struct Histogram {
    /// Successful operations.
    pub count: u64,
    /// Failed operations (not in the buckets).
    pub errors: u64,
    buckets: Vec<u32>,
}

/// The smallest latency told apart, in microseconds.
const FLOOR_MICROS: f64 = 10.0;
/// The ratio between consecutive bucket bounds.
const GROWTH: f64 = 1.02;
/// Buckets up to 10 µs × 1.02^1200, about 200 s: past any timeout the soak allows.
const BUCKETS: usize = 1200;

impl Histogram {
    fn record(&mut self, micros: f64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; BUCKETS];
        }
        let index = if micros <= FLOOR_MICROS { 0 } else { ((micros / FLOOR_MICROS).ln() / GROWTH.ln()) as usize };
        self.buckets[index.min(BUCKETS - 1)] += 1;
        self.count += 1;
    }

    /// The latency in milliseconds below which a fraction `q` of the operations fell (the
    /// upper bound of its bucket); `None` without any.
    pub fn percentile_ms(&self, q: f64) -> Option<f64> {
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count.max(1));
        let mut seen = 0;
        for (index, &bucket) in self.buckets.iter().enumerate() {
            seen += u64::from(bucket);
            if seen >= rank {
                return Some(FLOOR_MICROS * GROWTH.powi(index as i32 + 1) / 1e3);
            }
        }
        None
    }
}

/// Every operation's histogram for every minute of the run, and the first errors.
pub struct Recorder {
    /// When the load started ([`Recorder::begin`]); minutes count from here.
    start: OnceLock<Instant>,
    /// A std mutex: held for one bucket increment, never across an await.
    minutes: Mutex<Vec<[Histogram; Op::ALL.len()]>>,
    first_errors: Mutex<Vec<String>>,
}

/// Error messages kept for the report; the counts go on past them.
const KEPT_ERRORS: usize = 20;

impl Recorder {
    /// An empty record; its minutes count from [`Recorder::begin`].
    pub fn new() -> Self {
        Recorder { start: OnceLock::new(), minutes: Mutex::default(), first_errors: Mutex::default() }
    }

    /// Starts the clock: minute 0 begins now. Later calls change nothing.
    pub fn begin(&self) {
        let _ = self.start.set(Instant::now());
    }

    /// When the clock started (now, if it has not).
    pub fn start(&self) -> Instant {
        *self.start.get_or_init(Instant::now)
    }

    /// Microseconds from the start to `at`: the timestamp a chat message carries.
    pub fn micros_at(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.start()).as_micros() as u64
    }

    /// The minute of the run `at` falls in.
    pub fn minute_of(&self, at: Instant) -> usize {
        (at.saturating_duration_since(self.start()).as_secs() / 60) as usize
    }

    /// Records the outcome of an operation of kind `op` that started at `started` and
    /// ended now.
    pub fn finish(&self, op: Op, started: Instant, outcome: anyhow::Result<()>) {
        let minute = self.minute_of(started);
        match outcome {
            Ok(()) => self.latency(op, minute, started.elapsed()),
            Err(error) => self.error(op, minute, &format!("{error:#}")),
        }
    }

    /// Records one success of `op` in `minute` that took `took`.
    pub fn latency(&self, op: Op, minute: usize, took: Duration) {
        self.with_minute(minute, |ops| ops[op as usize].record(took.as_secs_f64() * 1e6));
    }

    /// Records one failure of `op` in `minute`.
    pub fn error(&self, op: Op, minute: usize, message: &str) {
        self.errors(op, minute, 1, message);
    }

    /// Records `count` failures of `op` in `minute` with one message.
    pub fn errors(&self, op: Op, minute: usize, count: u64, message: &str) {
        self.with_minute(minute, |ops| ops[op as usize].errors += count);
        let mut kept = self.first_errors.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < KEPT_ERRORS {
            kept.push(format!("minute {}, {}: {message}", minute + 1, op.name()));
        }
    }

    fn with_minute(&self, minute: usize, change: impl FnOnce(&mut [Histogram; Op::ALL.len()])) {
        let mut minutes = self.minutes.lock().unwrap_or_else(PoisonError::into_inner);
        if minutes.len() <= minute {
            minutes.resize_with(minute + 1, Default::default);
        }
        change(&mut minutes[minute]);
    }

    /// A copy of every minute's histograms.
    pub fn minutes(&self) -> Vec<[Histogram; Op::ALL.len()]> {
        self.minutes.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The first errors, in the order they happened.
    pub fn first_errors(&self) -> Vec<String> {
        self.first_errors.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}
