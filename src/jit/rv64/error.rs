//! Why a program has no runnable image: the errors of lowering, emission and execution,
//! in one place.

use super::lower::LowerError;

/// The command that runs rvbpf under qemu-riscv64 from a checkout, for the message on
/// other hosts.
pub const QEMU_HINT: &str =
    "cargo run --release --target riscv64gc-unknown-linux-gnu --no-default-features --features std,cli,jit -- <same arguments>";

/// Why a program has no image, or cannot run here.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JitError {
    #[error("{0}")]
    Lower(#[from] LowerError),
    #[error("branch reaches did not settle in {0} passes")]
    NoFixpoint(u32),
    #[error("code generation failed: {0}")]
    Emit(String),
    /// The SMT check did not prove the image (the first failing part and why).
    #[error("the z3 check refused the image: {0}")]
    Refused(String),
    #[error("executing JIT code needs a riscv64 host; from a checkout, run the same under qemu-riscv64 with: {QEMU_HINT}")]
    NotRiscv64,
}
