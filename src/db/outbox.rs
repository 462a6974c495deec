//! Mail-outbox queries: finding due mail, claiming a row, and recording how its delivery
//! went. Queuing is [`crate::mail::enqueue`]. Every state change is one conditional
//! statement on `status = 'pending'`, so several workers (one per instance) may share the
//! table: a row is delivered by whoever claims it, and a finished row is never reopened.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait as _},
};
use uuid::Uuid;

use super::entities::mail_outbox::{self, Column};

/// A row waiting for delivery (or for its next attempt).
pub const PENDING: &str = "pending";
/// A row the SMTP server accepted.
pub const SENT: &str = "sent";
/// A row given up on: refused for good, out of attempts, or superseded by a newer code
/// mail past `MAX_PENDING_MAILS_PER_ADDRESS` (`last_error` says which).
pub const ABANDONED: &str = "abandoned";

/// The ids of pending rows that are due at `now`, oldest first, at most `limit`.
pub async fn due(conn: &impl ConnectionTrait, now: DateTime<Utc>, limit: u64) -> Result<Vec<Uuid>, DbErr> {
    mail_outbox::Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Status.eq(PENDING))
        .filter(Column::NextAttemptAt.lte(now))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
}

/// Claims a due row for one delivery by moving its `next_attempt_at` to `lease_until`, and
/// returns the row as it now stands. `None` when the row is no longer pending and due: another
/// worker claimed it first (the condition and the write are one statement, so exactly one
/// caller wins). If the claimant dies mid-delivery, the row falls due again when the lease ends.
pub async fn claim(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Option<mail_outbox::Model>, DbErr> {
    let claimed = mail_outbox::Entity::update_many()
        .col_expr(Column::NextAttemptAt, Expr::value(lease_until))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(PENDING))
        .filter(Column::NextAttemptAt.lte(now))
        .exec_with_returning(conn)
        .await?;
    Ok(claimed.into_iter().next())
}

/// Gives a claimed row back at once (shutdown interrupted its delivery), so the next worker
/// need not wait for the lease to end. Only the holder of the lease `lease_until` releases it.
pub async fn release(
    conn: &impl ConnectionTrait,
    id: Uuid,
    lease_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = mail_outbox::Entity::update_many()
        .col_expr(Column::NextAttemptAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(PENDING))
        .filter(Column::NextAttemptAt.eq(lease_until))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records that the SMTP server accepted the mail.
pub async fn mark_sent(conn: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let result = mail_outbox::Entity::update_many()
        .col_expr(Column::Status, Expr::value(SENT))
        .col_expr(Column::SentAt, Expr::value(now))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(PENDING))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records a failed attempt and when to try again.
pub async fn schedule_retry(
    conn: &impl ConnectionTrait,
    id: Uuid,
    error: &str,
    retry_at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = mail_outbox::Entity::update_many()
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .col_expr(Column::LastError, Expr::value(error))
        .col_expr(Column::NextAttemptAt, Expr::value(retry_at))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(PENDING))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records a failed last attempt and gives the mail up.
pub async fn abandon(conn: &impl ConnectionTrait, id: Uuid, error: &str) -> Result<bool, DbErr> {
    let result = mail_outbox::Entity::update_many()
        .col_expr(Column::Status, Expr::value(ABANDONED))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .col_expr(Column::LastError, Expr::value(error))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(PENDING))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Addresses with more than `bound` pending rows, at most `limit` of them.
pub async fn crowded_recipients(conn: &impl ConnectionTrait, bound: u32, limit: u64) -> Result<Vec<String>, DbErr> {
    mail_outbox::Entity::find()
        .select_only()
        .column(Column::Recipient)
        .filter(Column::Status.eq(PENDING))
        .group_by(Column::Recipient)
        .having(Column::Id.count().gt(i64::from(bound)))
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
}

/// The id and subject of every pending row to `recipient`, oldest first.
pub async fn pending_to(conn: &impl ConnectionTrait, recipient: &str) -> Result<Vec<(Uuid, String)>, DbErr> {
    mail_outbox::Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::Subject)
        .filter(Column::Status.eq(PENDING))
        .filter(Column::Recipient.eq(recipient))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .into_tuple()
        .all(conn)
        .await
}

/// Gives up the rows `ids` that are still pending without sending them, keeping `reason`
/// as their `last_error`; returns how many it gave up. `attempts` is left as it is: no
/// delivery was tried.
pub async fn give_up(conn: &impl ConnectionTrait, ids: &[Uuid], reason: &str) -> Result<u64, DbErr> {
    let result = mail_outbox::Entity::update_many()
        .col_expr(Column::Status, Expr::value(ABANDONED))
        .col_expr(Column::LastError, Expr::value(reason))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::Status.eq(PENDING))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Gives up the pending rows to `recipient` with `subject` queued before `before`, keeping
/// `reason` as their `last_error`; returns how many it gave up.
pub async fn give_up_older(
    conn: &impl ConnectionTrait,
    recipient: &str,
    subject: &str,
    before: DateTime<Utc>,
    reason: &str,
) -> Result<u64, DbErr> {
    let result = mail_outbox::Entity::update_many()
        .col_expr(Column::Status, Expr::value(ABANDONED))
        .col_expr(Column::LastError, Expr::value(reason))
        .filter(Column::Recipient.eq(recipient))
        .filter(Column::Subject.eq(subject))
        .filter(Column::CreatedAt.lt(before))
        .filter(Column::Status.eq(PENDING))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// The pending rows at a glance: how many, and when the earliest falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromQueryResult)]
pub struct PendingSummary {
    /// Rows still to deliver.
    pub pending: i64,
    /// The earliest `next_attempt_at` among them; `None` when there are none.
    pub next_due: Option<DateTime<Utc>>,
}

/// Counts pending rows and finds the earliest due time, in one statement.
pub async fn pending_summary(conn: &impl ConnectionTrait) -> Result<PendingSummary, DbErr> {
    let summary = mail_outbox::Entity::find()
        .select_only()
        .column_as(Column::Id.count(), "pending")
        .column_as(Column::NextAttemptAt.min(), "next_due")
        .filter(Column::Status.eq(PENDING))
        .into_model::<PendingSummary>()
        .one(conn)
        .await?;
    // An aggregate without GROUP BY always yields one row; the default covers the impossible.
    Ok(summary.unwrap_or(PendingSummary { pending: 0, next_due: None }))
}
