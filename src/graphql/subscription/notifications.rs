//! `notifications`: the viewer's unread backlog, oldest first, then new notifications live.
//!
//! No notification is lost between the backlog and the live part, and none arrives twice:
//! the stream listens on the viewer's topic *before* it reads the backlog, so anything
//! committed after the read was published after the listen and is heard; anything heard
//! that the backlog already held is skipped by id (see `repeats.rs`).

use async_graphql::{Context, Subscription};
use futures_util::{StreamExt as _, stream, stream::BoxStream};
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
        let backlog = unread_oldest_first(&state.db, viewer.user_id).await.map_err(AppError::from)?;
        // Loaded here in one batch per kind; resolving the backlog then reads this loader.
        prefetch_notifications(context::loader(ctx)?, ctx.look_ahead(), &backlog)
            .await
            .map_err(context::load_failed)?;
        let filter =
            Recipient { recipient: viewer.user_id, repeats: Repeats::new(backlog.iter().map(|row| row.id).collect()) };
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
}

impl EventFilter for Recipient {
    fn pick(&mut self, event: &Event) -> Pick {
        match event {
            Event::Notification(row) if row.recipient_id == self.recipient && !self.repeats.was_sent(row.id) => {
                Pick::Shared(notification)
            }
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
