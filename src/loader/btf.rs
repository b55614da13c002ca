//! A small, bounded BTF reader: enough to read BTF-defined maps (`.maps`) and to notice
//! CO-RE relocations in `.BTF.ext`.
//!
//! Every offset and count is checked against the section; a malformed section is an
//! error naming the byte offset, never a panic.

use alloc::string::String;
use alloc::vec::Vec;

/// BTF kinds rvbpf reads.
pub mod kind {
    pub const INT: u32 = 1;
    pub const PTR: u32 = 2;
    pub const ARRAY: u32 = 3;
    pub const STRUCT: u32 = 4;
    pub const UNION: u32 = 5;
    pub const ENUM: u32 = 6;
    pub const FWD: u32 = 7;
    pub const TYPEDEF: u32 = 8;
    pub const VOLATILE: u32 = 9;
    pub const CONST: u32 = 10;
    pub const RESTRICT: u32 = 11;
    pub const FUNC: u32 = 12;
    pub const FUNC_PROTO: u32 = 13;
    pub const VAR: u32 = 14;
    pub const DATASEC: u32 = 15;
    pub const FLOAT: u32 = 16;
    pub const DECL_TAG: u32 = 17;
    pub const TYPE_TAG: u32 = 18;
    pub const ENUM64: u32 = 19;
}

const MAGIC: u16 = 0xEB9F;
/// Bound on the number of types, far above what any object carries.
const MAX_TYPES: usize = 1 << 20;
/// Bound on typedef/modifier chains and nested arrays when resolving a size.
const MAX_CHAIN: usize = 32;

/// A BTF error with the byte offset in the section where it was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("BTF at byte {offset}: {reason}")]
pub struct BtfError {
    pub offset: usize,
    pub reason: String,
}

fn bad<T>(offset: usize, reason: impl Into<String>) -> Result<T, BtfError> {
    Err(BtfError { offset, reason: reason.into() })
}

/// One type: the common header plus its trailing records.
#[derive(Clone, Debug)]
pub struct Type {
    pub name_off: u32,
    pub kind: u32,
    pub vlen: u32,
    pub kind_flag: bool,
    /// `size` or `type`, by kind.
    pub size_or_type: u32,
    /// The trailing records, as u32 words.
    pub extra: Vec<u32>,
    /// Byte offset of the type in the section (for errors).
    pub offset: usize,
}

/// A member of a struct or union.
#[derive(Clone, Copy, Debug)]
pub struct Member {
    pub name_off: u32,
    pub type_id: u32,
    /// Bit offset (the bitfield size is dropped).
    pub bit_offset: u32,
}

/// Parsed BTF: types by id (id 0 is void) and the string table.
pub struct Btf<'a> {
    types: Vec<Type>,
    strings: &'a [u8],
}

fn u32_at(data: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(off..off.checked_add(4)?)?.try_into().ok()?))
}

/// Header fields shared by `.BTF` and `.BTF.ext`: magic, version, hdr_len.
fn header(data: &[u8]) -> Result<usize, BtfError> {
    if data.len() < 8 {
        return bad(0, "section shorter than the BTF header");
    }
    let magic = u16::from_le_bytes([data[0], data[1]]);
    if magic != MAGIC {
        return bad(0, alloc::format!("bad magic 0x{magic:04x} (only little-endian BTF is read)"));
    }
    if data[2] != 1 {
        return bad(2, alloc::format!("unsupported BTF version {}", data[2]));
    }
    let hdr_len = u32_at(data, 4).unwrap_or(0) as usize;
    if hdr_len < 8 || hdr_len > data.len() {
        return bad(4, alloc::format!("header length {hdr_len} outside the section"));
    }
    Ok(hdr_len)
}

