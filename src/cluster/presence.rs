//! Presence shared by every instance: who is online, who is in which room, how many sockets
//! each login session has, and the instances' own counts.
//!
//! Each instance counts its own sockets and subscriptions in memory (the registry, room
//! presence) and tells this module only when one of its holdings changes between none and
//! some. A reconciler task writes those changes to Redis in order, retrying until Redis
//! takes them; a holding is thus never lost while Redis is away, only late. The scripts
//! (`scripts.rs`) see the 0↔1 change of a member across all instances, and whoever sees it
//! publishes MemberJoined/MemberLeft or online/offline.
//!
//! Instances are nodes with an id minted at boot and a heartbeat every
//! [`HEARTBEAT_INTERVAL`]. Every instance reaps nodes silent for [`NODE_TIMEOUT`]: the one
//! whose script removes a dead node publishes the leaves its users caused, so a killed
//! instance's users go offline within `NODE_TIMEOUT + HEARTBEAT_INTERVAL`. A restarted
//! instance is a new node and never brings an old entry back; one that finds itself gone
//! from the node set (reaped while cut off, or Redis lost its data) announces everything
//! it holds again, and the scripts turn that into the joins that are really new.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{link::RedisLink, scripts};
use crate::{
    db,
    realtime::broker::{Broker, Event, Topic},
};

/// How often each instance says it is alive.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// An instance unheard for this long is dead, and its holdings are removed.
pub const NODE_TIMEOUT: Duration = Duration::from_secs(15);
/// Retry pause of the reconciler while Redis does not take its writes.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// Something an instance holds: a user online, or a user in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holding {
    /// The user has a socket on this instance.
    Online(Uuid),
    /// The user has a `roomEvents` subscription to the room (room, user) on this instance.
    Room(Uuid, Uuid),
}

impl Holding {
    fn group(self) -> String {
        match self {
            Holding::Online(_) => "online".into(),
            Holding::Room(room, _) => format!("room:{room}"),
        }
    }

    fn member(self) -> Uuid {
        match self {
            Holding::Online(user) | Holding::Room(_, user) => user,
        }
    }
}

/// What needs writing to Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Change {
    Holding(Holding),
    Session(Uuid),
}

#[derive(Default)]
struct Books {
    /// What this instance holds now.
    held_here: HashSet<Holding>,
    /// What Redis has from this instance, as far as it knows.
    written: HashSet<Holding>,
    /// Sockets per session here now, and as last written.
    sessions_here: HashMap<Uuid, usize>,
    sessions_written: HashMap<Uuid, usize>,
    /// Changes not written yet; `force` entries are written even if they look written.
    dirty: HashSet<Change>,
    force: bool,
}

/// The counts `sessionStats` sums over the live instances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeCounts {
    /// Open sockets.
    pub connections: u64,
    /// Running operations.
    pub subscriptions: u64,
    /// Sockets closed by idle expiry since the instance started.
    pub idle_expired: u64,
}

/// Shared presence over Redis.
pub struct SharedPresence {
    link: RedisLink,
    broker: Broker,
    db: DatabaseConnection,
    books: Mutex<Books>,
    changed: Notify,
    /// This instance's own counts, for its heartbeat.
    counts: Box<dyn Fn() -> NodeCounts + Send + Sync>,
}

impl SharedPresence {
    /// Shared presence for this instance; `counts` reads its own socket counts.
    pub fn new(
        link: RedisLink,
        broker: Broker,
        db: DatabaseConnection,
        counts: impl Fn() -> NodeCounts + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self { link, broker, db, books: Mutex::default(), changed: Notify::new(), counts: Box::new(counts) })
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// This instance now holds `holding` (or no longer does). Returns at once.
    pub fn set(&self, holding: Holding, held: bool) {
        let mut books = self.books();
        if held {
            books.held_here.insert(holding);
        } else {
            books.held_here.remove(&holding);
        }
        books.dirty.insert(Change::Holding(holding));
        drop(books);
        self.changed.notify_one();
    }

    /// `session_id` now has `sockets` sockets on this instance.
    pub fn set_session(&self, session_id: Uuid, sockets: usize) {
        let mut books = self.books();
        if sockets == 0 {
            books.sessions_here.remove(&session_id);
        } else {
            books.sessions_here.insert(session_id, sockets);
        }
        books.dirty.insert(Change::Session(session_id));
        drop(books);
        self.changed.notify_one();
    }

    /// Writes everything held here again (after a reconnect, or when this node was reaped).
    fn reannounce(&self) {
        let mut books = self.books();
        let all: Vec<Change> = books
            .held_here
            .iter()
            .chain(books.written.iter())
            .map(|holding| Change::Holding(*holding))
            .chain(books.sessions_here.keys().chain(books.sessions_written.keys()).map(|id| Change::Session(*id)))
            .collect();
        books.dirty.extend(all);
        books.force = true;
        drop(books);
        self.changed.notify_one();
    }

