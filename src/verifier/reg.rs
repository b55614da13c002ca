//! What the verifier knows of one register: its type, and a scalar domain that is the
//! value of a number or the offset of a pointer (ARCHITECTURE.md, "Verifier as abstract
//! interpretation"), with the kernel log's notation.
//!
//! A pointer's offset is itself a [`Scalar`]: `r1 = ctx; r1 += r2` with `r2` in 0..8
//! gives `ctx` at offset 0..8. Pointers that may be null carry an id shared by every copy,
//! so that one null check refines them all; packet pointers carry the number of bytes a
//! comparison with `data_end` has proven readable.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::domain::bounds::Bounds;
use super::domain::scalar::{Scalar, Thresholds};
use super::domain::stack::Spill;
use super::domain::tnum::Tnum;

/// Set in a map index that stands for the inner template of the map-in-map at the index
/// without it: what a lookup in that map yields (Linux's `inner_map_meta`).
pub const INNER: u32 = 1 << 31;

/// What a pointer points into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Region {
    /// The program's context (r1 at entry).
    Ctx,
    /// A stack frame (0 the program's, 1 its first callee's, …).
    Stack { frame: u8 },
    /// A map itself (`lddw` of a map fd), for helpers that take one.
    MapPtr { map: u32 },
    /// A map's value (`bpf_map_lookup_elem`'s result, or an `lddw` of a map value).
    MapValue { map: u32 },
    /// The packet, from `data`.
    Packet,
    /// One past the packet's end (`data_end`): only for comparisons.
    PacketEnd,
    /// The packet's metadata (`data_meta`).
    PacketMeta,
    /// A ring-buffer record (`bpf_ringbuf_reserve`), `size` bytes.
    Ringbuf { size: u64 },
    /// Memory a helper returned, `size` bytes.
    Mem { size: u64 },
}

impl Region {
    /// Into the packet or next to it: distances between such pointers are numbers.
    pub fn is_packet(self) -> bool {
        matches!(self, Region::Packet | Region::PacketEnd | Region::PacketMeta)
    }

    /// The kernel's name in the log.
    pub fn name(self) -> &'static str {
        match self {
            Region::Ctx => "ctx",
            Region::Stack { .. } => "fp",
            Region::MapPtr { .. } => "map_ptr",
            Region::MapValue { .. } => "map_value",
            Region::Packet => "pkt",
            Region::PacketEnd => "pkt_end",
            Region::PacketMeta => "pkt_meta",
            Region::Ringbuf { .. } => "ringbuf_mem",
            Region::Mem { .. } => "mem",
        }
    }
}

/// A register's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Never written (reading it is refused).
    NotInit,
    /// A number.
    Scalar,
    /// A pointer into the region.
    Ptr(Region),
    /// A pointer into the region, or null (until a null check).
    PtrOrNull(Region),
    /// Different types on paths that meet here: nothing may use it.
    Mixed,
}

/// One register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reg {
    pub kind: Kind,
    /// The value of a scalar; the offset of a pointer.
    pub value: Scalar<u64>,
    /// Shared by copies of one value (null checks and packet checks refine them all); 0
    /// for none.
    pub id: u32,
    /// Packet pointers: bytes from the pointer proven to lie before `data_end`.
    pub range: u64,
    /// Packet pointers with a variable offset (an id): the constant added since the
    /// variable part, so that `q = p + 8; if q <= data_end` proves 8 bytes from `p`.
    pub delta: i64,
}

impl Reg {
    pub const fn not_init() -> Reg {
        Reg { kind: Kind::NotInit, value: SCALAR_ANY, id: 0, range: 0, delta: 0 }
    }
    pub fn scalar(value: Scalar<u64>) -> Reg {
        Reg { kind: Kind::Scalar, value, id: 0, range: 0, delta: 0 }
    }
    pub fn konst(v: u64) -> Reg {
        Reg::scalar(Scalar::konst(v))
    }
    pub fn unknown() -> Reg {
        Reg::scalar(Scalar::unknown())
    }
    /// A pointer at offset 0.
    pub fn ptr(region: Region) -> Reg {
        Reg { kind: Kind::Ptr(region), value: Scalar::konst(0), id: 0, range: 0, delta: 0 }
    }
    /// A pointer at a constant offset.
    pub fn ptr_at(region: Region, off: i64) -> Reg {
        Reg { kind: Kind::Ptr(region), value: Scalar::konst(off as u64), id: 0, range: 0, delta: 0 }
    }

