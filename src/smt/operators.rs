//! The soundness claims of the verifier's abstract operators, each proven by z3 on the
//! operator's own code ([`super::domain`]).
//!
//! A claim about an operator `op#` abstracting the concrete `op`: for every well-formed
//! abstract input and every concrete value it stands for, the concrete result is one the
//! abstract result stands for (and the abstract result is well-formed). The concrete
//! operations are the ISA's ([`super::bpf::alu_at`]).
//!
//! Built so far: the tnum operators, at 8, 16, 32 and 64 bits; multiplication at 8 bits
//! only (2 s; at 16 bits z3 does not finish a bit-blasted product of two symbolic
//! values within 10 minutes: wider widths need the proof split by the algorithm's steps). The
//! bounds, the reduction, the scalar operators, joins and widening, the refinements
//! and pointer offsets follow (issue 13).

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::bpf::alu_at;
use super::domain::{prove, Bv, Cnd, Outcome};
use crate::isa::AluOp;
use crate::verifier::domain::tnum::Tnum;
use crate::verifier::domain::word::{Cond, Word};

/// One claim: its name (operator and width) and how to prove it.
pub struct Claim {
    pub name: String,
    /// The operator it is about (the coverage gate counts these).
    pub operator: &'static str,
    pub bits: u32,
    pub prove: Box<dyn Fn() -> Outcome + Send + Sync>,
}

/// A fresh, well-formed tnum: the symbols `{name}.value`, `{name}.mask`, and the
/// condition that it is well-formed.
fn tnum<const N: u32>(name: &str) -> (Tnum<Bv<N>>, Cnd) {
    let t = Tnum { value: Bv::symbol(&format!("{name}.value")), mask: Bv::symbol(&format!("{name}.mask")) };
    (t, t.well_formed())
}

/// The concrete `op` on two `N`-bit words, as the ISA defines it.
fn concrete<const N: u32>(op: AluOp, x: Bv<N>, y: Bv<N>) -> Bv<N> {
    Bv::from_term(alu_at(op, &x.term(), &y.term(), N))
}

/// `op#` on tnums abstracts `op`: for x in a, y in b, `op(x, y)` is in `op#(a, b)`, and
/// `op#(a, b)` is well-formed.
fn tnum_binary<const N: u32>(op: AluOp, abs: fn(Tnum<Bv<N>>, Tnum<Bv<N>>) -> Tnum<Bv<N>>) -> Outcome {
    prove(|| {
        let ((a, wa), (b, wb)) = (tnum::<N>("a"), tnum::<N>("b"));
        let (x, y) = (Bv::<N>::symbol("x"), Bv::<N>::symbol("y"));
        let pre = wa.and(wb).and(a.contains(x)).and(b.contains(y));
        let r = abs(a, b);
        pre.implies(r.well_formed().and(r.contains(concrete(op, x, y))))
    })
}

/// A unary `f#` on tnums abstracts `f`.
fn tnum_unary<const N: u32>(abs: impl Fn(Tnum<Bv<N>>) -> Tnum<Bv<N>>, conc: impl Fn(Bv<N>) -> Bv<N>) -> Outcome {
    prove(|| {
        let (a, wa) = tnum::<N>("a");
        let x = Bv::<N>::symbol("x");
        let r = abs(a);
        wa.and(a.contains(x)).implies(r.well_formed().and(r.contains(conc(x))))
    })
}

