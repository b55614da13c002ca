//! The reference interpreter: the executable form of the ISA semantics.
//!
//! Runs a validated [`Program`]. Every load, store and atomic is checked against the
//! regions the program may touch (its live stack frames, the input memory, and whatever
//! the environment exposes); an access outside them stops the run with an error naming
//! the instruction. An instruction budget stops runaway programs. BPF addresses are host
//! addresses, so pointers handed to helpers and JIT code mean the same thing.

use alloc::vec;
use alloc::string::String;
use alloc::vec::Vec;

use crate::env::{Env, Flow, HelperError};
use crate::isa::cfg::{lddw_value, target};
use crate::isa::{AtomicOp, HelperId, Insn, LdKind, Program, Size, Source, Width};
use crate::mem::{Memory, Region, MAX_FRAMES, STACK_FRAME, STACK_SIZE};
use crate::semantics;

/// Default instruction budget.
pub const DEFAULT_BUDGET: u64 = 10_000_000;

/// Why a run stopped with an error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecErrorKind {
    /// `place` says where as the program sees it (`r10-520`, `ctx+292`), never the host
    /// address `addr`.
    #[error("{} of {len} bytes at {place} is outside the memory the program may access", if *write { "write" } else { "read" })]
    OutOfBounds { addr: u64, len: u64, write: bool, place: String },
    #[error("atomic access at {place} is not aligned to {len} bytes")]
    Misaligned { addr: u64, len: u64, place: String },
    #[error("call depth exceeds {MAX_FRAMES} frames")]
    CallDepth,
    #[error("bpf_tail_call from a bpf-to-bpf subprogram is not supported")]
    TailCallInSubprog,
    #[error("instruction budget of {0} exhausted")]
    Budget(u64),
    #[error("helper {id}: {err}")]
    Helper { id: HelperId, err: HelperError },
    /// `callx` with a register value no helper id can have (wider than 32 bits).
    #[error("helper {}: {}", *value as i64, HelperError::Unknown)]
    UnknownCallx { value: u64 },
    #[error("lddw {kind:?} imm {imm}: {err}")]
    LdImm64 { kind: LdKind, imm: i32, err: HelperError },
}

/// A run error with the slot index of the instruction that caused it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("execution error at instruction {pc}: {kind}")]
pub struct ExecError {
    pub pc: usize,
    pub kind: ExecErrorKind,
}

/// Knobs of one interpreter run.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Instructions executed before the run is stopped (JIT code is not metered: the
    /// verifier bounds it).
    pub budget: u64,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { budget: DEFAULT_BUDGET }
    }
}

/// What a finished run produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub r0: u64,
    pub insns_executed: u64,
    /// Set when the program ended in a successful `bpf_tail_call`: the target's handle.
    /// The caller runs the target next (with the same context), as the kernel does.
    pub tail_call: Option<u64>,
}

/// Observes execution; `ENABLED = false` compiles the hooks away.
pub trait Tracer {
    const ENABLED: bool;
    /// Called after the instruction at slot `pc` ran, with the registers before and after.
    fn step(&mut self, pc: usize, insn: &Insn, before: &[u64; 11], after: &[u64; 11]);
}

/// The tracer that observes nothing.
pub struct NoTrace;

impl Tracer for NoTrace {
    const ENABLED: bool = false;
    #[inline(always)]
    fn step(&mut self, _: usize, _: &Insn, _: &[u64; 11], _: &[u64; 11]) {}
}

/// What a bpf-to-bpf call saves: where to return, r6-r9 and r10.
struct CallFrame {
    ret_pc: usize,
    saved: [u64; 4],
    saved_fp: u64,
}

/// The program prepared for execution: instructions laid out by slot, so a jump's
/// target is the slot index itself. The second slot of an lddw holds an `Exit` that
/// is never reached (validation forbids jumps into an lddw).
pub struct Interpreter {
    code: Vec<Insn>,
}

impl Interpreter {
    pub fn new(prog: &Program) -> Interpreter {
        let mut code = vec![Insn::Exit; prog.slot_count()];
        for (pc, insn) in prog.iter() {
            code[pc] = *insn;
        }
        Interpreter { code }
    }

    /// Runs with r1 = the input memory (or 0 when empty), r2 = its length, as the
    /// conformance suites expect. `extra` regions are also accessible (contexts, packets).
    pub fn run(&self, input: &mut [u8], extra: &[Region], env: &mut dyn Env, opts: &RunOptions) -> Result<Outcome, ExecError> {
        self.run_traced(input, extra, env, opts, &mut NoTrace)
    }

