//! The fixpoint: abstract states at every instruction, in every call context, by a
//! worklist over the control-flow graph in its weak topological order (each loop
//! stabilised before what follows it, an inner loop before its outer one), joining where
//! paths meet and widening at a loop's head (every cycle passes one) that changed more
//! than [`WIDEN_AFTER`] times (up to the program's constants as thresholds), with a step
//! cap and, where there is a clock, a time cap that end in a refusal, never a hang.
//!
//! Each step first decides the instruction's checks ([`super::check`]), then applies its
//! transfer: [`super::alu`], [`super::mem`], [`super::jmp`] or [`super::call`]; map
//! references (`lddw` of a map or a map value) become map pointers; an atomic reads and
//! writes its bytes.
//!
//! bpf-to-bpf calls are analysed in the context of their call string (the calls in
//! progress), as PREVAIL inlines them: a callee's states at one call site never mix
//! with another's, and its return goes back to that site only. Static and global
//! functions alike (the kernel verifies a global function once, for any arguments its
//! BTF allows; this analysis, with no BTF, verifies it for the arguments each call
//! passes). The runtime gives every frame its own 512 bytes and runs at most
//! [`MAX_FRAMES`](crate::mem::MAX_FRAMES) frames, so that is the rule here: at most 8
//! frames, each frame's accesses inside its 512 bytes (the kernel also caps all frames
//! together at 512 bytes; rvbpf does not need to). Recursion is refused.
//!
//! At `exit` of the program r0 must be a number inside the program type's return range,
//! and no reference may be held; at `exit` of a function r0 must be initialised and may
//! not point into the frame that ends.
//!
//! After the fixpoint: one narrowing round if anything widened (`narrow`), then every
//! loop is proven to terminate ([`super::loops`]).

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::call::{self, CallEnv};
use super::check;
use super::graph::Graph;
use super::loops::{self, Bound};
use super::mem;
use super::reg::{Kind, Reg, Region};
use super::state::State;
use super::{alu, jmp};
use super::domain::scalar::Thresholds;
use crate::isa::{AluOp, AtomicOp, Insn, LdKind, Program, Source};

/// Joins at one point before it widens.
pub const WIDEN_AFTER: u32 = 2;

/// Ids of packet pointers' variable parts: the instruction's id with this bit (helper
/// results use the instruction's id alone).
const PACKET_IDS: u32 = 1 << 31;

/// Why the analysis refuses a program: where (the instruction's slot), and the reason
/// in the kernel's words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    #[error("{pc}: {msg}")]
    /// `errno`: what Linux answers `BPF_PROG_LOAD` with for this refusal.
    At { pc: usize, msg: String, errno: i32 },
    #[error("{0}")]
    Graph(#[from] super::graph::GraphError),
    #[error("{0}")]
    Loop(#[from] loops::LoopError),
    #[error("the analysis did not converge after {0} steps")]
    NoFixpoint(usize),
    #[error("the analysis did not converge within its time ({0} steps)")]
    TimeOut(usize),
}

impl AnalysisError {
    /// The slot the refusal names, when it names one.
    pub fn pc(&self) -> Option<usize> {
        match self {
            AnalysisError::At { pc, .. } => Some(*pc),
            _ => None,
        }
    }
}

/// What the analysis needs besides the program: the calls' environment, the state at
/// the entry, the range `exit` may return, the step cap.
pub struct Options<'a> {
    pub env: &'a CallEnv<'a>,
    pub entry: State,
    /// The signed range r0 must lie in at the program's `exit`, if the type has one.
    pub ret: Option<(i64, i64)>,
    /// The program returns nothing: r0 is not checked at its `exit`.
    pub returns_void: bool,
    pub max_steps: usize,
    /// A clock (microseconds) and the time by which the analysis must end, where the
    /// platform has a clock.
    pub deadline: Option<(&'a dyn Fn() -> u64, u64)>,
}

/// One call context: the call instructions in progress, outermost first, and the
/// states at each instruction's entry there (`None`: unreachable).
#[derive(Debug)]
pub struct Context {
    pub calls: Vec<usize>,
    /// Boxed: most instructions of a large program hold no state in most contexts.
    pub states: Vec<Option<Box<State>>>,
}

/// The fixpoint.
#[derive(Debug)]
pub struct Analysis {
    pub contexts: Vec<Context>,
    /// Instructions analysed, counting repeats (the kernel's "processed N insns").
    pub steps: usize,
    /// The most states any instruction holds at once (one per context).
    pub peak_states: usize,
    /// Each loop's termination proof.
    pub loops: Vec<Bound>,
    /// At each (context, loop head), the join of the states entering it from outside the
    /// loop (the first iteration's).
    pub entries: BTreeMap<(usize, usize), State>,
}

impl Analysis {
    /// What a finished analysis proved of the memory accesses: each instruction it
    /// reached passed every check in every state it holds there (an analysis that
    /// refused the program proves nothing, and its caller does not ask).
    pub fn proven(&self, prog: &Program) -> crate::interp::Proven {
        let n = self.contexts.first().map_or(0, |c| c.states.len());
        crate::interp::Proven::new(prog, (0..n).map(|i| self.contexts.iter().any(|c| c.states[i].is_some())).collect())
    }

    /// Every state at instruction `i`, across contexts.
    pub fn at(&self, i: usize) -> Vec<&State> {
        self.contexts.iter().filter_map(|c| c.states[i].as_deref()).collect()
    }

    /// The state at `i` in the program's own context (no call in progress).
    pub fn main(&self, i: usize) -> Option<&State> {
        self.contexts[0].states[i].as_deref()
    }

    /// The states entering loop head `h` from outside its loop, across contexts.
    pub fn entering(&self, h: usize) -> Vec<&State> {
        self.entries.iter().filter(|((_, j), _)| *j == h).map(|(_, s)| s).collect()
    }

    /// States kept in all (the kernel's `total_states`).
    pub fn total_states(&self) -> usize {
        self.contexts.iter().map(|c| c.states.iter().flatten().count()).sum()
    }
}

/// A refusal, with the states found until then (for the log).
#[derive(thiserror::Error)]
#[error("{error}")]
pub struct Refused {
    pub error: AnalysisError,
    pub analysis: Box<Analysis>,
}

impl core::fmt::Debug for Refused {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Refused({:?})", self.error)
    }
}

