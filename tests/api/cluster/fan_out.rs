//! Events cross instances: room messages, notifications and room presence reach sockets on
//! every instance, each once.

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    DELIVERY, SETTLE,
    instances::{A, B, C, Cluster, Instance},
    room::{Listener, assert_exactly_once, bodies, create_room, join, listen, send},
};
use crate::{helpers::TestUser, ws_client::WsClient};

/// Sends `count` messages `<prefix>00`, `<prefix>01`… one after the other, each as soon as
/// the previous one is answered, and returns them in the order sent.
async fn burst(instance: &Instance, user: &TestUser, room: &str, prefix: &str, count: usize) -> Vec<String> {
    let mut sent = Vec::with_capacity(count);
    for n in 0..count {
        let body = format!("{prefix}{n:02}");
        send(instance, user, room, &body).await;
        sent.push(body);
    }
    sent
}

#[tokio::test]
async fn a_message_sent_through_any_instance_reaches_subscribers_on_every_instance_once_in_one_order() {
    let Some(cluster) = Cluster::start(3).await else { return };
    let ann = cluster[A].signed_up("ann").await;
    let bob = cluster[B].signed_up("bob").await;
    let cat = cluster[C].signed_up("cat").await;
    let room = create_room(&cluster[A], &ann, "general").await;
    let mut listeners: Vec<Listener> = vec![
        listen(&cluster[A], &ann, "ann", &room, None).await,
        listen(&cluster[B], &bob, "bob", &room, None).await,
        listen(&cluster[C], &cat, "cat", &room, None).await,
    ];

    // ann sends twenty through A as fast as they are answered; bob and cat send five each
    // through B and C meanwhile, so messages from three instances interleave.
    let (from_a, from_b, from_c) = tokio::join!(
        burst(&cluster[A], &ann, &room, "A", 20),
        burst(&cluster[B], &bob, &room, "B", 5),
        burst(&cluster[C], &cat, &room, "C", 5),
    );
    let every: Vec<String> = from_a.iter().chain(&from_b).chain(&from_c).cloned().collect();

    let deadline = Instant::now() + DELIVERY;
    let mut orders = Vec::new();
    for listener in &mut listeners {
        let heard = listener.messages(&every, deadline, SETTLE).await;
        assert_exactly_once(&listener.who, &heard, &every);
        let heard = bodies(&heard);
        for (prefix, sent) in [("A", &from_a), ("B", &from_b), ("C", &from_c)] {
            let from_one: Vec<&String> = heard.iter().filter(|body| body.starts_with(prefix)).collect();
            assert_eq!(
                from_one,
                sent.iter().collect::<Vec<_>>(),
                "{}: {prefix}'s messages in the order sent",
                listener.who
            );
        }
        orders.push((listener.who.clone(), heard));
    }
    let (first, first_order) = &orders[0];
    for (who, order) in &orders[1..] {
        assert_eq!(order, first_order, "{who} heard the messages in another order than {first}");
    }
}

const NOTIFICATIONS: &str = "subscription { notifications { id kind actor { username } } }";

/// The next notification on `socket` (operation `n`), within [`DELIVERY`].
async fn notification(socket: &mut WsClient, who: &str) -> Value {
    let message = socket.next_of("n", DELIVERY).await;
    let message = message.unwrap_or_else(|| panic!("{who} gets a notification: {:?}", socket.closed()));
    assert_eq!(message["type"], "next", "{who}: {message}");
    message["payload"]["data"]["notifications"].clone()
}

