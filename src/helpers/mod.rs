//! Helper functions: the one table of Linux helpers, and the test helpers of the
//! conformance suites.
//!
//! Each row of [`LINUX`] holds everything rvbpf knows about one Linux helper: its id,
//! its prototype (what the verifier checks the arguments against), the program types
//! that may call it (the kernel's `*_func_proto` tables) and its implementation. The
//! verify stage reads the prototypes and the types, the runtime's environment calls the
//! implementations; neither lists the ids again.
//!
//! A helper runs with a [`HelperCall`]: the program's memory through the checked view,
//! its maps, its CPU and the [`Kernel`] services.

pub mod conformance;
pub mod kernel;
pub mod linux;

use alloc::sync::Arc;

use crate::env::{Flow, HelperError};
use crate::isa::HelperId;
use crate::maps::Map;
use crate::mem::Memory;
use crate::prog::{ProgType, ProgTypes};
pub use kernel::{Kernel, ReadFault, StaticKernel, Task};

/// What a helper argument must be (the kernel's `ARG_*`, the kinds rvbpf uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// No argument in this position.
    None,
    /// Any scalar.
    Anything,
    /// A map (`lddw` of a map).
    ConstMapPtr,
    /// Pointer to `key_size` readable bytes.
    MapKey,
    /// Pointer to `value_size` readable bytes.
    MapValue,
    /// Pointer to readable memory whose size is the next argument.
    Mem,
    /// Pointer to writable memory whose size is the next argument (may be uninitialised).
    UninitMem,
    /// Size of the previous memory argument (> 0).
    ConstSize,
    /// Size of the previous memory argument (may be 0).
    ConstSizeOrZero,
    /// The program's context.
    Ctx,
    /// A ring-buffer record from `bpf_ringbuf_reserve`.
    RingbufRecord,
    /// A NUL-terminated constant string (format strings).
    ConstStr,
}

/// What a helper returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    Integer,
    Void,
    /// Pointer to a map value, or NULL.
    MapValueOrNull,
    /// Pointer to `arg2` bytes of ring-buffer memory, or NULL.
    RingbufMemOrNull,
}

/// A helper prototype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proto {
    pub id: HelperId,
    pub name: &'static str,
    pub ret: Ret,
    pub args: [Arg; 5],
    /// Only programs with a GPL-compatible license may call it.
    pub gpl_only: bool,
}

/// The programs a tail call can jump to: each loaded program's type by id.
pub trait Programs {
    fn prog_type(&self, id: u32) -> Option<ProgType>;
}

/// What a helper sees of the run that called it.
pub struct HelperCall<'a> {
    /// The program's memory, through the same checks as its own accesses.
    pub mem: &'a Memory<'a>,
    /// The CPU the run holds (per-CPU maps, `bpf_get_smp_processor_id`).
    pub cpu: u32,
    pub kernel: &'a dyn Kernel,
    /// The maps the program uses; a map argument is one of their handles.
    pub maps: &'a [Arc<Map>],
    /// The inner maps its maps-in-maps held when the run began: what a lookup in an
    /// outer map may yield, and what this run may pass as a map argument besides `maps`.
    pub inner: &'a [Arc<Map>],
    /// Packet bytes for `bpf_skb_load_bytes` (socket filters).
    pub packet: Option<(u64, usize)>,
    /// The running program's type (a tail call must stay within it).
    pub prog_type: ProgType,
    /// Tail calls this run has made so far.
    pub tail_calls: u32,
    pub programs: &'a dyn Programs,
}

impl HelperCall<'_> {
    /// The map whose handle the program passed, among the maps it uses.
    pub fn map(&self, handle: u64) -> Result<&Arc<Map>, HelperError> {
        let is = |m: &&Arc<Map>| Arc::as_ptr(m) as u64 == handle;
        self.maps.iter().find(is).or_else(|| self.inner.iter().find(is)).ok_or(HelperError::Invalid("argument is not a map the program uses"))
    }
}

/// A helper's implementation: r1-r5 in; r0, or the end of the program, out.
pub type HelperFn = fn(&HelperCall, [u64; 5]) -> Result<Flow, HelperError>;

/// One row of the helper table.
#[derive(Clone, Copy, Debug)]
pub struct Helper {
    pub proto: Proto,
    /// The program types that may call it.
    pub types: ProgTypes,
    pub func: HelperFn,
}

