//! The serving processes, the GraphQL server and the baseline alike: a child with its own
//! log in the run's directory, ready once `/readyz` answers 200, killed when dropped so a
//! failed or interrupted run leaves nothing behind.

use std::{
    fs,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};

/// How long a process may take to answer `/readyz` with 200 (the server migrates first).
const READY_WITHIN: Duration = Duration::from_secs(60);

/// A free port on 127.0.0.1, released just before the child binds it: the child is a
/// separate process, so it cannot be handed the bound listener.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One serving child process.
pub struct Process {
    /// What the report and errors call it.
    label: &'static str,
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Where its stdout and stderr go.
    log: PathBuf,
}

impl Process {
    /// Starts `command` in `dir`, where its log goes too, to serve on `port`.
    pub fn spawn(label: &'static str, mut command: Command, dir: &Path, port: u16) -> anyhow::Result<Self> {
        let log = dir.join(format!("{}.log", label.to_lowercase().replace(' ', "-")));
        let log_file = fs::File::create(&log).with_context(|| format!("could not create the {label}'s log"))?;
        let child = command
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("could not start the {label} ({:?})", command.get_program()))?;
        Ok(Process { label, child, base: format!("http://127.0.0.1:{port}"), log })
    }

    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!("the {} exited at start-up ({status}):\n{}", self.label, self.log_tail(20));
            }
            let ready = http.get(format!("{}/readyz", self.base)).send().await;
            if ready.is_ok_and(|response| response.status().is_success()) {
                return Ok(());
            }
            ensure!(
                Instant::now() < deadline,
                "the {} was not ready within {READY_WITHIN:?}:\n{}",
                self.label,
                self.log_tail(20)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The process id, for `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
