//! Emission: [`RvInsn`] → bytes with dynasmrt, labels per BPF pc, branch reach chosen by
//! sizing passes, and the map from each BPF pc to its code range.

// dynasm!'s expansion converts and casts values to their own types.
#![allow(clippy::useless_conversion, clippy::unnecessary_cast)]

use std::ops::Range;

use dynasmrt::riscv::RiscvRelocation;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};

use super::insn::*;
use super::error::JitError;
use super::lower::{self, Dist, Ext};
use crate::isa::Program;

/// A compiled program: the code and what each part of it came from.
#[derive(Clone, Debug)]
pub struct Image {
    pub code: Vec<u8>,
    pub ext: Ext,
    /// The header's code range: entry, normal return, stop path.
    pub header: Range<usize>,
    /// Where the stop path starts.
    pub abort: usize,
    /// Where the call-depth stop starts.
    pub depth: usize,
    /// For each BPF instruction: its slot, its RV64 instructions and their code range.
    pub insns: Vec<(usize, Vec<RvInsn>, Range<usize>)>,
    /// Sizing passes it took for the branch reaches to settle.
    pub passes: u32,
}

/// BPF instruction classes by the low three bits of the opcode.
pub const CLASS_NAMES: [&str; 8] = ["ld", "ldx", "st", "stx", "alu", "jmp", "jmp32", "alu64"];

const MAX_PASSES: u32 = 32;

fn fits(disp: i64, bits: u32) -> bool {
    disp >= -(1 << (bits - 1)) && disp < (1 << (bits - 1))
}

fn bytes_of(list: &[RvInsn]) -> usize {
    list.iter().map(|i| i.words()).sum::<usize>() * 4
}

/// Compiles `prog` (lddw already resolved to constants).
pub fn compile(prog: &Program, ext: Ext) -> Result<Image, JitError> {
    let n = prog.insns().len();
    let header = lower::header();
    let abort = bytes_of(&header.insns[..header.abort]) as i64;
    let depth = bytes_of(&header.insns[..header.depth]) as i64;
    // Sizing: start every branch near, widen what does not reach, until nothing changes.
    // Forms only grow, so this ends; the cap is a guard.
    let mut dists = vec![Dist::Near; n];
    let mut passes = 0;
    let lowered = loop {
        passes += 1;
        if passes > MAX_PASSES {
            return Err(JitError::NoFixpoint(MAX_PASSES));
        }
        let lowered = lower::lower_all(prog, &dists, ext)?;
        let mut start = Vec::with_capacity(n + 1);
        let mut at = bytes_of(&header.insns);
        for l in &lowered {
            start.push(at);
            at += bytes_of(l);
        }
        let slot_start = |slot: usize| start[index_of(prog, slot)] as i64;
        let mut changed = false;
        for (k, l) in lowered.iter().enumerate() {
            let mut pos = start[k] as i64;
            for insn in l {
                // dynasm-rs 5.1 accepts B and J relocations over half the architectural
                // reach (±2 KiB, ±512 KiB rather than ±4 KiB, ±1 MiB): size against that.
                let (target, bits) = match *insn {
                    RvInsn::Branch { target, .. } => (target, 12),
                    RvInsn::Jal { target, .. } => (target, 20),
                    RvInsn::FarJump { target, .. } | RvInsn::FarCall { target, .. } => (target, 32),
                    _ => (Target::Skip(Skip::insns(1)), 13),
                };
                let dest = match target {
                    Target::Pc(p) => Some(slot_start(p)),
                    Target::Abort => Some(abort),
                    Target::DepthStop => Some(depth),
                    Target::Skip(_) => None,
                };
                if let Some(d) = dest {
                    if !fits(d - pos, bits) {
                        dists[k] = match dists[k] {
                            Dist::Near => Dist::Mid,
                            _ => Dist::Far,
                        };
                        changed = true;
                    }
                }
                pos += 4 * insn.words() as i64;
            }
        }
        if !changed {
            break lowered;
        }
    };
    emit(prog, &header, &lowered, ext, passes)
}

/// The instruction at `slot`, a jump target the program's validation checked.
fn index_of(prog: &Program, slot: usize) -> usize {
    prog.cfg().index_of(slot).expect("jump targets start instructions")
}

