//! Translation validation speed (`smt::validate`), side by side with JIT compilation of
//! the same program (the peer: what the check adds to load time): the examples
//! (examples/{checksum.data, parser.asm, memcpy.asm, alu_mix.asm}) and a slice of the
//! conformance suite. Criterion's throughput is BPF instructions per second; the target
//! is ≥ 1,000 (≤ 1 s per 1,000 instructions).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use rvbpf::conformance::{parse_data, ConformanceEnv};
use rvbpf::interp::resolve_lddw;
use rvbpf::isa::{asm, encode_all, Program};
use rvbpf::jit::rv64::emit::compile;
use rvbpf::jit::rv64::lower::Ext;
use rvbpf::smt::validate;

const PROGRAMS: [&str; 4] = ["checksum.data", "parser.asm", "memcpy.asm", "alu_mix.asm"];

fn program(name: &str) -> Program {
    let path = format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let src = if name.ends_with(".data") { parse_data(&text).asm.unwrap() } else { text };
    Program::decode(&encode_all(&asm::assemble(&src).unwrap())).unwrap()
}

/// Every 20th conformance program (about 90, every group), lddw resolved.
fn suite_slice() -> Vec<Program> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance");
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "data") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .iter()
        .step_by(20)
        .filter_map(|p| {
            let f = parse_data(&std::fs::read_to_string(p).ok()?);
            resolve_lddw(&Program::decode(&f.program_bytes().ok()?).ok()?, &mut ConformanceEnv::default()).ok()
        })
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
