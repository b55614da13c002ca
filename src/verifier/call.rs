//! Helper calls on states: each argument register checked against the helper's
//! prototype (the one helper table, `helpers::Proto`), then r1–r5 clobbered and r0 typed
//! by what the helper returns.
//!
//! Memory arguments are checked as accesses of the memory they name: a map key or value
//! for the map's key or value size, a buffer for the largest size its size argument may
//! hold. A buffer the helper reads must be initialised; one it writes becomes
//! initialised. A size must be a bounded number (and not 0 where the helper needs bytes).
//! A maybe-null result gets a fresh id, so that one null check refines every copy.

use alloc::string::String;

use super::domain::scalar::Scalar;
use super::mem::{self, Access, At, MemEnv, MemError};
use super::reg::{Kind, Reg, Region};
use super::state::State;
use crate::helpers::{Arg, Proto, Ret};

/// What a call may use besides the state.
pub struct CallEnv<'a> {
    pub mem: &'a MemEnv<'a>,
    /// A map's key size, by its index in the program's map list.
    pub key_size: &'a dyn Fn(u32) -> Option<u32>,
    /// The prototype of a helper this program may call.
    pub helper: &'a dyn Fn(crate::isa::HelperId) -> Option<Proto>,
    /// The index in the program's map list of the map a pseudo `lddw` names.
    pub map: &'a dyn Fn(crate::isa::LdKind, i32) -> Option<u32>,
    /// The size of the variable `lddw var_addr(imm)` names, where the platform has
    /// variables (the conformance environment; Linux has none).
    pub var: &'a dyn Fn(i32) -> Option<u64>,
}