fn emit(prog: &Program, header: &lower::Header, lowered: &[Vec<RvInsn>], ext: Ext, passes: u32) -> Result<Image, JitError> {
    let mut a: VecAssembler<RiscvRelocation> = VecAssembler::new(0);
    let labels: Vec<DynamicLabel> = prog.iter().map(|_| a.new_dynamic_label()).collect();
    let abort_label = a.new_dynamic_label();
    let depth_label = a.new_dynamic_label();
    let label_of = |pc: usize| labels[index_of(prog, pc)];
    let label = |t: Target| match t {
        Target::Pc(p) => label_of(p),
        Target::Abort => abort_label,
        Target::DepthStop => depth_label,
        Target::Skip(_) => unreachable!("a skip has no label"),
    };
    let emit_list = |a: &mut VecAssembler<RiscvRelocation>, list: &[RvInsn]| {
        for insn in list {
            put(a, insn, label);
        }
    };
    emit_list(&mut a, &header.insns[..header.depth]);
    let depth = a.offset().0;
    dynasm!(a ; .arch riscv64 ; =>depth_label);
    emit_list(&mut a, &header.insns[header.depth..header.abort]);
    let abort = a.offset().0;
    dynasm!(a ; .arch riscv64 ; =>abort_label);
    emit_list(&mut a, &header.insns[header.abort..]);
    let header_range = 0..a.offset().0;
    let mut insns = Vec::with_capacity(lowered.len());
    for ((pc, _), l) in prog.iter().zip(lowered) {
        let s = a.offset().0;
        dynasm!(a ; .arch riscv64 ; =>label_of(pc));
        emit_list(&mut a, l);
        insns.push((pc, l.clone(), s..a.offset().0));
    }
    let code = a.finalize().map_err(|e| JitError::Emit(format!("{e:?}")))?;
    Ok(Image { code, ext, header: header_range, abort, depth, insns, passes })
}

/// Encodes one instruction; a jump to anything but a skip goes to `label(target)`.
fn put(a: &mut VecAssembler<RiscvRelocation>, insn: &RvInsn, label: impl Fn(Target) -> DynamicLabel) {
    match *insn {
        RvInsn::Branch { target: t, .. } | RvInsn::Jal { target: t, .. } | RvInsn::FarJump { target: t, .. } | RvInsn::FarCall { target: t, .. } => match t {
            Target::Skip(s) => encode_skip(a, insn, s.bytes()),
            t => encode_jump(a, insn, label(t)),
        },
        _ => encode(a, insn),
    }
}

/// The words of one instruction alone, a jump's label placed right after it (for the
/// encoder's golden table and the checker's encoder sweep).
#[cfg(test)]
pub(crate) fn encode_one(insn: &RvInsn) -> Result<Vec<u32>, JitError> {
    let mut a: VecAssembler<RiscvRelocation> = VecAssembler::new(0);
    let after = a.new_dynamic_label();
    put(&mut a, insn, |_| after);
    dynasm!(a ; .arch riscv64 ; =>after);
    let code = a.finalize().map_err(|e| JitError::Emit(format!("{e:?}")))?;
    Ok(code.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect())
}

/// `insns` at their byte offsets (ascending, not overlapping) in a zero-filled buffer of
/// `len` bytes, every jump's label at `label_at`: one assembly for many displacements,
/// for the checker's encoder sweep.
#[cfg(all(test, feature = "smt"))]
pub(crate) fn encode_around(label_at: usize, insns: &[(usize, RvInsn)], len: usize) -> Result<Vec<u8>, JitError> {
    let mut a: VecAssembler<RiscvRelocation> = VecAssembler::new(0);
    let l = a.new_dynamic_label();
    let mut placed = false;
    let fill = |a: &mut VecAssembler<RiscvRelocation>, to: usize, placed: &mut bool| {
        if !*placed && label_at <= to {
            a.extend(core::iter::repeat_n(0u8, label_at - a.offset().0));
            dynasm!(a ; .arch riscv64 ; =>l);
            *placed = true;
        }
        a.extend(core::iter::repeat_n(0u8, to - a.offset().0));
    };
    for (at, insn) in insns {
        fill(&mut a, *at, &mut placed);
        put(&mut a, insn, |_| l);
    }
    fill(&mut a, len, &mut placed);
    a.finalize().map_err(|e| JitError::Emit(format!("{e:?}")))
}

