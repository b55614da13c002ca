//! Random valid BPF programs for the JIT differential: every instruction class, branches
//! both ways, helper calls, stack and map-value memory, bpf-to-bpf calls.
//!
//! Valid by construction, so JIT code (which has no run-time checks) may run them:
//! - memory is the stack below r10 and the conformance environment's 64-byte map value,
//!   reached through `lddw map_value_fd(1, off)`, at in-range offsets aligned for atomics;
//! - every loop is a counted loop whose counter (r6–r9) its body never writes; all other
//!   jumps go forward inside their block;
//! - a program's result must not depend on an engine's addresses or scratch registers:
//!   r0–r9 start as constants, and every group of instructions that puts a pointer in a
//!   register or calls (which leaves r1–r5 undefined) writes constants over them before
//!   it ends. Jumps land only between groups.
//!
//! The main function ends by folding r1–r9, its 512-byte stack frame and the map value
//! into r0, so the one number the test compares covers registers and memory.

use proptest::prelude::Rng;
use proptest::test_runner::{RngAlgorithm, TestRng};
use rvbpf::isa::{AluOp, AtomicOp, EndKind, EndWidth, HelperId, Insn, JmpCond, LdKind, Reg, Size, Source, SxWidth, Width};

/// A deterministic source of choices for one program.
pub struct Gen {
    rng: TestRng,
    /// Sizes of filler blocks above 2 KiB of code (mid-range branches) are drawn sometimes.
    pub big: bool,
}

impl Gen {
    pub fn new(seed: u64) -> Gen {
        let mut bytes = [0u8; 32];
        for (k, chunk) in bytes.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(k as u64).to_le_bytes());
        }
        let mut g = Gen { rng: TestRng::from_seed(RngAlgorithm::ChaCha, &bytes), big: false };
        g.big = g.below(16) == 0;
        g
    }
    fn next(&mut self) -> u64 {
        self.rng.next_u64()
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
    /// Immediates around every boundary the lowering cares about, or anything.
    pub fn imm(&mut self) -> i32 {
        const EDGES: [i64; 22] = [
            0, 1, -1, 2, 31, 32, 63, 2047, 2048, -2048, -2049, 4095, 4096, 0x7fff_f7ff, 0x7fff_f800, 0x7fff_ffff, -0x8000_0000, 0x8000, -0x8000, 0x1000, 0xfff, 0x12345,
        ];
        if self.chance(2) {
            self.pick(&EDGES) as i32
        } else {
            self.next() as i32
        }
    }
    fn reg(&mut self, avoid: &[Reg]) -> Reg {
        loop {
            let r = Reg::new(self.below(10) as u8).unwrap();
            if !avoid.contains(&r) {
                return r;
            }
        }
    }
    fn any_reg(&mut self) -> Reg {
        Reg::new(self.below(10) as u8).unwrap()
    }
    fn width(&mut self) -> Width {
        if self.chance(2) {
            Width::W32
        } else {
            Width::W64
        }
    }
}

/// A jump or call before its offset is known.
#[derive(Clone, Copy, Debug)]
enum Item {
    Insn(Insn),
    /// Conditional jump to a label.
    Jmp { width: Width, cond: JmpCond, dst: Reg, src: Source, to: usize },
    Ja { to: usize, long: bool },
    Label(usize),
    /// bpf-to-bpf call of function `f`.
    Call(usize),
}

struct Builder<'g> {
    g: &'g mut Gen,
    next_label: usize,
    /// Functions (index 0 = main); a function may call only later ones.
    nfuncs: usize,
}