    /// The signed range of the value (a pointer's offset) plus `off`.
    pub fn span(&self, off: i16) -> (i64, i64) {
        let f = self.value.full;
        ((f.smin as i64).saturating_add(off as i64), (f.smax as i64).saturating_add(off as i64))
    }

    pub fn is_pointer(&self) -> bool {
        matches!(self.kind, Kind::Ptr(_) | Kind::PtrOrNull(_))
    }

    /// The value (or offset) as one number, if it is one.
    pub fn constant(&self) -> Option<u64> {
        let f = self.value.full;
        (f.var.mask == 0).then_some(f.var.value)
    }

    /// Every value either may be. Registers of different types become [`Kind::Mixed`],
    /// except a pointer and the same pointer-or-null (then or-null), and not-init with
    /// anything (then not-init: some path never wrote it).
    pub fn join(&self, o: &Reg) -> Reg {
        use Kind::*;
        let kind = match (self.kind, o.kind) {
            (a, b) if a == b => a,
            (NotInit, _) | (_, NotInit) => NotInit,
            (Ptr(a), PtrOrNull(b)) | (PtrOrNull(a), Ptr(b)) if a == b && crate::verifier_bug!(JoinDropsOrNull) => Ptr(a),
            (Ptr(a), PtrOrNull(b)) | (PtrOrNull(a), Ptr(b)) if a == b => PtrOrNull(a),
            _ => Mixed,
        };
        match kind {
            NotInit | Mixed => Reg { kind, ..Reg::not_init() },
            _ => {
                let same = self.id == o.id && self.delta == o.delta;
                Reg { kind, value: self.value.join(o.value), id: if same { self.id } else { 0 }, range: self.range.min(o.range), delta: if same { self.delta } else { 0 } }
            }
        }
    }

    /// The join, widened where `o` moved a bound of `self` (a loop head after a few
    /// rounds).
    pub fn widen(&self, o: &Reg, t: &Thresholds<u64>) -> Reg {
        let j = self.join(o);
        match j.kind {
            Kind::NotInit | Kind::Mixed => j,
            _ => Reg { value: self.value.widen_with(j.value, t), ..j },
        }
    }

    /// Every value of `self` is a value of `o` (for the fixpoint's convergence test).
    pub fn within(&self, o: &Reg) -> bool {
        o.join(self) == *o
    }
}

/// Any 64-bit value (a `const` for [`Reg::not_init`]).
const SCALAR_ANY: Scalar<u64> = Scalar {
    full: Bounds { var: Tnum { value: 0, mask: u64::MAX }, umin: 0, umax: u64::MAX, smin: 1 << 63, smax: i64::MAX as u64 },
    low: Bounds { var: Tnum { value: 0, mask: u32::MAX }, umin: 0, umax: u32::MAX, smin: 1 << 31, smax: i32::MAX as u32 },
};

impl Spill for Reg {
    fn join(&self, o: &Reg) -> Reg {
        Reg::join(self, o)
    }
}