/// `list` alone from offset 0, each jump to a BPF slot, the stop path or the call-depth
/// stop landing at the offset `exit` gives it (past the list), the rest `nop`s up to `len`
/// bytes: one lowering as an image, for the per-shape proofs.
#[cfg(feature = "smt")]
pub fn assemble(list: &[RvInsn], exit: impl Fn(Target) -> usize, len: usize) -> Result<Vec<u8>, JitError> {
    const NOP: [u8; 4] = 0x0000_0013u32.to_le_bytes();
    let mut a: VecAssembler<RiscvRelocation> = VecAssembler::new(0);
    let mut labels: Vec<(usize, Target, DynamicLabel)> = Vec::new();
    for insn in list {
        if let RvInsn::Branch { target: t, .. } | RvInsn::Jal { target: t, .. } | RvInsn::FarJump { target: t, .. } | RvInsn::FarCall { target: t, .. } = *insn {
            if !matches!(t, Target::Skip(_)) && !labels.iter().any(|(_, u, _)| *u == t) {
                labels.push((exit(t), t, a.new_dynamic_label()));
            }
        }
    }
    for insn in list {
        put(&mut a, insn, |t| labels.iter().find(|(_, u, _)| *u == t).map(|(_, _, l)| *l).expect("every target has a label"));
    }
    labels.sort_by_key(|(at, _, _)| *at);
    for (at, t, l) in &labels {
        if *at < a.offset().0 || at % 4 != 0 {
            return Err(JitError::Emit(format!("{t:?} at offset {at}, inside the code or unaligned")));
        }
        while a.offset().0 < *at {
            a.extend(NOP);
        }
        dynasm!(a ; .arch riscv64 ; =>*l);
    }
    while a.offset().0 < len {
        a.extend(NOP);
    }
    a.finalize().map_err(|e| JitError::Emit(format!("{e:?}")))
}

/// A branch or `jal` over a fixed offset inside one instruction's code.
fn encode_skip(a: &mut VecAssembler<RiscvRelocation>, insn: &RvInsn, off: i32) {
    match *insn {
        RvInsn::Branch { cond, rs1, rs2, .. } => {
            let (x, y) = (rs1.num(), rs2.num());
            match cond {
                Cond::Eq => dynasm!(a ; .arch riscv64 ; beq X(x), X(y), off),
                Cond::Ne => dynasm!(a ; .arch riscv64 ; bne X(x), X(y), off),
                Cond::Lt => dynasm!(a ; .arch riscv64 ; blt X(x), X(y), off),
                Cond::Ge => dynasm!(a ; .arch riscv64 ; bge X(x), X(y), off),
                Cond::Ltu => dynasm!(a ; .arch riscv64 ; bltu X(x), X(y), off),
                Cond::Geu => dynasm!(a ; .arch riscv64 ; bgeu X(x), X(y), off),
            }
        }
        RvInsn::Jal { rd, .. } => dynasm!(a ; .arch riscv64 ; jal X(rd.num()), off),
        _ => unreachable!("only branches and jal skip inside an instruction"),
    }
}

fn encode_jump(a: &mut VecAssembler<RiscvRelocation>, insn: &RvInsn, l: DynamicLabel) {
    match *insn {
        RvInsn::Branch { cond, rs1, rs2, .. } => {
            let (x, y) = (rs1.num(), rs2.num());
            match cond {
                Cond::Eq => dynasm!(a ; .arch riscv64 ; beq X(x), X(y), =>l),
                Cond::Ne => dynasm!(a ; .arch riscv64 ; bne X(x), X(y), =>l),
                Cond::Lt => dynasm!(a ; .arch riscv64 ; blt X(x), X(y), =>l),
                Cond::Ge => dynasm!(a ; .arch riscv64 ; bge X(x), X(y), =>l),
                Cond::Ltu => dynasm!(a ; .arch riscv64 ; bltu X(x), X(y), =>l),
                Cond::Geu => dynasm!(a ; .arch riscv64 ; bgeu X(x), X(y), =>l),
            }
        }
        RvInsn::Jal { rd, .. } => dynasm!(a ; .arch riscv64 ; jal X(rd.num()), =>l),
        // dynasm's `jump`/`call` pair auipc and jalr correctly; a jalr with its own label
        // relocation would be relative to the jalr, 4 bytes off.
        RvInsn::FarJump { tmp, .. } => dynasm!(a ; .arch riscv64 ; jump =>l, X(tmp.num())),
        RvInsn::FarCall { rd, .. } => dynasm!(a ; .arch riscv64 ; call X(rd.num()), =>l),
        _ => unreachable!("not a jump"),
    }
}

