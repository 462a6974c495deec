//! Per-request batch loading (async-graphql's DataLoader): every nested user, list and flag of
//! a page of posts is fetched for all posts at once, one statement per kind of data.
//!
//! A loader is built per request because it caches (one request sees one consistent answer
//! per key) and because `likedByViewer` depends on who asks.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
    time::Duration,
};

use async_graphql::{
    Lookahead, SelectionField,
    dataloader::{DataLoader, HashMapCache, Loader},
};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::{
    context::Viewer,
    types::{Comment, User},
};
use crate::{
    db::{
        self,
        chat::MessageWithAuthor,
        entities::chat_room,
        feed::{CommentWithAuthor, PostWithAuthor},
        users::UserRecord,
    },
    error::AppError,
};

/// The data loader of one request.
pub type RequestLoader = DataLoader<FeedLoader, HashMapCache>;

/// A user by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserKey(pub Uuid);
/// A post (with its author) by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PostKey(pub Uuid);
/// A comment (with its author) by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommentKey(pub Uuid);
/// The first `n` likers of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LikersKey(pub Uuid, pub u64);
/// The first `n` comments of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommentsKey(pub Uuid, pub u64);
/// The first `n` commenters of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommentersKey(pub Uuid, pub u64);
/// Whether the viewer liked a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LikedByViewerKey(pub Uuid);
/// A chat room by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomKey(pub Uuid);
/// The latest page of `n` messages of a room: up to `n + 1` messages with their authors,
/// newest first (the extra one tells whether older messages exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomMessagesKey(pub Uuid, pub u64);

/// Loads feed data in batches.
pub struct FeedLoader {
    db: DatabaseConnection,
    viewer: Option<Viewer>,
}

/// Builds the loader for one request.
///
/// With no delay: the keys that a document's resolvers register while one task runs still
/// share a batch (the batch waits for the timer's next millisecond tick), but a lone load no
/// longer waits out the default 1 ms delay, which tokio's millisecond ticks make 1–2 ms, on
/// every request that loads anything (`{ me { id } }` took 2.0 ms, 0.7 ms of it GraphQL).
pub fn request_loader(db: DatabaseConnection, viewer: Option<Viewer>) -> RequestLoader {
    DataLoader::with_cache(FeedLoader { db, viewer }, tokio::spawn, HashMapCache::default()).delay(Duration::ZERO)
}

/// Errors reach every waiting resolver, so they must be `Clone`: share one `AppError`.
pub type LoadError = std::sync::Arc<AppError>;

fn load_error(error: sea_orm::DbErr) -> LoadError {
    std::sync::Arc::new(AppError::from(error))
}

/// A list the loader holds: shared, because the loader clones what it caches and hands out,
/// and async-graphql resolves an `Arc<[T]>` of GraphQL objects in place, so a list field
/// returns it as it is, without copying a row.
pub type Shared<T> = Arc<[T]>;

/// Runs `load` once per distinct page size among `keys` (a query asking `likers(first: 3)` and
/// `likers(first: 10)` makes two statements, not one per post); `wrap` makes each row the
/// value the resolvers hand out.
async fn load_per_size<K, T, W, F, Fut>(
    keys: &[K],
    split: impl Fn(&K) -> (Uuid, u64),
    load: F,
    wrap: impl Fn(T) -> W,
) -> Result<HashMap<K, Shared<W>>, LoadError>
where
    K: Copy + Eq + std::hash::Hash,
    F: Fn(Vec<Uuid>, u64) -> Fut,
    Fut: Future<Output = Result<HashMap<Uuid, Vec<T>>, sea_orm::DbErr>>,
{
    let mut by_size: BTreeMap<u64, Vec<K>> = BTreeMap::new();
    for key in keys {
        by_size.entry(split(key).1).or_default().push(*key);
    }
    let mut found = HashMap::new();
    for (size, keys) in by_size {
        let mut rows = load(keys.iter().map(|key| split(key).0).collect(), size).await.map_err(load_error)?;
        for key in keys {
            let list = rows.remove(&split(&key).0).unwrap_or_default();
            found.insert(key, list.into_iter().map(&wrap).collect());
        }
    }
    Ok(found)
}

