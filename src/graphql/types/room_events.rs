//! The events of `roomEvents` and `contactPresence`. Each holds ids from the broker's event
//! and loads its users through the request's loader when a client asks for them.

use async_graphql::{Context, Object, Union};
use uuid::Uuid;

use super::{ChatMessage, User};
use crate::{
    db::{chat::MessageWithAuthor, entities::chat_message},
    error::AppError,
    graphql::{context, loaders::UserKey},
    realtime::broker::PostedMessage,
};

async fn load_user(ctx: &Context<'_>, user_id: Uuid) -> async_graphql::Result<User> {
    let user = context::loader(ctx)?.load_one(UserKey(user_id)).await.map_err(context::load_failed)?;
    user.map(User).ok_or_else(|| AppError::NotFound("That user no longer exists.".into()).into())
}

/// An event of one room.
#[derive(Union)]
pub enum RoomEvent {
    /// Sent first on every subscription.
    PresenceSnapshot(PresenceSnapshot),
    /// A message was posted.
    MessagePosted(MessagePosted),
    /// A user's first live subscription to the room began.
    MemberJoined(MemberJoined),
    /// A user's last live subscription to the room ended.
    MemberLeft(MemberLeft),
    /// A member started or stopped typing.
    TypingChanged(TypingChanged),
}

/// Sent first on every roomEvents subscription.
pub struct PresenceSnapshot {
    /// Users online in the room, the subscriber included.
    pub user_ids: Vec<Uuid>,
}

#[Object]
impl PresenceSnapshot {
    async fn online_users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let users = context::loader(ctx)?
            .load_many(self.user_ids.iter().copied().map(UserKey))
            .await
            .map_err(context::load_failed)?;
        Ok(self.user_ids.iter().filter_map(|id| users.get(&UserKey(*id)).cloned()).map(User).collect())
    }

    async fn online_count(&self) -> i32 {
        i32::try_from(self.user_ids.len()).unwrap_or(i32::MAX)
    }
}

/// A message was posted to the room.
pub struct MessagePosted(pub PostedMessage);

#[Object]
impl MessagePosted {
    async fn message(&self, ctx: &Context<'_>) -> async_graphql::Result<ChatMessage> {
        let author = load_user(ctx, self.0.author_id).await?.0;
        let message = chat_message::Model {
            id: self.0.id,
            room_id: self.0.room_id,
            author_id: self.0.author_id,
            body: self.0.body.clone(),
            created_at: self.0.created_at,
        };
        Ok(ChatMessage(MessageWithAuthor { message, author }))
    }
}

/// A user's first live subscription to the room began (a second tab is not a new join).
pub struct MemberJoined {
    /// Who.
    pub user_id: Uuid,
    /// Distinct users online in the room now.
    pub online_count: usize,
}

#[Object]
impl MemberJoined {
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        load_user(ctx, self.user_id).await
    }

    async fn online_count(&self) -> i32 {
        i32::try_from(self.online_count).unwrap_or(i32::MAX)
    }
}

/// A user's last live subscription to the room ended (unsubscribe, close, logout or idle expiry).
pub struct MemberLeft {
    /// Who.
    pub user_id: Uuid,
    /// Distinct users online in the room now.
    pub online_count: usize,
}

#[Object]
impl MemberLeft {
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        load_user(ctx, self.user_id).await
    }

    async fn online_count(&self) -> i32 {
        i32::try_from(self.online_count).unwrap_or(i32::MAX)
    }
}

/// A member started or stopped typing.
pub struct TypingChanged {
    /// Who.
    pub user_id: Uuid,
    /// Typing now.
    pub typing: bool,
}

#[Object]
impl TypingChanged {
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        load_user(ctx, self.user_id).await
    }

    async fn typing(&self) -> bool {
        self.typing
    }
}

/// A contact's online state.
pub struct ContactPresence {
    /// The contact.
    pub user_id: Uuid,
    /// Online now.
    pub online: bool,
}

#[Object]
impl ContactPresence {
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        load_user(ctx, self.user_id).await
    }

    async fn online(&self) -> bool {
        self.online
    }
}
