//! Lowering: one BPF instruction → a short list of [`RvInsn`], as a pure function.
//!
//! Every choice that depends on an immediate, an offset, a branch distance or an enabled
//! extension is made once, by [`shape`]; [`lower`] then follows the shape without looking
//! at the values again for decisions. So the code for one (opcode, shape) pair is a fixed
//! template whose only variables are registers and immediates: a finite set of cases,
//! each provable for all register values and all immediates the shape admits.
//!
//! ISA semantics live in the templates themselves (no verifier rewrite is assumed):
//! division by zero gives 0 and modulo by zero leaves dst (both checked on the low 32
//! bits for 32-bit ops), `INT_MIN / -1` wraps (RISC-V's `div` already does), shift
//! amounts are masked (RISC-V's register shifts mask too; immediate shifts are masked
//! here), and every 32-bit result is zero-extended.
//!
//! Registers as Linux's RV64 JIT: r0 = a5, r1–r5 = a0–a4, r6–r9 = s1–s4, r10 = s5;
//! t0–t3 are scratch. Four more callee-saved registers hold what a run needs: s6 the
//! link of the current BPF function (`exit` is `jalr zero, 0(s6)` at any depth), s7 the
//! run's context, s8 the helper dispatcher and s9 the lowest r10 a call may make (the
//! call-depth limit, checked at each call as the interpreter does); s0 keeps the host
//! frame, so the stop path leaves from any call depth.

use alloc::vec;
use alloc::vec::Vec;

use super::insn::*;
use crate::isa::{self, AluOp, AtomicOp, EndKind, EndWidth, Insn, JmpCond, LdKind, Size, Source, SxWidth, Width};

/// The RV64 register holding BPF register `r`.
pub const fn reg(r: isa::Reg) -> Reg {
    const MAP: [Reg; 11] = [Reg::A5, Reg::A0, Reg::A1, Reg::A2, Reg::A3, Reg::A4, Reg::S1, Reg::S2, Reg::S3, Reg::S4, Reg::S5];
    MAP[r.index()]
}

/// Scratch registers (never a BPF register).
const T0: Reg = Reg::T0;
const T1: Reg = Reg::T1;
const T2: Reg = Reg::T2;
const T3: Reg = Reg::T3;
/// Return address of the running BPF function.
pub const LINK: Reg = Reg::S6;
/// The run's context (the host's `RunCtx`); its first word receives r10 on a stop.
pub const CTX: Reg = Reg::S7;
/// The helper dispatcher's address.
pub const DISPATCH: Reg = Reg::S8;
/// The lowest r10 a bpf-to-bpf call may set: bottom of the BPF stack + one frame.
pub const FLOOR: Reg = Reg::S9;
/// The value the stop path returns in a1 when a call would exceed the frame limit (the
/// dispatcher returns 1 when a helper stops the program).
pub const STOP_CALL_DEPTH: i64 = 2;
/// Bytes of one BPF stack frame; a call moves r10 down by this much.
const STACK_FRAME: i64 = crate::mem::STACK_FRAME as i64;

/// How far a branch or jump reaches: the sizing passes pick the smallest that fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dist {
    /// `b<cc>` (±4 KiB); for `ja`, `jal` (±1 MiB).
    Near,
    /// `b<!cc> +8; jal` (±1 MiB); for `ja` the same as near.
    Mid,
    /// `b<!cc> +12; auipc; jalr` (±2 GiB).
    Far,
}

/// How a 32-bit constant is built in a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Const {
    /// 0: the zero register serves (or `addi rd, zero, 0`).
    Zero,
    /// Fits 12 signed bits: one `addi` (or the I-form of the operation).
    Small,
    /// Low 12 bits zero: one `lui`.
    Upper,
    /// `lui` + `addiw` (`addiw` wraps mod 2^32, so 0x7ffff800.. works).
    UpperLower,
}

impl Const {
    pub fn of(v: i64) -> Const {
        if v == 0 {
            Const::Zero
        } else if Imm12::new(v).is_some() {
            Const::Small
        } else if v & 0xfff == 0 {
            Const::Upper
        } else {
            Const::UpperLower
        }
    }
}

/// Which extensions lowering may use (with a base fallback for each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ext {
    pub zba: bool,
    pub zbb: bool,
}

