//! The ELF loader must refuse malformed objects with an error, never panic; whatever it
//! accepts must instantiate (maps created, programs loaded) or fail with an error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(obj) = rvbpf::loader::load(data, "fuzz") {
        let rt = rvbpf::runtime::Runtime::new(std::sync::Arc::new(rvbpf::runtime::StaticKernel::new(Default::default())), 1);
        let _ = rt.load_object(&obj);
    }
});
