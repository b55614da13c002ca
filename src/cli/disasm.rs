//! `rvbpf disasm FILE`: bytecode → assembly, in bpf_conformance's syntax (which `asm`
//! reads back) or llvm-objdump's. An ELF object's programs are listed as the loader links
//! them, in llvm-objdump's form: a label per function, each slot's bytes and
//! instruction, each relocation under its instruction with the map it names, and with
//! `--source` the C source lines of the object's BTF line info.

use std::path::Path;
use std::process::ExitCode;

use clap::ValueEnum;
use serde_json::{json, Value};

use rvbpf::isa::disasm::{disassemble, disassemble_raw, format_insn, Syntax};
use rvbpf::isa::{Insn, Program};
use rvbpf::loader::{Object, ProgramSpec, RelocTarget};

use super::input::{choose_program, Input};

#[derive(Clone, Copy, ValueEnum)]
pub enum SyntaxArg {
    /// bpf_conformance / uBPF assembly (`add32 %r0, 1`)
    Conformance,
    /// llvm-objdump's C-like syntax (`w0 += 0x1`)
    Llvm,
}

/// What `rvbpf disasm` was asked for.
pub struct DisasmArgs<'a> {
    /// Default: conformance for programs, llvm for objects.
    pub syntax: Option<SyntaxArg>,
    pub numbered: bool,
    pub program: Option<&'a str>,
    pub source: bool,
    pub json: bool,
    /// Programs: list every slot as it decodes on its own, invalid ones marked.
    pub raw: bool,
}

fn syntax_of(s: SyntaxArg) -> Syntax {
    match s {
        SyntaxArg::Conformance => Syntax::Conformance,
        SyntaxArg::Llvm => Syntax::Llvm,
    }
}

