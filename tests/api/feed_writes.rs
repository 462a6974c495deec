//! Feed writes: `createPost`, `likePost`, `unlikePost` and `addComment`, with their
//! validation, idempotence, counters and behaviour under concurrent requests.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, first_error_code, spawn_app};

const CREATE_POST: &str = "mutation($body: String!) {
    createPost(body: $body) { id body createdAt author { id username } likeCount commentCount likedByViewer }
}";

const LIKE: &str = "mutation($id: ID!) {
    likePost(postId: $id) { id likeCount likedByViewer likers { username } }
}";

const UNLIKE: &str = "mutation($id: ID!) {
    unlikePost(postId: $id) { id likeCount likedByViewer likers { username } }
}";

const ADD_COMMENT: &str = "mutation($id: ID!, $body: String!) {
    addComment(postId: $id, body: $body) {
        id body createdAt author { username } post { id commentCount comments { body } commenters { username } }
    }
}";

/// Posts `body` as `user` and returns the new post's id.
async fn post_as(app: &TestApp, user: &TestUser, body: &str) -> String {
    let answer = app.graphql_as(user, CREATE_POST, json!({ "body": body })).await;
    answer["data"]["createPost"]["id"].as_str().unwrap_or_else(|| panic!("a post: {answer}")).to_string()
}

/// The post's like count as anyone sees it.
async fn like_count(app: &TestApp, id: &str) -> i64 {
    let answer = app.graphql("query($id: ID!) { post(id: $id) { likeCount } }", json!({ "id": id })).await;
    answer["data"]["post"]["likeCount"].as_i64().unwrap_or_else(|| panic!("a like count: {answer}"))
}

#[tokio::test]
async fn creating_a_post_puts_it_trimmed_at_the_top_of_the_feed() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    post_as(&app, &ann, "older").await;

    let answer = app.graphql_as(&ann, CREATE_POST, json!({ "body": "  hello town  \n" })).await;
    let post = &answer["data"]["createPost"];
    assert_eq!(post["body"], "hello town", "the body is stored trimmed: {answer}");
    assert_eq!(post["author"]["id"], ann.id.to_string());
    assert_eq!(post["likeCount"], 0);
    assert_eq!(post["commentCount"], 0);
    assert_eq!(post["likedByViewer"], false);
    assert!(post["createdAt"].as_str().is_some_and(|at| at.ends_with('Z')), "{answer}");

    let feed = app.graphql("{ posts(first: 2) { edges { node { id body } } } }", json!({})).await;
    assert_eq!(feed["data"]["posts"]["edges"][0]["node"]["id"], post["id"], "newest first: {feed}");
    assert_eq!(feed["data"]["posts"]["edges"][1]["node"]["body"], "older");
}

#[tokio::test]
async fn every_feed_write_needs_a_signed_in_user() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let post = post_as(&app, &ann, "hello").await;
    let cases = [
        (CREATE_POST, json!({ "body": "hi" }), "createPost"),
        (LIKE, json!({ "id": post }), "likePost"),
        (UNLIKE, json!({ "id": post }), "unlikePost"),
        (ADD_COMMENT, json!({ "id": post, "body": "hi" }), "addComment"),
    ];
    for (query, variables, name) in cases {
        let anonymous = app.graphql(query, variables.clone()).await;
        assert_eq!(first_error_code(&anonymous), "UNAUTHENTICATED", "{name} without a token: {anonymous}");
        let forged = app.graphql_with_token("not.a.token", query, variables).await;
        assert_eq!(first_error_code(&forged), "UNAUTHENTICATED", "{name} with a forged token: {forged}");
    }
    assert_eq!(like_count(&app, &post).await, 0, "nothing was written");
}