fn encode(a: &mut VecAssembler<RiscvRelocation>, insn: &RvInsn) {
    match *insn {
        RvInsn::R { op, rd, rs1, rs2 } => {
            let (d, x, y) = (rd.num(), rs1.num(), rs2.num());
            match op {
                ROp::Add => dynasm!(a ; .arch riscv64 ; add X(d), X(x), X(y)),
                ROp::Sub => dynasm!(a ; .arch riscv64 ; sub X(d), X(x), X(y)),
                ROp::Sll => dynasm!(a ; .arch riscv64 ; sll X(d), X(x), X(y)),
                ROp::Slt => dynasm!(a ; .arch riscv64 ; slt X(d), X(x), X(y)),
                ROp::Sltu => dynasm!(a ; .arch riscv64 ; sltu X(d), X(x), X(y)),
                ROp::Xor => dynasm!(a ; .arch riscv64 ; xor X(d), X(x), X(y)),
                ROp::Srl => dynasm!(a ; .arch riscv64 ; srl X(d), X(x), X(y)),
                ROp::Sra => dynasm!(a ; .arch riscv64 ; sra X(d), X(x), X(y)),
                ROp::Or => dynasm!(a ; .arch riscv64 ; or X(d), X(x), X(y)),
                ROp::And => dynasm!(a ; .arch riscv64 ; and X(d), X(x), X(y)),
                ROp::Addw => dynasm!(a ; .arch riscv64 ; addw X(d), X(x), X(y)),
                ROp::Subw => dynasm!(a ; .arch riscv64 ; subw X(d), X(x), X(y)),
                ROp::Sllw => dynasm!(a ; .arch riscv64 ; sllw X(d), X(x), X(y)),
                ROp::Srlw => dynasm!(a ; .arch riscv64 ; srlw X(d), X(x), X(y)),
                ROp::Sraw => dynasm!(a ; .arch riscv64 ; sraw X(d), X(x), X(y)),
                ROp::Mul => dynasm!(a ; .arch riscv64 ; .feature M ; mul X(d), X(x), X(y)),
                ROp::Div => dynasm!(a ; .arch riscv64 ; .feature M ; div X(d), X(x), X(y)),
                ROp::Divu => dynasm!(a ; .arch riscv64 ; .feature M ; divu X(d), X(x), X(y)),
                ROp::Rem => dynasm!(a ; .arch riscv64 ; .feature M ; rem X(d), X(x), X(y)),
                ROp::Remu => dynasm!(a ; .arch riscv64 ; .feature M ; remu X(d), X(x), X(y)),
                ROp::Mulw => dynasm!(a ; .arch riscv64 ; .feature M ; mulw X(d), X(x), X(y)),
                ROp::Divw => dynasm!(a ; .arch riscv64 ; .feature M ; divw X(d), X(x), X(y)),
                ROp::Divuw => dynasm!(a ; .arch riscv64 ; .feature M ; divuw X(d), X(x), X(y)),
                ROp::Remw => dynasm!(a ; .arch riscv64 ; .feature M ; remw X(d), X(x), X(y)),
                ROp::Remuw => dynasm!(a ; .arch riscv64 ; .feature M ; remuw X(d), X(x), X(y)),
                ROp::AddUw => dynasm!(a ; .arch riscv64 ; .feature Zba ; add.uw X(d), X(x), X(y)),
            }
        }
        RvInsn::I { op, rd, rs1, imm } => {
            let (d, x, v) = (rd.num(), rs1.num(), imm.get());
            match op {
                IOp::Addi => dynasm!(a ; .arch riscv64 ; addi X(d), X(x), v),
                IOp::Slti => dynasm!(a ; .arch riscv64 ; slti X(d), X(x), v),
                IOp::Sltiu => dynasm!(a ; .arch riscv64 ; sltiu X(d), X(x), v),
                IOp::Xori => dynasm!(a ; .arch riscv64 ; xori X(d), X(x), v),
                IOp::Ori => dynasm!(a ; .arch riscv64 ; ori X(d), X(x), v),
                IOp::Andi => dynasm!(a ; .arch riscv64 ; andi X(d), X(x), v),
                IOp::Addiw => dynasm!(a ; .arch riscv64 ; addiw X(d), X(x), v),
            }
        }
        RvInsn::Sh { op, rd, rs1, sh } => {
            let (d, x, s) = (rd.num(), rs1.num(), sh.get());
            match op {
                ShOp::Slli => dynasm!(a ; .arch riscv64 ; slli X(d), X(x), s),
                ShOp::Srli => dynasm!(a ; .arch riscv64 ; srli X(d), X(x), s),
                ShOp::Srai => dynasm!(a ; .arch riscv64 ; srai X(d), X(x), s),
            }
        }
        RvInsn::ShW { op, rd, rs1, sh } => {
            let (d, x, s) = (rd.num(), rs1.num(), sh.get());
            match op {
                ShOp::Slli => dynasm!(a ; .arch riscv64 ; slliw X(d), X(x), s),
                ShOp::Srli => dynasm!(a ; .arch riscv64 ; srliw X(d), X(x), s),
                ShOp::Srai => dynasm!(a ; .arch riscv64 ; sraiw X(d), X(x), s),
            }
        }
        RvInsn::Un { op, rd, rs1 } => {
            let (d, x) = (rd.num(), rs1.num());
            match op {
                UnOp::SextB => dynasm!(a ; .arch riscv64 ; .feature Zbb ; sext.b X(d), X(x)),
                UnOp::SextH => dynasm!(a ; .arch riscv64 ; .feature Zbb ; sext.h X(d), X(x)),
                UnOp::ZextH => dynasm!(a ; .arch riscv64 ; .feature Zbb ; zext.h X(d), X(x)),
                UnOp::Rev8 => dynasm!(a ; .arch riscv64 ; .feature Zbb ; rev8 X(d), X(x)),
            }
        }
        // dynasm takes lui's full value (field << 12).
        RvInsn::Lui { rd, imm } => dynasm!(a ; .arch riscv64 ; lui X(rd.num()), imm.get() << 12),
        RvInsn::Load { op, rd, base, off } => {
            let (d, b, o) = (rd.num(), base.num(), off.get());
            match op {
                LoadOp::Lb => dynasm!(a ; .arch riscv64 ; lb X(d), [X(b), o]),
                LoadOp::Lh => dynasm!(a ; .arch riscv64 ; lh X(d), [X(b), o]),
                LoadOp::Lw => dynasm!(a ; .arch riscv64 ; lw X(d), [X(b), o]),
                LoadOp::Ld => dynasm!(a ; .arch riscv64 ; ld X(d), [X(b), o]),
                LoadOp::Lbu => dynasm!(a ; .arch riscv64 ; lbu X(d), [X(b), o]),
                LoadOp::Lhu => dynasm!(a ; .arch riscv64 ; lhu X(d), [X(b), o]),
                LoadOp::Lwu => dynasm!(a ; .arch riscv64 ; lwu X(d), [X(b), o]),
            }
        }
        RvInsn::Store { op, src, base, off } => {
            let (s, b, o) = (src.num(), base.num(), off.get());
            match op {
                StoreOp::Sb => dynasm!(a ; .arch riscv64 ; sb X(s), [X(b), o]),
                StoreOp::Sh => dynasm!(a ; .arch riscv64 ; sh X(s), [X(b), o]),
                StoreOp::Sw => dynasm!(a ; .arch riscv64 ; sw X(s), [X(b), o]),
                StoreOp::Sd => dynasm!(a ; .arch riscv64 ; sd X(s), [X(b), o]),
            }
        }
        RvInsn::Jalr { rd, rs1, off } => dynasm!(a ; .arch riscv64 ; jalr X(rd.num()), X(rs1.num()), off.get()),
        RvInsn::Auipc { rd, imm } => dynasm!(a ; .arch riscv64 ; auipc X(rd.num()), imm.get() << 12),
        RvInsn::Amo { op, width, rd, src, addr } => {
            let (d, s, x) = (rd.num(), src.num(), addr.num());
            match (op, width) {
                (AmoOp::Add, AmoWidth::W) => dynasm!(a ; .arch riscv64 ; .feature A ; amoadd.w.aqrl X(d), X(s), [X(x)]),
                (AmoOp::Add, AmoWidth::D) => dynasm!(a ; .arch riscv64 ; .feature A ; amoadd.d.aqrl X(d), X(s), [X(x)]),
                (AmoOp::Or, AmoWidth::W) => dynasm!(a ; .arch riscv64 ; .feature A ; amoor.w.aqrl X(d), X(s), [X(x)]),
                (AmoOp::Or, AmoWidth::D) => dynasm!(a ; .arch riscv64 ; .feature A ; amoor.d.aqrl X(d), X(s), [X(x)]),
                (AmoOp::And, AmoWidth::W) => dynasm!(a ; .arch riscv64 ; .feature A ; amoand.w.aqrl X(d), X(s), [X(x)]),
                (AmoOp::And, AmoWidth::D) => dynasm!(a ; .arch riscv64 ; .feature A ; amoand.d.aqrl X(d), X(s), [X(x)]),
                (AmoOp::Xor, AmoWidth::W) => dynasm!(a ; .arch riscv64 ; .feature A ; amoxor.w.aqrl X(d), X(s), [X(x)]),
                (AmoOp::Xor, AmoWidth::D) => dynasm!(a ; .arch riscv64 ; .feature A ; amoxor.d.aqrl X(d), X(s), [X(x)]),
                (AmoOp::Swap, AmoWidth::W) => dynasm!(a ; .arch riscv64 ; .feature A ; amoswap.w.aqrl X(d), X(s), [X(x)]),
                (AmoOp::Swap, AmoWidth::D) => dynasm!(a ; .arch riscv64 ; .feature A ; amoswap.d.aqrl X(d), X(s), [X(x)]),
            }
        }
        RvInsn::Lr { width, rd, addr } => match width {
            AmoWidth::W => dynasm!(a ; .arch riscv64 ; .feature A ; lr.w.aqrl X(rd.num()), [X(addr.num())]),
            AmoWidth::D => dynasm!(a ; .arch riscv64 ; .feature A ; lr.d.aqrl X(rd.num()), [X(addr.num())]),
        },
        RvInsn::Sc { width, rd, src, addr } => match width {
            AmoWidth::W => dynasm!(a ; .arch riscv64 ; .feature A ; sc.w.aqrl X(rd.num()), X(src.num()), [X(addr.num())]),
            AmoWidth::D => dynasm!(a ; .arch riscv64 ; .feature A ; sc.d.aqrl X(rd.num()), X(src.num()), [X(addr.num())]),
        },
        RvInsn::Branch { .. } | RvInsn::Jal { .. } | RvInsn::FarJump { .. } | RvInsn::FarCall { .. } => unreachable!("jumps go through encode_jump"),
    }
}

