//! The `comment` table: comments on posts.

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
                    .table(Comment::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Comment::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Comment::PostId).uuid().not_null())
                    .col(ColumnDef::new(Comment::AuthorId).uuid().not_null())
                    .col(ColumnDef::new(Comment::Body).text().not_null())
                    .col(ColumnDef::new(Comment::CreatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Comment::Table, Comment::PostId)
                            .to(Post::Table, Post::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Comment::Table, Comment::AuthorId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Serves "oldest first" comments and first-comment order of commenters per post.
        manager
            .create_index(
                Index::create()
                    .name("idx_comment_post_id_created_at")
                    .table(Comment::Table)
                    .col(Comment::PostId)
                    .col(Comment::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_comment_author_id").table(Comment::Table).col(Comment::AuthorId).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Comment::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Comment {
    Table,
    Id,
    PostId,
    AuthorId,
    Body,
    CreatedAt,
}
