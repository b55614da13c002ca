//! Translation validation speed (`smt::validate`), side by side with JIT compilation of
//! the same program (the peer: what the check adds to load time): the examples
//! (examples/{checksum.data, parser.asm, memcpy.asm, alu_mix.asm}) and a slice of the
//! conformance suite. Criterion's throughput is BPF instructions per second; the target
//! is ≥ 1,000 (≤ 1 s per 1,000 instructions).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use rvbpf::conformance::ConformanceEnv;
use rvbpf::interp::resolve_lddw;
use rvbpf::isa::Program;
use rvbpf::jit::rv64::emit::compile;
use rvbpf::jit::rv64::lower::Ext;
use rvbpf::smt::validate;

#[path = "common.rs"]
mod common;
#[path = "../tests/common/suite.rs"]
mod suite;
use common::{program, PROGRAMS};

/// Every 20th conformance program (about 90, every group), lddw resolved.
fn suite_slice() -> Vec<Program> {
    suite::data_files()
        .iter()
        .step_by(20)
        .filter_map(|(_, f)| resolve_lddw(&Program::decode(&f.program_bytes().ok()?).ok()?, &mut ConformanceEnv::default()).ok())
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("validate");
    g.sample_size(10);
    let mut sets: Vec<(String, Vec<Program>)> = PROGRAMS.iter().map(|n| (n.to_string(), vec![program(n)])).collect();
    sets.push(("conformance-slice".into(), suite_slice()));
    for (name, progs) in &sets {
        let insns: usize = progs.iter().map(|p| p.insns().len()).sum();
        let images: Vec<_> = progs.iter().map(|p| compile(p, Ext::default()).unwrap()).collect();
        g.throughput(Throughput::Elements(insns as u64));
        g.bench_function(format!("{name}/check"), |b| b.iter(|| progs.iter().zip(&images).all(|(p, i)| validate(p, i).ok())));
        g.bench_function(format!("{name}/jit-compile"), |b| b.iter(|| progs.iter().map(|p| compile(p, Ext::default()).unwrap().code.len()).sum::<usize>()));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
