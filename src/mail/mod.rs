//! Mail: a durable outbox. Code that sends mail only queues a row, inside the transaction of
//! what the mail announces; the worker in [`worker`] delivers it with retries, so no mail is
//! sent on the request path and none is lost to a crash or an SMTP outage.

pub mod bound;
pub mod smtp;
pub mod templates;
pub mod transport;
pub mod worker;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use crate::db::entities::mail_outbox;

/// A mail to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The recipient's address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Queues `mail` in `conn` (the caller's transaction), due at once. Wake the worker with
/// `state.mail_wakeup.notify_one()` after the transaction commits.
pub async fn enqueue(conn: &impl ConnectionTrait, mail: &OutgoingMail, now: DateTime<Utc>) -> Result<(), DbErr> {
    mail_outbox::Entity::insert(mail_outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        recipient: Set(mail.to.clone()),
        subject: Set(mail.subject.clone()),
        body: Set(mail.body.clone()),
        status: Set("pending".into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
    })
    .exec_without_returning(conn)
    .await
    .map(|_| ())
}
