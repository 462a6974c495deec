//! The command connection to Redis: every call fails within [`CALL_TIMEOUT`], a broken
//! connection is replaced on the next call, and whether Redis answers is recorded for
//! `/readyz` and the metrics.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use redis::{AsyncConnectionConfig, FromRedisValue, RedisError, RedisResult, aio::MultiplexedConnection};
use tokio::sync::Mutex;
use uuid::Uuid;

/// The longest any Redis call may take, connecting included: nothing waits on Redis longer.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(1);
/// After a failed connect, calls fail at once for this long instead of each trying again, so
/// an outage costs one connect attempt per interval, not one per request.
const RECONNECT_PAUSE: Duration = Duration::from_millis(250);

/// One instance's link to Redis. Cheap to clone.
#[derive(Clone)]
pub struct RedisLink {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    /// The multiplexed connection, `None` after it broke; with the time of the last failed
    /// connect.
    connection: Mutex<(Option<MultiplexedConnection>, Option<Instant>)>,
    /// Every key and channel starts with this and a colon.
    prefix: String,
    /// This process's id, minted at boot: a restarted instance is a new node.
    node_id: Uuid,
    /// Whether the last command got an answer.
    reachable: AtomicBool,
}

impl RedisLink {
    /// A link to `url` (nothing is connected until the first call).
    pub fn new(url: &str, prefix: &str) -> RedisResult<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                client: redis::Client::open(url)?,
                connection: Mutex::new((None, None)),
                prefix: prefix.to_string(),
                node_id: Uuid::now_v7(),
                reachable: AtomicBool::new(false),
            }),
        })
    }

    /// This instance's node id.
    pub fn node_id(&self) -> Uuid {
        self.inner.node_id
    }

    /// The key prefix, without its colon.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// `prefix:rest`.
    pub fn key(&self, rest: impl std::fmt::Display) -> String {
        format!("{}:{rest}", self.inner.prefix)
    }

    /// The client, for the subscriber's own connection.
    pub fn client(&self) -> &redis::Client {
        &self.inner.client
    }

    /// Whether Redis answered the last command.
    pub fn reachable(&self) -> bool {
        self.inner.reachable.load(Ordering::Relaxed)
    }

    async fn connection(&self) -> RedisResult<MultiplexedConnection> {
        let mut slot = self.inner.connection.lock().await;
        if let Some(connection) = &slot.0 {
            return Ok(connection.clone());
        }
        if slot.1.is_some_and(|failed| failed.elapsed() < RECONNECT_PAUSE) {
            return Err(unreachable_error());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(CALL_TIMEOUT));
        match tokio::time::timeout(
            CALL_TIMEOUT,
            self.inner.client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
        {
            Ok(Ok(connection)) => {
                *slot = (Some(connection.clone()), None);
                Ok(connection)
            }
            Ok(Err(error)) => {
                slot.1 = Some(Instant::now());
                Err(error)
            }
            Err(_) => {
                slot.1 = Some(Instant::now());
                Err(unreachable_error())
            }
        }
    }

    /// Runs `command`; a broken or silent connection is dropped so the next call reconnects.
    pub async fn query<T: FromRedisValue>(&self, command: &redis::Cmd) -> RedisResult<T> {
        self.run(|mut connection| async move { command.query_async(&mut connection).await }).await
    }

    /// Runs `pipeline` (one round trip).
    pub async fn pipeline<T: FromRedisValue>(&self, pipeline: &redis::Pipeline) -> RedisResult<T> {
        self.run(|mut connection| async move { pipeline.query_async(&mut connection).await }).await
    }

    /// Runs `script` with `args` (EVALSHA, loading it on first use).
    pub async fn script<T: FromRedisValue>(&self, script: &redis::Script, args: &[String]) -> RedisResult<T> {
        self.run(|mut connection| async move {
            let mut invocation = script.prepare_invoke();
            for arg in args {
                invocation.arg(arg);
            }
            invocation.invoke_async(&mut connection).await
        })
        .await
    }

    async fn run<T, F, Fut>(&self, call: F) -> RedisResult<T>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let outcome = tokio::time::timeout(CALL_TIMEOUT, async {
            let connection = self.connection().await?;
            call(connection).await
        })
        .await
        .unwrap_or_else(|_| Err(unreachable_error()));
        match &outcome {
            Ok(_) => self.set_reachable(true),
            // An error Redis itself sent back means the connection works.
            Err(error) if matches!(error.kind(), redis::ErrorKind::Server(_)) => self.set_reachable(true),
            Err(_) => {
                // Anything else (I/O, a timeout, a dropped connection): start afresh.
                self.inner.connection.lock().await.0 = None;
                self.set_reachable(false);
            }
        }
        outcome
    }

    fn set_reachable(&self, reachable: bool) {
        if self.inner.reachable.swap(reachable, Ordering::Relaxed) != reachable {
            metrics::gauge!("redis_connected").set(f64::from(u8::from(reachable)));
            if reachable {
                tracing::info!("Redis answers again");
            } else {
                tracing::warn!("Redis does not answer");
            }
        }
    }
}

/// The error a call gets when Redis did not answer in time.
fn unreachable_error() -> RedisError {
    RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, "Redis did not answer in time"))
}
