//! The `rvbpf` command-line tool: parses arguments and calls the library.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use rvbpf::conformance::{self, runner, Engine, Verdict};
use rvbpf::helpers::ConformanceEnv;
use rvbpf::interp::{Interpreter, RunOptions, Tracer, DEFAULT_BUDGET};
use rvbpf::isa::disasm::{disassemble, format_insn, Syntax};
use rvbpf::isa::{asm, encode_all, Insn, Program};

#[path = "cli/object.rs"]
mod object;
#[cfg(feature = "jit")]
#[path = "cli/jit.rs"]
mod jit;

#[derive(Parser)]
#[command(name = "rvbpf", version, about = "eBPF toolchain for RISC-V: assembler, disassembler, loader, reference interpreter, RV64 JIT, conformance suite")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum SyntaxArg {
    /// bpf_conformance / uBPF assembly (`add32 %r0, 1`)
    Conformance,
    /// llvm-objdump's C-like syntax (`w0 += 0x1`)
    Llvm,
}

#[derive(Subcommand)]
enum Cmd {
    /// Assemble bpf_conformance-syntax assembly into bytecode.
    Asm {
        /// Assembly source (`-` for stdin).
        input: PathBuf,
        /// Write raw bytecode here; without it, print the bytes as hex.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Disassemble bytecode (.bin raw bytes, hex text, or a .data test).
    Disasm {
        input: PathBuf,
        #[arg(long, value_enum, default_value = "conformance")]
        syntax: SyntaxArg,
        /// Prefix each instruction with its slot index.
        #[arg(short = 'n', long)]
        numbered: bool,
    },
    /// List an ELF object's programs, maps and relocations.
    Load {
        /// A clang-compiled BPF object (`clang -target bpf -g -c x.bpf.c`).
        input: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Run a program: a BPF ELF object's program, or a .data test, raw .bin, hex text or
    /// .asm source. Prints r0 (and, for objects, trace output, ring-buffer records, maps).
    Run {
        input: PathBuf,
        /// Object programs: which one (needed when the object has several).
        #[arg(long)]
        program: Option<String>,
        /// Object programs: packet (xdp, socket) or memory (syscall) from a file.
        #[arg(long, conflicts_with = "data_hex")]
        data: Option<PathBuf>,
        /// Object programs: packet or memory as hex bytes.
        #[arg(long)]
        data_hex: Option<String>,
        /// Object programs: the context from a file (kprobe: struct pt_regs bytes;
        /// tracepoint: the record; syscall: the memory).
        #[arg(long)]
        ctx: Option<PathBuf>,
        /// Object kprobe programs: set a pt_regs register, e.g. `--reg a0=3` (repeatable).
        #[arg(long = "reg")]
        regs: Vec<String>,
        /// Object programs: run this many times (maps keep their contents between runs).
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        /// Object programs: CPUs for per-CPU maps (default: this machine's).
        #[arg(long)]
        cpus: Option<u32>,
        /// Input memory as hex bytes (r1 points at it, r2 holds its length).
        #[arg(long, conflicts_with = "mem_file")]
        mem: Option<String>,
        /// Input memory from a file.
        #[arg(long)]
        mem_file: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "interp")]
        engine: Engine,
        /// Print each executed instruction with the registers it changed.
        #[arg(long)]
        trace: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Instruction budget.
        #[arg(long, default_value_t = DEFAULT_BUDGET)]
        budget: u64,
    },
    /// JIT-compile a program to RV64 on any host and print the code interleaved with the
    /// BPF instructions, plus size statistics.
    Jit {
        /// A BPF ELF object, or a .data test, raw .bin, hex text or .asm source.
        input: PathBuf,
        /// Object programs: which one (needed when the object has several).
        #[arg(long)]
        program: Option<String>,
        /// Use the Zba extension (add.uw).
        #[arg(long)]
        zba: bool,
        /// Use the Zbb extension (sext.b/h, zext.h, rev8).
        #[arg(long)]
        zbb: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Run .data conformance tests (files or directories, recursively).
    Conformance {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "interp")]
        engine: Engine,
        /// One JSON document instead of text lines.
        #[arg(long)]
        json: bool,
        /// Worker threads (default: one per core).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// bpf_conformance plugin: program as hex on stdin, memory as a hex argument, r0 in hex on stdout.
    Plugin {
        /// Input memory as hex text.
        memory: Option<String>,
        #[arg(long, value_enum, default_value = "interp")]
        engine: Engine,
    },
}

