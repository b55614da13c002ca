//! Disassembler: the bpf_conformance assembly syntax (which [`super::asm`] reads back) and
//! llvm-objdump's C-like syntax (checked against `llvm-objdump-19 -d --mcpu=v4`).

use alloc::format;
use alloc::string::String;

use super::asm::alu_name;
use super::*;

/// Which assembly syntax to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// bpf_conformance / uBPF: `add32 %r0, 1`, `ldxw %r0, [%r1+4]`, `jeq %r1, 5, +2`.
    Conformance,
    /// llvm-objdump: `w0 += 0x1`, `w0 = *(u32 *)(r1 + 0x4)`, `if r1 == 0x5 goto +0x2`.
    Llvm,
}

/// One instruction as text.
pub fn format_insn(insn: &Insn, syntax: Syntax) -> String {
    match syntax {
        Syntax::Conformance => conformance(insn),
        Syntax::Llvm => llvm(insn),
    }
}

/// A whole program, one instruction per line, each prefixed by its slot index when
/// `numbered` is set.
pub fn disassemble(prog: &Program, syntax: Syntax, numbered: bool) -> String {
    let mut out = String::new();
    for (pc, insn) in prog.iter() {
        if numbered {
            out.push_str(&format!("{pc:>5}: "));
        }
        out.push_str(&format_insn(insn, syntax));
        out.push('\n');
    }
    out
}

/// Every slot of `bytes` as it decodes on its own, valid or not: an invalid slot is
/// listed as `.invalid` with its bytes and why, and the listing goes on at the next slot;
/// bytes short of a slot are listed as such. Jump targets are not checked slot by slot:
/// a last line says whether the whole is a valid program, and if not, why.
pub fn disassemble_raw(bytes: &[u8], syntax: Syntax) -> String {
    let slots: alloc::vec::Vec<RawInsn> = bytes.chunks_exact(INSN_SIZE).map(|c| RawInsn::from_bytes(c.try_into().unwrap_or_default())).collect();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<alloc::vec::Vec<_>>().join(" ");
    let mut out = String::new();
    let mut pc = 0;
    while pc < slots.len() {
        let next = slots.get(pc + 1).copied().filter(|_| slots[pc].opcode == 0x18);
        match decode_one(slots[pc], next) {
            Ok(insn) => {
                out.push_str(&format!("{pc:>5}: {}\n", format_insn(&insn, syntax)));
                pc += insn.slots();
            }
            Err(e) => {
                out.push_str(&format!("{pc:>5}: .invalid {}  ; {e}\n", hex(&bytes[pc * INSN_SIZE..(pc + 1) * INSN_SIZE])));
                pc += 1;
            }
        }
    }
    let tail = &bytes[slots.len() * INSN_SIZE..];
    if !tail.is_empty() {
        out.push_str(&format!("{:>5}: .invalid {}  ; {} trailing bytes, short of a slot\n", slots.len(), hex(tail), tail.len()));
    }
    match Program::decode(bytes) {
        Ok(_) => out.push_str("; a valid program\n"),
        Err(e) => out.push_str(&format!("; not a valid program: {e}\n")),
    }
    out
}

fn sfx(w: Width) -> &'static str {
    match w {
        Width::W32 => "32",
        Width::W64 => "",
    }
}

fn mem(r: Reg, off: i16) -> String {
    if off < 0 {
        format!("[%r{}-{}]", r.num(), -(off as i32))
    } else {
        format!("[%r{}+{}]", r.num(), off)
    }
}

fn rel(n: i64) -> String {
    if n < 0 {
        format!("{n}")
    } else {
        format!("+{n}")
    }
}

fn operand(s: Source) -> String {
    match s {
        Source::Reg(r) => format!("%r{}", r.num()),
        Source::Imm(i) => format!("{i}"),
    }
}

