//! The mutation root, merged from one object per feature.

mod accounts;
mod chat;
mod contacts;
mod feed;
mod notifications;
mod sessions;

pub use accounts::AccountsMutation;
pub use chat::ChatMutation;
pub use contacts::ContactsMutation;
pub use feed::FeedMutation;
pub use notifications::NotificationsMutation;
pub use sessions::SessionsMutation;

/// Every mutation field.
#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(AccountsMutation, SessionsMutation, FeedMutation, ChatMutation, NotificationsMutation, ContactsMutation);
