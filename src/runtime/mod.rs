//! The runtime: maps and programs live here, programs run here, hooks fire here.
//!
//! A [`Runtime`] is what an OS kernel embeds (and what the hosted CLI uses):
//! - it owns maps and loaded programs, by id;
//! - [`Runtime::load_program`] checks a program, then applies the **fixup** that turns
//!   the kernel's pseudo `lddw` forms (map by fd/index, map value) into addresses, as
//!   Linux's `resolve_pseudo_ldimm64` does after verification;
//! - [`Runtime::run`] runs a program on a CPU claimed from a pool: at most one program
//!   runs on a CPU at a time, as with Linux's disabled preemption, so per-CPU map values
//!   are never shared between concurrent runs;
//! - the kernel services helpers need (time, current task, trace output, reading
//!   kernel memory) come from a [`Kernel`] the integrator implements;
//! - [`hooks`] are named attach points.

pub mod context;
pub mod env;
pub mod hooks;
pub mod syscall;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use spin::RwLock;

use crate::helpers::linux::{self, Proto};
use crate::helpers::HelperError;
use crate::interp::{ExecError, Interpreter, Memory, NoTrace, RunOptions};
use crate::jit::Engine;
use crate::isa::{Insn, LdKind, Program, RawInsn};
use crate::loader::{Object, ProgType};
use crate::maps::{Map, MapDef, MapError, BPF_ANY};
pub use context::{Context, PtRegs};

/// `MAX_TAIL_CALL_CNT`: tail calls one run may make.
pub const MAX_TAIL_CALLS: u32 = 33;

/// The task a helper sees as "current".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Task {
    pub pid: u32,
    pub tgid: u32,
    pub uid: u32,
    pub gid: u32,
    pub comm: [u8; 16],
}

/// The services of the kernel that hosts rvbpf, as helpers need them.
pub trait Kernel: Send + Sync {
    /// `CLOCK_MONOTONIC` in ns.
    fn ktime_ns(&self) -> u64;
    /// `CLOCK_BOOTTIME` in ns (includes suspend).
    fn boot_ns(&self) -> u64 {
        self.ktime_ns()
    }
    fn prandom_u32(&self) -> u32;
    /// The task on whose behalf the program runs.
    fn current_task(&self) -> Task;
    /// One `bpf_trace_printk` line (what Linux writes to `trace_pipe`).
    fn trace(&self, cpu: u32, line: &str);
    /// Reads kernel memory at `addr` that is not one of the program's own regions
    /// (`bpf_probe_read_kernel`). Must not fault; the default says every read faults.
    fn probe_read(&self, _addr: u64, _dst: &mut [u8]) -> Result<(), ()> {
        Err(())
    }
}

/// A deterministic kernel: a clock that advances 1000 ns per reading, a fixed task, a
/// linear congruential random stream, trace lines kept in memory. For tests and for
/// reproducible runs.
pub struct StaticKernel {
    pub task: Task,
    clock: AtomicU64,
    rand: AtomicU64,
    lines: spin::Mutex<Vec<String>>,
}

impl StaticKernel {
    pub fn new(task: Task) -> StaticKernel {
        StaticKernel { task, clock: AtomicU64::new(1_000_000), rand: AtomicU64::new(0x2545_f491_4f6c_dd1d), lines: spin::Mutex::new(Vec::new()) }
    }
    /// The trace lines written so far, emptying the buffer.
    pub fn take_trace(&self) -> Vec<String> {
        core::mem::take(&mut *self.lines.lock())
    }
}

impl Kernel for StaticKernel {
    fn ktime_ns(&self) -> u64 {
        self.clock.fetch_add(1000, Ordering::Relaxed)
    }
    fn prandom_u32(&self) -> u32 {
        let x = self.rand.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed).wrapping_add(0x9e37_79b9_7f4a_7c15);
        let z = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        ((z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb) >> 32) as u32
    }
    fn current_task(&self) -> Task {
        self.task
    }
    fn trace(&self, _cpu: u32, line: &str) {
        self.lines.lock().push(line.into());
    }
}

