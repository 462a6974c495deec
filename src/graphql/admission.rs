//! What a request passes before it runs, the same over HTTP and graphql-ws: its persisted
//! query resolved, the document's length, parse and limits, the operation chosen, and the
//! variables' values checked. A request refused here never reaches async-graphql, and its
//! one error carries the code that says why (see `errors.rs`).

use std::sync::Arc;

use async_graphql::{
    ServerError,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, OperationType},
};

use super::{
    document::RequestParams,
    errors::{BAD_REQUEST, PARSE_FAILED, refusal, with_code},
    limits::{check_document, check_length, check_nesting},
    parsed::ParsedDocuments,
    persisted::{Lookup, PersistedQueries},
    variables::InputTypes,
};
use crate::config::Settings;

/// The checks every request passes, with what they need: one per application.
pub struct Admission {
    /// The document limits.
    limits: crate::config::QueryLimits,
    /// Whether introspection is answered.
    introspection: bool,
    /// Documents of automatic persisted queries, by hash.
    pub persisted: PersistedQueries,
    /// The schema's input types, for the variables.
    input_types: InputTypes,
    /// Documents that passed the checks below, parsed.
    parsed: ParsedDocuments,
}

/// A request that may run.
#[derive(Debug)]
pub struct Admitted {
    /// The request, its document filled in from the persisted-query store when it came as a hash.
    pub params: RequestParams,
    /// The type of the operation it runs.
    pub operation: OperationType,
    /// The parsed document, handed to async-graphql so it is not parsed a second time.
    pub document: ExecutableDocument,
}

impl Admitted {
    /// The async-graphql request, its document already parsed.
    pub fn into_request(self) -> async_graphql::Request {
        let mut request = self.params.into_request();
        request.set_parsed_query(self.document);
        request
    }
}

impl Admission {
    /// The checks `settings` configure.
    pub fn new(settings: &Settings) -> Self {
        Self {
            limits: settings.query_limits.clone(),
            introspection: settings.introspection,
            persisted: PersistedQueries::new(settings.persisted_queries_max_bytes),
            input_types: InputTypes::default(),
            parsed: ParsedDocuments::default(),
        }
    }

    /// Checks `params`; the refusal is the one error to answer with.
    pub fn admit(&self, mut params: RequestParams) -> Result<Admitted, ServerError> {
        let lookup = self.persisted.lookup(&params.query, params.extensions.as_ref())?;
        if let Lookup::Found { query, sent: false, .. } = &lookup {
            params.query = query.to_string();
        }
        if params.query.is_empty() {
            return Err(refusal(BAD_REQUEST, "The request has no `query`: send the GraphQL document as a string."));
        }
        let document = match self.parsed.get(&params.query) {
            Some(document) => document,
            None => {
                let document = Arc::new(self.parse(&params.query)?);
                self.parsed.keep(&params.query, document.clone());
                document
            }
        };
        // Clients that name no operation sometimes send an empty name.
        params.operation_name = params.operation_name.filter(|name| !name.is_empty());
        let operation = select_operation(&document, params.operation_name.as_deref())?;
        self.input_types.check(operation, params.variables.as_ref())?;
        let operation = operation.ty;
        if let Lookup::Found { query, sent: true, hash } = lookup {
            // Kept only once the document passed the checks above: the store holds no
            // document that could never run.
            self.persisted.keep(hash, query);
        }
        // async-graphql takes the document by value; a clone costs a fraction of a parse.
        Ok(Admitted { params, operation, document: ExecutableDocument::clone(&document) })
    }

    /// Parses `query` within the document limits.
    fn parse(&self, query: &str) -> Result<ExecutableDocument, ServerError> {
        check_length(query, &self.limits)?;
        check_nesting(query)?;
        let document = async_graphql::parser::parse_query(query)
            .map_err(|error| with_code(ServerError::new(error.to_string(), error.positions().next()), PARSE_FAILED))?;
        check_document(&document, &self.limits, self.introspection)?;
        Ok(document)
    }
}

