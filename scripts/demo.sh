#!/usr/bin/env bash
# Installs what is missing, then runs the main job on the bundled examples:
# BPF C -> clang-19 -> ELF object -> load (maps, relocations) -> run as a kprobe (trace output,
# ring-buffer records, maps); then bytecode: decode and validate -> disassemble -> run with a
# trace -> the conformance suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet
rv=./target/release/rvbpf
obj=target/examples
mkdir -p "$obj"
clang-19 -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_riscv -I/usr/riscv64-linux-gnu/include \
    -c examples/hello.bpf.c -o "$obj/hello.o"
echo "== examples/hello.bpf.c: programs, maps, relocations"
$rv load "$obj/hello.o"
echo "== fired 3 times as a kprobe with a0 (dfd) = 3"
$rv run "$obj/hello.o" --reg a0=3 --repeat 3
echo "== examples/checksum.data, disassembled (llvm-objdump syntax)"
$rv disasm --syntax llvm -n examples/checksum.data
echo "== run with a trace (first lines)"
$rv run --trace examples/checksum.data | head -n 12
echo "== result"
$rv run --json examples/checksum.data
echo "== the conformance suite"
$rv conformance conformance/ | tail -n 1
