//! Program types and their contexts: the one table of what each type is.
//!
//! A program type decides what r1 points to (the context), which helpers the program
//! may call and where it can be attached. The loader classifies sections into these
//! types, the helper table lists the types allowed to call each helper, the verifier
//! checks context accesses against the descriptor, and the runtime lays the context out
//! in memory. Each reads this table; none keeps its own list.

/// `enum bpf_prog_type` values rvbpf knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ProgType {
    SocketFilter = 1,
    Kprobe = 2,
    SchedCls = 3,
    Tracepoint = 5,
    Xdp = 6,
    PerfEvent = 7,
    RawTracepoint = 17,
    Syscall = 31,
}

/// What a field of a context struct holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A number.
    Scalar,
    /// The start of the packet (`data`): a 32-bit field that reads as a pointer.
    PacketData,
    /// One past the packet's end (`data_end`).
    PacketEnd,
    /// The start of the packet's metadata (`data_meta`).
    PacketMeta,
}

/// One field of a context struct that programs may load, when the type lists its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtxField {
    pub name: &'static str,
    /// Byte offset in the struct the program sees.
    pub off: u16,
    /// Size in bytes of the load that reads it.
    pub size: u8,
    pub kind: FieldKind,
}

/// What r1 points to in programs of one type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtxDescriptor {
    /// The C struct (for messages); `raw` for caller-supplied memory.
    pub name: &'static str,
    /// Its size in bytes; `None` when the caller decides (a tracepoint record, syscall memory).
    pub size: Option<u32>,
    /// Byte ranges `[start, end)` a program may write; everything else is read-only.
    pub writable: &'static [(u32, u32)],
    /// When not empty, the only accesses allowed: a load of exactly one of these fields.
    /// Such a context is rewritten to the kernel's own layout after verification (the
    /// kernel's `convert_ctx_accesses`).
    pub fields: &'static [CtxField],
}

impl CtxDescriptor {
    /// The field a load of `size` bytes at `off` reads, for a context that lists its fields.
    pub fn field(&self, off: i16, size: usize) -> Option<&'static CtxField> {
        self.fields.iter().find(|f| f.off as i64 == off as i64 && f.size as usize == size)
    }
}

/// One row of the program-type table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgTypeInfo {
    pub prog_type: ProgType,
    /// The kernel's name (`bpftool prog` style).
    pub name: &'static str,
    pub ctx: CtxDescriptor,
    /// The signed range r0 must lie in at the program's exit, for the types whose kernel
    /// verifier checks one (`check_return_code`); `None`: any number. Linux 6.18 checks
    /// none of these types' return values (cgroup, LSM, struct_ops, netfilter and
    /// sk_lookup programs have ranges; rvbpf does not run those types).
    pub ret: Option<(i64, i64)>,
}

/// Linux riscv64 `struct pt_regs` (`arch/riscv/include/asm/ptrace.h`): 36 registers.
pub const PT_REGS_SIZE: u32 = 288;
/// `struct __sk_buff` in Linux 6.18.
pub const SK_BUFF_SIZE: u32 = 192;
/// `__sk_buff.cb[5]`: the only part of it a socket filter may write.
pub const SK_BUFF_CB: (u32, u32) = (48, 68);

const PT_REGS: CtxDescriptor = CtxDescriptor { name: "pt_regs", size: Some(PT_REGS_SIZE), writable: &[], fields: &[] };

/// `struct xdp_md`: six 32-bit fields, three of them packet pointers.
const XDP_MD: CtxDescriptor = CtxDescriptor {
    name: "xdp_md",
    size: Some(24),
    writable: &[],
    fields: &[
        CtxField { name: "data", off: 0, size: 4, kind: FieldKind::PacketData },
        CtxField { name: "data_end", off: 4, size: 4, kind: FieldKind::PacketEnd },
        CtxField { name: "data_meta", off: 8, size: 4, kind: FieldKind::PacketMeta },
        CtxField { name: "ingress_ifindex", off: 12, size: 4, kind: FieldKind::Scalar },
        CtxField { name: "rx_queue_index", off: 16, size: 4, kind: FieldKind::Scalar },
        CtxField { name: "egress_ifindex", off: 20, size: 4, kind: FieldKind::Scalar },
    ],
};

