//! The loader on real and damaged objects: listings match llvm-readelf's view, and
//! truncated or corrupted objects are refused with an error, never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rvbpf::loader::{self, LoadError, MapOrigin, RelocTarget};
use rvbpf::prog::ProgType;
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

/// Compiles C source `src` (written to the test's temporary directory as `name.bpf.c`).
fn compile_source(name: &str, src: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("loader-sources");
    std::fs::create_dir_all(&dir).unwrap();
    let (c, o) = (dir.join(format!("{name}.bpf.c")), dir.join(format!("{name}.o")));
    std::fs::write(&c, src).unwrap();
    let ok = Command::new("clang-19").args(["-O2", "-g", "-target", "bpf", "-mcpu=v3", "-I/usr/riscv64-linux-gnu/include", "-c"]).arg(&c).arg("-o").arg(&o).status().expect("clang-19 is installed by scripts/setup.sh");
    assert!(ok.success(), "clang-19 failed on {name}");
    std::fs::read(&o).unwrap()
}

const HEADER: &str = "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nchar LICENSE[] SEC(\"license\") = \"GPL\";\n";

/// The symbol-table entry of symbol `name`: its byte offset in the file.
fn symbol_entry(elf: &[u8], name: &str) -> usize {
    use object::{Object, ObjectSymbol};
    let file = object::File::parse(elf).unwrap();
    let sym = file.symbols().find(|s| s.name() == Ok(name)).unwrap_or_else(|| panic!("no symbol {name}"));
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    let (shoff, shentsize, shnum) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c));
    let symtab = (0..shnum).map(|i| shoff + i * shentsize).find(|&sh| u32::from_le_bytes(elf[sh + 4..sh + 8].try_into().unwrap()) == 2).expect("a symbol table");
    u64_at(symtab + 0x18) + sym.index().0 * 24
}

#[cfg_attr(target_arch = "riscv64", ignore = "host only: each compiles C with clang, and many concurrent spawns deadlock qemu-user's fork")]
#[test]
fn programs_are_found_as_libbpf_finds_them() {
    let src = format!(
        "{HEADER}SEC(\"xdp\") int first(struct xdp_md *c) {{ return XDP_PASS; }}\n\
         SEC(\"xdp\") int second(struct xdp_md *c) {{ return XDP_DROP; }}\n\
         SEC(\"xdp\") __attribute__((used)) static int hidden(struct xdp_md *c) {{ return XDP_TX; }}\n"
    );
    let obj = loader::load(&compile_source("several", &src), "several").unwrap();
    let mut names: Vec<(&str, &str)> = obj.programs.iter().map(|p| (p.name.as_str(), p.section.as_str())).collect();
    names.sort();
    assert_eq!(names, [("first", "xdp"), ("hidden", "xdp"), ("second", "xdp")], "several per section, the static one too");
}

#[cfg_attr(target_arch = "riscv64", ignore = "host only: each compiles C with clang, and many concurrent spawns deadlock qemu-user's fork")]
#[test]
fn sections_that_name_no_type_take_the_given_one() {
    let bytes = compile_source("named_test", &format!("{HEADER}SEC(\"test\") int prog(void *c) {{ return 0; }}\n"));
    let err = loader::load(&bytes, "t").unwrap_err().to_string();
    assert!(err.contains("section test") && err.contains("--type"), "{err}");
    let opts = loader::LoadOptions { prog_type: Some(ProgType::SocketFilter), ..Default::default() };
    let obj = loader::load_with(&bytes, "t", &opts).unwrap();
    assert_eq!((obj.programs[0].name.as_str(), obj.programs[0].prog_type()), ("prog", ProgType::SocketFilter));
    // A section that names a type keeps it.
    let xdp = compile_source("named_xdp", &format!("{HEADER}SEC(\"xdp\") int p(struct xdp_md *c) {{ return XDP_PASS; }}\n"));
    assert_eq!(loader::load_with(&xdp, "t", &opts).unwrap().programs[0].prog_type(), ProgType::Xdp);
}

