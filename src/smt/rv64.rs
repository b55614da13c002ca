//! RV64 semantics of [`Decoded`] instructions, run symbolically over one code range.
//!
//! Registers are 64-bit vectors; the code's own address is `base` (a symbol), so `auipc`
//! and link values are `base + offset` and a computed jump is followed when its target
//! simplifies to `base + constant`. Conditional branches fork the path. A path ends when
//! it leaves the range: for a code offset outside it, by `jalr zero, 0(link)` (the
//! running BPF function's return), or by a call with the link register (a bpf-to-bpf
//! call). A jump through the dispatcher register is a helper call: an [`Event`], r0 and
//! the stop flag from the [`Oracle`], the caller-saved registers clobbered (the RISC-V
//! calling convention), and execution goes on after it.
//!
//! The arithmetic is RISC-V's, written out where SMT-LIB's defaults differ: division by
//! zero gives all ones (signed: -1), remainder by zero gives the dividend, the `*w`
//! operations compute on 32 bits and sign-extend, register shift amounts are masked.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

use z3::ast::{Ast, Bool, BV};

use super::decode::{reg_name, Decoded, Op};
use super::{arith, k64, Event, EventKind, Oracle};

/// x0–x31.
#[derive(Clone, Debug)]
pub struct State {
    pub x: Vec<BV>,
}

impl State {
    /// Every register a fresh symbol named after it (`a5`, `s1`, …; `prefix` tells runs
    /// apart), x0 = 0.
    pub fn symbolic(prefix: &str) -> State {
        let mut x: Vec<BV> = (0..32u8).map(|r| BV::new_const(format!("{prefix}{}", reg_name(r)), 64)).collect();
        x[0] = k64(0);
        State { x }
    }
    fn set(&mut self, rd: u8, v: BV) {
        if rd != 0 {
            self.x[rd as usize] = v;
        }
    }
    fn get(&self, r: u8) -> &BV {
        &self.x[r as usize]
    }
}

/// How a path left its range.
#[derive(Clone, Debug)]
pub enum Exit {
    /// To this code offset (a branch, a jump, or the end of the range).
    Offset(u64),
    /// `jalr zero, 0(link)`: the running BPF function returns.
    Return,
    /// `jalr zero, 0(ra)`: back to the host that called the image.
    HostReturn,
    /// A jump to an address that is not `base` + a constant (nor the link, the
    /// dispatcher or the host's return address).
    Computed(BV),
    /// A call with the link register to `target`; `link` is where it returns.
    Call { target: u64, link: u64 },
    /// Back to `at`, which this path already ran: a retry loop (LR/SC). The state and
    /// the number of events at the first visit are kept, so the validator can check that
    /// the failed round changed nothing that matters.
    Retry { at: u64, then: State, events_then: usize },
}

/// A helper call's ABI facts, for the validator: what a6 (the run context) and a7 (the
/// call's address) held.
#[derive(Clone, Debug)]
pub struct CallSite {
    pub ctx: BV,
    pub site: BV,
}

/// One path through a range.
#[derive(Clone, Debug)]
pub struct Path {
    /// The branch conditions taken (and the store-conditional outcomes).
    pub cond: Vec<Bool>,
    pub state: State,
    pub events: Vec<Event>,
    pub calls: Vec<CallSite>,
    pub exit: Exit,
    /// Code offsets run, in order.
    pub trace: Vec<u64>,
}

/// Why a range cannot be run symbolically.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("code offset {off:#x}: {what}")]
    At { off: u64, what: String },
    #[error("more than {0} paths")]
    TooManyPaths(usize),
}

/// The registers of the JIT's run that the executor must recognise.
#[derive(Clone, Copy, Debug)]
pub struct Abi {
    /// Holds the running BPF function's return address.
    pub link: u8,
    /// Holds the helper dispatcher's address.
    pub dispatch: u8,
}

const MAX_PATHS: usize = 64;
const MAX_STEPS: usize = 512;

