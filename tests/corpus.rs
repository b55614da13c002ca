//! The object corpus (issue 14): tests/corpus/*.bpf.c, one source per libbpf program
//! type family and per map convention, plus old-toolchain shapes, each compiled by
//! clang-19 at -mcpu=v1 and -mcpu=v3. Every object must load; every program in it must
//! verify or be refused by rvbpf with the verdict the Linux kernel gives the same
//! instructions (privileged `BPF_PROG_LOAD` with the section's `expected_attach_type`, the
//! object's maps created in the kernel, and for BTF-typed hooks the target's id in
//! vmlinux, found by bpftool), unless [`DIFFERENCES`] lists the program with the reason.
//! The kernel half runs as root and is skipped with a printed reason elsewhere.
//!
//! Two sources are rewritten on the way, as old toolchains wrote them: `old_clang`'s
//! assembly loses its `.type` and `.size` directives (program and function symbols become
//! NOTYPE without a size), and `machine_zero`'s ELF header gets `e_machine` 0.
#![cfg(all(feature = "std", not(target_arch = "riscv64")))]

#[path = "common/linux.rs"]
mod linux;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use rvbpf::loader::{self, Object, ProgramSpec};
use rvbpf::prog::{attach, ProgType, PROG_TYPES};
use rvbpf::runtime::{ProgramLoad, Runtime, StaticKernel, Task};

/// Programs whose rvbpf verdict differs from the kernel's, by `SOURCE PROGRAM`, and why.
const DIFFERENCES: &[(&str, &str)] = &[];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn sources() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir()).unwrap().filter_map(|e| e.unwrap().file_name().into_string().ok()).filter_map(|n| n.strip_suffix(".bpf.c").map(String::from)).collect();
    v.sort();
    v
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/setup.sh installs clang-19)"));
    assert!(out.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// Compiles `name` at `mcpu`, rewritten as its kind needs; the object's path.
fn compile(name: &str, mcpu: &str) -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpus");
    std::fs::create_dir_all(&out).unwrap();
    let obj = out.join(format!("{name}.{mcpu}.o"));
    let src = dir().join(format!("{name}.bpf.c"));
    let flags = ["-O2", "-g", "-target", "bpf", &format!("-mcpu={mcpu}"), "-D__TARGET_ARCH_riscv", "-I/usr/riscv64-linux-gnu/include"];
    if name == "old_clang" {
        let asm = out.join(format!("{name}.{mcpu}.s"));
        run(Command::new("clang-19").args(flags).arg("-S").arg(&src).arg("-o").arg(&asm));
        let text = std::fs::read_to_string(&asm).unwrap();
        let old: String = text.lines().filter(|l| !l.trim_start().starts_with(".type") && !l.trim_start().starts_with(".size")).map(|l| format!("{l}\n")).collect();
        std::fs::write(&asm, old).unwrap();
        run(Command::new("clang-19").args(["-target", "bpf", &format!("-mcpu={mcpu}"), "-c"]).arg(&asm).arg("-o").arg(&obj));
    } else {
        run(Command::new("clang-19").args(flags).arg("-c").arg(&src).arg("-o").arg(&obj));
    }
    if name == "machine_zero" {
        let mut b = std::fs::read(&obj).unwrap();
        b[18..20].copy_from_slice(&[0, 0]);
        std::fs::write(&obj, b).unwrap();
    }
    obj
}

/// Every corpus object, loaded: (label, source, object, loader warnings).
fn objects() -> &'static Vec<(String, String, Object)> {
    static O: OnceLock<Vec<(String, String, Object)>> = OnceLock::new();
    O.get_or_init(|| {
        let mut v = Vec::new();
        for name in sources() {
            for mcpu in ["v1", "v3"] {
                let path = compile(&name, mcpu);
                let label = format!("{name}.{mcpu}.o");
                let obj = loader::load(&std::fs::read(&path).unwrap(), &name).unwrap_or_else(|e| panic!("{label}: {e}"));
                v.push((label, name.clone(), obj));
            }
        }
        v
    })
}

