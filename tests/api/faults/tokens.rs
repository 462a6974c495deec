//! Bad tokens, all refused the same way: `alg: none`, another algorithm, a wrong key, a
//! changed claim, expired, not yet valid, another issuer or audience, a session that is
//! revoked, unknown or someone else's, and garbage. Over HTTP each gets exactly the answer
//! of a request without a token (`me` is null; what needs a viewer is UNAUTHENTICATED with
//! the same sentence); over graphql-ws each connection_init is closed with 4403 Forbidden.
//! Nothing in either answer tells one kind of bad token from another.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proptest::{prelude::*, test_runner::Config};
use reqwest::{StatusCode, header::AUTHORIZATION};
use serde_json::{Value, json};
use townsquare::auth::tokens::{TokenKeys, TokenSubject};
use uuid::Uuid;

use super::strategies::{mutated, short};
use crate::{
    helpers::{TEST_JWT_SECRET, TestApp, TestUser, spawn_app},
    ws_client::WAIT,
};

/// What every bad token is asked: a query anyone may run and a mutation that needs a viewer.
const ME: &str = "{ me { id } }";
const CREATE_POST: &str = r#"mutation { createPost(body: "hello") { id } }"#;

/// Claims as the server writes them, for `user` and `session`, valid for an hour.
fn claims(user: Uuid, session: Uuid) -> Value {
    let now = Utc::now().timestamp();
    json!({ "sub": user, "sid": session, "iat": now, "exp": now + 3600, "iss": "townsquare", "aud": "townsquare" })
}

/// A token of `claims` with `header`, signed with `key`.
fn sign(header: &Header, claims: &Value, key: &str) -> String {
    jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(key.as_bytes())).expect("the claims serialize")
}

/// A token signed as the server signs them.
fn forge(claims: &Value) -> String {
    sign(&Header::new(Algorithm::HS256), claims, TEST_JWT_SECRET)
}

/// The login session a token names, read from its payload.
fn session_of(token: &str) -> Uuid {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON");
    claims["sid"].as_str().and_then(|sid| sid.parse().ok()).expect("a session id")
}

/// `claims` with `changes` written over them (a `null` removes the claim).
fn with(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().expect("changes are an object") {
        match value {
            Value::Null => claims.as_object_mut().expect("claims are an object").remove(name),
            value => claims.as_object_mut().expect("claims are an object").insert(name.clone(), value.clone()),
        };
    }
    claims
}

/// An unsigned token: `alg: none` and an empty signature.
fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT" }).to_string());
    format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
}

/// `token` with its payload swapped for `claims`, its signature kept.
fn with_payload(token: &str, claims: &Value) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    parts.join(".")
}

/// The status and body of `query` with `Authorization: Bearer <token>`, or with none.
async fn answer(app: &TestApp, token: Option<&str>, query: &str) -> (StatusCode, Value) {
    let mut request = app.client.post(format!("{}/graphql", app.address)).json(&json!({ "query": query }));
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = request.send().await.expect("the request reaches the server");
    (response.status(), response.json().await.expect("the answer is JSON"))
}

/// Asserts `token` is refused exactly as no token is, over HTTP and over graphql-ws.
async fn assert_refused_like_no_token(app: &TestApp, token: &str, reason: &str) {
    for query in [ME, CREATE_POST] {
        let anonymous = answer(app, None, query).await;
        assert_eq!(answer(app, Some(token), query).await, anonymous, "{reason}: {query}");
    }
    let mut socket = app.ws().await;
    let answer = socket.init(json!({ "authorization": format!("Bearer {token}") })).await;
    assert_eq!(answer, None, "{reason}: acknowledged");
    assert_eq!(socket.expect_close(WAIT).await, (4403, "Forbidden".to_string()), "{reason}");
}

