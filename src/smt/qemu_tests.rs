//! The RV64 model pinned to real execution: every ALU instruction form the JIT emits,
//! encoded by the JIT's encoder with rd = rs1 = a0 and rs2 = a1, runs under
//! qemu-riscv64 (tests/rv64/exec_word.c, built with the riscv64 cross gcc) on random
//! operands and immediates, and the model's value (`rv64::eval_alu` on the decoded word)
//! must equal the real one. Skipped with a printed reason where the cross gcc or
//! qemu-riscv64 is missing.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use std::io::Write;
use std::process::{Command, Stdio};

use super::decode::decode;
use crate::isa::test_rng::Rng;
use super::rv64::eval_alu;
use crate::jit::rv64::emit::encode_one;
use crate::jit::rv64::insn::*;

const CASES_PER_FORM: usize = 2000;

fn tools() -> Result<std::path::PathBuf, String> {
    let out = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/exec_word.rv64");
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rv64/exec_word.c");
    let ok = Command::new("riscv64-linux-gnu-gcc").args(["-static", "-O2", "-o"]).arg(&out).arg(src).status().map_err(|e| format!("riscv64-linux-gnu-gcc: {e}"))?;
    if !ok.success() {
        return Err(String::from("riscv64-linux-gnu-gcc failed"));
    }
    Command::new("qemu-riscv64").arg("--version").output().map_err(|e| format!("qemu-riscv64: {e}"))?;
    Ok(out)
}

trait Values {
    fn value(&mut self) -> u64;
}

impl Values for Rng {
    /// Edge values half the time.
    fn value(&mut self) -> u64 {
        const EDGES: [u64; 10] = [0, 1, u64::MAX, 1 << 63, (1 << 63) - 1, 0x8000_0000, 0x7fff_ffff, 0xffff_ffff, 0xffff_ffff_8000_0000, 0x1_0000_0000];
        let x = self.next();
        if x % 2 == 0 {
            EDGES[(x >> 8) as usize % EDGES.len()]
        } else {
            self.next()
        }
    }
}

#[test]
fn the_rv64_model_computes_what_qemu_riscv64_computes() {
    let exe = match tools() {
        Ok(e) => e,
        Err(why) => {
            std::println!("SKIPPED: {why} (scripts/setup.sh installs the cross gcc and qemu-user)");
            return;
        }
    };
    let (a0, a1) = (XReg::A0, XReg::A1);
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut forms: Vec<RvInsn> = Vec::new();
    let rops = [
        ROp::Add, ROp::Sub, ROp::Sll, ROp::Slt, ROp::Sltu, ROp::Xor, ROp::Srl, ROp::Sra, ROp::Or, ROp::And, ROp::Addw, ROp::Subw, ROp::Sllw, ROp::Srlw, ROp::Sraw, ROp::Mul,
        ROp::Div, ROp::Divu, ROp::Rem, ROp::Remu, ROp::Mulw, ROp::Divw, ROp::Divuw, ROp::Remw, ROp::Remuw, ROp::AddUw,
    ];
    let iops = [IOp::Addi, IOp::Slti, IOp::Sltiu, IOp::Xori, IOp::Ori, IOp::Andi, IOp::Addiw];
    let mut cases: Vec<(RvInsn, u64, u64)> = Vec::new();
    for _ in 0..CASES_PER_FORM {
        forms.clear();
        forms.extend(rops.map(|op| RvInsn::R { op, rd: a0, rs1: a0, rs2: a1 }));
        let imm = Imm12::wrap(rng.next() as i64);
        forms.extend(iops.map(|op| RvInsn::I { op, rd: a0, rs1: a0, imm }));
        let (sh6, sh5) = (Shamt6::new((rng.next() % 64) as u32).unwrap(), Shamt5::new((rng.next() % 32) as u32).unwrap());
        for op in [ShOp::Slli, ShOp::Srli, ShOp::Srai] {
            forms.push(RvInsn::Sh { op, rd: a0, rs1: a0, sh: sh6 });
            forms.push(RvInsn::ShW { op, rd: a0, rs1: a0, sh: sh5 });
        }
        forms.extend([UnOp::SextB, UnOp::SextH, UnOp::ZextH, UnOp::Rev8].map(|op| RvInsn::Un { op, rd: a0, rs1: a0 }));
        forms.push(RvInsn::Lui { rd: a0, imm: Imm20::wrap(rng.next() as i64) });
        for f in &forms {
            // Divisors of 0 and -1 and equal operands now and then.
            let a = rng.value();
            let b = match rng.next() % 8 {
                0 => 0,
                1 => u64::MAX,
                2 => a,
                _ => rng.value(),
            };
            cases.push((*f, a, b));
        }
    }
    let mut input = String::new();
    let mut words = Vec::new();
    for (f, a, b) in &cases {
        let w = encode_one(f).unwrap()[0];
        words.push(w);
        input.push_str(&format!("{w:x} {a:x} {b:x}\n"));
    }
    let mut child = Command::new("qemu-riscv64").args(["-cpu", "rv64,zba=true,zbb=true"]).arg(&exe).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feed = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    feed.join().unwrap().unwrap();
    let got: Vec<u64> = String::from_utf8(out.stdout).unwrap().lines().map(|l| u64::from_str_radix(l, 16).unwrap()).collect();
    assert_eq!(got.len(), cases.len(), "qemu ran {} of {} cases", got.len(), cases.len());
    let mut bad = Vec::new();
    for (((f, a, b), w), real) in cases.iter().zip(&words).zip(&got) {
        let model = eval_alu(decode(*w).unwrap(), *a, *b);
        if model != Some(*real) {
            bad.push(format!("{f}: a0 = {a:#x}, a1 = {b:#x}: model {model:x?}, qemu {real:#x}"));
        }
    }
    assert!(bad.is_empty(), "{} of {} differ:\n{}", bad.len(), cases.len(), bad[..bad.len().min(10)].join("\n"));
    std::println!("{} cases over {} forms: the RV64 model = qemu-riscv64", cases.len(), cases.len() / CASES_PER_FORM);
}
