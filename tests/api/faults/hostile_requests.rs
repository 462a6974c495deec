//! Hostile input through the running server, over HTTP and over graphql-ws: arbitrary bodies,
//! near-valid requests, documents past every limit, and arbitrary emails, usernames, bodies,
//! cursors and ids each get an answer a client can act on (a 4xx, or an error with a code
//! that is not INTERNAL_SERVER_ERROR, or a 4400 close), never a 500, a 1011 or a dropped
//! socket. Each property runs a few dozen cases: every case is a round trip.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use proptest::{prelude::*, test_runner::TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};
use townsquare::config::Settings;

use super::strategies::{change_fields, deeply_nested, field_change, json_value, mutated, short, text, token_soup};
use crate::{
    helpers::{TestApp, TestUser, spawn_app_with},
    ws_client::{Ended, WAIT, WsClient},
};

/// The codes of a client's mistake; anything else (INTERNAL_SERVER_ERROR, SERVICE_UNAVAILABLE,
/// no code) answering hostile input is a failure.
const CLIENT_CODES: [&str; 9] = [
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "BAD_USER_INPUT",
    "BAD_REQUEST",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "PERSISTED_QUERY_NOT_FOUND",
    "RATE_LIMITED",
];

/// One app, one signed-in user and a runtime to drive them, for properties whose cases are
/// requests. proptest's runner is synchronous; each case blocks on its requests.
struct Server {
    runtime: tokio::runtime::Runtime,
    app: TestApp,
    ann: TestUser,
}

impl Server {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let (app, ann) = runtime.block_on(async {
            // One user holds a socket per case; the per-user bound is not what is tested here.
            let app = spawn_app_with(|settings: &mut Settings| settings.max_connections_per_user = 1_000).await;
            let ann = app.signed_up("ann").await;
            (app, ann)
        });
        Self { runtime, app, ann }
    }

    /// Checks `property` for `cases` values of `strategy`, shrinking a failure to its smallest.
    fn check<S: Strategy>(&self, cases: u32, strategy: S, property: impl AsyncFn(&TestApp, &TestUser, S::Value)) {
        let config = proptest::test_runner::Config { cases, failure_persistence: None, ..Default::default() };
        TestRunner::new(config)
            .run(&strategy, |value| {
                self.runtime.block_on(property(&self.app, &self.ann, value));
                Ok(())
            })
            .unwrap_or_else(|failure| panic!("{failure}"));
    }
}

/// Checks one HTTP answer: not a 5xx, JSON, and every error coded as a client's mistake.
fn assert_clear_answer(status: StatusCode, body: &str, input: &str) {
    assert!(!status.is_server_error(), "{status} for {}: {body}", short(input));
    let body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON for {}: {body}", short(input)));
    assert_client_errors(&body["errors"], input);
}

/// Checks a list of GraphQL errors (absent is fine): each has a client's code and a sentence.
fn assert_client_errors(errors: &Value, input: &str) {
    for error in errors.as_array().into_iter().flatten() {
        let code = error["extensions"]["code"].as_str().unwrap_or_default();
        assert!(CLIENT_CODES.contains(&code), "{error} for {}", short(input));
        assert!(error["message"].as_str().is_some_and(|message| !message.trim().is_empty()), "{error}");
    }
}

async fn post_raw(app: &TestApp, body: Vec<u8>, token: Option<&str>) -> (StatusCode, String) {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the request reaches the server");
    (response.status(), response.text().await.expect("a body"))
}

/// A request a client sends, to be mutated.
fn valid_request() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        json!({ "query": "query($n: Int, $after: String) { posts(first: $n, after: $after) { edges { cursor } } }",
                "variables": { "n": 2, "after": null }, "operationName": null }),
        json!({ "query": "mutation($body: String!) { createPost(body: $body) { id body } }",
                "variables": { "body": "hi" } }),
        json!({ "query": "{ me { id } }", "extensions": { "persistedQuery": { "version": 1,
                "sha256Hash": "ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38" } } }),
    ])
}

#[test]
fn any_bytes_or_near_valid_request_posted_get_a_4xx_or_a_coded_error() {
    let server = Server::start();
    let bodies = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        valid_request().prop_flat_map(|request| mutated(request.to_string())).prop_map(String::into_bytes),
        (valid_request(), field_change()).prop_map(|(request, change)| {
            change_fields(request.as_object().expect("an object"), &change).into_bytes()
        }),
    ];
    server.check(48, bodies, async |app, ann, body| {
        let input = String::from_utf8_lossy(&body).into_owned();
        let (status, answer) = post_raw(app, body.clone(), None).await;
        assert_clear_answer(status, &answer, &input);
        let (status, answer) = post_raw(app, body, Some(&ann.token)).await;
        assert_clear_answer(status, &answer, &input);
    });
}

