//! No N+1: a page of the feed with every nested field costs the same few statements,
//! whatever its size.

use serde_json::json;

use crate::helpers::{TestApp, TestUser, at, spawn_app};

const FULL_PAGE: &str = "query($first: Int!) { posts(first: $first) { edges { cursor node {
    id body createdAt likeCount likedByViewer commentCount
    author { id username displayName email emailVerified role createdAt }
    likers { id username displayName }
    comments { id body createdAt author { id username } }
    commenters { id username }
} } pageInfo { hasNextPage endCursor } } }";

/// Statements issued by one full page of `first` posts, as `viewer` when given.
async fn statements_for_page(app: &TestApp, first: usize, viewer: Option<&TestUser>) -> u64 {
    let before = app.statements();
    let body = match viewer {
        Some(viewer) => app.graphql_as(viewer, FULL_PAGE, json!({ "first": first })).await,
        None => app.graphql(FULL_PAGE, json!({ "first": first })).await,
    };
    let after = app.statements();
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["posts"]["edges"].as_array().expect("edges").len(), first);
    after - before
}

/// Fifty posts by four people with varied likes and comments; returns a signed-in viewer
/// who liked some of them.
async fn populated_feed(app: &TestApp) -> TestUser {
    let viewer = app.signed_up("viewer").await;
    let mut people = vec![viewer.id];
    for name in ["ann", "bob", "cat"] {
        people.push(app.create_user(name).await);
    }
    for index in 0..50_i64 {
        let author = people[index as usize % people.len()];
        let post = app.create_post(author, &format!("post {index}"), at(index * 10)).await;
        // A rotating start, so the viewer (people[0]) likes some posts and not others.
        let likers = people.iter().cycle().skip(index as usize % people.len()).take(1 + index as usize % 3);
        for (offset, liker) in likers.enumerate() {
            app.like(post, *liker, at(index * 10 + offset as i64 + 1)).await;
        }
        for (offset, commenter) in people.iter().rev().enumerate().take(index as usize % 4) {
            app.comment(post, *commenter, "nice", at(index * 10 + offset as i64 + 5)).await;
        }
    }
    viewer
}

#[tokio::test]
async fn a_page_of_posts_costs_the_same_few_statements_for_5_and_50_posts() {
    let app = spawn_app().await;
    populated_feed(&app).await;
    let small = statements_for_page(&app, 5, None).await;
    let large = statements_for_page(&app, 50, None).await;
    println!("statements for a full page without a viewer: {small} (5 posts), {large} (50 posts)");
    assert_eq!(small, large, "the count must not grow with the page");
    assert!(large <= 5, "at most 5 statements, got {large}");
}

#[tokio::test]
async fn a_signed_in_page_with_liked_by_viewer_stays_within_5_statements() {
    let app = spawn_app().await;
    let viewer = populated_feed(&app).await;
    // The first request reads the session row; later ones find it in the session cache.
    app.graphql_as(&viewer, "{ me { id } }", json!({})).await;
    let small = statements_for_page(&app, 5, Some(&viewer)).await;
    let large = statements_for_page(&app, 50, Some(&viewer)).await;
    println!("statements for a full page with a viewer: {small} (5 posts), {large} (50 posts)");
    assert_eq!(small, large, "the count must not grow with the page");
    assert!(large <= 5, "at most 5 statements, got {large}");
    let liked = app.graphql_as(&viewer, "{ posts(first: 50) { edges { node { likedByViewer } } } }", json!({})).await;
    let liked = liked["data"]["posts"]["edges"].as_array().expect("edges");
    assert!(liked.iter().any(|edge| edge["node"]["likedByViewer"] == true), "the viewer liked some posts");
    assert!(liked.iter().any(|edge| edge["node"]["likedByViewer"] == false), "and not others");
}
