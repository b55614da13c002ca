//! What a conditional jump teaches about its operands, on each branch.
//!
//! [`refine`] takes the operands of `if a <cond> b` and returns them narrowed to the
//! values for which the condition holds; the fall-through gets the negated condition.
//! At 64 bits (JMP) the full values are narrowed; at 32 bits (JMP32) only the low
//! halves, and the full values follow through the reduction. Each narrowing keeps every
//! pair of values that takes the branch (it may keep more); an operand pair that can
//! never take the branch may come out [`Bounds::empty`].

use super::bounds::Bounds;
use super::scalar::{Scalar, Wide};
use super::tnum::Tnum;
use super::word::{Cond, Word};
use crate::isa::JmpCond;

/// The condition with its operands swapped: `a <c> b` exactly when `b <swapped(c)> a`.
pub fn swapped(c: JmpCond) -> JmpCond {
    use JmpCond::*;
    match c {
        Lt => Gt,
        Gt => Lt,
        Le => Ge,
        Ge => Le,
        Slt => Sgt,
        Sgt => Slt,
        Sle => Sge,
        Sge => Sle,
        Eq | Ne | Set => c,
    }
}

/// The condition that holds on the other branch (`Set`'s other branch, `a & b == 0`, has
/// no [`JmpCond`]: it is `None`).
pub fn negate(c: JmpCond) -> Option<JmpCond> {
    use JmpCond::*;
    Some(match c {
        Eq => Ne,
        Ne => Eq,
        Gt => Le,
        Ge => Lt,
        Lt => Ge,
        Le => Gt,
        Sgt => Sle,
        Sge => Slt,
        Slt => Sge,
        Sle => Sgt,
        Set => return None,
    })
}

/// The operands narrowed to the pairs for which `cond` holds (`taken`), or fails.
pub fn refine<W: Wide>(cond: JmpCond, wide: bool, taken: bool, a: Scalar<W>, b: Scalar<W>) -> (Scalar<W>, Scalar<W>) {
    if wide {
        let (x, y) = bounds(cond, taken, a.full, b.full);
        (Scalar { full: x, ..a }.sync(), Scalar { full: y, ..b }.sync())
    } else {
        let cond = if crate::verifier_bug!(Jmp32SignedAsUnsigned) { unsigned(cond) } else { cond };
        let (x, y) = bounds(cond, taken, a.low, b.low);
        (Scalar { low: x, ..a }.sync(), Scalar { low: y, ..b }.sync())
    }
}

/// The unsigned condition of the same order (a seeded bug's confusion).
fn unsigned(c: JmpCond) -> JmpCond {
    use JmpCond::*;
    match c {
        Sgt => Gt,
        Sge => Ge,
        Slt => Lt,
        Sle => Le,
        _ => c,
    }
}

/// [`refine`] at one width: the [`narrowed`] operands, each reduced.
pub fn bounds<W: Word>(cond: JmpCond, taken: bool, a: Bounds<W>, b: Bounds<W>) -> (Bounds<W>, Bounds<W>) {
    let (x, y) = narrowed(cond, taken, a, b);
    (x.sync(), y.sync())
}

