//! argon2id password hashing, always off the async runtime: a hash takes milliseconds of CPU
//! and would stall every task on the worker thread that ran it.

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

/// Hashing failed or the blocking pool is gone.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// argon2 refused the input or the stored hash is malformed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The blocking task did not complete (runtime shutting down).
    #[error("password hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane): `Argon2::default()`.
fn hasher() -> Argon2<'static> {
    Argon2::default()
}

/// Hashes `password` into a PHC string on the blocking pool.
pub async fn hash(password: String) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || {
        // The salt comes from the OS random source (argon2's `getrandom` feature).
        hasher()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| PasswordError::Hash(e.to_string()))
    })
    .await?
}

/// Checks `password` against a PHC string on the blocking pool.
pub async fn verify(password: String, phc: String) -> Result<bool, PasswordError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc).map_err(|e| PasswordError::Hash(e.to_string()))?;
        Ok(hasher().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await?
}
