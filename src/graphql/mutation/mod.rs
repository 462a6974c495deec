//! The mutation root, merged from one object per feature.

mod accounts;
mod chat;
mod contacts;
mod feed;
mod notifications;
mod sessions;
mod typing;

pub use accounts::AccountsMutation;
pub use chat::ChatMutation;
pub use contacts::ContactsMutation;
pub use feed::FeedMutation;
pub use notifications::NotificationsMutation;
pub use sessions::SessionsMutation;
pub use typing::TypingMutation;

/// Every mutation field.
#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(
    AccountsMutation,
    SessionsMutation,
    FeedMutation,
    ChatMutation,
    NotificationsMutation,
    ContactsMutation,
    TypingMutation,
);
