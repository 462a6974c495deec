//! What one HTTP client may hold and send: the time it has to send its headers (slowloris),
//! how long an idle kept-alive connection stays, the size of its headers, how many requests
//! one address may make a minute, and how deep a request's variables may nest.

use std::time::Duration;

use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use crate::helpers::{TestApp, first_error_code, spawn_app, spawn_app_with};

/// A hang guard: a bounded connection ends well within this.
const WITHIN: Duration = Duration::from_secs(10);

/// A plain TCP connection to the app, for clients no HTTP library would imitate.
async fn connect(app: &TestApp) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    TcpStream::connect(address).await.expect("the app accepts a connection")
}

/// Reads until the server closes the connection, returning what it sent; `None` if it kept
/// the connection open for `WITHIN`.
async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut received = Vec::new();
    let closed = tokio::time::timeout(WITHIN, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    closed.ok().map(|()| String::from_utf8_lossy(&received).into_owned())
}

/// A request for `/healthz` with the given extra header lines.
fn health_request(extra_headers: &str) -> String {
    format!("GET /healthz HTTP/1.1\r\nHost: localhost\r\n{extra_headers}\r\n")
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = spawn_app_with(|settings| settings.header_read_timeout = Duration::from_millis(500)).await;
    let mut slow = connect(&app).await;
    // Slowloris: a request line and one header, then a byte now and then, never the end.
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n").await.expect("the request starts");
    let trickle = async {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if slow.write_all(b"X-Slow: a\r\n").await.is_err() {
                return true;
            }
        }
        false
    };
    assert!(
        tokio::time::timeout(WITHIN, trickle).await.unwrap_or(false),
        "the server closed the connection while the headers still trickled in"
    );

    // Everyone else is served as before.
    let health = app.client.get(format!("{}/healthz", app.address)).send().await.expect("a request");
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_and_a_busy_one_is_not() {
    let app = spawn_app_with(|settings| settings.header_read_timeout = Duration::from_millis(800)).await;
    let mut busy = connect(&app).await;
    // Requests keep coming on this one, each within the timeout of the previous answer:
    // the timeout counts from the end of each response, not from the connection's opening.
    for _ in 0..4 {
        busy.write_all(health_request("").as_bytes()).await.expect("a request");
        let mut buffer = [0u8; 1024];
        let n = busy.read(&mut buffer).await.expect("an answer");
        assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"), "each request is served");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    // Then it goes quiet, and is closed.
    assert!(read_until_closed(&mut busy).await.is_some(), "the idle connection was closed");
}

#[tokio::test]
async fn oversized_headers_get_431_and_normal_ones_pass() {
    let app = spawn_app_with(|settings| settings.max_header_bytes = 8192).await;
    let mut huge = connect(&app).await;
    let cookie = format!("Cookie: {}\r\n", "a".repeat(10_000));
    huge.write_all(health_request(&cookie).as_bytes()).await.expect("the request is sent");
    let answer = read_until_closed(&mut huge).await.expect("the server answers and closes");
    assert!(answer.starts_with("HTTP/1.1 431"), "431 Request Header Fields Too Large, got {answer:?}");

    // A browser's usual headers, a bearer token among them, are far below the bound.
    let normal = app
        .client
        .get(format!("{}/healthz", app.address))
        .header(header::AUTHORIZATION, format!("Bearer {}", "t".repeat(1000)))
        .header(header::USER_AGENT, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0")
        .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9,fr;q=0.8")
        .send()
        .await
        .expect("a request");
    assert_eq!(normal.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_address_past_its_requests_a_minute_gets_429_and_others_do_not() {
    let app = spawn_app_with(|settings| {
        settings.rate_limits.requests_per_ip = 5;
        // Requests from 127.0.0.1 name their client in X-Forwarded-For, as behind nginx.
        settings.trusted_proxies = vec!["127.0.0.1".parse().expect("an address")];
    })
    .await;
    let query = |client: &'static str| {
        app.client
            .post(format!("{}/graphql", app.address))
            .header("x-forwarded-for", client)
            .json(&json!({ "query": "{ __typename }" }))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(query("203.0.113.1").await.expect("a request").status(), StatusCode::OK);
    }
    let refused = query("203.0.113.1").await.expect("a request");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .expect("a Retry-After header in seconds");
    assert!((1..=60).contains(&retry_after), "one request refills in 12 s, got {retry_after}");
    let body: Value = refused.json().await.expect("a JSON body");
    assert_eq!(first_error_code(&body), "RATE_LIMITED");
    assert_eq!(body["errors"][0]["extensions"]["retryAfterSeconds"], json!(retry_after));

    // Another client behind the same balancer, and the other endpoints, are not held back.
    assert_eq!(query("203.0.113.2").await.expect("a request").status(), StatusCode::OK);
    let health = app.client.get(format!("{}/healthz", app.address)).send().await.expect("a request");
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn variables_nested_past_the_bound_get_a_clear_400() {
    let app = spawn_app().await;
    let nested = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let body = |depth: usize| {
        format!(r#"{{"query":"query($v: [Int]) {{ __typename }}","variables":{{"v":{}}}}}"#, nested(depth))
    };
    let post = |body: String| {
        app.client
            .post(format!("{}/graphql", app.address))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/graphql-response+json")
            .body(body)
            .send()
    };

    let too_deep = post(body(1000)).await.expect("a request");
    assert_eq!(too_deep.status(), StatusCode::BAD_REQUEST);
    let answer: Value = too_deep.json().await.expect("a JSON body");
    assert_eq!(first_error_code(&answer), "BAD_REQUEST");
    assert_eq!(answer["errors"][0]["message"], "The request nests arrays and objects more than 128 levels deep.");

    // Within the bound, the value is checked against its type like any other.
    let wrong_type = post(body(3)).await.expect("a request");
    let answer: Value = wrong_type.json().await.expect("a JSON body");
    assert_eq!(first_error_code(&answer), "BAD_USER_INPUT", "a [[[Int]]] is not an [Int]: {answer}");

    // The same nesting in a GET's `variables` parameter.
    let deep = json!(format!("{}1{}", "[".repeat(1000), "]".repeat(1000)));
    let get = app
        .client
        .get(format!("{}/graphql", app.address))
        .header(header::ACCEPT, "application/graphql-response+json")
        .query(&[("query", "query($v: [Int]) { __typename }"), ("variables", deep.as_str().expect("a string"))])
        .send()
        .await
        .expect("a request");
    assert_eq!(get.status(), StatusCode::BAD_REQUEST);
    let answer: Value = get.json().await.expect("a JSON body");
    assert_eq!(answer["errors"][0]["message"], "The request nests arrays and objects more than 128 levels deep.");
}
