//! What a client is told when the database is away at the moment it asks for something
//! that cannot wait: a socket whose session must be read is told to come back (1013, which
//! graphql-ws clients retry) instead of being refused (4403, which they do not), and a
//! password-reset request answers `SERVICE_UNAVAILABLE` instead of a `true` whose mail could
//! never be queued. On SQLite the outage the suite can impose (another process holding the
//! write lock) leaves reads working, so both are answered normally there: the tests say so
//! and skip.

use std::time::Duration;

use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::json;

use super::{database_cut::CuttableDatabase, load, server_process::ServerProcess};
use crate::ws_client::{GRAPHQL_TRANSPORT_WS, WAIT, WsClient};

/// A hang guard for the recovery: the contract's 5 s, with room for a loaded machine.
const BACK_WITHIN: Duration = Duration::from_secs(15);

const RESET: &str = "mutation($email: String!) { requestPasswordReset(email: $email) }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_opened_while_the_database_is_away_is_told_to_try_again_and_connects_after() {
    let mut database = CuttableDatabase::create().await;
    if !database.is_postgres() {
        println!("skipped: SQLite's sessions stay readable while another process holds the write lock");
        return;
    }
    let mut server = ServerProcess::start(&database.server_url, &[("DB_POOL_TIMEOUT_SECONDS", "1")]).await;
    let fixture = load::prepare(&server, "away", 1).await;
    let token = fixture.actors[0].token.clone();
    // A fresh process: the session is not in its cache, so connection_init must read it.
    server.restart().await;

    database.cut().await;
    let mut socket = WsClient::connect(&server.address, Some(GRAPHQL_TRANSPORT_WS)).await.expect("the upgrade");
    socket.send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } })).await;
    assert_eq!(socket.expect_close(WAIT).await, (1013, "Try again later".to_string()));

    database.restore().await;
    let deadline = tokio::time::Instant::now() + BACK_WITHIN;
    loop {
        let mut socket = WsClient::connect(&server.address, Some(GRAPHQL_TRANSPORT_WS)).await.expect("the upgrade");
        let ack = socket.init(json!({ "authorization": format!("Bearer {token}") })).await;
        if ack.as_ref().is_some_and(|message| message["type"] == "connection_ack") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no ack once the database is back: {ack:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_request_while_the_database_is_away_is_answered_unavailable_never_a_lost_true() {
    let mut database = CuttableDatabase::create().await;
    if !database.is_postgres() {
        println!("skipped: SQLite answers the reset's check while another process holds the write lock");
        return;
    }
    let server = ServerProcess::start(&database.server_url, &[("DB_POOL_TIMEOUT_SECONDS", "1")]).await;
    let fixture = load::prepare(&server, "reset", 1).await;
    let email = fixture.actors[0].email.clone();

    database.cut().await;
    for address in [email.as_str(), "nobody@example.com"] {
        let answer = server.graphql(None, RESET, json!({ "email": address })).await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
            "the same answer for an account and for no account: {answer}"
        );
    }

    database.restore().await;
    let deadline = tokio::time::Instant::now() + BACK_WITHIN;
    loop {
        let answer = server.graphql(None, RESET, json!({ "email": email })).await;
        if answer["data"]["requestPasswordReset"] == true {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reset is not answered once the database is back: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The `true` was kept: the reset mail is in the outbox.
    let direct = database.direct().await;
    let deadline = tokio::time::Instant::now() + BACK_WITHIN;
    loop {
        let queued = direct
            .query_one_raw(Statement::from_sql_and_values(
                direct.get_database_backend(),
                "SELECT COUNT(*) FROM mail_outbox WHERE recipient = $1 AND subject = $2",
                [email.clone().into(), townsquare::mail::templates::RESET_CODE_SUBJECT.into()],
            ))
            .await
            .expect("the test reads the outbox")
            .and_then(|row| row.try_get_by_index::<i64>(0).ok())
            .unwrap_or_default();
        if queued == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the reset mail was not queued ({queued} found)");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
