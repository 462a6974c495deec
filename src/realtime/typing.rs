//! Typing indicators: `setTyping(true)` announces a member typing; it lapses by itself after
//! `TYPING_TIMEOUT_SECONDS` without renewal, and a message from that member ends it.

use std::{
    collections::HashMap,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use uuid::Uuid;

use super::broker::{Event, Topic};
use crate::{db::users::UserRecord, state::AppState};

/// Members typing now, each with the generation of its latest renewal.
#[derive(Default)]
pub struct Typing {
    /// (room, user) → generation. A std mutex: a map operation per call, never held across
    /// an await.
    active: Mutex<HashMap<(Uuid, Uuid), u64>>,
    generations: AtomicU64,
}

impl Typing {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, Uuid), u64>> {
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Members typing in `room_id` (for leak checks and snapshots).
    pub fn typing_in(&self, room_id: Uuid) -> usize {
        self.lock().keys().filter(|(room, _)| *room == room_id).count()
    }
}

/// `setTyping`: announces a change to the room, and schedules the lapse of a `true`.
pub fn set_typing(state: &AppState, room_id: Uuid, user: UserRecord, typing: bool) {
    let user_id = user.id;
    if !typing {
        stop(state, room_id, &user);
        return;
    }
    let generation = state.typing.generations.fetch_add(1, Ordering::Relaxed) + 1;
    let already_typing = state.typing.lock().insert((room_id, user_id), generation).is_some();
    // A renewal only moves the lapse; the others already see this member typing.
    if already_typing {
        // Other instances lapse the indicator themselves, so they hear of the renewal.
        state.broker.typing_renewed(room_id, user_id);
    } else {
        state.broker.publish(Topic::Room(room_id), Event::TypingChanged { user: user.clone(), typing: true });
    }
    let state = state.clone();
    let lapse = state.settings.typing_timeout;
    state.tasks.clone().spawn(async move {
        tokio::select! {
            () = state.shutdown.cancelled() => {}
            () = tokio::time::sleep(lapse) => {
                // Only the latest renewal may end it: an older timer finds a newer generation.
                let expired = {
                    let mut active = state.typing.lock();
                    let current = active.get(&(room_id, user_id)) == Some(&generation);
                    if current {
                        active.remove(&(room_id, user_id));
                    }
                    current
                };
                if expired {
                    state.broker.publish(Topic::Room(room_id), Event::TypingChanged { user, typing: false });
                }
            }
        }
    });
}

/// A message from `user` ends their typing in `room_id`.
pub fn message_sent(state: &AppState, room_id: Uuid, user: &UserRecord) {
    stop(state, room_id, user);
}

fn stop(state: &AppState, room_id: Uuid, user: &UserRecord) {
    if state.typing.lock().remove(&(room_id, user.id)).is_some() {
        state.broker.publish(Topic::Room(room_id), Event::TypingChanged { user: user.clone(), typing: false });
    }
}
