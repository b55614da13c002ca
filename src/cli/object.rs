//! `rvbpf load OBJ` and `rvbpf run OBJ`: BPF ELF objects through the loader and runtime.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{json, Value};

use rvbpf::interp::RunOptions;
use rvbpf::loader::{self, Object, ProgType, RelocTarget};
use rvbpf::maps::{map_type, Map};
use rvbpf::runtime::{context::PT_REGS_FIELDS, Context, HostKernel, LoadedObject, PtRegs, Runtime};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// True when the file starts with the ELF magic.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

pub fn parse(path: &Path) -> Result<Object, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let stem = path.file_name().and_then(|n| n.to_str()).unwrap_or("obj");
    let stem = stem.strip_suffix(".o").unwrap_or(stem);
    let stem = stem.strip_suffix(".bpf").unwrap_or(stem);
    loader::load(&bytes, stem).map_err(|e| format!("{}: {e}", path.display()))
}

fn reloc_text(obj: &Object, t: &RelocTarget) -> String {
    match t {
        RelocTarget::Map { map } => format!("map {}", obj.maps[*map].name),
        RelocTarget::MapValue { map, offset } => format!("map value {}+{offset}", obj.maps[*map].name),
        RelocTarget::Call { slot } => format!("call to slot {slot}"),
    }
}

