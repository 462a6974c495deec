//! The GraphQL server under test: the release `townsquare` binary, or the build
//! `BENCH_SERVER_BIN` names, started as the soak starts it (`benches/soak/server.rs`).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// The secret every token of the run is signed with; the baseline verifies with it too.
pub const JWT_SECRET: &str = "bench-secret-of-at-least-thirty-two-bytes";

/// `BENCH_SERVER_BIN` when set, so two builds can be compared on the same data; else the
/// binary `cargo bench` built with this bench.
pub fn binary() -> PathBuf {
    std::env::var_os("BENCH_SERVER_BIN")
        .filter(|path| !path.is_empty())
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_townsquare")), PathBuf::from)
}

/// `binary serve` on 127.0.0.1:`port` and `database_url`, with only the variables below: a
/// developer's shell or `.env` cannot change what is measured, and every other setting
/// (the pool's size among them) is the default the baseline also uses.
pub fn command(binary: &Path, port: u16, database_url: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("serve")
        .env_clear()
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("DATABASE_URL", database_url)
        .env("SEED_DEMO", "off")
        .env("JWT_SECRET", JWT_SECRET)
        // Every request comes from one address, the seeding's writes from a few users within
        // seconds: the limits meant for abusive clients would refuse the bench itself.
        .env("RATE_LIMITS", "off")
        .env("RUST_LOG", "warn");
    command
}
