//! The conformance suite in conformance/ run through the library, and the coverage gate:
//! every spec row has a passing test that really contains an instruction of that row,
//! and every edge case the ISA document defines is tagged on a passing test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rvbpf::conformance::{judge, DataFile, Verdict};
use rvbpf::runtime::Engine;
use rvbpf::isa::spec::SPEC;
use rvbpf::isa::Program;

#[path = "common/suite.rs"]
mod suite_files;

fn suite() -> Vec<(PathBuf, DataFile)> {
    suite_files::data_files()
}

#[test]
fn every_conformance_test_passes_on_the_interpreter() {
    let tests = suite();
    assert!(tests.len() >= 400, "only {} tests", tests.len());
    let mut failures = Vec::new();
    let (mut passed, mut skipped) = (0, 0);
    for (path, f) in &tests {
        match judge(f, Engine::Interp) {
            Verdict::Pass => passed += 1,
            Verdict::Skip(why) => {
                skipped += 1;
                failures.push(format!("{}: skipped ({why}); our own suite must not skip", path.display()));
            }
            Verdict::Fail(why) => failures.push(format!("{}: {why}", path.display())),
        }
    }
    println!("{passed} passed, {} failed, {skipped} skipped", failures.len() - skipped);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_spec_row_is_covered_by_a_passing_test() {
    let mut covered: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut dishonest = Vec::new();
    for (path, f) in suite() {
        if judge(&f, Engine::Interp) != Verdict::Pass {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        // Rows actually present in the program.
        let present: BTreeSet<&str> = f
            .program_bytes()
            .ok()
            .and_then(|b| Program::decode(&b).ok())
            .map(|p| p.insns().iter().map(|i| i.spec_row().id).collect())
            .unwrap_or_default();
        for id in f.meta_values("covers") {
            match SPEC.iter().find(|r| r.id == id) {
                Some(row) if present.contains(row.id) => covered.entry(row.id).or_default().push(name.clone()),
                Some(_) => dishonest.push(format!("{name} claims {id} but has no such instruction")),
                None => dishonest.push(format!("{name} claims unknown row {id}")),
            }
        }
        for id in f.meta_values("covers-invalid") {
            if let Some(row) = SPEC.iter().find(|r| r.id == id) {
                if !row.supported && f.error.is_some() {
                    covered.entry(row.id).or_default().push(name.clone());
                }
            }
        }
    }
    assert!(dishonest.is_empty(), "{}", dishonest.join("\n"));
    let missing: Vec<&str> = SPEC.iter().map(|r| r.id).filter(|id| !covered.contains_key(id)).collect();
    assert!(missing.is_empty(), "spec rows without a passing test: {missing:?}");
}

#[test]
fn every_edge_case_of_the_isa_document_is_tested() {
    const EDGES: &[&str] = &[
        "div-by-zero", "sdiv-by-zero", "mod-by-zero", "smod-by-zero", "int-min-by-minus-one", "int-min-negate",
        "shift-masked", "zext32", "imm-sign-extended", "movsx", "memsx", "end-truncates", "st-imm-sign-extended",
        "cmpxchg-r0-zext", "atomic32-touches-4-bytes", "fetch-zext", "gotol-beyond-16-bits", "backward-jump",
        "max-call-depth", "per-frame-stack",
    ];
    let mut seen = BTreeSet::new();
    for (_, f) in suite() {
        if judge(&f, Engine::Interp) == Verdict::Pass {
            seen.extend(f.meta_values("edge").map(str::to_string));
        }
    }
    let missing: Vec<_> = EDGES.iter().filter(|e| !seen.contains(**e)).collect();
    assert!(missing.is_empty(), "edge cases without a passing test: {missing:?}");
}

#[test]
fn invalid_suite_rejects_at_load_for_every_class() {
    let mut kinds = BTreeSet::new();
    for (path, f) in suite() {
        if path.parent().unwrap().ends_with("invalid") {
            assert!(f.error.as_deref().is_some_and(|e| e.starts_with("invalid instruction at")), "{}", path.display());
            kinds.extend(f.meta_values("error-kind").map(str::to_string));
        }
    }
    for k in ["unknown-opcode", "unsupported", "reserved-field", "bad-register", "write-r10", "lddw-truncated", "lddw-tail", "jump-out-of-range", "jump-into-lddw", "fall-through"] {
        assert!(kinds.contains(k), "no invalid test of kind {k}");
    }
}