#[tokio::test]
async fn post_bodies_must_have_1_to_5000_characters_after_trimming() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let cases = [
        (String::new(), "empty"),
        (" \n\t  ".to_string(), "whitespace only is empty once trimmed"),
        ("x".repeat(5001), "one character past the limit"),
        (format!(" {} ", "é".repeat(5001)), "characters are counted, not bytes, and past the limit"),
    ];
    for (body, reason) in cases {
        let answer = app.graphql_as(&ann, CREATE_POST, json!({ "body": body })).await;
        assert_eq!(first_error_code(&answer), "BAD_USER_INPUT", "{reason}: {answer}");
        let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("The text of a post"), "{reason}: a sentence naming the rule: {message}");
    }
    for (body, reason) in [
        ("x".repeat(5000), "exactly the limit"),
        (format!("   {}   ", "é".repeat(5000)), "the limit after trimming, in multi-byte characters"),
        ("x".to_string(), "one character"),
    ] {
        let answer = app.graphql_as(&ann, CREATE_POST, json!({ "body": body })).await;
        assert!(answer["data"]["createPost"]["id"].is_string(), "{reason}: {answer}");
    }
}

#[tokio::test]
async fn comment_bodies_must_have_1_to_2000_characters_after_trimming() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let post = post_as(&app, &ann, "hello").await;
    let cases = [
        (String::new(), "empty"),
        ("\n \n".to_string(), "whitespace only is empty once trimmed"),
        ("x".repeat(2001), "one character past the limit"),
    ];
    for (body, reason) in cases {
        let answer = app.graphql_as(&ann, ADD_COMMENT, json!({ "id": post, "body": body })).await;
        assert_eq!(first_error_code(&answer), "BAD_USER_INPUT", "{reason}: {answer}");
    }
    let answer = app.graphql_as(&ann, ADD_COMMENT, json!({ "id": post, "body": "x".repeat(2000) })).await;
    assert_eq!(answer["data"]["addComment"]["post"]["commentCount"], 1, "exactly the limit: {answer}");
}

#[tokio::test]
async fn writes_to_an_unknown_or_malformed_post_id_are_not_found() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let unknown = uuid::Uuid::now_v7().to_string();
    for (id, reason) in [(unknown.as_str(), "a well-formed id of no post"), ("not-a-uuid", "not an id at all")] {
        for (query, variables, name) in [
            (LIKE, json!({ "id": id }), "likePost"),
            (UNLIKE, json!({ "id": id }), "unlikePost"),
            (ADD_COMMENT, json!({ "id": id, "body": "hi" }), "addComment"),
        ] {
            let answer = app.graphql_as(&ann, query, variables).await;
            assert_eq!(first_error_code(&answer), "NOT_FOUND", "{name} with {reason}: {answer}");
        }
    }
}

#[tokio::test]
async fn liking_twice_keeps_one_like_and_unliking_twice_removes_it_once() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let cat = app.signed_up("cat").await;
    let post = post_as(&app, &ann, "hello").await;

    app.graphql_as(&cat, LIKE, json!({ "id": post })).await;
    for round in 1..=2 {
        let answer = app.graphql_as(&bob, LIKE, json!({ "id": post })).await;
        let liked = &answer["data"]["likePost"];
        assert_eq!(liked["likeCount"], 2, "like {round}: {answer}");
        assert_eq!(liked["likedByViewer"], true, "like {round}");
        assert_eq!(liked["likers"], json!([{ "username": "bob" }, { "username": "cat" }]), "like {round}");
    }
    for round in 1..=2 {
        let answer = app.graphql_as(&bob, UNLIKE, json!({ "id": post })).await;
        let unliked = &answer["data"]["unlikePost"];
        assert_eq!(unliked["likeCount"], 1, "unlike {round}: {answer}");
        assert_eq!(unliked["likedByViewer"], false, "unlike {round}");
        assert_eq!(unliked["likers"], json!([{ "username": "cat" }]), "unlike {round}");
    }
    let answer = app.graphql_as(&ann, UNLIKE, json!({ "id": post })).await;
    assert_eq!(answer["data"]["unlikePost"]["likeCount"], 1, "unliking a post never liked changes nothing: {answer}");
}

