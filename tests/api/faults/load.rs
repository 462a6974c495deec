//! The write load of the fault tests: workers that keep sending every kind of write the server
//! acknowledges (messages, posts, comments, likes, registrations, logins, logouts and
//! verification mail) and record what each got back, so [`super::ledger`] can hold the
//! database to every answer afterwards.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::server_process::{NoAnswer, ServerProcess, post_graphql};
use crate::helpers::TEST_PASSWORD;

/// A registered user the load acts as.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user's id.
    pub id: Uuid,
    /// Their address, which `login` takes.
    pub email: String,
    /// The token of the session `register` opened.
    pub token: String,
}

/// What the load works on: its users, a room, and one post of each user's to like and
/// comment on.
pub struct Fixture {
    /// One user per worker.
    pub actors: Vec<Actor>,
    /// The room every message goes to.
    pub room: Uuid,
    /// A post of each actor's, by the actor's index.
    pub posts: Vec<Uuid>,
}

/// One write the load made.
#[derive(Debug, Clone)]
pub enum Write {
    /// `sendMessage` of `body` to `room`.
    Message { room: Uuid, body: String },
    /// `createPost` of `body`.
    Post { body: String },
    /// `addComment` of `body` on `post`.
    Comment { post: Uuid, body: String },
    /// `likePost` of `post` by `by`.
    Like { post: Uuid, by: Uuid },
    /// `register` of a new account at `email`.
    Register { email: String },
    /// `login` of the account at `email`.
    Login { email: String },
    /// `logout` of the session `session`, whose token is `token`.
    Logout { session: Uuid, token: String },
    /// `requestEmailVerification` by the account at `email`.
    VerificationMail { email: String },
}

/// What the server answered to one write.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Success, with the mutation field's value.
    Acked(Value),
    /// An error, with its `extensions.code`.
    Refused(String),
    /// No answer: the connection failed (the process was killed).
    Unanswered(String),
    /// No answer within the guard: the server hung.
    Hung,
}

/// A write, its answer, and when it was sent and answered.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The write.
    pub write: Write,
    /// The answer.
    pub answer: Answer,
    /// When it was sent.
    pub sent: Instant,
    /// When its answer came (or the guard ran out).
    pub answered: Instant,
}

impl Entry {
    /// The mutation's value when it succeeded.
    pub fn acked(&self) -> Option<&Value> {
        match &self.answer {
            Answer::Acked(value) => Some(value),
            _ => None,
        }
    }
}

/// Registers `actors` users named `<tag><n>`, creates a room and one post per user.
pub async fn prepare(server: &ServerProcess, tag: &str, actors: usize) -> Fixture {
    let mut fixture = Fixture { actors: Vec::new(), room: Uuid::nil(), posts: Vec::new() };
    for n in 0..actors {
        let email = format!("{tag}{n}@example.com");
        let answer = server.graphql(None, REGISTER, register_variables(&email)).await;
        let payload = &answer["data"]["register"];
        fixture.actors.push(Actor {
            id: id_at(payload, "/user/id").unwrap_or_else(|| panic!("{email} registers: {answer}")),
            token: payload["token"].as_str().expect("a token").to_string(),
            email,
        });
    }
    let owner = Some(fixture.actors[0].token.as_str());
    let room = server
        .graphql(owner, "mutation($n: String!) { createRoom(name: $n) { id } }", json!({ "n": format!("{tag} room") }))
        .await;
    fixture.room = id_at(&room, "/data/createRoom/id").unwrap_or_else(|| panic!("a room: {room}"));
    for actor in &fixture.actors {
        let post = server.graphql(Some(&actor.token), CREATE_POST, json!({ "b": format!("{tag} first post") })).await;
        fixture.posts.push(id_at(&post, "/data/createPost/id").unwrap_or_else(|| panic!("a post: {post}")));
    }
    fixture
}

