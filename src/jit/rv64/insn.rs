//! Typed RV64 instructions: what lowering produces and emission encodes. Registers and
//! immediates are newtypes that cannot hold a value the instruction cannot encode, so an
//! `RvInsn` always has an encoding and emission never fails on a field.

use core::fmt;

pub use super::repr::{Concrete, MapImms, Repr};

/// A RISC-V integer register, x0–x31 (`XReg`, as Cranelift names it: not a BPF register).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct XReg(u8);

impl XReg {
    pub const ZERO: XReg = XReg(0);
    pub const RA: XReg = XReg(1);
    pub const SP: XReg = XReg(2);
    pub const T0: XReg = XReg(5);
    pub const T1: XReg = XReg(6);
    pub const T2: XReg = XReg(7);
    pub const S0: XReg = XReg(8);
    pub const S1: XReg = XReg(9);
    pub const A0: XReg = XReg(10);
    pub const A1: XReg = XReg(11);
    pub const A2: XReg = XReg(12);
    pub const A3: XReg = XReg(13);
    pub const A4: XReg = XReg(14);
    pub const A5: XReg = XReg(15);
    pub const A6: XReg = XReg(16);
    pub const A7: XReg = XReg(17);
    pub const S2: XReg = XReg(18);
    pub const S3: XReg = XReg(19);
    pub const S4: XReg = XReg(20);
    pub const S5: XReg = XReg(21);
    pub const S6: XReg = XReg(22);
    pub const S7: XReg = XReg(23);
    pub const S8: XReg = XReg(24);
    pub const S9: XReg = XReg(25);
    pub const T3: XReg = XReg(28);

    pub const fn new(n: u8) -> Option<XReg> {
        if n < 32 {
            Some(XReg(n))
        } else {
            None
        }
    }
    pub const fn num(self) -> u8 {
        self.0
    }
    /// The ABI name, as disassemblers print it.
    pub fn name(self) -> &'static str {
        const NAMES: [&str; 32] = [
            "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9",
            "s10", "s11", "t3", "t4", "t5", "t6",
        ];
        NAMES[self.0 as usize]
    }
}

impl fmt::Display for XReg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A signed 12-bit immediate (I- and S-type), −2048..=2047.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Imm12(i16);

impl Imm12 {
    pub const ZERO: Imm12 = Imm12(0);
    pub const fn new(v: i64) -> Option<Imm12> {
        if v >= -2048 && v <= 2047 {
            Some(Imm12(v as i16))
        } else {
            None
        }
    }
    /// The low 12 bits of `v`, sign-extended (always encodable).
    pub const fn wrap(v: i64) -> Imm12 {
        Imm12((((v & 0xfff) ^ 0x800) - 0x800) as i16)
    }
    /// A literal the code fixes (a frame offset, `1`, `-1`): used in `const` items, so an
    /// out-of-range literal stops the build.
    pub const fn lit(v: i64) -> Imm12 {
        match Imm12::new(v) {
            Some(i) => i,
            None => panic!("12-bit immediate out of range"),
        }
    }
    pub const fn get(self) -> i32 {
        self.0 as i32
    }
}

/// The 20-bit field of `lui`/`auipc`, as a signed number −2^19..2^19: the instruction
/// puts `field << 12`, sign-extended from bit 31, in the register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Imm20(i32);

impl Imm20 {
    pub const ZERO: Imm20 = Imm20(0);
    /// The low 20 bits of `v` as the field (always encodable: `lui` and `auipc` wrap).
    pub const fn wrap(v: i64) -> Imm20 {
        Imm20((((v & 0xfffff) ^ 0x80000) - 0x80000) as i32)
    }
    pub const fn new(v: i64) -> Option<Imm20> {
        if v >= -(1 << 19) && v < (1 << 19) {
            Some(Imm20(v as i32))
        } else {
            None
        }
    }
    pub const fn get(self) -> i32 {
        self.0
    }
}

