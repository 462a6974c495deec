//! The graphql-ws endpoint: the WebSocket upgrade on `/graphql` and the task that serves one
//! socket from connection_init to close.
//!
//! async-graphql's own WebSocket handler departs from graphql-ws where clients notice (close
//! codes, no init timeout, no server ping, no size bound, no hook at close), so this module
//! speaks the protocol itself and leaves only execution to async-graphql.
//!
//! One task per socket, and no task per operation: the task owns the socket and polls the
//! socket, its operations' streams, the keepalive tick, its session's end and its close
//! requests in one `select!`. While a send waits on a slow client nothing else is read from
//! the operations, so their broker subscriptions fill up to their bound and report `Lagged`,
//! which closes the socket as a slow consumer: memory never grows with a client's backlog.
//!
//! A panic stays inside the socket it happened in. One in an operation (a resolver, a
//! rendering) ends that operation with a graphql-ws `error` (`INTERNAL_SERVER_ERROR`) and the
//! socket goes on; one in the socket's own code closes that socket with 1011. Either way the
//! panic hook (`telemetry`) has logged it once, and every other socket is untouched: each is
//! a task of its own.

use std::{
    future::poll_fn,
    num::NonZeroU32,
    panic::AssertUnwindSafe,
    sync::{Arc, LazyLock},
    time::{Duration, Instant},
};

use async_graphql::{Data, parser::types::OperationType};
use axum::{
    extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::{FutureExt as _, SinkExt as _, StreamExt as _, stream::BoxStream};
use tokio_stream::StreamMap;

use super::{
    gate::Gate,
    protocol::{self, ClientMessage, ProtocolClose, ServerMessage},
    registry::{CloseReason, ConnectionHandle, Registration},
};
use governor::{
    DefaultDirectRateLimiter, Quota, RateLimiter,
    clock::{Clock as _, DefaultClock},
};

use crate::{
    auth::viewer,
    config::Settings,
    error::AppError,
    graphql::{
        AppSchema,
        admission::Admitted,
        context::{Client, per_request},
        document::RequestParams,
        errors::BAD_REQUEST,
        live::{self, LiveContext, Outgoing},
    },
    state::AppState,
};

/// The largest message a client may send; more closes the socket with 1009.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Read buffer per socket: small, because most sockets sit idle (tungstenite's default of
/// 128 KiB per socket is what makes 10,000 idle sockets cost a gigabyte). graphql-ws messages
/// are small; a larger one is read in several chunks. Measured: 4 KiB → 512 B saves ~3 KiB a
/// socket (`cargo bench --bench sockets`).
const READ_BUFFER_BYTES: usize = 512;
/// Unsent bytes tolerated before writes fail; a client that does not read is dropped.
const MAX_WRITE_BUFFER_BYTES: usize = 256 * 1024;
/// Messages sent for operations. Looked up once: the macro's lookup by name would run once
/// per subscriber of every event.
static MESSAGES_SENT: LazyLock<metrics::Counter> = LazyLock::new(|| metrics::counter!("ws_messages_sent_total"));
/// How long one send may wait for the client before the socket counts as dead.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Upgrades `GET /graphql` to a graphql-ws socket, after checking its `Origin`.
pub fn upgrade(
    state: AppState,
    schema: AppSchema,
    client: Client,
    headers: &HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&state.settings, headers) {
        return (StatusCode::FORBIDDEN, "This origin may not open sockets on this server.").into_response();
    }
    ws.protocols([protocol::SUBPROTOCOL])
        .read_buffer_size(READ_BUFFER_BYTES)
        // Each message is written at once: no per-socket buffer waits for more.
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            let tasks = state.tasks.clone();
            tasks.track_future(serve(Box::new(Opened { socket, state, schema, client })))
        })
}

/// `ALLOWED_ORIGINS` when set; otherwise any origin in development and the server's own in
/// production. A request without `Origin` is not from a browser page, so no page can abuse it.
fn origin_allowed(settings: &Settings, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok()) else { return true };
    let origin = origin.trim_end_matches('/');
    match &settings.allowed_origins {
        Some(allowed) => allowed.iter().any(|allowed| allowed == origin),
        None if !settings.is_production() => true,
        None => {
            let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or_default();
            origin.split_once("://").is_some_and(|(_, origin_host)| origin_host.eq_ignore_ascii_case(host))
        }
    }
}

