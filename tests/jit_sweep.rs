//! Every lowering shape at its boundary values, with register rotations: ALU immediates
//! around ±2^11, ±2^31 and 2^32, memory offsets around ±2^11, lddw constants in both
//! forms, and jumps over code around the near, mid and far reaches, forward and back.
//! Each program runs on both engines on separate copies of its input memory; results and
//! memory must agree. JIT code executes on riscv64 only (the test command runs this file
//! under qemu-riscv64); elsewhere each program is JIT-compiled and only interpreted.
#![cfg(feature = "jit")]

use rvbpf::conformance::{execute, execute_unverified};
use rvbpf::runtime::Engine;
use rvbpf::conformance::ConformanceEnv;
use rvbpf::isa::{encode_all, AluOp, Insn, JmpCond, LdKind, Reg, Size, Source, Width};
use rvbpf::jit::rv64::emit::compile;
use rvbpf::interp::resolve_lddw;
use rvbpf::jit::rv64::lower::Ext;

const IMMS: [i64; 24] = [
    0, 1, -1, 2047, 2048, -2048, -2049, 4095, 4096, 0x7fff_f7ff, 0x7fff_f800, 0x7fff_ffff, -0x8000_0000, -0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0000,
    0x1_0000_0001, -0x1_0000_0000, 31, 32, 63, 64, 0x0123_4567_89ab_cdef,
];

fn r(n: u8) -> Reg {
    Reg::new(n).unwrap()
}

fn mov64(dst: Reg, v: i64) -> Insn {
    Insn::LdImm64 { kind: LdKind::Imm64, dst, imm: v as i32, next_imm: (v >> 32) as i32 }
}

fn alu(width: Width, op: AluOp, dst: Reg, src: Source) -> Insn {
    Insn::Alu { width, op, dst, src }
}

/// Runs `insns` on both engines with `mem`; JIT-compiles only where JIT code cannot run.
fn both(insns: &[Insn], mem: &[u8], what: &str) -> Result<(), String> {
    let bytes = encode_all(insns);
    if cfg!(target_arch = "riscv64") {
        // The JIT itself under test: programs the verifier would refuse (uninitialised
        // registers, unreachable padding) run too.
        execute_unverified(&bytes, mem, Engine::Both).map(drop).map_err(|e| format!("{what}: {e}"))
    } else {
        let prog = rvbpf::isa::Program::new(insns.to_vec()).map_err(|e| format!("{what}: {e}"))?;
        execute(&bytes, mem, Engine::Interp).map_err(|e| format!("{what}: interpreter: {e}"))?;
        let prog = resolve_lddw(&prog, &mut ConformanceEnv::default()).map_err(|e| e.to_string())?;
        for ext in [Ext::default(), Ext { zba: true, zbb: true }] {
            compile(&prog, ext).map_err(|e| format!("{what}: {e}"))?;
        }
        Ok(())
    }
}

fn report(failures: Vec<String>, total: usize, what: &str) {
    let note = if cfg!(target_arch = "riscv64") { "interpreter = JIT" } else { "compiled; JIT execution SKIPPED on this host (riscv64 only)" };
    assert!(failures.is_empty(), "{} of {total} {what} failed:\n{}", failures.len(), failures[..failures.len().min(20)].join("\n"));
    println!("{total} {what}: {note}");
}

#[test]
fn alu_immediates_at_their_boundaries_in_every_register() {
    let mut failures = Vec::new();
    let mut total = 0;
    for op in AluOp::ALL {
        for width in [Width::W64, Width::W32] {
            for &imm in IMMS.iter().filter(|&&v| v == v as i32 as i64) {
                for start in [0x0123_4567_89ab_cdefi64, -1, 0, 0x8000_0000, 7] {
                    // Rotate the destination through r0-r9.
                    let d = r((total % 10) as u8);
                    let prog = [mov64(d, start), alu(width, op, d, Source::Imm(imm as i32)), alu(Width::W64, AluOp::Mov, r(0), Source::Reg(d)), Insn::Exit];
                    total += 1;
                    if let Err(e) = both(&prog, &[], &format!("{op:?} {width:?} imm {imm:#x} on {start:#x} in {d:?}")) {
                        failures.push(e);
                    }
                }
            }
        }
    }
    report(failures, total, "ALU-immediate programs");
}

