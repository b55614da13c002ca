//! Lowering: one BPF instruction → a short list of [`RvInsn`], as a pure function.
//!
//! Every choice that depends on an immediate, an offset, a branch distance or an enabled
//! extension is made once, by [`shape`]: it takes the form kind of [`kinds`] whose
//! condition [`when`] the values meet and [`build`]s its fields; [`lower`] then follows the
//! shape without looking at the values again. So the code for one (opcode, form kind) pair
//! is a fixed template whose only variables are registers and immediates: a finite set of
//! cases. All of it is generic over how values are represented ([`Repr`]): with numbers it
//! makes the images, with z3 terms (`smt::shapes`) the same code is proven for all register
//! values and all immediates each kind admits.
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
use super::repr::{Concrete, Repr};
use crate::isa::{self, cfg, AluOp, AtomicOp, EndKind, EndWidth, Insn, JmpCond, LdKind, Size, Source, SxWidth, Width};

/// The RV64 register holding BPF register `r`.
pub const fn reg(r: isa::Reg) -> XReg {
    const MAP: [XReg; 11] = [XReg::A5, XReg::A0, XReg::A1, XReg::A2, XReg::A3, XReg::A4, XReg::S1, XReg::S2, XReg::S3, XReg::S4, XReg::S5];
    MAP[r.index()]
}

/// Scratch registers (never a BPF register).
const T0: XReg = XReg::T0;
const T1: XReg = XReg::T1;
const T2: XReg = XReg::T2;
const T3: XReg = XReg::T3;
/// Return address of the running BPF function.
pub const LINK: XReg = XReg::S6;
/// The run's context (the host's `RunCtx`); its first word receives r10 on a stop.
pub const CTX: XReg = XReg::S7;
/// The helper dispatcher's address.
pub const DISPATCH: XReg = XReg::S8;
/// The lowest r10 a bpf-to-bpf call may set: bottom of the BPF stack + one frame.
pub const FLOOR: XReg = XReg::S9;
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

/// A 32-bit constant (sign-extended to 64 bits) and how it is built in a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Const<M: Repr = Concrete> {
    /// 0: the zero register serves (or `addi rd, zero, 0`).
    Zero,
    /// Fits 12 signed bits: one `addi` from zero.
    Small(M::I12),
    /// Low 12 bits zero: one `lui`.
    Upper(M::I20),
    /// `lui` + `addiw` (`addiw` wraps mod 2^32, so 0x7ffff800.. works).
    UpperLower(M::I20, M::I12),
}

impl Const {
    /// How `v` is built.
    pub fn of(v: i32) -> Const {
        Const::build(ConstKind::of(v as i64), v as i64)
    }
}

impl<M: Repr> Const<M> {
    /// The fields that build `v` the way `kind` says (which must be `v`'s kind).
    pub fn build(kind: ConstKind, v: M::V) -> Const<M> {
        match kind {
            ConstKind::Zero => Const::Zero,
            ConstKind::Small => Const::Small(M::i12(v)),
            ConstKind::Upper => Const::Upper(M::i20(M::sar(v, 12))),
            ConstKind::UpperLower => {
                // lui puts hi << 12; addiw adds the sign-extended low 12 bits, mod 2^32.
                let lo = M::i12(v);
                Const::UpperLower(M::i20(M::sar(M::sub(v, M::of12(lo)), 12)), lo)
            }
        }
    }

    /// The kind, without the values.
    pub fn kind(self) -> ConstKind {
        match self {
            Const::Zero => ConstKind::Zero,
            Const::Small(_) => ConstKind::Small,
            Const::Upper(_) => ConstKind::Upper,
            Const::UpperLower(..) => ConstKind::UpperLower,
        }
    }
}

/// [`Const`] without its values: which instruction sequence builds the constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConstKind {
    Zero,
    Small,
    Upper,
    UpperLower,
}

impl ConstKind {
    pub const ALL: [ConstKind; 4] = [ConstKind::Zero, ConstKind::Small, ConstKind::Upper, ConstKind::UpperLower];

    /// The condition under which a 32-bit `v` is built this way: the one place that
    /// decides it. The four conditions exclude each other and cover every value (proven
    /// by `smt::shapes`).
    pub fn when<M: Repr>(self, v: M::V) -> M::B {
        let zero = M::same(v, M::lit(0));
        let small = M::fits12(v);
        let low_clear = M::same(M::of12(M::i12(v)), M::lit(0));
        let off_by_one = M::and(M::truth(crate::seeded!(Imm12OffByOne)), M::same(v, M::lit(2048)));
        match self {
            ConstKind::Zero => zero,
            ConstKind::Small => M::or(M::and(M::not(zero), small), off_by_one),
            ConstKind::Upper => M::and(M::not(small), low_clear),
            ConstKind::UpperLower => M::and(M::and(M::not(small), M::not(low_clear)), M::not(off_by_one)),
        }
    }

    /// The kind of `v`.
    pub fn of(v: i64) -> ConstKind {
        first(&ConstKind::ALL, |k| k.when::<Concrete>(v))
    }
}

/// The first of `kinds` whose condition holds. The conditions of the kinds one
/// instruction can take cover every value (proven by `smt::shapes`), so there is one.
fn first<K: Copy + core::fmt::Debug>(kinds: &[K], holds: impl Fn(K) -> bool) -> K {
    kinds.iter().copied().find(|&k| holds(k)).unwrap_or_else(|| unreachable!("no kind among {kinds:?} holds"))
}

/// Which extensions lowering may use (with a base fallback for each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ext {
    pub zba: bool,
    pub zbb: bool,
}

/// An ALU operation with an immediate, by how the immediate is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluImm<M: Repr = Concrete> {
    /// The operation's I-form (`addi[w]`, `andi`, `ori`, `xori`) with this immediate;
    /// for `sub` it is the negated value, added.
    I(M::I12),
    /// A 64-bit shift by the masked amount.
    Shift64(M::Sh6),
    /// A 32-bit shift by the masked amount.
    Shift32(M::Sh5),
    /// `mov`: the constant built in dst; `zext` clears the upper half that a negative
    /// 32-bit constant's sign extension set (32-bit `mov` only).
    Mov { value: Const<M>, zext: bool },
    /// The constant built in t1 (or the zero register), then the register form.
    Reg(Const<M>),
}

/// A memory offset: the access's own 12-bit field, or `base + off` built in t1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offset<M: Repr = Concrete> {
    Small(M::I12),
    Large(Const<M>),
}

/// An atomic's address (the A extension has no offset field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmoAddr<M: Repr = Concrete> {
    /// Offset 0: the base register itself.
    Base,
    /// `addi t1, base, off`.
    Small(M::I12),
    /// The offset built in t1, then `add t1, t1, base`.
    Large(Const<M>),
}

/// An `lddw` constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Imm64<M: Repr = Concrete> {
    /// The 64-bit value is a sign-extended 32-bit one.
    Narrow(Const<M>),
    /// `hi << 32 | zext32(lo)`; a zero `lo` adds nothing.
    Wide { hi: Const<M>, lo: Const<M> },
}

