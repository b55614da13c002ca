//! CO-RE: the relocation records of `.BTF.ext` applied against a target BTF, by libbpf's
//! rules (`relo_core.c`).
//!
//! Each record names an instruction, a local type (in the object's `.BTF`), an access
//! string (`0:1:2`: the getelementptr-style path to a field, an array element or an
//! enumerator) and a kind. The local type's candidates in the target are the types of a
//! compatible kind with the same name once a `___flavor` suffix is dropped. Each
//! candidate that matches the access gives a value; all of them must agree. The
//! instruction carries the local (compile-time) value and is checked against it, then
//! patched to the target's. What cannot be satisfied is poisoned, as libbpf does: the
//! instruction becomes `call 0xbad2310`, which the verifier refuses only where it is
//! reachable. What libbpf refuses to load (a malformed record, an ambiguous decision, an
//! instruction that does not carry the local value) is an error naming the instruction.
//!
//! Everything is bounded: access strings by [`MAX_SPEC_LEN`], type chains and nested
//! matches by [`MAX_DEPTH`].

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::btf::{self, kind, Btf, BtfError, Type};
use crate::isa::RawInsn;

/// The helper id a poisoned instruction calls: "bad relo". The verifier names it
/// `unknown#195896080` where it is reachable.
pub const POISON_IMM: i32 = 0xbad2310;

/// Where the kernel keeps its own BTF on Linux: the default target.
pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Most accessors in one access string (libbpf's `BPF_CORE_SPEC_MAX_LEN`).
pub const MAX_SPEC_LEN: usize = 64;
/// Bound on type chains and on the nesting of type comparisons.
pub const MAX_DEPTH: u32 = 32;

/// `enum bpf_core_relo_kind`.
pub mod relo {
    pub const FIELD_BYTE_OFFSET: u32 = 0;
    pub const FIELD_BYTE_SIZE: u32 = 1;
    pub const FIELD_EXISTS: u32 = 2;
    pub const FIELD_SIGNED: u32 = 3;
    pub const FIELD_LSHIFT_U64: u32 = 4;
    pub const FIELD_RSHIFT_U64: u32 = 5;
    pub const TYPE_ID_LOCAL: u32 = 6;
    pub const TYPE_ID_TARGET: u32 = 7;
    pub const TYPE_EXISTS: u32 = 8;
    pub const TYPE_SIZE: u32 = 9;
    pub const ENUMVAL_EXISTS: u32 = 10;
    pub const ENUMVAL_VALUE: u32 = 11;
    pub const TYPE_MATCHES: u32 = 12;
}

/// libbpf's name of a relocation kind (as its debug log prints it).
pub fn kind_name(k: u32) -> &'static str {
    match k {
        relo::FIELD_BYTE_OFFSET => "byte_off",
        relo::FIELD_BYTE_SIZE => "byte_sz",
        relo::FIELD_EXISTS => "field_exists",
        relo::FIELD_SIGNED => "signed",
        relo::FIELD_LSHIFT_U64 => "lshift_u64",
        relo::FIELD_RSHIFT_U64 => "rshift_u64",
        relo::TYPE_ID_LOCAL => "local_type_id",
        relo::TYPE_ID_TARGET => "target_type_id",
        relo::TYPE_EXISTS => "type_exists",
        relo::TYPE_SIZE => "type_size",
        relo::ENUMVAL_EXISTS => "enumval_exists",
        relo::ENUMVAL_VALUE => "enumval_value",
        relo::TYPE_MATCHES => "type_matches",
        _ => "unknown",
    }
}

fn is_field(k: u32) -> bool {
    k <= relo::FIELD_RSHIFT_U64
}

fn is_type(k: u32) -> bool {
    matches!(k, relo::TYPE_ID_LOCAL | relo::TYPE_ID_TARGET | relo::TYPE_EXISTS | relo::TYPE_SIZE | relo::TYPE_MATCHES)
}

fn is_enumval(k: u32) -> bool {
    matches!(k, relo::ENUMVAL_EXISTS | relo::ENUMVAL_VALUE)
}

/// One `struct bpf_core_relo` of `.BTF.ext`, with its section's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub section: String,
    /// Byte offset of the instruction in its section.
    pub insn_off: u32,
    pub type_id: u32,
    pub access_str_off: u32,
    pub kind: u32,
}

fn u32_at(data: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(off..off.checked_add(4)?)?.try_into().ok()?))
}

/// The CO-RE records of a `.BTF.ext` section (section names resolved in `btf`).
pub fn records(ext: &[u8], btf: &Btf) -> Result<Vec<Record>, BtfError> {
    let records = btf::ext_records(ext, btf, btf::EXT_CORE_RELO, "CO-RE relocation section", 16)?;
    Ok(records
        .into_iter()
        .map(|(section, _, r)| {
            let w = |k: usize| u32_at(r, 4 * k).unwrap_or(0);
            Record { section: section.into(), insn_off: w(0), type_id: w(1), access_str_off: w(2), kind: w(3) }
        })
        .collect())
}

/// What one relocation did, for listings (`rvbpf load`, `--json`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub section: String,
    /// Instruction index in the section.
    pub insn: usize,
    pub kind: u32,
    pub local_id: u32,
    /// `struct task_struct`, `enum foo`, `typedef u64`.
    pub local_type: String,
    /// The raw access string (`0:1`).
    pub access: String,
    /// The access in C syntax with its offset (`task_struct.pid (0:62 @ offset 2456)`).
    pub local_spec: String,
    /// The chosen target type (id and name) and its spec, when one matched.
    pub target: Option<(u32, String, String)>,
    pub outcome: Outcome,
}

