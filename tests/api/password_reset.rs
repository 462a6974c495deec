//! Emailed codes end to end, read from the mail a real SMTP server received: email
//! verification, password reset, wrong and racing codes.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, TestUser, first_error_code, spawn_app, spawn_app_with},
    smtp_sink::code_in,
};

const MAIL_WAIT: Duration = Duration::from_secs(10);
const NEW_PASSWORD: &str = "saffron lighthouse quietly 77";

const REQUEST_RESET: &str = "mutation($email: String!) { requestPasswordReset(email: $email) }";
const RESET: &str = "mutation($email: String!, $code: String!, $password: String!) {
    resetPassword(email: $email, code: $code, newPassword: $password)
}";
const LOGIN: &str =
    "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }";

/// Asks for a reset of `user`'s password and returns the code from the mail.
async fn reset_code(app: &TestApp, user: &TestUser) -> String {
    let body = app.graphql(REQUEST_RESET, json!({ "email": user.email })).await;
    assert_eq!(body["data"]["requestPasswordReset"], true, "{body}");
    let mail = app.mail.wait_for_mail_with_subject(&user.email, "password reset", MAIL_WAIT).await;
    code_in(&mail)
}

async fn reset(app: &TestApp, user: &TestUser, code: &str) -> Value {
    app.graphql(RESET, json!({ "email": user.email, "code": code, "password": NEW_PASSWORD })).await
}

#[tokio::test]
async fn registration_mails_a_code_that_verifies_the_address() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mail = app.mail.wait_for_mail_with_subject(&ann.email, "verification", MAIL_WAIT).await;
    let code = code_in(&mail);
    assert!(code.len() >= 6, "{code}");
    let wrong = app.graphql_as(&ann, "mutation { verifyEmail(code: \"000000x\") { emailVerified } }", json!({})).await;
    assert_eq!(first_error_code(&wrong), "BAD_USER_INPUT", "{wrong}");
    let body = app
        .graphql_as(
            &ann,
            "mutation($code: String!) { verifyEmail(code: $code) { emailVerified } }",
            json!({ "code": code }),
        )
        .await;
    assert_eq!(body["data"]["verifyEmail"]["emailVerified"], true, "{body}");
    let again = app
        .graphql_as(
            &ann,
            "mutation($code: String!) { verifyEmail(code: $code) { emailVerified } }",
            json!({ "code": code }),
        )
        .await;
    assert_eq!(first_error_code(&again), "BAD_USER_INPUT", "a spent code: {again}");
    let resend = app.graphql_as(&ann, "mutation { requestEmailVerification }", json!({})).await;
    assert_eq!(first_error_code(&resend), "BAD_USER_INPUT", "already verified: {resend}");
}

#[tokio::test]
async fn a_new_verification_code_replaces_the_old_one() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let first = code_in(&app.mail.wait_for_mail_with_subject(&ann.email, "verification", MAIL_WAIT).await);
    let body = app.graphql_as(&ann, "mutation { requestEmailVerification }", json!({})).await;
    assert_eq!(body["data"]["requestEmailVerification"], true, "{body}");
    let mails = app.mail.wait_for_count(&ann.email, 2, MAIL_WAIT).await;
    let second = code_in(&mails[1]);
    let verify = "mutation($code: String!) { verifyEmail(code: $code) { emailVerified } }";
    if first != second {
        let old = app.graphql_as(&ann, verify, json!({ "code": first })).await;
        assert_eq!(first_error_code(&old), "BAD_USER_INPUT", "the old code died: {old}");
    }
    let new = app.graphql_as(&ann, verify, json!({ "code": second })).await;
    assert_eq!(new["data"]["verifyEmail"]["emailVerified"], true, "{new}");
}

#[tokio::test]
async fn a_password_reset_sets_the_password_revokes_every_session_and_mails_a_notice() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let mut ended = app.state.session_events.subscribe();
    let code = reset_code(&app, &ann).await;
    let body = reset(&app, &ann, &code).await;
    assert_eq!(body["data"]["resetPassword"], true, "{body}");
    assert!(body["data"].get("login").is_none(), "nobody is signed in");

    assert_eq!(app.graphql_as(&ann, "{ me { id } }", json!({})).await["data"]["me"], Value::Null, "old sessions end");
    assert_eq!(ended.try_recv().map(|end| end.reason).ok(), Some(townsquare::sessions::EndReason::PasswordReset));
    let old = app.graphql(LOGIN, json!({ "email": ann.email, "password": ann.password })).await;
    assert_eq!(first_error_code(&old), "UNAUTHENTICATED", "the old password is gone");
    let new = app.graphql(LOGIN, json!({ "email": ann.email, "password": NEW_PASSWORD })).await;
    assert!(new["data"]["login"]["token"].is_string(), "{new}");
    app.mail.wait_for_mail_with_subject(&ann.email, "password was changed", MAIL_WAIT).await;

    let reused = reset(&app, &ann, &code).await;
    assert_eq!(first_error_code(&reused), "BAD_USER_INPUT", "a code works once: {reused}");
}

