//! The ecosystem's `.data` conformance format, a judge for one test, the parallel runner
//! and the bpf_conformance plugin protocol.
//!
//! The parser follows bpf_conformance's `parse_test_file` so that every runtime reads a
//! file the same way: everything after `#` is a comment; a line containing `--` is a
//! directive, matched by substring in the order asm, result, mem, raw, no register offset,
//! c, error; any other directive makes the file skipped; the last non-empty line of
//! `result`/`error` wins; `raw` overrides `asm`. Metadata for rvbpf lives in comments
//! (`# @covers: 0x07`), so other runners still parse the files.

pub mod env;
#[cfg(feature = "cli")]
pub mod runner;

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::interp::{Interpreter, Proven, RunOptions};
use crate::isa::{asm, encode_all, Program};
use crate::runtime::Engine;
pub use env::ConformanceEnv;

/// A parsed `.data` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataFile {
    pub asm: Option<String>,
    pub raw: Option<Vec<u64>>,
    pub mem: Vec<u8>,
    pub result: Option<u64>,
    pub error: Option<String>,
    /// `# @key: value` comment lines, in order.
    pub meta: Vec<(String, String)>,
    /// Why bpf_conformance would skip this file, if it would.
    pub skip: Option<String>,
}

impl DataFile {
    /// Values of one metadata key (`covers`, `groups`, …).
    pub fn meta_values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.meta.iter().filter(move |(k, _)| k == key).flat_map(|(_, v)| v.split([',', ' ']).filter(|s| !s.is_empty()))
    }

    /// The program bytes: `raw` words if present, else the assembled `asm` section.
    pub fn program_bytes(&self) -> Result<Vec<u8>, String> {
        if let Some(words) = &self.raw {
            return Ok(words.iter().flat_map(|w| w.to_le_bytes()).collect());
        }
        let src = self.asm.as_deref().unwrap_or("");
        let insns = asm::assemble(src).map_err(|e| alloc::format!("assembler error: {e}"))?;
        Ok(encode_all(&insns))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Asm,
    Result,
    Mem,
    Raw,
    Ignored,
    Error,
}

/// Parses `.data` text. Never fails: problems become `skip` reasons or surface when the
/// program is assembled.
pub fn parse_data(text: &str) -> DataFile {
    let mut f = DataFile::default();
    let mut section = Section::None;
    let (mut asm, mut result, mut mem, mut raw, mut error) = (String::new(), Vec::new(), String::new(), String::new(), Vec::new());
    let (mut has_asm, mut has_raw) = (false, false);
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(pos) = line.find('#') {
            let comment = line[pos + 1..].trim();
            if let Some(rest) = comment.strip_prefix('@') {
                if let Some((k, v)) = rest.split_once(':') {
                    f.meta.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
        }
        let line = line.split('#').next().unwrap_or("");
        if line.contains("--") {
            section = if line.contains("asm") {
                has_asm = true;
                Section::Asm
            } else if line.contains("result") {
                Section::Result
            } else if line.contains("mem") {
                Section::Mem
            } else if line.contains("raw") {
                has_raw = true;
                Section::Raw
            } else if line.contains("no register offset") || line.contains(" c") {
                Section::Ignored
            } else if line.contains("error") {
                Section::Error
            } else {
                if f.skip.is_none() {
                    f.skip = Some(alloc::format!("unknown directive {:?}", line.trim()));
                }
                Section::Ignored
            };
            continue;
        }
        match section {
            Section::Asm => {
                asm.push_str(line);
                asm.push('\n');
            }
            Section::Result if !line.trim().is_empty() => result.push(line.trim().to_string()),
            Section::Error if !line.trim().is_empty() => error.push(line.trim().to_string()),
            Section::Mem => {
                mem.push_str(line);
                mem.push(' ');
            }
            Section::Raw => {
                raw.push_str(line);
                raw.push(' ');
            }
            _ => {}
        }
    }
    if has_asm {
        f.asm = Some(asm);
    }
    if let Some(r) = result.last() {
        match parse_u64(r) {
            Some(v) => f.result = Some(v),
            None => f.skip = f.skip.take().or(Some(alloc::format!("result {r:?} is not a number"))),
        }
    }
    f.error = error.last().cloned();
    for tok in mem.split_whitespace() {
        match u32::from_str_radix(tok.trim_start_matches("0x"), 16) {
            Ok(b) => f.mem.push(b as u8),
            Err(_) => f.skip = f.skip.take().or(Some(alloc::format!("mem byte {tok:?} is not hex"))),
        }
    }
    if has_raw {
        let mut words = Vec::new();
        for tok in raw.split_whitespace() {
            match parse_u64(tok) {
                Some(w) => words.push(w),
                None => f.skip = f.skip.take().or(Some(alloc::format!("raw word {tok:?} is not a number"))),
            }
        }
        f.raw = Some(words);
    }
    let no_insns = f.raw.as_ref().is_none_or(|w| w.is_empty()) && f.asm.as_ref().is_none_or(|a| a.trim().is_empty());
    if f.skip.is_none() {
        if f.result.is_none() && f.error.is_none() {
            f.skip = Some("no result or error".into());
        } else if no_insns {
            f.skip = Some("no instructions".into());
        }
    }
    f
}

/// Hex when it contains `0x` (any case), else decimal; a negative decimal wraps like `stoull`.
pub fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    if let Some(i) = lower.find("0x") {
        return u64::from_str_radix(&lower[i + 2..], 16).ok();
    }
    match s.strip_prefix('-') {
        Some(d) => d.parse::<u64>().ok().map(|v| v.wrapping_neg()),
        None => s.parse::<u64>().ok(),
    }
}