/// A relocation's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The value the instruction carried and the value it now carries.
    Patched { orig: u64, new: u64 },
    /// Not satisfiable: the instruction is now `call 0xbad2310`.
    Poisoned { reason: String },
}

/// One high-level accessor: a named field (`name`) or an array index.
#[derive(Clone, Copy, Debug)]
struct Acc<'b> {
    type_id: u32,
    idx: u32,
    name: Option<&'b str>,
}

/// A parsed access: raw indices, the named fields and array indices among them, and the
/// bit offset they reach.
#[derive(Clone, Debug)]
struct Spec<'b> {
    root: u32,
    kind: u32,
    raw: Vec<u32>,
    accs: Vec<Acc<'b>>,
    bit_offset: u64,
}

impl<'b> Spec<'b> {
    fn new(root: u32, kind: u32) -> Spec<'b> {
        Spec { root, kind, raw: Vec::new(), accs: Vec::new(), bit_offset: 0 }
    }
}

/// Why a relocation failed: a poisoning (the load goes on) or an error (it stops).
enum Fail {
    Poison(String),
    Error(String),
}

impl From<String> for Fail {
    fn from(s: String) -> Fail {
        Fail::Error(s)
    }
}

impl From<&str> for Fail {
    fn from(s: &str) -> Fail {
        Fail::Error(s.into())
    }
}

impl From<BtfError> for Fail {
    fn from(e: BtfError) -> Fail {
        Fail::Error(e.reason)
    }
}

/// The length of a name without its `___flavor` suffix (the last `___` that has a
/// non-underscore on each side).
pub fn essential_len(name: &str) -> usize {
    let b = name.as_bytes();
    let n = b.len();
    for i in (0..n.saturating_sub(4)).rev() {
        if b[i] != b'_' && b[i + 1] == b'_' && b[i + 2] == b'_' && b[i + 3] == b'_' && b[i + 4] != b'_' {
            return i + 1;
        }
    }
    n
}

fn essential(name: &str) -> &str {
    &name[..essential_len(name)]
}

fn is_composite(t: &Type) -> bool {
    matches!(t.kind, kind::STRUCT | kind::UNION)
}

fn is_any_enum(t: &Type) -> bool {
    matches!(t.kind, kind::ENUM | kind::ENUM64)
}

/// Kinds CO-RE treats as the same: equal, or both enums.
fn kinds_compat(a: &Type, b: &Type) -> bool {
    a.kind == b.kind || (is_any_enum(a) && is_any_enum(b))
}

/// Skips const, volatile, restrict, type tags and typedefs (not VAR, unlike
/// [`Btf::skip_mods`]): the resolved id and type. `None` for an id past the last type.
fn strip<'t>(b: &'t Btf, mut id: u32) -> Result<(u32, &'t Type), String> {
    for _ in 0..MAX_DEPTH {
        let t = b.get_or_void(id).ok_or_else(|| format!("type id {id} does not exist"))?;
        match t.kind {
            kind::TYPEDEF | kind::VOLATILE | kind::CONST | kind::RESTRICT | kind::TYPE_TAG => id = t.size_or_type,
            _ => return Ok((id, t)),
        }
    }
    Err(format!("type chain from id {id} too long"))
}

fn size(b: &Btf, id: u32) -> Result<u64, String> {
    b.resolve_size(id).map_err(|e| e.reason)
}

fn kind_str(k: u32) -> &'static str {
    match k {
        0 => "void",
        kind::INT => "int",
        kind::PTR => "ptr",
        kind::ARRAY => "array",
        kind::STRUCT => "struct",
        kind::UNION => "union",
        kind::ENUM | kind::ENUM64 => "enum",
        kind::FWD => "fwd",
        kind::TYPEDEF => "typedef",
        kind::VOLATILE => "volatile",
        kind::CONST => "const",
        kind::RESTRICT => "restrict",
        kind::FUNC => "func",
        kind::FUNC_PROTO => "func_proto",
        kind::VAR => "var",
        kind::DATASEC => "datasec",
        kind::FLOAT => "float",
        kind::DECL_TAG => "decl_tag",
        kind::TYPE_TAG => "type_tag",
        _ => "unknown",
    }
}

/// `struct task_struct`, or `<anon>` for a type without a name.
pub fn type_label(b: &Btf, id: u32) -> String {
    let Some(t) = b.get_or_void(id) else { return format!("[{id}] ?") };
    let name = b.str(t.name_off);
    format!("{} {}", kind_str(t.kind), if name.is_empty() { "<anon>" } else { name })
}

