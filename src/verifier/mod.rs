//! The verify stage: what must hold of a program before it may run.
//!
//! It receives the decoded program and a [`ProgramInfo`] (the program type and its
//! context descriptor, the helper prototypes, the maps its `lddw`s name, a log sink and
//! level) and returns what the later stages need ([`Verified`]): the maps the program
//! uses, the value of each pseudo `lddw`, the context loads to rewrite, and the figures
//! of the analysis.
//!
//! First what needs no analysis: every helper call names a helper this program type may
//! call, GPL-only helpers need a GPL-compatible license, every map reference resolves.
//! Then the abstract interpretation ([`analyze`]): memory safety, type safety and
//! termination, proven for every path. What each instruction needs of the state is
//! stated in one place ([`check`]), apart from what it does ([`alu`], [`mem`], [`jmp`],
//! [`call`]). The context loads to rewrite are those whose
//! base register the analysis found to be the context.

/// `verifier_bug!(Name)`: whether the seeded verifier bug `Name` is on; `false`
/// without the feature.
#[macro_export]
#[doc(hidden)]
macro_rules! verifier_bug {
    ($bug:ident) => {{
        #[cfg(feature = "seeded-bugs")]
        let on = $crate::verifier::bugs::on($crate::verifier::bugs::Bug::$bug);
        #[cfg(not(feature = "seeded-bugs"))]
        let on = false;
        on
    }};
}

pub mod alu;
pub mod analyze;
#[cfg(feature = "seeded-bugs")]
pub mod bugs;
pub mod call;
pub mod check;
pub mod domain;
pub mod graph;
pub mod jmp;
pub mod log;
pub mod loops;
pub mod mem;
pub mod reg;
pub mod state;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::errno::{E2BIG, EINVAL};
use crate::helpers::Proto;
use crate::isa::{HelperId, Insn, LdKind, Program};
use crate::loader::co_re::POISON_IMM;
use crate::maps::{Map, MAX_USED_MAPS};
use crate::prog::{CtxDescriptor, CtxField, ProgType, ProgTypes};
use call::CallEnv;
use mem::MemEnv;
use state::State;

/// How an `lddw` names its map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapRef {
    /// `BPF_PSEUDO_MAP_IDX[_VALUE]`: an index into the load's `fd_array`.
    Index(u32),
    /// `BPF_PSEUDO_MAP_FD[_VALUE]`: a map fd.
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

/// The helpers a program may name: each id's prototype and the program types that may
/// call it.
pub type HelperLookup<'a> = dyn Fn(HelperId) -> Option<(Proto, ProgTypes)> + 'a;

/// Where the verifier's log goes, line by line (`BPF_PROG_LOAD`'s log buffer).
pub trait LogSink {
    fn line(&mut self, line: &str);

    /// One instruction (`pc`, `(opcode) asm`) with every state that reaches it, each in
    /// the kernel's notation (levels 1 and 2). As text: the states, then the instruction.
    fn insn(&mut self, pc: usize, text: &str, states: &[String]) {
        for s in states {
            self.line(&format!("{pc}: {s}"));
        }
        self.line(&format!("{pc}: {text}"));
    }
}

impl LogSink for String {
    fn line(&mut self, line: &str) {
        self.push_str(line);
        self.push('\n');
    }
}

/// A sink that keeps nothing.
pub struct NoLog;

impl LogSink for NoLog {
    fn line(&mut self, _: &str) {}
}

