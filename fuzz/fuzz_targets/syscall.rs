//! The bpf() layer takes any command and any attr bytes, with pointers into a small
//! simulated user address space, and answers with a value or -errno: never a panic.
//! The input is a sequence of (command byte, attr bytes) so maps and programs created by
//! earlier commands are there for later ones.
#![no_main]
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use rvbpf::runtime::syscall::{Bpf, UserBuffer, ATTR_SIZE};
use rvbpf::runtime::{Runtime, StaticKernel};

const BASE: u64 = 0x1000;

fuzz_target!(|data: &[u8]| {
    let rt = Arc::new(Runtime::new(Arc::new(StaticKernel::new(Default::default())), 2));
    let bpf = Bpf::new(rt);
    // The first 512 bytes are user memory; then commands of 1 + 64 bytes, the attr's
    // first 64 bytes (the rest zero).
    let (memory, cmds) = data.split_at(data.len().min(512));
    let mem = UserBuffer::new(BASE, 512);
    mem.put(BASE, memory);
    for c in cmds.chunks(65) {
        let mut attr = vec![0u8; ATTR_SIZE];
        attr[..c.len() - 1].copy_from_slice(&c[1..]);
        let r = bpf.call((c[0] % 40) as u32, &mut attr, &mem);
        assert!(r >= -4095, "result {r} is neither a value nor an errno");
    }
});
