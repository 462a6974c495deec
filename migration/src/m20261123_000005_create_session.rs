//! The `session` table: one row per login. A token is valid only while its row is neither
//! expired nor revoked.

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
                    .table(Session::Table)
                    .if_not_exists()
                    // 128 random bits (not a v4 UUID, which has 122): the token names it, so
                    // it must be unguessable on its own.
                    .col(ColumnDef::new(Session::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Session::UserId).uuid().not_null())
                    .col(ColumnDef::new(Session::CreatedAt).timestamp_with_time_zone().not_null())
                    // Written at most once per SESSION_TOUCH_INTERVAL_SECONDS, so reads never
                    // turn into a write per request.
                    .col(ColumnDef::new(Session::LastSeenAt).timestamp_with_time_zone().not_null())
                    // The absolute end; the idle end is last_seen_at + the idle timeout.
                    .col(ColumnDef::new(Session::ExpiresAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Session::RevokedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Session::RevokedReason).string_len(32).null())
                    .col(ColumnDef::new(Session::UserAgent).string_len(512).null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Session::Table, Session::UserId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_session_user_id").table(Session::Table).col(Session::UserId).to_owned(),
            )
            .await?;
        // The cleanup deletes by expiry.
        manager
            .create_index(
                Index::create().name("idx_session_expires_at").table(Session::Table).col(Session::ExpiresAt).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Session::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Session {
    Table,
    Id,
    UserId,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    RevokedAt,
    RevokedReason,
    UserAgent,
}
