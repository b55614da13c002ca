//! The RV64 JIT ("built for proof", ARCHITECTURE.md):
//! - [`insn`]: typed RV64 instructions whose fields cannot hold unencodable values;
//! - [`repr`]: how lowering represents immediates (values for emission, terms for proofs);
//! - [`lower`]: pure lowering, one BPF instruction → a few `RvInsn`, with every
//!   value-dependent choice in one `shape` function (no_std);
//! - [`emit`] (feature `jit`): dynasmrt emission, branch sizing passes, the BPF pc →
//!   code range map;
//! - [`exec`] (feature `jit`): the image mapped W^X and run on riscv64, with the helper
//!   dispatcher;
//! - [`error`] (feature `jit`): why a program has no runnable image;
//! - `bugs` (feature `seeded-bugs`, tests only): historic JIT bugs to switch on, for
//!   measuring what catches each.
/// `seeded!(Name)`: whether the seeded bug `Name` is on; `false` without the feature.
#[macro_export]
#[doc(hidden)]
macro_rules! seeded {
    ($bug:ident) => {{
        #[cfg(feature = "seeded-bugs")]
        let on = $crate::jit::rv64::bugs::on($crate::jit::rv64::bugs::Bug::$bug);
        #[cfg(not(feature = "seeded-bugs"))]
        let on = false;
        on
    }};
}

#[cfg(feature = "seeded-bugs")]
pub mod bugs;
pub mod insn;
pub mod repr;
pub mod lower;
#[cfg(feature = "jit")]
pub mod emit;
#[cfg(feature = "jit")]
pub mod error;
#[cfg(feature = "jit")]
pub mod exec;
#[cfg(all(test, feature = "jit"))]
mod emit_tests;
