//! Translation validation: a compiled [`Image`]'s actual bytes, decoded by the checker's
//! own decoder, proven to do what each BPF instruction does, for all register values.
//!
//! For each BPF instruction, its code range is run symbolically ([`rv64::run`]) from a
//! state where every register is a fresh symbol, and every path is compared with the BPF
//! semantics ([`bpf::step`]) of the instruction, whose registers are the RV64 registers
//! of the JIT's register map:
//! - the next pc: the path leaves for the first byte of the range of the BPF successor
//!   (fall-through or branch target), returns through the link register for `exit`, or
//!   goes to the stop path (a helper stopped the program) or the call-depth stop;
//! - every BPF register the semantics defines, through the register map;
//! - the registers the JIT owns and the host's callee-saved ones: unchanged;
//! - the memory and helper-call events, in order, with equal addresses, sizes and values.
//!
//! A bpf-to-bpf call is checked as two segments joined by the callee: the call saves
//! r6–r10 and the link below sp, moves r10 down one frame (or stops) and calls; the
//! return point restores the same registers from the same slots. The header (entry,
//! normal return, stop path, call-depth stop) has its own obligations: the entry gives
//! the program the ISA's initial state (r1, r2, r10 from the host, every other BPF
//! register 0) and saves what the return and the stop path restore.
//!
//! Layout is checked first: the ranges tile the image in order, and every word decodes.

use alloc::format;
use std::collections::HashMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use z3::ast::{Ast, Bool, BV};
use z3::{SatResult, Solver};

use super::bpf::{self, NEXT_ABORT, NEXT_DEPTH, NEXT_EXIT};
use super::decode::{self, reg_name, Decoded, Op};
use super::rv64::{self, Abi, Exit, Path, State};
use super::{k64, EventKind, Oracle};
use crate::isa::disasm::{format_insn, Syntax};
use crate::isa::{Insn, Program, Reg};
use crate::jit::rv64::emit::Image;
use crate::jit::rv64::insn::XReg;
use crate::jit::rv64::lower::{self, CTX, DISPATCH, FLOOR, LINK};

/// Registers no BPF instruction's code may change: the stack and frame pointers, the
/// JIT's own (link, context, dispatcher, floor) and the host's that the JIT never uses.
const KEPT: [XReg; 10] = [XReg::SP, XReg::S0, LINK, CTX, DISPATCH, FLOOR, XReg::new(3).unwrap(), XReg::new(4).unwrap(), XReg::new(26).unwrap(), XReg::new(27).unwrap()];

/// Scratch registers: anything afterwards.
const SCRATCH: [u8; 4] = [5, 6, 7, 28];

/// Why a part of the image is not proven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The ranges do not tile the image, or code jumps where no range starts.
    Layout(String),
    /// A word the checker cannot decode.
    Decode { off: usize, err: decode::DecodeError },
    /// The code cannot be run symbolically (a computed jump, too many paths, …).
    Run(rv64::RunError),
    /// The instruction has no BPF model.
    Model(bpf::ModelError),
    /// A path does different things than the semantics: what differs, and the values of
    /// the initial registers (and of what memory and helpers returned) that show it.
    Counterexample { what: String, inputs: Vec<(String, u64)>, expected: Option<u64>, actual: Option<u64> },
    /// The events differ in number or kind (no values needed to see it).
    Events(String),
    /// z3 gave no answer.
    Unknown(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Layout(s) => write!(f, "layout: {s}"),
            Failure::Decode { off, err } => write!(f, "code offset {off:#x}: {err}"),
            Failure::Run(e) => write!(f, "{e}"),
            Failure::Model(e) => write!(f, "{e}"),
            Failure::Events(s) => write!(f, "events: {s}"),
            Failure::Unknown(s) => write!(f, "z3 gave no answer: {s}"),
            Failure::Counterexample { what, inputs, expected, actual } => {
                write!(f, "{what} differs")?;
                if let (Some(e), Some(a)) = (expected, actual) {
                    write!(f, " (semantics {e:#x}, code {a:#x})")?;
                }
                write!(f, " when")?;
                for (k, (name, v)) in inputs.iter().enumerate() {
                    write!(f, "{} {name} = {v:#x}", if k == 0 { "" } else { "," })?;
                }
                Ok(())
            }
        }
    }
}

/// The verdict on one part of the image.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// The BPF slot, or `None` for the header's parts.
    pub pc: Option<usize>,
    /// The instruction (or the header part) in words.
    pub what: String,
    pub range: Range<usize>,
    /// Paths proven.
    pub paths: usize,
    /// Time spent proving it (0 when an earlier identical proof was reused), µs.
    pub micros: u64,
    pub result: Result<(), Failure>,
}

/// Every verdict on an image.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub verdicts: Vec<Verdict>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.verdicts.iter().all(|v| v.result.is_ok())
    }
    pub fn failures(&self) -> impl Iterator<Item = &Verdict> {
        self.verdicts.iter().filter(|v| v.result.is_err())
    }
}

/// Validates `image`, compiled from `prog` (lddw resolved).
pub fn validate(prog: &Program, image: &Image) -> Report {
    super::arith::abstract_arith(|| validate_with(prog, image))
}

