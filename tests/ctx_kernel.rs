//! The program-type table's context descriptors against the Linux kernel (issue 14): for
//! each program type the table describes, at each attach type that changes it (its
//! variants), every load and every store of 1, 2, 4 and 8 bytes at each offset (aligned
//! to its size) of the context and just past it is verified by rvbpf and loaded into the
//! running kernel (as root; skipped with a printed reason elsewhere), and the verdicts
//! must agree but where [`documented`] says why not. A difference prints the type, the
//! access and both verdicts. The return ranges and the helper sets are compared the
//! same way.
#![cfg(all(feature = "std", not(target_arch = "riscv64")))]

#[path = "common/linux.rs"]
mod linux;

use rvbpf::isa::{asm, encode_all, Program};
use rvbpf::prog::{attach, CtxDescriptor, ProgType, PROG_TYPES};
use rvbpf::verifier::{verify, MapRef, MapRefError, NoLog, ProgramInfo};

/// The probe program: one access to the context at `off` of `size` bytes, then `r0 = ret`.
fn probe(store: bool, off: u32, size: u32, ret: i64) -> String {
    let w = match size {
        1 => "b",
        2 => "h",
        4 => "w",
        _ => "dw",
    };
    if store {
        format!("mov r2, 0\nstx{w} [r1+{off}], r2\nmov r0, {ret}\nexit\n")
    } else {
        format!("ldx{w} r2, [r1+{off}]\nmov r0, {ret}\nexit\n")
    }
}

/// One program type at one attach type: what the kernel is told and what rvbpf checks.
struct Case {
    label: String,
    prog_type: ProgType,
    attach: u32,
    ctx: &'static CtxDescriptor,
    ret: Option<(i64, i64)>,
}

/// The `expected_attach_type` the kernel needs for a type's row, where 0 will not do.
fn row_attach(t: ProgType) -> u32 {
    match t {
        ProgType::CgroupSockAddr => attach::CGROUP_INET4_CONNECT,
        ProgType::CgroupSockopt => attach::CGROUP_GETSOCKOPT,
        ProgType::SkLookup => attach::SK_LOOKUP,
        ProgType::Netfilter => attach::NETFILTER,
        ProgType::LircMode2 => attach::LIRC_MODE2,
        _ => 0,
    }
}

/// Every row and every variant of the table, with a context rvbpf describes (`with_ctx`),
/// whose kernel loads a trivial program (printing why not for the others).
fn cases(with_ctx: bool) -> Vec<Case> {
    let mut out = Vec::new();
    for row in PROG_TYPES {
        let t = row.prog_type;
        let mut all = vec![Case { label: row.name.to_string(), prog_type: t, attach: row_attach(t), ctx: &row.ctx, ret: row.ret }];
        all.extend(row.variants.iter().map(|v| Case { label: format!("{} ({})", row.name, v.name), prog_type: t, attach: v.attach, ctx: &v.ctx, ret: v.ret }));
        for c in all {
            if with_ctx && (c.ctx.size.is_none() || c.ctx.fields.is_empty()) {
                continue;
            }
            let ret = c.ret.map_or(0, |r| r.0);
            match kernel_load(&c, &format!("mov r0, {ret}\nexit\n")) {
                Ok(()) => out.push(c),
                Err((errno, log)) => println!("SKIP {}: the kernel refuses even `mov r0, {ret}; exit` (errno {errno}: {}): not built into this kernel, or it needs a BTF attach target", c.label, log.lines().last().unwrap_or("")),
            }
        }
    }
    out
}

fn rvbpf_accepts(c: &Case, text: &str) -> bool {
    let prog = Program::new(asm::assemble(text).unwrap()).unwrap();
    let helpers = |id| rvbpf::helpers::linux(id).map(|h| (h.proto, h.types));
    let maps = |_: MapRef| Err(MapRefError { errno: rvbpf::errno::EINVAL, reason: String::from("no maps") });
    let mut log = NoLog;
    let mut info = ProgramInfo { prog_type: c.prog_type, attach: Some(c.attach), ctx: c.ctx, helpers: &helpers, gpl: true, maps: &maps, log: &mut log, returns_void: false, log_level: 0, clock: None };
    verify(&prog, &mut info).is_ok()
}

/// Loads `text` into the kernel as case `c`: `Ok`, or errno and the log.
fn kernel_load(c: &Case, text: &str) -> Result<(), (i32, String)> {
    let code = encode_all(&asm::assemble(text).unwrap());
    linux::prog_load_as(c.prog_type as u32, c.attach, &code).map(linux::close)
}

fn kernel_accepts(c: &Case, text: &str) -> bool {
    kernel_load(c, text).is_ok()
}

