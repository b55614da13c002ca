//! The library's layering, checked from the source: imports go down the layers, never up,
//! and no modules that sit side by side (the top-level modules, or the files of one
//! directory) import each other in a cycle.
//!
//! The layers, lowest first, as ARCHITECTURE.md and lib.rs state them. A new top-level
//! module must be placed here, or this test fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const LAYERS: &[&str] = &["errno", "isa", "semantics", "mem", "env", "prog", "interp", "maps", "loader", "helpers", "verifier", "jit", "smt", "runtime", "conformance", "oracle"];

/// Module path (`["jit", "rv64", "emit"]`) → its source with comments removed.
fn modules() -> BTreeMap<Vec<String>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                // The binary's commands sit on top of the library, outside its layers.
                if p != root.join("cli") {
                    dirs.push(p);
                }
                continue;
            }
            let rel = p.strip_prefix(&root).unwrap();
            if p.extension().is_none_or(|x| x != "rs") || rel == Path::new("main.rs") || rel == Path::new("lib.rs") {
                continue;
            }
            let mut path: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
            let file = path.pop().unwrap();
            if file != "mod.rs" {
                path.push(file.trim_end_matches(".rs").to_string());
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
            out.insert(path, code);
        }
    }
    out
}

fn ident(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// Every path the code names from `crate::` or `super::`, as absolute segments; a
/// `{a, b}` group gives one path per member.
fn references(module: &[String], is_dir: bool, code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for start in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(start) {
            let before = rest[..at].chars().last();
            rest = &rest[at..];
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                rest = &rest[start.len()..];
                continue;
            }
            // The directory a file's `super` names: a mod.rs is its directory's module.
            let mut base: Vec<String> = if start == "crate::" { Vec::new() } else { module.to_vec() };
            let mut s = rest;
            if start == "super::" {
                if !is_dir {
                    base.pop();
                }
                s = &s["super::".len()..];
                while let Some(t) = s.strip_prefix("super::") {
                    base.pop();
                    s = t;
                }
                if is_dir {
                    base.pop();
                }
            } else {
                s = &s["crate::".len()..];
            }
            let mut path = base.clone();
            loop {
                let id = ident(s);
                if id.is_empty() {
                    break;
                }
                path.push(id.to_string());
                s = &s[id.len()..];
                match s.strip_prefix("::") {
                    Some(t) => s = t,
                    None => break,
                }
            }
            if let Some(group) = s.strip_prefix('{') {
                for member in group.split('}').next().unwrap_or("").split(',') {
                    let id = ident(member.trim());
                    if !id.is_empty() && id != "self" {
                        let mut p = path.clone();
                        p.push(id.to_string());
                        out.push(p);
                    }
                }
            }
            out.push(path);
            rest = &rest[start.len()..];
        }
    }
    out
}

/// The module a path lands in: its longest prefix that is a module.
fn resolve<'a>(mods: &'a BTreeMap<Vec<String>, String>, path: &[String]) -> Option<&'a Vec<String>> {
    (1..=path.len()).rev().find_map(|n| mods.get_key_value(&path[..n]).map(|(k, _)| k))
}

/// Edges between siblings: for an import from `a` into `b`, the children of their
/// common ancestor that contain each (none when one contains the other).
fn sibling_edges() -> BTreeMap<Vec<String>, BTreeSet<(String, String)>> {
    let mods = modules();
    let dirs: BTreeSet<Vec<String>> = {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        mods.keys().filter(|m| root.join(m.join("/")).is_dir()).cloned().collect()
    };
    let mut edges: BTreeMap<Vec<String>, BTreeSet<(String, String)>> = BTreeMap::new();
    for (m, code) in &mods {
        for r in references(m, dirs.contains(m), code) {
            let Some(to) = resolve(&mods, &r) else { continue };
            let common = m.iter().zip(to).take_while(|(a, b)| a == b).count();
            if common == m.len() || common == to.len() {
                continue; // within one module, or between a module and its own parent
            }
            edges.entry(m[..common].to_vec()).or_default().insert((m[common].clone(), to[common].clone()));
        }
    }
    edges
}

#[test]
fn imports_only_go_down_the_layers() {
    let edges = sibling_edges();
    let top = edges.get(&Vec::new()).cloned().unwrap_or_default();
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m).unwrap_or_else(|| panic!("top-level module {m} is not placed in LAYERS"));
    let up: Vec<String> = top.iter().filter(|(a, b)| rank(a) <= rank(b)).map(|(a, b)| format!("{a} imports {b}")).collect();
    assert!(up.is_empty(), "imports up the layers: {up:?}");
    // The layers above are what the code has: something imports each of them (errno
    // and the top one excepted), so the list cannot go stale silently.
    assert!(top.len() >= 30, "{} edges between top-level modules: the scan found too few", top.len());
}

#[test]
fn no_cycles_between_modules_side_by_side() {
    for (parent, edges) in sibling_edges() {
        let nodes: BTreeSet<&String> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
        // Depth-first search for a back edge.
        fn visit<'a>(n: &'a String, edges: &'a BTreeSet<(String, String)>, state: &mut BTreeMap<&'a String, u8>, stack: &mut Vec<&'a String>) -> Option<Vec<String>> {
            state.insert(n, 1);
            stack.push(n);
            for (_, b) in edges.iter().filter(|(a, _)| a == n) {
                match state.get(b) {
                    Some(1) => {
                        let from = stack.iter().position(|s| *s == b).unwrap();
                        return Some(stack[from..].iter().map(|s| s.to_string()).chain([b.clone()]).collect());
                    }
                    Some(_) => {}
                    None => {
                        if let Some(c) = visit(b, edges, state, stack) {
                            return Some(c);
                        }
                    }
                }
            }
            stack.pop();
            state.insert(n, 2);
            None
        }
        let mut state = BTreeMap::new();
        for n in nodes {
            if !state.contains_key(n) {
                if let Some(cycle) = visit(n, &edges, &mut state, &mut Vec::new()) {
                    panic!("import cycle in {}: {}", if parent.is_empty() { "crate".to_string() } else { parent.join("::") }, cycle.join(" -> "));
                }
            }
        }
    }
}

#[test]
fn the_scanner_sees_imports() {
    // What the two tests above rely on: groups, `super` from a file and from a mod.rs.
    let code = "use crate::isa::{cfg, Insn};\nuse super::lower::Ext;\n";
    let r = references(&["jit".into(), "rv64".into(), "emit".into()], false, code);
    assert!(r.contains(&vec!["isa".into(), "cfg".into()]) && r.contains(&vec!["isa".into(), "Insn".into()]));
    assert!(r.contains(&vec!["jit".into(), "rv64".into(), "lower".into(), "Ext".into()]));
    let r = references(&["runtime".into()], true, "use super::x::Y;");
    assert_eq!(r, vec![vec!["x".to_string(), "Y".into()]]);
}
