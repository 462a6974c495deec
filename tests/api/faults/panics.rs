//! A panic in a request or a socket task: caught, logged once, answered with
//! `INTERNAL_SERVER_ERROR` (HTTP 500, or a graphql-ws `error` for the operation) or a 1011
//! close of that one socket, and nothing else is taken down.
//!
//! The panics are real: the app under test is built with an async-graphql extension of this
//! file (through `Application::build_with_schema`, which only embedding code can call) that
//! panics when a field aliased `panic` resolves, or when a chosen user's socket starts a query.

use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::{
    Response, ServerResult, Value as GraphqlValue,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, NextSubscribe, ResolveInfo},
};
use futures_util::stream::BoxStream;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use townsquare::{
    config::Settings,
    graphql::{context::Viewer, schema::schema_builder},
    startup::Application,
    state::AppState,
    telemetry::{PANIC_TARGET, install_panic_hook},
};
use tracing_subscriber::{Layer, layer::Context, prelude::*};
use uuid::Uuid;

use crate::{
    helpers::{TEST_JWT_SECRET, TEST_PASSWORD, TestDatabase},
    ws_client::{GRAPHQL_TRANSPORT_WS, WAIT, WsClient},
};

/// The alias that makes a field panic when it resolves.
const PANIC_ALIAS: &str = "panic";
/// What the extension's panics say: the test checks it reaches the log and never a client.
const PANIC_MESSAGE: &str = "injected fault: secret internal detail";
/// What every internal error reads.
const INTERNAL_MESSAGE: &str = "Something went wrong on our side. Please try again.";

/// Which faults are armed.
#[derive(Default)]
struct Faults {
    /// Queries and mutations over this user's sockets panic as they start, in the socket's
    /// own task rather than in the operation's stream.
    socket_of: Mutex<Option<Uuid>>,
}

impl Faults {
    fn doom_sockets_of(&self, user: Option<Uuid>) {
        *self.socket_of.lock().unwrap_or_else(PoisonError::into_inner) = user;
    }
}

/// Makes the extension for each request.
struct Injector(Arc<Faults>);

impl ExtensionFactory for Injector {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Injection(self.0.clone()))
    }
}

struct Injection(Arc<Faults>);

#[async_trait::async_trait]
impl Extension for Injection {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<GraphqlValue>> {
        if info.alias == Some(PANIC_ALIAS) {
            panic!("{PANIC_MESSAGE} in `{}`", info.name);
        }
        next.run(ctx, info).await
    }

    /// Runs, synchronously, where the socket task starts a query or mutation (and inside the
    /// operation's stream where a subscription opens).
    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let doomed = *self.0.socket_of.lock().unwrap_or_else(PoisonError::into_inner);
        if doomed.is_some() && ctx.data_opt::<Viewer>().map(|viewer| viewer.user_id) == doomed {
            panic!("{PANIC_MESSAGE} in a socket task");
        }
        next.run(ctx, stream)
    }
}

/// The panic events logged on this test's thread. The server runs on the test's
/// single-threaded runtime, so every panic it logs lands here, and other tests' do not.
#[derive(Clone, Default)]
struct PanicLog(Arc<Mutex<Vec<String>>>);

impl PanicLog {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl<S: tracing::Subscriber> Layer<S> for PanicLog {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == PANIC_TARGET {
            let mut line = String::new();
            event.record(&mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
                line.push_str(&format!("{}={value:?} ", field.name()));
            });
            self.0.lock().unwrap_or_else(PoisonError::into_inner).push(line);
        }
    }
}

/// Routes this thread's events to a fresh [`PanicLog`] for as long as the guard lives.
fn capture_panics() -> (PanicLog, tracing::subscriber::DefaultGuard) {
    install_panic_hook();
    let log = PanicLog::default();
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(log.clone()));
    (log, guard)
}

/// Checks the log holds `count` panic events, each once, with the injected message and where
/// it was raised.
fn assert_logged(log: &PanicLog, count: usize) {
    let lines = log.lines();
    assert_eq!(lines.len(), count, "{lines:#?}");
    for line in lines {
        assert!(line.contains(PANIC_MESSAGE) && line.contains("faults/panics.rs"), "{line}");
    }
}

