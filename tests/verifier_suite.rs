//! The verifier suite: the cases in tests/verifier/*.txt (format: tests/verifier/README.md),
//! each a program, the verdict the verifier must reach (with the exact message of a
//! refusal) and facts it must prove at chosen instructions.
//!
//! The second test loads every case into the Linux kernel (privileged; skipped with a
//! printed reason where bpf() is not allowed) and compares the verdicts: a case whose
//! verdict differs from the kernel's must say why (`kernel:`), and a listed reason that
//! no longer holds fails too.

#[path = "common/linux.rs"]
mod linux;

use std::path::PathBuf;
use std::sync::Arc;

use rvbpf::isa::{asm, encode_all, Program};
use rvbpf::maps::{map_type, Map, MapDef};
use rvbpf::prog::ProgType;
use rvbpf::runtime::{MapRef, MapRefError};
use rvbpf::verifier::analyze::Analysis;
use rvbpf::verifier::reg::{Kind, Reg};
use rvbpf::verifier::{verify_with_states, ProgramInfo};

/// The maps every case may name by `map_idx(N)`.
const MAPS: [(&str, MapDef); 5] = [
    ("hash", MapDef { map_type: map_type::HASH, key_size: 4, value_size: 16, max_entries: 16, map_flags: 0 }),
    ("array", MapDef { map_type: map_type::ARRAY, key_size: 4, value_size: 8, max_entries: 4, map_flags: 0 }),
    ("ringbuf", MapDef { map_type: map_type::RINGBUF, key_size: 0, value_size: 0, max_entries: 4096, map_flags: 0 }),
    ("progs", MapDef { map_type: map_type::PROG_ARRAY, key_size: 4, value_size: 4, max_entries: 4, map_flags: 0 }),
    ("big", MapDef { map_type: map_type::ARRAY, key_size: 4, value_size: 64, max_entries: 1, map_flags: 0 }),
];

#[derive(Clone, Debug)]
enum Env {
    Prog(ProgType),
    /// The conformance environment with this many bytes of memory.
    Raw(usize),
}

#[derive(Clone, Debug)]
enum Fact {
    Const(u64),
    URange(u64, u64),
    SRange(i64, i64),
    /// The register's notation starts with this (`pkt`, `map_value_or_null`, `fp-8`, `?`).
    Is(String),
}

#[derive(Clone, Debug)]
struct Case {
    at: String,
    name: String,
    env: Env,
    asm: String,
    /// `None`: accept; else the refusal's message.
    refuse: Option<String>,
    /// (slot, register or None for reachability, fact or None for "unreachable").
    facts: Vec<(usize, Option<usize>, Option<Fact>)>,
    kernel: Option<String>,
}

fn parse_env(v: &str) -> Result<Env, String> {
    if let Some(n) = v.strip_prefix("raw ") {
        return n.trim().parse().map(Env::Raw).map_err(|_| format!("raw takes a memory size: {v}"));
    }
    let t = rvbpf::prog::PROG_TYPES.iter().find(|t| t.name == v).ok_or_else(|| format!("unknown program type {v}"))?;
    Ok(Env::Prog(t.prog_type))
}

fn num(s: &str) -> Result<i128, String> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let v = match body.strip_prefix("0x") {
        Some(h) => i128::from_str_radix(h, 16),
        None => body.parse::<i128>(),
    }
    .map_err(|_| format!("bad number {s}"))?;
    Ok(if neg { -v } else { v })
}

fn parse_fact(rest: &str) -> Result<(Option<usize>, Option<Fact>), String> {
    let rest = rest.trim();
    if rest == "unreachable" {
        return Ok((None, None));
    }
    if rest == "reachable" {
        return Ok((None, Some(Fact::Is(String::new()))));
    }
    let (reg, what) = rest.split_once(' ').ok_or_else(|| format!("bad fact {rest}"))?;
    let r: usize = reg.strip_prefix('r').and_then(|n| n.parse().ok()).filter(|&n| n <= 10).ok_or_else(|| format!("bad register {reg}"))?;
    let what = what.trim();
    let range = |t: &str| -> Result<(i128, i128), String> {
        let (a, b) = t.split_once("..").ok_or_else(|| format!("bad range {t}"))?;
        Ok((num(a)?, num(b)?))
    };
    let fact = if let Some(v) = what.strip_prefix("= ") {
        Fact::Const(num(v)? as u64)
    } else if let Some(t) = what.strip_prefix("in ") {
        let (a, b) = range(t)?;
        Fact::URange(a as u64, b as u64)
    } else if let Some(t) = what.strip_prefix("sin ") {
        let (a, b) = range(t)?;
        Fact::SRange(a as i64, b as i64)
    } else if let Some(t) = what.strip_prefix("is ") {
        Fact::Is(t.trim().to_string())
    } else {
        return Err(format!("bad fact {rest}"));
    };
    Ok((Some(r), Some(fact)))
}

