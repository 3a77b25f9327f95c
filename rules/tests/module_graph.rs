//! The rules crate's modules depend on each other without a cycle (ARCHITECTURE.md, "Module
//! graph"). Reads every non-test source file under `src/`, collects the top-level modules each
//! one names through `crate::` and `super::` paths, and checks them against [`LAYERS`].
//! Comments, string literals and `#[cfg(test)]` items are left out: test code may reach
//! anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, top to bottom, as ARCHITECTURE.md draws them: a module names only modules of
/// layers below its own (a layer's modules do not name each other).
const LAYERS: &[&[&str]] = &[
    &["stored", "wire_view"],
    &["state"],
    &["history"],
    &["membership", "minutes"],
    &["room"],
    &[
        "access",
        "activity",
        "meeting_life",
        "practices",
        "prep",
        "reactions",
        "roleplay",
        "schedule",
    ],
    // Prep holds report-backs on the board until the start.
    &["commitments"],
    &["event"],
    &["flow"],
    &["command", "roster", "text"],
    &["error", "limits", "same_on_the_wire", "secret"],
];

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn every_module_names_only_modules_of_the_layers_below_it() {
    let graph = module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph.len() > 10, "the source tree was not read: {graph:?}");
    let layer = |module: &str| {
        LAYERS
            .iter()
            .position(|layer| layer.contains(&module))
            .unwrap_or_else(|| {
                panic!("{module} is in no layer: add it to LAYERS here and to ARCHITECTURE.md")
            })
    };
    for (from, names) in &graph {
        for to in names {
            assert!(
                layer(to) > layer(from),
                "{from} names {to}, which is not in a layer below it (see LAYERS)"
            );
        }
    }
}

#[test]
fn paths_are_read_through_groups_and_super_and_not_through_comments_strings_or_tests() {
    let code = strip(
        "use crate::{roster::Roster, flow::{self, FlowEvent}};\n\
         // crate::comment::Ignored\n\
         let s = \"crate::string::Ignored\";\n\
         #[cfg(test)]\n\
         mod tests { use crate::tested::Y; }\n\
         use super::agenda::next;\n\
         fn f() -> crate::error::RoomError { todo!() }\n",
    );
    let named = named_modules(&code, &["flow".to_string(), "round".to_string()]);
    let expected = ["error", "flow", "roster"].map(String::from);
    assert_eq!(named, BTreeSet::from(expected));
}

/// Every top-level module (the crate root left out) and the other top-level modules it names.
fn module_graph(src: &Path) -> Graph {
    let mut graph = Graph::new();
    for file in rust_files(src) {
        let module = module_path(src, &file);
        let Some(top) = module.first() else { continue };
        if module
            .last()
            .is_some_and(|name| name == "tests" || name.ends_with("_tests"))
        {
            continue;
        }
        let code = strip(&std::fs::read_to_string(&file).expect("a readable source file"));
        let names = graph.entry(top.clone()).or_default();
        names.extend(
            named_modules(&code, &module)
                .into_iter()
                .filter(|name| name != top),
        );
    }
    graph
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a readable directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// `src/flow/round.rs` is `flow::round`, `src/flow/mod.rs` is `flow`, `src/lib.rs` the root.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("a file under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|last| last == "mod") || parts == ["lib"] {
        parts.pop();
    }
    parts
}

/// The code without comments, string and character literals, and `#[cfg(test)]` items.
fn strip(source: &str) -> String {
    let code = strip_literals(source);
    let mut out = String::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        rest = after_item(&rest[at + "#[cfg(test)]".len()..]);
    }
    out + rest
}

/// What follows the item at the start of `code`: past its `;`, or past its balanced braces.
fn after_item(code: &str) -> &str {
    let mut depth = 0usize;
    for (at, c) in code.char_indices() {
        match c {
            ';' if depth == 0 => return &code[at + 1..],
            '{' => depth += 1,
            '}' if depth == 1 => return &code[at + 1..],
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    ""
}

/// Comments go; string literals become `""`; character literals go; lifetimes stay.
fn strip_literals(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut out = String::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        let next = at(i + 1);
        if c == '/' && next == Some('/') {
            while at(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while let Some(c) = at(i) {
                if c == '/' && at(i + 1) == Some('*') {
                    depth += 1;
                    i += 2;
                } else if c == '*' && at(i + 1) == Some('/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if let Some(end) = raw_string_end(&chars, i) {
            out.push_str("\"\"");
            i = end;
        } else if c == '"' {
            i += 1;
            while at(i).is_some_and(|c| c != '"') {
                i += if at(i) == Some('\\') { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i += 1;
        } else if c == '\'' && next == Some('\\') {
            i += 2;
            while at(i).is_some_and(|c| c != '\'') {
                i += 1;
            }
            i += 1;
        } else if c == '\'' && at(i + 2) == Some('\'') {
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Where the raw string literal (`r"..."`, `r#"..."#`) starting at `i` ends, if one does.
fn raw_string_end(chars: &[char], i: usize) -> Option<usize> {
    let after_word = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    if chars[i] != 'r' || after_word {
        return None;
    }
    let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
    let mut j = i + 1 + hashes;
    if chars.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < chars.len() {
        if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(j)
}

/// The top-level modules the code names from `crate::` or (relative to `module`) `super::`,
/// with `use` groups expanded.
fn named_modules(code: &str, module: &[String]) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        for (at, _) in code.match_indices(start) {
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            if start == "super::" && at >= 7 && &code[at - 7..at] == "super::" {
                continue;
            }
            let mut rest = &code[at + start.len()..];
            let mut base = Vec::new();
            if start == "super::" {
                base = module[..module.len().saturating_sub(1)].to_vec();
                while let Some(more) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = more;
                }
            }
            first_names(rest, base, &mut named);
        }
    }
    named
}

/// Adds the top-level module of the path at the start of `code`, which continues `base`, or of
/// each path of the `{...}` group there.
fn first_names(code: &str, base: Vec<String>, named: &mut BTreeSet<String>) {
    if let Some(top) = base.first() {
        named.insert(top.clone());
        return;
    }
    let code = code.trim_start();
    let paths = match code.strip_prefix('{') {
        Some(group) => group_elements(group),
        None => vec![code],
    };
    for path in paths {
        let path = path.trim_start();
        let name = &path[..path
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(path.len())];
        if !name.is_empty() && name != "self" {
            named.insert(name.to_string());
        }
    }
}

/// The comma-separated elements of a `use` group, up to its closing brace.
fn group_elements(group: &str) -> Vec<&str> {
    let mut elements = Vec::new();
    let (mut depth, mut start, mut end) = (0usize, 0, group.len());
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                end = at;
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                elements.push(&group[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    elements.push(&group[start..end]);
    elements
}