/// `MAX_TAIL_CALL_CNT`: tail calls one run may make.
pub const MAX_TAIL_CALLS: u32 = 33;

use Arg::{Anything, ConstMapPtr, ConstSize, ConstSizeOrZero, Ctx, MapKey, MapValue, Mem, RingbufRecord, UninitMem};
use ProgType::*;

const NO: Arg = Arg::None;
/// Every program type (`bpf_base_func_proto`, which in Linux 6.18 also gives every type,
/// as root, the current task's ids and name and `probe_read_{user,kernel}[_str]`).
const BASE: ProgTypes = ProgTypes::ALL;
/// The types whose `*_func_proto` falls back to `bpf_tracing_func_proto`: kprobe,
/// tracepoint, raw tracepoint (writable too), perf event, and the BTF-typed tracing and
/// LSM hooks (those two are not compared with the kernel: it loads them only with a BTF
/// attach target).
const TRACING: ProgTypes = ProgTypes::of(&[Kprobe, Tracepoint, RawTracepoint, RawTracepointWritable, PerfEvent, Tracing, Lsm]);
/// Programs on packets in an `sk_buff` (each type's `*_func_proto` in Linux 6.18 gives
/// `bpf_skb_load_bytes`; the flow dissector and sk_reuseport their own versions of it).
const SKB: ProgTypes = ProgTypes::of(&[SocketFilter, SchedCls, SchedAct, CgroupSkb, LwtIn, LwtOut, LwtXmit, LwtSeg6local, SkSkb, FlowDissector, SkReuseport]);

const fn row(id: i32, name: &'static str, ret: Ret, args: [Arg; 5], gpl_only: bool, types: ProgTypes, func: HelperFn) -> Helper {
    Helper { proto: Proto { id: HelperId(id), name, ret, args, gpl_only }, types, func }
}

/// The Linux helpers rvbpf implements, by id.
pub const LINUX: &[Helper] = &[
    row(1, "map_lookup_elem", Ret::MapValueOrNull, [ConstMapPtr, MapKey, NO, NO, NO], false, BASE, linux::map_lookup_elem),
    row(2, "map_update_elem", Ret::Integer, [ConstMapPtr, MapKey, MapValue, Anything, NO], false, BASE, linux::map_update_elem),
    row(3, "map_delete_elem", Ret::Integer, [ConstMapPtr, MapKey, NO, NO, NO], false, BASE, linux::map_delete_elem),
    row(4, "probe_read", Ret::Integer, [UninitMem, ConstSizeOrZero, Anything, NO, NO], true, TRACING, linux::probe_read),
    row(5, "ktime_get_ns", Ret::Integer, [NO; 5], false, BASE, linux::ktime_get_ns),
    row(6, "trace_printk", Ret::Integer, [Mem, ConstSize, NO, NO, NO], true, BASE, linux::trace_printk),
    row(7, "get_prandom_u32", Ret::Integer, [NO; 5], false, BASE, linux::get_prandom_u32),
    row(8, "get_smp_processor_id", Ret::Integer, [NO; 5], false, BASE, linux::get_smp_processor_id),
    row(12, "tail_call", Ret::Void, [Ctx, ConstMapPtr, Anything, NO, NO], false, BASE, linux::tail_call),
    row(14, "get_current_pid_tgid", Ret::Integer, [NO; 5], false, BASE, linux::get_current_pid_tgid),
    row(15, "get_current_uid_gid", Ret::Integer, [NO; 5], false, BASE, linux::get_current_uid_gid),
    row(16, "get_current_comm", Ret::Integer, [UninitMem, ConstSize, NO, NO, NO], false, BASE, linux::get_current_comm),
    row(26, "skb_load_bytes", Ret::Integer, [Ctx, Anything, UninitMem, ConstSize, NO], false, SKB, linux::skb_load_bytes),
    row(45, "probe_read_str", Ret::Integer, [UninitMem, ConstSizeOrZero, Anything, NO, NO], true, TRACING, linux::probe_read_str),
    row(112, "probe_read_user", Ret::Integer, [UninitMem, ConstSizeOrZero, Anything, NO, NO], true, BASE, linux::probe_read),
    row(113, "probe_read_kernel", Ret::Integer, [UninitMem, ConstSizeOrZero, Anything, NO, NO], true, BASE, linux::probe_read),
    row(114, "probe_read_user_str", Ret::Integer, [UninitMem, ConstSizeOrZero, Anything, NO, NO], true, BASE, linux::probe_read_str),
    row(115, "probe_read_kernel_str", Ret::Integer, [UninitMem, ConstSizeOrZero, Anything, NO, NO], true, BASE, linux::probe_read_str),
    row(125, "ktime_get_boot_ns", Ret::Integer, [NO; 5], false, BASE, linux::ktime_get_boot_ns),
    row(130, "ringbuf_output", Ret::Integer, [ConstMapPtr, Mem, ConstSizeOrZero, Anything, NO], false, BASE, linux::ringbuf_output),
    row(131, "ringbuf_reserve", Ret::RingbufMemOrNull, [ConstMapPtr, Anything, Anything, NO, NO], false, BASE, linux::ringbuf_reserve),
    row(132, "ringbuf_submit", Ret::Void, [RingbufRecord, Anything, NO, NO, NO], false, BASE, linux::ringbuf_submit),
    row(133, "ringbuf_discard", Ret::Void, [RingbufRecord, Anything, NO, NO, NO], false, BASE, linux::ringbuf_discard),
    row(134, "ringbuf_query", Ret::Integer, [ConstMapPtr, Anything, NO, NO, NO], false, BASE, linux::ringbuf_query),
    row(177, "trace_vprintk", Ret::Integer, [Mem, ConstSize, Mem, ConstSizeOrZero, NO], true, BASE, linux::trace_vprintk),
];

