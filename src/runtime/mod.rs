//! The runtime: maps and programs live here, programs run here, hooks fire here.
//!
//! A [`Runtime`] is what an OS kernel embeds (and what the hosted CLI uses):
//! - it owns maps and loaded programs, by id;
//! - [`Runtime::load_program`] is the pipeline as named stages: **decode** the
//!   instructions, **verify** them ([`crate::verifier`], which also resolves the map
//!   references), **fix up** the pseudo `lddw` forms into the addresses verification
//!   resolved (Linux's `convert_pseudo_ld_imm64`), **rewrite** context accesses into
//!   rvbpf's own layout (Linux's `convert_ctx_accesses`), and the program is **ready**;
//! - [`Runtime::run`] runs a program on a CPU claimed from a pool: at most one program
//!   runs on a CPU at a time, as with Linux's disabled preemption, so per-CPU map values
//!   are never shared between concurrent runs;
//! - the kernel services helpers need (time, current task, trace output, reading
//!   kernel memory) come from a [`Kernel`] the integrator implements;
//! - [`hooks`] are named attach points; [`syscall`] is the `bpf()` command layer.

pub mod context;
pub mod env;
pub mod hooks;
pub mod syscall;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use spin::RwLock;

use crate::env::HelperError;
use crate::helpers::{self, HelperCall, Proto};
use crate::interp::{ExecError, Interpreter, NoTrace, RunOptions, Tracer, DEFAULT_BUDGET};
use crate::isa::{DecodeError, HelperId, Program, RawInsn};
use crate::loader::Object;
use crate::maps::{Map, MapDef, MapError, BPF_ANY};
use crate::mem::{Region, Stack};
use crate::prog::{ProgType, ProgTypes};
use crate::verifier::{self, LogSink, NoLog, ProgramInfo, Verified, VerifyError};
pub use crate::helpers::{Kernel, ReadFault, StaticKernel, Task, MAX_TAIL_CALLS};
pub use crate::verifier::{MapRef, MapRefError, MapResolver};
pub use context::{Context, PtRegs};

#[cfg(feature = "std")]
mod host;
#[cfg(feature = "std")]
pub use host::HostKernel;

/// Which implementation executes programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Engine {
    /// The reference interpreter.
    #[default]
    Interp,
    /// The RV64 JIT (executes on riscv64 only).
    Jit,
    /// Both, on separate copies of the input; any difference is an error.
    Both,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Interp => "interp",
            Engine::Jit => "jit",
            Engine::Both => "both",
        }
    }

    /// Whether JIT code runs (and so only programs a verifier would accept may run).
    pub fn uses_jit(self) -> bool {
        self != Engine::Interp
    }
}

/// How the runtime runs a program.
#[derive(Clone, Copy, Debug)]
pub struct RunConfig {
    pub engine: Engine,
    /// The interpreter's instruction budget (JIT code is not metered: the verifier bounds it).
    pub budget: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig { engine: Engine::Interp, budget: DEFAULT_BUDGET }
    }
}

/// CPUs a run can be placed on; one run per CPU at a time. A run takes the lowest free
/// CPU, so runs one after another all land on CPU 0, like a pinned thread on Linux.
struct CpuPool {
    busy: Vec<AtomicBool>,
    /// Each CPU's stack and context storage, made on its first run there. Only the run
    /// that holds the CPU locks them, so the lock is never contended.
    scratch: Vec<spin::Mutex<Option<CpuScratch>>>,
}

/// What a run on one CPU works in, kept from run to run.
struct CpuScratch {
    stack: Stack,
    ctx: alloc::boxed::Box<context::CtxStorage>,
}

struct CpuGuard<'a> {
    pool: &'a CpuPool,
    id: u32,
}

impl CpuGuard<'_> {
    /// The scratch of the CPU this run holds.
    fn scratch(&self) -> spin::MutexGuard<'_, Option<CpuScratch>> {
        self.pool.scratch[self.id as usize].lock()
    }
}

impl Drop for CpuGuard<'_> {
    fn drop(&mut self) {
        self.pool.busy[self.id as usize].store(false, Ordering::Release);
    }
}

