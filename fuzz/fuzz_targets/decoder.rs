//! Any bytes: decoding never panics, and a decoded program encodes back to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(prog) = rvbpf::isa::Program::decode(data) {
        assert_eq!(prog.to_bytes(), data);
    }
});
