//! `REQUESTS_PER_MINUTE_PER_IP` on `/graphql`: one client address flooding HTTP requests or
//! socket upgrades gets 429 before any parsing, so it cannot take the CPU others need.
//!
//! Counted under the address `client_ip` resolves (the peer, or behind a `TRUSTED_PROXIES`
//! balancer the client it forwards for). The answer is a GraphQL error body, so clients
//! that read `errors[0].extensions.code` see `RATE_LIMITED` as for every other limit.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{error::AppError, http::client_ip::client_ip, state::AppState};

/// Refuses the request with 429 when its client address is over the limit.
pub async fn limit_requests_per_ip(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip());
    let Some(ip) = client_ip(peer, request.headers(), &state.settings.trusted_proxies) else {
        return next.run(request).await;
    };
    match state.rate_limits.request(ip) {
        Ok(()) => next.run(request).await,
        Err(refused) => too_many_requests(&refused),
    }
}

/// 429 with `Retry-After` and the error in a GraphQL response body.
fn too_many_requests(refused: &AppError) -> Response {
    let retry_after = match refused {
        AppError::RateLimited { retry_after_seconds } => (*retry_after_seconds).max(1),
        _ => 1,
    };
    metrics::counter!("http_requests_refused_total", "reason" => "rate").increment(1);
    let body = json!({ "errors": [{
        "message": format!("Too many requests from this address. Try again in {retry_after} seconds."),
        "extensions": { "code": "RATE_LIMITED", "retryAfterSeconds": retry_after },
    }] });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}
