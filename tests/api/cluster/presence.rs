//! Counts and indicators that span instances: a session's live connections and the admin's
//! session statistics are the same whichever instance answers, and a typing indicator from an
//! instance that dies still ends on the others (each receiver lapses it itself).

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    DELIVERY,
    instances::{A, B, C, Cluster, Instance},
    room::create_room,
};
use crate::{helpers::TestUser, ws_client::WsClient};

/// Polls `read` on `instance` until it returns `wanted`, or fails naming `what`.
async fn eventually(
    instance: &Instance,
    user: &TestUser,
    query: &str,
    what: &str,
    read: impl Fn(&Value) -> Value,
    wanted: Value,
) {
    let deadline = Instant::now() + DELIVERY;
    loop {
        let answer = instance.graphql_as(user, query, json!({})).await;
        let value = read(&answer);
        if value == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} on instance {}: {value} instead of {wanted} ({answer})",
            instance.name
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn live_connections_and_session_stats_count_every_instance_whichever_answers() {
    let Some(cluster) = Cluster::start_with(3, &[("ADMIN_EMAILS", "root@example.com")]).await else { return };
    let admin = cluster[A].signed_up("root").await;
    let ann = cluster[A].signed_up("ann").await;
    let _on_a = cluster[A].ws_signed_in(&ann).await;
    let on_b = cluster[B].ws_signed_in(&ann).await;

    let sessions = "{ mySessions { current liveConnections } }";
    let current = |answer: &Value| {
        answer["data"]["mySessions"]
            .as_array()
            .and_then(|sessions| sessions.iter().find(|session| session["current"] == true))
            .map_or(Value::Null, |session| session["liveConnections"].clone())
    };
    for instance in cluster.instances() {
        eventually(instance, &ann, sessions, "ann's live connections", current, json!(2)).await;
    }
    let stats = "{ sessionStats { liveConnections onlineUsers } }";
    let counts = |answer: &Value| answer["data"]["sessionStats"].clone();
    eventually(&cluster[C], &admin, stats, "the stats", counts, json!({ "liveConnections": 2, "onlineUsers": 1 }))
        .await;

    on_b.close().await;
    for instance in cluster.instances() {
        eventually(instance, &ann, sessions, "ann's live connections after one closed", current, json!(1)).await;
    }
    eventually(&cluster[B], &admin, stats, "the stats", counts, json!({ "liveConnections": 1, "onlineUsers": 1 }))
        .await;
}

/// The next TypingChanged on `socket`'s `room` operation, as (username, typing).
async fn typing_change(socket: &mut WsClient, within: Duration) -> Option<(String, bool)> {
    let deadline = Instant::now() + within;
    while let Some(message) = socket.next_of("room", deadline.saturating_duration_since(Instant::now())).await {
        let event = &message["payload"]["data"]["roomEvents"];
        if event["__typename"] == "TypingChanged" {
            let who = event["user"]["username"].as_str().unwrap_or_default().to_string();
            return Some((who, event["typing"] == true));
        }
    }
    None
}

#[tokio::test]
async fn a_typing_indicator_from_an_instance_that_dies_still_lapses_on_the_others() {
    let Some(mut cluster) = Cluster::start(2).await else { return };
    let ann = cluster[A].signed_up("ann").await;
    let bob = cluster[A].signed_up("bob").await;
    let room = create_room(&cluster[A], &ann, "lobby").await;
    let mut bobs = cluster[B].ws_signed_in(&bob).await;
    bobs.subscribe(
        "room",
        "subscription($room: ID!) { roomEvents(roomId: $room) { __typename ... on TypingChanged { user { username } typing } } }",
        json!({ "room": room }),
    )
    .await;
    bobs.next_of("room", DELIVERY).await.expect("bob's snapshot");

    let typing = "mutation($room: ID!) { setTyping(roomId: $room, typing: true) }";
    let answer = cluster[A].graphql_as(&ann, typing, json!({ "room": room })).await;
    assert_eq!(answer["data"]["setTyping"], true, "{answer}");
    assert_eq!(typing_change(&mut bobs, DELIVERY).await, Some(("ann".into(), true)), "bob sees ann typing");
    cluster.kill(A);
    let killed = Instant::now();
    // TYPING_TIMEOUT_SECONDS is 6 by default; B lapses it itself, with A gone.
    assert_eq!(
        typing_change(&mut bobs, Duration::from_secs(12)).await,
        Some(("ann".into(), false)),
        "ann's indicator ends on B though A died"
    );
    // The 6 s lapse, with room for a loaded CI machine; never is what this rules out.
    assert!(killed.elapsed() <= Duration::from_secs(9), "it lapsed at about the typing timeout");
}