    /// [`Interpreter::run`], reporting each step to `tracer`.
    pub fn run_traced<T: Tracer>(
        &self,
        input: &mut [u8],
        extra: &[Region],
        env: &mut dyn Env,
        opts: &RunOptions,
        tracer: &mut T,
    ) -> Result<Outcome, ExecError> {
        let r1 = if input.is_empty() { 0 } else { input.as_mut_ptr() as u64 };
        let len = input.len() as u64;
        let mut regions = Vec::with_capacity(extra.len() + 1);
        if !input.is_empty() {
            regions.push(Region::of_mut(input));
        }
        regions.extend_from_slice(extra);
        regions.extend(env.regions());
        self.run_with(r1, len, regions, env, opts, tracer)
    }

    /// Runs with explicit r1, r2 and regions, reporting each step to `tracer`.
    pub fn run_with<T: Tracer>(
        &self,
        r1: u64,
        r2: u64,
        regions: Vec<Region>,
        env: &mut dyn Env,
        opts: &RunOptions,
        tracer: &mut T,
    ) -> Result<Outcome, ExecError> {
        // u64 words: the frames are 8-byte aligned, as the kernel's are.
        let mut stack = vec![0u64; STACK_SIZE / 8];
        let base = stack.as_mut_ptr() as u64;
        let top = base + STACK_SIZE as u64;
        let mut mem = Memory::new(top - STACK_FRAME as u64..top, regions);
        let mut reg = [0u64; 11];
        reg[1] = r1;
        reg[2] = r2;
        reg[10] = top;
        let out = self.exec(reg, &mut mem, env, opts, tracer);
        env.end(&mem);
        out
    }

