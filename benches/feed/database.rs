//! Where a backend's data lives for one run: a throw-away SQLite file in the run's temporary
//! directory, or a PostgreSQL database created next to `TEST_DATABASE_URL` and dropped at
//! the end (the benchmarks' `ScratchDatabase`, `benches/support/scratch.rs`).

use std::path::Path;

use anyhow::bail;

use crate::scratch::ScratchDatabase;

/// A database the bench runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file in the run's temporary directory.
    Sqlite,
    /// A scratch database on the server `TEST_DATABASE_URL` names.
    Postgres,
}

impl Backend {
    /// Reads a name of `BENCH_FEED_BACKENDS`.
    pub fn parse(name: &str) -> anyhow::Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            other => bail!("BENCH_FEED_BACKENDS: {other:?} is neither sqlite nor postgres"),
        }
    }

    /// The name the report uses.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Where the data is, for the report's heading.
pub fn describe(backend: Backend, admin_url: &str) -> String {
    match backend {
        Backend::Sqlite => "a throw-away file".into(),
        Backend::Postgres => format!("a scratch database next to {}", townsquare::db::redacted(admin_url)),
    }
}

/// One run's database; [`Database::remove`] deletes it.
pub struct Database {
    /// The URL both servers get as their `DATABASE_URL`.
    pub url: String,
    /// The PostgreSQL scratch database; `None` for SQLite, whose file goes with the temporary
    /// directory.
    scratch: Option<ScratchDatabase>,
}

impl Database {
    /// An empty database for `backend`; the GraphQL server migrates it at start-up.
    pub async fn create(backend: Backend, dir: &Path, admin_url: &str) -> anyhow::Result<Self> {
        if backend == Backend::Sqlite {
            let url = format!("sqlite://{}?mode=rwc", dir.join("feed.db").display());
            return Ok(Database { url, scratch: None });
        }
        let scratch = ScratchDatabase::create(admin_url, "feed").await?;
        Ok(Database { url: scratch.url.clone(), scratch: Some(scratch) })
    }

    /// Drops a scratch database.
    pub async fn remove(self) -> anyhow::Result<()> {
        match self.scratch {
            Some(scratch) => scratch.remove().await,
            None => Ok(()),
        }
    }
}