/// The operands narrowed by the branch at one width, without the reduction after it
/// (the operator alone, which the operator proofs prove sound on its own).
pub fn narrowed<W: Word>(cond: JmpCond, taken: bool, a: Bounds<W>, b: Bounds<W>) -> (Bounds<W>, Bounds<W>) {
    use JmpCond::*;
    let c = if taken {
        cond
    } else {
        match negate(cond) {
            Some(n) => n,
            None => return set_clear(a, b),
        }
    };
    let never = |x: Bounds<W>| Bounds { umin: W::ones(), umax: W::zero(), ..x };
    let one = W::lit(1);
    let (x, y) = match c {
        Eq => {
            let m = a.meet(b);
            (m, m)
        }
        // Two equal known values are never unequal.
        Ne => {
            let same = a.is_const().and(b.is_const()).and(a.var.value.eq(b.var.value));
            (Bounds::select(same, never(a), not_equal(a, b)), Bounds::select(same, never(b), not_equal(b, a)))
        }
        // a < b: a below b's largest, b above a's smallest.
        Lt => (Bounds { umax: a.umax.umin_of(b.umax.sub(one)), ..a }, Bounds { umin: b.umin.umax_of(a.umin.add(one)), ..b }),
        Le => (Bounds { umax: a.umax.umin_of(b.umax), ..a }, Bounds { umin: b.umin.umax_of(a.umin), ..b }),
        Gt => mirrored(Lt, b, a),
        Ge => mirrored(Le, b, a),
        Slt => (Bounds { smax: a.smax.smin_of(b.smax.sub(one)), ..a }, Bounds { smin: b.smin.smax_of(a.smin.add(one)), ..b }),
        Sle => (Bounds { smax: a.smax.smin_of(b.smax), ..a }, Bounds { smin: b.smin.smax_of(a.smin), ..b }),
        Sgt => mirrored(Slt, b, a),
        Sge => mirrored(Sle, b, a),
        // Some common bit set: impossible when no bit may be set in both; nothing to
        // learn about either alone otherwise.
        Set => {
            let may = a.var.value.or(a.var.mask).and(b.var.value.or(b.var.mask));
            let none = may.eq(W::zero());
            (Bounds::select(none, never(a), a), Bounds::select(none, never(b), b))
        }
    };
    // `b.umax - 1` wraps when b.umax is 0 (then a < b never holds), and likewise at the
    // signed minimum: the wrapped bound is the whole range again, which keeps the
    // narrowing sound; that the branch is never taken is said here.
    let none = match c {
        Lt => a.umin.ult(b.umax).not(),
        Le => b.umax.ult(a.umin),
        Slt => a.smin.slt(b.smax).not(),
        Sle => b.smax.slt(a.smin),
        _ => <W::C as Cond>::truth(false),
    };
    (Bounds::select(none, never(x), x), Bounds::select(none, never(y), y))
}

/// `a > b` as `b < a` (and so on): the narrowing of the mirrored condition, its
/// results swapped back.
fn mirrored<W: Word>(c: JmpCond, b: Bounds<W>, a: Bounds<W>) -> (Bounds<W>, Bounds<W>) {
    let (y, x) = narrowed(c, true, b, a);
    (x, y)
}

/// `a` where it cannot equal `b`: a bound of `a` that equals the constant `b` moves in by
/// one.
fn not_equal<W: Word>(a: Bounds<W>, b: Bounds<W>) -> Bounds<W> {
    let one = W::lit(1);
    let k = b.var.value;
    let konst = b.is_const();
    let bump = |at: W::C, v: W, by: W| W::select(konst.and(at), v.add(by), v);
    Bounds {
        umin: bump(a.umin.eq(k).and(a.umin.ult(a.umax)), a.umin, one),
        umax: bump(a.umax.eq(k).and(a.umin.ult(a.umax)), a.umax, W::ones()),
        smin: bump(a.smin.eq(k).and(a.smin.slt(a.smax)), a.smin, one),
        smax: bump(a.smax.eq(k).and(a.smin.slt(a.smax)), a.smax, W::ones()),
        ..a
    }
}

/// `a & b == 0` with `b` one value: `a`'s bits where `b` has ones are 0 (and the same for
/// `b` when `a` is one value).
fn set_clear<W: Word>(a: Bounds<W>, b: Bounds<W>) -> (Bounds<W>, Bounds<W>) {
    // A bit known set in both: the test always succeeds, so this branch never happens.
    let always = a.var.value.and(b.var.value).eq(W::zero()).not();
    let never = |x: Bounds<W>| Bounds::select(always, Bounds { umin: W::ones(), umax: W::zero(), ..x }, x);
    let (x, y) = set_clear_bits(a, b);
    (never(x), never(y))
}

