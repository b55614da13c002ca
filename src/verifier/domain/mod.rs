//! The verifier's abstract domains: small pure modules that know nothing of the verifier,
//! each operator generic over the [`word::Word`] it computes on (so that it can be run on
//! machine words and proven on bit vectors).
//!
//! - [`word`]: machine words and conditions, branch-free;
//! - [`tnum`]: tristate numbers (known bits), the kernel's algebra plus union;
//! - [`bounds`]: a tnum with unsigned and signed ranges and their reduction;
//! - [`scalar`]: a register's value at both widths (64 bits and the low 32), ALU64 and ALU32;
//! - [`refine`]: both branches of every JMP and JMP32 condition;
//! - [`stack`]: one stack frame byte by byte (uninitialised, some value, zero) with spills.

pub mod bounds;
#[cfg(test)]
mod check;
pub mod refine;
pub mod scalar;
pub mod stack;
pub mod tnum;
pub mod word;