impl Builder<'_> {
    fn label(&mut self) -> usize {
        self.next_label += 1;
        self.next_label - 1
    }

    /// Writes constants over r1–r5 (after a call, whose ABI leaves them undefined).
    fn reinit_args(&mut self, out: &mut Vec<Item>) {
        for r in 1..=5 {
            let imm = self.g.imm();
            out.push(Item::Insn(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::new(r).unwrap(), src: Source::Imm(imm) }));
        }
    }

    /// One group: a few instructions with no jump into them.
    fn group(&mut self, func: usize, avoid: &[Reg], depth: u32, out: &mut Vec<Item>) {
        let g = &mut *self.g;
        let dst = g.reg(avoid);
        let src = g.any_reg();
        match g.below(20) {
            0..=5 => {
                let op = g.pick(&AluOp::ALL);
                let width = g.width();
                let src = if g.chance(2) {
                    let mut imm = g.imm();
                    if matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh) {
                        imm = imm.rem_euclid(if width == Width::W32 { 32 } else { 64 });
                    }
                    Source::Imm(imm)
                } else {
                    Source::Reg(src)
                };
                out.push(Item::Insn(Insn::Alu { width, op, dst, src }));
            }
            6 => {
                let insn = match g.below(4) {
                    0 => Insn::Neg { width: g.width(), dst },
                    1 => {
                        let width = g.width();
                        let bits = if width == Width::W32 { g.pick(&[SxWidth::S8, SxWidth::S16]) } else { g.pick(&[SxWidth::S8, SxWidth::S16, SxWidth::S32]) };
                        Insn::MovSx { width, bits, dst, src }
                    }
                    _ => Insn::End { kind: g.pick(&[EndKind::Le, EndKind::Be, EndKind::Swap]), bits: g.pick(&[EndWidth::B16, EndWidth::B32, EndWidth::B64]), dst },
                };
                out.push(Item::Insn(insn));
            }
            7 => {
                // A 64-bit constant: edges of the sign-extended and wide forms.
                let v: u64 = match g.below(4) {
                    0 => g.imm() as i64 as u64,
                    1 => (g.imm() as u32 as u64) << 32 | g.imm() as u32 as u64,
                    2 => g.pick(&[i64::MIN as u64, u64::MAX, 1 << 32, (1 << 32) - 1, 0x8000_0000, 0xffff_ffff_0000_0000]),
                    _ => g.next(),
                };
                out.push(Item::Insn(Insn::LdImm64 { kind: LdKind::Imm64, dst, imm: v as i32, next_imm: (v >> 32) as i32 }));
            }
            8..=11 => self.memory(avoid, out),
            12 | 13 => self.helper(avoid, out),
            14 if depth < 2 && func + 1 < self.nfuncs => {
                let callee = func + 1 + self.g.below((self.nfuncs - func - 1) as u64) as usize;
                out.push(Item::Call(callee));
                self.reinit_args(out);
            }
            15 | 16 if depth < 2 => self.block(func, avoid, depth + 1, out),
            17 if depth < 2 => self.counted_loop(func, avoid, depth, out),
            _ => {
                let imm = g.imm();
                out.push(Item::Insn(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src: Source::Imm(imm) }));
            }
        }
    }

    /// A load, store or atomic on the stack or the map value.
    fn memory(&mut self, avoid: &[Reg], out: &mut Vec<Item>) {
        let g = &mut *self.g;
        let atomic = g.chance(3);
        let size = if atomic { g.pick(&[Size::W, Size::DW]) } else { g.pick(&[Size::B, Size::H, Size::W, Size::DW]) };
        let n = size.bytes() as i64;
        // Base register and offset: r10 - k*n, or a map-value pointer + k*n.
        let (base, off, ptr) = if g.chance(2) {
            let k = 1 + g.below((512 / n) as u64) as i64;
            (Reg::R10, (-k * n) as i16, None)
        } else {
            let p = g.reg(avoid);
            // Split the offset between the lddw and the instruction.
            let total = g.below((64 / n) as u64) as i64 * n;
            let pre = if g.chance(2) { 0 } else { total };
            out.push(Item::Insn(Insn::LdImm64 { kind: LdKind::MapValueFd, dst: p, imm: 1, next_imm: pre as i32 }));
            (p, (total - pre) as i16, Some(p))
        };
        let val = g.reg(&[base]);
        let insn = if atomic {
            let op = g.pick(&AtomicOp::ALL);
            // Fetched values land in `val`: not the base, not a loop counter.
            let val = if op.fetches() { g.reg(&[&[base][..], avoid].concat()) } else { val };
            Insn::Atomic { size, op, dst: base, src: val, off }
        } else {
            match g.below(3) {
                0 => Insn::Ldx { size, signed: size != Size::DW && g.chance(2), dst: g.reg(&[avoid, &[base]].concat()), src: base, off },
                1 => Insn::St { size, dst: base, off, imm: g.imm() },
                _ => Insn::Stx { size, dst: base, src: val, off },
            }
        };
        out.push(Item::Insn(insn));
        if let Some(p) = ptr {
            // The pointer is an engine's address: overwrite it.
            let imm = g.imm();
            out.push(Item::Insn(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: p, src: Source::Imm(imm) }));
        }
    }

    /// A call of one of the conformance helpers (gather_bytes, memfrob, no_op, sqrti,
    /// unwind), by id or through callx.
    fn helper(&mut self, avoid: &[Reg], out: &mut Vec<Item>) {
        let g = &mut *self.g;
        let id = g.pick(&[0, 1, 2, 3, 5]);
        if id == 1 {
            // memfrob(stack buffer, len)
            let len = 1 + g.below(64) as i32;
            let at = len + g.below(64) as i32;
            out.push(Item::Insn(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R1, src: Source::Reg(Reg::R10) }));
            out.push(Item::Insn(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R1, src: Source::Imm(-at) }));
            out.push(Item::Insn(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R2, src: Source::Imm(len) }));
        }
        if id == 5 && g.chance(2) {
            // unwind(r1) stops the program when r1 is 0.
            let v = if g.chance(4) { 0 } else { 1 + g.below(100) as i32 };
            out.push(Item::Insn(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R1, src: Source::Imm(v) }));
        }
        if g.chance(3) {
            let r = g.reg(&[avoid, &[Reg::R1, Reg::R2]].concat());
            out.push(Item::Insn(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: r, src: Source::Imm(id) }));
            out.push(Item::Insn(Insn::Callx { reg: r }));
        } else {
            out.push(Item::Insn(Insn::Call { helper: HelperId(id) }));
        }
        self.reinit_args(out);
    }

    /// A block of groups with forward jumps between group boundaries.
    fn block(&mut self, func: usize, avoid: &[Reg], depth: u32, out: &mut Vec<Item>) {
        let n = if self.g.big && depth == 0 && self.g.chance(3) { 300 + self.g.below(400) } else { 2 + self.g.below(8) } as usize;
        let labels: Vec<usize> = (0..=n).map(|_| self.label()).collect();
        for k in 0..n {
            out.push(Item::Label(labels[k]));
            if self.g.chance(4) {
                // A forward jump to a later boundary of this block.
                let to = labels[k + 1 + self.g.below((n - k) as u64) as usize];
                let g = &mut *self.g;
                let item = match g.below(6) {
                    0 => Item::Ja { to, long: g.chance(2) },
                    _ => {
                        let width = g.width();
                        let src = if g.chance(2) { Source::Imm(g.imm()) } else { Source::Reg(g.any_reg()) };
                        Item::Jmp { width, cond: g.pick(&JmpCond::ALL), dst: g.any_reg(), src, to }
                    }
                };
                out.push(item);
            }
            self.group(func, avoid, depth, out);
        }
        out.push(Item::Label(labels[n]));
    }

    /// `c = n; do { body } while (--c != 0)` with the counter in r6–r9.
    fn counted_loop(&mut self, func: usize, avoid: &[Reg], depth: u32, out: &mut Vec<Item>) {
        let free: Vec<Reg> = (6..=9).map(|r| Reg::new(r).unwrap()).filter(|r| !avoid.contains(r)).collect();
        if free.is_empty() {
            return;
        }
        let c = self.g.pick(&free);
        let n = 1 + self.g.below(4) as i32;
        out.push(Item::Insn(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: c, src: Source::Imm(n) }));
        let top = self.label();
        out.push(Item::Label(top));
        let mut avoid = avoid.to_vec();
        avoid.push(c);
        self.block(func, &avoid, depth + 1, out);
        out.push(Item::Insn(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: c, src: Source::Imm(-1) }));
        let (cond, src) = self.g.pick(&[(JmpCond::Ne, 0), (JmpCond::Sgt, 0), (JmpCond::Gt, 0), (JmpCond::Sge, 1)]);
        let width = self.g.width();
        out.push(Item::Jmp { width, cond, dst: c, src: Source::Imm(src), to: top });
    }
}

