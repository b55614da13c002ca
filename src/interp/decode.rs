//! The interpreter's pre-decoded form: each instruction of a validated [`Program`] as
//! one specialised operation, so the run loop dispatches once per instruction.
//!
//! An [`Op`] is one row of spec/isa.json specialised by source and width (`AddX64`:
//! 64-bit add of a register, `JltK32`: 32-bit jump on an immediate). Immediates are
//! extended as the operation reads them, a plain `lddw` is a 64-bit move of its
//! constant, and jump and call targets are operation indices, not slot offsets.
//! Register numbers come from [`Reg`], so they are in range; the loop indexes a
//! 16-entry register file with `r & 15`, which needs no bound check.
//!
//! The operations carry no semantics of their own: the loop calls the pure functions
//! of [`crate::semantics`] with the operation's constant ALU op or condition.

use alloc::vec::Vec;

use crate::isa::cfg::lddw_value;
use crate::isa::{AluOp, AtomicOp, EndKind, EndWidth, Insn, JmpCond, LdKind, Program, Reg, Size, Source, Width};

/// A register number (below 11: it comes from a [`Reg`]).
pub(super) type R = u8;

/// Defines [`Op`] with one variant per ALU operation and jump condition × source ×
/// width, and the lowering of those instructions; `rest` lists the other variants.
macro_rules! ops {
    (
        alu { $($aop:ident => $ax64:ident $ak64:ident $ax32:ident $ak32:ident,)* }
        jmp { $($cond:ident => $jx64:ident $jk64:ident $jx32:ident $jk32:ident,)* }
        rest { $($rest:tt)* }
    ) => {
        /// One pre-decoded instruction (16 bytes). `X` forms read a source register,
        /// `K` forms a constant; `t` is the index of a jump's target operation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(super) enum Op {
            $( $ax64 { d: R, s: R }, $ak64 { d: R, k: u64 }, $ax32 { d: R, s: R }, $ak32 { d: R, k: u64 }, )*
            $( $jx64 { d: R, s: R, t: u32 }, $jk64 { d: R, k: u64, t: u32 }, $jx32 { d: R, s: R, t: u32 }, $jk32 { d: R, k: u64, t: u32 }, )*
            $($rest)*
        }

        fn alu(op: AluOp, width: Width, d: R, src: Source) -> Op {
            match (op, width, src) {
                $(
                    (AluOp::$aop, Width::W64, Source::Reg(s)) => Op::$ax64 { d, s: s.num() },
                    (AluOp::$aop, Width::W64, Source::Imm(i)) => Op::$ak64 { d, k: imm(i) },
                    (AluOp::$aop, Width::W32, Source::Reg(s)) => Op::$ax32 { d, s: s.num() },
                    (AluOp::$aop, Width::W32, Source::Imm(i)) => Op::$ak32 { d, k: imm(i) },
                )*
            }
        }

        fn jmp(cond: JmpCond, width: Width, d: R, src: Source, t: u32) -> Op {
            match (cond, width, src) {
                $(
                    (JmpCond::$cond, Width::W64, Source::Reg(s)) => Op::$jx64 { d, s: s.num(), t },
                    (JmpCond::$cond, Width::W64, Source::Imm(i)) => Op::$jk64 { d, k: imm(i), t },
                    (JmpCond::$cond, Width::W32, Source::Reg(s)) => Op::$jx32 { d, s: s.num(), t },
                    (JmpCond::$cond, Width::W32, Source::Imm(i)) => Op::$jk32 { d, k: imm(i), t },
                )*
            }
        }
    };
}

