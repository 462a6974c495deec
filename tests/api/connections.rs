//! The connection registry at work: idle expiry, revocation and expiry closing sockets, the
//! per-user limit, shutdown, and no leak after many connect/disconnect cycles.

use std::time::Duration;

use serde_json::json;
use townsquare::realtime::expiry::sweep_idle_once;

use crate::{
    helpers::{TestApp, TestUser, spawn_app, spawn_app_with},
    ws_client::{WAIT, WsClient},
};

const NOTIFICATIONS: &str = "subscription { notifications { id kind } }";

/// Revocation and expiry must close sockets within two seconds (API.md).
const REVOCATION_DEADLINE: Duration = Duration::from_secs(2);

async fn subscribed(app: &TestApp, user: &TestUser) -> WsClient {
    let mut socket = app.ws_signed_in(user).await;
    socket.subscribe("n", NOTIFICATIONS, json!({})).await;
    socket
}

#[tokio::test]
async fn an_idle_socket_closes_with_1008_and_a_busy_one_stays_open() {
    let app = spawn_app_with(|settings| {
        settings.session_timeout = Duration::from_millis(600);
        settings.session_sweep_interval = Duration::from_millis(100);
    })
    .await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let post = app.graphql_as(&ann, "mutation { createPost(body: \"hello\") { id } }", json!({})).await;
    let post_id = post["data"]["createPost"]["id"].clone();
    let mut idle = subscribed(&app, &bob).await;
    let mut busy = subscribed(&app, &ann).await;

    // Events keep ann's socket active: a like and an unlike every 150 ms notify her.
    let started = tokio::time::Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        app.graphql_as(&bob, "mutation($id: ID!) { likePost(postId: $id) { id } }", json!({ "id": post_id })).await;
        app.graphql_as(&bob, "mutation($id: ID!) { unlikePost(postId: $id) { id } }", json!({ "id": post_id })).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        while busy.next_message(Duration::from_millis(1)).await.is_some() {}
    }
    assert_eq!(idle.expect_close(WAIT).await, (1008, "Session idle timeout".into()));
    assert!(busy.closed().is_none(), "the busy socket is still open");
    assert!(busy.ping_answered(WAIT).await, "and still answers");
    assert!(app.state.registry.idle_expired_total() >= 1);
}

#[tokio::test]
async fn the_sweep_closes_only_sockets_past_the_timeout() {
    let app = spawn_app_with(|settings| {
        settings.session_timeout = Duration::from_millis(300);
        // The background sweep stays out of the way; the test calls it.
        settings.session_sweep_interval = Duration::from_secs(3600);
    })
    .await;
    let ann = app.signed_up("ann").await;
    let mut socket = app.ws_signed_in(&ann).await;
    assert_eq!(sweep_idle_once(&app.state), 0, "fresh sockets stay");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sweep_idle_once(&app.state), 1);
    assert_eq!(sweep_idle_once(&app.state), 0, "a socket is closed once");
    assert_eq!(socket.expect_close(WAIT).await.0, 1008);
}

#[tokio::test]
async fn logout_closes_every_socket_of_the_session_with_4401_and_no_other() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let phone = app.logged_in_again(&ann).await;
    let mut first = subscribed(&app, &ann).await;
    let mut second = subscribed(&app, &ann).await;
    let mut other = subscribed(&app, &phone).await;
    app.graphql_as(&ann, "mutation { logout }", json!({})).await;
    assert_eq!(first.expect_close(REVOCATION_DEADLINE).await, (4401, "Session revoked".into()));
    assert_eq!(second.expect_close(REVOCATION_DEADLINE).await, (4401, "Session revoked".into()));
    assert!(other.ping_answered(WAIT).await, "the other session's socket stays open");
}

