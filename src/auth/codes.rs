//! Emailed one-time codes (email verification, password reset): random digits from a CSPRNG,
//! stored as argon2 hashes, living `CODE_TTL_MINUTES`, dying after `CODE_MAX_ATTEMPTS` wrong
//! tries, spent by exactly one success.

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::{db, error::AppError, state::AppState};

/// What a code is for; a code of one purpose never works for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Confirms the account's address.
    VerifyEmail,
    /// Allows setting a new password.
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
        }
    }
}

/// The one answer to every failed check: it does not say whether the code was wrong,
/// spent, expired or never issued.
pub fn invalid_code() -> AppError {
    AppError::bad_input("That code is wrong or no longer valid. Check the latest email, or request a new code.")
}

/// A code of `digits` decimal digits, uniformly drawn (leading zeros kept).
pub fn generate(digits: u32) -> String {
    let bound = 10_u64.pow(digits);
    // rand's thread generator is a CSPRNG (ChaCha, reseeded from the OS).
    format!("{:0width$}", rand::random_range(0..bound), width = digits as usize)
}

/// A code ready to store: the clear code (for the mail only) and its hash.
pub struct PreparedCode {
    /// The code in clear, to put in the mail and nowhere else.
    pub code: String,
    hash: String,
    purpose: Purpose,
}

/// Draws and hashes a new code. Done before the transaction that stores it, so no lock is
/// held while argon2 runs.
pub async fn prepare(state: &AppState, purpose: Purpose) -> Result<PreparedCode, AppError> {
    let code = generate(state.settings.auth.code_digits);
    let hash = state.hasher.hash(code.clone()).await.map_err(|error| AppError::Internal(error.into()))?;
    Ok(PreparedCode { code, hash, purpose })
}

/// Stores `prepared` as the user's only code of its purpose, in `conn` (the caller's
/// transaction, which also queues the mail carrying it).
pub async fn store(
    state: &AppState,
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    prepared: PreparedCode,
) -> Result<(), AppError> {
    let now = db::now();
    let ttl = chrono::Duration::from_std(state.settings.auth.code_ttl)
        .map_err(|error| AppError::Internal(anyhow::Error::new(error).context("code lifetime out of range")))?;
    db::codes::replace(conn, user_id, prepared.purpose.as_str(), prepared.hash, now, now + ttl).await?;
    Ok(())
}

/// Minutes a code lives, for the mail that carries it.
pub fn ttl_minutes(state: &AppState) -> u64 {
    state.settings.auth.code_ttl.as_secs().div_ceil(60)
}

/// Checks `code` for `user_id` and spends it. The attempt is counted before the check, and
/// the spend is conditional, so of two racing right answers exactly one succeeds.
pub async fn consume(state: &AppState, user_id: Uuid, purpose: Purpose, code: &str) -> Result<(), AppError> {
    let code = code.trim();
    let Some(stored) = db::codes::find(&state.db, user_id, purpose.as_str()).await? else {
        return Err(invalid_code());
    };
    let max_attempts = i32::try_from(state.settings.auth.code_max_attempts).unwrap_or(i32::MAX);
    if !db::codes::count_attempt(&state.db, stored.id, max_attempts, db::now()).await? {
        return Err(invalid_code());
    }
    let well_formed =
        code.len() == state.settings.auth.code_digits as usize && code.bytes().all(|b| b.is_ascii_digit());
    let matches = well_formed
        && state
            .hasher
            .verify(code.to_string(), stored.code_hash)
            .await
            .map_err(|error| AppError::Internal(error.into()))?;
    if !matches || !db::codes::consume(&state.db, stored.id, db::now()).await? {
        return Err(invalid_code());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_requested_digits() {
        for _ in 0..100 {
            let code = generate(6);
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
        assert_eq!(generate(8).len(), 8);
    }
}
