//! `createPost`, `likePost`, `unlikePost` and `addComment`: the feed's writes.

use async_graphql::{Context, ID, Object};
use uuid::Uuid;

use crate::{
    db::{self, entities::notification, feed::PostWithAuthor},
    domain::{CommentBody, PostBody},
    error::AppError,
    graphql::{
        context,
        loaders::{CommentersKey, CommentsKey, LikedByViewerKey, LikersKey, PostKey, RequestLoader},
        types::{Comment, Post},
    },
    realtime::broker::{Event, Topic},
    state::AppState,
};

/// Mutations of the feed.
#[derive(Default)]
pub struct FeedMutation;

/// The post an id names; a malformed id names no post, so it is NOT_FOUND like an unknown one.
fn parse_post_id(id: &ID) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| not_found())
}

fn not_found() -> AppError {
    AppError::NotFound("No post has this id; it may have been deleted. Check the post id.".into())
}

/// Forgets what this request's loader cached about posts: a document may read a post, then
/// change it in a later mutation field, and the answer after the write must show the write.
fn forget_cached_posts(loader: &RequestLoader) {
    loader.clear::<PostKey>();
    loader.clear::<LikersKey>();
    loader.clear::<LikedByViewerKey>();
    loader.clear::<CommentsKey>();
    loader.clear::<CommentersKey>();
}

/// Delivers a notification to its recipient's live subscriptions. Called only once the
/// transaction that stored it has committed: a rolled-back notification must never be seen,
/// and a subscriber reading its backlog must find every notification it was not sent live.
fn deliver(state: &AppState, notification: Option<notification::Model>) {
    if let Some(notification) = notification {
        state.broker.publish(Topic::User(notification.recipient_id), Event::Notification(notification));
    }
}

/// Reads the post again after a committed write, so its counters include the write.
async fn reread_post(ctx: &Context<'_>, post_id: Uuid) -> async_graphql::Result<Post> {
    let state = context::state(ctx)?;
    let loader = context::loader(ctx)?;
    let post: PostWithAuthor = db::feed::posts_by_ids(&state.db, &[post_id])
        .await
        .map_err(AppError::from)?
        .into_iter()
        .next()
        .ok_or_else(not_found)?;
    forget_cached_posts(loader);
    loader.feed_one(PostKey(post_id), post.clone()).await;
    Ok(Post(post))
}

#[Object]
impl FeedMutation {
    /// Posts `body` (1 to 5,000 characters after trimming) as the viewer.
    async fn create_post(&self, ctx: &Context<'_>, body: String) -> async_graphql::Result<Post> {
        let viewer = context::require_viewer(ctx)?;
        let body = PostBody::parse(&body).map_err(AppError::from)?;
        let state = context::state(ctx)?;
        let id = db::posts::create_post(&state.db, viewer.user_id, &body).await.map_err(AppError::from)?;
        reread_post(ctx, id).await
    }

    /// Likes a post; liking it again changes nothing.
    async fn like_post(&self, ctx: &Context<'_>, post_id: ID) -> async_graphql::Result<Post> {
        let viewer = context::require_viewer(ctx)?;
        let post_id = parse_post_id(&post_id)?;
        let state = context::state(ctx)?;
        // The notification returned is committed and readable through `notifications`.
        let notification = db::posts::like_post(&state.db, post_id, viewer.user_id).await.map_err(AppError::from)?;
        deliver(state, notification);
        reread_post(ctx, post_id).await
    }

    /// Takes back the viewer's like of a post; unliking a post not liked changes nothing.
    async fn unlike_post(&self, ctx: &Context<'_>, post_id: ID) -> async_graphql::Result<Post> {
        let viewer = context::require_viewer(ctx)?;
        let post_id = parse_post_id(&post_id)?;
        let state = context::state(ctx)?;
        db::posts::unlike_post(&state.db, post_id, viewer.user_id).await.map_err(AppError::from)?;
        // An unknown post deleted no like; the read that follows reports it as NOT_FOUND.
        reread_post(ctx, post_id).await
    }

    /// Comments `body` (1 to 2,000 characters after trimming) on a post as the viewer.
    async fn add_comment(&self, ctx: &Context<'_>, post_id: ID, body: String) -> async_graphql::Result<Comment> {
        let viewer = context::require_viewer(ctx)?;
        let post_id = parse_post_id(&post_id)?;
        let body = CommentBody::parse(&body).map_err(AppError::from)?;
        let state = context::state(ctx)?;
        let (comment, notification) =
            db::posts::add_comment(&state.db, post_id, viewer.user_id, &body).await.map_err(AppError::from)?;
        // Committed: live subscribers may hear of it now.
        deliver(state, notification);
        let comment = db::feed::comments_by_ids(&state.db, &[comment.id])
            .await
            .map_err(AppError::from)?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("comment {} missing right after commit", comment.id)))?;
        // `comment.post` must show the new comment count.
        forget_cached_posts(context::loader(ctx)?);
        Ok(Comment(comment))
    }
}
