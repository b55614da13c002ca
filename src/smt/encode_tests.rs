//! The JIT's encoder (dynasmrt) checked against the checker's own decoder: for every
//! `RvInsn` form, the bytes decode to the same instruction — exhaustively over every
//! register field and every 12-bit immediate, every `lui`/`auipc` field, every branch
//! displacement the sizing passes allow, and `jal` and `auipc`+`jalr` displacements at
//! their boundaries plus 10^5 random ones each.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::decode::decode;
use crate::isa::test_rng::Rng;
use crate::jit::rv64::emit::{encode_around, encode_one};
use crate::jit::rv64::insn::*;

fn x(n: u32) -> XReg {
    XReg::new((n % 32) as u8).unwrap()
}

/// What a word must decode to: mnemonic, rd, rs1, rs2, imm, ordering bits.
type Want = (String, u8, u8, u8, i64, bool);

fn check(words: &[u32], want: &[Want], what: &dyn Fn() -> String) -> Result<(), String> {
    if words.len() != want.len() {
        return Err(format!("{}: {} words, expected {}", what(), words.len(), want.len()));
    }
    for (w, (m, rd, rs1, rs2, imm, ord)) in words.iter().zip(want) {
        let d = decode(*w).map_err(|e| format!("{}: {e}", what()))?;
        let got = (String::from(d.op.mnemonic()), d.rd, d.rs1, d.rs2, d.imm, d.aq && d.rl);
        if got != (m.clone(), *rd, *rs1, *rs2, *imm, *ord) {
            return Err(format!("{}: word {w:#010x} decodes to {got:?}, expected {:?}", what(), (m, rd, rs1, rs2, imm, ord)));
        }
    }
    Ok(())
}

/// The decoding an instruction without a label must have.
fn want(insn: &RvInsn) -> Vec<Want> {
    use RvInsn::*;
    let s = |m: &str| String::from(m);
    let n = |r: XReg| r.num();
    alloc::vec![match *insn {
        R { op, rd, rs1, rs2 } => (s(rop_name(op)), n(rd), n(rs1), n(rs2), 0, false),
        I { op, rd, rs1, imm } => (s(iop_name(op)), n(rd), n(rs1), 0, imm.get() as i64, false),
        Sh { op, rd, rs1, sh } => (s(shop_name(op, false)), n(rd), n(rs1), 0, sh.get() as i64, false),
        ShW { op, rd, rs1, sh } => (s(shop_name(op, true)), n(rd), n(rs1), 0, sh.get() as i64, false),
        Un { op, rd, rs1 } => (s(unop_name(op)), n(rd), n(rs1), 0, 0, false),
        Lui { rd, imm } => (s("lui"), n(rd), 0, 0, (imm.get() as i64) << 12, false),
        Auipc { rd, imm } => (s("auipc"), n(rd), 0, 0, (imm.get() as i64) << 12, false),
        Load { op, rd, base, off } => (s(load_name(op)), n(rd), n(base), 0, off.get() as i64, false),
        Store { op, src, base, off } => (s(store_name(op)), 0, n(base), n(src), off.get() as i64, false),
        Jalr { rd, rs1, off } => (s("jalr"), n(rd), n(rs1), 0, off.get() as i64, false),
        Amo { op, width, rd, src, addr } => (format!("{}.{}", amo_name(op), width_name(width)), n(rd), n(addr), n(src), 0, true),
        Lr { width, rd, addr } => (format!("lr.{}", width_name(width)), n(rd), n(addr), 0, 0, true),
        Sc { width, rd, src, addr } => (format!("sc.{}", width_name(width)), n(rd), n(addr), n(src), 0, true),
        Branch { .. } | Jal { .. } | FarJump { .. } | FarCall { .. } => unreachable!("jumps are checked with their displacement"),
    }]
}

