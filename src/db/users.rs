//! User queries.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::entities::user;

/// The public columns of a user: everything but the password hash, which never needs to
/// leave the auth code.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult, serde::Serialize, serde::Deserialize)]
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

/// The account with this (normalized) address, hash included, for signing in.
pub async fn find_by_email(conn: &impl ConnectionTrait, email: &str) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find().filter(user::Column::Email.eq(email)).one(conn).await
}

/// The account with this id, hash included.
pub async fn find_account(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(conn).await
}

/// Stores a new account.
pub async fn insert(conn: &impl ConnectionTrait, model: user::Model) -> Result<(), DbErr> {
    use sea_orm::{ActiveModelTrait as _, IntoActiveModel as _};
    model.into_active_model().reset_all().insert(conn).await.map(|_| ())
}

/// Replaces the password hash of `id`.
pub async fn set_password_hash(conn: &impl ConnectionTrait, id: Uuid, hash: String) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, sea_orm::sea_query::Expr::value(hash))
        .filter(user::Column::Id.eq(id))
        .exec(conn)
        .await
        .map(|_| ())
}

/// Marks the address of `id` verified at `at`, unless it already is.
pub async fn mark_email_verified(
    conn: &impl ConnectionTrait,
    id: Uuid,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerifiedAt, sea_orm::sea_query::Expr::value(at))
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::EmailVerifiedAt.is_null())
        .exec(conn)
        .await
        .map(|_| ())
}

impl From<user::Model> for UserRecord {
    fn from(model: user::Model) -> Self {
        UserRecord {
            id: model.id,
            email: model.email,
            username: model.username,
            display_name: model.display_name,
            email_verified_at: model.email_verified_at,
            role: model.role,
            created_at: model.created_at,
        }
    }
}