/// A random valid program (see the module docs).
pub fn program(seed: u64) -> Vec<Insn> {
    let mut g = Gen::new(seed);
    let nfuncs = 1 + g.below(3) as usize;
    let mut b = Builder { g: &mut g, next_label: 0, nfuncs };
    let entries: Vec<usize> = (0..nfuncs).map(|_| b.label()).collect();
    let mut items = Vec::new();
    for (f, &entry) in entries.iter().enumerate() {
        items.push(Item::Label(entry));
        if f == 0 {
            for r in 0..=9 {
                let imm = b.g.imm();
                items.push(Item::Insn(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::new(r).unwrap(), src: Source::Imm(imm) }));
            }
        }
        b.block(f, &[], 0, &mut items);
        if f == 0 {
            // r0 = fold(r0..r9, the stack frame, the map value).
            let fold = |items: &mut Vec<Item>, r: Reg| {
                items.push(Item::Insn(Insn::Alu { width: Width::W64, op: AluOp::Mul, dst: Reg::R0, src: Source::Imm(0x0100_0193) }));
                items.push(Item::Insn(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R0, src: Source::Reg(r) }));
            };
            for r in 1..=9 {
                fold(&mut items, Reg::new(r).unwrap());
            }
            for k in 1..=64 {
                items.push(Item::Insn(Insn::Ldx { size: Size::DW, signed: false, dst: Reg::R1, src: Reg::R10, off: -8 * k }));
                fold(&mut items, Reg::R1);
            }
            items.push(Item::Insn(Insn::LdImm64 { kind: LdKind::MapValueFd, dst: Reg::R2, imm: 1, next_imm: 0 }));
            for k in 0..8 {
                items.push(Item::Insn(Insn::Ldx { size: Size::DW, signed: false, dst: Reg::R1, src: Reg::R2, off: 8 * k }));
                fold(&mut items, Reg::R1);
            }
        }
        items.push(Item::Insn(Insn::Exit));
    }
    resolve(&items, &entries)
}

/// Lays the items out in slots and fills in jump and call offsets.
fn resolve(items: &[Item], entries: &[usize]) -> Vec<Insn> {
    let mut at = std::collections::HashMap::new();
    let mut slot = 0i64;
    for it in items {
        match it {
            Item::Label(l) => {
                at.insert(*l, slot);
            }
            Item::Insn(i) => slot += i.slots() as i64,
            _ => slot += 1,
        }
    }
    let mut out = Vec::new();
    let mut slot = 0i64;
    for it in items {
        let rel = |l: usize| at[&l] - slot - 1;
        match *it {
            Item::Label(_) => continue,
            Item::Insn(i) => out.push(i),
            Item::Jmp { width, cond, dst, src, to } => out.push(Insn::Jmp { width, cond, dst, src, off: rel(to) as i16 }),
            Item::Ja { to, long: false } => out.push(Insn::Ja { off: rel(to) as i16 }),
            Item::Ja { to, long: true } => out.push(Insn::Gotol { imm: rel(to) as i32 }),
            Item::Call(f) => out.push(Insn::CallLocal { imm: rel(entries[f]) as i32 }),
        }
        slot += out.last().unwrap().slots() as i64;
    }
    out
}