#[cfg(feature = "std")]
mod host;
#[cfg(feature = "std")]
pub use host::HostKernel;

/// CPUs a run can be placed on; one run per CPU at a time. A run takes the lowest free
/// CPU, so runs one after another all land on CPU 0, like a pinned thread on Linux.
struct CpuPool {
    busy: Vec<AtomicBool>,
}

struct CpuGuard<'a> {
    pool: &'a CpuPool,
    id: u32,
}

impl Drop for CpuGuard<'_> {
    fn drop(&mut self) {
        self.pool.busy[self.id as usize].store(false, Ordering::Release);
    }
}

impl CpuPool {
    fn new(n: u32) -> CpuPool {
        CpuPool { busy: (0..n).map(|_| AtomicBool::new(false)).collect() }
    }
    fn claim(&self) -> CpuGuard<'_> {
        let n = self.busy.len() as u32;
        loop {
            for id in 0..n {
                if self.busy[id as usize].compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                    return CpuGuard { pool: self, id };
                }
            }
            #[cfg(feature = "std")]
            std::thread::yield_now();
            #[cfg(not(feature = "std"))]
            core::hint::spin_loop();
        }
    }
}

/// An integrator's helper: r1-r5 in, r0 out.
pub type HelperImpl = Arc<dyn Fn(&HelperCall, [u64; 5]) -> Result<u64, HelperError> + Send + Sync>;

/// What a registered helper can see.
pub struct HelperCall<'a> {
    pub mem: &'a Memory,
    pub cpu: u32,
    pub kernel: &'a dyn Kernel,
}

/// Why a program was refused at load time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProgError {
    #[error("{0}")]
    Decode(#[from] crate::isa::DecodeError),
    #[error("instruction {pc}: unknown func {name}#{id}")]
    UnknownHelper { pc: usize, id: i64, name: &'static str },
    #[error("instruction {pc}: program of type {prog_type} is not allowed to call {name}#{id}")]
    HelperNotAllowed { pc: usize, id: i64, name: &'static str, prog_type: &'static str },
    #[error("instruction {pc}: cannot call GPL-restricted function {name}#{id} from non-GPL compatible program")]
    GplOnly { pc: usize, id: i64, name: &'static str },
    #[error("instruction {pc}: {reason}")]
    Lddw { pc: usize, reason: String, errno: i32 },
    #[error("{0}")]
    Context(#[from] context::CtxError),
    #[error("program uses more than {} maps", crate::loader::MAX_USED_MAPS)]
    TooManyMaps,
}

impl ProgError {
    /// The errno Linux gives for the same refusal.
    pub fn errno(&self) -> i32 {
        use crate::errno::*;
        match self {
            ProgError::Lddw { errno, .. } => *errno,
            ProgError::TooManyMaps => E2BIG,
            _ => EINVAL,
        }
    }
}

/// A program to load: the `BPF_PROG_LOAD` fields rvbpf reads.
pub struct ProgramLoad<'a> {
    pub name: &'a str,
    pub prog_type: ProgType,
    pub insns: &'a [RawInsn],
    pub license: &'a str,
    /// The map an `lddw` names: by `fd_array` index (`BPF_PSEUDO_MAP_IDX[_VALUE]`) or by
    /// fd (`BPF_PSEUDO_MAP_FD[_VALUE]`). [`fd_array`] makes one from a list of maps.
    pub maps: &'a MapResolver<'a>,
}

/// How an `lddw` names its map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapRef {
    Index(u32),
    Fd(i32),
}

/// Why a map reference does not resolve: Linux's errno and the verifier log's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapRefError {
    pub errno: i32,
    pub reason: String,
}

/// Resolves the map references of a program being loaded.
pub type MapResolver<'a> = dyn Fn(MapRef) -> Result<Arc<Map>, MapRefError> + 'a;

