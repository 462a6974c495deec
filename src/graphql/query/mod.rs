//! The query root, merged from one object per feature.

mod chat;
mod contacts;
mod feed;
mod notifications;
mod sessions;
mod stats;
mod users;

pub use chat::ChatQuery;
pub use contacts::ContactsQuery;
pub use feed::FeedQuery;
pub use notifications::NotificationsQuery;
pub use sessions::SessionsQuery;
pub use stats::{SessionStats, StatsQuery};
pub use users::UsersQuery;

/// Every query field.
#[derive(async_graphql::MergedObject, Default)]
pub struct Query(UsersQuery, FeedQuery, ChatQuery, SessionsQuery, NotificationsQuery, ContactsQuery, StatsQuery);