#[cfg_attr(target_arch = "riscv64", ignore = "host only: each compiles C with clang, and many concurrent spawns deadlock qemu-user's fork")]
#[test]
fn a_text_only_object_has_its_global_functions_as_programs_of_the_given_type() {
    let src = format!("{HEADER}__attribute__((noinline)) static int twice(int x) {{ return x * 2; }}\nint entry(void *c) {{ return twice((int)(long)c); }}\nint other(void *c) {{ return 1; }}\n");
    let bytes = compile_source("text_only", &src);
    let err = loader::load(&bytes, "t").unwrap_err();
    assert!(matches!(&err, LoadError::NoPrograms(why) if why.contains(".text") && why.contains("--type")), "{err}");
    let obj = loader::load_with(&bytes, "t", &loader::LoadOptions { prog_type: Some(ProgType::SocketFilter), ..Default::default() }).unwrap();
    let mut names: Vec<&str> = obj.programs.iter().map(|p| p.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["entry", "other"], "global functions only; the static one is a subprogram");
    assert_eq!(obj.program("entry").unwrap().functions.len(), 2, "with its subprogram linked");
}

#[cfg_attr(target_arch = "riscv64", ignore = "host only: each compiles C with clang, and many concurrent spawns deadlock qemu-user's fork")]
#[test]
fn an_object_without_programs_is_refused_unless_allowed() {
    let src = format!("{HEADER}struct {{ __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u64); __uint(max_entries, 4); }} counts SEC(\".maps\");\n");
    let bytes = compile_source("maps_only", &src);
    let err = loader::load(&bytes, "t").unwrap_err().to_string();
    assert!(err.contains("no programs") && err.contains("--allow-empty"), "{err}");
    let obj = loader::load_with(&bytes, "t", &loader::LoadOptions { allow_empty: true, ..Default::default() }).unwrap();
    assert!(obj.programs.is_empty());
    assert_eq!(obj.maps[0].name, "counts");
}

/// Old clang emitted program symbols with no type and no size: such a program is the
/// section up to the next symbol, the same instructions as the function symbol gives.
#[cfg_attr(target_arch = "riscv64", ignore = "host only: each compiles C with clang, and many concurrent spawns deadlock qemu-user's fork")]
#[test]
fn untyped_program_symbols_of_old_clang() {
    let src = format!("{HEADER}SEC(\"xdp\") int prog(struct xdp_md *c) {{ return c->data_end - c->data > 10 ? XDP_PASS : XDP_DROP; }}\n");
    let bytes = compile_source("old_style", &src);
    let want = loader::load(&bytes, "t").unwrap().programs[0].insns.clone();
    let mut old = bytes.clone();
    let at = symbol_entry(&old, "prog");
    old[at + 4] &= 0xf0; // STT_FUNC -> STT_NOTYPE (0), binding kept
    old[at + 16..at + 24].copy_from_slice(&0u64.to_le_bytes());
    let obj = loader::load(&old, "t").unwrap();
    assert_eq!((obj.programs.len(), obj.programs[0].name.as_str()), (1, "prog"));
    assert_eq!(obj.programs[0].insns, want);
}

#[cfg_attr(target_arch = "riscv64", ignore = "host only: each compiles C with clang, and many concurrent spawns deadlock qemu-user's fork")]
#[test]
fn unused_sections_are_reported_with_the_reason() {
    let bytes = std::fs::read(compile("hello")).unwrap();
    let obj = loader::load(&bytes, "hello").unwrap();
    let reason = |name: &str| obj.skipped.iter().find(|s| s.section == name).map(|s| s.reason.clone());
    assert!(reason(".debug_info").is_some_and(|r| r.contains("DWARF")), "{:?}", obj.skipped);
    assert!(reason(".rel.debug_info").is_some_and(|r| r.contains("relocations of .debug_info")), "{:?}", obj.skipped);
    assert!(reason(".llvm_addrsig").is_some(), "{:?}", obj.skipped);
    assert_eq!(reason(".text").as_deref(), Some("empty code section"));
    for used in [".maps", ".BTF", "license"] {
        assert_eq!(reason(used), None, "{used} is used");
    }
    assert!(obj.skipped.iter().all(|s| !s.section.starts_with("kprobe")), "the program's section and its relocations are used");
    assert!(obj.warnings.is_empty());
    // A code section whose program symbol is gone: a warning, and the section listed.
    let mut bare = std::fs::read(compile("xdp_count")).unwrap();
    let name = loader::load(&bare, "x").unwrap().programs[0].name.clone();
    let at = symbol_entry(&bare, &name);
    bare[at + 4] = (bare[at + 4] & 0xf0) | 1; // STT_OBJECT
    let obj = loader::load_with(&bare, "x", &loader::LoadOptions { allow_empty: true, ..Default::default() }).unwrap();
    assert!(obj.programs.is_empty());
    assert!(obj.warnings.iter().any(|w| w.contains("section xdp") && w.contains("no program")), "{:?}", obj.warnings);
    assert!(obj.skipped.iter().any(|s| s.section == "xdp"), "{:?}", obj.skipped);
}

