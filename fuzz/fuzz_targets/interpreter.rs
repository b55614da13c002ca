//! Any program the decoder accepts, any memory: the interpreter never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rvbpf::conformance::ConformanceEnv;
use rvbpf::interp::{Interpreter, RunOptions};

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |&b| b as usize).min(data.len().saturating_sub(1));
    let (mem, code) = data.get(1..).unwrap_or_default().split_at(split.min(data.len().saturating_sub(1)));
    if let Ok(prog) = rvbpf::isa::Program::decode(&code[..code.len() / 8 * 8]) {
        let mut mem = mem.to_vec();
        let mut env = ConformanceEnv::default();
        let _ = Interpreter::new(&prog).run(&mut mem, &env.regions(), &mut env, &RunOptions { budget: 100_000 });
    }
});
