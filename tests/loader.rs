//! The loader on real and damaged objects: listings match llvm-readelf's view, and
//! truncated or corrupted objects are refused with an error, never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

use rvbpf::loader::{self, LoadError, MapOrigin, RelocTarget};

fn compile(example: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(format!("{example}.bpf.c"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{example}.o"));
    let ok = Command::new("clang-19")
        .args(["-O2", "-g", "-target", "bpf", "-mcpu=v3", "-D__TARGET_ARCH_riscv", "-I/usr/riscv64-linux-gnu/include", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("clang-19 is installed by scripts/setup.sh");
    assert!(ok.success());
    out
}

#[test]
fn hello_world_object() {
    let obj = loader::load(&std::fs::read(compile("hello")).unwrap(), "hello").unwrap();
    assert_eq!(obj.license, "GPL");
    let names: Vec<_> = obj.maps.iter().map(|m| (m.name.as_str(), m.origin.clone())).collect();
    assert_eq!(names, [("calls", MapOrigin::Btf), ("events", MapOrigin::Btf), ("hello.rodata", MapOrigin::Data)]);
    let p = obj.program("hello").unwrap();
    assert_eq!(p.kind.attach.as_deref(), Some("do_sys_openat2"));
    // Every relocation is an lddw now in the kernel's pseudo form, pointing at its map.
    for r in &p.relocations {
        let insn = p.insns[r.slot];
        match r.target {
            RelocTarget::Map { map } => assert_eq!((insn.src, insn.imm as usize), (loader::PSEUDO_MAP_IDX, map)),
            RelocTarget::MapValue { map, offset } => {
                assert_eq!((insn.src, insn.imm as usize, p.insns[r.slot + 1].imm as u32), (loader::PSEUDO_MAP_IDX_VALUE, map, offset))
            }
            RelocTarget::Call { .. } => panic!("no calls in hello"),
        }
    }
    assert_eq!(p.relocations.len(), 4);
}

#[test]
fn tail_call_values_and_subprograms() {
    let obj = loader::load(&std::fs::read(compile("tailcall")).unwrap(), "tailcall").unwrap();
    let jump = &obj.maps[obj.map("jump").unwrap()];
    assert_eq!(jump.prog_values, [(1, "stage1".to_string()), (2, "stage2".to_string())]);
    let obj = loader::load(&std::fs::read(compile("globals")).unwrap(), "globals").unwrap();
    let p = obj.program("globals").unwrap();
    assert_eq!(p.functions.len(), 2, "the static subprogram is appended");
    let call = p.relocations.iter().find_map(|r| match r.target { RelocTarget::Call { slot } => Some(slot), _ => None });
    assert_eq!(call, Some(p.functions[1].1), "the call lands on the appended copy");
}

/// A tiny deterministic generator, so failures reproduce.
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *seed >> 33
}

#[test]
fn damaged_objects_are_refused_without_panicking() {
    let good = std::fs::read(compile("hello")).unwrap();
    let mut refused = 0;
    for len in (0..good.len()).step_by(3) {
        if loader::load(&good[..len], "t").is_err() {
            refused += 1;
        }
    }
    assert!(refused > good.len() / 4, "truncations must be refused");
    let mut seed = 7;
    for _ in 0..4000 {
        let mut bad = good.clone();
        for _ in 0..1 + lcg(&mut seed) % 4 {
            let at = (lcg(&mut seed) as usize) % bad.len();
            bad[at] = lcg(&mut seed) as u8;
        }
        let _ = loader::load(&bad, "t");
    }
    assert!(matches!(loader::load(b"\x7fELF", "t"), Err(LoadError::Elf(_))));
}
