//! Termination: every loop is proven to run a bounded number of iterations, without
//! unrolling it, by a ranking argument.
//!
//! For a loop with head `h`, a small forward analysis over its body tracks each register
//! as "the value some register had at `h`, plus a constant" ([`Sym`]), at 64 bits and in
//! the low 32 bits separately. A loop is bounded when some exit test `t` (a conditional
//! jump with one successor inside the body and one outside)
//! - lies on every iteration (no path from `h` back to `h` avoids it),
//! - compares a counter `y = h(b) + d` with a bound `K` that no iteration changes (a
//!   constant, or a register every iteration leaves as it found it),
//! - stays in the loop only while `y` moves towards `K` (`y < K` or `y <= K` for a
//!   counter that every iteration raises by the same `step > 0`, `y > K` or `y >= K` for
//!   one it lowers, `y != K` for a step of ±1 with `y` on the right side of `K`; signed
//!   or unsigned, 64 or 32 bits),
//! - and `K` is far enough from the end of the range that the step cannot wrap past it.
//!
//! Then `y` runs through a strictly monotone sequence inside `[y_first, K)`, so the loop
//! ends within `ceil((K - y_min) / step) + 1` iterations (for `y < K`; the others alike), where `y_min` (or `y_max`) comes from
//! the fixpoint's states at `t`. A bound above [`MAX_ITERATIONS`] (the kernel's
//! `BPF_MAX_LOOPS`, the most iterations `bpf_loop` allows) is refused like no bound.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::domain::refine;
use super::graph::{self, Graph, Loop};
use super::reg::Kind;
use super::state::State;
use crate::isa::{AluOp, Insn, JmpCond, Program, Source, Width};

/// The most iterations a proven loop may run.
pub const MAX_ITERATIONS: u64 = 1 << 23;

/// What a register holds, relative to the loop head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sym {
    Unknown,
    /// `base`'s value at the head plus `d64` (mod 2^64), and its low 32 bits plus `d32`
    /// (mod 2^32); `None` where that view is not such a sum.
    Rel { base: u8, d64: Option<u64>, d32: Option<u32> },
    /// `(base + d32) << 32` in the low-32-bit view: half of the shift pair `r <<= 32;
    /// r >>= 32` that clang emits for a 32-bit counter without ALU32.
    Shifted { base: u8, d32: u32 },
}

impl Sym {
    fn join(self, o: Sym) -> Sym {
        match (self, o) {
            (Sym::Rel { base: a, d64: x, d32: y }, Sym::Rel { base: b, d64: u, d32: v }) if a == b => {
                let d64 = if x == u { x } else { None };
                let d32 = if y == v { y } else { None };
                if d64.is_none() && d32.is_none() {
                    Sym::Unknown
                } else {
                    Sym::Rel { base: a, d64, d32 }
                }
            }
            (a, b) if a == b => a,
            _ => Sym::Unknown,
        }
    }

    fn plus(self, c: u64, wide: bool) -> Sym {
        match self {
            Sym::Rel { base, d64, d32 } if wide => Sym::Rel { base, d64: d64.map(|d| d.wrapping_add(c)), d32: d32.map(|d| d.wrapping_add(c as u32)) },
            Sym::Rel { base, d32: Some(d), .. } => Sym::Rel { base, d64: None, d32: Some(d.wrapping_add(c as u32)) },
            _ => Sym::Unknown,
        }
    }
}

type Syms = [Sym; 11];

/// One loop's proof: the exit test and its iteration bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    pub head: usize,
    pub test: usize,
    pub iterations: u64,
}

/// Why termination is not proven. Instruction numbers are slots.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoopError {
    #[error("infinite loop detected at insn {0}")]
    Infinite(usize),
    #[error("back-edge from insn {from} to {to}: no exit test bounds a counter that every iteration moves (the loop is not proven to terminate)")]
    Unproven { from: usize, to: usize },
    #[error("loop at insn {head} may run {iterations} iterations, more than {MAX_ITERATIONS}")]
    TooLong { head: usize, iterations: u128 },
}

