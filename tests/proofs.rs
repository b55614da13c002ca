//! The per-shape proofs (`rvbpf prove`, proofs/README.md theorem 2): every obligation
//! proven or shown unreachable, the selection conditions and register renamings checked,
//! the header proven, and the coverage gate closed. Writes the report to
//! target/proofs.json and prints the summary (time, slowest ten, z3 version).
#![cfg(all(feature = "smt", feature = "cli"))]

use std::process::Command;

#[test]
fn every_lowering_is_proven_for_all_values() {
    let report = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/proofs.json");
    let out = Command::new(env!("CARGO_BIN_EXE_rvbpf")).args(["prove", "--json"]).arg(&report).output().expect("rvbpf runs");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "rvbpf prove failed");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["coverage_checked"], true);
    let obs = doc["obligations"].as_array().unwrap();
    let count = |group: &str, result: &str| obs.iter().filter(|o| o["group"] == group && o["result"] == result).count();
    // Every opcode the JIT lowers (158 rows of spec/isa.json), several forms each, four
    // extension sets, the register patterns: thousands of proofs, none failed.
    assert!(count("shape", "proven") > 5000, "{}", count("shape", "proven"));
    assert_eq!(count("header", "proven"), 4);
    assert!(count("selection", "proven") >= 158);
    assert_eq!(count("registers", "proven"), 158);
    assert!(obs.iter().all(|o| o["result"] != "failed"));
    // A proven shape has a witness that selects it.
    assert!(obs.iter().filter(|o| o["group"] == "shape" && o["result"] == "proven").all(|o| o["witness"].is_object()));
}

#[test]
fn a_partial_run_says_the_gate_was_not_checked() {
    let out = Command::new(env!("CARGO_BIN_EXE_rvbpf")).args(["prove", "--filter", "0x07 add"]).output().expect("rvbpf runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("coverage: not checked"), "{text}");
    let bad = Command::new(env!("CARGO_BIN_EXE_rvbpf")).args(["prove", "--filter", "no such obligation"]).output().expect("rvbpf runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no obligation's name contains"));
}

/// `rvbpf prove --verifier` (theorem 3): a claim proven, in the summary and the JSON
/// report, and a filter that matches nothing refused.
#[test]
fn the_verifier_operator_proofs_run_from_the_cli() {
    let report = std::env::temp_dir().join(format!("rvbpf-operators-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_rvbpf")).args(["prove", "--verifier", "--filter", "tnum add (", "--json"]).arg(&report).output().expect("rvbpf runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("claims: 4 proven, 0 not") && text.contains("coverage: not checked"), "{text}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let claims = doc["claims"].as_array().unwrap();
    assert_eq!(claims.len(), 4);
    assert!(claims.iter().all(|c| c["result"] == "proven" && c["operator"] == "add"), "{claims:?}");
    let _ = std::fs::remove_file(&report);
    let bad = Command::new(env!("CARGO_BIN_EXE_rvbpf")).args(["prove", "--verifier", "--filter", "no such claim"]).output().expect("rvbpf runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no claim's name contains"));
}
