//! Every error carries `extensions.code`, on both transports: each malformed request of the
//! table is sent over HTTP (POST and GET) and over graphql-ws, and every error of every answer
//! must have the code its row names.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, error_codes, spawn_app},
    ws_client::{WAIT, WsClient},
};

/// One malformed request, the code each transport must answer with, and why.
struct Case {
    request: Value,
    code: &'static str,
    reason: &'static str,
}

fn case(request: Value, code: &'static str, reason: &'static str) -> Case {
    Case { request, code, reason }
}

/// The table: requests a client gets wrong, and the code that tells it how.
fn cases() -> Vec<Case> {
    let post = "query($id: ID!) { post(id: $id) { id } }";
    vec![
        case(
            json!({ "query": "{ posts(first: 1) { edges { cursor }" }),
            "GRAPHQL_PARSE_FAILED",
            "a document that does not parse",
        ),
        case(
            json!({ "query": "query { post(id: $id) { id } }" }),
            "GRAPHQL_VALIDATION_FAILED",
            "an undeclared variable",
        ),
        case(json!({ "query": post }), "BAD_USER_INPUT", "a required variable sent without a value"),
        case(
            json!({ "query": post, "variables": { "id": null } }),
            "BAD_USER_INPUT",
            "a required variable sent as null",
        ),
        case(
            json!({ "query": post, "variables": { "id": { "a": 1 } } }),
            "BAD_USER_INPUT",
            "a variable of the wrong type",
        ),
        case(
            json!({ "query": "query($n: Int) { posts(first: $n) { edges { cursor } } }", "variables": { "n": "ten" } }),
            "BAD_USER_INPUT",
            "a number variable sent as a word",
        ),
        case(
            json!({ "query": "mutation($input: RegisterInput!) { register(input: $input) { token } }",
                    "variables": { "input": { "email": "a@b.co" } } }),
            "BAD_USER_INPUT",
            "an input object missing a required field",
        ),
        case(
            json!({ "query": "query A { me { id } }", "operationName": "B" }),
            "BAD_REQUEST",
            "an operationName the document does not have",
        ),
        case(
            json!({ "query": "query A { me { id } } query B { me { id } }" }),
            "BAD_REQUEST",
            "several operations and none chosen",
        ),
        case(
            json!({ "query": "{ posts(first: 1) { edges { node { ... on User { id } } } } }" }),
            "GRAPHQL_VALIDATION_FAILED",
            "a fragment that cannot apply",
        ),
        case(
            json!({ "query": "{ ...F } fragment F on User { id }" }),
            "GRAPHQL_VALIDATION_FAILED",
            "a fragment on the wrong type at the root",
        ),
        case(json!({ "query": "{ posts(first: 1) { nope } }" }), "GRAPHQL_VALIDATION_FAILED", "an unknown field"),
        case(
            json!({ "query": "{ post(id: {a: 1}) { id } }" }),
            "GRAPHQL_VALIDATION_FAILED",
            "an argument literal of the wrong type",
        ),
        case(
            json!({ "query": "query($n: Int) { posts(first: $n) { edges { cursor } } }", "variables": { "n": -5 } }),
            "BAD_USER_INPUT",
            "a page size out of range",
        ),
        case(
            json!({ "query": "{ me { id } }", "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "0".repeat(64) } } }),
            "BAD_REQUEST",
            "a persisted-query hash that does not match the document",
        ),
    ]
}

/// Sends `request` over graphql-ws as operation `id`; the errors it answered with.
async fn over_socket(socket: &mut WsClient, id: &str, request: &Value) -> Value {
    socket.subscribe_with(id, request.clone()).await;
    let message = socket.next_of(id, WAIT).await.unwrap_or_else(|| panic!("an answer to {request}"));
    match message["type"].as_str() {
        Some("error") => message["payload"].clone(),
        Some("next") => message["payload"]["errors"].clone(),
        _ => panic!("an error for {request}: {message}"),
    }
}

/// The GET parameters of a JSON request: strings as they are, objects JSON-encoded.
fn get_params(request: &Value) -> Vec<(String, String)> {
    let object = request.as_object().expect("a request object");
    object
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().map_or_else(|| value.to_string(), str::to_owned)))
        .collect()
}

