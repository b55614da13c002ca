//! The soundness claims of the verifier's scalar operators: a register's value at both
//! widths (`verifier::domain::scalar`), as the transfer functions apply them
//! (`verifier::alu`: the ALU at 64 and 32 bits, negation, sign extension, byte swaps,
//! pointer offsets), the reduction between the widths, join, meet, widening, and both
//! branches of every conditional jump at both widths (`verifier::domain::refine`).
//!
//! Each claim is about the code the verifier runs, instantiated with z3 words: a full
//! word and its half, (64, 32) where z3 reaches it, and (16, 8) and (8, 4) for the
//! same generic code where it does not (multiplication, division and remainder; the
//! widths are said in each claim's name). Every scalar operator ends in the 32↔64
//! reduction ([`Scalar::sync`]), so these claims are the operators composed with the
//! reduction; the bounds claims ([`super::operators`]) prove the same operators alone.

use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;

use super::bpf::{alu_at, cond};
use super::domain::{bounds, first_failure, in_ranges, prove, without_reduction, Bv, Claim, Cnd, Outcome, Term};
use crate::isa::{AluOp, EndKind, JmpCond};
use crate::verifier::alu;
use crate::verifier::domain::refine::refine;
use crate::verifier::domain::bounds::Bounds;
use crate::verifier::domain::scalar::{sync_steps, Scalar, Thresholds, Wide};
use crate::verifier::domain::word::{Cond, Word};

/// A fresh scalar (full and low bounds, symbols `{name}.full.*`, `{name}.low.*`) and
/// the condition that both parts are well-formed.
fn scalar<W: Wide + Term>(name: &str) -> (Scalar<W>, Cnd)
where
    W::Half: Term,
{
    let (full, wf) = bounds::<W>(&format!("{name}.full"));
    let (low, wl) = bounds::<W::Half>(&format!("{name}.low"));
    (Scalar { full, low }, wf.and(wl))
}

/// The result's parts are well-formed tnums (ranges may be empty: a branch not taken).
fn formed<W: Wide>(s: Scalar<W>) -> W::C {
    s.full.var.well_formed().and(s.low.var.well_formed())
}

/// `op` at the full width, as the ISA defines it.
fn full_op<W: Term>(op: AluOp, x: W, y: W) -> W {
    W::from_term(alu_at(op, &x.term(), &y.term(), W::BITS))
}

/// `op` on the low halves, zero-extended: the ISA's 32-bit ALU.
fn half_op<W: Wide + Term>(op: AluOp, x: W, y: W) -> W
where
    W::Half: Term,
{
    W::zext(full_op(op, x.low(), y.low()))
}

/// What a claim is about: the premise on the symbolic operands, and each abstract
/// result with the concrete value it must hold.
type Made<W> = (Cnd, Vec<(Scalar<W>, W)>);

/// The claim that an operator is sound, as three kinds of queries on the same code
/// (`make` builds the operands, the premise and the results):
/// - alone (the reduction [`Scalar::sync`] made the identity): each part of each result
///   (the full tnum, the full ranges, the low tnum, the low ranges) holds its value;
/// - composed: the operator with its reduction is exactly the reduction of the operator
///   alone, or the operator alone when it does not reduce (so, with the reduction's own
///   claim, the composition is sound: each of its steps keeps every member);
/// - the reduction: `scalar sync`, its own claim.
fn sound<W: Wide + Term>(make: impl Fn() -> Made<W>) -> Outcome
where
    W::Half: Term,
{
    let part = |k: usize| {
        prove(|| {
            let (pre, results) = without_reduction(&make);
            let holds = results.iter().fold(Cnd::truth(true), |c, &(r, z)| {
                c.and(match k {
                    0 => r.full.var.well_formed().and(r.full.var.contains(z)),
                    1 => in_ranges(r.full, z),
                    2 => r.low.var.well_formed().and(r.low.var.contains(z.low())),
                    _ => in_ranges(r.low, z.low()),
                })
            });
            pre.implies(holds)
        })
    };
    let composed = || {
        prove(|| {
            let (_, with) = make();
            let (_, alone) = without_reduction(&make);
            // An operator that does not reduce (a move, a join) is the operator alone.
            with.iter().zip(&alone).fold(Cnd::truth(true), |c, (&(r, _), &(q, _))| c.and(same(r, q).or(same(r, q.sync()))))
        })
    };
    first_failure((0..4).map(part).chain([composed()]))
}

