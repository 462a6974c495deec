//! Chat: `createRoom`, `rooms`, `room`, `sendMessage` and a room's history (`messages`),
//! with their validation, limits, paging and statement counts.

use std::time::Duration;

use serde_json::{Value, json};
use townsquare::realtime::broker::{Event, Topic};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, first_error_code, spawn_app, spawn_app_with};

const CREATE_ROOM: &str = "mutation($name: String!) {
    createRoom(name: $name) { id name createdAt messages { edges { cursor } pageInfo { hasPreviousPage } } }
}";

const SEND: &str = "mutation($room: ID!, $body: String!) {
    sendMessage(roomId: $room, body: $body) { id roomId body createdAt author { id username } }
}";

const HISTORY: &str = "query($room: ID!, $last: Int, $before: String) {
    room(id: $room) { messages(last: $last, before: $before) {
        edges { cursor node { id body author { username } } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    } }
}";

/// Creates a room named `name` as `user` and returns its id.
async fn room_as(app: &TestApp, user: &TestUser, name: &str) -> String {
    let answer = app.graphql_as(user, CREATE_ROOM, json!({ "name": name })).await;
    answer["data"]["createRoom"]["id"].as_str().unwrap_or_else(|| panic!("a room: {answer}")).to_string()
}

/// Sends `body` to `room` as `user` and returns the message.
async fn send_as(app: &TestApp, user: &TestUser, room: &str, body: &str) -> Value {
    let answer = app.graphql_as(user, SEND, json!({ "room": room, "body": body })).await;
    assert!(answer["data"]["sendMessage"]["id"].is_string(), "a message: {answer}");
    answer["data"]["sendMessage"].clone()
}

/// One page of `room`'s history as `user`.
async fn history(app: &TestApp, user: &TestUser, room: &str, last: Option<i64>, before: Option<&str>) -> Value {
    let answer = app.graphql_as(user, HISTORY, json!({ "room": room, "last": last, "before": before })).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"]["room"]["messages"].clone()
}

fn bodies(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"]["body"].as_str().expect("a body").to_string())
        .collect()
}

#[tokio::test]
async fn creating_a_room_keeps_its_name_as_typed_after_trimming() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let answer = app.graphql_as(&ann, CREATE_ROOM, json!({ "name": "  Book Club \n" })).await;
    let room = &answer["data"]["createRoom"];
    assert_eq!(room["name"], "Book Club", "trimmed, case kept: {answer}");
    assert!(room["id"].as_str().is_some_and(|id| Uuid::parse_str(id).is_ok()), "{answer}");
    assert!(room["createdAt"].as_str().is_some_and(|at| at.ends_with('Z')), "{answer}");
    assert_eq!(room["messages"]["edges"], json!([]), "a new room has no messages");
    assert_eq!(room["messages"]["pageInfo"]["hasPreviousPage"], false);
}

#[tokio::test]
async fn room_names_have_1_to_64_characters_and_are_unique_whatever_the_case() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    room_as(&app, &ann, "Lobby").await;
    let cases = [
        (String::new(), "empty"),
        (" \t\n ".to_string(), "whitespace only is empty once trimmed"),
        ("x".repeat(65), "one character past the limit"),
        (format!(" {} ", "é".repeat(65)), "characters are counted, not bytes, and past the limit"),
        ("lobby".to_string(), "taken, in another case"),
        ("  LOBBY ".to_string(), "taken, once trimmed and in another case"),
        ("Lobby".to_string(), "taken exactly"),
    ];
    for (name, reason) in cases {
        let answer = app.graphql_as(&bob, CREATE_ROOM, json!({ "name": name })).await;
        assert_eq!(first_error_code(&answer), "BAD_USER_INPUT", "{reason}: {answer}");
        let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.ends_with('.'), "{reason}: a sentence: {message}");
    }
    for (name, reason) in
        [("x".repeat(64), "exactly the limit"), (format!("  {}  ", "é".repeat(64)), "the limit after trimming")]
    {
        let answer = app.graphql_as(&bob, CREATE_ROOM, json!({ "name": name })).await;
        assert!(answer["data"]["createRoom"]["id"].is_string(), "{reason}: {answer}");
    }
    let rooms = app.graphql_as(&ann, "{ rooms { name } }", json!({})).await;
    assert_eq!(rooms["data"]["rooms"].as_array().map(Vec::len), Some(3), "no refused room was stored: {rooms}");
}

