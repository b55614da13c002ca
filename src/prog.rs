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
    SchedAct = 4,
    Tracepoint = 5,
    Xdp = 6,
    PerfEvent = 7,
    CgroupSkb = 8,
    LwtIn = 10,
    LwtOut = 11,
    LwtXmit = 12,
    SkSkb = 14,
    RawTracepoint = 17,
    LwtSeg6local = 19,
    CgroupDevice = 15,
    FlowDissector = 22,
    CgroupSysctl = 23,
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
    /// Whether a load of part of it is allowed too: 1, 2, 4 or 8 bytes inside it, at an
    /// offset that is a multiple of the load's size (the kernel's narrow loads).
    pub narrow: bool,
    /// An array (`cb[5]`): stores of any aligned part of it are allowed too, where the
    /// type lets programs write it; a store to any other field writes it whole.
    pub array: bool,
}

impl CtxField {
    pub const fn exact(name: &'static str, off: u16, size: u8, kind: FieldKind) -> CtxField {
        CtxField { name, off, size, kind, narrow: false, array: false }
    }
    pub const fn narrow(name: &'static str, off: u16, size: u8) -> CtxField {
        CtxField { name, off, size, kind: FieldKind::Scalar, narrow: true, array: false }
    }
    pub const fn array(name: &'static str, off: u16, size: u8) -> CtxField {
        CtxField { name, off, size, kind: FieldKind::Scalar, narrow: true, array: true }
    }
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
    /// When not empty, the only loads allowed: of one of these fields (or of part of a
    /// narrow one). Every access of such a context, load or store, is at an offset that
    /// is a multiple of its size.
    pub fields: &'static [CtxField],
    /// Whether the loads of its fields are rewritten to the runtime's own layout after
    /// verification (the kernel's `convert_ctx_accesses`): the struct the program sees is
    /// not the one it runs on.
    pub rewrite: bool,
}

impl CtxDescriptor {
    /// The field a load of `size` bytes at `off` reads whole, for a context that lists
    /// its fields.
    pub fn field(&self, off: i16, size: usize) -> Option<&'static CtxField> {
        self.fields.iter().find(|f| f.off as i64 == off as i64 && f.size as usize == size)
    }

    /// Whether a load of `size` bytes at `off` reads one field, whole or (a narrow one)
    /// in part, for a context that lists its fields.
    pub fn readable(&self, off: i64, size: u64) -> bool {
        let part = |f: &CtxField| f.narrow && f.off as i64 <= off && off as u64 + size <= f.off as u64 + f.size as u64 && off as u64 % size == 0;
        self.field(off as i16, size as usize).is_some() || self.fields.iter().any(part)
    }

    /// Whether a store of `size` bytes at `off` is allowed: inside a writable range and,
    /// for a context that lists its fields, one whole field or an aligned part of an
    /// array field (the kernel's `*_is_valid_access` for writes).
    pub fn writable_at(&self, off: i64, size: u64) -> bool {
        let inside = self.writable.iter().any(|&(s, e)| s as i64 <= off && off as u64 + size <= e as u64);
        let part = |f: &CtxField| f.array && f.off as i64 <= off && off as u64 + size <= f.off as u64 + f.size as u64 && off as u64 % size == 0;
        inside && (self.fields.is_empty() || self.field(off as i16, size as usize).is_some() || self.fields.iter().any(part))
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
    /// Why the runtime cannot run programs of this type, for the types it cannot run
    /// (they still load and verify).
    pub not_runnable: Option<&'static str>,
}

/// Linux riscv64 `struct pt_regs` (`arch/riscv/include/asm/ptrace.h`): 36 registers.
pub const PT_REGS_SIZE: u32 = 288;
/// `struct __sk_buff` in Linux 6.18.
pub const SK_BUFF_SIZE: u32 = 192;

const PT_REGS: CtxDescriptor = CtxDescriptor { name: "pt_regs", size: Some(PT_REGS_SIZE), writable: &[], fields: &[], rewrite: false };

