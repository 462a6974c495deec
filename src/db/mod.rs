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

/// How long a pooled connection may sit unused before it is pinged at checkout.
const POOL_PING_AFTER_IDLE: Duration = Duration::from_secs(5);

/// Opens the pool described by `settings` and applies pending migrations.
///
/// Every statement passes through `counter`, which feeds the metrics and lets tests count
/// the statements one request issues.
pub async fn connect(settings: &Settings, counter: Arc<StatementCounter>) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(settings.database_url.clone());
    // A statement waits for SQLite's write lock no longer than a request waits for a
    // connection: while another process holds the lock, writes fail with
    // SERVICE_UNAVAILABLE within DB_POOL_TIMEOUT_SECONDS, as on PostgreSQL.
    let busy_timeout = settings.pool.timeout;
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
        .map_sqlx_sqlite_opts(move |opts| {
            // WAL lets readers run beside the one writer; the busy timeout makes a writer
            // wait for the lock instead of failing at once; foreign keys are off by default
            // in SQLite and our cascades need them.
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(busy_timeout)
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

/// True when the error means the database cannot be reached (down, pool exhausted, I/O,
/// locked by another process past the busy timeout, shutting down), as opposed to a bad
/// statement: those become `SERVICE_UNAVAILABLE`.
pub fn is_unavailable(error: &DbErr) -> bool {
    use sea_orm::sqlx::Error;
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause)) => {
            match cause.as_ref() {
                Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed | Error::Tls(_) => true,
                Error::Database(error) => {
                    let sqlite = error.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>().is_some();
                    error.code().is_some_and(|code| unavailable_code(sqlite, &code))
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether a database's error code means "not available now", not "this statement is wrong".
///
/// SQLite's codes (`sqlite`) are numbers: SQLITE_BUSY (5) and SQLITE_LOCKED (6), in the low
/// byte of their extended codes, mean another connection held the lock past the busy
/// timeout. PostgreSQL's are SQLSTATEs: class 08 (connection exception), 57P01 to 57P03 (the
/// server is shutting down, crashed or starting up: a restart ends every connection with
/// 57P01), and 53300 (too many connections).
fn unavailable_code(sqlite: bool, code: &str) -> bool {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    if sqlite {
        return code.parse::<i32>().is_ok_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED));
    }
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
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

#[cfg(test)]
mod tests {
    use super::unavailable_code;

    #[test]
    fn lock_timeouts_and_shutdowns_mean_unavailable_and_statement_errors_do_not() {
        let cases = [
            (true, "5", true, "SQLITE_BUSY: another connection held the write lock past the busy timeout"),
            (true, "517", true, "SQLITE_BUSY_SNAPSHOT: a writer got in first; trying again works"),
            (true, "6", true, "SQLITE_LOCKED"),
            (true, "2067", false, "SQLITE_CONSTRAINT_UNIQUE: the statement's own fault"),
            (true, "787", false, "SQLITE_CONSTRAINT_FOREIGNKEY"),
            (true, "1", false, "SQLITE_ERROR: a bad statement"),
            (false, "57P01", true, "admin_shutdown: PostgreSQL restarting ends every connection so"),
            (false, "57P03", true, "cannot_connect_now: PostgreSQL starting up"),
            (false, "08006", true, "connection_failure"),
            (false, "53300", true, "too_many_connections"),
            (false, "23505", false, "unique_violation"),
            (false, "42P01", false, "undefined_table: a bug, not an outage"),
            (false, "40001", false, "serialization_failure: a conflict, not an outage"),
        ];
        for (sqlite, code, unavailable, why) in cases {
            assert_eq!(unavailable_code(sqlite, code), unavailable, "{code} ({why})");
        }
    }
}