/// The registers an instruction writes, as [`Sym`]s.
fn transfer(insn: &Insn, s: &mut Syms) {
    let unknown = |s: &mut Syms, r: usize| s[r] = Sym::Unknown;
    match *insn {
        Insn::Alu { op, width, dst, src } => {
            let (d, wide) = (dst.index(), width == Width::W64);
            s[d] = match (op, src) {
                (AluOp::Add, Source::Imm(c)) => s[d].plus(crate::semantics::imm64(c), wide),
                (AluOp::Sub, Source::Imm(c)) => s[d].plus(crate::semantics::imm64(c).wrapping_neg(), wide),
                (AluOp::Mov, Source::Reg(r)) if wide => s[r.index()],
                (AluOp::Mov, Source::Reg(r)) => s[r.index()].plus(0, false),
                (AluOp::Lsh, Source::Imm(32)) if wide => match s[d] {
                    Sym::Rel { base, d32: Some(d32), .. } => Sym::Shifted { base, d32 },
                    _ => Sym::Unknown,
                },
                // Shifted back down: the low half is the counter's (zero- or sign-extended).
                (AluOp::Rsh | AluOp::Arsh, Source::Imm(32)) if wide => match s[d] {
                    Sym::Shifted { base, d32 } => Sym::Rel { base, d64: None, d32: Some(d32) },
                    _ => Sym::Unknown,
                },
                _ => Sym::Unknown,
            };
        }
        Insn::Neg { dst, .. } | Insn::End { dst, .. } | Insn::MovSx { dst, .. } | Insn::Ldx { dst, .. } | Insn::LdImm64 { dst, .. } => unknown(s, dst.index()),
        Insn::Atomic { src, op, .. } => {
            if op.fetches() {
                unknown(s, src.index());
            }
            unknown(s, 0);
        }
        Insn::Call { .. } | Insn::Callx { .. } | Insn::CallLocal { .. } => (0..=5).for_each(|r| unknown(s, r)),
        _ => {}
    }
}

/// The symbols at each body instruction's entry (by position in the body), and at each
/// latch's edge back to the head, by a fixpoint over the body (its lattice is finite: a symbol only loses facts).
fn symbols(prog: &Program, l: &Loop) -> (Vec<Option<Syms>>, Vec<Syms>) {
    // Indexed by position in the body (sorted): a loop's size, not the program's.
    let pos = |i: usize| l.body.binary_search(&i).unwrap_or(0);
    let mut at: Vec<Option<Syms>> = vec![None; l.body.len()];
    at[pos(l.head)] = Some(core::array::from_fn(|r| Sym::Rel { base: r as u8, d64: Some(0), d32: Some(0) }));
    let mut back: Vec<Option<Syms>> = vec![None; l.latches.len()];
    let mut work = vec![l.head];
    while let Some(i) = work.pop() {
        let Some(mut s) = at[pos(i)] else { continue };
        transfer(&prog.insns()[i], &mut s);
        for j in prog.cfg().successors(i, &prog.insns()[i]) {
            if !l.contains(j) {
                continue;
            }
            if j == l.head {
                let k = l.latches.iter().position(|&x| x == i).unwrap_or(0);
                back[k] = Some(back[k].map_or(s, |b| core::array::from_fn(|r| b[r].join(s[r]))));
                continue;
            }
            let merged = at[pos(j)].map_or(s, |old| core::array::from_fn(|r| old[r].join(s[r])));
            if at[pos(j)] != Some(merged) {
                at[pos(j)] = Some(merged);
                work.push(j);
            }
        }
    }
    (at, back.into_iter().flatten().collect())
}

/// The unsigned range `[lo, hi]` of a register's `bits`-bit view over the states at an
/// instruction (`signed`: shifted by 2^(bits-1), so that the signed order becomes the
/// unsigned one); `None` when a state holds something other than a number there.
fn range(states: &[&State], reg: usize, wide: bool, signed: bool) -> Option<(u64, u64)> {
    if states.is_empty() {
        return None;
    }
    let mut lo = u64::MAX;
    let mut hi = 0;
    for s in states {
        let r = &s.regs[reg];
        if r.kind != Kind::Scalar {
            return None;
        }
        let (a, b) = match (wide, signed) {
            (true, false) => (r.value.full.umin, r.value.full.umax),
            (true, true) => (r.value.full.smin ^ (1 << 63), r.value.full.smax ^ (1 << 63)),
            (false, false) => (r.value.low.umin as u64, r.value.low.umax as u64),
            (false, true) => ((r.value.low.smin ^ (1 << 31)) as u64, (r.value.low.smax ^ (1 << 31)) as u64),
        };
        lo = lo.min(a);
        hi = hi.max(b);
    }
    Some((lo, hi))
}

