//! `rvbpf run FILE`: runs a program. An object's program runs in a runtime with its
//! maps and the context its type takes; a raw program (bytecode, hex, assembly, a .data
//! test) runs in the conformance environment with r1 = its memory, r2 = the length.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{json, Value};

use rvbpf::conformance::{self, ConformanceEnv};
use rvbpf::interp::{Interpreter, RunOptions, Tracer, DEFAULT_BUDGET};
use rvbpf::isa::disasm::{format_insn, Syntax};
use rvbpf::isa::{Insn, Program};
use rvbpf::loader::btf::Layout;
use rvbpf::loader::Object;
use rvbpf::maps::Map;
use rvbpf::prog::ProgType;
use rvbpf::runtime::{context::PT_REGS_FIELDS, Context, Engine, HostKernel, LoadedObject, PtRegs, RunConfig, Runtime};

use super::hex;
use super::input::{choose_program, Expect, Input};

/// What `rvbpf run` was asked to do.
pub struct RunArgs {
    pub program: Option<String>,
    pub data: Option<PathBuf>,
    pub data_hex: Option<String>,
    pub ctx: Option<PathBuf>,
    pub regs: Vec<String>,
    pub repeat: u32,
    /// Print zero array entries too.
    pub all: bool,
    pub cpus: Option<u32>,
    pub mem: Option<String>,
    pub mem_file: Option<PathBuf>,
    pub engine: Engine,
    pub trace: bool,
    pub json: bool,
    /// `--budget`, when given.
    pub budget: Option<u64>,
    /// `--timeout SECS`.
    pub timeout: Option<u64>,
    /// Raw programs on the JIT: skip the verifier.
    pub unverified: bool,
}

impl RunArgs {
    /// The interpreter's budget: the one given, else none under a timeout, else the default.
    fn budget(&self) -> u64 {
        self.budget.unwrap_or(if self.timeout.is_some() { u64::MAX } else { DEFAULT_BUDGET })
    }
}

/// The exit status of a run stopped by `--timeout` (as timeout(1) has it).
pub const TIMEOUT_STATUS: i32 = 124;

/// Ends the process if the run has not ended after `secs` seconds: neither engine can be
/// interrupted from outside, and JIT code is not metered.
fn watchdog(secs: u64, json: bool) {
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(secs));
        let msg = format!("the run did not end within {secs} s (--timeout {secs}); stopped");
        if json {
            println!("{}", json!({"error": msg, "timeout_secs": secs}));
        } else {
            eprintln!("rvbpf: error: {msg}");
        }
        std::process::exit(TIMEOUT_STATUS);
    });
}

pub fn cmd_run(input: &Path, a: &RunArgs) -> Result<ExitCode, String> {
    if a.budget.is_some() && a.engine.uses_jit() {
        return Err("--budget meters the interpreter; JIT code is not metered (the verifier bounds it): stop a JIT run with --timeout SECS".into());
    }
    if a.unverified {
        eprintln!("rvbpf: warning: --unverified: the verifier does not check this program, and JIT code checks nothing at run time");
    }
    if let Some(secs) = a.timeout {
        watchdog(secs, a.json);
    }
    match super::input::read(input)? {
        Input::Object(obj) => {
            if a.engine == Engine::Both {
                return Err("--engine both compares the engines on raw programs and .data tests; object runs change maps, so run each engine on its own".into());
            }
            if a.mem.is_some() || a.mem_file.is_some() || a.unverified {
                return Err("--mem, --mem-file and --unverified apply to raw programs (an object's programs are always verified when loaded); objects take --data, --data-hex and --ctx".into());
            }
            if a.trace && a.engine.uses_jit() {
                return Err("--trace follows the interpreter step by step; it cannot trace JIT code (use --engine interp)".into());
            }
            let data = match (&a.data, &a.data_hex) {
                (Some(f), _) => Some(std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?),
                (None, Some(h)) => Some(conformance::parse_hex(h).map_err(|e| format!("--data-hex: {e}"))?),
                (None, None) => None,
            };
            let ctx = a.ctx.as_ref().map(|f| std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))).transpose()?;
            let args = ObjectArgs { program: a.program.as_deref(), data, ctx, regs: &a.regs, repeat: a.repeat, cpus: a.cpus, json: a.json, budget: a.budget(), engine: a.engine, trace: a.trace, all: a.all };
            run_object(input, &obj, &args)
        }
        Input::Program { bytes, mem, expect } => {
            if a.program.is_some() || a.data.is_some() || a.data_hex.is_some() || a.ctx.is_some() || !a.regs.is_empty() || a.repeat != 1 || a.cpus.is_some() {
                return Err("--program, --data, --data-hex, --ctx, --reg, --repeat and --cpus apply to ELF objects".into());
            }
            let memory = match (&a.mem, &a.mem_file) {
                (Some(hex), _) => conformance::parse_hex(hex).map_err(|e| format!("--mem: {e}"))?,
                (None, Some(f)) => std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?,
                (None, None) => mem.unwrap_or_default(),
            };
            // A .data test's expectation holds for its own memory only.
            let expect = expect.filter(|_| a.mem.is_none() && a.mem_file.is_none());
            run_raw(input, &bytes, memory, expect, a)
        }
    }
}