ops! {
    alu {
        Add => AddX64 AddK64 AddX32 AddK32,
        Sub => SubX64 SubK64 SubX32 SubK32,
        Mul => MulX64 MulK64 MulX32 MulK32,
        Div => DivX64 DivK64 DivX32 DivK32,
        Sdiv => SdivX64 SdivK64 SdivX32 SdivK32,
        Or => OrX64 OrK64 OrX32 OrK32,
        And => AndX64 AndK64 AndX32 AndK32,
        Lsh => LshX64 LshK64 LshX32 LshK32,
        Rsh => RshX64 RshK64 RshX32 RshK32,
        Mod => ModX64 ModK64 ModX32 ModK32,
        Smod => SmodX64 SmodK64 SmodX32 SmodK32,
        Xor => XorX64 XorK64 XorX32 XorK32,
        Mov => MovX64 MovK64 MovX32 MovK32,
        Arsh => ArshX64 ArshK64 ArshX32 ArshK32,
    }
    jmp {
        Eq => JeqX64 JeqK64 JeqX32 JeqK32,
        Gt => JgtX64 JgtK64 JgtX32 JgtK32,
        Ge => JgeX64 JgeK64 JgeX32 JgeK32,
        Set => JsetX64 JsetK64 JsetX32 JsetK32,
        Ne => JneX64 JneK64 JneX32 JneK32,
        Sgt => JsgtX64 JsgtK64 JsgtX32 JsgtK32,
        Sge => JsgeX64 JsgeK64 JsgeX32 JsgeK32,
        Lt => JltX64 JltK64 JltX32 JltK32,
        Le => JleX64 JleK64 JleX32 JleK32,
        Slt => JsltX64 JsltK64 JsltX32 JsltK32,
        Sle => JsleX64 JsleK64 JsleX32 JsleK32,
    }
    rest {
        Neg64 { d: R },
        Neg32 { d: R },
        /// MOVSX: sign-extend the low `bits` of `s`.
        MovSx64 { d: R, s: R, bits: u8 },
        MovSx32 { d: R, s: R, bits: u8 },
        /// Byte swaps and truncations (`le64` is a no-op and lowers to `Nop`).
        Le16 { d: R },
        Le32 { d: R },
        Swap16 { d: R },
        Swap32 { d: R },
        Swap64 { d: R },
        Nop,
        /// A pseudo `lddw` (map, map value, variable, code address), which the
        /// environment resolves when the run reaches it.
        LdPseudo { d: R, kind: LdKind, imm: i32, next_imm: i32 },
        /// Loads: `d = *(size *)(s + off)`, zero- or sign-extended (`S` forms).
        LdxB { d: R, s: R, off: u64 },
        LdxH { d: R, s: R, off: u64 },
        LdxW { d: R, s: R, off: u64 },
        LdxDW { d: R, s: R, off: u64 },
        LdxSB { d: R, s: R, off: u64 },
        LdxSH { d: R, s: R, off: u64 },
        LdxSW { d: R, s: R, off: u64 },
        /// Stores of a constant: `*(size *)(d + off) = k`.
        StB { d: R, off: i16, k: u64 },
        StH { d: R, off: i16, k: u64 },
        StW { d: R, off: i16, k: u64 },
        StDW { d: R, off: i16, k: u64 },
        /// Stores of a register: `*(size *)(d + off) = s`.
        StxB { d: R, s: R, off: u64 },
        StxH { d: R, s: R, off: u64 },
        StxW { d: R, s: R, off: u64 },
        StxDW { d: R, s: R, off: u64 },
        /// The same loads and stores where the verifier proved the access inside the
        /// memory the run may touch (verified mode): no check at run time.
        LdxBDirect { d: R, s: R, off: u64 },
        LdxHDirect { d: R, s: R, off: u64 },
        LdxWDirect { d: R, s: R, off: u64 },
        LdxDWDirect { d: R, s: R, off: u64 },
        LdxSBDirect { d: R, s: R, off: u64 },
        LdxSHDirect { d: R, s: R, off: u64 },
        LdxSWDirect { d: R, s: R, off: u64 },
        StBDirect { d: R, off: i16, k: u64 },
        StHDirect { d: R, off: i16, k: u64 },
        StWDirect { d: R, off: i16, k: u64 },
        StDWDirect { d: R, off: i16, k: u64 },
        StxBDirect { d: R, s: R, off: u64 },
        StxHDirect { d: R, s: R, off: u64 },
        StxWDirect { d: R, s: R, off: u64 },
        StxDWDirect { d: R, s: R, off: u64 },
        /// Atomic read-modify-write (one variant: the host atomic dominates its cost;
        /// always checked, as alignment is).
        Atomic { size: Size, op: AtomicOp, d: R, s: R, off: i16 },
        Ja { t: u32 },
        /// Helper by static id.
        Call { id: i32 },
        /// Helper whose id is in register `r`.
        Callx { r: R },
        /// bpf-to-bpf call of the function at operation `t`.
        CallLocal { t: u32 },
        Exit,
    }
}

/// A K operand as the operation reads it: sign-extended to 64 bits (32-bit operations
/// read its low half, which is the immediate itself).
fn imm(i: i32) -> u64 {
    crate::semantics::imm64(i)
}

fn reg(r: Reg) -> R {
    r.num()
}

