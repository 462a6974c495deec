//! Mail-server faults: an SMTP server that refuses, resets, stalls, drops the connection
//! after `DATA`, answers 4xx then 5xx, or lets pooled connections go stale (seed 000). In
//! every case requests that queue mail answer as usual (the outbox is written in the
//! request's transaction and sent by the worker), every queued mail is delivered once the
//! server behaves or abandoned with its reason after the retry budget, and a restart in the
//! middle loses none. `pending_bound` covers `MAX_PENDING_MAILS_PER_ADDRESS`.

mod pending_bound;

use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
use serde_json::{Value, json};
use townsquare::{
    config::Settings,
    db::{self, entities::mail_outbox},
    mail::{self, OutgoingMail, bound::OVERTAKEN, templates::VERIFICATION_CODE_SUBJECT},
};

use super::smtp_faults::{Behaviour, FaultySmtp};
use crate::{
    helpers::{TEST_PASSWORD, TestApp, spawn_app_with},
    smtp_sink::{ReceivedMail, code_in},
};

/// The longest a request may take while the mail server misbehaves: a hang guard, far above
/// any normal answer (even on a loaded machine) and far below the 60 s a stalled server
/// would hold a request that waited for it.
const HANG_GUARD: Duration = Duration::from_secs(10);

/// How long any one expectation may take; polling returns as soon as it holds.
const PATIENCE: Duration = Duration::from_secs(20);

/// One delivery's time limit in these tests: a stalled server costs this per attempt.
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { token } }";
const REQUEST_RESET: &str = "mutation($email: String!) { requestPasswordReset(email: $email) }";

/// An app whose mail goes to `server`, with quick retries and a budget no test exhausts by
/// accident; `configure` adjusts the rest.
async fn app_for(server: &FaultySmtp, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let url = server.url();
    spawn_app_with(move |settings| {
        settings.smtp_url = Some(url.parse().expect("the server's URL is valid"));
        settings.mail.send_timeout = SEND_TIMEOUT;
        settings.mail.max_attempts = 1000;
        configure(settings);
    })
    .await
}

/// `request`'s output, failing if it takes longer than [`HANG_GUARD`].
async fn answered<T>(what: &str, request: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, request)
        .await
        .unwrap_or_else(|_| panic!("{what} did not answer within {HANG_GUARD:?} while the mail server misbehaves"))
}

/// Registers `username` through the API, under the hang guard, and returns its token.
async fn register(app: &TestApp, username: &str) -> String {
    let input = json!({ "email": format!("{username}@example.com"), "username": username, "password": TEST_PASSWORD });
    let body = answered("register", app.graphql(REGISTER, json!({ "input": input }))).await;
    body["data"]["register"]["token"].as_str().unwrap_or_else(|| panic!("register {username}: {body}")).to_string()
}

/// Queues a plain mail to `to` as another part of the server would, and wakes the worker.
async fn queue(app: &TestApp, to: &str) {
    let mail = OutgoingMail { to: to.into(), subject: format!("Hello {to}"), body: "Hi.\n".into() };
    mail::enqueue(&app.state.db, &mail, db::now()).await.expect("mail queued");
    app.state.mail_wakeup.notify_one();
}

/// The outbox rows to `to`, oldest first.
async fn rows_to(app: &TestApp, to: &str) -> Vec<mail_outbox::Model> {
    mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Recipient.eq(to))
        .order_by_asc(mail_outbox::Column::CreatedAt)
        .order_by_asc(mail_outbox::Column::Id)
        .all(&app.state.db)
        .await
        .expect("the outbox is readable")
}