#[tokio::test]
async fn an_unknown_address_gets_true_and_no_mail() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let body = app.graphql(REQUEST_RESET, json!({ "email": "nobody@example.com" })).await;
    assert_eq!(body["data"]["requestPasswordReset"], true, "{body}");
    // A registered address's mail arrives; by then the unknown one's work is long done.
    reset_code(&app, &ann).await;
    assert!(app.mail.mails_to("nobody@example.com").is_empty());
}

#[tokio::test]
async fn five_wrong_codes_kill_the_code_even_for_the_right_one_next() {
    let app = spawn_app_with(|settings| settings.rate_limits.code_per_address = 100).await;
    let ann = app.signed_up("ann").await;
    let code = reset_code(&app, &ann).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for attempt in 1..=5 {
        let body = reset(&app, &ann, wrong).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "wrong attempt {attempt}: {body}");
    }
    let body = reset(&app, &ann, &code).await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "the code died after five wrong tries: {body}");
    let login = app.graphql(LOGIN, json!({ "email": ann.email, "password": NEW_PASSWORD })).await;
    assert_eq!(first_error_code(&login), "UNAUTHENTICATED", "the password did not change");
}

#[tokio::test]
async fn of_two_racing_submissions_of_the_right_code_exactly_one_succeeds() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let code = reset_code(&app, &ann).await;
    let (first, second) = tokio::join!(reset(&app, &ann, &code), reset(&app, &ann, &code));
    let successes = [&first, &second].iter().filter(|body| body["data"]["resetPassword"] == true).count();
    assert_eq!(successes, 1, "{first} {second}");
}

#[tokio::test]
async fn one_request_cannot_submit_two_codes() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let body = app
        .graphql(
            "mutation($email: String!) {
                a: resetPassword(email: $email, code: \"123456\", newPassword: \"saffron lighthouse quietly 77\")
                b: resetPassword(email: $email, code: \"654321\", newPassword: \"saffron lighthouse quietly 77\")
            }",
            json!({ "email": ann.email }),
        )
        .await;
    let messages: Vec<&str> =
        body["errors"].as_array().expect("errors").iter().filter_map(|e| e["message"].as_str()).collect();
    assert!(messages.iter().any(|message| message.contains("Only one password or code")), "{body}");
}

#[tokio::test]
async fn reset_requests_are_rate_limited_per_address() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    reset_code(&app, &ann).await;
    let body = app.graphql(REQUEST_RESET, json!({ "email": ann.email })).await;
    assert_eq!(first_error_code(&body), "RATE_LIMITED", "one reset mail a minute: {body}");
    let unknown = app.graphql(REQUEST_RESET, json!({ "email": "nobody@example.com" })).await;
    let again = app.graphql(REQUEST_RESET, json!({ "email": "nobody@example.com" })).await;
    assert_eq!(unknown["data"]["requestPasswordReset"], true);
    assert_eq!(first_error_code(&again), "RATE_LIMITED", "unknown addresses are limited alike: {again}");
}

#[tokio::test]
async fn code_submissions_are_rate_limited_per_address() {
    let app = spawn_app_with(|settings| settings.rate_limits.code_per_address = 2).await;
    let ann = app.signed_up("ann").await;
    for _ in 0..2 {
        assert_eq!(first_error_code(&reset(&app, &ann, "123456").await), "BAD_USER_INPUT");
    }
    assert_eq!(first_error_code(&reset(&app, &ann, "123456").await), "RATE_LIMITED");
}

#[tokio::test]
async fn a_weak_new_password_is_refused_without_spending_the_code() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let code = reset_code(&app, &ann).await;
    let weak = app.graphql(RESET, json!({ "email": ann.email, "code": code, "password": "password1" })).await;
    assert_eq!(first_error_code(&weak), "BAD_USER_INPUT", "{weak}");
    let body = reset(&app, &ann, &code).await;
    assert_eq!(body["data"]["resetPassword"], true, "the code still works: {body}");
}

#[tokio::test]
async fn reset_requests_are_rate_limited_per_ip() {
    let app = spawn_app_with(|settings| settings.rate_limits.reset_per_ip = 2).await;
    for n in 0..2 {
        let body = app.graphql(REQUEST_RESET, json!({ "email": format!("someone{n}@example.com") })).await;
        assert_eq!(body["data"]["requestPasswordReset"], true, "{body}");
    }
    let body = app.graphql(REQUEST_RESET, json!({ "email": "someone9@example.com" })).await;
    assert_eq!(first_error_code(&body), "RATE_LIMITED", "{body}");
}

#[tokio::test]
async fn code_submissions_are_rate_limited_per_ip_across_addresses() {
    let app = spawn_app_with(|settings| settings.rate_limits.code_per_ip = 2).await;
    for n in 0..2 {
        let body = app
            .graphql(RESET, json!({ "email": format!("x{n}@example.com"), "code": "123456", "password": NEW_PASSWORD }))
            .await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    }
    let body =
        app.graphql(RESET, json!({ "email": "x9@example.com", "code": "123456", "password": NEW_PASSWORD })).await;
    assert_eq!(first_error_code(&body), "RATE_LIMITED", "{body}");
}
