//! Memory accesses: the check that a load or store through a register stays inside
//! what the register points to ([`access`]), and what the access does to the state
//! ([`load`], [`store`]).
//!
//! Per region: the context by the program type's descriptor (constant offsets only,
//! inside its size, writes only to its writable ranges, the fields of a context that
//! lists them); the stack byte by byte ([`Stack`]); a map value inside the map's value
//! size for every offset the register may hold; the packet inside the range a
//! comparison with `data_end` proved; ring-buffer records and helper memory inside their
//! size. A pointer that may be null, a number, the packet end and a map itself are
//! never dereferenced. A pointer is stored only into the stack (as a spill): anywhere
//! else it would leak an address.

use alloc::format;
use alloc::string::String;

use super::domain::scalar::Scalar;
use super::domain::stack::{Read, StackError};
use super::reg::{Kind, Reg, Region};
use super::state::State;
use crate::prog::{CtxDescriptor, FieldKind};

/// What an access may touch besides the state.
pub struct MemEnv<'a> {
    pub ctx: &'a CtxDescriptor,
    /// A map's value size, by the map's index in the program's map list.
    pub value_size: &'a dyn Fn(u32) -> Option<u32>,
}

/// Why an access is refused. Messages follow the kernel's log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MemError {
    #[error("R{reg} invalid mem access '{what}'")]
    NotMemory { reg: u8, what: String },
    #[error("variable ctx access var_off={var} disallowed")]
    CtxVariable { var: String },
    #[error("invalid bpf_context access off={off} size={size}")]
    Ctx { off: i64, size: u64 },
    #[error("R{reg} min value is outside of the allowed memory range")]
    Below { reg: u8 },
    #[error("invalid access to {what}, value_size={limit} off={off} size={size}")]
    Outside { what: &'static str, limit: u64, off: i64, size: u64 },
    #[error("invalid access to packet, off={off} size={size}, R{reg}(r={range})")]
    Packet { reg: u8, off: i64, size: u64, range: u64 },
    #[error("{0}")]
    Stack(#[from] StackError),
    #[error("R{reg} leaks addr into {what}")]
    Leak { reg: u8, what: &'static str },
    #[error("invalid size of register spill")]
    PartialSpill,
}

/// An access as the instruction gives it: the pointer's register, the offset, the size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At {
    pub reg: u8,
    pub off: i16,
    pub size: u64,
}

/// A checked access: where it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The context, at this offset.
    Ctx(i64),
    /// A stack frame, at an offset in `lo..=hi`.
    Stack { frame: usize, lo: i64, hi: i64 },
    /// Anywhere else that holds only numbers (a map value, the packet, a record).
    Data,
}

/// The signed range of the pointer's offset plus `off`.
fn span(p: &Reg, off: i16) -> (i64, i64) {
    let f = p.value.full;
    ((f.smin as i64).saturating_add(off as i64), (f.smax as i64).saturating_add(off as i64))
}

/// Checks an access `at` through `p`.
pub fn access(p: &Reg, at: At, write: bool, env: &MemEnv) -> Result<Access, MemError> {
    let At { reg: n, off, size } = at;
    let region = match p.kind {
        Kind::Ptr(r) => r,
        Kind::PtrOrNull(r) => return Err(MemError::NotMemory { reg: n, what: format!("{}_or_null", r.name()) }),
        Kind::Scalar => return Err(MemError::NotMemory { reg: n, what: String::from("scalar") }),
        Kind::NotInit | Kind::Mixed => return Err(MemError::NotMemory { reg: n, what: String::from("inv") }),
    };
    let (lo, hi) = span(p, off);
    let within = |what: &'static str, limit: u64| {
        if lo < 0 {
            return Err(MemError::Below { reg: n });
        }
        if hi as u64 + size > limit {
            return Err(MemError::Outside { what, limit, off: hi, size });
        }
        Ok(Access::Data)
    };
    match region {
        Region::Ctx => {
            let Some(k) = p.constant() else { return Err(MemError::CtxVariable { var: format!("({:#x}; {:#x})", p.value.full.var.value, p.value.full.var.mask) }) };
            let at = k as i64 + off as i64;
            let bad = MemError::Ctx { off: at, size };
            let limit = env.ctx.size.map_or(u64::MAX, |s| s as u64);
            if at < 0 || at as u64 + size > limit {
                return Err(bad);
            }
            if write && !env.ctx.writable.iter().any(|&(s, e)| s as i64 <= at && at as u64 + size <= e as u64) {
                return Err(bad);
            }
            if !env.ctx.fields.is_empty() && (write || env.ctx.field(at as i16, size as usize).is_none()) {
                return Err(bad);
            }
            Ok(Access::Ctx(at))
        }
        Region::Stack { frame } => Ok(Access::Stack { frame: frame as usize, lo, hi }),
        Region::MapValue { map } => within("map value", (env.value_size)(map).unwrap_or(0) as u64),
        Region::Ringbuf { size: s } | Region::Mem { size: s } => within("mem", s),
        Region::Packet | Region::PacketMeta => {
            // Inside the packet, and inside what a comparison proved from the pointer.
            if lo < 0 || off as i64 + size as i64 > p.range as i64 {
                return Err(MemError::Packet { reg: n, off: hi, size, range: p.range });
            }
            Ok(Access::Data)
        }
        Region::PacketEnd | Region::MapPtr { .. } => Err(MemError::NotMemory { reg: n, what: String::from(region.name()) }),
    }
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

