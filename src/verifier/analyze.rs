//! The fixpoint: abstract states at every instruction of one function, by a worklist
//! over the control-flow graph, joining where paths meet and widening at a loop head (the
//! target of a backward jump) that changed more than [`WIDEN_AFTER`] times, with a step
//! cap that ends in a refusal, never a hang. Each instruction's transfer is
//! [`super::alu`], [`super::mem`], [`super::jmp`] or [`super::call`]; map references
//! (`lddw` of a map or a map value) become map pointers; an atomic reads and writes its
//! bytes; `exit` needs r0 to be a number.
//!
//! Not yet: bpf-to-bpf calls and the termination proof of loops; such a program is
//! refused by this analysis with the instruction named (the verify stage does not run it
//! yet).

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::call::{self, CallEnv};
use super::mem::{self, At};
use super::reg::{Kind, Reg, Region};
use super::state::State;
use super::{alu, jmp};
use crate::isa::{AtomicOp, Insn, LdKind, Program};

/// Joins at one point before it widens.
pub const WIDEN_AFTER: u32 = 2;

/// Why the analysis refuses a program: where, and the reason in the kernel's words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    #[error("{pc}: {msg}")]
    At { pc: usize, msg: String },
    #[error("the analysis did not converge after {0} steps")]
    NoFixpoint(usize),
}

/// The states at each instruction's entry (`None`: unreachable).
#[derive(Debug)]
pub struct Analysis {
    pub states: Vec<Option<State>>,
    /// Instructions analysed, counting repeats (the kernel's "processed N insns").
    pub steps: usize,
}

/// Runs the analysis of `prog` from its entry state.
pub fn analyze(prog: &Program, env: &CallEnv, max_steps: usize) -> Result<Analysis, AnalysisError> {
    let insns = prog.insns();
    let cfg = prog.cfg();
    let mut states: Vec<Option<State>> = vec![None; insns.len()];
    let mut visits = vec![0u32; insns.len()];
    states[0] = Some(State::entry());
    let mut work: VecDeque<usize> = VecDeque::from([0]);
    let mut queued = vec![false; insns.len()];
    queued[0] = true;
    let mut steps = 0;
    while let Some(i) = work.pop_front() {
        queued[i] = false;
        steps += 1;
        if steps > max_steps {
            return Err(AnalysisError::NoFixpoint(max_steps));
        }
        let Some(state) = states[i].clone() else { continue };
        let pc = cfg.slot_of(i);
        let at = |msg: String| AnalysisError::At { pc, msg };
        for (next, out) in step(&insns[i], &state, env, i as u32 + 1).map_err(at)? {
            let Some(j) = (match next {
                Next::Fall => Some(i + 1),
                Next::Jump => cfg.jump_target(i, &insns[i]),
            }) else {
                continue;
            };
            if j >= insns.len() {
                return Err(AnalysisError::At { pc, msg: String::from("jump out of range") });
            }
            let merged = match &states[j] {
                None => out,
                Some(old) if out.within(old) => continue,
                Some(old) => {
                    visits[j] += 1;
                    // Widen only where a loop closes: the target of a backward edge. Other
                    // points stabilise once their loop head has (a branch after the head
                    // narrows again, and widening there would undo it).
                    if j <= i && visits[j] > WIDEN_AFTER {
                        old.widen(&out)
                    } else {
                        old.join(&out)
                    }
                }
            };
            states[j] = Some(merged);
            if !queued[j] {
                queued[j] = true;
                work.push_back(j);
            }
        }
    }
    Ok(Analysis { states, steps })
}

/// Where a successor state goes.
enum Next {
    Fall,
    Jump,
}

