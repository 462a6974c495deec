//! Notifications: recording what a user is told about, paging a user's list newest first,
//! counting the unread ones and marking them read.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel as _, PaginatorTrait as _,
    QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::{entities::notification, feed::FeedPosition};

/// What a notification is about, stored in `notification.kind` under its contract name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// Someone liked the recipient's post.
    PostLiked,
    /// Someone commented on the recipient's post.
    PostCommented,
    /// Someone added the recipient to their contacts.
    ContactAdded,
}

impl NotificationKind {
    /// The stored name, the same as the GraphQL enum value.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::PostLiked => "POST_LIKED",
            NotificationKind::PostCommented => "POST_COMMENTED",
            NotificationKind::ContactAdded => "CONTACT_ADDED",
        }
    }

    /// Reads back a stored name; `None` for a name this server does not know.
    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "POST_LIKED" => Some(NotificationKind::PostLiked),
            "POST_COMMENTED" => Some(NotificationKind::PostCommented),
            "CONTACT_ADDED" => Some(NotificationKind::ContactAdded),
            _ => None,
        }
    }
}

/// A notification about to be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewNotification {
    /// Who is told.
    pub recipient_id: Uuid,
    /// Who caused it.
    pub actor_id: Uuid,
    /// What happened.
    pub kind: NotificationKind,
    /// The post concerned, if any.
    pub post_id: Option<Uuid>,
    /// The comment concerned, if any.
    pub comment_id: Option<Uuid>,
}

/// Records `new`, unless its actor is its recipient: nobody is notified of their own acts.
///
/// Returns the stored row, so the caller can deliver it to live subscribers once its
/// transaction has committed (never before: a rolled-back notification must not be seen).
pub async fn record(conn: &impl ConnectionTrait, new: NewNotification) -> Result<Option<notification::Model>, DbErr> {
    if new.actor_id == new.recipient_id {
        return Ok(None);
    }
    let model = notification::Model {
        // UUIDv7 follows creation order, the tie-break of the list's (created_at, id) order.
        id: Uuid::now_v7(),
        recipient_id: new.recipient_id,
        kind: new.kind.as_str().to_string(),
        actor_id: new.actor_id,
        post_id: new.post_id,
        comment_id: new.comment_id,
        read_at: None,
        created_at: super::now(),
    };
    notification::Entity::insert(model.clone().into_active_model()).exec_without_returning(conn).await?;
    Ok(Some(model))
}

/// Up to `limit` notifications of `recipient_id`, newest first, strictly after `after` in
/// that order; only the unread ones when `unread_only`.
///
/// Keyset paging on (created_at, id), as the feed does: a cursor stays valid however many
/// notifications arrive in front of it.
pub async fn page(
    conn: &impl ConnectionTrait,
    recipient_id: Uuid,
    unread_only: bool,
    after: Option<FeedPosition>,
    limit: u64,
) -> Result<Vec<notification::Model>, DbErr> {
    let mut query = notification::Entity::find().filter(notification::Column::RecipientId.eq(recipient_id));
    if unread_only {
        query = query.filter(notification::Column::ReadAt.is_null());
    }
    if let Some(position) = after {
        query = query.filter(
            Condition::any().add(notification::Column::CreatedAt.lt(position.created_at)).add(
                Condition::all()
                    .add(notification::Column::CreatedAt.eq(position.created_at))
                    .add(notification::Column::Id.lt(position.id)),
            ),
        );
    }
    query
        .order_by_desc(notification::Column::CreatedAt)
        .order_by_desc(notification::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

/// How many notifications of `recipient_id` are unread, in all (not only one page).
pub async fn unread_count(conn: &impl ConnectionTrait, recipient_id: Uuid) -> Result<u64, DbErr> {
    notification::Entity::find()
        .filter(notification::Column::RecipientId.eq(recipient_id))
        .filter(notification::Column::ReadAt.is_null())
        .count(conn)
        .await
}

/// Marks unread notifications of `recipient_id` read at `at`: those among `ids`, or all of
/// them when `ids` is `None`. Returns how many changed.
///
/// The recipient filter is what keeps other users' notifications untouched whatever ids
/// are sent, and the `read_at IS NULL` filter keeps already-read ones out of the count (and
/// their first read time intact).
pub async fn mark_read(
    conn: &impl ConnectionTrait,
    recipient_id: Uuid,
    ids: Option<&[Uuid]>,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if ids.is_some_and(<[Uuid]>::is_empty) {
        return Ok(0);
    }
    let mut update = notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(at))
        .filter(notification::Column::RecipientId.eq(recipient_id))
        .filter(notification::Column::ReadAt.is_null());
    if let Some(ids) = ids {
        update = update.filter(notification::Column::Id.is_in(ids.iter().copied()));
    }
    Ok(update.exec(conn).await?.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_stored_names() {
        for kind in [NotificationKind::PostLiked, NotificationKind::PostCommented, NotificationKind::ContactAdded] {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NotificationKind::parse("post_liked"), None, "names are stored upper case");
    }
}