/// Runs the analysis of `prog`.
pub fn analyze(prog: &Program, opts: &Options) -> Result<Analysis, Refused> {
    let mut analysis = Analysis { contexts: Vec::new(), steps: 0, peak_states: 0, loops: Vec::new(), entries: BTreeMap::new() };
    let outcome = fixpoint(prog, opts, &mut analysis);
    let n = analysis.contexts.first().map_or(0, |c| c.states.len());
    analysis.peak_states = (0..n).map(|i| analysis.contexts.iter().filter(|c| c.states[i].is_some()).count()).max().unwrap_or(0);
    match outcome {
        Ok(()) => Ok(analysis),
        Err(error) => Err(Refused { error, analysis: Box::new(analysis) }),
    }
}

fn fixpoint(prog: &Program, opts: &Options, analysis: &mut Analysis) -> Result<(), AnalysisError> {
    let graph = Graph::new(prog)?;
    let insns = prog.insns();
    let cfg = prog.cfg();
    let n = insns.len();
    analysis.contexts = vec![Context { calls: Vec::new(), states: vec![None; n] }];
    let contexts = &mut analysis.contexts;
    let mut by_calls: BTreeMap<Vec<usize>, usize> = BTreeMap::from([(Vec::new(), 0)]);
    let mut visits: Vec<Vec<u32>> = vec![vec![0; n]];
    contexts[0].states[0] = Some(Box::new(opts.entry.clone()));
    // Lowest position in the weak topological order first: a loop's body before what
    // follows it.
    let mut work: BTreeSet<(usize, usize, usize)> = BTreeSet::from([(graph.order[0], 0, 0)]);
    let thresholds = thresholds(prog);
    let mut widened = false;
    let steps = &mut analysis.steps;
    while let Some((_, c, i)) = work.pop_first() {
        *steps += 1;
        if *steps > opts.max_steps {
            return Err(AnalysisError::NoFixpoint(opts.max_steps));
        }
        if let Some((clock, by)) = opts.deadline.filter(|_| *steps % 1024 == 0) {
            if clock() > by {
                return Err(AnalysisError::TimeOut(*steps));
            }
        }
        // Taken out while it steps (no copy), put back before the successors merge.
        let Some(state) = contexts[c].states[i].take() else { continue };
        let pc = cfg.slot_of(i);
        let at = |msg: String| AnalysisError::At { pc, msg, errno: crate::errno::EACCES };
        let outs = step(&insns[i], &state, opts, pc);
        contexts[c].states[i] = Some(state);
        for (next, out) in outs.map_err(|(msg, errno)| AnalysisError::At { pc, msg, errno })? {
            let (goes, j, from) = edge(prog, &contexts[c].calls, i, &next).map_err(at)?;
            let c2 = match goes {
                Goes::Same => c,
                Goes::Enter => {
                    let mut key = contexts[c].calls.clone();
                    key.push(i);
                    *by_calls.entry(key.clone()).or_insert_with(|| {
                        contexts.push(Context { calls: key, states: vec![None; n] });
                        visits.push(vec![0; n]);
                        contexts.len() - 1
                    })
                }
                Goes::Leave => {
                    let calls = &contexts[c].calls;
                    by_calls[&calls[..calls.len() - 1]]
                }
            };
            enter_loop(&graph, &mut analysis.entries, (c2, j), from, &out);
            let merged = match &contexts[c2].states[j] {
                None => out,
                Some(old) => Box::new({
                    let joined = old.join(&out);
                    // Nothing new: `out` was within what the point already allows.
                    if joined == **old {
                        continue;
                    }
                    visits[c2][j] += 1;
                    // Widen only at a loop's head, where every cycle passes. Other points
                    // stabilise once their loop head has (a branch after the head narrows
                    // again, and widening there would undo it), and so do points that many
                    // paths join without a cycle (a common error exit).
                    if c2 == c && graph.is_head(j) && visits[c2][j] > WIDEN_AFTER {
                        widened = true;
                        old.widen(&out, &thresholds)
                    } else {
                        joined
                    }
                }),
            };
            contexts[c2].states[j] = Some(merged);
            work.insert((graph.order[j], c2, j));
        }
    }
    if widened {
        narrow(prog, &graph, opts, analysis, &by_calls);
    }
    analysis.loops = loops::prove(prog, &graph, &|i| analysis.at(i), &|h| analysis.entering(h))?;
    Ok(())
}