/// The verifier's view of the conformance environment: r1 points to `mem_len` bytes of
/// writable memory (r1 = 0 without memory), r2 holds `mem_len`; the test helpers by their
/// prototypes; map fd 1 (index 0) is an array of one 64-byte value with 4-byte keys,
/// variable 0 is 8 bytes. The analysis, or the refusal in the kernel's words with the
/// instruction it names.
pub fn verify(prog: &Program, mem_len: usize) -> Result<crate::verifier::analyze::Analysis, String> {
    analyze_in_env(prog, mem_len).map_err(|r| r.error.to_string())
}

/// [`verify`], with the states found until a refusal (for a log).
pub fn analyze_in_env(prog: &Program, mem_len: usize) -> Result<crate::verifier::analyze::Analysis, crate::verifier::analyze::Refused> {
    use crate::isa::LdKind;
    use crate::verifier::analyze::{analyze, Options};
    use crate::verifier::call::CallEnv;
    use crate::verifier::mem::MemEnv;
    use crate::verifier::reg::{Reg, Region};
    use crate::verifier::state::State;
    const NO_CTX: crate::prog::CtxDescriptor = crate::prog::CtxDescriptor { name: "none", size: Some(0), writable: &[], fields: &[], rewrite: false };
    let helpers = crate::helpers::conformance::HelperSet::conformance();
    let mem = MemEnv { ctx: &NO_CTX, value_size: &|m| (m == 0).then_some(env::CONFORMANCE_MAP_VALUE as u32) };
    let helper = |id| helpers.get(id).map(|h| h.proto);
    let map = |kind: LdKind, imm: i32| match kind {
        LdKind::MapFd | LdKind::MapValueFd if imm == 1 => Some(0),
        LdKind::MapIdx | LdKind::MapValueIdx if imm == 0 => Some(0),
        _ => None,
    };
    let env = CallEnv { mem: &mem, key_size: &|m| (m == 0).then_some(4), map_type: &|m| (m == 0).then_some(crate::maps::map_type::ARRAY), helper: &helper, map: &map, var: &|v| (v == 0).then_some(8) };
    let r1 = if mem_len == 0 { Reg::konst(0) } else { Reg::ptr(Region::Mem { size: mem_len as u64 }) };
    let opts = Options { env: &env, entry: State::entry_with(r1, Reg::konst(mem_len as u64)), ret: None, returns_void: false, max_steps: crate::verifier::MAX_PROCESSED, deadline: None };
    analyze(prog, &opts)
}

