//! The `chat_room` table.

use sea_orm::entity::prelude::*;

/// One chat room.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chat_room")]
pub struct Model {
    /// UUIDv7 primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The name as typed (trimmed), 1 to 64 characters.
    pub name: String,
    /// `name` lower-cased; unique, so names are unique case-insensitively.
    pub name_key: String,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// The `seq` of its newest message (0 before the first).
    pub last_seq: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
