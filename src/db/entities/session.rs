//! The `session` table.

use sea_orm::entity::prelude::*;

/// One login session.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session")]
pub struct Model {
    /// 128 random bits; the token's `sid`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Whose session.
    pub user_id: Uuid,
    /// When the user signed in.
    pub created_at: DateTimeUtc,
    /// Last use, written at most once per touch interval.
    pub last_seen_at: DateTimeUtc,
    /// The absolute end.
    pub expires_at: DateTimeUtc,
    /// When it was revoked; `None` while live.
    pub revoked_at: Option<DateTimeUtc>,
    /// Why: `logout`, `revoked`, `logout_others`, `password_reset`.
    pub revoked_reason: Option<String>,
    /// The browser or client that signed in.
    pub user_agent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
