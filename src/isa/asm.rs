//! Assembler for the syntax of the ecosystem's `.data` files (bpf_conformance / uBPF).
//!
//! Quirks kept for compatibility (bpf_conformance `lib/src/bpf_assembler.cc`):
//! a bare mnemonic is ALU64 (`add`), `…32` is ALU/JMP32; `+N`/`-N` jump targets are
//! relative to the next slot; a line whose first token ends in `:` is a label and the rest
//! of that line is ignored; the first `exit` defines the label `exit`; `swap*`/`bswap*`
//! are the unconditional ALU64 swap (0xd7); `movsx<src bits><dst bits>`; `call N` calls
//! helper N, `call helper %rX` is callx, `call local <target>` a bpf-to-bpf call;
//! `lock [fetch] <op>[32] [%rD+off], %rS`.
//!
//! rvbpf extension: `lddw %rD, map_fd(N)`, `map_value_fd(N, OFF)`, `var_addr(N)`,
//! `code_addr(N)`, `map_idx(N)`, `map_value_idx(N, OFF)` for the pseudo loads that the
//! bpf_conformance syntax cannot express.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::*;

/// An assembly error with the 1-based source line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {msg}")]
pub struct AsmError {
    pub line: usize,
    pub msg: String,
}

/// A jump target before label resolution.
enum Target {
    Rel(i64),
    Label(String),
}

enum Pending {
    Done(Insn),
    /// A jump or local call whose offset (imm for gotol/call local) waits for a label.
    Jump { template: Insn, target: Target, line: usize },
}

/// Puts the resolved distance into a jump template; `None` when it does not fit.
fn patch(template: Insn, rel: i64) -> Option<Insn> {
    Some(match template {
        Insn::Ja { .. } => Insn::Ja { off: i16::try_from(rel).ok()? },
        Insn::Jmp { width, cond, dst, src, .. } => Insn::Jmp { width, cond, dst, src, off: i16::try_from(rel).ok()? },
        Insn::Gotol { .. } => Insn::Gotol { imm: i32::try_from(rel).ok()? },
        Insn::CallLocal { .. } => Insn::CallLocal { imm: i32::try_from(rel).ok()? },
        other => other,
    })
}

/// Assembles source text into instructions (control flow is not validated here: use
/// [`Program::new`] for that).
pub fn assemble(src: &str) -> Result<Vec<Insn>, AsmError> {
    let mut labels: BTreeMap<String, usize> = BTreeMap::new();
    let mut pending: Vec<(usize, Pending)> = Vec::new(); // (slot, insn)
    let mut slot = 0usize;
    for (i, raw_line) in src.lines().enumerate() {
        let line_no = i + 1;
        let err = |msg: String| AsmError { line: line_no, msg };
        let text = raw_line.split('#').next().unwrap_or("").trim();
        if text.is_empty() {
            continue;
        }
        let tokens = tokenize(text);
        if tokens.is_empty() {
            continue;
        }
        if let Some(name) = tokens[0].strip_suffix(':') {
            if labels.insert(name.to_string(), slot).is_some() {
                return Err(err(alloc::format!("duplicate label {name:?}")));
            }
            continue;
        }
        let p = parse_insn(&tokens, line_no).map_err(err)?;
        if let Pending::Done(Insn::Exit) = p {
            labels.entry("exit".to_string()).or_insert(slot);
        }
        let size = match &p {
            Pending::Done(insn) => insn.slots(),
            Pending::Jump { .. } => 1,
        };
        pending.push((slot, p));
        slot += size;
    }
    let mut out = Vec::with_capacity(pending.len());
    for (pc, p) in pending {
        match p {
            Pending::Done(insn) => out.push(insn),
            Pending::Jump { template, target, line } => {
                let rel = match target {
                    Target::Rel(n) => n,
                    Target::Label(name) => match labels.get(&name) {
                        Some(&t) => cfg::offset_to(pc, t),
                        None => return Err(AsmError { line, msg: alloc::format!("unknown label {name:?}") }),
                    },
                };
                let insn = patch(template, rel).ok_or_else(|| AsmError {
                    line,
                    msg: alloc::format!("jump distance {rel} does not fit in the instruction's field"),
                })?;
                out.push(insn);
            }
        }
    }
    Ok(out)
}

