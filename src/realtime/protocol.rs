//! The graphql-ws protocol (`graphql-transport-ws`): its messages and close codes.
//! <https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md>

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::graphql::document::RequestParams;

/// The only subprotocol served.
pub const SUBPROTOCOL: &str = "graphql-transport-ws";

/// A close code and reason the protocol prescribes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolClose {
    /// The WebSocket close code.
    pub code: u16,
    /// The reason text.
    pub reason: &'static str,
}

/// 4400: a message that is not valid JSON or not a known graphql-ws message.
pub const BAD_MESSAGE: u16 = 4400;
/// 4401: `subscribe` before `connection_ack`.
pub const UNAUTHORIZED: ProtocolClose = ProtocolClose { code: 4401, reason: "Unauthorized" };
/// 4403: connection_init without a valid token.
pub const FORBIDDEN: ProtocolClose = ProtocolClose { code: 4403, reason: "Forbidden" };
/// 4406: a subprotocol other than `graphql-transport-ws`.
pub const SUBPROTOCOL_NOT_ACCEPTABLE: ProtocolClose =
    ProtocolClose { code: 4406, reason: "Subprotocol not acceptable" };
/// 4408: no connection_init within `CONNECTION_INIT_TIMEOUT_SECONDS`.
pub const INIT_TIMEOUT: ProtocolClose = ProtocolClose { code: 4408, reason: "Connection initialisation timeout" };
/// 4409: `subscribe` with an id that is already running.
pub const SUBSCRIBER_EXISTS: u16 = 4409;
/// 4429: a second connection_init.
pub const TOO_MANY_INITS: ProtocolClose = ProtocolClose { code: 4429, reason: "Too many initialisation requests" };
/// 1009: a message over the size limit.
pub const TOO_BIG: ProtocolClose = ProtocolClose { code: 1009, reason: "Message too big" };
/// 1001: the peer stopped answering pings.
pub const KEEPALIVE_TIMEOUT: ProtocolClose = ProtocolClose { code: 1001, reason: "Keepalive timeout" };
/// 1013: connection_init could not be checked because the database does not answer. Unlike
/// 4403, graphql-ws clients retry it (with their back-off), and the token may well be valid.
pub const TRY_AGAIN_LATER: ProtocolClose = ProtocolClose { code: 1013, reason: "Try again later" };
/// 1011: the socket's own task failed (a panic outside any one operation). The reason says
/// nothing of the cause, which is logged.
pub const INTERNAL_ERROR: ProtocolClose = ProtocolClose { code: 1011, reason: "Internal server error" };

/// A close frame's reason may hold at most 123 bytes (RFC 6455, 5.5).
const MAX_REASON_BYTES: usize = 123;

/// Cuts `reason` to what a close frame can carry, on a character boundary.
pub fn close_reason(reason: &str) -> String {
    if reason.len() <= MAX_REASON_BYTES {
        return reason.to_string();
    }
    let mut end = MAX_REASON_BYTES;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_string()
}

/// A message from the client.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Opens the connection; carries the token.
    ConnectionInit {
        /// `{"authorization": "Bearer …"}` (also `Authorization` or `token`).
        #[serde(default)]
        payload: Option<Value>,
    },
    /// A protocol-level ping, answered with pong.
    Ping {
        /// Echoed back.
        #[serde(default)]
        payload: Option<Value>,
    },
    /// A protocol-level pong.
    Pong {
        /// Ignored.
        #[serde(default)]
        payload: Option<Value>,
    },
    /// Starts an operation.
    Subscribe {
        /// Unique among the running operations of the socket.
        id: String,
        /// The GraphQL request.
        payload: RequestParams,
    },
    /// Stops an operation.
    Complete {
        /// The operation.
        id: String,
    },
}

impl ClientMessage {
    /// Reads a text frame; the error is a short reason for a 4400 close.
    pub fn parse(text: &str) -> Result<Self, String> {
        let message: Self =
            serde_json::from_str(text).map_err(|error| close_reason(&format!("Invalid message received: {error}")))?;
        match &message {
            // Only an automatic persisted query may leave the document out (its hash names it).
            ClientMessage::Subscribe { payload, .. } if payload.query.is_empty() && !payload.has_persisted_query() => {
                Err("Invalid message received: the subscribe payload has no `query`".into())
            }
            _ => Ok(message),
        }
    }

    /// Ping and pong do not count as activity for idle expiry.
    pub fn is_keepalive(&self) -> bool {
        matches!(self, ClientMessage::Ping { .. } | ClientMessage::Pong { .. })
    }
}

