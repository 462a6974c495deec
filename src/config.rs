//! Settings: every environment variable the server reads, parsed once into one typed struct.
//!
//! Values come from the process environment and an optional `.env` file (loaded by `main`
//! before the runtime starts). A bad value stops start-up with one line that names the
//! variable and says what it expects; nothing falls back silently.

use std::{net::IpAddr, time::Duration};

use url::Url;

/// Where the server runs: production refuses unsafe defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    /// Local use: GraphiQL, introspection and suggestions on; a random JWT secret is allowed.
    Development,
    /// Public use: unsafe defaults are refused at start-up.
    Production,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object a line, for log collectors.
    Json,
}

/// A setting that could not be read: the variable, the value it had, and what it expects.
#[derive(Debug, thiserror::Error)]
#[error("{var}={value:?} is not valid: expected {expected}")]
pub struct ConfigError {
    /// The environment variable.
    pub var: &'static str,
    /// The value it held.
    pub value: String,
    /// What it should hold, as a phrase.
    pub expected: String,
}

/// The query-document limits of the GraphQL endpoint.
#[derive(Debug, Clone)]
pub struct QueryLimits {
    /// `MAX_QUERY_LENGTH`: characters in one document.
    pub max_length: usize,
    /// `MAX_QUERY_DEPTH`: nesting depth of selection sets.
    pub max_depth: usize,
    /// `MAX_QUERY_ALIASES`: aliased fields in one document.
    pub max_aliases: usize,
    /// `MAX_QUERY_DIRECTIVES`: directives in one document.
    pub max_directives: usize,
    /// `MAX_QUERY_COMPLEXITY`: the complexity budget (each field costs 1, lists cost per item).
    pub max_complexity: usize,
    /// `MAX_INTROSPECTION_LIST_DEPTH`: how deep `fields`, `inputFields`, `interfaces` and
    /// `possibleTypes` may nest in one another inside introspection.
    pub max_introspection_lists: usize,
    /// `MAX_INTROSPECTION_TYPE_DEPTH`: how deep `ofType` may nest inside introspection.
    pub max_introspection_type_depth: usize,
}

/// The database pool, as API.md names its knobs.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// `DB_POOL_SIZE`: connections kept open (sqlx `min_connections`).
    pub size: u32,
    /// `DB_MAX_OVERFLOW`: extra connections opened under load (sqlx `max_connections` = size + overflow).
    pub max_overflow: u32,
    /// `DB_POOL_TIMEOUT_SECONDS`: how long a request waits for a free connection.
    pub timeout: Duration,
    /// `DB_POOL_RECYCLE_SECONDS`: a connection's lifetime before it is replaced.
    pub recycle: Duration,
    /// `DB_POOL_IDLE_SECONDS`: how long an overflow connection may sit idle before it closes.
    pub idle: Duration,
}

/// Login sessions and emailed codes.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `SESSION_LIFETIME_HOURS`: a login session's absolute lifetime.
    pub session_lifetime: Duration,
    /// `SESSION_IDLE_HOURS`: a login session unused this long expires.
    pub session_idle: Duration,
    /// `CODE_TTL_MINUTES`: how long an emailed code lives.
    pub code_ttl: Duration,
    /// `CODE_MAX_ATTEMPTS`: wrong tries after which a code dies.
    pub code_max_attempts: u32,
    /// `CODE_DIGITS`: digits of an emailed code (6 or more).
    pub code_digits: u32,
    /// `HASH_CONCURRENCY`: password hashes computed at once; the rest wait their turn, so
    /// logins never take every core from the other requests.
    pub hash_concurrency: usize,
    /// `CLEANUP_INTERVAL_SECONDS`: how often expired sessions and codes are removed.
    pub cleanup_interval: Duration,
}