/// `struct xdp_md`: six 32-bit fields, three of them packet pointers, each loaded whole.
const XDP_MD: CtxDescriptor = CtxDescriptor {
    name: "xdp_md",
    size: Some(24),
    writable: &[],
    fields: &[
        CtxField::exact("data", 0, 4, FieldKind::PacketData),
        CtxField::exact("data_end", 4, 4, FieldKind::PacketEnd),
        CtxField::exact("data_meta", 8, 4, FieldKind::PacketMeta),
        CtxField::exact("ingress_ifindex", 12, 4, FieldKind::Scalar),
        CtxField::exact("rx_queue_index", 16, 4, FieldKind::Scalar),
        CtxField::exact("egress_ifindex", 20, 4, FieldKind::Scalar),
    ],
    rewrite: true,
};

/// The `__sk_buff` fields the runtime fills in (the others read as 0).
pub mod sk_buff {
    use super::{CtxField, FieldKind};
    pub const LEN: CtxField = CtxField::narrow("len", 0, 4);
    pub const PKT_TYPE: CtxField = CtxField::narrow("pkt_type", 4, 4);
    /// Every type on a socket buffer reads it but sk_skb.
    pub const MARK: CtxField = CtxField::narrow("mark", 8, 4);
    /// Direct packet access, for the types that have it.
    pub const DATA: CtxField = CtxField::exact("data", 76, 4, FieldKind::PacketData);
    pub const DATA_END: CtxField = CtxField::exact("data_end", 80, 4, FieldKind::PacketEnd);
    pub const TSTAMP: CtxField = CtxField::exact("tstamp", 152, 8, FieldKind::Scalar);
    pub const HWTSTAMP: CtxField = CtxField::exact("hwtstamp", 184, 8, FieldKind::Scalar);
    pub const PROTOCOL: CtxField = CtxField::narrow("protocol", 16, 4);
    pub const INGRESS_IFINDEX: CtxField = CtxField::narrow("ingress_ifindex", 36, 4);
    pub const IFINDEX: CtxField = CtxField::narrow("ifindex", 40, 4);
    /// `cb[5]`: the only part a socket filter may write.
    pub const CB: CtxField = CtxField::array("cb", 48, 20);
}

/// The `__sk_buff` fields every program on a socket buffer may read but `mark` (Linux 6.18's
/// `bpf_skb_is_valid_access`, less what `sk_filter_is_valid_access` forbids): 32-bit
/// numbers, each also in narrow loads. Not listed, so refused: `tc_classid`, `data`,
/// `data_end`, `data_meta`, `family` to `local_port` (socket fields of sk_skb
/// programs), `flow_keys`, `tstamp`, `wire_len`, `hwtstamp`, `tstamp_type`, the padding,
/// and `sk` (a socket pointer, a type rvbpf does not track).
macro_rules! sk_buff_fields {
    ($($extra:expr),*) => {
        &[
            sk_buff::LEN,
            sk_buff::PKT_TYPE,
            CtxField::narrow("queue_mapping", 12, 4),
            sk_buff::PROTOCOL,
            CtxField::narrow("vlan_present", 20, 4),
            CtxField::narrow("vlan_tci", 24, 4),
            CtxField::narrow("vlan_proto", 28, 4),
            CtxField::narrow("priority", 32, 4),
            sk_buff::INGRESS_IFINDEX,
            sk_buff::IFINDEX,
            CtxField::narrow("tc_index", 44, 4),
            sk_buff::CB,
            CtxField::narrow("hash", 68, 4),
            CtxField::narrow("napi_id", 84, 4),
            CtxField::narrow("gso_segs", 164, 4),
            CtxField::narrow("gso_size", 176, 4),
            $($extra),*
        ]
    };
    // With the socket's family, addresses (each 32-bit word whole) and ports.
    (sock; $($extra:expr),*) => {
        sk_buff_fields!(
            CtxField::narrow("family", 88, 4),
            CtxField::exact("remote_ip4", 92, 4, FieldKind::Scalar),
            CtxField::exact("local_ip4", 96, 4, FieldKind::Scalar),
            CtxField::exact("remote_ip6[0]", 100, 4, FieldKind::Scalar),
            CtxField::exact("remote_ip6[1]", 104, 4, FieldKind::Scalar),
            CtxField::exact("remote_ip6[2]", 108, 4, FieldKind::Scalar),
            CtxField::exact("remote_ip6[3]", 112, 4, FieldKind::Scalar),
            CtxField::exact("local_ip6[0]", 116, 4, FieldKind::Scalar),
            CtxField::exact("local_ip6[1]", 120, 4, FieldKind::Scalar),
            CtxField::exact("local_ip6[2]", 124, 4, FieldKind::Scalar),
            CtxField::exact("local_ip6[3]", 128, 4, FieldKind::Scalar),
            CtxField::narrow("remote_port", 132, 4),
            CtxField::narrow("local_port", 136, 4),
            $($extra),*
        )
    };
}