/// The value-dependent choices for one instruction, carrying the typed immediates the
/// code will hold: [`lower`] places them and decides nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form<M: Repr = Concrete> {
    /// Nothing depends on a value.
    Plain,
    AluImm(AluImm<M>),
    /// A load or store of a register.
    Mem(Offset<M>),
    Amo(AmoAddr<M>),
    /// A store of an immediate: the value built in t2 (or the zero register).
    StImm { off: Offset<M>, value: Const<M> },
    Imm64(Imm64<M>),
    /// A conditional jump: the K form's constant (built in t2) and the reach.
    Jmp { rhs: Option<Const<M>>, dist: Dist },
    /// An unconditional jump (`ja`, `gotol`) or a bpf-to-bpf call.
    Ja { dist: Dist },
    /// A helper call: the id's constant (`None` for `callx`, whose id is in a register)
    /// and the reach of the branch to the stop path.
    Call { id: Option<Const<M>>, dist: Dist },
}

/// A [`Form`] without its values: one proof obligation of an opcode (with the extensions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FormKind {
    Plain,
    AluI,
    AluShift,
    AluMov { value: ConstKind, zext: bool },
    AluReg(ConstKind),
    /// `None`: the small offset; else how the large one is built.
    Mem(Option<ConstKind>),
    /// `None`: the base itself; `Some(None)`: a small offset; `Some(Some(k))`: built.
    Amo(Option<Option<ConstKind>>),
    StImm { off: Option<ConstKind>, value: ConstKind },
    Imm64Narrow(ConstKind),
    Imm64Wide { hi: ConstKind, lo: ConstKind },
    Jmp { rhs: Option<ConstKind>, dist: Dist },
    Ja(Dist),
    Call { id: Option<ConstKind>, dist: Dist },
}

impl<M: Repr> Offset<M> {
    fn build(kind: Option<ConstKind>, off: M::V) -> Offset<M> {
        match kind {
            None => Offset::Small(M::i12(off)),
            Some(k) => Offset::Large(Const::build(k, off)),
        }
    }
    fn kind(self) -> Option<ConstKind> {
        match self {
            Offset::Small(_) => None,
            Offset::Large(c) => Some(c.kind()),
        }
    }
}

/// When a memory offset takes the form `kind`.
fn offset_when<M: Repr>(kind: Option<ConstKind>, off: M::V) -> M::B {
    match kind {
        None => M::fits12(off),
        Some(k) => M::and(M::not(M::fits12(off)), k.when::<M>(off)),
    }
}

impl<M: Repr> Form<M> {
    /// The kind: the form with its values left out.
    pub fn kind(&self) -> FormKind {
        match *self {
            Form::Plain => FormKind::Plain,
            Form::AluImm(AluImm::I(_)) => FormKind::AluI,
            Form::AluImm(AluImm::Shift64(_) | AluImm::Shift32(_)) => FormKind::AluShift,
            Form::AluImm(AluImm::Mov { value, zext }) => FormKind::AluMov { value: value.kind(), zext },
            Form::AluImm(AluImm::Reg(c)) => FormKind::AluReg(c.kind()),
            Form::Mem(off) => FormKind::Mem(off.kind()),
            Form::Amo(AmoAddr::Base) => FormKind::Amo(None),
            Form::Amo(AmoAddr::Small(_)) => FormKind::Amo(Some(None)),
            Form::Amo(AmoAddr::Large(c)) => FormKind::Amo(Some(Some(c.kind()))),
            Form::StImm { off, value } => FormKind::StImm { off: off.kind(), value: value.kind() },
            Form::Imm64(Imm64::Narrow(c)) => FormKind::Imm64Narrow(c.kind()),
            Form::Imm64(Imm64::Wide { hi, lo }) => FormKind::Imm64Wide { hi: hi.kind(), lo: lo.kind() },
            Form::Jmp { rhs, dist } => FormKind::Jmp { rhs: rhs.map(Const::kind), dist },
            Form::Ja { dist } => FormKind::Ja(dist),
            Form::Call { id, dist } => FormKind::Call { id: id.map(Const::kind), dist },
        }
    }
}

/// A shape: the form plus the extensions in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape<M: Repr = Concrete> {
    pub form: Form<M>,
    pub ext: Ext,
}

/// The immediate fields of a BPF instruction, as values: `imm` (sign-extended), the
/// second slot's `imm` of `lddw`, and the memory offset `off` (sign-extended). Jump
/// offsets are not values here: they name the target's code, a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fields<M: Repr = Concrete> {
    pub imm: M::V,
    pub imm2: M::V,
    pub off: M::V,
}

impl Fields {
    /// The fields of `insn`.
    pub fn of(insn: &Insn) -> Fields {
        let (imm, imm2, off) = match *insn {
            Insn::Alu { src: Source::Imm(imm), .. } | Insn::Jmp { src: Source::Imm(imm), .. } | Insn::Gotol { imm } | Insn::CallLocal { imm } => (imm, 0, 0),
            Insn::Ldx { off, .. } | Insn::Stx { off, .. } | Insn::Atomic { off, .. } => (0, 0, off),
            Insn::St { off, imm, .. } => (imm, 0, off),
            Insn::LdImm64 { imm, next_imm, .. } => (imm, next_imm, 0),
            Insn::Call { helper } => (helper.get(), 0, 0),
            _ => (0, 0, 0),
        };
        Fields { imm: imm as i64, imm2: imm2 as i64, off: off as i64 }
    }
}

/// Why an instruction has no lowering: every instruction the decoder accepts has one
/// once its pseudo lddw are resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LowerError {
    #[error("instruction {pc}: lddw source {src} must be resolved before JIT compilation")]
    Unresolved { pc: usize, src: u8 },
}

/// The shape of `insn` with the branch reach `dist` (from the sizing passes) and the
/// extensions: the kind of [`kinds`] whose condition ([`when`]) its values meet, built
/// from them ([`build`]).
pub fn shape(insn: &Insn, dist: Dist, ext: Ext) -> Shape {
    let f = Fields::of(insn);
    let kind = first(&kinds(insn, dist), |k| when::<Concrete>(insn, k, &f));
    Shape { form: build(insn, kind, &f), ext }
}

/// The forms an instruction of `insn`'s opcode may take with reach `dist`, whatever its
/// values: the [`Form`] variant that belongs to its instruction class, with every
/// [`ConstKind`] where it builds a constant. Some are never taken (a large offset is
/// never 0): the proofs show which, and prove the others.
pub fn kinds(insn: &Insn, dist: Dist) -> Vec<FormKind> {
    let ck = ConstKind::ALL;
    let offs = || core::iter::once(None).chain(ck.map(Some));
    match *insn {
        Insn::Alu { op: AluOp::Mov, src: Source::Imm(_), .. } => ck.iter().flat_map(|&value| [false, true].map(|zext| FormKind::AluMov { value, zext })).collect(),
        Insn::Alu { op: AluOp::Lsh | AluOp::Rsh | AluOp::Arsh, src: Source::Imm(_), .. } => vec![FormKind::AluShift],
        Insn::Alu { op: AluOp::Add | AluOp::Sub | AluOp::And | AluOp::Or | AluOp::Xor, src: Source::Imm(_), .. } => core::iter::once(FormKind::AluI).chain(ck.map(FormKind::AluReg)).collect(),
        Insn::Alu { src: Source::Imm(_), .. } => ck.map(FormKind::AluReg).to_vec(),
        Insn::Ldx { .. } | Insn::Stx { .. } => offs().map(FormKind::Mem).collect(),
        Insn::Atomic { .. } => core::iter::once(None).chain(offs().map(Some)).map(FormKind::Amo).collect(),
        Insn::St { .. } => offs().flat_map(|off| ck.map(|value| FormKind::StImm { off, value })).collect(),
        Insn::LdImm64 { .. } => ck.map(FormKind::Imm64Narrow).into_iter().chain(ck.iter().flat_map(|&hi| ck.map(|lo| FormKind::Imm64Wide { hi, lo }))).collect(),
        Insn::Jmp { src: Source::Imm(_), .. } => ck.map(|k| FormKind::Jmp { rhs: Some(k), dist }).to_vec(),
        Insn::Jmp { .. } => vec![FormKind::Jmp { rhs: None, dist }],
        // `jal` reaches ±1 MiB: near and mid are one form.
        Insn::Ja { .. } | Insn::Gotol { .. } | Insn::CallLocal { .. } => vec![FormKind::Ja(if dist == Dist::Far { Dist::Far } else { Dist::Near })],
        Insn::Call { .. } => ck.map(|k| FormKind::Call { id: Some(k), dist }).to_vec(),
        Insn::Callx { .. } => vec![FormKind::Call { id: None, dist }],
        _ => vec![FormKind::Plain],
    }
}

