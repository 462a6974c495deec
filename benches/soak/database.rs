//! A PostgreSQL database made for one run and dropped at its end, for `BENCH_DATABASE_URL`.
//!
//! The same as the cluster benchmark's `ScratchDatabase` (`benches/support/instances.rs`),
//! which the soak does not include: that module brings the Redis proxy with it.

use anyhow::Context as _;
use sea_orm::{ConnectionTrait as _, Database};

/// A database created next to the one an admin URL names; [`Scratch::remove`] drops it.
pub struct Scratch {
    /// The URL it was created from.
    admin_url: String,
    /// Its name, `soak_<random>`.
    name: String,
    /// Its URL, for the server's `DATABASE_URL`.
    pub url: String,
}

impl Scratch {
    /// Creates an empty database; the server migrates it at start-up.
    pub async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("soak_{}", uuid::Uuid::now_v7().simple());
        let admin = Database::connect(admin_url).await.context("could not connect to BENCH_DATABASE_URL")?;
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.context("could not create a database")?;
        admin.close().await.ok();
        let mut url = url::Url::parse(admin_url).context("BENCH_DATABASE_URL is not a URL")?;
        url.set_path(&format!("/{name}"));
        Ok(Scratch { admin_url: admin_url.to_string(), name, url: url.to_string() })
    }

    /// Drops the database; FORCE ends any connection the server still holds.
    pub async fn remove(self) -> anyhow::Result<()> {
        let admin = Database::connect(&self.admin_url).await?;
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).await?;
        admin.close().await.ok();
        Ok(())
    }
}
