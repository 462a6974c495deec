//! The `user` table: one row per account.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(User::Table)
                    .if_not_exists()
                    // UUIDv7 ids: unguessable enough to expose, and time-ordered so inserts
                    // append to the primary-key index instead of scattering.
                    .col(ColumnDef::new(User::Id).uuid().not_null().primary_key())
                    // Stored trimmed and lower-cased by the domain layer, so a plain unique
                    // index is a case-insensitive uniqueness rule on every backend.
                    .col(ColumnDef::new(User::Email).string_len(254).not_null().unique_key())
                    .col(ColumnDef::new(User::Username).string_len(32).not_null().unique_key())
                    .col(ColumnDef::new(User::DisplayName).string_len(64).not_null())
                    // An argon2id PHC string; never leaves the server.
                    .col(ColumnDef::new(User::PasswordHash).text().not_null())
                    .col(ColumnDef::new(User::EmailVerifiedAt).timestamp_with_time_zone().null())
                    // USER or ADMIN; ADMIN_EMAILS also grants ADMIN at read time.
                    .col(ColumnDef::new(User::Role).string_len(16).not_null().default("USER"))
                    .col(ColumnDef::new(User::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(User::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum User {
    Table,
    Id,
    Email,
    Username,
    DisplayName,
    PasswordHash,
    EmailVerifiedAt,
    Role,
    CreatedAt,
}
