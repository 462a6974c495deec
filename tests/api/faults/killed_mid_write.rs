//! The server is killed with SIGKILL while it stores messages, posts, comments and likes,
//! queues mail and opens and ends login sessions, then started again on the same database;
//! three times over, each at a random moment. What must hold afterwards:
//!
//! - no corruption: on SQLite `PRAGMA integrity_check` says `ok` and no foreign key dangles,
//!   checked on the file exactly as each kill left it;
//! - no acknowledged write lost, and nothing half-written (`ledger`): a kill inside a
//!   transaction leaves all of it or none of it;
//! - the outbox delivers what was due: every mail queued reaches the SMTP sink (at least
//!   once: a mail the sink accepted just before a kill, but not yet marked sent, goes again).
//!   A mail the killed process had claimed waits for its claim to end (the send timeout plus
//!   the worker's margin, about half a minute) before a worker takes it again: that is how
//!   instances share the outbox without sending twice. The test checks that each such claim
//!   ends, then moves its end to the moment of the kill instead of waiting it out;
//! - login sessions from before a kill still sign in, and sessions ended before it (one
//!   logged out before the load, and every acknowledged `logout` of the load) stay refused.
//!
//! On PostgreSQL a client's death cannot corrupt the database itself (the server rolls back
//! the dead connection's open transaction), so there the check is the application's: the
//! ledger's invariants.

use std::time::Duration;

use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait as _, DatabaseBackend,
    DatabaseConnection, EntityTrait as _, QueryFilter as _, Statement,
};
use serde_json::json;
use tokio::time::Instant;
use townsquare::db::entities::mail_outbox;

use super::{
    ledger,
    load::{self, Load, Write},
    server_process::ServerProcess,
};
use crate::{helpers::TestDatabase, smtp_sink::SmtpSink};

/// Kills per test.
const KILLS: usize = 3;

/// How long a write may go unanswered before the test fails instead of hanging.
const ANSWER_GUARD: Duration = Duration::from_secs(20);

/// How long every pending mail may take to leave after the last restart: a hang guard.
const MAIL_DRAINED: Duration = Duration::from_secs(15);

/// The furthest a claim of the killed process may reach into the future: far beyond the
/// send timeout and the worker's margin, yet finite.
const CLAIM_ENDS_WITHIN: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_write_restarts_with_every_acknowledged_write_and_session() {
    let database = TestDatabase::create().await;
    let sink = SmtpSink::start();
    let smtp_url = sink.url();
    let mut server = ServerProcess::start(
        &database.url,
        &[
            ("SMTP_URL", &smtp_url),
            ("MAIL_POLL_INTERVAL_SECONDS", "0.5"),
            ("MAIL_RETRY_BASE_SECONDS", "0.2"),
            ("MAIL_RETRY_MAX_SECONDS", "1"),
            ("MAIL_SEND_TIMEOUT_SECONDS", "2"),
        ],
    )
    .await;
    let direct = sea_orm::Database::connect(&database.url).await.expect("the test reaches its database");
    let fixture = load::prepare(&server, "kill", 4).await;
    let ended = logged_out_session(&server, &fixture.actors[0].email).await;

    let mut entries = Vec::new();
    for round in 0..KILLS {
        let load = Load::start(&server, &fixture, &format!("k{round}"), ANSWER_GUARD, Duration::from_millis(10));
        tokio::time::sleep(Duration::from_millis(rand::random_range(300..1500))).await;
        server.kill();
        let written = load.finish().await;
        let in_flight = written.iter().filter(|entry| matches!(entry.answer, load::Answer::Unanswered(_))).count();
        println!("kill {round}: {} writes answered, {in_flight} cut off", written.len() - in_flight);
        for entry in &written {
            assert!(
                !matches!(entry.answer, load::Answer::Hung | load::Answer::Refused(_)),
                "before the kill every write succeeds: {entry:?}"
            );
        }
        entries.extend(written);
        assert_not_corrupt(&direct).await;
        let claimed = end_claims_of_the_dead(&direct).await;
        println!("kill {round}: {claimed} mails were claimed by the killed process");
        server.restart().await;
    }

    let tally = ledger::check(&direct, &entries).await;
    println!("writes over {KILLS} kills: {tally:?}");
    ledger::check_sessions(&server, &entries).await;
    for actor in &fixture.actors {
        let me = server.graphql(Some(&actor.token), "{ me { id } }", json!({})).await;
        assert_eq!(load::id_at(&me, "/data/me/id"), Some(actor.id), "{} is still signed in: {me}", actor.email);
    }
    let me = server.graphql(Some(&ended), "{ me { id } }", json!({})).await;
    assert!(me["data"]["me"].is_null(), "a session logged out before the kills stays refused: {me}");
    let draining = Instant::now();
    every_queued_mail_is_delivered(&direct, &sink, &entries).await;
    println!("the outbox drained {:?} after the last restart's checks", draining.elapsed());
}

