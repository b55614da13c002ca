//! A register's scalar value: its 64 bits and its low 32 bits, each a [`Bounds`], kept
//! consistent with each other (the kernel keeps `var_off` with 64-bit and 32-bit
//! ranges; here each width has its own tnum and ranges, and [`Scalar::sync`] passes what
//! one width knows to the other).
//!
//! ALU operations come at both widths: a 64-bit operation computes the full value (and
//! the low half directly where the low bits of the result depend only on the low bits
//! of the operands); a 32-bit operation computes the low half and zero-extends it, as
//! the ISA defines. Generic over a [`Wide`] word and its half, branch-free.

use alloc::vec::Vec;
use core::ops;

use super::bounds::Bounds;
use super::tnum::Tnum;
use super::word::{Cond, Word};

/// A word with a half-width word: u64 and u32 for the verifier, u16 and u8 for exhaustive
/// checks, 64- and 32-bit vectors for proofs. Conditions on both are the same type.
pub trait Wide: Word {
    type Half: Word<C = Self::C>;
    /// The low half.
    fn low(self) -> Self::Half;
    /// `h` zero-extended.
    fn zext(h: Self::Half) -> Self;
    /// `h` sign-extended.
    fn sext(h: Self::Half) -> Self;
    /// Whether [`Scalar::sync`] reduces (always, but for the operator proofs, which
    /// prove each operator once without its reduction: `smt::scalars`).
    fn reduces() -> bool {
        true
    }
}

macro_rules! wide {
    ($w:ty, $h:ty, $hs:ty, $ws:ty) => {
        impl Wide for $w {
            type Half = $h;
            fn low(self) -> $h {
                self as $h
            }
            fn zext(h: $h) -> $w {
                h as $w
            }
            fn sext(h: $h) -> $w {
                h as $hs as $ws as $w
            }
        }
    };
}

wide!(u64, u32, i32, i64);
wide!(u16, u8, i8, i16);

/// An operation on bounds of one width.
pub type BinOp<W> = fn(Bounds<W>, Bounds<W>) -> Bounds<W>;

/// The values `x` the full bounds allow whose low half the low bounds allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scalar<W: Wide> {
    pub full: Bounds<W>,
    pub low: Bounds<W::Half>,
}

/// The half-width bounds of values whose low half lies in `b`, zero-extended.
fn zext_bounds<W: Wide>(b: Bounds<W::Half>) -> Bounds<W> {
    let (umin, umax) = (W::zext(b.umin), W::zext(b.umax));
    // Zero-extended values are non-negative: the signed range is the unsigned one.
    Bounds { var: Tnum { value: W::zext(b.var.value), mask: W::zext(b.var.mask) }, umin, umax, smin: umin, smax: umax }
}

/// The low halves of the values of `b`, as far as `b` tells them.
fn low_bounds<W: Wide>(b: Bounds<W>) -> Bounds<W::Half> {
    let var = Tnum { value: b.var.value.low(), mask: b.var.mask.low() };
    let mut out = Bounds { var, ..Bounds::unknown() };
    // A range within one 2^half window keeps its order in the low halves.
    let half = <W::Half as Word>::BITS;
    let same_window = |lo: W, hi: W| lo.shr(half).eq(hi.shr(half));
    let u = if crate::verifier_bug!(Alu32BoundsFrom64) { <W::C as Cond>::truth(true) } else { same_window(b.umin, b.umax) };
    out.umin = <W::Half as Word>::select(u, b.umin.low(), out.umin);
    out.umax = <W::Half as Word>::select(u, b.umax.low(), out.umax);
    let s = same_window(b.smin, b.smax);
    let (umin, umax) = (out.umin.umax_of(b.smin.low()), out.umax.umin_of(b.smax.low()));
    out.umin = <W::Half as Word>::select(s, umin, out.umin);
    out.umax = <W::Half as Word>::select(s, umax, out.umax);
    // Values that fit the half's signed range have the same low halves, signed.
    let fits = W::sext(b.smin.low()).eq(b.smin).and(W::sext(b.smax.low()).eq(b.smax));
    out.smin = <W::Half as Word>::select(fits, b.smin.low(), out.smin);
    out.smax = <W::Half as Word>::select(fits, b.smax.low(), out.smax);
    out
}

