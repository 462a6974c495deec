//! `Cluster`: several `townsquare serve` processes on one PostgreSQL database and one Redis,
//! as a deployment behind a load balancer runs them. Each instance reaches Redis through a
//! [`TcpProxy`] of its own, writes its log to a file, and can be killed (SIGKILL) and
//! restarted on the same port. When a test fails, the tail of every instance's log is printed.

use std::{
    fs::{self, OpenOptions},
    io::Write as _,
    net::{SocketAddr, TcpListener, ToSocketAddrs as _},
    ops::{Index, IndexMut},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use futures_util::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use super::redis_keys::remove_keys;
use crate::{
    helpers::{TEST_JWT_SECRET, TEST_PASSWORD, TestDatabase, TestUser},
    tcp_proxy::TcpProxy,
    ws_client::{GRAPHQL_TRANSPORT_WS, WsClient},
};

/// The index of the first instance.
pub const A: usize = 0;
/// The index of the second instance.
pub const B: usize = 1;
/// The index of the third instance.
pub const C: usize = 2;

/// How long an instance may take to answer `/readyz` with 200 after it starts.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// Lines of each instance's log printed when a test fails.
const LOG_TAIL: usize = 40;

/// Instances sharing one database and one Redis key prefix; every process is killed and the
/// database removed when the cluster is dropped.
pub struct Cluster {
    /// The instances, `A`, `B`, `C`… Declared before `database`: the processes stop before
    /// their database is dropped.
    instances: Vec<Instance>,
    /// This test's database, alive as long as the cluster.
    _database: TestDatabase,
    /// The suite's Redis, where the instances' keys are removed once they are gone.
    redis: url::Url,
    /// `REDIS_KEY_PREFIX`, this test's own.
    prefix: String,
    /// Holds the logs; the working directory of every instance (it has no `.env`).
    _dir: tempfile::TempDir,
}

/// One `townsquare serve` process and what a test needs to talk to it.
pub struct Instance {
    /// `A`, `B`, `C`…, as failure messages name it.
    pub name: String,
    /// `http://127.0.0.1:<port>`; the same after a restart.
    pub address: String,
    /// This instance's way to Redis.
    pub proxy: TcpProxy,
    /// A plain HTTP client.
    pub client: reqwest::Client,
    /// Every variable the process gets (nothing else of the test's environment reaches it).
    env: Vec<(String, String)>,
    /// The working directory.
    dir: PathBuf,
    /// Where stdout and stderr go, across restarts.
    log: PathBuf,
    /// The running process; `None` once killed.
    child: Option<Child>,
}

/// The Redis server of the suite, or `None` (after printing that `test` is skipped) when
/// `TEST_DATABASE_URL` or `TEST_REDIS_URL` is unset.
fn redis_under_test() -> Option<url::Url> {
    let set = |var: &str| std::env::var(var).ok().filter(|value| !value.trim().is_empty());
    let (Some(_), Some(redis)) = (set("TEST_DATABASE_URL"), set("TEST_REDIS_URL")) else {
        let thread = std::thread::current();
        let test = thread.name().unwrap_or("a cluster test");
        println!("skipped {test}: the cluster suite needs both TEST_DATABASE_URL and TEST_REDIS_URL");
        return None;
    };
    Some(url::Url::parse(&redis).expect("TEST_REDIS_URL is a redis:// URL"))
}

/// The address of the Redis server `url` names.
fn socket_address(url: &url::Url) -> SocketAddr {
    let host = url.host_str().unwrap_or("127.0.0.1");
    let port = url.port().unwrap_or(6379);
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .unwrap_or_else(|| panic!("TEST_REDIS_URL's host {host}:{port} resolves"))
}

/// The address of the suite's Redis server, or `None` (the test is skipped) without
/// `TEST_DATABASE_URL` and `TEST_REDIS_URL`.
pub fn redis_upstream() -> Option<SocketAddr> {
    redis_under_test().map(|url| socket_address(&url))
}

/// A port free right now on 127.0.0.1: the instance is another process, so it cannot be
/// handed a bound listener; the small race with other binds is accepted.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("a bound address").port()
}

impl Cluster {
    /// Starts `count` instances with rate limits off and waits until each is ready; `None`
    /// (the test is skipped) without `TEST_DATABASE_URL` and `TEST_REDIS_URL`.
    pub async fn start(count: usize) -> Option<Cluster> {
        Cluster::start_with(count, &[]).await
    }

