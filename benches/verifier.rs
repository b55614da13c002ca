//! Verification time: rvbpf's verifier against the Linux kernel's on the same programs,
//! measured side by side: the BPF C fixtures (tests/bpf, clang-19 -O2 -mcpu=v3) and the
//! largest conformance programs the kernel accepts. For the table, 21 rounds per
//! program, each timing rvbpf (the fastest of 3 verifications) and then the kernel (the
//! fastest of 3 loads, by its own `verification time`: log level 4, `BPF_LOG_STATS`);
//! the ratio is the median of the rounds' ratios, the times the medians of each side;
//! and each side's instructions processed. Then criterion times rvbpf alone on each
//! fixture program. Needs
//! root for the kernel's side (skipped with a printed reason otherwise).
//! Run: `cargo bench --bench verifier`.

#[path = "../tests/common/linux.rs"]
mod linux;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};

use rvbpf::conformance::parse_data;
use rvbpf::isa::{asm, encode_all, Program};
use rvbpf::loader::Object;
use rvbpf::maps::Map;
use rvbpf::prog::ProgType;
use rvbpf::runtime::{fd_array, HostKernel, Runtime};
use rvbpf::verifier::{verify, NoLog, ProgramInfo};

/// One program to verify: its name, type, bytes (as the kernel gets them), and how
/// rvbpf verifies it.
struct Case {
    name: String,
    prog_type: ProgType,
    bytes: Vec<u8>,
    /// The object's maps (rvbpf's, and the bytes' map indexes into them).
    maps: Vec<Arc<Map>>,
    /// A conformance program: verified in the conformance environment with this memory.
    raw_mem: Option<usize>,
    program: Program,
}

fn fixtures() -> Vec<Case> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/bench-fixtures");
    std::fs::create_dir_all(&out).unwrap();
    let rt = Runtime::new(Arc::new(HostKernel::new(false)), 1);
    let mut cases = Vec::new();
    let mut srcs: Vec<PathBuf> = std::fs::read_dir(root.join("tests/bpf")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.to_string_lossy().ends_with(".bpf.c") && !p.file_name().unwrap().to_string_lossy().starts_with("bad_")).collect();
    srcs.sort();
    for src in srcs {
        let stem = src.file_name().unwrap().to_string_lossy().trim_end_matches(".bpf.c").to_string();
        let obj_path = out.join(format!("{stem}.o"));
        let ok = Command::new("clang-19")
            .args(["-O2", "-g", "-target", "bpf", "-mcpu=v3", "-D__TARGET_ARCH_riscv", "-I/usr/riscv64-linux-gnu/include", "-c"])
            .arg(&src)
            .arg("-o")
            .arg(&obj_path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            continue;
        }
        let obj: Object = rvbpf::loader::load(&std::fs::read(&obj_path).unwrap(), &stem).unwrap();
        let maps: Vec<Arc<Map>> = rt.create_object_maps(&obj).unwrap().into_iter().map(|m| m.map).collect();
        for p in &obj.programs {
            let program = Program::from_raw(&p.insns).unwrap().with_names(&p.functions).unwrap();
            cases.push(Case { name: format!("{stem}/{}", p.name), prog_type: p.prog_type(), bytes: p.bytes(), maps: maps.clone(), raw_mem: None, program });
        }
    }
    cases
}

/// The largest conformance programs (by instructions) without helpers or rvbpf's
/// environment, as syscall programs for the kernel.
fn conformance_programs(n: usize) -> Vec<Case> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance");
    let mut all = Vec::new();
    for group in ["base64", "base32", "divmul64", "atomic64"] {
        for e in std::fs::read_dir(root.join(group)).unwrap() {
            let p = e.unwrap().path();
            let f = parse_data(&std::fs::read_to_string(&p).unwrap());
            let (Some(src), Some(_)) = (&f.asm, f.result) else { continue };
            let Ok(insns) = asm::assemble(src) else { continue };
            if insns.iter().any(|i| matches!(i, rvbpf::isa::Insn::Call { .. } | rvbpf::isa::Insn::Callx { .. } | rvbpf::isa::Insn::LdImm64 { kind: rvbpf::isa::LdKind::MapFd | rvbpf::isa::LdKind::MapIdx | rvbpf::isa::LdKind::MapValueFd | rvbpf::isa::LdKind::MapValueIdx | rvbpf::isa::LdKind::VarAddr | rvbpf::isa::LdKind::CodeAddr, .. })) || !f.mem.is_empty() {
                continue;
            }
            let program = Program::new(insns.clone()).unwrap();
            if rvbpf::conformance::verify(&program, 0).is_err() {
                continue;
            }
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            all.push(Case { name: format!("conformance/{name}"), prog_type: ProgType::Syscall, bytes: encode_all(&insns), maps: Vec::new(), raw_mem: Some(0), program });
        }
    }
    all.sort_by_key(|c| std::cmp::Reverse(c.program.slot_count()));
    all.truncate(n);
    all
}