/// The widening thresholds: each constant a jump compares with or a `mov` loads, and its
/// neighbours (a loop `i < 10` holds `i <= 9` at its head), at most [`MAX_THRESHOLDS`] of
/// them (the ones nearest 0).
fn thresholds(prog: &Program) -> Thresholds<u64> {
    let mut ks: Vec<i64> = Vec::new();
    for insn in prog.insns() {
        match *insn {
            Insn::Jmp { src: Source::Imm(k), .. } | Insn::Alu { op: AluOp::Mov, src: Source::Imm(k), .. } => ks.extend([k as i64 - 1, k as i64, k as i64 + 1]),
            _ => {}
        }
    }
    ks.sort_unstable_by_key(|k| (k.unsigned_abs(), *k));
    ks.dedup();
    ks.truncate(MAX_THRESHOLDS);
    Thresholds::of(ks.into_iter().map(|k| k as u64))
}

/// At most this many widening thresholds (each widening step walks them).
pub const MAX_THRESHOLDS: usize = 64;

/// Descending rounds after a fixpoint that widened.
pub const NARROW_ROUNDS: usize = 1;

/// The bounded narrowing pass: [`NARROW_ROUNDS`] times, every point's state recomputed
/// as the join of what its predecessors give it (and the entry), in the weak topological
/// order so that one round carries a sharper bound from a loop's head to its exit: an
/// edge that goes forward in that order carries the new state of its source, one that goes back (or
/// sideways) the state of the round before. The fixpoint already checked every step; this
/// only sharpens what widening made coarse (a counter above its bound), for the facts
/// later stages read: loop bounds, the log. Sound whatever the transfer functions are:
/// every concrete state reachable at a point comes from one reachable at a predecessor,
/// which that predecessor's state (old or new) holds, so the new state holds it too. A
/// step that fails here keeps the states of the last complete round.
fn narrow(prog: &Program, graph: &Graph, opts: &Options, analysis: &mut Analysis, by_calls: &BTreeMap<Vec<usize>, usize>) {
    let n = prog.insns().len();
    let cfg = prog.cfg();
    let order = &graph.order;
    // Every point with a state, in the weak topological order.
    let mut points: Vec<(usize, usize)> = analysis.contexts.iter().enumerate().flat_map(|(c, ctx)| (0..n).filter(move |&i| ctx.states[i].is_some()).map(move |i| (c, i))).collect();
    points.sort_by_key(|&(c, i)| (order[i], c));
    let goes_back: Vec<bool> = (0..n)
        .map(|i| {
            let insn = &prog.insns()[i];
            matches!(insn, Insn::Exit | Insn::CallLocal { .. }) || cfg.successors(i, insn).any(|j| order[j] <= order[i])
        })
        .collect();
    type States = Vec<Vec<Option<Box<State>>>>;
    let call_strings: Vec<Vec<usize>> = analysis.contexts.iter().map(|c| c.calls.clone()).collect();
    // The state `s` at (c, i) steps; each successor state on an edge that goes `forward`
    // (or not) joins into `into`.
    let deposit = |c: usize, i: usize, s: &State, forward: bool, into: &mut States, entries: &mut BTreeMap<(usize, usize), State>, steps: &mut usize| -> Option<()> {
        let calls = &call_strings[c];
        *steps += 1;
        for (next, out) in step(&prog.insns()[i], s, opts, cfg.slot_of(i)).ok()? {
            let (goes, j, from) = edge(prog, calls, i, &next).ok()?;
            if (order[j] > order[i]) != forward {
                continue;
            }
            let c2 = match goes {
                Goes::Same => c,
                Goes::Enter => *by_calls.get(&[calls.as_slice(), &[i]].concat())?,
                Goes::Leave => *by_calls.get(&calls[..calls.len() - 1])?,
            };
            enter_loop(graph, entries, (c2, j), from, &out);
            let slot = &mut into[c2][j];
            *slot = Some(match slot.take() {
                Some(old) => Box::new(old.join(&out)),
                None => out,
            });
        }
        Some(())
    };
    for _ in 0..NARROW_ROUNDS {
        let mut new: States = analysis.contexts.iter().map(|_| vec![None; n]).collect();
        let mut entries = BTreeMap::new();
        let mut steps = 0;
        new[0][0] = Some(Box::new(opts.entry.clone()));
        // What goes back comes from the last round's states (only instructions with such
        // an edge step here: a jump back, a return, a call).
        for &(c, i) in points.iter().filter(|&&(_, i)| goes_back[i]) {
            let Some(s) = analysis.contexts[c].states[i].as_deref() else { continue };
            if deposit(c, i, s, false, &mut new, &mut entries, &mut steps).is_none() {
                return;
            }
        }
        // What goes forward, from this round's, in order.
        for &(c, i) in &points {
            // Taken out while it steps: a forward edge never leads back to it.
            let Some(s) = new[c][i].take() else { continue };
            let done = deposit(c, i, &s, true, &mut new, &mut entries, &mut steps);
            new[c][i] = Some(s);
            if done.is_none() {
                return;
            }
        }
        for (ctx, states) in analysis.contexts.iter_mut().zip(new) {
            ctx.states = states;
        }
        analysis.entries = entries;
        analysis.steps += steps;
    }
}