    /// Starts the reconciler, the heartbeat and the reaper; they stop with `shutdown`.
    pub fn spawn(
        self: &Arc<Self>,
        reconnections: watch::Receiver<u64>,
        tasks: &tokio_util::task::TaskTracker,
        shutdown: CancellationToken,
    ) {
        tasks.spawn(self.clone().reconcile_loop(shutdown.clone()));
        tasks.spawn(self.clone().heartbeat_loop(reconnections, shutdown));
    }

    async fn reconcile_loop(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = self.changed.notified() => {}
                () = shutdown.cancelled() => return,
            }
            while !self.reconcile_once().await {
                tokio::select! {
                    () = tokio::time::sleep(RETRY_PAUSE) => {}
                    () = shutdown.cancelled() => return,
                }
            }
        }
    }

    /// Writes every pending change; false when Redis failed (the rest stays pending).
    async fn reconcile_once(&self) -> bool {
        let (changes, force) = {
            let mut books = self.books();
            (std::mem::take(&mut books.dirty), std::mem::take(&mut books.force))
        };
        let mut pending = changes.into_iter().collect::<Vec<_>>();
        while let Some(change) = pending.pop() {
            if let Err(error) = self.write(change, force).await {
                tracing::debug!(error = %error, "presence not written to Redis yet");
                let mut books = self.books();
                books.dirty.insert(change);
                books.dirty.extend(pending);
                books.force |= force;
                return false;
            }
        }
        true
    }

    async fn write(&self, change: Change, force: bool) -> redis::RedisResult<()> {
        let node = self.link.node_id().to_string();
        match change {
            Change::Holding(holding) => {
                let (here, written) = {
                    let books = self.books();
                    (books.held_here.contains(&holding), books.written.contains(&holding))
                };
                if here == written && !force {
                    return Ok(());
                }
                let script = if here { &*scripts::HOLD } else { &*scripts::RELEASE };
                let args = [self.link.prefix().to_string(), holding.group(), holding.member().to_string(), node];
                let (changed, members): (i64, i64) = self.link.script(script, &args).await?;
                {
                    let mut books = self.books();
                    if here {
                        books.written.insert(holding);
                    } else {
                        books.written.remove(&holding);
                    }
                }
                if changed == 1 {
                    self.announce(holding, here, members).await;
                }
            }
            Change::Session(session) => {
                let (here, written) = {
                    let books = self.books();
                    (
                        books.sessions_here.get(&session).copied().unwrap_or(0),
                        books.sessions_written.get(&session).copied().unwrap_or(0),
                    )
                };
                if here == written && !force {
                    return Ok(());
                }
                let args = [self.link.prefix().to_string(), session.to_string(), node, here.to_string()];
                self.link.script::<i64>(&scripts::SESSION_SOCKETS, &args).await?;
                let mut books = self.books();
                if here == 0 {
                    books.sessions_written.remove(&session);
                } else {
                    books.sessions_written.insert(session, here);
                }
            }
        }
        Ok(())
    }

    /// Publishes a member's change across all instances.
    async fn announce(&self, holding: Holding, joined: bool, members: i64) {
        let online_count = usize::try_from(members).unwrap_or(0);
        match holding {
            Holding::Online(user_id) => {
                self.broker.publish(Topic::Presence, Event::PresenceChanged { user_id, online: joined });
            }
            Holding::Room(room_id, user_id) => {
                let user = match db::users::find_by_ids(&self.db, &[user_id]).await {
                    Ok(mut users) => users.pop(),
                    Err(error) => {
                        tracing::warn!(error = %error, "could not read the user of a room join or leave");
                        None
                    }
                };
                let Some(user) = user else { return };
                let event = if joined {
                    Event::MemberJoined { user, online_count }
                } else {
                    Event::MemberLeft { user, online_count }
                };
                self.broker.publish(Topic::Room(room_id), event);
            }
        }
    }

    /// Beats every [`HEARTBEAT_INTERVAL`], reaps dead nodes, and re-announces after a
    /// reconnect or when this node finds itself gone.
    async fn heartbeat_loop(self: Arc<Self>, mut reconnections: watch::Receiver<u64>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(HEARTBEAT_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                Ok(()) = reconnections.changed() => self.reannounce(),
                () = shutdown.cancelled() => return,
            }
            match self.beat().await {
                Ok(true) => self.reannounce(),
                Ok(false) => {}
                Err(error) => tracing::debug!(error = %error, "heartbeat not written"),
            }
            if let Err(error) = self.reap().await {
                tracing::debug!(error = %error, "could not reap dead instances");
            }
        }
    }

    /// Writes this node's heartbeat; true when the node was not registered.
    async fn beat(&self) -> redis::RedisResult<bool> {
        let counts = (self.counts)();
        let args = [
            self.link.prefix().to_string(),
            self.link.node_id().to_string(),
            counts.connections.to_string(),
            counts.subscriptions.to_string(),
            counts.idle_expired.to_string(),
            (NODE_TIMEOUT.as_millis() as u64).to_string(),
        ];
        Ok(self.link.script::<i64>(&scripts::HEARTBEAT, &args).await? == 1)
    }

    /// Removes nodes silent for [`NODE_TIMEOUT`] and publishes the leaves they cause.
    async fn reap(&self) -> redis::RedisResult<()> {
        let args = [self.link.prefix().to_string(), (NODE_TIMEOUT.as_millis() as u64).to_string()];
        let out: Vec<String> = self.link.script(&scripts::REAP, &args).await?;
        let reaped: u64 = out.first().and_then(|count| count.parse().ok()).unwrap_or(0);
        if reaped > 0 {
            tracing::warn!(instances = reaped, "reaped instances that stopped sending heartbeats");
            metrics::counter!("presence_nodes_reaped_total").increment(reaped);
        }
        self.announce_removed(&out[1.min(out.len())..]).await;
        Ok(())
    }

    /// Publishes the leaves listed as `group, member, members left, …`.
    async fn announce_removed(&self, changes: &[String]) {
        for change in changes.chunks_exact(3) {
            metrics::counter!("presence_entries_reaped_total").increment(1);
            let (Ok(member), Ok(members)) = (change[1].parse::<Uuid>(), change[2].parse::<i64>()) else { continue };
            let holding = match change[0].strip_prefix("room:") {
                Some(room) => match room.parse() {
                    Ok(room) => Holding::Room(room, member),
                    Err(_) => continue,
                },
                None => Holding::Online(member),
            };
            self.announce(holding, false, members).await;
        }
    }

    /// Graceful shutdown: removes this node and everything it held, publishing the leaves,
    /// before the sockets close.
    pub async fn leave(&self) {
        let args = [self.link.prefix().to_string(), self.link.node_id().to_string()];
        match self.link.script::<Vec<String>>(&scripts::LEAVE, &args).await {
            Ok(out) => self.announce_removed(&out[1.min(out.len())..]).await,
            Err(error) => tracing::warn!(error = %error, "could not remove this instance from Redis; it expires"),
        }
    }

    /// The members of a group across all instances.
    async fn members(&self, group: &str) -> redis::RedisResult<Vec<Uuid>> {
        let members: Vec<String> =
            self.link.query(redis::cmd("SMEMBERS").arg(self.link.key(format!("m:{group}")))).await?;
        Ok(members.iter().filter_map(|member| member.parse().ok()).collect())
    }

    /// Users with a `roomEvents` subscription to `room_id` on any instance.
    pub async fn room_members(&self, room_id: Uuid) -> redis::RedisResult<Vec<Uuid>> {
        self.members(&format!("room:{room_id}")).await
    }

    /// How many distinct users are in `room_id` across all instances.
    pub async fn room_count(&self, room_id: Uuid) -> redis::RedisResult<usize> {
        self.link.query(redis::cmd("SCARD").arg(self.link.key(format!("m:room:{room_id}")))).await
    }

    /// Which of `users` have a socket on any instance.
    pub async fn online_among(&self, users: &[Uuid]) -> redis::RedisResult<HashSet<Uuid>> {
        if users.is_empty() {
            return Ok(HashSet::new());
        }
        let mut command = redis::cmd("SMISMEMBER");
        command.arg(self.link.key("m:online"));
        users.iter().for_each(|user| {
            command.arg(user.to_string());
        });
        let flags: Vec<i64> = self.link.query(&command).await?;
        Ok(users.iter().zip(flags).filter(|(_, flag)| *flag == 1).map(|(user, _)| *user).collect())
    }

    /// Distinct users with a socket on any instance.
    pub async fn online_users(&self) -> redis::RedisResult<usize> {
        self.link.query(redis::cmd("SCARD").arg(self.link.key("m:online"))).await
    }

    /// Sockets of `session_id` on every instance.
    pub async fn session_connections(&self, session_id: Uuid) -> redis::RedisResult<usize> {
        let counts: Vec<i64> =
            self.link.query(redis::cmd("HVALS").arg(self.link.key(format!("sc:{session_id}")))).await?;
        Ok(counts.into_iter().map(|count| usize::try_from(count).unwrap_or(0)).sum())
    }

    /// The live instances' counts, summed.
    pub async fn totals(&self) -> redis::RedisResult<NodeCounts> {
        // This instance's latest counts first, so its own changes show at once.
        if self.beat().await? {
            self.reannounce();
        }
        let args = [self.link.prefix().to_string(), (NODE_TIMEOUT.as_millis() as u64).to_string()];
        let (connections, subscriptions, idle_expired): (u64, u64, u64) =
            self.link.script(&scripts::STATS, &args).await?;
        Ok(NodeCounts { connections, subscriptions, idle_expired })
    }
}
