//! Generators for the hostile-input properties: arbitrary JSON, arbitrary text, and
//! near-valid mutations of valid input (one character changed, dropped, added, the text cut
//! short, a field dropped, duplicated or of another type).

use proptest::{collection, prelude::*, sample::Index};
use serde_json::{Map, Value};

/// Any JSON value, nested a few levels, with the awkward leaves: huge and negative numbers,
/// floats, empty and non-ASCII strings.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("JSON has no NaN or infinity", |float| {
            serde_json::Number::from_f64(float).map(Value::Number)
        }),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            collection::btree_map(text(), inner, 0..4).prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Short text of any characters, controls and astral planes included.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,12}", "[a-z_]{0,8}", any::<String>()]
}

/// One edit that turns valid input into near-valid input.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Drop the character at the index.
    Delete(Index),
    /// Put a character in at the index.
    Insert(Index, char),
    /// Put a character in place of the one at the index.
    Replace(Index, char),
    /// Keep only what precedes the index.
    Truncate(Index),
    /// Repeat what follows the index.
    Duplicate(Index),
}

/// Characters an edit puts in: those that matter to JSON, GraphQL, JWTs and base64 most often,
/// any character sometimes.
fn edit_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select("\"\\{}[]:,.$@! \0-_=/+A0".chars().collect::<Vec<_>>()),
        1 => any::<char>(),
    ]
}

/// Any one edit.
pub fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<Index>().prop_map(Edit::Delete),
        (any::<Index>(), edit_char()).prop_map(|(at, c)| Edit::Insert(at, c)),
        (any::<Index>(), edit_char()).prop_map(|(at, c)| Edit::Replace(at, c)),
        any::<Index>().prop_map(Edit::Truncate),
        any::<Index>().prop_map(Edit::Duplicate),
    ]
}

/// `text` with `edit` applied (at a character boundary).
pub fn apply(text: &str, edit: &Edit) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at =
        |index: &Index, extra: usize| if chars.is_empty() && extra == 0 { 0 } else { index.index(chars.len() + extra) };
    let mut edited = chars.clone();
    match edit {
        Edit::Delete(index) if !chars.is_empty() => {
            edited.remove(at(index, 0));
        }
        Edit::Delete(_) => {}
        Edit::Insert(index, c) => edited.insert(at(index, 1), *c),
        Edit::Replace(index, c) if !chars.is_empty() => edited[at(index, 0)] = *c,
        Edit::Replace(_, c) => edited.push(*c),
        Edit::Truncate(index) => edited.truncate(at(index, 1)),
        Edit::Duplicate(index) => {
            let from = at(index, 1);
            edited.extend_from_slice(&chars[from..]);
        }
    }
    edited.into_iter().collect()
}

/// `text` with one to three edits: near-valid.
pub fn mutated(text: String) -> impl Strategy<Value = String> {
    collection::vec(edit(), 1..=3)
        .prop_map(move |edits| edits.iter().fold(text.clone(), |text, edit| apply(&text, edit)))
}

/// One change to a JSON object's fields that a careless or hostile client makes.
#[derive(Debug, Clone)]
pub enum FieldChange {
    /// Leave the field out.
    Drop(Index),
    /// Send the field with a value of another type (or another value).
    Retype(Index, Value),
    /// Add a field the message does not have.
    Add(String, Value),
    /// Send the field twice (only text can say that; see [`with_duplicate`]).
    Duplicate(Index),
}

/// Any one field change.
pub fn field_change() -> impl Strategy<Value = FieldChange> {
    prop_oneof![
        any::<Index>().prop_map(FieldChange::Drop),
        (any::<Index>(), json_value()).prop_map(|(at, value)| FieldChange::Retype(at, value)),
        (text(), json_value()).prop_map(|(name, value)| FieldChange::Add(name, value)),
        any::<Index>().prop_map(FieldChange::Duplicate),
    ]
}

/// `object` with `change` applied, as JSON text.
pub fn change_fields(object: &Map<String, Value>, change: &FieldChange) -> String {
    let mut changed = object.clone();
    let keys: Vec<String> = object.keys().cloned().collect();
    let key = |index: &Index| (!keys.is_empty()).then(|| keys[index.index(keys.len())].clone());
    match change {
        FieldChange::Drop(index) => {
            if let Some(key) = key(index) {
                changed.remove(&key);
            }
        }
        FieldChange::Retype(index, value) => {
            if let Some(key) = key(index) {
                changed.insert(key, value.clone());
            }
        }
        FieldChange::Add(name, value) => {
            changed.insert(name.clone(), value.clone());
        }
        FieldChange::Duplicate(index) => {
            if let Some(key) = key(index) {
                return with_duplicate(&changed, &key);
            }
        }
    }
    Value::Object(changed).to_string()
}

/// `object` as JSON text with `key` written twice, the second time as a string.
fn with_duplicate(object: &Map<String, Value>, key: &str) -> String {
    let text = Value::Object(object.clone()).to_string();
    let extra = format!("{}:\"again\",", Value::from(key));
    format!("{{{extra}{}", &text[1..])
}

/// Tokens of GraphQL's grammar, for documents that are almost documents.
pub fn token_soup() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ":",
        "$",
        "@",
        "!",
        "=",
        "...",
        "|",
        "&",
        "query",
        "mutation",
        "subscription",
        "fragment",
        "on",
        "me",
        "posts",
        "first",
        "id",
        "a",
        "\"s\"",
        "\"\"\"b\"\"\"",
        "1",
        "-1.5e9",
        "true",
        "null",
        "#c\n",
        ",",
        " ",
    ]);
    prop::collection::vec(token, 0..60).prop_map(|tokens| tokens.join(" "))
}

/// Documents nested far past every limit in each way the grammar nests.
pub fn deeply_nested() -> impl Strategy<Value = String> {
    (prop::sample::select(vec!["field", "list", "object", "inline"]), prop_oneof![100_usize..200, 200_usize..7_000])
        .prop_map(|(how, n)| match how {
            "field" => format!("{}{}", "{a".repeat(n), "}".repeat(n)),
            "list" => format!("{{ a(x: {}1{}) }}", "[".repeat(n), "]".repeat(n)),
            "object" => format!("{{ a(x: {}1{}) }}", "{a:".repeat(n), "}".repeat(n)),
            _ => format!("{{ {}a{} }}", "... on Q {".repeat(n.min(1_400)), "}".repeat(n.min(1_400))),
        })
}

/// `text` cut for a failure message: generated input can be long, and proptest prints the
/// minimal case in full anyway.
pub fn short(text: &str) -> String {
    let count = text.chars().count();
    if count <= 60 {
        format!("{text:?}")
    } else {
        format!("{:?}… ({count} characters)", text.chars().take(60).collect::<String>())
    }
}
