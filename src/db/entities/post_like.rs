//! The `post_like` table.

use sea_orm::entity::prelude::*;

/// One user's like of one post.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post_like")]
pub struct Model {
    /// The liked post.
    #[sea_orm(primary_key, auto_increment = false)]
    pub post_id: Uuid,
    /// The user who liked it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// When; likers are listed most recent first.
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