/// Values as numbers, fields as the typed immediates the emitter encodes.
impl Repr for Concrete {
    type V = i64;
    type B = bool;
    type I12 = Imm12;
    type I20 = Imm20;
    type Sh6 = Shamt6;
    type Sh5 = Shamt5;

    fn lit(v: i64) -> i64 {
        v
    }
    fn sub(a: i64, b: i64) -> i64 {
        a.wrapping_sub(b)
    }
    fn sar(a: i64, n: u32) -> i64 {
        a >> n
    }
    fn i12(v: i64) -> Imm12 {
        Imm12::wrap(v)
    }
    fn of12(i: Imm12) -> i64 {
        i.get() as i64
    }
    fn i20(v: i64) -> Imm20 {
        Imm20::wrap(v)
    }
    fn sh6(v: i64) -> Shamt6 {
        Shamt6::masked(v as i32)
    }
    fn sh5(v: i64) -> Shamt5 {
        Shamt5::masked(v as i32)
    }
    fn same(a: i64, b: i64) -> bool {
        a == b
    }
    fn truth(b: bool) -> bool {
        b
    }
    fn and(a: bool, b: bool) -> bool {
        a && b
    }
    fn or(a: bool, b: bool) -> bool {
        a || b
    }
    fn not(a: bool) -> bool {
        !a
    }
}

/// A 64-bit shift amount, 0..=63.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shamt6(u8);

impl Shamt6 {
    pub const fn new(v: u32) -> Option<Shamt6> {
        if v < 64 {
            Some(Shamt6(v as u8))
        } else {
            None
        }
    }
    /// `v & 63`: BPF masks 64-bit shift amounts.
    pub const fn masked(v: i32) -> Shamt6 {
        Shamt6((v & 63) as u8)
    }
    pub const fn get(self) -> u32 {
        self.0 as u32
    }
}

/// A 32-bit shift amount, 0..=31 (the `*w` shifts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shamt5(u8);

impl Shamt5 {
    pub const fn new(v: u32) -> Option<Shamt5> {
        if v < 32 {
            Some(Shamt5(v as u8))
        } else {
            None
        }
    }
    /// `v & 31`: BPF masks 32-bit shift amounts.
    pub const fn masked(v: i32) -> Shamt5 {
        Shamt5((v & 31) as u8)
    }
    pub const fn get(self) -> u32 {
        self.0 as u32
    }
}

/// A fixed byte offset inside one BPF instruction's own code (a multiple of 4, -60..=64):
/// forward over a few instructions, or back to the start of a retry loop. Unlike targets
/// that are BPF instructions, it never depends on the rest of the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skip(i8);

impl Skip {
    /// Skips `n` (1..=15) instructions after the branch itself.
    pub const fn insns(n: u8) -> Skip {
        assert!(n >= 1 && n <= 15);
        Skip(4 * (n as i8 + 1))
    }
    /// Goes back to the instruction `n` (1..=15) before the branch.
    pub const fn back(n: u8) -> Skip {
        assert!(n >= 1 && n <= 15);
        Skip(-4 * n as i8)
    }
    pub const fn bytes(self) -> i32 {
        self.0 as i32
    }
}

/// Where a branch or jump goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The code of BPF instruction slot `pc`.
    Pc(usize),
    /// The stop path: leave the program from any call depth (a helper ended the run,
    /// asked for a tail call or failed).
    Abort,
    /// The call-depth stop (a7 = the call's address), which falls into the stop path.
    DepthStop,
    /// Forward inside the current instruction's code.
    Skip(Skip),
}

/// Register-register operations (RV64I, M, and Zba/Zbb's that take two registers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ROp {
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Addw,
    Subw,
    Sllw,
    Srlw,
    Sraw,
    Mul,
    Div,
    Divu,
    Rem,
    Remu,
    Mulw,
    Divw,
    Divuw,
    Remw,
    Remuw,
    /// Zba: `rd = zext32(rs1) + rs2`.
    AddUw,
}

/// Register-immediate operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IOp {
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Addiw,
}

/// Shift-immediate operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShOp {
    Slli,
    Srli,
    Srai,
}

