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
    CgroupSock = 9,
    LwtIn = 10,
    LwtOut = 11,
    LwtXmit = 12,
    SockOps = 13,
    SkSkb = 14,
    CgroupDevice = 15,
    SkMsg = 16,
    RawTracepoint = 17,
    CgroupSockAddr = 18,
    LwtSeg6local = 19,
    LircMode2 = 20,
    SkReuseport = 21,
    FlowDissector = 22,
    CgroupSysctl = 23,
    RawTracepointWritable = 24,
    CgroupSockopt = 25,
    Tracing = 26,
    StructOps = 27,
    Ext = 28,
    Lsm = 29,
    SkLookup = 30,
    Syscall = 31,
    Netfilter = 32,
}

/// `enum bpf_attach_type` (Linux 6.18 uapi): the `expected_attach_type` libbpf gives each
/// section name. Where one changes a type's context or return range, the type's row lists
/// it among its [`Variant`]s.
pub mod attach {
    pub const CGROUP_INET_INGRESS: u32 = 0;
    pub const CGROUP_INET_EGRESS: u32 = 1;
    pub const CGROUP_INET_SOCK_CREATE: u32 = 2;
    pub const CGROUP_SOCK_OPS: u32 = 3;
    pub const SK_SKB_STREAM_PARSER: u32 = 4;
    pub const SK_SKB_STREAM_VERDICT: u32 = 5;
    pub const CGROUP_DEVICE: u32 = 6;
    pub const SK_MSG_VERDICT: u32 = 7;
    pub const CGROUP_INET4_BIND: u32 = 8;
    pub const CGROUP_INET6_BIND: u32 = 9;
    pub const CGROUP_INET4_CONNECT: u32 = 10;
    pub const CGROUP_INET6_CONNECT: u32 = 11;
    pub const CGROUP_INET4_POST_BIND: u32 = 12;
    pub const CGROUP_INET6_POST_BIND: u32 = 13;
    pub const CGROUP_UDP4_SENDMSG: u32 = 14;
    pub const CGROUP_UDP6_SENDMSG: u32 = 15;
    pub const LIRC_MODE2: u32 = 16;
    pub const FLOW_DISSECTOR: u32 = 17;
    pub const CGROUP_SYSCTL: u32 = 18;
    pub const CGROUP_UDP4_RECVMSG: u32 = 19;
    pub const CGROUP_UDP6_RECVMSG: u32 = 20;
    pub const CGROUP_GETSOCKOPT: u32 = 21;
    pub const CGROUP_SETSOCKOPT: u32 = 22;
    pub const TRACE_RAW_TP: u32 = 23;
    pub const TRACE_FENTRY: u32 = 24;
    pub const TRACE_FEXIT: u32 = 25;
    pub const MODIFY_RETURN: u32 = 26;
    pub const LSM_MAC: u32 = 27;
    pub const TRACE_ITER: u32 = 28;
    pub const CGROUP_INET4_GETPEERNAME: u32 = 29;
    pub const CGROUP_INET6_GETPEERNAME: u32 = 30;
    pub const CGROUP_INET4_GETSOCKNAME: u32 = 31;
    pub const CGROUP_INET6_GETSOCKNAME: u32 = 32;
    pub const XDP_DEVMAP: u32 = 33;
    pub const CGROUP_INET_SOCK_RELEASE: u32 = 34;
    pub const XDP_CPUMAP: u32 = 35;
    pub const SK_LOOKUP: u32 = 36;
    pub const XDP: u32 = 37;
    pub const SK_SKB_VERDICT: u32 = 38;
    pub const SK_REUSEPORT_SELECT: u32 = 39;
    pub const SK_REUSEPORT_SELECT_OR_MIGRATE: u32 = 40;
    pub const PERF_EVENT: u32 = 41;
    pub const TRACE_KPROBE_MULTI: u32 = 42;
    pub const LSM_CGROUP: u32 = 43;
    pub const STRUCT_OPS: u32 = 44;
    pub const NETFILTER: u32 = 45;
    pub const TCX_INGRESS: u32 = 46;
    pub const TCX_EGRESS: u32 = 47;
    pub const TRACE_UPROBE_MULTI: u32 = 48;
    pub const CGROUP_UNIX_CONNECT: u32 = 49;
    pub const CGROUP_UNIX_SENDMSG: u32 = 50;
    pub const CGROUP_UNIX_RECVMSG: u32 = 51;
    pub const CGROUP_UNIX_GETPEERNAME: u32 = 52;
    pub const CGROUP_UNIX_GETSOCKNAME: u32 = 53;
    pub const NETKIT_PRIMARY: u32 = 54;
    pub const NETKIT_PEER: u32 = 55;
    pub const TRACE_KPROBE_SESSION: u32 = 56;
    pub const TRACE_UPROBE_SESSION: u32 = 57;
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

/// Which loads of part of a context field are allowed besides the load of all of it (the
/// kernel's narrow loads). Widths are bit sets: bit n allows loads of 2^n bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parts {
    /// None.
    Whole,
    /// Loads of these widths at the field's first byte only.
    Start(u8),
    /// Loads of these widths inside the field's first `span` bytes, each at an offset that
    /// is a multiple of its width.
    Within { span: u8, widths: u8 },
}

/// Bit sets of load and store widths.
pub mod widths {
    pub const B: u8 = 1;
    pub const H: u8 = 2;
    pub const W: u8 = 4;
    pub const DW: u8 = 8;
    /// Every width.
    pub const ANY: u8 = B | H | W | DW;
    /// The bit of a width in bytes (0 for a width that is none of 1, 2, 4, 8).
    pub const fn of(bytes: u64) -> u8 {
        match bytes {
            1 => B,
            2 => H,
            4 => W,
            8 => DW,
            _ => 0,
        }
    }
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
    /// The loads of part of it that are allowed.
    pub parts: Parts,
    /// The widths of the stores of part of it allowed (each at a multiple of its width),
    /// where the type lets programs write it; a store of all of it needs no bit here.
    pub part_stores: u8,
}

