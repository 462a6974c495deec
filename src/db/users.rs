//! User queries.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::entities::user;

/// The public columns of a user: everything but the password hash, which never needs to
/// leave the auth code.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct UserRecord {
    /// Primary key.
    pub id: Uuid,
    /// Lower-cased address (shown to its owner only).
    pub email: String,
    /// Unique handle.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// When the address was confirmed.
    pub email_verified_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Stored role, `USER` or `ADMIN`.
    pub role: String,
    /// When the account was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The column list of [`UserRecord`] for hand-written SQL, each aliased with `prefix`
/// so `UserRecord::from_query_result(row, prefix)` reads it back.
pub fn record_columns(table_alias: &str, prefix: &str) -> String {
    ["id", "email", "username", "display_name", "email_verified_at", "role", "created_at"]
        .iter()
        .map(|column| format!("{table_alias}.{column} AS {prefix}{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Loads the users with the given ids; missing ids are simply absent.
pub async fn find_by_ids(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<UserRecord>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    user::Entity::find()
        .select_only()
        .columns([
            user::Column::Id,
            user::Column::Email,
            user::Column::Username,
            user::Column::DisplayName,
            user::Column::EmailVerifiedAt,
            user::Column::Role,
            user::Column::CreatedAt,
        ])
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .into_model::<UserRecord>()
        .all(conn)
        .await
}

/// Number of users, used to decide whether an empty development database gets demo data.
pub async fn count(conn: &impl ConnectionTrait) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait as _;
    user::Entity::find().count(conn).await
}
