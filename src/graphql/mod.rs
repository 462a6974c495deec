//! The GraphQL schema: query roots per feature under [`query`], the API's types under
//! [`types`], per-request [`loaders`], document [`limits`], [`live`] subscriptions, and the
//! [`context`] helpers resolvers use to reach state and the viewer.

pub mod context;
pub mod document;
pub mod limits;
pub mod live;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod schema;
pub mod subscription;
pub mod types;

pub use schema::{AppSchema, build_schema, sdl};
