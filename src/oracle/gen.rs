//! The generator: random XDP programs made of snippets, each a few instructions that
//! the verifier must judge (a bound checked right or off by one, a null check kept or
//! dropped, a spill overwritten, a 32-bit trick), some safe and some not.
//!
//! Every program has the same frame: r6 the context, r7 the packet's start, r8 its end,
//! r9 a number. A snippet uses r0–r5 as scratch, may set r9 to a new number, and jumps
//! only forward to its own labels (a loop jumps back inside itself), so that any subset
//! of snippets, in order, is again a program: what delta reduction needs.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// splitmix64: the same stream from the same seed on every host.
pub struct Rng(pub u64);

impl Rng {
    pub fn word(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.word() % n
    }

    /// One of `xs`.
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }

    /// True one time in `n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// The maps every generated program may name by `map_idx(N)`: (name, type, key size,
/// value size, entries).
pub const MAPS: [(&str, u32, u32, u32, u32); 2] = [("array", crate::maps::map_type::ARRAY, 4, 16, 4), ("hash", crate::maps::map_type::HASH, 4, 8, 8)];

/// One snippet: its kind (for statistics) and its assembly lines.
#[derive(Clone, Debug)]
pub struct Snippet {
    pub kind: &'static str,
    pub lines: Vec<String>,
}

/// The lines every program starts with.
pub const PROLOGUE: [&str; 4] = ["mov r6, r1", "ldxw r7, [r6+0]", "ldxw r8, [r6+4]", "mov r9, 0"];

/// The lines every program ends with.
pub const EPILOGUE: [&str; 2] = ["mov r0, 2", "exit"];

