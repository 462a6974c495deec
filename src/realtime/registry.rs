//! The connection registry: every subscription socket from connection_init to close, with its
//! user, login session, opening time, last activity and running operations.
//!
//! One owner, one API: `register`, `touch` (through the handle), `close_*`, counts. Entries are
//! removed only by the socket task itself when it ends (whatever the reason), through
//! [`Registration`]'s `Drop`, so cleanup runs on every way out and runs once.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    net::IpAddr,
    sync::{
        Arc, Mutex, OnceLock, PoisonError,
        atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::Notify;
use uuid::Uuid;

use super::broker::{Broker, Event, Topic};
use crate::cluster::presence::{Holding, SharedPresence};

/// Identifies one socket within this instance.
pub type ConnectionId = u64;

/// Why the server closes a socket: the close code and reason sent to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseReason {
    /// The WebSocket close code.
    pub code: u16,
    /// The reason text (at most 123 bytes).
    pub reason: &'static str,
}

impl CloseReason {
    /// 1008: idle for `SESSION_TIMEOUT_MINUTES`.
    pub const IDLE: CloseReason = CloseReason { code: 1008, reason: "Session idle timeout" };
    /// 4401: the login session was revoked.
    pub const REVOKED: CloseReason = CloseReason { code: 4401, reason: "Session revoked" };
    /// 4401: the login session expired.
    pub const EXPIRED: CloseReason = CloseReason { code: 4401, reason: "Session expired" };
    /// 1008: past `MAX_CONNECTIONS_PER_USER`.
    pub const TOO_MANY: CloseReason = CloseReason { code: 1008, reason: "Too many connections" };
    /// 1008: the outgoing queue passed its bound.
    pub const SLOW_CONSUMER: CloseReason = CloseReason { code: 1008, reason: "Slow consumer" };
    /// 1001: the server is shutting down; clients reconnect elsewhere.
    pub const SHUTDOWN: CloseReason = CloseReason { code: 1001, reason: "Server shutting down" };
}

/// What the registry shares with one socket task. Small on purpose: thousands of idle
/// sockets each hold one.
#[derive(Debug)]
pub struct ConnectionHandle {
    /// This socket's id.
    pub id: ConnectionId,
    /// The signed-in user.
    pub user_id: Uuid,
    /// The login session of the token sent in connection_init.
    pub session_id: Uuid,
    /// When connection_init was accepted.
    pub opened_at: Instant,
    /// Milliseconds since `epoch` of the last graphql-ws message other than ping/pong.
    last_activity_ms: AtomicU64,
    /// The activity time this socket is queued under in the registry's idle order (written
    /// only under the registry's lock).
    queued_activity_ms: AtomicU64,
    /// Operations running on the socket.
    operations: AtomicU32,
    /// 0 while open; otherwise the index into `CLOSE_REASONS` the socket must close with.
    close_requested: AtomicU8,
    /// Wakes the socket task when a close is requested.
    wake: Notify,
    epoch: Instant,
}

/// Every reason the registry can ask a socket to close with, indexed from 1.
const CLOSE_REASONS: [CloseReason; 6] = [
    CloseReason::IDLE,
    CloseReason::REVOKED,
    CloseReason::EXPIRED,
    CloseReason::TOO_MANY,
    CloseReason::SLOW_CONSUMER,
    CloseReason::SHUTDOWN,
];

