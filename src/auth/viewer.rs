//! Turns a bearer token into a [`Viewer`]: the signature and claims, then the session row
//! (not revoked, before its absolute end, used within the idle timeout), then a throttled
//! `lastSeenAt` touch.
//!
//! Session rows are cached for at most the touch interval, so a busy client costs one read
//! per interval instead of one per request. Every announced session end removes its entry at
//! once (see `sessions::announce`; the cache is `session_cache.rs`), so a revoked token stops
//! working immediately.

use chrono::{DateTime, Utc};

use super::session_cache::CachedSession;
use crate::{db, error::AppError, graphql::context::Viewer, sessions::idle_cutoff, state::AppState};

/// The token of an `Authorization` value or connection_init field: `Bearer <token>` (any
/// case), or a bare token.
pub fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim();
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        Some(_) => return None,
        // A scheme with nothing after it is no token.
        None if value.eq_ignore_ascii_case("bearer") => return None,
        None => value,
    };
    (!token.is_empty()).then_some(token)
}

/// The viewer a token names, or `None` when it is missing, malformed, forged, expired, or
/// names a session that is revoked or has expired. Fails only when the database does not
/// answer.
pub async fn resolve(state: &AppState, token: Option<&str>) -> Result<Option<Viewer>, AppError> {
    Ok(resolve_session(state, token).await?.map(|(viewer, _)| viewer))
}

/// Like [`resolve`], with the absolute end of the session, for sockets that must close
/// themselves when it passes.
pub async fn resolve_session(
    state: &AppState,
    token: Option<&str>,
) -> Result<Option<(Viewer, DateTime<Utc>)>, AppError> {
    let Some(subject) = token.and_then(|token| state.tokens.verify(token)) else { return Ok(None) };
    let now = db::now();
    let session = match state.session_cache.0.get(&subject.session_id) {
        Some(cached) => cached,
        None => {
            let Some(row) = db::sessions::find(&state.db, subject.session_id).await? else { return Ok(None) };
            if row.revoked_at.is_some() {
                return Ok(None);
            }
            let touch_interval =
                chrono::Duration::from_std(state.settings.session_touch_interval).unwrap_or(chrono::Duration::zero());
            let stale_before = now - touch_interval;
            let mut last_seen_at = row.last_seen_at;
            if last_seen_at < stale_before && row.expires_at > now && last_seen_at > idle_cutoff(state) {
                // The update re-checks staleness, so concurrent requests write once between them.
                db::sessions::touch(&state.db, row.id, now, stale_before).await?;
                last_seen_at = now;
            }
            let cached = CachedSession { user_id: row.user_id, expires_at: row.expires_at, last_seen_at };
            state.session_cache.0.insert(row.id, cached);
            cached
        }
    };
    let live =
        session.user_id == subject.user_id && session.expires_at > now && session.last_seen_at > idle_cutoff(state);
    Ok(live.then_some((Viewer { user_id: session.user_id, session_id: subject.session_id }, session.expires_at)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_values_are_read_in_any_case_or_bare() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token(""), None);
    }
}
