//! Real time: the graphql-ws socket endpoint, the connection registry, idle expiry, and the
//! event broker subscriptions listen on.

pub mod broker;
pub mod expiry;
pub mod gate;
pub mod presence;
pub mod protocol;
pub mod registry;
pub mod socket;
pub mod typing;