impl ConnectionHandle {
    /// Records activity now.
    pub fn touch(&self) {
        // Relaxed: a timestamp read only by the idle sweep, which tolerates a stale value.
        self.last_activity_ms.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn last_activity_ms(&self) -> u64 {
        self.last_activity_ms.load(Ordering::Relaxed)
    }

    /// Asks the socket to close with `reason`. The first request wins; later ones are ignored,
    /// so a socket closed twice reports one reason and closes once.
    pub fn request_close(&self, reason: CloseReason) {
        let index = CLOSE_REASONS.iter().position(|known| *known == reason).map_or(1, |i| i as u8 + 1);
        if self.close_requested.compare_exchange(0, index, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            // notify_one stores a permit, so the task sees it even if it is not waiting yet.
            self.wake.notify_one();
        }
    }

    /// The close the socket was asked for, if any.
    pub fn close_requested(&self) -> Option<CloseReason> {
        match self.close_requested.load(Ordering::Acquire) {
            0 => None,
            index => CLOSE_REASONS.get(usize::from(index) - 1).copied(),
        }
    }

    /// Completes when a close is requested.
    pub async fn close_wanted(&self) -> CloseReason {
        loop {
            if let Some(reason) = self.close_requested() {
                return reason;
            }
            self.wake.notified().await;
        }
    }

    /// Operations running now.
    pub fn operations(&self) -> u32 {
        self.operations.load(Ordering::Relaxed)
    }

    /// An operation started.
    pub fn operation_started(&self) {
        self.operations.fetch_add(1, Ordering::Relaxed);
    }

    /// An operation ended.
    pub fn operation_ended(&self) {
        let _ = self.operations.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }
}

#[derive(Default)]
struct Index {
    connections: HashMap<ConnectionId, Arc<ConnectionHandle>>,
    /// Every socket by the last activity it was seen with, oldest first: the idle sweep
    /// reads only the front, the sockets that could have been idle long enough, so a sweep
    /// while nothing expires looks at almost nothing. A socket's entry may be older than its
    /// real activity; the sweep then re-queues it under the real one.
    idle_order: BTreeSet<(u64, ConnectionId)>,
    by_session: HashMap<Uuid, HashSet<ConnectionId>>,
    by_user: HashMap<Uuid, HashSet<ConnectionId>>,
}

/// Live sockets of this instance.
///
/// A std mutex over plain maps: every critical section is a few hash operations and never
/// awaits, so a lock is cheaper than a concurrent map; the idle sweep copies the handles out
/// and checks them without holding it.
pub struct Registry {
    index: Mutex<Index>,
    next_id: AtomicU64,
    epoch: Instant,
    max_per_user: usize,
    /// Sockets closed by idle expiry since this instance started.
    idle_expired: AtomicU64,
    /// Where a user's first socket (online) and last socket (offline) are announced.
    presence: Option<Broker>,
    /// With many instances: where this instance's users and sessions are recorded, and
    /// which announces online and offline across instances instead.
    shared: OnceLock<Arc<SharedPresence>>,
    /// Sockets per client address, from upgrade to close (signed in or not).
    by_address: Mutex<HashMap<IpAddr, u32>>,
    max_per_address: u32,
}

/// A socket's place in its address's count; dropping it gives the place back.
pub struct AddressSlot {
    registry: Arc<Registry>,
    address: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self.registry.by_address.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// A socket's place in the registry; dropping it removes the entry (exactly once).
pub struct Registration {
    registry: Arc<Registry>,
    handle: Arc<ConnectionHandle>,
}

impl Registration {
    /// The shared handle of this socket.
    pub fn handle(&self) -> &Arc<ConnectionHandle> {
        &self.handle
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.remove(&self.handle);
    }
}

/// Counts for `sessionStats` and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegistryCounts {
    /// Open sockets.
    pub connections: usize,
    /// Running operations.
    pub subscriptions: usize,
    /// Distinct users with a socket.
    pub users: usize,
}

impl Registry {
    /// An empty registry allowing `max_per_user` sockets per user.
    pub fn new(max_per_user: u32) -> Arc<Self> {
        Self::build(max_per_user, None)
    }

    /// A registry that announces users going online and offline on `Topic::Presence`.
    pub fn with_presence(max_per_user: u32, broker: Broker) -> Arc<Self> {
        Self::build(max_per_user, Some(broker))
    }

    fn build(max_per_user: u32, presence: Option<Broker>) -> Arc<Self> {
        Arc::new(Self {
            index: Mutex::new(Index::default()),
            next_id: AtomicU64::new(1),
            epoch: Instant::now(),
            max_per_user: max_per_user as usize,
            idle_expired: AtomicU64::new(0),
            presence,
            shared: OnceLock::new(),
            by_address: Mutex::default(),
            max_per_address: u32::MAX,
        })
    }

