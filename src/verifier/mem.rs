//! Memory accesses on states: what a load gives and what a store records, for an access
//! its checks ([`super::check`]: `Access`, `Stored`) have allowed.
//!
//! A load from the context gives a packet pointer for the fields that hold one and a
//! number otherwise; from the stack, the spilled register back, a known zero, or a
//! number; from anywhere else, a number of the access's size, zero- or sign-extended. A
//! store to the stack at a known offset records its bytes (a whole register at an
//! aligned slot as a spill), at a variable offset weakens every byte it may touch;
//! stores elsewhere hold only numbers and change nothing the state tracks.

use super::domain::scalar::Scalar;
use super::domain::stack::Read;
use super::reg::{Kind, Reg, Region};
use super::state::State;
use crate::prog::{CtxDescriptor, FieldKind};

/// What an access may touch besides the state.
pub struct MemEnv<'a> {
    pub ctx: &'a CtxDescriptor,
    /// A map's value size, by the map's index in the program's map list.
    pub value_size: &'a dyn Fn(u32) -> Option<u32>,
}

/// A number of `size` bytes, zero- or sign-extended.
fn loaded_number(size: u64, signed: bool) -> Reg {
    let any = Scalar::unknown();
    Reg::scalar(if size >= 8 {
        any
    } else if signed {
        any.sext_bits(8 * size as u32)
    } else {
        any.zext_bits(8 * size as u32)
    })
}

/// `*(size *)(p + off)`, sign-extended if `signed`.
pub fn load(state: &State, p: &Reg, off: i16, size: u64, signed: bool, ctx: &CtxDescriptor) -> Reg {
    let (lo, hi) = p.span(off);
    match p.kind {
        Kind::Ptr(Region::Ctx) => match ctx.field(lo as i16, size as usize).map(|f| f.kind) {
            Some(FieldKind::PacketData) => Reg::ptr(Region::Packet),
            Some(FieldKind::PacketEnd) => Reg::ptr(Region::PacketEnd),
            Some(FieldKind::PacketMeta) => Reg::ptr(Region::PacketMeta),
            _ => loaded_number(size, signed),
        },
        Kind::Ptr(Region::Stack { frame }) if lo == hi => match state.frames[frame as usize].load(lo, size) {
            Ok(Read::Spilled(r)) => r,
            Ok(Read::Zero) => Reg::konst(0),
            _ => loaded_number(size, signed),
        },
        _ => loaded_number(size, signed),
    }
}

/// `*(size *)(p + off) = value`.
pub fn store(state: &mut State, p: &Reg, off: i16, size: u64, value: Reg) {
    let Kind::Ptr(Region::Stack { frame }) = p.kind else { return };
    let (lo, hi) = p.span(off);
    let stack = state.frame_mut(frame as usize);
    let zero = value.kind == Kind::Scalar && value.constant() == Some(0);
    // Inside the frame: `Check::Access` allowed it (a store outside changes nothing).
    let _ = if lo == hi { stack.store(lo, size, Some(value), zero) } else { stack.store_somewhere(lo, hi, size) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifier::domain::bounds::Bounds;

    fn xdp() -> &'static CtxDescriptor {
        crate::prog::ProgType::Xdp.ctx()
    }

    #[test]
    fn stack_spills_fill_back_and_stores_record_their_bytes() {
        let mut s = State::entry();
        let fp = s.regs[10];
        store(&mut s, &fp, -8, 8, Reg::ptr(Region::Ctx));
        assert_eq!(load(&s, &fp, -8, 8, false, xdp()).kind, Kind::Ptr(Region::Ctx));
        store(&mut s, &fp, -16, 4, Reg::konst(0));
        assert_eq!(load(&s, &fp, -16, 4, false, xdp()).constant(), Some(0));
        store(&mut s, &fp, -16, 4, Reg::konst(3));
        assert_eq!(load(&s, &fp, -16, 4, false, xdp()).constant(), None, "some number, not the zero before");
        // A store at a variable offset weakens what it may touch: the spill is gone.
        let moved = Reg { value: Scalar::of(Bounds::srange(-8i64 as u64, -4i64 as u64)), ..fp };
        store(&mut s, &moved, 0, 4, Reg::konst(1));
        assert_eq!(load(&s, &fp, -8, 8, false, xdp()).kind, Kind::Scalar);
    }

    #[test]
    fn the_context_gives_packet_pointers_and_numbers() {
        let s = State::entry();
        let ctx = s.regs[1];
        assert_eq!(load(&s, &ctx, 0, 4, false, xdp()).kind, Kind::Ptr(Region::Packet));
        assert_eq!(load(&s, &ctx, 4, 4, false, xdp()).kind, Kind::Ptr(Region::PacketEnd));
        assert_eq!(load(&s, &ctx, 8, 4, false, xdp()).kind, Kind::Ptr(Region::PacketMeta));
        assert_eq!(load(&s, &ctx, 12, 4, false, xdp()).kind, Kind::Scalar);
    }

    #[test]
    fn loads_extend_as_the_instruction_says() {
        let s = State::entry();
        let v = Reg::ptr(Region::MapValue { map: 0 });
        let b = load(&s, &v, 0, 1, false, xdp());
        assert_eq!((b.value.full.umin, b.value.full.umax), (0, 255));
        let sb = load(&s, &v, 0, 1, true, xdp());
        assert_eq!((sb.value.full.smin as i64, sb.value.full.smax as i64), (-128, 127));
        assert_eq!(load(&s, &v, 0, 8, true, xdp()).value, Scalar::unknown());
    }
}