/// Zbb one-register operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    SextB,
    SextH,
    ZextH,
    Rev8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadOp {
    Lb,
    Lh,
    Lw,
    Ld,
    Lbu,
    Lhu,
    Lwu,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOp {
    Sb,
    Sh,
    Sw,
    Sd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    Eq,
    Ne,
    Lt,
    Ge,
    Ltu,
    Geu,
}

impl Cond {
    pub fn invert(self) -> Cond {
        match self {
            Cond::Eq => Cond::Ne,
            Cond::Ne => Cond::Eq,
            Cond::Lt => Cond::Ge,
            Cond::Ge => Cond::Lt,
            Cond::Ltu => Cond::Geu,
            Cond::Geu => Cond::Ltu,
        }
    }
}

/// Read-modify-write operations of the A extension (all emitted `.aqrl`: sequentially
/// consistent, as BPF atomics are).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmoOp {
    Add,
    Or,
    And,
    Xor,
    Swap,
}

/// Width of an A-extension access: `.w` (32 bits, sign-extending what it loads) or `.d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmoWidth {
    W,
    D,
}

impl AmoWidth {
    fn suffix(self) -> &'static str {
        match self {
            AmoWidth::W => "w",
            AmoWidth::D => "d",
        }
    }
}

/// One RV64 instruction (RV64IM plus optional Zba/Zbb; no compressed forms).
/// Generic over how its immediate fields are represented ([`Repr`]): [`Concrete`]
/// values for emission, terms for the per-shape proofs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RvInsn<M: Repr = Concrete> {
    R { op: ROp, rd: XReg, rs1: XReg, rs2: XReg },
    I { op: IOp, rd: XReg, rs1: XReg, imm: M::I12 },
    /// 64-bit shifts by an immediate.
    Sh { op: ShOp, rd: XReg, rs1: XReg, sh: M::Sh6 },
    /// 32-bit shifts by an immediate (`slliw`, `srliw`, `sraiw`).
    ShW { op: ShOp, rd: XReg, rs1: XReg, sh: M::Sh5 },
    Un { op: UnOp, rd: XReg, rs1: XReg },
    Lui { rd: XReg, imm: M::I20 },
    Load { op: LoadOp, rd: XReg, base: XReg, off: M::I12 },
    Store { op: StoreOp, src: XReg, base: XReg, off: M::I12 },
    /// A conditional branch, ±4 KiB.
    Branch { cond: Cond, rs1: XReg, rs2: XReg, target: Target },
    /// `jal rd, target`, ±1 MiB.
    Jal { rd: XReg, target: Target },
    /// `auipc tmp, hi(target)` + `jalr zero, lo(target)(tmp)`: anywhere within ±2 GiB.
    FarJump { tmp: XReg, target: Target },
    Jalr { rd: XReg, rs1: XReg, off: M::I12 },
    /// `auipc rd, imm`: rd = this instruction's address + imm << 12.
    Auipc { rd: XReg, imm: M::I20 },
    /// `amo<op>.<w>.aqrl rd, src, (addr)`: rd = old value, memory = old op src.
    Amo { op: AmoOp, width: AmoWidth, rd: XReg, src: XReg, addr: XReg },
    /// `lr.<w>.aqrl rd, (addr)`: load-reserved.
    Lr { width: AmoWidth, rd: XReg, addr: XReg },
    /// `sc.<w>.aqrl rd, src, (addr)`: store-conditional; rd = 0 on success.
    Sc { width: AmoWidth, rd: XReg, src: XReg, addr: XReg },
    /// `auipc rd, %hi; jalr rd, %lo(rd)`: a call with link register `rd` and ±2 GiB reach.
    FarCall { rd: XReg, target: Target },
}

/// The registers one instruction writes and reads. `zero` never appears: writes to it
/// are discarded and it always reads 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefsUses {
    pub def: Option<XReg>,
    pub uses: [Option<XReg>; 2],
}

