//! The HTTP surface: the router with its middleware, and one file per endpoint.

pub mod assets;
pub mod client_ip;
pub mod graphql;
pub mod health;
pub mod metrics;
pub mod request_limit;
pub mod serve;

use axum::{
    Extension, Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, Method, Request, StatusCode, header},
    middleware,
    routing::get,
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::CompressionLayer,
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    config::Settings,
    error::AppError,
    graphql::{AppSchema, build_schema},
    state::AppState,
};

/// The application's routes and middleware, ready to serve. Tests call this too.
pub fn router(state: AppState) -> Router {
    let schema = build_schema(&state);
    router_with_schema(state, schema)
}

/// [`router`] serving `schema`, which an embedder built with extensions of its own from
/// [`crate::graphql::schema::schema_builder`] (the tests inject faults this way). Clients
/// have no way to add one.
pub fn router_with_schema(state: AppState, schema: AppSchema) -> Router {
    let settings = state.settings.clone();
    let mut routes = Router::new()
        .route(
            "/graphql",
            get(graphql::get)
                .post(graphql::post)
                .layer(middleware::from_fn_with_state(state.clone(), request_limit::limit_requests_per_ip)),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render));
    if settings.graphiql {
        routes = routes
            .route("/graphiql", get(assets::graphiql_page).layer(CompressionLayer::new()))
            .route("/graphiql/{*path}", get(assets::graphiql_file).layer(CompressionLayer::new()));
    }
    // The web app takes every other GET; compressed for clients that accept gzip or brotli.
    routes = routes.fallback(get(assets::app).layer(CompressionLayer::new()));
    let request_id = HeaderName::from_static("x-request-id");
    let mut router = routes
        .layer(Extension(schema))
        // Bodies over the limit get 413 from the body extractor, before any parsing.
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(middleware::from_fn(metrics::track_requests));
    if let Some(cors) = cors_layer(&settings) {
        router = router.layer(cors);
    }
    // Outermost first: every request gets an id, then a span carrying it, then panic and
    // timeout protection around the handlers.
    router
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                    let id = request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok());
                    tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id = id.unwrap_or("-"))
                }))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(CatchPanicLayer::custom(panic_response))
                .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, settings.request_timeout)),
        )
        .with_state(state)
}

/// What a request whose handler panicked gets: 500 with a GraphQL error body
/// (`INTERNAL_SERVER_ERROR`, nothing internal in the message), as any other internal error
/// reads, instead of tower-http's plain-text 500. The panic hook (`telemetry`) has already
/// logged the panic, with its location and inside the request's span, so it is not logged
/// again here.
fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let error = AppError::Internal(anyhow::anyhow!("a request handler panicked"));
    let body =
        serde_json::json!({ "errors": [{ "message": error.message(), "extensions": { "code": error.code() } }] });
    let mut response = (StatusCode::INTERNAL_SERVER_ERROR, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

/// CORS per `ALLOWED_ORIGINS`: the listed origins; any origin in development when unset;
/// none (same-origin only) in production when unset.
fn cors_layer(settings: &Settings) -> Option<CorsLayer> {
    let allow_origin = match &settings.allowed_origins {
        Some(origins) => AllowOrigin::list(
            origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()).collect::<Vec<_>>(),
        ),
        None if settings.is_production() => return None,
        None => AllowOrigin::mirror_request(),
    };
    Some(CorsLayer::new().allow_origin(allow_origin).allow_methods([Method::GET, Method::POST]).allow_headers([
        header::CONTENT_TYPE,
        header::AUTHORIZATION,
        header::ACCEPT,
    ]))
}
