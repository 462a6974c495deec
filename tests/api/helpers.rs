//! The test harness: `spawn_app()` starts the real server on port 0 with a database of its
//! own (an SQLite file in a temporary directory, or, with `TEST_DATABASE_URL`, a PostgreSQL
//! database copied from a migrated template and dropped afterwards) and an SMTP sink of its
//! own (`app.mail`), plus fixtures that write rows directly for the features that have no
//! mutations yet. `peer` and `restart` start more apps on the same database.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, Database, EntityTrait, Statement};
use serde_json::{Value, json};
use tokio::{sync::OnceCell, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use townsquare::{
    config::Settings,
    db::entities::{comment, post, post_like, user},
    startup::Application,
    state::AppState,
};
use uuid::Uuid;

use crate::{
    smtp_sink::SmtpSink,
    ws_client::{GRAPHQL_TRANSPORT_WS, WsClient},
};

/// The JWT secret of every test app.
pub const TEST_JWT_SECRET: &str = "test-secret-of-at-least-thirty-two-bytes";

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The application's shared state (database, counters).
    pub state: AppState,
    /// A plain HTTP client.
    pub client: reqwest::Client,
    /// The SMTP server the app's mail goes to (shared by apps started with `peer`/`restart`).
    pub mail: Arc<SmtpSink>,
    stop: CancellationToken,
    /// The server task, awaited by `shut_down`.
    server: Option<JoinHandle<anyhow::Result<()>>>,
    /// Shared by every app on this database; dropped (and removed) with the last of them.
    database: Arc<TestDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts the application with test defaults.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the application after `configure` has adjusted the test settings. Its mail goes
/// to `app.mail`, an SMTP sink of its own.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_sink(SmtpSink::start(), configure).await
}

/// Starts the application with its SMTP server down: connections to `app.mail`'s port are
/// refused until `app.mail.bring_up()`.
pub async fn spawn_app_with_smtp_down(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_sink(SmtpSink::down(), configure).await
}

/// Starts the application on a new database, its mail going to `sink`.
async fn spawn_app_with_sink(sink: SmtpSink, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let database = Arc::new(TestDatabase::create().await);
    let mut settings = Settings::from_lookup(|_| None).expect("the defaults are valid");
    settings.port = 0;
    settings.database_url = database.url.clone();
    settings.seed_demo = false;
    // Two connections keep PostgreSQL's per-test footprint small while still exercising a pool.
    settings.pool.size = 1;
    settings.pool.max_overflow = 3;
    // A known secret, so token tests can forge tokens with the right key and wrong claims.
    settings.jwt_secret = Some(TEST_JWT_SECRET.to_string());
    // Suites register several users from one address; the registration limit itself is
    // tested with its own setting.
    settings.rate_limits.register_per_ip = 1000;
    // Likewise every request comes from 127.0.0.1; the per-IP request limit has its own test.
    settings.rate_limits.requests_per_ip = 1_000_000;
    settings.smtp_url = Some(sink.url().parse().expect("the sink's URL is valid"));
    // Retries come quickly. The worker wakes on `mail_wakeup` and when a retry falls due, so
    // the poll is only a safety net: a long one keeps idle workers silent (statement-count
    // tests see no stray queries) and makes a forgotten `notify_one()` fail a test instead
    // of hiding behind a fast poll. Tests of the poll itself shorten it.
    settings.mail.poll_interval = Duration::from_secs(60);
    settings.mail.retry_base = Duration::from_millis(50);
    settings.mail.retry_max = Duration::from_millis(500);
    settings.mail.send_timeout = Duration::from_secs(5);
    configure(&mut settings);
    launch(database, settings, Arc::new(sink)).await
}

/// Starts the application with `settings` on `database`, its mail going to `mail`.
async fn launch(database: Arc<TestDatabase>, settings: Settings, mail: Arc<SmtpSink>) -> TestApp {
    let app = Application::build(settings).await.expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let server = tokio::spawn(async move { app.run_until_stopped(async move { stopped.cancelled().await }).await });
    TestApp {
        address,
        state,
        client: reqwest::Client::builder().user_agent("townsquare-tests").build().expect("a client"),
        mail,
        stop,
        server: Some(server),
        database,
    }
}

