//! Variable values checked against their declared types before a request runs, as the
//! spec's CoerceVariableValues step does.
//!
//! async-graphql checks variables late and in other words: a required variable sent without
//! a value surfaces as a field error ("Variable id is not defined.") after execution started,
//! and a value of the wrong type as a validation error about an argument. A value the client
//! sent is its input, so this check answers `BAD_USER_INPUT` with the variable's name and
//! what is wrong, before anything runs.

use async_graphql::{
    OutputType, ServerError, SubscriptionType, Value as ConstValue,
    parser::types::{BaseType, OperationDefinition, Type},
    registry::{MetaType, Registry},
};
use serde_json::{Map, Value};

use super::{
    errors::{BAD_USER_INPUT, with_code},
    mutation::Mutation,
    query::Query,
    subscription::Subscription,
};

/// The input types of the schema, for checking variable values.
pub struct InputTypes {
    /// async-graphql's registry of the schema's types, built from the same roots as the
    /// schema (the schema keeps its own private).
    registry: Registry,
}

impl Default for InputTypes {
    fn default() -> Self {
        let mut registry = Registry::default();
        <Query as OutputType>::create_type_info(&mut registry);
        <Mutation as OutputType>::create_type_info(&mut registry);
        <Subscription as SubscriptionType>::create_type_info(&mut registry);
        Self { registry }
    }
}

