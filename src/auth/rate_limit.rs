//! Rate limits for logins, password-reset requests, code submissions and registrations, per
//! address and per client IP; for chat messages and typing, per user. In-process (governor):
//! each instance counts its own traffic.

use std::{hash::Hash, net::IpAddr, num::NonZeroU32};

use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock as _};
use uuid::Uuid;

use crate::{config::RateLimitSettings, error::AppError};

/// A keyed limiter allowing `per_minute` events a minute (as a burst that refills evenly).
struct Limit<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Limit<K> {
    fn per_minute(per_minute: u32) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        Self { limiter: DefaultKeyedRateLimiter::keyed(quota) }
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
    login_per_address: Limit<String>,
    login_per_ip: Limit<IpAddr>,
    reset_per_address: Limit<String>,
    reset_per_ip: Limit<IpAddr>,
    code_per_address: Limit<String>,
    code_per_ip: Limit<IpAddr>,
    register_per_ip: Limit<IpAddr>,
    message_per_user: Limit<Uuid>,
    typing_per_user: Limit<Uuid>,
}

impl RateLimits {
    /// Limiters with the configured rates.
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            enabled: settings.enabled,
            login_per_address: Limit::per_minute(settings.login_per_address),
            login_per_ip: Limit::per_minute(settings.login_per_ip),
            reset_per_address: Limit::per_minute(settings.reset_per_address),
            reset_per_ip: Limit::per_minute(settings.reset_per_ip),
            code_per_address: Limit::per_minute(settings.code_per_address),
            code_per_ip: Limit::per_minute(settings.code_per_ip),
            register_per_ip: Limit::per_minute(settings.register_per_ip),
            message_per_user: Limit::per_minute(settings.message_per_user),
            typing_per_user: Limit::per_minute(settings.typing_per_user),
        }
    }

    fn check(
        &self,
        address: Option<(&Limit<String>, &str)>,
        ip: (&Limit<IpAddr>, Option<IpAddr>),
    ) -> Result<(), AppError> {
        if !self.enabled {
            return Ok(());
        }
        if let (limit, Some(ip)) = ip {
            limit.check(&ip)?;
        }
        if let Some((limit, address)) = address {
            limit.check(&address.to_string())?;
        }
        Ok(())
    }

    /// One login attempt for `address` from `ip`.
    pub fn login(&self, address: &str, ip: Option<IpAddr>) -> Result<(), AppError> {
        self.check(Some((&self.login_per_address, address)), (&self.login_per_ip, ip))
    }

    /// One password-reset request for `address` from `ip`.
    pub fn reset_request(&self, address: &str, ip: Option<IpAddr>) -> Result<(), AppError> {
        self.check(Some((&self.reset_per_address, address)), (&self.reset_per_ip, ip))
    }

    /// One submission of an emailed code for `address` from `ip`.
    pub fn code_attempt(&self, address: &str, ip: Option<IpAddr>) -> Result<(), AppError> {
        self.check(Some((&self.code_per_address, address)), (&self.code_per_ip, ip))
    }

    /// One registration from `ip`.
    pub fn register(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
        self.check(None, (&self.register_per_ip, ip))
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
    }
}
