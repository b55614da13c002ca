//! Interpreter speed: rvbpf's reference interpreter against rbpf's interpreter, side by
//! side on the same bytecode and memory. Programs: examples/{checksum.data, parser.asm,
//! memcpy.asm, alu_mix.asm}. Run: `cargo bench --bench interp`.

use criterion::{criterion_group, criterion_main, Criterion};

use rvbpf::conformance::parse_data;
use rvbpf::conformance::ConformanceEnv;
use rvbpf::interp::{Interpreter, RunOptions};
use rvbpf::isa::{asm, encode_all, Program};

fn program(name: &str) -> Vec<u8> {
    let path = format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let src = if name.ends_with(".data") { parse_data(&text).asm.unwrap() } else { text };
    // rbpf does not pass the memory length in r2, so both engines get it as a constant.
    let body = encode_all(&asm::assemble(&src).unwrap());
    let mut code = encode_all(&asm::assemble("mov %r2, 1024").unwrap());
    code.extend(body);
    code
}

fn bench(c: &mut Criterion) {
    let memory: Vec<u8> = (0..1024u32).map(|i| (i * 37 % 251) as u8).collect();
    for name in ["checksum.data", "parser.asm", "memcpy.asm", "alu_mix.asm"] {
        let code = program(name);
        let prog = Program::decode(&code).unwrap();
        let mut vm = Interpreter::new(&prog);
        let rb = rbpf::EbpfVmRaw::new(Some(&code)).unwrap();
        // Same answer from both, or the comparison means nothing.
        let mut m1 = memory.clone();
        let mut env = ConformanceEnv::default();
        let ours = vm.run(&mut m1, &env.regions(), &mut env, &RunOptions::default()).unwrap().r0;
        let mut m2 = memory.clone();
        assert_eq!(ours, rb.execute_program(&mut m2).unwrap(), "{name}: engines disagree");

        let mut g = c.benchmark_group(name.split('.').next().unwrap());
        g.bench_function("rvbpf-interp", |b| {
            let mut env = ConformanceEnv::default();
            let extra = env.regions();
            let mut m = memory.clone();
            b.iter(|| vm.run(&mut m, &extra, &mut env, &RunOptions::default()).unwrap().r0)
        });
        g.bench_function("rbpf-interp", |b| {
            let mut m = memory.clone();
            b.iter(|| rb.execute_program(&mut m).unwrap())
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