/// Logs in as `email` and out again; returns the ended session's token.
async fn logged_out_session(server: &ServerProcess, email: &str) -> String {
    let login = server
        .graphql(
            None,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
            json!({ "e": email, "p": crate::helpers::TEST_PASSWORD }),
        )
        .await;
    let token = login["data"]["login"]["token"].as_str().unwrap_or_else(|| panic!("a login: {login}")).to_string();
    let logout = server.graphql(Some(&token), "mutation { logout }", json!({})).await;
    assert_eq!(logout["data"]["logout"], true, "{logout}");
    token
}

/// On SQLite, the file as the kill left it passes `integrity_check` and `foreign_key_check`.
async fn assert_not_corrupt(direct: &DatabaseConnection) {
    if direct.get_database_backend() != DatabaseBackend::Sqlite {
        return;
    }
    let rows = direct
        .query_all_raw(Statement::from_string(DatabaseBackend::Sqlite, "PRAGMA integrity_check"))
        .await
        .expect("integrity_check runs");
    let verdict: Vec<String> = rows.iter().filter_map(|row| row.try_get_by_index::<String>(0).ok()).collect();
    assert_eq!(verdict, ["ok"], "the SQLite file is intact after a SIGKILL");
    let dangling = direct
        .query_all_raw(Statement::from_string(DatabaseBackend::Sqlite, "PRAGMA foreign_key_check"))
        .await
        .expect("foreign_key_check runs");
    assert!(dangling.is_empty(), "{} rows refer to rows that do not exist", dangling.len());
}

/// While the server is down: checks that every claim the killed process left on a pending
/// mail ends within [`CLAIM_ENDS_WITHIN`], and ends it now. Returns how many there were.
async fn end_claims_of_the_dead(direct: &DatabaseConnection) -> usize {
    let now = townsquare::db::now();
    let claimed: Vec<mail_outbox::Model> = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Status.eq("pending"))
        .filter(mail_outbox::Column::NextAttemptAt.gt(now))
        .all(direct)
        .await
        .expect("mail_outbox reads");
    for row in &claimed {
        assert!(row.next_attempt_at < now + CLAIM_ENDS_WITHIN, "a claim on mail {} never ends: {row:?}", row.id);
        let mut ended: mail_outbox::ActiveModel = row.clone().into();
        ended.next_attempt_at = Set(now);
        ended.update(direct).await.expect("the test ends the claim");
    }
    claimed.len()
}

/// No mail stays pending, and every address an acknowledged write queued mail for got one.
async fn every_queued_mail_is_delivered(direct: &DatabaseConnection, sink: &SmtpSink, entries: &[load::Entry]) {
    let deadline = Instant::now() + MAIL_DRAINED;
    loop {
        let rows = mail_outbox::Entity::find().all(direct).await.expect("mail_outbox reads");
        let pending = rows.iter().filter(|row| row.status == "pending").count();
        if pending == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{pending} mails still pending {MAIL_DRAINED:?} after the last restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for entry in entries {
        if let (Write::Register { email } | Write::VerificationMail { email }, Some(_)) = (&entry.write, entry.acked())
        {
            assert!(!sink.mails_to(email).is_empty(), "the mail queued for {email} was delivered");
        }
    }
}
