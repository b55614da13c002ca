//! The loader: clang-compiled BPF ELF objects → programs ready for the verifier.
//!
//! Follows libbpf's conventions (its `bpf_object__open` half): programs by section name,
//! `.text` subprograms appended to each program that calls them, maps from BTF-defined
//! `.maps` and the legacy `maps` section, global data sections as one-element arrays.
//! Relocations are dispatched on the instruction and the symbol, as libbpf does; the
//! `object` crate's generic relocation kinds are not used (they are wrong for BPF).
//!
//! Map references stay symbolic in the kernel's own encoding: `lddw` with
//! `BPF_PSEUDO_MAP_IDX` (src 5, imm = map index) or `BPF_PSEUDO_MAP_IDX_VALUE` (src 6,
//! imm = map index, second imm = offset), indices into [`Object::maps`]. Whoever
//! creates the maps passes them as the `fd_array`, in rvbpf or in Linux, and the
//! runtime's fixup after verification turns them into addresses.
//!
//! Parsing borrows the object's bytes and never panics: every offset, size and count is
//! checked, and errors name the section, instruction and byte offset.

pub mod btf;
pub mod co_re;
pub mod sections;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use object::elf;
use object::read::elf::{FileHeader, SectionHeader, Sym};
use object::Endianness;

use crate::isa::{cfg, RawInsn};
use crate::maps::{create_flags, is_map_in_map, map_type, MapDef, MAX_USED_MAPS};
use btf::{Btf, BtfError};
pub use sections::SectionKind;
use crate::prog::ProgType;

/// `lddw` source values (the kernel's `BPF_PSEUDO_*`).
pub const PSEUDO_MAP_FD: u8 = 1;
pub const PSEUDO_MAP_VALUE: u8 = 2;
pub const PSEUDO_FUNC: u8 = 4;
pub const PSEUDO_MAP_IDX: u8 = 5;
pub const PSEUDO_MAP_IDX_VALUE: u8 = 6;
/// `call` source values.
pub const PSEUDO_CALL: u8 = 1;
pub const PSEUDO_KFUNC_CALL: u8 = 2;

/// BPF relocation types (`Documentation/bpf/llvm_reloc.rst`).
pub const R_BPF_64_64: u32 = 1;
pub const R_BPF_64_ABS64: u32 = 2;
pub const R_BPF_64_ABS32: u32 = 3;
pub const R_BPF_64_NODYLD32: u32 = 4;
pub const R_BPF_64_32: u32 = 10;

/// Bounds on what an object may contain; beyond them it is refused.
pub const MAX_SECTIONS: usize = 4096;
pub const MAX_SYMBOLS: usize = 1 << 20;

const OP_CALL: u8 = 0x85;
const OP_LDDW: u8 = 0x18;

/// Why an object was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("malformed ELF: {0}")]
    Elf(String),
    #[error("not a BPF object: {0}")]
    NotBpf(String),
    #[error("section {section}: {reason}")]
    Section { section: String, reason: String },
    #[error("section {section}, instruction {insn} (byte offset {offset}): {reason}")]
    Reloc { section: String, insn: u64, offset: u64, reason: String },
    #[error("map {map}: {reason}")]
    Map { map: String, reason: String },
    #[error("program {program}: {reason}")]
    Program { program: String, reason: String },
    #[error("section .BTF: {0}")]
    Btf(BtfError),
    #[error("no programs: {0}; --allow-empty loads its maps only")]
    NoPrograms(String),
    #[error("section {section}, instruction {insn}: {reason}")]
    CoRe { section: String, insn: usize, reason: String },
    #[error("section .BTF.ext: {count} CO-RE relocation(s) need a target BTF: give one (--btf FILE; the running kernel's is {kernel}), or --btf local to take the object's own types as the target's")]
    NoCoreTarget { count: usize, kernel: &'static str },
    #[error("target BTF: {0}")]
    CoreTarget(String),
}

fn elf_err(e: object::read::Error) -> LoadError {
    LoadError::Elf(e.to_string())
}

fn sec_err<T>(section: &str, reason: impl Into<String>) -> Result<T, LoadError> {
    Err(LoadError::Section { section: section.into(), reason: reason.into() })
}

/// Where a map definition came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapOrigin {
    /// A BTF-defined map in `.maps`.
    Btf,
    /// A `struct bpf_map_def` in the legacy `maps` section.
    Legacy,
    /// A global data section (`.data*`, `.rodata*`, `.bss*`): one-element array.
    Data,
    /// A variable of `.struct_ops` or `.struct_ops.link`: a kernel struct of function
    /// pointers the object's programs fill.
    StructOps,
}

/// What a `.struct_ops` map fills: the kernel struct, by name, and its members set to
/// programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructOpsSpec {
    /// The struct's name (`tcp_congestion_ops`), the kernel type it is matched with.
    pub type_name: String,
    /// Each function-pointer member set: (member, its index in the struct, program).
    pub members: Vec<(String, u32, String)>,
    /// Whether each of `members` returns `void`, in the same order.
    pub returns_void: Vec<bool>,
}

/// A struct_ops program's place: the struct and the member it implements. Linux takes the
/// struct's kernel BTF id as `attach_btf_id` and the member's index as
/// `expected_attach_type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructOpsMember {
    pub type_name: String,
    pub member: String,
    /// The member's index in the object's struct: libbpf uses the kernel struct's index of
    /// the member of that name, the same when the object's struct is the kernel's
    /// (`vmlinux.h`).
    pub index: u32,
    /// The member's function returns `void`: the program's r0 is not checked at exit.
    pub returns_void: bool,
}

/// A map the object asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapSpec {
    pub name: String,
    pub def: MapDef,
    pub origin: MapOrigin,
    /// The ELF section that defines it.
    pub section: String,
    /// Initial value of element 0 for global data (`.bss`: zeroes).
    pub data: Option<Vec<u8>>,
    /// `.rodata`: frozen after initialisation, as libbpf does.
    pub freeze: bool,
    /// Prog-array slots filled at load (`values = { [i] = &prog }`): (index, program).
    pub prog_values: Vec<(u32, String)>,
    /// A map-in-map's inner template: the definition every map put in it must match
    /// (`__array(values, struct {...})`, `bpf_map_def.inner_map_idx`, or iproute2's
    /// `inner_id`).
    pub inner: Option<MapDef>,
    /// Map-in-map slots filled at load (`values = { [i] = &map }`, or iproute2's
    /// `inner_idx`): (index, map of this object).
    pub map_values: Vec<(u32, String)>,
    /// A `.struct_ops` map's struct and the programs in its members.
    pub struct_ops: Option<StructOpsSpec>,
    /// How the object asks for the map to be pinned (recorded: pinning by path is the
    /// integrator's business).
    pub pinning: Pinning,
    sec_idx: usize,
    sec_off: u64,
    sec_len: u64,
    /// Byte offset of a BTF map's `values` member.
    values_off: Option<u64>,
    /// How to show a key and a value, from BTF (`__type(key, …)`, `__type(value, …)`; a
    /// global-data section's variables): `None` without BTF or a type.
    pub key_layout: Option<btf::Layout>,
    pub value_layout: Option<btf::Layout>,
}

/// A map's pinning request, in the convention of the definition that made it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pinning {
    #[default]
    None,
    /// libbpf's `LIBBPF_PIN_BY_NAME` (BTF `pinning = 1`).
    ByName,
    /// iproute2's `PIN_OBJECT_NS` (`bpf_elf_map.pinning = 1`).
    ObjectNs,
    /// iproute2's `PIN_GLOBAL_NS` (2).
    GlobalNs,
    /// iproute2's custom pinning (any other value, a path from its `id`).
    Custom(u32),
}

/// What a relocation in a program resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelocTarget {
    /// `lddw` of a map (index into [`Object::maps`]).
    Map { map: usize },
    /// `lddw` of an address inside a map's value (global data).
    MapValue { map: usize, offset: u32 },
    /// bpf-to-bpf call to a `.text` function, now at `slot` of the program.
    Call { slot: usize },
}

