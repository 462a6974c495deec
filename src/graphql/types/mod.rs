//! The API's output types, built from database records, never derived on entities.

pub mod comment;
pub mod page;
pub mod post;
pub mod scalars;
pub mod user;

pub use comment::Comment;
pub use page::PageInfo;
pub use post::{Post, PostConnection, PostEdge};
pub use scalars::DateTime;
pub use user::{Role, User};
