//! Rate limits for logins, password-reset requests, code submissions and registrations, per
//! address and per client IP; for chat messages and typing, per user; for every request to
//! `/graphql`, per client IP.
//!
//! In-process by default (governor). With Redis the account limits (logins, resets, codes,
//! registrations) are counted there, with the same algorithm (GCRA) and quotas, so N
//! instances do not give an attacker N times the tries. When Redis does not answer, each
//! instance falls back to its own limiter: the limit then holds per instance, never open
//! and never refusing everyone. Messages and typing stay per instance: they throttle a
//! signed-in user's flood, not a guessing attack.

use std::{
    hash::Hash,
    net::IpAddr,
    num::NonZeroU32,
    sync::{Arc, OnceLock},
};

use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock as _};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::{
    cluster::{link::RedisLink, scripts},
    config::RateLimitSettings,
    error::AppError,
};

/// A keyed limiter allowing `per_minute` events a minute (as a burst that refills evenly).
struct Limit<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    per_minute: u32,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    fn per_minute(per_minute: u32) -> Self {
        let per_minute = per_minute.max(1);
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        Self { limiter: DefaultKeyedRateLimiter::keyed(quota), per_minute }
    }

    fn check(&self, key: &K) -> Result<(), AppError> {
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            metrics::counter!("rate_limited_total").increment(1);
            AppError::RateLimited { retry_after_seconds: wait.as_secs() + u64::from(wait.subsec_nanos() > 0) }
        })
    }

    fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// Every limiter of the server.
pub struct RateLimits {
    enabled: bool,
    /// Redis, when the account limits are shared by every instance.
    shared: OnceLock<Arc<RedisLink>>,
    login_per_address: Limit<String>,
    login_per_ip: Limit<IpAddr>,
    reset_per_address: Limit<String>,
    reset_per_ip: Limit<IpAddr>,
    code_per_address: Limit<String>,
    code_per_ip: Limit<IpAddr>,
    register_per_ip: Limit<IpAddr>,
    message_per_user: Limit<Uuid>,
    typing_per_user: Limit<Uuid>,
    requests_per_ip: Limit<IpAddr>,
}

impl RateLimits {
    /// Limiters with the configured rates.
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            enabled: settings.enabled,
            shared: OnceLock::new(),
            login_per_address: Limit::per_minute(settings.login_per_address),
            login_per_ip: Limit::per_minute(settings.login_per_ip),
            reset_per_address: Limit::per_minute(settings.reset_per_address),
            reset_per_ip: Limit::per_minute(settings.reset_per_ip),
            code_per_address: Limit::per_minute(settings.code_per_address),
            code_per_ip: Limit::per_minute(settings.code_per_ip),
            register_per_ip: Limit::per_minute(settings.register_per_ip),
            message_per_user: Limit::per_minute(settings.message_per_user),
            typing_per_user: Limit::per_minute(settings.typing_per_user),
            requests_per_ip: Limit::per_minute(settings.requests_per_ip),
        }
    }

    /// Counts the account limits in Redis from now on (once).
    pub fn share(&self, link: Arc<RedisLink>) {
        let _ = self.shared.set(link);
    }

    async fn check(
        &self,
        name: &str,
        address: Option<(&Limit<String>, &str)>,
        ip: (&Limit<IpAddr>, Option<IpAddr>),
    ) -> Result<(), AppError> {
        if !self.enabled {
            return Ok(());
        }
        if let (limit, Some(ip)) = ip {
            self.check_one(limit, &ip, &format!("{name}:ip:{ip}")).await?;
        }
        if let Some((limit, address)) = address {
            // Hashed: addresses do not belong in Redis's key space.
            let hashed = Sha256::digest(address.as_bytes());
            self.check_one(limit, &address.to_string(), &format!("{name}:address:{hashed:x}")).await?;
        }
        Ok(())
    }

    /// One event for `key`: in Redis when shared and answering, else in this instance.
    async fn check_one<K: Hash + Eq + Clone>(
        &self,
        limit: &Limit<K>,
        key: &K,
        shared_key: &str,
    ) -> Result<(), AppError> {
        let Some(link) = self.shared.get() else { return limit.check(key) };
        let args = [link.prefix().to_string(), shared_key.to_string(), "60000".into(), limit.per_minute.to_string()];
        match link.script::<u64>(&scripts::RATE_LIMIT, &args).await {
            Ok(0) => Ok(()),
            Ok(wait_ms) => {
                metrics::counter!("rate_limited_total").increment(1);
                Err(AppError::RateLimited { retry_after_seconds: wait_ms.div_ceil(1000) })
            }
            Err(error) => {
                metrics::counter!("rate_limit_fallbacks_total").increment(1);
                tracing::debug!(error = %error, "Redis does not answer: this instance counts the limit itself");
                limit.check(key)
            }
        }
    }

    /// One login attempt for `address` from `ip`.
    pub async fn login(&self, address: &str, ip: Option<IpAddr>) -> Result<(), AppError> {
        self.check("login", Some((&self.login_per_address, address)), (&self.login_per_ip, ip)).await
    }

    /// One password-reset request for `address` from `ip`.
    pub async fn reset_request(&self, address: &str, ip: Option<IpAddr>) -> Result<(), AppError> {
        self.check("reset", Some((&self.reset_per_address, address)), (&self.reset_per_ip, ip)).await
    }

    /// One submission of an emailed code for `address` from `ip`.
    pub async fn code_attempt(&self, address: &str, ip: Option<IpAddr>) -> Result<(), AppError> {
        self.check("code", Some((&self.code_per_address, address)), (&self.code_per_ip, ip)).await
    }

    /// One registration from `ip`.
    pub async fn register(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
        self.check("register", None, (&self.register_per_ip, ip)).await
    }

    /// One `sendMessage` by `user_id`. Keyed by user, not IP: a signed-in flood is one
    /// account's doing wherever it comes from, and users behind one NAT do not share a quota.
    pub fn message(&self, user_id: Uuid) -> Result<(), AppError> {
        if !self.enabled {
            return Ok(());
        }
        self.message_per_user.check(&user_id)
    }

    /// One `setTyping` by `user_id`.
    pub fn typing(&self, user_id: Uuid) -> Result<(), AppError> {
        if !self.enabled {
            return Ok(());
        }
        self.typing_per_user.check(&user_id)
    }

    /// One request to `/graphql` from `ip`. Per instance, even with Redis: a flood is
    /// refused where it lands without a round trip on every request, and a balancer spreads
    /// one client over N instances at N times the rate at most.
    pub fn request(&self, ip: IpAddr) -> Result<(), AppError> {
        if !self.enabled {
            return Ok(());
        }
        self.requests_per_ip.check(&ip)
    }

    /// Drops the state of keys that are back to a full burst, so memory follows live traffic.
    pub fn forget_idle(&self) {
        self.login_per_address.forget_idle();
        self.login_per_ip.forget_idle();
        self.reset_per_address.forget_idle();
        self.reset_per_ip.forget_idle();
        self.code_per_address.forget_idle();
        self.code_per_ip.forget_idle();
        self.register_per_ip.forget_idle();
        self.message_per_user.forget_idle();
        self.typing_per_user.forget_idle();
        self.requests_per_ip.forget_idle();
    }
}