#[tokio::test]
async fn revoke_session_and_logout_other_sessions_close_those_sockets() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let phone = app.logged_in_again(&ann).await;
    let laptop = app.logged_in_again(&ann).await;
    let mut phone_socket = subscribed(&app, &phone).await;
    let mut laptop_socket = subscribed(&app, &laptop).await;
    let mut own_socket = subscribed(&app, &ann).await;

    let sessions = app.graphql_as(&phone, "{ mySessions { id current } }", json!({})).await;
    let phone_id = sessions["data"]["mySessions"]
        .as_array()
        .and_then(|all| all.iter().find(|session| session["current"] == true))
        .map(|session| session["id"].clone())
        .expect("the phone's session");
    app.graphql_as(&ann, "mutation($id: ID!) { revokeSession(id: $id) }", json!({ "id": phone_id })).await;
    assert_eq!(phone_socket.expect_close(REVOCATION_DEADLINE).await, (4401, "Session revoked".into()));

    app.graphql_as(&ann, "mutation { logoutOtherSessions }", json!({})).await;
    assert_eq!(laptop_socket.expect_close(REVOCATION_DEADLINE).await, (4401, "Session revoked".into()));
    assert!(own_socket.ping_answered(WAIT).await, "the current session's socket stays open");
}

#[tokio::test]
async fn a_password_reset_closes_every_socket_of_the_user() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mut socket = subscribed(&app, &ann).await;
    app.graphql("mutation($e: String!) { requestPasswordReset(email: $e) }", json!({ "e": ann.email })).await;
    let mail = app.mail.wait_for_mail_with_subject(&ann.email, "password reset", WAIT).await;
    let code = crate::smtp_sink::code_in(&mail);
    let body = app
        .graphql(
            "mutation($e: String!, $c: String!) { resetPassword(email: $e, code: $c, newPassword: \"saffron lighthouse quietly 77\") }",
            json!({ "e": ann.email, "c": code }),
        )
        .await;
    assert_eq!(body["data"]["resetPassword"], true, "{body}");
    assert_eq!(socket.expect_close(REVOCATION_DEADLINE).await, (4401, "Session revoked".into()));
}

#[tokio::test]
async fn a_socket_closes_with_4401_when_its_session_expires() {
    let app = spawn_app_with(|settings| settings.auth.session_lifetime = Duration::from_millis(1500)).await;
    let ann = app.signed_up("ann").await;
    let mut socket = subscribed(&app, &ann).await;
    assert_eq!(socket.expect_close(Duration::from_secs(4)).await, (4401, "Session expired".into()));
}

#[tokio::test]
async fn past_the_per_user_limit_a_new_socket_closes_with_1008() {
    let app = spawn_app_with(|settings| settings.max_connections_per_user = 2).await;
    let ann = app.signed_up("ann").await;
    let _first = app.ws_signed_in(&ann).await;
    let _second = app.ws_signed_in(&ann).await;
    let mut third = app.ws().await;
    third.init(json!({ "authorization": format!("Bearer {}", ann.token) })).await;
    assert_eq!(third.expect_close(WAIT).await, (1008, "Too many connections".into()));
    let bob = app.signed_up("bob").await;
    let _other_user = app.ws_signed_in(&bob).await;
}

#[tokio::test]
async fn past_the_per_address_limit_a_new_socket_closes_with_1008_signed_in_or_not() {
    let app = spawn_app_with(|settings| settings.max_connections_per_ip = 2).await;
    let ann = app.signed_up("ann").await;
    let first = app.ws().await;
    let _second = app.ws_signed_in(&ann).await;
    let mut third = app.ws().await;
    assert_eq!(third.expect_close(WAIT).await, (1008, "Too many connections from this address".into()));
    first.close().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    // The server counts the closed socket out once its task ends.
    while registry_count(&app) > 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut again = app.ws_signed_in(&ann).await;
    assert!(again.ping_answered(WAIT).await, "a place freed by a close is taken again");
}

/// Sockets the registry counts for the test's address.
fn registry_count(app: &TestApp) -> u32 {
    app.state.registry.sockets_from("127.0.0.1".parse().expect("an address"))
}

