//! The house rules (issue #34), checked on the sources of every crate of the workspace:
//! - a file imports only from files below it: the graph of `crate::` and `super::` paths between
//!   the files of a crate has no circle;
//! - no function outside tests is over 120 lines, but for those in [`LONG`], each at most as long
//!   as listed there (the list may only shrink: one brought under the limit must leave it).
//!
//! Comments, strings and `#[cfg(test)]` modules are blanked out before anything is read, so a
//! path in a doc link or a long test does not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FN_LINES: usize = 120;

/// Functions allowed over [`MAX_FN_LINES`] (file, name, lines): none today. A new long function
/// fails the test; one listed here must stay at most as long as listed, and leave the list once it
/// is within the limit.
const LONG: &[(&str, &str, usize)] = &[];

/// The crates' source folders.
const CRATES: &[&str] = &["core/src", "train-native/src", "web/src"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `src` with comments and the insides of string and character literals replaced by spaces
/// (line breaks kept, so line numbers hold).
fn code_only(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        let prev_ident = i > 0 && is_ident(b[i - 1]);
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (!prev_ident || (i > 0 && b[i - 1] == 'b' && (i < 2 || !is_ident(b[i - 2]))))
            && matches!(next, Some('"') | Some('#'))
            && b[i + 1..].iter().find(|&&x| x != '#') == Some(&'"')
        {
            // A raw string: r"..." or r#"..."#, as many hashes closing as opening.
            let mut j = i + 1;
            while b[j] == '#' {
                j += 1;
            }
            let hashes = j - i - 1;
            out.extend(std::iter::repeat_n(' ', j - i + 1));
            i = j + 1;
            while i < b.len() {
                if b[i] == '"' && (0..hashes).all(|k| b.get(i + 1 + k) == Some(&'#')) {
                    out.extend(std::iter::repeat_n(' ', 1 + hashes));
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(b[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() {
                if b[i] == '\\' {
                    out.push(' ');
                    if let Some(&e) = b.get(i + 1) {
                        out.push(blank(e));
                    }
                    i += 2;
                } else if b[i] == '"' {
                    out.push(' ');
                    i += 1;
                    break;
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == '\'' && next == Some('\\') {
            // An escaped character literal: '\n', '\'', '\u{..}'.
            let mut j = i + 2;
            while j < b.len() && b[j] != '\'' {
                j += 1;
            }
            out.extend(std::iter::repeat_n(' ', j + 1 - i));
            i = j + 1;
        } else if c == '\'' && b.get(i + 2) == Some(&'\'') {
            out.push_str("   ");
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The index of the `}` closing the `{` at `open`.
fn closing(s: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, &c) in s.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    s.len() - 1
}

/// `code` with every `#[cfg(test)] mod NAME { ... }` blanked.
fn without_tests(code: &str) -> String {
    let mut s = code.as_bytes().to_vec();
    let mut from = 0;
    while let Some(at) = find(&s, b"#[cfg(test)]", from) {
        let rest = &s[at + 12..];
        let skip = rest.iter().take_while(|c| c.is_ascii_whitespace()).count();
        from = at + 12;
        if rest[skip..].starts_with(b"mod ")
            && let Some(open) = s[at..].iter().position(|&c| c == b'{' || c == b';')
            && s[at + open] == b'{'
        {
            let end = closing(&s, at + open);
            for c in &mut s[at..=end] {
                if *c != b'\n' {
                    *c = b' ';
                }
            }
        }
    }
    String::from_utf8(s).expect("ASCII blanks keep UTF-8")
}

fn find(s: &[u8], pat: &[u8], from: usize) -> Option<usize> {
    (from..s.len().saturating_sub(pat.len() - 1)).find(|&k| s[k..].starts_with(pat))
}

fn line_of(s: &str, at: usize) -> usize {
    s.as_bytes()[..at].iter().filter(|&&c| c == b'\n').count() + 1
}

/// Every function with a body: (name, first line, lines).
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let s = code.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = find(s, b"fn ", from) {
        from = at + 3;
        if at > 0 && is_ident(s[at - 1] as char) {
            continue;
        }
        let name: String = code[at + 3..]
            .trim_start()
            .chars()
            .take_while(|&c| is_ident(c))
            .collect();
        if name.is_empty() {
            continue; // `fn(` types
        }
        // The body's `{`, unless a `;` ends a declaration first.
        let Some(k) = s[at..].iter().position(|&c| c == b'{' || c == b';') else {
            break;
        };
        if s[at + k] == b';' {
            continue;
        }
        let end = closing(s, at + k);
        let (first, last) = (line_of(code, at), line_of(code, end));
        out.push((name, first, last - first + 1));
    }
    out
}

/// The module a file is, inside its crate: `model::host_train`, `data` (for `data/mod.rs`);
/// `None` for the crate root.
fn module_of(src_dir: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src_dir).unwrap().with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [one] if one == "lib" || one == "main" => None,
        [dirs @ .., last] if last == "mod" => Some(dirs.join("::")),
        all => Some(all.join("::")),
    }
}

/// The paths a file names after `crate::` (and `super::`, resolved), as module paths.
fn referenced_paths(code: &str, module: &str) -> Vec<String> {
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    let mut out = Vec::new();
    for (prefix, base) in [("crate::", String::new()), ("super::", parent.to_string())] {
        let s = code.as_bytes();
        let mut from = 0;
        while let Some(at) = find(s, prefix.as_bytes(), from) {
            from = at + prefix.len();
            if at > 0 && (is_ident(s[at - 1] as char) || s[at - 1] == b':') {
                continue;
            }
            let rest = &code[from..];
            let join = |p: &str| {
                if base.is_empty() {
                    p.to_string()
                } else {
                    format!("{base}::{p}")
                }
            };
            if rest.starts_with('{') {
                // `crate::{a::b, c}`: each item at the group's top level.
                let end = closing(s, from) - from;
                let mut depth = 0;
                let mut item = String::new();
                for c in rest[1..end].chars().chain([',']) {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            let p: String = item
                                .chars()
                                .filter(|c| !c.is_whitespace())
                                .take_while(|&c| c != '{')
                                .collect();
                            if !p.is_empty() {
                                out.push(join(p.trim_end_matches("::")));
                            }
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    if depth == 0 && c != '}' {
                        item.push(c);
                    }
                }
            } else {
                let p: String = rest
                    .chars()
                    .take_while(|&c| is_ident(c) || c == ':')
                    .collect();
                out.push(join(p.trim_end_matches("::")));
            }
        }
    }
    out
}

/// The longest module of `modules` that `path` names (`model::host_train::HostNet` names
/// `model::host_train`).
fn target_module(path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|m| modules.contains(m))
}

/// A circle in `graph`, if there is one, as the modules along it.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|x| x == m).unwrap();
                    let mut c = stack[at..].to_vec();
                    c.push(m.clone());
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(m, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0
            && let Some(c) = visit(n, graph, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

/// The import graph of one crate: module -> modules it names. A folder's `mod.rs` declares and
/// re-exports its children, and a child naming its folder's re-export reaches the child it came
/// from: edges between a folder and the files inside it are left out.
fn import_graph(src_dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src_dir, &mut files);
    let code: Vec<(String, String)> = files
        .iter()
        .filter_map(|f| {
            let m = module_of(src_dir, f)?;
            let text = std::fs::read_to_string(f).unwrap();
            Some((m, without_tests(&code_only(&text))))
        })
        .collect();
    let modules: BTreeSet<String> = code.iter().map(|(m, _)| m.clone()).collect();
    let inside = |a: &str, b: &str| a.starts_with(&format!("{b}::"));
    let mut graph = BTreeMap::new();
    for (m, text) in &code {
        let deps: BTreeSet<String> = referenced_paths(text, m)
            .iter()
            .filter_map(|p| target_module(p, &modules))
            .filter(|t| t != m && !inside(m, t) && !inside(t, m))
            .collect();
        graph.insert(m.clone(), deps);
    }
    graph
}

#[test]
fn no_crate_has_an_import_circle() {
    // The web crate is one file.
    for dir in &CRATES[..2] {
        let graph = import_graph(&root().join(dir));
        assert!(graph.len() > 3, "{dir}: found only {} modules", graph.len());
        if let Some(c) = circle(&graph) {
            panic!(
                "{dir}: the imports go round in a circle: {} (a file imports only from below it)",
                c.join(" -> ")
            );
        }
    }
}

#[test]
fn no_function_outside_tests_is_over_the_limit() {
    let mut found: Vec<(String, String, usize)> = Vec::new();
    for dir in CRATES {
        let mut files = Vec::new();
        rust_files(&root().join(dir), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let rel = f.strip_prefix(root()).unwrap().display().to_string();
            for (name, line, n) in functions(&without_tests(&code_only(&text))) {
                if n > MAX_FN_LINES {
                    found.push((rel.clone(), format!("{name} (line {line})"), n));
                }
            }
        }
    }
    let mut problems = Vec::new();
    for (file, name, n) in &found {
        let short = name.split(' ').next().unwrap();
        match LONG.iter().find(|(f, m, _)| f == file && *m == short) {
            Some((_, _, allowed)) if n <= allowed => {}
            Some((_, _, allowed)) => problems.push(format!(
                "{file}: {name} grew to {n} lines (listed at {allowed}; the limit is {MAX_FN_LINES})"
            )),
            None => problems.push(format!(
                "{file}: {name} is {n} lines, over the limit of {MAX_FN_LINES}: split it"
            )),
        }
    }
    for (file, name, allowed) in LONG {
        if !found
            .iter()
            .any(|(f, m, _)| f == file && m.split(' ').next() == Some(name))
        {
            problems.push(format!(
                "{file}: {name} (listed at {allowed} lines) is now within the limit: remove it from LONG"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_reader_sees_what_rustc_sees() {
    let src = "fn a() {\n    let s = \"}\";  // }\n    let c = '}';\n    let r = r#\"}\"#;\n}\n\
               /* fn b() { */\n#[cfg(test)]\nmod tests {\n    fn c() {}\n}\nfn d<'x>(v: &'x str) -> &'x str { v }\n";
    let code = without_tests(&code_only(src));
    let fns = functions(&code);
    let names: Vec<&str> = fns.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, ["a", "d"], "{code}");
    assert_eq!((fns[0].1, fns[0].2), (1, 5));
    assert_eq!(fns[1].1, 11);
    let paths = referenced_paths(
        "use crate::{a::B, c::{D, e}};\nuse super::f::G;\nlet x = crate::h::i();",
        "m::n",
    );
    assert_eq!(paths, ["a::B", "c", "h::i", "m::f::G"]);
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(circle(&g), Some(vec!["a".into(), "b".into(), "a".into()]));
    g.insert("b".to_string(), BTreeSet::new());
    assert_eq!(circle(&g), None);
}
