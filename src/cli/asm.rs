//! `rvbpf asm FILE [-o OUT]`: assembly in bpf_conformance syntax → bytecode.

use std::path::Path;
use std::process::ExitCode;

use rvbpf::isa::disasm::{format_insn, Syntax};
use rvbpf::isa::{asm, encode_all};

use super::input::read_bytes;

pub fn cmd_asm(input: &Path, output: Option<&Path>, json: bool) -> Result<ExitCode, String> {
    let text = String::from_utf8(read_bytes(input)?).map_err(|_| format!("{}: not UTF-8 text", input.display()))?;
    let insns = asm::assemble(&text).map_err(|e| format!("{}: {e}", input.display()))?;
    // What `run` and `disasm` would refuse (a jump out of the program, a half lddw) is
    // refused here too, not written out.
    let bytes = encode_all(&insns);
    let prog = rvbpf::isa::Program::new(insns).map_err(|e| format!("{}: {e}", input.display()))?;
    if json {
        let listed: Vec<serde_json::Value> = prog
            .iter()
            .map(|(slot, insn)| {
                let n = insn.slots() * 8;
                serde_json::json!({"slot": slot, "bytes": super::hex(&bytes[slot * 8..slot * 8 + n]), "text": format_insn(insn, Syntax::Conformance)})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"bytes": bytes.len(), "insns": listed})).unwrap_or_default());
    }
    match output {
        Some(out) => std::fs::write(out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?,
        None if json => {}
        None => {
            for chunk in bytes.chunks(8) {
                println!("{}", chunk.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" "));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
