//! Map operations (ns/op) for each map type, side by side with a peer: a `std` HashMap /
//! Vec behind a `Mutex`, the design simple Rust kernels use (zCore's). Also the cost of a
//! helper call from a program, against the same program without the calls.

use std::collections::HashMap as StdHashMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};

use criterion::{criterion_group, criterion_main, Criterion};
use rvbpf::isa::{asm, encode_all, RawInsn};
use rvbpf::prog::ProgType;
use rvbpf::maps::{map_type, Map, MapDef, BPF_ANY};
use rvbpf::runtime::{Context, ProgramLoad, RunConfig, Runtime, StaticKernel, Task};

const N: u32 = 1024;

fn def(t: u32, vs: u32) -> MapDef {
    MapDef { map_type: t, key_size: 4, value_size: vs, max_entries: N, map_flags: 0 }
}

fn maps(c: &mut Criterion) {
    let mut g = c.benchmark_group("map");
    for (name, t) in [("array", map_type::ARRAY), ("percpu_array", map_type::PERCPU_ARRAY), ("hash", map_type::HASH), ("percpu_hash", map_type::PERCPU_HASH), ("lru_hash", map_type::LRU_HASH)] {
        let m = Map::create(name, def(t, 8), 4).unwrap();
        let v = vec![7u8; m.syscall_value_size()];
        for k in 0..N {
            m.update(&k.to_ne_bytes(), &v, BPF_ANY).unwrap();
        }
        let mut i = 0u32;
        g.bench_function(format!("{name}/prog_lookup"), |b| b.iter(|| {
            i = (i + 1) % N;
            black_box(m.prog_lookup(&i.to_ne_bytes(), 0))
        }));
        g.bench_function(format!("{name}/prog_update"), |b| b.iter(|| {
            i = (i + 1) % N;
            black_box(m.prog_update(&i.to_ne_bytes(), &[1u8; 8], BPF_ANY, 0)).ok()
        }));
        if t != map_type::ARRAY && t != map_type::PERCPU_ARRAY {
            g.bench_function(format!("{name}/delete+insert"), |b| b.iter(|| {
                i = (i + 1) % N;
                m.prog_delete(&i.to_ne_bytes()).unwrap();
                m.prog_update(&i.to_ne_bytes(), &[1u8; 8], BPF_ANY, 0).unwrap();
            }));
        }
    }
    // The peer: std collections behind a Mutex.
    let h: Mutex<StdHashMap<u32, [u8; 8]>> = Mutex::new((0..N).map(|k| (k, [7u8; 8])).collect());
    let mut i = 0u32;
    g.bench_function("peer_std_hash/lookup", |b| b.iter(|| {
        i = (i + 1) % N;
        black_box(h.lock().unwrap().get(&i).copied())
    }));
    g.bench_function("peer_std_hash/update", |b| b.iter(|| {
        i = (i + 1) % N;
        black_box(h.lock().unwrap().insert(i, [1u8; 8]))
    }));
    g.bench_function("peer_std_hash/delete+insert", |b| b.iter(|| {
        i = (i + 1) % N;
        let mut m = h.lock().unwrap();
        m.remove(&i);
        m.insert(i, [1u8; 8]);
    }));
    let a: Mutex<Vec<[u8; 8]>> = Mutex::new(vec![[7u8; 8]; N as usize]);
    g.bench_function("peer_std_vec/lookup", |b| b.iter(|| {
        i = (i + 1) % N;
        black_box(a.lock().unwrap()[i as usize])
    }));
    g.bench_function("peer_std_vec/update", |b| b.iter(|| {
        i = (i + 1) % N;
        a.lock().unwrap()[i as usize] = [1u8; 8];
    }));
    let rb = Map::create("rb", MapDef { map_type: map_type::RINGBUF, key_size: 0, value_size: 0, max_entries: 1 << 20, map_flags: 0 }, 1).unwrap();
    g.bench_function("ringbuf/output+consume", |b| b.iter(|| {
        rb.ringbuf().unwrap().output(&[1u8; 16], 0).unwrap();
        rb.ringbuf().unwrap().consume(|r| { black_box(r); });
    }));
    g.finish();
}

fn raw(src: &str) -> Vec<RawInsn> {
    encode_all(&asm::assemble(src).unwrap()).chunks_exact(8).map(|c| RawInsn::from_bytes(c.try_into().unwrap())).collect()
}

fn helper_calls(c: &mut Criterion) {
    let rt = Runtime::new(Arc::new(StaticKernel::new(Task::default())), 1);
    let (_, arr) = rt.create_map("a", MapDef { map_type: map_type::ARRAY, key_size: 4, value_size: 8, max_entries: 1, map_flags: 0 }).unwrap();
    let body = |call: &str| format!("mov %r6, 100\nstw [%r10-4], 0\nloop:\n{call}sub %r6, 1\njne %r6, 0, loop\nmov %r0, 0\nexit");
    let lookup = "lddw %r1, map_idx(0)\nmov %r2, %r10\nadd %r2, -4\ncall 1\n";
    let same_without = "lddw %r1, map_idx(0)\nmov %r2, %r10\nadd %r2, -4\nmov %r0, 0\n";
    let mut g = c.benchmark_group("helper");
    for (name, src) in [("100x map_lookup_elem", body(lookup)), ("100x no call", body(same_without)), ("100x get_prandom_u32", body("call 7\n"))] {
        let insns = raw(&src);
        let p = rt.load_program(&ProgramLoad { name: "b", prog_type: ProgType::Syscall, attach: None, insns: &insns, license: "GPL", functions: &[], maps: &rvbpf::runtime::fd_array(std::slice::from_ref(&arr)), returns_void: false, log_level: 0 }).unwrap();
        g.bench_function(name, |b| b.iter(|| rt.run(&p, &mut Context::Raw(&mut []), &RunConfig::default()).unwrap().r0));
    }
    g.finish();
}

criterion_group!(benches, maps, helper_calls);
criterion_main!(benches);