impl Loader<UserKey> for FeedLoader {
    type Value = UserRecord;
    type Error = LoadError;

    async fn load(&self, keys: &[UserKey]) -> Result<HashMap<UserKey, UserRecord>, LoadError> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let users = db::users::find_by_ids(&self.db, &ids).await.map_err(load_error)?;
        Ok(users.into_iter().map(|user| (UserKey(user.id), user)).collect())
    }
}

impl Loader<PostKey> for FeedLoader {
    type Value = PostWithAuthor;
    type Error = LoadError;

    async fn load(&self, keys: &[PostKey]) -> Result<HashMap<PostKey, PostWithAuthor>, LoadError> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let posts = db::feed::posts_by_ids(&self.db, &ids).await.map_err(load_error)?;
        Ok(posts.into_iter().map(|post| (PostKey(post.post.id), post)).collect())
    }
}

impl Loader<CommentKey> for FeedLoader {
    type Value = CommentWithAuthor;
    type Error = LoadError;

    async fn load(&self, keys: &[CommentKey]) -> Result<HashMap<CommentKey, CommentWithAuthor>, LoadError> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let comments = db::feed::comments_by_ids(&self.db, &ids).await.map_err(load_error)?;
        Ok(comments.into_iter().map(|comment| (CommentKey(comment.comment.id), comment)).collect())
    }
}

impl Loader<LikersKey> for FeedLoader {
    type Value = Shared<User>;
    type Error = LoadError;

    async fn load(&self, keys: &[LikersKey]) -> Result<HashMap<LikersKey, Shared<User>>, LoadError> {
        load_per_size(
            keys,
            |key| (key.0, key.1),
            |ids, size| async move { db::feed::likers(&self.db, &ids, size).await },
            User,
        )
        .await
    }
}

impl Loader<CommentsKey> for FeedLoader {
    type Value = Shared<Comment>;
    type Error = LoadError;

    async fn load(&self, keys: &[CommentsKey]) -> Result<HashMap<CommentsKey, Shared<Comment>>, LoadError> {
        load_per_size(
            keys,
            |key| (key.0, key.1),
            |ids, size| async move { db::feed::comments(&self.db, &ids, size).await },
            Comment,
        )
        .await
    }
}

impl Loader<CommentersKey> for FeedLoader {
    type Value = Shared<User>;
    type Error = LoadError;

    async fn load(&self, keys: &[CommentersKey]) -> Result<HashMap<CommentersKey, Shared<User>>, LoadError> {
        load_per_size(
            keys,
            |key| (key.0, key.1),
            |ids, size| async move { db::feed::commenters(&self.db, &ids, size).await },
            User,
        )
        .await
    }
}

impl Loader<LikedByViewerKey> for FeedLoader {
    type Value = bool;
    type Error = LoadError;

    async fn load(&self, keys: &[LikedByViewerKey]) -> Result<HashMap<LikedByViewerKey, bool>, LoadError> {
        let Some(viewer) = self.viewer else {
            return Ok(keys.iter().map(|key| (*key, false)).collect());
        };
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let liked = db::feed::liked_by(&self.db, viewer.user_id, &ids).await.map_err(load_error)?;
        Ok(keys.iter().map(|key| (*key, liked.contains(&key.0))).collect())
    }
}

impl Loader<RoomKey> for FeedLoader {
    type Value = chat_room::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[RoomKey]) -> Result<HashMap<RoomKey, chat_room::Model>, LoadError> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let rooms = db::chat::rooms_by_ids(&self.db, &ids).await.map_err(load_error)?;
        Ok(rooms.into_iter().map(|room| (RoomKey(room.id), room)).collect())
    }
}