/// How a socket ended, for logs and metrics.
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// The server closed it with this code.
    Closed(u16),
    /// The client closed it or went away.
    PeerGone,
}

/// A socket just upgraded, with what serving it needs.
struct Opened {
    socket: WebSocket,
    state: AppState,
    schema: AppSchema,
    client: Client,
}

/// One socket's life: subprotocol check, connection_init, then operations until close.
///
/// Takes its parts boxed and runs the connection boxed: an async fn keeps its arguments for
/// its whole life, so passed by value they would be held twice in every idle socket's task.
async fn serve(opened: Box<Opened>) {
    let Opened { mut socket, state, schema, client } = *opened;
    metrics::counter!("ws_connections_opened_total").increment(1);
    // Counted from the upgrade, signed in or not: one address cannot hold sockets without end.
    let slot = client.ip.map(|address| state.registry.admit_address(address));
    let ending = if matches!(slot, Some(None)) {
        metrics::counter!("ws_connections_refused_total", "reason" => "address").increment(1);
        close(&mut socket, 1008, "Too many connections from this address").await
    } else if socket.protocol().is_none_or(|protocol| protocol.as_bytes() != protocol::SUBPROTOCOL.as_bytes()) {
        close(&mut socket, protocol::SUBPROTOCOL_NOT_ACCEPTABLE.code, protocol::SUBPROTOCOL_NOT_ACCEPTABLE.reason).await
    } else {
        // The socket is borrowed, not moved, into what may panic, so it is still here to
        // carry the 1011 close afterwards.
        match AssertUnwindSafe(Box::pin(initialise(&mut socket, &state))).catch_unwind().await {
            Ok(Ok(accepted)) => {
                let mut connection = Box::new(Connection::new(socket, state, schema, client, accepted));
                let ending = match AssertUnwindSafe(connection.run()).catch_unwind().await {
                    Ok(ending) => ending,
                    Err(_panic) => protocol_close(&mut connection.socket, protocol::INTERNAL_ERROR).await,
                };
                connection.end_operations();
                ending
            }
            Ok(Err(ending)) => ending,
            Err(_panic) => protocol_close(&mut socket, protocol::INTERNAL_ERROR).await,
        }
    };
    tracing::debug!(?ending, "socket closed");
    let code = match ending {
        Ending::Closed(code) => code.to_string(),
        Ending::PeerGone => "peer".to_string(),
    };
    metrics::counter!("ws_connections_closed_total", "code" => code).increment(1);
}

/// `operation`, ended by an `error` (`INTERNAL_SERVER_ERROR`) if polling it panics.
///
/// The operation's state is dropped with it after the panic. What it shares with others
/// stays usable: every std mutex of the server recovers from poisoning
/// (`PoisonError::into_inner`), and its broker listener unsubscribes on drop.
fn guarded(operation: OperationStream) -> OperationStream {
    AssertUnwindSafe(operation)
        .catch_unwind()
        .map(|polled| polled.unwrap_or_else(|_panic| Outgoing::Error(protocol::internal_errors())))
        .boxed()
}

/// Sends a close frame (best effort: the peer may be gone) and reports the ending.
async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) -> Ending {
    close_with(socket, code, reason.to_string()).await;
    Ending::Closed(code)
}

async fn close_with(socket: &mut WebSocket, code: u16, reason: String) {
    let frame = CloseFrame { code, reason: protocol::close_reason(&reason).into() };
    let _ = send(socket, Message::Close(Some(frame))).await;
}

/// Completes a close the client started. tungstenite queues the reply frame (echoing the
/// client's code) when it reads the client's; this writes it out. Without it the client sees
/// the TCP connection drop (1006) instead of a clean close, and graphql-ws reports an error.
async fn answer_close(socket: &mut WebSocket) -> Ending {
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.flush()).await;
    Ending::PeerGone
}

async fn protocol_close(socket: &mut WebSocket, close_code: ProtocolClose) -> Ending {
    close(socket, close_code.code, close_code.reason).await
}

/// Sends one text message, failing when the client does not take it in time.
async fn send_text(socket: &mut WebSocket, text: String) -> Result<(), ()> {
    send(socket, Message::Text(text.into())).await
}