#[tokio::test]
async fn two_racing_rooms_with_one_name_in_different_cases_make_one_room() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let (first, second) = tokio::join!(
        app.graphql_as(&ann, CREATE_ROOM, json!({ "name": "Lobby" })),
        app.graphql_as(&bob, CREATE_ROOM, json!({ "name": "LOBBY" })),
    );
    let created = [&first, &second].iter().filter(|answer| answer["data"]["createRoom"]["id"].is_string()).count();
    assert_eq!(created, 1, "exactly one wins: {first} {second}");
    let loser = if first.get("errors").is_some() { &first } else { &second };
    assert_eq!(first_error_code(loser), "BAD_USER_INPUT", "the other is told the name is taken: {loser}");
    let rooms = app.graphql_as(&ann, "{ rooms { name } }", json!({})).await;
    assert_eq!(rooms["data"]["rooms"].as_array().map(Vec::len), Some(1), "{rooms}");
}

#[tokio::test]
async fn rooms_are_listed_by_name_and_found_by_id() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let beta = room_as(&app, &ann, "beta").await;
    room_as(&app, &bob, "Alpha").await;
    room_as(&app, &ann, "gamma").await;

    let answer = app.graphql_as(&bob, "{ rooms { id name } }", json!({})).await;
    let names: Vec<&str> =
        answer["data"]["rooms"].as_array().expect("rooms").iter().filter_map(|room| room["name"].as_str()).collect();
    assert_eq!(names, ["Alpha", "beta", "gamma"], "by name, ignoring case, for every user: {answer}");

    let found = app.graphql_as(&bob, "query($id: ID!) { room(id: $id) { id name } }", json!({ "id": beta })).await;
    assert_eq!(found["data"]["room"], json!({ "id": beta, "name": "beta" }), "{found}");
    let unknown = Uuid::now_v7().to_string();
    for (id, reason) in [(unknown.as_str(), "a well-formed id of no room"), ("not-a-uuid", "not an id at all")] {
        let answer = app.graphql_as(&bob, "query($id: ID!) { room(id: $id) { id } }", json!({ "id": id })).await;
        assert!(answer.get("errors").is_none(), "{reason}: {answer}");
        assert_eq!(answer["data"]["room"], Value::Null, "{reason}: {answer}");
    }
}

#[tokio::test]
async fn chat_needs_a_signed_in_user() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let room = room_as(&app, &ann, "lobby").await;
    let cases = [
        ("{ rooms { id } }", json!({}), "rooms"),
        ("query($id: ID!) { room(id: $id) { id } }", json!({ "id": room }), "room"),
        (CREATE_ROOM, json!({ "name": "another" }), "createRoom"),
        (SEND, json!({ "room": room, "body": "hi" }), "sendMessage"),
    ];
    for (query, variables, name) in cases {
        let anonymous = app.graphql(query, variables.clone()).await;
        assert_eq!(first_error_code(&anonymous), "UNAUTHENTICATED", "{name} without a token: {anonymous}");
        let forged = app.graphql_with_token("not.a.token", query, variables).await;
        assert_eq!(first_error_code(&forged), "UNAUTHENTICATED", "{name} with a forged token: {forged}");
    }
    assert_eq!(history(&app, &ann, &room, None, None).await["edges"], json!([]), "nothing was sent");
}

#[tokio::test]
async fn a_message_is_stored_trimmed_and_shown_last_in_its_room() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let room = room_as(&app, &ann, "lobby").await;
    send_as(&app, &ann, &room, "first").await;

    let message = send_as(&app, &bob, &room, "  hello there \n").await;
    assert_eq!(message["body"], "hello there", "{message}");
    assert_eq!(message["roomId"], room);
    assert_eq!(message["author"], json!({ "id": bob.id.to_string(), "username": "bob" }));
    assert!(message["createdAt"].as_str().is_some_and(|at| at.ends_with('Z')), "{message}");

    let page = history(&app, &ann, &room, None, None).await;
    assert_eq!(bodies(&page), ["first", "hello there"], "newest last: {page}");
    assert_eq!(page["edges"][1]["node"]["id"], message["id"]);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], false, "nothing older: {page}");
    assert_eq!(page["pageInfo"]["hasNextPage"], false, "the latest page: {page}");
}

