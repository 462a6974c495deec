//! The `contact` table: the people each user added. One-way: a row says that `owner_id`
//! added `contact_id`, nothing about the reverse.

use sea_orm_migration::prelude::*;

use crate::m20261123_000001_create_user::User;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Contact::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Contact::OwnerId).uuid().not_null())
                    .col(ColumnDef::new(Contact::ContactId).uuid().not_null())
                    .col(ColumnDef::new(Contact::CreatedAt).timestamp_with_time_zone().not_null())
                    // One row per pair: the key makes addContact idempotent under races, and
                    // its leading column serves "the contacts of this user".
                    .primary_key(Index::create().col(Contact::OwnerId).col(Contact::ContactId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Contact::Table, Contact::OwnerId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    // The key is what tells addContact that a user does not exist, in the same
                    // statement that adds them.
                    .foreign_key(
                        ForeignKey::create()
                            .from(Contact::Table, Contact::ContactId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // "Who has this user as a contact": presence changes go to them, and deleting a user
        // cascades through it.
        manager
            .create_index(
                Index::create().name("idx_contact_contact_id").table(Contact::Table).col(Contact::ContactId).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Contact::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
#[expect(clippy::enum_variant_names, reason = "the column `contact.contact_id` names the added user")]
pub enum Contact {
    Table,
    OwnerId,
    ContactId,
    CreatedAt,
}
