#!/usr/bin/env bash
# Installs everything rvbpf needs on a fresh Debian machine of this kind. Idempotent:
# each step checks first and does nothing when its tool is already there.
set -euo pipefail

need_pkgs=()
want() { # want PACKAGE COMMAND-OR-FILE
  if ! command -v "$2" >/dev/null 2>&1 && [ ! -e "$2" ]; then need_pkgs+=("$1"); fi
}
want qemu-user qemu-riscv64
want gcc-riscv64-linux-gnu riscv64-linux-gnu-gcc
want libc6-dev-riscv64-cross /usr/riscv64-linux-gnu/lib/libc.so.6
want clang-19 clang-19
want llvm-19 llvm-objdump-19
want libz3-dev /usr/include/z3.h
want libbpf-dev /usr/include/bpf/bpf_helpers.h
want bpftool bpftool

if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

for t in riscv64gc-unknown-linux-gnu riscv64gc-unknown-none-elf; do
  if ! rustup target list --installed | grep -qx "$t"; then
    echo "setup: adding rust target $t"
    rustup target add "$t"
  fi
done
if ! cargo clippy --version >/dev/null 2>&1; then
  echo "setup: adding the clippy component"
  rustup component add clippy
fi
echo "setup: done"