/// The rows to `to` once `done` holds for them; fails after [`PATIENCE`].
async fn wait_for_rows(
    app: &TestApp,
    to: &str,
    what: &str,
    done: impl Fn(&[mail_outbox::Model]) -> bool,
) -> Vec<mail_outbox::Model> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let rows = rows_to(app, to).await;
        if done(&rows) {
            return rows;
        }
        assert!(Instant::now() < deadline, "the mail to {to} never became {what}: {rows:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Returns once `condition` holds; fails after [`PATIENCE`].
async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The one row to `to` once `done` holds for it.
async fn wait_for_row(
    app: &TestApp,
    to: &str,
    what: &str,
    done: impl Fn(&mail_outbox::Model) -> bool,
) -> mail_outbox::Model {
    let rows = wait_for_rows(app, to, what, |rows| rows.len() == 1 && done(&rows[0])).await;
    rows.into_iter().next().expect("one row")
}

/// The text of `/metrics`.
async fn metrics(app: &TestApp) -> String {
    let response = app.client.get(format!("{}/metrics", app.address)).send().await.expect("metrics");
    response.text().await.expect("metrics text")
}

/// A mail with `body`, to read the code an outbox row carries.
fn mail_with_body(body: &str) -> ReceivedMail {
    ReceivedMail { to: Vec::new(), from: String::new(), subject: String::new(), body: body.into(), raw: String::new() }
}

#[tokio::test]
async fn a_stalled_mail_server_never_slows_a_request_and_the_mail_leaves_once_it_answers() {
    let server = FaultySmtp::start(Behaviour::Stall).await;
    // A request that waited for the server would be held a whole minute.
    let app = app_for(&server, |settings| settings.mail.send_timeout = Duration::from_secs(60)).await;

    let token = register(&app, "stella").await;
    // The worker is now connected and waiting for a greeting that never comes.
    wait_until("the worker connects", || server.connections() >= 1).await;
    let again = answered(
        "requestEmailVerification",
        app.graphql_with_token(&token, "mutation { requestEmailVerification }", json!({})),
    )
    .await;
    assert_eq!(again["data"]["requestEmailVerification"], true, "{again}");
    let reset = request_reset(&app, "stella@example.com").await;
    assert_eq!(reset["data"]["requestPasswordReset"], true, "{reset}");
    let stalled = wait_for_rows(&app, "stella@example.com", "queued", |rows| rows.len() == 3).await;
    assert!(stalled.iter().all(|row| row.status == "pending" && row.sent_at.is_none()), "{stalled:#?}");

    // The server recovers and closes the connection it sat on; the worker retries at once
    // instead of waiting out its minute.
    server.set(Behaviour::Behave).await;
    server.sever();
    let done =
        wait_for_rows(&app, "stella@example.com", "settled", |rows| rows.iter().all(|row| row.status != "pending"))
            .await;
    // Retries reorder mail: if the newer verification mail goes first, the older one (whose
    // code no longer works) is given up rather than sent after it.
    for row in done.iter().filter(|row| row.status != "sent") {
        assert_eq!((row.status.as_str(), row.last_error.as_deref()), ("abandoned", Some(OVERTAKEN)), "{row:?}");
        assert_eq!(row.subject, VERIFICATION_CODE_SUBJECT, "only an older code gives way: {row:?}");
    }
    let sent = done.iter().filter(|row| row.status == "sent").count();
    let mails = server.mails_to("stella@example.com");
    assert_eq!(mails.len(), sent, "each sent mail arrived once: {mails:?}");
    // The last verification mail to arrive carries the code that works.
    let last = mails.iter().rev().find(|mail| mail.subject == VERIFICATION_CODE_SUBJECT).expect("a verification mail");
    let verified = app
        .graphql_with_token(
            &token,
            "mutation($code: String!) { verifyEmail(code: $code) { emailVerified } }",
            json!({ "code": code_in(last) }),
        )
        .await;
    assert_eq!(verified["data"]["verifyEmail"]["emailVerified"], true, "{verified}");
}

#[tokio::test]
async fn a_refused_or_reset_connection_is_retried_until_the_server_accepts() {
    let server = FaultySmtp::start(Behaviour::Refuse).await;
    let app = app_for(&server, |_| {}).await;

    queue(&app, "rhea@example.com").await;
    let refused = wait_for_row(&app, "rhea@example.com", "refused twice", |row| row.attempts >= 2).await;
    assert_eq!(refused.status, "pending");
    let error = refused.last_error.unwrap_or_default();
    assert!(error.to_lowercase().contains("refused"), "{error}");

    server.set(Behaviour::Reset).await;
    let connections = server.connections();
    let reset = wait_for_row(&app, "rhea@example.com", "reset", |row| {
        row.attempts >= refused.attempts + 2 && server.connections() > connections
    })
    .await;
    assert_eq!(reset.status, "pending", "a reset connection is worth retrying");

    server.set(Behaviour::Behave).await;
    let sent = wait_for_row(&app, "rhea@example.com", "sent", |row| row.status == "sent").await;
    assert!(sent.attempts > reset.attempts, "{sent:?}");
    assert_eq!(server.mails_to("rhea@example.com").len(), 1, "delivered exactly once");
}

#[tokio::test]
async fn a_connection_dropped_after_data_is_retried_and_the_mail_arrives_once() {
    let server = FaultySmtp::start(Behaviour::DropAfterData).await;
    let app = app_for(&server, |_| {}).await;

    queue(&app, "dora@example.com").await;
    let dropped = wait_for_row(&app, "dora@example.com", "dropped twice", |row| row.attempts >= 2).await;
    assert_eq!(dropped.status, "pending", "a connection lost before the reply is worth retrying");
    assert!(dropped.last_error.is_some_and(|error| !error.is_empty()));
    assert!(server.mails().is_empty(), "the server kept none of the dropped copies");

    server.set(Behaviour::Behave).await;
    wait_for_row(&app, "dora@example.com", "sent", |row| row.status == "sent").await;
    assert_eq!(server.mails_to("dora@example.com").len(), 1, "delivered exactly once");
}

/// The one window of duplicates: the server kept the mail but the connection died before
/// its 250 reached the worker, which must then assume the mail was lost.
#[tokio::test]
async fn a_mail_the_server_kept_before_the_connection_dropped_arrives_twice_never_zero_times() {
    let server = FaultySmtp::start(Behaviour::KeepThenDropAfterData).await;
    let app = app_for(&server, |_| {}).await;

    queue(&app, "kim@example.com").await;
    server.wait_for_count("kim@example.com", 1, PATIENCE).await;
    wait_for_row(&app, "kim@example.com", "tried", |row| row.attempts >= 1).await;
    server.set(Behaviour::Behave).await;

    let sent = wait_for_row(&app, "kim@example.com", "sent", |row| row.status == "sent").await;
    assert_eq!(sent.attempts, 2, "{sent:?}");
    assert_eq!(server.mails_to("kim@example.com").len(), 2, "at least once: the unacknowledged copy and the retry");
}

#[tokio::test]
async fn a_server_answering_4xx_then_5xx_retries_the_mail_then_abandons_it_with_the_5xx() {
    let server = FaultySmtp::start(Behaviour::TempFail).await;
    let app = app_for(&server, |_| {}).await;

    queue(&app, "tess@example.com").await;
    let deferred = wait_for_row(&app, "tess@example.com", "deferred twice", |row| row.attempts >= 2).await;
    assert_eq!(deferred.status, "pending", "a 4xx is worth retrying");
    assert!(deferred.last_error.as_deref().is_some_and(|error| error.contains("451")), "{deferred:?}");

    server.set(Behaviour::PermFail).await;
    let abandoned = wait_for_row(&app, "tess@example.com", "abandoned", |row| row.status != "pending").await;
    assert_eq!(abandoned.status, "abandoned");
    assert!(abandoned.last_error.as_deref().is_some_and(|error| error.contains("554")), "{abandoned:?}");
    assert!(abandoned.sent_at.is_none());
    let text = metrics(&app).await;
    assert!(text.contains("mail_retries_total") && text.contains("mail_abandoned_total"), "{text}");

    // The server behaves again: new mail goes out; the abandoned one stays abandoned.
    server.set(Behaviour::Behave).await;
    queue(&app, "tom@example.com").await;
    server.wait_for_count("tom@example.com", 1, PATIENCE).await;
    assert!(server.mails_to("tess@example.com").is_empty());
}

#[tokio::test]
async fn a_mail_the_server_never_answers_is_abandoned_after_the_retry_budget_with_the_reason() {
    let server = FaultySmtp::start(Behaviour::Stall).await;
    let app = app_for(&server, |settings| settings.mail.max_attempts = 3).await;

    queue(&app, "sam@example.com").await;

    let abandoned = wait_for_row(&app, "sam@example.com", "abandoned", |row| row.status != "pending").await;
    assert_eq!((abandoned.status.as_str(), abandoned.attempts), ("abandoned", 3), "{abandoned:?}");
    let error = abandoned.last_error.unwrap_or_default();
    assert!(error.contains("no answer within 1s"), "{error}");
    assert!(metrics(&app).await.contains("mail_abandoned_total"));
}

#[tokio::test]
async fn a_restart_while_the_mail_server_misbehaves_loses_no_mail() {
    let server = FaultySmtp::start(Behaviour::Stall).await;
    let app = app_for(&server, |_| {}).await;
    let mut expected = vec!["rita@example.com".to_string(), "ravi@example.com".to_string()];
    register(&app, "rita").await;
    register(&app, "ravi").await;
    queue(&app, "raw1@example.com").await;
    expected.push("raw1@example.com".into());
    wait_for_rows(&app, "rita@example.com", "tried", |rows| rows.iter().any(|row| row.attempts >= 1)).await;

    // Stopped mid-delivery (the worker is waiting on the stalled server), then started again.
    let app = app.restart().await;
    server.set(Behaviour::DropAfterData).await;
    queue(&app, "raw2@example.com").await;
    expected.push("raw2@example.com".into());
    register(&app, "remy").await;
    expected.push("remy@example.com".into());
    wait_for_row(&app, "raw2@example.com", "dropped", |row| row.attempts >= 1).await;

    server.set(Behaviour::Behave).await;
    app.mail_settled().await;
    for to in &expected {
        let rows = rows_to(&app, to).await;
        assert!(rows.len() == 1 && rows[0].status == "sent", "{to}: {rows:?}");
        assert_eq!(server.mails_to(to).len(), 1, "{to} got its mail exactly once");
    }
    assert_eq!(server.mails().len(), expected.len(), "nothing else was sent");
}

/// A delivery cut short by its time limit leaves a command unanswered on its connection. Were
/// that connection used again, the late reply would be read as the answer to the next
/// command, and every answer after it would be one step behind: here the retry's `554`
/// would arrive after the worker had taken the `354` to `DATA` for acceptance.
#[tokio::test]
async fn a_reply_that_comes_after_the_time_limit_is_never_taken_for_the_answer_to_a_later_command() {
    let server = FaultySmtp::start(Behaviour::AcceptSlowly(SEND_TIMEOUT * 3 / 2)).await;
    let app = app_for(&server, |_| {}).await;

    queue(&app, "lou@example.com").await;
    let late = wait_for_row(&app, "lou@example.com", "timed out", |row| row.attempts >= 1).await;
    assert!(late.last_error.as_deref().is_some_and(|error| error.contains("no answer within")), "{late:?}");
    server.set(Behaviour::PermFail).await;

    let done = wait_for_row(&app, "lou@example.com", "finished", |row| row.status != "pending").await;
    assert_eq!(done.status, "abandoned", "the server refused the retry: {done:?}");
    assert!(done.last_error.as_deref().is_some_and(|error| error.contains("554")), "{done:?}");
}

/// Seed 000: a pooled connection the server closed, or one it silently forgot, must not
/// cost a delivery attempt: it is found out before use and replaced in the same attempt.
#[tokio::test]
async fn a_pooled_connection_the_server_dropped_or_forgot_is_replaced_within_the_same_attempt() {
    let server = FaultySmtp::start(Behaviour::Behave).await;
    // Long enough that a stale connection found out only by the time limit would fail the attempt.
    let app = app_for(&server, |settings| settings.mail.send_timeout = Duration::from_secs(5)).await;

    queue(&app, "one@example.com").await;
    wait_for_row(&app, "one@example.com", "sent", |row| row.status == "sent").await;
    queue(&app, "two@example.com").await;
    wait_for_row(&app, "two@example.com", "sent", |row| row.status == "sent").await;
    assert_eq!(server.connections(), 1, "back-to-back mails share one connection");

    // The server closes its side, as an idle timeout does.
    server.sever();
    queue(&app, "three@example.com").await;
    let sent = wait_for_row(&app, "three@example.com", "sent", |row| row.status == "sent").await;
    assert_eq!(sent.attempts, 1, "the closed connection cost no attempt: {sent:?}");
    assert_eq!(server.connections(), 2);

    // The open connection goes deaf, as one a NAT gateway forgot does.
    server.silence();
    queue(&app, "four@example.com").await;
    let sent = wait_for_row(&app, "four@example.com", "sent", |row| row.status == "sent").await;
    assert_eq!(sent.attempts, 1, "the deaf connection cost no attempt: {sent:?}");
    assert_eq!(server.connections(), 3);
    for to in ["one", "two", "three", "four"] {
        assert_eq!(server.mails_to(&format!("{to}@example.com")).len(), 1, "{to}");
    }
}

/// The answer to `requestPasswordReset` for `email`, under the hang guard.
async fn request_reset(app: &TestApp, email: &str) -> Value {
    answered("requestPasswordReset", app.graphql(REQUEST_RESET, json!({ "email": email }))).await
}
