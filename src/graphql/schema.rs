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
    let limits = &state.settings.query_limits;
    let mut builder =
        builder().data(state.clone()).limit_depth(limits.max_depth).limit_complexity(limits.max_complexity);
    if !state.settings.introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The schema in SDL, as `townsquare export-schema` prints it and `schema.graphql` holds it.
pub fn sdl() -> String {
    builder().finish().sdl()
}
