//! Per-shape proofs: every lowering template proven for all register values **and all
//! immediates and offsets that select it**.
//!
//! [`lower`](crate::jit::rv64::lower) is generic over how immediates are represented
//! ([`Repr`]). Here it runs with [`Sym`], whose values are z3 terms: the BPF
//! instruction's `imm`, second `imm` (lddw) and memory offset are fresh 64-bit symbols
//! (sign-extended from 32 and 16 bits), the selection condition [`lower::when`] becomes a
//! formula, and [`lower::build`] and [`lower::lower`] compute the template whose fields
//! are terms of those symbols. The same code, instantiated with numbers, makes every
//! image the JIT runs.
//!
//! One [`Obligation`] is an instruction (an opcode of spec/isa.json with registers), a
//! [`FormKind`] and the extensions. It is either **unreachable** (no values meet its
//! condition: z3 says unsat) or **proven**: the template is assembled by the JIT's own
//! encoder with a placeholder in each symbolic field, decoded by the checker's decoder,
//! and run by the RV64 model with the field's term in place of the placeholder, from the
//! start of its range to every exit, under the selection condition; each path is checked
//! against the BPF model exactly as translation validation checks an image
//! ([`validate`](super::validate)): registers through the register map, kept registers,
//! events, and the next pc (fall-through, the branch target's label, the epilogue through
//! the link, the stop path, the call-depth stop). A reachable kind also gets a concrete
//! witness: the model's values, run through the concrete [`lower::shape`], must select
//! that kind.
//!
//! Besides: [`selection`] proves that the conditions of an instruction's kinds exclude
//! each other and cover every value (so `shape` always finds exactly one), and
//! [`renaming`] shows that the code for every register assignment is a renaming of the
//! code for a proven one.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use std::cell::RefCell;

use z3::ast::{Ast, Bool, BV};
use z3::{SatResult, Solver};

use super::validate::{Cx, Failure};
use super::{bpf, decode, k64};
use crate::isa::{self, cfg, spec, AluOp, Insn, RawInsn, Reg, Source};
use crate::jit::rv64::emit::{self, Image};
use crate::jit::rv64::insn::{Imm12, Imm20, RvInsn, Shamt5, Shamt6, Target, XReg};
use crate::jit::rv64::lower::{self, Dist, Ext, Fields, FormKind, Shape};
use crate::jit::rv64::repr::{Concrete, MapImms, Repr};

/// Values as z3 terms (handles into a per-thread arena, so that they are `Copy` as the
/// lowering's values are).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sym;

/// A 64-bit term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Term(u32);

/// A condition.
#[derive(Clone, Copy, Debug)]
pub struct Cond(u32);

std::thread_local! {
    static TERMS: RefCell<Vec<BV>> = const { RefCell::new(Vec::new()) };
    static CONDS: RefCell<Vec<Bool>> = const { RefCell::new(Vec::new()) };
}

type Arena<T> = std::thread::LocalKey<RefCell<Vec<T>>>;

/// Stores `v` in `arena`; its handle.
fn store<T>(arena: &'static Arena<T>, v: T) -> u32 {
    arena.with(|a| {
        let mut a = a.borrow_mut();
        a.push(v);
        a.len() as u32 - 1
    })
}

fn fetch<T: Clone>(arena: &'static Arena<T>, k: u32) -> T {
    arena.with(|a| a.borrow()[k as usize].clone())
}

impl Term {
    pub fn new(b: BV) -> Term {
        Term(store(&TERMS, b))
    }
    pub fn get(self) -> BV {
        fetch(&TERMS, self.0)
    }
}

impl Cond {
    fn new(b: Bool) -> Cond {
        Cond(store(&CONDS, b))
    }
    pub fn get(self) -> Bool {
        fetch(&CONDS, self.0)
    }
}

/// Drops every term of this thread (their handles must not be used afterwards).
fn reset() {
    TERMS.with(|t| t.borrow_mut().clear());
    CONDS.with(|c| c.borrow_mut().clear());
}

impl Repr for Sym {
    type V = Term;
    type B = Cond;
    type I12 = Term;
    type I20 = Term;
    type Sh6 = Term;
    type Sh5 = Term;

