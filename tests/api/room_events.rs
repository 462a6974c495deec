//! `roomEvents` and `contactPresence` over real sockets: event order, first/last-tab
//! semantics, messages to every tab, typing, presence through expiry and revocation.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, TestUser, first_error_code, spawn_app, spawn_app_with},
    ws_client::{WAIT, WsClient},
};

const ROOM_EVENTS: &str = "subscription($room: ID!) { roomEvents(roomId: $room) {
    __typename
    ... on PresenceSnapshot { onlineCount onlineUsers { username } }
    ... on MessagePosted { message { body roomId author { username } } }
    ... on MemberJoined { user { username } onlineCount }
    ... on MemberLeft { user { username } onlineCount }
    ... on TypingChanged { user { username } typing }
} }";

async fn create_room(app: &TestApp, user: &TestUser, name: &str) -> String {
    let body =
        app.graphql_as(user, "mutation($n: String!) { createRoom(name: $n) { id } }", json!({ "n": name })).await;
    body["data"]["createRoom"]["id"].as_str().unwrap_or_else(|| panic!("a room: {body}")).to_string()
}

async fn send(app: &TestApp, user: &TestUser, room: &str, body: &str) {
    let answer = app
        .graphql_as(
            user,
            "mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id } }",
            json!({ "r": room, "b": body }),
        )
        .await;
    assert!(answer["data"]["sendMessage"]["id"].is_string(), "{answer}");
}

/// A socket of `user` subscribed to `room`, with its snapshot already read.
async fn in_room(app: &TestApp, user: &TestUser, room: &str) -> (WsClient, Value) {
    let mut socket = app.ws_signed_in(user).await;
    socket.subscribe("room", ROOM_EVENTS, json!({ "room": room })).await;
    let snapshot = event(&mut socket).await;
    (socket, snapshot)
}

/// The next roomEvents event on `socket`.
async fn event(socket: &mut WsClient) -> Value {
    let message = socket.next_of("room", WAIT).await.expect("an event");
    assert_eq!(message["type"], "next", "{message}");
    message["payload"]["data"]["roomEvents"].clone()
}

/// No further event arrives within a short wait.
async fn quiet(socket: &mut WsClient) {
    let extra = socket.next_of("room", Duration::from_millis(300)).await;
    assert!(extra.is_none(), "no further event: {extra:?}");
}

#[tokio::test]
async fn a_subscription_starts_with_a_snapshot_that_includes_the_subscriber() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let room = create_room(&app, &ann, "general").await;
    let (_socket, snapshot) = in_room(&app, &ann, &room).await;
    assert_eq!(snapshot["__typename"], "PresenceSnapshot");
    assert_eq!(snapshot["onlineCount"], 1);
    assert_eq!(snapshot["onlineUsers"], json!([{ "username": "ann" }]));
}

#[tokio::test]
async fn joins_and_leaves_follow_the_first_and_last_tab_and_reach_only_the_others() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let room = create_room(&app, &ann, "general").await;
    let (mut anns, _) = in_room(&app, &ann, &room).await;

    let (bobs_first, snapshot) = in_room(&app, &bob, &room).await;
    assert_eq!(snapshot["onlineCount"], 2);
    let joined = event(&mut anns).await;
    assert_eq!(joined, json!({ "__typename": "MemberJoined", "user": { "username": "bob" }, "onlineCount": 2 }));

    let (bobs_second, _) = in_room(&app, &bob, &room).await;
    quiet(&mut anns).await;
    bobs_first.close().await;
    quiet(&mut anns).await;
    bobs_second.close().await;
    let left = event(&mut anns).await;
    assert_eq!(left, json!({ "__typename": "MemberLeft", "user": { "username": "bob" }, "onlineCount": 1 }));

    let online = app
        .graphql_as(
            &ann,
            "query($r: ID!) { room(id: $r) { onlineCount onlineUsers { username } } }",
            json!({ "r": room }),
        )
        .await;
    assert_eq!(online["data"]["room"], json!({ "onlineCount": 1, "onlineUsers": [{ "username": "ann" }] }), "{online}");
}

#[tokio::test]
async fn a_message_reaches_every_subscription_of_the_room_the_senders_tabs_included() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let room = create_room(&app, &ann, "general").await;
    let other = create_room(&app, &ann, "elsewhere").await;
    let (mut anns_first, _) = in_room(&app, &ann, &room).await;
    let (mut anns_second, _) = in_room(&app, &ann, &room).await;
    let (mut bobs, _) = in_room(&app, &bob, &room).await;
    let (mut outside, _) = in_room(&app, &bob, &other).await;
    // ann's first tab heard bob join; read it away.
    assert_eq!(event(&mut anns_first).await["__typename"], "MemberJoined");
    assert_eq!(event(&mut anns_second).await["__typename"], "MemberJoined");

    send(&app, &ann, &room, "  hello room  ").await;
    for socket in [&mut anns_first, &mut anns_second, &mut bobs] {
        let posted = event(socket).await;
        assert_eq!(posted["__typename"], "MessagePosted");
        assert_eq!(posted["message"]["body"], "hello room", "stored trimmed");
        assert_eq!(posted["message"]["author"]["username"], "ann");
        assert_eq!(posted["message"]["roomId"], json!(room));
    }
    quiet(&mut outside).await;
}