fn conformance(insn: &Insn) -> String {
    match *insn {
        Insn::Alu { width, op, dst, src } => format!("{}{} %r{}, {}", alu_name(op), sfx(width), dst.num(), operand(src)),
        Insn::Neg { width, dst } => format!("neg{} %r{}", sfx(width), dst.num()),
        Insn::MovSx { width, bits, dst, src } => {
            let w = if width == Width::W32 { 32 } else { 64 };
            format!("movsx{}{} %r{}, %r{}", bits.bits(), w, dst.num(), src.num())
        }
        Insn::End { kind, bits, dst } => {
            let k = match kind {
                EndKind::Le => "le",
                EndKind::Be => "be",
                EndKind::Swap => "bswap",
            };
            format!("{k}{} %r{}", bits.bits(), dst.num())
        }
        Insn::LdImm64 { kind, dst, imm, next_imm } => match kind {
            LdKind::Imm64 => {
                let v = cfg::lddw_value(imm, next_imm);
                format!("lddw %r{}, 0x{v:x}", dst.num())
            }
            // The value kinds always show their offset; the others only when it is set.
            LdKind::MapValueFd | LdKind::MapValueIdx => format!("lddw %r{}, {}({imm}, {next_imm})", dst.num(), kind.name()),
            _ if next_imm != 0 => format!("lddw %r{}, {}({imm}, {next_imm})", dst.num(), kind.name()),
            _ => format!("lddw %r{}, {}({imm})", dst.num(), kind.name()),
        },
        Insn::Ldx { size, signed, dst, src, off } => {
            format!("ldx{}{} %r{}, {}", if signed { "s" } else { "" }, size.suffix(), dst.num(), mem(src, off))
        }
        Insn::St { size, dst, off, imm } => format!("st{} {}, {imm}", size.suffix(), mem(dst, off)),
        Insn::Stx { size, dst, src, off } => format!("stx{} {}, %r{}", size.suffix(), mem(dst, off), src.num()),
        Insn::Atomic { size, op, dst, src, off } => {
            let name = match op {
                AtomicOp::Add => "add",
                AtomicOp::Or => "or",
                AtomicOp::And => "and",
                AtomicOp::Xor => "xor",
                AtomicOp::FetchAdd => "fetch add",
                AtomicOp::FetchOr => "fetch or",
                AtomicOp::FetchAnd => "fetch and",
                AtomicOp::FetchXor => "fetch xor",
                AtomicOp::Xchg => "xchg",
                AtomicOp::Cmpxchg => "cmpxchg",
            };
            let w = if size == Size::W { "32" } else { "" };
            format!("lock {name}{w} {}, %r{}", mem(dst, off), src.num())
        }
        Insn::Ja { off } => format!("ja {}", rel(off as i64)),
        Insn::Gotol { imm } => format!("ja32 {}", rel(imm as i64)),
        Insn::Jmp { width, cond, dst, src, off } => {
            format!("{}{} %r{}, {}, {}", cond.mnemonic(), sfx(width), dst.num(), operand(src), rel(off as i64))
        }
        Insn::Call { helper } => format!("call {helper}"),
        Insn::CallLocal { imm } => format!("call local {}", rel(imm as i64)),
        Insn::Callx { reg } => format!("call helper %r{}", reg.num()),
        Insn::Exit => "exit".into(),
    }
}

/// Signed hex as llvm-objdump prints immediates: `0x2a`, `-0x1`.
fn shex(v: i64) -> String {
    if v < 0 {
        format!("-0x{:x}", (v as i128).unsigned_abs())
    } else {
        format!("0x{v:x}")
    }
}

fn r(width: Width, reg: Reg) -> String {
    match width {
        Width::W32 => format!("w{}", reg.num()),
        Width::W64 => format!("r{}", reg.num()),
    }
}

fn llvm_src(width: Width, s: Source) -> String {
    match s {
        Source::Reg(x) => r(width, x),
        Source::Imm(i) => shex(i as i64),
    }
}

fn ty(size: Size, signed: bool) -> String {
    format!("{}{}", if signed { "s" } else { "u" }, size.bytes() * 8)
}

fn addr(reg: Reg, off: i16) -> String {
    if off < 0 {
        format!("r{} - 0x{:x}", reg.num(), -(off as i32))
    } else {
        format!("r{} + 0x{:x}", reg.num(), off)
    }
}

/// Register width llvm-objdump uses for a value of this memory size.
fn width_of(size: Size) -> Width {
    if size == Size::DW {
        Width::W64
    } else {
        Width::W32
    }
}