/// Per-minute rate limits (each a burst that refills over a minute).
#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    /// `RATE_LIMITS`: `off` switches every limit off.
    pub enabled: bool,
    /// `LOGIN_ATTEMPTS_PER_MINUTE_PER_ADDRESS`.
    pub login_per_address: u32,
    /// `LOGIN_ATTEMPTS_PER_MINUTE_PER_IP`.
    pub login_per_ip: u32,
    /// `RESET_REQUESTS_PER_MINUTE_PER_ADDRESS`: also bounds reset mail to one a minute.
    pub reset_per_address: u32,
    /// `RESET_REQUESTS_PER_MINUTE_PER_IP`.
    pub reset_per_ip: u32,
    /// `CODE_ATTEMPTS_PER_MINUTE_PER_ADDRESS`: submissions of emailed codes.
    pub code_per_address: u32,
    /// `CODE_ATTEMPTS_PER_MINUTE_PER_IP`.
    pub code_per_ip: u32,
    /// `REGISTRATIONS_PER_MINUTE_PER_IP`.
    pub register_per_ip: u32,
    /// `MESSAGES_PER_MINUTE_PER_USER`: `sendMessage` calls per signed-in user.
    pub message_per_user: u32,
    /// `TYPING_PER_MINUTE_PER_USER`: `setTyping` calls per signed-in user.
    pub typing_per_user: u32,
    /// `REQUESTS_PER_MINUTE_PER_IP`: requests to `/graphql` (HTTP and socket upgrades) per
    /// client IP.
    pub requests_per_ip: u32,
}

/// The mail outbox worker.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `MAIL_POLL_INTERVAL_SECONDS`: how often the worker looks for mail that is due (it is
    /// also woken at once when mail is queued).
    pub poll_interval: Duration,
    /// `MAIL_MAX_ATTEMPTS`: delivery attempts before a mail is marked abandoned.
    pub max_attempts: u32,
    /// `MAIL_RETRY_BASE_SECONDS`: the first back-off; each retry doubles it (with jitter).
    pub retry_base: Duration,
    /// `MAIL_RETRY_MAX_SECONDS`: the longest back-off.
    pub retry_max: Duration,
    /// `MAIL_SEND_TIMEOUT_SECONDS`: one SMTP delivery's time limit.
    pub send_timeout: Duration,
    /// `MAX_PENDING_MAILS_PER_ADDRESS`: pending mails one address may have; past it the
    /// oldest code mails that a newer code replaces are dropped (see `mail::bound`).
    pub max_pending_per_address: u32,
}

