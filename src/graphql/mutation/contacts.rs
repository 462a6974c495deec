//! `addContact` and `removeContact`: the viewer's one-way contact list.

use async_graphql::{Context, ID, Object};
use uuid::Uuid;

use crate::{
    db::{self, contacts::user_not_found},
    error::AppError,
    graphql::{context, loaders::UserKey, types::User},
    realtime::broker::{Event, Topic},
};

/// Mutations of contacts.
#[derive(Default)]
pub struct ContactsMutation;

#[Object]
impl ContactsMutation {
    /// Adds a user to the viewer's contacts and notifies them (once: adding again changes
    /// nothing). Returns the added user.
    async fn add_contact(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<User> {
        let viewer = context::require_viewer(ctx)?;
        // A malformed id names no user, so it is NOT_FOUND like an unknown one.
        let contact_id = Uuid::parse_str(&user_id).map_err(|_| user_not_found())?;
        if contact_id == viewer.user_id {
            return Err(AppError::bad_input("You cannot add yourself to your contacts. Pick another user.").into());
        }
        let state = context::state(ctx)?;
        let notification = db::contacts::add(&state.db, viewer.user_id, contact_id).await.map_err(AppError::from)?;
        // Committed: the added user's live subscriptions may hear of it now, and a subscriber
        // reading its backlog finds it there if it was not sent live.
        if let Some(notification) = notification {
            state.broker.publish(Topic::User(notification.recipient_id), Event::Notification(notification));
        }
        let user = context::loader(ctx)?
            .load_one(UserKey(contact_id))
            .await
            .map_err(context::load_failed)?
            // Deleted between the insert and this read: the cascade took the contact too.
            .ok_or_else(user_not_found)?;
        Ok(User(user))
    }

    /// Removes a user from the viewer's contacts: true if they were one, false otherwise
    /// (an unknown id included).
    async fn remove_contact(&self, ctx: &Context<'_>, user_id: ID) -> async_graphql::Result<bool> {
        let viewer = context::require_viewer(ctx)?;
        let Ok(contact_id) = Uuid::parse_str(&user_id) else { return Ok(false) };
        let state = context::state(ctx)?;
        Ok(db::contacts::remove(&state.db, viewer.user_id, contact_id).await.map_err(AppError::from)?)
    }
}
