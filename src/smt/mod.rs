//! The SMT checker (feature `smt`, z3 on the system libz3): the "check" of
//! load → verify → JIT → check → run.
//!
//! - [`decode`]: the checker's own RV64 decoder (bytes → [`decode::Decoded`]), written from
//!   the RISC-V specification and sharing no code with the JIT;
//! - [`rv64`]: the RV64 semantics of what the decoder returns, run symbolically over a
//!   code range (registers as 64-bit vectors, branches forking paths);
//! - [`bpf`]: the BPF semantics of one instruction as z3 terms over the same state shape;
//! - [`validate`]: translation validation of a compiled image: each BPF instruction's
//!   actual bytes, decoded, proven equal to its semantics for all register values.
//!
//! Both models describe memory and helper calls as ordered [`Event`]s rather than a memory:
//! the i-th load on either side returns the same fresh value ([`Oracle`]), so two runs agree
//! when their events agree (kind, address, size, value, in order), as in Jitterbug.

pub mod bpf;
pub mod decode;
pub mod rv64;
pub mod validate;
#[cfg(test)]
mod encode_tests;
#[cfg(test)]
mod qemu_tests;

pub use validate::{validate, Failure, Report, Verdict};

use alloc::string::String;
use z3::ast::{Bool, BV};

/// A memory access or a helper call, in program order.
#[derive(Clone, Debug)]
pub struct Event {
    /// Whether it happens on this path (the BPF model's cmpxchg stores only if it compares
    /// equal; every event of an RV64 path is unconditional).
    pub guard: Bool,
    pub kind: EventKind,
}

#[derive(Clone, Debug)]
pub enum EventKind {
    /// `size` bytes at `addr`; `atomic` inside a read-modify-write.
    Load { addr: BV, size: u32, atomic: bool },
    /// The low `8 * size` bits of `value` to `addr`.
    Store { addr: BV, size: u32, value: BV, atomic: bool },
    /// A helper call: the id and r1–r5.
    Call { id: BV, args: [BV; 5] },
}

impl EventKind {
    /// A short description for counterexamples.
    pub fn name(&self) -> String {
        use alloc::format;
        match self {
            EventKind::Load { size, atomic, .. } => format!("{}load{}", if *atomic { "atomic " } else { "" }, size * 8),
            EventKind::Store { size, atomic, .. } => format!("{}store{}", if *atomic { "atomic " } else { "" }, size * 8),
            EventKind::Call { .. } => String::from("helper call"),
        }
    }
}

/// What the environment answers, shared by the two sides of one obligation: the k-th
/// load returns `mem{k}` (its low bytes), the k-th call returns `ret{k}` and the stop
/// flag `stop{k}`.
#[derive(Clone, Default)]
pub struct Oracle {
    loads: usize,
    calls: usize,
}

impl Oracle {
    /// The value the next load reads, zero-extended from `size` bytes.
    pub fn load(&mut self, size: u32) -> BV {
        let v = BV::new_const(alloc::format!("mem{}", self.loads), 64);
        self.loads += 1;
        if size == 8 {
            v
        } else {
            v.extract(8 * size - 1, 0).zero_ext(64 - 8 * size)
        }
    }
    /// The next helper call's (r0, stop).
    pub fn call(&mut self) -> (BV, BV) {
        let k = self.calls;
        self.calls += 1;
        (BV::new_const(alloc::format!("ret{k}"), 64), BV::new_const(alloc::format!("stop{k}"), 64))
    }
}

/// A 64-bit constant.
pub(crate) fn k64(v: u64) -> BV {
    BV::from_u64(v, 64)
}
