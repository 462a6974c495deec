//! The `notifications` subscription over a real graphql-ws socket: the unread backlog oldest
//! first, then live notifications, with no duplicate and no gap between the two; every
//! socket of the user hears each one; a slow consumer is closed.

use std::{collections::HashSet, time::Duration};

use futures_util::future::join_all;
use serde_json::{Value, json};
use townsquare::{
    db::entities::notification,
    graphql::{build_schema, loaders::request_loader},
    realtime::broker::{Event, Topic},
};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, TestUser, spawn_app, spawn_app_with},
    ws_client::{WAIT, WsClient},
};

const NOTIFICATIONS: &str = "subscription {
    notifications {
        id kind read
        actor { username }
        post { id likeCount commentCount }
        comment { body }
    }
}";

/// How long a test waits to be sure nothing more arrives.
const QUIET: Duration = Duration::from_millis(300);

async fn post_as(app: &TestApp, user: &TestUser, body: &str) -> String {
    let answer =
        app.graphql_as(user, "mutation($b: String!) { createPost(body: $b) { id } }", json!({ "b": body })).await;
    answer["data"]["createPost"]["id"].as_str().unwrap_or_else(|| panic!("a post: {answer}")).to_string()
}

async fn like_as(app: &TestApp, user: &TestUser, post: &str) {
    let answer =
        app.graphql_as(user, "mutation($id: ID!) { likePost(postId: $id) { id } }", json!({ "id": post })).await;
    assert!(answer.get("errors").is_none(), "{answer}");
}

async fn comment_as(app: &TestApp, user: &TestUser, post: &str, body: &str) {
    let answer = app
        .graphql_as(
            user,
            "mutation($id: ID!, $b: String!) { addComment(postId: $id, body: $b) { id } }",
            json!({ "id": post, "b": body }),
        )
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
}

/// The next notification on operation `id`; panics on anything else or on silence.
async fn next_notification(socket: &mut WsClient, id: &str) -> Value {
    let message = socket.next_of(id, WAIT).await.unwrap_or_else(|| panic!("a notification on {id}"));
    assert_eq!(message["type"], "next", "{message}");
    assert!(message["payload"].get("errors").is_none(), "{message}");
    message["payload"]["data"]["notifications"].clone()
}

/// Asserts that operation `id` sends nothing more for a moment.
async fn nothing_more(socket: &mut WsClient, id: &str) {
    if let Some(message) = socket.next_of(id, QUIET).await {
        panic!("nothing more was expected on {id}: {message}");
    }
}

/// Waits until `count` subscriptions listen on `user`'s topic: from then on, everything
/// published for the user reaches them.
async fn listening(app: &TestApp, user: Uuid, count: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.state.broker.listeners(Topic::User(user)) < count {
        assert!(tokio::time::Instant::now() < deadline, "{count} listeners on the user's topic");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn the_backlog_arrives_oldest_first_then_live_ones() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let cid = app.signed_up("cid").await;
    let post = post_as(&app, &ann, "hello").await;
    like_as(&app, &bob, &post).await;
    comment_as(&app, &bob, &post, "first!").await;

    let mut socket = app.ws_signed_in(&ann).await;
    socket.subscribe("n", NOTIFICATIONS, json!({})).await;
    let first = next_notification(&mut socket, "n").await;
    let second = next_notification(&mut socket, "n").await;
    assert_eq!((first["kind"].as_str(), second["kind"].as_str()), (Some("POST_LIKED"), Some("POST_COMMENTED")));
    assert_eq!(first["actor"]["username"], "bob");
    assert_eq!(first["read"], false);
    assert_eq!(second["comment"]["body"], "first!");
    nothing_more(&mut socket, "n").await;

    like_as(&app, &cid, &post).await;
    let live = next_notification(&mut socket, "n").await;
    assert_eq!(live["kind"], "POST_LIKED");
    assert_eq!(live["actor"]["username"], "cid");
    // Resolved when it happens, not from what the backlog read: both likes count.
    assert_eq!(live["post"]["likeCount"], 2, "{live}");
    comment_as(&app, &cid, &post, "second").await;
    let live = next_notification(&mut socket, "n").await;
    assert_eq!((live["kind"].as_str(), live["comment"]["body"].as_str()), (Some("POST_COMMENTED"), Some("second")));
    assert_eq!(live["post"]["commentCount"], 2, "{live}");
    // Nobody is told of their own acts, live or not.
    like_as(&app, &ann, &post).await;
    nothing_more(&mut socket, "n").await;
}

#[tokio::test]
async fn likes_racing_the_start_of_a_subscription_arrive_once_each_and_none_is_missed() {
    const LIKERS: usize = 20;
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let names: Vec<String> = (0..LIKERS).map(|n| format!("liker_{n}")).collect();
    let likers = join_all(names.iter().map(|name| app.signed_up(name))).await;
    let post = post_as(&app, &ann, "like me").await;
    let mut socket = app.ws_signed_in(&ann).await;

    // The likes commit before, during and after the subscription's backlog read.
    let likes = join_all(likers.iter().map(|liker| like_as(&app, liker, &post)));
    let subscribe = socket.subscribe("n", "subscription { notifications { id } }", json!({}));
    tokio::join!(likes, subscribe);

    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.iter().collect::<HashSet<_>>().len() < LIKERS && tokio::time::Instant::now() < deadline {
        let Some(message) = socket.next_of("n", Duration::from_secs(1)).await else { continue };
        assert_eq!(message["type"], "next", "{message}");
        seen.push(message["payload"]["data"]["notifications"]["id"].as_str().expect("an id").to_string());
    }
    nothing_more(&mut socket, "n").await;
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), seen.len(), "no notification twice: {seen:?}");
    assert_eq!(distinct.len(), LIKERS, "every like notified: {seen:?}");
}