/// One applied relocation, for listings (`rvbpf load`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relocation {
    /// Slot in the linked program.
    pub slot: usize,
    pub symbol: String,
    pub r_type: u32,
    /// The instruction's imm in the object, before the relocation (its addend).
    pub imm: i32,
    pub target: RelocTarget,
}

/// An entry program, linked with the subprograms it calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramSpec {
    pub name: String,
    pub section: String,
    pub kind: SectionKind,
    /// Instruction slots, map references in `BPF_PSEUDO_MAP_IDX[_VALUE]` form.
    pub insns: Vec<RawInsn>,
    /// Each function in the linked program and its first slot (the entry first).
    pub functions: Vec<(String, usize)>,
    pub relocations: Vec<Relocation>,
    /// For a struct_ops program, the member of a `.struct_ops` map it implements.
    pub struct_ops: Option<StructOpsMember>,
    /// The source lines of `.BTF.ext`'s line info, each at its slot in the linked program
    /// (in slot order; empty without BTF).
    pub lines: Vec<(usize, btf::LineInfo)>,
}

impl ProgramSpec {
    pub fn prog_type(&self) -> ProgType {
        self.kind.prog_type
    }
    /// The program's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.insns.iter().flat_map(|i| i.to_bytes()).collect()
    }
    /// Whether the program implements a struct_ops member that returns nothing.
    pub fn returns_void(&self) -> bool {
        self.struct_ops.as_ref().is_some_and(|s| s.returns_void)
    }
    /// Indices into [`Object::maps`] that the program references, in first-use order.
    pub fn used_maps(&self) -> Vec<usize> {
        let mut v = Vec::new();
        for r in &self.relocations {
            if let RelocTarget::Map { map } | RelocTarget::MapValue { map, .. } = r.target {
                if !v.contains(&map) {
                    v.push(map);
                }
            }
        }
        v
    }
}

/// What CO-RE relocations are applied against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CoreTarget<'a> {
    /// None: an object with CO-RE relocations is refused ([`LoadError::NoCoreTarget`]).
    #[default]
    None,
    /// The object's own `.BTF`: every relocation keeps its compile-time value (for a
    /// kernel without BTF whose headers the object was compiled against).
    Local,
    /// A target BTF: raw (as `/sys/kernel/btf/vmlinux`) or an ELF file with `.BTF`.
    Btf(&'a [u8]),
}

/// How to load an object whose section names do not say everything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions<'a> {
    /// The type of the programs in sections whose names name none (`test`, `2/1`,
    /// `socket1`: iproute2's and PREVAIL's `--type`). With it, an object whose only code
    /// is `.text` has its global functions as programs. A section whose name names a
    /// type keeps that type.
    pub prog_type: Option<ProgType>,
    /// With `prog_type`: the `expected_attach_type` of those programs (`--type
    /// cgroup/recvmsg4`).
    pub attach_type: Option<u32>,
    /// An object with no programs loads (its maps only) instead of being refused.
    pub allow_empty: bool,
    /// The BTF that CO-RE relocations are applied against.
    pub core_target: CoreTarget<'a>,
}

/// A section the loader did not use, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub section: String,
    pub reason: String,
}

/// A parsed and relocated object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// Name used as the global-data map prefix (the file name without `.o`).
    pub name: String,
    pub license: String,
    pub kernel_version: Option<u32>,
    pub maps: Vec<MapSpec>,
    pub programs: Vec<ProgramSpec>,
    /// Every section the loader did not use (debug info, unknown sections, code with no
    /// program), with the reason.
    pub skipped: Vec<Skipped>,
    /// What a user should know that did not stop the load (a code section with no
    /// program in it).
    pub warnings: Vec<String>,
    /// Every CO-RE relocation applied, in `.BTF.ext` order.
    pub core: Vec<co_re::Applied>,
}

impl Object {
    pub fn program(&self, name: &str) -> Option<&ProgramSpec> {
        self.programs.iter().find(|p| p.name == name)
    }
    pub fn map(&self, name: &str) -> Option<usize> {
        self.maps.iter().position(|m| m.name == name)
    }
}

struct Section<'a> {
    name: &'a str,
    sh_type: u32,
    flags: u64,
    data: &'a [u8],
    size: u64,
}

#[derive(Clone, Copy)]
struct Function {
    sym: usize,
    sec: usize,
    start: usize,
    slots: usize,
}

struct SymInfo<'a> {
    name: &'a str,
    st_type: u8,
    bind: u8,
    shndx: u16,
    value: u64,
    size: u64,
}

/// Parses, classifies and relocates an object. `name` is the object's name for
/// global-data map names (libbpf uses the file name without `.o`).
pub fn load(data: &[u8], name: &str) -> Result<Object, LoadError> {
    load_with(data, name, &LoadOptions::default())
}

/// [`load`] with options: a program type for sections that name none, and whether an
/// object without programs is refused.
pub fn load_with(data: &[u8], name: &str, opts: &LoadOptions<'_>) -> Result<Object, LoadError> {
    Parser::new(data, name, *opts)?.run()
}

struct Parser<'a> {
    obj_name: String,
    sections: Vec<Section<'a>>,
    syms: Vec<SymInfo<'a>>,
    /// REL sections by target section index, each keyed by r_offset: (r_sym, r_type).
    /// Relocations of code sections are checked once here: whole instructions, in bounds.
    rels: BTreeMap<usize, BTreeMap<u64, (usize, u32)>>,
    text: Option<usize>,
    /// Each REL section's target section.
    rel_target: BTreeMap<usize, usize>,
    opts: LoadOptions<'a>,
    /// Code sections CO-RE patched: their instructions, read instead of the section's.
    patched: BTreeMap<usize, Vec<RawInsn>>,
    /// Warnings found while parsing (the object loads).
    warnings: Vec<String>,
    /// `.BTF.ext`'s line info: the source line of instructions of each code section.
    lines: Vec<btf::LineInfo>,
}

fn cstr(data: &[u8]) -> String {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    String::from_utf8_lossy(&data[..end]).into_owned()
}

/// Sanitised map name, as `bpf_object__init_internal_map` builds it.
fn internal_map_name(obj: &str, section: &str) -> String {
    let custom = (section.starts_with(".data.") || section.starts_with(".rodata.") || section.starts_with(".bss.")) && section != ".rodata.str1.1";
    let raw = if custom {
        String::from(section)
    } else {
        let pfx: String = obj.chars().take(8).collect();
        format!("{pfx}{section}")
    };
    raw.chars().take(15).map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '.' { c } else { '_' }).collect()
}

