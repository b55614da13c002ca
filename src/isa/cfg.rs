//! A program's control flow, computed once when the program is validated: where each
//! instruction sits (slot ↔ index), where its jumps go, which instructions start a
//! subprogram. Also the two encodings every layer needs: a jump's target slot and the
//! 64-bit value of an `lddw`.
//!
//! Everything that follows a jump (the interpreter, the JIT, the verifier, the loader's
//! relocations, a code address) computes its target with [`target`] (the assembler and
//! the loader, placing one, with [`offset_to`]), and everything that builds or reads an
//! `lddw` constant uses [`lddw_value`] / [`lddw_halves`].

use alloc::vec;
use alloc::vec::Vec;

use super::{DecodeError, DecodeErrorKind, Insn, MAX_SLOTS};

/// The slot a jump, local call or code address at slot `pc` with offset `off` names:
/// offsets count in slots from the next slot.
#[inline(always)]
pub const fn target(pc: usize, off: i64) -> i64 {
    pc as i64 + 1 + off
}

/// The offset a jump at slot `pc` needs to land on slot `to`: [`target`]'s inverse.
#[inline(always)]
pub const fn offset_to(pc: usize, to: usize) -> i64 {
    to as i64 - pc as i64 - 1
}

/// The value an `lddw` with these immediates loads: `next_imm << 32 | imm`.
#[inline(always)]
pub const fn lddw_value(imm: i32, next_imm: i32) -> u64 {
    (next_imm as u32 as u64) << 32 | imm as u32 as u64
}

/// The immediates `(imm, next_imm)` of an `lddw` that loads `v`.
#[inline(always)]
pub const fn lddw_halves(v: u64) -> (i32, i32) {
    (v as i32, (v >> 32) as i32)
}

/// No instruction starts at this slot (the second half of an lddw).
const NONE: u32 = u32::MAX;

/// The control-flow facts of a validated program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cfg {
    /// The slot of each instruction.
    slots: Vec<usize>,
    /// The instruction starting at each slot, or [`NONE`].
    index: Vec<u32>,
    /// Instructions that start a subprogram: 0 and every local call's target, ascending.
    subprograms: Vec<usize>,
}

impl Cfg {
    /// Lays out `insns` and checks their control flow: the program is not empty and not
    /// too long, every jump and local call lands on an instruction inside it, and the last
    /// instruction does not fall off the end.
    pub(super) fn new(insns: &[Insn]) -> Result<Cfg, DecodeError> {
        let mut slots = Vec::with_capacity(insns.len());
        let mut n = 0usize;
        for insn in insns {
            slots.push(n);
            n += insn.slots();
        }
        if insns.is_empty() {
            return Err(DecodeError { pc: 0, kind: DecodeErrorKind::Empty });
        }
        if n > MAX_SLOTS {
            return Err(DecodeError { pc: 0, kind: DecodeErrorKind::TooLong(n) });
        }
        let mut index = vec![NONE; n];
        for (i, &pc) in slots.iter().enumerate() {
            index[pc] = i as u32;
        }
        let mut subprograms = vec![0];
        for (insn, &pc) in insns.iter().zip(&slots) {
            if let Some(t) = insn.branch_target(pc) {
                if t < 0 || t >= n as i64 {
                    return Err(DecodeError { pc, kind: DecodeErrorKind::JumpOutOfRange { target: t, len: n } });
                }
                let i = index[t as usize];
                if i == NONE {
                    return Err(DecodeError { pc, kind: DecodeErrorKind::JumpIntoLddw { target: t } });
                }
                if matches!(insn, Insn::CallLocal { .. }) {
                    subprograms.push(i as usize);
                }
            }
        }
        let last = insns.len() - 1;
        if insns[last].falls_through() {
            return Err(DecodeError { pc: slots[last], kind: DecodeErrorKind::FallThrough });
        }
        subprograms.sort_unstable();
        subprograms.dedup();
        Ok(Cfg { slots, index, subprograms })
    }

    /// Number of instructions (an lddw is one).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Always false: a program has at least one instruction.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Length in 8-byte slots.
    pub fn slot_count(&self) -> usize {
        self.index.len()
    }

