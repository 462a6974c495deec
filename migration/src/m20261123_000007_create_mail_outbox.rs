//! The `mail_outbox` table: mail written in the same transaction as what it announces and
//! delivered by a background worker, so no mail is sent on the request path or lost.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MailOutbox::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(MailOutbox::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(MailOutbox::Recipient).string_len(254).not_null())
                    .col(ColumnDef::new(MailOutbox::Subject).string_len(256).not_null())
                    .col(ColumnDef::new(MailOutbox::Body).text().not_null())
                    // pending, sent or abandoned.
                    .col(ColumnDef::new(MailOutbox::Status).string_len(16).not_null().default("pending"))
                    .col(ColumnDef::new(MailOutbox::Attempts).integer().not_null().default(0))
                    // When the next delivery may be tried; moved forward by back-off, and by a
                    // worker's claim so two workers never send the same row at once.
                    .col(ColumnDef::new(MailOutbox::NextAttemptAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(MailOutbox::LastError).text().null())
                    .col(ColumnDef::new(MailOutbox::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(MailOutbox::SentAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        // The worker's poll: pending rows that are due.
        manager
            .create_index(
                Index::create()
                    .name("idx_mail_outbox_status_next_attempt_at")
                    .table(MailOutbox::Table)
                    .col(MailOutbox::Status)
                    .col(MailOutbox::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(MailOutbox::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum MailOutbox {
    Table,
    Id,
    Recipient,
    Subject,
    Body,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    CreatedAt,
    SentAt,
}
