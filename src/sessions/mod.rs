//! Login sessions: signing in, ending sessions, and announcing every end in one place.
//!
//! Every way a session ends (logout, revokeSession, logoutOtherSessions, a password reset,
//! expiry) goes through [`end_sessions`] or [`SessionEvents::publish`], so the code that
//! closes sockets listens to one stream.

pub mod cleanup;

use chrono::Utc;
use sea_orm::ConnectionTrait;
use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast;
use uuid::Uuid;

use crate::{
    db::{self, entities::session},
    error::AppError,
    state::AppState,
};

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EndReason {
    /// The user logged out of it.
    Logout,
    /// The user revoked it from another session.
    Revoked,
    /// The user logged out of every other session.
    LogoutOthers,
    /// A password reset ended every session of the user.
    PasswordReset,
    /// It passed its absolute or idle end.
    Expired,
}

impl EndReason {
    /// The value stored in `session.revoked_reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Logout => "logout",
            EndReason::Revoked => "revoked",
            EndReason::LogoutOthers => "logout_others",
            EndReason::PasswordReset => "password_reset",
            EndReason::Expired => "expired",
        }
    }

    /// The reason stored as `value` (an unknown value reads as a revocation).
    pub fn from_stored(value: &str) -> Self {
        match value {
            "logout" => EndReason::Logout,
            "logout_others" => EndReason::LogoutOthers,
            "password_reset" => EndReason::PasswordReset,
            "expired" => EndReason::Expired,
            _ => EndReason::Revoked,
        }
    }
}

/// One ended session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionEnded {
    /// The session.
    pub session_id: Uuid,
    /// Its user.
    pub user_id: Uuid,
    /// Why it ended.
    pub reason: EndReason,
}

/// The stream of ended sessions.
///
/// A broadcast channel: every local listener (the socket registry) sees every end. Its bound
/// keeps memory fixed; a listener that falls more than that far behind gets `Lagged` and
/// must then re-check its sessions against the database. With many instances an
/// [`EndRelay`] also passes each end on to the others.
#[derive(Clone)]
pub struct SessionEvents {
    sender: broadcast::Sender<SessionEnded>,
    relay: Arc<OnceLock<Arc<dyn EndRelay>>>,
}

/// Passes session ends on to other instances (Redis, see `cluster`); returns at once.
pub trait EndRelay: Send + Sync {
    /// A session ended here.
    fn ended(&self, ended: &SessionEnded);
}

impl Default for SessionEvents {
    fn default() -> Self {
        Self { sender: broadcast::channel(4096).0, relay: Arc::default() }
    }
}

impl SessionEvents {
    /// Attaches the relay to other instances (once).
    pub fn attach(&self, relay: Arc<dyn EndRelay>) {
        let _ = self.relay.set(relay);
    }

    /// Announces an ended session here and on every other instance. Having no listener is
    /// fine.
    pub fn publish(&self, ended: SessionEnded) {
        metrics::counter!("sessions_ended_total", "reason" => ended.reason.as_str()).increment(1);
        if let Some(relay) = self.relay.get() {
            relay.ended(&ended);
        }
        let _ = self.sender.send(ended);
    }

    /// Announces an end heard from another instance (or read from the database) here only.
    pub fn publish_local(&self, ended: SessionEnded) {
        let _ = self.sender.send(ended);
    }

    /// A new listener, seeing ends published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEnded> {
        self.sender.subscribe()
    }
}

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
