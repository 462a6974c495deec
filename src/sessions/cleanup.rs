//! The periodic cleanup: removes expired login sessions and expired codes, on an interval,
//! until shutdown. Each pass is a function of its own so tests call it directly.

use anyhow::Context as _;
use tokio::time::MissedTickBehavior;

use super::{EndReason, SessionEnded, announce, idle_cutoff};
use crate::{db, state::AppState};

/// Expired sessions announced per pass at most; the rest wait for the next pass, so one pass
/// never holds a huge result in memory.
const EXPIRED_BATCH: u64 = 1000;

/// Announces sessions that ran out (their sockets close) and deletes every session that can
/// never be valid again. Returns how many rows were deleted.
pub async fn clear_expired_sessions_once(state: &AppState) -> anyhow::Result<u64> {
    let now = db::now();
    let cutoff = idle_cutoff(state);
    let expired =
        db::sessions::find_expired(&state.db, now, cutoff, EXPIRED_BATCH).await.context("finding expired sessions")?;
    let ended: Vec<SessionEnded> = expired
        .into_iter()
        .map(|(session_id, user_id)| SessionEnded { session_id, user_id, reason: EndReason::Expired })
        .collect();
    announce(state, &ended);
    db::sessions::delete_dead(&state.db, now, cutoff).await.context("deleting dead sessions")
}

/// Deletes codes past their expiry; a live code is never touched. Returns how many.
pub async fn clear_expired_codes_once(state: &AppState) -> anyhow::Result<u64> {
    db::codes::delete_expired(&state.db, db::now()).await.context("deleting expired codes")
}

/// Runs both passes every `CLEANUP_INTERVAL_SECONDS` until the application shuts down.
pub fn spawn(state: &AppState) {
    let state = state.clone();
    state.tasks.clone().spawn(async move {
        let mut ticks = tokio::time::interval(state.settings.auth.cleanup_interval);
        // After a stall (a slow database), run once and carry on: no burst of catch-up passes.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = state.shutdown.cancelled() => break,
                _ = ticks.tick() => {}
            }
            match clear_expired_sessions_once(&state).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "cleanup: removed dead login sessions"),
                Err(error) => tracing::warn!(error = format!("{error:#}"), "cleanup: sessions pass failed"),
            }
            match clear_expired_codes_once(&state).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "cleanup: removed expired codes"),
                Err(error) => tracing::warn!(error = format!("{error:#}"), "cleanup: codes pass failed"),
            }
            state.rate_limits.forget_idle();
        }
    });
}
