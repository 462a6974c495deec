//! Room presence: who holds a live `roomEvents` subscription to which room. A user joins a
//! room with their first subscription to it and leaves with their last, so a second tab is
//! not a second join; joins and leaves are published to the room's topic.
//!
//! With many instances this instance's first and last subscription of a user are recorded
//! in shared presence instead, which publishes a join or leave only when it is the user's
//! first or last across all instances.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock, PoisonError},
};

use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::broker::{Broker, Event, Topic};
use crate::{
    cluster::presence::{Holding, SharedPresence},
    db::{self, users::UserRecord},
};

/// A member of a room: their live subscriptions to it, and their record for snapshots.
struct Member {
    subscriptions: u32,
    user: UserRecord,
}

/// Live room subscriptions of this instance, counted per room and user.
pub struct RoomPresence {
    /// room → user → member. A std mutex: held for a few map operations, never across an await.
    rooms: Mutex<HashMap<Uuid, HashMap<Uuid, Member>>>,
    broker: Broker,
    /// With many instances: where joins and leaves are recorded instead.
    shared: OnceLock<Arc<SharedPresence>>,
}

/// One live subscription's membership; dropping it (the stream ended for any reason) leaves.
pub struct RoomMembership {
    presence: Arc<RoomPresence>,
    room_id: Uuid,
    user_id: Uuid,
}

impl Drop for RoomMembership {
    fn drop(&mut self) {
        self.presence.leave(self.room_id, self.user_id);
    }
}

impl RoomPresence {
    /// Empty presence publishing through `broker`.
    pub fn new(broker: Broker) -> Arc<Self> {
        Arc::new(Self { rooms: Mutex::new(HashMap::new()), broker, shared: OnceLock::new() })
    }

    /// Records joins and leaves in shared presence from now on (once).
    pub fn share(&self, shared: Arc<SharedPresence>) {
        let _ = self.shared.set(shared);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, HashMap<Uuid, Member>>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a new subscription of `user` to `room_id`; the user's first one publishes
    /// MemberJoined.
    pub fn join(self: &Arc<Self>, room_id: Uuid, user: UserRecord) -> RoomMembership {
        let user_id = user.id;
        let joined = {
            let mut rooms = self.lock();
            let members = rooms.entry(room_id).or_default();
            let member = members.entry(user_id).or_insert_with(|| Member { subscriptions: 0, user: user.clone() });
            member.subscriptions += 1;
            let first = member.subscriptions == 1;
            if let Some(shared) = self.shared.get() {
                // Under the lock, so shared presence sees this instance's changes in order.
                if first {
                    shared.set(Holding::Room(room_id, user_id), true);
                }
                None
            } else {
                first.then_some(members.len())
            }
        };
        if let Some(online_count) = joined {
            self.broker.publish(Topic::Room(room_id), Event::MemberJoined { user, online_count });
        }
        RoomMembership { presence: self.clone(), room_id, user_id }
    }

    fn leave(&self, room_id: Uuid, user_id: Uuid) {
        let left = {
            let mut rooms = self.lock();
            let Some(members) = rooms.get_mut(&room_id) else { return };
            let gone = match members.get_mut(&user_id) {
                Some(member) if member.subscriptions > 1 => {
                    member.subscriptions -= 1;
                    None
                }
                Some(_) => members.remove(&user_id),
                None => None,
            };
            let online_count = members.len();
            if members.is_empty() {
                rooms.remove(&room_id);
            }
            if let Some(shared) = self.shared.get() {
                if gone.is_some() {
                    shared.set(Holding::Room(room_id, user_id), false);
                }
                return;
            }
            gone.map(|member| (member.user, online_count))
        };
        if let Some((user, online_count)) = left {
            self.broker.publish(Topic::Room(room_id), Event::MemberLeft { user, online_count });
        }
    }

    /// Users with a live subscription to `room_id` on any instance, by username. This
    /// instance's own members count even when Redis does not answer.
    pub async fn online_users(&self, conn: &impl ConnectionTrait, room_id: Uuid) -> Result<Vec<UserRecord>, DbErr> {
        let Some(shared) = self.shared.get() else { return Ok(self.local_users(room_id)) };
        let mut ids: Vec<Uuid> =
            self.lock().get(&room_id).map(|members| members.keys().copied().collect()).unwrap_or_default();
        match shared.room_members(room_id).await {
            Ok(elsewhere) => ids.extend(elsewhere),
            Err(error) => tracing::debug!(error = %error, "room members from this instance only"),
        }
        ids.sort_unstable();
        ids.dedup();
        let mut users = db::users::find_by_ids(conn, &ids).await?;
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    /// How many distinct users have a live subscription to `room_id` on any instance.
    pub async fn online_count_anywhere(&self, room_id: Uuid) -> usize {
        let here = self.online_count(room_id);
        match self.shared.get() {
            Some(shared) => shared.room_count(room_id).await.map_or(here, |everywhere| everywhere.max(here)),
            None => here,
        }
    }

    /// This instance's members of `room_id`, by username.
    fn local_users(&self, room_id: Uuid) -> Vec<UserRecord> {
        let mut users: Vec<UserRecord> = self
            .lock()
            .get(&room_id)
            .map(|members| members.values().map(|member| member.user.clone()).collect())
            .unwrap_or_default();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        users
    }

    /// How many distinct users have a live subscription to `room_id`.
    pub fn online_count(&self, room_id: Uuid) -> usize {
        self.lock().get(&room_id).map_or(0, HashMap::len)
    }

    /// Rooms with at least one member (for leak checks).
    pub fn rooms(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> UserRecord {
        UserRecord {
            id: Uuid::now_v7(),
            email: format!("{name}@example.com"),
            username: name.into(),
            display_name: name.into(),
            email_verified_at: None,
            role: "USER".into(),
            created_at: chrono::Utc::now(),
        }
    }

    #[tokio::test]
    async fn a_second_tab_is_not_a_second_join_and_the_last_one_leaves() {
        let broker = Broker::in_memory(16);
        let presence = RoomPresence::new(broker.clone());
        let (room, ann, bob) = (Uuid::now_v7(), user("ann"), user("bob"));
        let mut events = broker.subscribe(Topic::Room(room));
        let first_tab = presence.join(room, ann.clone());
        let second_tab = presence.join(room, ann.clone());
        let bobs = presence.join(room, bob.clone());
        assert_eq!(presence.online_count(room), 2);
        assert_eq!(presence.local_users(room), vec![ann.clone(), bob.clone()]);
        drop(first_tab);
        drop(bobs);
        drop(second_tab);
        let mut seen = Vec::new();
        while let Ok(Some(Ok(event))) = tokio::time::timeout(std::time::Duration::from_millis(10), events.recv()).await
        {
            seen.push(event.event.clone());
        }
        assert_eq!(
            seen,
            vec![
                Event::MemberJoined { user: ann.clone(), online_count: 1 },
                Event::MemberJoined { user: bob.clone(), online_count: 2 },
                Event::MemberLeft { user: bob, online_count: 1 },
                Event::MemberLeft { user: ann, online_count: 0 },
            ]
        );
        assert_eq!(presence.rooms(), 0, "an empty room leaves nothing behind");
    }
}
