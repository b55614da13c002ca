//! Bugs injected, bugs caught (the verifier's half): each seeded verifier bug
//! (src/verifier/bugs.rs, feature `seeded-bugs`) switched on in turn, and the soundness
//! oracle run on the same 10,000 programs: which escape. The measured table, with what
//! the operator proofs and the verifier suite catch, is in proofs/README.md.
//! Run alone: the seeded bug is a process-wide switch.
#![cfg(feature = "seeded-bugs")]

use rvbpf::oracle::{Oracle, Tally};
use rvbpf::verifier::bugs::{self, Bug};

/// The bugs the oracle's generator does not reach, each with why (an escape from one of
/// them, or a miss of another, fails the test: the table must be redone).
const MISSED: &[(Bug, &str)] = &[(Bug::CtxAccessStartOnly, "the generated programs are XDP programs, whose field table refuses every access the bug lets past the size check")];

fn campaign(cases: u64) -> Tally {
    let oracle = Oracle::new();
    let mut t = Tally::default();
    for seed in 0..cases {
        let (_, v) = oracle.case(seed);
        t.add(&oracle, seed, &v);
    }
    t
}

#[test]
fn the_oracle_catches_the_seeded_verifier_bugs() {
    bugs::set(None);
    let clean = campaign(10_000);
    assert!(clean.escapes.is_empty(), "escapes with no bug seeded: {:?}", clean.escapes.first());
    let mut wrong = Vec::new();
    for &bug in Bug::ALL {
        bugs::set(Some(bug));
        let t = campaign(10_000);
        bugs::set(None);
        let first = t.escapes.first().map(|e| format!("seed {}: slot {}: {}", e.seed, e.slot, e.what)).unwrap_or_default();
        println!("{:<32} {:>5} escapes, {:>5} accepted (clean {:>5})  {first}", bug.name(), t.escapes.len(), t.accepted, clean.accepted);
        if let Some(e) = t.escapes.first() {
            println!("{}", e.program);
        }
        let missed = MISSED.iter().any(|(b, _)| *b == bug);
        if t.escapes.is_empty() != missed {
            wrong.push(bug.name());
        }
    }
    assert!(wrong.is_empty(), "caught or missed unlike the table: {wrong:?}");
}
