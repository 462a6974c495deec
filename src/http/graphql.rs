//! `/graphql` over HTTP, as the GraphQL-over-HTTP specification prescribes.
//!
//! async-graphql-axum's handler answers every parse or validation failure with 200, ignores
//! `Accept`, and runs mutations over GET and over `text/plain` or form POSTs (a CSRF hole).
//! This handler does the media-type negotiation and request checks itself and leaves only
//! execution to async-graphql:
//! - POST needs `Content-Type: application/json` (else 415); GET runs queries only (a
//!   mutation gets 405 with `Allow: POST`).
//! - `Accept` picks `application/graphql-response+json` when the client lists it, else
//!   `application/json`; a client that accepts neither gets 406.
//! - Malformed requests (bad JSON, no `query`, wrongly typed parameters, batches) get 400.
//! - With `application/graphql-response+json`, a document that does not parse or validate
//!   gets 400 and no `data` entry; with `application/json` it gets 200, as the spec says.
//! - Every request first passes `graphql::admission` (persisted queries, limits, the
//!   operation, variables), as over graphql-ws; a subscription gets `BAD_REQUEST` (they run
//!   over the socket).

use async_graphql::parser::types::OperationType;
use std::net::SocketAddr;

use axum::{
    Extension,
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use crate::{
    auth::viewer,
    config::{QueryLimits, Settings},
    graphql::{
        AppSchema,
        context::{Client, per_request},
        document::{RequestParams, never_ran},
        errors::{BAD_REQUEST, PERSISTED_QUERY_NOT_FOUND, assign_codes, code_of, refusal},
    },
    http::client_ip::client_ip,
    state::AppState,
};

/// `application/graphql-response+json`, the spec's own media type.
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
/// `application/json`, for clients that predate the spec.
const APPLICATION_JSON: &str = "application/json";

/// The media type the response is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            MediaType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        })
    }
}

/// Picks the response media type from `Accept`; `None` when the client accepts neither.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()) else {
        // No Accept header: the spec says to treat it as application/json.
        return Some(MediaType::Json);
    };
    let mut acceptable = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let refused = parts.any(|param| param.replace(' ', "") == "q=0" || param.replace(' ', "") == "q=0.0");
        if refused {
            continue;
        }
        match media.as_str() {
            GRAPHQL_RESPONSE_JSON => return Some(MediaType::GraphqlResponseJson),
            APPLICATION_JSON | "*/*" | "application/*" => acceptable = Some(MediaType::Json),
            "" if accept.trim().is_empty() => acceptable = Some(MediaType::Json),
            _ => {}
        }
    }
    acceptable
}

/// A request that never reaches GraphQL: `status`, a message, and `extensions.code`.
fn request_error(status: StatusCode, media: MediaType, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": "BAD_REQUEST" } }] });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, media.content_type());
    response
}

/// What a body nested past serde_json's recursion limit gets. That limit (128 levels) is
/// what bounds the nesting of a request's variables; their size is bounded by
/// `MAX_BODY_BYTES` (and a socket's 64 KiB message limit).
const TOO_DEEP: &str = "The request nests arrays and objects more than 128 levels deep.";

/// serde_json reports its recursion limit as a syntax error; only the message tells it apart.
fn is_too_deep(error: &serde_json::Error) -> bool {
    error.to_string().starts_with("recursion limit exceeded")
}

/// The answer to a body that does not parse as JSON.
fn invalid_json(error: &serde_json::Error) -> &'static str {
    if is_too_deep(error) { TOO_DEEP } else { "The request body is not valid JSON." }
}

fn not_acceptable() -> Response {
    request_error(
        StatusCode::NOT_ACCEPTABLE,
        MediaType::Json,
        "Send `Accept: application/graphql-response+json` or `Accept: application/json`.",
    )
}

/// Reads the parameters from a JSON object (the POST body, or GET's decoded fields).
fn params_from_object(object: Map<String, Value>) -> Result<RequestParams, &'static str> {
    let mut object = object;
    // A persisted query may come as its hash alone (see `graphql::persisted`).
    let persisted = object.get("extensions").and_then(|extensions| extensions.get("persistedQuery")).is_some();
    let query = match object.remove("query") {
        Some(Value::String(query)) => query,
        None | Some(Value::Null) if persisted => String::new(),
        None | Some(Value::Null) => return Err("The request has no `query`: send the GraphQL document as a string."),
        Some(_) => return Err("`query` must be a string holding the GraphQL document."),
    };
    let variables = match object.remove("variables") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => return Err("`variables` must be an object mapping names to values."),
    };
    let operation_name = match object.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => return Err("`operationName` must be a string."),
    };
    let extensions = match object.remove("extensions") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => return Err("`extensions` must be an object."),
    };
    Ok(RequestParams { query, variables, operation_name, extensions })
}

