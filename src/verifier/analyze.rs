//! The fixpoint: abstract states at every instruction of one function, by a worklist
//! over the control-flow graph, joining where paths meet and widening at a loop head (the
//! target of a backward jump) that changed more than [`WIDEN_AFTER`] times, with a step
//! cap that ends in a refusal, never a hang. Each instruction's transfer is [`super::alu`], [`super::mem`] or [`super::jmp`];
//! `exit` needs r0 to be a number.
//!
//! Not yet: helper and bpf-to-bpf calls, atomics, pseudo `lddw` (map references), the
//! termination proof of loops; such a program is refused by this analysis with the
//! instruction named (the verify stage does not run it yet).

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::mem::{self, At, MemEnv};
use super::reg::{Kind, Reg};
use super::state::State;
use super::{alu, jmp};
use crate::isa::{Insn, LdKind, Program};

/// Joins at one point before it widens.
pub const WIDEN_AFTER: u32 = 2;

/// Why the analysis refuses a program: where, and the reason in the kernel's words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    #[error("{pc}: {msg}")]
    At { pc: usize, msg: String },
    #[error("the analysis did not converge after {0} steps")]
    NoFixpoint(usize),
}

/// The states at each instruction's entry (`None`: unreachable).
#[derive(Debug)]
pub struct Analysis {
    pub states: Vec<Option<State>>,
    /// Instructions analysed, counting repeats (the kernel's "processed N insns").
    pub steps: usize,
}

/// Runs the analysis of `prog` from its entry state.
pub fn analyze(prog: &Program, env: &MemEnv, max_steps: usize) -> Result<Analysis, AnalysisError> {
    let insns = prog.insns();
    let cfg = prog.cfg();
    let mut states: Vec<Option<State>> = vec![None; insns.len()];
    let mut visits = vec![0u32; insns.len()];
    states[0] = Some(State::entry());
    let mut work: VecDeque<usize> = VecDeque::from([0]);
    let mut queued = vec![false; insns.len()];
    queued[0] = true;
    let mut steps = 0;
    while let Some(i) = work.pop_front() {
        queued[i] = false;
        steps += 1;
        if steps > max_steps {
            return Err(AnalysisError::NoFixpoint(max_steps));
        }
        let Some(state) = states[i].clone() else { continue };
        let pc = cfg.slot_of(i);
        let at = |msg: String| AnalysisError::At { pc, msg };
        for (next, out) in step(&insns[i], &state, env).map_err(at)? {
            let Some(j) = (match next {
                Next::Fall => Some(i + 1),
                Next::Jump => cfg.jump_target(i, &insns[i]),
            }) else {
                continue;
            };
            if j >= insns.len() {
                return Err(AnalysisError::At { pc, msg: String::from("jump out of range") });
            }
            let merged = match &states[j] {
                None => out,
                Some(old) if out.within(old) => continue,
                Some(old) => {
                    visits[j] += 1;
                    // Widen only where a loop closes: the target of a backward edge. Other
                    // points stabilise once their loop head has (a branch after the head
                    // narrows again, and widening there would undo it).
                    if j <= i && visits[j] > WIDEN_AFTER {
                        old.widen(&out)
                    } else {
                        old.join(&out)
                    }
                }
            };
            states[j] = Some(merged);
            if !queued[j] {
                queued[j] = true;
                work.push_back(j);
            }
        }
    }
    Ok(Analysis { states, steps })
}

/// Where a successor state goes.
enum Next {
    Fall,
    Jump,
}

