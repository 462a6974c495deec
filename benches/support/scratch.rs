//! A PostgreSQL database made for one benchmark run and dropped at its end, however the run
//! ends, and the `BENCH_DATABASE_URL` knob that asks for one.

use anyhow::{Context as _, ensure};
use sea_orm::{ConnectionTrait as _, Database};

/// `BENCH_DATABASE_URL`: where to make the scratch PostgreSQL database; `None` (unset or
/// empty) for a throw-away SQLite file.
pub fn database_url_knob() -> anyhow::Result<Option<String>> {
    let database_url = std::env::var("BENCH_DATABASE_URL").ok().filter(|url| !url.trim().is_empty());
    if let Some(url) = &database_url {
        ensure!(url.starts_with("postgres"), "BENCH_DATABASE_URL must be a postgres:// URL (unset: SQLite)");
    }
    Ok(database_url)
}

/// A PostgreSQL database made for one run; [`ScratchDatabase::remove`] drops it.
pub struct ScratchDatabase {
    /// The URL of the database the scratch one was created from.
    admin_url: String,
    /// The scratch database's name.
    name: String,
    /// Its URL, for the server's `DATABASE_URL`.
    pub url: String,
}

impl ScratchDatabase {
    /// Creates an empty database named `<prefix>_<random>` next to the one `admin_url` names;
    /// the first server started on it migrates it.
    pub async fn create(admin_url: &str, prefix: &str) -> anyhow::Result<Self> {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(admin_url).await.with_context(|| format!("could not connect to {admin_url}"))?;
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.context("could not create a database")?;
        admin.close().await.ok();
        let mut url = url::Url::parse(admin_url).context("the database URL is not a URL")?;
        url.set_path(&format!("/{name}"));
        Ok(ScratchDatabase { admin_url: admin_url.to_string(), name, url: url.to_string() })
    }

    /// Drops the database; FORCE ends any connection a server still holds.
    pub async fn remove(self) -> anyhow::Result<()> {
        let admin = Database::connect(&self.admin_url).await?;
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).await?;
        admin.close().await.ok();
        Ok(())
    }
}

/// Awaits `run`, then drops `scratch` however the run ended: an error, a panic, Ctrl-C or
/// SIGTERM (what `timeout` and `kill` send). `run`'s future is dropped first, so a server it
/// started is killed before its database goes.
pub async fn removing_afterwards<T>(
    scratch: Option<ScratchDatabase>,
    run: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    use futures_util::FutureExt as _;
    let running = std::panic::AssertUnwindSafe(run).catch_unwind();
    let outcome = tokio::select! {
        outcome = running => outcome.unwrap_or_else(|_| Err(anyhow::anyhow!("the benchmark panicked"))),
        () = stop_signal() => Err(anyhow::anyhow!("interrupted")),
    };
    if let Some(database) = scratch
        && let Err(error) = database.remove().await
    {
        eprintln!("could not drop the scratch database: {error:#}");
    }
    outcome
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => drop(terminate.recv().await),
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
