//! The verifier's abstract operators checked by brute force at 8 bits (issue 13): a second
//! check of every operator `rvbpf prove --verifier` proves, that shares nothing with the
//! proofs but the operators' own code. The operators run on `u8` words (tnums, bounds)
//! and on `u16` words with `u8` halves (scalars, the 16/8 model of 64/32); the concrete
//! side is src/semantics.rs, the interpreter's own definitions, at the width. No z3: a
//! fault in the proofs' encoding (the bit-vector words, the ISA's terms, a claim's
//! premise) cannot hide an unsound operator from this test.
//!
//! What is exhaustive (proofs/README.md, "The exhaustive 8-bit check"):
//! - tnums: every well-formed 8-bit tnum (6,561), every pair of them, every member of
//!   each: 2^32 concrete pairs per binary operator;
//! - bounds and scalars: every member of each abstract operand (all concrete values it
//!   stands for, found by testing all 256 or 65,536 words), over a fixed family of
//!   abstract operands (constants, unsigned and signed ranges with ends at the values
//!   where operators change behaviour, as given and reduced, and tnums of several
//!   shapes), every pair of the family for binary operators. All well-formed abstract
//!   pairs at 8 bits number about 10^19: no brute force reaches them, the proofs do.
#![cfg(all(feature = "cli", feature = "smt", not(target_arch = "riscv64")))]

use std::ops;

use rayon::prelude::*;
use rvbpf::isa::{AluOp, EndKind, JmpCond};
use rvbpf::semantics;
use rvbpf::verifier::alu;
use rvbpf::verifier::domain::bounds::Bounds;
use rvbpf::verifier::domain::refine::refine;
use rvbpf::verifier::domain::scalar::Scalar;
use rvbpf::verifier::domain::tnum::Tnum;
use rvbpf::verifier::domain::word::Word;

/// An abstract value and every concrete value it stands for.
type Member<A, X> = (A, Vec<X>);

