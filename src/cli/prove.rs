//! `rvbpf prove`: the per-shape proofs of the RV64 JIT (`smt::shapes`), run in parallel
//! with a progress bar, a summary (totals, time, the slowest ten, the z3 version), the
//! coverage gate, and a JSON report.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use rayon::prelude::*;
use rvbpf::smt::shapes::{self, Done, Job, Outcome};
use serde_json::json;

pub fn cmd_prove(json_out: Option<&Path>, filter: Option<&str>, jobs: Option<usize>) -> Result<ExitCode, String> {
    if jobs == Some(0) {
        return Err("--jobs must be at least 1".into());
    }
    // A panic in a job is reported as that job's failure, with its message.
    std::panic::set_hook(Box::new(|_| {}));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build().map_err(|e| e.to_string())?;
    let all = shapes::jobs();
    let todo: Vec<Job> = all.iter().filter(|j| filter.is_none_or(|f| j.name().contains(f))).copied().collect();
    if todo.is_empty() {
        return Err(format!("no obligation's name contains {:?}", filter.unwrap_or_default()));
    }
    let threads = pool.current_num_threads();
    println!("; rvbpf prove: {} jobs of {} ({} shape obligations), z3 {}, {threads} threads", todo.len(), all.len(), todo.iter().filter(|j| matches!(j, Job::Shape(_))).count(), z3::full_version());
    let bar = super::progress(todo.len() as u64);
    let start = Instant::now();
    let done: Vec<Done> = pool.install(|| {
        todo.par_iter()
            .flat_map_iter(|j| {
                let d = shapes::run_job(j);
                bar.inc(1);
                if d.iter().any(|x| !x.outcome.ok()) {
                    bar.set_message("a failure (listed at the end)");
                }
                d
            })
            .collect()
    });
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    let gaps = if filter.is_none() { shapes::coverage(&done) } else { Vec::new() };
    let failed: Vec<&Done> = done.iter().filter(|d| !d.outcome.ok()).collect();
    let mut out = String::new();
    for group in ["header", "selection", "registers", "shape"] {
        let of: Vec<&Done> = done.iter().filter(|d| d.job.group() == group).collect();
        let proven = of.iter().filter(|d| matches!(d.outcome, Outcome::Proven { .. })).count();
        let unreachable = of.iter().filter(|d| matches!(d.outcome, Outcome::Unreachable)).count();
        let cases: usize = of.iter().map(|d| if let Outcome::Proven { paths, .. } = d.outcome { paths } else { 0 }).sum();
        let unit = match group {
            "shape" | "header" => "paths",
            "selection" => "queries",
            _ => "codes compared",
        };
        out += &format!("{group:>9}: {proven} proven ({cases} {unit}){}, {} failed\n", if group == "shape" { format!(", {unreachable} unreachable") } else { String::new() }, of.len() - proven - unreachable);
    }
    out += &format!("     time: {secs:.1} s on {threads} threads\nslowest ten:\n");
    let mut slow: Vec<&Done> = done.iter().collect();
    slow.sort_by_key(|d| std::cmp::Reverse(d.micros));
    for d in slow.iter().take(10) {
        out += &format!("  {:>8.1} ms  {}\n", d.micros as f64 / 1000.0, d.name);
    }
    for d in &failed {
        match &d.outcome {
            Outcome::Failed(f) => out += &format!("FAILED {}: {f}\n", d.name),
            Outcome::Refused(why) => out += &format!("FAILED {}: {why}\n", d.name),
            _ => {}
        }
    }
    match (filter, gaps.len()) {
        (Some(f), _) => out += &format!("coverage: not checked (only the jobs whose name contains {f:?} ran)\n"),
        (None, 0) => out += "coverage: every reachable (opcode, form) with every extension set and register pattern is proven\n",
        (None, n) => {
            out += &format!("coverage: {n} gaps\n");
            for g in gaps.iter().take(20) {
                out += &format!("  GAP {g}\n");
            }
        }
    }
    super::print_out(&out);
    if let Some(path) = json_out {
        let items: Vec<serde_json::Value> = done
            .iter()
            .map(|d| {
                let (result, paths, witness, failure) = match &d.outcome {
                    Outcome::Proven { paths, witness } => ("proven", *paths, Some(*witness), None),
                    Outcome::Unreachable => ("unreachable", 0, None, None),
                    Outcome::Failed(f) => ("failed", 0, None, Some(f.to_string())),
                    Outcome::Refused(why) => ("failed", 0, None, Some(why.clone())),
                };
                json!({"obligation": d.name, "group": d.job.group(), "result": result, "paths": paths, "ms": d.micros as f64 / 1000.0,
                       "witness": witness.map(|(i, j, o)| json!({"imm": i, "imm2": j, "off": o})), "counterexample": failure})
            })
            .collect();
        let doc = json!({"z3": z3::full_version(), "threads": threads, "seconds": secs, "ok": failed.is_empty() && gaps.is_empty(),
                         "coverage_checked": filter.is_none(), "gaps": gaps, "obligations": items});
        std::fs::write(path, serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("report: {}", path.display());
    }
    Ok(if failed.is_empty() && gaps.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `rvbpf prove --verifier`: every soundness claim of the verifier's abstract operators
/// (`smt::operators`), in parallel with a progress bar, a summary, the coverage gate
/// (every operator the verifier has is the subject of some claim) and a JSON report.
pub fn cmd_prove_operators(json_out: Option<&Path>, filter: Option<&str>, jobs: Option<usize>) -> Result<ExitCode, String> {
    use rvbpf::smt::domain::Outcome as Said;
    use rvbpf::smt::operators;
    if jobs == Some(0) {
        return Err("--jobs must be at least 1".into());
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build().map_err(|e| e.to_string())?;
    let all = operators::claims();
    let todo: Vec<&operators::Claim> = all.iter().filter(|c| filter.is_none_or(|f| c.name.contains(f))).collect();
    if todo.is_empty() {
        return Err(format!("no claim's name contains {:?}", filter.unwrap_or_default()));
    }
    let threads = pool.current_num_threads();
    println!("; rvbpf prove --verifier: {} claims of {}, z3 {}, {threads} threads", todo.len(), all.len(), z3::full_version());
    let bar = super::progress(todo.len() as u64);
    let start = Instant::now();
    let done: Vec<(&operators::Claim, Said, f64)> = pool.install(|| {
        todo.par_iter()
            .map(|c| {
                let t = Instant::now();
                let o = (c.prove)();
                let secs = t.elapsed().as_secs_f64();
                bar.inc(1);
                // Failures and slow claims as they finish, above the bar.
                if o != Said::Proven || secs >= 10.0 {
                    let line = format!("{:<40} {secs:>7.1} s  {}", c.name, if o == Said::Proven { "proven" } else { "NOT PROVEN" });
                    if bar.is_hidden() { eprintln!("{line}") } else { bar.println(line) }
                }
                (*c, o, secs)
            })
            .collect()
    });
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    let gaps = if filter.is_none() { operators::gaps(&all) } else { Vec::new() };
    let failed: Vec<&(&operators::Claim, Said, f64)> = done.iter().filter(|d| d.1 != Said::Proven).collect();
    let mut out = format!("   claims: {} proven, {} not\n     time: {secs:.1} s on {threads} threads\nslowest ten:\n", done.len() - failed.len(), failed.len());
    let mut slow: Vec<_> = done.iter().collect();
    slow.sort_by(|a, b| b.2.total_cmp(&a.2));
    for d in slow.iter().take(10) {
        out += &format!("  {:>8.2} s  {}\n", d.2, d.0.name);
    }
    for (c, o, _) in &failed {
        out += &format!("FAILED {}: {o:?}\n", c.name);
    }
    match (filter, gaps.len()) {
        (Some(f), _) => out += &format!("coverage: not checked (only the claims whose name contains {f:?} ran)\n"),
        (None, 0) => out += &format!("coverage: each of the verifier's {} operators is the subject of a claim\n", operators::required().len()),
        (None, n) => {
            out += &format!("coverage: {n} operators without a claim\n");
            for g in &gaps {
                out += &format!("  GAP {g}\n");
            }
        }
    }
    super::print_out(&out);
    if let Some(path) = json_out {
        let items: Vec<serde_json::Value> = done
            .iter()
            .map(|(c, o, s)| {
                let (result, detail) = match o {
                    Said::Proven => ("proven", None),
                    Said::Refuted(v) => ("refuted", Some(v.clone())),
                    Said::Unknown(why) => ("unknown", Some(why.clone())),
                };
                json!({"claim": c.name, "operator": c.operator, "bits": c.bits, "result": result, "seconds": s, "counterexample": detail})
            })
            .collect();
        let doc = json!({"z3": z3::full_version(), "threads": threads, "seconds": secs, "ok": failed.is_empty() && gaps.is_empty(),
                         "coverage_checked": filter.is_none(), "gaps": gaps, "claims": items});
        std::fs::write(path, serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("report: {}", path.display());
    }
    Ok(if failed.is_empty() && gaps.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
