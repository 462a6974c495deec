//! The revocation poll: every [`POLL_INTERVAL`] each instance asks the database which
//! sessions were revoked since it last looked, and ends any it had not heard of.
//!
//! Redis carries every end at once; this is the backstop that keeps the two-second bound
//! when Redis is away or dropped a message, and that re-checks right after a reconnect.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    auth::session_cache::SessionCache,
    db,
    sessions::{EndReason, SessionEnded, SessionEvents},
};

/// How often the database is asked.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How far back each poll looks past the newest revocation it saw: a transaction that
/// stamped its revocation slightly earlier but committed later is still found.
const OVERLAP: chrono::Duration = chrono::Duration::seconds(5);
/// Rows read per poll at most (the next poll continues from the newest one).
const PAGE: u64 = 1000;

/// Polls until `shutdown`; also polls at once after every reconnection to Redis.
pub async fn poll_loop(
    db: DatabaseConnection,
    session_events: SessionEvents,
    session_cache: SessionCache,
    mut reconnections: watch::Receiver<u64>,
    shutdown: CancellationToken,
) {
    let mut watermark = db::now();
    // Ends already passed on, with their time, so the overlap does not announce them twice.
    let mut seen: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            Ok(()) = reconnections.changed() => {}
            () = shutdown.cancelled() => return,
        }
        let rows = match db::sessions::revoked_since(&db, watermark - OVERLAP, PAGE).await {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!(error = %error, "the revocation poll could not read the database");
                continue;
            }
        };
        for row in rows {
            let Some(revoked_at) = row.revoked_at else { continue };
            watermark = watermark.max(revoked_at);
            if seen.insert(row.id, revoked_at).is_some() {
                continue;
            }
            let reason = EndReason::from_stored(row.revoked_reason.as_deref().unwrap_or_default());
            session_cache.forget(row.id);
            session_events.publish_local(SessionEnded { session_id: row.id, user_id: row.user_id, reason });
        }
        let horizon = watermark - OVERLAP - OVERLAP;
        seen.retain(|_, revoked_at| *revoked_at >= horizon);
    }
}