#[test]
fn alu_registers_in_every_pair_including_dst_equals_src() {
    let mut failures = Vec::new();
    let mut total = 0;
    for op in AluOp::ALL {
        for width in [Width::W64, Width::W32] {
            for d in 0..10u8 {
                for s in 0..10u8 {
                    let (a, b) = (IMMS[(d as usize * 7 + s as usize) % IMMS.len()], IMMS[(s as usize * 5 + d as usize + 3) % IMMS.len()]);
                    let prog = [mov64(r(s), b), mov64(r(d), a), alu(width, op, r(d), Source::Reg(r(s))), alu(Width::W64, AluOp::Mov, r(0), Source::Reg(r(d))), Insn::Exit];
                    total += 1;
                    if let Err(e) = both(&prog, &[], &format!("{op:?} {width:?} r{d} = {a:#x}, r{s} = {b:#x}")) {
                        failures.push(e);
                    }
                }
            }
        }
    }
    report(failures, total, "ALU-register programs");
}

#[test]
fn lddw_constants_and_memory_offsets_at_their_boundaries() {
    let mut failures = Vec::new();
    let mut total = 0;
    for &v in &IMMS {
        for d in 0..10u8 {
            let prog = [mov64(r(d), v), alu(Width::W64, AluOp::Mov, r(0), Source::Reg(r(d))), Insn::Exit];
            total += 1;
            if let Err(e) = both(&prog, &[], &format!("lddw {v:#x} into r{d}")) {
                failures.push(e);
            }
        }
    }
    // 8 KiB of input; the base register points at its middle.
    let mem: Vec<u8> = (0..8192u32).map(|i| (i * 7 + i / 256) as u8).collect();
    for off in [-4096i16, -2049, -2048, -2047, -8, 0, 8, 2040, 2047, 2048, 4088] {
        for size in [Size::B, Size::H, Size::W, Size::DW] {
            for base in [1u8, 3, 6, 9] {
                let b = r(base);
                let v = r(if base == 9 { 8 } else { base + 1 });
                let mut prog = vec![alu(Width::W64, AluOp::Mov, b, Source::Reg(r(1))), alu(Width::W64, AluOp::Add, b, Source::Imm(4096))];
                prog.push(Insn::Ldx { size, signed: size != Size::DW, dst: v, src: b, off });
                prog.push(Insn::Stx { size, dst: b, src: v, off: off.wrapping_add(size.bytes() as i16).clamp(-4096, 4088) });
                prog.push(Insn::St { size, dst: b, off: off ^ 8, imm: 0x7fff_f800 });
                prog.push(alu(Width::W64, AluOp::Mov, r(0), Source::Reg(v)));
                prog.push(Insn::Exit);
                total += 1;
                if let Err(e) = both(&prog, &mem, &format!("{size:?} at r{base}{off:+}")) {
                    failures.push(e);
                }
            }
        }
    }
    report(failures, total, "lddw and memory-offset programs");
}

/// `r0 = 1; if r2 == r2 goto over; <filler>; r0 = 2; over: r0 += r3; exit` and the
/// backward form, over `n` filler instructions: `add r3, k` (4 bytes of RV64 each) or,
/// `heavy`, `be64 r3` (128 bytes each without Zbb).
fn jump_over(n: usize, cond: bool, back: bool, heavy: bool) -> Vec<Insn> {
    let filler = |k: usize| {
        if heavy {
            Insn::End { kind: rvbpf::isa::EndKind::Be, bits: rvbpf::isa::EndWidth::B64, dst: r(3) }
        } else {
            alu(Width::W64, AluOp::Add, r(3), Source::Imm(k as i32 & 0x3ff))
        }
    };
    let jump = |off: i64| {
        if cond {
            Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: r(2), src: Source::Reg(r(2)), off: off as i16 }
        } else {
            Insn::Gotol { imm: off as i32 }
        }
    };
    let mut p = vec![alu(Width::W64, AluOp::Mov, r(0), Source::Imm(1)), alu(Width::W64, AluOp::Mov, r(3), Source::Imm(0))];
    if !back {
        p.push(jump(n as i64 + 1));
        p.extend((0..n).map(filler));
        p.push(alu(Width::W64, AluOp::Mov, r(0), Source::Imm(2)));
        p.push(alu(Width::W64, AluOp::Add, r(0), Source::Reg(r(3))));
        p.push(Insn::Exit);
    } else {
        // goto start; back: r0 += r3; exit; <filler>; start: goto back
        p.push(Insn::Gotol { imm: 2 + n as i32 });
        p.push(alu(Width::W64, AluOp::Add, r(0), Source::Reg(r(3))));
        p.push(Insn::Exit);
        p.extend((0..n).map(filler));
        p.push(jump(-(n as i64) - 3));
        p.push(Insn::Exit);
    }
    p
}

