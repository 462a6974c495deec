//! Introspection for the tools that read schemas: graphql-js's `getIntrospectionQuery`, with
//! every option, with its defaults (GraphQL Code Generator's URL loader, GraphiQL by default)
//! and as GraphiQL sends it with its options on, runs over POST, GET and graphql-ws with every
//! limit at its default, while
//! introspection nested to blow a response up is refused with the limit's name.

use serde_json::{Value, json};

use crate::{
    helpers::{error_codes, spawn_app, spawn_app_with},
    ws_client::WAIT,
};

/// `getIntrospectionQuery({ descriptions, specifiedByUrl, directiveIsRepeatable,
/// schemaDescription, inputValueDeprecation, oneOf })`, every option on, from graphql 16.15.
const EVERY_OPTION: &str = include_str!("fixtures/introspection_every_option.graphql");
/// `getIntrospectionQuery()` with its defaults, from graphql 16.15: what GraphQL Code
/// Generator's URL loader and GraphiQL (its props at their defaults) send.
const DEFAULTS: &str = include_str!("fixtures/introspection_default.graphql");
/// What GraphiQL sends with `inputValueDeprecation` and `schemaDescription` on.
const GRAPHIQL: &str = include_str!("fixtures/introspection_graphiql.graphql");

/// Asserts that `body` is a whole introspection result without errors.
fn assert_schema(body: &Value, what: &str) {
    assert!(body.get("errors").is_none(), "{what}: {body}");
    let schema = &body["data"]["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query", "{what}");
    let types = schema["types"].as_array().unwrap_or_else(|| panic!("{what}: types: {body}"));
    let post = types.iter().find(|ty| ty["name"] == "Post").unwrap_or_else(|| panic!("{what}: Post is listed"));
    assert!(post["fields"].as_array().is_some_and(|fields| fields.len() > 5), "{what}: Post has its fields");
}

#[tokio::test]
async fn the_introspection_queries_tools_send_run_over_post_get_and_the_socket() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    for (query, what) in [(EVERY_OPTION, "every option"), (DEFAULTS, "the defaults"), (GRAPHIQL, "GraphiQL's")] {
        let request = json!({ "query": query, "operationName": "IntrospectionQuery" });
        assert_schema(&app.post_request(&request).await, &format!("{what} over POST"));
        let get = app.get_request(&[("query", query), ("operationName", "IntrospectionQuery")]).await;
        assert_schema(&get, &format!("{what} over GET"));
        let mut socket = app.ws_signed_in(&ann).await;
        socket.subscribe_with("1", request).await;
        let next = socket.next_of("1", WAIT).await.unwrap_or_else(|| panic!("{what}: an answer over the socket"));
        assert_eq!(next["type"], "next", "{what} over the socket: {next}");
        assert_schema(&next["payload"], &format!("{what} over the socket"));
        socket.close().await;
    }
}

#[tokio::test]
async fn every_option_of_the_introspection_query_is_answered() {
    let app = spawn_app().await;
    let body = app.post_request(&json!({ "query": EVERY_OPTION })).await;
    assert_schema(&body, "every option");
    let types = body["data"]["__schema"]["types"].as_array().expect("types");
    let named = |name: &str| types.iter().find(|ty| ty["name"] == name).unwrap_or_else(|| panic!("{name} is listed"));
    assert_eq!(named("RegisterInput")["isOneOf"], false, "oneOf");
    assert!(named("DateTime").get("specifiedByURL").is_some(), "specifiedByUrl");
    let directives = body["data"]["__schema"]["directives"].as_array().expect("directives");
    assert!(directives.iter().all(|directive| directive["isRepeatable"].is_boolean()), "directiveIsRepeatable");
    assert!(body["data"]["__schema"].get("description").is_some(), "schemaDescription");
}