/// One step of the reduction between the widths.
pub type Step<W> = fn(Scalar<W>) -> Scalar<W>;

/// The reduction [`Scalar::sync`] as its steps, each of which keeps every member (the
/// operator proofs prove each on its own: `smt::scalars`).
pub fn sync_steps<W: Wide>() -> [Step<W>; 5] {
    [
        // The low half from what the full value tells of it, then its own parts.
        |s| Scalar { low: s.low.meet(low_bounds::<W>(s.full.sync())).sync(), ..s },
        // The full value's low bits are the low half's.
        |s| {
            let half_mask = W::zext(<W::Half as Word>::ones());
            let high = Tnum { value: s.full.var.value.and(half_mask.not()), mask: s.full.var.mask.and(half_mask.not()) };
            let low_bits = Tnum { value: W::zext(s.low.var.value), mask: W::zext(s.low.var.mask) };
            let var = s.full.var.intersect(Tnum { value: high.value.or(low_bits.value), mask: high.mask.or(low_bits.mask) });
            Scalar { full: Bounds { var, ..s.full }, ..s }
        },
        |s| Scalar { full: s.full.sync(), ..s },
        // With the high half known to one value, the full range is the low half's range
        // under it.
        |s| {
            let half = <W::Half as Word>::BITS;
            let half_mask = W::zext(<W::Half as Word>::ones());
            let b = s.full;
            let hi_known = b.umin.shr(half).eq(b.umax.shr(half));
            let base = b.umin.and(half_mask.not());
            let full = Bounds {
                umin: W::select(hi_known, b.umin.umax_of(base.or(W::zext(s.low.umin))), b.umin),
                umax: W::select(hi_known, b.umax.umin_of(base.or(W::zext(s.low.umax))), b.umax),
                ..b
            };
            Scalar { full, ..s }
        },
        |s| Scalar { full: s.full.sync(), ..s },
    ]
}

impl<W: Wide> Scalar<W> {
    pub fn konst(c: W) -> Scalar<W> {
        Scalar { full: Bounds::konst(c), low: Bounds::konst(c.low()) }
    }

    pub fn unknown() -> Scalar<W> {
        Scalar { full: Bounds::unknown(), low: Bounds::unknown() }
    }

    /// The values of `full` (the low half follows).
    pub fn of(full: Bounds<W>) -> Scalar<W> {
        Scalar { full, low: Bounds::unknown() }.sync()
    }

    pub fn contains(self, x: W) -> W::C {
        self.full.contains(x).and(self.low.contains(x.low()))
    }

    /// Each width sharpened by the other, then by itself: the [`sync_steps`] in order.
    pub fn sync(self) -> Scalar<W> {
        if !W::reduces() {
            return self;
        }
        sync_steps::<W>().iter().fold(self, |s, step| step(s))
    }

    /// Every value of either.
    pub fn join(self, o: Scalar<W>) -> Scalar<W> {
        Scalar { full: self.full.join(o.full), low: self.low.join(o.low) }
    }

    /// Widening, at both widths.
    pub fn widen(self, newer: Scalar<W>) -> Scalar<W> {
        Scalar { full: self.full.widen(newer.full), low: self.low.widen(newer.low) }
    }

    /// Widening with thresholds at both widths.
    pub fn widen_with(self, newer: Scalar<W>, t: &Thresholds<W>) -> Scalar<W> {
        Scalar { full: self.full.widen_with(newer.full, &t.full_u, &t.full_s), low: self.low.widen_with(newer.low, &t.low_u, &t.low_s) }
    }

    /// The values both allow.
    pub fn meet(self, o: Scalar<W>) -> Scalar<W> {
        Scalar { full: self.full.meet(o.full), low: self.low.meet(o.low) }.sync()
    }

    /// A 64-bit operation whose low result bits depend only on the operands' low bits
    /// (add, sub, mul, and, or, xor): both widths computed.
    fn low_closed(self, o: Scalar<W>, f: BinOp<W>, g: BinOp<W::Half>) -> Scalar<W> {
        Scalar { full: f(self.full, o.full), low: g(self.low, o.low) }.sync()
    }