impl TestApp {
    /// Another instance on the same database with the same settings and SMTP sink, as a
    /// second server behind a load balancer would be.
    pub async fn peer(&self) -> TestApp {
        launch(self.database.clone(), (*self.state.settings).clone(), self.mail.clone()).await
    }

    /// Stops this app (waiting until its background tasks ended) and starts a new one on the
    /// same database with the same settings and SMTP sink: a deploy or a crash-restart.
    pub async fn restart(mut self) -> TestApp {
        self.shut_down().await;
        launch(self.database.clone(), (*self.state.settings).clone(), self.mail.clone()).await
    }

    /// Waits until no queued mail is pending (the worker's last write for each mail is its
    /// `sent` or `abandoned` mark). Call it after an action that queues mail and before counting
    /// statements: the worker shares the counted pool, and its writes would land in the count.
    pub async fn mail_settled(&self) {
        use sea_orm::{ColumnTrait as _, PaginatorTrait as _, QueryFilter as _};
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let pending = townsquare::db::entities::mail_outbox::Entity::find()
                .filter(townsquare::db::entities::mail_outbox::Column::Status.eq("pending"))
                .count(&self.state.db)
                .await
                .expect("the outbox is readable");
            if pending == 0 {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{pending} queued mails are still pending after 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Shuts the app down as SIGTERM would and waits until it has stopped: requests drained,
    /// background tasks ended, pool closed (so `state.db` is unusable afterwards).
    pub async fn shut_down(&mut self) {
        self.stop.cancel();
        if let Some(server) = self.server.take() {
            server.await.expect("the server task did not panic").expect("the server stopped cleanly");
        }
    }
}

impl TestApp {
    /// POSTs a GraphQL request as JSON and returns the decoded body; fails on a non-JSON answer.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("the request reaches the server");
        response.json().await.expect("the answer is JSON")
    }

    /// POSTs a whole GraphQL request (`query`, `variables`, `operationName`, `extensions` as
    /// given) and returns the decoded body.
    pub async fn post_request(&self, request: &Value) -> Value {
        let response = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(request)
            .send()
            .await
            .expect("the request reaches the server");
        response.json().await.expect("the answer is JSON")
    }

    /// GETs `/graphql` with `params` (structured ones JSON-encoded) and returns the decoded body.
    pub async fn get_request(&self, params: &[(&str, &str)]) -> Value {
        let response = self
            .client
            .get(format!("{}/graphql", self.address))
            .query(params)
            .send()
            .await
            .expect("the request reaches the server");
        response.json().await.expect("the answer is JSON")
    }

    /// SQL statements the application has executed so far.
    pub fn statements(&self) -> u64 {
        self.state.statements.total()
    }

    /// Inserts a user named `username` (address `<username>@example.com`).
    pub async fn create_user(&self, username: &str) -> Uuid {
        let id = Uuid::now_v7();
        user::Entity::insert(user::ActiveModel {
            id: Set(id),
            email: Set(format!("{username}@example.com")),
            username: Set(username.to_string()),
            display_name: Set(format!("{username} display")),
            password_hash: Set("not-a-real-hash".into()),
            email_verified_at: Set(None),
            role: Set("USER".into()),
            created_at: Set(townsquare::db::now()),
        })
        .exec(&self.state.db)
        .await
        .expect("user inserted");
        id
    }

    /// Inserts a post by `author` at `at`.
    pub async fn create_post(&self, author: Uuid, body: &str, at: DateTime<Utc>) -> Uuid {
        let id = Uuid::now_v7();
        post::Entity::insert(post::ActiveModel {
            id: Set(id),
            author_id: Set(author),
            body: Set(body.to_string()),
            like_count: Set(0),
            comment_count: Set(0),
            created_at: Set(at),
        })
        .exec(&self.state.db)
        .await
        .expect("post inserted");
        id
    }

    /// Records that `user_id` liked `post_id` at `at`, keeping the post's counter.
    pub async fn like(&self, post_id: Uuid, user_id: Uuid, at: DateTime<Utc>) {
        post_like::Entity::insert(post_like::ActiveModel {
            post_id: Set(post_id),
            user_id: Set(user_id),
            created_at: Set(at),
        })
        .exec_without_returning(&self.state.db)
        .await
        .expect("like inserted");
        self.bump(post_id, "like_count").await;
    }

    /// Adds a comment by `author` on `post_id` at `at`, keeping the post's counter.
    pub async fn comment(&self, post_id: Uuid, author: Uuid, body: &str, at: DateTime<Utc>) -> Uuid {
        let id = Uuid::now_v7();
        comment::Entity::insert(comment::ActiveModel {
            id: Set(id),
            post_id: Set(post_id),
            author_id: Set(author),
            body: Set(body.to_string()),
            created_at: Set(at),
        })
        .exec(&self.state.db)
        .await
        .expect("comment inserted");
        self.bump(post_id, "comment_count").await;
        id
    }

    async fn bump(&self, post_id: Uuid, column: &str) {
        let backend = self.state.db.get_database_backend();
        let placeholder = townsquare::db::placeholders(backend, 1, 1);
        self.state
            .db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!("UPDATE post SET {column} = {column} + 1 WHERE id = {placeholder}"),
                [post_id.into()],
            ))
            .await
            .expect("counter updated");
    }
}