#[test]
fn every_object_loads_with_its_programs() {
    let objs = objects();
    assert!(objs.len() >= 60, "only {} objects", objs.len());
    let mut types = BTreeSet::new();
    for (label, name, obj) in objs {
        assert!(!obj.programs.is_empty(), "{label}: no programs");
        let mut sections: Vec<&str> = obj.programs.iter().map(|p| p.section.as_str()).collect();
        sections.dedup();
        for p in &obj.programs {
            types.insert(p.prog_type() as u32);
        }
        // What each old-toolchain shape must keep: its programs and functions, a warning.
        match name.as_str() {
            "old_clang" => assert_eq!(obj.programs.iter().map(|p| p.name.as_str()).collect::<BTreeSet<_>>(), BTreeSet::from(["old_probe", "old_sock"]), "{label}"),
            "machine_zero" => assert!(obj.warnings.iter().any(|w| w.contains("e_machine is 0")), "{label}: {:?}", obj.warnings),
            "static_programs" => assert_eq!(obj.programs.len(), 4, "{label}: {sections:?}"),
            _ => {}
        }
        if name == "old_clang" {
            let sock = obj.program("old_sock").unwrap();
            assert!(sock.functions.iter().any(|(f, _)| f == "half"), "{label}: the NOTYPE function is linked: {:?}", sock.functions);
        }
    }
    let missing: Vec<&str> = PROG_TYPES.iter().filter(|r| !types.contains(&(r.prog_type as u32))).map(|r| r.name).collect();
    assert!(missing.is_empty(), "program types with no corpus program: {missing:?}");
    println!("corpus: {} objects from {} sources, {} program types", objs.len(), sources().len(), types.len());
}

/// The BTF ids of `file` (an object, or vmlinux) by (kind, name), from bpftool.
fn btf_ids(file: &Path) -> HashMap<(String, String), u32> {
    let out = Command::new("bpftool").args(["btf", "dump", "file"]).arg(file).output().expect("bpftool is installed by scripts/setup.sh");
    let mut m = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // [ID] KIND 'NAME' ...
        let Some(rest) = line.strip_prefix('[') else { continue };
        let mut w = rest.splitn(3, ' ');
        let (Some(id), Some(kind), Some(name)) = (w.next(), w.next(), w.next()) else { continue };
        let Some(name) = name.strip_prefix('\'').and_then(|n| n.split('\'').next()) else { continue };
        if let Ok(id) = id.trim_end_matches(']').parse() {
            m.insert((kind.to_string(), name.to_string()), id);
        }
    }
    m
}

/// vmlinux's BTF ids by (kind, name).
fn vmlinux_ids() -> &'static HashMap<(String, String), u32> {
    static M: OnceLock<HashMap<(String, String), u32>> = OnceLock::new();
    M.get_or_init(|| btf_ids(Path::new("/sys/kernel/btf/vmlinux")))
}

/// What loading an object's freplace programs into Linux takes, as libbpf does it: the
/// object's BTF in the kernel, each program's `func_info` from it, and the program whose
/// global function an extension replaces loaded first (its `attach_prog_fd`).
struct Freplace {
    btf_fd: i32,
    ids: HashMap<(String, String), u32>,
    targets: Vec<i32>,
}

impl Freplace {
    fn new(label: &str) -> Freplace {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpus").join(label);
        let elf = std::fs::read(&path).unwrap();
        let file = object::File::parse(&*elf).unwrap();
        let raw = object::Object::section_by_name(&file, ".BTF").and_then(|s| object::ObjectSection::data(&s).ok()).expect("the corpus is compiled with -g").to_vec();
        let btf_fd = linux::btf_load(&raw).unwrap_or_else(|(e, log)| panic!("{label}: the kernel refuses the object's BTF: errno {e}: {log}"));
        Freplace { btf_fd, ids: btf_ids(&path), targets: Vec::new() }
    }

    fn func(&self, name: &str) -> u32 {
        self.ids.get(&("FUNC".to_string(), name.to_string())).copied().unwrap_or_else(|| panic!("no FUNC {name} in the object's BTF"))
    }

    /// `func_info` of code whose functions start where `functions` says.
    fn func_info(&self, functions: &[(String, usize)]) -> Vec<[u32; 2]> {
        functions.iter().map(|(n, slot)| [*slot as u32, self.func(n)]).collect()
    }

