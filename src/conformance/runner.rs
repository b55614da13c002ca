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

/// Every `.data` file under the given paths (directories are walked recursively,
/// following symlinks), sorted, and what was skipped on the way: a directory reached
/// again (a symlink loop, or two links to one tree) and a link that leads nowhere, each
/// with a warning. A path given that does not exist is an error.
pub fn collect(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<String>), String> {
    let (mut out, mut warnings, mut seen) = (Vec::new(), Vec::new(), std::collections::BTreeSet::new());
    for p in paths {
        walk(p, &mut out, &mut warnings, &mut seen, true)?;
    }
    out.sort();
    out.dedup();
    Ok((out, warnings))
}

fn walk(p: &Path, out: &mut Vec<PathBuf>, warnings: &mut Vec<String>, seen: &mut std::collections::BTreeSet<PathBuf>, explicit: bool) -> Result<(), String> {
    let meta = match std::fs::metadata(p) {
        Ok(m) => m,
        Err(e) if !explicit => {
            warnings.push(format!("{}: skipped: {e}", p.display()));
            return Ok(());
        }
        Err(e) => return Err(format!("{}: {e}", p.display())),
    };
    if meta.is_dir() {
        let real = std::fs::canonicalize(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if !seen.insert(real.clone()) {
            warnings.push(format!("{}: skipped: the directory {} is walked already (a symlink loop, or another link to it)", p.display(), real.display()));
            return Ok(());
        }
        let entries = std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", p.display()))?;
            walk(&entry.path(), out, warnings, seen, false)?;
        }
    } else if explicit || p.extension().is_some_and(|e| e == "data") {
        out.push(p.to_path_buf());
    }
    Ok(())
}

/// Judges every file on `engine`, in parallel, in file order.
pub fn run(files: &[PathBuf], engine: Engine) -> Vec<TestReport> {
    run_reporting(files, engine, || {})
}

/// [`run`], calling `done` as each test ends (a progress bar).
pub fn run_reporting(files: &[PathBuf], engine: Engine, done: impl Fn() + Sync) -> Vec<TestReport> {
    files
        .par_iter()
        .map(|path| {
            let verdict = match std::fs::read(path) {
                Ok(bytes) => judge(&parse_data(&String::from_utf8_lossy(&bytes)), engine),
                Err(e) => Verdict::Fail(format!("cannot read: {e}")),
            };
            done();
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
