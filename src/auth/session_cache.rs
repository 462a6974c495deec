//! Recently checked live login sessions, by id: what lets a busy client cost one session read
//! per touch interval instead of one per request. Every announced end removes its entry at
//! once, on every instance. Holds no application state, so `AppState` can hold it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The longest a session row is trusted from memory.
const MAX_CACHE_TTL: Duration = Duration::from_secs(60);
/// Sessions held in memory at most; beyond that the least used are read again when needed.
const CACHE_CAPACITY: u64 = 100_000;

/// What the cache remembers of a live session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CachedSession {
    pub(crate) user_id: Uuid,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) last_seen_at: DateTime<Utc>,
}

/// Recently checked live sessions, by id.
#[derive(Clone)]
pub struct SessionCache(pub(crate) moka::sync::Cache<Uuid, CachedSession>);

impl SessionCache {
    /// A cache whose entries live `ttl` (capped at a minute).
    pub fn new(ttl: Duration) -> Self {
        Self(moka::sync::Cache::builder().max_capacity(CACHE_CAPACITY).time_to_live(ttl.min(MAX_CACHE_TTL)).build())
    }

    /// Forgets a session (it ended).
    pub fn forget(&self, session_id: Uuid) {
        self.0.invalidate(&session_id);
    }

    /// Forgets every session (the end announcements were missed).
    pub fn forget_all(&self) {
        self.0.invalidate_all();
    }
}