/// An edge into `(context, j)` from `from` (`None`: a call's entry): when `j` is a loop
/// head and the edge is not one of its back edges, `out` joins the states that enter the
/// loop (its first iteration's, which the termination proof reads).
fn enter_loop(graph: &Graph, entries: &mut BTreeMap<(usize, usize), State>, at: (usize, usize), from: Option<usize>, out: &State) {
    if graph.loops.iter().any(|l| l.head == at.1 && from.is_none_or(|f| !l.latches.contains(&f))) {
        let e = entries.entry(at).or_insert_with(|| out.clone());
        *e = e.join(out);
    }
}

/// How an edge moves between call contexts.
enum Goes {
    Same,
    /// Into the callee's context (a local call).
    Enter,
    /// Back to the caller's (a function's exit).
    Leave,
}

/// Where an edge from instruction `i` (in a context with call string `calls`) leads: how
/// the context changes, the target instruction, and where the edge comes from within the
/// target's function (a return from its call instruction; `None` for a call's entry, from
/// outside any loop there). Recursion is refused here.
fn edge(prog: &Program, calls: &[usize], i: usize, next: &Next) -> Result<(Goes, usize, Option<usize>), String> {
    let (cfg, insns) = (prog.cfg(), prog.insns());
    let out_of_range = || String::from("jump out of range");
    let (goes, j, from) = match next {
        Next::Fall => (Goes::Same, i + 1, Some(i)),
        Next::Jump => (Goes::Same, cfg.jump_target(i, &insns[i]).ok_or_else(out_of_range)?, Some(i)),
        Next::Call => {
            let target = cfg.jump_target(i, &insns[i]).ok_or_else(out_of_range)?;
            let mut entries = core::iter::once(0).chain(calls.iter().filter_map(|&k| cfg.jump_target(k, &insns[k])));
            if entries.any(|e| e == target) {
                return Err(format!("recursive call from insn {} to {}", cfg.slot_of(i), cfg.slot_of(target)));
            }
            (Goes::Enter, target, None)
        }
        Next::Return => {
            let site = *calls.last().ok_or_else(|| String::from("exit of a function outside a call"))?;
            (Goes::Leave, site + 1, Some(site))
        }
    };
    if j >= insns.len() {
        return Err(out_of_range());
    }
    Ok((goes, j, from))
}

/// Where a successor state goes.
enum Next {
    Fall,
    Jump,
    /// Into the callee of a local call.
    Call,
    /// Back to the instruction after the call in progress.
    Return,
}

/// An instruction's successor states: at most two (a conditional jump's), without
/// allocating.
/// Boxed as they will be kept: a state is large, and moves only as a pointer.
type Succ = core::iter::Chain<core::option::IntoIter<(Next, Box<State>)>, core::option::IntoIter<(Next, Box<State>)>>;

fn one(next: Next, s: Box<State>) -> Succ {
    Some((next, s)).into_iter().chain(None)
}

/// One instruction's successor states (`pc`: its slot; `pc + 1` is the id a helper call
/// there gives the values it makes, so a reference's id names its instruction), once its
/// checks hold.
/// A refusal is its message and the errno Linux gives it.
fn step(insn: &Insn, s: &State, opts: &Options, pc: usize) -> Result<Succ, (String, i32)> {
    check::all(&check::of(insn, pc, opts.ret, opts.returns_void), s, opts.env).map_err(|e| (e.to_string(), e.errno()))?;
    Ok(transfer(insn, s, opts, pc))
}

