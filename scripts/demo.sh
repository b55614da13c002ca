#!/usr/bin/env bash
# Installs what is missing, then runs the main job on the bundled example:
# assemble -> decode and validate -> disassemble -> run (with a trace) -> conformance suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet
rv=./target/release/rvbpf
echo "== examples/checksum.data, disassembled (llvm-objdump syntax)"
$rv disasm --syntax llvm -n examples/checksum.data
echo "== run with a trace (first lines)"
$rv run --trace examples/checksum.data | head -n 12
echo "== result"
$rv run --json examples/checksum.data
echo "== the conformance suite"
$rv conformance conformance/ | tail -n 1
