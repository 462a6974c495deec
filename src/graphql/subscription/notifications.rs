//! `notifications`: the viewer's unread backlog, oldest first, then new notifications live.
//!
//! No notification is lost between the backlog and the live part, and none arrives twice:
//! the stream listens on the viewer's topic *before* it reads the backlog, so anything
//! committed after the read was published after the listen and is heard; anything heard
//! that the backlog already held is skipped by id (see `repeats.rs`). When events may have
//! been missed (a `Resync` after the link to other instances was down), the newest unread
//! notifications are read again and those not sent yet are sent: every notification is
//! sent once, deduplicated by id.

use std::{
    collections::{HashSet, VecDeque},
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{Context, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{FutureExt as _, StreamExt as _, stream, stream::BoxStream};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::{
    db::{self, entities::notification, feed::FeedPosition},
    error::AppError,
    graphql::{
        context,
        live::{self, EventFilter, LiveItem, LiveSource, Pick},
        loaders::prefetch_notifications,
        types::Notification,
    },
    realtime::broker::{Event, Topic},
};

use super::repeats::Repeats;

/// Unread notifications read per statement while collecting the backlog.
const BACKLOG_PAGE: u64 = 500;
/// Unread notifications read again on a `Resync`.
const RESYNC_PAGE: u64 = 100;
/// Ids of notifications sent live that are remembered, to skip them if read again.
const REMEMBERED_IDS: usize = 1024;

/// The `notifications` subscription.
#[derive(Default)]
pub struct NotificationsSubscription;

#[Subscription]
impl NotificationsSubscription {
    /// First every unread notification of the viewer, oldest first; then new ones as they happen.
    async fn notifications(&self, ctx: &Context<'_>) -> async_graphql::Result<BoxStream<'static, Notification>> {
        if let Some(rendered) = live::rendered(ctx, |item| match item {
            LiveItem::Notification(notification) => Some(notification),
            _ => None,
        }) {
            return Ok(rendered?);
        }
        let viewer = context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        // Listen first, read second: the order that leaves no gap (see the module docs).
        let listener = state.broker.subscribe(Topic::User(viewer.user_id));
        let opened_at = db::now();
        let backlog = unread_oldest_first(&state.db, viewer.user_id).await.map_err(AppError::from)?;
        // Loaded here in one batch per kind; resolving the backlog then reads this loader.
        prefetch_notifications(context::loader(ctx)?, ctx.look_ahead(), &backlog)
            .await
            .map_err(context::load_failed)?;
        let filter = Recipient {
            recipient: viewer.user_id,
            repeats: Repeats::new(backlog.iter().map(|row| row.id).collect()),
            db: state.db.clone(),
            opened_at,
            sent: Arc::default(),
        };
        live::hand_over(ctx, LiveSource { listener, filter: Box::new(filter) })?;
        Ok(stream::iter(backlog).map(Notification).boxed())
    }
}

/// Every unread notification of `recipient_id`, oldest first.
///
/// Read newest first in keyset pages (the list's own order and index), then reversed: the
/// backlog is sent whole anyway, and no single statement grows with it.
async fn unread_oldest_first(
    conn: &impl sea_orm::ConnectionTrait,
    recipient_id: Uuid,
) -> Result<Vec<notification::Model>, sea_orm::DbErr> {
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = db::notifications::page(conn, recipient_id, true, after, BACKLOG_PAGE).await?;
        let more = page.len() as u64 == BACKLOG_PAGE;
        after = page.last().map(|row| FeedPosition { created_at: row.created_at, id: row.id });
        rows.extend(page);
        if !more {
            break;
        }
    }
    rows.reverse();
    Ok(rows)
}

/// Picks the viewer's notifications that the backlog did not already send.
struct Recipient {
    /// The viewer.
    recipient: Uuid,
    /// What the backlog sent, not to be sent again.
    repeats: Repeats,
    /// Where a resync reads.
    db: DatabaseConnection,
    /// When the backlog was read: a resync looks only at notifications from then on.
    opened_at: DateTime<Utc>,
    /// The latest ids sent live (shared with a running resync).
    sent: Arc<Mutex<SentIds>>,
}

/// The last [`REMEMBERED_IDS`] ids sent, in order, for membership tests.
#[derive(Default)]
struct SentIds {
    order: VecDeque<Uuid>,
    ids: HashSet<Uuid>,
}

impl SentIds {
    /// Records `id`; false when it was sent already.
    fn first_time(&mut self, id: Uuid) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > REMEMBERED_IDS
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        true
    }
}

impl Recipient {
    /// Reads the newest unread notifications since the subscription opened and sends those
    /// not sent yet, oldest first.
    fn resync(&self) -> Pick {
        let (db, recipient, opened_at, sent) = (self.db.clone(), self.recipient, self.opened_at, self.sent.clone());
        Pick::Fill(
            async move {
                let mut rows = match db::notifications::page(&db, recipient, true, None, RESYNC_PAGE).await {
                    Ok(rows) => rows,
                    Err(error) => {
                        tracing::warn!(error = %error, "could not re-read notifications after a resync");
                        return Vec::new();
                    }
                };
                rows.reverse();
                let mut sent = sent.lock().unwrap_or_else(PoisonError::into_inner);
                rows.into_iter()
                    .filter(|row| row.created_at >= opened_at && sent.first_time(row.id))
                    .map(|row| LiveItem::Notification(Notification(row)))
                    .collect()
            }
            .boxed(),
        )
    }
}

impl EventFilter for Recipient {
    fn pick(&mut self, event: &Event) -> Pick {
        match event {
            Event::Notification(row) if row.recipient_id == self.recipient && !self.repeats.was_sent(row.id) => {
                if self.sent.lock().unwrap_or_else(PoisonError::into_inner).first_time(row.id) {
                    Pick::Shared(notification)
                } else {
                    Pick::Skip
                }
            }
            Event::Resync => self.resync(),
            _ => Pick::Skip,
        }
    }
}

/// The item of a notification event.
fn notification(event: &Event) -> Option<LiveItem> {
    match event {
        Event::Notification(row) => Some(LiveItem::Notification(Notification(row.clone()))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_sent_once_and_the_oldest_are_forgotten_past_the_bound() {
        let mut sent = SentIds::default();
        let first = Uuid::now_v7();
        assert!(sent.first_time(first));
        assert!(!sent.first_time(first), "a repeat is caught");
        for _ in 0..REMEMBERED_IDS {
            assert!(sent.first_time(Uuid::now_v7()));
        }
        assert_eq!(sent.ids.len(), REMEMBERED_IDS, "memory stays bounded");
        assert!(sent.first_time(first), "the oldest id was forgotten to make room");
    }
}
