//! argon2id password hashing, always off the async runtime and never more at once than
//! `HASH_CONCURRENCY`: a hash takes ~12 ms of CPU and 19 MiB, and two at once on two cores
//! fight over cache and starve every other request.

use std::sync::Arc;

use argon2::{
    Argon2,
    password_hash::{PasswordHasher as _, PasswordVerifier as _, phc::PasswordHash},
};
use tokio::sync::{OnceCell, Semaphore};

/// Hashing failed or the blocking pool is gone.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// argon2 refused the input or the stored hash is malformed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The blocking task did not complete (runtime shutting down).
    #[error("password hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The hasher was closed.
    #[error("password hasher closed")]
    Closed,
}

/// argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane): `Argon2::default()`.
fn argon2() -> Argon2<'static> {
    Argon2::default()
}

/// Hashes `password` into a PHC string (blocking; call from the blocking pool).
pub fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    // The salt comes from the OS random source (argon2's `getrandom` feature).
    argon2()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Checks `password` against a PHC string (blocking).
pub fn verify_blocking(password: &str, phc: &str) -> Result<bool, PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(argon2().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Runs hashes on the blocking pool, at most `concurrency` at a time (FIFO: a semaphore
/// queues the rest in arrival order).
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when an address is unknown so both
    /// answers cost one argon2 verification.
    dummy: Arc<OnceCell<String>>,
}

impl PasswordHasher {
    /// A hasher running at most `concurrency` hashes at once.
    pub fn new(concurrency: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(concurrency.max(1))), dummy: Arc::new(OnceCell::new()) }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _permit = self.permits.acquire().await.map_err(|_| PasswordError::Closed)?;
        metrics::gauge!("password_hashes_waiting").set(self.permits.available_permits() as f64);
        tokio::task::spawn_blocking(work).await?
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.run(move || hash_blocking(&password)).await
    }

    /// Checks `password` against a stored hash.
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, PasswordError> {
        self.run(move || verify_blocking(&password, &phc)).await
    }

    /// Spends one verification's time on a password for an unknown account, so the answer's
    /// timing does not tell whether the address is registered. Always false.
    pub async fn verify_unknown(&self, password: String) -> Result<bool, PasswordError> {
        let dummy = self
            .dummy
            .get_or_try_init(|| async {
                let random: [u8; 16] = rand::random();
                let secret = format!("{random:?}");
                self.run(move || hash_blocking(&secret)).await
            })
            .await?
            .clone();
        self.verify(password, dummy).await.map(|_| false)
    }
}
