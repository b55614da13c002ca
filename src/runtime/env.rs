//! The environment one run of a loaded program sees: helper calls go to the Linux
//! helper table, or to the integrator's helpers for ids the table does not have.

use alloc::sync::Arc;

use super::{LoadedProgram, Runtime};
use crate::env::{Env, Flow, HelperError};
use crate::helpers::{self, HelperCall};
use crate::isa::{HelperId, LdKind};
use crate::mem::Memory;

/// One run's environment: the runtime, the running program, the CPU it holds.
pub(crate) struct ProgEnv<'r> {
    pub rt: &'r Runtime,
    pub prog: Arc<LoadedProgram>,
    pub cpu: u32,
    pub tail_calls: u32,
    /// Packet bytes for `bpf_skb_load_bytes` (socket filters).
    pub packet: Option<(u64, usize)>,
    /// The inner maps of the program's maps-in-maps, held for the run.
    pub inner: &'r [Arc<crate::maps::Map>],
}

impl Env for ProgEnv<'_> {
    fn call(&mut self, id: HelperId, args: [u64; 5], mem: &Memory) -> Result<Flow, HelperError> {
        let call = HelperCall {
            mem,
            cpu: self.cpu,
            kernel: &*self.rt.kernel,
            maps: &self.prog.maps,
            inner: self.inner,
            packet: self.packet,
            prog_type: self.prog.prog_type,
            tail_calls: self.tail_calls,
            programs: self.rt,
        };
        // Integrator helpers cannot take a Linux helper's id, so Linux ids go straight
        // to the table and only the others pay for the registry lookup.
        if let Some(h) = helpers::linux(id) {
            return (h.func)(&call, args);
        }
        let (_, f) = self.rt.custom_helper(id).ok_or(HelperError::Unknown)?;
        f(&call, args).map(Flow::Continue)
    }

    /// Records the run reserved and never gave back are discarded, so that no later run
    /// finds the ring wedged behind them (the verifier refuses programs that leak one;
    /// this holds whatever ran).
    fn end(&mut self, mem: &Memory) {
        for record in mem.take_records() {
            helpers::linux::commit_record(self.prog.maps.iter().chain(self.inner), record.start, true);
        }
    }

    fn ld_imm64(&mut self, _: LdKind, _: i32, _: i32, _: usize) -> Result<u64, HelperError> {
        // Fixup turned every pseudo lddw into a constant before the program could run.
        Err(HelperError::Invalid("pseudo lddw left after fixup"))
    }
}