#[tokio::test]
async fn a_notification_reaches_the_users_sockets_on_every_instance_once() {
    let Some(cluster) = Cluster::start(3).await else { return };
    let ann = cluster[A].signed_up("ann").await;
    let bob = cluster[C].signed_up("bob").await;
    let post = cluster[A].graphql_as(&ann, "mutation { createPost(body: \"hello\") { id } }", json!({})).await;
    let post = post["data"]["createPost"]["id"].as_str().unwrap_or_else(|| panic!("a post: {post}")).to_string();
    let comment = "mutation($p: ID!) { addComment(postId: $p, body: \"nice\") { id } }";
    let commented = cluster[C].graphql_as(&bob, comment, json!({ "p": post })).await;
    assert!(commented.get("errors").is_none(), "{commented}");

    // The unread comment comes first on each socket: from then on the subscription is live.
    let mut sockets = Vec::new();
    for index in [A, B] {
        let mut socket = cluster[index].ws_signed_in(&ann).await;
        socket.subscribe("n", NOTIFICATIONS, json!({})).await;
        let who = format!("ann on {}", cluster[index].name);
        let backlog = notification(&mut socket, &who).await;
        assert_eq!(backlog["kind"], "POST_COMMENTED", "{who}: {backlog}");
        sockets.push((who, socket));
    }

    let liked =
        cluster[C].graphql_as(&bob, "mutation($p: ID!) { likePost(postId: $p) { id } }", json!({ "p": post })).await;
    assert!(liked.get("errors").is_none(), "{liked}");
    let mut ids = Vec::new();
    for (who, socket) in &mut sockets {
        let like = notification(socket, who).await;
        assert_eq!((&like["kind"], &like["actor"]["username"]), (&json!("POST_LIKED"), &json!("bob")), "{who}: {like}");
        ids.push(like["id"].clone());
    }
    assert_eq!(ids[0], ids[1], "one notification, heard on both instances");

    let added = cluster[A]
        .graphql_as(&bob, "mutation($u: ID!) { addContact(userId: $u) { id } }", json!({ "u": ann.id }))
        .await;
    assert!(added.get("errors").is_none(), "{added}");
    for (who, socket) in &mut sockets {
        let contact = notification(socket, who).await;
        assert_eq!(contact["kind"], "CONTACT_ADDED", "{who}: {contact}");
    }
    for (who, socket) in &mut sockets {
        let extra = socket.next_of("n", SETTLE).await;
        assert!(extra.is_none(), "{who} hears each notification once: {extra:?}");
    }
}

/// The usernames of a snapshot's `onlineUsers`, sorted.
fn online(snapshot: &Value) -> Vec<String> {
    let users = snapshot["onlineUsers"].as_array().unwrap_or_else(|| panic!("a snapshot: {snapshot}"));
    let mut names: Vec<String> = users.iter().filter_map(|user| user["username"].as_str().map(str::to_owned)).collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_member_joining_on_one_instance_is_announced_once_on_another_however_many_tabs() {
    let Some(cluster) = Cluster::start(3).await else { return };
    let ann = cluster[B].signed_up("ann").await;
    let bob = cluster[A].signed_up("bob").await;
    let room = create_room(&cluster[B], &ann, "general").await;
    let (anns, snapshot) = join(&cluster[B], &ann, &room, None).await;
    assert_eq!(snapshot["onlineCount"], 1, "{snapshot}");
    let mut anns = Listener::spawn("ann on B".into(), anns);

    let (bobs_first, snapshot) = join(&cluster[A], &bob, &room, None).await;
    assert_eq!((online(&snapshot), &snapshot["onlineCount"]), (vec!["ann".into(), "bob".into()], &json!(2)));
    let joined = anns.room_event(Instant::now() + DELIVERY).await.expect("ann hears bob join");
    assert_eq!(joined, json!({ "__typename": "MemberJoined", "user": { "username": "bob" }, "onlineCount": 2 }));

    let (bobs_second, snapshot) = join(&cluster[C], &bob, &room, None).await;
    assert_eq!((online(&snapshot), &snapshot["onlineCount"]), (vec!["ann".into(), "bob".into()], &json!(2)));
    // A message sent after the second tab joined: whatever ann hears before it is about the
    // second tab.
    send(&cluster[C], &bob, &room, "second tab open").await;
    let next = anns.room_event(Instant::now() + DELIVERY).await.expect("ann hears the message");
    assert_eq!(next["__typename"], "MessagePosted", "a second tab makes no second join: {next}");

    bobs_second.close().await;
    send(&cluster[A], &bob, &room, "second tab closed").await;
    let next = anns.room_event(Instant::now() + DELIVERY).await.expect("ann hears the message");
    assert_eq!(next["__typename"], "MessagePosted", "closing one of two tabs is no leave: {next}");

    bobs_first.close().await;
    let left = anns.room_event(Instant::now() + DELIVERY).await.expect("ann hears bob leave");
    assert_eq!(left, json!({ "__typename": "MemberLeft", "user": { "username": "bob" }, "onlineCount": 1 }));
    let extra = anns.room_event(Instant::now() + SETTLE).await;
    assert!(extra.is_none(), "nothing more: {extra:?}");
}
