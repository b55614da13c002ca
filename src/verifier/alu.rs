//! The transfer functions of the ALU instructions on register states: what `dst op= src`
//! makes of what is known of both, for an operation its checks ([`super::check`]:
//! `Readable`, `Writable`, `Arith`, `Number`) have allowed.
//!
//! Numbers compute in the scalar domain at the instruction's width (32-bit results are
//! zero-extended). A 64-bit `add` or `sub` of a number moves a pointer (its offset is a
//! scalar domain too); `sub` of two pointers into one region is a number. A result that
//! is not a pointer is always a fresh number, so no fact that depended on the old type
//! survives a type change.

use super::domain::bounds::Bounds;
use super::domain::scalar::{Scalar, Wide};
use super::domain::tnum::Tnum;
use super::domain::word::{Cond, Word};
use super::reg::{Kind, Reg, Region};
use crate::isa::{AluOp, EndKind, EndWidth, Source, SxWidth, Width};

/// `op` on two numbers at the width.
pub fn scalar_op(op: AluOp, w32: bool, a: Scalar<u64>, b: Scalar<u64>) -> Scalar<u64> {
    // Two known values: the ISA's own result (its executable semantics), exactly.
    let known = |x: &Scalar<u64>| if w32 { (x.low.var.mask == 0).then_some(x.low.var.value as u64) } else { (x.full.var.mask == 0).then_some(x.full.var.value) };
    if let (Some(x), Some(y)) = (known(&a), known(&b)) {
        return Scalar::konst(if w32 { crate::semantics::alu32(op, x, y) } else { crate::semantics::alu64(op, x, y) });
    }
    let (one, amount) = shift_amount(w32, b);
    number(op, w32, a, b, one.then_some(amount as u32))
}

/// The shift amount [`scalar_op`] gives [`number`]: whether `b` is one value at the
/// width (its tnum there has no unknown bit), and that value masked as the ISA masks a
/// shift amount. Generic over the word, so that the operator proofs (`smt::scalars`)
/// premise each shift by `n` on this very code: `(true, n)` for every member of `b`.
pub fn shift_amount<W: Wide>(w32: bool, b: Scalar<W>) -> (<W as Word>::C, W) {
    let (bits, t) = if w32 { (<W::Half as Word>::BITS, Tnum { value: W::zext(b.low.var.value), mask: W::zext(b.low.var.mask) }) } else { (W::BITS, b.full.var) };
    let mask = W::lit(bits as u64 - 1);
    let one = t.mask.eq(W::zero());
    if crate::verifier_bug!(ShiftUnknownAmountPrecise) {
        return (<W::C as Cond>::truth(true), W::select(one, t.value, b.full.umin).and(mask));
    }
    (one, t.value.and(mask))
}

/// `op` on two numbers at the width, in the abstract domain: `amount` is the shift
/// amount (already masked to the width) when `b` is one known value. Generic over the
/// word, so that the operator proofs (`smt::operators`) run this very code.
pub fn number<W: Wide>(op: AluOp, w32: bool, a: Scalar<W>, b: Scalar<W>, amount: Option<u32>) -> Scalar<W> {
    if w32 {
        return number32(op, a, b, amount);
    }
    match (op, amount) {
        (AluOp::Add, _) => a + b,
        (AluOp::Sub, _) => a - b,
        (AluOp::Mul, _) => a * b,
        (AluOp::Div, _) => a.udiv(b),
        (AluOp::Sdiv, _) => a.sdiv(b),
        (AluOp::Mod, _) => a.urem(b),
        (AluOp::Smod, _) => a.smod(b),
        (AluOp::Or, _) => a | b,
        (AluOp::And, _) => a & b,
        (AluOp::Xor, _) => a ^ b,
        (AluOp::Mov, _) => b,
        (AluOp::Lsh, Some(n)) => a << n,
        (AluOp::Rsh, Some(n)) => a >> n,
        (AluOp::Arsh, Some(n)) => a.sar(n),
        (AluOp::Lsh | AluOp::Rsh | AluOp::Arsh, None) => Scalar::unknown(),
    }
}

