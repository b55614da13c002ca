//! The soundness claims of the verifier's abstract operators, each proven by z3 on the
//! operator's own code ([`super::domain`]).
//!
//! A claim about an operator `op#` abstracting the concrete `op`: for every well-formed
//! abstract input and every concrete value it stands for, the concrete result is one the
//! abstract result stands for (and the abstract result is well-formed). The concrete
//! operations are the ISA's ([`super::bpf::alu_at`]).
//!
//! At 8, 16, 32 and 64 bits unless said:
//! - the tnum operators: add, sub, and, or, xor, neg, the three shifts by every amount,
//!   union (the join), intersect (the meet), range, the limits, truncation; mul at 8
//!   bits only (at 16 bits z3 does not finish a bit-blasted product of two symbolic
//!   values within 10 minutes: wider widths need the proof split by the algorithm's
//!   steps);
//! - the bounds operators (unsigned and signed ranges with their tnum, each alone,
//!   without the reduction after it): add, sub, and, or, xor, neg, the shifts by every
//!   amount, byte reversal at every size, the reduction `sync` itself, join, meet,
//!   widening with and without thresholds; mul, udiv and urem at 8 bits only (a 16-bit
//!   udiv does not finish within 5 minutes).
//!
//! The scalar operators (both widths, the 32↔64 reduction, the branch refinements,
//! sign extension, byte swaps, pointer offsets) are in [`super::scalars`]. [`claims`] is
//! every claim; [`required`] names every operator some claim must be about (the
//! coverage gate, [`gaps`]). The test command proves every claim.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::bpf::alu_at;
pub use super::domain::Claim;
use super::domain::{bounds, first_failure, in_ranges, prove, tnum, Bv, Cnd, Outcome, Part};
use crate::verifier::domain::word::Cond;
use crate::isa::AluOp;
use crate::verifier::domain::bounds::Bounds;
use crate::verifier::domain::tnum::Tnum;
use crate::verifier::domain::word::Word;

/// The concrete `op` on two `N`-bit words, as the ISA defines it.
fn concrete<const N: u32>(op: AluOp, x: Bv<N>, y: Bv<N>) -> Bv<N> {
    Bv::from_term(alu_at(op, &x.term(), &y.term(), N))
}

/// `op#` on tnums abstracts `op`: for x in a, y in b, `op(x, y)` is in `op#(a, b)`, and
/// `op#(a, b)` is well-formed.
fn tnum_binary<const N: u32>(op: AluOp, abs: fn(Tnum<Bv<N>>, Tnum<Bv<N>>) -> Tnum<Bv<N>>) -> Outcome {
    prove(|| {
        let ((a, wa), (b, wb)) = (tnum::<Bv<N>>("a"), tnum::<Bv<N>>("b"));
        let (x, y) = (Bv::<N>::symbol("x"), Bv::<N>::symbol("y"));
        let pre = wa.and(wb).and(a.contains(x)).and(b.contains(y));
        let r = abs(a, b);
        pre.implies(r.well_formed().and(r.contains(concrete(op, x, y))))
    })
}