/// One instruction's successor states.
fn step(insn: &Insn, s: &State, env: &MemEnv) -> Result<Vec<(Next, State)>, String> {
    let mut out = s.clone();
    let e = |x: &dyn ToString| x.to_string();
    match *insn {
        Insn::Alu { op, width, dst, src } => {
            let d = dst.index() as u8;
            out.regs[d as usize] = alu::alu(op, width, d, s.regs[d as usize], src, &s.regs).map_err(|x| e(&x))?;
        }
        Insn::Neg { width, dst } => out.regs[dst.index()] = alu::neg(width, dst.index() as u8, s.regs[dst.index()]).map_err(|x| e(&x))?,
        Insn::MovSx { width, bits, dst, src } => out.regs[dst.index()] = alu::movsx(width, bits, dst.index() as u8, src.index() as u8, s.regs[src.index()]).map_err(|x| e(&x))?,
        Insn::End { kind, bits, dst } => out.regs[dst.index()] = alu::end(kind, bits, dst.index() as u8, s.regs[dst.index()]).map_err(|x| e(&x))?,
        Insn::LdImm64 { kind: LdKind::Imm64, dst, imm, next_imm } => out.regs[dst.index()] = Reg::konst(crate::isa::cfg::lddw_value(imm, next_imm)),
        Insn::Ldx { size, signed, dst, src, off } => {
            let at = At { reg: src.index() as u8, off, size: size.bytes() as u64 };
            out.regs[dst.index()] = mem::load(s, &s.regs[src.index()], at, signed, env).map_err(|x| e(&x))?;
        }
        Insn::Stx { size, dst, src, off } => {
            alu::readable(&s.regs[src.index()], src.index() as u8).map_err(|x| e(&x))?;
            let at = At { reg: dst.index() as u8, off, size: size.bytes() as u64 };
            mem::store(&mut out, &s.regs[dst.index()], at, s.regs[src.index()], Some(src.index() as u8), env).map_err(|x| e(&x))?;
        }
        Insn::St { size, dst, off, imm } => {
            let at = At { reg: dst.index() as u8, off, size: size.bytes() as u64 };
            mem::store(&mut out, &s.regs[dst.index()], at, Reg::konst(crate::semantics::imm64(imm)), None, env).map_err(|x| e(&x))?;
        }
        Insn::Ja { .. } | Insn::Gotol { .. } => return Ok(vec![(Next::Jump, out)]),
        Insn::Jmp { width, cond, dst, src, .. } => {
            let d = dst.index() as u8;
            let mut succ = Vec::new();
            if let Some(t) = jmp::branch(s, cond, width, d, src, true).map_err(|x| e(&x))? {
                succ.push((Next::Jump, t));
            }
            if let Some(f) = jmp::branch(s, cond, width, d, src, false).map_err(|x| e(&x))? {
                succ.push((Next::Fall, f));
            }
            return Ok(succ);
        }
        Insn::Exit => {
            let r0 = &s.regs[0];
            return match r0.kind {
                Kind::Scalar => Ok(Vec::new()),
                Kind::NotInit => Err(String::from("R0 !read_ok")),
                _ => Err(String::from("R0 leaks addr as return value")),
            };
        }
        ref other => return Err(format!("{} is not analysed yet", crate::isa::disasm::format_insn(other, crate::isa::disasm::Syntax::Conformance))),
    }
    Ok(vec![(Next::Fall, out)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::asm::assemble;
    use crate::prog::{CtxDescriptor, CtxField, FieldKind};

    const XDP: CtxDescriptor = CtxDescriptor {
        name: "xdp_md",
        size: Some(24),
        writable: &[],
        fields: &[CtxField { name: "data", off: 0, size: 4, kind: FieldKind::PacketData }, CtxField { name: "data_end", off: 4, size: 4, kind: FieldKind::PacketEnd }],
    };

    fn run(src: &str) -> Result<Analysis, AnalysisError> {
        let prog = Program::decode(&crate::isa::encode_all(&assemble(src).unwrap())).unwrap();
        let env = MemEnv { ctx: &XDP, value_size: &|_| None };
        analyze(&prog, &env, 100_000)
    }

    #[test]
    fn a_checked_packet_read_is_accepted_and_an_unchecked_one_refused() {
        let checked = "ldxw r2, [r1]\nldxw r3, [r1+4]\nmov r4, r2\nadd r4, 14\njgt r4, r3, +2\nldxh r0, [r2+12]\nexit\nmov r0, 0\nexit";
        assert!(run(checked).is_ok());
        let off_by_one = "ldxw r2, [r1]\nldxw r3, [r1+4]\nmov r4, r2\nadd r4, 13\njgt r4, r3, +2\nldxh r0, [r2+12]\nexit\nmov r0, 0\nexit";
        let e = run(off_by_one).unwrap_err();
        assert_eq!(e.to_string(), "5: invalid access to packet, off=12 size=2, R2(r=13)");
    }

    #[test]
    fn a_counted_loop_converges_and_its_bounds_hold_in_the_body() {
        // for (i = 0; i < 10; i++) sum += i, with r3 = fp - 80 + 8 * i computed on the way.
        let src = "mov r0, 0\nmov r6, 0\nstdw [r10-80], 0\nstdw [r10-72], 0\njge r6, 10, +7\nmov r2, r6\nlsh r2, 3\nmov r3, r10\nadd r3, -80\nadd r0, r6\nadd r6, 1\nja -8\nexit";
        let a = run(src).unwrap();
        // At the body's first instruction r6 is within 0..=9.
        let body = a.states[5].as_ref().unwrap();
        assert_eq!((body.regs[6].value.full.umin, body.regs[6].value.full.umax), (0, 9));
        assert!(a.steps < 200, "{} steps", a.steps);
        // A cap on the steps ends in a refusal, not a hang.
        let prog = Program::decode(&crate::isa::encode_all(&assemble(src).unwrap())).unwrap();
        let env = MemEnv { ctx: &XDP, value_size: &|_| None };
        assert_eq!(analyze(&prog, &env, 10).unwrap_err(), AnalysisError::NoFixpoint(10));
    }

    #[test]
    fn refusals_name_the_instruction() {
        assert_eq!(run("mov r0, r5\nexit").unwrap_err().to_string(), "0: R5 !read_ok");
        assert_eq!(run("mov r0, r10\nexit").unwrap_err().to_string(), "1: R0 leaks addr as return value");
        assert_eq!(run("exit").unwrap_err().to_string(), "0: R0 !read_ok");
        assert_eq!(run("ldxdw r0, [r10-8]\nexit").unwrap_err().to_string(), "0: invalid read from stack off -8+0 size 8: uninitialised");
        // Branches that cannot be taken are not analysed.
        assert!(run("mov r0, 1\njeq r0, 2, +1\nexit\nmov r0, r10\nexit").is_ok());
    }
}
