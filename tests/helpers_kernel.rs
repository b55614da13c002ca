//! Helpers against the Linux kernel: `bpf_trace_printk` formats a table of formats and
//! arguments (good and unreadable pointers among them) on both sides, and the line each
//! writes and the value each returns must agree. The kernel's lines are read back from
//! tracefs's `trace`. Needs root, bpf() and tracefs (mounted at /sys/kernel/tracing if it
//! is not); skipped with a printed reason otherwise.
#![cfg(all(feature = "std", not(target_arch = "riscv64")))]

#[path = "common/linux.rs"]
mod linux;

use std::sync::Arc;

use rvbpf::isa::{asm, encode_all};
use rvbpf::prog::ProgType;
use rvbpf::runtime::{fd_array, Context, ProgramLoad, RunConfig, Runtime, StaticKernel, Task};

const TRACE: &str = "/sys/kernel/tracing/trace";

/// The kernel's trace file, mounting tracefs where it is missing; why not otherwise.
fn tracefs() -> Result<(), String> {
    if std::path::Path::new(TRACE).exists() {
        return Ok(());
    }
    let mounted = std::process::Command::new("mount").args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"]).status();
    match mounted {
        Ok(s) if s.success() && std::path::Path::new(TRACE).exists() => {
            println!("mounted tracefs at /sys/kernel/tracing");
            Ok(())
        }
        _ => Err(format!("{TRACE} is missing and tracefs could not be mounted")),
    }
}

/// The `bpf_trace_printk` lines in the kernel's trace buffer since it was last cleared.
fn kernel_lines() -> Vec<String> {
    let text = std::fs::read_to_string(TRACE).expect("read the trace buffer");
    text.lines().filter_map(|l| l.split_once("bpf_trace_printk: ").map(|(_, s)| s.to_string())).collect()
}

fn clear_trace() {
    std::fs::write(TRACE, "").expect("clear the trace buffer");
}

/// A printk argument.
#[derive(Clone, Copy, Debug)]
enum A {
    /// A number (an unreadable pointer when used as one).
    N(i64),
    /// The string "abc" on the program's stack.
    Str,
    /// The bytes 192.168.1.2 on the program's stack.
    Ip,
}

/// An XDP program that puts `fmt` (with its NUL) and the two stack objects on its stack,
/// calls `bpf_trace_printk(fmt, len, args...)` and returns what it returned.
fn program(fmt: &str, args: &[A]) -> Vec<u8> {
    let mut bytes = fmt.as_bytes().to_vec();
    bytes.push(0);
    let len = bytes.len();
    bytes.resize(len.div_ceil(8) * 8, 0);
    let base = -(bytes.len() as i64) - 16;
    let mut src = String::new();
    for (k, chunk) in bytes.chunks(8).enumerate() {
        let v = u64::from_le_bytes(chunk.try_into().unwrap());
        src += &format!("lddw r1, {v:#x}\nstxdw [r10{:+}], r1\n", base + 8 * k as i64);
    }
    src += "stw [r10-8], 0x00636261\nstw [r10-16], 0x0201a8c0\n";
    for (i, a) in args.iter().enumerate() {
        let r = i + 3;
        src += &match a {
            A::N(v) => format!("lddw r{r}, {v:#x}\n"),
            A::Str => format!("mov r{r}, r10\nadd r{r}, -8\n"),
            A::Ip => format!("mov r{r}, r10\nadd r{r}, -16\n"),
        };
    }
    src += &format!("mov r1, r10\nadd r1, {base}\nmov r2, {len}\ncall 6\nexit\n");
    encode_all(&asm::assemble(&src).unwrap_or_else(|e| panic!("{fmt}: {e}\n{src}")))
}