/// The decoding of a jump whose target is `disp` bytes from its first byte.
fn want_jump(insn: &RvInsn, disp: i64) -> Vec<Want> {
    let s = String::from;
    let (hi, lo) = {
        let lo = ((disp & 0xfff) ^ 0x800) - 0x800;
        // auipc's field is 20 bits, sign-extended from bit 31.
        ((((disp - lo) as i32) as i64), lo)
    };
    match *insn {
        RvInsn::Branch { cond, rs1, rs2, .. } => alloc::vec![(s(cond_name(cond)), 0, rs1.num(), rs2.num(), disp, false)],
        RvInsn::Jal { rd, .. } => alloc::vec![(s("jal"), rd.num(), 0, 0, disp, false)],
        RvInsn::FarJump { tmp, .. } => alloc::vec![(s("auipc"), tmp.num(), 0, 0, hi, false), (s("jalr"), 0, tmp.num(), 0, lo, false)],
        RvInsn::FarCall { rd, .. } => alloc::vec![(s("auipc"), rd.num(), 0, 0, hi, false), (s("jalr"), rd.num(), rd.num(), 0, lo, false)],
        _ => unreachable!("not a jump"),
    }
}

fn width_name(w: AmoWidth) -> &'static str {
    match w {
        AmoWidth::W => "w",
        AmoWidth::D => "d",
    }
}

/// Encodes and checks each instruction; returns how many.
fn sweep(insns: impl Iterator<Item = RvInsn>) -> usize {
    let mut n = 0;
    for insn in insns {
        let words = encode_one(&insn).unwrap_or_else(|e| panic!("{insn:?}: {e}"));
        if let Err(e) = check(&words, &want(&insn), &|| format!("{insn:?}")) {
            panic!("{e}");
        }
        n += 1;
    }
    n
}

const ROPS: [ROp; 26] = [
    ROp::Add, ROp::Sub, ROp::Sll, ROp::Slt, ROp::Sltu, ROp::Xor, ROp::Srl, ROp::Sra, ROp::Or, ROp::And, ROp::Addw, ROp::Subw, ROp::Sllw, ROp::Srlw, ROp::Sraw, ROp::Mul, ROp::Div,
    ROp::Divu, ROp::Rem, ROp::Remu, ROp::Mulw, ROp::Divw, ROp::Divuw, ROp::Remw, ROp::Remuw, ROp::AddUw,
];
const IOPS: [IOp; 7] = [IOp::Addi, IOp::Slti, IOp::Sltiu, IOp::Xori, IOp::Ori, IOp::Andi, IOp::Addiw];
const LOADS: [LoadOp; 7] = [LoadOp::Lb, LoadOp::Lh, LoadOp::Lw, LoadOp::Ld, LoadOp::Lbu, LoadOp::Lhu, LoadOp::Lwu];
const STORES: [StoreOp; 4] = [StoreOp::Sb, StoreOp::Sh, StoreOp::Sw, StoreOp::Sd];
const CONDS: [Cond; 6] = [Cond::Eq, Cond::Ne, Cond::Lt, Cond::Ge, Cond::Ltu, Cond::Geu];
const SHOPS: [ShOp; 3] = [ShOp::Slli, ShOp::Srli, ShOp::Srai];

/// Every (a, b) register pair, and every 12-bit immediate with the pairs rotating.
fn pairs_and_imm12() -> impl Iterator<Item = (XReg, XReg, Imm12)> {
    let pairs = (0..1024u32).flat_map(|p| [0i64, 1, -1, 2047, -2048].map(move |v| (x(p), x(p / 32), Imm12::new(v).unwrap())));
    let imms = (-2048..2048i64).map(|v| (x((v as u32).wrapping_mul(7)), x((v as u32).wrapping_mul(13).wrapping_add(5)), Imm12::new(v).unwrap()));
    pairs.chain(imms)
}

#[test]
fn register_forms_encode_as_the_decoder_reads_them_for_every_register_triple() {
    let n = sweep(ROPS.iter().flat_map(|&op| (0..32768u32).map(move |k| RvInsn::R { op, rd: x(k), rs1: x(k / 32), rs2: x(k / 1024) })));
    let n = n + sweep(
        [UnOp::SextB, UnOp::SextH, UnOp::ZextH, UnOp::Rev8].iter().flat_map(|&op| (0..1024u32).map(move |k| RvInsn::Un { op, rd: x(k), rs1: x(k / 32) })),
    );
    assert_eq!(n, 26 * 32768 + 4 * 1024);
}

