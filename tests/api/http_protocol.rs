//! GraphQL over HTTP on `/graphql` (media types, malformed requests, GET, body size), as the
//! graphql-http audit checks it, and the side endpoints: health, readiness, metrics, request
//! ids and GraphiQL.

use std::io::{Read as _, Write as _};

use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, at, first_error_code, spawn_app, spawn_app_with};

/// A small query every schema version answers.
const QUERY: &str = "{ posts(first: 1) { edges { cursor } } }";
/// The spec's own response media type.
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// POSTs `body` as is, with the given `Content-Type` and `Accept` (reqwest's `*/*` when `None`).
async fn post_raw(
    app: &TestApp,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = app.client.post(format!("{}/graphql", app.address)).body(body);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    request.send().await.expect("the request reaches the server")
}

/// POSTs a JSON request body with `Accept: accept`.
async fn post_json(app: &TestApp, accept: &str, body: &Value) -> reqwest::Response {
    post_raw(app, Some("application/json"), Some(accept), body.to_string()).await
}

/// GETs `/graphql` with the given URL parameters.
async fn get_graphql(app: &TestApp, params: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .get(format!("{}/graphql", app.address))
        .query(params)
        .send()
        .await
        .expect("the request reaches the server")
}

/// The response's `Content-Type`, empty when it has none.
fn content_type(response: &reqwest::Response) -> String {
    response.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default().to_string()
}

/// POSTs a JSON request with no `Accept` header at all, which reqwest cannot send (it always
/// adds `Accept: */*`), over a plain socket. Returns the status and the lower-cased head.
async fn post_without_accept(app: &TestApp, body: &str) -> (u16, String) {
    let host = app.address.trim_start_matches("http://").to_string();
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&host).expect("the server accepts connections");
        stream.write_all(request.as_bytes()).expect("the request is written");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("the answer is read");
        let head = answer.split("\r\n\r\n").next().unwrap_or_default().to_ascii_lowercase();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("a status line: {answer}"));
        (status, head)
    })
    .await
    .expect("the socket task finishes")
}

#[tokio::test]
async fn the_response_media_type_follows_the_accept_header() {
    let app = spawn_app().await;
    let cases = [
        ("application/json", "application/json", "a client that predates the spec gets plain JSON"),
        ("*/*", "application/json", "a client that accepts anything gets plain JSON"),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON, "a client that asks for the spec's type gets it"),
        (
            "application/graphql-response+json, application/json;q=0.9",
            GRAPHQL_RESPONSE_JSON,
            "Apollo's Accept prefers the spec's type",
        ),
    ];
    for (accept, expected, reason) in cases {
        let response = post_json(&app, accept, &json!({ "query": QUERY })).await;
        assert_eq!(response.status(), StatusCode::OK, "{reason}");
        let media = content_type(&response);
        assert!(media.starts_with(expected), "{reason}: Content-Type was {media:?}");
        let body: Value = response.json().await.expect("JSON");
        assert!(body["data"]["posts"]["edges"].is_array(), "{reason}: {body}");
        assert!(body.get("errors").is_none(), "{reason}: {body}");
    }
}

#[tokio::test]
async fn a_request_without_accept_is_answered_in_application_json() {
    let app = spawn_app().await;
    let (status, head) = post_without_accept(&app, &json!({ "query": QUERY }).to_string()).await;
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
}

