//! The reference interpreter: the executable form of the ISA semantics.
//!
//! Runs a validated [`Program`], pre-decoded ([`decode`]) into one operation per
//! instruction. In checked mode every load, store and atomic is checked against the
//! regions the program may touch (its live stack frames, the input memory, the context
//! and the regions it is given); an access outside them stops the run with an error
//! naming the instruction. In verified mode the loads and stores the verifier proved run
//! without that check. An instruction budget stops runaway programs. BPF addresses are
//! host addresses, so pointers handed to helpers and JIT code mean the same thing.

mod decode;

use alloc::string::String;
use alloc::vec::Vec;

use arrayvec::ArrayVec;

use crate::env::{Env, Flow, HelperError};
use crate::isa::{AluOp, AtomicOp, EndKind, EndWidth, HelperId, Insn, JmpCond, LdKind, Program, Size};
use crate::mem::{Memory, Region, Regions, Stack, MAX_FRAMES, STACK_FRAME, STACK_SIZE};
use crate::semantics;
use decode::{Decoded, Op};

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

/// Two tracers, each told every step.
impl<A: Tracer, B: Tracer> Tracer for (A, B) {
    const ENABLED: bool = A::ENABLED || B::ENABLED;
    #[inline(always)]
    fn step(&mut self, pc: usize, insn: &Insn, before: &[u64; 11], after: &[u64; 11]) {
        self.0.step(pc, insn, before, after);
        self.1.step(pc, insn, before, after);
    }
}

/// What a bpf-to-bpf call saves: the operation to return to, r6-r9 and r10.
struct CallFrame {
    ret: u32,
    saved: [u64; 4],
    saved_fp: u64,
}

/// The verifier's finding that every load and store it reached in one program stays
/// inside the memory a run of it may touch, by instruction index. Only the verifier
/// makes one (the constructors are the crate's), and it holds the program it is about,
/// so only that program, verified, runs in verified mode.
#[derive(Clone, Debug, Default)]
pub struct Proven {
    reached: Vec<bool>,
    insns: Vec<Insn>,
}

impl Proven {
    /// `reached[i]`: the analysis of `prog` reached instruction `i` and every check
    /// there passed.
    pub(crate) fn new(prog: &Program, reached: Vec<bool>) -> Proven {
        Proven { reached, insns: prog.insns().to_vec() }
    }

    /// The same finding about `prog`, a rewrite of the program the loader made after
    /// verification (lddw fixed up, context accesses converted): the same instructions
    /// but for those constants and offsets, which the loader derives from what the
    /// verifier checked.
    pub(crate) fn for_rewrite(&self, prog: &Program) -> Proven {
        debug_assert_eq!(prog.insns().len(), self.insns.len(), "a rewrite keeps every instruction in its place");
        Proven { reached: self.reached.clone(), insns: prog.insns().to_vec() }
    }
}

/// The program prepared for execution: pre-decoded ([`decode`]), with a stack it
/// reuses from run to run. A run through `&mut self` uses that stack; one through
/// `&self` ([`Interpreter::run_on`]) is given one (the runtime's per-CPU stacks), so
/// many threads can run the same interpreter at once.
pub struct Interpreter {
    code: Decoded,
    stack: Stack,
}

impl Interpreter {
    /// Checked mode: every access checked at run time (unverified programs, `--trace`,
    /// the soundness oracle).
    pub fn new(prog: &Program) -> Interpreter {
        Interpreter { code: Decoded::new(prog, None), stack: Stack::new() }
    }

    /// Verified mode: the loads and stores `proven` covers skip their check; atomics,
    /// helpers' accesses and anything the analysis did not reach stay checked. A finding
    /// about another program proves nothing here: the interpreter then checks every
    /// access, as [`Interpreter::new`]'s does.
    pub fn verified(prog: &Program, proven: &Proven) -> Interpreter {
        let about_this = proven.insns == prog.insns();
        Interpreter { code: Decoded::new(prog, about_this.then_some(&proven.reached[..])), stack: Stack::new() }
    }

