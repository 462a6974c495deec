//! Query-document limits (length, depth, aliases, directives, complexity) and page-size
//! bounds: each limit lets a document at the limit run and refuses one just past it with
//! `GRAPHQL_VALIDATION_FAILED` and a message that names the limit.

use serde_json::{Value, json};

use crate::helpers::{TestApp, at, first_error_code, spawn_app, spawn_app_with};

/// Asserts that `body` ran without errors.
fn assert_ran(body: &Value, what: &str) {
    assert!(body.get("errors").is_none(), "{what} runs: {body}");
    assert!(body["data"].is_object(), "{what} has data: {body}");
}

/// Asserts that `body` is a refusal by a document limit whose message contains `names`.
fn assert_refused(body: &Value, names: &str, what: &str) {
    assert_eq!(first_error_code(body), "GRAPHQL_VALIDATION_FAILED", "{what}: {body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(names), "{what}: the message names the limit ({names:?}): {message}");
    assert!(body["data"].is_null(), "{what} never ran: {body}");
}

/// `{ posts(first: 1) { edges { <selections> } } }`.
fn edges_query(selections: &str) -> String {
    format!("{{ posts(first: 1) {{ edges {{ {selections} }} }} }}")
}

/// A valid query of exactly `length` characters: a small query padded by a comment.
fn query_of_length(length: usize) -> String {
    let mut query = format!("{}\n#", edges_query("cursor"));
    query.push_str(&"x".repeat(length - query.len()));
    assert_eq!(query.chars().count(), length);
    query
}

/// A query nested exactly `depth` fields deep (at least 4), walking post → comments → post.
fn query_of_depth(depth: usize) -> String {
    assert!(depth >= 4, "posts, edges, node and a leaf are the shallowest path");
    let mut fields = vec!["posts(first: 1)", "edges", "node"];
    fields.extend((0..depth - 4).map(|level| if level % 2 == 0 { "comments(first: 1)" } else { "post" }));
    let mut query = "id".to_string();
    for field in fields.iter().rev() {
        query = format!("{field} {{ {query} }}");
    }
    format!("{{ {query} }}")
}

/// `count` aliased fields.
fn aliases(count: usize) -> String {
    (1..=count).map(|n| format!("a{n}: cursor")).collect::<Vec<_>>().join(" ")
}

/// `count` fields carrying one directive each.
fn directives(count: usize) -> String {
    vec!["cursor @include(if: true)"; count].join(" ")
}

/// A feed page with `likers` per post: complexity `100 * (2 + 2 * likers)`, so 49 likers cost
/// exactly 10,000 and 50 cost 10,200.
fn feed_with_likers(likers: usize) -> String {
    format!("{{ posts(first: 100) {{ edges {{ node {{ likers(first: {likers}) {{ username displayName }} }} }} }} }}")
}

/// An app with one post that has one comment, so nested queries resolve real rows.
async fn app_with_a_commented_post() -> TestApp {
    let app = spawn_app().await;
    let author = app.create_user("alice").await;
    let post = app.create_post(author, "hello", at(0)).await;
    app.comment(post, author, "first!", at(1)).await;
    app
}

#[tokio::test]
async fn a_document_of_15000_characters_runs_and_one_character_more_is_refused() {
    let app = spawn_app().await;
    assert_ran(&app.graphql(&query_of_length(15_000), json!({})).await, "a document of 15,000 characters");
    let body = app.graphql(&query_of_length(15_001), json!({})).await;
    assert_refused(&body, "15001 characters long; the limit is 15000", "a document of 15,001 characters");
}

#[tokio::test]
async fn a_query_ten_levels_deep_runs_and_eleven_levels_are_refused() {
    let app = app_with_a_commented_post().await;
    let body = app.graphql(&query_of_depth(10), json!({})).await;
    assert_ran(&body, "a query 10 levels deep");
    let node = &body["data"]["posts"]["edges"][0]["node"];
    assert!(node["comments"][0]["post"]["comments"][0]["post"]["comments"][0]["post"]["id"].is_string(), "{body}");

    let body = app.graphql(&query_of_depth(11), json!({})).await;
    assert_refused(&body, "the limit is 10 levels", "a query 11 levels deep");
}

#[tokio::test]
async fn fifteen_aliases_run_and_sixteen_are_refused() {
    let app = app_with_a_commented_post().await;
    let body = app.graphql(&edges_query(&aliases(15)), json!({})).await;
    assert_ran(&body, "15 aliases");
    assert!(body["data"]["posts"]["edges"][0]["a15"].is_string(), "{body}");
    let body = app.graphql(&edges_query(&aliases(16)), json!({})).await;
    assert_refused(&body, "16 aliases; the limit is 15", "16 aliases");
}

#[tokio::test]
async fn fifty_directives_run_and_fifty_one_are_refused() {
    let app = app_with_a_commented_post().await;
    let body = app.graphql(&edges_query(&directives(50)), json!({})).await;
    assert_ran(&body, "50 directives");
    assert!(body["data"]["posts"]["edges"][0]["cursor"].is_string(), "{body}");
    let body = app.graphql(&edges_query(&directives(51)), json!({})).await;
    assert_refused(&body, "51 directives; the limit is 50", "51 directives");
}

#[tokio::test]
async fn a_query_costing_10000_runs_and_one_costing_more_is_refused() {
    let app = spawn_app().await;
    assert_ran(&app.graphql(&feed_with_likers(49), json!({})).await, "a query of complexity 10,000");
    let cases = [
        (feed_with_likers(50), "a page of 100 posts with 50 likers each costs 10,200"),
        (feed_with_likers(100), "a page of 100 posts with 100 likers each costs 20,200"),
    ];
    for (query, reason) in cases {
        assert_refused(&app.graphql(&query, json!({})).await, "the limit is 10000", reason);
    }
}

#[tokio::test]
async fn a_rich_page_of_the_feed_fits_the_complexity_budget() {
    let app = app_with_a_commented_post().await;
    let query = "{ posts(first: 20) { pageInfo { hasNextPage endCursor } edges { cursor node {
        id body createdAt likeCount likedByViewer commentCount
        author { id username displayName }
        likers(first: 10) { id username displayName }
        commenters(first: 5) { id username }
        comments(first: 10) { id body createdAt author { id username displayName } }
    } } } }";
    let body = app.graphql(query, json!({})).await;
    assert_ran(&body, "a page of 20 posts with their likers, commenters and comments");
    assert_eq!(body["data"]["posts"]["edges"][0]["node"]["comments"][0]["body"], "first!", "{body}");
}

