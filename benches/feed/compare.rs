//! "Same work, same answer": both servers' answers to the feed request, parsed as JSON, must
//! be equal before either is measured; when they are not, where they first differ.

use anyhow::{anyhow, bail};
use serde_json::Value;

use crate::load::{Endpoint, FeedRequest, fetch};

/// The longest excerpt of a value a difference shows.
const EXCERPT_CHARS: usize = 160;

/// Asks both servers for the page once; the answer when they agree, else an error naming
/// where they first differ.
pub async fn same_answer(
    http: &reqwest::Client,
    request: &FeedRequest,
    graphql: &Endpoint,
    baseline: &Endpoint,
) -> anyhow::Result<Value> {
    let parse = |endpoint: &Endpoint, body: Result<axum::body::Bytes, String>| -> anyhow::Result<Value> {
        let body = body.map_err(|why| anyhow!("the {} failed the feed request: {why}", endpoint.label))?;
        serde_json::from_slice(&body).map_err(|error| anyhow!("the {}'s answer is not JSON: {error}", endpoint.label))
    };
    let from_graphql = parse(graphql, fetch(http, &graphql.url, request).await)?;
    let from_baseline = parse(baseline, fetch(http, &baseline.url, request).await)?;
    if let Some(difference) = first_difference("", &from_graphql, &from_baseline) {
        bail!("the baseline's answer is not GraphQL's, so it does not do the same work:\n  {difference}");
    }
    Ok(from_graphql)
}

/// Where `graphql` and `baseline` first differ, as a path from the answer's root and both
/// sides' values; `None` when they are equal.
fn first_difference(path: &str, graphql: &Value, baseline: &Value) -> Option<String> {
    match (graphql, baseline) {
        (Value::Object(left), Value::Object(right)) => {
            for (key, value) in left {
                let here = format!("{path}.{key}");
                match right.get(key) {
                    Some(other) => {
                        if let Some(difference) = first_difference(&here, value, other) {
                            return Some(difference);
                        }
                    }
                    None => return Some(format!("{here}: only GraphQL has it: {}", excerpt(value))),
                }
            }
            let extra = right.keys().find(|key| !left.contains_key(*key))?;
            Some(format!("{path}.{extra}: only the baseline has it: {}", excerpt(&right[extra])))
        }
        (Value::Array(left), Value::Array(right)) => {
            for (index, (value, other)) in left.iter().zip(right).enumerate() {
                if let Some(difference) = first_difference(&format!("{path}[{index}]"), value, other) {
                    return Some(difference);
                }
            }
            (left.len() != right.len())
                .then(|| format!("{path}: GraphQL has {} entries, the baseline {}", left.len(), right.len()))
        }
        _ => (graphql != baseline)
            .then(|| format!("{path}: GraphQL has {}, the baseline {}", excerpt(graphql), excerpt(baseline))),
    }
}

fn excerpt(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= EXCERPT_CHARS {
        return text;
    }
    format!("{}…", text.chars().take(EXCERPT_CHARS).collect::<String>())
}