#[tokio::test]
async fn a_sent_message_is_published_to_its_room_after_it_is_stored() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let room = room_as(&app, &ann, "lobby").await;
    let room_id: Uuid = room.parse().expect("a uuid");
    let mut events = app.state.broker.subscribe(Topic::Room(room_id));

    let message = send_as(&app, &ann, &room, " hi ").await;
    let event = tokio::time::timeout(Duration::from_secs(2), events.recv())
        .await
        .expect("an event within 2 s")
        .expect("the broker is open")
        .expect("no events lost");
    let Event::MessagePosted(posted) = &event.event else { panic!("a MessagePosted event: {event:?}") };
    assert_eq!(posted.id.to_string(), message["id"].as_str().expect("an id"));
    assert_eq!((posted.room_id, posted.author.id, posted.body.as_str()), (room_id, ann.id, "hi"));
    let stored = history(&app, &ann, &room, None, None).await;
    assert_eq!(bodies(&stored), ["hi"], "whoever hears of it can read it: {stored}");
}

#[tokio::test]
async fn message_bodies_must_have_1_to_4000_characters_after_trimming() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let room = room_as(&app, &ann, "lobby").await;
    let cases = [
        (String::new(), "empty"),
        (" \n\t ".to_string(), "whitespace only is empty once trimmed"),
        ("x".repeat(4001), "one character past the limit"),
        (format!(" {} ", "é".repeat(4001)), "characters are counted, not bytes, and past the limit"),
    ];
    for (body, reason) in cases {
        let answer = app.graphql_as(&ann, SEND, json!({ "room": room, "body": body })).await;
        assert_eq!(first_error_code(&answer), "BAD_USER_INPUT", "{reason}: {answer}");
        let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("The text of a message"), "{reason}: a sentence naming the rule: {message}");
    }
    assert_eq!(history(&app, &ann, &room, None, None).await["edges"], json!([]), "nothing refused was stored");
    for (body, reason) in [
        ("x".repeat(4000), "exactly the limit"),
        (format!("  {}  ", "é".repeat(4000)), "the limit after trimming, in multi-byte characters"),
        ("x".to_string(), "one character"),
    ] {
        let answer = app.graphql_as(&ann, SEND, json!({ "room": room, "body": body })).await;
        assert!(answer["data"]["sendMessage"]["id"].is_string(), "{reason}: {answer}");
    }
}

#[tokio::test]
async fn sending_to_an_unknown_or_malformed_room_is_not_found() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let unknown = Uuid::now_v7().to_string();
    for (room, reason) in [(unknown.as_str(), "a well-formed id of no room"), ("not-a-uuid", "not an id at all")] {
        let answer = app.graphql_as(&ann, SEND, json!({ "room": room, "body": "hi" })).await;
        assert_eq!(first_error_code(&answer), "NOT_FOUND", "{reason}: {answer}");
    }
}

#[tokio::test]
async fn messages_are_rate_limited_per_user() {
    let app = spawn_app_with(|settings| settings.rate_limits.message_per_user = 2).await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let room = room_as(&app, &ann, "lobby").await;
    send_as(&app, &ann, &room, "one").await;
    send_as(&app, &ann, &room, "two").await;

    let answer = app.graphql_as(&ann, SEND, json!({ "room": room, "body": "three" })).await;
    assert_eq!(first_error_code(&answer), "RATE_LIMITED", "{answer}");
    let retry = answer["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().expect("retryAfterSeconds");
    assert!((1..=60).contains(&retry), "{retry}");

    send_as(&app, &bob, &room, "another user has a quota of their own").await;
    let page = history(&app, &ann, &room, None, None).await;
    assert_eq!(bodies(&page), ["one", "two", "another user has a quota of their own"], "{page}");
}

#[tokio::test]
async fn paging_back_visits_every_message_once_newest_last_while_new_ones_arrive() {
    let app = spawn_app_with(|settings| settings.rate_limits.message_per_user = 1000).await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let room = room_as(&app, &ann, "lobby").await;
    let sent: Vec<String> = (0..23).map(|n| format!("message {n:02}")).collect();
    for body in &sent {
        send_as(&app, &ann, &room, body).await;
    }

    let mut page = history(&app, &bob, &room, Some(5), None).await;
    assert_eq!(page["pageInfo"]["hasNextPage"], false, "the latest page: {page}");
    let mut visited: Vec<String> = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        let found = bodies(&page);
        assert!(found.windows(2).all(|pair| pair[0] < pair[1]), "oldest first, newest last: {found:?}");
        // Prepended: each page is older than everything visited so far.
        visited.splice(0..0, found);
        if page["pageInfo"]["hasPreviousPage"] == false {
            break;
        }
        // A message arriving between pages must not shift the older pages.
        send_as(&app, &bob, &room, &format!("arrived while paging {pages}")).await;
        let before = page["pageInfo"]["startCursor"].as_str().expect("a start cursor").to_string();
        page = history(&app, &bob, &room, Some(5), Some(&before)).await;
        assert_eq!(page["pageInfo"]["hasNextPage"], true, "newer messages follow an older page: {page}");
    }
    assert_eq!(visited, sent, "every message exactly once, in order");
    assert_eq!(pages, 5, "23 messages make 5 pages of up to 5");

    let latest = history(&app, &bob, &room, Some(3), None).await;
    assert_eq!(bodies(&latest), ["arrived while paging 2", "arrived while paging 3", "arrived while paging 4"]);
}

