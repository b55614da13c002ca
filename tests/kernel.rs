//! The Linux kernel as the reference oracle for the conformance suite.
//!
//! Needs: root and a kernel that allows bpf() (skipped with a printed reason otherwise).
//! Every positive test whose program the kernel's verifier accepts is loaded as a
//! BPF_PROG_TYPE_SYSCALL program and run with BPF_PROG_TEST_RUN; the kernel's r0 must
//! equal the value the ISA document gives. The test body runs as a bpf-to-bpf subprogram
//! of a small wrapper that sets r2 = memory length and returns either the low or the high
//! half of r0 (test runs report 32 bits), so each test is loaded twice.
//!
//! The verdicts are compared too: rvbpf's verifier on each program (in the conformance
//! environment) against the kernel's; each difference must have a listed reason.

#[path = "common/linux.rs"]
mod linux;

use std::path::PathBuf;

use linux::close;
use rvbpf::conformance::{parse_data, DataFile};
use rvbpf::isa::{asm, encode_all, Insn, Program};

const BPF_PROG_TYPE_SYSCALL: u32 = 31;
const BPF_F_SLEEPABLE: u32 = 1 << 4;

/// Loads a syscall program; Err carries errno and the verifier log's last line.
fn load(code: &[u8]) -> Result<i32, (i32, String)> {
    linux::prog_load(BPF_PROG_TYPE_SYSCALL, code, &[], BPF_F_SLEEPABLE).map_err(|(e, log)| {
        let last = log.lines().rev().find(|l| !l.trim().is_empty() && !l.starts_with("processed") && !l.starts_with("verification time") && !l.starts_with("stack depth")).unwrap_or("").to_string();
        (e, last)
    })
}

fn test_run(fd: i32, ctx: &mut [u8]) -> Result<u32, i32> {
    linux::test_run(fd, &[], ctx).map(|(retval, _)| retval)
}

/// wrapper: r2 = len; call body; (r0 >>= 32); exit; body...
fn wrap(body: &[u8], len: usize, high: bool) -> Vec<u8> {
    let head = format!("mov %r2, {len}\ncall local +2\n{}\nexit\n", if high { "rsh %r0, 32" } else { "mov %r0, %r0" });
    let mut code = encode_all(&asm::assemble(&head).unwrap());
    code.extend_from_slice(body);
    code
}

/// Tests where the kernel accepts the program and computes another value than the ISA
/// document gives, with the reason. A deviation not listed here fails the test, and so
/// does a listed one that no longer deviates.
const KNOWN_DEVIATIONS: &[(&str, &str)] = &[];

/// Why rvbpf's verifier may accept a conformance program the kernel's refuses, by the
/// kernel's message: each is a difference of environment or of what the ISA defines,
/// none an unsafe accept. The kernel runs the test as a syscall program whose r1 is a
/// context (its accesses restricted: aligned, unmodified base, no atomics), under a
/// wrapper that adds a frame; rvbpf's conformance environment gives r1 as plain memory
/// of the test's length, where each of these accesses is in bounds. An accept whose
/// kernel message is not listed here fails the test.
const ACCEPTED_BUT_KERNEL_REFUSES: &[(&str, &str)] = &[
    ("BPF_ATOMIC stores into R1 ctx is not allowed", "r1 is plain memory in rvbpf's environment, where atomics are in bounds and aligned"),
    ("dereference of modified ctx ptr", "r1 is plain memory, which a moved pointer may read inside its bounds"),
    ("invalid bpf_context access", "r1 is plain memory: a misaligned access inside it is defined and in bounds"),
    ("invalid shift", "the ISA document defines shifts by any amount (masked to the width)"),
    ("div by zero", "the ISA document defines division and modulo by zero"),
    ("the call stack of 9 frames is too deep", "the kernel's wrapper adds a frame: the test's own 8 frames are the runtime's limit"),
];

/// Programs the kernel accepts and rvbpf's verifier refuses, with the reason (stricter by
/// design, or imprecise). A refusal not listed here fails the test.
const REFUSED_BUT_KERNEL_ACCEPTS: &[(&str, &str)] = &[];

/// Why a test is not sent to the kernel at all, if it is not.
fn not_for_kernel(f: &DataFile, prog: &Program) -> Option<&'static str> {
    if f.result.is_none() || f.error.is_some() {
        return Some("expects an error");
    }
    if f.meta_values("env").any(|e| e == "rvbpf") {
        return Some("uses the rvbpf conformance environment's maps and variables");
    }
    if prog.insns().iter().any(|i| matches!(i, Insn::Call { .. } | Insn::Callx { .. })) {
        return Some("calls a test helper (ids 0-5 mean other things in Linux)");
    }
    None
}

