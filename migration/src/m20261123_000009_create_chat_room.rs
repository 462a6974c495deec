//! The `chat_room` table: the rooms of the chat, open to every signed-in user.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChatRoom::Table)
                    .if_not_exists()
                    // UUIDv7, as every table: ids that append to the primary-key index.
                    .col(ColumnDef::new(ChatRoom::Id).uuid().not_null().primary_key())
                    // The name as its creator typed it (trimmed), 1 to 64 characters.
                    .col(ColumnDef::new(ChatRoom::Name).string_len(64).not_null())
                    // The name lower-cased by the server. Uniqueness lives here, not on `name`:
                    // a plain unique index on a normalized column is case-insensitive on every
                    // backend, where `LOWER(name)` or a collation would differ between them.
                    // Text rather than 64 characters: lower-casing can lengthen a name (İ → i̇).
                    .col(ColumnDef::new(ChatRoom::NameKey).text().not_null())
                    .col(ColumnDef::new(ChatRoom::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        // Makes two racing createRoom calls with the same name fail one of them, and serves
        // `rooms`, which lists them in this (case-insensitive) order.
        manager
            .create_index(
                Index::create()
                    .name("idx_chat_room_name_key")
                    .table(ChatRoom::Table)
                    .col(ChatRoom::NameKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ChatRoom::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum ChatRoom {
    Table,
    Id,
    Name,
    NameKey,
    CreatedAt,
}