#[test]
fn jumps_around_the_near_mid_and_far_reaches_both_ways() {
    let mut failures = Vec::new();
    let mut total = 0;
    // dynasm-rs accepts ±2 KiB for branches and ±512 KiB for jal (see the README): the
    // filler counts put the jump distance just below and above those edges.
    let around = |edge: usize| (edge - 3)..=(edge + 3);
    let mut cases: Vec<(usize, bool, bool)> = vec![(0, true, false), (1, true, false), (0, false, false), (1, false, false)];
    cases.extend(around(2048 / 4).map(|n| (n, true, false)));
    cases.extend(around(512 * 1024 / 128).map(|n| (n, true, true)));
    cases.extend(around(512 * 1024 / 4).map(|n| (n, false, false)));
    let mut forms = std::collections::BTreeSet::new();
    for (n, cond, heavy) in cases {
        for back in [false, true] {
            total += 1;
            forms.insert(jump_form(&jump_over(n, cond, back, heavy), back));
            let what = format!("{} over {n} {} instructions {}", if cond { "jeq" } else { "gotol" }, if heavy { "be64" } else { "add" }, if back { "backward" } else { "forward" });
            if let Err(e) = both(&jump_over(n, cond, back, heavy), &[], &what) {
                failures.push(e);
            }
        }
    }
    report(failures, total, "jump-reach programs");
    let want = ["jeq far", "jeq mid", "jeq near", "gotol far", "gotol near"];
    for w in want {
        assert!(forms.contains(w), "no jump took the {w} form; forms seen: {forms:?}");
    }
}

/// The form the tested jump took (base ISA): near, mid or far.
fn jump_form(insns: &[Insn], back: bool) -> &'static str {
    use rvbpf::jit::rv64::insn::{RvInsn, Target};
    let prog = rvbpf::isa::Program::new(insns.to_vec()).unwrap();
    let img = compile(&prog, Ext::default()).unwrap();
    // The tested jump: slot 2 forward; the second-to-last instruction backward.
    let k = if back { img.insns.len() - 2 } else { 2 };
    match img.insns[k].1.as_slice() {
        [RvInsn::Branch { target: Target::Pc(_), .. }] => "jeq near",
        [RvInsn::Branch { .. }, RvInsn::Jal { .. }] => "jeq mid",
        [RvInsn::Branch { .. }, RvInsn::FarJump { .. }] => "jeq far",
        [RvInsn::Jal { .. }] => "gotol near",
        [RvInsn::FarJump { .. }] => "gotol far",
        other => panic!("unexpected jump lowering {other:?}"),
    }
}

/// No host value reaches a program: r0 and r3–r9 read 0 at entry on both engines (the
/// JIT's entry used to leave the host's stack top, run context, dispatcher and its own
/// callee-saved values in them). `r1 = r0 | r3 | ... | r9` is returned; each register
/// is also returned alone, so one leaking register is named.
#[test]
fn registers_start_at_zero_except_the_context_its_length_and_the_frame_pointer() {
    let mut failures = Vec::new();
    let regs = [0u8, 3, 4, 5, 6, 7, 8, 9];
    let mut all = vec![alu(Width::W64, AluOp::Mov, r(1), Source::Imm(0))];
    for &n in &regs {
        all.push(alu(Width::W64, AluOp::Or, r(1), Source::Reg(r(n))));
        let alone = [alu(Width::W64, AluOp::Mov, r(0), Source::Reg(r(n))), Insn::Exit];
        let bytes = encode_all(&alone);
        match execute(&bytes, &[], Engine::Interp) {
            Ok(0) => {}
            other => failures.push(format!("r{n} at entry on the interpreter: {other:?}")),
        }
        if let Err(e) = both(&alone, &[], &format!("r{n} at entry")) {
            failures.push(e);
        }
    }
    all.extend([alu(Width::W64, AluOp::Mov, r(0), Source::Reg(r(1))), Insn::Exit]);
    if let Err(e) = both(&all, &[], "r0 | r3..r9 at entry") {
        failures.push(e);
    }
    report(failures, regs.len() + 1, "entry-register programs");
}
