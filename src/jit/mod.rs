//! JIT compilers. [`rv64`]: BPF → RV64, built so each emitted sequence can be proved.
pub mod rv64;

/// Which implementation executes programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Engine {
    /// The reference interpreter.
    #[default]
    Interp,
    /// The RV64 JIT (executes on riscv64 only).
    Jit,
    /// Both, on separate copies of the input; any difference is an error.
    Both,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Interp => "interp",
            Engine::Jit => "jit",
            Engine::Both => "both",
        }
    }

    /// Whether JIT code runs (and so only programs a verifier would accept may run).
    pub fn uses_jit(self) -> bool {
        self != Engine::Interp
    }
}
