//! A scalar at one width: known bits (a [`Tnum`]) and unsigned and signed ranges, kept
//! consistent by one reduction step ([`Bounds::sync`]), as the Linux verifier keeps
//! `var_off` and `{u,s}{min,max}_value`.
//!
//! Each operator is stated on its own and is sound without the reduction (the SAS'24
//! lesson: a reducer must not be what makes an operator sound); `sync` only sharpens.
//! Everything is generic over the [`Word`] and branch-free in it, like the tnum algebra.

use core::ops;

use super::tnum::Tnum;
use super::word::{Cond, Word};

/// The values `x` with `var.contains(x)`, `umin <= x <= umax` (unsigned) and
/// `smin <= x <= smax` (signed). An abstract value whose parts exclude each other is
/// empty (a branch not taken), which [`Bounds::empty`] tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds<W> {
    pub var: Tnum<W>,
    pub umin: W,
    pub umax: W,
    pub smin: W,
    pub smax: W,
}

impl<W: Word> Bounds<W> {
    /// Exactly `c`.
    pub fn konst(c: W) -> Bounds<W> {
        Bounds { var: Tnum::konst(c), umin: c, umax: c, smin: c, smax: c }
    }

    /// Any value.
    pub fn unknown() -> Bounds<W> {
        Bounds { var: Tnum::unknown(), umin: W::zero(), umax: W::ones(), smin: W::smin(), smax: W::smax() }
    }

    /// `umin..=umax` (unsigned).
    pub fn urange(umin: W, umax: W) -> Bounds<W> {
        Bounds { umin, umax, ..Bounds::unknown() }.sync()
    }

    /// `smin..=smax` (signed).
    pub fn srange(smin: W, smax: W) -> Bounds<W> {
        Bounds { smin, smax, ..Bounds::unknown() }.sync()
    }

    /// `x` is one of the values.
    pub fn contains(self, x: W) -> W::C {
        self.var.contains(x).and(self.umin.ule(x)).and(x.ule(self.umax)).and(self.smin.sle(x)).and(x.sle(self.smax))
    }

    /// The ranges are ranges and the tnum is well formed (it may still be empty).
    pub fn well_formed(self) -> W::C {
        self.var.well_formed().and(self.umin.ule(self.umax)).and(self.smin.sle(self.smax))
    }

    /// No value at all: a range is inverted, or the parts have nothing in common that
    /// the reduction can see.
    pub fn empty(self) -> W::C {
        let s = self.sync();
        s.umax.ult(s.umin).or(s.smax.slt(s.smin)).or(s.var.well_formed().not())
    }

    /// Exactly one value.
    pub fn is_const(self) -> W::C {
        self.var.is_const()
    }

    /// The reduction: each part sharpened by the others (the kernel's
    /// `reg_bounds_sync`: bounds from the known bits, signed and unsigned ranges from
    /// each other where the range does not cross the sign boundary, known bits from the
    /// unsigned range, bounds from the known bits again).
    pub fn sync(self) -> Bounds<W> {
        let b = self.narrowed_by_bits();
        let b = b.deduce().deduce();
        let b = Bounds { var: b.var.intersect(Tnum::range(b.umin, b.umax)), ..b };
        b.narrowed_by_bits()
    }

    /// The ranges narrowed to what the known bits allow.
    fn narrowed_by_bits(self) -> Bounds<W> {
        Bounds {
            umin: self.umin.umax_of(self.var.umin()),
            umax: self.umax.umin_of(self.var.umax()),
            smin: self.smin.smax_of(self.var.smin()),
            smax: self.smax.smin_of(self.var.smax()),
            ..self
        }
    }

    /// Signed from unsigned and unsigned from signed, where the range stays on one side
    /// of the sign boundary (then both orders agree on it).
    fn deduce(self) -> Bounds<W> {
        let same_sign = |lo: W, hi: W| lo.xor(hi).slt(W::zero()).not();
        let s_one_side = same_sign(self.smin, self.smax);
        let umin = W::select(s_one_side, self.umin.umax_of(self.smin), self.umin);
        let umax = W::select(s_one_side, self.umax.umin_of(self.smax), self.umax);
        let u_one_side = same_sign(umin, umax);
        let smin = W::select(u_one_side, self.smin.smax_of(umin), self.smin);
        let smax = W::select(u_one_side, self.smax.smin_of(umax), self.smax);
        Bounds { umin, umax, smin, smax, ..self }
    }

