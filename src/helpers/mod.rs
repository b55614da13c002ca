//! Helper functions and the environment a program runs in.
//!
//! An [`Env`] answers the two questions the ISA leaves to the platform: what a helper
//! call does, and what the pseudo 64-bit loads (map by fd, map value, variable and code
//! addresses) produce. Helpers live in a [`HelperSet`] keyed by id, one set per
//! environment: [`HelperSet::conformance`] is the set the ecosystem's `.data` suites
//! assume (uBPF and bpf2c's ids 0-5); the Linux program types bring the Linux ids.

pub mod linux;

use alloc::collections::BTreeMap;

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::interp::{Memory, Region};
use crate::isa::LdKind;

/// How a helper call ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Continue with r0 = the value.
    Continue(u64),
    /// Stop the program with r0 = the value (uBPF's unwind helper).
    Exit(u64),
    /// `bpf_tail_call` succeeded: stop this program and run the target (an opaque
    /// handle the environment understands) in its place, with the same r1.
    TailCall(u64),
}

/// A helper failure. Errors carry what was wrong; the interpreter adds where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HelperError {
    #[error("unknown helper id")]
    Unknown,
    #[error("pointer 0x{addr:x} (+{len} bytes) is outside the memory the program may access")]
    BadPointer { addr: u64, len: usize },
    #[error("{0}")]
    Invalid(&'static str),
    #[error("not provided by this environment")]
    Unavailable,
}

/// The platform side of a run.
pub trait Env {
    /// Calls helper `id` with r1-r5.
    fn call(&mut self, id: i64, args: [u64; 5], mem: &Memory) -> Result<Flow, HelperError>;
    /// Value of a pseudo `lddw` (src 1-6) at slot `pc`. Plain `lddw` (src 0) never comes here.
    fn ld_imm64(&mut self, kind: LdKind, imm: i32, next_imm: i32, pc: usize) -> Result<u64, HelperError> {
        let _ = (kind, imm, next_imm, pc);
        Err(HelperError::Unavailable)
    }
    /// Memory the environment lets programs access besides stack and input (map values,
    /// variables). Called once at the start of a run.
    fn regions(&mut self) -> Vec<Region> {
        Vec::new()
    }
}

/// A helper implementation: r1-r5 in, r0 out, memory through the checked view.
pub type HelperFn = fn(args: [u64; 5], mem: &Memory) -> Result<u64, HelperError>;

/// One registered helper.
#[derive(Clone, Copy, Debug)]
pub struct Helper {
    pub id: i64,
    pub name: &'static str,
    pub func: HelperFn,
    /// When the helper returns 0 the program stops with r0 = 0 (uBPF's unwind).
    pub unwind_on_zero: bool,
}

/// Helpers keyed by id.
#[derive(Clone, Debug, Default)]
pub struct HelperSet {
    helpers: BTreeMap<i64, Helper>,
}

impl HelperSet {
    pub fn new() -> HelperSet {
        HelperSet::default()
    }

    /// Adds or replaces a helper.
    pub fn register(&mut self, helper: Helper) {
        self.helpers.insert(helper.id, helper);
    }