impl<'a> Parser<'a> {
    fn new(data: &'a [u8], obj_name: &str, opts: LoadOptions<'a>) -> Result<Parser<'a>, LoadError> {
        let ident = data.get(..16).ok_or_else(|| LoadError::Elf("shorter than an ELF header".into()))?;
        if ident[..4] != elf::ELFMAG {
            return Err(LoadError::Elf("no ELF magic".into()));
        }
        if ident[4] != elf::ELFCLASS64.0 {
            return Err(LoadError::NotBpf("not a 64-bit ELF file".into()));
        }
        if ident[5] != elf::ELFDATA2LSB.0 {
            return Err(LoadError::NotBpf("big-endian objects are not supported (use -target bpfel or bpf on a little-endian host)".into()));
        }
        let hdr = elf::FileHeader64::<Endianness>::parse(data).map_err(elf_err)?;
        let e = hdr.endian().map_err(elf_err)?;
        let machine = hdr.e_machine(e);
        let mut warnings = Vec::new();
        match machine {
            elf::EM_BPF => {}
            // Some old toolchains left it 0; such objects are still BPF.
            elf::Machine(0) => warnings.push(String::from("e_machine is 0, not EM_BPF (247): an old toolchain's object, read as BPF")),
            _ => return Err(LoadError::NotBpf(format!("e_machine is {machine}, not EM_BPF (247)"))),
        }
        let table = hdr.sections(e, data).map_err(elf_err)?;
        if table.len() > MAX_SECTIONS {
            return Err(LoadError::Elf(format!("{} sections, more than the {MAX_SECTIONS} rvbpf reads", table.len())));
        }
        let mut sections = Vec::with_capacity(table.len());
        for sh in table.iter() {
            let name = table.section_name(e, sh).map_err(elf_err)?;
            let name = core::str::from_utf8(name).map_err(|_| LoadError::Elf("section name is not UTF-8".into()))?;
            let sh_type = sh.sh_type(e).0;
            let data = if sh_type == elf::SHT_NOBITS.0 { &[][..] } else { sh.data(e, data).map_err(|_| LoadError::Section { section: name.into(), reason: "offset or size outside the file".into() })? };
            sections.push(Section { name, sh_type, flags: sh.sh_flags(e).0, data, size: sh.sh_size(e) });
        }
        let symtab = table.symbols(e, data, elf::SHT_SYMTAB).map_err(elf_err)?;
        if symtab.is_empty() {
            return Err(LoadError::Elf("no symbol table (stripped object?)".into()));
        }
        if symtab.len() > MAX_SYMBOLS {
            return Err(LoadError::Elf(format!("{} symbols, more than the {MAX_SYMBOLS} rvbpf reads", symtab.len())));
        }
        let mut syms = Vec::with_capacity(symtab.len());
        for s in symtab.iter() {
            let name = symtab.symbol_name(e, s).map_err(elf_err)?;
            let mut name = core::str::from_utf8(name).map_err(|_| LoadError::Elf("symbol name is not UTF-8".into()))?;
            // Section symbols are unnamed: name them after their section, as tools print them.
            if s.st_type() == elf::STT_SECTION && name.is_empty() {
                name = sections.get(s.st_shndx(e).0 as usize).map_or("", |sec| sec.name);
            }
            syms.push(SymInfo {
                name,
                st_type: s.st_type().0,
                bind: s.st_bind().0,
                shndx: s.st_shndx(e).0,
                value: s.st_value(e),
                size: s.st_size(e),
            });
        }
        let mut rels = BTreeMap::new();
        let mut rel_target = BTreeMap::new();
        for (idx, sh) in table.iter().enumerate() {
            if sh.sh_type(e) == elf::SHT_RELA {
                return sec_err(sections[idx].name, "RELA relocations are not used by BPF objects");
            }
            let Some((rel, _link)) = sh.rel(e, data).map_err(|_| LoadError::Section { section: sections[idx].name.into(), reason: "relocation table outside the file".into() })? else {
                continue;
            };
            let target = sh.sh_info(e) as usize;
            if target >= sections.len() {
                return sec_err(sections[idx].name, format!("relocates section {target}, which does not exist"));
            }
            rel_target.insert(idx, target);
            let t = &sections[target];
            let code = t.sh_type == elf::SHT_PROGBITS.0 && t.flags & elf::SHF_EXECINSTR.0 != 0;
            let mut v = BTreeMap::new();
            for r in rel {
                let (off, sym) = (r.r_offset.get(e), r.r_sym(e) as usize);
                if sym >= syms.len() {
                    return sec_err(sections[idx].name, format!("relocation at offset {off} names symbol {sym}, beyond the symbol table"));
                }
                if code && (off % 8 != 0 || off >= t.data.len() as u64) {
                    return sec_err(sections[idx].name, format!("relocation offset {off} is not an instruction of {}", t.name));
                }
                if v.insert(off, (sym, r.r_type(e).0)).is_some() && code {
                    return sec_err(sections[idx].name, format!("two relocations at offset {off}"));
                }
            }
            rels.insert(target, v);
        }
        let text = sections.iter().position(|s| s.name == ".text");
        Ok(Parser { obj_name: obj_name.into(), sections, syms, rels, text, rel_target, opts, warnings, patched: BTreeMap::new(), lines: Vec::new() })
    }

    fn is_exec(&self, idx: usize) -> bool {
        let s = &self.sections[idx];
        s.sh_type == elf::SHT_PROGBITS.0 && s.flags & elf::SHF_EXECINSTR.0 != 0
    }

    fn run(mut self) -> Result<Object, LoadError> {
        let mut license = String::from("");
        let mut kernel_version = None;
        let mut btf_data = None;
        let mut ext_data = None;
        for s in &self.sections {
            match s.name {
                "license" => license = cstr(s.data),
                "version" => {
                    let v: [u8; 4] = s.data.try_into().map_err(|_| LoadError::Section { section: "version".into(), reason: format!("{} bytes, not 4", s.data.len()) })?;
                    kernel_version = Some(u32::from_le_bytes(v));
                }
                ".BTF" => btf_data = Some(s.data),
                ".BTF.ext" => ext_data = Some(s.data),
                ".kconfig" | ".ksyms" | ".addr_space.1" => return sec_err(s.name, "not supported (externs and arenas need kernel BTF)"),
                _ => {}
            }
        }
        let btf = btf_data.map(Btf::parse).transpose().map_err(LoadError::Btf)?;
        let core = match (ext_data, &btf) {
            (Some(ext), Some(local)) => self.relocate_core(ext, local, btf_data.unwrap_or_default())?,
            (Some(_), None) => return sec_err(".BTF.ext", "present without .BTF"),
            _ => Vec::new(),
        };
        if let (Some(ext), Some(local)) = (ext_data, &btf) {
            self.lines = btf::line_info(ext, local).map_err(|e| LoadError::Section { section: ".BTF.ext".into(), reason: e.to_string() })?;
        }
        let functions = self.functions()?;
        let mut maps = self.legacy_maps()?;
        maps.extend(self.btf_maps(btf.as_ref())?);
        maps.extend(self.data_maps(btf.as_ref()));
        maps.extend(self.struct_ops_maps(btf.as_ref(), &functions)?);
        for m in &maps {
            if maps.iter().filter(|o| o.name == m.name).count() > 1 {
                return Err(LoadError::Map { map: m.name.clone(), reason: "defined twice".into() });
            }
        }
        self.static_values(&mut maps, &functions)?;
        let mut entries: Vec<usize> = (0..functions.len()).filter(|&i| Some(functions[i].sec) != self.text).collect();
        // A `.text`-only object with a type given: its global functions are programs.
        if entries.is_empty() && self.opts.prog_type.is_some() {
            entries = (0..functions.len()).filter(|&i| self.syms[functions[i].sym].bind != elf::STB_LOCAL.0).collect();
        }
        if entries.is_empty() && !self.opts.allow_empty {
            return Err(LoadError::NoPrograms(self.why_no_programs(&functions)));
        }
        let mut programs = entries.iter().map(|&fi| self.link(fi, &functions, &maps)).collect::<Result<Vec<_>, _>>()?;
        struct_ops_programs(&maps, &mut programs)?;
        let (skipped, mut warnings) = self.skipped(&functions, &maps);
        warnings.splice(0..0, self.warnings.iter().cloned());
        if programs.iter().any(|p| matches!(p.prog_type(), ProgType::Kprobe | ProgType::PerfEvent)) {
            warnings.extend(btf.as_ref().and_then(foreign_pt_regs));
        }
        Ok(Object { name: self.obj_name.clone(), license, kernel_version, maps, programs, skipped, warnings, core })
    }

    /// Applies the CO-RE records of `ext` to copies of the code sections they name, as
    /// libbpf does before linking: a `.text` function's copy is then the relocated one
    /// in every program that calls it.
    fn relocate_core(&mut self, ext: &[u8], local: &Btf, local_raw: &'a [u8]) -> Result<Vec<co_re::Applied>, LoadError> {
        let records = co_re::records(ext, local).map_err(|e| LoadError::Section { section: ".BTF.ext".into(), reason: e.to_string() })?;
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let raw = match self.opts.core_target {
            CoreTarget::None => return Err(LoadError::NoCoreTarget { count: records.len(), kernel: co_re::KERNEL_BTF }),
            CoreTarget::Local => local_raw,
            CoreTarget::Btf(b) => b,
        };
        let target = co_re::Target::parse(raw).map_err(LoadError::CoreTarget)?;
        let mut cache = BTreeMap::new();
        let mut out = Vec::with_capacity(records.len());
        for rec in &records {
            let insn = rec.insn_off as usize / 8;
            let at = |reason: String| LoadError::CoRe { section: rec.section.clone(), insn, reason };
            let Some(idx) = self.sections.iter().position(|s| s.name == rec.section) else {
                return Err(at("CO-RE relocation names a section the object does not have".into()));
            };
            if !self.is_exec(idx) {
                return Err(at("CO-RE relocation of a section that holds no code".into()));
            }
            // libbpf skips the programs it will not load (`?` sections).
            if sections::classify(rec.section.as_str()).is_some_and(|k| !k.autoload) {
                continue;
            }
            let data = self.sections[idx].data;
            if rec.insn_off % 8 != 0 || insn >= data.len() / 8 {
                return Err(at(format!("CO-RE relocation at byte offset {}, not an instruction of the section", rec.insn_off)));
            }
            let insns = self.patched.entry(idx).or_insert_with(|| data.chunks_exact(8).map(|c| RawInsn::from_bytes(c.try_into().unwrap_or_default())).collect());
            let applied = co_re::apply(local, &target, rec, insns, insn, &mut cache).map_err(|e| LoadError::CoRe { section: e.section, insn: e.insn, reason: e.reason })?;
            out.push(applied);
        }
        Ok(out)
    }

    /// Why the object has no programs, for the error.
    fn why_no_programs(&self, functions: &[Function]) -> String {
        let in_text = functions.iter().filter(|f| Some(f.sec) == self.text).count();
        if in_text > 0 {
            format!("its only code is .text ({in_text} function(s), subprograms to libbpf); --type TYPE loads its global functions as programs")
        } else if self.sections.iter().enumerate().any(|(i, _)| self.is_exec(i)) {
            String::from("its code sections hold no function symbol")
        } else {
            String::from("it has no code section")
        }
    }

    /// The sections the load did not use, each with the reason, and a warning for each
    /// code section that gave no program.
    fn skipped(&self, functions: &[Function], maps: &[MapSpec]) -> (Vec<Skipped>, Vec<String>) {
        let mut warnings = Vec::new();
        let used = |i: usize| {
            let s = &self.sections[i];
            matches!(s.name, "license" | "version" | "maps" | ".maps" | ".BTF" | ".BTF.ext" | "")
                || s.sh_type == elf::SHT_SYMTAB.0
                || s.sh_type == elf::SHT_STRTAB.0
                || maps.iter().any(|m| m.section == s.name)
                || functions.iter().any(|f| f.sec == i)
        };
        let mut out = Vec::new();
        for (i, s) in self.sections.iter().enumerate() {
            if used(i) {
                continue;
            }
            let reason = if s.sh_type == elf::SHT_REL.0 {
                // Relocations of a used section were applied with it.
                match self.rel_target.get(&i).copied() {
                    Some(t) if used(t) => continue,
                    Some(t) => format!("relocations of {}, which is not used", self.sections[t].name),
                    None => String::from("relocations of no section"),
                }
            } else if s.name.starts_with(".debug") {
                String::from("DWARF debug information: not needed to load")
            } else if s.name == ".llvm_addrsig" {
                String::from("LLVM's address-significance table: for linkers")
            } else if self.is_exec(i) && s.data.is_empty() {
                String::from("empty code section")
            } else if self.is_exec(i) {
                warnings.push(format!("section {}: code with no function symbol in it: no program comes from it", s.name));
                String::from("code with no function symbol: no program")
            } else {
                String::from("not a section the loader uses")
            };
            out.push(Skipped { section: s.name.into(), reason });
        }
        (out, warnings)
    }

    /// Every program or subprogram symbol, checked: a function symbol in a code section,
    /// or a global symbol of no type there (old clang emitted programs so; one without a
    /// size runs to the next such symbol or the section's end). Static programs outside
    /// `.text` count, and a section may hold several.
    fn functions(&self) -> Result<Vec<Function>, LoadError> {
        let old_style = |s: &SymInfo| {
            s.st_type == elf::STT_NOTYPE.0 && s.bind != elf::STB_LOCAL.0 && s.shndx != 0 && (s.shndx as usize) < self.sections.len() && self.is_exec(s.shndx as usize)
        };
        let starts = |sec: u16| self.syms.iter().filter(move |s| s.shndx == sec && (s.st_type == elf::STT_FUNC.0 || old_style(s))).map(|s| s.value);
        let mut out: Vec<Function> = Vec::new();
        for (si, s) in self.syms.iter().enumerate() {
            if s.st_type != elf::STT_FUNC.0 && !old_style(s) {
                continue;
            }
            let sec = s.shndx as usize;
            if s.shndx == 0 || s.shndx >= elf::SHN_LORESERVE || sec >= self.sections.len() || !self.is_exec(sec) {
                if s.shndx == 0 {
                    continue; // an extern function: reported if a call uses it
                }
                return Err(LoadError::Program { program: s.name.into(), reason: format!("function symbol in section {} which is not code", s.shndx) });
            }
            let section = &self.sections[sec];
            if Some(sec) != self.text && sections::classify(section.name).is_none() && self.opts.prog_type.is_none() {
                return sec_err(section.name, "no program type matches this section name (--type TYPE loads its programs as that type)");
            }
            let size = match s.size {
                0 if s.st_type == elf::STT_NOTYPE.0 => starts(s.shndx).filter(|&v| v > s.value).min().unwrap_or(section.data.len() as u64).saturating_sub(s.value),
                n => n,
            };
            let end = s.value.checked_add(size);
            if s.value % 8 != 0 || size % 8 != 0 || size == 0 || end.is_none_or(|e| e > section.data.len() as u64) {
                return Err(LoadError::Program { program: s.name.into(), reason: format!("symbol range {}+{size} is not whole instructions inside section {}", s.value, section.name) });
            }
            let f = Function { sym: si, sec, start: (s.value / 8) as usize, slots: (size / 8) as usize };
            // A function symbol and an untyped one at the same place are one program.
            match out.iter().position(|o| o.sec == f.sec && o.start == f.start) {
                Some(k) if s.st_type == elf::STT_FUNC.0 => out[k] = f,
                Some(_) => {}
                None => out.push(f),
            }
        }
        Ok(out)
    }

    /// The legacy `maps` section, as libbpf and iproute2 read it: one definition per
    /// symbol, each the section's size over its symbols (old toolchains leave symbols
    /// without a size). Definitions of 36 bytes are iproute2's `struct bpf_elf_map` (id,
    /// pinning, inner map id and index after the five common fields); any other size is
    /// `struct bpf_map_def`: 20 bytes, 28 with `inner_map_idx` and `numa_node`, a shorter
    /// one zero-filled, a longer one with a zero tail.
    ///
    /// Map-in-map, as the two conventions' loaders read it: a `bpf_map_def` outer map
    /// names its template by `inner_map_idx`, the index of a definition in the section
    /// (samples/bpf); an iproute2 outer map names the `id` of its template by `inner_id`,
    /// and every map with that `id` and no `inner_id` of its own goes in at slot
    /// `inner_idx` (unless it is `u32::MAX`).
    fn legacy_maps(&self) -> Result<Vec<MapSpec>, LoadError> {
        let Some(idx) = self.sections.iter().position(|s| s.name == "maps") else { return Ok(Vec::new()) };
        let data = self.sections[idx].data;
        let syms: Vec<&SymInfo> = self.syms.iter().filter(|s| s.shndx as usize == idx && s.st_type != elf::STT_SECTION.0 && !s.name.is_empty()).collect();
        if syms.is_empty() {
            return Ok(Vec::new());
        }
        let n = syms.len();
        if data.is_empty() || data.len() % n != 0 || (data.len() / n) % 4 != 0 {
            return sec_err("maps", format!("{} bytes for {n} map symbols: no definition size fits (libbpf's rule: the section's size over its symbols, a multiple of 4)", data.len()));
        }
        let def_sz = data.len() / n;
        let elf_map = def_sz == 36;
        let mut out = Vec::new();
        // (id, inner_id, inner_idx) of iproute2 definitions; inner_map_idx of others.
        let mut links = Vec::new();
        for s in &syms {
            let def = s.value.checked_add(def_sz as u64).and_then(|e| data.get(s.value as usize..e as usize));
            let Some(def) = def else {
                return Err(LoadError::Map { map: s.name.into(), reason: format!("definition at byte {} of section maps runs past its end ({def_sz}-byte definitions)", s.value) });
            };
            let word = |i: usize| def.get(4 * i..4 * i + 4).map_or(0, |w| u32::from_le_bytes(w.try_into().unwrap_or_default()));
            // The fields each layout has; bytes past them must be zero.
            let known = if elf_map { 36 } else { def_sz.min(28) };
            if def[known..].iter().any(|&b| b != 0) {
                return Err(LoadError::Map { map: s.name.into(), reason: format!("{def_sz}-byte definition has non-zero bytes past the {known} that struct bpf_map_def defines") });
            }
            let map_def = MapDef { map_type: word(0), key_size: word(1), value_size: word(2), max_entries: word(3), map_flags: word(4) };
            let pinning = if elf_map {
                links.push((word(5), word(7), word(8)));
                match word(6) {
                    0 => Pinning::None,
                    1 => Pinning::ObjectNs,
                    2 => Pinning::GlobalNs,
                    v => Pinning::Custom(v),
                }
            } else {
                links.push((0, 0, word(5)));
                Pinning::None
            };
            out.push(MapSpec {
                name: s.name.into(),
                def: map_def,
                origin: MapOrigin::Legacy,
                section: "maps".into(),
                data: None,
                freeze: false,
                prog_values: Vec::new(),
                inner: None,
                map_values: Vec::new(),
                struct_ops: None,
                pinning,
                sec_idx: idx,
                sec_off: s.value,
                sec_len: def_sz as u64,
                values_off: None,
                key_layout: None,
                value_layout: None,
            });
        }
        for i in 0..out.len() {
            if !is_map_in_map(out[i].def.map_type) {
                continue;
            }
            let merr = |reason: String| Err(LoadError::Map { map: out[i].name.clone(), reason });
            let (_, inner_id, inner_idx) = links[i];
            let template = if elf_map {
                match (inner_id, links.iter().position(|l| l.0 == inner_id && l.1 == 0)) {
                    (0, _) => return merr("map-in-map with no inner_id: iproute2 needs the id of its inner map".into()),
                    (_, None) => return merr(format!("inner map with id {inner_id} not found in section maps")),
                    (_, Some(t)) => t,
                }
            } else {
                // The index counts definitions in section order.
                let at = out.iter().position(|m| m.sec_off == inner_idx as u64 * def_sz as u64);
                match at {
                    Some(t) if t != i => t,
                    _ => return merr(format!("inner_map_idx {inner_idx} names no other definition of section maps ({} definitions)", out.len())),
                }
            };
            if is_map_in_map(out[template].def.map_type) {
                return merr(format!("inner map {} holds maps itself (one level of map-in-map)", out[template].name));
            }
            out[i].inner = Some(out[template].def);
            if elf_map {
                let members = (0..out.len()).filter(|&j| links[j].0 == inner_id && links[j].1 == 0 && links[j].2 != u32::MAX);
                out[i].map_values = members.map(|j| (links[j].2, out[j].name.clone())).collect();
            }
        }
        Ok(out)
    }

    fn btf_maps(&self, btf: Option<&Btf>) -> Result<Vec<MapSpec>, LoadError> {
        let Some(idx) = self.sections.iter().position(|s| s.name == ".maps") else { return Ok(Vec::new()) };
        let Some(btf) = btf else { return sec_err(".maps", "BTF-defined maps need .BTF (compile with -g)") };
        let Some(vars) = btf.datasec(".maps") else { return sec_err(".maps", "no DATASEC .maps in .BTF") };
        let mut out = Vec::new();
        for (var_id, _, _) in vars {
            let name = btf.name(var_id);
            let var = btf.get(var_id).filter(|t| t.kind == btf::kind::VAR);
            let Some(var) = var else { return Err(LoadError::Map { map: name.into(), reason: format!("DATASEC entry {var_id} is not a VAR") }) };
            if btf.extra(var).first() != Some(&1) {
                return Err(LoadError::Map { map: name.into(), reason: "unsupported map linkage (must be global)".into() });
            }
            let sym = self.syms.iter().find(|s| s.shndx as usize == idx && s.name == name);
            let Some(sym) = sym else { return Err(LoadError::Map { map: name.into(), reason: "no ELF symbol of this name in .maps".into() }) };
            let BtfMap { def, key_type, value_type, values_off, pinning, inner } = map_def_from_btf(btf, var.size_or_type, true).map_err(|reason| LoadError::Map { map: name.into(), reason })?;
            out.push(MapSpec {
                name: name.into(),
                def,
                origin: MapOrigin::Btf,
                section: ".maps".into(),
                data: None,
                freeze: false,
                prog_values: Vec::new(),
                inner,
                map_values: Vec::new(),
                struct_ops: None,
                pinning,
                sec_idx: idx,
                sec_off: sym.value,
                sec_len: sym.size,
                values_off,
                key_layout: key_type.map(|t| btf::Layout::of(btf, t)),
                value_layout: value_type.map(|t| btf::Layout::of(btf, t)),
            });
        }
        Ok(out)
    }

    /// The global-data maps; a section's value shown by its variables where BTF has
    /// them (`btf`).
    fn data_maps(&self, btf: Option<&Btf>) -> Vec<MapSpec> {
        let mut out = Vec::new();
        for (idx, s) in self.sections.iter().enumerate() {
            let is_data = [".data", ".rodata", ".bss"].iter().any(|p| s.name == *p || s.name.starts_with(&format!("{p}.")));
            if !is_data || s.size == 0 || s.flags & elf::SHF_ALLOC.0 == 0 || s.size > u32::MAX as u64 {
                continue;
            }
            let readonly = s.name.starts_with(".rodata");
            out.push(MapSpec {
                name: internal_map_name(&self.obj_name, s.name),
                def: MapDef {
                    map_type: map_type::ARRAY,
                    key_size: 4,
                    value_size: s.size as u32,
                    max_entries: 1,
                    map_flags: if readonly { create_flags::RDONLY_PROG } else { 0 },
                },
                origin: MapOrigin::Data,
                section: s.name.into(),
                // `.bss` has no bytes in the file: the map starts zeroed, nothing to copy
                // (and a forged size must not make the loader allocate it).
                data: if s.sh_type == elf::SHT_NOBITS.0 { None } else { Some(s.data.to_vec()) },
                freeze: readonly,
                prog_values: Vec::new(),
                inner: None,
                map_values: Vec::new(),
                struct_ops: None,
                pinning: Pinning::None,
                sec_idx: idx,
                sec_off: 0,
                sec_len: s.size,
                values_off: None,
                key_layout: btf.map(|_| btf::Layout::Int { size: 4, signed: false, char: false, bool: false }),
                value_layout: btf.and_then(|b| datasec_layout(b, s.name, s.size as u32)),
            });
        }
        out
    }

    /// `.struct_ops` and `.struct_ops.link`, as libbpf reads them: each variable is a map of
    /// type `BPF_MAP_TYPE_STRUCT_OPS` holding the struct (one element of its size; the
    /// `.link` section's with `BPF_F_LINK`), and each `R_BPF_64_ABS64` relocation in it sets a
    /// function-pointer member to a struct_ops program, whose slot the map's bytes keep zero.
    fn struct_ops_maps(&self, btf: Option<&Btf>, functions: &[Function]) -> Result<Vec<MapSpec>, LoadError> {
        let mut out = Vec::new();
        for (idx, s) in self.sections.iter().enumerate() {
            let link = match s.name {
                ".struct_ops" => false,
                ".struct_ops.link" => true,
                _ => continue,
            };
            let Some(btf) = btf else { return sec_err(s.name, "struct_ops maps need .BTF (compile with -g)") };
            let Some(vars) = btf.datasec(s.name) else { return sec_err(s.name, format!("no DATASEC {} in .BTF", s.name)) };
            for (var_id, off, size) in vars {
                let name = btf.name(var_id);
                let merr = |reason: String| LoadError::Map { map: name.into(), reason };
                let var = btf.get(var_id).filter(|t| t.kind == btf::kind::VAR).ok_or_else(|| merr(format!("DATASEC entry {var_id} is not a VAR")))?;
                let tid = btf.skip_mods(var.size_or_type).map_err(|e| merr(e.to_string()))?;
                let t = btf.get(tid).filter(|t| t.kind == btf::kind::STRUCT).ok_or_else(|| merr("a struct_ops variable must be a struct".into()))?;
                let end = off.checked_add(size).filter(|&e| e as usize <= s.data.len() && size == t.size_or_type);
                let Some(end) = end else { return Err(merr(format!("bytes {off}+{size} are not the struct's {} bytes inside section {}", t.size_or_type, s.name))) };
                let mut data = s.data[off as usize..end as usize].to_vec();
                let members = btf.members(t);
                let (mut set, mut void) = (Vec::new(), Vec::new());
                for (&roff, &(sym, r_type)) in self.rels.get(&idx).into_iter().flat_map(|r| r.range(off as u64..end as u64)) {
                    let at = |reason: String| LoadError::Section { section: format!(".rel{}", s.name), reason: format!("relocation at offset {roff}: {reason}") };
                    if r_type != R_BPF_64_ABS64 {
                        return Err(at(format!("type {r_type}, expected R_BPF_64_ABS64")));
                    }
                    let rel = roff - off as u64;
                    let k = members.iter().position(|m| m.bit_offset as u64 == rel * 8).ok_or_else(|| at(format!("not at a member of {}", btf.name(tid))))?;
                    let mty = btf.skip_mods(members[k].type_id).ok().and_then(|m| btf.get(m));
                    let proto = mty.filter(|m| m.kind == btf::kind::PTR).and_then(|p| btf.skip_mods(p.size_or_type).ok()).and_then(|f| btf.get(f)).filter(|f| f.kind == btf::kind::FUNC_PROTO);
                    let Some(proto) = proto.filter(|_| rel + 8 <= data.len() as u64) else {
                        return Err(at(format!("member {} is not a function pointer", btf.str(members[k].name_off))));
                    };
                    void.push(proto.size_or_type == 0);
                    let prog = &self.syms[sym];
                    let is_prog = functions.iter().any(|f| f.sym == sym && sections::classify(self.sections[f.sec].name).is_some_and(|c| c.prog_type == ProgType::StructOps));
                    if !is_prog {
                        return Err(at(format!("symbol {} is not a program of a struct_ops section", prog.name)));
                    }
                    data[rel as usize..rel as usize + 8].fill(0);
                    set.push((String::from(btf.str(members[k].name_off)), k as u32, String::from(prog.name)));
                }
                out.push(MapSpec {
                    name: name.into(),
                    def: MapDef { map_type: map_type::STRUCT_OPS, key_size: 4, value_size: size, max_entries: 1, map_flags: if link { create_flags::LINK } else { 0 } },
                    origin: MapOrigin::StructOps,
                    section: s.name.into(),
                    data: Some(data),
                    freeze: false,
                    prog_values: Vec::new(),
                    inner: None,
                    map_values: Vec::new(),
                    struct_ops: Some(StructOpsSpec { type_name: btf.name(tid).into(), members: set, returns_void: void }),
                    pinning: Pinning::None,
                    sec_idx: idx,
                    sec_off: off as u64,
                    sec_len: size as u64,
                    values_off: None,
                    key_layout: None,
                    value_layout: Some(btf::Layout::of(btf, tid)),
                });
            }
        }
        Ok(out)
    }

    /// `.rel.maps`: `values = { [i] = &prog }` of prog arrays and `values = { [i] = &map }`
    /// of maps-in-maps.
    fn static_values(&self, maps: &mut [MapSpec], functions: &[Function]) -> Result<(), LoadError> {
        let Some(idx) = self.sections.iter().position(|s| s.name == ".maps") else { return Ok(()) };
        let Some(rels) = self.rels.get(&idx) else { return Ok(()) };
        for (&off, &(sym, r_type)) in rels {
            let at = |reason: String| LoadError::Section { section: ".rel.maps".into(), reason: format!("relocation at offset {off}: {reason}") };
            if r_type != R_BPF_64_ABS64 {
                return Err(at(format!("type {r_type}, expected R_BPF_64_ABS64")));
            }
            let mi = maps.iter().position(|m| m.sec_idx == idx && off >= m.sec_off && off < m.sec_off + m.sec_len.max(1));
            let Some(mi) = mi else { return Err(at("not inside any map definition".into())) };
            let Some(voff) = maps[mi].values_off else { return Err(at(format!("map {} has no `values` member", maps[mi].name))) };
            let base = maps[mi].sec_off + voff;
            if off < base || (off - base) % 8 != 0 {
                return Err(at("not at an element of `values`".into()));
            }
            let slot = (off - base) / 8;
            if slot >= maps[mi].def.max_entries as u64 {
                return Err(at(format!("values[{slot}] beyond max_entries {}", maps[mi].def.max_entries)));
            }
            let s = &self.syms[sym];
            if is_map_in_map(maps[mi].def.map_type) {
                let inner = maps.iter().position(|m| m.sec_idx == idx && m.sec_off == s.value && s.shndx as usize == idx);
                let Some(inner) = inner else { return Err(at(format!("symbol {} is not a map of section .maps", s.name))) };
                let name = maps[inner].name.clone();
                maps[mi].map_values.push((slot as u32, name));
                continue;
            }
            if !functions.iter().any(|f| f.sym == sym && Some(f.sec) != self.text) {
                return Err(at(format!("symbol {} is not a program", s.name)));
            }
            maps[mi].prog_values.push((slot as u32, s.name.into()));
        }
        Ok(())
    }

    /// Links entry program `fi`: copies its instructions, appends every `.text` function
    /// it reaches, rewrites call offsets and resolves map references.
    fn link(&self, fi: usize, functions: &[Function], maps: &[MapSpec]) -> Result<ProgramSpec, LoadError> {
        let entry = functions[fi];
        let sec = &self.sections[entry.sec];
        let prog_name = self.syms[entry.sym].name;
        let forced = self.opts.prog_type.map(|prog_type| SectionKind { prog_type, is_return: false, attach: None, autoload: true, attach_type: self.opts.attach_type, sleepable: prog_type == ProgType::Syscall });
        let kind = sections::classify(sec.name).or(forced).ok_or_else(|| LoadError::Section { section: sec.name.into(), reason: "no program type matches this section name".into() })?;
        let slots = |f: &Function| -> Vec<RawInsn> {
            if let Some(p) = self.patched.get(&f.sec) {
                return p[f.start..f.start + f.slots].to_vec();
            }
            let d = &self.sections[f.sec].data[f.start * 8..(f.start + f.slots) * 8];
            d.chunks_exact(8).map(|c| RawInsn::from_bytes(c.try_into().unwrap_or_default())).collect()
        };
        let mut out = slots(&entry);
        // (function index, first slot in `out`), in `out` order.
        let mut placed: Vec<(usize, usize)> = alloc::vec![(fi, 0)];
        let mut relocations = Vec::new();
        let mut i = 0;
        while i < out.len() {
            if out.len() > crate::isa::MAX_SLOTS {
                return Err(LoadError::Program { program: prog_name.into(), reason: "linked program exceeds the instruction limit".into() });
            }
            let &(f_idx, base) = placed.iter().rev().find(|(_, b)| *b <= i).unwrap_or(&placed[0]);
            let f = functions[f_idx];
            let local = f.start + (i - base);
            let byte_off = (local * 8) as u64;
            let fsec = self.sections[f.sec].name;
            let where_ = |reason: String| LoadError::Reloc { section: fsec.into(), insn: local as u64, offset: byte_off, reason };
            let relo = self.rels.get(&f.sec).and_then(|v| v.get(&byte_off));
            let insn = out[i];
            let last_of_fn = i + 1 == base + f.slots;
            match insn.opcode {
                OP_CALL if insn.src == PSEUDO_CALL => {
                    let target = match relo {
                        Some(&(sym, r_type)) => {
                            let s = &self.syms[sym];
                            if r_type != R_BPF_64_32 {
                                return Err(where_(format!("call relocation of type {r_type}, expected R_BPF_64_32 (10)")));
                            }
                            if s.shndx == 0 {
                                return Err(where_(format!("call to extern function '{}' is not supported", s.name)));
                            }
                            if Some(s.shndx as usize) != self.text || s.value % 8 != 0 {
                                return Err(where_(format!("call relocation against '{}', which is not a .text function", s.name)));
                            }
                            relocations.push((i, String::from(s.name), r_type, insn.imm));
                            (self.text.unwrap_or(0), cfg::target((s.value / 8) as usize, insn.imm as i64))
                        }
                        None => (f.sec, cfg::target(local, insn.imm as i64)),
                    };
                    let callee = functions.iter().position(|g| g.sec == target.0 && g.start as i64 == target.1);
                    let Some(callee) = callee else {
                        return Err(where_(format!("call target {} of section {} is not the start of a function", target.1, self.sections[target.0].name)));
                    };
                    if Some(functions[callee].sec) != self.text && callee != fi {
                        return Err(where_(format!("call to program '{}': only .text functions can be called", self.syms[functions[callee].sym].name)));
                    }
                    let start = match placed.iter().find(|(g, _)| *g == callee) {
                        Some(&(_, s)) => s,
                        None => {
                            let s = out.len();
                            out.extend(slots(&functions[callee]));
                            placed.push((callee, s));
                            s
                        }
                    };
                    out[i].imm = cfg::offset_to(i, start) as i32;
                    i += 1;
                }
                OP_CALL if insn.src == PSEUDO_KFUNC_CALL => return Err(where_("kfunc calls are not supported".into())),
                OP_LDDW => {
                    if last_of_fn {
                        return Err(where_("lddw is missing its second slot".into()));
                    }
                    if let Some(&(sym, r_type)) = relo {
                        let s = &self.syms[sym];
                        if r_type != R_BPF_64_64 {
                            return Err(where_(format!("lddw relocation of type {r_type}, expected R_BPF_64_64 (1)")));
                        }
                        if insn.src != 0 {
                            return Err(where_(format!("relocated lddw already has source {}", insn.src)));
                        }
                        if s.shndx == 0 {
                            return Err(where_(format!("extern variable '{}' is not supported", s.name)));
                        }
                        if s.shndx >= elf::SHN_LORESERVE || s.shndx as usize >= self.sections.len() {
                            return Err(where_(format!("symbol '{}' is in special section {:#x} (forgot to initialize a global?)", s.name, s.shndx)));
                        }
                        let ssec = s.shndx as usize;
                        if Some(ssec) == self.text || self.is_exec(ssec) {
                            return Err(where_(format!("function pointer to '{}' (BPF_PSEUDO_FUNC) is not supported", s.name)));
                        }
                        if let Some(mi) = maps.iter().position(|m| m.origin != MapOrigin::Data && m.sec_idx == ssec && m.sec_off == s.value) {
                            out[i].src = PSEUDO_MAP_IDX;
                            out[i].imm = mi as i32;
                        } else if let Some(mi) = maps.iter().position(|m| m.origin == MapOrigin::Data && m.sec_idx == ssec) {
                            let off = insn.imm as i64 + s.value as i64;
                            if off < 0 || off >= maps[mi].def.value_size as i64 {
                                return Err(where_(format!("offset {off} of '{}' outside section {}", s.name, maps[mi].section)));
                            }
                            out[i].src = PSEUDO_MAP_IDX_VALUE;
                            out[i].imm = mi as i32;
                            out[i + 1].imm = off as i32;
                        } else {
                            return Err(where_(format!("symbol '{}' in section {} is neither a map nor global data", s.name, self.sections[ssec].name)));
                        }
                        relocations.push((i, String::from(s.name), r_type, insn.imm));
                    } else if insn.src != 0 {
                        return Err(where_(format!("lddw with pseudo source {} but no relocation", insn.src)));
                    }
                    i += 2;
                }
                _ => {
                    if let Some(&(sym, r_type)) = relo {
                        return Err(where_(format!("relocation (type {r_type}, symbol '{}') on an instruction that is neither call nor lddw", self.syms[sym].name)));
                    }
                    i += 1;
                }
            }
        }
        // Resolve the recorded relocations against the final layout.
        let relocations = relocations
            .into_iter()
            .map(|(slot, symbol, r_type, imm)| {
                let insn = out[slot];
                let target = match (insn.opcode, insn.src) {
                    (OP_CALL, _) => RelocTarget::Call { slot: cfg::target(slot, insn.imm as i64) as usize },
                    (_, PSEUDO_MAP_IDX) => RelocTarget::Map { map: insn.imm as usize },
                    _ => RelocTarget::MapValue { map: insn.imm as usize, offset: out[slot + 1].imm as u32 },
                };
                Relocation { slot, symbol, r_type, imm, target }
            })
            .collect::<Vec<_>>();
        // Each line of the functions placed, at its slot in the linked program.
        let mut lines: Vec<(usize, btf::LineInfo)> = Vec::new();
        for &(g, base) in &placed {
            let f = functions[g];
            let fsec = self.sections[f.sec].name;
            let within = |l: &&btf::LineInfo| l.section == fsec && (f.start..f.start + f.slots).contains(&l.insn);
            lines.extend(self.lines.iter().filter(within).map(|l| (base + l.insn - f.start, l.clone())));
        }
        lines.sort_by_key(|(slot, _)| *slot);
        let spec = ProgramSpec {
            name: prog_name.into(),
            section: sec.name.into(),
            kind,
            insns: out,
            functions: placed.iter().map(|&(g, s)| (String::from(self.syms[functions[g].sym].name), s)).collect(),
            relocations,
            struct_ops: None,
            lines,
        };
        if spec.used_maps().len() > MAX_USED_MAPS {
            return Err(LoadError::Program { program: prog_name.into(), reason: format!("uses more than {MAX_USED_MAPS} maps") });
        }
        Ok(spec)
    }
}