/// A moment `minutes` after a fixed point, so tests control the order of rows.
pub fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T12:00:00Z").expect("a valid literal").with_timezone(&Utc)
        + chrono::Duration::minutes(minutes)
}

/// The `extensions.code` of every error of a GraphQL answer (or of a graphql-ws `error`
/// message's payload); fails when one has none.
pub fn error_codes(errors: &Value) -> Vec<&str> {
    let errors = errors.get("errors").unwrap_or(errors).as_array().unwrap_or_else(|| panic!("errors: {errors}"));
    assert!(!errors.is_empty(), "at least one error");
    errors
        .iter()
        .map(|error| error["extensions"]["code"].as_str().unwrap_or_else(|| panic!("an error without a code: {error}")))
        .collect()
}

/// The `extensions.code` of the first error of a GraphQL answer.
pub fn first_error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("an error with a code: {body}"))
}

/// A database for one test, removed when dropped.
pub(crate) struct TestDatabase {
    pub(crate) url: String,
    postgres: Option<PostgresDatabase>,
    _dir: Option<tempfile::TempDir>,
}

struct PostgresDatabase {
    admin_url: String,
    name: String,
}

impl TestDatabase {
    pub(crate) async fn create() -> Self {
        match std::env::var("TEST_DATABASE_URL").ok().filter(|url| !url.is_empty()) {
            Some(admin_url) => {
                let template = postgres_template(&admin_url).await;
                let name = format!("townsquare_test_{}", Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url).await.expect("TEST_DATABASE_URL is reachable");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
                    .await
                    .expect("test database created from the template");
                admin.close().await.ok();
                TestDatabase {
                    url: database_url(&admin_url, &name),
                    postgres: Some(PostgresDatabase { admin_url, name }),
                    _dir: None,
                }
            }
            None => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                TestDatabase { url, postgres: None, _dir: Some(dir) }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(PostgresDatabase { admin_url, name }) = self.postgres.take() else { return };
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread with a
        // runtime of its own removes the database (FORCE ends the app's pooled connections).
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                    admin.close().await.ok();
                }
            });
        });
        let _ = dropped.join();
    }
}

