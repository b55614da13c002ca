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
//! reduction ([`Scalar::sync`]): each is proven alone (the reduction made the
//! identity), and composed with it (the composition is the reduction of the operator
//! alone, each step of which keeps every member), so that the reduction cannot mask an
//! unsound operator. Each query is about one part of one result ([`Part`]): so split,
//! z3 decides each in seconds.

use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;

use super::bpf::{alu_at, cond};
use super::domain::{bounds, first_failure, prove, without_reduction, Bv, Claim, Cnd, Outcome, Part, Term};
use crate::isa::{AluOp, EndKind, JmpCond};
use crate::verifier::alu;
use crate::verifier::domain::refine::{narrowed, refine};
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
    let part = |(low, part): (bool, Part)| {
        prove(|| {
            let (pre, results) = without_reduction(&make);
            let holds = results.iter().fold(Cnd::truth(true), |c, &(r, z)| c.and(if low { part.holds(r.low, z.low()) } else { part.holds(r.full, z) }));
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
    first_failure(parts().map(part).chain(core::iter::once_with(composed)))
}

/// Each part of a scalar: its width (the low half or not) and the part there.
fn parts() -> impl Iterator<Item = (bool, Part)> {
    [false, true].into_iter().flat_map(|low| Part::ALL.into_iter().map(move |p| (low, p)))
}

/// The two scalars are the same, part by part.
fn same<W: Wide>(a: Scalar<W>, b: Scalar<W>) -> W::C {
    same_bounds(a.full, b.full).and(same_bounds(a.low, b.low))
}

fn same_bounds<V: Word>(p: Bounds<V>, q: Bounds<V>) -> V::C {
    p.var.value.eq(q.var.value).and(p.var.mask.eq(q.var.mask)).and(p.umin.eq(q.umin)).and(p.umax.eq(q.umax)).and(p.smin.eq(q.smin)).and(p.smax.eq(q.smax))
}

/// `alu::number(op, w32, ..)` abstracts the ISA's `op` at the width, for every shift
/// amount when `op` shifts (premised on `alu::shift_amount`, the code `scalar_op` takes
/// the amount from, saying `b` is that one value: so the claim fails when it says so of
/// a `b` with other members) and for an unknown amount.
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
                // What `scalar_op` passes, by its own code: b is one value, n.
                let (one, m) = alu::shift_amount(w32, b);
                pre = pre.and(one).and(m.eq(W::lit(n as u64)));
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

/// Both branches of `if a <c> b` at the width keep every pair that takes them, proven
/// as a chain of claims about the code [`refine`] runs:
/// - alone: the narrowing at the compared width ([`narrowed`], on the full words for
///   JMP, on the halves for JMP32) keeps every pair that takes the branch, one query per
///   operand and part (tnum, ranges);
/// - composed: [`refine`] is exactly the narrowing, then the reduction at that width
///   ([`Bounds::sync`], the claim `bounds sync`), then the reduction between the widths
///   ([`Scalar::sync`], the claim `scalar sync`); the other width passes through.
///
/// Each step keeps every member, so the composition does.
fn branch<W: Wide + Term>(c: JmpCond, wide: bool) -> Outcome
where
    W::Half: Term,
{
    first_failure([true, false].into_iter().flat_map(move |taken| {
        let alone = move |(second, part): (bool, Part)| if wide { narrowing::<W>(c, taken, second, part) } else { narrowing::<W::Half>(c, taken, second, part) };
        let composed = move || {
            prove(|| {
                let ((a, _), (b, _)) = (scalar::<W>("a"), scalar::<W>("b"));
                let (ra, rb) = refine(c, wide, taken, a, b);
                let (ea, eb) = if wide {
                    let (x, y) = narrowed(c, taken, a.full, b.full);
                    (Scalar { full: x.sync(), ..a }.sync(), Scalar { full: y.sync(), ..b }.sync())
                } else {
                    let (x, y) = narrowed(c, taken, a.low, b.low);
                    (Scalar { low: x.sync(), ..a }.sync(), Scalar { low: y.sync(), ..b }.sync())
                };
                same(ra, ea).and(same(rb, eb))
            })
        };
        parts().map(alone).chain(core::iter::once_with(composed))
    }))
}

/// [`narrowed`] at `V` keeps every pair that takes the branch: one part of the first
/// operand, or of the `second`.
fn narrowing<V: Term>(c: JmpCond, taken: bool, second: bool, part: Part) -> Outcome {
    prove(|| {
        let ((a, wa), (b, wb)) = (bounds::<V>("a"), bounds::<V>("b"));
        let (x, y) = (V::symbol("x"), V::symbol("y"));
        let holds = Cnd::from_term(cond(c, &x.term(), &y.term()));
        let holds = if taken { holds } else { holds.not() };
        let (ra, rb) = narrowed(c, taken, a, b);
        let (r, z) = if second { (rb, y) } else { (ra, x) };
        wa.and(wb).and(a.contains(x)).and(b.contains(y)).and(holds).implies(part.holds(r, z))
    })
}

/// A part-wise operator (`join`, `widen`: each part of the result computed from the
/// same part of the operands alone) keeps every value of each operand, one query per
/// operand and part, each premised on that part only (a stronger claim, which z3
/// decides in a fraction of the time).
fn partwise<W: Wide + Term>(op: impl Fn(Scalar<W>, Scalar<W>) -> Scalar<W>, extra: impl Fn() -> Cnd) -> Outcome
where
    W::Half: Term,
{
    let each = [false, true].into_iter().flat_map(|second| parts().map(move |p| (second, p)));
    first_failure(each.map(|(second, (low, part))| {
        prove(|| {
            let ((a, wa), (b, wb)) = (scalar::<W>("old"), scalar::<W>("new"));
            let x = W::symbol("x");
            let r = op(a, b);
            let s = if second { b } else { a };
            let holds = |s: Scalar<W>| if low { part.holds(s.low, x.low()) } else { part.holds(s.full, x) };
            wa.and(wb).and(extra()).and(holds(s)).implies(holds(r))
        })
    }))
}

/// Step `k` of the reduction keeps every member in one part of the result.
fn reduction<W: Wide + Term>(k: usize, low: bool, part: Part) -> Outcome
where
    W::Half: Term,
{
    prove(|| {
        let (a, wa) = scalar::<W>("a");
        let x = W::symbol("x");
        let r = sync_steps::<W>()[k](a);
        wa.and(a.contains(x)).implies(if low { part.holds(r.low, x.low()) } else { part.holds(r.full, x) })
    })
}

/// The scalar claims for a full word `W` and its half: all of them (`all`), or only
/// the multiplication, division and remainder that z3 reaches at this width.
fn claims_at<W: Wide + Term + 'static>(out: &mut Vec<Claim>, all: bool)
where
    W::Half: Term,
{
    let (n, h) = (W::BITS, <W::Half as Word>::BITS);
    if all {
        // The reduction, one claim per step and part (the slowest of them takes a minute
        // at 64/32 bits; split so, they spread over the threads).
        for k in 0..sync_steps::<W>().len() {
            for (low, part) in parts() {
                let name = format!("scalar sync ({n}/{h} bits, step {}, {} {part:?})", k + 1, if low { "low" } else { "full" });
                out.push(Claim { name, operator: "sync", bits: n, prove: Box::new(move || reduction::<W>(k, low, part)) });
            }
        }
    }
    let mut add = |operator: &'static str, prove: Box<dyn Fn() -> Outcome + Send + Sync>| out.push(Claim { name: format!("scalar {operator} ({n}/{h} bits)"), operator, bits: n, prove });
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
    add("join", Box::new(|| partwise::<W>(|a, b| a.join(b), || Cnd::truth(true))));
    add("meet", Box::new(|| {
        sound::<W>(|| {
            let ((a, wa), (b, wb)) = (scalar::<W>("a"), scalar::<W>("b"));
            let x = W::symbol("x");
            (wa.and(wb).and(a.contains(x)).and(b.contains(x)), alloc::vec![(a.meet(b), x)])
        })
    }));
    add("widen", Box::new(|| {
        first_failure([0usize, 2].into_iter().map(|k| {
            // Thresholds as symbols (`k` of each kind, ascending; none for `widen`).
            // They are built inside each query: `prove` clears the arena first.
            let thresholds = move || {
                let sym = |p: &str| (0..k).map(|i| W::symbol(&format!("{p}{i}"))).collect::<Vec<W>>();
                let half = |p: &str| (0..k).map(|i| <W::Half as Term>::symbol(&format!("{p}{i}"))).collect::<Vec<W::Half>>();
                Thresholds { full_u: sym("fu"), full_s: sym("fs"), low_u: half("lu"), low_s: half("ls") }
            };
            let sorted = move || {
                let t = thresholds();
                (1..k).fold(Cnd::truth(true), |c, i| {
                    c.and(t.full_u[i - 1].ule(t.full_u[i])).and(t.full_s[i - 1].sle(t.full_s[i])).and(t.low_u[i - 1].ule(t.low_u[i])).and(t.low_s[i - 1].sle(t.low_s[i]))
                })
            };
            partwise::<W>(move |a, b| if k == 0 { a.widen(b) } else { a.widen_with(b, &thresholds()) }, sorted)
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
