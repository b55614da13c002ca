//! The trusted base pinned: the z3 model of BPF (src/smt/bpf.rs) evaluated on random
//! concrete values gives what src/semantics.rs (the interpreter's own definitions) gives,
//! 10^5 cases per operation class.
#![cfg(all(feature = "smt", feature = "cli"))]

use rayon::prelude::*;
use rvbpf::isa::{AluOp, EndKind, EndWidth, Insn, JmpCond, Reg, SxWidth, Width};
use rvbpf::semantics;
use rvbpf::smt::{bpf, Oracle};
use z3::ast::{Ast, BV};

const CASES: u64 = 100_000;

/// Mostly edge values (0, ±1, the sign bits, 32-bit boundaries), sometimes anything.
fn value(seed: u64) -> u64 {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 32;
    const EDGES: [u64; 12] = [0, 1, u64::MAX, 0x8000_0000, 0x7fff_ffff, 0xffff_ffff, 0x1_0000_0000, 1 << 63, (1 << 63) - 1, 0xffff_ffff_8000_0000, 63, 32];
    match x % 4 {
        0 => EDGES[(x >> 8) as usize % EDGES.len()].wrapping_add((x >> 20) % 3).wrapping_sub(1),
        1 => (x >> 8) % 70,
        _ => x,
    }
}

fn eval(v: &BV) -> u64 {
    v.simplify().as_u64().expect("a constant")
}

fn k(v: u64) -> BV {
    BV::from_u64(v, 64)
}

/// Runs `case` on CASES seeds across the cores; returns the failures.
fn cases(class: u64, case: impl Fn(u64, u64, u64) -> Option<String> + Sync) -> Vec<String> {
    (0..CASES).into_par_iter().filter_map(|i| case(i, value((class << 40) | (2 * i)), value((class << 40) | (2 * i + 1)))).collect()
}

fn check(class: &str, failures: Vec<String>) {
    assert!(failures.is_empty(), "{class}: {} of {CASES} differ, e.g. {}", failures.len(), failures[..failures.len().min(5)].join("; "));
}

/// The model's `op` against the interpreter's on every operation, 10^5 cases.
fn alu_class(class: &str, seed: u64, model: fn(AluOp, &BV, &BV) -> BV, oracle: fn(AluOp, u64, u64) -> u64) {
    check(class, cases(seed, |i, a, b| {
        let op = AluOp::ALL[i as usize % AluOp::ALL.len()];
        let (got, want) = (eval(&model(op, &k(a), &k(b))), oracle(op, a, b));
        (got != want).then(|| format!("{op:?} {a:#x} {b:#x}: model {got:#x}, semantics {want:#x}"))
    }));
}

#[test]
fn alu64_model_is_the_interpreter_semantics() {
    alu_class("alu64", 1, bpf::alu64, semantics::alu64);
}

#[test]
fn alu32_model_is_the_interpreter_semantics() {
    alu_class("alu32", 2, bpf::alu32, semantics::alu32);
}

#[test]
fn jump_conditions_are_the_interpreter_semantics() {
    check("jmp", cases(3, |i, a, b| {
        let c = JmpCond::ALL[i as usize % JmpCond::ALL.len()];
        let b = if i % 5 == 0 { a } else { b };
        let got64 = bpf::cond(c, &k(a), &k(b)).simplify().as_bool().unwrap();
        let got32 = bpf::cond(c, &k(a).extract(31, 0), &k(b).extract(31, 0)).simplify().as_bool().unwrap();
        let (want64, want32) = (semantics::cond64(c, a, b), semantics::cond32(c, a, b));
        (got64 != want64 || got32 != want32).then(|| format!("{c:?} {a:#x} {b:#x}: model {got64}/{got32}, semantics {want64}/{want32}"))
    }));
}

#[test]
fn byte_swaps_sign_extension_and_negation_are_the_interpreter_semantics() {
    check("end/movsx/neg", cases(4, |i, a, _| {
        let kinds = [EndKind::Le, EndKind::Be, EndKind::Swap];
        let widths = [EndWidth::B16, EndWidth::B32, EndWidth::B64];
        let (kind, bits) = (kinds[i as usize % 3], widths[(i / 3) as usize % 3]);
        let (g, w) = (eval(&bpf::end(kind, bits, &k(a))), semantics::end(kind, bits, a));
        if g != w {
            return Some(format!("{kind:?} {bits:?} {a:#x}: model {g:#x}, semantics {w:#x}"));
        }
        // Through the model's own step, as the checker uses it.
        let r = |v: u64| -> Vec<BV> { (0..11).map(|n| k(if n == 1 { v } else { 0 })).collect() };
        let r1 = Reg::new(1).unwrap();
        for width in [Width::W32, Width::W64] {
            let mut insns = vec![(Insn::Neg { width, dst: r1 }, semantics::neg(a, width == Width::W64))];
            for sx in [SxWidth::S8, SxWidth::S16, SxWidth::S32] {
                if width == Width::W64 || sx != SxWidth::S32 {
                    insns.push((Insn::MovSx { width, bits: sx, dst: r1, src: r1 }, semantics::movsx(a, sx, width == Width::W64)));
                }
            }
            for (insn, want) in insns {
                let step = bpf::step(&insn, 0, 1, &r(a), &k(0), &mut Oracle::default()).unwrap();
                let got = eval(&step.regs[1]);
                if got != want {
                    return Some(format!("{insn:?} {a:#x}: model {got:#x}, semantics {want:#x}"));
                }
            }
        }
        None
    }));
}

/// The per-shape proofs run the lowering with immediates as z3 terms (`smt::shapes::Sym`);
/// emission runs it with numbers (`repr::Concrete`). Each operation of the two, on the
/// same random values, agrees (10^5 cases): so the lowering the proofs evaluate is the
/// lowering that makes images.
#[test]
fn symbolic_immediates_compute_what_concrete_ones_do() {
    use rvbpf::jit::rv64::repr::{Concrete as C, Repr};
    use rvbpf::smt::shapes::{Sym as S, Term};
    let failures = cases(9, |i, a, b| {
        let (a, b) = (a as i64, b as i64);
        let (ta, tb) = (Term::new(k(a as u64)), Term::new(k(b as u64)));
        let v = |t: Term| eval(&t.get()) as i64;
        let c = |x: <S as Repr>::B| x.get().simplify().as_bool().expect("a constant");
        let n = (i % 64) as u32;
        let got = [
            v(S::sub(ta, tb)), v(S::sar(ta, n)), v(S::i12(ta)), v(S::i20(ta)), v(S::sh6(ta)), v(S::sh5(ta)), v(S::neg(ta)),
            c(S::same(ta, tb)) as i64, c(S::fits12(ta)) as i64, c(S::negative(ta)) as i64, c(S::and(S::fits12(ta), S::negative(tb))) as i64, c(S::or(S::fits12(ta), S::not(S::negative(tb)))) as i64,
        ];
        let want = [
            C::sub(a, b), C::sar(a, n), C::of12(C::i12(a)), C::i20(a).get() as i64, C::sh6(a).get() as i64, C::sh5(a).get() as i64, C::neg(a),
            C::same(a, b) as i64, C::fits12(a) as i64, C::negative(a) as i64, C::and(C::fits12(a), C::negative(b)) as i64, C::or(C::fits12(a), C::not(C::negative(b))) as i64,
        ];
        (got != want).then(|| format!("a = {a:#x}, b = {b:#x}, n = {n}: terms {got:x?}, numbers {want:x?}"))
    });
    check("symbolic immediates", failures);
}
