//! The instruction model against its specification: spec table, encoding round trips,
//! assembler/disassembler round trips, llvm-objdump as an independent disassembler.

mod common;

use std::process::Command;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use rvbpf::isa::disasm::{format_insn, Syntax};
use rvbpf::isa::spec::{self, Field, SPEC};
use rvbpf::isa::*;

/// A value the field rule accepts (the first listed value, or a typical one).
fn sample(f: Field, typical: i64) -> i64 {
    match f {
        Field::Zero => 0,
        Field::Any => typical,
        Field::Reg => 3,
        Field::OneOf(v) => v[0],
    }
}

#[test]
fn every_supported_spec_row_decodes_to_an_insn_of_that_row_and_encodes_back() {
    for row in SPEC.iter().filter(|r| r.supported) {
        let dst = if row.dst == spec::DstRule::Zero { 0 } else { 2 };
        let raw = RawInsn { opcode: row.opcode, dst, src: sample(row.src, 0) as u8, off: sample(row.off, -7) as i16, imm: sample(row.imm, -100) as i32 };
        let tail = (row.opcode == 0x18).then_some(RawInsn { opcode: 0, dst: 0, src: 0, off: 0, imm: 5 });
        let insn = decode_one(raw, tail).unwrap_or_else(|e| panic!("row {} rejected: {e}", row.id));
        assert_eq!(insn.spec_row().id, row.id, "row {} decodes to {:?}", row.id, insn);
        assert_eq!(insn.encode(), (raw, tail), "row {} does not encode back", row.id);
    }
}

#[test]
fn unsupported_rows_and_undefined_opcodes_are_rejected() {
    for op in 0..=255u8 {
        let raw = RawInsn { opcode: op, dst: 0, src: 0, off: 0, imm: 0 };
        let res = decode_one(raw, Some(RawInsn { opcode: 0, dst: 0, src: 0, off: 0, imm: 0 }));
        match spec::rows_for(op) {
            [] => assert_eq!(res, Err(DecodeErrorKind::UnknownOpcode(op))),
            rows if rows.iter().all(|r| !r.supported) => assert!(matches!(res, Err(DecodeErrorKind::Unsupported { .. })), "0x{op:02x}: {res:?}"),
            _ => {}
        }
    }
}

#[test]
fn spec_rows_of_one_opcode_are_disjoint() {
    for op in 0..=255u8 {
        let rows = spec::rows_for(op);
        for (i, a) in rows.iter().enumerate() {
            for b in &rows[i + 1..] {
                let overlap = |x: Field, y: Field| match (x, y) {
                    (Field::OneOf(p), Field::OneOf(q)) => p.iter().any(|v| q.contains(v)),
                    (Field::Zero, Field::OneOf(q)) | (Field::OneOf(q), Field::Zero) => q.contains(&0),
                    _ => true,
                };
                assert!(!(overlap(a.src, b.src) && overlap(a.off, b.off) && overlap(a.imm, b.imm)), "rows {} and {} overlap", a.id, b.id);
            }
        }
    }
}

#[test]
fn decode_errors_name_the_slot_and_the_problem() {
    let exit = RawInsn { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 }.to_bytes();
    let mut bytes = exit.to_vec();
    bytes.extend(RawInsn { opcode: 0x07, dst: 10, src: 0, off: 0, imm: 1 }.to_bytes());
    bytes.extend(exit);
    let err = Program::decode(&bytes).unwrap_err();
    assert_eq!(err.pc, 1);
    assert_eq!(err.to_string(), "invalid instruction at 1: opcode 0x07: writes the read-only frame pointer r10");
    let err = Program::decode(&bytes[..12]).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::Truncated(12));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, .. ProptestConfig::default() })]

    #[test]
    fn decode_of_encode_is_identity(insn in common::insn()) {
        let (a, b) = insn.encode();
        prop_assert_eq!(decode_one(a, b), Ok(insn));
    }

    #[test]
    fn assembling_the_disassembly_gives_back_the_program(insns in prop::collection::vec(common::insn(), 1..40)) {
        let text: String = insns.iter().map(|i| format_insn(i, Syntax::Conformance) + "\n").collect();
        let back = asm::assemble(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, insns);
    }

    #[test]
    fn random_bytes_never_panic_the_decoder_or_the_interpreter(bytes in prop::collection::vec(any::<u8>(), 0..256), mem in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(prog) = Program::decode(&bytes) {
            let mut vm = rvbpf::interp::Interpreter::new(&prog);
            let mut env = rvbpf::conformance::ConformanceEnv::default();
            let mut mem = mem;
            let _ = vm.run(&mut mem, &env.regions(), &mut env, &rvbpf::interp::RunOptions { budget: 10_000 });
        }
    }

    #[test]
    fn random_text_never_panics_the_assembler(text in "[ -~\n]{0,200}") {
        let _ = asm::assemble(&text);
    }
}

/// Normalises llvm-objdump's text: drop the `<sym+off>` tail, fold whitespace.
fn normalise(s: &str) -> String {
    let s = match s.find(" <") {
        Some(i) => &s[..i],
        None => s,
    };
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn llvm_syntax_matches_llvm_objdump_on_random_programs() {
    // Needs: llvm-objdump-19 and clang-19 (installed by scripts/setup.sh).
    let ok = |c: &str| Command::new(c).arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    if !ok("llvm-objdump-19") || !ok("clang-19") {
        println!("SKIP llvm_syntax_matches_llvm_objdump_on_random_programs: llvm-objdump-19 or clang-19 missing (run scripts/setup.sh)");
        return;
    }
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = prop::collection::vec(common::insn(), 3000);
    let insns = strategy.new_tree(&mut runner).unwrap().current();
    let dir = std::env::temp_dir().join(format!("rvbpf-objdump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("p.bin"), encode_all(&insns)).unwrap();
    std::fs::write(dir.join("p.s"), format!(".text\n.globl f\nf:\n.incbin \"{}\"\n", dir.join("p.bin").display())).unwrap();
    let st = Command::new("clang-19").args(["-target", "bpf", "-c"]).arg(dir.join("p.s")).arg("-o").arg(dir.join("p.o")).status().unwrap();
    assert!(st.success());
    let out = Command::new("llvm-objdump-19").args(["-d", "--mcpu=v4", "--no-show-raw-insn"]).arg(dir.join("p.o")).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let theirs: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_once(":\t").filter(|(n, _)| n.trim().parse::<usize>().is_ok()).map(|(_, rest)| normalise(rest)))
        .collect();
    assert_eq!(theirs.len(), insns.len(), "llvm-objdump listed a different number of instructions");
    let mut mismatches = Vec::new();
    for (i, (insn, t)) in insns.iter().zip(&theirs).enumerate() {
        let ours = normalise(&format_insn(insn, Syntax::Llvm));
        if &ours != t {
            mismatches.push(format!("#{i} {insn:?}: ours `{ours}`, llvm-objdump `{t}`"));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(mismatches.is_empty(), "{} of {} differ:\n{}", mismatches.len(), insns.len(), mismatches[..mismatches.len().min(30)].join("\n"));
}
