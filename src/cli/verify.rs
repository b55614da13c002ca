//! `rvbpf verify FILE`: the verifier's verdict on a program, with its log. An object's
//! programs are verified as loading them would (its maps created, each program by its
//! type); a raw program (bytecode, hex, assembly, a .data test) in the conformance
//! environment (r1 its memory, r2 the length). Exit 0 accepts, 1 refuses.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{json, Value};

use rvbpf::errno;
use rvbpf::isa::Program;
use rvbpf::runtime::{fd_array, HostKernel, ProgError, ProgramLoad, Runtime};
use rvbpf::verifier::{self, LogSink, VerifyError};

use super::input::{choose_program, Input};

/// The log as text lines, and each instruction's states apart for JSON.
#[derive(Default)]
struct Collect {
    lines: Vec<String>,
    insns: Vec<Value>,
}

impl LogSink for Collect {
    fn line(&mut self, line: &str) {
        self.lines.push(line.to_string());
    }
    fn insn(&mut self, pc: usize, text: &str, states: &[String]) {
        for s in states {
            self.lines.push(format!("{pc}: {s}"));
        }
        self.lines.push(format!("{pc}: {text}"));
        self.insns.push(json!({"pc": pc, "insn": text, "states": states}));
    }
}

/// One program's verdict.
struct Verdict {
    name: String,
    /// `None`: accepted; else errno, the instruction (slot) when one is named, the reason.
    refused: Option<(i32, Option<usize>, String)>,
    log: Collect,
}

pub fn cmd_verify(input: &Path, program: Option<&str>, level: u32, as_json: bool, memory: Option<Vec<u8>>) -> Result<ExitCode, String> {
    if level > 2 {
        return Err(format!("--log-level {level}: the levels are 0, 1 and 2"));
    }
    let verdicts = match super::input::read(input)? {
        Input::Object(obj) => {
            if memory.is_some() {
                return Err("--mem and --mem-file apply to raw programs".into());
            }
            let rt = Runtime::new(Arc::new(HostKernel::new(false)), 1);
            let maps = rt.create_object_maps(&obj).map_err(|e| format!("{}: {e}", input.display()))?;
            let by_index: Vec<_> = maps.iter().map(|m| m.map.clone()).collect();
            let resolve = fd_array(&by_index);
            let chosen: Vec<_> = match program {
                Some(_) => vec![choose_program(&obj, program, input)?],
                None => obj.programs.iter().collect(),
            };
            chosen
                .into_iter()
                .map(|p| {
                    let mut log = Collect::default();
                    let req = ProgramLoad { name: &p.name, prog_type: p.prog_type(), attach: p.kind.attach_type, insns: &p.insns, license: &obj.license, functions: &p.functions, maps: &resolve, returns_void: p.returns_void(), log_level: level };
                    let refused = rt.load_program_logged(&req, &mut log).err().map(|e| {
                        let pc = match &e {
                            ProgError::Verify(VerifyError::Unsafe(a)) => a.pc(),
                            _ => None,
                        };
                        (e.errno(), pc, e.to_string())
                    });
                    Verdict { name: p.name.clone(), refused, log }
                })
                .collect::<Vec<_>>()
        }
        Input::Program { bytes, mem, .. } => {
            if program.is_some() {
                return Err("--program applies to ELF objects".into());
            }
            let mem_len = memory.or(mem).map_or(0, |m| m.len());
            let mut log = Collect::default();
            let refused = match Program::decode(&bytes) {
                Err(e) => Some((errno::EINVAL, Some(e.pc), e.to_string())),
                Ok(prog) => {
                    let start = std::time::Instant::now();
                    let (analysis, error) = match rvbpf::conformance::analyze_in_env(&prog, mem_len) {
                        Ok(a) => (a, None),
                        Err(r) => (*r.analysis, Some(r.error)),
                    };
                    let usec = start.elapsed().as_micros() as u64;
                    verifier::log::write(&prog, &analysis, error.as_ref(), level, Some(usec), &mut log);
                    error.map(|e| {
                        let code = VerifyError::Unsafe(e.clone()).errno();
                        (code, e.pc(), e.to_string())
                    })
                }
            };
            let name = input.file_stem().and_then(|s| s.to_str()).unwrap_or("program").to_string();
            vec![Verdict { name, refused, log }]
        }
    };
    let all_ok = verdicts.iter().all(|v| v.refused.is_none());
    if as_json {
        let doc: Vec<Value> = verdicts
            .iter()
            .map(|v| {
                let mut d = json!({
                    "program": v.name,
                    "verdict": if v.refused.is_none() { "accept" } else { "refuse" },
                    "log": v.log.lines,
                });
                if let Some((code, pc, msg)) = &v.refused {
                    d["errno"] = json!(code);
                    d["error"] = json!(errno::name(*code));
                    d["pc"] = json!(pc);
                    d["message"] = json!(msg);
                }
                if level >= 2 {
                    d["insns"] = json!(v.log.insns);
                }
                d
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&json!({"programs": doc})).map_err(|e| e.to_string())?);
    } else {
        for v in &verdicts {
            for l in &v.log.lines {
                println!("{l}");
            }
            match &v.refused {
                None => println!("{}: accepted", v.name),
                Some((code, _, msg)) => println!("{}: refused ({}): {msg}", v.name, errno::name(*code)),
            }
        }
    }
    Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
