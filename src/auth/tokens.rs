//! Tokens: HS256 JWTs naming one login session. The signature proves the server issued it;
//! the session row decides whether it is still valid.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Issuer and audience of every token: a token of another service is refused.
const ISSUER: &str = "townsquare";
const AUDIENCE: &str = "townsquare";
/// Clock skew tolerated between instances, in seconds (the contract allows at most 60).
const LEEWAY_SECONDS: u64 = 30;

/// The claims of a token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    sid: Uuid,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// What a valid token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSubject {
    /// The user.
    pub user_id: Uuid,
    /// The login session.
    pub session_id: Uuid,
}

/// The signing key and the validation rules.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    /// Keys from `JWT_SECRET`, or from 64 random bytes when it is unset (development).
    pub fn new(secret: Option<&str>) -> Self {
        let random: [u8; 32] = rand::random();
        let secret: Vec<u8> = match secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => [random, rand::random::<[u8; 32]>()].concat(),
        };
        // HS256 pinned: a token whose header names another algorithm (`none` included) is
        // refused before its signature is looked at.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["sub", "iat", "exp", "iss", "aud"]);
        validation.leeway = LEEWAY_SECONDS;
        // `nbf` is checked when a token carries one (ours do not): one not valid yet is refused.
        validation.validate_nbf = true;
        Self { encoding: EncodingKey::from_secret(&secret), decoding: DecodingKey::from_secret(&secret), validation }
    }

    /// A token for `session_id` of `user_id`, valid until `expires_at`.
    pub fn issue(&self, user_id: Uuid, session_id: Uuid, expires_at: DateTime<Utc>) -> anyhow::Result<String> {
        let claims = Claims {
            sub: user_id,
            sid: session_id,
            iat: Utc::now().timestamp(),
            exp: expires_at.timestamp(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// What `token` names, if its signature, algorithm, issuer, audience and expiry hold.
    pub fn verify(&self, token: &str) -> Option<TokenSubject> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        // jsonwebtoken does not look at `iat`: a token issued later than now (past the skew
        // tolerated) was signed by a clock that is wrong, and is not valid yet.
        if data.claims.iat > Utc::now().timestamp().saturating_add(LEEWAY_SECONDS as i64) {
            return None;
        }
        Some(TokenSubject { user_id: data.claims.sub, session_id: data.claims.sid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_a_foreign_key_is_refused() {
        let keys = TokenKeys::new(Some(&"k".repeat(32)));
        let (user_id, session_id) = (Uuid::now_v7(), Uuid::now_v7());
        let token = keys.issue(user_id, session_id, Utc::now() + chrono::Duration::hours(1)).unwrap();
        assert_eq!(keys.verify(&token), Some(TokenSubject { user_id, session_id }));
        assert_eq!(TokenKeys::new(Some(&"o".repeat(32))).verify(&token), None, "another secret");
        let expired = keys.issue(user_id, session_id, Utc::now() - chrono::Duration::hours(1)).unwrap();
        assert_eq!(keys.verify(&expired), None, "expired beyond the leeway");
    }
}