#[tokio::test]
async fn a_shared_event_is_rendered_for_each_viewer_where_the_document_reads_the_viewer() {
    // One document for everyone, asking for the author's address: only the author may see it,
    // so the rendering that thousands of subscribers otherwise share must not be reused here.
    const WITH_EMAIL: &str = "subscription($room: ID!) { roomEvents(roomId: $room) {
        ... on MessagePosted { message { body author { username email } } }
    } }";
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let room = create_room(&app, &ann, "general").await;
    let mut sockets = Vec::new();
    for user in [&ann, &bob, &ann, &bob] {
        let mut socket = app.ws_signed_in(user).await;
        socket.subscribe("room", WITH_EMAIL, json!({ "room": room })).await;
        socket.next_of("room", WAIT).await.expect("the snapshot");
        sockets.push((user, socket));
    }
    // Joins of the second user reach the first user's sockets; only messages matter here.
    send(&app, &ann, &room, "mine").await;
    for (user, socket) in &mut sockets {
        let posted = loop {
            let event = event(socket).await;
            if event.get("message").is_some() {
                break event;
            }
        };
        let email = &posted["message"]["author"]["email"];
        if user.id == ann.id {
            assert_eq!(email, "ann@example.com", "the author sees their own address");
        } else {
            assert_eq!(email, &Value::Null, "nobody else does: {posted}");
        }
    }
    assert_eq!(app.state.live_operations.len(), 1, "one shared operation for the four subscriptions");
}

#[tokio::test]
async fn typing_reaches_the_others_lapses_by_itself_and_ends_with_a_message() {
    let app = spawn_app_with(|settings| settings.typing_timeout = Duration::from_millis(400)).await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let room = create_room(&app, &ann, "general").await;
    let (mut anns, _) = in_room(&app, &ann, &room).await;
    let (mut bobs, _) = in_room(&app, &bob, &room).await;
    assert_eq!(event(&mut anns).await["__typename"], "MemberJoined");

    let set_typing = "mutation($r: ID!, $t: Boolean!) { setTyping(roomId: $r, typing: $t) }";
    app.graphql_as(&bob, set_typing, json!({ "r": room, "t": true })).await;
    assert_eq!(
        event(&mut anns).await,
        json!({ "__typename": "TypingChanged", "user": { "username": "bob" }, "typing": true })
    );
    let lapsed = event(&mut anns).await;
    assert_eq!(lapsed["typing"], false, "it lapses by itself: {lapsed}");

    app.graphql_as(&bob, set_typing, json!({ "r": room, "t": true })).await;
    assert_eq!(event(&mut anns).await["typing"], true);
    send(&app, &bob, &room, "done typing").await;
    assert_eq!(event(&mut anns).await["typing"], false, "a message ends it");
    assert_eq!(event(&mut anns).await["__typename"], "MessagePosted");
    // The typist does not hear about their own typing.
    assert_eq!(event(&mut bobs).await["__typename"], "MessagePosted");
}

#[tokio::test]
async fn an_unknown_room_is_an_error_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mut socket = app.ws_signed_in(&ann).await;
    for room in [uuid::Uuid::new_v4().to_string(), "not-a-room".to_string()] {
        socket.subscribe("room", ROOM_EVENTS, json!({ "room": room })).await;
        let answer = socket.next_of("room", WAIT).await.expect("an answer");
        let errors =
            if answer["type"] == "error" { answer["payload"].clone() } else { answer["payload"]["errors"].clone() };
        assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND", "{answer}");
        if answer["type"] == "next" {
            assert_eq!(socket.next_of("room", WAIT).await.expect("the end")["type"], "complete");
        }
    }
    assert!(socket.ping_answered(WAIT).await, "the socket stays open");
    let unknown = app
        .graphql_as(
            &ann,
            "mutation($r: ID!) { setTyping(roomId: $r, typing: true) }",
            json!({ "r": uuid::Uuid::new_v4() }),
        )
        .await;
    assert_eq!(first_error_code(&unknown), "NOT_FOUND");
}

