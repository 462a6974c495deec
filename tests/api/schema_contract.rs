//! The schema clients generate from: `schema.graphql` matches what the server exports, and
//! every name of the contract (`../shared/contract/core.graphql`) exists with its type.

use std::collections::BTreeMap;

use async_graphql::parser::{
    parse_schema,
    types::{TypeKind, TypeSystemDefinition},
};

/// Contract names not served yet, each removed by the issue that adds it. A type listed here
/// covers all its members.
const PENDING: &[&str] = &[];

/// Every name a schema defines, mapped to its signature: `Type` → kind, `Type.field` → its
/// type, `Type.field(arg)` → the argument's type, `Enum.VALUE`, `Union|Member`.
fn names(sdl: &str) -> BTreeMap<String, String> {
    // async-graphql's parser predates descriptions on the schema definition (GraphQL, October
    // 2021), which the export writes; the definition names no type, so it is left out here.
    let sdl = match sdl.rfind("\"\"\"\nschema {") {
        Some(closing) => sdl[..closing].rfind("\"\"\"").map_or(sdl, |opening| &sdl[..opening]),
        None => sdl,
    };
    let document = parse_schema(sdl).expect("the SDL parses");
    let mut names = BTreeMap::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(definition) = definition else { continue };
        let type_name = definition.node.name.node.to_string();
        match &definition.node.kind {
            TypeKind::Scalar => {
                names.insert(type_name.clone(), "scalar".into());
            }
            TypeKind::Object(object) => {
                names.insert(type_name.clone(), "type".into());
                for field in &object.fields {
                    let field_name = format!("{type_name}.{}", field.node.name.node);
                    names.insert(field_name.clone(), field.node.ty.node.to_string());
                    for argument in &field.node.arguments {
                        names.insert(
                            format!("{field_name}({})", argument.node.name.node),
                            argument.node.ty.node.to_string(),
                        );
                    }
                }
            }
            TypeKind::InputObject(input) => {
                names.insert(type_name.clone(), "input".into());
                for field in &input.fields {
                    names.insert(format!("{type_name}.{}", field.node.name.node), field.node.ty.node.to_string());
                }
            }
            TypeKind::Enum(enumeration) => {
                names.insert(type_name.clone(), "enum".into());
                for value in &enumeration.values {
                    names.insert(format!("{type_name}.{}", value.node.value.node), "value".into());
                }
            }
            TypeKind::Union(union) => {
                names.insert(type_name.clone(), "union".into());
                for member in &union.members {
                    names.insert(format!("{type_name}|{}", member.node), "member".into());
                }
            }
            TypeKind::Interface(_) => {
                names.insert(type_name, "interface".into());
            }
        }
    }
    names
}

fn is_pending(name: &str) -> bool {
    let owner = name.split(['.', '|', '(']).next().unwrap_or(name);
    let member = name.split('(').next().unwrap_or(name);
    // A type is pending while any of its members is: it appears with its first member.
    let type_with_pending_members = !name.contains(['.', '|', '('])
        && PENDING.iter().any(|pending| pending.strip_prefix(name).is_some_and(|rest| rest.starts_with('.')));
    type_with_pending_members
        || PENDING.iter().any(|pending| *pending == name || *pending == owner || *pending == member)
}

#[test]
fn schema_graphql_is_what_the_server_exports() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let committed = std::fs::read_to_string(path).expect("schema.graphql exists at the root");
    let exported = townsquare::graphql::sdl();
    assert!(
        committed == exported,
        "schema.graphql is stale: run `cargo run -- export-schema > schema.graphql` and commit it"
    );
}

#[test]
fn every_contract_name_exists_with_its_type_or_is_pending() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/contract/core.graphql");
    let contract = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("the contract at {path}: {error}"));
    let contract = names(&contract);
    let served = names(&townsquare::graphql::sdl());

    let mut missing = Vec::new();
    let mut done_but_pending = Vec::new();
    for (name, signature) in &contract {
        match (served.get(name), is_pending(name)) {
            (Some(served_signature), false) if served_signature != signature => {
                missing.push(format!("{name}: contract says {signature}, schema has {served_signature}"))
            }
            (None, false) => missing.push(format!("{name}: missing")),
            _ => {}
        }
    }
    for pending in PENDING {
        let members: Vec<_> = contract.keys().filter(|name| is_pending(name) && name.starts_with(pending)).collect();
        assert!(!members.is_empty(), "{pending} is pending but names nothing in the contract");
        if members.iter().all(|name| served.get(*name) == contract.get(*name)) {
            done_but_pending.push(*pending);
        }
    }
    assert!(missing.is_empty(), "contract names the schema lacks:\n{}", missing.join("\n"));
    assert!(done_but_pending.is_empty(), "served now, remove from PENDING: {done_but_pending:?}");
}