    /// Loads `code` as the extension `p` (its functions as `functions`): its target, the
    /// object's program holding the function it replaces, is loaded first.
    fn load(&mut self, obj: &Object, p: &ProgramSpec, code: &[u8], functions: &[(String, usize)], fds: &[i32]) -> Result<i32, (i32, String)> {
        let name = p.kind.attach.clone().unwrap_or_default();
        let target = obj.programs.iter().find(|q| q.prog_type() != ProgType::Ext && q.functions.iter().any(|(f, _)| *f == name)).unwrap_or_else(|| panic!("{}: no program holds {name}", p.name));
        let tinfo = self.func_info(&target.functions);
        let with = linux::WithBtf { btf_fd: self.btf_fd, func_info: &tinfo, attach_prog_fd: 0 };
        let tfd = linux::prog_load_btf(target.prog_type() as u32, target.kind.attach_type.unwrap_or(0), 0, &target.bytes(), fds, 0, Some(&with)).unwrap_or_else(|(e, log)| panic!("{}: the kernel refuses the target {}: errno {e}: {log}", p.name, target.name));
        self.targets.push(tfd);
        let info = self.func_info(functions);
        let with = linux::WithBtf { btf_fd: self.btf_fd, func_info: &info, attach_prog_fd: tfd };
        linux::prog_load_btf(p.prog_type() as u32, 0, self.func(&name), code, fds, 0, Some(&with))
    }
}

impl Drop for Freplace {
    fn drop(&mut self) {
        for &fd in self.targets.iter().chain([&self.btf_fd]) {
            linux::close(fd);
        }
    }
}

/// The vmlinux BTF id the kernel attaches a BTF-typed program to (libbpf's names: the
/// function, `btf_trace_TP`, `bpf_iter_NAME`, `bpf_lsm_HOOK`); 0 for other types.
fn attach_btf_id(p: &ProgramSpec) -> Result<u32, String> {
    let target = p.kind.attach.clone().unwrap_or_default();
    let (kind, name) = match (p.prog_type(), p.kind.attach_type) {
        (ProgType::Tracing, Some(attach::TRACE_RAW_TP)) => ("TYPEDEF", format!("btf_trace_{target}")),
        (ProgType::Tracing, Some(attach::TRACE_ITER)) => ("FUNC", format!("bpf_iter_{target}")),
        (ProgType::Tracing, _) => ("FUNC", target),
        (ProgType::Lsm, _) => ("FUNC", format!("bpf_lsm_{target}")),
        (ProgType::StructOps, _) => match &p.struct_ops {
            Some(so) => ("STRUCT", so.type_name.clone()),
            None => return Err("a struct_ops program no .struct_ops map names".into()),
        },
        _ => return Ok(0),
    };
    vmlinux_ids().get(&(kind.to_string(), name.clone())).copied().ok_or(format!("no {kind} {name} in vmlinux"))
}

fn last_line(log: &str) -> &str {
    log.lines().rev().find(|l| !l.is_empty() && !l.starts_with("processed") && !l.starts_with("verification time")).unwrap_or("")
}

