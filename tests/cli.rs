//! The `rvbpf` command line: outputs, the plugin protocol, and clear errors on bad input.
//! Host only: under qemu-user a riscv64 test process cannot spawn the riscv64 binary
//! (the riscv64 CLI is exercised by scripts/test.sh running the conformance suite).
#![cfg(not(target_arch = "riscv64"))]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn rvbpf(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rvbpf"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// A temporary directory for `test`'s BPF objects, or `None` (said) when clang-19 is
/// missing.
fn clang_dir(test: &str) -> Option<std::path::PathBuf> {
    if !Command::new("clang-19").arg("--version").output().is_ok_and(|o| o.status.success()) {
        println!("SKIP {test}: clang-19 missing (run scripts/setup.sh)");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("rvbpf-cli-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Some(dir)
}

/// Compiles `src` (a path from the crate root) for riscv64 as libbpf programs are, into
/// `dir/name`; `flags` are added (`-g` is not among the defaults).
fn clang(dir: &std::path::Path, src: &str, name: &str, flags: &[&str]) -> String {
    let o = dir.join(name);
    let st = Command::new("clang-19").args(["-O2", "-target", "bpf", "-D__TARGET_ARCH_riscv", "-I/usr/riscv64-linux-gnu/include"]).args(flags).args(["-c", src, "-o"]).arg(&o).current_dir(env!("CARGO_MANIFEST_DIR")).status().unwrap();
    assert!(st.success(), "clang-19 on {src}");
    o.to_str().unwrap().to_string()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}
fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn run_prints_r0_and_json_has_the_return_value() {
    let o = rvbpf(&["run", "examples/checksum.data"], "");
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "0x4840\n-- result 0x4840: matched\n", "a .data test says whether its -- result was met");
    let o = rvbpf(&["run", "--json", "examples/checksum.data"], "");
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["return_value"], 0x4840);
    assert_eq!(v["engine"], "interp");
    assert_eq!((&v["expected"]["result"], &v["matches"]), (&serde_json::json!(0x4840), &serde_json::json!(true)));
    // Another result than the file's: said, and exit status 1.
    let dir = std::env::temp_dir().join(format!("rvbpf-cli-expect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wrong = dir.join("wrong.data");
    std::fs::write(&wrong, "-- asm\nmov %r0, 7\nexit\n-- result\n0x8\n").unwrap();
    let o = rvbpf(&["run", wrong.to_str().unwrap()], "");
    assert_eq!((o.status.code(), out(&o).as_str()), (Some(1), "0x7\n-- result 0x8: MISMATCH, the run returned 0x7\n"));
    // An error test whose program is invalid: the error it expects.
    let o = rvbpf(&["run", "conformance/invalid/reserved-jlt-ad-imm-2.data"], "");
    assert!(o.status.success() && out(&o).ends_with("-- error: matched (the test expects the run to fail)\n"), "{}{}", out(&o), err(&o));
    // Other memory than the file's: no comparison.
    let o = rvbpf(&["run", "examples/checksum.data", "--mem", "00"], "");
    assert!(!out(&o).contains("-- result"), "{}", out(&o));
    let _ = std::fs::remove_dir_all(&dir);
    // The socket-filter layout is in the help.
    let o = rvbpf(&["run", "--help"], "");
    assert!(out(&o).contains("Linux's test run strips the 14-byte Ethernet header"), "{}", out(&o));
}

#[test]
fn verify_gives_the_verdict_the_log_and_the_exit_status() {
    let o = rvbpf(&["verify", "examples/checksum.data"], "");
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).lines().any(|l| l.starts_with("processed ") && l.contains(" insns (limit 1000000)")), "{}", out(&o));
    assert_eq!(out(&o).lines().last(), Some("checksum: accepted"));
    let o = rvbpf(&["verify", "conformance/runtime-errors/read-null.data"], "");
    assert_eq!(o.status.code(), Some(1));
    let text = out(&o);
    assert!(text.contains("1: (71) w0 = *(u8 *)(r1 + 0x0)"), "level 1 shows the refused instruction: {text}");
    assert_eq!(text.lines().last(), Some("read-null: refused (EACCES): 1: R1 invalid mem access 'scalar'"));
    // Level 2: every instruction with its states, in JSON too.
    let o = rvbpf(&["verify", "--json", "--log-level", "2", "conformance/runtime-errors/read-null.data"], "");
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let p = &v["programs"][0];
    assert_eq!((p["verdict"].as_str(), p["errno"].as_i64(), p["pc"].as_i64()), (Some("refuse"), Some(13), Some(1)));
    assert_eq!(p["insns"][0]["states"][0], "R1=mem(sz=16) R2=16 R10=fp0");
    // A program that needs memory: without it r1 is 0.
    let o = rvbpf(&["verify", "--log-level", "0", "examples/memcpy.asm"], "");
    assert_eq!(o.status.code(), Some(1));
    let o = rvbpf(&["verify", "--log-level", "0", "--mem", &"00 ".repeat(256), "examples/memcpy.asm"], "");
    assert!(o.status.success(), "{}", out(&o));
    let o = rvbpf(&["verify", "--log-level", "3", "examples/memcpy.asm"], "");
    assert_eq!((o.status.code(), err(&o).trim()), (Some(1), "rvbpf: error: --log-level 3: the levels are 0, 1 and 2"));
}

#[test]
fn trace_shows_changed_registers() {
    let o = rvbpf(&["run", "--trace", "examples/checksum.data"], "");
    let text = out(&o);
    let first = text.lines().nth(1).unwrap();
    assert!(first.starts_with("    1: mov %r3, 0"), "{first}");
    assert!(text.lines().any(|l| l.contains("ldxdw %r5, [%r4+0]") && l.contains("r5=0x")), "{text}");
}

