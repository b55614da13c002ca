//! Runtime unit tests: hooks, helpers' checks at load time, tail-call limits.

use alloc::sync::Arc;
use alloc::vec;

use super::*;
use crate::isa::asm;

fn rt() -> Runtime {
    Runtime::new(Arc::new(StaticKernel::new(Task::default())), 2)
}

fn raw(src: &str) -> Vec<RawInsn> {
    let bytes = crate::isa::encode_all(&asm::assemble(src).unwrap());
    bytes.chunks_exact(8).map(|c| RawInsn::from_bytes(c.try_into().unwrap())).collect()
}

fn load(rt: &Runtime, t: ProgType, src: &str, license: &str) -> Result<Arc<LoadedProgram>, ProgError> {
    let insns = raw(src);
    rt.load_program(&ProgramLoad { name: "t", prog_type: t, attach: None, insns: &insns, license, functions: &[], maps: &fd_array(&[]), returns_void: false, log_level: 0 })
}

#[test]
fn helper_checks_at_load() {
    let rt = rt();
    assert!(matches!(load(&rt, ProgType::Syscall, "call 9999\nexit", "GPL"), Err(ProgError::Verify(VerifyError::UnknownHelper { pc: 0, .. }))));
    assert!(matches!(load(&rt, ProgType::Xdp, "call 4\nexit", "GPL"), Err(ProgError::Verify(VerifyError::HelperNotAllowed { .. }))), "probe_read is for tracing types");
    // probe_read_kernel(fp - 8, 8, 0): GPL-only.
    let read = "mov %r1, %r10\nadd %r1, -8\nmov %r2, 8\nmov %r3, 0\ncall 113\nexit";
    assert!(matches!(load(&rt, ProgType::Kprobe, read, "MIT"), Err(ProgError::Verify(VerifyError::GplOnly { .. }))));
    assert!(load(&rt, ProgType::Kprobe, read, "Dual MIT/GPL").is_ok());
    // Its arguments are checked too: r1 is the context here, r2 was never written.
    let e = load(&rt, ProgType::Kprobe, "call 113\nexit", "GPL").unwrap_err();
    assert_eq!((e.to_string().as_str(), e.errno()), ("0: R2 !read_ok", crate::errno::EACCES));
    let e = load(&rt, ProgType::Syscall, "lddw %r1, map_fd(3)\nexit", "GPL").unwrap_err();
    assert_eq!(e.errno(), crate::errno::EBADF);
}

#[test]
fn hooks_fire_attached_programs_in_order() {
    let rt = rt();
    rt.hooks.register("kprobe/f", ProgType::Kprobe).unwrap();
    assert_eq!(rt.hooks.register("kprobe/f", ProgType::Kprobe).unwrap_err().errno(), crate::errno::EEXIST);
    // r0 = pt_regs->a0 + k
    let a = load(&rt, ProgType::Kprobe, "ldxdw %r0, [%r1+80]\nadd %r0, 1\nexit", "GPL").unwrap();
    let b = load(&rt, ProgType::Kprobe, "ldxdw %r0, [%r1+80]\nadd %r0, 2\nexit", "GPL").unwrap();
    let x = load(&rt, ProgType::Xdp, "mov %r0, 2\nexit", "GPL").unwrap();
    assert_eq!(rt.hooks.attach("kprobe/f", x).unwrap_err().errno(), crate::errno::EINVAL);
    assert_eq!(rt.hooks.attach("kprobe/none", a.clone()).unwrap_err().errno(), crate::errno::ENOENT);
    let la = rt.hooks.attach("kprobe/f", a).unwrap();
    rt.hooks.attach("kprobe/f", b.clone()).unwrap();
    let mut regs = PtRegs::default();
    regs.set("a0", 40);
    let r: Vec<u64> = rt.fire("kprobe/f", &mut Context::Kprobe(&regs), &RunConfig::default()).unwrap().into_iter().map(|r| r.unwrap().r0).collect();
    assert_eq!(r, vec![41, 42]);
    rt.hooks.detach(la).unwrap();
    assert_eq!(rt.hooks.detach(la).unwrap_err().errno(), crate::errno::ENOENT);
    rt.remove_program(b.id);
    assert!(rt.fire("kprobe/f", &mut Context::Kprobe(&regs), &RunConfig::default()).unwrap().is_empty());
}

