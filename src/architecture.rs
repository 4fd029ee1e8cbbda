//! The module graph: which top-level module uses which, checked against the
//! intended layering, bottom to top, and for cycles.
//!
//! Every `src/**/*.rs` file belongs to the top-level module it is under
//! (`src/net/host.rs` to `net`); what it uses are the top-level modules named
//! right after `crate::` in its code (paths and `use crate::{...}` groups;
//! comments and string literals are skipped). A module may use modules of
//! lower layers, and of its own layer as long as that makes no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The intended layers, bottom first. A module not written yet is simply
/// absent from the graph; a module missing here is an error.
const LAYERS: &[&[&str]] = &[
    &["words", "text"],
    &["domain"],
    &["protocol"],
    &["journal", "history", "transfer", "transcript"],
    &["present"],
    &["view", "theme"],
    &["net"],
    &["keymap", "input"],
    &["app"],
    &["ui", "terminal"],
    &["runtime", "stdin"],
    &["headless", "tui", "config", "osc"],
    &["cli"],
];

/// Files under `src/` that are no module of the graph.
const NOT_MODULES: &[&str] = &["lib", "main", "architecture"];

/// Who uses whom: each top-level module, the modules it uses.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// Where a use of one module by another is first seen, as `file:line`.
type Sites = BTreeMap<(String, String), String>;

#[test]
fn modules_use_only_lower_layers_and_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (graph, sites) = module_graph(&src);
    let site = |from: &str, to: &str| {
        sites
            .get(&(from.to_owned(), to.to_owned()))
            .map_or("?", String::as_str)
            .to_owned()
    };
    let mut problems = Vec::new();
    for module in unlayered(&graph, LAYERS) {
        problems.push(format!("{module} is in no layer: add it to LAYERS"));
    }
    for (from, to) in upward_uses(&graph, LAYERS) {
        problems.push(format!(
            "{from} uses {to}, which is in a higher layer (first at {})",
            site(&from, &to)
        ));
    }
    for cycle in find_cycles(&graph) {
        let mut problem = format!("cycle: {}", cycle.join(" -> "));
        for pair in cycle.windows(2) {
            let _ = write!(
                problem,
                "\n    {} -> {} first at {}",
                pair[0],
                pair[1],
                site(&pair[0], &pair[1])
            );
        }
        problems.push(problem);
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) in the module graph:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The graph of the crate under `src`, and where each edge is first seen.
fn module_graph(src: &Path) -> (Graph, Sites) {
    let mut graph = Graph::new();
    let mut sites = Sites::new();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    for file in files {
        let relative = file.strip_prefix(src).unwrap_or(&file);
        let Some(first) = relative.components().next() else {
            continue;
        };
        let first = first.as_os_str().to_string_lossy();
        let module = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
        if NOT_MODULES.contains(&module.as_str()) {
            continue;
        }
        let code = std::fs::read_to_string(&file).unwrap();
        let used = graph.entry(module.clone()).or_default();
        for (target, line) in references(&code) {
            if target == module {
                continue;
            }
            sites
                .entry((module.clone(), target.clone()))
                .or_insert_with(|| format!("src/{}:{line}", relative.display()));
            used.insert(target);
        }
    }
    (graph, sites)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules that `code` names right after `crate::`, each with
/// the (1-based) line it is named on.
fn references(code: &str) -> Vec<(String, usize)> {
    let code = blank_comments_and_strings(code);
    let mut found = Vec::new();
    let mut rest = code.as_str();
    let mut offset = 0;
    while let Some(at) = rest.find("crate::") {
        let start = offset + at + "crate::".len();
        // `$crate::` and `foo_crate::` are other paths.
        let before = code[..offset + at].chars().next_back();
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            for (name, at) in path_heads(&code[start..]) {
                let line = code[..start + at].matches('\n').count() + 1;
                found.push((name, line));
            }
        }
        offset = start;
        rest = &code[start..];
    }
    found
}

/// The first segment of the path that starts `after` (`app` of `app::App`),
/// or of every path in a `{...}` group, with its byte offset in `after`.
fn path_heads(after: &str) -> Vec<(String, usize)> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let trimmed = after.trim_start();
    let skipped = after.len() - trimmed.len();
    let Some(group) = trimmed.strip_prefix('{') else {
        let name = ident(trimmed);
        return if name.is_empty() {
            Vec::new()
        } else {
            vec![(name, skipped)]
        };
    };
    // Heads of the group's items: right after `{` and after each comma at
    // depth one.
    let mut heads = Vec::new();
    let mut depth = 1;
    let mut expect_head = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => {
                depth += 1;
                expect_head = false;
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => expect_head = true,
            c if expect_head && (c.is_alphanumeric() || c == '_') => {
                let name = ident(&group[i..]);
                if name != "self" {
                    heads.push((name, skipped + 1 + i));
                }
                expect_head = false;
            }
            _ => {}
        }
    }
    heads
}

