//! rvbpf against its peer, side by side in one process and one run: each round runs
//! every engine in turn (the order rotating from round to round) on the same bytecode
//! and memory, and the table gives each engine's median over the rounds and its ratio
//! to rbpf's interpreter. Programs: examples/{empty.asm, kprobe.asm, checksum.data,
//! parser.asm, memcpy.asm, alu_mix.asm}.
//!
//! Engines: rvbpf's interpreter in checked mode (every access checked: what unverified
//! programs and `--trace` get) and in verified mode (what the loader gives a program the
//! verifier accepted), rbpf 0.4's interpreter, and on riscv64 rvbpf's JIT and a plain
//! indirect call into a two-instruction native function (the floor a JIT entry is
//! measured against). Run: `cargo bench --bench versus` on the host;
//! `cargo bench --target riscv64gc-unknown-linux-gnu --no-default-features --features std,cli,jit --bench versus`
//! under qemu-riscv64. `ROUNDS=N` changes the number of rounds (15).

use std::hint::black_box;
use std::time::{Duration, Instant};

use rvbpf::conformance::{parse_data, ConformanceEnv};
use rvbpf::interp::{Interpreter, RunOptions};
use rvbpf::isa::{asm, encode_all, Program};

/// The programs, and whether each reads its memory's length from r2 (rbpf does not
/// pass it, so both engines get it as a leading `mov %r2, LEN`).
const PROGRAMS: [(&str, bool); 6] = [("empty.asm", false), ("kprobe.asm", false), ("checksum.data", true), ("parser.asm", true), ("memcpy.asm", true), ("alu_mix.asm", true)];

/// The memory every program runs on: 1 KiB of a fixed pattern (a kprobe reads its
/// pt_regs from the start of it).
const MEMORY: usize = 1024;

fn bytecode(name: &str, needs_len: bool) -> Vec<u8> {
    let path = format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let src = if name.ends_with(".data") { parse_data(&text).asm.unwrap() } else { text };
    let mut code = if needs_len { encode_all(&asm::assemble(&format!("mov %r2, {MEMORY}")).unwrap()) } else { Vec::new() };
    code.extend(encode_all(&asm::assemble(&src).unwrap()));
    code
}

/// One engine on one program: runs it once, returning r0.
struct Engine<'a> {
    name: &'static str,
    run: Box<dyn FnMut() -> u64 + 'a>,
}

/// Runs per timing, chosen so that one timing takes about `target`.
fn calibrate(run: &mut dyn FnMut() -> u64, target: Duration) -> u64 {
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            black_box(run());
        }
        let took = t.elapsed();
        if took >= target / 4 || n >= 1 << 30 {
            return ((n as f64) * target.as_secs_f64() / took.as_secs_f64().max(1e-9)).max(1.0) as u64;
        }
        n *= 4;
    }
}

