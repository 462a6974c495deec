//! The background tasks of the sockets: the idle sweep (`SESSION_TIMEOUT_MINUTES`, and every
//! socket at shutdown), the keepalive tick, and the revocation listener (every announced end
//! of a login session closes its sockets).

use std::time::Instant;

use tokio::{sync::broadcast::error::RecvError, time::MissedTickBehavior};

use super::registry::CloseReason;
use crate::{
    db,
    sessions::{EndReason, SessionEnded},
    state::AppState,
};

/// Closes every socket idle for `SESSION_TIMEOUT_MINUTES`; returns how many it asked to close.
///
/// The registry keeps sockets in the order of their activity, so a sweep looks only at the
/// sockets that may have been idle long enough: while nothing expires it costs a lookup,
/// however many sockets are open (`cargo bench --bench sockets`).
pub fn sweep_idle_once(state: &AppState) -> usize {
    let started = Instant::now();
    let mut closed = 0;
    for handle in state.registry.take_idle(state.settings.session_timeout) {
        if handle.close_requested().is_none() {
            handle.request_close(CloseReason::IDLE);
            state.registry.record_idle_expired();
            closed += 1;
        }
    }
    metrics::histogram!("ws_idle_sweep_duration_seconds").record(started.elapsed().as_secs_f64());
    closed
}

/// Starts the idle sweep, the keepalive tick and the revocation listener; all stop with the
/// application.
pub fn spawn(state: &AppState) {
    let ticker = state.clone();
    state.tasks.spawn(async move {
        // One timer for every socket's ping, rather than one per socket: a timer per socket
        // costs each socket several trips through the timer wheel per interval.
        let interval = ticker.settings.keepalive_interval;
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = ticker.shutdown.cancelled() => break,
                _ = ticks.tick() => ticker.keepalive.notify_waiters(),
            }
        }
    });

    let sweeper = state.clone();
    state.tasks.spawn(async move {
        let mut ticks = tokio::time::interval(sweeper.settings.session_sweep_interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = sweeper.shutdown.cancelled() => {
                    // Sockets learn of the shutdown here, as a close request, rather than by
                    // each watching the token. One that registers after this sees the token.
                    let closing = sweeper.registry.close_all(CloseReason::SHUTDOWN);
                    tracing::info!(closing, "closing subscription sockets for shutdown");
                    break;
                }
                _ = ticks.tick() => {}
            }
            let closed = sweep_idle_once(&sweeper);
            if closed > 0 {
                tracing::info!(closed, "closed idle subscription connections");
            }
        }
    });

    let listener = state.clone();
    let mut ended = state.session_events.subscribe();
    state.tasks.spawn(async move {
        loop {
            let end = tokio::select! {
                () = listener.shutdown.cancelled() => break,
                end = ended.recv() => end,
            };
            match end {
                Ok(end) => close_sockets_of(&listener, end),
                // Ends were missed: check every registered session against the database.
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "missed session ends; re-checking every socket's session");
                    recheck_all(&listener).await;
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}

fn close_sockets_of(state: &AppState, end: SessionEnded) {
    let reason = if end.reason == EndReason::Expired { CloseReason::EXPIRED } else { CloseReason::REVOKED };
    let closed = state.registry.close_session(end.session_id, reason);
    if closed > 0 {
        tracing::info!(closed, session = %end.session_id, reason = end.reason.as_str(), "closing sockets of an ended session");
    }
}

async fn recheck_all(state: &AppState) {
    let mut sessions: Vec<_> = state.registry.snapshot().iter().map(|handle| handle.session_id).collect();
    sessions.sort();
    sessions.dedup();
    for session_id in sessions {
        let live = match db::sessions::find(&state.db, session_id).await {
            Ok(Some(session)) => session.revoked_at.is_none() && session.expires_at > db::now(),
            Ok(None) => false,
            // The database is away: leave the sockets; the next end or expiry closes them.
            Err(_) => true,
        };
        if !live {
            state.session_cache.forget(session_id);
            state.registry.close_session(session_id, CloseReason::REVOKED);
        }
    }
}