    /// Every value of either (the join).
    pub fn join(self, o: Bounds<W>) -> Bounds<W> {
        Bounds { var: self.var.union(o.var), umin: self.umin.umin_of(o.umin), umax: self.umax.umax_of(o.umax), smin: self.smin.smin_of(o.smin), smax: self.smax.smax_of(o.smax) }
    }

    /// The values both allow (the meet).
    pub fn meet(self, o: Bounds<W>) -> Bounds<W> {
        Bounds { var: self.var.intersect(o.var), umin: self.umin.umax_of(o.umin), umax: self.umax.umin_of(o.umax), smin: self.smin.smax_of(o.smin), smax: self.smax.smin_of(o.smax) }
    }

    /// Shifts right by a constant amount (less than the width), arithmetic.
    pub fn sar(self, n: u32) -> Bounds<W> {
        // Signed order is kept by an arithmetic shift.
        Bounds { var: self.var.sar(n), smin: self.smin.sar(n), smax: self.smax.sar(n), ..Bounds::unknown() }.narrowed_by_bits()
    }

    /// Widening: each bound that `newer` moved goes to the end of its range, and known
    /// bits that differ become unknown, so a loop's iteration ends.
    pub fn widen(self, newer: Bounds<W>) -> Bounds<W> {
        self.widen_with(newer, &[], &[])
    }

    /// Widening with thresholds: a bound that `newer` moved goes only as far as the
    /// nearest threshold past `newer`'s bound (`by_u` in unsigned order, `by_s` in signed
    /// order, each ascending), the end of the range past the last one. There are finitely
    /// many, so a loop's iteration still ends.
    pub fn widen_with(self, newer: Bounds<W>, by_u: &[W], by_s: &[W]) -> Bounds<W> {
        // The smallest threshold at or above `x`, the largest at or below it.
        let above_u = |x: W| by_u.iter().rev().fold(W::ones(), |c, &k| W::select(x.ule(k), k, c));
        let below_u = |x: W| by_u.iter().fold(W::zero(), |c, &k| W::select(k.ule(x), k, c));
        let above_s = |x: W| by_s.iter().rev().fold(W::smax(), |c, &k| W::select(x.sle(k), k, c));
        let below_s = |x: W| by_s.iter().fold(W::smin(), |c, &k| W::select(k.sle(x), k, c));
        // The bits: every bit from the lowest one that differs upward becomes unknown,
        // in one step; the low bits both agree on stay (a counter that moves by 4 stays
        // a multiple of 4).
        let u = self.var.union(newer.var);
        let lowest = u.mask.and(W::zero().sub(u.mask));
        let mask = W::zero().sub(lowest);
        Bounds {
            var: Tnum::select(self.var.includes(newer.var), self.var, Tnum { value: u.value.and(mask.not()), mask }),
            umin: W::select(newer.umin.ult(self.umin), below_u(newer.umin), self.umin),
            umax: W::select(self.umax.ult(newer.umax).and(W::C::truth(!crate::verifier_bug!(WideningNarrows))), above_u(newer.umax), self.umax),
            smin: W::select(newer.smin.slt(self.smin), below_s(newer.smin), self.smin),
            smax: W::select(self.smax.slt(newer.smax), above_s(newer.smax), self.smax),
        }
    }

    /// `a / b` unsigned (by 0: 0): at most `a`, and exact bounds when `b` is one
    /// non-zero value.
    pub fn udiv(self, o: Bounds<W>) -> Bounds<W> {
        let k = o.var.value;
        let by_const = o.is_const().and(k.eq(W::zero()).not());
        let umin = W::select(by_const, self.umin.udiv(k), W::zero());
        let umax = W::select(by_const, self.umax.udiv(k), W::select(o.umax.eq(W::zero()), W::zero(), self.umax));
        Bounds { umin, umax, ..Bounds::unknown() }.sync()
    }

