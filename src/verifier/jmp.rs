//! Conditional jumps on states: each branch's state, or none when the branch cannot be
//! taken.
//!
//! Numbers narrow by [`refine`](super::domain::refine). A pointer that may be null,
//! compared with 0, becomes null (the number 0) on one branch and a pointer on the
//! other, in every register that holds a copy of it (the same id). A packet pointer `p`
//! at a constant offset `n` compared with `data_end`, on the branch where `p <= data_end`,
//! proves the first `n` bytes of the packet readable: every packet pointer at a constant
//! offset `k <= n` gets the range `n - k`. Other comparisons of pointers are refused:
//! their outcome would tell a program an address.

use super::domain::refine;
use super::reg::{Kind, Reg, Region};
use super::state::State;
use crate::isa::{JmpCond, Source, Width};

/// Why a conditional jump is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JmpError {
    #[error("R{0} !read_ok")]
    NotInit(u8),
    #[error("R{0} has different types on the paths that reach here")]
    Mixed(u8),
    #[error("R{0} pointer comparison prohibited")]
    PointerCompare(u8),
}

fn readable(r: &Reg, n: u8) -> Result<(), JmpError> {
    match r.kind {
        Kind::NotInit => Err(JmpError::NotInit(n)),
        Kind::Mixed => Err(JmpError::Mixed(n)),
        _ => Ok(()),
    }
}

/// The state on the branch where `dst <cond> src` is `taken` (or fails), `None` when no
/// values allow it.
pub fn branch(state: &State, cond: JmpCond, width: Width, d: u8, src: Source, taken: bool) -> Result<Option<State>, JmpError> {
    let a = state.regs[d as usize];
    readable(&a, d)?;
    let (s, b) = match src {
        Source::Reg(r) => (Some(r.index() as u8), state.regs[r.index()]),
        Source::Imm(i) => (None, Reg::konst(crate::semantics::imm64(i))),
    };
    if let Some(n) = s {
        readable(&b, n)?;
    }
    let wide = width == Width::W64;
    let mut out = state.clone();
    match (a.kind, b.kind) {
        (Kind::Scalar, Kind::Scalar) => {
            let (x, y) = refine::refine(cond, wide, taken, a.value, b.value);
            if x.full.empty() || y.full.empty() || x.low.empty() || y.low.empty() {
                return Ok(None);
            }
            out.regs[d as usize] = Reg::scalar(x);
            if let Some(n) = s {
                out.regs[n as usize] = Reg::scalar(y);
            }
            Ok(Some(out))
        }
        // A null check: `p == 0` / `p != 0`.
        (Kind::PtrOrNull(_), Kind::Scalar) if wide && b.constant() == Some(0) && matches!(cond, JmpCond::Eq | JmpCond::Ne) => {
            let null = (cond == JmpCond::Eq) == taken;
            null_check(&mut out, a, null);
            Ok(Some(out))
        }
        (Kind::Ptr(_), Kind::Scalar) if wide && b.constant() == Some(0) && matches!(cond, JmpCond::Eq | JmpCond::Ne) => {
            // A pointer is never null: `p == 0` is never taken.
            Ok(((cond == JmpCond::Ne) == taken).then_some(out))
        }
        (Kind::Ptr(Region::Packet), Kind::Ptr(Region::PacketEnd)) if wide => {
            if before_end(cond, taken, false) {
                packet_range(&mut out, a);
            }
            Ok(Some(out))
        }
        (Kind::Ptr(Region::PacketEnd), Kind::Ptr(Region::Packet)) if wide => {
            if before_end(cond, taken, true) {
                packet_range(&mut out, b);
            }
            Ok(Some(out))
        }
        (Kind::Ptr(x), Kind::Ptr(y)) if wide && x == y => Ok(Some(out)),
        // Other comparisons inside the packet (`data_meta > data`): allowed, nothing
        // learnt (their outcome tells no address).
        (Kind::Ptr(x), Kind::Ptr(y)) if packet(x) && packet(y) => Ok(Some(out)),
        (Kind::Scalar, _) => Err(JmpError::PointerCompare(s.unwrap_or(0))),
        _ => Err(JmpError::PointerCompare(d)),
    }
}

fn packet(r: Region) -> bool {
    matches!(r, Region::Packet | Region::PacketEnd | Region::PacketMeta)
}

/// Whether the branch means `pkt <= pkt_end` (`swapped`: the end is the left operand).
fn before_end(cond: JmpCond, taken: bool, swapped: bool) -> bool {
    use JmpCond::*;
    let c = if taken { Some(cond) } else { refine::negate(cond) };
    match (c, swapped) {
        // pkt < end or pkt <= end.
        (Some(Lt | Le), false) => true,
        // end > pkt or end >= pkt.
        (Some(Gt | Ge), true) => true,
        _ => false,
    }
}

