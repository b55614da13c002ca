//! The transfer functions of the ALU instructions on register states: what `dst op= src`
//! makes of what is known of both, and which operations on pointers are refused.
//!
//! Numbers compute in the scalar domain at the instruction's width (32-bit results are
//! zero-extended). Pointers follow the kernel's rules: a 64-bit `add` or `sub` of a number
//! moves a pointer (its offset is a scalar domain too), `sub` of two pointers into the
//! same region is a number, and nothing else may touch a pointer: not a 32-bit operation
//! (PREVAIL v0.2.4: a 32-bit add of a pointer must not yield a usable pointer), not a
//! bitwise one, not `mul`; a pointer that may be null must be checked first. A result
//! that is not a pointer is always a fresh number, so no fact that depended on the old
//! type survives a type change.

use alloc::format;
use alloc::string::String;

use super::domain::scalar::Scalar;
use super::reg::{Kind, Reg, Region};
use crate::isa::{AluOp, EndKind, EndWidth, Source, SxWidth, Width};

/// Why an ALU instruction is refused. Messages follow the kernel's log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AluError {
    #[error("R{0} !read_ok")]
    NotInit(u8),
    #[error("R{0} has different types on the paths that reach here")]
    Mixed(u8),
    #[error("frame pointer is read only")]
    FramePointer,
    #[error("R{reg} pointer arithmetic on {what} prohibited{hint}")]
    PointerArith { reg: u8, what: String, hint: &'static str },
    #[error("R{reg} {width}-bit pointer arithmetic prohibited")]
    Narrow { reg: u8, width: u32 },
    #[error("R{reg} {op} on pointer prohibited")]
    PointerOp { reg: u8, op: &'static str },
    #[error("R{dst} tried to add from different pointers or scalars")]
    TwoPointers { dst: u8 },
    #[error("R{dst} tried to subtract pointers into different regions")]
    DifferentRegions { dst: u8 },
}

fn name(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "add",
        AluOp::Sub => "sub",
        AluOp::Mul => "mul",
        AluOp::Div => "div",
        AluOp::Sdiv => "sdiv",
        AluOp::Or => "bitwise operator |=",
        AluOp::And => "bitwise operator &=",
        AluOp::Lsh => "shift <<=",
        AluOp::Rsh => "shift >>=",
        AluOp::Mod => "mod",
        AluOp::Smod => "smod",
        AluOp::Xor => "bitwise operator ^=",
        AluOp::Mov => "mov",
        AluOp::Arsh => "shift s>>=",
    }
}

/// A register that may be read: initialised and of one type.
pub fn readable(r: &Reg, n: u8) -> Result<(), AluError> {
    match r.kind {
        Kind::NotInit => Err(AluError::NotInit(n)),
        Kind::Mixed => Err(AluError::Mixed(n)),
        _ => Ok(()),
    }
}

/// `op` on two numbers at the width.
pub fn scalar_op(op: AluOp, w32: bool, a: Scalar<u64>, b: Scalar<u64>) -> Scalar<u64> {
    // Two known values: the ISA's own result (its executable semantics), exactly.
    let known = |x: &Scalar<u64>| if w32 { (x.low.var.mask == 0).then_some(x.low.var.value as u64) } else { (x.full.var.mask == 0).then_some(x.full.var.value) };
    if let (Some(x), Some(y)) = (known(&a), known(&b)) {
        return Scalar::konst(if w32 { crate::semantics::alu32(op, x, y) } else { crate::semantics::alu64(op, x, y) });
    }
    if w32 {
        return scalar_op32(op, a, b);
    }
    // Shift amounts are masked (the ISA); only a known amount gives known bits.
    let known = b.full.var.mask == 0;
    let shift = b.full.var.value as u32 & 63;
    match op {
        AluOp::Add => a + b,
        AluOp::Sub => a - b,
        AluOp::Mul => a * b,
        AluOp::Div => a.udiv(b),
        AluOp::Sdiv => a.sdiv(b),
        AluOp::Mod => a.urem(b),
        AluOp::Smod => a.smod(b),
        AluOp::Or => a | b,
        AluOp::And => a & b,
        AluOp::Xor => a ^ b,
        AluOp::Mov => b,
        AluOp::Lsh if known => a << shift,
        AluOp::Rsh if known => a >> shift,
        AluOp::Arsh if known => a.sar(shift),
        AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => Scalar::unknown(),
    }
}