#[test]
fn immediate_forms_encode_every_register_pair_and_every_12_bit_immediate() {
    let mut n = 0;
    for op in IOPS {
        n += sweep(pairs_and_imm12().map(|(rd, rs1, imm)| RvInsn::I { op, rd, rs1, imm }));
    }
    for op in LOADS {
        n += sweep(pairs_and_imm12().map(|(rd, base, off)| RvInsn::Load { op, rd, base, off }));
    }
    for op in STORES {
        n += sweep(pairs_and_imm12().map(|(src, base, off)| RvInsn::Store { op, src, base, off }));
    }
    n += sweep(pairs_and_imm12().map(|(rd, rs1, off)| RvInsn::Jalr { rd, rs1, off }));
    for op in SHOPS {
        n += sweep((0..1024 * 64u32).map(|k| RvInsn::Sh { op, rd: x(k), rs1: x(k / 32), sh: Shamt6::new(k / 1024).unwrap() }));
        n += sweep((0..1024 * 32u32).map(|k| RvInsn::ShW { op, rd: x(k), rs1: x(k / 32), sh: Shamt5::new(k / 1024).unwrap() }));
    }
    assert_eq!(n, 19 * (1024 * 5 + 4096) + 3 * 1024 * 96);
}

#[test]
fn upper_immediates_encode_every_20_bit_field() {
    let fields = (-(1i64 << 19)..(1 << 19)).map(|v| (x(v as u32), Imm20::new(v).unwrap()));
    let n = sweep(fields.clone().map(|(rd, imm)| RvInsn::Lui { rd, imm })) + sweep(fields.map(|(rd, imm)| RvInsn::Auipc { rd, imm }));
    assert_eq!(n, 2 << 20);
}

#[test]
fn atomics_encode_every_register_triple_with_both_ordering_bits() {
    let ops = [AmoOp::Add, AmoOp::Or, AmoOp::And, AmoOp::Xor, AmoOp::Swap];
    let mut n = 0;
    for width in [AmoWidth::W, AmoWidth::D] {
        for op in ops {
            n += sweep((0..32768u32).map(|k| RvInsn::Amo { op, width, rd: x(k), src: x(k / 32), addr: x(k / 1024) }));
        }
        n += sweep((0..32768u32).map(|k| RvInsn::Sc { width, rd: x(k), src: x(k / 32), addr: x(k / 1024) }));
        n += sweep((0..1024u32).map(|k| RvInsn::Lr { width, rd: x(k), addr: x(k / 32) }));
    }
    assert_eq!(n, 2 * (6 * 32768 + 1024));
}


/// Places `make(k)` at each of `offsets` (bytes from a buffer whose label is at `label`)
/// in one assembly and checks each one's displacement.
fn sweep_jumps(label: usize, offsets: &[usize], make: impl Fn(usize) -> RvInsn) -> usize {
    let insns: Vec<(usize, RvInsn)> = offsets.iter().enumerate().map(|(k, &at)| (at, make(k))).collect();
    let len = offsets.last().map_or(label, |&o| o + 8).max(label + 4);
    let code = encode_around(label, &insns, len).unwrap_or_else(|e| panic!("{e}"));
    for (at, insn) in &insns {
        let words: Vec<u32> = code[*at..*at + 4 * insn.words()].chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
        let disp = label as i64 - *at as i64;
        if let Err(e) = check(&words, &want_jump(insn, disp), &|| format!("{insn:?} over {disp}")) {
            panic!("{e}");
        }
    }
    insns.len()
}

