//! `rvbpf disasm FILE`: bytecode → assembly, in bpf_conformance's syntax (which `asm`
//! reads back) or llvm-objdump's.

use std::path::Path;
use std::process::ExitCode;

use clap::ValueEnum;

use rvbpf::isa::disasm::{disassemble, Syntax};
use rvbpf::isa::Program;

#[derive(Clone, Copy, ValueEnum)]
pub enum SyntaxArg {
    /// bpf_conformance / uBPF assembly (`add32 %r0, 1`)
    Conformance,
    /// llvm-objdump's C-like syntax (`w0 += 0x1`)
    Llvm,
}

pub fn cmd_disasm(input: &Path, syntax: SyntaxArg, numbered: bool) -> Result<ExitCode, String> {
    let (bytes, _) = super::input::program(input, "disasm")?;
    let prog = Program::decode(&bytes).map_err(|e| format!("{}: {e}", input.display()))?;
    let syntax = match syntax {
        SyntaxArg::Conformance => Syntax::Conformance,
        SyntaxArg::Llvm => Syntax::Llvm,
    };
    super::print_out(&disassemble(&prog, syntax, numbered));
    Ok(ExitCode::SUCCESS)
}
