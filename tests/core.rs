//! CO-RE (tests/core/): core.bpf.c is compiled against local.h and relocated against
//! three target BTFs (target_{a,b,c}.c compiled with `clang -g`), whose types differ
//! from local.h in every way CO-RE handles: members moved, renamed, missing, resized,
//! nested in anonymous members, behind typedefs; bitfields moved; enums renumbered;
//! flavors. The oracle is libbpf itself: libbpf_relo.c relocates the same object against
//! the same target and prints the instructions it would hand the kernel, which must be
//! rvbpf's instruction for instruction; then the kernel verifies libbpf's result and its
//! verdict must be rvbpf's. vmlinux_task.bpf.c does the same against the running
//! kernel's BTF, as a libbpf-bootstrap tool is built. The libbpf and kernel halves need
//! root and say so when they skip; the rest runs anywhere clang does.

#[path = "common/linux.rs"]
mod linux;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use rvbpf::isa::RawInsn;
use rvbpf::loader::co_re::{Outcome, KERNEL_BTF, POISON_IMM};
use rvbpf::loader::{self, CoreTarget, LoadError, LoadOptions, Object};
use rvbpf::runtime::{ProgramLoad, Runtime, StaticKernel, Task};

const TARGETS: [&str; 3] = ["target_a", "target_b", "target_c"];
const PROGRAMS: [&str; 4] = ["core_fields", "core_types", "core_direct", "core_flavor"];

fn src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/core").join(name)
}

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("core");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/setup.sh installs clang-19, gcc, libbpf-dev and bpftool)"));
    assert!(out.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// Compiles `tests/core/NAME` to an object (BPF programs with the riscv headers, or a
/// target's types) and returns its path. Each file is compiled once per test process.
fn compile(name: &str, extra: &[&str]) -> PathBuf {
    let obj = out_dir().join(name.replace(".c", ".o"));
    let mut cmd = Command::new("clang-19");
    cmd.args(["-O2", "-g", "-target", "bpf", "-c"]).args(extra).arg(src(name)).arg("-o").arg(&obj);
    run(&mut cmd);
    obj
}

struct Built {
    core: PathBuf,
    ambiguous: PathBuf,
    targets: Vec<(String, PathBuf)>,
    target_d: PathBuf,
}

fn built() -> &'static Built {
    static B: OnceLock<Built> = OnceLock::new();
    B.get_or_init(|| {
        let bpf = ["-D__TARGET_ARCH_riscv", "-I/usr/riscv64-linux-gnu/include"];
        Built {
            core: compile("core.bpf.c", &bpf),
            ambiguous: compile("ambiguous.bpf.c", &bpf),
            targets: TARGETS.iter().map(|t| (t.to_string(), compile(&format!("{t}.c"), &[]))).collect(),
            target_d: compile("target_d.c", &[]),
        }
    })
}

fn load_against(obj: &Path, target: CoreTarget) -> Result<Object, LoadError> {
    let name = obj.file_stem().unwrap().to_string_lossy().into_owned();
    loader::load_with(&std::fs::read(obj).unwrap(), &name, &LoadOptions { core_target: target, ..LoadOptions::default() })
}

fn load_file(obj: &Path, target: &Path) -> Object {
    let btf = std::fs::read(target).unwrap();
    load_against(obj, CoreTarget::Btf(&btf)).unwrap_or_else(|e| panic!("{} against {}: {e}", obj.display(), target.display()))
}

/// rvbpf's verdict on one of `obj`'s programs: `Ok` or the verifier's reason.
fn verdict(obj: &Object, prog: &str) -> Result<(), String> {
    let rt = Runtime::new(Arc::new(StaticKernel::new(Task::default())), 1);
    let maps: Vec<Arc<rvbpf::maps::Map>> = rt.create_object_maps(obj).unwrap().into_iter().map(|m| m.map).collect();
    let resolve = rvbpf::runtime::fd_array(&maps);
    let p = obj.program(prog).unwrap_or_else(|| panic!("no program {prog}"));
    let req = ProgramLoad { name: &p.name, prog_type: p.prog_type(), attach: p.kind.attach_type, insns: &p.insns, license: &obj.license, functions: &p.functions, maps: &resolve, returns_void: false, log_level: 0 };
    rt.load_program(&req).map(drop).map_err(|e| e.to_string())
}

/// Why libbpf and the kernel cannot be asked here, if they cannot.
fn oracle_missing() -> Option<String> {
    linux::unavailable().map(|why| format!("libbpf relocation and the kernel's verdict skipped: {why}"))
}

/// libbpf_relo, built once.
fn libbpf_relo() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let exe = out_dir().join("libbpf_relo");
        run(Command::new("gcc").args(["-Wall", "-Werror", "-O1"]).arg(src("libbpf_relo.c")).arg("-lbpf").arg("-o").arg(&exe));
        exe
    })
}

