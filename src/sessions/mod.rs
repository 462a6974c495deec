//! Login sessions: signing in, ending sessions, and announcing every end in one place.
//!
//! Every way a session ends (logout, revokeSession, logoutOtherSessions, a password reset,
//! expiry) goes through [`end_sessions`] or [`SessionEvents::publish`], so the code that
//! closes sockets listens to one stream.

pub mod cleanup;
pub mod events;

pub use events::{EndReason, EndRelay, SessionEnded, SessionEvents};

use chrono::Utc;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::{
    db::{self, entities::session},
    error::AppError,
    state::AppState,
};

/// A new login session for `user_id` and its token.
pub async fn sign_in(
    state: &AppState,
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    user_agent: Option<String>,
) -> Result<(session::Model, String), AppError> {
    let now = db::now();
    let lifetime = chrono::Duration::from_std(state.settings.auth.session_lifetime)
        .map_err(|error| AppError::Internal(anyhow::Error::new(error).context("session lifetime out of range")))?;
    let session = session::Model {
        // 128 random bits from the thread's CSPRNG.
        id: Uuid::from_bytes(rand::random()),
        user_id,
        created_at: now,
        last_seen_at: now,
        expires_at: now + lifetime,
        revoked_at: None,
        revoked_reason: None,
        user_agent: user_agent.map(|agent| agent.chars().take(512).collect()),
    };
    db::sessions::insert(conn, session.clone()).await?;
    let token = state.tokens.issue(user_id, session.id, session.expires_at).map_err(AppError::Internal)?;
    Ok((session, token))
}

/// Revokes sessions of `user_id` in `conn` (the caller's transaction): one (`only`), or all
/// but `keep`. Returns the ends to announce with [`announce`] once the transaction commits.
pub async fn revoke(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    only: Option<Uuid>,
    keep: Option<Uuid>,
    reason: EndReason,
) -> Result<Vec<SessionEnded>, AppError> {
    let ids = db::sessions::revoke(conn, user_id, only, keep, reason.as_str(), db::now()).await?;
    Ok(ids.into_iter().map(|session_id| SessionEnded { session_id, user_id, reason }).collect())
}

/// Announces ends after their transaction committed (never before: a rolled-back revocation
/// must not close sockets).
pub fn announce(state: &AppState, ended: &[SessionEnded]) {
    for end in ended {
        // Forgotten first, so no request can still be served from the cached row once
        // the end is visible to anyone.
        state.session_cache.forget(end.session_id);
        state.session_events.publish(*end);
    }
}

/// Revokes and announces in one step, for single-statement revocations outside a transaction.
pub async fn end_sessions(
    state: &AppState,
    user_id: Uuid,
    only: Option<Uuid>,
    keep: Option<Uuid>,
    reason: EndReason,
) -> Result<Vec<SessionEnded>, AppError> {
    let ended = revoke(&state.db, user_id, only, keep, reason).await?;
    announce(state, &ended);
    Ok(ended)
}

/// The idle cut-off now: sessions last used before it have expired.
pub fn idle_cutoff(state: &AppState) -> chrono::DateTime<Utc> {
    let idle = chrono::Duration::from_std(state.settings.auth.session_idle).unwrap_or(chrono::Duration::MAX);
    db::now().checked_sub_signed(idle).unwrap_or(chrono::DateTime::<Utc>::MIN_UTC)
}