/// What `insn` does to `s`, whose checks hold.
fn transfer(insn: &Insn, s: &State, opts: &Options, pc: usize) -> Succ {
    let cenv = opts.env;
    let site = pc as u32 + 1;
    // Jumps, calls and exits make their own successor states; the rest change this one.
    match *insn {
        Insn::Ja { .. } | Insn::Gotol { .. } => return one(Next::Jump, Box::new(s.clone())),
        Insn::Jmp { width, cond, dst, src, .. } => {
            let d = dst.index() as u8;
            let taken = jmp::branch(s, cond, width, d, src, true).map(|t| (Next::Jump, Box::new(t)));
            let fall = jmp::branch(s, cond, width, d, src, false).map(|f| (Next::Fall, Box::new(f)));
            return taken.into_iter().chain(fall);
        }
        Insn::Exit if s.frames.len() > 1 => return one(Next::Return, Box::new(ret(s))),
        Insn::Exit => return None.into_iter().chain(None),
        Insn::Call { helper } => return helper_call(s, check::Callee::Id(helper), opts, site),
        Insn::Callx { reg } => return helper_call(s, check::Callee::Reg(reg.index() as u8), opts, site),
        Insn::CallLocal { .. } => {
            let mut callee = Box::new(s.clone());
            callee.saved.push([s.regs[6], s.regs[7], s.regs[8], s.regs[9], s.regs[10]]);
            callee.frames.push();
            for k in [0, 6, 7, 8, 9] {
                callee.regs[k] = Reg::not_init();
            }
            callee.regs[10] = Reg::ptr(Region::Stack { frame: s.frames.len() as u8 });
            return one(Next::Call, callee);
        }
        _ => {}
    }
    let mut out = Box::new(s.clone());
    let ctx = cenv.mem.ctx;
    match *insn {
        Insn::Alu { op, width, dst, src } => {
            let d = dst.index();
            let r = alu::alu(op, width, s.regs[d], src, &s.regs);
            out.regs[d] = r;
            // A packet pointer moved by a variable amount: a new variable part, named by
            // this instruction (an older value from here, a loop's last round, loses it).
            if matches!(r.kind, Kind::Ptr(Region::Packet | Region::PacketMeta)) && r.id == 0 && r.constant().is_none() {
                let id = PACKET_IDS | site;
                out.for_each_reg(|x| {
                    if x.id == id {
                        x.id = 0;
                    }
                });
                out.regs[d].id = id;
            }
        }
        Insn::Neg { width, dst } => out.regs[dst.index()] = alu::neg(width, s.regs[dst.index()]),
        Insn::MovSx { width, bits, dst, src } => out.regs[dst.index()] = alu::movsx(width, bits, s.regs[src.index()]),
        Insn::End { kind, bits, dst } => out.regs[dst.index()] = alu::end(kind, bits, s.regs[dst.index()]),
        Insn::LdImm64 { kind, dst, imm, next_imm } => {
            out.regs[dst.index()] = match kind {
                LdKind::Imm64 => Reg::konst(crate::isa::cfg::lddw_value(imm, next_imm)),
                LdKind::MapFd | LdKind::MapIdx => (cenv.map)(kind, imm).map_or_else(Reg::unknown, |map| Reg::ptr(Region::MapPtr { map })),
                LdKind::MapValueFd | LdKind::MapValueIdx => (cenv.map)(kind, imm).map_or_else(Reg::unknown, |map| Reg::ptr_at(Region::MapValue { map }, next_imm as i64)),
                LdKind::VarAddr => (cenv.var)(imm).map_or_else(Reg::unknown, |size| Reg::ptr(Region::Mem { size })),
                // A code address is a number a program can compare or pass, never follow.
                LdKind::CodeAddr => Reg::unknown(),
            }
        }
        Insn::Ldx { size, signed, dst, src, off } => out.regs[dst.index()] = mem::load(s, &s.regs[src.index()], off, size.bytes() as u64, signed, ctx),
        Insn::Stx { size, dst, src, off } => mem::store(&mut out, &s.regs[dst.index()], off, size.bytes() as u64, s.regs[src.index()]),
        Insn::St { size, dst, off, imm } => mem::store(&mut out, &s.regs[dst.index()], off, size.bytes() as u64, Reg::konst(crate::semantics::imm64(imm))),
        Insn::Atomic { size, op, dst, src, off } => {
            // A read and a write of the same bytes, of a number.
            let (p, n) = (s.regs[dst.index()], size.bytes() as u64);
            let old = mem::load(s, &p, off, n, false, ctx);
            mem::store(&mut out, &p, off, n, Reg::unknown());
            match op {
                AtomicOp::Cmpxchg => out.regs[0] = old,
                op if op.fetches() => out.regs[src.index()] = old,
                _ => {}
            }
        }
        Insn::Ja { .. } | Insn::Gotol { .. } | Insn::Jmp { .. } | Insn::Exit | Insn::Call { .. } | Insn::Callx { .. } | Insn::CallLocal { .. } => {}
    }
    one(Next::Fall, out)
}

/// A helper call whose checks hold.
fn helper_call(s: &State, callee: check::Callee, opts: &Options, site: u32) -> Succ {
    match check::helper(callee, s, opts.env) {
        Ok((_, proto)) => one(Next::Fall, Box::new(call::call(s, &proto, site, opts.env))),
        Err(_) => None.into_iter().chain(None),
    }
}

