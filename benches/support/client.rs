//! The API as the benchmarks' clients use it against an [`Instance`]: GraphQL over HTTP
//! (register, log in, create a room) and graphql-ws sockets, with how a socket ended. A
//! benchmark that uses this module declares `instances.rs` beside it (as `mod instances`).

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{
        Message,
        client::IntoClientRequest as _,
        http::{HeaderValue, header::SEC_WEBSOCKET_PROTOCOL},
    },
};

use crate::instances::Instance;

/// The password of every user the benchmarks register.
pub const PASSWORD: &str = "violet elephant marmalade 42";
/// How long any one expected answer may take before the run is abandoned.
pub const WAIT: Duration = Duration::from_secs(30);

/// A graphql-ws client socket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A registered user.
pub struct User {
    /// The user's id.
    pub id: String,
    /// The address the user signs in with.
    pub email: String,
    /// The token of the session `register` opened.
    pub token: String,
}

/// POSTs a GraphQL request to `instance`, as `token` when given; fails on any error.
pub async fn graphql(
    http: &reqwest::Client,
    instance: &Instance,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let mut request =
        http.post(format!("{}/graphql", instance.base)).json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: Value = request.send().await?.json().await?;
    ensure!(body.get("errors").is_none(), "GraphQL errors from instance {}: {body}", instance.name);
    Ok(body["data"].clone())
}

/// Registers `username` (address `<username>@example.com`) through `instance`.
pub async fn register(http: &reqwest::Client, instance: &Instance, username: &str) -> anyhow::Result<User> {
    let email = format!("{username}@example.com");
    let data = graphql(
        http,
        instance,
        None,
        "mutation($input: RegisterInput!) { register(input: $input) { token user { id } } }",
        json!({ "input": { "email": email, "username": username, "password": PASSWORD } }),
    )
    .await?;
    let payload = &data["register"];
    Ok(User {
        id: payload["user"]["id"].as_str().context("no user id")?.to_string(),
        email,
        token: payload["token"].as_str().context("no token")?.to_string(),
    })
}

/// A new login session of `user` (another device): its token.
pub async fn login(http: &reqwest::Client, instance: &Instance, user: &User) -> anyhow::Result<String> {
    let data = graphql(
        http,
        instance,
        None,
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        json!({ "e": user.email, "p": PASSWORD }),
    )
    .await?;
    data["login"]["token"].as_str().map(str::to_owned).context("no token")
}

/// Creates a room named `name` as `user` through `instance`: its id.
pub async fn create_room(
    http: &reqwest::Client,
    instance: &Instance,
    user: &User,
    name: &str,
) -> anyhow::Result<String> {
    let data = graphql(
        http,
        instance,
        Some(&user.token),
        "mutation($n: String!) { createRoom(name: $n) { id } }",
        json!({ "n": name }),
    )
    .await?;
    data["createRoom"]["id"].as_str().map(str::to_owned).context("no room id")
}

/// A graphql-ws socket to `instance` that has sent `connection_init` with `token`.
pub async fn open_socket(instance: &Instance, token: &str) -> anyhow::Result<Socket> {
    let mut request = format!("{}/graphql", instance.base.replacen("http", "ws", 1)).into_client_request()?;
    request.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("graphql-transport-ws"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    socket.send(Message::text(init.to_string())).await?;
    Ok(socket)
}

/// The next graphql-ws message on `socket` within [`WAIT`].
pub async fn next_message(socket: &mut Socket) -> anyhow::Result<Value> {
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next()).await?.context("the socket closed")??;
        match frame {
            Message::Text(text) => return Ok(serde_json::from_str(&text)?),
            Message::Close(close) => bail!("the server closed the socket: {close:?}"),
            _ => {}
        }
    }
}

/// A socket to `instance` signed in with `token`, acknowledged, subscribed to `query` as
/// operation `1`, and shown to be served: a graphql-ws ping sent after the subscribe is
/// answered.
pub async fn served_socket(instance: &Instance, token: &str, query: &str, variables: Value) -> anyhow::Result<Socket> {
    let mut socket = open_socket(instance, token).await?;
    let ack = next_message(&mut socket).await?;
    ensure!(ack["type"] == "connection_ack", "instance {} did not acknowledge the socket: {ack}", instance.name);
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } });
    socket.send(Message::text(subscribe.to_string())).await?;
    socket.send(Message::text(json!({ "type": "ping" }).to_string())).await?;
    loop {
        let message = next_message(&mut socket).await?;
        ensure!(message["type"] != "error", "instance {} refused the subscription: {message}", instance.name);
        if message["type"] == "pong" {
            return Ok(socket);
        }
    }
}

/// Reads `socket` until it ends, so the library answers the server's pings.
pub fn keep_reading(mut socket: Socket) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { while let Some(Ok(_)) = socket.next().await {} })
}

/// How a socket the benchmark expects to be closed ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// A close frame with this code and reason.
    Closed(u16, String),
    /// The connection ended without a close frame.
    Dropped,
    /// Still open when the benchmark stopped waiting.
    Open,
}

/// How `socket` ends within `within`, and when.
pub async fn ending(socket: &mut Socket, within: Duration) -> (Ending, Instant) {
    let waited = tokio::time::timeout(within, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => {
                    return frame.map_or(Ending::Dropped, |frame| {
                        Ending::Closed(u16::from(frame.code), frame.reason.to_string())
                    });
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Ending::Dropped,
            }
        }
    })
    .await;
    (waited.unwrap_or(Ending::Open), Instant::now())
}