/// A socket filter's `struct __sk_buff`: the fields above, `cb` the only part it may
/// write. rvbpf's runtime lays the struct out as the program sees it: no rewrite.
const SK_BUFF: CtxDescriptor = CtxDescriptor {
    name: "__sk_buff",
    size: Some(SK_BUFF_SIZE),
    writable: &[(sk_buff::CB.off as u32, sk_buff::CB.off as u32 + sk_buff::CB.size as u32)],
    fields: sk_buff_fields!(sk_buff::MARK),
    rewrite: false,
};

/// A tc classifier's `struct __sk_buff` (`tc_cls_act_is_valid_access`): also
/// `tc_classid`, direct packet access, `tstamp`, `wire_len`, `tstamp_type` and
/// `hwtstamp`; it may write `mark`, `queue_mapping`, `priority`, `tc_index`, `cb`,
/// `tc_classid` and `tstamp`, each whole (`cb` in any aligned part).
const TC_SK_BUFF: CtxDescriptor = CtxDescriptor {
    name: "__sk_buff",
    size: Some(SK_BUFF_SIZE),
    writable: &[(8, 16), (32, 36), (44, 68), (72, 76), (152, 160)],
    fields: sk_buff_fields!(
        sk_buff::MARK,
        CtxField::narrow("tc_classid", 72, 4),
        sk_buff::DATA,
        sk_buff::DATA_END,
        CtxField::exact("data_meta", 140, 4, FieldKind::PacketMeta),
        sk_buff::TSTAMP,
        CtxField::narrow("wire_len", 160, 4),
        CtxField::exact("tstamp_type", 180, 1, FieldKind::Scalar),
        sk_buff::HWTSTAMP
    ),
    rewrite: false,
};

/// A cgroup socket-buffer program's `struct __sk_buff` (`cg_skb_is_valid_access`, as
/// root): the common fields, the socket's, direct packet reads, `tstamp`, `wire_len` and
/// `hwtstamp`; it may write `mark`, `priority`, `cb` and `tstamp`.
const CG_SK_BUFF: CtxDescriptor = CtxDescriptor {
    name: "__sk_buff",
    size: Some(SK_BUFF_SIZE),
    writable: &[(8, 12), (32, 36), (48, 68), (152, 160)],
    fields: sk_buff_fields!(sock; sk_buff::MARK, sk_buff::DATA, sk_buff::DATA_END, sk_buff::TSTAMP, sk_buff::HWTSTAMP),
    rewrite: false,
};

/// A lightweight-tunnel program's `struct __sk_buff` (`lwt_is_valid_access`): the
/// common fields and direct packet reads; it may write `mark`, `priority` and `cb`.
const LWT_SK_BUFF: CtxDescriptor = CtxDescriptor {
    name: "__sk_buff",
    size: Some(SK_BUFF_SIZE),
    writable: &[(8, 12), (32, 36), (48, 68)],
    fields: sk_buff_fields!(sk_buff::MARK, sk_buff::DATA, sk_buff::DATA_END),
    rewrite: false,
};