/// `__schema { types { <fields> } }` with `levels` of `fields { type { … } }` nested.
fn nested_fields(levels: usize) -> String {
    let mut selection = "name".to_string();
    for _ in 0..levels {
        selection = format!("fields {{ type {{ {selection} }} }}");
    }
    format!("{{ __schema {{ types {{ {selection} }} }} }}")
}

/// `__type(name: "Post") { … }` with `levels` of `ofType` nested.
fn nested_of_type(levels: usize) -> String {
    let mut selection = "name".to_string();
    for _ in 0..levels {
        selection = format!("kind ofType {{ {selection} }}");
    }
    format!("{{ __type(name: \"Post\") {{ {selection} }} }}")
}

#[tokio::test]
async fn introspection_at_its_limits_runs() {
    let app = spawn_app().await;
    for (query, what) in [(nested_fields(2), "fields nested 2 deep"), (nested_of_type(12), "ofType nested 12 deep")] {
        let body = app.post_request(&json!({ "query": query })).await;
        assert!(body.get("errors").is_none(), "{what}: {body}");
    }
}

#[tokio::test]
async fn introspection_nested_to_abuse_is_refused_and_the_message_names_the_limit() {
    let app = spawn_app().await;
    let lists = "`fields`, `inputFields`, `interfaces` or `possibleTypes` 3 levels deep; the limit is 2";
    let cases = [
        (nested_fields(3), lists, "fields nested 3 deep"),
        (nested_fields(8), "8 levels deep; the limit is 2", "fields nested 8 deep"),
        (
            "{ __type(name: \"Post\") { interfaces { possibleTypes { inputFields { name } } } } }".to_string(),
            lists,
            "other list fields",
        ),
        (
            "{ __schema { types { ...A } } } fragment A on __Type { fields { type { ...B } } }
             fragment B on __Type { interfaces { fields { name } } }"
                .to_string(),
            lists,
            "lists nested through fragments",
        ),
        (nested_of_type(13), "nests `ofType` 13 levels deep; the limit is 12", "ofType one level past"),
        (nested_of_type(60), "nests `ofType` 60 levels deep", "ofType far past any schema"),
    ];
    for (query, names, what) in cases {
        let body = app.post_request(&json!({ "query": query })).await;
        assert_eq!(error_codes(&body), ["GRAPHQL_VALIDATION_FAILED"], "{what}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{what}: the message names the limit: {message}");
        assert!(body.get("data").is_none() || body["data"].is_null(), "{what} never ran: {body}");
    }
}

#[tokio::test]
async fn the_introspection_limits_are_configured_by_their_variables() {
    let app = spawn_app_with(|settings| {
        settings.query_limits.max_introspection_lists = 3;
        settings.query_limits.max_introspection_type_depth = 20;
    })
    .await;
    for query in [nested_fields(3), nested_of_type(20)] {
        let body = app.post_request(&json!({ "query": query })).await;
        assert!(body.get("errors").is_none(), "{query}: {body}");
    }
    let body = app.post_request(&json!({ "query": nested_of_type(21) })).await;
    assert_eq!(error_codes(&body), ["GRAPHQL_VALIDATION_FAILED"], "{body}");
}

#[tokio::test]
async fn the_depth_limit_still_holds_for_the_api_beside_introspection() {
    let app = spawn_app().await;
    // posts, edges, node, then comments and post in turn: 11 levels with the leaf.
    let mut selection = "id".to_string();
    for level in (0..7).rev() {
        let field = if level % 2 == 0 { "comments(first: 1)" } else { "post" };
        selection = format!("{field} {{ {selection} }}");
    }
    let query =
        format!("{{ __schema {{ queryType {{ name }} }} posts(first: 1) {{ edges {{ node {{ {selection} }} }} }} }}");
    let body = app.post_request(&json!({ "query": query })).await;
    assert_eq!(error_codes(&body), ["GRAPHQL_VALIDATION_FAILED"], "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("11 levels; the limit is 10 levels"), "{message}");
}