impl DefsUses {
    fn of(def: Option<XReg>, uses: [Option<XReg>; 2]) -> DefsUses {
        let real = |r: Option<XReg>| r.filter(|r| *r != XReg::ZERO);
        DefsUses { def: real(def), uses: [real(uses[0]), real(uses[1])] }
    }
    /// The registers read.
    pub fn reads(&self) -> impl Iterator<Item = XReg> {
        self.uses.into_iter().flatten()
    }
}

impl<M: Repr> RvInsn<M> {
    /// Number of 4-byte words the instruction takes.
    pub fn words(&self) -> usize {
        match self {
            RvInsn::FarJump { .. } | RvInsn::FarCall { .. } => 2,
            _ => 1,
        }
    }

    /// The registers it writes and reads (a far jump's or call's `auipc` writes its
    /// register before the `jalr` reads it, so the pair reads nothing from before).
    pub fn defs_uses(&self) -> DefsUses {
        use RvInsn::*;
        match *self {
            R { rd, rs1, rs2, .. } => DefsUses::of(Some(rd), [Some(rs1), Some(rs2)]),
            I { rd, rs1, .. } | Sh { rd, rs1, .. } | ShW { rd, rs1, .. } | Un { rd, rs1, .. } | Jalr { rd, rs1, .. } => DefsUses::of(Some(rd), [Some(rs1), None]),
            Lui { rd, .. } | Auipc { rd, .. } | Jal { rd, .. } | FarCall { rd, .. } => DefsUses::of(Some(rd), [None, None]),
            FarJump { tmp, .. } => DefsUses::of(Some(tmp), [None, None]),
            Load { rd, base, .. } => DefsUses::of(Some(rd), [Some(base), None]),
            Store { src, base, .. } => DefsUses::of(None, [Some(src), Some(base)]),
            Branch { rs1, rs2, .. } => DefsUses::of(None, [Some(rs1), Some(rs2)]),
            Amo { rd, src, addr, .. } | Sc { rd, src, addr, .. } => DefsUses::of(Some(rd), [Some(src), Some(addr)]),
            Lr { rd, addr, .. } => DefsUses::of(Some(rd), [Some(addr), None]),
        }
    }

    /// The same instruction with every register `r` replaced by `f(r)`.
    pub fn map_regs(self, f: impl Fn(XReg) -> XReg) -> RvInsn<M> {
        use RvInsn::*;
        match self {
            R { op, rd, rs1, rs2 } => R { op, rd: f(rd), rs1: f(rs1), rs2: f(rs2) },
            I { op, rd, rs1, imm } => I { op, rd: f(rd), rs1: f(rs1), imm },
            Sh { op, rd, rs1, sh } => Sh { op, rd: f(rd), rs1: f(rs1), sh },
            ShW { op, rd, rs1, sh } => ShW { op, rd: f(rd), rs1: f(rs1), sh },
            Un { op, rd, rs1 } => Un { op, rd: f(rd), rs1: f(rs1) },
            Lui { rd, imm } => Lui { rd: f(rd), imm },
            Load { op, rd, base, off } => Load { op, rd: f(rd), base: f(base), off },
            Store { op, src, base, off } => Store { op, src: f(src), base: f(base), off },
            Branch { cond, rs1, rs2, target } => Branch { cond, rs1: f(rs1), rs2: f(rs2), target },
            Jal { rd, target } => Jal { rd: f(rd), target },
            FarJump { tmp, target } => FarJump { tmp: f(tmp), target },
            Jalr { rd, rs1, off } => Jalr { rd: f(rd), rs1: f(rs1), off },
            Auipc { rd, imm } => Auipc { rd: f(rd), imm },
            Amo { op, width, rd, src, addr } => Amo { op, width, rd: f(rd), src: f(src), addr: f(addr) },
            Lr { width, rd, addr } => Lr { width, rd: f(rd), addr: f(addr) },
            Sc { width, rd, src, addr } => Sc { width, rd: f(rd), src: f(src), addr: f(addr) },
            FarCall { rd, target } => FarCall { rd: f(rd), target },
        }
    }