/// Prints each executed instruction with the registers it changed. In an object's run,
/// a helper call names the helper and a map's address names the map.
struct PrintTrace {
    lines: Vec<serde_json::Value>,
    json: bool,
    /// The run's maps by address (an object's run; empty for raw programs).
    maps: Vec<(u64, String)>,
    /// Name Linux helpers (an object's run).
    helpers: bool,
    /// r10 when the run began: stack addresses show as offsets from it.
    fp: Option<u64>,
}

impl PrintTrace {
    fn new(json: bool) -> PrintTrace {
        PrintTrace { lines: Vec::new(), json, maps: Vec::new(), helpers: false, fp: None }
    }
    /// The value as the trace shows it: the map it is the address of, a stack address as
    /// `fp-N` (from the entry frame's r10), or hex.
    fn value(&self, v: u64) -> String {
        if let Some((_, name)) = self.maps.iter().find(|(a, _)| *a == v) {
            return format!("map:{name}");
        }
        match self.fp {
            Some(fp) if v == fp => "fp".into(),
            Some(fp) if v < fp && fp - v <= rvbpf::mem::STACK_SIZE as u64 => format!("fp-{}", fp - v),
            _ => format!("0x{v:x}"),
        }
    }
}

impl Tracer for PrintTrace {
    const ENABLED: bool = true;
    fn step(&mut self, pc: usize, insn: &Insn, before: &[u64; 11], after: &[u64; 11]) {
        self.fp.get_or_insert(before[10]);
        let changed: Vec<(usize, String)> = (0..11).filter(|&i| before[i] != after[i]).map(|i| (i, self.value(after[i]))).collect();
        let mut text = format_insn(insn, Syntax::Conformance);
        match insn {
            Insn::Call { helper } if self.helpers => {
                if let Some(h) = rvbpf::helpers::linux(*helper) {
                    text = format!("call bpf_{}#{}", h.proto.name, helper.get());
                }
            }
            Insn::LdImm64 { dst, .. } if !self.maps.is_empty() => {
                let v = after[dst.num() as usize];
                if let Some((_, name)) = self.maps.iter().find(|(a, _)| *a == v) {
                    text = format!("lddw %r{}, map:{name}", dst.num());
                }
            }
            _ => {}
        }
        if self.json {
            let regs: serde_json::Map<String, serde_json::Value> = changed.iter().map(|(i, v)| (format!("r{i}"), json!(v))).collect();
            self.lines.push(json!({"pc": pc, "insn": text, "changed": regs}));
        } else {
            let regs: Vec<String> = changed.iter().map(|(i, v)| format!("r{i}={v}")).collect();
            // A closed pipe (`| head`) ends the listing, not the program.
            let _ = writeln!(std::io::stdout().lock(), "{pc:>5}: {text:<32} {}", regs.join(" "));
        }
    }
}

/// Whether a run did what its `.data` test expects, and the line that says so.
fn verdict(expect: &Expect, result: &Result<u64, String>) -> (bool, String) {
    match (expect, result) {
        (Expect::Result(want), Ok(r0)) if want == r0 => (true, format!("-- result 0x{want:x}: matched")),
        (Expect::Result(want), Ok(r0)) => (false, format!("-- result 0x{want:x}: MISMATCH, the run returned 0x{r0:x}")),
        (Expect::Result(want), Err(_)) => (false, format!("-- result 0x{want:x}: MISMATCH, the run failed")),
        (Expect::Error(_), Err(_)) => (true, "-- error: matched (the test expects the run to fail)".into()),
        (Expect::Error(_), Ok(r0)) => (false, format!("-- error: MISMATCH, the test expects the run to fail and it returned 0x{r0:x}")),
    }
}

