//! sea-orm entities, one per table. They are storage shapes only: the GraphQL types in
//! `crate::graphql::types` are built from them, so the API never mirrors a table by accident.

pub mod chat_message;
pub mod chat_room;
pub mod comment;
pub mod contact;
pub mod mail_outbox;
pub mod notification;
pub mod one_time_code;
pub mod post;
pub mod post_like;
pub mod session;
pub mod user;