#[test]
fn plugin_speaks_the_bpf_conformance_protocol() {
    // mov r0, r2 (memory length); exit — memory as bpf_conformance sends it: "aa  bb  ".
    let o = rvbpf(&["plugin", "01  02  03  "], "bf 20 00 00 00 00 00 00 95 00 00 00 00 00 00 00\n");
    assert!(o.status.success());
    assert_eq!(out(&o), "3\n");
    let o = rvbpf(&["plugin"], "07 0a 00 00 01 00 00 00 95 00 00 00 00 00 00 00");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(out(&o), "invalid instruction at 0: opcode 0x07: writes the read-only frame pointer r10\n", "one error line on stdout");
    let o = rvbpf(&["plugin"], "zz");
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).starts_with("program: bad hex byte"), "{}", out(&o));
}

#[test]
fn conformance_ends_with_the_summary_line_and_fails_on_failure() {
    let dir = std::env::temp_dir().join(format!("rvbpf-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("good.data"), "-- asm\nmov %r0, 1\nexit\n-- result\n1\n").unwrap();
    std::fs::write(dir.join("bad.data"), "-- asm\nmov %r0, 1\nexit\n-- result\n2\n").unwrap();
    std::fs::write(dir.join("skip.data"), "-- asm\nexit\n-- pyelf\n").unwrap();
    let o = rvbpf(&["conformance", dir.to_str().unwrap()], "");
    // --quiet: the failure and the summary, nothing else.
    let quiet = rvbpf(&["conformance", "--quiet", dir.to_str().unwrap()], "");
    // --junit: the same verdicts as JUnit XML.
    let junit = std::env::temp_dir().join(format!("rvbpf-cli-{}.xml", std::process::id()));
    let j = rvbpf(&["conformance", "--quiet", "--junit", junit.to_str().unwrap(), dir.to_str().unwrap()], "");
    assert_eq!(out(&j), out(&quiet));
    let xml = std::fs::read_to_string(&junit).unwrap();
    std::fs::remove_file(&junit).ok();
    assert!(xml.starts_with("<?xml") && xml.contains(r#"<testsuites name="rvbpf" tests="3" failures="1" errors="0">"#), "{xml}");
    assert!(xml.contains(r#"<testcase name="bad.data""#) && xml.contains(r#"<failure message="returned 0x1, expected 0x2""#), "{xml}");
    assert!(xml.contains("<skipped message="), "{xml}");
    let bad = rvbpf(&["conformance", "--junit", "/nonexistent/dir/x.xml", dir.to_str().unwrap()], "");
    assert!(!bad.status.success() && err(&bad).contains("--junit /nonexistent/dir/x.xml: No such file"), "{}", err(&bad));
    std::fs::remove_dir_all(&dir).ok();
    let lines: Vec<String> = out(&quiet).lines().map(String::from).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("FAIL ") && lines[0].ends_with("bad.data: returned 0x1, expected 0x2"), "{lines:?}");
    assert_eq!(lines[1], "1 passed, 1 failed, 1 skipped");
    assert!(!quiet.status.success());
    let text = out(&o);
    assert_eq!(text.lines().last().unwrap(), "1 passed, 1 failed, 1 skipped");
    assert!(text.contains("FAIL") && text.contains("returned 0x1, expected 0x2"), "{text}");
    assert!(!o.status.success());
}

#[test]
fn asm_and_disasm_round_trip_through_files() {
    let dir = std::env::temp_dir().join(format!("rvbpf-asm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("p.bin");
    let o = rvbpf(&["asm", "examples/parser.asm", "-o", bin.to_str().unwrap()], "");
    assert!(o.status.success(), "{}", err(&o));
    let o = rvbpf(&["disasm", bin.to_str().unwrap()], "");
    let src = dir.join("p.asm");
    std::fs::write(&src, out(&o)).unwrap();
    let bin2 = dir.join("p2.bin");
    assert!(rvbpf(&["asm", src.to_str().unwrap(), "-o", bin2.to_str().unwrap()], "").status.success());
    assert_eq!(std::fs::read(&bin).unwrap(), std::fs::read(&bin2).unwrap());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_gets_a_clear_error_not_a_panic() {
    for (args, stdin, needle) in [
        (vec!["run", "/nonexistent.bin"], "", "/nonexistent.bin"),
        (vec!["run", "--mem", "abc", "examples/checksum.data"], "", "--mem: hex input has an odd number of digits"),
        (vec!["asm", "-"], "add %r0, %r11\n", "line 1: bad register \"%r11\""),
        (vec!["asm", "-"], "ja nowhere\nexit\n", "line 1: unknown label \"nowhere\""),
        (vec!["disasm", "-"], "95 00 00 00", "not a multiple of 8"),
        (vec!["conformance", "--jobs", "0", "conformance"], "", "--jobs must be at least 1"),
        (vec!["run", "--repeat", "0", "examples/checksum.data"], "", "invalid value '0' for '--repeat <REPEAT>': 0 is not in 1.."),
        (vec!["run", "--cpus", "0", "examples/checksum.data"], "", "invalid value '0' for '--cpus <CPUS>': 0 is not in 1.."),
        (vec!["asm", "-"], "ja +100\nexit\n", "jump to slot 101, outside the program of 2 slots"),
        (vec!["frobnicate"], "", "unrecognized subcommand"),
        // Every other subcommand's bad input (their good runs: tests/proofs.rs and
        // tests/oracle.rs run `prove` and `oracle`; the tests above the others).
        (vec!["load", "/nonexistent.o"], "", "/nonexistent.o: No such file"),
        (vec!["jit", "--zba", "/nonexistent.bin"], "", "/nonexistent.bin: No such file"),
        (vec!["verify", "-"], "05 00 05 00 00 00 00 00 95 00 00 00 00 00 00 00", "-: refused (EINVAL): invalid instruction at 0: jump"),
        (vec!["prove", "--filter", "no such obligation"], "", "no obligation's name contains \"no such obligation\""),
        (vec!["oracle", "--cases", "0"], "", "--cases must be at least 1"),
        (vec!["plugin", "zz"], "95 00 00 00 00 00 00 00", "memory: bad hex byte \"zz\" at offset 0"),
        (vec!["bpftool", "--cpus", "0"], "", "0 is not in 1.."),
        (vec!["bpftool", "-"], "map show\nmap dump id 7\n", "-: line 2: no map with id 7"),
    ] {
        let o = rvbpf(&args, stdin);
        assert!(!o.status.success(), "{args:?} succeeded");
        // The message is on stderr, or on stdout where the command's protocol says so
        // (plugin, verify's verdict).
        let said = err(&o) + &out(&o);
        assert!(said.contains(needle), "{args:?}: output {said:?} lacks {needle:?}");
        assert!(!err(&o).contains("panicked"), "{args:?} panicked");
    }
}

#[test]
fn jit_lists_rv64_code_per_bpf_instruction_with_statistics() {
    let o = rvbpf(&["jit", "examples/checksum.data"], "");
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    // Each BPF instruction line is followed by its RV64 lines; the header comes first.
    assert!(text.contains("; header: entry"), "{text}");
    assert!(text.lines().any(|l| l.trim_start().starts_with("0: ")), "{text}");
    assert!(text.contains("jalr zero, 0x0(s6)"), "exit returns through the link register: {text}");
    assert!(text.contains("per BPF instruction"), "{text}");
    let o = rvbpf(&["jit", "--json", "--zba", "--zbb", "examples/checksum.data"], "");
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["ext"]["zbb"], true);
    let insns = v["insns"].as_array().unwrap();
    assert!(!insns.is_empty());
    let listed: usize = insns.iter().map(|i| i["rv64"].as_array().unwrap().len()).sum::<usize>() + v["header"].as_array().unwrap().len();
    assert_eq!(listed, v["rv64_insns"].as_u64().unwrap() as usize, "every RV64 word is listed once");
    assert_eq!(v["code_bytes"].as_u64().unwrap() as usize, 4 * listed);
}

#[cfg(feature = "smt")]
#[test]
fn jit_check_proves_every_part_of_the_image() {
    let o = rvbpf(&["jit", "--check", "examples/checksum.data"], "");
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    for part in ["entry", "normal return", "stop path", "call-depth stop"] {
        assert!(text.lines().any(|l| l.trim_start().starts_with(part) && l.contains("proven")), "{part}: {text}");
    }
    assert!(!text.contains("FAILED"), "{text}");
    let o = rvbpf(&["jit", "--check", "--json", "--zba", "--zbb", "examples/checksum.data"], "");
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let verdicts = v["verdicts"].as_array().unwrap();
    let insns = verdicts.iter().filter(|x| !x["pc"].is_null()).count();
    let listed = serde_json::from_str::<serde_json::Value>(&out(&rvbpf(&["jit", "--json", "examples/checksum.data"], ""))).unwrap()["insns"].as_array().unwrap().len();
    assert_eq!(insns, listed, "one verdict per BPF instruction");
    assert_eq!(v["ok"], true);
    assert_eq!(v["proven"], v["total"]);
    assert!(verdicts.iter().all(|x| x["proven"] == true && x["paths"].as_u64().unwrap() >= 1));
}

#[test]
fn jit_refuses_bad_input_with_the_place() {
    let o = rvbpf(&["jit", "--program", "x", "examples/checksum.data"], "");
    assert!(!o.status.success());
    assert!(err(&o).contains("--program applies to ELF objects"), "{}", err(&o));
    let o = rvbpf(&["jit", "conformance/invalid/bad-dst-r11-04.data"], "");
    assert!(!o.status.success());
    assert!(err(&o).contains("invalid instruction at 0"), "{}", err(&o));
}

#[test]
fn jit_engine_off_riscv64_says_how_to_run_under_qemu() {
    for args in [&["run", "--engine", "jit", "examples/checksum.data"][..], &["conformance", "--engine", "jit", "conformance/base64/add-k-0.data"][..]] {
        let o = rvbpf(args, "");
        assert!(!o.status.success(), "{args:?}");
        let all = out(&o) + &err(&o);
        assert!(all.contains("needs a riscv64 host") && all.contains("--target riscv64gc-unknown-linux-gnu"), "{args:?}: {all}");
    }
    let o = rvbpf(&["run", "--engine", "jit", "--trace", "examples/checksum.data"], "");
    assert!(err(&o).contains("cannot trace JIT code"), "{}", err(&o));
}

/// `--type` and `--allow-empty` on objects, and what `load --json` reports it skipped.
/// `call %rX` assembles to callx, as bpf_conformance's assembler writes it, and lists
/// back in rvbpf's own form.
#[test]
fn asm_takes_call_reg_for_callx() {
    let o = rvbpf(&["asm", "-"], "mov %r3, 7\ncall %r3\nexit\n");
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o).lines().nth(1), Some("8d 03 00 00 00 00 00 00"), "callx r3: opcode 0x8d, the register in dst");
    let back = rvbpf(&["disasm", "-"], &out(&o));
    assert!(out(&back).contains("call helper %r3"), "{}", out(&back));
}

#[test]
fn objects_take_a_type_and_may_be_empty() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-objects");
    std::fs::create_dir_all(&dir).unwrap();
    let build = |name: &str, src: &str| {
        let (c, o) = (dir.join(format!("{name}.bpf.c")), dir.join(format!("{name}.o")));
        std::fs::write(&c, format!("#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nchar LICENSE[] SEC(\"license\") = \"GPL\";\n{src}")).unwrap();
        let ok = Command::new("clang-19").args(["-O2", "-g", "-target", "bpf", "-I/usr/riscv64-linux-gnu/include", "-c"]).arg(&c).arg("-o").arg(&o).status().unwrap();
        assert!(ok.success());
        o.to_string_lossy().into_owned()
    };
    // A kprobe's context is pt_regs: --data is refused, as --reg is on other types.
    let kprobe = build("kprobe_ctx", "SEC(\"kprobe/f\") int k(void *c) { return 0; }\n");
    let o = rvbpf(&["run", &kprobe, "--data-hex", "00"], "");
    assert!(!o.status.success() && err(&o).contains("--data") && err(&o).contains("--reg NAME=VALUE or --ctx FILE"), "{}", err(&o));
    assert!(rvbpf(&["run", &kprobe, "--reg", "a0=1"], "").status.success());
    let socket1 = build("socket1", "SEC(\"socket1\") int prog(struct __sk_buff *s) { return s->len; }\n");
    let o = rvbpf(&["load", &socket1], "");
    assert!(!o.status.success() && err(&o).contains("section socket1") && err(&o).contains("--type"), "{}", err(&o));
    let o = rvbpf(&["load", &socket1, "--type", "socket_filter", "--json"], "");
    assert!(o.status.success(), "{}", err(&o));
    let doc: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(doc["programs"][0]["type"], "socket_filter");
    assert!(doc["skipped"].as_array().unwrap().iter().any(|s| s["section"] == ".debug_info" && s["reason"].as_str().unwrap().contains("DWARF")), "{}", doc["skipped"]);
    // A section name names the type too; a word that is neither is refused.
    assert!(rvbpf(&["verify", &socket1, "--type", "socket"], "").status.success());
    let o = rvbpf(&["load", &socket1, "--type", "nonsense"], "");
    assert!(!o.status.success() && err(&o).contains("--type nonsense: not a program type"), "{}", err(&o));
    let empty = build("empty", "int unused_global;\n");
    let o = rvbpf(&["load", &empty], "");
    assert!(!o.status.success() && err(&o).contains("no programs") && err(&o).contains("--allow-empty"), "{}", err(&o));
    assert!(rvbpf(&["load", &empty, "--allow-empty"], "").status.success());
    // A type the runtime cannot run: it loads and verifies, and `run` says why it does not.
    let tc = build("tc_len", "SEC(\"tc\") int cls(struct __sk_buff *s) { return s->len > 10; }\n");
    assert!(rvbpf(&["verify", &tc], "").status.success());
    let o = rvbpf(&["run", &tc], "");
    assert!(!o.status.success() && err(&o).contains("cls (sched_cls): loadable and verifiable; not runnable here: "), "{}", err(&o));
    assert!(out(&rvbpf(&["load", &tc], "")).contains("not runnable here"));
    // A section name given to --type gives its attach type, which decides the return range
    // (recvmsg hooks must return 1) and shows in `load --json`.
    let addr = build("addr", "SEC(\"hook\") int h(struct bpf_sock_addr *c) { return c->user_port == 0 ? 0 : 1; }\n");
    assert!(rvbpf(&["verify", &addr, "--type", "cgroup_sock_addr"], "").status.success());
    let o = rvbpf(&["verify", &addr, "--type", "cgroup/recvmsg4"], "");
    assert!(!o.status.success() && out(&o).contains("should have been in [1, 1]"), "{}{}", out(&o), err(&o));
    let doc: serde_json::Value = serde_json::from_str(&out(&rvbpf(&["load", &addr, "--type", "cgroup/connect6", "--json"], ""))).unwrap();
    assert_eq!((doc["programs"][0]["type"].as_str(), doc["programs"][0]["expected_attach_type"].as_u64()), (Some("cgroup_sock_addr"), Some(11)));
}

/// `--btf`: CO-RE relocations against a file, listed by `load` (text and JSON); `local`;
/// a file that is missing or not BTF is a clear error.
#[test]
fn objects_relocate_against_the_btf_given() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-core");
    std::fs::create_dir_all(&dir).unwrap();
    let cc = |src: &str, out: &str, extra: &[&str]| {
        let o = dir.join(out);
        let ok = Command::new("clang-19").args(["-O2", "-g", "-target", "bpf", "-c"]).args(extra).arg(format!("tests/core/{src}")).arg("-o").arg(&o).current_dir(env!("CARGO_MANIFEST_DIR")).status().unwrap();
        assert!(ok.success(), "clang-19 on {src}");
        o.to_string_lossy().into_owned()
    };
    let obj = cc("core.bpf.c", "core.o", &["-D__TARGET_ARCH_riscv", "-I/usr/riscv64-linux-gnu/include"]);
    let target = cc("target_b.c", "target_b.o", &[]);
    let o = rvbpf(&["load", "--btf", &target, "--json", &obj], "");
    assert!(o.status.success(), "{}", err(&o));
    let doc: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(doc["core"]["target"], target.as_str());
    let relos = doc["core"]["relocations"].as_array().unwrap();
    let flags = relos.iter().find(|r| r["local_spec"].as_str().unwrap().starts_with("core_task.comm (")).unwrap();
    assert_eq!((flags["kind"].as_str(), flags["outcome"].as_str(), flags["orig"].as_u64(), flags["new"].as_u64()), (Some("byte_sz"), Some("patched"), Some(16), Some(32)), "{flags}");
    let gone = relos.iter().find(|r| r["kind"] == "byte_off" && r["local_spec"].as_str().unwrap().starts_with("core_task.gone")).unwrap();
    assert_eq!(gone["outcome"], "poisoned");
    assert!(gone["target_type"].is_null() && gone["reason"].as_str().unwrap().contains("no target type has the field"), "{gone}");
    let text = out(&rvbpf(&["load", "--btf", &target, &obj], ""));
    assert!(text.contains(&format!("CO-RE relocations (target {target}):")), "{text}");
    assert!(text.contains("kprobe/core_types insn   16: <enumval_value> [24] core_state::CS_B = 2  =>  [18] core_state::CS_B = 20: 2 -> 20"), "{text}");
    // The verifier names a reachable poisoned instruction.
    let o = rvbpf(&["verify", "--btf", &target, "--program", "core_fields", &obj], "");
    assert!(!o.status.success() && out(&o).contains("invalid func unknown#195896080: reachable instruction poisoned by a CO-RE relocation"), "{}", out(&o));
    assert!(rvbpf(&["verify", "--btf", "local", "--program", "core_fields", &obj], "").status.success());
    let o = rvbpf(&["load", "--btf", "/nonexistent/btf", &obj], "");
    assert!(!o.status.success() && err(&o).contains("--btf /nonexistent/btf: No such file"), "{}", err(&o));
    let o = rvbpf(&["load", "--btf", "Cargo.toml", &obj], "");
    assert!(!o.status.success() && err(&o).contains("target BTF: "), "{}", err(&o));
}

/// `--timeout` stops a run that does not end (the interpreter's budget lifted under it),
/// `--budget` is refused on the JIT, which is not metered, and `--unverified` warns once.
#[test]
fn run_timeout_budget_and_unverified_say_what_they_do() {
    let dir = std::env::temp_dir().join(format!("rvbpf-cli-timeout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let forever = dir.join("forever.asm");
    std::fs::write(&forever, "mov %r0, 0\nadd %r0, 1\nja -2\nexit\n").unwrap();
    let forever = forever.to_str().unwrap();
    let t = std::time::Instant::now();
    let o = rvbpf(&["run", "--timeout", "1", forever], "");
    assert_eq!(o.status.code(), Some(124), "{}", err(&o));
    assert!(err(&o).contains("did not end within 1 s (--timeout 1)"), "{}", err(&o));
    assert!(t.elapsed().as_secs() < 30, "stopped by the timeout, not by a budget");
    let o = rvbpf(&["run", "--timeout", "1", "--json", forever], "");
    let v: serde_json::Value = serde_json::from_str(out(&o).trim()).unwrap();
    assert_eq!((o.status.code(), v["timeout_secs"].as_u64()), (Some(124), Some(1)));
    // Without a timeout the budget stops it; a budget given is kept under a timeout.
    let o = rvbpf(&["run", "--timeout", "60", "--budget", "1000", forever], "");
    assert!(err(&o).contains("instruction budget of 1000 exhausted"), "{}", err(&o));
    let o = rvbpf(&["run", "--engine", "jit", "--budget", "1000", "examples/checksum.data"], "");
    assert!(!o.status.success() && err(&o).contains("JIT code is not metered"), "{}", err(&o));
    for bad in [&["run", "--budget", "0", "examples/checksum.data"][..], &["run", "--timeout", "0", "examples/checksum.data"]] {
        let o = rvbpf(bad, "");
        assert!(!o.status.success() && err(&o).contains("0 is not in 1.."), "{bad:?}: {}", err(&o));
    }
    let o = rvbpf(&["run", "--unverified", "examples/checksum.data"], "");
    assert!(out(&o).starts_with("0x4840\n"), "{}", out(&o));
    let warnings: Vec<&str> = std::str::from_utf8(&o.stderr).unwrap().lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings, ["rvbpf: warning: --unverified: the verifier does not check this program, and JIT code checks nothing at run time"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The `llvm-objdump-19 -dr --mcpu=v4` listing of an object: each function's instructions
/// (normalised text) with the symbol of the relocation under each, found by label.
fn objdump_functions(obj: &std::path::Path) -> std::collections::BTreeMap<String, Vec<(String, Option<String>)>> {
    let o = Command::new("llvm-objdump-19").args(["-dr", "--mcpu=v4", "--no-show-raw-insn"]).arg(obj).output().unwrap();
    let mut out = std::collections::BTreeMap::new();
    let mut cur: Option<String> = None;
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        if let Some(name) = line.strip_suffix(">:").and_then(|l| l.split_once(" <")).map(|(_, n)| n.to_string()) {
            out.insert(name.clone(), Vec::new());
            cur = Some(name);
        } else if let (Some(f), Some((_, rest))) = (&cur, line.split_once(":  R_BPF")) {
            let sym = rest.split_whitespace().nth(1).unwrap_or("").to_string();
            if let Some(last) = out.get_mut(f).and_then(|v: &mut Vec<(String, Option<String>)>| v.last_mut()) {
                last.1 = Some(sym);
            }
        } else if let (Some(f), Some((slot, text))) = (&cur, line.split_once(":\t")) {
            if slot.trim().parse::<usize>().is_ok() {
                // A jump's target label (` <f+0x60>`) is dropped.
                let text = match (text.trim_end().ends_with('>'), text.rfind(" <")) {
                    (true, Some(i)) => &text[..i],
                    _ => text,
                };
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                out.get_mut(f).unwrap().push((text, None));
            }
        }
    }
    out
}

/// `disasm` of an object: each program as the loader links it, every function's
/// instructions and relocations as llvm-objdump-19 (an independent disassembler) lists
/// them in the object (a call's offset is the linked one, so calls are compared by the
/// symbol they relocate against); `--source` interleaves the BTF line info.
#[test]
fn disasm_of_objects_matches_llvm_objdump_and_shows_the_source() {
    let ok = |c: &str| Command::new(c).arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    if !ok("llvm-objdump-19") || !ok("clang-19") {
        println!("SKIP disasm_of_objects_matches_llvm_objdump_and_shows_the_source: llvm-objdump-19 or clang-19 missing (run scripts/setup.sh)");
        return;
    }
    let Some(dir) = clang_dir("disasm_of_objects_matches_llvm_objdump_and_shows_the_source") else { return };
    let sources = ["tests/bpf/sys_map_in_subprog.bpf.c", "tests/bpf/sys_globals.bpf.c", "tests/bpf/sys_subprogs.bpf.c", "tests/bpf/sys_ringbuf.bpf.c", "examples/xdp_count.bpf.c", "examples/tailcall.bpf.c", "examples/globals.bpf.c", "examples/hello.bpf.c", "tests/bpf/sys_legacy_maps.bpf.c"];
    let mut compared = 0;
    for src in sources {
        let name = std::path::Path::new(src).file_name().unwrap().to_str().unwrap().replace(".c", ".o");
        let obj = std::path::PathBuf::from(clang(&dir, src, &name, &["-g", "-mcpu=v3"]));
        let theirs = objdump_functions(&obj);
        let o = rvbpf(&["disasm", "--json", obj.to_str().unwrap()], "");
        assert!(o.status.success(), "{src}: {}", err(&o));
        let doc: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
        for p in doc["programs"].as_array().unwrap() {
            let mut function: Option<String> = None;
            let mut k = 0;
            for insn in p["insns"].as_array().unwrap() {
                if let Some(f) = insn["function"].as_str() {
                    (function, k) = (Some(f.to_string()), 0);
                }
                let f = function.as_deref().expect("a program starts with its function's label");
                let (text, sym) = &theirs.get(f).unwrap_or_else(|| panic!("{src}: llvm-objdump has no function {f}"))[k];
                let ours_sym = insn["relocation"]["symbol"].as_str().map(String::from);
                let what = format!("{src}: {} slot {} ({f} + {k})", p["program"], insn["slot"]);
                assert_eq!(&ours_sym, sym, "{what}: relocation symbol");
                if insn["relocation"]["type"] != "R_BPF_64_32" {
                    assert_eq!(insn["text"].as_str().unwrap(), text, "{what}");
                }
                k += 1;
                compared += 1;
            }
        }
    }
    assert!(compared > 100, "{compared} instructions compared");
    // --source: the C lines, each with its file, line and column.
    let obj = dir.join("sys_map_in_subprog.bpf.o");
    let o = rvbpf(&["disasm", "--source", obj.to_str().unwrap()], "");
    let text = out(&o);
    assert!(text.contains("; if (!v) return 0; @ ") && text.contains("sys_map_in_subprog.bpf.c:9:6"), "{text}");
    assert!(text.contains("R_BPF_64_64\tcnt\t; map cnt"), "{text}");
    // Without -g there is no line info, and --source says so.
    let bare = clang(&dir, "tests/bpf/sys_legacy_maps.bpf.c", "bare.o", &[]);
    let o = rvbpf(&["disasm", "--source", &bare], "");
    assert!(out(&o).contains("; no line info: the object has no .BTF.ext (compile with -g)"), "{}", out(&o));
    let o = rvbpf(&["disasm", "--program", "nope", obj.to_str().unwrap()], "");
    assert!(!o.status.success() && err(&o).contains("no program named nope"), "{}", err(&o));
    let o = rvbpf(&["disasm", "--source", "examples/parser.asm"], "");
    assert!(!o.status.success() && err(&o).contains("--program and --source apply to ELF objects"), "{}", err(&o));
    let _ = std::fs::remove_dir_all(&dir);
    println!("{compared} instructions of {} objects agree with llvm-objdump-19", sources.len());
}

/// `run --trace` on an object: the checked interpreter's steps, with helpers and maps by
/// name and stack addresses from the frame pointer; `--json` puts them in `steps`.
#[test]
fn run_trace_on_objects_names_maps_and_helpers() {
    let Some(dir) = clang_dir("run_trace_on_objects_names_maps_and_helpers") else { return };
    let obj = std::path::PathBuf::from(clang(&dir, "tests/bpf/sys_map_in_subprog.bpf.c", "msub.o", &["-g"]));
    let o = rvbpf(&["run", "--trace", obj.to_str().unwrap()], "");
    assert!(o.status.success(), "{}", err(&o));
    assert!(err(&o).contains("note: a syscall program's context is memory its caller passes"), "run without --ctx: {}", err(&o));
    let o = rvbpf(&["run", "--data-hex", "00 00 00 00", obj.to_str().unwrap()], "");
    assert!(!err(&o).contains("note:"), "{}", err(&o));
    let o = rvbpf(&["run", "--trace", obj.to_str().unwrap()], "");
    let text = out(&o);
    let step = |pat: &str| text.lines().find(|l| l.contains(pat)).unwrap_or_else(|| panic!("no step with {pat}:\n{text}")).to_string();
    assert!(step("lddw %r1, map:cnt").ends_with("r1=map:cnt"), "{text}");
    assert!(step("call bpf_map_lookup_elem#1").contains("r0=0x"), "{text}");
    assert!(step("add %r2, -4").ends_with("r2=fp-516"), "the callee's frame is 512 bytes below the entry's: {text}");
    assert!(text.contains("return value: 5 (0x5), 35 instructions"), "bump(2) + bump(3) - 2 with the counter at 5: {text}");
    let o = rvbpf(&["run", "--trace", "--json", obj.to_str().unwrap()], "");
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let steps = v["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| s["insn"] == "call bpf_map_lookup_elem#1"), "{v}");
    assert_eq!(v["return_value"], 5);
    let o = rvbpf(&["run", "--trace", "--engine", "jit", obj.to_str().unwrap()], "");
    assert!(!o.status.success() && err(&o).contains("cannot trace JIT code"), "{}", err(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `disasm --raw` lists a program that does not decode slot by slot, marking what is
/// invalid, where `disasm` refuses it.
#[test]
fn disasm_raw_marks_the_invalid_slots() {
    let bad = "b7 00 00 00 01 00 00 00 ff 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00 aa bb";
    let o = rvbpf(&["disasm", "-"], bad);
    assert!(!o.status.success() && err(&o).contains("not a multiple of 8"), "{}", err(&o));
    let o = rvbpf(&["disasm", "--raw", "-"], bad);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        out(&o),
        "    0: mov %r0, 1\n    1: .invalid ff 00 00 00 00 00 00 00  ; unknown opcode 0xff\n    2: exit\n    3: .invalid aa bb  ; 2 trailing bytes, short of a slot\n; not a valid program: invalid instruction at 3: program length 26 bytes is not a multiple of 8\n"
    );
    let o = rvbpf(&["disasm", "--raw", "--syntax", "llvm", "examples/parser.asm"], "");
    assert!(out(&o).ends_with("; a valid program\n") && out(&o).contains("w"), "{}", out(&o));
}

/// `conformance` over a tree with a symlink loop and a dangling link: each skipped with a
/// warning, the tests run.
#[test]
fn conformance_skips_symlink_loops_with_a_warning() {
    let dir = std::env::temp_dir().join(format!("rvbpf-cli-loop-{}", std::process::id()));
    let sub = dir.join("a");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/checksum.data"), sub.join("checksum.data")).unwrap();
    std::os::unix::fs::symlink("..", sub.join("up")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/rvbpf", sub.join("dead")).unwrap();
    let o = rvbpf(&["conformance", dir.to_str().unwrap()], "");
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    assert_eq!(out(&o).lines().last(), Some("1 passed, 0 failed"));
    let e = err(&o);
    assert!(e.contains("a/up: skipped: the directory") && e.contains("is walked already (a symlink loop"), "{e}");
    assert!(e.contains("a/dead: skipped: No such file or directory"), "{e}");
    let o = rvbpf(&["conformance", dir.join("missing").to_str().unwrap()], "");
    assert!(!o.status.success() && err(&o).contains("missing: No such file"), "a path given must exist: {}", err(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A long run draws a progress bar on a terminal (here a pseudo-terminal from script(1))
/// and nothing when its output is a pipe.
#[test]
fn progress_bars_only_on_a_terminal() {
    if !Command::new("script").arg("--version").output().is_ok_and(|o| o.status.success()) {
        println!("SKIP progress_bars_only_on_a_terminal: script(1) missing");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_rvbpf");
    let n = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/base64")).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "data")).count();
    let tty = Command::new("script").args(["-qec", &format!("{bin} conformance --quiet conformance/base64"), "/dev/null"]).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap();
    let text = String::from_utf8_lossy(&tty.stdout).to_string();
    assert!(text.contains(&format!("/{n} ")) && (text.contains("[>") || text.contains("=]")), "no bar on a terminal: {text:?}");
    let piped = rvbpf(&["conformance", "--quiet", "conformance/base64"], "");
    assert_eq!(err(&piped), "", "no bar into a pipe");
    assert_eq!(out(&piped).trim(), format!("{n} passed, 0 failed"));
}

/// An object run's output for people: the return value by its name for the type, an
/// array's zero entries left out unless --all, and an XDP packet as a diff of its rows.
#[test]
fn object_runs_name_the_action_hide_zero_entries_and_diff_the_packet() {
    let Some(dir) = clang_dir("object_runs_name_the_action_hide_zero_entries_and_diff_the_packet") else { return };
    let compile = |src: &str, name: &str| clang(&dir, src, name, &["-g"]);
    let frame = "ff ff ff ff ff ff 02 00 00 00 00 01 08 00 45 00 00 1c 00 00 40 00 40 11 00 00 0a 00 00 01 0a 00 00 02 00 07 00 09 00 08 00 00";
    let swap = compile("tests/bpf/xdp_rewrite.bpf.c", "swap.o");
    let o = rvbpf(&["run", &swap, "--data-hex", frame], "");
    assert_eq!(
        out(&o),
        "packet: 12 of 42 bytes changed\n  -0000  ff ff ff ff ff ff 02 00 00 00 00 01 08 00 45 00\n  +0000  02 00 00 00 00 01 ff ff ff ff ff ff 08 00 45 00\nreturn value: XDP_TX (3), 50 instructions over 1 run(s)\n"
    );
    let v: serde_json::Value = serde_json::from_str(&out(&rvbpf(&["run", "--json", &swap, "--data-hex", frame], ""))).unwrap();
    assert_eq!((&v["return_value"], &v["return_name"]), (&serde_json::json!(3), &serde_json::json!("XDP_TX")));
    let count = compile("examples/xdp_count.bpf.c", "count.o");
    let o = rvbpf(&["run", &count, "--data-hex", frame, "--cpus", "1"], "");
    let text = out(&o);
    // The key and value as their BTF types: __u32 and struct counter, one per CPU.
    assert!(text.starts_with("map by_proto: 17 = [cpu0: {packets: 1, bytes: 42}]\nmap by_proto: 255 zero entries not shown (--all shows them)\npacket: unchanged (42 bytes)\n"), "{text}");
    // Global data: each section by its variables, a char array as a string.
    let globals = compile("examples/globals.bpf.c", "globals.o");
    let g = out(&rvbpf(&["run", &globals, "--data-hex", "00 00 00 00 00 00 00 00"], ""));
    assert!(g.contains("map globals.data: 0 = {calls: 101, greeting: \"hi\"}\n") && g.contains("map globals.rodata: 0 = {scale: 3, "), "{g}");
    assert!(text.ends_with("return value: XDP_DROP (1), 43 instructions over 1 run(s)\n"), "UDP to port 9 is dropped: {text}");
    let all = out(&rvbpf(&["run", &count, "--data-hex", frame, "--cpus", "1", "--all"], ""));
    assert_eq!(all.lines().filter(|l| l.starts_with("map by_proto: ")).count(), 256, "{all}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--json` on asm, disasm, plugin, verify, run and conformance: one JSON document on
/// stdout, an error included (`{"error": ...}`, with the place), and never text there.
#[test]
fn json_on_every_command_errors_included() {
    let parse = |o: &Output| -> serde_json::Value { serde_json::from_str(out(o).trim()).unwrap_or_else(|e| panic!("not one JSON document ({e}): {}", out(o))) };
    let o = rvbpf(&["asm", "--json", "-"], "mov %r0, 1\nexit\n");
    let v = parse(&o);
    assert_eq!((&v["bytes"], &v["insns"][1]["text"], &v["insns"][0]["bytes"]), (&serde_json::json!(16), &serde_json::json!("exit"), &serde_json::json!("b700000001000000")));
    let o = rvbpf(&["plugin", "--json"], "b7 00 00 00 07 00 00 00 95 00 00 00 00 00 00 00");
    assert_eq!(parse(&o)["return_value"], 7);
    let o = rvbpf(&["plugin", "--json"], "zz");
    assert!(!o.status.success() && parse(&o)["error"].as_str().unwrap().contains("bad hex byte \"zz\" at offset 0"), "{}", out(&o));
    let o = rvbpf(&["disasm", "--json", "examples/parser.asm"], "");
    assert!(parse(&o)["insns"].as_array().is_some_and(|a| !a.is_empty()));
    for (args, stdin, says) in [
        (&["asm", "--json", "-"][..], "mov %r0, 1\nbad\n", "line 2: unknown mnemonic"),
        (&["disasm", "--json", "-"], "ff 00 00 00 00 00 00 00", "invalid instruction at 0"),
        (&["verify", "--json", "/nonexistent.o"], "", "/nonexistent.o: No such file"),
        (&["run", "--json", "--engine", "jit", "--budget", "5", "examples/checksum.data"], "", "JIT code is not metered"),
        (&["conformance", "--json", "/nonexistent"], "", "/nonexistent: No such file"),
    ] {
        let o = rvbpf(args, stdin);
        assert!(!o.status.success(), "{args:?}");
        assert!(parse(&o)["error"].as_str().is_some_and(|e| e.contains(says)), "{args:?}: {}", out(&o));
    }
}

/// A run-time memory fault says where as the program sees it: from r10, in the memory it
/// was given, or through a helper's pointer; never a host address.
#[test]
fn run_time_faults_name_bpf_visible_places() {
    let cases = [
        ("mov %r0, 0\nldxdw %r0, [%r10-520]\nexit\n", None, "instruction 1: read of 8 bytes at r10-520 is outside"),
        ("stw [%r10+8], 1\nmov %r0, 0\nexit\n", None, "instruction 0: write of 4 bytes at r10+8 is outside"),
        ("ldxw %r0, [%r1+300]\nexit\n", Some("00 00 00 00"), "instruction 0: read of 4 bytes at memory+300 is outside"),
        ("mov %r1, %r10\nadd %r1, 8\nmov %r2, 8\ncall 1\nexit\n", None, "instruction 3: helper 1: pointer to r10+8 (+8 bytes) is outside"),
        ("ldxb %r0, [%r1+0]\nexit\n", None, "instruction 0: read of 1 bytes at 0x0 is outside"),
    ];
    for (src, mem, says) in cases {
        let mut args = vec!["run", "--unverified", "-"];
        if let Some(m) = mem {
            args.extend(["--mem", m]);
        }
        let file = std::env::temp_dir().join(format!("rvbpf-fault-{}-{}.asm", std::process::id(), says.len()));
        std::fs::write(&file, src).unwrap();
        args[2] = file.to_str().unwrap();
        let o = rvbpf(&args, "");
        let e = err(&o);
        std::fs::remove_file(&file).ok();
        assert!(!o.status.success() && e.contains(says), "{src}: {e}");
        assert!(!e.contains("0x7f") && !e.contains("0x5"), "a host address in: {e}");
    }
}

/// `rvbpf bpftool`: an object loaded through the bpf() layer (MAP_CREATE, PROG_LOAD with
/// an fd_array), run with PROG_TEST_RUN, its map read and written with bpftool's
/// commands; a bad command stops the script saying its line.
#[test]
fn bpftool_drives_the_bpf_command_layer() {
    let Some(dir) = clang_dir("bpftool_drives_the_bpf_command_layer") else { return };
    let obj = clang(&dir, "examples/xdp_count.bpf.c", "count.o", &["-g"]);
    let frame = "ff ff ff ff ff ff 02 00 00 00 00 01 08 00 45 00 00 1c 00 00 40 00 40 11 00 00 0a 00 00 01 0a 00 00 02 00 07 00 09 00 08 00 00";
    let script = format!(
        "# load, run twice, read, write\nprog load {obj}\nprog show\nmap show\nprog run name xdp_count data_in hex {frame} repeat 2\nmap lookup name by_proto key 17 0 0 0\nmap update name by_proto key 1 0 0 0 value hex 05 00 00 00 00 00 00 00 06 00 00 00 00 00 00 00 any\nmap dump id 3\n"
    );
    let o = rvbpf(&["bpftool", "-"], &script);
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    for want in [
        "map 3: name by_proto type 6 key 4B value 16B max_entries 256\n",
        "prog 4: name xdp_count type xdp\n",
        "4: xdp  name xdp_count\n",
        "Return value: 1, duration (average): ",
        "key: 11 00 00 00  value: 02 00 00 00 00 00 00 00 54 00 00 00 00 00 00 00\n",
        "key: 01 00 00 00  value: 05 00 00 00 00 00 00 00 06 00 00 00 00 00 00 00\n",
        "Found 256 elements\n",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    // Errors: the line and what is wrong; an array element cannot be deleted (EINVAL).
    for (bad, says) in [
        (format!("prog load {obj}\nmap delete name by_proto key 1 0 0 0\n"), "line 2: BPF_MAP_DELETE_ELEM by_proto: EINVAL (22)"),
        (format!("prog load {obj}\nmap lookup name by_proto key 1 0\n"), "line 2: key: 2 bytes given, the map's key has 4"),
        ("map dump name nope\n".to_string(), "line 1: no map named nope"),
        ("prog load /nonexistent.o\n".to_string(), "line 1: /nonexistent.o: No such file"),
        ("prog frobnicate\n".to_string(), "line 1: unknown command `prog frobnicate`"),
    ] {
        let o = rvbpf(&["bpftool", "-"], &bad);
        assert!(!o.status.success() && err(&o).contains(says), "{bad}: {}", err(&o));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
