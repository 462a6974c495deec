//! The `mail_outbox` table.

use sea_orm::entity::prelude::*;

/// One queued mail.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_outbox")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The address it goes to.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// `pending`, `sent` or `abandoned`.
    pub status: String,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// Earliest time of the next attempt.
    pub next_attempt_at: DateTimeUtc,
    /// The last delivery error, for operators.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTimeUtc,
    /// When the SMTP server accepted it.
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
