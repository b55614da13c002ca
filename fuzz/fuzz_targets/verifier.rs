//! Any bytes the decoder accepts: the verifier never panics and ends (its step cap), in
//! the conformance environment and as programs of every type; and a program it accepts
//! in the conformance environment runs on the interpreter without a memory fault, a call
//! too deep or an unknown helper (the soundness oracle: what it proves, the interpreter's
//! run-time checks must never catch). The first byte gives the memory's length.
#![no_main]
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use rvbpf::conformance::ConformanceEnv;
use rvbpf::interp::{ExecErrorKind, Interpreter, RunOptions};
use rvbpf::maps::{map_type, Map, MapDef};
use rvbpf::prog::PROG_TYPES;
use rvbpf::runtime::{MapRef, MapRefError};
use rvbpf::verifier::{verify, NoLog, ProgramInfo};

fuzz_target!(|data: &[u8]| {
    let Some((&len, code)) = data.split_first() else { return };
    let Ok(prog) = rvbpf::isa::Program::decode(&code[..code.len() / 8 * 8]) else { return };
    let mem_len = len as usize;
    if rvbpf::conformance::verify(&prog, mem_len).is_ok() {
        let mut mem = vec![0x5au8; mem_len];
        let mut env = ConformanceEnv::default();
        match Interpreter::new(&prog).run(&mut mem, &env.regions(), &mut env, &RunOptions { budget: 1_000_000 }) {
            Ok(_) => {}
            Err(e) => match e.kind {
                // Bounded loops may run longer than this budget; helpers may fail.
                ExecErrorKind::Budget(_) | ExecErrorKind::Helper { .. } => {}
                _ => panic!("verified, but the interpreter stopped it: {e}"),
            },
        }
    }
    let maps: Vec<Arc<Map>> = [MapDef { map_type: map_type::HASH, key_size: 4, value_size: 16, max_entries: 4, map_flags: 0 }, MapDef { map_type: map_type::RINGBUF, key_size: 0, value_size: 0, max_entries: 4096, map_flags: 0 }]
        .iter()
        .map(|d| Arc::new(Map::create("m", *d, 1).unwrap()))
        .collect();
    let resolve = |r: MapRef| match r {
        MapRef::Index(i) => maps.get(i as usize).cloned().ok_or(MapRefError { errno: 22, reason: "no map".into() }),
        MapRef::Fd(_) => Err(MapRefError { errno: 9, reason: "no fd".into() }),
    };
    let helpers = |id| rvbpf::helpers::linux(id).map(|h| (h.proto, h.types));
    for t in PROG_TYPES {
        let mut log = NoLog;
        let mut info = ProgramInfo { prog_type: t.prog_type, attach: None, ctx: &t.ctx, helpers: &helpers, gpl: true, maps: &resolve, log: &mut log, returns_void: false, log_level: 2, clock: None };
        let _ = verify(&prog, &mut info);
    }
});
