//! `me` and `user`.

use async_graphql::{Context, ID, Object};
use uuid::Uuid;

use crate::graphql::{context, loaders::UserKey, types::User};

/// Queries about people.
#[derive(Default)]
pub struct UsersQuery;

#[Object]
impl UsersQuery {
    /// Null when the request carries no valid token.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(viewer) = context::viewer(ctx) else { return Ok(None) };
        let user = context::loader(ctx)?.load_one(UserKey(viewer.user_id)).await.map_err(context::load_failed)?;
        Ok(user.map(User))
    }

    async fn user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<User>> {
        // An id that is not a UUID names no user: null, as for any unknown id.
        let Ok(id) = Uuid::parse_str(&id) else { return Ok(None) };
        let user = context::loader(ctx)?.load_one(UserKey(id)).await.map_err(context::load_failed)?;
        Ok(user.map(User))
    }
}
