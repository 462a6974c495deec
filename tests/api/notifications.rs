//! Notifications: who is told of likes and comments, the backlog's order and paging, the
//! unread count, and `markNotificationsRead`.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, first_error_code, spawn_app, spawn_app_with};

const LIST: &str = "query($first: Int, $after: String, $unreadOnly: Boolean) {
    notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
        edges { cursor node {
            id kind createdAt read
            actor { id username }
            post { id body }
            comment { id body }
        } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        unreadCount
    }
}";

const MARK_READ: &str = "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }";

async fn post_as(app: &TestApp, user: &TestUser, body: &str) -> String {
    let answer =
        app.graphql_as(user, "mutation($b: String!) { createPost(body: $b) { id } }", json!({ "b": body })).await;
    answer["data"]["createPost"]["id"].as_str().unwrap_or_else(|| panic!("a post: {answer}")).to_string()
}

async fn like_as(app: &TestApp, user: &TestUser, post: &str) {
    let answer =
        app.graphql_as(user, "mutation($id: ID!) { likePost(postId: $id) { id } }", json!({ "id": post })).await;
    assert!(answer.get("errors").is_none(), "{answer}");
}

async fn comment_as(app: &TestApp, user: &TestUser, post: &str, body: &str) -> String {
    let answer = app
        .graphql_as(
            user,
            "mutation($id: ID!, $b: String!) { addComment(postId: $id, body: $b) { id } }",
            json!({ "id": post, "b": body }),
        )
        .await;
    answer["data"]["addComment"]["id"].as_str().unwrap_or_else(|| panic!("a comment: {answer}")).to_string()
}

/// The `notifications` connection of `user` for `variables`.
async fn list(app: &TestApp, user: &TestUser, variables: Value) -> Value {
    let answer = app.graphql_as(user, LIST, variables).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"]["notifications"].clone()
}

fn nodes(connection: &Value) -> Vec<Value> {
    connection["edges"].as_array().expect("edges").iter().map(|edge| edge["node"].clone()).collect()
}

fn ids(connection: &Value) -> Vec<String> {
    nodes(connection).iter().map(|node| node["id"].as_str().expect("an id").to_string()).collect()
}

async fn mark_read(app: &TestApp, user: &TestUser, ids: Value) -> i64 {
    let answer = app.graphql_as(user, MARK_READ, json!({ "ids": ids })).await;
    answer["data"]["markNotificationsRead"].as_i64().unwrap_or_else(|| panic!("a count: {answer}"))
}

#[tokio::test]
async fn a_like_notifies_the_post_author_once() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let post = post_as(&app, &ann, "hello").await;

    like_as(&app, &bob, &post).await;
    // Liking again adds no like, so it tells nobody anything new.
    like_as(&app, &bob, &post).await;

    let notifications = list(&app, &ann, json!({})).await;
    let found = nodes(&notifications);
    assert_eq!(found.len(), 1, "{notifications}");
    assert_eq!(found[0]["kind"], "POST_LIKED");
    assert_eq!(found[0]["read"], false);
    assert_eq!(found[0]["actor"], json!({ "id": bob.id.to_string(), "username": "bob" }));
    assert_eq!(found[0]["post"], json!({ "id": post, "body": "hello" }));
    assert_eq!(found[0]["comment"], Value::Null);
    assert_eq!(notifications["unreadCount"], 1);
    assert!(nodes(&list(&app, &bob, json!({})).await).is_empty(), "the liker is not notified");
}

#[tokio::test]
async fn a_comment_notifies_the_post_author_with_the_comment() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let post = post_as(&app, &ann, "hello").await;

    let comment = comment_as(&app, &bob, &post, "nice").await;

    let found = nodes(&list(&app, &ann, json!({})).await);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["kind"], "POST_COMMENTED");
    assert_eq!(found[0]["actor"]["username"], "bob");
    assert_eq!(found[0]["post"]["id"], post.as_str());
    assert_eq!(found[0]["comment"], json!({ "id": comment, "body": "nice" }));
}

#[tokio::test]
async fn nobody_is_notified_of_their_own_likes_or_comments() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let post = post_as(&app, &ann, "hello").await;

    like_as(&app, &ann, &post).await;
    comment_as(&app, &ann, &post, "replying to myself").await;

    let notifications = list(&app, &ann, json!({})).await;
    assert!(nodes(&notifications).is_empty(), "{notifications}");
    assert_eq!(notifications["unreadCount"], 0);
}

#[tokio::test]
async fn unliking_keeps_the_notification_and_liking_again_notifies_again() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let post = post_as(&app, &ann, "hello").await;

    like_as(&app, &bob, &post).await;
    let answer =
        app.graphql_as(&bob, "mutation($id: ID!) { unlikePost(postId: $id) { id } }", json!({ "id": post })).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    assert_eq!(nodes(&list(&app, &ann, json!({})).await).len(), 1, "what was true when told stays");

    like_as(&app, &bob, &post).await;
    assert_eq!(nodes(&list(&app, &ann, json!({})).await).len(), 2, "a new like is news again");
}