/// A binary operator checked: its name, the ISA operation it abstracts, and itself.
type Op<A> = (&'static str, AluOp, fn(A, A) -> A);

/// The concrete `op` at `bits` bits (8 or 16), from the ISA's 64-bit definition: the
/// operands zero- or sign-extended as the operation needs, shift amounts masked to the
/// width, the result truncated.
fn op_at(op: AluOp, bits: u32, x: u64, y: u64) -> u64 {
    let m = (1u64 << bits) - 1;
    let sx = |v: u64| semantics::sign_extend(v & m, bits);
    let amount = y & (bits as u64 - 1);
    let (x, y) = match op {
        AluOp::Sdiv | AluOp::Smod => (sx(x), sx(y)),
        AluOp::Arsh => (sx(x), amount),
        AluOp::Lsh | AluOp::Rsh => (x & m, amount),
        _ => (x & m, y & m),
    };
    semantics::alu64(op, x, y) & m
}

/// The first failure of `check` over `0..n` in parallel, and how many concrete cases
/// it counted.
fn run(n: usize, check: impl Fn(usize) -> Result<u64, String> + Sync + Send) -> Result<u64, String> {
    (0..n).into_par_iter().map(check).try_reduce(|| 0, |a, b| Ok(a + b))
}

/// `abs` abstracts `conc` on every pair of the family: for `x` in `a`, `y` in `b`,
/// `conc(x, y)` is in `abs(a, b)`.
fn binary<A: Copy + Sync + std::fmt::Debug, X: Copy + Sync + std::fmt::Debug, R: std::fmt::Debug>(
    family: &[Member<A, X>],
    abs: impl Fn(A, A) -> R + Sync,
    conc: impl Fn(X, X) -> X + Sync,
    holds: impl Fn(&R, X) -> bool + Sync,
) -> Result<u64, String> {
    run(family.len(), |i| {
        let (a, xs) = &family[i];
        let mut n = 0;
        for (b, ys) in family {
            let r = abs(*a, *b);
            for &x in xs {
                for &y in ys {
                    if !holds(&r, conc(x, y)) {
                        return Err(format!("a = {a:?}, b = {b:?}, x = {x:?}, y = {y:?}: the result {:?} is not in {r:?}", conc(x, y)));
                    }
                }
            }
            n += (xs.len() * ys.len()) as u64;
        }
        Ok(n)
    })
}

/// `abs` abstracts `conc` on every member of the family.
fn unary<A: Copy + Sync + std::fmt::Debug, X: Copy + Sync + std::fmt::Debug, R: std::fmt::Debug>(
    family: &[Member<A, X>],
    abs: impl Fn(A) -> R + Sync,
    conc: impl Fn(X) -> X + Sync,
    holds: impl Fn(&R, X) -> bool + Sync,
) -> Result<u64, String> {
    run(family.len(), |i| {
        let (a, xs) = &family[i];
        let r = abs(*a);
        match xs.iter().find(|&&x| !holds(&r, conc(x))) {
            Some(&x) => Err(format!("a = {a:?}, x = {x:?}: the result {:?} is not in {r:?}", conc(x))),
            None => Ok(xs.len() as u64),
        }
    })
}

/// `abs` (a join, a widening) keeps every member of either operand, on every pair of
/// the family.
fn either<A: Copy + Sync + std::fmt::Debug, X: Copy + Sync + std::fmt::Debug>(family: &[Member<A, X>], abs: impl Fn(A, A) -> A + Sync, holds: impl Fn(&A, X) -> bool + Sync) -> Result<u64, String> {
    run(family.len(), |i| {
        let (a, xs) = &family[i];
        let mut n = 0;
        for (b, ys) in family {
            let r = abs(*a, *b);
            if let Some(x) = xs.iter().chain(ys).find(|&&x| !holds(&r, x)) {
                return Err(format!("a = {a:?}, b = {b:?}: {x:?} is not in {r:?}"));
            }
            n += (xs.len() + ys.len()) as u64;
        }
        Ok(n)
    })
}

/// `abs` (a meet) keeps every member of both operands, on every pair of the family.
fn both<A: Copy + Sync + std::fmt::Debug, X: Copy + Sync + std::fmt::Debug + Ord>(family: &[Member<A, X>], abs: impl Fn(A, A) -> A + Sync, holds: impl Fn(&A, X) -> bool + Sync) -> Result<u64, String> {
    run(family.len(), |i| {
        let (a, xs) = &family[i];
        let mut n = 0;
        for (b, ys) in family {
            let m = abs(*a, *b);
            if let Some(x) = xs.iter().find(|&x| ys.binary_search(x).is_ok() && !holds(&m, *x)) {
                return Err(format!("a = {a:?}, b = {b:?}: {x:?} is not in the meet {m:?}"));
            }
            n += xs.len() as u64;
        }
        Ok(n)
    })
}

/// Every well-formed 8-bit tnum, with its members.
fn tnums() -> Vec<Member<Tnum<u8>, u8>> {
    let mut out = Vec::new();
    for mask in 0..=255u8 {
        for value in 0..=255u8 {
            if value & mask == 0 {
                let t = Tnum { value, mask };
                out.push((t, (0..=255u8).filter(|&x| t.contains(x)).collect()));
            }
        }
    }
    out
}

/// The values where 8-bit operators change behaviour: 0, 1, the powers of two and their
/// neighbours, the sign boundary, the top.
const ENDS8: [u8; 22] = [0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 100, 126, 127, 128, 129, 130, 192, 254, 255];

/// Bounds of `W` from a tnum (its limits as the ranges).
fn of_tnum<W: Word<C = bool>>(t: Tnum<W>) -> Bounds<W> {
    Bounds { var: t, umin: t.umin(), umax: t.umax(), smin: t.smin(), smax: t.smax() }
}

/// Each abstract value as given and reduced, with its members, without duplicates.
fn with_members<W: Word<C = bool> + PartialEq + Ord + Copy>(values: impl IntoIterator<Item = Bounds<W>>, all: impl Fn() -> Vec<W>) -> Vec<Member<Bounds<W>, W>> {
    let mut seen: Vec<Bounds<W>> = Vec::new();
    let words = all();
    for b in values {
        for v in [b, b.sync()] {
            if v.var.well_formed() && !seen.contains(&v) {
                seen.push(v);
            }
        }
    }
    seen.into_iter().map(|b| (b, words.iter().copied().filter(|&x| b.contains(x)).collect::<Vec<W>>())).filter(|(_, xs)| !xs.is_empty()).collect()
}

/// The bounds family at 8 bits.
fn bounds8() -> Vec<Member<Bounds<u8>, u8>> {
    let mut v: Vec<Bounds<u8>> = (0..=255u8).map(Bounds::konst).collect();
    for (i, &lo) in ENDS8.iter().enumerate() {
        for &hi in &ENDS8[i..] {
            v.push(Bounds::urange(lo, hi));
        }
    }
    let mut signed: Vec<u8> = ENDS8.to_vec();
    signed.sort_by_key(|&x| x as i8);
    for (i, &lo) in signed.iter().enumerate() {
        for &hi in &signed[i..] {
            v.push(Bounds::srange(lo, hi));
        }
    }
    for mask in [0x01u8, 0x06, 0x0f, 0x80, 0x81, 0xf0, 0x7f, 0xff] {
        for value in [0x00u8, 0x10, 0x41, 0x80, 0xa5, 0xfe] {
            v.push(of_tnum(Tnum { value: value & !mask, mask }));
        }
    }
    with_members(v, || (0..=255u8).collect())
}

/// The scalar family at 16/8 bits: ranges of 16-bit values at the places where the
/// halves and the sign boundaries meet (values that wrap their low half, cross 2^15,
/// or lie in one 256-value window), as given and reduced, with the low half's bounds
/// from the full ones by the reduction.
fn scalars16() -> Vec<Member<Scalar<u16>, u16>> {
    let starts = [0u16, 1, 0x7f, 0x80, 0xf0, 0xff, 0x100, 0x17f, 0x7ff0, 0x7fff, 0x8000, 0xfe80, 0xff00, 0xff80, 0xfffe, 0xffff];
    let mut v = Vec::new();
    for &lo in &starts {
        for w in [0u16, 1, 2, 17, 128, 255, 300] {
            let hi = lo.saturating_add(w);
            v.push(Bounds::urange(lo, hi));
            v.push(Bounds::srange(lo, (lo as i16).saturating_add(w as i16) as u16));
        }
    }
    for mask in [0x0003u16, 0x0081, 0x0f00, 0x8001, 0x00f0] {
        for value in [0u16, 0x1200, 0x80, 0xff00] {
            v.push(of_tnum(Tnum { value: value & !mask, mask }));
        }
    }
    let mut seen: Vec<Scalar<u16>> = Vec::new();
    for b in v {
        for s in [Scalar::of(b), Scalar::of(b).sync(), Scalar::of(b.sync()).sync()] {
            if s.full.var.well_formed() && s.low.var.well_formed() && !seen.contains(&s) {
                seen.push(s);
            }
        }
    }
    seen.into_iter().map(|s| (s, (0..=u16::MAX).filter(|&x| s.contains(x)).collect::<Vec<u16>>())).filter(|(_, xs)| !xs.is_empty()).collect()
}

fn in_tnum(t: &Tnum<u8>, x: u8) -> bool {
    t.well_formed() && t.contains(x)
}

fn in_bounds<W: Word<C = bool>>(b: &Bounds<W>, x: W) -> bool {
    b.var.well_formed() && b.contains(x)
}

fn in_scalar(s: &Scalar<u16>, x: u16) -> bool {
    s.full.var.well_formed() && s.low.var.well_formed() && s.contains(x)
}

/// One row of the report.
struct Row {
    name: String,
    result: Result<u64, String>,
    seconds: f64,
}

fn timed(rows: &mut Vec<Row>, name: impl Into<String>, f: impl FnOnce() -> Result<u64, String>) {
    let t = std::time::Instant::now();
    let result = f();
    rows.push(Row { name: name.into(), result, seconds: t.elapsed().as_secs_f64() });
}

fn c8(op: AluOp) -> impl Fn(u8, u8) -> u8 + Sync {
    move |x, y| op_at(op, 8, x as u64, y as u64) as u8
}

/// The binary operators tnums and bounds both write as `std::ops`.
fn ring_ops<A>() -> [Op<A>; 6]
where
    A: ops::Add<Output = A> + ops::Sub<Output = A> + ops::BitAnd<Output = A> + ops::BitOr<Output = A> + ops::BitXor<Output = A> + ops::Mul<Output = A>,
{
    [
        ("add", AluOp::Add, |a, b| a + b),
        ("sub", AluOp::Sub, |a, b| a - b),
        ("and", AluOp::And, |a, b| a & b),
        ("or", AluOp::Or, |a, b| a | b),
        ("xor", AluOp::Xor, |a, b| a ^ b),
        ("mul", AluOp::Mul, |a, b| a * b),
    ]
}

fn tnum_rows(rows: &mut Vec<Row>) {
    let all = tnums();
    println!("family: {} tnums", all.len());
    type T = Tnum<u8>;
    for (name, op, abs) in ring_ops::<T>() {
        timed(rows, format!("tnum {name}"), || binary(&all, abs, c8(op), in_tnum));
    }
    timed(rows, "tnum neg", || unary(&all, |a: T| -a, |x: u8| x.wrapping_neg(), in_tnum));
    timed(rows, "tnum shifts", || {
        (0..8).map(|n| Ok(unary(&all, |a: T| a << n, |x| c8(AluOp::Lsh)(x, n as u8), in_tnum)? + unary(&all, |a: T| a >> n, |x| c8(AluOp::Rsh)(x, n as u8), in_tnum)? + unary(&all, |a: T| a.sar(n), |x| c8(AluOp::Arsh)(x, n as u8), in_tnum)?)).sum()
    });
    // The join keeps every member of either, the meet every member of both.
    timed(rows, "tnum union", || either(&all, |a: T, b| a.union(b), in_tnum));
    timed(rows, "tnum intersect", || both(&all, |a: T, b| a.intersect(b), in_tnum));
    timed(rows, "tnum range", || {
        run(256, |lo| {
            for hi in lo..256 {
                let r = Tnum::range(lo as u8, hi as u8);
                if let Some(x) = (lo..=hi).find(|&x| !in_tnum(&r, x as u8)) {
                    return Err(format!("range({lo}, {hi}) = {r:?} leaves out {x}"));
                }
            }
            Ok(((256 - lo) * (257 - lo) / 2) as u64)
        })
    });
    timed(rows, "tnum limits", || {
        unary(&all, |a| a, |x| x, |a: &T, x| a.umin() <= x && x <= a.umax() && (a.smin() as i8) <= x as i8 && x as i8 <= a.smax() as i8)
    });
    timed(rows, "tnum low", || (1..8).map(|bits| unary(&all, |a: T| a.low(bits), |x: u8| x & ((1u8 << bits) - 1), in_tnum)).sum());
}

fn bounds_rows(rows: &mut Vec<Row>) {
    let fam = bounds8();
    println!("family: {} bounds, {} members", fam.len(), fam.iter().map(|(_, xs)| xs.len()).sum::<usize>());
    type B = Bounds<u8>;
    let division: [Op<B>; 2] = [("udiv", AluOp::Div, |a, b| a.udiv(b)), ("urem", AluOp::Mod, |a, b| a.urem(b))];
    for (name, op, abs) in ring_ops::<B>().into_iter().chain(division) {
        timed(rows, format!("bounds {name}"), || binary(&fam, abs, c8(op), in_bounds));
    }
    timed(rows, "bounds neg", || unary(&fam, |a: B| -a, |x: u8| x.wrapping_neg(), in_bounds));
    for (name, op) in [("shl", AluOp::Lsh), ("shr", AluOp::Rsh), ("sar", AluOp::Arsh)] {
        timed(rows, format!("bounds {name}"), || {
            (0..8u32)
                .map(|n| {
                    let abs = move |a: B| match op {
                        AluOp::Lsh => a << n,
                        AluOp::Rsh => a >> n,
                        _ => a.sar(n),
                    };
                    unary(&fam, abs, |x| c8(op)(x, n as u8), in_bounds)
                })
                .sum()
        });
    }
    timed(rows, "bounds reverse_bytes", || unary(&fam, |a: B| a.reverse_bytes(1), |x| x, in_bounds));
    timed(rows, "bounds sync", || unary(&fam, |a: B| a.sync(), |x| x, in_bounds));
    // Join and widening keep every member of either operand; the meet those of both.
    timed(rows, "bounds join", || either(&fam, |a: B, b| a.join(b), in_bounds));
    timed(rows, "bounds widen", || Ok(either(&fam, |a: B, b| a.widen(b), in_bounds)? + either(&fam, |a: B, b| a.widen_with(b, &[16, 100], &[0xff, 50]), in_bounds)?));
    timed(rows, "bounds meet", || both(&fam, |a: B, b| a.meet(b), in_bounds));
}

fn scalar_rows(rows: &mut Vec<Row>) {
    let fam = scalars16();
    println!("family: {} scalars, {} members", fam.len(), fam.iter().map(|(_, xs)| xs.len()).sum::<usize>());
    type S = Scalar<u16>;
    let lo = |x: u16| x & 0xff;
    for op in AluOp::ALL {
        let name = format!("{op:?}").to_lowercase();
        for w32 in [false, true] {
            // The amount as `scalar_op` takes it: `alu::shift_amount`, then `alu::number`.
            let abs = move |a: S, b: S| {
                let (one, n) = alu::shift_amount(w32, b);
                alu::number(op, w32, a, b, one.then_some(n as u32))
            };
            let conc = move |x: u16, y: u16| if w32 { op_at(op, 8, lo(x) as u64, lo(y) as u64) as u16 } else { op_at(op, 16, x as u64, y as u64) as u16 };
            timed(rows, format!("scalar alu{} {name}", if w32 { 32 } else { 64 }), || binary(&fam, abs, conc, in_scalar));
        }
    }
    timed(rows, "scalar neg64", || unary(&fam, |a: S| alu::negated(false, a), |x: u16| x.wrapping_neg(), in_scalar));
    timed(rows, "scalar neg32", || unary(&fam, |a: S| alu::negated(true, a), |x: u16| (x as u8).wrapping_neg() as u16, in_scalar));
    // movsx of the low 8 bits and 4 bits (the 16/8 model of movsx from 8, 16 and 32 bits).
    timed(rows, "scalar movsx64", || (1..=2).map(|k| unary(&fam, move |a: S| alu::sign_extended(false, 4 * k, a), move |x| semantics::sign_extend(x as u64, 4 * k) as u16, in_scalar)).sum());
    timed(rows, "scalar movsx32", || unary(&fam, |a: S| alu::sign_extended(true, 4, a), |x| (semantics::sign_extend(x as u64, 4) & 0xff) as u16, in_scalar));
    timed(rows, "scalar end", || {
        let le = unary(&fam, |a: S| alu::swapped(EndKind::Le, 8, a), |x| x & 0xff, in_scalar)?;
        let be = unary(&fam, |a: S| alu::swapped(EndKind::Be, 16, a), |x: u16| x.swap_bytes(), in_scalar)?;
        Ok(le + be)
    });
    timed(rows, "scalar sext_low", || unary(&fam, |a: S| a.sext_low(), |x| x as u8 as i8 as i16 as u16, in_scalar));
    timed(rows, "scalar zext_low", || unary(&fam, |a: S| a.zext_low(), lo, in_scalar));
    timed(rows, "scalar sync", || unary(&fam, |a: S| a.sync(), |x| x, in_scalar));
    timed(rows, "scalar pointer offset", || Ok(binary(&fam, |o, k| alu::offset(AluOp::Add, o, k), |x: u16, y| x.wrapping_add(y), in_scalar)? + binary(&fam, |o, k| alu::offset(AluOp::Sub, o, k), |x: u16, y| x.wrapping_sub(y), in_scalar)?));
    timed(rows, "scalar join", || either(&fam, |a: S, b| a.join(b), in_scalar));
    timed(rows, "scalar widen", || either(&fam, |a: S, b| a.widen(b), in_scalar));
    timed(rows, "scalar meet", || both(&fam, |a: S, b| a.meet(b), in_scalar));
    // Both branches of every condition at both widths keep every pair that takes them.
    let sx = |x: u16, bits: u32| semantics::sign_extend(x as u64, bits);
    for c in JmpCond::ALL {
        for wide in [true, false] {
            let name = format!("scalar j{}{}", format!("{c:?}").to_lowercase(), if wide { "" } else { "32" });
            timed(rows, name, || {
                run(fam.len(), |i| {
                    let (a, xs) = &fam[i];
                    let mut n = 0;
                    for (b, ys) in &fam {
                        for taken in [true, false] {
                            let (ra, rb) = refine(c, wide, taken, *a, *b);
                            for &x in xs {
                                for &y in ys {
                                    let holds = if wide { semantics::cond64(c, sx(x, 16), sx(y, 16)) } else { semantics::cond64(c, sx(lo(x), 8), sx(lo(y), 8)) };
                                    if holds == taken && !(ra.contains(x) && rb.contains(y)) {
                                        return Err(format!("a = {a:?}, b = {b:?}, x = {x}, y = {y}, taken = {taken}: not in ({ra:?}, {rb:?})"));
                                    }
                                }
                            }
                            n += (xs.len() * ys.len()) as u64;
                        }
                    }
                    Ok(n)
                })
            });
        }
    }
}

/// Every operator the proofs are about ([`rvbpf::smt::operators::required`]), checked
/// here by brute force; the report prints each with its count of concrete cases.
#[test]
fn every_operator_exhaustively_at_8_bits() {
    let mut rows = Vec::new();
    tnum_rows(&mut rows);
    bounds_rows(&mut rows);
    scalar_rows(&mut rows);
    let mut failed = Vec::new();
    let mut total = 0;
    for r in &rows {
        match &r.result {
            Ok(n) => {
                total += n;
                println!("{:<28} {n:>14} cases {:>7.2} s", r.name, r.seconds);
            }
            Err(e) => {
                println!("{:<28} FAILED {:>7.2} s: {e}", r.name, r.seconds);
                failed.push(format!("{}: {e}", r.name));
            }
        }
    }
    println!("{} operators, {total} concrete cases", rows.len());
    // The coverage gate: every operator the proofs must cover is checked here too.
    let missing: Vec<String> = rvbpf::smt::operators::required().into_iter().filter(|o| !rows.iter().any(|r| &r.name == o)).collect();
    assert!(missing.is_empty(), "operators without a brute-force check: {missing:?}");
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
