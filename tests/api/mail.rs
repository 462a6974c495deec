//! The mail outbox: queued mail reaches a real SMTP server exactly once, survives an SMTP
//! outage and a restart, is given up on when refused for good or out of attempts, and is
//! shared safely by two workers on one database.

use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use townsquare::{
    db::{self, entities::mail_outbox},
    mail::{self, OutgoingMail},
};

use crate::{
    helpers::{TestApp, spawn_app, spawn_app_with, spawn_app_with_smtp_down},
    smtp_sink::code_in,
};

/// How long any one expectation may take; generous, since polling returns as soon as it holds.
const PATIENCE: Duration = Duration::from_secs(10);

fn mail_to(to: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_string(),
        subject: format!("Hello {to}"),
        body: "Hi,\n\nYour verification code is 493817\n\nIt expires in 10 minutes.\n".into(),
    }
}

/// Queues `mail` as the API does: a committed row, then a wake-up for the worker.
async fn queue(app: &TestApp, mail: &OutgoingMail) {
    mail::enqueue(&app.state.db, mail, db::now()).await.expect("mail queued");
    app.state.mail_wakeup.notify_one();
}

/// The outbox row of the mail to `to`.
async fn row(app: &TestApp, to: &str) -> mail_outbox::Model {
    mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Recipient.eq(to))
        .one(&app.state.db)
        .await
        .expect("the outbox is readable")
        .unwrap_or_else(|| panic!("a queued row for {to}"))
}

