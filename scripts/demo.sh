#!/usr/bin/env bash
# Installs what is missing, then runs the main job on the bundled examples:
# BPF C -> clang-19 -> ELF object -> load (maps, relocations) -> verify (the abstract
# interpreter's verdict, log and loop bounds) -> run as a kprobe (trace output,
# ring-buffer records, maps) -> JIT-compile to RV64 (listing) -> check the image with z3 -> run the JIT code under
# qemu-riscv64; then bytecode: decode and validate -> disassemble -> run with a trace -> the
# conformance suite on the interpreter, and on both engines compared under qemu-riscv64.
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
echo "== verify: every path proven safe and every loop bounded (kernel-style log, level 1)"
$rv verify "$obj/hello.o"
echo "== verify refuses an unsafe program: a number read from memory, then used as a pointer"
printf 'ldxw %%r2, [%%r1+0]\nldxb %%r0, [%%r2+0]\nexit\n' > "$obj/unchecked.asm"
$rv verify --mem 0000000000000000 "$obj/unchecked.asm" || true
echo "== fired 3 times as a kprobe with a0 (dfd) = 3"
$rv run "$obj/hello.o" --reg a0=3 --repeat 3
echo "== JIT: the RV64 code of hello.o's program, per BPF instruction (last lines: sizes)"
$rv jit "$obj/hello.o" | tail -n 14
echo "== check: the image's bytes decoded independently and proven with z3, part by part (last lines)"
$rv jit "$obj/hello.o" --check | tail -n 8
echo "== JIT code executed: the riscv64 build under qemu-riscv64, same kprobe runs"
RV="--release --quiet --target riscv64gc-unknown-linux-gnu --no-default-features --features std,cli,jit"
cargo build $RV
rv64="qemu-riscv64 -L /usr/riscv64-linux-gnu ./target/riscv64gc-unknown-linux-gnu/release/rvbpf"
$rv64 run --engine jit "$obj/hello.o" --reg a0=3 --repeat 3
echo "== examples/checksum.data, disassembled (llvm-objdump syntax)"
$rv disasm --syntax llvm -n examples/checksum.data
echo "== run with a trace (first lines)"
$rv run --trace examples/checksum.data > "$obj/checksum.trace"
head -n 12 "$obj/checksum.trace"
echo "== result"
$rv run --json examples/checksum.data
echo "== the conformance suite"
$rv conformance conformance/ | tail -n 1
echo "== the conformance suite on the interpreter and the JIT, results compared (qemu-riscv64)"
$rv64 conformance --engine both conformance/ | tail -n 1
