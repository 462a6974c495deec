//! The `comment` table.

use sea_orm::entity::prelude::*;

/// One comment on a post.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "comment")]
pub struct Model {
    /// UUIDv7 primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The post it belongs to.
    pub post_id: Uuid,
    /// The user who wrote it.
    pub author_id: Uuid,
    /// 1–2,000 characters after trimming.
    pub body: String,
    /// When; comments are listed oldest first.
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