/// The iteration bound an exit test proves, if it proves one.
fn test_bound(prog: &Program, l: &Loop, t: usize, syms: &[Option<Syms>], back: &[Syms], states: &[&State], entries: &[&State]) -> Option<u128> {
    let Insn::Jmp { width, cond, dst, src, .. } = prog.insns()[t] else { return None };
    let cfg = prog.cfg();
    let taken = cfg.jump_target(t, &prog.insns()[t])?;
    let stays_taken = l.contains(taken);
    if stays_taken == l.contains(t + 1) {
        return None;
    }
    // The condition under which the loop goes on, as `dst <stay> src`.
    let stay = if stays_taken { cond } else { refine::negate(cond)? };
    let s = syms[l.body.binary_search(&t).ok()?]?;
    let mut wide = width == Width::W64;
    // A 64-bit comparison of values whose upper halves are 0 in every state is the
    // 32-bit comparison of their lower halves (for the unsigned conditions).
    let upper_zero = |r: usize| range(states, r, true, false).is_some_and(|(_, hi)| hi <= u32::MAX as u64);
    let operands_fit = upper_zero(dst.index())
        && match src {
            Source::Reg(r) => upper_zero(r.index()),
            Source::Imm(i) => (0..=u32::MAX as i64).contains(&(i as i64)),
        };
    let needs_low = |sym: Sym| matches!(sym, Sym::Rel { d64: None, d32: Some(_), .. });
    let counter_is_low = needs_low(s[dst.index()]) || matches!(src, Source::Reg(r) if needs_low(s[r.index()]));
    if wide && counter_is_low && operands_fit && !matches!(stay, JmpCond::Slt | JmpCond::Sle | JmpCond::Sgt | JmpCond::Sge | JmpCond::Set) {
        wide = false;
    }
    let view = |sym: Sym| match sym {
        Sym::Rel { base, d64, d32 } => (if wide { d64 } else { d32.map(u64::from) }).map(|d| (base, d)),
        _ => None,
    };
    // Which side is the counter: the operand whose base every iteration moves.
    let step_of = |base: u8| -> Option<u64> {
        let mut step = None;
        for b in back {
            let (bb, d) = view(b[base as usize])?;
            if bb != base || step.is_some_and(|x| x != d) {
                return None;
            }
            step = Some(d);
        }
        step.filter(|&d| d != 0)
    };
    let invariant = |r: usize| -> bool {
        match view(s[r]) {
            Some((b, 0)) => back.iter().all(|x| view(x[b as usize]) == Some((b, 0))),
            _ => false,
        }
    };
    let (counter, bound_reg, stay) = match src {
        Source::Reg(r) if view(s[r.index()]).and_then(|(b, _)| step_of(b)).is_some() => (r.index(), Some(dst.index()), refine::swapped(stay)),
        Source::Reg(r) => (dst.index(), Some(r.index()), stay),
        Source::Imm(_) => (dst.index(), None, stay),
    };
    let (base, _) = view(s[counter])?;
    let step = step_of(base)?;
    let bits = if wide { 64 } else { 32 };
    let modulus: u128 = 1 << bits;
    let signed = matches!(stay, JmpCond::Slt | JmpCond::Sle | JmpCond::Sgt | JmpCond::Sge);
    let (kmin, kmax) = match (bound_reg, src) {
        (None, Source::Imm(i)) => {
            let k = crate::semantics::imm64(i) & (modulus - 1) as u64;
            let k = if signed { k ^ (1 << (bits - 1)) } else { k };
            (k, k)
        }
        (Some(k), _) => {
            let (lo, hi) = range(states, k, wide, signed)?;
            if lo != hi && !invariant(k) {
                return None;
            }
            (lo, hi)
        }
        _ => return None,
    };
    let (ymin, ymax) = range(states, counter, wide, signed)?;
    // The counter's first value at the test: its base's value entering the loop, plus
    // the offset from the head to the test (unknown if that can wrap).
    let (_, dt) = view(s[counter])?;
    let m: u128 = 1 << if wide { 64 } else { 32 };
    let (fmin, fmax) = match range(entries, base as usize, wide, false) {
        // Adding `dt` modulo the width keeps the range when it does not cross the end.
        Some((lo, hi)) => {
            let (a, b) = ((lo as u128 + dt as u128) % m, (hi as u128 + dt as u128) % m);
            if a <= b && b - a == (hi - lo) as u128 {
                (a, b)
            } else {
                (0, m - 1)
            }
        }
        None => (0, m - 1),
    };
    let (kmin, kmax, ymin, ymax) = (kmin as u128, kmax as u128, ymin as u128, ymax as u128);
    // A step up by `up`, or down by `down`.
    let up = step as u128;
    let down = modulus - up;
    use JmpCond::*;
    match stay {
        Lt | Slt if up < modulus / 2 && kmax + up <= modulus => Some(kmax.saturating_sub(ymin).div_ceil(up) + 1),
        Le | Sle if up < modulus / 2 && kmax + 1 + up <= modulus => Some((kmax + 1).saturating_sub(ymin).div_ceil(up) + 1),
        Gt | Sgt if down < modulus / 2 && kmin + 1 >= down => Some(ymax.saturating_sub(kmin).div_ceil(down) + 1),
        Ge | Sge if down < modulus / 2 && kmin >= down => Some((ymax + 1).saturating_sub(kmin).div_ceil(down) + 1),
        // Each step moves by one, so the counter meets the bound without passing it.
        Ne if up == 1 && kmin == kmax && fmax <= kmin => Some(kmin - fmin.min(ymin) + 1),
        Ne if down == 1 && kmin == kmax && fmin >= kmin => Some(fmax.max(ymax) - kmin + 1),
        _ => None,
    }
}