    fn lit(v: i64) -> Term {
        Term::new(k64(v as u64))
    }
    fn sub(a: Term, b: Term) -> Term {
        Term::new(a.get().bvsub(b.get()))
    }
    fn sar(a: Term, n: u32) -> Term {
        Term::new(a.get().bvashr(k64(n as u64)))
    }
    fn i12(v: Term) -> Term {
        Term::new(v.get().extract(11, 0).sign_ext(52))
    }
    fn of12(i: Term) -> Term {
        i
    }
    fn i20(v: Term) -> Term {
        Term::new(v.get().extract(19, 0).sign_ext(44))
    }
    fn sh6(v: Term) -> Term {
        Term::new(v.get().bvand(k64(63)))
    }
    fn sh5(v: Term) -> Term {
        Term::new(v.get().bvand(k64(31)))
    }
    fn same(a: Term, b: Term) -> Cond {
        Cond::new(a.get().eq(b.get()))
    }
    fn truth(b: bool) -> Cond {
        Cond::new(Bool::from_bool(b))
    }
    fn and(a: Cond, b: Cond) -> Cond {
        Cond::new(Bool::and(&[a.get(), b.get()]))
    }
    fn or(a: Cond, b: Cond) -> Cond {
        Cond::new(Bool::or(&[a.get(), b.get()]))
    }
    fn not(a: Cond) -> Cond {
        Cond::new(a.get().not())
    }
}

/// The slot every template is lowered at, and the offset its jumps take (so that the
/// branch target, slot `PC + 1 + JUMP`, is not the fall-through).
const PC: usize = 100;
const JUMP: i16 = 2;

/// One instruction of every supported row of spec/isa.json: each value a selector field
/// lists, dst r1 and src r2, jump offsets [`JUMP`], other fields 0. `lddw` only in its
/// plain form (the others are resolved to it before JIT compilation).
pub fn templates() -> Vec<Insn> {
    let values = |f: spec::Field| -> Vec<i64> {
        match f {
            spec::Field::Zero | spec::Field::Any => vec![0],
            spec::Field::Reg => vec![2],
            spec::Field::OneOf(v) => v.to_vec(),
        }
    };
    let mut out: Vec<Insn> = Vec::new();
    for row in spec::SPEC.iter().filter(|r| r.supported) {
        for src in values(row.src) {
            for off in values(row.off) {
                for imm in values(row.imm) {
                    let dst = if row.dst == spec::DstRule::Zero { 0 } else { 1 };
                    let raw = RawInsn { opcode: row.opcode, dst, src: src as u8, off: off as i16, imm: imm as i32 };
                    let next = (row.class == "ld").then_some(RawInsn { opcode: 0, dst: 0, src: 0, off: 0, imm: 0 });
                    let Ok(insn) = isa::decode_one(raw, next) else { continue };
                    let insn = with_jump(insn);
                    if matches!(insn, Insn::LdImm64 { kind, .. } if kind != isa::LdKind::Imm64) || out.contains(&insn) {
                        continue;
                    }
                    out.push(insn);
                }
            }
        }
    }
    out
}

/// A pseudo `lddw` (a map, a map value, a variable, a function…): the runtime turns it
/// into a plain `lddw` before JIT compilation.
fn resolved_before_jit(row: &spec::SpecRow) -> bool {
    let spec::Field::OneOf(&[src]) = row.src else { return false };
    let raw = RawInsn { opcode: row.opcode, dst: 1, src: src as u8, off: 0, imm: 0 };
    matches!(isa::decode_one(raw, Some(RawInsn { opcode: 0, dst: 0, src: 0, off: 0, imm: 0 })), Ok(Insn::LdImm64 { kind, .. }) if kind != isa::LdKind::Imm64)
}

/// `insn` with its jump offset [`JUMP`] and its other value fields 0 (they are symbols in
/// the proof, and lowering does not read them).
fn with_jump(insn: Insn) -> Insn {
    match insn {
        Insn::Ja { .. } => Insn::Ja { off: JUMP },
        Insn::Gotol { .. } => Insn::Gotol { imm: JUMP as i32 },
        Insn::CallLocal { .. } => Insn::CallLocal { imm: JUMP as i32 },
        Insn::Jmp { width, cond, dst, src, .. } => Insn::Jmp { width, cond, dst, src: if let Source::Imm(_) = src { Source::Imm(0) } else { src }, off: JUMP },
        other => with_values(other, 0, 0, 0),
    }
}

/// `insn` with its immediate, second immediate and memory offset replaced (jump offsets
/// kept).
pub fn with_values(insn: Insn, imm: i32, imm2: i32, off: i16) -> Insn {
    match insn {
        Insn::Alu { width, op, dst, src: Source::Imm(_) } => Insn::Alu { width, op, dst, src: Source::Imm(imm) },
        Insn::Jmp { width, cond, dst, src: Source::Imm(_), off: j } => Insn::Jmp { width, cond, dst, src: Source::Imm(imm), off: j },
        Insn::Ldx { size, signed, dst, src, .. } => Insn::Ldx { size, signed, dst, src, off },
        Insn::Stx { size, dst, src, .. } => Insn::Stx { size, dst, src, off },
        Insn::St { size, dst, .. } => Insn::St { size, dst, off, imm },
        Insn::Atomic { size, op, dst, src, .. } => Insn::Atomic { size, op, dst, src, off },
        Insn::LdImm64 { kind, dst, .. } => Insn::LdImm64 { kind, dst, imm, next_imm: imm2 },
        Insn::Call { .. } => Insn::Call { helper: isa::HelperId(imm) },
        other => other,
    }
}