/// A resolver whose `fd_array` is `maps` and which knows no fds (what an object load
/// uses: the loader emits `BPF_PSEUDO_MAP_IDX` in map order).
pub fn fd_array(maps: &[Arc<Map>]) -> impl Fn(MapRef) -> Result<Arc<Map>, MapRefError> + '_ {
    move |r| match r {
        MapRef::Index(i) => maps.get(i as usize).cloned().ok_or_else(|| MapRefError { errno: crate::errno::EBADF, reason: format!("fd_array[{i}] is not a map") }),
        MapRef::Fd(fd) => Err(MapRefError { errno: crate::errno::EBADF, reason: format!("fd {fd} is not pointing to valid bpf_map") }),
    }
}

/// A loaded, fixed-up program.
pub struct LoadedProgram {
    pub id: u32,
    pub name: String,
    pub prog_type: ProgType,
    pub gpl: bool,
    /// The instructions after fixup (map references are addresses).
    pub program: Program,
    /// Maps the program uses, in first-use order.
    pub maps: Vec<Arc<Map>>,
    /// The memory of those maps the program may touch (fixed for the maps' lifetime).
    map_regions: Vec<crate::interp::Region>,
    interp: Interpreter,
    /// The JIT-compiled program, made on the first JIT run.
    #[cfg(feature = "jit")]
    jit: spin::Once<Result<crate::jit::rv64::exec::JitProgram, crate::jit::rv64::emit::JitError>>,
}

impl LoadedProgram {
    /// The program JIT-compiled (on first use; later runs share the code).
    #[cfg(feature = "jit")]
    fn jit_program(&self) -> Result<&crate::jit::rv64::exec::JitProgram, RunError> {
        let jit = self.jit.call_once(|| crate::jit::rv64::exec::JitProgram::new(&self.program, Default::default()));
        jit.as_ref().map_err(|e| RunError::Jit { program: self.name.clone(), err: e.to_string() })
    }

    #[cfg(not(feature = "jit"))]
    fn jit_program(&self) -> Result<NoJit, RunError> {
        Err(RunError::Jit { program: self.name.clone(), err: "this rvbpf was built without the `jit` feature".into() })
    }
}

/// Stands in for the JIT in builds without it.
#[cfg(not(feature = "jit"))]
enum NoJit {}

#[cfg(not(feature = "jit"))]
impl NoJit {
    fn run_with(&self, _: u64, _: u64, _: Vec<crate::interp::Region>, _: &mut dyn crate::helpers::Env) -> Result<crate::interp::Outcome, ExecError> {
        match *self {}
    }
}

impl core::fmt::Debug for LoadedProgram {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LoadedProgram").field("id", &self.id).field("name", &self.name).field("prog_type", &self.prog_type).finish()
    }
}

/// Why a run failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("a {context} context cannot be given to a {prog_type} program")]
    WrongContext { context: &'static str, prog_type: &'static str },
    #[error("program {program}: {err}")]
    Exec { program: String, err: ExecError },
    #[error("program {program}: JIT: {err}")]
    Jit { program: String, err: String },
    #[error("engine `both` compares engines on raw programs; runs of loaded programs change maps, so run each engine on its own")]
    BothEngines,
}

/// What a run produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunResult {
    pub r0: u64,
    pub insns_executed: u64,
    pub tail_calls: u32,
    pub cpu: u32,
}

/// Licenses the kernel treats as GPL-compatible (`license_is_gpl_compatible`).
pub fn license_is_gpl_compatible(l: &str) -> bool {
    matches!(l, "GPL" | "GPL v2" | "GPL and additional rights" | "Dual BSD/GPL" | "Dual MIT/GPL" | "Dual MPL/GPL")
}

/// One runtime: maps, programs, hooks, the CPU pool and the kernel services.
pub struct Runtime {
    kernel: Arc<dyn Kernel>,
    ncpus: u32,
    cpus: CpuPool,
    next_id: AtomicU32,
    maps: RwLock<BTreeMap<u32, Arc<Map>>>,
    progs: RwLock<BTreeMap<u32, Arc<LoadedProgram>>>,
    custom: RwLock<BTreeMap<u32, (Proto, HelperImpl)>>,
    pub hooks: hooks::Hooks,
}