/// A warning when the object's BTF describes the registers a kprobe reads (`struct
/// pt_regs`, or riscv's user-space `struct user_regs_struct`) with another layout than
/// riscv64's: the program was compiled for another architecture, and its `PT_REGS_*`
/// read the wrong offsets.
fn foreign_pt_regs(btf: &Btf) -> Option<String> {
    for id in btf.ids() {
        let t = btf.get(id)?;
        let name = btf.name(id);
        if t.kind != btf::kind::STRUCT || !matches!(name, "pt_regs" | "user_regs_struct" | "user_pt_regs") {
            continue;
        }
        let members: Vec<&str> = btf.members(t).iter().map(|m| btf.str(m.name_off)).collect();
        let ours = &crate::prog::PT_REGS_FIELDS;
        if members.len() <= ours.len() && members.iter().zip(ours).all(|(a, b)| a == b) {
            continue;
        }
        let arch = match members.first().copied() {
            Some("r15") => "x86-64",
            Some("ebx" | "bx") => "x86",
            Some("regs") => "arm64",
            Some("uregs") => "32-bit arm",
            Some("gpr") => "powerpc",
            Some("psw" | "args") => "s390",
            _ => "another architecture",
        };
        let first = members.first().copied().unwrap_or("(none)");
        return Some(format!(
            "BTF: struct {name} here is {arch}'s (its first member is `{first}`), not riscv64's (`epc`, `ra`, `sp`, …): kprobe arguments would be read at the wrong offsets; compile with -D__TARGET_ARCH_riscv (and riscv64's headers: -I/usr/riscv64-linux-gnu/include)"
        ));
    }
    None
}

