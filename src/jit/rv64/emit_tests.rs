//! The encoder's golden table, in the style of Cranelift's `emit_tests.rs`: one row per
//! instruction form, with its assembly text (as `llvm-objdump -M no-aliases` prints it)
//! and the machine words LLVM's own assembler (`llvm-mc-19 -show-encoding`) gives for
//! that text. dynasmrt's bytes must equal them: the encoder is checked without any tool
//! installed. tests/jit.rs checks whole programs against llvm-objdump as a second oracle.
//!
//! A jump to a label (a BPF pc, the stop path) is encoded with its label right after it.

use super::emit::encode_one;
use super::insn::*;

#[rustfmt::skip]
fn rows() -> Vec<(RvInsn, &'static str, &'static [u32])> {
    vec![
        (RvInsn::R { op: ROp::Add, rd: XReg::A0, rs1: XReg::A1, rs2: XReg::A2 }, "add a0, a1, a2", &[0x00c58533]),
        (RvInsn::R { op: ROp::Sub, rd: XReg::A5, rs1: XReg::S1, rs2: XReg::S2 }, "sub a5, s1, s2", &[0x412487b3]),
        (RvInsn::R { op: ROp::Sll, rd: XReg::T0, rs1: XReg::T1, rs2: XReg::T2 }, "sll t0, t1, t2", &[0x007312b3]),
        (RvInsn::R { op: ROp::Slt, rd: XReg::S3, rs1: XReg::S4, rs2: XReg::S5 }, "slt s3, s4, s5", &[0x015a29b3]),
        (RvInsn::R { op: ROp::Sltu, rd: XReg::T3, rs1: XReg::A3, rs2: XReg::A4 }, "sltu t3, a3, a4", &[0x00e6be33]),
        (RvInsn::R { op: ROp::Xor, rd: XReg::A0, rs1: XReg::A1, rs2: XReg::A2 }, "xor a0, a1, a2", &[0x00c5c533]),
        (RvInsn::R { op: ROp::Srl, rd: XReg::A5, rs1: XReg::S1, rs2: XReg::S2 }, "srl a5, s1, s2", &[0x0124d7b3]),
        (RvInsn::R { op: ROp::Sra, rd: XReg::T0, rs1: XReg::T1, rs2: XReg::T2 }, "sra t0, t1, t2", &[0x407352b3]),
        (RvInsn::R { op: ROp::Or, rd: XReg::S3, rs1: XReg::S4, rs2: XReg::S5 }, "or s3, s4, s5", &[0x015a69b3]),
        (RvInsn::R { op: ROp::And, rd: XReg::T3, rs1: XReg::A3, rs2: XReg::A4 }, "and t3, a3, a4", &[0x00e6fe33]),
        (RvInsn::R { op: ROp::Addw, rd: XReg::A0, rs1: XReg::A1, rs2: XReg::A2 }, "addw a0, a1, a2", &[0x00c5853b]),
        (RvInsn::R { op: ROp::Subw, rd: XReg::A5, rs1: XReg::S1, rs2: XReg::S2 }, "subw a5, s1, s2", &[0x412487bb]),
        (RvInsn::R { op: ROp::Sllw, rd: XReg::T0, rs1: XReg::T1, rs2: XReg::T2 }, "sllw t0, t1, t2", &[0x007312bb]),
        (RvInsn::R { op: ROp::Srlw, rd: XReg::S3, rs1: XReg::S4, rs2: XReg::S5 }, "srlw s3, s4, s5", &[0x015a59bb]),
        (RvInsn::R { op: ROp::Sraw, rd: XReg::T3, rs1: XReg::A3, rs2: XReg::A4 }, "sraw t3, a3, a4", &[0x40e6de3b]),
        (RvInsn::R { op: ROp::Mul, rd: XReg::A0, rs1: XReg::A1, rs2: XReg::A2 }, "mul a0, a1, a2", &[0x02c58533]),
        (RvInsn::R { op: ROp::Div, rd: XReg::A5, rs1: XReg::S1, rs2: XReg::S2 }, "div a5, s1, s2", &[0x0324c7b3]),
        (RvInsn::R { op: ROp::Divu, rd: XReg::T0, rs1: XReg::T1, rs2: XReg::T2 }, "divu t0, t1, t2", &[0x027352b3]),
        (RvInsn::R { op: ROp::Rem, rd: XReg::S3, rs1: XReg::S4, rs2: XReg::S5 }, "rem s3, s4, s5", &[0x035a69b3]),
        (RvInsn::R { op: ROp::Remu, rd: XReg::T3, rs1: XReg::A3, rs2: XReg::A4 }, "remu t3, a3, a4", &[0x02e6fe33]),
        (RvInsn::R { op: ROp::Mulw, rd: XReg::A0, rs1: XReg::A1, rs2: XReg::A2 }, "mulw a0, a1, a2", &[0x02c5853b]),
        (RvInsn::R { op: ROp::Divw, rd: XReg::A5, rs1: XReg::S1, rs2: XReg::S2 }, "divw a5, s1, s2", &[0x0324c7bb]),
        (RvInsn::R { op: ROp::Divuw, rd: XReg::T0, rs1: XReg::T1, rs2: XReg::T2 }, "divuw t0, t1, t2", &[0x027352bb]),
        (RvInsn::R { op: ROp::Remw, rd: XReg::S3, rs1: XReg::S4, rs2: XReg::S5 }, "remw s3, s4, s5", &[0x035a69bb]),
        (RvInsn::R { op: ROp::Remuw, rd: XReg::T3, rs1: XReg::A3, rs2: XReg::A4 }, "remuw t3, a3, a4", &[0x02e6fe3b]),
        (RvInsn::R { op: ROp::AddUw, rd: XReg::A0, rs1: XReg::A1, rs2: XReg::A2 }, "add.uw a0, a1, a2", &[0x08c5853b]),
        (RvInsn::I { op: IOp::Addi, rd: XReg::A0, rs1: XReg::A1, imm: Imm12::lit(-2048) }, "addi a0, a1, -0x800", &[0x80058513]),
        (RvInsn::I { op: IOp::Slti, rd: XReg::A5, rs1: XReg::S1, imm: Imm12::lit(2047) }, "slti a5, s1, 0x7ff", &[0x7ff4a793]),
        (RvInsn::I { op: IOp::Sltiu, rd: XReg::T0, rs1: XReg::T1, imm: Imm12::lit(1) }, "sltiu t0, t1, 0x1", &[0x00133293]),
        (RvInsn::I { op: IOp::Xori, rd: XReg::S3, rs1: XReg::S4, imm: Imm12::lit(-1) }, "xori s3, s4, -0x1", &[0xfffa4993]),
        (RvInsn::I { op: IOp::Ori, rd: XReg::T3, rs1: XReg::A3, imm: Imm12::lit(2047) }, "ori t3, a3, 0x7ff", &[0x7ff6ee13]),
        (RvInsn::I { op: IOp::Andi, rd: XReg::A0, rs1: XReg::A1, imm: Imm12::lit(255) }, "andi a0, a1, 0xff", &[0x0ff5f513]),
        (RvInsn::I { op: IOp::Addiw, rd: XReg::A5, rs1: XReg::S1, imm: Imm12::lit(-2047) }, "addiw a5, s1, -0x7ff", &[0x8014879b]),
        (RvInsn::Sh { op: ShOp::Slli, rd: XReg::A5, rs1: XReg::S1, sh: Shamt6::masked(0) }, "slli a5, s1, 0x0", &[0x00049793]),
        (RvInsn::Sh { op: ShOp::Slli, rd: XReg::A5, rs1: XReg::S1, sh: Shamt6::masked(63) }, "slli a5, s1, 0x3f", &[0x03f49793]),
        (RvInsn::ShW { op: ShOp::Slli, rd: XReg::S2, rs1: XReg::T1, sh: Shamt5::masked(31) }, "slliw s2, t1, 0x1f", &[0x01f3191b]),
        (RvInsn::Sh { op: ShOp::Srli, rd: XReg::A5, rs1: XReg::S1, sh: Shamt6::masked(0) }, "srli a5, s1, 0x0", &[0x0004d793]),
        (RvInsn::Sh { op: ShOp::Srli, rd: XReg::A5, rs1: XReg::S1, sh: Shamt6::masked(63) }, "srli a5, s1, 0x3f", &[0x03f4d793]),
        (RvInsn::ShW { op: ShOp::Srli, rd: XReg::S2, rs1: XReg::T1, sh: Shamt5::masked(31) }, "srliw s2, t1, 0x1f", &[0x01f3591b]),
        (RvInsn::Sh { op: ShOp::Srai, rd: XReg::A5, rs1: XReg::S1, sh: Shamt6::masked(0) }, "srai a5, s1, 0x0", &[0x4004d793]),
        (RvInsn::Sh { op: ShOp::Srai, rd: XReg::A5, rs1: XReg::S1, sh: Shamt6::masked(63) }, "srai a5, s1, 0x3f", &[0x43f4d793]),
        (RvInsn::ShW { op: ShOp::Srai, rd: XReg::S2, rs1: XReg::T1, sh: Shamt5::masked(31) }, "sraiw s2, t1, 0x1f", &[0x41f3591b]),
        (RvInsn::Un { op: UnOp::SextB, rd: XReg::A0, rs1: XReg::T2 }, "sext.b a0, t2", &[0x60439513]),
        (RvInsn::Un { op: UnOp::SextH, rd: XReg::A0, rs1: XReg::T2 }, "sext.h a0, t2", &[0x60539513]),
        (RvInsn::Un { op: UnOp::ZextH, rd: XReg::A0, rs1: XReg::T2 }, "zext.h a0, t2", &[0x0803c53b]),
        (RvInsn::Un { op: UnOp::Rev8, rd: XReg::A0, rs1: XReg::T2 }, "rev8 a0, t2", &[0x6b83d513]),
        (RvInsn::Lui { rd: XReg::T1, imm: Imm20::wrap(-524288) }, "lui t1, 0x80000", &[0x80000337]),
        (RvInsn::Lui { rd: XReg::T1, imm: Imm20::wrap(524287) }, "lui t1, 0x7ffff", &[0x7ffff337]),
        (RvInsn::Lui { rd: XReg::T1, imm: Imm20::wrap(1) }, "lui t1, 0x1", &[0x00001337]),
        (RvInsn::Load { op: LoadOp::Lb, rd: XReg::A5, base: XReg::S5, off: Imm12::lit(-2048) }, "lb a5, -0x800(s5)", &[0x800a8783]),
        (RvInsn::Load { op: LoadOp::Lh, rd: XReg::A5, base: XReg::S5, off: Imm12::lit(2047) }, "lh a5, 0x7ff(s5)", &[0x7ffa9783]),
        (RvInsn::Load { op: LoadOp::Lw, rd: XReg::A5, base: XReg::S5, off: Imm12::lit(0) }, "lw a5, 0x0(s5)", &[0x000aa783]),
        (RvInsn::Load { op: LoadOp::Ld, rd: XReg::A5, base: XReg::S5, off: Imm12::lit(-8) }, "ld a5, -0x8(s5)", &[0xff8ab783]),
        (RvInsn::Load { op: LoadOp::Lbu, rd: XReg::A5, base: XReg::S5, off: Imm12::lit(8) }, "lbu a5, 0x8(s5)", &[0x008ac783]),
        (RvInsn::Load { op: LoadOp::Lhu, rd: XReg::A5, base: XReg::S5, off: Imm12::lit(-1) }, "lhu a5, -0x1(s5)", &[0xfffad783]),
        (RvInsn::Load { op: LoadOp::Lwu, rd: XReg::A5, base: XReg::S5, off: Imm12::lit(100) }, "lwu a5, 0x64(s5)", &[0x064ae783]),
        (RvInsn::Store { op: StoreOp::Sb, src: XReg::S1, base: XReg::T1, off: Imm12::lit(-2048) }, "sb s1, -0x800(t1)", &[0x80930023]),
        (RvInsn::Store { op: StoreOp::Sh, src: XReg::S1, base: XReg::T1, off: Imm12::lit(2047) }, "sh s1, 0x7ff(t1)", &[0x7e931fa3]),
        (RvInsn::Store { op: StoreOp::Sw, src: XReg::S1, base: XReg::T1, off: Imm12::lit(-512) }, "sw s1, -0x200(t1)", &[0xe0932023]),
        (RvInsn::Store { op: StoreOp::Sd, src: XReg::S1, base: XReg::T1, off: Imm12::lit(0) }, "sd s1, 0x0(t1)", &[0x00933023]),
        (RvInsn::Branch { cond: Cond::Eq, rs1: XReg::T1, rs2: XReg::ZERO, target: Target::Skip(Skip::insns(1)) }, "beq t1, zero, .+8", &[0x00030463]),
        (RvInsn::Branch { cond: Cond::Ne, rs1: XReg::T1, rs2: XReg::ZERO, target: Target::Skip(Skip::insns(2)) }, "bne t1, zero, .+12", &[0x00031663]),
        (RvInsn::Branch { cond: Cond::Lt, rs1: XReg::T1, rs2: XReg::ZERO, target: Target::Skip(Skip::insns(15)) }, "blt t1, zero, .+64", &[0x04034063]),
        (RvInsn::Branch { cond: Cond::Ge, rs1: XReg::T1, rs2: XReg::ZERO, target: Target::Skip(Skip::insns(3)) }, "bge t1, zero, .+16", &[0x00035863]),
        (RvInsn::Branch { cond: Cond::Ltu, rs1: XReg::T1, rs2: XReg::ZERO, target: Target::Skip(Skip::insns(1)) }, "bltu t1, zero, .+8", &[0x00036463]),
        (RvInsn::Branch { cond: Cond::Geu, rs1: XReg::T1, rs2: XReg::ZERO, target: Target::Skip(Skip::insns(4)) }, "bgeu t1, zero, .+20", &[0x00037a63]),
        (RvInsn::Branch { cond: Cond::Ne, rs1: XReg::T3, rs2: XReg::ZERO, target: Target::Skip(Skip::back(3)) }, "bne t3, zero, .-12", &[0xfe0e1ae3]),
        (RvInsn::Jal { rd: XReg::ZERO, target: Target::Skip(Skip::insns(4)) }, "jal zero, .+20", &[0x0140006f]),
        (RvInsn::Jalr { rd: XReg::ZERO, rs1: XReg::S6, off: Imm12::ZERO }, "jalr zero, 0x0(s6)", &[0x000b0067]),
        (RvInsn::Jalr { rd: XReg::RA, rs1: XReg::S8, off: Imm12::lit(-4) }, "jalr ra, -0x4(s8)", &[0xffcc00e7]),
        (RvInsn::Auipc { rd: XReg::A7, imm: Imm20::ZERO }, "auipc a7, 0x0", &[0x00000897]),
        (RvInsn::Auipc { rd: XReg::T1, imm: Imm20::wrap(-1) }, "auipc t1, 0xfffff", &[0xfffff317]),
        (RvInsn::Amo { op: AmoOp::Add, width: AmoWidth::W, rd: XReg::T2, src: XReg::A1, addr: XReg::T1 }, "amoadd.w.aqrl t2, a1, (t1)", &[0x06b323af]),
        (RvInsn::Amo { op: AmoOp::Add, width: AmoWidth::D, rd: XReg::T2, src: XReg::A1, addr: XReg::T1 }, "amoadd.d.aqrl t2, a1, (t1)", &[0x06b333af]),
        (RvInsn::Amo { op: AmoOp::Or, width: AmoWidth::W, rd: XReg::T2, src: XReg::A1, addr: XReg::T1 }, "amoor.w.aqrl t2, a1, (t1)", &[0x46b323af]),
        (RvInsn::Amo { op: AmoOp::Or, width: AmoWidth::D, rd: XReg::T2, src: XReg::A1, addr: XReg::T1 }, "amoor.d.aqrl t2, a1, (t1)", &[0x46b333af]),
        (RvInsn::Amo { op: AmoOp::And, width: AmoWidth::W, rd: XReg::T2, src: XReg::A1, addr: XReg::T1 }, "amoand.w.aqrl t2, a1, (t1)", &[0x66b323af]),
        (RvInsn::Amo { op: AmoOp::And, width: AmoWidth::D, rd: XReg::T2, src: XReg::A1, addr: XReg::T1 }, "amoand.d.aqrl t2, a1, (t1)", &[0x66b333af]),
        (RvInsn::Amo { op: AmoOp::Xor, width: AmoWidth::W, rd: XReg::T2, src: XReg::A1, addr: XReg::T1 }, "amoxor.w.aqrl t2, a1, (t1)", &[0x26b323af]),
        (RvInsn::Amo { op: AmoOp::Xor, width: AmoWidth::D, rd: XReg::T2, src: XReg::A1, addr: XReg::T1 }, "amoxor.d.aqrl t2, a1, (t1)", &[0x26b333af]),
        (RvInsn::Amo { op: AmoOp::Swap, width: AmoWidth::W, rd: XReg::T2, src: XReg::A1, addr: XReg::T1 }, "amoswap.w.aqrl t2, a1, (t1)", &[0x0eb323af]),
        (RvInsn::Amo { op: AmoOp::Swap, width: AmoWidth::D, rd: XReg::T2, src: XReg::A1, addr: XReg::T1 }, "amoswap.d.aqrl t2, a1, (t1)", &[0x0eb333af]),
        (RvInsn::Lr { width: AmoWidth::W, rd: XReg::T2, addr: XReg::S5 }, "lr.w.aqrl t2, (s5)", &[0x160aa3af]),
        (RvInsn::Sc { width: AmoWidth::W, rd: XReg::T3, src: XReg::A2, addr: XReg::S5 }, "sc.w.aqrl t3, a2, (s5)", &[0x1ecaae2f]),
        (RvInsn::Lr { width: AmoWidth::D, rd: XReg::T2, addr: XReg::S5 }, "lr.d.aqrl t2, (s5)", &[0x160ab3af]),
        (RvInsn::Sc { width: AmoWidth::D, rd: XReg::T3, src: XReg::A2, addr: XReg::S5 }, "sc.d.aqrl t3, a2, (s5)", &[0x1ecabe2f]),
        (RvInsn::Branch { cond: Cond::Geu, rs1: XReg::S5, rs2: XReg::S9, target: Target::Pc(0) }, "bgeu s5, s9, <bpf 0>", &[0x019af263]),
        (RvInsn::Jal { rd: XReg::S6, target: Target::Abort }, "jal s6, <abort>", &[0x00400b6f]),
        (RvInsn::FarJump { tmp: XReg::T1, target: Target::DepthStop }, "auipc t1, %hi(<depth stop>); jalr zero, %lo(<depth stop>)(t1)", &[0x00000317, 0x00830067]),
        (RvInsn::FarCall { rd: XReg::S6, target: Target::Pc(0) }, "auipc s6, %hi(<bpf 0>); jalr s6, %lo(<bpf 0>)(s6)", &[0x00000b17, 0x008b0b67]),
    ]
}