fn llvm(insn: &Insn) -> String {
    match *insn {
        Insn::Alu { width, op, dst, src } => {
            let o = match op {
                AluOp::Add => "+=",
                AluOp::Sub => "-=",
                AluOp::Mul => "*=",
                AluOp::Div => "/=",
                AluOp::Sdiv => "s/=",
                AluOp::Or => "|=",
                AluOp::And => "&=",
                AluOp::Lsh => "<<=",
                AluOp::Rsh => ">>=",
                AluOp::Mod => "%=",
                AluOp::Smod => "s%=",
                AluOp::Xor => "^=",
                AluOp::Mov => "=",
                AluOp::Arsh => "s>>=",
            };
            format!("{} {o} {}", r(width, dst), llvm_src(width, src))
        }
        Insn::Neg { width, dst } => format!("{} = -{}", r(width, dst), r(width, dst)),
        Insn::MovSx { width, bits, dst, src } => format!("{} = (s{}){}", r(width, dst), bits.bits(), r(width, src)),
        Insn::End { kind, bits, dst } => {
            let k = match kind {
                EndKind::Le => "le",
                EndKind::Be => "be",
                EndKind::Swap => "bswap",
            };
            format!("r{} = {k}{} r{}", dst.num(), bits.bits(), dst.num())
        }
        Insn::LdImm64 { kind, dst, imm, next_imm } => match kind {
            LdKind::Imm64 => {
                let v = cfg::lddw_value(imm, next_imm) as i64;
                format!("r{} = {} ll", dst.num(), shex(v))
            }
            // llvm-objdump prints the pseudo load's imm unsigned.
            _ => format!("ld_pseudo r{}, {}, 0x{:x}", dst.num(), shex(kind.src() as i64), imm as u32),
        },
        Insn::Ldx { size, signed, dst, src, off } => {
            let w = if signed { Width::W64 } else { width_of(size) };
            format!("{} = *({} *)({})", r(w, dst), ty(size, signed), addr(src, off))
        }
        Insn::St { size, dst, off, imm } => format!("*({} *)({}) = {}", ty(size, false), addr(dst, off), shex(imm as i64)),
        Insn::Stx { size, dst, src, off } => {
            format!("*({} *)({}) = {}", ty(size, false), addr(dst, off), r(width_of(size), src))
        }
        Insn::Atomic { size, op, dst, src, off } => {
            let w = width_of(size);
            let (t, s) = (ty(size, false), r(w, src));
            let a = addr(dst, off);
            match op {
                AtomicOp::Add => format!("lock *({t} *)({a}) += {s}"),
                AtomicOp::Or => format!("lock *({t} *)({a}) |= {s}"),
                AtomicOp::And => format!("lock *({t} *)({a}) &= {s}"),
                AtomicOp::Xor => format!("lock *({t} *)({a}) ^= {s}"),
                AtomicOp::FetchAdd => format!("{s} = atomic_fetch_add(({t} *)({a}), {s})"),
                AtomicOp::FetchOr => format!("{s} = atomic_fetch_or(({t} *)({a}), {s})"),
                AtomicOp::FetchAnd => format!("{s} = atomic_fetch_and(({t} *)({a}), {s})"),
                AtomicOp::FetchXor => format!("{s} = atomic_fetch_xor(({t} *)({a}), {s})"),
                AtomicOp::Xchg if w == Width::W32 => format!("{s} = xchg32_32({a}, {s})"),
                AtomicOp::Xchg => format!("{s} = xchg_64({a}, {s})"),
                AtomicOp::Cmpxchg if w == Width::W32 => format!("w0 = cmpxchg32_32({a}, w0, {s})"),
                AtomicOp::Cmpxchg => format!("r0 = cmpxchg_64({a}, r0, {s})"),
            }
        }
        Insn::Ja { off } => format!("goto {}", signed_rel(off as i64)),
        Insn::Gotol { imm } => format!("gotol {}", signed_rel(imm as i64)),
        Insn::Jmp { width, cond, dst, src, off } => {
            let o = match cond {
                JmpCond::Eq => "==",
                JmpCond::Gt => ">",
                JmpCond::Ge => ">=",
                JmpCond::Set => "&",
                JmpCond::Ne => "!=",
                JmpCond::Sgt => "s>",
                JmpCond::Sge => "s>=",
                JmpCond::Lt => "<",
                JmpCond::Le => "<=",
                JmpCond::Slt => "s<",
                JmpCond::Sle => "s<=",
            };
            format!("if {} {o} {} goto {}", r(width, dst), llvm_src(width, src), signed_rel(off as i64))
        }
        Insn::Call { helper } => format!("call {}", shex(helper.get() as i64)),
        Insn::CallLocal { imm } => format!("call {}", shex(imm as i64)),
        Insn::Callx { reg } => format!("callx r{}", reg.num()),
        Insn::Exit => "exit".into(),
    }
}

fn signed_rel(n: i64) -> String {
    if n < 0 {
        shex(n)
    } else {
        format!("+{}", shex(n))
    }
}
