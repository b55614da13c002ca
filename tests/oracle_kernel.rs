//! The kernel as a second opinion on the soundness oracle's programs (issue 13): each
//! generated XDP program is loaded into the running Linux kernel as well (privileged,
//! `BPF_PROG_LOAD` with the verifier log; skipped with a printed reason where bpf() is
//! not allowed), and the two verdicts are counted in a confusion matrix.
//!
//! A program rvbpf accepts and the kernel refuses must be one the oracle ran safely
//! (its verdict is `Safe`) and the kernel's reason must be one of [`PRECISION`]: the
//! differences of precision this file documents, each with why rvbpf's acceptance is
//! sound. Any other such case fails the test, printed with the kernel's message and the
//! program. The opposite cases (the kernel accepts, rvbpf refuses) are printed by
//! rvbpf's reason: they are where rvbpf is the less precise.
//!
//! `ORACLE_KERNEL_CASES=N` compares N programs (5,000 in CI: about 80 s, most of it the
//! kernel's own verification of loop-heavy programs); `ORACLE_KERNEL_SHOW=SEED` prints
//! one case: its program, both verdicts and the kernel's level-2 log.
//!
//! Host only: the generator and the verifier are the same on riscv64, and the
//! comparison under qemu-user would repeat it at many times the cost.
#![cfg(all(feature = "std", not(target_arch = "riscv64")))]

#[path = "common/linux.rs"]
mod linux;

use std::collections::BTreeMap;

use rvbpf::isa::{asm, encode_all};
use rvbpf::oracle::{gen, Oracle, Verdict};
use rvbpf::prog::ProgType;

/// Programs compared (the CI figure; `ORACLE_KERNEL_CASES` sets another).
const CASES: u64 = 5_000;

/// A difference of precision: the kernel refuses a program that rvbpf accepts, and the
/// oracle ran safely, for a reason this file can see in the kernel's log.
struct Precision {
    name: &'static str,
    /// Why rvbpf's acceptance is sound.
    why: &'static str,
    /// The test on the kernel's message and its level-2 log.
    test: fn(&str, &str) -> bool,
}

const PRECISION: &[Precision] = &[
    Precision {
        name: "a shift by a register, a div or a mod: the kernel's result is unbounded",
        why: "the kernel makes the result of a shift by a non-constant amount, and of any div or mod, an unknown scalar (6.18; \
         is_safe_to_compute_dst_reg_range); rvbpf bounds them (shift amount masked to the width, the quotient and remainder \
         within the divisor's range), operators proven sound by `rvbpf prove --verifier`, so the later bound check that the \
         kernel cannot use suffices for rvbpf",
        test: unbounded_by_the_kernel,
    },
    Precision {
        name: "xdp_md egress_ifindex",
        why: "the kernel gives `egress_ifindex` (xdp_md +20) to devmap programs only (expected_attach_type BPF_XDP_DEVMAP); rvbpf \
         has no attach types and gives it to every XDP program, rewritten to a read of 0 outside a devmap (tests/verifier/ctx.txt)",
        test: |reason, _| reason.contains("invalid bpf_context access off=20 size=4"),
    },
];

/// The kernel refused for a bound (of a pointer's offset) that it lost at a shift by a
/// register, a div or a mod on the way to the refused register: the last precision
/// backtrack of the log (the instructions the refused value came from, newest first)
/// passes through one, and that instruction's result was an unknown scalar.
fn unbounded_by_the_kernel(reason: &str, log: &str) -> bool {
    const BOUND: [&str; 3] = ["offset is outside of the packet", "with unbounded min value is not allowed", "value is outside of the allowed memory range"];
    if !BOUND.iter().any(|b| reason.contains(b)) {
        return false;
    }
    let lines: Vec<&str> = log.lines().collect();
    // The last backtrack: the last run of `mark_precise` lines (it may cross states).
    let Some(end) = lines.iter().rposition(|l| l.starts_with("mark_precise")) else { return false };
    let start = lines[..end].iter().rposition(|l| !l.starts_with("mark_precise")).map_or(0, |i| i + 1);
    lines[start..=end].iter().filter_map(|l| l.split_once(": (").filter(|(p, _)| p.starts_with("mark_precise"))).any(|(p, rest)| {
        let Some(idx) = p.rsplit(' ').next() else { return false };
        let insn = rest.split_once(") ").map_or("", |(_, t)| t);
        let mut words = insn.split_whitespace();
        let (Some(dst), Some(op), Some(src)) = (words.next(), words.next(), words.next()) else { return false };
        let by_register = src.starts_with(['r', 'w']);
        let unbounded_op = matches!(op, "%=" | "/=" | "s%=" | "s/=") || (matches!(op, "<<=" | ">>=" | "s>>=") && by_register);
        // The instruction's own line in the log, and the state after it: dst unknown (at
        // 64 bits, or in its low 32 bits zero-extended).
        let reg = format!("R{}=scalar", &dst[1..]);
        let unknown = |w: &str| w == format!("{reg}()") || (w.starts_with(&format!("{reg}(")) && w.contains("var_off=(0x0; 0xffffffff)"));
        unbounded_op && lines.iter().any(|l| l.starts_with(&format!("{idx}: (")) && l.split_once(" ; ").is_some_and(|(_, st)| st.split_whitespace().any(unknown)))
    })
}

