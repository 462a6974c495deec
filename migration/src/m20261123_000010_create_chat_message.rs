//! The `chat_message` table: what members said in each room.

use sea_orm_migration::prelude::*;

use crate::{m20261123_000001_create_user::User, m20261123_000009_create_chat_room::ChatRoom};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChatMessage::Table)
                    .if_not_exists()
                    // UUIDv7: creation order, the tie-break of the history's (created_at, id) order.
                    .col(ColumnDef::new(ChatMessage::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(ChatMessage::RoomId).uuid().not_null())
                    .col(ColumnDef::new(ChatMessage::AuthorId).uuid().not_null())
                    // 1–4,000 characters after trimming, checked by the domain layer.
                    .col(ColumnDef::new(ChatMessage::Body).text().not_null())
                    .col(ColumnDef::new(ChatMessage::CreatedAt).timestamp_with_time_zone().not_null())
                    // The key is what tells sendMessage that a room does not exist, in the same
                    // statement that stores the message (no check-then-insert race).
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChatMessage::Table, ChatMessage::RoomId)
                            .to(ChatRoom::Table, ChatRoom::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChatMessage::Table, ChatMessage::AuthorId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A room's history pages backwards by (created_at, id): this index serves the keyset
        // seek and the per-room ROW_NUMBER of a page of rooms.
        manager
            .create_index(
                Index::create()
                    .name("idx_chat_message_room_created_at_id")
                    .table(ChatMessage::Table)
                    .col(ChatMessage::RoomId)
                    .col(ChatMessage::CreatedAt)
                    .col(ChatMessage::Id)
                    .to_owned(),
            )
            .await?;
        // Deleting a user cascades to their messages; without it that scans the table.
        manager
            .create_index(
                Index::create()
                    .name("idx_chat_message_author_id")
                    .table(ChatMessage::Table)
                    .col(ChatMessage::AuthorId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ChatMessage::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum ChatMessage {
    Table,
    Id,
    RoomId,
    AuthorId,
    Body,
    CreatedAt,
}
