//! `createRoom` and `sendMessage`: the chat's writes.

use async_graphql::{Context, ID, Object};
use uuid::Uuid;

use crate::{
    db::{
        self,
        chat::{MessageWithAuthor, room_not_found},
    },
    domain::{MessageBody, RoomName},
    error::AppError,
    graphql::{
        context,
        loaders::{RoomMessagesKey, UserKey},
        types::{ChatMessage, ChatRoom},
    },
    realtime::broker::{Event, PostedMessage, Topic},
};

/// Mutations of the chat.
#[derive(Default)]
pub struct ChatMutation;

#[Object]
impl ChatMutation {
    /// Creates a room named `name`: 1 to 64 characters after trimming, unique whatever the
    /// case ("Lobby" and "lobby" cannot both exist). The name is shown as typed.
    async fn create_room(&self, ctx: &Context<'_>, name: String) -> async_graphql::Result<ChatRoom> {
        context::require_viewer(ctx)?;
        let name = RoomName::parse(&name).map_err(AppError::from)?;
        let state = context::state(ctx)?;
        // The unique index decides, so two racing requests for one name cannot both succeed.
        let room = db::chat::create_room(&state.db, &name).await.map_err(|error| {
            AppError::from_db_unique(error, |_| {
                format!(
                    "A room named \u{201c}{}\u{201d} already exists (names ignore case). Pick another name, or join that room.",
                    name.as_str()
                )
            })
        })?;
        Ok(ChatRoom(room))
    }

    /// Sends `body` (1 to 4,000 characters after trimming) to a room as the viewer; every
    /// `roomEvents` subscription of the room receives it, the sender's own included.
    async fn send_message(&self, ctx: &Context<'_>, room_id: ID, body: String) -> async_graphql::Result<ChatMessage> {
        let viewer = context::require_viewer(ctx)?;
        // A malformed id names no room, so it is NOT_FOUND like an unknown one.
        let room_id = Uuid::parse_str(&room_id).map_err(|_| room_not_found())?;
        let body = MessageBody::parse(&body).map_err(AppError::from)?;
        let state = context::state(ctx)?;
        // Counted after validation, so a rejected body does not use up the sender's quota.
        state.rate_limits.message(viewer.user_id)?;
        let message =
            db::chat::send_message(&state.db, room_id, viewer.user_id, &body).await.map_err(AppError::from)?;
        let loader = context::loader(ctx)?;
        // A later field of this document reading the room must see the new message.
        loader.clear::<RoomMessagesKey>();
        // Loaded once here and carried by the event, so no subscriber loads it again.
        let author = loader
            .load_one(UserKey(viewer.user_id))
            .await
            .map_err(context::load_failed)?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the viewer {} has no user row", viewer.user_id)))?;
        // The typing indicator ends first, so clients replace it with the message.
        state.typing.message_sent(room_id, &author);
        // One statement, committed on return: subscribers may hear of it now, and whoever
        // then reads the history finds it there.
        state.broker.publish(Topic::Room(room_id), Event::MessagePosted(PostedMessage::of(&message, &author)));
        Ok(ChatMessage(MessageWithAuthor { message, author }))
    }
}