/// Word-aligned offsets around `label` within `reach` bytes either way, every `step`
/// (instructions of `size` bytes must not overlap the label or each other).
fn around(label: usize, reach: usize, picks: impl Iterator<Item = i64>, size: usize) -> Vec<usize> {
    let mut v: Vec<usize> = picks.map(|d| (label as i64 - d) as usize).filter(|&at| at + size <= label || at >= label + 4).filter(|&at| at % 4 == 0 && at + reach >= label && at <= label + reach).collect();
    v.sort_unstable();
    v.dedup();
    // Far jumps are 8 bytes: keep only those that do not overlap the previous one.
    let mut last = None;
    v.retain(|&at| {
        let ok = last.is_none_or(|l: usize| at >= l + size);
        if ok {
            last = Some(at);
        }
        ok
    });
    v
}

#[test]
fn branches_encode_every_displacement_the_sizing_passes_allow() {
    // The sizing passes give a branch ±2 KiB (dynasm-rs's reach for its B relocation).
    let label = 4096;
    let offs = around(label, 2048, -2048..2048, 4);
    let mut n = 0;
    for cond in CONDS {
        n += sweep_jumps(label, &offs, |k| RvInsn::Branch { cond, rs1: x(k as u32), rs2: x(k as u32 / 32 + 3), target: Target::Pc(0) });
    }
    assert!(n >= 6 * 1020, "{n}");
    // Skips inside one instruction's code: every one lowering can make.
    let skips = (1..=15).map(Skip::insns).chain((1..=15).map(Skip::back));
    let m = sweep_skips(skips);
    assert_eq!(m, 6 * 30 * 32);
}

fn sweep_skips(skips: impl Iterator<Item = Skip> + Clone) -> usize {
    let mut n = 0;
    for cond in CONDS {
        for s in skips.clone() {
            for k in 0..32u32 {
                let insn = RvInsn::Branch { cond, rs1: x(k), rs2: x(31 - k), target: Target::Skip(s) };
                let words = encode_one(&insn).unwrap();
                check(&words, &want_jump(&insn, s.bytes() as i64), &|| format!("{insn:?}")).unwrap();
                n += 1;
            }
        }
    }
    n
}

#[test]
fn jal_and_far_jumps_encode_their_boundaries_and_random_displacements() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    // jal: dynasm-rs's J relocation reaches ±512 KiB.
    let reach = 512 * 1024;
    let label = reach + 8;
    let bounds = [-(reach as i64), -(reach as i64) + 4, -4, 4, 8, reach as i64 - 4, reach as i64 - 8, 2048, -2048, 2044, -2052, 4096, -4096];
    let random: Vec<i64> = (0..100_000).map(|_| 4 * (rng.next() % (reach as u64 / 2)) as i64 - reach as i64).collect();
    let offs = around(label, reach, bounds.iter().copied().chain(random.iter().copied()), 4);
    let n = sweep_jumps(label, &offs, |k| RvInsn::Jal { rd: x(k as u32), target: Target::Pc(0) });
    // 10^5 random picks in 2^18 word slots: about 80,000 distinct.
    assert!(n > 75_000, "{n}");
    // auipc+jalr: the split of the displacement at every 4 KiB boundary (the low part's
    // sign flips at 0x800), over ±4 MiB.
    let reach = 4 << 20;
    let label = reach + 16;
    let mut picks: Vec<i64> = Vec::new();
    for k in -1024i64..1024 {
        for d in [-8, -4, 0, 4, 8] {
            picks.push(k * 4096 + 0x800 + d);
        }
    }
    picks.extend((0..100_000).map(|_| 4 * (rng.next() % (reach as u64 / 2)) as i64 - reach as i64));
    let offs = around(label, reach, picks.into_iter(), 8);
    let n = sweep_jumps(label, &offs, |k| RvInsn::FarJump { tmp: x(k as u32 % 31 + 1), target: Target::Pc(0) });
    let m = sweep_jumps(label, &offs, |k| RvInsn::FarCall { rd: x(k as u32 % 31 + 1), target: Target::Pc(0) });
    assert!(n > 50_000 && m == n, "{n} {m}");
}
