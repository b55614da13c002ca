//! The checks: what an instruction needs of the state before it, apart from what it
//! does to the state (PREVAIL's assertions).
//!
//! [`of`] states them, from the instruction alone and in one place; [`holds`] decides
//! one on a state. The transfer functions
//! ([`super::alu`], [`super::mem`], [`super::jmp`], [`super::call`]) assume every check
//! of their instruction holds, and refuse nothing themselves: the analysis decides the
//! checks first, in the order [`of`] gives them (the order decides which reason a
//! program with several faults is refused for, the kernel's where it can be).
//!
//! The kinds:
//! - a register read is initialised and of one type on every path ([`Check::Readable`]);
//!   the frame pointer is not written ([`Check::Writable`]);
//! - ALU operations on pointers follow the kernel's rules ([`Check::Arith`]): a 64-bit
//!   `add` or `sub` of a number moves a pointer that cannot be null, `sub` of two pointers
//!   into one region is a number, distances inside the packet are numbers, and nothing
//!   else touches a pointer (no 32-bit operation, PREVAIL v0.2.4); unary operations,
//!   atomic operands and `cmpxchg`'s r0 are numbers ([`Check::Number`]);
//! - memory accesses ([`Check::Access`]): the context by the program type's descriptor
//!   (constant offsets only, inside its size, writes only to its writable ranges; loads
//!   only of the fields of a context that lists them, whole or narrow, every access
//!   aligned to its size); the stack inside its frame, every byte read
//!   initialised; a map value inside the map's value size for every offset the register
//!   may hold; the packet inside the range a comparison with `data_end` proved;
//!   ring-buffer records and helper memory inside their size. A pointer that may be null,
//!   a number, the packet end and a map itself are never dereferenced;
//! - a pointer is stored only into the stack, as a whole 8-byte spill
//!   ([`Check::Stored`]): anywhere else it would leak an address;
//! - an atomic is aligned to its size ([`Check::Aligned`]);
//! - comparisons ([`Check::Comparable`]): numbers, a pointer with 0 (a null check),
//!   pointers into one region, packet pointers with each other;
//! - an `lddw` names a map or variable that exists ([`Check::MapRef`], [`Check::Var`]);
//! - helper calls: a helper the program type may call ([`Check::Helper`]), each argument
//!   against the helper's prototype (the one helper table, `helpers::Proto`,
//!   [`Check::Arg`]), tail calls not from a function or with a reference held
//!   ([`Check::TailCall`]), one live ring-buffer record per call site
//!   ([`Check::Reserve`]);
//! - a local call has a frame to spare ([`Check::Depth`]);
//! - `exit` ([`Check::Exit`]): of the program, r0 a number inside the program type's
//!   return range and no reference held; of a function, r0 initialised and nothing left
//!   pointing into the frame that ends.
//!
//! Division by a register that may be zero needs no check: the ISA defines it.

use alloc::format;
use alloc::string::{String, ToString};

use super::call::{map_arg, CallEnv};
use super::domain::stack::StackError;
use super::reg::{Kind, Reg, Region};
use super::state::State;
use crate::helpers::{Arg, Proto, Ret};
use crate::isa::{AluOp, AtomicOp, HelperId, Insn, JmpCond, LdKind, Source, Width};
use crate::mem::MAX_FRAMES;
use crate::loader::co_re::POISON_IMM;

/// The helper whose success ends the program (`bpf_tail_call`).
pub const TAIL_CALL: HelperId = HelperId(12);

/// Which helper a call calls: its number, or (`callx`) the number in a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Callee {
    Id(HelperId),
    Reg(u8),
}

/// What a number is needed for (it decides the message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberFor {
    /// An operation on the register's value, named as the kernel names it.
    Op(&'static str),
    /// The operand an atomic writes to memory.
    Stored,
    /// The value `cmpxchg` compares with (r0).
    Cmpxchg,
}

/// One condition on the state before an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// The register may be read: initialised, of one type on every path.
    Readable(u8),
    /// The instruction writes the register: it is not the frame pointer.
    Writable(u8),
    /// `dst op= src` is allowed on what they hold.
    Arith { op: AluOp, width: Width, dst: u8, src: Source },
    /// The register holds a number.
    Number { reg: u8, what: NumberFor },
    /// `size` bytes at `reg + off` may be read, or written.
    Access { reg: u8, off: i16, size: u8, write: bool },
    /// What register `value` holds may be stored at `ptr + off`.
    Stored { ptr: u8, off: i16, size: u8, value: u8 },
    /// `reg + off` is a multiple of `size`.
    Aligned { reg: u8, off: i16, size: u8 },
    /// `dst <cond> src` compares what may be compared.
    Comparable { width: Width, dst: u8, src: Source, cond: JmpCond },
    /// The map an `lddw` names is one of the program's.
    MapRef { kind: LdKind, imm: i32 },
    /// The variable `lddw var_addr(imm)` names exists.
    Var(i32),
    /// The helper is known and the program type may call it.
    Helper(Callee),
    /// A tail call is not made from a function, nor with a reference held.
    TailCall(Callee),
    /// Argument `n` (1–5) fits the helper's prototype.
    Arg { callee: Callee, n: u8 },
    /// A helper that reserves a record, called at `site`: no record from there is held.
    Reserve { callee: Callee, site: u32 },
    /// A local call: the call stack has a frame to spare.
    Depth,
    /// `exit`, with the program type's return range.
    Exit { ret: Option<(i64, i64)>, void: bool },
}

