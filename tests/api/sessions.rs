//! Login sessions: listing, logout, revoking one or all others, and the periodic cleanup.

use serde_json::json;
use townsquare::sessions::cleanup::{clear_expired_codes_once, clear_expired_sessions_once};

use crate::helpers::{first_error_code, spawn_app};

const SESSIONS: &str = "{ mySessions { id current userAgent createdAt lastSeenAt expiresAt } }";

#[tokio::test]
async fn my_sessions_lists_live_sessions_and_marks_the_current_one() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let second = app.logged_in_again(&ann).await;
    let body = app.graphql_as(&second, SESSIONS, json!({})).await;
    let sessions = body["data"]["mySessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 2, "{body}");
    assert_eq!(sessions.iter().filter(|session| session["current"] == true).count(), 1);
    assert!(sessions.iter().all(|session| session["userAgent"].is_string()), "the client's agent is kept");
}

#[tokio::test]
async fn logout_revokes_only_the_current_session() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let other = app.logged_in_again(&ann).await;
    let body = app.graphql_as(&ann, "mutation { logout }", json!({})).await;
    assert_eq!(body["data"]["logout"], true, "{body}");
    assert_eq!(app.graphql_as(&ann, "{ me { id } }", json!({})).await["data"]["me"], serde_json::Value::Null);
    let sessions = app.graphql_as(&other, SESSIONS, json!({})).await;
    assert_eq!(sessions["data"]["mySessions"].as_array().map(Vec::len), Some(1), "{sessions}");
}

#[tokio::test]
async fn revoke_session_ends_one_session_and_refuses_someone_elses() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let phone = app.logged_in_again(&ann).await;
    let bob = app.signed_up("bob").await;
    let bobs = app.graphql_as(&bob, SESSIONS, json!({})).await;
    let bob_session = bobs["data"]["mySessions"][0]["id"].clone();

    let forbidden =
        app.graphql_as(&ann, "mutation($id: ID!) { revokeSession(id: $id) }", json!({ "id": bob_session })).await;
    assert_eq!(first_error_code(&forbidden), "FORBIDDEN", "{forbidden}");
    let unknown = app
        .graphql_as(&ann, "mutation($id: ID!) { revokeSession(id: $id) }", json!({ "id": uuid::Uuid::new_v4() }))
        .await;
    assert_eq!(first_error_code(&unknown), "NOT_FOUND", "{unknown}");

    let phone_sessions = app.graphql_as(&phone, SESSIONS, json!({})).await;
    let phone_id = phone_sessions["data"]["mySessions"]
        .as_array()
        .and_then(|all| all.iter().find(|session| session["current"] == true))
        .map(|session| session["id"].clone())
        .expect("the phone's session");
    let body = app.graphql_as(&ann, "mutation($id: ID!) { revokeSession(id: $id) }", json!({ "id": phone_id })).await;
    assert_eq!(body["data"]["revokeSession"], true, "{body}");
    assert_eq!(app.graphql_as(&phone, "{ me { id } }", json!({})).await["data"]["me"], serde_json::Value::Null);
    assert!(app.graphql_as(&bob, "{ me { id } }", json!({})).await["data"]["me"].is_object(), "bob is untouched");
}

#[tokio::test]
async fn logout_other_sessions_keeps_the_current_one_and_counts_the_rest() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let others = [app.logged_in_again(&ann).await, app.logged_in_again(&ann).await];
    let body = app.graphql_as(&ann, "mutation { logoutOtherSessions }", json!({})).await;
    assert_eq!(body["data"]["logoutOtherSessions"], 2, "{body}");
    for other in &others {
        assert_eq!(app.graphql_as(other, "{ me { id } }", json!({})).await["data"]["me"], serde_json::Value::Null);
    }
    assert!(app.graphql_as(&ann, "{ me { id } }", json!({})).await["data"]["me"].is_object());
    let again = app.graphql_as(&ann, "mutation { logoutOtherSessions }", json!({})).await;
    assert_eq!(again["data"]["logoutOtherSessions"], 0);
}

