//! Translation validation of real images: every conformance program's compiled image,
//! with and without Zba/Zbb, is proven instruction by instruction (`smt::validate`).
#![cfg(all(feature = "smt", feature = "jit", feature = "cli"))]

use rayon::prelude::*;
use rvbpf::conformance::ConformanceEnv;
use rvbpf::interp::resolve_lddw;
use rvbpf::isa::Program;
use rvbpf::jit::rv64::emit::compile;
use rvbpf::jit::rv64::lower::Ext;
use rvbpf::smt::validate;

#[path = "common/suite.rs"]
mod suite;

/// Per image: verdicts, failures, the slowest ten (µs, what).
type ImageResult = (usize, Vec<String>, Vec<(u64, String)>);

#[test]
fn every_conformance_image_validates() {
    let files = suite::data_files();
    let only = std::env::var("RVBPF_ONLY").unwrap_or_default();
    let t = std::time::Instant::now();
    let results: Vec<ImageResult> = files
        .par_iter()
        .filter(|(p, _)| p.display().to_string().contains(&only))
        .flat_map(|(path, f)| {
            let Some(prog) = f.program_bytes().ok().and_then(|b| Program::decode(&b).ok()) else { return vec![] };
            let Ok(prog) = resolve_lddw(&prog, &mut ConformanceEnv::default()) else { return vec![] };
            [Ext::default(), Ext { zba: true, zbb: true }]
                .into_iter()
                .filter_map(|ext| {
                    let img = compile(&prog, ext).ok()?;
                    let report = validate(&prog, &img);
                    let fails = report.failures().map(|v| format!("{} ({ext:?}) pc {:?} `{}`: {}", path.display(), v.pc, v.what, v.result.as_ref().unwrap_err())).collect();
                    let mut slow: Vec<(u64, String)> = report.verdicts.iter().map(|v| (v.micros, format!("{} ({}) `{}`", path.file_name().unwrap().to_string_lossy(), if ext.zbb { "zba+zbb" } else { "base" }, v.what))).collect();
                    slow.sort_unstable_by(|a, b| b.cmp(a));
                    slow.truncate(10);
                    Some((report.verdicts.len(), fails, slow))
                })
                .collect()
        })
        .collect();
    let images = results.len();
    let verdicts: usize = results.iter().map(|r| r.0).sum();
    let mut slowest: Vec<(u64, String)> = results.iter().flat_map(|r| r.2.clone()).collect();
    slowest.sort_unstable_by(|a, b| b.cmp(a));
    let failures: Vec<String> = results.into_iter().flat_map(|r| r.1).collect();
    if only.is_empty() {
        assert!(images > 1600, "only {images} images");
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures[..failures.len().min(40)].join("\n"));
    println!("{images} images, {verdicts} verdicts: all proven in {:.1} s with z3 {}; slowest:", t.elapsed().as_secs_f64(), z3::full_version());
    for (us, what) in slowest.iter().take(10) {
        println!("  {:8.1} ms  {what}", *us as f64 / 1e3);
    }
}

/// The validator never panics: conformance images with bytes overwritten at random are
/// proven or refused (the fuzz target `smt_validate` does the same, guided). A mutation
/// that changes what the code does is refused: each refusal must name a reason.
#[test]
fn mutated_images_are_refused_or_proven_never_a_panic() {
    let files = suite::data_files();
    let progs: Vec<Program> = files.iter().step_by(9).filter_map(|(_, f)| resolve_lddw(&Program::decode(&f.program_bytes().ok()?).ok()?, &mut ConformanceEnv::default()).ok()).collect();
    let refused: usize = progs
        .par_iter()
        .enumerate()
        .map(|(k, prog)| {
            let Ok(img) = compile(prog, Ext::default()) else { return 0 };
            let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ k as u64;
            let mut next = move || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            };
            let mut refused = 0;
            for _ in 0..8 {
                let mut m = img.clone();
                let at = (next() as usize) % m.code.len();
                m.code[at] ^= 1 << (next() % 8);
                let report = validate(prog, &m);
                if !report.ok() {
                    refused += 1;
                    assert!(report.failures().all(|v| !v.result.as_ref().unwrap_err().to_string().is_empty()));
                }
            }
            refused
        })
        .sum();
    // Almost every single-bit flip changes the code's meaning.
    assert!(refused * 10 > progs.len() * 8 * 8, "only {refused} of {} mutated images refused", progs.len() * 8);
    println!("{refused} of {} mutated images refused, none panicked", progs.len() * 8);
}

/// A loop that is not the LR/SC retry is refused, not discharged as a stutter: the
/// instruction might never finish (`jal zero, -4` written over the last word of an `add`
/// whose constant takes `lui`+`addiw`); and a jump to the range's own start is a jump to
/// the instruction itself, which `add` is not.
#[test]
fn a_loop_other_than_the_lr_sc_retry_is_refused() {
    use rvbpf::isa::{AluOp, Insn, Reg, Source, Width};
    let prog = Program::new(vec![Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R0, src: Source::Imm(0x12345) }, Insn::Exit]).unwrap();
    let img = compile(&prog, Ext::default()).unwrap();
    assert!(validate(&prog, &img).ok());
    let range = img.insns[0].2.clone();
    assert!(range.len() >= 12, "{range:?}");
    for (at, word, why) in [(range.end - 4, 0xffdf_f06fu32, "may never finish"), (range.start, 0x0000_006f, "the next pc")] {
        let mut m = img.clone();
        m.code[at..at + 4].copy_from_slice(&word.to_le_bytes());
        let report = validate(&prog, &m);
        let got = report.failures().next().expect("refused").result.clone().unwrap_err().to_string();
        assert!(got.contains(why), "{got}");
    }
}
