//! Program section names → program types, by libbpf's matching rules.
//!
//! A definition ending in `+` matches the exact name or `name/anything`; one ending in
//! `/` needs that prefix; the others must match exactly. A leading `?` in the section
//! name means "do not load automatically".

use crate::prog::attach as a;
use crate::prog::ProgType;

/// What a section name says about its programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionKind {
    pub prog_type: ProgType,
    /// kretprobe/kretsyscall/uretprobe.
    pub is_return: bool,
    /// The part after the first `/`: the probed function or tracepoint.
    pub attach: Option<alloc::string::String>,
    /// `SEC("?…")`.
    pub autoload: bool,
    /// The `expected_attach_type` libbpf gives it ([`crate::prog::attach`]).
    pub attach_type: Option<u32>,
    /// A sleepable variant (`fentry.s`, `uprobe.s`, `lsm.s`, ...): libbpf loads it with
    /// `BPF_F_SLEEPABLE`.
    pub sleepable: bool,
}

/// One definition of libbpf's `section_defs`.
struct Def {
    def: &'static str,
    prog_type: ProgType,
    is_return: bool,
    /// `expected_attach_type`.
    attach: Option<u32>,
}

/// A definition's row.
const fn d(def: &'static str, prog_type: ProgType, is_return: bool, attach: Option<u32>) -> Def {
    Def { def, prog_type, is_return, attach }
}