fn scalar_op32(op: AluOp, a: Scalar<u64>, b: Scalar<u64>) -> Scalar<u64> {
    let known = b.low.var.mask == 0;
    let shift = b.low.var.value & 31;
    match op {
        AluOp::Add => a.alu32(b, |x, y| x + y),
        AluOp::Sub => a.alu32(b, |x, y| x - y),
        AluOp::Mul => a.alu32(b, |x, y| x * y),
        AluOp::Div => a.alu32(b, |x, y| x.udiv(y)),
        AluOp::Mod => a.alu32(b, |x, y| x.urem(y)),
        AluOp::Sdiv | AluOp::Smod => Scalar::unknown().zext_low(),
        AluOp::Or => a.alu32(b, |x, y| x | y),
        AluOp::And => a.alu32(b, |x, y| x & y),
        AluOp::Xor => a.alu32(b, |x, y| x ^ y),
        AluOp::Mov => b.zext_low(),
        AluOp::Lsh if known => Scalar { low: a.low << shift, ..a }.zext_low(),
        AluOp::Rsh if known => Scalar { low: a.low >> shift, ..a }.zext_low(),
        AluOp::Arsh if known => Scalar { low: a.low.sar(shift), ..a }.zext_low(),
        AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => Scalar::unknown().zext_low(),
    }
}

/// `dst = dst op src` (registers numbered `d` and `s`, or the immediate).
pub fn alu(op: AluOp, width: Width, d: u8, dst: Reg, src: Source, regs: &[Reg; 11]) -> Result<Reg, AluError> {
    let w32 = width == Width::W32;
    let (s_reg, s) = match src {
        Source::Reg(r) => (Some(r.index() as u8), regs[r.index()]),
        Source::Imm(i) => (None, Reg::konst(crate::semantics::imm64(i))),
    };
    if let Some(n) = s_reg {
        readable(&s, n)?;
    }
    if d == 10 {
        return Err(AluError::FramePointer);
    }
    if op == AluOp::Mov {
        return match (s.is_pointer(), w32) {
            (true, true) => Err(AluError::Narrow { reg: s_reg.unwrap_or(0), width: 32 }),
            (true, false) => Ok(s),
            (false, _) => Ok(Reg::scalar(scalar_op(op, w32, dst.value, s.value))),
        };
    }
    readable(&dst, d)?;
    match (dst.is_pointer(), s.is_pointer()) {
        (false, false) => Ok(Reg::scalar(scalar_op(op, w32, dst.value, s.value))),
        (true, false) => pointer_arith(op, w32, d, dst, s),
        (false, true) if op == AluOp::Add && !w32 => pointer_arith(op, w32, s_reg.unwrap_or(0), s, dst),
        (false, true) => Err(AluError::PointerOp { reg: s_reg.unwrap_or(0), op: name(op) }),
        (true, true) => pointer_diff(op, w32, d, dst, s),
    }
}

/// `ptr op number` for the pointer in register `n`.
fn pointer_arith(op: AluOp, w32: bool, n: u8, p: Reg, k: Reg) -> Result<Reg, AluError> {
    let region = match p.kind {
        Kind::Ptr(r) => r,
        Kind::PtrOrNull(r) => return Err(AluError::PointerArith { reg: n, what: format!("{}_or_null", r.name()), hint: ", null-check it first" }),
        _ => unreachable!("called with a pointer"),
    };
    if w32 {
        return Err(AluError::Narrow { reg: n, width: 32 });
    }
    if matches!(region, Region::MapPtr { .. } | Region::PacketEnd) {
        return Err(AluError::PointerArith { reg: n, what: String::from(region.name()), hint: "" });
    }
    let off = match op {
        AluOp::Add => p.value + k.value,
        AluOp::Sub => p.value - k.value,
        _ => return Err(AluError::PointerOp { reg: n, op: name(op) }),
    };
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
    Ok(Reg { kind: p.kind, value: off, id, range, delta })
}

