//! The `post_like` table: who liked which post (`like` itself is an SQL keyword).

use sea_orm_migration::prelude::*;

use crate::{m20261123_000001_create_user::User, m20261123_000002_create_post::Post};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PostLike::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(PostLike::PostId).uuid().not_null())
                    .col(ColumnDef::new(PostLike::UserId).uuid().not_null())
                    .col(ColumnDef::new(PostLike::CreatedAt).timestamp_with_time_zone().not_null())
                    // One like per user and post: the key makes likePost idempotent under races.
                    .primary_key(Index::create().col(PostLike::PostId).col(PostLike::UserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PostLike::Table, PostLike::PostId)
                            .to(Post::Table, Post::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PostLike::Table, PostLike::UserId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Serves "most recent likers first" per post.
        manager
            .create_index(
                Index::create()
                    .name("idx_post_like_post_id_created_at")
                    .table(PostLike::Table)
                    .col(PostLike::PostId)
                    .col(PostLike::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_post_like_user_id").table(PostLike::Table).col(PostLike::UserId).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PostLike::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum PostLike {
    Table,
    PostId,
    UserId,
    CreatedAt,
}