#[test]
fn context_accesses_match_the_kernel() {
    if let Some(why) = linux::unavailable() {
        println!("SKIP context_accesses_match_the_kernel: {why}");
        return;
    }
    let mut differ = Vec::new();
    let mut probes = 0;
    let cases = cases(true);
    for c in &cases {
        let size = c.ctx.size.unwrap_or(0);
        let ret = c.ret.map_or(0, |r| r.0);
        for store in [false, true] {
            for width in [1u32, 2, 4, 8] {
                for off in (0..size + 8).step_by(width as usize) {
                    let text = probe(store, off, width, ret);
                    let (ours, kernel) = (rvbpf_accepts(c, &text), kernel_accepts(c, &text));
                    probes += 1;
                    if ours != kernel && documented(c.ctx.name, store, width, off).is_none() {
                        differ.push(format!("{} {} {width} at +{off}: rvbpf {}, kernel {}", c.label, if store { "store" } else { "load" }, verdict(ours), verdict(kernel)));
                    }
                }
            }
        }
    }
    println!("{probes} context accesses of {} program types and attach types compared, {} differ", cases.len(), differ.len());
    assert!(cases.len() >= 30, "only {} cases ran", cases.len());
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// The accesses where rvbpf differs from the kernel by design, and why, by context struct.
fn documented(ctx: &str, store: bool, width: u32, off: u32) -> Option<&'static str> {
    let socket_pointer = Some("a socket pointer: rvbpf tracks no socket types and refuses the load");
    match (ctx, store, width, off) {
        ("__sk_buff", false, 8, 168) => socket_pointer,
        ("__sk_buff", false, 8, 144) => Some("__sk_buff.flow_keys is a pointer to the dissector's keys: rvbpf does not model it and refuses the load"),
        ("xdp_md", false, 4, 20) => Some("xdp_md.egress_ifindex: the kernel gives it to devmap programs only; rvbpf reads it as 0 elsewhere"),
        ("bpf_sock_ops", false, 8, 184) | ("bpf_sock_addr", false, 8, 64) | ("bpf_sockopt", false, 8, 0) | ("sk_msg_md", false, 8, 72) => socket_pointer,
        ("bpf_sk_lookup", false, 8, 0) => socket_pointer,
        ("sk_reuseport_md", false, 8, 40 | 48) => socket_pointer,
        _ => None,
    }
}

fn verdict(accepts: bool) -> &'static str {
    if accepts { "accepts" } else { "refuses" }
}