/// Every copy of the maybe-null pointer `p` (its id) becomes null or a pointer.
fn null_check(state: &mut State, p: Reg, null: bool) {
    let Kind::PtrOrNull(region) = p.kind else { return };
    let fix = |r: &mut Reg| {
        if r.kind == p.kind && (r.id == p.id && p.id != 0 || *r == p) {
            *r = if null { Reg::konst(0) } else { Reg { kind: Kind::Ptr(region), ..*r } };
        }
    };
    state.for_each_reg(fix);
    // A record found null was never reserved: nothing to release.
    if null && p.id != 0 {
        state.refs.retain(|&x| x != p.id);
    }
}

/// `p <= data_end` with `p` at constant offset `n`: every packet pointer at a constant
/// offset `k <= n` may read `n - k` bytes. With `p` at a variable offset (an id) plus
/// `d`: every packet pointer of the same id at `k <= d` may read `d - k` bytes.
fn packet_range(state: &mut State, p: Reg) {
    match p.constant() {
        Some(n) => state.for_each_reg(|r| {
            if r.kind == Kind::Ptr(Region::Packet) {
                if let Some(k) = r.constant() {
                    if (k as i64) >= 0 && k <= n {
                        r.range = r.range.max(n - k);
                    }
                }
            }
        }),
        None if p.id != 0 => state.for_each_reg(|r| {
            if r.kind == Kind::Ptr(Region::Packet) && r.id == p.id && r.delta <= p.delta {
                r.range = r.range.max((p.delta - r.delta) as u64);
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
        let t = branch(&s, JmpCond::Gt, Width::W64, 2, Source::Imm(10), true).unwrap().unwrap();
        assert_eq!((t.regs[2].value.full.umin, t.regs[2].value.full.umax), (11, 100));
        let f = branch(&s, JmpCond::Gt, Width::W64, 2, Source::Imm(10), false).unwrap().unwrap();
        assert_eq!(f.regs[2].value.full.umax, 10);
        assert_eq!(branch(&s, JmpCond::Gt, Width::W64, 2, Source::Imm(200), true).unwrap(), None, "never above 200");
        s.regs[3] = Reg::konst(5);
        let t = branch(&s, JmpCond::Eq, Width::W64, 2, r(3), true).unwrap().unwrap();
        assert_eq!(t.regs[2].constant(), Some(5));
        assert_eq!(branch(&s, JmpCond::Eq, Width::W64, 4, Source::Imm(0), true), Err(JmpError::NotInit(4)));
    }

    #[test]
    fn a_null_check_refines_every_copy() {
        let mut s = State::entry();
        let v = Reg { kind: Kind::PtrOrNull(Region::MapValue { map: 0 }), id: 7, ..Reg::ptr(Region::Ctx) };
        s.regs[0] = v;
        s.regs[6] = v;
        let ok = branch(&s, JmpCond::Ne, Width::W64, 0, Source::Imm(0), true).unwrap().unwrap();
        assert_eq!(ok.regs[6].kind, Kind::Ptr(Region::MapValue { map: 0 }));
        let null = branch(&s, JmpCond::Ne, Width::W64, 0, Source::Imm(0), false).unwrap().unwrap();
        assert_eq!(null.regs[6].constant(), Some(0));
        assert_eq!(null.regs[6].kind, Kind::Scalar);
        // A pointer that cannot be null: `== 0` is never taken.
        assert_eq!(branch(&s, JmpCond::Eq, Width::W64, 1, Source::Imm(0), true).unwrap(), None);
        // Anything else about a pointer is refused.
        assert_eq!(branch(&s, JmpCond::Gt, Width::W64, 1, Source::Imm(5), true), Err(JmpError::PointerCompare(1)));
        assert_eq!(branch(&s, JmpCond::Ne, Width::W32, 0, Source::Imm(0), true), Err(JmpError::PointerCompare(0)));
    }

    #[test]
    fn comparing_with_data_end_grants_the_packet_range() {
        let mut s = State::entry();
        s.regs[2] = Reg::ptr(Region::Packet);
        s.regs[3] = Reg::ptr(Region::PacketEnd);
        s.regs[4] = Reg::ptr_at(Region::Packet, 14);
        s.regs[5] = Reg::ptr_at(Region::Packet, 4);
        // if r4 > r3 goto drop: the fall-through has 14 bytes.
        let fall = branch(&s, JmpCond::Gt, Width::W64, 4, r(3), false).unwrap().unwrap();
        assert_eq!((fall.regs[2].range, fall.regs[5].range, fall.regs[4].range), (14, 10, 0));
        let drop = branch(&s, JmpCond::Gt, Width::W64, 4, r(3), true).unwrap().unwrap();
        assert_eq!(drop.regs[2].range, 0);
        // The end on the left: if r3 >= r4 goto ok.
        let ok = branch(&s, JmpCond::Ge, Width::W64, 3, r(4), true).unwrap().unwrap();
        assert_eq!(ok.regs[2].range, 14);
        // Off by one is not proven by `r4 >= r3` taken.
        let ge = branch(&s, JmpCond::Ge, Width::W64, 4, r(3), true).unwrap().unwrap();
        assert_eq!(ge.regs[2].range, 0);
    }
}