    /// The run itself, from the registers at entry until it exits or fails.
    #[inline(always)]
    fn exec<T: Tracer>(&self, mut reg: [u64; 11], mem: &mut Memory, env: &mut dyn Env, opts: &RunOptions, tracer: &mut T) -> Result<Outcome, ExecError> {
        let mut frames: Vec<CallFrame> = Vec::new();
        let code = &self.code[..];
        let mut pc = 0usize;
        let mut executed = 0u64;
        let err = |pc: usize, kind: ExecErrorKind| Err(ExecError { pc, kind });

        loop {
            if executed >= opts.budget {
                return err(pc, ExecErrorKind::Budget(opts.budget));
            }
            executed += 1;
            let insn = &code[pc];
            let before = if T::ENABLED { reg } else { [0; 11] };
            let cur = pc;
            pc += 1;
            match *insn {
                Insn::Alu { width, op, dst, src } => {
                    let s = match src {
                        Source::Reg(r) => reg[r.index()],
                        Source::Imm(i) => semantics::imm64(i),
                    };
                    let d = &mut reg[dst.index()];
                    *d = match width {
                        Width::W64 => semantics::alu64(op, *d, s),
                        Width::W32 => semantics::alu32(op, *d, s),
                    };
                }
                Insn::Neg { width, dst } => reg[dst.index()] = semantics::neg(reg[dst.index()], width == Width::W64),
                Insn::MovSx { width, bits, dst, src } => {
                    reg[dst.index()] = semantics::movsx(reg[src.index()], bits, width == Width::W64)
                }
                Insn::End { kind, bits, dst } => reg[dst.index()] = semantics::end(kind, bits, reg[dst.index()]),
                Insn::LdImm64 { kind, dst, imm, next_imm } => {
                    reg[dst.index()] = match kind {
                        LdKind::Imm64 => lddw_value(imm, next_imm),
                        _ => env
                            .ld_imm64(kind, imm, next_imm, cur)
                            .map_err(|e| ExecError { pc: cur, kind: ExecErrorKind::LdImm64 { kind, imm, err: e } })?,
                    };
                    pc += 1;
                }
                Insn::Ldx { size, signed, dst, src, off } => {
                    let addr = reg[src.index()].wrapping_add(off as i64 as u64);
                    let v = load(mem, addr, size).map_err(|kind| ExecError { pc: cur, kind: locate(kind, mem, reg[10]) })?;
                    reg[dst.index()] = if signed { semantics::sign_extend(v, size.bytes() as u32 * 8) } else { v };
                }
                Insn::St { size, dst, off, imm } => {
                    let addr = reg[dst.index()].wrapping_add(off as i64 as u64);
                    store(mem, addr, size, imm as i64 as u64).map_err(|kind| ExecError { pc: cur, kind: locate(kind, mem, reg[10]) })?;
                }
                Insn::Stx { size, dst, src, off } => {
                    let addr = reg[dst.index()].wrapping_add(off as i64 as u64);
                    store(mem, addr, size, reg[src.index()]).map_err(|kind| ExecError { pc: cur, kind: locate(kind, mem, reg[10]) })?;
                }
                Insn::Atomic { size, op, dst, src, off } => {
                    let addr = reg[dst.index()].wrapping_add(off as i64 as u64);
                    let old = atomic(mem, addr, size, op, reg[src.index()], reg[0]).map_err(|kind| ExecError { pc: cur, kind: locate(kind, mem, reg[10]) })?;
                    match op {
                        AtomicOp::Cmpxchg => reg[0] = old,
                        op if op.fetches() => reg[src.index()] = old,
                        _ => {}
                    }
                }
                Insn::Ja { off } => pc = target(cur, off as i64) as usize,
                Insn::Gotol { imm } => pc = target(cur, imm as i64) as usize,
                Insn::Jmp { width, cond, dst, src, off } => {
                    let b = match src {
                        Source::Reg(r) => reg[r.index()],
                        Source::Imm(i) => semantics::imm64(i),
                    };
                    let a = reg[dst.index()];
                    let taken = match width {
                        Width::W64 => semantics::cond64(cond, a, b),
                        Width::W32 => semantics::cond32(cond, a, b),
                    };
                    if taken {
                        pc = target(cur, off as i64) as usize;
                    }
                }
                Insn::Call { .. } | Insn::Callx { .. } => {
                    let id = match *insn {
                        Insn::Callx { reg: r } => {
                            let value = reg[r.index()];
                            HelperId::from_reg(value).ok_or(ExecError { pc: cur, kind: ExecErrorKind::UnknownCallx { value } })?
                        }
                        Insn::Call { helper } => helper,
                        _ => unreachable!(),
                    };
                    let fp = reg[10];
                    match call_helper(env, mem, &mut reg, id).map_err(|kind| ExecError { pc: cur, kind: locate(kind, mem, fp) })? {
                        None => {}
                        Some(Flow::TailCall(_)) if !frames.is_empty() => return err(cur, ExecErrorKind::TailCallInSubprog),
                        Some(Flow::TailCall(target)) => return Ok(Outcome { r0: 0, insns_executed: executed, tail_call: Some(target) }),
                        Some(Flow::Exit(r0) | Flow::Continue(r0)) => return Ok(Outcome { r0, insns_executed: executed, tail_call: None }),
                    }
                }
                Insn::CallLocal { imm } => {
                    if frames.len() + 1 >= MAX_FRAMES {
                        return err(cur, ExecErrorKind::CallDepth);
                    }
                    frames.push(CallFrame { ret_pc: pc, saved: [reg[6], reg[7], reg[8], reg[9]], saved_fp: reg[10] });
                    reg[10] -= STACK_FRAME as u64;
                    mem.set_stack_lo(reg[10] - STACK_FRAME as u64);
                    pc = target(cur, imm as i64) as usize;
                }
                Insn::Exit => match frames.pop() {
                    None => {
                        if T::ENABLED {
                            tracer.step(cur, insn, &before, &reg);
                        }
                        return Ok(Outcome { r0: reg[0], insns_executed: executed, tail_call: None });
                    }
                    Some(f) => {
                        reg[6..10].copy_from_slice(&f.saved);
                        reg[10] = f.saved_fp;
                        mem.set_stack_lo(reg[10] - STACK_FRAME as u64);
                        pc = f.ret_pc;
                    }
                },
            }
            if T::ENABLED {
                tracer.step(cur, insn, &before, &reg);
            }
        }
    }
}

/// Replaces every pseudo `lddw` by the constant `env` gives it (map handles, map-value
/// and variable addresses, code addresses), as the interpreter would when reaching it:
/// what an engine without an environment at run time (the JIT) runs.
pub fn resolve_lddw(prog: &Program, env: &mut dyn Env) -> Result<Program, ExecError> {
    prog.resolve_lddw(|pc, kind, imm, next_imm| env.ld_imm64(kind, imm, next_imm, pc).map_err(|err| ExecError { pc, kind: ExecErrorKind::LdImm64 { kind, imm, err } }))
}

/// Calls helper `id` with r1-r5 and sets r0. r1-r5 keep their values: the ABI makes them
/// scratch, so a program that reads them after a call has no defined result (the verifier
/// rejects it). `Some(flow)` means the helper ended the program (exit or tail call).
#[inline(never)]
fn call_helper(env: &mut dyn Env, mem: &Memory, reg: &mut [u64; 11], id: HelperId) -> Result<Option<Flow>, ExecErrorKind> {
    let args = [reg[1], reg[2], reg[3], reg[4], reg[5]];
    match env.call(id, args, mem).map_err(|err| ExecErrorKind::Helper { id, err })? {
        Flow::Continue(v) => {
            reg[0] = v;
            Ok(None)
        }
        stop => Ok(Some(stop)),
    }
}