impl CpuPool {
    fn new(n: u32) -> CpuPool {
        CpuPool { busy: (0..n).map(|_| AtomicBool::new(false)).collect(), scratch: (0..n).map(|_| spin::Mutex::new(None)).collect() }
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

/// Why a program was refused at load time: the stage that refused it and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProgError {
    #[error("{0}")]
    Decode(#[from] DecodeError),
    #[error("{0}")]
    Verify(#[from] VerifyError),
}

impl ProgError {
    /// The errno Linux gives for the same refusal.
    pub fn errno(&self) -> i32 {
        match self {
            ProgError::Decode(_) => crate::errno::EINVAL,
            ProgError::Verify(e) => e.errno(),
        }
    }
}

/// A program to load: the `BPF_PROG_LOAD` fields rvbpf reads.
pub struct ProgramLoad<'a> {
    pub name: &'a str,
    pub prog_type: ProgType,
    /// `expected_attach_type` ([`crate::prog::attach`]), where given: it may change the
    /// context and the return range.
    pub attach: Option<u32>,
    pub insns: &'a [RawInsn],
    pub license: &'a str,
    /// Names of the program's functions by first slot (the loader's function list;
    /// empty: the functions are named `func#N`).
    pub functions: &'a [(String, usize)],
    /// The map an `lddw` names: by `fd_array` index (`BPF_PSEUDO_MAP_IDX[_VALUE]`) or by
    /// fd (`BPF_PSEUDO_MAP_FD[_VALUE]`). [`fd_array`] makes one from a list of maps.
    pub maps: &'a MapResolver<'a>,
    /// The program implements a function that returns nothing (a struct_ops member of
    /// `void` type): r0 is not checked at its exit, as in Linux's `check_return_code`.
    pub returns_void: bool,
    /// The verifier log's level (`BPF_PROG_LOAD`'s `log_level`): 0 none, 1 a refusal's
    /// reason and the stats, 2 every instruction.
    pub log_level: u32,
}

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
    map_regions: Vec<Region>,
    /// The interpreter in verified mode (the oracle and `--trace` make a checked one).
    interp: Interpreter,
    /// The JIT-compiled program, made on the first JIT run.
    #[cfg(feature = "jit")]
    jit: spin::Once<Result<crate::jit::rv64::exec::JitProgram, crate::jit::rv64::error::JitError>>,
}

impl LoadedProgram {
    /// The program JIT-compiled (on first use; later runs share the code).
    #[cfg(feature = "jit")]
    fn jit_program(&self) -> Result<&crate::jit::rv64::exec::JitProgram, RunError> {
        let jit = self.jit.call_once(|| jit_compile(&self.program, JitCheck::Prove));
        jit.as_ref().map_err(|e| RunError::Jit { program: self.name.clone(), err: e.to_string() })
    }

    #[cfg(not(feature = "jit"))]
    fn jit_program(&self) -> Result<NoJit, RunError> {
        Err(RunError::Jit { program: self.name.clone(), err: "this rvbpf was built without the `jit` feature".into() })
    }
}

/// Whether [`jit_compile`] proves the image before it is mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JitCheck {
    /// Translation validation (`smt::validate`) in builds with the `smt` feature; builds
    /// without z3 (the riscv64 build) cannot check and map the image unchecked.
    Prove,
    /// The caller's explicit choice: map the image without proving it.
    Skip,
}

/// Compiles `prog` (lddw resolved) and, unless told not to, proves the image with z3
/// before its code can run: the "check" of load → verify → JIT → check → run.
#[cfg(feature = "jit")]
pub fn jit_compile(prog: &Program, check: JitCheck) -> Result<crate::jit::rv64::exec::JitProgram, crate::jit::rv64::error::JitError> {
    let image = crate::jit::rv64::emit::compile(prog, Default::default())?;
    #[cfg(feature = "smt")]
    if check == JitCheck::Prove {
        let report = crate::smt::validate(prog, &image);
        let refused = report.failures().next().map(|v| {
            let at = v.pc.map_or_else(|| v.what.clone(), |pc| alloc::format!("pc {pc} ({})", v.what));
            alloc::format!("{at}: {}", v.result.as_ref().err().map(|e| e.to_string()).unwrap_or_default())
        });
        if let Some(why) = refused {
            return Err(crate::jit::rv64::error::JitError::Refused(why));
        }
    }
    #[cfg(not(feature = "smt"))]
    let _ = check;
    crate::jit::rv64::exec::JitProgram::from_image(image)
}

/// Stands in for the JIT in builds without it.
#[cfg(not(feature = "jit"))]
enum NoJit {}

