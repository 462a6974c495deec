//! `AppError`: the one error type that leaves GraphQL. Each variant maps to one
//! `extensions.code` of the contract; internal causes are logged, never sent.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};

/// An error as the client sees it.
///
/// It deliberately does not implement `Display`: async-graphql converts anything that does
/// into an error without `extensions.code`, so `?` would silently drop the code. The
/// `From<AppError>` impl below is the only way out, and it always sets the code.
#[derive(Debug)]
pub enum AppError {
    /// `UNAUTHENTICATED`: no valid token where one is needed.
    Unauthenticated(String),
    /// `FORBIDDEN`: signed in, but not allowed.
    Forbidden(String),
    /// `BAD_USER_INPUT`: validation, a taken value, a wrong or spent code.
    BadUserInput(String),
    /// `NOT_FOUND`: the thing asked for does not exist.
    NotFound(String),
    /// `RATE_LIMITED`: too many tries; `extensions.retryAfterSeconds` says when to come back.
    RateLimited {
        /// Seconds until the next try is allowed.
        retry_after_seconds: u64,
    },
    /// `SERVICE_UNAVAILABLE`: the database or Redis does not answer. The cause is logged.
    ServiceUnavailable(anyhow::Error),
    /// `INTERNAL_SERVER_ERROR`: a bug or an unexpected failure. The cause is logged.
    Internal(anyhow::Error),
}

impl AppError {
    /// The contract's `extensions.code` for this error.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::BadUserInput(_) => "BAD_USER_INPUT",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::ServiceUnavailable(_) => "SERVICE_UNAVAILABLE",
            AppError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The sentence the client reads.
    pub fn message(&self) -> String {
        match self {
            AppError::Unauthenticated(message)
            | AppError::Forbidden(message)
            | AppError::BadUserInput(message)
            | AppError::NotFound(message) => message.clone(),
            AppError::RateLimited { retry_after_seconds } => {
                format!("Too many attempts. Try again in {retry_after_seconds} seconds.")
            }
            AppError::ServiceUnavailable(_) => {
                "The service is temporarily unavailable. Please try again shortly.".into()
            }
            AppError::Internal(_) => "Something went wrong on our side. Please try again.".into(),
        }
    }

    /// A `BAD_USER_INPUT` error with a message the user can act on.
    pub fn bad_input(message: impl Into<String>) -> Self {
        AppError::BadUserInput(message.into())
    }

    /// Converts a database error, turning a unique-constraint violation into
    /// `BAD_USER_INPUT` with `taken_message` (the one place that matching happens).
    pub fn from_db_unique(error: DbErr, taken_message: impl FnOnce(&str) -> String) -> Self {
        match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => AppError::BadUserInput(taken_message(&detail)),
            _ => AppError::from(error),
        }
    }
}

impl From<DbErr> for AppError {
    fn from(error: DbErr) -> Self {
        if crate::db::is_unavailable(&error) {
            AppError::ServiceUnavailable(anyhow::Error::new(error).context("database unavailable"))
        } else {
            AppError::Internal(anyhow::Error::new(error).context("database error"))
        }
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        match self {
            AppError::ServiceUnavailable(cause) | AppError::Internal(cause) => {
                tracing::error!(code = self.code(), error = ?cause, "request failed");
            }
            _ => {}
        }
        async_graphql::Error::new(self.message()).extend_with(|_, extensions| {
            extensions.set("code", self.code());
            if let AppError::RateLimited { retry_after_seconds } = self {
                extensions.set("retryAfterSeconds", *retry_after_seconds);
            }
        })
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(error: AppError) -> Self {
        error.extend()
    }
}

/// The result type of resolvers.
pub type AppResult<T> = Result<T, AppError>;