    /// Shifts right by a constant amount (masked to the width), arithmetic.
    pub fn sar(self, n: u32) -> Scalar<W> {
        Scalar::of(self.full.sar(n))
    }

    /// Unsigned division and remainder (by 0: 0 and the dividend).
    pub fn udiv(self, o: Scalar<W>) -> Scalar<W> {
        Scalar::of(self.full.udiv(o.full))
    }
    pub fn urem(self, o: Scalar<W>) -> Scalar<W> {
        Scalar::of(self.full.urem(o.full))
    }

    /// Signed division and remainder: any value for now (sound; the ISA's by-0 and
    /// overflow cases make exact bounds a later refinement).
    pub fn sdiv(self, _: Scalar<W>) -> Scalar<W> {
        Scalar::unknown()
    }
    pub fn smod(self, _: Scalar<W>) -> Scalar<W> {
        Scalar::unknown()
    }

    /// The low `bytes` bytes in reverse order (`be16/32/64`, `bswap`), the rest 0.
    pub fn reverse_bytes(self, bytes: u32) -> Scalar<W> {
        Scalar::of(self.full.reverse_bytes(bytes))
    }

    /// The low half zero-extended: the result of every 32-bit operation.
    pub fn zext_low(self) -> Scalar<W> {
        Scalar { full: zext_bounds::<W>(self.low), low: self.low }.sync()
    }

    /// A 32-bit operation: `f` on the low halves, zero-extended.
    pub fn alu32(self, o: Scalar<W>, f: BinOp<W::Half>) -> Scalar<W> {
        Scalar { full: Bounds::unknown(), low: f(self.low, o.low) }.zext_low()
    }

    /// The low half sign-extended (`movsx` from 32 bits, the 32-bit `lw` load).
    pub fn sext_low(self) -> Scalar<W> {
        let l = self.low;
        let smin = W::sext(l.smin);
        let smax = W::sext(l.smax);
        let var = Tnum { value: W::sext(l.var.value), mask: W::sext(l.var.mask) };
        // A sign bit that is unknown makes every high bit unknown: sext of the mask does
        // that, and the value's high bits are then masked off.
        let var = Tnum { value: var.value.and(var.mask.not()), mask: var.mask };
        Scalar { full: Bounds { var, smin, smax, ..Bounds::unknown() }, low: l }.sync()
    }

    /// The low `bits` bits sign-extended (`movsx`, `ldsx`): `bits` below the full width.
    pub fn sext_bits(self, bits: u32) -> Scalar<W> {
        let shift = W::BITS - bits;
        let b = self.full << shift;
        Scalar::of(b.sar(shift))
    }

    /// The low `bits` bits zero-extended (loads, `le16`, casts).
    pub fn zext_bits(self, bits: u32) -> Scalar<W> {
        if bits >= W::BITS {
            return self;
        }
        let mask = W::lit(1).shl(bits).sub(W::lit(1));
        self & Scalar::konst(mask)
    }

    /// `c ? a : b`, part by part.
    pub fn select(c: W::C, a: Scalar<W>, b: Scalar<W>) -> Scalar<W> {
        Scalar { full: Bounds::select(c, a.full, b.full), low: Bounds::select(c, a.low, b.low) }
    }
}

macro_rules! low_closed_op {
    ($tr:ident, $f:ident, $op:tt) => {
        /// At 64 bits; the low half computed directly (its bits depend only on the
        /// operands' low halves).
        impl<W: Wide> ops::$tr for Scalar<W> {
            type Output = Scalar<W>;
            fn $f(self, o: Scalar<W>) -> Scalar<W> {
                self.low_closed(o, |a, b| a $op b, |a, b| a $op b)
            }
        }
    };
}

low_closed_op!(Add, add, +);
low_closed_op!(Sub, sub, -);
low_closed_op!(Mul, mul, *);
low_closed_op!(BitAnd, bitand, &);
low_closed_op!(BitOr, bitor, |);
low_closed_op!(BitXor, bitxor, ^);

impl<W: Wide> ops::Neg for Scalar<W> {
    type Output = Scalar<W>;
    fn neg(self) -> Scalar<W> {
        Scalar { full: -self.full, low: -self.low }.sync()
    }
}