const SK_BUFF: CtxDescriptor = CtxDescriptor { name: "__sk_buff", size: Some(SK_BUFF_SIZE), writable: &[SK_BUFF_CB], fields: &[] };

/// Every program type, with its context.
pub const PROG_TYPES: &[ProgTypeInfo] = &[
    ProgTypeInfo { prog_type: ProgType::SocketFilter, name: "socket_filter", ctx: SK_BUFF, ret: None },
    ProgTypeInfo { prog_type: ProgType::Kprobe, name: "kprobe", ctx: PT_REGS, ret: None },
    ProgTypeInfo { prog_type: ProgType::SchedCls, name: "sched_cls", ctx: SK_BUFF, ret: None },
    ProgTypeInfo { prog_type: ProgType::Tracepoint, name: "tracepoint", ctx: CtxDescriptor { name: "tracepoint record", size: None, writable: &[], fields: &[] }, ret: None },
    ProgTypeInfo { prog_type: ProgType::Xdp, name: "xdp", ctx: XDP_MD, ret: None },
    ProgTypeInfo { prog_type: ProgType::PerfEvent, name: "perf_event", ctx: PT_REGS, ret: None },
    ProgTypeInfo { prog_type: ProgType::RawTracepoint, name: "raw_tracepoint", ctx: CtxDescriptor { name: "u64 args[]", size: None, writable: &[], fields: &[] }, ret: None },
    ProgTypeInfo { prog_type: ProgType::Syscall, name: "syscall", ctx: CtxDescriptor { name: "raw", size: None, writable: &[(0, u32::MAX)], fields: &[] }, ret: None },
];

impl ProgType {
    /// The type with kernel number `v`.
    pub fn from_u32(v: u32) -> Option<ProgType> {
        PROG_TYPES.iter().map(|t| t.prog_type).find(|t| *t as u32 == v)
    }

    /// This type's row of [`PROG_TYPES`].
    pub fn info(self) -> &'static ProgTypeInfo {
        // Every variant has a row; the table test checks it.
        PROG_TYPES.iter().find(|t| t.prog_type == self).expect("every program type has a row")
    }

    /// The kernel's name (`bpftool prog` style).
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// What r1 points to.
    pub fn ctx(self) -> &'static CtxDescriptor {
        &self.info().ctx
    }
}

/// A set of program types (the types allowed to call one helper).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgTypes(u64);

impl ProgTypes {
    /// Every type.
    pub const ALL: ProgTypes = ProgTypes(u64::MAX);

    /// The set of `types`.
    pub const fn of(types: &[ProgType]) -> ProgTypes {
        let mut bits = 0u64;
        let mut i = 0;
        while i < types.len() {
            bits |= 1 << (types[i] as u32);
            i += 1;
        }
        ProgTypes(bits)
    }

    /// Both sets together.
    pub const fn and(self, other: ProgTypes) -> ProgTypes {
        ProgTypes(self.0 | other.0)
    }

    pub const fn contains(self, t: ProgType) -> bool {
        self.0 & (1 << (t as u32)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_one_row_and_round_trips() {
        for (i, row) in PROG_TYPES.iter().enumerate() {
            assert_eq!(ProgType::from_u32(row.prog_type as u32), Some(row.prog_type));
            assert_eq!(row.prog_type.info(), row, "one row per type");
            assert!(PROG_TYPES[..i].iter().all(|r| r.prog_type != row.prog_type && r.name != row.name), "{} listed twice", row.name);
        }
        assert_eq!(ProgType::from_u32(4), None);
    }

    #[test]
    fn context_fields_and_sets() {
        let xdp = ProgType::Xdp.ctx();
        assert_eq!(xdp.field(4, 4).map(|f| f.kind), Some(FieldKind::PacketEnd));
        assert_eq!(xdp.field(4, 8), None, "a field is read with its own size");
        assert_eq!(xdp.field(24, 4), None);
        let s = ProgTypes::of(&[ProgType::Xdp, ProgType::Syscall]);
        assert!(s.contains(ProgType::Syscall) && !s.contains(ProgType::Kprobe));
        assert!(ProgTypes::ALL.contains(ProgType::PerfEvent));
    }
}