/// A map created for an object, with its id.
#[derive(Clone, Debug)]
pub struct ObjectMap {
    pub id: u32,
    pub map: Arc<Map>,
}

/// An object's maps and programs, created and loaded.
pub struct LoadedObject {
    pub maps: Vec<ObjectMap>,
    pub programs: Vec<Arc<LoadedProgram>>,
}

impl LoadedObject {
    pub fn program(&self, name: &str) -> Option<&Arc<LoadedProgram>> {
        self.programs.iter().find(|p| p.name == name)
    }
    pub fn map(&self, name: &str) -> Option<&Arc<Map>> {
        self.maps.iter().find(|m| m.map.name() == name).map(|m| &m.map)
    }
}

/// Why an object could not be instantiated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    #[error("map {map}: {err}")]
    Map { map: String, err: MapError },
    #[error("program {program}: {err}")]
    Program { program: String, err: ProgError },
}

impl Runtime {
    /// A runtime with `ncpus` CPUs (at least 1) and the given kernel services.
    pub fn new(kernel: Arc<dyn Kernel>, ncpus: u32) -> Runtime {
        let ncpus = ncpus.max(1);
        Runtime {
            kernel,
            ncpus,
            cpus: CpuPool::new(ncpus),
            next_id: AtomicU32::new(1),
            maps: RwLock::new(BTreeMap::new()),
            progs: RwLock::new(BTreeMap::new()),
            custom: RwLock::new(BTreeMap::new()),
            hooks: hooks::Hooks::default(),
        }
    }

    pub fn ncpus(&self) -> u32 {
        self.ncpus
    }

    pub fn kernel(&self) -> &dyn Kernel {
        &*self.kernel
    }

    fn new_id(&self) -> u32 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Creates a map (`BPF_MAP_CREATE`); returns its id.
    pub fn create_map(&self, name: &str, def: MapDef) -> Result<(u32, Arc<Map>), MapError> {
        let map = Arc::new(Map::create(name, def, self.ncpus)?);
        let id = self.new_id();
        self.maps.write().insert(id, map.clone());
        Ok((id, map))
    }

    pub fn map(&self, id: u32) -> Option<Arc<Map>> {
        self.maps.read().get(&id).cloned()
    }

    /// Drops the runtime's reference to map `id` (programs using it keep it alive).
    pub fn remove_map(&self, id: u32) -> Option<Arc<Map>> {
        self.maps.write().remove(&id)
    }

    pub fn program(&self, id: u32) -> Option<Arc<LoadedProgram>> {
        self.progs.read().get(&id).cloned()
    }

    /// Unloads program `id`: detached from every hook and emptied from every prog array.
    pub fn remove_program(&self, id: u32) -> Option<Arc<LoadedProgram>> {
        let p = self.progs.write().remove(&id)?;
        self.hooks.detach_program(id);
        for m in self.maps.read().values() {
            if let Some(pa) = m.prog_array() {
                pa.remove_program(id);
            }
        }
        Some(p)
    }

    /// Whether some prog array holds program `id`.
    pub fn prog_arrays_hold(&self, id: u32) -> bool {
        self.maps.read().values().any(|m| m.prog_array().is_some_and(|pa| pa.holds(id)))
    }

    /// Registers an integrator helper. Its id must not be one of the Linux helpers.
    pub fn register_helper(&self, proto: Proto, f: HelperImpl) -> Result<(), MapError> {
        if linux::proto(proto.id).is_some() {
            return Err(MapError { errno: crate::errno::EEXIST, what: "helper id belongs to a Linux helper" });
        }
        self.custom.write().insert(proto.id, (proto, f));
        Ok(())
    }

    fn custom_helper(&self, id: u32) -> Option<(Proto, HelperImpl)> {
        self.custom.read().get(&id).cloned()
    }