/// Shifts by a constant amount, already masked to the width.
impl<W: Wide> ops::Shl<u32> for Scalar<W> {
    type Output = Scalar<W>;
    fn shl(self, n: u32) -> Scalar<W> {
        let low = if n < <W::Half as Word>::BITS { self.low << n } else { Bounds::konst(<W::Half as Word>::zero()) };
        Scalar { full: self.full << n, low }.sync()
    }
}

impl<W: Wide> ops::Shr<u32> for Scalar<W> {
    type Output = Scalar<W>;
    fn shr(self, n: u32) -> Scalar<W> {
        Scalar::of(self.full >> n)
    }
}

/// Widening thresholds (a program's constants), sorted for each order and width.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Thresholds<W: Wide> {
    pub full_u: Vec<W>,
    pub full_s: Vec<W>,
    pub low_u: Vec<W::Half>,
    pub low_s: Vec<W::Half>,
}

impl Thresholds<u64> {
    /// Thresholds at the given values (both widths: a value's low half for 32 bits).
    pub fn of(values: impl IntoIterator<Item = u64>) -> Thresholds<u64> {
        let mut full_u: Vec<u64> = values.into_iter().collect();
        full_u.sort_unstable();
        full_u.dedup();
        let mut full_s = full_u.clone();
        full_s.sort_unstable_by_key(|&x| x as i64);
        let mut low_u: Vec<u32> = full_u.iter().map(|&x| x as u32).collect();
        low_u.sort_unstable();
        low_u.dedup();
        let mut low_s = low_u.clone();
        low_s.sort_unstable_by_key(|&x| x as i32);
        Thresholds { full_u, full_s, low_u, low_s }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::test_rng::Rng;
    use crate::verifier::domain::check;

    type S = Scalar<u16>;

    /// An abstract value made from a few concrete ones (the join of their constants),
    /// and those values: every member is known, and the abstract value is tight enough
    /// to find unsound operators.
    fn pick(rng: &mut Rng) -> (S, Vec<u16>) {
        let n = 1 + rng.next() % 6;
        let base = rng.next() as u16;
        let spread = [1u64, 16, 256, 4096, 65536][(rng.next() % 5) as usize];
        let xs: Vec<u16> = (0..n).map(|_| base.wrapping_add((rng.next() % spread) as u16)).collect();
        let s = xs.iter().fold(S::konst(xs[0]), |acc, &x| acc.join(S::konst(x)));
        (s, xs)
    }

    fn sound2(name: &str, op: fn(S, S) -> S, concrete: fn(u16, u16) -> u16) {
        check::sound2(name, 20_000, pick, op, concrete, |r, x| r.contains(x));
    }

    fn w32(f: fn(u8, u8) -> u8) -> impl Fn(u16, u16) -> u16 {
        move |x, y| f(x as u8, y as u8) as u16
    }

    #[test]
    fn alu64_is_sound() {
        for (name, op, concrete) in check::ring_ops::<S, u16>() {
            sound2(name, op, concrete);
        }
    }

    #[test]
    fn alu32_is_sound_and_zero_extends() {
        let mut rng = Rng(0x32);
        type Op = (BinOp<u8>, fn(u8, u8) -> u8);
        let ops: [Op; 6] = [(|a, b| a + b, u8::wrapping_add), (|a, b| a - b, u8::wrapping_sub), (|a, b| a * b, u8::wrapping_mul), (|a, b| a & b, |x, y| x & y), (|a, b| a | b, |x, y| x | y), (|a, b| a ^ b, |x, y| x ^ y)];
        for _ in 0..20_000 {
            let ((a, xs), (b, ys)) = (pick(&mut rng), pick(&mut rng));
            for (f, g) in ops {
                let r = a.alu32(b, f);
                for &x in &xs {
                    for &y in &ys {
                        let want = w32(g)(x, y);
                        assert!(r.contains(want), "alu32 {a:?} {b:?} = {r:?} misses {want:#x}");
                    }
                }
                // Zero-extended: the high half is known 0.
                assert_eq!(r.full.var.mask >> 8, 0, "{r:?}");
                assert_eq!(r.full.var.value >> 8, 0, "{r:?}");
            }
        }
    }

    #[test]
    fn shifts_and_extensions_are_sound() {
        let mut rng = Rng(0x5e);
        for _ in 0..20_000 {
            let (a, xs) = pick(&mut rng);
            let n = (rng.next() % 16) as u32;
            for &x in &xs {
                assert!((a << n).contains(x << n), "shl {a:?} {n} misses {x:#x}");
                assert!((a >> n).contains(x >> n), "shr {a:?} {n}");
                assert!(a.sar(n).contains(((x as i16) >> n) as u16), "sar {a:?} {n}");
                assert!((-a).contains(x.wrapping_neg()), "neg {a:?}");
                assert!(a.zext_low().contains(x & 0xff), "zext_low {a:?} misses {:#x}", x & 0xff);
                assert!(a.sext_low().contains(x as u8 as i8 as i16 as u16), "sext_low {a:?} = {:?} misses {x:#x}", a.sext_low());
                for bits in [1, 4, 8, 12] {
                    let sx = (((x << (16 - bits)) as i16) >> (16 - bits)) as u16;
                    assert!(a.sext_bits(bits).contains(sx), "sext_bits {a:?} {bits} misses {sx:#x}");
                    assert!(a.zext_bits(bits).contains(x & ((1 << bits) - 1)), "zext_bits {a:?} {bits}");
                }
            }
        }
    }

    #[test]
    fn division_and_byte_swaps_are_sound() {
        sound2("udiv", S::udiv, |x, y| x.checked_div(y).unwrap_or(0));
        sound2("urem", S::urem, |x, y| x.checked_rem(y).unwrap_or(x));
        sound2("sdiv", S::sdiv, |x, y| if y == 0 { 0 } else { (x as i16).wrapping_div(y as i16) as u16 });
        sound2("smod", S::smod, |x, y| if y == 0 { x } else { (x as i16).wrapping_rem(y as i16) as u16 });
        sound2("bswap16", |a, _| a.reverse_bytes(2), |x, _| x.swap_bytes());
        sound2("bswap8", |a, _| a.reverse_bytes(1), |x, _| x & 0xff);
        sound2("udiv32", |a, b| a.alu32(b, |p, q| p.udiv(q)), |x, y| (x as u8).checked_div(y as u8).unwrap_or(0) as u16);
        sound2("urem32", |a, b| a.alu32(b, |p, q| p.urem(q)), |x, y| (x as u8).checked_rem(y as u8).unwrap_or(x as u8) as u16);
    }

    #[test]
    fn sync_keeps_members_and_join_holds_both() {
        let mut rng = Rng(0x5c);
        for _ in 0..20_000 {
            let ((a, xs), (b, ys)) = (pick(&mut rng), pick(&mut rng));
            assert!(xs.iter().all(|&x| a.sync().contains(x)));
            let j = a.join(b);
            assert!(xs.iter().chain(&ys).all(|&x| j.contains(x)), "{a:?} ⊔ {b:?}");
            let m = a.meet(b);
            assert!(xs.iter().filter(|x| ys.contains(x)).all(|&x| m.contains(x)));
        }
    }

    #[test]
    fn the_halves_inform_each_other() {
        // A 64-bit value known below 2^32: its low half has the same range.
        let s = Scalar::<u64>::of(Bounds::urange(10, 1000));
        assert_eq!((s.low.umin, s.low.umax), (10, 1000));
        // A 32-bit result is known to be below 2^32.
        let r = Scalar::<u64>::unknown().alu32(Scalar::unknown(), |a, b| a + b);
        assert_eq!((r.full.umin, r.full.umax, r.full.smin, r.full.smax), (0, u32::MAX as u64, 0, u32::MAX as u64));
        // Known high half and a low range give the full range.
        let s = Scalar::<u64> { full: Bounds::urange(0x5_0000_0000, 0x5_ffff_ffff), low: Bounds::urange(3, 9) }.sync();
        assert_eq!((s.full.umin, s.full.umax), (0x5_0000_0003, 0x5_0000_0009));
        assert_eq!(Scalar::<u64>::konst(0xffff_ffff).sext_low(), Scalar::konst(u64::MAX));
    }
}
