//! The web app and GraphiQL, served from the binary: the app's `index.html` at `/` and on its
//! own routes, hashed assets cached for a year and compressed on request, pages revalidated
//! by ETag, and a Content-Security-Policy on every page.

use reqwest::{StatusCode, header};

use crate::helpers::{TestApp, spawn_app};

/// The `src`/`href` values of `page` that point into `prefix`.
fn references<'a>(page: &'a str, prefix: &str) -> Vec<&'a str> {
    page.split('"').filter(|part| part.starts_with(prefix)).collect()
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(format!("{}{path}", app.address)).send().await.expect("reaches the server")
}

fn header_of(response: &reqwest::Response, name: header::HeaderName) -> &str {
    response.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
}

#[tokio::test]
async fn the_app_is_served_at_the_root_and_on_its_own_routes_with_a_strict_policy() {
    let app = spawn_app().await;
    for path in ["/", "/rooms/some-room", "/sessions"] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(header_of(&response, header::CONTENT_TYPE).starts_with("text/html"), "{path}");
        assert_eq!(header_of(&response, header::CACHE_CONTROL), "no-cache", "{path}: pages are revalidated");
        let policy = header_of(&response, header::CONTENT_SECURITY_POLICY);
        assert!(policy.contains("default-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
        let page = response.text().await.expect("text");
        assert!(page.contains("<div id=\"root\">"), "{path}: the app's page");
        assert!(!page.contains("http://") && !page.contains("https://"), "{path}: nothing from another origin");
    }
}

#[tokio::test]
async fn hashed_assets_are_cached_for_a_year_compressed_on_request_and_pages_revalidate_by_etag() {
    let app = spawn_app().await;
    let index = get(&app, "/").await;
    let etag = header_of(&index, header::ETAG).to_string();
    assert!(!etag.is_empty(), "the page has an ETag");
    let page = index.text().await.expect("text");
    let scripts = references(&page, "/assets/");
    assert!(!scripts.is_empty(), "the page loads its hashed assets: {page}");
    for asset in scripts {
        let response = app
            .client
            .get(format!("{}{asset}", app.address))
            .header(header::ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .expect("reaches the server");
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        assert_eq!(header_of(&response, header::CACHE_CONTROL), "public, max-age=31536000, immutable", "{asset}");
        assert_eq!(header_of(&response, header::CONTENT_ENCODING), "gzip", "{asset} is compressed");
    }
    let again = app
        .client
        .get(format!("{}/", app.address))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .expect("reaches the server");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "an unchanged page is not sent again");
    assert_eq!(get(&app, "/assets/index-00000000.js").await.status(), StatusCode::NOT_FOUND, "no such asset");
}

#[tokio::test]
async fn graphiql_is_built_in_with_its_assets_and_the_same_policy() {
    let app = spawn_app().await;
    let response = get(&app, "/graphiql").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header_of(&response, header::CONTENT_SECURITY_POLICY).contains("default-src 'self'"));
    let page = response.text().await.expect("text");
    assert!(!page.contains("http://") && !page.contains("https://"), "no CDN: {page}");
    let assets = references(&page, "/graphiql/assets/");
    assert!(!assets.is_empty(), "GraphiQL's own assets: {page}");
    for asset in assets {
        assert_eq!(get(&app, asset).await.status(), StatusCode::OK, "{asset}");
    }
}