/// An app whose schema carries the fault injector, on a database of its own.
struct FaultyApp {
    address: String,
    state: AppState,
    client: reqwest::Client,
    faults: Arc<Faults>,
    stop: CancellationToken,
    _server: JoinHandle<anyhow::Result<()>>,
    _database: TestDatabase,
}

impl Drop for FaultyApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn spawn_faulty_app() -> FaultyApp {
    let database = TestDatabase::create().await;
    let mut settings = Settings::from_lookup(|_| None).expect("the defaults are valid");
    settings.port = 0;
    settings.database_url = database.url.clone();
    settings.seed_demo = false;
    settings.pool.size = 1;
    settings.pool.max_overflow = 3;
    settings.jwt_secret = Some(TEST_JWT_SECRET.to_string());
    let faults = Arc::new(Faults::default());
    let injector = faults.clone();
    let app = Application::build_with_schema(settings, move |state| {
        schema_builder(state).extension(Injector(injector)).finish()
    })
    .await
    .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let server = tokio::spawn(async move { app.run_until_stopped(async move { stopped.cancelled().await }).await });
    FaultyApp { address, state, client: reqwest::Client::new(), faults, stop, _server: server, _database: database }
}

impl FaultyApp {
    /// The status and body of a POSTed `query`, as `token` when given.
    async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the request reaches the server");
        let status = response.status();
        let text = response.text().await.expect("a body");
        (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON body, not {text:?}")))
    }

    /// Registers `username`; its id and token.
    async fn signed_up(&self, username: &str) -> (Uuid, String) {
        let input =
            json!({ "email": format!("{username}@example.com"), "username": username, "password": TEST_PASSWORD });
        let register = "mutation($input: RegisterInput!) { register(input: $input) { token user { id } } }";
        let (_, body) = self.post(None, register, json!({ "input": input })).await;
        let payload = &body["data"]["register"];
        let id = payload["user"]["id"].as_str().and_then(|id| id.parse().ok()).unwrap_or_else(|| panic!("{body}"));
        (id, payload["token"].as_str().expect("a token").to_string())
    }

    /// A graphql-ws socket signed in with `token`.
    async fn socket(&self, token: &str) -> WsClient {
        let mut socket = WsClient::connect(&self.address, Some(GRAPHQL_TRANSPORT_WS)).await.expect("the socket opens");
        let ack = socket.init(json!({ "authorization": format!("Bearer {token}") })).await;
        assert_eq!(ack.map(|ack| ack["type"].clone()), Some(json!("connection_ack")), "{:?}", socket.closed());
        socket
    }

    async fn add_contact(&self, token: &str, user: Uuid) {
        let (_, body) = self
            .post(Some(token), "mutation($id: ID!) { addContact(userId: $id) { id } }", json!({ "id": user }))
            .await;
        assert!(body["data"]["addContact"].is_object(), "{body}");
    }
}

/// The one error of a GraphQL answer, checked to be the plain internal one.
fn assert_internal_error(errors: &Value) {
    assert_eq!(errors.as_array().map(Vec::len), Some(1), "{errors}");
    assert_eq!(errors[0]["extensions"]["code"], "INTERNAL_SERVER_ERROR", "{errors}");
    assert_eq!(errors[0]["message"], INTERNAL_MESSAGE, "{errors}");
    assert!(!errors.to_string().contains("injected"), "internal detail leaked: {errors}");
}

#[tokio::test]
async fn a_request_that_panics_answers_500_internal_server_error_and_the_next_request_works() {
    let (log, _guard) = capture_panics();
    let app = spawn_faulty_app().await;

    let (status, body) = app.post(None, "{ panic: me { id } }", json!({})).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_internal_error(&body["errors"]);
    assert_logged(&log, 1);

    let (status, body) = app.post(None, "{ me { id } }", json!({})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "data": { "me": null } })));
    let metrics = app.client.get(format!("{}/metrics", app.address)).send().await.expect("metrics");
    let metrics = metrics.text().await.expect("the metrics text");
    assert!(metrics.lines().any(|line| line.starts_with("panics_total ")), "panics_total is exported");
}