/// `kind` with the place of a memory fault filled in (`fp`: r10 of the faulting frame):
/// where the program sees it, for the message. Off the hot path.
#[cold]
fn locate(kind: ExecErrorKind, mem: &Memory, fp: u64) -> ExecErrorKind {
    match kind {
        ExecErrorKind::OutOfBounds { addr, len, write, .. } => ExecErrorKind::OutOfBounds { addr, len, write, place: mem.describe(addr, fp) },
        ExecErrorKind::Misaligned { addr, len, .. } => ExecErrorKind::Misaligned { addr, len, place: mem.describe(addr, fp) },
        ExecErrorKind::Helper { id, err: HelperError::BadPointer { addr, len } } => ExecErrorKind::Helper { id, err: HelperError::Outside { place: mem.describe(addr, fp), len } },
        other => other,
    }
}

#[inline(always)]
fn load(mem: &Memory, addr: u64, size: Size) -> Result<u64, ExecErrorKind> {
    let n = size.bytes() as u64;
    let p = mem.translate(addr, n, false).ok_or(ExecErrorKind::OutOfBounds { addr, len: n, write: false, place: String::new() })?;
    // SAFETY: translate checked the range lies in a live region; reads are unaligned-safe.
    unsafe {
        Ok(match size {
            Size::B => *p as u64,
            Size::H => (p as *const u16).read_unaligned() as u64,
            Size::W => (p as *const u32).read_unaligned() as u64,
            Size::DW => (p as *const u64).read_unaligned(),
        })
    }
}

#[inline(always)]
fn store(mem: &Memory, addr: u64, size: Size, v: u64) -> Result<(), ExecErrorKind> {
    let n = size.bytes() as u64;
    let p = mem.translate(addr, n, true).ok_or(ExecErrorKind::OutOfBounds { addr, len: n, write: true, place: String::new() })?;
    // SAFETY: translate checked the range lies in a live writable region.
    unsafe {
        match size {
            Size::B => *p = v as u8,
            Size::H => (p as *mut u16).write_unaligned(v as u16),
            Size::W => (p as *mut u32).write_unaligned(v as u32),
            Size::DW => (p as *mut u64).write_unaligned(v),
        }
    }
    Ok(())
}

/// Atomic read-modify-write with real atomics, so map values shared between threads
/// see no torn or lost updates. Returns the old value (zero-extended for 32 bits).
fn atomic(mem: &Memory, addr: u64, size: Size, op: AtomicOp, src: u64, r0: u64) -> Result<u64, ExecErrorKind> {
    use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
    let n = size.bytes() as u64;
    let p = mem.translate(addr, n, true).ok_or(ExecErrorKind::OutOfBounds { addr, len: n, write: true, place: String::new() })?;
    if addr % n != 0 {
        return Err(ExecErrorKind::Misaligned { addr, len: n, place: String::new() });
    }
    // SAFETY: checked, writable and aligned; the memory is only accessed atomically here.
    Ok(unsafe {
        if size == Size::DW {
            let a = AtomicU64::from_ptr(p as *mut u64);
            match op {
                AtomicOp::Add | AtomicOp::FetchAdd => a.fetch_add(src, SeqCst),
                AtomicOp::Or | AtomicOp::FetchOr => a.fetch_or(src, SeqCst),
                AtomicOp::And | AtomicOp::FetchAnd => a.fetch_and(src, SeqCst),
                AtomicOp::Xor | AtomicOp::FetchXor => a.fetch_xor(src, SeqCst),
                AtomicOp::Xchg => a.swap(src, SeqCst),
                AtomicOp::Cmpxchg => match a.compare_exchange(r0, src, SeqCst, SeqCst) {
                    Ok(v) | Err(v) => v,
                },
            }
        } else {
            let a = AtomicU32::from_ptr(p as *mut u32);
            let s = src as u32;
            (match op {
                AtomicOp::Add | AtomicOp::FetchAdd => a.fetch_add(s, SeqCst),
                AtomicOp::Or | AtomicOp::FetchOr => a.fetch_or(s, SeqCst),
                AtomicOp::And | AtomicOp::FetchAnd => a.fetch_and(s, SeqCst),
                AtomicOp::Xor | AtomicOp::FetchXor => a.fetch_xor(s, SeqCst),
                AtomicOp::Xchg => a.swap(s, SeqCst),
                AtomicOp::Cmpxchg => match a.compare_exchange(r0 as u32, s, SeqCst, SeqCst) {
                    Ok(v) | Err(v) => v,
                },
            }) as u64
        }
    })
}