/// Proves every loop of `prog` bounded, given the fixpoint's states at each instruction
/// (`states(i)`: every state at `i`, across call contexts) and the states that enter
/// each loop head from outside the loop (`entries(h)`). A loop whose head no state
/// reaches never runs.
pub fn prove<'s>(prog: &Program, g: &Graph, states: &dyn Fn(usize) -> Vec<&'s State>, entries: &dyn Fn(usize) -> Vec<&'s State>) -> Result<Vec<Bound>, LoopError> {
    let cfg = prog.cfg();
    let mut out = Vec::new();
    for l in &g.loops {
        if states(l.head).is_empty() {
            continue;
        }
        let (syms, back) = symbols(prog, l);
        let exits: Vec<usize> = l.body.iter().copied().filter(|&t| matches!(prog.insns()[t], Insn::Jmp { .. }) && cfg.successors(t, &prog.insns()[t]).any(|j| !l.contains(j))).collect();
        let mut best: Option<(usize, u128)> = None;
        for &t in &exits {
            // On every iteration: no latch is reached from the head avoiding `t`.
            if t != l.head && l.latches.iter().any(|&s| s != t && graph::reaches(prog, l.head, s, t, Some(l))) {
                continue;
            }
            let st = states(t);
            let b = if st.is_empty() { Some(1) } else { test_bound(prog, l, t, &syms, &back, &st, &entries(l.head)) };
            if let Some(b) = b {
                if best.is_none_or(|(_, x)| b < x) {
                    best = Some((t, b));
                }
            }
        }
        match best {
            Some((test, iterations)) if iterations <= MAX_ITERATIONS as u128 => out.push(Bound { head: cfg.slot_of(l.head), test: cfg.slot_of(test), iterations: iterations as u64 }),
            Some((_, iterations)) => return Err(LoopError::TooLong { head: cfg.slot_of(l.head), iterations }),
            None if exits.is_empty() => return Err(LoopError::Infinite(cfg.slot_of(l.head))),
            None => return Err(LoopError::Unproven { from: cfg.slot_of(l.latches[0]), to: cfg.slot_of(l.head) }),
        }
    }
    Ok(out)
}

/// The proof in words, for the log.
pub fn describe(b: &Bound) -> String {
    format!("loop at insn {} terminates within {} iterations (exit test at insn {})", b.head, b.iterations, b.test)
}
