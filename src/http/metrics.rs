//! `/metrics` in Prometheus text, and the middleware that counts and times requests.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{db, state::AppState};

/// Renders every metric, refreshing the pool gauges first (they are read, not pushed).
pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let (open, idle, max) = db::pool_usage(&state.db, state.settings.pool_max_connections());
    metrics::gauge!("db_pool_connections", "state" => "in_use").set(f64::from(open.saturating_sub(idle)));
    metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("db_pool_connections_max").set(f64::from(max));
    let live = state.registry.counts();
    metrics::gauge!("ws_live_connections").set(live.connections as f64);
    metrics::gauge!("ws_live_subscriptions").set(live.subscriptions as f64);
    metrics::gauge!("ws_online_users").set(live.users as f64);
    // Sizes of the in-memory structures that must shrink back when sockets close: a soak run
    // (`cargo bench --bench soak`) watches them for leaks.
    metrics::gauge!("ws_live_sessions").set(state.registry.sessions() as f64);
    metrics::gauge!("ws_live_addresses").set(state.registry.addresses() as f64);
    metrics::gauge!("ws_idle_queue_entries").set(state.registry.idle_queue() as f64);
    metrics::gauge!("broker_topics").set(state.broker.topics() as f64);
    metrics::gauge!("broker_listeners").set(state.broker.listeners_total() as f64);
    metrics::gauge!("room_presence_rooms").set(state.room_presence.rooms() as f64);
    metrics::gauge!("live_operations").set(state.live_operations.len() as f64);
    // Every task of the runtime serving this request: sockets, requests, background work.
    metrics::gauge!("tokio_alive_tasks").set(tokio::runtime::Handle::current().metrics().num_alive_tasks() as f64);
    state.metrics.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}

/// Counts requests by route and status and records their latency.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    // The route pattern, not the raw path, so label values stay few.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status();
    let labels = [("method", method), ("route", route), ("status", status.as_u16().to_string())];
    metrics::counter!("http_requests_total", &labels).increment(1);
    if status.is_server_error() {
        metrics::counter!("http_requests_errors_total", &labels).increment(1);
    }
    metrics::histogram!("http_request_duration_seconds", &labels[..2]).record(started.elapsed().as_secs_f64());
    response
}