/// A raw program on the interpreter (optionally traced), or on the JIT or both; with a
/// `.data` test's expectation, whether the run met it (exit status 1 when not).
fn run_raw(input: &Path, bytes: &[u8], mut memory: Vec<u8>, expect: Option<Expect>, a: &RunArgs) -> Result<ExitCode, String> {
    let mut doc = json!({"engine": a.engine.name()});
    let decoded = Program::decode(bytes).map_err(|e| format!("{}: {e}", input.display()));
    let result: Result<u64, String> = if let Err(e) = &decoded {
        // An invalid program: what an error test expects.
        doc["error"] = json!(e);
        Err(e.clone())
    } else if a.engine.uses_jit() {
        if a.trace {
            return Err("--trace follows the interpreter step by step; it cannot trace JIT code (use --engine interp)".into());
        }
        // JIT code runs only what the verifier accepts, unless the caller says otherwise.
        let r = if a.unverified { conformance::execute_unverified(bytes, &memory, a.engine) } else { conformance::execute(bytes, &memory, a.engine) };
        if let Err(e) = &r {
            doc["error"] = json!(e);
        }
        r
    } else {
        let prog = decoded.as_ref().expect("decoded above");
        let mut vm = Interpreter::new(prog);
        let mut env = ConformanceEnv::default();
        let opts = RunOptions { budget: a.budget() };
        let mut tracer = PrintTrace::new(a.json);
        let r = if a.trace { vm.run_traced(&mut memory, &env.regions(), &mut env, &opts, &mut tracer) } else { vm.run(&mut memory, &env.regions(), &mut env, &opts) };
        if a.trace {
            doc["trace"] = Value::Array(tracer.lines);
        }
        match &r {
            Ok(o) => doc["insns_executed"] = json!(o.insns_executed),
            Err(e) => (doc["error"], doc["pc"]) = (json!(e.to_string()), json!(e.pc)),
        }
        r.map(|o| o.r0).map_err(|e| e.to_string())
    };
    if let Ok(r0) = &result {
        (doc["return_value"], doc["return_value_hex"]) = (json!(r0), json!(format!("0x{r0:x}")));
    }
    let verdict = expect.as_ref().map(|e| verdict(e, &result));
    if let (Some(e), Some((matched, _))) = (&expect, &verdict) {
        doc["expected"] = match e {
            Expect::Result(v) => json!({"result": v}),
            Expect::Error(text) => json!({"error": text}),
        };
        doc["matches"] = json!(matched);
    }
    let status = match (&result, &verdict) {
        (_, Some((false, _))) => ExitCode::FAILURE,
        (Err(_), None) => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(status);
    }
    match (&result, verdict) {
        (Ok(r0), v) => {
            println!("0x{r0:x}");
            if let Some((_, line)) = v {
                println!("{line}");
            }
            Ok(status)
        }
        (Err(e), Some((_, line))) => {
            println!("error: {e}");
            println!("{line}");
            Ok(status)
        }
        (Err(e), None) => Err(e.clone()),
    }
}

/// Every map's contents: name → [{key, value}] hex (a list per CPU for per-CPU maps).
fn dump_maps(loaded: &LoadedObject) -> Value {
    let mut out = serde_json::Map::new();
    for m in &loaded.maps {
        out.insert(m.map.name().into(), Value::Array(dump_map(&m.map)));
    }
    Value::Object(out)
}

fn dump_map(m: &Map) -> Vec<Value> {
    if m.ringbuf().is_some() {
        return Vec::new();
    }
    let mut v = vec![0u8; m.syscall_value_size()];
    let per = m.def().value_size.div_ceil(8) as usize * 8;
    m.keys()
        .into_iter()
        .filter_map(|k| {
            m.lookup(&k, &mut v).ok()?;
            let value = if m.is_percpu() {
                json!(v.chunks(per).map(|c| hex(&c[..m.def().value_size as usize])).collect::<Vec<_>>())
            } else {
                json!(hex(&v))
            };
            Some(json!({"key": hex(&k), "value": value}))
        })
        .collect()
}