    /// Starts `count` instances with `overrides` on top of the cluster's variables.
    pub async fn start_with(count: usize, overrides: &[(&str, &str)]) -> Option<Cluster> {
        let redis = redis_under_test()?;
        let upstream = socket_address(&redis);
        let database = TestDatabase::create().await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let prefix = format!("ts_test_{}", Uuid::new_v4().simple());
        let mut instances = Vec::with_capacity(count);
        for index in 0..count {
            let name = char::from(b'A' + u8::try_from(index).expect("a few instances")).to_string();
            let proxy = TcpProxy::start(upstream).await;
            let mut redis_url = redis.clone();
            redis_url.set_host(Some("127.0.0.1")).expect("a redis URL has a host");
            redis_url.set_port(Some(proxy.port())).expect("a redis URL has a port");
            let port = free_port();
            let mut env: Vec<(String, String)> = [
                ("DATABASE_URL", database.url.as_str()),
                ("REDIS_URL", redis_url.as_str()),
                ("REDIS_KEY_PREFIX", prefix.as_str()),
                ("JWT_SECRET", TEST_JWT_SECRET),
                ("HOST", "127.0.0.1"),
                ("PORT", &port.to_string()),
                ("SEED_DEMO", "off"),
                ("RATE_LIMITS", "off"),
                ("LOG_FORMAT", "json"),
                ("RUST_LOG", "info"),
                // Small pools: two tests of three instances each stay far below PostgreSQL's
                // default of 100 connections.
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
            let mut instance = Instance {
                log: dir.path().join(format!("instance-{name}.log")),
                name,
                address: format!("http://127.0.0.1:{port}"),
                proxy,
                client: reqwest::Client::builder()
                    .user_agent("townsquare-cluster-tests")
                    // A request that hangs (an instance waiting on a cut Redis) fails the test
                    // with a message instead of stalling it.
                    .timeout(Duration::from_secs(15))
                    .build()
                    .expect("a client"),
                env,
                dir: dir.path().to_path_buf(),
                child: None,
            };
            instance.spawn();
            instances.push(instance);
        }
        let mut cluster = Cluster { instances, _database: database, redis, prefix, _dir: dir };
        join_all(cluster.instances.iter_mut().map(Instance::ready)).await;
        Some(cluster)
    }

    /// Kills instance `index` with SIGKILL: no shutdown, no goodbye to Redis.
    pub fn kill(&mut self, index: usize) {
        self.instances[index].kill();
    }

    /// Starts instance `index` again on the same port with the same variables (killing it
    /// first if it still runs) and waits until it is ready.
    pub async fn restart(&mut self, index: usize) {
        let instance = &mut self.instances[index];
        instance.kill();
        instance.spawn();
        instance.ready().await;
    }

    /// Cuts every instance's way to Redis.
    pub fn cut_redis(&self) {
        self.instances.iter().for_each(|instance| instance.proxy.cut());
    }

    /// Restores every instance's way to Redis.
    pub fn restore_redis(&self) {
        self.instances.iter().for_each(|instance| instance.proxy.restore());
    }

    /// The instances, in order.
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }
}

impl Index<usize> for Cluster {
    type Output = Instance;

    fn index(&self, index: usize) -> &Instance {
        &self.instances[index]
    }
}

impl IndexMut<usize> for Cluster {
    fn index_mut(&mut self, index: usize) -> &mut Instance {
        &mut self.instances[index]
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for instance in &self.instances {
                eprintln!("--- the last {LOG_TAIL} lines of instance {}'s log ---", instance.name);
                eprintln!("{}", instance.log_tail(LOG_TAIL));
            }
        }
        self.instances.iter_mut().for_each(Instance::kill);
        remove_keys(&self.redis, socket_address(&self.redis), &self.prefix);
    }
}