/// `ptr - ptr`: a number when both point into the same region; nothing else.
fn pointer_diff(op: AluOp, w32: bool, d: u8, a: Reg, b: Reg) -> Result<Reg, AluError> {
    let packet = |r: Region| matches!(r, Region::Packet | Region::PacketEnd | Region::PacketMeta);
    if let (AluOp::Sub, Kind::Ptr(x), Kind::Ptr(y)) = (op, a.kind, b.kind) {
        // Distances inside the packet (`data_end - data`: its length, at either width:
        // clang subtracts xdp_md's 32-bit fields with `w8 -= w1`) tell no address.
        if packet(x) && packet(y) && (w32 || x != y) {
            return Ok(if w32 { Reg::scalar(Scalar::unknown().zext_low()) } else { Reg::unknown() });
        }
    }
    if op != AluOp::Sub || w32 {
        return Err(match op {
            AluOp::Add => AluError::TwoPointers { dst: d },
            _ => AluError::PointerOp { reg: d, op: name(op) },
        });
    }
    match (a.kind, b.kind) {
        (Kind::Ptr(x), Kind::Ptr(y)) if x == y && x != Region::PacketEnd => Ok(Reg::scalar(a.value - b.value)),
        _ => Err(AluError::DifferentRegions { dst: d }),
    }
}

/// `dst = -dst`.
pub fn neg(width: Width, d: u8, dst: Reg) -> Result<Reg, AluError> {
    readable(&dst, d)?;
    if dst.is_pointer() {
        return Err(AluError::PointerOp { reg: d, op: "neg" });
    }
    let v = -dst.value;
    Ok(Reg::scalar(if width == Width::W32 { v.zext_low() } else { v }))
}

/// `dst = (sN) src`: sign extension of the low `bits` bits (then, at 32 bits, of the low
/// half zero-extended).
pub fn movsx(width: Width, bits: SxWidth, d: u8, s: u8, src: Reg) -> Result<Reg, AluError> {
    readable(&src, s)?;
    if d == 10 {
        return Err(AluError::FramePointer);
    }
    if src.is_pointer() {
        return Err(AluError::PointerOp { reg: s, op: "sign extension" });
    }
    let v = src.value.sext_bits(bits.bits());
    Ok(Reg::scalar(if width == Width::W32 { v.zext_low() } else { v }))
}

