//! The checker's own RV64 decoder: a 32-bit word → [`Decoded`], written from the RISC-V
//! unprivileged specification (RV64I, M, A, and the Zba/Zbb instructions), sharing no
//! code with the JIT's `RvInsn` or with dynasmrt. The checker trusts it, so it is
//! cross-checked against llvm-objdump-19 on every word of every conformance image
//! (tests/smt_decode.rs) and round-tripped against the JIT's encoder (src/smt/tests.rs).
//!
//! Compressed instructions are not decoded: the JIT emits none, so a 16-bit parcel in an
//! image is refused.

use core::fmt;

/// What a word decodes to. Operand fields a format does not have are 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decoded {
    pub op: Op,
    pub rd: u8,
    pub rs1: u8,
    pub rs2: u8,
    /// The immediate, sign-extended as the format defines (U-type: already shifted
    /// left by 12; B and J: the byte displacement). Shift amounts for the shift-by-
    /// immediate forms.
    pub imm: i64,
    /// The A extension's ordering bits.
    pub aq: bool,
    pub rl: bool,
}

/// Every operation the decoder knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Lui,
    Auipc,
    Jal,
    Jalr,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Lb,
    Lh,
    Lw,
    Ld,
    Lbu,
    Lhu,
    Lwu,
    Sb,
    Sh,
    Sw,
    Sd,
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    Addiw,
    Slliw,
    Srliw,
    Sraiw,
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
    // M
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    Mulw,
    Divw,
    Divuw,
    Remw,
    Remuw,
    // A (width in `AmoW`/`AmoD` pairs)
    LrW,
    ScW,
    AmoswapW,
    AmoaddW,
    AmoxorW,
    AmoandW,
    AmoorW,
    LrD,
    ScD,
    AmoswapD,
    AmoaddD,
    AmoxorD,
    AmoandD,
    AmoorD,
    // Zba
    AddUw,
    Sh1add,
    Sh2add,
    Sh3add,
    // Zbb
    SextB,
    SextH,
    ZextH,
    Rev8,
    Andn,
    Orn,
    Xnor,
    // Other
    Fence,
    Ecall,
    Ebreak,
}

/// Why a word has no decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{word:#010x} is a compressed (16-bit) instruction; the checker decodes only 32-bit ones")]
    Compressed { word: u32 },
    #[error("{word:#010x} is not an instruction the checker decodes (RV64IMA, Zba, Zbb)")]
    Unknown { word: u32 },
}

/// Bits `hi..=lo` of `w`.
const fn bits(w: u32, hi: u32, lo: u32) -> u32 {
    (w >> lo) & ((1u32 << (hi - lo + 1)) - 1)
}

/// `v`'s low `n` bits, sign-extended.
const fn sext(v: u32, n: u32) -> i64 {
    let shift = 64 - n;
    ((v as i64) << shift) >> shift
}

/// The immediates of the base formats (the specification's figure 2.4).
fn imm_i(w: u32) -> i64 {
    sext(bits(w, 31, 20), 12)
}
fn imm_s(w: u32) -> i64 {
    sext(bits(w, 31, 25) << 5 | bits(w, 11, 7), 12)
}
fn imm_b(w: u32) -> i64 {
    sext(bits(w, 31, 31) << 12 | bits(w, 7, 7) << 11 | bits(w, 30, 25) << 5 | bits(w, 11, 8) << 1, 13)
}
fn imm_u(w: u32) -> i64 {
    sext(w & 0xffff_f000, 32)
}
fn imm_j(w: u32) -> i64 {
    sext(bits(w, 31, 31) << 20 | bits(w, 19, 12) << 12 | bits(w, 20, 20) << 11 | bits(w, 30, 21) << 1, 21)
}

