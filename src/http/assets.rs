//! The web app at `/` and GraphiQL at `/graphiql`: the files Vite built into
//! `frontend/app/dist` and `frontend/graphiql/dist`, compiled into the binary so a release
//! build serves them with no Node and no network.
//!
//! Files under `assets/` have content hashes in their names and are cached for a year;
//! `index.html` is revalidated every time (its ETag is the file's SHA-256), so a new build is
//! seen at once. Every page carries a Content-Security-Policy allowing nothing but this
//! origin (and its WebSocket). Any other path that is not an API route gets the app's
//! `index.html`, whose router shows the screen or its own "not found". Debug builds read the
//! files from disk, so a rebuilt frontend shows without recompiling the server.

use axum::{
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use rust_embed::{EmbeddedFile, RustEmbed};

/// The web app's build.
#[derive(RustEmbed)]
#[folder = "frontend/app/dist/"]
#[allow_missing = true]
struct App;

/// GraphiQL's build.
#[derive(RustEmbed)]
#[folder = "frontend/graphiql/dist/"]
#[allow_missing = true]
struct Graphiql;

/// What the pages may load: this origin only, its socket, inline styles (React and Monaco
/// set style attributes), images and fonts from data URLs, and GraphiQL's Monaco workers
/// (same-origin files).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; \
     style-src 'self' 'unsafe-inline'; font-src 'self' data:; worker-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// A year: hashed names never change content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Pages: always revalidated (cheaply, by ETag).
const REVALIDATE: &str = "no-cache";

/// `GET /` and every path no other route takes: a file of the app's build, or its
/// `index.html` for the app's own routes (`/rooms/…`, `/sessions`).
pub async fn app(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    if !path.is_empty()
        && let Some(file) = App::get(path)
    {
        return file_response(&file, path, &headers);
    }
    if path == "graphiql" || path.starts_with("graphiql/") {
        // Routed here only when GraphiQL is switched off.
        return (StatusCode::NOT_FOUND, "GraphiQL is off on this server (GRAPHIQL=on turns it on).").into_response();
    }
    if path.starts_with("assets/") {
        // A hashed file of another build: a stale page asks for it; say so plainly.
        return (StatusCode::NOT_FOUND, "No such file in this build.").into_response();
    }
    match App::get("index.html") {
        Some(index) => file_response(&index, "index.html", &headers),
        None => not_built("frontend/app"),
    }
}

/// `GET /graphiql`.
pub async fn graphiql_page(headers: HeaderMap) -> Response {
    match Graphiql::get("index.html") {
        Some(index) => file_response(&index, "index.html", &headers),
        None => not_built("frontend/graphiql"),
    }
}

/// `GET /graphiql/{*path}`: GraphiQL's assets and workers.
pub async fn graphiql_file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match Graphiql::get(&path) {
        Some(file) => file_response(&file, &path, &headers),
        None => (StatusCode::NOT_FOUND, "No such file in this build.").into_response(),
    }
}

/// The file with its type, cache lifetime, ETag and the security headers; 304 when the
/// client's copy is current.
fn file_response(file: &EmbeddedFile, path: &str, request: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()));
    let cache = if path.starts_with("assets/") { IMMUTABLE } else { REVALIDATE };
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let mut response =
        if fresh { StatusCode::NOT_MODIFIED.into_response() } else { file.data.clone().into_owned().into_response() };
    let headers = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(file.metadata.mimetype()) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The answer of a binary built before its frontend was.
fn not_built(directory: &str) -> Response {
    let message = format!(
        "This server was built without its web pages. Build them with `npm ci && npm run build` in {directory}, \
         then rebuild the server (the README says how)."
    );
    (StatusCode::NOT_FOUND, message).into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
