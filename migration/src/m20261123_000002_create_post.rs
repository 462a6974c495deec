//! The `post` table: the feed.

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
                    .table(Post::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Post::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Post::AuthorId).uuid().not_null())
                    .col(ColumnDef::new(Post::Body).text().not_null())
                    // Counters kept in the same transaction as the like or comment they count,
                    // so a page of the feed reads them without one COUNT per post.
                    .col(ColumnDef::new(Post::LikeCount).integer().not_null().default(0))
                    .col(ColumnDef::new(Post::CommentCount).integer().not_null().default(0))
                    .col(ColumnDef::new(Post::CreatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Post::Table, Post::AuthorId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The feed pages newest first by (created_at, id): this index serves the keyset seek.
        manager
            .create_index(
                Index::create()
                    .name("idx_post_created_at_id")
                    .table(Post::Table)
                    .col(Post::CreatedAt)
                    .col(Post::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_post_author_id").table(Post::Table).col(Post::AuthorId).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Post::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Post {
    Table,
    Id,
    AuthorId,
    Body,
    LikeCount,
    CommentCount,
    CreatedAt,
}
