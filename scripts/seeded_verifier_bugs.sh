#!/usr/bin/env bash
# Measures which seeded verifier bugs (src/verifier/bugs.rs) each check catches: the
# operator proofs (`rvbpf prove --verifier`), the 8-bit brute force
# (tests/operators_exhaustive.rs), the soundness oracle (10,000 programs,
# tests/seeded_verifier_bugs.rs, which the test command runs) and the verifier suite
# (tests/verifier_suite.rs with the verifier's unit tests). Prints the markdown table
# that proofs/README.md records. The proofs take about 5 minutes per bug (pass --no-proofs
# to leave them out); not part of the test command.
set -euo pipefail
cd "$(dirname "$0")/.."
proofs=1
[ "${1:-}" = "--no-proofs" ] && proofs=0
F="--release --quiet --features seeded-bugs"
cargo build $F
cargo test $F --test verifier_suite --test seeded_verifier_bugs --test operators_exhaustive --lib --no-run 2>/dev/null
oracle=$(cargo test $F --test seeded_verifier_bugs -- --nocapture 2>&1 | grep " escapes, " || true)
bugs=$(sed -n '/seeded_bug_set! {/,/^}/p' src/verifier/bugs.rs | grep -oE '^    [A-Z][A-Za-z0-9]+:' | tr -d ' :')
echo "| seeded verifier bug | operator proofs | 8-bit brute force | soundness oracle (10,000 programs) | verifier suite |"
echo "|---|---|---|---|---|"
for b in $bugs; do
    o=$(echo "$oracle" | grep "^$b " | grep -oE '[0-9]+ escapes' || true)
    [ "$o" = "0 escapes" ] && o="0 escapes (missed)"
    # The suite's own count of failed cases, and the verifier's failing unit tests.
    c=$( (RVBPF_SEEDED_VERIFIER_BUG=$b cargo test $F --test verifier_suite -- --nocapture 2>&1 || true) | grep -E '^verifier suite: ' | grep -oE '[0-9]+ failed$' | grep -oE '[0-9]+' || echo 0)
    u=$( (RVBPF_SEEDED_VERIFIER_BUG=$b cargo test $F --lib verifier:: 2>&1 || true) | grep -oE '[0-9]+ failed;' | grep -oE '[0-9]+' | head -n 1 || echo 0)
    if [ "$c$u" = "00" ]; then s="passes (missed)"; else s="$c cases, $u unit tests fail"; fi
    # The brute force's failing operators (about 70 s per bug).
    f=$( (RVBPF_SEEDED_VERIFIER_BUG=$b cargo test $F --test operators_exhaustive -- --nocapture 2>&1 || true) | grep -c ' FAILED ' || true)
    if [ "$f" = "0" ]; then x="passes (missed)"; else x="$f operators fail"; fi
    p="not run"
    if [ $proofs = 1 ]; then
        r=$( (RVBPF_SEEDED_VERIFIER_BUG=$b ./target/release/rvbpf prove --verifier 2>&1 || true) | grep -E "^   claims: " || true)
        n=$(echo "$r" | grep -oE '[0-9]+ not' | grep -oE '[0-9]+' || echo 0)
        if [ "$n" = "0" ]; then p="all proven (missed)"; else p="$n claims refuted"; fi
    fi
    echo "| $b | $p | $x | $o | $s |"
done