#[tokio::test]
async fn page_sizes_and_cursors_are_checked() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let room = room_as(&app, &ann, "lobby").await;
    send_as(&app, &ann, &room, "hi").await;
    let post_cursor = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("post:0:{}", Uuid::now_v7()))
    };
    let cases = [
        (json!({ "room": room, "last": 101 }), "more than 100"),
        (json!({ "room": room, "last": -1 }), "negative"),
        (json!({ "room": room, "before": "not a cursor" }), "not a cursor"),
        (json!({ "room": room, "before": post_cursor }), "a cursor of another list"),
    ];
    for (variables, reason) in cases {
        let answer = app.graphql_as(&ann, HISTORY, variables).await;
        assert_eq!(first_error_code(&answer), "BAD_USER_INPUT", "{reason}: {answer}");
    }
    let empty = history(&app, &ann, &room, Some(0), None).await;
    assert_eq!(empty["edges"], json!([]), "{empty}");
    assert_eq!(empty["pageInfo"]["hasPreviousPage"], true, "last: 0 still says older messages exist: {empty}");
    let default = app.graphql_as(&ann, HISTORY, json!({ "room": room, "last": null })).await;
    assert_eq!(bodies(&default["data"]["room"]["messages"]), ["hi"], "null means the default: {default}");
}

const ROOMS_WITH_MESSAGES: &str = "{ rooms { id name messages(last: 20) {
    edges { cursor node { id body createdAt author { id username } } }
    pageInfo { hasPreviousPage startCursor }
} } }";

/// Statements issued by one list of every room with its latest messages, as `viewer`.
async fn statements_for_rooms(app: &TestApp, viewer: &TestUser, rooms: usize) -> u64 {
    let before = app.statements();
    let answer = app.graphql_as(viewer, ROOMS_WITH_MESSAGES, json!({})).await;
    let after = app.statements();
    assert!(answer.get("errors").is_none(), "{answer}");
    let listed = answer["data"]["rooms"].as_array().expect("rooms");
    assert_eq!(listed.len(), rooms);
    assert!(listed.iter().all(|room| room["messages"]["edges"].as_array().is_some_and(|edges| edges.len() == 20)));
    after - before
}

#[tokio::test]
async fn rooms_with_their_latest_messages_cost_the_same_statements_for_2_and_8_rooms() {
    let app = spawn_app_with(|settings| settings.rate_limits.message_per_user = 1000).await;
    let people = [app.signed_up("ann").await, app.signed_up("bob").await, app.signed_up("cat").await];
    let mut rooms = 0;
    let mut add_rooms = async |count: usize| {
        for _ in 0..count {
            let room = room_as(&app, &people[0], &format!("room {rooms}")).await;
            for n in 0..25 {
                send_as(&app, &people[n % people.len()], &room, &format!("message {n}")).await;
            }
            rooms += 1;
        }
    };
    add_rooms(2).await;
    // The first request reads the session row; later ones find it in the session cache.
    app.graphql_as(&people[0], "{ me { id } }", json!({})).await;
    let small = statements_for_rooms(&app, &people[0], 2).await;
    add_rooms(6).await;
    let large = statements_for_rooms(&app, &people[0], 8).await;
    println!("statements for rooms with their latest messages: {small} (2 rooms), {large} (8 rooms)");
    assert_eq!(small, large, "the count must not grow with the number of rooms");
    assert!(large <= 2, "the rooms, then every room's messages with their authors: got {large}");
}
