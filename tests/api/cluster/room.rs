//! Chat as the cluster scenarios use it: rooms, messages, `roomEvents` subscriptions, and a
//! [`Listener`] that reads a socket in the background so no event is missed (and no ping
//! goes unanswered) while the test does something else.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};

use super::instances::Instance;
use crate::{helpers::TestUser, ws_client::WsClient};

/// `roomEvents`, optionally resuming `after` a message cursor, with every event's fields the
/// scenarios read.
pub const ROOM_EVENTS: &str = "subscription($room: ID!, $after: String) { roomEvents(roomId: $room, after: $after) {
    __typename
    ... on PresenceSnapshot { onlineCount onlineUsers { username } }
    ... on MessagePosted { cursor message { body } }
    ... on MemberJoined { user { username } onlineCount }
    ... on MemberLeft { user { username } onlineCount }
} }";

const SEND: &str = "mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id } }";

/// Creates a room named `name` as `user` through `instance` and returns its id.
pub async fn create_room(instance: &Instance, user: &TestUser, name: &str) -> String {
    let body =
        instance.graphql_as(user, "mutation($n: String!) { createRoom(name: $n) { id } }", json!({ "n": name })).await;
    body["data"]["createRoom"]["id"].as_str().unwrap_or_else(|| panic!("a room: {body}")).to_string()
}

/// Sends `body` to `room` as `user` through `instance`; panics unless it is stored.
pub async fn send(instance: &Instance, user: &TestUser, room: &str, body: &str) {
    let answer = instance.graphql_as(user, SEND, json!({ "r": room, "b": body })).await;
    assert!(answer["data"]["sendMessage"]["id"].is_string(), "{body} through instance {}: {answer}", instance.name);
}

/// Sends `body` to `room` as `user` through `instance`: `Ok` when the message was stored,
/// `Err` with the error code when the instance refused it with an error.
pub async fn try_send(instance: &Instance, user: &TestUser, room: &str, body: &str) -> Result<(), String> {
    let answer = instance.graphql_as(user, SEND, json!({ "r": room, "b": body })).await;
    if answer["data"]["sendMessage"]["id"].is_string() {
        return Ok(());
    }
    Err(answer["errors"][0]["extensions"]["code"].as_str().unwrap_or("no code").to_string())
}

/// Every message body of `room`, oldest first, read through `instance`'s history.
pub async fn history(instance: &Instance, user: &TestUser, room: &str) -> Vec<String> {
    const PAGE: &str = "query($r: ID!, $before: String) { room(id: $r) { messages(last: 100, before: $before) {
        edges { cursor node { body } } pageInfo { hasPreviousPage }
    } } }";
    let mut bodies = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let answer = instance.graphql_as(user, PAGE, json!({ "r": room, "before": before })).await;
        let page = &answer["data"]["room"]["messages"];
        let edges = page["edges"].as_array().unwrap_or_else(|| panic!("a page of history: {answer}"));
        let mut older: Vec<String> =
            edges.iter().map(|edge| edge["node"]["body"].as_str().expect("a body").to_string()).collect();
        older.append(&mut bodies);
        bodies = older;
        if page["pageInfo"]["hasPreviousPage"] != true {
            return bodies;
        }
        before = edges.first().and_then(|edge| edge["cursor"].as_str()).map(str::to_owned);
    }
}

/// A socket of `user` on `instance` subscribed to `room` (operation id `room`), resuming
/// after `after` when given, with its snapshot read and returned.
pub async fn join(instance: &Instance, user: &TestUser, room: &str, after: Option<&str>) -> (WsClient, Value) {
    let mut socket = instance.ws_signed_in(user).await;
    socket.subscribe("room", ROOM_EVENTS, json!({ "room": room, "after": after })).await;
    let first = socket.next_of("room", crate::ws_client::WAIT).await;
    let first = first.unwrap_or_else(|| panic!("a snapshot on instance {}: {:?}", instance.name, socket.closed()));
    let snapshot = first["payload"]["data"]["roomEvents"].clone();
    assert_eq!(snapshot["__typename"], "PresenceSnapshot", "the snapshot comes first: {first}");
    (socket, snapshot)
}

/// [`join`], then a [`Listener`] named `<username> on <instance>` reading the socket.
pub async fn listen(instance: &Instance, user: &TestUser, name: &str, room: &str, after: Option<&str>) -> Listener {
    let (socket, _) = join(instance, user, room, after).await;
    Listener::spawn(format!("{name} on {}", instance.name), socket)
}

/// A message as a subscriber heard it.
#[derive(Debug, Clone)]
pub struct Posted {
    /// The message's text.
    pub body: String,
    /// Its cursor, to resume after it.
    pub cursor: String,
}

/// What the reading task passes on.
enum Heard {
    /// A graphql-ws message other than ping and pong.
    Message(Value),
    /// The socket ended, with the close frame when the server sent one.
    Ended(Option<(u16, String)>),
}

