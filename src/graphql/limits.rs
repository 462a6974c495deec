//! Document limits, checked before a request runs: length, depth, aliases, directives, and the
//! shape of introspection. async-graphql checks complexity itself (see `schema.rs`).
//!
//! Depth and introspection follow one rule, the one graphql-armor's max-depth
//! (`ignoreIntrospection`) and Apollo Router (`limits.introspection_max_depth`, from
//! apollo-compiler's `check_max_depth`, itself graphql-js's `MaxIntrospectionDepthRule`)
//! settle on between them:
//! - `MAX_QUERY_DEPTH` counts the fields of the API; a `__schema` or `__type` field counts as
//!   one level and its subtree does not count, so the introspection query every tool sends
//!   (GraphiQL, GraphQL Code Generator, rover, `getIntrospectionQuery` with every option)
//!   passes at the default depth of 10.
//! - Inside introspection, what can blow a response up is bounded instead: the list fields
//!   `fields`, `inputFields`, `interfaces` and `possibleTypes` nest at most
//!   `MAX_INTROSPECTION_LIST_DEPTH` (2) deep, as graphql-js and Apollo Router allow, and
//!   `ofType` at most `MAX_INTROSPECTION_TYPE_DEPTH` (12) deep: tools ask for 7 to 9 levels,
//!   and no type of this schema wraps more than 3.
//!
//! Fragments count where they are spread, as if written there (async-graphql's own depth
//! rule does the same); each fragment is measured once, so a document that spreads fragments
//! into each other many times costs no more to check than it is long.

use std::collections::HashMap;

use async_graphql::{
    ServerError,
    parser::types::{DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet},
};

use super::errors::{VALIDATION_FAILED, with_code};
use crate::config::QueryLimits;

/// The introspection fields whose values are lists of types, fields or arguments: nesting them
/// is what multiplies an introspection response.
const INTROSPECTION_LISTS: [&str; 4] = ["fields", "inputFields", "interfaces", "possibleTypes"];

/// A refusal for breaking a document limit: `GRAPHQL_VALIDATION_FAILED` with `message`.
fn limit_error(message: String) -> ServerError {
    with_code(ServerError::new(message, None), VALIDATION_FAILED)
}

/// Refuses `query` before parsing when it is longer than the limit, so an oversized document
/// costs no parser time.
pub fn check_length(query: &str, limits: &QueryLimits) -> Result<(), ServerError> {
    let length = query.chars().count();
    if length > limits.max_length {
        return Err(limit_error(format!(
            "The query document is {length} characters long; the limit is {}.",
            limits.max_length
        )));
    }
    Ok(())
}

/// How deep brackets (`{`, `[`, `(`) may nest in a document, checked before parsing.
///
/// The parser descends once per bracket, so a document nested a few thousand levels deep
/// (15,000 characters of `[` fit in `MAX_QUERY_LENGTH`) exhausts the stack and aborts the
/// process before any limit is measured. The bound sits well above what the other limits let
/// through (the parser itself refuses selection sets nested past 64, introspection queries
/// nest about 15) and well below what the stack holds.
pub const MAX_NESTING: usize = 128;

/// Refuses `query` before parsing when its brackets nest deeper than [`MAX_NESTING`]. Strings,
/// block strings and comments are skipped, as the parser skips them.
pub fn check_nesting(query: &str) -> Result<(), ServerError> {
    let nesting = nesting(query);
    if nesting > MAX_NESTING {
        return Err(limit_error(format!(
            "The query nests brackets more than {MAX_NESTING} levels deep; the limit is {MAX_NESTING}."
        )));
    }
    Ok(())
}