/// Every setting of the server. Built by [`Settings::from_env`]; tests build it directly.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `HOST`: the address to listen on.
    pub host: IpAddr,
    /// `PORT`: the port to listen on; 0 picks a free one (tests).
    pub port: u16,
    /// `APP_ENV`: development or production.
    pub app_env: AppEnv,
    /// `DATABASE_URL`: `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// The pool knobs.
    pub pool: PoolSettings,
    /// `REDIS_URL`: unset for one instance with events in memory.
    pub redis_url: Option<Url>,
    /// `REDIS_KEY_PREFIX`: the start of every Redis key and channel, so deployments and test
    /// runs can share one Redis.
    pub redis_key_prefix: String,
    /// `SMTP_URL`: unset to write mail to the log. Holds credentials: never log it whole.
    pub smtp_url: Option<Url>,
    /// `MAIL_FROM`: the sender of every mail.
    pub mail_from: String,
    /// `JWT_SECRET`: at least 32 bytes; `None` means a random secret for this process.
    pub jwt_secret: Option<String>,
    /// `ADMIN_EMAILS`: lower-cased addresses whose accounts get role ADMIN.
    pub admin_emails: Vec<String>,
    /// `SESSION_TIMEOUT_MINUTES`: idle time after which a subscription connection closes.
    pub session_timeout: Duration,
    /// `SESSION_SWEEP_INTERVAL_SECONDS`: how often idle connections are looked for.
    pub session_sweep_interval: Duration,
    /// `CONNECTION_INIT_TIMEOUT_SECONDS`: time a new socket has to send connection_init.
    pub connection_init_timeout: Duration,
    /// `KEEPALIVE_INTERVAL_SECONDS`: server ping interval.
    pub keepalive_interval: Duration,
    /// `SESSION_TOUCH_INTERVAL_SECONDS`: at most how often a session's `lastSeenAt` is written.
    pub session_touch_interval: Duration,
    /// `MAX_CONNECTIONS_PER_USER`: live subscription connections one user may hold.
    pub max_connections_per_user: u32,
    /// `MAX_CONNECTIONS_PER_IP`: subscription sockets one client address may hold.
    pub max_connections_per_ip: u32,
    /// `MAX_SUBSCRIBES_PER_SECOND`: `subscribe` messages one socket may send a second, with
    /// five seconds' worth at once (a reconnecting client resubscribes everything).
    pub max_subscribes_per_second: u32,
    /// `MAX_OPERATIONS_PER_CONNECTION`: operations one socket may run at once.
    pub max_operations_per_connection: usize,
    /// `TYPING_TIMEOUT_SECONDS`: a typing indicator lapses after this long without renewal.
    pub typing_timeout: Duration,
    /// `EVENT_BUFFER`: events a subscriber may fall behind by before its socket is closed as
    /// a slow consumer (1008).
    pub event_buffer: usize,
    /// `ALLOWED_ORIGINS`: exact origins allowed for sockets and CORS; `None` means the
    /// environment's default (any in development, same-origin only in production).
    pub allowed_origins: Option<Vec<String>>,
    /// `TRUSTED_PROXIES`: addresses of load balancers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Login sessions and codes.
    pub auth: AuthSettings,
    /// Rate limits.
    pub rate_limits: RateLimitSettings,
    /// The mail worker.
    pub mail: MailSettings,
    /// `GRAPHIQL`: serve `/graphiql` (default: on in development only).
    pub graphiql: bool,
    /// `INTROSPECTION`: answer introspection and suggest field names (default: on in development only).
    pub introspection: bool,
    /// The query-document limits.
    pub query_limits: QueryLimits,
    /// `MAX_BODY_BYTES`: request bodies over this get 413.
    pub max_body_bytes: usize,
    /// `PERSISTED_QUERIES_MAX_BYTES`: documents of automatic persisted queries kept per
    /// instance, least recently used evicted first.
    pub persisted_queries_max_bytes: u64,
    /// `REQUEST_TIMEOUT_SECONDS`: an HTTP request running longer gets 408.
    pub request_timeout: Duration,
    /// `HEADER_READ_TIMEOUT_SECONDS`: how long a connection may take to send a request's
    /// headers, counted from its opening or from the end of its previous response; so also
    /// how long a kept-alive connection may sit idle.
    pub header_read_timeout: Duration,
    /// `MAX_HEADER_BYTES`: the request line and headers together, at least 8192; larger
    /// gets 431.
    pub max_header_bytes: usize,
    /// `SEED_DEMO`: fill an empty database with demo data at start-up (default: on in development).
    pub seed_demo: bool,
    /// `LOG_FORMAT`: `pretty` or `json`.
    pub log_format: LogFormat,
}

/// The SQLite file used when `DATABASE_URL` is unset.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://townsquare.db?mode=rwc";

/// The smallest `MAX_HEADER_BYTES`: hyper's minimum read buffer.
pub const MIN_HEADER_BYTES: usize = 8192;

impl Settings {
    /// Reads every setting from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads every setting through `lookup`, so tests can supply a map instead of the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env { lookup: &lookup };
        let app_env = match env.get("APP_ENV").as_deref() {
            None | Some("development") => AppEnv::Development,
            Some("production") => AppEnv::Production,
            Some(other) => return Err(invalid("APP_ENV", other, "`development` or `production`")),
        };
        let production = app_env == AppEnv::Production;

