//! The `contact` table.

use sea_orm::entity::prelude::*;

/// One user's addition of another to their contacts (one-way).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contact")]
pub struct Model {
    /// Whose contact list this row belongs to.
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_id: Uuid,
    /// The user they added.
    #[sea_orm(primary_key, auto_increment = false)]
    pub contact_id: Uuid,
    /// When they added them.
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