/// The kernel's notation for the scalar part: a constant as its number, else
/// `smin=…,smax=…,umin=…,umax=…,smin32=…,…,var_off=(value; mask)`, each only where it
/// says more than the type's full range.
fn scalar_fields(v: &Scalar<u64>, out: &mut Vec<String>) {
    let f = v.full;
    if f.smin != 1 << 63 {
        out.push(format!("smin={}", f.smin as i64));
    }
    if f.smax != i64::MAX as u64 {
        out.push(format!("smax={}", f.smax as i64));
    }
    if f.umin != 0 && f.umin != f.smin {
        out.push(format!("umin={}", f.umin));
    }
    if f.umax != u64::MAX && f.umax != f.smax {
        out.push(format!("umax={}", f.umax));
    }
    let l = v.low;
    let low_of = |x: u64| x as u32;
    if l.smin != 1 << 31 && (l.smin as i32 as i64) != f.smin as i64 {
        out.push(format!("smin32={}", l.smin as i32));
    }
    if l.smax != i32::MAX as u32 && (l.smax as i32 as i64) != f.smax as i64 {
        out.push(format!("smax32={}", l.smax as i32));
    }
    if l.umin != 0 && l.umin != low_of(f.umin) {
        out.push(format!("umin32={}", l.umin));
    }
    if l.umax != u32::MAX && l.umax as u64 != f.umax {
        out.push(format!("umax32={}", l.umax));
    }
    if f.var.mask != u64::MAX {
        out.push(format!("var_off=({:#x}; {:#x})", f.var.value, f.var.mask));
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut fields = Vec::new();
        if self.id != 0 {
            fields.push(format!("id={}", self.id));
        }
        match self.kind {
            Kind::NotInit => f.write_str("?"),
            Kind::Mixed => f.write_str("mixed"),
            Kind::Scalar => match self.constant() {
                Some(c) if fields.is_empty() => write!(f, "{}", c as i64),
                _ => {
                    scalar_fields(&self.value, &mut fields);
                    write!(f, "scalar({})", fields.join(","))
                }
            },
            Kind::Ptr(Region::Stack { .. }) if self.constant().is_some() => write!(f, "fp{}", self.constant().unwrap_or(0) as i64),
            Kind::Ptr(r) | Kind::PtrOrNull(r) => {
                match self.constant() {
                    Some(0) => {}
                    Some(c) => fields.push(format!("off={}", c as i64)),
                    None => scalar_fields(&self.value, &mut fields),
                }
                if matches!(r, Region::Packet | Region::PacketMeta) {
                    fields.push(format!("r={}", self.range));
                }
                match r {
                    Region::MapPtr { map } | Region::MapValue { map } if map & INNER != 0 => fields.push(format!("map={}.inner", map & !INNER)),
                    Region::MapPtr { map } | Region::MapValue { map } => fields.push(format!("map={map}")),
                    Region::Ringbuf { size } | Region::Mem { size } => fields.push(format!("sz={size}")),
                    _ => {}
                }
                let null = if matches!(self.kind, Kind::PtrOrNull(_)) { "_or_null" } else { "" };
                write!(f, "{}{null}({})", r.name(), fields.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn the_log_reads_like_the_kernels() {
        assert_eq!(Reg::ptr(Region::Ctx).to_string(), "ctx()");
        assert_eq!(Reg::ptr(Region::Stack { frame: 0 }).to_string(), "fp0");
        assert_eq!(Reg::ptr_at(Region::Stack { frame: 0 }, -8).to_string(), "fp-8");
        assert_eq!(Reg::konst(5).to_string(), "5");
        assert_eq!(Reg::konst(u64::MAX).to_string(), "-1");
        let byte = Reg::scalar(Scalar::of(Bounds::urange(0, 255)));
        assert_eq!(byte.to_string(), "scalar(smin=0,smax=255,var_off=(0x0; 0xff))");
        let v = Reg { kind: Kind::PtrOrNull(Region::MapValue { map: 3 }), id: 1, ..Reg::ptr(Region::Ctx) };
        assert_eq!(v.to_string(), "map_value_or_null(id=1,map=3)");
        let p = Reg { range: 14, ..Reg::ptr(Region::Packet) };
        assert_eq!(p.to_string(), "pkt(r=14)");
        assert_eq!(Reg::unknown().to_string(), "scalar()");
        assert_eq!(Reg::not_init().to_string(), "?");
    }

    #[test]
    fn join_keeps_what_both_paths_agree_on() {
        let a = Reg::konst(1);
        let b = Reg::konst(9);
        let j = a.join(&b);
        assert_eq!(j.kind, Kind::Scalar);
        assert!(j.value.contains(1) && j.value.contains(9));
        assert!(a.within(&j) && b.within(&j) && !j.within(&a));
        // A pointer and the same pointer-or-null: or-null.
        let p = Reg::ptr(Region::MapValue { map: 1 });
        let q = Reg { kind: Kind::PtrOrNull(Region::MapValue { map: 1 }), ..p };
        assert_eq!(p.join(&q).kind, Kind::PtrOrNull(Region::MapValue { map: 1 }));
        // A number and a pointer: nothing may use it.
        assert_eq!(a.join(&p).kind, Kind::Mixed);
        // Written on one path only.
        assert_eq!(a.join(&Reg::not_init()).kind, Kind::NotInit);
        // Packet ranges: the smaller holds on both paths.
        let r1 = Reg { range: 8, ..Reg::ptr(Region::Packet) };
        let r2 = Reg { range: 20, ..Reg::ptr(Region::Packet) };
        assert_eq!(r1.join(&r2).range, 8);
        assert_eq!(SCALAR_ANY, Scalar::unknown());
    }
}