    /// `a % b` unsigned (by 0: `a`): at most `a`, and below `b` when `b` cannot be 0.
    pub fn urem(self, o: Bounds<W>) -> Bounds<W> {
        let nonzero = o.umin.eq(W::zero()).not();
        let umax = W::select(nonzero, self.umax.umin_of(o.umax.sub(W::lit(1))), self.umax);
        // Below the divisor: when `a` is already below it, `a % b == a`.
        let below = self.umax.ult(o.umin);
        Bounds::select(below, self, Bounds { umin: W::zero(), umax, ..Bounds::unknown() }.sync())
    }

    /// The low `bytes` bytes in reverse order: the known bits move with their bytes.
    pub fn reverse_bytes(self, bytes: u32) -> Bounds<W> {
        Bounds { var: Tnum { value: self.var.value.reverse_bytes(bytes), mask: self.var.mask.reverse_bytes(bytes) }, ..Bounds::unknown() }.narrowed_by_bits()
    }

    /// `c ? a : b`, part by part.
    pub fn select(c: W::C, a: Bounds<W>, b: Bounds<W>) -> Bounds<W> {
        Bounds {
            var: Tnum::select(c, a.var, b.var),
            umin: W::select(c, a.umin, b.umin),
            umax: W::select(c, a.umax, b.umax),
            smin: W::select(c, a.smin, b.smin),
            smax: W::select(c, a.smax, b.smax),
        }
    }
}

impl<W: Word> ops::Add for Bounds<W> {
    type Output = Bounds<W>;
    /// `a + b`, wrapping. A range whose bounds' sums overflow differently is unknown.
    fn add(self, o: Bounds<W>) -> Bounds<W> {
        let (lo, hi) = (self.umin.add(o.umin), self.umax.add(o.umax));
        // Unsigned: the sum of the maxima wraps only if some sum does; all wrap or none.
        let u_wraps = hi.ult(self.umax);
        let u_all = lo.ult(self.umin);
        let u_keep = u_wraps.not().or(u_all);
        let (slo, shi) = (self.smin.add(o.smin), self.smax.add(o.smax));
        let s_keep = signed_add_same_wrap(self.smin, o.smin, self.smax, o.smax);
        Bounds {
            var: self.var + o.var,
            umin: W::select(u_keep, lo, W::zero()),
            umax: W::select(u_keep, hi, W::ones()),
            smin: W::select(s_keep, slo, W::smin()),
            smax: W::select(s_keep, shi, W::smax()),
        }
    }
}

impl<W: Word> ops::Sub for Bounds<W> {
    type Output = Bounds<W>;
    /// `a - b`, wrapping.
    fn sub(self, o: Bounds<W>) -> Bounds<W> {
        let (lo, hi) = (self.umin.sub(o.umax), self.umax.sub(o.umin));
        // No borrow anywhere when the smallest difference does not borrow; all borrow
        // when the largest does.
        let none = o.umax.ule(self.umin);
        let all = self.umax.ult(o.umin);
        let u_keep = if crate::verifier_bug!(SubIgnoresWrap) { W::C::truth(true) } else { none.or(all) };
        let (slo, shi) = (self.smin.sub(o.smax), self.smax.sub(o.smin));
        let s_keep = signed_sub_same_wrap(self.smin, o.smax, self.smax, o.smin);
        Bounds {
            var: self.var - o.var,
            umin: W::select(u_keep, lo, W::zero()),
            umax: W::select(u_keep, hi, W::ones()),
            smin: W::select(s_keep, slo, W::smin()),
            smax: W::select(s_keep, shi, W::smax()),
        }
    }
}

impl<W: Word> ops::BitAnd for Bounds<W> {
    type Output = Bounds<W>;
    /// Bitwise operations: the known bits, and the ranges they give.
    fn bitand(self, o: Bounds<W>) -> Bounds<W> {
        // The result is at most either operand (unsigned).
        let b = Bounds { var: self.var & o.var, ..Bounds::unknown() }.narrowed_by_bits();
        Bounds { umax: b.umax.umin_of(self.umax).umin_of(o.umax), ..b }
    }
}

impl<W: Word> ops::BitOr for Bounds<W> {
    type Output = Bounds<W>;
    fn bitor(self, o: Bounds<W>) -> Bounds<W> {
        // The result is at least either operand (unsigned).
        let b = Bounds { var: self.var | o.var, ..Bounds::unknown() }.narrowed_by_bits();
        Bounds { umin: b.umin.umax_of(self.umin).umax_of(o.umin), ..b }
    }
}