impl Instance {
    /// Starts the process; its output is appended to the log.
    fn spawn(&mut self) {
        let mut log = OpenOptions::new().create(true).append(true).open(&self.log).expect("the log opens");
        writeln!(log, "--- townsquare serve starts as instance {} ---", self.name).expect("the log is writable");
        let mut command = Command::new(env!("CARGO_BIN_EXE_townsquare"));
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt as _;
            // The instance dies with the test's thread even when the test binary is killed
            // (a timeout, ^C) and no destructor runs: no orphaned servers keep ports and
            // database connections.
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
            // Only the variables above reach the server: a developer's shell or `.env` (another
            // database, another Redis) cannot change what is tested.
            .env_clear()
            .envs(self.env.iter().map(|(var, value)| (var, value)))
            .current_dir(&self.dir)
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
            let child = self.child.as_mut().expect("the instance was started");
            if let Ok(Some(status)) = child.try_wait() {
                panic!("instance {} exited at start-up ({status}):\n{}", self.name, self.log_tail(LOG_TAIL));
            }
            if self.readiness().await.is_some_and(|(status, _)| status == 200) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "instance {} is not ready after {READY_WITHIN:?}:\n{}",
                self.name,
                self.log_tail(LOG_TAIL)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL, then reaps the process.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `Child::kill` sends SIGKILL on Unix.
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

    /// `GET /readyz`: the status and the JSON body, or `None` when nothing answers.
    pub async fn readiness(&self) -> Option<(u16, Value)> {
        let response = self.client.get(format!("{}/readyz", self.address)).send().await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Waits until `/readyz` answers 503 with a `redis` other than `ok`; panics after `within`.
    pub async fn reports_redis_down(&self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let (status, body) = self.readiness().await.unwrap_or_else(|| panic!("{} answers /readyz", self.name));
            if status == 503 && body.get("redis").is_some_and(|redis| redis != "ok") {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "instance {}'s /readyz does not report Redis down {within:?} after the cut: {status} {body}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The status `path` answers a GET with.
    pub async fn status_of(&self, path: &str) -> u16 {
        let response = self.client.get(format!("{}{path}", self.address)).send().await;
        response.unwrap_or_else(|error| panic!("instance {} answers {path}: {error}", self.name)).status().as_u16()
    }

    /// POSTs a GraphQL request, with `token` as the bearer when given, and decodes the answer.
    async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self.client.post(format!("{}/graphql", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap_or_else(|error| panic!("instance {} answers a GraphQL request: {error}", self.name));
        response.json().await.unwrap_or_else(|error| panic!("instance {} answers JSON: {error}", self.name))
    }

    /// POSTs an anonymous GraphQL request.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.post(None, query, variables).await
    }

    /// POSTs a GraphQL request as `user`.
    pub async fn graphql_as(&self, user: &TestUser, query: &str, variables: Value) -> Value {
        self.post(Some(&user.token), query, variables).await
    }

    /// Registers `username` (address `<username>@example.com`) through this instance.
    pub async fn signed_up(&self, username: &str) -> TestUser {
        let email = format!("{username}@example.com");
        let body = self
            .graphql(
                "mutation($input: RegisterInput!) { register(input: $input) { token user { id } } }",
                json!({ "input": { "email": email, "username": username, "password": TEST_PASSWORD } }),
            )
            .await;
        let payload = &body["data"]["register"];
        assert!(payload.is_object(), "register {username} through instance {}: {body}", self.name);
        TestUser {
            id: payload["user"]["id"].as_str().and_then(|id| id.parse().ok()).expect("a user id"),
            email,
            password: TEST_PASSWORD.to_string(),
            token: payload["token"].as_str().expect("a token").to_string(),
        }
    }

    /// A new login session of `user` (another device), opened through this instance.
    pub async fn logged_in_again(&self, user: &TestUser) -> TestUser {
        let body = self
            .graphql(
                "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }",
                json!({ "email": user.email, "password": user.password }),
            )
            .await;
        let token = body["data"]["login"]["token"].as_str();
        let token = token.unwrap_or_else(|| panic!("login through instance {}: {body}", self.name));
        TestUser { token: token.to_string(), ..user.clone() }
    }

    /// A graphql-ws socket to this instance signed in as `user`, acknowledged by the server.
    pub async fn ws_signed_in(&self, user: &TestUser) -> WsClient {
        let mut socket = WsClient::connect(&self.address, Some(GRAPHQL_TRANSPORT_WS))
            .await
            .unwrap_or_else(|error| panic!("a socket to instance {} opens: {error}", self.name));
        let ack = socket.init(json!({ "authorization": format!("Bearer {}", user.token) })).await;
        assert_eq!(
            ack.as_ref().map(|ack| &ack["type"]),
            Some(&json!("connection_ack")),
            "instance {} acknowledges the socket: {:?}",
            self.name,
            socket.closed()
        );
        socket
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}
