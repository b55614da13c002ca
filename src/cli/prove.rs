//! `rvbpf prove`: the per-shape proofs of the RV64 JIT (`smt::shapes`), run in parallel
//! with a progress bar, a summary (totals, time, the slowest ten, the z3 version), the
//! coverage gate, and a JSON report.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
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
    let bar = ProgressBar::new(todo.len() as u64);
    bar.set_style(ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {msg}").map_err(|e| e.to_string())?.progress_chars("=> "));
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
