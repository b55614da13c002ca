//! The soundness oracle (src/oracle/): random programs the verifier must judge; every
//! accepted one runs with exact regions and its states checked at each instruction.
#![cfg(feature = "std")]

use rvbpf::oracle::shadow::Item;
use rvbpf::oracle::{Oracle, Tally, Verdict};

/// 10^4 programs (the CI figure): none escapes, the generator makes both verdicts, and
/// every register type and check the oracle counts is reached by the runs of at least 1%
/// of the accepted programs (a generator that stops reaching one fails here).
#[test]
fn no_accepted_program_escapes() {
    let oracle = Oracle::new();
    let mut tally = Tally::default();
    let mut refusals = std::collections::BTreeMap::<String, u64>::new();
    for seed in 0..10_000u64 {
        let (_, v) = oracle.case(seed);
        if let Verdict::Refused(why) = &v {
            let key: String = why.split_once(": ").map_or(why.as_str(), |(_, r)| r).chars().filter(|c| !c.is_ascii_digit()).take(50).collect();
            if std::env::var_os("ORACLE_SHOW").is_some() && why.contains(std::env::var("ORACLE_SHOW").unwrap().as_str()) {
                println!("{why}");
            }
            *refusals.entry(key).or_default() += 1;
        }
        tally.add(&oracle, seed, &v);
    }
    println!("{} cases: {} accepted, {} refused, {} instructions checked", tally.cases, tally.accepted, tally.refused, tally.steps);
    for (why, n) in &refusals {
        println!("  {n:>6}  {why}");
    }
    for e in &tally.escapes {
        println!("ESCAPE seed {}: slot {}: {}\n{}", e.seed, e.slot, e.what, e.program);
    }
    for (item, n) in Item::ALL.iter().zip(tally.exercised) {
        println!("  {n:>6}  exercised: {}", item.name());
    }
    assert!(tally.escapes.is_empty(), "{} escapes", tally.escapes.len());
    assert!(tally.accepted * 5 >= tally.cases && tally.refused * 10 >= tally.cases, "{tally:?}");
    let rare: Vec<&str> = Item::ALL.iter().zip(tally.exercised).filter(|&(_, n)| n * 100 < tally.accepted).map(|(i, _)| i.name()).collect();
    assert!(rare.is_empty(), "reached by fewer than 1% of the accepted programs: {rare:?}");
}

/// `rvbpf oracle`: the counts on stdout and in the JSON report; bad arguments refused.
/// Host only, as tests/cli.rs: under qemu-user a riscv64 test process cannot spawn the
/// riscv64 binary.
#[cfg(all(feature = "cli", not(target_arch = "riscv64")))]
#[test]
fn the_oracle_runs_from_the_cli() {
    use std::process::Command;
    let report = std::env::temp_dir().join(format!("rvbpf-oracle-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_rvbpf")).args(["oracle", "--cases", "300", "--seed", "7", "--json"]).arg(&report).output().expect("rvbpf runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("programs: 300"));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    std::fs::remove_file(&report).ok();
    assert_eq!(doc["programs"], 300);
    assert_eq!(doc["accepted"].as_u64().unwrap() + doc["refused"].as_u64().unwrap(), 300);
    assert_eq!(doc["escapes"].as_array().map(Vec::len), Some(0));
    assert!(doc["exercised"]["packet bound check"].as_u64().is_some_and(|n| n > 0 && n <= doc["accepted"].as_u64().unwrap()), "{}", doc["exercised"]);
    let bad = Command::new(env!("CARGO_BIN_EXE_rvbpf")).args(["oracle", "--cases", "0"]).output().expect("rvbpf runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--cases must be at least 1"));
}
