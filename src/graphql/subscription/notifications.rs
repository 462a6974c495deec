//! `notifications`: the viewer's unread backlog, oldest first, then new notifications live.
//!
//! No notification is lost between the backlog and the live part, and none arrives twice:
//! the stream listens on the viewer's topic *before* it reads the backlog, so anything
//! committed after the read was published after the listen and is heard; anything heard
//! that the backlog already held is skipped by id.

use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant},
};

use async_graphql::{Context, Subscription};
use futures_util::{Stream, StreamExt as _, stream};
use uuid::Uuid;

use crate::{
    db::{self, entities::notification, feed::FeedPosition},
    error::AppError,
    graphql::{
        context,
        loaders::{
            CommentKey, CommentersKey, CommentsKey, LikedByViewerKey, LikersKey, PostKey, RequestLoader, UserKey,
            prefetch_notifications,
        },
        types::Notification,
    },
    realtime::{
        broker::{self, Event, Lagged, Topic},
        registry::{CloseReason, ConnectionHandle},
    },
};

/// Unread notifications read per statement while collecting the backlog.
const BACKLOG_PAGE: u64 = 500;

/// How long after the backlog read a backlog notification may still be heard live.
///
/// A notification is published right after its transaction commits, with no await in
/// between, so one committed before the backlog read is heard within moments of it, if at
/// all. The ids kept to skip such repeats are dropped once this has passed (or once every
/// one of them was heard), so a long-lived subscription does not hold them for ever. The
/// window is generous because outliving it costs one duplicate, never a loss.
const REPEAT_WINDOW: Duration = Duration::from_secs(30);

/// The `notifications` subscription.
#[derive(Default)]
pub struct NotificationsSubscription;

#[Subscription]
impl NotificationsSubscription {
    /// First every unread notification of the viewer, oldest first; then new ones as they happen.
    async fn notifications<'ctx>(
        &self,
        ctx: &Context<'ctx>,
    ) -> async_graphql::Result<impl Stream<Item = Notification> + 'ctx> {
        let viewer = context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        let loader = context::loader(ctx)?;
        // Listen first, read second: the order that leaves no gap (see the module docs).
        let events = state.broker.subscribe(Topic::User(viewer.user_id));
        let backlog = unread_oldest_first(&state.db, viewer.user_id).await.map_err(AppError::from)?;
        // The socket turns the loader's cache off for subscriptions, so a stream that lives
        // for hours does not hoard every row it ever resolved. This stream empties the cache
        // after each event instead (see `Live::next`), and needs it for the backlog: loaded
        // here in one batch per kind, the backlog's events then resolve from the cache.
        loader.enable_all_cache(true);
        prefetch_notifications(loader, ctx.look_ahead(), &backlog).await.map_err(context::load_failed)?;
        let live = Live {
            events,
            recipient: viewer.user_id,
            repeats: Repeats::new(backlog.iter().map(|row| row.id).collect()),
            loader,
            connection: ctx.data_opt::<Arc<ConnectionHandle>>().cloned(),
        };
        Ok(stream::iter(backlog).map(Notification).chain(live.into_stream()))
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

/// Backlog ids that may still be heard live, to skip them when they are.
struct Repeats {
    /// `None` once nothing can repeat any more.
    ids: Option<HashSet<Uuid>>,
    /// When the ids stop being worth keeping (see [`REPEAT_WINDOW`]).
    until: Instant,
}

impl Repeats {
    /// Keeps `ids`, the backlog just read, for [`REPEAT_WINDOW`].
    fn new(ids: HashSet<Uuid>) -> Self {
        Self { ids: (!ids.is_empty()).then_some(ids), until: Instant::now() + REPEAT_WINDOW }
    }

    /// Whether `id` was sent in the backlog. Each id is heard at most once, so a match is
    /// forgotten at once.
    fn was_sent(&mut self, id: Uuid) -> bool {
        let Some(ids) = &mut self.ids else { return false };
        let sent = ids.remove(&id);
        if ids.is_empty() || Instant::now() >= self.until {
            self.ids = None;
        }
        sent
    }
}

/// The live part of one `notifications` subscription.
struct Live<'ctx> {
    /// The viewer's topic, listened on since before the backlog read.
    events: broker::Subscription,
    /// The viewer.
    recipient: Uuid,
    /// What the backlog sent, not to be sent again.
    repeats: Repeats,
    /// The request's loader, shared by every event of the subscription.
    loader: &'ctx RequestLoader,
    /// The socket this runs on; `None` outside a socket.
    connection: Option<Arc<ConnectionHandle>>,
}

impl<'ctx> Live<'ctx> {
    fn into_stream(self) -> impl Stream<Item = Notification> + 'ctx {
        stream::unfold(self, |mut live| async move {
            let notification = live.next().await?;
            Some((notification, live))
        })
    }

    /// The next notification to send; `None` ends the subscription.
    async fn next(&mut self) -> Option<Notification> {
        // Events resolve one at a time: when the next is asked for, the previous one (or the
        // whole backlog) is resolved, and what the loader cached for it can go. Kept, the
        // cache would grow with every event and serve counters as first read (a post's
        // `likeCount` frozen at its first like).
        forget_cached(self.loader);
        loop {
            let event = match self.events.recv().await? {
                Ok(event) => event,
                Err(Lagged(missed)) => {
                    self.slow_consumer(missed);
                    return None;
                }
            };
            #[allow(unreachable_patterns, reason = "the topic may carry other events for the user")]
            let row = match &*event {
                Event::Notification(row) => row,
                _ => continue,
            };
            if row.recipient_id != self.recipient || self.repeats.was_sent(row.id) {
                continue;
            }
            return Some(Notification(row.clone()));
        }
    }

    /// The subscriber fell so far behind that the broker dropped events for it.
    ///
    /// Skipping them would break the promise that none is lost, and waiting cannot bring
    /// them back, so the socket is closed as a slow consumer (1008). Nothing is lost for the
    /// user: every notification is stored before it is published, and the client's next
    /// subscription replays the unread backlog.
    fn slow_consumer(&self, missed: u64) {
        tracing::warn!(user_id = %self.recipient, missed, "notification subscriber fell behind; closing its socket");
        match &self.connection {
            Some(connection) => connection.request_close(CloseReason::SLOW_CONSUMER),
            None => tracing::warn!("a lagging notification stream without a socket ends without a close"),
        }
    }
}

/// Empties every cache of the loader.
fn forget_cached(loader: &RequestLoader) {
    loader.clear::<UserKey>();
    loader.clear::<PostKey>();
    loader.clear::<CommentKey>();
    loader.clear::<LikersKey>();
    loader.clear::<CommentsKey>();
    loader.clear::<CommentersKey>();
    loader.clear::<LikedByViewerKey>();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backlog_id_is_skipped_once_and_then_forgotten() {
        let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
        let mut repeats = Repeats::new(HashSet::from([first, second]));
        assert!(repeats.was_sent(first));
        assert!(!repeats.was_sent(first), "an id is heard at most once");
        assert!(!repeats.was_sent(Uuid::now_v7()), "a new notification is not a repeat");
        assert!(repeats.was_sent(second));
        assert!(repeats.ids.is_none(), "nothing is kept once every id was heard");
    }

    #[test]
    fn backlog_ids_are_dropped_after_the_window() {
        let kept = Uuid::now_v7();
        let mut repeats = Repeats::new(HashSet::from([kept, Uuid::now_v7()]));
        repeats.until = Instant::now();
        assert!(!repeats.was_sent(Uuid::now_v7()));
        assert!(repeats.ids.is_none(), "a live event after the window drops the ids");
    }
}
