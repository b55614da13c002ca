//! The instruction set: typed instructions, their encoding, and program validation.
//!
//! First stage of the pipeline. Bytes are decoded once into [`Insn`]s; every later layer
//! (interpreter, verifier, JIT) takes a validated [`Program`], never raw words.
//! Validity is decided by the spec table ([`spec`]), so the opcode list exists once.

pub mod asm;
pub mod cfg;
pub mod disasm;
pub mod spec;
#[cfg(test)]
pub(crate) mod test_rng;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

pub use cfg::Cfg;

/// Size of one instruction slot in bytes.
pub const INSN_SIZE: usize = 8;
/// Longest program accepted, in slots (the kernel's BPF_COMPLEXITY_LIMIT_INSNS).
pub const MAX_SLOTS: usize = 1_000_000;

/// A register r0-r10. Construction checks the bound, so an `Insn` never names r11-r15.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reg(u8);

impl Reg {
    pub const R0: Reg = Reg(0);
    pub const R1: Reg = Reg(1);
    pub const R2: Reg = Reg(2);
    pub const R3: Reg = Reg(3);
    pub const R4: Reg = Reg(4);
    pub const R5: Reg = Reg(5);
    pub const R6: Reg = Reg(6);
    pub const R7: Reg = Reg(7);
    pub const R8: Reg = Reg(8);
    pub const R9: Reg = Reg(9);
    pub const R10: Reg = Reg(10);
    /// The frame pointer r10, read-only to programs.
    pub const FP: Reg = Reg(10);

    /// `Some` for 0-10.
    pub const fn new(n: u8) -> Option<Reg> {
        if n <= 10 {
            Some(Reg(n))
        } else {
            None
        }
    }
    pub const fn index(self) -> usize {
        self.0 as usize
    }
    pub const fn num(self) -> u8 {
        self.0
    }
}

impl fmt::Debug for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// A helper function's id: the imm of `call` (Linux's `enum bpf_func_id`, the test
/// helpers' numbers of uBPF and bpf2c), or what `callx` finds in its register.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HelperId(pub i32);

impl HelperId {
    /// The helper a `callx` register value names: the value as a signed number, when it
    /// fits the 32 bits a `call` immediate has.
    pub const fn from_reg(v: u64) -> Option<HelperId> {
        let v = v as i64;
        if v >= i32::MIN as i64 && v <= i32::MAX as i64 {
            Some(HelperId(v as i32))
        } else {
            None
        }
    }
    pub const fn get(self) -> i32 {
        self.0
    }
}

impl fmt::Debug for HelperId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for HelperId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Operand width of ALU and jump instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    W32,
    W64,
}

/// The second operand: a register (X form) or the sign-extended immediate (K form).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Reg(Reg),
    Imm(i32),
}

/// Binary ALU operations. `Sdiv`/`Smod` are DIV/MOD with offset 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    Add,
    Sub,
    Mul,
    Div,
    Sdiv,
    Or,
    And,
    Lsh,
    Rsh,
    Mod,
    Smod,
    Xor,
    Mov,
    Arsh,
}

impl AluOp {
    /// Operation code (bits 4-7 of the opcode).
    pub const fn code(self) -> u8 {
        match self {
            AluOp::Add => 0x0,
            AluOp::Sub => 0x1,
            AluOp::Mul => 0x2,
            AluOp::Div | AluOp::Sdiv => 0x3,
            AluOp::Or => 0x4,
            AluOp::And => 0x5,
            AluOp::Lsh => 0x6,
            AluOp::Rsh => 0x7,
            AluOp::Mod | AluOp::Smod => 0x9,
            AluOp::Xor => 0xa,
            AluOp::Mov => 0xb,
            AluOp::Arsh => 0xc,
        }
    }
    /// Offset field value (1 selects the signed division variants).
    pub const fn off(self) -> i16 {
        match self {
            AluOp::Sdiv | AluOp::Smod => 1,
            _ => 0,
        }
    }
    pub const ALL: [AluOp; 14] = [
        AluOp::Add,
        AluOp::Sub,
        AluOp::Mul,
        AluOp::Div,
        AluOp::Sdiv,
        AluOp::Or,
        AluOp::And,
        AluOp::Lsh,
        AluOp::Rsh,
        AluOp::Mod,
        AluOp::Smod,
        AluOp::Xor,
        AluOp::Mov,
        AluOp::Arsh,
    ];
}

/// Byte-swap kinds: ALU TO_LE (0xd4), ALU TO_BE (0xdc), ALU64 BSWAP (0xd7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndKind {
    Le,
    Be,
    Swap,
}

/// Width of a byte swap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndWidth {
    B16,
    B32,
    B64,
}