pub fn cmd_disasm(input: &Path, a: &DisasmArgs) -> Result<ExitCode, String> {
    match super::input::read(input)? {
        Input::Object(_) if a.raw => Err("--raw lists a program's bytes slot by slot; an object's programs are listed as the loader links them".into()),
        Input::Object(obj) => disasm_object(input, &obj, a),
        Input::Program { .. } if a.program.is_some() || a.source => Err("--program and --source apply to ELF objects".into()),
        Input::Program { bytes, .. } if a.raw => {
            if a.json {
                return Err("--raw lists slot by slot as text; --json takes a valid program".into());
            }
            super::print_out(&disassemble_raw(&bytes, syntax_of(a.syntax.unwrap_or(SyntaxArg::Conformance))));
            Ok(ExitCode::SUCCESS)
        }
        Input::Program { bytes, .. } => {
            let prog = Program::decode(&bytes).map_err(|e| format!("{}: {e}", input.display()))?;
            let syntax = syntax_of(a.syntax.unwrap_or(SyntaxArg::Conformance));
            if a.json {
                let insns: Vec<Value> = prog.iter().map(|(pc, insn)| json!({"slot": pc, "text": format_insn(insn, syntax)})).collect();
                println!("{}", serde_json::to_string_pretty(&json!({"insns": insns})).unwrap_or_default());
            } else {
                super::print_out(&disassemble(&prog, syntax, a.numbered));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One slot of an object's program as listed.
struct Slot {
    slot: usize,
    bytes: Vec<u8>,
    text: String,
    /// (relocation type name, symbol, what it resolves to).
    reloc: Option<(&'static str, String, String)>,
    /// The source line that starts here: (text, file, line, column).
    source: Option<(String, String, u32, u32)>,
    /// A function starts here.
    label: Option<String>,
}

fn reloc_name(r_type: u32) -> &'static str {
    match r_type {
        1 => "R_BPF_64_64",
        10 => "R_BPF_64_32",
        _ => "R_BPF_?",
    }
}

/// The slots of `p` as linked: each instruction in `syntax`, a map reference as the
/// object holds it (`r1 = 0x0 ll`) with the relocation that names the map.
fn slots(obj: &Object, p: &ProgramSpec, syntax: Syntax) -> Result<Vec<Slot>, String> {
    let prog = Program::decode(&p.bytes()).map_err(|e| format!("program {} (section {}): {e}", p.name, p.section))?;
    let function_at = |slot: usize| p.functions.iter().find(|(_, s)| *s == slot).map(|(n, _)| n.clone());
    let mut out = Vec::new();
    for (slot, insn) in prog.iter() {
        let width = if matches!(insn, Insn::LdImm64 { .. }) { 2 } else { 1 };
        let bytes = p.insns[slot..slot + width].iter().flat_map(|i| i.to_bytes()).collect();
        let reloc = p.relocations.iter().find(|r| r.slot == slot);
        let map_name = |m: usize| obj.maps.get(m).map_or_else(|| format!("#{m}"), |m| m.name.clone());
        let (text, resolved) = match (insn, reloc.map(|r| (&r.target, r.imm))) {
            (Insn::LdImm64 { dst, .. }, Some((RelocTarget::Map { map }, imm))) => (lddw(syntax, dst.num(), imm), format!("map {}", map_name(*map))),
            (Insn::LdImm64 { dst, .. }, Some((RelocTarget::MapValue { map, offset }, imm))) => (lddw(syntax, dst.num(), imm), format!("map {} value + {offset:#x}", map_name(*map))),
            (_, Some((RelocTarget::Call { slot: to }, _))) => (format_insn(insn, syntax), format!("function {}", function_at(*to).unwrap_or_else(|| format!("at slot {to}")))),
            _ => (format_insn(insn, syntax), String::new()),
        };
        let source = p.lines.iter().find(|(s, _)| *s == slot).map(|(_, l)| (l.text.trim().to_string(), l.file.clone(), l.line, l.col));
        out.push(Slot { slot, bytes, text, reloc: reloc.map(|r| (reloc_name(r.r_type), r.symbol.clone(), resolved)), source, label: function_at(slot) });
    }
    Ok(out)
}

/// A map reference's lddw as the object holds it, before the loader's relocation.
fn lddw(syntax: Syntax, dst: u8, imm: i32) -> String {
    let imm = if imm < 0 { format!("-{:#x}", -(imm as i64)) } else { format!("{imm:#x}") };
    match syntax {
        Syntax::Llvm => format!("r{dst} = {imm} ll"),
        Syntax::Conformance => format!("lddw %r{dst}, {imm}"),
    }
}

fn disasm_object(path: &Path, obj: &Object, a: &DisasmArgs) -> Result<ExitCode, String> {
    let programs: Vec<&ProgramSpec> = match a.program {
        Some(_) => vec![choose_program(obj, a.program, path)?],
        None => obj.programs.iter().collect(),
    };
    let syntax = syntax_of(a.syntax.unwrap_or(SyntaxArg::Llvm));
    let listed = programs.iter().map(|p| Ok((*p, slots(obj, p, syntax)?))).collect::<Result<Vec<_>, String>>()?;
    if a.json {
        let doc: Vec<Value> = listed
            .iter()
            .map(|(p, slots)| {
                let insns: Vec<Value> = slots
                    .iter()
                    .map(|s| {
                        let mut v = json!({"slot": s.slot, "bytes": super::hex(&s.bytes), "text": s.text});
                        if let Some((kind, symbol, to)) = &s.reloc {
                            v["relocation"] = json!({"type": kind, "symbol": symbol, "resolves_to": to});
                        }
                        if let (true, Some((text, file, line, col))) = (a.source, &s.source) {
                            v["source"] = json!({"text": text, "file": file, "line": line, "column": col});
                        }
                        if let Some(f) = &s.label {
                            v["function"] = json!(f);
                        }
                        v
                    })
                    .collect();
                json!({"program": p.name, "section": p.section, "type": p.prog_type().name(), "insns": insns})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&json!({"programs": doc})).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    for (p, slots) in &listed {
        out.push_str(&format!("Disassembly of program {} (section {}, type {}):\n", p.name, p.section, p.prog_type().name()));
        if a.source && p.lines.is_empty() {
            out.push_str("; no line info: the object has no .BTF.ext (compile with -g)\n");
        }
        for s in slots {
            if let Some(f) = &s.label {
                out.push_str(&format!("\n{:016x} <{f}>:\n", s.slot * 8));
            }
            if let (true, Some((text, file, line, col))) = (a.source, &s.source) {
                out.push_str(&format!("; {text} @ {file}:{line}:{col}\n"));
            }
            let bytes: Vec<String> = s.bytes.iter().map(|b| format!("{b:02x}")).collect();
            out.push_str(&format!("{:>8}:\t{}\t{}\n", s.slot, bytes.join(" "), s.text));
            if let Some((kind, symbol, to)) = &s.reloc {
                out.push_str(&format!("\t\t{:016x}:  {kind}\t{symbol}\t; {to}\n", s.slot * 8));
            }
        }
        out.push('\n');
    }
    super::print_out(&out);
    Ok(ExitCode::SUCCESS)
}