/// rvbpf's verification of one case: the instructions processed.
fn ours(c: &Case) -> usize {
    if let Some(m) = c.raw_mem {
        return rvbpf::conformance::verify(&c.program, m).map(|a| a.steps).expect("accepted");
    }
    let resolve = fd_array(&c.maps);
    let helpers = |id| rvbpf::helpers::linux(id).map(|h| (h.proto, h.types));
    let mut log = NoLog;
    let mut info = ProgramInfo { prog_type: c.prog_type, attach: None, ctx: c.prog_type.ctx(), helpers: &helpers, gpl: true, maps: &resolve, log: &mut log, returns_void: false, log_level: 0, clock: None };
    verify(&c.program, &mut info).map(|v| v.processed).unwrap_or_else(|e| panic!("{}: {e}", c.name))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The kernel's own verification time (µs), the fastest of 3 loads as for rvbpf, and its
/// instructions processed, if it loads the program.
fn kernel_once(c: &Case, fds: &[i32]) -> Option<(f64, usize)> {
    let flags = if c.prog_type == ProgType::Syscall { 1 << 4 } else { 0 };
    let mut best = (f64::MAX, 0);
    for _ in 0..3 {
        let (fd, log) = linux::prog_load_logged(c.prog_type as u32, &c.bytes, fds, flags, 4).ok()?;
        linux::close(fd);
        let field = |key: &str| log.lines().find_map(|l| l.strip_prefix(key).and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse::<usize>().ok()));
        best = (best.0.min(field("verification time ")? as f64), field("processed ")?);
    }
    Some(best)
}

/// rvbpf's time for one verification (µs): the fastest of 3, so that one preemption does
/// not count.
fn ours_once(c: &Case) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(ours(c));
            t.elapsed().as_secs_f64() * 1e6
        })
        .fold(f64::MAX, f64::min)
}

/// Rounds per program; each round times both sides back to back, so that a slow
/// moment of the machine slows both.
const ROUNDS: usize = 21;

fn bench(cr: &mut Criterion) {
    let mut cases = fixtures();
    cases.extend(conformance_programs(5));
    let kernel_ok = linux::unavailable();
    if let Some(why) = &kernel_ok {
        println!("kernel side SKIPPED: {why}");
    }
    println!("{:<40} {:>10} {:>10} {:>7} {:>10} {:>10}", "program", "rvbpf µs", "kernel µs", "ratio", "rvbpf ins", "kernel ins");
    let mut ratios = Vec::new();
    for c in &cases {
        let processed = ours(c);
        // The kernel's maps, created like the object's (fd_array order).
        let fds: Vec<i32> = if kernel_ok.is_none() {
            c.maps.iter().map(|m| {
                let d = m.def();
                linux::map_create("b", d.map_type, d.key_size, d.value_size, d.max_entries, d.map_flags).unwrap()
            }).collect()
        } else {
            Vec::new()
        };
        let (mut mine, mut theirs, mut round_ratios, mut kernel_processed) = (Vec::new(), Vec::new(), Vec::new(), None);
        for _ in 0..ROUNDS {
            let m = ours_once(c);
            mine.push(m);
            if kernel_ok.is_none() {
                if let Some((t, n)) = kernel_once(c, &fds) {
                    theirs.push(t);
                    round_ratios.push(m / t.max(1.0));
                    kernel_processed = Some(n);
                }
            }
        }
        fds.iter().for_each(|&fd| linux::close(fd));
        let mine = median(mine);
        match kernel_processed {
            Some(n) => {
                let r = median(round_ratios);
                ratios.push(r);
                println!("{:<40} {:>10.1} {:>10.1} {:>7.2} {:>10} {:>10}", c.name, mine, median(theirs), r, processed, n);
            }
            None => println!("{:<40} {:>10.1} {:>10} {:>7} {:>10} {:>10}", c.name, mine, "-", "-", processed, "-"),
        }
    }
    if !ratios.is_empty() {
        println!("median ratio rvbpf / kernel: {:.2} over {} programs (max {:.2})", median(ratios.clone()), ratios.len(), ratios.iter().cloned().fold(0.0, f64::max));
    }
    let mut g = cr.benchmark_group("verify");
    for c in cases.iter().filter(|c| c.raw_mem.is_none()) {
        g.bench_function(c.name.replace('/', "-"), |b| b.iter(|| ours(c)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