/// One line of a listing: code offset, the instruction word, its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub offset: usize,
    pub word: u32,
    pub text: String,
}

/// An image's listing: its lines in code order, and which of them are the header's and
/// each BPF instruction's (ranges of `lines`, in the order of [`Image::insns`]).
pub struct Listing {
    pub lines: Vec<Line>,
    pub header: Range<usize>,
    pub insns: Vec<Range<usize>>,
}

impl Image {
    /// Where BPF slot `pc`'s code starts (`insns` is in slot order: a binary search).
    pub fn pc_offset(&self, pc: usize) -> Option<usize> {
        self.insns.binary_search_by_key(&pc, |(p, _, _)| *p).ok().map(|k| self.insns[k].2.start)
    }

    /// The BPF slot whose code contains code offset `off` (the ranges are in code order
    /// and tile the body: a binary search).
    pub fn slot_at(&self, off: usize) -> Option<usize> {
        let k = self.insns.partition_point(|(_, _, r)| r.end <= off);
        self.insns.get(k).filter(|(_, _, r)| r.contains(&off)).map(|(pc, _, _)| *pc)
    }

    /// The code as `llvm-objdump -d -M no-aliases` prints it, from rvbpf's own
    /// instructions (not by decoding the bytes): branch targets resolved to offsets.
    pub fn listing(&self) -> Vec<Line> {
        self.listing_by_insn().lines
    }