fn main() -> ExitCode {
    // A closed pipe (`rvbpf run --trace x | head`) ends the process quietly, as it does
    // for other Unix tools, instead of a panic in the next print.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    match dispatch(cli.cmd) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("rvbpf: error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cmd: Cmd) -> Result<ExitCode, String> {
    match cmd {
        Cmd::Asm { input, output } => cmd_asm(&input, output.as_deref()),
        Cmd::Disasm { input, syntax, numbered } => {
            let (bytes, _) = load_program(&input)?;
            let prog = Program::decode(&bytes).map_err(|e| format!("{}: {e}", input.display()))?;
            let syntax = match syntax {
                SyntaxArg::Conformance => Syntax::Conformance,
                SyntaxArg::Llvm => Syntax::Llvm,
            };
            print!("{}", disassemble(&prog, syntax, numbered));
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Load { input, json } => object::cmd_load(&input, json),
        Cmd::Run { input, program, data, data_hex, ctx, regs, repeat, cpus, mem, mem_file, engine, trace, json, budget } => {
            let head = if input.as_os_str() == "-" { Vec::new() } else { read_head(&input)? };
            if object::is_elf(&head) {
                if engine == Engine::Both {
                    return Err("--engine both compares the engines on raw programs and .data tests; object runs change maps, so run each engine on its own".into());
                }
                if trace || mem.is_some() || mem_file.is_some() {
                    return Err("--trace, --mem and --mem-file apply to raw programs; objects take --data, --data-hex and --ctx".into());
                }
                let data = match (data, data_hex) {
                    (Some(f), _) => Some(std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?),
                    (None, Some(h)) => Some(conformance::parse_hex(&h).map_err(|e| format!("--data-hex: {e}"))?),
                    (None, None) => None,
                };
                let ctx = ctx.map(|f| std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))).transpose()?;
                let args = object::RunArgs { program: program.as_deref(), data, ctx, regs: &regs, repeat, cpus, json, budget, engine };
                return object::cmd_run(&input, &args);
            }
            if program.is_some() || data.is_some() || data_hex.is_some() || ctx.is_some() || !regs.is_empty() || repeat != 1 || cpus.is_some() {
                return Err("--program, --data, --data-hex, --ctx, --reg, --repeat and --cpus apply to ELF objects".into());
            }
            cmd_run(&input, mem, mem_file, engine, trace, json, budget)
        }
        Cmd::Jit { input, program, zba, zbb, json } => cmd_jit(&input, program.as_deref(), zba, zbb, json),
        Cmd::Conformance { paths, engine, json, jobs } => {
            engine_check(engine)?;
            cmd_conformance(&paths, engine, json, jobs)
        }
        Cmd::Plugin { memory, engine } => {
            engine_check(engine)?;
            Ok(cmd_plugin(memory.as_deref(), engine))
        }
    }
}

/// Refuses an engine this build or host cannot execute, before any work.
fn engine_check(engine: Engine) -> Result<(), String> {
    #[cfg(feature = "jit")]
    if engine.uses_jit() {
        return rvbpf::jit::rv64::exec::host_check().map_err(|e| e.to_string());
    }
    #[cfg(not(feature = "jit"))]
    if engine.uses_jit() {
        return Err("this rvbpf was built without the `jit` feature".into());
    }
    Ok(())
}

