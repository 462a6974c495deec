//! Authentication: password hashing now; tokens and login sessions build on it.

pub mod password;
