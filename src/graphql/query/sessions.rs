//! `mySessions`.

use async_graphql::{Context, Object};

use crate::{
    db,
    error::AppError,
    graphql::{context, types::Session},
    sessions::idle_cutoff,
};

/// Queries about the viewer's login sessions.
#[derive(Default)]
pub struct SessionsQuery;

#[Object]
impl SessionsQuery {
    /// The viewer's own login sessions that are neither expired nor revoked.
    async fn my_sessions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Session>> {
        let viewer = context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        let sessions = db::sessions::list_live(&state.db, viewer.user_id, db::now(), idle_cutoff(state))
            .await
            .map_err(AppError::from)?;
        Ok(sessions
            .into_iter()
            .map(|model| {
                let current = model.id == viewer.session_id;
                Session { model, current }
            })
            .collect())
    }
}
