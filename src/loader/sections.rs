//! Program section names → program types, by libbpf's matching rules.
//!
//! A definition ending in `+` matches the exact name or `name/anything`; one ending in
//! `/` needs that prefix; the others must match exactly. A leading `?` in the section
//! name means "do not load automatically".

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
}

/// (definition, type, is_return) in libbpf's order; the first match wins.
const DEFS: &[(&str, ProgType, bool)] = &[
    ("socket", ProgType::SocketFilter, false),
    ("kprobe+", ProgType::Kprobe, false),
    ("uprobe+", ProgType::Kprobe, false),
    ("kretprobe+", ProgType::Kprobe, true),
    ("uretprobe+", ProgType::Kprobe, true),
    ("ksyscall+", ProgType::Kprobe, false),
    ("kretsyscall+", ProgType::Kprobe, true),
    ("kprobe.multi+", ProgType::Kprobe, false),
    ("kretprobe.multi+", ProgType::Kprobe, true),
    ("kprobe.session+", ProgType::Kprobe, false),
    ("uprobe.multi+", ProgType::Kprobe, false),
    ("uretprobe.multi+", ProgType::Kprobe, true),
    ("uprobe.session+", ProgType::Kprobe, false),
    ("usdt+", ProgType::Kprobe, false),
    ("tc/ingress", ProgType::SchedCls, false),
    ("tc/egress", ProgType::SchedCls, false),
    ("tcx/ingress", ProgType::SchedCls, false),
    ("tcx/egress", ProgType::SchedCls, false),
    ("netkit/primary", ProgType::SchedCls, false),
    ("netkit/peer", ProgType::SchedCls, false),
    ("tc", ProgType::SchedCls, false),
    ("classifier", ProgType::SchedCls, false),
    ("action", ProgType::SchedAct, false),
    ("tracepoint+", ProgType::Tracepoint, false),
    ("tp+", ProgType::Tracepoint, false),
    ("raw_tracepoint+", ProgType::RawTracepoint, false),
    ("raw_tp+", ProgType::RawTracepoint, false),
    ("xdp", ProgType::Xdp, false),
    ("perf_event", ProgType::PerfEvent, false),
    ("lwt_in", ProgType::LwtIn, false),
    ("lwt_out", ProgType::LwtOut, false),
    ("lwt_xmit", ProgType::LwtXmit, false),
    ("lwt_seg6local", ProgType::LwtSeg6local, false),
    ("sk_skb/stream_parser", ProgType::SkSkb, false),
    ("sk_skb/stream_verdict", ProgType::SkSkb, false),
    ("sk_skb", ProgType::SkSkb, false),
    ("flow_dissector", ProgType::FlowDissector, false),
    ("cgroup_skb/ingress", ProgType::CgroupSkb, false),
    ("cgroup_skb/egress", ProgType::CgroupSkb, false),
    ("cgroup/skb", ProgType::CgroupSkb, false),
    ("cgroup/sysctl", ProgType::CgroupSysctl, false),
    ("cgroup/dev", ProgType::CgroupDevice, false),
    ("syscall", ProgType::Syscall, false),
];

/// Classifies a program section, or None when no definition matches.
pub fn classify(section: &str) -> Option<SectionKind> {
    let (autoload, name) = match section.strip_prefix('?') {
        Some(rest) => (false, rest),
        None => (true, section),
    };
    for &(def, prog_type, is_return) in DEFS {
        let matched = if let Some(base) = def.strip_suffix('+') {
            name == base || name.strip_prefix(base).is_some_and(|r| r.starts_with('/'))
        } else if def.ends_with('/') {
            name.starts_with(def)
        } else {
            name == def
        };
        if matched {
            let attach = name.split_once('/').map(|(_, a)| alloc::string::String::from(a)).filter(|a| !a.is_empty());
            return Some(SectionKind { prog_type, is_return, attach, autoload });
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
}
