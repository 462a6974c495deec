//! The `user` table.

use sea_orm::entity::prelude::*;

/// One account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user")]
pub struct Model {
    /// UUIDv7 primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Trimmed, lower-cased, unique.
    #[sea_orm(unique)]
    pub email: String,
    /// `a-z 0-9 _`, 3–32 characters, unique.
    #[sea_orm(unique)]
    pub username: String,
    /// The name shown to others.
    pub display_name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// When the address was confirmed; `None` until then.
    pub email_verified_at: Option<DateTimeUtc>,
    /// `USER` or `ADMIN`.
    pub role: String,
    /// When the account was created.
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::post::Entity")]
    Post,
}

impl Related<super::post::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Post.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