/// The registers an instruction names: (dst, src).
pub fn regs_of(insn: &Insn) -> (Option<Reg>, Option<Reg>) {
    match *insn {
        Insn::Alu { dst, src: Source::Reg(s), .. } | Insn::Jmp { dst, src: Source::Reg(s), .. } => (Some(dst), Some(s)),
        Insn::MovSx { dst, src, .. } | Insn::Ldx { dst, src, .. } | Insn::Stx { dst, src, .. } | Insn::Atomic { dst, src, .. } => (Some(dst), Some(src)),
        Insn::Alu { dst, .. } | Insn::Jmp { dst, .. } | Insn::Neg { dst, .. } | Insn::End { dst, .. } | Insn::LdImm64 { dst, .. } | Insn::St { dst, .. } => (Some(dst), None),
        Insn::Callx { reg } => (Some(reg), None),
        _ => (None, None),
    }
}

/// `insn` with dst `d` and src `s` (where it has them).
pub fn with_regs(insn: Insn, d: Reg, s: Reg) -> Insn {
    match insn {
        Insn::Alu { width, op, src: Source::Reg(_), .. } => Insn::Alu { width, op, dst: d, src: Source::Reg(s) },
        Insn::Alu { width, op, src, .. } => Insn::Alu { width, op, dst: d, src },
        Insn::Jmp { width, cond, src: Source::Reg(_), off, .. } => Insn::Jmp { width, cond, dst: d, src: Source::Reg(s), off },
        Insn::Jmp { width, cond, src, off, .. } => Insn::Jmp { width, cond, dst: d, src, off },
        Insn::MovSx { width, bits, .. } => Insn::MovSx { width, bits, dst: d, src: s },
        Insn::Ldx { size, signed, off, .. } => Insn::Ldx { size, signed, dst: d, src: s, off },
        Insn::Stx { size, off, .. } => Insn::Stx { size, dst: d, src: s, off },
        Insn::Atomic { size, op, off, .. } => Insn::Atomic { size, op, dst: d, src: s, off },
        Insn::Neg { width, .. } => Insn::Neg { width, dst: d },
        Insn::End { kind, bits, .. } => Insn::End { kind, bits, dst: d },
        Insn::LdImm64 { kind, imm, next_imm, .. } => Insn::LdImm64 { kind, dst: d, imm, next_imm },
        Insn::St { size, off, imm, .. } => Insn::St { size, dst: d, off, imm },
        Insn::Callx { .. } => Insn::Callx { reg: d },
        other => other,
    }
}

fn r(n: u8) -> Reg {
    Reg::new(n).expect("r0-r10")
}

/// The register assignments a proof covers, as (dst, src): every pattern of equality
/// among dst, src and r0 (the only BPF register a template with two registers names
/// itself: cmpxchg's comparand), or for `callx` every register. Every other assignment
/// is a renaming of one of these ([`renaming`]).
pub fn assignments(insn: &Insn) -> Vec<(Reg, Reg)> {
    if let Insn::Callx { .. } = insn {
        // The helper call names r0–r5's registers itself (arguments, result, stop flag):
        // every register is its own case.
        return (0..11).map(|n| (r(n), r(n))).collect();
    }
    match regs_of(insn) {
        (Some(_), Some(_)) => vec![(r(1), r(2)), (r(3), r(3)), (r(0), r(4)), (r(6), r(0)), (r(0), r(0))],
        (Some(_), None) => vec![(r(1), r(1)), (r(0), r(0))],
        _ => vec![(r(0), r(0))],
    }
}

/// The representative of the assignment (d, s): the one of [`assignments`] with the same
/// equalities among dst, src and r0.
fn representative(insn: &Insn, d: Reg, s: Reg) -> (Reg, Reg) {
    let zero = Reg::R0;
    let pattern = |d: Reg, s: Reg| (d == s, d == zero, s == zero);
    if let Insn::Callx { .. } = insn {
        return (d, d);
    }
    let has_src = regs_of(insn).1.is_some();
    assignments(insn).into_iter().find(|&(rd, rs)| if has_src { pattern(rd, rs) == pattern(d, s) } else { (rd == zero) == (d == zero) }).expect("every pattern has a representative")
}

/// Every extension set.
pub const EXTS: [Ext; 4] = [Ext { zba: false, zbb: false }, Ext { zba: true, zbb: false }, Ext { zba: false, zbb: true }, Ext { zba: true, zbb: true }];

