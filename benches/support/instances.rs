//! Several `townsquare serve` processes on one PostgreSQL database and one Redis, as a
//! deployment behind a load balancer runs them, for the benchmarks that measure the cluster.
//!
//! The database is made fresh for the run (`scratch.rs`) and dropped at its end; each
//! [`Instance`] is the release binary in a child process that reaches Redis through a
//! [`TcpProxy`] of its own, so a benchmark can cut its Redis or SIGKILL it. A benchmark
//! that uses this module declares the tests' proxy (`tests/api/tcp_proxy.rs`) as `mod tcp_proxy`
//! and `support/scratch.rs` as `mod scratch`.

use std::{
    fs,
    net::{SocketAddr, TcpListener, ToSocketAddrs as _},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};

pub use crate::scratch::ScratchDatabase;
use crate::tcp_proxy::TcpProxy;

/// How long an instance may take to answer `/readyz` with 200 after it starts.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// The address of the Redis server `redis_url` names.
pub fn redis_address(redis_url: &url::Url) -> anyhow::Result<SocketAddr> {
    let host = redis_url.host_str().unwrap_or("127.0.0.1");
    let port = redis_url.port().unwrap_or(6379);
    (host, port).to_socket_addrs()?.next().with_context(|| format!("{host}:{port} does not resolve"))
}

/// One `townsquare serve` process; killed when dropped.
pub struct Instance {
    /// `A`, `B`…, as the report names it.
    pub name: &'static str,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// This instance's way to Redis.
    pub proxy: TcpProxy,
    /// Where stdout and stderr go.
    log: PathBuf,
    /// The running process; `None` once killed.
    child: Option<Child>,
}

impl Instance {
    /// Starts an instance on a free port with `env` (and nothing else of this process's
    /// environment) plus `PORT`, `HOST` and a `REDIS_URL` through a new proxy to `redis_url`.
    pub async fn start(
        name: &'static str,
        dir: &Path,
        redis_url: &url::Url,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let proxy = TcpProxy::start(redis_address(redis_url)?).await;
        let mut through_proxy = redis_url.clone();
        through_proxy.set_host(Some("127.0.0.1"))?;
        through_proxy.set_port(Some(proxy.port())).map_err(|()| anyhow::anyhow!("a redis URL has a port"))?;
        // A free port, released just before the server binds it: the server is a separate
        // process, so it cannot be handed the bound listener.
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = dir.join(format!("instance-{name}.log"));
        let log_file = fs::File::create(&log).context("could not create an instance's log")?;
        let child = Command::new(env!("CARGO_BIN_EXE_townsquare"))
            .arg("serve")
            // Only the variables given reach the server, so a developer's shell or `.env`
            // (another database, another Redis) cannot change what is measured.
            .env_clear()
            .current_dir(dir)
            .envs(env.iter().copied())
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("REDIS_URL", through_proxy.as_str())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .context("could not start the townsquare binary")?;
        Ok(Instance { name, base: format!("http://127.0.0.1:{port}"), proxy, log, child: Some(child) })
    }

    /// Waits until `/readyz` answers 200 (migrations done, Redis reached).
    pub async fn wait_ready(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!("instance {} exited at start-up ({status}):\n{}", self.name, self.log_tail(20));
            }
            if self.readiness(http).await.is_some_and(|(status, _)| status == 200) {
                return Ok(());
            }
            ensure!(
                Instant::now() < deadline,
                "instance {} was not ready within {READY_WITHIN:?}:\n{}",
                self.name,
                self.log_tail(20)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `GET /readyz`: the status and the JSON body, or `None` when nothing answers.
    pub async fn readiness(&self, http: &reqwest::Client) -> Option<(u16, serde_json::Value)> {
        let response = http.get(format!("{}/readyz", self.base)).send().await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.unwrap_or_default()))
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self, http: &reqwest::Client) -> anyhow::Result<String> {
        let response = http.get(format!("{}/metrics", self.base)).send().await?.error_for_status()?;
        Ok(response.text().await?)
    }

    /// The process id, for `/proc`; `None` once killed.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reaps the process: no shutdown, no
    /// goodbye to Redis.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The last `lines` lines of this instance's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The value of the Prometheus sample `name` whose labels include `label` (e.g.
/// `kind="room"`, or empty for any), summed over matching series; 0 when there is none.
pub fn sample(metrics: &str, name: &str, label: &str) -> f64 {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let labels = match series.strip_prefix(name)? {
                "" => "",
                rest => rest.strip_prefix('{')?.strip_suffix('}')?,
            };
            (label.is_empty() || labels.split(',').any(|pair| pair == label)).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

/// Deletes every key under `prefix:` from the Redis at `redis_url`: what the instances leave
/// behind (a killed one says no goodbye), so a shared Redis does not fill up run after run.
pub async fn remove_redis_keys(redis_url: &url::Url, prefix: &str) -> anyhow::Result<()> {
    let client = redis::Client::open(redis_url.as_str())?;
    let mut connection = client.get_multiplexed_async_connection().await?;
    let mut cursor = 0_u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await?;
        if !keys.is_empty() {
            redis::cmd("DEL").arg(&keys).query_async::<()>(&mut connection).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}