/// The return ranges of the table against the kernel: a program returning each end of a
/// case's range, and one past each, gets the kernel's verdict from rvbpf too (a case with
/// no range accepts them all in both).
#[test]
fn return_ranges_match_the_kernel() {
    if let Some(why) = linux::unavailable() {
        println!("SKIP return_ranges_match_the_kernel: {why}");
        return;
    }
    let mut differ = Vec::new();
    let cases = cases(false);
    for c in &cases {
        let (lo, hi) = c.ret.unwrap_or((0, 1));
        for r0 in [lo - 1, lo, hi, hi + 1] {
            let text = format!("mov r0, {r0}\nexit\n");
            let (ours, kernel) = (rvbpf_accepts(c, &text), kernel_accepts(c, &text));
            if ours != kernel {
                differ.push(format!("{} returning {r0}: rvbpf {}, kernel {}", c.label, verdict(ours), verdict(kernel)));
            }
        }
    }
    println!("return ranges of {} program types and attach types compared, {} differ", cases.len(), differ.len());
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// The helper table's type sets against the kernel: for every case and every helper
/// rvbpf has, whether the kernel lets that type call it ("cannot use helper" in its log
/// says it does not; any other verdict is about the arguments) and whether rvbpf's row
/// lists the type.
#[test]
fn helper_sets_match_the_kernel() {
    if let Some(why) = linux::unavailable() {
        println!("SKIP helper_sets_match_the_kernel: {why}");
        return;
    }
    let mut differ = Vec::new();
    let mut probes = 0;
    let cases = cases(false);
    for c in &cases {
        let ret = c.ret.map_or(0, |r| r.0);
        for h in rvbpf::helpers::LINUX {
            let id = h.proto.id.0;
            let kernel = match kernel_load(c, &format!("call {id}\nmov r0, {ret}\nexit\n")) {
                Ok(()) => true,
                Err((_, log)) => !log.contains("cannot use helper") && !log.contains("unknown func"),
            };
            let ours = h.types.contains(c.prog_type);
            probes += 1;
            if ours != kernel {
                differ.push(format!("{} calling {}#{id}: rvbpf {}, kernel {}", c.label, h.proto.name, if ours { "allows" } else { "forbids" }, if kernel { "allows" } else { "forbids" }));
            }
        }
    }
    println!("{probes} helper calls of {} program types and attach types compared, {} differ", cases.len(), differ.len());
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// Every `__sk_buff` field a socket filter may read, in a test run of each frame of a
/// table, against the kernel's test run: a program per field (per word of `cb`) returns
/// the field, and the values must agree. The frames cover each `pkt_type` (the
/// destination MAC against the loopback device's, all zeros) and each `protocol` rule
/// of `eth_type_trans` (an EtherType; an 802.3 length over raw IPX or over LLC).
#[test]
fn skb_fields_agree_with_the_kernel() {
    use rvbpf::runtime::{Context, RunConfig, Runtime, StaticKernel, Task};
    use std::sync::Arc;
    if let Some(why) = linux::unavailable() {
        println!("SKIP skb_fields_agree_with_the_kernel: {why}");
        return;
    }
    let frame = |dst: [u8; 6], ethertype: u16, payload: &[u8]| {
        let mut f = dst.to_vec();
        f.extend([0x02, 0, 0, 0, 0, 0x02]);
        f.extend(ethertype.to_be_bytes());
        f.extend(payload);
        f
    };
    let ipv4: Vec<u8> = [&[0x45u8, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0][..], &[10, 0, 0, 1], &[10, 0, 0, 2], &[0, 7, 0, 9], &[0, 8, 0, 0]].concat();
    let frames: Vec<(&str, Vec<u8>)> = vec![
        ("to this host", frame([0; 6], 0x0800, &ipv4)),
        ("broadcast", frame([0xff; 6], 0x0800, &ipv4)),
        ("multicast", frame([0x01, 0, 0x5e, 0, 0, 1], 0x0800, &ipv4)),
        ("another host", frame([0x02, 0, 0, 0, 0, 1], 0x0800, &ipv4)),
        ("IPv6", frame([0; 6], 0x86dd, &[0x60; 40])),
        ("VLAN tag", frame([0; 6], 0x8100, &[0, 5, 0x08, 0, 0x45, 0, 0, 20])),
        ("802.3 over raw IPX", frame([0; 6], 46, &[0xff; 46])),
        ("802.3 over LLC", frame([0; 6], 46, &[0xaa; 46])),
        ("of LLDP, header only", frame([0; 6], 0x88cc, &[])),
        ("IPv4, its header only", frame([0; 6], 0x0800, &ipv4[..20])),
        ("802.3 with one byte", frame([0; 6], 1, &[0xff])),
    ];
    let mut reads: Vec<(String, u16)> = Vec::new();
    for f in ProgType::SocketFilter.ctx().fields {
        match f.name {
            "cb" => reads.extend((0..f.size as u16 / 4).map(|i| (format!("cb[{i}]"), f.off + 4 * i))),
            _ => reads.push((f.name.to_string(), f.off)),
        }
    }
    let rt = Runtime::new(Arc::new(StaticKernel::new(Task::default())), 1);
    let mut differ = Vec::new();
    let mut compared = 0;
    for (field, off) in &reads {
        let code = encode_all(&asm::assemble(&format!("ldxw r0, [r1+{off}]\nexit\n")).unwrap());
        let fd = linux::prog_load(1, &code, &[], 0).unwrap_or_else(|(e, log)| panic!("the kernel refuses reading {field} ({e}): {log}"));
        let insns: Vec<_> = code.chunks_exact(8).map(|c| rvbpf::isa::RawInsn::from_bytes(c.try_into().unwrap())).collect();
        let req = rvbpf::runtime::ProgramLoad { name: "f", prog_type: ProgType::SocketFilter, attach: None, insns: &insns, license: "GPL", functions: &[], maps: &rvbpf::runtime::fd_array(&[]), returns_void: false, log_level: 0 };
        let p = rt.load_program(&req).unwrap_or_else(|e| panic!("rvbpf refuses reading {field}: {e}"));
        for (what, f) in &frames {
            let (kernel, _) = linux::test_run(fd, f, &mut []).unwrap_or_else(|e| panic!("kernel test run of a frame {what}: errno {e}"));
            let ours = rt.run(&p, &mut Context::skb_from_ethernet(f), &RunConfig::default()).expect("rvbpf run").r0 as u32;
            compared += 1;
            if kernel != ours {
                differ.push(format!("{field} of a frame {what}: kernel {kernel:#x}, rvbpf {ours:#x}"));
            }
        }
        linux::close(fd);
    }
    println!("{} __sk_buff fields × {} frames compared, {} differ", reads.len(), frames.len(), differ.len());
    assert!(compared > 0 && differ.is_empty(), "{}", differ.join("\n"));
}