/// What libbpf makes of program `prog` of `obj` against `target`. `Err` when libbpf
/// refuses the object itself (its warnings).
struct Libbpf {
    insns: Vec<RawInsn>,
    /// With `load`: the kernel's verdict (`Ok`, or its last log line).
    kernel: Option<Result<(), String>>,
}

fn libbpf(obj: &Path, prog: &str, target: &Path, load: bool) -> Result<Libbpf, String> {
    let mut cmd = Command::new(libbpf_relo());
    cmd.arg(obj).arg(prog).arg(target);
    if load {
        cmd.arg("load");
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    match out.status.code() {
        Some(0) => {}
        Some(2) => return Err(stderr),
        c => panic!("libbpf_relo exited with {c:?}: {stderr}"),
    }
    let (mut insns, mut verdict) = (Vec::new(), None);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let w: Vec<&str> = line.split(' ').collect();
        match w.as_slice() {
            ["insn", _, code, dst, src, off, imm] => insns.push(RawInsn { opcode: code.parse().unwrap(), dst: dst.parse().unwrap(), src: src.parse().unwrap(), off: off.parse().unwrap(), imm: imm.parse().unwrap() }),
            ["verdict", "accepted"] => verdict = Some(Ok(())),
            _ if line.starts_with("verdict refused: ") => verdict = Some(Err(line["verdict refused: ".len()..].to_string())),
            _ => panic!("libbpf_relo printed {line:?}"),
        }
    }
    Ok(Libbpf { insns, kernel: verdict })
}

fn show(insns: &[RawInsn]) -> String {
    insns.iter().enumerate().map(|(i, n)| format!("{i:3}: {:02x} {} {} {:6} {}\n", n.opcode, n.dst, n.src, n.off, n.imm)).collect()
}

/// The relocated instructions of every program against every target are libbpf's, and
/// the kernel's verdict on libbpf's result is rvbpf's verdict on its own.
#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "host only: compiles C with clang and gcc, and concurrent spawns deadlock qemu-user's fork")]
fn relocations_and_verdicts_match_libbpf_and_the_kernel() {
    let b = built();
    if let Some(why) = oracle_missing() {
        println!("{why}");
        return;
    }
    let (mut compared, mut accepted) = (0, 0);
    for (t, target) in &b.targets {
        let obj = load_file(&b.core, target);
        for prog in PROGRAMS {
            let ours = &obj.program(prog).unwrap().insns;
            let Libbpf { insns: theirs, kernel } = libbpf(&b.core, prog, target, true).unwrap_or_else(|e| panic!("libbpf refused {prog} against {t}: {e}"));
            assert!(*ours == theirs, "{prog} against {t}: rvbpf's relocation differs from libbpf's\nrvbpf:\n{}libbpf:\n{}", show(ours), show(&theirs));
            let kernel = kernel.expect("libbpf_relo printed no verdict");
            let mine = verdict(&obj, prog);
            assert_eq!(mine.is_ok(), kernel.is_ok(), "{prog} against {t}: rvbpf {mine:?}, Linux {kernel:?}");
            compared += 1;
            accepted += mine.is_ok() as usize;
        }
    }
    println!("{compared} relocated programs alike in rvbpf and libbpf, {accepted} accepted by both verifiers");
    assert_eq!(compared, TARGETS.len() * PROGRAMS.len());
}

/// Ambiguous candidates (two flavors that place the field differently) stop the load,
/// naming the instruction; libbpf refuses the object too.
#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "host only: compiles C with clang and gcc, and concurrent spawns deadlock qemu-user's fork")]
fn ambiguous_candidates_are_refused() {
    let b = built();
    let btf = std::fs::read(&b.target_d).unwrap();
    let err = load_against(&b.ambiguous, CoreTarget::Btf(&btf)).map(drop).expect_err("an ambiguous relocation loaded");
    let text = err.to_string();
    assert!(matches!(err, LoadError::CoRe { insn: 1, .. }), "{text}");
    assert!(text.contains("section kprobe/core_ambiguous") && text.contains("field offset ambiguity") && text.contains("core_pair___v1") && text.contains("core_pair___v2"), "{text}");
    match oracle_missing() {
        Some(why) => println!("{why}"),
        None => assert!(libbpf(&b.ambiguous, "core_ambiguous", &b.target_d, false).is_err(), "libbpf accepted the ambiguous object"),
    }
}

