//! The verifier's abstract domains: small pure modules that know nothing of the verifier,
//! each operator generic over the [`word::Word`] it computes on (so that it can be run on
//! machine words and proven on bit vectors).
//!
//! - [`word`]: machine words and conditions, branch-free;
//! - [`tnum`]: tristate numbers (known bits), the kernel's algebra plus union;
//! - [`bounds`]: a tnum with unsigned and signed ranges and their reduction.

pub mod bounds;
pub mod tnum;
pub mod word;
