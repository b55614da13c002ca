//! The program-type table's context descriptors against the Linux kernel (issue 14): for
//! each program type the table describes, every load and every store of 1, 2, 4 and 8
//! bytes at each offset (aligned to its size) of the context and just past it is
//! verified by rvbpf and loaded into the running kernel (as root; skipped with a printed
//! reason elsewhere), and the verdicts must agree but where [`documented`] says why
//! not. A difference prints the type, the access and both verdicts.
#![cfg(all(feature = "std", not(target_arch = "riscv64")))]

#[path = "common/linux.rs"]
mod linux;

use rvbpf::isa::{asm, encode_all, Program};
use rvbpf::prog::{ProgType, PROG_TYPES};
use rvbpf::verifier::{verify, MapRef, MapRefError, NoLog, ProgramInfo};

/// The probe program: one access to the context at `off` of `size` bytes.
fn probe(store: bool, off: u32, size: u32) -> String {
    let w = match size {
        1 => "b",
        2 => "h",
        4 => "w",
        _ => "dw",
    };
    if store {
        format!("mov r2, 0\nstx{w} [r1+{off}], r2\nmov r0, 0\nexit\n")
    } else {
        format!("ldx{w} r2, [r1+{off}]\nmov r0, 0\nexit\n")
    }
}

fn rvbpf_accepts(t: ProgType, text: &str) -> bool {
    let prog = Program::new(asm::assemble(text).unwrap()).unwrap();
    let helpers = |id| rvbpf::helpers::linux(id).map(|h| (h.proto, h.types));
    let maps = |_: MapRef| Err(MapRefError { errno: rvbpf::errno::EINVAL, reason: String::from("no maps") });
    let mut log = NoLog;
    let mut info = ProgramInfo { prog_type: t, ctx: t.ctx(), helpers: &helpers, gpl: true, maps: &maps, log: &mut log, log_level: 0, clock: None };
    verify(&prog, &mut info).is_ok()
}

#[test]
fn context_accesses_match_the_kernel() {
    if let Some(why) = linux::unavailable() {
        println!("SKIP context_accesses_match_the_kernel: {why}");
        return;
    }
    let mut differ = Vec::new();
    let mut probes = 0;
    for row in PROG_TYPES.iter().filter(|r| r.ctx.size.is_some() && !r.ctx.fields.is_empty()) {
        let size = row.ctx.size.unwrap_or(0);
        for store in [false, true] {
            for width in [1u32, 2, 4, 8] {
                for off in (0..size + 8).step_by(width as usize) {
                    let text = probe(store, off, width);
                    let ours = rvbpf_accepts(row.prog_type, &text);
                    let code = encode_all(&asm::assemble(&text).unwrap());
                    let kernel = match linux::prog_load(row.prog_type as u32, &code, &[], 0) {
                        Ok(fd) => {
                            linux::close(fd);
                            true
                        }
                        Err(_) => false,
                    };
                    probes += 1;
                    if ours != kernel && documented(row.name, store, width, off).is_none() {
                        differ.push(format!("{} {} {width} at +{off}: rvbpf {}, kernel {}", row.name, if store { "store" } else { "load" }, verdict(ours), verdict(kernel)));
                    }
                }
            }
        }
    }
    println!("{probes} context accesses compared, {} differ", differ.len());
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// The accesses where rvbpf differs from the kernel by design, and why.
fn documented(prog_type: &str, store: bool, width: u32, off: u32) -> Option<&'static str> {
    match (prog_type, store, width, off) {
        (_, false, 8, 168) if prog_type != "xdp" => Some("__sk_buff.sk is a socket pointer: rvbpf tracks no socket types and refuses the load"),
        ("flow_dissector", false, 8, 144) => Some("__sk_buff.flow_keys is a pointer to the dissector's keys: rvbpf does not model it and refuses the load"),
        ("xdp", false, 4, 20) => Some("xdp_md.egress_ifindex: the kernel gives it to devmap programs only; rvbpf has no attach types and reads it as 0 elsewhere"),
        _ => None,
    }
}

fn verdict(accepts: bool) -> &'static str {
    if accepts { "accepts" } else { "refuses" }
}

/// The return ranges of the table against the kernel: a program returning each end of a
/// type's range, and one past each, gets the kernel's verdict from rvbpf too (a type with
/// no range accepts them all in both).
#[test]
fn return_ranges_match_the_kernel() {
    if let Some(why) = linux::unavailable() {
        println!("SKIP return_ranges_match_the_kernel: {why}");
        return;
    }
    let mut differ = Vec::new();
    for row in PROG_TYPES.iter().filter(|r| r.ctx.size.is_some() && !r.ctx.fields.is_empty()) {
        let (lo, hi) = row.ret.unwrap_or((0, 1));
        for r0 in [lo - 1, lo, hi, hi + 1] {
            let text = format!("mov r0, {r0}\nexit\n");
            let ours = rvbpf_accepts(row.prog_type, &text);
            let code = encode_all(&asm::assemble(&text).unwrap());
            let kernel = linux::prog_load(row.prog_type as u32, &code, &[], 0).map(linux::close).is_ok();
            if ours != kernel {
                differ.push(format!("{} returning {r0}: rvbpf {}, kernel {}", row.name, verdict(ours), verdict(kernel)));
            }
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