/// What the verify stage knows about the program it checks, beyond its instructions.
pub struct ProgramInfo<'a> {
    pub prog_type: ProgType,
    /// Its `expected_attach_type` ([`crate::prog::attach`]), where it has one: some decide
    /// the return range.
    pub attach: Option<u32>,
    /// What r1 points to.
    pub ctx: &'a CtxDescriptor,
    /// The helper prototypes.
    pub helpers: &'a HelperLookup<'a>,
    /// Whether the license is GPL-compatible (for GPL-only helpers).
    pub gpl: bool,
    /// The maps the program's `lddw`s name (their key and value sizes, their memory).
    pub maps: &'a MapResolver<'a>,
    pub log: &'a mut dyn LogSink,
    /// 0: nothing; 1: a refusal's instruction, states and reason, and the stats; 2: every
    /// The program returns nothing (a struct_ops member of `void` type): r0 is not
    /// checked at its exit.
    pub returns_void: bool,
    /// instruction with its states, and the stats.
    pub log_level: u32,
    /// Microseconds from some fixed point, for the log's `verification time` (none in a
    /// core without a clock).
    pub clock: Option<&'a dyn Fn() -> u64>,
}

/// The most instructions the analysis processes before it refuses the program (the
/// kernel's `BPF_COMPLEXITY_LIMIT_INSNS`).
pub const MAX_PROCESSED: usize = 1_000_000;

/// The most time the analysis may take, where there is a clock (microseconds).
pub const MAX_USEC: u64 = 5_000_000;

