//! Every JSON example in PROTOCOL.md parses with the protocol's types and says the same thing
//! when written back, and every request type, server message, event kind and error code has an
//! example or an entry there.

use std::collections::BTreeSet;
use std::path::PathBuf;

use roundtable_protocol::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn read(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

fn round_trip<T: Serialize + DeserializeOwned>(label: &str, body: &str) -> Value {
    let parsed: T = serde_json::from_str(body).unwrap_or_else(|error| {
        panic!("PROTOCOL.md `{label}` example does not parse: {error}\n{body}")
    });
    let written = serde_json::to_value(&parsed).expect("serialize");
    let original: Value = serde_json::from_str(body).expect("valid JSON");
    assert_eq!(
        written, original,
        "PROTOCOL.md `{label}` example changes when written back:\n{body}"
    );
    written
}

/// The string values of `"<key>": "..."` tags in a TypeScript declaration.
fn tags(declaration_file: &str, type_name: &str, key: &str) -> BTreeSet<String> {
    let start = declaration_file
        .find(&format!("export type {type_name} ="))
        .unwrap_or_else(|| panic!("{type_name} is declared"));
    let rest = &declaration_file[start..];
    let end = rest.find("\nexport type ").unwrap_or(rest.len());
    let declaration = &rest[..end];
    let needle = format!("\"{key}\": \"");
    declaration
        .match_indices(&needle)
        .map(|(index, _)| {
            let value = &declaration[index + needle.len()..];
            value[..value.find('"').expect("closing quote")].to_string()
        })
        .collect()
}

#[test]
fn every_example_in_protocol_md_matches_the_types() {
    let markdown = read("../PROTOCOL.md");
    let blocks = blocks_of(&markdown);
    assert!(blocks.len() > 20, "PROTOCOL.md has its examples");
    let mut request_types = BTreeSet::new();
    let mut server_types = BTreeSet::new();
    let mut event_kinds = BTreeSet::new();
    let mut reply_kinds = BTreeSet::new();
    let mut role_play_actions = BTreeSet::new();
    let mut role_play_changes = BTreeSet::new();
    for (label, body) in &blocks {
        match label.as_str() {
            "client" => {
                let value = round_trip::<ClientFrame>(label, body);
                request_types.insert(value["type"].as_str().expect("type").to_string());
                if let Some(kind) = value["action"]["kind"].as_str() {
                    role_play_actions.insert(kind.to_string());
                }
            }
            "server" => {
                let value = round_trip::<ServerMessage>(label, body);
                server_types.insert(value["type"].as_str().expect("type").to_string());
                if let Some(kind) = value["event"]["kind"].as_str() {
                    event_kinds.insert(kind.to_string());
                }
                if let Some(kind) = value["event"]["change"]["kind"].as_str() {
                    role_play_changes.insert(kind.to_string());
                }
                if let Some(kind) = value["result"]["kind"].as_str() {
                    reply_kinds.insert(kind.to_string());
                }
            }
            "http:CreateGroupRequest" => {
                round_trip::<CreateGroupRequest>(label, body);
            }
            "http:CreateGroupResponse" => {
                round_trip::<CreateGroupResponse>(label, body);
            }
            "http:HttpError" => {
                round_trip::<HttpError>(label, body);
            }
            "http:Health" => {
                round_trip::<Health>(label, body);
            }
            "http:MeetingList" => {
                round_trip::<MeetingList>(label, body);
            }
            "http:Minutes" => {
                round_trip::<Minutes>(label, body);
            }
            other => panic!("PROTOCOL.md has a json block labelled `{other}` that no test reads"),
        }
    }

    let declarations = read("../web-client/js/protocol.d.ts");
    let missing = |documented: &BTreeSet<String>, all: BTreeSet<String>, what: &str| {
        let undocumented: Vec<_> = all.difference(documented).collect();
        assert!(
            undocumented.is_empty(),
            "PROTOCOL.md has no example of {what} {undocumented:?}"
        );
    };
    missing(
        &request_types,
        tags(&declarations, "Request", "type"),
        "request",
    );
    missing(
        &server_types,
        tags(&declarations, "ServerMessage", "type"),
        "server message",
    );
    missing(&event_kinds, tags(&declarations, "Event", "kind"), "event");
    missing(&reply_kinds, tags(&declarations, "Reply", "kind"), "reply");
    missing(
        &role_play_actions,
        tags(&declarations, "RolePlayRequest", "kind"),
        "role play action",
    );
    missing(
        &role_play_changes,
        tags(&declarations, "RolePlayEvent", "kind"),
        "role play change",
    );
    for code in ErrorCode::ALL {
        assert!(
            markdown.contains(&format!("| `{}` |", code.as_str())),
            "PROTOCOL.md's error table has no row for `{}`",
            code.as_str()
        );
        let json = serde_json::to_string(&code).expect("serialize");
        assert_eq!(
            json,
            format!("\"{}\"", code.as_str()),
            "as_str matches serde"
        );
    }
}

/// Fenced `json` blocks as (label, body).
fn blocks_of(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut label: Option<String> = None;
    let mut body = String::new();
    for line in markdown.lines() {
        if let Some(open) = &label {
            if line.starts_with("```") {
                blocks.push((open.clone(), std::mem::take(&mut body)));
                label = None;
            } else {
                body.push_str(line);
                body.push('\n');
            }
        } else if let Some(rest) = line.strip_prefix("```json ") {
            label = Some(rest.trim().to_string());
        }
    }
    assert!(label.is_none(), "PROTOCOL.md has an unclosed code block");
    blocks
}

#[test]
fn the_block_reader_reads_blocks() {
    let blocks = blocks_of("text\n```json client\n{\"a\": 1}\n```\n```json server\n{}\n```\n");
    assert_eq!(
        blocks,
        vec![
            ("client".to_string(), "{\"a\": 1}\n".to_string()),
            ("server".to_string(), "{}\n".to_string())
        ]
    );
}