impl CtxField {
    /// Loaded whole only.
    pub const fn exact(name: &'static str, off: u16, size: u8, kind: FieldKind) -> CtxField {
        CtxField { name, off, size, kind, parts: Parts::Whole, part_stores: 0 }
    }
    /// A number also loaded in parts of any width, anywhere inside it.
    pub const fn narrow(name: &'static str, off: u16, size: u8) -> CtxField {
        CtxField { name, off, size, kind: FieldKind::Scalar, parts: Parts::Within { span: size, widths: widths::ANY }, part_stores: 0 }
    }
    /// A number also loaded in parts narrower than it, at its first byte only.
    pub const fn start(name: &'static str, off: u16, size: u8) -> CtxField {
        // The widths below a power of two `size`, as a bit set of widths, are `size - 1`.
        CtxField { name, off, size, kind: FieldKind::Scalar, parts: Parts::Start(size - 1), part_stores: 0 }
    }
    /// An array (`cb[5]`): loads and stores of any aligned part of it.
    pub const fn array(name: &'static str, off: u16, size: u8) -> CtxField {
        CtxField::narrow(name, off, size).stores(widths::ANY)
    }
    /// The same field with parts loaded as `parts` says.
    pub const fn parts(self, parts: Parts) -> CtxField {
        CtxField { parts, ..self }
    }
    /// The same field with stores of parts of these widths allowed.
    pub const fn stores(self, part_stores: u8) -> CtxField {
        CtxField { part_stores, ..self }
    }

    /// Whether `[off, off + size)` lies inside the field.
    fn holds(&self, off: i64, size: u64) -> bool {
        self.off as i64 <= off && off as u64 + size <= self.off as u64 + self.size as u64
    }

    /// Whether a load of `size` bytes at `off` reads part of it (not all of it).
    fn part_load(&self, off: i64, size: u64) -> bool {
        let w = widths::of(size);
        match self.parts {
            Parts::Whole => false,
            Parts::Start(ws) => ws & w != 0 && off == self.off as i64 && self.holds(off, size),
            Parts::Within { span, widths } => widths & w != 0 && off as u64 % size == 0 && self.off as i64 <= off && off as u64 + size <= self.off as u64 + span as u64,
        }
    }