#[tokio::test]
async fn two_racing_likes_by_the_same_user_count_once() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let post = post_as(&app, &ann, "hello").await;
    let variables = json!({ "id": post });

    let (first, second) =
        tokio::join!(app.graphql_as(&bob, LIKE, variables.clone()), app.graphql_as(&bob, LIKE, variables.clone()));
    for answer in [&first, &second] {
        assert!(answer.get("errors").is_none(), "a racing like is not an error: {answer}");
        assert_eq!(answer["data"]["likePost"]["likedByViewer"], true);
    }
    assert_eq!(like_count(&app, &post).await, 1);

    let (first, second) =
        tokio::join!(app.graphql_as(&bob, UNLIKE, variables.clone()), app.graphql_as(&bob, UNLIKE, variables.clone()));
    for answer in [&first, &second] {
        assert!(answer.get("errors").is_none(), "a racing unlike is not an error: {answer}");
    }
    assert_eq!(like_count(&app, &post).await, 0, "two racing unlikes remove one like");
}

#[tokio::test]
async fn racing_likes_by_different_users_are_all_counted() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let cat = app.signed_up("cat").await;
    let dan = app.signed_up("dan").await;
    let post = post_as(&app, &ann, "hello").await;
    let variables = json!({ "id": post });

    // The counter moves by `like_count + 1` in SQL: no increment is lost to a race.
    let answers = tokio::join!(
        app.graphql_as(&ann, LIKE, variables.clone()),
        app.graphql_as(&bob, LIKE, variables.clone()),
        app.graphql_as(&cat, LIKE, variables.clone()),
        app.graphql_as(&dan, LIKE, variables.clone()),
    );
    for answer in [&answers.0, &answers.1, &answers.2, &answers.3] {
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    assert_eq!(like_count(&app, &post).await, 4);
}

#[tokio::test]
async fn adding_a_comment_counts_it_and_lists_it_under_the_post() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let post = post_as(&app, &ann, "hello").await;

    let first = app.graphql_as(&bob, ADD_COMMENT, json!({ "id": post, "body": "  nice  " })).await;
    let comment = &first["data"]["addComment"];
    assert_eq!(comment["body"], "nice", "trimmed: {first}");
    assert_eq!(comment["author"]["username"], "bob");
    assert_eq!(comment["post"]["id"], post.as_str());
    assert_eq!(comment["post"]["commentCount"], 1);

    let second = app.graphql_as(&ann, ADD_COMMENT, json!({ "id": post, "body": "thanks" })).await;
    let on_post = &second["data"]["addComment"]["post"];
    assert_eq!(on_post["commentCount"], 2, "{second}");
    assert_eq!(on_post["comments"], json!([{ "body": "nice" }, { "body": "thanks" }]), "oldest first");
    assert_eq!(on_post["commenters"], json!([{ "username": "bob" }, { "username": "ann" }]));
}

#[tokio::test]
async fn a_later_mutation_field_sees_the_writes_of_an_earlier_one() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let post = post_as(&app, &ann, "hello").await;

    // Mutation fields run in order; what the first one loaded must not be served stale to
    // the second from the request's cache.
    let answer: Value = app
        .graphql_as(
            &bob,
            "mutation($id: ID!) {
                liked: likePost(postId: $id) { likeCount likedByViewer likers { username } }
                commented: addComment(postId: $id, body: \"hi\") { post { likeCount commentCount } }
                unliked: unlikePost(postId: $id) { likeCount likedByViewer likers { username } commentCount }
            }",
            json!({ "id": post }),
        )
        .await;
    let data = &answer["data"];
    assert_eq!(data["liked"], json!({ "likeCount": 1, "likedByViewer": true, "likers": [{ "username": "bob" }] }));
    assert_eq!(data["commented"]["post"], json!({ "likeCount": 1, "commentCount": 1 }), "{answer}");
    assert_eq!(
        data["unliked"],
        json!({ "likeCount": 0, "likedByViewer": false, "likers": [], "commentCount": 1 }),
        "{answer}"
    );
}