/// A spec in libbpf's C-like form: `task_struct.comm[3] (0:5:3 @ offset 20)`.
fn spec_text(b: &Btf, spec: &Spec) -> String {
    let root = b.name(spec.root);
    if is_type(spec.kind) {
        return String::from(root);
    }
    if is_enumval(spec.kind) {
        let Ok((_, t)) = strip(b, spec.root) else { return String::from(root) };
        let i = spec.raw.first().copied().unwrap_or(0) as usize;
        return match b.enumerators(t).get(i) {
            Some(&(n, v)) if t.kind_flag => format!("{root}::{} = {}", b.str(n), v as i64),
            Some(&(n, v)) => format!("{root}::{} = {v}", b.str(n)),
            None => String::from(root),
        };
    }
    let mut s = String::from(root);
    for (i, a) in spec.accs.iter().enumerate() {
        match a.name {
            Some(n) => {
                s.push('.');
                s.push_str(n);
            }
            None if i > 0 || a.idx > 0 => s.push_str(&format!("[{}]", a.idx)),
            None => {}
        }
    }
    let raw: Vec<String> = spec.raw.iter().map(|r| r.to_string()).collect();
    let off = if spec.bit_offset % 8 != 0 { format!("{}.{}", spec.bit_offset / 8, spec.bit_offset % 8) } else { format!("{}", spec.bit_offset / 8) };
    format!("{s} ({} @ offset {off})", raw.join(":"))
}

/// A flexible array: the last member of its struct, declared with no elements.
fn is_flex(b: &Btf, prev: Option<&Acc>, nelems: u32) -> bool {
    let Some(prev) = prev else { return false };
    if prev.name.is_none() || nelems > 0 {
        return false;
    }
    b.get_or_void(prev.type_id).is_some_and(|t| prev.idx + 1 == t.vlen)
}

/// `bpf_core_parse_spec`: the local access, checked against the local BTF.
fn parse_spec<'b>(b: &'b Btf, rec: &Record) -> Result<Spec<'b>, String> {
    let text = b.str(rec.access_str_off);
    if text.is_empty() || text.starts_with(':') {
        return Err(format!("access string {text:?} is empty or malformed"));
    }
    let mut spec = Spec::new(rec.type_id, rec.kind);
    if is_type(rec.kind) {
        return if text == "0" { Ok(spec) } else { Err(format!("access string {text:?} of a type relocation is not \"0\"")) };
    }
    for part in text.split(':') {
        let v: u32 = part.parse().map_err(|_| format!("access string {text:?}: {part:?} is not an index"))?;
        if spec.raw.len() == MAX_SPEC_LEN {
            return Err(format!("access string {text:?} is longer than {MAX_SPEC_LEN} accessors"));
        }
        spec.raw.push(v);
    }
    let (mut id, t) = strip(b, rec.type_id)?;
    let first = spec.raw[0];
    if is_enumval(rec.kind) {
        let en = b.enumerators(t);
        if !is_any_enum(t) || spec.raw.len() > 1 || first as usize >= en.len() {
            return Err(format!("access string {text:?} is not an enumerator of {}", type_label(b, id)));
        }
        spec.accs.push(Acc { type_id: id, idx: first, name: Some(b.str(en[first as usize].0)) });
        return Ok(spec);
    }
    if !is_field(rec.kind) {
        return Err(format!("unknown CO-RE relocation kind {}", rec.kind));
    }
    spec.accs.push(Acc { type_id: id, idx: first, name: None });
    spec.bit_offset = (first as u64).checked_mul(size(b, id)?).and_then(|v| v.checked_mul(8)).ok_or("offset overflows")?;
    for &idx in &spec.raw[1..] {
        let (sid, t) = strip(b, id)?;
        id = sid;
        if is_composite(t) {
            let members = b.members(t);
            let m = members.get(idx as usize).ok_or_else(|| format!("access string {text:?}: member {idx} of {} does not exist", type_label(b, id)))?;
            spec.bit_offset += m.bit_offset as u64;
            if m.name_off != 0 {
                let name = b.str(m.name_off);
                if name.is_empty() {
                    return Err(format!("member {idx} of {} has an unreadable name", type_label(b, id)));
                }
                spec.accs.push(Acc { type_id: id, idx, name: Some(name) });
            }
            id = m.type_id;
        } else if t.kind == kind::ARRAY {
            let (elem, _, nelems) = b.array(t);
            let (eid, _) = strip(b, elem)?;
            if !is_flex(b, spec.accs.last(), nelems) && idx >= nelems {
                return Err(format!("access string {text:?}: index {idx} past the {nelems} elements of the array"));
            }
            id = eid;
            spec.accs.push(Acc { type_id: id, idx, name: None });
            let step = size(b, id)?;
            spec.bit_offset = (idx as u64).checked_mul(step).and_then(|v| v.checked_mul(8)).and_then(|v| v.checked_add(spec.bit_offset)).ok_or("offset overflows")?;
        } else {
            return Err(format!("access string {text:?} goes into {}, which has no members or elements", type_label(b, id)));
        }
    }
    Ok(spec)
}

fn names_essentially_equal(a: &str, b: &str) -> bool {
    essential(a) == essential(b)
}

/// `bpf_core_fields_are_compat`.
fn fields_compat(lb: &Btf, mut lid: u32, tb: &Btf, mut tid: u32) -> Result<bool, String> {
    for _ in 0..MAX_DEPTH {
        let (_, lt) = strip(lb, lid)?;
        let (_, tt) = strip(tb, tid)?;
        if is_composite(lt) && is_composite(tt) {
            return Ok(true);
        }
        if !kinds_compat(lt, tt) {
            return Ok(false);
        }
        match lt.kind {
            kind::PTR | kind::FLOAT => return Ok(true),
            kind::FWD | kind::ENUM | kind::ENUM64 => {
                let (ln, tn) = (lb.str(lt.name_off), tb.str(tt.name_off));
                return Ok(essential_len(ln) == 0 || essential_len(tn) == 0 || names_essentially_equal(ln, tn));
            }
            kind::INT => return Ok(lb.int_offset(lt) == 0 && tb.int_offset(tt) == 0),
            kind::ARRAY => {
                lid = lb.array(lt).0;
                tid = tb.array(tt).0;
            }
            _ => return Ok(false),
        }
    }
    Err("array nesting too deep".into())
}