fn set_clear_bits<W: Word>(a: Bounds<W>, b: Bounds<W>) -> (Bounds<W>, Bounds<W>) {
    let clear = |x: Bounds<W>, k: Bounds<W>| {
        let zeros = Tnum { value: W::zero(), mask: k.var.value.not() };
        Bounds::select(k.is_const(), Bounds { var: x.var.intersect(zeros), ..x }, x)
    };
    (clear(a, b), clear(b, a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::test_rng::Rng;

    type S = Scalar<u16>;

    #[test]
    fn swapped_conditions_hold_of_swapped_operands() {
        use crate::semantics::cond64;
        let vals = [0u64, 1, 2, u64::MAX, 1 << 63, (1 << 63) - 1, 7];
        for c in JmpCond::ALL {
            for a in vals {
                for b in vals {
                    assert_eq!(cond64(c, a, b), cond64(swapped(c), b, a), "{c:?} {a} {b}");
                }
            }
        }
    }

    fn holds(c: JmpCond, wide: bool, x: u16, y: u16) -> bool {
        let (x, y) = if wide { (x, y) } else { (x & 0xff, y & 0xff) };
        let bits = if wide { 16 } else { 8 };
        let s = |v: u16| ((v << (16 - bits)) as i16) >> (16 - bits);
        match c {
            JmpCond::Eq => x == y,
            JmpCond::Ne => x != y,
            JmpCond::Gt => x > y,
            JmpCond::Ge => x >= y,
            JmpCond::Lt => x < y,
            JmpCond::Le => x <= y,
            JmpCond::Sgt => s(x) > s(y),
            JmpCond::Sge => s(x) >= s(y),
            JmpCond::Slt => s(x) < s(y),
            JmpCond::Sle => s(x) <= s(y),
            JmpCond::Set => x & y != 0,
        }
    }

    fn pick(rng: &mut Rng) -> (S, Vec<u16>) {
        let n = 1 + rng.next() % 5;
        let base = rng.next() as u16;
        let spread = [1u64, 3, 16, 256, 65536][(rng.next() % 5) as usize];
        let xs: Vec<u16> = (0..n).map(|_| base.wrapping_add((rng.next() % spread) as u16)).collect();
        (xs.iter().fold(S::konst(xs[0]), |acc, &x| acc.join(S::konst(x))), xs)
    }

    #[test]
    fn both_branches_keep_every_pair_that_takes_them() {
        let mut rng = Rng(0xb7a);
        for _ in 0..20_000 {
            let ((a, xs), (b, ys)) = (pick(&mut rng), pick(&mut rng));
            for c in JmpCond::ALL {
                for wide in [true, false] {
                    for taken in [true, false] {
                        let (ra, rb) = refine(c, wide, taken, a, b);
                        for &x in &xs {
                            for &y in &ys {
                                if holds(c, wide, x, y) == taken {
                                    assert!(ra.contains(x) && rb.contains(y), "{c:?} wide={wide} taken={taken}: {a:?} {b:?} -> {ra:?} {rb:?} drops ({x:#x}, {y:#x})");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn refinement_narrows() {
        let a = Scalar::<u64>::of(Bounds::urange(0, 1000));
        let k = Scalar::konst(100);
        let (t, _) = refine(JmpCond::Lt, true, true, a, k);
        assert_eq!((t.full.umin, t.full.umax), (0, 99));
        let (f, _) = refine(JmpCond::Lt, true, false, a, k);
        assert_eq!((f.full.umin, f.full.umax), (100, 1000));
        let (ne, _) = refine(JmpCond::Ne, true, true, Scalar::<u64>::of(Bounds::urange(0, 9)), Scalar::konst(0));
        assert_eq!(ne.full.umin, 1);
        let (clear, _) = refine(JmpCond::Set, true, false, Scalar::<u64>::unknown(), Scalar::konst(0xf0));
        assert_eq!(clear.full.var.mask & 0xf0, 0);
        // JMP32 narrows the low half; a 64-bit value known below 2^32 follows.
        let (w, _) = refine(JmpCond::Le, false, true, Scalar::<u64>::of(Bounds::urange(0, u32::MAX as u64)), Scalar::konst(7));
        assert_eq!((w.full.umin, w.full.umax), (0, 7));
    }
}