/// `code` with comments and the contents of string and char literals
/// replaced by spaces (newlines kept, so lines keep their numbers).
fn blank_comments_and_strings(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let mut out = String::with_capacity(code.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && !chars[..i]
                .last()
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string: r"...", r#"..."#, and so on.
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            out.push('"');
            i += 2 + hashes;
            while i < chars.len() && !chars[i..].starts_with(&close) {
                out.push(blank(chars[i]));
                i += 1;
            }
            out.push('"');
            i += close.len();
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if let Some(&c) = chars.get(i) {
                    out.push(blank(c));
                }
                i += 1;
            }
            out.push('"');
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A char literal ('x', '\n', '\u{200D}'); a lifetime has no
            // closing quote.
            out.push('\'');
            i += 1;
            if chars.get(i) == Some(&'\\') {
                out.push(' ');
                i += 1;
            }
            while i < chars.len() && chars[i] != '\'' {
                out.push(' ');
                i += 1;
            }
            out.push('\'');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The modules of `graph` that are in none of the `layers`.
fn unlayered(graph: &Graph, layers: &[&[&str]]) -> Vec<String> {
    let modules: BTreeSet<&String> = graph.keys().chain(graph.values().flatten()).collect();
    modules
        .into_iter()
        .filter(|m| !layers.iter().any(|l| l.contains(&m.as_str())))
        .cloned()
        .collect()
}

/// Every use of a module by a module of a lower layer, as (user, used).
fn upward_uses(graph: &Graph, layers: &[&[&str]]) -> Vec<(String, String)> {
    let layer = |m: &str| layers.iter().position(|l| l.contains(&m));
    let mut upward = Vec::new();
    for (from, used) in graph {
        for to in used {
            if let (Some(a), Some(b)) = (layer(from), layer(to))
                && b > a
            {
                upward.push((from.clone(), to.clone()));
            }
        }
    }
    upward
}

/// The cycles a depth-first search finds, one per edge back into the search
/// path, each as the modules along it with the first repeated at the end.
fn find_cycles(graph: &Graph) -> Vec<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    fn visit<'g>(
        graph: &'g Graph,
        node: &'g str,
        marks: &mut BTreeMap<&'g str, Mark>,
        path: &mut Vec<&'g str>,
        cycles: &mut Vec<Vec<String>>,
    ) {
        marks.insert(node, Mark::OnPath);
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            match marks.get(next.as_str()).copied().unwrap_or(Mark::New) {
                Mark::New => visit(graph, next, marks, path, cycles),
                Mark::OnPath => {
                    let from = path.iter().position(|m| m == next).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        path[from..].iter().map(|m| (*m).to_owned()).collect();
                    cycle.push(next.clone());
                    cycles.push(cycle);
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks.insert(node, Mark::Done);
    }
    let mut marks = BTreeMap::new();
    let mut cycles = Vec::new();
    for node in graph.keys() {
        if marks.get(node.as_str()).copied().unwrap_or(Mark::New) == Mark::New {
            visit(graph, node, &mut marks, &mut Vec::new(), &mut cycles);
        }
    }
    cycles
}

fn graph(edges: &[(&str, &str)]) -> Graph {
    let mut graph = Graph::new();
    for (from, to) in edges {
        graph
            .entry((*from).to_owned())
            .or_default()
            .insert((*to).to_owned());
        graph.entry((*to).to_owned()).or_default();
    }
    graph
}

#[test]
fn cycles_are_found_and_printed_in_order() {
    let cyclic = graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("d", "a"), ("c", "e")]);
    assert_eq!(find_cycles(&cyclic), vec![vec!["a", "b", "c", "a"]]);
    let two = graph(&[("a", "b"), ("b", "a"), ("c", "c")]);
    assert_eq!(find_cycles(&two), vec![vec!["a", "b", "a"], vec!["c", "c"]]);
    let diamond = graph(&[("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]);
    assert!(find_cycles(&diamond).is_empty());
}

#[test]
fn uses_of_higher_layers_and_modules_in_no_layer_are_found() {
    let layers: &[&[&str]] = &[&["low", "also_low"], &["mid"], &["high"]];
    let g = graph(&[
        ("high", "low"),
        ("mid", "low"),
        ("low", "also_low"),
        ("low", "mid"),
        ("mid", "stray"),
    ]);
    assert_eq!(unlayered(&g, layers), vec!["stray"]);
    assert_eq!(
        upward_uses(&g, layers),
        vec![("low".to_owned(), "mid".to_owned())]
    );
}

#[test]
fn references_are_read_from_paths_and_use_groups_only() {
    let code = r#"
use crate::{app::{App, Event}, text::wrap, self};
use crate::net::Link;
// crate::ui in a comment
/* crate::tui in a block comment */
fn f<'a>(x: &'a str) -> char {
    let _ = "crate::cli in a string";
    let _ = r"crate::stdin in a raw string";
    crate::history::push(x);
    let _ = $crate::words::x;
    other_crate::journal::x();
    '"'
}
fn g() { crate::protocol::x(); }
"#;
    let found = references(code);
    assert_eq!(
        found,
        vec![
            ("app".to_owned(), 2),
            ("text".to_owned(), 2),
            ("net".to_owned(), 3),
            ("history".to_owned(), 9),
            ("protocol".to_owned(), 14),
        ]
    );
}