/// `admin_url` with its database name replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// The name of a database holding every migration, made once per schema version: copying
/// it is much faster than migrating each test's database.
async fn postgres_template(admin_url: &str) -> String {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            use migration::MigratorTrait as _;
            let names: Vec<String> = migration::Migrator::migrations().iter().map(|m| m.name().to_string()).collect();
            let fingerprint = names
                .join(",")
                .bytes()
                .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
            let template = format!("townsquare_template_{fingerprint:016x}");
            let admin = Database::connect(admin_url).await.expect("TEST_DATABASE_URL is reachable");
            let exists = admin
                .query_one_raw(Statement::from_string(
                    admin.get_database_backend(),
                    format!("SELECT 1 FROM pg_database WHERE datname = '{template}'"),
                ))
                .await
                .expect("pg_database is readable")
                .is_some();
            if !exists {
                // Migrate under a private name, then rename: a run that dies half-way never
                // leaves a half-migrated template behind under the real name.
                let building = format!("{template}_{}", std::process::id());
                admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)")).await.ok();
                admin.execute_unprepared(&format!("CREATE DATABASE {building}")).await.expect("template created");
                let db = Database::connect(database_url(admin_url, &building)).await.expect("template reachable");
                migration::Migrator::up(&db, None).await.expect("template migrated");
                db.close().await.ok();
                if admin.execute_unprepared(&format!("ALTER DATABASE {building} RENAME TO {template}")).await.is_err() {
                    // Another test process finished first; its template is as good as ours.
                    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)")).await.ok();
                }
            }
            admin.close().await.ok();
            template
        })
        .await
        .clone()
}

/// A registered, signed-in user.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// The user's id.
    pub id: Uuid,
    /// `<username>@example.com`.
    pub email: String,
    /// The password given at registration.
    pub password: String,
    /// A token of the session `register` opened.
    pub token: String,
}

/// The password every test account registers with.
pub const TEST_PASSWORD: &str = "violet elephant marmalade 42";

const REGISTER: &str = "mutation($input: RegisterInput!) {
    register(input: $input) { token user { id } }
}";

impl TestApp {
    /// POSTs a GraphQL request with `Authorization: Bearer <token>`.
    pub async fn graphql_with_token(&self, token: &str, query: &str, variables: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/graphql", self.address))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("the request reaches the server");
        response.json().await.expect("the answer is JSON")
    }

    /// POSTs a GraphQL request as `user`.
    pub async fn graphql_as(&self, user: &TestUser, query: &str, variables: Value) -> Value {
        self.graphql_with_token(&user.token, query, variables).await
    }

    /// A new login session of `user` (a second device), through the `login` mutation.
    pub async fn logged_in_again(&self, user: &TestUser) -> TestUser {
        let body = self
            .graphql(
                "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }",
                json!({ "email": user.email, "password": user.password }),
            )
            .await;
        TestUser { token: body["data"]["login"]["token"].as_str().expect("a token").to_string(), ..user.clone() }
    }

    /// Registers `username` through the API (address `<username>@example.com`).
    pub async fn signed_up(&self, username: &str) -> TestUser {
        let email = format!("{username}@example.com");
        let body = self
            .graphql(REGISTER, json!({ "input": { "email": email, "username": username, "password": TEST_PASSWORD } }))
            .await;
        let payload = &body["data"]["register"];
        assert!(payload.is_object(), "register {username}: {body}");
        // The verification mail is delivered now, so the worker's statements never land in
        // a test's count of the statements a request issues.
        self.mail_settled().await;
        TestUser {
            id: payload["user"]["id"].as_str().and_then(|id| id.parse().ok()).expect("a user id"),
            email,
            password: TEST_PASSWORD.to_string(),
            token: payload["token"].as_str().expect("a token").to_string(),
        }
    }
}

impl TestApp {
    /// A graphql-ws socket (`graphql-transport-ws`), connected but not yet initialised.
    pub async fn ws(&self) -> WsClient {
        let socket = WsClient::connect(&self.address, Some(GRAPHQL_TRANSPORT_WS)).await.expect("the socket opens");
        assert_eq!(socket.protocol.as_deref(), Some(GRAPHQL_TRANSPORT_WS), "the server speaks graphql-ws");
        socket
    }

    /// A graphql-ws socket initialised with `token` (`{"authorization": "Bearer <token>"}`),
    /// acknowledged by the server.
    pub async fn ws_with_token(&self, token: &str) -> WsClient {
        let mut socket = self.ws().await;
        let ack = socket.init(json!({ "authorization": format!("Bearer {token}") })).await;
        assert_eq!(ack.as_ref().map(|ack| &ack["type"]), Some(&json!("connection_ack")), "{:?}", socket.closed());
        socket
    }

    /// A graphql-ws socket signed in as `user`, acknowledged by the server.
    pub async fn ws_signed_in(&self, user: &TestUser) -> WsClient {
        self.ws_with_token(&user.token).await
    }
}