/// Why a program was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("instruction {pc}: unknown func {name}#{id}")]
    UnknownHelper { pc: usize, id: HelperId, name: &'static str },
    #[error("instruction {pc}: program of type {prog_type} is not allowed to call {name}#{id}")]
    HelperNotAllowed { pc: usize, id: HelperId, name: &'static str, prog_type: &'static str },
    #[error("instruction {pc}: cannot call GPL-restricted function {name}#{id} from non-GPL compatible program")]
    GplOnly { pc: usize, id: HelperId, name: &'static str },
    #[error("instruction {pc}: {reason}")]
    Lddw { pc: usize, reason: String, errno: i32 },
    #[error("program uses more than {MAX_USED_MAPS} maps")]
    TooManyMaps,
    /// The analysis refused the program: an unsafe instruction (`pc`), a loop not proven
    /// to end, an unreachable instruction, or no fixpoint within [`MAX_PROCESSED`].
    #[error("{0}")]
    Unsafe(analyze::AnalysisError),
    #[error("instruction {pc}: same insn cannot be used with different pointers")]
    CtxAmbiguous { pc: usize },
}

impl VerifyError {
    /// The errno Linux gives for the same refusal.
    pub fn errno(&self) -> i32 {
        use analyze::AnalysisError;
        match self {
            VerifyError::Lddw { errno, .. } => *errno,
            VerifyError::TooManyMaps | VerifyError::Unsafe(AnalysisError::NoFixpoint(_) | AnalysisError::TimeOut(_)) => E2BIG,
            VerifyError::Unsafe(AnalysisError::At { errno, .. }) => *errno,
            _ => EINVAL,
        }
    }
}

/// What verification established, for the stages after it.
pub struct Verified {
    /// The maps the program uses, in first-use order (the kernel's `used_maps`).
    pub maps: Vec<Arc<Map>>,
    /// The value each pseudo `lddw` loads, by slot in program order: a map's handle
    /// (its address) or the address inside a map value.
    pub lddw: Vec<(usize, u64)>,
    /// The context loads the context-rewrite stage converts, by slot in program order.
    pub ctx_loads: Vec<(usize, &'static CtxField)>,
    /// Instructions the analysis processed (the kernel's `processed N insns`).
    pub processed: usize,
    /// The loops and the iteration bound of each.
    pub loops: Vec<loops::Bound>,
    /// The loads and stores the analysis proved, which verified mode runs unchecked.
    pub proven: crate::interp::Proven,
}

impl Verified {
    /// The value the pseudo `lddw` at `slot` loads.
    pub fn lddw_value(&self, slot: usize) -> Option<u64> {
        self.lddw.binary_search_by_key(&slot, |&(s, _)| s).ok().map(|k| self.lddw[k].1)
    }
}

/// Checks `prog` against `info`; on success, what the later stages need.
pub fn verify(prog: &Program, info: &mut ProgramInfo) -> Result<Verified, VerifyError> {
    verify_with_states(prog, info).0
}

/// [`verify`], with the analysis's states when the analysis ran (for tests that state
/// facts at instructions, and for tools).
pub fn verify_with_states(prog: &Program, info: &mut ProgramInfo) -> (Result<Verified, VerifyError>, Option<analyze::Analysis>) {
    let start = info.clock.map(|c| c());
    if let Err(e) = check_helpers(prog, info) {
        return (Err(e), None);
    }
    let (mut verified, index) = match resolve_maps(prog, info) {
        Ok(v) => v,
        Err(e) => return (Err(e), None),
    };
    let maps = &verified.maps;
    // The definition of map `m`, or of the inner template of map-in-map `m & !INNER`.
    let def = |m: u32| {
        let map = maps.get((m & !reg::INNER) as usize)?;
        if m & reg::INNER == 0 {
            return Some(*map.def());
        }
        map.of_maps().map(|o| *o.template())
    };
    let value_size = |m: u32| def(m).map(|d| d.value_size);
    let key_size = |m: u32| def(m).map(|d| d.key_size);
    let map_type = |m: u32| def(m).map(|d| d.map_type);
    let mem = MemEnv { ctx: info.ctx, value_size: &value_size };
    let helpers = info.helpers;
    let helper = |id| helpers(id).map(|(p, _)| p);
    let map = |kind: LdKind, imm: i32| index.get(&(matches!(kind, LdKind::MapIdx | LdKind::MapValueIdx), imm)).copied();
    let env = CallEnv { mem: &mem, key_size: &key_size, map_type: &map_type, helper: &helper, map: &map, var: &|_| None };
    let deadline = info.clock.zip(start).map(|(c, s)| (c, s + MAX_USEC));
    let opts = analyze::Options { env: &env, entry: State::entry(), ret: info.prog_type.ret_at(info.attach), returns_void: info.returns_void, max_steps: MAX_PROCESSED, deadline };
    let result = analyze::analyze(prog, &opts);
    let (analysis, refused) = match result {
        Ok(a) => (a, None),
        Err(r) => (*r.analysis, Some(r.error)),
    };
    let ctx_loads = if refused.is_none() { ctx_loads(prog, &analysis, info.ctx) } else { Ok(Vec::new()) };
    let elapsed = start.zip(info.clock).map(|(s, c)| c().saturating_sub(s));
    log::write(prog, &analysis, refused.as_ref(), info.log_level, elapsed, info.log);
    if let Some(e) = refused {
        return (Err(VerifyError::Unsafe(e)), Some(analysis));
    }
    match ctx_loads {
        Ok(c) => verified.ctx_loads = c,
        Err(e) => return (Err(e), Some(analysis)),
    }
    verified.processed = analysis.steps;
    verified.loops = analysis.loops.clone();
    verified.proven = analysis.proven(prog);
    (Ok(verified), Some(analysis))
}

/// The loads of a field of a context the runtime lays out differently (`rewrite`): each
/// load whose base register every state at the instruction holds as the context (the
/// kernel's `convert_ctx_accesses`, driven by its register types). An access through a register
/// that is the context in one call context and not in another cannot be rewritten.
fn ctx_loads(prog: &Program, a: &analyze::Analysis, ctx: &CtxDescriptor) -> Result<Vec<(usize, &'static CtxField)>, VerifyError> {
    use reg::{Kind, Region};
    let mut out = Vec::new();
    for (i, insn) in prog.insns().iter().enumerate() {
        let (base, off, size) = match *insn {
            Insn::Ldx { src, off, size, .. } => (src, off, size),
            Insn::Stx { dst, off, size, .. } | Insn::St { dst, off, size, .. } | Insn::Atomic { dst, off, size, .. } => (dst, off, size),
            _ => continue,
        };
        let states = a.at(i);
        let is_ctx = |s: &&&State| s.regs[base.index()].kind == Kind::Ptr(Region::Ctx);
        let n = states.iter().filter(is_ctx).count();
        if n == 0 {
            continue;
        }
        let pc = prog.cfg().slot_of(i);
        if n != states.len() {
            return Err(VerifyError::CtxAmbiguous { pc });
        }
        if !ctx.rewrite {
            continue;
        }
        // The analysis checked that the access is a load of one listed field at a
        // constant offset, the same in every state.
        let field = states[0].regs[base.index()].constant().and_then(|k| ctx.field((k as i64 + off as i64) as i16, size.bytes()));
        match field {
            Some(f) if states.iter().all(|s| s.regs[base.index()].constant() == states[0].regs[base.index()].constant()) => out.push((pc, f)),
            _ => return Err(VerifyError::CtxAmbiguous { pc }),
        }
    }
    Ok(out)
}

/// Every helper call names a helper that exists, that this program type may call and,
/// when it is GPL-only, a GPL-compatible program. A call the loader poisoned (an
/// unsatisfied CO-RE relocation) is left to the analysis, which refuses it only where it
/// is reachable, as the kernel does.
fn check_helpers(prog: &Program, info: &ProgramInfo) -> Result<(), VerifyError> {
    for (pc, insn) in prog.iter() {
        let Insn::Call { helper: id } = *insn else { continue };
        if id.get() == POISON_IMM {
            continue;
        }
        let Some((proto, types)) = (info.helpers)(id) else { return Err(VerifyError::UnknownHelper { pc, id, name: "unknown" }) };
        if !types.contains(info.prog_type) {
            return Err(VerifyError::HelperNotAllowed { pc, id, name: proto.name, prog_type: info.prog_type.name() });
        }
        if proto.gpl_only && !info.gpl {
            return Err(VerifyError::GplOnly { pc, id, name: proto.name });
        }
    }
    Ok(())
}

/// Each map reference by how it names its map (by `fd_array` index or not, and the
/// immediate), to the map's index in the program's map list.
type MapIndex = BTreeMap<(bool, i32), u32>;

/// The kernel's `resolve_pseudo_ldimm64`: each map reference resolves to a map, map
/// references become the map's handle (its address), map-value references the value's
/// address; the maps are collected in first-use order, and each reference's map index
/// is kept for the analysis.
fn resolve_maps(prog: &Program, info: &ProgramInfo) -> Result<(Verified, MapIndex), VerifyError> {
    let mut index = MapIndex::new();
    let mut maps: Vec<Arc<Map>> = Vec::new();
    let mut values = Vec::new();
    for (pc, insn) in prog.iter() {
        let Insn::LdImm64 { kind, imm, next_imm, .. } = *insn else { continue };
        let bad = |reason: String, errno: i32| VerifyError::Lddw { pc, reason, errno };
        let map = match kind {
            LdKind::Imm64 => continue,
            LdKind::MapIdx | LdKind::MapValueIdx => (info.maps)(MapRef::Index(imm as u32)).map_err(|e| bad(e.reason, e.errno))?,
            LdKind::MapFd | LdKind::MapValueFd => (info.maps)(MapRef::Fd(imm)).map_err(|e| bad(e.reason, e.errno))?,
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
        values.push((pc, value));
        let k = match maps.iter().position(|m| Arc::ptr_eq(m, &map)) {
            Some(k) => k,
            None => {
                maps.push(map);
                if maps.len() > MAX_USED_MAPS {
                    return Err(VerifyError::TooManyMaps);
                }
                maps.len() - 1
            }
        };
        index.insert((matches!(kind, LdKind::MapIdx | LdKind::MapValueIdx), imm), k as u32);
    }
    Ok((Verified { maps, lddw: values, ctx_loads: Vec::new(), processed: 0, loops: Vec::new(), proven: Default::default() }, index))
}