#[tokio::test]
async fn a_backlog_notification_heard_again_live_is_not_sent_twice() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let cid = app.signed_up("cid").await;
    let post = post_as(&app, &ann, "hello").await;
    like_as(&app, &bob, &post).await;
    let stored = townsquare::db::notifications::page(&app.state.db, ann.id, true, None, 10).await.expect("readable");
    let [stored] = stored.as_slice() else { panic!("one notification: {stored:?}") };

    let mut socket = app.ws_signed_in(&ann).await;
    socket.subscribe("n", NOTIFICATIONS, json!({})).await;
    assert_eq!(next_notification(&mut socket, "n").await["id"], stored.id.to_string());
    // As if its like had committed before the backlog read and published only after the
    // subscription began listening: the backlog sent it, so the live part must skip it.
    app.state.broker.publish(Topic::User(ann.id), Event::Notification(stored.clone()));
    like_as(&app, &cid, &post).await;
    let live = next_notification(&mut socket, "n").await;
    assert_eq!(live["actor"]["username"], "cid", "{live}");
    nothing_more(&mut socket, "n").await;
}

#[tokio::test]
async fn the_backlog_is_loaded_in_the_same_number_of_statements_whatever_its_size() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let names: Vec<String> = (0..6).map(|n| format!("fan_{n}")).collect();
    let fans = join_all(names.iter().map(|name| app.signed_up(name))).await;
    let mut socket = app.ws_signed_in(&ann).await;

    let mut counts = Vec::new();
    for (round, fans) in [&fans[..2], &fans[2..]].into_iter().enumerate() {
        for fan in fans {
            let post = post_as(&app, &ann, "another").await;
            comment_as(&app, fan, &post, "nice").await;
        }
        let unread = if round == 0 { 2 } else { 6 };
        let id = format!("round{round}");
        let before = app.statements();
        socket.subscribe(&id, NOTIFICATIONS, json!({})).await;
        for _ in 0..unread {
            next_notification(&mut socket, &id).await;
        }
        counts.push(app.statements() - before);
        socket.complete(&id).await;
    }
    assert_eq!(counts[0], counts[1], "statements for a backlog of 2 and of 6: {counts:?}");
}

