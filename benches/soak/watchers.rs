//! The watched room's subscribers: sockets subscribed to its `roomEvents` for the whole run,
//! each checking off every message it receives (one bit a message) and timing its delivery.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use futures_util::{StreamExt as _, stream};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::{
    api::{self, Socket, WAIT},
    record::{Op, Recorder},
};

/// The room subscription: MessagePosted carries only the body, the rest is its type name.
pub const ROOM_EVENTS: &str =
    "subscription($r: ID!) { roomEvents(roomId: $r) { __typename ... on MessagePosted { message { body } } } }";
/// Sockets being opened at once.
const OPEN_CONCURRENCY: usize = 100;

/// What one watcher saw by the end.
#[derive(Default)]
pub struct Seen {
    /// Bit `n` set: message `n` arrived.
    bits: Vec<u64>,
    /// Messages that arrived more than once.
    pub duplicates: u64,
    /// How the socket ended, when the server or the network ended it before the run did.
    pub ended: Option<String>,
}

impl Seen {
    /// Whether message `seq` arrived.
    pub fn has(&self, seq: usize) -> bool {
        self.bits.get(seq / 64).is_some_and(|word| word & (1 << (seq % 64)) != 0)
    }

    /// Checks message `seq` off; false when it was already.
    fn mark(&mut self, seq: usize) -> bool {
        if self.bits.len() <= seq / 64 {
            self.bits.resize(seq / 64 + 1, 0);
        }
        let (word, bit) = (&mut self.bits[seq / 64], 1 << (seq % 64));
        let new = *word & bit == 0;
        *word |= bit;
        new
    }
}

/// The watchers, running until [`Watchers::stop`].
pub struct Watchers {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<Seen>>,
    /// Distinct deliveries so far, every watcher together.
    pub delivered: Arc<AtomicU64>,
}

impl Watchers {
    /// Opens `count` sockets, the `i`-th signed in with `tokens[i % tokens.len()]`, each
    /// subscribed to `room` and shown to be served (its PresenceSnapshot received).
    pub async fn open(
        ws_url: &str,
        tokens: &[String],
        count: usize,
        room: &str,
        recorder: Arc<Recorder>,
    ) -> anyhow::Result<Self> {
        let opened: Vec<anyhow::Result<Socket>> = stream::iter(0..count)
            .map(|i| async move {
                let opening = async {
                    let mut socket = api::open_socket(ws_url, &tokens[i % tokens.len()]).await?;
                    api::subscribe(&mut socket, "1", ROOM_EVENTS, json!({ "r": room })).await?;
                    api::until_text(&mut socket, "PresenceSnapshot").await?;
                    anyhow::Ok(socket)
                };
                tokio::time::timeout(WAIT, opening).await.context("a watcher was not served in time")?
            })
            .buffer_unordered(OPEN_CONCURRENCY)
            .collect()
            .await;
        let (stop, delivered) = (CancellationToken::new(), Arc::new(AtomicU64::new(0)));
        let mut tasks = Vec::with_capacity(count);
        for socket in opened {
            tasks.push(tokio::spawn(watch(socket?, stop.clone(), recorder.clone(), delivered.clone())));
        }
        Ok(Watchers { stop, tasks, delivered })
    }

    /// Closes every socket and returns what each saw.
    pub async fn stop(self) -> Vec<Seen> {
        self.stop.cancel();
        let mut seen = Vec::with_capacity(self.tasks.len());
        for task in self.tasks {
            seen.push(task.await.unwrap_or_else(|error| Seen { ended: Some(format!("{error}")), ..Seen::default() }));
        }
        seen
    }
}

/// Reads one socket until `stop`: checks off and times each MessagePosted. Reading is also
/// what makes tungstenite answer the server's pings.
async fn watch(
    mut socket: Socket,
    stop: CancellationToken,
    recorder: Arc<Recorder>,
    delivered: Arc<AtomicU64>,
) -> Seen {
    let mut seen = Seen::default();
    loop {
        tokio::select! {
            () = stop.cancelled() => {
                let _ = socket.close(None).await;
                let _ = tokio::time::timeout(WAIT, async { while let Some(Ok(_)) = socket.next().await {} }).await;
                return seen;
            }
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Some((seq, sent_micros)) = parse_body(&text) {
                        let sent = recorder.start() + Duration::from_micros(sent_micros);
                        let minute = recorder.minute_of(sent);
                        if seen.mark(seq) {
                            delivered.fetch_add(1, Ordering::Relaxed);
                            recorder.latency(Op::Delivery, minute, Instant::now().saturating_duration_since(sent));
                        } else {
                            seen.duplicates += 1;
                            recorder.error(Op::Delivery, minute, &format!("message {seq} arrived twice"));
                        }
                    } else if text.contains("\"error\"") || text.contains("\"complete\"") {
                        seen.ended = Some(format!("the server ended the subscription: {text}"));
                        return seen;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    seen.ended = Some(format!("the server closed the socket: {frame:?}"));
                    return seen;
                }
                Some(Err(error)) => {
                    seen.ended = Some(format!("the socket failed: {error}"));
                    return seen;
                }
                None => {
                    seen.ended = Some("the connection ended without a close frame".into());
                    return seen;
                }
                Some(Ok(_)) => {}
            }
        }
    }
}

/// The sequence number and send time (µs from the load's start) of a MessagePosted frame
/// whose body is `soak <seq> <micros>`; `None` for any other frame.
fn parse_body(text: &str) -> Option<(usize, u64)> {
    if !text.contains("MessagePosted") {
        return None;
    }
    let body = text.split("\"body\":\"soak ").nth(1)?.split('"').next()?;
    let (seq, micros) = body.split_once(' ')?;
    Some((seq.parse().ok()?, micros.parse().ok()?))
}