impl EndWidth {
    pub const fn bits(self) -> u32 {
        match self {
            EndWidth::B16 => 16,
            EndWidth::B32 => 32,
            EndWidth::B64 => 64,
        }
    }
}

/// Sign-extension source width of MOVSX.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SxWidth {
    S8,
    S16,
    S32,
}

impl SxWidth {
    pub const fn bits(self) -> u32 {
        match self {
            SxWidth::S8 => 8,
            SxWidth::S16 => 16,
            SxWidth::S32 => 32,
        }
    }
}

/// Memory access size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    B,
    H,
    W,
    DW,
}

impl Size {
    pub const fn bytes(self) -> usize {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }
    const fn code(self) -> u8 {
        match self {
            Size::W => 0,
            Size::H => 1,
            Size::B => 2,
            Size::DW => 3,
        }
    }
    fn from_code(code: u8) -> Size {
        match code & 3 {
            0 => Size::W,
            1 => Size::H,
            2 => Size::B,
            _ => Size::DW,
        }
    }
    /// Suffix used by both assembly syntaxes: b, h, w, dw.
    pub const fn suffix(self) -> &'static str {
        match self {
            Size::B => "b",
            Size::H => "h",
            Size::W => "w",
            Size::DW => "dw",
        }
    }
}

/// Jump conditions (JA, CALL and EXIT are separate instructions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JmpCond {
    Eq,
    Gt,
    Ge,
    Set,
    Ne,
    Sgt,
    Sge,
    Lt,
    Le,
    Slt,
    Sle,
}

impl JmpCond {
    pub const fn code(self) -> u8 {
        match self {
            JmpCond::Eq => 0x1,
            JmpCond::Gt => 0x2,
            JmpCond::Ge => 0x3,
            JmpCond::Set => 0x4,
            JmpCond::Ne => 0x5,
            JmpCond::Sgt => 0x6,
            JmpCond::Sge => 0x7,
            JmpCond::Lt => 0xa,
            JmpCond::Le => 0xb,
            JmpCond::Slt => 0xc,
            JmpCond::Sle => 0xd,
        }
    }
    fn from_code(code: u8) -> Option<JmpCond> {
        Some(match code {
            0x1 => JmpCond::Eq,
            0x2 => JmpCond::Gt,
            0x3 => JmpCond::Ge,
            0x4 => JmpCond::Set,
            0x5 => JmpCond::Ne,
            0x6 => JmpCond::Sgt,
            0x7 => JmpCond::Sge,
            0xa => JmpCond::Lt,
            0xb => JmpCond::Le,
            0xc => JmpCond::Slt,
            0xd => JmpCond::Sle,
            _ => return None,
        })
    }
    pub const ALL: [JmpCond; 11] = [
        JmpCond::Eq,
        JmpCond::Gt,
        JmpCond::Ge,
        JmpCond::Set,
        JmpCond::Ne,
        JmpCond::Sgt,
        JmpCond::Sge,
        JmpCond::Lt,
        JmpCond::Le,
        JmpCond::Slt,
        JmpCond::Sle,
    ];
    /// Mnemonic stem in the bf_conformance syntax (`jeq`, `jsgt`, …).
    pub const fn mnemonic(self) -> &'static str {
        match self {
            JmpCond::Eq => "jeq",
            JmpCond::Gt => "jgt",
            JmpCond::Ge => "jge",
            JmpCond::Set => "jset",
            JmpCond::Ne => "jne",
            JmpCond::Sgt => "jsgt",
            JmpCond::Sge => "jsge",
            JmpCond::Lt => "jlt",
            JmpCond::Le => "jle",
            JmpCond::Slt => "jslt",
            JmpCond::Sle => "jsle",
        }
    }
}

/// Atomic read-modify-write operations; the value is the instruction's imm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    Add,
    Or,
    And,
    Xor,
    FetchAdd,
    FetchOr,
    FetchAnd,
    FetchXor,
    Xchg,
    Cmpxchg,
}

impl AtomicOp {
    pub const fn imm(self) -> i32 {
        match self {
            AtomicOp::Add => 0x00,
            AtomicOp::FetchAdd => 0x01,
            AtomicOp::Or => 0x40,
            AtomicOp::FetchOr => 0x41,
            AtomicOp::And => 0x50,
            AtomicOp::FetchAnd => 0x51,
            AtomicOp::Xor => 0xa0,
            AtomicOp::FetchXor => 0xa1,
            AtomicOp::Xchg => 0xe1,
            AtomicOp::Cmpxchg => 0xf1,
        }
    }
    fn from_imm(imm: i32) -> Option<AtomicOp> {
        AtomicOp::ALL.into_iter().find(|op| op.imm() == imm)
    }
    /// Whether the old memory value is written back to a register.
    pub const fn fetches(self) -> bool {
        self.imm() & 1 == 1
    }
    pub const ALL: [AtomicOp; 10] = [
        AtomicOp::Add,
        AtomicOp::Or,
        AtomicOp::And,
        AtomicOp::Xor,
        AtomicOp::FetchAdd,
        AtomicOp::FetchOr,
        AtomicOp::FetchAnd,
        AtomicOp::FetchXor,
        AtomicOp::Xchg,
        AtomicOp::Cmpxchg,
    ];
}