/// A socket read by a task of its own; the test takes what it heard when it is ready to.
pub struct Listener {
    /// Who listens where (`bob on B`), for failure messages.
    pub who: String,
    /// Unbounded: the test reads everything the server sends eventually, and a bound would
    /// stall the reading task, which also answers the server's pings.
    heard: mpsc::UnboundedReceiver<Heard>,
    reading: JoinHandle<()>,
}

impl Listener {
    /// Reads `socket` in the background from now on.
    pub fn spawn(who: String, mut socket: WsClient) -> Listener {
        let (tell, heard) = mpsc::unbounded_channel();
        let reading = tokio::spawn(async move {
            // A day: `None` then only means the socket ended.
            while let Some(message) = socket.next_message(std::time::Duration::from_secs(86_400)).await {
                if tell.send(Heard::Message(message)).is_err() {
                    return;
                }
            }
            let _ = tell.send(Heard::Ended(socket.closed().cloned()));
        });
        Listener { who, heard, reading }
    }

    /// The next message, or `None` at `deadline`; panics when the socket ended.
    pub async fn next(&mut self, deadline: Instant) -> Option<Value> {
        match tokio::time::timeout_at(deadline, self.heard.recv()).await {
            Err(_elapsed) => None,
            Ok(Some(Heard::Message(message))) => Some(message),
            Ok(Some(Heard::Ended(close))) => panic!("{}: the socket ended ({close:?})", self.who),
            Ok(None) => panic!("{}: the reading task stopped", self.who),
        }
    }

    /// The next `roomEvents` event (operation `room`), or `None` at `deadline`; messages of
    /// other operations are skipped.
    pub async fn room_event(&mut self, deadline: Instant) -> Option<Value> {
        self.event_of("room", "roomEvents", deadline).await
    }

    /// The next `field` event of operation `id`, or `None` at `deadline`; messages of other
    /// operations are skipped.
    pub async fn event_of(&mut self, id: &str, field: &str, deadline: Instant) -> Option<Value> {
        loop {
            let message = self.next(deadline).await?;
            if message["id"] == id {
                assert_eq!(message["type"], "next", "{}: {message}", self.who);
                return Some(message["payload"]["data"][field].clone());
            }
        }
    }

    /// The messages heard until every body of `expected` was heard or `deadline` passed,
    /// then for `settle` longer (so a duplicate shows), in the order heard. Other events are
    /// skipped.
    pub async fn messages(
        &mut self,
        expected: &[String],
        deadline: Instant,
        settle: std::time::Duration,
    ) -> Vec<Posted> {
        let mut missing: HashSet<&str> = expected.iter().map(String::as_str).collect();
        let mut heard = Vec::new();
        let mut until = deadline;
        let mut settling = missing.is_empty();
        if settling {
            until = Instant::now() + settle;
        }
        while let Some(event) = self.room_event(until).await {
            if event["__typename"] != "MessagePosted" {
                continue;
            }
            let body = event["message"]["body"].as_str().expect("a body").to_string();
            let cursor = event["cursor"].as_str().expect("a cursor").to_string();
            missing.remove(body.as_str());
            heard.push(Posted { body, cursor });
            if missing.is_empty() && !settling {
                settling = true;
                until = Instant::now() + settle;
            }
        }
        heard
    }

    /// Ends the connection without a close frame, as a network failure does.
    pub fn drop_socket(self) {
        self.reading.abort();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.reading.abort();
    }
}

/// Asserts that `heard` holds each of `expected` exactly once, in any order, and nothing else.
pub fn assert_exactly_once(who: &str, heard: &[Posted], expected: &[String]) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for posted in heard {
        *counts.entry(posted.body.as_str()).or_default() += 1;
    }
    let missing: Vec<&str> = expected.iter().map(String::as_str).filter(|body| !counts.contains_key(body)).collect();
    let mut twice: Vec<&str> = counts.iter().filter(|(_, count)| **count > 1).map(|(body, _)| *body).collect();
    twice.sort_unstable();
    let unknown: Vec<&str> = counts.keys().copied().filter(|body| !expected.iter().any(|sent| sent == body)).collect();
    assert!(
        missing.is_empty() && twice.is_empty() && unknown.is_empty(),
        "{who} heard {} messages for {} sent: missing {missing:?}, more than once {twice:?}, never sent {unknown:?}",
        heard.len(),
        expected.len(),
    );
}

/// Asserts that `heard` holds each of `expected` exactly once, in `expected`'s order.
pub fn assert_exactly_once_in_order(who: &str, heard: &[Posted], expected: &[String]) {
    assert_exactly_once(who, heard, expected);
    let bodies: Vec<&str> = heard.iter().map(|posted| posted.body.as_str()).collect();
    assert_eq!(bodies, expected, "{who} heard every message once, but not in the order they were sent");
}

/// The bodies of `heard`, in order.
pub fn bodies(heard: &[Posted]) -> Vec<String> {
    heard.iter().map(|posted| posted.body.clone()).collect()
}