fn validate_with(prog: &Program, image: &Image) -> Report {
    let mut report = Report::default();
    let layout = |what: &str, r: Result<(), Failure>| Verdict { pc: None, what: what.to_string(), range: 0..image.code.len(), paths: 0, micros: 0, result: r };
    if let Err(e) = check_layout(prog, image) {
        report.verdicts.push(layout("layout", Err(e)));
        return report;
    }
    let words = match decode::decode_all(&image.code) {
        Ok(w) => w,
        Err((off, err)) => {
            report.verdicts.push(layout("decoding", Err(Failure::Decode { off, err })));
            return report;
        }
    };
    let cx = Cx { words: &words, image, base: BV::new_const("base", 64), syms: &[], pre: &[] };
    report.verdicts.extend(cx.header_once());
    let slots: Vec<(usize, &Insn)> = prog.iter().collect();
    // Instructions that only fall through have a proof that does not depend on where they
    // are: the same instruction with the same code is proven once.
    let mut proven: HashMap<(Insn, &[u8]), Proven> = HashMap::new();
    for (k, &(pc, insn)) in slots.iter().enumerate() {
        let fallthrough = slots.get(k + 1).map_or(pc + insn.slots(), |(p, _)| *p);
        let range = image.insns[k].2.clone();
        let key = (*insn, &image.code[range.clone()]);
        let cached = if only_falls_through(insn) { proven.get(&key).cloned() } else { None };
        let t = std::time::Instant::now();
        let (paths, result) = match cached {
            Some(done) => done,
            None => {
                let done = match cx.insn(k, pc, insn, fallthrough) {
                    Ok(n) => (n, Ok(())),
                    Err(e) => (0, Err(e)),
                };
                if only_falls_through(insn) {
                    proven.insert(key, done.clone());
                }
                done
            }
        };
        let micros = t.elapsed().as_micros() as u64;
        report.verdicts.push(Verdict { pc: Some(pc), what: format_insn(insn, Syntax::Conformance), range, paths, micros, result });
    }
    report
}

/// Whether the instruction's only successor is the next one (its code leaves only at
/// the end of its range).
fn only_falls_through(insn: &Insn) -> bool {
    !matches!(insn, Insn::Ja { .. } | Insn::Gotol { .. } | Insn::Jmp { .. } | Insn::Call { .. } | Insn::Callx { .. } | Insn::CallLocal { .. } | Insn::Exit)
}

/// The ranges tile the image: the header, then one range per BPF instruction in order,
/// each word-aligned (possibly empty), up to the end of the code.
fn check_layout(prog: &Program, image: &Image) -> Result<(), Failure> {
    let bad = |s: String| Err(Failure::Layout(s));
    if image.header.start != 0 {
        return bad(format!("the header starts at {:#x}, not 0", image.header.start));
    }
    if image.insns.len() != prog.insns().len() {
        return bad(format!("{} code ranges for {} instructions", image.insns.len(), prog.insns().len()));
    }
    let mut at = image.header.end;
    for ((pc, _), (ipc, _, r)) in prog.iter().zip(&image.insns) {
        if pc != *ipc {
            return bad(format!("range for slot {ipc} where slot {pc} was expected"));
        }
        // A range may be empty (`le64` does nothing): it shares its start with the next.
        if r.start != at || r.end < r.start || r.start % 4 != 0 || r.end % 4 != 0 {
            return bad(format!("pc {pc}: code range {:#x}..{:#x} does not follow {at:#x}", r.start, r.end));
        }
        at = r.end;
    }
    if at != image.code.len() || image.code.len() % 4 != 0 {
        return bad(format!("the ranges end at {at:#x}, the code at {:#x}", image.code.len()));
    }
    for (what, off) in [("stop path", image.abort), ("call-depth stop", image.depth)] {
        if !image.header.contains(&off) || off % 4 != 0 {
            return bad(format!("the {what} at {off:#x} is not in the header"));
        }
    }
    Ok(())
}

/// An instruction's verdict: paths and result.
type Proven = (usize, Result<(), Failure>);

/// Where each saved register went: (register number, offset from sp).
type Slots = Vec<(u8, u64)>;

/// What one image's obligations share.
pub(super) struct Cx<'a> {
    pub(super) words: &'a [Decoded],
    pub(super) image: &'a Image,
    pub(super) base: BV,
    /// Words whose immediate is a term (the per-shape proofs; empty here).
    pub(super) syms: &'a [Option<BV>],
    /// What every path may assume (the per-shape proofs' selection condition).
    pub(super) pre: &'a [Bool],
}

/// The RV64 register of BPF register `r`.
fn rv(r: usize) -> usize {
    lower::reg(Reg::new(r as u8).expect("r0-r10")).num() as usize
}

fn abi() -> Abi {
    Abi { link: LINK.num(), dispatch: DISPATCH.num() }
}

/// One path's obligation: conditions that must all be false (each named), plus the
/// values to show in a counterexample.
struct Obligation {
    differs: Vec<Differs>,
}

/// What must not happen: its name, the condition, and (expected, actual) to show.
type Differs = (String, Bool, Option<(BV, BV)>);

