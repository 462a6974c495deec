//! The data the page shows, made through the API as users make it: `register`, `createPost`,
//! `likePost` and `addComment` over HTTP, so every count and list is what the server itself
//! keeps. The amounts give an answer of about 40 KB: lists from empty to past their 10, some
//! posts the viewer liked and some not, commenters who comment more than once.

use anyhow::Context as _;
use futures_util::{StreamExt as _, stream};
use serde_json::json;

use crate::api::graphql;

/// Users who register; the first is the viewer the load signs in as.
const USERS: usize = 30;
/// Posts written, round the users; a page shows the newest 20.
const POSTS: usize = 40;
/// The newest posts that get likes and comments: the page's 20, and a few beyond it.
const DECORATED: usize = 24;
/// Likes of the newest posts, newest first (repeating): 12 is past `likers(first: 10)`.
const LIKES: [usize; 10] = [10, 2, 0, 5, 1, 12, 3, 0, 4, 3];
/// Comments of the newest posts, newest first (repeating): 12 is past `comments(first: 10)`.
const COMMENTS: [usize; 10] = [3, 12, 1, 0, 6, 2, 4, 0, 8, 1];
/// The password of every user.
const PASSWORD: &str = "violet elephant marmalade 42";

/// What posts and comments say: a few lengths, as people write.
const LINES: [&str; 6] = [
    "Morning run along the river, the fog was still sitting on the water.",
    "Does anyone know a good place to fix a bike wheel near the station?",
    "Finished the book at last. The ending was not what I expected at all, and I am still thinking about it.",
    "Farmers market is back on Saturday!",
    "Power cut on our street again; candles and board games it is.",
    "New bakery on the corner makes a proper sourdough. Go early, it sells out by ten.",
];

/// Seeds the server at `base`; returns the viewer's token.
pub async fn seed(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    // A few at a time: each is an argon2 hash, and the server's hasher is as wide as the cores.
    let tokens: Vec<String> = stream::iter(0..USERS)
        .map(|index| register(http, base, index))
        .buffered(4)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    // One at a time, so every post has its own `created_at` and the page's order is fixed.
    let mut posts = Vec::with_capacity(POSTS);
    for index in 0..POSTS {
        let body = format!("{} (#{index})", LINES[index % LINES.len()]);
        let data = graphql(
            http,
            base,
            Some(&tokens[index % USERS]),
            "mutation($body: String!) { createPost(body: $body) { id } }",
            json!({ "body": body }),
        )
        .await?;
        posts.push(data["createPost"]["id"].as_str().context("no post id")?.to_string());
    }
    for (rank, post) in posts.iter().rev().take(DECORATED).enumerate() {
        // Distinct likers in a row of user numbers (a second like would change nothing); the
        // row starts at user 0, the viewer, on every third post, so the viewer has liked some
        // of the page's posts and not others.
        let first_liker = if rank % 3 == 0 { 0 } else { rank * 7 % USERS };
        for like in 0..LIKES[rank % LIKES.len()] {
            let liker = &tokens[(first_liker + like) % USERS];
            graphql(
                http,
                base,
                Some(liker),
                "mutation($post: ID!) { likePost(postId: $post) { id } }",
                json!({ "post": post }),
            )
            .await?;
        }
        // Two comments in three by a new commenter, so `commenters` is shorter than `comments`.
        for index in 0..COMMENTS[rank % COMMENTS.len()] {
            let author = &tokens[(rank * 11 + 1 + index * 2 / 3) % USERS];
            let body = LINES[(rank + index) % LINES.len()];
            graphql(
                http,
                base,
                Some(author),
                "mutation($post: ID!, $body: String!) { addComment(postId: $post, body: $body) { id } }",
                json!({ "post": post, "body": body }),
            )
            .await?;
        }
    }
    tokens.into_iter().next().context("no user registered")
}

/// Registers user `index`: its session's token.
async fn register(http: &reqwest::Client, base: &str, index: usize) -> anyhow::Result<String> {
    let username = format!("feed_reader_{index:02}");
    let input = json!({
        "email": format!("{username}@example.com"),
        "username": username,
        "displayName": format!("Feed Reader {index:02}"),
        "password": PASSWORD,
    });
    let query = "mutation($input: RegisterInput!) { register(input: $input) { token } }";
    let data = graphql(http, base, None, query, json!({ "input": input })).await?;
    data["register"]["token"].as_str().map(str::to_owned).context("no token")
}
