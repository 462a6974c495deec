//! The baseline server: the feed page with no GraphQL, in a process of its own so its CPU is
//! read from `/proc` exactly as the GraphQL server's is. The bench runs its own binary again
//! with [`LISTEN_VAR`] set ([`command`]); `main` then calls [`serve`] instead of benchmarking.
//!
//! It does what the GraphQL path does around the statements and no more: reads the bearer
//! token and verifies it with townsquare's `TokenKeys` (the same secret as the server), runs
//! the page's statements (`page.rs`), and answers with JSON. It trusts a valid token without
//! reading the session row; the server reads that row at most once a minute (its session
//! cache), which a run's thousands of requests do not notice.

use std::{process::Command, sync::Arc};

use anyhow::Context as _;
use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
    serve::ListenerExt as _,
};
use sea_orm::DatabaseConnection;
use townsquare::{
    auth::{tokens::TokenKeys, viewer::bearer_token},
    config::Settings,
    db::{self, StatementCounter},
};

use crate::{page, server::JWT_SECRET};

/// Set to `127.0.0.1:<port>`, it turns the bench binary into the baseline server.
pub const LISTEN_VAR: &str = "FEED_BASELINE_LISTEN";
/// The database the baseline reads.
const DATABASE_VAR: &str = "FEED_BASELINE_DATABASE_URL";

/// What every request of the baseline shares.
#[derive(Clone)]
struct Baseline {
    db: DatabaseConnection,
    tokens: Arc<TokenKeys>,
    /// Every statement on `db`, for `/metrics`.
    statements: Arc<StatementCounter>,
}

/// This binary again, to serve the baseline on 127.0.0.1:`port` from `database_url`, with
/// nothing else of this process's environment.
pub fn command(port: u16, database_url: &str) -> anyhow::Result<Command> {
    let mut command = Command::new(std::env::current_exe().context("could not find the bench binary")?);
    command.env_clear().env(LISTEN_VAR, format!("127.0.0.1:{port}")).env(DATABASE_VAR, database_url);
    Ok(command)
}

/// Serves `POST /graphql` (the feed page, whatever the body asks), `GET /readyz` and
/// `GET /metrics` (`db_statements_total`, as the server names it) on `listen` until killed.
pub fn serve(listen: &str) -> anyhow::Result<()> {
    let database_url = std::env::var(DATABASE_VAR).with_context(|| format!("{DATABASE_VAR} is not set"))?;
    // Every setting at its default but the database, as the server runs in the bench: the
    // same pool size and overflow, and for SQLite the same WAL options (`db::connect`).
    let settings = Settings::from_lookup(|name| (name == "DATABASE_URL").then(|| database_url.clone()))
        .context("the baseline's settings")?;
    // The runtime `src/main.rs` builds for the server: one worker a core.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("baseline runtime")?;
    runtime.block_on(async {
        let statements = Arc::new(StatementCounter::default());
        let db = db::connect(&settings, statements.clone()).await?;
        let baseline = Baseline { db, tokens: Arc::new(TokenKeys::new(Some(JWT_SECRET))), statements };
        let router = Router::new()
            .route("/graphql", post(feed))
            .route("/readyz", get(|| async { "ready" }))
            .route("/metrics", get(metrics))
            .with_state(baseline);
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("could not listen on {listen}"))?
            // As the server's accept loop does: an answer goes out at once, not after
            // Nagle's delay.
            .tap_io(|stream| {
                let _ = stream.set_nodelay(true);
            });
        axum::serve(listener, router).await.context("the baseline stopped serving")
    })
}

/// The feed page for the token's user. The body is read, as the server reads it, so the
/// connection can carry the next request; what it asks is always the bench's one query.
async fn feed(State(baseline): State<Baseline>, headers: HeaderMap, _query: Bytes) -> Response {
    let viewer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token)
        .and_then(|token| baseline.tokens.verify(token));
    let Some(viewer) = viewer else {
        return (StatusCode::UNAUTHORIZED, "no valid bearer token").into_response();
    };
    match page::render(&baseline.db, viewer.user_id).await {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], json).into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")).into_response(),
    }
}

/// The statements run so far, in the server's Prometheus name.
async fn metrics(State(baseline): State<Baseline>) -> String {
    format!("db_statements_total {}\n", baseline.statements.total())
}
