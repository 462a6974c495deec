//! The subscription root, merged from one object per feature.

mod contacts;
mod notifications;
mod repeats;
mod rooms;

pub use contacts::ContactsSubscription;
pub use notifications::NotificationsSubscription;
pub use rooms::RoomsSubscription;

/// Every subscription field.
#[derive(async_graphql::MergedSubscription, Default)]
pub struct Subscription(NotificationsSubscription, RoomsSubscription, ContactsSubscription);
