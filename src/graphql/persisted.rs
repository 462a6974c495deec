//! Automatic persisted queries, as Apollo Client's `createPersistedQueryLink` and urql's
//! `persistedExchange` send them: `extensions.persistedQuery = { version: 1, sha256Hash }`.
//!
//! A client first sends only the hash. An unknown hash answers `PERSISTED_QUERY_NOT_FOUND`
//! (message `PersistedQueryNotFound`, the words both clients look for), and the client sends
//! the document with its hash; the server checks that the hash is the document's SHA-256,
//! keeps it, and from then on the hash alone runs it. Over GET that makes every query a short,
//! stable URL that a CDN can cache.
//!
//! The store is per instance and bounded by the bytes of the documents it holds
//! (`PERSISTED_QUERIES_MAX_BYTES`); past the bound the least recently used go first. A client
//! whose hash was evicted, or that reached another instance, just sends the document again.

use std::sync::Arc;

use async_graphql::ServerError;
use moka::{policy::EvictionPolicy, sync::Cache};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::errors::{BAD_REQUEST, PERSISTED_QUERY_NOT_FOUND, refusal};

/// The extension's name in a request's `extensions`.
const EXTENSION: &str = "persistedQuery";
/// Counts persisted-query requests by outcome: `hit`, `miss`, `registered`.
const METRIC: &str = "graphql_persisted_queries_total";

/// Documents by the SHA-256 of their text, least recently used evicted first.
#[derive(Clone)]
pub struct PersistedQueries {
    /// Hex SHA-256 → document. moka's cache: concurrent reads without a global lock, and a
    /// size bound by weight (the document's bytes) with LRU eviction.
    documents: Cache<String, Arc<str>>,
}

/// What a request's persisted-query extension asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// No `persistedQuery` extension: an ordinary request.
    None,
    /// The document, found by its hash or sent with a hash that matches it; keep it with
    /// [`PersistedQueries::keep`] once it passes the document checks.
    Found {
        /// The document to run.
        query: Arc<str>,
        /// Whether the request carried the document (so it is not stored yet).
        sent: bool,
        /// The document's hash.
        hash: String,
    },
}