/// The pre-decoded program: `ops[i]` is instruction `i` of the program, `insns[i]` the
/// instruction it came from and `slots[i]` that instruction's slot (for errors and traces).
pub(super) struct Decoded {
    pub ops: Vec<Op>,
    pub insns: Vec<Insn>,
    pub slots: Vec<u32>,
    /// Whether the program makes bpf-to-bpf calls (and so may use more than one frame).
    pub calls: bool,
    /// Verified mode: the loads and stores the verifier proved run unchecked.
    pub verified: bool,
}

impl Decoded {
    /// Every access checked (checked mode), or, in verified mode, instruction `i`'s load
    /// or store without a check where `proven[i]`.
    pub fn new(prog: &Program, proven: Option<&[bool]>) -> Decoded {
        let verified = proven.is_some();
        let proven = |i: usize| proven.is_some_and(|p| p.get(i).copied().unwrap_or(false));
        let cfg = prog.cfg();
        let insns = prog.insns().to_vec();
        // Validation checked every jump and call lands on an instruction.
        let target = |i: usize, insn: &Insn| cfg.jump_target(i, insn).expect("validated target") as u32;
        let ops = insns.iter().enumerate().map(|(i, insn)| lower(insn, || target(i, insn))).enumerate().map(|(i, op)| if proven(i) { direct(op) } else { op }).collect();
        let slots = (0..insns.len()).map(|i| cfg.slot_of(i) as u32).collect();
        let calls = insns.iter().any(|i| matches!(i, Insn::CallLocal { .. }));
        Decoded { ops, insns, slots, calls, verified }
    }
}

/// The unchecked form of a load or store; any other operation as it is.
fn direct(op: Op) -> Op {
    match op {
        Op::LdxB { d, s, off } => Op::LdxBDirect { d, s, off },
        Op::LdxH { d, s, off } => Op::LdxHDirect { d, s, off },
        Op::LdxW { d, s, off } => Op::LdxWDirect { d, s, off },
        Op::LdxDW { d, s, off } => Op::LdxDWDirect { d, s, off },
        Op::LdxSB { d, s, off } => Op::LdxSBDirect { d, s, off },
        Op::LdxSH { d, s, off } => Op::LdxSHDirect { d, s, off },
        Op::LdxSW { d, s, off } => Op::LdxSWDirect { d, s, off },
        Op::StB { d, off, k } => Op::StBDirect { d, off, k },
        Op::StH { d, off, k } => Op::StHDirect { d, off, k },
        Op::StW { d, off, k } => Op::StWDirect { d, off, k },
        Op::StDW { d, off, k } => Op::StDWDirect { d, off, k },
        Op::StxB { d, s, off } => Op::StxBDirect { d, s, off },
        Op::StxH { d, s, off } => Op::StxHDirect { d, s, off },
        Op::StxW { d, s, off } => Op::StxWDirect { d, s, off },
        Op::StxDW { d, s, off } => Op::StxDWDirect { d, s, off },
        other => other,
    }
}