#[test]
fn any_query_string_on_a_get_gets_a_4xx_or_a_coded_error() {
    let server = Server::start();
    let params = (
        prop_oneof![any::<String>(), token_soup()],
        prop_oneof![json_value().prop_map(|value| value.to_string()), text()],
    );
    server.check(32, params, async |app, _, (query, variables)| {
        let response = app
            .client
            .get(format!("{}/graphql", app.address))
            .query(&[("query", query.as_str()), ("variables", variables.as_str())])
            .send()
            .await
            .expect("the request reaches the server");
        let status = response.status();
        assert_clear_answer(status, &response.text().await.expect("a body"), &query);
    });
}

#[test]
fn documents_past_every_limit_get_a_coded_error_and_the_server_stays_up() {
    let server = Server::start();
    let documents = prop_oneof![deeply_nested(), token_soup(), any::<String>()];
    server.check(32, documents, async |app, ann, document| {
        let body = serde_json::to_vec(&json!({ "query": document })).expect("JSON");
        let (status, answer) = post_raw(app, body, Some(&ann.token)).await;
        assert_clear_answer(status, &answer, &document);
    });
}

#[test]
fn any_email_username_or_body_gets_stored_as_normalized_or_a_coded_error() {
    let server = Server::start();
    let inputs = (
        prop_oneof![text(), mutated("Someone@Example.com".into())],
        prop_oneof![text(), mutated("someone_1".into()), "[a-z]{33,40}"],
        prop_oneof![text(), any::<String>(), "x{4990,5010}"],
    );
    server.check(24, inputs, async |app, ann, (email, username, body)| {
        let register = "mutation($input: RegisterInput!) { register(input: $input) { user { username email } } }";
        let input = json!({ "email": email, "username": username, "password": "violet elephant marmalade 42" });
        let answer = app.graphql(register, json!({ "input": input })).await;
        assert_client_errors(&answer["errors"], &format!("{email} / {username}"));
        if let Some(user) = answer["data"]["register"]["user"].as_object() {
            assert_eq!(user["username"], username.trim(), "{answer}");
            assert_eq!(user["email"], email.trim().to_lowercase(), "{answer}");
        }
        let answer = app
            .graphql_as(ann, "mutation($body: String!) { createPost(body: $body) { body } }", json!({ "body": body }))
            .await;
        assert_client_errors(&answer["errors"], &body);
        if let Some(stored) = answer["data"]["createPost"]["body"].as_str() {
            assert_eq!(stored, body.trim());
        }
    });
}

/// Cursors a client could send: garbage, base64 of garbage, and base64 of near-valid
/// positions, moments far outside any row's included.
fn cursor() -> impl Strategy<Value = String> {
    let position = (any::<i64>(), prop_oneof![Just(uuid::Uuid::now_v7().to_string()), text()]);
    prop_oneof![
        text(),
        "[A-Za-z0-9_-]{0,40}",
        position.prop_map(|(micros, id)| URL_SAFE_NO_PAD.encode(format!("post:{micros}:{id}"))),
        any::<i64>().prop_map(|micros| URL_SAFE_NO_PAD.encode(format!("message:{micros}:{}", uuid::Uuid::now_v7()))),
        any::<i64>()
            .prop_map(|micros| URL_SAFE_NO_PAD.encode(format!("notification:{micros}:{}", uuid::Uuid::now_v7()))),
    ]
}