/// Why a check fails. Messages follow the kernel's log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("R{0} !read_ok")]
    NotInit(u8),
    /// Linux's `check_map_func_compatibility`: a helper and a map that do not go together.
    #[error("cannot pass map_type {map_type} into func bpf_{name}#{id}")]
    MapFunc { map_type: u32, name: &'static str, id: i32 },
    #[error("R{0} has different types on the paths that reach here")]
    Mixed(u8),
    #[error("frame pointer is read only")]
    FramePointer,
    #[error("R{reg} pointer arithmetic on {what} prohibited{hint}")]
    PointerArith { reg: u8, what: String, hint: &'static str },
    #[error("R{reg} {width}-bit pointer arithmetic prohibited")]
    Narrow { reg: u8, width: u32 },
    #[error("R{reg} {op} on pointer prohibited")]
    PointerOp { reg: u8, op: &'static str },
    #[error("R{dst} tried to add from different pointers or scalars")]
    TwoPointers { dst: u8 },
    #[error("R{dst} tried to subtract pointers into different regions")]
    DifferentRegions { dst: u8 },
    #[error("R{reg} invalid mem access '{what}'")]
    NotMemory { reg: u8, what: String },
    #[error("variable ctx access var_off={var} disallowed")]
    CtxVariable { var: String },
    #[error("invalid bpf_context access off={off} size={size}")]
    Ctx { off: i64, size: u64 },
    #[error("R{reg} min value is outside of the allowed memory range")]
    Below { reg: u8 },
    #[error("invalid access to {what}, value_size={limit} off={off} size={size}")]
    Outside { what: &'static str, limit: u64, off: i64, size: u64 },
    #[error("invalid access to packet, off={off} size={size}, R{reg}(r={range})")]
    Packet { reg: u8, off: i64, size: u64, range: u64 },
    #[error("{0}")]
    Stack(#[from] StackError),
    #[error("R{reg} leaks addr into {what}")]
    Leak { reg: u8, what: &'static str },
    #[error("invalid size of register spill")]
    PartialSpill,
    #[error("R0 must be a number for cmpxchg")]
    Cmpxchg,
    #[error("misaligned access off {at}{off:+} size {size}")]
    Misaligned { at: String, off: i16, size: u8 },
    #[error("R{0} pointer comparison prohibited")]
    PointerCompare(u8),
    #[error("fd {0} is not pointing to valid bpf_map")]
    NoMap(i32),
    #[error("lddw var_addr({0}): no such variable")]
    NoVar(i32),
    #[error("invalid func unknown#{0}")]
    UnknownHelper(i32),
    #[error("invalid func unknown#{id}: reachable instruction poisoned by a CO-RE relocation the target BTF cannot satisfy (`rvbpf load` lists it)", id = POISON_IMM)]
    CoRePoison,
    #[error("callx R{0}: the helper id is not one known number")]
    UnknownCallx(u8),
    #[error("tail_call is not allowed in a bpf-to-bpf call")]
    TailCallInFunction,
    #[error("tail_call would lead to reference leak (id={0})")]
    TailCallWithReference(u32),
    #[error("R{reg} type={found} expected={expected}")]
    Type { reg: u8, found: String, expected: &'static str },
    #[error("R{0} unbounded memory access, use 'var &= const' or 'if (var < const)'")]
    Unbounded(u8),
    #[error("R{0} invalid zero-sized read")]
    ZeroSize(u8),
    #[error("R{0} must point to the start of the object (offset 0)")]
    Offset(u8),
    #[error("R{0} is not a held reference: the record was released or never reserved")]
    Released(u8),
    #[error("Unreleased reference id={0} alloc_insn={p}", p = .0 - 1)]
    Unreleased(u32),
    #[error("the call stack of {0} frames is too deep")]
    TooDeep(usize),
    #[error("R0 leaks addr as return value")]
    ReturnsPointer,
    #[error("At program exit the register R0 has smin={smin} smax={smax} should have been in [{lo}, {hi}]")]
    ReturnRange { smin: i64, smax: i64, lo: i64, hi: i64 },
    #[error("cannot return stack pointer to the caller")]
    ReturnsStack,
}

impl CheckError {
    /// The errno Linux 6.18 gives the refusal: EINVAL for a return value out of range
    /// (`check_return_code`), EACCES for the others.
    pub fn errno(&self) -> i32 {
        match self {
            CheckError::ReturnRange { .. } | CheckError::MapFunc { .. } => crate::errno::EINVAL,
            _ => crate::errno::EACCES,
        }
    }
}

/// At most 8 checks (a helper call's), without allocating.
#[derive(Clone, Copy, Debug)]
pub struct Checks {
    items: [Check; 8],
    len: usize,
}

impl core::ops::Deref for Checks {
    type Target = [Check];
    fn deref(&self) -> &[Check] {
        &self.items[..self.len]
    }
}

impl Checks {
    fn push(&mut self, c: Check) {
        self.items[self.len] = c;
        self.len += 1;
    }

    fn extend(&mut self, cs: impl IntoIterator<Item = Check>) {
        cs.into_iter().for_each(|c| self.push(c));
    }
}

/// The checks of `insn` at slot `pc` (`ret`: the program type's return range), in the
/// order they are decided. They depend on the instruction alone, so they are made as it
/// steps: no table to build for a large program that only a few paths cross.
pub fn of(insn: &Insn, pc: usize, ret: Option<(i64, i64)>, void: bool) -> Checks {
    use Check::*;
    let mut out = Checks { items: [Depth; 8], len: 0 };
    let n = |r: crate::isa::Reg| r.index() as u8;
    let reads = |src: Source| match src {
        Source::Reg(r) => Some(Readable(n(r))),
        Source::Imm(_) => None,
    };
    match *insn {
        Insn::Alu { op, width, dst, src } => {
            out.extend(reads(src));
            out.push(Writable(n(dst)));
            if op != AluOp::Mov {
                out.push(Readable(n(dst)));
            }
            out.push(Arith { op, width, dst: n(dst), src });
        }
        Insn::Neg { dst, .. } => out.extend([Readable(n(dst)), Number { reg: n(dst), what: NumberFor::Op("neg") }]),
        Insn::MovSx { dst, src, .. } => out.extend([Readable(n(src)), Writable(n(dst)), Number { reg: n(src), what: NumberFor::Op("sign extension") }]),
        Insn::End { dst, .. } => out.extend([Readable(n(dst)), Number { reg: n(dst), what: NumberFor::Op("byte swap") }]),
        Insn::LdImm64 { kind, dst, imm, .. } => {
            out.push(Writable(n(dst)));
            match kind {
                LdKind::MapFd | LdKind::MapIdx | LdKind::MapValueFd | LdKind::MapValueIdx => out.push(MapRef { kind, imm }),
                LdKind::VarAddr => out.push(Var(imm)),
                LdKind::Imm64 | LdKind::CodeAddr => {}
            }
        }
        Insn::Ldx { size, dst, src, off, .. } => out.extend([Writable(n(dst)), Access { reg: n(src), off, size: size.bytes() as u8, write: false }]),
        Insn::Stx { size, dst, src, off } => {
            let size = size.bytes() as u8;
            out.extend([Readable(n(src)), Access { reg: n(dst), off, size, write: true }, Stored { ptr: n(dst), off, size, value: n(src) }]);
        }
        Insn::St { size, dst, off, .. } => out.push(Access { reg: n(dst), off, size: size.bytes() as u8, write: true }),
        Insn::Atomic { size, op, dst, src, off } => {
            let size = size.bytes() as u8;
            out.extend([Readable(n(src)), Number { reg: n(src), what: NumberFor::Stored }]);
            if op == AtomicOp::Cmpxchg {
                out.push(Number { reg: 0, what: NumberFor::Cmpxchg });
            }
            out.extend([Aligned { reg: n(dst), off, size }, Access { reg: n(dst), off, size, write: false }, Access { reg: n(dst), off, size, write: true }]);
        }
        Insn::Jmp { width, cond, dst, src, .. } => {
            out.push(Readable(n(dst)));
            out.extend(reads(src));
            out.push(Comparable { width, dst: n(dst), src, cond });
        }
        Insn::Ja { .. } | Insn::Gotol { .. } => {}
        Insn::Call { helper } => calls(Callee::Id(helper), pc, &mut out),
        Insn::Callx { reg } => calls(Callee::Reg(n(reg)), pc, &mut out),
        Insn::CallLocal { .. } => out.push(Depth),
        Insn::Exit => out.push(Exit { ret, void }),
    }
    out
}

/// A helper call's checks (`pc + 1` is the id a record reserved there gets).
fn calls(callee: Callee, pc: usize, out: &mut Checks) {
    out.extend([Check::Helper(callee), Check::TailCall(callee)]);
    out.extend((1..=5).map(|n| Check::Arg { callee, n }));
    out.push(Check::Reserve { callee, site: pc as u32 + 1 });
}

/// Whether `c` holds on `s`.
pub fn holds(c: &Check, s: &State, env: &CallEnv) -> Result<(), CheckError> {
    let reg = |k: u8| &s.regs[k as usize];
    match *c {
        Check::Readable(k) => readable(reg(k), k),
        Check::Writable(k) => if k == 10 { Err(CheckError::FramePointer) } else { Ok(()) },
        Check::Arith { op, width, dst, src } => arith(op, width == Width::W32, dst, src, s),
        Check::Number { reg: k, what } => number(reg(k), k, what),
        Check::Access { reg: k, off, size, write } => access(s, reg(k), k, off, size as u64, write, env).map(|_| ()),
        Check::Stored { ptr, off, size, value } => stored(reg(ptr), off, size, reg(value), value),
        Check::Aligned { reg: k, off, size } => aligned(reg(k), off, size),
        Check::Comparable { width, dst, src, cond } => comparable(width == Width::W64, dst, src, cond, s),
        Check::MapRef { kind, imm } => (env.map)(kind, imm).map(|_| ()).ok_or(CheckError::NoMap(imm)),
        Check::Var(imm) => (env.var)(imm).map(|_| ()).ok_or(CheckError::NoVar(imm)),
        Check::Helper(callee) => helper(callee, s, env).map(|_| ()),
        Check::TailCall(callee) => tail_call(callee, s, env),
        Check::Arg { callee, n } => arg(&helper(callee, s, env)?.1, n, s, env),
        Check::Reserve { callee, site } => match helper(callee, s, env)?.1.ret {
            Ret::RingbufMemOrNull if s.refs.contains(&site) => Err(CheckError::Unreleased(site)),
            _ => Ok(()),
        },
        Check::Depth => if s.frames.len() >= MAX_FRAMES { Err(CheckError::TooDeep(s.frames.len() + 1)) } else { Ok(()) },
        Check::Exit { ret, void } => exit(s, ret, void),
    }
}

/// Every check of `checks` on `s`, in order: the first that fails.
pub fn all(checks: &[Check], s: &State, env: &CallEnv) -> Result<(), CheckError> {
    checks.iter().try_for_each(|c| holds(c, s, env))
}

fn readable(r: &Reg, n: u8) -> Result<(), CheckError> {
    match r.kind {
        Kind::NotInit => Err(CheckError::NotInit(n)),
        Kind::Mixed => Err(CheckError::Mixed(n)),
        _ => Ok(()),
    }
}

/// The kernel's name of an ALU operation, in messages.
pub fn op_name(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "add",
        AluOp::Sub => "sub",
        AluOp::Mul => "mul",
        AluOp::Div => "div",
        AluOp::Sdiv => "sdiv",
        AluOp::Or => "bitwise operator |=",
        AluOp::And => "bitwise operator &=",
        AluOp::Lsh => "shift <<=",
        AluOp::Rsh => "shift >>=",
        AluOp::Mod => "mod",
        AluOp::Smod => "smod",
        AluOp::Xor => "bitwise operator ^=",
        AluOp::Mov => "mov",
        AluOp::Arsh => "shift s>>=",
    }
}

/// `dst op= src` on what they hold (both readable, by the checks before).
fn arith(op: AluOp, w32: bool, d: u8, src: Source, s: &State) -> Result<(), CheckError> {
    let (s_reg, b) = match src {
        Source::Reg(r) => (r.index() as u8, s.regs[r.index()]),
        Source::Imm(_) => (0, Reg::konst(0)),
    };
    let a = s.regs[d as usize];
    if op == AluOp::Mov {
        return if b.is_pointer() && w32 { Err(CheckError::Narrow { reg: s_reg, width: 32 }) } else { Ok(()) };
    }
    match (a.is_pointer(), b.is_pointer()) {
        (false, false) => Ok(()),
        (true, false) => moves(op, w32, d, &a),
        (false, true) if op == AluOp::Add && !w32 => moves(op, w32, s_reg, &b),
        (false, true) => Err(CheckError::PointerOp { reg: s_reg, op: op_name(op) }),
        (true, true) => {
            if let (AluOp::Sub, Kind::Ptr(x), Kind::Ptr(y)) = (op, a.kind, b.kind) {
                // Distances inside the packet (`data_end - data`: its length, at either
                // width: clang subtracts xdp_md's 32-bit fields with `w8 -= w1`).
                if x.is_packet() && y.is_packet() && (w32 || x != y) {
                    return Ok(());
                }
            }
            if op != AluOp::Sub || w32 {
                return Err(match op {
                    AluOp::Add => CheckError::TwoPointers { dst: d },
                    _ => CheckError::PointerOp { reg: d, op: op_name(op) },
                });
            }
            match (a.kind, b.kind) {
                (Kind::Ptr(x), Kind::Ptr(y)) if x == y && x != Region::PacketEnd => Ok(()),
                _ => Err(CheckError::DifferentRegions { dst: d }),
            }
        }
    }
}

/// The pointer `p` in register `n` moved by a number.
fn moves(op: AluOp, w32: bool, n: u8, p: &Reg) -> Result<(), CheckError> {
    let region = match p.kind {
        Kind::Ptr(r) => r,
        Kind::PtrOrNull(r) => return Err(CheckError::PointerArith { reg: n, what: format!("{}_or_null", r.name()), hint: ", null-check it first" }),
        _ => return Ok(()),
    };
    if w32 {
        return Err(CheckError::Narrow { reg: n, width: 32 });
    }
    if matches!(region, Region::MapPtr { .. } | Region::PacketEnd) {
        return Err(CheckError::PointerArith { reg: n, what: String::from(region.name()), hint: "" });
    }
    match op {
        AluOp::Add | AluOp::Sub => Ok(()),
        _ => Err(CheckError::PointerOp { reg: n, op: op_name(op) }),
    }
}

fn number(r: &Reg, n: u8, what: NumberFor) -> Result<(), CheckError> {
    if r.kind == Kind::Scalar {
        return Ok(());
    }
    match what {
        NumberFor::Op(op) if r.is_pointer() => Err(CheckError::PointerOp { reg: n, op }),
        NumberFor::Op(_) => readable(r, n),
        NumberFor::Stored => Err(CheckError::Leak { reg: n, what: "mem" }),
        NumberFor::Cmpxchg => Err(CheckError::Cmpxchg),
    }
}

/// Where a checked access goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The context, at this offset.
    Ctx(i64),
    /// A stack frame, at an offset in `lo..=hi`.
    Stack { frame: usize, lo: i64, hi: i64 },
    /// Anywhere else that holds only numbers (a map value, the packet, a record).
    Data,
}

/// Checks an access of `size` bytes at `p + off` (`p` in register `n`), and, for a
/// read of the stack, that every byte it may touch is initialised.
pub fn access(s: &State, p: &Reg, n: u8, off: i16, size: u64, write: bool, env: &CallEnv) -> Result<Target, CheckError> {
    let region = match p.kind {
        Kind::Ptr(r) => r,
        Kind::PtrOrNull(r) => return Err(CheckError::NotMemory { reg: n, what: format!("{}_or_null", r.name()) }),
        Kind::Scalar => return Err(CheckError::NotMemory { reg: n, what: String::from("scalar") }),
        Kind::NotInit | Kind::Mixed => return Err(CheckError::NotMemory { reg: n, what: String::from("inv") }),
    };
    let (lo, hi) = p.span(off);
    let within = |what: &'static str, limit: u64| {
        if lo < 0 {
            return Err(CheckError::Below { reg: n });
        }
        if hi as u64 + size > limit {
            return Err(CheckError::Outside { what, limit, off: hi, size });
        }
        Ok(Target::Data)
    };
    let ctx = env.mem.ctx;
    match region {
        Region::Ctx => {
            let Some(k) = p.constant() else { return Err(CheckError::CtxVariable { var: format!("({:#x}; {:#x})", p.value.full.var.value, p.value.full.var.mask) }) };
            let at = k as i64 + off as i64;
            let bad = CheckError::Ctx { off: at, size };
            let limit = ctx.size.map_or(u64::MAX, |s| s as u64);
            let end = if crate::verifier_bug!(CtxAccessStartOnly) { at as u64 + 1 } else { at as u64 + size };
            if at < 0 || end > limit {
                return Err(bad);
            }
            if write && !ctx.writable_at(at, size) {
                return Err(bad);
            }
            if !ctx.fields.is_empty() && (at as u64 % size != 0 || !write && !ctx.readable(at, size)) {
                return Err(bad);
            }
            Ok(Target::Ctx(at))
        }
        Region::Stack { frame } => {
            let stack = s.frames.get(frame as usize).ok_or(CheckError::NotMemory { reg: n, what: String::from("fp") })?;
            if write {
                stack.inside(lo, hi, size)?;
            } else {
                stack.load_somewhere(lo, hi, size)?;
            }
            Ok(Target::Stack { frame: frame as usize, lo, hi })
        }
        Region::MapValue { map } => within("map value", (env.mem.value_size)(map).unwrap_or(0) as u64 + crate::verifier_bug!(MapValueOffByOne) as u64),
        Region::Ringbuf { size: s } | Region::Mem { size: s } => within("mem", s),
        Region::Packet | Region::PacketMeta => {
            // Inside the packet, and inside what a comparison proved from the pointer.
            if lo < 0 || off as i64 + size as i64 > p.range as i64 {
                return Err(CheckError::Packet { reg: n, off: hi, size, range: p.range });
            }
            Ok(Target::Data)
        }
        Region::PacketEnd | Region::MapPtr { .. } => Err(CheckError::NotMemory { reg: n, what: String::from(region.name()) }),
    }
}

/// A store of `value` (register `v`) through `p`: a pointer goes only into the stack, as
/// a whole spill at a known offset.
fn stored(p: &Reg, off: i16, size: u8, value: &Reg, v: u8) -> Result<(), CheckError> {
    if !value.is_pointer() {
        return Ok(());
    }
    match p.kind {
        Kind::Ptr(Region::Stack { .. }) => {
            let (lo, hi) = p.span(off);
            if size != 8 || lo != hi { Err(CheckError::PartialSpill) } else { Ok(()) }
        }
        kind => Err(CheckError::Leak {
            reg: v,
            what: match kind {
                Kind::Ptr(Region::Ctx) => "ctx",
                Kind::Ptr(Region::MapValue { .. }) => "map",
                Kind::Ptr(Region::Packet | Region::PacketMeta) => "packet",
                _ => "mem",
            },
        }),
    }
}

/// Atomics are aligned to their size, wherever they point (the ISA leaves a misaligned
/// one undefined; RV64's AMOs trap on it).
fn aligned(p: &Reg, off: i16, size: u8) -> Result<(), CheckError> {
    let n = size as u64;
    let var = p.value.full.var;
    if var.mask & (n - 1) != 0 || var.value.wrapping_add(off as i64 as u64) & (n - 1) != 0 {
        let at = p.constant().map_or_else(|| format!("({:#x}; {:#x})", var.value, var.mask), |c| format!("{}", c as i64));
        return Err(CheckError::Misaligned { at, off, size });
    }
    Ok(())
}

/// `dst <cond> src` (both readable): numbers; a pointer, or one that may be null, with 0
/// (`==` and `!=` at 64 bits); pointers into one region at 64 bits; packet pointers with
/// each other. Other comparisons would tell a program an address.
fn comparable(wide: bool, d: u8, src: Source, cond: JmpCond, s: &State) -> Result<(), CheckError> {
    let a = s.regs[d as usize];
    let (s_reg, b) = match src {
        Source::Reg(r) => (Some(r.index() as u8), s.regs[r.index()]),
        Source::Imm(i) => (None, Reg::konst(crate::semantics::imm64(i))),
    };
    let null_check = wide && b.constant() == Some(0) && matches!(cond, JmpCond::Eq | JmpCond::Ne);
    match (a.kind, b.kind) {
        (Kind::Scalar, Kind::Scalar) => Ok(()),
        (Kind::PtrOrNull(_) | Kind::Ptr(_), Kind::Scalar) if null_check => Ok(()),
        (Kind::Ptr(x), Kind::Ptr(y)) if wide && (x == y || x == Region::Packet && y == Region::PacketEnd || x == Region::PacketEnd && y == Region::Packet) => Ok(()),
        (Kind::Ptr(x), Kind::Ptr(y)) if x.is_packet() && y.is_packet() => Ok(()),
        (Kind::Scalar, _) => Err(CheckError::PointerCompare(s_reg.unwrap_or(0))),
        _ => Err(CheckError::PointerCompare(d)),
    }
}

/// The helper a call calls, with its prototype, if the program may call it.
pub fn helper(callee: Callee, s: &State, env: &CallEnv) -> Result<(HelperId, Proto), CheckError> {
    let id = match callee {
        Callee::Id(id) => id,
        Callee::Reg(n) => {
            let r = &s.regs[n as usize];
            r.constant().filter(|_| r.kind == Kind::Scalar).and_then(HelperId::from_reg).ok_or(CheckError::UnknownCallx(n))?
        }
    };
    if id.get() == POISON_IMM {
        return Err(CheckError::CoRePoison);
    }
    let proto = (env.helper)(id).ok_or(CheckError::UnknownHelper(id.get()))?;
    Ok((id, proto))
}

/// A tail call may not leave a frame or a reference behind (the runtime refuses one
/// from a function; the program it starts cannot release a record this one holds).
fn tail_call(callee: Callee, s: &State, env: &CallEnv) -> Result<(), CheckError> {
    if helper(callee, s, env)?.0 != TAIL_CALL {
        return Ok(());
    }
    if s.frames.len() > 1 {
        return Err(CheckError::TailCallInFunction);
    }
    match s.refs.first() {
        Some(&id) => Err(CheckError::TailCallWithReference(id)),
        None => Ok(()),
    }
}

/// The kernel's name of a register's type, in messages.
pub fn kind_name(r: &Reg) -> String {
    match r.kind {
        Kind::Scalar => String::from("scalar"),
        Kind::Ptr(p) => p.name().to_string(),
        Kind::PtrOrNull(p) => format!("{}_or_null", p.name()),
        Kind::NotInit => String::from("?"),
        Kind::Mixed => String::from("mixed"),
    }
}

/// Argument `n` of a call of `proto`. Memory arguments are checked as accesses of the
/// memory they name: a map key or value for the map's key or value size (the map is
/// the argument before), a buffer for the largest size its size argument may hold. A
/// buffer the helper reads must be initialised (one it writes need not be). A size must
/// be a bounded number (and not 0 where the helper needs bytes).
fn arg(proto: &Proto, n: u8, s: &State, env: &CallEnv) -> Result<(), CheckError> {
    let k = n as usize - 1;
    let kind = proto.args[k];
    if kind == Arg::None {
        return Ok(());
    }
    let r = &s.regs[n as usize];
    readable(r, n)?;
    let want = |expected: &'static str| CheckError::Type { reg: n, found: kind_name(r), expected };
    let bytes = |size: u64, write: bool| if size == 0 { Ok(()) } else { access(s, r, n, 0, size, write, env).map(|_| ()) };
    match kind {
        Arg::None | Arg::Anything | Arg::ConstSize | Arg::ConstSizeOrZero => Ok(()),
        Arg::ConstMapPtr => match r.kind {
            Kind::Ptr(Region::MapPtr { map }) => map_fits_helper((env.map_type)(map).unwrap_or(0), proto),
            _ => Err(want("map_ptr")),
        },
        Arg::MapKey | Arg::MapValue => {
            let m = map_arg(proto, s).ok_or_else(|| want("map_ptr before it"))?;
            let size = if kind == Arg::MapKey { (env.key_size)(m) } else { (env.mem.value_size)(m) };
            // Read by the helper (the seeded bug checks the key as a write: inside the
            // memory, written or not).
            bytes(size.unwrap_or(0) as u64, kind == Arg::MapKey && crate::verifier_bug!(MapKeyUninit))
        }
        Arg::Mem | Arg::UninitMem => {
            let can_be_zero = proto.args.get(k + 1) == Some(&Arg::ConstSizeOrZero);
            let size = bounded_size(&s.regs[n as usize + 1], n + 1, can_be_zero)?;
            bytes(size, kind == Arg::UninitMem)
        }
        Arg::Ctx if r.kind != Kind::Ptr(Region::Ctx) => Err(want("ctx")),
        Arg::RingbufRecord if !matches!(r.kind, Kind::Ptr(Region::Ringbuf { .. })) => Err(want("ringbuf_mem")),
        Arg::Ctx | Arg::RingbufRecord if r.constant() != Some(0) => Err(CheckError::Offset(n)),
        Arg::Ctx => Ok(()),
        // Released before: no copy of the record may be used.
        Arg::RingbufRecord if !s.refs.contains(&r.id) => Err(CheckError::Released(n)),
        Arg::RingbufRecord => Ok(()),
        Arg::ConstStr => bytes(1, false),
    }
}

/// Linux's `check_map_func_compatibility` for the map types rvbpf has: prog arrays,
/// ring buffers and maps-in-maps take only their own helpers, and those helpers take
/// only them.
fn map_fits_helper(map_type: u32, proto: &Proto) -> Result<(), CheckError> {
    use crate::maps::map_type::*;
    let id = proto.id.0;
    let own: &[i32] = match map_type {
        PROG_ARRAY => &[12],
        RINGBUF => &[130, 131, 134],
        ARRAY_OF_MAPS | HASH_OF_MAPS => &[1],
        // No helper takes a struct_ops map.
        STRUCT_OPS => return Err(CheckError::MapFunc { map_type, name: proto.name, id }),
        _ => &[],
    };
    let needs = match id {
        12 => Some(PROG_ARRAY),
        130 | 131 | 134 => Some(RINGBUF),
        _ => None,
    };
    if !own.is_empty() && !own.contains(&id) || needs.is_some_and(|t| t != map_type) {
        return Err(CheckError::MapFunc { map_type, name: proto.name, id });
    }
    Ok(())
}

/// The largest value a size argument (register `n`) may hold.
fn bounded_size(r: &Reg, n: u8, can_be_zero: bool) -> Result<u64, CheckError> {
    readable(r, n)?;
    if r.kind != Kind::Scalar {
        return Err(CheckError::Type { reg: n, found: kind_name(r), expected: "scalar" });
    }
    let f = r.value.full;
    // Sizes above 2^29 are refused as the kernel does (no buffer is that large).
    if f.umax >= 1 << 29 {
        return Err(CheckError::Unbounded(n));
    }
    if f.umin == 0 && !can_be_zero {
        return Err(CheckError::ZeroSize(n));
    }
    Ok(f.umax)
}

/// `exit`: of the program (one frame), r0 a number in the return range and no
/// reference held; of a function, r0 initialised and nothing that stays (r0, the
/// registers callers keep, callers' spills) pointing into the frame that ends.
fn exit(s: &State, range: Option<(i64, i64)>, void: bool) -> Result<(), CheckError> {
    let r0 = &s.regs[0];
    if void && s.frames.len() == 1 {
        // Nothing is returned: r0 is not looked at; references must still be released.
        return s.refs.first().map_or(Ok(()), |&id| Err(CheckError::Unreleased(id)));
    }
    readable(r0, 0)?;
    if s.frames.len() > 1 {
        let frame = s.frame() as u8;
        let into_frame = |r: &Reg| matches!(r.kind, Kind::Ptr(Region::Stack { frame: f }) | Kind::PtrOrNull(Region::Stack { frame: f }) if f >= frame);
        let escapes = into_frame(r0) || s.saved.iter().flatten().any(into_frame) || s.frames[..s.frame()].iter().flat_map(|f| f.spilled()).any(into_frame);
        return if escapes { Err(CheckError::ReturnsStack) } else { Ok(()) };
    }
    if r0.kind != Kind::Scalar {
        return Err(CheckError::ReturnsPointer);
    }
    if let Some((lo, hi)) = range {
        let f = r0.value.full;
        if (f.smin as i64) < lo || (f.smax as i64) > hi {
            return Err(CheckError::ReturnRange { smin: f.smin as i64, smax: f.smax as i64, lo, hi });
        }
    }
    match s.refs.first() {
        Some(&id) => Err(CheckError::Unreleased(id)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpers::Arg::*;
    use crate::isa::Reg as R;
    use crate::prog::CtxDescriptor;
    use crate::verifier::domain::bounds::Bounds;
    use crate::verifier::domain::scalar::Scalar;
    use crate::verifier::mem::MemEnv;

    const WRITABLE: CtxDescriptor = CtxDescriptor { name: "raw", size: Some(64), writable: &[(8, 16)], fields: &[], rewrite: false };

    fn proto(ret: Ret, args: [Arg; 5]) -> Proto {
        Proto { id: HelperId(1), name: "test", ret, args, gpl_only: false }
    }

    /// The checks of `c` on `s`, in an environment with one map (0: 4-byte keys, 16-byte
    /// values), helper 1 of prototype `p` and the tail call, and the context `ctx`.
    fn on(c: Check, s: &State, ctx: &CtxDescriptor, p: Proto) -> Result<(), CheckError> {
        let mem = MemEnv { ctx, value_size: &|m| (m == 0).then_some(16) };
        let tail = proto(Ret::Integer, [Ctx, ConstMapPtr, Anything, None, None]);
        let helper = |id: HelperId| match id.get() {
            1 => Some(p),
            12 => Some(tail),
            _ => Option::None,
        };
        let env = CallEnv { mem: &mem, key_size: &|m| (m == 0).then_some(4), map_type: &|m| (m == 0).then_some(crate::maps::map_type::ARRAY), helper: &helper, map: &|_, i| (i == 7).then_some(0), var: &|i| (i == 0).then_some(8) };
        holds(&c, s, &env)
    }

    fn regs() -> &'static CtxDescriptor {
        crate::prog::ProgType::Kprobe.ctx()
    }
    fn xdp() -> &'static CtxDescriptor {
        crate::prog::ProgType::Xdp.ctx()
    }
    fn any() -> Proto {
        proto(Ret::Integer, [None; 5])
    }
    fn check(c: Check, s: &State) -> Result<(), CheckError> {
        on(c, s, regs(), any())
    }
    fn src(n: u8) -> Source {
        Source::Reg(R::new(n).unwrap())
    }
    fn access(reg: u8, off: i16, size: u8, write: bool) -> Check {
        Check::Access { reg, off, size, write }
    }

    #[test]
    fn the_checks_of_an_instruction_come_from_it_alone_in_order() {
        let insns = crate::isa::asm::assemble("ldxw r0, [r1+4]\nstxdw [r10-8], r0\ncall 1\nexit").unwrap();
        let at = |i: usize| of(&insns[i], i, Some((0, 1)), false);
        assert_eq!(*at(0), [Check::Writable(0), access(1, 4, 4, false)]);
        assert_eq!(*at(1), [Check::Readable(0), access(10, -8, 8, true), Check::Stored { ptr: 10, off: -8, size: 8, value: 0 }]);
        let c = Callee::Id(HelperId(1));
        assert_eq!(at(2)[..3], [Check::Helper(c), Check::TailCall(c), Check::Arg { callee: c, n: 1 }]);
        assert_eq!(at(2).last(), Some(&Check::Reserve { callee: c, site: 3 }));
        assert_eq!(at(2).len(), 8, "a call fills the capacity");
        assert_eq!(*at(3), [Check::Exit { ret: Some((0, 1)), void: false }]);
    }

    #[test]
    fn registers_read_are_initialised_and_of_one_type() {
        let mut s = State::entry();
        assert_eq!(check(Check::Readable(3), &s), Err(CheckError::NotInit(3)));
        assert_eq!(check(Check::Readable(1), &s), Ok(()));
        s.regs[5] = Reg::konst(1).join(&Reg::ptr(Region::Ctx));
        assert_eq!(check(Check::Readable(5), &s), Err(CheckError::Mixed(5)));
        assert_eq!(check(Check::Writable(10), &s), Err(CheckError::FramePointer));
        assert_eq!(check(Check::Writable(9), &s), Ok(()));
    }

    #[test]
    fn pointer_arithmetic_follows_the_kernels_rules() {
        let mut s = State::entry();
        s.regs[2] = Reg::scalar(Scalar::of(Bounds::urange(0, 8)));
        s.regs[3] = Reg::ptr_at(Region::Stack { frame: 0 }, -16);
        let arith = |op, width, dst, src| Check::Arith { op, width, dst, src };
        let w64 = Width::W64;
        assert_eq!(check(arith(AluOp::Add, w64, 1, src(2)), &s), Ok(()));
        assert_eq!(check(arith(AluOp::Add, w64, 2, src(1)), &s), Ok(()), "number + pointer");
        assert_eq!(check(arith(AluOp::Mul, w64, 2, src(2)), &s), Ok(()), "numbers");
        assert_eq!(check(arith(AluOp::Add, Width::W32, 1, Source::Imm(4)), &s), Err(CheckError::Narrow { reg: 1, width: 32 }));
        assert_eq!(check(arith(AluOp::And, w64, 1, Source::Imm(4)), &s), Err(CheckError::PointerOp { reg: 1, op: "bitwise operator &=" }));
        assert_eq!(check(arith(AluOp::Mov, Width::W32, 4, src(1)), &s), Err(CheckError::Narrow { reg: 1, width: 32 }));
        assert_eq!(check(arith(AluOp::Mov, w64, 4, src(1)), &s), Ok(()));
        assert_eq!(check(arith(AluOp::Sub, w64, 2, src(1)), &s), Err(CheckError::PointerOp { reg: 1, op: "sub" }), "number - pointer");
        assert_eq!(check(arith(AluOp::Sub, w64, 3, src(10)), &s), Ok(()), "within one frame");
        assert_eq!(check(arith(AluOp::Sub, w64, 3, src(1)), &s), Err(CheckError::DifferentRegions { dst: 3 }));
        assert_eq!(check(arith(AluOp::Add, w64, 3, src(1)), &s), Err(CheckError::TwoPointers { dst: 3 }));
        s.regs[4] = Reg { kind: Kind::PtrOrNull(Region::MapValue { map: 0 }), ..Reg::ptr(Region::Ctx) };
        assert_eq!(check(arith(AluOp::Add, w64, 4, Source::Imm(4)), &s).unwrap_err().to_string(), "R4 pointer arithmetic on map_value_or_null prohibited, null-check it first");
        s.regs[5] = Reg::ptr(Region::PacketEnd);
        assert_eq!(check(arith(AluOp::Sub, w64, 5, Source::Imm(4)), &s).unwrap_err().to_string(), "R5 pointer arithmetic on pkt_end prohibited");
        s.regs[6] = Reg::ptr(Region::Packet);
        assert_eq!(check(arith(AluOp::Sub, w64, 5, src(6)), &s), Ok(()), "the packet's length");
        assert_eq!(check(arith(AluOp::Sub, Width::W32, 5, src(6)), &s), Ok(()), "at 32 bits too");
    }

    #[test]
    fn unary_operations_atomics_and_cmpxchg_need_numbers() {
        let mut s = State::entry();
        let number = |reg, what| Check::Number { reg, what };
        assert_eq!(check(number(1, NumberFor::Op("neg")), &s), Err(CheckError::PointerOp { reg: 1, op: "neg" }));
        assert_eq!(check(number(1, NumberFor::Stored), &s).unwrap_err().to_string(), "R1 leaks addr into mem");
        assert_eq!(check(number(0, NumberFor::Cmpxchg), &s), Err(CheckError::Cmpxchg));
        s.regs[0] = Reg::konst(3);
        assert_eq!(check(number(0, NumberFor::Cmpxchg), &s), Ok(()));
        // Aligned to the size, for every offset the pointer may hold.
        s.regs[2] = Reg { value: Scalar::konst(0).join(Scalar::konst(4)), ..Reg::ptr(Region::Stack { frame: 0 }) };
        assert_eq!(check(Check::Aligned { reg: 10, off: -8, size: 8 }, &s), Ok(()));
        assert_eq!(check(Check::Aligned { reg: 10, off: -4, size: 8 }, &s).unwrap_err().to_string(), "misaligned access off 0-4 size 8");
        assert_eq!(check(Check::Aligned { reg: 2, off: 0, size: 4 }, &s), Ok(()), "0 or 4");
        assert_eq!(check(Check::Aligned { reg: 2, off: 0, size: 8 }, &s).unwrap_err().to_string(), "misaligned access off (0x0; 0x4)+0 size 8");
    }

    #[test]
    fn the_stack_is_read_only_where_initialised_and_inside_the_frame() {
        let mut s = State::entry();
        assert_eq!(check(access(10, -16, 8, false), &s).unwrap_err().to_string(), "invalid read from stack off -16+0 size 8: uninitialised");
        assert_eq!(check(access(10, -16, 8, true), &s), Ok(()));
        s.frame_mut(0).store(-16, 4, Option::None, false).unwrap();
        assert_eq!(check(access(10, -16, 4, false), &s), Ok(()));
        assert_eq!(check(access(10, -16, 8, false), &s).unwrap_err().to_string(), "invalid read from stack off -16+4 size 8: uninitialised");
        assert!(check(access(10, 0, 8, true), &s).is_err(), "above the frame");
        assert!(check(access(10, -520, 8, true), &s).is_err(), "below it");
        // A variable offset: every byte it may touch.
        s.regs[2] = Reg { value: Scalar::of(Bounds::srange(-16i64 as u64, -14i64 as u64)), ..s.regs[10] };
        assert_eq!(check(access(2, 0, 2, false), &s), Ok(()));
        assert!(check(access(2, 0, 4, false), &s).is_err());
    }

    #[test]
    fn the_context_follows_its_descriptor() {
        let mut s = State::entry();
        let x = |c, s: &State| on(c, s, xdp(), any());
        assert_eq!(x(access(1, 0, 4, false), &s), Ok(()));
        assert_eq!(x(access(1, 2, 4, false), &s), Err(CheckError::Ctx { off: 2, size: 4 }), "not a field");
        assert_eq!(x(access(1, 0, 4, true), &s), Err(CheckError::Ctx { off: 0, size: 4 }), "xdp_md is read-only");
        assert_eq!(check(access(1, 280, 8, false), &s), Ok(()));
        assert_eq!(check(access(1, 284, 8, false), &s), Err(CheckError::Ctx { off: 284, size: 8 }), "past pt_regs");
        assert_eq!(check(access(1, 0, 8, true), &s), Err(CheckError::Ctx { off: 0, size: 8 }), "pt_regs is read-only");
        let w = |c, s: &State| on(c, s, &WRITABLE, any());
        assert_eq!(w(access(1, 8, 8, true), &s), Ok(()));
        assert_eq!(w(access(1, 12, 8, true), &s), Err(CheckError::Ctx { off: 12, size: 8 }), "past the writable range");
        s.regs[1] = Reg { value: Scalar::of(Bounds::urange(0, 8)), ..s.regs[1] };
        assert!(matches!(check(access(1, 0, 8, false), &s), Err(CheckError::CtxVariable { .. })));
    }

    #[test]
    fn map_values_records_and_packets_stay_in_bounds() {
        let mut s = State::entry();
        s.regs[0] = Reg { value: Scalar::of(Bounds::urange(0, 8)), ..Reg::ptr(Region::MapValue { map: 0 }) };
        assert_eq!(check(access(0, 0, 8, false), &s), Ok(()), "offsets 0..=8, 8 bytes, value size 16");
        assert_eq!(check(access(0, 1, 8, true), &s), Err(CheckError::Outside { what: "map value", limit: 16, off: 9, size: 8 }));
        s.regs[0].value = Scalar::konst(-4i64 as u64);
        assert_eq!(check(access(0, 0, 4, false), &s), Err(CheckError::Below { reg: 0 }));
        s.regs[0] = Reg { kind: Kind::PtrOrNull(Region::MapValue { map: 0 }), ..Reg::ptr(Region::Ctx) };
        assert_eq!(check(access(0, 0, 4, false), &s).unwrap_err().to_string(), "R0 invalid mem access 'map_value_or_null'");
        s.regs[3] = Reg::ptr(Region::Ringbuf { size: 8 });
        assert_eq!(check(access(3, 4, 4, true), &s), Ok(()));
        assert!(check(access(3, 5, 4, true), &s).is_err());
        s.regs[2] = Reg { range: 14, ..Reg::ptr(Region::Packet) };
        assert_eq!(check(access(2, 12, 2, false), &s), Ok(()));
        assert_eq!(check(access(2, 13, 2, false), &s), Err(CheckError::Packet { reg: 2, off: 13, size: 2, range: 14 }));
        s.regs[4] = Reg::konst(0);
        assert_eq!(check(access(4, 0, 1, false), &s).unwrap_err().to_string(), "R4 invalid mem access 'scalar'");
        s.regs[4] = Reg::ptr(Region::PacketEnd);
        assert_eq!(check(access(4, 0, 1, false), &s).unwrap_err().to_string(), "R4 invalid mem access 'pkt_end'");
        assert_eq!(check(access(5, 0, 1, false), &s).unwrap_err().to_string(), "R5 invalid mem access 'inv'");
    }

    #[test]
    fn pointers_are_stored_only_as_whole_spills() {
        let mut s = State::entry();
        let stored = |ptr, off, size, value| Check::Stored { ptr, off, size, value };
        assert_eq!(check(stored(10, -8, 8, 1), &s), Ok(()));
        assert_eq!(check(stored(10, -12, 4, 1), &s), Err(CheckError::PartialSpill));
        s.regs[2] = Reg::ptr(Region::MapValue { map: 0 });
        assert_eq!(check(stored(2, 0, 8, 1), &s), Err(CheckError::Leak { reg: 1, what: "map" }));
        assert_eq!(check(stored(1, 0, 8, 10), &s), Err(CheckError::Leak { reg: 10, what: "ctx" }));
        s.regs[3] = Reg::konst(5);
        assert_eq!(check(stored(2, 0, 8, 3), &s), Ok(()), "numbers go anywhere");
    }

    #[test]
    fn comparisons_tell_no_address() {
        let mut s = State::entry();
        let cmp = |width, dst, src, cond| Check::Comparable { width, dst, src, cond };
        let w64 = Width::W64;
        s.regs[0] = Reg { kind: Kind::PtrOrNull(Region::MapValue { map: 0 }), id: 7, ..Reg::ptr(Region::Ctx) };
        s.regs[2] = Reg::ptr(Region::Packet);
        s.regs[3] = Reg::ptr(Region::PacketEnd);
        s.regs[4] = Reg::konst(9);
        assert_eq!(check(cmp(w64, 0, Source::Imm(0), JmpCond::Ne), &s), Ok(()), "a null check");
        assert_eq!(check(cmp(Width::W32, 0, Source::Imm(0), JmpCond::Ne), &s), Err(CheckError::PointerCompare(0)), "not at 32 bits");
        assert_eq!(check(cmp(w64, 1, Source::Imm(5), JmpCond::Gt), &s), Err(CheckError::PointerCompare(1)));
        assert_eq!(check(cmp(w64, 2, src(3), JmpCond::Gt), &s), Ok(()), "data with data_end");
        assert_eq!(check(cmp(w64, 3, src(2), JmpCond::Ge), &s), Ok(()));
        assert_eq!(check(cmp(w64, 4, src(1), JmpCond::Eq), &s), Err(CheckError::PointerCompare(1)), "a number with a pointer");
        assert_eq!(check(cmp(w64, 1, src(10), JmpCond::Eq), &s), Err(CheckError::PointerCompare(1)), "different regions");
        assert_eq!(check(cmp(Width::W32, 4, Source::Imm(1), JmpCond::Sle), &s), Ok(()));
    }

    #[test]
    fn map_references_and_variables_exist() {
        let s = State::entry();
        assert_eq!(check(Check::MapRef { kind: LdKind::MapFd, imm: 7 }, &s), Ok(()));
        assert_eq!(check(Check::MapRef { kind: LdKind::MapFd, imm: 3 }, &s).unwrap_err().to_string(), "fd 3 is not pointing to valid bpf_map");
        assert_eq!(check(Check::Var(0), &s), Ok(()));
        assert_eq!(check(Check::Var(1), &s), Err(CheckError::NoVar(1)));
    }

    #[test]
    fn helpers_are_known_and_their_arguments_fit_the_prototype() {
        let mut s = State::entry();
        let one = Callee::Id(HelperId(1));
        assert_eq!(check(Check::Helper(Callee::Id(HelperId(99))), &s).unwrap_err().to_string(), "invalid func unknown#99");
        assert_eq!(check(Check::Helper(Callee::Reg(3)), &s), Err(CheckError::UnknownCallx(3)));
        s.regs[3] = Reg::konst(1);
        assert_eq!(check(Check::Helper(Callee::Reg(3)), &s), Ok(()), "callx of a known number");
        // A map lookup: the map, then a key of the map's key size, initialised.
        let lookup = proto(Ret::MapValueOrNull, [ConstMapPtr, MapKey, None, None, None]);
        let arg = |n, s: &State| on(Check::Arg { callee: one, n }, s, regs(), lookup);
        s.regs[1] = Reg::konst(3);
        assert_eq!(arg(1, &s).unwrap_err().to_string(), "R1 type=scalar expected=map_ptr");
        assert_eq!(arg(2, &s), Err(CheckError::NotInit(2)));
        s.regs[2] = Reg::ptr_at(Region::Stack { frame: 0 }, -4);
        assert_eq!(arg(2, &s).unwrap_err().to_string(), "R2 type=fp expected=map_ptr before it");
        s.regs[1] = Reg::ptr(Region::MapPtr { map: 0 });
        assert_eq!(arg(2, &s).unwrap_err().to_string(), "invalid read from stack off -4+0 size 4: uninitialised");
        s.frame_mut(0).store(-4, 4, Option::None, false).unwrap();
        assert_eq!((arg(1, &s), arg(2, &s), arg(3, &s)), (Ok(()), Ok(()), Ok(())));
        // A buffer and its size: bounded, not zero, the buffer readable for the largest.
        let read = proto(Ret::Integer, [Mem, ConstSize, None, None, None]);
        let fill = proto(Ret::Integer, [UninitMem, ConstSizeOrZero, None, None, None]);
        let (r, f) = (|s: &State| on(Check::Arg { callee: one, n: 1 }, s, regs(), read), |s: &State| on(Check::Arg { callee: one, n: 1 }, s, regs(), fill));
        s.regs[1] = Reg::ptr_at(Region::Stack { frame: 0 }, -4);
        s.regs[2] = Reg::scalar(Scalar::of(Bounds::urange(1, 4)));
        assert_eq!(r(&s), Ok(()));
        s.regs[2] = Reg::scalar(Scalar::of(Bounds::urange(1, 5)));
        assert!(r(&s).is_err(), "past the frame's top");
        s.regs[1] = Reg::ptr_at(Region::Stack { frame: 0 }, -16);
        s.regs[2] = Reg::konst(8);
        assert!(r(&s).is_err(), "uninitialised");
        assert_eq!(f(&s), Ok(()), "written by the helper");
        s.regs[2] = Reg::unknown();
        assert_eq!(r(&s), Err(CheckError::Unbounded(2)));
        s.regs[2] = Reg::scalar(Scalar::of(Bounds::urange(0, 4)));
        assert_eq!(r(&s), Err(CheckError::ZeroSize(2)));
        assert_eq!(f(&s), Ok(()), "a size that may be 0");
        s.regs[2] = Reg::ptr(Region::Ctx);
        assert_eq!(r(&s).unwrap_err().to_string(), "R2 type=ctx expected=scalar");
        // The context at offset 0.
        let needs_ctx = proto(Ret::Integer, [Ctx, None, None, None, None]);
        s.regs[1] = Reg::ptr(Region::Ctx);
        let c = |s: &State| on(Check::Arg { callee: one, n: 1 }, s, regs(), needs_ctx);
        assert_eq!(c(&s), Ok(()));
        s.regs[1] = Reg::ptr_at(Region::Ctx, 8);
        assert_eq!(c(&s), Err(CheckError::Offset(1)));
        s.regs[1] = Reg::ptr(Region::Stack { frame: 0 });
        assert_eq!(c(&s).unwrap_err().to_string(), "R1 type=fp expected=ctx");
    }

    #[test]
    fn records_are_released_once_and_reserved_once_per_site() {
        let mut s = State::entry();
        let one = Callee::Id(HelperId(1));
        let submit = proto(Ret::Void, [RingbufRecord, Anything, None, None, None]);
        let rec = Reg { id: 4, ..Reg::ptr(Region::Ringbuf { size: 8 }) };
        s.regs[1] = rec;
        let sub = |s: &State| on(Check::Arg { callee: one, n: 1 }, s, regs(), submit);
        assert_eq!(sub(&s), Err(CheckError::Released(1)), "never reserved");
        s.refs.push(4);
        assert_eq!(sub(&s), Ok(()));
        s.regs[1] = Reg { value: Scalar::konst(4), ..rec };
        assert_eq!(sub(&s), Err(CheckError::Offset(1)));
        let reserve = proto(Ret::RingbufMemOrNull, [ConstMapPtr, Anything, Anything, None, None]);
        let res = |site, s: &State| on(Check::Reserve { callee: one, site }, s, regs(), reserve);
        assert_eq!(res(5, &s), Ok(()));
        assert_eq!(res(4, &s).unwrap_err().to_string(), "Unreleased reference id=4 alloc_insn=3");
        // A tail call: not from a function, not with a reference held.
        let tail = Check::TailCall(Callee::Id(TAIL_CALL));
        assert_eq!(check(tail, &s), Err(CheckError::TailCallWithReference(4)));
        s.refs.clear();
        assert_eq!(check(tail, &s), Ok(()));
        s.frames.push();
        assert_eq!(check(tail, &s), Err(CheckError::TailCallInFunction));
        assert_eq!(check(Check::TailCall(one), &s), Ok(()), "only the tail call");
    }

    #[test]
    fn exits_return_a_number_in_range_and_nothing_held() {
        let mut s = State::entry();
        let exit = |ret, s: &State| check(Check::Exit { ret, void: false }, s);
        assert_eq!(exit(Option::None, &s), Err(CheckError::NotInit(0)));
        s.regs[0] = Reg::ptr(Region::Ctx);
        assert_eq!(exit(Option::None, &s), Err(CheckError::ReturnsPointer));
        s.regs[0] = Reg::scalar(Scalar::of(Bounds::urange(0, 3)));
        assert_eq!(exit(Option::None, &s), Ok(()));
        assert_eq!(exit(Some((0, 2)), &s).unwrap_err().to_string(), "At program exit the register R0 has smin=0 smax=3 should have been in [0, 2]");
        // A program that returns nothing (a void struct_ops member): r0 is not looked at,
        // but what it holds must still be released.
        let void = |s: &State| check(Check::Exit { ret: Some((0, 0)), void: true }, s);
        let mut unset = State::entry();
        assert_eq!(void(&unset), Ok(()));
        unset.regs[0] = Reg::ptr(Region::Ctx);
        assert_eq!(void(&unset), Ok(()));
        unset.refs.push(9);
        assert_eq!(void(&unset), Err(CheckError::Unreleased(9)));
        s.refs.push(9);
        assert_eq!(exit(Option::None, &s).unwrap_err().to_string(), "Unreleased reference id=9 alloc_insn=8");
        // A function's exit: nothing may point into its frame.
        let mut f = State::entry();
        f.saved.push([Reg::not_init(), Reg::not_init(), Reg::not_init(), Reg::not_init(), f.regs[10]]);
        f.frames.push();
        f.regs[10] = Reg::ptr(Region::Stack { frame: 1 });
        f.regs[0] = Reg::ptr(Region::Ctx);
        assert_eq!(exit(Option::None, &f), Ok(()), "a function may return a pointer");
        f.regs[0] = f.regs[10];
        assert_eq!(exit(Option::None, &f), Err(CheckError::ReturnsStack));
        f.regs[0] = Reg::konst(0);
        let fp1 = f.regs[10];
        f.frame_mut(0).store(-8, 8, Some(fp1), false).unwrap();
        assert_eq!(exit(Option::None, &f), Err(CheckError::ReturnsStack), "a caller's spill");
        f.frame_mut(0).store(-8, 8, Some(Reg::konst(1)), false).unwrap();
        assert_eq!(exit(Option::None, &f), Ok(()));
        // Depth.
        (f.frames.len()..MAX_FRAMES).for_each(|_| f.frames.push());
        assert_eq!(check(Check::Depth, &f), Err(CheckError::TooDeep(MAX_FRAMES + 1)));
    }
}
