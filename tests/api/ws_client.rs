//! A small graphql-ws (`graphql-transport-ws`) client over a real socket, for the tests of
//! subscriptions and of the socket itself.
//!
//! It speaks the protocol as the `graphql-ws` npm client does: the subprotocol header on the
//! upgrade, `connection_init` first, `subscribe`/`complete` per operation id, and a `pong`
//! for every protocol-level `ping`. WebSocket ping frames are answered by tungstenite itself.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{
        self, Message,
        client::IntoClientRequest as _,
        http::{HeaderValue, header::SEC_WEBSOCKET_PROTOCOL},
        protocol::{CloseFrame, frame::coding::CloseCode},
    },
};

/// The subprotocol of the graphql-ws library.
pub const GRAPHQL_TRANSPORT_WS: &str = "graphql-transport-ws";

/// How long a test waits for a message that should come.
pub const WAIT: Duration = Duration::from_secs(5);

/// One graphql-ws connection.
pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The close frame the server sent, once it sent one.
    closed: Option<(u16, String)>,
    /// The subprotocol the server picked.
    pub protocol: Option<String>,
}

/// What happened to a socket that stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The server sent a close frame with this code and reason.
    Closed(u16, String),
    /// The connection ended without a close frame.
    Dropped,
}

impl WsClient {
    /// Opens a socket to `<address>/graphql`, asking for `protocol` (none when `None`).
    pub async fn connect(address: &str, protocol: Option<&str>) -> Result<WsClient, tungstenite::Error> {
        let url = format!("{}/graphql", address.replacen("http", "ws", 1));
        let mut request = url.into_client_request()?;
        if let Some(protocol) = protocol {
            let value =
                HeaderValue::from_str(protocol).map_err(|error| tungstenite::Error::HttpFormat(error.into()))?;
            request.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, value);
        }
        let (socket, response) = tokio_tungstenite::connect_async(request).await?;
        let protocol =
            response.headers().get(SEC_WEBSOCKET_PROTOCOL).and_then(|value| value.to_str().ok()).map(str::to_owned);
        Ok(WsClient { socket, closed: None, protocol })
    }

    /// Sends `connection_init` with `payload` and returns the next message (the ack, or
    /// `None` when the server closed instead).
    pub async fn init(&mut self, payload: Value) -> Option<Value> {
        self.send(json!({ "type": "connection_init", "payload": payload })).await;
        self.next_message(WAIT).await
    }

    /// Sends one JSON message.
    pub async fn send(&mut self, message: Value) {
        self.send_text(&message.to_string()).await;
    }

    /// Sends raw text, malformed or not.
    pub async fn send_text(&mut self, text: &str) {
        self.socket.send(Message::text(text)).await.expect("the socket takes a message");
    }

    /// Starts operation `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.subscribe_with(id, json!({ "query": query, "variables": variables })).await;
    }

    /// Starts operation `id` with a whole request `payload` (operation name, extensions).
    pub async fn subscribe_with(&mut self, id: &str, payload: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": payload })).await;
    }

    /// Stops operation `id`.
    pub async fn complete(&mut self, id: &str) {
        self.send(json!({ "id": id, "type": "complete" })).await;
    }

    /// The next graphql-ws message other than ping and pong, within `timeout`; `None` on
    /// timeout or when the socket ended (see [`WsClient::closed`]).
    pub async fn next_message(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_elapsed) => return None,
                Ok(frame) => frame,
            };
            match frame {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(&text).expect("the server sends JSON");
                    match message["type"].as_str() {
                        Some("ping") => self.send(json!({ "type": "pong" })).await,
                        Some("pong") => {}
                        _ => return Some(message),
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    self.closed = Some(close_parts(frame));
                    return None;
                }
                // tungstenite queues the pong for a ping frame and sends it on the next read.
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next text frame exactly as sent, within `timeout`.
    pub async fn raw_text(&mut self, timeout: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.socket.next()).await.ok()?? {
                Ok(Message::Text(text)) => return Some(text.to_string()),
                Ok(Message::Close(frame)) => {
                    self.closed = Some(close_parts(frame));
                    return None;
                }
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Sends a graphql-ws `ping` and waits for its `pong`: true while the socket is open and
    /// served. Other messages that arrive meanwhile are skipped.
    pub async fn ping_answered(&mut self, timeout: Duration) -> bool {
        self.send(json!({ "type": "ping" })).await;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let Ok(frame) = tokio::time::timeout_at(deadline, self.socket.next()).await else { return false };
            match frame {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(&text).expect("the server sends JSON");
                    if message["type"] == "pong" {
                        return true;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    self.closed = Some(close_parts(frame));
                    return false;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return false,
            }
        }
    }

    /// The next message of operation `id` (`next`, `error` or `complete`), skipping others.
    pub async fn next_of(&mut self, id: &str, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self.next_message(left).await?;
            if message["id"] == id {
                return Some(message);
            }
        }
    }

    /// Waits for the server to end the socket and says how it ended; panics if it is still
    /// open after `timeout`. Messages that arrive meanwhile are skipped.
    pub async fn ended(&mut self, timeout: Duration) -> Ended {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some((code, reason)) = self.closed.clone() {
                return Ended::Closed(code, reason);
            }
            let frame = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("the socket is still open after {timeout:?}"));
            match frame {
                Some(Ok(Message::Close(frame))) => self.closed = Some(close_parts(frame)),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Ended::Dropped,
            }
        }
    }

    /// The close code and reason the server ends the socket with, within `timeout`; panics
    /// when it stays open or drops without a close frame.
    pub async fn expect_close(&mut self, timeout: Duration) -> (u16, String) {
        match self.ended(timeout).await {
            Ended::Closed(code, reason) => (code, reason),
            Ended::Dropped => panic!("the socket dropped without a close frame"),
        }
    }

    /// The close frame the server sent, if it has sent one.
    pub fn closed(&self) -> Option<&(u16, String)> {
        self.closed.as_ref()
    }

    /// Closes with 1000 and returns the server's reply frame, or `None` when the connection
    /// dropped without one.
    pub async fn close_and_read_reply(mut self) -> Option<(u16, String)> {
        let frame = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
        self.socket.close(Some(frame)).await.ok()?;
        let reply = tokio::time::timeout(WAIT, async {
            while let Some(Ok(message)) = self.socket.next().await {
                if let Message::Close(frame) = message {
                    return Some(close_parts(frame));
                }
            }
            None
        });
        reply.await.ok().flatten()
    }

    /// Closes the socket normally (1000) and waits briefly for the server's answer.
    pub async fn close(mut self) {
        let frame = CloseFrame { code: CloseCode::Normal, reason: "bye".into() };
        if self.socket.close(Some(frame)).await.is_ok() {
            // Reading drives the closing handshake to its end (the server's close frame).
            let _ = tokio::time::timeout(WAIT, async { while let Some(Ok(_)) = self.socket.next().await {} }).await;
        }
    }
}

fn close_parts(frame: Option<CloseFrame>) -> (u16, String) {
    frame.map_or((1005, String::new()), |frame| (u16::from(frame.code), frame.reason.to_string()))
}
