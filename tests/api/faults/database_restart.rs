//! PostgreSQL ends every connection of the server, as a restart or a failover does
//! (`pg_terminate_backend`, whose connections then report SQLSTATE 57P01): each pooled
//! connection fails the one request that next uses it, with `SERVICE_UNAVAILABLE` (never
//! `INTERNAL_SERVER_ERROR`), and is replaced; no other request fails. SQLite has no server
//! to restart, so there the test only says it skipped.

use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::json;

use super::{
    database_cut::CuttableDatabase,
    load::{self, Answer, classify},
    server_process::ServerProcess,
};

/// `DB_POOL_SIZE` plus `DB_MAX_OVERFLOW` of [`ServerProcess`]: the most connections that can
/// each fail one request.
const POOL_MAX: usize = 5;

/// Requests sent after the connections ended: enough to go through every pooled one.
const REQUESTS: usize = 20;

const SEND: &str = "mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_ended_by_postgresql_fail_one_request_each_with_service_unavailable() {
    let database = CuttableDatabase::create().await;
    if !database.is_postgres() {
        println!("skipped: SQLite has no database server whose restart ends connections");
        return;
    }
    let server = ServerProcess::start(database.direct_url(), &[("DB_POOL_TIMEOUT_SECONDS", "2")]).await;
    let fixture = load::prepare(&server, "restart", 1).await;
    let token = fixture.actors[0].token.as_str();
    // Every connection of the pool is opened and in use at once, so every one is ended.
    let warm = (0..POOL_MAX * 2)
        .map(|n| server.try_graphql(Some(token), SEND, json!({ "r": fixture.room, "b": format!("warm {n}") })));
    futures_util::future::join_all(warm).await;

    let direct = database.direct().await;
    let name = database.direct_url().rsplit('/').next().expect("a database name").to_string();
    let ended = direct
        .query_one_raw(Statement::from_string(
            direct.get_database_backend(),
            format!(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{name}' \
                 AND pid <> pg_backend_pid()"
            ),
        ))
        .await
        .expect("the test ends the server's connections")
        .and_then(|row| row.try_get_by_index::<i64>(0).ok())
        .unwrap_or_default();
    assert!(ended > 0, "the server had connections to end");

    let mut answers = Vec::new();
    for n in 0..REQUESTS {
        let body = server.graphql(Some(token), SEND, json!({ "r": fixture.room, "b": format!("after {n}") })).await;
        answers.push(classify(&body, "sendMessage"));
    }
    let failed = answers.iter().filter(|answer| !matches!(answer, Answer::Acked(_))).count();
    println!("{ended} connections ended; {failed} of the {REQUESTS} requests after it failed");
    for answer in &answers {
        if let Answer::Refused(code) = answer {
            assert_eq!(code, "SERVICE_UNAVAILABLE", "a request on an ended connection");
        }
    }
    assert!(failed <= POOL_MAX, "each ended connection fails one request at most: {failed} failed");
    assert!(
        answers[answers.len() - POOL_MAX..].iter().all(|answer| matches!(answer, Answer::Acked(_))),
        "once the ended connections are replaced every request succeeds: {answers:?}"
    );
}