/// `bpf_core_match_member`: finds the local accessor's field among the members of
/// target type `tid`, searching anonymous members too; extends `spec` on a match and
/// returns the field's type.
fn match_member<'t>(lb: &Btf, la: &Acc, tb: &'t Btf, tid: u32, spec: &mut Spec<'t>, depth: u32) -> Result<Option<u32>, String> {
    if depth > MAX_DEPTH {
        return Err("anonymous members nest too deeply".into());
    }
    let (tid, tt) = strip(tb, tid)?;
    if !is_composite(tt) {
        return Ok(None);
    }
    let lt = lb.get_or_void(la.type_id).ok_or("local accessor type does not exist")?;
    let lm = *lb.members(lt).get(la.idx as usize).ok_or("local accessor member does not exist")?;
    let lname = lb.str(lm.name_off);
    for (i, m) in tb.members(tt).into_iter().enumerate() {
        if spec.raw.len() == MAX_SPEC_LEN {
            return Err(format!("target spec longer than {MAX_SPEC_LEN} accessors"));
        }
        spec.bit_offset += m.bit_offset as u64;
        spec.raw.push(i as u32);
        let tname = tb.str(m.name_off);
        if tname.is_empty() {
            if let Some(found) = match_member(lb, la, tb, m.type_id, spec, depth + 1)? {
                return Ok(Some(found));
            }
        } else if tname == lname {
            return if fields_compat(lb, lm.type_id, tb, m.type_id)? {
                spec.accs.push(Acc { type_id: tid, idx: i as u32, name: Some(tname) });
                Ok(Some(m.type_id))
            } else {
                Ok(None)
            };
        }
        spec.bit_offset -= m.bit_offset as u64;
        spec.raw.pop();
    }
    Ok(None)
}

/// `bpf_core_spec_match`: the target spec of candidate `tid`, or `None` when it does not
/// match.
fn spec_match<'t>(lb: &Btf, local: &Spec, tb: &'t Btf, tid: u32) -> Result<Option<Spec<'t>>, String> {
    let mut ts = Spec::new(tid, local.kind);
    if is_type(local.kind) {
        let ok = if local.kind == relo::TYPE_MATCHES { types_match(lb, local.root, tb, tid, false, MAX_DEPTH)? } else { types_compat(lb, local.root, tb, tid, MAX_DEPTH)? };
        return Ok(ok.then_some(ts));
    }
    if is_enumval(local.kind) {
        let (tid, tt) = strip(tb, tid)?;
        if !is_any_enum(tt) {
            return Ok(None);
        }
        let want = essential(local.accs[0].name.unwrap_or(""));
        for (i, (n, _)) in tb.enumerators(tt).into_iter().enumerate() {
            let name = tb.str(n);
            if essential(name) == want {
                ts.accs.push(Acc { type_id: tid, idx: i as u32, name: Some(name) });
                ts.raw.push(i as u32);
                return Ok(Some(ts));
            }
        }
        return Ok(None);
    }
    let mut tid = tid;
    for (i, la) in local.accs.iter().enumerate() {
        let (sid, tt) = strip(tb, tid)?;
        tid = sid;
        if la.name.is_some() {
            match match_member(lb, la, tb, tid, &mut ts, 0)? {
                Some(next) => tid = next,
                None => return Ok(None),
            }
        } else {
            if i > 0 {
                if tt.kind != kind::ARRAY {
                    return Ok(None);
                }
                let (elem, _, nelems) = tb.array(tt);
                if !is_flex(tb, ts.accs.last(), nelems) && la.idx >= nelems {
                    return Ok(None);
                }
                tid = strip(tb, elem)?.0;
            }
            if ts.raw.len() == MAX_SPEC_LEN {
                return Err(format!("target spec longer than {MAX_SPEC_LEN} accessors"));
            }
            ts.accs.push(Acc { type_id: tid, idx: la.idx, name: None });
            ts.raw.push(la.idx);
            let step = size(tb, tid)?;
            ts.bit_offset = (la.idx as u64).checked_mul(step).and_then(|v| v.checked_mul(8)).and_then(|v| v.checked_add(ts.bit_offset)).ok_or("offset overflows")?;
        }
    }
    Ok(Some(ts))
}

/// `bpf_core_types_are_compat`: for type-based relocations.
fn types_compat(lb: &Btf, lid: u32, tb: &Btf, tid: u32, level: u32) -> Result<bool, String> {
    let (l0, t0) = (lb.get_or_void(lid).ok_or("local type does not exist")?, tb.get_or_void(tid).ok_or("target type does not exist")?);
    if !kinds_compat(l0, t0) {
        return Ok(false);
    }
    let (mut lid, mut tid) = (lid, tid);
    for _ in 0..MAX_DEPTH {
        let (_, lt) = strip(lb, lid)?;
        let (_, tt) = strip(tb, tid)?;
        if !kinds_compat(lt, tt) {
            return Ok(false);
        }
        match lt.kind {
            0 | kind::STRUCT | kind::UNION | kind::ENUM | kind::ENUM64 | kind::FWD => return Ok(true),
            kind::INT => return Ok(lb.int_offset(lt) == 0 && tb.int_offset(tt) == 0),
            kind::PTR => (lid, tid) = (lt.size_or_type, tt.size_or_type),
            kind::ARRAY => (lid, tid) = (lb.array(lt).0, tb.array(tt).0),
            kind::FUNC_PROTO => {
                let (lp, tp) = (lb.params(lt), tb.params(tt));
                if lp.len() != tp.len() {
                    return Ok(false);
                }
                for (a, b) in lp.into_iter().zip(tp) {
                    if level == 0 {
                        return Err("function prototypes nest too deeply".into());
                    }
                    if !types_compat(lb, strip(lb, a)?.0, tb, strip(tb, b)?.0, level - 1)? {
                        return Ok(false);
                    }
                }
                (lid, tid) = (strip(lb, lt.size_or_type)?.0, strip(tb, tt.size_or_type)?.0);
            }
            _ => return Ok(false),
        }
    }
    Err("type chain too deep".into())
}

