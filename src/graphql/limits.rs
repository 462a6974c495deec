//! Document limits and error codes for documents that never execute.
//!
//! async-graphql checks depth and complexity itself; this extension adds the limits it lacks
//! (document length, aliases and directives per document) and labels parse and validation
//! failures with Apollo's `GRAPHQL_PARSE_FAILED` / `GRAPHQL_VALIDATION_FAILED`, which the
//! HTTP layer also reads to answer 400 as GraphQL over HTTP prescribes.

use std::sync::Arc;

use async_graphql::{
    Request, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest, NextValidation},
    parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet},
};

use crate::config::QueryLimits;

/// `extensions.code` of a document that does not parse.
pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
/// `extensions.code` of a document that does not validate or breaks a limit.
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

/// The extension factory, holding the configured limits.
pub struct DocumentLimits {
    /// The configured limits.
    pub limits: QueryLimits,
    /// Whether introspection is answered. async-graphql's own switch answers `__schema` with
    /// a silent null, which breaks its non-null type; refusing here tells the client why.
    pub introspection: bool,
}

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentLimitsExtension { limits: self.limits.clone(), introspection: self.introspection })
    }
}

struct DocumentLimitsExtension {
    limits: QueryLimits,
    introspection: bool,
}

fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

fn limit_error(message: String) -> ServerError {
    with_code(ServerError::new(message, None), VALIDATION_FAILED)
}

#[async_trait::async_trait]
impl Extension for DocumentLimitsExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // Checked before parsing, so an oversized document costs no parser time.
        let length = request.query.chars().count();
        if length > self.limits.max_length {
            return Err(limit_error(format!(
                "The query document is {length} characters long; the limit is {}.",
                self.limits.max_length
            )));
        }
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await.map_err(|error| with_code(error, PARSE_FAILED))?;
        let counts = count_document(&document);
        if counts.aliases > self.limits.max_aliases {
            return Err(limit_error(format!(
                "The query uses {} aliases; the limit is {}.",
                counts.aliases, self.limits.max_aliases
            )));
        }
        if counts.directives > self.limits.max_directives {
            return Err(limit_error(format!(
                "The query uses {} directives; the limit is {}.",
                counts.directives, self.limits.max_directives
            )));
        }
        if !self.introspection && counts.introspection {
            return Err(limit_error("Introspection is switched off on this server.".into()));
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|mut error| {
                    // async-graphql's wording names no number; say which limit was hit.
                    if error.message == "Query is nested too deep." {
                        error.message =
                            format!("The query is nested too deep; the limit is {} levels.", self.limits.max_depth);
                    } else if error.message == "Query is too complex." {
                        error.message = format!(
                            "The query is too complex; the limit is {}. Ask for fewer items per list or fewer fields.",
                            self.limits.max_complexity
                        );
                    }
                    with_code(error, VALIDATION_FAILED)
                })
                .collect()
        })
    }
}

/// Aliases and directives written in a document (fragments counted once, where written).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DocumentCounts {
    /// Aliased fields.
    pub aliases: usize,
    /// Directives anywhere: operations, variables, fields, fragments.
    pub directives: usize,
    /// Whether `__schema` or `__type` is selected anywhere (`__typename` is not introspection).
    pub introspection: bool,
}

/// Counts the aliases and directives of `document`.
pub fn count_document(document: &ExecutableDocument) -> DocumentCounts {
    let mut counts = DocumentCounts::default();
    let operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(operation) => vec![operation],
        DocumentOperations::Multiple(operations) => operations.values().collect(),
    };
    for operation in operations {
        counts.directives += operation.node.directives.len();
        for variable in &operation.node.variable_definitions {
            counts.directives += variable.node.directives.len();
        }
        count_selection_set(&operation.node.selection_set.node, &mut counts);
    }
    for fragment in document.fragments.values() {
        counts.directives += fragment.node.directives.len();
        count_selection_set(&fragment.node.selection_set.node, &mut counts);
    }
    counts
}

fn count_selection_set(set: &SelectionSet, counts: &mut DocumentCounts) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                counts.aliases += usize::from(field.node.alias.is_some());
                counts.introspection |= matches!(field.node.name.node.as_str(), "__schema" | "__type");
                counts.directives += field.node.directives.len();
                count_selection_set(&field.node.selection_set.node, counts);
            }
            Selection::FragmentSpread(spread) => counts.directives += spread.node.directives.len(),
            Selection::InlineFragment(fragment) => {
                counts.directives += fragment.node.directives.len();
                count_selection_set(&fragment.node.selection_set.node, counts);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_aliases_and_directives_everywhere() {
        let document = async_graphql::parser::parse_query(
            "query Q($a: Int @deprecated) @x { one: posts { edges @skip(if: false) { ...F } } two: post(id: 1) { id } }
             fragment F on PostEdge @y { node { b: body ... on Post @include(if: true) { id } } }",
        )
        .expect("parses");
        assert_eq!(count_document(&document), DocumentCounts { aliases: 3, directives: 5, introspection: false });
        let document =
            async_graphql::parser::parse_query("{ ...F } fragment F on Query { __type(name: \"Post\") { name } }")
                .expect("parses");
        assert!(count_document(&document).introspection, "found inside a fragment");
    }
}
