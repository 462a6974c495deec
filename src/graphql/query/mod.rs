//! The query root, merged from one object per feature.

mod feed;
mod notifications;
mod sessions;
mod stats;
mod users;

pub use feed::FeedQuery;
pub use notifications::NotificationsQuery;
pub use sessions::SessionsQuery;
pub use stats::{SessionStats, StatsQuery};
pub use users::UsersQuery;

/// Every query field.
#[derive(async_graphql::MergedObject, Default)]
pub struct Query(UsersQuery, FeedQuery, SessionsQuery, NotificationsQuery, StatsQuery);
