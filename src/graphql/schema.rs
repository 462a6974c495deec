//! Builds the schema from the roots, with the limits and switches the settings give, and
//! prints its SDL for `schema.graphql`.

use async_graphql::{Schema, SchemaBuilder};

use super::{mutation::Mutation, query::Query, subscription::Subscription};
use crate::state::AppState;

/// The executable schema.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription::default())
}

/// The schema with its state, limits and production switches.
pub fn build_schema(state: &AppState) -> AppSchema {
    schema_builder(state).finish()
}

/// What [`build_schema`] finishes, for an embedder that adds an extension before finishing
/// it (the tests inject faults this way; see `http::router_with_schema`).
pub fn schema_builder(state: &AppState) -> SchemaBuilder<Query, Mutation, Subscription> {
    let limits = &state.settings.query_limits;
    // Depth is checked before a request runs (`limits.rs`), where introspection can count as
    // one level; async-graphql's own depth limit counts every level of it.
    let mut builder = builder().data(state.clone()).limit_complexity(limits.max_complexity);
    if !state.settings.introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder
}

/// What async-graphql answers to `__schema { description }`, for every schema: a fixed
/// sentence it leaves out of its SDL. The export writes it on the `schema` definition, so
/// `schema.graphql` and introspection describe the same schema (a test keeps the two equal).
const SCHEMA_DESCRIPTION: &str = "A GraphQL Schema defines the capabilities of a GraphQL server. It exposes all \
    available types and directives on the server, as well as the entry points for query, mutation, and subscription \
    operations.";

/// The schema in SDL, as `townsquare export-schema` prints it and `schema.graphql` holds it.
pub fn sdl() -> String {
    let sdl = builder().finish().sdl();
    sdl.replacen("\nschema {", &format!("\n\"\"\"\n{SCHEMA_DESCRIPTION}\n\"\"\"\nschema {{"), 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_exported_description_is_the_one_introspection_answers() {
        let response = builder().finish().execute("{ __schema { description } }").await;
        let data = response.data.into_json().expect("JSON");
        assert_eq!(data["__schema"]["description"], SCHEMA_DESCRIPTION);
        assert!(sdl().contains(&format!("\"\"\"\n{SCHEMA_DESCRIPTION}\n\"\"\"\nschema {{")));
    }
}