/// The deepest nesting of brackets in `query`, counted up to one past [`MAX_NESTING`].
fn nesting(query: &str) -> usize {
    let bytes = query.as_bytes();
    let (mut depth, mut deepest, mut at) = (0_usize, 0_usize, 0);
    while at < bytes.len() && deepest <= MAX_NESTING {
        match bytes[at] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            b'#' => {
                while at < bytes.len() && !matches!(bytes[at], b'\n' | b'\r') {
                    at += 1;
                }
            }
            b'"' if bytes[at..].starts_with(b"\"\"\"") => {
                at += 3;
                while at < bytes.len() && !bytes[at..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped delimiter inside a block string.
                    at += if bytes[at..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                at += 2;
            }
            b'"' => {
                at += 1;
                while at < bytes.len() && !matches!(bytes[at], b'"' | b'\n' | b'\r') {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
            }
            _ => {}
        }
        at += 1;
    }
    deepest
}

/// Checks a parsed document against the limits. `introspection` false refuses `__schema` and
/// `__type`: async-graphql's own switch answers them with a silent null, which breaks their
/// non-null type.
pub fn check_document(
    document: &ExecutableDocument,
    limits: &QueryLimits,
    introspection: bool,
) -> Result<(), ServerError> {
    let measure = measure_document(document);
    if measure.aliases > limits.max_aliases {
        return Err(limit_error(format!(
            "The query uses {} aliases; the limit is {}.",
            measure.aliases, limits.max_aliases
        )));
    }
    if measure.directives > limits.max_directives {
        return Err(limit_error(format!(
            "The query uses {} directives; the limit is {}.",
            measure.directives, limits.max_directives
        )));
    }
    if measure.introspection && !introspection {
        return Err(limit_error("Introspection is switched off on this server.".into()));
    }
    if measure.depth > limits.max_depth {
        return Err(limit_error(format!(
            "The query is nested too deep: {} levels; the limit is {} levels (introspection fields count as one).",
            measure.depth, limits.max_depth
        )));
    }
    if measure.introspection_lists > limits.max_introspection_lists {
        return Err(limit_error(format!(
            "The introspection query nests `fields`, `inputFields`, `interfaces` or `possibleTypes` {} levels deep; \
             the limit is {}.",
            measure.introspection_lists, limits.max_introspection_lists
        )));
    }
    if measure.type_depth > limits.max_introspection_type_depth {
        return Err(limit_error(format!(
            "The introspection query nests `ofType` {} levels deep; the limit is {}.",
            measure.type_depth, limits.max_introspection_type_depth
        )));
    }
    Ok(())
}

/// What the limits look at in one document.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DocumentMeasure {
    /// Aliased fields, counted where written.
    pub aliases: usize,
    /// Directives anywhere (operations, variables, fields, fragments), counted where written.
    pub directives: usize,
    /// Whether `__schema` or `__type` is selected anywhere (`__typename` is not introspection).
    pub introspection: bool,
    /// The deepest path of fields, an introspection field counting as one.
    pub depth: usize,
    /// The most introspection list fields on one path.
    pub introspection_lists: usize,
    /// The most `ofType` fields on one path.
    pub type_depth: usize,
}

/// Measures `document`.
pub fn measure_document(document: &ExecutableDocument) -> DocumentMeasure {
    let mut measure = DocumentMeasure::default();
    let operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(operation) => vec![operation],
        DocumentOperations::Multiple(operations) => operations.values().collect(),
    };
    for operation in &operations {
        measure.directives += operation.node.directives.len();
        for variable in &operation.node.variable_definitions {
            measure.directives += variable.node.directives.len();
        }
        count_written(&operation.node.selection_set.node, &mut measure);
    }
    for fragment in document.fragments.values() {
        measure.directives += fragment.node.directives.len();
        count_written(&fragment.node.selection_set.node, &mut measure);
    }
    let mut paths = Paths { fragments: &document.fragments, measured: HashMap::new() };
    for operation in &operations {
        let path = paths.measure(&operation.node.selection_set.node);
        measure.depth = measure.depth.max(path.depth);
        measure.introspection_lists = measure.introspection_lists.max(path.introspection_lists);
        measure.type_depth = measure.type_depth.max(path.type_depth);
    }
    measure
}

/// Counts what is written in `set` (fragments where they are defined, not where spread).
fn count_written(set: &SelectionSet, measure: &mut DocumentMeasure) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                measure.aliases += usize::from(field.node.alias.is_some());
                measure.introspection |= is_introspection(field.node.name.node.as_str());
                measure.directives += field.node.directives.len();
                count_written(&field.node.selection_set.node, measure);
            }
            Selection::FragmentSpread(spread) => measure.directives += spread.node.directives.len(),
            Selection::InlineFragment(fragment) => {
                measure.directives += fragment.node.directives.len();
                count_written(&fragment.node.selection_set.node, measure);
            }
        }
    }
}

fn is_introspection(name: &str) -> bool {
    matches!(name, "__schema" | "__type")
}

/// The longest paths below one selection set, fragments inlined.
#[derive(Debug, Default, Clone, Copy)]
struct PathMeasure {
    /// Fields on the deepest path of the API (an introspection field counts as one).
    depth: usize,
    /// Introspection list fields on one path.
    introspection_lists: usize,
    /// `ofType` fields on one path.
    type_depth: usize,
}

impl PathMeasure {
    fn max(self, other: PathMeasure) -> PathMeasure {
        PathMeasure {
            depth: self.depth.max(other.depth),
            introspection_lists: self.introspection_lists.max(other.introspection_lists),
            type_depth: self.type_depth.max(other.type_depth),
        }
    }
}

/// Measures selection sets with fragments inlined, each fragment once.
struct Paths<'a> {
    fragments: &'a HashMap<async_graphql::Name, async_graphql::Positioned<FragmentDefinition>>,
    /// Fragments measured so far; `None` while one is being measured, so a cycle (which
    /// validation refuses later) ends instead of recursing forever.
    measured: HashMap<&'a str, Option<PathMeasure>>,
}