/// One instruction's successor states (`site`: the instruction's own id, for the values
/// a call there makes).
fn step(insn: &Insn, s: &State, cenv: &CallEnv, site: u32) -> Result<Vec<(Next, State)>, String> {
    let env = cenv.mem;
    let mut out = s.clone();
    let e = |x: &dyn ToString| x.to_string();
    match *insn {
        Insn::Alu { op, width, dst, src } => {
            let d = dst.index() as u8;
            out.regs[d as usize] = alu::alu(op, width, d, s.regs[d as usize], src, &s.regs).map_err(|x| e(&x))?;
        }
        Insn::Neg { width, dst } => out.regs[dst.index()] = alu::neg(width, dst.index() as u8, s.regs[dst.index()]).map_err(|x| e(&x))?,
        Insn::MovSx { width, bits, dst, src } => out.regs[dst.index()] = alu::movsx(width, bits, dst.index() as u8, src.index() as u8, s.regs[src.index()]).map_err(|x| e(&x))?,
        Insn::End { kind, bits, dst } => out.regs[dst.index()] = alu::end(kind, bits, dst.index() as u8, s.regs[dst.index()]).map_err(|x| e(&x))?,
        Insn::LdImm64 { kind: LdKind::Imm64, dst, imm, next_imm } => out.regs[dst.index()] = Reg::konst(crate::isa::cfg::lddw_value(imm, next_imm)),
        Insn::LdImm64 { kind: kind @ (LdKind::MapFd | LdKind::MapIdx), dst, imm, .. } => {
            let map = (cenv.map)(kind, imm).ok_or_else(|| format!("fd {imm} is not pointing to valid bpf_map"))?;
            out.regs[dst.index()] = Reg::ptr(Region::MapPtr { map });
        }
        Insn::LdImm64 { kind: kind @ (LdKind::MapValueFd | LdKind::MapValueIdx), dst, imm, next_imm } => {
            let map = (cenv.map)(kind, imm).ok_or_else(|| format!("fd {imm} is not pointing to valid bpf_map"))?;
            out.regs[dst.index()] = Reg::ptr_at(Region::MapValue { map }, next_imm as i64);
        }
        Insn::Call { helper } => {
            let proto = (cenv.helper)(helper).ok_or_else(|| format!("invalid func unknown#{}", helper.get()))?;
            out = call::call(s, &proto, cenv, site).map_err(|x| e(&x))?;
        }
        Insn::Ldx { size, signed, dst, src, off } => {
            let at = At { reg: src.index() as u8, off, size: size.bytes() as u64 };
            out.regs[dst.index()] = mem::load(s, &s.regs[src.index()], at, signed, env).map_err(|x| e(&x))?;
        }
        Insn::Stx { size, dst, src, off } => {
            alu::readable(&s.regs[src.index()], src.index() as u8).map_err(|x| e(&x))?;
            let at = At { reg: dst.index() as u8, off, size: size.bytes() as u64 };
            mem::store(&mut out, &s.regs[dst.index()], at, s.regs[src.index()], Some(src.index() as u8), env).map_err(|x| e(&x))?;
        }
        Insn::St { size, dst, off, imm } => {
            let at = At { reg: dst.index() as u8, off, size: size.bytes() as u64 };
            mem::store(&mut out, &s.regs[dst.index()], at, Reg::konst(crate::semantics::imm64(imm)), None, env).map_err(|x| e(&x))?;
        }
        Insn::Atomic { size, op, dst, src, off } => {
            // A read and a write of the same bytes, of a number.
            let (p, v) = (s.regs[dst.index()], s.regs[src.index()]);
            alu::readable(&v, src.index() as u8).map_err(|x| e(&x))?;
            if v.kind != Kind::Scalar {
                return Err(format!("R{} leaks addr into mem", src.index()));
            }
            if op == AtomicOp::Cmpxchg && s.regs[0].kind != Kind::Scalar {
                return Err(String::from("R0 must be a number for cmpxchg"));
            }
            let at = At { reg: dst.index() as u8, off, size: size.bytes() as u64 };
            let old = mem::load(s, &p, at, false, env).map_err(|x| e(&x))?;
            mem::store(&mut out, &p, at, Reg::unknown(), None, env).map_err(|x| e(&x))?;
            match op {
                AtomicOp::Cmpxchg => out.regs[0] = old,
                op if op.fetches() => out.regs[src.index()] = old,
                _ => {}
            }
        }
        Insn::Ja { .. } | Insn::Gotol { .. } => return Ok(vec![(Next::Jump, out)]),
        Insn::Jmp { width, cond, dst, src, .. } => {
            let d = dst.index() as u8;
            let mut succ = Vec::new();
            if let Some(t) = jmp::branch(s, cond, width, d, src, true).map_err(|x| e(&x))? {
                succ.push((Next::Jump, t));
            }
            if let Some(f) = jmp::branch(s, cond, width, d, src, false).map_err(|x| e(&x))? {
                succ.push((Next::Fall, f));
            }
            return Ok(succ);
        }
        Insn::Exit => {
            let r0 = &s.regs[0];
            return match r0.kind {
                Kind::Scalar => Ok(Vec::new()),
                Kind::NotInit => Err(String::from("R0 !read_ok")),
                _ => Err(String::from("R0 leaks addr as return value")),
            };
        }
        ref other => return Err(format!("{} is not analysed yet", crate::isa::disasm::format_insn(other, crate::isa::disasm::Syntax::Conformance))),
    }
    Ok(vec![(Next::Fall, out)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::asm::assemble;
    use crate::prog::{CtxDescriptor, ProgType};
    use crate::verifier::mem::MemEnv;

    /// The program-type table's own contexts.
    fn xdp() -> &'static CtxDescriptor {
        ProgType::Xdp.ctx()
    }

    /// An environment with one map (index 0: 4-byte keys, 16-byte values, named by fd 7)
    /// and the map-lookup helper.
    fn with_env<R>(ctx: &CtxDescriptor, f: impl FnOnce(&CallEnv) -> R) -> R {
        use crate::helpers::{Arg, Proto, Ret};
        let mem = MemEnv { ctx, value_size: &|m| (m == 0).then_some(16) };
        let lookup = Proto { id: crate::isa::HelperId(1), name: "map_lookup_elem", ret: Ret::MapValueOrNull, args: [Arg::ConstMapPtr, Arg::MapKey, Arg::None, Arg::None, Arg::None], gpl_only: false };
        let env = CallEnv { mem: &mem, key_size: &|m| (m == 0).then_some(4), helper: &move |id| (id.get() == 1).then_some(lookup), map: &|_, fd| (fd == 7).then_some(0) };
        f(&env)
    }

    fn analyze_insns(insns: Vec<Insn>, ctx: &CtxDescriptor) -> Result<Analysis, AnalysisError> {
        let prog = Program::new(insns).unwrap();
        with_env(ctx, |env| analyze(&prog, env, 100_000))
    }

    fn run(src: &str) -> Result<Analysis, AnalysisError> {
        analyze_insns(assemble(src).unwrap(), xdp())
    }

    #[test]
    fn a_checked_packet_read_is_accepted_and_an_unchecked_one_refused() {
        let checked = "ldxw r2, [r1]\nldxw r3, [r1+4]\nmov r4, r2\nadd r4, 14\njgt r4, r3, +2\nldxh r0, [r2+12]\nexit\nmov r0, 0\nexit";
        assert!(run(checked).is_ok());
        let off_by_one = "ldxw r2, [r1]\nldxw r3, [r1+4]\nmov r4, r2\nadd r4, 13\njgt r4, r3, +2\nldxh r0, [r2+12]\nexit\nmov r0, 0\nexit";
        let e = run(off_by_one).unwrap_err();
        assert_eq!(e.to_string(), "5: invalid access to packet, off=12 size=2, R2(r=13)");
    }

    #[test]
    fn a_counted_loop_converges_and_its_bounds_hold_in_the_body() {
        // for (i = 0; i < 10; i++) sum += i, with r3 = fp - 80 + 8 * i computed on the way.
        let src = "mov r0, 0\nmov r6, 0\nstdw [r10-80], 0\nstdw [r10-72], 0\njge r6, 10, +7\nmov r2, r6\nlsh r2, 3\nmov r3, r10\nadd r3, -80\nadd r0, r6\nadd r6, 1\nja -8\nexit";
        let a = run(src).unwrap();
        // At the body's first instruction r6 is within 0..=9.
        let body = a.states[5].as_ref().unwrap();
        assert_eq!((body.regs[6].value.full.umin, body.regs[6].value.full.umax), (0, 9));
        assert!(a.steps < 200, "{} steps", a.steps);
        // A cap on the steps ends in a refusal, not a hang.
        let prog = Program::new(assemble(src).unwrap()).unwrap();
        assert_eq!(with_env(xdp(), |env| analyze(&prog, env, 10)).unwrap_err(), AnalysisError::NoFixpoint(10));
    }

    /// The soundness oracle in small: random programs over values read from a random
    /// context (every ALU operation at both widths, movsx, neg, byte swaps, forward
    /// conditional jumps of every condition), run by the interpreter; at every step it
    /// executes, the instruction must be reachable in the analysis and every number the
    /// analysis knows must hold the concrete value.
    #[test]
    fn every_concrete_run_lies_in_the_analysis() {
        use crate::env::{Env, Flow, HelperError};
        use crate::interp::{Interpreter, RunOptions, Tracer};
        use crate::isa::test_rng::Rng;
        use crate::isa::{AluOp, EndKind, EndWidth, JmpCond, Reg as R, Size, Source, SxWidth, Width};
        struct NoHelpers;
        impl Env for NoHelpers {
            fn call(&mut self, _: crate::isa::HelperId, _: [u64; 5], _: &crate::mem::Memory) -> Result<Flow, HelperError> {
                Err(HelperError::Unknown)
            }
        }
        struct Steps(Vec<(usize, [u64; 11])>);
        impl Tracer for Steps {
            const ENABLED: bool = true;
            fn step(&mut self, pc: usize, _: &Insn, before: &[u64; 11], _: &[u64; 11]) {
                self.0.push((pc, *before));
            }
        }
        let mut rng = Rng(0x0_5ac1e);
        let data = [0u64, 2, 3, 4, 5];
        let mut checked = 0;
        for _ in 0..4000 {
            let reg = |rng: &mut Rng| R::new(data[(rng.next() % 5) as usize] as u8).unwrap();
            let imm = |rng: &mut Rng| [0, 1, -1, 7, 31, 32, 63, 255, 4096, i32::MIN, i32::MAX, rng.next() as i32, (rng.next() % 8) as i32, (rng.next() % 256) as i32][(rng.next() % 14) as usize];
            let mut code: Vec<Insn> = Vec::new();
            for r in [2u8, 3, 4, 5] {
                // Mostly bytes: small values meet the comparisons' boundaries often.
                let size = [Size::B, Size::B, Size::B, Size::H, Size::W, Size::DW][(rng.next() % 6) as usize];
                code.push(Insn::Ldx { size, signed: rng.next() % 4 == 0 && size != Size::DW, dst: R::new(r).unwrap(), src: R::R1, off: 8 * (rng.next() % 36) as i16 });
                if rng.next() % 2 == 0 {
                    code.push(Insn::Alu { width: Width::W64, op: AluOp::And, dst: R::new(r).unwrap(), src: Source::Imm(7) });
                }
            }
            code.push(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: R::R0, src: Source::Imm(0) });
            let n = 24;
            for k in 0..n {
                let width = if rng.next() % 2 == 0 { Width::W32 } else { Width::W64 };
                let src = if rng.next() % 2 == 0 { Source::Imm(imm(&mut rng)) } else { Source::Reg(reg(&mut rng)) };
                let dst = reg(&mut rng);
                code.push(match rng.next() % 10 {
                    0 => Insn::Neg { width, dst },
                    1 => Insn::MovSx { width: Width::W64, bits: [SxWidth::S8, SxWidth::S16, SxWidth::S32][(rng.next() % 3) as usize], dst, src: reg(&mut rng) },
                    2 => Insn::End { kind: [EndKind::Le, EndKind::Be, EndKind::Swap][(rng.next() % 3) as usize], bits: [EndWidth::B16, EndWidth::B32, EndWidth::B64][(rng.next() % 3) as usize], dst },
                    3 | 4 => Insn::Jmp { width, cond: JmpCond::ALL[(rng.next() % 11) as usize], dst, src, off: (rng.next() % (n - k) as u64) as i16 },
                    _ => Insn::Alu { width, op: AluOp::ALL[(rng.next() % 14) as usize], dst, src },
                });
            }
            code.push(Insn::Exit);
            let Ok(prog) = Program::new(code) else { continue };
            let analysis = match with_env(ProgType::Kprobe.ctx(), |env| analyze(&prog, env, 100_000)) {
                Ok(a) => a,
                Err(e) => panic!("refused {e}: {:?}", prog.insns()),
            };
            let mut ctx: Vec<u8> = (0..288).map(|_| rng.next() as u8).collect();
            let mut steps = Steps(Vec::new());
            Interpreter::new(&prog).run_traced(&mut ctx, &[], &mut NoHelpers, &RunOptions::default(), &mut steps).unwrap();
            for (pc, regs) in steps.0 {
                let i = prog.cfg().index_of(pc).unwrap();
                let Some(state) = &analysis.states[i] else { panic!("pc {pc} ran but the analysis found it unreachable: {:?}", prog.insns()) };
                for (r, v) in regs.iter().enumerate() {
                    let a = &state.regs[r];
                    if a.kind == Kind::Scalar {
                        assert!(a.value.contains(*v), "pc {pc}: r{r} = {v:#x} is not in {a} ({:?}), program {:?}", a.value, prog.insns());
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 100_000, "{checked}");
    }

    #[test]
    fn a_map_value_is_read_only_after_a_null_check() {
        use crate::isa::{HelperId, JmpCond, Reg as R, Size, Source, Width};
        let r = |n| R::new(n).unwrap();
        let prog = |check: bool| {
            let mut p = vec![
                Insn::St { size: Size::W, dst: R::R10, off: -4, imm: 0 },
                Insn::LdImm64 { kind: LdKind::MapFd, dst: r(1), imm: 7, next_imm: 0 },
                Insn::Alu { width: Width::W64, op: crate::isa::AluOp::Mov, dst: r(2), src: Source::Reg(R::R10) },
                Insn::Alu { width: Width::W64, op: crate::isa::AluOp::Add, dst: r(2), src: Source::Imm(-4) },
                Insn::Call { helper: HelperId(1) },
            ];
            if check {
                p.push(Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: R::R0, src: Source::Imm(0), off: 1 });
            }
            p.extend([Insn::Ldx { size: Size::DW, signed: false, dst: R::R0, src: R::R0, off: 8 }, Insn::Exit]);
            p
        };
        assert!(analyze_insns(prog(true), xdp()).is_ok());
        assert_eq!(analyze_insns(prog(false), xdp()).unwrap_err().to_string(), "6: R0 invalid mem access 'map_value_or_null'");
        // Past the value's 16 bytes.
        let mut far = prog(true);
        far[6] = Insn::Ldx { size: Size::DW, signed: false, dst: R::R0, src: R::R0, off: 12 };
        assert_eq!(analyze_insns(far, xdp()).unwrap_err().to_string(), "7: invalid access to map value, value_size=16 off=12 size=8");
        // An unknown helper and an unknown map.
        let mut p = prog(true);
        p[4] = Insn::Call { helper: HelperId(99) };
        assert_eq!(analyze_insns(p, xdp()).unwrap_err().to_string(), "5: invalid func unknown#99");
        let mut p = prog(true);
        p[1] = Insn::LdImm64 { kind: LdKind::MapFd, dst: r(1), imm: 8, next_imm: 0 };
        assert_eq!(analyze_insns(p, xdp()).unwrap_err().to_string(), "1: fd 8 is not pointing to valid bpf_map");
    }

    #[test]
    fn atomics_read_and_write_initialised_bytes_of_numbers() {
        use crate::isa::{AluOp, AtomicOp, Reg as R, Size, Source, Width};
        let add = |op: AtomicOp, src: R| Insn::Atomic { size: Size::DW, op, dst: R::R10, src, off: -8 };
        let init = Insn::St { size: Size::DW, dst: R::R10, off: -8, imm: 5 };
        let one = Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: R::new(2).unwrap(), src: Source::Imm(1) };
        let zero = Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: R::R0, src: Source::Imm(0) };
        assert!(analyze_insns(vec![init, one, add(AtomicOp::Add, R::new(2).unwrap()), zero, Insn::Exit], xdp()).is_ok());
        // A fetch gives the old value (5: the stack slot's spilled constant) in src.
        let a = analyze_insns(vec![init, one, add(AtomicOp::FetchAdd, R::new(2).unwrap()), zero, Insn::Exit], xdp()).unwrap();
        assert_eq!(a.states[3].as_ref().unwrap().regs[2].constant(), Some(5));
        assert_eq!(analyze_insns(vec![one, add(AtomicOp::Add, R::new(2).unwrap()), zero, Insn::Exit], xdp()).unwrap_err().to_string(), "1: invalid read from stack off -8+0 size 8: uninitialised");
        assert_eq!(analyze_insns(vec![init, add(AtomicOp::Xchg, R::R1), zero, Insn::Exit], xdp()).unwrap_err().to_string(), "1: R1 leaks addr into mem");
        assert_eq!(analyze_insns(vec![init, one, add(AtomicOp::Cmpxchg, R::new(2).unwrap()), Insn::Exit], xdp()).unwrap_err().to_string(), "2: R0 must be a number for cmpxchg");
    }

    #[test]
    fn refusals_name_the_instruction() {
        assert_eq!(run("mov r0, r5\nexit").unwrap_err().to_string(), "0: R5 !read_ok");
        assert_eq!(run("mov r0, r10\nexit").unwrap_err().to_string(), "1: R0 leaks addr as return value");
        assert_eq!(run("exit").unwrap_err().to_string(), "0: R0 !read_ok");
        assert_eq!(run("ldxdw r0, [r10-8]\nexit").unwrap_err().to_string(), "0: invalid read from stack off -8+0 size 8: uninitialised");
        // Branches that cannot be taken are not analysed.
        assert!(run("mov r0, 1\njeq r0, 2, +1\nexit\nmov r0, r10\nexit").is_ok());
    }
}