/// Parses one suite file.
fn parse(path: &std::path::Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).unwrap();
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let mut cases: Vec<Case> = Vec::new();
    let mut in_asm = false;
    for (k, line) in text.lines().enumerate() {
        let at = format!("{file}:{}", k + 1);
        let bad = |m: String| -> ! { panic!("{at}: {m}") };
        if let Some(name) = line.strip_prefix("== ") {
            cases.push(Case { at: at.clone(), name: name.trim().to_string(), env: Env::Prog(ProgType::Syscall), asm: String::new(), refuse: None, facts: Vec::new(), kernel: None });
            in_asm = false;
            continue;
        }
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some(c) = cases.last_mut() else { bad("text before the first `== name`".into()) };
        if in_asm && line.starts_with("    ") {
            c.asm.push_str(line.trim());
            c.asm.push('\n');
            continue;
        }
        in_asm = false;
        let (key, value) = line.split_once(':').map(|(k, v)| (k.trim(), v.trim())).unwrap_or((line.trim(), ""));
        match key {
            "type" => c.env = parse_env(value).unwrap_or_else(|e| bad(e)),
            "asm" => in_asm = true,
            "accept" => c.refuse = None,
            "refuse" => c.refuse = Some(value.to_string()),
            "kernel" => c.kernel = Some(value.to_string()),
            k if k.starts_with("at ") => {
                let pc: usize = k[3..].trim().parse().unwrap_or_else(|_| bad(format!("bad slot in {k}")));
                let (r, f) = parse_fact(value).unwrap_or_else(|e| bad(e));
                c.facts.push((pc, r, f));
            }
            other => bad(format!("unknown key {other:?}")),
        }
    }
    cases
}

fn cases() -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/verifier");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "txt")).collect();
    files.sort();
    files.iter().flat_map(|f| parse(f)).collect()
}

/// rvbpf's verdict (the refusal's message) and the analysis, when it ran.
fn run_rvbpf(c: &Case, prog: &Program) -> (Result<(), String>, Option<Analysis>) {
    match c.env {
        Env::Raw(n) => match rvbpf::conformance::analyze_in_env(prog, n) {
            Ok(a) => (Ok(()), Some(a)),
            Err(r) => (Err(r.error.to_string()), Some(*r.analysis)),
        },
        Env::Prog(t) => {
            let maps: Vec<Arc<Map>> = MAPS.iter().map(|(n, d)| Arc::new(Map::create(n, *d, 2).unwrap())).collect();
            let resolve = |r: MapRef| match r {
                MapRef::Index(i) => maps.get(i as usize).cloned().ok_or(MapRefError { errno: rvbpf::errno::EINVAL, reason: format!("no map at index {i}") }),
                MapRef::Fd(fd) => Err(MapRefError { errno: rvbpf::errno::EBADF, reason: format!("fd {fd} is not pointing to valid bpf_map") }),
            };
            let helpers = |id| rvbpf::helpers::linux(id).map(|h| (h.proto, h.types));
            let mut log = String::new();
            let mut info = ProgramInfo { prog_type: t, attach: None, ctx: t.ctx(), helpers: &helpers, gpl: true, maps: &resolve, log: &mut log, returns_void: false, log_level: 0, clock: None };
            let (r, a) = verify_with_states(prog, &mut info);
            (r.map(|_| ()).map_err(|e| e.to_string()), a)
        }
    }
}

fn holds(r: &Reg, f: &Fact) -> bool {
    let v = r.value.full;
    match f {
        Fact::Const(k) => r.kind == Kind::Scalar && r.constant() == Some(*k),
        Fact::URange(lo, hi) => r.kind == Kind::Scalar && v.umin >= *lo && v.umax <= *hi,
        Fact::SRange(lo, hi) => r.kind == Kind::Scalar && v.smin as i64 >= *lo && v.smax as i64 <= *hi,
        Fact::Is(p) => r.to_string().starts_with(p.as_str()),
    }
}

