//! The checker never panics: for any program the decoder accepts, the compiled image, and
//! the same image with bytes the fuzzer overwrites, is either proven or refused.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rvbpf::conformance::ConformanceEnv;
use rvbpf::interp::resolve_lddw;
use rvbpf::jit::rv64::emit::compile;
use rvbpf::jit::rv64::lower::Ext;

fuzz_target!(|data: &[u8]| {
    // First byte: how many program bytes (in slots) follow; the rest mutates the image.
    let Some((&n, rest)) = data.split_first() else { return };
    let n = (n as usize * 8).min(rest.len() / 8 * 8);
    let (prog, noise) = rest.split_at(n);
    let Ok(prog) = rvbpf::isa::Program::decode(prog) else { return };
    let Ok(prog) = resolve_lddw(&prog, &mut ConformanceEnv::default()) else { return };
    let Ok(mut img) = compile(&prog, Ext::default()) else { return };
    let clean = rvbpf::smt::validate(&prog, &img);
    assert!(clean.ok(), "a compiled image must be proven: {:?}", clean.failures().next());
    // Noise: (offset, byte) pairs written into the code.
    let len = img.code.len().max(1);
    for pair in noise.chunks_exact(3) {
        let at = u16::from_le_bytes([pair[0], pair[1]]) as usize;
        if let Some(b) = img.code.get_mut(at % len) {
            *b = pair[2];
        }
    }
    let _ = rvbpf::smt::validate(&prog, &img);
});