#[tokio::test]
async fn revocations_are_announced_once_each() {
    let app = spawn_app().await;
    let mut ended = app.state.session_events.subscribe();
    let ann = app.signed_up("ann").await;
    let other = app.logged_in_again(&ann).await;
    app.graphql_as(&ann, "mutation { logoutOtherSessions }", json!({})).await;
    app.graphql_as(&ann, "mutation { logout }", json!({})).await;
    app.graphql_as(&other, "mutation { logout }", json!({})).await;
    let first = ended.try_recv().expect("the other session's end");
    let second = ended.try_recv().expect("the current session's end");
    assert_eq!(first.user_id, ann.id);
    assert_eq!(second.user_id, ann.id);
    assert_ne!(first.session_id, second.session_id);
    assert!(ended.try_recv().is_err(), "a revoked session is not announced again");
}

#[tokio::test]
async fn last_seen_is_written_at_most_once_per_touch_interval() {
    let app = crate::helpers::spawn_app_with(|settings| {
        settings.session_touch_interval = std::time::Duration::from_secs(3600)
    })
    .await;
    let ann = app.signed_up("ann").await;
    let before = app.graphql_as(&ann, SESSIONS, json!({})).await["data"]["mySessions"][0]["lastSeenAt"].clone();
    for _ in 0..5 {
        app.graphql_as(&ann, "{ me { id } }", json!({})).await;
    }
    // A touch writes the current time, so an unchanged lastSeenAt means no write happened.
    // (Counting statements here would race with the background tasks' own statements.)
    let after = app.graphql_as(&ann, SESSIONS, json!({})).await["data"]["mySessions"][0]["lastSeenAt"].clone();
    assert_eq!(before, after, "no write while the session was seen recently");
}

#[tokio::test]
async fn last_seen_moves_once_the_touch_interval_has_passed() {
    let app = crate::helpers::spawn_app_with(|settings| {
        settings.session_touch_interval = std::time::Duration::from_millis(50)
    })
    .await;
    let ann = app.signed_up("ann").await;
    let before = app.graphql_as(&ann, SESSIONS, json!({})).await["data"]["mySessions"][0]["lastSeenAt"].clone();
    tokio::time::sleep(std::time::Duration::from_millis(80)).await;
    let after = app.graphql_as(&ann, SESSIONS, json!({})).await["data"]["mySessions"][0]["lastSeenAt"].clone();
    assert_ne!(before, after, "{before} {after}");
}

#[tokio::test]
async fn cleanup_removes_expired_sessions_and_announces_them() {
    let app = crate::helpers::spawn_app_with(|settings| {
        settings.auth.session_lifetime = std::time::Duration::from_millis(200)
    })
    .await;
    let mut ended = app.state.session_events.subscribe();
    let ann = app.signed_up("ann").await;
    assert_eq!(clear_expired_sessions_once(&app.state).await.expect("a pass"), 0, "a live session stays");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        app.graphql_as(&ann, "{ me { id } }", json!({})).await["data"]["me"],
        serde_json::Value::Null,
        "expired"
    );
    assert_eq!(clear_expired_sessions_once(&app.state).await.expect("a pass"), 1);
    let end = ended.try_recv().expect("the expiry is announced");
    assert_eq!(end.reason, townsquare::sessions::EndReason::Expired);
    assert_eq!(clear_expired_sessions_once(&app.state).await.expect("a pass"), 0, "idempotent");
}

#[tokio::test]
async fn cleanup_keeps_live_codes_and_removes_expired_ones() {
    let app =
        crate::helpers::spawn_app_with(|settings| settings.auth.code_ttl = std::time::Duration::from_millis(300)).await;
    // Registration issues a verification code.
    app.signed_up("ann").await;
    assert_eq!(clear_expired_codes_once(&app.state).await.expect("a pass"), 0, "the live code stays");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(clear_expired_codes_once(&app.state).await.expect("a pass"), 1, "the expired code goes");
}