/// The operation of one instruction; `target` gives its jump or call target's index.
fn lower(insn: &Insn, target: impl Fn() -> u32) -> Op {
    match *insn {
        Insn::Alu { width, op, dst, src } => alu(op, width, reg(dst), src),
        Insn::Neg { width: Width::W64, dst } => Op::Neg64 { d: reg(dst) },
        Insn::Neg { width: Width::W32, dst } => Op::Neg32 { d: reg(dst) },
        Insn::MovSx { width, bits, dst, src } => {
            let (d, s, bits) = (reg(dst), reg(src), bits.bits() as u8);
            match width {
                Width::W64 => Op::MovSx64 { d, s, bits },
                Width::W32 => Op::MovSx32 { d, s, bits },
            }
        }
        Insn::End { kind, bits, dst } => {
            let d = reg(dst);
            match (kind, bits) {
                (EndKind::Le, EndWidth::B16) => Op::Le16 { d },
                (EndKind::Le, EndWidth::B32) => Op::Le32 { d },
                (EndKind::Le, EndWidth::B64) => Op::Nop,
                (EndKind::Be | EndKind::Swap, EndWidth::B16) => Op::Swap16 { d },
                (EndKind::Be | EndKind::Swap, EndWidth::B32) => Op::Swap32 { d },
                (EndKind::Be | EndKind::Swap, EndWidth::B64) => Op::Swap64 { d },
            }
        }
        Insn::LdImm64 { kind: LdKind::Imm64, dst, imm, next_imm } => Op::MovK64 { d: reg(dst), k: lddw_value(imm, next_imm) },
        Insn::LdImm64 { kind, dst, imm, next_imm } => Op::LdPseudo { d: reg(dst), kind, imm, next_imm },
        Insn::Ldx { size, signed, dst, src, off } => {
            let (d, s, off) = (reg(dst), reg(src), off as i64 as u64);
            match (size, signed) {
                (Size::B, false) => Op::LdxB { d, s, off },
                (Size::H, false) => Op::LdxH { d, s, off },
                (Size::W, false) => Op::LdxW { d, s, off },
                (Size::DW, _) => Op::LdxDW { d, s, off },
                (Size::B, true) => Op::LdxSB { d, s, off },
                (Size::H, true) => Op::LdxSH { d, s, off },
                (Size::W, true) => Op::LdxSW { d, s, off },
            }
        }
        Insn::St { size, dst, off, imm: i } => {
            let (d, k) = (reg(dst), imm(i));
            match size {
                Size::B => Op::StB { d, off, k },
                Size::H => Op::StH { d, off, k },
                Size::W => Op::StW { d, off, k },
                Size::DW => Op::StDW { d, off, k },
            }
        }
        Insn::Stx { size, dst, src, off } => {
            let (d, s, off) = (reg(dst), reg(src), off as i64 as u64);
            match size {
                Size::B => Op::StxB { d, s, off },
                Size::H => Op::StxH { d, s, off },
                Size::W => Op::StxW { d, s, off },
                Size::DW => Op::StxDW { d, s, off },
            }
        }
        Insn::Atomic { size, op, dst, src, off } => Op::Atomic { size, op, d: reg(dst), s: reg(src), off },
        Insn::Ja { .. } | Insn::Gotol { .. } => Op::Ja { t: target() },
        Insn::Jmp { width, cond, dst, src, off: _ } => jmp(cond, width, reg(dst), src, target()),
        Insn::Call { helper } => Op::Call { id: helper.get() },
        Insn::Callx { reg: r } => Op::Callx { r: reg(r) },
        Insn::CallLocal { .. } => Op::CallLocal { t: target() },
        Insn::Exit => Op::Exit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::SxWidth;

    #[test]
    fn an_operation_is_two_words() {
        assert_eq!(core::mem::size_of::<Op>(), 16);
    }

    #[test]
    fn each_alu_and_jump_row_gets_its_own_operation() {
        let mut seen = alloc::vec::Vec::new();
        let ops = [AluOp::Add, AluOp::Sub, AluOp::Mul, AluOp::Div, AluOp::Sdiv, AluOp::Or, AluOp::And, AluOp::Lsh, AluOp::Rsh, AluOp::Mod, AluOp::Smod, AluOp::Xor, AluOp::Mov, AluOp::Arsh];
        for op in ops {
            for width in [Width::W64, Width::W32] {
                for src in [Source::Reg(Reg::R1), Source::Imm(7)] {
                    seen.push(core::mem::discriminant(&alu(op, width, 0, src)));
                }
            }
        }
        let conds = [JmpCond::Eq, JmpCond::Gt, JmpCond::Ge, JmpCond::Set, JmpCond::Ne, JmpCond::Sgt, JmpCond::Sge, JmpCond::Lt, JmpCond::Le, JmpCond::Slt, JmpCond::Sle];
        for cond in conds {
            for width in [Width::W64, Width::W32] {
                for src in [Source::Reg(Reg::R1), Source::Imm(7)] {
                    seen.push(core::mem::discriminant(&jmp(cond, width, 0, src, 0)));
                }
            }
        }
        let n = seen.len();
        seen.sort_by_key(|d| alloc::format!("{d:?}"));
        seen.dedup();
        assert_eq!(seen.len(), n, "two rows share an operation");
    }

    #[test]
    fn lowering_resolves_targets_and_constants() {
        let prog = Program::new(alloc::vec![
            Insn::LdImm64 { kind: LdKind::Imm64, dst: Reg::R0, imm: -1, next_imm: 2 },
            Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: Reg::R0, src: Source::Imm(-1), off: 1 },
            Insn::MovSx { width: Width::W64, bits: SxWidth::S8, dst: Reg::R0, src: Reg::R0 },
            Insn::Exit,
        ])
        .unwrap();
        let d = Decoded::new(&prog, None);
        assert_eq!(d.ops[0], Op::MovK64 { d: 0, k: 0x2_ffff_ffff });
        assert_eq!(d.ops[1], Op::JeqK64 { d: 0, k: u64::MAX, t: 3 }, "the target is the exit's index, not its slot");
        assert_eq!(d.slots, [0, 2, 3, 4]);
    }
}
