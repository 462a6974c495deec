//! `posts` and `post`.

use async_graphql::{Context, ID, Object};
use uuid::Uuid;

use crate::{
    db,
    error::AppError,
    graphql::{
        context,
        loaders::{PostKey, prefetch_post_lists},
        types::{
            PageInfo, Post, PostConnection, PostEdge,
            page::{decode_cursor, encode_cursor, page_size},
        },
    },
};

/// The cursor kind of the feed, so a cursor of another list is refused.
const POST_CURSOR: &str = "post";

/// Queries about the feed.
#[derive(Default)]
pub struct FeedQuery;

#[Object]
impl FeedQuery {
    /// Newest posts first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn posts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<PostConnection> {
        let state = context::state(ctx)?;
        // An explicit null means the default, as for an omitted argument.
        let first = page_size("first", first.unwrap_or(20))?;
        let after = after.as_deref().map(|cursor| decode_cursor(POST_CURSOR, cursor)).transpose()?;
        // One row more than asked tells whether another page follows.
        let mut rows = db::feed::page(&state.db, after, first + 1).await.map_err(AppError::from)?;
        let has_next_page = rows.len() as u64 > first;
        rows.truncate(first as usize);
        let post_ids: Vec<Uuid> = rows.iter().map(|row| row.post.id).collect();
        let node = ctx.look_ahead().field("edges").field("node");
        prefetch_post_lists(context::loader(ctx)?, node, &post_ids).await.map_err(context::load_failed)?;
        let edges: Vec<PostEdge> = rows
            .into_iter()
            .map(|row| PostEdge {
                cursor: encode_cursor(
                    POST_CURSOR,
                    db::feed::FeedPosition { created_at: row.post.created_at, id: row.post.id },
                ),
                node: Post(row),
            })
            .collect();
        Ok(PostConnection {
            page_info: PageInfo {
                has_next_page,
                has_previous_page: after.is_some(),
                start_cursor: edges.first().map(|edge| edge.cursor.clone()),
                end_cursor: edges.last().map(|edge| edge.cursor.clone()),
            },
            edges,
        })
    }

    async fn post(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Post>> {
        let Ok(id) = Uuid::parse_str(&id) else { return Ok(None) };
        let post = context::loader(ctx)?.load_one(PostKey(id)).await.map_err(context::load_failed)?;
        Ok(post.map(Post))
    }
}