/// Whether `content_type` is JSON in UTF-8.
fn is_json_content_type(content_type: &str) -> bool {
    let mut parts = content_type.split(';').map(str::trim);
    let media = parts.next().unwrap_or_default().to_ascii_lowercase();
    let utf8 = parts.all(|param| match param.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    });
    media == APPLICATION_JSON && utf8
}

/// `POST /graphql`.
pub async fn post(
    State(state): State<AppState>,
    Extension(schema): Extension<AppSchema>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(media) = negotiate(&headers) else { return not_acceptable() };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    match content_type {
        Some(content_type) if is_json_content_type(content_type) => {}
        Some(_) => {
            return request_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                "Send the request as `Content-Type: application/json` in UTF-8.",
            );
        }
        None => {
            return request_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                "The request has no Content-Type: send `Content-Type: application/json`.",
            );
        }
    }
    let object = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(object)) => object,
        Ok(Value::Array(_)) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                media,
                "Batched requests are not supported: send one operation per request.",
            );
        }
        Ok(_) => return request_error(StatusCode::BAD_REQUEST, media, "The request body must be a JSON object."),
        Err(error) => return request_error(StatusCode::BAD_REQUEST, media, invalid_json(&error)),
    };
    match params_from_object(object) {
        Ok(params) => {
            execute(&state, &schema, Method::Post, media, params, Caller::new(&headers, peer, &state.settings)).await
        }
        Err(message) => request_error(StatusCode::BAD_REQUEST, media, message),
    }
}

/// `GET /graphql`: a WebSocket upgrade becomes a graphql-ws socket; anything else is a
/// GraphQL-over-HTTP GET (queries only).
pub async fn get(
    State(state): State<AppState>,
    Extension(schema): Extension<AppSchema>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    request: axum::extract::Request,
) -> Response {
    let (mut parts, _body) = request.into_parts();
    let wants_socket = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"));
    if wants_socket {
        use axum::extract::FromRequestParts as _;
        return match axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
            Ok(upgrade) => {
                let client = Caller::new(&parts.headers, peer, &state.settings).client;
                crate::realtime::socket::upgrade(state, schema, client, &parts.headers, upgrade)
            }
            Err(rejection) => rejection.into_response(),
        };
    }
    let raw = parts.uri.query().map(str::to_owned);
    get_query(state, schema, peer, parts.headers, raw).await
}

/// A GraphQL-over-HTTP GET.
async fn get_query(
    state: AppState,
    schema: AppSchema,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    raw: Option<String>,
) -> Response {
    let Some(media) = negotiate(&headers) else { return not_acceptable() };
    let mut object = Map::new();
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let value = match name.as_ref() {
            // Structured parameters travel JSON-encoded in the URL.
            "variables" | "extensions" => match serde_json::from_str::<Value>(&value) {
                Ok(parsed) => parsed,
                Err(error) if is_too_deep(&error) => return request_error(StatusCode::BAD_REQUEST, media, TOO_DEEP),
                Err(_) => {
                    return request_error(StatusCode::BAD_REQUEST, media, &format!("`{name}` must be JSON-encoded."));
                }
            },
            _ => Value::String(value.into_owned()),
        };
        object.insert(name.into_owned(), value);
    }
    let mut response = match params_from_object(object) {
        Ok(params) => {
            execute(&state, &schema, Method::Get, media, params, Caller::new(&headers, peer, &state.settings)).await
        }
        Err(message) => request_error(StatusCode::BAD_REQUEST, media, message),
    };
    // A GET (a persisted query's hash in particular) is a URL a CDN may cache: the answer
    // depends on the media type asked for and on who asks.
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept, authorization"));
    response
}

/// The HTTP method a request came with: GET runs queries only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

/// Who sent the request: the `Authorization` token and the client's address and agent.
struct Caller {
    token: Option<String>,
    client: Client,
}

impl Caller {
    fn new(headers: &HeaderMap, peer: Option<Extension<ConnectInfo<SocketAddr>>>, settings: &Settings) -> Self {
        let header = |name| headers.get(name).and_then(|value: &HeaderValue| value.to_str().ok());
        Self {
            token: header(header::AUTHORIZATION).and_then(viewer::bearer_token).map(str::to_owned),
            client: Client {
                ip: client_ip(
                    peer.map(|Extension(ConnectInfo(address))| address.ip()),
                    headers,
                    &settings.trusted_proxies,
                ),
                user_agent: header(header::USER_AGENT).map(str::to_owned),
            },
        }
    }
}