    /// The slot of instruction `i`.
    #[inline]
    pub fn slot_of(&self, i: usize) -> usize {
        self.slots[i]
    }

    /// The instruction starting at `slot`, if one does.
    #[inline]
    pub fn index_of(&self, slot: usize) -> Option<usize> {
        self.index.get(slot).copied().filter(|&i| i != NONE).map(|i| i as usize)
    }

    /// The instruction a jump or local call at index `i` goes to.
    #[inline]
    pub fn jump_target(&self, i: usize, insn: &Insn) -> Option<usize> {
        // Validation checked that every target starts an instruction.
        self.index_of(insn.branch_target(self.slots[i])? as usize)
    }

    /// Where control goes after instruction `i` within its function: the next
    /// instruction, a jump's target, both for a conditional jump, nothing after `exit`.
    /// A local call continues at the next instruction (its callee is a subprogram).
    pub fn successors(&self, i: usize, insn: &Insn) -> impl Iterator<Item = usize> {
        let next = insn.falls_through().then_some(i + 1);
        let jump = match insn {
            Insn::CallLocal { .. } => None,
            _ => self.jump_target(i, insn),
        };
        [jump, next].into_iter().flatten()
    }

    /// The instructions that start a subprogram: 0 first, then every local call's
    /// target, ascending.
    pub fn subprograms(&self) -> &[usize] {
        &self.subprograms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::{asm, Program};

    fn prog(src: &str) -> Program {
        Program::new(asm::assemble(src).unwrap()).unwrap()
    }

    #[test]
    fn layout_successors_and_subprograms() {
        // slots: 0 mov, 1 jeq -> 4, 2-3 lddw, 4 call local -> 6, 5 exit, 6 mov, 7 exit
        let p = prog("mov %r0, 0\njeq %r1, 0, +2\nlddw %r2, 5\ncall local +1\nexit\nmov %r0, 1\nexit");
        let c = p.cfg();
        assert_eq!((c.len(), c.slot_count()), (7, 8));
        assert_eq!((0..7).map(|i| c.slot_of(i)).collect::<Vec<_>>(), [0, 1, 2, 4, 5, 6, 7]);
        assert_eq!(c.index_of(3), None, "the second half of an lddw starts nothing");
        assert_eq!(c.index_of(4), Some(3));
        assert_eq!(c.index_of(8), None);
        let succ = |i: usize| c.successors(i, &p.insns()[i]).collect::<Vec<_>>();
        assert_eq!(succ(1), [3, 2], "a conditional jump: the target, then the next instruction");
        assert_eq!(succ(2), [3], "an lddw is one instruction");
        assert_eq!(succ(3), [4], "a local call continues after the call");
        assert_eq!(c.jump_target(3, &p.insns()[3]), Some(5));
        assert_eq!(succ(4), [] as [usize; 0], "nothing after exit");
        assert_eq!(c.subprograms(), [0, 5]);
    }

    #[test]
    fn targets_offsets_and_lddw_halves_are_inverses() {
        for (pc, to) in [(0usize, 0usize), (5, 1), (1, 9), (100, 3)] {
            assert_eq!(target(pc, offset_to(pc, to)), to as i64);
        }
        assert_eq!(target(3, -4), 0, "offsets count from the next slot");
        for v in [0u64, 1, u64::MAX, 0x8000_0000, 0x1234_5678_9abc_def0] {
            let (lo, hi) = lddw_halves(v);
            assert_eq!(lddw_value(lo, hi), v);
        }
        assert_eq!(lddw_value(-1, 0), 0xffff_ffff, "the low half is not sign-extended");
    }

    #[test]
    fn validation_names_the_instruction() {
        let bad = |src: &str| Program::new(asm::assemble(src).unwrap()).unwrap_err();
        assert_eq!(bad("ja +5\nexit").kind, DecodeErrorKind::JumpOutOfRange { target: 6, len: 2 });
        assert_eq!(bad("ja +1\nlddw %r0, 1\nexit").kind, DecodeErrorKind::JumpIntoLddw { target: 2 });
        assert_eq!(bad("exit\nmov %r0, 1"), DecodeError { pc: 1, kind: DecodeErrorKind::FallThrough });
    }
}
