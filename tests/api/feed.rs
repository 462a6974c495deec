//! The feed: order, paging, and every nested list of a post in the order the contract gives.

use serde_json::{Value, json};

use crate::helpers::{at, first_error_code, spawn_app};

const PAGE: &str = "query Page($first: Int, $after: String) {
    posts(first: $first, after: $after) {
        edges { cursor node { id body } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
}";

fn bodies(page: &Value) -> Vec<String> {
    page["data"]["posts"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"]["body"].as_str().expect("body").to_string())
        .collect()
}

#[tokio::test]
async fn posts_come_newest_first() {
    let app = spawn_app().await;
    let author = app.create_user("ann").await;
    for minute in [1, 3, 2] {
        app.create_post(author, &format!("post {minute}"), at(minute)).await;
    }
    let page = app.graphql(PAGE, json!({ "first": 10 })).await;
    assert_eq!(bodies(&page), ["post 3", "post 2", "post 1"]);
    assert_eq!(page["data"]["posts"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(page["data"]["posts"]["pageInfo"]["hasPreviousPage"], false);
}

#[tokio::test]
async fn paging_visits_every_post_once_while_new_posts_arrive() {
    let app = spawn_app().await;
    let author = app.create_user("ann").await;
    // Two posts share a timestamp, so the id must break the tie.
    for (minute, body) in [(1, "a"), (2, "b"), (2, "c"), (3, "d"), (4, "e")] {
        app.create_post(author, body, at(minute)).await;
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for round in 0.. {
        let page = app.graphql(PAGE, json!({ "first": 2, "after": after })).await;
        seen.extend(bodies(&page));
        // A post added in front of the reader must not shift what the cursor points at.
        app.create_post(author, &format!("new {round}"), at(100 + round)).await;
        let info = &page["data"]["posts"]["pageInfo"];
        if info["hasNextPage"] == false {
            break;
        }
        assert_eq!(info["hasPreviousPage"], round > 0);
        after = Some(info["endCursor"].as_str().expect("a cursor").to_string());
    }
    let mut expected = vec!["e", "d", "c", "b", "a"];
    let mut sorted_seen = seen.clone();
    sorted_seen.sort();
    expected.sort();
    assert_eq!(sorted_seen, expected, "every post exactly once: {seen:?}");
    assert_eq!(&seen[..2], ["e", "d"]);
}

#[tokio::test]
async fn nested_lists_follow_the_contract_orders() {
    let app = spawn_app().await;
    let ann = app.create_user("ann").await;
    let bob = app.create_user("bob").await;
    let cat = app.create_user("cat").await;
    let post = app.create_post(ann, "hello", at(0)).await;
    app.like(post, bob, at(1)).await;
    app.like(post, cat, at(2)).await;
    app.comment(post, cat, "first", at(3)).await;
    app.comment(post, bob, "second", at(4)).await;
    app.comment(post, cat, "third", at(5)).await;

    let body = app
        .graphql(
            "{ posts(first: 1) { edges { node {
                body author { username } likeCount likedByViewer commentCount
                likers { username } comments { body author { username } post { body } }
                commenters { username } lastLiker: likers(first: 1) { username }
            } } } }",
            json!({}),
        )
        .await;
    let node = &body["data"]["posts"]["edges"][0]["node"];
    assert_eq!(node["author"]["username"], "ann", "{body}");
    assert_eq!(node["likeCount"], 2);
    assert_eq!(node["likedByViewer"], false, "no viewer, no like");
    assert_eq!(node["commentCount"], 3);
    assert_eq!(node["likers"], json!([{ "username": "cat" }, { "username": "bob" }]), "most recent likers first");
    assert_eq!(node["lastLiker"], json!([{ "username": "cat" }]));
    assert_eq!(
        node["comments"],
        json!([
            { "body": "first", "author": { "username": "cat" }, "post": { "body": "hello" } },
            { "body": "second", "author": { "username": "bob" }, "post": { "body": "hello" } },
            { "body": "third", "author": { "username": "cat" }, "post": { "body": "hello" } },
        ]),
        "oldest first"
    );
    assert_eq!(node["commenters"], json!([{ "username": "cat" }, { "username": "bob" }]), "distinct, by first comment");
}

#[tokio::test]
async fn a_post_and_a_user_are_found_by_id() {
    let app = spawn_app().await;
    let ann = app.create_user("ann").await;
    let post = app.create_post(ann, "by id", at(0)).await;
    let body = app
        .graphql(
            "query($post: ID!, $user: ID!) {
                post(id: $post) { id body author { id } }
                user(id: $user) { username displayName email emailVerified role createdAt }
            }",
            json!({ "post": post, "user": ann }),
        )
        .await;
    assert_eq!(body["data"]["post"]["body"], "by id", "{body}");
    assert_eq!(body["data"]["post"]["author"]["id"], ann.to_string());
    let user = &body["data"]["user"];
    assert_eq!(user["username"], "ann");
    assert_eq!(user["email"], Value::Null, "an address is shown to its owner only");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["role"], "USER");
    let created = user["createdAt"].as_str().expect("a timestamp");
    assert!(
        created.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "RFC 3339 in UTC: {created}"
    );
}

#[tokio::test]
async fn admin_emails_make_admins() {
    let app = crate::helpers::spawn_app_with(|settings| settings.admin_emails = vec!["root@example.com".into()]).await;
    let root = app.create_user("root").await;
    let body = app.graphql("query($id: ID!) { user(id: $id) { role } }", json!({ "id": root })).await;
    assert_eq!(body["data"]["user"]["role"], "ADMIN", "{body}");
}

#[tokio::test]
async fn a_cursor_from_another_list_or_garbage_is_refused() {
    let app = spawn_app().await;
    for (cursor, reason) in [("garbage", "not a cursor at all"), ("cG9zdA", "a cursor without a position")] {
        let body = app.graphql(PAGE, json!({ "first": 1, "after": cursor })).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{reason}: {body}");
    }
}