/// Why a call is refused. Messages follow the kernel's log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("R{0} !read_ok")]
    NotInit(u8),
    #[error("R{0} has different types on the paths that reach here")]
    Mixed(u8),
    #[error("R{reg} type={found} expected={expected}")]
    Type { reg: u8, found: String, expected: &'static str },
    #[error("R{0} unbounded memory access, use 'var &= const' or 'if (var < const)'")]
    Unbounded(u8),
    #[error("R{0} invalid zero-sized read")]
    ZeroSize(u8),
    #[error("R{0} must point to the start of the object (offset 0)")]
    Offset(u8),
    #[error("{0}")]
    Mem(#[from] MemError),
    #[error("R{0} is not a held reference: the record was released or never reserved")]
    Released(u8),
    #[error("Unreleased reference id={0} alloc_insn={p}", p = .0 - 1)]
    Unreleased(u32),
}

/// The state after calling the helper `proto` from `state`. `site` (non-zero) is the id a
/// maybe-null result gets: one per call site, so that the analysis converges. An older
/// value from the same site (a loop's previous round) loses the id first, so a null
/// check never refines a value it did not test.
pub fn call(state: &State, proto: &Proto, env: &CallEnv, site: u32) -> Result<State, CallError> {
    let mut out = state.clone();
    let mut map = None;
    let mut ring_size = None;
    for k in 0..5 {
        let n = k as u8 + 1;
        let r = state.regs[k + 1];
        let arg = proto.args[k];
        if arg == Arg::None {
            continue;
        }
        match r.kind {
            Kind::NotInit => return Err(CallError::NotInit(n)),
            Kind::Mixed => return Err(CallError::Mixed(n)),
            _ => {}
        }
        let want = |expected: &'static str| CallError::Type { reg: n, found: kind_name(&r), expected };
        match arg {
            Arg::None | Arg::ConstSize | Arg::ConstSizeOrZero => {}
            Arg::Anything => {
                // The ring-buffer reservation's size (its second argument) sizes the record.
                if k == 1 && proto.ret == Ret::RingbufMemOrNull {
                    ring_size = r.constant();
                }
            }
            Arg::ConstMapPtr => match r.kind {
                Kind::Ptr(Region::MapPtr { map: m }) => map = Some(m),
                _ => return Err(want("map_ptr")),
            },
            Arg::MapKey | Arg::MapValue => {
                let m = map.ok_or_else(|| want("map_ptr before it"))?;
                let size = if arg == Arg::MapKey { (env.key_size)(m) } else { (env.mem.value_size)(m) }.unwrap_or(0) as u64;
                readable_bytes(state, &r, n, size, env)?;
            }
            Arg::Mem | Arg::UninitMem => {
                let s = state.regs[k + 2];
                let can_be_zero = proto.args.get(k + 1) == Some(&Arg::ConstSizeOrZero);
                let size = bounded_size(&s, n + 1, can_be_zero)?;
                if size == 0 {
                    continue;
                }
                if arg == Arg::Mem {
                    readable_bytes(state, &r, n, size, env)?;
                } else {
                    written_bytes(&mut out, &r, n, size, env)?;
                }
            }
            Arg::Ctx => {
                if r.kind != Kind::Ptr(Region::Ctx) {
                    return Err(want("ctx"));
                }
                if r.constant() != Some(0) {
                    return Err(CallError::Offset(n));
                }
            }
            Arg::RingbufRecord => {
                if !matches!(r.kind, Kind::Ptr(Region::Ringbuf { .. })) {
                    return Err(want("ringbuf_mem"));
                }
                if r.constant() != Some(0) {
                    return Err(CallError::Offset(n));
                }
                // Released: no copy of the record (in a register, a spill or a
                // caller's register) may be used afterwards.
                if !out.refs.contains(&r.id) {
                    return Err(CallError::Released(n));
                }
                out.refs.retain(|&x| x != r.id);
                out.for_each_reg(|x| {
                    if x.kind == r.kind && x.id == r.id {
                        *x = Reg::not_init();
                    }
                });
            }
            Arg::ConstStr => readable_bytes(state, &r, n, 1, env)?,
        }
    }
    for k in 1..=5 {
        out.regs[k] = Reg::not_init();
    }
    let fresh = |out: &mut State| {
        let forget = |r: &mut Reg| {
            if r.id == site {
                r.id = 0;
            }
        };
        out.for_each_reg(forget);
        site
    };
    out.regs[0] = match proto.ret {
        Ret::Integer => Reg::unknown(),
        Ret::Void => Reg::not_init(),
        Ret::MapValueOrNull => {
            let id = fresh(&mut out);
            Reg { kind: Kind::PtrOrNull(Region::MapValue { map: map.unwrap_or(0) }), value: Scalar::konst(0), id, range: 0, delta: 0 }
        }
        Ret::RingbufMemOrNull => {
            // One live record per call site: a second reservation from the same site
            // while the first is held could only leak one of them.
            if out.refs.contains(&site) {
                return Err(CallError::Unreleased(site));
            }
            let id = fresh(&mut out);
            out.refs.push(id);
            out.refs.sort_unstable();
            Reg { kind: Kind::PtrOrNull(Region::Ringbuf { size: ring_size.unwrap_or(0) }), value: Scalar::konst(0), id, range: 0, delta: 0 }
        }
    };
    Ok(out)
}

fn kind_name(r: &Reg) -> String {
    use alloc::string::ToString;
    match r.kind {
        Kind::Scalar => String::from("scalar"),
        Kind::Ptr(p) => p.name().to_string(),
        Kind::PtrOrNull(p) => alloc::format!("{}_or_null", p.name()),
        Kind::NotInit => String::from("?"),
        Kind::Mixed => String::from("mixed"),
    }
}

/// The largest value a size argument may hold.
fn bounded_size(s: &Reg, n: u8, can_be_zero: bool) -> Result<u64, CallError> {
    match s.kind {
        Kind::NotInit => return Err(CallError::NotInit(n)),
        Kind::Mixed => return Err(CallError::Mixed(n)),
        _ => {}
    }
    if s.kind != Kind::Scalar {
        return Err(CallError::Type { reg: n, found: kind_name(s), expected: "scalar" });
    }
    let f = s.value.full;
    // Sizes above 2^29 are refused as the kernel does (no buffer is that large).
    if f.umax >= 1 << 29 {
        return Err(CallError::Unbounded(n));
    }
    if f.umin == 0 && !can_be_zero {
        return Err(CallError::ZeroSize(n));
    }
    Ok(f.umax)
}

/// `size` bytes from `p` are readable (and, on the stack, initialised).
fn readable_bytes(state: &State, p: &Reg, n: u8, size: u64, env: &CallEnv) -> Result<(), CallError> {
    if size == 0 {
        return Ok(());
    }
    match mem::access(p, At { reg: n, off: 0, size }, false, env.mem)? {
        Access::Stack { frame, lo, hi } => Ok(state.frames[frame].load_somewhere(lo, hi, size).map_err(MemError::from)?),
        _ => Ok(()),
    }
}

/// The helper writes `size` bytes at `p`: they must be writable; stack bytes become
/// initialised (every byte, at a known offset).
fn written_bytes(state: &mut State, p: &Reg, n: u8, size: u64, env: &CallEnv) -> Result<(), CallError> {
    match mem::access(p, At { reg: n, off: 0, size }, true, env.mem)? {
        Access::Stack { frame, lo, hi } if lo == hi => Ok(state.frames[frame].written(lo, size).map_err(MemError::from)?),
        Access::Stack { frame, lo, hi } => Ok(state.frames[frame].store_somewhere(lo, hi, size).map_err(MemError::from)?),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpers::Arg::*;
    use crate::isa::HelperId;
    use crate::prog::CtxDescriptor;
    use crate::verifier::domain::bounds::Bounds;

    const RAW: CtxDescriptor = CtxDescriptor { name: "raw", size: Some(64), writable: &[], fields: &[] };

    fn proto(ret: Ret, args: [Arg; 5]) -> Proto {
        Proto { id: HelperId(1), name: "test", ret, args, gpl_only: false }
    }

    fn with<R>(f: impl FnOnce(&CallEnv) -> R) -> R {
        let mem = MemEnv { ctx: &RAW, value_size: &|m| (m == 0).then_some(16) };
        let env = CallEnv { mem: &mem, key_size: &|m| (m == 0).then_some(4), helper: &|_| Option::None, map: &|_, _| Option::None, var: &|_| Option::None };
        f(&env)
    }

    #[test]
    fn a_map_lookup_needs_an_initialised_key_and_returns_a_maybe_null_value() {
        let lookup = proto(Ret::MapValueOrNull, [ConstMapPtr, MapKey, None, None, None]);
        let mut s = State::entry();
        s.regs[1] = Reg::ptr(Region::MapPtr { map: 0 });
        s.regs[2] = Reg::ptr_at(Region::Stack { frame: 0 }, -4);
        let id = 1;
        let e = with(|env| call(&s, &lookup, env, id)).unwrap_err();
        assert_eq!(e.to_string(), "invalid read from stack off -4+0 size 4: uninitialised");
        s.frames[0].store(-4, 4, Option::None, false).unwrap();
        let after = with(|env| call(&s, &lookup, env, id)).unwrap();
        assert_eq!(after.regs[0].to_string(), "map_value_or_null(id=1,map=0)");
        // Called again from the same site, the older result loses the id.
        let mut again = after.clone();
        again.regs[6] = after.regs[0];
        again.regs[1] = Reg::ptr(Region::MapPtr { map: 0 });
        again.regs[2] = Reg::ptr_at(Region::Stack { frame: 0 }, -4);
        let twice = with(|env| call(&again, &lookup, env, id)).unwrap();
        assert_eq!((twice.regs[0].id, twice.regs[6].id), (1, 0));
        assert_eq!(after.regs[1].kind, Kind::NotInit, "r1-r5 are clobbered");
        // A number where the map goes.
        s.regs[1] = Reg::konst(3);
        assert_eq!(with(|env| call(&s, &lookup, env, id)).unwrap_err().to_string(), "R1 type=scalar expected=map_ptr");
    }

    #[test]
    fn buffers_and_sizes() {
        let read = proto(Ret::Integer, [Mem, ConstSize, None, None, None]);
        let fill = proto(Ret::Integer, [UninitMem, ConstSize, None, None, None]);
        let mut s = State::entry();
        s.regs[1] = Reg::ptr_at(Region::Stack { frame: 0 }, -16);
        s.regs[2] = Reg::scalar(Scalar::of(Bounds::urange(1, 16)));
        let id = 1;
        assert!(with(|env| call(&s, &read, env, id)).is_err(), "uninitialised");
        let after = with(|env| call(&s, &fill, env, id)).unwrap();
        assert!(after.frames[0].load(-16, 8).is_ok(), "the helper wrote the buffer");
        let mut t = after.clone();
        t.regs[1] = Reg::ptr_at(Region::Stack { frame: 0 }, -16);
        t.regs[2] = Reg::scalar(Scalar::of(Bounds::urange(1, 16)));
        assert!(with(|env| call(&t, &read, env, id)).is_ok());
        t.regs[2] = Reg::unknown();
        assert_eq!(with(|env| call(&t, &read, env, id)).unwrap_err(), CallError::Unbounded(2));
        t.regs[2] = Reg::scalar(Scalar::of(Bounds::urange(0, 16)));
        assert_eq!(with(|env| call(&t, &read, env, id)).unwrap_err(), CallError::ZeroSize(2));
        t.regs[2] = Reg::konst(17);
        assert!(with(|env| call(&t, &read, env, id)).is_err(), "past the frame's top");
    }

    #[test]
    fn context_arguments_and_released_records() {
        let needs_ctx = proto(Ret::Integer, [Ctx, None, None, None, None]);
        let mut s = State::entry();
        let id = 1;
        assert!(with(|env| call(&s, &needs_ctx, env, id)).is_ok());
        s.regs[1] = Reg::ptr_at(Region::Ctx, 8);
        assert_eq!(with(|env| call(&s, &needs_ctx, env, id)).unwrap_err(), CallError::Offset(1));
        let submit = proto(Ret::Void, [RingbufRecord, Anything, None, None, None]);
        let rec = Reg { id: 4, ..Reg::ptr(Region::Ringbuf { size: 8 }) };
        s.regs[1] = rec;
        s.regs[2] = Reg::konst(0);
        s.regs[6] = rec;
        s.frames[0].store(-8, 8, Some(rec), false).unwrap();
        assert_eq!(with(|env| call(&s, &submit, env, id)).unwrap_err(), CallError::Released(1), "never reserved");
        s.refs.push(4);
        let after = with(|env| call(&s, &submit, env, id)).unwrap();
        assert_eq!(after.regs[6].kind, Kind::NotInit, "no copy of a released record stays usable");
        assert!(matches!(after.frames[0].load(-8, 8), Ok(crate::verifier::domain::stack::Read::Spilled(r)) if r.kind == Kind::NotInit), "nor a spilled one");
        assert!(after.refs.is_empty());
        assert_eq!(after.regs[0].kind, Kind::NotInit, "void");
        // Reserving again from a site whose record is still held.
        let reserve = proto(Ret::RingbufMemOrNull, [ConstMapPtr, Anything, Anything, None, None]);
        let mut h = State::entry();
        h.regs[1] = Reg::ptr(Region::MapPtr { map: 0 });
        h.regs[2] = Reg::konst(8);
        h.regs[3] = Reg::konst(0);
        let once = with(|env| call(&h, &reserve, env, 5)).unwrap();
        assert_eq!(once.refs, [5]);
        let mut again = once.clone();
        (again.regs[1], again.regs[2], again.regs[3]) = (h.regs[1], h.regs[2], h.regs[3]);
        assert_eq!(with(|env| call(&again, &reserve, env, 5)).unwrap_err().to_string(), "Unreleased reference id=5 alloc_insn=4");
    }
}