/// What a kernel log says of its refusal: the last line that is not a statistic, after
/// the instruction it refused (`12: (0f) r3 += r2`), where the log shows one.
fn kernel_reason(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.is_empty() && !l.starts_with("processed") && !l.starts_with("verification time") && !l.starts_with("stack depth")).collect();
    let Some((last, before)) = lines.split_last() else { return String::new() };
    // An instruction line: "N: (op) text", with the state after it ("; R1=...") dropped.
    let insn = before.iter().rev().find(|l| l.split_once(": (").is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit())));
    match insn {
        Some(i) => format!("{}: {last}", i.split_once(" ; ").map_or(*i, |(a, _)| a).split_once(": ").map_or(*i, |(_, t)| t)),
        None => last.to_string(),
    }
}

/// A message with its numbers taken out: one class of many.
fn class(msg: &str) -> String {
    msg.chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).collect::<String>().split("##").collect::<Vec<_>>().join("#")
}

#[test]
fn verdicts_against_the_linux_kernel() {
    if let Some(why) = linux::unavailable() {
        println!("SKIP verdicts_against_the_linux_kernel: {why}");
        return;
    }
    let cases = std::env::var("ORACLE_KERNEL_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(CASES);
    let fds: Vec<i32> = gen::MAPS.iter().map(|&(name, t, k, v, n)| linux::map_create(name, t, k, v, n, 0).unwrap_or_else(|e| panic!("map {name}: errno {e}"))).collect();
    let oracle = Oracle::new();
    // ORACLE_KERNEL_SHOW=SEED: that case's program, both verdicts and the kernel's log.
    if let Some(seed) = std::env::var("ORACLE_KERNEL_SHOW").ok().and_then(|s| s.parse::<u64>().ok()) {
        let (snippets, verdict) = oracle.case(seed);
        let text = gen::program(&snippets);
        let code = encode_all(&asm::assemble(&text).unwrap_or_else(|e| panic!("seed {seed}: {e}")));
        let kernel = linux::prog_load_logged(ProgType::Xdp as u32, &code, &fds, 0, 2);
        println!("{text}\nrvbpf: {verdict:?}\nkernel: {}", kernel.map_or_else(|(e, log)| format!("errno {e}\n{log}"), |(_, log)| format!("accepts\n{log}")));
        return;
    }
    // [rvbpf accepts][kernel accepts]
    let mut matrix = [[0u64; 2]; 2];
    let mut ours_only: BTreeMap<(&str, String), (u64, u64)> = BTreeMap::new();
    let mut kernel_only: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut problems = Vec::new();
    for seed in 0..cases {
        let (snippets, verdict) = oracle.case(seed);
        let text = gen::program(&snippets);
        let code = encode_all(&asm::assemble(&text).unwrap_or_else(|e| panic!("seed {seed}: {e}")));
        // Without a log first (a log of every load costs more than the load).
        let kernel_accepts = match linux::prog_load_logged(ProgType::Xdp as u32, &code, &fds, 0, 0) {
            Ok((fd, _)) => {
                linux::close(fd);
                true
            }
            Err(_) => false,
        };
        matrix[!matches!(verdict, Verdict::Refused(_)) as usize][kernel_accepts as usize] += 1;
        match &verdict {
            Verdict::Escape { slot, what } => problems.push(format!("seed {seed}: escapes at slot {slot}: {what}\n{text}")),
            Verdict::Safe { .. } if !kernel_accepts => {
                // Loaded again for the log at level 2: the states, and the precision
                // backtrack that shows where the refused value came from.
                let (errno, log) = linux::prog_load_logged(ProgType::Xdp as u32, &code, &fds, 0, 2).err().unwrap_or((0, String::new()));
                let reason = kernel_reason(&log);
                let why = PRECISION.iter().find(|p| (p.test)(&reason, &log)).map(|p| p.name);
                let e = ours_only.entry((why.unwrap_or("UNEXPLAINED"), class(&format!("errno {errno}: {reason}")))).or_insert((0, seed));
                e.0 += 1;
                if why.is_none() {
                    problems.push(format!("seed {seed}: rvbpf accepts, the kernel refuses (errno {errno}: {reason}), no documented reason\n{text}"));
                }
            }
            Verdict::Refused(why) if kernel_accepts => {
                let e = kernel_only.entry(class(why.split_once(": ").map_or(why.as_str(), |(_, r)| r))).or_insert((0, seed));
                e.0 += 1;
            }
            _ => {}
        }
    }
    for fd in fds {
        linux::close(fd);
    }
    println!("rvbpf against the kernel, {cases} generated XDP programs:");
    println!("                     kernel accepts  kernel refuses");
    println!("  rvbpf accepts      {:>14}  {:>14}", matrix[1][1], matrix[1][0]);
    println!("  rvbpf refuses      {:>14}  {:>14}", matrix[0][1], matrix[0][0]);
    println!("rvbpf accepts, the kernel refuses (each run safely by the oracle), by the kernel's reason:");
    for ((name, why), (n, seed)) in &ours_only {
        println!("  {n:>6}  {name}\n          {why}  (first: seed {seed})");
    }
    for p in PRECISION {
        println!("  {}: {}", p.name, p.why);
    }
    println!("the kernel accepts, rvbpf refuses, by rvbpf's reason:");
    for (why, (n, seed)) in &kernel_only {
        println!("  {n:>6}  {why}  (first: seed {seed})");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert!(matrix[1][1] * 10 >= cases && matrix[0][0] * 10 >= cases, "{matrix:?}");
}