    /// [`Image::listing`] with the lines of the header and of each BPF instruction found:
    /// one pass over the code, so linear in the program's size.
    pub fn listing_by_insn(&self) -> Listing {
        let mut out = Vec::new();
        // Code offset of each slot, found once.
        let slots = self.insns.last().map_or(0, |(pc, _, _)| pc + 2);
        let mut offset_of = vec![usize::MAX; slots];
        for (pc, _, r) in &self.insns {
            offset_of[*pc] = r.start;
        }
        let part = |list: &[RvInsn], start: usize, out: &mut Vec<Line>| {
            let mut at = start;
            for insn in list {
                let word = |k: usize| u32::from_le_bytes(self.code[k..k + 4].try_into().expect("4 bytes"));
                let dest = |t: Target, from: usize| match t {
                    Target::Pc(p) => offset_of[p],
                    Target::Abort => self.abort,
                    Target::DepthStop => self.depth,
                    Target::Skip(s) => from.wrapping_add_signed(s.bytes() as isize),
                };
                match *insn {
                    RvInsn::Branch { cond, rs1, rs2, target } => {
                        out.push(Line { offset: at, word: word(at), text: format!("{} {rs1}, {rs2}, {:#x}", cond_name(cond), dest(target, at)) });
                    }
                    RvInsn::Jal { rd, target } => out.push(Line { offset: at, word: word(at), text: format!("jal {rd}, {:#x}", dest(target, at)) }),
                    RvInsn::FarJump { tmp: reg, target } | RvInsn::FarCall { rd: reg, target } => {
                        let disp = dest(target, at) as i64 - at as i64;
                        let lo = ((disp & 0xfff) ^ 0x800) - 0x800;
                        let hi = ((disp - lo) >> 12) & 0xfffff;
                        let link = if matches!(insn, RvInsn::FarCall { .. }) { reg } else { XReg::ZERO };
                        out.push(Line { offset: at, word: word(at), text: format!("auipc {reg}, {hi:#x}") });
                        out.push(Line { offset: at + 4, word: word(at + 4), text: format!("jalr {link}, {}({reg})", Hex(lo)) });
                    }
                    _ => out.push(Line { offset: at, word: word(at), text: insn.to_string() }),
                }
                at += 4 * insn.words();
            }
        };
        part(&lower::header().insns, self.header.start, &mut out);
        let header = 0..out.len();
        let mut insns = Vec::with_capacity(self.insns.len());
        for (_, list, range) in &self.insns {
            let first = out.len();
            part(list, range.start, &mut out);
            insns.push(first..out.len());
        }
        Listing { lines: out, header, insns }
    }