    /// Runs with r1 = the input memory (or 0 when empty), r2 = its length, as the
    /// conformance suites expect. `extra` regions are also accessible (contexts, packets,
    /// what the environment exposes: [`ConformanceEnv::regions`](crate::conformance::ConformanceEnv::regions)).
    #[inline]
    pub fn run(&mut self, input: &mut [u8], extra: &[Region], env: &mut dyn Env, opts: &RunOptions) -> Result<Outcome, ExecError> {
        self.run_traced(input, extra, env, opts, &mut NoTrace)
    }

    /// [`Interpreter::run`], reporting each step to `tracer`.
    #[inline]
    pub fn run_traced<T: Tracer>(
        &mut self,
        input: &mut [u8],
        extra: &[Region],
        env: &mut dyn Env,
        opts: &RunOptions,
        tracer: &mut T,
    ) -> Result<Outcome, ExecError> {
        let len = input.len() as u64;
        let own = [Region::of_mut(input)];
        let (r1, own) = if len == 0 { (0, &own[..0]) } else { (own[0].start, &own[..]) };
        self.run_with(r1, len, [own, extra, &[], &[]], env, opts, tracer)
    }

    /// Runs with explicit r1, r2 and regions, reporting each step to `tracer`.
    #[inline]
    pub fn run_with<T: Tracer>(&mut self, r1: u64, r2: u64, regions: Regions<'_>, env: &mut dyn Env, opts: &RunOptions, tracer: &mut T) -> Result<Outcome, ExecError> {
        self.code.run_on(&mut self.stack, r1, r2, regions, env, opts, tracer)
    }

    /// [`Interpreter::run_with`] on `stack` (the runtime's stack of the CPU running it).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn run_on<T: Tracer>(
        &self,
        stack: &mut Stack,
        r1: u64,
        r2: u64,
        regions: Regions<'_>,
        env: &mut dyn Env,
        opts: &RunOptions,
        tracer: &mut T,
    ) -> Result<Outcome, ExecError> {
        self.code.run_on(stack, r1, r2, regions, env, opts, tracer)
    }
}

