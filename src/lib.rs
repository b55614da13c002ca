//! rvbpf: an eBPF toolchain for RISC-V.
//!
//! The modules in pipeline order (load → verify → JIT → check → run), each with the
//! pieces it stands on listed just before it:
//!
//! - [`isa`]: the instruction set: spec table, typed instructions, decoder/encoder, control flow, assembler, disassembler;
//! - [`semantics`]: ALU, jump, byte-swap and sign-extension semantics as pure functions;
//! - [`maps`]: map types with Linux's semantics;
//! - [`loader`]: clang BPF ELF objects → programs with map references, maps to create;
//! - [`prog`]: program types and their context descriptors, the one table of them;
//! - [`helpers`]: the one helper table (id, prototype, program types, implementation);
//! - [`verifier`]: the verify stage: what must hold before a program runs;
//! - [`mem`]: the memory a running program may touch;
//! - [`env`]: the interface between an engine and its platform (helper calls, pseudo loads);
//! - [`interp`]: the reference interpreter, the executable form of the semantics;
//! - [`jit`]: the RV64 JIT: pure lowering, dynasmrt emission, W^X execution on riscv64;
//! - [`smt`] (feature `smt`): the z3 checker: an independent RV64 decoder, both ISAs'
//!   semantics as z3 terms, translation validation of every compiled image;
//! - [`runtime`]: the pipeline's stages, runs on a CPU pool, hook points, the `bpf()` layer;
//! - [`conformance`]: the `.data` test format, the runner and the bpf_conformance plugin;
//! - [`oracle`] (feature `std`): the verifier's soundness oracle: random programs, each
//!   accepted one run with exact regions, its states checked at every instruction;
//! - [`errno`]: the Linux errno values every layer reports.
//!
//! Imports only go down the layers (tests/layers.rs enforces it):
//! `errno, isa < semantics < mem < env < prog < interp < maps < loader < helpers <
//! verifier < jit < smt < runtime < conformance < oracle`; the `rvbpf` CLI (src/main.rs, src/cli/) sits
//! on top and uses only the library.
//!
//! Without the `std` feature the core is `#![no_std]` + `alloc`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod isa;
pub mod semantics;
pub mod maps;
pub mod loader;
pub mod prog;
pub mod helpers;
pub mod verifier;
pub mod mem;
pub mod env;
pub mod interp;
pub mod jit;
#[cfg(feature = "smt")]
pub mod smt;
pub mod runtime;
pub mod conformance;
#[cfg(feature = "std")]
pub mod oracle;
pub mod errno;
