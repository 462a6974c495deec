//! Building the application (database, state, router, listener) and running it until a
//! shutdown signal.

use std::{future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context as _;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    auth::{password::PasswordHasher, rate_limit::RateLimits, session_cache::SessionCache, tokens::TokenKeys},
    cluster::{Cluster, Parts},
    config::Settings,
    db,
    graphql::admission::Admission,
    http::serve::{ConnectionLimits, serve},
    realtime::{broker::Broker, presence::RoomPresence, registry::Registry, typing::Typing},
    seed,
    sessions::{self, events::SessionEvents},
    state::AppState,
    telemetry,
};

/// How long shutdown waits for background tasks to finish their current step.
const TASK_DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A bound, ready-to-run application.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

/// Connects to the database (applying migrations) and assembles the shared state.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let statements = Arc::new(db::StatementCounter::default());
    let db = db::connect(&settings, statements.clone()).await?;
    if settings.seed_demo && seed::seed_demo(&db).await.context("could not seed demo data")? {
        tracing::info!(
            password = seed::DEMO_PASSWORD,
            "empty development database: demo users alice, bob, carol, dave and erin created"
        );
    }
    if settings.jwt_secret.is_none() {
        tracing::warn!(
            "JWT_SECRET is unset: tokens are signed with a random secret and stop working when this process ends"
        );
    }
    let broker = Broker::in_memory(settings.event_buffer);
    let rate_limits = Arc::new(RateLimits::new(&settings.rate_limits));
    let session_cache = SessionCache::new(settings.session_touch_interval);
    let registry = Registry::with_presence(settings.max_connections_per_user, broker.clone())
        .limit_addresses(settings.max_connections_per_ip);
    let room_presence = RoomPresence::new(broker.clone());
    let session_events = SessionEvents::default();
    let (shutdown, tasks) = (CancellationToken::new(), TaskTracker::new());
    let cluster = match &settings.redis_url {
        Some(url) => Some(
            Cluster::attach(
                url.as_str(),
                &settings.redis_key_prefix,
                Parts {
                    db: &db,
                    broker: &broker,
                    session_events: &session_events,
                    session_cache: &session_cache,
                    registry: &registry,
                    room_presence: &room_presence,
                    rate_limits: &rate_limits,
                    typing_timeout: settings.typing_timeout,
                },
            )
            .context("REDIS_URL cannot be used")?,
        ),
        None => None,
    };
    Ok(AppState {
        hasher: PasswordHasher::new(settings.auth.hash_concurrency),
        tokens: Arc::new(TokenKeys::new(settings.jwt_secret.as_deref())),
        rate_limits,
        session_cache,
        registry,
        room_presence,
        cluster,
        live_operations: Default::default(),
        admission: Arc::new(Admission::new(&settings)),
        keepalive: Default::default(),
        typing: Typing::new(broker.clone(), settings.typing_timeout, tasks.clone(), shutdown.clone()),
        broker,
        settings: Arc::new(settings),
        db,
        statements,
        metrics: telemetry::metrics_handle(),
        shutdown,
        tasks,
        session_events,
        mail_wakeup: Arc::new(Notify::new()),
    })
}

/// Starts the background tasks (cleanup, mail delivery); they stop with `state.shutdown`.
pub fn spawn_background_tasks(state: &AppState) {
    sessions::cleanup::spawn(state);
    crate::mail::worker::spawn(state);
    crate::realtime::expiry::spawn(state);
    if let Some(cluster) = &state.cluster {
        cluster.spawn(&state.tasks, &state.shutdown);
    }
}

impl Application {
    /// Builds the state and binds the listener (port 0 picks a free port).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_schema(settings, crate::graphql::build_schema).await
    }

    /// [`Application::build`] serving the schema `schema` makes from the state: an embedder
    /// adds extensions of its own this way (the tests inject faults through one).
    pub async fn build_with_schema(
        settings: Settings,
        schema: impl FnOnce(&AppState) -> crate::graphql::AppSchema,
    ) -> anyhow::Result<Self> {
        let address = SocketAddr::new(settings.host, settings.port);
        let state = build_state(settings).await?;
        let listener = TcpListener::bind(address).await.with_context(|| format!("could not listen on {address}"))?;
        let router = crate::http::router_with_schema(state.clone(), schema(&state));
        spawn_background_tasks(&state);
        Ok(Self { listener, router, state })
    }

    /// The port the listener is bound to.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|address| address.port()).unwrap_or_default()
    }

    /// The shared state, for tests that look inside.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops accepting, lets running requests
    /// finish, cancels background work and closes the pool.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Self { listener, router, state } = self;
        tracing::info!(address = %listener.local_addr()?, "listening");
        let token = state.shutdown.clone();
        let cluster = state.cluster.clone();
        let limits = ConnectionLimits {
            header_read_timeout: state.settings.header_read_timeout,
            max_header_bytes: state.settings.max_header_bytes,
        };
        serve(listener, router, limits, async move {
            shutdown.await;
            // The others hear this instance's users leave before its sockets close.
            if let Some(cluster) = cluster {
                cluster.leave().await;
            }
            token.cancel();
        })
        .await
        .context("the HTTP server failed")?;
        state.shutdown.cancel();
        state.tasks.close();
        if tokio::time::timeout(TASK_DRAIN_TIMEOUT, state.tasks.wait()).await.is_err() {
            tracing::warn!("background tasks did not stop in time");
        }
        if let Err(error) = state.db.close_by_ref().await {
            tracing::warn!(error = %error, "closing the database pool failed");
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