#[test]
fn any_cursor_gets_a_page_or_a_coded_error() {
    let server = Server::start();
    let room = server.runtime.block_on(async {
        let answer =
            server.app.graphql_as(&server.ann, r#"mutation { createRoom(name: "lobby") { id } }"#, json!({})).await;
        answer["data"]["createRoom"]["id"].as_str().unwrap_or_else(|| panic!("{answer}")).to_string()
    });
    server.check(32, cursor(), async |app, ann, cursor| {
        let queries = [
            "query($c: String) { posts(first: 2, after: $c) { edges { cursor } } }",
            "query($c: String) { notifications(first: 2, after: $c) { edges { cursor } } }",
            "query($c: String, $room: ID!) { room(id: $room) { messages(last: 2, before: $c) { edges { cursor } } } }",
        ];
        for query in queries {
            let answer = app.graphql_as(ann, query, json!({ "c": cursor, "room": room })).await;
            assert_client_errors(&answer["errors"], &cursor);
        }
    });
}

#[test]
fn any_id_gets_null_or_a_coded_error() {
    let server = Server::start();
    let ids = prop_oneof![text(), mutated(uuid::Uuid::now_v7().to_string()), Just(uuid::Uuid::max().to_string())];
    server.check(24, ids, async |app, ann, id| {
        let reads = "query($id: ID!) { post(id: $id) { id } user(id: $id) { id } room(id: $id) { id } }";
        let answer = app.graphql_as(ann, reads, json!({ "id": id })).await;
        assert_client_errors(&answer["errors"], &id);
        assert_eq!(answer["data"], json!({ "post": null, "user": null, "room": null }), "{}", short(&id));
        for write in [
            "mutation($id: ID!) { likePost(postId: $id) { id } }",
            "mutation($id: ID!) { addComment(postId: $id, body: \"hi\") { id } }",
            "mutation($id: ID!) { sendMessage(roomId: $id, body: \"hi\") { id } }",
            "mutation($id: ID!) { addContact(userId: $id) { id } }",
            "mutation($id: ID!) { revokeSession(id: $id) }",
            "mutation($id: ID!) { markNotificationsRead(ids: [$id]) }",
        ] {
            let answer = app.graphql_as(ann, write, json!({ "id": id })).await;
            assert_client_errors(&answer["errors"], &id);
        }
    });
}

/// A graphql-ws message a client could send: anything, or a valid one mutated.
fn frame() -> impl Strategy<Value = String> {
    let valid = prop::sample::select(vec![
        json!({ "type": "ping" }),
        json!({ "type": "complete", "id": "1" }),
        json!({ "type": "subscribe", "id": "1", "payload": { "query": "{ me { id } }" } }),
        json!({ "type": "subscribe", "id": "2", "payload": {
            "query": "query($n: Int) { posts(first: $n) { edges { cursor } } }", "variables": { "n": 1 } } }),
    ]);
    prop_oneof![
        any::<String>(),
        json_value().prop_map(|value| value.to_string()),
        valid.clone().prop_flat_map(|message| mutated(message.to_string())),
        (valid, field_change())
            .prop_map(|(message, change)| change_fields(message.as_object().expect("an object"), &change)),
    ]
}

/// Reads `socket` until operation `sentinel` completes: true while the socket serves on;
/// false once it was closed with a code that names the client's mistake. Every error sent
/// meanwhile must be a client's.
async fn served_until(socket: &mut WsClient, sentinel: &str, input: &str) -> bool {
    while let Some(message) = socket.next_message(WAIT).await {
        match message["type"].as_str() {
            Some("error") => assert_client_errors(&message["payload"], input),
            Some("next") => assert_client_errors(&message["payload"]["errors"], input),
            _ => {}
        }
        if message["id"] == sentinel && message["type"] == "complete" {
            return true;
        }
    }
    match socket.ended(WAIT).await {
        Ended::Closed(code, reason) => {
            assert!(
                [4400, 4401, 4403, 4409, 4429].contains(&code),
                "closed with {code} {reason:?} for {}",
                short(input)
            );
            assert!(!reason.is_empty(), "a close without a reason for {}", short(input));
            false
        }
        Ended::Dropped => panic!("the socket dropped without a close frame for {}", short(input)),
    }
}

#[test]
fn any_frame_on_a_signed_in_socket_is_answered_or_closes_it_with_a_protocol_code() {
    let server = Server::start();
    server.check(32, frame(), async |app, ann, text| {
        let mut socket = app.ws_signed_in(ann).await;
        socket.send_text(&text).await;
        let sentinel = "sentinel-after-the-hostile-frame";
        socket.subscribe(sentinel, "{ __typename }", json!({})).await;
        if served_until(&mut socket, sentinel, &text).await {
            socket.close().await;
        }
    });
}

#[test]
fn any_frame_before_connection_init_is_ignored_or_closes_the_socket_with_a_protocol_code() {
    let server = Server::start();
    server.check(24, frame(), async |app, ann, text| {
        let mut socket = app.ws().await;
        socket.send_text(&text).await;
        let answer = socket.init(json!({ "authorization": format!("Bearer {}", ann.token) })).await;
        match answer {
            Some(message) if message["type"] == "connection_ack" => socket.close().await,
            Some(message) => panic!("{message} before the acknowledgement, for {}", short(&text)),
            None => {
                assert!(!served_until(&mut socket, "none", &text).await, "the socket was closed");
            }
        }
    });
}
