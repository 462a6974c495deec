//! `notifications`: the viewer's notifications, newest first, as a Relay connection.

use async_graphql::{Context, Object};

use crate::{
    db::{self, feed::FeedPosition},
    error::AppError,
    graphql::{
        context,
        loaders::prefetch_notifications,
        types::{
            Notification, NotificationConnection, NotificationEdge, PageInfo,
            page::{decode_cursor, encode_cursor, page_size},
        },
    },
};

/// The cursor kind of the notification list, so a cursor of another list is refused.
const NOTIFICATION_CURSOR: &str = "notification";

/// Queries about notifications.
#[derive(Default)]
pub struct NotificationsQuery;

#[Object]
impl NotificationsQuery {
    /// The viewer's notifications, newest first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        #[graphql(default_with = "Some(false)")] unread_only: Option<bool>,
    ) -> async_graphql::Result<NotificationConnection> {
        let viewer = context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        // An explicit null means the default, as for an omitted argument.
        let first = page_size("first", first.unwrap_or(20))?;
        let unread_only = unread_only.unwrap_or(false);
        let after = after.as_deref().map(|cursor| decode_cursor(NOTIFICATION_CURSOR, cursor)).transpose()?;
        // One row more than asked tells whether another page follows.
        let mut rows = db::notifications::page(&state.db, viewer.user_id, unread_only, after, first + 1)
            .await
            .map_err(AppError::from)?;
        let has_next_page = rows.len() as u64 > first;
        rows.truncate(first as usize);
        let node = ctx.look_ahead().field("edges").field("node");
        prefetch_notifications(context::loader(ctx)?, node, &rows).await.map_err(context::load_failed)?;
        let edges: Vec<NotificationEdge> = rows
            .into_iter()
            .map(|row| NotificationEdge {
                cursor: encode_cursor(NOTIFICATION_CURSOR, FeedPosition { created_at: row.created_at, id: row.id }),
                node: Notification(row),
            })
            .collect();
        Ok(NotificationConnection {
            page_info: PageInfo {
                has_next_page,
                has_previous_page: after.is_some(),
                start_cursor: edges.first().map(|edge| edge.cursor.clone()),
                end_cursor: edges.last().map(|edge| edge.cursor.clone()),
            },
            edges,
            recipient_id: viewer.user_id,
        })
    }
}