/// Names equal once flavors are dropped; an anonymous target matches only an anonymous
/// local.
fn names_match(lb: &Btf, loff: u32, tb: &Btf, toff: u32) -> bool {
    let (l, t) = (lb.str(loff), tb.str(toff));
    if t.is_empty() {
        return l.is_empty();
    }
    names_essentially_equal(l, t)
}

/// `bpf_core_types_match`: for `TYPE_MATCHES`.
fn types_match(lb: &Btf, lid: u32, tb: &Btf, tid: u32, behind_ptr: bool, level: u32) -> Result<bool, String> {
    if level == 0 {
        return Err("types nest too deeply".into());
    }
    let (mut lid, mut tid, mut behind_ptr) = (lid, tid, behind_ptr);
    for _ in 0..MAX_DEPTH {
        let (_, lt) = strip(lb, lid)?;
        let (_, tt) = strip(tb, tid)?;
        if !names_match(lb, lt.name_off, tb, tt.name_off) {
            return Ok(false);
        }
        let (lk, tk) = (lt.kind, tt.kind);
        match lk {
            0 => return Ok(lk == tk),
            kind::FWD => {
                let lf = lt.kind_flag;
                return Ok(if behind_ptr && lk != tk { (tk == kind::STRUCT && !lf) || (tk == kind::UNION && lf) } else { lk == tk && lf == tt.kind_flag });
            }
            kind::ENUM | kind::ENUM64 => {
                if !is_any_enum(tt) || lt.size_or_type != tt.size_or_type {
                    return Ok(false);
                }
                let te = tb.enumerators(tt);
                let le = lb.enumerators(lt);
                return Ok(le.len() <= te.len() && le.iter().all(|(ln, _)| te.iter().any(|(tn, _)| names_match(lb, *ln, tb, *tn))));
            }
            kind::STRUCT | kind::UNION => {
                if behind_ptr {
                    return Ok(lk == tk || (tk == kind::FWD && (lk == kind::UNION) == tt.kind_flag));
                }
                if lk != tk {
                    return Ok(false);
                }
                let (lm, tm) = (lb.members(lt), tb.members(tt));
                if lm.len() > tm.len() {
                    return Ok(false);
                }
                for l in &lm {
                    let mut matched = false;
                    for t in &tm {
                        if names_match(lb, l.name_off, tb, t.name_off) && types_match(lb, l.type_id, tb, t.type_id, behind_ptr, level - 1)? {
                            matched = true;
                            break;
                        }
                    }
                    if !matched {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            kind::INT => {
                let sign = |b: &Btf, t: &Type| b.int_encoding(t) & btf::INT_SIGNED;
                return Ok(lk == tk && lt.size_or_type == tt.size_or_type && sign(lb, lt) == sign(tb, tt));
            }
            kind::PTR => {
                if lk != tk {
                    return Ok(false);
                }
                behind_ptr = true;
                (lid, tid) = (lt.size_or_type, tt.size_or_type);
            }
            kind::ARRAY => {
                let (la, ta) = (lb.array(lt), tb.array(tt));
                if lk != tk || la.2 != ta.2 {
                    return Ok(false);
                }
                (lid, tid) = (la.0, ta.0);
            }
            kind::FUNC_PROTO => {
                if lk != tk {
                    return Ok(false);
                }
                let (lp, tp) = (lb.params(lt), tb.params(tt));
                if lp.len() != tp.len() {
                    return Ok(false);
                }
                for (a, b) in lp.into_iter().zip(tp) {
                    if !types_match(lb, a, tb, b, behind_ptr, level - 1)? {
                        return Ok(false);
                    }
                }
                (lid, tid) = (lt.size_or_type, tt.size_or_type);
            }
            _ => return Ok(false),
        }
    }
    Err("type chain too deep".into())
}

/// A relocation's value on one side (local or target).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Value {
    val: u64,
    /// Byte size of the field a load or store reads (0: not a plain field).
    mem_size: u32,
    /// The field's type (for a memory size adjustment).
    type_id: u32,
}

/// `bpf_core_calc_field_relo`: a field relocation's value on one side. `validate` tells
/// whether the instruction's value can be checked against the local one.
fn field_value(b: &Btf, k: u32, spec: Option<&Spec>) -> Result<(Value, bool), Fail> {
    if k == relo::FIELD_EXISTS {
        return Ok((Value { val: spec.is_some() as u64, ..Value::default() }, true));
    }
    let Some(spec) = spec else { return Err(Fail::Poison("no target type has the field".into())) };
    let acc = spec.accs[spec.accs.len() - 1];
    if acc.name.is_none() {
        let sz = size(b, acc.type_id)?;
        let sz32 = u32::try_from(sz).map_err(|_| "element larger than 4 GiB".to_string())?;
        return match k {
            relo::FIELD_BYTE_OFFSET => Ok((Value { val: spec.bit_offset / 8, mem_size: sz32, type_id: acc.type_id }, true)),
            relo::FIELD_BYTE_SIZE => Ok((Value { val: sz, ..Value::default() }, true)),
            _ => Err(Fail::Error(format!("{} cannot be applied to an array element", kind_name(k)))),
        };
    }
    let t = b.get_or_void(acc.type_id).ok_or("accessor type does not exist")?;
    let m = *b.members(t).get(acc.idx as usize).ok_or("accessor member does not exist")?;
    let (fid, mt) = strip(b, m.type_id)?;
    let bit_off = spec.bit_offset;
    let mut bit_sz = m.bitfield_size as u64;
    let bitfield = bit_sz > 0;
    let (byte_off, byte_sz);
    if bitfield {
        let mut sz = mt.size_or_type as u64;
        if sz == 0 {
            return Err(Fail::Error("bitfield of a type without size".into()));
        }
        let mut off = bit_off / 8 / sz * sz;
        while bit_off + bit_sz - off * 8 > sz * 8 {
            if sz >= 8 {
                return Err(Fail::Error("bitfield cannot be read with a 64-bit load".into()));
            }
            sz *= 2;
            off = bit_off / 8 / sz * sz;
        }
        (byte_off, byte_sz) = (off, sz);
    } else {
        byte_sz = size(b, fid)?;
        byte_off = bit_off / 8;
        bit_sz = byte_sz * 8;
    }
    let mut validate = !bitfield;
    let v = match k {
        relo::FIELD_BYTE_OFFSET => {
            let mem_size = if bitfield { 0 } else { u32::try_from(byte_sz).unwrap_or(0) };
            Value { val: byte_off, mem_size, type_id: if bitfield { 0 } else { fid } }
        }
        relo::FIELD_BYTE_SIZE => Value { val: byte_sz, ..Value::default() },
        relo::FIELD_SIGNED => {
            validate = true;
            let signed = (is_any_enum(mt) && mt.kind_flag) || (mt.kind == kind::INT && b.int_encoding(mt) & btf::INT_SIGNED != 0);
            Value { val: signed as u64, ..Value::default() }
        }
        relo::FIELD_LSHIFT_U64 => Value { val: 64u64.wrapping_sub(bit_off + bit_sz - byte_off * 8), ..Value::default() },
        relo::FIELD_RSHIFT_U64 => {
            validate = true;
            Value { val: 64u64.wrapping_sub(bit_sz), ..Value::default() }
        }
        _ => return Err(Fail::Error(format!("unknown field relocation kind {k}"))),
    };
    Ok((v, validate))
}

/// `bpf_core_calc_type_relo` on one side.
fn type_value(b: &Btf, k: u32, spec: Option<&Spec>) -> Result<u64, Fail> {
    let Some(spec) = spec else { return Ok(0) };
    match k {
        relo::TYPE_ID_TARGET => Ok(spec.root as u64),
        relo::TYPE_EXISTS | relo::TYPE_MATCHES => Ok(1),
        relo::TYPE_SIZE => Ok(size(b, spec.root)?),
        _ => Err(Fail::Error(format!("unknown type relocation kind {k}"))),
    }
}

/// `bpf_core_calc_enumval_relo` on one side.
fn enum_value(b: &Btf, k: u32, spec: Option<&Spec>) -> Result<u64, Fail> {
    match (k, spec) {
        (relo::ENUMVAL_EXISTS, s) => Ok(s.is_some() as u64),
        (relo::ENUMVAL_VALUE, None) => Err(Fail::Poison("no target enum has the enumerator".into())),
        (relo::ENUMVAL_VALUE, Some(s)) => {
            let t = b.get_or_void(s.accs[0].type_id).ok_or("enum does not exist")?;
            Ok(b.enumerators(t).get(s.accs[0].idx as usize).map_or(0, |e| e.1))
        }
        _ => Err(Fail::Error(format!("unknown enum relocation kind {k}"))),
    }
}

/// A relocation's decision: the local and target values, whether the instruction's value
/// is checked, and whether a load or store may change its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Decision {
    orig: Value,
    new: Value,
    validate: bool,
    bad_mem_size: bool,
}

/// `bpf_core_calc_relo`: local side from `ls`, target side from `ts` (`None`: no
/// candidate matched).
fn decide(lb: &Btf, ls: &Spec, tb: &Btf, ts: Option<&Spec>) -> Result<Decision, Fail> {
    let k = ls.kind;
    if is_field(k) {
        let (orig, validate) = field_value(lb, k, Some(ls))?;
        let (new, _) = field_value(tb, k, ts)?;
        let mut bad_mem_size = false;
        if orig.mem_size != new.mem_size {
            let (ot, nt) = (lb.get_or_void(orig.type_id), tb.get_or_void(new.type_id));
            let ok = match (ot, nt) {
                (Some(o), Some(n)) if o.kind == kind::PTR && n.kind == kind::PTR => true,
                (Some(o), Some(n)) if o.kind == kind::INT && n.kind == kind::INT => lb.int_encoding(o) != btf::INT_SIGNED && tb.int_encoding(n) != btf::INT_SIGNED,
                _ => false,
            };
            bad_mem_size = !ok;
        }
        return Ok(Decision { orig, new, validate, bad_mem_size });
    }
    let (orig, new, validate) = if is_type(k) {
        (type_value(lb, k, Some(ls))?, type_value(tb, k, ts)?, k != relo::TYPE_ID_TARGET)
    } else {
        (enum_value(lb, k, Some(ls))?, enum_value(tb, k, ts)?, true)
    };
    Ok(Decision { orig: Value { val: orig, ..Value::default() }, new: Value { val: new, ..Value::default() }, validate, bad_mem_size: false })
}

fn poison(insns: &mut [RawInsn], i: usize) {
    let lddw = insns[i].opcode == 0x18;
    let call = RawInsn { opcode: 0x85, dst: 0, src: 0, off: 0, imm: POISON_IMM };
    insns[i] = call;
    if lddw {
        if let Some(next) = insns.get_mut(i + 1) {
            *next = call;
        }
    }
}

fn mem_size_bits(bytes: u32) -> Option<u8> {
    match bytes {
        1 => Some(0x10),
        2 => Some(0x08),
        4 => Some(0x00),
        8 => Some(0x18),
        _ => None,
    }
}

/// `bpf_core_patch_insn`: checks instruction `i` carries the local value and writes the
/// target's. A failed memory-size adjustment poisons.
fn patch(insns: &mut [RawInsn], i: usize, d: &Decision) -> Result<Outcome, String> {
    let insn = insns[i];
    let (orig, new) = (d.orig.val, d.new.val);
    match insn.opcode & 7 {
        0x04 | 0x07 => {
            if insn.opcode & 0x08 != 0 {
                return Err("ALU instruction with a register source cannot be relocated".into());
            }
            if d.validate && insn.imm as i64 as u64 != orig {
                return Err(format!("ALU instruction carries {}, expected the local value {orig}", insn.imm));
            }
            insns[i].imm = new as i32;
            Ok(Outcome::Patched { orig: insn.imm as i64 as u64, new })
        }
        0x01..=0x03 => {
            if d.validate && insn.off as i64 as u64 != orig {
                return Err(format!("load/store carries offset {}, expected the local value {orig}", insn.off));
            }
            if new > i16::MAX as u64 {
                return Err(format!("offset {new} does not fit a load/store's 16 bits"));
            }
            if d.bad_mem_size {
                poison(insns, i);
                return Ok(Outcome::Poisoned { reason: "the field changed size and is neither a pointer nor an unsigned integer".into() });
            }
            insns[i].off = new as i16;
            if d.new.mem_size != d.orig.mem_size {
                let have = match insn.opcode & 0x18 {
                    0x10 => 1,
                    0x08 => 2,
                    0x00 => 4,
                    _ => 8,
                };
                if have != d.orig.mem_size {
                    return Err(format!("load/store of {have} bytes, expected the local field's {}", d.orig.mem_size));
                }
                let bits = mem_size_bits(d.new.mem_size).ok_or_else(|| format!("a load/store cannot be {} bytes", d.new.mem_size))?;
                insns[i].opcode = (insn.opcode & !0x18) | bits;
            }
            Ok(Outcome::Patched { orig: insn.off as i64 as u64, new })
        }
        0x00 => {
            let next = insns.get(i + 1).copied();
            let Some(next) = next.filter(|n| insn.opcode == 0x18 && insn.src == 0 && insn.off == 0 && n.opcode == 0 && n.dst == 0 && n.src == 0 && n.off == 0) else {
                return Err("lddw of an unexpected form".into());
            };
            let imm = insn.imm as u32 as u64 | (next.imm as u32 as u64) << 32;
            if d.validate && imm != orig {
                return Err(format!("lddw carries {imm}, expected the local value {orig}"));
            }
            insns[i].imm = new as i32;
            insns[i + 1].imm = (new >> 32) as i32;
            Ok(Outcome::Patched { orig: imm, new })
        }
        _ => Err(format!("opcode {:#04x} cannot be relocated", insn.opcode)),
    }
}

/// The target BTF and the candidates found so far for each local root type.
pub struct Target<'a> {
    pub btf: Btf<'a>,
    /// Target types by essential name, built once: `(name, id)` sorted by name (one sort
    /// of a vector: a tree of 126,622 vmlinux names took twice as long to build).
    by_name: Vec<(&'a str, u32)>,
}

impl<'a> Target<'a> {
    /// Reads a target BTF: raw BTF (what `/sys/kernel/btf/vmlinux` holds) or an ELF
    /// object with a `.BTF` section.
    pub fn parse(data: &'a [u8]) -> Result<Target<'a>, String> {
        let raw = if data.starts_with(b"\x7fELF") { elf_btf(data)? } else { data };
        let btf = Btf::parse(raw).map_err(|e| e.to_string())?;
        let mut by_name: Vec<(&'a str, u32)> = btf.ids().map(|id| (essential(btf.name(id)), id)).filter(|(n, _)| !n.is_empty()).collect();
        by_name.sort_unstable();
        Ok(Target { btf, by_name })
    }

    /// `bpf_core_find_cands`: target types of a kind compatible with local type `lid`
    /// and the same essential name.
    fn candidates(&self, lb: &Btf, lid: u32) -> Result<Vec<u32>, String> {
        let lt = lb.get(lid).ok_or_else(|| format!("local type id {lid} does not exist"))?;
        let name = lb.str(lt.name_off);
        if name.is_empty() {
            return Err(format!("{} relocation of an anonymous type (libbpf supports named types only)", type_label(lb, lid)));
        }
        let key = essential(name);
        let from = self.by_name.partition_point(|&(n, _)| n < key);
        let same = self.by_name[from..].iter().take_while(|&&(n, _)| n == key);
        Ok(same.map(|&(_, id)| id).filter(|&id| self.btf.get(id).is_some_and(|t| kinds_compat(t, lt))).collect())
    }
}

/// The `.BTF` section of an ELF object.
fn elf_btf(data: &[u8]) -> Result<&[u8], String> {
    use object::read::elf::{FileHeader, SectionHeader};
    let hdr = object::elf::FileHeader64::<object::Endianness>::parse(data).map_err(|e| e.to_string())?;
    let e = hdr.endian().map_err(|e| e.to_string())?;
    let table = hdr.sections(e, data).map_err(|e| e.to_string())?;
    for sh in table.iter() {
        if table.section_name(e, sh).ok() == Some(b".BTF".as_slice()) {
            return sh.data(e, data).map_err(|_| ".BTF section outside the file".to_string());
        }
    }
    Err("ELF file has no .BTF section".into())
}

/// Where a relocation stopped the load: the instruction and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreError {
    pub section: String,
    pub insn: usize,
    pub reason: String,
}

/// Applies record `rec` to `insns` (the section's instructions, `rec` at index `i`).
/// Candidate lists are cached per local root type in `cache`.
pub fn apply(lb: &Btf, target: &Target, rec: &Record, insns: &mut [RawInsn], i: usize, cache: &mut BTreeMap<u32, Vec<u32>>) -> Result<Applied, CoreError> {
    let err = |reason: String| CoreError { section: rec.section.clone(), insn: i, reason: format!("CO-RE relocation <{}> of {}: {reason}", kind_name(rec.kind), type_label(lb, rec.type_id)) };
    let tb = &target.btf;
    let local = parse_spec(lb, rec).map_err(err)?;
    let mut applied = Applied {
        section: rec.section.clone(),
        insn: i,
        kind: rec.kind,
        local_id: rec.type_id,
        local_type: type_label(lb, rec.type_id),
        access: lb.str(rec.access_str_off).into(),
        local_spec: spec_text(lb, &local),
        target: None,
        outcome: Outcome::Patched { orig: 0, new: 0 },
    };
    let decision = if rec.kind == relo::TYPE_ID_LOCAL {
        // Needs no target: the local id, whatever the instruction says after linking.
        Ok(Decision { orig: Value { val: rec.type_id as u64, ..Value::default() }, new: Value { val: rec.type_id as u64, ..Value::default() }, validate: false, bad_mem_size: false })
    } else {
        let cands = match cache.entry(rec.type_id) {
            alloc::collections::btree_map::Entry::Occupied(e) => e.get().clone(),
            alloc::collections::btree_map::Entry::Vacant(e) => e.insert(target.candidates(lb, rec.type_id).map_err(err)?).clone(),
        };
        let mut chosen: Option<(Spec, Result<Decision, String>)> = None;
        let mut kept = Vec::new();
        for c in cands.iter().copied() {
            let Some(ts) = spec_match(lb, &local, tb, c).map_err(err)? else { continue };
            let d = match decide(lb, &local, tb, Some(&ts)) {
                Ok(d) => Ok(d),
                Err(Fail::Poison(r)) => Err(r),
                Err(Fail::Error(e)) => return Err(err(e)),
            };
            match &chosen {
                None => chosen = Some((ts, d)),
                Some((prev, pd)) => {
                    if prev.bit_offset != ts.bit_offset {
                        return Err(err(format!("field offset ambiguity: {} ({}) and {} ({}) both match", spec_text(tb, prev), type_label(tb, prev.root), spec_text(tb, &ts), type_label(tb, ts.root))));
                    }
                    let same = match (pd, &d) {
                        (Ok(a), Ok(b)) => a.new.val == b.new.val,
                        (Err(_), Err(_)) => true,
                        _ => false,
                    };
                    if !same {
                        return Err(err(format!("relocation decision ambiguity between {} and {}", type_label(tb, prev.root), type_label(tb, ts.root))));
                    }
                }
            }
            kept.push(c);
        }
        if !kept.is_empty() {
            cache.insert(rec.type_id, kept);
        }
        match chosen {
            Some((ts, d)) => {
                applied.target = Some((ts.root, type_label(tb, ts.root), spec_text(tb, &ts)));
                d
            }
            None => match decide(lb, &local, tb, None) {
                Ok(d) => Ok(d),
                Err(Fail::Poison(r)) => Err(r),
                Err(Fail::Error(e)) => return Err(err(e)),
            },
        }
    };
    applied.outcome = match decision {
        Ok(d) => patch(insns, i, &d).map_err(err)?,
        Err(reason) => {
            poison(insns, i);
            Outcome::Poisoned { reason }
        }
    };
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavors_are_dropped_from_names() {
        assert_eq!(essential("task_struct___v1"), "task_struct");
        assert_eq!(essential("a___b___c"), "a___b");
        assert_eq!(essential("x____y"), "x____y");
        assert_eq!(essential("___x"), "___x");
        assert_eq!(essential("plain"), "plain");
        assert_eq!(essential(""), "");
    }
}
