//! One run through a real load balancer: Debian's nginx with the README's configuration
//! (`nginx.conf` beside this file) in front of two instances, round-robin, no sticky
//! sessions. Two browsers' worth of graphql-ws clients chat through it, see each other online,
//! and one user's logout closes their other tab of the same session, wherever it landed.
//!
//! nginx comes from `TEST_NGINX` (set by `.ci/run`, which installs it) or `PATH`; without
//! either the test prints that it skipped.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    DELIVERY,
    instances::{A, B, Cluster},
    room::{ROOM_EVENTS, create_room},
};
use crate::{
    helpers::{TEST_PASSWORD, TestUser},
    ws_client::{Ended, GRAPHQL_TRANSPORT_WS, WAIT, WsClient},
};

/// The contract's bound from a logout to the close of the session's sockets.
const REVOKED_WITHIN: Duration = Duration::from_secs(2);

/// nginx in front of the cluster, killed on drop.
struct Balancer {
    address: String,
    client: reqwest::Client,
    process: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Balancer {
    /// SIGTERM, so the master stops its workers too (SIGKILL would orphan them, still
    /// listening); SIGKILL only if it has not stopped within 5 s.
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.process.id()) {
            // SAFETY: kill(2) with a pid this test started and has not reaped yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.process.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The nginx binary, or `None` when there is none to run.
fn nginx() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TEST_NGINX").filter(|path| !path.is_empty()) {
        return Some(PathBuf::from(path));
    }
    ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().map(PathBuf::from).find(|path| path.exists())
}

