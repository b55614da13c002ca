//! The verify stage: what must hold of a program before it may run.
//!
//! It receives the decoded program and a [`ProgramInfo`] (the program type and its
//! context descriptor, the helper prototypes, the maps its `lddw`s name, a log sink) and
//! returns what the later stages need ([`Verified`]): the maps the program uses, the value
//! of each pseudo `lddw`, the context loads to rewrite.
//!
//! Today it checks what the runtime checked at load time before there was a verifier:
//! every helper call names a helper this program type may call, GPL-only helpers need a
//! GPL-compatible license, every map reference resolves, and (for contexts that list
//! their fields, XDP's `xdp_md`) every context access is a load of one field, found by a
//! data-flow pass ([`ctx`]). The abstract-interpretation verifier (memory safety,
//! termination) grows here.

pub mod alu;
pub mod analyze;
pub mod call;
pub mod ctx;
pub mod domain;
pub mod jmp;
pub mod mem;
pub mod reg;
pub mod state;

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::errno::{E2BIG, EINVAL};
use crate::helpers::Proto;
use crate::isa::{HelperId, Insn, LdKind, Program};
use crate::maps::{Map, MAX_USED_MAPS};
use crate::prog::{CtxDescriptor, CtxField, ProgType, ProgTypes};
pub use ctx::CtxError;

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
    /// What r1 points to.
    pub ctx: &'a CtxDescriptor,
    /// The helper prototypes.
    pub helpers: &'a HelperLookup<'a>,
    /// Whether the license is GPL-compatible (for GPL-only helpers).
    pub gpl: bool,
    /// The maps the program's `lddw`s name (their key and value sizes, their memory).
    pub maps: &'a MapResolver<'a>,
    pub log: &'a mut dyn LogSink,
}

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
    #[error("{0}")]
    Context(#[from] CtxError),
    #[error("program uses more than {MAX_USED_MAPS} maps")]
    TooManyMaps,
}

impl VerifyError {
    /// The errno Linux gives for the same refusal.
    pub fn errno(&self) -> i32 {
        match self {
            VerifyError::Lddw { errno, .. } => *errno,
            VerifyError::TooManyMaps => E2BIG,
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
}

impl Verified {
    /// The value the pseudo `lddw` at `slot` loads.
    pub fn lddw_value(&self, slot: usize) -> Option<u64> {
        self.lddw.binary_search_by_key(&slot, |&(s, _)| s).ok().map(|k| self.lddw[k].1)
    }
}

/// Checks `prog` against `info`; on success, what the later stages need.
pub fn verify(prog: &Program, info: &mut ProgramInfo) -> Result<Verified, VerifyError> {
    check_helpers(prog, info)?;
    let mut verified = resolve_maps(prog, info)?;
    if !info.ctx.fields.is_empty() {
        verified.ctx_loads = ctx::ctx_loads(prog, info.ctx)?;
    }
    info.log.line(&format!("rvbpf: {} insns checked: decoding, helper prototypes, map references (no verifier yet)", prog.slot_count()));
    Ok(verified)
}

/// Every helper call names a helper that exists, that this program type may call and,
/// when it is GPL-only, a GPL-compatible program.
fn check_helpers(prog: &Program, info: &ProgramInfo) -> Result<(), VerifyError> {
    for (pc, insn) in prog.iter() {
        let Insn::Call { helper: id } = *insn else { continue };
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

/// The kernel's `resolve_pseudo_ldimm64`: each map reference resolves to a map, map
/// references become the map's handle (its address), map-value references the value's
/// address; the maps are collected in first-use order.
fn resolve_maps(prog: &Program, info: &ProgramInfo) -> Result<Verified, VerifyError> {
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
        if !maps.iter().any(|m| Arc::ptr_eq(m, &map)) {
            maps.push(map);
            if maps.len() > MAX_USED_MAPS {
                return Err(VerifyError::TooManyMaps);
            }
        }
    }
    Ok(Verified { maps, lddw: values, ctx_loads: Vec::new() })
}