/// One per-shape proof obligation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Obligation {
    pub insn: Insn,
    pub kind: FormKind,
    pub ext: Ext,
}

impl Obligation {
    /// `<row id> <mnemonic> <registers> <kind> <extensions>`.
    pub fn name(&self) -> String {
        let row = self.insn.spec_row();
        let regs = match regs_of(&self.insn) {
            (Some(d), Some(s)) => format!(" r{}, r{}", d.index(), s.index()),
            (Some(d), None) => format!(" r{}", d.index()),
            _ => String::new(),
        };
        format!("{} {}{regs} {:?}{}", row.id, row.mnemonic, self.kind, ext_name(self.ext))
    }
}

pub fn ext_name(ext: Ext) -> &'static str {
    match (ext.zba, ext.zbb) {
        (false, false) => "",
        (true, false) => " +zba",
        (false, true) => " +zbb",
        (true, true) => " +zba+zbb",
    }
}

/// Every obligation: each template × register assignment × form kind (over every reach)
/// × extension set.
pub fn obligations() -> Vec<Obligation> {
    let mut out = Vec::new();
    for t in templates() {
        for (d, s) in assignments(&t) {
            let insn = with_regs(t, d, s);
            for kind in lower::forms(&insn) {
                for ext in EXTS {
                    out.push(Obligation { insn, kind, ext });
                }
            }
        }
    }
    out
}

/// How an obligation ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Every path proven; the values of one witness (imm, imm2, off).
    Proven { paths: usize, witness: (i64, i64, i64) },
    /// No values select this kind.
    Unreachable,
    /// A proof failed (with a counterexample where z3 gave one).
    Failed(Failure),
    /// A check outside z3 failed: the selection conditions, a renaming, a witness that
    /// `shape` disagrees with, or a panic.
    Refused(String),
}

impl Outcome {
    pub fn ok(&self) -> bool {
        !matches!(self, Outcome::Failed(_) | Outcome::Refused(_))
    }
}

/// The BPF fields as fresh symbols, with the conditions that they are what the
/// instruction can hold.
fn symbols() -> (bpf::Fields, Vec<Bool>) {
    let f = bpf::Fields { imm: BV::new_const("imm", 64), imm2: BV::new_const("imm2", 64), off: BV::new_const("off", 64) };
    let holds = |v: &BV, bits: u32| v.eq(v.extract(bits - 1, 0).sign_ext(64 - bits));
    let domain = vec![holds(&f.imm, 32), holds(&f.imm2, 32), holds(&f.off, 16)];
    (f, domain)
}

fn solver() -> Solver {
    let s = Solver::new_for_logic("QF_BV").unwrap_or_default();
    let mut p = z3::Params::new();
    p.set_u32("timeout", 20_000);
    s.set_params(&p);
    s
}

/// Proves one obligation. Multiplication, division and remainder are uninterpreted
/// functions first (as in translation validation); if that fails for an instruction that
/// uses them, exact arithmetic decides, so that a counterexample has real values.
pub fn prove(ob: &Obligation) -> Outcome {
    reset();
    let mut outcome = super::arith::abstract_arith(|| prove_in(ob));
    let arith = matches!(ob.insn, Insn::Alu { op: AluOp::Mul | AluOp::Div | AluOp::Sdiv | AluOp::Mod | AluOp::Smod, .. });
    if arith && matches!(outcome, Outcome::Failed(Failure::Counterexample { .. })) {
        reset();
        match prove_in(ob) {
            exact @ (Outcome::Proven { .. } | Outcome::Failed(Failure::Counterexample { .. })) => outcome = exact,
            // Exact arithmetic gave no answer in time: the counterexample stands, but its
            // values come from some interpretation of the operations, not the real one.
            _ => {
                if let Outcome::Failed(Failure::Counterexample { what, .. }) = &mut outcome {
                    what.push_str(" (with multiplication, division and remainder uninterpreted: the code applies another operation, or to other operands; the values shown need not be real)");
                }
            }
        }
    }
    reset();
    outcome
}

