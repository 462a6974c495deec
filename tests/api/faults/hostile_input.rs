//! Hostile input, straight into each parser and validator: arbitrary text, arbitrary JSON
//! and near-valid mutations of valid input get a clear error (a code and a sentence, or a
//! close reason that fits a close frame) and never a panic. `hostile_requests` sends the
//! same kinds of input through the running server.

use async_graphql::ServerError;
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use proptest::{prelude::*, test_runner::Config};
use serde_json::{Value, json};
use townsquare::{
    config::Settings,
    db::feed::FeedPosition,
    domain::{
        AccountWords, CommentBody, DisplayName, Email, MessageBody, Password, PostBody, RoomName, Username,
        ValidationError,
    },
    graphql::{
        admission::Admission,
        errors::{BAD_REQUEST, BAD_USER_INPUT, PARSE_FAILED, VALIDATION_FAILED, code_of},
        types::page::{decode_cursor, encode_cursor},
    },
    realtime::protocol::{self, ClientMessage},
};
use uuid::Uuid;

use super::strategies::{change_fields, deeply_nested, field_change, json_value, mutated, short, text, token_soup};

/// Cases per property: enough to find what a fuzzer finds in a minute, fast enough to run on
/// every `cargo test`.
fn config() -> Config {
    Config { cases: 512, failure_persistence: None, ..Config::default() }
}

/// The default settings, whose limits every property checks against.
fn settings() -> Settings {
    Settings::from_lookup(|_| None).expect("the defaults are valid")
}

/// Checks what the graphql-ws parser made of `text`: a known message, or a reason for the
/// 4400 close that is a sentence and fits a close frame.
fn assert_parsed_or_refused(text: &str) {
    match ClientMessage::parse(text) {
        Ok(_) => {
            let value: Value = serde_json::from_str(text).expect("an accepted message is JSON");
            let kind = value["type"].as_str().expect("an accepted message has a type");
            assert!(
                ["connection_init", "ping", "pong", "subscribe", "complete"].contains(&kind),
                "accepted an unknown type: {}",
                short(text)
            );
        }
        Err(reason) => {
            assert!(reason.starts_with("Invalid message received"), "{reason:?} for {}", short(text));
            assert!(reason.len() <= 123, "{} bytes do not fit a close frame: {reason:?}", reason.len());
        }
    }
}

/// Valid graphql-ws messages of every kind, for mutation.
fn valid_messages() -> Vec<Value> {
    vec![
        json!({ "type": "connection_init", "payload": { "authorization": "Bearer abc.def.ghi" } }),
        json!({ "type": "ping", "payload": { "at": 1 } }),
        json!({ "type": "pong" }),
        json!({ "type": "subscribe", "id": "1", "payload": {
            "query": "query($n: Int) { posts(first: $n) { edges { cursor } } }",
            "variables": { "n": 2 }, "operationName": null, "extensions": {} } }),
        json!({ "type": "complete", "id": "1" }),
    ]
}

fn valid_message() -> impl Strategy<Value = Value> {
    prop::sample::select(valid_messages())
}