/// A legacy `maps` section of `defs` (each a list of u32 fields, all of one size) and an
/// XDP program that looks up the first map.
fn legacy_object(name: &str, fields: usize, defs: &[(&str, Vec<u32>)]) -> Vec<u8> {
    let mut src = format!("{HEADER}struct def {{ unsigned int f[{fields}]; }};\n");
    for (n, f) in defs {
        let init: Vec<String> = f.iter().map(|v| v.to_string()).collect();
        src += &format!("struct def {n} SEC(\"maps\") = {{ {{ {} }} }};\n", init.join(", "));
    }
    src += &format!("SEC(\"xdp\") int prog(struct xdp_md *c) {{ int k = 0; return bpf_map_lookup_elem(&{}, &k) ? XDP_PASS : XDP_DROP; }}\n", defs[0].0);
    compile_source(name, &src)
}

#[cfg_attr(target_arch = "riscv64", ignore = "host only: each compiles C with clang, and many concurrent spawns deadlock qemu-user's fork")]
#[test]
fn legacy_map_definitions_of_every_size() {
    // struct bpf_map_def as libbpf has it (20 bytes), with samples/bpf's inner_map_idx and
    // numa_node (28), shorter (zero-filled) and longer with a zero tail.
    for (fields, extra) in [(5, vec![]), (7, vec![0, 0]), (4, vec![]), (10, vec![0; 5])] {
        let mut a = [2, 4, 8, 16, 1][..fields.min(5)].to_vec();
        a.extend(&extra);
        let mut b = [1, 4, 4, 64, 0][..fields.min(5)].to_vec();
        b.extend(&extra);
        let obj = loader::load(&legacy_object(&format!("legacy{fields}"), fields, &[("a", a), ("b", b)]), "t").unwrap_or_else(|e| panic!("{fields} fields: {e}"));
        let defs: Vec<_> = obj.maps.iter().map(|m| (m.name.as_str(), m.def.map_type, m.def.key_size, m.def.value_size, m.def.max_entries, m.def.map_flags)).collect();
        let flags = if fields >= 5 { 1 } else { 0 };
        let max_b = if fields >= 4 { 64 } else { 0 };
        assert_eq!(defs, [("a", 2, 4, 8, 16, flags), ("b", 1, 4, 4, max_b, 0)], "{fields} fields");
        assert!(obj.maps.iter().all(|m| m.origin == MapOrigin::Legacy && m.pinning == loader::Pinning::None));
    }
    // A non-zero tail is an option rvbpf does not know: refused, the map named.
    let err = loader::load(&legacy_object("legacy_tail", 10, &[("a", vec![2, 4, 8, 16, 0, 0, 0, 0, 0, 9])]), "t").unwrap_err().to_string();
    assert!(err.contains("map a") && err.contains("non-zero bytes past the 28"), "{err}");
    // iproute2's struct bpf_elf_map (36 bytes): pinning recorded in its convention.
    let obj = loader::load(&legacy_object("elf_map", 9, &[("pinned", vec![1, 4, 8, 32, 0, 7, 2, 0, 0]), ("plain", vec![2, 4, 4, 1, 0, 0, 0, 0, 0])]), "t").unwrap();
    let pins: Vec<_> = obj.maps.iter().map(|m| (m.name.as_str(), m.def.max_entries, m.pinning)).collect();
    assert_eq!(pins, [("pinned", 32, loader::Pinning::GlobalNs), ("plain", 1, loader::Pinning::None)]);
    let err = loader::load(&legacy_object("elf_inner", 9, &[("outer", vec![12, 4, 4, 1, 0, 0, 0, 0, 1])]), "t").unwrap_err().to_string();
    assert!(err.contains("map outer") && err.contains("map-in-map"), "{err}");
    // Symbols without a size (old toolchains): the same definitions.
    let mut bytes = legacy_object("legacy_nosize", 5, &[("a", vec![2, 4, 8, 16, 0]), ("b", vec![1, 4, 4, 64, 0])]);
    let want = loader::load(&bytes, "t").unwrap().maps;
    for m in ["a", "b"] {
        let at = symbol_entry(&bytes, m);
        bytes[at + 16..at + 24].copy_from_slice(&0u64.to_le_bytes());
    }
    assert_eq!(loader::load(&bytes, "t").unwrap().maps, want);
}

