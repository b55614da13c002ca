//! The BPF semantics of one instruction as z3 terms: r0–r10 as 64-bit vectors in, the
//! registers, the ordered [`Event`]s and the next pc out.
//!
//! It restates src/semantics.rs over bit vectors; tests/smt_models.rs pins the two
//! together by evaluating this model on 10^5 random concrete values per operation class.
//! What src/semantics.rs leaves to the interpreter is stated here as the ISA document
//! states it: a helper call hands r1–r5 to the helper, sets r0 and leaves r1–r5 unknown;
//! a helper may stop the program; a bpf-to-bpf call moves r10 down one frame, or stops
//! the program when there is no frame left.

use alloc::vec::Vec;

use z3::ast::{Bool, BV};

use super::{arith, k64, Event, EventKind, Oracle};
use crate::isa::{cfg, AluOp, AtomicOp, EndKind, EndWidth, Insn, JmpCond, LdKind, Source, SxWidth, Width};

/// The next pc of a run, as one 64-bit value: a slot, or one of these.
pub const NEXT_EXIT: u64 = u64::MAX;
/// A helper stopped the program (exit, tail call or error).
pub const NEXT_ABORT: u64 = u64::MAX - 1;
/// A bpf-to-bpf call found no stack frame left.
pub const NEXT_DEPTH: u64 = u64::MAX - 2;

/// Bytes of one BPF stack frame.
const FRAME: u64 = crate::mem::STACK_FRAME as u64;

/// The effect of one instruction.
#[derive(Clone, Debug)]
pub struct Step {
    pub regs: Vec<BV>,
    /// Registers whose value is defined afterwards (a helper call leaves r1–r5 unknown).
    pub defined: [bool; 11],
    pub events: Vec<Event>,
    pub next: BV,
}

/// Why an instruction has no model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("lddw with source {0} must be resolved to a constant before it is checked")]
    Unresolved(u8),
}

/// `op` on 64 bits (src/semantics.rs `alu64`).
pub fn alu64(op: AluOp, d: &BV, s: &BV) -> BV {
    alu(op, d, s, 64)
}

/// `op` on the low 32 bits, zero-extended (src/semantics.rs `alu32`).
pub fn alu32(op: AluOp, d: &BV, s: &BV) -> BV {
    alu(op, &d.extract(31, 0), &s.extract(31, 0), 32).zero_ext(32)
}

/// `op` on `bits`-bit words (64 and 32 are the ISA's widths; the verifier's operator
/// proofs also take the same operations at 8 and 16 bits).
pub fn alu_at(op: AluOp, d: &BV, s: &BV, bits: u32) -> BV {
    alu(op, d, s, bits)
}

fn alu(op: AluOp, d: &BV, s: &BV, bits: u32) -> BV {
    let zero = BV::from_u64(0, bits);
    let is_zero = s.eq(&zero);
    let mask = BV::from_u64(bits as u64 - 1, bits);
    match op {
        AluOp::Add => d.bvadd(s),
        AluOp::Sub => d.bvsub(s),
        AluOp::Mul => arith::mul(d, s),
        AluOp::Div => is_zero.ite(&zero, &arith::udiv(d, s)),
        AluOp::Sdiv => is_zero.ite(&zero, &arith::sdiv(d, s)),
        AluOp::Mod => is_zero.ite(d, &arith::urem(d, s)),
        AluOp::Smod => is_zero.ite(d, &arith::srem(d, s)),
        AluOp::Or => d.bvor(s),
        AluOp::And => d.bvand(s),
        AluOp::Xor => d.bvxor(s),
        AluOp::Mov => s.clone(),
        AluOp::Lsh => d.bvshl(s.bvand(&mask)),
        AluOp::Rsh => d.bvlshr(s.bvand(&mask)),
        AluOp::Arsh => d.bvashr(s.bvand(&mask)),
    }
}

/// The low `bits` of `v`, sign-extended to 64 (src/semantics.rs `sign_extend`).
pub fn sign_extend(v: &BV, bits: u32) -> BV {
    if bits == 64 {
        v.clone()
    } else {
        v.extract(bits - 1, 0).sign_ext(64 - bits)
    }
}

