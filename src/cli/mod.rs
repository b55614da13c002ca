//! The `rvbpf` commands, one file each; [`input`] reads what every command is given.

pub mod asm;
pub mod bpftool;
pub mod conformance;
pub mod disasm;
pub mod input;
#[cfg(feature = "jit")]
pub mod jit;
pub mod load;
pub mod oracle;
pub mod plugin;
#[cfg(feature = "smt")]
pub mod prove;
pub mod run;
pub mod verify;

use rvbpf::runtime::Engine;

/// `rvbpf jit` in a build without the JIT.
#[cfg(not(feature = "jit"))]
pub mod jit {
    pub struct JitOpts {
        pub zba: bool,
        pub zbb: bool,
        pub json: bool,
        pub check: bool,
    }
    pub fn cmd_jit(_: &std::path::Path, _: Option<&str>, _: JitOpts) -> Result<std::process::ExitCode, String> {
        Err("this rvbpf was built without the `jit` feature".into())
    }
}

/// `rvbpf prove` in a build without z3.
#[cfg(not(feature = "smt"))]
pub mod prove {
    pub fn cmd_prove(_: Option<&std::path::Path>, _: Option<&str>, _: Option<usize>) -> Result<std::process::ExitCode, String> {
        Err("this rvbpf was built without the `smt` feature (z3): prove on a host that has it".into())
    }
    pub fn cmd_prove_operators(j: Option<&std::path::Path>, f: Option<&str>, n: Option<usize>) -> Result<std::process::ExitCode, String> {
        cmd_prove(j, f, n)
    }
}

/// Refuses an engine this build or host cannot execute, before any work.
pub fn engine_check(engine: Engine) -> Result<(), String> {
    #[cfg(feature = "jit")]
    if engine.uses_jit() {
        return rvbpf::jit::rv64::exec::host_check().map_err(|e| e.to_string());
    }
    #[cfg(not(feature = "jit"))]
    if engine.uses_jit() {
        return Err("this rvbpf was built without the `jit` feature".into());
    }
    Ok(())
}

/// A progress bar of `len` steps for a long run, on stderr: drawn only when stderr is a
/// terminal (indicatif hides it otherwise, so pipes and CI logs get none).
pub fn progress(len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {per_sec} {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Bytes as lowercase hex, no separators.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Prints, ending quietly when the reader closes the pipe (`| head`).
pub fn print_out(s: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(s.as_bytes());
}