fn prove_in(ob: &Obligation) -> Outcome {
    let (fields, domain) = symbols();
    let f: Fields<Sym> = Fields { imm: Term::new(fields.imm.clone()), imm2: Term::new(fields.imm2.clone()), off: Term::new(fields.off.clone()) };
    let when = lower::when::<Sym>(&ob.insn, ob.kind, &f).get().simplify();
    let mut pre = domain;
    pre.push(when);
    // Reachable? Then a witness, which the concrete shape must agree with.
    let s = solver();
    for c in &pre {
        s.assert(c);
    }
    let witness = match s.check() {
        SatResult::Unsat => return Outcome::Unreachable,
        SatResult::Unknown => return Outcome::Failed(Failure::Unknown(s.get_reason_unknown().unwrap_or_default())),
        SatResult::Sat => {
            let m = s.get_model().expect("a model for sat");
            let val = |b: &BV| m.eval(b, true).and_then(|v| v.as_u64()).unwrap_or(0) as i64;
            (val(&fields.imm), val(&fields.imm2), val(&fields.off))
        }
    };
    let concrete = with_values(ob.insn, witness.0 as i32, witness.1 as i32, witness.2 as i16);
    let dist = kind_dist(ob.kind);
    let chosen = lower::shape(&concrete, dist, ob.ext).form.kind();
    if chosen != ob.kind {
        return Outcome::Refused(format!("imm = {:#x}, imm2 = {:#x}, off = {:#x} meet the condition of {:?}, but shape chooses {chosen:?}", witness.0, witness.1, witness.2, ob.kind));
    }
    let shape = Shape { form: lower::build::<Sym>(&ob.insn, ob.kind, &f), ext: ob.ext };
    let code = match lower::lower::<Sym>(&ob.insn, PC, &shape) {
        Ok(c) => c,
        Err(e) => return Outcome::Refused(format!("{e}")),
    };
    let (list, terms) = match placeholders(&code) {
        Ok(x) => x,
        Err(e) => return Outcome::Failed(e),
    };
    // Lowering reads the opcode, the registers and the jump offset, not the values: other
    // values give the same template.
    let other = with_values(ob.insn, 0x1234_5678, -7, -300);
    let same = lower::lower::<Sym>(&other, PC, &shape).map_err(|e| format!("{e}")).and_then(|c| placeholders(&c).map_err(|e| format!("{e}")));
    match same {
        Ok((l, t)) if l == list && t.len() == terms.len() && t.iter().zip(&terms).all(|(a, b)| a.as_ref().map(|x| x.to_string()) == b.as_ref().map(|x| x.to_string())) => {}
        _ => return Outcome::Refused(String::from("lowering gives another template when the instruction's own value fields change")),
    }
    match run(ob, &list, &terms, &fields, &pre) {
        Ok(paths) => Outcome::Proven { paths, witness },
        Err(e) => Outcome::Failed(e),
    }
}

/// The reach a kind was made for.
pub fn kind_dist(kind: FormKind) -> Dist {
    match kind {
        FormKind::Jmp { dist, .. } | FormKind::Call { dist, .. } | FormKind::Ja(dist) => dist,
        _ => Dist::Near,
    }
}

/// The template with a placeholder (0) in each field that is not a constant, and each
/// word's term (the field's value as the decoder gives it: `lui`'s shifted).
#[allow(clippy::type_complexity)]
fn placeholders(code: &[RvInsn<Sym>]) -> Result<(Vec<RvInsn>, Vec<Option<BV>>), Failure> {
    struct Conv {
        term: Option<BV>,
        bad: Option<String>,
    }
    impl Conv {
        fn constant(&mut self, t: Term, lo: i64, hi: i64) -> Option<i64> {
            let b = t.get().simplify();
            match b.as_u64().map(|v| v as i64) {
                Some(v) if (lo..=hi).contains(&v) => Some(v),
                Some(v) => {
                    self.bad = Some(format!("the constant field {v} is out of range"));
                    None
                }
                None => {
                    self.term = Some(b);
                    None
                }
            }
        }
    }
    impl MapImms<Sym, Concrete> for Conv {
        fn i12(&mut self, v: Term) -> Imm12 {
            self.constant(v, -2048, 2047).and_then(Imm12::new).unwrap_or(Imm12::ZERO)
        }
        fn i20(&mut self, v: Term) -> Imm20 {
            let c = self.constant(v, -(1 << 19), (1 << 19) - 1);
            if let Some(t) = self.term.take() {
                self.term = Some(t.bvshl(k64(12)));
            }
            c.and_then(Imm20::new).unwrap_or(Imm20::ZERO)
        }
        fn sh6(&mut self, v: Term) -> Shamt6 {
            self.constant(v, 0, 63).and_then(|c| Shamt6::new(c as u32)).unwrap_or(Shamt6::masked(0))
        }
        fn sh5(&mut self, v: Term) -> Shamt5 {
            self.constant(v, 0, 31).and_then(|c| Shamt5::new(c as u32)).unwrap_or(Shamt5::masked(0))
        }
    }
    let mut list = Vec::new();
    let mut terms = Vec::new();
    for insn in code {
        let mut c = Conv { term: None, bad: None };
        let conc = insn.map(&mut c);
        if let Some(why) = c.bad {
            return Err(Failure::Layout(why));
        }
        terms.push(c.term);
        terms.extend((1..conc.words()).map(|_| None));
        list.push(conc);
    }
    Ok((list, terms))
}

