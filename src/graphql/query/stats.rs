//! `sessionStats`: how many login sessions, sockets, subscriptions and online users there
//! are, for admins.

use async_graphql::{Context, Object, SimpleObject};

use crate::{
    db,
    error::AppError,
    graphql::{context, loaders::UserKey, types::user::is_admin},
    sessions::idle_cutoff,
};

/// Admin only.
#[derive(SimpleObject, Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionStats {
    /// Login sessions neither expired nor revoked.
    pub active_sessions: i32,
    /// Open subscription connections, across all instances.
    pub live_connections: i32,
    /// Running subscriptions (operations), across all instances.
    pub live_subscriptions: i32,
    /// Distinct users online, across all instances.
    pub online_users: i32,
    /// Connections closed by idle expiry since this instance started.
    pub idle_expired_total: i32,
}

/// Queries for administrators.
#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// Admin only: live sessions, connections, subscriptions and online users.
    async fn session_stats(&self, ctx: &Context<'_>) -> async_graphql::Result<SessionStats> {
        let viewer = context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        // The role is read now, not taken from the token, so a demotion takes effect at once.
        let user = context::loader(ctx)?.load_one(UserKey(viewer.user_id)).await.map_err(context::load_failed)?;
        if !user.is_some_and(|user| is_admin(&user, &state.settings)) {
            return Err(AppError::Forbidden("Only administrators can read session statistics.".into()).into());
        }
        let active_sessions =
            db::sessions::count_live(&state.db, db::now(), idle_cutoff(state)).await.map_err(AppError::from)?;
        let (live, idle_expired_total) = state.registry.counts_anywhere().await;
        Ok(SessionStats {
            active_sessions: saturate(active_sessions),
            live_connections: saturate(live.connections as u64),
            live_subscriptions: saturate(live.subscriptions as u64),
            online_users: saturate(live.users as u64),
            idle_expired_total: saturate(idle_expired_total),
        })
    }
}

/// A count as a GraphQL `Int`, capped rather than wrapped past its 32 bits.
fn saturate(count: u64) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}
