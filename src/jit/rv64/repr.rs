//! How lowering represents the values it places in instructions.
//!
//! [`lower`](super::lower) is generic over a [`Repr`]: with [`Concrete`] it computes the
//! typed immediates the emitter encodes; with the checker's symbolic representation
//! (`smt::shapes`) the same code computes z3 terms of the BPF instruction's immediate
//! fields, so the per-shape proofs are about the lowering that runs. The operations are
//! the few the lowering needs to split and test a constant, each total (a 12-bit field is
//! the value's low 12 bits, sign-extended: never "out of range"), so a proof needs no
//! side condition on them.

use core::fmt::Debug;


/// A representation of 64-bit values, conditions on them, and the immediate fields of
/// RV64 instructions.
pub trait Repr: Copy + Debug + PartialEq + Eq {
    /// A 64-bit two's-complement value (a BPF immediate, sign-extended).
    type V: Copy + Debug + PartialEq + Eq;
    /// A condition on values.
    type B: Copy + Debug;
    /// An I- or S-type field: its value, −2048..=2047.
    type I12: Copy + Debug + PartialEq + Eq;
    /// A `lui`/`auipc` field: its value, −2^19..2^19.
    type I20: Copy + Debug + PartialEq + Eq;
    /// A 64-bit shift amount, 0..=63.
    type Sh6: Copy + Debug + PartialEq + Eq;
    /// A 32-bit shift amount, 0..=31.
    type Sh5: Copy + Debug + PartialEq + Eq;

    fn lit(v: i64) -> Self::V;
    /// `a - b`, wrapping.
    fn sub(a: Self::V, b: Self::V) -> Self::V;
    /// `a >> n`, arithmetic.
    fn sar(a: Self::V, n: u32) -> Self::V;
    /// The low 12 bits of `v`, sign-extended.
    fn i12(v: Self::V) -> Self::I12;
    /// The field's value.
    fn of12(i: Self::I12) -> Self::V;
    /// The low 20 bits of `v`, sign-extended.
    fn i20(v: Self::V) -> Self::I20;
    /// `v & 63`.
    fn sh6(v: Self::V) -> Self::Sh6;
    /// `v & 31`.
    fn sh5(v: Self::V) -> Self::Sh5;

    fn same(a: Self::V, b: Self::V) -> Self::B;
    fn truth(b: bool) -> Self::B;
    fn and(a: Self::B, b: Self::B) -> Self::B;
    fn or(a: Self::B, b: Self::B) -> Self::B;
    fn not(a: Self::B) -> Self::B;

    /// `v` fits a 12-bit field.
    fn fits12(v: Self::V) -> Self::B {
        Self::same(Self::of12(Self::i12(v)), v)
    }
    /// `v < 0`.
    fn negative(v: Self::V) -> Self::B {
        Self::same(Self::sar(v, 63), Self::lit(-1))
    }
    fn neg(v: Self::V) -> Self::V {
        Self::sub(Self::lit(0), v)
    }
    /// A literal 12-bit field the code fixes (1, -1, a frame offset).
    fn lit12(v: i64) -> Self::I12 {
        debug_assert!((-2048..2048).contains(&v), "12-bit literal {v}");
        Self::i12(Self::lit(v))
    }
    fn lit20(v: i64) -> Self::I20 {
        Self::i20(Self::lit(v))
    }
    fn lit_sh6(v: i64) -> Self::Sh6 {
        Self::sh6(Self::lit(v))
    }
}

/// Values as numbers and fields as the typed immediates the emitter encodes (its
/// [`Repr`] is next to those types, in `insn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Concrete;

/// Converts the immediate fields of an instruction from one representation to another
/// (`RvInsn::map`).
pub trait MapImms<M: Repr, N: Repr> {
    fn i12(&mut self, v: M::I12) -> N::I12;
    fn i20(&mut self, v: M::I20) -> N::I20;
    fn sh6(&mut self, v: M::Sh6) -> N::Sh6;
    fn sh5(&mut self, v: M::Sh5) -> N::Sh5;
}
