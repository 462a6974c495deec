//! `Session` and `AuthPayload`, and the `RegisterInput`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::{DateTime, User};
use crate::{db::entities::session, graphql::context};

/// A login session. Every token belongs to exactly one.
#[derive(Debug, Clone)]
pub struct Session {
    /// The row.
    pub model: session::Model,
    /// Whether the request's own token names it.
    pub current: bool,
}

#[Object]
impl Session {
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    async fn created_at(&self) -> DateTime {
        self.model.created_at.into()
    }

    async fn last_seen_at(&self) -> DateTime {
        self.model.last_seen_at.into()
    }

    async fn expires_at(&self) -> DateTime {
        self.model.expires_at.into()
    }

    async fn user_agent(&self) -> Option<&str> {
        self.model.user_agent.as_deref()
    }

    /// True for the session of the token that made this request.
    async fn current(&self) -> bool {
        self.current
    }

    /// Open subscription connections of this session, across all instances.
    async fn live_connections(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let count = context::state(ctx)?.registry.session_connections_anywhere(self.model.id).await;
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }
}

/// What `register` and `login` return.
#[derive(SimpleObject, Debug, Clone)]
pub struct AuthPayload {
    /// A JWT to send as `Authorization: Bearer <token>`, or in connection_init.
    pub token: String,
    /// When the token and its session end at the latest.
    pub expires_at: DateTime,
    /// The signed-in user.
    pub user: User,
    /// The new login session.
    pub session: Session,
}

/// A new account.
#[derive(InputObject, Debug)]
pub struct RegisterInput {
    /// The address codes are sent to; trimmed and lower-cased.
    pub email: String,
    /// 3–32 of `a-z`, `0-9` and `_`.
    pub username: String,
    /// Shown to others; defaults to the username.
    pub display_name: Option<String>,
    /// 8–128 characters, not a common or easily guessed one.
    pub password: String,
}