/// Assembles the template with its exits after it (fall-through, the branch target, the
/// stop path, the call-depth stop) and proves it as translation validation proves a range.
fn run(ob: &Obligation, list: &[RvInsn], terms: &[Option<BV>], fields: &bpf::Fields, pre: &[Bool]) -> Result<usize, Failure> {
    let len = 4 * terms.len();
    let fallthrough = PC + ob.insn.slots();
    let target = match ob.insn {
        Insn::Ja { off } | Insn::Jmp { off, .. } => Some(cfg::target(PC, off as i64) as usize),
        Insn::Gotol { imm } | Insn::CallLocal { imm } => Some(cfg::target(PC, imm as i64) as usize),
        _ => None,
    };
    let (at_fall, at_target, abort, depth) = (len, len + 4, len + 8, len + 12);
    let exit = |t: Target| match t {
        Target::Pc(p) if p == fallthrough => at_fall,
        Target::Pc(_) => at_target,
        Target::Abort => abort,
        _ => depth,
    };
    if let Some(t) = target {
        // A jump to the fall-through would not show a wrong target.
        if t == fallthrough || list.iter().any(|i| matches!(i, RvInsn::Branch { target: Target::Pc(p), .. } | RvInsn::Jal { target: Target::Pc(p), .. } | RvInsn::FarJump { target: Target::Pc(p), .. } | RvInsn::FarCall { target: Target::Pc(p), .. } if *p != t)) {
            return Err(Failure::Layout(format!("the template jumps to a slot other than {t}")));
        }
    }
    let code = emit::assemble(list, exit, len + 16).map_err(|e| Failure::Layout(format!("{e}")))?;
    let words = decode::decode_all(&code).map_err(|(off, err)| Failure::Decode { off, err })?;
    let mut insns = vec![(PC, list.to_vec(), 0..len), (fallthrough, Vec::new(), at_fall..at_fall + 4)];
    if let Some(t) = target {
        insns.push((t, Vec::new(), at_target..at_target + 4));
    }
    let image = Image { code, ext: ob.ext, header: 0..0, abort, depth, insns, passes: 0 };
    let cx = Cx { words: &words, image: &image, base: BV::new_const("base", 64), syms: terms, pre };
    cx.insn_with(0, PC, &ob.insn, fields, fallthrough)
}

/// The selection conditions of `insn`'s kinds at reach `dist`: that they exclude each
/// other and cover every value the fields can hold. `Err` names what fails.
pub fn selection(insn: &Insn, dist: Dist) -> Result<usize, String> {
    reset();
    let (fields, domain) = symbols();
    let f: Fields<Sym> = Fields { imm: Term::new(fields.imm.clone()), imm2: Term::new(fields.imm2.clone()), off: Term::new(fields.off.clone()) };
    let kinds = lower::kinds(insn, dist);
    let conds: Vec<Bool> = kinds.iter().map(|&k| lower::when::<Sym>(insn, k, &f).get()).collect();
    let unsat = |extra: &Bool| {
        let s = solver();
        for c in &domain {
            s.assert(c);
        }
        s.assert(extra);
        s.check() == SatResult::Unsat
    };
    let mut queries = 1;
    let result = if !unsat(&Bool::or(&conds).not()) {
        Err(String::from("some values meet none of the conditions"))
    } else {
        let mut r = Ok(());
        'pairs: for (a, ca) in conds.iter().enumerate() {
            for (b, cb) in conds.iter().enumerate().skip(a + 1) {
                queries += 1;
                if !unsat(&Bool::and(&[ca.clone(), cb.clone()])) {
                    r = Err(format!("{:?} and {:?} both hold for some values", kinds[a], kinds[b]));
                    break 'pairs;
                }
            }
        }
        r
    };
    reset();
    result.map(|_| queries)
}

/// Values at every decision boundary of `shape` (zero, the 12-bit edges, low bits clear,
/// the 32-bit edges, an lddw value that fits 32 bits and one that does not).
const IMMS: [i32; 15] = [0, 1, -1, 2047, -2048, 2048, -2049, 4095, 4096, -4096, 0x12345, -0x12345, 0x7fff_f800, i32::MAX, i32::MIN];
const OFFS: [i16; 10] = [0, 1, -1, 2047, -2048, 2048, -2049, 4096, i16::MAX, i16::MIN];