impl InputTypes {
    /// Checks `variables` against the declarations of `operation`.
    pub fn check(
        &self,
        operation: &OperationDefinition,
        variables: Option<&Map<String, Value>>,
    ) -> Result<(), ServerError> {
        for definition in &operation.variable_definitions {
            let name = definition.node.name.node.as_str();
            let ty = &definition.node.var_type.node;
            let refuse =
                |message: String| Err(with_code(ServerError::new(message, Some(definition.pos)), BAD_USER_INPUT));
            match variables.and_then(|variables| variables.get(name)) {
                None if definition.node.default_value.is_none() && !ty.nullable => {
                    return refuse(format!("Variable \"${name}\" of required type \"{ty}\" was not provided."));
                }
                None => {}
                Some(Value::Null) if !ty.nullable => {
                    return refuse(format!("Variable \"${name}\" of non-null type \"{ty}\" must not be null."));
                }
                Some(value) => {
                    if let Err(problem) = self.check_value(ty, value, name) {
                        return refuse(format!("Variable \"${name}\" got an invalid value: {problem}"));
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks `value` against `ty`; `at` names where the value sits, for the message.
    fn check_value(&self, ty: &Type, value: &Value, at: &str) -> Result<(), String> {
        if value.is_null() {
            return if ty.nullable {
                Ok(())
            } else {
                Err(format!("expected a value of type \"{ty}\" at \"{at}\", found null."))
            };
        }
        match &ty.base {
            BaseType::List(item) => match value {
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .try_for_each(|(index, value)| self.check_value(item, value, &format!("{at}[{index}]"))),
                // Input coercion takes a single value where a list is expected.
                single => self.check_value(item, single, at),
            },
            BaseType::Named(name) => self.check_named(name, value, at),
        }
    }

    fn check_named(&self, name: &str, value: &Value, at: &str) -> Result<(), String> {
        let mismatch = || format!("expected a value of type \"{name}\" at \"{at}\", found {value}.");
        match self.registry.types.get(name) {
            Some(MetaType::Scalar { is_valid: Some(is_valid), .. }) => {
                let valid = ConstValue::from_json(value.clone()).is_ok_and(|value| is_valid(&value));
                if valid { Ok(()) } else { Err(mismatch()) }
            }
            Some(MetaType::Enum { enum_values, .. }) => match value {
                Value::String(variant) if enum_values.contains_key(variant.as_str()) => Ok(()),
                _ => Err(format!(
                    "expected one of {} at \"{at}\", found {value}.",
                    enum_values.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
                )),
            },
            Some(MetaType::InputObject { input_fields, oneof, .. }) => {
                let Value::Object(fields) = value else { return Err(mismatch()) };
                if let Some(unknown) = fields.keys().find(|field| !input_fields.contains_key(field.as_str())) {
                    return Err(format!("\"{name}\" has no field \"{unknown}\" (at \"{at}\")."));
                }
                if *oneof && fields.values().filter(|value| !value.is_null()).count() != 1 {
                    return Err(format!("\"{name}\" takes exactly one of its fields (at \"{at}\")."));
                }
                for (field_name, field) in input_fields {
                    // The registry writes types in SDL, which always parses.
                    let Some(field_type) = Type::new(&field.ty) else { continue };
                    let field_at = format!("{at}.{field_name}");
                    match fields.get(field_name) {
                        None if field.default_value.is_none() && !field_type.nullable => {
                            return Err(format!(
                                "the required field \"{field_at}\" of type \"{field_type}\" is missing."
                            ));
                        }
                        None => {}
                        Some(value) => self.check_value(&field_type, value, &field_at)?,
                    }
                }
                Ok(())
            }
            // Scalars without a check, and names that are not input types (validation says so).
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::errors::code_of;

    fn check(document: &str, variables: serde_json::Value) -> Result<(), String> {
        let document = async_graphql::parser::parse_query(document).expect("parses");
        let operation = match &document.operations {
            async_graphql::parser::types::DocumentOperations::Single(operation) => &operation.node,
            _ => panic!("one operation"),
        };
        InputTypes::default().check(operation, variables.as_object()).map_err(|error| {
            assert_eq!(code_of(&error), Some(BAD_USER_INPUT));
            error.message
        })
    }

    #[test]
    fn values_that_fit_their_types_pass() {
        assert_eq!(check("query($id: ID!) { post(id: $id) { id } }", serde_json::json!({ "id": "abc" })), Ok(()));
        assert_eq!(check("query($id: ID!) { post(id: $id) { id } }", serde_json::json!({ "id": 7 })), Ok(()));
        assert_eq!(check("query($n: Int) { posts(first: $n) { edges { cursor } } }", serde_json::json!({})), Ok(()));
        assert_eq!(
            check("query($n: Int = 5) { posts(first: $n) { edges { cursor } } }", serde_json::json!({})),
            Ok(())
        );
        assert_eq!(
            check("query($ids: [ID!]) { a }", serde_json::json!({ "ids": "one" })),
            Ok(()),
            "a single value for a list"
        );
    }

    #[test]
    fn missing_null_and_mistyped_values_are_refused_by_name() {
        let refusals = [
            (
                "query($id: ID!) { a }",
                serde_json::json!({}),
                "Variable \"$id\" of required type \"ID!\" was not provided.",
            ),
            ("query($id: ID!) { a }", serde_json::json!({ "id": null }), "must not be null"),
            (
                "query($id: ID!) { a }",
                serde_json::json!({ "id": { "a": 1 } }),
                "expected a value of type \"ID\" at \"id\"",
            ),
            ("query($n: Int) { a }", serde_json::json!({ "n": "x" }), "type \"Int\" at \"n\", found \"x\""),
            ("query($ids: [ID!]!) { a }", serde_json::json!({ "ids": ["a", null] }), "at \"ids[1]\", found null"),
            ("query($r: Role) { a }", serde_json::json!({ "r": "KING" }), "expected one of USER, ADMIN"),
        ];
        for (document, variables, expected) in refusals {
            let message = check(document, variables).expect_err(expected);
            assert!(message.contains(expected), "{message:?} should say {expected:?}");
        }
    }

    #[test]
    fn input_objects_are_checked_field_by_field() {
        let document = "mutation($input: RegisterInput!) { register(input: $input) { token } }";
        let message = check(document, serde_json::json!({ "input": { "email": "a@b.co", "nope": 1 } })).unwrap_err();
        assert!(message.contains("has no field \"nope\""), "{message}");
        let message = check(document, serde_json::json!({ "input": { "email": 5 } })).unwrap_err();
        assert!(message.contains("at \"input.email\""), "{message}");
    }
}
