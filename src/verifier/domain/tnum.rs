//! Tristate numbers: which bits of a value are known, and to what.
//!
//! A tnum `(value, mask)` stands for every `x` with `x & !mask == value`: bit i is unknown
//! where `mask` has a 1, and equals `value`'s bit otherwise (`value & mask == 0` always).
//! The algebra is the Linux verifier's (kernel/bpf/tnum.c; the multiplication of
//! Vishwanathan et al., CGO'22), plus the union that joins two tnums. Each operator is a
//! small pure function, generic over the [`Word`] it computes on, so the same code runs in
//! the verifier (u64), in exhaustive 8-bit checks (u8), and under z3 (issue 13).

use core::ops;

use super::word::{Cond, Word};

/// A value whose bits are known (`mask` 0) or unknown (`mask` 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tnum<W> {
    pub value: W,
    pub mask: W,
}

impl<W: Word> Tnum<W> {
    /// Exactly `c`.
    pub fn konst(c: W) -> Tnum<W> {
        Tnum { value: c, mask: W::zero() }
    }

    /// Any value.
    pub fn unknown() -> Tnum<W> {
        Tnum { value: W::zero(), mask: W::ones() }
    }

    /// The tnum of every value in `min..=max` (unsigned): the bits above the highest bit
    /// where `min` and `max` differ are known.
    pub fn range(min: W, max: W) -> Tnum<W> {
        let delta = smear(min.xor(max));
        Tnum { value: min.and(delta.not()), mask: delta }
    }

    /// `x` is one of the values.
    pub fn contains(self, x: W) -> W::C {
        x.and(self.mask.not()).eq(self.value)
    }

    /// Every value of `o` is a value of `self` (`o ⊑ self`).
    pub fn includes(self, o: Tnum<W>) -> W::C {
        // o's unknown bits are unknown here too, and o's known bits agree where known.
        o.mask.and(self.mask.not()).eq(W::zero()).and(o.value.and(self.mask.not()).eq(self.value))
    }

    /// The value is one number.
    pub fn is_const(self) -> W::C {
        self.mask.eq(W::zero())
    }

    /// The well-formedness invariant: no bit both known-1 and unknown.
    pub fn well_formed(self) -> W::C {
        self.value.and(self.mask).eq(W::zero())
    }

    /// The smallest and largest values (unsigned).
    pub fn umin(self) -> W {
        self.value
    }
    pub fn umax(self) -> W {
        self.value.or(self.mask)
    }

    /// The smallest and largest values (signed): the sign bit taken as 1, then as 0,
    /// where it is unknown.
    pub fn smin(self) -> W {
        let sign_unknown = self.mask.and(W::smin());
        self.value.or(sign_unknown)
    }
    pub fn smax(self) -> W {
        let sign_unknown = self.mask.and(W::smin());
        self.value.or(self.mask.and(sign_unknown.not()))
    }

    /// Shifts right by a constant amount (less than the width), arithmetic.
    pub fn sar(self, n: u32) -> Tnum<W> {
        Tnum { value: self.value.sar(n), mask: self.mask.sar(n) }
    }

    /// The values both allow (the meet; meaningful where they have one in common).
    pub fn intersect(self, o: Tnum<W>) -> Tnum<W> {
        let v = self.value.or(o.value);
        let mu = self.mask.and(o.mask);
        Tnum { value: v.and(mu.not()), mask: mu }
    }

    /// Every value of either (the join): bits known and equal in both stay known.
    pub fn union(self, o: Tnum<W>) -> Tnum<W> {
        let v = self.value.and(o.value);
        let mu = self.value.xor(o.value).or(self.mask).or(o.mask);
        Tnum { value: v.and(mu.not()), mask: mu }
    }

    /// The low `bits` bits (the rest known 0): a cast to a narrower unsigned type.
    pub fn low(self, bits: u32) -> Tnum<W> {
        if bits >= W::BITS {
            return self;
        }
        let keep = W::lit(1).shl(bits).sub(W::lit(1));
        Tnum { value: self.value.and(keep), mask: self.mask.and(keep) }
    }

    /// `c ? a : b`, field by field.
    pub fn select(c: W::C, a: Tnum<W>, b: Tnum<W>) -> Tnum<W> {
        Tnum { value: W::select(c, a.value, b.value), mask: W::select(c, a.mask, b.mask) }
    }
}

