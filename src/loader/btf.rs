//! A small, bounded BTF reader: BTF-defined maps (`.maps`), the CO-RE records of
//! `.BTF.ext`, and a target BTF (the kernel's `/sys/kernel/btf/vmlinux`, or any other)
//! to apply them against (`co_re.rs`).
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

/// One type: the common header; its trailing records are [`Btf::extra`].
#[derive(Clone, Debug)]
pub struct Type {
    pub name_off: u32,
    pub kind: u32,
    pub vlen: u32,
    pub kind_flag: bool,
    /// `size` or `type`, by kind.
    pub size_or_type: u32,
    /// The trailing records: `words[extra.0 .. extra.1]`.
    extra: (u32, u32),
    /// Byte offset of the type in the section (for errors).
    pub offset: usize,
}

/// A member of a struct or union.
#[derive(Clone, Copy, Debug)]
pub struct Member {
    pub name_off: u32,
    pub type_id: u32,
    pub bit_offset: u32,
    /// Bits of a bitfield member (0: not a bitfield).
    pub bitfield_size: u32,
}

/// Parsed BTF: types by id (id 0 is void) and the string table. The type section is
/// read once into words; a type is its header and a range of them.
pub struct Btf<'a> {
    types: Vec<Type>,
    words: Vec<u32>,
    strings: &'a [u8],
}

/// BTF_INT_SIGNED in an INT's encoding.
pub const INT_SIGNED: u32 = 1;

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
        let words: Vec<u32> = tdata.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let mut types = alloc::vec![Type { name_off: 0, kind: 0, vlen: 0, kind_flag: false, size_or_type: 0, extra: (0, 0), offset: 0 }];
        let mut w = 0usize;
        while w < words.len() {
            let at = types_r.start + 4 * w;
            if types.len() > MAX_TYPES {
                return bad(at, "too many types");
            }
            let (Some(&name_off), Some(&info), Some(&st)) = (words.get(w), words.get(w + 1), words.get(w + 2)) else {
                return bad(at, "truncated type");
            };
            let kind = (info >> 24) & 0x1f;
            let vlen = info & 0xffff;
            let n = match kind {
                kind::INT | kind::VAR | kind::DECL_TAG => 1,
                kind::PTR | kind::FWD | kind::TYPEDEF | kind::VOLATILE | kind::CONST | kind::RESTRICT | kind::FUNC | kind::FLOAT | kind::TYPE_TAG => 0,
                kind::ARRAY => 3,
                kind::STRUCT | kind::UNION | kind::DATASEC | kind::ENUM64 => 3 * vlen as usize,
                kind::ENUM | kind::FUNC_PROTO => 2 * vlen as usize,
                _ => return bad(at, alloc::format!("unknown BTF kind {kind}")),
            };
            let start = w + 3;
            let end = start + n;
            if end > words.len() {
                return bad(at, "type runs past the type section");
            }
            types.push(Type { name_off, kind, vlen, kind_flag: info >> 31 != 0, size_or_type: st, extra: (start as u32, end as u32), offset: at });
            w = end;
        }
        if tdata.len() % 4 != 0 {
            return bad(types_r.end - tdata.len() % 4, "truncated type");
        }
        Ok(Btf { types, words, strings })
    }

    pub fn type_count(&self) -> usize {
        self.types.len()
    }

    pub fn get(&self, id: u32) -> Option<&Type> {
        self.types.get(id as usize).filter(|_| id != 0)
    }

    /// The type `id`, void (kind 0) for id 0; `None` past the last type.
    pub fn get_or_void(&self, id: u32) -> Option<&Type> {
        self.types.get(id as usize)
    }

    /// A type's trailing records, as u32 words (none for a type of another BTF whose
    /// records lie past this one's).
    pub fn extra(&self, t: &Type) -> &[u32] {
        self.words.get(t.extra.0 as usize..t.extra.1 as usize).unwrap_or_default()
    }

    /// An ARRAY's (element type, index type, number of elements).
    pub fn array(&self, t: &Type) -> (u32, u32, u32) {
        match self.extra(t) {
            [e, i, n] => (*e, *i, *n),
            _ => (0, 0, 0),
        }
    }

    /// An INT's encoding bits (`INT_SIGNED`, char, bool).
    pub fn int_encoding(&self, t: &Type) -> u32 {
        self.extra(t).first().map_or(0, |d| (d >> 24) & 0xf)
    }

    /// An INT's bit offset (non-zero only in deprecated bitfield-like integers).
    pub fn int_offset(&self, t: &Type) -> u32 {
        self.extra(t).first().map_or(0, |d| (d >> 16) & 0xff)
    }

    /// The enumerators of an ENUM or ENUM64: (name offset, value as the 64 bits the
    /// type gives, sign-extended from 32 for a signed ENUM).
    pub fn enumerators(&self, t: &Type) -> Vec<(u32, u64)> {
        match t.kind {
            kind::ENUM => self.extra(t).chunks_exact(2).map(|e| (e[0], if t.kind_flag { e[1] as i32 as i64 as u64 } else { e[1] as u64 })).collect(),
            kind::ENUM64 => self.extra(t).chunks_exact(3).map(|e| (e[0], (e[2] as u64) << 32 | e[1] as u64)).collect(),
            _ => Vec::new(),
        }
    }

    /// A FUNC_PROTO's parameter types.
    pub fn params(&self, t: &Type) -> Vec<u32> {
        self.extra(t).chunks_exact(2).map(|p| p[1]).collect()
    }

    /// Every type id, 1 upwards.
    pub fn ids(&self) -> core::ops::Range<u32> {
        1..self.types.len() as u32
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
                    mult = mult.checked_mul(self.array(t).2 as u64).ok_or(BtfError { offset: t.offset, reason: "size overflows".into() })?;
                    id = self.array(t).0;
                }
                _ => return bad(t.offset, alloc::format!("type {id} (kind {}) has no size", t.kind)),
            }
        }
        bad(0, "array nesting too deep")
    }

    /// Members of a struct or union.
    pub fn members(&self, t: &Type) -> Vec<Member> {
        self.extra(t)
            .chunks_exact(3)
            .map(|m| Member {
                name_off: m[0],
                type_id: m[1],
                bit_offset: if t.kind_flag { m[2] & 0xff_ffff } else { m[2] },
                bitfield_size: if t.kind_flag { m[2] >> 24 } else { 0 },
            })
            .collect()
    }

    /// The DATASEC named `name`: its (var type id, offset, size) entries.
    pub fn datasec(&self, name: &str) -> Option<Vec<(u32, u32, u32)>> {
        let t = self.types.iter().find(|t| t.kind == kind::DATASEC && self.str(t.name_off) == name)?;
        Some(self.extra(t).chunks_exact(3).map(|e| (e[0], e[1], e[2])).collect())
    }
}

