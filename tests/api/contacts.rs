//! Contacts: `addContact`, `removeContact` and `contacts`, one-way lists with idempotent
//! adds, and the CONTACT_ADDED notification an add sends.

use std::time::Duration;

use serde_json::{Value, json};
use townsquare::realtime::broker::{Event, Topic};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, first_error_code, spawn_app};

const ADD: &str = "mutation($id: ID!) { addContact(userId: $id) { id username } }";
const REMOVE: &str = "mutation($id: ID!) { removeContact(userId: $id) }";
const CONTACTS: &str = "{ contacts { id username displayName online } }";
const NOTIFICATIONS: &str = "{ notifications { edges { node { kind read actor { id username } post { id } } } } }";

/// Adds `contact` to `user`'s contacts and returns the added user as answered.
async fn add_as(app: &TestApp, user: &TestUser, contact: &TestUser) -> Value {
    let answer = app.graphql_as(user, ADD, json!({ "id": contact.id })).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"]["addContact"].clone()
}

/// The usernames of `user`'s contacts, in the order given.
async fn contact_names(app: &TestApp, user: &TestUser) -> Vec<String> {
    let answer = app.graphql_as(user, CONTACTS, json!({})).await;
    answer["data"]["contacts"]
        .as_array()
        .unwrap_or_else(|| panic!("contacts: {answer}"))
        .iter()
        .map(|contact| contact["username"].as_str().expect("a username").to_string())
        .collect()
}

/// The notifications of `user`, newest first.
async fn notifications_of(app: &TestApp, user: &TestUser) -> Vec<Value> {
    let answer = app.graphql_as(user, NOTIFICATIONS, json!({})).await;
    answer["data"]["notifications"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("notifications: {answer}"))
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

#[tokio::test]
async fn added_contacts_are_listed_by_username_and_adding_again_changes_nothing() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let cat = app.signed_up("cat").await;
    let bob = app.signed_up("bob").await;

    let added = add_as(&app, &ann, &cat).await;
    assert_eq!(added, json!({ "id": cat.id.to_string(), "username": "cat" }), "the added user");
    add_as(&app, &ann, &bob).await;
    let again = add_as(&app, &ann, &bob).await;
    assert_eq!(again["username"], "bob", "adding again answers like the first time");

    assert_eq!(contact_names(&app, &ann).await, ["bob", "cat"], "one row each, by username");
    let answer = app.graphql_as(&ann, CONTACTS, json!({})).await;
    assert_eq!(answer["data"]["contacts"][0]["displayName"], "bob", "{answer}");
    assert_eq!(answer["data"]["contacts"][0]["online"], false, "no live connection: {answer}");
}

#[tokio::test]
async fn contacts_are_one_way() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    add_as(&app, &ann, &bob).await;
    assert_eq!(contact_names(&app, &ann).await, ["bob"]);
    assert!(contact_names(&app, &bob).await.is_empty(), "bob added nobody");
}

#[tokio::test]
async fn adding_a_contact_notifies_the_added_user_once_and_not_the_adder() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let mut live = app.state.broker.subscribe(Topic::User(bob.id));

    add_as(&app, &ann, &bob).await;
    add_as(&app, &ann, &bob).await;

    let found = notifications_of(&app, &bob).await;
    assert_eq!(found.len(), 1, "one notification for two adds: {found:?}");
    assert_eq!(found[0]["kind"], "CONTACT_ADDED");
    assert_eq!(found[0]["actor"], json!({ "id": ann.id.to_string(), "username": "ann" }));
    assert_eq!(found[0]["read"], false);
    assert_eq!(found[0]["post"], Value::Null, "about no post");
    assert!(notifications_of(&app, &ann).await.is_empty(), "nobody is notified of their own act");

    let event = tokio::time::timeout(Duration::from_secs(2), live.recv())
        .await
        .expect("delivered live within 2 s")
        .expect("the broker is open")
        .expect("no events lost");
    let Event::Notification(model) = &event.event else { panic!("a notification event: {event:?}") };
    assert_eq!((model.kind.as_str(), model.actor_id), ("CONTACT_ADDED", ann.id));
    assert!(
        tokio::time::timeout(Duration::from_millis(200), live.recv()).await.is_err(),
        "the repeated add delivered nothing"
    );
}