/// Workers sending writes until [`Load::finish`].
pub struct Load {
    stop: CancellationToken,
    workers: Vec<JoinHandle<Vec<Entry>>>,
}

impl Load {
    /// One worker per actor of `fixture`, each cycling through its kinds of write as its
    /// actor (content or accounts, in turn), `pause` apart, each write given `guard` to answer. `tag` keeps this load's
    /// bodies and addresses apart from another's on the same database.
    pub fn start(server: &ServerProcess, fixture: &Fixture, tag: &str, guard: Duration, pause: Duration) -> Load {
        let stop = CancellationToken::new();
        // The newest acknowledged post of each actor, which the next actor likes and comments
        // on. A std Mutex: nothing awaits while it is held.
        let targets = Arc::new(Mutex::new(fixture.posts.clone()));
        let workers = (0..fixture.actors.len())
            .map(|index| {
                let worker = Worker {
                    index,
                    tag: tag.to_string(),
                    actor: fixture.actors[index].clone(),
                    room: fixture.room,
                    targets: targets.clone(),
                    client: server.client.clone(),
                    address: server.address.clone(),
                    guard,
                };
                let stop = stop.clone();
                tokio::spawn(worker.run(stop, pause))
            })
            .collect();
        Load { stop, workers }
    }

    /// Stops the workers (each finishes the write under way) and returns every write made.
    pub async fn finish(self) -> Vec<Entry> {
        self.stop.cancel();
        let mut entries = Vec::new();
        for worker in self.workers {
            entries.extend(worker.await.expect("a load worker did not panic"));
        }
        entries
    }
}

/// One kind of write a worker makes.
#[derive(Clone, Copy)]
enum Step {
    Message,
    Post,
    Comment,
    Like,
    Register,
    Login,
    Logout,
    VerificationMail,
}

/// The cycle of a content worker.
const CONTENT: [Step; 4] = [Step::Message, Step::Post, Step::Comment, Step::Like];

/// The cycle of an accounts worker: each logout ends the login before it, and a message
/// makes its user one of the room's voices too.
const ACCOUNTS: [Step; 5] = [Step::Register, Step::Login, Step::Logout, Step::VerificationMail, Step::Message];

struct Worker {
    index: usize,
    tag: String,
    actor: Actor,
    room: Uuid,
    targets: Arc<Mutex<Vec<Uuid>>>,
    client: reqwest::Client,
    address: String,
    guard: Duration,
}