        let database_url = env.get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            let shown = redact_url(&database_url);
            return Err(invalid("DATABASE_URL", &shown, "a `sqlite://…` or `postgres://…` URL"));
        }

        let redis_url = env.url("REDIS_URL", &["redis", "rediss"], "a `redis://…` or `rediss://…` URL")?;
        let redis_key_prefix = env.get("REDIS_KEY_PREFIX").unwrap_or_else(|| "townsquare".into());
        if redis_key_prefix.is_empty()
            || redis_key_prefix.len() > 64
            || !redis_key_prefix.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            return Err(invalid(
                "REDIS_KEY_PREFIX",
                &redis_key_prefix,
                "1 to 64 letters, digits, `_`, `-` or `.` (keys are `<prefix>:…`)",
            ));
        }
        let smtp_url =
            env.url("SMTP_URL", &["smtp", "smtps"], "a `smtp://host:port` or `smtps://user:pass@host:465` URL")?;
        if let Some(url) = &smtp_url {
            // lettre's own reading of the URL (tls=, credentials, port), without connecting.
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url.as_str()).map_err(|_| {
                invalid(
                    "SMTP_URL",
                    &redact_url(url.as_str()),
                    "a URL lettre accepts, e.g. smtp://user:pass@host:587?tls=required",
                )
            })?;
        }
        let mail_from = env.get("MAIL_FROM").unwrap_or_else(|| "townsquare <no-reply@localhost>".into());
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid("MAIL_FROM", &mail_from, "a sender such as `townsquare <no-reply@example.com>`"));
        }

        let jwt_secret = env.get("JWT_SECRET");
        if let Some(secret) = &jwt_secret {
            if secret.len() < 32 {
                return Err(invalid("JWT_SECRET", "(hidden)", "at least 32 bytes"));
            }
        } else if production {
            return Err(invalid("JWT_SECRET", "", "a secret of at least 32 bytes when APP_ENV=production"));
        }

        let rate_limits_enabled = match env.get("RATE_LIMITS").as_deref() {
            None | Some("on") => true,
            Some("off") if production => {
                return Err(invalid("RATE_LIMITS", "off", "`on` when APP_ENV=production"));
            }
            Some("off") => false,
            Some(other) => return Err(invalid("RATE_LIMITS", other, "`on` or `off`")),
        };

        let log_format = match env.get("LOG_FORMAT").as_deref() {
            None | Some("pretty") | Some("text") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(invalid("LOG_FORMAT", other, "`pretty` or `json`")),
        };

        let pool_size = env.positive_u32("DB_POOL_SIZE", 5)?;
        Ok(Self {
            host: env.parse(
                "HOST",
                "127.0.0.1".parse().expect("a literal address"),
                "an IP address such as 127.0.0.1",
            )?,
            port: env.parse("PORT", 8000, "a port number from 0 to 65535")?,
            app_env,
            database_url,
            pool: PoolSettings {
                size: pool_size,
                max_overflow: env.parse("DB_MAX_OVERFLOW", 10, "a whole number of extra connections (0 or more)")?,
                timeout: env.positive_duration("DB_POOL_TIMEOUT_SECONDS", 5.0, 1.0)?,
                recycle: env.positive_duration("DB_POOL_RECYCLE_SECONDS", 1800.0, 1.0)?,
                idle: env.positive_duration("DB_POOL_IDLE_SECONDS", 300.0, 1.0)?,
            },
            redis_url,
            redis_key_prefix,
            smtp_url,
            mail_from,
            jwt_secret,
            admin_emails: env
                .get("ADMIN_EMAILS")
                .map(|list| {
                    list.split(',').map(|email| email.trim().to_lowercase()).filter(|email| !email.is_empty()).collect()
                })
                .unwrap_or_default(),
            session_timeout: env.positive_duration("SESSION_TIMEOUT_MINUTES", 30.0, 60.0)?,
            session_sweep_interval: env.positive_duration("SESSION_SWEEP_INTERVAL_SECONDS", 60.0, 1.0)?,
            connection_init_timeout: env.positive_duration("CONNECTION_INIT_TIMEOUT_SECONDS", 10.0, 1.0)?,
            keepalive_interval: env.positive_duration("KEEPALIVE_INTERVAL_SECONDS", 30.0, 1.0)?,
            session_touch_interval: env.positive_duration("SESSION_TOUCH_INTERVAL_SECONDS", 60.0, 1.0)?,
            max_connections_per_user: env.positive_u32("MAX_CONNECTIONS_PER_USER", 20)?,
            max_operations_per_connection: env.positive_usize("MAX_OPERATIONS_PER_CONNECTION", 100)?,
            max_connections_per_ip: env.positive_u32("MAX_CONNECTIONS_PER_IP", 200)?,
            max_subscribes_per_second: env.positive_u32("MAX_SUBSCRIBES_PER_SECOND", 20)?,
            typing_timeout: env.positive_duration("TYPING_TIMEOUT_SECONDS", 6.0, 1.0)?,
            event_buffer: env.positive_usize("EVENT_BUFFER", 256)?,
            trusted_proxies: match env.get("TRUSTED_PROXIES") {
                None => Vec::new(),
                Some(list) => list
                    .split(',')
                    .map(str::trim)
                    .filter(|entry| !entry.is_empty())
                    .map(|entry| {
                        entry.parse().map_err(|_| {
                            invalid("TRUSTED_PROXIES", entry, "comma-separated IP addresses, e.g. 127.0.0.1,10.0.0.2")
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
            allowed_origins: env.get("ALLOWED_ORIGINS").map(|list| {
                list.split(',')
                    .map(|origin| origin.trim().trim_end_matches('/').to_string())
                    .filter(|origin| !origin.is_empty())
                    .collect()
            }),
            auth: AuthSettings {
                session_lifetime: env.positive_duration("SESSION_LIFETIME_HOURS", 720.0, 3600.0)?,
                session_idle: env.positive_duration("SESSION_IDLE_HOURS", 168.0, 3600.0)?,
                code_ttl: env.positive_duration("CODE_TTL_MINUTES", 10.0, 60.0)?,
                code_max_attempts: env.positive_u32("CODE_MAX_ATTEMPTS", 5)?,
                code_digits: {
                    let digits = env.positive_u32("CODE_DIGITS", 6)?;
                    if !(6..=12).contains(&digits) {
                        return Err(invalid("CODE_DIGITS", &digits.to_string(), "a number of digits from 6 to 12"));
                    }
                    digits
                },
                hash_concurrency: env.positive_usize("HASH_CONCURRENCY", default_hash_concurrency())?,
                cleanup_interval: env.positive_duration("CLEANUP_INTERVAL_SECONDS", 60.0, 1.0)?,
            },
            rate_limits: RateLimitSettings {
                enabled: rate_limits_enabled,
                login_per_address: env.positive_u32("LOGIN_ATTEMPTS_PER_MINUTE_PER_ADDRESS", 5)?,
                login_per_ip: env.positive_u32("LOGIN_ATTEMPTS_PER_MINUTE_PER_IP", 20)?,
                reset_per_address: env.positive_u32("RESET_REQUESTS_PER_MINUTE_PER_ADDRESS", 1)?,
                reset_per_ip: env.positive_u32("RESET_REQUESTS_PER_MINUTE_PER_IP", 5)?,
                code_per_address: env.positive_u32("CODE_ATTEMPTS_PER_MINUTE_PER_ADDRESS", 5)?,
                code_per_ip: env.positive_u32("CODE_ATTEMPTS_PER_MINUTE_PER_IP", 10)?,
                register_per_ip: env.positive_u32("REGISTRATIONS_PER_MINUTE_PER_IP", 10)?,
                message_per_user: env.positive_u32("MESSAGES_PER_MINUTE_PER_USER", 30)?,
                typing_per_user: env.positive_u32("TYPING_PER_MINUTE_PER_USER", 60)?,
                requests_per_ip: env.positive_u32("REQUESTS_PER_MINUTE_PER_IP", 3000)?,
            },
            mail: MailSettings {
                poll_interval: env.positive_duration("MAIL_POLL_INTERVAL_SECONDS", 5.0, 1.0)?,
                max_attempts: env.positive_u32("MAIL_MAX_ATTEMPTS", 8)?,
                retry_base: env.positive_duration("MAIL_RETRY_BASE_SECONDS", 2.0, 1.0)?,
                retry_max: env.positive_duration("MAIL_RETRY_MAX_SECONDS", 600.0, 1.0)?,
                send_timeout: env.positive_duration("MAIL_SEND_TIMEOUT_SECONDS", 30.0, 1.0)?,
                max_pending_per_address: env.positive_u32("MAX_PENDING_MAILS_PER_ADDRESS", 5)?,
            },
            graphiql: env.flag("GRAPHIQL", !production)?,
            introspection: env.flag("INTROSPECTION", !production)?,
            query_limits: QueryLimits {
                max_length: env.positive_usize("MAX_QUERY_LENGTH", 15_000)?,
                max_depth: env.positive_usize("MAX_QUERY_DEPTH", 10)?,
                max_aliases: env.positive_usize("MAX_QUERY_ALIASES", 15)?,
                max_directives: env.positive_usize("MAX_QUERY_DIRECTIVES", 50)?,
                max_complexity: env.positive_usize("MAX_QUERY_COMPLEXITY", 10_000)?,
                // graphql-js and Apollo Router allow 2; the standard introspection query uses 1.
                max_introspection_lists: env.positive_usize("MAX_INTROSPECTION_LIST_DEPTH", 2)?,
                // graphql-js 16's introspection query asks for 9 levels.
                max_introspection_type_depth: env.positive_usize("MAX_INTROSPECTION_TYPE_DEPTH", 12)?,
            },
            persisted_queries_max_bytes: env.positive_usize("PERSISTED_QUERIES_MAX_BYTES", 8 * 1024 * 1024)? as u64,
            max_body_bytes: env.positive_usize("MAX_BODY_BYTES", 1024 * 1024)?,
            request_timeout: env.positive_duration("REQUEST_TIMEOUT_SECONDS", 30.0, 1.0)?,
            header_read_timeout: env.positive_duration("HEADER_READ_TIMEOUT_SECONDS", 10.0, 1.0)?,
            max_header_bytes: {
                // hyper's smallest read buffer; it refuses (panics on) anything below.
                let bytes = env.positive_usize("MAX_HEADER_BYTES", 16 * 1024)?;
                if bytes < MIN_HEADER_BYTES {
                    return Err(invalid("MAX_HEADER_BYTES", &bytes.to_string(), "at least 8192"));
                }
                bytes
            },
            seed_demo: env.flag("SEED_DEMO", !production)?,
            log_format,
        })
    }

    /// True when `APP_ENV=production`.
    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }

    /// The largest number of pooled database connections.
    pub fn pool_max_connections(&self) -> u32 {
        self.pool.size + self.pool.max_overflow
    }
}

/// One hashing thread fewer than the cores (at least one), so a burst of logins leaves a
/// core for everything else.
fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism().map(|cores| cores.get().saturating_sub(1).max(1)).unwrap_or(1)
}

fn invalid(var: &'static str, value: &str, expected: &str) -> ConfigError {
    ConfigError { var, value: value.to_string(), expected: expected.to_string() }
}

/// Hides the password of a URL before it is shown in an error.
fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => raw.to_string(),
    }
}

