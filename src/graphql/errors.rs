//! The one place every GraphQL error gets its `extensions.code`, on both transports.
//!
//! Errors raised by this server's own code carry a code from the start: `AppError` in
//! resolvers, and the admission step (`admission.rs`) for requests refused before they run.
//! What is left comes from async-graphql itself, and [`assign_codes`] labels it by when it
//! was raised:
//! - before execution (no path, no data): a document that does not validate, so
//!   `GRAPHQL_VALIDATION_FAILED`;
//! - during execution: async-graphql coercing an argument or a variable's value into its
//!   input type (`Failed to parse "Int"`, a declared variable left without a value), so
//!   `BAD_USER_INPUT`.
//!
//! Both transports send every response through [`assign_codes`] just before it is written,
//! so no path can leave an error without a code.

use async_graphql::{Response, ServerError};

use super::document::never_ran;
use crate::config::QueryLimits;

/// A document that does not parse.
pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
/// A document that does not validate or breaks a limit.
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
/// A value the client supplied (a variable, an argument) that the operation cannot take.
pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
/// A request that is malformed as a request: no operation to run, a subscription over HTTP,
/// a persisted-query extension that is not understood.
pub const BAD_REQUEST: &str = "BAD_REQUEST";
/// An automatic persisted query whose hash this server does not hold: send the document.
pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
/// A failure of the server's own, with nothing internal in the message.
pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";

/// `error` with `extensions.code` set to `code`, unless it already has one.
pub fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

/// A refusal with `message` and `code`, for a request that never runs.
pub fn refusal(code: &str, message: impl Into<String>) -> ServerError {
    with_code(ServerError::new(message, None), code)
}

/// The code of `error`, if it has one.
pub fn code_of(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code),
        _ => None,
    }
}

/// Gives every error of `response` that has no code the one its phase implies (see the
/// module doc), and names the limit in async-graphql's complexity message.
pub fn assign_codes(response: &mut Response, limits: &QueryLimits) {
    if response.errors.iter().all(|error| code_of(error).is_some()) {
        return;
    }
    let code = if never_ran(response) { VALIDATION_FAILED } else { BAD_USER_INPUT };
    for error in &mut response.errors {
        if code_of(error).is_some() {
            continue;
        }
        // async-graphql's wording names no number; say which limit was hit.
        if error.message == "Query is too complex." {
            error.message = format!(
                "The query is too complex; the limit is {}. Ask for fewer items per list or fewer fields.",
                limits.max_complexity
            );
        }
        let labelled = with_code(std::mem::replace(error, ServerError::new("", None)), code);
        *error = labelled;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> QueryLimits {
        crate::config::Settings::from_lookup(|_| None).expect("defaults").query_limits
    }

    #[test]
    fn errors_before_execution_are_validation_failures_and_codes_are_kept() {
        let mut response =
            Response::from_errors(vec![ServerError::new("Unknown field \"x\"", None), refusal(BAD_USER_INPUT, "kept")]);
        assign_codes(&mut response, &limits());
        let codes: Vec<_> = response.errors.iter().map(code_of).collect();
        assert_eq!(codes, [Some(VALIDATION_FAILED), Some(BAD_USER_INPUT)]);
    }

    #[test]
    fn errors_raised_during_execution_are_bad_input() {
        let mut error = ServerError::new("Failed to parse \"Int\"", None);
        error.path = vec![async_graphql::PathSegment::Field("posts".into())];
        let mut response = Response::new(async_graphql::Value::Null);
        response.errors = vec![error];
        assign_codes(&mut response, &limits());
        assert_eq!(code_of(&response.errors[0]), Some(BAD_USER_INPUT));
    }
}