/// The code to run: the whole image, decoded word by word, and the words whose
/// immediate is a term instead of its field (the per-shape proofs, where an immediate is
/// a function of the BPF instruction's fields; empty for an image). Only
/// register-writing operations, loads and stores take a term.
#[derive(Clone, Copy, Debug)]
pub struct Code<'a> {
    pub words: &'a [Decoded],
    pub terms: &'a [Option<BV>],
}

/// Runs `code` from `start` until every path leaves `range`. `init` is the state at
/// `start`.
pub fn run(code: Code, base: &BV, range: Range<u64>, start: u64, init: State, abi: Abi, oracle: &Oracle) -> Result<Vec<Path>, RunError> {
    struct Live {
        pc: u64,
        path: Path,
        oracle: Oracle,
        /// First visit of each offset: (state, events so far).
        seen: Vec<(u64, State, usize)>,
        reserved: bool,
    }
    let link_init = init.get(abi.link).clone();
    let dispatch_init = init.get(abi.dispatch).clone();
    let mut live = vec![Live {
        pc: start,
        path: Path { cond: Vec::new(), state: init, events: Vec::new(), calls: Vec::new(), exit: Exit::Offset(start), trace: Vec::new() },
        oracle: oracle.clone(),
        seen: Vec::new(),
        reserved: false,
    }];
    let mut done = Vec::new();
    let err = |off: u64, what: String| RunError::At { off, what };
    while let Some(mut l) = live.pop() {
        if done.len() + live.len() >= MAX_PATHS {
            return Err(RunError::TooManyPaths(MAX_PATHS));
        }
        loop {
            let pc = l.pc;
            if !range.contains(&pc) {
                l.path.exit = Exit::Offset(pc);
                done.push(l.path);
                break;
            }
            if let Some((_, then, events_then)) = l.seen.iter().find(|(at, _, _)| *at == pc) {
                l.path.exit = Exit::Retry { at: pc, then: then.clone(), events_then: *events_then };
                done.push(l.path);
                break;
            }
            if pc % 4 != 0 {
                return Err(err(pc, String::from("a jump to an offset that is not a multiple of 4")));
            }
            if l.path.trace.len() >= MAX_STEPS {
                return Err(err(pc, format!("more than {MAX_STEPS} steps on one path")));
            }
            l.seen.push((pc, l.path.state.clone(), l.path.events.len()));
            l.path.trace.push(pc);
            let Some(d) = code.words.get((pc / 4) as usize).copied() else { return Err(err(pc, String::from("outside the image"))) };
            let sym = code.terms.get((pc / 4) as usize).cloned().flatten();
            if sym.is_some() && !takes_term(d.op) {
                return Err(err(pc, format!("{} cannot take a symbolic immediate", d.op.mnemonic())));
            }
            let imm = sym.unwrap_or_else(|| k64(d.imm as u64));
            let st = &mut l.path.state;
            let (rs1, rs2) = (st.get(d.rs1).clone(), st.get(d.rs2).clone());
            let here = base.bvadd(pc);
            let mut next = pc + 4;
            use Op::*;
            match d.op {
                Auipc => st.set(d.rd, here.bvadd(d.imm as u64)),
                Jal => {
                    let target = pc.wrapping_add(d.imm as u64);
                    if d.rd == abi.link {
                        st.set(d.rd, here.bvadd(4u64));
                        l.path.exit = Exit::Call { target, link: pc + 4 };
                        done.push(l.path);
                        break;
                    }
                    st.set(d.rd, here.bvadd(4u64));
                    next = target;
                }
                Jalr => {
                    // jalr clears bit 0 of the target; the dispatcher and the link are
                    // even (function addresses) and `base` is 4-aligned, so the offset
                    // is masked instead of the address.
                    let target = rs1.bvadd(d.imm as u64).simplify();
                    if target.ast_eq(&dispatch_init) && d.rd == 1 {
                        // A helper call through the dispatcher.
                        let args = [10u8, 11, 12, 13, 14].map(|r| st.get(r).clone());
                        l.path.events.push(Event { guard: Bool::from_bool(true), kind: EventKind::Call { id: st.get(15).clone(), args } });
                        l.path.calls.push(CallSite { ctx: st.get(16).clone(), site: st.get(17).clone() });
                        let (ret, stop) = l.oracle.call();
                        let k = l.path.calls.len();
                        // Caller-saved registers (t0–t6, a2–a7) hold anything afterwards.
                        for r in [5u8, 6, 7, 12, 13, 14, 15, 16, 17, 28, 29, 30, 31] {
                            st.set(r, BV::new_const(format!("clobbered{k}_{}", reg_name(r)), 64));
                        }
                        st.set(10, ret);
                        st.set(11, stop);
                        st.set(1, here.bvadd(4u64));
                    } else if d.rd == 0 && d.rs1 == 1 && d.imm == 0 {
                        l.path.exit = Exit::HostReturn;
                        done.push(l.path);
                        break;
                    } else if target.ast_eq(&link_init) && d.rd == 0 {
                        l.path.exit = Exit::Return;
                        done.push(l.path);
                        break;
                    } else {
                        let Some(off) = target.bvsub(base).simplify().as_u64().map(|o| o & !1) else {
                            l.path.exit = Exit::Computed(target);
                            done.push(l.path);
                            break;
                        };
                        st.set(d.rd, here.bvadd(4u64));
                        if d.rd == abi.link {
                            l.path.exit = Exit::Call { target: off, link: pc + 4 };
                            done.push(l.path);
                            break;
                        }
                        next = off;
                    }
                }
                Beq | Bne | Blt | Bge | Bltu | Bgeu => {
                    let c = match d.op {
                        Beq => rs1.eq(&rs2),
                        Bne => rs1.eq(&rs2).not(),
                        Blt => rs1.bvslt(&rs2),
                        Bge => rs1.bvsge(&rs2),
                        Bltu => rs1.bvult(&rs2),
                        _ => rs1.bvuge(&rs2),
                    }
                    .simplify();
                    let target = pc.wrapping_add(d.imm as u64);
                    match c.as_bool() {
                        Some(true) => next = target,
                        Some(false) => {}
                        None => {
                            let mut taken = Live { pc: target, path: l.path.clone(), oracle: l.oracle.clone(), seen: l.seen.clone(), reserved: l.reserved };
                            taken.path.cond.push(c.clone());
                            live.push(taken);
                            l.path.cond.push(c.not());
                        }
                    }
                }
                Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu => {
                    let (size, signed) = match d.op {
                        Lb => (1, true),
                        Lh => (2, true),
                        Lw => (4, true),
                        Ld => (8, false),
                        Lbu => (1, false),
                        Lhu => (2, false),
                        _ => (4, false),
                    };
                    let addr = rs1.bvadd(&imm);
                    l.path.events.push(Event { guard: Bool::from_bool(true), kind: EventKind::Load { addr, size, atomic: false } });
                    let v = l.oracle.load(size);
                    st.set(d.rd, if signed { sext_from(&v, 8 * size) } else { v });
                }
                Sb | Sh | Sw | Sd => {
                    let size = match d.op {
                        Sb => 1,
                        Sh => 2,
                        Sw => 4,
                        _ => 8,
                    };
                    let addr = rs1.bvadd(&imm);
                    l.path.events.push(Event { guard: Bool::from_bool(true), kind: EventKind::Store { addr, size, value: rs2, atomic: false } });
                }
                LrW | LrD => {
                    let size = if d.op == LrW { 4 } else { 8 };
                    l.path.events.push(Event { guard: Bool::from_bool(true), kind: EventKind::Load { addr: rs1, size, atomic: true } });
                    let v = l.oracle.load(size);
                    st.set(d.rd, sext_from(&v, 8 * size));
                    l.reserved = true;
                }
                ScW | ScD => {
                    if !l.reserved {
                        return Err(err(pc, String::from("store-conditional without a load-reserved before it on this path")));
                    }
                    let size = if d.op == ScW { 4 } else { 8 };
                    // Fails: rd = some non-zero code, nothing stored.
                    let mut failed = Live { pc: next, path: Path { cond: l.path.cond.clone(), state: st.clone(), events: l.path.events.clone(), calls: l.path.calls.clone(), exit: Exit::Offset(next), trace: l.path.trace.clone() }, oracle: l.oracle.clone(), seen: l.seen.clone(), reserved: false };
                    let code = BV::new_const(format!("sc_fail{}_{pc:x}", failed.path.trace.len()), 64);
                    failed.path.cond.push(code.eq(k64(0)).not());
                    failed.path.state.set(d.rd, code);
                    live.push(failed);
                    l.path.events.push(Event { guard: Bool::from_bool(true), kind: EventKind::Store { addr: rs1, size, value: rs2, atomic: true } });
                    st.set(d.rd, k64(0));
                    l.reserved = false;
                }
                AmoswapW | AmoaddW | AmoxorW | AmoandW | AmoorW | AmoswapD | AmoaddD | AmoxorD | AmoandD | AmoorD => {
                    let w = matches!(d.op, AmoswapW | AmoaddW | AmoxorW | AmoandW | AmoorW);
                    let size = if w { 4 } else { 8 };
                    l.path.events.push(Event { guard: Bool::from_bool(true), kind: EventKind::Load { addr: rs1.clone(), size, atomic: true } });
                    let old = l.oracle.load(size);
                    let new = match d.op {
                        AmoswapW | AmoswapD => rs2.clone(),
                        AmoaddW | AmoaddD => old.bvadd(&rs2),
                        AmoxorW | AmoxorD => old.bvxor(&rs2),
                        AmoandW | AmoandD => old.bvand(&rs2),
                        _ => old.bvor(&rs2),
                    };
                    l.path.events.push(Event { guard: Bool::from_bool(true), kind: EventKind::Store { addr: rs1, size, value: new, atomic: true } });
                    st.set(d.rd, sext_from(&old, 8 * size));
                }
                Fence => {}
                Ecall | Ebreak => return Err(err(pc, format!("{} leaves the program's model", d.op.mnemonic()))),
                _ => match alu(d, &rs1, &rs2, &imm) {
                    Some(v) => st.set(d.rd, v),
                    None => return Err(err(pc, format!("{} has no model", d.op.mnemonic()))),
                },
            }
            l.pc = next;
        }
    }
    Ok(done)
}

