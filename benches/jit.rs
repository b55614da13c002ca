//! The JIT against the reference interpreter, side by side in one run on the same
//! bytecode and memory (examples/{checksum.data, parser.asm, memcpy.asm, alu_mix.asm});
//! JIT compile time (criterion's throughput is BPF instructions per second); the listing
//! `rvbpf jit` prints, at up to 10^6 instructions; and, printed
//! first, RV64 instructions emitted per BPF instruction by class, for these programs and
//! the whole conformance suite.
//!
//! JIT code executes on riscv64 only: run under qemu-riscv64 with
//! `cargo bench --target riscv64gc-unknown-linux-gnu --no-default-features --features std,cli,jit --bench jit`.
//! On other hosts the execution benchmarks are skipped (said on stderr) and compile time
//! and code size are measured.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use rvbpf::conformance::parse_data;
use rvbpf::conformance::ConformanceEnv;
use rvbpf::interp::{Interpreter, RunOptions};
use rvbpf::isa::Program;
use rvbpf::jit::rv64::emit::{compile, CLASS_NAMES as CLASSES};
use rvbpf::interp::resolve_lddw;
use rvbpf::jit::rv64::lower::Ext;

#[path = "common.rs"]
mod common;
use common::{program, PROGRAMS};

/// Adds each instruction's RV64 count to its class: (BPF instructions, RV64 instructions).
fn count(prog: &Program, ext: Ext, acc: &mut [(usize, usize); 8]) {
    let Ok(prog) = resolve_lddw(prog, &mut ConformanceEnv::default()) else { return };
    let Ok(img) = compile(&prog, ext) else { return };
    for (a, (b, r)) in acc.iter_mut().zip(img.per_class(&prog)) {
        a.0 += b;
        a.1 += r;
    }
}

fn print_sizes() {
    let mut suite: Vec<Program> = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/conformance"))];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.extension().is_some_and(|e| e == "data") {
            let f = parse_data(&std::fs::read_to_string(&p).unwrap());
            if let Some(prog) = f.program_bytes().ok().and_then(|b| Program::decode(&b).ok()) {
                suite.push(prog);
            }
        }
    }
    for ext in [Ext::default(), Ext { zba: true, zbb: true }] {
        let mut bench = [(0, 0); 8];
        let mut all = [(0, 0); 8];
        PROGRAMS.iter().for_each(|n| count(&program(n), ext, &mut bench));
        suite.iter().for_each(|p| count(p, ext, &mut all));
        eprintln!("RV64 instructions per BPF instruction ({}):", if ext.zba { "Zba+Zbb" } else { "base RV64IMA" });
        for (name, acc) in [("benchmark programs", bench), ("conformance suite", all)] {
            let (b, r) = acc.iter().fold((0, 0), |(x, y), (b, r)| (x + b, y + r));
            let per: Vec<String> = CLASSES.iter().zip(acc).filter(|(_, (b, _))| *b > 0).map(|(c, (b, r))| format!("{c} {:.2}", r as f64 / b as f64)).collect();
            eprintln!("  {name}: {:.2} overall ({b} BPF -> {r} RV64); {}", r as f64 / b as f64, per.join(", "));
        }
    }
}

/// `rvbpf jit`'s listing (every RV64 line found under its BPF instruction) at 10^4,
/// 10^5 and 10^6 instructions: the time per instruction (criterion's throughput) must
/// not grow with the size.
fn listing(c: &mut Criterion) {
    let mut g = c.benchmark_group("jit-listing");
    g.sample_size(10);
    for n in [10_000usize, 100_000, 1_000_000] {
        let src: String = (0..n / 3).map(|_| "mov %r0, 1\nadd %r0, %r1\njgt %r0, 5, +0\n").collect::<String>() + "exit\n";
        let prog = Program::new(rvbpf::isa::asm::assemble(&src).unwrap()).unwrap();
        let img = compile(&prog, Ext::default()).unwrap();
        g.throughput(Throughput::Elements(prog.insns().len() as u64));
        g.bench_function(format!("{n}"), |b| b.iter(|| img.listing_by_insn().insns.len()));
    }
    g.finish();
}

fn bench(c: &mut Criterion) {
    print_sizes();
    listing(c);
    let memory: Vec<u8> = (0..1024u32).map(|i| (i * 37 % 251) as u8).collect();
    for name in PROGRAMS {
        let prog = program(name);
        let group_name = name.split('.').next().unwrap();
        let mut g = c.benchmark_group(group_name);
        g.throughput(Throughput::Elements(prog.insns().len() as u64));
        g.bench_function("jit-compile", |b| b.iter(|| compile(&prog, Ext::default()).unwrap().code.len()));
        g.finish();
        run(c, group_name, &prog, &memory);
    }
}

#[cfg(target_arch = "riscv64")]
fn run(c: &mut Criterion, group: &str, prog: &Program, memory: &[u8]) {
    use rvbpf::mem::Region;
    use rvbpf::jit::rv64::exec::JitProgram;
    let mut vm = Interpreter::new(prog);
    let jit = JitProgram::new(prog, Ext::default()).unwrap();
    let jit_run = |m: &mut Vec<u8>, env: &mut ConformanceEnv| {
        let own = [Region::of_mut(m)];
        let env_regions = env.regions();
        jit.run_with(own[0].start, m.len() as u64, [&own, &env_regions, &[], &[]], env).unwrap().r0
    };
    // Same answer from both, or the comparison means nothing.
    let (mut m1, mut m2) = (memory.to_vec(), memory.to_vec());
    let mut env = ConformanceEnv::default();
    let want = vm.run(&mut m1, &env.regions(), &mut env, &RunOptions::default()).unwrap().r0;
    assert_eq!(want, jit_run(&mut m2, &mut ConformanceEnv::default()), "{group}: engines disagree");
    let mut g = c.benchmark_group(group);
    g.bench_function("rvbpf-interp", |b| {
        let mut env = ConformanceEnv::default();
        let extra = env.regions();
        let mut m = memory.to_vec();
        b.iter(|| vm.run(&mut m, &extra, &mut env, &RunOptions::default()).unwrap().r0)
    });
    g.bench_function("rvbpf-jit", |b| {
        let mut env = ConformanceEnv::default();
        let mut m = memory.to_vec();
        b.iter(|| jit_run(&mut m, &mut env))
    });
    g.finish();
}

#[cfg(not(target_arch = "riscv64"))]
fn run(_: &mut Criterion, group: &str, prog: &Program, memory: &[u8]) {
    let _ = (Interpreter::new(prog), memory, RunOptions::default());
    eprintln!("{group}: interpreter-vs-JIT run SKIPPED: JIT code executes on riscv64 only (see this file's header for the qemu command)");
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
