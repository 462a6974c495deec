//! No N+1: a page of the feed with every nested field costs the same few statements,
//! whatever its size.

use serde_json::json;

use crate::helpers::{TestApp, at, spawn_app};

const FULL_PAGE: &str = "query($first: Int!) { posts(first: $first) { edges { cursor node {
    id body createdAt likeCount likedByViewer commentCount
    author { id username displayName email emailVerified role createdAt }
    likers { id username displayName }
    comments { id body createdAt author { id username } }
    commenters { id username }
} } pageInfo { hasNextPage endCursor } } }";

/// Statements issued by one full page of `first` posts.
async fn statements_for_page(app: &TestApp, first: usize) -> u64 {
    let before = app.statements();
    let body = app.graphql(FULL_PAGE, json!({ "first": first })).await;
    let after = app.statements();
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["posts"]["edges"].as_array().expect("edges").len(), first);
    after - before
}

#[tokio::test]
async fn a_page_of_posts_costs_the_same_few_statements_for_5_and_50_posts() {
    let app = spawn_app().await;
    let mut people = Vec::new();
    for name in ["ann", "bob", "cat", "dan"] {
        people.push(app.create_user(name).await);
    }
    for index in 0..50_i64 {
        let author = people[index as usize % people.len()];
        let post = app.create_post(author, &format!("post {index}"), at(index * 10)).await;
        for (offset, liker) in people.iter().enumerate().take(1 + index as usize % 3) {
            app.like(post, *liker, at(index * 10 + offset as i64 + 1)).await;
        }
        for (offset, commenter) in people.iter().rev().enumerate().take(index as usize % 4) {
            app.comment(post, *commenter, "nice", at(index * 10 + offset as i64 + 5)).await;
        }
    }

    let small = statements_for_page(&app, 5).await;
    let large = statements_for_page(&app, 50).await;
    println!("statements for a full page: {small} (5 posts), {large} (50 posts)");
    assert_eq!(small, large, "the count must not grow with the page");
    assert!(large <= 5, "at most 5 statements, got {large}");
}
