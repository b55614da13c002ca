//! `rvbpf conformance PATH...`: runs `.data` tests in parallel on one engine and reports
//! PASS/FAIL/SKIP per file and a summary line (`--quiet`: only the failures and the
//! summary; `--json`: one JSON document).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;

use rvbpf::conformance::runner::{self, TestReport};
use rvbpf::conformance::Verdict;
use rvbpf::runtime::Engine;

pub fn cmd_conformance(paths: &[PathBuf], engine: Engine, json: bool, jobs: Option<usize>, quiet: bool, junit: Option<&Path>) -> Result<ExitCode, String> {
    super::engine_check(engine)?;
    if let Some(n) = jobs {
        if n == 0 {
            return Err("--jobs must be at least 1".into());
        }
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global().map_err(|e| e.to_string())?;
    }
    let (files, warnings) = runner::collect(paths)?;
    for w in &warnings {
        eprintln!("rvbpf: warning: {w}");
    }
    if files.is_empty() {
        return Err("no .data tests found".into());
    }
    let bar = super::progress(files.len() as u64);
    let start = std::time::Instant::now();
    let reports = runner::run_reporting(&files, engine, || bar.inc(1));
    bar.finish_and_clear();
    let summary = runner::summarize(&reports);
    if let Some(path) = junit {
        write_junit(path, &reports, engine, start.elapsed())?;
    }
    if json {
        let tests: Vec<_> = reports
            .iter()
            .map(|r| {
                let (status, reason) = match &r.verdict {
                    Verdict::Pass => ("pass", None),
                    Verdict::Fail(why) => ("fail", Some(why.as_str())),
                    Verdict::Skip(why) => ("skip", Some(why.as_str())),
                };
                json!({"path": r.path.display().to_string(), "engine": engine.name(), "status": status, "reason": reason})
            })
            .collect();
        let doc = json!({"tests": tests, "passed": summary.passed, "failed": summary.failed, "skipped": summary.skipped});
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for r in &reports {
            let _ = match &r.verdict {
                Verdict::Fail(why) => writeln!(out, "FAIL {}: {why}", r.path.display()),
                _ if quiet => Ok(()),
                Verdict::Pass => writeln!(out, "PASS {}", r.path.display()),
                Verdict::Skip(why) => writeln!(out, "SKIP {}: {why}", r.path.display()),
            };
        }
        let _ = writeln!(out, "{}", summary.line());
    }
    Ok(if summary.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The reports as JUnit XML: one suite for the engine, one test case per file (its
/// directory as the class name), a failure or a skip with its reason as the message.
fn write_junit(path: &Path, reports: &[TestReport], engine: Engine, time: std::time::Duration) -> Result<(), String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new(format!("rvbpf conformance --engine {}", engine.name()));
    suite.set_time(time);
    for r in reports {
        let mut status = match &r.verdict {
            Verdict::Pass => TestCaseStatus::success(),
            Verdict::Fail(_) => TestCaseStatus::non_success(NonSuccessKind::Failure),
            Verdict::Skip(_) => TestCaseStatus::skipped(),
        };
        if let Verdict::Fail(why) | Verdict::Skip(why) = &r.verdict {
            status.set_message(why.as_str());
        }
        let name = r.path.file_name().map_or_else(|| r.path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let mut case = TestCase::new(name, status);
        case.set_classname(r.path.parent().map_or_else(String::new, |p| p.display().to_string()));
        suite.add_test_case(case);
    }
    let mut report = Report::new("rvbpf");
    report.add_test_suite(suite);
    let xml = report.to_string().map_err(|e| format!("--junit: {e}"))?;
    std::fs::write(path, xml).map_err(|e| format!("--junit {}: {e}", path.display()))
}
