//! `sessionStats` for administrators, and the live `Session.liveConnections` and
//! `User.online`, each following real sockets as they open and close.

use std::time::Duration;

use sea_orm::{ActiveValue::Set, EntityTrait as _};
use serde_json::{Value, json};
use townsquare::db::entities::user;

use crate::{
    helpers::{TestApp, TestUser, first_error_code, spawn_app, spawn_app_with},
    ws_client::WAIT,
};

const STATS: &str = "{ sessionStats {
    activeSessions liveConnections liveSubscriptions onlineUsers idleExpiredTotal
} }";

/// An app where `root@example.com` is an administrator, and `root` signed up.
async fn app_with_root() -> (TestApp, TestUser) {
    let app = spawn_app_with(|settings| settings.admin_emails = vec!["root@example.com".into()]).await;
    let root = app.signed_up("root").await;
    (app, root)
}

async fn stats(app: &TestApp, admin: &TestUser) -> Value {
    let answer = app.graphql_as(admin, STATS, json!({})).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"]["sessionStats"].clone()
}

/// Asks `read` until it answers `expected`; sockets open and close asynchronously, so a
/// count settles a moment after the client's side of a close.
async fn eventually<F, Fut>(expected: Value, read: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Value>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let actual = read().await;
        if actual == expected {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "expected {expected}, still {actual}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn session_stats_count_sessions_sockets_and_subscriptions_and_drop_back_when_sockets_close() {
    let (app, root) = app_with_root().await;
    let ann = app.signed_up("ann").await;
    let idle = json!({
        "activeSessions": 2, "liveConnections": 0, "liveSubscriptions": 0, "onlineUsers": 0, "idleExpiredTotal": 0
    });
    assert_eq!(stats(&app, &root).await, idle);

    let mut phone = app.ws_signed_in(&ann).await;
    let laptop = app.ws_signed_in(&ann).await;
    let console = app.ws_signed_in(&root).await;
    phone.subscribe("n", "subscription { notifications { id } }", json!({})).await;
    let busy = json!({
        "activeSessions": 2, "liveConnections": 3, "liveSubscriptions": 1, "onlineUsers": 2, "idleExpiredTotal": 0
    });
    eventually(busy, || stats(&app, &root)).await;

    phone.complete("n").await;
    let no_subscription = json!({
        "activeSessions": 2, "liveConnections": 3, "liveSubscriptions": 0, "onlineUsers": 2, "idleExpiredTotal": 0
    });
    eventually(no_subscription, || stats(&app, &root)).await;

    phone.close().await;
    laptop.close().await;
    console.close().await;
    eventually(idle, || stats(&app, &root)).await;
}

#[tokio::test]
async fn session_stats_are_for_administrators_only() {
    let (app, _root) = app_with_root().await;
    let ann = app.signed_up("ann").await;
    let answer = app.graphql_as(&ann, STATS, json!({})).await;
    assert_eq!(first_error_code(&answer), "FORBIDDEN", "{answer}");
    let answer = app.graphql(STATS, json!({})).await;
    assert_eq!(first_error_code(&answer), "UNAUTHENTICATED", "{answer}");
}

#[tokio::test]
async fn an_account_stored_as_admin_may_read_session_stats() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let answer = app.graphql_as(&ann, STATS, json!({})).await;
    assert_eq!(first_error_code(&answer), "FORBIDDEN", "{answer}");

    user::Entity::update(user::ActiveModel { id: Set(ann.id), role: Set("ADMIN".into()), ..Default::default() })
        .exec(&app.state.db)
        .await
        .expect("role stored");
    // Read at each request, so the promotion counts at once.
    assert_eq!(stats(&app, &ann).await["activeSessions"], 1);
}

#[tokio::test]
async fn idle_expired_total_counts_sockets_closed_for_idleness() {
    let app = spawn_app_with(|settings| {
        settings.admin_emails = vec!["root@example.com".into()];
        settings.session_timeout = Duration::from_millis(300);
        settings.session_sweep_interval = Duration::from_millis(50);
    })
    .await;
    let root = app.signed_up("root").await;
    let mut socket = app.ws_signed_in(&root).await;
    assert_eq!(socket.expect_close(WAIT).await, (1008, "Session idle timeout".to_string()));
    let after = json!({
        "activeSessions": 1, "liveConnections": 0, "liveSubscriptions": 0, "onlineUsers": 0, "idleExpiredTotal": 1
    });
    eventually(after, || stats(&app, &root)).await;
}

#[tokio::test]
async fn live_connections_and_online_follow_a_socket_opening_and_closing() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let query = "query($id: ID!) { mySessions { liveConnections } user(id: $id) { online } }";
    // Ann's view of her session, and of Bob.
    let read = || async {
        let answer = app.graphql_as(&ann, query, json!({ "id": bob.id })).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        answer["data"].clone()
    };
    let offline = json!({ "mySessions": [{ "liveConnections": 0 }], "user": { "online": false } });
    assert_eq!(read().await, offline);

    // Registered before the ack: counted as soon as the socket is accepted.
    let anns = app.ws_signed_in(&ann).await;
    let bobs = app.ws_signed_in(&bob).await;
    assert_eq!(read().await, json!({ "mySessions": [{ "liveConnections": 1 }], "user": { "online": true } }));
    let second = app.ws_signed_in(&ann).await;
    assert_eq!(read().await["mySessions"][0]["liveConnections"], 2);

    anns.close().await;
    second.close().await;
    bobs.close().await;
    eventually(offline, read).await;
}