impl<'a> Paths<'a> {
    fn measure(&mut self, set: &'a SelectionSet) -> PathMeasure {
        let mut longest = PathMeasure::default();
        for item in &set.items {
            let below = match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    let inner = self.measure(&field.node.selection_set.node);
                    PathMeasure {
                        // The introspection subtree is bounded by the two measures below instead.
                        depth: if is_introspection(name) { 1 } else { 1 + inner.depth },
                        introspection_lists: inner.introspection_lists
                            + usize::from(INTROSPECTION_LISTS.contains(&name)),
                        type_depth: inner.type_depth + usize::from(name == "ofType"),
                    }
                }
                Selection::FragmentSpread(spread) => self.fragment(spread.node.fragment_name.node.as_str()),
                Selection::InlineFragment(fragment) => self.measure(&fragment.node.selection_set.node),
            };
            longest = longest.max(below);
        }
        longest
    }

    fn fragment(&mut self, name: &str) -> PathMeasure {
        let Some((name, fragment)) = self.fragments.get_key_value(name) else {
            // An unknown fragment: validation reports it.
            return PathMeasure::default();
        };
        if let Some(measured) = self.measured.get(name.as_str()) {
            return measured.unwrap_or_default();
        }
        self.measured.insert(name.as_str(), None);
        let measure = self.measure(&fragment.node.selection_set.node);
        self.measured.insert(name.as_str(), Some(measure));
        measure
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(query: &str) -> DocumentMeasure {
        measure_document(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    #[test]
    fn counts_aliases_and_directives_where_written() {
        let measured = measure(
            "query Q($a: Int @deprecated) @x { one: posts { edges @skip(if: false) { ...F } } two: post(id: 1) { id } }
             fragment F on PostEdge @y { node { b: body ... on Post @include(if: true) { id } } }",
        );
        assert_eq!((measured.aliases, measured.directives, measured.introspection), (3, 5, false));
        assert!(
            measure("{ ...F } fragment F on Query { __type(name: \"Post\") { name } }").introspection,
            "in a fragment"
        );
    }

    #[test]
    fn depth_inlines_fragments_and_counts_introspection_as_one_level() {
        assert_eq!(measure("{ a { b { c } } }").depth, 3);
        assert_eq!(measure("{ a { ...F } } fragment F on A { b { ... on B { c { d } } } }").depth, 4);
        let introspection = measure("{ __schema { types { fields { type { ofType { name } } } } } a { b } }");
        assert_eq!(introspection.depth, 2, "__schema counts as one; the field `a` is deeper");
        assert_eq!(introspection.introspection_lists, 1);
        assert_eq!(introspection.type_depth, 1);
    }

    #[test]
    fn introspection_lists_and_of_type_are_counted_along_one_path() {
        let nested = measure("{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }");
        assert_eq!(nested.introspection_lists, 3);
        let siblings =
            measure("{ __type(name: \"Post\") { fields { name } interfaces { name } possibleTypes { name } } }");
        assert_eq!(siblings.introspection_lists, 1, "siblings do not nest");
        let chain = measure(
            "{ __type(name: \"Post\") { ...T } } fragment T on __Type { ofType { ofType { ofType { name } } } }",
        );
        assert_eq!(chain.type_depth, 3, "through a fragment");
    }

    #[test]
    fn nesting_counts_brackets_outside_strings_and_comments() {
        assert_eq!(nesting("{ a(x: [[1]]) { b } }"), 4);
        assert_eq!(nesting("{ a(x: \"{{{[[[\\\"{{\") # {{{{\n }"), 2);
        assert_eq!(nesting("{ a(x: \"\"\"{{{ \\\"\"\" {{{ \"\"\") }"), 2);
        assert_eq!(nesting(&"[".repeat(10_000)), MAX_NESTING + 1, "counting stops past the bound");
        assert!(check_nesting(&format!("{}{}", "{a".repeat(MAX_NESTING), "}".repeat(MAX_NESTING))).is_ok());
        assert!(check_nesting(&"{a".repeat(MAX_NESTING + 1)).is_err());
    }

    #[test]
    fn fragment_cycles_and_repeated_spreads_end() {
        assert_eq!(measure("{ ...A } fragment A on Query { a { ...A } }").depth, 1, "a cycle is left to validation");
        let mut document = String::from("{ ...F0 }");
        for level in 0..60 {
            document.push_str(&format!(
                " fragment F{level} on Query {{ a {{ ...F{} ...F{} }} }}",
                level + 1,
                level + 1
            ));
        }
        document.push_str(" fragment F60 on Query { b }");
        assert_eq!(measure(&document).depth, 61, "2^60 paths, measured once per fragment");
    }
}
