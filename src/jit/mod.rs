//! JIT compilers. [`rv64`]: BPF → RV64, built so each emitted sequence can be proved.
pub mod rv64;