/// Ids below this index [`LINUX`] directly.
const INDEX_LEN: usize = 256;

/// [`LINUX`]'s row of each id below [`INDEX_LEN`] (`u8::MAX`: none), built at compile
/// time, which also refuses an id listed twice.
static INDEX: [u8; INDEX_LEN] = {
    let mut idx = [u8::MAX; INDEX_LEN];
    let mut i = 0;
    while i < LINUX.len() {
        let id = LINUX[i].proto.id.0;
        assert!(id >= 0 && (id as usize) < INDEX_LEN, "helper id outside the index");
        assert!(idx[id as usize] == u8::MAX, "helper id listed twice");
        idx[id as usize] = i as u8;
        i += 1;
    }
    idx
};

/// The Linux helper with this id.
#[inline]
pub fn linux(id: HelperId) -> Option<&'static Helper> {
    let row = *INDEX.get(usize::try_from(id.0).ok()?)?;
    LINUX.get(row as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_finds_every_row_and_nothing_else() {
        for h in LINUX {
            assert_eq!(linux(h.proto.id).map(|r| r.proto.name), Some(h.proto.name));
        }
        for id in [-1, 0, 9, 178, 255, 256, i32::MAX] {
            assert!(linux(HelperId(id)).is_none(), "{id}");
        }
    }

    #[test]
    fn program_types_follow_the_kernel_tables() {
        let may = |t, id| linux(HelperId(id)).is_some_and(|h| h.types.contains(t));
        assert!(may(Xdp, 1) && may(Syscall, 12) && may(SocketFilter, 177));
        assert!(may(Kprobe, 4) && !may(Syscall, 4) && !may(Xdp, 4), "probe_read is for tracing");
        assert!(may(Syscall, 113) && may(Syscall, 16), "syscall programs read user and kernel memory");
        assert!(may(SocketFilter, 26) && may(SchedCls, 26) && !may(Xdp, 26) && !may(Kprobe, 26));
        assert!([SchedAct, CgroupSkb, LwtIn, LwtOut, LwtXmit, LwtSeg6local, SkSkb, FlowDissector].iter().all(|&t| may(t, 26)), "every socket-buffer type loads bytes");
        assert!(may(Xdp, 14) && may(SkLookup, 113), "Linux 6.18's base helpers include the current task's and probe_read_kernel");
        assert!(may(SkReuseport, 26) && !may(SockOps, 26), "sk_reuseport loads bytes, sock_ops does not");
        assert!(may(RawTracepointWritable, 4) && may(Tracing, 4) && !may(CgroupSock, 4), "the tracing set");
    }
}