impl Obligation {
    fn new() -> Obligation {
        Obligation { differs: Vec::new() }
    }
    /// `expected` and `actual` must be equal.
    fn equal(&mut self, what: impl Into<String>, expected: &BV, actual: &BV) {
        self.differs.push((what.into(), expected.eq(actual).not(), Some((expected.clone(), actual.clone()))));
    }
    fn holds(&mut self, what: impl Into<String>, c: Bool) {
        self.differs.push((what.into(), c.not(), None));
    }
}

impl Cx<'_> {
    /// The BPF slots whose ranges start at code offset `off` (several when empty ranges
    /// precede a non-empty one), or the stop paths.
    fn next_of(&self, off: u64) -> Vec<u64> {
        let off = off as usize;
        if off == self.image.abort {
            return alloc::vec![NEXT_ABORT];
        }
        if off == self.image.depth {
            return alloc::vec![NEXT_DEPTH];
        }
        let k = self.image.insns.partition_point(|(_, _, r)| r.start < off);
        self.image.insns[k..].iter().take_while(|(_, _, r)| r.start == off).map(|(pc, _, _)| *pc as u64).collect()
    }

    /// `next` is one of `slots`.
    fn next_in(&self, ob: &mut Obligation, next: &BV, slots: &[u64]) {
        match slots {
            [one] => ob.equal("the next pc", next, &k64(*one)),
            many => ob.holds("the next pc", Bool::or(&many.iter().map(|s| next.eq(k64(*s))).collect::<Vec<_>>())),
        }
    }

    fn where_is(&self, off: u64) -> String {
        match self.image.slot_at(off as usize) {
            Some(pc) => format!("offset {off:#x}, inside pc {pc}'s code"),
            None if self.image.header.contains(&(off as usize)) => format!("offset {off:#x}, inside the header"),
            None => format!("offset {off:#x}, outside the image"),
        }
    }

    /// Runs `range` from `start` in state `init`.
    fn run(&self, range: Range<usize>, start: usize, init: State) -> Result<Vec<Path>, Failure> {
        let mut paths = rv64::run(rv64::Code { words: self.words, terms: self.syms }, &self.base, range.start as u64..range.end as u64, start as u64, init, abi(), &Oracle::default()).map_err(Failure::Run)?;
        for p in &mut paths {
            p.cond.extend(self.pre.iter().cloned());
        }
        Ok(paths)
    }

    /// Proves `ob` under `path`'s conditions.
    fn prove(&self, path: &Path, mut ob: Obligation, inputs: &State) -> Result<(), Failure> {
        // What simplification already shows equal needs no solver.
        ob.differs.retain_mut(|(_, d, _)| {
            *d = d.simplify();
            d.as_bool() != Some(false)
        });
        if ob.differs.is_empty() {
            return Ok(());
        }
        let s = solver();
        for c in &path.cond {
            s.assert(c);
        }
        let any: Vec<Bool> = ob.differs.iter().map(|(_, d, _)| d.clone()).collect();
        s.assert(Bool::or(&any));
        match s.check() {
            SatResult::Unsat => Ok(()),
            SatResult::Unknown => Err(Failure::Unknown(s.get_reason_unknown().unwrap_or_default())),
            SatResult::Sat => {
                let m = s.get_model().expect("a model for sat");
                let val = |b: &BV| m.eval(b, true).and_then(|v| v.as_u64());
                let (what, _, vals) = ob.differs.iter().find(|(_, d, _)| m.eval(d, true).and_then(|b| b.as_bool()) == Some(true)).unwrap_or(&ob.differs[0]);
                let mut shown: Vec<(String, u64)> = (0..=10).filter_map(|r| Some((format!("r{r} ({})", reg_name(rv(r) as u8)), val(&inputs.x[rv(r)])?))).collect();
                for name in ["imm", "imm2", "off", "mem0", "mem1", "ret0", "stop0", "t0", "t1", "t2", "t3"] {
                    let c = BV::new_const(name, 64);
                    if let Some(v) = val(&c).filter(|_| mentions(&ob, name) || path_mentions(path, name)) {
                        shown.push((String::from(name), v));
                    }
                }
                Err(Failure::Counterexample {
                    what: what.clone(),
                    inputs: shown,
                    expected: vals.as_ref().and_then(|(e, _)| val(e)),
                    actual: vals.as_ref().and_then(|(_, a)| val(a)),
                })
            }
        }
    }

    /// Events of a path against the semantics' (guards decided under the path).
    fn events(&self, path: &Path, expected: &[super::Event], ob: &mut Obligation) -> Result<(), Failure> {
        let mut present = Vec::new();
        for e in expected {
            let g = e.guard.simplify();
            let here = match g.as_bool() {
                Some(b) => b,
                None if unsat_with(&path.cond, &g.not()) => true,
                None if unsat_with(&path.cond, &g) => false,
                None => return Err(Failure::Events(format!("a path of the code does not decide whether the {} happens", e.kind.name()))),
            };
            if here {
                present.push(e);
            }
        }
        let names = |es: &mut dyn Iterator<Item = &EventKind>| es.map(|k| k.name()).collect::<Vec<_>>().join(", ");
        let mismatch = || Failure::Events(format!("the event list (semantics [{}], code [{}])", names(&mut present.iter().map(|e| &e.kind)), names(&mut path.events.iter().map(|e| &e.kind))));
        if present.len() != path.events.len() {
            return Err(mismatch());
        }
        for (k, (e, a)) in present.iter().zip(&path.events).enumerate() {
            match (&e.kind, &a.kind) {
                (EventKind::Load { addr: ea, size: es, atomic: eat }, EventKind::Load { addr: aa, size: asz, atomic: aat }) if es == asz && eat == aat => {
                    ob.equal(format!("event {k}: the load's address"), ea, aa);
                }
                (EventKind::Store { addr: ea, size: es, value: ev, atomic: eat }, EventKind::Store { addr: aa, size: asz, value: av, atomic: aat }) if es == asz && eat == aat => {
                    ob.equal(format!("event {k}: the store's address"), ea, aa);
                    let low = |v: &BV| if *es == 8 { v.clone() } else { v.extract(8 * es - 1, 0) };
                    ob.equal(format!("event {k}: the stored value"), &low(ev), &low(av));
                }
                (EventKind::Call { id: ei, args: ea }, EventKind::Call { id: ai, args: aa }) => {
                    ob.equal(format!("event {k}: the helper id"), ei, ai);
                    for (n, (x, y)) in ea.iter().zip(aa).enumerate() {
                        ob.equal(format!("event {k}: helper argument r{}", n + 1), x, y);
                    }
                }
                _ => return Err(mismatch()),
            }
        }
        Ok(())
    }

    /// The registers that must keep their value.
    fn kept(&self, ob: &mut Obligation, init: &State, fin: &State, which: &[XReg]) {
        for r in which {
            ob.equal(format!("{r} (must be kept)"), &init.x[r.num() as usize], &fin.x[r.num() as usize]);
        }
    }

    /// `site - base` lies in `range`: a7 names the instruction.
    fn site_in(&self, ob: &mut Obligation, what: &str, site: &BV, range: &Range<usize>) {
        let off = site.bvsub(&self.base);
        ob.holds(format!("{what} names this instruction"), Bool::and(&[off.bvuge(range.start as u64), off.bvult(range.end as u64)]));
    }

    fn insn(&self, k: usize, pc: usize, insn: &Insn, fallthrough: usize) -> Result<usize, Failure> {
        self.insn_with(k, pc, insn, &bpf::Fields::of(insn), fallthrough)
    }

    /// The range of the `k`th instruction against the semantics of `insn` at slot `pc`
    /// whose immediate fields are `fields`.
    pub(super) fn insn_with(&self, k: usize, pc: usize, insn: &Insn, fields: &bpf::Fields, fallthrough: usize) -> Result<usize, Failure> {
        let range = self.image.insns[k].2.clone();
        let init = initial_state();
        let regs: Vec<BV> = (0..=10).map(|r| init.x[rv(r)].clone()).collect();
        let step = bpf::step_with(insn, fields, pc, fallthrough, &regs, &init.x[FLOOR.num() as usize], &mut Oracle::default()).map_err(Failure::Model)?;
        let paths = self.run(range.clone(), range.start, init.clone())?;
        if let Insn::CallLocal { .. } = insn {
            return self.local_call(&range, &init, &step, &paths);
        }
        for path in &paths {
            self.insn_path_split(&range, &init, &step, path)?;
        }
        Ok(paths.len())
    }

    /// One path, split on each event guard the path does not decide (cmpxchg stores only
    /// when it compares equal): each case is proven on its own.
    fn insn_path_split(&self, range: &Range<usize>, init: &State, step: &bpf::Step, path: &Path) -> Result<(), Failure> {
        let undecided = step.events.iter().map(|e| e.guard.simplify()).find(|g| g.as_bool().is_none() && !unsat_with(&path.cond, &g.not()) && !unsat_with(&path.cond, g));
        if let Some(g) = undecided {
            for case in [g.clone(), g.not()] {
                let mut p = path.clone();
                p.cond.push(case);
                self.insn_path_split(range, init, step, &p)?;
            }
            return Ok(());
        }
        match self.insn_path(range, init, step, path) {
            // A path whose branch conditions contradict each other is never taken.
            Err(e) if !matches!(e, Failure::Counterexample { .. }) && !feasible(&path.cond) => Ok(()),
            // A difference seen without values: any inputs that take the path show it.
            Err(Failure::Events(what)) => Err(self.witness(path, what, init)),
            r => r,
        }
    }

    /// A counterexample for a difference that holds on the whole path.
    fn witness(&self, path: &Path, what: String, inputs: &State) -> Failure {
        let mut ob = Obligation::new();
        ob.differs.push((what.clone(), Bool::from_bool(true), None));
        match self.prove(path, ob, inputs) {
            Err(f @ Failure::Counterexample { .. }) => f,
            _ => Failure::Events(what),
        }
    }

    /// One path of an instruction's code against its semantics.
    fn insn_path(&self, range: &Range<usize>, init: &State, step: &bpf::Step, path: &Path) -> Result<(), Failure> {
        {
            let mut ob = Obligation::new();
            let next = match &path.exit {
                Exit::Offset(off) => match self.next_of(*off) {
                    slots if slots.is_empty() => return Err(Failure::Layout(format!("the code leaves for {}", self.where_is(*off)))),
                    slots => slots,
                },
                Exit::Return => alloc::vec![NEXT_EXIT],
                Exit::Retry { at, then, events_then } => {
                    // Only the LR/SC retry may loop: back to the load-reserved after a
                    // failed store-conditional (the architecture's forward progress makes
                    // it end). Any other loop might never finish.
                    let op = |o: u64| self.words.get((o / 4) as usize).map(|d| d.op);
                    let retries_sc = matches!(op(*at), Some(Op::LrW | Op::LrD)) && path.trace.iter().skip_while(|&&o| o != *at).any(|&o| matches!(op(o), Some(Op::ScW | Op::ScD)));
                    if !retries_sc && *at as usize == range.start {
                        // Back to its own first byte: a jump to itself (`ja -1`).
                        self.next_of(*at)
                    } else if !retries_sc {
                        return Err(Failure::Layout(format!("the code loops back to offset {at:#x} without retrying a store-conditional: it may never finish")));
                    } else {
                        // A failed round of a retry loop: nothing stored, every register
                        // but scratch as when the round began.
                        if path.events[*events_then..].iter().any(|e| !matches!(e.kind, EventKind::Load { .. })) {
                            return Err(Failure::Events(String::from("a retried round stored to memory")));
                        }
                        for r in (1..32u8).filter(|r| !SCRATCH.contains(r)) {
                            ob.equal(format!("{} across a retry", reg_name(r)), &then.x[r as usize], &path.state.x[r as usize]);
                        }
                        return self.prove(path, ob, init);
                    }
                }
                Exit::HostReturn => return Err(Failure::Layout(String::from("the code returns to the host"))),
                Exit::Computed(target) => {
                    // A jump through a register the program does not control.
                    ob.differs.push((String::from("the next pc (the code jumps to a computed address)"), Bool::from_bool(true), Some((step.next.clone(), target.bvsub(&self.base)))));
                    return self.prove(path, ob, init);
                }
                Exit::Call { target, .. } => return Err(Failure::Layout(format!("the code calls {} with the link register", self.where_is(*target)))),
            };
            self.next_in(&mut ob, &step.next, &next);
            let fin = &path.state;
            match next[0] {
                NEXT_ABORT => {
                    // The stop path hands the dispatcher's answer to the host.
                    // An instruction makes at most one helper call.
                    let (ret, stop) = Oracle::returned(0);
                    ob.equal("a0 (the helper's r0)", &ret, &fin.x[10]);
                    ob.equal("a1 (the stop flag)", &stop, &fin.x[11]);
                    self.kept(&mut ob, init, fin, &[XReg::S0, CTX]);
                }
                NEXT_DEPTH => return Err(Failure::Layout(String::from("only a bpf-to-bpf call may go to the call-depth stop"))),
                _ => {
                    for r in (0..=10).filter(|&r| step.defined[r]) {
                        ob.equal(format!("r{r} ({})", reg_name(rv(r) as u8)), &step.regs[r], &fin.x[rv(r)]);
                    }
                    self.kept(&mut ob, init, fin, &KEPT);
                }
            }
            self.events(path, &step.events, &mut ob)?;
            for c in &path.calls {
                ob.equal("a6 (the run context) at the dispatcher", &init.x[CTX.num() as usize], &c.ctx);
                self.site_in(&mut ob, "a7 at the dispatcher", &c.site, range);
            }
            self.prove(path, ob, init)
        }
    }

    /// A bpf-to-bpf call: the call segment (from the range's start to the call or the
    /// depth stop) and the return segment (from the return point to the range's end).
    fn local_call(&self, range: &Range<usize>, init: &State, step: &bpf::Step, paths: &[Path]) -> Result<usize, Failure> {
        let saved: [XReg; 6] = [XReg::S1, XReg::S2, XReg::S3, XReg::S4, XReg::S5, LINK];
        let sp = XReg::SP.num() as usize;
        let mut link_at = None;
        // Where the call segment saved each register, relative to its final sp.
        let mut slots: Vec<(XReg, u64)> = Vec::new();
        // How far the call segment moved sp down.
        let mut took = 0i64;
        for path in paths {
            let mut ob = Obligation::new();
            let fin = &path.state;
            match path.exit {
                Exit::Offset(off) if off as usize == self.image.depth => {
                    ob.equal("the next pc", &step.next, &k64(NEXT_DEPTH));
                    self.site_in(&mut ob, "a7 at the call-depth stop", &fin.x[17], range);
                    self.kept(&mut ob, init, fin, &[XReg::S0, CTX]);
                }
                Exit::Call { target, link } => {
                    let next = self.next_of(target);
                    if next.is_empty() || next[0] >= NEXT_DEPTH {
                        return Err(Failure::Layout(format!("the call goes to {}", self.where_is(target))));
                    }
                    if !range.contains(&(link as usize)) {
                        return Err(Failure::Layout(format!("the call returns to {}", self.where_is(link))));
                    }
                    if link_at.replace(link).is_some_and(|l| l != link) {
                        return Err(Failure::Layout(String::from("the call has two return points")));
                    }
                    self.next_in(&mut ob, &step.next, &next);
                    for r in 0..=9 {
                        ob.equal(format!("r{r} (passed to the callee)"), &init.x[rv(r)], &fin.x[rv(r)]);
                    }
                    ob.equal("r10 (one frame down)", &step.regs[10], &fin.x[rv(10)]);
                    ob.equal("the link (the return point)", &self.base.bvadd(link), &fin.x[LINK.num() as usize]);
                    self.kept(&mut ob, init, fin, &[XReg::S0, CTX, DISPATCH, FLOOR]);
                    // Six doubleword stores of the saved registers' values, below sp.
                    if path.events.len() != saved.len() {
                        return Err(Failure::Events(format!("the call saves {} values, not {}", path.events.len(), saved.len())));
                    }
                    slots.clear();
                    for (e, r) in path.events.iter().zip(saved) {
                        let EventKind::Store { addr, size: 8, value, atomic: false } = &e.kind else {
                            return Err(Failure::Events(format!("the call's save of {r} is a {}", e.kind.name())));
                        };
                        let Some(at) = addr.bvsub(&fin.x[sp]).simplify().as_u64() else {
                            return Err(Failure::Events(format!("the call saves {r} at an address not relative to sp")));
                        };
                        ob.equal(format!("the saved {r}"), &init.x[r.num() as usize], value);
                        slots.push((r, at));
                    }
                    took = match init.x[sp].bvsub(&fin.x[sp]).simplify().as_i64() {
                        Some(d) if d % 16 == 0 && slots.iter().all(|(_, at)| (*at as i64) >= 0 && (*at as i64) + 8 <= d) => d,
                        _ => return Err(Failure::Events(String::from("the call's save area is not the 16-aligned space it took below sp"))),
                    };
                }
                _ => return Err(Failure::Layout(format!("a bpf-to-bpf call's code leaves by {:?}", path.exit))),
            }
            self.prove(path, ob, init)?;
        }
        let Some(link) = link_at else { return Err(Failure::Layout(String::from("the call never calls"))) };
        // The return segment, from any state: each saved register comes back from its
        // slot, sp comes back up, r0–r5 stay as the callee left them.
        let back = State::symbolic("ret_");
        let rpaths = self.run(range.clone(), link as usize, back.clone())?;
        for path in &rpaths {
            let mut ob = Obligation::new();
            if !matches!(path.exit, Exit::Offset(off) if off as usize == range.end) {
                return Err(Failure::Layout(format!("the return point leaves by {:?}, not to the next instruction", path.exit)));
            }
            let fin = &path.state;
            for (r, at) in &slots {
                let Some(j) = path.events.iter().position(|e| matches!(&e.kind, EventKind::Load { addr, size: 8, atomic: false } if addr.bvsub(&back.x[sp]).simplify().as_u64() == Some(*at))) else {
                    return Err(Failure::Events(format!("the return does not reload {r} from its slot")));
                };
                ob.equal(format!("{r} restored"), &Oracle::loaded(j), &fin.x[r.num() as usize]);
            }
            if path.events.iter().any(|e| !matches!(e.kind, EventKind::Load { .. })) {
                return Err(Failure::Events(String::from("the return stores to memory")));
            }
            ob.equal("sp (back up)", &back.x[sp].bvadd(took as u64), &fin.x[sp]);
            for r in 0..=5 {
                ob.equal(format!("r{r} (from the callee)"), &back.x[rv(r)], &fin.x[rv(r)]);
            }
            self.kept(&mut ob, &back, fin, &[XReg::S0, CTX, DISPATCH, FLOOR]);
            self.prove(path, ob, &back)?;
        }
        Ok(paths.len() + rpaths.len())
    }

    /// The header's verdicts, proven once per process for each header: they depend only
    /// on the header's bytes and where its parts and the body start.
    fn header_once(&self) -> Vec<Verdict> {
        type Key = (Vec<u8>, usize, usize);
        static PROVEN: std::sync::Mutex<Vec<(Key, Vec<Verdict>)>> = std::sync::Mutex::new(Vec::new());
        let key = (self.image.code[self.image.header.clone()].to_vec(), self.image.abort, self.image.depth);
        if let Some((_, v)) = PROVEN.lock().ok().and_then(|p| p.iter().find(|(k, _)| *k == key).cloned()) {
            return v;
        }
        let v = self.header();
        if let Ok(mut p) = PROVEN.lock() {
            p.push((key, v.clone()));
        }
        v
    }

    /// The header's obligations: the entry, the normal return, the stop path and the
    /// call-depth stop.
    fn header(&self) -> Vec<Verdict> {
        let range = self.image.header.clone();
        let mut out = Vec::new();
        let mut t = std::time::Instant::now();
        let mut verdict = |what: &str, r: Result<usize, Failure>| {
            let (paths, result) = match r {
                Ok(n) => (n, Ok(())),
                Err(e) => (0, Err(e)),
            };
            let micros = t.elapsed().as_micros() as u64;
            t = std::time::Instant::now();
            Verdict { pc: None, what: String::from(what), range: range.clone(), paths, micros, result }
        };
        match self.entry(&range) {
            Ok((link, frame, slots)) => {
                out.push(verdict("entry", Ok(1)));
                let sp = XReg::SP.num() as usize;
                // The normal return: the body left sp where the entry put it.
                out.push(verdict("normal return", self.leave(&range, link, "ret_", &slots, frame, |st: &State| st.x[sp].clone(), |ob, init, fin| {
                    ob.equal("a0 (r0, all 64 bits)", &init.x[rv(0)], &fin.x[10]);
                    ob.equal("a1 (no stop)", &k64(0), &fin.x[11]);
                    Ok(0)
                })));
                // The stop path: from any depth, sp comes back from s0.
                let from_s0 = move |st: &State| st.x[XReg::S0.num() as usize].bvsub(frame as u64);
                out.push(verdict("stop path", self.leave(&range, self.image.abort as u64, "stop_", &slots, frame, from_s0, |ob, init, fin| {
                    ob.equal("a0 (the dispatcher's r0)", &init.x[10], &fin.x[10]);
                    ob.equal("a1 (the dispatcher's stop)", &init.x[11], &fin.x[11]);
                    Ok(1)
                })));
                out.push(verdict("call-depth stop", self.leave(&range, self.image.depth as u64, "depth_", &slots, frame, from_s0, |ob, _init, fin| {
                    ob.equal("a1 (the call-depth stop)", &k64(lower::STOP_CALL_DEPTH as u64), &fin.x[11]);
                    Ok(2)
                })));
            }
            Err(e) => out.push(verdict("entry", Err(e))),
        }
        out
    }

    /// The entry: from the host's call (a0 = r1, a1 = r2, a2 = r10, a3 = the run
    /// context, a4 = the dispatcher, a5 = the floor), to the call of slot 0 with the ISA's
    /// initial state. Returns the return point, the frame size and where each
    /// callee-saved register went (offset from the final sp).
    fn entry(&self, range: &Range<usize>) -> Result<(u64, i64, Slots), Failure> {
        let init = State::symbolic("host_");
        let paths = self.run(range.clone(), 0, init.clone())?;
        let [path] = paths.as_slice() else { return Err(Failure::Layout(format!("the entry has {} paths, not one", paths.len()))) };
        let body = self.image.insns.first().map_or(self.image.code.len(), |(_, _, r)| r.start) as u64;
        let Exit::Call { target, link } = path.exit else { return Err(Failure::Layout(format!("the entry leaves by {:?}, not by calling the program", path.exit))) };
        if target != body || !range.contains(&(link as usize)) {
            return Err(Failure::Layout(format!("the entry calls {} and returns to {:#x}", self.where_is(target), link)));
        }
        let (fin, x) = (&path.state, |r: XReg| init.x[r.num() as usize].clone());
        let sp = XReg::SP.num() as usize;
        let mut ob = Obligation::new();
        ob.equal("r1 (the context)", &x(XReg::A0), &fin.x[rv(1)]);
        ob.equal("r2 (its length)", &x(XReg::A1), &fin.x[rv(2)]);
        ob.equal("r10 (the top of the BPF stack)", &x(XReg::A2), &fin.x[rv(10)]);
        for r in [0, 3, 4, 5, 6, 7, 8, 9] {
            ob.equal(format!("r{r} (0 at entry: no host value reaches the program)"), &k64(0), &fin.x[rv(r)]);
        }
        ob.equal("the run context register", &x(XReg::A3), &fin.x[CTX.num() as usize]);
        ob.equal("the dispatcher register", &x(XReg::A4), &fin.x[DISPATCH.num() as usize]);
        ob.equal("the floor register", &x(XReg::A5), &fin.x[FLOOR.num() as usize]);
        ob.equal("s0 (the host frame)", &x(XReg::SP), &fin.x[XReg::S0.num() as usize]);
        ob.equal("the link (the normal return)", &self.base.bvadd(link), &fin.x[LINK.num() as usize]);
        self.kept(&mut ob, &init, fin, &[XReg::new(3).unwrap(), XReg::new(4).unwrap(), XReg::new(26).unwrap(), XReg::new(27).unwrap()]);
        let frame = match init.x[sp].bvsub(&fin.x[sp]).simplify().as_i64() {
            Some(f) if f > 0 && f % 16 == 0 => f,
            other => return Err(Failure::Layout(format!("the entry moves sp by {other:?}, not a positive multiple of 16"))),
        };
        // Every register the body or the header changes is saved in the frame.
        let mut slots = Vec::new();
        for e in &path.events {
            let EventKind::Store { addr, size: 8, value, atomic: false } = &e.kind else { return Err(Failure::Events(format!("the entry does a {}", e.kind.name()))) };
            let at = addr.bvsub(&fin.x[sp]).simplify().as_i64().filter(|a| (0..frame - 7).contains(a));
            let reg = (1..32u8).find(|r| value.ast_eq(&init.x[*r as usize]));
            match (at, reg) {
                (Some(at), Some(r)) => slots.push((r, at as u64)),
                _ => return Err(Failure::Events(String::from("the entry stores something other than a register into its frame"))),
            }
        }
        for r in [XReg::RA, XReg::S0, XReg::S1, XReg::S2, XReg::S3, XReg::S4, XReg::S5, LINK, CTX, DISPATCH, FLOOR] {
            if !slots.iter().any(|(s, _)| *s == r.num()) {
                return Err(Failure::Events(format!("the entry does not save {r}")));
            }
        }
        self.prove(path, ob, &init)?;
        Ok((link, frame, slots))
    }

    /// A way back to the host from `start`: every saved register reloaded from its slot
    /// in the frame at `frame_of(state)`, sp back above the frame, `jalr zero, 0(ra)`;
    /// `extra` adds the part's own obligations and says how many stores the part makes
    /// (the stop paths tell the host r10, the call-depth stop also the call's address).
    #[allow(clippy::too_many_arguments)]
    fn leave(
        &self,
        range: &Range<usize>,
        start: u64,
        prefix: &str,
        slots: &[(u8, u64)],
        frame: i64,
        frame_of: impl Fn(&State) -> BV,
        extra: impl Fn(&mut Obligation, &State, &State) -> Result<usize, Failure>,
    ) -> Result<usize, Failure> {
        let init = State::symbolic(prefix);
        let paths = self.run(range.clone(), start as usize, init.clone())?;
        let sp = XReg::SP.num() as usize;
        let at = frame_of(&init);
        for path in &paths {
            if !matches!(path.exit, Exit::HostReturn) {
                return Err(Failure::Layout(format!("leaves by {:?}, not by returning to the host", path.exit)));
            }
            let fin = &path.state;
            let mut ob = Obligation::new();
            let stores = extra(&mut ob, &init, fin)?;
            // The stop paths first tell the host r10 (and the call's address).
            let ctx = &init.x[CTX.num() as usize];
            let mut told = Vec::new();
            for e in &path.events {
                if let EventKind::Store { addr, size: 8, value, atomic: false } = &e.kind {
                    told.push((addr.clone(), value.clone()));
                }
            }
            if told.len() != stores {
                return Err(Failure::Events(format!("{} stores on the way back, not {stores}", told.len())));
            }
            if let Some((addr, value)) = told.last() {
                ob.equal("the stop path's store of r10 (its address)", ctx, addr);
                ob.equal("the stop path's store of r10", &init.x[rv(10)], value);
            }
            if let [(addr, value), _] = told.as_slice() {
                ob.equal("the call-depth stop's store (its address)", &ctx.bvadd(8u64), addr);
                ob.equal("the call-depth stop's store of a7", &init.x[17], value);
            }
            for (r, off) in slots {
                let Some(j) = path.events.iter().filter(|e| matches!(e.kind, EventKind::Load { .. })).position(|e| matches!(&e.kind, EventKind::Load { addr, size: 8, atomic: false } if addr.bvsub(&at).simplify().as_u64() == Some(*off))) else {
                    return Err(Failure::Events(format!("{} is not reloaded from its slot", reg_name(*r))));
                };
                ob.equal(format!("{} restored", reg_name(*r)), &Oracle::loaded(j), &fin.x[*r as usize]);
            }
            ob.equal("sp (back above the frame)", &at.bvadd(frame as u64), &fin.x[sp]);
            self.prove(path, ob, &init)?;
        }
        Ok(paths.len())
    }
}