/// The value-dependent choices for one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Form {
    /// Nothing depends on a value.
    Plain,
    /// ALU with an immediate: `small` = the I-form (or immediate shift) applies; else the
    /// constant is built in t1 as `konst` says.
    AluImm { small: bool, konst: Const },
    /// A memory access whose offset fits 12 bits (`small`) or is built in t1.
    Mem { small: bool, off: Const },
    /// A store of an immediate: the value built in t2 (or the zero register).
    StImm { small: bool, off: Const, imm: Const },
    /// `lddw`: a sign-extended 32-bit value, or high and low halves.
    Imm64 { wide: bool, hi: Const, lo: Const },
    /// A conditional jump: the immediate (K form) and the reach.
    Jmp { konst: Const, dist: Dist },
    /// An unconditional jump (`ja`, `gotol`) or a bpf-to-bpf call.
    Ja { dist: Dist },
    /// A helper call: how the helper id is built (zero for `callx`, whose id is in a
    /// register) and the reach of the branch to the stop path.
    Call { id: Const, dist: Dist },
}

/// A shape: the form plus the extensions in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub form: Form,
    pub ext: Ext,
}

/// Why an instruction has no lowering: every instruction the decoder accepts has one
/// once its pseudo lddw are resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LowerError {
    #[error("instruction {pc}: lddw source {src} must be resolved before JIT compilation")]
    Unresolved { pc: usize, src: u8 },
}

/// The only place where values decide the code: immediates, offsets, the branch reach
/// `dist` (from the sizing passes) and the extensions.
pub fn shape(insn: &Insn, dist: Dist, ext: Ext) -> Shape {
    let form = match *insn {
        Insn::Alu { op, src: Source::Imm(imm), .. } => {
            let imm = imm as i64;
            let small = match op {
                AluOp::Add | AluOp::And | AluOp::Or | AluOp::Xor => Imm12::new(imm).is_some(),
                AluOp::Sub => Imm12::new(-imm).is_some(),
                AluOp::Lsh | AluOp::Rsh | AluOp::Arsh | AluOp::Mov => true,
                _ => false,
            };
            Form::AluImm { small, konst: Const::of(imm) }
        }
        Insn::Ldx { off, .. } | Insn::Stx { off, .. } | Insn::Atomic { off, .. } => Form::Mem { small: Imm12::new(off as i64).is_some(), off: Const::of(off as i64) },
        Insn::St { off, imm, .. } => Form::StImm { small: Imm12::new(off as i64).is_some(), off: Const::of(off as i64), imm: Const::of(imm as i64) },
        Insn::LdImm64 { imm, next_imm, .. } => {
            let v = (imm as u32 as u64 | (next_imm as u64) << 32) as i64;
            match i32::try_from(v) {
                Ok(v) => Form::Imm64 { wide: false, hi: Const::Zero, lo: Const::of(v as i64) },
                Err(_) => Form::Imm64 { wide: true, hi: Const::of(next_imm as i64), lo: Const::of(imm as i64) },
            }
        }
        Insn::Jmp { src, .. } => Form::Jmp { konst: if let Source::Imm(i) = src { Const::of(i as i64) } else { Const::Zero }, dist },
        // `jal` reaches ±1 MiB: near and mid are one form.
        Insn::Ja { .. } | Insn::Gotol { .. } | Insn::CallLocal { .. } => Form::Ja { dist: if dist == Dist::Far { Dist::Far } else { Dist::Near } },
        Insn::Call { helper } => Form::Call { id: Const::of(helper.get() as i64), dist },
        Insn::Callx { .. } => Form::Call { id: Const::Zero, dist },
        _ => Form::Plain,
    };
    Shape { form, ext }
}

/// Builds the 32-bit constant `v` (sign-extended to 64 bits) in `rd`.
pub fn li32(rd: Reg, v: i32, how: Const, out: &mut Vec<RvInsn>) {
    let v = v as i64;
    match how {
        Const::Zero | Const::Small => out.push(RvInsn::I { op: IOp::Addi, rd, rs1: Reg::ZERO, imm: Imm12::new(v).expect("shape: fits 12 bits") }),
        Const::Upper => out.push(RvInsn::Lui { rd, imm: hi20(v) }),
        Const::UpperLower => {
            let lo = ((v & 0xfff) ^ 0x800) - 0x800;
            out.push(RvInsn::Lui { rd, imm: hi20(v - lo) });
            out.push(RvInsn::I { op: IOp::Addiw, rd, rs1: rd, imm: Imm12::new(lo).expect("sign-extended low 12 bits") });
        }
    }
}

/// The `lui` field for a value whose low 12 bits are zero, wrapped to 20 bits: `lui`
/// sign-extends bit 31, and a following `addiw` works mod 2^32.
fn hi20(v: i64) -> Imm20 {
    let field = ((v >> 12) & 0xfffff) as i32;
    Imm20::new(((field ^ 0x80000) - 0x80000) as i64).expect("20-bit field")
}