/// `dst = *(size *)(p + off)`: checks the access and returns what it loads.
pub fn load(state: &State, p: &Reg, at: At, signed: bool, env: &MemEnv) -> Result<Reg, MemError> {
    let size = at.size;
    match access(p, at, false, env)? {
        Access::Ctx(at) => {
            let field = env.ctx.field(at as i16, size as usize);
            Ok(match field.map(|f| f.kind) {
                Some(FieldKind::PacketData) => Reg::ptr(Region::Packet),
                Some(FieldKind::PacketEnd) => Reg::ptr(Region::PacketEnd),
                Some(FieldKind::PacketMeta) => Reg::ptr(Region::PacketMeta),
                _ => loaded_number(size, signed),
            })
        }
        Access::Stack { frame, lo, hi } => {
            let stack = &state.frames[frame];
            if lo != hi {
                stack.load_somewhere(lo, hi, size)?;
                return Ok(loaded_number(size, signed));
            }
            Ok(match stack.load(lo, size)? {
                Read::Spilled(r) => r,
                Read::Zero => Reg::konst(0),
                Read::Init => loaded_number(size, signed),
            })
        }
        Access::Data => Ok(loaded_number(size, signed)),
    }
}

/// `*(size *)(p + off) = value` (`value_reg`: the register it comes from, for messages;
/// `None` for an immediate): checks the access and records it.
pub fn store(state: &mut State, p: &Reg, at: At, value: Reg, value_reg: Option<u8>, env: &MemEnv) -> Result<(), MemError> {
    let size = at.size;
    let v = value_reg.unwrap_or(0);
    match access(p, at, true, env)? {
        Access::Stack { frame, lo, hi } => {
            let stack = &mut state.frames[frame];
            if value.is_pointer() && (size != 8 || lo != hi) {
                return Err(MemError::PartialSpill);
            }
            if lo != hi {
                return Ok(stack.store_somewhere(lo, hi, size)?);
            }
            let zero = value.kind == Kind::Scalar && value.constant() == Some(0);
            Ok(stack.store(lo, size, Some(value), zero)?)
        }
        _ if value.is_pointer() => Err(MemError::Leak {
            reg: v,
            what: match p.kind {
                Kind::Ptr(Region::Ctx) => "ctx",
                Kind::Ptr(Region::MapValue { .. }) => "map",
                Kind::Ptr(Region::Packet | Region::PacketMeta) => "packet",
                _ => "mem",
            },
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use crate::verifier::domain::bounds::Bounds;

    /// The program-type table's own contexts, and a writable one.
    fn xdp() -> &'static CtxDescriptor {
        crate::prog::ProgType::Xdp.ctx()
    }
    fn regs() -> &'static CtxDescriptor {
        crate::prog::ProgType::Kprobe.ctx()
    }
    const WRITABLE: CtxDescriptor = CtxDescriptor { name: "raw", size: Some(64), writable: &[(8, 16)], fields: &[] };

    fn env(ctx: &CtxDescriptor) -> MemEnv<'_> {
        MemEnv { ctx, value_size: &|m| (m == 0).then_some(16) }
    }

    #[test]
    fn stack_spills_fill_back_and_uninitialised_bytes_are_refused() {
        let mut s = State::entry();
        let fp = s.regs[10];
        let e = env(regs());
        store(&mut s, &fp, At { reg: 10, off: -8, size: 8 }, Reg::ptr(Region::Ctx), Some(1), &e).unwrap();
        assert_eq!(load(&s, &fp, At { reg: 10, off: -8, size: 8 }, false, &e).unwrap().kind, Kind::Ptr(Region::Ctx));
        assert_eq!(store(&mut s, &fp, At { reg: 10, off: -12, size: 4 }, Reg::ptr(Region::Ctx), Some(1), &e), Err(MemError::PartialSpill));
        assert_eq!(load(&s, &fp, At { reg: 10, off: -16, size: 8 }, false, &e).unwrap_err().to_string(), "invalid read from stack off -16+0 size 8: uninitialised");
        store(&mut s, &fp, At { reg: 10, off: -16, size: 4 }, Reg::konst(0), None, &e).unwrap();
        assert_eq!(load(&s, &fp, At { reg: 10, off: -16, size: 4 }, false, &e).unwrap().constant(), Some(0));
        assert!(load(&s, &fp, At { reg: 10, off: 0, size: 8 }, false, &e).is_err(), "above the frame");
    }

    #[test]
    fn the_context_follows_its_descriptor() {
        let s = State::entry();
        let ctx = s.regs[1];
        let e = env(xdp());
        assert_eq!(load(&s, &ctx, At { reg: 1, off: 0, size: 4 }, false, &e).unwrap().kind, Kind::Ptr(Region::Packet));
        assert_eq!(load(&s, &ctx, At { reg: 1, off: 4, size: 4 }, false, &e).unwrap().kind, Kind::Ptr(Region::PacketEnd));
        assert_eq!(load(&s, &ctx, At { reg: 1, off: 2, size: 4 }, false, &e), Err(MemError::Ctx { off: 2, size: 4 }), "not a field");
        let e = env(regs());
        assert_eq!(load(&s, &ctx, At { reg: 1, off: 280, size: 8 }, false, &e).unwrap().kind, Kind::Scalar);
        assert_eq!(load(&s, &ctx, At { reg: 1, off: 284, size: 8 }, false, &e), Err(MemError::Ctx { off: 284, size: 8 }));
        let mut m = s.clone();
        assert_eq!(store(&mut m, &ctx, At { reg: 1, off: 0, size: 8 }, Reg::konst(1), None, &e), Err(MemError::Ctx { off: 0, size: 8 }), "pt_regs is read-only");
        let e = env(&WRITABLE);
        assert!(store(&mut m, &ctx, At { reg: 1, off: 8, size: 8 }, Reg::konst(1), None, &e).is_ok());
        assert_eq!(store(&mut m, &ctx, At { reg: 1, off: 8, size: 8 }, Reg::ptr(Region::Stack { frame: 0 }), Some(2), &e), Err(MemError::Leak { reg: 2, what: "ctx" }));
        let moved = Reg { value: Scalar::of(Bounds::urange(0, 8)), ..ctx };
        assert!(matches!(load(&s, &moved, At { reg: 1, off: 0, size: 8 }, false, &env(regs())), Err(MemError::CtxVariable { .. })));
    }

    #[test]
    fn map_values_and_packets_stay_in_bounds() {
        let s = State::entry();
        let e = env(regs());
        let v = Reg { value: Scalar::of(Bounds::urange(0, 8)), ..Reg::ptr(Region::MapValue { map: 0 }) };
        assert!(load(&s, &v, At { reg: 0, off: 0, size: 8 }, false, &e).is_ok(), "offsets 0..=8, 8 bytes, value size 16");
        assert_eq!(load(&s, &v, At { reg: 0, off: 1, size: 8 }, false, &e), Err(MemError::Outside { what: "map value", limit: 16, off: 9, size: 8 }));
        let below = Reg { value: Scalar::konst(-4i64 as u64), ..v };
        assert_eq!(load(&s, &below, At { reg: 0, off: 0, size: 4 }, false, &e), Err(MemError::Below { reg: 0 }));
        let null = Reg { kind: Kind::PtrOrNull(Region::MapValue { map: 0 }), ..v };
        assert_eq!(load(&s, &null, At { reg: 0, off: 0, size: 4 }, false, &e).unwrap_err().to_string(), "R0 invalid mem access 'map_value_or_null'");
        let mut m = s.clone();
        assert_eq!(store(&mut m, &Reg::ptr(Region::MapValue { map: 0 }), At { reg: 0, off: 0, size: 8 }, Reg::ptr(Region::Ctx), Some(1), &e), Err(MemError::Leak { reg: 1, what: "map" }));
        let pkt = Reg { range: 14, ..Reg::ptr(Region::Packet) };
        assert!(load(&s, &pkt, At { reg: 2, off: 12, size: 2 }, false, &e).is_ok());
        assert_eq!(load(&s, &pkt, At { reg: 2, off: 13, size: 2 }, false, &e), Err(MemError::Packet { reg: 2, off: 13, size: 2, range: 14 }));
        assert!(load(&s, &Reg::konst(0), At { reg: 3, off: 0, size: 1 }, false, &e).is_err());
        assert!(load(&s, &Reg::ptr(Region::PacketEnd), At { reg: 3, off: 0, size: 1 }, false, &e).is_err());
    }

    #[test]
    fn loads_extend_as_the_instruction_says() {
        let s = State::entry();
        let e = env(regs());
        let v = Reg::ptr(Region::MapValue { map: 0 });
        let b = load(&s, &v, At { reg: 0, off: 0, size: 1 }, false, &e).unwrap();
        assert_eq!((b.value.full.umin, b.value.full.umax), (0, 255));
        let sb = load(&s, &v, At { reg: 0, off: 0, size: 1 }, true, &e).unwrap();
        assert_eq!((sb.value.full.smin as i64, sb.value.full.smax as i64), (-128, 127));
    }
}
