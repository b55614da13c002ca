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
use rvbpf::jit::rv64::emit::{compile, Image, Line, CLASS_NAMES as CLASSES};
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

/// What `rvbpf jit` was asked for.
pub struct JitOpts {
    pub zba: bool,
    pub zbb: bool,
    pub json: bool,
    /// Prove the image (translation validation) instead of listing it.
    pub check: bool,
}

pub fn cmd_jit(path: &Path, name: Option<&str>, opts: JitOpts) -> Result<ExitCode, String> {
    let (ext, as_json) = (Ext { zba: opts.zba, zbb: opts.zbb }, opts.json);
    let (name, prog) = program_of(path, name)?;
    let img = compile(&prog, ext).map_err(|e| format!("{name}: {e}"))?;
    if opts.check {
        return check(&name, &prog, &img, as_json);
    }
    let listing = img.listing_by_insn();
    let lines = &listing.lines;
    let body: usize = img.body_insns();
    let stats = img.per_class(&prog);
    let n = prog.insns().len();
    if as_json {
        let header: Vec<Value> = lines[listing.header.clone()].iter().map(line_json).collect();
        let insns: Vec<Value> = prog
            .iter()
            .zip(&listing.insns)
            .map(|((pc, insn), range)| {
                let rv: Vec<Value> = lines[range.clone()].iter().map(line_json).collect();
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
    for l in &lines[listing.header.clone()] {
        print(&mut out, l);
    }
    for ((pc, insn), range) in prog.iter().zip(&listing.insns) {
        out.push_str(&format!("{pc:>5}: {}\n", format_insn(insn, Syntax::Conformance)));
        for l in &lines[range.clone()] {
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

/// `--check`: the image proven part by part, one verdict each.
#[cfg(feature = "smt")]
fn check(name: &str, prog: &Program, img: &Image, as_json: bool) -> Result<ExitCode, String> {
    let t = std::time::Instant::now();
    let report = rvbpf::smt::validate(prog, img);
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let proven = report.verdicts.iter().filter(|v| v.result.is_ok()).count();
    let total = report.verdicts.len();
    let code = if report.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    if as_json {
        let verdicts: Vec<Value> = report
            .verdicts
            .iter()
            .map(|v| {
                let mut o = json!({"pc": v.pc, "what": v.what, "code": [v.range.start, v.range.end], "paths": v.paths, "micros": v.micros, "proven": v.result.is_ok()});
                if let Err(e) = &v.result {
                    o["failure"] = json!(e.to_string());
                    if let rvbpf::smt::Failure::Counterexample { what, inputs, expected, actual } = e {
                        o["counterexample"] = json!({
                            "differs": what,
                            "inputs": inputs.iter().map(|(n, x)| (n.clone(), json!(format!("{x:#x}")))).collect::<serde_json::Map<String, Value>>(),
                            "expected": expected.map(|x| format!("{x:#x}")),
                            "actual": actual.map(|x| format!("{x:#x}")),
                        });
                    }
                }
                o
            })
            .collect();
        let doc = json!({"program": name, "z3": z3::full_version(), "code_bytes": img.code.len(), "proven": proven, "total": total, "ok": report.ok(), "ms": ms, "verdicts": verdicts});
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return Ok(code);
    }
    let mut out = format!("; {name}: checking {} bytes of RV64{} with z3 {}\n", img.code.len(), ext_name(img.ext), z3::full_version());
    for v in &report.verdicts {
        let what = match v.pc {
            Some(pc) => format!("{pc:>5}: {}", v.what),
            None => format!("       {}", v.what),
        };
        match &v.result {
            Ok(()) => out.push_str(&format!("{what:<44} proven ({} path{}, {:.1} ms)\n", v.paths, if v.paths == 1 { "" } else { "s" }, v.micros as f64 / 1e3)),
            Err(e) => out.push_str(&format!("{what:<44} FAILED: {e}\n")),
        }
    }
    out.push_str(&format!("; {proven} of {total} proven in {ms:.1} ms{}\n", if report.ok() { "" } else { ": the image does not match the program" }));
    super::print_out(&out);
    Ok(code)
}

#[cfg(not(feature = "smt"))]
fn check(_: &str, _: &Program, _: &Image, _: bool) -> Result<ExitCode, String> {
    Err("this rvbpf was built without the `smt` feature (z3): --check needs it".into())
}
