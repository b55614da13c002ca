//! The verifier's abstract operators proven sound on z3 bit vectors (issue 13).
//!
//! The operators of `verifier::domain` are written once, generic over a
//! [`Word`](crate::verifier::domain::word::Word). Here the word is a z3 term ([`Bv`],
//! with [`Cnd`] its conditions), so the code the verifier runs on `u64` is the code
//! proven: no transcription. A claim is proven when its negation is unsatisfiable; a
//! satisfiable negation gives a counterexample, every symbol's value.
//!
//! The concrete side of each claim is the ISA's own operation as z3 terms
//! ([`super::bpf::alu_at`], pinned to src/semantics.rs by the checker's tests), at the
//! width the claim is about.
//!
//! Terms live in a per-thread arena and words are handles into it, so that they are
//! `Copy` as the generic code needs. [`prove`] clears the arena before it builds a claim.
//!
//! Also what every claim is made of ([`Claim`], fresh symbolic tnums and bounds,
//! [`first_failure`]), shared by `operators` and `scalars`, which import nothing from
//! each other.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;

use z3::ast::{Bool, BV};
use z3::{SatResult, Solver};

use alloc::boxed::Box;

use crate::verifier::domain::bounds::Bounds;
use crate::verifier::domain::scalar::Wide;
use crate::verifier::domain::tnum::Tnum;
use crate::verifier::domain::word::{Cond, Word};

#[derive(Default)]
struct Arena {
    bvs: Vec<BV>,
    bools: Vec<Bool>,
    /// The free symbols, by name, for counterexamples.
    symbols: Vec<(String, BV)>,
    /// Set while [`without_reduction`] builds an operator alone.
    alone: bool,
}

std::thread_local! {
    static ARENA: RefCell<Arena> = RefCell::new(Arena::default());
}

/// An `N`-bit word that is a z3 term.
#[derive(Clone, Copy)]
pub struct Bv<const N: u32>(u32);

/// A condition that is a z3 term.
#[derive(Clone, Copy)]
pub struct Cnd(u32);

impl<const N: u32> Bv<N> {
    /// The word that is `t` (an `N`-bit term).
    pub fn from_term(t: BV) -> Bv<N> {
        debug_assert_eq!(t.get_size(), N);
        ARENA.with(|a| {
            let mut a = a.borrow_mut();
            a.bvs.push(t);
            Bv(a.bvs.len() as u32 - 1)
        })
    }

    /// The term.
    pub fn term(self) -> BV {
        ARENA.with(|a| a.borrow().bvs[self.0 as usize].clone())
    }

    /// A fresh symbol.
    pub fn symbol(name: &str) -> Bv<N> {
        let t = BV::new_const(name, N);
        ARENA.with(|a| a.borrow_mut().symbols.push((String::from(name), t.clone())));
        Bv::from_term(t)
    }

    fn lift(self, o: Bv<N>, f: impl FnOnce(&BV, &BV) -> BV) -> Bv<N> {
        Bv::from_term(f(&self.term(), &o.term()))
    }

    fn test(self, o: Bv<N>, f: impl FnOnce(&BV, &BV) -> Bool) -> Cnd {
        Cnd::of(f(&self.term(), &o.term()))
    }
}

impl Cnd {
    /// The condition that is `t`.
    pub fn from_term(t: Bool) -> Cnd {
        Cnd::of(t)
    }

    fn of(t: Bool) -> Cnd {
        ARENA.with(|a| {
            let mut a = a.borrow_mut();
            a.bools.push(t);
            Cnd(a.bools.len() as u32 - 1)
        })
    }

    /// The term.
    pub fn term(self) -> Bool {
        ARENA.with(|a| a.borrow().bools[self.0 as usize].clone())
    }

    /// `self` implies `o`.
    pub fn implies(self, o: Cnd) -> Cnd {
        self.not().or(o)
    }
}

impl<const N: u32> fmt::Debug for Bv<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.term())
    }
}

impl fmt::Debug for Cnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.term())
    }
}

impl Cond for Cnd {
    fn truth(b: bool) -> Cnd {
        Cnd::of(Bool::from_bool(b))
    }
    fn and(self, o: Cnd) -> Cnd {
        Cnd::of(Bool::and(&[self.term(), o.term()]))
    }
    fn or(self, o: Cnd) -> Cnd {
        Cnd::of(Bool::or(&[self.term(), o.term()]))
    }
    fn not(self) -> Cnd {
        Cnd::of(self.term().not())
    }
}