/// What is wrong with rvbpf's result on case `c`, if anything.
fn judge(c: &Case) -> Option<String> {
    let insns = match asm::assemble(&c.asm) {
        Ok(i) => i,
        Err(e) => return Some(format!("does not assemble: {e}")),
    };
    let prog = match Program::new(insns) {
        Ok(p) => p,
        Err(e) => return Some(format!("does not decode: {e}")),
    };
    let (verdict, analysis) = run_rvbpf(c, &prog);
    match (&verdict, &c.refuse) {
        (Ok(()), Some(want)) => return Some(format!("accepted, expected the refusal {want:?}")),
        (Err(got), None) => return Some(format!("refused: {got}")),
        (Err(got), Some(want)) if got != want => return Some(format!("refused with {got:?}, expected {want:?}")),
        _ => {}
    }
    for (pc, reg, fact) in &c.facts {
        let Some(a) = &analysis else { return Some("no analysis ran, but the case states facts".into()) };
        let Some(i) = prog.cfg().index_of(*pc) else { return Some(format!("no instruction at slot {pc}")) };
        let states = a.at(i);
        match (reg, fact) {
            (None, None) if !states.is_empty() => return Some(format!("{pc}: reachable, expected unreachable")),
            (None, Some(_)) if states.is_empty() => return Some(format!("{pc}: unreachable, expected reachable")),
            (Some(r), Some(f)) => {
                if states.is_empty() {
                    return Some(format!("{pc}: unreachable, expected r{r} {f:?}"));
                }
                if let Some(s) = states.iter().find(|s| !holds(&s.regs[*r], f)) {
                    return Some(format!("{pc}: r{r} is {}, expected {f:?}", s.regs[*r]));
                }
            }
            _ => {}
        }
    }
    None
}

#[test]
fn every_case_reaches_its_verdict_and_facts() {
    let all = cases();
    let failures: Vec<String> = all.iter().filter_map(|c| judge(c).map(|why| format!("{} ({}): {why}", c.at, c.name))).collect();
    let refusals = all.iter().filter(|c| c.refuse.is_some()).count();
    println!("verifier suite: {} cases ({} refusals, {} with facts), {} failed", all.len(), refusals, all.iter().filter(|c| !c.facts.is_empty()).count(), failures.len());
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(all.len() >= 400, "only {} cases", all.len());
    // Case names are unique: a report names one case.
    let mut names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
    names.sort();
    let dup: Vec<_> = names.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    assert!(dup.is_empty(), "duplicate case names: {dup:?}");
}

#[test]
fn verdicts_match_the_linux_kernel() {
    if let Some(why) = linux::unavailable() {
        println!("SKIP verdicts_match_the_linux_kernel: {why}");
        return;
    }
    let fds: Vec<i32> = MAPS.iter().map(|(n, d)| linux::map_create(n, d.map_type, d.key_size, d.value_size, d.max_entries, d.map_flags).unwrap_or_else(|e| panic!("map {n}: errno {e}"))).collect();
    let (mut same, mut compared) = (0, 0);
    let mut problems = Vec::new();
    let mut unsafe_accepts = 0;
    for c in cases() {
        let Env::Prog(t) = c.env else { continue };
        let Ok(insns) = asm::assemble(&c.asm) else { continue };
        let Ok(prog) = Program::new(insns.clone()) else { continue };
        let ours = run_rvbpf(&c, &prog).0.is_ok();
        let flags = if t == ProgType::Syscall { 1 << 4 } else { 0 };
        let kernel = match linux::prog_load(t as u32, &encode_all(&insns), &fds, flags) {
            Ok(fd) => {
                linux::close(fd);
                Ok(())
            }
            Err((e, log)) => Err(format!("errno {e}: {}", log.lines().rev().find(|l| !l.is_empty() && !l.starts_with("processed") && !l.starts_with("verification time")).unwrap_or(""))),
        };
        compared += 1;
        match (ours, &kernel, &c.kernel) {
            (true, Ok(()), None) | (false, Err(_), None) => same += 1,
            (true, Err(k), Some(_)) => {
                unsafe_accepts += 1;
                println!("  {}: rvbpf accepts, the kernel refuses ({k}): {}", c.name, c.kernel.as_deref().unwrap_or(""));
            }
            (false, Ok(()), Some(why)) => println!("  {}: rvbpf refuses, the kernel accepts: {why}", c.name),
            (_, _, Some(why)) => problems.push(format!("{} ({}): listed as differing from the kernel ({why}), but both agree", c.at, c.name)),
            (true, Err(k), None) => problems.push(format!("{} ({}): rvbpf accepts, the kernel refuses ({k}), no reason listed", c.at, c.name)),
            (false, Ok(()), None) => problems.push(format!("{} ({}): rvbpf refuses, the kernel accepts, no reason listed", c.at, c.name)),
        }
    }
    for fd in fds {
        linux::close(fd);
    }
    println!("kernel: {compared} cases compared, {same} alike, {} differ for a listed reason ({unsafe_accepts} accepted by rvbpf only)", compared - same - problems.len());
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(compared >= 100, "only {compared} cases compared");
}