/// A unary `f#` on tnums abstracts `f`.
fn tnum_unary<const N: u32>(abs: impl Fn(Tnum<Bv<N>>) -> Tnum<Bv<N>>, conc: impl Fn(Bv<N>) -> Bv<N>) -> Outcome {
    prove(|| {
        let (a, wa) = tnum::<Bv<N>>("a");
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
    // Shifts by every constant amount the width allows.
    add("shifts", Box::new(|| {
        every_amount::<N>(|n| {
            first_failure([
                tnum_unary::<N>(move |a| a << n, move |x| x.shl(n)),
                tnum_unary::<N>(move |a| a >> n, move |x| x.shr(n)),
                tnum_unary::<N>(move |a| a.sar(n), move |x| x.sar(n)),
            ])
        })
    }));
    add("union", Box::new(|| {
        prove(|| {
            let ((a, wa), (b, wb)) = (tnum::<Bv<N>>("a"), tnum::<Bv<N>>("b"));
            let x = Bv::<N>::symbol("x");
            let u = a.union(b);
            wa.and(wb).and(a.contains(x).or(b.contains(x))).implies(u.well_formed().and(u.contains(x)))
        })
    }));
    add("intersect", Box::new(|| {
        prove(|| {
            let ((a, wa), (b, wb)) = (tnum::<Bv<N>>("a"), tnum::<Bv<N>>("b"));
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
            let (a, wa) = tnum::<Bv<N>>("a");
            let x = Bv::<N>::symbol("x");
            let inside = a.umin().ule(x).and(x.ule(a.umax())).and(a.smin().sle(x)).and(x.sle(a.smax()));
            wa.and(a.contains(x)).implies(inside)
        })
    }));
    add("low", Box::new(|| first_failure((1..N).map(|bits| tnum_unary::<N>(move |a| a.low(bits), move |x| x.and(Bv::lit((1u64 << bits) - 1)))))));
}

/// `op#` on bounds abstracts `op`: for x in a, y in b, `op(x, y)` is in `op#(a, b)`,
/// whose tnum is well-formed. The operator alone, without the reduction after it.
///
/// Proven in one query per part of the result ([`Part`]): the tnum's, the unsigned
/// range's, the signed range's. Each part's premise holds only what that part is
/// computed from (`from`), a stronger claim that z3 decides faster.
fn bounds_binary<const N: u32>(op: AluOp, abs: fn(Bounds<Bv<N>>, Bounds<Bv<N>>) -> Bounds<Bv<N>>, from: From) -> Outcome {
    each_part(|part| {
        let ((a, _), (b, _)) = (bounds::<Bv<N>>("a"), bounds::<Bv<N>>("b"));
        let (x, y) = (Bv::<N>::symbol("x"), Bv::<N>::symbol("y"));
        let z = concrete(op, x, y);
        let r = abs(a, b);
        let in_bits = |b: Bounds<Bv<N>>, x: Bv<N>| Part::Bits.holds(b, x);
        let (bits, rs) = (in_bits(a, x).and(in_bits(b, y)), in_ranges(a, x).and(in_ranges(b, y)));
        let pre = |needs_bits: bool, needs_ranges: bool| {
            let t = Cnd::truth(true);
            (if needs_bits { bits } else { t }).and(if needs_ranges { rs } else { t })
        };
        match part {
            Part::Bits => pre(true, from == From::Both),
            Part::Unsigned | Part::Signed => pre(from != From::Own, true),
        }
        .implies(part.holds(r, z))
    })
}

/// The claim `each(part)` builds, proven for every [`Part`] in its own query.
fn each_part(each: impl Fn(Part) -> Cnd) -> Outcome {
    first_failure(Part::ALL.into_iter().map(|part| prove(|| each(part))))
}

/// A part-wise operator on bounds (join, widening: each part of the result computed
/// from the same part of the operands alone) keeps every value of each operand, one
/// query per operand and part, each premised on that part only.
fn bounds_partwise<const N: u32>(op: impl Fn(Bounds<Bv<N>>, Bounds<Bv<N>>) -> Bounds<Bv<N>>, extra: impl Fn() -> Cnd) -> Outcome {
    first_failure([false, true].into_iter().flat_map(|second| Part::ALL.into_iter().map(move |p| (second, p))).map(|(second, part)| {
        prove(|| {
            let ((a, wa), (b, wb)) = (bounds::<Bv<N>>("old"), bounds::<Bv<N>>("new"));
            let x = Bv::<N>::symbol("x");
            let r = op(a, b);
            wa.and(wb).and(extra()).and(part.holds(if second { b } else { a }, x)).implies(part.holds(r, x))
        })
    }))
}

/// What the parts of a bounds operator's result are computed from: each from its own
/// kind (the tnum from the tnums, the ranges from the ranges), the ranges from both, or
/// both from both.
#[derive(Clone, Copy, PartialEq, Eq)]
enum From {
    Own,
    RangesFromBoth,
    Both,
}

/// A unary `f#` on bounds abstracts `f`.
fn bounds_unary<const N: u32>(abs: impl Fn(Bounds<Bv<N>>) -> Bounds<Bv<N>>, conc: impl Fn(Bv<N>) -> Bv<N>) -> Outcome {
    each_part(|part| {
        let (a, wa) = bounds::<Bv<N>>("a");
        let x = Bv::<N>::symbol("x");
        let r = abs(a);
        wa.and(a.contains(x)).implies(part.holds(r, conc(x)))
    })
}

/// Runs `each(n)` for every shift amount `n` below the width, the first failure kept.
pub(super) fn every_amount<const N: u32>(each: impl Fn(u32) -> Outcome) -> Outcome {
    first_failure((0..N).map(each))
}

/// The bounds claims at `N` bits.
fn bounds_claims<const N: u32>(out: &mut Vec<Claim>) {
    let mut add = |operator: &'static str, prove: Box<dyn Fn() -> Outcome + Send + Sync>| out.push(Claim { name: format!("bounds {operator} ({N} bits)"), operator, bits: N, prove });
    type B<const N: u32> = Bounds<Bv<N>>;
    add("add", Box::new(|| bounds_binary::<N>(AluOp::Add, |a: B<N>, b| a + b, From::Own)));
    add("sub", Box::new(|| bounds_binary::<N>(AluOp::Sub, |a: B<N>, b| a - b, From::Own)));
    add("and", Box::new(|| bounds_binary::<N>(AluOp::And, |a: B<N>, b| a & b, From::RangesFromBoth)));
    add("or", Box::new(|| bounds_binary::<N>(AluOp::Or, |a: B<N>, b| a | b, From::RangesFromBoth)));
    add("xor", Box::new(|| bounds_binary::<N>(AluOp::Xor, |a: B<N>, b| a ^ b, From::RangesFromBoth)));
    if N <= 8 {
        add("udiv", Box::new(|| bounds_binary::<N>(AluOp::Div, |a: B<N>, b| a.udiv(b), From::Both)));
        add("urem", Box::new(|| bounds_binary::<N>(AluOp::Mod, |a: B<N>, b| a.urem(b), From::Both)));
        add("mul", Box::new(|| bounds_binary::<N>(AluOp::Mul, |a: B<N>, b| a * b, From::RangesFromBoth)));
    }
    add("neg", Box::new(|| bounds_unary::<N>(|a| -a, |x| x.neg())));
    add("shl", Box::new(|| every_amount::<N>(|n| bounds_unary::<N>(move |a| a << n, move |x| x.shl(n)))));
    add("shr", Box::new(|| every_amount::<N>(|n| bounds_unary::<N>(move |a| a >> n, move |x| x.shr(n)))));
    add("sar", Box::new(|| every_amount::<N>(|n| bounds_unary::<N>(move |a| a.sar(n), move |x| x.sar(n)))));
    add("reverse_bytes", Box::new(|| {
        first_failure((1..=N / 8).map(|bytes| bounds_unary::<N>(move |a| a.reverse_bytes(bytes), move |x| x.reverse_bytes(bytes))))
    }));
    add("sync", Box::new(|| bounds_unary::<N>(|a| a.sync(), |x| x)));
    add("join", Box::new(|| bounds_partwise::<N>(|a, b| a.join(b), || Cnd::truth(true))));
    add("meet", Box::new(|| {
        each_part(|part| {
            let ((a, wa), (b, wb)) = (bounds::<Bv<N>>("a"), bounds::<Bv<N>>("b"));
            let x = Bv::<N>::symbol("x");
            wa.and(wb).and(a.contains(x)).and(b.contains(x)).implies(part.holds(a.meet(b), x))
        })
    }));
    // Widening over-approximates both sides, with three thresholds of each order in
    // ascending order (as the analysis gives them), and with none.
    add("widen", Box::new(|| {
        first_failure([0, 3].into_iter().map(|k| {
            // The thresholds, symbols built inside each query (`prove` clears the arena).
            let thresholds = move || {
                let us: Vec<Bv<N>> = (0..k).map(|i| Bv::symbol(&format!("u{i}"))).collect();
                let ss: Vec<Bv<N>> = (0..k).map(|i| Bv::symbol(&format!("s{i}"))).collect();
                (us, ss)
            };
            let sorted = move || {
                let (us, ss) = thresholds();
                (1..k).fold(Cnd::truth(true), |c, i| c.and(us[i - 1].ule(us[i])).and(ss[i - 1].sle(ss[i])))
            };
            bounds_partwise::<N>(
                move |a, b| {
                    let (us, ss) = thresholds();
                    a.widen_with(b, &us, &ss)
                },
                sorted,
            )
        }))
    }));
}

/// Every operator of the verifier's domains, each of which some claim must be about
/// (the coverage gate). The ALU operations and jump conditions come from the ISA's own
/// lists, so a new one without a claim is a gap.
pub fn required() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let tnum = ["add", "sub", "and", "or", "xor", "mul", "neg", "shifts", "union", "intersect", "range", "limits", "low"];
    let bounds = ["add", "sub", "and", "or", "xor", "mul", "udiv", "urem", "neg", "shl", "shr", "sar", "reverse_bytes", "sync", "join", "meet", "widen"];
    let scalar = ["neg64", "neg32", "movsx64", "movsx32", "end", "sext_low", "zext_low", "sync", "pointer offset", "join", "meet", "widen"];
    out.extend(tnum.iter().map(|o| format!("tnum {o}")));
    out.extend(bounds.iter().map(|o| format!("bounds {o}")));
    out.extend(scalar.iter().map(|o| format!("scalar {o}")));
    for op in AluOp::ALL {
        let op = format!("{op:?}").to_lowercase();
        out.push(format!("scalar alu64 {op}"));
        out.push(format!("scalar alu32 {op}"));
    }
    for c in crate::isa::JmpCond::ALL {
        let c = format!("{c:?}").to_lowercase();
        out.push(format!("scalar j{c}"));
        out.push(format!("scalar j{c}32"));
    }
    out
}

/// The operators of [`required`] that no claim is about.
pub fn gaps(claims: &[Claim]) -> Vec<String> {
    required().into_iter().filter(|r| !claims.iter().any(|c| c.subject() == r)).collect()
}

/// Every claim.
pub fn claims() -> Vec<Claim> {
    let mut out = Vec::new();
    tnum_claims::<8>(&mut out);
    tnum_claims::<16>(&mut out);
    tnum_claims::<32>(&mut out);
    tnum_claims::<64>(&mut out);
    bounds_claims::<8>(&mut out);
    bounds_claims::<16>(&mut out);
    bounds_claims::<32>(&mut out);
    bounds_claims::<64>(&mut out);
    super::scalars::claims(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every claim, on two threads (one solver each), each claim's time printed.
    #[test]
    fn every_operator_claim_is_proven() {
        use core::sync::atomic::{AtomicUsize, Ordering};
        let all = claims();
        let next = AtomicUsize::new(0);
        let failed = std::sync::Mutex::new(Vec::new());
        let start = std::time::Instant::now();
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    while let Some(c) = all.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let t = std::time::Instant::now();
                        let o = (c.prove)();
                        std::println!("{:<30} {:>7.2} s  {o:?}", c.name, t.elapsed().as_secs_f64());
                        if o != Outcome::Proven {
                            failed.lock().unwrap().push(format!("{}: {o:?}", c.name));
                        }
                    }
                });
            }
        });
        std::println!("{} claims in {:.1} s", all.len(), start.elapsed().as_secs_f64());
        let failed = failed.into_inner().unwrap();
        assert!(failed.is_empty(), "{failed:#?}");
    }

    #[test]
    fn every_operator_is_the_subject_of_a_claim() {
        let all = claims();
        assert_eq!(gaps(&all), Vec::<String>::new());
        // And the gate sees a missing one.
        let fewer: Vec<Claim> = claims().into_iter().filter(|c| c.subject() != "scalar jsle32").collect();
        assert_eq!(gaps(&fewer), ["scalar jsle32"]);
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
