//! Validated values: each type checks its input once, on construction, and names the rule
//! that failed in a sentence the user can act on. Past construction, code can trust them.

mod account;
mod password;
mod room;
mod text;

pub use account::{DisplayName, Email, Username};
pub use password::{AccountWords, Password};
pub use room::RoomName;
pub use text::{CommentBody, MessageBody, PostBody};

/// An input that breaks a rule; the message says which and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

impl From<ValidationError> for crate::error::AppError {
    fn from(error: ValidationError) -> Self {
        crate::error::AppError::BadUserInput(error.0)
    }
}