async fn get(app: &TestApp, request: &Value) -> Value {
    let params = get_params(request);
    let params: Vec<(&str, &str)> = params.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    app.get_request(&params).await
}

#[tokio::test]
async fn every_malformed_request_gets_its_code_over_post_get_and_the_socket() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mut socket = app.ws_signed_in(&ann).await;
    for (index, Case { request, code, reason }) in cases().iter().enumerate() {
        let body = app.post_request(request).await;
        assert!(error_codes(&body).iter().all(|got| got == code), "{reason} over POST: {body}");
        let is_mutation = request["query"].as_str().is_some_and(|query| query.starts_with("mutation"));
        if !is_mutation {
            let body = get(&app, request).await;
            assert!(error_codes(&body).iter().all(|got| got == code), "{reason} over GET: {body}");
        }
        let errors = over_socket(&mut socket, &format!("op{index}"), request).await;
        assert!(error_codes(&errors).iter().all(|got| got == code), "{reason} over the socket: {errors}");
    }
    assert!(socket.closed().is_none(), "the socket stays open through every refusal");
}

#[tokio::test]
async fn a_subscription_over_http_is_a_bad_request_that_points_to_the_socket() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let query = "subscription { notifications { id } }";
    let body = app.graphql_with_token(&ann.token, query, json!({})).await;
    assert_eq!(error_codes(&body), ["BAD_REQUEST"], "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("graphql-ws"), "{message}");
    let body = app.get_request(&[("query", query)]).await;
    assert_eq!(error_codes(&body), ["BAD_REQUEST"], "over GET: {body}");
}

#[tokio::test]
async fn the_refusals_name_the_variable_and_the_operations() {
    let app = spawn_app().await;
    let body = app.post_request(&json!({ "query": "query($id: ID!) { post(id: $id) { id } }" })).await;
    assert_eq!(body["errors"][0]["message"], "Variable \"$id\" of required type \"ID!\" was not provided.", "{body}");
    let body = app.post_request(&json!({ "query": "query A { me { id } } query B { me { id } }" })).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("\"A\"") && message.contains("\"B\"") && message.contains("operationName"), "{message}");
    let body = app.post_request(&json!({ "query": "query A { me { id } }", "operationName": "B" })).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("Unknown operation named \"B\""), "{message}");
}

#[tokio::test]
async fn a_nullable_variable_left_out_runs_with_the_arguments_default() {
    let app = spawn_app().await;
    let body = app.post_request(&json!({ "query": "query($n: Int) { posts(first: $n) { edges { cursor } } }" })).await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn a_subscription_refused_over_the_socket_carries_its_code() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mut socket = app.ws_signed_in(&ann).await;
    let cases = [
        (
            json!({ "query": "subscription { notifications { nope } }" }),
            "GRAPHQL_VALIDATION_FAILED",
            "an unknown field",
        ),
        (
            json!({ "query": "subscription($room: ID!) { roomEvents(roomId: $room) { __typename } }" }),
            "BAD_USER_INPUT",
            "a required variable left out",
        ),
        (
            json!({ "query": "subscription($room: ID!) { roomEvents(roomId: $room) { __typename } }",
                    "variables": { "room": [1, 2] } }),
            "BAD_USER_INPUT",
            "a variable of the wrong type",
        ),
        (
            json!({ "query": "subscription A { notifications { id } } subscription B { notifications { id } }" }),
            "BAD_REQUEST",
            "no operation chosen",
        ),
        (
            json!({ "query": "subscription { roomEvents(roomId: \"00000000-0000-0000-0000-000000000000\") { __typename } }" }),
            "NOT_FOUND",
            "an unknown room",
        ),
    ];
    for (index, (request, code, reason)) in cases.iter().enumerate() {
        let errors = over_socket(&mut socket, &format!("sub{index}"), request).await;
        assert_eq!(error_codes(&errors), [*code], "{reason}: {errors}");
    }
    assert!(socket.closed().is_none(), "the socket stays open");
}