    /// The same instruction with its immediate fields converted by `f`.
    pub fn map<N: Repr>(self, f: &mut impl MapImms<M, N>) -> RvInsn<N> {
        use RvInsn::*;
        match self {
            R { op, rd, rs1, rs2 } => R { op, rd, rs1, rs2 },
            I { op, rd, rs1, imm } => I { op, rd, rs1, imm: f.i12(imm) },
            Sh { op, rd, rs1, sh } => Sh { op, rd, rs1, sh: f.sh6(sh) },
            ShW { op, rd, rs1, sh } => ShW { op, rd, rs1, sh: f.sh5(sh) },
            Un { op, rd, rs1 } => Un { op, rd, rs1 },
            Lui { rd, imm } => Lui { rd, imm: f.i20(imm) },
            Load { op, rd, base, off } => Load { op, rd, base, off: f.i12(off) },
            Store { op, src, base, off } => Store { op, src, base, off: f.i12(off) },
            Branch { cond, rs1, rs2, target } => Branch { cond, rs1, rs2, target },
            Jal { rd, target } => Jal { rd, target },
            FarJump { tmp, target } => FarJump { tmp, target },
            Jalr { rd, rs1, off } => Jalr { rd, rs1, off: f.i12(off) },
            Auipc { rd, imm } => Auipc { rd, imm: f.i20(imm) },
            Amo { op, width, rd, src, addr } => Amo { op, width, rd, src, addr },
            Lr { width, rd, addr } => Lr { width, rd, addr },
            Sc { width, rd, src, addr } => Sc { width, rd, src, addr },
            FarCall { rd, target } => FarCall { rd, target },
        }
    }
}

/// The mnemonic and operands, as `llvm-objdump -M no-aliases` prints them (branch and
/// jump targets as the BPF pc or `exit`; the listing adds addresses).
impl fmt::Display for RvInsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RvInsn::*;
        match *self {
            R { op, rd, rs1, rs2 } => write!(f, "{} {rd}, {rs1}, {rs2}", rop_name(op)),
            I { op, rd, rs1, imm } => write!(f, "{} {rd}, {rs1}, {}", iop_name(op), Hex(imm.get() as i64)),
            Sh { op, rd, rs1, sh } => write!(f, "{} {rd}, {rs1}, {:#x}", shop_name(op, false), sh.get()),
            ShW { op, rd, rs1, sh } => write!(f, "{} {rd}, {rs1}, {:#x}", shop_name(op, true), sh.get()),
            Un { op, rd, rs1 } => write!(f, "{} {rd}, {rs1}", unop_name(op)),
            Lui { rd, imm } => write!(f, "lui {rd}, {:#x}", imm.get() as u32 & 0xfffff),
            Load { op, rd, base, off } => write!(f, "{} {rd}, {}({base})", load_name(op), Hex(off.get() as i64)),
            Store { op, src, base, off } => write!(f, "{} {src}, {}({base})", store_name(op), Hex(off.get() as i64)),
            Branch { cond, rs1, rs2, target } => write!(f, "{} {rs1}, {rs2}, {}", cond_name(cond), TargetFmt(target)),
            Jal { rd, target } => write!(f, "jal {rd}, {}", TargetFmt(target)),
            FarJump { tmp, target } => write!(f, "auipc {tmp}, %hi({t}); jalr zero, %lo({t})({tmp})", t = TargetFmt(target)),
            Jalr { rd, rs1, off } => write!(f, "jalr {rd}, {}({rs1})", Hex(off.get() as i64)),
            Auipc { rd, imm } => write!(f, "auipc {rd}, {:#x}", imm.get() as u32 & 0xfffff),
            Amo { op, width, rd, src, addr } => write!(f, "{}.{}.aqrl {rd}, {src}, ({addr})", amo_name(op), width.suffix()),
            Lr { width, rd, addr } => write!(f, "lr.{}.aqrl {rd}, ({addr})", width.suffix()),
            Sc { width, rd, src, addr } => write!(f, "sc.{}.aqrl {rd}, {src}, ({addr})", width.suffix()),
            FarCall { rd, target } => write!(f, "auipc {rd}, %hi({t}); jalr {rd}, %lo({t})({rd})", t = TargetFmt(target)),
        }
    }
}

