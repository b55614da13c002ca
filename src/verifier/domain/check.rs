//! The soundness check the domains' unit tests share: every concrete result of members
//! of the abstract operands lies in the abstract result.

use core::fmt::Debug;
use core::ops::{Add, BitAnd, BitOr, BitXor, Mul, Sub};

use super::word::Word;
use crate::isa::test_rng::Rng;

/// An abstract value with (some of) its members.
pub type Sample<A, X> = (A, alloc::vec::Vec<X>);

/// `op` against `concrete` on `rounds` operand pairs drawn by `pick`.
pub fn sound2<A: Copy + Debug, X: Copy + Debug + core::fmt::LowerHex>(
    name: &str,
    rounds: usize,
    mut pick: impl FnMut(&mut Rng) -> Sample<A, X>,
    op: impl Fn(A, A) -> A,
    concrete: impl Fn(X, X) -> X,
    contains: impl Fn(&A, X) -> bool,
) {
    let mut rng = Rng(0x5_0u64 ^ name.len() as u64);
    for _ in 0..rounds {
        let ((a, xs), (b, ys)) = (pick(&mut rng), pick(&mut rng));
        let r = op(a, b);
        for &x in &xs {
            for &y in &ys {
                let want = concrete(x, y);
                assert!(contains(&r, want), "{name}({a:?}, {b:?}) = {r:?} misses {name}({x:#x}, {y:#x}) = {want:#x}");
            }
        }
    }
}

/// The operators every domain has, abstract and concrete: add, sub, mul, and, or, xor.
#[allow(clippy::type_complexity)]
pub fn ring_ops<A, X: Word>() -> [(&'static str, fn(A, A) -> A, fn(X, X) -> X); 6]
where
    A: Add<Output = A> + Sub<Output = A> + Mul<Output = A> + BitAnd<Output = A> + BitOr<Output = A> + BitXor<Output = A>,
{
    [
        ("add", |a, b| a + b, |x, y| x.add(y)),
        ("sub", |a, b| a - b, |x, y| x.sub(y)),
        ("mul", |a, b| a * b, |x, y| x.mul(y)),
        ("and", |a, b| a & b, |x, y| x.and(y)),
        ("or", |a, b| a | b, |x, y| x.or(y)),
        ("xor", |a, b| a ^ b, |x, y| x.xor(y)),
    ]
}
