//! The GraphQL schema: query roots per feature under [`query`], the API's types under
//! [`types`], per-request [`loaders`], [`live`] subscriptions, and the [`context`] helpers
//! resolvers use to reach state and the viewer. Before a request runs it passes
//! [`admission`] (persisted queries, document [`limits`], [`variables`]); every error it
//! answers gets its code in [`errors`].

pub mod admission;
pub mod context;
pub mod document;
pub mod errors;
pub mod limits;
pub mod live;
pub mod loaders;
pub mod mutation;
pub mod parsed;
pub mod persisted;
pub mod query;
pub mod schema;
pub mod subscription;
pub mod types;
pub mod variables;

pub use schema::{AppSchema, build_schema, sdl};