/// Splits on whitespace and commas, keeping `[...]` and `name(...)` groups whole.
fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    for c in text.chars() {
        match c {
            '[' | '(' => {
                depth += 1;
                cur.push(c);
            }
            ']' | ')' => {
                depth -= 1;
                cur.push(c);
            }
            c if (c.is_whitespace() || c == ',') && depth <= 0 => {
                if !cur.is_empty() {
                    out.push(core::mem::take(&mut cur));
                }
            }
            c if c.is_whitespace() => {}
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn reg(tok: &str) -> Result<Reg, String> {
    let digits = tok.strip_prefix("%r").or_else(|| tok.strip_prefix('r')).ok_or_else(|| alloc::format!("expected a register, found {tok:?}"))?;
    let n: u8 = digits.parse().map_err(|_| alloc::format!("bad register {tok:?}"))?;
    Reg::new(n).ok_or_else(|| alloc::format!("bad register {tok:?}: only r0-r10 exist"))
}

fn is_reg(tok: &str) -> bool {
    tok.starts_with("%r") || (tok.starts_with('r') && tok[1..].chars().all(|c| c.is_ascii_digit()) && tok.len() > 1)
}

/// Parses a signed or `0x` integer into i128 for range checks.
fn int(tok: &str) -> Result<i128, String> {
    let (neg, body) = match tok.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, tok.strip_prefix('+').unwrap_or(tok)),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i128::from_str_radix(h, 16)
    } else {
        body.parse::<i128>()
    }
    .map_err(|_| alloc::format!("bad number {tok:?}"))?;
    Ok(if neg { -v } else { v })
}

fn is_hex(tok: &str) -> bool {
    tok.trim_start_matches('-').starts_with("0x") || tok.trim_start_matches('-').starts_with("0X")
}

/// imm32: decimal within i32; hex within u32, read as two's complement.
fn imm32(tok: &str) -> Result<i32, String> {
    let v = int(tok)?;
    if is_hex(tok) && (0..=u32::MAX as i128).contains(&v) {
        return Ok(v as u32 as i32);
    }
    i32::try_from(v).map_err(|_| alloc::format!("immediate {tok} does not fit in 32 bits"))
}

/// offset: decimal within i16, or hex up to 0xffff.
fn off16(tok: &str) -> Result<i16, String> {
    let v = int(tok)?;
    if is_hex(tok) && (0..=0xffff).contains(&v) {
        return Ok(v as u16 as i16);
    }
    i16::try_from(v).map_err(|_| alloc::format!("offset {tok} does not fit in 16 bits"))
}

/// `[%rN]`, `[%rN+off]`, `[%rN-off]`.
fn mem_operand(tok: &str) -> Result<(Reg, i16), String> {
    let inner = tok
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| alloc::format!("expected a memory operand [%rN+off], found {tok:?}"))?;
    match inner.find(['+', '-']) {
        Some(i) => {
            let r = reg(&inner[..i])?;
            let off = if inner.as_bytes()[i] == b'-' { off16(&inner[i..])? } else { off16(&inner[i + 1..])? };
            Ok((r, off))
        }
        None => Ok((reg(inner)?, 0)),
    }
}

fn target(tok: &str) -> Target {
    if tok.starts_with('+') || tok.starts_with('-') {
        if let Ok(n) = int(tok) {
            return Target::Rel(n as i64);
        }
    }
    Target::Label(tok.to_string())
}

fn expect_ops(t: &[String], n: usize) -> Result<(), String> {
    if t.len() - 1 != n {
        return Err(alloc::format!("{} takes {n} operand(s), found {}", t[0], t.len() - 1));
    }
    Ok(())
}

const ALU_NAMES: [(&str, AluOp); 14] = [
    ("add", AluOp::Add),
    ("sub", AluOp::Sub),
    ("mul", AluOp::Mul),
    ("div", AluOp::Div),
    ("sdiv", AluOp::Sdiv),
    ("or", AluOp::Or),
    ("and", AluOp::And),
    ("lsh", AluOp::Lsh),
    ("rsh", AluOp::Rsh),
    ("mod", AluOp::Mod),
    ("smod", AluOp::Smod),
    ("xor", AluOp::Xor),
    ("mov", AluOp::Mov),
    ("arsh", AluOp::Arsh),
];

/// Name of an ALU op in this syntax.
pub fn alu_name(op: AluOp) -> &'static str {
    ALU_NAMES.iter().find(|(_, o)| *o == op).map(|(n, _)| *n).unwrap_or("?")
}

