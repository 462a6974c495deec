//! Typing indicators: `setTyping(true)` announces a member typing; it lapses by itself after
//! `TYPING_TIMEOUT_SECONDS` without renewal, and a message from that member ends it.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError, Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio_util::{sync::CancellationToken, task::TaskTracker};
use uuid::Uuid;

use super::broker::{Broker, Event, Topic};
use crate::db::users::UserRecord;

/// Members typing now, each with the generation of its latest renewal.
pub struct Typing {
    /// (room, user) → generation. A std mutex: a map operation per call, never held across
    /// an await.
    active: Mutex<HashMap<(Uuid, Uuid), u64>>,
    generations: AtomicU64,
    broker: Broker,
    /// `TYPING_TIMEOUT_SECONDS`.
    lapse: Duration,
    /// Where lapse timers run, stopped with `shutdown`.
    tasks: TaskTracker,
    shutdown: CancellationToken,
    /// Itself, for the lapse timers.
    me: Weak<Self>,
}

impl Typing {
    /// Typing indicators announced on `broker`, lapsing after `lapse`; timers run on `tasks`
    /// until `shutdown`.
    pub fn new(broker: Broker, lapse: Duration, tasks: TaskTracker, shutdown: CancellationToken) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            active: Mutex::default(),
            generations: AtomicU64::new(0),
            broker,
            lapse,
            tasks,
            shutdown,
            me: me.clone(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, Uuid), u64>> {
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Members typing in `room_id` (for leak checks and snapshots).
    pub fn typing_in(&self, room_id: Uuid) -> usize {
        self.lock().keys().filter(|(room, _)| *room == room_id).count()
    }

    /// `setTyping`: announces a change to the room, and schedules the lapse of a `true`.
    pub fn set(&self, room_id: Uuid, user: UserRecord, typing: bool) {
        let user_id = user.id;
        if !typing {
            self.stop(room_id, &user);
            return;
        }
        let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        let already_typing = self.lock().insert((room_id, user_id), generation).is_some();
        // A renewal only moves the lapse; the others already see this member typing.
        if already_typing {
            // Other instances lapse the indicator themselves, so they hear of the renewal.
            self.broker.typing_renewed(room_id, user_id);
        } else {
            self.broker.publish(Topic::Room(room_id), Event::TypingChanged { user: user.clone(), typing: true });
        }
        let (me, lapse, shutdown) = (self.me.clone(), self.lapse, self.shutdown.clone());
        self.tasks.spawn(async move {
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(lapse) => {
                    if let Some(typing) = me.upgrade() {
                        typing.lapse(room_id, user, generation);
                    }
                }
            }
        });
    }

    /// Ends the indicator if `generation` is still its latest renewal: an older timer finds
    /// a newer generation and does nothing.
    fn lapse(&self, room_id: Uuid, user: UserRecord, generation: u64) {
        let expired = {
            let mut active = self.lock();
            let current = active.get(&(room_id, user.id)) == Some(&generation);
            if current {
                active.remove(&(room_id, user.id));
            }
            current
        };
        if expired {
            self.broker.publish(Topic::Room(room_id), Event::TypingChanged { user, typing: false });
        }
    }

    /// A message from `user` ends their typing in `room_id`.
    pub fn message_sent(&self, room_id: Uuid, user: &UserRecord) {
        self.stop(room_id, user);
    }

    fn stop(&self, room_id: Uuid, user: &UserRecord) {
        if self.lock().remove(&(room_id, user.id)).is_some() {
            self.broker.publish(Topic::Room(room_id), Event::TypingChanged { user: user.clone(), typing: false });
        }
    }
}