/// The row of the mail to `to` once `done` holds for it; fails after [`PATIENCE`].
async fn wait_for_row(
    app: &TestApp,
    to: &str,
    what: &str,
    done: impl Fn(&mail_outbox::Model) -> bool,
) -> mail_outbox::Model {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let row = row(app, to).await;
        if done(&row) {
            return row;
        }
        assert!(Instant::now() < deadline, "the mail to {to} never became {what}: {row:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_queued_mail_is_delivered_once_and_marked_sent() {
    let mut app = spawn_app().await;
    let mail = mail_to("ann@example.com");

    queue(&app, &mail).await;

    let received = app.mail.wait_for_mail("ann@example.com", PATIENCE).await;
    assert_eq!(received.subject, mail.subject);
    assert_eq!(code_in(&received), "493817");
    assert_eq!(received.from, "no-reply@localhost", "the sender is MAIL_FROM");
    assert!(received.raw.contains("Content-Type: text/plain"), "{}", received.raw);
    let sent = wait_for_row(&app, "ann@example.com", "sent", |row| row.status == "sent").await;
    assert_eq!(sent.attempts, 1);
    assert!(sent.sent_at.is_some_and(|at| at >= sent.created_at), "{sent:?}");
    let metrics = app.client.get(format!("{}/metrics", app.address)).send().await.expect("metrics").text().await;
    let metrics = metrics.expect("metrics text");
    assert!(metrics.contains("mail_sent_total") && metrics.contains("mail_pending"), "{metrics}");

    app.shut_down().await;
    assert_eq!(app.mail.mails_to("ann@example.com").len(), 1, "delivered exactly once");
}

#[tokio::test]
async fn mail_queued_while_smtp_is_down_arrives_once_when_it_comes_up() {
    let mut app = spawn_app_with_smtp_down(|settings| settings.mail.max_attempts = 50).await;

    queue(&app, &mail_to("bob@example.com")).await;
    let failing = wait_for_row(&app, "bob@example.com", "retried", |row| row.attempts >= 2).await;
    assert_eq!(failing.status, "pending", "a refused connection is worth retrying");
    assert!(failing.last_error.is_some(), "{failing:?}");
    app.mail.bring_up();

    app.mail.wait_for_mail("bob@example.com", PATIENCE).await;
    let sent = wait_for_row(&app, "bob@example.com", "sent", |row| row.status == "sent").await;
    assert!(sent.attempts > 2, "sent after retries: {sent:?}");
    app.shut_down().await;
    assert_eq!(app.mail.mails_to("bob@example.com").len(), 1, "delivered exactly once");
}

#[tokio::test]
async fn mail_queued_before_a_restart_is_delivered_by_the_next_start() {
    let app = spawn_app_with_smtp_down(|settings| settings.mail.max_attempts = 50).await;
    queue(&app, &mail_to("cat@example.com")).await;
    wait_for_row(&app, "cat@example.com", "tried", |row| row.attempts >= 1).await;

    // The first app is fully stopped before the second starts, and the SMTP server comes
    // up only afterwards: only the new app can deliver it.
    let mut app = app.restart().await;
    app.mail.bring_up();

    app.mail.wait_for_mail("cat@example.com", PATIENCE).await;
    wait_for_row(&app, "cat@example.com", "sent", |row| row.status == "sent").await;
    app.shut_down().await;
    assert_eq!(app.mail.mails_to("cat@example.com").len(), 1, "delivered exactly once");
}

#[tokio::test]
async fn a_recipient_refused_for_good_is_abandoned_without_retries() {
    let app = spawn_app().await;
    app.mail.reject("gone@example.com");

    queue(&app, &mail_to("gone@example.com")).await;
    queue(&app, &mail_to("dan@example.com")).await;

    let abandoned = wait_for_row(&app, "gone@example.com", "abandoned", |row| row.status != "pending").await;
    assert_eq!(abandoned.status, "abandoned");
    assert_eq!(abandoned.attempts, 1, "a 550 is not retried");
    let error = abandoned.last_error.expect("the refusal is kept");
    assert!(error.contains("550"), "{error}");
    assert!(abandoned.sent_at.is_none());
    app.mail.wait_for_mail("dan@example.com", PATIENCE).await;
    assert!(app.mail.mails_to("gone@example.com").is_empty());
}

#[tokio::test]
async fn mail_is_abandoned_after_max_attempts_transient_failures() {
    let app = spawn_app_with_smtp_down(|settings| settings.mail.max_attempts = 2).await;

    queue(&app, &mail_to("eve@example.com")).await;

    let abandoned = wait_for_row(&app, "eve@example.com", "abandoned", |row| row.status != "pending").await;
    assert_eq!(abandoned.status, "abandoned");
    assert_eq!(abandoned.attempts, 2);
    assert!(abandoned.last_error.is_some_and(|error| !error.is_empty()));
    assert!(abandoned.sent_at.is_none());
}

#[tokio::test]
async fn without_smtp_url_mail_is_written_to_the_log_and_marked_sent() {
    let app = spawn_app_with(|settings| settings.smtp_url = None).await;

    queue(&app, &mail_to("fay@example.com")).await;

    let sent = wait_for_row(&app, "fay@example.com", "sent", |row| row.status == "sent").await;
    assert_eq!(sent.attempts, 1);
    assert!(app.mail.mails().is_empty(), "nothing goes over the network");
}

#[tokio::test]
async fn mail_queued_without_a_wake_up_is_found_by_the_poll() {
    let app = spawn_app_with(|settings| settings.mail.poll_interval = Duration::from_millis(50)).await;

    // As if queued by another instance: no wake-up reaches this worker.
    mail::enqueue(&app.state.db, &mail_to("gus@example.com"), db::now()).await.expect("mail queued");

    app.mail.wait_for_mail("gus@example.com", PATIENCE).await;
}

#[tokio::test]
async fn two_workers_on_one_database_deliver_each_mail_exactly_once() {
    let mut first = spawn_app().await;
    let mut second = first.peer().await;
    // More than one claim batch, so the workers race over several batches.
    let recipients: Vec<String> = (0..60).map(|i| format!("user{i}@example.com")).collect();

    for to in &recipients {
        mail::enqueue(&first.state.db, &mail_to(to), db::now()).await.expect("mail queued");
    }
    first.state.mail_wakeup.notify_one();
    second.state.mail_wakeup.notify_one();

    first.mail_settled().await;
    let rows = mail_outbox::Entity::find().all(&first.state.db).await.expect("the outbox is readable");
    assert_eq!(rows.len(), recipients.len());
    assert!(rows.iter().all(|row| row.status == "sent" && row.attempts == 1), "each sent on its first attempt");
    first.shut_down().await;
    second.shut_down().await;
    for to in &recipients {
        assert_eq!(first.mail.mails_to(to).len(), 1, "{to} got exactly one mail");
    }
    assert_eq!(first.mail.mails().len(), recipients.len());
}