/// Byte swaps and truncations (`le16`, `be32`, `bswap64`, …) on a little-endian target.
pub fn end(kind: EndKind, bits: EndWidth, d: u8, dst: Reg) -> Result<Reg, AluError> {
    readable(&dst, d)?;
    if dst.is_pointer() {
        return Err(AluError::PointerOp { reg: d, op: "byte swap" });
    }
    let n = bits.bits();
    Ok(Reg::scalar(match kind {
        EndKind::Le => dst.value.zext_bits(n),
        _ => dst.value.reverse_bytes(n / 8),
    }))
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
        let v = alu(AluOp::Add, Width::W32, 2, r[2], Source::Imm(1), &r).unwrap();
        assert_eq!(v.constant(), Some(0), "32-bit wrap, zero-extended");
        let v = alu(AluOp::Add, Width::W64, 2, r[2], Source::Imm(1), &r).unwrap();
        assert_eq!(v.constant(), Some(0x1_0000_0000));
        r[3] = Reg::scalar(Scalar::of(Bounds::urange(0, 15)));
        let v = alu(AluOp::Lsh, Width::W64, 3, r[3], Source::Imm(68), &r).unwrap();
        assert_eq!((v.value.full.umin, v.value.full.umax), (0, 240), "the amount is masked to 4");
        let v = alu(AluOp::Mov, Width::W32, 3, r[3], Source::Imm(-1), &r).unwrap();
        assert_eq!(v.constant(), Some(0xffff_ffff));
        let v = movsx(Width::W64, SxWidth::S8, 4, 2, r[2]).unwrap();
        assert_eq!(v.constant(), Some(u64::MAX));
        let v = end(EndKind::Be, EndWidth::B16, 2, Reg::konst(0x1234)).unwrap();
        assert_eq!(v.constant(), Some(0x3412));
        // Division by a register that may be 0 is allowed: the ISA defines it.
        let v = alu(AluOp::Div, Width::W64, 2, Reg::konst(10), src(3), &r).unwrap();
        assert!(v.value.contains(0) && v.value.contains(10));
    }

    #[test]
    fn pointers_move_by_numbers_only() {
        let mut r = regs();
        r[2] = Reg::scalar(Scalar::of(Bounds::urange(0, 8)));
        let p = alu(AluOp::Add, Width::W64, 1, r[1], src(2), &r).unwrap();
        assert_eq!(p.kind, Kind::Ptr(Region::Ctx));
        assert_eq!((p.value.full.umin, p.value.full.umax), (0, 8));
        // number + pointer is a pointer too.
        let q = alu(AluOp::Add, Width::W64, 2, r[2], src(1), &r).unwrap();
        assert_eq!(q.kind, Kind::Ptr(Region::Ctx));
        let fp = alu(AluOp::Add, Width::W64, 3, r[10], Source::Imm(-8), &r).unwrap();
        assert_eq!(fp.to_string(), "fp-8");
        assert_eq!(alu(AluOp::Add, Width::W32, 1, r[1], Source::Imm(4), &r), Err(AluError::Narrow { reg: 1, width: 32 }));
        assert_eq!(alu(AluOp::And, Width::W64, 1, r[1], Source::Imm(4), &r), Err(AluError::PointerOp { reg: 1, op: "bitwise operator &=" }));
        assert_eq!(alu(AluOp::Mov, Width::W32, 3, r[3], src(1), &r), Err(AluError::Narrow { reg: 1, width: 32 }));
        assert_eq!(alu(AluOp::Add, Width::W64, 10, r[10], Source::Imm(8), &r), Err(AluError::FramePointer));
        let null = Reg { kind: Kind::PtrOrNull(Region::MapValue { map: 0 }), ..Reg::ptr(Region::Ctx) };
        assert_eq!(alu(AluOp::Add, Width::W64, 4, null, Source::Imm(4), &r).unwrap_err().to_string(), "R4 pointer arithmetic on map_value_or_null prohibited, null-check it first");
        let end = Reg::ptr(Region::PacketEnd);
        assert!(alu(AluOp::Sub, Width::W64, 4, end, Source::Imm(4), &r).is_err());
    }

    #[test]
    fn pointer_differences_are_numbers_within_one_region() {
        let mut r = regs();
        r[2] = Reg::ptr_at(Region::Stack { frame: 0 }, -16);
        let d = alu(AluOp::Sub, Width::W64, 10, r[10], src(2), &r);
        assert_eq!(d, Err(AluError::FramePointer));
        let d = alu(AluOp::Sub, Width::W64, 2, r[2], src(10), &r).unwrap();
        assert_eq!((d.kind, d.constant()), (Kind::Scalar, Some(-16i64 as u64)));
        assert_eq!(alu(AluOp::Sub, Width::W64, 2, r[2], src(1), &r), Err(AluError::DifferentRegions { dst: 2 }));
        // The packet's length is a number.
        let (end, data) = (Reg::ptr(Region::PacketEnd), Reg::ptr(Region::Packet));
        let mut q = r;
        q[3] = data;
        assert_eq!(alu(AluOp::Sub, Width::W64, 2, end, src(3), &q).map(|x| x.kind), Ok(Kind::Scalar));
        assert_eq!(alu(AluOp::Add, Width::W64, 2, r[2], src(1), &r), Err(AluError::TwoPointers { dst: 2 }));
    }

    #[test]
    fn packet_ranges_shrink_as_the_pointer_moves() {
        let r = regs();
        let p = Reg { range: 14, ..Reg::ptr(Region::Packet) };
        let q = alu(AluOp::Add, Width::W64, 2, p, Source::Imm(4), &r).unwrap();
        assert_eq!(q.range, 10);
        let q = alu(AluOp::Add, Width::W64, 2, p, Source::Imm(20), &r).unwrap();
        assert_eq!(q.range, 0);
        let q = alu(AluOp::Sub, Width::W64, 2, p, Source::Imm(1), &r).unwrap();
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

    #[test]
    fn reading_what_was_never_written_is_refused() {
        let r = regs();
        assert_eq!(alu(AluOp::Add, Width::W64, 3, r[3], Source::Imm(1), &r), Err(AluError::NotInit(3)));
        assert_eq!(alu(AluOp::Mov, Width::W64, 3, r[3], src(4), &r), Err(AluError::NotInit(4)));
        let mixed = Reg::konst(1).join(&Reg::ptr(Region::Ctx));
        assert_eq!(neg(Width::W64, 5, mixed), Err(AluError::Mixed(5)));
        // mov overwrites dst without reading it.
        assert!(alu(AluOp::Mov, Width::W64, 3, r[3], Source::Imm(1), &r).is_ok());
    }
}
