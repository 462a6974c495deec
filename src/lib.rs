//! townsquare: a GraphQL server for a social app.
//!
//! # Layout
//! - [`config`]: every environment variable, parsed into one [`config::Settings`].
//! - [`startup`]: builds the application (database, state, router) and runs it.
//! - [`state`]: [`state::AppState`], the one value handed to every handler and resolver.
//! - [`db`]: the pool, migrations, entities and query functions.
//! - [`graphql`]: the schema: query roots, types, data loaders, document limits, and live
//!   subscriptions that resolve each event once per instance.
//! - [`http`]: the HTTP endpoints (`/graphql`, `/graphiql`, `/healthz`, `/readyz`, `/metrics`).
//! - [`error`]: [`error::AppError`], the error that leaves GraphQL with its `extensions.code`.
//! - [`domain`]: validated values (email, username, password, bodies, room names).
//! - [`auth`]: password hashing, tokens, emailed codes, rate limits, token to viewer.
//! - [`sessions`]: login sessions, their revocation (announced in one place) and cleanup.
//! - [`mail`]: the durable outbox and its delivery worker.
//! - [`realtime`]: the graphql-ws endpoint, the connection registry, expiry, the broker,
//!   room presence and typing.
//! - [`seed`]: demo data for a new development database.
//! - [`telemetry`]: logging and metrics set-up.

/// jemalloc serves every allocation of the server, and of the tests and benchmarks that run it
/// in-process. Under glibc's malloc, arena locks and consolidation took about a quarter of the
/// server's CPU on the feed page; measured on that page (`cargo bench --bench feed`), jemalloc
/// served the most requests per CPU-second, and unlike mimalloc it hands memory back once idle
/// (`cargo bench --bench memory`).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

pub mod auth;
pub mod cluster;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod mail;
pub mod realtime;
pub mod seed;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod telemetry;
