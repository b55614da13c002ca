//! Differential test of the JIT against the interpreter: random valid programs
//! (tests/common/gen.rs) must give the same r0, which folds in r1–r9, the stack frame and
//! the map value. On riscv64 (the test command runs this under qemu-riscv64) both engines
//! execute, half the programs with Zba/Zbb; on other hosts every program is JIT-compiled
//! in both forms and only the interpreter executes.
//!
//! `RVBPF_JIT_CASES` (default 10,000) programs from `RVBPF_JIT_SEED` (default: from the
//! clock); the seed is printed first and every failure names its own seed.
#![cfg(feature = "jit")]

#[path = "common/gen.rs"]
mod gen;

use rayon::prelude::*;
use rvbpf::conformance::ConformanceEnv;
use rvbpf::interp::{Interpreter, RunOptions};
use rvbpf::isa::{Insn, Program};
use rvbpf::jit::rv64::emit::compile;
use rvbpf::jit::rv64::insn::{RvInsn, Target};
use rvbpf::interp::resolve_lddw;
use rvbpf::jit::rv64::lower::Ext;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.parse().unwrap_or_else(|_| panic!("{name} must be a number")))
}

/// What one program contained, to check that the generator covers what the issue lists.
#[derive(Default, Clone, Copy)]
struct Seen {
    classes: [bool; 8],
    backward: bool,
    forward: bool,
    helper: bool,
    callx: bool,
    local_call: bool,
    atomic: bool,
    mid_branch: bool,
}

impl Seen {
    fn merge(mut self, o: Seen) -> Seen {
        for k in 0..8 {
            self.classes[k] |= o.classes[k];
        }
        self.backward |= o.backward;
        self.forward |= o.forward;
        self.helper |= o.helper;
        self.callx |= o.callx;
        self.local_call |= o.local_call;
        self.atomic |= o.atomic;
        self.mid_branch |= o.mid_branch;
        self
    }
}

fn interp(prog: &Program) -> Result<u64, String> {
    let mut env = ConformanceEnv::default();
    Interpreter::new(prog).run(&mut [], &env.regions(), &mut env, &RunOptions::default()).map(|o| o.r0).map_err(|e| e.to_string())
}

#[cfg(target_arch = "riscv64")]
fn jit(prog: &Program, ext: Ext) -> Result<u64, String> {
    use rvbpf::jit::rv64::exec::JitProgram;
    let mut env = ConformanceEnv::default();
    let prog = resolve_lddw(prog, &mut env).map_err(|e| e.to_string())?;
    let code = JitProgram::new(&prog, ext).map_err(|e| e.to_string())?;
    let regions = env.regions();
    code.run_with(0, 0, [&regions, &[], &[], &[]], &mut env).map(|o| o.r0).map_err(|e| e.to_string())
}

fn check(seed: u64) -> Result<Seen, String> {
    let insns = gen::program(seed);
    let prog = Program::new(insns.clone()).map_err(|e| format!("the generator made an invalid program: {e}"))?;
    let mut seen = Seen::default();
    for (pc, insn) in prog.iter() {
        let raw = rvbpf::isa::encode_all(std::slice::from_ref(insn))[0];
        seen.classes[(raw & 7) as usize] = true;
        match *insn {
            Insn::Jmp { off, .. } | Insn::Ja { off } if off < 0 => seen.backward = true,
            Insn::Jmp { .. } | Insn::Ja { .. } | Insn::Gotol { .. } => seen.forward = true,
            Insn::Call { .. } => seen.helper = true,
            Insn::Callx { .. } => seen.callx = true,
            Insn::CallLocal { .. } => seen.local_call = true,
            Insn::Atomic { .. } => seen.atomic = true,
            _ => {}
        }
        let _ = pc;
    }
    let want = interp(&prog).map_err(|e| format!("the interpreter failed on a valid program: {e}"))?;
    let resolved = resolve_lddw(&prog, &mut ConformanceEnv::default()).map_err(|e| e.to_string())?;
    for ext in [Ext::default(), Ext { zba: true, zbb: true }] {
        let img = compile(&resolved, ext).map_err(|e| format!("JIT compile ({ext:?}): {e}"))?;
        // The mid form: `b<!cc> +8; jal zero, target`.
        seen.mid_branch |= img.insns.iter().any(|(_, l, _)| {
            l.windows(2).any(|w| matches!(w, [RvInsn::Branch { target: Target::Skip(_), .. }, RvInsn::Jal { rd, target: Target::Pc(_) }] if rd.num() == 0))
        });
    }
    #[cfg(target_arch = "riscv64")]
    {
        let ext = if seed % 2 == 0 { Ext::default() } else { Ext { zba: true, zbb: true } };
        let got = jit(&prog, ext)?;
        if got != want {
            return Err(format!("r0 differs ({ext:?}): interpreter {want:#x}, JIT {got:#x}"));
        }
    }
    let _ = want;
    Ok(seen)
}

#[test]
fn interpreter_and_jit_agree_on_random_programs() {
    let cases = env_u64("RVBPF_JIT_CASES").unwrap_or(10_000);
    let base = env_u64("RVBPF_JIT_SEED").unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64);
    let runs = cfg!(target_arch = "riscv64");
    println!(
        "JIT differential: {cases} programs from seed {base} (RVBPF_JIT_SEED={base} reproduces){}",
        if runs { "" } else { "; JIT execution SKIPPED on this host (riscv64 only): compiled, interpreter run" }
    );
    let results: Vec<(u64, Result<Seen, String>)> = (0..cases).into_par_iter().map(|i| (base.wrapping_add(i), check(base.wrapping_add(i)))).collect();
    let failures: Vec<String> = results.iter().filter_map(|(s, r)| r.as_ref().err().map(|e| format!("seed {s}: {e}"))).collect();
    assert!(failures.is_empty(), "{} of {cases} programs failed:\n{}", failures.len(), failures.iter().take(20).cloned().collect::<Vec<_>>().join("\n"));
    let seen = results.iter().filter_map(|(_, r)| r.as_ref().ok().copied()).fold(Seen::default(), Seen::merge);
    if cases >= 1000 {
        let classes = ["ld", "ldx", "st", "stx", "alu", "jmp", "jmp32", "alu64"];
        for (k, name) in classes.iter().enumerate() {
            assert!(seen.classes[k], "no {name}-class instruction was generated");
        }
        for (ok, what) in [
            (seen.backward, "backward branch"),
            (seen.forward, "forward branch"),
            (seen.helper, "helper call"),
            (seen.callx, "callx"),
            (seen.local_call, "bpf-to-bpf call"),
            (seen.atomic, "atomic"),
            (seen.mid_branch, "branch beyond the near reach"),
        ] {
            assert!(ok, "no {what} was generated");
        }
    }
    println!("{cases} programs agree{}", if runs { " (interpreter = JIT)" } else { " (compiled only)" });
}