#[test]
fn kprobe_context_is_read_only() {
    let rt = rt();
    // Refused at load (the interpreter would also stop it at run time).
    let e = load(&rt, ProgType::Kprobe, "stdw [%r1+80], 1\nmov %r0, 0\nexit", "GPL").unwrap_err();
    assert_eq!((e.to_string().as_str(), e.errno()), ("0: invalid bpf_context access off=80 size=8", crate::errno::EACCES));
    let p = load(&rt, ProgType::Kprobe, "ldxdw %r0, [%r1+80]\nexit", "GPL").unwrap();
    assert!(rt.run(&p, &mut Context::Raw(&mut [0u8; 8]), &RunConfig::default()).is_err(), "wrong context type");
}

/// Loads `src` (whose `map_idx(0)` is a one-slot prog array) and puts the program itself
/// in slot 0, so its tail call targets itself.
fn self_tail_caller(rt: &Runtime, src: &str) -> Arc<LoadedProgram> {
    let (_, pa) = rt.create_map("pa", crate::maps::MapDef { map_type: crate::maps::map_type::PROG_ARRAY, key_size: 4, value_size: 4, max_entries: 1, map_flags: 0 }).unwrap();
    let insns = raw(src);
    let p = rt.load_program(&ProgramLoad { name: "self", prog_type: ProgType::Syscall, attach: None, insns: &insns, license: "GPL", functions: &[], maps: &fd_array(core::slice::from_ref(&pa)), returns_void: false, log_level: 0 }).unwrap();
    pa.update(&0u32.to_ne_bytes(), &p.id.to_ne_bytes(), 0).unwrap();
    p
}

#[test]
fn tail_calls_stop_at_33() {
    let rt = rt();
    // Tail-calls itself forever; falls through with r0 = 7 when refused.
    let p = self_tail_caller(&rt, "lddw %r2, map_idx(0)\nmov %r3, 0\ncall 12\nmov %r0, 7\nexit");
    for engine in engines() {
        let r = rt.run(&p, &mut Context::Raw(&mut []), &RunConfig { engine, ..Default::default() }).unwrap();
        assert_eq!((r.r0, r.tail_calls), (7, MAX_TAIL_CALLS), "{}", engine.name());
    }
}

/// The engines this host executes: the interpreter, and the JIT on riscv64.
fn engines() -> Vec<Engine> {
    let mut v = alloc::vec![Engine::Interp];
    if cfg!(all(feature = "jit", target_arch = "riscv64")) {
        v.push(Engine::Jit);
    }
    v
}

#[test]
fn tail_call_from_a_subprogram_is_refused_at_load() {
    let rt = rt();
    let (_, pa) = rt.create_map("pa", crate::maps::MapDef { map_type: crate::maps::map_type::PROG_ARRAY, key_size: 4, value_size: 4, max_entries: 1, map_flags: 0 }).unwrap();
    // main calls the subprogram at slot 2, which tail-calls (slot 5).
    let insns = raw("call local +1\nexit\nlddw %r2, map_idx(0)\nmov %r3, 0\ncall 12\nmov %r0, 7\nexit");
    let req = ProgramLoad { name: "t", prog_type: ProgType::Syscall, attach: None, insns: &insns, license: "GPL", functions: &[], maps: &fd_array(core::slice::from_ref(&pa)), returns_void: false, log_level: 0 };
    let e = rt.load_program(&req).unwrap_err();
    assert_eq!(e.to_string(), "5: tail_call is not allowed in a bpf-to-bpf call");
}