/// What the 64-bit immediate load means (the instruction's src field, RFC 9669 §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LdKind {
    /// `dst = next_imm << 32 | imm`.
    Imm64,
    /// `dst = map_by_fd(imm)`.
    MapFd,
    /// `dst = map_val(map_by_fd(imm)) + next_imm`.
    MapValueFd,
    /// `dst = var_addr(imm)`: a platform variable.
    VarAddr,
    /// `dst = code_addr(imm)`: an instruction address, relative, in slots.
    CodeAddr,
    /// `dst = map_by_idx(imm)`.
    MapIdx,
    /// `dst = map_val(map_by_idx(imm)) + next_imm`.
    MapValueIdx,
}

impl LdKind {
    pub const fn src(self) -> u8 {
        match self {
            LdKind::Imm64 => 0,
            LdKind::MapFd => 1,
            LdKind::MapValueFd => 2,
            LdKind::VarAddr => 3,
            LdKind::CodeAddr => 4,
            LdKind::MapIdx => 5,
            LdKind::MapValueIdx => 6,
        }
    }
    fn from_src(src: u8) -> Option<LdKind> {
        LdKind::ALL.into_iter().find(|k| k.src() == src)
    }
    /// Name used by rvbpf's assembly extension (`lddw %r1, map_fd(3)`).
    pub const fn name(self) -> &'static str {
        match self {
            LdKind::Imm64 => "imm64",
            LdKind::MapFd => "map_fd",
            LdKind::MapValueFd => "map_value_fd",
            LdKind::VarAddr => "var_addr",
            LdKind::CodeAddr => "code_addr",
            LdKind::MapIdx => "map_idx",
            LdKind::MapValueIdx => "map_value_idx",
        }
    }
    pub const ALL: [LdKind; 7] = [
        LdKind::Imm64,
        LdKind::MapFd,
        LdKind::MapValueFd,
        LdKind::VarAddr,
        LdKind::CodeAddr,
        LdKind::MapIdx,
        LdKind::MapValueIdx,
    ];
}

/// One decoded instruction. Jump and call offsets are in slots, relative to the next
/// slot, exactly as encoded; an `LdImm64` occupies two slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Insn {
    Alu { width: Width, op: AluOp, dst: Reg, src: Source },
    Neg { width: Width, dst: Reg },
    MovSx { width: Width, bits: SxWidth, dst: Reg, src: Reg },
    End { kind: EndKind, bits: EndWidth, dst: Reg },
    LdImm64 { kind: LdKind, dst: Reg, imm: i32, next_imm: i32 },
    Ldx { size: Size, signed: bool, dst: Reg, src: Reg, off: i16 },
    St { size: Size, dst: Reg, off: i16, imm: i32 },
    Stx { size: Size, dst: Reg, src: Reg, off: i16 },
    Atomic { size: Size, op: AtomicOp, dst: Reg, src: Reg, off: i16 },
    /// JA with a 16-bit offset (0x05).
    Ja { off: i16 },
    /// JA with a 32-bit offset in imm (0x06, `gotol`).
    Gotol { imm: i32 },
    Jmp { width: Width, cond: JmpCond, dst: Reg, src: Source, off: i16 },
    /// Helper by static id (0x85 src 0).
    Call { helper: HelperId },
    /// Program-local function (0x85 src 1), `imm` slots after the next slot.
    CallLocal { imm: i32 },
    /// Helper whose id is in a register (0x8d, bpf_conformance's callx).
    Callx { reg: Reg },
    Exit,
}

