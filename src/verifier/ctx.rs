//! Which instructions load a field of the context, for contexts whose fields the kernel
//! converts to its own layout (XDP's `xdp_md`, whose 32-bit `data`/`data_end` fields
//! are pointers): the part of the verifier such programs cannot run without, until the
//! abstract interpreter tracks pointer types itself.
//!
//! A forward data-flow pass over each function tags registers and 8-byte stack slots
//! with whether they hold the context: r1 at the entry, copies, spills and fills through
//! r10. Subprograms start with nothing known to be the context. A context access must be
//! a load of exactly one field the descriptor lists; a register that is the context on
//! one path and not on another cannot be converted and is refused.

use alloc::vec;
use alloc::vec::Vec;

use crate::isa::{AluOp, AtomicOp, Insn, Program, Reg, Size, Source, Width};
use crate::prog::{CtxDescriptor, CtxField};

/// Why a context access was refused (the kernel's "invalid bpf_context access").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CtxError {
    #[error("instruction {pc}: invalid bpf_context access off={off} size={size}")]
    Invalid { pc: usize, off: i16, size: usize },
    #[error("instruction {pc}: r{reg} may or may not be the context here; rvbpf cannot rewrite the access")]
    Ambiguous { pc: usize, reg: u8 },
}

/// Whether a value is the context.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tag {
    No,
    Ctx,
    /// The context on some paths only.
    Mixed,
}

fn join(a: Tag, b: Tag) -> Tag {
    match (a, b) {
        (x, y) if x == y => x,
        _ => Tag::Mixed,
    }
}

/// Register tags and the tags of the 64 fp-relative 8-byte stack slots.
type State = ([Tag; 11], [Tag; 64]);

const NOTHING: State = ([Tag::No; 11], [Tag::No; 64]);

/// The fp-relative 8-byte slot at `off`, if `off` names one.
fn slot_of(off: i16) -> Option<usize> {
    (off < 0 && off % 8 == 0 && off >= -512).then(|| ((-off) / 8 - 1) as usize)
}

