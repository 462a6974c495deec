//! The event broker: topics (a user's notifications, a room, presence, revocations) that
//! resolvers publish to and subscriptions listen on.
//!
//! In memory for one instance: one bounded broadcast channel per topic with listeners. Every
//! publish is non-blocking; an event is wrapped in an `Arc` once and shared by every listener,
//! never copied per subscriber, together with a cache of what was rendered of it
//! ([`Delivery::rendering`]), so a payload thousands of subscribers share is built once. A listener that falls more than `capacity` events behind gets
//! [`Lagged`] and decides what that means (a notification stream closes its socket as a slow
//! consumer).
//!
//! With many instances a [`Relay`] (Redis, see `cluster`) is attached: every publish is also
//! handed to it, it listens on a topic only while this instance has listeners there, and
//! what it hears from other instances is delivered here through [`Broker::deliver_local`].
//! Local delivery never waits for the relay, so an instance keeps serving its own users
//! while Redis is away.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::{Arc, Mutex, OnceLock, PoisonError},
    task::{Context, Poll},
};

use futures_util::{Stream, StreamExt as _};
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, broadcast};
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};
use uuid::Uuid;

use crate::db::{
    entities::{chat_message, notification},
    users::UserRecord,
};

/// Where an event is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Topic {
    /// Events for one user (notifications).
    User(Uuid),
    /// Events of one chat room.
    Room(Uuid),
    /// Users going online and offline.
    Presence,
    /// Ended login sessions.
    Revocation,
}

/// A chat message as it was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedMessage {
    /// The message id.
    pub id: Uuid,
    /// Its room.
    pub room_id: Uuid,
    /// Its author, carried along so no subscriber looks the author up again.
    pub author: UserRecord,
    /// The trimmed body.
    pub body: String,
    /// When it was stored.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Its number in the room (see `db::chat::send_message`): subscribers detect a missed
    /// message by a jump, and a repeat by a number they already passed.
    pub seq: i64,
}

impl PostedMessage {
    /// The event of a stored `message` by `author`.
    pub fn of(message: &chat_message::Model, author: &UserRecord) -> Self {
        Self {
            id: message.id,
            room_id: message.room_id,
            author: author.clone(),
            body: message.body.clone(),
            created_at: message.created_at,
            seq: message.seq,
        }
    }
}

/// Something that happened. Events carry the records their subscribers show (authors,
/// members), so delivering one to thousands of subscribers reads nothing from the database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// A notification was stored for its recipient (topic `User(recipient)`).
    Notification(notification::Model),
    /// A message was stored in a room (topic `Room(room)`).
    MessagePosted(PostedMessage),
    /// A user's first live subscription to the room began (topic `Room(room)`).
    MemberJoined {
        /// Who joined.
        user: UserRecord,
        /// Distinct users online in the room, the joiner included.
        online_count: usize,
    },
    /// A user's last live subscription to the room ended (topic `Room(room)`).
    MemberLeft {
        /// Who left.
        user: UserRecord,
        /// Distinct users online in the room after the leave.
        online_count: usize,
    },
    /// A member started or stopped typing (topic `Room(room)`).
    TypingChanged {
        /// Who.
        user: UserRecord,
        /// Typing now.
        typing: bool,
    },
    /// A user went online (first socket) or offline (last socket closed) (topic `Presence`).
    PresenceChanged {
        /// Who.
        user_id: Uuid,
        /// Online now.
        online: bool,
    },
    /// Events of this topic may have been missed (the link to other instances was down, or
    /// an instance could not pass an event on): listeners that can, re-read what they show
    /// from the database. Only ever delivered locally.
    Resync,
}

/// A payload rendered once for every listener that asks with the same key; `None` when the
/// rendering turned out to differ per listener (each then renders its own).
pub type SharedRendering = Arc<OnceCell<Option<Arc<str>>>>;

/// An event as its listeners receive it.
#[derive(Debug)]
pub struct Delivery {
    /// What happened.
    pub event: Event,
    /// The rendering for the first key asked for: nearly every subscriber of a topic sends the
    /// same document, and this one is read without a lock by all of them.
    first_rendering: OnceLock<(u64, SharedRendering)>,
    /// Renderings for other keys (a subscription document with its variables). Few keys per
    /// event, so a vector; it lives and dies with the event.
    renderings: Mutex<Vec<(u64, SharedRendering)>>,
}