/// For every register assignment the instruction's row allows (dst r0–r9 or r0–r10, src
/// r0–r10), at the boundary values, every reach and extension set: the code is the code
/// of its [`representative`] with dst and src renamed, by a renaming that is one-to-one
/// on the registers that code uses. The RV64 semantics treats registers alike (x0
/// aside, which no BPF register maps to) and so does the BPF semantics, so the proof for
/// the representative covers the assignment. Returns the number of codes compared.
pub fn renaming(t: &Insn) -> Result<usize, String> {
    let row = t.spec_row();
    let (d, s) = regs_of(t);
    let (has_dst, has_src) = (d.is_some(), s.is_some());
    let dsts: Vec<Reg> = if !has_dst { vec![Reg::R0] } else { (0..if row.dst == spec::DstRule::Write { 10 } else { 11 }).map(r).collect() };
    let srcs: Vec<Reg> = if has_src { (0..11).map(r).collect() } else { vec![Reg::R0] };
    let mut compared = 0;
    let values: Vec<(i32, i32, i16)> = IMMS.iter().flat_map(|&i| OFFS.iter().map(move |&o| (i, i, o))).chain(IMMS.iter().flat_map(|&i| IMMS.iter().map(move |&j| (i, j, 0)))).collect();
    for &(imm, imm2, off) in &values {
        let v = with_values(*t, imm, imm2, off);
        for dist in [Dist::Near, Dist::Mid, Dist::Far] {
            for ext in EXTS {
                for &d in &dsts {
                    for &s in &srcs {
                        let (rd, rs) = representative(&v, d, s);
                        let lowered = |i: Insn| lower::lower(&i, PC, &lower::shape(&i, dist, ext)).map_err(|e| format!("{e}"));
                        let rep = lowered(with_regs(v, rd, rs))?;
                        let actual = lowered(with_regs(v, d, s))?;
                        let map = [(lower::reg(rd), lower::reg(d)), (lower::reg(rs), lower::reg(s))];
                        let rename = |x: XReg| map.iter().find(|(a, _)| *a == x).map_or(x, |(_, b)| *b);
                        let used: Vec<XReg> = rep.iter().flat_map(|i| {
                            let du = i.defs_uses();
                            du.def.into_iter().chain(du.reads())
                        }).collect();
                        let one_to_one = used.iter().all(|&a| used.iter().all(|&b| a == b || rename(a) != rename(b)));
                        let renamed: Vec<RvInsn> = rep.iter().map(|i| i.map_regs(rename)).collect();
                        if !one_to_one || renamed != actual {
                            return Err(format!("{:?}: the code for dst r{}, src r{} is not the code for r{}, r{} renamed", with_regs(v, d, s), d.index(), s.index(), rd.index(), rs.index()));
                        }
                        compared += 1;
                    }
                }
            }
        }
    }
    Ok(compared)
}

/// One unit of the proof run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// A template for all values that select it.
    Shape(Obligation),
    /// The selection conditions of an instruction's kinds at one reach.
    Selection(Insn, Dist),
    /// Every register assignment of a template.
    Renaming(Insn),
    /// The header: entry, normal return, stop path, call-depth stop.
    Header,
}

/// A finished job: what it was, how it ended, the paths or cases it covered, its time.
#[derive(Clone, Debug)]
pub struct Done {
    pub job: Job,
    pub name: String,
    pub outcome: Outcome,
    pub micros: u64,
}

impl Job {
    pub fn name(&self) -> String {
        match self {
            Job::Shape(ob) => ob.name(),
            Job::Selection(insn, dist) => format!("{} {} selection at {dist:?} reach", insn.spec_row().id, insn.spec_row().mnemonic),
            Job::Renaming(insn) => format!("{} {} register assignments", insn.spec_row().id, insn.spec_row().mnemonic),
            Job::Header => String::from("header"),
        }
    }
    pub fn group(&self) -> &'static str {
        match self {
            Job::Shape(_) => "shape",
            Job::Selection(..) => "selection",
            Job::Renaming(_) => "registers",
            Job::Header => "header",
        }
    }
}

/// Every job: the header, and for each template its selection conditions at each
/// reach, its register renamings and its shape obligations.
pub fn jobs() -> Vec<Job> {
    let mut out = vec![Job::Header];
    for t in templates() {
        for dist in [Dist::Near, Dist::Mid, Dist::Far] {
            if dist == Dist::Near || lower::kinds(&t, dist) != lower::kinds(&t, Dist::Near) {
                out.push(Job::Selection(t, dist));
            }
        }
        out.push(Job::Renaming(t));
    }
    out.extend(obligations().into_iter().map(Job::Shape));
    out
}

/// Runs one job; a panic is a refusal.
pub fn run_job(job: &Job) -> Vec<Done> {
    let t = std::time::Instant::now();
    std::panic::catch_unwind(|| run_job_in(job)).unwrap_or_else(|e| {
        let why = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| String::from(*s))).unwrap_or_default();
        reset();
        vec![Done { job: *job, name: job.name(), outcome: Outcome::Refused(format!("panicked: {why}")), micros: t.elapsed().as_micros() as u64 }]
    })
}

