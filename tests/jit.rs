//! The RV64 JIT's emitted bytes, decoded by an independent disassembler: every
//! conformance program that decodes (all compile except the few whose pseudo lddw need
//! their environment first) is listed from rvbpf's own `RvInsn`s and must
//! match, line for line, what `llvm-objdump-19 -d -M no-aliases` prints for the bytes
//! (with and without Zba/Zbb). Skipped with a printed reason where llvm-objdump-19 or
//! the riscv64 objcopy is missing.
#![cfg(feature = "jit")]

use std::path::PathBuf;

use rvbpf::isa::Program;
use rvbpf::jit::rv64::emit::{compile, Image};
use rvbpf::jit::rv64::error::JitError;
use rvbpf::jit::rv64::lower::{Ext, LowerError};

#[path = "common/suite.rs"]
mod suite;
#[path = "common/objdump.rs"]
mod objdump;
use objdump::{objdump, tools_missing};

/// The conformance programs that decode.
fn programs() -> Vec<(PathBuf, Program)> {
    suite::data_files().into_iter().filter_map(|(p, f)| Some((p, Program::decode(&f.program_bytes().ok()?).ok()?))).collect()
}

#[test]
fn listing_matches_llvm_objdump() {
    if let Some(why) = tools_missing() {
        println!("SKIPPED: {why}");
        return;
    }
    let progs = programs();
    for ext in [Ext::default(), Ext { zba: true, zbb: true }] {
        // All images in one blob (one objdump run), each at its own base.
        let mut blob = Vec::new();
        let mut expect = Vec::new();
        let mut compiled = 0;
        for (path, prog) in &progs {
            let img: Image = match compile(prog, ext) {
                Ok(img) => img,
                // Pseudo lddw are resolved by the environment before compilation.
                Err(JitError::Lower(LowerError::Unresolved { .. })) => continue,
                Err(e) => panic!("{}: {e}", path.display()),
            };
            compiled += 1;
            let base = blob.len();
            for line in img.listing() {
                // Targets are image offsets: rebase the ones that are addresses.
                let text = rebase(&line.text, base);
                expect.push((base + line.offset, text, path.clone()));
            }
            blob.extend_from_slice(&img.code);
        }
        assert!(compiled > 800, "only {compiled} programs compiled");
        let got = objdump(&blob, ext);
        assert_eq!(got.len(), expect.len(), "llvm-objdump decoded a different number of instructions");
        for ((off, text), (eoff, etext, path)) in got.iter().zip(&expect) {
            assert_eq!((off, text), (eoff, etext), "{} ({:?})", path.display(), ext);
        }
        println!("{compiled} programs, {} instructions: rvbpf's listing = llvm-objdump's ({ext:?})", expect.len());
    }
}

/// Adds `base` to the absolute target of a branch or jal.
fn rebase(text: &str, base: usize) -> String {
    let mnemonic = text.split(' ').next().unwrap();
    if !(mnemonic.starts_with('b') || mnemonic == "jal") {
        return text.to_string();
    }
    let (head, target) = text.rsplit_once(", ").unwrap();
    let t = usize::from_str_radix(target.trim_start_matches("0x"), 16).unwrap();
    format!("{head}, {:#x}", t + base)
}