/// The table: each bad token with the reason it must fail.
fn bad_tokens(ann: &TestUser, bob: &TestUser, revoked: &TestUser) -> Vec<(String, &'static str)> {
    let session = session_of(&ann.token);
    let good = claims(ann.id, session);
    let now = Utc::now().timestamp();
    let mut flipped = ann.token.clone();
    let last = flipped.pop().expect("a token is not empty");
    flipped.push(if last == 'A' { 'B' } else { 'A' });
    vec![
        (unsigned(&good), "alg none, no signature"),
        (
            format!("{}{}", unsigned(&good), ann.token.rsplit('.').next().unwrap_or_default()),
            "alg none with a signature",
        ),
        (sign(&Header::new(Algorithm::HS512), &good, TEST_JWT_SECRET), "HS512 with the right key"),
        (sign(&Header::new(Algorithm::HS384), &good, TEST_JWT_SECRET), "HS384 with the right key"),
        (sign(&Header::new(Algorithm::HS256), &good, "another-secret-of-at-least-thirty-two-bytes"), "a wrong key"),
        (with_payload(&ann.token, &with(good.clone(), json!({ "sub": bob.id }))), "a claim changed: another user"),
        (
            with_payload(&ann.token, &with(good.clone(), json!({ "exp": now + 86_400 * 365 }))),
            "a claim changed: a later expiry",
        ),
        (forge(&with(good.clone(), json!({ "iat": now - 7200, "exp": now - 3600 }))), "expired an hour ago"),
        (forge(&with(good.clone(), json!({ "nbf": now + 3600 }))), "not valid for another hour (nbf)"),
        (forge(&with(good.clone(), json!({ "iat": now + 3600 }))), "issued an hour from now"),
        (forge(&with(good.clone(), json!({ "iss": "someone-else" }))), "another issuer"),
        (forge(&with(good.clone(), json!({ "aud": "someone-else" }))), "another audience"),
        (forge(&with(good.clone(), json!({ "aud": null }))), "no audience"),
        (forge(&with(good.clone(), json!({ "exp": null }))), "no expiry"),
        (forge(&with(good.clone(), json!({ "sid": null }))), "no session"),
        (forge(&with(good.clone(), json!({ "sid": Uuid::now_v7() }))), "a session that does not exist"),
        (forge(&with(good.clone(), json!({ "sub": bob.id }))), "ann's session claimed for bob"),
        (revoked.token.clone(), "a revoked (logged out) session"),
        (ann.token[..ann.token.len() - 1].to_string(), "a token cut short"),
        (flipped, "a token with its last character changed"),
        (format!("{}.", ann.token), "a token with a fourth part"),
        ("not-a-token".into(), "not a JWT"),
        ("a.b.c".into(), "three parts of nothing"),
        ("..".into(), "three empty parts"),
    ]
}

#[tokio::test]
async fn every_bad_token_is_refused_exactly_as_no_token_is() {
    let app = spawn_app().await;
    let ann = app.signed_up("ann").await;
    let bob = app.signed_up("bob").await;
    let revoked = app.logged_in_again(&ann).await;
    let logout = app.graphql_as(&revoked, "mutation { logout }", json!({})).await;
    assert_eq!(logout["data"]["logout"], true, "{logout}");

    // A token forged here with the right key and claims works: each refusal below is the
    // one thing its row changes.
    let genuine = forge(&claims(ann.id, session_of(&ann.token)));
    let (status, body) = answer(&app, Some(&genuine), ME).await;
    assert_eq!((status, &body["data"]["me"]["id"]), (StatusCode::OK, &json!(ann.id)), "{body}");

    let (_, anonymous) = answer(&app, None, CREATE_POST).await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{anonymous}");
    for (token, reason) in bad_tokens(&ann, &bob, &revoked) {
        assert_refused_like_no_token(&app, &token, reason).await;
    }
    // The refusals changed nothing: ann's own token still works.
    let (_, body) = answer(&app, Some(&ann.token), ME).await;
    assert_eq!(body["data"]["me"]["id"], json!(ann.id), "{body}");
}

/// Fewer cases than the direct properties: each goes through the server over both transports.
#[test]
fn mutated_tokens_sent_to_the_server_are_refused_exactly_as_no_token_is() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let (app, ann) = runtime.block_on(async {
        let app = spawn_app().await;
        let ann = app.signed_up("ann").await;
        (app, ann)
    });
    let printable = mutated(ann.token.clone())
        .prop_filter("an HTTP header carries visible ASCII", |token| token.bytes().all(|b| b.is_ascii_graphic()));
    let mut runner =
        proptest::test_runner::TestRunner::new(Config { cases: 16, failure_persistence: None, ..Config::default() });
    runner
        .run(&printable, |token| {
            if token != ann.token {
                runtime.block_on(assert_refused_like_no_token(&app, &token, &short(&token)));
            }
            Ok(())
        })
        .expect("every mutated token is refused");
}

