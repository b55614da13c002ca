//! CO-RE relocation against the full vmlinux BTF: a generated 10,000-instruction kprobe
//! program of `bpf_core_read`s (offset and size relocated) of scalar and pointer members of the running kernel's
//! structs (compiled with clang-19 against `bpftool btf dump ... format c`), loaded
//! against /sys/kernel/btf/vmlinux.
//!
//! - `core/load_vmlinux`: rvbpf's loader in process: ELF parse, target BTF parse and
//!   index, every relocation, linking.
//! - `core/parse_vmlinux`: the target BTF parse and index alone (what every load pays).
//! - side by side, as processes that read vmlinux from disk, relocate and print the
//!   result: `rvbpf load --btf vmlinux` against libbpf 1.1 (`tests/core/libbpf_relo.c`,
//!   which stops before the kernel load; it needs root for libbpf's feature probes).
//!
//! Needs /sys/kernel/btf/vmlinux, bpftool and clang-19 (scripts/setup.sh); skipped with
//! a printed reason otherwise. Run: `cargo bench --bench core`.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use criterion::{criterion_group, criterion_main, Criterion};

use rvbpf::loader::btf::{kind, Btf};
use rvbpf::loader::co_re::{Target, KERNEL_BTF};
use rvbpf::loader::{self, CoreTarget, LoadOptions};

/// Reads in the program: about eight instructions and two relocations each.
const READS: usize = 920;

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `(struct, member)` pairs a `bpf_core_read` can read: named members, not bitfields, of
/// an integer (1 to 8 bytes) or pointer type, in structs whose name is unique.
fn fields(btf: &Btf) -> Vec<(String, String)> {
    let mut count = std::collections::HashMap::new();
    for id in btf.ids() {
        if btf.get(id).is_some_and(|t| t.kind == kind::STRUCT) {
            *count.entry(btf.name(id)).or_insert(0) += 1;
        }
    }
    let mut out = Vec::new();
    for id in btf.ids() {
        let Some(t) = btf.get(id).filter(|t| t.kind == kind::STRUCT && t.size_or_type > 0) else { continue };
        let name = btf.name(id);
        if name.is_empty() || count[name] != 1 {
            continue;
        }
        for m in btf.members(t) {
            let Ok(mt) = btf.skip_mods(m.type_id) else { continue };
            let readable = match btf.get(mt) {
                Some(t) if t.kind == kind::INT => matches!(t.size_or_type, 1 | 2 | 4 | 8),
                Some(t) => t.kind == kind::PTR,
                None => false,
            };
            if m.name_off != 0 && m.bitfield_size == 0 && readable {
                out.push((name.to_string(), btf.str(m.name_off).to_string()));
            }
        }
        if out.len() >= READS {
            break;
        }
    }
    out
}

/// Compiles the generated program; returns the object's path. clang's spills of so long
/// a function pass the 512-byte stack, so its limit is raised: the object is relocated,
/// never verified.
fn build(vmlinux: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("core-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let header = Command::new("bpftool").args(["btf", "dump", "file", KERNEL_BTF, "format", "c"]).output().expect("bpftool (scripts/setup.sh)");
    std::fs::write(dir.join("vmlinux.h"), header.stdout).unwrap();
    let target = Target::parse(vmlinux).unwrap();
    let mut c = String::from("#include \"vmlinux.h\"\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_core_read.h>\nchar LICENSE[] SEC(\"license\") = \"GPL\";\n");
    c.push_str("SEC(\"kprobe/core_bench\")\nint big(void *ctx)\n{\n\tvoid *p = ctx;\n\tlong v = 0, tmp = 0;\n");
    for (s, m) in fields(&target.btf) {
        writeln!(c, "\tbpf_core_read(&tmp, bpf_core_field_size(((struct {s} *)p)->{m}), &((struct {s} *)p)->{m});\n\tv += tmp;").unwrap();
    }
    c.push_str("\treturn v;\n}\n");
    let src = dir.join("big.bpf.c");
    std::fs::write(&src, c).unwrap();
    let obj = dir.join("big.o");
    run(Command::new("clang-19").args(["-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86", "-mllvm", "-bpf-stack-size=65536", "-c"]).arg(&src).arg("-o").arg(&obj).current_dir(&dir));
    obj
}

/// libbpf_relo (tests/core/libbpf_relo.c), or why it cannot be used.
fn libbpf_peer() -> Result<PathBuf, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("libbpf's side skipped: libbpf probes kernel features with bpf(), which needs root".into());
    }
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join("core-bench/libbpf_relo");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/core/libbpf_relo.c");
    run(Command::new("gcc").args(["-O2"]).arg(src).arg("-lbpf").arg("-o").arg(&exe));
    Ok(exe)
}

fn quiet(cmd: &mut Command) {
    let st = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
    assert!(st.success(), "{cmd:?}");
}

fn bench(c: &mut Criterion) {
    let Ok(vmlinux) = std::fs::read(KERNEL_BTF) else {
        println!("skipped: {KERNEL_BTF} cannot be read (a kernel without BTF)");
        return;
    };
    let obj_path = build(&vmlinux);
    let obj = std::fs::read(&obj_path).unwrap();
    let opts = LoadOptions { core_target: CoreTarget::Btf(&vmlinux), ..LoadOptions::default() };
    let loaded = loader::load_with(&obj, "big", &opts).unwrap();
    let types = Target::parse(&vmlinux).unwrap().btf.ids().count();
    println!("object: {} instructions, {} CO-RE relocations; vmlinux BTF: {} bytes, {types} types", loaded.programs[0].insns.len(), loaded.core.len(), vmlinux.len());
    let mut g = c.benchmark_group("core");
    g.bench_function("load_vmlinux", |b| b.iter(|| loader::load_with(&obj, "big", &opts).unwrap()));
    g.bench_function("parse_vmlinux", |b| b.iter(|| Target::parse(&vmlinux).unwrap()));
    let rvbpf = env!("CARGO_BIN_EXE_rvbpf");
    g.bench_function("process/rvbpf", |b| b.iter(|| quiet(Command::new(rvbpf).args(["load", "--btf", KERNEL_BTF]).arg(&obj_path))));
    match libbpf_peer() {
        Ok(exe) => {
            g.bench_function("process/libbpf", |b| b.iter(|| quiet(Command::new(&exe).arg(&obj_path).arg("big").arg(KERNEL_BTF))));
        }
        Err(why) => println!("{why}"),
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