#[cfg_attr(target_arch = "riscv64", ignore = "host only: each compiles C with clang, and many concurrent spawns deadlock qemu-user's fork")]
#[test]
fn btf_map_pinning_is_recorded() {
    let src = format!("{HEADER}struct {{ __uint(type, BPF_MAP_TYPE_HASH); __type(key, int); __type(value, int); __uint(max_entries, 8); __uint(pinning, LIBBPF_PIN_BY_NAME); }} shared SEC(\".maps\");\n\
                       SEC(\"xdp\") int prog(struct xdp_md *c) {{ int k = 0; return bpf_map_lookup_elem(&shared, &k) ? XDP_PASS : XDP_DROP; }}\n");
    let obj = loader::load(&compile_source("pinned", &src), "t").unwrap();
    assert_eq!(obj.maps[0].pinning, loader::Pinning::ByName);
}

/// Objects from old toolchains with `e_machine` 0 load, with a warning; any other
/// machine is refused.
#[cfg_attr(target_arch = "riscv64", ignore = "host only: each compiles C with clang, and many concurrent spawns deadlock qemu-user's fork")]
#[test]
fn e_machine_zero_loads_with_a_warning() {
    let mut bytes = std::fs::read(compile("xdp_count")).unwrap();
    bytes[0x12..0x14].copy_from_slice(&0u16.to_le_bytes());
    let obj = loader::load(&bytes, "x").unwrap();
    assert_eq!(obj.programs.len(), 1);
    assert!(obj.warnings.iter().any(|w| w.contains("e_machine is 0")), "{:?}", obj.warnings);
    bytes[0x12..0x14].copy_from_slice(&62u16.to_le_bytes());
    assert!(matches!(loader::load(&bytes, "x"), Err(LoadError::NotBpf(m)) if m.contains("e_machine is 62")));
}

