//! The `chat_message` table.

use sea_orm::entity::prelude::*;

/// One message in a room.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chat_message")]
pub struct Model {
    /// UUIDv7 primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The room it was sent to.
    pub room_id: Uuid,
    /// The user who sent it.
    pub author_id: Uuid,
    /// 1–4,000 characters after trimming.
    pub body: String,
    /// When it was sent; the history's order with `id` as tie-break.
    pub created_at: DateTimeUtc,
    /// Its place in the room: 1, 2, 3… in commit order, with no gap.
    pub seq: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