    /// (BPF instructions, RV64 instructions) per BPF instruction class, indexed by the
    /// class bits of the opcode ([`CLASS_NAMES`]). `prog` is the program compiled.
    pub fn per_class(&self, prog: &Program) -> [(usize, usize); 8] {
        let mut out = [(0, 0); 8];
        for ((_, insn), (_, list, _)) in prog.iter().zip(&self.insns) {
            let class = (crate::isa::encode_all(core::slice::from_ref(insn))[0] & 7) as usize;
            out[class].0 += 1;
            out[class].1 += list.iter().map(|i| i.words()).sum::<usize>();
        }
        out
    }

    /// RV64 instructions in the body (the header excluded).
    pub fn body_insns(&self) -> usize {
        self.insns.iter().map(|(_, l, _)| l.iter().map(|i| i.words()).sum::<usize>()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of the listing falls under the part whose code holds it: the header's
    /// in the header, each BPF instruction's in its code range, which its lines fill.
    #[test]
    fn the_listing_finds_each_line_under_its_instruction() {
        let src = "lddw %r1, 0x123456789\nmov32 %r2, 7\njlt %r1, %r2, +2\nlsh32 %r2, 3\nstxdw [%r10-8], %r1\nldxdw %r0, [%r10-8]\nadd32 %r0, %r2\nexit";
        let prog = Program::new(crate::isa::asm::assemble(src).unwrap()).unwrap();
        let img = compile(&prog, Ext::default()).unwrap();
        let l = img.listing_by_insn();
        assert_eq!(l.insns.len(), img.insns.len());
        let within = |lines: &[Line], code: &Range<usize>| {
            let words: Vec<usize> = lines.iter().map(|x| x.offset).collect();
            words == (code.start..code.end).step_by(4).collect::<Vec<_>>()
        };
        assert!(within(&l.lines[l.header.clone()], &img.header), "header");
        for (lines, (pc, _, code)) in l.insns.iter().zip(&img.insns) {
            assert!(within(&l.lines[lines.clone()], code), "slot {pc}: lines {:?} for code {code:?}", &l.lines[lines.clone()].iter().map(|x| x.offset).collect::<Vec<_>>());
        }
        assert_eq!(l.lines.len(), img.code.len() / 4, "every word listed once");
    }
}