/// src/semantics.rs `end`.
pub fn end(kind: EndKind, bits: EndWidth, d: &BV) -> BV {
    let n = bits.bits();
    let low = d.extract(n - 1, 0);
    let v = if matches!(kind, EndKind::Le) {
        low
    } else {
        // Byte k of the result is byte n/8-1-k of the value.
        let mut v = low.extract(7, 0);
        for k in 1..n / 8 {
            v = v.concat(low.extract(8 * k + 7, 8 * k));
        }
        v
    };
    if n == 64 {
        v
    } else {
        v.zero_ext(64 - n)
    }
}

/// src/semantics.rs `cond64`.
pub fn cond(c: JmpCond, a: &BV, b: &BV) -> Bool {
    match c {
        JmpCond::Eq => a.eq(b),
        JmpCond::Ne => a.eq(b).not(),
        JmpCond::Gt => a.bvugt(b),
        JmpCond::Ge => a.bvuge(b),
        JmpCond::Lt => a.bvult(b),
        JmpCond::Le => a.bvule(b),
        JmpCond::Sgt => a.bvsgt(b),
        JmpCond::Sge => a.bvsge(b),
        JmpCond::Slt => a.bvslt(b),
        JmpCond::Sle => a.bvsle(b),
        JmpCond::Set => a.bvand(b).eq(BV::from_u64(0, a.get_size())).not(),
    }
}

fn yes() -> Bool {
    Bool::from_bool(true)
}

/// The immediate fields of an instruction as 64-bit terms: `imm` and `lddw`'s second
/// `imm` sign-extended from 32 bits, the memory offset from 16 (jump offsets stay numbers:
/// they name the next slot).
#[derive(Clone, Debug)]
pub struct Fields {
    pub imm: BV,
    pub imm2: BV,
    pub off: BV,
}

impl Fields {
    /// The fields `insn` holds (read here, not through the JIT's own reading of them,
    /// so that a wrong reading in the JIT shows).
    pub fn of(insn: &Insn) -> Fields {
        let (imm, imm2, off) = match *insn {
            Insn::Alu { src: Source::Imm(i), .. } | Insn::Jmp { src: Source::Imm(i), .. } => (i, 0, 0),
            Insn::Ldx { off, .. } | Insn::Stx { off, .. } | Insn::Atomic { off, .. } => (0, 0, off),
            Insn::St { off, imm, .. } => (imm, 0, off),
            Insn::LdImm64 { imm, next_imm, .. } => (imm, next_imm, 0),
            Insn::Call { helper } => (helper.get(), 0, 0),
            _ => (0, 0, 0),
        };
        Fields { imm: k64(crate::semantics::imm64(imm)), imm2: k64(crate::semantics::imm64(imm2)), off: k64(off as i64 as u64) }
    }
}

/// The semantics of `insn` at slot `pc` from registers `r` (r0–r10). `fallthrough` is the
/// next instruction's slot; `floor` is the lowest r10 a bpf-to-bpf call may make (the
/// state's call-depth bound).
pub fn step(insn: &Insn, pc: usize, fallthrough: usize, r: &[BV], floor: &BV, oracle: &mut Oracle) -> Result<Step, ModelError> {
    step_with(insn, &Fields::of(insn), pc, fallthrough, r, floor, oracle)
}

