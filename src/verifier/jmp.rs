//! Conditional jumps on states: each branch's state, or none when the branch cannot be
//! taken, for a comparison its checks ([`super::check`]: `Readable`, `Comparable`) have
//! allowed.
//!
//! Numbers narrow by [`refine`](super::domain::refine). A pointer that may be null,
//! compared with 0, becomes null (the number 0) on one branch and a pointer on the
//! other, in every register that holds a copy of it (the same id). A packet pointer `p`
//! at a constant offset `n` compared with `data_end`, on the branch where `p <= data_end`,
//! proves the first `n` bytes of the packet readable: every packet pointer at a constant
//! offset `k <= n` gets the range `n - k` (one more where `p < data_end`). Other
//! comparisons of pointers teach nothing.

use super::domain::refine;
use super::reg::{Kind, Reg, Region};
use super::state::State;
use crate::isa::{JmpCond, Source, Width};

/// The state on the branch where `dst <cond> src` is `taken` (or fails), `None` when no
/// values allow it.
pub fn branch(state: &State, cond: JmpCond, width: Width, d: u8, src: Source, taken: bool) -> Option<State> {
    let a = state.regs[d as usize];
    let (s, b) = match src {
        Source::Reg(r) => (Some(r.index() as u8), state.regs[r.index()]),
        Source::Imm(i) => (None, Reg::konst(crate::semantics::imm64(i))),
    };
    let wide = width == Width::W64;
    let null_test = wide && b.constant() == Some(0) && matches!(cond, JmpCond::Eq | JmpCond::Ne);
    let mut out = state.clone();
    match (a.kind, b.kind) {
        (Kind::Scalar, Kind::Scalar) => {
            let (x, y) = refine::refine(cond, wide, taken, a.value, b.value);
            if x.full.empty() || y.full.empty() || x.low.empty() || y.low.empty() {
                return None;
            }
            out.regs[d as usize] = Reg::scalar(x);
            if let Some(n) = s {
                out.regs[n as usize] = Reg::scalar(y);
            }
        }
        // A null check: `p == 0` / `p != 0`.
        (Kind::PtrOrNull(_), Kind::Scalar) if null_test => null_check(&mut out, a, (cond == JmpCond::Eq) == taken),
        // A pointer is never null: `p == 0` is never taken.
        (Kind::Ptr(_), Kind::Scalar) if null_test && (cond == JmpCond::Ne) != taken => return None,
        (Kind::Ptr(Region::Packet), Kind::Ptr(Region::PacketEnd)) if wide => {
            if let Some(strict) = before_end(cond, taken, false) {
                packet_range(&mut out, a, strict);
            }
        }
        (Kind::Ptr(Region::PacketEnd), Kind::Ptr(Region::Packet)) if wide => {
            if let Some(strict) = before_end(cond, taken, true) {
                packet_range(&mut out, b, strict);
            }
        }
        // Anything else the checks allow (pointers into one region, packet pointers with
        // each other) teaches nothing: their outcome tells no address.
        _ => {}
    }
    Some(out)
}

/// Whether the branch means `pkt <= pkt_end` (`swapped`: the end is the left operand),
/// and if so whether strictly (`pkt < pkt_end`: the byte at `pkt` is in the packet too).
fn before_end(cond: JmpCond, taken: bool, swapped: bool) -> Option<bool> {
    use JmpCond::*;
    let taken = taken != crate::verifier_bug!(PacketRangeWrongBranch);
    let c = if taken { Some(cond) } else { refine::negate(cond) };
    match (c?, swapped) {
        // pkt < end, end > pkt.
        (Lt, false) | (Gt, true) => Some(true),
        // pkt <= end, end >= pkt.
        (Le, false) | (Ge, true) => Some(false),
        _ => None,
    }
}

