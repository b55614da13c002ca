//! The RV64 JIT ("built for proof", ARCHITECTURE.md):
//! - [`insn`]: typed RV64 instructions whose fields cannot hold unencodable values;
//! - [`lower`]: pure lowering, one BPF instruction → a few `RvInsn`, with every
//!   value-dependent choice in one `shape` function (no_std);
//! - [`emit`] (feature `jit`): dynasmrt emission, branch sizing passes, the BPF pc →
//!   code range map;
//! - [`exec`] (feature `jit`): the image mapped W^X and run on riscv64, with the helper
//!   dispatcher;
//! - [`error`] (feature `jit`): why a program has no runnable image.
pub mod insn;
pub mod lower;
#[cfg(feature = "jit")]
pub mod emit;
#[cfg(feature = "jit")]
pub mod error;
#[cfg(feature = "jit")]
pub mod exec;
#[cfg(all(test, feature = "jit"))]
mod emit_tests;
