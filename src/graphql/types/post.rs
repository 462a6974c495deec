//! The `Post` type and its Relay connection.

use ref_cast::RefCast as _;

use async_graphql::{Context, ID, Object, SimpleObject};

use super::{Comment, DateTime, PageInfo, User, page::page_size};
use crate::{
    db::feed::PostWithAuthor,
    graphql::{
        context,
        loaders::{CommentersKey, CommentsKey, LikedByViewerKey, LikersKey, Shared},
    },
};

/// A post of the feed.
///
/// async-graphql runs each selected field in a boxed future the size of the type's largest
/// field future, so the loader calls below are boxed themselves: otherwise every `id` and
/// `body` of a page would allocate and copy a loader call's state (memcpy showed at 7% of the
/// feed page's CPU).
#[derive(Debug, Clone)]
pub struct Post(pub PostWithAuthor);

#[Object]
impl Post {
    async fn id(&self) -> ID {
        ID(self.0.post.id.to_string())
    }

    async fn body(&self) -> &str {
        &self.0.post.body
    }

    async fn created_at(&self) -> DateTime {
        self.0.post.created_at.into()
    }

    // Loaded with the post itself: no statement of its own.
    async fn author(&self) -> &User {
        User::ref_cast(&self.0.author)
    }

    async fn like_count(&self) -> i32 {
        self.0.post.like_count
    }

    async fn liked_by_viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        if context::viewer(ctx).is_none() {
            return Ok(false);
        }
        Ok(Box::pin(context::loader(ctx)?.load_one(LikedByViewerKey(self.0.post.id)))
            .await
            .map_err(context::load_failed)?
            .unwrap_or(false))
    }

    /// Most recent likers first.
    #[graphql(complexity = "first.unwrap_or(10).max(0) as usize * child_complexity")]
    async fn likers(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: Option<i32>,
    ) -> async_graphql::Result<Shared<User>> {
        let first = page_size("first", first.unwrap_or(10))?;
        let list = Box::pin(context::loader(ctx)?.load_one(LikersKey(self.0.post.id, first)))
            .await
            .map_err(context::load_failed)?
            .unwrap_or_default();
        Ok(list)
    }

    async fn comment_count(&self) -> i32 {
        self.0.post.comment_count
    }

    /// Oldest first.
    #[graphql(complexity = "first.unwrap_or(10).max(0) as usize * child_complexity")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: Option<i32>,
    ) -> async_graphql::Result<Shared<Comment>> {
        let first = page_size("first", first.unwrap_or(10))?;
        let list = Box::pin(context::loader(ctx)?.load_one(CommentsKey(self.0.post.id, first)))
            .await
            .map_err(context::load_failed)?
            .unwrap_or_default();
        Ok(list)
    }

    /// Distinct users who commented, in order of their first comment.
    #[graphql(complexity = "first.unwrap_or(10).max(0) as usize * child_complexity")]
    async fn commenters(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: Option<i32>,
    ) -> async_graphql::Result<Shared<User>> {
        let first = page_size("first", first.unwrap_or(10))?;
        let list = Box::pin(context::loader(ctx)?.load_one(CommentersKey(self.0.post.id, first)))
            .await
            .map_err(context::load_failed)?
            .unwrap_or_default();
        Ok(list)
    }
}

/// One post in a page of the feed.
#[derive(SimpleObject, Debug, Clone)]
pub struct PostEdge {
    /// Where this post sits in the feed; pass it as `after` to continue from here.
    pub cursor: String,
    /// The post.
    pub node: Post,
}

/// Newest posts first.
#[derive(SimpleObject, Debug, Clone)]
pub struct PostConnection {
    /// The posts of this page.
    pub edges: Vec<PostEdge>,
    /// Where this page sits.
    pub page_info: PageInfo,
}
