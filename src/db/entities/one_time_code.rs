//! The `one_time_code` table.

use sea_orm::entity::prelude::*;

/// One emailed code.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "one_time_code")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Whose code.
    pub user_id: Uuid,
    /// `verify_email` or `reset_password`.
    pub purpose: String,
    /// argon2id hash of the code.
    pub code_hash: String,
    /// Checks made so far, counted before each check.
    pub attempts: i32,
    /// After this the code is dead.
    pub expires_at: DateTimeUtc,
    /// Set by the one successful check.
    pub consumed_at: Option<DateTimeUtc>,
    /// When it was issued.
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
