//! The oracle's watcher of a run ([`Tracer`]): what was written (registers and stack
//! bytes, so that a read of either before its write is seen, not read as the 0 the
//! interpreter holds), and whether the concrete registers at every executed instruction
//! lie in the verifier's abstract state there (the state embedding).
//!
//! The rules of "written" are the verifier's: a helper call leaves r1–r5 unwritten and
//! writes r0 unless it returns nothing; a helper's memory argument is read
//! (`Mem`, `MapKey`, `MapValue`) or written (`UninitMem`) for its size.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::helpers::{self, Arg, Ret};
use crate::interp::Tracer;
use crate::isa::cfg::Cfg;
use crate::isa::{AtomicOp, Insn, Source};
use crate::mem::STACK_FRAME;
use crate::verifier::analyze::Analysis;
use crate::verifier::reg::{Kind, Reg, Region};
use crate::verifier::domain::stack::Read;
use crate::verifier::state::State;

/// Where the regions a pointer type names begin, in this run.
pub struct Bases {
    pub ctx: u64,
    pub data: u64,
    pub data_end: u64,
    /// The exact value regions of each map, by the verifier's map index: (start, len).
    pub maps: Vec<Vec<(u64, u64)>>,
    /// Each map's key and value size, by the same index.
    pub sizes: Vec<(u64, u64)>,
    /// The slots of the context accesses the runtime rewrote (XDP: every field); any
    /// other access to the context's memory (`ctx_len` bytes) did not pass the verifier's
    /// context check.
    pub ctx_slots: Vec<usize>,
    pub ctx_len: u64,
}

/// The first thing a run did that an accepted program must not do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub slot: usize,
    pub what: String,
}

/// What a run exercised: the register types the concrete registers were checked
/// against, and the checks the verifier made that the run then took. The oracle counts
/// the programs that exercised each ([`super::Tally::exercised`]), so that a generator
/// that stops reaching one is seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    Scalar,
    PtrCtx,
    PtrStack,
    PtrPacket,
    PtrPacketEnd,
    PtrMap,
    PtrMapValue,
    PtrMapValueOrNull,
    /// A load or store through each region.
    AccessCtx,
    AccessStack,
    AccessPacket,
    AccessMapValue,
    /// A pointer stored to the stack, and a pointer loaded from it.
    Spill,
    Fill,
    /// `ptr += number` (or `-=`) with a number not known to be one value.
    VariablePointerMath,
    /// A null check of a maybe-null pointer, each way.
    NullCheckNull,
    NullCheckNonNull,
    /// A packet pointer compared with `data_end`.
    PacketCheck,
    /// ALU32 arithmetic, sign extension (`movsx`).
    Alu32,
    SignExtension,
    /// A helper call.
    HelperCall,
    /// A jump backwards (a loop's next iteration).
    BackEdge,
}

impl Item {
    pub const ALL: [Item; 22] = [
        Item::Scalar,
        Item::PtrCtx,
        Item::PtrStack,
        Item::PtrPacket,
        Item::PtrPacketEnd,
        Item::PtrMap,
        Item::PtrMapValue,
        Item::PtrMapValueOrNull,
        Item::AccessCtx,
        Item::AccessStack,
        Item::AccessPacket,
        Item::AccessMapValue,
        Item::Spill,
        Item::Fill,
        Item::VariablePointerMath,
        Item::NullCheckNull,
        Item::NullCheckNonNull,
        Item::PacketCheck,
        Item::Alu32,
        Item::SignExtension,
        Item::HelperCall,
        Item::BackEdge,
    ];

