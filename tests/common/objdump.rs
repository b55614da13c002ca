//! llvm-objdump-19 as an oracle for raw RV64 code.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use rvbpf::jit::rv64::lower::Ext;

pub fn tools_missing() -> Option<String> {
    for t in ["llvm-objdump-19", "riscv64-linux-gnu-objcopy"] {
        if Command::new(t).arg("--version").output().is_err() {
            return Some(format!("{t} is not installed (scripts/setup.sh installs it)"));
        }
    }
    None
}

/// llvm-objdump's lines for raw RV64 code: (offset, text), the text with tabs made
/// single spaces and the `<symbol+off>` after targets dropped.
pub fn objdump(code: &[u8], ext: Ext) -> Vec<(usize, String)> {
    // Tests run in parallel: each call gets its own files.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tag = format!("{}-{}-{n}", if ext.zba { "zb" } else { "base" }, std::process::id());
    let bin = dir.join(format!("jit-{tag}.bin"));
    let obj = dir.join(format!("jit-{tag}.o"));
    std::fs::write(&bin, code).unwrap();
    let ok = Command::new("riscv64-linux-gnu-objcopy")
        .args(["-I", "binary", "-O", "elf64-littleriscv", "-B", "riscv", "--rename-section", ".data=.text,alloc,load,readonly,code,contents"])
        .arg(&bin)
        .arg(&obj)
        .status()
        .unwrap();
    assert!(ok.success());
    let out = Command::new("llvm-objdump-19").args(["-d", "-M", "no-aliases", "--mattr=+m,+a,+zba,+zbb"]).arg(&obj).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = (std::fs::remove_file(&bin), std::fs::remove_file(&obj));
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .filter_map(|l| {
            let (addr, rest) = l.trim_start().split_once(": ")?;
            let off = usize::from_str_radix(addr, 16).ok()?;
            // "ff950293     \taddi\tt0, a0, -0x7"
            let (_, insn) = rest.split_once('\t')?;
            let insn = insn.split(" <").next().unwrap().trim().replace('\t', " ");
            Some((off, insn))
        })
        .collect()
}