fn run_job_in(job: &Job) -> Vec<Done> {
    let t = std::time::Instant::now();
    let done = |name: String, outcome: Outcome, t: std::time::Instant| Done { job: *job, name, outcome, micros: t.elapsed().as_micros() as u64 };
    let fail = Outcome::Refused;
    let count = |n: usize| Outcome::Proven { paths: n, witness: (0, 0, 0) };
    match job {
        Job::Shape(ob) => vec![done(ob.name(), prove(ob), t)],
        Job::Selection(insn, dist) => vec![done(job.name(), selection(insn, *dist).map_or_else(fail, count), t)],
        Job::Renaming(insn) => vec![done(job.name(), renaming(insn).map_or_else(fail, count), t)],
        Job::Header => header().into_iter().map(|(name, outcome, micros)| Done { job: *job, name, outcome, micros }).collect(),
    }
}

/// The header's verdicts, from the image of a one-instruction program (the header does
/// not depend on the program or the extensions: `lower::header` takes neither).
fn header() -> Vec<(String, Outcome, u64)> {
    let prog = isa::Program::new(vec![Insn::Exit]).expect("exit is a program");
    let image = match emit::compile(&prog, Ext::default()) {
        Ok(i) => i,
        Err(e) => return vec![(String::from("header"), Outcome::Refused(format!("{e}")), 0)],
    };
    let report = super::validate::validate(&prog, &image);
    report
        .verdicts
        .into_iter()
        .filter(|v| v.pc.is_none())
        .map(|v| (format!("header: {}", v.what), v.result.map_or_else(Outcome::Failed, |()| Outcome::Proven { paths: v.paths, witness: (0, 0, 0) }), v.micros))
        .collect()
}

/// What the finished run leaves uncovered: each gap is a line. Empty when every
/// supported row of spec/isa.json has a template, every obligation of every template
/// is proven or unreachable, every template has a proven kind, the header's four parts
/// are proven, and every kind `shape` chooses at the boundary values was proven (not
/// found unreachable) for that instruction.
pub fn coverage(done: &[Done]) -> Vec<String> {
    std::panic::catch_unwind(|| coverage_in(done)).unwrap_or_else(|_| vec![String::from("shape panicked on a boundary value: no kind's condition holds")])
}

fn coverage_in(done: &[Done]) -> Vec<String> {
    let mut gaps = Vec::new();
    let ts = templates();
    let mut ids: Vec<&str> = ts.iter().map(|t| t.spec_row().id).collect();
    ids.sort_unstable();
    ids.dedup();
    for row in spec::SPEC.iter().filter(|r| r.supported) {
        if !ids.contains(&row.id) && !resolved_before_jit(row) {
            gaps.push(format!("spec row {} ({}) has no template", row.id, row.mnemonic));
        }
    }
    for d in done.iter().filter(|d| !d.outcome.ok()) {
        gaps.push(format!("{}: not proven", d.name));
    }
    let expected: Vec<Job> = jobs();
    for j in &expected {
        if !done.iter().any(|d| d.job == *j) {
            gaps.push(format!("{:?}: never run", j));
        }
    }
    let headers = done.iter().filter(|d| d.job == Job::Header && d.outcome.ok()).count();
    if headers != 4 {
        gaps.push(format!("{headers} of the header's 4 parts proven"));
    }
    for t in &ts {
        for (d, s) in assignments(t) {
            let insn = with_regs(*t, d, s);
            let proven: Vec<(FormKind, Ext)> = done
                .iter()
                .filter_map(|x| match (&x.job, &x.outcome) {
                    (Job::Shape(ob), Outcome::Proven { .. }) if ob.insn == insn => Some((ob.kind, ob.ext)),
                    _ => None,
                })
                .collect();
            if proven.is_empty() {
                gaps.push(format!("{insn:?}: no kind proven"));
                continue;
            }
            for (&imm, &off) in IMMS.iter().flat_map(|i| OFFS.iter().map(move |o| (i, o))) {
                for &imm2 in &[0, -1, imm] {
                    let v = with_values(insn, imm, imm2, off);
                    for dist in [Dist::Near, Dist::Mid, Dist::Far] {
                        for ext in EXTS {
                            let k = lower::shape(&v, dist, ext).form.kind();
                            if !proven.contains(&(k, ext)) {
                                gaps.push(format!("{v:?} at {dist:?} reach{}: shape chooses {k:?}, which has no proof", ext_name(ext)));
                                return gaps;
                            }
                        }
                    }
                }
            }
        }
    }
    gaps
}
