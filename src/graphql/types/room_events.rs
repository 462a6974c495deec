//! The events of `roomEvents` and `contactPresence`. They hold the records the broker's events
//! carry, so resolving one for each of thousands of subscribers reads nothing from the database.

use async_graphql::{Object, Union};

use super::{ChatMessage, User, chat::MESSAGE_CURSOR, page::encode_cursor};
use crate::{
    db::{chat::MessageWithAuthor, entities::chat_message, feed::FeedPosition, users::UserRecord},
    realtime::broker::PostedMessage,
};

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

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Sent first on every roomEvents subscription.
pub struct PresenceSnapshot {
    /// Users online in the room, the subscriber included.
    pub users: Vec<UserRecord>,
}

#[Object]
impl PresenceSnapshot {
    async fn online_users(&self) -> Vec<User> {
        self.users.iter().cloned().map(User).collect()
    }

    async fn online_count(&self) -> i32 {
        count(self.users.len())
    }
}

/// A message was posted to the room.
pub struct MessagePosted(pub PostedMessage);

#[Object]
impl MessagePosted {
    /// The message's cursor: pass it as `roomEvents(after:)` to resume after this message.
    async fn cursor(&self) -> String {
        encode_cursor(MESSAGE_CURSOR, FeedPosition { created_at: self.0.created_at, id: self.0.id })
    }

    async fn message(&self) -> ChatMessage {
        let message = chat_message::Model {
            id: self.0.id,
            room_id: self.0.room_id,
            author_id: self.0.author.id,
            body: self.0.body.clone(),
            created_at: self.0.created_at,
            seq: self.0.seq,
        };
        ChatMessage(MessageWithAuthor { message, author: self.0.author.clone() })
    }
}

/// A user's first live subscription to the room began (a second tab is not a new join).
pub struct MemberJoined {
    /// Who.
    pub user: UserRecord,
    /// Distinct users online in the room now.
    pub online_count: usize,
}

#[Object]
impl MemberJoined {
    async fn user(&self) -> User {
        User(self.user.clone())
    }

    async fn online_count(&self) -> i32 {
        count(self.online_count)
    }
}

/// A user's last live subscription to the room ended (unsubscribe, close, logout or idle expiry).
pub struct MemberLeft {
    /// Who.
    pub user: UserRecord,
    /// Distinct users online in the room now.
    pub online_count: usize,
}

#[Object]
impl MemberLeft {
    async fn user(&self) -> User {
        User(self.user.clone())
    }

    async fn online_count(&self) -> i32 {
        count(self.online_count)
    }
}

/// A member started or stopped typing.
pub struct TypingChanged {
    /// Who.
    pub user: UserRecord,
    /// Typing now.
    pub typing: bool,
}

#[Object]
impl TypingChanged {
    async fn user(&self) -> User {
        User(self.user.clone())
    }

    async fn typing(&self) -> bool {
        self.typing
    }
}

/// A contact's online state.
pub struct ContactPresence {
    /// The contact.
    pub user: UserRecord,
    /// Online now.
    pub online: bool,
}

#[Object]
impl ContactPresence {
    async fn user(&self) -> User {
        User(self.user.clone())
    }

    async fn online(&self) -> bool {
        self.online
    }
}
