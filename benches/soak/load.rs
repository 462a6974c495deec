//! The mixed load: each operation on a ticker of its own at a fixed rate, open loop (a tick
//! starts its operation whether or not the previous ones have finished, so a slow server
//! shows as latency instead of hiding behind a lower rate).

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, ensure};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::task::TaskTracker;

use crate::{
    api::{self, WAIT},
    record::{Op, Recorder},
    watchers::ROOM_EVENTS,
};

/// Operations a second, by kind: together about 17 HTTP requests and 10 socket cycles a
/// second, a fraction of what two cores serve, so what grows is the server's, not a queue's.
pub const RATES: [(Op, f64); 7] = [
    (Op::Feed, 10.0),
    (Op::Post, 1.0),
    (Op::Like, 2.0),
    (Op::Comment, 1.0),
    (Op::Message, 2.0),
    // One argon2 verification each, ~12 ms of a core.
    (Op::Login, 1.0),
    (Op::Churn, 10.0),
];

/// The feed screen's page: several batched loads a request.
const FEED: &str = "query($first: Int) { posts(first: $first) { edges { cursor node { id body createdAt \
                    likeCount likedByViewer commentCount author { id username } likers(first: 5) { username } \
                    comments(first: 3) { body author { username } } } } pageInfo { hasNextPage endCursor } } }";
/// A notifications subscription; the churn's listeners have none, so nothing is replayed.
const NOTIFICATIONS: &str = "subscription { notifications { id kind } }";
/// Recent posts kept as targets for likes and comments.
const RECENT_POSTS: usize = 100;

/// A user who reads, writes and chats; `login` replaces its token with a new session's.
pub struct Actor {
    /// The address the user signs in with.
    pub email: String,
    /// The token the actor's requests and sockets use now.
    pub token: Mutex<String>,
}