/// Typed reads of one variable each; an empty value counts as unset.
struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Env<'_> {
    fn get(&self, var: &str) -> Option<String> {
        (self.lookup)(var).map(|value| value.trim().to_string()).filter(|value| !value.is_empty())
    }

    fn parse<T: std::str::FromStr>(&self, var: &'static str, default: T, expected: &str) -> Result<T, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|_| invalid(var, &raw, expected)),
        }
    }

    fn positive_u32(&self, var: &'static str, default: u32) -> Result<u32, ConfigError> {
        let value = self.parse(var, default, "a whole number greater than 0")?;
        if value == 0 {
            return Err(invalid(var, "0", "a whole number greater than 0"));
        }
        Ok(value)
    }

    fn positive_usize(&self, var: &'static str, default: usize) -> Result<usize, ConfigError> {
        let value = self.parse(var, default, "a whole number greater than 0")?;
        if value == 0 {
            return Err(invalid(var, "0", "a whole number greater than 0"));
        }
        Ok(value)
    }

    /// A positive number of units (fractions allowed), `seconds_per_unit` seconds each.
    fn positive_duration(
        &self,
        var: &'static str,
        default: f64,
        seconds_per_unit: f64,
    ) -> Result<Duration, ConfigError> {
        let expected = "a number greater than 0 (fractions allowed, e.g. 0.5)";
        let value: f64 = self.parse(var, default, expected)?;
        if !value.is_finite() || value <= 0.0 {
            return Err(invalid(var, &value.to_string(), expected));
        }
        Duration::try_from_secs_f64(value * seconds_per_unit).map_err(|_| invalid(var, &value.to_string(), expected))
    }

    fn flag(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).map(|value| value.to_lowercase()).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "on" | "yes") => Ok(true),
            Some("0" | "false" | "off" | "no") => Ok(false),
            Some(other) => Err(invalid(var, other, "`on` or `off`")),
        }
    }

    fn url(&self, var: &'static str, schemes: &[&str], expected: &str) -> Result<Option<Url>, ConfigError> {
        let Some(raw) = self.get(var) else { return Ok(None) };
        match Url::parse(&raw) {
            Ok(url) if schemes.contains(&url.scheme()) => Ok(Some(url)),
            _ => Err(invalid(var, &redact_url(&raw), expected)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings_with(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_follow_the_contract() {
        let settings = settings_with(&[]).expect("defaults are valid");
        assert_eq!(settings.port, 8000);
        assert_eq!(settings.session_timeout, Duration::from_secs(30 * 60));
        assert_eq!(settings.max_connections_per_user, 20);
        assert_eq!(settings.max_operations_per_connection, 100);
        assert_eq!(settings.max_connections_per_ip, 200);
        assert_eq!(settings.max_subscribes_per_second, 20);
        assert_eq!(settings.mail.max_pending_per_address, 5);
        assert_eq!(settings.rate_limits.requests_per_ip, 3000);
        assert_eq!(settings.header_read_timeout, Duration::from_secs(10));
        assert_eq!(settings.max_header_bytes, 16 * 1024);
        assert!(settings.database_url.starts_with("sqlite:"));
        assert!(settings.graphiql && settings.introspection);
    }

    #[test]
    fn fractions_of_minutes_are_allowed() {
        let settings = settings_with(&[("SESSION_TIMEOUT_MINUTES", "0.05")]).expect("valid");
        assert_eq!(settings.session_timeout, Duration::from_secs(3));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases: &[(&str, &str, &str)] = &[
            ("PORT", "abc", "a word is not a port"),
            ("PORT", "70000", "ports stop at 65535"),
            ("SESSION_TIMEOUT_MINUTES", "0", "a zero timeout would close every socket"),
            ("SESSION_SWEEP_INTERVAL_SECONDS", "-1", "negative intervals make no sense"),
            ("DATABASE_URL", "mysql://x", "MySQL is not supported"),
            ("REDIS_URL", "http://x", "only redis URLs"),
            ("SMTP_URL", "ftp://x", "only smtp URLs"),
            ("SMTP_URL", "smtp://host:25?tls=sometimes", "a TLS mode lettre does not know"),
            ("MAIL_FROM", "not an address", "a sender needs an address"),
            ("JWT_SECRET", "short", "a short secret is guessable"),
            ("MAX_CONNECTIONS_PER_USER", "0", "zero would refuse every socket"),
            ("EVENT_BUFFER", "0", "a subscriber must be allowed at least one pending event"),
            ("APP_ENV", "staging", "only two environments exist"),
            ("DB_POOL_SIZE", "0", "a pool needs a connection"),
            ("RATE_LIMITS", "maybe", "only on or off"),
            ("MAX_HEADER_BYTES", "4096", "below hyper's smallest buffer"),
        ];
        for (var, value, reason) in cases {
            let error = settings_with(&[(var, value)]).expect_err(reason);
            assert_eq!(error.var, *var, "{reason}");
            assert!(!error.to_string().contains('\n'), "one line: {error}");
        }
    }

    #[test]
    fn production_refuses_unsafe_defaults() {
        let error = settings_with(&[("APP_ENV", "production")]).expect_err("no secret");
        assert_eq!(error.var, "JWT_SECRET");
        let secret = "x".repeat(32);
        let error = settings_with(&[("APP_ENV", "production"), ("JWT_SECRET", &secret), ("RATE_LIMITS", "off")])
            .expect_err("rate limits cannot be off in production");
        assert_eq!(error.var, "RATE_LIMITS");
        let settings = settings_with(&[("APP_ENV", "production"), ("JWT_SECRET", &secret)]).expect("valid");
        assert!(!settings.graphiql && !settings.introspection && !settings.seed_demo);
    }

    #[test]
    fn passwords_in_urls_never_reach_the_error() {
        let error = settings_with(&[("DATABASE_URL", "mysql://root:hunter2@db/x")]).expect_err("mysql");
        assert!(!error.to_string().contains("hunter2"));
    }
}
