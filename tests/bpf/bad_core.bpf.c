// CO-RE relocations with no target BTF given are refused, saying how to give one
// (tests/core.rs relocates them against target BTFs and checks libbpf agrees).
// @error need a target BTF
#include "common.h"
struct task { int pid; int tgid; } __attribute__((preserve_access_index));
SEC("syscall") int core(struct task *t) { return t->tgid; }