/// The run of a pre-decoded program.
impl Decoded {
    /// One run on `stack`, from the entry registers until it exits or fails.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn run_on<T: Tracer>(
        &self,
        stack: &mut Stack,
        r1: u64,
        r2: u64,
        regions: Regions<'_>,
        env: &mut dyn Env,
        opts: &RunOptions,
        tracer: &mut T,
    ) -> Result<Outcome, ExecError> {
        // A checked run starts from a zero stack; a verified program never reads stack
        // it did not write (the verifier refuses that), so its run starts as it finds it.
        let top = if self.verified { stack.top() } else { stack.zeroed() };
        let mut mem = Memory::new(top - STACK_FRAME as u64..top, regions);
        let mut reg = [0u64; 16];
        reg[1] = r1;
        reg[2] = r2;
        reg[10] = top;
        let out = self.exec(reg, &mut mem, env, opts, tracer);
        env.end(&mem);
        // Unchecked stores leave no mark: a verified run may have written every frame
        // the program can reach.
        stack.written(if !self.verified { mem.dirty_lo() } else if self.calls { top - STACK_SIZE as u64 } else { top - STACK_FRAME as u64 });
        out
    }

    /// The run itself, from the registers at entry until it exits or fails.
    ///
    /// Instructions are counted per straight run rather than one by one: `base + i`
    /// instructions have run before operation `i` of the straight run in progress, and
    /// every transfer (taken jump, call, exit) checks that count against the budget and
    /// rebases it for the operation control goes to. A straight run without a transfer is
    /// at most the program's length, so a program that exhausts its budget stops within
    /// one such run of where it did so, and the error names the instruction that
    /// exhausted it.
    #[inline(always)]
    fn exec<T: Tracer>(&self, mut reg: [u64; 16], mem: &mut Memory, env: &mut dyn Env, opts: &RunOptions, tracer: &mut T) -> Result<Outcome, ExecError> {
        let ops = &self.ops[..];
        let budget = opts.budget;
        let mut frames: ArrayVec<CallFrame, MAX_FRAMES> = ArrayVec::new();
        let mut pc = 0usize;
        // Wrapping: below zero once a straight run starts beyond the instructions run.
        let mut base = 0u64;

        // The register file has 16 entries: `& 15` keeps every index in range without a
        // bound check (decoding gave only r0-r10).
        macro_rules! r {
            ($i:expr) => {
                reg[($i & 15) as usize]
            };
        }
        macro_rules! fail {
            ($cur:expr, $kind:expr) => {
                return Err(self.fault($kind, $cur, base, budget, mem, reg[10]))
            };
        }
        macro_rules! check {
            ($cur:expr, $e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(kind) => fail!($cur, kind),
                }
            };
        }
        // The instructions run up to and including `cur`, or the end of the run if that
        // exceeds the budget.
        macro_rules! charge {
            ($cur:expr) => {{
                let total = base.wrapping_add($cur as u64 + 1);
                if total > budget {
                    let last = budget.wrapping_sub(base) as usize;
                    return Err(ExecError { pc: self.slots[last] as usize, kind: ExecErrorKind::Budget(budget) });
                }
                total
            }};
        }
        macro_rules! jump {
            ($cur:expr, $t:expr) => {{
                let total = charge!($cur);
                pc = $t as usize;
                base = total.wrapping_sub(pc as u64);
            }};
        }
        macro_rules! alu64 {
            ($op:ident, $d:expr, $s:expr) => {
                r!($d) = semantics::alu64(AluOp::$op, r!($d), $s)
            };
        }
        macro_rules! alu32 {
            ($op:ident, $d:expr, $s:expr) => {
                r!($d) = semantics::alu32(AluOp::$op, r!($d), $s)
            };
        }
        macro_rules! j64 {
            ($cur:expr, $cond:ident, $d:expr, $s:expr, $t:expr) => {
                if semantics::cond64(JmpCond::$cond, r!($d), $s) {
                    jump!($cur, $t)
                }
            };
        }
        macro_rules! j32 {
            ($cur:expr, $cond:ident, $d:expr, $s:expr, $t:expr) => {
                if semantics::cond32(JmpCond::$cond, r!($d), $s) {
                    jump!($cur, $t)
                }
            };
        }

        debug_assert!(!ops.is_empty() && matches!(ops.last(), Some(Op::Exit | Op::Ja { .. })));
        loop {
            let cur = pc;
            // SAFETY: `cur` is in range. Validation gave the program a last instruction
            // that does not fall through (exit or ja) and jump targets that are all
            // instructions, and decoding kept both: so the next operation after one that
            // falls through, every target, and every call's return point (the operation
            // after a call, never the last) is in `ops`.
            let op = unsafe { ops.get_unchecked(cur) };
            let before = if T::ENABLED { reg } else { [0; 16] };
            pc += 1;
            match *op {
                Op::AddX64 { d, s } => alu64!(Add, d, r!(s)),
                Op::AddK64 { d, k } => alu64!(Add, d, k),
                Op::AddX32 { d, s } => alu32!(Add, d, r!(s)),
                Op::AddK32 { d, k } => alu32!(Add, d, k),
                Op::SubX64 { d, s } => alu64!(Sub, d, r!(s)),
                Op::SubK64 { d, k } => alu64!(Sub, d, k),
                Op::SubX32 { d, s } => alu32!(Sub, d, r!(s)),
                Op::SubK32 { d, k } => alu32!(Sub, d, k),
                Op::MulX64 { d, s } => alu64!(Mul, d, r!(s)),
                Op::MulK64 { d, k } => alu64!(Mul, d, k),
                Op::MulX32 { d, s } => alu32!(Mul, d, r!(s)),
                Op::MulK32 { d, k } => alu32!(Mul, d, k),
                Op::DivX64 { d, s } => alu64!(Div, d, r!(s)),
                Op::DivK64 { d, k } => alu64!(Div, d, k),
                Op::DivX32 { d, s } => alu32!(Div, d, r!(s)),
                Op::DivK32 { d, k } => alu32!(Div, d, k),
                Op::SdivX64 { d, s } => alu64!(Sdiv, d, r!(s)),
                Op::SdivK64 { d, k } => alu64!(Sdiv, d, k),
                Op::SdivX32 { d, s } => alu32!(Sdiv, d, r!(s)),
                Op::SdivK32 { d, k } => alu32!(Sdiv, d, k),
                Op::OrX64 { d, s } => alu64!(Or, d, r!(s)),
                Op::OrK64 { d, k } => alu64!(Or, d, k),
                Op::OrX32 { d, s } => alu32!(Or, d, r!(s)),
                Op::OrK32 { d, k } => alu32!(Or, d, k),
                Op::AndX64 { d, s } => alu64!(And, d, r!(s)),
                Op::AndK64 { d, k } => alu64!(And, d, k),
                Op::AndX32 { d, s } => alu32!(And, d, r!(s)),
                Op::AndK32 { d, k } => alu32!(And, d, k),
                Op::LshX64 { d, s } => alu64!(Lsh, d, r!(s)),
                Op::LshK64 { d, k } => alu64!(Lsh, d, k),
                Op::LshX32 { d, s } => alu32!(Lsh, d, r!(s)),
                Op::LshK32 { d, k } => alu32!(Lsh, d, k),
                Op::RshX64 { d, s } => alu64!(Rsh, d, r!(s)),
                Op::RshK64 { d, k } => alu64!(Rsh, d, k),
                Op::RshX32 { d, s } => alu32!(Rsh, d, r!(s)),
                Op::RshK32 { d, k } => alu32!(Rsh, d, k),
                Op::ModX64 { d, s } => alu64!(Mod, d, r!(s)),
                Op::ModK64 { d, k } => alu64!(Mod, d, k),
                Op::ModX32 { d, s } => alu32!(Mod, d, r!(s)),
                Op::ModK32 { d, k } => alu32!(Mod, d, k),
                Op::SmodX64 { d, s } => alu64!(Smod, d, r!(s)),
                Op::SmodK64 { d, k } => alu64!(Smod, d, k),
                Op::SmodX32 { d, s } => alu32!(Smod, d, r!(s)),
                Op::SmodK32 { d, k } => alu32!(Smod, d, k),
                Op::XorX64 { d, s } => alu64!(Xor, d, r!(s)),
                Op::XorK64 { d, k } => alu64!(Xor, d, k),
                Op::XorX32 { d, s } => alu32!(Xor, d, r!(s)),
                Op::XorK32 { d, k } => alu32!(Xor, d, k),
                Op::MovX64 { d, s } => alu64!(Mov, d, r!(s)),
                Op::MovK64 { d, k } => alu64!(Mov, d, k),
                Op::MovX32 { d, s } => alu32!(Mov, d, r!(s)),
                Op::MovK32 { d, k } => alu32!(Mov, d, k),
                Op::ArshX64 { d, s } => alu64!(Arsh, d, r!(s)),
                Op::ArshK64 { d, k } => alu64!(Arsh, d, k),
                Op::ArshX32 { d, s } => alu32!(Arsh, d, r!(s)),
                Op::ArshK32 { d, k } => alu32!(Arsh, d, k),

                Op::JeqX64 { d, s, t } => j64!(cur, Eq, d, r!(s), t),
                Op::JeqK64 { d, k, t } => j64!(cur, Eq, d, k, t),
                Op::JeqX32 { d, s, t } => j32!(cur, Eq, d, r!(s), t),
                Op::JeqK32 { d, k, t } => j32!(cur, Eq, d, k, t),
                Op::JgtX64 { d, s, t } => j64!(cur, Gt, d, r!(s), t),
                Op::JgtK64 { d, k, t } => j64!(cur, Gt, d, k, t),
                Op::JgtX32 { d, s, t } => j32!(cur, Gt, d, r!(s), t),
                Op::JgtK32 { d, k, t } => j32!(cur, Gt, d, k, t),
                Op::JgeX64 { d, s, t } => j64!(cur, Ge, d, r!(s), t),
                Op::JgeK64 { d, k, t } => j64!(cur, Ge, d, k, t),
                Op::JgeX32 { d, s, t } => j32!(cur, Ge, d, r!(s), t),
                Op::JgeK32 { d, k, t } => j32!(cur, Ge, d, k, t),
                Op::JsetX64 { d, s, t } => j64!(cur, Set, d, r!(s), t),
                Op::JsetK64 { d, k, t } => j64!(cur, Set, d, k, t),
                Op::JsetX32 { d, s, t } => j32!(cur, Set, d, r!(s), t),
                Op::JsetK32 { d, k, t } => j32!(cur, Set, d, k, t),
                Op::JneX64 { d, s, t } => j64!(cur, Ne, d, r!(s), t),
                Op::JneK64 { d, k, t } => j64!(cur, Ne, d, k, t),
                Op::JneX32 { d, s, t } => j32!(cur, Ne, d, r!(s), t),
                Op::JneK32 { d, k, t } => j32!(cur, Ne, d, k, t),
                Op::JsgtX64 { d, s, t } => j64!(cur, Sgt, d, r!(s), t),
                Op::JsgtK64 { d, k, t } => j64!(cur, Sgt, d, k, t),
                Op::JsgtX32 { d, s, t } => j32!(cur, Sgt, d, r!(s), t),
                Op::JsgtK32 { d, k, t } => j32!(cur, Sgt, d, k, t),
                Op::JsgeX64 { d, s, t } => j64!(cur, Sge, d, r!(s), t),
                Op::JsgeK64 { d, k, t } => j64!(cur, Sge, d, k, t),
                Op::JsgeX32 { d, s, t } => j32!(cur, Sge, d, r!(s), t),
                Op::JsgeK32 { d, k, t } => j32!(cur, Sge, d, k, t),
                Op::JltX64 { d, s, t } => j64!(cur, Lt, d, r!(s), t),
                Op::JltK64 { d, k, t } => j64!(cur, Lt, d, k, t),
                Op::JltX32 { d, s, t } => j32!(cur, Lt, d, r!(s), t),
                Op::JltK32 { d, k, t } => j32!(cur, Lt, d, k, t),
                Op::JleX64 { d, s, t } => j64!(cur, Le, d, r!(s), t),
                Op::JleK64 { d, k, t } => j64!(cur, Le, d, k, t),
                Op::JleX32 { d, s, t } => j32!(cur, Le, d, r!(s), t),
                Op::JleK32 { d, k, t } => j32!(cur, Le, d, k, t),
                Op::JsltX64 { d, s, t } => j64!(cur, Slt, d, r!(s), t),
                Op::JsltK64 { d, k, t } => j64!(cur, Slt, d, k, t),
                Op::JsltX32 { d, s, t } => j32!(cur, Slt, d, r!(s), t),
                Op::JsltK32 { d, k, t } => j32!(cur, Slt, d, k, t),
                Op::JsleX64 { d, s, t } => j64!(cur, Sle, d, r!(s), t),
                Op::JsleK64 { d, k, t } => j64!(cur, Sle, d, k, t),
                Op::JsleX32 { d, s, t } => j32!(cur, Sle, d, r!(s), t),
                Op::JsleK32 { d, k, t } => j32!(cur, Sle, d, k, t),
                Op::Ja { t } => jump!(cur, t),

                Op::Neg64 { d } => r!(d) = semantics::neg(r!(d), true),
                Op::Neg32 { d } => r!(d) = semantics::neg(r!(d), false),
                Op::MovSx64 { d, s, bits } => r!(d) = semantics::sign_extend(r!(s), bits as u32),
                Op::MovSx32 { d, s, bits } => r!(d) = semantics::sign_extend(r!(s), bits as u32) as u32 as u64,
                Op::Le16 { d } => r!(d) = semantics::end(EndKind::Le, EndWidth::B16, r!(d)),
                Op::Le32 { d } => r!(d) = semantics::end(EndKind::Le, EndWidth::B32, r!(d)),
                Op::Swap16 { d } => r!(d) = semantics::end(EndKind::Swap, EndWidth::B16, r!(d)),
                Op::Swap32 { d } => r!(d) = semantics::end(EndKind::Swap, EndWidth::B32, r!(d)),
                Op::Swap64 { d } => r!(d) = semantics::end(EndKind::Swap, EndWidth::B64, r!(d)),
                Op::Nop => {}
                Op::LdPseudo { d, kind, imm, next_imm } => {
                    let slot = self.slots[cur] as usize;
                    r!(d) = check!(cur, env.ld_imm64(kind, imm, next_imm, slot).map_err(|err| ExecErrorKind::LdImm64 { kind, imm, err }));
                }

                Op::LdxB { d, s, off } => r!(d) = check!(cur, load(mem, r!(s).wrapping_add(off), Size::B)),
                Op::LdxH { d, s, off } => r!(d) = check!(cur, load(mem, r!(s).wrapping_add(off), Size::H)),
                Op::LdxW { d, s, off } => r!(d) = check!(cur, load(mem, r!(s).wrapping_add(off), Size::W)),
                Op::LdxDW { d, s, off } => r!(d) = check!(cur, load(mem, r!(s).wrapping_add(off), Size::DW)),
                Op::LdxSB { d, s, off } => r!(d) = semantics::sign_extend(check!(cur, load(mem, r!(s).wrapping_add(off), Size::B)), 8),
                Op::LdxSH { d, s, off } => r!(d) = semantics::sign_extend(check!(cur, load(mem, r!(s).wrapping_add(off), Size::H)), 16),
                Op::LdxSW { d, s, off } => r!(d) = semantics::sign_extend(check!(cur, load(mem, r!(s).wrapping_add(off), Size::W)), 32),
                Op::StB { d, off, k } => check!(cur, store(mem, r!(d).wrapping_add(off as i64 as u64), Size::B, k)),
                Op::StH { d, off, k } => check!(cur, store(mem, r!(d).wrapping_add(off as i64 as u64), Size::H, k)),
                Op::StW { d, off, k } => check!(cur, store(mem, r!(d).wrapping_add(off as i64 as u64), Size::W, k)),
                Op::StDW { d, off, k } => check!(cur, store(mem, r!(d).wrapping_add(off as i64 as u64), Size::DW, k)),
                Op::StxB { d, s, off } => check!(cur, store(mem, r!(d).wrapping_add(off), Size::B, r!(s))),
                Op::StxH { d, s, off } => check!(cur, store(mem, r!(d).wrapping_add(off), Size::H, r!(s))),
                Op::StxW { d, s, off } => check!(cur, store(mem, r!(d).wrapping_add(off), Size::W, r!(s))),
                Op::StxDW { d, s, off } => check!(cur, store(mem, r!(d).wrapping_add(off), Size::DW, r!(s))),
                // SAFETY (each `Direct` operation): in verified mode only, where the
                // verifier proved the access lies in memory the run may touch.
                Op::LdxBDirect { d, s, off } => r!(d) = unsafe { direct_load(r!(s).wrapping_add(off), Size::B) },
                Op::LdxHDirect { d, s, off } => r!(d) = unsafe { direct_load(r!(s).wrapping_add(off), Size::H) },
                Op::LdxWDirect { d, s, off } => r!(d) = unsafe { direct_load(r!(s).wrapping_add(off), Size::W) },
                Op::LdxDWDirect { d, s, off } => r!(d) = unsafe { direct_load(r!(s).wrapping_add(off), Size::DW) },
                Op::LdxSBDirect { d, s, off } => r!(d) = semantics::sign_extend(unsafe { direct_load(r!(s).wrapping_add(off), Size::B) }, 8),
                Op::LdxSHDirect { d, s, off } => r!(d) = semantics::sign_extend(unsafe { direct_load(r!(s).wrapping_add(off), Size::H) }, 16),
                Op::LdxSWDirect { d, s, off } => r!(d) = semantics::sign_extend(unsafe { direct_load(r!(s).wrapping_add(off), Size::W) }, 32),
                Op::StBDirect { d, off, k } => unsafe { direct_store(r!(d).wrapping_add(off as i64 as u64), Size::B, k) },
                Op::StHDirect { d, off, k } => unsafe { direct_store(r!(d).wrapping_add(off as i64 as u64), Size::H, k) },
                Op::StWDirect { d, off, k } => unsafe { direct_store(r!(d).wrapping_add(off as i64 as u64), Size::W, k) },
                Op::StDWDirect { d, off, k } => unsafe { direct_store(r!(d).wrapping_add(off as i64 as u64), Size::DW, k) },
                Op::StxBDirect { d, s, off } => unsafe { direct_store(r!(d).wrapping_add(off), Size::B, r!(s)) },
                Op::StxHDirect { d, s, off } => unsafe { direct_store(r!(d).wrapping_add(off), Size::H, r!(s)) },
                Op::StxWDirect { d, s, off } => unsafe { direct_store(r!(d).wrapping_add(off), Size::W, r!(s)) },
                Op::StxDWDirect { d, s, off } => unsafe { direct_store(r!(d).wrapping_add(off), Size::DW, r!(s)) },
                Op::Atomic { size, op, d, s, off } => {
                    let old = check!(cur, atomic(mem, r!(d).wrapping_add(off as i64 as u64), size, op, r!(s), reg[0]));
                    match op {
                        AtomicOp::Cmpxchg => reg[0] = old,
                        op if op.fetches() => r!(s) = old,
                        _ => {}
                    }
                }

                Op::Call { .. } | Op::Callx { .. } => {
                    let id = match *op {
                        Op::Callx { r } => {
                            let value = r!(r);
                            check!(cur, HelperId::from_reg(value).ok_or(ExecErrorKind::UnknownCallx { value }))
                        }
                        Op::Call { id } => HelperId(id),
                        _ => unreachable!(),
                    };
                    // A helper may end the run: count up to the call first. The straight
                    // run goes on after it, so `base` stays.
                    let executed = charge!(cur);
                    let flow = check!(cur, call_helper(env, mem, &mut reg, id));
                    if T::ENABLED && flow.is_some() {
                        // The call that ends the run is its last step.
                        self.step(tracer, cur, &before, &reg);
                    }
                    match flow {
                        None => {}
                        Some(Flow::TailCall(_)) if !frames.is_empty() => fail!(cur, ExecErrorKind::TailCallInSubprog),
                        Some(Flow::TailCall(target)) => return Ok(Outcome { r0: 0, insns_executed: executed, tail_call: Some(target) }),
                        Some(Flow::Exit(r0) | Flow::Continue(r0)) => return Ok(Outcome { r0, insns_executed: executed, tail_call: None }),
                    }
                }
                Op::CallLocal { t } => {
                    if frames.len() + 1 >= MAX_FRAMES {
                        fail!(cur, ExecErrorKind::CallDepth);
                    }
                    frames.push(CallFrame { ret: pc as u32, saved: [reg[6], reg[7], reg[8], reg[9]], saved_fp: reg[10] });
                    reg[10] -= STACK_FRAME as u64;
                    mem.set_stack_lo(reg[10] - STACK_FRAME as u64);
                    jump!(cur, t);
                }
                Op::Exit => match frames.pop() {
                    None => {
                        let executed = charge!(cur);
                        if T::ENABLED {
                            self.step(tracer, cur, &before, &reg);
                        }
                        return Ok(Outcome { r0: reg[0], insns_executed: executed, tail_call: None });
                    }
                    Some(f) => {
                        reg[6..10].copy_from_slice(&f.saved);
                        reg[10] = f.saved_fp;
                        mem.set_stack_lo(reg[10] - STACK_FRAME as u64);
                        jump!(cur, f.ret);
                    }
                },
            }
            if T::ENABLED {
                self.step(tracer, cur, &before, &reg);
            }
        }
    }

    /// Reports operation `cur` to the tracer, as the instruction and slot it came from.
    #[inline(never)]
    fn step<T: Tracer>(&self, tracer: &mut T, cur: usize, before: &[u64; 16], after: &[u64; 16]) {
        let (b, a): ([u64; 11], [u64; 11]) = (before[..11].try_into().unwrap(), after[..11].try_into().unwrap());
        tracer.step(self.slots[cur] as usize, &self.insns[cur], &b, &a);
    }

    /// The error operation `cur` raised, with its place filled in — or, when the budget
    /// ran out before `cur` (`base + cur` instructions ran before it), the budget error
    /// where it did.
    #[cold]
    #[inline(never)]
    fn fault(&self, kind: ExecErrorKind, cur: usize, base: u64, budget: u64, mem: &Memory, fp: u64) -> ExecError {
        if base.wrapping_add(cur as u64) >= budget {
            let last = budget.wrapping_sub(base) as usize;
            return ExecError { pc: self.slots[last] as usize, kind: ExecErrorKind::Budget(budget) };
        }
        ExecError { pc: self.slots[cur] as usize, kind: locate(kind, mem, fp) }
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
fn call_helper(env: &mut dyn Env, mem: &Memory, reg: &mut [u64; 16], id: HelperId) -> Result<Option<Flow>, ExecErrorKind> {
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
    mem.translate(addr, n, false).ok_or(ExecErrorKind::OutOfBounds { addr, len: n, write: false, place: String::new() })?;
    // SAFETY: translate checked the range lies in a live region.
    Ok(unsafe { direct_load(addr, size) })
}

#[inline(always)]
fn store(mem: &Memory, addr: u64, size: Size, v: u64) -> Result<(), ExecErrorKind> {
    let n = size.bytes() as u64;
    mem.translate(addr, n, true).ok_or(ExecErrorKind::OutOfBounds { addr, len: n, write: true, place: String::new() })?;
    // SAFETY: translate checked the range lies in a live writable region.
    unsafe { direct_store(addr, size, v) };
    Ok(())
}

/// Reads `size` bytes at `addr`, zero-extended (unaligned reads are fine).
///
/// # Safety
/// The bytes lie in live memory the run may read.
#[inline(always)]
unsafe fn direct_load(addr: u64, size: Size) -> u64 {
    let p = addr as *const u8;
    match size {
        Size::B => *p as u64,
        Size::H => (p as *const u16).read_unaligned() as u64,
        Size::W => (p as *const u32).read_unaligned() as u64,
        Size::DW => (p as *const u64).read_unaligned(),
    }
}

/// Writes the low `size` bytes of `v` at `addr`.
///
/// # Safety
/// The bytes lie in live memory the run may write.
#[inline(always)]
unsafe fn direct_store(addr: u64, size: Size, v: u64) {
    let p = addr as *mut u8;
    match size {
        Size::B => *p = v as u8,
        Size::H => (p as *mut u16).write_unaligned(v as u16),
        Size::W => (p as *mut u32).write_unaligned(v as u32),
        Size::DW => (p as *mut u64).write_unaligned(v),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::asm;

    struct NoHelpers;

    impl Env for NoHelpers {
        fn call(&mut self, _: HelperId, _: [u64; 5], _: &Memory) -> Result<Flow, HelperError> {
            Err(HelperError::Unknown)
        }
    }

    fn program(text: &str) -> Program {
        Program::new(asm::assemble(text).unwrap()).unwrap()
    }

    /// r0 of `vm` run on `stack`.
    fn r0_on(vm: &Interpreter, stack: &mut Stack) -> u64 {
        vm.run_on(stack, 0, 0, [&[]; 4], &mut NoHelpers, &RunOptions::default(), &mut NoTrace).unwrap().r0
    }

    #[test]
    fn a_checked_run_reads_zeros_whatever_ran_on_its_stack_before() {
        let writer = program("stdw [%r10-8], 0x55\nstxdw [%r10-512], %r10\nmov %r0, 0\nexit");
        let reader = program("ldxdw %r0, [%r10-8]\nldxdw %r1, [%r10-512]\nor %r0, %r1\nexit");
        let everything = |p: &Program| Proven::new(p, alloc::vec![true; p.insns().len()]);
        let mut stack = Stack::new();
        let (checked_writer, checked_reader) = (Interpreter::new(&writer), Interpreter::new(&reader));
        let (verified_writer, verified_reader) = (Interpreter::verified(&writer, &everything(&writer)), Interpreter::verified(&reader, &everything(&reader)));
        r0_on(&checked_writer, &mut stack);
        assert_eq!(r0_on(&checked_reader, &mut stack), 0, "after a checked run");
        r0_on(&verified_writer, &mut stack);
        assert_ne!(r0_on(&verified_reader, &mut stack), 0, "a verified run starts from the stack as it finds it");
        assert_eq!(r0_on(&checked_reader, &mut stack), 0, "after a verified run");
    }

    #[test]
    fn a_finding_about_another_program_proves_nothing() {
        let safe = program("ldxdw %r0, [%r10-8]\nexit");
        let unsafe_ = program("ldxdw %r0, [%r10+8]\nexit");
        let proven = Proven::new(&safe, alloc::vec![true; 2]);
        let err = Interpreter::verified(&unsafe_, &proven).run(&mut [], &[], &mut NoHelpers, &RunOptions::default()).unwrap_err();
        assert!(matches!(err.kind, ExecErrorKind::OutOfBounds { .. }), "{err}");
    }

    #[test]
    fn unproven_accesses_stay_checked_in_verified_mode() {
        let prog = program("ldxdw %r0, [%r10+8]\nexit");
        let err = Interpreter::verified(&prog, &Proven::default()).run(&mut [], &[], &mut NoHelpers, &RunOptions::default()).unwrap_err();
        assert!(matches!(err.kind, ExecErrorKind::OutOfBounds { .. }), "{err}");
    }
}