/// The whole program's assembly.
pub fn program(snippets: &[Snippet]) -> String {
    let mut out = String::new();
    let body = snippets.iter().flat_map(|s| s.lines.iter().map(String::as_str));
    for l in PROLOGUE.iter().copied().chain(body).chain(EPILOGUE.iter().copied()) {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// A program of 1 to `max` snippets from `rng`.
pub fn snippets(rng: &mut Rng, max: usize) -> Vec<Snippet> {
    let n = 1 + rng.below(max as u64) as usize;
    (0..n).map(|k| snippet(rng, k)).collect()
}

/// An error of one in `n` (a bound off by one, a check on the wrong branch): `0` for the
/// right program, else the error.
fn off(rng: &mut Rng, n: u64) -> i64 {
    if rng.one_in(n) {
        rng.pick(&[-1, 1, 2, 8])
    } else {
        0
    }
}

/// To `end` unless the packet has `bytes` bytes.
fn guard(push: &mut impl FnMut(String), bytes: u64, end: &str) {
    push("mov r1, r7".into());
    push(format!("add r1, {bytes}"));
    push(format!("jgt r1, r8, {end}"));
}

/// The packet byte at offset r2, read after its bound check (to `end` when past the
/// packet); then the label `end`.
fn read_at_r2(push: &mut impl FnMut(String), end: &str) {
    push("mov r3, r7".into());
    push("add r3, r2".into());
    push("mov r4, r3".into());
    push("add r4, 1".into());
    push(format!("jgt r4, r8, {end}"));
    push("ldxb r0, [r3+0]".into());
    push(format!("{end}:"));
}

/// One snippet; `k` makes its labels unique.
fn snippet(rng: &mut Rng, k: usize) -> Snippet {
    let l = |name: &str| format!("s{k}_{name}");
    let size = rng.pick(&[(1, "b"), (2, "h"), (4, "w"), (8, "dw")]);
    let mut v: Vec<String> = Vec::new();
    let mut push = |s: String| v.push(s);
    let kind = match rng.below(12) {
        // A packet read after a bound check: right, off by one, or on the wrong branch.
        0 => {
            let (bytes, sz) = size;
            let at = rng.below(24) as i64;
            let checked = at + bytes + off(rng, 3);
            push("mov r1, r7".into());
            push(format!("add r1, {checked}"));
            if rng.one_in(6) {
                // The read on the branch where the packet is too short.
                push(format!("jle r1, r8, {}", l("end")));
            } else {
                push(format!("{} r1, r8, {}", rng.pick(&["jgt", "jgt", "jge"]), l("end")));
            }
            push(format!("ldx{sz} r0, [r7+{at}]"));
            push(format!("{}:", l("end")));
            "packet"
        }
        // A packet read at a variable offset: a byte of the packet, masked (or not),
        // added to the start, then the bound checked on the moved pointer.
        1 => {
            let mask = rng.pick(&[7u64, 15, 31, 0xff]);
            let bytes = size.0;
            push("mov r1, r7".into());
            push("add r1, 1".into());
            push(format!("jgt r1, r8, {}", l("end")));
            push("ldxb r2, [r7+0]".into());
            if !rng.one_in(6) {
                push(format!("{} r2, {mask}", rng.pick(&["and", "and32"])));
            }
            push("mov r3, r7".into());
            push("add r3, r2".into());
            push("mov r4, r3".into());
            push(format!("add r4, {}", bytes + off(rng, 4)));
            push(format!("jgt r4, r8, {}", l("end")));
            push(format!("ldx{} r0, [r3+0]", size.1));
            push(format!("{}:", l("end")));
            "packet variable offset"
        }
        // A map lookup with its null check (kept, dropped, or on a copy) and a read or
        // write inside the value (or just past it).
        2 | 3 => {
            let m = rng.below(MAPS.len() as u64) as usize;
            let vs = MAPS[m].3 as i64;
            let key = rng.below(MAPS[m].4 as u64 + 1);
            let (bytes, sz) = if vs >= size.0 { size } else { (1, "b") };
            let at = rng.below((vs - bytes + 1) as u64) as i64 + off(rng, 4);
            if !rng.one_in(10) {
                push(format!("stw [r10-4], {key}"));
            }
            push(format!("lddw r1, map_idx({m})"));
            push("mov r2, r10".into());
            push("add r2, -4".into());
            push("call 1".into());
            let ptr = if rng.one_in(3) {
                push("mov r5, r0".into());
                "r5"
            } else {
                "r0"
            };
            match rng.below(8) {
                0 => {}
                1 => push(format!("jne r0, 0, {}", l("end"))),
                _ => push(format!("jeq {}, 0, {}", rng.pick(&["r0", ptr]), l("end"))),
            }
            if rng.one_in(2) {
                push(format!("ldx{sz} r1, [{ptr}+{at}]"));
            } else {
                push(format!("st{sz} [{ptr}+{at}], {}", rng.below(100)));
            }
            push(format!("{}:", l("end")));
            "map value"
        }
        // A map value indexed by a bounded number.
        4 => {
            let vs = MAPS[0].3 as i64;
            push("stw [r10-4], 0".into());
            push("lddw r1, map_idx(0)".into());
            push("mov r2, r10".into());
            push("add r2, -4".into());
            push("call 1".into());
            push(format!("jeq r0, 0, {}", l("end")));
            push("mov r9, r0".into());
            push("call 7".into());
            push("mov r1, r0".into());
            match rng.below(4) {
                0 => push(format!("and r1, {}", vs - 1 + off(rng, 2))),
                1 => {
                    push(format!("jgt r1, {}, {}", vs - 1 + off(rng, 2), l("end")));
                }
                2 => {
                    push(format!("jsgt r1, {}, {}", vs - 1 + off(rng, 2), l("end")));
                    if !rng.one_in(3) {
                        push(format!("jslt r1, 0, {}", l("end")));
                    }
                }
                _ => {
                    push(format!("mod r1, {}", vs + off(rng, 2)));
                }
            }
            push("add r9, r1".into());
            push("ldxb r0, [r9+0]".into());
            push(format!("{}:", l("end")));
            push("mov r9, 0".into());
            "map value variable offset"
        }
        // A spill and a fill: of a number, of a pointer partly overwritten, of a slot
        // never written.
        5 => {
            let slot = -8 * (2 + rng.below(4) as i64);
            match rng.below(4) {
                0 => {
                    push(format!("stxdw [r10{slot}], r9"));
                    push(format!("ldxdw r9, [r10{slot}]"));
                }
                1 => {
                    push(format!("stxdw [r10{slot}], r6"));
                    if rng.one_in(2) {
                        push(format!("stb [r10{}], 0", slot + rng.below(8) as i64));
                    }
                    push(format!("ldxdw r1, [r10{slot}]"));
                    push("ldxw r0, [r1+8]".into());
                }
                2 => push(format!("ldx{} r1, [r10{}]", size.1, slot - 48)),
                _ => {
                    push(format!("stw [r10{slot}], 7"));
                    push(format!("ldx{} r9, [r10{slot}]", rng.pick(&["b", "h", "w", "dw"])));
                }
            }
            "stack"
        }
        // 32-bit arithmetic and sign extension on a number from the packet, then the
        // result checked as a packet offset.
        6 => {
            guard(&mut push, 2, &l("end"));
            push("ldxh r2, [r7+0]".into());
            for _ in 0..1 + rng.below(3) {
                let op = rng.pick(&["add32", "sub32", "and32", "or32", "lsh32", "rsh32", "arsh32", "mul32", "xor32", "add", "lsh", "rsh", "arsh"]);
                let k = if op.starts_with('l') || op.contains("sh") { rng.below(12) as i64 } else { rng.below(64) as i64 - 16 };
                push(format!("{op} r2, {k}"));
            }
            if rng.one_in(3) {
                push(format!("movsx{}64 r2, r2", rng.pick(&[8, 16, 32])));
            }
            push(format!("jgt r2, {}, {}", 16 + off(rng, 3), l("end")));
            if rng.one_in(4) {
                push(format!("jslt r2, 0, {}", l("end")));
            }
            read_at_r2(&mut push, &l("end"));
            "alu32"
        }
        // A bounded loop.
        7 => {
            let n = 1 + rng.below(12);
            push("mov r1, 0".into());
            push(format!("{}:", l("loop")));
            push(format!("add r1, {}", rng.pick(&[1, 1, 2, 3])));
            push(format!("{} r1, {n}, {}", rng.pick(&["jlt", "jle", "jne"]), l("loop")));
            push("mov r9, r1".into());
            "loop"
        }
        // Two paths to one access of a map value: one checked for null, one not (the
        // join must keep the or-null), or two lookups and the check on the other one.
        10 => {
            let m = rng.below(MAPS.len() as u64) as usize;
            let key = rng.below(MAPS[m].4 as u64 + 1);
            let lookup = |push: &mut dyn FnMut(String), key: u64| {
                push(format!("stw [r10-4], {key}"));
                push(format!("lddw r1, map_idx({m})"));
                push("mov r2, r10".into());
                push("add r2, -4".into());
                push("call 1".into());
            };
            lookup(&mut push, key);
            push("mov r9, r0".into());
            if rng.one_in(2) {
                push("call 7".into());
                push(format!("jgt r0, {}, {}", rng.below(1 << 31), l("use")));
                push(format!("jeq r9, 0, {}", l("end")));
            } else {
                lookup(&mut push, rng.below(MAPS[m].4 as u64 + 1));
                push(format!("jeq r0, 0, {}", l("end")));
                if rng.one_in(2) {
                    push(format!("jeq r9, 0, {}", l("end")));
                }
            }
            push(format!("{}:", l("use")));
            push("ldxb r1, [r9+0]".into());
            push(format!("{}:", l("end")));
            push("mov r9, 0".into());
            "map value paths"
        }
        // A shift or a negation of a bounded number, then used as a packet offset, its
        // bound checked at 32 bits, signed or unsigned.
        11 => {
            guard(&mut push, 2, &l("end"));
            push("ldxb r2, [r7+0]".into());
            push("ldxb r5, [r7+1]".into());
            match rng.below(3) {
                0 => {
                    push(format!("and r5, {}", rng.pick(&[1, 3, 7])));
                    push(format!("{} r2, r5", rng.pick(&["lsh", "rsh", "lsh32", "arsh32"])));
                }
                1 => {
                    push(format!("{} r2", rng.pick(&["neg", "neg32"])));
                    push(format!("{} r2, {}", rng.pick(&["and32", "and"]), rng.pick(&[15, 31, 0xff])));
                }
                _ => push("sub32 r2, 8".into()),
            }
            let cond = rng.pick(&["jsgt32", "jgt32", "jsge32", "jgt", "jsgt"]);
            push(format!("{cond} r2, {}, {}", 16 + off(rng, 3), l("end")));
            if cond.starts_with("js") && !rng.one_in(4) {
                push(format!("{} r2, 0, {}", rng.pick(&["jslt32", "jslt"]), l("end")));
            }
            read_at_r2(&mut push, &l("end"));
            "shift, neg, jmp32"
        }
        // A context field: valid, past the end, or misaligned.
        8 => {
            let at = rng.pick(&[0i64, 4, 8, 12, 16, 20, 24, 2, 1, 28]);
            let sz = if rng.one_in(3) { size.1 } else { "w" };
            push(format!("ldx{sz} r1, [r6+{at}]"));
            push("mov r9, r1".into());
            "ctx"
        }
        // A helper call with good or bad arguments.
        _ => {
            match rng.below(4) {
                0 => push("call 5".into()),
                1 => push("call 7".into()),
                2 => {
                    // An update whose value is on the stack, written or not.
                    push("stw [r10-4], 1".into());
                    if !rng.one_in(4) {
                        push("stdw [r10-16], 5".into());
                        push("stdw [r10-24], 6".into());
                    }
                    push("lddw r1, map_idx(0)".into());
                    push("mov r2, r10".into());
                    push("add r2, -4".into());
                    push("mov r3, r10".into());
                    push(format!("add r3, {}", -24 + off(rng, 4)));
                    push("mov r4, 0".into());
                    push("call 2".into());
                }
                _ => {
                    // A delete whose key pointer may not be a pointer at all.
                    push("stw [r10-4], 2".into());
                    push("lddw r1, map_idx(1)".into());
                    push(if rng.one_in(4) { "mov r2, 4".into() } else { "mov r2, r10".into() });
                    push("add r2, -4".into());
                    push("call 3".into());
                }
            }
            push("mov r9, r0".into());
            "helper"
        }
    };
    Snippet { kind, lines: v }
}