/// Sends one message, failing when the client does not take it within [`SEND_TIMEOUT`].
///
/// Nearly every send completes at once (the kernel takes the bytes); only one that has to
/// wait arms the timer, so a delivery to thousands of sockets sets no thousands of timers.
async fn send(socket: &mut WebSocket, message: Message) -> Result<(), ()> {
    let sending = socket.send(message);
    tokio::pin!(sending);
    if let Some(sent) = (&mut sending).now_or_never() {
        return sent.map_err(drop);
    }
    // Boxed: this rare wait should not grow every socket's task by a timer.
    let deadline = Box::pin(tokio::time::sleep(SEND_TIMEOUT));
    tokio::select! {
        sent = sending => sent.map_err(drop),
        () = deadline => Err(()),
    }
}

/// What connection_init established.
struct Accepted {
    registration: Registration,
    viewer: crate::graphql::context::Viewer,
    session_ends_at: chrono::DateTime<chrono::Utc>,
}

/// Waits for connection_init (answering pings), checks its token, registers the socket and
/// acknowledges it. Every refusal closes the socket with the protocol's code.
async fn initialise(socket: &mut WebSocket, state: &AppState) -> Result<Accepted, Ending> {
    let deadline = tokio::time::Instant::now() + state.settings.connection_init_timeout;
    loop {
        let frame = tokio::select! {
            () = state.shutdown.cancelled() => {
                return Err(close(socket, CloseReason::SHUTDOWN.code, CloseReason::SHUTDOWN.reason).await);
            }
            () = tokio::time::sleep_until(deadline) => return Err(protocol_close(socket, protocol::INIT_TIMEOUT).await),
            frame = socket.recv() => frame,
        };
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => {
                close_with(socket, protocol::BAD_MESSAGE, "Binary messages are not supported".into()).await;
                return Err(Ending::Closed(protocol::BAD_MESSAGE));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Err(error)) if is_too_big(&error) => return Err(protocol_close(socket, protocol::TOO_BIG).await),
            Some(Ok(Message::Close(_))) => return Err(answer_close(socket).await),
            Some(Err(_)) | None => return Err(Ending::PeerGone),
        };
        match ClientMessage::parse(&text) {
            Err(reason) => {
                close_with(socket, protocol::BAD_MESSAGE, reason).await;
                return Err(Ending::Closed(protocol::BAD_MESSAGE));
            }
            Ok(ClientMessage::Ping { payload }) => {
                if send_text(socket, ServerMessage::Pong { payload }.to_text()).await.is_err() {
                    return Err(Ending::PeerGone);
                }
            }
            Ok(ClientMessage::Pong { .. } | ClientMessage::Complete { .. }) => {}
            Ok(ClientMessage::Subscribe { .. }) => return Err(protocol_close(socket, protocol::UNAUTHORIZED).await),
            Ok(ClientMessage::ConnectionInit { payload }) => {
                let token = protocol::init_token(payload.as_ref()).and_then(viewer::bearer_token);
                let (viewer, session_ends_at) = match viewer::resolve_session(state, token).await {
                    Ok(Some(session)) => session,
                    Ok(None) => return Err(protocol_close(socket, protocol::FORBIDDEN).await),
                    // The database (or Redis) is away: the token may be fine, so the client
                    // is told to come back rather than that it is refused.
                    Err(AppError::ServiceUnavailable(cause)) => {
                        tracing::warn!(error = ?cause, "connection_init: the session cannot be checked now");
                        return Err(protocol_close(socket, protocol::TRY_AGAIN_LATER).await);
                    }
                    Err(error) => {
                        tracing::error!(code = error.code(), "connection_init: checking the session failed");
                        return Err(protocol_close(socket, protocol::INTERNAL_ERROR).await);
                    }
                };
                let Some(registration) = state.registry.register(viewer.user_id, viewer.session_id) else {
                    let too_many = CloseReason::TOO_MANY;
                    return Err(close(socket, too_many.code, too_many.reason).await);
                };
                // Registered after the shutdown closed every registered socket: close too.
                if state.shutdown.is_cancelled() {
                    let shutdown = CloseReason::SHUTDOWN;
                    return Err(close(socket, shutdown.code, shutdown.reason).await);
                }
                if send_text(socket, ServerMessage::ConnectionAck.to_text()).await.is_err() {
                    return Err(Ending::PeerGone);
                }
                return Ok(Accepted { registration, viewer, session_ends_at });
            }
        }
    }
}