fn context_for(t: ProgType, args: &ObjectArgs) -> Result<(Vec<u8>, PtRegs), String> {
    let mut regs = PtRegs::from_bytes(args.ctx.as_deref().unwrap_or(&[]));
    for r in args.regs {
        let (name, val) = r.split_once('=').ok_or_else(|| format!("--reg {r}: expected NAME=VALUE"))?;
        let v = rvbpf::conformance::parse_u64(val).ok_or_else(|| format!("--reg {r}: bad value"))?;
        if !regs.set(name, v) {
            return Err(format!("--reg {r}: no register {name} in struct pt_regs (have {})", PT_REGS_FIELDS.join(", ")));
        }
    }
    if t != ProgType::Kprobe && !args.regs.is_empty() {
        return Err(format!("--reg applies to kprobe programs, not {}", t.name()));
    }
    if t == ProgType::Kprobe && args.data.is_some() {
        return Err("--data and --data-hex give a packet or a record; a kprobe's context is struct pt_regs: give it with --reg NAME=VALUE or --ctx FILE".into());
    }
    if args.ctx.as_ref().is_some_and(|c| t == ProgType::Kprobe && c.len() > PtRegs::SIZE) {
        return Err(format!("--ctx: {} bytes, but struct pt_regs has {}", args.ctx.as_ref().map_or(0, |c| c.len()), PtRegs::SIZE));
    }
    let data = match t {
        ProgType::Xdp | ProgType::SocketFilter => args.data.clone().unwrap_or_default(),
        _ => args.ctx.clone().or_else(|| args.data.clone()).unwrap_or_default(),
    };
    Ok((data, regs))
}

/// What an object run needs besides the object.
struct ObjectArgs<'a> {
    program: Option<&'a str>,
    data: Option<Vec<u8>>,
    ctx: Option<Vec<u8>>,
    regs: &'a [String],
    repeat: u32,
    cpus: Option<u32>,
    json: bool,
    budget: u64,
    engine: Engine,
    trace: bool,
    all: bool,
}

/// What `run` says of a program of a type the runtime cannot run (the program-type
/// table's reason).
fn not_runnable(name: &str, t: ProgType) -> String {
    format!("{name} ({}): loadable and verifiable; not runnable here: {}", t.name(), t.info().not_runnable.unwrap_or("no context for it in `rvbpf run`"))
}

