//! Where a backend's data lives for one run: a throw-away SQLite file in the run's temporary
//! directory, or a PostgreSQL database created next to `TEST_DATABASE_URL` and dropped at
//! the end (the soak's scratch database, `benches/soak/database.rs`, under this bench's name;
//! the cluster benchmark's `ScratchDatabase` brings its Redis proxy with it).

use std::path::Path;

use anyhow::{Context as _, bail};
use sea_orm::ConnectionTrait as _;

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
    /// The admin URL and the name of a PostgreSQL scratch database; `None` for SQLite, whose
    /// file goes with the temporary directory.
    scratch: Option<(String, String)>,
}

impl Database {
    /// An empty database for `backend`; the GraphQL server migrates it at start-up.
    pub async fn create(backend: Backend, dir: &Path, admin_url: &str) -> anyhow::Result<Self> {
        if backend == Backend::Sqlite {
            let url = format!("sqlite://{}?mode=rwc", dir.join("feed.db").display());
            return Ok(Database { url, scratch: None });
        }
        let name = format!("feed_{}", uuid::Uuid::now_v7().simple());
        let admin = sea_orm::Database::connect(admin_url).await.with_context(|| {
            format!("could not connect to TEST_DATABASE_URL ({})", townsquare::db::redacted(admin_url))
        })?;
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.context("could not create a database")?;
        admin.close().await.ok();
        let mut url = url::Url::parse(admin_url).context("TEST_DATABASE_URL is not a URL")?;
        url.set_path(&format!("/{name}"));
        Ok(Database { url: url.to_string(), scratch: Some((admin_url.to_string(), name)) })
    }

    /// Drops a scratch database; FORCE ends any connection a server still holds.
    pub async fn remove(self) -> anyhow::Result<()> {
        let Some((admin_url, name)) = self.scratch else { return Ok(()) };
        let admin = sea_orm::Database::connect(&admin_url).await?;
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        admin.close().await.ok();
        Ok(())
    }
}