/// [`step`] with the immediate fields given as terms.
pub fn step_with(insn: &Insn, f: &Fields, pc: usize, fallthrough: usize, r: &[BV], floor: &BV, oracle: &mut Oracle) -> Result<Step, ModelError> {
    let mut regs: Vec<BV> = r.to_vec();
    let mut defined = [true; 11];
    let mut events = Vec::new();
    let mut next = k64(fallthrough as u64);
    let get = |x: crate::isa::Reg| r[x.index()].clone();
    let operand = |s: Source| match s {
        Source::Reg(x) => get(x),
        Source::Imm(_) => f.imm.clone(),
    };
    let target = |off: i64| k64(cfg::target(pc, off) as u64);
    match *insn {
        Insn::Alu { width, op, dst, src } => {
            let (d, s) = (get(dst), operand(src));
            regs[dst.index()] = if width == Width::W64 { alu64(op, &d, &s) } else { alu32(op, &d, &s) };
        }
        Insn::Neg { width, dst } => {
            let d = get(dst);
            regs[dst.index()] = if width == Width::W64 { d.bvneg() } else { d.extract(31, 0).bvneg().zero_ext(32) };
        }
        Insn::MovSx { width, bits, dst, src } => {
            let v = sign_extend(&get(src), sx_bits(bits));
            regs[dst.index()] = if width == Width::W64 { v } else { v.extract(31, 0).zero_ext(32) };
        }
        Insn::End { kind, bits, dst } => regs[dst.index()] = end(kind, bits, &get(dst)),
        Insn::LdImm64 { kind, dst, .. } => {
            if kind != LdKind::Imm64 {
                return Err(ModelError::Unresolved(kind.src()));
            }
            // cfg::lddw_value: the second imm above the first.
            regs[dst.index()] = f.imm2.extract(31, 0).concat(f.imm.extract(31, 0));
        }
        Insn::Ldx { size, signed, dst, src, .. } => {
            let n = size.bytes() as u32;
            events.push(Event { guard: yes(), kind: EventKind::Load { addr: get(src).bvadd(&f.off), size: n, atomic: false } });
            let v = oracle.load(n);
            regs[dst.index()] = if signed { sign_extend(&v, 8 * n) } else { v };
        }
        Insn::St { size, dst, .. } => {
            events.push(Event { guard: yes(), kind: EventKind::Store { addr: get(dst).bvadd(&f.off), size: size.bytes() as u32, value: f.imm.clone(), atomic: false } });
        }
        Insn::Stx { size, dst, src, .. } => {
            events.push(Event { guard: yes(), kind: EventKind::Store { addr: get(dst).bvadd(&f.off), size: size.bytes() as u32, value: get(src), atomic: false } });
        }
        Insn::Atomic { size, op, dst, src, .. } => {
            let n = size.bytes() as u32;
            let addr = get(dst).bvadd(&f.off);
            let s = get(src);
            events.push(Event { guard: yes(), kind: EventKind::Load { addr: addr.clone(), size: n, atomic: true } });
            let old = oracle.load(n);
            let low = |v: &BV| if n == 8 { v.clone() } else { v.extract(8 * n - 1, 0) };
            let (guard, new) = match op {
                AtomicOp::Add | AtomicOp::FetchAdd => (yes(), old.bvadd(&s)),
                AtomicOp::Or | AtomicOp::FetchOr => (yes(), old.bvor(&s)),
                AtomicOp::And | AtomicOp::FetchAnd => (yes(), old.bvand(&s)),
                AtomicOp::Xor | AtomicOp::FetchXor => (yes(), old.bvxor(&s)),
                AtomicOp::Xchg => (yes(), s.clone()),
                AtomicOp::Cmpxchg => (low(&old).eq(low(&r[0])), s.clone()),
            };
            events.push(Event { guard, kind: EventKind::Store { addr, size: n, value: new, atomic: true } });
            match op {
                AtomicOp::Cmpxchg => regs[0] = old,
                op if op.fetches() => regs[src.index()] = old,
                _ => {}
            }
        }
        Insn::Ja { off } => next = target(off as i64),
        Insn::Gotol { imm } => next = target(imm as i64),
        Insn::Jmp { width, cond: c, dst, src, off } => {
            let (a, b) = (get(dst), operand(src));
            let taken = if width == Width::W64 { cond(c, &a, &b) } else { cond(c, &a.extract(31, 0), &b.extract(31, 0)) };
            next = taken.ite(&target(off as i64), &next);
        }
        Insn::Call { .. } | Insn::Callx { .. } => {
            let id = match *insn {
                Insn::Call { .. } => f.imm.clone(),
                Insn::Callx { reg } => get(reg),
                _ => unreachable!("matched above"),
            };
            let args = [1, 2, 3, 4, 5].map(|k| r[k].clone());
            events.push(Event { guard: yes(), kind: EventKind::Call { id, args } });
            let (ret, stop) = oracle.call();
            regs[0] = ret;
            for d in &mut defined[1..=5] {
                *d = false;
            }
            next = stop.eq(k64(0)).ite(&next, &k64(NEXT_ABORT));
        }
        Insn::CallLocal { imm } => {
            let r10 = r[10].bvsub(FRAME);
            next = r10.bvult(floor).ite(&k64(NEXT_DEPTH), &target(imm as i64));
            regs[10] = r10;
        }
        Insn::Exit => next = k64(NEXT_EXIT),
    }
    Ok(Step { regs, defined, events, next })
}

fn sx_bits(b: SxWidth) -> u32 {
    b.bits()
}