fn number32<W: Wide>(op: AluOp, a: Scalar<W>, b: Scalar<W>, amount: Option<u32>) -> Scalar<W> {
    match (op, amount) {
        (AluOp::Add, _) => a.alu32(b, |x, y| x + y),
        (AluOp::Sub, _) => a.alu32(b, |x, y| x - y),
        (AluOp::Mul, _) => a.alu32(b, |x, y| x * y),
        (AluOp::Div, _) => a.alu32(b, |x, y| x.udiv(y)),
        (AluOp::Mod, _) => a.alu32(b, |x, y| x.urem(y)),
        (AluOp::Sdiv | AluOp::Smod, _) => Scalar::unknown().zext_low(),
        (AluOp::Or, _) if crate::verifier_bug!(Or32BoundsFromMax) => a.alu32(b, |x, y| Bounds { umax: x.umax.umax_of(y.umax), ..(x | y) }),
        (AluOp::Or, _) => a.alu32(b, |x, y| x | y),
        (AluOp::And, _) => a.alu32(b, |x, y| x & y),
        (AluOp::Xor, _) => a.alu32(b, |x, y| x ^ y),
        (AluOp::Mov, _) => b.zext_low(),
        (AluOp::Lsh, Some(n)) => Scalar { low: a.low << n, ..a }.zext_low(),
        (AluOp::Rsh, Some(n)) => Scalar { low: a.low >> n, ..a }.zext_low(),
        (AluOp::Arsh, Some(n)) => Scalar { low: a.low.sar(n), ..a }.zext_low(),
        (AluOp::Lsh | AluOp::Rsh | AluOp::Arsh, None) => Scalar::unknown().zext_low(),
    }
}

/// A pointer's offset after `ptr + k` or `ptr - k` (the region's base is the same on
/// both sides, so the offset moves as a number does).
pub fn offset<W: Wide>(op: AluOp, off: Scalar<W>, k: Scalar<W>) -> Scalar<W> {
    if op == AluOp::Sub { off - k } else { off + k }
}

/// `-v` at the width (at 32 bits, of the low half, zero-extended).
pub fn negated<W: Wide>(w32: bool, v: Scalar<W>) -> Scalar<W> {
    if w32 && crate::verifier_bug!(Neg32KeepsLow) {
        return v.zext_low();
    }
    if w32 { Scalar { low: -v.low, ..v }.zext_low() } else { -v }
}

/// `(sN) v` at the width (`movsx`; at 32 bits, of the low half, zero-extended).
pub fn sign_extended<W: Wide>(w32: bool, bits: u32, v: Scalar<W>) -> Scalar<W> {
    if w32 {
        let shift = <W::Half as crate::verifier::domain::word::Word>::BITS - bits;
        Scalar { low: (v.low << shift).sar(shift), ..v }.zext_low()
    } else {
        v.sext_bits(bits)
    }
}

/// `le`/`be`/`bswap` of `bits` bits on a little-endian target.
pub fn swapped<W: Wide>(kind: EndKind, bits: u32, v: Scalar<W>) -> Scalar<W> {
    match kind {
        EndKind::Le => v.zext_bits(bits),
        _ => v.reverse_bytes(bits / 8),
    }
}

/// `dst = dst op src` (the immediate, or the register's value in `regs`).
pub fn alu(op: AluOp, width: Width, dst: Reg, src: Source, regs: &[Reg; 11]) -> Reg {
    let w32 = width == Width::W32;
    let s = match src {
        Source::Reg(r) => regs[r.index()],
        Source::Imm(i) => Reg::konst(crate::semantics::imm64(i)),
    };
    if op == AluOp::Mov {
        return if s.is_pointer() { s } else { Reg::scalar(scalar_op(op, w32, dst.value, s.value)) };
    }
    match (dst.is_pointer(), s.is_pointer()) {
        (false, false) => Reg::scalar(scalar_op(op, w32, dst.value, s.value)),
        (true, false) => moved(op, dst, s),
        (false, true) => moved(op, s, dst),
        (true, true) => difference(w32, dst, s),
    }
}

