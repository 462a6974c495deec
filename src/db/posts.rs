//! Feed writes: new posts, likes and comments.
//!
//! A like or a comment changes three things (its own row, the post's counter and the
//! author's notification), so each runs in one transaction: all of them happen or none does.
//! Counters move by one atomic `UPDATE … SET n = n + 1`, never by a read-modify-write in
//! Rust, so concurrent writers cannot lose an update.
//!
//! In each transaction the first statement is a write. On SQLite a transaction that read
//! first and then writes fails at once (`SQLITE_BUSY_SNAPSHOT`) when another writer
//! committed in between; one that writes first queues on the write lock instead (the busy
//! timeout), so racing requests are served one after the other.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, SqlErr, Statement, TransactionSession as _,
    TransactionTrait, TryInsertResult, entity::ActiveValue::Set,
};
use uuid::Uuid;

use super::{
    entities::{comment, notification, post, post_like},
    notifications::{self, NewNotification, NotificationKind},
    placeholders,
};
use crate::{
    domain::{CommentBody, PostBody},
    error::AppError,
};

/// Why a feed write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PostWriteError {
    /// The post does not exist.
    #[error("the post does not exist")]
    PostNotFound,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<PostWriteError> for AppError {
    fn from(error: PostWriteError) -> Self {
        match error {
            PostWriteError::PostNotFound => {
                AppError::NotFound("This post does not exist; it may have been deleted. Check the post id.".into())
            }
            PostWriteError::Db(error) => AppError::from(error),
        }
    }
}

/// A row referring to a post failed its foreign key: the post is missing (the other key,
/// the acting user, is the signed-in viewer, who exists).
fn post_missing_or_db(error: DbErr) -> PostWriteError {
    match error.sql_err() {
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => PostWriteError::PostNotFound,
        _ => PostWriteError::Db(error),
    }
}

/// The post counters a write may move.
#[derive(Debug, Clone, Copy)]
enum Counter {
    Likes,
    Comments,
}

/// Adds `delta` to one counter of the post in a single statement and returns the post's
/// author, or `None` when there is no such post.
///
/// Hand-written because sea-orm's `UPDATE … RETURNING` is off for SQLite in this build;
/// both backends support the SQL itself.
async fn move_counter(
    conn: &impl ConnectionTrait,
    post_id: Uuid,
    counter: Counter,
    delta: i32,
) -> Result<Option<Uuid>, DbErr> {
    let column = match counter {
        Counter::Likes => "like_count",
        Counter::Comments => "comment_count",
    };
    let backend = conn.get_database_backend();
    let p = placeholders(backend, 1, 2);
    let p: Vec<&str> = p.split(", ").collect();
    let sql = format!("UPDATE post SET {column} = {column} + {} WHERE id = {} RETURNING author_id", p[0], p[1]);
    let row = conn.query_one_raw(Statement::from_sql_and_values(backend, sql, [delta.into(), post_id.into()])).await?;
    row.map(|row| row.try_get("", "author_id")).transpose()
}

/// Stores a new post by `author_id` and returns its id.
pub async fn create_post(conn: &impl ConnectionTrait, author_id: Uuid, body: &PostBody) -> Result<Uuid, DbErr> {
    // UUIDv7: creation order, the feed's tie-break between equal timestamps.
    let id = Uuid::now_v7();
    let model = post::ActiveModel {
        id: Set(id),
        author_id: Set(author_id),
        body: Set(body.as_str().to_string()),
        like_count: Set(0),
        comment_count: Set(0),
        created_at: Set(super::now()),
    };
    post::Entity::insert(model).exec_without_returning(conn).await?;
    Ok(id)
}

/// Records that `user_id` likes `post_id`; liking again changes nothing.
///
/// Returns the notification for the post's author when this call added the like (none for
/// a repeated like or for one's own post), to be delivered now that it is committed.
pub async fn like_post(
    db: &impl TransactionTrait,
    post_id: Uuid,
    user_id: Uuid,
) -> Result<Option<notification::Model>, PostWriteError> {
    let txn = db.begin().await?;
    let like = post_like::ActiveModel { post_id: Set(post_id), user_id: Set(user_id), created_at: Set(super::now()) };
    // Insert-if-absent on the (post_id, user_id) key: of two racing likes, the second waits
    // for the first and then inserts nothing, on SQLite and PostgreSQL alike. Only a row
    // really inserted moves the counter and notifies.
    let inserted = post_like::Entity::insert(like)
        .on_conflict_do_nothing()
        .exec_without_returning(&txn)
        .await
        .map_err(post_missing_or_db)?;
    if !matches!(inserted, TryInsertResult::Inserted(rows) if rows > 0) {
        txn.commit().await?;
        return Ok(None);
    }
    let author_id = move_counter(&txn, post_id, Counter::Likes, 1).await?.ok_or(PostWriteError::PostNotFound)?;
    let notification = notifications::record(
        &txn,
        NewNotification {
            recipient_id: author_id,
            actor_id: user_id,
            kind: NotificationKind::PostLiked,
            post_id: Some(post_id),
            comment_id: None,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(notification)
}

/// Removes `user_id`'s like of `post_id`, if there is one; returns whether it was there.
///
/// The POST_LIKED notification the like caused stays: the author was told something true
/// at the time, and retracting it would make notifications vanish from under a reader (and
/// from a live stream that already delivered them). A like after an unlike notifies again.
pub async fn unlike_post(db: &impl TransactionTrait, post_id: Uuid, user_id: Uuid) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    let deleted = post_like::Entity::delete_many()
        .filter(post_like::Column::PostId.eq(post_id))
        .filter(post_like::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?
        .rows_affected;
    // Only a row really deleted moves the counter: two racing unlikes delete once.
    if deleted > 0 {
        move_counter(&txn, post_id, Counter::Likes, -1).await?;
    }
    txn.commit().await?;
    Ok(deleted > 0)
}

/// Stores a comment by `author_id` on `post_id`, counts it, and notifies the post's author
/// (unless they wrote it). Returns the comment and the notification to deliver.
pub async fn add_comment(
    db: &impl TransactionTrait,
    post_id: Uuid,
    author_id: Uuid,
    body: &CommentBody,
) -> Result<(comment::Model, Option<notification::Model>), PostWriteError> {
    let txn = db.begin().await?;
    let model = comment::Model {
        id: Uuid::now_v7(),
        post_id,
        author_id,
        body: body.as_str().to_string(),
        created_at: super::now(),
    };
    let active = comment::ActiveModel {
        id: Set(model.id),
        post_id: Set(model.post_id),
        author_id: Set(model.author_id),
        body: Set(model.body.clone()),
        created_at: Set(model.created_at),
    };
    comment::Entity::insert(active).exec_without_returning(&txn).await.map_err(post_missing_or_db)?;
    let post_author = move_counter(&txn, post_id, Counter::Comments, 1).await?.ok_or(PostWriteError::PostNotFound)?;
    let notification = notifications::record(
        &txn,
        NewNotification {
            recipient_id: post_author,
            actor_id: author_id,
            kind: NotificationKind::PostCommented,
            post_id: Some(post_id),
            comment_id: Some(model.id),
        },
    )
    .await?;
    txn.commit().await?;
    Ok((model, notification))
}
