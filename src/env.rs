//! The environment a program runs in: the interface between an engine and its platform.
//!
//! An [`Env`] answers the two questions the ISA leaves to the platform: what a helper
//! call does, and what the pseudo 64-bit loads (map by fd, map value, variable and code
//! addresses) produce. Engines (interpreter, JIT) call it; environments (the runtime's,
//! the conformance suite's) implement it. It sits below both, so neither imports the other.

use alloc::string::String;

use crate::isa::{HelperId, LdKind};
use crate::mem::{MemError, Memory};

/// How a helper call ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Continue with r0 = the value.
    Continue(u64),
    /// Stop the program with r0 = the value (uBPF's unwind helper).
    Exit(u64),
    /// `bpf_tail_call` succeeded: stop this program and run the target (an opaque
    /// handle the environment understands) in its place, with the same r1.
    TailCall(u64),
}

/// A helper failure. Errors carry what was wrong; the engine adds where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HelperError {
    #[error("unknown helper id")]
    Unknown,
    #[error("pointer 0x{addr:x} (+{len} bytes) is outside the memory the program may access")]
    BadPointer { addr: u64, len: usize },
    /// [`HelperError::BadPointer`] with the place as the program sees it (`r10-8`,
    /// `map value+8`), as the engine reports it.
    #[error("pointer to {place} (+{len} bytes) is outside the memory the program may access")]
    Outside { place: String, len: usize },
    #[error("{0}")]
    Invalid(&'static str),
    #[error("not provided by this environment")]
    Unavailable,
}

impl From<MemError> for HelperError {
    fn from(e: MemError) -> HelperError {
        HelperError::BadPointer { addr: e.addr, len: e.len }
    }
}

/// The platform side of a run.
pub trait Env {
    /// Calls helper `id` with r1-r5.
    fn call(&mut self, id: HelperId, args: [u64; 5], mem: &Memory) -> Result<Flow, HelperError>;
    /// Value of a pseudo `lddw` (src 1-6) at slot `pc`. Plain `lddw` (src 0) never comes here.
    fn ld_imm64(&mut self, kind: LdKind, imm: i32, next_imm: i32, pc: usize) -> Result<u64, HelperError> {
        let _ = (kind, imm, next_imm, pc);
        Err(HelperError::Unavailable)
    }
    /// Called once when a run ends, however it ends, with its memory: the environment
    /// takes back what the run still holds (ring-buffer records never submitted).
    fn end(&mut self, mem: &Memory) {
        let _ = mem;
    }
}