impl Delivery {
    fn new(event: Event) -> Self {
        Self { event, first_rendering: OnceLock::new(), renderings: Mutex::new(Vec::new()) }
    }

    /// The rendering of this event for `key`, shared by every listener asking with that key:
    /// the first to ask fills it, the others wait for it and reuse it.
    pub fn rendering(&self, key: u64) -> SharedRendering {
        let (first_key, first) = self.first_rendering.get_or_init(|| (key, SharedRendering::default()));
        if *first_key == key {
            return first.clone();
        }
        let mut renderings = self.renderings.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, rendering)) = renderings.iter().find(|(known, _)| *known == key) {
            return rendering.clone();
        }
        let rendering = SharedRendering::default();
        renderings.push((key, rendering.clone()));
        rendering
    }
}

/// The listener fell behind by more than the channel's bound and lost events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the subscriber fell behind and missed {0} events")]
pub struct Lagged(pub u64);

/// A listener on one topic: a stream of deliveries, `Err(Lagged)` when events were lost (it
/// then continues with the oldest event still held), ending when the broker is gone.
pub struct Subscription {
    receiver: BroadcastStream<Arc<Delivery>>,
    /// Kept so dropping the last listener can remove the topic's channel.
    broker: Broker,
    topic: Topic,
}

impl Subscription {
    /// The next delivery (see the type's docs).
    pub async fn recv(&mut self) -> Option<Result<Arc<Delivery>, Lagged>> {
        self.next().await
    }
}

impl Stream for Subscription {
    type Item = Result<Arc<Delivery>, Lagged>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver
            .poll_next_unpin(cx)
            .map(|item| item.map(|item| item.map_err(|BroadcastStreamRecvError::Lagged(missed)| Lagged(missed))))
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.broker.forget_if_unused(self.topic);
    }
}

/// Carries events between instances (implemented over Redis in `cluster`). Every method
/// returns at once: the relay queues what it must send.
pub trait Relay: Send + Sync {
    /// Passes an event published here on to the other instances.
    fn publish(&self, topic: Topic, event: &Event);
    /// `user_id` renewed their typing indicator in `room_id` (not an event locally: the
    /// indicator shows already; other instances restart their lapse timer).
    fn typing_renewed(&self, room_id: Uuid, user_id: Uuid);
    /// This instance has its first listener on `topic`: hear other instances' events there.
    fn listen(&self, topic: Topic);
    /// This instance's last listener on `topic` left.
    fn unlisten(&self, topic: Topic);
}

/// Publishes and subscribes by topic. Cheap to clone.
#[derive(Clone)]
pub struct Broker {
    inner: Arc<InMemory>,
}

struct InMemory {
    /// A std mutex: held for a map lookup or insert, never across an await.
    topics: Mutex<HashMap<Topic, broadcast::Sender<Arc<Delivery>>>>,
    capacity: usize,
    /// Set once at start-up when other instances exist.
    relay: OnceLock<Arc<dyn Relay>>,
}

impl Broker {
    /// A broker for one instance; each topic holds at most `capacity` events per listener.
    pub fn in_memory(capacity: usize) -> Self {
        Self {
            inner: Arc::new(InMemory {
                topics: Mutex::new(HashMap::new()),
                capacity: capacity.max(1),
                relay: OnceLock::new(),
            }),
        }
    }

    /// Attaches the relay to other instances, and has it listen on the topics listened on
    /// already. Later calls are ignored.
    pub fn attach(&self, relay: Arc<dyn Relay>) {
        let topics = self.inner.topics.lock().unwrap_or_else(PoisonError::into_inner);
        if self.inner.relay.set(relay.clone()).is_ok() {
            topics.keys().for_each(|topic| relay.listen(*topic));
        }
    }

    /// Publishes `event` to everyone listening on `topic` now, on this instance and (through
    /// the relay) on every other; returns how many listeners here.
    pub fn publish(&self, topic: Topic, event: Event) -> usize {
        if let Some(relay) = self.inner.relay.get() {
            relay.publish(topic, &event);
        }
        self.deliver_local(topic, event)
    }

    /// Tells other instances that `user_id` is still typing in `room_id`.
    pub fn typing_renewed(&self, room_id: Uuid, user_id: Uuid) {
        if let Some(relay) = self.inner.relay.get() {
            relay.typing_renewed(room_id, user_id);
        }
    }

