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

/// A set of seeded bugs (feature `seeded-bugs`, for tests only): the enum `Bug` of
/// them, each with its name and what it does, and the switch (`set`, `on`; the
/// environment variable `env` switches one on for a whole process). The JIT's
/// (`jit::rv64::bugs`) and the verifier's (`verifier::bugs`) are made by it.
#[cfg(feature = "seeded-bugs")]
#[macro_export]
#[doc(hidden)]
macro_rules! seeded_bug_set {
    (env: $env:literal, $($name:ident: $what:literal,)*) => {
        use core::sync::atomic::{AtomicU8, Ordering};

        /// The seeded bugs.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Bug { $($name,)* }

        impl Bug {
            pub const ALL: &'static [Bug] = &[$(Bug::$name,)*];
            /// What it does, and where it shipped.
            pub fn what(self) -> &'static str {
                match self { $(Bug::$name => $what,)* }
            }
            pub fn name(self) -> &'static str {
                match self { $(Bug::$name => stringify!($name),)* }
            }
        }

        /// The active bug, + 1 (0: none).
        static ACTIVE: AtomicU8 = AtomicU8::new(0);

        /// Switches `bug` on (`None`: all off). The whole process sees it: tests that
        /// seed bugs run alone in their own test binary.
        pub fn set(bug: Option<Bug>) {
            ACTIVE.store(bug.map_or(0, |b| b as u8 + 1), Ordering::SeqCst);
        }

        #[doc = concat!("Whether `bug` is on; `", $env, "=Name` in the environment switches one on for a whole process.")]
        pub fn on(bug: Bug) -> bool {
            #[cfg(feature = "std")]
            {
                static FROM_ENV: std::sync::Once = std::sync::Once::new();
                FROM_ENV.call_once(|| {
                    if let Ok(name) = std::env::var($env) {
                        if let Some(b) = Bug::ALL.iter().find(|b| b.name() == name) {
                            set(Some(*b));
                        }
                    }
                });
            }
            ACTIVE.load(Ordering::Relaxed) == bug as u8 + 1
        }
    };
}

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