#[test]
fn trace_printk_agrees_with_the_kernel() {
    if let Some(why) = linux::unavailable() {
        println!("SKIPPED: the printk differential needs bpf(): {why}");
        return;
    }
    if let Err(why) = tracefs() {
        println!("SKIPPED: the printk differential needs tracefs: {why}");
        return;
    }
    use A::*;
    let cases: &[(&str, &[A])] = &[
        ("pid %d comm %s", &[N(-1), Str]),
        ("bad %s|", &[N(8)]),
        ("null %s|", &[N(0)]),
        ("ip %pI4", &[Ip]),
        ("ip %pi4", &[Ip]),
        ("bad ip %pI4|", &[N(8)]),
        ("bad ip %pi4|", &[N(0)]),
        ("%u %lu %llx", &[N(-1), N(-1), N(255)]),
        ("[%5d|%-4x|%04u]", &[N(42), N(10), N(7)]),
        ("%c%c", &[N(b'o' as i64), N(b'k' as i64)]),
        ("%x %X %lx", &[N(0xabc), N(0xabc), N(-1)]),
        ("%+d|% d|%-5d|", &[N(5), N(5), N(5)]),
        ("%+d|% d|%+d", &[N(5), N(5), N(5)]),
        ("%ps %pS %pB", &[N(0x1234), N(0x1234), N(0x1234)]),
        ("%pks|%pus|%pks", &[N(8), N(0), Str]),
        // Linux hashes these with a key of its boot: only the shape is compared.
        ("%p|%pK", &[N(0x1234), N(0x1234)]),
        ("%i %li %lli", &[N(-7), N(-7), N(-7)]),
        ("%ld %lld %llu", &[N(1 << 40), N(-1), N(-1)]),
        ("%08x|%-8x|%8X", &[N(0xab), N(0xab), N(0xab)]),
        ("%5s|%-5s|", &[Str, Str]),
        ("%px", &[N(0x1234)]),
        ("%%d %d %%", &[N(3)]),
        ("%30d|", &[N(1)]),
        ("%-08d|", &[N(-3)]),
        ("%f", &[N(0)]),
        ("%d %d %d %d", &[N(1), N(2), N(3)]),
        ("%n", &[N(0)]),
        ("%hd", &[N(1)]),
        ("%lx%", &[N(1)]),
        ("tab\there", &[]),
        ("bell \x07", &[]),
        ("no args", &[]),
    ];
    let kernel = Arc::new(StaticKernel::new(Task::default()));
    let rt = Runtime::new(kernel.clone(), 1);
    let packet = [0u8; 64];
    let mut disagree = Vec::new();
    for &(fmt, args) in cases {
        let code = program(fmt, args);
        // The kernel: load, clear the trace buffer, run once, read it back.
        let fd = linux::prog_load(6, &code, &[], 0).unwrap_or_else(|(e, log)| panic!("{fmt}: the kernel refuses the program ({e}): {log}"));
        clear_trace();
        let (kret, _) = linux::test_run(fd, &packet, &mut []).expect("kernel test run");
        linux::close(fd);
        let klines = kernel_lines();
        // rvbpf: the same bytes through the runtime.
        let insns: Vec<_> = code.chunks_exact(8).map(|c| rvbpf::isa::RawInsn::from_bytes(c.try_into().unwrap())).collect();
        let req = ProgramLoad { name: "printk", prog_type: ProgType::Xdp, attach: None, insns: &insns, license: "GPL", functions: &[], maps: &fd_array(&[]), returns_void: false, log_level: 0 };
        let p = rt.load_program(&req).unwrap_or_else(|e| panic!("{fmt}: rvbpf refuses the program: {e}"));
        let mut buf = packet;
        let r = rt.run(&p, &mut Context::Xdp { packet: &mut buf, ingress_ifindex: 1, rx_queue_index: 0 }, &RunConfig::default()).expect("rvbpf run");
        let olines = kernel.take_trace();
        let (mut k, mut o) = ((kret as i32, klines), (r.r0 as u32 as i32, olines));
        println!("{fmt:?}: kernel {k:?}, rvbpf {o:?}");
        if fmt.contains("%p|") {
            let shape = |lines: &mut Vec<String>| lines.iter_mut().for_each(|l| *l = l.chars().map(|c| if c.is_ascii_hexdigit() { 'h' } else { c }).collect());
            shape(&mut k.1);
            shape(&mut o.1);
        }
        if k != o {
            disagree.push(format!("{fmt:?} {args:?}: kernel {k:?}, rvbpf {o:?}"));
        }
    }
    assert!(disagree.is_empty(), "bpf_trace_printk disagrees with the kernel:\n{}", disagree.join("\n"));
    println!("{} bpf_trace_printk cases agree with the kernel", cases.len());
}
