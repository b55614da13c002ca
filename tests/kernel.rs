//! The Linux kernel as the reference oracle for the conformance suite.
//!
//! Needs: root and a kernel that allows bpf() (skipped with a printed reason otherwise).
//! Every positive test whose program the kernel's verifier accepts is loaded as a
//! BPF_PROG_TYPE_SYSCALL program and run with BPF_PROG_TEST_RUN; the kernel's r0 must
//! equal the value the ISA document gives. The test body runs as a bpf-to-bpf subprogram
//! of a small wrapper that sets r2 = memory length and returns either the low or the high
//! half of r0 (test runs report 32 bits), so each test is loaded twice.

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
                    *rejections.entry(log.chars().take(60).collect()).or_default() += 1;
                    break;
                }
            }
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
    for (why, n) in &rejections {
        println!("  rejected x{n}: {why}");
    }
    let unlisted: Vec<_> = deviations.iter().filter(|(n, _)| !KNOWN_DEVIATIONS.iter().any(|(k, _)| n.ends_with(k))).collect();
    assert!(unlisted.is_empty(), "results that differ from the kernel: {unlisted:#?}");
    let stale: Vec<_> = KNOWN_DEVIATIONS.iter().filter(|(k, _)| !deviations.iter().any(|(n, _)| n.ends_with(k))).collect();
    assert!(stale.is_empty(), "listed deviations that no longer deviate: {stale:?}");
    assert!(agreed >= 300, "only {agreed} tests ran on the kernel");
}
