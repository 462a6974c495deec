//! The API's output types, built from database records, never derived on entities.

pub mod chat;
pub mod comment;
pub mod notification;
pub mod page;
pub mod post;
pub mod room_events;
pub mod scalars;
pub mod session;
pub mod user;

pub use chat::{ChatMessage, ChatRoom, MessageConnection, MessageEdge};
pub use comment::Comment;
pub use notification::{Notification, NotificationConnection, NotificationEdge, NotificationKind};
pub use page::PageInfo;
pub use post::{Post, PostConnection, PostEdge};
pub use scalars::DateTime;
pub use session::{AuthPayload, RegisterInput, Session};
pub use user::{Role, User};