/// Maps-in-maps and struct_ops maps the loader must refuse, each with the map or the
/// relocation named, and what it reads from good ones.
#[cfg_attr(target_arch = "riscv64", ignore = "host only: each compiles C with clang, and many concurrent spawns deadlock qemu-user's fork")]
#[test]
fn maps_in_maps_and_struct_ops_maps_are_read_or_refused_saying_where() {
    let refused = |_what: &str, bytes: Vec<u8>| loader::load(&bytes, "t").map(|_| ()).unwrap_err().to_string();
    // samples/bpf: the template by index; itself, or past the end, names none.
    let good = loader::load(&legacy_object("mim28", 7, &[("outer", vec![13, 4, 4, 8, 0, 1, 0]), ("tmpl", vec![2, 4, 8, 4, 0, 0, 0])]), "t").unwrap();
    assert_eq!(good.maps[0].inner, Some(good.maps[1].def));
    for idx in [0, 2] {
        let err = refused("self", legacy_object(&format!("mim28_{idx}"), 7, &[("outer", vec![13, 4, 4, 8, 0, idx, 0]), ("tmpl", vec![2, 4, 8, 4, 0, 0, 0])]));
        assert!(err.contains("map outer") && err.contains(&format!("inner_map_idx {idx} names no other definition")), "{err}");
    }
    // iproute2: the template by id, which must exist and not hold maps itself.
    let err = refused("noid", legacy_object("mim_noid", 9, &[("outer", vec![12, 4, 4, 1, 0, 0, 0, 5, 0]), ("x", vec![2, 4, 8, 1, 0, 6, 0, 0, 0])]));
    assert!(err.contains("map outer") && err.contains("inner map with id 5 not found"), "{err}");
    let err = refused("nested", legacy_object("mim_nested", 9, &[("outer", vec![12, 4, 4, 1, 0, 0, 0, 5, 0]), ("x", vec![12, 4, 4, 1, 0, 5, 0, 0, 0])]));
    assert!(err.contains("holds maps itself"), "{err}");
    // BTF: a map-in-map needs its inner definition.
    let src = format!("{HEADER}struct {{ __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); }} outer SEC(\".maps\");\nSEC(\"xdp\") int p(struct xdp_md *c) {{ int k = 0; return bpf_map_lookup_elem(&outer, &k) ? 1 : 2; }}\n");
    let err = refused("btf", compile_source("mim_btf", &src));
    assert!(err.contains("map outer") && err.contains("__array(values"), "{err}");
    // struct_ops: a member may name only a struct_ops program.
    let src = format!("{HEADER}struct ops {{ int (*f)(void *); }};\nSEC(\"xdp\") int not_ops(void *c) {{ return 1; }}\nSEC(\".struct_ops\") struct ops o = {{ .f = (void *)not_ops }};\n");
    let err = refused("ops", compile_source("bad_struct_ops", &src));
    assert!(err.contains(".rel.struct_ops") && err.contains("relocation at offset 0") && err.contains("not_ops is not a program of a struct_ops section"), "{err}");
    let src = format!("{HEADER}struct ops {{ int (*f)(void *); void (*g)(void *); }};\nSEC(\"struct_ops/f\") int f_impl(void *c) {{ return 1; }}\nSEC(\"struct_ops/g\") void g_impl(void *c) {{ }}\nSEC(\".struct_ops\") struct ops o = {{ .f = (void *)f_impl, .g = (void *)g_impl }};\n");
    let obj = loader::load(&compile_source("good_struct_ops", &src), "t").unwrap();
    let g = obj.program("g_impl").unwrap().struct_ops.clone().unwrap();
    assert_eq!((g.type_name.as_str(), g.member.as_str(), g.index, g.returns_void), ("ops", "g", 1, true));
    assert!(!obj.program("f_impl").unwrap().returns_void());
    assert_eq!(obj.maps.iter().find(|m| m.name == "o").unwrap().data.as_deref(), Some(&[0u8; 16][..]), "the program slots are zero");
}

/// A kprobe compiled for x86-64 (`-D__TARGET_ARCH_x86` with x86's headers) describes
/// `struct pt_regs` with x86's registers in its BTF: loading warns and names the flag;
/// the same source compiled for riscv64 loads without the warning.
#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "host only: compiles C with clang")]
fn a_kprobe_compiled_for_another_architecture_is_warned_about() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bpf/kprobe_args.bpf.c");
    let load = |arch: &str, include: &str| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("kprobe_args-{arch}.o"));
        let ok = Command::new("clang-19").args(["-O2", "-g", "-target", "bpf", &format!("-D__TARGET_ARCH_{arch}"), &format!("-I{include}"), "-c"]).arg(&src).arg("-o").arg(&out).status().unwrap();
        assert!(ok.success(), "clang-19 for {arch}");
        loader::load(&std::fs::read(&out).unwrap(), "kprobe_args").unwrap().warnings
    };
    if !Path::new("/usr/include/x86_64-linux-gnu/asm/ptrace.h").exists() {
        println!("SKIP a_kprobe_compiled_for_another_architecture_is_warned_about: x86-64's headers (libc6-dev, linux-libc-dev) are missing");
        return;
    }
    let x86 = load("x86", "/usr/include/x86_64-linux-gnu");
    assert!(
        x86.iter().any(|w| w.contains("struct pt_regs here is x86-64's (its first member is `r15`)") && w.contains("compile with -D__TARGET_ARCH_riscv")),
        "{x86:?}"
    );
    let rv = load("riscv", "/usr/riscv64-linux-gnu/include");
    assert!(!rv.iter().any(|w| w.contains("pt_regs")), "{rv:?}");
}