/// The raw fields of one 8-byte slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawInsn {
    pub opcode: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl RawInsn {
    /// Little-endian slot layout: opcode, regs (src<<4 | dst), off, imm.
    pub fn from_bytes(b: [u8; 8]) -> RawInsn {
        RawInsn {
            opcode: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
    pub fn to_bytes(self) -> [u8; 8] {
        let o = self.off.to_le_bytes();
        let i = self.imm.to_le_bytes();
        [self.opcode, (self.src << 4) | (self.dst & 0x0f), o[0], o[1], i[0], i[1], i[2], i[3]]
    }
    pub fn to_u64(self) -> u64 {
        u64::from_le_bytes(self.to_bytes())
    }
    pub fn from_u64(w: u64) -> RawInsn {
        RawInsn::from_bytes(w.to_le_bytes())
    }
    fn new(opcode: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
        RawInsn { opcode, dst, src, off, imm }
    }
}

const CLS_LD: u8 = 0x00;
const CLS_LDX: u8 = 0x01;
const CLS_ST: u8 = 0x02;
const CLS_STX: u8 = 0x03;
const CLS_ALU: u8 = 0x04;
const CLS_JMP: u8 = 0x05;
const CLS_JMP32: u8 = 0x06;
const CLS_ALU64: u8 = 0x07;
const MODE_MEM: u8 = 0x60;
const MODE_MEMSX: u8 = 0x80;
const MODE_ATOMIC: u8 = 0xc0;

fn alu_class(width: Width) -> u8 {
    match width {
        Width::W32 => CLS_ALU,
        Width::W64 => CLS_ALU64,
    }
}

impl Insn {
    /// Number of 8-byte slots (2 for `LdImm64`).
    pub fn slots(&self) -> usize {
        match self {
            Insn::LdImm64 { .. } => 2,
            _ => 1,
        }
    }

    /// The encoding: one slot, or two for `LdImm64`.
    pub fn encode(&self) -> (RawInsn, Option<RawInsn>) {
        let r = |x: Reg| x.num();
        let raw = match *self {
            Insn::Alu { width, op, dst, src } => {
                let (s, sreg, imm) = match src {
                    Source::Reg(s) => (0x08, r(s), 0),
                    Source::Imm(i) => (0x00, 0, i),
                };
                RawInsn::new(op.code() << 4 | s | alu_class(width), r(dst), sreg, op.off(), imm)
            }
            Insn::Neg { width, dst } => RawInsn::new(0x80 | alu_class(width), r(dst), 0, 0, 0),
            Insn::MovSx { width, bits, dst, src } => {
                RawInsn::new(0xb8 | alu_class(width), r(dst), r(src), bits.bits() as i16, 0)
            }
            Insn::End { kind, bits, dst } => {
                let opcode = match kind {
                    EndKind::Le => 0xd4,
                    EndKind::Be => 0xdc,
                    EndKind::Swap => 0xd7,
                };
                RawInsn::new(opcode, r(dst), 0, 0, bits.bits() as i32)
            }
            Insn::LdImm64 { kind, dst, imm, next_imm } => {
                return (RawInsn::new(0x18, r(dst), kind.src(), 0, imm), Some(RawInsn::new(0, 0, 0, 0, next_imm)));
            }
            Insn::Ldx { size, signed, dst, src, off } => {
                let mode = if signed { MODE_MEMSX } else { MODE_MEM };
                RawInsn::new(mode | size.code() << 3 | CLS_LDX, r(dst), r(src), off, 0)
            }
            Insn::St { size, dst, off, imm } => RawInsn::new(MODE_MEM | size.code() << 3 | CLS_ST, r(dst), 0, off, imm),
            Insn::Stx { size, dst, src, off } => {
                RawInsn::new(MODE_MEM | size.code() << 3 | CLS_STX, r(dst), r(src), off, 0)
            }
            Insn::Atomic { size, op, dst, src, off } => {
                RawInsn::new(MODE_ATOMIC | size.code() << 3 | CLS_STX, r(dst), r(src), off, op.imm())
            }
            Insn::Ja { off } => RawInsn::new(0x05, 0, 0, off, 0),
            Insn::Gotol { imm } => RawInsn::new(0x06, 0, 0, 0, imm),
            Insn::Jmp { width, cond, dst, src, off } => {
                let class = match width {
                    Width::W32 => CLS_JMP32,
                    Width::W64 => CLS_JMP,
                };
                let (s, sreg, imm) = match src {
                    Source::Reg(s) => (0x08, r(s), 0),
                    Source::Imm(i) => (0x00, 0, i),
                };
                RawInsn::new(cond.code() << 4 | s | class, r(dst), sreg, off, imm)
            }
            Insn::Call { helper } => RawInsn::new(0x85, 0, 0, 0, helper.get()),
            Insn::CallLocal { imm } => RawInsn::new(0x85, 0, 1, 0, imm),
            Insn::Callx { reg } => RawInsn::new(0x8d, r(reg), 0, 0, 0),
            Insn::Exit => RawInsn::new(0x95, 0, 0, 0, 0),
        };
        (raw, None)
    }

    /// The spec row this instruction belongs to.
    pub fn spec_row(&self) -> &'static spec::SpecRow {
        let (raw, _) = self.encode();
        // Every constructible Insn encodes to a valid row; the tests check it for all of them.
        spec::find_row(raw.opcode, raw.src, raw.off, raw.imm).expect("Insn encodes to a spec row")
    }

    /// The jump target slot of a JA/conditional jump/local call at slot `pc`, if any.
    pub fn branch_target(&self, pc: usize) -> Option<i64> {
        match *self {
            Insn::Ja { off } | Insn::Jmp { off, .. } => Some(cfg::target(pc, off as i64)),
            Insn::Gotol { imm } | Insn::CallLocal { imm } => Some(cfg::target(pc, imm as i64)),
            _ => None,
        }
    }

    /// Whether control can continue to the next slot.
    pub fn falls_through(&self) -> bool {
        !matches!(self, Insn::Exit | Insn::Ja { .. } | Insn::Gotol { .. })
    }
}

/// Why an encoding or a program was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    #[error("program length {0} bytes is not a multiple of 8")]
    Truncated(usize),
    #[error("empty program")]
    Empty,
    #[error("program has {0} slots, more than the limit of {MAX_SLOTS}")]
    TooLong(usize),
    #[error("unknown opcode 0x{0:02x}")]
    UnknownOpcode(u8),
    #[error("opcode 0x{opcode:02x} ({mnemonic}) is not supported: {reason}")]
    Unsupported { opcode: u8, mnemonic: &'static str, reason: &'static str },
    #[error("opcode 0x{opcode:02x}: {field} = {value} is not allowed (must be {rule})")]
    BadField { opcode: u8, field: &'static str, value: i64, rule: &'static str },
    #[error("opcode 0x{opcode:02x}: invalid {field} register r{reg}")]
    BadRegister { opcode: u8, field: &'static str, reg: u8 },
    #[error("opcode 0x{opcode:02x}: writes the read-only frame pointer r10")]
    WriteToR10 { opcode: u8 },
    #[error("lddw is the last slot: its second half is missing")]
    LddwAtEnd,
    #[error("invalid lddw second half (opcode, registers and offset must be 0)")]
    BadLddwTail,
    #[error("jump to slot {target}, outside the program of {len} slots")]
    JumpOutOfRange { target: i64, len: usize },
    #[error("jump to slot {target}, the middle of an lddw")]
    JumpIntoLddw { target: i64 },
    #[error("last instruction falls through off the end of the program")]
    FallThrough,
    #[error("function {name} starts at slot {slot}, which no local call targets")]
    NotAFunction { name: String, slot: usize },
}

/// A rejected encoding, with the slot where it was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid instruction at {pc}: {kind}")]
pub struct DecodeError {
    pub pc: usize,
    pub kind: DecodeErrorKind,
}

impl DecodeErrorKind {
    /// Stable category name, used by the invalid-instruction suite and JSON output.
    pub fn category(&self) -> &'static str {
        match self {
            DecodeErrorKind::Truncated(_) => "truncated",
            DecodeErrorKind::Empty => "empty",
            DecodeErrorKind::TooLong(_) => "too-long",
            DecodeErrorKind::UnknownOpcode(_) => "unknown-opcode",
            DecodeErrorKind::Unsupported { .. } => "unsupported",
            DecodeErrorKind::BadField { .. } => "reserved-field",
            DecodeErrorKind::BadRegister { .. } => "bad-register",
            DecodeErrorKind::WriteToR10 { .. } => "write-r10",
            DecodeErrorKind::LddwAtEnd => "lddw-truncated",
            DecodeErrorKind::BadLddwTail => "lddw-tail",
            DecodeErrorKind::JumpOutOfRange { .. } => "jump-out-of-range",
            DecodeErrorKind::JumpIntoLddw { .. } => "jump-into-lddw",
            DecodeErrorKind::FallThrough => "fall-through",
            DecodeErrorKind::NotAFunction { .. } => "not-a-function",
        }
    }
}

