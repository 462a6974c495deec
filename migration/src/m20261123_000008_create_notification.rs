//! The `notification` table: what a user is told about (likes, comments, contacts).

use sea_orm_migration::prelude::*;

use crate::{
    m20261123_000001_create_user::User, m20261123_000002_create_post::Post, m20261123_000004_create_comment::Comment,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notification::Table)
                    .if_not_exists()
                    // UUIDv7: creation order, so ids double as a stable tie-break for paging.
                    .col(ColumnDef::new(Notification::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Notification::RecipientId).uuid().not_null())
                    // POST_LIKED, POST_COMMENTED or CONTACT_ADDED.
                    .col(ColumnDef::new(Notification::Kind).string_len(32).not_null())
                    .col(ColumnDef::new(Notification::ActorId).uuid().not_null())
                    .col(ColumnDef::new(Notification::PostId).uuid().null())
                    .col(ColumnDef::new(Notification::CommentId).uuid().null())
                    .col(ColumnDef::new(Notification::ReadAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Notification::CreatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notification::Table, Notification::RecipientId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notification::Table, Notification::ActorId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notification::Table, Notification::PostId)
                            .to(Post::Table, Post::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notification::Table, Notification::CommentId)
                            .to(Comment::Table, Comment::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A user's notifications, newest first, and the unread ones.
        manager
            .create_index(
                Index::create()
                    .name("idx_notification_recipient_created_at")
                    .table(Notification::Table)
                    .col(Notification::RecipientId)
                    .col(Notification::CreatedAt)
                    .col(Notification::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Notification::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Notification {
    Table,
    Id,
    RecipientId,
    Kind,
    ActorId,
    PostId,
    CommentId,
    ReadAt,
    CreatedAt,
}