/// A signed number in hex, as llvm-objdump prints immediates (`-0x7`, `0x1c`).
pub struct Hex(pub i64);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 0 {
            write!(f, "-{:#x}", self.0.unsigned_abs())
        } else {
            write!(f, "{:#x}", self.0)
        }
    }
}

struct TargetFmt(Target);

impl fmt::Display for TargetFmt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Target::Pc(pc) => write!(f, "<bpf {pc}>"),
            Target::Abort => f.write_str("<abort>"),
            Target::DepthStop => f.write_str("<depth stop>"),
            Target::Skip(s) if s.bytes() < 0 => write!(f, ".-{}", -s.bytes()),
            Target::Skip(s) => write!(f, ".+{}", s.bytes()),
        }
    }
}

pub fn rop_name(op: ROp) -> &'static str {
    use ROp::*;
    match op {
        Add => "add",
        Sub => "sub",
        Sll => "sll",
        Slt => "slt",
        Sltu => "sltu",
        Xor => "xor",
        Srl => "srl",
        Sra => "sra",
        Or => "or",
        And => "and",
        Addw => "addw",
        Subw => "subw",
        Sllw => "sllw",
        Srlw => "srlw",
        Sraw => "sraw",
        Mul => "mul",
        Div => "div",
        Divu => "divu",
        Rem => "rem",
        Remu => "remu",
        Mulw => "mulw",
        Divw => "divw",
        Divuw => "divuw",
        Remw => "remw",
        Remuw => "remuw",
        AddUw => "add.uw",
    }
}

pub fn iop_name(op: IOp) -> &'static str {
    match op {
        IOp::Addi => "addi",
        IOp::Slti => "slti",
        IOp::Sltiu => "sltiu",
        IOp::Xori => "xori",
        IOp::Ori => "ori",
        IOp::Andi => "andi",
        IOp::Addiw => "addiw",
    }
}

pub fn shop_name(op: ShOp, word: bool) -> &'static str {
    match (op, word) {
        (ShOp::Slli, false) => "slli",
        (ShOp::Srli, false) => "srli",
        (ShOp::Srai, false) => "srai",
        (ShOp::Slli, true) => "slliw",
        (ShOp::Srli, true) => "srliw",
        (ShOp::Srai, true) => "sraiw",
    }
}

pub fn unop_name(op: UnOp) -> &'static str {
    match op {
        UnOp::SextB => "sext.b",
        UnOp::SextH => "sext.h",
        UnOp::ZextH => "zext.h",
        UnOp::Rev8 => "rev8",
    }
}

pub fn load_name(op: LoadOp) -> &'static str {
    match op {
        LoadOp::Lb => "lb",
        LoadOp::Lh => "lh",
        LoadOp::Lw => "lw",
        LoadOp::Ld => "ld",
        LoadOp::Lbu => "lbu",
        LoadOp::Lhu => "lhu",
        LoadOp::Lwu => "lwu",
    }
}

pub fn store_name(op: StoreOp) -> &'static str {
    match op {
        StoreOp::Sb => "sb",
        StoreOp::Sh => "sh",
        StoreOp::Sw => "sw",
        StoreOp::Sd => "sd",
    }
}

pub fn cond_name(c: Cond) -> &'static str {
    match c {
        Cond::Eq => "beq",
        Cond::Ne => "bne",
        Cond::Lt => "blt",
        Cond::Ge => "bge",
        Cond::Ltu => "bltu",
        Cond::Geu => "bgeu",
    }
}

pub fn amo_name(op: AmoOp) -> &'static str {
    match op {
        AmoOp::Add => "amoadd",
        AmoOp::Or => "amoor",
        AmoOp::And => "amoand",
        AmoOp::Xor => "amoxor",
        AmoOp::Swap => "amoswap",
    }
}