/// Decodes and runs program bytes against `mem` in the conformance environment: r0, or
/// the one-line error the plugin prints. The JIT runs only what the verifier accepts
/// (refused: `refused by the verifier: <reason>`); the interpreter checks at run time,
/// and a program the verifier accepts also runs in verified mode, which must agree.
pub fn execute(program: &[u8], mem: &[u8], engine: Engine) -> Result<u64, String> {
    let prog = Program::decode(program).map_err(|e| e.to_string())?;
    let verified = verify(&prog, mem.len()).map(|a| a.proven(&prog));
    if engine.uses_jit() {
        verified.clone().map_err(|e| alloc::format!("refused by the verifier: {e}"))?;
    }
    execute_decoded(&prog, mem, engine, verified.ok().as_ref())
}

/// [`execute`] without the verifier, for a caller that takes the responsibility
/// (`rvbpf run --unverified`).
pub fn execute_unverified(program: &[u8], mem: &[u8], engine: Engine) -> Result<u64, String> {
    execute_decoded(&Program::decode(program).map_err(|e| e.to_string())?, mem, engine, None)
}

fn execute_decoded(prog: &Program, mem: &[u8], engine: Engine, proven: Option<&Proven>) -> Result<u64, String> {
    let interp = || {
        let checked = run_on(prog, mem, Mode::Checked);
        if let Some(p) = proven {
            let fast = run_on(prog, mem, Mode::Verified(p));
            same("checked interpreter", &checked, "verified interpreter", &fast)?;
        }
        Ok::<_, String>(checked)
    };
    match engine {
        Engine::Interp => interp()?.0,
        Engine::Jit => run_on(prog, mem, Mode::Jit).0,
        Engine::Both => {
            let i = interp()?;
            let j = run_on(prog, mem, Mode::Jit);
            same("interpreter", &i, "JIT", &j)?;
            i.0
        }
    }
}

/// One run's result and the input memory after it.
type Run = (Result<u64, String>, Vec<u8>);

/// Nothing when two engines (or modes) gave the same result and memory; else the
/// error that says where they differ.
fn same(a_name: &str, a: &Run, b_name: &str, b: &Run) -> Result<(), String> {
    if a.0 != b.0 {
        return Err(alloc::format!("engines differ: {a_name} {:x?}, {b_name} {:x?}", a.0, b.0));
    }
    if a.1 != b.1 {
        let at = a.1.iter().zip(&b.1).position(|(x, y)| x != y).unwrap_or(0);
        return Err(alloc::format!("engines differ: input memory byte {at}: {a_name} 0x{:02x}, {b_name} 0x{:02x}", a.1[at], b.1[at]));
    }
    Ok(())
}

/// How [`run_on`] runs a program.
#[derive(Clone, Copy)]
enum Mode<'a> {
    Checked,
    Verified(&'a Proven),
    Jit,
}

/// Runs in one mode with a fresh copy of `mem` and a fresh environment; returns the
/// result and the memory afterwards.
fn run_on(prog: &Program, mem: &[u8], mode: Mode) -> Run {
    // 8-byte aligned copy, so aligned atomics on the input memory are aligned on the host.
    let mut words = alloc::vec![0u64; mem.len().div_ceil(8)];
    // SAFETY: a u64 buffer viewed as bytes, within its length.
    let buf = unsafe { core::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut u8, mem.len()) };
    buf.copy_from_slice(mem);
    let mut env = ConformanceEnv::default();
    let mut vm = match mode {
        Mode::Checked => Interpreter::new(prog),
        Mode::Verified(p) => Interpreter::verified(prog, p),
        Mode::Jit => return (run_jit(prog, buf, &mut env), buf.to_vec()),
    };
    let res = vm.run(buf, &env.regions(), &mut env, &RunOptions::default()).map(|o| o.r0).map_err(|e| e.to_string());
    (res, buf.to_vec())
}