/// tungstenite's answer to a message over `max_message_size` or `max_frame_size`.
fn is_too_big(error: &axum::Error) -> bool {
    let text = error.to_string();
    text.contains("Space limit exceeded") || text.contains("too long") || text.contains("Message too big")
}

/// What woke a socket's task.
enum Turn {
    /// A close was asked for (shutdown, revocation, idle expiry, slow consumer).
    Close(CloseReason),
    /// The instance's keepalive tick.
    Ping,
    /// The client sent a frame (or went away).
    Frame(Option<Result<Message, axum::Error>>),
    /// An operation has a message to send.
    Outgoing(String, Outgoing),
}

/// An operation's outgoing messages.
type OperationStream = BoxStream<'static, Outgoing>;

/// An accepted socket and its running operations.
struct Connection {
    socket: WebSocket,
    state: AppState,
    registration: Registration,
    /// What every operation of the socket runs with: schema, viewer, socket handle, client.
    live: Arc<LiveContext>,
    session_ends_at: tokio::time::Instant,
    operations: StreamMap<String, OperationStream>,
    /// Lets the keepalive tick's poll through only when it fired: polling a wait on the
    /// instance-wide tick takes a lock every socket shares.
    ticking: Gate,
    /// Lets the socket's read through only when it woke.
    reading: Gate,
    /// Lets the operations' poll through only when one of them woke.
    sending: Gate,
    /// When the client last sent any frame, pongs included.
    last_heard: Instant,
    /// `subscribe` messages allowed (`MAX_SUBSCRIBES_PER_SECOND`); made at the first one, so
    /// a socket that never subscribes holds none.
    subscribes: Option<Box<DefaultDirectRateLimiter>>,
}

impl Connection {
    fn new(socket: WebSocket, state: AppState, schema: AppSchema, client: Client, accepted: Accepted) -> Self {
        let mut session_data = Data::default();
        session_data.insert(accepted.viewer);
        session_data.insert(accepted.registration.handle().clone());
        session_data.insert(client);
        let remaining = (accepted.session_ends_at - crate::db::now()).to_std().unwrap_or(Duration::ZERO);
        let live = Arc::new(LiveContext {
            schema,
            session_data: Arc::new(session_data),
            db: state.db.clone(),
            viewer: accepted.viewer,
            limits: state.settings.query_limits.clone(),
        });
        Self {
            socket,
            state,
            registration: accepted.registration,
            live,
            session_ends_at: tokio::time::Instant::now() + remaining,
            operations: StreamMap::new(),
            ticking: Gate::new(),
            reading: Gate::new(),
            sending: Gate::new(),
            last_heard: Instant::now(),
            subscribes: None,
        }
    }

