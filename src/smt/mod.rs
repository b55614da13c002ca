//! The SMT checker (feature `smt`, z3 on the system libz3): the "check" of
//! load → verify → JIT → check → run.
//!
//! - [`decode`]: the checker's own RV64 decoder (bytes → [`decode::Decoded`]), written from
//!   the RISC-V specification and sharing no code with the JIT;
//! - [`rv64`]: the RV64 semantics of what the decoder returns, run symbolically over a
//!   code range (registers as 64-bit vectors, branches forking paths);
//! - [`bpf`]: the BPF semantics of one instruction as z3 terms over the same state shape;
//! - [`validate`]: translation validation of a compiled image: each BPF instruction's
//!   actual bytes, decoded, proven equal to its semantics for all register values;
//! - [`domain`], [`operators`], [`scalars`]: the verifier's abstract operators, the code
//!   it runs, instantiated with z3 terms and proven sound.
//!
//! Both models describe memory and helper calls as ordered [`Event`]s rather than a memory:
//! the i-th load on either side returns the same fresh value ([`Oracle`]), so two runs agree
//! when their events agree (kind, address, size, value, in order), as in Jitterbug.

pub mod bpf;
pub mod decode;
pub mod domain;
pub mod operators;
pub mod rv64;
pub mod scalars;
pub mod shapes;
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
    /// What the k-th load reads (all 64 bits; a narrower load takes its low bytes).
    pub fn loaded(k: usize) -> BV {
        BV::new_const(alloc::format!("mem{k}"), 64)
    }
    /// What the k-th helper call returns: (r0, stop).
    pub fn returned(k: usize) -> (BV, BV) {
        (BV::new_const(alloc::format!("ret{k}"), 64), BV::new_const(alloc::format!("stop{k}"), 64))
    }
    /// The value the next load reads, zero-extended from `size` bytes.
    pub fn load(&mut self, size: u32) -> BV {
        let v = Oracle::loaded(self.loads);
        self.loads += 1;
        if size == 8 {
            v
        } else {
            v.extract(8 * size - 1, 0).zero_ext(64 - 8 * size)
        }
    }
    /// The next helper call's (r0, stop).
    pub fn call(&mut self) -> (BV, BV) {
        self.calls += 1;
        Oracle::returned(self.calls - 1)
    }
}

/// A 64-bit constant.
pub(crate) fn k64(v: u64) -> BV {
    BV::from_u64(v, 64)
}

/// Multiplication, division and remainder, as both models use them. Exact bit-vector
/// operations by default (the tests that pin the models evaluate them); inside
/// [`abstract_arith`] they are uninterpreted functions of their operands, one per
/// operation and width, as Jitterbug treats them: a proof with them holds for every
/// function, so for the real operation too, and it is only possible because the JIT and
/// the semantics apply the same operation to the same operands (the zero-divisor cases
/// and extensions stay exact around them). Bit-blasting a 64-bit divider costs seconds.
pub mod arith {
    use core::cell::Cell;
    use z3::ast::{Ast, BV};
    use z3::{FuncDecl, Sort};

    std::thread_local! {
        static ABSTRACT: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs `f` with the operations uninterpreted.
    pub fn abstract_arith<R>(f: impl FnOnce() -> R) -> R {
        let before = ABSTRACT.with(|a| a.replace(true));
        let r = f();
        ABSTRACT.with(|a| a.set(before));
        r
    }

    fn op(name: &str, a: &BV, b: &BV, exact: impl FnOnce() -> BV) -> BV {
        if !ABSTRACT.with(|x| x.get()) {
            return exact();
        }
        let w = a.get_size();
        let s = Sort::bitvector(w);
        let f = FuncDecl::new(alloc::format!("{name}{w}"), &[&s, &s], &s);
        f.apply(&[a as &dyn Ast, b as &dyn Ast]).as_bv().expect("a bit-vector function")
    }

    pub fn mul(a: &BV, b: &BV) -> BV {
        op("mul", a, b, || a.bvmul(b))
    }
    /// Unsigned quotient, for a non-zero divisor (callers decide the zero case).
    pub fn udiv(a: &BV, b: &BV) -> BV {
        op("udiv", a, b, || a.bvudiv(b))
    }
    pub fn sdiv(a: &BV, b: &BV) -> BV {
        op("sdiv", a, b, || a.bvsdiv(b))
    }
    pub fn urem(a: &BV, b: &BV) -> BV {
        op("urem", a, b, || a.bvurem(b))
    }
    pub fn srem(a: &BV, b: &BV) -> BV {
        op("srem", a, b, || a.bvsrem(b))
    }
}