pub fn cmd_load(path: &Path, as_json: bool) -> Result<ExitCode, String> {
    let obj = parse(path)?;
    if as_json {
        let doc = json!({
            "license": obj.license,
            "maps": obj.maps.iter().map(|m| json!({
                "name": m.name, "type": map_type::name(m.def.map_type), "key_size": m.def.key_size,
                "value_size": m.def.value_size, "max_entries": m.def.max_entries, "flags": m.def.map_flags,
                "section": m.section, "origin": format!("{:?}", m.origin).to_lowercase(),
            })).collect::<Vec<_>>(),
            "programs": obj.programs.iter().map(|p| json!({
                "name": p.name, "section": p.section, "type": p.prog_type().name(), "insns": p.insns.len(),
                "attach": p.kind.attach, "functions": p.functions.iter().map(|(n, s)| json!({"name": n, "slot": s})).collect::<Vec<_>>(),
                "relocations": p.relocations.iter().map(|r| json!({
                    "slot": r.slot, "symbol": r.symbol, "type": r.r_type, "target": reloc_text(&obj, &r.target),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("license: {:?}", obj.license);
    println!("maps:");
    for (i, m) in obj.maps.iter().enumerate() {
        println!(
            "  [{i}] {:<16} {:<13} key {:>3} value {:>5} max {:>7} flags {:#x}  ({})",
            m.name,
            map_type::name(m.def.map_type),
            m.def.key_size,
            m.def.value_size,
            m.def.max_entries,
            m.def.map_flags,
            m.section
        );
    }
    println!("programs:");
    for p in &obj.programs {
        println!("  {} ({}, section {}, {} slots)", p.name, p.prog_type().name(), p.section, p.insns.len());
        for (f, s) in p.functions.iter().skip(1) {
            println!("    subprogram {f} at slot {s}");
        }
        for r in &p.relocations {
            println!("    slot {:>4}: {} -> {}", r.slot, r.symbol, reloc_text(&obj, &r.target));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `rvbpf run OBJ` was asked to do.
pub struct RunArgs<'a> {
    pub program: Option<&'a str>,
    pub data: Option<Vec<u8>>,
    pub ctx: Option<Vec<u8>>,
    pub regs: &'a [String],
    pub repeat: u32,
    pub cpus: Option<u32>,
    pub json: bool,
    pub budget: u64,
    pub engine: rvbpf::jit::Engine,
}

/// Every map's contents: name → [{key, value}] hex (a list per CPU for per-CPU maps).
pub fn dump_maps(loaded: &LoadedObject) -> Value {
    let mut out = serde_json::Map::new();
    for m in &loaded.maps {
        out.insert(m.map.name().into(), Value::Array(dump_map(&m.map)));
    }
    Value::Object(out)
}

fn dump_map(m: &Map) -> Vec<Value> {
    if m.ringbuf().is_some() {
        return Vec::new();
    }
    let mut v = vec![0u8; m.syscall_value_size()];
    let per = m.def().value_size.div_ceil(8) as usize * 8;
    m.keys()
        .into_iter()
        .filter_map(|k| {
            m.lookup(&k, &mut v).ok()?;
            let value = if m.is_percpu() {
                json!(v.chunks(per).map(|c| hex(&c[..m.def().value_size as usize])).collect::<Vec<_>>())
            } else {
                json!(hex(&v))
            };
            Some(json!({"key": hex(&k), "value": value}))
        })
        .collect()
}

fn context_for(t: ProgType, args: &RunArgs) -> Result<(Vec<u8>, PtRegs), String> {
    let mut regs = PtRegs::from_bytes(args.ctx.as_deref().unwrap_or(&[]));
    for r in args.regs {
        let (name, val) = r.split_once('=').ok_or_else(|| format!("--reg {r}: expected NAME=VALUE"))?;
        let v = rvbpf::conformance::parse_u64(val).ok_or_else(|| format!("--reg {r}: bad value"))?;
        if !regs.set(name, v) {
            return Err(format!("--reg {r}: no register {name} in struct pt_regs (have {})", PT_REGS_FIELDS.join(", ")));
        }
    }
    if t != ProgType::Kprobe && !args.regs.is_empty() {
        return Err(format!("--reg applies to kprobe programs, not {}", t.name()));
    }
    if args.ctx.as_ref().is_some_and(|c| t == ProgType::Kprobe && c.len() > PtRegs::SIZE) {
        return Err(format!("--ctx: {} bytes, but struct pt_regs has {}", args.ctx.as_ref().map_or(0, |c| c.len()), PtRegs::SIZE));
    }
    let data = match t {
        ProgType::Xdp | ProgType::SocketFilter => args.data.clone().unwrap_or_default(),
        _ => args.ctx.clone().or_else(|| args.data.clone()).unwrap_or_default(),
    };
    Ok((data, regs))
}

pub fn cmd_run(path: &Path, args: &RunArgs) -> Result<ExitCode, String> {
    let obj = parse(path)?;
    let name = match args.program {
        Some(n) => n.to_string(),
        None => match obj.programs.as_slice() {
            [p] => p.name.clone(),
            ps => return Err(format!("{} has {} programs; choose one with --program ({})", path.display(), ps.len(), ps.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "))),
        },
    };
    if obj.program(&name).is_none() {
        return Err(format!("no program named {name} in {}", path.display()));
    }
    let kernel = Arc::new(HostKernel::new(false));
    let ncpus = args.cpus.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    let rt = Runtime::new(kernel.clone(), ncpus);
    let loaded = rt.load_object(&obj).map_err(|e| format!("{}: {e}", path.display()))?;
    let prog = loaded.program(&name).ok_or_else(|| format!("program {name} is not loaded automatically (SEC(\"?...\"))"))?.clone();
    let (mut data, regs) = context_for(prog.prog_type, args)?;
    let opts = RunOptions { budget: args.budget, engine: args.engine };
    let mut last = None;
    let mut insns = 0u64;
    for _ in 0..args.repeat.max(1) {
        let mut ctx = match prog.prog_type {
            ProgType::Kprobe | ProgType::PerfEvent => Context::Kprobe(&regs),
            ProgType::Tracepoint => Context::Tracepoint(&data),
            ProgType::Xdp => Context::Xdp { packet: &mut data, ingress_ifindex: 1, rx_queue_index: 0 },
            ProgType::SocketFilter => {
                let r = rt.run(&prog, &mut Context::skb_from_ethernet(&data), &opts).map_err(|e| e.to_string())?;
                insns += r.insns_executed;
                last = Some(r);
                continue;
            }
            ProgType::Syscall => Context::Raw(&mut data),
            ProgType::RawTracepoint => return Err("raw_tracepoint programs take --ctx as u64 arguments; not supported by `run` yet".into()),
            ProgType::SchedCls => return Err("sched_cls programs have no runnable context in rvbpf yet".into()),
        };
        let r = rt.run(&prog, &mut ctx, &opts).map_err(|e| e.to_string())?;
        insns += r.insns_executed;
        last = Some(r);
    }
    let r = last.expect("at least one run");
    let trace = kernel.take_trace();
    let mut records = serde_json::Map::new();
    for m in &loaded.maps {
        if let Some(rb) = m.map.ringbuf() {
            let mut v = Vec::new();
            rb.consume(|rec| v.push(json!(hex(rec))));
            records.insert(m.map.name().into(), Value::Array(v));
        }
    }
    let maps = dump_maps(&loaded);
    if args.json {
        let mut doc = json!({
            "program": name, "type": prog.prog_type.name(), "return_value": r.r0, "runs": args.repeat.max(1),
            "insns_executed": insns, "tail_calls": r.tail_calls, "trace": trace, "ringbuf": records, "maps": maps,
            "engine": args.engine.name(),
        });
        if args.engine.uses_jit() {
            // JIT code is not metered.
            doc["insns_executed"] = Value::Null;
        }
        if prog.prog_type == ProgType::Xdp {
            doc["packet"] = json!(hex(&data));
        }
        println!("{}", serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?);
        return Ok(ExitCode::SUCCESS);
    }
    for line in &trace {
        println!("trace: {line}");
    }
    for (name, recs) in &records {
        for rec in recs.as_array().into_iter().flatten() {
            println!("ringbuf {name}: {}", rec.as_str().unwrap_or(""));
        }
    }
    for (name, entries) in maps.as_object().into_iter().flatten() {
        for e in entries.as_array().into_iter().flatten() {
            println!("map {name}: {} = {}", e["key"].as_str().unwrap_or(""), e["value"]);
        }
    }
    let work = if args.engine.uses_jit() { "JIT code".to_string() } else { format!("{insns} instructions") };
    println!("return value: {} ({:#x}), {work} over {} run(s)", r.r0 as i64, r.r0, args.repeat.max(1));
    Ok(ExitCode::SUCCESS)
}
