//! What resolvers reach through the GraphQL context: the application state, the viewer of
//! this request, the client, and this request's data loader. Each helper returns a `Result`
//! instead of panicking when the value is missing.

use std::{
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::Context;
use uuid::Uuid;

use super::loaders::{RequestLoader, request_loader};
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

/// Where the request comes from, for rate limits and the session list.
#[derive(Debug, Clone, Default)]
pub struct Client {
    /// The peer address.
    pub ip: Option<IpAddr>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

/// Marks that this request has already checked a secret (a password or an emailed code):
/// one document may not try two, so aliases cannot multiply guesses.
#[derive(Debug, Default)]
pub struct SecretCheckGuard(AtomicBool);

/// Accounts that signed in during this request (`register`, `login`): the payload shows them
/// their own address although the request itself carried no token.
#[derive(Debug, Default)]
pub struct SignedInThisRequest(std::sync::Mutex<Vec<Uuid>>);

/// `request` with what each execution needs of its own: a fresh loader for `viewer` (it
/// caches, and `likedByViewer` depends on who asks), and the guards that watch one request.
pub fn per_request(
    request: async_graphql::Request,
    db: &sea_orm::DatabaseConnection,
    viewer: Option<Viewer>,
) -> async_graphql::Request {
    request
        .data(Arc::new(request_loader(db.clone(), viewer)))
        .data(SecretCheckGuard::default())
        .data(SignedInThisRequest::default())
}

/// Records that `user_id` signed in during this request.
pub fn record_sign_in(ctx: &Context<'_>, user_id: Uuid) {
    if let Some(signed_in) = ctx.data_opt::<SignedInThisRequest>() {
        // A std mutex: held for a push, never across an await.
        signed_in.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(user_id);
    }
}

/// Whether `user_id` is the viewer, or signed in during this request.
pub fn is_self(ctx: &Context<'_>, user_id: Uuid) -> bool {
    viewer(ctx).is_some_and(|viewer| viewer.user_id == user_id)
        || ctx.data_opt::<SignedInThisRequest>().is_some_and(|signed_in| {
            signed_in.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains(&user_id)
        })
}

/// Records whether anything in a request read the viewer. A live subscription shares an
/// event's rendering among its subscribers only when the rendering did not.
#[derive(Debug, Clone, Default)]
pub struct ViewerReads(Arc<AtomicBool>);

impl ViewerReads {
    /// Whether the viewer was read.
    pub fn happened(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The application state.
pub fn state<'a>(ctx: &Context<'a>) -> Result<&'a AppState, AppError> {
    ctx.data::<AppState>().map_err(|_| AppError::Internal(anyhow::anyhow!("AppState missing from the schema data")))
}

/// The viewer, when the request carries a valid token.
///
/// Every resolver reads the viewer through here, so [`ViewerReads`] sees each read.
pub fn viewer<'a>(ctx: &Context<'a>) -> Option<&'a Viewer> {
    if let Some(reads) = ctx.data_opt::<ViewerReads>() {
        reads.0.store(true, Ordering::Relaxed);
    }
    ctx.data_opt::<Viewer>()
}

/// The viewer, or `UNAUTHENTICATED` for operations that need one.
pub fn require_viewer<'a>(ctx: &Context<'a>) -> Result<&'a Viewer, AppError> {
    viewer(ctx).ok_or_else(|| {
        AppError::Unauthenticated("Sign in first: send a valid token as `Authorization: Bearer <token>`.".into())
    })
}

/// The client of this request (empty when unknown).
pub fn client(ctx: &Context<'_>) -> Client {
    ctx.data_opt::<Client>().cloned().unwrap_or_default()
}

/// Claims this request's one secret check; a second one in the same request is refused.
pub fn claim_secret_check(ctx: &Context<'_>) -> Result<(), AppError> {
    let guard = ctx
        .data::<SecretCheckGuard>()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("SecretCheckGuard missing from the request data")))?;
    if guard.0.swap(true, Ordering::SeqCst) {
        return Err(AppError::bad_input(
            "Only one password or code can be checked per request. Send each in a request of its own.",
        ));
    }
    Ok(())
}

/// This request's data loader.
pub fn loader<'a>(ctx: &Context<'a>) -> Result<&'a RequestLoader, AppError> {
    ctx.data::<Arc<RequestLoader>>()
        .map(|loader| &**loader)
        .map_err(|_| AppError::Internal(anyhow::anyhow!("RequestLoader missing from the request data")))
}

/// Turns a shared loader error into a GraphQL error that keeps its `extensions.code`.
pub fn load_failed(error: super::loaders::LoadError) -> async_graphql::Error {
    use async_graphql::ErrorExtensions as _;
    error.extend()
}
