//! Accounts: registration rules, signing in, and what a token is worth.

use serde_json::{Value, json};

use crate::helpers::{TEST_JWT_SECRET, TEST_PASSWORD, TestApp, first_error_code, spawn_app, spawn_app_with};

const REGISTER: &str = "mutation($input: RegisterInput!) {
    register(input: $input) {
        token expiresAt
        user { id username displayName email emailVerified role }
        session { id current expiresAt }
    }
}";

const LOGIN: &str = "mutation($email: String!, $password: String!) {
    login(email: $email, password: $password) { token user { username } session { id current } }
}";

const ME: &str = "{ me { id username email } }";

async fn register(app: &TestApp, email: &str, username: &str, password: &str) -> Value {
    app.graphql(REGISTER, json!({ "input": { "email": email, "username": username, "password": password } })).await
}

#[tokio::test]
async fn register_signs_the_user_in_with_a_normalized_address() {
    let app = spawn_app().await;
    let body = register(&app, "  Ann.Smith@Example.COM ", "ann", TEST_PASSWORD).await;
    let payload = &body["data"]["register"];
    assert_eq!(payload["user"]["email"], "ann.smith@example.com", "{body}");
    assert_eq!(payload["user"]["displayName"], "ann", "the display name defaults to the username");
    assert_eq!(payload["user"]["emailVerified"], false);
    assert_eq!(payload["user"]["role"], "USER");
    assert_eq!(payload["session"]["current"], true);
    assert_eq!(payload["expiresAt"], payload["session"]["expiresAt"]);

    let token = payload["token"].as_str().expect("a token");
    let me = app.graphql_with_token(token, ME, json!({})).await;
    assert_eq!(me["data"]["me"]["username"], "ann", "{me}");
    assert_eq!(me["data"]["me"]["email"], "ann.smith@example.com", "the owner sees the address");
}

#[tokio::test]
async fn registration_refuses_bad_input_with_a_reason() {
    let app = spawn_app().await;
    register(&app, "taken@example.com", "taken", TEST_PASSWORD).await;
    let cases = [
        ("not-an-address", "valid_name", TEST_PASSWORD, "the address has no @"),
        ("ok@example.com", "ab", TEST_PASSWORD, "a username under 3 characters"),
        ("ok@example.com", &"a".repeat(33), TEST_PASSWORD, "a username over 32 characters"),
        ("ok@example.com", "Capitals", TEST_PASSWORD, "upper case in the username"),
        ("ok@example.com", "has-dash", TEST_PASSWORD, "a dash in the username"),
        ("ok@example.com", "valid_name", "short", "a password under 8 characters"),
        ("ok@example.com", "valid_name", &"long password ".repeat(10), "a password over 128 characters"),
        ("ok@example.com", "valid_name", "password123", "a common password"),
        ("TAKEN@example.com", "valid_name", TEST_PASSWORD, "an address already registered, in other case"),
        ("ok@example.com", "taken", TEST_PASSWORD, "a username already taken"),
    ];
    for (email, username, password, reason) in cases {
        let body = register(&app, email, username, password).await;
        assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{reason}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.len() > 20, "{reason}: a sentence, not a code: {message}");
    }
}

#[tokio::test]
async fn random_passwords_such_as_a_password_manager_makes_are_accepted() {
    let app = spawn_app().await;
    // Letters, digits and symbols, 8 characters: what the strength estimate used to refuse.
    for (n, password) in ["k#9Qv!2z", "T7&mpx@W", "b4$R=qL0", "Zq8^w;3e", "p)N5c~Hy"].into_iter().enumerate() {
        let body = register(&app, &format!("pm{n}@example.com"), &format!("pm_user{n}"), password).await;
        assert!(body["data"]["register"]["token"].is_string(), "{password}: {body}");
    }
}

#[tokio::test]
async fn a_password_built_from_the_username_is_refused_and_the_message_says_so() {
    let app = spawn_app().await;
    let body = register(&app, "ann@example.com", "annsmith", "annsmith2024").await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("built from your username"), "{message}");
}

#[tokio::test]
async fn a_common_password_is_refused_with_a_message_that_says_why() {
    let app = spawn_app().await;
    let body = register(&app, "ann@example.com", "ann", "qwerty123").await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("most common passwords"), "{message}");
}

#[tokio::test]
async fn login_opens_a_new_session_and_wrong_credentials_get_one_answer() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let body = app.graphql(LOGIN, json!({ "email": "ANN@example.com ", "password": ann.password })).await;
    assert_eq!(body["data"]["login"]["user"]["username"], "ann", "{body}");
    assert_ne!(body["data"]["login"]["token"], json!(ann.token), "a new session, a new token");

    let wrong_password = app.graphql(LOGIN, json!({ "email": ann.email, "password": "not the password at all" })).await;
    let unknown_address = app.graphql(LOGIN, json!({ "email": "nobody@example.com", "password": ann.password })).await;
    assert_eq!(first_error_code(&wrong_password), "UNAUTHENTICATED");
    assert_eq!(first_error_code(&unknown_address), "UNAUTHENTICATED");
    assert_eq!(
        wrong_password["errors"][0]["message"], unknown_address["errors"][0]["message"],
        "the answer does not tell whether the address exists"
    );
}

