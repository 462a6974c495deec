//! Contacts: the people each user added (one-way), and the CONTACT_ADDED notification that
//! adding someone records for them.
//!
//! Adding writes two rows (the contact and the notification), so it runs in one transaction
//! whose first statement is the insert, as the feed writes do (see `db::posts`): on SQLite a
//! transaction that writes first queues on the write lock instead of failing.

use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, SqlErr, Statement,
    TransactionSession as _, TransactionTrait, TryInsertResult, entity::ActiveValue::Set,
};
use uuid::Uuid;

use super::{
    entities::{contact, notification},
    notifications::{self, NewNotification, NotificationKind},
    placeholders,
    users::{UserRecord, record_columns},
};
use crate::error::AppError;

/// Why a contact was not added.
#[derive(Debug, thiserror::Error)]
pub enum AddContactError {
    /// The user to add does not exist.
    #[error("the user does not exist")]
    UserNotFound,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<AddContactError> for AppError {
    fn from(error: AddContactError) -> Self {
        match error {
            AddContactError::UserNotFound => user_not_found(),
            AddContactError::Db(error) => AppError::from(error),
        }
    }
}

/// The error for a user id that names no user.
pub fn user_not_found() -> AppError {
    AppError::NotFound("No user has this id; the account may have been deleted. Check the user id.".into())
}

/// Adds `contact_id` to the contacts of `owner_id`; adding them again changes nothing.
///
/// Returns the CONTACT_ADDED notification for the added user when this call added the row
/// (none for a repeated add), to be delivered once it is committed. The caller refuses
/// adding oneself; `notifications::record` would not notify it anyway.
pub async fn add(
    db: &impl TransactionTrait,
    owner_id: Uuid,
    contact_id: Uuid,
) -> Result<Option<notification::Model>, AddContactError> {
    let txn = db.begin().await?;
    let row =
        contact::ActiveModel { owner_id: Set(owner_id), contact_id: Set(contact_id), created_at: Set(super::now()) };
    // Insert-if-absent on the (owner_id, contact_id) key: of two racing adds, the second
    // waits for the first and then inserts nothing, so only one of them notifies.
    let inserted =
        contact::Entity::insert(row).on_conflict_do_nothing().exec_without_returning(&txn).await.map_err(|error| {
            // The owner is the signed-in viewer, who exists: a failed key is the added user.
            match error.sql_err() {
                Some(SqlErr::ForeignKeyConstraintViolation(_)) => AddContactError::UserNotFound,
                _ => AddContactError::Db(error),
            }
        })?;
    if !matches!(inserted, TryInsertResult::Inserted(rows) if rows > 0) {
        txn.commit().await?;
        return Ok(None);
    }
    let notification = notifications::record(
        &txn,
        NewNotification {
            recipient_id: contact_id,
            actor_id: owner_id,
            kind: NotificationKind::ContactAdded,
            post_id: None,
            comment_id: None,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(notification)
}

/// Removes `contact_id` from the contacts of `owner_id`; returns whether they were one.
///
/// The CONTACT_ADDED notification stays, as a like's does after an unlike: it told the
/// added user something true at the time. Adding them again notifies again.
pub async fn remove(conn: &impl ConnectionTrait, owner_id: Uuid, contact_id: Uuid) -> Result<bool, DbErr> {
    let deleted = contact::Entity::delete_many()
        .filter(contact::Column::OwnerId.eq(owner_id))
        .filter(contact::Column::ContactId.eq(contact_id))
        .exec(conn)
        .await?
        .rows_affected;
    Ok(deleted > 0)
}

/// The contacts of `owner_id`, ordered by username, in one statement.
pub async fn list(conn: &impl ConnectionTrait, owner_id: Uuid) -> Result<Vec<UserRecord>, DbErr> {
    use sea_orm::FromQueryResult as _;
    let backend = conn.get_database_backend();
    let sql = format!(
        "SELECT {users} FROM contact c JOIN \"user\" u ON u.id = c.contact_id \
         WHERE c.owner_id = {} ORDER BY u.username",
        placeholders(backend, 1, 1),
        users = record_columns("u", ""),
    );
    let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, [owner_id.into()])).await?;
    rows.iter().map(|row| UserRecord::from_query_result(row, "")).collect()
}

/// The ids of the contacts of `owner_id` (for presence, which needs no user rows).
pub async fn contact_ids(conn: &impl ConnectionTrait, owner_id: Uuid) -> Result<Vec<Uuid>, DbErr> {
    contact::Entity::find()
        .select_only()
        .column(contact::Column::ContactId)
        .filter(contact::Column::OwnerId.eq(owner_id))
        .into_tuple()
        .all(conn)
        .await
}
