// CO-RE relocations are refused (a later issue), naming .BTF.ext.
// @error CO-RE
#include "common.h"
struct task { int pid; int tgid; } __attribute__((preserve_access_index));
SEC("syscall") int core(struct task *t) { return t->tgid; }