/// The operation of `document` that `operation_name` chooses, as the spec's GetOperation.
fn select_operation<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Result<&'a OperationDefinition, ServerError> {
    let names = || match &document.operations {
        DocumentOperations::Single(_) => "one unnamed operation".to_string(),
        DocumentOperations::Multiple(operations) => {
            operations.keys().map(|name| format!("\"{name}\"")).collect::<Vec<_>>().join(", ")
        }
    };
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), None) => Some(operation),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations.values().next(),
        (DocumentOperations::Multiple(_), None) => {
            return Err(refusal(
                BAD_REQUEST,
                format!("The document has several operations ({}): choose one with `operationName`.", names()),
            ));
        }
        (DocumentOperations::Single(_), Some(_)) => None,
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
    };
    operation.map(|operation| &operation.node).ok_or_else(|| {
        let name = operation_name.unwrap_or_default();
        refusal(BAD_REQUEST, format!("Unknown operation named \"{name}\": the document has {}.", names()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::errors::{BAD_USER_INPUT, PERSISTED_QUERY_NOT_FOUND, VALIDATION_FAILED, code_of};

    fn admission() -> Admission {
        Admission::new(&Settings::from_lookup(|_| None).expect("defaults"))
    }

    fn params(query: &str, operation_name: Option<&str>, variables: serde_json::Value) -> RequestParams {
        RequestParams {
            query: query.into(),
            operation_name: operation_name.map(Into::into),
            variables: variables.as_object().cloned(),
            ..Default::default()
        }
    }

    #[test]
    fn each_refusal_carries_its_code() {
        let admission = admission();
        let cases = [
            (params("{ me { id", None, serde_json::json!({})), "GRAPHQL_PARSE_FAILED", "does not parse"),
            (params("", None, serde_json::json!({})), BAD_REQUEST, "no document"),
            (params("query A { a } query B { b }", None, serde_json::json!({})), BAD_REQUEST, "no operation chosen"),
            (params("query A { a }", Some("Z"), serde_json::json!({})), BAD_REQUEST, "an unknown operation"),
            (params("{ a }", Some("A"), serde_json::json!({})), BAD_REQUEST, "a name for an unnamed operation"),
            (
                params("query($id: ID!) { a }", None, serde_json::json!({})),
                BAD_USER_INPUT,
                "a required variable missing",
            ),
            (
                params(
                    &"{ a ".repeat(12).chars().chain("}".repeat(12).chars()).collect::<String>(),
                    None,
                    serde_json::json!({}),
                ),
                VALIDATION_FAILED,
                "too deep",
            ),
        ];
        for (params, code, reason) in cases {
            let error = admission.admit(params).expect_err(reason);
            assert_eq!(code_of(&error), Some(code), "{reason}: {}", error.message);
        }
    }

    #[test]
    fn the_chosen_operation_is_reported_and_an_empty_name_means_none() {
        let admission = admission();
        let admitted =
            admission.admit(params("query A { a } mutation B { b }", Some("B"), serde_json::json!({}))).unwrap();
        assert_eq!(admitted.operation, OperationType::Mutation);
        let admitted = admission.admit(params("subscription { a }", Some(""), serde_json::json!({}))).unwrap();
        assert_eq!((admitted.operation, admitted.params.operation_name), (OperationType::Subscription, None));
    }

    #[test]
    fn a_document_admitted_again_comes_from_the_parsed_cache_and_is_still_checked() {
        let admission = admission();
        let query = "query($n: Int!) { posts(first: $n) { edges { cursor } } }";
        let first = admission.admit(params(query, None, serde_json::json!({ "n": 2 }))).expect("admitted");
        assert!(admission.parsed.get(query).is_some(), "kept once admitted");
        let again = admission.admit(params(query, None, serde_json::json!({ "n": 3 }))).expect("admitted again");
        assert_eq!(format!("{:?}", again.document), format!("{:?}", first.document));
        // The variables are checked on every request, cached document or not.
        let error = admission.admit(params(query, None, serde_json::json!({}))).expect_err("a variable missing");
        assert_eq!(code_of(&error), Some(BAD_USER_INPUT));
        let broken = "{ me { id";
        assert!(admission.admit(params(broken, None, serde_json::json!({}))).is_err());
        assert!(admission.parsed.get(broken).is_none(), "a refused document is not kept");
    }

    #[test]
    fn a_persisted_document_is_kept_only_once_it_passes() {
        let admission = admission();
        let with_hash = |query: &str, hash: &str| {
            let mut params = params(query, None, serde_json::json!({}));
            params.extensions =
                serde_json::json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).as_object().cloned();
            params
        };
        let broken = "{ me { id";
        let hash = crate::graphql::persisted::hex_sha256(broken);
        assert!(admission.admit(with_hash(broken, &hash)).is_err());
        let miss = admission.admit(with_hash("", &hash)).expect_err("a document that failed is not kept");
        assert_eq!(code_of(&miss), Some(PERSISTED_QUERY_NOT_FOUND));
        let good = "{ me { id } }";
        let hash = crate::graphql::persisted::hex_sha256(good);
        admission.admit(with_hash(good, &hash)).expect("registers");
        assert_eq!(admission.admit(with_hash("", &hash)).expect("a hit").params.query, good);
    }
}