#[cfg(feature = "jit")]
fn run_jit(prog: &Program, input: &mut [u8], env: &mut ConformanceEnv) -> Result<u64, String> {
    let prog = crate::interp::resolve_lddw(prog, env).map_err(|e| e.to_string())?;
    let jit = crate::runtime::jit_compile(&prog, crate::runtime::JitCheck::Prove).map_err(|e| e.to_string())?;
    let len = input.len() as u64;
    let own = [crate::mem::Region::of_mut(input)];
    let (r1, own) = if len == 0 { (0, &own[..0]) } else { (own[0].start, &own[..]) };
    let env_regions = env.regions();
    jit.run_with(r1, len, [own, &env_regions, &[], &[]], env).map(|o| o.r0).map_err(|e| e.to_string())
}

#[cfg(not(feature = "jit"))]
fn run_jit(_: &Program, _: &mut [u8], _: &mut ConformanceEnv) -> Result<u64, String> {
    Err("this rvbpf was built without the `jit` feature".into())
}

/// The verdict on one test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail(String),
    Skip(String),
}

/// Judges one parsed file on one engine, as bpf_conformance judges a plugin: a result
/// must match all 64 bits; an expected error must match the error line exactly.
pub fn judge(f: &DataFile, engine: Engine) -> Verdict {
    if let Some(why) = &f.skip {
        return Verdict::Skip(why.clone());
    }
    let bytes = match f.program_bytes() {
        Ok(b) => b,
        Err(e) => return Verdict::Fail(e),
    };
    // Every program that decodes meets the verifier first, on every engine: a test of
    // a run-time error names the refusal it expects (`# @refused: <reason>`); the
    // interpreter, which keeps its run-time checks, still runs it.
    let refusal = f.meta.iter().find(|(k, _)| k == "refused").map(|(_, v)| v.as_str());
    if let Ok(prog) = Program::decode(&bytes) {
        match (verify(&prog, f.mem.len()), refusal) {
            (Ok(_), Some(want)) => return Verdict::Fail(alloc::format!("accepted by the verifier, expected the refusal {want:?}")),
            (Err(got), Some(want)) if got != want => return Verdict::Fail(alloc::format!("refused by the verifier with {got:?}, expected {want:?}")),
            (Err(_), Some(_)) if engine.uses_jit() => return Verdict::Pass,
            (Err(got), None) => return Verdict::Fail(alloc::format!("refused by the verifier: {got}")),
            _ => {}
        }
    }
    let run = if refusal.is_some() { execute_unverified(&bytes, &f.mem, Engine::Interp) } else { execute(&bytes, &f.mem, engine) };
    match (run, &f.error, f.result) {
        (Ok(r0), None, Some(want)) if r0 == want => Verdict::Pass,
        (Ok(r0), None, Some(want)) => Verdict::Fail(alloc::format!("returned 0x{r0:x}, expected 0x{want:x}")),
        (Ok(r0), Some(e), _) => Verdict::Fail(alloc::format!("returned 0x{r0:x}, expected error {e:?}")),
        (Err(got), Some(want), _) if got == *want => Verdict::Pass,
        // `# @error-match: prefix` for messages that carry a host address.
        (Err(got), Some(want), _) if f.meta.iter().any(|(k, v)| k == "error-match" && v == "prefix") && got.starts_with(want.as_str()) => {
            Verdict::Pass
        }
        (Err(got), Some(want), _) => Verdict::Fail(alloc::format!("error {got:?}, expected error {want:?}")),
        (Err(got), None, _) => Verdict::Fail(alloc::format!("error {got:?}")),
        (Ok(_), None, None) => Verdict::Skip("no result or error".into()),
    }
}

/// Parses hex text as the plugin protocol sends it: pairs of hex digits, any whitespace
/// between them (bpf_conformance writes `"aa  bb  "`), optional `0x` prefixes.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: String = text.split_whitespace().map(|t| t.trim_start_matches("0x")).collect();
    if digits.len() % 2 != 0 {
        return Err(alloc::format!("hex input has an odd number of digits ({})", digits.len()));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| alloc::format!("bad hex byte {:?} at offset {}", &digits[i..i + 2], i / 2)))
        .collect()
}
