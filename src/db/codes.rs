//! Emailed-code queries.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait as _},
};
use uuid::Uuid;

use super::entities::one_time_code;

/// Replaces the user's code for `purpose` with a new one (a new request kills the old code).
pub async fn replace(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    purpose: &str,
    code_hash: String,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    one_time_code::Entity::delete_many()
        .filter(one_time_code::Column::UserId.eq(user_id))
        .filter(one_time_code::Column::Purpose.eq(purpose))
        .exec(conn)
        .await?;
    one_time_code::Entity::insert(one_time_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        purpose: Set(purpose.to_string()),
        code_hash: Set(code_hash),
        attempts: Set(0),
        expires_at: Set(expires_at),
        consumed_at: Set(None),
        created_at: Set(now),
    })
    .exec_without_returning(conn)
    .await
    .map(|_| ())
}

/// The user's code for `purpose`, if one exists.
pub async fn find(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    purpose: &str,
) -> Result<Option<one_time_code::Model>, DbErr> {
    one_time_code::Entity::find()
        .filter(one_time_code::Column::UserId.eq(user_id))
        .filter(one_time_code::Column::Purpose.eq(purpose))
        .one(conn)
        .await
}

/// Counts one attempt on a live code, if it has attempts left. False when the code is dead
/// (spent, expired or out of attempts): the increment and the check are one statement, so
/// racing guesses cannot exceed the limit.
pub async fn count_attempt(
    conn: &impl ConnectionTrait,
    id: Uuid,
    max_attempts: i32,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = one_time_code::Entity::update_many()
        .col_expr(one_time_code::Column::Attempts, Expr::col(one_time_code::Column::Attempts).add(1))
        .filter(one_time_code::Column::Id.eq(id))
        .filter(one_time_code::Column::ConsumedAt.is_null())
        .filter(one_time_code::Column::ExpiresAt.gt(now))
        .filter(one_time_code::Column::Attempts.lt(max_attempts))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Spends a code. True for exactly one caller, however many race.
pub async fn consume(conn: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let result = one_time_code::Entity::update_many()
        .col_expr(one_time_code::Column::ConsumedAt, Expr::value(now))
        .filter(one_time_code::Column::Id.eq(id))
        .filter(one_time_code::Column::ConsumedAt.is_null())
        .filter(one_time_code::Column::ExpiresAt.gt(now))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Deletes codes whose expiry has passed; live codes stay.
pub async fn delete_expired(conn: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let result =
        one_time_code::Entity::delete_many().filter(one_time_code::Column::ExpiresAt.lte(now)).exec(conn).await?;
    Ok(result.rows_affected)
}
