//! The event broker: topics (a user's notifications, a room, presence, revocations) that
//! resolvers publish to and subscriptions listen on.
//!
//! In memory for one instance: one bounded broadcast channel per topic with listeners. Every
//! publish is non-blocking; an event is wrapped in an `Arc` once and shared by every listener,
//! never copied per subscriber. A listener that falls more than `capacity` events behind gets
//! [`Lagged`] and decides what that means (a notification stream closes its socket as a slow
//! consumer). A Redis-backed broker for many instances slots in behind the same methods.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::broadcast;
use uuid::Uuid;

use crate::db::{entities::notification, users::UserRecord};

/// Where an event is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// Something that happened. Events carry the records their subscribers show (authors,
/// members), so delivering one to thousands of subscribers reads nothing from the database.
#[derive(Debug, Clone, PartialEq)]
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
}

/// The listener fell behind by more than the channel's bound and lost events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the subscriber fell behind and missed {0} events")]
pub struct Lagged(pub u64);

/// A listener on one topic.
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<Event>>,
    /// Kept so dropping the last listener can remove the topic's channel.
    broker: Broker,
    topic: Topic,
}

impl Subscription {
    /// The next event; `Err(Lagged)` when events were lost (the stream then continues with
    /// the oldest event still held); `None` when the broker is gone.
    pub async fn recv(&mut self) -> Option<Result<Arc<Event>, Lagged>> {
        match self.receiver.recv().await {
            Ok(event) => Some(Ok(event)),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(Err(Lagged(missed))),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// Turns the subscription into a stream of events.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<Arc<Event>, Lagged>> + Send + 'static {
        futures_util::stream::unfold(self, |mut subscription| async move {
            subscription.recv().await.map(|item| (item, subscription))
        })
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.broker.forget_if_unused(self.topic);
    }
}

/// Publishes and subscribes by topic. Cheap to clone.
#[derive(Clone)]
pub struct Broker {
    inner: Arc<InMemory>,
}

struct InMemory {
    /// A std mutex: held for a map lookup or insert, never across an await.
    topics: Mutex<HashMap<Topic, broadcast::Sender<Arc<Event>>>>,
    capacity: usize,
}

impl Broker {
    /// A broker for one instance; each topic holds at most `capacity` events per listener.
    pub fn in_memory(capacity: usize) -> Self {
        Self { inner: Arc::new(InMemory { topics: Mutex::new(HashMap::new()), capacity: capacity.max(1) }) }
    }

    /// Publishes `event` to everyone listening on `topic` now; returns how many listeners.
    pub fn publish(&self, topic: Topic, event: Event) -> usize {
        let sender = self.inner.topics.lock().unwrap_or_else(PoisonError::into_inner).get(&topic).cloned();
        let delivered = sender.map_or(0, |sender| sender.send(Arc::new(event)).unwrap_or(0));
        metrics::counter!("events_published_total").increment(1);
        metrics::counter!("events_delivered_total").increment(delivered as u64);
        delivered
    }

    /// Listens on `topic` from now on.
    pub fn subscribe(&self, topic: Topic) -> Subscription {
        let receiver = {
            let mut topics = self.inner.topics.lock().unwrap_or_else(PoisonError::into_inner);
            topics.entry(topic).or_insert_with(|| broadcast::channel(self.inner.capacity).0).subscribe()
        };
        Subscription { receiver, broker: self.clone(), topic }
    }

    /// Listeners on `topic` now.
    pub fn listeners(&self, topic: Topic) -> usize {
        self.inner.topics.lock().unwrap_or_else(PoisonError::into_inner).get(&topic).map_or(0, |s| s.receiver_count())
    }

    /// Topics with a channel now (for leak checks).
    pub fn topics(&self) -> usize {
        self.inner.topics.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Removes `topic`'s channel once its last listener is gone, so topics of users who left
    /// do not pile up.
    fn forget_if_unused(&self, topic: Topic) {
        let mut topics = self.inner.topics.lock().unwrap_or_else(PoisonError::into_inner);
        // The dropping receiver still counts itself here; 1 means it was the last one.
        if topics.get(&topic).is_some_and(|sender| sender.receiver_count() <= 1) {
            topics.remove(&topic);
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

    #[tokio::test]
    async fn a_listener_that_falls_behind_is_told_how_much_it_missed() {
        let broker = Broker::in_memory(2);
        let topic = Topic::Presence;
        let mut slow = broker.subscribe(topic);
        for _ in 0..5 {
            broker.publish(topic, event());
        }
        assert_eq!(slow.recv().await, Some(Err(Lagged(3))));
    }
}