#[tokio::test]
async fn two_racing_adds_of_one_contact_keep_one_row_and_notify_once() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let (first, second) = tokio::join!(
        app.graphql_as(&ann, ADD, json!({ "id": bob.id })),
        app.graphql_as(&ann, ADD, json!({ "id": bob.id })),
    );
    for answer in [&first, &second] {
        assert_eq!(answer["data"]["addContact"]["username"], "bob", "both succeed: {answer}");
    }
    assert_eq!(contact_names(&app, &ann).await, ["bob"]);
    assert_eq!(notifications_of(&app, &bob).await.len(), 1, "one notification");
}

#[tokio::test]
async fn removing_a_contact_says_whether_they_were_one() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let cat = app.signed_up("cat").await;
    add_as(&app, &ann, &bob).await;
    add_as(&app, &ann, &cat).await;
    let unknown = Uuid::now_v7().to_string();
    let bob_id = bob.id.to_string();
    let cases = [
        (bob_id.as_str(), true, "a contact"),
        (bob_id.as_str(), false, "no longer a contact"),
        (unknown.as_str(), false, "a well-formed id of no user"),
        ("not-a-uuid", false, "not an id at all"),
    ];
    for (id, expected, reason) in cases {
        let answer = app.graphql_as(&ann, REMOVE, json!({ "id": id })).await;
        assert_eq!(answer["data"]["removeContact"], expected, "{reason}: {answer}");
    }
    assert_eq!(contact_names(&app, &ann).await, ["cat"], "only bob was removed");
}

#[tokio::test]
async fn adding_yourself_or_an_unknown_user_is_refused() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let own = ann.id.to_string();
    let unknown = Uuid::now_v7().to_string();
    let cases = [
        (own.as_str(), "BAD_USER_INPUT", "a user cannot be their own contact"),
        (unknown.as_str(), "NOT_FOUND", "a well-formed id of no user"),
        ("not-a-uuid", "NOT_FOUND", "not an id at all"),
    ];
    for (id, code, reason) in cases {
        let answer = app.graphql_as(&ann, ADD, json!({ "id": id })).await;
        assert_eq!(first_error_code(&answer), code, "{reason}: {answer}");
    }
    assert!(contact_names(&app, &ann).await.is_empty(), "nothing was added");
    assert!(notifications_of(&app, &ann).await.is_empty(), "nobody was notified");
}

#[tokio::test]
async fn contacts_need_a_signed_in_user() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let cases = [
        (CONTACTS, json!({}), "contacts"),
        (ADD, json!({ "id": ann.id }), "addContact"),
        (REMOVE, json!({ "id": ann.id }), "removeContact"),
    ];
    for (query, variables, name) in cases {
        let anonymous = app.graphql(query, variables.clone()).await;
        assert_eq!(first_error_code(&anonymous), "UNAUTHENTICATED", "{name} without a token: {anonymous}");
        let forged = app.graphql_with_token("not.a.token", query, variables).await;
        assert_eq!(first_error_code(&forged), "UNAUTHENTICATED", "{name} with a forged token: {forged}");
    }
}

#[tokio::test]
async fn the_contact_list_is_one_statement_however_long() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    for name in ["bob", "cat", "dan", "eve", "fay"] {
        let contact = app.signed_up(name).await;
        add_as(&app, &ann, &contact).await;
    }
    // The first request reads the session row; later ones find it in the session cache.
    app.graphql_as(&ann, "{ me { id } }", json!({})).await;
    let before = app.statements();
    assert_eq!(contact_names(&app, &ann).await.len(), 5);
    assert_eq!(app.statements() - before, 1, "the contacts come joined to their users");
}