/// Branch reach at its boundaries: conditional jumps over ~4 KiB and ~1 MiB of code, both
/// directions, and `gotol` past 1 MiB, take the near, mid and far forms, and the bytes
/// still decode to rvbpf's listing.
#[test]
fn branch_reach_forms_match_llvm_objdump() {
    use rvbpf::isa::{EndKind, EndWidth, Insn, JmpCond, Reg, Source, Width};
    if let Some(why) = tools_missing() {
        println!("SKIPPED: {why}");
        return;
    }
    // A filler of 32 RV64 instructions (128 bytes) without Zbb: a 64-bit byte swap.
    let filler = Insn::End { kind: EndKind::Be, bits: EndWidth::B64, dst: Reg::R0 };
    let jeq = |off: i16| Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: Reg::R1, src: Source::Imm(0), off };
    let mov0 = Insn::Alu { width: Width::W64, op: rvbpf::isa::AluOp::Mov, dst: Reg::R0, src: Source::Imm(0) };
    let forward = |n: usize, jump: Insn| [vec![jump], vec![filler; n], vec![Insn::Exit]].concat();
    let backward = |n: usize| [vec![mov0], vec![filler; n], vec![jeq(-(n as i16 + 2)), Insn::Exit]].concat();
    let cases: Vec<(&str, Vec<Insn>, &str)> = vec![
        ("near forward", forward(15, jeq(15)), "beq a0, zero,"),
        ("mid forward", forward(40, jeq(40)), "bne a0, zero, | jal zero,"),
        ("mid backward", backward(40), "bne a0, zero, | jal zero,"),
        ("far forward", forward(9000, jeq(9000)), "bne a0, zero, | auipc t1,"),
        ("far backward", backward(9000), "bne a0, zero, | auipc t1,"),
        ("gotol far", forward(9000, Insn::Gotol { imm: 9000 }), "auipc t1,"),
    ];
    for (what, insns, form) in cases {
        let prog = Program::new(insns).unwrap();
        let img = compile(&prog, Ext::default()).unwrap();
        let listing = img.listing();
        // The first code of the BPF jump: the first insn for forward cases, the one
        // before exit for backward ones.
        let jump_pc = prog.iter().find(|(_, i)| matches!(i, Insn::Jmp { .. } | Insn::Gotol { .. })).unwrap().0;
        let start = img.pc_offset(jump_pc).unwrap();
        let at = listing.iter().position(|l| l.offset == start).unwrap();
        let parts: Vec<&str> = form.split(" | ").collect();
        for (k, p) in parts.iter().enumerate() {
            assert!(listing[at + k].text.starts_with(p), "{what}: expected {form}, listing has {:?}", &listing[at..at + parts.len()]);
        }
        let got = objdump(&img.code, Ext::default());
        let expect: Vec<(usize, String)> = listing.into_iter().map(|l| (l.offset, l.text)).collect();
        assert_eq!(got.len(), expect.len(), "{what}");
        for (g, e) in got.iter().zip(&expect) {
            assert_eq!(g, e, "{what}");
        }
    }
}

/// The JIT is deterministic across hosts: the x86-64 build (which proves every image with
/// z3, tests/smt_validate.rs) and the riscv64 build (which runs them, and has no z3) make
/// the same bytes for every conformance program that needs no environment, with and
/// without Zba/Zbb. The host run writes its images' digests; the riscv64 run (after it,
/// in the test command) compares its own with them.
#[test]
fn images_are_identical_on_every_host() {
    let digests: Vec<String> = programs()
        .iter()
        .flat_map(|(path, prog)| {
            [Ext::default(), Ext { zba: true, zbb: true }].into_iter().filter_map(move |ext| {
                let img = compile(prog, ext).ok()?;
                // FNV-1a over the code and the range map.
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                let ranges = img.insns.iter().flat_map(|(_, _, r)| [r.start as u64, r.end as u64]);
                for b in img.code.iter().map(|&b| b as u64).chain(ranges) {
                    h = (h ^ b).wrapping_mul(0x100_0000_01b3);
                }
                let name = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path).display().to_string();
                Some(format!("{name} {} {} {h:016x}", ext.zba as u8, img.code.len()))
            })
        })
        .collect();
    assert!(digests.len() > 1800, "{}", digests.len());
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/jit-images.host.txt");
    if !cfg!(target_arch = "riscv64") {
        std::fs::write(&file, digests.join("\n")).unwrap();
        println!("{} image digests written to {}", digests.len(), file.display());
        return;
    }
    let Ok(host) = std::fs::read_to_string(&file) else {
        println!("SKIPPED: {} is missing: run the host tests first (scripts/test.sh does)", file.display());
        return;
    };
    let host: Vec<&str> = host.lines().collect();
    let differ: Vec<String> = digests.iter().zip(&host).filter(|(a, b)| a != *b).map(|(a, b)| format!("riscv64 {a} / host {b}")).take(10).collect();
    assert_eq!(host.len(), digests.len(), "the host wrote a different number of images: rerun the host tests");
    assert!(differ.is_empty(), "images differ between the hosts:\n{}", differ.join("\n"));
    println!("{} images identical on x86-64 and riscv64", digests.len());
}