impl PersistedQueries {
    /// A store holding at most `max_bytes` of documents.
    pub fn new(max_bytes: u64) -> Self {
        let documents = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|hash: &String, query: &Arc<str>| u32::try_from(hash.len() + query.len()).unwrap_or(u32::MAX))
            .eviction_policy(EvictionPolicy::lru())
            .build();
        Self { documents }
    }

    /// Resolves the document of a request: `query` as sent (empty when absent) and its
    /// `extensions`.
    pub fn lookup(
        &self,
        query: &str,
        extensions: Option<&serde_json::Map<String, Value>>,
    ) -> Result<Lookup, ServerError> {
        let Some(extension) = extensions.and_then(|extensions| extensions.get(EXTENSION)) else {
            return Ok(Lookup::None);
        };
        let hash = parse_extension(extension)?;
        if query.is_empty() {
            return match self.documents.get(&hash) {
                Some(query) => {
                    metrics::counter!(METRIC, "outcome" => "hit").increment(1);
                    Ok(Lookup::Found { query, sent: false, hash })
                }
                None => {
                    metrics::counter!(METRIC, "outcome" => "miss").increment(1);
                    Err(refusal(PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound"))
                }
            };
        }
        if hex_sha256(query) != hash {
            return Err(refusal(
                BAD_REQUEST,
                "provided sha does not match query: `sha256Hash` must be the hex SHA-256 of the query text.",
            ));
        }
        Ok(Lookup::Found { query: query.into(), sent: true, hash })
    }

    /// Keeps `query` under `hash` (already checked to match).
    pub fn keep(&self, hash: String, query: Arc<str>) {
        metrics::counter!(METRIC, "outcome" => "registered").increment(1);
        self.documents.insert(hash, query);
    }

    /// Documents held (after pending evictions are applied), for tests.
    pub fn len(&self) -> u64 {
        self.documents.run_pending_tasks();
        self.documents.entry_count()
    }

    /// Whether no document is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The hash named by a `persistedQuery` extension, or why it is not understood.
fn parse_extension(extension: &Value) -> Result<String, ServerError> {
    let malformed = |message: &str| refusal(BAD_REQUEST, message);
    let Value::Object(fields) = extension else {
        return Err(malformed(
            "`extensions.persistedQuery` must be an object: { \"version\": 1, \"sha256Hash\": \"<hex>\" }.",
        ));
    };
    match fields.get("version") {
        Some(version) if version.as_u64() == Some(1) => {}
        _ => return Err(malformed("Unsupported persisted query version: send `\"version\": 1`.")),
    }
    match fields.get("sha256Hash").and_then(Value::as_str) {
        Some(hash) if hash.len() == 64 && hash.bytes().all(|byte| byte.is_ascii_hexdigit()) => {
            Ok(hash.to_ascii_lowercase())
        }
        _ => Err(malformed("`extensions.persistedQuery.sha256Hash` must be the 64 hex digits of the query's SHA-256.")),
    }
}

/// The lower-case hex SHA-256 of `text`.
pub fn hex_sha256(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::errors::code_of;

    fn extensions(hash: &str) -> serde_json::Map<String, Value> {
        let value = serde_json::json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
        value.as_object().cloned().expect("an object")
    }

    fn code(result: Result<Lookup, ServerError>) -> String {
        code_of(&result.expect_err("refused")).unwrap_or_default().to_string()
    }

    #[test]
    fn a_miss_then_the_document_then_a_hit() {
        let store = PersistedQueries::new(1 << 20);
        let query = "{ me { id } }";
        let hash = hex_sha256(query);
        assert_eq!(code(store.lookup("", Some(&extensions(&hash)))), PERSISTED_QUERY_NOT_FOUND);
        let Lookup::Found { query: found, sent: true, hash: kept } =
            store.lookup(query, Some(&extensions(&hash))).unwrap()
        else {
            panic!("the document with its hash is taken");
        };
        store.keep(kept, found);
        let hit = store.lookup("", Some(&extensions(&hash.to_uppercase()))).unwrap();
        assert_eq!(hit, Lookup::Found { query: query.into(), sent: false, hash });
        assert_eq!(store.lookup(query, None).unwrap(), Lookup::None);
    }

    #[test]
    fn malformed_extensions_and_wrong_hashes_are_bad_requests() {
        let store = PersistedQueries::new(1 << 20);
        let wrong = hex_sha256("{ other }");
        assert_eq!(
            code(store.lookup("{ me { id } }", Some(&extensions(&wrong)))),
            BAD_REQUEST,
            "hash of another document"
        );
        for (extension, reason) in [
            (serde_json::json!(true), "not an object"),
            (serde_json::json!({ "version": 2, "sha256Hash": wrong }), "an unknown version"),
            (serde_json::json!({ "version": 1 }), "no hash"),
            (serde_json::json!({ "version": 1, "sha256Hash": "abc" }), "too short"),
        ] {
            let extensions = serde_json::json!({ "persistedQuery": extension }).as_object().cloned().unwrap();
            assert_eq!(code(store.lookup("", Some(&extensions))), BAD_REQUEST, "{reason}");
        }
    }

    #[test]
    fn the_least_recently_used_document_goes_first() {
        let document = |n: usize| format!("{{ posts(first: {n}) {{ edges {{ cursor }} }} }}{}", " ".repeat(900));
        // Ten documents of ~1,000 bytes fit; each later one evicts one.
        let store = PersistedQueries::new(10 * 1_100);
        for n in 0..10 {
            store.keep(hex_sha256(&document(n)), document(n).into());
        }
        assert_eq!(store.len(), 10);
        assert!(store.lookup("", Some(&extensions(&hex_sha256(&document(0))))).is_ok(), "0 is now the most recent");
        store.len();
        for n in 10..15 {
            store.keep(hex_sha256(&document(n)), document(n).into());
            store.len();
        }
        assert!(store.len() <= 10, "bounded by bytes: {}", store.len());
        assert!(store.lookup("", Some(&extensions(&hex_sha256(&document(0))))).is_ok(), "recently used stays");
        assert!(store.lookup("", Some(&extensions(&hex_sha256(&document(1))))).is_err(), "least recently used went");
    }
}
