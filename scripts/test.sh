#!/usr/bin/env bash
# Runs every test: clippy with warnings as errors (host, riscv64, no_std core, the
# seeded-bugs build), host
# unit/integration/property tests (including the llvm-objdump and Linux-kernel oracles
# where available, the layering check, the z3 checker's tests), the seeded-bug test, the
# seeded verifier bugs against the soundness oracle, the conformance suite through the CLI, the
# same test suite and runner built for riscv64 under qemu-riscv64 (where the JIT
# executes: the suite on the interpreter, the JIT and both compared), and the no_std
# core build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
RV=riscv64gc-unknown-linux-gnu
RV_FEATURES="--no-default-features --features std,cli,jit"   # the riscv64 build leaves out smt (z3)

echo "== clippy (warnings are errors): host, riscv64, no_std core"
cargo clippy --all-targets -- -D warnings
cargo clippy --all-targets --target "$RV" $RV_FEATURES -- -D warnings
cargo clippy --lib --no-default-features --target riscv64gc-unknown-none-elf -- -D warnings
cargo clippy --all-targets --features seeded-bugs -- -D warnings
echo "== host: cargo test"
cargo test --release
echo "== host: seeded JIT bugs, each refused by the z3 check with a counterexample"
cargo test --release --features seeded-bugs --test seeded_bugs
echo "== host: seeded verifier bugs, each caught by the soundness oracle (or listed as out of its reach)"
cargo test --release --features seeded-bugs --test seeded_verifier_bugs
echo "== riscv64 (qemu-riscv64): cargo test"
cargo test --release --target "$RV" $RV_FEATURES
echo "== no_std core for riscv64gc-unknown-none-elf"
cargo build --release --lib --no-default-features --target riscv64gc-unknown-none-elf
for engine in interp jit both; do
    echo "== riscv64 (qemu-riscv64): rvbpf conformance --engine $engine conformance/"
    cargo run --release --quiet --target "$RV" $RV_FEATURES -- conformance --engine "$engine" conformance/ | tail -n 1
done
echo "== riscv64 (qemu-riscv64): rvbpf run --engine jit --unverified --timeout 1 stops JIT code that loops"
status=0
printf 'mov %%r0, 0\nadd %%r0, 1\nja -2\nexit\n' > target/forever.asm
cargo run --release --quiet --target "$RV" $RV_FEATURES -- run --engine jit --unverified --timeout 1 target/forever.asm || status=$?
if [ "$status" -ne 124 ]; then echo "expected exit status 124 (stopped by --timeout), got $status"; exit 1; fi
echo "== host: rvbpf conformance conformance/"
cargo run --release --quiet -- conformance conformance/ | tail -n 1