/// A solver that gives up after 20 s (then the part is refused as unknown, never
/// accepted).
///
/// One per thread, emptied for each query: making a solver costs more than most queries.
/// Set to QF_UFBV (bit-blasting, with the uninterpreted arithmetic of `arith`): z3's default combined solver spends ~12 ms even on the
/// trivial queries most paths give.
fn solver() -> std::rc::Rc<Solver> {
    std::thread_local! {
        static SOLVER: std::rc::Rc<Solver> = std::rc::Rc::new(Solver::new_for_logic("QF_UFBV").unwrap_or_default());
    }
    SOLVER.with(|s| {
        s.reset();
        let mut p = z3::Params::new();
        p.set_u32("timeout", 20_000);
        s.set_params(&p);
        s.clone()
    })
}

/// The state every instruction's proof starts from (the same symbols each time: made once
/// per thread).
fn initial_state() -> State {
    std::thread_local! {
        static INIT: State = State::symbolic("");
    }
    INIT.with(|s| s.clone())
}

/// Whether the conditions can all hold.
fn feasible(conds: &[Bool]) -> bool {
    !unsat_with(conds, &Bool::from_bool(true))
}

/// Whether `conds ∧ extra` has no solution.
fn unsat_with(conds: &[Bool], extra: &Bool) -> bool {
    let s = solver();
    for c in conds {
        s.assert(c);
    }
    s.assert(extra);
    s.check() == SatResult::Unsat
}

fn mentions(ob: &Obligation, name: &str) -> bool {
    ob.differs.iter().any(|(_, d, _)| d.to_string().contains(name))
}

fn path_mentions(path: &Path, name: &str) -> bool {
    path.cond.iter().any(|c| c.to_string().contains(name))
}
