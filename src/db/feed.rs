//! Feed queries: pages of posts, and the per-post lists (likers, comments, commenters) for a
//! whole batch of posts in one statement each, so a page costs the same number of
//! statements whatever its size.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, QueryResult, Statement, Value};
use uuid::Uuid;

use super::{
    entities::{comment, post},
    placeholders,
    users::{UserRecord, record_columns},
};

/// A post with its author, as every post query returns it.
#[derive(Debug, Clone)]
pub struct PostWithAuthor {
    /// The post row.
    pub post: post::Model,
    /// Its author.
    pub author: UserRecord,
}

/// A comment with its author.
#[derive(Debug, Clone)]
pub struct CommentWithAuthor {
    /// The comment row.
    pub comment: comment::Model,
    /// Its author.
    pub author: UserRecord,
}

/// A position in the feed: the (created_at, id) of the last post seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedPosition {
    /// `created_at` of the post.
    pub created_at: DateTime<Utc>,
    /// `id` of the post, the tie-break between equal timestamps.
    pub id: Uuid,
}

const POST_COLUMNS: &str = "p.id AS p_id, p.author_id AS p_author_id, p.body AS p_body, \
    p.like_count AS p_like_count, p.comment_count AS p_comment_count, p.created_at AS p_created_at";

fn post_with_author(row: &QueryResult) -> Result<PostWithAuthor, DbErr> {
    Ok(PostWithAuthor {
        post: post::Model::from_query_result(row, "p_")?,
        author: UserRecord::from_query_result(row, "u_")?,
    })
}

/// Up to `limit` posts, newest first, strictly after `after` in that order.
///
/// Keyset paging on (created_at, id): a position stays valid however many posts are added
/// in front of it, unlike an offset.
pub async fn page(
    conn: &impl ConnectionTrait,
    after: Option<FeedPosition>,
    limit: u64,
) -> Result<Vec<PostWithAuthor>, DbErr> {
    let backend = conn.get_database_backend();
    let users = record_columns("u", "u_");
    let (seek, mut values): (String, Vec<Value>) = match after {
        Some(position) => {
            let p = placeholders(backend, 1, 3);
            let p: Vec<&str> = p.split(", ").collect();
            (
                format!("WHERE p.created_at < {} OR (p.created_at = {} AND p.id < {})", p[0], p[1], p[2]),
                vec![position.created_at.into(), position.created_at.into(), position.id.into()],
            )
        }
        None => (String::new(), Vec::new()),
    };
    let limit_placeholder = placeholders(backend, values.len() + 1, 1);
    values.push((limit as i64).into());
    let sql = format!(
        "SELECT {POST_COLUMNS}, {users} FROM post p JOIN \"user\" u ON u.id = p.author_id \
         {seek} ORDER BY p.created_at DESC, p.id DESC LIMIT {limit_placeholder}"
    );
    let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    rows.iter().map(post_with_author).collect()
}

/// The posts with the given ids, with their authors.
pub async fn posts_by_ids(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<PostWithAuthor>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = conn.get_database_backend();
    let users = record_columns("u", "u_");
    let sql = format!(
        "SELECT {POST_COLUMNS}, {users} FROM post p JOIN \"user\" u ON u.id = p.author_id WHERE p.id IN ({})",
        placeholders(backend, 1, ids.len())
    );
    let values: Vec<Value> = ids.iter().map(|id| (*id).into()).collect();
    let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    rows.iter().map(post_with_author).collect()
}

/// The comments with the given ids, with their authors; missing ids are simply absent.
pub async fn comments_by_ids(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<CommentWithAuthor>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = conn.get_database_backend();
    let users = record_columns("u", "u_");
    let sql = format!(
        "SELECT c.id AS c_id, c.post_id AS c_post_id, c.author_id AS c_author_id, c.body AS c_body, \
         c.created_at AS c_created_at, {users} FROM comment c JOIN \"user\" u ON u.id = c.author_id \
         WHERE c.id IN ({})",
        placeholders(backend, 1, ids.len())
    );
    let values: Vec<Value> = ids.iter().map(|id| (*id).into()).collect();
    let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    rows.iter()
        .map(|row| {
            Ok(CommentWithAuthor {
                comment: comment::Model::from_query_result(row, "c_")?,
                author: UserRecord::from_query_result(row, "u_")?,
            })
        })
        .collect()
}

/// Builds `sql_template` for a batch: `{ids}` becomes the id placeholders and `{limit}` the
/// per-post limit placeholder.
fn batch_statement(conn: &impl ConnectionTrait, sql_template: &str, post_ids: &[Uuid], per_post: u64) -> Statement {
    let backend = conn.get_database_backend();
    let sql = sql_template
        .replace("{ids}", &placeholders(backend, 1, post_ids.len()))
        .replace("{limit}", &placeholders(backend, post_ids.len() + 1, 1))
        .replace("{users}", &record_columns("u", "u_"));
    let mut values: Vec<Value> = post_ids.iter().map(|id| (*id).into()).collect();
    values.push((per_post as i64).into());
    Statement::from_sql_and_values(backend, sql, values)
}