/// The two scalars are the same, part by part.
fn same<W: Wide>(a: Scalar<W>, b: Scalar<W>) -> W::C {
    same_bounds(a.full, b.full).and(same_bounds(a.low, b.low))
}

fn same_bounds<V: Word>(p: Bounds<V>, q: Bounds<V>) -> V::C {
    p.var.value.eq(q.var.value).and(p.var.mask.eq(q.var.mask)).and(p.umin.eq(q.umin)).and(p.umax.eq(q.umax)).and(p.smin.eq(q.smin)).and(p.smax.eq(q.smax))
}

/// `alu::number(op, w32, ..)` abstracts the ISA's `op` at the width, for every shift
/// amount when `op` shifts (the amount is `b`'s one value, masked as the ISA masks it)
/// and for an unknown amount.
fn alu<W: Wide + Term>(op: AluOp, w32: bool) -> Outcome
where
    W::Half: Term,
{
    let shifts = matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh);
    let bits = if w32 { <W::Half as Word>::BITS } else { W::BITS };
    let amounts: Vec<Option<u32>> = if shifts { (0..bits).map(Some).chain([None]).collect() } else { alloc::vec![None] };
    first_failure(amounts.into_iter().map(|amount| {
        sound::<W>(|| {
            let ((a, wa), (b, wb)) = (scalar::<W>("a"), scalar::<W>("b"));
            let (x, y) = (W::symbol("x"), W::symbol("y"));
            let mut pre = wa.and(wb).and(a.contains(x)).and(b.contains(y));
            if let Some(n) = amount {
                // What `scalar_op` passes: b is one value and n is it, masked.
                let one = if w32 { b.low.var.mask.eq(<W::Half as Word>::zero()) } else { b.full.var.mask.eq(W::zero()) };
                pre = pre.and(one).and(y.and(W::lit(bits as u64 - 1)).eq(W::lit(n as u64)));
            }
            let z = if w32 { half_op(op, x, y) } else { full_op(op, x, y) };
            (pre, alloc::vec![(alu::number(op, w32, a, b, amount), z)])
        })
    }))
}

/// A unary scalar operator `abs` abstracts `conc`.
fn unary<W: Wide + Term>(abs: impl Fn(Scalar<W>) -> Scalar<W>, conc: impl Fn(W) -> W) -> Outcome
where
    W::Half: Term,
{
    sound::<W>(|| {
        let (a, wa) = scalar::<W>("a");
        let x = W::symbol("x");
        (wa.and(a.contains(x)), alloc::vec![(abs(a), conc(x))])
    })
}

/// The low `bits` bits of `x` sign-extended to the full width.
fn sext<W: Word>(x: W, bits: u32) -> W {
    x.shl(W::BITS - bits).sar(W::BITS - bits)
}

/// Both branches of `if a <c> b` at the width keep every pair that takes them.
fn branch<W: Wide + Term>(c: JmpCond, wide: bool) -> Outcome
where
    W::Half: Term,
{
    first_failure([true, false].into_iter().map(|taken| {
        sound::<W>(|| {
            let ((a, wa), (b, wb)) = (scalar::<W>("a"), scalar::<W>("b"));
            let (x, y) = (W::symbol("x"), W::symbol("y"));
            let holds = if wide { cond(c, &x.term(), &y.term()) } else { cond(c, &x.low().term(), &y.low().term()) };
            let holds = Cnd::from_term(if taken { holds } else { holds.not() });
            let (ra, rb) = refine(c, wide, taken, a, b);
            (wa.and(wb).and(a.contains(x)).and(b.contains(y)).and(holds), alloc::vec![(ra, x), (rb, y)])
        })
    }))
}