/// A function's `exit`: the frame popped, the caller's r6–r10 back, r1–r5 clobbered.
fn ret(s: &State) -> State {
    let mut out = s.clone();
    out.frames.pop();
    let saved = out.saved.pop().unwrap_or([Reg::not_init(); 5]);
    out.regs[1..=5].iter_mut().for_each(|r| *r = Reg::not_init());
    out.regs[6..=10].copy_from_slice(&saved);
    out
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

    /// An environment with two maps (index 0: an array of 4-byte keys and 16-byte values,
    /// named by fd 7; index 1: a ring buffer, fd 8) and the Linux helpers.
    fn with_env<R>(ctx: &CtxDescriptor, f: impl FnOnce(&CallEnv) -> R) -> R {
        let mem = MemEnv { ctx, value_size: &|m| (m == 0).then_some(16) };
        let env = CallEnv { mem: &mem, key_size: &|m| (m == 0).then_some(4), map_type: &|m| [crate::maps::map_type::ARRAY, crate::maps::map_type::RINGBUF].get(m as usize).copied(), helper: &|id| crate::helpers::linux(id).map(|h| h.proto), map: &|_, fd| (7..=8).contains(&fd).then_some(fd as u32 - 7), var: &|_| None };
        f(&env)
    }

    fn opts<'a>(env: &'a CallEnv<'a>, max_steps: usize) -> Options<'a> {
        Options { env, entry: State::entry(), ret: None, returns_void: false, max_steps, deadline: None }
    }

    fn analyze_insns(insns: Vec<Insn>, ctx: &CtxDescriptor) -> Result<Analysis, Refused> {
        let prog = Program::new(insns).unwrap();
        with_env(ctx, |env| analyze(&prog, &opts(env, 100_000)))
    }

    fn run(src: &str) -> Result<Analysis, Refused> {
        analyze_insns(assemble(src).unwrap(), xdp())
    }

    #[test]
    fn without_loops_every_instruction_steps_once() {
        // A shared exit that five backward jumps reach: the weak topological order steps
        // it after all of them, and it is joined, never widened (it heads no loop).
        let mut src = String::from("ja +2\nmov r0, r6\nexit\nldxw r2, [r1+12]\nmov r6, 0\n");
        for k in 1..=5 {
            src.push_str(&format!("add r6, 10\njeq r2, {k}, -{}\n", 4 + 2 * k));
        }
        src.push_str("mov r0, 0\nexit");
        let a = run(&src).unwrap();
        assert_eq!(a.steps, a.contexts[0].states.len(), "one step per instruction");
        let r6 = a.main(1).unwrap().regs[6].value.full;
        assert_eq!((r6.umin, r6.umax), (10, 50));
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
    fn a_packet_pointer_at_a_variable_offset_gets_its_range_from_a_copy() {
        // r4 = data + 14 + (a byte & 60); r6 = r4 + 8; if r6 <= data_end: 8 bytes at r4.
        let src = |off: i32| format!("ldxw r2, [r1]\nldxw r3, [r1+4]\nmov r0, 0\nmov r4, r2\nadd r4, 14\njgt r4, r3, out\nldxb r5, [r2]\nand r5, 60\nadd r4, r5\nmov r6, r4\nadd r6, 8\njgt r6, r3, out\nldxh r0, [r4+{off}]\nout:\nexit");
        assert!(run(&src(6)).is_ok());
        assert_eq!(run(&src(7)).unwrap_err().to_string(), "12: invalid access to packet, off=81 size=2, R4(r=8)");
        // A constant-offset pointer's range counts from the pointer: 10 bytes at data + 4.
        assert!(run("ldxw r2, [r1]\nldxw r3, [r1+4]\nmov r0, 0\nmov r4, r2\nadd r4, 14\njgt r4, r3, +3\nmov r5, r2\nadd r5, 4\nldxh r0, [r5+8]\nexit").is_ok());
    }

    #[test]
    fn a_counted_loop_converges_and_its_bounds_hold_in_the_body() {
        // for (i = 0; i < 10; i++) sum += i, with r3 = fp - 80 + 8 * i computed on the way.
        let src = "mov r0, 0\nmov r6, 0\nstdw [r10-80], 0\nstdw [r10-72], 0\njge r6, 10, +7\nmov r2, r6\nlsh r2, 3\nmov r3, r10\nadd r3, -80\nadd r0, r6\nadd r6, 1\nja -8\nexit";
        let a = run(src).unwrap();
        // At the body's first instruction r6 is within 0..=9.
        let body = a.main(5).unwrap();
        assert_eq!((body.regs[6].value.full.umin, body.regs[6].value.full.umax), (0, 9));
        assert!(a.steps < 200, "{} steps", a.steps);
        // A cap on the steps ends in a refusal, not a hang.
        let prog = Program::new(assemble(src).unwrap()).unwrap();
        assert_eq!(with_env(xdp(), |env| analyze(&prog, &opts(env, 10))).unwrap_err().error, AnalysisError::NoFixpoint(10));
        // And a clock past its deadline ends it too (checked every 1,024 steps).
        let late = || 2u64;
        let long: String = (0..1100).map(|_| "mov r1, 1\n").chain(["mov r0, 0\nexit"]).collect();
        let long = Program::new(assemble(&long).unwrap()).unwrap();
        let r = with_env(xdp(), |env| analyze(&long, &Options { deadline: Some((&late, 1)), ..opts(env, 100_000) }));
        assert_eq!(r.unwrap_err().error, AnalysisError::TimeOut(1024));
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
            // Half the programs run the body in a counted loop (r6, which the body never
            // writes): widening, narrowing and the loop proof meet concrete runs too.
            let rounds = if rng.next() % 2 == 0 { Some(1 + (rng.next() % 5) as i32) } else { None };
            if rounds.is_some() {
                code.push(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: R::new(6).unwrap(), src: Source::Imm(0) });
            }
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
            if let Some(k) = rounds {
                code.push(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: R::new(6).unwrap(), src: Source::Imm(1) });
                code.push(Insn::Jmp { width: Width::W64, cond: JmpCond::Lt, dst: R::new(6).unwrap(), src: Source::Imm(k), off: -(n as i16 + 2) });
            }
            code.push(Insn::Exit);
            let Ok(prog) = Program::new(code) else { continue };
            let analysis = match with_env(ProgType::Kprobe.ctx(), |env| analyze(&prog, &opts(env, 100_000))) {
                Ok(a) => a,
                Err(e) => panic!("refused {e}: {:?}", prog.insns()),
            };
            let mut ctx: Vec<u8> = (0..288).map(|_| rng.next() as u8).collect();
            let mut steps = Steps(Vec::new());
            Interpreter::new(&prog).run_traced(&mut ctx, &[], &mut NoHelpers, &RunOptions::default(), &mut steps).unwrap();
            for (pc, regs) in steps.0 {
                let i = prog.cfg().index_of(pc).unwrap();
                let Some(state) = analysis.main(i) else { panic!("pc {pc} ran but the analysis found it unreachable: {:?}", prog.insns()) };
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
        p[1] = Insn::LdImm64 { kind: LdKind::MapFd, dst: r(1), imm: 9, next_imm: 0 };
        assert_eq!(analyze_insns(p, xdp()).unwrap_err().to_string(), "1: fd 9 is not pointing to valid bpf_map");
        // A ring buffer has no elements to look up (Linux's check_map_func_compatibility).
        let mut p = prog(true);
        p[1] = Insn::LdImm64 { kind: LdKind::MapFd, dst: r(1), imm: 8, next_imm: 0 };
        assert_eq!(analyze_insns(p, xdp()).unwrap_err().to_string(), "5: cannot pass map_type 27 into func bpf_map_lookup_elem#1");
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
        assert_eq!(a.main(3).unwrap().regs[2].constant(), Some(5));
        assert_eq!(analyze_insns(vec![one, add(AtomicOp::Add, R::new(2).unwrap()), zero, Insn::Exit], xdp()).unwrap_err().to_string(), "1: invalid read from stack off -8+0 size 8: uninitialised");
        assert_eq!(analyze_insns(vec![init, add(AtomicOp::Xchg, R::R1), zero, Insn::Exit], xdp()).unwrap_err().to_string(), "1: R1 leaks addr into mem");
        assert_eq!(analyze_insns(vec![init, one, add(AtomicOp::Cmpxchg, R::new(2).unwrap()), Insn::Exit], xdp()).unwrap_err().to_string(), "2: R0 must be a number for cmpxchg");
        let skew = Insn::Atomic { size: Size::DW, op: AtomicOp::Add, dst: R::R10, src: R::new(2).unwrap(), off: -12 };
        assert_eq!(analyze_insns(vec![init, one, skew, zero, Insn::Exit], xdp()).unwrap_err().to_string(), "2: misaligned access off 0-12 size 8");
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

    #[test]
    fn bpf_to_bpf_calls_keep_the_callers_registers_and_frames() {
        // main: fp-8 = 5; r1 = fp-8; r6 = 7; call f; r0 += r6; exit.
        // f: r0 = *(u64 *)(r1 + 0); exit: it reads its caller's stack through r1.
        let src = "stdw [r10-8], 5\nmov r1, r10\nadd r1, -8\nmov r6, 7\ncall local f\nadd r0, r6\nexit\nf:\nldxdw r0, [r1]\nexit";
        let a = run(src).unwrap();
        let after = a.main(5).unwrap();
        assert_eq!((after.regs[0].constant(), after.regs[6].constant()), (Some(5), Some(7)));
        assert_eq!(after.regs[1].kind, Kind::NotInit, "r1-r5 are clobbered by the call");
        assert_eq!(a.contexts.len(), 2, "the callee has its own context");
        let callee = &a.contexts[1].states[7].as_ref().unwrap();
        assert_eq!((callee.regs[10].to_string(), callee.regs[6].kind), ("fp0".to_string(), Kind::NotInit));
        assert_eq!(callee.regs[10].kind, Kind::Ptr(Region::Stack { frame: 1 }));
        // The callee may not read what the caller keeps, nor return its own stack.
        assert_eq!(run("mov r6, 1\ncall local f\nexit\nf:\nmov r0, r6\nexit").unwrap_err().to_string(), "3: R6 !read_ok");
        assert_eq!(run("call local f\nexit\nf:\nmov r0, r10\nexit").unwrap_err().to_string(), "3: cannot return stack pointer to the caller");
        assert_eq!(run("call local f\nexit\nf:\nexit").unwrap_err().to_string(), "2: R0 !read_ok");
        // Nor leave one in its caller's frame.
        let leak = "mov r1, r10\ncall local f\nmov r0, 0\nexit\nf:\nmov r2, r10\nstxdw [r1-8], r2\nmov r0, 0\nexit";
        assert_eq!(run(leak).unwrap_err().to_string(), "7: cannot return stack pointer to the caller");
    }

    #[test]
    fn recursion_and_deep_calls_are_refused() {
        assert_eq!(run("call local f\nexit\nf:\ncall local f\nexit").unwrap_err().to_string(), "2: recursive call from insn 2 to 2");
        // Eight frames are allowed, nine are not.
        let chain = |depth: usize| {
            let mut src = String::from("mov r0, 0\ncall local f1\nexit\n");
            for k in 1..depth {
                src.push_str(&format!("f{k}:\ncall local f{}\nexit\n", k + 1));
            }
            src.push_str(&format!("f{depth}:\nmov r0, 1\nexit"));
            src
        };
        assert!(run(&chain(7)).is_ok());
        assert!(run(&chain(8)).unwrap_err().to_string().ends_with("the call stack of 9 frames is too deep"));
    }

    #[test]
    fn exit_checks_the_return_range_and_held_references() {
        let src = "mov r0, 3\nexit";
        let prog = Program::new(assemble(src).unwrap()).unwrap();
        let with_range = |ret| with_env(xdp(), |env| analyze(&prog, &Options { ret, ..opts(env, 1000) }).map(|_| ()));
        assert!(with_range(Some((0, 4))).is_ok());
        assert_eq!(with_range(Some((0, 1))).unwrap_err().to_string(), "1: At program exit the register R0 has smin=3 smax=3 should have been in [0, 1]");
        // A ring-buffer record reserved must be submitted or discarded on every path.
        let reserve = "lddw r1, map_fd(8)\nmov r2, 8\nmov r3, 0\ncall 131\n";
        let submit = format!("{reserve}jeq r0, 0, +3\nmov r1, r0\nmov r2, 0\ncall 132\nmov r0, 0\nexit");
        assert!(run(&submit).is_ok());
        let leak = format!("{reserve}jeq r0, 0, +3\nmov r1, r0\nmov r2, 0\nja +0\nmov r0, 0\nexit");
        assert_eq!(run(&leak).unwrap_err().to_string(), "10: Unreleased reference id=5 alloc_insn=4");
        // Used after it was submitted.
        let after = format!("{reserve}jeq r0, 0, +5\nmov r6, r0\nmov r1, r0\nmov r2, 0\ncall 132\nstw [r6], 1\nmov r0, 0\nexit");
        assert_eq!(run(&after).unwrap_err().to_string(), "10: R6 invalid mem access 'scalar'");
        // A tail call from a function.
        let tail = "call local f\nexit\nf:\nmov r2, r1\nmov r3, 0\ncall 12\nmov r0, 0\nexit";
        let mut p = assemble(tail).unwrap();
        p.insert(2, Insn::LdImm64 { kind: LdKind::MapFd, dst: crate::isa::Reg::new(2).unwrap(), imm: 7, next_imm: 0 });
        p.remove(3);
        assert_eq!(analyze_insns(p, ProgType::Kprobe.ctx()).unwrap_err().to_string(), "5: tail_call is not allowed in a bpf-to-bpf call");
    }

    #[test]
    fn loops_are_proven_to_terminate() {
        let bound = |src: &str| run(src).map(|a| a.loops.iter().map(|b| b.iterations).collect::<Vec<_>>());
        // Up by one to 10 (the counted loop clang emits: test at the bottom).
        assert_eq!(bound("mov r0, 0\nmov r1, 0\nl:\nadd r0, r1\nadd r1, 1\njlt r1, 10, l\nexit").unwrap(), [10]);
        // 32-bit counter, step 3, `<=`.
        assert_eq!(bound("mov r0, 0\nmov32 r1, 0\nl:\nadd32 r1, 3\njle32 r1, 30, l\nexit").unwrap(), [11]);
        // Down to zero by `!=` from a byte.
        let kprobe = |src: &str| analyze_insns(assemble(src).unwrap(), ProgType::Kprobe.ctx()).map(|a| a.loops.iter().map(|b| b.iterations).collect::<Vec<_>>());
        assert_eq!(kprobe("ldxb r1, [r1]\nmov r0, 0\njeq r1, 0, +3\nl:\nadd r0, 2\nsub r1, 1\njne r1, 0, l\nexit").unwrap(), [255]);
        // Signed, with the bound in a register that the loop leaves alone.
        assert_eq!(bound("mov r0, -5\nmov r2, 5\nl:\nadd r0, 1\njsgt r2, r0, l\nexit").unwrap(), [10]);
        // Two nested loops.
        assert_eq!(bound("mov r0, 0\nmov r6, 0\no:\nmov r7, 0\ni:\nadd r0, 1\nadd r7, 1\njlt r7, 4, i\nadd r6, 1\njlt r6, 3, o\nexit").unwrap(), [3, 4]);
        // No exit at all.
        assert_eq!(run("mov r0, 0\nl:\nadd r0, 1\nja l").unwrap_err().to_string(), "infinite loop detected at insn 1");
        // An exit that does not depend on a counter.
        assert!(matches!(analyze_insns(assemble("mov r0, 0\nl:\nldxb r2, [r1]\njeq r2, 0, l\nexit").unwrap(), ProgType::Kprobe.ctx()).unwrap_err().error, AnalysisError::Loop(loops::LoopError::Unproven { from: 2, to: 1 })));
        // The counter moves the wrong way.
        assert!(run("mov r0, 0\nmov r1, 5\nl:\nsub r1, 1\njlt r1, 10, l\nexit").is_err());
        // The bound moves with the counter.
        assert!(run("mov r0, 0\nmov r1, 0\nmov r2, 10\nl:\nadd r1, 1\nadd r2, 1\njlt r1, r2, l\nexit").is_err());
        // A step that would wrap past the bound.
        assert!(run("mov r0, 0\nmov r1, 0\nl:\nadd r1, 2\njne r1, 7, l\nexit").is_err());
        // Up to 2^32: more iterations than allowed.
        assert!(matches!(run("mov r0, 0\nmov r1, 0\nlddw r2, 0x100000000\nl:\nadd r1, 1\njlt r1, r2, l\nexit").unwrap_err().error, AnalysisError::Loop(loops::LoopError::TooLong { .. })));
    }

    #[test]
    fn unreachable_instructions_are_refused() {
        assert_eq!(run("mov r0, 0\nexit\nmov r0, 1\nexit").unwrap_err().to_string(), "unreachable insn 2");
    }
}