    /// Loads a program: decodes it, checks its helper calls against the prototypes and
    /// its program type, resolves its map references, and (for XDP) rewrites its context
    /// accesses. The verifier (a later issue) slots in before the fixup.
    pub fn load_program(&self, req: &ProgramLoad) -> Result<Arc<LoadedProgram>, ProgError> {
        let bytes: Vec<u8> = req.insns.iter().flat_map(|i| i.to_bytes()).collect();
        let prog = Program::decode(&bytes)?;
        let gpl = license_is_gpl_compatible(req.license);
        for (i, insn) in prog.insns().iter().enumerate() {
            if let Insn::Call { helper } = *insn {
                let pc = prog.pc_of(i);
                let id = helper as i64;
                let proto = u32::try_from(helper).ok().and_then(|h| linux::proto(h).copied().or_else(|| self.custom_helper(h).map(|c| c.0)));
                let Some(proto) = proto else { return Err(ProgError::UnknownHelper { pc, id, name: "unknown" }) };
                if linux::proto(proto.id).is_some() && !linux::allowed(req.prog_type, proto.id) {
                    return Err(ProgError::HelperNotAllowed { pc, id, name: proto.name, prog_type: req.prog_type.name() });
                }
                if proto.gpl_only && !gpl {
                    return Err(ProgError::GplOnly { pc, id, name: proto.name });
                }
            }
        }
        let (prog, maps) = self.fixup(&prog, req)?;
        let prog = if req.prog_type == ProgType::Xdp { context::convert_xdp_ctx(&prog)? } else { prog };
        let id = self.new_id();
        let map_regions = maps.iter().flat_map(|m| m.regions()).collect();
        let loaded = Arc::new(LoadedProgram {
            id,
            name: req.name.into(),
            prog_type: req.prog_type,
            gpl,
            interp: Interpreter::new(&prog),
            program: prog,
            maps,
            map_regions,
            #[cfg(feature = "jit")]
            jit: spin::Once::new(),
        });
        self.progs.write().insert(id, loaded.clone());
        Ok(loaded)
    }

    /// `resolve_pseudo_ldimm64`: map references become the map's handle (its address),
    /// map-value references the value's address.
    fn fixup(&self, prog: &Program, req: &ProgramLoad) -> Result<(Program, Vec<Arc<Map>>), ProgError> {
        use crate::errno::*;
        let mut maps: Vec<Arc<Map>> = Vec::new();
        let mut out = Vec::with_capacity(prog.insns().len());
        for (i, insn) in prog.insns().iter().enumerate() {
            let pc = prog.pc_of(i);
            let Insn::LdImm64 { kind, dst, imm, next_imm } = *insn else {
                out.push(*insn);
                continue;
            };
            let bad = |reason: String, errno: i32| ProgError::Lddw { pc, reason, errno };
            let map = match kind {
                LdKind::Imm64 => {
                    out.push(*insn);
                    continue;
                }
                LdKind::MapIdx | LdKind::MapValueIdx => (req.maps)(MapRef::Index(imm as u32)).map_err(|e| bad(e.reason, e.errno))?,
                LdKind::MapFd | LdKind::MapValueFd => (req.maps)(MapRef::Fd(imm)).map_err(|e| bad(e.reason, e.errno))?,
                LdKind::VarAddr | LdKind::CodeAddr => return Err(bad(format!("lddw source {} is not supported", kind.src()), EINVAL)),
            };
            let value = match kind {
                LdKind::MapIdx | LdKind::MapFd => {
                    if next_imm != 0 {
                        return Err(bad("map reference with a non-zero second immediate".into(), EINVAL));
                    }
                    Arc::as_ptr(&map) as u64
                }
                _ => map.direct_value_addr(next_imm as u32).map_err(|e| bad(format!("map {}: {}", map.name(), e.what), e.errno))?,
            };
            if !maps.iter().any(|m| Arc::ptr_eq(m, &map)) {
                maps.push(map);
                if maps.len() > crate::loader::MAX_USED_MAPS {
                    return Err(ProgError::TooManyMaps);
                }
            }
            out.push(Insn::LdImm64 { kind: LdKind::Imm64, dst, imm: value as i32, next_imm: (value >> 32) as i32 });
        }
        Ok((Program::new(out).expect("fixup keeps the program's shape"), maps))
    }

