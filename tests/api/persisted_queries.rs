//! Automatic persisted queries as Apollo Client and urql send them: a miss answers
//! `PERSISTED_QUERY_NOT_FOUND`, the document with its hash registers it, and the hash alone
//! then runs it, over POST, GET and graphql-ws; a hash that is not the document's is refused;
//! the store is bounded and forgets the least recently used first.

use reqwest::header;
use serde_json::{Value, json};
use townsquare::graphql::persisted::hex_sha256;

use crate::{
    helpers::{error_codes, spawn_app, spawn_app_with},
    ws_client::WAIT,
};

/// The `extensions` of a request that names `query` by its hash.
fn persisted(query: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hex_sha256(query) } })
}

/// Asserts that `body` is the persisted-query miss both clients recognise.
fn assert_miss(body: &Value, what: &str) {
    assert_eq!(error_codes(body), ["PERSISTED_QUERY_NOT_FOUND"], "{what}: {body}");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound", "{what}: the message Apollo and urql match");
}

/// Asserts that `body` has `data.posts` and no errors.
fn assert_posts(body: &Value, what: &str) {
    assert!(body.get("errors").is_none(), "{what}: {body}");
    assert!(body["data"]["posts"]["edges"].is_array(), "{what}: {body}");
}

#[tokio::test]
async fn a_miss_then_the_document_then_the_hash_alone_over_post() {
    let app = spawn_app().await;
    let query = "query Feed { posts(first: 2) { edges { cursor } } }";
    assert_miss(&app.post_request(&json!({ "extensions": persisted(query) })).await, "an unknown hash");
    let registered = app.post_request(&json!({ "query": query, "extensions": persisted(query) })).await;
    assert_posts(&registered, "the document with its hash");
    let hit = app.post_request(&json!({ "operationName": "Feed", "extensions": persisted(query) })).await;
    assert_posts(&hit, "the hash alone");
    let metrics = app.client.get(format!("{}/metrics", app.address)).send().await.expect("reaches");
    let metrics = metrics.text().await.expect("text");
    for outcome in ["hit", "miss", "registered"] {
        let line = format!("graphql_persisted_queries_total{{outcome=\"{outcome}\"}}");
        assert!(metrics.contains(&line), "{line} is exported:\n{metrics}");
    }
}

#[tokio::test]
async fn over_get_a_known_hash_is_a_short_url_and_a_miss_is_never_cached() {
    let app = spawn_app().await;
    let query = "query($n: Int) { posts(first: $n) { edges { cursor } } }";
    let extensions = persisted(query).to_string();
    let url = format!("{}/graphql", app.address);
    let miss = app.client.get(&url).query(&[("extensions", extensions.as_str())]).send().await.expect("reaches");
    assert_eq!(miss.status(), 200, "a miss is a step of the protocol, not an error status");
    let cache_control = miss.headers().get(header::CACHE_CONTROL).and_then(|value| value.to_str().ok());
    assert_eq!(cache_control, Some("private, no-cache, must-revalidate"), "a CDN must not keep the miss");
    assert_miss(&miss.json().await.expect("JSON"), "an unknown hash over GET");

    let registered =
        app.get_request(&[("query", query), ("extensions", &extensions), ("variables", "{\"n\":1}")]).await;
    assert_posts(&registered, "the document with its hash over GET");
    let hit = app.client.get(&url).query(&[("extensions", extensions.as_str()), ("variables", "{\"n\":1}")]);
    let hit = hit.send().await.expect("reaches");
    let vary = hit.headers().get(header::VARY).and_then(|value| value.to_str().ok()).unwrap_or_default().to_string();
    assert!(vary.contains("authorization"), "a cache keeps one answer per caller: {vary}");
    assert_posts(&hit.json().await.expect("JSON"), "the hash alone over GET");
}