/// Decodes one instruction word.
pub fn decode(w: u32) -> Result<Decoded, DecodeError> {
    if w & 3 != 3 {
        return Err(DecodeError::Compressed { word: w });
    }
    let unknown = Err(DecodeError::Unknown { word: w });
    let (rd, f3, rs1, rs2, f7) = (bits(w, 11, 7) as u8, bits(w, 14, 12), bits(w, 19, 15) as u8, bits(w, 24, 20) as u8, bits(w, 31, 25));
    let mk = |op: Op, rd: u8, rs1: u8, rs2: u8, imm: i64| Ok(Decoded { op, rd, rs1, rs2, imm, aq: false, rl: false });
    use Op::*;
    match bits(w, 6, 0) {
        0x37 => mk(Lui, rd, 0, 0, imm_u(w)),
        0x17 => mk(Auipc, rd, 0, 0, imm_u(w)),
        0x6f => mk(Jal, rd, 0, 0, imm_j(w)),
        0x67 if f3 == 0 => mk(Jalr, rd, rs1, 0, imm_i(w)),
        0x63 => {
            let op = match f3 {
                0 => Beq,
                1 => Bne,
                4 => Blt,
                5 => Bge,
                6 => Bltu,
                7 => Bgeu,
                _ => return unknown,
            };
            mk(op, 0, rs1, rs2, imm_b(w))
        }
        0x03 => {
            let op = match f3 {
                0 => Lb,
                1 => Lh,
                2 => Lw,
                3 => Ld,
                4 => Lbu,
                5 => Lhu,
                6 => Lwu,
                _ => return unknown,
            };
            mk(op, rd, rs1, 0, imm_i(w))
        }
        0x23 => {
            let op = match f3 {
                0 => Sb,
                1 => Sh,
                2 => Sw,
                3 => Sd,
                _ => return unknown,
            };
            mk(op, 0, rs1, rs2, imm_s(w))
        }
        0x13 => {
            let imm = imm_i(w);
            // RV64 shifts by immediate: a 6-bit amount, bits 31:26 select the operation.
            let (f6, shamt) = (bits(w, 31, 26), bits(w, 25, 20) as i64);
            match f3 {
                0 => mk(Addi, rd, rs1, 0, imm),
                2 => mk(Slti, rd, rs1, 0, imm),
                3 => mk(Sltiu, rd, rs1, 0, imm),
                4 => mk(Xori, rd, rs1, 0, imm),
                6 => mk(Ori, rd, rs1, 0, imm),
                7 => mk(Andi, rd, rs1, 0, imm),
                1 if f6 == 0 => mk(Slli, rd, rs1, 0, shamt),
                1 if bits(w, 31, 20) == 0x604 => mk(SextB, rd, rs1, 0, 0),
                1 if bits(w, 31, 20) == 0x605 => mk(SextH, rd, rs1, 0, 0),
                5 if f6 == 0 => mk(Srli, rd, rs1, 0, shamt),
                5 if f6 == 0x10 => mk(Srai, rd, rs1, 0, shamt),
                5 if bits(w, 31, 20) == 0x6b8 => mk(Rev8, rd, rs1, 0, 0),
                _ => unknown,
            }
        }
        0x1b => {
            let shamt = bits(w, 24, 20) as i64;
            match (f3, f7) {
                (0, _) => mk(Addiw, rd, rs1, 0, imm_i(w)),
                (1, 0) => mk(Slliw, rd, rs1, 0, shamt),
                (5, 0) => mk(Srliw, rd, rs1, 0, shamt),
                (5, 0x20) => mk(Sraiw, rd, rs1, 0, shamt),
                _ => unknown,
            }
        }
        0x33 => {
            let op = match (f7, f3) {
                (0, 0) => Add,
                (0x20, 0) => Sub,
                (0, 1) => Sll,
                (0, 2) => Slt,
                (0, 3) => Sltu,
                (0, 4) => Xor,
                (0, 5) => Srl,
                (0x20, 5) => Sra,
                (0, 6) => Or,
                (0, 7) => And,
                (1, 0) => Mul,
                (1, 1) => Mulh,
                (1, 2) => Mulhsu,
                (1, 3) => Mulhu,
                (1, 4) => Div,
                (1, 5) => Divu,
                (1, 6) => Rem,
                (1, 7) => Remu,
                (0x10, 2) => Sh1add,
                (0x10, 4) => Sh2add,
                (0x10, 6) => Sh3add,
                (0x20, 4) => Xnor,
                (0x20, 6) => Orn,
                (0x20, 7) => Andn,
                _ => return unknown,
            };
            mk(op, rd, rs1, rs2, 0)
        }
        0x3b => {
            let op = match (f7, f3) {
                (0, 0) => Addw,
                (0x20, 0) => Subw,
                (0, 1) => Sllw,
                (0, 5) => Srlw,
                (0x20, 5) => Sraw,
                (1, 0) => Mulw,
                (1, 4) => Divw,
                (1, 5) => Divuw,
                (1, 6) => Remw,
                (1, 7) => Remuw,
                (4, 0) => AddUw,
                // zext.h is the RV64 encoding of `packw rd, rs1, zero`.
                (4, 4) if rs2 == 0 => ZextH,
                _ => return unknown,
            };
            if op == ZextH {
                return mk(op, rd, rs1, 0, 0);
            }
            mk(op, rd, rs1, rs2, 0)
        }
        0x2f => {
            let wide = match f3 {
                2 => false,
                3 => true,
                _ => return unknown,
            };
            let op = match (bits(w, 31, 27), wide) {
                (0x02, false) if rs2 == 0 => LrW,
                (0x02, true) if rs2 == 0 => LrD,
                (0x03, false) => ScW,
                (0x03, true) => ScD,
                (0x01, false) => AmoswapW,
                (0x01, true) => AmoswapD,
                (0x00, false) => AmoaddW,
                (0x00, true) => AmoaddD,
                (0x04, false) => AmoxorW,
                (0x04, true) => AmoxorD,
                (0x0c, false) => AmoandW,
                (0x0c, true) => AmoandD,
                (0x08, false) => AmoorW,
                (0x08, true) => AmoorD,
                _ => return unknown,
            };
            Ok(Decoded { op, rd, rs1, rs2, imm: 0, aq: bits(w, 26, 26) == 1, rl: bits(w, 25, 25) == 1 })
        }
        0x0f if f3 == 0 => mk(Fence, 0, 0, 0, bits(w, 27, 20) as i64),
        0x73 if w == 0x0000_0073 => mk(Ecall, 0, 0, 0, 0),
        0x73 if w == 0x0010_0073 => mk(Ebreak, 0, 0, 0, 0),
        _ => unknown,
    }
}

