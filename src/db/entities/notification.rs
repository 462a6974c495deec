//! The `notification` table.

use sea_orm::entity::prelude::*;

/// One notification.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "notification")]
pub struct Model {
    /// UUIDv7 primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Who is told.
    pub recipient_id: Uuid,
    /// `POST_LIKED`, `POST_COMMENTED` or `CONTACT_ADDED`.
    pub kind: String,
    /// Who caused it.
    pub actor_id: Uuid,
    /// The post concerned, if any.
    pub post_id: Option<Uuid>,
    /// The comment concerned, if any.
    pub comment_id: Option<Uuid>,
    /// When the recipient marked it read.
    pub read_at: Option<DateTimeUtc>,
    /// When it happened.
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
