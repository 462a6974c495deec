//! Many instances as one: with `REDIS_URL` set, Redis carries events, presence, ended
//! sessions and the account rate limits between instances, and PostgreSQL stays the log
//! every gap is filled from.
//!
//! Each part sits behind the interface the single-instance code already uses, and the Redis
//! implementation is attached at start-up: the broker's [`Relay`](crate::realtime::broker::Relay)
//! (`relay.rs`), the session events' [`EndRelay`](crate::sessions::EndRelay) (also `relay.rs`),
//! shared presence for the registry and room presence (`presence.rs`), and the rate limits'
//! shared counter (`scripts.rs`). Resolvers and the socket layer do not know which is in use.

pub mod link;
pub mod presence;
pub mod relay;
pub mod revocations;
pub mod scripts;
pub mod wire;

use std::{
    sync::{Arc, Mutex, PoisonError, Weak},
    time::Duration,
};

use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use self::{
    link::RedisLink,
    presence::{NodeCounts, SharedPresence},
    relay::{Outgoing, RedisRelay},
};
use crate::{
    auth::{rate_limit::RateLimits, session_cache::SessionCache},
    realtime::{broker::Broker, presence::RoomPresence, registry::Registry},
    sessions::SessionEvents,
};

/// How long a graceful shutdown waits for Redis to take this instance's leave.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(2);

/// This instance's membership of the cluster.
pub struct Cluster {
    link: RedisLink,
    relay: Arc<RedisRelay>,
    presence: Arc<SharedPresence>,
    /// The relay's outbox, until its publisher starts.
    outgoing: Mutex<Option<mpsc::Receiver<Outgoing>>>,
    db: DatabaseConnection,
    session_events: SessionEvents,
    session_cache: SessionCache,
}

/// The parts of the application that Redis is attached to.
pub struct Parts<'a> {
    /// The database, for gap fills and the revocation poll.
    pub db: &'a DatabaseConnection,
    /// The event broker.
    pub broker: &'a Broker,
    /// Ended sessions.
    pub session_events: &'a SessionEvents,
    /// Checked sessions.
    pub session_cache: &'a SessionCache,
    /// This instance's sockets.
    pub registry: &'a Arc<Registry>,
    /// This instance's room subscriptions.
    pub room_presence: &'a Arc<RoomPresence>,
    /// The rate limiters.
    pub rate_limits: &'a RateLimits,
    /// How long a typing indicator lasts without renewal.
    pub typing_timeout: Duration,
}

/// Why `/readyz` reports Redis as not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    /// Redis does not answer commands.
    Unreachable,
    /// Commands work but the subscription is down or stopped receiving.
    SubscriptionStale,
}

impl NotReady {
    /// The word `/readyz` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            NotReady::Unreachable => "unreachable",
            NotReady::SubscriptionStale => "stale",
        }
    }
}

impl Cluster {
    /// Attaches Redis at `url` to `parts`, every key under `prefix`. Nothing connects yet
    /// (an unreachable Redis does not stop the start; `/readyz` says so).
    pub fn attach(url: &str, prefix: &str, parts: Parts<'_>) -> anyhow::Result<Arc<Self>> {
        let link = RedisLink::new(url, prefix)?;
        let (relay, outgoing) = RedisRelay::new(
            link.clone(),
            parts.broker.clone(),
            parts.session_events.clone(),
            parts.session_cache.clone(),
            parts.typing_timeout,
        );
        parts.broker.attach(relay.clone());
        parts.session_events.attach(relay.clone());
        let registry: Weak<Registry> = Arc::downgrade(parts.registry);
        let presence = SharedPresence::new(link.clone(), parts.broker.clone(), parts.db.clone(), move || {
            registry.upgrade().map_or_else(NodeCounts::default, |registry| {
                let counts = registry.counts();
                NodeCounts {
                    connections: counts.connections as u64,
                    subscriptions: counts.subscriptions as u64,
                    idle_expired: registry.idle_expired_total(),
                }
            })
        });
        parts.registry.share(presence.clone());
        parts.room_presence.share(presence.clone());
        parts.rate_limits.share(Arc::new(link.clone()));
        tracing::info!(node = %link.node_id(), prefix, "many-instance mode: events, presence and revocations go through Redis");
        Ok(Arc::new(Self {
            link,
            relay,
            presence,
            outgoing: Mutex::new(Some(outgoing)),
            db: parts.db.clone(),
            session_events: parts.session_events.clone(),
            session_cache: parts.session_cache.clone(),
        }))
    }

    /// Starts the publisher, the subscriber, presence and the revocation poll.
    pub fn spawn(&self, tasks: &TaskTracker, shutdown: &CancellationToken) {
        let Some(outgoing) = self.outgoing.lock().unwrap_or_else(PoisonError::into_inner).take() else { return };
        self.relay.spawn(outgoing, tasks, shutdown.clone());
        self.presence.spawn(self.relay.reconnections(), tasks, shutdown.clone());
        tasks.spawn(revocations::poll_loop(
            self.db.clone(),
            self.session_events.clone(),
            self.session_cache.clone(),
            self.relay.reconnections(),
            shutdown.clone(),
        ));
    }

    /// Whether Redis answers and the subscription receives.
    pub async fn readiness(&self) -> Result<(), NotReady> {
        if self.link.query::<String>(&redis::cmd("PING")).await.is_err() {
            return Err(NotReady::Unreachable);
        }
        if !self.relay.subscribed() {
            return Err(NotReady::SubscriptionStale);
        }
        Ok(())
    }

    /// Graceful shutdown: removes this instance's presence (publishing the leaves) before
    /// its sockets close.
    pub async fn leave(&self) {
        if tokio::time::timeout(LEAVE_TIMEOUT, self.presence.leave()).await.is_err() {
            tracing::warn!("Redis did not take this instance's leave in time; its entries expire");
        }
    }
}