/// The definitions in libbpf's order (Linux 6.18's libbpf); the first match wins.
const DEFS: &[Def] = &[
    d("socket", ProgType::SocketFilter, false, None),
    d("sk_reuseport/migrate", ProgType::SkReuseport, false, Some(a::SK_REUSEPORT_SELECT_OR_MIGRATE)),
    d("sk_reuseport", ProgType::SkReuseport, false, Some(a::SK_REUSEPORT_SELECT)),
    d("kprobe+", ProgType::Kprobe, false, None),
    d("uprobe+", ProgType::Kprobe, false, None),
    d("uprobe.s+", ProgType::Kprobe, false, None),
    d("kretprobe+", ProgType::Kprobe, true, None),
    d("uretprobe+", ProgType::Kprobe, true, None),
    d("uretprobe.s+", ProgType::Kprobe, true, None),
    d("kprobe.multi+", ProgType::Kprobe, false, Some(a::TRACE_KPROBE_MULTI)),
    d("kretprobe.multi+", ProgType::Kprobe, true, Some(a::TRACE_KPROBE_MULTI)),
    d("kprobe.session+", ProgType::Kprobe, false, Some(a::TRACE_KPROBE_SESSION)),
    d("uprobe.multi+", ProgType::Kprobe, false, Some(a::TRACE_UPROBE_MULTI)),
    d("uretprobe.multi+", ProgType::Kprobe, true, Some(a::TRACE_UPROBE_MULTI)),
    d("uprobe.multi.s+", ProgType::Kprobe, false, Some(a::TRACE_UPROBE_MULTI)),
    d("uretprobe.multi.s+", ProgType::Kprobe, true, Some(a::TRACE_UPROBE_MULTI)),
    d("uprobe.session+", ProgType::Kprobe, false, Some(a::TRACE_UPROBE_SESSION)),
    d("uprobe.session.s+", ProgType::Kprobe, false, Some(a::TRACE_UPROBE_SESSION)),
    d("ksyscall+", ProgType::Kprobe, false, None),
    d("kretsyscall+", ProgType::Kprobe, true, None),
    d("usdt+", ProgType::Kprobe, false, None),
    d("usdt.s+", ProgType::Kprobe, false, None),
    d("tc/ingress", ProgType::SchedCls, false, Some(a::TCX_INGRESS)),
    d("tc/egress", ProgType::SchedCls, false, Some(a::TCX_EGRESS)),
    d("tcx/ingress", ProgType::SchedCls, false, Some(a::TCX_INGRESS)),
    d("tcx/egress", ProgType::SchedCls, false, Some(a::TCX_EGRESS)),
    d("tc", ProgType::SchedCls, false, None),
    d("classifier", ProgType::SchedCls, false, None),
    d("action", ProgType::SchedAct, false, None),
    d("netkit/primary", ProgType::SchedCls, false, Some(a::NETKIT_PRIMARY)),
    d("netkit/peer", ProgType::SchedCls, false, Some(a::NETKIT_PEER)),
    d("tracepoint+", ProgType::Tracepoint, false, None),
    d("tp+", ProgType::Tracepoint, false, None),
    d("raw_tracepoint+", ProgType::RawTracepoint, false, None),
    d("raw_tp+", ProgType::RawTracepoint, false, None),
    d("raw_tracepoint.w+", ProgType::RawTracepointWritable, false, None),
    d("raw_tp.w+", ProgType::RawTracepointWritable, false, None),
    d("tp_btf+", ProgType::Tracing, false, Some(a::TRACE_RAW_TP)),
    d("fentry+", ProgType::Tracing, false, Some(a::TRACE_FENTRY)),
    d("fmod_ret+", ProgType::Tracing, false, Some(a::MODIFY_RETURN)),
    d("fexit+", ProgType::Tracing, false, Some(a::TRACE_FEXIT)),
    d("fentry.s+", ProgType::Tracing, false, Some(a::TRACE_FENTRY)),
    d("fmod_ret.s+", ProgType::Tracing, false, Some(a::MODIFY_RETURN)),
    d("fexit.s+", ProgType::Tracing, false, Some(a::TRACE_FEXIT)),
    d("freplace+", ProgType::Ext, false, None),
    d("lsm+", ProgType::Lsm, false, Some(a::LSM_MAC)),
    d("lsm.s+", ProgType::Lsm, false, Some(a::LSM_MAC)),
    d("lsm_cgroup+", ProgType::Lsm, false, Some(a::LSM_CGROUP)),
    d("iter+", ProgType::Tracing, false, Some(a::TRACE_ITER)),
    d("iter.s+", ProgType::Tracing, false, Some(a::TRACE_ITER)),
    d("syscall", ProgType::Syscall, false, None),
    d("xdp.frags/devmap", ProgType::Xdp, false, Some(a::XDP_DEVMAP)),
    d("xdp/devmap", ProgType::Xdp, false, Some(a::XDP_DEVMAP)),
    d("xdp.frags/cpumap", ProgType::Xdp, false, Some(a::XDP_CPUMAP)),
    d("xdp/cpumap", ProgType::Xdp, false, Some(a::XDP_CPUMAP)),
    d("xdp.frags", ProgType::Xdp, false, Some(a::XDP)),
    d("xdp", ProgType::Xdp, false, Some(a::XDP)),
    d("perf_event", ProgType::PerfEvent, false, None),
    d("lwt_in", ProgType::LwtIn, false, None),
    d("lwt_out", ProgType::LwtOut, false, None),
    d("lwt_xmit", ProgType::LwtXmit, false, None),
    d("lwt_seg6local", ProgType::LwtSeg6local, false, None),
    d("sockops", ProgType::SockOps, false, Some(a::CGROUP_SOCK_OPS)),
    d("sk_skb/stream_parser", ProgType::SkSkb, false, Some(a::SK_SKB_STREAM_PARSER)),
    d("sk_skb/stream_verdict", ProgType::SkSkb, false, Some(a::SK_SKB_STREAM_VERDICT)),
    d("sk_skb/verdict", ProgType::SkSkb, false, Some(a::SK_SKB_VERDICT)),
    d("sk_skb", ProgType::SkSkb, false, None),
    d("sk_msg", ProgType::SkMsg, false, Some(a::SK_MSG_VERDICT)),
    d("lirc_mode2", ProgType::LircMode2, false, Some(a::LIRC_MODE2)),
    d("flow_dissector", ProgType::FlowDissector, false, Some(a::FLOW_DISSECTOR)),
    d("cgroup_skb/ingress", ProgType::CgroupSkb, false, Some(a::CGROUP_INET_INGRESS)),
    d("cgroup_skb/egress", ProgType::CgroupSkb, false, Some(a::CGROUP_INET_EGRESS)),
    d("cgroup/skb", ProgType::CgroupSkb, false, None),
    d("cgroup/sock_create", ProgType::CgroupSock, false, Some(a::CGROUP_INET_SOCK_CREATE)),
    d("cgroup/sock_release", ProgType::CgroupSock, false, Some(a::CGROUP_INET_SOCK_RELEASE)),
    d("cgroup/sock", ProgType::CgroupSock, false, Some(a::CGROUP_INET_SOCK_CREATE)),
    d("cgroup/post_bind4", ProgType::CgroupSock, false, Some(a::CGROUP_INET4_POST_BIND)),
    d("cgroup/post_bind6", ProgType::CgroupSock, false, Some(a::CGROUP_INET6_POST_BIND)),
    d("cgroup/bind4", ProgType::CgroupSockAddr, false, Some(a::CGROUP_INET4_BIND)),
    d("cgroup/bind6", ProgType::CgroupSockAddr, false, Some(a::CGROUP_INET6_BIND)),
    d("cgroup/connect4", ProgType::CgroupSockAddr, false, Some(a::CGROUP_INET4_CONNECT)),
    d("cgroup/connect6", ProgType::CgroupSockAddr, false, Some(a::CGROUP_INET6_CONNECT)),
    d("cgroup/connect_unix", ProgType::CgroupSockAddr, false, Some(a::CGROUP_UNIX_CONNECT)),
    d("cgroup/sendmsg4", ProgType::CgroupSockAddr, false, Some(a::CGROUP_UDP4_SENDMSG)),
    d("cgroup/sendmsg6", ProgType::CgroupSockAddr, false, Some(a::CGROUP_UDP6_SENDMSG)),
    d("cgroup/sendmsg_unix", ProgType::CgroupSockAddr, false, Some(a::CGROUP_UNIX_SENDMSG)),
    d("cgroup/recvmsg4", ProgType::CgroupSockAddr, false, Some(a::CGROUP_UDP4_RECVMSG)),
    d("cgroup/recvmsg6", ProgType::CgroupSockAddr, false, Some(a::CGROUP_UDP6_RECVMSG)),
    d("cgroup/recvmsg_unix", ProgType::CgroupSockAddr, false, Some(a::CGROUP_UNIX_RECVMSG)),
    d("cgroup/getpeername4", ProgType::CgroupSockAddr, false, Some(a::CGROUP_INET4_GETPEERNAME)),
    d("cgroup/getpeername6", ProgType::CgroupSockAddr, false, Some(a::CGROUP_INET6_GETPEERNAME)),
    d("cgroup/getpeername_unix", ProgType::CgroupSockAddr, false, Some(a::CGROUP_UNIX_GETPEERNAME)),
    d("cgroup/getsockname4", ProgType::CgroupSockAddr, false, Some(a::CGROUP_INET4_GETSOCKNAME)),
    d("cgroup/getsockname6", ProgType::CgroupSockAddr, false, Some(a::CGROUP_INET6_GETSOCKNAME)),
    d("cgroup/getsockname_unix", ProgType::CgroupSockAddr, false, Some(a::CGROUP_UNIX_GETSOCKNAME)),
    d("cgroup/sysctl", ProgType::CgroupSysctl, false, Some(a::CGROUP_SYSCTL)),
    d("cgroup/getsockopt", ProgType::CgroupSockopt, false, Some(a::CGROUP_GETSOCKOPT)),
    d("cgroup/setsockopt", ProgType::CgroupSockopt, false, Some(a::CGROUP_SETSOCKOPT)),
    d("cgroup/dev", ProgType::CgroupDevice, false, Some(a::CGROUP_DEVICE)),
    d("struct_ops+", ProgType::StructOps, false, Some(a::STRUCT_OPS)),
    d("struct_ops.s+", ProgType::StructOps, false, Some(a::STRUCT_OPS)),
    d("sk_lookup", ProgType::SkLookup, false, Some(a::SK_LOOKUP)),
    d("netfilter", ProgType::Netfilter, false, Some(a::NETFILTER)),
];

