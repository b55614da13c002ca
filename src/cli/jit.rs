//! `rvbpf jit FILE`: the RV64 code of a program, interleaved with the BPF instruction each
//! range came from, and size statistics. Works on any host (cross-JIT).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{json, Value};

use rvbpf::conformance::ConformanceEnv;
use rvbpf::interp::resolve_lddw;
use rvbpf::isa::disasm::{format_insn, Syntax};
use rvbpf::isa::Program;
use rvbpf::jit::rv64::emit::{compile, Line, CLASS_NAMES as CLASSES};
use rvbpf::jit::rv64::lower::Ext;
use rvbpf::runtime::{HostKernel, Runtime};

use super::input::{choose_program, Input};

/// The program `rvbpf jit` compiles: an object's program after the runtime's fixup (map
/// references become the maps' addresses), or a raw program with its pseudo lddw
/// resolved in the conformance environment.
fn program_of(path: &Path, name: Option<&str>) -> Result<(String, Program), String> {
    match super::input::read(path)? {
        Input::Object(obj) => {
            let name = choose_program(&obj, name, path)?.name.clone();
            let rt = Runtime::new(Arc::new(HostKernel::new(false)), 1);
            let loaded = rt.load_object(&obj).map_err(|e| format!("{}: {e}", path.display()))?;
            let p = loaded.program(&name).ok_or_else(|| format!("no program named {name} in {} (or it does not load automatically)", path.display()))?;
            Ok((name, p.program.clone()))
        }
        Input::Program { .. } if name.is_some() => Err("--program applies to ELF objects".into()),
        Input::Program { bytes, .. } => {
            let prog = Program::decode(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            let prog = resolve_lddw(&prog, &mut ConformanceEnv::default()).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok((path.display().to_string(), prog))
        }
    }
}

fn line_json(l: &Line) -> Value {
    json!({"offset": l.offset, "word": format!("{:08x}", l.word), "text": l.text})
}

pub fn cmd_jit(path: &Path, name: Option<&str>, zba: bool, zbb: bool, as_json: bool) -> Result<ExitCode, String> {
    let ext = Ext { zba, zbb };
    let (name, prog) = program_of(path, name)?;
    let img = compile(&prog, ext).map_err(|e| format!("{name}: {e}"))?;
    let lines = img.listing();
    let body: usize = img.body_insns();
    let stats = img.per_class(&prog);
    let n = prog.insns().len();
    if as_json {
        let header: Vec<Value> = lines.iter().filter(|l| img.header.contains(&l.offset)).map(line_json).collect();
        let insns: Vec<Value> = prog
            .iter()
            .zip(&img.insns)
            .map(|((pc, insn), (_, _, range))| {
                let rv: Vec<Value> = lines.iter().filter(|l| range.contains(&l.offset)).map(line_json).collect();
                json!({"pc": pc, "bpf": format_insn(insn, Syntax::Conformance), "rv64": rv})
            })
            .collect();
        let classes: serde_json::Map<String, Value> = CLASSES
            .iter()
            .zip(stats)
            .filter(|(_, (b, _))| *b > 0)
            .map(|(c, (b, r))| (c.to_string(), json!({"bpf_insns": b, "rv64_insns": r, "per_insn": r as f64 / b as f64})))
            .collect();
        let doc = json!({
            "program": name,
            "ext": {"zba": ext.zba, "zbb": ext.zbb},
            "code_bytes": img.code.len(),
            "bpf_insns": n,
            "rv64_insns": img.code.len() / 4,
            "body_rv64_insns": body,
            "rv64_per_bpf": body as f64 / n as f64,
            "sizing_passes": img.passes,
            "classes": classes,
            "header": header,
            "insns": insns,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    let print = |out: &mut String, l: &Line| out.push_str(&format!("    {:6x}:  {:08x}  {}\n", l.offset, l.word, l.text));
    out.push_str(&format!("; {name}: {n} BPF instructions -> {} bytes of RV64{}\n", img.code.len(), ext_name(ext)));
    out.push_str("; header: entry, return, call-depth stop, stop path\n");
    for l in lines.iter().filter(|l| img.header.contains(&l.offset)) {
        print(&mut out, l);
    }
    for ((pc, insn), (_, _, range)) in prog.iter().zip(&img.insns) {
        out.push_str(&format!("{pc:>5}: {}\n", format_insn(insn, Syntax::Conformance)));
        for l in lines.iter().filter(|l| range.contains(&l.offset)) {
            print(&mut out, l);
        }
    }
    out.push_str(&format!(
        "; {n} BPF instructions, {body} RV64 instructions in the body ({:.2} per BPF instruction), {} in the header, {} sizing passes\n",
        body as f64 / n as f64,
        (img.header.end - img.header.start) / 4,
        img.passes
    ));
    for (c, (b, r)) in CLASSES.iter().zip(stats).filter(|(_, (b, _))| *b > 0) {
        out.push_str(&format!(";   {c:<6} {b:>6} BPF -> {r:>7} RV64 ({:.2} each)\n", r as f64 / b as f64));
    }
    super::print_out(&out);
    Ok(ExitCode::SUCCESS)
}

fn ext_name(ext: Ext) -> &'static str {
    match (ext.zba, ext.zbb) {
        (false, false) => " (RV64IMA)",
        (true, false) => " (RV64IMA + Zba)",
        (false, true) => " (RV64IMA + Zbb)",
        (true, true) => " (RV64IMA + Zba + Zbb)",
    }
}
