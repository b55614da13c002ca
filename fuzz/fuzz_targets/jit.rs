//! Any program the decoder accepts compiles without a panic, with and without Zba/Zbb,
//! and the image accounts for every byte: its ranges tile the code in order.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rvbpf::conformance::ConformanceEnv;
use rvbpf::jit::rv64::emit::compile;
use rvbpf::interp::resolve_lddw;
use rvbpf::jit::rv64::lower::Ext;

fuzz_target!(|data: &[u8]| {
    let Ok(prog) = rvbpf::isa::Program::decode(&data[..data.len() / 8 * 8]) else { return };
    // Unresolved pseudo lddw: an error, not a panic.
    let _ = compile(&prog, Ext::default());
    let Ok(prog) = resolve_lddw(&prog, &mut ConformanceEnv::default()) else { return };
    for ext in [Ext::default(), Ext { zba: true, zbb: true }] {
        let img = compile(&prog, ext).expect("every decoded program with resolved lddw compiles");
        let mut at = img.header.end;
        for (_, list, range) in &img.insns {
            assert_eq!(range.start, at);
            assert_eq!(range.len(), 4 * list.iter().map(|i| i.words()).sum::<usize>());
            at = range.end;
        }
        assert_eq!(at, img.code.len());
        assert_eq!(img.listing().len(), img.code.len() / 4);
    }
});