    /// Whether a store of `size` bytes at `off` writes part of it (not all of it).
    fn part_store(&self, off: i64, size: u64) -> bool {
        self.part_stores & widths::of(size) != 0 && off as u64 % size == 0 && self.holds(off, size)
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

    /// Whether a load of `size` bytes at `off` reads one field, whole or in an allowed
    /// part, for a context that lists its fields.
    pub fn readable(&self, off: i64, size: u64) -> bool {
        self.field(off as i16, size as usize).is_some() || self.fields.iter().any(|f| f.part_load(off, size))
    }

    /// Whether a store of `size` bytes at `off` is allowed: inside a writable range and,
    /// for a context that lists its fields, one whole field or a part its `part_stores`
    /// allow (the kernel's `*_is_valid_access` for writes).
    pub fn writable_at(&self, off: i64, size: u64) -> bool {
        let inside = self.writable.iter().any(|&(s, e)| s as i64 <= off && off as u64 + size <= e as u64);
        inside && (self.fields.is_empty() || self.field(off as i16, size as usize).is_some() || self.fields.iter().any(|f| f.part_store(off, size)))
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
    /// verifier checks one (Linux 6.18's `check_return_code`); `None`: any number.
    pub ret: Option<(i64, i64)>,
    /// Why the runtime cannot run programs of this type, for the types it cannot run
    /// (they still load and verify).
    pub not_runnable: Option<&'static str>,
    /// The attach types that give programs of this type another context or return range
    /// than the row's (which hold for every other attach type).
    pub variants: &'static [Variant],
}

/// A program type at one attach type (`expected_attach_type`), where that changes what
/// the program sees or must return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variant {
    /// The [`attach`] value.
    pub attach: u32,
    /// libbpf's section name for it (`cgroup/connect4`).
    pub name: &'static str,
    pub ctx: CtxDescriptor,
    pub ret: Option<(i64, i64)>,
}

/// Linux riscv64 `struct pt_regs` (`arch/riscv/include/asm/ptrace.h`): 36 registers.
pub const PT_REGS_SIZE: u32 = 288;
/// Its members in order, 8 bytes each; the first 32 are also user space's
/// `struct user_regs_struct`, what libbpf's `PT_REGS_*` read for riscv.
pub const PT_REGS_FIELDS: [&str; 36] = [
    "epc", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6",
    "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6", "status", "badaddr", "cause", "orig_a0",
];
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

/// `struct bpf_sock` fields every cgroup socket program reads (`bpf_sock_is_valid_access`):
/// `family`, `type` and `protocol` (parts at their start), `dst_port` (a 16-bit port in a
/// 32-bit word, loaded whole or in parts of its first two bytes), the destination
/// addresses (in parts), `state` and `rx_queue_mapping`. Stores go to
/// `bound_dev_if`, `mark` and `priority` only, at socket creation and release.
macro_rules! bpf_sock_fields {
    ($($extra:expr),*) => {
        &[
            $($extra,)*
            CtxField::start("family", 4, 4),
            CtxField::start("type", 8, 4),
            CtxField::start("protocol", 12, 4),
            CtxField::exact("dst_port", 48, 4, FieldKind::Scalar).parts(Parts::Within { span: 2, widths: widths::B | widths::H }),
            CtxField::narrow("dst_ip4", 52, 4),
            CtxField::narrow("dst_ip6[0]", 56, 4),
            CtxField::narrow("dst_ip6[1]", 60, 4),
            CtxField::narrow("dst_ip6[2]", 64, 4),
            CtxField::narrow("dst_ip6[3]", 68, 4),
            CtxField::start("state", 72, 4),
            CtxField::start("rx_queue_mapping", 76, 4),
        ]
    };
}

/// A cgroup socket program's `struct bpf_sock` at creation and release: it may also read
/// and write `bound_dev_if`, `mark` and `priority`.
const SOCK_CREATE: CtxDescriptor = CtxDescriptor {
    name: "bpf_sock",
    size: Some(80),
    writable: &[(0, 4), (16, 24)],
    fields: bpf_sock_fields!(
        CtxField::exact("bound_dev_if", 0, 4, FieldKind::Scalar),
        CtxField::exact("mark", 16, 4, FieldKind::Scalar),
        CtxField::exact("priority", 20, 4, FieldKind::Scalar)
    ),
    rewrite: false,
};

/// After an IPv4 bind: the bound address and port too, all read-only.
const SOCK_POST_BIND4: CtxDescriptor = CtxDescriptor {
    writable: &[],
    fields: bpf_sock_fields!(CtxField::narrow("src_ip4", 24, 4), CtxField::start("src_port", 44, 4)),
    ..SOCK_CREATE
};

/// After an IPv6 bind.
const SOCK_POST_BIND6: CtxDescriptor = CtxDescriptor {
    writable: &[],
    fields: bpf_sock_fields!(
        CtxField::narrow("src_ip6[0]", 28, 4),
        CtxField::narrow("src_ip6[1]", 32, 4),
        CtxField::narrow("src_ip6[2]", 36, 4),
        CtxField::narrow("src_ip6[3]", 40, 4),
        CtxField::start("src_port", 44, 4)
    ),
    ..SOCK_CREATE
};

/// `struct bpf_sock_addr` fields every attach type reads (`sock_addr_is_valid_access`):
/// `user_family`, `family`, `type`, `protocol` whole and `user_port` in parts; the port
/// is written whole. The address fields depend on the attach type; `sk` is a socket
/// pointer rvbpf does not track, so not listed.
macro_rules! sock_addr_fields {
    ($($extra:expr),*) => {
        &[
            CtxField::exact("user_family", 0, 4, FieldKind::Scalar),
            $($extra,)*
            CtxField::narrow("user_port", 24, 4),
            CtxField::exact("family", 28, 4, FieldKind::Scalar),
            CtxField::exact("type", 32, 4, FieldKind::Scalar),
            CtxField::exact("protocol", 36, 4, FieldKind::Scalar),
        ]
    };
}

/// An IPv6 address in `struct bpf_sock_addr`: loads of any part, stores of 4 or 8 bytes.
const fn sock_addr_ip6(name: &'static str, off: u16) -> CtxField {
    CtxField::narrow(name, off, 16).stores(widths::W | widths::DW)
}

/// A unix-socket address hook's `struct bpf_sock_addr`: no IP address.
const SOCK_ADDR_UNIX: CtxDescriptor = CtxDescriptor { name: "bpf_sock_addr", size: Some(72), writable: &[(24, 28)], fields: sock_addr_fields!(), rewrite: false };
/// An IPv4 hook's: `user_ip4` too, read in parts and written whole.
const SOCK_ADDR4: CtxDescriptor = CtxDescriptor { writable: &[(4, 8), (24, 28)], fields: sock_addr_fields!(CtxField::narrow("user_ip4", 4, 4)), ..SOCK_ADDR_UNIX };
/// An IPv6 hook's: `user_ip6`.
const SOCK_ADDR6: CtxDescriptor = CtxDescriptor { writable: &[(8, 28)], fields: sock_addr_fields!(sock_addr_ip6("user_ip6", 8)), ..SOCK_ADDR_UNIX };
/// IPv4 `sendmsg`: the message's source address `msg_src_ip4` too.
const SOCK_ADDR4_SENDMSG: CtxDescriptor =
    CtxDescriptor { writable: &[(4, 8), (24, 28), (40, 44)], fields: sock_addr_fields!(CtxField::narrow("user_ip4", 4, 4), CtxField::narrow("msg_src_ip4", 40, 4)), ..SOCK_ADDR_UNIX };
/// IPv6 `sendmsg`: `msg_src_ip6` too.
const SOCK_ADDR6_SENDMSG: CtxDescriptor =
    CtxDescriptor { writable: &[(8, 28), (44, 60)], fields: sock_addr_fields!(sock_addr_ip6("user_ip6", 8), sock_addr_ip6("msg_src_ip6", 44)), ..SOCK_ADDR_UNIX };

/// `struct bpf_sock_ops` (`sock_ops_is_valid_access`): 32-bit fields read whole, `reply`
/// and `sk_txhash` written whole, the two byte counters and `skb_hwtstamp` in 64 bits,
/// and the TCP header as packet data (`skb_data`, `skb_data_end`). `sk` is a socket
/// pointer rvbpf does not track: not listed.
const SOCK_OPS: CtxDescriptor = CtxDescriptor {
    name: "bpf_sock_ops",
    size: Some(224),
    writable: &[(4, 8), (164, 168)],
    fields: &[
        CtxField::exact("op", 0, 4, FieldKind::Scalar),
        CtxField::exact("args[0]", 4, 4, FieldKind::Scalar),
        CtxField::exact("args[1]", 8, 4, FieldKind::Scalar),
        CtxField::exact("args[2]", 12, 4, FieldKind::Scalar),
        CtxField::exact("args[3]", 16, 4, FieldKind::Scalar),
        CtxField::exact("family", 20, 4, FieldKind::Scalar),
        CtxField::exact("remote_ip4", 24, 4, FieldKind::Scalar),
        CtxField::exact("local_ip4", 28, 4, FieldKind::Scalar),
        CtxField::exact("remote_ip6[0]", 32, 4, FieldKind::Scalar),
        CtxField::exact("remote_ip6[1]", 36, 4, FieldKind::Scalar),
        CtxField::exact("remote_ip6[2]", 40, 4, FieldKind::Scalar),
        CtxField::exact("remote_ip6[3]", 44, 4, FieldKind::Scalar),
        CtxField::exact("local_ip6[0]", 48, 4, FieldKind::Scalar),
        CtxField::exact("local_ip6[1]", 52, 4, FieldKind::Scalar),
        CtxField::exact("local_ip6[2]", 56, 4, FieldKind::Scalar),
        CtxField::exact("local_ip6[3]", 60, 4, FieldKind::Scalar),
        CtxField::exact("remote_port", 64, 4, FieldKind::Scalar),
        CtxField::exact("local_port", 68, 4, FieldKind::Scalar),
        CtxField::exact("is_fullsock", 72, 4, FieldKind::Scalar),
        CtxField::exact("snd_cwnd", 76, 4, FieldKind::Scalar),
        CtxField::exact("srtt_us", 80, 4, FieldKind::Scalar),
        CtxField::exact("bpf_sock_ops_cb_flags", 84, 4, FieldKind::Scalar),
        CtxField::exact("state", 88, 4, FieldKind::Scalar),
        CtxField::exact("rtt_min", 92, 4, FieldKind::Scalar),
        CtxField::exact("snd_ssthresh", 96, 4, FieldKind::Scalar),
        CtxField::exact("rcv_nxt", 100, 4, FieldKind::Scalar),
        CtxField::exact("snd_nxt", 104, 4, FieldKind::Scalar),
        CtxField::exact("snd_una", 108, 4, FieldKind::Scalar),
        CtxField::exact("mss_cache", 112, 4, FieldKind::Scalar),
        CtxField::exact("ecn_flags", 116, 4, FieldKind::Scalar),
        CtxField::exact("rate_delivered", 120, 4, FieldKind::Scalar),
        CtxField::exact("rate_interval_us", 124, 4, FieldKind::Scalar),
        CtxField::exact("packets_out", 128, 4, FieldKind::Scalar),
        CtxField::exact("retrans_out", 132, 4, FieldKind::Scalar),
        CtxField::exact("total_retrans", 136, 4, FieldKind::Scalar),
        CtxField::exact("segs_in", 140, 4, FieldKind::Scalar),
        CtxField::exact("data_segs_in", 144, 4, FieldKind::Scalar),
        CtxField::exact("segs_out", 148, 4, FieldKind::Scalar),
        CtxField::exact("data_segs_out", 152, 4, FieldKind::Scalar),
        CtxField::exact("lost_out", 156, 4, FieldKind::Scalar),
        CtxField::exact("sacked_out", 160, 4, FieldKind::Scalar),
        CtxField::exact("sk_txhash", 164, 4, FieldKind::Scalar),
        CtxField::exact("bytes_received", 168, 8, FieldKind::Scalar),
        CtxField::exact("bytes_acked", 176, 8, FieldKind::Scalar),
        CtxField::exact("skb_data", 192, 8, FieldKind::PacketData),
        CtxField::exact("skb_data_end", 200, 8, FieldKind::PacketEnd),
        CtxField::exact("skb_len", 208, 4, FieldKind::Scalar),
        CtxField::start("skb_tcp_flags", 212, 4),
        CtxField::exact("skb_hwtstamp", 216, 8, FieldKind::Scalar),
    ],
    rewrite: false,
};

/// `struct bpf_sockopt` in a `getsockopt` hook (`cg_sockopt_is_valid_access`): the option
/// value as packet data (`optval`, `optval_end`), `level` and `optname` read-only,
/// `optlen` and `retval` writable, whole. `sk` is a socket pointer: not listed.
const SOCKOPT_GET: CtxDescriptor = CtxDescriptor {
    name: "bpf_sockopt",
    size: Some(40),
    writable: &[(32, 40)],
    fields: &[
        CtxField::exact("optval", 8, 8, FieldKind::PacketData),
        CtxField::exact("optval_end", 16, 8, FieldKind::PacketEnd),
        CtxField::exact("level", 24, 4, FieldKind::Scalar),
        CtxField::exact("optname", 28, 4, FieldKind::Scalar),
        CtxField::exact("optlen", 32, 4, FieldKind::Scalar),
        CtxField::exact("retval", 36, 4, FieldKind::Scalar),
    ],
    rewrite: false,
};

/// In a `setsockopt` hook: `level`, `optname` and `optlen` writable, no `retval`.
const SOCKOPT_SET: CtxDescriptor = CtxDescriptor {
    writable: &[(24, 36)],
    fields: &[
        CtxField::exact("optval", 8, 8, FieldKind::PacketData),
        CtxField::exact("optval_end", 16, 8, FieldKind::PacketEnd),
        CtxField::exact("level", 24, 4, FieldKind::Scalar),
        CtxField::exact("optname", 28, 4, FieldKind::Scalar),
        CtxField::exact("optlen", 32, 4, FieldKind::Scalar),
    ],
    ..SOCKOPT_GET
};

/// `struct sk_msg_md` (`sk_msg_is_valid_access`): the message as packet data and the
/// socket's addresses and ports, read-only and whole. `sk`: not listed.
const SK_MSG_MD: CtxDescriptor = CtxDescriptor {
    name: "sk_msg_md",
    size: Some(80),
    writable: &[],
    fields: &[
        CtxField::exact("data", 0, 8, FieldKind::PacketData),
        CtxField::exact("data_end", 8, 8, FieldKind::PacketEnd),
        CtxField::exact("family", 16, 4, FieldKind::Scalar),
        CtxField::exact("remote_ip4", 20, 4, FieldKind::Scalar),
        CtxField::exact("local_ip4", 24, 4, FieldKind::Scalar),
        CtxField::exact("remote_ip6[0]", 28, 4, FieldKind::Scalar),
        CtxField::exact("remote_ip6[1]", 32, 4, FieldKind::Scalar),
        CtxField::exact("remote_ip6[2]", 36, 4, FieldKind::Scalar),
        CtxField::exact("remote_ip6[3]", 40, 4, FieldKind::Scalar),
        CtxField::exact("local_ip6[0]", 44, 4, FieldKind::Scalar),
        CtxField::exact("local_ip6[1]", 48, 4, FieldKind::Scalar),
        CtxField::exact("local_ip6[2]", 52, 4, FieldKind::Scalar),
        CtxField::exact("local_ip6[3]", 56, 4, FieldKind::Scalar),
        CtxField::exact("remote_port", 60, 4, FieldKind::Scalar),
        CtxField::exact("local_port", 64, 4, FieldKind::Scalar),
        CtxField::exact("size", 68, 4, FieldKind::Scalar),
    ],
    rewrite: false,
};

/// `struct bpf_sk_lookup` (`sk_lookup_is_valid_access`): the connection's 32-bit fields,
/// read-only, in parts too. `sk` (and `cookie`, which shares its place): not listed.
const SK_LOOKUP_CTX: CtxDescriptor = CtxDescriptor {
    name: "bpf_sk_lookup",
    size: Some(72),
    writable: &[],
    fields: &[
        CtxField::narrow("family", 8, 4),
        CtxField::narrow("protocol", 12, 4),
        CtxField::narrow("remote_ip4", 16, 4),
        CtxField::narrow("remote_ip6[0]", 20, 4),
        CtxField::narrow("remote_ip6[1]", 24, 4),
        CtxField::narrow("remote_ip6[2]", 28, 4),
        CtxField::narrow("remote_ip6[3]", 32, 4),
        CtxField::narrow("remote_port", 36, 4),
        CtxField::narrow("local_ip4", 40, 4),
        CtxField::narrow("local_ip6[0]", 44, 4),
        CtxField::narrow("local_ip6[1]", 48, 4),
        CtxField::narrow("local_ip6[2]", 52, 4),
        CtxField::narrow("local_ip6[3]", 56, 4),
        CtxField::narrow("local_port", 60, 4),
        CtxField::narrow("ingress_ifindex", 64, 4),
    ],
    rewrite: false,
};

/// `struct sk_reuseport_md` (`sk_reuseport_is_valid_access`): the packet from its
/// transport header, `len`, `ip_protocol` and `bind_inany` in parts, `eth_protocol` in
/// 16-bit halves, `hash` whole; read-only. `sk` and `migrating_sk`: not listed.
const SK_REUSEPORT_MD: CtxDescriptor = CtxDescriptor {
    name: "sk_reuseport_md",
    size: Some(56),
    writable: &[],
    fields: &[
        CtxField::exact("data", 0, 8, FieldKind::PacketData),
        CtxField::exact("data_end", 8, 8, FieldKind::PacketEnd),
        CtxField::narrow("len", 16, 4),
        CtxField::exact("eth_protocol", 20, 4, FieldKind::Scalar).parts(Parts::Within { span: 4, widths: widths::H }),
        CtxField::narrow("ip_protocol", 24, 4),
        CtxField::narrow("bind_inany", 28, 4),
        CtxField::exact("hash", 32, 4, FieldKind::Scalar),
    ],
    rewrite: false,
};

/// A lirc decoder's context (`lirc_mode2_is_valid_access`): one 32-bit sample, read whole.
const LIRC_SAMPLE: CtxDescriptor =
    CtxDescriptor { name: "u32 sample", size: Some(4), writable: &[], fields: &[CtxField::exact("sample", 0, 4, FieldKind::Scalar)], rewrite: false };

/// `struct bpf_nf_ctx` (`nf_is_valid_access`): two BTF pointers, read whole. rvbpf reads
/// them as numbers, so a program that dereferences them is refused.
const NF_CTX: CtxDescriptor = CtxDescriptor {
    name: "bpf_nf_ctx",
    size: Some(16),
    writable: &[],
    fields: &[CtxField::exact("state", 0, 8, FieldKind::Scalar), CtxField::exact("skb", 8, 8, FieldKind::Scalar)],
    rewrite: false,
};

/// The arguments of a BTF-typed hook (`tp_btf`, fentry, fexit, fmod_ret, LSM, iterators,
/// struct_ops members, freplace), as 64-bit words; how many the kernel takes from the
/// target's BTF prototype, which rvbpf does not resolve, so the size is open.
const BTF_ARGS: CtxDescriptor = CtxDescriptor { name: "u64 args[] (from the target's BTF)", size: None, writable: &[], fields: &[], rewrite: false };

/// Why the runtime cannot run a type with no hook in it.
const NO_HOOK_RUN: Option<&str> = Some("the runtime has no hook of this type and builds no context for it");

/// Why the runtime cannot run a BTF-typed hook.
const NO_BTF_RUN: Option<&str> = Some("its context comes from a kernel function's BTF prototype; the runtime has no such hooks");

/// The cgroup socket hooks other than socket creation (the row's).
const CGROUP_SOCK_VARIANTS: &[Variant] = &[
    Variant { attach: attach::CGROUP_INET4_POST_BIND, name: "cgroup/post_bind4", ctx: SOCK_POST_BIND4, ret: Some((0, 1)) },
    Variant { attach: attach::CGROUP_INET6_POST_BIND, name: "cgroup/post_bind6", ctx: SOCK_POST_BIND6, ret: Some((0, 1)) },
];

/// The socket-address hooks. Their kernel checks `expected_attach_type`; the row's
/// context (connect4's) is what a program given none gets.
const SOCK_ADDR_VARIANTS: &[Variant] = &[
    Variant { attach: attach::CGROUP_INET4_BIND, name: "cgroup/bind4", ctx: SOCK_ADDR4, ret: Some((0, 3)) },
    Variant { attach: attach::CGROUP_INET6_BIND, name: "cgroup/bind6", ctx: SOCK_ADDR6, ret: Some((0, 3)) },
    Variant { attach: attach::CGROUP_INET4_CONNECT, name: "cgroup/connect4", ctx: SOCK_ADDR4, ret: Some((0, 1)) },
    Variant { attach: attach::CGROUP_INET6_CONNECT, name: "cgroup/connect6", ctx: SOCK_ADDR6, ret: Some((0, 1)) },
    Variant { attach: attach::CGROUP_UDP4_SENDMSG, name: "cgroup/sendmsg4", ctx: SOCK_ADDR4_SENDMSG, ret: Some((0, 1)) },
    Variant { attach: attach::CGROUP_UDP6_SENDMSG, name: "cgroup/sendmsg6", ctx: SOCK_ADDR6_SENDMSG, ret: Some((0, 1)) },
    Variant { attach: attach::CGROUP_UDP4_RECVMSG, name: "cgroup/recvmsg4", ctx: SOCK_ADDR4, ret: Some((1, 1)) },
    Variant { attach: attach::CGROUP_UDP6_RECVMSG, name: "cgroup/recvmsg6", ctx: SOCK_ADDR6, ret: Some((1, 1)) },
    Variant { attach: attach::CGROUP_INET4_GETPEERNAME, name: "cgroup/getpeername4", ctx: SOCK_ADDR4, ret: Some((1, 1)) },
    Variant { attach: attach::CGROUP_INET6_GETPEERNAME, name: "cgroup/getpeername6", ctx: SOCK_ADDR6, ret: Some((1, 1)) },
    Variant { attach: attach::CGROUP_INET4_GETSOCKNAME, name: "cgroup/getsockname4", ctx: SOCK_ADDR4, ret: Some((1, 1)) },
    Variant { attach: attach::CGROUP_INET6_GETSOCKNAME, name: "cgroup/getsockname6", ctx: SOCK_ADDR6, ret: Some((1, 1)) },
    Variant { attach: attach::CGROUP_UNIX_CONNECT, name: "cgroup/connect_unix", ctx: SOCK_ADDR_UNIX, ret: Some((0, 1)) },
    Variant { attach: attach::CGROUP_UNIX_SENDMSG, name: "cgroup/sendmsg_unix", ctx: SOCK_ADDR_UNIX, ret: Some((0, 1)) },
    Variant { attach: attach::CGROUP_UNIX_RECVMSG, name: "cgroup/recvmsg_unix", ctx: SOCK_ADDR_UNIX, ret: Some((1, 1)) },
    Variant { attach: attach::CGROUP_UNIX_GETPEERNAME, name: "cgroup/getpeername_unix", ctx: SOCK_ADDR_UNIX, ret: Some((1, 1)) },
    Variant { attach: attach::CGROUP_UNIX_GETSOCKNAME, name: "cgroup/getsockname_unix", ctx: SOCK_ADDR_UNIX, ret: Some((1, 1)) },
];

/// The tracing attach types' return ranges (`check_return_code`): fentry and fexit
/// return 0, iterators 0 or 1, tp_btf and fmod_ret anything (the row's).
const TRACING_VARIANTS: &[Variant] = &[
    Variant { attach: attach::TRACE_FENTRY, name: "fentry", ctx: BTF_ARGS, ret: Some((0, 0)) },
    Variant { attach: attach::TRACE_FEXIT, name: "fexit", ctx: BTF_ARGS, ret: Some((0, 0)) },
    Variant { attach: attach::TRACE_ITER, name: "iter", ctx: BTF_ARGS, ret: Some((0, 1)) },
];

/// Why the runtime cannot run a cgroup program: it has no cgroups to attach it to.
const NO_CGROUP_RUN: Option<&str> = Some("the runtime has no cgroup hooks and builds no context for this type");

/// Why the runtime cannot run the socket-buffer types other than socket filters.
const NO_SKB_RUN: Option<&str> = Some("the runtime lays out no __sk_buff with the packet pointers (data, data_end) this type reads");

/// A row with no variants.
const fn row(prog_type: ProgType, name: &'static str, ctx: CtxDescriptor, ret: Option<(i64, i64)>, not_runnable: Option<&'static str>) -> ProgTypeInfo {
    ProgTypeInfo { prog_type, name, ctx, ret, not_runnable, variants: &[] }
}

impl ProgTypeInfo {
    /// The same row with these variants.
    const fn variants(self, variants: &'static [Variant]) -> ProgTypeInfo {
        ProgTypeInfo { variants, ..self }
    }
}

/// A tracepoint's record: its layout is the tracepoint's own.
const TP_RECORD: CtxDescriptor = CtxDescriptor { name: "tracepoint record", size: None, writable: &[], fields: &[], rewrite: false };
/// A raw tracepoint's arguments.
const RAW_TP_ARGS: CtxDescriptor = CtxDescriptor { name: "u64 args[]", size: None, writable: &[], fields: &[], rewrite: false };

/// The egress hook of a cgroup socket-buffer program may also return 2 and 3 (drop or
/// pass, with congestion notification).
const CGROUP_SKB_VARIANTS: &[Variant] = &[Variant { attach: attach::CGROUP_INET_EGRESS, name: "cgroup_skb/egress", ctx: CG_SK_BUFF, ret: Some((0, 3)) }];

/// Every program type, with its context.
pub const PROG_TYPES: &[ProgTypeInfo] = &[
    row(ProgType::SocketFilter, "socket_filter", SK_BUFF, None, None),
    row(ProgType::Kprobe, "kprobe", PT_REGS, None, None),
    row(ProgType::SchedCls, "sched_cls", TC_SK_BUFF, None, NO_SKB_RUN),
    row(ProgType::SchedAct, "sched_act", TC_SK_BUFF, None, NO_SKB_RUN),
    row(ProgType::CgroupSkb, "cgroup_skb", CG_SK_BUFF, Some((0, 1)), NO_SKB_RUN).variants(CGROUP_SKB_VARIANTS),
    row(ProgType::CgroupSock, "cgroup_sock", SOCK_CREATE, Some((0, 1)), NO_CGROUP_RUN).variants(CGROUP_SOCK_VARIANTS),
    row(ProgType::LwtIn, "lwt_in", LWT_SK_BUFF, None, NO_SKB_RUN),
    row(ProgType::LwtOut, "lwt_out", LWT_SK_BUFF, None, NO_SKB_RUN),
    row(ProgType::LwtXmit, "lwt_xmit", LWT_SK_BUFF, None, NO_SKB_RUN),
    row(ProgType::SockOps, "sock_ops", SOCK_OPS, Some((0, 1)), NO_CGROUP_RUN),
    row(ProgType::SkSkb, "sk_skb", SK_SKB_SK_BUFF, None, NO_SKB_RUN),
    row(ProgType::CgroupDevice, "cgroup_device", CGROUP_DEV_CTX, Some((0, 1)), NO_CGROUP_RUN),
    row(ProgType::SkMsg, "sk_msg", SK_MSG_MD, None, NO_HOOK_RUN),
    row(ProgType::RawTracepoint, "raw_tracepoint", RAW_TP_ARGS, None, None),
    row(ProgType::CgroupSockAddr, "cgroup_sock_addr", SOCK_ADDR4, Some((0, 1)), NO_CGROUP_RUN).variants(SOCK_ADDR_VARIANTS),
    row(ProgType::LwtSeg6local, "lwt_seg6local", LWT_SK_BUFF, None, NO_SKB_RUN),
    row(ProgType::LircMode2, "lirc_mode2", LIRC_SAMPLE, None, NO_HOOK_RUN),
    row(ProgType::SkReuseport, "sk_reuseport", SK_REUSEPORT_MD, None, NO_HOOK_RUN),
    row(ProgType::FlowDissector, "flow_dissector", FLOW_SK_BUFF, None, NO_SKB_RUN),
    row(ProgType::CgroupSysctl, "cgroup_sysctl", SYSCTL_CTX, Some((0, 1)), NO_CGROUP_RUN),
    row(ProgType::RawTracepointWritable, "raw_tracepoint_writable", RAW_TP_ARGS, None, NO_HOOK_RUN),
    row(ProgType::CgroupSockopt, "cgroup_sockopt", SOCKOPT_GET, Some((0, 1)), NO_CGROUP_RUN)
        .variants(&[Variant { attach: attach::CGROUP_SETSOCKOPT, name: "cgroup/setsockopt", ctx: SOCKOPT_SET, ret: Some((0, 1)) }]),
    row(ProgType::Tracing, "tracing", BTF_ARGS, None, NO_BTF_RUN).variants(TRACING_VARIANTS),
    row(ProgType::StructOps, "struct_ops", BTF_ARGS, None, NO_BTF_RUN),
    row(ProgType::Ext, "ext", BTF_ARGS, None, NO_BTF_RUN),
    // LSM hooks returning int; a void hook returns anything and a bool one 0 or 1 in
    // Linux, which rvbpf cannot tell without the hook's BTF.
    row(ProgType::Lsm, "lsm", BTF_ARGS, Some((-4095, 0)), NO_BTF_RUN),
    row(ProgType::SkLookup, "sk_lookup", SK_LOOKUP_CTX, Some((0, 1)), NO_HOOK_RUN),
    row(ProgType::Tracepoint, "tracepoint", TP_RECORD, None, None),
    row(ProgType::Xdp, "xdp", XDP_MD, None, None),
    row(ProgType::PerfEvent, "perf_event", PT_REGS, None, None),
    row(ProgType::Syscall, "syscall", CtxDescriptor { name: "raw", size: None, writable: &[(0, u32::MAX)], fields: &[], rewrite: false }, None, None),
    row(ProgType::Netfilter, "netfilter", NF_CTX, Some((0, 1)), NO_HOOK_RUN),
];

/// The return codes that have names, per program type (`enum xdp_action`, `TC_ACT_*`,
/// `enum sk_action`, `BPF_OK`/`BPF_DROP`/…, `NF_DROP`/`NF_ACCEPT`).
const XDP_ACTIONS: &[(i64, &str)] = &[(0, "XDP_ABORTED"), (1, "XDP_DROP"), (2, "XDP_PASS"), (3, "XDP_TX"), (4, "XDP_REDIRECT")];
const TC_ACTIONS: &[(i64, &str)] = &[
    (-1, "TC_ACT_UNSPEC"),
    (0, "TC_ACT_OK"),
    (1, "TC_ACT_RECLASSIFY"),
    (2, "TC_ACT_SHOT"),
    (3, "TC_ACT_PIPE"),
    (4, "TC_ACT_STOLEN"),
    (5, "TC_ACT_QUEUED"),
    (6, "TC_ACT_REPEAT"),
    (7, "TC_ACT_REDIRECT"),
    (8, "TC_ACT_TRAP"),
];
const SK_ACTIONS: &[(i64, &str)] = &[(0, "SK_DROP"), (1, "SK_PASS")];
const LWT_ACTIONS: &[(i64, &str)] = &[(0, "BPF_OK"), (2, "BPF_DROP"), (7, "BPF_REDIRECT"), (128, "BPF_LWT_REROUTE")];
const NF_ACTIONS: &[(i64, &str)] = &[(0, "NF_DROP"), (1, "NF_ACCEPT")];

impl ProgType {
    /// What a return value `r0` means to a program of this type, for people: the name of
    /// its action (`XDP_TX`, `TC_ACT_SHOT`, `SK_PASS`), a socket filter's bytes kept, or
    /// `None` where the value is a plain number.
    pub fn return_name(self, r0: u64) -> Option<alloc::string::String> {
        use ProgType::*;
        let table = match self {
            Xdp => XDP_ACTIONS,
            SchedCls | SchedAct => TC_ACTIONS,
            SkSkb | SkMsg | SkReuseport | SkLookup => SK_ACTIONS,
            LwtIn | LwtOut | LwtXmit | LwtSeg6local => LWT_ACTIONS,
            Netfilter => NF_ACTIONS,
            SocketFilter if r0 as u32 == 0 => return Some("drop".into()),
            SocketFilter => return Some(alloc::format!("keep {} bytes", r0 as u32)),
            _ => return None,
        };
        // Actions are 32-bit: TC_ACT_UNSPEC is -1 in r0's low half.
        let v = r0 as u32 as i32 as i64;
        table.iter().find(|(k, _)| *k == v).map(|(_, n)| (*n).into())
    }

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