/// Decodes `code` word by word (little-endian); a trailing partial word is an error at
/// its offset.
pub fn decode_all(code: &[u8]) -> Result<alloc::vec::Vec<Decoded>, (usize, DecodeError)> {
    let mut out = alloc::vec::Vec::with_capacity(code.len() / 4);
    for (k, w) in code.chunks(4).enumerate() {
        let Ok(b) = <[u8; 4]>::try_from(w) else { return Err((4 * k, DecodeError::Compressed { word: w[0] as u32 | (w.get(1).copied().unwrap_or(0) as u32) << 8 })) };
        out.push(decode(u32::from_le_bytes(b)).map_err(|e| (4 * k, e))?);
    }
    Ok(out)
}

/// The ABI name of register `n`, as disassemblers print it.
pub fn reg_name(n: u8) -> &'static str {
    const NAMES: [&str; 32] = [
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10",
        "s11", "t3", "t4", "t5", "t6",
    ];
    NAMES[n as usize & 31]
}

impl Op {
    /// The mnemonic, as llvm-objdump prints it with `-M no-aliases`.
    pub fn mnemonic(self) -> &'static str {
        use Op::*;
        match self {
            Lui => "lui",
            Auipc => "auipc",
            Jal => "jal",
            Jalr => "jalr",
            Beq => "beq",
            Bne => "bne",
            Blt => "blt",
            Bge => "bge",
            Bltu => "bltu",
            Bgeu => "bgeu",
            Lb => "lb",
            Lh => "lh",
            Lw => "lw",
            Ld => "ld",
            Lbu => "lbu",
            Lhu => "lhu",
            Lwu => "lwu",
            Sb => "sb",
            Sh => "sh",
            Sw => "sw",
            Sd => "sd",
            Addi => "addi",
            Slti => "slti",
            Sltiu => "sltiu",
            Xori => "xori",
            Ori => "ori",
            Andi => "andi",
            Slli => "slli",
            Srli => "srli",
            Srai => "srai",
            Addiw => "addiw",
            Slliw => "slliw",
            Srliw => "srliw",
            Sraiw => "sraiw",
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
            Mulh => "mulh",
            Mulhsu => "mulhsu",
            Mulhu => "mulhu",
            Div => "div",
            Divu => "divu",
            Rem => "rem",
            Remu => "remu",
            Mulw => "mulw",
            Divw => "divw",
            Divuw => "divuw",
            Remw => "remw",
            Remuw => "remuw",
            LrW => "lr.w",
            ScW => "sc.w",
            AmoswapW => "amoswap.w",
            AmoaddW => "amoadd.w",
            AmoxorW => "amoxor.w",
            AmoandW => "amoand.w",
            AmoorW => "amoor.w",
            LrD => "lr.d",
            ScD => "sc.d",
            AmoswapD => "amoswap.d",
            AmoaddD => "amoadd.d",
            AmoxorD => "amoxor.d",
            AmoandD => "amoand.d",
            AmoorD => "amoor.d",
            AddUw => "add.uw",
            Sh1add => "sh1add",
            Sh2add => "sh2add",
            Sh3add => "sh3add",
            SextB => "sext.b",
            SextH => "sext.h",
            ZextH => "zext.h",
            Rev8 => "rev8",
            Andn => "andn",
            Orn => "orn",
            Xnor => "xnor",
            Fence => "fence",
            Ecall => "ecall",
            Ebreak => "ebreak",
        }
    }
}