fn field_rule(f: spec::Field) -> &'static str {
    match f {
        spec::Field::Zero => "0",
        spec::Field::Any | spec::Field::Reg => "any",
        spec::Field::OneOf(_) => "one of the values the spec lists",
    }
}

/// Decodes one instruction whose first slot is `raw` (and, for lddw, second slot `next`).
/// Checks the encoding against the spec table; does not check jump targets.
pub fn decode_one(raw: RawInsn, next: Option<RawInsn>) -> Result<Insn, DecodeErrorKind> {
    let opcode = raw.opcode;
    let rows = spec::rows_for(opcode);
    if rows.is_empty() {
        return Err(DecodeErrorKind::UnknownOpcode(opcode));
    }
    let row = match spec::find_row(opcode, raw.src, raw.off, raw.imm) {
        Some(row) => row,
        None => {
            // Name the first field that no row accepts, for a precise message.
            let first = rows[0];
            let (field, value, rule) = if !rows.iter().any(|r| r.src.accepts(raw.src as i64)) {
                ("src", raw.src as i64, first.src)
            } else if !rows.iter().any(|r| r.off.accepts(raw.off as i64)) {
                ("off", raw.off as i64, first.off)
            } else {
                ("imm", raw.imm as i64, first.imm)
            };
            return Err(DecodeErrorKind::BadField { opcode, field, value, rule: field_rule(rule) });
        }
    };
    if !row.supported {
        return Err(DecodeErrorKind::Unsupported { opcode, mnemonic: row.mnemonic, reason: row.note });
    }
    match row.dst {
        spec::DstRule::Zero if raw.dst != 0 => {
            return Err(DecodeErrorKind::BadField { opcode, field: "dst", value: raw.dst as i64, rule: "0" })
        }
        spec::DstRule::Write if raw.dst == 10 => return Err(DecodeErrorKind::WriteToR10 { opcode }),
        spec::DstRule::Write | spec::DstRule::Read if raw.dst > 10 => {
            return Err(DecodeErrorKind::BadRegister { opcode, field: "dst", reg: raw.dst })
        }
        _ => {}
    }
    if row.src == spec::Field::Reg && raw.src > 10 {
        return Err(DecodeErrorKind::BadRegister { opcode, field: "src", reg: raw.src });
    }
    // The row fixed every field; build the typed form from the opcode's bit fields.
    let dst = Reg(raw.dst);
    let src_reg = Reg(raw.src);
    let class = opcode & 0x07;
    let insn = match class {
        CLS_ALU | CLS_ALU64 => {
            let width = if class == CLS_ALU { Width::W32 } else { Width::W64 };
            let code = opcode >> 4;
            let is_x = opcode & 0x08 != 0;
            let src = if is_x { Source::Reg(src_reg) } else { Source::Imm(raw.imm) };
            match code {
                0x8 => Insn::Neg { width, dst },
                0xd => {
                    let kind = match opcode {
                        0xd4 => EndKind::Le,
                        0xdc => EndKind::Be,
                        _ => EndKind::Swap,
                    };
                    let bits = match raw.imm {
                        16 => EndWidth::B16,
                        32 => EndWidth::B32,
                        _ => EndWidth::B64,
                    };
                    Insn::End { kind, bits, dst }
                }
                0xb if is_x && raw.off != 0 => {
                    let bits = match raw.off {
                        8 => SxWidth::S8,
                        16 => SxWidth::S16,
                        _ => SxWidth::S32,
                    };
                    Insn::MovSx { width, bits, dst, src: src_reg }
                }
                _ => {
                    let op = match (code, raw.off) {
                        (0x0, _) => AluOp::Add,
                        (0x1, _) => AluOp::Sub,
                        (0x2, _) => AluOp::Mul,
                        (0x3, 0) => AluOp::Div,
                        (0x3, _) => AluOp::Sdiv,
                        (0x4, _) => AluOp::Or,
                        (0x5, _) => AluOp::And,
                        (0x6, _) => AluOp::Lsh,
                        (0x7, _) => AluOp::Rsh,
                        (0x9, 0) => AluOp::Mod,
                        (0x9, _) => AluOp::Smod,
                        (0xa, _) => AluOp::Xor,
                        (0xb, _) => AluOp::Mov,
                        _ => AluOp::Arsh,
                    };
                    Insn::Alu { width, op, dst, src }
                }
            }
        }
        CLS_JMP | CLS_JMP32 => match opcode {
            0x05 => Insn::Ja { off: raw.off },
            0x06 => Insn::Gotol { imm: raw.imm },
            0x85 if raw.src == 0 => Insn::Call { helper: HelperId(raw.imm) },
            0x85 => Insn::CallLocal { imm: raw.imm },
            0x8d => Insn::Callx { reg: dst },
            0x95 => Insn::Exit,
            _ => {
                let width = if class == CLS_JMP32 { Width::W32 } else { Width::W64 };
                // The row exists, so the condition code is one of the eleven.
                let cond = JmpCond::from_code(opcode >> 4).ok_or(DecodeErrorKind::UnknownOpcode(opcode))?;
                let src = if opcode & 0x08 != 0 { Source::Reg(src_reg) } else { Source::Imm(raw.imm) };
                Insn::Jmp { width, cond, dst, src, off: raw.off }
            }
        },
        CLS_LD => {
            let next = next.ok_or(DecodeErrorKind::LddwAtEnd)?;
            if next.opcode != 0 || next.dst != 0 || next.src != 0 || next.off != 0 {
                return Err(DecodeErrorKind::BadLddwTail);
            }
            let kind = LdKind::from_src(raw.src).ok_or(DecodeErrorKind::UnknownOpcode(opcode))?;
            Insn::LdImm64 { kind, dst, imm: raw.imm, next_imm: next.imm }
        }
        CLS_LDX => Insn::Ldx {
            size: Size::from_code(opcode >> 3),
            signed: opcode & 0xe0 == MODE_MEMSX,
            dst,
            src: src_reg,
            off: raw.off,
        },
        CLS_ST => Insn::St { size: Size::from_code(opcode >> 3), dst, off: raw.off, imm: raw.imm },
        _ => {
            let size = Size::from_code(opcode >> 3);
            if opcode & 0xe0 == MODE_ATOMIC {
                let op = AtomicOp::from_imm(raw.imm).ok_or(DecodeErrorKind::UnknownOpcode(opcode))?;
                // A fetching atomic writes its src register (cmpxchg writes r0 instead).
                if op.fetches() && op != AtomicOp::Cmpxchg && raw.src == 10 {
                    return Err(DecodeErrorKind::WriteToR10 { opcode });
                }
                Insn::Atomic { size, op, dst, src: src_reg, off: raw.off }
            } else {
                Insn::Stx { size, dst, src: src_reg, off: raw.off }
            }
        }
    };
    Ok(insn)
}

