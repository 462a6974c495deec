//! The graphql-ws protocol over a real socket: every close code of the contract, operations
//! of every kind, keepalive and origin checks.

use std::time::Duration;

use serde_json::json;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest as _};

use crate::{
    helpers::{spawn_app, spawn_app_with},
    ws_client::{Ended, GRAPHQL_TRANSPORT_WS, WAIT, WsClient},
};

const NOTIFICATIONS: &str = "subscription { notifications { id kind } }";

#[tokio::test]
async fn a_valid_token_in_connection_init_is_acknowledged() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    for key in ["authorization", "Authorization", "token"] {
        let mut socket = app.ws().await;
        let ack = socket.init(json!({ key: format!("Bearer {}", ann.token) })).await.expect("an answer");
        assert_eq!(ack["type"], "connection_ack", "{key}: {ack}");
        socket.close().await;
    }
}

#[tokio::test]
async fn connection_init_without_a_valid_token_is_refused_with_4403() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    app.graphql_as(&ann, "mutation { logout }", json!({})).await;
    for (payload, reason) in [
        (json!({}), "no token"),
        (json!({ "authorization": "Bearer not-a-token" }), "a malformed token"),
        (json!({ "authorization": format!("Bearer {}", ann.token) }), "a revoked session's token"),
    ] {
        let mut socket = app.ws().await;
        socket.init(payload).await;
        assert_eq!(socket.expect_close(WAIT).await, (4403, "Forbidden".into()), "{reason}");
    }
}

#[tokio::test]
async fn subscribe_before_the_acknowledgement_closes_with_4401() {
    let app = spawn_app().await;
    let mut socket = app.ws().await;
    socket.subscribe("1", "{ me { id } }", json!({})).await;
    assert_eq!(socket.expect_close(WAIT).await, (4401, "Unauthorized".into()));
}

#[tokio::test]
async fn no_connection_init_in_time_closes_with_4408() {
    let app = spawn_app_with(|settings| settings.connection_init_timeout = Duration::from_millis(200)).await;
    let mut socket = app.ws().await;
    assert_eq!(socket.expect_close(WAIT).await, (4408, "Connection initialisation timeout".into()));
}

#[tokio::test]
async fn a_second_connection_init_closes_with_4429() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mut socket = app.ws_signed_in(&ann).await;
    socket
        .send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", ann.token) } }))
        .await;
    assert_eq!(socket.expect_close(WAIT).await, (4429, "Too many initialisation requests".into()));
}

#[tokio::test]
async fn an_id_already_running_closes_with_4409() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mut socket = app.ws_signed_in(&ann).await;
    socket.subscribe("same", NOTIFICATIONS, json!({})).await;
    socket.subscribe("same", NOTIFICATIONS, json!({})).await;
    assert_eq!(socket.expect_close(WAIT).await, (4409, "Subscriber for same already exists".into()));
}

