//! Machine words as the abstract domains see them, generic over their representation.
//!
//! Every abstract operator of the verifier (tnum, bounds, their reduction) is written once
//! over a [`Word`]: with `u64` (or `u32`, `u16`, `u8`) it runs in the verifier and in
//! exhaustive small-width checks; with z3 bit vectors (issue 13, `smt`) the same code is
//! proven sound. So the operators are branch-free in the words they compute on: a choice
//! that depends on a value is [`Word::select`], never an `if`.

use core::fmt::Debug;

/// A condition on words.
pub trait Cond: Copy + Debug {
    fn truth(b: bool) -> Self;
    fn and(self, o: Self) -> Self;
    fn or(self, o: Self) -> Self;
    fn not(self) -> Self;
}

impl Cond for bool {
    fn truth(b: bool) -> bool {
        b
    }
    fn and(self, o: bool) -> bool {
        self && o
    }
    fn or(self, o: bool) -> bool {
        self || o
    }
    fn not(self) -> bool {
        !self
    }
}

/// A `BITS`-wide two's-complement machine word.
pub trait Word: Copy + Debug {
    type C: Cond;
    const BITS: u32;

    fn lit(v: u64) -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// Unsigned division as the ISA defines it: by 0 gives 0.
    fn udiv(self, o: Self) -> Self;
    /// Unsigned remainder as the ISA defines it: by 0 gives the dividend.
    fn urem(self, o: Self) -> Self;
    fn and(self, o: Self) -> Self;
    fn or(self, o: Self) -> Self;
    fn xor(self, o: Self) -> Self;
    fn not(self) -> Self;
    /// Shifts by a constant amount (less than `BITS`).
    fn shl(self, n: u32) -> Self;
    fn shr(self, n: u32) -> Self;
    fn sar(self, n: u32) -> Self;
    fn eq(self, o: Self) -> Self::C;
    /// Unsigned `<`.
    fn ult(self, o: Self) -> Self::C;
    /// Signed `<`.
    fn slt(self, o: Self) -> Self::C;
    /// `c ? a : b`.
    fn select(c: Self::C, a: Self, b: Self) -> Self;

    fn zero() -> Self {
        Self::lit(0)
    }
    fn ones() -> Self {
        Self::lit(u64::MAX)
    }
    fn neg(self) -> Self {
        Self::zero().sub(self)
    }
    fn ule(self, o: Self) -> Self::C {
        o.ult(self).not()
    }
    fn sle(self, o: Self) -> Self::C {
        o.slt(self).not()
    }
    /// The smallest signed value, `1 << (BITS - 1)`.
    fn smin() -> Self {
        Self::lit(1).shl(Self::BITS - 1)
    }
    /// The largest signed value.
    fn smax() -> Self {
        Self::smin().not()
    }
    fn umin_of(self, o: Self) -> Self {
        Self::select(self.ult(o), self, o)
    }
    fn umax_of(self, o: Self) -> Self {
        Self::select(self.ult(o), o, self)
    }
    fn smin_of(self, o: Self) -> Self {
        Self::select(self.slt(o), self, o)
    }
    fn smax_of(self, o: Self) -> Self {
        Self::select(self.slt(o), o, self)
    }
    /// The low `bytes` bytes in reverse order, the rest 0 (`be16/32/64` on a
    /// little-endian host, `bswap`).
    fn reverse_bytes(self, bytes: u32) -> Self {
        let mut out = Self::zero();
        for k in 0..bytes {
            let byte = self.shr(8 * k).and(Self::lit(0xff));
            out = out.or(byte.shl(8 * (bytes - 1 - k)));
        }
        out
    }
}

macro_rules! word {
    ($t:ty, $s:ty) => {
        impl Word for $t {
            type C = bool;
            const BITS: u32 = <$t>::BITS;
            fn lit(v: u64) -> $t {
                v as $t
            }
            fn add(self, o: $t) -> $t {
                self.wrapping_add(o)
            }
            fn sub(self, o: $t) -> $t {
                self.wrapping_sub(o)
            }
            fn mul(self, o: $t) -> $t {
                self.wrapping_mul(o)
            }
            fn udiv(self, o: $t) -> $t {
                self.checked_div(o).unwrap_or(0)
            }
            fn urem(self, o: $t) -> $t {
                self.checked_rem(o).unwrap_or(self)
            }
            fn and(self, o: $t) -> $t {
                self & o
            }
            fn or(self, o: $t) -> $t {
                self | o
            }
            fn xor(self, o: $t) -> $t {
                self ^ o
            }
            fn not(self) -> $t {
                !self
            }
            fn shl(self, n: u32) -> $t {
                self << n
            }
            fn shr(self, n: u32) -> $t {
                self >> n
            }
            fn sar(self, n: u32) -> $t {
                ((self as $s) >> n) as $t
            }
            fn eq(self, o: $t) -> bool {
                self == o
            }
            fn ult(self, o: $t) -> bool {
                self < o
            }
            fn slt(self, o: $t) -> bool {
                (self as $s) < (o as $s)
            }
            fn select(c: bool, a: $t, b: $t) -> $t {
                if c {
                    a
                } else {
                    b
                }
            }
        }
    };
}

word!(u64, i64);
word!(u32, i32);
word!(u16, i16);
word!(u8, i8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_and_byte_swaps_are_the_isas() {
        assert_eq!(7u64.udiv(0), 0);
        assert_eq!(7u64.urem(0), 7);
        assert_eq!(7u64.udiv(2), 3);
        assert_eq!(0x1122_3344_5566_7788u64.reverse_bytes(8), 0x8877_6655_4433_2211);
        assert_eq!(0x1122_3344_5566_7788u64.reverse_bytes(2), 0x8877);
        assert_eq!(0x1234u16.reverse_bytes(2), 0x3412);
    }

    #[test]
    fn signed_limits() {
        assert_eq!(<u8 as Word>::smin(), 0x80);
        assert_eq!(<u8 as Word>::smax(), 0x7f);
        assert_eq!(<u64 as Word>::smin(), 1 << 63);
        assert!(0x80u8.slt(0));
        assert_eq!(0x80u8.sar(7), 0xff);
    }
}