/// The tnum claims at `N` bits.
fn tnum_claims<const N: u32>(out: &mut Vec<Claim>) {
    let mut add = |operator: &'static str, prove: Box<dyn Fn() -> Outcome + Send + Sync>| out.push(Claim { name: format!("tnum {operator} ({N} bits)"), operator, bits: N, prove });
    type T<const N: u32> = Tnum<Bv<N>>;
    add("add", Box::new(|| tnum_binary::<N>(AluOp::Add, |a: T<N>, b| a + b)));
    add("sub", Box::new(|| tnum_binary::<N>(AluOp::Sub, |a: T<N>, b| a - b)));
    add("and", Box::new(|| tnum_binary::<N>(AluOp::And, |a: T<N>, b| a & b)));
    add("or", Box::new(|| tnum_binary::<N>(AluOp::Or, |a: T<N>, b| a | b)));
    add("xor", Box::new(|| tnum_binary::<N>(AluOp::Xor, |a: T<N>, b| a ^ b)));
    if N <= 8 {
        add("mul", Box::new(|| tnum_binary::<N>(AluOp::Mul, |a: T<N>, b| a * b)));
    }
    add("neg", Box::new(|| tnum_unary::<N>(|a| -a, |x| x.neg())));
    // Shifts by every constant amount the width allows, one claim each.
    add("shifts", Box::new(|| {
        for n in 0..N {
            for (abs, conc) in [
                (Box::new(move |a: T<N>| a << n) as Box<dyn Fn(T<N>) -> T<N>>, Box::new(move |x: Bv<N>| x.shl(n)) as Box<dyn Fn(Bv<N>) -> Bv<N>>),
                (Box::new(move |a: T<N>| a >> n), Box::new(move |x: Bv<N>| x.shr(n))),
                (Box::new(move |a: T<N>| a.sar(n)), Box::new(move |x: Bv<N>| x.sar(n))),
            ] {
                let o = tnum_unary::<N>(abs, conc);
                if o != Outcome::Proven {
                    return o;
                }
            }
        }
        Outcome::Proven
    }));
    add("union", Box::new(|| {
        prove(|| {
            let ((a, wa), (b, wb)) = (tnum::<N>("a"), tnum::<N>("b"));
            let x = Bv::<N>::symbol("x");
            let u = a.union(b);
            wa.and(wb).and(a.contains(x).or(b.contains(x))).implies(u.well_formed().and(u.contains(x)))
        })
    }));
    add("intersect", Box::new(|| {
        prove(|| {
            let ((a, wa), (b, wb)) = (tnum::<N>("a"), tnum::<N>("b"));
            let x = Bv::<N>::symbol("x");
            let m = a.intersect(b);
            wa.and(wb).and(a.contains(x)).and(b.contains(x)).implies(m.well_formed().and(m.contains(x)))
        })
    }));
    add("range", Box::new(|| {
        prove(|| {
            let (lo, hi, x) = (Bv::<N>::symbol("min"), Bv::<N>::symbol("max"), Bv::<N>::symbol("x"));
            let r = Tnum::range(lo, hi);
            lo.ule(x).and(x.ule(hi)).implies(r.well_formed().and(r.contains(x)))
        })
    }));
    add("limits", Box::new(|| {
        prove(|| {
            let (a, wa) = tnum::<N>("a");
            let x = Bv::<N>::symbol("x");
            let inside = a.umin().ule(x).and(x.ule(a.umax())).and(a.smin().sle(x)).and(x.sle(a.smax()));
            wa.and(a.contains(x)).implies(inside)
        })
    }));
    add("low", Box::new(|| {
        for bits in 1..N {
            let keep = (1u64 << bits) - 1;
            let o = tnum_unary::<N>(move |a| a.low(bits), move |x| x.and(Bv::lit(keep)));
            if o != Outcome::Proven {
                return o;
            }
        }
        Outcome::Proven
    }));
}

/// Every claim built so far.
pub fn claims() -> Vec<Claim> {
    let mut out = Vec::new();
    tnum_claims::<8>(&mut out);
    tnum_claims::<16>(&mut out);
    tnum_claims::<32>(&mut out);
    tnum_claims::<64>(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tnum_operator_is_sound_at_every_width() {
        let failed: Vec<String> = claims()
            .iter()
            .filter_map(|c| {
                let t = std::time::Instant::now();
                let o = (c.prove)();
                std::println!("{:<28} {:>7.2} s  {o:?}", c.name, t.elapsed().as_secs_f64());
                (o != Outcome::Proven).then(|| format!("{}: {o:?}", c.name))
            })
            .collect();
        assert!(failed.is_empty(), "{failed:#?}");
    }

    #[test]
    fn an_unsound_operator_is_refuted_with_its_values() {
        // A tnum add that forgets the carries: refuted, with a counterexample.
        let bad = |a: Tnum<Bv<8>>, b: Tnum<Bv<8>>| Tnum { value: a.value.add(b.value), mask: a.mask.or(b.mask) };
        match tnum_binary::<8>(AluOp::Add, bad) {
            Outcome::Refuted(values) => assert!(values.contains("a.value = ") && values.contains("x = "), "{values}"),
            o => panic!("not refuted: {o:?}"),
        }
    }
}