/// `.BTF.ext` header bytes holding each sub-section's offset (its length follows).
pub const EXT_LINE_INFO: usize = 16;
pub const EXT_CORE_RELO: usize = 24;

/// The sub-section of `.BTF.ext` whose offset and length are at header byte `field`
/// ([`EXT_LINE_INFO`], [`EXT_CORE_RELO`]): its start in `ext` and its bytes, `None` when
/// absent or empty.
pub fn ext_subsection<'e>(ext: &'e [u8], field: usize, what: &str) -> Result<Option<(usize, &'e [u8])>, BtfError> {
    let hdr_len = header(ext)?;
    if hdr_len < field + 8 {
        return Ok(None);
    }
    let (off, len) = (u32_at(ext, field).unwrap_or(0), u32_at(ext, field + 4).unwrap_or(0));
    if len == 0 {
        return Ok(None);
    }
    let r = sub(ext, hdr_len, off, len, what)?;
    Ok(Some((r.start, &ext[r])))
}

/// One record of a `.BTF.ext` sub-section: its section's name, its offset in `.BTF.ext`,
/// its bytes.
pub type ExtRecord<'e, 'b> = (&'b str, usize, &'e [u8]);

/// The records of a `.BTF.ext` sub-section (`what`, at header byte `field`): a record
/// size of at least `min` bytes, then groups of a section name and its records. Each
/// record comes with its section's name (resolved in `btf`) and its offset in `ext`.
pub fn ext_records<'e, 'b>(ext: &'e [u8], btf: &Btf<'b>, field: usize, what: &str, min: usize) -> Result<Vec<ExtRecord<'e, 'b>>, BtfError> {
    let Some((start, d)) = ext_subsection(ext, field, what)? else { return Ok(Vec::new()) };
    let rec = u32_at(d, 0).unwrap_or(0) as usize;
    if rec < min {
        return Err(BtfError { offset: start, reason: alloc::format!("{what}: record size {rec} below {min}") });
    }
    let (mut at, mut out) = (4usize, Vec::new());
    while at < d.len() {
        let (Some(sec), Some(n)) = (u32_at(d, at), u32_at(d, at + 4)) else {
            return Err(BtfError { offset: start + at, reason: alloc::format!("{what}: truncated record group") });
        };
        at += 8;
        let Some(bytes) = (n as usize).checked_mul(rec).filter(|b| at + b <= d.len()) else {
            return Err(BtfError { offset: start + at, reason: alloc::format!("{what}: records run past the section") });
        };
        let section = btf.str(sec);
        if section.is_empty() {
            return Err(BtfError { offset: start + at - 8, reason: alloc::format!("{what}: record group names no section (string offset {sec})") });
        }
        out.extend((0..n as usize).map(|i| at + i * rec).map(|r| (section, start + r, &d[r..r + rec])));
        at += bytes;
    }
    Ok(out)
}

