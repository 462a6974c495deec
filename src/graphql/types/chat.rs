//! The chat types: `ChatRoom`, `ChatMessage`, and a room's history as a Relay connection
//! that pages backwards (`last`/`before`), newest message last.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::{
    DateTime, PageInfo, User,
    page::{decode_cursor, encode_cursor, page_size},
};
use crate::{
    db::{
        self,
        chat::{Direction, MessageWithAuthor},
        entities::{chat_message, chat_room},
        feed::FeedPosition,
    },
    error::AppError,
    graphql::{context, loaders::RoomMessagesKey},
};

/// The cursor kind of a room's history, so a cursor of another list is refused.
pub const MESSAGE_CURSOR: &str = "message";

/// Messages in a page of history when `last` is omitted (the schema's default for it).
pub const DEFAULT_LAST: u64 = 50;

/// The opaque cursor of `message` in its room's history.
pub fn message_cursor(message: &chat_message::Model) -> String {
    encode_cursor(MESSAGE_CURSOR, FeedPosition { created_at: message.created_at, id: message.id })
}

/// A chat room; every signed-in user may read and write it.
#[derive(Debug, Clone)]
pub struct ChatRoom(pub chat_room::Model);

#[Object]
impl ChatRoom {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// Distinct users with a live roomEvents subscription to this room, on any instance.
    async fn online_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let state = crate::graphql::context::state(ctx)?;
        Ok(i32::try_from(state.room_presence.online_count_anywhere(self.0.id).await).unwrap_or(i32::MAX))
    }

    async fn online_users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let state = crate::graphql::context::state(ctx)?;
        let users =
            state.room_presence.online_users(&state.db, self.0.id).await.map_err(crate::error::AppError::from)?;
        Ok(users.into_iter().map(User).collect())
    }

    /// Newest last; `before` pages backwards through history.
    #[graphql(complexity = "last.unwrap_or(50).max(0) as usize * child_complexity")]
    async fn messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<MessageConnection> {
        // An explicit null means the default, as for an omitted argument.
        let last = match last {
            Some(last) => page_size("last", last)?,
            None => DEFAULT_LAST,
        };
        let before = before.as_deref().map(|cursor| decode_cursor(MESSAGE_CURSOR, cursor)).transpose()?;
        // Newest first, one row more than asked: the extra one tells whether older ones exist.
        let mut rows = match before {
            // The latest page goes through the loader, so a list of rooms shares one statement.
            None => context::loader(ctx)?
                .load_one(RoomMessagesKey(self.0.id, last))
                .await
                .map_err(context::load_failed)?
                .map(|rows| rows.to_vec())
                .unwrap_or_default(),
            // An older page is asked for one room at a time (a client scrolling back).
            Some(position) => {
                let state = context::state(ctx)?;
                db::chat::messages_from(&state.db, self.0.id, position, Direction::Older, last + 1)
                    .await
                    .map_err(AppError::from)?
            }
        };
        let has_previous_page = rows.len() as u64 > last;
        rows.truncate(last as usize);
        rows.reverse();
        let edges: Vec<MessageEdge> = rows
            .into_iter()
            .map(|row| MessageEdge { cursor: message_cursor(&row.message), node: ChatMessage(row) })
            .collect();
        Ok(MessageConnection {
            page_info: PageInfo {
                has_previous_page,
                // A `before` cursor names a message newer than this page.
                has_next_page: before.is_some(),
                start_cursor: edges.first().map(|edge| edge.cursor.clone()),
                end_cursor: edges.last().map(|edge| edge.cursor.clone()),
            },
            edges,
        })
    }
}

/// A message in a room.
#[derive(Debug, Clone)]
pub struct ChatMessage(pub MessageWithAuthor);

#[Object]
impl ChatMessage {
    async fn id(&self) -> ID {
        ID(self.0.message.id.to_string())
    }

    async fn room_id(&self) -> ID {
        ID(self.0.message.room_id.to_string())
    }

    // Loaded with the message itself: no statement of its own.
    async fn author(&self) -> User {
        User(self.0.author.clone())
    }

    async fn body(&self) -> &str {
        &self.0.message.body
    }

    async fn created_at(&self) -> DateTime {
        self.0.message.created_at.into()
    }
}

/// One message in a page of a room's history.
#[derive(SimpleObject, Debug, Clone)]
pub struct MessageEdge {
    /// Where this message sits in the history; pass the first edge's as `before` for older ones.
    pub cursor: String,
    /// The message.
    pub node: ChatMessage,
}

/// A page of a room's history, newest message last.
#[derive(SimpleObject, Debug, Clone)]
pub struct MessageConnection {
    /// The messages of this page, oldest first.
    pub edges: Vec<MessageEdge>,
    /// Where this page sits: `hasPreviousPage` says older messages exist.
    pub page_info: PageInfo,
}
