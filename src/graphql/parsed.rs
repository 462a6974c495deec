//! Parsed documents by their text, so the documents an app sends on every request are parsed
//! and checked once per instance, not once per request.

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use moka::{policy::EvictionPolicy, sync::Cache};

/// The bytes of document text kept at most. An app sends a few dozen distinct documents; the
/// parsed form takes roughly ten times its text, so this bounds the cache to a few MiB.
const MAX_TEXT_BYTES: u64 = 512 * 1024;

/// Documents that parsed and passed the document limits, by their text, least recently used
/// evicted first. A document that failed is not kept: it costs its parse every time.
#[derive(Clone)]
pub struct ParsedDocuments {
    documents: Cache<Arc<str>, Arc<ExecutableDocument>>,
}

impl Default for ParsedDocuments {
    fn default() -> Self {
        let documents = Cache::builder()
            .max_capacity(MAX_TEXT_BYTES)
            .weigher(|text: &Arc<str>, _: &Arc<ExecutableDocument>| u32::try_from(text.len()).unwrap_or(u32::MAX))
            .eviction_policy(EvictionPolicy::lru())
            .build();
        Self { documents }
    }
}

impl ParsedDocuments {
    /// The document parsed from `text`, if it was admitted before.
    pub fn get(&self, text: &str) -> Option<Arc<ExecutableDocument>> {
        self.documents.get(text)
    }

    /// Keeps `document`, parsed from `text` and admitted.
    pub fn keep(&self, text: &str, document: Arc<ExecutableDocument>) {
        self.documents.insert(Arc::from(text), document);
    }
}