/// One `struct bpf_line_info`: the source line an instruction came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineInfo {
    pub section: String,
    /// Instruction index in the section.
    pub insn: usize,
    pub file: String,
    /// The line's text, as the compiler recorded it.
    pub text: String,
    pub line: u32,
    pub col: u32,
}

/// The line info of a `.BTF.ext` section (strings resolved in `btf`).
pub fn line_info(ext: &[u8], btf: &Btf) -> Result<Vec<LineInfo>, BtfError> {
    let records = ext_records(ext, btf, EXT_LINE_INFO, "line info", 16)?;
    let mut out = Vec::with_capacity(records.len());
    for (section, at, r) in records {
        let w = |k: usize| u32_at(r, 4 * k).unwrap_or(0);
        if w(0) % 8 != 0 {
            return Err(BtfError { offset: at, reason: alloc::format!("line info: instruction offset {} is not a multiple of 8", w(0)) });
        }
        // line_col: the line in the high 22 bits, the column in the low 10.
        out.push(LineInfo { section: section.into(), insn: w(0) as usize / 8, file: btf.str(w(1)).into(), text: btf.str(w(2)).into(), line: w(3) >> 10, col: w(3) & 0x3ff });
    }
    Ok(out)
}

/// How to show the bytes of a BTF type to people: what `rvbpf run` prints map keys and
/// values with (struct fields by name, integers as numbers, `char` arrays as strings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    Int { size: u8, signed: bool, char: bool, bool: bool },
    Enum { size: u8, values: Vec<(String, i64)> },
    Array { elem: alloc::boxed::Box<Layout>, len: u32, stride: u32 },
    Struct { size: u32, fields: Vec<(String, u32, Layout)> },
    /// Bytes shown as hex: pointers, unions, floats, bitfields, what is nested too deep.
    Raw { size: u32 },
}

impl Layout {
    /// The layout of type `id` (typedefs, `const`, `volatile` looked through).
    pub fn of(btf: &Btf, id: u32) -> Layout {
        Layout::build(btf, id, 0)
    }

    fn build(btf: &Btf, id: u32, depth: u32) -> Layout {
        let raw = || Layout::Raw { size: btf.resolve_size(id).ok().and_then(|s| u32::try_from(s).ok()).unwrap_or(0) };
        let Some(t) = btf.skip_mods(id).ok().and_then(|i| btf.get(i)) else { return Layout::Raw { size: 0 } };
        if depth > 8 {
            return raw();
        }
        match t.kind {
            kind::INT if btf.int_offset(t) == 0 && matches!(t.size_or_type, 1 | 2 | 4 | 8) => {
                let enc = btf.int_encoding(t);
                Layout::Int { size: t.size_or_type as u8, signed: enc & 1 != 0, char: enc & 2 != 0 || btf.str(t.name_off).contains("char"), bool: enc & 4 != 0 }
            }
            kind::ENUM | kind::ENUM64 if matches!(t.size_or_type, 1 | 2 | 4 | 8) => {
                let values = btf.enumerators(t).into_iter().map(|(n, v)| (btf.str(n).into(), v as i64)).collect();
                Layout::Enum { size: t.size_or_type as u8, values }
            }
            kind::ARRAY => {
                let (elem, _, len) = btf.array(t);
                let stride = btf.resolve_size(elem).ok().and_then(|s| u32::try_from(s).ok()).unwrap_or(0);
                Layout::Array { elem: alloc::boxed::Box::new(Layout::build(btf, elem, depth + 1)), len, stride }
            }
            kind::STRUCT => {
                let members = btf.members(t);
                if members.iter().any(|m| m.bitfield_size != 0 || m.bit_offset % 8 != 0) {
                    return raw();
                }
                let fields = members.iter().map(|m| (btf.str(m.name_off).into(), m.bit_offset / 8, Layout::build(btf, m.type_id, depth + 1))).collect();
                Layout::Struct { size: t.size_or_type, fields }
            }
            _ => raw(),
        }
    }
}