impl Actor {
    /// The token to use now.
    pub fn token(&self) -> String {
        self.token.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// What every operation reads and updates.
pub struct World {
    /// The load's HTTP client (kept-alive connections).
    pub http: reqwest::Client,
    /// `http://…` of the server.
    pub base: String,
    /// `ws://…/graphql`.
    pub ws_url: String,
    /// The users who act.
    pub actors: Vec<Actor>,
    /// Tokens of users who only open `notifications` sockets in the churn.
    pub listeners: Vec<String>,
    /// The room the watchers subscribe to and messages go to.
    pub watched_room: String,
    /// The room the churn's `roomEvents` sockets join and leave.
    pub churn_room: String,
    /// Ids of the newest posts, newest last.
    pub posts: Mutex<VecDeque<String>>,
    /// By message sequence number: the minute its `sendMessage` started, once it succeeded.
    pub messages: Mutex<Vec<Option<usize>>>,
    /// Where every outcome goes.
    pub recorder: Arc<Recorder>,
    /// Churn sockets open now (the sampler shows it beside each sample).
    pub churn_open: Arc<AtomicUsize>,
}

/// A well-mixed index in `0..n` for the `seq`-th operation: deterministic, so two runs make
/// the same choices, and spread, so no user or post is picked in lockstep with another.
fn pick(seq: u64, salt: u64, n: usize) -> usize {
    ((seq ^ salt.rotate_left(17)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) as usize % n.max(1)
}

impl World {
    fn actor(&self, seq: u64, salt: u64) -> &Actor {
        &self.actors[pick(seq, salt, self.actors.len())]
    }

    fn recent_post(&self, seq: u64) -> anyhow::Result<String> {
        let posts = self.posts.lock().unwrap_or_else(PoisonError::into_inner);
        posts.get(pick(seq, 7, posts.len())).cloned().context("no post yet")
    }

    /// Successful `sendMessage` calls: their sequence numbers and minutes.
    pub fn sent_messages(&self) -> Vec<(usize, usize)> {
        let messages = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
        messages.iter().enumerate().filter_map(|(seq, minute)| Some((seq, (*minute)?))).collect()
    }

    /// Remembers a new post as a target for likes and comments.
    pub fn remember_post(&self, id: String) {
        let mut posts = self.posts.lock().unwrap_or_else(PoisonError::into_inner);
        posts.push_back(id);
        if posts.len() > RECENT_POSTS {
            posts.pop_front();
        }
    }
}

/// Runs every operation at its rate for `length`, then waits for those still running.
pub async fn run(world: Arc<World>, length: Duration) {
    let running = TaskTracker::new();
    let deadline = tokio::time::Instant::now() + length;
    let tickers: Vec<_> = RATES
        .iter()
        .map(|&(op, rate)| {
            let (world, running) = (world.clone(), running.clone());
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
                // After a stall (this process busy), carry on at the rate instead of
                // bursting to catch up: a burst would be load the mix does not describe.
                ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
                for seq in 0.. {
                    if ticks.tick().await >= deadline {
                        break;
                    }
                    let world = world.clone();
                    running.spawn(async move {
                        let started = Instant::now();
                        let outcome = tokio::time::timeout(WAIT, perform(&world, op, seq, started))
                            .await
                            .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {WAIT:?}")));
                        world.recorder.finish(op, started, outcome);
                    });
                }
            })
        })
        .collect();
    for ticker in tickers {
        let _ = ticker.await;
    }
    running.close();
    running.wait().await;
}

async fn perform(world: &World, op: Op, seq: u64, started: Instant) -> anyhow::Result<()> {
    let (http, base) = (&world.http, world.base.as_str());
    match op {
        Op::Feed => {
            let token = world.actor(seq, 1).token();
            let data = api::graphql(http, base, Some(&token), FEED, json!({ "first": 20 })).await?;
            ensure!(data["posts"]["edges"].is_array(), "no feed in {data}");
        }
        Op::Post => {
            let token = world.actor(seq, 2).token();
            let data = api::graphql(
                http,
                base,
                Some(&token),
                "mutation($b: String!) { createPost(body: $b) { id } }",
                json!({ "b": format!("soak post {seq}") }),
            )
            .await?;
            world.remember_post(data["createPost"]["id"].as_str().context("no post id")?.to_string());
        }
        Op::Like => {
            let (token, post) = (world.actor(seq, 3).token(), world.recent_post(seq)?);
            api::graphql(
                http,
                base,
                Some(&token),
                "mutation($p: ID!) { likePost(postId: $p) { id likeCount } }",
                json!({ "p": post }),
            )
            .await?;
        }
        Op::Comment => {
            let (token, post) = (world.actor(seq, 4).token(), world.recent_post(seq + 1)?);
            api::graphql(
                http,
                base,
                Some(&token),
                "mutation($p: ID!, $b: String!) { addComment(postId: $p, body: $b) { id } }",
                json!({ "p": post, "b": format!("soak comment {seq}") }),
            )
            .await?;
        }
        Op::Message => {
            let token = world.actor(seq, 5).token();
            // The body carries its sequence number and send time: each watcher checks it off
            // and times its delivery from it.
            let body = format!("soak {seq} {}", world.recorder.micros_at(started));
            api::graphql(
                http,
                base,
                Some(&token),
                "mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id } }",
                json!({ "r": world.watched_room, "b": body }),
            )
            .await?;
            let mut messages = world.messages.lock().unwrap_or_else(PoisonError::into_inner);
            let seq = seq as usize;
            if messages.len() <= seq {
                messages.resize(seq + 1, None);
            }
            messages[seq] = Some(world.recorder.minute_of(started));
        }
        Op::Login => {
            let actor = world.actor(seq, 6);
            let token = api::login(http, base, &actor.email).await?;
            *actor.token.lock().unwrap_or_else(PoisonError::into_inner) = token;
        }
        Op::Churn => churn(world, seq).await?,
        Op::Delivery => {}
    }
    Ok(())
}

/// One socket's life, in four ways in turn, so each way a socket ends is exercised:
/// 0. an actor joins the churn room (`roomEvents`, its PresenceSnapshot awaited), completes
///    the operation and closes;
/// 1. a listener subscribes to `notifications` (served: a ping after it is answered) and
///    closes with the operation running;
/// 2. an actor joins the churn room and drops the connection without a close frame;
/// 3. a listener subscribes to `notifications`, completes it and closes.
async fn churn(world: &World, seq: u64) -> anyhow::Result<()> {
    let way = seq % 4;
    let joins_room = way.is_multiple_of(2);
    let token = if joins_room {
        world.actor(seq, 8).token()
    } else {
        world.listeners[pick(seq, 9, world.listeners.len())].clone()
    };
    let mut socket = api::open_socket(&world.ws_url, &token).await?;
    world.churn_open.fetch_add(1, Ordering::Relaxed);
    let _open = OpenGuard(&world.churn_open);
    if joins_room {
        api::subscribe(&mut socket, "1", ROOM_EVENTS, json!({ "r": world.churn_room })).await?;
        api::until_text(&mut socket, "PresenceSnapshot").await?;
    } else {
        api::subscribe(&mut socket, "1", NOTIFICATIONS, json!({})).await?;
        socket.send(Message::text(json!({ "type": "ping" }).to_string())).await?;
        api::until_text(&mut socket, "pong").await?;
    }
    if way == 2 {
        drop(socket);
        return Ok(());
    }
    if way != 1 {
        socket.send(Message::text(json!({ "id": "1", "type": "complete" }).to_string())).await?;
    }
    socket.close(None).await?;
    // Done when the server has answered the close and let go of the connection.
    while let Some(Ok(_)) = socket.next().await {}
    Ok(())
}

/// Counts a churn socket as open until dropped, whichever way its cycle ends.
struct OpenGuard<'a>(&'a AtomicUsize);

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
