//! What resolvers reach through the GraphQL context: the application state, the viewer of
//! this request, and this request's data loader. Each helper returns a `Result` instead of
//! panicking when the value is missing.

use async_graphql::Context;
use uuid::Uuid;

use super::loaders::RequestLoader;
use crate::{error::AppError, state::AppState};

/// Who is making the request: set by the HTTP handler or the socket's connection_init once a
/// valid token names a live login session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    /// The signed-in user.
    pub user_id: Uuid,
    /// The login session the token names.
    pub session_id: Uuid,
}

/// The application state.
pub fn state<'a>(ctx: &Context<'a>) -> Result<&'a AppState, AppError> {
    ctx.data::<AppState>().map_err(|_| AppError::Internal(anyhow::anyhow!("AppState missing from the schema data")))
}

/// The viewer, when the request carries a valid token.
pub fn viewer<'a>(ctx: &Context<'a>) -> Option<&'a Viewer> {
    ctx.data_opt::<Viewer>()
}

/// This request's data loader.
pub fn loader<'a>(ctx: &Context<'a>) -> Result<&'a RequestLoader, AppError> {
    ctx.data::<RequestLoader>()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("RequestLoader missing from the request data")))
}

/// Turns a shared loader error into a GraphQL error that keeps its `extensions.code`.
pub fn load_failed(error: super::loaders::LoadError) -> async_graphql::Error {
    use async_graphql::ErrorExtensions as _;
    error.extend()
}
