//! `rooms` and `room`: the chat rooms, open to every signed-in user.

use std::collections::BTreeSet;

use async_graphql::{Context, ID, Object, SelectionField};
use uuid::Uuid;

use crate::{
    db,
    error::AppError,
    graphql::{
        context,
        loaders::{RoomKey, RoomMessagesKey},
        types::{ChatRoom, chat::DEFAULT_LAST, page::MAX_PAGE_SIZE},
    },
};

/// Queries about chat rooms.
#[derive(Default)]
pub struct ChatQuery;

#[Object]
impl ChatQuery {
    /// Every room, ordered by name (case-insensitively).
    async fn rooms(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ChatRoom>> {
        context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        let rooms = db::chat::rooms(&state.db).await.map_err(AppError::from)?;
        // Every room's latest messages in one batch per page size, before the rooms resolve:
        // the DataLoader alone batches by timing and could split a long list in two.
        let ids: Vec<Uuid> = rooms.iter().map(|room| room.id).collect();
        let loader = context::loader(ctx)?;
        for size in latest_page_sizes(&ctx.look_ahead().field("messages").selection_fields()) {
            loader.load_many(ids.iter().map(|id| RoomMessagesKey(*id, size))).await.map_err(context::load_failed)?;
        }
        Ok(rooms.into_iter().map(ChatRoom).collect())
    }

    /// The room with this id; null for an unknown (or malformed) id.
    async fn room(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<ChatRoom>> {
        context::require_viewer(ctx)?;
        let Ok(id) = Uuid::parse_str(&id) else { return Ok(None) };
        let room = context::loader(ctx)?.load_one(RoomKey(id)).await.map_err(context::load_failed)?;
        Ok(room.map(ChatRoom))
    }
}

/// The `last` of each selected `messages` field that asks for the latest page (no `before`):
/// those are the pages the loader serves. A field with a cursor, or with an out-of-range
/// `last` (its resolver reports that), needs nothing prefetched.
fn latest_page_sizes(fields: &[SelectionField<'_>]) -> BTreeSet<u64> {
    fields
        .iter()
        .filter_map(|field| {
            let arguments = field.arguments().ok()?;
            let argument = |name: &str| {
                arguments
                    .iter()
                    .find(|(argument, _)| argument.as_str() == name)
                    .map(|(_, value)| value)
                    .filter(|value| **value != async_graphql::Value::Null)
            };
            if argument("before").is_some() {
                return None;
            }
            match argument("last") {
                None => Some(DEFAULT_LAST),
                Some(async_graphql::Value::Number(number)) => {
                    number.as_u64().filter(|last| *last <= MAX_PAGE_SIZE as u64)
                }
                Some(_) => None,
            }
        })
        .collect()
}