fn keys() -> TokenKeys {
    TokenKeys::new(Some(TEST_JWT_SECRET))
}

/// One claim's value in a generated token (`None`: left out), and whether the server may
/// accept it.
type Claim = (Option<Value>, bool);

/// For each claim: the value the server writes, and wrong ones.
fn claim_choices() -> Vec<(&'static str, Vec<Claim>)> {
    let now = Utc::now().timestamp();
    let right = |value: Value| (Some(value), true);
    let wrong = |value: Value| (Some(value), false);
    let absent = (None, false);
    vec![
        ("sub", vec![right(json!(Uuid::nil())), wrong(json!("not-a-uuid")), wrong(json!(5)), absent.clone()]),
        ("sid", vec![right(json!(Uuid::max())), wrong(json!("")), wrong(Value::Null), absent.clone()]),
        (
            "iat",
            vec![right(json!(0)), right(json!(now)), wrong(json!(now + 3600)), wrong(json!("now")), absent.clone()],
        ),
        (
            "exp",
            vec![
                right(json!(now + 3600)),
                wrong(json!(now - 3600)),
                wrong(json!(-1)),
                wrong(json!(u64::MAX)),
                wrong(json!(1e300)),
                wrong(json!("later")),
                absent.clone(),
            ],
        ),
        ("nbf", vec![(None, true), right(json!(now - 60)), wrong(json!(now + 3600)), wrong(json!("x"))]),
        ("iss", vec![right(json!("townsquare")), wrong(json!("other")), wrong(json!(["townsquare"])), absent.clone()]),
        ("aud", vec![right(json!("townsquare")), wrong(json!(["other", "townsquare"])), wrong(json!("other")), absent]),
    ]
}

/// A value (or none) for every claim.
fn claim_set() -> impl Strategy<Value = Vec<(&'static str, Claim)>> {
    claim_choices()
        .into_iter()
        .map(|(name, choices)| prop::sample::select(choices).prop_map(move |claim| (name, claim)))
        .collect::<Vec<_>>()
}

/// HMAC algorithms with the right key; only the server's own passes.
fn algorithm() -> impl Strategy<Value = (Algorithm, bool)> {
    prop::sample::select(vec![(Algorithm::HS256, true), (Algorithm::HS384, false), (Algorithm::HS512, false)])
}

/// A valid token and mutations of it.
fn mutated_token() -> impl Strategy<Value = (String, String)> {
    let original =
        keys().issue(Uuid::now_v7(), Uuid::now_v7(), Utc::now() + chrono::Duration::hours(1)).expect("a token");
    Just(original.clone()).prop_flat_map(|original| (Just(original.clone()), mutated(original)))
}

/// Text shaped like a JWT: three base64url parts.
const JWT_SHAPE: &str = "[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,43}";

proptest! {
    #![proptest_config(Config { cases: 512, failure_persistence: None, ..Config::default() })]

    #[test]
    fn any_text_as_a_token_is_refused(token in prop_oneof![any::<String>(), JWT_SHAPE]) {
        prop_assert_eq!(keys().verify(&token), None);
    }

    #[test]
    fn a_valid_token_with_any_character_changed_is_refused((original, token) in mutated_token()) {
        // Some edits give the text back (a character replaced by itself); every other is refused.
        prop_assert!(token == original || keys().verify(&token).is_none(), "{}", short(&token));
    }

    #[test]
    fn a_token_is_accepted_only_when_every_claim_and_the_algorithm_are_right(
        (algorithm, right_algorithm) in algorithm(),
        claim_set in claim_set(),
    ) {
        let mut claims = serde_json::Map::new();
        for (name, (value, _)) in &claim_set {
            if let Some(value) = value {
                claims.insert((*name).into(), value.clone());
            }
        }
        let valid = right_algorithm && claim_set.iter().all(|(_, (_, right))| *right);
        let token = sign(&Header::new(algorithm), &Value::Object(claims.clone()), TEST_JWT_SECRET);
        let expected = valid.then_some(TokenSubject { user_id: Uuid::nil(), session_id: Uuid::max() });
        prop_assert_eq!(keys().verify(&token), expected, "{}", Value::Object(claims));
    }
}
