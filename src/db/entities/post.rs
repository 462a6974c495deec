//! The `post` table.

use sea_orm::entity::prelude::*;

/// One post of the feed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post")]
pub struct Model {
    /// UUIDv7 primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The user who wrote it.
    pub author_id: Uuid,
    /// 1–5,000 characters after trimming.
    pub body: String,
    /// Number of `post_like` rows, kept in the same transaction as each like.
    pub like_count: i32,
    /// Number of `comment` rows, kept in the same transaction as each comment.
    pub comment_count: i32,
    /// When it was posted; the feed's order with `id` as tie-break.
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::user::Entity", from = "Column::AuthorId", to = "super::user::Column::Id")]
    Author,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Author.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