/// The sub-range `[off, off+len)` of `data` after the header.
fn sub(data: &[u8], hdr_len: usize, off: u32, len: u32, what: &str) -> Result<core::ops::Range<usize>, BtfError> {
    let start = hdr_len.checked_add(off as usize);
    let end = start.and_then(|s| s.checked_add(len as usize));
    match (start, end) {
        (Some(s), Some(e)) if e <= data.len() => Ok(s..e),
        _ => bad(hdr_len, alloc::format!("{what} ({off}+{len}) outside the section")),
    }
}

impl<'a> Btf<'a> {
    /// Parses a `.BTF` section.
    pub fn parse(data: &'a [u8]) -> Result<Btf<'a>, BtfError> {
        let hdr_len = header(data)?;
        if hdr_len < 24 {
            return bad(4, "header too short for type and string offsets");
        }
        let field = |i: usize| u32_at(data, 8 + 4 * i).unwrap_or(0);
        let types_r = sub(data, hdr_len, field(0), field(1), "type section")?;
        let str_r = sub(data, hdr_len, field(2), field(3), "string section")?;
        let strings = &data[str_r];
        let tdata = &data[types_r.clone()];
        let mut types = alloc::vec![Type { name_off: 0, kind: 0, vlen: 0, kind_flag: false, size_or_type: 0, extra: Vec::new(), offset: 0 }];
        let mut off = 0usize;
        while off < tdata.len() {
            let at = types_r.start + off;
            if types.len() > MAX_TYPES {
                return bad(at, "too many types");
            }
            let (Some(name_off), Some(info), Some(st)) = (u32_at(tdata, off), u32_at(tdata, off + 4), u32_at(tdata, off + 8)) else {
                return bad(at, "truncated type");
            };
            let kind = (info >> 24) & 0x1f;
            let vlen = info & 0xffff;
            let words = match kind {
                kind::INT | kind::VAR | kind::DECL_TAG => 1,
                kind::PTR | kind::FWD | kind::TYPEDEF | kind::VOLATILE | kind::CONST | kind::RESTRICT | kind::FUNC | kind::FLOAT | kind::TYPE_TAG => 0,
                kind::ARRAY => 3,
                kind::STRUCT | kind::UNION | kind::DATASEC | kind::ENUM64 => 3 * vlen as usize,
                kind::ENUM | kind::FUNC_PROTO => 2 * vlen as usize,
                _ => return bad(at, alloc::format!("unknown BTF kind {kind}")),
            };
            off += 12;
            let end = off + 4 * words;
            if end > tdata.len() {
                return bad(at, "type runs past the type section");
            }
            let extra = (0..words).map(|i| u32_at(tdata, off + 4 * i).unwrap_or(0)).collect();
            types.push(Type { name_off, kind, vlen, kind_flag: info >> 31 != 0, size_or_type: st, extra, offset: at });
            off = end;
        }
        Ok(Btf { types, strings })
    }

    pub fn type_count(&self) -> usize {
        self.types.len()
    }

    pub fn get(&self, id: u32) -> Option<&Type> {
        self.types.get(id as usize).filter(|_| id != 0)
    }

    /// The NUL-terminated string at `off` ("" when out of range or not UTF-8).
    pub fn str(&self, off: u32) -> &'a str {
        let Some(rest) = self.strings.get(off as usize..) else { return "" };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        core::str::from_utf8(&rest[..end]).unwrap_or("")
    }

