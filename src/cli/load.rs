//! `rvbpf load OBJ`: an ELF object's programs, maps and relocations, as the loader
//! found them.

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

use rvbpf::loader::co_re::{self, Applied, Outcome};
use rvbpf::loader::{Object, RelocTarget};
use rvbpf::maps::map_type;

/// A CO-RE relocation's result in words: `2456 -> 2468`, or why it was poisoned.
fn core_outcome(a: &Applied) -> String {
    match &a.outcome {
        Outcome::Patched { orig, new } => format!("{orig} -> {new}"),
        Outcome::Poisoned { reason } => format!("poisoned (call {:#x}): {reason}", co_re::POISON_IMM),
    }
}

fn core_json(a: &Applied) -> serde_json::Value {
    let (status, orig, new, reason) = match &a.outcome {
        Outcome::Patched { orig, new } => ("patched", Some(*orig), Some(*new), None),
        Outcome::Poisoned { reason } => ("poisoned", None, None, Some(reason.as_str())),
    };
    json!({
        "section": a.section, "insn": a.insn, "kind": co_re::kind_name(a.kind), "local_type_id": a.local_id,
        "local_type": a.local_type, "access": a.access, "local_spec": a.local_spec,
        "target_type_id": a.target.as_ref().map(|t| t.0), "target_type": a.target.as_ref().map(|t| &t.1),
        "target_spec": a.target.as_ref().map(|t| &t.2), "outcome": status, "orig": orig, "new": new, "reason": reason,
    })
}

fn reloc_text(obj: &Object, t: &RelocTarget) -> String {
    match t {
        RelocTarget::Map { map } => format!("map {}", obj.maps[*map].name),
        RelocTarget::MapValue { map, offset } => format!("map value {}+{offset}", obj.maps[*map].name),
        RelocTarget::Call { slot } => format!("call to slot {slot}"),
    }
}

pub fn cmd_load(path: &Path, as_json: bool) -> Result<ExitCode, String> {
    let obj = super::input::read_object(path)?;
    if as_json {
        let doc = json!({
            "license": obj.license,
            "maps": obj.maps.iter().map(|m| json!({
                "name": m.name, "type": map_type::name(m.def.map_type), "key_size": m.def.key_size,
                "value_size": m.def.value_size, "max_entries": m.def.max_entries, "flags": m.def.map_flags,
                "section": m.section, "origin": format!("{:?}", m.origin).to_lowercase(),
                "inner": m.inner.map(|d| json!({"type": map_type::name(d.map_type), "key_size": d.key_size, "value_size": d.value_size, "max_entries": d.max_entries, "flags": d.map_flags})),
                "values": m.map_values.iter().map(|(i, n)| json!({"index": i, "map": n})).chain(m.prog_values.iter().map(|(i, n)| json!({"index": i, "program": n}))).collect::<Vec<_>>(),
                "struct_ops": m.struct_ops.as_ref().map(|so| json!({"type": so.type_name, "members": so.members.iter().map(|(mb, i, p)| json!({"member": mb, "index": i, "program": p})).collect::<Vec<_>>()})),
            })).collect::<Vec<_>>(),
            "programs": obj.programs.iter().map(|p| json!({
                "name": p.name, "section": p.section, "type": p.prog_type().name(), "insns": p.insns.len(),
                "attach": p.kind.attach, "expected_attach_type": p.kind.attach_type, "struct_ops": p.struct_ops.as_ref().map(|so| json!({"type": so.type_name, "member": so.member, "index": so.index})), "sleepable": p.kind.sleepable, "runnable": p.prog_type().info().not_runnable.is_none(), "not_runnable": p.prog_type().info().not_runnable, "functions": p.functions.iter().map(|(n, s)| json!({"name": n, "slot": s})).collect::<Vec<_>>(),
                "relocations": p.relocations.iter().map(|r| json!({
                    "slot": r.slot, "symbol": r.symbol, "type": r.r_type, "target": reloc_text(&obj, &r.target),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "core": if obj.core.is_empty() { serde_json::Value::Null } else { json!({
                "target": super::input::core_target_name(),
                "relocations": obj.core.iter().map(core_json).collect::<Vec<_>>(),
            }) },
            "skipped": obj.skipped.iter().map(|s| json!({"section": s.section, "reason": s.reason})).collect::<Vec<_>>(),
            "warnings": obj.warnings,
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
        if let Some(d) = m.inner {
            println!("      inner map: {} key {} value {} max {} flags {:#x}", map_type::name(d.map_type), d.key_size, d.value_size, d.max_entries, d.map_flags);
        }
        for (i, n) in &m.map_values {
            println!("      [{i}] = map {n}");
        }
        if let Some(so) = &m.struct_ops {
            println!("      struct {}: {}", so.type_name, so.members.iter().map(|(mb, _, p)| format!(".{mb} = {p}")).collect::<Vec<_>>().join(", "));
        }
    }
    println!("programs:");
    for p in &obj.programs {
        println!("  {} ({}, section {}, {} slots)", p.name, p.prog_type().name(), p.section, p.insns.len());
        if let Some(why) = p.prog_type().info().not_runnable {
            println!("    loadable and verifiable; not runnable here: {why}");
        }
        for (f, s) in p.functions.iter().skip(1) {
            println!("    subprogram {f} at slot {s}");
        }
        for r in &p.relocations {
            println!("    slot {:>4}: {} -> {}", r.slot, r.symbol, reloc_text(&obj, &r.target));
        }
    }
    if !obj.core.is_empty() {
        println!("CO-RE relocations (target {}):", super::input::core_target_name());
        for a in &obj.core {
            let target = a.target.as_ref().map_or_else(|| "no target match".to_string(), |t| format!("[{}] {}", t.0, t.2));
            println!("  {} insn {:>4}: <{}> [{}] {}  =>  {target}: {}", a.section, a.insn, co_re::kind_name(a.kind), a.local_id, a.local_spec, core_outcome(a));
        }
    }
    if !obj.skipped.is_empty() {
        println!("skipped sections:");
        for s in &obj.skipped {
            println!("  {:<24} {}", s.section, s.reason);
        }
    }
    Ok(ExitCode::SUCCESS)
}

