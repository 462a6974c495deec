//! `AppState`: built once per application and handed to axum and to the schema.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    auth::{password::PasswordHasher, rate_limit::RateLimits, session_cache::SessionCache, tokens::TokenKeys},
    cluster::Cluster,
    config::Settings,
    db::StatementCounter,
    graphql::{admission::Admission, live::LiveOperations},
    realtime::{broker::Broker, presence::RoomPresence, registry::Registry, typing::Typing},
    sessions::events::SessionEvents,
};

/// Everything handlers and resolvers share. Cheap to clone: every field is a handle.
#[derive(Clone)]
pub struct AppState {
    /// The settings the application was built with.
    pub settings: Arc<Settings>,
    /// The database pool.
    pub db: DatabaseConnection,
    /// Counts every SQL statement on `db`.
    pub statements: Arc<StatementCounter>,
    /// Renders the Prometheus text of `/metrics`.
    pub metrics: PrometheusHandle,
    /// Cancelled when the application shuts down; background work and sockets watch it.
    pub shutdown: CancellationToken,
    /// Background tasks (cleanup, mail), waited for on shutdown.
    pub tasks: TaskTracker,
    /// Password hashing with bounded concurrency, off the async runtime.
    pub hasher: PasswordHasher,
    /// Signs and checks tokens.
    pub tokens: Arc<TokenKeys>,
    /// Where ended login sessions are announced (logout, revocation, reset, expiry).
    pub session_events: SessionEvents,
    /// Recently checked live login sessions.
    pub session_cache: SessionCache,
    /// Rate limiters for logins, resets and codes.
    pub rate_limits: Arc<RateLimits>,
    /// Publishes and delivers events to subscriptions.
    pub broker: Broker,
    /// Who is subscribed to which room.
    pub room_presence: Arc<RoomPresence>,
    /// Who is typing where.
    pub typing: Arc<Typing>,
    /// The live subscription sockets of this instance.
    pub registry: Arc<Registry>,
    /// Ticks every `KEEPALIVE_INTERVAL_SECONDS`: every socket pings its client then.
    pub keepalive: Arc<Notify>,
    /// The subscription operations live on this instance, shared by their subscribers.
    pub live_operations: Arc<LiveOperations>,
    /// The checks every GraphQL request passes before it runs, with the persisted queries.
    pub admission: Arc<Admission>,
    /// With `REDIS_URL`: this instance's link to the others.
    pub cluster: Option<Arc<Cluster>>,
    /// Woken after mail is queued, so the worker delivers it without waiting for its poll.
    pub mail_wakeup: Arc<Notify>,
}