/// Every copy of the maybe-null pointer `p` (its id) becomes null or a pointer.
fn null_check(state: &mut State, p: Reg, null: bool) {
    let Kind::PtrOrNull(region) = p.kind else { return };
    let fix = |r: &mut Reg| {
        if r.kind == p.kind && (r.id == p.id && p.id != 0 || *r == p || crate::verifier_bug!(NullCheckAnyId)) {
            *r = if null { Reg::konst(0) } else { Reg { kind: Kind::Ptr(region), ..*r } };
        }
    };
    state.for_each_reg(fix);
    // A record found null was never reserved: nothing to release.
    if null && p.id != 0 {
        state.refs.retain(|&x| x != p.id);
    }
}

/// The largest offset from `data` at which `p <= data_end` proves anything (the kernel's
/// `MAX_PACKET_OFF`). Beyond it `data + offset` may wrap around the address space (a
/// packet in the kernel's upper half, an offset up to 2^63), and a wrapped pointer passes
/// the comparison while it points below the packet. Packets lie at least this far below
/// the top of the address space.
pub const MAX_PACKET_OFF: u64 = 0xffff;

/// `p <= data_end` with `p` at constant offset `n`: every packet pointer at a constant
/// offset `k <= n` may read `n - k` bytes. With `p` at a variable offset (an id) plus
/// `d`: every packet pointer of the same id at `k <= d` may read `d - k` bytes. One byte
/// more when `strict` (`p < data_end`). Only when `p`'s offset is at most
/// [`MAX_PACKET_OFF`].
fn packet_range(state: &mut State, p: Reg, strict: bool) {
    if p.value.full.umax > MAX_PACKET_OFF {
        return;
    }
    let extra = strict as u64 + crate::verifier_bug!(PacketRangeOffByOne) as u64;
    match p.constant() {
        Some(n) => state.for_each_reg(|r| {
            if r.kind == Kind::Ptr(Region::Packet) {
                if let Some(k) = r.constant() {
                    if (k as i64) >= 0 && k <= n {
                        r.range = r.range.max(n - k + extra);
                    }
                }
            }
        }),
        None if p.id != 0 => state.for_each_reg(|r| {
            if r.kind == Kind::Ptr(Region::Packet) && r.id == p.id && r.delta <= p.delta {
                r.range = r.range.max((p.delta - r.delta) as u64 + extra);
            }
        }),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::Reg as R;
    use crate::verifier::domain::bounds::Bounds;
    use crate::verifier::domain::scalar::Scalar;

    fn r(n: u8) -> Source {
        Source::Reg(R::new(n).unwrap())
    }

    #[test]
    fn numbers_narrow_and_impossible_branches_vanish() {
        let mut s = State::entry();
        s.regs[2] = Reg::scalar(Scalar::of(Bounds::urange(0, 100)));
        let t = branch(&s, JmpCond::Gt, Width::W64, 2, Source::Imm(10), true).unwrap();
        assert_eq!((t.regs[2].value.full.umin, t.regs[2].value.full.umax), (11, 100));
        let f = branch(&s, JmpCond::Gt, Width::W64, 2, Source::Imm(10), false).unwrap();
        assert_eq!(f.regs[2].value.full.umax, 10);
        assert_eq!(branch(&s, JmpCond::Gt, Width::W64, 2, Source::Imm(200), true), None, "never above 200");
        s.regs[3] = Reg::konst(5);
        let t = branch(&s, JmpCond::Eq, Width::W64, 2, r(3), true).unwrap();
        assert_eq!(t.regs[2].constant(), Some(5));
    }

    #[test]
    fn a_null_check_refines_every_copy() {
        let mut s = State::entry();
        let v = Reg { kind: Kind::PtrOrNull(Region::MapValue { map: 0 }), id: 7, ..Reg::ptr(Region::Ctx) };
        s.regs[0] = v;
        s.regs[6] = v;
        let ok = branch(&s, JmpCond::Ne, Width::W64, 0, Source::Imm(0), true).unwrap();
        assert_eq!(ok.regs[6].kind, Kind::Ptr(Region::MapValue { map: 0 }));
        let null = branch(&s, JmpCond::Ne, Width::W64, 0, Source::Imm(0), false).unwrap();
        assert_eq!(null.regs[6].constant(), Some(0));
        assert_eq!(null.regs[6].kind, Kind::Scalar);
        // A pointer that cannot be null: `== 0` is never taken.
        assert_eq!(branch(&s, JmpCond::Eq, Width::W64, 1, Source::Imm(0), true), None);
    }

    #[test]
    fn comparing_with_data_end_grants_the_packet_range() {
        let mut s = State::entry();
        s.regs[2] = Reg::ptr(Region::Packet);
        s.regs[3] = Reg::ptr(Region::PacketEnd);
        s.regs[4] = Reg::ptr_at(Region::Packet, 14);
        s.regs[5] = Reg::ptr_at(Region::Packet, 4);
        // if r4 > r3 goto drop: the fall-through has 14 bytes.
        let fall = branch(&s, JmpCond::Gt, Width::W64, 4, r(3), false).unwrap();
        assert_eq!((fall.regs[2].range, fall.regs[5].range, fall.regs[4].range), (14, 10, 0));
        let drop = branch(&s, JmpCond::Gt, Width::W64, 4, r(3), true).unwrap();
        assert_eq!(drop.regs[2].range, 0);
        // The end on the left: if r3 >= r4 goto ok.
        let ok = branch(&s, JmpCond::Ge, Width::W64, 3, r(4), true).unwrap();
        assert_eq!(ok.regs[2].range, 14);
        // Off by one is not proven by `r4 >= r3` taken.
        let ge = branch(&s, JmpCond::Ge, Width::W64, 4, r(3), true).unwrap();
        assert_eq!(ge.regs[2].range, 0);
        // Strictly before the end (`r4 >= r3` fails, `r3 > r4` holds): the byte at r4 too.
        let lt = branch(&s, JmpCond::Ge, Width::W64, 4, r(3), false).unwrap();
        assert_eq!((lt.regs[2].range, lt.regs[4].range), (15, 1));
        let gt = branch(&s, JmpCond::Gt, Width::W64, 3, r(4), true).unwrap();
        assert_eq!(gt.regs[2].range, 15);
        // `r3 >= r4` fails: r4 is past the end, nothing is granted.
        let past = branch(&s, JmpCond::Ge, Width::W64, 3, r(4), false).unwrap();
        assert_eq!(past.regs[2].range, 0);
    }

    /// `data + 2^63 <= data_end` holds for a packet in the upper half of the address space
    /// (the sum wraps): a pointer that far proves nothing, at a constant offset or a
    /// variable one, and up to `MAX_PACKET_OFF` it does.
    #[test]
    fn no_range_from_a_pointer_beyond_the_largest_packet_offset() {
        let mut s = State::entry();
        s.regs[2] = Reg::ptr(Region::Packet);
        s.regs[3] = Reg::ptr(Region::PacketEnd);
        for (n, range) in [(MAX_PACKET_OFF, MAX_PACKET_OFF), (MAX_PACKET_OFF + 1, 0), (1 << 63, 0)] {
            s.regs[4] = Reg::ptr_at(Region::Packet, n as i64);
            let fall = branch(&s, JmpCond::Gt, Width::W64, 4, r(3), false).unwrap();
            assert_eq!(fall.regs[2].range, range, "data + {n:#x}");
        }
        // data + [0, 2^32) + 1 with its copy at + 0.
        let var = Scalar::of(Bounds::urange(0, u32::MAX as u64));
        s.regs[5] = Reg { value: var, id: 9, ..Reg::ptr(Region::Packet) };
        s.regs[4] = Reg { value: Scalar::of(Bounds::urange(1, 1 << 32)), id: 9, delta: 1, ..Reg::ptr(Region::Packet) };
        let fall = branch(&s, JmpCond::Gt, Width::W64, 4, r(3), false).unwrap();
        assert_eq!(fall.regs[5].range, 0);
        s.regs[4].value = Scalar::of(Bounds::urange(1, MAX_PACKET_OFF));
        let fall = branch(&s, JmpCond::Gt, Width::W64, 4, r(3), false).unwrap();
        assert_eq!(fall.regs[5].range, 1);
    }
}