fn split_width(m: &str) -> (&str, Width) {
    match m.strip_suffix("32") {
        Some(stem) => (stem, Width::W32),
        None => (m, Width::W64),
    }
}

fn size_of(s: &str) -> Option<Size> {
    Some(match s {
        "b" => Size::B,
        "h" => Size::H,
        "w" => Size::W,
        "dw" => Size::DW,
        _ => return None,
    })
}

fn parse_insn(t: &[String], line: usize) -> Result<Pending, String> {
    let m = t[0].to_ascii_lowercase();
    let done = |i: Insn| Ok(Pending::Done(i));
    // ALU with two operands, and neg.
    let (stem, width) = split_width(&m);
    if let Some(&(_, op)) = ALU_NAMES.iter().find(|(n, _)| *n == stem) {
        expect_ops(t, 2)?;
        let dst = reg(&t[1])?;
        let src = if is_reg(&t[2]) { Source::Reg(reg(&t[2])?) } else { Source::Imm(imm32(&t[2])?) };
        return done(Insn::Alu { width, op, dst, src });
    }
    if stem == "neg" {
        expect_ops(t, 1)?;
        return done(Insn::Neg { width, dst: reg(&t[1])? });
    }
    // movsx<src><dst>: movsx832 movsx1632 movsx864 movsx1664 movsx3264.
    if let Some(rest) = m.strip_prefix("movsx") {
        let (bits, width) = match rest {
            "832" => (SxWidth::S8, Width::W32),
            "1632" => (SxWidth::S16, Width::W32),
            "864" => (SxWidth::S8, Width::W64),
            "1664" => (SxWidth::S16, Width::W64),
            "3264" => (SxWidth::S32, Width::W64),
            _ => return Err(alloc::format!("unknown mnemonic {m:?}")),
        };
        expect_ops(t, 2)?;
        return done(Insn::MovSx { width, bits, dst: reg(&t[1])?, src: reg(&t[2])? });
    }
    for (prefix, kind) in [("le", EndKind::Le), ("be", EndKind::Be), ("bswap", EndKind::Swap), ("swap", EndKind::Swap)] {
        if let Some(rest) = m.strip_prefix(prefix) {
            let bits = match rest {
                "16" => EndWidth::B16,
                "32" => EndWidth::B32,
                "64" => EndWidth::B64,
                _ => continue,
            };
            expect_ops(t, 1)?;
            return done(Insn::End { kind, bits, dst: reg(&t[1])? });
        }
    }
    if m == "lddw" {
        expect_ops(t, 2)?;
        return done(lddw(reg(&t[1])?, &t[2])?);
    }
    if let Some(rest) = m.strip_prefix("ldx") {
        let (signed, sz) = match rest.strip_prefix('s') {
            Some(sz) if !sz.is_empty() && sz != "dw" => (true, sz),
            _ => (false, rest),
        };
        let size = size_of(sz).ok_or_else(|| alloc::format!("unknown mnemonic {m:?}"))?;
        expect_ops(t, 2)?;
        let (src, off) = mem_operand(&t[2])?;
        return done(Insn::Ldx { size, signed, dst: reg(&t[1])?, src, off });
    }
    if let Some(sz) = m.strip_prefix("stx") {
        if let Some(size) = size_of(sz) {
            expect_ops(t, 2)?;
            let (dst, off) = mem_operand(&t[1])?;
            return done(Insn::Stx { size, dst, src: reg(&t[2])?, off });
        }
    }
    if let Some(sz) = m.strip_prefix("st") {
        if let Some(size) = size_of(sz) {
            expect_ops(t, 2)?;
            let (dst, off) = mem_operand(&t[1])?;
            return done(Insn::St { size, dst, off, imm: imm32(&t[2])? });
        }
    }
    if m == "lock" {
        return lock(t).map(Pending::Done);
    }
    if m == "exit" {
        expect_ops(t, 0)?;
        return done(Insn::Exit);
    }
    if m == "ja" {
        expect_ops(t, 1)?;
        return Ok(Pending::Jump { template: Insn::Ja { off: 0 }, target: target(&t[1]), line });
    }
    if m == "ja32" {
        expect_ops(t, 1)?;
        return Ok(Pending::Jump { template: Insn::Gotol { imm: 0 }, target: target(&t[1]), line });
    }
    if m == "call" {
        return call(t, line);
    }
    if let Some(&cond) = JmpCond::ALL.iter().find(|c| c.mnemonic() == stem) {
        expect_ops(t, 3)?;
        let dst = reg(&t[1])?;
        let src = if is_reg(&t[2]) { Source::Reg(reg(&t[2])?) } else { Source::Imm(imm32(&t[2])?) };
        let template = Insn::Jmp { width, cond, dst, src, off: 0 };
        return Ok(Pending::Jump { template, target: target(&t[3]), line });
    }
    Err(alloc::format!("unknown mnemonic {m:?}"))
}