    pub fn name(&self, id: u32) -> &'a str {
        self.get(id).map(|t| self.str(t.name_off)).unwrap_or("")
    }

    /// Follows typedefs and modifiers (and, for VARs, the variable's type).
    pub fn skip_mods(&self, mut id: u32) -> Result<u32, BtfError> {
        for _ in 0..MAX_CHAIN {
            let Some(t) = self.get(id) else { return Ok(id) };
            match t.kind {
                kind::TYPEDEF | kind::VOLATILE | kind::CONST | kind::RESTRICT | kind::TYPE_TAG | kind::VAR | kind::DECL_TAG => id = t.size_or_type,
                _ => return Ok(id),
            }
        }
        bad(0, alloc::format!("type chain from id {id} too long"))
    }

    /// `btf__resolve_size`: the byte size of a type.
    pub fn resolve_size(&self, id: u32) -> Result<u64, BtfError> {
        let mut id = id;
        let mut mult: u64 = 1;
        for _ in 0..MAX_CHAIN {
            id = self.skip_mods(id)?;
            let Some(t) = self.get(id) else { return bad(0, "size of void") };
            match t.kind {
                kind::INT | kind::ENUM | kind::ENUM64 | kind::STRUCT | kind::UNION | kind::DATASEC | kind::FLOAT => {
                    return mult.checked_mul(t.size_or_type as u64).ok_or(BtfError { offset: t.offset, reason: "size overflows".into() });
                }
                kind::PTR => return mult.checked_mul(8).ok_or(BtfError { offset: t.offset, reason: "size overflows".into() }),
                kind::ARRAY => {
                    mult = mult.checked_mul(t.extra[2] as u64).ok_or(BtfError { offset: t.offset, reason: "size overflows".into() })?;
                    id = t.extra[0];
                }
                _ => return bad(t.offset, alloc::format!("type {id} (kind {}) has no size", t.kind)),
            }
        }
        bad(0, "array nesting too deep")
    }

    /// Members of a struct or union.
    pub fn members(&self, t: &Type) -> Vec<Member> {
        t.extra
            .chunks_exact(3)
            .map(|m| Member { name_off: m[0], type_id: m[1], bit_offset: if t.kind_flag { m[2] & 0xff_ffff } else { m[2] } })
            .collect()
    }

    /// The DATASEC named `name`: its (var type id, offset, size) entries.
    pub fn datasec(&self, name: &str) -> Option<Vec<(u32, u32, u32)>> {
        let t = self.types.iter().find(|t| t.kind == kind::DATASEC && self.str(t.name_off) == name)?;
        Some(t.extra.chunks_exact(3).map(|e| (e[0], e[1], e[2])).collect())
    }
}

/// What `.BTF.ext` says about CO-RE: the number of relocation records and the first one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreRelos {
    pub count: usize,
    /// Section name, instruction byte offset, kind of the first record.
    pub first: Option<(String, u32, u32)>,
}

/// Reads the CO-RE part of `.BTF.ext` (names resolved in `btf`).
pub fn core_relos(ext: &[u8], btf: Option<&Btf>) -> Result<CoreRelos, BtfError> {
    let hdr_len = header(ext)?;
    if hdr_len < 32 {
        return Ok(CoreRelos { count: 0, first: None });
    }
    let (off, len) = (u32_at(ext, 24).unwrap_or(0), u32_at(ext, 28).unwrap_or(0));
    if len == 0 {
        return Ok(CoreRelos { count: 0, first: None });
    }
    let r = sub(ext, hdr_len, off, len, "CO-RE relocation section")?;
    let d = &ext[r.clone()];
    let rec = u32_at(d, 0).unwrap_or(0) as usize;
    if rec < 16 {
        return bad(r.start, alloc::format!("CO-RE record size {rec} below 16"));
    }
    let (mut at, mut count, mut first) = (4usize, 0usize, None);
    while at + 8 <= d.len() {
        let (sec, n) = (u32_at(d, at).unwrap_or(0), u32_at(d, at + 4).unwrap_or(0) as usize);
        at += 8;
        let Some(bytes) = n.checked_mul(rec).filter(|b| at + b <= d.len()) else {
            return bad(r.start + at, "CO-RE records run past the section");
        };
        if n > 0 && first.is_none() {
            let name = btf.map(|b| String::from(b.str(sec))).unwrap_or_default();
            first = Some((name, u32_at(d, at).unwrap_or(0), u32_at(d, at + 12).unwrap_or(0)));
        }
        count += n;
        at += bytes;
    }
    Ok(CoreRelos { count, first })
}
