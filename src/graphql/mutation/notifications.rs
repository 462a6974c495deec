//! `markNotificationsRead`.

use async_graphql::{Context, ID, Object};
use uuid::Uuid;

use crate::{db, error::AppError, graphql::context};

/// The most ids one `markNotificationsRead` accepts: far more than any screen shows, and
/// well under the bind-parameter limits of SQLite and PostgreSQL.
pub const MAX_IDS: usize = 1000;

/// Mutations of notifications.
#[derive(Default)]
pub struct NotificationsMutation;

#[Object]
impl NotificationsMutation {
    /// Marks the given notifications (all, when ids is null) read; returns how many changed.
    async fn mark_notifications_read(&self, ctx: &Context<'_>, ids: Option<Vec<ID>>) -> async_graphql::Result<i32> {
        let viewer = context::require_viewer(ctx)?;
        let state = context::state(ctx)?;
        let ids: Option<Vec<Uuid>> = match ids {
            Some(ids) if ids.len() > MAX_IDS => {
                return Err(AppError::bad_input(format!(
                    "Mark at most {MAX_IDS} notifications at once, or pass no ids to mark them all; {} were sent.",
                    ids.len()
                ))
                .into());
            }
            // A malformed id names no notification of the viewer, so like an unknown or a
            // foreign id it changes nothing and is not counted.
            Some(ids) => Some(ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect()),
            None => None,
        };
        let changed = db::notifications::mark_read(&state.db, viewer.user_id, ids.as_deref(), db::now())
            .await
            .map_err(AppError::from)?;
        Ok(i32::try_from(changed).unwrap_or(i32::MAX))
    }
}
