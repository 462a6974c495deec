//! The `Notification` type, its kind, and its Relay connection with the unread count.

use async_graphql::{ComplexObject, Context, Enum, ID, Object, SimpleObject};
use uuid::Uuid;

use super::{Comment, DateTime, PageInfo, Post, User};
use crate::{
    db::{self, entities::notification},
    error::AppError,
    graphql::{
        context,
        loaders::{CommentKey, PostKey, UserKey},
    },
};

/// What a notification is about.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum NotificationKind {
    /// Someone liked the viewer's post.
    PostLiked,
    /// Someone commented on the viewer's post.
    PostCommented,
    /// Someone added the viewer to their contacts.
    ContactAdded,
}

impl From<db::notifications::NotificationKind> for NotificationKind {
    fn from(kind: db::notifications::NotificationKind) -> Self {
        match kind {
            db::notifications::NotificationKind::PostLiked => NotificationKind::PostLiked,
            db::notifications::NotificationKind::PostCommented => NotificationKind::PostCommented,
            db::notifications::NotificationKind::ContactAdded => NotificationKind::ContactAdded,
        }
    }
}

/// Something that happened to the viewer.
#[derive(Debug, Clone)]
pub struct Notification(pub notification::Model);

#[Object]
impl Notification {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn kind(&self) -> async_graphql::Result<NotificationKind> {
        let kind = db::notifications::NotificationKind::parse(&self.0.kind).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("notification {} has the unknown kind {:?}", self.0.id, self.0.kind))
        })?;
        Ok(kind.into())
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    async fn read(&self) -> bool {
        self.0.read_at.is_some()
    }

    /// Who caused it.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let actor = context::loader(ctx)?
            .load_one(UserKey(self.0.actor_id))
            .await
            .map_err(context::load_failed)?
            // The foreign key cascades: a notification outlives no actor.
            .ok_or_else(|| AppError::NotFound("The user who caused this notification no longer exists.".into()))?;
        Ok(User(actor))
    }

    async fn post(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Post>> {
        let Some(post_id) = self.0.post_id else { return Ok(None) };
        let post = context::loader(ctx)?.load_one(PostKey(post_id)).await.map_err(context::load_failed)?;
        Ok(post.map(Post))
    }

    async fn comment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Comment>> {
        let Some(comment_id) = self.0.comment_id else { return Ok(None) };
        let comment = context::loader(ctx)?.load_one(CommentKey(comment_id)).await.map_err(context::load_failed)?;
        Ok(comment.map(Comment))
    }
}

/// One notification in a page.
#[derive(SimpleObject, Debug, Clone)]
pub struct NotificationEdge {
    /// Where this notification sits in the list; pass it as `after` to continue from here.
    pub cursor: String,
    /// The notification.
    pub node: Notification,
}

/// Newest first.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct NotificationConnection {
    /// The notifications of this page.
    pub edges: Vec<NotificationEdge>,
    /// Where this page sits.
    pub page_info: PageInfo,
    /// Whose notifications these are, for `unreadCount`.
    #[graphql(skip)]
    pub recipient_id: Uuid,
}

#[ComplexObject]
impl NotificationConnection {
    /// Every unread notification of the viewer, not only those of this page.
    // Counted only when selected: one statement, whatever the page size.
    async fn unread_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let state = context::state(ctx)?;
        let count = db::notifications::unread_count(&state.db, self.recipient_id).await.map_err(AppError::from)?;
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }
}
