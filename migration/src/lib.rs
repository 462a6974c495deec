//! Database migrations of townsquare, applied in order at start-up (or by `townsquare migrate`,
//! or by `cargo run -p migration -- up` as sea-orm-cli users expect).

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_user;
mod m20261123_000002_create_post;
mod m20261123_000003_create_post_like;
mod m20261123_000004_create_comment;
mod m20261123_000005_create_session;
mod m20261123_000006_create_one_time_code;
mod m20261123_000007_create_mail_outbox;
mod m20261123_000008_create_notification;
mod m20261123_000009_create_chat_room;
mod m20261123_000010_create_chat_message;
mod m20261123_000011_create_contact;
mod m20261203_000012_add_message_seq;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_user::Migration),
            Box::new(m20261123_000002_create_post::Migration),
            Box::new(m20261123_000003_create_post_like::Migration),
            Box::new(m20261123_000004_create_comment::Migration),
            Box::new(m20261123_000005_create_session::Migration),
            Box::new(m20261123_000006_create_one_time_code::Migration),
            Box::new(m20261123_000007_create_mail_outbox::Migration),
            Box::new(m20261123_000008_create_notification::Migration),
            Box::new(m20261123_000009_create_chat_room::Migration),
            Box::new(m20261123_000010_create_chat_message::Migration),
            Box::new(m20261123_000011_create_contact::Migration),
            Box::new(m20261203_000012_add_message_seq::Migration),
        ]
    }
}