/// `ptr + number` or `ptr - number`.
fn moved(op: AluOp, p: Reg, k: Reg) -> Reg {
    let Kind::Ptr(region) = p.kind else { return Reg::unknown() };
    let off = offset(op, p.value, k.value);
    // A moved packet pointer has proven nothing yet about its own range (unless the
    // move is by a known amount within it, kept as the rest of the range).
    let range = match (region, k.constant(), op) {
        (Region::Packet | Region::PacketMeta, Some(c), AluOp::Add) if c <= p.range => p.range - c,
        (Region::Packet | Region::PacketMeta, _, _) => 0,
        _ => p.range,
    };
    // A move by a known amount keeps the id (the variable part is the same) and counts
    // the amount; any other move starts a new variable part (the caller gives its id).
    let (id, delta) = match k.constant() {
        Some(c) if op == AluOp::Add => (p.id, p.delta.wrapping_add(c as i64)),
        Some(c) => (p.id, p.delta.wrapping_sub(c as i64)),
        None => (0, 0),
    };
    Reg { kind: p.kind, value: off, id, range, delta }
}

/// `ptr - ptr` into one region: the distance, a number. Distances between packet
/// pointers (`data_end - data`, also at 32 bits) are some number.
fn difference(w32: bool, a: Reg, b: Reg) -> Reg {
    match (a.kind, b.kind) {
        (Kind::Ptr(x), Kind::Ptr(y)) if x.is_packet() && y.is_packet() && (w32 || x != y) => {
            if w32 { Reg::scalar(Scalar::unknown().zext_low()) } else { Reg::unknown() }
        }
        _ => Reg::scalar(a.value - b.value),
    }
}

/// `dst = -dst`.
pub fn neg(width: Width, dst: Reg) -> Reg {
    Reg::scalar(negated(width == Width::W32, dst.value))
}

/// `dst = (sN) src`: sign extension of the low `bits` bits (then, at 32 bits, of the low
/// half zero-extended).
pub fn movsx(width: Width, bits: SxWidth, src: Reg) -> Reg {
    Reg::scalar(sign_extended(width == Width::W32, bits.bits(), src.value))
}