/// The types a client sends, one the server sends, and near misses.
fn message_type() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["connection_init", "ping", "pong", "subscribe", "complete", "next", "Subscribe", ""])
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_a_graphql_ws_message_or_a_short_reason_to_close(text in any::<String>()) {
        assert_parsed_or_refused(&text);
    }

    #[test]
    fn any_bytes_read_as_text_are_a_message_or_a_short_reason_to_close(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        assert_parsed_or_refused(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn any_json_with_a_known_type_is_a_message_or_a_short_reason_to_close(
        kind in message_type(),
        id in json_value(),
        payload in json_value(),
    ) {
        assert_parsed_or_refused(&json!({ "type": kind, "id": id, "payload": payload }).to_string());
        assert_parsed_or_refused(&json!({ "type": kind, "payload": payload }).to_string());
    }

    #[test]
    fn valid_messages_with_a_field_dropped_retyped_added_or_doubled_get_an_answer(
        message in valid_message(),
        change in field_change(),
    ) {
        let object = message.as_object().expect("every valid message is an object");
        assert_parsed_or_refused(&change_fields(object, &change));
        if let Some(payload) = object.get("payload").and_then(Value::as_object) {
            let mut message = object.clone();
            let changed: Value = serde_json::from_str(&change_fields(payload, &change)).unwrap_or(Value::Null);
            message.insert("payload".into(), changed);
            assert_parsed_or_refused(&Value::Object(message).to_string());
        }
    }

    #[test]
    fn valid_messages_with_a_few_characters_changed_get_an_answer(
        text in valid_message().prop_flat_map(|message| mutated(message.to_string())),
    ) {
        assert_parsed_or_refused(&text);
    }

    #[test]
    fn close_reasons_fit_a_close_frame_and_keep_their_start(reason in any::<String>()) {
        let cut = protocol::close_reason(&reason);
        prop_assert!(cut.len() <= 123);
        prop_assert!(reason.starts_with(&cut));
    }

    #[test]
    fn frames_the_server_writes_are_json_whatever_the_operation_id(id in any::<String>()) {
        let next: Value = serde_json::from_str(&protocol::next_text(&id, r#"{"data":null}"#)).expect("next is JSON");
        prop_assert_eq!(&next["id"], &json!(id));
        let error: Value =
            serde_json::from_str(&protocol::error_text(&id, &protocol::internal_errors())).expect("error is JSON");
        prop_assert_eq!(&error["id"], &json!(id));
        prop_assert_eq!(&error["payload"][0]["extensions"]["code"], "INTERNAL_SERVER_ERROR");
    }

    #[test]
    fn any_connection_init_payload_yields_a_token_or_none(payload in json_value()) {
        if let Some(token) = protocol::init_token(Some(&payload)) {
            let _ = townsquare::auth::viewer::bearer_token(token);
        }
    }

    #[test]
    fn bearer_values_yield_a_trimmed_non_empty_token_or_none(value in any::<String>()) {
        if let Some(token) = townsquare::auth::viewer::bearer_token(&value) {
            prop_assert!(!token.is_empty());
            prop_assert_eq!(token, token.trim());
            prop_assert!(value.contains(token));
        }
    }
}

/// What a refused request must carry: one of the codes of a client's mistake, and a sentence.
fn assert_clear_refusal(error: &ServerError, document: &str) {
    let code = code_of(error).unwrap_or_else(|| panic!("no code for {}: {}", short(document), error.message));
    assert!(
        [PARSE_FAILED, VALIDATION_FAILED, BAD_REQUEST, BAD_USER_INPUT].contains(&code),
        "{code} for {}: {}",
        short(document),
        error.message
    );
    assert!(!error.message.trim().is_empty(), "an empty message for {}", short(document));
}

fn request(query: &str, variables: Value) -> townsquare::graphql::document::RequestParams {
    townsquare::graphql::document::RequestParams {
        query: query.to_string(),
        variables: variables.as_object().cloned(),
        ..Default::default()
    }
}

/// A limit of the document, and how a document of size `n` for it is written.
#[derive(Debug, Clone, Copy)]
enum Limit {
    Depth,
    Aliases,
    Directives,
    Length,
}

impl Limit {
    fn bound(self, settings: &Settings) -> usize {
        let limits = &settings.query_limits;
        match self {
            Limit::Depth => limits.max_depth,
            Limit::Aliases => limits.max_aliases,
            Limit::Directives => limits.max_directives,
            Limit::Length => limits.max_length,
        }
    }

    /// A document that is `n` deep, has `n` aliases or directives, or is `n` characters long.
    fn document(self, n: usize) -> String {
        match self {
            Limit::Depth => format!("{}{}", "{ a ".repeat(n), "} ".repeat(n)),
            Limit::Aliases => format!("{{ {} }}", (0..n).map(|i| format!("a{i}: a")).collect::<Vec<_>>().join(" ")),
            Limit::Directives => format!("{{ a {} }}", "@d ".repeat(n)),
            Limit::Length => format!("{{ a }}{}", " ".repeat(n.saturating_sub(5))),
        }
    }
}

/// Documents clients send, to be mutated.
fn valid_document() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "query Feed($n: Int = 5, $after: String) { posts(first: $n, after: $after) { \
         edges { cursor node { id body author { username } } } pageInfo { hasNextPage } } }",
        "mutation { createPost(body: \"hi \\u00e9\") { id } }",
        "subscription($room: ID!) { roomEvents(roomId: $room) { ... on MessagePosted { message { body } } } }",
        "{ ...F } fragment F on Query { me @include(if: true) { id } }",
    ])
}

/// Variable types of the schema, input objects and custom scalars included.
fn declared_type() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["ID!", "Int", "[ID!]", "RegisterInput!", "Role", "Boolean!", "String", "DateTime"])
}

