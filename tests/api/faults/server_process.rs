//! `ServerProcess`: `townsquare serve` as a child process, for the faults that must not touch
//! the test process: a SIGKILL, or a database taken away from under a running server. Its log
//! goes to a file the test reads (what a background task did) and whose tail is printed when
//! a test fails.

use std::{
    fs::{self, OpenOptions},
    io::Write as _,
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

use crate::helpers::TEST_JWT_SECRET;

/// How long the server may take to answer `/readyz` with 200 after it starts.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// Lines of the log printed when a test fails.
const LOG_TAIL: usize = 60;

/// The longest any request may go unanswered before the test fails instead of hanging. Each
/// test bounds its own requests more tightly where the contract sets a bound.
const REQUEST_GUARD: Duration = Duration::from_secs(30);

/// One `townsquare serve` process; killed when dropped.
pub struct ServerProcess {
    /// `http://127.0.0.1:<port>`; the same after a restart.
    pub address: String,
    /// A plain HTTP client.
    pub client: reqwest::Client,
    /// Every variable the process gets (nothing else of the test's environment reaches it).
    env: Vec<(String, String)>,
    /// Holds the log; the working directory (it has no `.env`).
    dir: tempfile::TempDir,
    /// Where stdout and stderr go, across restarts.
    log: PathBuf,
    /// The running process; `None` once killed.
    child: Option<Child>,
}

/// Why a request got no GraphQL answer.
#[derive(Debug)]
pub struct NoAnswer(pub String);

impl ServerProcess {
    /// Starts the server on `database_url` with `overrides` on top of the test defaults (a
    /// known JWT secret, rate limits off, no demo data, JSON logs), and waits until it is ready.
    pub async fn start(database_url: &str, overrides: &[(&str, &str)]) -> ServerProcess {
        let port = free_port();
        let mut env: Vec<(String, String)> = [
            ("DATABASE_URL", database_url),
            ("JWT_SECRET", TEST_JWT_SECRET),
            ("HOST", "127.0.0.1"),
            ("PORT", &port.to_string()),
            ("SEED_DEMO", "off"),
            ("RATE_LIMITS", "off"),
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "info"),
            // A small pool: several of these servers run beside the rest of the suite on one
            // PostgreSQL, far below its default of 100 connections.
            ("DB_POOL_SIZE", "1"),
            ("DB_MAX_OVERFLOW", "4"),
        ]
        .into_iter()
        .map(|(var, value)| (var.to_string(), value.to_string()))
        .collect();
        for (var, value) in overrides {
            env.retain(|(known, _)| known != var);
            env.push((var.to_string(), value.to_string()));
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut server = ServerProcess {
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .user_agent("townsquare-fault-tests")
                .timeout(REQUEST_GUARD)
                .build()
                .expect("a client"),
            env,
            log: dir.path().join("server.log"),
            dir,
            child: None,
        };
        server.spawn();
        server.ready().await;
        server
    }

    /// Kills the process with SIGKILL: no shutdown, no drain, no flush.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `Child::kill` sends SIGKILL on Unix.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and database (killing it first if it runs)
    /// and waits until it is ready.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn();
        self.ready().await;
    }

    /// `GET /readyz`: the status and the JSON body, or `None` when nothing answers.
    pub async fn readiness(&self) -> Option<(u16, Value)> {
        let response = self.client.get(format!("{}/readyz", self.address)).send().await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// POSTs a GraphQL request, with `token` as the bearer when given: the decoded answer, or
    /// why there was none (the process is gone, the answer is not JSON).
    pub async fn try_graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Result<Value, NoAnswer> {
        post_graphql(&self.client, &self.address, token, query, variables).await
    }

    /// POSTs a GraphQL request that must be answered.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.try_graphql(token, query, variables)
            .await
            .unwrap_or_else(|NoAnswer(why)| panic!("the server answers a GraphQL request: {why}"))
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Starts the process; its output is appended to the log.
    fn spawn(&mut self) {
        let mut log = OpenOptions::new().create(true).append(true).open(&self.log).expect("the log opens");
        writeln!(log, "--- townsquare serve starts ---").expect("the log is writable");
        let mut command = Command::new(env!("CARGO_BIN_EXE_townsquare"));
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt as _;
            // The server dies with the test's thread even when the test binary is killed (a
            // timeout, ^C) and no destructor runs: no orphan keeps its port or its database.
            // SAFETY: the hook runs in the child between fork and exec and only calls prctl,
            // which is async-signal-safe and touches no memory of the parent.
            unsafe {
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let child = command
            .arg("serve")
            // Only the variables above reach the server: a developer's shell or `.env` cannot
            // change what is tested.
            .env_clear()
            .envs(self.env.iter().map(|(var, value)| (var, value)))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log handle clones"))
            .stderr(log)
            .spawn()
            .expect("the townsquare binary starts");
        self.child = Some(child);
    }

    /// Waits until `/readyz` answers 200; panics with the log's tail when the process exits
    /// or stays unready.
    async fn ready(&mut self) {
        let deadline = tokio::time::Instant::now() + READY_WITHIN;
        loop {
            let child = self.child.as_mut().expect("the server was started");
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the server exited at start-up ({status}):\n{}", self.log_tail(LOG_TAIL));
            }
            if self.readiness().await.is_some_and(|(status, _)| status == 200) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the server is not ready after {READY_WITHIN:?}:\n{}",
                self.log_tail(LOG_TAIL)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- the last {LOG_TAIL} lines of the server's log ---\n{}", self.log_tail(LOG_TAIL));
        }
        self.kill();
    }
}

/// A port free right now on 127.0.0.1: the server is another process, so it cannot be handed
/// a bound listener; the small race with other binds is accepted.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("a bound address").port()
}

/// POSTs a GraphQL request to the server at `address` with `client`, with `token` as the
/// bearer when given: for load tasks that hold a client and an address, not the process.
pub async fn post_graphql(
    client: &reqwest::Client,
    address: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Result<Value, NoAnswer> {
    let mut request = client.post(format!("{address}/graphql"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .map_err(|error| NoAnswer(error.to_string()))?;
    response.json().await.map_err(|error| NoAnswer(format!("not JSON: {error}")))
}