fn run_object(path: &Path, obj: &Object, args: &ObjectArgs) -> Result<ExitCode, String> {
    let name = choose_program(obj, args.program, path)?.name.clone();
    let kernel = Arc::new(HostKernel::new(false));
    let ncpus = args.cpus.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    let rt = Runtime::new(kernel.clone(), ncpus);
    let loaded = rt.load_object(obj).map_err(|e| format!("{}: {e}", path.display()))?;
    let prog = loaded.program(&name).ok_or_else(|| format!("program {name} is not loaded automatically (SEC(\"?...\"))"))?.clone();
    let (mut data, regs) = context_for(prog.prog_type, args)?;
    if prog.prog_type == ProgType::Syscall && args.data.is_none() && args.ctx.is_none() {
        eprintln!("rvbpf: note: a syscall program's context is memory its caller passes (bpf_attr's ctx_in, up to 65535 bytes): none given, so r1 is NULL and any context access fails; give it with --ctx FILE, --data FILE or --data-hex HEX");
    }
    let opts = RunConfig { budget: args.budget, engine: args.engine };
    let mut last = None;
    let mut insns = 0u64;
    // --trace: the checked interpreter, naming the object's maps and the helpers.
    let mut tracer = PrintTrace { maps: loaded.maps.iter().map(|m| (Arc::as_ptr(&m.map) as u64, m.map.name().to_string())).collect(), helpers: true, ..PrintTrace::new(args.json) };
    let mut run = |ctx: &mut Context| match args.trace {
        true => rt.run_checked(&prog, ctx, &opts, &mut tracer),
        false => rt.run(&prog, ctx, &opts),
    };
    // A long --repeat shows its progress on a terminal.
    let bar = (args.repeat >= 100_000).then(|| super::progress(args.repeat as u64));
    for k in 0..args.repeat.max(1) {
        if let (Some(b), 0) = (&bar, k % 1024) {
            b.set_position(k as u64);
        }
        let r = match prog.prog_type {
            ProgType::Kprobe | ProgType::PerfEvent => run(&mut Context::Kprobe(&regs)),
            ProgType::Tracepoint => run(&mut Context::Tracepoint(&data)),
            ProgType::Xdp => run(&mut Context::Xdp { packet: &mut data, ingress_ifindex: 1, rx_queue_index: 0 }),
            ProgType::SocketFilter => run(&mut Context::skb_from_ethernet(&data)),
            ProgType::Syscall => run(&mut Context::Raw(&mut data)),
            ProgType::RawTracepoint => return Err("raw_tracepoint programs take --ctx as u64 arguments; not supported by `run` yet".into()),
            // The types whose row says why the runtime cannot run them.
            _ => return Err(not_runnable(&name, prog.prog_type)),
        }
        .map_err(|e| e.to_string())?;
        insns += r.insns_executed;
        last = Some(r);
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let steps = std::mem::take(&mut tracer.lines);
    let r = last.expect("at least one run");
    let trace = kernel.take_trace();
    let mut records = serde_json::Map::new();
    for m in &loaded.maps {
        if let Some(rb) = m.map.ringbuf() {
            let mut v = Vec::new();
            rb.consume(|rec| v.push(json!(hex(rec))));
            records.insert(m.map.name().into(), Value::Array(v));
        }
    }
    let maps = dump_maps(&loaded);
    if args.json {
        let mut doc = json!({
            "program": name, "type": prog.prog_type.name(), "return_value": r.r0, "return_name": prog.prog_type.return_name(r.r0), "runs": args.repeat.max(1),
            "insns_executed": insns, "tail_calls": r.tail_calls, "trace": trace, "ringbuf": records, "maps": maps,
            "engine": args.engine.name(),
        });
        if args.trace {
            doc["steps"] = Value::Array(steps);
        }
        if args.engine.uses_jit() {
            // JIT code is not metered.
            doc["insns_executed"] = Value::Null;
        }
        if prog.prog_type == ProgType::Xdp {
            doc["packet"] = json!(hex(&data));
        }
        println!("{}", serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?);
        return Ok(ExitCode::SUCCESS);
    }
    for line in &trace {
        println!("trace: {line}");
    }
    for (name, recs) in &records {
        for rec in recs.as_array().into_iter().flatten() {
            println!("ringbuf {name}: {}", rec.as_str().unwrap_or(""));
        }
    }
    for (name, entries) in maps.as_object().into_iter().flatten() {
        // An array holds every index: its zero entries are left out unless --all.
        let array = loaded.map(name).is_some_and(|m| matches!(m.def().map_type, rvbpf::maps::map_type::ARRAY | rvbpf::maps::map_type::PERCPU_ARRAY));
        let zero = |v: &Value| match v {
            Value::String(s) => s.bytes().all(|b| b == b'0'),
            Value::Array(per_cpu) => per_cpu.iter().all(|c| c.as_str().is_some_and(|s| s.bytes().all(|b| b == b'0'))),
            _ => false,
        };
        let mut hidden = 0;
        for e in entries.as_array().into_iter().flatten() {
            if array && !args.all && zero(&e["value"]) {
                hidden += 1;
                continue;
            }
            let spec = obj.maps.iter().find(|m| &m.name == name);
            let key = e["key"].as_str().unwrap_or("");
            let key = match spec.and_then(|m| m.key_layout.as_ref()) {
                Some(l) => render(l, &unhex(key)),
                None => key.to_string(),
            };
            let value = match (spec.and_then(|m| m.value_layout.as_ref()), &e["value"]) {
                (Some(l), Value::String(h)) => render(l, &unhex(h)),
                (Some(l), Value::Array(per_cpu)) => {
                    let cpus: Vec<String> = per_cpu.iter().enumerate().map(|(c, h)| format!("cpu{c}: {}", render(l, &unhex(h.as_str().unwrap_or(""))))).collect();
                    format!("[{}]", cpus.join(", "))
                }
                (_, v) => v.to_string(),
            };
            println!("map {name}: {key} = {value}");
        }
        if hidden > 0 {
            println!("map {name}: {hidden} zero entr{} not shown (--all shows them)", if hidden == 1 { "y" } else { "ies" });
        }
    }
    if let (ProgType::Xdp, Some(input)) = (prog.prog_type, &args.data) {
        print!("{}", packet_diff(input, &data));
    }
    let work = if args.engine.uses_jit() { "JIT code".to_string() } else { format!("{insns} instructions") };
    let value = match prog.prog_type.return_name(r.r0) {
        Some(name) => format!("{name} ({})", r.r0 as i64),
        None => format!("{} ({:#x})", r.r0 as i64, r.r0),
    };
    println!("return value: {value}, {work} over {} run(s)", args.repeat.max(1));
    Ok(ExitCode::SUCCESS)
}

/// The XDP packet after the run against the one given, as a hexdump of the 16-byte rows
/// that changed (`-` before, `+` after), or one line when nothing changed.
fn packet_diff(before: &[u8], after: &[u8]) -> String {
    let changed = before.iter().zip(after).filter(|(a, b)| a != b).count() + before.len().abs_diff(after.len());
    if changed == 0 {
        return format!("packet: unchanged ({} bytes)\n", after.len());
    }
    let mut out = format!("packet: {changed} of {} bytes changed\n", after.len());
    let row = |b: &[u8], at: usize| b.get(at..(at + 16).min(b.len())).unwrap_or(&[]).iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ");
    for at in (0..before.len().max(after.len())).step_by(16) {
        let (a, b) = (row(before, at), row(after, at));
        if a != b {
            out.push_str(&format!("  -{at:04x}  {a}\n  +{at:04x}  {b}\n"));
        }
    }
    out
}

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len() / 2).filter_map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok()).collect()
}