impl Loader<RoomMessagesKey> for FeedLoader {
    type Value = Shared<MessageWithAuthor>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[RoomMessagesKey],
    ) -> Result<HashMap<RoomMessagesKey, Shared<MessageWithAuthor>>, LoadError> {
        load_per_size(
            keys,
            |key| (key.0, key.1),
            |ids, size| async move { db::chat::latest_messages(&self.db, &ids, size + 1).await },
            std::convert::identity,
        )
        .await
    }
}

/// The `first` argument of a selected list field, or `default` when absent or null; `None`
/// when out of range (the field's resolver reports that error itself).
fn first_argument(field: &SelectionField<'_>, default: u64) -> Option<u64> {
    let arguments = field.arguments().ok()?;
    match arguments.iter().find(|(name, _)| name.as_str() == "first").map(|(_, value)| value) {
        None | Some(async_graphql::Value::Null) => Some(default),
        Some(async_graphql::Value::Number(number)) => {
            number.as_u64().filter(|first| *first <= super::types::page::MAX_PAGE_SIZE as u64)
        }
        Some(_) => None,
    }
}

/// Loads every per-post list that `node` (the selection of a `Post`) asks for, for all of
/// `post_ids` at once, into the loader's cache.
///
/// The DataLoader alone batches by timing: keys registered within its delay share a batch,
/// so a large page resolved on a busy machine can split into two statements. Asking for the
/// whole page's keys in one `load_many` makes the batch deterministic; the `Post` resolvers
/// then find their values in the cache.
pub async fn prefetch_post_lists(
    loader: &RequestLoader,
    node: Lookahead<'_>,
    post_ids: &[Uuid],
) -> Result<(), LoadError> {
    let sizes = |name: &str, default: u64| -> BTreeSet<u64> {
        node.field(name).selection_fields().iter().filter_map(|field| first_argument(field, default)).collect()
    };
    let likers = sizes("likers", 10);
    let comments = sizes("comments", 10);
    let commenters = sizes("commenters", 10);
    let liked = node.field("likedByViewer").exists() && loader.loader().viewer.is_some();
    tokio::try_join!(
        async {
            for size in likers {
                loader.load_many(post_ids.iter().map(|id| LikersKey(*id, size))).await?;
            }
            Ok::<_, LoadError>(())
        },
        async {
            for size in comments {
                loader.load_many(post_ids.iter().map(|id| CommentsKey(*id, size))).await?;
            }
            Ok(())
        },
        async {
            for size in commenters {
                loader.load_many(post_ids.iter().map(|id| CommentersKey(*id, size))).await?;
            }
            Ok(())
        },
        async {
            if liked {
                loader.load_many(post_ids.iter().map(|id| LikedByViewerKey(*id))).await?;
            }
            Ok(())
        },
    )?;
    Ok(())
}

/// Loads what `node` (the selection of a `Notification`) asks for, for all of `rows` at once:
/// actors, posts (with their nested lists) and comments, one batch per kind, so each
/// notification then resolves from the cache. Used by the `notifications` query (a page) and
/// subscription (the backlog).
pub async fn prefetch_notifications(
    loader: &RequestLoader,
    node: Lookahead<'_>,
    rows: &[crate::db::entities::notification::Model],
) -> Result<(), LoadError> {
    if rows.is_empty() {
        return Ok(());
    }
    if node.field("actor").exists() {
        let actors: BTreeSet<Uuid> = rows.iter().map(|row| row.actor_id).collect();
        loader.load_many(actors.into_iter().map(UserKey)).await?;
    }
    let post = node.field("post");
    // A comment's post is the notification's post, so one batch serves both selections.
    if post.exists() || node.field("comment").field("post").exists() {
        let posts: Vec<Uuid> = rows.iter().filter_map(|row| row.post_id).collect::<BTreeSet<_>>().into_iter().collect();
        loader.load_many(posts.iter().copied().map(PostKey)).await?;
        prefetch_post_lists(loader, post, &posts).await?;
    }
    if node.field("comment").exists() {
        let comments: BTreeSet<Uuid> = rows.iter().filter_map(|row| row.comment_id).collect();
        loader.load_many(comments.into_iter().map(CommentKey)).await?;
    }
    Ok(())
}