#[tokio::test]
async fn every_socket_of_the_user_receives_each_notification() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let post = post_as(&app, &ann, "hello").await;
    let mut phone = app.ws_signed_in(&ann).await;
    let mut laptop = app.ws_signed_in(&ann).await;
    phone.subscribe("n", NOTIFICATIONS, json!({})).await;
    laptop.subscribe("n", NOTIFICATIONS, json!({})).await;
    listening(&app, ann.id, 2).await;

    like_as(&app, &bob, &post).await;
    let on_phone = next_notification(&mut phone, "n").await;
    let on_laptop = next_notification(&mut laptop, "n").await;
    assert_eq!(on_phone["id"], on_laptop["id"]);
    assert_eq!(on_phone["kind"], "POST_LIKED");
    // Bob's own sockets hear nothing of it.
    let mut bobs = app.ws_signed_in(&bob).await;
    bobs.subscribe("n", NOTIFICATIONS, json!({})).await;
    listening(&app, bob.id, 1).await;
    comment_as(&app, &bob, &post, "hi").await;
    assert_eq!(next_notification(&mut phone, "n").await["kind"], "POST_COMMENTED");
    assert_eq!(next_notification(&mut laptop, "n").await["kind"], "POST_COMMENTED");
    nothing_more(&mut bobs, "n").await;
}

#[tokio::test]
async fn a_token_of_a_revoked_session_cannot_subscribe() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let answer = app.graphql_as(&ann, "mutation { logout }", json!({})).await;
    assert_eq!(answer["data"]["logout"], true, "{answer}");

    let mut socket = app.ws().await;
    let answer = socket.init(json!({ "authorization": format!("Bearer {}", ann.token) })).await;
    assert_eq!(answer, None, "no ack for a revoked session");
    assert_eq!(socket.expect_close(WAIT).await.0, 4403);
}

#[tokio::test]
async fn the_subscription_itself_refuses_a_request_without_a_viewer() {
    let app = spawn_app().await;
    // Sockets refuse anonymous connections at connection_init, so the field's own check is
    // reached only by running the schema directly.
    let schema = build_schema(&app.state);
    let request = async_graphql::Request::new("subscription { notifications { id } }")
        .data(request_loader(app.state.db.clone(), None));
    let mut stream = schema.execute_stream(request);
    let response = futures_util::StreamExt::next(&mut stream).await.expect("one response");
    let error = response.errors.first().expect("an error");
    let code = error.extensions.as_ref().and_then(|extensions| extensions.get("code")).cloned();
    assert_eq!(code, Some(async_graphql::Value::from("UNAUTHENTICATED")), "{error:?}");
    assert!(futures_util::StreamExt::next(&mut stream).await.is_none(), "the stream ends");
}

#[tokio::test]
async fn marking_read_then_resubscribing_replays_only_the_unread() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let post = post_as(&app, &ann, "hello").await;
    like_as(&app, &bob, &post).await;
    comment_as(&app, &bob, &post, "one").await;
    comment_as(&app, &bob, &post, "two").await;

    let mut socket = app.ws_signed_in(&ann).await;
    socket.subscribe("first", NOTIFICATIONS, json!({})).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(next_notification(&mut socket, "first").await["id"].clone());
    }
    socket.complete("first").await;
    let answer = app
        .graphql_as(&ann, "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }", json!({ "ids": ids[..2] }))
        .await;
    assert_eq!(answer["data"]["markNotificationsRead"], 2, "{answer}");

    socket.subscribe("again", NOTIFICATIONS, json!({})).await;
    let replayed = next_notification(&mut socket, "again").await;
    assert_eq!(replayed["id"], ids[2]);
    assert_eq!(replayed["comment"]["body"], "two");
    nothing_more(&mut socket, "again").await;
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_is_closed_as_a_slow_consumer() {
    let app = spawn_app_with(|settings| settings.event_buffer = 4).await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let mut socket = app.ws_signed_in(&ann).await;
    socket.subscribe("n", NOTIFICATIONS, json!({})).await;
    listening(&app, ann.id, 1).await;

    // Published without a pause, and the test's runtime runs one task at a time: the
    // socket cannot take any of them before the buffer of 4 overflows.
    for _ in 0..64 {
        let now = townsquare::db::now();
        let event = Event::Notification(notification::Model {
            id: Uuid::now_v7(),
            recipient_id: ann.id,
            kind: "POST_LIKED".into(),
            actor_id: bob.id,
            post_id: None,
            comment_id: None,
            read_at: None,
            created_at: now,
        });
        app.state.broker.publish(Topic::User(ann.id), event);
    }
    assert_eq!(socket.expect_close(WAIT).await, (1008, "Slow consumer".to_string()));
}