/// Classifies a program section, or None when no definition matches.
pub fn classify(section: &str) -> Option<SectionKind> {
    let (autoload, name) = match section.strip_prefix('?') {
        Some(rest) => (false, rest),
        None => (true, section),
    };
    for &Def { def, prog_type, is_return, attach: attach_type } in DEFS {
        let matched = if let Some(base) = def.strip_suffix('+') {
            name == base || name.strip_prefix(base).is_some_and(|r| r.starts_with('/'))
        } else if def.ends_with('/') {
            name.starts_with(def)
        } else {
            name == def
        };
        if matched {
            let attach = name.split_once('/').map(|(_, a)| alloc::string::String::from(a)).filter(|a| !a.is_empty());
            let sleepable = def.trim_end_matches('+').ends_with(".s") || prog_type == ProgType::Syscall;
            return Some(SectionKind { prog_type, is_return, attach, autoload, attach_type, sleepable });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libbpf_matching_rules() {
        let k = classify("kprobe/do_sys_open").unwrap();
        assert_eq!((k.prog_type, k.is_return, k.attach.as_deref()), (ProgType::Kprobe, false, Some("do_sys_open")));
        assert!(classify("kretprobe/x").unwrap().is_return);
        assert_eq!(classify("kprobe").unwrap().attach, None);
        assert_eq!(classify("kprobex"), None, "`+` needs an exact name or a `/`");
        assert_eq!(classify("xdp").unwrap().prog_type, ProgType::Xdp);
        assert_eq!(classify("xdp/foo"), None, "xdp matches exactly");
        assert_eq!(classify("socket").unwrap().prog_type, ProgType::SocketFilter);
        assert_eq!(classify("socket1"), None);
        assert_eq!(classify("tp/syscalls/sys_enter_openat").unwrap().attach.as_deref(), Some("syscalls/sys_enter_openat"));
        assert_eq!(classify("raw_tp/sched_switch").unwrap().prog_type, ProgType::RawTracepoint);
        assert!(!classify("?syscall").unwrap().autoload);
        for (sec, t) in [
            ("cgroup_skb/ingress", ProgType::CgroupSkb),
            ("cgroup_skb/egress", ProgType::CgroupSkb),
            ("cgroup/skb", ProgType::CgroupSkb),
            ("sk_skb/stream_parser", ProgType::SkSkb),
            ("sk_skb/stream_verdict", ProgType::SkSkb),
            ("sk_skb", ProgType::SkSkb),
            ("lwt_in", ProgType::LwtIn),
            ("lwt_out", ProgType::LwtOut),
            ("lwt_xmit", ProgType::LwtXmit),
            ("lwt_seg6local", ProgType::LwtSeg6local),
            ("flow_dissector", ProgType::FlowDissector),
            ("action", ProgType::SchedAct),
            ("cgroup/dev", ProgType::CgroupDevice),
            ("cgroup/sysctl", ProgType::CgroupSysctl),
            ("kprobe.multi/vfs_*", ProgType::Kprobe),
            ("kretprobe.multi/vfs_*", ProgType::Kprobe),
            ("kprobe.session/x", ProgType::Kprobe),
            ("uprobe.multi//bin/sh:main", ProgType::Kprobe),
            ("uretprobe.multi", ProgType::Kprobe),
            ("uprobe.session", ProgType::Kprobe),
            ("usdt/libc.so.6:libc:setjmp", ProgType::Kprobe),
            ("tc/ingress", ProgType::SchedCls),
            ("tcx/egress", ProgType::SchedCls),
            ("netkit/peer", ProgType::SchedCls),
        ] {
            assert_eq!(classify(sec).map(|k| k.prog_type), Some(t), "{sec}");
        }
        assert_eq!(classify("sk_skb/other"), None, "sk_skb matches exactly or by its two attach names");
        assert!(classify("kretprobe.multi/x").unwrap().is_return && classify("uretprobe.multi").unwrap().is_return);
        assert_eq!(classify("tc/other"), None, "tc matches exactly or by its two attach points");
        assert_eq!(classify("kprobe.multix"), None);
    }

    #[test]
    fn every_program_type_libbpf_names() {
        use crate::prog::attach as a;
        for (sec, t, attach) in [
            ("sockops", ProgType::SockOps, Some(a::CGROUP_SOCK_OPS)),
            ("cgroup/sock", ProgType::CgroupSock, Some(a::CGROUP_INET_SOCK_CREATE)),
            ("cgroup/sock_release", ProgType::CgroupSock, Some(a::CGROUP_INET_SOCK_RELEASE)),
            ("cgroup/post_bind6", ProgType::CgroupSock, Some(a::CGROUP_INET6_POST_BIND)),
            ("cgroup/connect4", ProgType::CgroupSockAddr, Some(a::CGROUP_INET4_CONNECT)),
            ("cgroup/sendmsg6", ProgType::CgroupSockAddr, Some(a::CGROUP_UDP6_SENDMSG)),
            ("cgroup/recvmsg_unix", ProgType::CgroupSockAddr, Some(a::CGROUP_UNIX_RECVMSG)),
            ("cgroup/getsockname_unix", ProgType::CgroupSockAddr, Some(a::CGROUP_UNIX_GETSOCKNAME)),
            ("cgroup/getsockopt", ProgType::CgroupSockopt, Some(a::CGROUP_GETSOCKOPT)),
            ("cgroup/setsockopt", ProgType::CgroupSockopt, Some(a::CGROUP_SETSOCKOPT)),
            ("sk_msg", ProgType::SkMsg, Some(a::SK_MSG_VERDICT)),
            ("sk_lookup", ProgType::SkLookup, Some(a::SK_LOOKUP)),
            ("sk_reuseport/migrate", ProgType::SkReuseport, Some(a::SK_REUSEPORT_SELECT_OR_MIGRATE)),
            ("sk_reuseport", ProgType::SkReuseport, Some(a::SK_REUSEPORT_SELECT)),
            ("sk_skb/verdict", ProgType::SkSkb, Some(a::SK_SKB_VERDICT)),
            ("lirc_mode2", ProgType::LircMode2, Some(a::LIRC_MODE2)),
            ("netfilter", ProgType::Netfilter, Some(a::NETFILTER)),
            ("raw_tp.w/bpf_test_finish", ProgType::RawTracepointWritable, None),
            ("raw_tracepoint.w/x", ProgType::RawTracepointWritable, None),
            ("tp_btf/sched_switch", ProgType::Tracing, Some(a::TRACE_RAW_TP)),
            ("fentry/do_unlinkat", ProgType::Tracing, Some(a::TRACE_FENTRY)),
            ("fexit/do_unlinkat", ProgType::Tracing, Some(a::TRACE_FEXIT)),
            ("fmod_ret/x", ProgType::Tracing, Some(a::MODIFY_RETURN)),
            ("iter/task", ProgType::Tracing, Some(a::TRACE_ITER)),
            ("lsm/file_open", ProgType::Lsm, Some(a::LSM_MAC)),
            ("lsm_cgroup/socket_bind", ProgType::Lsm, Some(a::LSM_CGROUP)),
            ("struct_ops/init", ProgType::StructOps, Some(a::STRUCT_OPS)),
            ("freplace/f", ProgType::Ext, None),
            ("xdp.frags", ProgType::Xdp, Some(a::XDP)),
            ("xdp/devmap", ProgType::Xdp, Some(a::XDP_DEVMAP)),
        ] {
            let k = classify(sec).unwrap_or_else(|| panic!("{sec} unclassified"));
            assert_eq!((k.prog_type, k.attach_type), (t, attach), "{sec}");
        }
        for sec in ["fentry.s/x", "lsm.s/bprm_committed_creds", "uprobe.s//bin/sh:main", "iter.s/task", "struct_ops.s/f", "syscall"] {
            assert!(classify(sec).unwrap().sleepable, "{sec} is sleepable");
        }
        assert!(!classify("fentry/x").unwrap().sleepable);
        assert_eq!(classify("raw_tp.wx"), None);
        // Every row's attach type is accepted by its type.
        for d in DEFS {
            assert!(d.attach.is_none_or(|at| d.prog_type.accepts_attach(at) || matches!(d.prog_type, ProgType::Tracing | ProgType::Lsm | ProgType::StructOps)), "{}", d.def);
        }
    }
}