#[tokio::test]
async fn the_backlog_comes_newest_first_and_paging_visits_each_notification_once() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let cat = app.signed_up("cat").await;
    let first_post = post_as(&app, &ann, "first").await;
    let second_post = post_as(&app, &ann, "second").await;
    like_as(&app, &bob, &first_post).await;
    comment_as(&app, &cat, &first_post, "one").await;
    like_as(&app, &cat, &second_post).await;
    comment_as(&app, &bob, &second_post, "two").await;
    like_as(&app, &cat, &first_post).await;

    let all = list(&app, &ann, json!({ "first": 10 })).await;
    let kinds: Vec<(String, String)> = nodes(&all)
        .iter()
        .map(|node| {
            (node["kind"].as_str().expect("a kind").into(), node["actor"]["username"].as_str().expect("a name").into())
        })
        .collect();
    let expected = [
        ("POST_LIKED", "cat"),
        ("POST_COMMENTED", "bob"),
        ("POST_LIKED", "cat"),
        ("POST_COMMENTED", "cat"),
        ("POST_LIKED", "bob"),
    ];
    assert_eq!(kinds, expected.map(|(kind, actor)| (kind.to_string(), actor.to_string())), "newest first");

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for round in 0.. {
        let page = list(&app, &ann, json!({ "first": 2, "after": after })).await;
        seen.extend(ids(&page));
        // A notification arriving in front of the reader must not shift what the cursor points at.
        comment_as(&app, &bob, &first_post, &format!("during paging {round}")).await;
        let info = &page["pageInfo"];
        assert_eq!(info["hasPreviousPage"], round > 0, "{page}");
        assert_eq!(info["startCursor"], page["edges"][0]["cursor"]);
        if info["hasNextPage"] == false {
            break;
        }
        after = Some(info["endCursor"].as_str().expect("a cursor").to_string());
    }
    assert_eq!(seen, ids(&all), "every notification once, in order");
}

#[tokio::test]
async fn unread_only_lists_the_unread_and_unread_count_counts_them_all() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let post = post_as(&app, &ann, "hello").await;
    for body in ["a", "b", "c"] {
        comment_as(&app, &bob, &post, body).await;
    }
    let all = ids(&list(&app, &ann, json!({})).await);
    assert_eq!(mark_read(&app, &ann, json!([all[1]])).await, 1);

    let unread = list(&app, &ann, json!({ "unreadOnly": true })).await;
    assert_eq!(ids(&unread), [all[0].clone(), all[2].clone()]);
    assert!(nodes(&unread).iter().all(|node| node["read"] == false));

    let one = list(&app, &ann, json!({ "first": 1 })).await;
    assert_eq!(one["unreadCount"], 2, "all unread, not just this page: {one}");
    assert_eq!(one["pageInfo"]["hasNextPage"], true);

    let everything = nodes(&list(&app, &ann, json!({ "unreadOnly": false })).await);
    let read: Vec<bool> = everything.iter().map(|node| node["read"].as_bool().expect("read")).collect();
    assert_eq!(read, [false, true, false]);
}

#[tokio::test]
async fn marking_given_ids_read_counts_only_what_changed() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let anns_post = post_as(&app, &ann, "ann's").await;
    let bobs_post = post_as(&app, &bob, "bob's").await;
    comment_as(&app, &bob, &anns_post, "one").await;
    comment_as(&app, &bob, &anns_post, "two").await;
    like_as(&app, &ann, &bobs_post).await;
    let anns = ids(&list(&app, &ann, json!({})).await);
    let bobs = ids(&list(&app, &bob, json!({})).await);

    let cases = [
        (json!([anns[0]]), 1, "one unread notification of the viewer"),
        (json!([anns[0]]), 0, "already read: not changed again"),
        (json!([bobs[0]]), 0, "someone else's notification is never touched"),
        (json!(["not-an-id", uuid::Uuid::now_v7().to_string()]), 0, "malformed and unknown ids match nothing"),
        (json!([]), 0, "an empty list marks nothing (null marks everything)"),
        (json!([anns[0], anns[1], bobs[0]]), 1, "only the viewer's still unread one counts"),
    ];
    for (ids, changed, reason) in cases {
        assert_eq!(mark_read(&app, &ann, ids).await, changed, "{reason}");
    }
    let bobs_list = list(&app, &bob, json!({})).await;
    assert_eq!(bobs_list["unreadCount"], 1, "bob's notification stays unread: {bobs_list}");
    assert_eq!(list(&app, &ann, json!({})).await["unreadCount"], 0);
}