#[tokio::test]
async fn one_request_cannot_try_two_passwords() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let body = app
        .graphql(
            "mutation($email: String!) {
                a: login(email: $email, password: \"guess one is wrong\") { token }
                b: login(email: $email, password: \"guess two is wrong\") { token }
            }",
            json!({ "email": ann.email }),
        )
        .await;
    let errors = body["errors"].as_array().expect("errors");
    let refused = errors.iter().filter(|error| error["extensions"]["code"] == "BAD_USER_INPUT").count();
    assert_eq!(refused, 1, "the second alias is refused without a check: {body}");
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_address() {
    let app = spawn_app_with(|settings| settings.rate_limits.login_per_address = 2).await;
    let ann = app.signed_up("ann").await;
    for attempt in 0..2 {
        let body = app.graphql(LOGIN, json!({ "email": ann.email, "password": "wrong password here" })).await;
        assert_eq!(first_error_code(&body), "UNAUTHENTICATED", "attempt {attempt}");
    }
    let body = app.graphql(LOGIN, json!({ "email": ann.email, "password": ann.password })).await;
    assert_eq!(first_error_code(&body), "RATE_LIMITED", "{body}");
    let retry = body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().expect("retryAfterSeconds");
    assert!((1..=60).contains(&retry), "{retry}");
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_ip_across_addresses() {
    let app = spawn_app_with(|settings| settings.rate_limits.login_per_ip = 3).await;
    for n in 0..3 {
        let body =
            app.graphql(LOGIN, json!({ "email": format!("x{n}@example.com"), "password": "whatever it is" })).await;
        assert_eq!(first_error_code(&body), "UNAUTHENTICATED");
    }
    let body = app.graphql(LOGIN, json!({ "email": "x9@example.com", "password": "whatever it is" })).await;
    assert_eq!(first_error_code(&body), "RATE_LIMITED", "{body}");
}

#[tokio::test]
async fn registrations_are_rate_limited_per_ip() {
    let app = spawn_app_with(|settings| settings.rate_limits.register_per_ip = 1).await;
    app.signed_up("ann").await;
    let body = register(&app, "bob@example.com", "bob", TEST_PASSWORD).await;
    assert_eq!(first_error_code(&body), "RATE_LIMITED", "{body}");
}

#[tokio::test]
async fn rate_limits_off_lets_every_attempt_through() {
    let app = spawn_app_with(|settings| {
        settings.rate_limits.enabled = false;
        settings.rate_limits.login_per_address = 1;
    })
    .await;
    let ann = app.signed_up("ann").await;
    for _ in 0..3 {
        let body = app.graphql(LOGIN, json!({ "email": ann.email, "password": "wrong password here" })).await;
        assert_eq!(first_error_code(&body), "UNAUTHENTICATED");
    }
}

/// Signs `claims` with `secret` and `algorithm`.
fn forge(claims: Value, secret: &str, algorithm: jsonwebtoken::Algorithm) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(algorithm),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encodes")
}

#[tokio::test]
async fn only_tokens_naming_a_live_session_with_valid_claims_identify_a_viewer() {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let sessions = app.graphql_as(&ann, "{ mySessions { id } }", json!({})).await;
    let sid = sessions["data"]["mySessions"][0]["id"].as_str().expect("a session").to_string();
    let now = chrono::Utc::now().timestamp();
    let claims = |iss: &str, aud: &str, exp: i64| json!({ "sub": ann.id, "sid": sid, "iat": now, "exp": exp, "iss": iss, "aud": aud });
    let hs256 = jsonwebtoken::Algorithm::HS256;
    let good = forge(claims("townsquare", "townsquare", now + 3600), TEST_JWT_SECRET, hs256);
    assert_eq!(app.graphql_with_token(&good, ME, json!({})).await["data"]["me"]["username"], "ann", "control");

    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims("townsquare", "townsquare", now + 3600).to_string())
    );
    let logged_out = app.signed_up("bob").await;
    app.graphql_as(&logged_out, "mutation { logout }", json!({})).await;
    let cases = [
        (unsigned, "alg none"),
        (forge(claims("townsquare", "townsquare", now + 3600), &"w".repeat(40), hs256), "a wrong key"),
        (forge(claims("townsquare", "another-app", now + 3600), TEST_JWT_SECRET, hs256), "a wrong audience"),
        (forge(claims("someone-else", "townsquare", now + 3600), TEST_JWT_SECRET, hs256), "a wrong issuer"),
        (forge(claims("townsquare", "townsquare", now - 3600), TEST_JWT_SECRET, hs256), "an expired exp"),
        (
            forge(claims("townsquare", "townsquare", now + 3600), TEST_JWT_SECRET, jsonwebtoken::Algorithm::HS512),
            "another algorithm",
        ),
        (logged_out.token.clone(), "a revoked session"),
        ("not.a.jwt".to_string(), "garbage"),
    ];
    for (token, reason) in cases {
        let me = app.graphql_with_token(&token, ME, json!({})).await;
        assert_eq!(me["data"]["me"], Value::Null, "{reason}: me is null: {me}");
        let needs_viewer = app.graphql_with_token(&token, "{ mySessions { id } }", json!({})).await;
        assert_eq!(first_error_code(&needs_viewer), "UNAUTHENTICATED", "{reason}: {needs_viewer}");
        let mutation = app.graphql_with_token(&token, "mutation { logout }", json!({})).await;
        assert_eq!(first_error_code(&mutation), "UNAUTHENTICATED", "{reason}: {mutation}");
    }
}
