//! The Redis relay behind the broker: passes this instance's events to the others over
//! pub/sub and delivers theirs here.
//!
//! - **Publishing** never blocks a resolver: events go to a bounded queue that one task
//!   drains, a pipeline of PUBLISHes per batch, in order. An event that cannot be passed on
//!   (the queue is full, Redis is away) is counted, and its topic is remembered: once Redis
//!   answers again a `Sync` goes out on it, and the other instances' listeners re-read from
//!   the database what they missed (PostgreSQL is the log; pub/sub only says "look").
//! - **Subscribing** is one connection of our own, on a channel only while this instance has
//!   listeners there. The loop reconnects with back-off whatever broke, resubscribes
//!   everything, and then has every local listener resync; it also probes itself when the
//!   connection has been silent, and starts afresh when the probe does not come back (the
//!   wedged-subscriber failure Centrifugo users hit after failovers).
//! - **Typing** needs no shared state: each receiving instance lapses a remote indicator
//!   itself, so a crashed sender's indicator still ends.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, PoisonError, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::StreamExt as _;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    link::{CALL_TIMEOUT, RedisLink},
    wire::{Body, Envelope, channel_kind, control_channel, node_channel, topic_channel},
};
use crate::{
    auth::session_cache::SessionCache,
    db::users::UserRecord,
    realtime::broker::{Broker, Event, Relay, Topic},
    sessions::{EndRelay, SessionEnded, SessionEvents},
};

/// Outgoing messages waiting for the publisher; past this they are dropped (and resynced).
const OUTBOX_CAPACITY: usize = 16_384;
/// PUBLISHes sent in one pipeline at most.
const BATCH: usize = 256;
/// Topics remembered as needing a `Sync`; past this every topic is synced.
const UNSYNCED_CAPACITY: usize = 10_000;
/// Silence on the subscription after which a probe is sent.
const PROBE_AFTER: Duration = Duration::from_secs(5);
/// How long a probe may take to come back before the subscription is rebuilt.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Reconnect back-off: from this, doubling…
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// …up to this (with jitter), so a returning Redis is used within seconds.
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// The relay. Shared by the broker, the session events and the tasks.
pub struct RedisRelay {
    link: RedisLink,
    broker: Broker,
    session_events: SessionEvents,
    session_cache: SessionCache,
    typing_timeout: Duration,
    outbox: mpsc::Sender<Outgoing>,
    /// Channels this instance wants to hear, and a wake-up when that changes.
    wanted: Mutex<HashSet<String>>,
    wanted_changed: Notify,
    unsynced: Mutex<Unsynced>,
    /// Remote typing indicators shown here: (room, user) → the generation of the latest
    /// renewal, and who.
    remote_typing: Mutex<HashMap<(Uuid, Uuid), (u64, UserRecord)>>,
    typing_generations: AtomicU64,
    /// Whether the subscription is up and confirmed by a probe or a message.
    subscribed: AtomicBool,
    /// Counts (re)connections of the subscription; watchers re-announce and re-check.
    reconnections: watch::Sender<u64>,
    /// Itself, for the lapse timers.
    me: Weak<Self>,
}

/// A message for the publisher, with the topic it concerns (to resync when it is lost).
pub struct Outgoing {
    channel: String,
    payload: Vec<u8>,
    topic: Option<Topic>,
}

/// Topics whose events could not be passed on.
#[derive(Default)]
struct Unsynced {
    topics: HashSet<Topic>,
    /// More than [`UNSYNCED_CAPACITY`] topics were lost: sync all of them.
    overflowed: bool,
}

impl RedisRelay {
    /// The relay; [`RedisRelay::spawn`] starts its tasks.
    pub fn new(
        link: RedisLink,
        broker: Broker,
        session_events: SessionEvents,
        session_cache: SessionCache,
        typing_timeout: Duration,
    ) -> (Arc<Self>, mpsc::Receiver<Outgoing>) {
        let (outbox, outgoing) = mpsc::channel(OUTBOX_CAPACITY);
        let mut wanted = HashSet::new();
        wanted.insert(control_channel(link.prefix()));
        wanted.insert(node_channel(link.prefix(), link.node_id()));
        let relay = Arc::new_cyclic(|me| Self {
            link,
            broker,
            session_events,
            session_cache,
            typing_timeout,
            outbox,
            wanted: Mutex::new(wanted),
            wanted_changed: Notify::new(),
            unsynced: Mutex::default(),
            remote_typing: Mutex::default(),
            typing_generations: AtomicU64::new(0),
            subscribed: AtomicBool::new(false),
            reconnections: watch::channel(0).0,
            me: me.clone(),
        });
        (relay, outgoing)
    }