/// A message to the client.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage<'a> {
    /// The connection is accepted.
    ConnectionAck,
    /// Answers a ping.
    Pong {
        /// The ping's payload, echoed.
        #[serde(skip_serializing_if = "Option::is_none")]
        payload: Option<Value>,
    },
    /// The operation ended.
    Complete {
        /// The operation.
        id: &'a str,
    },
}

impl ServerMessage<'_> {
    /// The message as a JSON text frame.
    pub fn to_text(&self) -> String {
        // Serializing these shapes cannot fail: every field is a string, a JSON value or a
        // GraphQL response, all of which serialize.
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"type":"pong"}"#.to_string())
    }
}

/// A `next` message carrying `payload`, a GraphQL response already serialized (shared by
/// every subscriber of an event, so it is framed rather than serialized again).
pub fn next_text(id: &str, payload: &str) -> String {
    // One allocation of the right size: this runs once per subscriber of every event.
    const BEFORE_PAYLOAD: &str = r#","type":"next","payload":"#;
    let mut text = String::with_capacity(id.len() + payload.len() + BEFORE_PAYLOAD.len() + 9);
    text.push_str(r#"{"id":"#);
    push_json_string(&mut text, id);
    text.push_str(BEFORE_PAYLOAD);
    text.push_str(payload);
    text.push('}');
    text
}

/// Appends `value` as a JSON string.
fn push_json_string(text: &mut String, value: &str) {
    if value.chars().all(|c| c != '"' && c != '\\' && !c.is_control()) {
        text.push('"');
        text.push_str(value);
        text.push('"');
    } else {
        // Serializing a string cannot fail.
        text.push_str(&serde_json::to_string(value).unwrap_or_default());
    }
}

/// An `error` message carrying `errors`, a JSON array of GraphQL errors.
pub fn error_text(id: &str, errors: &str) -> String {
    let id = serde_json::to_string(id).unwrap_or_else(|_| "\"\"".to_string());
    format!(r#"{{"id":{id},"type":"error","payload":{errors}}}"#)
}

/// The `errors` of an operation that failed inside the server (its task panicked): the same
/// sentence and code as every other internal error, nothing of the cause.
pub fn internal_errors() -> String {
    let error = crate::error::AppError::Internal(anyhow::anyhow!("an operation panicked"));
    serde_json::json!([{ "message": error.message(), "extensions": { "code": error.code() } }]).to_string()
}

/// The token of a connection_init payload: `authorization`, `Authorization` or `token`.
pub fn init_token(payload: Option<&Value>) -> Option<&str> {
    let payload = payload?.as_object()?;
    ["authorization", "Authorization", "token"].iter().find_map(|key| payload.get(*key)?.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_parse_and_bad_ones_give_a_short_reason() {
        assert!(matches!(
            ClientMessage::parse(r#"{"type":"connection_init"}"#),
            Ok(ClientMessage::ConnectionInit { .. })
        ));
        assert!(matches!(
            ClientMessage::parse(r#"{"type":"subscribe","id":"1","payload":{"query":"{ me { id } }"}}"#),
            Ok(ClientMessage::Subscribe { .. })
        ));
        for (text, reason) in [
            ("not json", "not JSON"),
            (r#"{"type":"unknown"}"#, "an unknown type"),
            (r#"{"type":"subscribe","id":"1"}"#, "a subscribe without payload"),
            (r#"{"id":"1"}"#, "no type"),
        ] {
            let error = ClientMessage::parse(text).expect_err(reason);
            assert!(error.len() <= 123, "{reason}: fits a close frame");
        }
        let long = format!(r#"{{"type":"{}"}}"#, "é".repeat(300));
        assert!(ClientMessage::parse(&long).expect_err("unknown").len() <= 123);
    }

    #[test]
    fn next_messages_frame_a_serialized_payload_and_escape_the_id() {
        for id in ["1", "a\"b", "line\nbreak", "back\\slash", "ü"] {
            let text = next_text(id, r#"{"data":{"x":1}}"#);
            let message: Value = serde_json::from_str(&text).expect("valid JSON");
            assert_eq!(message, serde_json::json!({ "id": id, "type": "next", "payload": { "data": { "x": 1 } } }));
        }
    }

    #[test]
    fn the_token_is_read_under_any_of_its_three_names() {
        for key in ["authorization", "Authorization", "token"] {
            let payload = serde_json::json!({ key: "Bearer abc" });
            assert_eq!(init_token(Some(&payload)), Some("Bearer abc"), "{key}");
        }
        assert_eq!(init_token(None), None);
        assert_eq!(init_token(Some(&serde_json::json!({ "other": 1 }))), None);
    }
}
