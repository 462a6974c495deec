//! The database: connecting with the pool the settings describe, migrations, health, and the
//! query functions the rest of the server calls. Query functions take `&impl ConnectionTrait`
//! so they work on the pool and inside a transaction alike.

pub mod chat;
pub mod codes;
pub mod contacts;
pub mod entities;
pub mod feed;
pub mod notifications;
pub mod outbox;
pub mod posts;
pub mod sessions;
pub mod statements;
pub mod users;

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use migration::MigratorTrait as _;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr, RuntimeErr};

use crate::config::Settings;
pub use statements::StatementCounter;

/// How long SQLite waits for a lock held by another connection before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a pooled connection may sit unused before it is pinged at checkout.
const POOL_PING_AFTER_IDLE: Duration = Duration::from_secs(5);

/// Opens the pool described by `settings` and applies pending migrations.
///
/// Every statement passes through `counter`, which feeds the metrics and lets tests count
/// the statements one request issues.
pub async fn connect(settings: &Settings, counter: Arc<StatementCounter>) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(settings.database_url.clone());
    // DB_POOL_SIZE connections stay open; DB_MAX_OVERFLOW more open under load and close
    // again after DB_POOL_IDLE_SECONDS idle; every connection is replaced after
    // DB_POOL_RECYCLE_SECONDS; a request waits DB_POOL_TIMEOUT_SECONDS for one at most.
    options
        .min_connections(settings.pool.size)
        .max_connections(settings.pool_max_connections())
        .acquire_timeout(settings.pool.timeout)
        .connect_timeout(settings.pool.timeout)
        .idle_timeout(settings.pool.idle)
        .max_lifetime(settings.pool.recycle)
        // A connection idle for a while may have been dropped (a database restart, a proxy's
        // idle cut), so it is pinged before use; one in steady use is not. A ping on every
        // checkout, the default, added a round trip to each request (~0.1–0.3 ms here).
        .test_before_acquire_if_idle_for(POOL_PING_AFTER_IDLE)
        // Statements are traced by the metric callback below; sqlx's own per-statement logs
        // would repeat each one at INFO.
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            // WAL lets readers run beside the one writer; the busy timeout makes a writer
            // wait for the lock instead of failing at once; foreign keys are off by default
            // in SQLite and our cascades need them.
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
                .create_if_missing(true)
        });
    let mut db = Database::connect(options)
        .await
        .with_context(|| format!("could not connect to the database at {}", redacted(&settings.database_url)))?;
    db.set_metric_callback(move |info| counter.record(info));
    migration::Migrator::up(&db, None).await.context("could not apply database migrations")?;
    Ok(db)
}

/// The current time at the precision every backend stores (microseconds), so a timestamp
/// read back, or carried in a cursor, equals the one written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound as _;
    chrono::Utc::now().trunc_subsecs(6)
}

/// Answers whether the database responds, for `/readyz`.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

/// True when the error means the database cannot be reached (down, pool exhausted, I/O),
/// as opposed to a bad statement: those become `SERVICE_UNAVAILABLE`.
pub fn is_unavailable(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause)) => matches!(
            cause.as_ref(),
            sea_orm::sqlx::Error::Io(_)
                | sea_orm::sqlx::Error::PoolTimedOut
                | sea_orm::sqlx::Error::PoolClosed
                | sea_orm::sqlx::Error::WorkerCrashed
                | sea_orm::sqlx::Error::Tls(_)
        ),
        _ => false,
    }
}

/// The URL with its password hidden, for logs and errors.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// Pool occupancy for the metrics endpoint: (open connections, idle connections, max).
pub fn pool_usage(db: &DatabaseConnection, max: u32) -> (u32, u32, u32) {
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle() as u32, max)
        }
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle() as u32, max)
        }
        _ => (0, 0, max),
    }
}

/// `n` bind placeholders starting at `first` in the backend's syntax, comma-separated:
/// `$3, $4` for PostgreSQL, `?, ?` for SQLite. For the few hand-written statements
/// (window functions) that the query builder would only obscure.
pub fn placeholders(backend: DatabaseBackend, first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| if backend == DatabaseBackend::Postgres { format!("${i}") } else { "?".to_string() })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `statement` on any connection and maps the rows with `T::from_query_result`.
pub async fn fetch_all<T: sea_orm::FromQueryResult>(
    conn: &impl ConnectionTrait,
    statement: sea_orm::Statement,
) -> Result<Vec<T>, DbErr> {
    conn.query_all_raw(statement).await?.iter().map(|row| T::from_query_result(row, "")).collect()
}
