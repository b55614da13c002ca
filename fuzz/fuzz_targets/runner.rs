//! Any `.data` text: parsing and judging never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rvbpf::conformance::{judge, parse_data};
use rvbpf::runtime::Engine;

fuzz_target!(|data: &[u8]| {
    let f = parse_data(&String::from_utf8_lossy(data));
    if f.raw.as_ref().map_or(true, |w| w.len() < 4096) {
        let _ = judge(&f, Engine::Interp);
    }
});