async fn execute(
    state: &AppState,
    schema: &AppSchema,
    method: Method,
    media: MediaType,
    params: RequestParams,
    caller: Caller,
) -> Response {
    let limits = &state.settings.query_limits;
    let admitted = match state.admission.admit(params) {
        Ok(admitted) => admitted,
        Err(error) => return write_response(media, async_graphql::Response::from_errors(vec![error]), limits),
    };
    match (admitted.operation, method) {
        (OperationType::Query, _) | (OperationType::Mutation, Method::Post) => {}
        (OperationType::Mutation, Method::Get) => {
            let mut response =
                request_error(StatusCode::METHOD_NOT_ALLOWED, media, "Mutations are only accepted over POST.");
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
        (OperationType::Subscription, _) => {
            let refused = refusal(
                BAD_REQUEST,
                "Subscriptions run over WebSocket: open a graphql-ws (`graphql-transport-ws`) socket on /graphql.",
            );
            return write_response(media, async_graphql::Response::from_errors(vec![refused]), limits);
        }
    }
    let viewer = match viewer::resolve(state, caller.token.as_deref()).await {
        Ok(viewer) => viewer,
        Err(error) => {
            let response = async_graphql::Response::from_errors(vec![
                async_graphql::Error::from(error).into_server_error(async_graphql::Pos::default()),
            ]);
            return write_response(media, response, limits);
        }
    };
    let mut request = per_request(admitted.into_request(), &state.db, viewer).data(caller.client);
    if let Some(viewer) = viewer {
        request = request.data(viewer);
    }
    let response = schema.execute(request).await;
    write_response(media, response, limits)
}

/// The body of a GraphQL response: `data` left out for a request that never ran.
#[derive(serde::Serialize)]
struct ResponseBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

/// Writes a GraphQL response with the status and body the spec prescribes for `media`,
/// every error with its code.
fn write_response(media: MediaType, mut response: async_graphql::Response, limits: &QueryLimits) -> Response {
    assign_codes(&mut response, limits);
    for error in &response.errors {
        let code = code_of(error).unwrap_or("UNCLASSIFIED").to_string();
        metrics::counter!("graphql_errors_total", "code" => code).increment(1);
    }
    // Errors raised before execution (parse, validation, limits, unknown operation) carry no
    // path; such a response has no `data` entry and, for the spec's media type, status 400.
    let executed = !never_ran(&response);
    let body = ResponseBody {
        data: executed.then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    };
    // Written straight from the response's values: going through a `serde_json::Value` first
    // doubled the allocations of a large page (one map and string per field).
    let body = match serde_json::to_vec(&body) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(error = %error, "could not serialize a GraphQL response");
            return request_error(StatusCode::INTERNAL_SERVER_ERROR, media, "Something went wrong on our side.");
        }
    };
    // A persisted-query miss is a step of the protocol, not a bad request: 200, as Apollo
    // Server answers it, and never cached, so a CDN in front does not keep serving the miss
    // after the client sent the document.
    let persisted_miss =
        matches!(response.errors.as_slice(), [error] if code_of(error) == Some(PERSISTED_QUERY_NOT_FOUND));
    let status = if !executed && media == MediaType::GraphqlResponseJson && !persisted_miss {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut http_response = (status, body).into_response();
    let headers = http_response.headers_mut();
    headers.insert(header::CONTENT_TYPE, media.content_type());
    if persisted_miss {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache, must-revalidate"));
    }
    http_response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn accept_negotiation_follows_the_spec() {
        let cases = [
            ("application/graphql-response+json", Some(MediaType::GraphqlResponseJson), "the spec's type"),
            ("application/json", Some(MediaType::Json), "legacy JSON"),
            (
                "application/graphql-response+json, application/json;q=0.9",
                Some(MediaType::GraphqlResponseJson),
                "Apollo",
            ),
            ("*/*", Some(MediaType::Json), "anything"),
            ("text/html", None, "nothing we can write"),
            ("application/graphql-response+json;q=0, application/json", Some(MediaType::Json), "q=0 refuses"),
        ];
        for (value, expected, reason) in cases {
            assert_eq!(negotiate(&accept(value)), expected, "{reason}");
        }
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json), "no Accept means JSON");
    }

    #[test]
    fn only_utf8_json_bodies_are_accepted() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("application/json; charset=utf-8"));
        assert!(!is_json_content_type("application/json; charset=utf-16"));
        assert!(!is_json_content_type("text/plain"));
        assert!(!is_json_content_type("application/x-www-form-urlencoded"));
    }
}
