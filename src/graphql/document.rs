//! A GraphQL request as both transports receive it, and questions about it before and after
//! it runs.

use serde_json::{Map, Value};

/// The parameters of a GraphQL request, as GraphQL over HTTP and graphql-ws carry them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestParams {
    /// The document; empty when an automatic persisted query sends only its hash.
    #[serde(default)]
    pub query: String,
    /// Variable values.
    #[serde(default)]
    pub variables: Option<Map<String, Value>>,
    /// Which operation of the document to run.
    #[serde(default)]
    pub operation_name: Option<String>,
    /// Request extensions.
    #[serde(default)]
    pub extensions: Option<Map<String, Value>>,
}

impl RequestParams {
    /// The async-graphql request for these parameters (without per-request data).
    pub fn into_request(self) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(self.query);
        if let Some(variables) = self.variables {
            request = request.variables(async_graphql::Variables::from_json(Value::Object(variables)));
        }
        if let Some(name) = self.operation_name {
            request = request.operation_name(name);
        }
        for (name, value) in self.extensions.into_iter().flatten() {
            if let Ok(value) = async_graphql::Value::from_json(value) {
                request.extensions.insert(name, value);
            }
        }
        request
    }

    /// Whether the request carries an automatic persisted query's extension.
    pub fn has_persisted_query(&self) -> bool {
        self.extensions.as_ref().is_some_and(|extensions| extensions.contains_key("persistedQuery"))
    }

    /// The async-graphql request for these parameters, keeping them.
    pub fn to_request(&self) -> async_graphql::Request {
        self.clone().into_request()
    }

    /// The document, operation name, variables and extensions as one text: equal for equal
    /// parameters (JSON objects serialize with sorted keys).
    pub fn canonical_text(&self) -> String {
        let json = |map: &Option<Map<String, Value>>| map.as_ref().map(|map| Value::Object(map.clone()).to_string());
        format!(
            "{}\0{}\0{}\0{}",
            self.query,
            self.operation_name.as_deref().unwrap_or_default(),
            json(&self.variables).unwrap_or_default(),
            json(&self.extensions).unwrap_or_default()
        )
    }
}

/// Whether a response is from a request that never ran: errors raised before execution
/// (parse, validation, limits, unknown operation) carry no path and leave no data.
pub fn never_ran(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}
