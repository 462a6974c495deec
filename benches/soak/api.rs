//! The API as the soak's clients use it: GraphQL over HTTP, and graphql-ws sockets with small
//! buffers (a thousand of them live in this process).

use std::time::Duration;

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
        protocol::WebSocketConfig,
    },
};

/// The password of every user the soak registers.
pub const PASSWORD: &str = "violet elephant marmalade 42";
/// How long any one answer may take before the operation counts as failed.
pub const WAIT: Duration = Duration::from_secs(30);

/// A graphql-ws client socket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// POSTs a GraphQL request, as `token` when given: its `data`, or an error for a status
/// other than 200 or any entry in `errors`.
pub async fn graphql(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let mut request = http.post(format!("{base}/graphql")).json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let body: Value = response.json().await.with_context(|| format!("status {status}, not JSON"))?;
    ensure!(status.is_success() && body.get("errors").is_none(), "status {status}: {body}");
    Ok(body["data"].clone())
}

/// A registered user.
pub struct Account {
    /// The address the user signs in with.
    pub email: String,
    /// The token of the session `register` opened.
    pub token: String,
}

/// Registers `username` (address `<username>@example.com`).
pub async fn register(http: &reqwest::Client, base: &str, username: &str) -> anyhow::Result<Account> {
    let email = format!("{username}@example.com");
    let data = graphql(
        http,
        base,
        None,
        "mutation($input: RegisterInput!) { register(input: $input) { token } }",
        json!({ "input": { "email": email, "username": username, "password": PASSWORD } }),
    )
    .await?;
    let token = data["register"]["token"].as_str().context("no token")?.to_string();
    Ok(Account { email, token })
}

/// A new login session of the user with address `email`: its token.
pub async fn login(http: &reqwest::Client, base: &str, email: &str) -> anyhow::Result<String> {
    let data = graphql(
        http,
        base,
        None,
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        json!({ "e": email, "p": PASSWORD }),
    )
    .await?;
    data["login"]["token"].as_str().map(str::to_owned).context("no token")
}

/// A graphql-ws socket to `ws_url`, signed in with `token` and acknowledged.
pub async fn open_socket(ws_url: &str, token: &str) -> anyhow::Result<Socket> {
    let mut request = ws_url.into_client_request()?;
    request.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("graphql-transport-ws"));
    // tungstenite's defaults reserve 128 KiB of read buffer a socket; the soak's frames are
    // small and a thousand sockets live here.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024).write_buffer_size(0);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    socket.send(Message::text(init.to_string())).await?;
    until_text(&mut socket, "connection_ack").await?;
    Ok(socket)
}

/// Sends a graphql-ws `subscribe` of `query` as operation `id`.
pub async fn subscribe(socket: &mut Socket, id: &str, query: &str, variables: Value) -> anyhow::Result<()> {
    let message = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } });
    Ok(socket.send(Message::text(message.to_string())).await?)
}

/// Reads until a text frame containing `marker`; a graphql-ws `error`, a close or the end of
/// the connection first is an error.
pub async fn until_text(socket: &mut Socket, marker: &str) -> anyhow::Result<()> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.contains(marker) => return Ok(()),
            Some(Ok(Message::Text(text))) if text.contains("\"error\"") => bail!("the server answered {text}"),
            Some(Ok(Message::Close(frame))) => bail!("the server closed the socket: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(error)) => bail!("the socket failed: {error}"),
            None => bail!("the connection ended before {marker}"),
        }
    }
}
