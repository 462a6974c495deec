//! The database goes away for 5 s and for 30 s under a running server (a child process) and
//! comes back, while a write load runs throughout. What must hold:
//!
//! - every request answers within the hang guard, and a request that needs the database
//!   while it is away answers `SERVICE_UNAVAILABLE` (never another code, never a hang);
//! - `/readyz` answers 503 naming the database while it is away;
//! - an open socket stays open and its `roomEvents` subscription carries on: afterwards it
//!   has every acknowledged message exactly once, in order;
//! - the mail worker and the cleanup task log their failures without spinning and carry on:
//!   mail that fell due during the outage is delivered, an expired session is removed;
//! - within 5 s of the database's return a write succeeds and `/readyz` answers 200, and
//!   from then on every write succeeds, with no restart;
//! - every write that answered success is in the database, whole; every one that answered
//!   an error left nothing half-written (`ledger`).
//!
//! On SQLite the outage is another connection holding the write lock (`database_cut`
//! explains why that is the honest equivalent). What differs there, and why:
//! - reads keep being answered (WAL lets readers past a writer's lock), so only writes fail;
//! - `/readyz` stays 200: the database does answer, and a single SQLite instance taken out
//!   of its load balancer would turn a write outage into a full one. The readiness check
//!   asks whether the database answers, not whether it is writable;
//! - a write waits up to `DB_POOL_TIMEOUT_SECONDS` for the lock (the busy timeout), after
//!   having waited up to as long for a free connection when every one is waiting on the
//!   lock, so the guard below allows twice the timeout.

use std::{ops::Range, time::Duration};

use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DatabaseConnection, EntityTrait as _, QueryFilter as _,
    QueryOrder as _,
};
use serde_json::{Value, json};
use tokio::{sync::mpsc, time::Instant};
use townsquare::db::entities::{chat_message, mail_outbox, session};
use uuid::Uuid;

use super::{
    database_cut::CuttableDatabase,
    ledger,
    load::{self, Answer, Entry, Fixture, Load},
    server_process::ServerProcess,
};
use crate::{
    smtp_sink::SmtpSink,
    ws_client::{GRAPHQL_TRANSPORT_WS, WsClient},
};

/// `DB_POOL_TIMEOUT_SECONDS` of the server under test: short, to keep the test quick.
const POOL_TIMEOUT_SECONDS: u64 = 2;

/// Longer than any request may take while the database is away: twice the pool timeout (see
/// the module doc) and a margin for a loaded machine. A hang guard, not a measurement.
const ANSWER_GUARD: Duration = Duration::from_secs(2 * POOL_TIMEOUT_SECONDS + 3);

/// The contract's bound from the database's return to everything working.
const RECOVERY: Duration = Duration::from_secs(5);

/// How long a message may take to reach a subscriber, and mail the sink, before the test
/// fails. Hang guards.
const DELIVERY: Duration = Duration::from_secs(15);