impl<const N: u32> Word for Bv<N> {
    type C = Cnd;
    const BITS: u32 = N;

    fn lit(v: u64) -> Bv<N> {
        let v = if N >= 64 { v } else { v & ((1u64 << N) - 1) };
        Bv::from_term(BV::from_u64(v, N))
    }
    fn add(self, o: Bv<N>) -> Bv<N> {
        self.lift(o, |a, b| a.bvadd(b))
    }
    fn sub(self, o: Bv<N>) -> Bv<N> {
        self.lift(o, |a, b| a.bvsub(b))
    }
    fn mul(self, o: Bv<N>) -> Bv<N> {
        self.lift(o, |a, b| a.bvmul(b))
    }
    fn udiv(self, o: Bv<N>) -> Bv<N> {
        self.lift(o, |a, b| b.eq(BV::from_u64(0, N)).ite(&BV::from_u64(0, N), &a.bvudiv(b)))
    }
    fn urem(self, o: Bv<N>) -> Bv<N> {
        self.lift(o, |a, b| b.eq(BV::from_u64(0, N)).ite(a, &a.bvurem(b)))
    }
    fn and(self, o: Bv<N>) -> Bv<N> {
        self.lift(o, |a, b| a.bvand(b))
    }
    fn or(self, o: Bv<N>) -> Bv<N> {
        self.lift(o, |a, b| a.bvor(b))
    }
    fn xor(self, o: Bv<N>) -> Bv<N> {
        self.lift(o, |a, b| a.bvxor(b))
    }
    fn not(self) -> Bv<N> {
        Bv::from_term(self.term().bvnot())
    }
    fn shl(self, n: u32) -> Bv<N> {
        Bv::from_term(self.term().bvshl(BV::from_u64(n as u64, N)))
    }
    fn shr(self, n: u32) -> Bv<N> {
        Bv::from_term(self.term().bvlshr(BV::from_u64(n as u64, N)))
    }
    fn sar(self, n: u32) -> Bv<N> {
        Bv::from_term(self.term().bvashr(BV::from_u64(n as u64, N)))
    }
    fn eq(self, o: Bv<N>) -> Cnd {
        self.test(o, |a, b| a.eq(b))
    }
    fn ult(self, o: Bv<N>) -> Cnd {
        self.test(o, |a, b| a.bvult(b))
    }
    fn slt(self, o: Bv<N>) -> Cnd {
        self.test(o, |a, b| a.bvslt(b))
    }
    fn select(c: Cnd, a: Bv<N>, b: Bv<N>) -> Bv<N> {
        Bv::from_term(c.term().ite(&a.term(), &b.term()))
    }
}

macro_rules! wide {
    ($n:literal, $h:literal) => {
        impl Wide for Bv<$n> {
            type Half = Bv<$h>;
            fn low(self) -> Bv<$h> {
                Bv::from_term(self.term().extract($h - 1, 0))
            }
            fn zext(h: Bv<$h>) -> Bv<$n> {
                Bv::from_term(h.term().zero_ext($h))
            }
            fn sext(h: Bv<$h>) -> Bv<$n> {
                Bv::from_term(h.term().sign_ext($h))
            }
            fn reduces() -> bool {
                ARENA.with(|a| !a.borrow().alone)
            }
        }
    };
}

wide!(64, 32);
wide!(16, 8);
wide!(8, 4);

/// A word the claims can make symbols of and compare with the ISA's terms: every
/// [`Bv`].
pub trait Term: Word<C = Cnd> {
    fn symbol(name: &str) -> Self;
    fn term(self) -> BV;
    fn from_term(t: BV) -> Self;
}

impl<const N: u32> Term for Bv<N> {
    fn symbol(name: &str) -> Bv<N> {
        Bv::symbol(name)
    }
    fn term(self) -> BV {
        Bv::term(self)
    }
    fn from_term(t: BV) -> Bv<N> {
        Bv::from_term(t)
    }
}

/// `build` with [`Scalar::sync`](crate::verifier::domain::scalar::Scalar::sync) the
/// identity: the operators it builds are alone, without the reduction after them.
pub fn without_reduction<R>(build: impl FnOnce() -> R) -> R {
    ARENA.with(|a| a.borrow_mut().alone = true);
    let r = build();
    ARENA.with(|a| a.borrow_mut().alone = false);
    r
}

/// What the solver said of a claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Proven,
    /// The claim fails for these values of its symbols.
    Refuted(String),
    /// The solver gave up (a timeout, or z3's own limit).
    Unknown(String),
}