#[tokio::test]
async fn a_client_that_accepts_only_html_gets_406() {
    let app = spawn_app().await;
    let response = post_json(&app, "text/html", &json!({ "query": QUERY })).await;
    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn a_post_that_is_not_json_is_refused_with_415() {
    let app = spawn_app().await;
    let body = json!({ "query": QUERY }).to_string();
    let cases = [
        (None, "without a Content-Type the body cannot be read safely"),
        (Some("text/plain"), "a text/plain POST is a CORS simple request, open to CSRF"),
        (Some("application/x-www-form-urlencoded"), "a form POST is a CORS simple request, open to CSRF"),
        (Some("application/json; charset=utf-16"), "only UTF-8 JSON is read"),
    ];
    for (content_type, reason) in cases {
        let response = post_raw(&app, content_type, Some("application/json"), body.clone()).await;
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{reason}");
    }
}

#[tokio::test]
async fn a_mutation_sent_as_text_plain_never_executes() {
    let app = spawn_app().await;
    let body = json!({ "query": "mutation { logoutOtherSessions }" }).to_string();
    let response = post_raw(&app, Some("text/plain"), Some("application/json"), body).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let answer: Value = response.json().await.expect("JSON");
    assert!(answer.get("data").is_none(), "nothing ran, so there is no data: {answer}");
    assert_eq!(first_error_code(&answer), "BAD_REQUEST");
}

#[tokio::test]
async fn a_batch_of_operations_is_refused_with_400() {
    let app = spawn_app().await;
    let batch = json!([{ "query": QUERY }, { "query": QUERY }]).to_string();
    let response = post_raw(&app, Some("application/json"), Some("application/json"), batch).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("JSON");
    let message = body["errors"][0]["message"].as_str().expect("a message");
    assert!(message.to_lowercase().contains("batch"), "the message says batches are refused: {message}");
}

#[tokio::test]
async fn malformed_request_bodies_are_refused_with_400() {
    let app = spawn_app().await;
    let cases = [
        ("{ posts { edges { cursor } } }".to_string(), "the body is a bare document, not JSON"),
        ("{\"query\": ".to_string(), "the JSON is cut short"),
        ("42".to_string(), "the body is JSON but not an object"),
        (json!({}).to_string(), "the object has no query"),
        (json!({ "query": null }).to_string(), "the query is null"),
        (json!({ "query": 1 }).to_string(), "the query is a number, not a string"),
        (json!({ "query": ["{ posts { edges { cursor } } }"] }).to_string(), "the query is a list, not a string"),
        (
            json!({ "query": QUERY, "variables": "{\"first\": 1}" }).to_string(),
            "the variables are a string, not an object",
        ),
        (json!({ "query": QUERY, "variables": 3 }).to_string(), "the variables are a number, not an object"),
        (json!({ "query": QUERY, "operationName": 1 }).to_string(), "the operation name is a number, not a string"),
        (json!({ "query": QUERY, "extensions": "x" }).to_string(), "the extensions are a string, not an object"),
    ];
    for (body, reason) in cases {
        for accept in ["application/json", GRAPHQL_RESPONSE_JSON] {
            let response = post_raw(&app, Some("application/json"), Some(accept), body.clone()).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{reason} (Accept: {accept})");
            let answer: Value = response.json().await.unwrap_or_else(|_| panic!("{reason}: the answer is JSON"));
            assert!(answer["errors"][0]["message"].is_string(), "{reason}: {answer}");
            assert!(answer.get("data").is_none(), "{reason}: {answer}");
        }
    }
}

#[tokio::test]
async fn a_document_that_does_not_parse_gets_400_only_with_the_spec_media_type() {
    let app = spawn_app().await;
    let cases = [(GRAPHQL_RESPONSE_JSON, StatusCode::BAD_REQUEST), ("application/json", StatusCode::OK)];
    for (accept, status) in cases {
        let response = post_json(&app, accept, &json!({ "query": "{" })).await;
        assert_eq!(response.status(), status, "Accept: {accept}");
        assert!(content_type(&response).starts_with(accept), "Accept: {accept}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(first_error_code(&body), "GRAPHQL_PARSE_FAILED", "Accept: {accept}");
        if accept == GRAPHQL_RESPONSE_JSON {
            assert!(body.get("data").is_none(), "a document that never ran has no data: {body}");
        }
    }
}

#[tokio::test]
async fn a_document_that_does_not_validate_gets_400_only_with_the_spec_media_type() {
    let app = spawn_app().await;
    let query = "{ posts(first: 1) { edges { noSuchField } } }";
    let cases = [(GRAPHQL_RESPONSE_JSON, StatusCode::BAD_REQUEST), ("application/json", StatusCode::OK)];
    for (accept, status) in cases {
        let response = post_json(&app, accept, &json!({ "query": query })).await;
        assert_eq!(response.status(), status, "Accept: {accept}");
        assert!(content_type(&response).starts_with(accept), "Accept: {accept}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(first_error_code(&body), "GRAPHQL_VALIDATION_FAILED", "Accept: {accept}");
        if accept == GRAPHQL_RESPONSE_JSON {
            assert!(body.get("data").is_none(), "a document that never ran has no data: {body}");
        }
    }
}

#[tokio::test]
async fn an_error_raised_while_executing_keeps_status_200_and_data() {
    let app = spawn_app().await;
    let response =
        post_json(&app, GRAPHQL_RESPONSE_JSON, &json!({ "query": "{ posts(first: 101) { edges { cursor } } }" })).await;
    assert_eq!(response.status(), StatusCode::OK, "the document is valid; only a resolver failed");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT");
    assert!(body.get("data").is_some(), "an executed operation has a data entry: {body}");
}

#[tokio::test]
async fn a_query_runs_over_get() {
    let app = spawn_app().await;
    let response = get_graphql(&app, &[("query", "{posts{edges{cursor}}}")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body, json!({ "data": { "posts": { "edges": [] } } }));
}

#[tokio::test]
async fn get_reads_variables_as_a_json_string() {
    let app = spawn_app().await;
    let author = app.create_user("alice").await;
    app.create_post(author, "first", at(0)).await;
    app.create_post(author, "second", at(1)).await;
    let query = "query Feed($first: Int) { posts(first: $first) { edges { node { body } } } }";
    for (first, expected) in [(1, json!(["second"])), (2, json!(["second", "first"]))] {
        let variables = json!({ "first": first }).to_string();
        let response =
            get_graphql(&app, &[("query", query), ("variables", &variables), ("operationName", "Feed")]).await;
        assert_eq!(response.status(), StatusCode::OK, "first: {first}");
        let body: Value = response.json().await.expect("JSON");
        let bodies: Vec<Value> = body["data"]["posts"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("edges: {body}"))
            .iter()
            .map(|edge| edge["node"]["body"].clone())
            .collect();
        assert_eq!(Value::from(bodies), expected, "the variable sets the page size: {body}");
    }
}

#[tokio::test]
async fn malformed_get_requests_are_refused_with_400() {
    let app = spawn_app().await;
    let query = "query Feed($first: Int) { posts(first: $first) { edges { cursor } } }";
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("query", query), ("variables", "{first: 1")], "the variables are not JSON"),
        (&[("query", query), ("variables", "[1]")], "the variables are JSON but not an object"),
        (&[("variables", "{\"first\": 1}")], "there is no query"),
        (&[], "there are no parameters at all"),
    ];
    for (params, reason) in cases {
        let response = get_graphql(&app, params).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{reason}");
    }
}

#[tokio::test]
async fn a_mutation_over_get_is_refused_with_405_and_allow_post() {
    let app = spawn_app().await;
    let cases: [(&[(&str, &str)], &str); 2] = [
        (&[("query", "mutation { x }")], "an anonymous mutation"),
        (
            &[("query", "query A { posts { edges { cursor } } } mutation B { x }"), ("operationName", "B")],
            "a mutation picked by name from a document that also holds a query",
        ),
    ];
    for (params, reason) in cases {
        let response = get_graphql(&app, params).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{reason}");
        let allow = response.headers().get(header::ALLOW).and_then(|value| value.to_str().ok());
        assert_eq!(allow, Some("POST"), "{reason}");
    }
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_refused_with_413() {
    let app = spawn_app().await;
    let limit = 1024 * 1024;
    // Valid JSON of an exact size: the padding sits in a member the server ignores.
    let body_of = |size: usize| {
        let empty = json!({ "query": QUERY, "padding": "" }).to_string();
        json!({ "query": QUERY, "padding": " ".repeat(size - empty.len()) }).to_string()
    };
    let at_limit = body_of(limit);
    assert_eq!(at_limit.len(), limit);
    let response = post_raw(&app, Some("application/json"), Some("application/json"), at_limit).await;
    assert_eq!(response.status(), StatusCode::OK, "a body of exactly 1 MiB is read");

    let over_limit = body_of(limit + 1);
    assert_eq!(over_limit.len(), limit + 1);
    let response = post_raw(&app, Some("application/json"), Some("application/json"), over_limit).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn healthz_answers_200() {
    let app = spawn_app().await;
    let response = app.client.get(format!("{}/healthz", app.address)).send().await.expect("reaches the server");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn readyz_reports_the_database_ok() {
    let app = spawn_app().await;
    let response = app.client.get(format!("{}/readyz", app.address)).send().await.expect("reaches the server");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["database"], "ok", "{body}");
}

#[tokio::test]
async fn metrics_count_requests_and_show_the_pool() {
    let app = spawn_app().await;
    app.graphql(QUERY, json!({})).await;
    let response = app.client.get(format!("{}/metrics", app.address)).send().await.expect("reaches the server");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(content_type(&response).starts_with("text/plain"), "Prometheus text");
    let text = response.text().await.expect("text");
    for metric in ["http_requests_total", "db_pool_connections"] {
        assert!(text.contains(metric), "{metric} is exported:\n{text}");
    }
    assert!(text.contains("route=\"/graphql\""), "requests are labelled by route:\n{text}");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_an_incoming_one_is_echoed() {
    let app = spawn_app().await;
    for path in ["/healthz", "/graphql?query={posts{edges{cursor}}}", "/no-such-page"] {
        let response = app.client.get(format!("{}{path}", app.address)).send().await.expect("reaches the server");
        let id = response.headers().get("x-request-id").and_then(|value| value.to_str().ok()).unwrap_or_default();
        assert!(!id.is_empty(), "{path} has an x-request-id");
    }
    let first = app.client.get(format!("{}/healthz", app.address)).send().await.expect("reaches the server");
    let second = app.client.get(format!("{}/healthz", app.address)).send().await.expect("reaches the server");
    assert_ne!(
        first.headers().get("x-request-id"),
        second.headers().get("x-request-id"),
        "each request gets its own id"
    );

    let response = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "trace-from-the-proxy-42")
        .send()
        .await
        .expect("reaches the server");
    assert_eq!(
        response.headers().get("x-request-id").and_then(|value| value.to_str().ok()),
        Some("trace-from-the-proxy-42")
    );
}

#[tokio::test]
async fn graphiql_is_served_in_development() {
    let app = spawn_app().await;
    let response = app.client.get(format!("{}/graphiql", app.address)).send().await.expect("reaches the server");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(content_type(&response).starts_with("text/html"), "an HTML page");
    let page = response.text().await.expect("text");
    assert!(page.to_lowercase().contains("graphiql"), "the page loads GraphiQL");
}

#[tokio::test]
async fn graphiql_is_absent_when_switched_off() {
    let app = spawn_app_with(|settings| settings.graphiql = false).await;
    let response = app.client.get(format!("{}/graphiql", app.address)).send().await.expect("reaches the server");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn introspection_answers_only_when_switched_on() {
    let cases = [
        ("{ __schema { types { name } } }", "__schema", "the whole schema"),
        ("{ __type(name: \"Post\") { name fields { name } } }", "__type", "one type by name"),
    ];
    let on = spawn_app().await;
    let off = spawn_app_with(|settings| settings.introspection = false).await;
    for (query, field, reason) in cases {
        let body = on.graphql(query, json!({})).await;
        assert!(body.get("errors").is_none(), "{reason}: introspection is on by default in development: {body}");
        assert!(body["data"][field].is_object(), "{reason}: {body}");

        let body = off.graphql(query, json!({})).await;
        assert!(body["data"][field].is_null(), "{reason}: nothing leaks when introspection is off: {body}");
        assert!(
            body["errors"][0]["message"].is_string(),
            "{reason}: introspection is refused with an error when off: {body}"
        );
    }
}

#[tokio::test]
async fn me_without_a_token_is_null() {
    let app = spawn_app().await;
    assert_eq!(app.graphql("{ me { id username } }", json!({})).await, json!({ "data": { "me": null } }));
}

#[tokio::test]
async fn ids_that_name_nothing_give_null() {
    let app = spawn_app().await;
    let missing = Uuid::new_v4().to_string();
    let cases = [
        (
            "query ($id: ID!) { user(id: $id) { id } }",
            "not-a-uuid".to_string(),
            "user",
            "an id that is not a UUID names no user",
        ),
        ("query ($id: ID!) { user(id: $id) { id } }", missing.clone(), "user", "no user has this UUID"),
        (
            "query ($id: ID!) { post(id: $id) { id } }",
            "not-a-uuid".to_string(),
            "post",
            "an id that is not a UUID names no post",
        ),
        ("query ($id: ID!) { post(id: $id) { id } }", missing, "post", "no post has this UUID"),
    ];
    for (query, id, field, reason) in cases {
        let body = app.graphql(query, json!({ "id": id })).await;
        assert_eq!(body, json!({ "data": { field: null } }), "{reason}");
    }
}
