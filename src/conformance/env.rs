//! The environment the conformance suites assume: the test helpers (ids 0-5) and a
//! minimal platform for the pseudo loads, so that every `lddw` subtype has a meaning.

use alloc::boxed::Box;

use crate::env::{Env, Flow, HelperError};
use crate::helpers::conformance::HelperSet;
use crate::isa::{cfg, HelperId, LdKind};
use crate::mem::{Area, Memory, Region};

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
    /// The map value's and the variable's regions, made once: the boxes do not move.
    regions: [Region; 2],
}

impl Default for ConformanceEnv {
    fn default() -> Self {
        let (mut map_value, mut var) = (Box::new([0; CONFORMANCE_MAP_VALUE]), Box::new([0; 8]));
        let regions = [Region::of_mut(&mut map_value[..]).named(Area::MapValue), Region::of_mut(&mut var[..]).named(Area::Variable)];
        ConformanceEnv { helpers: HelperSet::conformance(), map_value, var, regions }
    }
}

impl ConformanceEnv {
    /// The memory this environment lets programs access besides their stack and input:
    /// the map value and the variable. A run is given them as its `extra` regions.
    pub fn regions(&self) -> [Region; 2] {
        self.regions
    }

    /// The map handle `lddw map_fd(1)` yields: an address programs cannot access.
    fn map_handle(&self) -> u64 {
        // One past the value's end: distinct from every accessible address.
        self.map_value.as_ptr() as u64 + CONFORMANCE_MAP_VALUE as u64
    }
}

impl Env for ConformanceEnv {
    fn call(&mut self, id: HelperId, args: [u64; 5], mem: &Memory) -> Result<Flow, HelperError> {
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
            LdKind::CodeAddr => Ok(cfg::target(pc, imm as i64) as u64),
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

}