impl Worker {
    async fn run(self, stop: CancellationToken, pause: Duration) -> Vec<Entry> {
        let mut entries = Vec::new();
        // The session of the last acknowledged login, which the next step logs out.
        let mut signed_in: Option<(Uuid, String)> = None;
        // Even workers write content, odd ones accounts and sessions, whose password hashing
        // takes far longer: so a fault finds content writes under way too, not only hashing.
        let steps: &[Step] = if self.index.is_multiple_of(2) { &CONTENT } else { &ACCOUNTS };
        for step in 0_usize.. {
            if stop.is_cancelled() {
                break;
            }
            let n = step / steps.len();
            let (i, tag) = (self.index, &self.tag);
            let target = {
                let targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
                targets[(i + 1) % targets.len()]
            };
            let token = self.actor.token.clone();
            let (write, field, query, variables, as_token) = match steps[step % steps.len()] {
                Step::Message => {
                    let body = format!("{tag} w{i} message {n}");
                    let variables = json!({ "r": self.room, "b": body });
                    (Write::Message { room: self.room, body }, "sendMessage", SEND_MESSAGE, variables, token)
                }
                Step::Post => {
                    let body = format!("{tag} w{i} post {n}");
                    (Write::Post { body: body.clone() }, "createPost", CREATE_POST, json!({ "b": body }), token)
                }
                Step::Comment => {
                    let body = format!("{tag} w{i} comment {n}");
                    let variables = json!({ "p": target, "b": body });
                    (Write::Comment { post: target, body }, "addComment", ADD_COMMENT, variables, token)
                }
                Step::Like => {
                    (Write::Like { post: target, by: self.actor.id }, "likePost", LIKE, json!({ "p": target }), token)
                }
                Step::Register => {
                    let email = format!("{tag}w{i}r{n}@example.com");
                    let variables = register_variables(&email);
                    (Write::Register { email }, "register", REGISTER, variables, String::new())
                }
                Step::Login => {
                    let variables = json!({ "e": self.actor.email, "p": TEST_PASSWORD });
                    (Write::Login { email: self.actor.email.clone() }, "login", LOGIN, variables, String::new())
                }
                Step::Logout => {
                    let Some((session, token)) = signed_in.take() else { continue };
                    (Write::Logout { session, token: token.clone() }, "logout", LOGOUT, json!({}), token)
                }
                Step::VerificationMail => {
                    let write = Write::VerificationMail { email: self.actor.email.clone() };
                    (write, "requestEmailVerification", VERIFICATION_MAIL, json!({}), token)
                }
            };
            let sent = Instant::now();
            let bearer = (!as_token.is_empty()).then_some(as_token.as_str());
            let answer = match tokio::time::timeout(self.guard, self.post(bearer, query, variables)).await {
                Err(_) => Answer::Hung,
                Ok(Err(NoAnswer(why))) => Answer::Unanswered(why),
                Ok(Ok(body)) => classify(&body, field),
            };
            let entry = Entry { write, answer, sent, answered: Instant::now() };
            if let Some(value) = entry.acked() {
                match &entry.write {
                    Write::Post { .. } => {
                        if let Some(id) = id_at(value, "/id") {
                            self.targets.lock().unwrap_or_else(PoisonError::into_inner)[i] = id;
                        }
                    }
                    Write::Login { .. } => {
                        signed_in = id_at(value, "/session/id").zip(value["token"].as_str().map(str::to_string));
                    }
                    _ => {}
                }
            }
            entries.push(entry);
            tokio::time::sleep(pause).await;
        }
        entries
    }

    async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> Result<Value, NoAnswer> {
        post_graphql(&self.client, &self.address, token, query, variables).await
    }
}

/// The answer a GraphQL body gives for the mutation `field`.
pub fn classify(body: &Value, field: &str) -> Answer {
    if let Some(errors) = body["errors"].as_array() {
        let code = errors.first().and_then(|error| error["extensions"]["code"].as_str()).unwrap_or("(no code)");
        return Answer::Refused(code.to_string());
    }
    match &body["data"][field] {
        Value::Null => Answer::Refused(format!("(no data: {body})")),
        value => Answer::Acked(value.clone()),
    }
}

/// The id at `pointer` (a JSON pointer) of `value`.
pub fn id_at(value: &Value, pointer: &str) -> Option<Uuid> {
    value.pointer(pointer)?.as_str()?.parse().ok()
}

fn register_variables(email: &str) -> Value {
    let username = email.split('@').next().unwrap_or_default();
    json!({ "input": { "email": email, "username": username, "password": TEST_PASSWORD } })
}

const REGISTER: &str = "mutation($input: RegisterInput!) {
    register(input: $input) { token user { id } session { id } }
}";
const LOGIN: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { id } session { id } } }";
const LOGOUT: &str = "mutation { logout }";
const VERIFICATION_MAIL: &str = "mutation { requestEmailVerification }";
const SEND_MESSAGE: &str = "mutation($r: ID!, $b: String!) { sendMessage(roomId: $r, body: $b) { id body } }";
const CREATE_POST: &str = "mutation($b: String!) { createPost(body: $b) { id } }";
const ADD_COMMENT: &str = "mutation($p: ID!, $b: String!) { addComment(postId: $p, body: $b) { id } }";
const LIKE: &str = "mutation($p: ID!) { likePost(postId: $p) { id likeCount } }";
