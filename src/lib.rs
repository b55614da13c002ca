//! rvbpf: an eBPF toolchain for RISC-V.
//!
//! The pipeline, in order:
//! 1. [`isa`] — the instruction set: spec table, typed instructions, decoder/encoder,
//!    assembler and disassembler;
//! 2. (loader, verifier: later issues);
//! 3. [`interp`] — the reference interpreter, with [`semantics`] as pure functions and
//!    [`helpers`] as the environment;
//! 4. (RV64 JIT and its SMT check: later issues);
//! 5. [`conformance`] — the `.data` test format, the runner and the bpf_conformance plugin.
//!
//! Without the `std` feature the core is `#![no_std]` + `alloc`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod conformance;
pub mod errno;
pub mod helpers;
pub mod interp;
pub mod jit;
pub mod isa;
pub mod loader;
pub mod runtime;
pub mod maps;
pub mod semantics;
