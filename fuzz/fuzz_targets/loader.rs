//! The ELF loader must refuse malformed objects with an error, never panic; whatever it
//! accepts must instantiate (maps created, programs loaded) or fail with an error.
//!
//! The first byte picks how CO-RE relocations are resolved, so the relocation code sees
//! fuzzed objects against a fuzzed target: 0, no target; 1, the object's own types
//! (`--btf local`); 2, the object itself as the target (an ELF with `.BTF`); 3, the next
//! two bytes give a length, that many bytes are a raw target BTF and the rest the object.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rvbpf::loader::{CoreTarget, LoadOptions};

fuzz_target!(|input: &[u8]| {
    let Some((&mode, data)) = input.split_first() else { return };
    let (target, data) = match mode % 4 {
        0 => (CoreTarget::None, data),
        1 => (CoreTarget::Local, data),
        2 => (CoreTarget::Btf(data), data),
        _ => {
            let n = data.get(..2).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]) as usize);
            let rest = data.get(2..).unwrap_or_default();
            let (btf, obj) = rest.split_at(n.min(rest.len()));
            (CoreTarget::Btf(btf), obj)
        }
    };
    let opts = LoadOptions { core_target: target, ..LoadOptions::default() };
    if let Ok(obj) = rvbpf::loader::load_with(data, "fuzz", &opts) {
        let rt = rvbpf::runtime::Runtime::new(std::sync::Arc::new(rvbpf::runtime::StaticKernel::new(Default::default())), 1);
        let _ = rt.load_object(&obj);
    }
});