/// An sk_skb program's `struct __sk_buff` (`sk_skb_is_valid_access`): the common fields
/// but `mark`, the socket's, and direct packet access; it may write `priority` and
/// `tc_index`.
const SK_SKB_SK_BUFF: CtxDescriptor = CtxDescriptor {
    name: "__sk_buff",
    size: Some(SK_BUFF_SIZE),
    writable: &[(32, 36), (44, 48)],
    fields: sk_buff_fields!(sock; sk_buff::DATA, sk_buff::DATA_END),
    rewrite: false,
};

/// A flow dissector's `struct __sk_buff` (`flow_dissector_is_valid_access`): direct
/// packet reads and `flow_keys` only (a pointer rvbpf does not model, so not listed).
const FLOW_SK_BUFF: CtxDescriptor = CtxDescriptor {
    name: "__sk_buff",
    size: Some(SK_BUFF_SIZE),
    writable: &[],
    fields: &[sk_buff::DATA, sk_buff::DATA_END],
    rewrite: false,
};

/// `struct bpf_cgroup_dev_ctx` (`cgroup_dev_is_valid_access`): `access_type` (in narrow
/// loads too), `major` and `minor` (whole), read-only, 32 bits each.
const CGROUP_DEV_CTX: CtxDescriptor = CtxDescriptor {
    name: "bpf_cgroup_dev_ctx",
    size: Some(12),
    writable: &[],
    fields: &[CtxField::narrow("access_type", 0, 4), CtxField::exact("major", 4, 4, FieldKind::Scalar), CtxField::exact("minor", 8, 4, FieldKind::Scalar)],
    rewrite: false,
};

/// `struct bpf_sysctl` (`sysctl_is_valid_access`): `write` read-only and `file_pos`
/// readable and writable whole, 32 bits each (in narrow loads too).
const SYSCTL_CTX: CtxDescriptor = CtxDescriptor {
    name: "bpf_sysctl",
    size: Some(8),
    writable: &[(4, 8)],
    fields: &[CtxField::narrow("write", 0, 4), CtxField::narrow("file_pos", 4, 4)],
    rewrite: false,
};

/// Why the runtime cannot run a cgroup program: it has no cgroups to attach it to.
const NO_CGROUP_RUN: Option<&str> = Some("the runtime has no cgroup hooks and builds no context for this type");

/// Why the runtime cannot run the socket-buffer types other than socket filters.
const NO_SKB_RUN: Option<&str> = Some("the runtime lays out no __sk_buff with the packet pointers (data, data_end) this type reads");