#[test]
fn every_form_encodes_to_llvms_words_and_prints_as_llvm_does() {
    let rows = rows();
    for (insn, text, words) in &rows {
        assert_eq!(insn.to_string(), *text);
        assert_eq!(encode_one(insn).unwrap(), words.to_vec(), "{text}: words");
        assert_eq!(insn.words(), words.len(), "{text}: size");
    }
    assert_eq!(rows.len(), 90);
}

#[test]
fn the_table_has_every_operation() {
    let rows = rows();
    let has = |f: &dyn Fn(&RvInsn) -> bool| rows.iter().any(|(i, _, _)| f(i));
    let rops = [ROp::Add, ROp::Sub, ROp::Sll, ROp::Slt, ROp::Sltu, ROp::Xor, ROp::Srl, ROp::Sra, ROp::Or, ROp::And, ROp::Addw, ROp::Subw, ROp::Sllw, ROp::Srlw, ROp::Sraw, ROp::Mul, ROp::Div, ROp::Divu, ROp::Rem, ROp::Remu, ROp::Mulw, ROp::Divw, ROp::Divuw, ROp::Remw, ROp::Remuw, ROp::AddUw];
    for op in rops {
        assert!(has(&|i| matches!(i, RvInsn::R { op: o, .. } if *o == op)), "{op:?}");
    }
    for op in [IOp::Addi, IOp::Slti, IOp::Sltiu, IOp::Xori, IOp::Ori, IOp::Andi, IOp::Addiw] {
        assert!(has(&|i| matches!(i, RvInsn::I { op: o, .. } if *o == op)), "{op:?}");
    }
    for op in [ShOp::Slli, ShOp::Srli, ShOp::Srai] {
        assert!(has(&|i| matches!(i, RvInsn::Sh { op: o, .. } if *o == op)) && has(&|i| matches!(i, RvInsn::ShW { op: o, .. } if *o == op)), "{op:?}");
    }
    for op in [UnOp::SextB, UnOp::SextH, UnOp::ZextH, UnOp::Rev8] {
        assert!(has(&|i| matches!(i, RvInsn::Un { op: o, .. } if *o == op)), "{op:?}");
    }
    for op in [LoadOp::Lb, LoadOp::Lh, LoadOp::Lw, LoadOp::Ld, LoadOp::Lbu, LoadOp::Lhu, LoadOp::Lwu] {
        assert!(has(&|i| matches!(i, RvInsn::Load { op: o, .. } if *o == op)), "{op:?}");
    }
    for op in [StoreOp::Sb, StoreOp::Sh, StoreOp::Sw, StoreOp::Sd] {
        assert!(has(&|i| matches!(i, RvInsn::Store { op: o, .. } if *o == op)), "{op:?}");
    }
    for c in [Cond::Eq, Cond::Ne, Cond::Lt, Cond::Ge, Cond::Ltu, Cond::Geu] {
        assert!(has(&|i| matches!(i, RvInsn::Branch { cond, .. } if *cond == c)), "{c:?}");
    }
    for op in [AmoOp::Add, AmoOp::Or, AmoOp::And, AmoOp::Xor, AmoOp::Swap] {
        for w in [AmoWidth::W, AmoWidth::D] {
            assert!(has(&|i| matches!(i, RvInsn::Amo { op: o, width, .. } if *o == op && *width == w)), "{op:?} {w:?}");
        }
    }
    for w in [AmoWidth::W, AmoWidth::D] {
        assert!(has(&|i| matches!(i, RvInsn::Lr { width, .. } if *width == w)) && has(&|i| matches!(i, RvInsn::Sc { width, .. } if *width == w)));
    }
    assert!(has(&|i| matches!(i, RvInsn::Lui { .. })) && has(&|i| matches!(i, RvInsn::Auipc { .. })) && has(&|i| matches!(i, RvInsn::Jalr { .. })));
    assert!(has(&|i| matches!(i, RvInsn::Jal { target: Target::Skip(_), .. })) && has(&|i| matches!(i, RvInsn::Jal { target: Target::Abort, .. })));
    assert!(has(&|i| matches!(i, RvInsn::FarJump { .. })) && has(&|i| matches!(i, RvInsn::FarCall { .. })));
}