/// Time between two probes while the database is away.
const PROBE_EVERY: Duration = Duration::from_millis(250);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5_second_database_outage_fails_requests_fast_and_heals_without_a_restart() {
    outage(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_30_second_database_outage_fails_requests_fast_and_heals_without_a_restart() {
    outage(Duration::from_secs(30)).await;
}

async fn outage(length: Duration) {
    let mut database = CuttableDatabase::create().await;
    let postgres = database.is_postgres();
    // Down until the outage starts: the mail queued before it is still pending then, and
    // falls due while the database is away.
    let sink = SmtpSink::down();
    let smtp_url = sink.url();
    let server = ServerProcess::start(
        &database.server_url,
        &[
            ("DB_POOL_TIMEOUT_SECONDS", &POOL_TIMEOUT_SECONDS.to_string()),
            ("SMTP_URL", &smtp_url),
            ("CLEANUP_INTERVAL_SECONDS", "0.5"),
            ("MAIL_POLL_INTERVAL_SECONDS", "0.5"),
            ("MAIL_RETRY_BASE_SECONDS", "0.5"),
            ("MAIL_RETRY_MAX_SECONDS", "1"),
            ("MAIL_MAX_ATTEMPTS", "1000"),
        ],
    )
    .await;
    let fixture = load::prepare(&server, "outage", 3).await;
    let mut listener = Listener::open(&server, &fixture).await;
    let load = Load::start(&server, &fixture, "outage", ANSWER_GUARD, Duration::from_millis(100));
    tokio::time::sleep(Duration::from_secs(1)).await;

    let log_before = server.log().len();
    database.cut().await;
    let cut_at = Instant::now();
    sink.bring_up();
    let probes = probe_until(&server, &fixture, cut_at + length).await;
    let log_during = server.log()[log_before..].to_string();
    let restoring_at = Instant::now();
    database.restore().await;
    let (recovered_at, recovery_body) = recover(&server, &fixture, restoring_at).await;
    // A new socket and subscription work too, at once.
    drop(Listener::open(&server, &fixture).await);
    // The load runs on for a while after the recovery: every write of it must succeed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let entries = load.finish().await;

    for probe in &probes {
        probe.assert_allowed(postgres, probe.sent >= cut_at && probe.answered < restoring_at);
    }
    assert!(probes.iter().any(Probe::failed), "some probe failed while the database was away");
    for entry in &entries {
        assert_write_answer(entry, cut_at, restoring_at, recovered_at);
    }
    report(postgres, length, &probes, &entries, cut_at..restoring_at, recovered_at - restoring_at);

    let direct = database.direct().await;
    let tally = ledger::check(&direct, &entries).await;
    println!("writes: {tally:?}");
    ledger::check_sessions(&server, &entries).await;
    listener.heard_the_whole_room(&direct, fixture.room, &entries, &recovery_body).await;
    background_tasks_backed_off_and_carried_on(&direct, &sink, &fixture, &entries, &log_during, length).await;
}

/// Prints what was measured: how fast each kind of request failed, and the recovery.
fn report(
    postgres: bool,
    length: Duration,
    probes: &[Probe],
    entries: &[Entry],
    away: Range<Instant>,
    recovery: Duration,
) {
    let backend = if postgres { "PostgreSQL" } else { "SQLite" };
    for what in ["read", "write", "readyz"] {
        let inside: Vec<&Probe> = probes
            .iter()
            .filter(|probe| probe.what == what && away.contains(&probe.sent) && away.contains(&probe.answered))
            .collect();
        let succeeded = inside.iter().filter(|probe| !probe.failed()).count();
        let slowest = inside.iter().map(|probe| probe.took()).max().unwrap_or_default();
        println!(
            "{length:?} outage on {backend}: {succeeded} of {} {what} probes succeeded, the slowest answered in {slowest:?}",
            inside.len()
        );
    }
    let refused: Vec<Duration> = entries
        .iter()
        .filter(|entry| matches!(entry.answer, Answer::Refused(_)))
        .map(|entry| entry.answered - entry.sent)
        .collect();
    let slowest = refused.iter().max().copied().unwrap_or_default();
    println!("{length:?} outage on {backend}: {} load writes refused, the slowest in {slowest:?}", refused.len());
    println!("{length:?} outage on {backend}: everything worked again {recovery:?} after the restore");
}

/// One request made while the database was away.
struct Probe {
    what: &'static str,
    sent: Instant,
    answered: Instant,
    /// The data (the body for `/readyz`), or the error code (the status and body for
    /// `/readyz`, "hung" past the guard).
    outcome: Result<Value, String>,
}

impl Probe {
    fn took(&self) -> Duration {
        self.answered - self.sent
    }

    fn failed(&self) -> bool {
        self.outcome.is_err()
    }

    /// Panics unless the answer is one the contract allows; `inside` when the request was
    /// sent and answered while the database was away.
    fn assert_allowed(&self, postgres: bool, inside: bool) {
        let Probe { what, outcome, .. } = self;
        match (*what, outcome) {
            (_, Err(code)) if code == "hung" => panic!("{what} got no answer within {ANSWER_GUARD:?}"),
            ("readyz", Ok(body)) if inside && postgres => {
                panic!("/readyz answers 200 while the database is away: {body}")
            }
            ("readyz", Err(body)) => {
                assert!(body.contains(r#""database":"down""#), "/readyz names the database: {body}")
            }
            ("read", Ok(_)) if inside && postgres => panic!("a read succeeded while the database was away"),
            ("write", Ok(_)) if inside => panic!("a write succeeded while the database was away"),
            (_, Err(code)) if what != &"readyz" => {
                assert_eq!(code, "SERVICE_UNAVAILABLE", "a {what} while the database is away")
            }
            _ => {}
        }
    }
}

/// Probes the server every [`PROBE_EVERY`] until `until`, all at once: `/readyz`, a read and
/// a write, each bounded by the guard.
async fn probe_until(server: &ServerProcess, fixture: &Fixture, until: Instant) -> Vec<Probe> {
    let mut probes = Vec::new();
    let mut n = 0;
    while Instant::now() < until {
        let started = Instant::now();
        let token = fixture.actors[0].token.as_str();
        let body = format!("probe {n}");
        let (ready, read, write) = tokio::join!(
            timed("readyz", async {
                let (status, body) = server.readiness().await.unwrap_or((0, Value::Null));
                if status == 200 { Ok(body) } else { Err(format!("{status} {body}")) }
            }),
            timed("read", graphql_outcome(server, token, "{ posts(first: 1) { edges { node { id } } } }", json!({}))),
            timed("write", graphql_outcome(server, token, SEND, json!({ "r": fixture.room, "b": body })),),
        );
        probes.extend([ready, read, write]);
        n += 1;
        tokio::time::sleep_until(started + PROBE_EVERY).await;
    }
    probes
}

/// Runs `request` under the guard and records when it was sent and answered.
async fn timed(what: &'static str, request: impl Future<Output = Result<Value, String>>) -> Probe {
    let sent = Instant::now();
    let outcome = tokio::time::timeout(ANSWER_GUARD, request).await.unwrap_or_else(|_| Err("hung".into()));
    Probe { what, sent, answered: Instant::now(), outcome }
}

/// A GraphQL request's data, or its first error's code.
async fn graphql_outcome(server: &ServerProcess, token: &str, query: &str, variables: Value) -> Result<Value, String> {
    let body = server.try_graphql(Some(token), query, variables).await.map_err(|no| format!("no answer: {}", no.0))?;
    match body["errors"][0]["extensions"]["code"].as_str() {
        Some(code) => Err(code.to_string()),
        None => Ok(body["data"].clone()),
    }
}

const SEND: &str = "mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id } }";

/// Polls from the restore until a write succeeds and `/readyz` answers 200; panics after
/// [`RECOVERY`]. Returns when, and the body of the message that got through.
async fn recover(server: &ServerProcess, fixture: &Fixture, restoring_at: Instant) -> (Instant, String) {
    let token = fixture.actors[0].token.as_str();
    for n in 0.. {
        let body = format!("recovery {n}");
        let write = graphql_outcome(server, token, SEND, json!({ "r": fixture.room, "b": body })).await;
        let ready = server.readiness().await.is_some_and(|(status, _)| status == 200);
        if write.is_ok() && ready {
            return (Instant::now(), body);
        }
        assert!(
            restoring_at.elapsed() < RECOVERY,
            "{RECOVERY:?} after the database's return, a write answers {write:?} and /readyz {:?}",
            server.readiness().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    unreachable!("the loop returns or panics")
}

/// Panics unless the load's `entry` got an answer the contract allows at its time: success or
/// `SERVICE_UNAVAILABLE`, only `SERVICE_UNAVAILABLE` while the database was away, and only
/// success once it had recovered.
fn assert_write_answer(entry: &Entry, cut_at: Instant, restoring_at: Instant, recovered_at: Instant) {
    match &entry.answer {
        Answer::Hung => panic!("{:?} got no answer within {ANSWER_GUARD:?}", entry.write),
        Answer::Unanswered(why) => panic!("{:?} got no answer: {why}", entry.write),
        Answer::Refused(code) => {
            assert_eq!(code, "SERVICE_UNAVAILABLE", "{:?} refused", entry.write);
            assert!(entry.sent < recovered_at, "{:?} refused after the recovery", entry.write);
        }
        Answer::Acked(_) => {
            let inside = entry.sent >= cut_at && entry.answered < restoring_at;
            assert!(!inside, "{:?} succeeded while the database was away", entry.write);
        }
    }
}

/// The mail worker and the cleanup task noticed the outage without spinning, and did their
/// work once the database was back.
async fn background_tasks_backed_off_and_carried_on(
    direct: &DatabaseConnection,
    sink: &SmtpSink,
    fixture: &Fixture,
    entries: &[Entry],
    log_during: &str,
    length: Duration,
) {
    // Both run every half second here (poll, retry and cleanup intervals); the cleanup logs
    // two failures a pass, the mail worker's poll and its retry may each run a pass. So a few
    // a half second at most: a loop retrying at once would log thousands.
    let most = (length.as_secs_f64() / 0.5) as usize * 4 + 20;
    for (task, target) in [("the mail worker", "townsquare::mail"), ("the cleanup task", "townsquare::sessions")] {
        let failures = log_during
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|event| event["level"] == "WARN" || event["level"] == "ERROR")
            .filter(|event| event["target"].as_str().is_some_and(|logged| logged.starts_with(target)))
            .count();
        assert!(failures >= 1, "{task} logged its failure while the database was away");
        assert!(failures <= most, "{task} logged {failures} failures in {length:?}: it does not back off");
        println!("{task} logged {failures} failures in the {length:?} outage");
    }

    // An expired session written now is removed by the next cleanup pass.
    let expired = Uuid::new_v4();
    let long_ago = townsquare::db::now() - chrono::Duration::days(60);
    session::ActiveModel {
        id: Set(expired),
        user_id: Set(fixture.actors[0].id),
        created_at: Set(long_ago),
        last_seen_at: Set(long_ago),
        expires_at: Set(long_ago + chrono::Duration::days(30)),
        revoked_at: Set(None),
        revoked_reason: Set(None),
        user_agent: Set(None),
    }
    .insert(direct)
    .await
    .expect("the test writes an expired session");
    let deadline = Instant::now() + DELIVERY;
    while session::Entity::find_by_id(expired).one(direct).await.expect("session reads").is_some() {
        assert!(Instant::now() < deadline, "the cleanup task removes an expired session after the outage");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Every mail queued, before, during or after, leaves the outbox, and every account gets one.
    let deadline = Instant::now() + DELIVERY;
    loop {
        let rows = mail_outbox::Entity::find().all(direct).await.expect("mail_outbox reads");
        let pending = rows.iter().filter(|row| row.status == "pending").count();
        if pending == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{pending} mails still pending {DELIVERY:?} after the outage");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let registered = entries.iter().filter_map(|entry| match (&entry.write, entry.acked()) {
        (load::Write::Register { email }, Some(_)) => Some(email.clone()),
        _ => None,
    });
    for email in fixture.actors.iter().map(|actor| actor.email.clone()).chain(registered) {
        sink.wait_for_mail(&email, DELIVERY).await;
    }
}

/// A `roomEvents` subscriber open across the outage, read in the background so it answers
/// the server's pings and misses nothing.
struct Listener {
    events: mpsc::UnboundedReceiver<Value>,
    heard: Vec<String>,
}

const ROOM_EVENTS: &str = "subscription($r: ID!) { roomEvents(roomId: $r) {
    __typename ... on MessagePosted { message { body } }
} }";

impl Listener {
    async fn open(server: &ServerProcess, fixture: &Fixture) -> Listener {
        let mut socket = WsClient::connect(&server.address, Some(GRAPHQL_TRANSPORT_WS)).await.expect("a socket opens");
        let token = &fixture.actors[1].token;
        let ack = socket.init(json!({ "authorization": format!("Bearer {token}") })).await;
        assert_eq!(ack.as_ref().map(|ack| &ack["type"]), Some(&json!("connection_ack")), "{:?}", socket.closed());
        socket.subscribe("room", ROOM_EVENTS, json!({ "r": fixture.room })).await;
        let first = socket.next_of("room", DELIVERY).await.expect("the subscription starts");
        assert_eq!(first["payload"]["data"]["roomEvents"]["__typename"], "PresenceSnapshot", "{first}");
        let (sender, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(message) = socket.next_message(Duration::from_secs(3600)).await {
                if sender.send(message).is_err() {
                    return;
                }
            }
            let _ = sender.send(json!({ "type": "socket ended", "close": format!("{:?}", socket.closed()) }));
        });
        Listener { events, heard: Vec::new() }
    }

    /// Waits for the message `last` (sent after the recovery), then checks the socket never
    /// closed and heard every message of `room` exactly once, in the room's order.
    async fn heard_the_whole_room(&mut self, direct: &DatabaseConnection, room: Uuid, entries: &[Entry], last: &str) {
        let deadline = Instant::now() + DELIVERY;
        while !self.heard.iter().any(|body| body == last) {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("the subscriber hears {last:?} after the outage"))
                .expect("the reader runs");
            assert_eq!(event["type"], "next", "the socket stays open and the subscription goes on: {event}");
            if let Some(body) = event["payload"]["data"]["roomEvents"]["message"]["body"].as_str() {
                self.heard.push(body.to_string());
            }
        }
        // What the load sent after `last` may still be on its way; everything before it is here.
        while let Ok(event) = tokio::time::timeout(Duration::from_millis(500), self.events.recv()).await {
            let event = event.expect("the reader runs");
            assert_eq!(event["type"], "next", "the socket stays open: {event}");
            if let Some(body) = event["payload"]["data"]["roomEvents"]["message"]["body"].as_str() {
                self.heard.push(body.to_string());
            }
        }
        // Nothing is sent any more: the socket has heard the room's whole history, in order.
        let stored: Vec<String> = chat_message::Entity::find()
            .filter(chat_message::Column::RoomId.eq(room))
            .order_by_asc(chat_message::Column::Seq)
            .all(direct)
            .await
            .expect("chat_message reads")
            .into_iter()
            .map(|message| message.body)
            .collect();
        assert_eq!(self.heard, stored, "the subscriber heard every stored message once, in the room's order");
        for entry in entries {
            if let (load::Write::Message { body, .. }, Some(_)) = (&entry.write, entry.acked()) {
                assert!(stored.contains(body), "acknowledged message {body:?} is stored");
            }
        }
    }
}