#[cfg(not(feature = "jit"))]
impl NoJit {
    fn run_on(&self, _: &mut Stack, _: u64, _: u64, _: crate::mem::Regions<'_>, _: &mut dyn crate::env::Env) -> Result<crate::interp::Outcome, ExecError> {
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
    custom: RwLock<BTreeMap<HelperId, (Proto, HelperImpl)>>,
    /// Maps pinned by name (`LIBBPF_PIN_BY_NAME`): the runtime's own namespace, in place of
    /// the files libbpf would make under `/sys/fs/bpf`.
    pinned: RwLock<BTreeMap<String, ObjectMap>>,
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
    /// libbpf's `map_is_reuse_compat`: a map pinned by name is reused only with the same
    /// definition.
    #[error("map {map}: pinned by name with another definition ({pinned}), not this object's ({wanted})")]
    PinnedIncompatible { map: String, pinned: String, wanted: String },
}

/// A map definition as a message shows it.
fn def_text(d: &MapDef) -> String {
    format!("type {} key {} value {} max_entries {} flags {:#x}", crate::maps::map_type::name(d.map_type), d.key_size, d.value_size, d.max_entries, d.map_flags)
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
            pinned: RwLock::new(BTreeMap::new()),
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

    /// Creates an array or hash of maps whose elements must match `inner`
    /// (`BPF_MAP_CREATE` with `inner_map_fd`); returns its id.
    pub fn create_map_of_maps(&self, name: &str, def: MapDef, inner: &Map) -> Result<(u32, Arc<Map>), MapError> {
        let map = Arc::new(Map::create_of_maps(name, def, inner, self.ncpus)?);
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
        if helpers::linux(proto.id).is_some() {
            return Err(MapError { errno: crate::errno::EEXIST, what: "helper id belongs to a Linux helper" });
        }
        self.custom.write().insert(proto.id, (proto, f));
        Ok(())
    }

    fn custom_helper(&self, id: HelperId) -> Option<(Proto, HelperImpl)> {
        self.custom.read().get(&id).cloned()
    }

    /// The helper `id` as the verifier sees it: a Linux helper with the program types
    /// that may call it, or an integrator's, which every type may call.
    fn helper_signature(&self, id: HelperId) -> Option<(Proto, ProgTypes)> {
        match helpers::linux(id) {
            Some(h) => Some((h.proto, h.types)),
            None => self.custom_helper(id).map(|(p, _)| (p, ProgTypes::ALL)),
        }
    }

    /// Loads a program through the pipeline's stages (see the module doc).
    pub fn load_program(&self, req: &ProgramLoad) -> Result<Arc<LoadedProgram>, ProgError> {
        self.load_program_logged(req, &mut NoLog)
    }

    /// [`Runtime::load_program`], writing the verifier's log to `log`: what it checked,
    /// or the line that says why the program was refused.
    pub fn load_program_logged(&self, req: &ProgramLoad, log: &mut dyn LogSink) -> Result<Arc<LoadedProgram>, ProgError> {
        let loaded = self.stages(req, log);
        match &loaded {
            // The analysis's log already ends with its reason (and the stats after it).
            Err(ProgError::Verify(VerifyError::Unsafe(_))) if req.log_level > 0 => {}
            Err(e) => log.line(&e.to_string()),
            Ok(_) => {}
        }
        loaded
    }

    fn stages(&self, req: &ProgramLoad, log: &mut dyn LogSink) -> Result<Arc<LoadedProgram>, ProgError> {
        // decode
        let prog = Program::from_raw(req.insns)?.with_names(req.functions)?;
        // verify (resolving the map references)
        let gpl = license_is_gpl_compatible(req.license);
        let helpers = |id| self.helper_signature(id);
        #[cfg(feature = "std")]
        let clock = || std::time::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_micros() as u64);
        #[cfg(feature = "std")]
        let clock: Option<&dyn Fn() -> u64> = Some(&clock);
        #[cfg(not(feature = "std"))]
        let clock = None;
        let mut info = ProgramInfo { prog_type: req.prog_type, attach: req.attach, ctx: req.prog_type.ctx_at(req.attach), helpers: &helpers, gpl, maps: req.maps, log, returns_void: req.returns_void, log_level: req.log_level, clock };
        let verified = verifier::verify(&prog, &mut info)?;
        // fix up ld_imm64, then rewrite context accesses
        let prog = context::convert_ctx_accesses(fixup(&prog, &verified), req.prog_type, &verified.ctx_loads);
        // ready
        let id = self.new_id();
        let map_regions = verified.maps.iter().flat_map(|m| m.regions()).collect();
        let loaded = Arc::new(LoadedProgram {
            id,
            name: req.name.into(),
            prog_type: req.prog_type,
            gpl,
            interp: Interpreter::verified(&prog, &verified.proven.for_rewrite(&prog)),
            program: prog,
            maps: verified.maps,
            map_regions,
            #[cfg(feature = "jit")]
            jit: spin::Once::new(),
        });
        self.progs.write().insert(id, loaded.clone());
        Ok(loaded)
    }