/// Each engine's median ns per run over `rounds` alternating rounds.
fn measure(engines: &mut [Engine], rounds: usize) -> Vec<f64> {
    let iters: Vec<u64> = engines.iter_mut().map(|e| calibrate(&mut e.run, Duration::from_millis(20))).collect();
    let mut samples = vec![Vec::new(); engines.len()];
    for round in 0..rounds {
        for k in 0..engines.len() {
            let i = (k + round) % engines.len();
            let e = &mut engines[i];
            let t = Instant::now();
            for _ in 0..iters[i] {
                black_box((e.run)());
            }
            samples[i].push(t.elapsed().as_nanos() as f64 / iters[i] as f64);
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        })
        .collect()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this once, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(if quick { 1 } else { 15 });
    let pattern: Vec<u8> = (0..MEMORY as u32).map(|i| (i * 37 % 251) as u8).collect();
    let mut table: Vec<(String, Vec<(&'static str, f64)>)> = Vec::new();
    for (name, needs_len) in PROGRAMS {
        let code = bytecode(name, needs_len);
        let prog = Program::decode(&code).unwrap();
        let mut checked = Interpreter::new(&prog);
        // Verified mode comes from the verifier's analysis of the program, as the loader
        // gets it: r1 points to the memory, r2 holds its length.
        let analysis = rvbpf::conformance::verify(&prog, MEMORY).unwrap_or_else(|e| panic!("{name}: refused by the verifier: {e}"));
        let mut verified = Interpreter::verified(&prog, &analysis.proven(&prog));
        let rb = rbpf::EbpfVmRaw::new(Some(&code)).unwrap();
        let (mut m1, mut m2, mut m3) = (pattern.clone(), pattern.clone(), pattern.clone());
        let (mut env1, mut env2) = (ConformanceEnv::default(), ConformanceEnv::default());
        let (extra1, extra2) = (env1.regions(), env2.regions());
        let opts = RunOptions::default();
        let mut engines = vec![
            Engine { name: "rvbpf checked", run: Box::new(|| checked.run(&mut m1, &extra1, &mut env1, &opts).unwrap().r0) },
            Engine { name: "rvbpf verified", run: Box::new(|| verified.run(&mut m2, &extra2, &mut env2, &opts).unwrap().r0) },
            Engine { name: "rbpf", run: Box::new(|| rb.execute_program(&mut m3).unwrap()) },
        ];
        jit::add(&mut engines, &prog, &pattern);
        // Same answer from every engine, or the comparison means nothing.
        let answers: Vec<u64> = engines.iter_mut().filter(|e| e.name != FLOOR).map(|e| (e.run)()).collect();
        assert!(answers.windows(2).all(|w| w[0] == w[1]), "{name}: engines disagree: {answers:?}");
        let medians = measure(&mut engines, rounds);
        table.push((name.split('.').next().unwrap().into(), engines.iter().map(|e| e.name).zip(medians).collect()));
    }
    print_table(&table, rounds);
}

/// The engine that is not BPF: a call into a two-instruction native function.
const FLOOR: &str = "native call";

fn print_table(table: &[(String, Vec<(&'static str, f64)>)], rounds: usize) {
    let names: Vec<&str> = table[0].1.iter().map(|(n, _)| *n).collect();
    println!("ns per run, median of {rounds} alternating rounds; in brackets rbpf's time / the engine's (higher is faster)");
    println!("| program | {} |", names.join(" | "));
    println!("|---|{}", "---|".repeat(names.len()));
    for (prog, row) in table {
        let rbpf = row.iter().find(|(n, _)| *n == "rbpf").map(|r| r.1).unwrap();
        let cells: Vec<String> = row.iter().map(|(n, t)| if *n == "rbpf" { format!("{t:.1}") } else { format!("{t:.1} ({:.2}×)", rbpf / t) }).collect();
        println!("| {prog} | {} |", cells.join(" | "));
    }
    let time = |row: &[(&str, f64)], name: &str| row.iter().find(|(n, _)| *n == name).map(|r| r.1);
    for (prog, row) in table {
        if let (Some(jit), Some(checked), Some(verified), Some(floor)) = (time(row, "rvbpf JIT"), time(row, "rvbpf checked"), time(row, "rvbpf verified"), time(row, FLOOR)) {
            println!("{prog}: the JIT runs {:.1}× as fast as the checked interpreter, {:.1}× the verified one; it costs {:.1}× a native call", checked / jit, verified / jit, jit / floor);
        }
    }
}

#[cfg(target_arch = "riscv64")]
mod jit {
    use super::Engine;
    use rvbpf::conformance::ConformanceEnv;
    use rvbpf::interp::resolve_lddw;
    use rvbpf::isa::Program;
    use rvbpf::jit::rv64::exec::JitProgram;
    use rvbpf::jit::rv64::lower::Ext;
    use rvbpf::mem::{Region, Stack};

    /// rvbpf's JIT, run as the runtime runs it (on a stack kept from run to run), and the
    /// floor: an indirect call into `li a0, 0; ret`.
    pub fn add<'a>(engines: &mut Vec<Engine<'a>>, prog: &Program, pattern: &[u8]) {
        let prog = resolve_lddw(prog, &mut ConformanceEnv::default()).unwrap();
        let code = JitProgram::new(&prog, Ext::default()).unwrap();
        let (mut m, mut env, mut stack) = (pattern.to_vec(), ConformanceEnv::default(), Stack::new());
        let extra = env.regions();
        engines.push(Engine {
            name: "rvbpf JIT",
            run: Box::new(move || {
                let own = [Region::of_mut(&mut m)];
                code.run_on(&mut stack, own[0].start, own[0].len, [&own, &extra, &[], &[]], &mut env).unwrap().r0
            }),
        });
        let floor = Floor::new();
        engines.push(Engine { name: super::FLOOR, run: Box::new(move || floor.call()) });
    }

    /// A two-instruction native function (`li a0, 0; ret`) in executable memory, called
    /// through a pointer the compiler cannot see through.
    struct Floor {
        code: dynasmrt::ExecutableBuffer,
    }

    impl Floor {
        fn new() -> Floor {
            // li a0, 0 (addi a0, zero, 0); ret (jalr zero, 0(ra)).
            let words: [u32; 2] = [0x0000_0513, 0x0000_8067];
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            let mut buf = dynasmrt::mmap::MutableBuffer::new(bytes.len()).unwrap();
            buf.set_len(bytes.len());
            buf[..].copy_from_slice(&bytes);
            Floor { code: buf.make_exec().unwrap() }
        }

        fn call(&self) -> u64 {
            // SAFETY: the buffer holds the function above, which follows the C ABI.
            let f: extern "C" fn() -> u64 = unsafe { std::mem::transmute(std::hint::black_box(self.code.as_ptr())) };
            f()
        }
    }
}

#[cfg(not(target_arch = "riscv64"))]
mod jit {
    use super::Engine;
    use rvbpf::isa::Program;

    /// JIT code executes on riscv64 only.
    pub fn add(_: &mut Vec<Engine<'_>>, _: &Program, _: &[u8]) {}
}