/// A constant operand: the zero register for 0, else built in `tmp`.
fn konst(tmp: Reg, v: i32, how: Const, out: &mut Vec<RvInsn>) -> Reg {
    if how == Const::Zero {
        return Reg::ZERO;
    }
    li32(tmp, v, how, out);
    tmp
}

/// `rd = zext32(rs)`.
fn zext32(rd: Reg, rs: Reg, ext: Ext, out: &mut Vec<RvInsn>) {
    if ext.zba {
        out.push(RvInsn::R { op: ROp::AddUw, rd, rs1: rs, rs2: Reg::ZERO });
    } else {
        out.push(RvInsn::Sh { op: ShOp::Slli, rd, rs1: rs, sh: Shamt6::masked(32) });
        out.push(RvInsn::Sh { op: ShOp::Srli, rd, rs1: rd, sh: Shamt6::masked(32) });
    }
}

/// `rd = sext(rs, from bits)` for 8 and 16 bits.
fn sext_small(rd: Reg, rs: Reg, bits: u32, ext: Ext, out: &mut Vec<RvInsn>) {
    if ext.zbb {
        out.push(RvInsn::Un { op: if bits == 8 { UnOp::SextB } else { UnOp::SextH }, rd, rs1: rs });
    } else {
        out.push(RvInsn::Sh { op: ShOp::Slli, rd, rs1: rs, sh: Shamt6::masked(64 - bits as i32) });
        out.push(RvInsn::Sh { op: ShOp::Srai, rd, rs1: rd, sh: Shamt6::masked(64 - bits as i32) });
    }
}

fn r(op: ROp, rd: Reg, rs1: Reg, rs2: Reg) -> RvInsn {
    RvInsn::R { op, rd, rs1, rs2 }
}

fn i(op: IOp, rd: Reg, rs1: Reg, imm: i64) -> RvInsn {
    RvInsn::I { op, rd, rs1, imm: Imm12::new(imm).expect("shape: fits 12 bits") }
}

/// The RISC-V operation of a BPF ALU operation on registers, 64- or 32-bit.
fn rop(op: AluOp, w32: bool) -> ROp {
    use AluOp::*;
    match (op, w32) {
        (Add, false) => ROp::Add,
        (Add, true) => ROp::Addw,
        (Sub, false) => ROp::Sub,
        (Sub, true) => ROp::Subw,
        (Mul, false) => ROp::Mul,
        (Mul, true) => ROp::Mulw,
        (Div, false) => ROp::Divu,
        (Div, true) => ROp::Divuw,
        (Sdiv, false) => ROp::Div,
        (Sdiv, true) => ROp::Divw,
        (Mod, false) => ROp::Remu,
        (Mod, true) => ROp::Remuw,
        (Smod, false) => ROp::Rem,
        (Smod, true) => ROp::Remw,
        (Or, _) => ROp::Or,
        (And, _) => ROp::And,
        (Xor, _) => ROp::Xor,
        (Lsh, false) => ROp::Sll,
        (Lsh, true) => ROp::Sllw,
        (Rsh, false) => ROp::Srl,
        (Rsh, true) => ROp::Srlw,
        (Arsh, false) => ROp::Sra,
        (Arsh, true) => ROp::Sraw,
        (Mov, _) => unreachable!("mov has no R-form"),
    }
}