#[tokio::test]
async fn requests_running_beside_one_that_panics_are_answered_normally() {
    let (log, _guard) = capture_panics();
    let app = spawn_faulty_app().await;
    let requests = (0..10).map(|i| {
        let query = if i % 2 == 0 { "{ panic: me { id } }" } else { "{ me { id } }" };
        app.post(None, query, json!({}))
    });
    let answers = futures_util::future::join_all(requests).await;
    for (i, (status, body)) in answers.into_iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        } else {
            assert_eq!((status, body), (StatusCode::OK, json!({ "data": { "me": null } })));
        }
    }
    assert_logged(&log, 5);
}

#[tokio::test]
async fn an_operation_that_panics_over_graphql_ws_ends_with_an_error_and_its_socket_serves_on() {
    let (log, _guard) = capture_panics();
    let app = spawn_faulty_app().await;
    let (ann, ann_token) = app.signed_up("ann").await;
    let (_, bob_token) = app.signed_up("bob").await;
    let mut socket = app.socket(&ann_token).await;
    socket.subscribe("live", "subscription { notifications { kind } }", json!({})).await;

    socket.subscribe("query", "{ panic: me { id } }", json!({})).await;
    let answer = socket.next_of("query", WAIT).await.expect("an answer to the query");
    assert_eq!(answer["type"], "error", "{answer}");
    assert_internal_error(&answer["payload"]);

    // The socket, and the subscription it already ran, go on.
    app.add_contact(&bob_token, ann).await;
    let event = socket.next_of("live", WAIT).await.expect("the live subscription still delivers");
    assert_eq!(event["payload"]["data"]["notifications"]["kind"], "CONTACT_ADDED", "{event}");

    // A subscription that panics while it opens (rendering its backlog) ends the same way.
    socket.subscribe("opening", "subscription { notifications { panic: kind } }", json!({})).await;
    let answer = socket.next_of("opening", WAIT).await.expect("an answer to the subscription");
    assert_eq!(answer["type"], "error", "{answer}");
    assert_internal_error(&answer["payload"]);

    socket.subscribe("after", "{ me { id } }", json!({})).await;
    let answer = socket.next_of("after", WAIT).await.expect("the next operation runs");
    assert_eq!(answer["payload"]["data"]["me"]["id"], json!(ann), "{answer}");
    assert!(socket.ping_answered(WAIT).await, "the socket is still open");
    assert_logged(&log, 2);
}

#[tokio::test]
async fn a_panic_in_a_socket_task_closes_only_that_socket_with_1011() {
    let (log, _guard) = capture_panics();
    let app = spawn_faulty_app().await;
    let (ann, ann_token) = app.signed_up("ann").await;
    let (bob, bob_token) = app.signed_up("bob").await;
    let mut doomed = app.socket(&ann_token).await;
    let mut other = app.socket(&bob_token).await;
    other.subscribe("live", "subscription { notifications { kind } }", json!({})).await;

    app.faults.doom_sockets_of(Some(ann));
    doomed.subscribe("query", "{ me { id } }", json!({})).await;
    assert_eq!(doomed.expect_close(WAIT).await, (1011, "Internal server error".to_string()));
    assert_logged(&log, 1);

    // The other socket and its subscription are untouched, and the closed one left nothing.
    assert!(other.ping_answered(WAIT).await, "the other socket is open");
    app.add_contact(&ann_token, bob).await;
    let event = other.next_of("live", WAIT).await.expect("the other socket's subscription delivers");
    assert_eq!(event["payload"]["data"]["notifications"]["kind"], "CONTACT_ADDED", "{event}");
    assert_eq!(app.state.registry.snapshot().len(), 1, "only the other socket is registered");

    app.faults.doom_sockets_of(None);
    let mut again = app.socket(&ann_token).await;
    again.subscribe("query", "{ me { id } }", json!({})).await;
    let answer = again.next_of("query", WAIT).await.expect("a new socket works");
    assert_eq!(answer["payload"]["data"]["me"]["id"], json!(ann), "{answer}");
}
