//! An instance that dies without a goodbye: within 30 seconds the others report its users
//! offline and send MemberLeft for them; once it is back, nobody it held comes back online
//! by itself.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    DELIVERY,
    instances::{A, B, Cluster, Instance},
    room::{Listener, create_room, join},
};
use crate::helpers::TestUser;

/// The contract's bound from a SIGKILL to its users being offline everywhere.
const OFFLINE_WITHIN: Duration = Duration::from_secs(30);

/// Two node heartbeats and a margin: long enough for a restarted instance to have announced
/// itself and for anything stale it brought back to show.
const AFTER_RESTART: Duration = Duration::from_secs(12);

const CONTACT_PRESENCE: &str = "subscription { contactPresence { user { username } online } }";

/// What `instance` says about `user`'s presence and `room`'s members, as `viewer`.
async fn presence(instance: &Instance, viewer: &TestUser, user: &TestUser, room: &str) -> Value {
    let answer = instance
        .graphql_as(
            viewer,
            "query($u: ID!, $r: ID!) { user(id: $u) { online } room(id: $r) { onlineCount onlineUsers { username } } }",
            json!({ "u": user.id, "r": room }),
        )
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"].clone()
}

#[tokio::test]
async fn a_killed_instances_users_go_offline_within_30_seconds_and_do_not_come_back_with_its_restart() {
    let Some(mut cluster) = Cluster::start(2).await else { return };
    let ann = cluster[B].signed_up("ann").await;
    let bob = cluster[A].signed_up("bob").await;
    let added = cluster[B]
        .graphql_as(&ann, "mutation($u: ID!) { addContact(userId: $u) { id } }", json!({ "u": bob.id }))
        .await;
    assert!(added.get("errors").is_none(), "{added}");
    let room = create_room(&cluster[B], &ann, "general").await;

    // ann on B follows the room and, on another socket, her contact bob; bob is on A.
    let (anns, _) = join(&cluster[B], &ann, &room, None).await;
    let mut anns = Listener::spawn("ann on B".into(), anns);
    let mut contacts = cluster[B].ws_signed_in(&ann).await;
    contacts.subscribe("presence", CONTACT_PRESENCE, json!({})).await;
    let mut contacts = Listener::spawn("ann's contactPresence on B".into(), contacts);
    let first = contacts.event_of("presence", "contactPresence", Instant::now() + DELIVERY).await;
    assert_eq!(first, Some(json!({ "user": { "username": "bob" }, "online": false })), "bob is not on yet");
    let (_bobs, _) = join(&cluster[A], &bob, &room, None).await;
    let joined = anns.room_event(Instant::now() + DELIVERY).await.expect("ann hears bob join");
    assert_eq!(joined["__typename"], "MemberJoined", "{joined}");
    let came = contacts.event_of("presence", "contactPresence", Instant::now() + DELIVERY).await;
    assert_eq!(came, Some(json!({ "user": { "username": "bob" }, "online": true })), "B hears bob come online on A");
    let online = presence(&cluster[B], &ann, &bob, &room).await;
    assert_eq!(online["user"]["online"], true, "B sees bob, who is on A, online: {online}");
    assert_eq!(online["room"]["onlineCount"], 2, "{online}");

    cluster.kill(A);
    let deadline = Instant::now() + OFFLINE_WITHIN;
    let mut left = false;
    while !left {
        let event = anns.room_event(deadline).await;
        let event =
            event.unwrap_or_else(|| panic!("ann on B heard no MemberLeft for bob {OFFLINE_WITHIN:?} after A died"));
        if event["__typename"] == "MemberLeft" {
            assert_eq!(event, json!({ "__typename": "MemberLeft", "user": { "username": "bob" }, "onlineCount": 1 }));
            left = true;
        }
    }
    let went = contacts.event_of("presence", "contactPresence", deadline).await;
    let went = went.unwrap_or_else(|| panic!("ann heard no offline for bob {OFFLINE_WITHIN:?} after A died"));
    assert_eq!(went, json!({ "user": { "username": "bob" }, "online": false }));
    loop {
        let seen = presence(&cluster[B], &ann, &bob, &room).await;
        if seen["user"]["online"] == false && seen["room"]["onlineCount"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "B still reports bob online {OFFLINE_WITHIN:?} after A died: {seen}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    cluster.restart(A).await;
    let only_ann = json!({
        "user": { "online": false },
        "room": { "onlineCount": 1, "onlineUsers": [{ "username": "ann" }] },
    });
    let until = Instant::now() + AFTER_RESTART;
    while Instant::now() < until {
        for index in [A, B] {
            let seen = presence(&cluster[index], &ann, &bob, &room).await;
            assert_eq!(seen, only_ann, "instance {} after A's restart", cluster[index].name);
        }
        if let Some(event) = anns.room_event(Instant::now() + Duration::from_millis(250)).await {
            panic!("ann on B heard a room event after A's restart, with nobody new in the room: {event}");
        }
        if let Some(event) =
            contacts.event_of("presence", "contactPresence", Instant::now() + Duration::from_millis(250)).await
        {
            panic!("ann on B heard bob's presence change after A's restart, with bob gone: {event}");
        }
    }
}
