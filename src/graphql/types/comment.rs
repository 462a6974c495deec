//! The `Comment` type.

use ref_cast::RefCast as _;

use async_graphql::{Context, ID, Object};

use super::{DateTime, Post, User};
use crate::{db::feed::CommentWithAuthor, error::AppError, graphql::context};

/// A comment on a post.
#[derive(Debug, Clone)]
pub struct Comment(pub CommentWithAuthor);

#[Object]
impl Comment {
    async fn id(&self) -> ID {
        ID(self.0.comment.id.to_string())
    }

    async fn body(&self) -> &str {
        &self.0.comment.body
    }

    async fn created_at(&self) -> DateTime {
        self.0.comment.created_at.into()
    }

    // Loaded with the comment, so listing comments costs no extra statement per author.
    async fn author(&self) -> &User {
        User::ref_cast(&self.0.author)
    }

    async fn post(&self, ctx: &Context<'_>) -> async_graphql::Result<Post> {
        let loader = context::loader(ctx)?;
        // Boxed, so the other fields' futures stay small (see `Post`).
        let post = Box::pin(loader.load_one(crate::graphql::loaders::PostKey(self.0.comment.post_id)))
            .await
            .map_err(context::load_failed)?
            .ok_or_else(|| AppError::NotFound("The post of this comment no longer exists.".into()))?;
        Ok(Post(post))
    }
}