#[test]
fn integrator_helpers_run_and_cannot_shadow_linux_ids() {
    let rt = rt();
    let proto = |id| Proto { id: HelperId(id), name: "double", ret: helpers::Ret::Integer, args: [helpers::Arg::Anything, helpers::Arg::None, helpers::Arg::None, helpers::Arg::None, helpers::Arg::None], gpl_only: false };
    assert!(rt.register_helper(proto(1), Arc::new(|_, a| Ok(a[0] * 2))).is_err(), "id 1 is map_lookup_elem");
    rt.register_helper(proto(1000), Arc::new(|_, a| Ok(a[0] * 2))).unwrap();
    let p = load(&rt, ProgType::Syscall, "mov %r1, 21\ncall 1000\nexit", "GPL").unwrap();
    assert_eq!(rt.run(&p, &mut Context::Raw(&mut []), &RunConfig::default()).unwrap().r0, 42);
}

/// A lookup in an array of maps yields the inner map held when the run began: a program
/// reads through it, sees a replacement on its next run, and NULL once the slot is empty.
#[test]
fn a_map_in_map_lookup_yields_the_inner_map_of_the_run() {
    use crate::maps::{map_type, Map, MapDef};
    let rt = rt();
    let inner_def = MapDef { map_type: map_type::ARRAY, key_size: 4, value_size: 8, max_entries: 2, map_flags: 0 };
    let (a_id, a) = rt.create_map("a", inner_def).unwrap();
    let (b_id, b) = rt.create_map("b", inner_def).unwrap();
    a.update(&1u32.to_ne_bytes(), &11u64.to_ne_bytes(), 0).unwrap();
    b.update(&1u32.to_ne_bytes(), &22u64.to_ne_bytes(), 0).unwrap();
    let outer_def = MapDef { map_type: map_type::ARRAY_OF_MAPS, key_size: 4, value_size: 4, max_entries: 1, map_flags: 0 };
    let (_, outer) = rt.create_map_of_maps("outer", outer_def, &Map::create("t", inner_def, 1).unwrap()).unwrap();
    outer.update_inner(&0u32.to_ne_bytes(), a_id, &a, 0).unwrap();
    // r0 = outer[0] ? outer[0][1] : 99
    let src = "stw [%r10-4], 0\nlddw %r1, map_idx(0)\nmov %r2, %r10\nadd %r2, -4\ncall 1\nmov %r6, 99\njeq %r0, 0, +7\nstw [%r10-8], 1\nmov %r1, %r0\nmov %r2, %r10\nadd %r2, -8\ncall 1\njeq %r0, 0, +1\nldxdw %r6, [%r0]\nmov %r0, %r6\nexit";
    let insns = raw(src);
    let req = ProgramLoad { name: "t", prog_type: ProgType::Syscall, attach: None, insns: &insns, license: "GPL", functions: &[], maps: &fd_array(core::slice::from_ref(&outer)), returns_void: false, log_level: 0 };
    let p = rt.load_program(&req).unwrap();
    for engine in engines() {
        let run = |p: &Arc<LoadedProgram>| rt.run(p, &mut Context::Raw(&mut []), &RunConfig { engine, ..RunConfig::default() }).unwrap().r0;
        outer.update_inner(&0u32.to_ne_bytes(), a_id, &a, 0).unwrap();
        assert_eq!(run(&p), 11);
        outer.update_inner(&0u32.to_ne_bytes(), b_id, &b, 0).unwrap();
        assert_eq!(run(&p), 22, "the replacement, on the next run");
        outer.delete(&0u32.to_ne_bytes()).unwrap();
        assert_eq!(run(&p), 99, "an empty slot is NULL");
    }
    // The inner map is typed by the template: reading past its 8-byte value is refused.
    let past = src.replace("ldxdw %r6, [%r0]", "ldxdw %r6, [%r0+8]");
    let insns = raw(&past);
    let e = rt.load_program(&ProgramLoad { insns: &insns, ..req }).unwrap_err();
    assert_eq!(e.to_string(), "14: invalid access to map value, value_size=8 off=8 size=8");
}

