//! `rvbpf asm FILE [-o OUT]`: assembly in bpf_conformance syntax → bytecode.

use std::path::Path;
use std::process::ExitCode;

use rvbpf::isa::{asm, encode_all};

use super::input::read_bytes;

pub fn cmd_asm(input: &Path, output: Option<&Path>) -> Result<ExitCode, String> {
    let text = String::from_utf8(read_bytes(input)?).map_err(|_| format!("{}: not UTF-8 text", input.display()))?;
    let insns = asm::assemble(&text).map_err(|e| format!("{}: {e}", input.display()))?;
    // What `run` and `disasm` would refuse (a jump out of the program, a half lddw) is
    // refused here too, not written out.
    let bytes = encode_all(&insns);
    rvbpf::isa::Program::new(insns).map_err(|e| format!("{}: {e}", input.display()))?;
    match output {
        Some(out) => std::fs::write(out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?,
        None => {
            for chunk in bytes.chunks(8) {
                println!("{}", chunk.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" "));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
