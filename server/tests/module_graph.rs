//! The server's modules depend on each other without a cycle (ARCHITECTURE.md, "Module
//! graph"). Reads every non-test source file under `src/`, collects the modules each one names
//! through `crate::` and `super::` paths, and fails naming a cycle if there is one.
//!
//! A node is a top-level module (`store`, `http`, ...), except that `room`'s and `transport`'s
//! submodules are nodes of their own (`room::actor`, `transport::outbox`): `room` uses the
//! outbox, which lives in `transport`, and `transport`'s connection uses the room, so the layers
//! are told apart one level down. The room's rules are a crate of their own
//! (`roundtable-rules`), below every module here. Comments, string literals and `#[cfg(test)]`
//! items are left out: test code may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules whose submodules are nodes of their own.
const SPLIT: &[&str] = &["room", "transport", "fleet"];

/// The layers, top to bottom, as ARCHITECTURE.md draws them: a node names only nodes of its own
/// layer or of layers below it. The transport has two: what a room sees of it (the outbox, and
/// the socket and frames under it) is below the room; the rest is above.
const LAYERS: &[&[&str]] = &[
    &["server"],
    &["http"],
    &[
        "transport",
        "transport::listener",
        "transport::upgrade",
        "transport::connection",
        "transport::internal",
        "transport::parse",
        "transport::rate_limit",
    ],
    &["app", "health"],
    &[
        "fleet",
        "fleet::link",
        "fleet::placement",
        "fleet::probe",
        "fleet::rebalance",
        "fleet::spread",
    ],
    &[
        "room",
        "room::registry",
        "room::actor",
        "room::lease",
        "room::fleet",
    ],
    &["transport::outbox", "transport::socket", "transport::frame"],
    &[
        "store",
        "config",
        "admission",
        "secrets",
        "clock",
        "logging",
        "time_zone",
        "calendar",
        "metrics",
    ],
];

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(
        graph.len() > 5,
        "the source tree was not found or not read: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "the modules depend on each other in a cycle: {}\nthe whole graph:\n{}",
            cycle.join(" -> "),
            render(&graph)
        );
    }
}

#[test]
fn every_module_names_only_its_own_layer_and_those_below() {
    let graph = module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let layer = |node: &str| LAYERS.iter().position(|layer| layer.contains(&node));
    for (from, names) in &graph {
        let Some(from_layer) = layer(from) else {
            panic!("{from} is in no layer: add it to LAYERS here and to ARCHITECTURE.md's graph");
        };
        for to in names {
            let Some(to_layer) = layer(to) else {
                panic!("{to} is in no layer: add it to LAYERS here and to ARCHITECTURE.md's graph");
            };
            assert!(
                to_layer >= from_layer,
                "{from} names {to}, a layer above it (see LAYERS)"
            );
        }
    }
}

#[test]
fn a_cycle_is_found_and_named() {
    let mut graph = Graph::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        graph.entry(from.into()).or_default().insert(to.into());
    }
    assert_eq!(
        find_cycle(&graph).map(|cycle| cycle.join(" -> ")),
        Some("a -> b -> c -> a".into())
    );
    graph.get_mut("c").unwrap().remove("a");
    assert_eq!(find_cycle(&graph), None);
}

#[test]
fn paths_are_read_through_groups_and_super() {
    let code = strip(
        "use crate::{room::actor::X, store::{self, Store}};\n\
         // crate::comment::Ignored\n\
         let s = \"crate::string::Ignored\";\n\
         #[cfg(test)]\n\
         mod tests { use crate::tested::Y; }\n\
         use super::{outbox::Outbox, frame};\n\
         fn f() { crate::clock::now(); }\n",
    );
    let module = ["transport".to_string(), "connection".to_string()];
    let mut named: Vec<Vec<String>> = named_paths(&code, &module);
    named.sort();
    let joined: Vec<String> = named.iter().map(|path| path.join("::")).collect();
    assert_eq!(
        joined,
        [
            "clock::now",
            "room::actor::X",
            "store",
            "store::Store",
            "transport::frame",
            "transport::outbox::Outbox"
        ]
    );
}