/// Every form of [`kinds`] over every reach: an opcode's candidate proof obligations
/// (each also with every [`Ext`]).
pub fn forms(insn: &Insn) -> Vec<FormKind> {
    let mut all: Vec<FormKind> = [Dist::Near, Dist::Mid, Dist::Far].iter().flat_map(|&d| kinds(insn, d)).collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The condition under which `insn` (of whatever values: only its opcode and registers
/// are read) with the fields `f` takes the form `kind`: the only place where values
/// decide the code.
pub fn when<M: Repr>(insn: &Insn, kind: FormKind, f: &Fields<M>) -> M::B {
    let imm = f.imm;
    match (*insn, kind) {
        (Insn::Alu { width, .. }, FormKind::AluMov { value, zext }) => {
            let zexts = M::and(M::and(M::truth(width == Width::W32), M::negative(imm)), M::truth(!crate::seeded!(Mov32ImmSignExtended)));
            M::and(value.when::<M>(imm), if zext { zexts } else { M::not(zexts) })
        }
        (Insn::Alu { op, .. }, FormKind::AluI) => M::fits12(i_form_value::<M>(op, imm)),
        (Insn::Alu { op, .. }, FormKind::AluReg(k)) => {
            let i_form = matches!(op, AluOp::Add | AluOp::Sub | AluOp::And | AluOp::Or | AluOp::Xor);
            M::and(M::not(M::and(M::truth(i_form), M::fits12(i_form_value::<M>(op, imm)))), k.when::<M>(imm))
        }
        (Insn::Atomic { .. }, FormKind::Amo(None)) => M::same(f.off, M::lit(0)),
        (Insn::Atomic { .. }, FormKind::Amo(Some(k))) => M::and(M::not(M::same(f.off, M::lit(0))), offset_when::<M>(k, f.off)),
        (_, FormKind::Mem(k)) => offset_when::<M>(k, f.off),
        (_, FormKind::StImm { off, value }) => M::and(offset_when::<M>(off, f.off), value.when::<M>(imm)),
        (_, FormKind::Imm64Narrow(k)) => M::and(narrow::<M>(f), k.when::<M>(imm)),
        (_, FormKind::Imm64Wide { hi, lo }) => M::and(M::not(narrow::<M>(f)), M::and(hi.when::<M>(f.imm2), lo.when::<M>(imm))),
        (_, FormKind::Jmp { rhs: Some(k), .. } | FormKind::Call { id: Some(k), .. }) => k.when::<M>(imm),
        _ => M::truth(true),
    }
}

/// The immediate an ALU I-form holds: the value, or for `sub` its negation, added.
fn i_form_value<M: Repr>(op: AluOp, imm: M::V) -> M::V {
    if op == AluOp::Sub {
        M::neg(imm)
    } else {
        imm
    }
}

/// An `lddw` value fits 32 signed bits: its upper word is the sign of its lower one.
fn narrow<M: Repr>(f: &Fields<M>) -> M::B {
    M::same(f.imm2, M::sar(f.imm, 31))
}

/// The form `kind` of `insn` holding the values `f` (which must meet [`when`]).
pub fn build<M: Repr>(insn: &Insn, kind: FormKind, f: &Fields<M>) -> Form<M> {
    let imm = f.imm;
    match (*insn, kind) {
        (_, FormKind::Plain) => Form::Plain,
        (Insn::Alu { .. }, FormKind::AluMov { value, zext }) => Form::AluImm(AluImm::Mov { value: Const::build(value, imm), zext }),
        (Insn::Alu { op, width, .. }, FormKind::AluShift) => Form::AluImm(match (op, width) {
            (AluOp::Lsh, Width::W32) if crate::seeded!(UnmaskedShift32) => AluImm::Shift64(M::sh6(imm)),
            (_, Width::W32) => AluImm::Shift32(M::sh5(imm)),
            _ => AluImm::Shift64(M::sh6(imm)),
        }),
        (Insn::Alu { op, .. }, FormKind::AluI) => Form::AluImm(AluImm::I(M::i12(i_form_value::<M>(op, imm)))),
        (Insn::Alu { .. }, FormKind::AluReg(k)) => Form::AluImm(AluImm::Reg(Const::build(k, imm))),
        (_, FormKind::Mem(k)) => Form::Mem(Offset::build(k, f.off)),
        (_, FormKind::Amo(None)) => Form::Amo(AmoAddr::Base),
        (_, FormKind::Amo(Some(None))) => Form::Amo(AmoAddr::Small(M::i12(f.off))),
        (_, FormKind::Amo(Some(Some(k)))) => Form::Amo(AmoAddr::Large(Const::build(k, f.off))),
        (_, FormKind::StImm { off, value }) => Form::StImm { off: Offset::build(off, f.off), value: Const::build(value, imm) },
        // The value is the sign-extended lower word.
        (_, FormKind::Imm64Narrow(k)) => Form::Imm64(Imm64::Narrow(Const::build(k, imm))),
        (_, FormKind::Imm64Wide { hi, lo }) => Form::Imm64(Imm64::Wide { hi: Const::build(hi, f.imm2), lo: Const::build(lo, imm) }),
        (_, FormKind::Jmp { rhs, dist }) => Form::Jmp { rhs: rhs.map(|k| Const::build(k, imm)), dist },
        (_, FormKind::Ja(dist)) => Form::Ja { dist },
        (_, FormKind::Call { id, dist }) => Form::Call { id: id.map(|k| Const::build(k, imm)), dist },
        (insn, kind) => unreachable!("{kind:?} is not a form of {insn:?}"),
    }
}

/// Builds the constant `c` in `rd`.
pub fn li32<M: Repr>(rd: XReg, c: Const<M>, out: &mut Vec<RvInsn<M>>) {
    match c {
        Const::Zero => out.push(RvInsn::I { op: IOp::Addi, rd, rs1: XReg::ZERO, imm: M::lit12(0) }),
        Const::Small(imm) => out.push(RvInsn::I { op: IOp::Addi, rd, rs1: XReg::ZERO, imm }),
        Const::Upper(hi) => out.push(RvInsn::Lui { rd, imm: hi }),
        Const::UpperLower(hi, lo) => {
            out.push(RvInsn::Lui { rd, imm: hi });
            out.push(RvInsn::I { op: IOp::Addiw, rd, rs1: rd, imm: lo });
        }
    }
}

/// A constant operand: the zero register for 0, else built in `tmp`.
fn konst<M: Repr>(tmp: XReg, c: Const<M>, out: &mut Vec<RvInsn<M>>) -> XReg {
    if let Const::Zero = c {
        return XReg::ZERO;
    }
    li32(tmp, c, out);
    tmp
}

/// `rd = zext32(rs)`.
fn zext32<M: Repr>(rd: XReg, rs: XReg, ext: Ext, out: &mut Vec<RvInsn<M>>) {
    if ext.zba {
        out.push(RvInsn::R { op: ROp::AddUw, rd, rs1: rs, rs2: XReg::ZERO });
    } else {
        out.push(RvInsn::Sh { op: ShOp::Slli, rd, rs1: rs, sh: M::lit_sh6(32) });
        out.push(RvInsn::Sh { op: ShOp::Srli, rd, rs1: rd, sh: M::lit_sh6(32) });
    }
}

/// `rd = sext(rs, from bits)` for 8 and 16 bits.
fn sext_small<M: Repr>(rd: XReg, rs: XReg, bits: u32, ext: Ext, out: &mut Vec<RvInsn<M>>) {
    if ext.zbb {
        out.push(RvInsn::Un { op: if bits == 8 { UnOp::SextB } else { UnOp::SextH }, rd, rs1: rs });
    } else {
        out.push(RvInsn::Sh { op: ShOp::Slli, rd, rs1: rs, sh: M::lit_sh6(64 - bits as i64) });
        out.push(RvInsn::Sh { op: ShOp::Srai, rd, rs1: rd, sh: M::lit_sh6(64 - bits as i64) });
    }
}

fn r<M: Repr>(op: ROp, rd: XReg, rs1: XReg, rs2: XReg) -> RvInsn<M> {
    RvInsn::R { op, rd, rs1, rs2 }
}

fn i<M: Repr>(op: IOp, rd: XReg, rs1: XReg, imm: M::I12) -> RvInsn<M> {
    RvInsn::I { op, rd, rs1, imm }
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
        (Sdiv, false) if crate::seeded!(SdivAsUdiv) => ROp::Divu,
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
fn alu_reg<M: Repr>(op: AluOp, w32: bool, dst: XReg, src: XReg, ext: Ext, out: &mut Vec<RvInsn<M>>) {
    match op {
        AluOp::Mov if w32 => zext32(dst, src, ext, out),
        AluOp::Mov => out.push(i(IOp::Addi, dst, src, M::lit12(0))),
        AluOp::Div | AluOp::Sdiv => {
            // t2 = (divisor == 0) - 1: all ones unless the divisor is 0; RISC-V's
            // quotient by 0 (all ones) is then masked to BPF's 0.
            if w32 && !crate::seeded!(Div32ZeroTest64) {
                out.push(RvInsn::Sh { op: ShOp::Slli, rd: T2, rs1: src, sh: M::lit_sh6(32) });
                out.push(i(IOp::Sltiu, T2, T2, M::lit12(1)));
            } else {
                out.push(i(IOp::Sltiu, T2, src, M::lit12(1)));
            }
            out.push(r(rop(op, w32), dst, dst, src));
            if !crate::seeded!(DivByZeroNative) || w32 {
                out.push(i(IOp::Addi, T2, T2, M::lit12(-1)));
                out.push(r(ROp::And, dst, dst, T2));
            }
            if w32 {
                zext32(dst, dst, ext, out);
            }
        }
        _ => {
            out.push(r(rop(op, w32), dst, dst, src));
            let seeded = match op {
                AluOp::Mod => crate::seeded!(NoZextMod32),
                _ => crate::seeded!(NoZextAlu32Reg),
            };
            if w32 && !seeded {
                zext32(dst, dst, ext, out);
            }
        }
    }
}

/// `dst = dst op imm` in the form `shape` chose.
fn alu_imm<M: Repr>(op: AluOp, w32: bool, dst: XReg, form: AluImm<M>, ext: Ext, out: &mut Vec<RvInsn<M>>) {
    let shift = || match op {
        AluOp::Lsh => ShOp::Slli,
        AluOp::Rsh => ShOp::Srli,
        _ => ShOp::Srai,
    };
    match form {
        AluImm::Mov { value, zext } => {
            li32(dst, value, out);
            if zext {
                zext32(dst, dst, ext, out);
            }
            return;
        }
        AluImm::Shift64(sh) => return out.push(RvInsn::Sh { op: shift(), rd: dst, rs1: dst, sh }),
        AluImm::Shift32(sh) => out.push(RvInsn::ShW { op: shift(), rd: dst, rs1: dst, sh }),
        AluImm::I(imm) => {
            let op = match op {
                AluOp::Add | AluOp::Sub if w32 => IOp::Addiw,
                AluOp::Add | AluOp::Sub => IOp::Addi,
                AluOp::And => IOp::Andi,
                AluOp::Or => IOp::Ori,
                _ => IOp::Xori,
            };
            out.push(i(op, dst, dst, imm));
            if crate::seeded!(NoZextAlu32Imm) {
                return;
            }
        }
        AluImm::Reg(c) => {
            let src = konst(T1, c, out);
            return alu_reg(op, w32, dst, src, ext, out);
        }
    }
    if w32 {
        zext32(dst, dst, ext, out);
    }
}

/// Byte swap of the low `bytes` bytes of `rd` (the base-ISA fallback of `rev8`).
fn bswap<M: Repr>(rd: XReg, bytes: u32, out: &mut Vec<RvInsn<M>>) {
    out.push(i(IOp::Addi, T2, XReg::ZERO, M::lit12(0)));
    for k in 0..bytes {
        out.push(i(IOp::Andi, T1, rd, M::lit12(0xff)));
        out.push(r(ROp::Or, T2, T2, T1));
        if k + 1 < bytes {
            out.push(RvInsn::Sh { op: ShOp::Slli, rd: T2, rs1: T2, sh: M::lit_sh6(8) });
            out.push(RvInsn::Sh { op: ShOp::Srli, rd, rs1: rd, sh: M::lit_sh6(8) });
        }
    }
    out.push(i(IOp::Addi, rd, T2, M::lit12(0)));
}

/// The address `base + off` as (register, 12-bit offset).
fn addr<M: Repr>(base: XReg, off: Offset<M>, out: &mut Vec<RvInsn<M>>) -> (XReg, M::I12) {
    match off {
        Offset::Small(imm) => (base, imm),
        Offset::Large(c) => {
            li32(T1, c, out);
            out.push(r(ROp::Add, T1, T1, base));
            (T1, M::lit12(0))
        }
    }
}

/// A conditional branch to `target` with the reach `dist`.
fn branch<M: Repr>(cond: Cond, a: XReg, b: XReg, target: Target, dist: Dist, out: &mut Vec<RvInsn<M>>) {
    match dist {
        Dist::Near => out.push(RvInsn::Branch { cond, rs1: a, rs2: b, target }),
        Dist::Mid => {
            let cond = if crate::seeded!(MidBranchNotInverted) { cond } else { cond.invert() };
            out.push(RvInsn::Branch { cond, rs1: a, rs2: b, target: Target::Skip(Skip::insns(1)) });
            out.push(RvInsn::Jal { rd: XReg::ZERO, target });
        }
        Dist::Far => {
            let cond = if crate::seeded!(FarBranchNotInverted) { cond } else { cond.invert() };
            let skip = if crate::seeded!(FarJumpSkipOffBy4) { Skip::insns(1) } else { Skip::insns(2) };
            out.push(RvInsn::Branch { cond, rs1: a, rs2: b, target: Target::Skip(skip) });
            out.push(RvInsn::FarJump { tmp: T1, target });
        }
    }
}

fn jump<M: Repr>(target: Target, dist: Dist, out: &mut Vec<RvInsn<M>>) {
    match dist {
        Dist::Near | Dist::Mid => out.push(RvInsn::Jal { rd: XReg::ZERO, target }),
        Dist::Far => out.push(RvInsn::FarJump { tmp: T1, target }),
    }
}

/// Lowers the instruction at slot `pc` following `shape` (which must be
/// `shape(insn, ..)`). lddw must already be resolved to a constant (the runtime's
/// fixup does that).
pub fn lower<M: Repr>(insn: &Insn, pc: usize, s: &Shape<M>) -> Result<Vec<RvInsn<M>>, LowerError> {
    let ext = s.ext;
    let mut out = Vec::with_capacity(4);
    let o = &mut out;
    match (*insn, s.form) {
        (Insn::Alu { width, op, dst, src: Source::Reg(src) }, Form::Plain) => alu_reg(op, width == Width::W32, reg(dst), reg(src), ext, o),
        (Insn::Alu { width, op, dst, src: Source::Imm(_) }, Form::AluImm(form)) => alu_imm(op, width == Width::W32, reg(dst), form, ext, o),
        (Insn::Neg { width, dst }, Form::Plain) => {
            let d = reg(dst);
            if width == Width::W32 {
                o.push(r(ROp::Subw, d, XReg::ZERO, d));
                zext32(d, d, ext, o);
            } else {
                o.push(r(ROp::Sub, d, XReg::ZERO, d));
            }
        }
        (Insn::MovSx { width, bits, dst, src }, Form::Plain) => {
            let (d, s) = (reg(dst), reg(src));
            match bits {
                SxWidth::S32 => o.push(i(IOp::Addiw, d, s, M::lit12(0))),
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
                    o.push(RvInsn::Sh { op: ShOp::Slli, rd: d, rs1: d, sh: M::lit_sh6(48) });
                    o.push(RvInsn::Sh { op: ShOp::Srli, rd: d, rs1: d, sh: M::lit_sh6(48) });
                }
                (EndKind::Le, EndWidth::B32) => zext32(d, d, ext, o),
                (EndKind::Le, EndWidth::B64) => {}
                (_, b) if ext.zbb => {
                    o.push(RvInsn::Un { op: UnOp::Rev8, rd: d, rs1: d });
                    if b != EndWidth::B64 {
                        let shift = if crate::seeded!(Be16Zbb) && b == EndWidth::B16 { 32 } else { 64 - b.bits() as i64 };
                        o.push(RvInsn::Sh { op: ShOp::Srli, rd: d, rs1: d, sh: M::lit_sh6(shift) });
                    }
                }
                (_, b) => bswap(d, b.bits() / 8, o),
            }
        }
        (Insn::LdImm64 { kind, dst, .. }, Form::Imm64(value)) => {
            if kind != LdKind::Imm64 {
                return Err(LowerError::Unresolved { pc, src: kind.src() });
            }
            let d = reg(dst);
            match value {
                Imm64::Narrow(c) => li32(d, c, o),
                // d = hi << 32 | zext32(lo)
                Imm64::Wide { hi, lo } => {
                    li32(d, hi, o);
                    o.push(RvInsn::Sh { op: ShOp::Slli, rd: d, rs1: d, sh: M::lit_sh6(32) });
                    if !matches!(lo, Const::Zero) {
                        li32(T1, lo, o);
                        if ext.zba && !crate::seeded!(LddwLowSignExtended) {
                            o.push(r(ROp::AddUw, d, T1, d));
                        } else {
                            if !crate::seeded!(LddwLowSignExtended) {
                                zext32(T1, T1, ext, o);
                            }
                            o.push(r(ROp::Or, d, d, T1));
                        }
                    }
                }
            }
        }
        (Insn::Ldx { size, signed, dst, src, .. }, Form::Mem(off)) => {
            let (base, off) = addr(reg(src), off, o);
            let op = match (size, signed) {
                (Size::B, false) if crate::seeded!(LdxUnsignedAsSigned) => LoadOp::Lb,
                (Size::B, false) => LoadOp::Lbu,
                (Size::H, false) => LoadOp::Lhu,
                (Size::W, false) => LoadOp::Lwu,
                (Size::B, true) => LoadOp::Lb,
                (Size::H, true) if crate::seeded!(LdsxHalfAsUnsigned) => LoadOp::Lhu,
                (Size::H, true) => LoadOp::Lh,
                (Size::W, true) => LoadOp::Lw,
                (Size::DW, _) => LoadOp::Ld,
            };
            o.push(RvInsn::Load { op, rd: reg(dst), base, off });
        }
        (Insn::Stx { size, dst, src, .. }, Form::Mem(off)) => {
            let (base, off) = addr(reg(dst), off, o);
            o.push(RvInsn::Store { op: store_op(size), src: reg(src), base, off });
        }
        (Insn::St { size, dst, .. }, Form::StImm { off, value }) => {
            let v = konst(T2, value, o);
            let (base, off) = addr(reg(dst), off, o);
            o.push(RvInsn::Store { op: store_op(size), src: v, base, off });
        }
        (Insn::Ja { off }, Form::Ja { dist }) => jump(Target::Pc(jump_target(pc, off as i64)), dist, o),
        (Insn::Gotol { imm }, Form::Ja { dist }) => jump(Target::Pc(jump_target(pc, imm as i64)), dist, o),
        (Insn::Jmp { width, cond, dst, src, off }, Form::Jmp { rhs, dist }) => {
            let target = Target::Pc(jump_target(pc, off as i64));
            let w32 = width == Width::W32;
            let signed = matches!(cond, JmpCond::Sgt | JmpCond::Sge | JmpCond::Slt | JmpCond::Sle);
            let mut a = reg(dst);
            let mut b = match (src, rhs) {
                (Source::Reg(s), None) => reg(s),
                (Source::Imm(_), Some(c)) => konst(T2, c, o),
                _ => unreachable!("shape gives a K-form jump its constant and an X-form none"),
            };
            if cond == JmpCond::Set {
                o.push(r(ROp::And, T1, a, b));
                if w32 {
                    o.push(RvInsn::Sh { op: ShOp::Slli, rd: T1, rs1: T1, sh: M::lit_sh6(32) });
                }
                branch(Cond::Ne, T1, XReg::ZERO, target, dist, o);
                return Ok(out);
            }
            if w32 && !crate::seeded!(Jmp32FullRegisters) {
                // Compare the low halves: sign- or zero-extended into scratch registers.
                if signed {
                    o.push(i(IOp::Addiw, T1, a, M::lit12(0)));
                    if b != XReg::ZERO {
                        o.push(i(IOp::Addiw, T2, b, M::lit12(0)));
                    }
                } else {
                    zext32(T1, a, ext, o);
                    if b != XReg::ZERO {
                        zext32(T2, b, ext, o);
                    }
                }
                a = T1;
                if b != XReg::ZERO {
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
                JmpCond::Sgt if crate::seeded!(JsgtUnsigned) => (Cond::Ltu, b, a),
                JmpCond::Sgt => (Cond::Lt, b, a),
                JmpCond::Sge => (Cond::Ge, a, b),
                JmpCond::Slt => (Cond::Lt, a, b),
                JmpCond::Sle => (Cond::Ge, b, a),
                JmpCond::Set => unreachable!("handled above"),
            };
            branch(c, x, y, target, dist, o);
        }
        // Returns from the running BPF function, whatever its depth.
        (Insn::Exit, Form::Plain) => o.push(RvInsn::Jalr { rd: XReg::ZERO, rs1: LINK, off: M::lit12(0) }),
        (Insn::Call { .. }, Form::Call { id: Some(id), dist }) => {
            li32(XReg::A5, id, o);
            helper_call(dist, o);
        }
        (Insn::Callx { reg: r }, Form::Call { id: None, dist }) => {
            o.push(i(IOp::Addi, XReg::A5, reg(r), M::lit12(0)));
            helper_call(dist, o);
        }
        (Insn::CallLocal { imm }, Form::Ja { dist }) => local_call(Target::Pc(jump_target(pc, imm as i64)), dist, o),
        (Insn::Atomic { size, op, dst, src, .. }, Form::Amo(at)) => {
            let a = amo_addr(reg(dst), at, o);
            atomic(size, op, a, reg(src), ext, o);
        }
        (insn, form) => unreachable!("shape {form:?} does not belong to {insn:?}"),
    }
    Ok(out)
}

/// The helper call after the id is in a5: the dispatcher gets r1–r5 in a0–a4, the id,
/// the run context and this call's address (to name the instruction if the helper
/// fails), and returns (r0, stop) in (a0, a1). A non-zero stop leaves the program.
fn helper_call<M: Repr>(dist: Dist, o: &mut Vec<RvInsn<M>>) {
    o.push(i(IOp::Addi, XReg::A6, CTX, M::lit12(0)));
    o.push(RvInsn::Auipc { rd: XReg::A7, imm: M::lit20(0) });
    o.push(RvInsn::Jalr { rd: XReg::RA, rs1: DISPATCH, off: M::lit12(0) });
    branch(Cond::Ne, XReg::A1, XReg::ZERO, Target::Abort, dist, o);
    if !crate::seeded!(CallNoResult) {
        o.push(i(IOp::Addi, XReg::A5, XReg::A0, M::lit12(0)));
    }
}

/// Callee-saved state of a BPF call, saved by the caller on the host stack: r6–r9, r10
/// and the link.
const CALL_SAVED: [XReg; 6] = [XReg::S1, XReg::S2, XReg::S3, XReg::S4, XReg::S5, LINK];

/// A bpf-to-bpf call: save r6–r10 and the link, give the callee the next stack frame
/// (stopping if there is none: the frame limit), call with the link register, restore.
fn local_call<M: Repr>(target: Target, dist: Dist, o: &mut Vec<RvInsn<M>>) {
    const SIZE: i64 = 8 * CALL_SAVED.len() as i64;
    let area = || (0..CALL_SAVED.len() as i64).map(|k| M::lit12(8 * k));
    o.push(i(IOp::Addi, XReg::SP, XReg::SP, M::lit12(-SIZE)));
    for (&s, off) in CALL_SAVED.iter().zip(area()) {
        o.push(RvInsn::Store { op: StoreOp::Sd, src: s, base: XReg::SP, off });
    }
    o.push(i(IOp::Addi, XReg::S5, XReg::S5, M::lit12(-STACK_FRAME)));
    // Past the limit: a7 = this call's address, to the depth stop.
    o.push(RvInsn::Branch { cond: Cond::Geu, rs1: XReg::S5, rs2: FLOOR, target: Target::Skip(Skip::insns(1 + dist_words(dist))) });
    o.push(RvInsn::Auipc { rd: XReg::A7, imm: M::lit20(0) });
    jump(Target::DepthStop, dist, o);
    match dist {
        Dist::Near | Dist::Mid => o.push(RvInsn::Jal { rd: LINK, target }),
        Dist::Far => o.push(RvInsn::FarCall { rd: LINK, target }),
    }
    for (&s, off) in CALL_SAVED.iter().zip(area()) {
        o.push(RvInsn::Load { op: LoadOp::Ld, rd: s, base: XReg::SP, off });
    }
    o.push(i(IOp::Addi, XReg::SP, XReg::SP, M::lit12(SIZE)));
}

/// The offsets `first`, `first + step`, … of `N` save slots.
const fn offsets<const N: usize>(first: i64, step: i64) -> [Imm12; N] {
    let mut out = [Imm12::ZERO; N];
    let mut k = 0;
    while k < N {
        out[k] = Imm12::lit(first + step * k as i64);
        k += 1;
    }
    out
}

/// Instructions of an unconditional jump with reach `dist`.
fn dist_words(dist: Dist) -> u8 {
    if dist == Dist::Far {
        2
    } else {
        1
    }
}

/// The register holding an atomic's address: the base, or t1 (the A extension has no
/// offset field).
fn amo_addr<M: Repr>(base: XReg, at: AmoAddr<M>, o: &mut Vec<RvInsn<M>>) -> XReg {
    match at {
        AmoAddr::Base => return base,
        AmoAddr::Small(off) => o.push(i(IOp::Addi, T1, base, off)),
        AmoAddr::Large(c) => {
            li32(T1, c, o);
            o.push(r(ROp::Add, T1, T1, base));
        }
    }
    T1
}

/// An atomic operation on the word at `a`. Fetched values land in t2 first, so `src`
/// may also be the address register; 32-bit fetches are zero-extended (the A extension
/// sign-extends them). cmpxchg is an LR/SC loop comparing with r0.
fn atomic<M: Repr>(size: Size, op: AtomicOp, a: XReg, src: XReg, ext: Ext, o: &mut Vec<RvInsn<M>>) {
    let width = if size == Size::DW || (crate::seeded!(AtomicWrongWidth) && op == AtomicOp::Add) { AmoWidth::D } else { AmoWidth::W };
    let w32 = size != Size::DW;
    let amo = match op {
        AtomicOp::Add | AtomicOp::FetchAdd => AmoOp::Add,
        AtomicOp::Or | AtomicOp::FetchOr => AmoOp::Or,
        AtomicOp::And | AtomicOp::FetchAnd => AmoOp::And,
        AtomicOp::Xor | AtomicOp::FetchXor => AmoOp::Xor,
        AtomicOp::Xchg => AmoOp::Swap,
        AtomicOp::Cmpxchg => {
            let r0 = XReg::A5;
            // lr.w sign-extends: compare with r0's low half sign-extended.
            let r0 = if crate::seeded!(CmpxchgComparesSrc) { src } else { r0 };
            let expect = if w32 && !crate::seeded!(Cmpxchg32NoSext) {
                o.push(i(IOp::Addiw, T0, r0, M::lit12(0)));
                T0
            } else {
                r0
            };
            o.push(RvInsn::Lr { width, rd: T2, addr: a });
            o.push(RvInsn::Branch { cond: Cond::Ne, rs1: T2, rs2: expect, target: Target::Skip(Skip::insns(2)) });
            o.push(RvInsn::Sc { width, rd: T3, src, addr: a });
            o.push(RvInsn::Branch { cond: Cond::Ne, rs1: T3, rs2: XReg::ZERO, target: Target::Skip(Skip::back(3)) });
            fetched(XReg::A5, w32, ext, o);
            return;
        }
    };
    if op.fetches() {
        o.push(RvInsn::Amo { op: amo, width, rd: T2, src, addr: a });
        fetched(src, w32, ext, o);
    } else {
        o.push(RvInsn::Amo { op: amo, width, rd: XReg::ZERO, src, addr: a });
    }
}

/// `rd = t2`, zero-extended for a 32-bit access.
fn fetched<M: Repr>(rd: XReg, w32: bool, ext: Ext, o: &mut Vec<RvInsn<M>>) {
    if w32 && !crate::seeded!(Fetch32NoZext) {
        zext32(rd, T2, ext, o);
    } else {
        o.push(i(IOp::Addi, rd, T2, M::lit12(0)));
    }
}

fn store_op(size: Size) -> StoreOp {
    match size {
        Size::B => StoreOp::Sb,
        Size::H => StoreOp::Sh,
        Size::W if crate::seeded!(StoreWordAsHalf) => StoreOp::Sh,
        Size::W => StoreOp::Sw,
        Size::DW => StoreOp::Sd,
    }
}

/// The slot a jump at `pc` with offset `off` lands on (the decoder has checked it).
fn jump_target(pc: usize, off: i64) -> usize {
    cfg::target(pc, off) as usize
}

/// Everything the lowering needs about one program: the instructions in order with
/// their slots.
pub fn lower_all(prog: &isa::Program, dists: &[Dist], ext: Ext) -> Result<Vec<Vec<RvInsn>>, LowerError> {
    prog.iter().zip(dists).map(|((pc, insn), &d)| lower(insn, pc, &shape(insn, d, ext))).collect()
}

/// Registers the host's frame saves: ra and every callee-saved register the code uses.
const SAVED: [XReg; 11] = [XReg::RA, XReg::S0, XReg::S1, XReg::S2, XReg::S3, XReg::S4, XReg::S5, LINK, CTX, DISPATCH, FLOOR];

/// Bytes of the host frame (16-aligned).
pub const FRAME: i64 = (8 * SAVED.len() as i64 + 15) & !15;

/// The BPF registers the entry clears: all but r1 (the context), r2 (its length) and
/// r10 (the frame pointer).
pub const ENTRY_ZEROED: [isa::Reg; 8] = [isa::Reg::R0, isa::Reg::R3, isa::Reg::R4, isa::Reg::R5, isa::Reg::R6, isa::Reg::R7, isa::Reg::R8, isa::Reg::R9];

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
    // Each saved register's slot, from the top of the frame down.
    const SLOTS: [Imm12; SAVED.len()] = offsets(FRAME - 8, -8);
    let mut o: Vec<RvInsn> = vec![i(IOp::Addi, XReg::SP, XReg::SP, const { Imm12::lit(-FRAME) })];
    for (&s, off) in SAVED.iter().zip(SLOTS) {
        o.push(RvInsn::Store { op: StoreOp::Sd, src: s, base: XReg::SP, off });
    }
    o.push(i(IOp::Addi, XReg::S0, XReg::SP, const { Imm12::lit(FRAME) }));
    o.push(i(IOp::Addi, XReg::S5, XReg::A2, Imm12::ZERO));
    o.push(i(IOp::Addi, CTX, XReg::A3, Imm12::ZERO));
    o.push(i(IOp::Addi, DISPATCH, XReg::A4, Imm12::ZERO));
    o.push(i(IOp::Addi, FLOOR, XReg::A5, Imm12::ZERO));
    // No host value reaches the program: r0 and r3–r9 start at 0, as in the interpreter
    // (a2–a5 held the stack top, the run context, the dispatcher and the floor; s1–s4
    // the host's own callee-saved values).
    for r in ENTRY_ZEROED {
        if crate::seeded!(EntryLeavesR5) && r == isa::Reg::R5 {
            continue;
        }
        o.push(i(IOp::Addi, reg(r), XReg::ZERO, Imm12::ZERO));
    }
    // The body starts right after the header: slot 0.
    o.push(RvInsn::Jal { rd: LINK, target: Target::Pc(0) });
    o.push(i(IOp::Addi, XReg::A0, XReg::A5, Imm12::ZERO));
    o.push(i(IOp::Addi, XReg::A1, XReg::ZERO, Imm12::ZERO));
    o.push(RvInsn::Jal { rd: XReg::ZERO, target: Target::Skip(Skip::insns(4)) });
    // The call-depth stop: the call's address (a7) to the context's second word.
    let depth = o.len();
    o.push(RvInsn::Store { op: StoreOp::Sd, src: XReg::A7, base: CTX, off: const { Imm12::lit(8) } });
    o.push(i(IOp::Addi, XReg::A1, XReg::ZERO, const { Imm12::lit(STOP_CALL_DEPTH) }));
    // The stop path: tell the host where r10 was (a tail call is only allowed from the
    // entry frame), drop every BPF call frame.
    let abort = o.len();
    o.push(RvInsn::Store { op: StoreOp::Sd, src: XReg::S5, base: CTX, off: Imm12::ZERO });
    o.push(i(IOp::Addi, XReg::SP, XReg::S0, const { Imm12::lit(-FRAME) }));
    for (&s, off) in SAVED.iter().zip(SLOTS) {
        o.push(RvInsn::Load { op: LoadOp::Ld, rd: s, base: XReg::SP, off });
    }
    o.push(i(IOp::Addi, XReg::SP, XReg::SP, const { Imm12::lit(FRAME) }));
    o.push(RvInsn::Jalr { rd: XReg::ZERO, rs1: XReg::RA, off: Imm12::ZERO });
    Header { insns: o, abort, depth }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::{spec, HelperId, Reg};

    /// One instruction of every supported opcode (registers r3 and r4; values filled in
    /// by the tests).
    fn templates() -> Vec<Insn> {
        let (d, s) = (Reg::new(3).unwrap(), Reg::new(4).unwrap());
        let mut t = Vec::new();
        for width in [Width::W32, Width::W64] {
            for op in AluOp::ALL {
                t.push(Insn::Alu { width, op, dst: d, src: Source::Imm(0) });
                t.push(Insn::Alu { width, op, dst: d, src: Source::Reg(s) });
            }
            t.push(Insn::Neg { width, dst: d });
            for cond in JmpCond::ALL {
                t.push(Insn::Jmp { width, cond, dst: d, src: Source::Imm(0), off: 0 });
                t.push(Insn::Jmp { width, cond, dst: d, src: Source::Reg(s), off: 0 });
            }
        }
        for (width, bits) in [(Width::W32, SxWidth::S8), (Width::W32, SxWidth::S16), (Width::W64, SxWidth::S8), (Width::W64, SxWidth::S16), (Width::W64, SxWidth::S32)] {
            t.push(Insn::MovSx { width, bits, dst: d, src: s });
        }
        for (kind, bits) in [EndKind::Le, EndKind::Be, EndKind::Swap].into_iter().flat_map(|k| [EndWidth::B16, EndWidth::B32, EndWidth::B64].map(move |b| (k, b))) {
            t.push(Insn::End { kind, bits, dst: d });
        }
        for size in [Size::B, Size::H, Size::W, Size::DW] {
            t.push(Insn::Ldx { size, signed: false, dst: d, src: s, off: 0 });
            if size != Size::DW {
                t.push(Insn::Ldx { size, signed: true, dst: d, src: s, off: 0 });
            }
            t.push(Insn::St { size, dst: d, off: 0, imm: 0 });
            t.push(Insn::Stx { size, dst: d, src: s, off: 0 });
        }
        for size in [Size::W, Size::DW] {
            for op in AtomicOp::ALL {
                t.push(Insn::Atomic { size, op, dst: d, src: s, off: 0 });
            }
        }
        t.push(Insn::LdImm64 { kind: LdKind::Imm64, dst: d, imm: 0, next_imm: 0 });
        t.extend([Insn::Ja { off: 0 }, Insn::Gotol { imm: 0 }, Insn::Call { helper: HelperId(0) }, Insn::Callx { reg: s }, Insn::CallLocal { imm: 0 }, Insn::Exit]);
        t
    }

    use crate::isa::test_rng::Rng;

    trait Values {
        fn i32(&mut self) -> i32;
    }

    impl Values for Rng {
        /// Mostly small values and values near the edges, sometimes anything.
        fn i32(&mut self) -> i32 {
            let x = self.next();
            match x % 4 {
                0 => x as i32,
                1 => (x >> 8) as i32 % 5000,
                2 => ((x >> 8) as i32).wrapping_shl((x % 31) as u32),
                _ => [0, 1, -1, 2047, 2048, -2048, -2049, i32::MAX, i32::MIN, 0x7fff_f800][(x >> 8) as usize % 10].wrapping_add(((x >> 40) % 3) as i32 - 1),
            }
        }
    }

    /// `t` with its immediate and offset fields replaced.
    fn with_values(t: Insn, imm: i32, imm2: i32, off: i16) -> Insn {
        match t {
            Insn::Alu { width, op, dst, src: Source::Imm(_) } => Insn::Alu { width, op, dst, src: Source::Imm(imm) },
            Insn::Jmp { width, cond, dst, src: Source::Imm(_), .. } => Insn::Jmp { width, cond, dst, src: Source::Imm(imm), off },
            Insn::Jmp { width, cond, dst, src, .. } => Insn::Jmp { width, cond, dst, src, off },
            Insn::Ldx { size, signed, dst, src, .. } => Insn::Ldx { size, signed, dst, src, off },
            Insn::Stx { size, dst, src, .. } => Insn::Stx { size, dst, src, off },
            Insn::St { size, dst, .. } => Insn::St { size, dst, off, imm },
            Insn::Atomic { size, op, dst, src, .. } => Insn::Atomic { size, op, dst, src, off },
            Insn::LdImm64 { kind, dst, .. } => Insn::LdImm64 { kind, dst, imm, next_imm: imm2 },
            Insn::Ja { .. } => Insn::Ja { off },
            Insn::Gotol { .. } => Insn::Gotol { imm },
            Insn::Call { .. } => Insn::Call { helper: HelperId(imm) },
            Insn::CallLocal { .. } => Insn::CallLocal { imm },
            other => other,
        }
    }

    #[test]
    fn the_templates_cover_every_supported_opcode() {
        let mut ids: Vec<&str> = templates().iter().map(|t| t.spec_row().id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut want: Vec<&str> = spec::SPEC.iter().filter(|r| r.supported && r.mnemonic != "lddw").map(|r| r.id).collect();
        want.push(Insn::LdImm64 { kind: LdKind::Imm64, dst: Reg::R0, imm: 0, next_imm: 0 }.spec_row().id);
        want.sort_unstable();
        want.dedup();
        assert_eq!(ids, want);
    }

    #[test]
    fn forms_lists_every_form_shape_gives() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut total = 0;
        for t in templates() {
            let kinds = forms(&t);
            assert!(!kinds.is_empty(), "{t:?}");
            total += kinds.len();
            for _ in 0..4000 {
                let (imm, imm2) = (rng.i32(), rng.i32());
                let v = with_values(t, imm, imm2, rng.i32() as i16);
                let dist = [Dist::Near, Dist::Mid, Dist::Far][(rng.next() % 3) as usize];
                let ext = Ext { zba: rng.next() % 2 == 0, zbb: rng.next() % 2 == 0 };
                let k = shape(&v, dist, ext).form.kind();
                assert!(kinds.contains(&k), "{v:?} {dist:?}: {k:?} is not among {kinds:?}");
            }
        }
        // The obligations of the supported opcodes, over all immediates and reaches.
        assert!(total > 400, "{total}");
    }

    #[test]
    fn every_reached_form_lowers() {
        // Every form random values reach lowers. Which forms no value reaches (a large
        // offset that is 0, …) the proofs show (`smt::shapes`).
        let mut rng = Rng(7);
        for t in templates() {
            for _ in 0..20_000 {
                let v = with_values(t, rng.i32(), rng.i32(), rng.i32() as i16);
                for dist in [Dist::Near, Dist::Mid, Dist::Far] {
                    let s = shape(&v, dist, Ext::default());
                    assert!(lower(&v, 100, &s).is_ok(), "{v:?}");
                }
            }
        }
    }

    /// The BPF registers an instruction's semantics write.
    fn bpf_writes(insn: &Insn) -> Vec<XReg> {
        match *insn {
            Insn::Alu { dst, .. } | Insn::Neg { dst, .. } | Insn::MovSx { dst, .. } | Insn::End { dst, .. } | Insn::LdImm64 { dst, .. } | Insn::Ldx { dst, .. } => vec![reg(dst)],
            Insn::Atomic { op: AtomicOp::Cmpxchg, .. } => vec![reg(Reg::R0)],
            Insn::Atomic { op, src, .. } if op.fetches() => vec![reg(src)],
            _ => vec![],
        }
    }

    #[test]
    fn code_writes_only_the_registers_the_semantics_write_and_scratch() {
        const SCRATCH: [XReg; 4] = [XReg::T0, XReg::T1, XReg::T2, XReg::T3];
        let mut rng = Rng(11);
        for t in templates() {
            for _ in 0..500 {
                let v = with_values(t, rng.i32(), rng.i32(), rng.i32() as i16);
                let dist = [Dist::Near, Dist::Mid, Dist::Far][(rng.next() % 3) as usize];
                let ext = Ext { zba: rng.next() % 2 == 0, zbb: rng.next() % 2 == 0 };
                let code = lower(&v, 100, &shape(&v, dist, ext)).unwrap();
                // What the calls may write: the helper ABI's caller-saved registers, or
                // (bpf-to-bpf) the state the call saves and restores.
                let allowed: Vec<XReg> = match v {
                    Insn::Call { .. } | Insn::Callx { .. } => vec![XReg::A0, XReg::A1, XReg::A2, XReg::A3, XReg::A4, XReg::A5, XReg::A6, XReg::A7, XReg::RA, XReg::T1],
                    Insn::CallLocal { .. } => vec![XReg::SP, XReg::S1, XReg::S2, XReg::S3, XReg::S4, XReg::S5, LINK, XReg::A7, XReg::T1],
                    _ => bpf_writes(&v).into_iter().chain(SCRATCH).collect(),
                };
                let mut written: Vec<XReg> = Vec::new();
                for insn in &code {
                    let du = insn.defs_uses();
                    for r in du.reads() {
                        assert!(!SCRATCH.contains(&r) || written.contains(&r), "{v:?}: {insn} reads {r} before the code wrote it");
                    }
                    if let Some(d) = du.def {
                        assert!(allowed.contains(&d), "{v:?}: {insn} writes {d}");
                        written.push(d);
                    }
                }
            }
        }
    }
}
