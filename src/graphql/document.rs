//! Questions about a document before it runs.

use async_graphql::parser::types::{DocumentOperations, OperationType};

/// The type of the operation `query` would run with `operation_name`; `None` when the
/// document does not parse or names no single operation (execution then reports why).
pub fn operation_type(query: &str, operation_name: Option<&str>) -> Option<OperationType> {
    let document = async_graphql::parser::parse_query(query).ok()?;
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations.values().next(),
        _ => None,
    };
    operation.map(|operation| operation.node.ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selected_operation_is_found() {
        assert_eq!(operation_type("mutation { x }", None), Some(OperationType::Mutation));
        assert_eq!(operation_type("{ posts { edges { cursor } } }", None), Some(OperationType::Query));
        assert_eq!(operation_type("query A { a } mutation B { b }", Some("B")), Some(OperationType::Mutation));
        assert_eq!(operation_type("query A { a } subscription B { b }", Some("B")), Some(OperationType::Subscription));
        assert_eq!(operation_type("query A { a } mutation B { b }", None), None, "ambiguous");
        assert_eq!(operation_type("not graphql", None), None);
    }
}
