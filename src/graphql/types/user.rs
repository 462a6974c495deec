//! The `User` type and `Role`.

use async_graphql::{Context, Enum, ID, Object};

use super::DateTime;
use crate::{config::Settings, db::users::UserRecord, graphql::context};

/// What an account may do.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// A member.
    User,
    /// May read `sessionStats`.
    Admin,
}

/// A person with an account.
#[derive(Debug, Clone, ref_cast::RefCast)]
#[repr(transparent)]
pub struct User(pub UserRecord);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn username(&self) -> &str {
        &self.0.username
    }

    async fn display_name(&self) -> &str {
        &self.0.display_name
    }

    /// The viewer's own address; null when the viewer looks at someone else.
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        context::is_self(ctx, self.0.id).then_some(self.0.email.as_str())
    }

    async fn email_verified(&self) -> bool {
        self.0.email_verified_at.is_some()
    }

    async fn role(&self, ctx: &Context<'_>) -> async_graphql::Result<Role> {
        let state = context::state(ctx)?;
        Ok(if is_admin(&self.0, &state.settings) { Role::Admin } else { Role::User })
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// True while the user holds at least one live subscription connection, on any instance.
    async fn online(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        // Boxed, so the other fields' futures stay small (see `Post`).
        Ok(Box::pin(context::state(ctx)?.registry.online_anywhere(self.0.id)).await)
    }
}

/// Whether `user` has role ADMIN: stored so, or an address listed in `ADMIN_EMAILS`.
pub fn is_admin(user: &UserRecord, settings: &Settings) -> bool {
    user.role == "ADMIN" || settings.admin_emails.iter().any(|email| email == &user.email)
}