/// A validated program: every instruction decodes, every jump and local call lands on
/// an instruction inside the program, and control cannot run off the end. It keeps its
/// control flow ([`Cfg`]) and its functions, with the names the loader gave them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    insns: Vec<Insn>,
    cfg: Cfg,
    /// One per subprogram of `cfg`, in the same order.
    functions: Vec<Function>,
}

/// A function of a program: its first slot and its name (`func#N`, the kernel's name
/// for the Nth subprogram, when nobody named it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    pub slot: usize,
    pub name: String,
}

impl Program {
    /// Decodes and validates raw bytes (little-endian slots).
    pub fn decode(bytes: &[u8]) -> Result<Program, DecodeError> {
        if bytes.len() % INSN_SIZE != 0 {
            return Err(DecodeError { pc: bytes.len() / INSN_SIZE, kind: DecodeErrorKind::Truncated(bytes.len()) });
        }
        let n = bytes.len() / INSN_SIZE;
        if n > MAX_SLOTS {
            return Err(DecodeError { pc: 0, kind: DecodeErrorKind::TooLong(n) });
        }
        Program::decode_slots(n, |i| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[i * INSN_SIZE..(i + 1) * INSN_SIZE]);
            RawInsn::from_bytes(b)
        })
    }

    /// Decodes and validates slots already split into fields (the kernel's `bpf_insn`
    /// array, what the loader produces).
    pub fn from_raw(slots: &[RawInsn]) -> Result<Program, DecodeError> {
        if slots.len() > MAX_SLOTS {
            return Err(DecodeError { pc: 0, kind: DecodeErrorKind::TooLong(slots.len()) });
        }
        Program::decode_slots(slots.len(), |i| slots[i])
    }

    fn decode_slots(n: usize, slot: impl Fn(usize) -> RawInsn) -> Result<Program, DecodeError> {
        let mut insns = Vec::with_capacity(n);
        let mut pc = 0;
        while pc < n {
            let raw = slot(pc);
            let next = if raw.opcode == 0x18 && pc + 1 < n { Some(slot(pc + 1)) } else { None };
            let insn = decode_one(raw, next).map_err(|kind| DecodeError { pc, kind })?;
            pc += insn.slots();
            insns.push(insn);
        }
        Program::new(insns)
    }

    /// Validates already-typed instructions (control flow and length).
    pub fn new(insns: Vec<Insn>) -> Result<Program, DecodeError> {
        let cfg = Cfg::new(&insns)?;
        let functions = cfg.subprograms().iter().enumerate().map(|(k, &i)| Function { slot: cfg.slot_of(i), name: alloc::format!("func#{k}") }).collect();
        Ok(Program { insns, cfg, functions })
    }

    /// Names the functions starting at these slots (the loader's function list).
    pub fn with_names(mut self, names: &[(String, usize)]) -> Result<Program, DecodeError> {
        for (name, slot) in names {
            match self.functions.iter_mut().find(|f| f.slot == *slot) {
                Some(f) => f.name.clone_from(name),
                None => return Err(DecodeError { pc: *slot, kind: DecodeErrorKind::NotAFunction { name: name.clone(), slot: *slot } }),
            }
        }
        Ok(self)
    }

    /// The instructions, one per entry (an lddw is one entry).
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }
    /// The control flow.
    pub fn cfg(&self) -> &Cfg {
        &self.cfg
    }
    /// The functions, the entry first, in slot order.
    pub fn functions(&self) -> &[Function] {
        &self.functions
    }
    /// Slot index of instruction `i`.
    pub fn pc_of(&self, i: usize) -> usize {
        self.cfg.slot_of(i)
    }
    /// `(slot, insn)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Insn)> {
        self.insns.iter().enumerate().map(|(i, insn)| (self.cfg.slot_of(i), insn))
    }
    /// Length in 8-byte slots.
    pub fn slot_count(&self) -> usize {
        self.cfg.slot_count()
    }
    /// The encoded bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_all(&self.insns)
    }

    /// The program with some instructions replaced: `f` sees each instruction with its
    /// slot and returns its replacement, if any. A replacement keeps the instruction's
    /// slots and control flow (it rewrites a load or a constant, never a jump), so the
    /// control flow and the functions carry over.
    pub fn rewrite<E>(&self, mut f: impl FnMut(usize, &Insn) -> Result<Option<Insn>, E>) -> Result<Program, E> {
        let mut insns = self.insns.clone();
        for (i, insn) in insns.iter_mut().enumerate() {
            let pc = self.cfg.slot_of(i);
            if let Some(new) = f(pc, insn)? {
                assert!(
                    new.slots() == insn.slots() && new.branch_target(pc) == insn.branch_target(pc) && new.falls_through() == insn.falls_through(),
                    "a rewrite changed the control flow at slot {pc}"
                );
                *insn = new;
            }
        }
        Ok(Program { insns, cfg: self.cfg.clone(), functions: self.functions.clone() })
    }

    /// The program with every pseudo `lddw` (map, map value, variable, code address)
    /// replaced by the constant `value(slot, kind, imm, next_imm)` gives it: the one
    /// resolver behind the runtime's fixup and the raw-program path of the JIT.
    pub fn resolve_lddw<E>(&self, mut value: impl FnMut(usize, LdKind, i32, i32) -> Result<u64, E>) -> Result<Program, E> {
        self.rewrite(|pc, insn| match *insn {
            Insn::LdImm64 { kind, dst, imm, next_imm } if kind != LdKind::Imm64 => {
                let (imm, next_imm) = cfg::lddw_halves(value(pc, kind, imm, next_imm)?);
                Ok(Some(Insn::LdImm64 { kind: LdKind::Imm64, dst, imm, next_imm }))
            }
            _ => Ok(None),
        })
    }
}