#[tokio::test]
async fn malformed_messages_close_with_4400_and_a_reason_that_fits_a_close_frame() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let long_type = format!(r#"{{"type":"{}"}}"#, "x".repeat(500));
    for (text, reason) in [
        ("not json", "not JSON"),
        (r#"{"type":"nonsense"}"#, "an unknown type"),
        (r#"{"type":"subscribe","id":"1"}"#, "subscribe without a payload"),
        (r#"{"type":"subscribe","id":"1","payload":{}}"#, "a payload without a query"),
        (long_type.as_str(), "a reason that would overflow the close frame"),
    ] {
        let mut socket = app.ws_signed_in(&ann).await;
        socket.send_text(text).await;
        let (code, close_reason) = socket.expect_close(WAIT).await;
        assert_eq!(code, 4400, "{reason}");
        assert!(!close_reason.is_empty() && close_reason.len() <= 123, "{reason}: {close_reason}");
    }
}

#[tokio::test]
async fn a_message_over_64_kib_closes_with_1009() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mut socket = app.ws_signed_in(&ann).await;
    let query = format!("{{ me {{ id }} }} #{}", "x".repeat(70 * 1024));
    socket.subscribe("1", &query, json!({})).await;
    assert_eq!(socket.expect_close(WAIT).await.0, 1009);
}

#[tokio::test]
async fn other_subprotocols_the_legacy_graphql_ws_included_are_refused() {
    let app = spawn_app().await;
    for protocol in [Some("graphql-ws"), Some("something-else"), None] {
        match WsClient::connect(&app.address, protocol).await {
            // A client that insists on its protocol fails the handshake itself.
            Err(_) => {}
            Ok(mut socket) => {
                assert_ne!(socket.protocol.as_deref(), Some(GRAPHQL_TRANSPORT_WS), "{protocol:?}");
                assert_eq!(
                    socket.expect_close(WAIT).await,
                    (4406, "Subprotocol not acceptable".into()),
                    "{protocol:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn queries_and_mutations_run_over_the_socket_and_complete() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mut socket = app.ws_signed_in(&ann).await;
    socket.subscribe("q", "{ me { username } }", json!({})).await;
    let next = socket.next_of("q", WAIT).await.expect("a result");
    assert_eq!(next["type"], "next");
    assert_eq!(next["payload"]["data"]["me"]["username"], "ann", "{next}");
    assert_eq!(socket.next_of("q", WAIT).await.expect("the end")["type"], "complete");

    socket
        .subscribe("m", "mutation($body: String!) { createPost(body: $body) { body } }", json!({ "body": "hi" }))
        .await;
    let next = socket.next_of("m", WAIT).await.expect("a result");
    assert_eq!(next["payload"]["data"]["createPost"]["body"], "hi", "{next}");
    assert_eq!(socket.next_of("m", WAIT).await.expect("the end")["type"], "complete");
}

#[tokio::test]
async fn a_document_that_does_not_validate_gets_an_error_message_and_the_socket_stays() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mut socket = app.ws_signed_in(&ann).await;
    socket.subscribe("bad", "{ nope }", json!({})).await;
    let error = socket.next_of("bad", WAIT).await.expect("an answer");
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    socket.subscribe("good", "{ me { username } }", json!({})).await;
    assert_eq!(socket.next_of("good", WAIT).await.expect("a result")["type"], "next", "the socket still serves");
}

#[tokio::test]
async fn ping_is_answered_with_pong() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mut socket = app.ws_signed_in(&ann).await;
    socket.send_text(r#"{"type":"ping","payload":{"at":1}}"#).await;
    let pong = socket.raw_text(WAIT).await.expect("an answer");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&pong).expect("JSON"),
        json!({ "type": "pong", "payload": { "at": 1 } })
    );
}

#[tokio::test]
async fn complete_stops_an_operation_and_its_id_can_be_reused() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mut socket = app.ws_signed_in(&ann).await;
    socket.subscribe("n", NOTIFICATIONS, json!({})).await;
    socket.complete("n").await;
    socket.subscribe("n", NOTIFICATIONS, json!({})).await;
    assert!(socket.ping_answered(WAIT).await, "no 4409: the first operation ended: {:?}", socket.closed());
}

#[tokio::test]
async fn a_peer_that_answers_no_ping_is_dropped_after_two_intervals() {
    let app = spawn_app_with(|settings| settings.keepalive_interval = Duration::from_millis(150)).await;
    let ann = app.signed_up("ann").await;
    let socket = app.ws_signed_in(&ann).await;
    // Not reading means tungstenite never answers the server's pings.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut socket = socket;
    assert!(
        matches!(socket.ended(WAIT).await, Ended::Closed(1001, _) | Ended::Dropped),
        "the silent socket was dropped"
    );
    assert_eq!(app.state.registry.counts().connections, 0);
}

#[tokio::test]
async fn a_reading_peer_stays_connected_across_many_ping_intervals() {
    let app = spawn_app_with(|settings| settings.keepalive_interval = Duration::from_millis(100)).await;
    let ann = app.signed_up("ann").await;
    let mut socket = app.ws_signed_in(&ann).await;
    // Reading answers the pings; nothing else arrives.
    assert_eq!(socket.next_message(Duration::from_millis(600)).await, None);
    assert!(socket.ping_answered(WAIT).await, "still open: {:?}", socket.closed());
}

#[tokio::test]
async fn only_allowed_origins_may_open_sockets() {
    let app = spawn_app_with(|settings| settings.allowed_origins = Some(vec!["https://app.example".into()])).await;
    let url = format!("{}/graphql", app.address.replacen("http", "ws", 1));
    for (origin, allowed) in [("https://app.example", true), ("https://evil.example", false)] {
        let mut request = url.clone().into_client_request().expect("a request");
        request.headers_mut().insert("origin", origin.parse().expect("a header"));
        request.headers_mut().insert("sec-websocket-protocol", GRAPHQL_TRANSPORT_WS.parse().expect("a header"));
        let result = tokio_tungstenite::connect_async(request).await;
        match (allowed, result) {
            (true, Ok(_)) => {}
            (false, Err(tungstenite::Error::Http(response))) => assert_eq!(response.status(), 403, "{origin}"),
            (allowed, result) => panic!("{origin}: allowed={allowed}, got {:?}", result.map(|_| "a socket")),
        }
    }
}

#[tokio::test]
async fn a_close_the_client_starts_is_answered_with_a_close_frame() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let before_init = app.ws().await;
    assert_eq!(before_init.close_and_read_reply().await, Some((1000, "bye".into())), "before connection_init");
    let socket = app.ws_signed_in(&ann).await;
    assert_eq!(
        socket.close_and_read_reply().await,
        Some((1000, "bye".into())),
        "a clean close, not a dropped connection"
    );
}