/// The most time one query may take (a timeout is a failure, never a proof): 600 s, or
/// `RVBPF_CLAIM_TIMEOUT` seconds.
fn timeout_ms() -> u32 {
    std::env::var("RVBPF_CLAIM_TIMEOUT").ok().and_then(|s| s.parse::<u32>().ok()).unwrap_or(600).saturating_mul(1000)
}

/// Proves the claim `build` makes (on a cleared arena): its negation is unsatisfiable.
pub fn prove(build: impl FnOnce() -> Cnd) -> Outcome {
    ARENA.with(|a| *a.borrow_mut() = Arena::default());
    let claim = build().term();
    let solver = Solver::new_for_logic("QF_BV").unwrap_or_default();
    let mut params = z3::Params::new();
    params.set_u32("timeout", timeout_ms());
    solver.set_params(&params);
    solver.assert(claim.not());
    let r = solver.check();
    let out = match r {
        SatResult::Unsat => Outcome::Proven,
        SatResult::Unknown => Outcome::Unknown(solver.get_reason_unknown().unwrap_or_default()),
        SatResult::Sat => {
            let model = solver.get_model();
            let values = ARENA.with(|a| {
                a.borrow()
                    .symbols
                    .iter()
                    .map(|(name, t)| {
                        let v = model.as_ref().and_then(|m| m.eval(t, true)).and_then(|v| v.as_u64()).map_or_else(|| String::from("?"), |v| format!("{v:#x}"));
                        format!("{name} = {v}")
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            Outcome::Refuted(values)
        }
    };
    ARENA.with(|a| *a.borrow_mut() = Arena::default());
    out
}

/// One claim: its name (operator and width) and how to prove it.
pub struct Claim {
    pub name: String,
    /// The operator it is about (the coverage gate counts these).
    pub operator: &'static str,
    pub bits: u32,
    pub prove: Box<dyn Fn() -> Outcome + Send + Sync>,
}

impl Claim {
    /// What the claim is about: its domain and operator (`tnum add`, `scalar jeq32`).
    pub fn subject(&self) -> &str {
        self.name.split(" (").next().unwrap_or(&self.name)
    }
}

/// A fresh, well-formed tnum: the symbols `{name}.value`, `{name}.mask`, and the
/// condition that it is well-formed.
pub fn tnum<W: Term>(name: &str) -> (Tnum<W>, Cnd) {
    let t = Tnum { value: W::symbol(&format!("{name}.value")), mask: W::symbol(&format!("{name}.mask")) };
    (t, t.well_formed())
}

/// A fresh bounds value: a tnum and four range ends, symbols `{name}.*`, and the
/// condition that it is well-formed.
pub fn bounds<W: Term>(name: &str) -> (Bounds<W>, Cnd) {
    let (var, _) = tnum::<W>(name);
    let b = Bounds {
        var,
        umin: W::symbol(&format!("{name}.umin")),
        umax: W::symbol(&format!("{name}.umax")),
        smin: W::symbol(&format!("{name}.smin")),
        smax: W::symbol(&format!("{name}.smax")),
    };
    (b, b.well_formed())
}

/// The first outcome that is not a proof, or a proof when all are (lazily: the claims
/// after a failure are not asked).
pub fn first_failure(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
    outcomes.into_iter().find(|o| *o != Outcome::Proven).unwrap_or(Outcome::Proven)
}

/// `x` lies in the unsigned and signed ranges of `b` (its tnum aside).
pub fn in_ranges<W: Word>(b: Bounds<W>, x: W) -> W::C {
    Part::Unsigned.holds(b, x).and(Part::Signed.holds(b, x))
}

/// One part of a bounds value, which a query may be about alone: a claim that each
/// part of a result holds a value is the claim that the result does. Queries split so
/// are much faster: z3 decides the unsigned and the signed order of one value apart
/// in a fraction of a second, and together, on a disjunction (a join), in minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The tnum, well-formed.
    Bits,
    Unsigned,
    Signed,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Bits, Part::Unsigned, Part::Signed];

    /// `x` is in this part of `b`.
    pub fn holds<W: Word>(self, b: Bounds<W>, x: W) -> W::C {
        match self {
            Part::Bits => b.var.well_formed().and(b.var.contains(x)),
            Part::Unsigned => b.umin.ule(x).and(x.ule(b.umax)),
            Part::Signed => b.smin.sle(x).and(x.sle(b.smax)),
        }
    }
}
