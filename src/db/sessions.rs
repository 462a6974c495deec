//! Login-session queries.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Condition, Expr},
};
use uuid::Uuid;

use super::entities::session;

/// Stores a new session.
pub async fn insert(conn: &impl ConnectionTrait, model: session::Model) -> Result<(), DbErr> {
    session::Entity::insert(session::ActiveModel {
        id: Set(model.id),
        user_id: Set(model.user_id),
        created_at: Set(model.created_at),
        last_seen_at: Set(model.last_seen_at),
        expires_at: Set(model.expires_at),
        revoked_at: Set(model.revoked_at),
        revoked_reason: Set(model.revoked_reason),
        user_agent: Set(model.user_agent),
    })
    .exec_without_returning(conn)
    .await
    .map(|_| ())
}

/// The session with this id, live or not.
pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<session::Model>, DbErr> {
    session::Entity::find_by_id(id).one(conn).await
}

/// A session is live while it is not revoked, before its absolute end, and used since
/// `idle_cutoff`.
fn live(now: DateTime<Utc>, idle_cutoff: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(session::Column::RevokedAt.is_null())
        .add(session::Column::ExpiresAt.gt(now))
        .add(session::Column::LastSeenAt.gt(idle_cutoff))
}

/// The user's live sessions, most recently used first.
pub async fn list_live(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
    idle_cutoff: DateTime<Utc>,
) -> Result<Vec<session::Model>, DbErr> {
    session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(live(now, idle_cutoff))
        .order_by_desc(session::Column::LastSeenAt)
        .order_by_desc(session::Column::Id)
        .all(conn)
        .await
}

/// Live sessions across all users.
pub async fn count_live(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    idle_cutoff: DateTime<Utc>,
) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait as _;
    session::Entity::find().filter(live(now, idle_cutoff)).count(conn).await
}

/// Revokes the given live sessions of `user_id` (all of them when `only` is `None`) except
/// `keep`; returns the ids it revoked.
pub async fn revoke(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    only: Option<Uuid>,
    keep: Option<Uuid>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, DbErr> {
    let mut condition =
        Condition::all().add(session::Column::UserId.eq(user_id)).add(session::Column::RevokedAt.is_null());
    if let Some(id) = only {
        condition = condition.add(session::Column::Id.eq(id));
    }
    if let Some(id) = keep {
        condition = condition.add(session::Column::Id.ne(id));
    }
    // Select, then update the same rows guarded by `revoked_at IS NULL`: inside the caller's
    // transaction the pair is atomic, and a session revoked twice is announced once.
    let ids: Vec<Uuid> = session::Entity::find()
        .select_only()
        .column(session::Column::Id)
        .filter(condition.clone())
        .into_tuple()
        .all(conn)
        .await?;
    if ids.is_empty() {
        return Ok(ids);
    }
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .col_expr(session::Column::RevokedReason, Expr::value(reason))
        .filter(condition)
        .filter(session::Column::Id.is_in(ids.clone()))
        .exec(conn)
        .await?;
    Ok(ids)
}

/// Sessions revoked after `since`, oldest revocation first, at most `limit`: the
/// revocation poll every instance runs when Redis may have missed an announcement.
pub async fn revoked_since(
    conn: &impl ConnectionTrait,
    since: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<session::Model>, DbErr> {
    session::Entity::find()
        .filter(session::Column::RevokedAt.gt(since))
        .order_by_asc(session::Column::RevokedAt)
        .limit(limit)
        .all(conn)
        .await
}

/// Moves `last_seen_at` to `now` unless it was written after `stale_before`: at most one
/// write per touch interval, and no write at all when another request just did it.
pub async fn touch(
    conn: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
    stale_before: DateTime<Utc>,
) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, Expr::value(now))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::LastSeenAt.lt(stale_before))
        .exec(conn)
        .await
        .map(|_| ())
}

/// Sessions that have ended by time (absolute or idle) and were never revoked, with their
/// users: the cleanup announces these as expired before deleting them.
pub async fn find_expired(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    idle_cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<(Uuid, Uuid)>, DbErr> {
    session::Entity::find()
        .select_only()
        .columns([session::Column::Id, session::Column::UserId])
        .filter(session::Column::RevokedAt.is_null())
        .filter(
            Condition::any().add(session::Column::ExpiresAt.lte(now)).add(session::Column::LastSeenAt.lte(idle_cutoff)),
        )
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
}

/// Deletes sessions that can never be valid again: past either end, or revoked.
pub async fn delete_dead(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    idle_cutoff: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = session::Entity::delete_many()
        .filter(
            Condition::any()
                .add(session::Column::ExpiresAt.lte(now))
                .add(session::Column::LastSeenAt.lte(idle_cutoff))
                .add(session::Column::RevokedAt.is_not_null()),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
