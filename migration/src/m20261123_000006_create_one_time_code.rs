//! The `one_time_code` table: emailed codes for email verification and password reset.

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
                    .table(OneTimeCode::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(OneTimeCode::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(OneTimeCode::UserId).uuid().not_null())
                    // `verify_email` or `reset_password`.
                    .col(ColumnDef::new(OneTimeCode::Purpose).string_len(32).not_null())
                    // Only a hash is stored: a database leak does not hand out live codes.
                    .col(ColumnDef::new(OneTimeCode::CodeHash).text().not_null())
                    // Counted before each check, so racing guesses cannot exceed the limit.
                    .col(ColumnDef::new(OneTimeCode::Attempts).integer().not_null().default(0))
                    .col(ColumnDef::new(OneTimeCode::ExpiresAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(OneTimeCode::ConsumedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(OneTimeCode::CreatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(OneTimeCode::Table, OneTimeCode::UserId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One live code per user and purpose: a new request replaces the old row.
        manager
            .create_index(
                Index::create()
                    .name("uq_one_time_code_user_purpose")
                    .table(OneTimeCode::Table)
                    .col(OneTimeCode::UserId)
                    .col(OneTimeCode::Purpose)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_one_time_code_expires_at")
                    .table(OneTimeCode::Table)
                    .col(OneTimeCode::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(OneTimeCode::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum OneTimeCode {
    Table,
    Id,
    UserId,
    Purpose,
    CodeHash,
    Attempts,
    ExpiresAt,
    ConsumedAt,
    CreatedAt,
}