    /// Creates an object's maps (global data initialised, `.rodata` frozen), loads every
    /// program that loads automatically, and fills prog arrays' `values`.
    pub fn load_object(&self, obj: &Object) -> Result<LoadedObject, ObjectError> {
        let mut maps = Vec::new();
        for spec in &obj.maps {
            let merr = |err| ObjectError::Map { map: spec.name.clone(), err };
            let (id, map) = self.create_map(&spec.name, spec.def).map_err(merr)?;
            if let Some(data) = &spec.data {
                map.update(&0u32.to_ne_bytes(), data, BPF_ANY).map_err(merr)?;
            }
            if spec.freeze {
                map.freeze().map_err(merr)?;
            }
            maps.push(ObjectMap { id, map });
        }
        let by_index: Vec<Arc<Map>> = maps.iter().map(|m| m.map.clone()).collect();
        let resolve = fd_array(&by_index);
        let mut programs = Vec::new();
        for p in obj.programs.iter().filter(|p| p.kind.autoload) {
            let req = ProgramLoad { name: &p.name, prog_type: p.prog_type(), insns: &p.insns, license: &obj.license, maps: &resolve };
            let loaded = self.load_program(&req).map_err(|err| ObjectError::Program { program: p.name.clone(), err })?;
            programs.push(loaded);
        }
        for (spec, m) in obj.maps.iter().zip(&maps) {
            for (idx, prog) in &spec.prog_values {
                let Some(p) = programs.iter().find(|p| &p.name == prog) else { continue };
                m.map.update(&idx.to_ne_bytes(), &p.id.to_ne_bytes(), BPF_ANY).map_err(|err| ObjectError::Map { map: spec.name.clone(), err })?;
            }
        }
        Ok(LoadedObject { maps, programs })
    }

    /// Runs `prog` with `ctx` (and any tail calls it makes).
    pub fn run(&self, prog: &Arc<LoadedProgram>, ctx: &mut Context, opts: &RunOptions) -> Result<RunResult, RunError> {
        if !ctx.fits(prog.prog_type) {
            let context = match ctx {
                Context::Kprobe(_) => "kprobe",
                Context::Tracepoint(_) => "tracepoint",
                Context::RawTracepoint(_) => "raw_tracepoint",
                Context::Raw(_) => "raw memory",
                Context::Xdp { .. } => "xdp",
                Context::Skb { .. } => "__sk_buff",
            };
            return Err(RunError::WrongContext { context, prog_type: prog.prog_type.name() });
        }
        let cpu = self.cpus.claim();
        let frame = context::Frame::new(ctx);
        let mut cur = prog.clone();
        let mut tail_calls = 0;
        let mut executed = 0;
        loop {
            let mut regions = Vec::with_capacity(frame.regions.len() + cur.map_regions.len());
            regions.extend_from_slice(&frame.regions);
            regions.extend_from_slice(&cur.map_regions);
            let mut env = env::ProgEnv { rt: self, prog: cur.clone(), cpu: cpu.id, tail_calls, packet: frame.packet };
            let out = match opts.engine {
                Engine::Interp => cur.interp.run_with(frame.r1, frame.r2, regions, &mut env, opts, &mut NoTrace),
                Engine::Jit => cur.jit_program()?.run_with(frame.r1, frame.r2, regions, &mut env),
                Engine::Both => return Err(RunError::BothEngines),
            }
            .map_err(|err| RunError::Exec { program: cur.name.clone(), err })?;
            executed += out.insns_executed;
            match out.tail_call.and_then(|id| self.program(id as u32)) {
                Some(next) => {
                    tail_calls += 1;
                    cur = next;
                }
                None => return Ok(RunResult { r0: out.r0, insns_executed: executed, tail_calls, cpu: cpu.id }),
            }
        }
    }
}

/// Runtimes and programs are shared between threads.
const _: fn() = || {
    fn is<T: Send + Sync>() {}
    is::<Runtime>();
    is::<LoadedProgram>();
};

#[cfg(test)]
mod tests;
