//! The subscription root, merged from one object per feature.

mod notifications;

pub use notifications::NotificationsSubscription;

/// Every subscription field.
#[derive(async_graphql::MergedSubscription, Default)]
pub struct Subscription(NotificationsSubscription);