/// Encodes instructions to bytes without validating control flow.
pub fn encode_all(insns: &[Insn]) -> Vec<u8> {
    let mut out = Vec::with_capacity(insns.len() * INSN_SIZE);
    for insn in insns {
        let (a, b) = insn.encode();
        out.extend_from_slice(&a.to_bytes());
        if let Some(b) = b {
            out.extend_from_slice(&b.to_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prog(src: &str) -> Program {
        Program::new(asm::assemble(src).unwrap()).unwrap()
    }

    #[test]
    fn functions_are_named_by_the_loader_or_by_number() {
        let p = prog("call local +1\nexit\nmov %r0, 1\nexit");
        let names = |p: &Program| p.functions().iter().map(|f| (f.name.clone(), f.slot)).collect::<Vec<_>>();
        assert_eq!(names(&p), [("func#0".to_string(), 0), ("func#1".to_string(), 2)]);
        let named = p.clone().with_names(&[("main".into(), 0), ("helper".into(), 2)]).unwrap();
        assert_eq!(names(&named), [("main".to_string(), 0), ("helper".to_string(), 2)]);
        let e = p.with_names(&[("nothing".into(), 1)]).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::NotAFunction { name: "nothing".into(), slot: 1 });
    }

    #[test]
    fn rewrites_keep_control_flow_and_names() {
        let p = prog("lddw %r1, map_idx(0)\ncall local +1\nexit\nexit").with_names(&[("sub".into(), 4)]).unwrap();
        // The value names the slot, the kind and the immediates it was asked for.
        let r = p.resolve_lddw(|pc, kind, imm, next| Ok::<u64, ()>((kind.src() as u64) << 32 | (pc as u64 + 7 + imm as u64 + next as u64))).unwrap();
        assert_eq!(r.insns()[0], Insn::LdImm64 { kind: LdKind::Imm64, dst: Reg::R1, imm: 7, next_imm: 5 });
        assert_eq!((r.cfg(), r.functions()), (p.cfg(), p.functions()));
        assert_eq!(p.resolve_lddw(|pc, _, _, _| Err::<u64, usize>(pc)), Err(0), "the resolver's error comes back");
    }

    #[test]
    #[should_panic(expected = "changed the control flow")]
    fn a_rewrite_cannot_move_a_jump() {
        let p = prog("ja +0\nexit");
        let _ = p.rewrite(|_, insn| Ok::<_, ()>(matches!(insn, Insn::Ja { .. }).then_some(Insn::Ja { off: -1 })));
    }
}