#[tokio::test]
async fn others_see_a_member_leave_when_their_socket_is_revoked_or_expires_idle() {
    let app = spawn_app_with(|settings| {
        settings.session_timeout = Duration::from_millis(800);
        settings.session_sweep_interval = Duration::from_millis(100);
    })
    .await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let cat = app.signed_up("cat").await;
    let room = create_room(&app, &ann, "general").await;
    let (mut anns, _) = in_room(&app, &ann, &room).await;
    let (_bobs, _) = in_room(&app, &bob, &room).await;
    assert_eq!(event(&mut anns).await["__typename"], "MemberJoined");
    app.graphql_as(&bob, "mutation { logout }", json!({})).await;
    let left = event(&mut anns).await;
    assert_eq!(left["__typename"], "MemberLeft", "{left}");
    assert_eq!(left["user"]["username"], "bob");

    let (_cats, _) = in_room(&app, &cat, &room).await;
    assert_eq!(event(&mut anns).await["user"]["username"], "cat");
    // cat stays silent and expires. ann keeps her own socket active with queries of her
    // own (a room message would reach cat's socket too, and that counts as activity).
    let mut saw_cat_leave = false;
    for round in 0..20 {
        let id = format!("q{round}");
        anns.subscribe(&id, "{ me { id } }", json!({})).await;
        if let Some(next) = anns.next_of("room", Duration::from_millis(150)).await {
            let event = &next["payload"]["data"]["roomEvents"];
            if event["__typename"] == "MemberLeft" && event["user"]["username"] == "cat" {
                saw_cat_leave = true;
                break;
            }
        }
    }
    assert!(saw_cat_leave, "cat's idle socket expired and others saw cat leave");
}

#[tokio::test]
async fn contact_presence_starts_with_every_contact_then_follows_them() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let cat = app.signed_up("cat").await;
    for contact in [&bob, &cat] {
        let added = app
            .graphql_as(&ann, "mutation($u: ID!) { addContact(userId: $u) { id } }", json!({ "u": contact.id }))
            .await;
        assert!(added["data"]["addContact"].is_object(), "{added}");
    }
    let bobs_socket = app.ws_signed_in(&bob).await;
    let mut socket = app.ws_signed_in(&ann).await;
    socket.subscribe("presence", "subscription { contactPresence { user { username } online } }", json!({})).await;
    let mut snapshot = Vec::new();
    for _ in 0..2 {
        let message = socket.next_of("presence", WAIT).await.expect("a snapshot event");
        snapshot.push(message["payload"]["data"]["contactPresence"].clone());
    }
    snapshot.sort_by_key(|event| event["user"]["username"].as_str().unwrap_or_default().to_string());
    assert_eq!(
        snapshot,
        vec![
            json!({ "user": { "username": "bob" }, "online": true }),
            json!({ "user": { "username": "cat" }, "online": false })
        ]
    );

    let cats_socket = app.ws_signed_in(&cat).await;
    let online = socket.next_of("presence", WAIT).await.expect("cat comes online");
    assert_eq!(online["payload"]["data"]["contactPresence"], json!({ "user": { "username": "cat" }, "online": true }));
    bobs_socket.close().await;
    let offline = socket.next_of("presence", WAIT).await.expect("bob goes offline");
    assert_eq!(
        offline["payload"]["data"]["contactPresence"],
        json!({ "user": { "username": "bob" }, "online": false })
    );
    app.graphql_as(&cat, "mutation { logout }", json!({})).await;
    let revoked = socket.next_of("presence", WAIT).await.expect("cat's revocation takes cat offline");
    assert_eq!(
        revoked["payload"]["data"]["contactPresence"],
        json!({ "user": { "username": "cat" }, "online": false })
    );
    drop(cats_socket);

    let user = app.graphql_as(&ann, "query($u: ID!) { user(id: $u) { online } }", json!({ "u": bob.id })).await;
    assert_eq!(user["data"]["user"]["online"], false);
}

#[tokio::test]
async fn room_subscriptions_leave_nothing_behind_when_sockets_close() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let room = create_room(&app, &ann, "general").await;
    for _ in 0..20 {
        let (socket, _) = in_room(&app, &ann, &room).await;
        drop(socket);
    }
    let settled = async {
        while app.state.room_presence.rooms() > 0
            || app.state.broker.topics() > 0
            || !app.state.live_operations.is_empty()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, settled).await.expect("presence, topics and operations are empty again");
}

/// `roomEvents` resuming `after` a message cursor, with each message's own cursor.
const RESUME: &str = "subscription($room: ID!, $after: String) { roomEvents(roomId: $room, after: $after) {
    __typename
    ... on MessagePosted { cursor message { body } }
} }";

/// A socket of `user` resuming `room` after `after`, its snapshot already read.
async fn resumed(app: &TestApp, user: &TestUser, room: &str, after: Option<&str>) -> WsClient {
    let mut socket = app.ws_signed_in(user).await;
    socket.subscribe("room", RESUME, json!({ "room": room, "after": after })).await;
    assert_eq!(event(&mut socket).await["__typename"], "PresenceSnapshot", "the snapshot comes first");
    socket
}

