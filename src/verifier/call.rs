//! Helper calls on states, for a call its checks (`check.rs`: `Helper`, `Arg`,
//! `TailCall`, `Reserve`) have allowed: what the helper writes, the records it
//! releases, r1–r5 clobbered and r0 typed by what the helper returns (the one helper
//! table, `helpers::Proto`).
//!
//! A buffer the helper writes becomes initialised, the bytes it surely writes (the
//! smallest size its size argument may hold); the bytes it may write weaken as a store
//! at a variable offset does. A record submitted or discarded is released, and every
//! copy of it (registers, spills, callers' registers) becomes unusable. A maybe-null
//! result gets a fresh id, so that one null check refines every copy.

use super::domain::scalar::Scalar;
use super::mem::MemEnv;
use super::reg::{Kind, Reg, Region, INNER};
use super::state::State;
use crate::helpers::{Arg, Proto, Ret};

/// What a call may use besides the state.
pub struct CallEnv<'a> {
    pub mem: &'a MemEnv<'a>,
    /// A map's key size, by its index in the program's map list.
    pub key_size: &'a dyn Fn(u32) -> Option<u32>,
    /// A map's type, by its index; an index with [`INNER`] set stands for the inner
    /// template of the map-in-map at the index without it.
    pub map_type: &'a dyn Fn(u32) -> Option<u32>,
    /// The prototype of a helper this program may call.
    pub helper: &'a dyn Fn(crate::isa::HelperId) -> Option<Proto>,
    /// The index in the program's map list of the map a pseudo `lddw` names.
    pub map: &'a dyn Fn(crate::isa::LdKind, i32) -> Option<u32>,
    /// The size of the variable `lddw var_addr(imm)` names, where the platform has
    /// variables (the conformance environment; Linux has none).
    pub var: &'a dyn Fn(i32) -> Option<u64>,
}

/// The state after calling the helper `proto` from `state`. `site` (non-zero) is the id a
/// maybe-null result gets: one per call site, so that the analysis converges. An older
/// value from the same site (a loop's previous round) loses the id first, so a null
/// check never refines a value it did not test.
pub fn call(state: &State, proto: &Proto, site: u32, env: &CallEnv) -> State {
    let mut out = state.clone();
    for k in 0..5 {
        let r = state.regs[k + 1];
        match proto.args[k] {
            Arg::UninitMem => {
                let size = state.regs[k + 2].value.full;
                written(&mut out, &r, size.umin, size.umax);
            }
            Arg::RingbufRecord => {
                // What still points at the record becomes a number, as Linux's
                // `mark_reg_invalid` makes it for a privileged loader (`allow_ptr_leaks`):
                // no longer memory, so an access through it is refused.
                out.refs.retain(|&x| x != r.id);
                out.for_each_reg(|x| {
                    if x.kind == r.kind && x.id == r.id {
                        *x = Reg::unknown();
                    }
                });
            }
            _ => {}
        }
    }
    for k in 1..=5 {
        out.regs[k] = Reg::not_init();
    }
    let fresh = |out: &mut State| {
        out.for_each_reg(|r| {
            if r.id == site {
                r.id = 0;
            }
        });
        site
    };
    out.regs[0] = match proto.ret {
        Ret::Integer => Reg::unknown(),
        Ret::Void => Reg::not_init(),
        Ret::MapValueOrNull => {
            let id = fresh(&mut out);
            let map = map_arg(proto, state).unwrap_or(0);
            // A lookup in a map-in-map yields the inner map (or null).
            let region = match (env.map_type)(map) {
                Some(t) if crate::maps::is_map_in_map(t) && map & INNER == 0 => Region::MapPtr { map: map | INNER },
                _ => Region::MapValue { map },
            };
            Reg { kind: Kind::PtrOrNull(region), value: Scalar::konst(0), id, range: 0, delta: 0 }
        }
        Ret::RingbufMemOrNull => {
            // The reservation's size is its second argument.
            let size = state.regs[2].constant().unwrap_or(0);
            let id = fresh(&mut out);
            out.refs.push(id);
            out.refs.sort_unstable();
            Reg { kind: Kind::PtrOrNull(Region::Ringbuf { size }), value: Scalar::konst(0), id, range: 0, delta: 0 }
        }
    };
    out
}

/// The map a call's map argument names, if it has one and it is a map.
pub fn map_arg(proto: &Proto, s: &State) -> Option<u32> {
    let k = proto.args.iter().position(|a| *a == Arg::ConstMapPtr)?;
    match s.regs[k + 1].kind {
        Kind::Ptr(Region::MapPtr { map }) => Some(map),
        _ => None,
    }
}

