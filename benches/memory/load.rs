//! One phase of the load: a number of requests from a number of clients at once, timed as a
//! whole, with the failures counted so the report can say how many there were.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use futures_util::{StreamExt as _, stream};

use crate::api::WAIT;

/// What one phase did.
pub struct Phase {
    /// Requests sent.
    pub requests: usize,
    /// Requests that failed: an error status, a GraphQL error, or no answer within `WAIT`.
    pub failed: usize,
    /// The first failure's message.
    pub first_error: Option<String>,
    /// When the first request was sent.
    pub started: Instant,
    /// When the last answer came.
    pub ended: Instant,
}

impl Phase {
    /// Requests per second of wall time, failed ones included.
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.wall().as_secs_f64()
    }

    /// From the first request to the last answer.
    pub fn wall(&self) -> Duration {
        self.ended - self.started
    }
}

/// Sends `request(0)` to `request(count - 1)`, `clients` of them in flight at any time (one
/// kept-alive connection each), and returns the phase and the values of those that succeeded.
/// A failure does not stop the phase: the run fails on it at the end, with the memory figures
/// still printed.
pub async fn run<T, F, Fut>(count: usize, clients: usize, request: F) -> (Phase, Vec<T>)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let started = Instant::now();
    let results: Vec<anyhow::Result<T>> = stream::iter(0..count)
        .map(|index| {
            let answer = request(index);
            async move { tokio::time::timeout(WAIT, answer).await.context("no answer in time")? }
        })
        .buffer_unordered(clients)
        .collect()
        .await;
    let ended = Instant::now();
    let (mut failed, mut first_error, mut values) = (0, None, Vec::with_capacity(count));
    for result in results {
        match result {
            Ok(value) => values.push(value),
            Err(error) => {
                failed += 1;
                first_error.get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
    (Phase { requests: count, failed, first_error, started, ended }, values)
}