#[tokio::test]
async fn the_alias_limit_is_a_setting() {
    let app = spawn_app_with(|settings| settings.query_limits.max_aliases = 2).await;
    assert_ran(&app.graphql(&edges_query(&aliases(2)), json!({})).await, "2 aliases");
    let body = app.graphql(&edges_query(&aliases(3)), json!({})).await;
    assert_refused(&body, "3 aliases; the limit is 2", "3 aliases under a limit of 2");
}

#[tokio::test]
async fn page_sizes_outside_0_to_100_are_bad_user_input() {
    let app = spawn_app().await;
    let query = "query ($first: Int!) { posts(first: $first) { edges { cursor } } }";
    for first in [0, 100] {
        assert_ran(&app.graphql(query, json!({ "first": first })).await, &format!("a page of {first}"));
    }
    let cases = [(101, "a page larger than 100 items"), (-1, "a negative page size")];
    for (first, reason) in cases {
        let body = app.graphql(query, json!({ "first": first })).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{reason}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("between 0 and 100"), "{reason}: the message says the bounds: {message}");
    }
}

#[tokio::test]
async fn a_cursor_the_feed_did_not_issue_is_bad_user_input() {
    let app = spawn_app().await;
    let query = "query ($after: String) { posts(first: 1, after: $after) { edges { cursor } } }";
    let cases = [
        ("garbage", "not a cursor at all"),
        ("not base64!", "not even base64"),
        ("", "an empty cursor"),
        ("bWVzc2FnZToxOjAxOTA", "base64 of text that is not a feed position"),
    ];
    for (cursor, reason) in cases {
        let body = app.graphql(query, json!({ "after": cursor })).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{reason}: {body}");
    }
}
