//! `setTyping`.

use async_graphql::{Context, ID, Object};
use uuid::Uuid;

use crate::{
    db,
    error::AppError,
    graphql::{context, loaders::UserKey},
};

/// Typing indicators.
#[derive(Default)]
pub struct TypingMutation;

#[Object]
impl TypingMutation {
    /// Tells the room's other members the viewer started (true) or stopped (false) typing; a
    /// `true` lapses by itself after `TYPING_TIMEOUT_SECONDS` without renewal.
    async fn set_typing(&self, ctx: &Context<'_>, room_id: ID, typing: bool) -> async_graphql::Result<bool> {
        let viewer = context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        state.rate_limits.typing(viewer.user_id)?;
        let room_id = Uuid::parse_str(&room_id).map_err(|_| db::chat::room_not_found())?;
        db::chat::find_room(&state.db, room_id).await.map_err(AppError::from)?.ok_or_else(db::chat::room_not_found)?;
        let user = context::loader(ctx)?
            .load_one(UserKey(viewer.user_id))
            .await
            .map_err(context::load_failed)?
            .ok_or_else(|| AppError::Unauthenticated("This account no longer exists.".into()))?;
        state.typing.set(room_id, user, typing);
        Ok(true)
    }
}