/// Documents of a size just under, at or just over each limit.
fn near_a_limit() -> impl Strategy<Value = (Limit, usize)> {
    let settings = settings();
    prop::sample::select(vec![Limit::Depth, Limit::Aliases, Limit::Directives, Limit::Length]).prop_flat_map(
        move |limit| {
            let bound = limit.bound(&settings);
            (Just(limit), bound.saturating_sub(3)..=bound + 3)
        },
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn documents_near_a_limit_pass_or_are_refused_naming_the_limit((limit, n) in near_a_limit()) {
        let settings = settings();
        let bound = limit.bound(&settings);
        let document = limit.document(n);
        match Admission::new(&settings).admit(request(&document, json!({}))) {
            Ok(_) => prop_assert!(n <= bound, "{limit:?} {n} over the limit {bound} passed"),
            Err(error) => {
                prop_assert!(n > bound, "{limit:?} {n} within the limit {bound} refused: {}", error.message);
                prop_assert_eq!(code_of(&error), Some(VALIDATION_FAILED));
                prop_assert!(error.message.contains(&format!("the limit is {bound}")), "{}", error.message);
            }
        }
    }

    #[test]
    fn any_text_as_a_document_runs_or_is_refused_with_a_code(document in prop_oneof![any::<String>(), token_soup()]) {
        if let Err(error) = Admission::new(&settings()).admit(request(&document, json!({}))) {
            assert_clear_refusal(&error, &document);
        }
    }

    #[test]
    fn valid_documents_with_a_few_characters_changed_run_or_are_refused_with_a_code(
        document in valid_document().prop_flat_map(|document| mutated(document.to_string())),
    ) {
        if let Err(error) = Admission::new(&settings()).admit(request(&document, json!({}))) {
            assert_clear_refusal(&error, &document);
        }
    }

    #[test]
    fn documents_nested_past_every_limit_are_refused_without_exhausting_the_stack(document in deeply_nested()) {
        // Nested 100 levels or more: fields that deep are past the depth limit; values that
        // deep pass admission as long as they stay under the bracket bound.
        match Admission::new(&settings()).admit(request(&document, json!({}))) {
            Ok(_) => prop_assert!(!document.starts_with("{a") && document.len() < 2 * 7 * 129, "{}", short(&document)),
            Err(error) => assert_clear_refusal(&error, &document),
        }
    }

    #[test]
    fn any_variable_values_run_or_are_refused_naming_the_variable(
        declared in declared_type(),
        value in json_value(),
    ) {
        let document = format!("query($v: {declared}) {{ a }}");
        if let Err(error) = Admission::new(&settings()).admit(request(&document, json!({ "v": value }))) {
            prop_assert_eq!(code_of(&error), Some(BAD_USER_INPUT), "{}", error.message);
            prop_assert!(error.message.contains("\"$v\""), "{}", error.message);
        }
    }
}

fn email() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[ A-Za-z.@İẞ]{0,30}", mutated("Ann.Smith@Example.com".into())]
}

fn username() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z0-9_ A-Z-]{0,40}", ".{30,3000}"]
}

fn password() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), ".{0,140}", mutated("annsmith1".into())]
}

/// Text with blanks around it, and lengths around each bound.
fn body() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[ \t\n]{0,5}.{0,30}[ \t\n]{0,5}", "x{1990,2010}", "é{3990,4010}"]
}

/// What a refused value must say: a sentence of reasonable length.
fn assert_sentence(message: &str, input: &str) {
    assert!(message.ends_with('.'), "{message:?} for {}", short(input));
    assert!(message.chars().count() <= 400, "a {}-character message for {}", message.chars().count(), short(input));
}