    /// The name reports use.
    pub fn name(self) -> &'static str {
        match self {
            Item::Scalar => "register: scalar",
            Item::PtrCtx => "register: ctx",
            Item::PtrStack => "register: fp",
            Item::PtrPacket => "register: pkt",
            Item::PtrPacketEnd => "register: pkt_end",
            Item::PtrMap => "register: map_ptr",
            Item::PtrMapValue => "register: map_value",
            Item::PtrMapValueOrNull => "register: map_value_or_null",
            Item::AccessCtx => "access: ctx",
            Item::AccessStack => "access: stack",
            Item::AccessPacket => "access: packet",
            Item::AccessMapValue => "access: map value",
            Item::Spill => "spill of a pointer",
            Item::Fill => "fill of a pointer",
            Item::VariablePointerMath => "pointer plus a variable",
            Item::NullCheckNull => "null check: null",
            Item::NullCheckNonNull => "null check: not null",
            Item::PacketCheck => "packet bound check",
            Item::Alu32 => "alu32",
            Item::SignExtension => "sign extension",
            Item::HelperCall => "helper call",
            Item::BackEdge => "loop back edge",
        }
    }

    fn bit(self) -> u32 {
        1 << self as u32
    }

    /// The register type a register of kind `k` exercises.
    fn of_kind(k: Kind) -> Option<Item> {
        Some(match k {
            Kind::Scalar => Item::Scalar,
            Kind::Ptr(Region::Ctx) => Item::PtrCtx,
            Kind::Ptr(Region::Stack { .. }) => Item::PtrStack,
            Kind::Ptr(Region::Packet) => Item::PtrPacket,
            Kind::Ptr(Region::PacketEnd) => Item::PtrPacketEnd,
            Kind::Ptr(Region::MapPtr { .. }) => Item::PtrMap,
            Kind::Ptr(Region::MapValue { .. }) => Item::PtrMapValue,
            Kind::PtrOrNull(Region::MapValue { .. }) => Item::PtrMapValueOrNull,
            _ => return None,
        })
    }

    /// The access a load or store through a pointer of kind `k` exercises.
    fn access(k: Kind) -> Option<Item> {
        Some(match k {
            Kind::Ptr(Region::Ctx) => Item::AccessCtx,
            Kind::Ptr(Region::Stack { .. }) => Item::AccessStack,
            Kind::Ptr(Region::Packet) => Item::AccessPacket,
            Kind::Ptr(Region::MapValue { .. }) => Item::AccessMapValue,
            _ => return None,
        })
    }
}

/// A set of [`Item`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Items(u32);

impl Items {
    pub fn insert(&mut self, i: Item) {
        self.0 |= i.bit();
    }
    pub fn contains(self, i: Item) -> bool {
        self.0 & i.bit() != 0
    }
    pub fn union(self, o: Items) -> Items {
        Items(self.0 | o.0)
    }
}

pub struct Shadow<'a> {
    cfg: &'a Cfg,
    analysis: &'a Analysis,
    bases: Bases,
    /// The top of frame 0 (r10 at the first step).
    top: Option<u64>,
    regs: [bool; 11],
    stack: [bool; STACK_FRAME],
    pub fault: Option<Fault>,
    /// Instructions checked against a state.
    pub steps: u64,
    /// What the run exercised.
    pub exercised: Items,
    /// The slot of the instruction run last.
    last: Option<usize>,
}