    /// Counts one `subscribe`; the seconds to wait when the socket is over its rate.
    fn over_subscribe_rate(&mut self) -> Option<u64> {
        let per_second = self.state.settings.max_subscribes_per_second;
        let limiter = self.subscribes.get_or_insert_with(|| {
            let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
            let burst = NonZeroU32::new(per_second.saturating_mul(5)).unwrap_or(rate);
            Box::new(RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)))
        });
        limiter.check().err().map(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    fn handle(&self) -> &Arc<ConnectionHandle> {
        self.registration.handle()
    }

    /// Counts the operations still running as ended: the socket is gone.
    fn end_operations(&self) {
        for _ in self.operations.keys() {
            self.handle().operation_ended();
        }
    }

    async fn run(&mut self) -> Ending {
        let interval = self.state.settings.keepalive_interval;
        // The waits that last the socket's life are made once, not on every turn of the loop:
        // each wake of an idle socket then costs a poll, not a new registration with a lock.
        // Pings follow the instance's shared keepalive tick (one timer for every socket, see
        // `expiry`), the session's end has a timer of its own that fires once, and the socket
        // and the operations are polled only when they woke (see `gate`).
        let handle = self.handle().clone();
        let close_wanted = handle.close_wanted();
        tokio::pin!(close_wanted);
        let ticks = self.state.keepalive.clone();
        let tick = ticks.clone().notified_owned();
        tokio::pin!(tick);
        let session_end = tokio::time::sleep_until(self.session_ends_at);
        tokio::pin!(session_end);
        // Shutdown reaches the socket as a close request (the registry closes every socket),
        // so no wait on the application-wide token is polled on each wake.
        loop {
            let turn = tokio::select! {
                biased;
                reason = &mut close_wanted => Turn::Close(reason),
                () = &mut session_end => Turn::Close(CloseReason::EXPIRED),
                () = poll_fn(|cx| self.ticking.poll(cx, |cx| tick.as_mut().poll(cx))) => Turn::Ping,
                frame = poll_fn(|cx| self.reading.poll(cx, |cx| self.socket.poll_next_unpin(cx))) => Turn::Frame(frame),
                Some((id, outgoing)) = poll_fn(|cx| self.sending.poll(cx, |cx| self.operations.poll_next_unpin(cx))),
                    if !self.operations.is_empty() => Turn::Outgoing(id, outgoing),
            };
            let ended = match turn {
                // The common turns, a delivery and a pong, run in place; the others are rare
                // and large, so they run boxed and an idle socket's task stays small.
                Turn::Outgoing(id, outgoing) => self.on_outgoing(&id, outgoing).await.err(),
                Turn::Frame(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {
                    self.last_heard = Instant::now();
                    None
                }
                Turn::Frame(frame) => Box::pin(self.on_frame(frame)).await,
                Turn::Close(reason) => Some(Box::pin(self.close(reason)).await),
                Turn::Ping => {
                    tick.set(ticks.clone().notified_owned());
                    self.ticking.open();
                    Box::pin(self.keepalive(interval)).await
                }
            };
            if let Some(ending) = ended {
                break ending;
            }
        }
    }

    /// Pings the client, or drops it when it answered nothing for two intervals.
    async fn keepalive(&mut self, interval: Duration) -> Option<Ending> {
        if self.last_heard.elapsed() > interval * 2 {
            return Some(protocol_close(&mut self.socket, protocol::KEEPALIVE_TIMEOUT).await);
        }
        send(&mut self.socket, Message::Ping(Default::default())).await.err().map(|()| Ending::PeerGone)
    }

    async fn close(&mut self, reason: CloseReason) -> Ending {
        let counter = match reason {
            CloseReason::IDLE => Some("ws_idle_expired_total"),
            CloseReason::REVOKED | CloseReason::EXPIRED => Some("ws_revoked_closed_total"),
            CloseReason::SLOW_CONSUMER => Some("ws_slow_consumers_total"),
            _ => None,
        };
        if let Some(counter) = counter {
            metrics::counter!(counter).increment(1);
        }
        close(&mut self.socket, reason.code, reason.reason).await
    }

    /// Handles one received frame; `Some` ends the connection.
    async fn on_frame(&mut self, frame: Option<Result<Message, axum::Error>>) -> Option<Ending> {
        self.last_heard = Instant::now();
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => return None,
            Some(Ok(Message::Binary(_))) => {
                close_with(&mut self.socket, protocol::BAD_MESSAGE, "Binary messages are not supported".into()).await;
                return Some(Ending::Closed(protocol::BAD_MESSAGE));
            }
            Some(Err(error)) if is_too_big(&error) => {
                return Some(protocol_close(&mut self.socket, protocol::TOO_BIG).await);
            }
            Some(Ok(Message::Close(_))) => return Some(answer_close(&mut self.socket).await),
            Some(Err(_)) | None => return Some(Ending::PeerGone),
        };
        let message = match ClientMessage::parse(&text) {
            Ok(message) => message,
            Err(reason) => {
                close_with(&mut self.socket, protocol::BAD_MESSAGE, reason).await;
                return Some(Ending::Closed(protocol::BAD_MESSAGE));
            }
        };
        if !message.is_keepalive() {
            self.handle().touch();
        }
        match message {
            ClientMessage::ConnectionInit { .. } => {
                Some(protocol_close(&mut self.socket, protocol::TOO_MANY_INITS).await)
            }
            ClientMessage::Ping { payload } => send_text(&mut self.socket, ServerMessage::Pong { payload }.to_text())
                .await
                .err()
                .map(|()| Ending::PeerGone),
            ClientMessage::Pong { .. } => None,
            ClientMessage::Complete { id } => {
                if self.operations.remove(&id).is_some() {
                    self.handle().operation_ended();
                }
                None
            }
            ClientMessage::Subscribe { id, payload } => {
                if self.operations.contains_key(&id) {
                    let reason = format!("Subscriber for {id} already exists");
                    close_with(&mut self.socket, protocol::SUBSCRIBER_EXISTS, reason).await;
                    return Some(Ending::Closed(protocol::SUBSCRIBER_EXISTS));
                }
                if let Some(retry_after) = self.over_subscribe_rate() {
                    let message = format!(
                        "This connection starts operations faster than MAX_SUBSCRIBES_PER_SECOND allows. \
                         Try again in {retry_after} s."
                    );
                    let extensions = serde_json::json!({ "code": "RATE_LIMITED", "retryAfterSeconds": retry_after });
                    return self.refuse_operation(&id, "rate", message, extensions).await;
                }
                let bound = self.state.settings.max_operations_per_connection;
                if self.operations.len() >= bound {
                    // Each operation holds a listener and a buffer: without a bound one socket
                    // could grow the server's memory without end.
                    let message = format!(
                        "This connection already runs {bound} operations (MAX_OPERATIONS_PER_CONNECTION). \
                         Complete one before starting another."
                    );
                    return self
                        .refuse_operation(&id, "bound", message, serde_json::json!({ "code": BAD_REQUEST }))
                        .await;
                }
                let stream = self.start(payload);
                self.operations.insert(id, stream);
                self.sending.open();
                self.handle().operation_started();
                None
            }
        }
    }

    /// Answers `subscribe` `id` with one graphql-ws `error` and does not start it; the socket
    /// stays open. `reason` labels the refusal in `ws_operations_refused_total`.
    async fn refuse_operation(
        &mut self,
        id: &str,
        reason: &'static str,
        message: String,
        extensions: serde_json::Value,
    ) -> Option<Ending> {
        metrics::counter!("ws_operations_refused_total", "reason" => reason).increment(1);
        let errors = serde_json::json!([{ "message": message, "extensions": extensions }]);
        send_text(&mut self.socket, protocol::error_text(id, &errors.to_string()))
            .await
            .err()
            .map(|()| Ending::PeerGone)
    }

    /// Starts an operation; its messages arrive through `operations`, a panic while it runs
    /// caught as its last (see [`guarded`]).
    fn start(&self, payload: RequestParams) -> OperationStream {
        guarded(self.prepare(payload))
    }

    /// An operation's messages. Subscriptions run as live subscriptions (see
    /// `graphql::live`), queries and mutations with async-graphql.
    fn prepare(&self, payload: RequestParams) -> OperationStream {
        let limits = self.state.settings.query_limits.clone();
        match self.state.admission.admit(payload) {
            Err(error) => {
                // Refused before it runs: one response, sent as graphql-ws `error`.
                let refused = async_graphql::Response::from_errors(vec![error]);
                live::responses(futures_util::stream::iter([refused]), limits).boxed()
            }
            Ok(Admitted { params, operation: OperationType::Subscription, document }) => {
                let operation = self.state.live_operations.prepare(params, document);
                live::subscription(self.live.clone(), operation).boxed()
            }
            Ok(admitted) => {
                let request = per_request(admitted.into_request(), &self.state.db, Some(self.live.viewer));
                let responses =
                    self.live.schema.execute_stream_with_session_data(request, self.live.session_data.clone());
                live::responses(responses, limits).boxed()
            }
        }
    }

    /// Sends one message of operation `id`; `Err` ends the connection.
    async fn on_outgoing(&mut self, id: &str, outgoing: Outgoing) -> Result<(), Ending> {
        self.handle().touch();
        let text = match outgoing {
            Outgoing::Next(payload) => protocol::next_text(id, &payload),
            Outgoing::Error(errors) => {
                self.operations.remove(id);
                self.handle().operation_ended();
                protocol::error_text(id, &errors)
            }
            Outgoing::Complete => {
                self.operations.remove(id);
                self.handle().operation_ended();
                ServerMessage::Complete { id }.to_text()
            }
            Outgoing::SlowConsumer(missed) => {
                tracing::warn!(user_id = %self.handle().user_id, missed, "subscriber fell behind; closing its socket");
                return Err(self.close(CloseReason::SLOW_CONSUMER).await);
            }
        };
        MESSAGES_SENT.increment(1);
        send_text(&mut self.socket, text).await.map_err(|()| Ending::PeerGone)
    }
}
