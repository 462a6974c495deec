//! The server whose memory is measured: a `townsquare serve` binary in a child process with a
//! working directory of its own, and its memory as `/proc/<pid>/status` gives it.

use std::{
    fs,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};

/// The secret every token of the run is signed with.
const JWT_SECRET: &str = "bench-secret-of-at-least-thirty-two-bytes";

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
    /// Starts `binary` in `dir` (its working directory and log) on `database_url`, with only
    /// the variables below: a developer's shell or `.env` cannot change what is measured.
    /// No `SMTP_URL`, so the verification mails of the registrations go to the log.
    pub fn start(binary: &Path, dir: &Path, database_url: &str) -> anyhow::Result<Self> {
        // A free port, released just before the server binds it: the server is a separate
        // process, so it cannot be handed the bound listener.
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = dir.join("server.log");
        let log_file = fs::File::create(&log).context("could not create the server log")?;
        let child = Command::new(binary)
            .arg("serve")
            .env_clear()
            .current_dir(dir)
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("DATABASE_URL", database_url)
            // Only the users the run registers: the demo data's own hashes would be memory the
            // "before" figure does not show.
            .env("SEED_DEMO", "off")
            .env("JWT_SECRET", JWT_SECRET)
            // Every request comes from one address, a thousand registrations a minute: the
            // limits meant for abusive clients would refuse the load itself.
            .env("RATE_LIMITS", "off")
            .env("MAX_CONNECTIONS_PER_USER", "100000")
            .env("MAX_CONNECTIONS_PER_IP", "100000")
            .env("RUST_LOG", "warn")
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

    /// The process id, for `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory in KiB (`VmRSS`): heap, stacks and mapped code the process holds in
    /// RAM now; the kernel's socket buffers are not in it.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        status_kib(self.pid(), "VmRSS:")
    }

    /// The most `VmRSS` has ever been (`VmHWM`), start-up included.
    pub fn high_water_kib(&self) -> anyhow::Result<u64> {
        status_kib(self.pid(), "VmHWM:")
    }

    /// The last `lines` lines of the log (warnings and errors only: `RUST_LOG=warn`).
    pub fn log_tail(&self, lines: usize) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `kB` field of `/proc/<pid>/status`, such as `VmRSS:`.
pub fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).context("the server is gone")?;
    let line = status.lines().find(|line| line.starts_with(field)).with_context(|| format!("no {field} line"))?;
    line.split_whitespace().nth(1).with_context(|| format!("no {field} value"))?.parse().context("not a number")
}