/// A global-data section's value as a struct of its variables (DATASEC `name`).
fn datasec_layout(btf: &Btf, name: &str, size: u32) -> Option<btf::Layout> {
    let vars = btf.datasec(name)?;
    let fields = vars.iter().filter_map(|&(var, off, _)| Some((String::from(btf.name(var)), off, btf::Layout::of(btf, btf.get(var)?.size_or_type)))).collect();
    Some(btf::Layout::Struct { size, fields })
}

/// Reads a BTF map definition struct (`__uint`, `__type`, `__array` members); `outer` is
/// false for an inner map's template, which may not hold maps itself.
fn map_def_from_btf(btf: &Btf, type_id: u32, outer: bool) -> Result<BtfMap, String> {
    let id = btf.skip_mods(type_id).map_err(|e| e.to_string())?;
    let t = btf.get(id).ok_or("definition has no type")?;
    if t.kind != btf::kind::STRUCT {
        return Err(format!("definition is BTF kind {}, not a struct", t.kind));
    }
    // `__uint(name, N)` is `int (*name)[N]`.
    let uint = |tid: u32, field: &str| -> Result<u32, String> {
        let p = btf.get(tid).filter(|p| p.kind == btf::kind::PTR).ok_or(format!("`{field}` is not declared with __uint"))?;
        let a = btf.get(p.size_or_type).filter(|a| a.kind == btf::kind::ARRAY).ok_or(format!("`{field}` is not declared with __uint"))?;
        Ok(btf.array(a).2)
    };
    let size_of = |tid: u32, field: &str| -> Result<u32, String> {
        let p = btf.get(tid).filter(|p| p.kind == btf::kind::PTR).ok_or(format!("`{field}` is not declared with __type"))?;
        let n = btf.resolve_size(p.size_or_type).map_err(|e| format!("`{field}`: {e}"))?;
        u32::try_from(n).map_err(|_| format!("`{field}` is larger than 4 GiB"))
    };
    let mut def = MapDef::default();
    let (mut has_type, mut key, mut value, mut values_off, mut values_type) = (false, None, None, None, 0);
    let mut pinning = Pinning::None;
    let (mut key_type, mut value_type) = (None, None);
    for m in btf.members(t) {
        let name = btf.str(m.name_off);
        match name {
            "type" => {
                def.map_type = uint(m.type_id, name)?;
                has_type = true;
            }
            "max_entries" => def.max_entries = uint(m.type_id, name)?,
            "map_flags" => def.map_flags = uint(m.type_id, name)?,
            "key_size" => def.key_size = uint(m.type_id, name)?,
            "value_size" => def.value_size = uint(m.type_id, name)?,
            "numa_node" | "map_extra" => {}
            "pinning" => {
                pinning = match uint(m.type_id, name)? {
                    0 => Pinning::None,
                    1 => Pinning::ByName,
                    v => return Err(format!("pinning {v}: libbpf knows 0 (none) and 1 (LIBBPF_PIN_BY_NAME)")),
                }
            }
            "key" => {
                key = Some(size_of(m.type_id, name)?);
                key_type = btf.get(m.type_id).map(|p| p.size_or_type);
            }
            "value" => {
                value = Some(size_of(m.type_id, name)?);
                value_type = btf.get(m.type_id).map(|p| p.size_or_type);
            }
            "values" => {
                values_off = Some(m.bit_offset as u64 / 8);
                values_type = m.type_id;
            }
            other => return Err(format!("unknown map field `{other}`")),
        }
    }
    if !has_type {
        return Err("no `type` field".into());
    }
    for (explicit, typed, what) in [(&mut def.key_size, key, "key"), (&mut def.value_size, value, "value")] {
        if let Some(sz) = typed {
            if *explicit != 0 && *explicit != sz {
                return Err(format!("{what}_size {} conflicts with the {what} type's size {sz}", *explicit));
            }
            *explicit = sz;
        }
    }
    let mut inner = None;
    if values_off.is_some() {
        let in_map = is_map_in_map(def.map_type);
        if def.map_type != map_type::PROG_ARRAY && !in_map {
            return Err("`values` is only for prog arrays and maps-in-maps".into());
        }
        if def.value_size != 0 && def.value_size != 4 {
            return Err(format!("value size {} conflicts with `values`, whose elements are 4-byte fds", def.value_size));
        }
        def.value_size = 4;
        // `__array(values, T)` is a flexible array of pointers to T: a function
        // prototype for a prog array, an inner map's definition for a map-in-map.
        let elem = btf.get(values_type).filter(|a| a.kind == btf::kind::ARRAY).map(|a| btf.array(a).0);
        let target = elem.and_then(|e| btf.skip_mods(e).ok()).and_then(|e| btf.get(e)).filter(|p| p.kind == btf::kind::PTR).map(|p| p.size_or_type);
        let Some(target) = target else { return Err("`values` is not declared with __array (an array of pointers)".into()) };
        if in_map {
            if !outer {
                return Err("an inner map cannot hold maps itself (one level of map-in-map)".into());
            }
            let t = map_def_from_btf(btf, target, false).map_err(|e| format!("inner map: {e}"))?;
            if is_map_in_map(t.def.map_type) {
                return Err("an inner map cannot hold maps itself (one level of map-in-map)".into());
            }
            inner = Some(t.def);
        }
    } else if is_map_in_map(def.map_type) && outer {
        return Err("a map-in-map needs `__array(values, struct {...})` to define its inner map".into());
    }
    Ok(BtfMap { def, key_type, value_type, values_off, pinning, inner })
}