/// A relocation no target satisfies is poisoned (`call 0xbad2310`, both slots of an
/// lddw); the verifier refuses it where it is reachable, naming it, and passes it where
/// a guard (`bpf_core_field_exists`, `bpf_core_enum_value_exists`) makes it dead.
#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "host only: compiles C with clang and gcc, and concurrent spawns deadlock qemu-user's fork")]
fn poison_is_refused_only_where_reachable() {
    let b = built();
    let obj = load_file(&b.core, &b.targets[1].1);
    let poisoned = |prog: &str| -> Vec<usize> {
        let p = obj.program(prog).unwrap();
        p.insns.iter().enumerate().filter(|(_, n)| n.opcode == 0x85 && n.imm == POISON_IMM).map(|(i, _)| i).collect()
    };
    for a in obj.core.iter().filter(|a| matches!(a.outcome, Outcome::Poisoned { .. })) {
        let p = obj.programs.iter().find(|p| p.section == a.section).unwrap();
        assert!(poisoned(&p.name).contains(&a.insn), "{} insn {} listed as poisoned but not", a.section, a.insn);
    }
    // The unguarded arr[2].a (target B's array has 2 elements) is reachable.
    assert_eq!(poisoned("core_fields"), [34, 97]);
    let e = verdict(&obj, "core_fields").unwrap_err();
    assert!(e.contains("34: invalid func unknown#195896080") && e.contains("CO-RE"), "{e}");
    // CS_GONE's value (an lddw: both slots) and old_only are behind their guards.
    assert_eq!(poisoned("core_types"), [20, 21]);
    assert_eq!(poisoned("core_flavor"), [11]);
    verdict(&obj, "core_types").unwrap();
    verdict(&obj, "core_flavor").unwrap();
}

/// Without a target an object with CO-RE relocations is refused with the way out; with
/// `CoreTarget::Local` every relocation keeps its compile-time value; a target that is
/// not BTF is refused as such.
#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "host only: compiles C with clang and gcc, and concurrent spawns deadlock qemu-user's fork")]
fn target_choices() {
    let b = built();
    let local = load_against(&b.core, CoreTarget::Local).unwrap();
    let e = load_against(&b.core, CoreTarget::None).map(drop).unwrap_err();
    assert!(matches!(e, LoadError::NoCoreTarget { count, .. } if count == local.core.len()), "{e}");
    assert!(e.to_string().contains("--btf FILE") && e.to_string().contains(KERNEL_BTF), "{e}");
    // Bitfield offsets, sizes and shifts are not checked against the instruction (clang
    // and libbpf choose different load widths), so only the other relocations must keep
    // their values exactly.
    for a in local.core.iter().filter(|a| !a.local_spec.contains(".bf") && !a.local_spec.contains(".sbf")) {
        assert!(matches!(a.outcome, Outcome::Patched { orig, new } if orig == new), "{} insn {}: {:?} against its own types", a.section, a.insn, a.outcome);
    }
    let raw = std::fs::read(&b.core).unwrap();
    let plain = loader::load_with(&raw, "core", &LoadOptions { core_target: CoreTarget::Local, ..LoadOptions::default() }).unwrap();
    let unpatched = loader::load_with(&raw, "core", &LoadOptions { core_target: CoreTarget::Btf(&raw), ..LoadOptions::default() }).unwrap();
    assert!(plain.programs.iter().zip(&unpatched.programs).all(|(a, b)| a.insns == b.insns), "the object as its own ELF target differs from --btf local");
    for garbage in [&b"not btf at all"[..], &[0x9f, 0xeb, 1, 0, 24, 0, 0, 0][..], b"\x7fELF"] {
        let e = load_against(&b.core, CoreTarget::Btf(garbage)).map(drop).unwrap_err();
        assert!(matches!(e, LoadError::CoreTarget(_)), "{e}");
    }
}