/// Bytes as their BTF type shows them: struct fields by name, integers as numbers (in
/// the target's byte order, little-endian), enums by name, `char` arrays as strings,
/// other arrays element by element (the first 16), the rest as hex.
fn render(l: &Layout, b: &[u8]) -> String {
    let int = |size: u8, signed: bool| -> Option<i128> {
        let bytes = b.get(..size as usize)?;
        let mut w = [0u8; 8];
        w[..bytes.len()].copy_from_slice(bytes);
        let u = u64::from_le_bytes(w);
        let shift = 64 - 8 * size as u32;
        Some(if signed { ((u << shift) as i64 >> shift) as i128 } else { u as i128 })
    };
    match l {
        Layout::Int { size, bool: true, .. } => int(*size, false).map_or_else(|| super::hex(b), |v| (v != 0).to_string()),
        Layout::Int { size: 1, char: true, .. } => b.first().map_or_else(String::new, |&c| if c.is_ascii_graphic() || c == b' ' { format!("'{}'", c as char) } else { format!("{c}") }),
        Layout::Int { size, signed, .. } => int(*size, *signed).map_or_else(|| super::hex(b), |v| v.to_string()),
        Layout::Enum { size, values } => match int(*size, true) {
            Some(v) => values.iter().find(|(_, x)| *x as i128 == v || (*x as u64 as i128) == v).map_or_else(|| v.to_string(), |(n, _)| n.clone()),
            None => super::hex(b),
        },
        Layout::Array { elem, len, stride } if matches!(**elem, Layout::Int { size: 1, char: true, .. }) => {
            let s = &b[..(*len as usize * *stride as usize).min(b.len())];
            let text = &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())];
            match std::str::from_utf8(text) {
                Ok(t) if t.chars().all(|c| !c.is_control()) => format!("{t:?}"),
                _ => super::hex(s),
            }
        }
        Layout::Array { elem, len, stride } => {
            let shown: Vec<String> = (0..(*len).min(16) as usize).filter_map(|i| b.get(i * *stride as usize..(i + 1) * *stride as usize)).map(|e| render(elem, e)).collect();
            format!("[{}{}]", shown.join(", "), if *len > 16 { ", …" } else { "" })
        }
        Layout::Struct { fields, .. } => {
            let shown: Vec<String> = fields.iter().map(|(n, off, f)| format!("{n}: {}", b.get(*off as usize..).map_or_else(String::new, |rest| render(f, rest)))).collect();
            format!("{{{}}}", shown.join(", "))
        }
        Layout::Raw { size } => super::hex(&b[..(*size as usize).min(b.len())]),
    }
}