#[test]
fn conformance_results_match_the_linux_kernel() {
    // Probe: can this process load a syscall program?
    let probe = encode_all(&asm::assemble("mov %r0, 0\nexit").unwrap());
    match load(&probe) {
        Ok(fd) => close(fd),
        Err((errno, log)) => {
            println!("SKIP conformance_results_match_the_linux_kernel: bpf(BPF_PROG_LOAD) failed with errno {errno} ({log}); needs root and a kernel with BPF syscall programs");
            return;
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance");
    let mut files: Vec<PathBuf> = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p)
            } else if p.extension().is_some_and(|x| x == "data") {
                files.push(p)
            }
        }
    }
    files.sort();
    let (mut agreed, mut rejected, mut excluded) = (0, 0, 0);
    let mut deviations: Vec<(String, String)> = Vec::new();
    let mut rejections: std::collections::BTreeMap<String, usize> = Default::default();
    let mut verdicts: Vec<(String, String)> = Vec::new();
    for path in &files {
        let name = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().display().to_string();
        let f = parse_data(&std::fs::read_to_string(path).unwrap());
        let Ok(body) = f.program_bytes() else { continue };
        let Ok(prog) = Program::decode(&body) else { continue };
        if not_for_kernel(&f, &prog).is_some() {
            excluded += 1;
            continue;
        }
        let want = f.result.unwrap();
        let mut halves = [0u32; 2];
        let mut accepted = true;
        let mut kernel_said = String::new();
        for (i, high) in [false, true].into_iter().enumerate() {
            match load(&wrap(&body, f.mem.len(), high)) {
                Ok(fd) => {
                    let mut ctx = f.mem.clone();
                    let r = test_run(fd, &mut ctx);
                    close(fd);
                    halves[i] = r.unwrap_or_else(|e| panic!("{name}: BPF_PROG_TEST_RUN failed with errno {e}"));
                }
                Err((_, log)) => {
                    accepted = false;
                    kernel_said = log.clone();
                    *rejections.entry(log.chars().take(60).collect()).or_default() += 1;
                    break;
                }
            }
        }
        // The verdicts compared: rvbpf's verifier on the same program.
        let ours = rvbpf::conformance::verify(&prog, f.mem.len());
        match (&ours, accepted) {
            (Ok(_), false) => verdicts.push((name.clone(), format!("rvbpf accepts, the kernel refuses: {kernel_said}"))),
            (Err(e), true) => verdicts.push((name.clone(), format!("rvbpf refuses ({e}), the kernel accepts"))),
            _ => {}
        }
        if !accepted {
            rejected += 1;
            continue;
        }
        let got = (halves[1] as u64) << 32 | halves[0] as u64;
        if got == want {
            agreed += 1;
        } else {
            deviations.push((name, format!("kernel 0x{got:x}, ISA document 0x{want:x}")));
        }
    }
    println!("kernel: {agreed} agree, {} deviate, {rejected} rejected by the verifier, {excluded} not applicable", deviations.len());
    let mut unexplained = Vec::new();
    for (n, v) in &verdicts {
        let why = ACCEPTED_BUT_KERNEL_REFUSES.iter().chain(REFUSED_BUT_KERNEL_ACCEPTS).find(|(k, _)| v.contains(k) || n.ends_with(k));
        match why {
            Some((_, reason)) => println!("  verdict differs: {n}: {v} ({reason})"),
            None => unexplained.push(format!("{n}: {v}")),
        }
    }
    println!("verifier: {} programs judged alike by rvbpf and the kernel, {} differ, each for a listed reason", agreed + rejected - verdicts.len(), verdicts.len());
    assert!(unexplained.is_empty(), "verdicts that differ from the kernel's without a listed reason: {unexplained:#?}");
    for (why, n) in &rejections {
        println!("  rejected x{n}: {why}");
    }
    let unlisted: Vec<_> = deviations.iter().filter(|(n, _)| !KNOWN_DEVIATIONS.iter().any(|(k, _)| n.ends_with(k))).collect();
    assert!(unlisted.is_empty(), "results that differ from the kernel: {unlisted:#?}");
    let stale: Vec<_> = KNOWN_DEVIATIONS.iter().filter(|(k, _)| !deviations.iter().any(|(n, _)| n.ends_with(k))).collect();
    assert!(stale.is_empty(), "listed deviations that no longer deviate: {stale:?}");
    assert!(agreed >= 300, "only {agreed} tests ran on the kernel");
}
