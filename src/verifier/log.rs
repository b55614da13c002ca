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

use super::analyze::{Analysis, AnalysisError};
use super::loops::describe;
use super::{LogSink, MAX_PROCESSED};
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

/// One instruction as the kernel prints it, after its `pc: `: `(<opcode>) <asm>`.
pub fn insn(prog: &Program, i: usize) -> String {
    let insn = &prog.insns()[i];
    format!("({:02x}) {}", insn.encode().0.opcode, format_insn(insn, Syntax::Llvm))
}

/// Every state at instruction `i` (those inside calls prefixed `frame N:`, N the depth).
pub fn states_at(a: &Analysis, i: usize) -> Vec<String> {
    a.contexts
        .iter()
        .filter_map(|c| c.states[i].as_ref().map(|s| (c.calls.len(), s)))
        .map(|(depth, s)| if depth == 0 { state(s) } else { format!("frame {depth}: {}", state(s)) })
        .collect()
}

/// The stats, as the kernel's `BPF_LOG_STATS` prints them.
pub fn stats(steps: usize, limit: usize, peak: usize, total: usize) -> String {
    format!("processed {steps} insns (limit {limit}) max_states_per_insn {peak} total_states {total} peak_states {total} mark_read 0")
}

/// The log of one analysis at `level`: level 2 every instruction with its states; level
/// 1 a refusal's instruction with its states, or each loop's bound; then (levels 1 and 2)
/// the reason of a refusal, the stats, and the time when it was measured.
pub fn write(prog: &Program, a: &Analysis, refused: Option<&AnalysisError>, level: u32, usec: Option<u64>, sink: &mut dyn LogSink) {
    if level == 0 {
        return;
    }
    let cfg = prog.cfg();
    if level >= 2 {
        for i in 0..prog.insns().len() {
            sink.insn(cfg.slot_of(i), &insn(prog, i), &states_at(a, i));
        }
    }
    match refused {
        Some(e) => {
            if level == 1 {
                if let Some(i) = e.pc().and_then(|pc| cfg.index_of(pc)) {
                    sink.insn(cfg.slot_of(i), &insn(prog, i), &states_at(a, i));
                }
            }
            sink.line(&format!("{e}"));
        }
        None => {
            for b in &a.loops {
                sink.line(&describe(b));
            }
        }
    }
    sink.line(&stats(a.steps, MAX_PROCESSED, a.peak_states, a.total_states()));
    if let Some(t) = usec {
        sink.line(&format!("verification time {t} usec"));
    }
}