#[tokio::test]
async fn marking_with_null_ids_reads_all_of_the_viewers_notifications() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let anns_post = post_as(&app, &ann, "ann's").await;
    let bobs_post = post_as(&app, &bob, "bob's").await;
    for body in ["a", "b", "c"] {
        comment_as(&app, &bob, &anns_post, body).await;
    }
    comment_as(&app, &ann, &bobs_post, "hi bob").await;
    let first = ids(&list(&app, &ann, json!({})).await);
    assert_eq!(mark_read(&app, &ann, json!([first[0]])).await, 1);

    assert_eq!(mark_read(&app, &ann, Value::Null).await, 2, "the two still unread");
    assert_eq!(mark_read(&app, &ann, Value::Null).await, 0, "nothing left to change");
    let answer = app.graphql_as(&ann, "mutation { markNotificationsRead }", json!({})).await;
    assert_eq!(answer["data"]["markNotificationsRead"], 0, "an omitted list means all too: {answer}");

    let anns = list(&app, &ann, json!({})).await;
    assert_eq!(anns["unreadCount"], 0);
    assert!(nodes(&anns).iter().all(|node| node["read"] == true));
    assert_eq!(list(&app, &bob, json!({})).await["unreadCount"], 1, "other users keep theirs unread");
}

#[tokio::test]
async fn notifications_need_a_signed_in_user() {
    let app = spawn_app().await;
    for (query, variables, name) in
        [(LIST, json!({}), "notifications"), (MARK_READ, json!({ "ids": null }), "markNotificationsRead")]
    {
        let answer = app.graphql(query, variables).await;
        assert_eq!(first_error_code(&answer), "UNAUTHENTICATED", "{name}: {answer}");
    }
}

#[tokio::test]
async fn a_cursor_of_another_list_or_a_bad_page_size_is_refused() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    post_as(&app, &ann, "hello").await;
    let feed = app.graphql("{ posts(first: 1) { pageInfo { endCursor } } }", json!({})).await;
    let post_cursor = feed["data"]["posts"]["pageInfo"]["endCursor"].as_str().expect("a cursor").to_string();
    let cases = [
        (json!({ "after": post_cursor }), "a cursor of the feed"),
        (json!({ "after": "garbage" }), "not a cursor at all"),
        (json!({ "first": -1 }), "a negative page size"),
        (json!({ "first": 101 }), "a page over the maximum"),
    ];
    for (variables, reason) in cases {
        let answer = app.graphql_as(&ann, LIST, variables).await;
        assert_eq!(first_error_code(&answer), "BAD_USER_INPUT", "{reason}: {answer}");
    }
}

/// Statements one full page of `first` notifications of `user` costs.
async fn statements_for_page(app: &TestApp, user: &TestUser, first: usize) -> u64 {
    let query = "query($first: Int!) { notifications(first: $first) {
        edges { cursor node {
            id kind createdAt read
            actor { id username displayName }
            post { id body likeCount likedByViewer commentCount author { username }
                   likers { username } comments { body author { username } } commenters { username } }
            comment { id body author { username } post { id commentCount } }
        } }
        pageInfo { hasNextPage endCursor }
        unreadCount
    } }";
    let before = app.statements();
    let answer = app.graphql_as(user, query, json!({ "first": first })).await;
    let after = app.statements();
    assert!(answer.get("errors").is_none(), "{answer}");
    assert_eq!(answer["data"]["notifications"]["edges"].as_array().expect("edges").len(), first);
    after - before
}

#[tokio::test]
async fn a_page_of_notifications_costs_the_same_few_statements_for_4_and_24() {
    // A session touch (a write at most once per interval) must not land in one measurement
    // only, however slow the machine.
    let app = spawn_app_with(|settings| settings.session_touch_interval = std::time::Duration::from_secs(3600)).await;
    let ann = app.signed_up("ann").await;
    let mut others = Vec::new();
    for name in ["bob", "cat", "dan"] {
        others.push(app.signed_up(name).await);
    }
    for index in 0..8 {
        let post = post_as(&app, &ann, &format!("post {index}")).await;
        for (offset, other) in others.iter().enumerate() {
            if (index + offset) % 2 == 0 {
                like_as(&app, other, &post).await;
            } else {
                comment_as(&app, other, &post, &format!("comment {index}")).await;
            }
        }
    }

    let small = statements_for_page(&app, &ann, 4).await;
    let large = statements_for_page(&app, &ann, 24).await;
    println!("statements for a full page of notifications: {small} (4), {large} (24)");
    assert_eq!(small, large, "the count must not grow with the page");
    // The page, actors, posts, their likers, comments, commenters and likedByViewer, the
    // comments, unreadCount: nine, plus the token's session check.
    assert!(large <= 12, "a constant handful of statements, got {large}");
}
