//! Any text: assembling never panics, and what assembles disassembles and reassembles the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rvbpf::isa::{asm, disasm};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(insns) = asm::assemble(text) {
        let again: String = insns.iter().map(|i| disasm::format_insn(i, disasm::Syntax::Conformance) + "\n").collect();
        assert_eq!(asm::assemble(&again).ok(), Some(insns));
    }
});