/// Each struct_ops program learns the member it implements; one program in two members
/// must implement the same one (libbpf sets one attach target per program).
fn struct_ops_programs(maps: &[MapSpec], programs: &mut [ProgramSpec]) -> Result<(), LoadError> {
    for m in maps {
        let Some(so) = &m.struct_ops else { continue };
        for ((member, index, prog), &returns_void) in so.members.iter().zip(&so.returns_void) {
            let Some(p) = programs.iter_mut().find(|p| &p.name == prog) else { continue };
            let want = StructOpsMember { type_name: so.type_name.clone(), member: member.clone(), index: *index, returns_void };
            match &p.struct_ops {
                Some(had) if *had != want => {
                    return Err(LoadError::Program { program: prog.clone(), reason: format!("implements {}.{} and {}.{}: a program implements one member", had.type_name, had.member, want.type_name, want.member) });
                }
                _ => p.struct_ops = Some(want),
            }
        }
    }
    Ok(())
}

/// A map definition as `.maps` gives it.
struct BtfMap {
    def: MapDef,
    /// The types `__type(key, …)` and `__type(value, …)` point to.
    key_type: Option<u32>,
    value_type: Option<u32>,
    /// Byte offset of the `values` member.
    values_off: Option<u64>,
    pinning: Pinning,
    /// A map-in-map's inner template.
    inner: Option<MapDef>,
}



#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_map_names_follow_libbpf() {
        assert_eq!(internal_map_name("hello_world", ".bss"), "hello_wo.bss");
        assert_eq!(internal_map_name("x", ".rodata.str1.1"), "x.rodata.str1.1");
        assert_eq!(internal_map_name("obj", ".data.my-counters"), ".data.my_counte");
    }

    #[test]
    fn refuses_garbage_without_panicking() {
        assert!(matches!(load(b"", "x"), Err(LoadError::Elf(_))));
        assert!(matches!(load(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], "x"), Err(LoadError::Elf(_))));
        assert!(matches!(load(&[0x7f, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], "x"), Err(LoadError::NotBpf(_))));
    }
}
