//! Per-room message sequence numbers, and an index for the revocation poll.
//!
//! `chat_room.last_seq` is incremented in the transaction that inserts a message, so a room's
//! sequence numbers follow commit order with no gap: an instance that receives message 7
//! after message 5 knows message 6 exists and reads it from here. `session.revoked_at` is
//! indexed because every instance asks each second which sessions were revoked since it last
//! looked.

use sea_orm_migration::prelude::*;

use crate::{
    m20261123_000005_create_session::Session, m20261123_000009_create_chat_room::ChatRoom,
    m20261123_000010_create_chat_message::ChatMessage,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Added {
    LastSeq,
    Seq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(ChatRoom::Table)
                    .add_column(ColumnDef::new(Added::LastSeq).big_integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ChatMessage::Table)
                    .add_column(ColumnDef::new(Added::Seq).big_integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        // Messages stored before this migration are numbered in their history order.
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE chat_message SET seq = (SELECT COUNT(*) FROM chat_message earlier \
             WHERE earlier.room_id = chat_message.room_id AND (earlier.created_at < chat_message.created_at \
             OR (earlier.created_at = chat_message.created_at AND earlier.id <= chat_message.id)))",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE chat_room SET last_seq = (SELECT COALESCE(MAX(seq), 0) FROM chat_message \
             WHERE chat_message.room_id = chat_room.id)",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_chat_message_room_seq")
                    .table(ChatMessage::Table)
                    .col(ChatMessage::RoomId)
                    .col(Added::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_session_revoked_at").table(Session::Table).col(Session::RevokedAt).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_session_revoked_at").table(Session::Table).to_owned()).await?;
        manager
            .drop_index(Index::drop().name("idx_chat_message_room_seq").table(ChatMessage::Table).to_owned())
            .await?;
        manager.alter_table(Table::alter().table(ChatMessage::Table).drop_column(Added::Seq).to_owned()).await?;
        manager.alter_table(Table::alter().table(ChatRoom::Table).drop_column(Added::LastSeq).to_owned()).await
    }
}
