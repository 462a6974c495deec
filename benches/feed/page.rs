//! The feed page without GraphQL: the statements the GraphQL path runs for the bench's query
//! (`posts` in `src/graphql/query/feed.rs`, then `prefetch_post_lists` in
//! `src/graphql/loaders.rs`), with the same arguments, and the answer written field for
//! field as the GraphQL server writes it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use townsquare::{
    db::{
        self,
        feed::{CommentWithAuthor, FeedPosition, PostWithAuthor},
        users::UserRecord,
    },
    graphql::types::page::encode_cursor,
};
use uuid::Uuid;

/// The posts of a page: the query's `posts(first: 20)`.
const PAGE_SIZE: u64 = 20;
/// The entries of each per-post list: the query's `likers`, `comments` and `commenters`
/// all ask for `first: 10`.
const LIST_SIZE: u64 = 10;
/// The feed's cursor kind, `POST_CURSOR` in `src/graphql/query/feed.rs`.
const POST_CURSOR: &str = "post";

/// The whole answer. Field order follows the query's selection, as GraphQL's does, so the
/// two answers have the same bytes, not only the same JSON.
#[derive(Serialize)]
struct Answer<'a> {
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    posts: Connection<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Connection<'a> {
    edges: Vec<Edge<'a>>,
    page_info: PageInfo,
}

#[derive(Serialize)]
struct Edge<'a> {
    cursor: String,
    node: Node<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Node<'a> {
    id: String,
    body: &'a str,
    created_at: String,
    like_count: i32,
    liked_by_viewer: bool,
    comment_count: i32,
    author: User<'a>,
    likers: Vec<User<'a>>,
    comments: Vec<Comment<'a>>,
    commenters: Vec<User<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct User<'a> {
    id: String,
    username: &'a str,
    display_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Comment<'a> {
    id: String,
    body: &'a str,
    created_at: String,
    author: User<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

/// The per-post lists of a page, by post id.
struct Lists {
    likers: HashMap<Uuid, Vec<UserRecord>>,
    comments: HashMap<Uuid, Vec<CommentWithAuthor>>,
    commenters: HashMap<Uuid, Vec<UserRecord>>,
    liked: HashSet<Uuid>,
}

/// The first page of the feed as `viewer` sees it, as JSON bytes: five statements.
pub async fn render(db: &DatabaseConnection, viewer: Uuid) -> anyhow::Result<Vec<u8>> {
    // One row more than asked tells whether another page follows, as in the resolver.
    let mut rows = db::feed::page(db, None, PAGE_SIZE + 1).await?;
    let has_next_page = rows.len() as u64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let ids: Vec<Uuid> = rows.iter().map(|row| row.post.id).collect();
    // The four lists at once, each on a pooled connection of its own, as the loader's four
    // batches run side by side.
    let (likers, comments, commenters, liked) = tokio::try_join!(
        db::feed::likers(db, &ids, LIST_SIZE),
        db::feed::comments(db, &ids, LIST_SIZE),
        db::feed::commenters(db, &ids, LIST_SIZE),
        db::feed::liked_by(db, viewer, &ids),
    )?;
    let lists = Lists { likers, comments, commenters, liked };
    let edges: Vec<Edge<'_>> = rows.iter().map(|row| edge(row, &lists)).collect();
    let end_cursor = edges.last().map(|edge| edge.cursor.clone());
    let answer =
        Answer { data: Data { posts: Connection { edges, page_info: PageInfo { has_next_page, end_cursor } } } };
    Ok(serde_json::to_vec(&answer)?)
}

fn edge<'a>(row: &'a PostWithAuthor, lists: &'a Lists) -> Edge<'a> {
    let post = &row.post;
    let users =
        |found: Option<&'a Vec<UserRecord>>| found.map(|users| users.iter().map(user).collect()).unwrap_or_default();
    Edge {
        cursor: encode_cursor(POST_CURSOR, FeedPosition { created_at: post.created_at, id: post.id }),
        node: Node {
            id: post.id.to_string(),
            body: &post.body,
            created_at: timestamp(post.created_at),
            like_count: post.like_count,
            liked_by_viewer: lists.liked.contains(&post.id),
            comment_count: post.comment_count,
            author: user(&row.author),
            likers: users(lists.likers.get(&post.id)),
            comments: lists
                .comments
                .get(&post.id)
                .map(|comments| comments.iter().map(comment).collect())
                .unwrap_or_default(),
            commenters: users(lists.commenters.get(&post.id)),
        },
    }
}

fn user(record: &UserRecord) -> User<'_> {
    User { id: record.id.to_string(), username: &record.username, display_name: &record.display_name }
}

fn comment(found: &CommentWithAuthor) -> Comment<'_> {
    Comment {
        id: found.comment.id.to_string(),
        body: &found.comment.body,
        created_at: timestamp(found.comment.created_at),
        author: user(&found.author),
    }
}

/// A `DateTime` as the server's scalar writes it (`src/graphql/types/scalars.rs`): RFC 3339
/// in UTC with a `Z`, the fraction only as long as it needs to be.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