/// The operand layout of an operation: which fields it has and how they print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// rd, rs1, rs2
    R,
    /// rd, rs1, imm (also the shift-by-immediate forms)
    I,
    /// rd, rs1 (Zbb one-operand)
    Unary,
    /// rd, imm(rs1)
    Load,
    /// rs2, imm(rs1)
    Store,
    /// rs1, rs2, target
    Branch,
    /// rd, field (U-type)
    Upper,
    /// rd, target
    Jal,
    /// rd, imm(rs1)
    Jalr,
    /// rd, (rs1) / rd, rs2, (rs1)
    Lr,
    Amo,
    None,
}

impl Op {
    pub fn format(self) -> Format {
        use Op::*;
        match self {
            Lui | Auipc => Format::Upper,
            Jal => Format::Jal,
            Jalr => Format::Jalr,
            Beq | Bne | Blt | Bge | Bltu | Bgeu => Format::Branch,
            Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu => Format::Load,
            Sb | Sh | Sw | Sd => Format::Store,
            Addi | Slti | Sltiu | Xori | Ori | Andi | Slli | Srli | Srai | Addiw | Slliw | Srliw | Sraiw => Format::I,
            SextB | SextH | ZextH | Rev8 => Format::Unary,
            LrW | LrD => Format::Lr,
            ScW | ScD | AmoswapW | AmoaddW | AmoxorW | AmoandW | AmoorW | AmoswapD | AmoaddD | AmoxorD | AmoandD | AmoorD => Format::Amo,
            Fence | Ecall | Ebreak => Format::None,
            _ => Format::R,
        }
    }
}

/// A signed value in llvm-objdump's hex (`-0x7`, `0x1c`).
struct Hex(i64);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < 0 {
            write!(f, "-{:#x}", self.0.unsigned_abs())
        } else {
            write!(f, "{:#x}", self.0)
        }
    }
}

impl Decoded {
    /// The text llvm-objdump-19 prints for this instruction at code offset `at` with
    /// `-M no-aliases` (branch and jal targets as absolute offsets).
    pub fn text(&self, at: u64) -> alloc::string::String {
        use alloc::format;
        let (rd, rs1, rs2) = (reg_name(self.rd), reg_name(self.rs1), reg_name(self.rs2));
        let m = self.op.mnemonic();
        let order = match (self.aq, self.rl) {
            (true, true) => ".aqrl",
            (true, false) => ".aq",
            (false, true) => ".rl",
            (false, false) => "",
        };
        let target = at.wrapping_add(self.imm as u64);
        match self.op.format() {
            Format::R => format!("{m} {rd}, {rs1}, {rs2}"),
            Format::I => format!("{m} {rd}, {rs1}, {}", Hex(self.imm)),
            Format::Unary => format!("{m} {rd}, {rs1}"),
            Format::Load => format!("{m} {rd}, {}({rs1})", Hex(self.imm)),
            Format::Store => format!("{m} {rs2}, {}({rs1})", Hex(self.imm)),
            Format::Branch => format!("{m} {rs1}, {rs2}, {target:#x}"),
            Format::Upper => format!("{m} {rd}, {:#x}", (self.imm as u64 >> 12) & 0xfffff),
            Format::Jal => format!("{m} {rd}, {target:#x}"),
            Format::Jalr => format!("{m} {rd}, {}({rs1})", Hex(self.imm)),
            Format::Lr => format!("{m}{order} {rd}, ({rs1})"),
            Format::Amo => format!("{m}{order} {rd}, {rs2}, ({rs1})"),
            Format::None => alloc::string::String::from(m),
        }
    }
}
