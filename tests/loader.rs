//! The loader on real and damaged objects: listings match llvm-readelf's view, and
//! truncated or corrupted objects are refused with an error, never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rvbpf::loader::{self, LoadError, MapOrigin, RelocTarget};
use rvbpf::runtime::{Runtime, StaticKernel, Task};

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

#[test]
fn loaded_programs_keep_the_loaders_function_names() {
    let obj = loader::load(&std::fs::read(compile("globals")).unwrap(), "globals").unwrap();
    let rt = Runtime::new(Arc::new(StaticKernel::new(Task::default())), 1);
    let loaded = rt.load_object(&obj).unwrap();
    let p = loaded.program("globals").unwrap();
    let names: Vec<(String, usize)> = p.program.functions().iter().map(|f| (f.name.clone(), f.slot)).collect();
    assert_eq!(names, obj.program("globals").unwrap().functions, "the entry and the static subprogram, by name");
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

/// Found by the loader fuzz target: a `.bss` whose header claims almost 4 GiB made the
/// loader allocate it. `.bss` now carries no bytes, and creating the map is refused.
#[test]
fn forged_bss_size_allocates_nothing() {
    let mut bytes = std::fs::read(compile("globals")).unwrap();
    set_section_size(&mut bytes, ".bss", 0xffff_fff8);
    let obj = loader::load(&bytes, "globals").expect("the object parses");
    let bss = obj.maps.iter().find(|m| m.section == ".bss").expect("a .bss map");
    assert!(bss.data.is_none(), "no bytes are materialised for .bss");
    assert_eq!(bss.def.value_size, 0xffff_fff8);
    let rt = rvbpf::runtime::Runtime::new(std::sync::Arc::new(rvbpf::runtime::StaticKernel::new(Default::default())), 1);
    let err = rt.load_object(&obj).err().expect("a map this large is refused");
    assert!(err.to_string().contains("globals.bss"), "{err}");
}

/// Rewrites `sh_size` of section `name` in a little-endian ELF64 object.
fn set_section_size(elf: &mut [u8], name: &str, size: u64) {
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    let (shoff, shentsize, shnum, shstrndx) = (u64_at(elf, 0x28), u16_at(elf, 0x3a), u16_at(elf, 0x3c), u16_at(elf, 0x3e));
    let strtab = u64_at(elf, shoff + shstrndx * shentsize + 0x18);
    for i in 0..shnum {
        let sh = shoff + i * shentsize;
        let n = strtab + u32::from_le_bytes(elf[sh..sh + 4].try_into().unwrap()) as usize;
        let end = n + elf[n..].iter().position(|&c| c == 0).unwrap();
        if &elf[n..end] == name.as_bytes() {
            elf[sh + 0x20..sh + 0x28].copy_from_slice(&size.to_le_bytes());
            return;
        }
    }
    panic!("no section {name}");
}
