//! The checker's own RV64 decoder against llvm-objdump-19: every word of every
//! conformance image (base and Zba/Zbb) decodes, and prints as llvm-objdump prints it.
//! Skipped with a printed reason where llvm-objdump-19 or the riscv64 objcopy is missing.
#![cfg(all(feature = "smt", feature = "jit"))]

use rvbpf::conformance::ConformanceEnv;
use rvbpf::interp::resolve_lddw;
use rvbpf::isa::Program;
use rvbpf::jit::rv64::emit::compile;
use rvbpf::jit::rv64::lower::Ext;
use rvbpf::smt::decode::{decode, DecodeError};

#[path = "common/suite.rs"]
mod suite;
#[path = "common/objdump.rs"]
mod objdump;

#[test]
fn the_decoder_reads_every_conformance_image_as_llvm_objdump_does() {
    if let Some(why) = objdump::tools_missing() {
        println!("SKIPPED: {why}");
        return;
    }
    let progs: Vec<Program> = suite::data_files()
        .into_iter()
        .filter_map(|(_, f)| resolve_lddw(&Program::decode(&f.program_bytes().ok()?).ok()?, &mut ConformanceEnv::default()).ok())
        .collect();
    for ext in [Ext::default(), Ext { zba: true, zbb: true }] {
        let mut blob = Vec::new();
        for p in &progs {
            if let Ok(img) = compile(p, ext) {
                blob.extend_from_slice(&img.code);
            }
        }
        let got = objdump::objdump(&blob, ext);
        assert_eq!(got.len() * 4, blob.len(), "llvm-objdump decoded a different number of words");
        let mut mnemonics = std::collections::BTreeSet::new();
        for (off, text) in &got {
            let word = u32::from_le_bytes(blob[*off..off + 4].try_into().unwrap());
            let d = decode(word).unwrap_or_else(|e| panic!("{off:#x}: {e}"));
            assert_eq!(&d.text(*off as u64), text, "word {word:#010x} at {off:#x}");
            mnemonics.insert(d.op.mnemonic());
        }
        assert!(mnemonics.len() > 40, "{mnemonics:?}");
        println!("{} words, {} mnemonics: the decoder = llvm-objdump ({ext:?})", got.len(), mnemonics.len());
    }
}

/// Words the decoder must refuse: compressed parcels, reserved encodings, extensions it
/// does not model (and it never panics: tests/smt_validate.rs and the fuzz target).
#[test]
fn the_decoder_refuses_what_it_does_not_know() {
    for (w, why) in [
        (0x0000_4501u32, "c.li a0, 0 (compressed)"),
        (0x0000_0000, "all zeros (a compressed illegal instruction)"),
        (0xffff_ffff, "all ones"),
        (0x0000_2003 | (7 << 12), "load with funct3 7"),
        (0x0000_0007, "flw (F extension)"),
        (0x0200_4033 | (1 << 30), "OP with funct7 0x22"),
        (0x1000_202f | (0x10 << 27), "amomin.w (not modelled)"),
    ] {
        assert!(matches!(decode(w), Err(DecodeError::Compressed { .. } | DecodeError::Unknown { .. })), "{why}: {w:#010x} decoded as {:?}", decode(w));
    }
}