/// Byte swaps and truncations (`le16`, `be32`, `bswap64`, …) on a little-endian target.
pub fn end(kind: EndKind, bits: EndWidth, dst: Reg) -> Reg {
    Reg::scalar(swapped(kind, bits.bits(), dst.value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::Reg as R;
    use crate::verifier::domain::bounds::Bounds;

    fn regs() -> [Reg; 11] {
        let mut r = [Reg::not_init(); 11];
        r[1] = Reg::ptr(Region::Ctx);
        r[10] = Reg::ptr(Region::Stack { frame: 0 });
        r
    }

    fn src(n: u8) -> Source {
        Source::Reg(R::new(n).unwrap())
    }

    #[test]
    fn numbers_compute_at_their_width() {
        let mut r = regs();
        r[2] = Reg::konst(0xffff_ffff);
        let v = alu(AluOp::Add, Width::W32, r[2], Source::Imm(1), &r);
        assert_eq!(v.constant(), Some(0), "32-bit wrap, zero-extended");
        let v = alu(AluOp::Add, Width::W64, r[2], Source::Imm(1), &r);
        assert_eq!(v.constant(), Some(0x1_0000_0000));
        r[3] = Reg::scalar(Scalar::of(Bounds::urange(0, 15)));
        let v = alu(AluOp::Lsh, Width::W64, r[3], Source::Imm(68), &r);
        assert_eq!((v.value.full.umin, v.value.full.umax), (0, 240), "the amount is masked to 4");
        let v = alu(AluOp::Mov, Width::W32, r[3], Source::Imm(-1), &r);
        assert_eq!(v.constant(), Some(0xffff_ffff));
        let v = movsx(Width::W64, SxWidth::S8, r[2]);
        assert_eq!(v.constant(), Some(u64::MAX));
        let v = end(EndKind::Be, EndWidth::B16, Reg::konst(0x1234));
        assert_eq!(v.constant(), Some(0x3412));
        // Division by a register that may be 0 is allowed: the ISA defines it.
        let v = alu(AluOp::Div, Width::W64, Reg::konst(10), src(3), &r);
        assert!(v.value.contains(0) && v.value.contains(10));
    }

    #[test]
    fn pointers_move_by_numbers() {
        let mut r = regs();
        r[2] = Reg::scalar(Scalar::of(Bounds::urange(0, 8)));
        let p = alu(AluOp::Add, Width::W64, r[1], src(2), &r);
        assert_eq!(p.kind, Kind::Ptr(Region::Ctx));
        assert_eq!((p.value.full.umin, p.value.full.umax), (0, 8));
        // number + pointer is a pointer too.
        let q = alu(AluOp::Add, Width::W64, r[2], src(1), &r);
        assert_eq!(q.kind, Kind::Ptr(Region::Ctx));
        let fp = alu(AluOp::Add, Width::W64, r[10], Source::Imm(-8), &r);
        assert_eq!(fp.to_string(), "fp-8");
    }

    #[test]
    fn pointer_differences_are_numbers_within_one_region() {
        let mut r = regs();
        r[2] = Reg::ptr_at(Region::Stack { frame: 0 }, -16);
        let d = alu(AluOp::Sub, Width::W64, r[2], src(10), &r);
        assert_eq!((d.kind, d.constant()), (Kind::Scalar, Some(-16i64 as u64)));
        // The packet's length is a number.
        let (end, data) = (Reg::ptr(Region::PacketEnd), Reg::ptr(Region::Packet));
        let mut q = r;
        q[3] = data;
        assert_eq!(alu(AluOp::Sub, Width::W64, end, src(3), &q).kind, Kind::Scalar);
    }

    #[test]
    fn packet_ranges_shrink_as_the_pointer_moves() {
        let r = regs();
        let p = Reg { range: 14, ..Reg::ptr(Region::Packet) };
        let q = alu(AluOp::Add, Width::W64, p, Source::Imm(4), &r);
        assert_eq!(q.range, 10);
        let q = alu(AluOp::Add, Width::W64, p, Source::Imm(20), &r);
        assert_eq!(q.range, 0);
        let q = alu(AluOp::Sub, Width::W64, p, Source::Imm(1), &r);
        assert_eq!(q.range, 0);
    }

    /// Every ALU operation at both widths against the interpreter's own definitions
    /// (src/semantics.rs) on random sets of 64-bit values: every concrete result lies in
    /// the abstract one.
    #[test]
    fn every_operation_is_sound_against_the_semantics() {
        use crate::isa::test_rng::Rng;
        let mut rng = Rng(0xa1u64);
        let pick = |rng: &mut Rng| {
            let base = rng.next();
            let spread = [1u64, 2, 64, 1 << 20, 1 << 40, u64::MAX][(rng.next() % 6) as usize];
            let xs: alloc::vec::Vec<u64> = (0..1 + rng.next() % 4).map(|_| base.wrapping_add(rng.next() % spread)).collect();
            (xs.iter().fold(Scalar::konst(xs[0]), |a, &x| a.join(Scalar::konst(x))), xs)
        };
        for _ in 0..3000 {
            let ((a, xs), (b, ys)) = (pick(&mut rng), pick(&mut rng));
            for op in AluOp::ALL {
                for w32 in [false, true] {
                    let r = scalar_op(op, w32, a, b);
                    for &x in &xs {
                        for &y in &ys {
                            let want = if w32 { crate::semantics::alu32(op, x, y) } else { crate::semantics::alu64(op, x, y) };
                            assert!(r.contains(want), "{op:?} w32={w32}: {a:?} {b:?} -> {r:?} misses {x:#x} op {y:#x} = {want:#x}");
                        }
                    }
                }
            }
        }
    }
}