impl<'a> Shadow<'a> {
    pub fn new(cfg: &'a Cfg, analysis: &'a Analysis, bases: Bases) -> Shadow<'a> {
        let mut regs = [false; 11];
        regs[1] = true;
        regs[10] = true;
        Shadow { cfg, analysis, bases, top: None, regs, stack: [false; STACK_FRAME], fault: None, steps: 0, exercised: Items::default(), last: None }
    }

    fn fail(&mut self, slot: usize, what: String) {
        if self.fault.is_none() {
            self.fault = Some(Fault { slot, what });
        }
    }

    /// The frame-0 stack bytes `[addr, addr + len)` covers, as offsets into the frame.
    fn stack_bytes(&self, addr: u64, len: u64) -> Option<core::ops::Range<usize>> {
        let top = self.top?;
        let lo = top - STACK_FRAME as u64;
        (addr >= lo && addr.checked_add(len)? <= top).then(|| (addr - lo) as usize..(addr - lo + len) as usize)
    }

    /// A load or store at `addr` that is not a rewritten context access must not touch
    /// the context.
    fn not_ctx(&mut self, slot: usize, addr: u64) {
        let off = addr.wrapping_sub(self.bases.ctx);
        if off < self.bases.ctx_len && !self.bases.ctx_slots.contains(&slot) {
            self.fail(slot, format!("accesses the context at +{off} without the verifier's rewrite"));
        }
    }

    fn read_mem(&mut self, slot: usize, addr: u64, len: u64) {
        if let Some(r) = self.stack_bytes(addr, len) {
            if let Some(b) = r.clone().find(|&b| !self.stack[b]) {
                let off = b as i64 - STACK_FRAME as i64;
                self.fail(slot, format!("reads the stack byte fp{off}, never written"));
            }
        }
    }

    fn write_mem(&mut self, addr: u64, len: u64) {
        if let Some(r) = self.stack_bytes(addr, len) {
            self.stack[r].iter_mut().for_each(|b| *b = true);
        }
    }

    /// `v` is one of the values `r` stands for.
    fn embeds(&self, r: &Reg, v: u64) -> bool {
        let at = |base: u64| r.value.contains(v.wrapping_sub(base));
        let ptr = |region: Region| match region {
            Region::Ctx => at(self.bases.ctx),
            Region::Stack { frame: 0 } => self.top.is_some_and(at),
            Region::Packet | Region::PacketMeta => at(self.bases.data) && (r.range == 0 || r.id != 0 || v.wrapping_add(r.range) <= self.bases.data_end),
            Region::PacketEnd => at(self.bases.data_end),
            Region::MapValue { map } => self.bases.maps.get(map as usize).is_some_and(|rs| rs.iter().any(|&(s, _)| at(s))),
            // Frames of callees, maps themselves, ring-buffer and helper memory: not
            // generated.
            _ => true,
        };
        match r.kind {
            Kind::NotInit | Kind::Mixed => true,
            Kind::Scalar => r.value.contains(v),
            Kind::Ptr(region) => ptr(region),
            Kind::PtrOrNull(region) => v == 0 || ptr(region),
        }
    }

    /// Why `regs` is not in `s`, if it is not.
    fn outside(&self, s: &State, regs: &[u64; 11]) -> Option<String> {
        if s.frame() != 0 {
            return Some(String::from("a state of another call depth"));
        }
        (0..11).find_map(|k| {
            let r = &s.regs[k];
            if self.regs[k] && !self.embeds(r, regs[k]) {
                return Some(format!("r{k} = {:#x} is not in {r}", regs[k]));
            }
            if !self.regs[k] && r.kind != Kind::NotInit {
                return Some(format!("r{k} was never written but the verifier holds it as {r}"));
            }
            None
        })
    }

    /// What `insn` at `pc` exercises, in `state`, the verifier's state there that the
    /// registers lie in.
    fn exercise(&mut self, pc: usize, insn: &Insn, state: &State, before: &[u64; 11]) {
        if self.last.is_some_and(|l| pc <= l) {
            self.exercised.insert(Item::BackEdge);
        }
        self.last = Some(pc);
        let kind = |r: crate::isa::Reg| state.regs[r.index()].kind;
        let mut add = |i: Option<Item>| {
            if let Some(i) = i {
                self.exercised.insert(i);
            }
        };
        for (k, r) in state.regs.iter().enumerate() {
            if self.regs[k] {
                add(Item::of_kind(r.kind));
            }
        }
        match *insn {
            Insn::Alu { op, width, dst, src } => {
                add((width == crate::isa::Width::W32).then_some(Item::Alu32));
                let variable = match src {
                    Source::Reg(r) => state.regs[r.index()].kind == Kind::Scalar && state.regs[r.index()].constant().is_none(),
                    Source::Imm(_) => false,
                };
                let moves = matches!(op, crate::isa::AluOp::Add | crate::isa::AluOp::Sub) && matches!(kind(dst), Kind::Ptr(_));
                add((moves && variable).then_some(Item::VariablePointerMath));
            }
            Insn::MovSx { .. } => add(Some(Item::SignExtension)),
            Insn::Ldx { src, off, .. } => {
                add(Item::access(kind(src)));
                // A fill: an 8-byte load of a slot where the verifier holds a spilled pointer.
                let r = state.regs[src.index()];
                let slot = match (r.kind, r.constant()) {
                    (Kind::Ptr(Region::Stack { frame: 0 }), Some(c)) => state.frames.first().and_then(|f| f.load(c as i64 + off as i64, 8).ok()),
                    _ => None,
                };
                add(matches!(slot, Some(Read::Spilled(v)) if v.is_pointer()).then_some(Item::Fill));
            }
            Insn::St { dst, .. } | Insn::Atomic { dst, .. } => add(Item::access(kind(dst))),
            Insn::Stx { dst, src, .. } => {
                add(Item::access(kind(dst)));
                add((matches!(kind(dst), Kind::Ptr(Region::Stack { .. })) && state.regs[src.index()].is_pointer()).then_some(Item::Spill));
            }
            Insn::Jmp { dst, src, .. } => {
                let other = match src {
                    Source::Reg(r) => Some(kind(r)),
                    Source::Imm(_) => None,
                };
                if matches!(kind(dst), Kind::PtrOrNull(_)) && other.is_none() {
                    // Which way: the run's value decides.
                    add(Some(if before[dst.index()] == 0 { Item::NullCheckNull } else { Item::NullCheckNonNull }));
                }
                let pkt = |k: Option<Kind>| matches!(k, Some(Kind::Ptr(Region::Packet)));
                let end = |k: Option<Kind>| matches!(k, Some(Kind::Ptr(Region::PacketEnd)));
                let (d, o) = (Some(kind(dst)), other);
                add(((pkt(d) && end(o)) || (end(d) && pkt(o))).then_some(Item::PacketCheck));
            }
            Insn::Call { .. } => add(Some(Item::HelperCall)),
            _ => {}
        }
    }

    fn read_reg(&mut self, slot: usize, k: usize) {
        if !self.regs[k] {
            self.fail(slot, format!("reads r{k}, never written"));
        }
    }
}

