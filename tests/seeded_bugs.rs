//! Bugs injected, bugs caught: every seeded JIT bug (src/jit/rv64/bugs.rs, feature
//! `seeded-bugs`) must make the z3 check refuse some image, with a counterexample, and
//! with no bug seeded every image is proven. The corpus is one small program per
//! lowering shape (every ALU op, width and source at the immediate boundaries, every jump
//! condition, loads and stores of every size and sign, every atomic, lddw in both forms,
//! byte swaps, sign extensions, helper calls) plus branches over mid and far reaches.
//! Run alone: the seeded bug is a process-wide switch.
#![cfg(all(feature = "seeded-bugs", feature = "smt", feature = "cli"))]

use rayon::prelude::*;
use rvbpf::isa::{AluOp, AtomicOp, EndKind, EndWidth, HelperId, Insn, JmpCond, LdKind, Program, Reg, Size, Source, SxWidth, Width};
use rvbpf::jit::rv64::bugs::{self, Bug};
use rvbpf::jit::rv64::emit::compile;
use rvbpf::jit::rv64::lower::Ext;
use rvbpf::smt::{validate, Failure};

const IMMS: [i32; 14] = [0, 1, -1, 31, 32, 63, 2047, 2048, -2048, -2049, 0x7fff_f800, -0x1234_5678, i32::MAX, i32::MIN];

fn r(n: u8) -> Reg {
    Reg::new(n).unwrap()
}

/// One instruction between a setup and an exit, for each shape.
fn corpus() -> Vec<Vec<Insn>> {
    let (d, s) = (r(3), r(4));
    let mut one: Vec<Insn> = Vec::new();
    for width in [Width::W32, Width::W64] {
        for op in AluOp::ALL {
            one.push(Insn::Alu { width, op, dst: d, src: Source::Reg(s) });
            one.push(Insn::Alu { width, op, dst: d, src: Source::Reg(d) });
            one.extend(IMMS.map(|i| Insn::Alu { width, op, dst: d, src: Source::Imm(i) }));
        }
        one.push(Insn::Neg { width, dst: d });
        for bits in [SxWidth::S8, SxWidth::S16, SxWidth::S32] {
            if width == Width::W64 || bits != SxWidth::S32 {
                one.push(Insn::MovSx { width, bits, dst: d, src: s });
            }
        }
    }
    for kind in [EndKind::Le, EndKind::Be, EndKind::Swap] {
        for bits in [EndWidth::B16, EndWidth::B32, EndWidth::B64] {
            one.push(Insn::End { kind, bits, dst: d });
        }
    }
    for size in [Size::B, Size::H, Size::W, Size::DW] {
        for off in [0, -8, 2047, 2048, -2049] {
            one.push(Insn::Ldx { size, signed: false, dst: d, src: s, off });
            if size != Size::DW {
                one.push(Insn::Ldx { size, signed: true, dst: d, src: s, off });
            }
            one.push(Insn::Stx { size, dst: d, src: s, off });
            one.extend(IMMS.map(|imm| Insn::St { size, dst: d, off, imm }));
        }
    }
    for size in [Size::W, Size::DW] {
        for op in AtomicOp::ALL {
            for off in [0, 8, 4096] {
                one.push(Insn::Atomic { size, op, dst: d, src: s, off });
            }
        }
    }
    for (imm, next_imm) in [(0, 0), (-1, -1), (5, 0), (-1, 0), (0x1234_5678, 7), (-2, 0x7fff_ffff), (0, 1)] {
        one.push(Insn::LdImm64 { kind: LdKind::Imm64, dst: d, imm, next_imm });
    }
    one.push(Insn::Call { helper: HelperId(1) });
    one.push(Insn::Callx { reg: s });
    let mut progs: Vec<Vec<Insn>> = one.into_iter().map(|i| vec![i, Insn::Exit]).collect();
    for width in [Width::W32, Width::W64] {
        for cond in JmpCond::ALL {
            for src in [Source::Reg(s), Source::Reg(d), Source::Imm(0), Source::Imm(-1), Source::Imm(2048), Source::Imm(i32::MIN)] {
                progs.push(vec![Insn::Jmp { width, cond, dst: d, src, off: 1 }, Insn::Exit, Insn::Exit]);
            }
        }
    }
    // A conditional jump over ~3 KiB (mid reach) and over ~570 KiB (far reach without
    // Zbb: each filler be64 is 32 RV64 instructions; its proof is reused).
    for (n, filler) in [(800, Insn::Alu { width: Width::W64, op: AluOp::Add, dst: d, src: Source::Imm(1) }), (4500, Insn::End { kind: EndKind::Be, bits: EndWidth::B64, dst: d })] {
        let mut p = vec![Insn::Jmp { width: Width::W64, cond: JmpCond::Gt, dst: r(1), src: Source::Reg(r(2)), off: n as i16 }];
        p.extend(std::iter::repeat_n(filler, n));
        p.push(Insn::Exit);
        progs.push(p);
    }
    progs
}