/// The low `bits` of `v`, sign-extended to 64.
pub fn sext_from(v: &BV, bits: u32) -> BV {
    if bits == 64 {
        v.clone()
    } else {
        v.extract(bits - 1, 0).sign_ext(64 - bits)
    }
}

/// The low 32 bits of `v`, sign-extended (what every `*w` operation writes).
fn w(v: &BV) -> BV {
    sext_from(v, 32)
}

fn lo32(v: &BV) -> BV {
    v.extract(31, 0)
}

/// `a / b` as RISC-V divides: by 0 gives all ones, signed overflow wraps.
fn divu(a: &BV, b: &BV) -> BV {
    let zero = BV::from_u64(0, a.get_size());
    b.eq(&zero).ite(&zero.bvnot(), &arith::udiv(a, b))
}
fn divs(a: &BV, b: &BV) -> BV {
    let zero = BV::from_u64(0, a.get_size());
    b.eq(&zero).ite(&zero.bvnot(), &arith::sdiv(a, b))
}
/// Remainders: by 0 gives the dividend.
fn remu(a: &BV, b: &BV) -> BV {
    let zero = BV::from_u64(0, a.get_size());
    b.eq(&zero).ite(a, &arith::urem(a, b))
}
fn rems(a: &BV, b: &BV) -> BV {
    let zero = BV::from_u64(0, a.get_size());
    b.eq(&zero).ite(a, &arith::srem(a, b))
}

