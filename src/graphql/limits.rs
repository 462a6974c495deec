//! Document limits and error codes for documents that never execute.
//!
//! async-graphql checks depth and complexity itself. [`check_document`] adds what it lacks
//! (document length, aliases, directives, introspection when it is off) before a request
//! runs, and [`label_errors`] gives parse and validation failures Apollo's
//! `GRAPHQL_PARSE_FAILED` / `GRAPHQL_VALIDATION_FAILED` (the HTTP layer answers 400 for them).
//!
//! Both run outside async-graphql on purpose: with any extension registered, async-graphql
//! sends every field of every response through the extension chain, a cost paid again for
//! each subscriber of each event.

use async_graphql::{
    Response, ServerError,
    parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet},
};

use crate::config::QueryLimits;

/// `extensions.code` of a document that does not parse.
pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
/// `extensions.code` of a document that does not validate or breaks a limit.
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

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

/// Checks `query` against the limits before it runs, and returns the type of the operation
/// `operation_name` selects (`None` when the document names no single operation; execution
/// then says why). `introspection` false refuses `__schema` and `__type`: async-graphql's own
/// switch answers them with a silent null, which breaks their non-null type.
pub fn check_document(
    query: &str,
    operation_name: Option<&str>,
    limits: &QueryLimits,
    introspection: bool,
) -> Result<Option<OperationType>, ServerError> {
    // Checked before parsing, so an oversized document costs no parser time.
    let length = query.chars().count();
    if length > limits.max_length {
        return Err(limit_error(format!(
            "The query document is {length} characters long; the limit is {}.",
            limits.max_length
        )));
    }
    let document = async_graphql::parser::parse_query(query)
        .map_err(|error| with_code(ServerError::new(error.to_string(), error.positions().next()), PARSE_FAILED))?;
    let counts = count_document(&document);
    if counts.aliases > limits.max_aliases {
        return Err(limit_error(format!(
            "The query uses {} aliases; the limit is {}.",
            counts.aliases, limits.max_aliases
        )));
    }
    if counts.directives > limits.max_directives {
        return Err(limit_error(format!(
            "The query uses {} directives; the limit is {}.",
            counts.directives, limits.max_directives
        )));
    }
    if !introspection && counts.introspection {
        return Err(limit_error("Introspection is switched off on this server.".into()));
    }
    Ok(crate::graphql::document::selected_operation(&document, operation_name))
}

/// Gives the errors of a response that never ran the `GRAPHQL_VALIDATION_FAILED` code
/// (parse errors were caught by [`check_document`]), and names the limit in async-graphql's
/// depth and complexity messages.
pub fn label_errors(response: &mut Response, limits: &QueryLimits) {
    if !crate::graphql::document::never_ran(response) {
        return;
    }
    for error in &mut response.errors {
        // async-graphql's wording names no number; say which limit was hit.
        if error.message == "Query is nested too deep." {
            error.message = format!("The query is nested too deep; the limit is {} levels.", limits.max_depth);
        } else if error.message == "Query is too complex." {
            error.message = format!(
                "The query is too complex; the limit is {}. Ask for fewer items per list or fewer fields.",
                limits.max_complexity
            );
        }
        let labelled = with_code(std::mem::replace(error, ServerError::new("", None)), VALIDATION_FAILED);
        *error = labelled;
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