    /// This registry, allowing at most `max_per_address` sockets per client address.
    pub fn limit_addresses(mut self: Arc<Self>, max_per_address: u32) -> Arc<Self> {
        if let Some(registry) = Arc::get_mut(&mut self) {
            registry.max_per_address = max_per_address;
        }
        self
    }

    /// Counts a new socket from `address`; `None` when the address already holds
    /// `MAX_CONNECTIONS_PER_IP` sockets.
    pub fn admit_address(self: &Arc<Self>, address: IpAddr) -> Option<AddressSlot> {
        let mut counts = self.by_address.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(address).or_insert(0);
        if *count >= self.max_per_address {
            return None;
        }
        *count += 1;
        Some(AddressSlot { registry: self.clone(), address })
    }

    /// Sockets `address` holds now.
    pub fn sockets_from(&self, address: IpAddr) -> u32 {
        self.by_address.lock().unwrap_or_else(PoisonError::into_inner).get(&address).copied().unwrap_or(0)
    }

    /// Client addresses holding a socket now (for leak checks).
    pub fn addresses(&self) -> usize {
        self.by_address.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Records this instance's users and sessions in shared presence from now on (once).
    pub fn share(&self, shared: Arc<SharedPresence>) {
        let _ = self.shared.set(shared);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than losing the registry, so poisoning is ignored.
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a socket of `user_id` on `session_id`; `None` when the user already holds
    /// `MAX_CONNECTIONS_PER_USER` sockets.
    pub fn register(self: &Arc<Self>, user_id: Uuid, session_id: Uuid) -> Option<Registration> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let handle = Arc::new(ConnectionHandle {
            id,
            user_id,
            session_id,
            opened_at: Instant::now(),
            last_activity_ms: AtomicU64::new(0),
            queued_activity_ms: AtomicU64::new(0),
            operations: AtomicU32::new(0),
            close_requested: AtomicU8::new(0),
            wake: Notify::new(),
            epoch: self.epoch,
        });
        handle.touch();
        let first = {
            let mut index = self.lock();
            if index.by_user.get(&user_id).is_some_and(|ids| ids.len() >= self.max_per_user) {
                return None;
            }
            index.connections.insert(id, handle.clone());
            let activity = handle.last_activity_ms();
            handle.queued_activity_ms.store(activity, Ordering::Relaxed);
            index.idle_order.insert((activity, id));
            let session_sockets = index.by_session.entry(session_id).or_default();
            session_sockets.insert(id);
            let session_sockets = session_sockets.len();
            let sockets = index.by_user.entry(user_id).or_default();
            sockets.insert(id);
            let first = sockets.len() == 1;
            if let Some(shared) = self.shared.get() {
                // Under the lock, so the shared books see this instance's changes in order.
                shared.set_session(session_id, session_sockets);
                if first {
                    shared.set(Holding::Online(user_id), true);
                }
            }
            first
        };
        if first {
            self.announce(user_id, true);
        }
        Some(Registration { registry: self.clone(), handle })
    }

    fn remove(&self, handle: &ConnectionHandle) {
        let last = {
            let mut guard = self.lock();
            let index = &mut *guard;
            index.connections.remove(&handle.id);
            index.idle_order.remove(&(handle.queued_activity_ms.load(Ordering::Relaxed), handle.id));
            let mut last = false;
            for (map, key) in [(&mut index.by_session, handle.session_id), (&mut index.by_user, handle.user_id)] {
                if let Some(ids) = map.get_mut(&key) {
                    ids.remove(&handle.id);
                    if ids.is_empty() {
                        map.remove(&key);
                        last = key == handle.user_id;
                    }
                }
            }
            if let Some(shared) = self.shared.get() {
                shared.set_session(handle.session_id, index.by_session.get(&handle.session_id).map_or(0, HashSet::len));
                if last {
                    shared.set(Holding::Online(handle.user_id), false);
                }
            }
            last
        };
        if last {
            self.announce(handle.user_id, false);
        }
    }

    /// Publishes a user's change between online and offline (outside the lock).
    /// With shared presence the change was recorded under the lock, and is announced by
    /// whichever instance sees it across all of them.
    fn announce(&self, user_id: Uuid, online: bool) {
        if self.shared.get().is_some() {
            return;
        }
        if let Some(broker) = &self.presence {
            broker.publish(Topic::Presence, Event::PresenceChanged { user_id, online });
        }
    }

    /// Asks the sockets `group` picks (by session or by user) to close; returns how many.
    /// The handles are copied out first, so no close runs under the lock.
    fn close_group(&self, group: impl Fn(&Index) -> Option<&HashSet<ConnectionId>>, reason: CloseReason) -> usize {
        let handles: Vec<Arc<ConnectionHandle>> = {
            let index = self.lock();
            group(&index).into_iter().flatten().filter_map(|id| index.connections.get(id).cloned()).collect()
        };
        handles.iter().for_each(|handle| handle.request_close(reason));
        handles.len()
    }

    /// Asks every socket of `session_id` to close; returns how many.
    pub fn close_session(&self, session_id: Uuid, reason: CloseReason) -> usize {
        self.close_group(|index| index.by_session.get(&session_id), reason)
    }

    /// Asks every socket of `user_id` to close; returns how many.
    pub fn close_user(&self, user_id: Uuid, reason: CloseReason) -> usize {
        self.close_group(|index| index.by_user.get(&user_id), reason)
    }

    /// Asks one socket to close; false when it is gone already.
    pub fn close_one(&self, id: ConnectionId, reason: CloseReason) -> bool {
        let handle = self.lock().connections.get(&id).cloned();
        handle.map(|handle| handle.request_close(reason)).is_some()
    }

    /// Asks every socket to close (shutdown).
    pub fn close_all(&self, reason: CloseReason) -> usize {
        let handles = self.snapshot();
        handles.iter().for_each(|handle| handle.request_close(reason));
        handles.len()
    }

    /// The sockets without activity for `timeout`, taken out of the idle order (they are to
    /// be closed). Sockets found active since they were queued are queued again under their
    /// latest activity. The lock is held for the sockets looked at, not for every socket.
    pub fn take_idle(&self, timeout: Duration) -> Vec<Arc<ConnectionHandle>> {
        let now = self.epoch.elapsed().as_millis() as u64;
        let Some(cutoff) = now.checked_sub(timeout.as_millis() as u64) else { return Vec::new() };
        let mut guard = self.lock();
        let index = &mut *guard;
        let mut idle = Vec::new();
        while let Some(&(queued, id)) = index.idle_order.first()
            && queued <= cutoff
        {
            index.idle_order.pop_first();
            let Some(handle) = index.connections.get(&id) else { continue };
            let activity = handle.last_activity_ms();
            if activity <= cutoff {
                idle.push(handle.clone());
            } else {
                handle.queued_activity_ms.store(activity, Ordering::Relaxed);
                index.idle_order.insert((activity, id));
            }
        }
        idle
    }

    /// Every handle, copied out so callers inspect them without holding the lock.
    pub fn snapshot(&self) -> Vec<Arc<ConnectionHandle>> {
        self.lock().connections.values().cloned().collect()
    }

    /// Open sockets of `session_id`.
    pub fn session_connections(&self, session_id: Uuid) -> usize {
        self.lock().by_session.get(&session_id).map_or(0, HashSet::len)
    }

    /// Whether `user_id` holds at least one socket here.
    pub fn is_online(&self, user_id: Uuid) -> bool {
        self.lock().by_user.contains_key(&user_id)
    }

    /// Whether `user_id` holds a socket on any instance (this one when presence is not
    /// shared, or Redis does not answer).
    pub async fn online_anywhere(&self, user_id: Uuid) -> bool {
        Self::online_among(self, &[user_id]).await.contains(&user_id)
    }

    /// Which of `users` hold a socket on any instance (see [`Registry::online_anywhere`]).
    pub async fn online_among(&self, users: &[Uuid]) -> HashSet<Uuid> {
        let mut online: HashSet<Uuid> = users.iter().copied().filter(|user| self.is_online(*user)).collect();
        if let Some(shared) = self.shared.get() {
            match shared.online_among(users).await {
                Ok(elsewhere) => online.extend(elsewhere),
                Err(error) => tracing::debug!(error = %error, "online state from this instance only"),
            }
        }
        online
    }

    /// Open sockets of `session_id` on every instance.
    pub async fn session_connections_anywhere(&self, session_id: Uuid) -> usize {
        let here = self.session_connections(session_id);
        match self.shared.get() {
            Some(shared) => {
                shared.session_connections(session_id).await.map_or(here, |everywhere| everywhere.max(here))
            }
            None => here,
        }
    }

    /// Totals over every instance: sockets, operations, users, idle expiries.
    pub async fn counts_anywhere(&self) -> (RegistryCounts, u64) {
        let here = (self.counts(), self.idle_expired_total());
        let Some(shared) = self.shared.get() else { return here };
        match (shared.totals().await, shared.online_users().await) {
            (Ok(totals), Ok(users)) => (
                RegistryCounts {
                    connections: totals.connections as usize,
                    subscriptions: totals.subscriptions as usize,
                    users,
                },
                totals.idle_expired,
            ),
            (Err(error), _) | (_, Err(error)) => {
                tracing::debug!(error = %error, "session stats from this instance only");
                here
            }
        }
    }

    /// Counts one socket closed by idle expiry.
    pub fn record_idle_expired(&self) {
        self.idle_expired.fetch_add(1, Ordering::Relaxed);
    }

    /// Sockets closed by idle expiry since this instance started.
    pub fn idle_expired_total(&self) -> u64 {
        self.idle_expired.load(Ordering::Relaxed)
    }

    /// Login sessions with a socket here now (for leak checks).
    pub fn sessions(&self) -> usize {
        self.lock().by_session.len()
    }

    /// Entries in the idle sweep's order: one a socket when nothing leaks (for leak checks).
    pub fn idle_queue(&self) -> usize {
        self.lock().idle_order.len()
    }

    /// Totals.
    pub fn counts(&self) -> RegistryCounts {
        let index = self.lock();
        RegistryCounts {
            connections: index.connections.len(),
            subscriptions: index.connections.values().map(|handle| handle.operations() as usize).sum(),
            users: index.by_user.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_are_counted_and_removed_once_on_drop() {
        let registry = Registry::new(2);
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        let first = registry.register(user, session).expect("room for one");
        let second = registry.register(user, Uuid::now_v7()).expect("room for two");
        assert!(registry.register(user, session).is_none(), "a third is over the limit");
        assert_eq!(registry.counts(), RegistryCounts { connections: 2, subscriptions: 0, users: 1 });
        assert_eq!(registry.session_connections(session), 1);
        drop(first);
        drop(second);
        assert_eq!(registry.counts(), RegistryCounts::default());
        assert!(!registry.is_online(user));
    }

    #[test]
    fn the_idle_sweep_takes_only_sockets_idle_for_the_timeout_and_requeues_the_rest() {
        let registry = Registry::new(5);
        let quiet = registry.register(Uuid::now_v7(), Uuid::now_v7()).expect("room");
        let busy = registry.register(Uuid::now_v7(), Uuid::now_v7()).expect("room");
        std::thread::sleep(Duration::from_millis(40));
        busy.handle().touch();
        let idle = registry.take_idle(Duration::from_millis(20));
        assert_eq!(idle.iter().map(|handle| handle.id).collect::<Vec<_>>(), vec![quiet.handle().id]);
        assert!(registry.take_idle(Duration::from_millis(20)).is_empty(), "taken once; the busy one was re-queued");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(registry.take_idle(Duration::from_millis(20)).len(), 1, "the busy one, once it went quiet");
        drop((quiet, busy));
        assert!(registry.lock().idle_order.is_empty(), "closing leaves nothing queued");
    }

    #[test]
    fn the_first_close_request_wins() {
        let registry = Registry::new(5);
        let registration = registry.register(Uuid::now_v7(), Uuid::now_v7()).expect("room");
        let session = registration.handle().session_id;
        assert_eq!(registry.close_session(session, CloseReason::REVOKED), 1);
        registration.handle().request_close(CloseReason::IDLE);
        assert_eq!(registration.handle().close_requested(), Some(CloseReason::REVOKED));
    }
}