/// Ring-buffer records: the verifier refuses a program that keeps one or touches one it
/// gave back; run past the verifier, in the checked interpreter with the runtime's
/// environment, a record kept is discarded when the run ends (the ring is not wedged for
/// later runs) and a record given back is out of the run's reach.
#[test]
fn ring_records_kept_are_discarded_at_the_end_and_given_back_ones_are_out_of_reach() {
    use crate::interp::{ExecErrorKind, Interpreter, NoTrace, RunOptions};
    use crate::maps::{map_type, MapDef};
    let rt = rt();
    let (_, rb) = rt.create_map("rb", MapDef { map_type: map_type::RINGBUF, key_size: 0, value_size: 0, max_entries: 4096, map_flags: 0 }).unwrap();
    let reserve = "lddw %r1, map_idx(0)\nmov %r2, 3000\nmov %r3, 0\ncall 131\n";
    // r0 = 1 when the ring had room for the record, which is kept.
    let keeps = format!("{reserve}jeq %r0, 0, +1\nmov %r0, 1\nexit");
    // Submits the record, then writes to it.
    let touches = format!("{reserve}jeq %r0, 0, +5\nmov %r6, %r0\nmov %r1, %r0\nmov %r2, 0\ncall 132\nstdw [%r6+0], 1\nmov %r0, 0\nexit");
    let maps = fd_array(core::slice::from_ref(&rb));
    let load = |src: &str| {
        let insns = raw(src);
        rt.load_program(&ProgramLoad { name: "t", prog_type: ProgType::Syscall, attach: None, insns: &insns, license: "GPL", functions: &[], maps: &maps, returns_void: false, log_level: 0 })
    };
    assert_eq!(load(&keeps).unwrap_err().to_string(), "7: Unreleased reference id=5 alloc_insn=4");
    assert_eq!(load(&touches).unwrap_err().to_string(), "10: R6 invalid mem access 'scalar'");
    // A verified program that uses the ring gives the runtime's environment.
    let p = load(&format!("{reserve}jeq %r0, 0, +3\nmov %r1, %r0\nmov %r2, 0\ncall 132\nmov %r0, 0\nexit")).unwrap();
    let unverified = |src: &str, engine: Engine| {
        let prog = Program::from_raw(&raw(src)).unwrap().resolve_lddw(|_, _, _, _| Ok::<u64, ()>(Arc::as_ptr(&rb) as u64)).unwrap();
        let mut env = env::ProgEnv { rt: &rt, prog: p.clone(), cpu: 0, tail_calls: 0, packet: None, inner: &[] };
        match engine {
            #[cfg(feature = "jit")]
            Engine::Jit => jit_compile(&prog, JitCheck::Prove).unwrap().run_with(0, 0, [&[]; 4], &mut env),
            _ => Interpreter::new(&prog).run_with(0, 0, [&[]; 4], &mut env, &RunOptions { budget: 1000 }, &mut NoTrace),
        }
    };
    let ring = rb.ringbuf().unwrap();
    for engine in engines() {
        for run in 0..3 {
            assert_ne!(unverified(&keeps, engine).unwrap().r0, 0, "{engine:?} run {run}: the ring has room again");
            assert_eq!(ring.consume(|_| {}), 0, "a discarded record reaches no consumer");
        }
    }
    // JIT code is not checked (it runs only verified programs); the interpreter is.
    let e = unverified(&touches, Engine::Interp).unwrap_err();
    assert!(matches!(e.kind, ExecErrorKind::OutOfBounds { write: true, .. }), "{e}");
    assert_eq!(e.pc, 10);
}