    /// The variant for attach type `attach`, where it has one.
    pub fn variant(self, attach: Option<u32>) -> Option<&'static Variant> {
        self.info().variants.iter().find(|v| Some(v.attach) == attach)
    }

    /// What r1 points to in a program of this type attached as `attach`.
    pub fn ctx_at(self, attach: Option<u32>) -> &'static CtxDescriptor {
        self.variant(attach).map_or(self.ctx(), |v| &v.ctx)
    }

    /// Whether `BPF_PROG_LOAD` takes `expected_attach_type` `attach` for this type (the
    /// kernel's `bpf_prog_load_check_attach`, less the BTF-typed hooks, which also need
    /// an `attach_btf_id` rvbpf's bpf() layer does not take).
    pub fn accepts_attach(self, attach: u32) -> bool {
        use crate::prog::attach as a;
        match self {
            ProgType::CgroupSockAddr => self.variant(Some(attach)).is_some(),
            ProgType::CgroupSockopt => matches!(attach, a::CGROUP_GETSOCKOPT | a::CGROUP_SETSOCKOPT),
            ProgType::SkLookup => attach == a::SK_LOOKUP,
            ProgType::SkReuseport => matches!(attach, 0 | a::SK_REUSEPORT_SELECT | a::SK_REUSEPORT_SELECT_OR_MIGRATE),
            ProgType::Netfilter => attach == a::NETFILTER,
            ProgType::Tracing | ProgType::StructOps | ProgType::Ext | ProgType::Lsm => false,
            _ => true,
        }
    }

    /// The range r0 must lie in at exit in a program attached as `attach`.
    pub fn ret_at(self, attach: Option<u32>) -> Option<(i64, i64)> {
        self.variant(attach).map_or(self.info().ret, |v| v.ret)
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
    fn return_values_are_named_per_type() {
        let name = |t: ProgType, r0: u64| t.return_name(r0);
        assert_eq!(name(ProgType::Xdp, 3).as_deref(), Some("XDP_TX"));
        assert_eq!(name(ProgType::Xdp, 9), None, "no action 9");
        assert_eq!(name(ProgType::SchedCls, 0xffff_ffff).as_deref(), Some("TC_ACT_UNSPEC"), "-1 in the low 32 bits");
        assert_eq!(name(ProgType::SchedAct, 2).as_deref(), Some("TC_ACT_SHOT"));
        assert_eq!(name(ProgType::SkSkb, 1).as_deref(), Some("SK_PASS"));
        assert_eq!(name(ProgType::LwtXmit, 128).as_deref(), Some("BPF_LWT_REROUTE"));
        assert_eq!(name(ProgType::SocketFilter, 0).as_deref(), Some("drop"));
        assert_eq!(name(ProgType::SocketFilter, 64).as_deref(), Some("keep 64 bytes"));
        assert_eq!(name(ProgType::Kprobe, 0), None);
    }

    #[test]
    fn every_type_has_one_row_and_round_trips() {
        for (i, row) in PROG_TYPES.iter().enumerate() {
            assert_eq!(ProgType::from_u32(row.prog_type as u32), Some(row.prog_type));
            assert_eq!(row.prog_type.info(), row, "one row per type");
            assert!(PROG_TYPES[..i].iter().all(|r| r.prog_type != row.prog_type && r.name != row.name), "{} listed twice", row.name);
        }
        assert_eq!(ProgType::from_u32(0), None);
        assert_eq!(ProgType::from_u32(33), None);
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