#[tokio::test]
async fn a_persisted_mutation_runs_by_hash_over_post_but_not_over_get() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mutation = "mutation { createPost(body: \"by hash\") { id } }";
    let request = json!({ "query": mutation, "extensions": persisted(mutation) });
    let posted = app.client.post(format!("{}/graphql", app.address)).bearer_auth(&ann.token).json(&request);
    let body: Value = posted.send().await.expect("reaches").json().await.expect("JSON");
    assert!(body["data"]["createPost"]["id"].is_string(), "{body}");
    let extensions = persisted(mutation).to_string();
    let get = app.client.get(format!("{}/graphql", app.address)).query(&[("extensions", extensions.as_str())]);
    let response = get.bearer_auth(&ann.token).send().await.expect("reaches");
    assert_eq!(response.status(), 405, "GET never runs a mutation, by hash or not");
}

#[tokio::test]
async fn over_the_socket_a_miss_then_the_document_then_the_hash_alone() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mut socket = app.ws_signed_in(&ann).await;
    let query = "{ me { username } }";
    socket.subscribe_with("1", json!({ "extensions": persisted(query) })).await;
    let miss = socket.next_of("1", WAIT).await.expect("an answer");
    assert_eq!(miss["type"], "error", "{miss}");
    assert_eq!(error_codes(&miss["payload"]), ["PERSISTED_QUERY_NOT_FOUND"], "{miss}");
    socket.subscribe_with("2", json!({ "query": query, "extensions": persisted(query) })).await;
    let registered = socket.next_of("2", WAIT).await.expect("an answer");
    assert_eq!(registered["payload"]["data"]["me"]["username"], "ann", "{registered}");
    socket.subscribe_with("3", json!({ "query": "", "extensions": persisted(query) })).await;
    let hit = socket.next_of("3", WAIT).await.expect("an answer");
    assert_eq!(hit["payload"]["data"]["me"]["username"], "ann", "an empty query with a hash: {hit}");
    assert!(socket.closed().is_none(), "the socket stays open");
}

#[tokio::test]
async fn a_hash_that_is_not_the_documents_is_refused_and_nothing_is_kept() {
    let app = spawn_app().await;
    let query = "{ posts(first: 1) { edges { cursor } } }";
    let wrong = json!({ "persistedQuery": { "version": 1, "sha256Hash": hex_sha256("{ me { id } }") } });
    let body = app.post_request(&json!({ "query": query, "extensions": wrong })).await;
    assert_eq!(error_codes(&body), ["BAD_REQUEST"], "{body}");
    assert!(app.state.admission.persisted.is_empty(), "a refused document is not kept");
    let body = app.post_request(&json!({ "extensions": wrong })).await;
    assert_miss(&body, "the other document's hash is still unknown");
    let version_2 = json!({ "persistedQuery": { "version": 2, "sha256Hash": hex_sha256(query) } });
    let body = app.post_request(&json!({ "query": query, "extensions": version_2 })).await;
    assert_eq!(error_codes(&body), ["BAD_REQUEST"], "an unknown version: {body}");
}

#[tokio::test]
async fn the_store_is_bounded_and_forgets_the_least_recently_used_first() {
    // Room for about three documents of ~1 KiB.
    let app = spawn_app_with(|settings| settings.persisted_queries_max_bytes = 3_500).await;
    let document =
        |n: usize| format!("query Q{n} {{ posts(first: {n}) {{ edges {{ cursor }} }} }} #{}", "x".repeat(950));
    for n in 1..=3 {
        let body = app.post_request(&json!({ "query": document(n), "extensions": persisted(&document(n)) })).await;
        assert_posts(&body, "registering");
    }
    // The store records uses in batches; settle them, as any later request would.
    assert_eq!(app.state.admission.persisted.len(), 3, "three fit");
    assert_posts(&app.post_request(&json!({ "extensions": persisted(&document(1)) })).await, "1 is used again");
    for n in 4..=5 {
        app.post_request(&json!({ "query": document(n), "extensions": persisted(&document(n)) })).await;
        assert!(app.state.admission.persisted.len() <= 3, "bounded by bytes");
    }
    assert_posts(&app.post_request(&json!({ "extensions": persisted(&document(1)) })).await, "recently used, kept");
    assert_miss(&app.post_request(&json!({ "extensions": persisted(&document(2)) })).await, "least recently used");
}
