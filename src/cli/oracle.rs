//! `rvbpf oracle`: the verifier's soundness oracle (src/oracle/) over many seeds, in
//! parallel with a progress bar: each escape printed reduced, with its seed.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use rayon::prelude::*;
use rvbpf::oracle::shadow::Item;
use rvbpf::oracle::{Oracle, Tally};
use serde_json::json;

/// Runs `cases` cases from seed `first` on, with `jobs` threads.
pub fn cmd_oracle(cases: u64, first: u64, jobs: Option<usize>, json_out: Option<&Path>) -> Result<ExitCode, String> {
    if jobs == Some(0) {
        return Err("--jobs must be at least 1".into());
    }
    if cases == 0 {
        return Err("--cases must be at least 1".into());
    }
    if first.checked_add(cases).is_none() {
        return Err(format!("--seed {first} with --cases {cases} runs past the last seed"));
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build().map_err(|e| e.to_string())?;
    let threads = pool.current_num_threads();
    println!("; rvbpf oracle: {cases} programs from seed {first}, {threads} threads");
    let bar = super::progress(cases);
    let start = Instant::now();
    // Each thread its own oracle (runs change its maps); chunks keep the bar cheap.
    let chunk = 1000u64;
    let tally = pool.install(|| {
        (0..cases.div_ceil(chunk))
            .into_par_iter()
            .map_init(Oracle::new, |oracle, c| {
                let mut t = Tally::default();
                for seed in first + c * chunk..first + ((c + 1) * chunk).min(cases) {
                    let (_, v) = oracle.case(seed);
                    t.add(oracle, seed, &v);
                }
                for e in &t.escapes {
                    let line = format!("ESCAPE seed {}: slot {}: {}", e.seed, e.slot, e.what);
                    if bar.is_hidden() { eprintln!("{line}") } else { bar.println(line) }
                }
                bar.inc(t.cases);
                t
            })
            .reduce(Tally::default, Tally::merge)
    });
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    let mut out = format!(
        "    programs: {}\n    accepted: {} (each run {} times, {} instructions checked against the verifier's states)\n     refused: {}\n     escapes: {}\n        time: {secs:.1} s on {threads} threads\n",
        tally.cases,
        tally.accepted,
        rvbpf::oracle::RUNS,
        tally.steps,
        tally.refused,
        tally.escapes.len()
    );
    out += "   exercised: accepted programs whose runs reached each register type and check\n";
    for (item, n) in Item::ALL.iter().zip(tally.exercised) {
        out += &format!("      {:<30}{n:>8}\n", item.name());
    }
    for e in &tally.escapes {
        out += &format!("\nescape, seed {}: at slot {}: {}\n{}", e.seed, e.slot, e.what, e.program);
    }
    super::print_out(&out);
    if let Some(path) = json_out {
        let escapes: Vec<serde_json::Value> = tally.escapes.iter().map(|e| json!({"seed": e.seed, "slot": e.slot, "what": e.what, "program": e.program})).collect();
        let exercised: serde_json::Map<String, serde_json::Value> = Item::ALL.iter().zip(tally.exercised).map(|(i, n)| (i.name().to_string(), json!(n))).collect();
        let doc = json!({"programs": tally.cases, "first_seed": first, "accepted": tally.accepted, "refused": tally.refused,
                         "runs_per_program": rvbpf::oracle::RUNS, "instructions_checked": tally.steps, "exercised": exercised, "seconds": secs, "threads": threads, "escapes": escapes});
        std::fs::write(path, serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("report: {}", path.display());
    }
    Ok(if tally.escapes.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
