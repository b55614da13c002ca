//! The pre-decoded interpreter against its own one-step-at-a-time view, on random valid
//! programs (tests/common/gen.rs): counting per straight run must give the number of
//! steps a tracer sees, and a budget must stop a run at the instruction that exhausts
//! it. `RVBPF_INTERP_CASES` (default 2,000) programs, seeds 0 up. (Verified mode against
//! checked mode: the conformance runner on every accepted program, and the soundness
//! oracle on every program it generates and the verifier accepts.)

#[path = "common/gen.rs"]
mod gen;

use rvbpf::conformance::ConformanceEnv;
use rvbpf::interp::{ExecError, ExecErrorKind, Interpreter, Outcome, RunOptions, Tracer};
use rvbpf::isa::{Insn, Program};

/// The slot of every instruction a run executes, in order.
#[derive(Default)]
struct Steps(Vec<usize>);

impl Tracer for Steps {
    const ENABLED: bool = true;
    fn step(&mut self, pc: usize, _: &Insn, _: &[u64; 11], _: &[u64; 11]) {
        self.0.push(pc);
    }
}

fn cases() -> u64 {
    std::env::var("RVBPF_INTERP_CASES").map(|v| v.parse().expect("RVBPF_INTERP_CASES must be a number")).unwrap_or(2000)
}

fn run(vm: &mut Interpreter, budget: u64) -> Result<Outcome, ExecError> {
    let mut env = ConformanceEnv::default();
    vm.run(&mut [], &env.regions(), &mut env, &RunOptions { budget })
}

#[test]
fn counts_and_budgets_are_those_of_counting_each_step() {
    let mut budgets_checked = 0;
    for seed in 0..cases() {
        let prog = Program::new(gen::program(seed)).unwrap();
        let mut vm = Interpreter::new(&prog);
        let mut steps = Steps::default();
        let mut env = ConformanceEnv::default();
        let traced = vm.run_traced(&mut [], &env.regions(), &mut env, &RunOptions::default(), &mut steps).unwrap();
        let n = steps.0.len() as u64;
        assert_eq!(traced.insns_executed, n, "seed {seed}: the count is not the number of steps");
        assert_eq!(run(&mut vm, u64::MAX).unwrap(), traced, "seed {seed}: tracing changed the run");
        assert_eq!(run(&mut vm, n).unwrap(), traced, "seed {seed}: a budget of exactly the run's length must suffice");
        for budget in [0, 1, n / 3, n / 2, n - 1].into_iter().filter(|&b| b < n) {
            let want = ExecError { pc: steps.0[budget as usize], kind: ExecErrorKind::Budget(budget) };
            assert_eq!(run(&mut vm, budget), Err(want), "seed {seed}: budget {budget} of a {n}-instruction run");
            budgets_checked += 1;
        }
    }
    assert!(budgets_checked > 3 * cases(), "too few budgets below the run lengths: {budgets_checked}");
}
