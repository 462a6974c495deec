//! Login sessions: `logout`, `revokeSession`, `logoutOtherSessions`.

use async_graphql::{Context, ID, Object};
use uuid::Uuid;

use crate::{
    db,
    error::AppError,
    graphql::context,
    sessions::{EndReason, end_sessions},
};

/// Session mutations.
#[derive(Default)]
pub struct SessionsMutation;

#[Object]
impl SessionsMutation {
    /// Revokes the current session and closes its subscription connections.
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let viewer = context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        end_sessions(state, viewer.user_id, Some(viewer.session_id), None, EndReason::Logout).await?;
        Ok(true)
    }

    /// Revokes one of the viewer's sessions and closes its connections.
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let viewer = context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        let not_found = || AppError::NotFound("No session has this id.".into());
        let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
        let session = db::sessions::find(&state.db, id).await.map_err(AppError::from)?.ok_or_else(not_found)?;
        if session.user_id != viewer.user_id {
            return Err(AppError::Forbidden("That session belongs to another account.".into()).into());
        }
        // Revoking an already revoked session is a no-op that still answers true.
        end_sessions(state, viewer.user_id, Some(id), None, EndReason::Revoked).await?;
        Ok(true)
    }

    /// Revokes every session of the viewer but the current one; returns how many.
    async fn logout_other_sessions(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let viewer = context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        let ended = end_sessions(state, viewer.user_id, None, Some(viewer.session_id), EndReason::LogoutOthers).await?;
        Ok(i32::try_from(ended.len()).unwrap_or(i32::MAX))
    }
}