    pub fn get(&self, id: i64) -> Option<&Helper> {
        self.helpers.get(&id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Helper> {
        self.helpers.values()
    }

    /// Calls helper `id`, applying its unwind rule.
    pub fn call(&self, id: i64, args: [u64; 5], mem: &Memory) -> Result<Flow, HelperError> {
        let h = self.helpers.get(&id).ok_or(HelperError::Unknown)?;
        let v = (h.func)(args, mem)?;
        Ok(if h.unwind_on_zero && v == 0 { Flow::Exit(0) } else { Flow::Continue(v) })
    }

    /// The test helpers that uBPF's and bpf2c's conformance plugins define (ids 0-5).
    pub fn conformance() -> HelperSet {
        let mut set = HelperSet::new();
        for (id, name, func, unwind) in [
            (0, "gather_bytes", gather_bytes as HelperFn, false),
            (1, "memfrob", memfrob as HelperFn, false),
            (2, "no_op", no_op as HelperFn, false),
            (3, "sqrti", sqrti as HelperFn, false),
            (4, "strcmp_ext", strcmp_ext as HelperFn, false),
            (5, "unwind", unwind as HelperFn, true),
        ] {
            set.register(Helper { id, name, func, unwind_on_zero: unwind });
        }
        set
    }
}

/// `(a&0xff)<<32 | (b&0xff)<<24 | (c&0xff)<<16 | (d&0xff)<<8 | (e&0xff)`.
fn gather_bytes(a: [u64; 5], _: &Memory) -> Result<u64, HelperError> {
    Ok((a[0] & 0xff) << 32 | (a[1] & 0xff) << 24 | (a[2] & 0xff) << 16 | (a[3] & 0xff) << 8 | (a[4] & 0xff))
}

/// XORs `len` bytes at `ptr` with 42; returns 0.
fn memfrob(a: [u64; 5], mem: &Memory) -> Result<u64, HelperError> {
    let len = usize::try_from(a[1]).map_err(|_| HelperError::Invalid("length does not fit in memory"))?;
    let mut buf = alloc::vec::Vec::from(mem.read(a[0], len)?);
    buf.iter_mut().for_each(|b| *b ^= 42);
    mem.write(a[0], &buf)?;
    Ok(0)
}

fn no_op(_: [u64; 5], _: &Memory) -> Result<u64, HelperError> {
    Ok(0)
}

/// Integer square root (floor).
fn sqrti(a: [u64; 5], _: &Memory) -> Result<u64, HelperError> {
    Ok(a[0].isqrt())
}

/// strcmp of two NUL-terminated strings: the difference of the first differing bytes,
/// sign-extended to 64 bits.
fn strcmp_ext(a: [u64; 5], mem: &Memory) -> Result<u64, HelperError> {
    const MAX: usize = 4096;
    let (x, y) = (mem.read_cstr(a[0], MAX)?, mem.read_cstr(a[1], MAX)?);
    let n = x.len().max(y.len());
    for i in 0..=n {
        let (p, q) = (*x.get(i).unwrap_or(&0), *y.get(i).unwrap_or(&0));
        if p != q {
            return Ok((p as i64 - q as i64) as u64);
        }
    }
    Ok(0)
}

/// Returns its argument; as the unwind helper, a 0 stops the program with r0 = 0.
fn unwind(a: [u64; 5], _: &Memory) -> Result<u64, HelperError> {
    Ok(a[0])
}

/// Size of the conformance environment's map value.
pub const CONFORMANCE_MAP_VALUE: usize = 64;

/// The environment of the conformance suites: the test helpers plus a minimal platform
/// for the pseudo loads, so that every `lddw` subtype has a runnable meaning:
/// map fd 1 = map index 0 = one array map whose single 64-byte value starts zeroed;
/// variable 0 = an 8-byte variable that starts zeroed. Nothing else exists.
pub struct ConformanceEnv {
    pub helpers: HelperSet,
    map_value: Box<[u8; CONFORMANCE_MAP_VALUE]>,
    var: Box<[u8; 8]>,
}

impl Default for ConformanceEnv {
    fn default() -> Self {
        ConformanceEnv { helpers: HelperSet::conformance(), map_value: Box::new([0; CONFORMANCE_MAP_VALUE]), var: Box::new([0; 8]) }
    }
}

impl ConformanceEnv {
    /// The map handle `lddw map_fd(1)` yields: an address programs cannot access.
    fn map_handle(&self) -> u64 {
        // One past the value's end: distinct from every accessible address.
        self.map_value.as_ptr() as u64 + CONFORMANCE_MAP_VALUE as u64
    }
}

impl Env for ConformanceEnv {
    fn call(&mut self, id: i64, args: [u64; 5], mem: &Memory) -> Result<Flow, HelperError> {
        self.helpers.call(id, args, mem)
    }

    /// `code_addr(imm)` is the slot index it names, `pc + 1 + imm`: a program can compare
    /// or pass it but has no way to jump through it, so the index is the address.
    fn ld_imm64(&mut self, kind: LdKind, imm: i32, next_imm: i32, pc: usize) -> Result<u64, HelperError> {
        let map = match kind {
            LdKind::MapFd | LdKind::MapValueFd => imm == 1,
            LdKind::MapIdx | LdKind::MapValueIdx => imm == 0,
            _ => false,
        };
        match kind {
            LdKind::CodeAddr => Ok((pc as i64 + 1 + imm as i64) as u64),
            LdKind::VarAddr if imm == 0 => Ok(self.var.as_ptr() as u64),
            LdKind::MapFd | LdKind::MapIdx if map => Ok(self.map_handle()),
            LdKind::MapValueFd | LdKind::MapValueIdx if map => {
                // Like the kernel, the offset must stay inside the value.
                if next_imm < 0 || next_imm as usize >= CONFORMANCE_MAP_VALUE {
                    return Err(HelperError::Invalid("map value offset outside the value"));
                }
                Ok(self.map_value.as_ptr() as u64 + next_imm as u64)
            }
            _ => Err(HelperError::Invalid("no such map or variable in the conformance environment")),
        }
    }

    fn regions(&mut self) -> Vec<Region> {
        alloc::vec![Region::of_mut(&mut self.map_value[..]), Region::of_mut(&mut self.var[..])]
    }
}