/// Every program type, with its context.
pub const PROG_TYPES: &[ProgTypeInfo] = &[
    ProgTypeInfo { prog_type: ProgType::SocketFilter, name: "socket_filter", ctx: SK_BUFF, ret: None, not_runnable: None },
    ProgTypeInfo { prog_type: ProgType::Kprobe, name: "kprobe", ctx: PT_REGS, ret: None, not_runnable: None },
    ProgTypeInfo {
        prog_type: ProgType::SchedCls,
        name: "sched_cls",
        ctx: TC_SK_BUFF,
        ret: None,
        not_runnable: NO_SKB_RUN,
    },
    ProgTypeInfo { prog_type: ProgType::SchedAct, name: "sched_act", ctx: TC_SK_BUFF, ret: None, not_runnable: NO_SKB_RUN },
    ProgTypeInfo { prog_type: ProgType::CgroupSkb, name: "cgroup_skb", ctx: CG_SK_BUFF, ret: Some((0, 1)), not_runnable: NO_SKB_RUN },
    ProgTypeInfo { prog_type: ProgType::LwtIn, name: "lwt_in", ctx: LWT_SK_BUFF, ret: None, not_runnable: NO_SKB_RUN },
    ProgTypeInfo { prog_type: ProgType::LwtOut, name: "lwt_out", ctx: LWT_SK_BUFF, ret: None, not_runnable: NO_SKB_RUN },
    ProgTypeInfo { prog_type: ProgType::LwtXmit, name: "lwt_xmit", ctx: LWT_SK_BUFF, ret: None, not_runnable: NO_SKB_RUN },
    ProgTypeInfo { prog_type: ProgType::SkSkb, name: "sk_skb", ctx: SK_SKB_SK_BUFF, ret: None, not_runnable: NO_SKB_RUN },
    ProgTypeInfo { prog_type: ProgType::LwtSeg6local, name: "lwt_seg6local", ctx: LWT_SK_BUFF, ret: None, not_runnable: NO_SKB_RUN },
    ProgTypeInfo { prog_type: ProgType::FlowDissector, name: "flow_dissector", ctx: FLOW_SK_BUFF, ret: None, not_runnable: NO_SKB_RUN },
    ProgTypeInfo { prog_type: ProgType::CgroupDevice, name: "cgroup_device", ctx: CGROUP_DEV_CTX, ret: Some((0, 1)), not_runnable: NO_CGROUP_RUN },
    ProgTypeInfo { prog_type: ProgType::CgroupSysctl, name: "cgroup_sysctl", ctx: SYSCTL_CTX, ret: Some((0, 1)), not_runnable: NO_CGROUP_RUN },
    ProgTypeInfo { prog_type: ProgType::Tracepoint, name: "tracepoint", ctx: CtxDescriptor { name: "tracepoint record", size: None, writable: &[], fields: &[], rewrite: false }, ret: None, not_runnable: None },
    ProgTypeInfo { prog_type: ProgType::Xdp, name: "xdp", ctx: XDP_MD, ret: None, not_runnable: None },
    ProgTypeInfo { prog_type: ProgType::PerfEvent, name: "perf_event", ctx: PT_REGS, ret: None, not_runnable: None },
    ProgTypeInfo { prog_type: ProgType::RawTracepoint, name: "raw_tracepoint", ctx: CtxDescriptor { name: "u64 args[]", size: None, writable: &[], fields: &[], rewrite: false }, ret: None, not_runnable: None },
    ProgTypeInfo { prog_type: ProgType::Syscall, name: "syscall", ctx: CtxDescriptor { name: "raw", size: None, writable: &[(0, u32::MAX)], fields: &[], rewrite: false }, ret: None, not_runnable: None },
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
        assert_eq!(ProgType::from_u32(9), None);
    }

    #[test]
    fn context_fields_and_sets() {
        let xdp = ProgType::Xdp.ctx();
        assert_eq!(xdp.field(4, 4).map(|f| f.kind), Some(FieldKind::PacketEnd));
        assert_eq!(xdp.field(4, 8), None, "a field is read with its own size");
        assert_eq!(xdp.field(24, 4), None);
        assert!(xdp.readable(12, 4) && !xdp.readable(12, 2), "xdp_md has no narrow loads");
        // __sk_buff: narrow loads, aligned, inside one field; unlisted fields refused.
        let skb = ProgType::SocketFilter.ctx();
        assert!(skb.readable(16, 2) && skb.readable(18, 2) && skb.readable(19, 1), "protocol, in parts");
        assert!(!skb.readable(17, 2), "misaligned");
        assert!(!skb.readable(0, 8), "across two fields");
        assert!(skb.readable(48, 8) && skb.readable(64, 4) && !skb.readable(64, 8), "cb, inside it");
        assert!(!skb.readable(76, 4) && !skb.readable(168, 8), "data and sk are not a socket filter's");
        assert!(ProgType::SchedCls.ctx().readable(76, 4) && !ProgType::SchedCls.ctx().readable(76, 2), "tc reads data whole");
        // The table's fields lie inside their struct and do not overlap.
        for t in PROG_TYPES {
            let mut f: Vec<_> = t.ctx.fields.iter().map(|f| (f.off as u32, f.off as u32 + f.size as u32)).collect();
            f.sort_unstable();
            assert!(f.windows(2).all(|w| w[0].1 <= w[1].0), "{}: fields overlap", t.name);
            assert!(f.iter().all(|&(_, e)| t.ctx.size.is_some_and(|s| e <= s)), "{}: a field past the struct", t.name);
        }
        let s = ProgTypes::of(&[ProgType::Xdp, ProgType::Syscall]);
        assert!(s.contains(ProgType::Syscall) && !s.contains(ProgType::Kprobe));
        assert!(ProgTypes::ALL.contains(ProgType::PerfEvent));
    }
}
