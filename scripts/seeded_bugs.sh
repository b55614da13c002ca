#!/usr/bin/env bash
# Measures which seeded JIT bugs (src/jit/rv64/bugs.rs) each check catches: the z3 check
# (tests/seeded_bugs.rs, on the host), the conformance suite on both engines and the
# 10,000-program differential test (both under qemu-riscv64). Prints the markdown table
# that proofs/README.md records. Takes a few minutes; not part of the test command (the
# proof column is: tests/seeded_bugs.rs runs there).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
RV="--release --quiet --target riscv64gc-unknown-linux-gnu --no-default-features --features std,cli,jit,seeded-bugs"
cargo build $RV
cargo test $RV --test jit_differential --no-run 2>/dev/null
rv64="qemu-riscv64 -L /usr/riscv64-linux-gnu ./target/riscv64gc-unknown-linux-gnu/release/rvbpf"
export CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_RUNNER="qemu-riscv64 -L /usr/riscv64-linux-gnu"
proof=$(cargo test --release --quiet --features seeded-bugs --test seeded_bugs -- --nocapture 2>&1 | grep " refused: " || true)
bugs=$(sed -n '/seeded_bug_set! {/,/^}/p' src/jit/rv64/bugs.rs | grep -oE '^    [A-Z][A-Za-z0-9]+:' | tr -d ' :')
echo "| seeded bug | z3 check | conformance (--engine both) | differential (10,000 programs) |"
echo "|---|---|---|---|"
for b in $bugs; do
    if echo "$proof" | grep -q "^$b "; then p="refused, counterexample"; else p="**missed**"; fi
    c=$( (RVBPF_SEEDED_BUG=$b $rv64 conformance --engine both conformance/ 2>/dev/null || true) | tail -n 1 | grep -oE '[0-9]+ failed' || true)
    d=$( (RVBPF_SEEDED_BUG=$b cargo test $RV --test jit_differential 2>&1 || true) | grep -oE '[0-9]+ of [0-9]+ programs failed' | head -n 1 || true)
    [ -z "$d" ] && d="0 failed (missed)"
    [ "$c" = "0 failed" ] && c="0 failed (missed)"
    echo "| $b | $p | $c | $d |"
done
