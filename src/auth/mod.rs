//! Authentication: password hashing, tokens, emailed codes, rate limits, and turning a
//! bearer token into a viewer.

pub mod codes;
pub mod password;
pub mod rate_limit;
pub mod session_cache;
pub mod tokens;
pub mod viewer;