impl Tracer for Shadow<'_> {
    const ENABLED: bool = true;

    fn step(&mut self, pc: usize, insn: &Insn, before: &[u64; 11], _after: &[u64; 11]) {
        if self.fault.is_some() {
            return;
        }
        if self.top.is_none() {
            self.top = Some(before[10]);
            self.bases.ctx = before[1];
        }
        self.steps += 1;
        // The state embedding, before the instruction ran.
        let states = self.cfg.index_of(pc).map(|i| self.analysis.at(i)).unwrap_or_default();
        if states.is_empty() {
            return self.fail(pc, String::from("runs an instruction the verifier found unreachable"));
        }
        let mut why = Vec::new();
        let Some(state) = states.iter().find(|s| match self.outside(s, before) {
            Some(w) => {
                why.push(w);
                false
            }
            None => true,
        }) else {
            return self.fail(pc, format!("the registers are in no state of the verifier's here: {}", why[0]));
        };
        self.exercise(pc, insn, state, before);
        // Reads, then writes.
        let addr = |r: crate::isa::Reg, off: i16| before[r.index()].wrapping_add(off as i64 as u64);
        match *insn {
            Insn::Alu { op, dst, src, .. } => {
                if let Source::Reg(r) = src {
                    self.read_reg(pc, r.index());
                }
                if op != crate::isa::AluOp::Mov {
                    self.read_reg(pc, dst.index());
                }
                self.regs[dst.index()] = true;
            }
            Insn::Neg { dst, .. } | Insn::End { dst, .. } => self.read_reg(pc, dst.index()),
            Insn::MovSx { dst, src, .. } => {
                self.read_reg(pc, src.index());
                self.regs[dst.index()] = true;
            }
            Insn::LdImm64 { dst, .. } => self.regs[dst.index()] = true,
            Insn::Ldx { size, dst, src, off, .. } => {
                self.read_reg(pc, src.index());
                self.read_mem(pc, addr(src, off), size.bytes() as u64);
                self.not_ctx(pc, addr(src, off));
                self.regs[dst.index()] = true;
            }
            Insn::St { size, dst, off, .. } => {
                self.read_reg(pc, dst.index());
                self.not_ctx(pc, addr(dst, off));
                self.write_mem(addr(dst, off), size.bytes() as u64);
            }
            Insn::Stx { size, dst, src, off } => {
                self.read_reg(pc, dst.index());
                self.read_reg(pc, src.index());
                self.not_ctx(pc, addr(dst, off));
                self.write_mem(addr(dst, off), size.bytes() as u64);
            }
            Insn::Atomic { size, op, dst, src, off } => {
                self.read_reg(pc, dst.index());
                self.read_reg(pc, src.index());
                if op == AtomicOp::Cmpxchg {
                    self.read_reg(pc, 0);
                }
                self.read_mem(pc, addr(dst, off), size.bytes() as u64);
                self.not_ctx(pc, addr(dst, off));
            }
            Insn::Jmp { dst, src, .. } => {
                self.read_reg(pc, dst.index());
                if let Source::Reg(r) = src {
                    self.read_reg(pc, r.index());
                }
            }
            Insn::Call { helper } => {
                let Some(h) = helpers::linux(helper) else { return };
                // The map an argument's sizes come from: r1's, in the states here.
                let map = states.iter().find_map(|s| match s.regs[1].kind {
                    Kind::Ptr(Region::MapPtr { map }) => Some(map as usize),
                    _ => None,
                });
                let (key, value) = map.and_then(|m| self.bases.sizes.get(m).copied()).unwrap_or((0, 0));
                let args = h.proto.args;
                for (k, arg) in args.iter().enumerate().take_while(|(_, a)| **a != Arg::None) {
                    let r = k + 1;
                    self.read_reg(pc, r);
                    let size = || before.get(r + 1).copied().unwrap_or(0);
                    match arg {
                        Arg::MapKey => self.read_mem(pc, before[r], key),
                        Arg::MapValue => self.read_mem(pc, before[r], value),
                        Arg::Mem => self.read_mem(pc, before[r], size()),
                        Arg::UninitMem => self.write_mem(before[r], size()),
                        _ => {}
                    }
                }
                (1..=5).for_each(|r| self.regs[r] = false);
                self.regs[0] = h.proto.ret != Ret::Void;
            }
            Insn::Exit => self.read_reg(pc, 0),
            _ => {}
        }
    }
}
