//! The verifier's log in the kernel's shape: states in its register notation
//! (`R1=ctx() R10=fp0 fp-8=mmmm????`), instructions as `<pc>: (<opcode>) <asm>`, the
//! reason of a refusal, and the stats line.
//!
//! Level 1 prints, for a refused program, the failing instruction with every state that
//! reaches it and the reason; level 2 prints every instruction with its states. Both end
//! with the stats (`processed N insns (limit M) max_states_per_insn … total_states …
//! peak_states …`, `verification time N usec` when a clock is given).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::analyze::Analysis;
use super::domain::stack::Byte;
use super::reg::Kind;
use super::state::State;
use crate::isa::disasm::{format_insn, Syntax};
use crate::isa::Program;

/// A state in the kernel's notation: initialised registers, then each stack slot that
/// holds something (a spill by its register notation, else its bytes: `m` initialised,
/// `0` zero, `?` not), frame by frame (`fp-8` in frame 0, `fp1-8` in frame 1).
pub fn state(s: &State) -> String {
    let mut out: Vec<String> = Vec::new();
    for (k, r) in s.regs.iter().enumerate() {
        if r.kind != Kind::NotInit {
            out.push(format!("R{k}={r}"));
        }
    }
    for (f, frame) in s.frames.iter().enumerate() {
        let name = if f == 0 { String::from("fp") } else { format!("fp{f}") };
        let mut off = -8i64;
        while off >= -(crate::mem::STACK_FRAME as i64) {
            if let Some((spill, bytes)) = frame.slot(off) {
                match spill {
                    Some(r) => out.push(format!("{name}{off}={r}")),
                    None if bytes.iter().any(|b| *b != Byte::Uninit) => {
                        let text: String = bytes.iter().map(|b| match b {
                            Byte::Zero => '0',
                            Byte::Init => 'm',
                            Byte::Uninit => '?',
                        }).collect();
                        out.push(format!("{name}{off}={text}"));
                    }
                    None => {}
                }
            }
            off -= 8;
        }
    }
    if !s.refs.is_empty() {
        out.push(format!("refs={}", s.refs.iter().map(|r| format!("{r}")).collect::<Vec<_>>().join(",")));
    }
    out.join(" ")
}

/// One instruction as the kernel prints it: `<pc>: (<opcode>) <asm>`.
pub fn insn(prog: &Program, i: usize) -> String {
    let insn = &prog.insns()[i];
    format!("{}: ({:02x}) {}", prog.cfg().slot_of(i), insn.encode().0.opcode, format_insn(insn, Syntax::Llvm))
}

/// Every state at instruction `i`, one line each (`<pc>: <state>`, call contexts after
/// the first prefixed with their frame depth as `frame N:`).
pub fn states_at(prog: &Program, a: &Analysis, i: usize) -> Vec<String> {
    let pc = prog.cfg().slot_of(i);
    a.contexts
        .iter()
        .filter_map(|c| c.states[i].as_ref().map(|s| (c.calls.len(), s)))
        .map(|(depth, s)| if depth == 0 { format!("{pc}: {}", state(s)) } else { format!("{pc}: frame {depth}: {}", state(s)) })
        .collect()
}

/// The stats, as the kernel's `BPF_LOG_STATS` prints them.
pub fn stats(steps: usize, limit: usize, peak: usize, total: usize) -> String {
    format!("processed {steps} insns (limit {limit}) max_states_per_insn {peak} total_states {total} peak_states {total} mark_read 0")
}