fn group_users(rows: Vec<QueryResult>) -> Result<HashMap<Uuid, Vec<UserRecord>>, DbErr> {
    let mut grouped: HashMap<Uuid, Vec<UserRecord>> = HashMap::new();
    for row in rows {
        let post_id: Uuid = row.try_get("", "post_id")?;
        grouped.entry(post_id).or_default().push(UserRecord::from_query_result(&row, "u_")?);
    }
    Ok(grouped)
}

/// The `per_post` most recent likers of each post, most recent first.
pub async fn likers(
    conn: &impl ConnectionTrait,
    post_ids: &[Uuid],
    per_post: u64,
) -> Result<HashMap<Uuid, Vec<UserRecord>>, DbErr> {
    if post_ids.is_empty() {
        return Ok(HashMap::new());
    }
    // ROW_NUMBER per post keeps the batch to one statement while reading only `per_post`
    // rows of each post, however many likes it has.
    const SQL: &str = "SELECT ranked.post_id AS post_id, {users} FROM ( \
        SELECT pl.post_id, pl.user_id, ROW_NUMBER() OVER ( \
            PARTITION BY pl.post_id ORDER BY pl.created_at DESC, pl.user_id DESC) AS rn \
        FROM post_like pl WHERE pl.post_id IN ({ids}) \
        ) ranked JOIN \"user\" u ON u.id = ranked.user_id \
        WHERE ranked.rn <= {limit} ORDER BY ranked.post_id, ranked.rn";
    group_users(conn.query_all_raw(batch_statement(conn, SQL, post_ids, per_post)).await?)
}

/// The first `per_post` comments of each post, oldest first, with their authors.
pub async fn comments(
    conn: &impl ConnectionTrait,
    post_ids: &[Uuid],
    per_post: u64,
) -> Result<HashMap<Uuid, Vec<CommentWithAuthor>>, DbErr> {
    if post_ids.is_empty() {
        return Ok(HashMap::new());
    }
    const SQL: &str = "SELECT ranked.id AS c_id, ranked.post_id AS c_post_id, ranked.author_id AS c_author_id, \
        ranked.body AS c_body, ranked.created_at AS c_created_at, {users} FROM ( \
        SELECT c.id, c.post_id, c.author_id, c.body, c.created_at, ROW_NUMBER() OVER ( \
            PARTITION BY c.post_id ORDER BY c.created_at, c.id) AS rn \
        FROM comment c WHERE c.post_id IN ({ids}) \
        ) ranked JOIN \"user\" u ON u.id = ranked.author_id \
        WHERE ranked.rn <= {limit} ORDER BY ranked.post_id, ranked.rn";
    let rows = conn.query_all_raw(batch_statement(conn, SQL, post_ids, per_post)).await?;
    let mut grouped: HashMap<Uuid, Vec<CommentWithAuthor>> = HashMap::new();
    for row in rows {
        let comment = comment::Model::from_query_result(&row, "c_")?;
        let author = UserRecord::from_query_result(&row, "u_")?;
        grouped.entry(comment.post_id).or_default().push(CommentWithAuthor { comment, author });
    }
    Ok(grouped)
}

/// The first `per_post` distinct commenters of each post, in order of their first comment.
pub async fn commenters(
    conn: &impl ConnectionTrait,
    post_ids: &[Uuid],
    per_post: u64,
) -> Result<HashMap<Uuid, Vec<UserRecord>>, DbErr> {
    if post_ids.is_empty() {
        return Ok(HashMap::new());
    }
    const SQL: &str = "SELECT ranked.post_id AS post_id, {users} FROM ( \
        SELECT c.post_id, c.author_id, ROW_NUMBER() OVER ( \
            PARTITION BY c.post_id ORDER BY MIN(c.created_at), c.author_id) AS rn \
        FROM comment c WHERE c.post_id IN ({ids}) GROUP BY c.post_id, c.author_id \
        ) ranked JOIN \"user\" u ON u.id = ranked.author_id \
        WHERE ranked.rn <= {limit} ORDER BY ranked.post_id, ranked.rn";
    group_users(conn.query_all_raw(batch_statement(conn, SQL, post_ids, per_post)).await?)
}

/// Which of `post_ids` the user has liked.
pub async fn liked_by(conn: &impl ConnectionTrait, user_id: Uuid, post_ids: &[Uuid]) -> Result<HashSet<Uuid>, DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

    use super::entities::post_like;
    if post_ids.is_empty() {
        return Ok(HashSet::new());
    }
    let liked: Vec<Uuid> = post_like::Entity::find()
        .select_only()
        .column(post_like::Column::PostId)
        .filter(post_like::Column::UserId.eq(user_id))
        .filter(post_like::Column::PostId.is_in(post_ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(liked.into_iter().collect())
}