/// The context loads of `prog` (by slot, in program order) and the field each reads.
pub fn ctx_loads(prog: &Program, ctx: &CtxDescriptor) -> Result<Vec<(usize, &'static CtxField)>, CtxError> {
    let insns = prog.insns();
    let cfg = prog.cfg();
    let n = insns.len();
    let mut states: Vec<Option<State>> = vec![None; n];
    let mut entry = NOTHING;
    entry.0[1] = Tag::Ctx;
    states[0] = Some(entry);
    // Every call target, the entry too if something calls it: nothing is the context there.
    for (i, insn) in insns.iter().enumerate() {
        if let Insn::CallLocal { .. } = insn {
            if let Some(t) = cfg.jump_target(i, insn) {
                states[t] = Some(NOTHING);
            }
        }
    }
    let mut work: Vec<usize> = (0..n).filter(|&i| states[i].is_some()).collect();
    let mut loads: Vec<Option<&'static CtxField>> = vec![None; n];
    let mut rounds = 0usize;
    while let Some(i) = work.pop() {
        rounds += 1;
        if rounds > 64 * n + 1024 {
            break; // the lattice is finite; this bound is never reached
        }
        let Some((mut regs, mut stack)) = states[i] else { continue };
        let insn = insns[i];
        match insn {
            Insn::Alu { op: AluOp::Mov, width: Width::W64, dst, src: Source::Reg(s) } => regs[dst.index()] = regs[s.index()],
            Insn::Alu { dst, .. } | Insn::Neg { dst, .. } | Insn::MovSx { dst, .. } | Insn::End { dst, .. } | Insn::LdImm64 { dst, .. } => regs[dst.index()] = Tag::No,
            Insn::Ldx { dst, src, off, size, .. } => {
                regs[dst.index()] = match (src == Reg::FP, size, slot_of(off)) {
                    (true, Size::DW, Some(s)) => stack[s],
                    _ => Tag::No,
                };
            }
            Insn::Stx { dst, src, off, size } if dst == Reg::FP => {
                if let Some(s) = slot_of(off).filter(|_| size == Size::DW) {
                    stack[s] = regs[src.index()];
                } else if let Some(s) = slot_of(off - off.rem_euclid(8)) {
                    stack[s] = Tag::No;
                }
            }
            Insn::St { dst, off, .. } if dst == Reg::FP => {
                if let Some(s) = slot_of(off - off.rem_euclid(8)) {
                    stack[s] = Tag::No;
                }
            }
            Insn::Atomic { src, op, .. } if op.fetches() => {
                regs[if matches!(op, AtomicOp::Cmpxchg) { 0 } else { src.index() }] = Tag::No;
            }
            Insn::Call { .. } | Insn::Callx { .. } | Insn::CallLocal { .. } => {
                for r in regs.iter_mut().take(6) {
                    *r = Tag::No;
                }
            }
            _ => {}
        }
        // Context accesses: loads of a listed field only (such contexts are read-only).
        let base = match insn {
            Insn::Ldx { src, .. } => Some(src),
            Insn::St { dst, .. } | Insn::Stx { dst, .. } | Insn::Atomic { dst, .. } => Some(dst),
            _ => None,
        };
        if let Some(b) = base {
            let pc = cfg.slot_of(i);
            let tag = states[i].map(|s| s.0[b.index()]).unwrap_or(Tag::No);
            match tag {
                Tag::Ctx => match insn {
                    Insn::Ldx { size, signed: false, off, .. } if size == Size::W => {
                        loads[i] = Some(ctx.field(off, size.bytes()).ok_or(CtxError::Invalid { pc, off, size: 4 })?);
                    }
                    Insn::Ldx { size, off, .. } | Insn::St { size, off, .. } | Insn::Stx { size, off, .. } | Insn::Atomic { size, off, .. } => {
                        return Err(CtxError::Invalid { pc, off, size: size.bytes() });
                    }
                    _ => {}
                },
                Tag::Mixed => return Err(CtxError::Ambiguous { pc, reg: b.index() as u8 }),
                Tag::No => {}
            }
        }
        for s in cfg.successors(i, &insn) {
            let merged = match states[s] {
                None => (regs, stack),
                Some((r0, s0)) => {
                    let mut r = r0;
                    let mut st = s0;
                    for k in 0..11 {
                        r[k] = join(r0[k], regs[k]);
                    }
                    for k in 0..64 {
                        st[k] = join(s0[k], stack[k]);
                    }
                    (r, st)
                }
            };
            if states[s] != Some(merged) {
                states[s] = Some(merged);
                work.push(s);
            }
        }
    }
    Ok(loads.iter().enumerate().filter_map(|(i, f)| Some((cfg.slot_of(i), (*f)?))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::asm;
    use crate::prog::{FieldKind, ProgType};

    fn loads(src: &str) -> Result<Vec<(usize, FieldKind)>, CtxError> {
        let prog = Program::new(asm::assemble(src).unwrap()).unwrap();
        ctx_loads(&prog, ProgType::Xdp.ctx()).map(|l| l.iter().map(|(pc, f)| (*pc, f.kind)).collect())
    }

    #[test]
    fn field_loads_are_found_through_copies_and_spills() {
        let l = loads("ldxw %r2, [%r1+0]\nmov %r6, %r1\nldxw %r3, [%r6+4]\nstxdw [%r10-8], %r6\nldxdw %r7, [%r10-8]\nldxw %r4, [%r7+12]\nmov %r0, 2\nexit");
        assert_eq!(l.unwrap(), [(0, FieldKind::PacketData), (2, FieldKind::PacketEnd), (5, FieldKind::Scalar)]);
    }

    #[test]
    fn other_pointers_are_left_alone() {
        // r1 is overwritten; r10 is the stack; a subprogram's r1 is not the context.
        assert_eq!(loads("mov %r1, %r10\nldxw %r2, [%r1-4]\nmov %r0, 0\nexit").unwrap(), []);
        assert_eq!(loads("call local +1\nexit\nldxw %r0, [%r1+0]\nexit").unwrap(), []);
    }

    #[test]
    fn a_context_access_must_load_one_listed_field() {
        let bad = |src: &str| loads(src).unwrap_err();
        assert_eq!(bad("ldxw %r2, [%r1+2]\nexit"), CtxError::Invalid { pc: 0, off: 2, size: 4 });
        assert_eq!(bad("ldxdw %r2, [%r1+0]\nexit"), CtxError::Invalid { pc: 0, off: 0, size: 8 });
        assert_eq!(bad("ldxw %r2, [%r1+24]\nexit"), CtxError::Invalid { pc: 0, off: 24, size: 4 });
        assert_eq!(bad("stw [%r1+12], 1\nexit"), CtxError::Invalid { pc: 0, off: 12, size: 4 }, "xdp_md is read-only");
        assert_eq!(bad("ldxsw %r2, [%r1+0]\nexit"), CtxError::Invalid { pc: 0, off: 0, size: 4 }, "a sign-extending load is no field load");
    }

    #[test]
    fn a_register_that_is_the_context_on_one_path_only_is_refused() {
        let e = loads("jeq %r2, 0, +1\nmov %r1, %r10\nldxw %r3, [%r1+0]\nexit").unwrap_err();
        assert_eq!(e, CtxError::Ambiguous { pc: 2, reg: 1 });
    }
}
