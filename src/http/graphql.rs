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
    graphql::{
        AppSchema,
        context::{Client, per_request},
        document::{RequestParams, never_ran, operation_type},
        limits::{check_document, label_errors},
    },
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
    let query = match object.remove("query") {
        Some(Value::String(query)) => query,
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
        Err(_) => return request_error(StatusCode::BAD_REQUEST, media, "The request body is not valid JSON."),
    };
    match params_from_object(object) {
        Ok(params) => execute(&state, &schema, media, params, Caller::new(&headers, peer)).await,
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
                let client = Caller::new(&parts.headers, peer).client;
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
                Err(_) => {
                    return request_error(StatusCode::BAD_REQUEST, media, &format!("`{name}` must be JSON-encoded."));
                }
            },
            _ => Value::String(value.into_owned()),
        };
        object.insert(name.into_owned(), value);
    }
    let params = match params_from_object(object) {
        Ok(params) => params,
        Err(message) => return request_error(StatusCode::BAD_REQUEST, media, message),
    };
    if selects_mutation(&params.query, params.operation_name.as_deref()) {
        let mut response =
            request_error(StatusCode::METHOD_NOT_ALLOWED, media, "Mutations are only accepted over POST.");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, &schema, media, params, Caller::new(&headers, peer)).await
}

/// True when the operation the document would run is a mutation (or a subscription, which
/// HTTP does not serve either). A document that does not parse is left to the executor,
/// which reports the parse error properly.
fn selects_mutation(query: &str, operation_name: Option<&str>) -> bool {
    operation_type(query, operation_name).is_some_and(|ty| ty != OperationType::Query)
}

/// Who sent the request: the `Authorization` token and the client's address and agent.
struct Caller {
    token: Option<String>,
    client: Client,
}

impl Caller {
    fn new(headers: &HeaderMap, peer: Option<Extension<ConnectInfo<SocketAddr>>>) -> Self {
        let header = |name| headers.get(name).and_then(|value: &HeaderValue| value.to_str().ok());
        Self {
            token: header(header::AUTHORIZATION).and_then(viewer::bearer_token).map(str::to_owned),
            client: Client {
                ip: peer.map(|Extension(ConnectInfo(address))| address.ip()),
                user_agent: header(header::USER_AGENT).map(str::to_owned),
            },
        }
    }
}

async fn execute(
    state: &AppState,
    schema: &AppSchema,
    media: MediaType,
    params: RequestParams,
    caller: Caller,
) -> Response {
    let limits = &state.settings.query_limits;
    let checked = check_document(&params.query, params.operation_name.as_deref(), limits, state.settings.introspection);
    if let Err(error) = checked {
        return write_response(media, async_graphql::Response::from_errors(vec![error]));
    }
    let viewer = match viewer::resolve(state, caller.token.as_deref()).await {
        Ok(viewer) => viewer,
        Err(error) => {
            let response = async_graphql::Response::from_errors(vec![
                async_graphql::Error::from(error).into_server_error(async_graphql::Pos::default()),
            ]);
            return write_response(media, response);
        }
    };
    let mut request = per_request(params.into_request(), &state.db, viewer).data(caller.client);
    if let Some(viewer) = viewer {
        request = request.data(viewer);
    }
    let mut response = schema.execute(request).await;
    label_errors(&mut response, limits);
    write_response(media, response)
}

/// Writes a GraphQL response with the status and body the spec prescribes for `media`.
fn write_response(media: MediaType, response: async_graphql::Response) -> Response {
    for error in &response.errors {
        let code = error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .and_then(|code| if let async_graphql::Value::String(code) = code { Some(code.clone()) } else { None })
            .unwrap_or_else(|| "UNCLASSIFIED".into());
        metrics::counter!("graphql_errors_total", "code" => code).increment(1);
    }
    // Errors raised before execution (parse, validation, limits, unknown operation) carry no
    // path; such a response has no `data` entry and, for the spec's media type, status 400.
    let executed = !never_ran(&response);
    let mut body = match serde_json::to_value(&response) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(error = %error, "could not serialize a GraphQL response");
            return request_error(StatusCode::INTERNAL_SERVER_ERROR, media, "Something went wrong on our side.");
        }
    };
    if !executed && let Value::Object(object) = &mut body {
        object.remove("data");
    }
    let status =
        if !executed && media == MediaType::GraphqlResponseJson { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let mut http_response = (status, body.to_string()).into_response();
    http_response.headers_mut().insert(header::CONTENT_TYPE, media.content_type());
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

    #[test]
    fn mutations_are_recognised_for_get() {
        assert!(selects_mutation("mutation { x }", None));
        assert!(!selects_mutation("{ posts { edges { cursor } } }", None));
        assert!(selects_mutation("query A { a } mutation B { b }", Some("B")));
        assert!(!selects_mutation("query A { a } mutation B { b }", Some("A")));
        assert!(!selects_mutation("not graphql", None));
    }
}
