//! `contacts`: the people the viewer added.

use async_graphql::{Context, Object};

use crate::{
    db,
    error::AppError,
    graphql::{context, types::User},
};

/// Queries about contacts.
#[derive(Default)]
pub struct ContactsQuery;

#[Object]
impl ContactsQuery {
    /// The viewer's contacts, with their live `online` flag.
    async fn contacts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let viewer = context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        // One statement: the users come joined to the contact rows, ordered by username.
        let contacts = db::contacts::list(&state.db, viewer.user_id).await.map_err(AppError::from)?;
        Ok(contacts.into_iter().map(User).collect())
    }
}