#[test]
fn every_program_gets_the_kernels_verdict() {
    if let Some(why) = linux::unavailable() {
        println!("SKIPPED: corpus verdicts against Linux: {why}");
        return;
    }
    let (mut accepted, mut refused, mut listed, mut differ, mut skipped) = (0, 0, 0, Vec::new(), BTreeSet::new());
    for (label, name, obj) in objects() {
        let fds = linux::object_maps(label, obj);
        let rt = Runtime::new(Arc::new(StaticKernel::new(Task::default())), 2);
        let maps: Vec<Arc<rvbpf::maps::Map>> = rt.create_object_maps(obj).unwrap().into_iter().map(|m| m.map).collect();
        let resolve = rvbpf::runtime::fd_array(&maps);
        let mut freplace = obj.programs.iter().any(|p| p.prog_type() == ProgType::Ext).then(|| Freplace::new(label));
        for p in &obj.programs {
            let flags = if p.kind.sleepable { 1 << 4 } else { 0 };
            let btf_id = attach_btf_id(p).unwrap_or_else(|e| panic!("{label} {}: {e}", p.name));
            // A struct_ops program's expected_attach_type is its member's index.
            let attach = p.struct_ops.as_ref().map_or(p.kind.attach_type.unwrap_or(0), |so| so.index);
            let mut kernel_load = |code: &[u8], functions: &[(String, usize)]| match freplace.as_mut() {
                Some(f) if p.prog_type() == ProgType::Ext => f.load(obj, p, code, functions, &fds),
                _ => linux::prog_load_full(p.prog_type() as u32, attach, btf_id, code, &fds, flags),
            };
            let kernel = match kernel_load(&p.bytes(), &p.functions) {
                Ok(fd) => {
                    linux::close(fd);
                    Ok(())
                }
                Err((e, log)) => Err(format!("errno {e}: {}", last_line(&log))),
            };
            // A kernel that refuses even `r0 = LOW; exit` (the low end of the return range)
            // for this hook gives no verdict.
            let low = p.prog_type().ret_at(p.kind.attach_type).map_or(0, |r| r.0) as i32;
            let mut trivial = [0xb7u8, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
            trivial[4..8].copy_from_slice(&low.to_le_bytes());
            let entry = [(p.name.clone(), 0)];
            if kernel.is_err() && kernel_load(&trivial, &entry).map(linux::close).is_err() {
                skipped.insert(format!("{} ({})", p.section, p.prog_type().name()));
                continue;
            }
            let req = ProgramLoad { name: &p.name, prog_type: p.prog_type(), attach: p.kind.attach_type, insns: &p.insns, license: &obj.license, functions: &p.functions, maps: &resolve, returns_void: p.returns_void(), log_level: 0 };
            let ours = rt.load_program(&req).map(drop).map_err(|e| e.to_string());
            let key = format!("{name} {}", p.name);
            match (&ours, &kernel) {
                (Ok(()), Ok(())) => accepted += 1,
                (Err(_), Err(_)) => refused += 1,
                _ if DIFFERENCES.iter().any(|(k, _)| *k == key) => {
                    listed += 1;
                    println!("  listed: {label} {}: rvbpf {ours:?}, Linux {kernel:?}", p.name);
                }
                _ => differ.push(format!("{label} {}: rvbpf {ours:?}, Linux {kernel:?}", p.name)),
            }
        }
        for fd in fds {
            linux::close(fd);
        }
    }
    for s in &skipped {
        println!("  SKIP {s}: this kernel refuses even an empty program of this hook, so it gives no verdict");
    }
    println!("corpus verdicts: {accepted} programs accepted and {refused} refused by both rvbpf and Linux, {listed} differ for a listed reason, {} unlisted; {} hooks the kernel cannot load here", differ.len(), skipped.len());
    assert!(differ.is_empty(), "verdicts that differ from Linux:\n{}", differ.join("\n"));
    assert!(refused >= 14, "the refused programs are refused by both: only {refused}");
    assert!(accepted >= 100, "only {accepted} programs accepted by both");
}

/// LIBBPF_PIN_BY_NAME in the runtime's namespace: a second object reuses the map the
/// first pinned (and sees what the first object's program wrote in it), its other maps are
/// its own, a definition that differs is refused naming both, and after `unpin` the name
/// makes a new map.
#[test]
fn maps_pinned_by_name_are_shared_in_the_runtime() {
    use rvbpf::runtime::{Context, ObjectError, PtRegs, RunConfig};
    let obj = &objects().iter().find(|(l, _, _)| l == "btf_maps.v3.o").expect("btf_maps.v3.o").2;
    let rt = Runtime::new(Arc::new(StaticKernel::new(Task::default())), 1);
    let a = rt.load_object(obj).unwrap();
    let head = a.program("head").unwrap();
    rt.run(head, &mut Context::Kprobe(&PtRegs::default()), &RunConfig::default()).unwrap();
    let b = rt.load_object(obj).unwrap();
    let map = |o: &rvbpf::runtime::LoadedObject, n: &str| o.maps[obj.maps.iter().position(|m| m.name == n).unwrap()].clone();
    assert!(Arc::ptr_eq(&map(&a, "pinned").map, &map(&b, "pinned").map), "the pinned map is shared");
    assert_eq!(map(&a, "pinned").id, map(&b, "pinned").id);
    assert!(!Arc::ptr_eq(&map(&a, "per_cpu").map, &map(&b, "per_cpu").map), "maps not pinned are each object's own");
    let mut v = [0u8; 8];
    map(&b, "pinned").map.lookup(&0u32.to_ne_bytes(), &mut v).expect("the first object's program wrote key 0");
    assert_eq!(u64::from_ne_bytes(v), 1);
    let mut other = obj.clone();
    other.maps.iter_mut().find(|m| m.name == "pinned").unwrap().def.max_entries = 65;
    match rt.load_object(&other) {
        Err(e @ ObjectError::PinnedIncompatible { .. }) => assert!(e.to_string().contains("max_entries 64") && e.to_string().contains("max_entries 65"), "{e}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a pinned map with another definition was reused"),
    }
    assert!(rt.unpin("pinned").is_some() && rt.pinned_map("pinned").is_none());
    let c = rt.load_object(&other).unwrap();
    assert!(!Arc::ptr_eq(&map(&a, "pinned").map, &map(&c, "pinned").map), "unpinned: a new map");
    assert_eq!(rt.pinned_map("pinned").unwrap().map.def().max_entries, 65);
}