/// A libbpf-bootstrap-style object built on vmlinux.h relocates against the running
/// kernel's BTF as libbpf relocates it, and both verifiers accept it.
#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "host only: compiles C with clang and gcc, and concurrent spawns deadlock qemu-user's fork")]
fn vmlinux_object_matches_libbpf() {
    let kernel = Path::new(KERNEL_BTF);
    if !kernel.exists() {
        println!("skipped: {KERNEL_BTF} does not exist (a kernel without BTF)");
        return;
    }
    let header = out_dir().join("vmlinux.h");
    let dump = Command::new("bpftool").args(["btf", "dump", "file", KERNEL_BTF, "format", "c"]).output().expect("bpftool is installed by scripts/setup.sh");
    assert!(dump.status.success(), "bpftool: {}", String::from_utf8_lossy(&dump.stderr));
    std::fs::write(&header, dump.stdout).unwrap();
    let arch = if cfg!(target_arch = "x86_64") { "-D__TARGET_ARCH_x86" } else { "-D__TARGET_ARCH_arm64" };
    let obj_path = compile("vmlinux_task.bpf.c", &[arch, "-I", out_dir().to_str().unwrap()]);
    let obj = load_file(&obj_path, kernel);
    assert!(obj.core.len() >= 10, "{} relocations", obj.core.len());
    assert!(obj.core.iter().any(|a| matches!(a.outcome, Outcome::Poisoned { .. })), "the guarded no_such_field was not poisoned");
    if let Some(why) = oracle_missing() {
        println!("{why}");
        return;
    }
    for p in &obj.programs {
        let Libbpf { insns: theirs, kernel } = libbpf(&obj_path, &p.name, kernel, true).unwrap();
        // libbpf has put the .rodata map's fd in the lddw; rvbpf keeps the relocation.
        let same = p.insns.len() == theirs.len() && p.insns.iter().zip(&theirs).enumerate().all(|(i, (a, b))| a == b || p.relocations.iter().any(|r| r.slot == i || r.slot + 1 == i));
        assert!(same, "{}: rvbpf's relocation differs from libbpf's\nrvbpf:\n{}libbpf:\n{}", p.name, show(&p.insns), show(&theirs));
        let (mine, kernel) = (verdict(&obj, &p.name), kernel.expect("libbpf_relo printed no verdict"));
        assert!(mine.is_ok() && kernel.is_ok(), "{}: rvbpf {mine:?}, Linux {kernel:?}", p.name);
    }
}

/// Malformed CO-RE records: each field of a record forged to values that name nothing
/// (an instruction past the section or between slots, a type id past the last type, an
/// access string that is not one or walks past a member or an element, an unknown kind)
/// gives an error naming the section and instruction, or a poisoning, never a panic;
/// and the record that stays valid gives what it gave before.
#[test]
#[cfg_attr(target_arch = "riscv64", ignore = "host only: compiles C with clang and gcc, and concurrent spawns deadlock qemu-user's fork")]
fn malformed_records_are_errors_not_panics() {
    use object::{Object as _, ObjectSection};
    let b = built();
    let raw = std::fs::read(&b.core).unwrap();
    let target = std::fs::read(&b.targets[0].1).unwrap();
    let file = object::File::parse(&*raw).unwrap();
    let ext = file.section_by_name(".BTF.ext").unwrap();
    let (ext_off, _) = ext.file_range().unwrap();
    let ext_off = ext_off as usize;
    let word = |d: &[u8], at: usize| u32::from_le_bytes(d[at..at + 4].try_into().unwrap());
    let hdr_len = word(&raw, ext_off + 4) as usize;
    let core_off = ext_off + hdr_len + word(&raw, ext_off + 24) as usize;
    // Record size, then the first group: section name, count, records.
    let first = core_off + 12;
    let string = |s: &str| {
        let btf = file.section_by_name(".BTF").unwrap().data().unwrap();
        let (h, so) = (word(btf, 4) as usize, word(btf, 16) as usize);
        let strs = &btf[h + so..];
        strs.windows(s.len() + 1).position(|w| &w[..s.len()] == s.as_bytes() && w[s.len()] == 0).map(|p| p as u32)
    };
    let mut forged = 0;
    let strings = ["0", "0:99", "0:13:9:0", "x", ":", "0:1:2:3:4:5:6:7:8", ""].iter().filter_map(|s| string(s)).chain([0xffff_fff0]);
    let cases: Vec<(usize, u32)> = [1u32 << 20, 4, 3].into_iter().map(|v| (0, v)).chain([0u32, 99_999, 1].into_iter().map(|v| (4, v))).chain(strings.map(|v| (8, v))).chain([13u32, 99, 6].into_iter().map(|v| (12, v))).collect();
    for (field, value) in cases {
        let mut bad = raw.clone();
        bad[first + field..first + field + 4].copy_from_slice(&value.to_le_bytes());
        let r = load_against_bytes(&bad, CoreTarget::Btf(&target));
        match r {
            Ok(obj) => {
                println!("field {field} = {value}: loads ({:?})", obj.core[0].outcome);
                assert!(!obj.core.is_empty());
            }
            Err(e @ LoadError::CoRe { .. }) => {
                let text = e.to_string();
                assert!(text.starts_with("section kprobe/core_fields, instruction "), "{text}");
                println!("field {field} = {value}: {text}");
                forged += 1;
            }
            Err(e) => panic!("record field {field} = {value}: {e}"),
        }
    }
    assert!(forged >= 10, "only {forged} forged records were refused");
}

fn load_against_bytes(raw: &[u8], target: CoreTarget) -> Result<Object, LoadError> {
    loader::load_with(raw, "core", &LoadOptions { core_target: target, ..LoadOptions::default() })
}