impl<W: Word> ops::Add for Tnum<W> {
    type Output = Tnum<W>;
    fn add(self, o: Tnum<W>) -> Tnum<W> {
        let sm = self.mask.add(o.mask);
        let sv = self.value.add(o.value);
        // Carries that differ between all unknowns 0 and all unknowns 1 are unknown.
        let chi = sm.add(sv).xor(sv);
        let mu = chi.or(self.mask).or(o.mask);
        Tnum { value: sv.and(mu.not()), mask: mu }
    }
}

impl<W: Word> ops::Sub for Tnum<W> {
    type Output = Tnum<W>;
    fn sub(self, o: Tnum<W>) -> Tnum<W> {
        let dv = self.value.sub(o.value);
        let alpha = dv.add(self.mask);
        let beta = dv.sub(o.mask);
        let mu = alpha.xor(beta).or(self.mask).or(o.mask);
        Tnum { value: dv.and(mu.not()), mask: mu }
    }
}

impl<W: Word> ops::Mul for Tnum<W> {
    type Output = Tnum<W>;

    /// Multiplication (CGO'22): the product of the known parts, plus for each bit of
    /// `self` that is 1 the multiplicand's unknown bits, and for each unknown bit all
    /// of the multiplicand's possible bits, shifted into place.
    fn mul(self, o: Tnum<W>) -> Tnum<W> {
        let known = self.value.mul(o.value);
        let mut acc = Tnum::konst(W::zero());
        let (mut a, mut b) = (self, o);
        for _ in 0..W::BITS {
            let one = W::lit(1);
            let bit_one = a.value.and(one).eq(one);
            let bit_unknown = a.mask.and(one).eq(one);
            let if_one = acc + Tnum { value: W::zero(), mask: b.mask };
            let if_unknown = acc + Tnum { value: W::zero(), mask: b.value.or(b.mask) };
            acc = Tnum::select(bit_one, if_one, Tnum::select(bit_unknown, if_unknown, acc));
            a = a >> 1;
            b = b << 1;
        }
        Tnum::konst(known) + acc
    }
}

impl<W: Word> ops::BitAnd for Tnum<W> {
    type Output = Tnum<W>;
    fn bitand(self, o: Tnum<W>) -> Tnum<W> {
        let alpha = self.value.or(self.mask);
        let beta = o.value.or(o.mask);
        let v = self.value.and(o.value);
        Tnum { value: v, mask: alpha.and(beta).and(v.not()) }
    }
}

impl<W: Word> ops::BitOr for Tnum<W> {
    type Output = Tnum<W>;
    fn bitor(self, o: Tnum<W>) -> Tnum<W> {
        let v = self.value.or(o.value);
        let mu = self.mask.or(o.mask);
        Tnum { value: v, mask: mu.and(v.not()) }
    }
}

impl<W: Word> ops::BitXor for Tnum<W> {
    type Output = Tnum<W>;
    fn bitxor(self, o: Tnum<W>) -> Tnum<W> {
        let v = self.value.xor(o.value);
        let mu = self.mask.or(o.mask);
        Tnum { value: v.and(mu.not()), mask: mu }
    }
}

impl<W: Word> ops::Neg for Tnum<W> {
    type Output = Tnum<W>;
    fn neg(self) -> Tnum<W> {
        Tnum::konst(W::zero()) - self
    }
}

/// Shifts by a constant amount (less than the width).
impl<W: Word> ops::Shl<u32> for Tnum<W> {
    type Output = Tnum<W>;
    fn shl(self, n: u32) -> Tnum<W> {
        Tnum { value: self.value.shl(n), mask: self.mask.shl(n) }
    }
}

impl<W: Word> ops::Shr<u32> for Tnum<W> {
    type Output = Tnum<W>;
    fn shr(self, n: u32) -> Tnum<W> {
        Tnum { value: self.value.shr(n), mask: self.mask.shr(n) }
    }
}