/// Whether `op` may take its immediate as a term: the register-writing operations
/// without side effects, loads and stores.
fn takes_term(op: Op) -> bool {
    use Op::*;
    matches!(op, Lui | Addi | Slti | Sltiu | Xori | Ori | Andi | Slli | Srli | Srai | Addiw | Slliw | Srliw | Sraiw | Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu | Sb | Sh | Sw | Sd)
}

/// The register-writing operations without side effects (`None` for the others); `imm`
/// is the immediate (U-type: shifted; shifts: the amount).
fn alu(d: Decoded, a: &BV, b: &BV, imm: &BV) -> Option<BV> {
    use Op::*;
    let imm = imm.clone();
    let sh = &imm;
    let sh32 = imm.extract(31, 0);
    let bool_bv = |c: Bool| c.ite(&k64(1), &k64(0));
    Some(match d.op {
        Lui => imm,
        Addi => a.bvadd(&imm),
        Slti => bool_bv(a.bvslt(&imm)),
        Sltiu => bool_bv(a.bvult(&imm)),
        Xori => a.bvxor(&imm),
        Ori => a.bvor(&imm),
        Andi => a.bvand(&imm),
        Slli => a.bvshl(sh),
        Srli => a.bvlshr(sh),
        Srai => a.bvashr(sh),
        Addiw => w(&a.bvadd(&imm)),
        Slliw => w(&a.bvshl(sh)),
        Srliw => w(&lo32(a).bvlshr(&sh32).zero_ext(32)),
        Sraiw => w(&lo32(a).bvashr(&sh32).zero_ext(32)),
        Add => a.bvadd(b),
        Sub => a.bvsub(b),
        Sll => a.bvshl(b.bvand(63u64)),
        Slt => bool_bv(a.bvslt(b)),
        Sltu => bool_bv(a.bvult(b)),
        Xor => a.bvxor(b),
        Srl => a.bvlshr(b.bvand(63u64)),
        Sra => a.bvashr(b.bvand(63u64)),
        Or => a.bvor(b),
        And => a.bvand(b),
        Addw => w(&a.bvadd(b)),
        Subw => w(&a.bvsub(b)),
        Sllw => w(&lo32(a).bvshl(lo32(b).bvand(31u32)).zero_ext(32)),
        Srlw => w(&lo32(a).bvlshr(lo32(b).bvand(31u32)).zero_ext(32)),
        Sraw => w(&lo32(a).bvashr(lo32(b).bvand(31u32)).zero_ext(32)),
        Mul => arith::mul(a, b),
        Mulh => a.sign_ext(64).bvmul(b.sign_ext(64)).extract(127, 64),
        Mulhsu => a.sign_ext(64).bvmul(b.zero_ext(64)).extract(127, 64),
        Mulhu => a.zero_ext(64).bvmul(b.zero_ext(64)).extract(127, 64),
        Div => divs(a, b),
        Divu => divu(a, b),
        Rem => rems(a, b),
        Remu => remu(a, b),
        // The low 32 bits of the product, sign-extended: the product of the low halves.
        Mulw => arith::mul(&lo32(a), &lo32(b)).sign_ext(32),
        Divw => divs(&lo32(a), &lo32(b)).sign_ext(32),
        Divuw => divu(&lo32(a), &lo32(b)).sign_ext(32),
        Remw => rems(&lo32(a), &lo32(b)).sign_ext(32),
        Remuw => remu(&lo32(a), &lo32(b)).sign_ext(32),
        AddUw => lo32(a).zero_ext(32).bvadd(b),
        Sh1add => a.bvshl(1u64).bvadd(b),
        Sh2add => a.bvshl(2u64).bvadd(b),
        Sh3add => a.bvshl(3u64).bvadd(b),
        SextB => sext_from(a, 8),
        SextH => sext_from(a, 16),
        ZextH => a.extract(15, 0).zero_ext(48),
        Rev8 => {
            let mut v = a.extract(7, 0);
            for k in 1..8 {
                v = v.concat(a.extract(8 * k + 7, 8 * k));
            }
            v
        }
        Andn => a.bvand(b.bvnot()),
        Orn => a.bvor(b.bvnot()),
        Xnor => a.bvxor(b).bvnot(),
        _ => return None,
    })
}

/// Evaluates one ALU instruction on concrete register values (for the tests that pin
/// this model to real RV64 hardware under qemu).
pub fn eval_alu(d: Decoded, a: u64, b: u64) -> Option<u64> {
    alu(d, &k64(a), &k64(b), &k64(d.imm as u64))?.simplify().as_u64()
}