/// Every node and the nodes it names.
fn module_graph(src: &Path) -> Graph {
    let files = rust_files(src);
    let modules: Vec<Vec<String>> = files.iter().map(|file| module_path(src, file)).collect();
    let submodules: BTreeSet<Vec<String>> = modules
        .iter()
        .filter(|module| module.len() >= 2 && SPLIT.contains(&module[0].as_str()))
        .map(|module| module[..2].to_vec())
        .collect();
    let mut graph = Graph::new();
    for (file, module) in files.iter().zip(&modules) {
        if module.is_empty() || module.last().is_some_and(|name| is_test_module(name)) {
            continue;
        }
        let from = node(module, &submodules);
        let code = strip(&std::fs::read_to_string(file).expect("a readable source file"));
        let edges = graph.entry(from.clone()).or_default();
        for path in named_paths(&code, module) {
            let to = node(&path, &submodules);
            if to != from && !to.is_empty() {
                edges.insert(to);
            }
        }
    }
    graph
}

fn is_test_module(name: &str) -> bool {
    name == "tests" || name.ends_with("_tests")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("a readable directory")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// `src/room/actor.rs` is `room::actor`; `src/room/mod.rs` is `room`; `src/lib.rs` and
/// `src/main.rs` are the crate root (empty).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("a file under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|last| last == "mod") || parts == ["lib"] || parts == ["main"] {
        parts.pop();
    }
    parts
}

/// The node a module path belongs to: its top-level module, or for [`SPLIT`] modules the
/// submodule when the path goes into one.
fn node(path: &[String], submodules: &BTreeSet<Vec<String>>) -> String {
    match path {
        [] => String::new(),
        [top, sub, ..] if submodules.contains(&vec![top.clone(), sub.clone()]) => {
            format!("{top}::{sub}")
        }
        [top, ..] => top.clone(),
    }
}

/// The code without comments, string and character literals, and `#[cfg(test)]` items.
fn strip(source: &str) -> String {
    let code = strip_literals(source);
    let mut out = String::with_capacity(code.len());
    let mut rest = code.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        rest = skip_item(&rest[at + "#[cfg(test)]".len()..]);
    }
    out.push_str(rest);
    out
}

/// What follows the item at the start of `code`: up to its `;`, or past its balanced braces.
fn skip_item(code: &str) -> &str {
    let mut depth = 0usize;
    for (at, c) in code.char_indices() {
        match c {
            ';' if depth == 0 => return &code[at + 1..],
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return &code[at + 1..];
                }
            }
            _ => {}
        }
    }
    ""
}

fn strip_literals(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('#') | Some('"'))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            let mut hashes = 0;
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < chars.len() {
                if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}'), or a lifetime, which stays.
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The module paths the code names from `crate::` or (relative to `module`) `super::`, with
/// `use` groups expanded.
fn named_paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(found) = code[from..].find(start) {
            let at = from + found;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let base = if start == "crate::" {
                Vec::new()
            } else {
                let mut base = module.to_vec();
                base.pop();
                let mut rest = &code[from..];
                while let Some(more) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = more;
                    from += "super::".len();
                }
                base
            };
            expand(&code[from..], base, &mut paths);
        }
    }
    paths
}

/// Reads one path (or a `{...}` group of them) at the start of `code`, after `prefix`.
fn expand(code: &str, prefix: Vec<String>, paths: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix;
    let mut at = 0;
    let bytes = code.as_bytes();
    loop {
        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        if bytes.get(at) == Some(&b'{') {
            at += 1;
            loop {
                at += expand(&code[at..], path.clone(), paths);
                while bytes
                    .get(at)
                    .is_some_and(|b| b.is_ascii_whitespace() || *b == b',')
                {
                    at += 1;
                }
                match bytes.get(at) {
                    Some(b'}') => return at + 1,
                    None => return at,
                    Some(_) => {}
                }
            }
        }
        let len = code[at..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(code.len() - at);
        let name = &code[at..at + len];
        at += len;
        if !name.is_empty() && name != "self" && name != "*" {
            path.push(name.to_string());
        }
        if code[at..].starts_with("::") {
            at += 2;
        } else {
            if !path.is_empty() {
                paths.push(path);
            }
            return at;
        }
    }
}

/// A cycle as the nodes along it, the first repeated at the end.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack
                    .iter()
                    .position(|on| on == node)
                    .expect("on the stack");
                let mut cycle = stack[start..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_string(), Mark::Open);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

fn render(graph: &Graph) -> String {
    graph
        .iter()
        .map(|(from, to)| {
            let to: Vec<&str> = to.iter().map(String::as_str).collect();
            format!("  {from} -> {}\n", to.join(", "))
        })
        .collect()
}