/// Every bit at or below the highest set bit of `x` set.
fn smear<W: Word>(x: W) -> W {
    let mut x = x;
    let mut n = 1;
    while n < W::BITS {
        x = x.or(x.shr(n));
        n *= 2;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::test_rng::Rng;
    use crate::verifier::domain::check;

    type T8 = Tnum<u8>;

    /// Every well-formed 8-bit tnum (3^8 of them).
    fn all8() -> Vec<T8> {
        let mut out = Vec::new();
        for mask in 0..=255u8 {
            for value in 0..=255u8 {
                if value & mask == 0 {
                    out.push(Tnum { value, mask });
                }
            }
        }
        out
    }

    fn members(t: T8) -> impl Iterator<Item = u8> {
        (0..=255u8).filter(move |&x| t.contains(x))
    }

    /// Soundness of a binary operator at 8 bits: for tnum pairs drawn from every
    /// well-formed tnum, every concrete result of members lies in the abstract result,
    /// and the result is well formed.
    fn sound2(name: &str, op: fn(T8, T8) -> T8, concrete: fn(u8, u8) -> u8) {
        let all = all8();
        let pick = |rng: &mut Rng| {
            let t = all[(rng.next() % all.len() as u64) as usize];
            (t, members(t).collect())
        };
        check::sound2(name, 3000, pick, |a, b| {
            let r = op(a, b);
            assert!(r.well_formed(), "{name}({a:?}, {b:?}) = {r:?} is not well formed");
            r
        }, concrete, |r, x| r.contains(x));
    }

    #[test]
    fn add_sub_mul_and_bitwise_ops_are_sound_at_8_bits() {
        for (name, op, concrete) in check::ring_ops::<T8, u8>() {
            sound2(name, op, concrete);
        }
    }

    #[test]
    fn union_holds_both_and_intersect_what_both_hold() {
        let all = all8();
        let mut rng = Rng(7);
        for _ in 0..3000 {
            let a = all[(rng.next() % all.len() as u64) as usize];
            let b = all[(rng.next() % all.len() as u64) as usize];
            let u = a.union(b);
            assert!(u.includes(a) && u.includes(b), "{a:?} ∪ {b:?} = {u:?}");
            let i = a.intersect(b);
            for x in members(a).filter(|&x| b.contains(x)) {
                assert!(i.contains(x), "{a:?} ∩ {b:?} = {i:?} misses {x:#x}");
            }
        }
    }

    #[test]
    fn shifts_and_casts_are_sound_at_8_bits() {
        for t in all8().into_iter().step_by(7) {
            for n in 0..8 {
                for x in members(t) {
                    assert!((t << n).contains(x << n));
                    assert!((t >> n).contains(x >> n));
                    assert!(t.sar(n).contains(((x as i8) >> n) as u8));
                }
            }
            for bits in [1, 4, 8] {
                for x in members(t) {
                    assert!(t.low(bits).contains(if bits == 8 { x } else { x & ((1 << bits) - 1) }));
                }
            }
        }
    }

    #[test]
    fn range_contains_the_interval_and_bounds_are_tight() {
        for min in (0..=255u8).step_by(3) {
            for max in (min..=255).step_by(5) {
                let t = T8::range(min, max);
                assert!(t.well_formed());
                assert!((min..=max).all(|x| t.contains(x)), "range({min}, {max}) = {t:?}");
            }
        }
        for t in all8() {
            let xs: Vec<u8> = members(t).collect();
            assert_eq!(t.umin(), *xs.iter().min().unwrap());
            assert_eq!(t.umax(), *xs.iter().max().unwrap());
            assert_eq!(t.smin() as i8, xs.iter().map(|&x| x as i8).min().unwrap(), "{t:?}");
            assert_eq!(t.smax() as i8, xs.iter().map(|&x| x as i8).max().unwrap(), "{t:?}");
        }
    }

    #[test]
    fn sixty_four_bit_ops_are_sound_on_random_members() {
        let mut rng = Rng(0x64);
        let pick = |rng: &mut Rng| {
            let mask = rng.next() & rng.next();
            Tnum { value: rng.next() & !mask, mask }
        };
        let member = |rng: &mut Rng, t: Tnum<u64>| t.value | (rng.next() & t.mask);
        for _ in 0..20_000 {
            let (a, b) = (pick(&mut rng), pick(&mut rng));
            let (x, y) = (member(&mut rng, a), member(&mut rng, b));
            assert!((a + b).contains(x.wrapping_add(y)));
            assert!((a - b).contains(x.wrapping_sub(y)));
            assert!((a * b).contains(x.wrapping_mul(y)));
            assert!((a & b).contains(x & y) && (a | b).contains(x | y) && (a ^ b).contains(x ^ y));
            assert!((-a).contains(x.wrapping_neg()));
        }
    }

    #[test]
    fn constants_stay_exact() {
        let (a, b) = (Tnum::konst(1234u64), Tnum::konst(99u64));
        assert_eq!(a + b, Tnum::konst(1333));
        assert_eq!(a - b, Tnum::konst(1135));
        assert_eq!(a * b, Tnum::konst(1234 * 99));
        assert_eq!(a & b, Tnum::konst(1234 & 99));
        assert_eq!(Tnum::range(16u64, 31), Tnum { value: 16, mask: 15 });
        assert_eq!(Tnum::range(0u64, u64::MAX), Tnum::unknown());
    }
}