/// `dst = dst op src` for register operands (src may be a scratch register holding a
/// constant).
fn alu_reg(op: AluOp, w32: bool, dst: Reg, src: Reg, ext: Ext, out: &mut Vec<RvInsn>) {
    match op {
        AluOp::Mov if w32 => zext32(dst, src, ext, out),
        AluOp::Mov => out.push(i(IOp::Addi, dst, src, 0)),
        AluOp::Div | AluOp::Sdiv => {
            // t2 = (divisor == 0) - 1: all ones unless the divisor is 0; RISC-V's
            // quotient by 0 (all ones) is then masked to BPF's 0.
            if w32 {
                out.push(RvInsn::Sh { op: ShOp::Slli, rd: T2, rs1: src, sh: Shamt6::masked(32) });
                out.push(i(IOp::Sltiu, T2, T2, 1));
            } else {
                out.push(i(IOp::Sltiu, T2, src, 1));
            }
            out.push(r(rop(op, w32), dst, dst, src));
            out.push(i(IOp::Addi, T2, T2, -1));
            out.push(r(ROp::And, dst, dst, T2));
            if w32 {
                zext32(dst, dst, ext, out);
            }
        }
        _ => {
            out.push(r(rop(op, w32), dst, dst, src));
            if w32 {
                zext32(dst, dst, ext, out);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn alu_imm(op: AluOp, w32: bool, dst: Reg, imm: i32, small: bool, how: Const, ext: Ext, out: &mut Vec<RvInsn>) {
    let v = imm as i64;
    match (op, small) {
        (AluOp::Mov, _) => {
            li32(dst, imm, how, out);
            if w32 && imm < 0 {
                zext32(dst, dst, ext, out);
            }
            return;
        }
        (AluOp::Lsh | AluOp::Rsh | AluOp::Arsh, _) => {
            let sh = match op {
                AluOp::Lsh => ShOp::Slli,
                AluOp::Rsh => ShOp::Srli,
                _ => ShOp::Srai,
            };
            if w32 {
                out.push(RvInsn::ShW { op: sh, rd: dst, rs1: dst, sh: Shamt5::masked(imm) });
                zext32(dst, dst, ext, out);
            } else {
                out.push(RvInsn::Sh { op: sh, rd: dst, rs1: dst, sh: Shamt6::masked(imm) });
            }
            return;
        }
        (AluOp::Add, true) => out.push(i(if w32 { IOp::Addiw } else { IOp::Addi }, dst, dst, v)),
        (AluOp::Sub, true) => out.push(i(if w32 { IOp::Addiw } else { IOp::Addi }, dst, dst, -v)),
        (AluOp::And, true) => out.push(i(IOp::Andi, dst, dst, v)),
        (AluOp::Or, true) => out.push(i(IOp::Ori, dst, dst, v)),
        (AluOp::Xor, true) => out.push(i(IOp::Xori, dst, dst, v)),
        _ => {
            let src = konst(T1, imm, how, out);
            return alu_reg(op, w32, dst, src, ext, out);
        }
    }
    if w32 {
        zext32(dst, dst, ext, out);
    }
}

/// Byte swap of the low `bytes` bytes of `rd` (the base-ISA fallback of `rev8`).
fn bswap(rd: Reg, bytes: u32, out: &mut Vec<RvInsn>) {
    out.push(i(IOp::Addi, T2, Reg::ZERO, 0));
    for k in 0..bytes {
        out.push(i(IOp::Andi, T1, rd, 0xff));
        out.push(r(ROp::Or, T2, T2, T1));
        if k + 1 < bytes {
            out.push(RvInsn::Sh { op: ShOp::Slli, rd: T2, rs1: T2, sh: Shamt6::masked(8) });
            out.push(RvInsn::Sh { op: ShOp::Srli, rd, rs1: rd, sh: Shamt6::masked(8) });
        }
    }
    out.push(i(IOp::Addi, rd, T2, 0));
}

/// The address `base + off` as (register, 12-bit offset).
fn addr(base: Reg, off: i16, small: bool, how: Const, out: &mut Vec<RvInsn>) -> (Reg, Imm12) {
    if small {
        return (base, Imm12::new(off as i64).expect("shape: fits 12 bits"));
    }
    li32(T1, off as i32, how, out);
    out.push(r(ROp::Add, T1, T1, base));
    (T1, Imm12::ZERO)
}

/// A conditional branch to `target` with the reach `dist`.
fn branch(cond: Cond, a: Reg, b: Reg, target: Target, dist: Dist, out: &mut Vec<RvInsn>) {
    match dist {
        Dist::Near => out.push(RvInsn::Branch { cond, rs1: a, rs2: b, target }),
        Dist::Mid => {
            out.push(RvInsn::Branch { cond: cond.invert(), rs1: a, rs2: b, target: Target::Skip(Skip::insns(1)) });
            out.push(RvInsn::Jal { rd: Reg::ZERO, target });
        }
        Dist::Far => {
            out.push(RvInsn::Branch { cond: cond.invert(), rs1: a, rs2: b, target: Target::Skip(Skip::insns(2)) });
            out.push(RvInsn::FarJump { tmp: T1, target });
        }
    }
}

fn jump(target: Target, dist: Dist, out: &mut Vec<RvInsn>) {
    match dist {
        Dist::Near | Dist::Mid => out.push(RvInsn::Jal { rd: Reg::ZERO, target }),
        Dist::Far => out.push(RvInsn::FarJump { tmp: T1, target }),
    }
}

/// Lowers the instruction at slot `pc` following `shape` (which must be
/// `shape(insn, ..)`). lddw must already be resolved to a constant (the runtime's
/// fixup does that).
pub fn lower(insn: &Insn, pc: usize, s: &Shape) -> Result<Vec<RvInsn>, LowerError> {
    let ext = s.ext;
    let mut out = Vec::with_capacity(4);
    let o = &mut out;
    match (*insn, s.form) {
        (Insn::Alu { width, op, dst, src: Source::Reg(src) }, Form::Plain) => alu_reg(op, width == Width::W32, reg(dst), reg(src), ext, o),
        (Insn::Alu { width, op, dst, src: Source::Imm(imm) }, Form::AluImm { small, konst }) => alu_imm(op, width == Width::W32, reg(dst), imm, small, konst, ext, o),
        (Insn::Neg { width, dst }, Form::Plain) => {
            let d = reg(dst);
            if width == Width::W32 {
                o.push(r(ROp::Subw, d, Reg::ZERO, d));
                zext32(d, d, ext, o);
            } else {
                o.push(r(ROp::Sub, d, Reg::ZERO, d));
            }
        }
        (Insn::MovSx { width, bits, dst, src }, Form::Plain) => {
            let (d, s) = (reg(dst), reg(src));
            match bits {
                SxWidth::S32 => o.push(i(IOp::Addiw, d, s, 0)),
                b => sext_small(d, s, b.bits(), ext, o),
            }
            if width == Width::W32 {
                zext32(d, d, ext, o);
            }
        }
        (Insn::End { kind, bits, dst }, Form::Plain) => {
            let d = reg(dst);
            match (kind, bits) {
                (EndKind::Le, EndWidth::B16) if ext.zbb => o.push(RvInsn::Un { op: UnOp::ZextH, rd: d, rs1: d }),
                (EndKind::Le, EndWidth::B16) => {
                    o.push(RvInsn::Sh { op: ShOp::Slli, rd: d, rs1: d, sh: Shamt6::masked(48) });
                    o.push(RvInsn::Sh { op: ShOp::Srli, rd: d, rs1: d, sh: Shamt6::masked(48) });
                }
                (EndKind::Le, EndWidth::B32) => zext32(d, d, ext, o),
                (EndKind::Le, EndWidth::B64) => {}
                (_, b) if ext.zbb => {
                    o.push(RvInsn::Un { op: UnOp::Rev8, rd: d, rs1: d });
                    if b != EndWidth::B64 {
                        o.push(RvInsn::Sh { op: ShOp::Srli, rd: d, rs1: d, sh: Shamt6::masked(64 - b.bits() as i32) });
                    }
                }
                (_, b) => bswap(d, b.bits() / 8, o),
            }
        }
        (Insn::LdImm64 { kind, dst, imm, next_imm }, Form::Imm64 { wide, hi, lo }) => {
            if kind != LdKind::Imm64 {
                return Err(LowerError::Unresolved { pc, src: kind.src() });
            }
            let d = reg(dst);
            if !wide {
                li32(d, imm, lo, o);
            } else {
                // d = hi << 32 | zext32(lo)
                li32(d, next_imm, hi, o);
                o.push(RvInsn::Sh { op: ShOp::Slli, rd: d, rs1: d, sh: Shamt6::masked(32) });
                if lo != Const::Zero {
                    li32(T1, imm, lo, o);
                    if ext.zba {
                        o.push(r(ROp::AddUw, d, T1, d));
                    } else {
                        zext32(T1, T1, ext, o);
                        o.push(r(ROp::Or, d, d, T1));
                    }
                }
            }
        }
        (Insn::Ldx { size, signed, dst, src, off }, Form::Mem { small, off: how }) => {
            let (base, off) = addr(reg(src), off, small, how, o);
            let op = match (size, signed) {
                (Size::B, false) => LoadOp::Lbu,
                (Size::H, false) => LoadOp::Lhu,
                (Size::W, false) => LoadOp::Lwu,
                (Size::B, true) => LoadOp::Lb,
                (Size::H, true) => LoadOp::Lh,
                (Size::W, true) => LoadOp::Lw,
                (Size::DW, _) => LoadOp::Ld,
            };
            o.push(RvInsn::Load { op, rd: reg(dst), base, off });
        }
        (Insn::Stx { size, dst, src, off }, Form::Mem { small, off: how }) => {
            let (base, off) = addr(reg(dst), off, small, how, o);
            o.push(RvInsn::Store { op: store_op(size), src: reg(src), base, off });
        }
        (Insn::St { size, dst, off, imm }, Form::StImm { small, off: how, imm: ihow }) => {
            let v = konst(T2, imm, ihow, o);
            let (base, off) = addr(reg(dst), off, small, how, o);
            o.push(RvInsn::Store { op: store_op(size), src: v, base, off });
        }
        (Insn::Ja { off }, Form::Ja { dist }) => jump(Target::Pc(jump_target(pc, off as i64)), dist, o),
        (Insn::Gotol { imm }, Form::Ja { dist }) => jump(Target::Pc(jump_target(pc, imm as i64)), dist, o),
        (Insn::Jmp { width, cond, dst, src, off }, Form::Jmp { konst: how, dist }) => {
            let target = Target::Pc(jump_target(pc, off as i64));
            let w32 = width == Width::W32;
            let signed = matches!(cond, JmpCond::Sgt | JmpCond::Sge | JmpCond::Slt | JmpCond::Sle);
            let mut a = reg(dst);
            let mut b = match src {
                Source::Reg(s) => reg(s),
                Source::Imm(v) => konst(T2, v, how, o),
            };
            if cond == JmpCond::Set {
                o.push(r(ROp::And, T1, a, b));
                if w32 {
                    o.push(RvInsn::Sh { op: ShOp::Slli, rd: T1, rs1: T1, sh: Shamt6::masked(32) });
                }
                branch(Cond::Ne, T1, Reg::ZERO, target, dist, o);
                return Ok(out);
            }
            if w32 {
                // Compare the low halves: sign- or zero-extended into scratch registers.
                if signed {
                    o.push(i(IOp::Addiw, T1, a, 0));
                    if b != Reg::ZERO {
                        o.push(i(IOp::Addiw, T2, b, 0));
                    }
                } else {
                    zext32(T1, a, ext, o);
                    if b != Reg::ZERO {
                        zext32(T2, b, ext, o);
                    }
                }
                a = T1;
                if b != Reg::ZERO {
                    b = T2;
                }
            }
            let (c, x, y) = match cond {
                JmpCond::Eq => (Cond::Eq, a, b),
                JmpCond::Ne => (Cond::Ne, a, b),
                JmpCond::Gt => (Cond::Ltu, b, a),
                JmpCond::Ge => (Cond::Geu, a, b),
                JmpCond::Lt => (Cond::Ltu, a, b),
                JmpCond::Le => (Cond::Geu, b, a),
                JmpCond::Sgt => (Cond::Lt, b, a),
                JmpCond::Sge => (Cond::Ge, a, b),
                JmpCond::Slt => (Cond::Lt, a, b),
                JmpCond::Sle => (Cond::Ge, b, a),
                JmpCond::Set => unreachable!("handled above"),
            };
            branch(c, x, y, target, dist, o);
        }
        // Returns from the running BPF function, whatever its depth.
        (Insn::Exit, Form::Plain) => o.push(RvInsn::Jalr { rd: Reg::ZERO, rs1: LINK, off: Imm12::ZERO }),
        (Insn::Call { helper }, Form::Call { id, dist }) => {
            li32(Reg::A5, helper.get(), id, o);
            helper_call(dist, o);
        }
        (Insn::Callx { reg: r }, Form::Call { dist, .. }) => {
            o.push(i(IOp::Addi, Reg::A5, reg(r), 0));
            helper_call(dist, o);
        }
        (Insn::CallLocal { imm }, Form::Ja { dist }) => local_call(Target::Pc(jump_target(pc, imm as i64)), dist, o),
        (Insn::Atomic { size, op, dst, src, off }, Form::Mem { small, off: how }) => {
            let a = if how == Const::Zero { reg(dst) } else { amo_addr(reg(dst), off, small, how, o) };
            atomic(size, op, a, reg(src), ext, o);
        }
        (insn, form) => unreachable!("shape {form:?} does not belong to {insn:?}"),
    }
    Ok(out)
}

/// The helper call after the id is in a5: the dispatcher gets r1–r5 in a0–a4, the id,
/// the run context and this call's address (to name the instruction if the helper
/// fails), and returns (r0, stop) in (a0, a1). A non-zero stop leaves the program.
fn helper_call(dist: Dist, o: &mut Vec<RvInsn>) {
    o.push(i(IOp::Addi, Reg::A6, CTX, 0));
    o.push(RvInsn::Auipc { rd: Reg::A7, imm: Imm20::ZERO });
    o.push(RvInsn::Jalr { rd: Reg::RA, rs1: DISPATCH, off: Imm12::ZERO });
    branch(Cond::Ne, Reg::A1, Reg::ZERO, Target::Abort, dist, o);
    o.push(i(IOp::Addi, Reg::A5, Reg::A0, 0));
}

/// Callee-saved state of a BPF call, saved by the caller on the host stack: r6–r9, r10
/// and the link.
const CALL_SAVED: [Reg; 6] = [Reg::S1, Reg::S2, Reg::S3, Reg::S4, Reg::S5, LINK];

/// A bpf-to-bpf call: save r6–r10 and the link, give the callee the next stack frame
/// (stopping if there is none: the frame limit), call with the link register, restore.
fn local_call(target: Target, dist: Dist, o: &mut Vec<RvInsn>) {
    let size = 8 * CALL_SAVED.len() as i64;
    o.push(i(IOp::Addi, Reg::SP, Reg::SP, -size));
    for (k, &s) in CALL_SAVED.iter().enumerate() {
        o.push(RvInsn::Store { op: StoreOp::Sd, src: s, base: Reg::SP, off: Imm12::new(8 * k as i64).expect("in the save area") });
    }
    o.push(i(IOp::Addi, Reg::S5, Reg::S5, -STACK_FRAME));
    // Past the limit: a7 = this call's address, to the depth stop.
    o.push(RvInsn::Branch { cond: Cond::Geu, rs1: Reg::S5, rs2: FLOOR, target: Target::Skip(Skip::insns(1 + dist_words(dist))) });
    o.push(RvInsn::Auipc { rd: Reg::A7, imm: Imm20::ZERO });
    jump(Target::DepthStop, dist, o);
    match dist {
        Dist::Near | Dist::Mid => o.push(RvInsn::Jal { rd: LINK, target }),
        Dist::Far => o.push(RvInsn::FarCall { rd: LINK, target }),
    }
    for (k, &s) in CALL_SAVED.iter().enumerate() {
        o.push(RvInsn::Load { op: LoadOp::Ld, rd: s, base: Reg::SP, off: Imm12::new(8 * k as i64).expect("in the save area") });
    }
    o.push(i(IOp::Addi, Reg::SP, Reg::SP, size));
}

/// Instructions of an unconditional jump with reach `dist`.
fn dist_words(dist: Dist) -> u8 {
    if dist == Dist::Far {
        2
    } else {
        1
    }
}

/// The address `base + off` in t1 (the A extension has no offset field).
fn amo_addr(base: Reg, off: i16, small: bool, how: Const, o: &mut Vec<RvInsn>) -> Reg {
    if small {
        o.push(i(IOp::Addi, T1, base, off as i64));
    } else {
        li32(T1, off as i32, how, o);
        o.push(r(ROp::Add, T1, T1, base));
    }
    T1
}

/// An atomic operation on the word at `a`. Fetched values land in t2 first, so `src`
/// may also be the address register; 32-bit fetches are zero-extended (the A extension
/// sign-extends them). cmpxchg is an LR/SC loop comparing with r0.
fn atomic(size: Size, op: AtomicOp, a: Reg, src: Reg, ext: Ext, o: &mut Vec<RvInsn>) {
    let width = if size == Size::DW { AmoWidth::D } else { AmoWidth::W };
    let w32 = width == AmoWidth::W;
    let amo = match op {
        AtomicOp::Add | AtomicOp::FetchAdd => AmoOp::Add,
        AtomicOp::Or | AtomicOp::FetchOr => AmoOp::Or,
        AtomicOp::And | AtomicOp::FetchAnd => AmoOp::And,
        AtomicOp::Xor | AtomicOp::FetchXor => AmoOp::Xor,
        AtomicOp::Xchg => AmoOp::Swap,
        AtomicOp::Cmpxchg => {
            let r0 = Reg::A5;
            // lr.w sign-extends: compare with r0's low half sign-extended.
            let expect = if w32 {
                o.push(i(IOp::Addiw, T0, r0, 0));
                T0
            } else {
                r0
            };
            o.push(RvInsn::Lr { width, rd: T2, addr: a });
            o.push(RvInsn::Branch { cond: Cond::Ne, rs1: T2, rs2: expect, target: Target::Skip(Skip::insns(2)) });
            o.push(RvInsn::Sc { width, rd: T3, src, addr: a });
            o.push(RvInsn::Branch { cond: Cond::Ne, rs1: T3, rs2: Reg::ZERO, target: Target::Skip(Skip::back(3)) });
            fetched(r0, w32, ext, o);
            return;
        }
    };
    if op.fetches() {
        o.push(RvInsn::Amo { op: amo, width, rd: T2, src, addr: a });
        fetched(src, w32, ext, o);
    } else {
        o.push(RvInsn::Amo { op: amo, width, rd: Reg::ZERO, src, addr: a });
    }
}

/// `rd = t2`, zero-extended for a 32-bit access.
fn fetched(rd: Reg, w32: bool, ext: Ext, o: &mut Vec<RvInsn>) {
    if w32 {
        zext32(rd, T2, ext, o);
    } else {
        o.push(i(IOp::Addi, rd, T2, 0));
    }
}

fn store_op(size: Size) -> StoreOp {
    match size {
        Size::B => StoreOp::Sb,
        Size::H => StoreOp::Sh,
        Size::W => StoreOp::Sw,
        Size::DW => StoreOp::Sd,
    }
}

/// The slot a jump at `pc` with offset `off` lands on (the decoder has checked it).
fn jump_target(pc: usize, off: i64) -> usize {
    (pc as i64 + 1 + off) as usize
}

/// Everything the lowering needs about one program: the instructions in order with
/// their slots.
pub fn lower_all(prog: &isa::Program, dists: &[Dist], ext: Ext) -> Result<Vec<Vec<RvInsn>>, LowerError> {
    prog.iter().zip(dists).map(|((pc, insn), &d)| lower(insn, pc, &shape(insn, d, ext))).collect()
}

/// Registers the host's frame saves: ra and every callee-saved register the code uses.
const SAVED: [Reg; 11] = [Reg::RA, Reg::S0, Reg::S1, Reg::S2, Reg::S3, Reg::S4, Reg::S5, LINK, CTX, DISPATCH, FLOOR];

/// Bytes of the host frame (16-aligned).
pub const FRAME: i64 = (8 * SAVED.len() as i64 + 15) & !15;

/// The code before the body: entry from the host, the normal return and the stop path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub insns: Vec<RvInsn>,
    /// Index in `insns` of the stop path (`Target::Abort`).
    pub abort: usize,
    /// Index in `insns` of the call-depth stop (`Target::DepthStop`).
    pub depth: usize,
}

/// Entry from the host with the RISC-V calling convention: a0 = r1, a1 = r2, a2 = the
/// top of the BPF stack (r10), a3 = the run context, a4 = the helper dispatcher, a5 =
/// the lowest r10 a call may make.
/// Returns (a0, a1) = (r0, 0) when the program exits, or what the dispatcher returned
/// when a helper stopped it.
pub fn header() -> Header {
    let mut o = vec![i(IOp::Addi, Reg::SP, Reg::SP, -FRAME)];
    let slot = |k: usize| Imm12::new(FRAME - 8 - 8 * k as i64).expect("in the frame");
    for (k, &s) in SAVED.iter().enumerate() {
        o.push(RvInsn::Store { op: StoreOp::Sd, src: s, base: Reg::SP, off: slot(k) });
    }
    o.push(i(IOp::Addi, Reg::S0, Reg::SP, FRAME));
    o.push(i(IOp::Addi, Reg::S5, Reg::A2, 0));
    o.push(i(IOp::Addi, CTX, Reg::A3, 0));
    o.push(i(IOp::Addi, DISPATCH, Reg::A4, 0));
    o.push(i(IOp::Addi, FLOOR, Reg::A5, 0));
    // The body starts right after the header: slot 0.
    o.push(RvInsn::Jal { rd: LINK, target: Target::Pc(0) });
    o.push(i(IOp::Addi, Reg::A0, Reg::A5, 0));
    o.push(i(IOp::Addi, Reg::A1, Reg::ZERO, 0));
    o.push(RvInsn::Jal { rd: Reg::ZERO, target: Target::Skip(Skip::insns(4)) });
    // The call-depth stop: the call's address (a7) to the context's second word.
    let depth = o.len();
    o.push(RvInsn::Store { op: StoreOp::Sd, src: Reg::A7, base: CTX, off: Imm12::new(8).expect("small") });
    o.push(i(IOp::Addi, Reg::A1, Reg::ZERO, STOP_CALL_DEPTH));
    // The stop path: tell the host where r10 was (a tail call is only allowed from the
    // entry frame), drop every BPF call frame.
    let abort = o.len();
    o.push(RvInsn::Store { op: StoreOp::Sd, src: Reg::S5, base: CTX, off: Imm12::ZERO });
    o.push(i(IOp::Addi, Reg::SP, Reg::S0, -FRAME));
    for (k, &s) in SAVED.iter().enumerate() {
        o.push(RvInsn::Load { op: LoadOp::Ld, rd: s, base: Reg::SP, off: slot(k) });
    }
    o.push(i(IOp::Addi, Reg::SP, Reg::SP, FRAME));
    o.push(RvInsn::Jalr { rd: Reg::ZERO, rs1: Reg::RA, off: Imm12::ZERO });
    Header { insns: o, abort, depth }
}