/// The helper writes between `least` and `most` bytes at `p`: on the stack, the first
/// `least` become initialised when the offset is known; the rest, or all at a variable
/// offset, weaken (a zero may now be anything; uninitialised stays so).
fn written(state: &mut State, p: &Reg, least: u64, most: u64) {
    let Kind::Ptr(Region::Stack { frame }) = p.kind else { return };
    let (lo, hi) = p.span(0);
    let stack = state.frame_mut(frame as usize);
    // Inside the frame: `Check::Arg` allowed `most` bytes at every offset.
    if lo == hi && least > 0 {
        let _ = stack.written(lo, least);
    }
    let from = if lo == hi { least } else { 0 };
    if most > from {
        let _ = stack.store_somewhere(lo + from as i64, hi + from as i64, most - from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpers::Arg::*;
    use crate::isa::HelperId;
    use crate::verifier::domain::bounds::Bounds;
    use crate::verifier::domain::stack::Read;

    fn proto(ret: Ret, args: [Arg; 5]) -> Proto {
        Proto { id: HelperId(1), name: "test", ret, args, gpl_only: false }
    }

    /// Map 3 is an array, map 5 an array of maps, whose template is a hash.
    fn call(s: &State, proto: &Proto, site: u32) -> State {
        use crate::maps::map_type::{ARRAY, ARRAY_OF_MAPS, HASH};
        let map_type = |m: u32| match m {
            3 => Some(ARRAY),
            5 => Some(ARRAY_OF_MAPS),
            m if m == 5 | INNER => Some(HASH),
            _ => Option::None,
        };
        let mem = MemEnv { ctx: crate::prog::ProgType::Xdp.ctx(), value_size: &|_| Some(8) };
        let env = CallEnv { mem: &mem, key_size: &|_| Some(4), map_type: &map_type, helper: &|_| Option::None, map: &|_, _| Option::None, var: &|_| Option::None };
        super::call(s, proto, site, &env)
    }

    #[test]
    fn a_lookup_returns_a_maybe_null_value_with_the_sites_id() {
        let lookup = proto(Ret::MapValueOrNull, [ConstMapPtr, MapKey, None, None, None]);
        let mut s = State::entry();
        s.regs[1] = Reg::ptr(Region::MapPtr { map: 3 });
        s.regs[2] = Reg::ptr_at(Region::Stack { frame: 0 }, -4);
        let after = call(&s, &lookup, 1);
        assert_eq!(after.regs[0].to_string(), "map_value_or_null(id=1,map=3)");
        assert_eq!(after.regs[1].kind, Kind::NotInit, "r1-r5 are clobbered");
        // Called again from the same site, the older result loses the id.
        let mut again = after.clone();
        again.regs[6] = after.regs[0];
        (again.regs[1], again.regs[2]) = (s.regs[1], s.regs[2]);
        let twice = call(&again, &lookup, 1);
        assert_eq!((twice.regs[0].id, twice.regs[6].id), (1, 0));
    }

    #[test]
    fn a_lookup_in_a_map_in_map_returns_its_inner_template_or_null() {
        let lookup = proto(Ret::MapValueOrNull, [ConstMapPtr, MapKey, None, None, None]);
        let mut s = State::entry();
        s.regs[1] = Reg::ptr(Region::MapPtr { map: 5 });
        s.regs[2] = Reg::ptr_at(Region::Stack { frame: 0 }, -4);
        let outer = call(&s, &lookup, 1);
        assert_eq!(outer.regs[0].kind, Kind::PtrOrNull(Region::MapPtr { map: 5 | INNER }));
        // The inner map, null-checked, is a map argument; its lookup yields its value.
        s.regs[1] = Reg::ptr(Region::MapPtr { map: 5 | INNER });
        let inner = call(&s, &lookup, 2);
        assert_eq!(inner.regs[0].kind, Kind::PtrOrNull(Region::MapValue { map: 5 | INNER }));
    }

    #[test]
    fn a_helper_initialises_the_bytes_it_surely_writes() {
        let fill = proto(Ret::Integer, [UninitMem, ConstSize, None, None, None]);
        let mut s = State::entry();
        s.regs[1] = Reg::ptr_at(Region::Stack { frame: 0 }, -16);
        s.regs[2] = Reg::konst(16);
        let after = call(&s, &fill, 1);
        assert!(after.frames[0].load(-16, 16).is_ok());
        // Between 4 and 16 bytes: only the first 4 surely.
        s.regs[2] = Reg::scalar(Scalar::of(Bounds::urange(4, 16)));
        let after = call(&s, &fill, 1);
        assert!(after.frames[0].load(-16, 4).is_ok());
        assert!(after.frames[0].load(-16, 5).is_err(), "byte 5 may not be written");
        // What was known zero and may be written is a number now.
        let mut z = s.clone();
        z.frame_mut(0).store(-8, 8, Option::None, true).unwrap();
        let after = call(&z, &fill, 1);
        assert_eq!(after.frames[0].load(-8, 8), Ok(Read::Init));
        assert_eq!(after.regs[0].kind, Kind::Scalar);
    }

    #[test]
    fn a_released_record_leaves_no_usable_copy() {
        let submit = proto(Ret::Void, [RingbufRecord, Anything, None, None, None]);
        let mut s = State::entry();
        let rec = Reg { id: 4, ..Reg::ptr(Region::Ringbuf { size: 8 }) };
        (s.regs[1], s.regs[2], s.regs[6]) = (rec, Reg::konst(0), rec);
        s.frame_mut(0).store(-8, 8, Some(rec), false).unwrap();
        s.refs.push(4);
        let after = call(&s, &submit, 1);
        // A number, as Linux has it for a privileged loader: no longer memory.
        assert_eq!(after.regs[6], Reg::unknown(), "no copy of a released record stays usable");
        assert!(matches!(after.frames[0].load(-8, 8), Ok(Read::Spilled(r)) if r == Reg::unknown()), "nor a spilled one");
        assert!(after.refs.is_empty());
        assert_eq!(after.regs[0].kind, Kind::NotInit, "void");
        // A reservation holds a reference named by its site, sized by its argument.
        let reserve = proto(Ret::RingbufMemOrNull, [ConstMapPtr, Anything, Anything, None, None]);
        let mut h = State::entry();
        (h.regs[1], h.regs[2], h.regs[3]) = (Reg::ptr(Region::MapPtr { map: 0 }), Reg::konst(8), Reg::konst(0));
        let once = call(&h, &reserve, 5);
        assert_eq!(once.refs, [5]);
        assert_eq!(once.regs[0].kind, Kind::PtrOrNull(Region::Ringbuf { size: 8 }));
    }
}