/// Each step of the reduction keeps every member.
fn reduction<W: Wide + Term>() -> Outcome
where
    W::Half: Term,
{
    first_failure(sync_steps::<W>().into_iter().map(|step| {
        prove(|| {
            let (a, wa) = scalar::<W>("a");
            let x = W::symbol("x");
            let r = step(a);
            wa.and(a.contains(x)).implies(formed(r).and(r.contains(x)))
        })
    }))
}

/// The scalar claims for a full word `W` and its half: all of them (`all`), or only
/// the multiplication, division and remainder that z3 reaches at this width.
fn claims_at<W: Wide + Term + 'static>(out: &mut Vec<Claim>, all: bool)
where
    W::Half: Term,
{
    let (n, h) = (W::BITS, <W::Half as Word>::BITS);
    // The test command proves the claims at 64/32 bits that z3 decides within seconds;
    // the others (each a minute or more) are for `rvbpf prove --verifier`.
    let slow = ["sync", "pointer offset", "meet", "join", "widen", "alu64 add", "alu64 sub", "alu32 sub"];
    let ci = |operator: &str| n == 64 && !slow.contains(&operator) && !operator.starts_with('j');
    let mut add = |operator: &'static str, prove: Box<dyn Fn() -> Outcome + Send + Sync>| out.push(Claim { name: format!("scalar {operator} ({n}/{h} bits)"), operator, bits: n, ci: ci(operator), prove });
    use AluOp::*;
    // The operations z3 reaches at every width, and those it reaches only when small.
    let light = [(Add, "alu64 add", "alu32 add"), (Sub, "alu64 sub", "alu32 sub"), (And, "alu64 and", "alu32 and"), (Or, "alu64 or", "alu32 or"), (Xor, "alu64 xor", "alu32 xor"), (Mov, "alu64 mov", "alu32 mov"), (Sdiv, "alu64 sdiv", "alu32 sdiv"), (Smod, "alu64 smod", "alu32 smod"), (Lsh, "alu64 lsh", "alu32 lsh"), (Rsh, "alu64 rsh", "alu32 rsh"), (Arsh, "alu64 arsh", "alu32 arsh")];
    let dear = [(Mul, "alu64 mul", "alu32 mul"), (Div, "alu64 div", "alu32 div"), (Mod, "alu64 mod", "alu32 mod")];
    for (op, at64, at32) in dear {
        // The full-width operation only on the smallest pair; the half one where the
        // half is 8 bits or less.
        if n <= 8 {
            add(at64, Box::new(move || alu::<W>(op, false)));
        }
        if h <= 8 {
            add(at32, Box::new(move || alu::<W>(op, true)));
        }
    }
    if !all {
        return;
    }
    for (op, at64, at32) in light {
        add(at64, Box::new(move || alu::<W>(op, false)));
        add(at32, Box::new(move || alu::<W>(op, true)));
    }
    add("neg64", Box::new(|| unary::<W>(|a| alu::negated(false, a), |x| x.neg())));
    add("neg32", Box::new(|| unary::<W>(|a| alu::negated(true, a), |x| W::zext(x.low().neg()))));
    add("movsx64", Box::new(move || first_failure([8, 16, 32].into_iter().filter(|&b| b < n).map(|b| unary::<W>(move |a| alu::sign_extended(false, b, a), move |x| sext(x, b))))));
    add("movsx32", Box::new(move || first_failure([8, 16].into_iter().filter(|&b| b < h).map(|b| unary::<W>(move |a| alu::sign_extended(true, b, a), move |x| W::zext(sext(x.low(), b)))))));
    add("end", Box::new(move || {
        let sizes = move || [16, 32, 64].into_iter().filter(move |&b| b <= n);
        let le = sizes().map(|b| unary::<W>(move |a| alu::swapped(EndKind::Le, b, a), move |x| if b == n { x } else { x.and(W::lit((1u64 << b) - 1)) }));
        let be = sizes().map(|b| unary::<W>(move |a| alu::swapped(EndKind::Be, b, a), move |x| x.reverse_bytes(b / 8)));
        first_failure(le.chain(be))
    }));
    add("sext_low", Box::new(|| unary::<W>(|a| a.sext_low(), |x| W::sext(x.low()))));
    add("zext_low", Box::new(|| unary::<W>(|a| a.zext_low(), |x| W::zext(x.low()))));
    add("sync", Box::new(reduction::<W>));
    // A pointer's offset: the address `base + off` moved by `k` is `base` plus the new
    // offset, for every base.
    add("pointer offset", Box::new(|| {
        first_failure([Add, Sub].into_iter().map(|op| {
            sound::<W>(|| {
                let ((o, wo), (k, wk)) = (scalar::<W>("off"), scalar::<W>("k"));
                let (base, x, y) = (W::symbol("base"), W::symbol("x"), W::symbol("y"));
                let moved = full_op(op, base.add(x), y);
                (wo.and(wk).and(o.contains(x)).and(k.contains(y)), alloc::vec![(alu::offset(op, o, k), moved.sub(base))])
            })
        }))
    }));
    add("join", Box::new(|| {
        prove(|| {
            let ((a, wa), (b, wb)) = (scalar::<W>("a"), scalar::<W>("b"));
            let x = W::symbol("x");
            let j = a.join(b);
            wa.and(wb).and(a.contains(x).or(b.contains(x))).implies(formed(j).and(j.contains(x)))
        })
    }));
    add("meet", Box::new(|| {
        sound::<W>(|| {
            let ((a, wa), (b, wb)) = (scalar::<W>("a"), scalar::<W>("b"));
            let x = W::symbol("x");
            (wa.and(wb).and(a.contains(x)).and(b.contains(x)), alloc::vec![(a.meet(b), x)])
        })
    }));
    add("widen", Box::new(|| {
        first_failure([0usize, 2].into_iter().map(|k| {
            prove(|| {
                let ((a, wa), (b, wb)) = (scalar::<W>("old"), scalar::<W>("new"));
                let x = W::symbol("x");
                let sym = |p: &str| (0..k).map(|i| W::symbol(&format!("{p}{i}"))).collect::<Vec<W>>();
                let half = |p: &str| (0..k).map(|i| <W::Half as Term>::symbol(&format!("{p}{i}"))).collect::<Vec<W::Half>>();
                let t = Thresholds { full_u: sym("fu"), full_s: sym("fs"), low_u: half("lu"), low_s: half("ls") };
                let sorted = (1..k).fold(Cnd::truth(true), |c, i| {
                    c.and(t.full_u[i - 1].ule(t.full_u[i])).and(t.full_s[i - 1].sle(t.full_s[i])).and(t.low_u[i - 1].ule(t.low_u[i])).and(t.low_s[i - 1].sle(t.low_s[i]))
                });
                let w = if k == 0 { a.widen(b) } else { a.widen_with(b, &t) };
                wa.and(wb).and(sorted).and(a.contains(x).or(b.contains(x))).implies(formed(w).and(w.contains(x)))
            })
        }))
    }));
    for c in JmpCond::ALL {
        add(jmp_name(c, true), Box::new(move || branch::<W>(c, true)));
        add(jmp_name(c, false), Box::new(move || branch::<W>(c, false)));
    }
}

/// The operator name of a branch refinement.
fn jmp_name(c: JmpCond, wide: bool) -> &'static str {
    use JmpCond::*;
    macro_rules! names {
        ($($c:ident: $w:literal $n:literal,)*) => {
            match (c, wide) { $(($c, true) => $w, ($c, false) => $n,)* }
        };
    }
    names! {
        Eq: "jeq" "jeq32", Ne: "jne" "jne32", Gt: "jgt" "jgt32", Ge: "jge" "jge32", Lt: "jlt" "jlt32", Le: "jle" "jle32",
        Sgt: "jsgt" "jsgt32", Sge: "jsge" "jsge32", Slt: "jslt" "jslt32", Sle: "jsle" "jsle32", Set: "jset" "jset32",
    }
}

/// Every scalar claim.
pub fn claims(out: &mut Vec<Claim>) {
    claims_at::<Bv<64>>(out, true);
    claims_at::<Bv<16>>(out, true);
    claims_at::<Bv<8>>(out, true);
}