impl Balancer {
    /// Starts nginx with the repository's configuration, its upstreams pointed at `upstreams`.
    async fn start(binary: PathBuf, upstreams: [&str; 2]) -> Balancer {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a port").port();
        let config = include_str!("nginx.conf")
            .replace("127.0.0.1:8001", upstreams[0].trim_start_matches("http://"))
            .replace("127.0.0.1:8002", upstreams[1].trim_start_matches("http://"))
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir_all(dir.path().join("tmp")).expect("nginx's temporary directory");
        std::fs::write(dir.path().join("nginx.conf"), config).expect("the configuration is written");
        // Its own file, not the test's output: no nginx process keeps the test's pipes open.
        let log = std::fs::File::create(dir.path().join("nginx.log")).expect("nginx's log");
        let process = Command::new(&binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("{} starts: {error}", binary.display()));
        let balancer = Balancer {
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            process,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ready = balancer.client.get(format!("{}/healthz", balancer.address)).send().await;
            if ready.is_ok_and(|response| response.status().is_success()) {
                return balancer;
            }
            assert!(Instant::now() < deadline, "nginx answers /healthz within 10 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self.client.post(format!("{}/graphql", self.address)).json(&json!({
            "query": query,
            "variables": variables,
        }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("nginx answers").json().await.expect("a JSON body")
    }

    async fn signed_up(&self, username: &str) -> TestUser {
        let email = format!("{username}@example.com");
        let body = self
            .graphql(
                None,
                "mutation($input: RegisterInput!) { register(input: $input) { token user { id } } }",
                json!({ "input": { "email": email, "username": username, "password": TEST_PASSWORD } }),
            )
            .await;
        let payload = &body["data"]["register"];
        TestUser {
            id: payload["user"]["id"].as_str().and_then(|id| id.parse().ok()).unwrap_or_else(|| panic!("{body}")),
            email,
            password: TEST_PASSWORD.to_string(),
            token: payload["token"].as_str().expect("a token").to_string(),
        }
    }

    /// A browser tab: a graphql-ws socket through nginx, signed in as `user`.
    async fn tab(&self, user: &TestUser) -> WsClient {
        let mut socket =
            WsClient::connect(&self.address, Some(GRAPHQL_TRANSPORT_WS)).await.expect("a socket via nginx");
        let ack = socket.init(json!({ "authorization": format!("Bearer {}", user.token) })).await;
        assert_eq!(ack.as_ref().map(|ack| &ack["type"]), Some(&json!("connection_ack")), "{:?}", socket.closed());
        socket
    }
}

/// Reads `socket`'s room events until one satisfies `wanted`, or fails naming `what`.
async fn room_event_until(socket: &mut WsClient, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + DELIVERY;
    while let Some(message) = socket.next_of("room", deadline.saturating_duration_since(Instant::now())).await {
        let event = message["payload"]["data"]["roomEvents"].clone();
        if wanted(&event) {
            return event;
        }
    }
    panic!("{what} did not arrive through nginx: {:?}", socket.closed())
}

/// Sockets open on an instance, from its own metrics.
async fn sockets_on(client: &reqwest::Client, instance: &str) -> u64 {
    let metrics = client.get(format!("{instance}/metrics")).send().await.expect("metrics").text().await.expect("text");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("ws_live_connections "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map_or(0, |value| value as u64)
}

#[tokio::test]
async fn two_browsers_chat_through_nginx_round_robin_and_a_logout_closes_the_other_tab_of_the_session() {
    let Some(cluster) = Cluster::start_with(2, &[("TRUSTED_PROXIES", "127.0.0.1")]).await else { return };
    let Some(binary) = nginx() else {
        println!("skipped: no nginx (set TEST_NGINX or install Debian's nginx-light)");
        return;
    };
    let balancer = Balancer::start(binary, [&cluster[A].address, &cluster[B].address]).await;
    let ann = balancer.signed_up("ann").await;
    let bob = balancer.signed_up("bob").await;
    let room = create_room(&cluster[A], &ann, "lobby").await;

    // Ann's two tabs and Bob's tab, each its own socket: round-robin spreads them.
    let mut ann_chat = balancer.tab(&ann).await;
    let mut ann_other_tab = balancer.tab(&ann).await;
    let mut bob_chat = balancer.tab(&bob).await;
    let (on_a, on_b) = (
        sockets_on(&balancer.client, &cluster[A].address).await,
        sockets_on(&balancer.client, &cluster[B].address).await,
    );
    assert!(on_a >= 1 && on_b >= 1, "round-robin puts sockets on both instances (A {on_a}, B {on_b})");

    ann_chat.subscribe("room", ROOM_EVENTS, json!({ "room": room, "after": null })).await;
    room_event_until(&mut ann_chat, "ann's snapshot", |event| event["__typename"] == "PresenceSnapshot").await;
    bob_chat.subscribe("room", ROOM_EVENTS, json!({ "room": room, "after": null })).await;
    room_event_until(&mut bob_chat, "bob's snapshot", |event| event["__typename"] == "PresenceSnapshot").await;
    room_event_until(&mut ann_chat, "bob joining", |event| event["__typename"] == "MemberJoined").await;
    ann_other_tab.subscribe("contacts", "subscription { contactPresence { online } }", json!({})).await;

    // They see each other online, whichever instance answers the query.
    let online = "query($room: ID!) { room(id: $room) { onlineUsers { id } } }";
    for _ in 0..4 {
        let answer = balancer.graphql(Some(&bob.token), online, json!({ "room": room })).await;
        let users = answer["data"]["room"]["onlineUsers"].as_array().cloned().unwrap_or_default();
        assert_eq!(users.len(), 2, "both online, on whichever instance answered: {answer}");
    }

    // They chat.
    let send = "mutation($room: ID!, $body: String!) { sendMessage(roomId: $room, body: $body) { id } }";
    let sent = balancer.graphql(Some(&bob.token), send, json!({ "room": room, "body": "hi ann" })).await;
    assert!(sent["data"]["sendMessage"]["id"].is_string(), "{sent}");
    room_event_until(&mut ann_chat, "bob's message", |event| event["message"]["body"] == "hi ann").await;
    balancer.graphql(Some(&ann.token), send, json!({ "room": room, "body": "hi bob" })).await;
    room_event_until(&mut bob_chat, "ann's message", |event| event["message"]["body"] == "hi bob").await;

    // Ann logs out in one tab: both of her tabs close with 4401, Bob's stays.
    let answer = balancer.graphql(Some(&ann.token), "mutation { logout }", json!({})).await;
    assert_eq!(answer["data"]["logout"], true, "{answer}");
    let deadline = Instant::now() + REVOKED_WITHIN;
    for (who, tab) in [("ann's chat tab", &mut ann_chat), ("ann's other tab", &mut ann_other_tab)] {
        let ended = tokio::time::timeout_at(deadline, tab.ended(Duration::from_secs(3600)))
            .await
            .unwrap_or_else(|_| panic!("{who} is still open {REVOKED_WITHIN:?} after the logout"));
        assert_eq!(ended, Ended::Closed(4401, "Session revoked".into()), "{who}");
    }
    assert!(bob_chat.ping_answered(WAIT).await, "bob's tab stays open");
}
