//! Runs directories and files of `.data` tests in parallel and reports PASS/FAIL/SKIP.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{judge, parse_data, Engine, Verdict};

/// One test's outcome.
#[derive(Clone, Debug)]
pub struct TestReport {
    pub path: PathBuf,
    pub verdict: Verdict,
}

/// Totals of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Summary {
    /// The closing line: `N passed, N failed` and `, N skipped` when any were skipped.
    pub fn line(&self) -> String {
        let mut s = format!("{} passed, {} failed", self.passed, self.failed);
        if self.skipped > 0 {
            s.push_str(&format!(", {} skipped", self.skipped));
        }
        s
    }
}

/// Every `.data` file under the given paths (directories are walked recursively), sorted.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out, true)?;
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(p: &Path, out: &mut Vec<PathBuf>, explicit: bool) -> Result<(), String> {
    let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
    if meta.is_dir() {
        let entries = std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", p.display()))?;
            walk(&entry.path(), out, false)?;
        }
    } else if explicit || p.extension().is_some_and(|e| e == "data") {
        out.push(p.to_path_buf());
    }
    Ok(())
}

/// Judges every file on `engine`, in parallel, in file order.
pub fn run(files: &[PathBuf], engine: Engine) -> Vec<TestReport> {
    files
        .par_iter()
        .map(|path| {
            let verdict = match std::fs::read(path) {
                Ok(bytes) => judge(&parse_data(&String::from_utf8_lossy(&bytes)), engine),
                Err(e) => Verdict::Fail(format!("cannot read: {e}")),
            };
            TestReport { path: path.clone(), verdict }
        })
        .collect()
}

/// Totals of a set of reports.
pub fn summarize(reports: &[TestReport]) -> Summary {
    let mut s = Summary::default();
    for r in reports {
        match r.verdict {
            Verdict::Pass => s.passed += 1,
            Verdict::Fail(_) => s.failed += 1,
            Verdict::Skip(_) => s.skipped += 1,
        }
    }
    s
}