#[cfg(feature = "jit")]
fn cmd_jit(input: &Path, program: Option<&str>, zba: bool, zbb: bool, json: bool) -> Result<ExitCode, String> {
    let ext = rvbpf::jit::rv64::lower::Ext { zba, zbb };
    jit::cmd_jit(input, program, ext, json, |p| load_program(p).map(|(b, _)| b))
}

#[cfg(not(feature = "jit"))]
fn cmd_jit(_: &Path, _: Option<&str>, _: bool, _: bool, _: bool) -> Result<ExitCode, String> {
    Err("this rvbpf was built without the `jit` feature".into())
}

/// The first bytes of a file (fewer for a short file).
fn read_head(path: &Path) -> Result<Vec<u8>, String> {
    let mut head = Vec::new();
    std::fs::File::open(path).and_then(|f| f.take(4).read_to_end(&mut head)).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(head)
}

fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map_err(|e| format!("stdin: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn cmd_asm(input: &Path, output: Option<&Path>) -> Result<ExitCode, String> {
    let text = String::from_utf8(read_input(input)?).map_err(|_| format!("{}: not UTF-8 text", input.display()))?;
    let insns = asm::assemble(&text).map_err(|e| format!("{}: {e}", input.display()))?;
    let bytes = encode_all(&insns);
    match output {
        Some(out) => std::fs::write(out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?,
        None => {
            for chunk in bytes.chunks(8) {
                println!("{}", chunk.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" "));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a program in any accepted form; a .data file also brings its memory.
fn load_program(path: &Path) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
    let bytes = read_input(path)?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let name = path.display();
    match ext {
        "data" => {
            let f = conformance::parse_data(&String::from_utf8_lossy(&bytes));
            let prog = f.program_bytes().map_err(|e| format!("{name}: {e}"))?;
            Ok((prog, Some(f.mem)))
        }
        "bin" => Ok((bytes, None)),
        "asm" | "s" => {
            let text = String::from_utf8(bytes).map_err(|_| format!("{name}: not UTF-8 text"))?;
            let insns = asm::assemble(&text).map_err(|e| format!("{name}: {e}"))?;
            Ok((encode_all(&insns), None))
        }
        _ => match std::str::from_utf8(&bytes) {
            Ok(text) if text.chars().all(|c| c.is_ascii_hexdigit() || c.is_whitespace() || c == 'x') => {
                Ok((conformance::parse_hex(text).map_err(|e| format!("{name}: {e}"))?, None))
            }
            _ => Ok((bytes, None)),
        },
    }
}

/// Prints each executed instruction with the registers it changed.
struct PrintTrace {
    lines: Vec<serde_json::Value>,
    json: bool,
}

impl Tracer for PrintTrace {
    const ENABLED: bool = true;
    fn step(&mut self, pc: usize, insn: &Insn, before: &[u64; 11], after: &[u64; 11]) {
        let changed: Vec<(usize, u64)> = (0..11).filter(|&i| before[i] != after[i]).map(|i| (i, after[i])).collect();
        let text = format_insn(insn, Syntax::Conformance);
        if self.json {
            let regs: serde_json::Map<String, serde_json::Value> =
                changed.iter().map(|(i, v)| (format!("r{i}"), json!(format!("0x{v:x}")))).collect();
            self.lines.push(json!({"pc": pc, "insn": text, "changed": regs}));
        } else {
            let regs: Vec<String> = changed.iter().map(|(i, v)| format!("r{i}=0x{v:x}")).collect();
            // A closed pipe (`| head`) ends the listing, not the program.
            let _ = writeln!(std::io::stdout().lock(), "{pc:>5}: {text:<32} {}", regs.join(" "));
        }
    }
}

fn cmd_run(
    input: &Path,
    mem: Option<String>,
    mem_file: Option<PathBuf>,
    engine: Engine,
    trace: bool,
    json: bool,
    budget: u64,
) -> Result<ExitCode, String> {
    let (bytes, data_mem) = load_program(input)?;
    let mut memory = match (mem, mem_file) {
        (Some(hex), _) => conformance::parse_hex(&hex).map_err(|e| format!("--mem: {e}"))?,
        (None, Some(f)) => std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?,
        (None, None) => data_mem.unwrap_or_default(),
    };
    let prog = Program::decode(&bytes).map_err(|e| format!("{}: {e}", input.display()))?;
    if engine.uses_jit() {
        return run_jit(&bytes, &memory, engine, trace, json);
    }
    let vm = Interpreter::new(&prog);
    let mut env = ConformanceEnv::default();
    let opts = RunOptions { budget, engine };
    let mut tracer = PrintTrace { lines: Vec::new(), json };
    let result = if trace {
        vm.run_traced(&mut memory, &[], &mut env, &opts, &mut tracer)
    } else {
        vm.run(&mut memory, &[], &mut env, &opts)
    };
    if json {
        let mut doc = match &result {
            Ok(o) => json!({"return_value": o.r0, "return_value_hex": format!("0x{:x}", o.r0), "insns_executed": o.insns_executed}),
            Err(e) => json!({"error": e.to_string(), "pc": e.pc}),
        };
        if trace {
            doc["trace"] = serde_json::Value::Array(tracer.lines);
        }
        doc["engine"] = json!(engine.name());
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
    match result {
        Ok(o) => {
            if !json {
                println!("0x{:x}", o.r0);
            }
            Ok(ExitCode::SUCCESS)
        }
        // The JSON document above already carries the error.
        Err(_) if json => Ok(ExitCode::FAILURE),
        Err(e) => Err(e.to_string()),
    }
}

/// `rvbpf run --engine jit|both` on a raw program, in the conformance environment.
fn run_jit(bytes: &[u8], memory: &[u8], engine: Engine, trace: bool, json: bool) -> Result<ExitCode, String> {
    if trace {
        return Err("--trace follows the interpreter step by step; it cannot trace JIT code (use --engine interp)".into());
    }
    let result = conformance::execute(bytes, memory, engine);
    if json {
        let mut doc = match &result {
            Ok(r0) => json!({"return_value": r0, "return_value_hex": format!("0x{r0:x}")}),
            Err(e) => json!({"error": e}),
        };
        doc["engine"] = json!(engine.name());
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(if result.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    let r0 = result?;
    println!("0x{r0:x}");
    Ok(ExitCode::SUCCESS)
}

fn cmd_conformance(paths: &[PathBuf], engine: Engine, json: bool, jobs: Option<usize>) -> Result<ExitCode, String> {
    if let Some(n) = jobs {
        if n == 0 {
            return Err("--jobs must be at least 1".into());
        }
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global().map_err(|e| e.to_string())?;
    }
    let files = runner::collect(paths)?;
    if files.is_empty() {
        return Err("no .data tests found".into());
    }
    let reports = runner::run(&files, engine);
    let summary = runner::summarize(&reports);
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
                Verdict::Pass => writeln!(out, "PASS {}", r.path.display()),
                Verdict::Fail(why) => writeln!(out, "FAIL {}: {why}", r.path.display()),
                Verdict::Skip(why) => writeln!(out, "SKIP {}: {why}", r.path.display()),
            };
        }
        let _ = writeln!(out, "{}", summary.line());
    }
    Ok(if summary.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// bpf_conformance's plugin protocol: errors are one line on stdout and exit status 1.
fn cmd_plugin(memory: Option<&str>, engine: Engine) -> ExitCode {
    let fail = |msg: String| {
        println!("{msg}");
        ExitCode::FAILURE
    };
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        return fail(format!("cannot read the program from stdin: {e}"));
    }
    let program = match conformance::parse_hex(&text) {
        Ok(p) => p,
        Err(e) => return fail(format!("program: {e}")),
    };
    let mem = match memory.map(conformance::parse_hex).transpose() {
        Ok(m) => m.unwrap_or_default(),
        Err(e) => return fail(format!("memory: {e}")),
    };
    match conformance::execute(&program, &mem, engine) {
        Ok(r0) => {
            println!("{r0:x}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
