//! Admission: what the checks every request passes before it runs cost (persisted-query
//! lookup, length, parse, limits, operation, variables; `src/graphql/admission.rs`).
//!
//! Run with `cargo bench --bench admission` (`BENCH_ITERATIONS`, default 20,000 per case).
//! In-process, no server. The baseline in the same run is parsing the same document alone,
//! which every request paid before admission existed (the document check parsed it too).
//! Admission keeps the documents it parsed (`src/graphql/parsed.rs`), so it is measured twice:
//! for a document it has seen (what an app's every request after the first costs) and for a
//! new text each call (a comment appended, so every call misses the cache and parses). The
//! last column is what a kept document costs each request instead of a parse: async-graphql
//! takes it by value, so it is cloned, as a live subscription clones its operation's for each
//! rendering. For scale: a whole `posts(first: 20)` request takes ~1.2 ms
//! (`cargo bench --bench auth`).

use std::time::Instant;

use serde_json::{Map, Value, json};
use townsquare::{
    config::Settings,
    graphql::{admission::Admission, document::RequestParams, persisted::hex_sha256},
};

/// The feed page a client asks for: nested lists, fragments and variables.
const FEED: &str = "query Feed($first: Int, $after: String) {
  posts(first: $first, after: $after) {
    edges { cursor node { ...PostCard } }
    pageInfo { hasNextPage endCursor }
  }
}
fragment PostCard on Post {
  id body createdAt likeCount likedByViewer commentCount
  author { id username displayName }
  likers(first: 5) { id username }
  comments(first: 3) { id body author { id username } }
}";

/// graphql-js's introspection query with every option on.
const INTROSPECTION: &str = include_str!("../tests/api/fixtures/introspection_every_option.graphql");

fn params(query: &str, variables: Value, extensions: Option<Value>) -> RequestParams {
    RequestParams {
        query: query.into(),
        variables: variables.as_object().cloned(),
        extensions: extensions.and_then(|extensions| extensions.as_object().cloned()),
        ..Default::default()
    }
}

/// Nanoseconds per call of `run` over `iterations` calls.
fn measure(iterations: u32, mut run: impl FnMut()) -> f64 {
    for _ in 0..iterations / 10 {
        run();
    }
    let started = Instant::now();
    for _ in 0..iterations {
        run();
    }
    started.elapsed().as_nanos() as f64 / f64::from(iterations)
}

fn main() -> anyhow::Result<()> {
    let iterations: u32 = std::env::var("BENCH_ITERATIONS").ok().and_then(|value| value.parse().ok()).unwrap_or(20_000);
    let settings = Settings::from_lookup(|_| None)?;
    let admission = Admission::new(&settings);
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hex_sha256(FEED) } });
    admission
        .admit(params(FEED, json!({}), Some(persisted.clone())))
        .map_err(|error| anyhow::anyhow!(error.message))?;

    let feed_variables = json!({ "first": 20, "after": "cG9zdDox" });
    let cases: [(&str, &str, RequestParams); 3] = [
        ("feed page, sent as text", FEED, params(FEED, feed_variables.clone(), None)),
        ("feed page, by persisted hash", FEED, params("", feed_variables, Some(persisted))),
        ("introspection, every option", INTROSPECTION, params(INTROSPECTION, Value::Object(Map::new()), None)),
    ];
    println!("admission, {iterations} calls a case (ns per call; baseline: parsing the same document alone)");
    println!(
        "{:<32} {:>12} {:>12} {:>8} {:>12} {:>8} {:>16}",
        "case", "parse only", "seen before", "ratio", "new text", "ratio", "clone of the AST"
    );
    for (name, document, request) in cases {
        let parse = measure(iterations, || {
            std::hint::black_box(async_graphql::parser::parse_query(document).is_ok());
        });
        let admit = measure(iterations, || {
            std::hint::black_box(admission.admit(request.clone()).is_ok());
        });
        let mut count = 0_u64;
        let admit_new = measure(iterations, || {
            count += 1;
            let mut request = request.clone();
            if !request.query.is_empty() {
                request.query = format!("{}\n# {count}", request.query);
            }
            std::hint::black_box(admission.admit(request).is_ok());
        });
        // What async-graphql gets instead of parsing the text again: each request is handed
        // the admitted document, and each live rendering a clone of its operation's.
        let parsed = async_graphql::parser::parse_query(document)?;
        let clone = measure(iterations, || {
            std::hint::black_box(parsed.clone());
        });
        println!(
            "{name:<32} {parse:>12.0} {admit:>12.0} {:>7.2}x {admit_new:>12.0} {:>7.2}x {clone:>16.0}",
            admit / parse,
            admit_new / parse
        );
    }
    Ok(())
}