fn lddw(dst: Reg, op: &str) -> Result<Insn, String> {
    if let Some(open) = op.find('(') {
        let name = &op[..open];
        let args: Vec<&str> = op[open + 1..].trim_end_matches(')').split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let kind = LdKind::ALL
            .into_iter()
            .find(|k| k.name() == name && *k != LdKind::Imm64)
            .ok_or_else(|| alloc::format!("unknown lddw operand {name:?}"))?;
        // The second argument is the second slot's imm: the value offset for the map
        // value kinds, optional (default 0) for the others.
        let takes_off = matches!(kind, LdKind::MapValueFd | LdKind::MapValueIdx);
        if args.len() > 2 || args.len() < 1 + takes_off as usize {
            return Err(alloc::format!("{name} takes {} argument(s)", if takes_off { "2" } else { "1 or 2" }));
        }
        let imm = imm32(args[0])?;
        let next_imm = if args.len() == 2 { imm32(args[1])? } else { 0 };
        return Ok(Insn::LdImm64 { kind, dst, imm, next_imm });
    }
    let v = int(op)?;
    let v: u64 = if (0..=u64::MAX as i128).contains(&v) {
        v as u64
    } else if (i64::MIN as i128..0).contains(&v) {
        v as i64 as u64
    } else {
        return Err(alloc::format!("immediate {op} does not fit in 64 bits"));
    };
    Ok(Insn::LdImm64 { kind: LdKind::Imm64, dst, imm: v as u32 as i32, next_imm: (v >> 32) as u32 as i32 })
}

fn lock(t: &[String]) -> Result<Insn, String> {
    let mut i = 1;
    let fetch = t.get(1).map(|s| s == "fetch").unwrap_or(false);
    if fetch {
        i += 1;
    }
    let name = t.get(i).ok_or("lock needs an operation")?.to_ascii_lowercase();
    let (stem, width) = split_width(&name);
    let op = match (stem, fetch) {
        ("add", false) => AtomicOp::Add,
        ("or", false) => AtomicOp::Or,
        ("and", false) => AtomicOp::And,
        ("xor", false) => AtomicOp::Xor,
        ("add", true) => AtomicOp::FetchAdd,
        ("or", true) => AtomicOp::FetchOr,
        ("and", true) => AtomicOp::FetchAnd,
        ("xor", true) => AtomicOp::FetchXor,
        ("xchg", _) => AtomicOp::Xchg,
        ("cmpxchg", _) => AtomicOp::Cmpxchg,
        _ => return Err(alloc::format!("unknown atomic operation {name:?}")),
    };
    if t.len() != i + 3 {
        return Err("lock takes [%rD+off], %rS".into());
    }
    let (dst, off) = mem_operand(&t[i + 1])?;
    let size = if width == Width::W32 { Size::W } else { Size::DW };
    Ok(Insn::Atomic { size, op, dst, src: reg(&t[i + 2])?, off })
}

fn call(t: &[String], line: usize) -> Result<Pending, String> {
    match t.len() {
        // `call %rX` is callx, as bpf_conformance's assembler writes it.
        2 if is_reg(&t[1]) => Ok(Pending::Done(Insn::Callx { reg: reg(&t[1])? })),
        2 => Ok(Pending::Done(Insn::Call { helper: HelperId(imm32(&t[1])?) })),
        3 => match t[1].as_str() {
            "helper" if is_reg(&t[2]) => Ok(Pending::Done(Insn::Callx { reg: reg(&t[2])? })),
            "helper" => Ok(Pending::Done(Insn::Call { helper: HelperId(imm32(&t[2])?) })),
            "local" => Ok(Pending::Jump { template: Insn::CallLocal { imm: 0 }, target: target(&t[2]), line }),
            "runtime" => Err("call runtime (helper by BTF id) is not supported".into()),
            other => Err(alloc::format!("unknown call kind {other:?}")),
        },
        _ => Err("call takes a helper id, `%rX` or `helper %rX`, or `local <target>`".into()),
    }
}