    /// Starts the publisher and the subscriber; they stop with `shutdown`.
    pub fn spawn(
        self: &Arc<Self>,
        outgoing: mpsc::Receiver<Outgoing>,
        tasks: &tokio_util::task::TaskTracker,
        shutdown: CancellationToken,
    ) {
        tasks.spawn(self.clone().publish_loop(outgoing, shutdown.clone()));
        tasks.spawn(self.clone().subscribe_loop(shutdown));
    }

    /// Whether the subscription is up and known to receive.
    pub fn subscribed(&self) -> bool {
        self.subscribed.load(Ordering::Relaxed)
    }

    /// Changes each time the subscription is (re)established.
    pub fn reconnections(&self) -> watch::Receiver<u64> {
        self.reconnections.subscribe()
    }

    fn send(&self, channel: String, body: Body, topic: Option<Topic>) {
        let envelope = Envelope { origin: self.link.node_id(), body };
        let payload = match serde_json::to_vec(&envelope) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::error!(error = %error, "an event could not be encoded for Redis");
                return;
            }
        };
        if self.outbox.try_send(Outgoing { channel, payload, topic }).is_err() {
            metrics::counter!("redis_publish_failures_total", "reason" => "queue_full").increment(1);
            if let Some(topic) = topic {
                self.mark_unsynced(topic);
            }
        }
    }

    fn mark_unsynced(&self, topic: Topic) {
        let mut unsynced = self.unsynced.lock().unwrap_or_else(PoisonError::into_inner);
        if unsynced.topics.len() >= UNSYNCED_CAPACITY {
            unsynced.overflowed = true;
        } else {
            unsynced.topics.insert(topic);
        }
    }

    /// Drains the outbox in pipelines; after a success, announces the topics whose events
    /// were lost before.
    async fn publish_loop(self: Arc<Self>, mut outgoing: mpsc::Receiver<Outgoing>, shutdown: CancellationToken) {
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            tokio::select! {
                received = outgoing.recv_many(&mut batch, BATCH) => if received == 0 { return },
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = shutdown.cancelled() => return,
            }
            if !batch.is_empty() {
                let mut pipeline = redis::pipe();
                for message in &batch {
                    pipeline.publish(&message.channel, &message.payload).ignore();
                }
                if let Err(error) = self.link.pipeline::<()>(&pipeline).await {
                    tracing::debug!(error = %error, "publishing to Redis failed");
                    metrics::counter!("redis_publish_failures_total", "reason" => "redis")
                        .increment(batch.len() as u64);
                    batch.iter().filter_map(|message| message.topic).for_each(|topic| self.mark_unsynced(topic));
                    batch.clear();
                    continue;
                }
                batch.clear();
            }
            self.announce_unsynced().await;
        }
    }

    /// Sends a `Sync` on every topic whose events were lost, once Redis takes it.
    async fn announce_unsynced(&self) {
        let (topics, overflowed) = {
            let mut unsynced = self.unsynced.lock().unwrap_or_else(PoisonError::into_inner);
            if unsynced.topics.is_empty() && !unsynced.overflowed {
                return;
            }
            (std::mem::take(&mut unsynced.topics), std::mem::take(&mut unsynced.overflowed))
        };
        let mut pipeline = redis::pipe();
        let mut bodies = Vec::new();
        for topic in &topics {
            bodies.push((topic_channel(self.link.prefix(), *topic), Body::Sync(*topic)));
        }
        if overflowed {
            // Too many to name: every instance resyncs every listener.
            bodies.push((control_channel(self.link.prefix()), Body::SyncAll));
        }
        for (channel, body) in bodies {
            let envelope = Envelope { origin: self.link.node_id(), body };
            if let Ok(payload) = serde_json::to_vec(&envelope) {
                pipeline.publish(channel, payload).ignore();
            }
        }
        if self.link.pipeline::<()>(&pipeline).await.is_err() {
            let mut unsynced = self.unsynced.lock().unwrap_or_else(PoisonError::into_inner);
            unsynced.topics.extend(topics);
            unsynced.overflowed |= overflowed;
        }
    }

    /// Keeps a subscription to the wanted channels up for as long as the instance runs.
    async fn subscribe_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let mut backoff = BACKOFF_MIN;
        let mut connections = 0u64;
        loop {
            let outcome = tokio::select! {
                outcome = self.subscribe_once(&mut connections) => outcome,
                () = shutdown.cancelled() => return,
            };
            self.subscribed.store(false, Ordering::Relaxed);
            metrics::gauge!("redis_pubsub_connected").set(0.0);
            match outcome {
                Ok(()) => backoff = BACKOFF_MIN,
                Err(reason) => tracing::warn!(reason, "Redis subscription lost; reconnecting"),
            }
            // Full jitter over the back-off keeps many instances from reconnecting in step.
            let pause = backoff.mul_f64(0.5 + rand::random::<f64>() / 2.0);
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = shutdown.cancelled() => return,
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// One subscription: connect, subscribe, resync, then receive until it breaks.
    async fn subscribe_once(&self, connections: &mut u64) -> Result<(), &'static str> {
        let pubsub = tokio::time::timeout(CALL_TIMEOUT, self.link.client().get_async_pubsub())
            .await
            .map_err(|_| "connect timed out")?
            .map_err(|_| "connect failed")?;
        let (mut sink, mut stream) = pubsub.split();
        let mut subscribed: HashSet<String> = self.wanted.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let channels: Vec<&String> = subscribed.iter().collect();
        tokio::time::timeout(CALL_TIMEOUT * 2, sink.subscribe(channels))
            .await
            .map_err(|_| "subscribe timed out")?
            .map_err(|_| "subscribe failed")?;
        *connections += 1;
        if *connections > 1 {
            metrics::counter!("redis_reconnects_total").increment(1);
        }
        self.subscribed.store(true, Ordering::Relaxed);
        metrics::gauge!("redis_pubsub_connected").set(1.0);
        tracing::info!(channels = subscribed.len(), "subscribed to Redis");
        // Whatever was published while this instance was not listening is in the database:
        // every local listener re-reads, presence is re-announced, revocations re-checked.
        self.reconnections.send_modify(|count| *count += 1);
        for topic in self.broker.listened_topics() {
            self.broker.deliver_local(topic, Event::Resync);
        }

        let mut last_heard = Instant::now();
        let mut probe_sent: Option<Instant> = None;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                message = stream.next() => {
                    let Some(message) = message else { return Err("connection closed") };
                    last_heard = Instant::now();
                    probe_sent = None;
                    self.subscribed.store(true, Ordering::Relaxed);
                    self.receive(message.get_channel_name(), message.get_payload_bytes());
                }
                () = self.wanted_changed.notified() => {
                    let wanted = self.wanted.lock().unwrap_or_else(PoisonError::into_inner).clone();
                    let added: Vec<&String> = wanted.difference(&subscribed).collect();
                    let removed: Vec<&String> = subscribed.difference(&wanted).collect();
                    if !added.is_empty() {
                        tokio::time::timeout(CALL_TIMEOUT, sink.subscribe(added)).await
                            .map_err(|_| "subscribe timed out")?.map_err(|_| "subscribe failed")?;
                    }
                    if !removed.is_empty() {
                        tokio::time::timeout(CALL_TIMEOUT, sink.unsubscribe(removed)).await
                            .map_err(|_| "unsubscribe timed out")?.map_err(|_| "unsubscribe failed")?;
                    }
                    subscribed = wanted;
                }
                _ = tick.tick() => {
                    match probe_sent {
                        Some(sent) if sent.elapsed() > PROBE_TIMEOUT => {
                            metrics::counter!("redis_probe_timeouts_total").increment(1);
                            return Err("the subscription went silent (probe not received)");
                        }
                        Some(sent) if sent.elapsed() > PROBE_AFTER => self.subscribed.store(false, Ordering::Relaxed),
                        Some(_) => {}
                        None if last_heard.elapsed() > PROBE_AFTER => {
                            probe_sent = Some(Instant::now());
                            self.probe().await;
                        }
                        None => {}
                    }
                }
            }
        }
    }

    /// Publishes a probe to this instance's own channel.
    async fn probe(&self) {
        let envelope = Envelope { origin: Uuid::nil(), body: Body::Probe };
        let Ok(payload) = serde_json::to_vec(&envelope) else { return };
        let channel = node_channel(self.link.prefix(), self.link.node_id());
        let _ = self.link.query::<i64>(redis::cmd("PUBLISH").arg(channel).arg(payload)).await;
    }

    /// Handles one message from another instance.
    fn receive(&self, channel: &str, payload: &[u8]) {
        metrics::counter!("redis_events_received_total", "kind" => channel_kind(self.link.prefix(), channel).to_string())
            .increment(1);
        let envelope: Envelope = match serde_json::from_slice(payload) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::warn!(error = %error, channel, "ignoring an unreadable message from Redis");
                return;
            }
        };
        if envelope.origin == self.link.node_id() {
            // Delivered locally when it was published.
            return;
        }
        match envelope.body {
            Body::Event(topic, Event::TypingChanged { user, typing }) => self.remote_typing(topic, user, typing),
            Body::Event(topic, event) => {
                self.broker.deliver_local(topic, event);
            }
            Body::TypingRenewed(Topic::Room(room_id), user_id) => self.renew_remote_typing(room_id, user_id),
            Body::TypingRenewed(..) => {}
            Body::SyncAll => {
                for topic in self.broker.listened_topics() {
                    self.broker.deliver_local(topic, Event::Resync);
                }
            }
            Body::Sync(topic) => {
                self.broker.deliver_local(topic, Event::Resync);
            }
            Body::SessionEnded(ended) => {
                self.session_cache.forget(ended.session_id);
                self.session_events.publish_local(ended);
            }
            Body::Probe => {}
        }
    }

    /// A typing change from another instance: shown once, and lapsed here if the sender
    /// never says it stopped.
    fn remote_typing(&self, topic: Topic, user: UserRecord, typing: bool) {
        let Topic::Room(room_id) = topic else { return };
        let key = (room_id, user.id);
        if typing {
            let generation = self.typing_generations.fetch_add(1, Ordering::Relaxed) + 1;
            let shown = self.typing_shown().insert(key, (generation, user.clone()));
            if shown.is_none() {
                self.broker.deliver_local(topic, Event::TypingChanged { user, typing: true });
            }
            self.lapse_later(key, generation);
        } else if let Some((_, user)) = self.typing_shown().remove(&key) {
            self.broker.deliver_local(topic, Event::TypingChanged { user, typing: false });
        }
    }

    /// The sender renewed an indicator: its lapse starts again.
    fn renew_remote_typing(&self, room_id: Uuid, user_id: Uuid) {
        let generation = self.typing_generations.fetch_add(1, Ordering::Relaxed) + 1;
        let renewed = match self.typing_shown().get_mut(&(room_id, user_id)) {
            Some(shown) => {
                shown.0 = generation;
                true
            }
            None => false,
        };
        if renewed {
            self.lapse_later((room_id, user_id), generation);
        }
    }

    fn typing_shown(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, Uuid), (u64, UserRecord)>> {
        self.remote_typing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ends the indicator after the typing timeout unless it was renewed or ended by then.
    fn lapse_later(&self, key: (Uuid, Uuid), generation: u64) {
        let (me, timeout) = (self.me.clone(), self.typing_timeout);
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            let Some(relay) = me.upgrade() else { return };
            let ended = {
                let mut shown = relay.typing_shown();
                match shown.get(&key) {
                    Some((current, _)) if *current == generation => shown.remove(&key),
                    _ => None,
                }
            };
            if let Some((_, user)) = ended {
                relay.broker.deliver_local(Topic::Room(key.0), Event::TypingChanged { user, typing: false });
            }
        });
    }
}

impl Relay for RedisRelay {
    fn publish(&self, topic: Topic, event: &Event) {
        if matches!(event, Event::Resync) {
            return;
        }
        self.send(topic_channel(self.link.prefix(), topic), Body::Event(topic, event.clone()), Some(topic));
    }

    fn typing_renewed(&self, room_id: Uuid, user_id: Uuid) {
        let topic = Topic::Room(room_id);
        self.send(topic_channel(self.link.prefix(), topic), Body::TypingRenewed(topic, user_id), None);
    }

    fn listen(&self, topic: Topic) {
        if self.wanted.lock().unwrap_or_else(PoisonError::into_inner).insert(topic_channel(self.link.prefix(), topic)) {
            self.wanted_changed.notify_one();
        }
    }

    fn unlisten(&self, topic: Topic) {
        if self.wanted.lock().unwrap_or_else(PoisonError::into_inner).remove(&topic_channel(self.link.prefix(), topic))
        {
            self.wanted_changed.notify_one();
        }
    }
}

impl EndRelay for RedisRelay {
    fn ended(&self, ended: &SessionEnded) {
        self.send(control_channel(self.link.prefix()), Body::SessionEnded(*ended), None);
    }
}