    /// Creates an object's maps (global data initialised, `.rodata` frozen), loads every
    /// program that loads automatically, and fills prog arrays' `values`.
    pub fn load_object(&self, obj: &Object) -> Result<LoadedObject, ObjectError> {
        let maps = self.create_object_maps(obj)?;
        let by_index: Vec<Arc<Map>> = maps.iter().map(|m| m.map.clone()).collect();
        let resolve = fd_array(&by_index);
        let mut programs = Vec::new();
        for p in obj.programs.iter().filter(|p| p.kind.autoload) {
            let req = ProgramLoad { name: &p.name, prog_type: p.prog_type(), attach: p.kind.attach_type, insns: &p.insns, license: &obj.license, functions: &p.functions, maps: &resolve, returns_void: p.returns_void(), log_level: 0 };
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

    /// Creates an object's maps, in the object's order: global data initialised,
    /// `.rodata` frozen (what [`Runtime::load_object`] does before its programs).
    pub fn create_object_maps(&self, obj: &Object) -> Result<Vec<ObjectMap>, ObjectError> {
        let mut maps = Vec::new();
        for spec in &obj.maps {
            let merr = |err| ObjectError::Map { map: spec.name.clone(), err };
            let by_name = spec.pinning == crate::loader::Pinning::ByName;
            // A map pinned by name is reused as it is (libbpf: no initial data again).
            if let Some(old) = by_name.then(|| self.pinned.read().get(&spec.name).cloned()).flatten() {
                let (have, want) = (*old.map.def(), spec.def);
                if have != want {
                    return Err(ObjectError::PinnedIncompatible { map: spec.name.clone(), pinned: def_text(&have), wanted: def_text(&want) });
                }
                maps.push(old);
                continue;
            }
            let (id, map) = match &spec.inner {
                // As libbpf: the template is created, serves the outer map's creation,
                // and goes.
                Some(t) => {
                    let template = Map::create("inner", *t, self.ncpus).map_err(merr)?;
                    self.create_map_of_maps(&spec.name, spec.def, &template).map_err(merr)?
                }
                None => self.create_map(&spec.name, spec.def).map_err(merr)?,
            };
            if let Some(data) = &spec.data {
                map.update(&0u32.to_ne_bytes(), data, BPF_ANY).map_err(merr)?;
            }
            if spec.freeze {
                map.freeze().map_err(merr)?;
            }
            if by_name {
                self.pinned.write().insert(spec.name.clone(), ObjectMap { id, map: map.clone() });
            }
            maps.push(ObjectMap { id, map });
        }
        // Maps-in-maps' `values`, once every map exists.
        for (spec, outer) in obj.maps.iter().zip(&maps) {
            for (idx, name) in &spec.map_values {
                let merr = |err| ObjectError::Map { map: spec.name.clone(), err };
                let inner = obj.maps.iter().position(|m| &m.name == name).map(|k| &maps[k]);
                let Some(inner) = inner else { return Err(merr(MapError { errno: crate::errno::ENOENT, what: "a `values` entry names no map of the object" })) };
                outer.map.update_inner(&idx.to_ne_bytes(), inner.id, &inner.map, BPF_ANY).map_err(merr)?;
            }
        }
        Ok(maps)
    }

    /// The map pinned by name `name` (`LIBBPF_PIN_BY_NAME`), if an object pinned one.
    pub fn pinned_map(&self, name: &str) -> Option<ObjectMap> {
        self.pinned.read().get(name).cloned()
    }

    /// Unpins the map pinned by name `name`; the next object that pins one by that name
    /// creates it afresh. The map lives on while programs use it.
    pub fn unpin(&self, name: &str) -> Option<ObjectMap> {
        self.pinned.write().remove(name)
    }

    /// Runs `prog` with `ctx` (and any tail calls it makes).
    pub fn run(&self, prog: &Arc<LoadedProgram>, ctx: &mut Context, opts: &RunConfig) -> Result<RunResult, RunError> {
        self.run_inner(prog, ctx, opts, false, &mut NoTrace)
    }

    /// Runs `prog` with `ctx` in the checked interpreter with exact regions (each map
    /// value its own region of `value_size` bytes: [`Map::exact_regions`]), reporting
    /// each step to `tracer`: the soundness oracle's run. The engine in `opts` is ignored.
    pub fn run_checked<T: Tracer>(&self, prog: &Arc<LoadedProgram>, ctx: &mut Context, opts: &RunConfig, tracer: &mut T) -> Result<RunResult, RunError> {
        self.run_inner(prog, ctx, &RunConfig { engine: Engine::Interp, ..*opts }, true, tracer)
    }

    /// [`Runtime::run`] on the interpreter as loaded (verified mode), reporting each step
    /// to `tracer`. The engine in `opts` is ignored.
    pub fn run_traced<T: Tracer>(&self, prog: &Arc<LoadedProgram>, ctx: &mut Context, opts: &RunConfig, tracer: &mut T) -> Result<RunResult, RunError> {
        self.run_inner(prog, ctx, &RunConfig { engine: Engine::Interp, ..*opts }, false, tracer)
    }

    fn run_inner<T: Tracer>(&self, prog: &Arc<LoadedProgram>, ctx: &mut Context, opts: &RunConfig, exact: bool, tracer: &mut T) -> Result<RunResult, RunError> {
        if !ctx.fits(prog.prog_type) {
            return Err(RunError::WrongContext { context: ctx.kind(), prog_type: prog.prog_type.name() });
        }
        let cpu = self.cpus.claim();
        let mut scratch = cpu.scratch();
        let scratch = scratch.get_or_insert_with(|| CpuScratch { stack: Stack::new(), ctx: alloc::boxed::Box::new([0; context::CTX_WORDS]) });
        let ctx_mem = context::ContextMemory::new(ctx, &mut scratch.ctx);
        let stack = &mut scratch.stack;
        let interp = RunOptions { budget: opts.budget };
        let mut cur = prog.clone();
        let mut tail_calls = 0;
        let mut executed = 0;
        loop {
            // The inner maps held now stay alive, and accessible, until the run ends (as
            // RCU keeps them in Linux). A program without maps-in-maps allocates nothing here.
            let inner: Vec<Arc<Map>> = cur.maps.iter().filter_map(|m| m.of_maps()).flat_map(|o| o.inner_maps()).collect();
            let (maps, inner_regions): (Vec<Region>, Vec<Region>) = if exact {
                (cur.maps.iter().chain(&inner).flat_map(|m| m.exact_regions()).collect(), Vec::new())
            } else {
                (Vec::new(), inner.iter().flat_map(|m| m.regions()).collect())
            };
            let maps = if exact { &maps[..] } else { &cur.map_regions[..] };
            let regions = [&ctx_mem.regions[..], maps, &inner_regions[..], &[]];
            let mut env = env::ProgEnv { rt: self, prog: cur.clone(), cpu: cpu.id, tail_calls, packet: ctx_mem.packet, inner: &inner };
            let out = match opts.engine {
                // The oracle's and `--trace`'s run checks every access itself.
                Engine::Interp if exact => Interpreter::new(&cur.program).run_on(stack, ctx_mem.r1, ctx_mem.r2, regions, &mut env, &interp, tracer),
                Engine::Interp => cur.interp.run_on(stack, ctx_mem.r1, ctx_mem.r2, regions, &mut env, &interp, tracer),
                Engine::Jit => cur.jit_program()?.run_on(stack, ctx_mem.r1, ctx_mem.r2, regions, &mut env),
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

/// The fix-up stage (Linux's `convert_pseudo_ld_imm64`): every pseudo `lddw` loads the
/// value verification resolved for it.
fn fixup(prog: &Program, verified: &Verified) -> Program {
    let resolved = prog.resolve_lddw(|pc, _, _, _| verified.lddw_value(pc).ok_or(pc));
    // Verification resolves every pseudo lddw or refuses the program.
    resolved.unwrap_or_else(|pc| unreachable!("verification left the lddw at slot {pc} unresolved"))
}

/// Tail calls find their targets among the loaded programs.
impl helpers::Programs for Runtime {
    fn prog_type(&self, id: u32) -> Option<ProgType> {
        self.program(id).map(|p| p.prog_type)
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