#[tokio::test]
async fn subscribes_faster_than_the_socket_rate_get_rate_limited_and_the_socket_stays() {
    let app = spawn_app_with(|settings| settings.max_subscribes_per_second = 1).await;
    let ann = app.signed_up("ann").await;
    let mut socket = app.ws_signed_in(&ann).await;
    // Five seconds' worth at once: five pass, the sixth is refused.
    for id in ["1", "2", "3", "4", "5"] {
        socket.subscribe(id, "{ me { username } }", json!({})).await;
        let answer = socket.next_of(id, WAIT).await.expect("an answer");
        assert_eq!(answer["type"], "next", "{answer}");
    }
    socket.subscribe("6", "{ me { username } }", json!({})).await;
    let refused = socket.next_of("6", WAIT).await.expect("an answer for the sixth");
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{refused}");
    assert!(
        refused["payload"][0]["extensions"]["retryAfterSeconds"].as_u64().is_some_and(|wait| wait >= 1),
        "{refused}"
    );
    assert!(socket.ping_answered(WAIT).await, "the socket stays open");
}

#[tokio::test]
async fn past_the_per_socket_operation_bound_a_subscribe_gets_an_error_and_the_socket_stays() {
    let app = spawn_app_with(|settings| settings.max_operations_per_connection = 3).await;
    let ann = app.signed_up("ann").await;
    let mut socket = app.ws_signed_in(&ann).await;
    for id in ["a", "b", "c"] {
        socket.subscribe(id, "subscription { notifications { id } }", json!({})).await;
    }
    assert!(socket.ping_answered(WAIT).await, "three run");
    socket.subscribe("d", "subscription { notifications { id } }", json!({})).await;
    let refused = socket.next_of("d", WAIT).await.expect("an answer for the fourth");
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "BAD_REQUEST", "{refused}");
    let message = refused["payload"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("MAX_OPERATIONS_PER_CONNECTION"), "the message names the bound: {message}");
    assert!(socket.ping_answered(WAIT).await, "the socket stays open");

    socket.complete("a").await;
    socket.subscribe("e", "{ me { username } }", json!({})).await;
    let answer = socket.next_of("e", WAIT).await.expect("an answer once a slot is free");
    assert_eq!(answer["payload"]["data"]["me"]["username"], "ann", "{answer}");
}

#[tokio::test]
async fn shutdown_closes_sockets_with_1001_and_waits_for_them() {
    let mut app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mut socket = subscribed(&app, &ann).await;
    app.shut_down().await;
    assert_eq!(socket.expect_close(WAIT).await.0, 1001);
    assert_eq!(app.state.registry.counts().connections, 0);
}

#[tokio::test]
async fn a_thousand_connect_subscribe_disconnect_cycles_leave_nothing_behind() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let baseline_tasks = app.state.tasks.len();
    let cycles = 1000;
    let parallel = 10;
    let mut workers = Vec::new();
    for worker in 0..parallel {
        let address = app.address.clone();
        let token = ann.token.clone();
        workers.push(tokio::spawn(async move {
            for cycle in 0..cycles / parallel {
                let mut socket = WsClient::connect(&address, Some("graphql-transport-ws")).await.expect("opens");
                socket.init(json!({ "authorization": format!("Bearer {token}") })).await.expect("acked");
                socket.subscribe("n", NOTIFICATIONS, json!({})).await;
                // Alternate the ways out: a clean complete-and-close, or just dropping the socket.
                if (worker + cycle) % 2 == 0 {
                    socket.complete("n").await;
                    socket.close().await;
                } else {
                    drop(socket);
                }
            }
        }));
    }
    for worker in workers {
        worker.await.expect("a worker finished");
    }
    let settled = async {
        loop {
            let counts = app.state.registry.counts();
            if counts.connections == 0 && app.state.registry.addresses() == 0 && app.state.tasks.len() == baseline_tasks
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), settled).await.expect("every socket and its task ended");
    let counts = app.state.registry.counts();
    assert_eq!((counts.connections, counts.subscriptions, counts.users), (0, 0, 0));
    assert_eq!(app.state.broker.topics(), 0, "no broker topic is left without listeners");
    assert_eq!(app.state.registry.addresses(), 0, "no address is left counted");
    assert!(app.state.live_operations.is_empty(), "no prepared operation is left without subscribers");
}
