//! How ended login sessions are announced: the reasons, the event, and the broadcast the
//! socket layer listens on (with the relay that carries it to other instances). Holds no
//! application state, so `AppState` can hold it.

use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast;
use uuid::Uuid;

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