/// Which characters a text refuses.
type Forbidden = fn(char) -> bool;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_email_is_normalized_once_or_refused_with_a_sentence(raw in email()) {
        match Email::parse(&raw) {
            Ok(email) => {
                let normalized = email.as_str();
                prop_assert_eq!(normalized.matches('@').count(), 1);
                prop_assert!(normalized.chars().count() <= 254);
                let again = Email::parse(normalized).map(|again| again.as_str().to_string());
                prop_assert_eq!(again, Ok(normalized.to_string()), "normalizing twice changes the address");
            }
            Err(error) => assert_sentence(&error.0, &raw),
        }
    }

    #[test]
    fn any_username_follows_the_rule_or_is_refused_with_a_sentence(raw in username()) {
        match Username::parse(&raw) {
            Ok(name) => {
                prop_assert!((3..=32).contains(&name.as_str().len()));
                prop_assert!(name.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            }
            Err(error) => assert_sentence(&error.0, &raw),
        }
        let ann = Username::parse("ann_99").expect("a valid username");
        if let Err(error) = DisplayName::parse(Some(&raw), &ann) {
            assert_sentence(&error.0, &raw);
        }
    }

    #[test]
    fn any_password_is_taken_or_refused_with_a_sentence(raw in password()) {
        let words = AccountWords { email: "ann.smith@example.com", username: "annsmith", display_name: "Ann Smith" };
        match Password::parse_new(&raw, &words) {
            Ok(password) => prop_assert_eq!(password.expose(), raw.as_str(), "passwords are never changed"),
            Err(error) => assert_sentence(&error.0, "a password"),
        }
    }

    #[test]
    fn any_body_is_trimmed_and_bounded_or_refused_with_a_sentence(raw in body()) {
        let trimmed = raw.trim();
        let length = trimmed.chars().count();
        // Bodies refuse NUL (PostgreSQL cannot store it); room names, like display names,
        // refuse every control character.
        let nul = |c: char| c == '\0';
        let checks: [(Result<String, ValidationError>, usize, Forbidden); 4] = [
            (PostBody::parse(&raw).map(|body| body.as_str().to_string()), PostBody::MAX_CHARS, nul),
            (CommentBody::parse(&raw).map(|body| body.as_str().to_string()), CommentBody::MAX_CHARS, nul),
            (MessageBody::parse(&raw).map(|body| body.as_str().to_string()), MessageBody::MAX_CHARS, nul),
            (RoomName::parse(&raw).map(|name| name.as_str().to_string()), RoomName::MAX_CHARS, char::is_control),
        ];
        for (parsed, max, forbidden) in checks {
            let has_forbidden = trimmed.chars().any(forbidden);
            match parsed {
                Ok(body) => {
                    prop_assert_eq!(body.as_str(), trimmed);
                    prop_assert!((1..=max).contains(&length));
                    prop_assert!(!has_forbidden, "a forbidden character was taken");
                }
                Err(error) => {
                    prop_assert!(
                        length == 0 || length > max || has_forbidden,
                        "{length} characters refused with max {max}"
                    );
                    assert_sentence(&error.0, &raw);
                }
            }
        }
    }
}

/// What a cursor that is not one of ours gets.
fn assert_refused_cursor(kind: &str, cursor: &str) {
    match decode_cursor(kind, cursor) {
        Ok(position) => {
            // Only a well-formed cursor decodes, and it names a moment a row can have.
            assert_eq!(decode_cursor(kind, &encode_cursor(kind, position)).ok(), Some(position), "{}", short(cursor));
            let year = chrono::Datelike::year(&position.created_at);
            assert!((1..=9999).contains(&year), "{} decodes to the year {year}, which no row has", short(cursor));
        }
        Err(error) => {
            assert_eq!(error.code(), "BAD_USER_INPUT", "{}", short(cursor));
            assert!(error.message().starts_with("The cursor is not valid."), "{}", error.message());
        }
    }
}

/// The text inside a cursor, near-valid: a kind, a number of microseconds and an id, each
/// possibly wrong.
fn cursor_text() -> impl Strategy<Value = String> {
    let kind = prop::sample::select(vec!["post", "message", "notification", "", "POST", "post:"]);
    let micros =
        prop_oneof![any::<i64>().prop_map(|micros| micros.to_string()), Just("1.5".into()), Just("".into()), text()];
    let id = prop_oneof![Just(Uuid::now_v7().to_string()), Just(Uuid::nil().simple().to_string()), text()];
    (kind, micros, id).prop_map(|(kind, micros, id)| format!("{kind}:{micros}:{id}"))
}

/// Arbitrary bytes, read as UTF-8 where they are.
fn bytes_as_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..64).prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_as_a_cursor_is_refused_with_a_sentence(
        cursor in prop_oneof![any::<String>(), "[A-Za-z0-9_=+/-]{0,60}"],
    ) {
        assert_refused_cursor("post", &cursor);
    }

    #[test]
    fn base64_of_anything_as_a_cursor_decodes_to_a_real_position_or_is_refused(
        inner in prop_oneof![cursor_text(), any::<String>(), bytes_as_text()],
    ) {
        assert_refused_cursor("post", &URL_SAFE_NO_PAD.encode(&inner));
        assert_refused_cursor("message", &URL_SAFE_NO_PAD.encode(&inner));
    }

    #[test]
    fn valid_cursors_with_a_few_characters_changed_decode_or_are_refused(
        cursor in mutated(encode_cursor("post", FeedPosition { created_at: Utc::now(), id: Uuid::now_v7() })),
    ) {
        assert_refused_cursor("post", &cursor);
    }
}
