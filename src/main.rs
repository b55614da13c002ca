//! The `rvbpf` command-line tool: parses arguments and dispatches to the commands in
//! src/cli/, which call the library.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use rvbpf::runtime::Engine;

#[derive(Parser)]
#[command(name = "rvbpf", version, about = "eBPF toolchain for RISC-V: assembler, disassembler, loader, reference interpreter, RV64 JIT, conformance suite")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    /// Objects: the program type of sections whose names name none (`test`, `2/1`,
    /// `socket1`), by its kernel name (`xdp`, `socket_filter`, `kprobe`, ...) or a section
    /// name (`socket`, `tc`); an object whose only code is .text then has its global
    /// functions as programs.
    #[arg(long = "type", global = true, value_name = "TYPE")]
    prog_type: Option<String>,
    /// Objects: load one that has no programs (its maps only) instead of refusing it.
    #[arg(long, global = true)]
    allow_empty: bool,
    /// Objects: the BTF that CO-RE relocations are applied against: a raw BTF file (as
    /// /sys/kernel/btf/vmlinux) or an ELF object with .BTF, or `local` for the object's
    /// own types. Without it, the running kernel's /sys/kernel/btf/vmlinux.
    #[arg(long, global = true, value_name = "FILE|local")]
    btf: Option<PathBuf>,
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
        /// Machine-readable output: each instruction's slot, bytes and text.
        #[arg(long)]
        json: bool,
    },
    /// Disassemble bytecode (.bin raw bytes, hex text, or a .data test).
    Disasm {
        /// A program (bytecode, hex, assembly or .data), or a BPF ELF object: each of its
        /// programs as the loader links them, with relocations and map names.
        input: PathBuf,
        /// Default: conformance for programs, llvm (llvm-objdump's) for objects.
        #[arg(long, value_enum)]
        syntax: Option<cli::disasm::SyntaxArg>,
        /// Prefix each instruction with its slot index (objects always show it).
        #[arg(short = 'n', long)]
        numbered: bool,
        /// Objects: only this program.
        #[arg(long)]
        program: Option<String>,
        /// Objects: interleave the C source lines of the object's BTF line info.
        #[arg(long)]
        source: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Programs: list every slot as it decodes on its own, marking the invalid ones
        /// (`.invalid` with the bytes and why), instead of refusing the program.
        #[arg(long)]
        raw: bool,
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
        /// Object programs: packet (xdp, socket) or memory (syscall) from a file. A packet is
        /// an Ethernet frame. An XDP program sees all of it. For a socket filter, Linux's test
        /// run strips the 14-byte Ethernet header: `skb->len` and `bpf_skb_load_bytes`
        /// offsets cover the IP packet, and `protocol` and `pkt_type` come from the header.
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
        /// Object programs: run this many times (maps keep their contents between runs; at least 1).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        repeat: u32,
        /// Object programs: print every array entry, the zero ones too (`--json` always has them).
        #[arg(long)]
        all: bool,
        /// Object programs: CPUs for per-CPU maps (default: this machine's; at least 1).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
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
        /// The interpreter's instruction budget (default 10,000,000; none with --timeout).
        /// JIT code is not metered, so `--engine jit` refuses it.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        budget: Option<u64>,
        /// Stop a run that has not ended after SECS seconds, on either engine (exit status 124).
        #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
        timeout: Option<u64>,
        /// Raw programs on the JIT: run even what the verifier refuses (JIT code checks
        /// nothing at run time; the interpreter always checks). Prints a warning.
        #[arg(long)]
        unverified: bool,
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
        /// Prove the image with z3 (translation validation): a verdict for the header's
        /// parts and every instruction, a counterexample for each failure.
        #[arg(long)]
        check: bool,
    },
    /// Verify a program: a BPF ELF object's programs (each by its program type, the
    /// object's maps created), or a .data test, raw .bin, hex text or .asm source in the
    /// conformance environment. Exit status 0 when every program is accepted, 1 when one
    /// is refused.
    Verify {
        input: PathBuf,
        /// Object programs: only this one.
        #[arg(long)]
        program: Option<String>,
        /// 0: the verdict; 1: a refusal's instruction and states, and the stats; 2: every
        /// instruction with its states.
        #[arg(long, default_value_t = 1)]
        log_level: u32,
        /// Machine-readable output: verdict, errno, instruction, message, log (and at
        /// level 2 each instruction's states).
        #[arg(long)]
        json: bool,
        /// Raw programs: the input memory as hex bytes (its length is what the verifier
        /// knows: r1 points to that many bytes; a .data test gives its own).
        #[arg(long, conflicts_with = "mem_file")]
        mem: Option<String>,
        /// Raw programs: the input memory from a file.
        #[arg(long)]
        mem_file: Option<PathBuf>,
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
        /// Print only the failures and the summary line.
        #[arg(long, conflicts_with = "json")]
        quiet: bool,
        /// Also write the results as JUnit XML (one test case per file), for CI systems.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Prove every RV64 lowering template with z3, for all register values and all
    /// immediates that select it (the per-shape proofs; proofs/README.md).
    Prove {
        /// Write the report (every obligation, its result, time and counterexample).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Only the obligations whose name contains this text (the coverage gate is then
        /// not checked).
        #[arg(long)]
        filter: Option<String>,
        /// Threads (default: one per core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Prove the verifier's abstract operators sound instead (proofs/README.md
        /// theorem 3).
        #[arg(long)]
        verifier: bool,
    },
    /// The verifier's soundness oracle: random programs, each accepted one run in the
    /// checked interpreter with exact regions and its states checked at every
    /// instruction; escapes printed reduced, with their seeds.
    Oracle {
        /// Programs to generate.
        #[arg(long, default_value_t = 10_000)]
        cases: u64,
        /// The first seed (case k uses seed + k).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Threads (default: one per core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Write the report (counts and every escape) as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// bpftool's `prog` and `map` commands on an in-process runtime, through rvbpf's
    /// bpf() command layer: one command per line of SCRIPT (default stdin), e.g.
    /// `prog load x.o`, `prog run name xdp_count data_in hex 01 02 ...`, `map dump name
    /// counts`, `map lookup id 3 key 0 0 0 0`, `map update name m key hex 01 00 00 00
    /// value hex 07 00 00 00 00 00 00 00 any`, `map delete ...`, `prog show`, `map show`.
    Bpftool {
        /// The script (`-` or nothing: stdin).
        #[arg(default_value = "-")]
        script: PathBuf,
        /// CPUs of the runtime (per-CPU values hold one value each; default 1).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        cpus: Option<u32>,
    },
    /// bpf_conformance plugin: program as hex on stdin, memory as a hex argument, r0 in hex on stdout.
    Plugin {
        /// Input memory as hex text.
        memory: Option<String>,
        #[arg(long, value_enum, default_value = "interp")]
        engine: Engine,
        /// Answer with one JSON document (`return_value`, or `error`) instead of the
        /// protocol's bare line.
        #[arg(long)]
        json: bool,
    },
}

impl Cmd {
    /// Whether the command prints JSON on stdout, where an error then goes too.
    fn json_out(&self) -> bool {
        match self {
            Cmd::Asm { json, .. } | Cmd::Disasm { json, .. } | Cmd::Load { json, .. } | Cmd::Run { json, .. } | Cmd::Jit { json, .. } | Cmd::Verify { json, .. } | Cmd::Conformance { json, .. } | Cmd::Plugin { json, .. } => *json,
            _ => false,
        }
    }
}

fn main() -> ExitCode {
    // A closed pipe (`rvbpf run --trace x | head`) ends the process quietly, as it does
    // for other Unix tools, instead of a panic in the next print.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    let json = cli.cmd.json_out();
    let opts = cli::input::set_load_options(cli.prog_type.as_deref(), cli.allow_empty, cli.btf.as_deref());
    match opts.and_then(|()| dispatch(cli.cmd)) {
        Ok(code) => code,
        Err(msg) => {
            if json {
                println!("{}", serde_json::json!({ "error": msg }));
            }
            eprintln!("rvbpf: error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cmd: Cmd) -> Result<ExitCode, String> {
    match cmd {
        Cmd::Asm { input, output, json } => cli::asm::cmd_asm(&input, output.as_deref(), json),
        Cmd::Disasm { input, syntax, numbered, program, source, json, raw } => cli::disasm::cmd_disasm(&input, &cli::disasm::DisasmArgs { syntax, numbered, program: program.as_deref(), source, json, raw }),
        Cmd::Load { input, json } => cli::load::cmd_load(&input, json),
        Cmd::Run { input, program, data, data_hex, ctx, regs, repeat, all, cpus, mem, mem_file, engine, trace, json, budget, timeout, unverified } => {
            let args = cli::run::RunArgs { program, data, data_hex, ctx, regs, repeat, all, cpus, mem, mem_file, engine, trace, json, budget, timeout, unverified };
            cli::run::cmd_run(&input, &args)
        }
        Cmd::Jit { input, program, zba, zbb, json, check } => cli::jit::cmd_jit(&input, program.as_deref(), cli::jit::JitOpts { zba, zbb, json, check }),
        Cmd::Verify { input, program, log_level, json, mem, mem_file } => {
            let mem = match (mem, mem_file) {
                (Some(h), _) => Some(rvbpf::conformance::parse_hex(&h).map_err(|e| format!("--mem: {e}"))?),
                (None, Some(f)) => Some(std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?),
                (None, None) => None,
            };
            cli::verify::cmd_verify(&input, program.as_deref(), log_level, json, mem)
        }
        Cmd::Conformance { paths, engine, json, jobs, quiet, junit } => cli::conformance::cmd_conformance(&paths, engine, json, jobs, quiet, junit.as_deref()),
        Cmd::Prove { json, filter, jobs, verifier: false } => cli::prove::cmd_prove(json.as_deref(), filter.as_deref(), jobs),
        Cmd::Prove { json, filter, jobs, verifier: true } => cli::prove::cmd_prove_operators(json.as_deref(), filter.as_deref(), jobs),
        Cmd::Oracle { cases, seed, jobs, json } => cli::oracle::cmd_oracle(cases, seed, jobs, json.as_deref()),
        Cmd::Bpftool { script, cpus } => cli::bpftool::cmd_bpftool(&script, cpus),
        Cmd::Plugin { memory, engine, json } => cli::plugin::cmd_plugin(memory.as_deref(), engine, json),
    }
}
