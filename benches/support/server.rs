//! A `townsquare serve` child process for the benchmarks that measure the server alone
//! (soak, memory, feed): started with only the variables set here, on a throw-away database,
//! and what `/proc` says about it.

use std::{
    fs,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};

/// The secret every token of the run is signed with.
pub const JWT_SECRET: &str = "bench-secret-of-at-least-thirty-two-bytes";

/// The server binary to measure: `BENCH_SERVER_BIN` when set (to compare two builds in one
/// run; copy `target/release/townsquare` aside before a change), else the one `cargo bench`
/// built. Made absolute, since the server runs in a working directory of its own.
pub fn binary() -> anyhow::Result<PathBuf> {
    match std::env::var("BENCH_SERVER_BIN").ok().filter(|path| !path.trim().is_empty()) {
        Some(path) => fs::canonicalize(&path).with_context(|| format!("BENCH_SERVER_BIN={path:?} is not a file")),
        None => Ok(PathBuf::from(env!("CARGO_BIN_EXE_townsquare"))),
    }
}

/// `binary serve` on 127.0.0.1:`port` and `database_url` with only the variables below, so a
/// developer's shell or `.env` cannot change what is measured; every other setting is its
/// default.
pub fn serve_command(binary: &Path, port: u16, database_url: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("serve")
        .env_clear()
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("DATABASE_URL", database_url)
        // Only the data the run makes: no demo users (their hashes would be memory that no
        // "before" figure shows).
        .env("SEED_DEMO", "off")
        .env("JWT_SECRET", JWT_SECRET)
        // Every request and socket comes from one address, many from a few users: the limits
        // meant for abusive clients would refuse the load itself.
        .env("RATE_LIMITS", "off")
        .env("MAX_CONNECTIONS_PER_USER", "100000")
        .env("MAX_CONNECTIONS_PER_IP", "100000")
        .env("RUST_LOG", "warn");
    command
}

/// One `townsquare serve` process; killed when dropped, so a failed or panicking run leaves
/// no server behind.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Where stdout and stderr go.
    log: PathBuf,
}

impl Server {
    /// Starts `binary` in `dir` (its working directory and log) on `database_url`.
    pub fn start(binary: &Path, dir: &Path, database_url: &str) -> anyhow::Result<Self> {
        // A free port, released just before the server binds it: the server is a separate
        // process, so it cannot be handed the bound listener.
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = dir.join("server.log");
        let log_file = fs::File::create(&log).context("could not create the server log")?;
        let child = serve_command(binary, port, database_url)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("could not start {}", binary.display()))?;
        Ok(Server { child, base: format!("http://127.0.0.1:{port}"), log })
    }

    /// Waits until `/readyz` answers 200 (migrations done).
    pub async fn wait_ready(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!("the server exited at start-up ({status}):\n{}", self.log_tail(20));
            }
            let ready = http.get(format!("{}/readyz", self.base)).send().await;
            if ready.is_ok_and(|response| response.status().is_success()) {
                return Ok(());
            }
            ensure!(Instant::now() < deadline, "the server was not ready within a minute:\n{}", self.log_tail(20));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The `ws://` URL of `/graphql`.
    pub fn ws_url(&self) -> String {
        format!("{}/graphql", self.base.replacen("http", "ws", 1))
    }

    /// The process id, for `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory in KiB (`VmRSS`) and the number of threads.
    pub fn rss_kib_and_threads(&self) -> anyhow::Result<(f64, f64)> {
        Ok((self.status_kib("VmRSS:")? as f64, status_kib(self.pid(), "Threads:")? as f64))
    }

    /// A `kB` field of the process's `/proc/<pid>/status`, such as `VmRSS:` or `VmHWM:`.
    pub fn status_kib(&self, field: &str) -> anyhow::Result<u64> {
        status_kib(self.pid(), field)
    }

    /// Open file descriptors: sockets, database files, pipes.
    pub fn open_fds(&self) -> anyhow::Result<usize> {
        Ok(fs::read_dir(format!("/proc/{}/fd", self.pid()))?.count())
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self, http: &reqwest::Client) -> anyhow::Result<String> {
        let response = http.get(format!("{}/metrics", self.base)).send().await?.error_for_status()?;
        Ok(response.text().await?)
    }

    /// The server log's lines at warn or above (the server runs with `RUST_LOG=warn`, so
    /// every line is one), and the last `tail` of them.
    pub fn log_lines(&self, tail: usize) -> (usize, String) {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        (all.len(), all[all.len().saturating_sub(tail)..].join("\n"))
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        self.log_lines(lines).1
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A numeric field of `/proc/<pid>/status`: `VmRSS:` or `VmHWM:` in KiB, `Threads:`.
pub fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).context("the server is gone")?;
    let line = status.lines().find(|line| line.starts_with(field)).with_context(|| format!("no {field} line"))?;
    line.split_whitespace().nth(1).with_context(|| format!("no {field} value"))?.parse().context("not a number")
}