    /// Delivers `event` to this instance's listeners on `topic` only (an event another
    /// instance published, or a local `Resync`); returns how many.
    pub fn deliver_local(&self, topic: Topic, event: Event) -> usize {
        let sender = self.inner.topics.lock().unwrap_or_else(PoisonError::into_inner).get(&topic).cloned();
        let delivered = sender.map_or(0, |sender| sender.send(Arc::new(Delivery::new(event))).unwrap_or(0));
        metrics::counter!("events_published_total").increment(1);
        metrics::counter!("events_delivered_total").increment(delivered as u64);
        delivered
    }

    /// Listens on `topic` from now on.
    pub fn subscribe(&self, topic: Topic) -> Subscription {
        let receiver = {
            let mut topics = self.inner.topics.lock().unwrap_or_else(PoisonError::into_inner);
            topics
                .entry(topic)
                .or_insert_with(|| {
                    if let Some(relay) = self.inner.relay.get() {
                        relay.listen(topic);
                    }
                    broadcast::channel(self.inner.capacity).0
                })
                .subscribe()
        };
        Subscription { receiver: BroadcastStream::new(receiver), broker: self.clone(), topic }
    }

    /// Listeners on `topic` now.
    pub fn listeners(&self, topic: Topic) -> usize {
        self.inner.topics.lock().unwrap_or_else(PoisonError::into_inner).get(&topic).map_or(0, |s| s.receiver_count())
    }

    /// Topics with a channel now (for leak checks).
    pub fn topics(&self) -> usize {
        self.inner.topics.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Listeners on every topic together now (for leak checks).
    pub fn listeners_total(&self) -> usize {
        self.inner.topics.lock().unwrap_or_else(PoisonError::into_inner).values().map(|s| s.receiver_count()).sum()
    }

    /// Every topic with a listener here now.
    pub fn listened_topics(&self) -> Vec<Topic> {
        self.inner.topics.lock().unwrap_or_else(PoisonError::into_inner).keys().copied().collect()
    }

    /// Removes `topic`'s channel once its last listener is gone, so topics of users who left
    /// do not pile up.
    fn forget_if_unused(&self, topic: Topic) {
        let mut topics = self.inner.topics.lock().unwrap_or_else(PoisonError::into_inner);
        // The dropping receiver still counts itself here; 1 means it was the last one.
        if topics.get(&topic).is_some_and(|sender| sender.receiver_count() <= 1) {
            topics.remove(&topic);
            if let Some(relay) = self.inner.relay.get() {
                relay.unlisten(topic);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        let now = chrono::Utc::now();
        Event::Notification(notification::Model {
            id: Uuid::now_v7(),
            recipient_id: Uuid::now_v7(),
            kind: "POST_LIKED".into(),
            actor_id: Uuid::now_v7(),
            post_id: None,
            comment_id: None,
            read_at: None,
            created_at: now,
        })
    }

    #[tokio::test]
    async fn every_listener_gets_each_event_and_topics_are_removed_with_their_last_listener() {
        let broker = Broker::in_memory(8);
        let topic = Topic::User(Uuid::now_v7());
        let mut first = broker.subscribe(topic);
        let mut second = broker.subscribe(topic);
        assert_eq!(broker.publish(topic, event()), 2);
        assert!(first.recv().await.expect("open").is_ok());
        assert!(second.recv().await.expect("open").is_ok());
        drop(first);
        assert_eq!(broker.topics(), 1);
        drop(second);
        assert_eq!(broker.topics(), 0, "no listener, no channel");
        assert_eq!(broker.publish(topic, event()), 0, "publishing to nobody is fine");
    }

    #[test]
    fn each_key_has_one_rendering_shared_by_everyone_who_asks_with_it() {
        let delivery = Delivery::new(event());
        let first = delivery.rendering(7);
        let other = delivery.rendering(8);
        assert!(Arc::ptr_eq(&first, &delivery.rendering(7)));
        assert!(Arc::ptr_eq(&other, &delivery.rendering(8)));
        assert!(!Arc::ptr_eq(&first, &other));
    }

    #[tokio::test]
    async fn a_listener_that_falls_behind_is_told_how_much_it_missed() {
        let broker = Broker::in_memory(2);
        let topic = Topic::Presence;
        let mut slow = broker.subscribe(topic);
        for _ in 0..5 {
            broker.publish(topic, event());
        }
        assert!(matches!(slow.recv().await, Some(Err(Lagged(3)))));
    }
}