impl<W: Word> ops::BitXor for Bounds<W> {
    type Output = Bounds<W>;
    fn bitxor(self, o: Bounds<W>) -> Bounds<W> {
        Bounds { var: self.var ^ o.var, ..Bounds::unknown() }.narrowed_by_bits()
    }
}

impl<W: Word> ops::Mul for Bounds<W> {
    type Output = Bounds<W>;
    /// `a * b`, wrapping: the known bits, and exact unsigned bounds when the product of
    /// the maxima fits (both operands below 2^(BITS/2)).
    fn mul(self, o: Bounds<W>) -> Bounds<W> {
        let half = W::lit(1).shl(W::BITS / 2);
        let small = self.umax.ult(half).and(o.umax.ult(half));
        let b = Bounds { var: self.var * o.var, ..Bounds::unknown() }.narrowed_by_bits();
        Bounds { umin: W::select(small, b.umin.umax_of(self.umin.mul(o.umin)), b.umin), umax: W::select(small, b.umax.umin_of(self.umax.mul(o.umax)), b.umax), ..b }
    }
}

impl<W: Word> ops::Neg for Bounds<W> {
    type Output = Bounds<W>;
    fn neg(self) -> Bounds<W> {
        Bounds::konst(W::zero()) - self
    }
}

impl<W: Word> ops::Shl<u32> for Bounds<W> {
    type Output = Bounds<W>;
    /// Shifts by a constant amount (less than the width): the known bits decide.
    fn shl(self, n: u32) -> Bounds<W> {
        Bounds { var: self.var << n, ..Bounds::unknown() }.narrowed_by_bits()
    }
}

impl<W: Word> ops::Shr<u32> for Bounds<W> {
    type Output = Bounds<W>;
    fn shr(self, n: u32) -> Bounds<W> {
        // Unsigned order is kept by a logical shift.
        Bounds { var: self.var >> n, umin: self.umin.shr(n), umax: self.umax.shr(n), ..Bounds::unknown() }.narrowed_by_bits()
    }
}

/// Whether `lo = a1 + b1` and `hi = a2 + b2` (with `a1 <= a2`, `b1 <= b2` signed) wrap
/// the same number of times: then every sum in between lies in `lo..=hi`. Signed
/// addition wraps at most once either way; neither wraps exactly when both stay in range.
fn signed_add_same_wrap<W: Word>(a1: W, b1: W, a2: W, b2: W) -> W::C {
    let overflows = |a: W, b: W| {
        let s = a.add(b);
        // Same-signed operands whose sum has the other sign.
        a.xor(s).and(b.xor(s)).slt(W::zero())
    };
    overflows(a1, b1).not().and(overflows(a2, b2).not())
}