/// The first refusal over the corpus (both extension sets), if any.
fn first_refusal(progs: &[Program]) -> Option<(String, Failure)> {
    progs.par_iter().find_map_any(|p| {
        [Ext::default(), Ext { zba: true, zbb: true }].into_iter().find_map(|ext| {
            let img = compile(p, ext).ok()?;
            let report = validate(p, &img);
            let v = report.failures().next()?;
            Some((format!("{} ({ext:?})", v.what), v.result.clone().unwrap_err()))
        })
    })
}

/// The seeded bug is one switch for the process: one test at a time.
static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn the_check_refuses_every_seeded_bug_with_a_counterexample() {
    let _only = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let progs: Vec<Program> = corpus().into_iter().map(|p| Program::new(p).unwrap()).collect();
    bugs::set(None);
    if let Some((what, e)) = first_refusal(&progs) {
        panic!("with no bug seeded, `{what}` is refused: {e}");
    }
    let mut missed = Vec::new();
    for &bug in Bug::ALL {
        bugs::set(Some(bug));
        match first_refusal(&progs) {
            Some((what, e @ Failure::Counterexample { .. })) => println!("{:<22} refused: `{what}`: {e}", bug.name()),
            Some((what, e)) => missed.push(format!("{}: refused without a counterexample: `{what}`: {e}", bug.name())),
            None => missed.push(format!("{}: not refused ({})", bug.name(), bug.what())),
        }
    }
    bugs::set(None);
    assert!(Bug::ALL.len() >= 20);
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}

/// The per-shape proofs (`rvbpf prove`) refuse every seeded bug too: for each bug, the
/// obligations whose code or shape the bug changes at some boundary value (and the
/// header, if the bug changes it) are proven again, and one must fail with a
/// counterexample. That the bug-free set is proven is `tests/proofs.rs`.
#[test]
fn the_shape_proofs_refuse_every_seeded_bug_with_a_counterexample() {
    use rvbpf::jit::rv64::insn::RvInsn;
    use rvbpf::jit::rv64::lower::{self, FormKind};
    use rvbpf::smt::shapes::{self, Job, Outcome};
    let _only = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let obligations = shapes::obligations();
    let mut cases: Vec<(Insn, lower::Dist, Ext)> = obligations.iter().map(|o| (o.insn, shapes::kind_dist(o.kind), o.ext)).collect();
    cases.dedup();
    // What `shape` and `lower` make of each case at the boundary values.
    let signature = |(insn, dist, ext): (Insn, lower::Dist, Ext)| -> Vec<(FormKind, Vec<RvInsn>)> {
        IMMS.iter()
            .flat_map(|&imm| [0i16, 1, -1, 2047, 2048, -2049, i16::MAX, i16::MIN].map(|off| (imm, off)))
            .flat_map(|(imm, off)| [0, -1, imm, 0x1234].map(|imm2| shapes::with_values(insn, imm, imm2, off)))
            .map(|v| {
                let s = lower::shape(&v, dist, ext);
                (s.form.kind(), lower::lower(&v, 100, &s).unwrap_or_default())
            })
            .collect()
    };
    bugs::set(None);
    let clean: Vec<_> = cases.iter().map(|&c| signature(c)).collect();
    let clean_header = lower::header();
    let mut missed = Vec::new();
    for &bug in Bug::ALL {
        bugs::set(Some(bug));
        let changed: Vec<(Insn, lower::Dist, Ext)> = cases.iter().zip(&clean).filter(|(c, sig)| signature(**c) != **sig).map(|(c, _)| *c).collect();
        let mut jobs: Vec<Job> = obligations.iter().filter(|o| changed.contains(&(o.insn, shapes::kind_dist(o.kind), o.ext))).map(|o| Job::Shape(*o)).collect();
        if lower::header() != clean_header {
            jobs.push(Job::Header);
        }
        let refusal = jobs.par_iter().find_map_any(|j| shapes::run_job(j).into_iter().find(|d| matches!(d.outcome, Outcome::Failed(Failure::Counterexample { .. }))));
        match refusal {
            Some(d) => println!("{:<22} {} obligations changed; refused: {}: {}", bug.name(), jobs.len(), d.name, if let Outcome::Failed(f) = &d.outcome { f.to_string() } else { String::new() }),
            None => missed.push(format!("{}: {} obligations changed, none refused with a counterexample", bug.name(), jobs.len())),
        }
    }
    bugs::set(None);
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}