/// The cursor of the newest message of `room`, from its history.
async fn latest_cursor(app: &TestApp, user: &TestUser, room: &str) -> String {
    let query = "query($r: ID!) { room(id: $r) { messages(last: 1) { edges { cursor } } } }";
    let history = app.graphql_as(user, query, json!({ "r": room })).await;
    history["data"]["room"]["messages"]["edges"][0]["cursor"].as_str().expect("a cursor").to_string()
}

/// The bodies of the next `count` events, which must all be messages, and the last cursor.
async fn messages(socket: &mut WsClient, count: usize) -> (Vec<String>, String) {
    let mut bodies = Vec::new();
    let mut cursor = String::new();
    for _ in 0..count {
        let posted = event(socket).await;
        assert_eq!(posted["__typename"], "MessagePosted", "{posted}");
        bodies.push(posted["message"]["body"].as_str().expect("a body").to_string());
        cursor = posted["cursor"].as_str().expect("a cursor").to_string();
    }
    (bodies, cursor)
}

#[tokio::test]
async fn resuming_after_a_message_sends_the_missed_ones_oldest_first_then_live_ones_once() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let room = create_room(&app, &ann, "general").await;
    let mut bobs = resumed(&app, &bob, &room, None).await;
    send(&app, &ann, &room, "one").await;
    let (seen, last_seen) = messages(&mut bobs, 1).await;
    assert_eq!(seen, ["one"]);
    bobs.close().await;

    send(&app, &ann, &room, "two").await;
    send(&app, &ann, &room, "three").await;
    let mut bobs = resumed(&app, &bob, &room, Some(&last_seen)).await;
    let (missed, _) = messages(&mut bobs, 2).await;
    assert_eq!(missed, ["two", "three"], "what the closed socket missed, oldest first");
    send(&app, &ann, &room, "four").await;
    let (live, last) = messages(&mut bobs, 1).await;
    assert_eq!(live, ["four"], "then live, nothing twice");
    quiet(&mut bobs).await;

    assert_eq!(latest_cursor(&app, &bob, &room).await, last, "the history gives the message the same cursor");
    let mut caught_up = resumed(&app, &bob, &room, Some(&last)).await;
    quiet(&mut caught_up).await;
}

#[tokio::test]
async fn messages_sent_while_a_subscriber_resumes_arrive_exactly_once_in_order() {
    let app = spawn_app_with(|settings| settings.rate_limits.enabled = false).await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let room = create_room(&app, &ann, "general").await;
    send(&app, &ann, &room, "m0").await;
    let after = latest_cursor(&app, &bob, &room).await;

    // Messages keep arriving while the subscription reads what it missed and goes live.
    let sending = {
        let (address, token, room) = (app.address.clone(), ann.token.clone(), room.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            for n in 1..=40 {
                let request = json!({
                    "query": "mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id } }",
                    "variables": { "r": room, "b": format!("m{n}") },
                });
                let answer = client.post(format!("{address}/graphql")).bearer_auth(&token).json(&request).send().await;
                assert!(answer.is_ok_and(|answer| answer.status().is_success()));
                if n == 10 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut bobs = resumed(&app, &bob, &room, Some(&after)).await;
    let (bodies, _) = messages(&mut bobs, 40).await;
    sending.await.expect("the sender finished");
    let expected: Vec<String> = (1..=40).map(|n| format!("m{n}")).collect();
    assert_eq!(bodies, expected, "every message after the cursor, once, in order");
    quiet(&mut bobs).await;
}

#[tokio::test]
async fn a_resume_cursor_that_is_not_a_message_cursor_is_refused() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let room = create_room(&app, &ann, "general").await;
    app.graphql_as(&ann, "mutation { createPost(body: \"a post\") { id } }", json!({})).await;
    let post_cursor = app.graphql("{ posts(first: 1) { pageInfo { endCursor } } }", json!({})).await;
    let post_cursor =
        post_cursor["data"]["posts"]["pageInfo"]["endCursor"].as_str().expect("a post's cursor").to_string();
    let mut socket = app.ws_signed_in(&ann).await;
    for (index, after) in ["not a cursor".to_string(), post_cursor].into_iter().enumerate() {
        let id = format!("bad{index}");
        socket.subscribe(&id, RESUME, json!({ "room": room, "after": after })).await;
        let answer = socket.next_of(&id, WAIT).await.expect("an answer");
        let errors =
            if answer["type"] == "error" { answer["payload"].clone() } else { answer["payload"]["errors"].clone() };
        assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{after}: {answer}");
    }
}