/// The same for `lo = a1 - b1`, `hi = a2 - b2` (with `b1` the largest subtrahend).
fn signed_sub_same_wrap<W: Word>(a1: W, b1: W, a2: W, b2: W) -> W::C {
    let overflows = |a: W, b: W| {
        let d = a.sub(b);
        // Operands of different signs whose difference has the subtrahend's sign.
        a.xor(b).and(a.xor(d)).slt(W::zero())
    };
    overflows(a1, b1).not().and(overflows(a2, b2).not())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::test_rng::Rng;
    use crate::verifier::domain::check;

    type B8 = Bounds<u8>;

    /// A random 8-bit abstract value with at least one member, and its members.
    fn pick(rng: &mut Rng) -> (B8, Vec<u8>) {
        loop {
            let mask = (rng.next() & rng.next()) as u8;
            let var = Tnum { value: rng.next() as u8 & !mask, mask };
            let (a, b) = (rng.next() as u8, rng.next() as u8);
            let (c, d) = (rng.next() as i8, rng.next() as i8);
            let full = rng.next() % 3;
            let b = Bounds {
                var,
                umin: if full == 0 { 0 } else { a.min(b) },
                umax: if full == 0 { 255 } else { a.max(b) },
                smin: if full == 1 { 0x80 } else { c.min(d) as u8 },
                smax: if full == 1 { 0x7f } else { c.max(d) as u8 },
            };
            let members: Vec<u8> = (0..=255u8).filter(|&x| b.contains(x)).collect();
            if !members.is_empty() {
                return (b, members);
            }
        }
    }

    fn sound2(name: &str, op: fn(B8, B8) -> B8, concrete: fn(u8, u8) -> u8) {
        check::sound2(name, 4000, pick, op, concrete, |r, x| r.contains(x));
    }

    #[test]
    fn arithmetic_and_bitwise_ops_are_sound_at_8_bits() {
        for (name, op, concrete) in check::ring_ops::<B8, u8>() {
            sound2(name, op, concrete);
        }
    }

    #[test]
    fn division_and_remainder_are_sound_at_8_bits() {
        sound2("udiv", B8::udiv, |x, y| x.checked_div(y).unwrap_or(0));
        sound2("urem", B8::urem, |x, y| x.checked_rem(y).unwrap_or(x));
    }

    #[test]
    fn shifts_and_neg_are_sound_at_8_bits() {
        let mut rng = Rng(3);
        for _ in 0..4000 {
            let (a, xs) = pick(&mut rng);
            for n in 0..8 {
                for &x in &xs {
                    assert!((a << n).contains(x << n), "shl {a:?} {n} misses {x:#x}");
                    assert!((a >> n).contains(x >> n), "shr {a:?} {n} misses {x:#x}");
                    assert!(a.sar(n).contains(((x as i8) >> n) as u8), "sar {a:?} {n} misses {x:#x}");
                }
            }
            for &x in &xs {
                assert!((-a).contains(x.wrapping_neg()), "neg {a:?} misses {x:#x}");
            }
        }
    }

    #[test]
    fn sync_keeps_every_member_and_join_meet_are_sound() {
        let mut rng = Rng(5);
        for _ in 0..4000 {
            let ((a, xs), (b, ys)) = (pick(&mut rng), pick(&mut rng));
            let s = a.sync();
            for &x in &xs {
                assert!(s.contains(x), "sync({a:?}) = {s:?} drops {x:#x}");
            }
            assert!(!a.empty(), "{a:?} has members but is called empty");
            let j = a.join(b);
            assert!(xs.iter().chain(&ys).all(|&x| j.contains(x)), "{a:?} ⊔ {b:?} = {j:?}");
            let m = a.meet(b);
            assert!(xs.iter().filter(|x| ys.contains(x)).all(|&x| m.contains(x)), "{a:?} ⊓ {b:?} = {m:?}");
        }
    }

    #[test]
    fn widening_holds_both_and_stabilises() {
        let mut rng = Rng(9);
        for _ in 0..4000 {
            let ((a, xs), (b, ys)) = (pick(&mut rng), pick(&mut rng));
            let w = a.widen(a.join(b));
            assert!(xs.iter().chain(&ys).all(|&x| w.contains(x)), "{a:?} ∇ {b:?} = {w:?}");
            // Widening again by anything it holds changes nothing.
            assert_eq!(w.widen(w.join(a)), w);
            // With thresholds: still both, and at most as wide.
            let by_u: Vec<u8> = { let mut t = vec![rng.next() as u8, rng.next() as u8, 9]; t.sort(); t };
            let by_s: Vec<u8> = { let mut t = by_u.clone(); t.sort_by_key(|&x| x as i8); t };
            let t = a.widen_with(a.join(b), &by_u, &by_s);
            assert!(xs.iter().chain(&ys).all(|&x| t.contains(x)), "{a:?} ∇ {b:?} = {t:?} with {by_u:?}");
            assert!(t.umax <= w.umax && t.umin >= w.umin && (t.smax as i8) <= (w.smax as i8) && (t.smin as i8) >= (w.smin as i8));
        }
    }

    #[test]
    fn sync_sharpens() {
        // [16, 31] unsigned: the upper bits are known, the signed range follows.
        let b = Bounds::<u64>::urange(16, 31);
        assert_eq!(b.var, Tnum { value: 16, mask: 15 });
        assert_eq!((b.smin, b.smax), (16, 31));
        // A known-small signed range gives the unsigned one.
        let b = Bounds::<u64>::srange(0, 100);
        assert_eq!((b.umin, b.umax), (0, 100));
        assert_eq!(Bounds::konst(7u64) + Bounds::konst(5), Bounds::konst(12));
    }
}
